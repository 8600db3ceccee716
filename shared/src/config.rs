//! Configuration from the environment: read once with envy, validated into typed values.
//!
//! The variable names, defaults and ranges follow the sibling Go system so its
//! users can switch without changing their deployment.

use std::fmt;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

/// Bootstrap key used outside production when none is configured.
pub const DEV_BOOTSTRAP_API_KEY: &str = "dev_admin_key";
/// Shortest bootstrap key accepted in production.
pub const MIN_PRODUCTION_KEY_LEN: usize = 16;

/// A value that must never reach a log line or an error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the process runs; production enforces stricter rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Test,
    Production,
}

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// The tracing filter directive for this level.
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated configuration of both binaries.
#[derive(Debug, Clone)]
pub struct Config {
    pub app_env: AppEnv,
    pub app_port: u16,
    pub metrics_port: u16,
    pub database_url: Secret,
    pub database_pool_size: usize,
    pub redis_url: Secret,
    pub redis_key_prefix: String,
    pub bootstrap_api_key: Secret,
    pub allow_private_targets: bool,
    pub check_worker_count: usize,
    pub default_check_timeout: Duration,
    pub scheduler_tick: Duration,
    pub log_level: LogLevel,
    pub log_format: LogFormat,
    pub tls_expiry_warn_days: u32,
    pub webhook_signing_secret: Option<Secret>,
    pub webhook_timeout: Duration,
    pub webhook_max_retries: u32,
    /// First retry delay of a failed delivery (WEBHOOK_RETRY_BASE_SECONDS).
    pub webhook_retry_base: Duration,
    /// Base URL of the Telegram Bot API (TELEGRAM_API_URL).
    pub telegram_api_url: String,
    /// Where readers reach this API (PUBLIC_BASE_URL, e.g.
    /// `https://status.example.com`): makes the links of public status
    /// pages absolute; None leaves them root-relative.
    pub public_base_url: Option<String>,
    pub shutdown_timeout: Duration,
    pub api_read_header_timeout: Duration,
    pub api_write_timeout: Duration,
    pub max_request_body_bytes: usize,
    pub migrations_dir: PathBuf,
    /// Days of raw check results kept (RESULTS_RETENTION_DAYS); rollups are
    /// kept for a year regardless.
    pub results_retention_days: u32,
}

/// A configuration value that cannot be used; the message names the variable,
/// the value (unless secret) and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {var}={shown}: {expected}")]
pub struct ConfigError {
    pub var: &'static str,
    shown: String,
    pub expected: String,
}

impl ConfigError {
    fn new(var: &'static str, value: &str, secret: bool, expected: impl Into<String>) -> Self {
        let shown = if secret {
            "<redacted>".to_owned()
        } else {
            format!("{value:?}")
        };
        Self {
            var,
            shown,
            expected: expected.into(),
        }
    }
}

/// Every variable as text, exactly as envy finds it.
#[derive(Debug, Default, Deserialize)]
struct RawEnv {
    app_env: Option<String>,
    app_port: Option<String>,
    metrics_port: Option<String>,
    database_url: Option<String>,
    database_pool_size: Option<String>,
    redis_url: Option<String>,
    redis_key_prefix: Option<String>,
    uptime_bootstrap_api_key: Option<String>,
    allow_private_targets: Option<String>,
    check_worker_count: Option<String>,
    default_check_timeout_seconds: Option<String>,
    scheduler_tick_seconds: Option<String>,
    log_level: Option<String>,
    log_format: Option<String>,
    tls_expiry_warn_days: Option<String>,
    webhook_signing_secret: Option<String>,
    webhook_timeout_seconds: Option<String>,
    webhook_max_retries: Option<String>,
    webhook_retry_base_seconds: Option<String>,
    telegram_api_url: Option<String>,
    public_base_url: Option<String>,
    shutdown_timeout_seconds: Option<String>,
    api_read_header_timeout_seconds: Option<String>,
    api_write_timeout_seconds: Option<String>,
    max_request_body_bytes: Option<String>,
    migrations_dir: Option<String>,
    results_retention_days: Option<String>,
}

