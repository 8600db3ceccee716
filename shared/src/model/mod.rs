//! The domain types both binaries share.

pub mod api_key;
pub mod audit;
pub mod channel;
pub mod check_result;
pub mod component;
pub mod incident;
pub mod monitor;
pub mod status_incident;
pub mod status_page;

pub use api_key::{ApiKey, Scope};
pub use audit::AuditEntry;
pub use channel::{Channel, ChannelType};
pub use check_result::{CheckResult, CheckStatus, Timings};
pub use component::{Component, ComponentStatus, StatusChange, StatusSource};
pub use incident::Incident;
pub use monitor::{
    DnsRecordType, ExpectedStatus, KeywordMode, Monitor, MonitorSpec, MonitorStatus, MonitorType,
    MONITOR_COLUMNS,
};
pub use status_incident::{Impact, IncidentStatus, IncidentUpdate, StatusIncident};
pub use status_page::{Section, StatusPage, Theme};
