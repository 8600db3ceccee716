//! The operator dashboard: one HTML shell at `/` (on every host but a
//! status page's custom domain) that loads the dashboard's scripts. The
//! scripts (api/assets/dashboard/) sign in with an API key and do
//! everything through the public REST API; the shell holds no data.

use std::sync::LazyLock;

use actix_web::{web, HttpResponse};
use askama::Template;

use super::assets::{DASHBOARD_CSS, DASHBOARD_JS, UPLOT_CSS, UPLOT_JS};

/// The shell's asset URLs.
#[derive(Template)]
#[template(path = "dashboard/shell.html")]
struct Shell {
    css: &'static str,
    uplot_css: &'static str,
    scripts: Vec<&'static str>,
}

/// The shell, rendered once.
static SHELL: LazyLock<String> = LazyLock::new(|| {
    let shell = Shell {
        css: DASHBOARD_CSS.url(),
        uplot_css: UPLOT_CSS.url(),
        scripts: std::iter::once(UPLOT_JS.url())
            .chain(DASHBOARD_JS.iter().map(super::assets::Asset::url))
            .collect(),
    };
    shell.render().unwrap_or_else(|error| {
        format!(
            "<!doctype html><title>UpTime</title><p>The dashboard could not be built: {error}</p>"
        )
    })
});

/// `GET /`: the dashboard. Registered after the status pages, whose
/// custom-domain route takes `/` for its own host first.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(shell)));
}

async fn shell() -> HttpResponse {
    super::html(SHELL.as_str())
}
