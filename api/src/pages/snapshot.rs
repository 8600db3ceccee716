//! The in-memory snapshot of every published status page: everything the
//! public forms (HTML, Statuspage JSON, feeds, badges) show, read from
//! PostgreSQL in one read-only transaction, so requests never reach the
//! database. A [`Store`] keeps the latest snapshots, rebuilt on NOTIFY
//! `uptime_status_pages` and every [`REBUILD_EVERY`]; when a rebuild fails
//! it keeps serving the last good one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use futures_util::StreamExt;
use shared::component_uptime::{self, ComponentUptime};
use shared::config::Config;
use shared::maintenance::{self, Occurrence, State, Window, WINDOW_COLUMNS};
use shared::model::component::ComponentStatus;
use shared::model::status_incident::{
    IncidentUpdate, StatusIncident, INCIDENT_UPDATE_COLUMNS, STATUS_INCIDENT_COLUMNS,
};
use tokio::sync::Notify;
use uuid::Uuid;

use super::statuspage_api;

/// The longest a snapshot goes without a rebuild, NOTIFY or not.
pub const REBUILD_EVERY: Duration = Duration::from_secs(5);
/// The shortest time between the starts of two rebuilds.
const MIN_REBUILD_GAP: Duration = Duration::from_millis(200);
/// The NOTIFY channel the triggers of migrations/V7 fire.
pub const CHANNEL: &str = "uptime_status_pages";
/// Longest wait between two attempts to reconnect the LISTEN connection.
const LISTEN_BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long today's bar of a component whose status did not change is reused.
const TODAY_REFRESH: TimeDelta = TimeDelta::seconds(60);
/// The most day bars a page shows (`uptime_days` is 30, 60 or 90).
pub const MAX_UPTIME_DAYS: u32 = 90;
/// How many upcoming occurrences of a maintenance window are kept.
const UPCOMING_OCCURRENCES: usize = 1;
/// How many incidents `incidents.json` lists, whatever `historyDays` says.
pub const RECENT_INCIDENTS: i64 = 50;

/// The overall status of a page: one function over its components
/// ([`Overall::of`]), with Statuspage's indicator and words for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    Operational,
    Degraded,
    PartialOutage,
    MajorOutage,
    Maintenance,
}

impl Overall {
    /// The worst status among `statuses`; maintenance only when nothing is
    /// worse than operational.
    pub fn of(statuses: impl IntoIterator<Item = ComponentStatus>) -> Self {
        let mut overall = Overall::Operational;
        for status in statuses {
            let this = match status {
                ComponentStatus::Operational => Overall::Operational,
                ComponentStatus::DegradedPerformance => Overall::Degraded,
                ComponentStatus::PartialOutage => Overall::PartialOutage,
                ComponentStatus::MajorOutage => Overall::MajorOutage,
                ComponentStatus::UnderMaintenance => Overall::Maintenance,
            };
            if this.severity() > overall.severity() {
                overall = this;
            }
        }
        overall
    }

    /// Order for "worst wins" (maintenance above operational, below degraded).
    fn severity(self) -> u8 {
        match self {
            Overall::Operational => 0,
            Overall::Maintenance => 1,
            Overall::Degraded => 2,
            Overall::PartialOutage => 3,
            Overall::MajorOutage => 4,
        }
    }

    /// Statuspage's `status.indicator`.
    pub fn indicator(self) -> &'static str {
        match self {
            Overall::Operational => "none",
            Overall::Degraded => "minor",
            Overall::PartialOutage => "major",
            Overall::MajorOutage => "critical",
            Overall::Maintenance => "maintenance",
        }
    }

    /// Statuspage's `status.description` for the indicator.
    pub fn description(self) -> &'static str {
        match self {
            Overall::Operational => "All Systems Operational",
            Overall::Degraded => "Partially Degraded Service",
            Overall::PartialOutage => "Partial System Outage",
            Overall::MajorOutage => "Major Service Outage",
            Overall::Maintenance => "Service Under Maintenance",
        }
    }

    /// The banner's words on the HTML page.
    pub fn label(self) -> &'static str {
        match self {
            Overall::Operational => "All systems operational",
            Overall::Degraded => "Degraded performance",
            Overall::PartialOutage => "Partial outage",
            Overall::MajorOutage => "Major outage",
            Overall::Maintenance => "Under maintenance",
        }
    }
}

