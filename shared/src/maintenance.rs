//! Maintenance windows: their schedules (one-off, or a cron expression in an
//! IANA time zone), the occurrences a schedule produces, and the clock that
//! detects when an occurrence starts or ends.
//!
//! Occurrences are rows (`maintenance_occurrences`), materialized ahead of
//! time: by the API in the transaction that writes a window ([`materialize`]),
//! and by every worker's [`tick`] for the horizon after that. The result
//! writer decides by those rows whether a result was taken during
//! maintenance; an edge (start or end) is a column set once on its row, so it
//! is detected and announced once, whichever worker gets there first.
//!
//! Cron expressions are parsed and walked by `croner` with 5 fields (minute,
//! hour, day of month, month, day of week; Vixie-cron semantics, plus
//! croner's `L`, `W`, `#` and the `@daily`-style nicknames). In a
//! daylight-saving gap a fixed-time expression fires at the first instant
//! after the gap (`0 2 * * *` and `30 2 * * *` in Europe/Berlin both fire at
//! 03:00 CEST on the spring-forward day); in a repeated hour it fires once,
//! on the first pass. A recurring window's `activeFrom` / `activeUntil`
//! bound the starts of its occurrences; an occurrence that starts before
//! `activeUntil` runs its whole duration.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::notify::{MAINTENANCE_ENDED, MAINTENANCE_STARTED};

/// Most occurrences one computation returns, so `* * * * *` over a long
/// horizon cannot run away; what lies past the cap is computed next time.
pub const MAX_OCCURRENCES: usize = 10_000;
/// Shortest and longest duration of a recurring window's occurrence.
pub const MIN_DURATION_MINUTES: i64 = 1;
pub const MAX_DURATION_MINUTES: i64 = 10_080;
/// How far ahead occurrences must exist: the workers' tick extends a window
/// whose occurrences end sooner, to twice this (so each window is extended
/// once per horizon, not on every tick). Writes through the API materialize
/// [`API_HORIZON`] ahead.
pub const HORIZON: Duration = Duration::days(7);
/// How far ahead the API materializes a window it writes.
pub const API_HORIZON: Duration = Duration::days(14);
/// Consecutive occurrences compared to tell whether a duration is too long.
const GAP_SAMPLE: usize = 120;
/// Windows extended per tick at most; the next tick takes the rest.
const EXTEND_BATCH: i64 = 100;
/// The cron fields, in order, with what each accepts (for messages).
const CRON_FIELDS: [(&str, &str); 5] = [
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31, L (last day) or nW (nearest weekday)"),
    ("month", "1-12 or JAN-DEC"),
    (
        "day-of-week",
        "0-7 or SUN-SAT (0 and 7 are Sunday), n#k (k-th weekday) or nL (last weekday)",
    ),
];
/// The nicknames croner expands to 5 fields.
const CRON_NICKNAMES: [&str; 6] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@hourly",
];

/// Why a schedule is not valid; the message names the bad part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("the cron expression is empty")]
    CronEmpty,
    #[error(
        "a cron expression has 5 fields (minute hour day-of-month month day-of-week); \
         this one has {0}: seconds and years are not supported"
    )]
    CronFieldCount(usize),
    #[error(
        "invalid cron expression: the {field} field {value:?} is not valid; it takes {allowed}, \
         with lists (1,3), ranges (1-5) and steps (*/2, 1-5/2)"
    )]
    CronField {
        field: &'static str,
        value: String,
        allowed: &'static str,
    },
    #[error(
        "unknown cron nickname {0:?}: use @hourly, @daily, @weekly, @monthly or @yearly, or 5 fields"
    )]
    CronNickname(String),
    #[error("invalid cron expression {0:?}")]
    CronInvalid(String),
    #[error("the cron expression {0:?} never matches a date (such as 31 February)")]
    CronNeverMatches(String),
    #[error("unknown time zone {0:?}: use an IANA name such as Europe/Berlin or UTC")]
    TimeZone(String),
    #[error("the window ends before it starts: endsAt must be after startsAt")]
    EndsBeforeStart,
    #[error(
        "durationMinutes must be from {MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES} (one week), not {0}"
    )]
    Duration(i64),
    #[error("activeUntil must be after activeFrom")]
    ActiveUntilBeforeFrom,
    #[error(
        "durationMinutes {duration_minutes} is longer than the {gap_minutes} minutes between two \
         occurrences of the cron expression: each would start before the previous one ends"
    )]
    Overlapping {
        duration_minutes: i64,
        gap_minutes: i64,
    },
    #[error(
        "a window is one-off (startsAt and endsAt) or recurring (cron, durationMinutes and \
         timezone); this one is neither"
    )]
    Incomplete,
}

impl ScheduleError {
    /// The API field the problem belongs to.
    pub fn field(&self) -> &'static str {
        match self {
            Self::CronEmpty
            | Self::CronFieldCount(_)
            | Self::CronField { .. }
            | Self::CronNickname(_)
            | Self::CronInvalid(_)
            | Self::CronNeverMatches(_) => "cron",
            Self::TimeZone(_) => "timezone",
            Self::EndsBeforeStart => "endsAt",
            Self::Duration(_) | Self::Overlapping { .. } => "durationMinutes",
            Self::ActiveUntilBeforeFrom => "activeUntil",
            Self::Incomplete => "startsAt",
        }
    }
}

/// A parsed 5-field cron expression, kept with the text it came from.
#[derive(Debug, Clone)]
pub struct CronExpr {
    text: String,
    /// Boxed: a parsed pattern is large, and schedules are passed around.
    cron: Box<Cron>,
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

fn cron_parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
}

impl CronExpr {
    /// Parses `text` (5 fields, or a nickname such as `@weekly`); a bad
    /// field is named in the error. An expression that can never fire (31
    /// February) is refused too.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ScheduleError::CronEmpty);
        }
        let parser = cron_parser();
        let fields: Vec<&str> = text.split_whitespace().collect();
        if text.starts_with('@') {
            if fields.len() != 1
                || !CRON_NICKNAMES
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(fields[0]))
            {
                return Err(ScheduleError::CronNickname(text.to_owned()));
            }
        } else if fields.len() != CRON_FIELDS.len() {
            return Err(ScheduleError::CronFieldCount(fields.len()));
        } else {
            // Each field alone among wildcards, so croner's verdict names it.
            for (index, value) in fields.iter().enumerate() {
                let mut probe = ["*"; 5];
                probe[index] = value;
                if parser.parse(&probe.join(" ")).is_err() {
                    let (field, allowed) = CRON_FIELDS[index];
                    return Err(ScheduleError::CronField {
                        field,
                        value: (*value).to_owned(),
                        allowed,
                    });
                }
            }
        }
        let cron = parser
            .parse(text)
            .map_err(|_| ScheduleError::CronInvalid(text.to_owned()))?;
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        if cron.find_next_occurrence(&epoch, true).is_err() {
            return Err(ScheduleError::CronNeverMatches(text.to_owned()));
        }
        Ok(Self {
            text: text.to_owned(),
            cron: Box::new(cron),
        })
    }

    /// The expression as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Reads an IANA time zone name (case as in the database, e.g. Europe/Berlin).
