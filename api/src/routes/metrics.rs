//! `GET /metrics`: Prometheus text format.

use actix_web::{web, HttpResponse};

use crate::startup::AppState;

/// Monitor counts by status and open incidents, read at scrape time (one
/// small query), so dashboards and alerts see the fleet from one place.
async fn record_fleet_gauges(state: &AppState) {
    let query = async {
        let client = state.db.get().await.ok()?;
        let rows = client
            .query(
                "SELECT s.status, (SELECT count(*) FROM monitors m WHERE m.status = s.status) \
                 FROM unnest(ARRAY['unknown','up','down','degraded','paused']) AS s(status) \
                 UNION ALL \
                 SELECT 'open_incidents', count(*) FROM incidents WHERE resolved_at IS NULL",
                &[],
            )
            .await
            .ok()?;
        Some(rows)
    };
    let Ok(Some(rows)) = tokio::time::timeout(std::time::Duration::from_secs(2), query).await
    else {
        return;
    };
    for row in rows {
        let (name, count): (String, i64) = (row.get(0), row.get(1));
        #[allow(clippy::cast_precision_loss)]
        let count = count as f64;
        if name == "open_incidents" {
            metrics::gauge!(shared::telemetry::OPEN_INCIDENTS).set(count);
        } else {
            metrics::gauge!(shared::telemetry::MONITORS, "status" => name).set(count);
        }
    }
}

/// Each component's status, the status incidents by status and the
/// maintenance windows by state, read at
/// scrape time. A deleted component's series goes after the gauge idle
/// timeout (see shared::telemetry).
async fn record_status_gauges(state: &AppState) {
    let query = async {
        let client = state.db.get().await.ok()?;
        let components = client
            .query("SELECT id, name, status FROM components", &[])
            .await
            .ok()?;
        let incidents = client
            .query(
                "SELECT s.status, (SELECT count(*) FROM status_incidents i WHERE i.status = s.status \
                     AND (i.resolved_at IS NULL OR i.resolved_at > now() - interval '24 hours')) \
                 FROM unnest(ARRAY['investigating','identified','monitoring','resolved','postmortem']) \
                     AS s(status)",
                &[],
            )
            .await
            .ok()?;
        let windows = client
            .query(
                "SELECT s.state, count(w.id) \
                 FROM unnest(ARRAY['scheduled','in_progress','completed']) AS s(state) \
                 LEFT JOIN (SELECT mw.id, CASE \
                     WHEN EXISTS (SELECT 1 FROM maintenance_occurrences o WHERE o.window_id = mw.id \
                                  AND o.starts_at <= now() AND o.ends_at > now()) THEN 'in_progress' \
                     WHEN COALESCE(mw.ends_at, mw.active_until) <= now() THEN 'completed' \
                     ELSE 'scheduled' END AS state \
                   FROM maintenance_windows mw) w ON w.state = s.state \
                 GROUP BY s.state",
                &[],
            )
            .await
            .ok()?;
        Some((components, incidents, windows))
    };
    let Ok(Some((components, incidents, windows))) =
        tokio::time::timeout(std::time::Duration::from_secs(2), query).await
    else {
        return;
    };
    for row in components {
        let (id, name, status): (uuid::Uuid, String, String) = (row.get(0), row.get(1), row.get(2));
        let value = status
            .parse::<shared::model::ComponentStatus>()
            .map_or(0.0, shared::model::ComponentStatus::gauge);
        metrics::gauge!(shared::telemetry::COMPONENT_STATUS,
            "component_id" => id.to_string(), "component_name" => name)
        .set(value);
    }
    for row in windows {
        let (state, count): (String, i64) = (row.get(0), row.get(1));
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!(shared::telemetry::MAINTENANCE_WINDOWS, "state" => state).set(count as f64);
    }
    for row in incidents {
        let (status, count): (String, i64) = (row.get(0), row.get(1));
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!(shared::telemetry::STATUS_INCIDENTS, "status" => status).set(count as f64);
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(metrics)));
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    shared::db::record_pool_gauges(state.db.pools());
    let redis = state.redis.status();
    metrics::gauge!(shared::telemetry::REDIS_POOL_CONNECTIONS, "state" => "in_use")
        .set(redis.size.saturating_sub(redis.available) as f64);
    metrics::gauge!(shared::telemetry::REDIS_POOL_CONNECTIONS, "state" => "idle")
        .set(redis.available as f64);
    metrics::gauge!(shared::telemetry::BUILD_INFO, "version" => shared::VERSION, "service" => "api")
        .set(1.0);
    record_fleet_gauges(&state).await;
    record_status_gauges(&state).await;
    let handle = shared::telemetry::prometheus();
    handle.run_upkeep();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}