/// A published page's own fields.
#[derive(Debug, Clone)]
pub struct PageInfo {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub logo_url: Option<String>,
    /// SHA-256 of the logo fetched from `logo_url`, once it has been.
    pub logo_sha: Option<String>,
    pub homepage_url: Option<String>,
    pub uptime_days: u32,
    pub history_days: u32,
    pub footer_text: Option<String>,
    pub theme: String,
    pub custom_domain: Option<String>,
    pub show_monitor_details: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A component as a page shows it (no monitors, no override details).
#[derive(Debug, Clone)]
pub struct PageComponent {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub group: bool,
    /// Its group, when that group is on the page too.
    pub group_id: Option<Uuid>,
    /// Its children on the page, in order (groups only).
    pub children: Vec<Uuid>,
    pub position: i32,
    pub status: ComponentStatus,
    pub status_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// One bar per UTC day, oldest first, the last being today.
    pub days: Vec<ComponentUptime>,
    /// Uptime over all of `days`, in percent; None without data.
    pub uptime_percent: Option<f64>,
    /// The monitors that drive it. Private: decides which monitors have
    /// badges ([`Published::badge_monitors`]); rendered only as `monitors`.
    pub monitor_ids: Vec<Uuid>,
    /// Its monitors' details, only on a page with `show_monitor_details`
    /// (empty on every other page).
    pub monitors: Vec<PageMonitor>,
}

/// A monitor as a page with `showMonitorDetails` shows it: its name,
/// target, status and latest check.
#[derive(Debug, Clone)]
pub struct PageMonitor {
    pub id: Uuid,
    pub name: String,
    /// Its check type (`http`, `tcp`, ...).
    pub kind: String,
    pub target: String,
    /// `up`, `down`, `degraded`, `unknown` or `paused`.
    pub status: String,
    pub last_checked_at: Option<DateTime<Utc>>,
    /// The latest check's total time, when it has one.
    pub latency_ms: Option<f64>,
    /// The latest check's error, when it failed.
    pub error: Option<String>,
}

/// A section: a name and its components in order (a group followed by its
/// children is the group's entry; children are reached through it).
#[derive(Debug, Clone)]
pub struct Section {
    pub name: String,
    /// Ids of the section's entries, in order (groups and plain components).
    pub component_ids: Vec<Uuid>,
}

/// A status incident with its timeline, newest update first.
#[derive(Debug, Clone)]
pub struct PageIncident {
    pub incident: StatusIncident,
    pub updates: Vec<IncidentUpdate>,
    /// The affected components that are on the page, in page order.
    pub component_ids: Vec<Uuid>,
}

/// A maintenance window as a page shows it at build time.
#[derive(Debug, Clone)]
pub struct PageMaintenance {
    pub window: Window,
    pub state: State,
    /// The occurrence in progress, else the next one, else (completed) the last.
    pub occurrence: Option<Occurrence>,
    /// Further upcoming occurrences after `occurrence`.
    pub upcoming: Vec<Occurrence>,
    /// The covered components that are on the page, in page order.
    pub component_ids: Vec<Uuid>,
}

/// Everything a published page shows, as of `built_at`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub page: PageInfo,
    pub sections: Vec<Section>,
    /// Every component on the page, in page order (a group, then its children).
    pub components: Vec<PageComponent>,
    pub overall: Overall,
    /// Newest first: the open ones, those resolved within `history_days`,
    /// and the [`RECENT_INCIDENTS`] most recent whatever their age.
    pub incidents: Vec<PageIncident>,
    /// In progress first, then upcoming, then completed, each by start.
    pub maintenances: Vec<PageMaintenance>,
    /// The latest change of anything on the page.
    pub updated_at: DateTime<Utc>,
    pub built_at: DateTime<Utc>,
    /// PUBLIC_BASE_URL, when set: where readers reach this API.
    pub base_url: Option<String>,
}

impl Snapshot {
    /// The page's URL: its custom domain when it has one, else its path
    /// under PUBLIC_BASE_URL (root-relative without it).
    pub fn url(&self) -> String {
        match &self.page.custom_domain {
            Some(domain) => format!("https://{domain}"),
            None => format!(
                "{}/status/{}",
                self.base_url.as_deref().unwrap_or(""),
                self.page.slug
            ),
        }
    }
}

/// A page's snapshot with its pre-rendered JSON documents.
#[derive(Debug)]
pub struct PublishedPage {
    pub snapshot: Snapshot,
    pub documents: statuspage_api::Documents,
    /// Its Atom and RSS feeds, rendered on first request.
    pub feeds: super::feeds::Cache,
    /// Its logo, served from its own origin.
    pub logo: Option<Arc<super::logo::Logo>>,
}