impl Config {
    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let raw: RawEnv = envy::from_env().map_err(|e| ConfigError {
            var: "environment",
            shown: String::new(),
            expected: e.to_string(),
        })?;
        Self::from_raw(raw)
    }

    /// Validates configuration given as (name, value) pairs, as the environment would.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ConfigError> {
        let raw: RawEnv = envy::from_iter(
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .map_err(|e| ConfigError {
            var: "environment",
            shown: String::new(),
            expected: e.to_string(),
        })?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawEnv) -> Result<Self, ConfigError> {
        let app_env = match non_empty(&raw.app_env).unwrap_or("development") {
            "development" => AppEnv::Development,
            "test" => AppEnv::Test,
            "production" => AppEnv::Production,
            other => {
                return Err(ConfigError::new(
                    "APP_ENV",
                    other,
                    false,
                    "expected one of development, test, production",
                ))
            }
        };
        let production = app_env == AppEnv::Production;

        let database_url = non_empty(&raw.database_url)
            .unwrap_or("postgres://uptime:uptime@127.0.0.1:5432/uptime")
            .to_owned();
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://"))
            || database_url.parse::<tokio_postgres::Config>().is_err()
        {
            return Err(ConfigError::new(
                "DATABASE_URL",
                &database_url,
                true,
                "expected a postgres:// or postgresql:// connection URL",
            ));
        }

        let redis_url = non_empty(&raw.redis_url)
            .unwrap_or("redis://127.0.0.1:6379/0")
            .to_owned();
        let redis_ok = (redis_url.starts_with("redis://") || redis_url.starts_with("rediss://"))
            && url::Url::parse(&redis_url).is_ok_and(|u| u.host_str().is_some());
        if !redis_ok {
            return Err(ConfigError::new(
                "REDIS_URL",
                &redis_url,
                true,
                "expected a redis:// or rediss:// URL with a host",
            ));
        }

        let telegram_api_url = non_empty(&raw.telegram_api_url)
            .unwrap_or("https://api.telegram.org")
            .trim_end_matches('/')
            .to_owned();
        if !url::Url::parse(&telegram_api_url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        {
            return Err(ConfigError::new(
                "TELEGRAM_API_URL",
                &telegram_api_url,
                false,
                "expected an http(s) URL such as https://api.telegram.org",
            ));
        }

        let public_base_url = match non_empty(&raw.public_base_url) {
            None => None,
            Some(text) => {
                let base = text.trim_end_matches('/');
                let plain = url::Url::parse(base).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.host_str().is_some()
                        && u.username().is_empty()
                        && u.password().is_none()
                        && u.query().is_none()
                        && u.fragment().is_none()
                });
                if !plain {
                    return Err(ConfigError::new(
                        "PUBLIC_BASE_URL",
                        text,
                        false,
                        "expected an http(s) URL without credentials, query or fragment, such as https://status.example.com",
                    ));
                }
                Some(base.to_owned())
            }
        };

        let redis_key_prefix = non_empty(&raw.redis_key_prefix)
            .unwrap_or("uptime:")
            .to_owned();
        if redis_key_prefix.len() > 64
            || redis_key_prefix
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '{' || c == '}')
        {
            return Err(ConfigError::new(
                "REDIS_KEY_PREFIX",
                &redis_key_prefix,
                false,
                "expected at most 64 characters without whitespace or braces",
            ));
        }

        let bootstrap_api_key = match non_empty(&raw.uptime_bootstrap_api_key) {
            Some(key) if production && key.len() < MIN_PRODUCTION_KEY_LEN => {
                return Err(ConfigError::new(
                    "UPTIME_BOOTSTRAP_API_KEY",
                    key,
                    true,
                    format!(
                        "production requires a key of at least {MIN_PRODUCTION_KEY_LEN} characters"
                    ),
                ))
            }
            Some(key) => key.to_owned(),
            None if production => {
                return Err(ConfigError::new(
                    "UPTIME_BOOTSTRAP_API_KEY",
                    "",
                    false,
                    format!(
                        "production requires a key of at least {MIN_PRODUCTION_KEY_LEN} characters"
                    ),
                ))
            }
            None => DEV_BOOTSTRAP_API_KEY.to_owned(),
        };

        let allow_private_targets =
            parse_bool("ALLOW_PRIVATE_TARGETS", &raw.allow_private_targets)?;
        if production && allow_private_targets {
            return Err(ConfigError::new(
                "ALLOW_PRIVATE_TARGETS",
                "true",
                false,
                "must be false when APP_ENV=production",
            ));
        }

        let log_level = match non_empty(&raw.log_level).unwrap_or("info") {
            "debug" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warn" => LogLevel::Warn,
            "error" => LogLevel::Error,
            other => {
                return Err(ConfigError::new(
                    "LOG_LEVEL",
                    other,
                    false,
                    "expected one of debug, info, warn, error",
                ))
            }
        };
        let log_format = match non_empty(&raw.log_format).unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError::new(
                    "LOG_FORMAT",
                    other,
                    false,
                    "expected one of text, json",
                ))
            }
        };

        let migrations_dir = PathBuf::from(non_empty(&raw.migrations_dir).unwrap_or("migrations"));

        Ok(Self {
            app_env,
            app_port: parse_in("APP_PORT", &raw.app_port, 8008, 0..=65535)?,
            metrics_port: parse_in("METRICS_PORT", &raw.metrics_port, 8009, 0..=65535)?,
            database_url: Secret::new(database_url),
            database_pool_size: parse_in(
                "DATABASE_POOL_SIZE",
                &raw.database_pool_size,
                16,
                1..=512,
            )?,
            redis_url: Secret::new(redis_url),
            redis_key_prefix,
            bootstrap_api_key: Secret::new(bootstrap_api_key),
            allow_private_targets,
            check_worker_count: parse_in(
                "CHECK_WORKER_COUNT",
                &raw.check_worker_count,
                10,
                1..=1024,
            )?,
            default_check_timeout: seconds(
                "DEFAULT_CHECK_TIMEOUT_SECONDS",
                &raw.default_check_timeout_seconds,
                10,
                1..=300,
            )?,
            scheduler_tick: seconds(
                "SCHEDULER_TICK_SECONDS",
                &raw.scheduler_tick_seconds,
                5,
                1..=60,
            )?,
            log_level,
            log_format,
            results_retention_days: parse_in(
                "RESULTS_RETENTION_DAYS",
                &raw.results_retention_days,
                30,
                1..=3650,
            )?,
            tls_expiry_warn_days: parse_in(
                "TLS_EXPIRY_WARN_DAYS",
                &raw.tls_expiry_warn_days,
                14,
                0..=365,
            )?,
            webhook_signing_secret: non_empty(&raw.webhook_signing_secret).map(Secret::new),
            webhook_timeout: seconds(
                "WEBHOOK_TIMEOUT_SECONDS",
                &raw.webhook_timeout_seconds,
                10,
                1..=120,
            )?,
            webhook_max_retries: parse_in(
                "WEBHOOK_MAX_RETRIES",
                &raw.webhook_max_retries,
                3,
                0..=10,
            )?,
            webhook_retry_base: seconds(
                "WEBHOOK_RETRY_BASE_SECONDS",
                &raw.webhook_retry_base_seconds,
                2,
                1..=3600,
            )?,
            telegram_api_url,
            public_base_url,
            shutdown_timeout: seconds(
                "SHUTDOWN_TIMEOUT_SECONDS",
                &raw.shutdown_timeout_seconds,
                15,
                1..=300,
            )?,
            api_read_header_timeout: seconds(
                "API_READ_HEADER_TIMEOUT_SECONDS",
                &raw.api_read_header_timeout_seconds,
                5,
                1..=300,
            )?,
            api_write_timeout: seconds(
                "API_WRITE_TIMEOUT_SECONDS",
                &raw.api_write_timeout_seconds,
                30,
                1..=600,
            )?,
            max_request_body_bytes: parse_in(
                "MAX_REQUEST_BODY_BYTES",
                &raw.max_request_body_bytes,
                1_048_576,
                1024..=67_108_864,
            )?,
            migrations_dir,
        })
    }

    /// The database URL with its password replaced, safe to log.
    pub fn database_url_redacted(&self) -> String {
        redact_url(self.database_url.expose())
    }

    /// The Redis URL with its password replaced, safe to log.
    pub fn redis_url_redacted(&self) -> String {
        redact_url(self.redis_url.expose())
    }
}

