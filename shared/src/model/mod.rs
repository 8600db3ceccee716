//! The domain types both binaries share.

pub mod api_key;
pub mod audit;
pub mod channel;
pub mod check_result;
pub mod incident;
pub mod monitor;

pub use api_key::{ApiKey, Scope};
pub use audit::AuditEntry;
pub use channel::{Channel, ChannelType};
pub use check_result::{CheckResult, CheckStatus, Timings};
pub use incident::Incident;
pub use monitor::{
    DnsRecordType, ExpectedStatus, KeywordMode, Monitor, MonitorSpec, MonitorStatus, MonitorType,
    MONITOR_COLUMNS,
};