/// All published pages as of one rebuild.
#[derive(Debug, Default)]
pub struct Published {
    pub by_slug: HashMap<String, Arc<PublishedPage>>,
    /// Custom domain (lowercase) to slug.
    pub by_domain: HashMap<String, String>,
    /// When the snapshots were read; None before the first success.
    pub built_at: Option<DateTime<Utc>>,
    /// How long the last successful build took.
    pub build_time: Duration,
    /// Every component on a published page, with its status: the
    /// components that have badges.
    pub badge_components: HashMap<Uuid, ComponentStatus>,
    /// The monitors driving those components: the monitors that have badges.
    pub badge_monitors: HashSet<Uuid>,
}

impl Published {
    /// The page whose custom domain is `host` (a port is ignored).
    pub fn by_host(&self, host: &str) -> Option<&Arc<PublishedPage>> {
        let name = host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        });
        let slug = self.by_domain.get(&name.to_ascii_lowercase())?;
        self.by_slug.get(slug)
    }
}

/// The snapshots shared by every HTTP worker thread.
pub struct Store {
    published: RwLock<Arc<Published>>,
    /// Badge figures read from PostgreSQL, kept briefly.
    pub badge_figures: super::badges::Figures,
    /// Wakes the rebuild loop (NOTIFY, reconnect).
    wake: Notify,
    /// Wakes the logo fetcher (NOTIFY: a logo URL may have changed).
    logo_wake: Arc<Notify>,
}

impl Store {
    /// An empty store (every page answers 503 until the first rebuild).
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            published: RwLock::new(Arc::default()),
            badge_figures: super::badges::Figures::default(),
            wake: Notify::new(),
            logo_wake: Arc::new(Notify::new()),
        })
    }

    /// The latest snapshots.
    pub fn published(&self) -> Arc<Published> {
        match self.published.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Starts the rebuild loop and the LISTEN connection on the current
    /// Tokio runtime; both end once the store is dropped.
    pub fn start(self: &Arc<Self>, config: &Config) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Handle::try_current()?;
        let pool = shared::db::build_pool_sized(config, 1)?;
        let pg = shared::db::pg_config(config)?;
        let base_url = config.public_base_url.clone();
        runtime.spawn(rebuild_loop(Arc::downgrade(self), pool, base_url));
        super::logo::start(config, Arc::clone(&self.logo_wake))?;
        runtime.spawn(listen_loop(Arc::downgrade(self), pg));
        Ok(())
    }

    fn replace(&self, published: Published) {
        match self.published.write() {
            Ok(mut guard) => *guard = Arc::new(published),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(published),
        }
    }
}

/// Rebuilds on every wake-up and at least every [`REBUILD_EVERY`].
async fn rebuild_loop(store: Weak<Store>, pool: deadpool_postgres::Pool, base_url: Option<String>) {
    let mut bars = DayBars::default();
    let mut logos = super::logo::Logos::default();
    loop {
        let Some(strong) = store.upgrade() else {
            return;
        };
        let started = tokio::time::Instant::now();
        match build_published(&pool, &mut bars, &mut logos, base_url.as_deref()).await {
            Ok(published) => {
                tracing::debug!(
                    pages = published.by_slug.len(),
                    build_ms = published.build_time.as_secs_f64() * 1000.0,
                    "status pages rebuilt"
                );
                strong.replace(published);
            }
            Err(error) => tracing::warn!(
                error = %format!("{error:#}"),
                "status page rebuild failed; serving the last snapshot"
            ),
        }
        let built = started.elapsed();
        tokio::select! {
            () = strong.wake.notified() => {}
            () = tokio::time::sleep(REBUILD_EVERY) => {}
        }
        // A burst of changes (each statement notifies) makes one rebuild,
        // and builds never take more than half the time: the pause after
        // one is at least as long as the build.
        tokio::time::sleep(MIN_REBUILD_GAP.max(built)).await;
    }
}

/// Holds a LISTEN connection on [`CHANNEL`], waking the rebuild loop on
/// each notification; reconnects with exponential backoff.
async fn listen_loop(store: Weak<Store>, pg: tokio_postgres::Config) {
    let mut backoff = Duration::from_millis(500);
    loop {
        if store.strong_count() == 0 {
            return;
        }
        match pg.connect(tokio_postgres::NoTls).await {
            Ok((client, mut connection)) => {
                let mut messages =
                    futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                let statement = format!("LISTEN {CHANNEL}");
                let listen = client.batch_execute(&statement);
                // The connection must be polled while LISTEN runs.
                let listened = tokio::select! {
                    result = listen => result.is_ok(),
                    _ = messages.next() => false,
                };
                if listened {
                    backoff = Duration::from_millis(500);
                    // Changes made while disconnected were not notified.
                    wake(&store);
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(tokio_postgres::AsyncMessage::Notification(_)) => wake(&store),
                            Ok(_) => {}
                            Err(error) => {
                                tracing::warn!(%error, "status page LISTEN connection lost");
                                break;
                            }
                        }
                        if store.strong_count() == 0 {
                            return;
                        }
                    }
                }
            }
            Err(error) => tracing::debug!(%error, "status page LISTEN connection failed"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(LISTEN_BACKOFF_MAX);
    }
}