/// Replaces the password of a URL with `***`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Setting a password only fails for URLs that cannot have one.
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<unparsable url>".to_owned(),
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn parse_in<T>(
    var: &'static str,
    value: &Option<String>,
    default: T,
    range: RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(text) = non_empty(value) else {
        return Ok(default);
    };
    let expected = || {
        format!(
            "expected an integer from {} to {}",
            range.start(),
            range.end()
        )
    };
    let parsed: T = text
        .parse()
        .map_err(|_| ConfigError::new(var, text, false, expected()))?;
    if range.contains(&parsed) {
        Ok(parsed)
    } else {
        Err(ConfigError::new(var, text, false, expected()))
    }
}

fn seconds(
    var: &'static str,
    value: &Option<String>,
    default: u64,
    range: RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    parse_in(var, value, default, range).map(Duration::from_secs)
}

fn parse_bool(var: &'static str, value: &Option<String>) -> Result<bool, ConfigError> {
    match non_empty(value).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(_) => Err(ConfigError::new(
            var,
            non_empty(value).unwrap_or_default(),
            false,
            "expected true or false",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_sibling_system() {
        let config = Config::from_pairs([]).expect("defaults are valid");
        assert_eq!(config.app_port, 8008);
        assert_eq!(config.metrics_port, 8009);
        assert_eq!(config.check_worker_count, 10);
        assert_eq!(config.default_check_timeout, Duration::from_secs(10));
        assert_eq!(config.scheduler_tick, Duration::from_secs(5));
        assert_eq!(config.tls_expiry_warn_days, 14);
        assert_eq!(config.webhook_timeout, Duration::from_secs(10));
        assert_eq!(config.webhook_max_retries, 3);
        assert_eq!(config.shutdown_timeout, Duration::from_secs(15));
        assert_eq!(config.max_request_body_bytes, 1_048_576);
        assert_eq!(config.redis_key_prefix, "uptime:");
        assert_eq!(config.bootstrap_api_key.expose(), DEV_BOOTSTRAP_API_KEY);
        assert!(!config.allow_private_targets);
    }

    #[test]
    fn out_of_range_value_names_variable_value_and_range() {
        let err = Config::from_pairs([("CHECK_WORKER_COUNT", "5000")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: CHECK_WORKER_COUNT=\"5000\": expected an integer from 1 to 1024"
        );
        let err = Config::from_pairs([("APP_PORT", "eighty")]).unwrap_err();
        assert_eq!(err.var, "APP_PORT");
        assert!(err.to_string().contains("\"eighty\""));
    }

    #[test]
    fn production_requires_a_long_bootstrap_key() {
        let err = Config::from_pairs([("APP_ENV", "production")]).unwrap_err();
        assert_eq!(err.var, "UPTIME_BOOTSTRAP_API_KEY");
        let err = Config::from_pairs([
            ("APP_ENV", "production"),
            ("UPTIME_BOOTSTRAP_API_KEY", "short-secret"),
        ])
        .unwrap_err();
        assert!(!err.to_string().contains("short-secret"));
        Config::from_pairs([
            ("APP_ENV", "production"),
            ("UPTIME_BOOTSTRAP_API_KEY", "a-long-enough-production-key"),
        ])
        .expect("long key accepted");
    }

    #[test]
    fn production_refuses_private_targets() {
        let err = Config::from_pairs([
            ("APP_ENV", "production"),
            ("UPTIME_BOOTSTRAP_API_KEY", "a-long-enough-production-key"),
            ("ALLOW_PRIVATE_TARGETS", "true"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "ALLOW_PRIVATE_TARGETS");
    }

    #[test]
    fn public_base_url_is_a_plain_http_url_without_its_trailing_slash() {
        assert_eq!(Config::from_pairs([]).unwrap().public_base_url, None);
        let config = Config::from_pairs([("PUBLIC_BASE_URL", "https://status.example.com/")]);
        assert_eq!(
            config.unwrap().public_base_url.as_deref(),
            Some("https://status.example.com")
        );
        let config = Config::from_pairs([("PUBLIC_BASE_URL", "https://example.com/uptime")]);
        assert_eq!(
            config.unwrap().public_base_url.as_deref(),
            Some("https://example.com/uptime")
        );
        for bad in [
            "status.example.com",
            "ftp://example.com",
            "https://user:pw@example.com",
            "https://example.com/?x=1",
            "https://example.com/#top",
        ] {
            let err = Config::from_pairs([("PUBLIC_BASE_URL", bad)]).unwrap_err();
            assert_eq!(err.var, "PUBLIC_BASE_URL", "{bad}");
            assert!(err.to_string().contains("expected an http(s) URL"), "{err}");
        }
    }

    #[test]
    fn database_url_errors_never_show_the_password() {
        let err = Config::from_pairs([("DATABASE_URL", "mysql://root:hunter2@db/x")]).unwrap_err();
        assert_eq!(err.var, "DATABASE_URL");
        assert!(!err.to_string().contains("hunter2"));
        let config = Config::from_pairs([("DATABASE_URL", "postgres://u:hunter2@db:5432/x")])
            .expect("valid url");
        assert!(!config.database_url_redacted().contains("hunter2"));
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
