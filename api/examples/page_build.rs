//! Times the status-page snapshot build ([`build_all`]) against the
//! database in DATABASE_URL, in the three states the API's rebuild loop
//! meets: cold (an empty day-bar cache, as after a start or at midnight),
//! today's bars due (as every 60 s) and cached (every other rebuild).
//! Prints min / median / p95 / max per mode and what was built.
//!
//! `scripts/bench-status.sh` runs it on its dataset (`make bench-status`);
//! see BENCHMARKS.md. Options (env): BENCH_PAGE_BUILD_RUNS (20 per mode).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use shared::config::Config;
use uptime_api::pages::snapshot::{build_all, DayBars, Snapshot};

/// Timed builds per mode unless BENCH_PAGE_BUILD_RUNS says otherwise.
const DEFAULT_RUNS: usize = 20;

/// What the day-bar cache holds before a timed build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A fresh cache: every component's 90 bars are computed.
    Cold,
    /// Everything cached, but every today's bar due again.
    TodayDue,
    /// Everything cached and fresh.
    Cached,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::Cold, Mode::TodayDue, Mode::Cached];

    fn label(self) -> &'static str {
        match self {
            Mode::Cold => "cold (empty bar cache)",
            Mode::TodayDue => "today's bars due",
            Mode::Cached => "cached",
        }
    }
}

/// The timed builds of one mode and what the last one built.
struct Timing {
    mode: Mode,
    /// Sorted, shortest first.
    times: Vec<Duration>,
    built: Built,
}

/// What a build produced, summed over its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Built {
    pages: usize,
    components: usize,
    day_bars: usize,
}

impl Built {
    fn of(snapshots: &[Snapshot]) -> Self {
        Self {
            pages: snapshots.len(),
            components: snapshots.iter().map(|s| s.components.len()).sum(),
            day_bars: snapshots
                .iter()
                .flat_map(|s| &s.components)
                .map(|c| c.days.len())
                .sum(),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("page_build: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let runs = match std::env::var("BENCH_PAGE_BUILD_RUNS") {
        Ok(value) => value
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| {
                format!("BENCH_PAGE_BUILD_RUNS must be a positive integer, got '{value}'")
            })?,
        Err(_) => DEFAULT_RUNS,
    };
    let config = Config::from_env().map_err(|error| anyhow::anyhow!("{error}"))?;
    // One connection, as the API's rebuild loop has (Store::start).
    let pool = shared::db::build_pool_sized(&config, 1)?;
    let mut client = pool
        .get()
        .await
        .with_context(|| format!("connecting to {}", config.database_url_redacted()))?;

    // The first build on a connection also prepares its statements.
    let started = Instant::now();
    let first = build_all(&mut client, &mut DayBars::default())
        .await
        .context("building the snapshots")?;
    let first_ms = ms(started.elapsed());
    let built = Built::of(&first);
    anyhow::ensure!(
        built.pages > 0,
        "no published status page in {}",
        config.database_url_redacted()
    );
    println!(
        "page_build: {} published page(s), {} components, {} day bars; first build on a new \
         connection (prepares the statements) {first_ms:.1} ms; {runs} timed builds per mode",
        built.pages, built.components, built.day_bars
    );

    let mut timings = Vec::new();
    for mode in Mode::ALL {
        timings.push(time_mode(&mut client, mode, runs).await?);
    }

    let header = format!(
        "{:<24} {:>5} {:>8} {:>10} {:>8} {:>8} {:>6} {:>11} {:>9}",
        "mode",
        "runs",
        "min ms",
        "median ms",
        "p95 ms",
        "max ms",
        "pages",
        "components",
        "day bars"
    );
    println!("  {header}");
    for timing in &timings {
        let times = &timing.times;
        println!(
            "  {:<24} {:>5} {:>8.2} {:>10.2} {:>8.2} {:>8.2} {:>6} {:>11} {:>9}",
            timing.mode.label(),
            times.len(),
            ms(times[0]),
            ms(nearest_rank(times, 0.50)),
            ms(nearest_rank(times, 0.95)),
            ms(times[times.len() - 1]),
            timing.built.pages,
            timing.built.components,
            timing.built.day_bars,
        );
    }
    Ok(())
}

/// `runs` timed builds in `mode`, each with the cache in the state the mode
/// names (filled by an untimed build first, except when cold).
async fn time_mode(
    client: &mut deadpool_postgres::Client,
    mode: Mode,
    runs: usize,
) -> anyhow::Result<Timing> {
    let mut bars = DayBars::default();
    if mode != Mode::Cold {
        build_all(client, &mut bars)
            .await
            .context("filling the day-bar cache")?;
    }
    let mut times = Vec::with_capacity(runs);
    let mut built = None;
    for _ in 0..runs {
        match mode {
            Mode::Cold => bars = DayBars::default(),
            Mode::TodayDue => bars.expire_today(),
            Mode::Cached => {}
        }
        let started = Instant::now();
        let snapshots = build_all(client, &mut bars)
            .await
            .with_context(|| format!("building the snapshots ({})", mode.label()))?;
        times.push(started.elapsed());
        built = Some(Built::of(&snapshots));
    }
    times.sort();
    let built = built.context("no timed build")?;
    Ok(Timing { mode, times, built })
}

/// The nearest-rank percentile `p` (0 < p <= 1) of sorted `times`.
fn nearest_rank(times: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = (p * times.len() as f64).ceil() as usize;
    times[rank.clamp(1, times.len()) - 1]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
