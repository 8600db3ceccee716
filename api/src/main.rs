use std::process::ExitCode;

use shared::config::Config;
use uptime_api::Application;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("uptime-api: {error}");
            return ExitCode::from(2);
        }
    };
    shared::telemetry::init_tracing(&config);
    if std::env::args().nth(1).as_deref() == Some("migrate") {
        return match shared::db::migrate(&config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("uptime-api: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    tracing::info!(
        port = config.app_port,
        database = %config.database_url_redacted(),
        redis = %config.redis_url_redacted(),
        env = ?config.app_env,
        "starting uptime-api"
    );
    let outcome = async { Application::build(config).await?.run_until_stopped().await }.await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "uptime-api stopped");
            eprintln!("uptime-api: {error:#}");
            ExitCode::FAILURE
        }
    }
}