fn wake(store: &Weak<Store>) {
    if let Some(store) = store.upgrade() {
        store.wake.notify_one();
        store.logo_wake.notify_one();
    }
}

/// Reads every published page and renders its documents.
async fn build_published(
    pool: &deadpool_postgres::Pool,
    bars: &mut DayBars,
    logos: &mut super::logo::Logos,
    base_url: Option<&str>,
) -> anyhow::Result<Published> {
    let started = Instant::now();
    let mut client = pool.get().await?;
    let mut snapshots = build_all(&mut client, bars).await?;
    for snapshot in &mut snapshots {
        snapshot.base_url = base_url.map(str::to_owned);
    }
    let mut published = Published {
        built_at: Some(Utc::now()),
        ..Published::default()
    };
    let mut used_logos = Vec::new();
    for mut snapshot in snapshots {
        let logo = match &snapshot.page.logo_sha {
            Some(sha) => {
                used_logos.push(sha.clone());
                logos.get(&client, snapshot.page.id, sha).await?
            }
            None => None,
        };
        // Replaced since the snapshot was read: no logo until the next build.
        if logo.is_none() {
            snapshot.page.logo_sha = None;
        }
        let documents = statuspage_api::Documents::render(&snapshot)?;
        for component in &snapshot.components {
            published
                .badge_components
                .insert(component.id, component.status);
            published
                .badge_monitors
                .extend(component.monitor_ids.iter().copied());
        }
        if let Some(domain) = &snapshot.page.custom_domain {
            published
                .by_domain
                .insert(domain.to_ascii_lowercase(), snapshot.page.slug.clone());
        }
        published.by_slug.insert(
            snapshot.page.slug.clone(),
            Arc::new(PublishedPage {
                snapshot,
                documents,
                feeds: super::feeds::Cache::default(),
                logo,
            }),
        );
    }
    logos.keep(&used_logos);
    published.build_time = started.elapsed();
    Ok(published)
}

const PAGES: &str =
    "SELECT p.id, p.slug, p.title, p.description, p.logo_url, l.sha256 AS logo_sha, \
    p.homepage_url, p.uptime_days, p.history_days, p.footer_text, p.theme, p.custom_domain, \
    p.show_monitor_details, p.created_at, p.updated_at \
    FROM status_pages p LEFT JOIN status_page_logos l \
        ON l.page_id = p.id AND l.source_url = p.logo_url AND l.sha256 IS NOT NULL \
    WHERE p.published ORDER BY p.slug";

const SECTIONS: &str = "SELECT s.page_id, s.name, s.component_ids FROM status_page_sections s \
    JOIN status_pages p ON p.id = s.page_id WHERE p.published ORDER BY s.page_id, s.position";

/// The components on published pages and the children of the groups among them.
const COMPONENTS: &str = "WITH listed AS ( \
        SELECT DISTINCT unnest(s.component_ids) AS id FROM status_page_sections s \
        JOIN status_pages p ON p.id = s.page_id WHERE p.published) \
    SELECT c.id, c.name, c.description, c.is_group, c.group_id, c.position, c.status, \
        c.status_changed_at, c.created_at, c.updated_at, \
        ARRAY(SELECT cm.monitor_id FROM component_monitors cm \
              WHERE cm.component_id = c.id ORDER BY cm.monitor_id) AS monitor_ids \
    FROM components c \
    WHERE c.id IN (SELECT id FROM listed) OR c.group_id IN (SELECT id FROM listed) \
    ORDER BY c.position, c.name, c.id";

