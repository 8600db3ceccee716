//! The UpTime API: monitors, notification channels, API keys and the audit
//! log over PostgreSQL, behind Bearer-token authentication.

pub mod audit;
pub mod auth;
pub mod error;
pub mod input;
pub mod middleware;
pub mod pages;
pub mod pagination;
pub mod routes;
pub mod startup;

pub use startup::Application;