pub fn parse_time_zone(name: &str) -> Result<Tz, ScheduleError> {
    Tz::from_str(name.trim()).map_err(|_| ScheduleError::TimeZone(name.to_owned()))
}

/// A recurring window's duration from its minutes (1 to 10080).
pub fn duration_from_minutes(minutes: i64) -> Result<Duration, ScheduleError> {
    if (MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES).contains(&minutes) {
        Ok(Duration::minutes(minutes))
    } else {
        Err(ScheduleError::Duration(minutes))
    }
}

/// When a maintenance window takes place.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Once, from `starts_at` to `ends_at`.
    OneOff {
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    /// At every match of `cron` in `timezone`, for `duration`, for the
    /// matches from `active_from` (inclusive) to `active_until` (exclusive).
    Recurring {
        cron: CronExpr,
        duration: Duration,
        timezone: Tz,
        active_from: Option<DateTime<Utc>>,
        active_until: Option<DateTime<Utc>>,
    },
}

impl Schedule {
    /// A validated one-off schedule.
    pub fn one_off(
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    ) -> Result<Self, ScheduleError> {
        let schedule = Self::OneOff { starts_at, ends_at };
        schedule.validate()?;
        Ok(schedule)
    }

    /// A validated recurring schedule from its written parts (new input:
    /// also held to [`Self::check_overlap`]).
    pub fn recurring(
        cron: &str,
        duration_minutes: i64,
        timezone: &str,
        active_from: Option<DateTime<Utc>>,
        active_until: Option<DateTime<Utc>>,
    ) -> Result<Self, ScheduleError> {
        let schedule =
            Self::stored_recurring(cron, duration_minutes, timezone, active_from, active_until)?;
        schedule.check_overlap()?;
        Ok(schedule)
    }

    /// A recurring schedule as stored: validated, but not held to
    /// [`Self::check_overlap`], so a rule added later never makes a stored
    /// window unreadable.
    fn stored_recurring(
        cron: &str,
        duration_minutes: i64,
        timezone: &str,
        active_from: Option<DateTime<Utc>>,
        active_until: Option<DateTime<Utc>>,
    ) -> Result<Self, ScheduleError> {
        let schedule = Self::Recurring {
            cron: CronExpr::parse(cron)?,
            duration: duration_from_minutes(duration_minutes)?,
            timezone: parse_time_zone(timezone)?,
            active_from,
            active_until,
        };
        schedule.validate()?;
        Ok(schedule)
    }

    /// Checks what relates several parts: the order of the times and the
    /// duration's range (see also [`Self::check_overlap`]).
    pub fn validate(&self) -> Result<(), ScheduleError> {
        match self {
            Self::OneOff { starts_at, ends_at } if ends_at <= starts_at => {
                Err(ScheduleError::EndsBeforeStart)
            }
            Self::OneOff { .. } => Ok(()),
            Self::Recurring {
                duration,
                active_from,
                active_until,
                ..
            } => {
                duration_from_minutes(duration.num_minutes())?;
                if let (Some(from), Some(until)) = (active_from, active_until) {
                    if until <= from {
                        return Err(ScheduleError::ActiveUntilBeforeFrom);
                    }
                }
                Ok(())
            }
        }
    }

    /// Refuses a recurring schedule whose duration is longer than the time
    /// between two occurrences: each would start while the previous one
    /// runs, announcing a start every time (a week-long occurrence every
    /// minute is 10,080 at once). Judged on the first [`GAP_SAMPLE`]
    /// occurrences from `activeFrom` (or 2000), which span a daylight-saving
    /// change for any expression that fires at least weekly; back-to-back
    /// occurrences are fine. A rule for new input, on top of [`Self::validate`]:
    /// stored windows are read without it.
    pub fn check_overlap(&self) -> Result<(), ScheduleError> {
        let Self::Recurring {
            duration,
            active_from,
            ..
        } = self
        else {
            return Ok(());
        };
        let duration = *duration;
        let reference = active_from
            .unwrap_or_else(|| DateTime::<Utc>::from_timestamp(946_684_800, 0).unwrap_or_default());
        let (sample, _) = scan(self, reference, reference, end_of_time(), GAP_SAMPLE);
        let shortest = sample
            .windows(2)
            .map(|pair| pair[1].starts_at - pair[0].starts_at)
            .min();
        match shortest {
            Some(gap) if gap < duration => Err(ScheduleError::Overlapping {
                duration_minutes: duration.num_minutes(),
                gap_minutes: gap.num_minutes(),
            }),
            _ => Ok(()),
        }
    }

    /// The schedule of a stored window (columns as in `maintenance_windows`).
    #[allow(clippy::too_many_arguments)] // one table row's columns
    pub fn from_columns(
        starts_at: Option<DateTime<Utc>>,
        ends_at: Option<DateTime<Utc>>,
        cron: Option<&str>,
        duration_minutes: Option<i32>,
        timezone: Option<&str>,
        active_from: Option<DateTime<Utc>>,
        active_until: Option<DateTime<Utc>>,
    ) -> Result<Self, ScheduleError> {
        match (starts_at, ends_at, cron) {
            (Some(starts_at), Some(ends_at), None) => Self::one_off(starts_at, ends_at),
            (_, _, Some(cron)) => Self::stored_recurring(
                cron,
                i64::from(duration_minutes.unwrap_or(0)),
                timezone.unwrap_or_default(),
                active_from,
                active_until,
            ),
            _ => Err(ScheduleError::Incomplete),
        }
    }

    /// How long one occurrence lasts.
    pub fn duration(&self) -> Duration {
        match self {
            Self::OneOff { starts_at, ends_at } => *ends_at - *starts_at,
            Self::Recurring { duration, .. } => *duration,
        }
    }
}