/// Incidents touching any of `$1` (component ids) that are open or
/// resolved since `$2`, and each published page's `$3` most recent.
const INCIDENTS: &str = "WITH touching AS ( \
        SELECT DISTINCT si.id FROM status_incidents si \
        JOIN status_incident_components sic ON sic.incident_id = si.id \
        WHERE sic.component_id = ANY($1) AND (si.resolved_at IS NULL OR si.resolved_at >= $2)), \
    shown AS ( \
        SELECT s.page_id, c.id AS component_id FROM status_page_sections s \
        JOIN status_pages p ON p.id = s.page_id AND p.published \
        JOIN components c ON c.id = ANY(s.component_ids) OR c.group_id = ANY(s.component_ids)), \
    recent AS ( \
        SELECT r.id FROM status_pages p CROSS JOIN LATERAL ( \
            SELECT si.id FROM status_incidents si \
            WHERE EXISTS (SELECT 1 FROM status_incident_components sic \
                          JOIN shown ON shown.component_id = sic.component_id \
                          WHERE sic.incident_id = si.id AND shown.page_id = p.id) \
            ORDER BY si.started_at DESC, si.id DESC LIMIT $3) r \
        WHERE p.published) \
    SELECT {COLUMNS} FROM status_incidents si \
    WHERE si.id IN (SELECT id FROM touching) OR si.id IN (SELECT id FROM recent) \
    ORDER BY si.started_at DESC, si.id DESC";

/// The monitors `$1` with their latest check of the last two days (runtime
/// partition pruning keeps this to the newest partitions).
const MONITORS: &str = "SELECT m.id, m.name, m.type, m.target, \
        CASE WHEN m.enabled THEN m.status ELSE 'paused' END AS status, m.last_checked_at, \
        r.total_ms::float8 AS total_ms, r.error \
    FROM monitors m \
    LEFT JOIN LATERAL (SELECT cr.total_ms, cr.error FROM check_results cr \
        WHERE cr.monitor_id = m.id AND cr.slot_ts >= now() - interval '2 days' \
        ORDER BY cr.slot_ts DESC LIMIT 1) r ON true \
    WHERE m.id = ANY($1) ORDER BY m.name, m.id";

const UPDATES: &str = "SELECT {COLUMNS} FROM status_incident_updates \
    WHERE incident_id = ANY($1) ORDER BY display_at DESC, id DESC";

const WINDOWS: &str = "SELECT {COLUMNS} FROM maintenance_windows w \
    WHERE EXISTS (SELECT 1 FROM maintenance_window_components wc \
                  JOIN components c ON c.id = wc.component_id \
                  WHERE wc.window_id = w.id \
                    AND (c.id = ANY($1) OR c.group_id = ANY($1))) \
    ORDER BY w.id";

/// Day bars per component, kept between rebuilds. The status history only
/// grows at the present, so a finished day's bar never changes: all
/// [`MAX_UPTIME_DAYS`] bars are computed once per component and UTC day,
/// and today's again when the component's status changes or after
/// [`TODAY_REFRESH`] (today's percentage moves with the clock).
#[derive(Debug, Default)]
pub struct DayBars {
    /// The UTC day the cached bars end with.
    today: Option<DateTime<Utc>>,
    cached: HashMap<Uuid, CachedBars>,
}

/// One component's bars, the last being today's as of `computed_at`.
#[derive(Debug, Clone)]
struct CachedBars {
    bars: Vec<ComponentUptime>,
    computed_at: DateTime<Utc>,
    /// The component's `status_changed_at` when they were computed.
    status_changed_at: DateTime<Utc>,
}

impl DayBars {
    /// Forgets everything when the day changed.
    fn start_day(&mut self, today: DateTime<Utc>) {
        if self.today != Some(today) {
            self.cached.clear();
            self.today = Some(today);
        }
    }

    /// The [`MAX_UPTIME_DAYS`] bars of each of `components` ending with
    /// `today`, in two statements at most: all bars of the components not
    /// cached, today's bar of those whose status changed or whose today's
    /// bar is older than [`TODAY_REFRESH`]. Keeps what it computed and
    /// forgets components no longer shown.
    async fn update<'a>(
        &mut self,
        client: &impl deadpool_postgres::GenericClient,
        components: impl Iterator<Item = &'a PageComponent>,
        today: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<HashMap<Uuid, Vec<ComponentUptime>>, tokio_postgres::Error> {
        let day = TimeDelta::days(1);
        let mut kept = HashMap::new();
        let (mut whole, mut today_only) = (Vec::new(), Vec::new());
        for component in components {
            match self.cached.remove(&component.id) {
                Some(cached)
                    if cached.status_changed_at == component.status_changed_at
                        && now - cached.computed_at < TODAY_REFRESH =>
                {
                    kept.insert(component.id, cached);
                }
                Some(mut cached) => {
                    cached.bars.pop();
                    cached.computed_at = now;
                    cached.status_changed_at = component.status_changed_at;
                    today_only.push(component.id);
                    kept.insert(component.id, cached);
                }
                None => {
                    whole.push(component.id);
                    kept.insert(
                        component.id,
                        CachedBars {
                            bars: Vec::new(),
                            computed_at: now,
                            status_changed_at: component.status_changed_at,
                        },
                    );
                }
            }
        }
        let first = today - day * (MAX_UPTIME_DAYS as i32 - 1);
        let fresh = component_uptime::series_of(client, &whole, first, day, MAX_UPTIME_DAYS);
        let fresh = fresh.await?;
        let todays = component_uptime::series_of(client, &today_only, today, day, 1).await?;
        for (id, bars) in fresh.into_iter().chain(todays) {
            if let Some(cached) = kept.get_mut(&id) {
                cached.bars.extend(bars);
            }
        }
        let bars = kept.iter().map(|(id, c)| (*id, c.bars.clone())).collect();
        self.cached = kept;
        Ok(bars)
    }

