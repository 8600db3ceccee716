use std::process::ExitCode;

use shared::config::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("uptime-worker: {error}");
            return ExitCode::from(2);
        }
    };
    shared::telemetry::init_tracing(&config);
    tracing::info!(
        database = %config.database_url_redacted(),
        redis = %config.redis_url_redacted(),
        "starting uptime-worker"
    );
    match uptime_worker::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "uptime-worker stopped");
            eprintln!("uptime-worker: {error:#}");
            ExitCode::FAILURE
        }
    }
}