/// One occurrence of a window, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Occurrence {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Where a window stands against the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Scheduled,
    InProgress,
    Completed,
}

impl State {
    pub const ALL: [State; 3] = [State::Scheduled, State::InProgress, State::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
        }
    }
}

impl FromStr for State {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// The latest time any computation looks at (the API accepts years up to 9999).
fn end_of_time() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The earliest time a cron search may start from (croner's lower limit, year 1).
fn start_of_time() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(-62_135_596_800, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Occurrences that start at or after `min_start` and before `until`, and end
/// after `overlap_from`, in order of start; at most `cap` of them. The flag
/// is false when the cap cut the list short.
fn scan(
    schedule: &Schedule,
    min_start: DateTime<Utc>,
    overlap_from: DateTime<Utc>,
    until: DateTime<Utc>,
    cap: usize,
) -> (Vec<Occurrence>, bool) {
    match schedule {
        Schedule::OneOff { starts_at, ends_at } => {
            let hit = *starts_at >= min_start && *starts_at < until && *ends_at > overlap_from;
            if hit && cap > 0 {
                let occurrence = Occurrence {
                    starts_at: *starts_at,
                    ends_at: *ends_at,
                };
                (vec![occurrence], true)
            } else {
                (Vec::new(), !hit)
            }
        }
        Schedule::Recurring {
            cron,
            duration,
            timezone,
            active_from,
            active_until,
        } => {
            let floor = active_from.map_or(min_start, |from| from.max(min_start));
            let stop = active_until.map_or(until, |u| u.min(until));
            let mut cursor = floor.max(start_of_time()).with_timezone(timezone);
            let mut inclusive = true;
            let mut found = Vec::new();
            loop {
                // Past croner's last year (5000) the search ends with an error:
                // no more occurrences.
                let Ok(next) = cron.cron.find_next_occurrence(&cursor, inclusive) else {
                    return (found, true);
                };
                inclusive = false;
                let starts_at = next.with_timezone(&Utc);
                cursor = next;
                if starts_at >= stop {
                    return (found, true);
                }
                let Some(ends_at) = starts_at.checked_add_signed(*duration) else {
                    return (found, true);
                };
                if starts_at < floor || ends_at <= overlap_from {
                    continue;
                }
                if found.len() == cap {
                    return (found, false);
                }
                found.push(Occurrence { starts_at, ends_at });
            }
        }
    }
}

/// Every occurrence overlapping [`from`, `until`), in order of start, at
/// most [`MAX_OCCURRENCES`].
pub fn occurrences(
    schedule: &Schedule,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Occurrence> {
    occurrences_capped(schedule, from, until, MAX_OCCURRENCES).0
}

/// [`occurrences`] with a cap of `cap`; false when the cap cut it short.
fn occurrences_capped(
    schedule: &Schedule,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    cap: usize,
) -> (Vec<Occurrence>, bool) {
    let min_start = from
        .checked_sub_signed(schedule.duration())
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    scan(schedule, min_start, from, until, cap)
}

/// The occurrence in progress at `now` (the earliest, if several overlap).
pub fn current_occurrence(schedule: &Schedule, now: DateTime<Utc>) -> Option<Occurrence> {
    let until = now + Duration::nanoseconds(1);
    occurrences_capped(schedule, now, until, 1).0.pop()
}

/// The first `count` occurrences that start after `now`.
pub fn upcoming(schedule: &Schedule, now: DateTime<Utc>, count: usize) -> Vec<Occurrence> {
    let after = now + Duration::nanoseconds(1);
    scan(schedule, after, after, end_of_time(), count).0
}

/// Whether an occurrence overlaps [`from`, `until`); `None` leaves a side open.
pub fn overlaps(
    schedule: &Schedule,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> bool {
    let from = from.unwrap_or_else(start_of_time);
    let until = until.unwrap_or_else(end_of_time);
    !occurrences_capped(schedule, from, until, 1).0.is_empty()
}

/// Where the window stands at `now`: in progress while an occurrence
/// overlaps `now`; a one-off is completed after its end, a recurring window
/// only after `activeUntil`; otherwise scheduled.
pub fn state(schedule: &Schedule, now: DateTime<Utc>) -> State {
    if current_occurrence(schedule, now).is_some() {
        return State::InProgress;
    }
    let over = match schedule {
        Schedule::OneOff { ends_at, .. } => now >= *ends_at,
        Schedule::Recurring { active_until, .. } => active_until.is_some_and(|u| now >= u),
    };
    if over {
        State::Completed
    } else {
        State::Scheduled
    }
}

/// A stored maintenance window.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    /// Sorted.
    pub monitor_ids: Vec<Uuid>,
    /// Sorted.
    pub component_ids: Vec<Uuid>,
    pub schedule: Schedule,
    pub notify_channels: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Columns read by [`Window::from_row`], from `maintenance_windows w`.
pub const WINDOW_COLUMNS: &str = "w.id, w.title, w.description, w.starts_at, w.ends_at, w.cron, \
    w.duration_minutes, w.timezone, w.active_from, w.active_until, w.notify_channels, \
    w.created_at, w.updated_at, \
    ARRAY(SELECT wm.monitor_id FROM maintenance_window_monitors wm \
          WHERE wm.window_id = w.id ORDER BY wm.monitor_id) AS monitor_ids, \
    ARRAY(SELECT wc.component_id FROM maintenance_window_components wc \
          WHERE wc.window_id = w.id ORDER BY wc.component_id) AS component_ids";

/// A stored window that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum WindowRowError {
    #[error("reading a maintenance window row: {0}")]
    Column(#[from] tokio_postgres::Error),
    #[error("maintenance window {id} has a stored schedule that is not valid: {error}")]
    Schedule { id: Uuid, error: ScheduleError },
}

impl Window {
    /// Reads a row selected with [`WINDOW_COLUMNS`].
    pub fn from_row(row: &Row) -> Result<Self, WindowRowError> {
        let id: Uuid = row.try_get("id")?;
        let schedule = schedule_of(row).map_err(|error| WindowRowError::Schedule { id, error })?;
        Ok(Self {
            id,
            title: row.try_get("title")?,
            description: row.try_get("description")?,
            monitor_ids: row.try_get("monitor_ids")?,
            component_ids: row.try_get("component_ids")?,
            schedule,
            notify_channels: row.try_get("notify_channels")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// The schedule columns of a `maintenance_windows` row.
fn schedule_of(row: &Row) -> Result<Schedule, ScheduleError> {
    let column = |name: &str| row.try_get::<_, Option<DateTime<Utc>>>(name).ok().flatten();
    Schedule::from_columns(
        column("starts_at"),
        column("ends_at"),
        row.try_get::<_, Option<&str>>("cron").ok().flatten(),
        row.try_get::<_, Option<i32>>("duration_minutes")
            .ok()
            .flatten(),
        row.try_get::<_, Option<&str>>("timezone").ok().flatten(),
        column("active_from"),
        column("active_until"),
    )
}

/// A failure of the maintenance engine's database work.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    #[error("maintenance window {0} not found")]
    NotFound(Uuid),
    #[error("maintenance window {id} has a stored schedule that is not valid: {error}")]
    InvalidStored { id: Uuid, error: ScheduleError },
    #[error("maintenance database work: {0}")]
    Db(#[from] tokio_postgres::Error),
}

/// What [`materialize`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Materialized {
    /// Occurrence rows added.
    pub inserted: u64,
    /// Occurrences not yet started that the schedule no longer has.
    pub removed: u64,
    /// Occurrences in progress whose end moved (or that end now).
    pub reshaped: u64,
    /// Occurrences starting before this now exist.
    pub until: DateTime<Utc>,
}

/// Occurrences in `occurrences` as two arrays, for `unnest`.
fn columns_of(occurrences: &[Occurrence]) -> (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>) {
    occurrences.iter().map(|o| (o.starts_at, o.ends_at)).unzip()
}

/// How far a computation cut at the cap reached: its starts are whole
/// seconds, so every start before the last one's next microsecond is known.
fn reached(found: &[Occurrence], complete: bool, until: DateTime<Utc>) -> DateTime<Utc> {
    match found.last() {
        Some(last) if !complete => last.starts_at + Duration::microseconds(1),
        _ => until,
    }
}

/// Locks the window's occurrences that a worker could be starting or ending
/// right now, so an edit or a delete sees their edges as committed. (Rows
/// starting more than an hour ahead cannot be started while a request runs.)
async fn lock_open_occurrences(
    client: &impl GenericClient,
    window_id: Uuid,
) -> Result<(), tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "SELECT 1 FROM maintenance_occurrences \
             WHERE window_id = $1 AND ended_at IS NULL AND starts_at <= now() + interval '1 hour' \
             ORDER BY starts_at FOR UPDATE",
        )
        .await?;
    client.query(&statement, &[&window_id]).await?;
    Ok(())
}

/// Brings the occurrence rows of window `window_id` in line with its current
/// schedule, from now to `until` (or as far as it was materialized, if
/// further): adds the missing ones, removes those not yet started that no
/// longer match (after an edit), moves the end of one in progress to the
/// schedule's (or to now, if the schedule no longer has it; the tick then
/// ends it), and records how far occurrences exist. When [`MAX_OCCURRENCES`]
/// cuts the computation short, that is how far it got, and the tick goes on
/// from there. Runs inside the caller's transaction, which should hold the
/// window's row lock.
#[tracing::instrument(skip_all, fields(window_id = %window_id))]
pub async fn materialize(
    client: &impl GenericClient,
    window_id: Uuid,
    until: DateTime<Utc>,
) -> Result<Materialized, MaintenanceError> {
    let statement = client
        .prepare_cached(
            "SELECT starts_at, ends_at, cron, duration_minutes, timezone, active_from, \
                 active_until, materialized_until, now() AS now \
             FROM maintenance_windows WHERE id = $1",
        )
        .await?;
    let row = client
        .query_opt(&statement, &[&window_id])
        .await?
        .ok_or(MaintenanceError::NotFound(window_id))?;
    let schedule = schedule_of(&row).map_err(|error| MaintenanceError::InvalidStored {
        id: window_id,
        error,
    })?;
    let now: DateTime<Utc> = row.try_get("now")?;
    let before: Option<DateTime<Utc>> = row.try_get("materialized_until")?;
    let target = before.map_or(until, |b| b.max(until));
    lock_open_occurrences(client, window_id).await?;

    let (found, complete) = occurrences_capped(&schedule, now, target, MAX_OCCURRENCES);
    let reached = reached(&found, complete, target);
    let (starts, ends) = columns_of(&found);
    let statement = client
        .prepare_cached(
            "WITH new AS (SELECT s, e FROM unnest($2::timestamptz[], $3::timestamptz[]) AS n(s, e)), \
             open AS ( \
                 SELECT o.starts_at, COALESCE(new.e, LEAST(o.ends_at, \
                     GREATEST(now(), o.starts_at + interval '1 microsecond'))) AS ends_at \
                 FROM maintenance_occurrences o LEFT JOIN new ON new.s = o.starts_at \
                 WHERE o.window_id = $1 AND o.started_at IS NOT NULL AND o.ended_at IS NULL \
                   AND o.starts_at < $4) \
             UPDATE maintenance_occurrences o SET ends_at = open.ends_at FROM open \
             WHERE o.window_id = $1 AND o.starts_at = open.starts_at AND o.ends_at <> open.ends_at",
        )
        .await?;
    let reshaped = client
        .execute(&statement, &[&window_id, &starts, &ends, &reached])
        .await?;
    // The rows not yet started are compared here rather than in SQL: an
    // anti-join against an unnested array of thousands is quadratic there.
    let statement = client
        .prepare_cached(
            "SELECT starts_at, ends_at FROM maintenance_occurrences \
             WHERE window_id = $1 AND started_at IS NULL AND ends_at > now()",
        )
        .await?;
    let pending: HashMap<DateTime<Utc>, DateTime<Utc>> = client
        .query(&statement, &[&window_id])
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()?;
    let wanted: HashMap<DateTime<Utc>, DateTime<Utc>> =
        found.iter().map(|o| (o.starts_at, o.ends_at)).collect();
    // Beyond `reached` nothing is kept: the tick extends from there with the
    // current schedule, and adds only what is missing.
    let stale: Vec<DateTime<Utc>> = pending
        .iter()
        .filter(|(starts_at, ends_at)| wanted.get(*starts_at) != Some(*ends_at))
        .map(|(starts_at, _)| *starts_at)
        .collect();
    let removed = if stale.is_empty() {
        0
    } else {
        let statement = client
            .prepare_cached(
                "DELETE FROM maintenance_occurrences \
                 WHERE window_id = $1 AND started_at IS NULL AND starts_at = ANY($2)",
            )
            .await?;
        client.execute(&statement, &[&window_id, &stale]).await?
    };
    let missing: Vec<Occurrence> = found
        .iter()
        .filter(|o| pending.get(&o.starts_at) != Some(&o.ends_at))
        .copied()
        .collect();
    let (starts, ends) = columns_of(&missing);
    let inserted = insert_occurrences(client, window_id, &starts, &ends).await?;
    set_materialized_until(client, window_id, reached).await?;
    Ok(Materialized {
        inserted,
        removed,
        reshaped,
        until: reached,
    })
}

async fn insert_occurrences(
    client: &impl GenericClient,
    window_id: Uuid,
    starts: &[DateTime<Utc>],
    ends: &[DateTime<Utc>],
) -> Result<u64, tokio_postgres::Error> {
    if starts.is_empty() {
        return Ok(0);
    }
    let statement = client
        .prepare_cached(
            "INSERT INTO maintenance_occurrences (window_id, starts_at, ends_at) \
             SELECT $1, s, e FROM unnest($2::timestamptz[], $3::timestamptz[]) AS n(s, e) \
             ON CONFLICT (window_id, starts_at) DO NOTHING",
        )
        .await?;
    client
        .execute(&statement, &[&window_id, &starts, &ends])
        .await
}

async fn set_materialized_until(
    client: &impl GenericClient,
    window_id: Uuid,
    until: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    let statement = client
        .prepare_cached("UPDATE maintenance_windows SET materialized_until = $2 WHERE id = $1")
        .await?;
    client.execute(&statement, &[&window_id, &until]).await?;
    Ok(())
}

/// Ends now every occurrence of window `window_id` in progress, with a
/// maintenance.ended event each (for a window being deleted). Returns how
/// many it ended.
#[tracing::instrument(skip_all, fields(window_id = %window_id))]
pub async fn end_in_progress(
    client: &impl GenericClient,
    window_id: Uuid,
) -> Result<u64, tokio_postgres::Error> {
    lock_open_occurrences(client, window_id).await?;
    let statement = client
        .prepare_cached(
            "UPDATE maintenance_occurrences SET ended_at = now(), \
                 ends_at = LEAST(ends_at, GREATEST(now(), starts_at + interval '1 microsecond')) \
             WHERE window_id = $1 AND started_at IS NOT NULL AND ended_at IS NULL \
             RETURNING window_id, starts_at",
        )
        .await?;
    let ended = client.query(&statement, &[&window_id]).await?;
    announce(client, MAINTENANCE_ENDED, &ended).await?;
    Ok(ended.len() as u64)
}

/// Sets `components.in_maintenance` wherever it differs from what the
/// occurrences in progress say. Only components that are flagged, or covered
/// by an occurrence in progress, can differ, so only those are looked at.
/// The ones to change are locked before any changes, components before
/// groups and each in id order: the order of the result writer (a component,
/// then its group), whose triggers lock the same rows. Returns how many changed.
pub async fn refresh_components(client: &impl GenericClient) -> Result<u64, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "WITH candidates AS ( \
                 SELECT id FROM components WHERE in_maintenance \
                 UNION \
                 SELECT c.id FROM maintenance_occurrences o \
                 JOIN maintenance_window_components wc ON wc.window_id = o.window_id \
                 JOIN components c ON c.id = wc.component_id OR c.group_id = wc.component_id \
                 WHERE o.started_at IS NOT NULL AND o.ended_at IS NULL), \
             stale AS ( \
                 SELECT c.id FROM components c JOIN candidates USING (id) \
                 WHERE c.in_maintenance IS DISTINCT FROM uptime_component_in_maintenance(c.id) \
                 ORDER BY c.is_group, c.id FOR UPDATE OF c) \
             UPDATE components c SET in_maintenance = uptime_component_in_maintenance(c.id) \
             FROM stale \
             WHERE c.id = stale.id \
               AND c.in_maintenance IS DISTINCT FROM uptime_component_in_maintenance(c.id)",
        )
        .await?;
    client.execute(&statement, &[]).await
}

/// Enqueues `event_type` for every (window_id, starts_at) row.
async fn announce(
    client: &impl GenericClient,
    event_type: &str,
    edges: &[Row],
) -> Result<(), tokio_postgres::Error> {
    if edges.is_empty() {
        return Ok(());
    }
    let statement = client
        .prepare_cached("SELECT uptime_maintenance_event($1::text, $2::uuid, $3::timestamptz)")
        .await?;
    for edge in edges {
        let window_id: Uuid = edge.try_get(0)?;
        let starts_at: DateTime<Utc> = edge.try_get(1)?;
        client
            .execute(&statement, &[&event_type, &window_id, &starts_at])
            .await?;
    }
    Ok(())
}

/// What one [`tick`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Recurring windows whose occurrences were extended.
    pub windows_extended: usize,
    /// Occurrence rows those extensions added.
    pub occurrences_added: u64,
    /// Stored windows whose schedule could not be read (skipped for a horizon).
    pub windows_unreadable: usize,
    /// Occurrences this tick started (one maintenance.started each).
    pub started: usize,
    /// Occurrences this tick ended (one maintenance.ended each).
    pub ended: usize,
    /// Occurrences that started and ended while no worker ticked: closed
    /// without events.
    pub missed: usize,
    /// Components whose `in_maintenance` changed.
    pub components_changed: u64,
}

impl TickReport {
    /// Whether the tick changed anything worth a log line.
    pub fn changed_anything(&self) -> bool {
        *self != Self::default()
    }
}

/// The edges, in the order they are applied: ends first, so a window whose
/// next occurrence starts when the previous one ends announces the end first
/// and its components never leave maintenance in between. `FOR UPDATE SKIP
/// LOCKED` leaves a row another worker is marking to that worker; a row it
/// marked and committed meanwhile fails the re-checked condition, so no edge
/// is ever marked (and announced) twice.
const ENDED_SQL: &str = "UPDATE maintenance_occurrences o SET ended_at = now() \
    FROM (SELECT window_id, starts_at FROM maintenance_occurrences \
          WHERE started_at IS NOT NULL AND ended_at IS NULL AND ends_at <= now() \
          ORDER BY window_id, starts_at FOR UPDATE SKIP LOCKED) due \
    WHERE o.window_id = due.window_id AND o.starts_at = due.starts_at \
    RETURNING o.window_id, o.starts_at";
/// Occurrences whose whole span passed with no worker ticking are closed
/// silently: announcing a start and an end after the fact would tell
/// subscribers about maintenance that no one saw begin. `started_at` =
/// `ended_at` = the time of detection (after `ends_at`) marks them.
const MISSED_SQL: &str =
    "UPDATE maintenance_occurrences o SET started_at = now(), ended_at = now() \
    FROM (SELECT window_id, starts_at FROM maintenance_occurrences \
          WHERE started_at IS NULL AND ends_at <= now() \
          ORDER BY window_id, starts_at FOR UPDATE SKIP LOCKED) due \
    WHERE o.window_id = due.window_id AND o.starts_at = due.starts_at";
const STARTED_SQL: &str = "UPDATE maintenance_occurrences o SET started_at = now() \
    FROM (SELECT window_id, starts_at FROM maintenance_occurrences \
          WHERE started_at IS NULL AND starts_at <= now() AND ends_at > now() \
          ORDER BY window_id, starts_at FOR UPDATE SKIP LOCKED) due \
    WHERE o.window_id = due.window_id AND o.starts_at = due.starts_at \
    RETURNING o.window_id, o.starts_at";

/// The maintenance clock, run every couple of seconds by every worker; safe
/// to run concurrently and idempotent. First extends the occurrences of
/// recurring windows materialized less than `horizon` ahead (to twice
/// `horizon`; windows another worker is extending are skipped). Then, in
/// one transaction: ends the occurrences whose end has come (maintenance.ended),
/// closes those missed entirely (no event), starts those whose start has come
/// (maintenance.started), and brings `components.in_maintenance` up to date,
/// which shows or clears under_maintenance through the components' triggers.
#[tracing::instrument(skip_all)]
pub async fn tick(
    client: &mut deadpool_postgres::Client,
    horizon: Duration,
) -> Result<TickReport, MaintenanceError> {
    let mut report = TickReport::default();
    extend_due_windows(client, horizon, &mut report).await?;

    let tx = client.transaction().await?;
    let statement = tx.prepare_cached(ENDED_SQL).await?;
    let ended = tx.query(&statement, &[]).await?;
    announce(&tx, MAINTENANCE_ENDED, &ended).await?;
    let statement = tx.prepare_cached(MISSED_SQL).await?;
    let missed = tx.execute(&statement, &[]).await?;
    let statement = tx.prepare_cached(STARTED_SQL).await?;
    let started = tx.query(&statement, &[]).await?;
    announce(&tx, MAINTENANCE_STARTED, &started).await?;
    report.components_changed = refresh_components(&tx).await?;
    tx.commit().await?;

    report.ended = ended.len();
    report.missed = usize::try_from(missed).unwrap_or(usize::MAX);
    report.started = started.len();
    Ok(report)
}

/// Step one of [`tick`]: extends recurring windows whose occurrences run out
/// within `horizon`, from where they were materialized (or now, if that is
/// past) to twice `horizon` ahead.
async fn extend_due_windows(
    client: &mut deadpool_postgres::Client,
    horizon: Duration,
    report: &mut TickReport,
) -> Result<(), MaintenanceError> {
    let tx = client.transaction().await?;
    let statement = tx
        .prepare_cached(
            "SELECT id, starts_at, ends_at, cron, duration_minutes, timezone, active_from, \
                 active_until, materialized_until, now() AS now \
             FROM maintenance_windows \
             WHERE (materialized_until IS NULL OR (cron IS NOT NULL \
                    AND materialized_until < now() + make_interval(secs => $1::float8))) \
               AND (materialized_until IS NULL OR active_until IS NULL \
                    OR materialized_until < active_until) \
             ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .await?;
    // Whole seconds are plenty for a horizon of days.
    #[allow(clippy::cast_precision_loss)]
    let horizon_seconds = horizon.num_seconds() as f64;
    let rows = tx
        .query(&statement, &[&horizon_seconds, &EXTEND_BATCH])
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    for row in &rows {
        let id: Uuid = row.try_get("id")?;
        let now: DateTime<Utc> = row.try_get("now")?;
        let target = now + horizon + horizon;
        let schedule = match schedule_of(row) {
            Ok(schedule) => schedule,
            Err(error) => {
                // Not retried before the horizon comes round again, so a bad
                // row (written around the API) is not logged every tick.
                tracing::warn!(
                    window_id = %id,
                    %error,
                    "a maintenance window's stored schedule cannot be read; its occurrences are not extended"
                );
                report.windows_unreadable += 1;
                set_materialized_until(&tx, id, target).await?;
                continue;
            }
        };
        let before: Option<DateTime<Utc>> = row.try_get("materialized_until")?;
        // Occurrences starting before `before` exist; those ending before now
        // are over and need no row.
        let overlap_from = now;
        let min_start = before.map_or(now - schedule.duration(), |b| {
            b.max(now - schedule.duration())
        });
        let (found, complete) = scan(&schedule, min_start, overlap_from, target, MAX_OCCURRENCES);
        let (starts, ends) = columns_of(&found);
        report.occurrences_added += insert_occurrences(&tx, id, &starts, &ends).await?;
        set_materialized_until(&tx, id, reached(&found, complete, target)).await?;
        report.windows_extended += 1;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn berlin(cron: &str, minutes: i64) -> Schedule {
        Schedule::recurring(cron, minutes, "Europe/Berlin", None, None).unwrap()
    }

    fn starts(found: &[Occurrence]) -> Vec<DateTime<Utc>> {
        found.iter().map(|o| o.starts_at).collect()
    }

    #[test]
    fn cron_errors_name_the_bad_field() {
        let cases = [
            ("61 * * * *", "minute"),
            ("0 24 * * *", "hour"),
            ("0 2 32 * *", "day-of-month"),
            ("0 2 * 13 *", "month"),
            ("0 2 * * 8", "day-of-week"),
            ("0 2 * * X", "day-of-week"),
            ("*/0 * * * *", "minute"),
            ("0/10 * * * *", "minute"),
        ];
        for (text, field) in cases {
            let error = CronExpr::parse(text).unwrap_err();
            assert_eq!(error.field(), "cron");
            let message = error.to_string();
            assert!(
                message.contains(&format!("the {field} field")),
                "{text}: {message}"
            );
        }
    }

    #[test]
    fn cron_takes_exactly_five_fields_or_a_nickname() {
        for text in ["0 0 2 * * *", "0 0 2 * * 0 2027"] {
            let message = CronExpr::parse(text).unwrap_err().to_string();
            assert!(message.contains("5 fields"), "{message}");
            assert!(message.contains("seconds and years are not supported"));
        }
        assert!(CronExpr::parse("0 2 *")
            .unwrap_err()
            .to_string()
            .contains("this one has 3"));
        assert_eq!(CronExpr::parse("  ").unwrap_err(), ScheduleError::CronEmpty);
        assert_eq!(CronExpr::parse("@weekly").unwrap().as_str(), "@weekly");
        assert!(CronExpr::parse("@fortnightly")
            .unwrap_err()
            .to_string()
            .contains("unknown cron nickname \"@fortnightly\""));
        assert_eq!(
            CronExpr::parse("0 0 31 2 *").unwrap_err(),
            ScheduleError::CronNeverMatches("0 0 31 2 *".to_owned())
        );
        assert_eq!(
            CronExpr::parse(" 0 2 * * SUN ").unwrap().as_str(),
            "0 2 * * SUN"
        );
    }

    #[test]
    fn the_other_parts_are_checked_with_their_own_message() {
        let zone = Schedule::recurring("0 2 * * 0", 60, "Europe/Berln", None, None).unwrap_err();
        assert_eq!(zone.field(), "timezone");
        assert!(zone.to_string().contains("\"Europe/Berln\""));
        for minutes in [0, 10_081, -5] {
            let error = Schedule::recurring("0 2 * * 0", minutes, "UTC", None, None).unwrap_err();
            assert_eq!(error, ScheduleError::Duration(minutes));
            assert_eq!(error.field(), "durationMinutes");
        }
        assert!(Schedule::recurring("0 2 * * 0", 10_080, "UTC", None, None).is_ok());
        let active = Schedule::recurring(
            "0 2 * * 0",
            60,
            "UTC",
            Some(utc(2027, 2, 1, 0, 0)),
            Some(utc(2027, 1, 1, 0, 0)),
        )
        .unwrap_err();
        assert_eq!(active, ScheduleError::ActiveUntilBeforeFrom);
        assert_eq!(active.field(), "activeUntil");
        let at = utc(2027, 1, 1, 0, 0);
        let backwards = Schedule::one_off(at, at).unwrap_err();
        assert_eq!(backwards, ScheduleError::EndsBeforeStart);
        assert_eq!(backwards.field(), "endsAt");
    }

    #[test]
    fn occurrences_may_not_overlap_one_another() {
        let hourly = |minutes| Schedule::recurring("0 * * * *", minutes, "UTC", None, None);
        assert!(hourly(60).is_ok(), "back to back is fine");
        let error = hourly(61).unwrap_err();
        assert_eq!(
            error,
            ScheduleError::Overlapping {
                duration_minutes: 61,
                gap_minutes: 60
            }
        );
        assert_eq!(error.field(), "durationMinutes");
        assert!(Schedule::recurring("* * * * *", 2, "UTC", None, None).is_err());
        // 02:00 to 02:00 the next day is 23 hours on the spring-forward day.
        let daily = Schedule::recurring("0 2 * * *", 1440, "Europe/Berlin", None, None);
        assert_eq!(
            daily.unwrap_err(),
            ScheduleError::Overlapping {
                duration_minutes: 1440,
                gap_minutes: 1380
            }
        );
        assert!(Schedule::recurring("0 2 * * *", 1380, "Europe/Berlin", None, None).is_ok());
        assert!(Schedule::recurring("0 22 * * 5", 3 * 1440, "Europe/Berlin", None, None).is_ok());
    }

    #[test]
    fn a_one_off_window_occurs_once_where_it_overlaps() {
        let schedule = Schedule::one_off(utc(2027, 5, 1, 10, 0), utc(2027, 5, 1, 12, 0)).unwrap();
        let only = Occurrence {
            starts_at: utc(2027, 5, 1, 10, 0),
            ends_at: utc(2027, 5, 1, 12, 0),
        };
        assert_eq!(
            occurrences(&schedule, utc(2027, 5, 1, 11, 0), utc(2027, 5, 2, 0, 0)),
            vec![only]
        );
        assert_eq!(
            occurrences(&schedule, utc(2027, 4, 1, 0, 0), utc(2027, 5, 1, 10, 1)),
            vec![only]
        );
        assert!(occurrences(&schedule, utc(2027, 5, 1, 12, 0), utc(2027, 6, 1, 0, 0)).is_empty());
        assert!(occurrences(&schedule, utc(2027, 4, 1, 0, 0), utc(2027, 5, 1, 10, 0)).is_empty());
        assert_eq!(state(&schedule, utc(2027, 5, 1, 9, 59)), State::Scheduled);
        assert_eq!(state(&schedule, utc(2027, 5, 1, 10, 0)), State::InProgress);
        assert_eq!(state(&schedule, utc(2027, 5, 1, 12, 0)), State::Completed);
        assert_eq!(upcoming(&schedule, utc(2027, 5, 1, 9, 0), 5), vec![only]);
        assert!(upcoming(&schedule, utc(2027, 5, 1, 10, 0), 5).is_empty());
        assert_eq!(
            current_occurrence(&schedule, utc(2027, 5, 1, 11, 0)),
            Some(only)
        );
    }

    /// Sunday 02:00 in Europe/Berlin through 2027's daylight-saving changes
    /// (28 March, 02:00 CET -> 03:00 CEST; 31 October, 03:00 CEST -> 02:00 CET).
    #[test]
    fn sunday_two_am_in_berlin_follows_daylight_saving_time() {
        let schedule = berlin("0 2 * * 0", 60);
        let found = occurrences(&schedule, utc(2027, 3, 20, 0, 0), utc(2027, 4, 5, 0, 0));
        assert_eq!(
            starts(&found),
            vec![
                utc(2027, 3, 21, 1, 0), // 02:00 CET
                // 02:00 does not exist on 28 March: croner fires at the first
                // instant after the gap, 03:00 CEST.
                utc(2027, 3, 28, 1, 0),
                utc(2027, 4, 4, 0, 0), // 02:00 CEST
            ]
        );
        assert!(found
            .iter()
            .all(|o| o.ends_at - o.starts_at == Duration::hours(1)));
        let found = occurrences(&schedule, utc(2027, 10, 23, 0, 0), utc(2027, 11, 8, 0, 0));
        assert_eq!(
            starts(&found),
            vec![
                utc(2027, 10, 24, 0, 0), // 02:00 CEST
                // 02:00 happens twice on 31 October: only the first pass (CEST) fires.
                utc(2027, 10, 31, 0, 0),
                utc(2027, 11, 7, 1, 0), // 02:00 CET
            ]
        );
    }

    #[test]
    fn a_time_inside_the_spring_forward_gap_fires_when_the_gap_ends() {
        let schedule = berlin("30 2 * * 0", 30);
        let found = occurrences(&schedule, utc(2027, 3, 20, 0, 0), utc(2027, 4, 5, 0, 0));
        assert_eq!(
            starts(&found),
            vec![
                utc(2027, 3, 21, 1, 30), // 02:30 CET
                // 02:30 on 28 March does not exist: 03:00 CEST, not 03:30.
                utc(2027, 3, 28, 1, 0),
                utc(2027, 4, 4, 0, 30), // 02:30 CEST
            ]
        );
    }

    #[test]
    fn the_number_of_occurrences_is_bounded() {
        let schedule = Schedule::recurring("* * * * *", 1, "UTC", None, None).unwrap();
        let from = utc(2027, 1, 1, 0, 0);
        let found = occurrences(&schedule, from, utc(2028, 1, 1, 0, 0));
        assert_eq!(found.len(), MAX_OCCURRENCES);
        assert_eq!(found[0].starts_at, from);
        let (_, complete) = occurrences_capped(&schedule, from, utc(2028, 1, 1, 0, 0), 10);
        assert!(!complete);
        let (found, complete) = occurrences_capped(&schedule, from, utc(2027, 1, 1, 0, 10), 10);
        assert!(complete && found.len() == 10);
    }

    #[test]
    fn an_occurrence_that_began_before_from_is_included() {
        let schedule = Schedule::recurring("0 */2 * * *", 90, "UTC", None, None).unwrap();
        let found = occurrences(&schedule, utc(2027, 1, 1, 10, 15), utc(2027, 1, 1, 12, 30));
        assert_eq!(
            starts(&found),
            vec![utc(2027, 1, 1, 10, 0), utc(2027, 1, 1, 12, 0)]
        );
        assert_eq!(
            current_occurrence(&schedule, utc(2027, 1, 1, 10, 15)).map(|o| o.starts_at),
            Some(utc(2027, 1, 1, 10, 0))
        );
        assert_eq!(current_occurrence(&schedule, utc(2027, 1, 1, 11, 45)), None);
    }

    #[test]
    fn the_active_range_bounds_the_starts_and_completes_the_window() {
        let schedule = Schedule::recurring(
            "0 2 * * *",
            120,
            "UTC",
            Some(utc(2027, 1, 10, 0, 0)),
            Some(utc(2027, 1, 12, 3, 0)),
        )
        .unwrap();
        let found = occurrences(&schedule, utc(2027, 1, 1, 0, 0), utc(2027, 2, 1, 0, 0));
        assert_eq!(
            starts(&found),
            vec![
                utc(2027, 1, 10, 2, 0),
                utc(2027, 1, 11, 2, 0),
                utc(2027, 1, 12, 2, 0)
            ]
        );
        assert_eq!(state(&schedule, utc(2027, 1, 5, 0, 0)), State::Scheduled);
        assert_eq!(state(&schedule, utc(2027, 1, 10, 3, 0)), State::InProgress);
        assert_eq!(state(&schedule, utc(2027, 1, 11, 0, 0)), State::Scheduled);
        // Past activeUntil, but the last occurrence runs its whole duration.
        assert_eq!(state(&schedule, utc(2027, 1, 12, 3, 30)), State::InProgress);
        assert_eq!(state(&schedule, utc(2027, 1, 12, 4, 0)), State::Completed);
        assert_eq!(
            starts(&upcoming(&schedule, utc(2027, 1, 1, 0, 0), 5)),
            starts(&found)
        );
        assert!(overlaps(&schedule, None, Some(utc(2027, 1, 10, 2, 1))));
        assert!(!overlaps(&schedule, None, Some(utc(2027, 1, 10, 2, 0))));
        assert!(!overlaps(&schedule, Some(utc(2027, 1, 12, 4, 0)), None));
    }

    #[test]
    fn the_far_future_ends_the_search_without_failing() {
        let schedule = Schedule::recurring("0 2 * * *", 60, "Europe/Berlin", None, None).unwrap();
        let far = utc(9999, 12, 1, 0, 0);
        assert!(occurrences(&schedule, far, utc(9999, 12, 31, 0, 0)).is_empty());
        assert!(upcoming(&schedule, far, 5).is_empty());
        assert_eq!(state(&schedule, far), State::Scheduled);
        let early = Schedule::one_off(utc(1, 1, 1, 0, 0), utc(1, 1, 2, 0, 0)).unwrap();
        assert_eq!(state(&early, utc(2027, 1, 1, 0, 0)), State::Completed);
        assert!(overlaps(&early, None, None));
    }

    #[test]
    fn states_read_back_from_their_names() {
        for state in State::ALL {
            assert_eq!(state.as_str().parse::<State>(), Ok(state));
        }
        assert!("done".parse::<State>().is_err());
    }

    proptest::proptest! {
        /// Whatever a client sends as `cron`, parsing answers (no panic), and
        /// an accepted expression can be walked.
        #[test]
        fn any_cron_text_is_answered_without_panicking(
            text in proptest::prop_oneof![
                "[0-9*/,#?LW+@ A-Za-z-]{0,40}",
                "([0-9*/,#?LW+-]{1,5} ){4}[0-9*/,#?LW+A-Z-]{1,5}",
                "([0-9]{1,2}|\\*)( ([0-9]{1,2}|\\*|[0-9]-[0-9]{1,2}(/[0-9])?)){3} [0-7](#[1-5]|L)?",
            ],
            zone in proptest::sample::select(vec!["UTC", "Europe/Berlin", "Australia/Lord_Howe"]),
        ) {
            if let Ok(schedule) = Schedule::recurring(&text, 1, zone, None, None) {
                let from = utc(2027, 3, 1, 0, 0);
                let found = occurrences(&schedule, from, utc(2027, 4, 1, 0, 0));
                proptest::prop_assert!(found.windows(2).all(|w| w[0].starts_at < w[1].starts_at));
                let _ = state(&schedule, from);
            }
        }
    }
}