    /// Makes every cached today's bar due for recomputation, as if
    /// [`TODAY_REFRESH`] had passed (the page-build benchmark's steady state).
    pub fn expire_today(&mut self) {
        for cached in self.cached.values_mut() {
            cached.computed_at -= TODAY_REFRESH;
        }
    }
}

/// Builds the snapshot of every published page in one REPEATABLE READ,
/// read-only transaction.
pub async fn build_all(
    client: &mut deadpool_postgres::Client,
    bars_cache: &mut DayBars,
) -> anyhow::Result<Vec<Snapshot>> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    // These statements are cheap; the JIT compiler, which the planner's
    // estimates would switch on, cost half a second per connection.
    tx.batch_execute("SET LOCAL jit = off").await?;
    let now: DateTime<Utc> = tx.query_one("SELECT now()", &[]).await?.try_get(0)?;

    let pages = tx.query(&tx.prepare_cached(PAGES).await?, &[]).await?;
    if pages.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let section_rows = tx.query(&tx.prepare_cached(SECTIONS).await?, &[]).await?;
    let component_rows = tx.query(&tx.prepare_cached(COMPONENTS).await?, &[]).await?;

    let mut all_components: HashMap<Uuid, PageComponent> = HashMap::new();
    let mut ordered_children: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for row in &component_rows {
        let status: String = row.try_get("status")?;
        let component = PageComponent {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            group: row.try_get("is_group")?,
            group_id: row.try_get("group_id")?,
            children: Vec::new(),
            position: row.try_get("position")?,
            status: status.parse().unwrap_or(ComponentStatus::Operational),
            status_changed_at: row.try_get("status_changed_at")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            days: Vec::new(),
            uptime_percent: None,
            monitor_ids: row.try_get("monitor_ids")?,
            monitors: Vec::new(),
        };
        if let Some(group) = component.group_id {
            ordered_children
                .entry(group)
                .or_default()
                .push(component.id);
        }
        all_components.insert(component.id, component);
    }

    // Day bars: the one uptime computation, for all components at once,
    // for what `bars_cache` does not hold.
    let today = now.duration_trunc(TimeDelta::days(1))?;
    bars_cache.start_day(today);
    let ids: Vec<Uuid> = all_components.keys().copied().collect();
    let bars = bars_cache
        .update(&tx, all_components.values(), today, now)
        .await?;

    let oldest_history = pages
        .iter()
        .map(|row| row.try_get::<_, i32>("history_days"))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .max()
        .unwrap_or(1);
    let since = now - TimeDelta::days(i64::from(oldest_history));
    let incidents_sql = INCIDENTS.replace("{COLUMNS}", STATUS_INCIDENT_COLUMNS);
    let incident_rows = tx
        .query(
            &tx.prepare_cached(&incidents_sql).await?,
            &[&ids, &since, &RECENT_INCIDENTS],
        )
        .await?;
    let incidents = incident_rows
        .iter()
        .map(StatusIncident::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let incident_ids: Vec<Uuid> = incidents.iter().map(|i| i.id).collect();
    let updates_sql = UPDATES.replace("{COLUMNS}", INCIDENT_UPDATE_COLUMNS);
    let update_rows = tx
        .query(&tx.prepare_cached(&updates_sql).await?, &[&incident_ids])
        .await?;
    let mut updates: HashMap<Uuid, Vec<IncidentUpdate>> = HashMap::new();
    for row in &update_rows {
        let update = IncidentUpdate::from_row(row)?;
        updates.entry(update.incident_id).or_default().push(update);
    }
    let windows_sql = WINDOWS.replace("{COLUMNS}", WINDOW_COLUMNS);
    let window_rows = tx
        .query(&tx.prepare_cached(&windows_sql).await?, &[&ids])
        .await?;
    let windows = window_rows
        .iter()
        .map(Window::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let monitors = monitor_details(&tx, &pages, &all_components).await?;
    tx.commit().await?;

    let mut snapshots = Vec::with_capacity(pages.len());
    for row in &pages {
        let page = PageInfo {
            id: row.try_get("id")?,
            slug: row.try_get("slug")?,
            title: row.try_get("title")?,
            description: row.try_get("description")?,
            logo_url: row.try_get("logo_url")?,
            logo_sha: row.try_get("logo_sha")?,
            homepage_url: row.try_get("homepage_url")?,
            uptime_days: u32::try_from(row.try_get::<_, i32>("uptime_days")?)
                .unwrap_or(MAX_UPTIME_DAYS)
                .min(MAX_UPTIME_DAYS),
            history_days: u32::try_from(row.try_get::<_, i32>("history_days")?).unwrap_or(1),
            footer_text: row.try_get("footer_text")?,
            theme: row.try_get("theme")?,
            custom_domain: row.try_get("custom_domain")?,
            show_monitor_details: row.try_get("show_monitor_details")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        };
        let mut sections = Vec::new();
        for section in section_rows
            .iter()
            .filter(|s| s.try_get::<_, Uuid>("page_id").ok() == Some(page.id))
        {
            let listed: Vec<Uuid> = section.try_get("component_ids")?;
            sections.push(Section {
                name: section.try_get("name")?,
                component_ids: listed
                    .into_iter()
                    .filter(|id| all_components.contains_key(id))
                    .collect(),
            });
        }
        snapshots.push(assemble(
            page,
            sections,
            &all_components,
            &ordered_children,
            &bars,
            &incidents,
            &updates,
            &windows,
            &monitors,
            now,
        ));
    }
    Ok(snapshots)
}

/// The monitors of the components on pages that show monitor details
/// (none are read when no page does).
async fn monitor_details(
    tx: &deadpool_postgres::Transaction<'_>,
    pages: &[tokio_postgres::Row],
    components: &HashMap<Uuid, PageComponent>,
) -> anyhow::Result<HashMap<Uuid, PageMonitor>> {
    let mut any = false;
    for page in pages {
        any |= page.try_get::<_, bool>("show_monitor_details")?;
    }
    let ids: Vec<Uuid> = components
        .values()
        .flat_map(|c| c.monitor_ids.iter().copied())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !any || ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = tx
        .query(&tx.prepare_cached(MONITORS).await?, &[&ids])
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in &rows {
        let monitor = PageMonitor {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            kind: row.try_get("type")?,
            target: row.try_get("target")?,
            status: row.try_get("status")?,
            last_checked_at: row.try_get("last_checked_at")?,
            latency_ms: row.try_get("total_ms")?,
            error: row.try_get("error")?,
        };
        out.insert(monitor.id, monitor);
    }
    Ok(out)
}

/// One page's snapshot from what [`build_all`] read for all pages.
#[allow(clippy::too_many_arguments)] // the parts read once for every page
fn assemble(
    page: PageInfo,
    sections: Vec<Section>,
    all_components: &HashMap<Uuid, PageComponent>,
    ordered_children: &BTreeMap<Uuid, Vec<Uuid>>,
    bars: &HashMap<Uuid, Vec<ComponentUptime>>,
    incidents: &[StatusIncident],
    updates: &HashMap<Uuid, Vec<IncidentUpdate>>,
    windows: &[Window],
    monitors: &HashMap<Uuid, PageMonitor>,
    now: DateTime<Utc>,
) -> Snapshot {
    let details = page.show_monitor_details;
    let days = page.uptime_days as usize;
    let mut components: Vec<PageComponent> = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |id: Uuid, group_on_page: Option<Uuid>, out: &mut Vec<PageComponent>| {
        if !seen.insert(id) {
            return false;
        }
        let Some(found) = all_components.get(&id) else {
            return false;
        };
        let mut component = found.clone();
        component.group_id = group_on_page;
        component.days = bars
            .get(&id)
            .map(|all| all[all.len().saturating_sub(days)..].to_vec())
            .unwrap_or_default();
        component.uptime_percent = uptime_over(&component.days);
        if details {
            component.monitors = component
                .monitor_ids
                .iter()
                .filter_map(|id| monitors.get(id).cloned())
                .collect();
            component.monitors.sort_by(|a, b| a.name.cmp(&b.name));
        }
        out.push(component);
        true
    };
    for section in &sections {
        for id in &section.component_ids {
            let Some(found) = all_components.get(id) else {
                continue;
            };
            if !push(*id, None, &mut components) {
                continue;
            }
            if found.group {
                let index = components.len() - 1;
                let mut children = Vec::new();
                for child in ordered_children.get(id).into_iter().flatten() {
                    if push(*child, Some(*id), &mut components) {
                        children.push(*child);
                    }
                }
                components[index].children = children;
            }
        }
    }
    let on_page: HashSet<Uuid> = components.iter().map(|c| c.id).collect();
    let in_page_order = |ids: &[Uuid]| -> Vec<Uuid> {
        components
            .iter()
            .map(|c| c.id)
            .filter(|id| ids.contains(id))
            .collect()
    };
    // A group's own status is derived from its children in the database; the
    // overall status looks at what the page shows.
    let overall = Overall::of(components.iter().map(|c| c.status));

    let history_from = now - TimeDelta::days(i64::from(page.history_days));
    let mut recent = 0;
    let mut page_incidents = Vec::new();
    for incident in incidents {
        if !incident.component_ids.iter().any(|id| on_page.contains(id)) {
            continue;
        }
        let within = incident.resolved_at.is_none_or(|at| at >= history_from);
        #[allow(clippy::cast_possible_wrap)]
        let among_recent = (recent as i64) < RECENT_INCIDENTS;
        recent += 1;
        if !(within || among_recent) {
            continue;
        }
        page_incidents.push(PageIncident {
            incident: incident.clone(),
            updates: updates.get(&incident.id).cloned().unwrap_or_default(),
            component_ids: in_page_order(&incident.component_ids),
        });
    }

    let mut maintenances = Vec::new();
    for window in windows {
        // A window on a group covers its children.
        let covered: Vec<Uuid> = components
            .iter()
            .filter(|c| {
                window.component_ids.contains(&c.id)
                    || c.group_id
                        .is_some_and(|g| window.component_ids.contains(&g))
            })
            .map(|c| c.id)
            .collect();
        if covered.is_empty() {
            continue;
        }
        let state = maintenance::state(&window.schedule, now);
        let mut upcoming = maintenance::upcoming(&window.schedule, now, UPCOMING_OCCURRENCES + 1);
        let occurrence = match state {
            State::InProgress => maintenance::current_occurrence(&window.schedule, now),
            State::Scheduled if upcoming.is_empty() => None,
            State::Scheduled => Some(upcoming.remove(0)),
            State::Completed => last_occurrence(&window.schedule),
        };
        upcoming.truncate(UPCOMING_OCCURRENCES);
        if state == State::Completed && occurrence.is_none_or(|o| o.ends_at < history_from) {
            continue;
        }
        if state == State::Scheduled && occurrence.is_none() {
            continue;
        }
        maintenances.push(PageMaintenance {
            window: window.clone(),
            state,
            occurrence,
            upcoming,
            component_ids: covered,
        });
    }
    maintenances.sort_by_key(|m| {
        let rank = match m.state {
            State::InProgress => 0,
            State::Scheduled => 1,
            State::Completed => 2,
        };
        (rank, m.occurrence.map(|o| o.starts_at), m.window.id)
    });

    let updated_at = std::iter::once(page.updated_at)
        .chain(
            components
                .iter()
                .map(|c| c.updated_at.max(c.status_changed_at)),
        )
        .chain(page_incidents.iter().map(|i| {
            i.updates
                .iter()
                .map(|u| u.edited_at.unwrap_or(u.created_at))
                .fold(i.incident.updated_at, DateTime::max)
        }))
        .chain(maintenances.iter().map(|m| m.window.updated_at))
        .max()
        .unwrap_or(page.updated_at);

    Snapshot {
        page,
        sections,
        components,
        overall,
        incidents: page_incidents,
        maintenances,
        updated_at,
        built_at: now,
        base_url: None,
    }
}

/// The occurrence a completed window ended with (one-offs only; a recurring
/// window that ended shows nothing).
fn last_occurrence(schedule: &maintenance::Schedule) -> Option<Occurrence> {
    match schedule {
        maintenance::Schedule::OneOff { starts_at, ends_at } => Some(Occurrence {
            starts_at: *starts_at,
            ends_at: *ends_at,
        }),
        maintenance::Schedule::Recurring { .. } => None,
    }
}

/// Uptime over several spans: available time over available plus outage
/// time, as [`component_uptime`] computes it per span.
fn uptime_over(days: &[ComponentUptime]) -> Option<f64> {
    let available: f64 = days
        .iter()
        .map(|d| d.operational_seconds + d.degraded_seconds)
        .sum();
    let outage: f64 = days
        .iter()
        .map(|d| d.partial_outage_seconds + d.major_outage_seconds)
        .sum();
    let counted = available + outage;
    (counted > 0.0).then(|| (available * 100.0 / counted * 10_000.0).round() / 10_000.0)
}
