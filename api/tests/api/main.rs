#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
//! The API test suite: real PostgreSQL and Redis, the server in-process.

mod api_keys;
mod audit;
mod auth;
mod bad_input;
mod browser;
mod channels;
mod checks;
mod components;
mod dashboard;
mod dashboard_admin;
mod dashboard_monitor;
mod dashboard_monitor_form;
mod dashboard_status;
mod feeds_badges;
mod fuzz;
mod health;
mod helpers;
mod hostile_http;
mod maintenance_preview;
mod maintenance_windows;
mod migrations;
mod monitor_series;
mod monitor_test_run;
mod monitors;
mod notifications;
mod ops;
mod pages;
mod process;
mod public_status;
mod sla;
mod status_incidents;
mod status_logo;
mod status_page_html;
mod status_pages;
mod status_pg_down;
mod status_races;
mod statuspage_clients;
#[path = "../../../shared/tests/support/mod.rs"]
mod support;
mod target_policy;
mod uptime;
mod validation;
