#!/usr/bin/env bash
# Public status pages under load (`make bench-status`, see BENCHMARKS.md).
#
# 1. Builds, every run, a small dataset in its own database
#    (uptime_bench_status, owned by `uptime`; dropped and rebuilt, a few
#    seconds): 100 components (10 groups of 8, and 10 on their own), each
#    created 120 days ago with a status history (outages of minutes,
#    degraded spells, weekly maintenance; several changes a day on every
#    sixth component), the monitor behind each of the 90 that are not
#    groups, resolved status incidents over the last 90 days and two
#    maintenance windows. Through the REST API: one published page with all
#    100 components in four sections (uptimeDays 90), an open incident and
#    an upcoming maintenance window.
# 2. Starts the release API, waits for the page's snapshot, probes each
#    endpoint once (the HTML names all 100 components, summary.json lists
#    them).
# 3. Runs wrk against the single-monitor GET (read key), summary.json, the
#    HTML page, and the HTML page with If-None-Match (its ETag, followed as
#    it changes: the 304 path); prints req/s, p50, p99, max, non-2xx and
#    socket errors (either fails the script), then each public endpoint's
#    req/s over the single-monitor GET's.
# 4. Soak: wrk alternating summary.json and the HTML page for
#    BENCH_STATUS_SOAK_SECONDS, sampling the API's RSS; prints start, after
#    warm-up, end and max RSS and the slope over the second half.
# 5. Stops the API and times the snapshot build on the same database
#    (target/release/examples/page_build: cold, today's bars due, cached).
#
# Knobs: BENCH_STATUS_SECONDS (15), BENCH_STATUS_THREADS (2),
# BENCH_STATUS_CONNECTIONS (32), BENCH_STATUS_WARMUP (3, seconds of
# unreported wrk warm-up per endpoint), BENCH_STATUS_SOAK_SECONDS (600; 0
# skips the soak), BENCH_STATUS_SAMPLE_SECONDS (10, RSS sampling),
# BENCH_STATUS_POOL (4: the API's DATABASE_POOL_SIZE, as bench-api.sh),
# BENCH_PAGE_BUILD_RUNS (20, per mode), BENCH_STATUS_DB (uptime_bench_status),
# BENCH_STATUS_BIN (target/release/uptime-api), BENCH_STATUS_PAGE_BUILD_BIN
# (target/release/examples/page_build), BENCH_STATUS_OUT (target/bench-status:
# raw wrk output, RSS samples, API log, results).
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

SECONDS_=${BENCH_STATUS_SECONDS:-15}
THREADS=${BENCH_STATUS_THREADS:-2}
CONNECTIONS=${BENCH_STATUS_CONNECTIONS:-32}
WARMUP=${BENCH_STATUS_WARMUP:-3}
SOAK=${BENCH_STATUS_SOAK_SECONDS:-600}
SAMPLE=${BENCH_STATUS_SAMPLE_SECONDS:-10}
POOL=${BENCH_STATUS_POOL:-4}
RUNS=${BENCH_PAGE_BUILD_RUNS:-20}
DB=${BENCH_STATUS_DB:-uptime_bench_status}
BIN=${BENCH_STATUS_BIN:-target/release/uptime-api}
PAGE_BUILD_BIN=${BENCH_STATUS_PAGE_BUILD_BIN:-target/release/examples/page_build}
OUT=${BENCH_STATUS_OUT:-target/bench-status}

PG_HOST=127.0.0.1
PG_PORT=5432
DB_ROLE=uptime
REDIS_URL_=redis://127.0.0.1:6379/0
REDIS_PREFIX=benchstatus:

# Shape of the dataset. Every name is distinct and plain text (the probe
# looks for each one in the HTML).
GROUP_NAMES=("Public API" "Web application" "Payments" "Identity" "Search"
  "Notifications" "Data pipeline" "Storage" "Europe region" "Americas region")
CHILD_NAMES=("gateway" "workers" "database" "cache" "queue" "scheduler" "webhooks" "admin console")
PLAIN_NAMES=("Status emails" "Documentation" "Community forum" "Mobile push" "SMS delivery"
  "Billing portal" "Marketing site" "Partner API" "Audit log export" "Support chat")
GROUPS_=${#GROUP_NAMES[@]}
CHILDREN=${#CHILD_NAMES[@]}
PLAIN=${#PLAIN_NAMES[@]}
COMPONENTS=$((GROUPS_ + GROUPS_ * CHILDREN + PLAIN))
AGE_DAYS=120      # every component was created this long ago
FLAKY_EVERY=6     # every 6th component that is not a group changes several times a day
SLOTS=7           # 3-hour slots a day that may hold a spell (00:00-03:00 is kept for maintenance)
FLAKY_CHANCE=0.5  # of a spell per slot: ~3.5 spells, 7 changes a day
QUIET_CHANCE=0.02 # ~1 spell a week
SLUG=bench
PARAMS="components=$COMPONENTS groups=${GROUPS_}x${CHILDREN} plain=$PLAIN age=${AGE_DAYS}d flaky=1/$FLAKY_EVERY slots=$SLOTS chance=$FLAKY_CHANCE/$QUIET_CHANCE"

log() { printf 'bench-status: %s\n' "$*"; }
die() { printf 'bench-status: %s\n' "$*" >&2; exit 1; }

command -v psql >/dev/null 2>&1 || die "psql not found (apt-get install postgresql-client)"
command -v wrk >/dev/null 2>&1 || die "wrk not found (apt-get install wrk)"
command -v curl >/dev/null 2>&1 || die "curl not found"
command -v jq >/dev/null 2>&1 || die "jq not found (apt-get install jq)"
command -v python3 >/dev/null 2>&1 || die "python3 not found"
[ -x "$BIN" ] || die "$BIN not found or not executable (build it: cargo build --release --bin uptime-api)"
[ -x "$PAGE_BUILD_BIN" ] ||
  die "$PAGE_BUILD_BIN not found (build it: cargo build --release -p uptime-api --example page_build)"
[[ "$DB" =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_STATUS_DB must be a plain lower-case identifier, got '$DB'"
for knob in SECONDS_ THREADS CONNECTIONS WARMUP SOAK SAMPLE POOL; do
  [[ "${!knob}" =~ ^[0-9]+$ ]] || die "BENCH_STATUS_${knob%_} must be a non-negative integer"
done
[[ "$RUNS" =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] || die "BENCH_PAGE_BUILD_RUNS must be a positive integer"
[ "$SECONDS_" -ge 1 ] && [ "$SAMPLE" -ge 1 ] && [ "$POOL" -ge 1 ] ||
  die "BENCH_STATUS_SECONDS, BENCH_STATUS_SAMPLE_SECONDS and BENCH_STATUS_POOL must be at least 1"
[ "$THREADS" -ge 1 ] && [ "$CONNECTIONS" -ge "$THREADS" ] ||
  die "BENCH_STATUS_CONNECTIONS ($CONNECTIONS) must be at least BENCH_STATUS_THREADS ($THREADS), which must be at least 1"
pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null || die "PostgreSQL is not answering on $PG_HOST:$PG_PORT (make services)"

mkdir -p "$OUT"
export PGTZ=UTC PGAPPNAME=bench-status

# Superuser sessions: create the database, bulk-load with the triggers off
# (session_replication_role): the history is written as it would have
# happened, and each component's status set to where its history ends.
admin() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres "$@"; }
bulk() {
  PGOPTIONS="-c synchronous_commit=off -c session_replication_role=replica" \
    psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$DB" "$@"
}

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
sql_array() { # words... -> a SQL text[] literal (the names hold no quotes)
  local list
  list=$(printf "'%s'," "$@")
  printf 'ARRAY[%s]' "${list%,}"
}

BOOTSTRAP_KEY=$(python3 -c 'import secrets;print(secrets.token_hex(16))')
# The API's environment for port $1 (an array for `env`, so that the API is
# the very process started and $! its pid).
api_env() {
  API_ENV=(DATABASE_URL="postgres://$DB_ROLE:$DB_ROLE@$PG_HOST:$PG_PORT/$DB"
    REDIS_URL="$REDIS_URL_" REDIS_KEY_PREFIX="$REDIS_PREFIX"
    APP_PORT="$1" METRICS_PORT="$(free_port)"
    UPTIME_BOOTSTRAP_API_KEY="$BOOTSTRAP_KEY" LOG_LEVEL=warn APP_ENV=development
    DATABASE_POOL_SIZE="$POOL")
}

API_PID=""
WRK_PID=""
BASE=""
stop_api() {
  if [ -n "$API_PID" ] && kill -0 "$API_PID" 2>/dev/null; then
    kill -TERM "$API_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$API_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
  fi
  API_PID=""
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$WRK_PID" ] && kill -0 "$WRK_PID" 2>/dev/null; then
    kill -TERM "$WRK_PID" 2>/dev/null || true
    wait "$WRK_PID" 2>/dev/null || true
  fi
  stop_api
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"

# ---------------------------------------------------------------- dataset --

build_start=$EPOCHREALTIME
if [ "$(admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" = 1 ]; then
  admin -c "DROP DATABASE $DB WITH (FORCE)"
fi
admin -c "CREATE DATABASE $DB OWNER $DB_ROLE"
api_env "$(free_port)"
env "${API_ENV[@]}" "$BIN" migrate >"$OUT/migrate.log" 2>&1 ||
  { cat "$OUT/migrate.log" >&2; die "uptime-api migrate failed"; }

# Every time of the dataset is relative to the anchor (the build's start).
ANCHOR=$(bulk -c "SELECT date_trunc('second', now())")
CREATED=$(bulk -c "SELECT '$ANCHOR'::timestamptz - interval '$AGE_DAYS days'")
log "building the dataset in $DB ($PARAMS); anchor $ANCHOR, components created $CREATED"

bulk <<SQL
BEGIN;
CREATE TABLE bench_meta (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO bench_meta (key, value) VALUES ('params', '$PARAMS'), ('anchor', '$ANCHOR');

-- n: groups 1..G, then each group's children, then the plain components.
CREATE TABLE bench_components (
    n         integer PRIMARY KEY,
    id        uuid    NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    name      text    NOT NULL UNIQUE,
    is_group  boolean NOT NULL,
    group_n   integer,
    position  integer NOT NULL,
    flaky     boolean NOT NULL DEFAULT false,
    monitor_id uuid
);
INSERT INTO bench_components (n, name, is_group, position)
SELECT g, name, true, g FROM unnest($(sql_array "${GROUP_NAMES[@]}")) WITH ORDINALITY AS t(name, g);
INSERT INTO bench_components (n, name, is_group, group_n, position)
SELECT $GROUPS_ + (g - 1) * $CHILDREN + k, gname || ' ' || cname, false, g, k
FROM unnest($(sql_array "${GROUP_NAMES[@]}")) WITH ORDINALITY AS gs(gname, g),
     unnest($(sql_array "${CHILD_NAMES[@]}")) WITH ORDINALITY AS cs(cname, k);
INSERT INTO bench_components (n, name, is_group, position)
SELECT $GROUPS_ + $GROUPS_ * $CHILDREN + p, name, false, $GROUPS_ + p
FROM unnest($(sql_array "${PLAIN_NAMES[@]}")) WITH ORDINALITY AS t(name, p);
UPDATE bench_components SET monitor_id = gen_random_uuid(), flaky = (n - $GROUPS_) % $FLAKY_EVERY = 0
WHERE NOT is_group;

-- The monitor behind each component that is not a group, up now.
INSERT INTO monitors (id, name, type, target, method, expected_status, follow_redirects,
        timeout_seconds, interval_seconds, failure_threshold, recovery_threshold, enabled, tags,
        status, last_checked_at, last_slot, consecutive_successes, created_at, updated_at)
SELECT monitor_id, name || ' check', 'http', 'https://status-bench.example/' || n, 'GET', '"2xx"'::jsonb,
    false, 10, 60, 3, 1, true, ARRAY['bench-status'], 'up', '$ANCHOR'::timestamptz - interval '20 seconds',
    '$ANCHOR'::timestamptz - interval '20 seconds', 100, '$CREATED', '$CREATED'
FROM bench_components WHERE monitor_id IS NOT NULL ORDER BY n;

INSERT INTO components (id, name, description, is_group, group_id, position, auto_status, has_data,
        status, status_source, status_changed_at, created_at, updated_at)
SELECT c.id, c.name, CASE WHEN c.is_group THEN 'Everything behind ' || c.name END, c.is_group, g.id,
    c.position, 'operational', true, 'operational', 'automatic', '$CREATED', '$CREATED', '$CREATED'
FROM bench_components c LEFT JOIN bench_components g ON g.n = c.group_n ORDER BY c.n;
INSERT INTO component_monitors (component_id, monitor_id)
SELECT id, monitor_id FROM bench_components WHERE monitor_id IS NOT NULL;

-- Maintenance: every Sunday 01:00-02:00 UTC on the "Data pipeline" group
-- since the components exist, and once, 5 days ago, 90 minutes on three of
-- the plain components. Occurrences as the workers leave them: started and
-- ended when past.
CREATE TABLE bench_windows (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text);
INSERT INTO bench_windows (name) VALUES ('weekly'), ('once');
INSERT INTO maintenance_windows (id, title, description, cron, duration_minutes, timezone, active_from,
        materialized_until, created_at, updated_at)
SELECT id, 'Weekly data pipeline maintenance', 'Index rebuilds and upgrades; jobs run late meanwhile.',
    '0 1 * * 0', 60, 'UTC', '$CREATED', '$ANCHOR'::timestamptz + interval '14 days', '$CREATED', '$CREATED'
FROM bench_windows WHERE name = 'weekly';
INSERT INTO maintenance_windows (id, title, description, starts_at, ends_at, materialized_until,
        created_at, updated_at)
SELECT id, 'Messaging provider migration', 'Emails, the forum and the docs move to a new provider.',
    date_trunc('day', '$ANCHOR'::timestamptz) - interval '5 days' + interval '1 hour',
    date_trunc('day', '$ANCHOR'::timestamptz) - interval '5 days' + interval '150 minutes',
    date_trunc('day', '$ANCHOR'::timestamptz) - interval '5 days' + interval '150 minutes',
    '$ANCHOR'::timestamptz - interval '12 days', '$ANCHOR'::timestamptz - interval '12 days'
FROM bench_windows WHERE name = 'once';
INSERT INTO maintenance_window_components (window_id, component_id)
SELECT w.id, c.id FROM bench_windows w JOIN bench_components c
    ON (w.name = 'weekly' AND c.name = 'Data pipeline')
    OR (w.name = 'once' AND c.n > $GROUPS_ + $GROUPS_ * $CHILDREN AND c.n <= $GROUPS_ + $GROUPS_ * $CHILDREN + 3);
INSERT INTO maintenance_occurrences (window_id, starts_at, ends_at, started_at, ended_at)
SELECT w.id, o, o + interval '1 hour',
    CASE WHEN o <= '$ANCHOR' THEN o END,
    CASE WHEN o + interval '1 hour' <= '$ANCHOR' THEN o + interval '1 hour' END
FROM bench_windows w,
     generate_series(date_trunc('week', '$CREATED'::timestamptz) + interval '6 days 1 hour',
                     '$ANCHOR'::timestamptz + interval '14 days', interval '7 days') AS o
WHERE w.name = 'weekly' AND o >= '$CREATED';
INSERT INTO maintenance_occurrences (window_id, starts_at, ends_at, started_at, ended_at)
SELECT id, starts_at, ends_at, starts_at, ends_at FROM maintenance_windows w
WHERE id = (SELECT id FROM bench_windows WHERE name = 'once');

-- Spells away from operational, per component that is not a group: in
-- each 3-hour slot from 03:00 UTC, with FLAKY_CHANCE or QUIET_CHANCE,
-- starting in the slot's first hour: a partial outage of 1-15 min (55 %),
-- a major one of 2-40 min (15 %) or degraded performance for 10-110 min
-- (30 %); so spells never overlap. Then the maintenance occurrences that
-- began, on the components they cover (a group's children).
CREATE TABLE bench_spells (component_id uuid, starts timestamptz, ends timestamptz, status text, source text);
INSERT INTO bench_spells
SELECT id, starts, starts + dur, status, 'automatic'
FROM (SELECT id, flaky, r,
          date_trunc('day', '$CREATED'::timestamptz) + d * interval '1 day' + k * interval '3 hours'
              + date_trunc('second', r2 * interval '1 hour') AS starts,
          CASE WHEN r3 < 0.55 THEN 'partial_outage' WHEN r3 < 0.70 THEN 'major_outage'
               ELSE 'degraded_performance' END AS status,
          date_trunc('second', CASE WHEN r3 < 0.55 THEN interval '1 minute' + r4 * interval '14 minutes'
                                    WHEN r3 < 0.70 THEN interval '2 minutes' + r4 * interval '38 minutes'
                                    ELSE interval '10 minutes' + r4 * interval '100 minutes' END) AS dur
      FROM (SELECT c.id, c.flaky, d, k, random() AS r, random() AS r2, random() AS r3, random() AS r4
            FROM bench_components c, generate_series(1, $AGE_DAYS) AS d, generate_series(1, $SLOTS) AS k
            WHERE NOT c.is_group) x) s
WHERE r < CASE WHEN flaky THEN $FLAKY_CHANCE ELSE $QUIET_CHANCE END
  AND starts + dur < '$ANCHOR'
ORDER BY starts;
INSERT INTO bench_spells
SELECT c.id, o.started_at, o.ends_at, 'under_maintenance', 'maintenance'
FROM maintenance_occurrences o
JOIN maintenance_window_components wc ON wc.window_id = o.window_id
JOIN components c ON (c.id = wc.component_id AND NOT c.is_group) OR c.group_id = wc.component_id
WHERE o.started_at IS NOT NULL;

-- The history: creation, each spell's start, and its end when past.
CREATE TABLE bench_history (component_id uuid, old_status text, new_status text, source text, at timestamptz);
INSERT INTO bench_history
SELECT id, NULL, 'operational', 'automatic', '$CREATED' FROM bench_components WHERE NOT is_group;
INSERT INTO bench_history SELECT component_id, 'operational', status, source, starts FROM bench_spells;
INSERT INTO bench_history
SELECT component_id, status, 'operational', 'automatic', ends FROM bench_spells WHERE ends <= '$ANCHOR';
-- A group shows the worst of its children, or maintenance while its window
-- runs (its children are then all under maintenance): per group, a running
-- count of children in each status over the children's changes, and a row
-- wherever the result changes.
INSERT INTO bench_history
WITH child AS (
    SELECT c.group_n, h.at, h.old_status, h.new_status
    FROM bench_history h JOIN bench_components c ON c.id = h.component_id
    WHERE c.group_n IS NOT NULL),
deltas AS (
    SELECT group_n, at, new_status AS status, 1 AS d FROM child
    UNION ALL
    SELECT group_n, at, old_status, -1 FROM child WHERE old_status IS NOT NULL),
per_at AS (
    SELECT group_n, at,
        coalesce(sum(d) FILTER (WHERE status = 'degraded_performance'), 0) AS degraded,
        coalesce(sum(d) FILTER (WHERE status = 'partial_outage'), 0) AS partial,
        coalesce(sum(d) FILTER (WHERE status = 'major_outage'), 0) AS major,
        coalesce(sum(d) FILTER (WHERE status = 'under_maintenance'), 0) AS maintenance
    FROM deltas GROUP BY group_n, at),
running AS (
    SELECT group_n, at, sum(degraded) OVER w AS degraded, sum(partial) OVER w AS partial,
        sum(major) OVER w AS major, sum(maintenance) OVER w AS maintenance
    FROM per_at WINDOW w AS (PARTITION BY group_n ORDER BY at)),
shown AS (
    SELECT group_n, at, CASE WHEN maintenance > 0 THEN 'under_maintenance'
                             WHEN major > 0 THEN 'major_outage' WHEN partial > 0 THEN 'partial_outage'
                             WHEN degraded > 0 THEN 'degraded_performance' ELSE 'operational' END AS status
    FROM running),
changes AS (
    SELECT group_n, at, status, lag(status) OVER (PARTITION BY group_n ORDER BY at) AS prev FROM shown)
SELECT g.id, ch.prev, ch.status,
    CASE WHEN ch.status = 'under_maintenance' THEN 'maintenance' ELSE 'automatic' END, ch.at
FROM changes ch JOIN bench_components g ON g.n = ch.group_n
WHERE ch.prev IS DISTINCT FROM ch.status;

INSERT INTO component_status_changes (component_id, old_status, new_status, source, at)
SELECT component_id, old_status, new_status, source, at FROM bench_history ORDER BY at, component_id;
UPDATE components c
SET status = l.new_status, status_source = l.source, status_changed_at = l.at,
    in_maintenance = l.source = 'maintenance'
FROM (SELECT DISTINCT ON (component_id) component_id, new_status, source, at
      FROM component_status_changes ORDER BY component_id, at DESC, id DESC) l
WHERE c.id = l.component_id;

-- Resolved status incidents, written by an operator: the longest major
-- outage of each 10-day stretch of the last 90 days, with its timeline;
-- the latest one has a postmortem.
CREATE TABLE bench_incidents AS
SELECT DISTINCT ON (bucket) gen_random_uuid() AS id, s.component_id, c.name, s.starts, s.ends
FROM (SELECT *, floor(extract(epoch FROM '$ANCHOR'::timestamptz - starts) / 864000)::int AS bucket
      FROM bench_spells WHERE status = 'major_outage' AND starts > '$ANCHOR'::timestamptz - interval '90 days') s
JOIN bench_components c ON c.id = s.component_id
ORDER BY bucket, s.ends - s.starts DESC, s.starts;
INSERT INTO status_incidents (id, name, impact, status, started_at, resolved_at, created_at, updated_at)
SELECT id, name || ' unavailable', 'major', 'resolved', starts, ends,
    starts + (ends - starts) * 0.1, ends
FROM bench_incidents;
INSERT INTO status_incident_components (incident_id, component_id)
SELECT id, component_id FROM bench_incidents;
INSERT INTO status_incident_updates (id, incident_id, status, body, created_at, display_at)
SELECT gen_random_uuid(), i.id, u.status, format(u.body, i.name), i.starts + (i.ends - i.starts) * u.at,
    i.starts + (i.ends - i.starts) * u.at
FROM bench_incidents i
CROSS JOIN (VALUES
    ('investigating', 0.1, 'We are investigating failures of %s.'),
    ('identified', 0.4, 'We found the cause, a failed deployment of %s, and are rolling it back.'),
    ('monitoring', 0.7, 'The rollback is complete; we are watching %s recover.'),
    ('resolved', 1.0, '%s is operating normally again.')) AS u(status, at, body);
WITH latest AS (SELECT * FROM bench_incidents ORDER BY starts DESC LIMIT 1),
postmortem AS (
    UPDATE status_incidents si SET status = 'postmortem',
        postmortem = 'A configuration change reached every instance at once; changes now roll out in stages.'
    FROM latest WHERE si.id = latest.id RETURNING si.id)
INSERT INTO status_incident_updates (id, incident_id, status, body, created_at, display_at)
SELECT gen_random_uuid(), l.id, 'postmortem',
    'A configuration change reached every instance at once; changes now roll out in stages.',
    least(l.ends + interval '2 hours', '$ANCHOR'), least(l.ends + interval '2 hours', '$ANCHOR')
FROM latest l JOIN postmortem p ON p.id = l.id;
COMMIT;
VACUUM (ANALYZE);
SQL

bulk -F $'\t' <<SQL | while IFS=$'\t' read -r line; do log "  $line"; done
SELECT format('components: %s (%s groups of %s, %s plain), created %s; %s monitors (one per component that is not a group, all up)',
    count(*), count(*) FILTER (WHERE is_group), $CHILDREN, count(*) FILTER (WHERE NOT is_group AND group_n IS NULL),
    '$CREATED', count(monitor_id))
FROM bench_components;
SELECT format('history: %s status changes, %s within the last 90 days; %s flaky components average %s changes a day, the others %s',
    (SELECT count(*) FROM component_status_changes),
    (SELECT count(*) FROM component_status_changes WHERE at > '$ANCHOR'::timestamptz - interval '90 days'),
    count(*) FILTER (WHERE flaky),
    round(avg(changes) FILTER (WHERE flaky) / $AGE_DAYS, 1), round(avg(changes) FILTER (WHERE NOT flaky AND NOT is_group) / $AGE_DAYS, 2))
FROM (SELECT c.flaky, c.is_group, (SELECT count(*) FROM component_status_changes h WHERE h.component_id = c.id) AS changes
      FROM bench_components c) s;
SELECT format('spells: %s partial outages, %s major outages, %s degraded, %s maintenance',
    count(*) FILTER (WHERE status = 'partial_outage'), count(*) FILTER (WHERE status = 'major_outage'),
    count(*) FILTER (WHERE status = 'degraded_performance'), count(*) FILTER (WHERE status = 'under_maintenance'))
FROM bench_spells;
SELECT format('status incidents: %s resolved (%s updates); maintenance windows: %s (%s occurrences)',
    (SELECT count(*) FROM status_incidents), (SELECT count(*) FROM status_incident_updates),
    (SELECT count(*) FROM maintenance_windows), (SELECT count(*) FROM maintenance_occurrences));
SQL
log "dataset built in $(secs_since "$build_start") s (database $DB, dropped and rebuilt every run)"

# -------------------------------------------------------------------- API --

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
api_env "$PORT"
env "${API_ENV[@]}" "$BIN" >"$OUT/api.log" 2>&1 &
API_PID=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "$BASE/health" 2>/dev/null && break
  kill -0 "$API_PID" 2>/dev/null || { tail -20 "$OUT/api.log" >&2; die "uptime-api exited (log: $OUT/api.log)"; }
  sleep 0.2
done
curl -fsS -o /dev/null "$BASE/health" || die "uptime-api did not become healthy on :$PORT (log: $OUT/api.log)"
rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$API_PID/status" 2>/dev/null || echo 0; }
hwm_kib() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$API_PID/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
IDLE_RSS=$(rss_kib)
log "API (release) on :$PORT, pid $API_PID, log $OUT/api.log; RSS $(mib "$IDLE_RSS") MiB"

api() { # method path [json]
  local args=(-fsS -X "$1" -H "Authorization: Bearer $BOOTSTRAP_KEY")
  [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
  curl "${args[@]}" "$BASE$2" || die "$1 $2 failed${3:+: $3}"
}
READ_KEY=$(api POST /api/v1/api-keys '{"name":"bench-status","scopes":["read"]}' | jq -r .key)
[ -n "$READ_KEY" ] && [ "$READ_KEY" != null ] || die "creating the read key failed"
MONITOR_ID=$(bulk -c "SELECT monitor_id FROM bench_components WHERE NOT is_group ORDER BY n LIMIT 1")

ids() { bulk -c "SELECT coalesce(json_agg(id ORDER BY n), '[]') FROM bench_components WHERE $1"; }
PLAIN_FROM=$((GROUPS_ + GROUPS_ * CHILDREN))
PAGE_JSON=$(jq -n --arg slug "$SLUG" \
  --argjson core "$(ids "is_group AND n <= 4")" --argjson platform "$(ids "is_group AND n BETWEEN 5 AND 8")" \
  --argjson regions "$(ids "is_group AND n > 8")" --argjson other "$(ids "n > $PLAIN_FROM")" \
  '{slug: $slug, title: "Bench status", description: "Every service we run, as our users see it.",
    homepageUrl: "https://status-bench.example", published: true, uptimeDays: 90, historyDays: 14,
    footerText: "Questions: ops@status-bench.example",
    sections: [{name: "Core services", componentIds: $core}, {name: "Platform", componentIds: $platform},
               {name: "Regions", componentIds: $regions}, {name: "Other services", componentIds: $other}]}')
api POST /api/v1/status-pages "$PAGE_JSON" >/dev/null
# An open incident, with an override on one component, and its second update.
GATEWAY=$(bulk -c "SELECT id FROM bench_components WHERE name = 'Payments gateway'")
STARTED=$(date -u -d '25 minutes ago' +%Y-%m-%dT%H:%M:%SZ)
INCIDENT_ID=$(api POST /api/v1/status-incidents "$(jq -n --arg c "$GATEWAY" --arg at "$STARTED" \
  '{name: "Card payments failing for some customers", startedAt: $at, componentIds: [$c],
    componentStatuses: {($c): "partial_outage"},
    body: "Some card payments fail at checkout. We are investigating."}')" | jq -r .id)
api POST "/api/v1/status-incidents/$INCIDENT_ID/updates" \
  '{"status":"identified","body":"A card network is rejecting part of our traffic; we are rerouting it."}' >/dev/null
STORAGE=$(bulk -c "SELECT id FROM bench_components WHERE name = 'Storage'")
api POST /api/v1/maintenance-windows "$(jq -n --arg c "$STORAGE" \
  --arg from "$(date -u -d '+3 days' +%Y-%m-%dT01:00:00Z)" --arg to "$(date -u -d '+3 days' +%Y-%m-%dT03:00:00Z)" \
  '{title: "Storage cluster upgrade", description: "Uploads may be slow for a few minutes.",
    componentIds: [$c], startsAt: $from, endsAt: $to}')" >/dev/null
log "through the API: page /status/$SLUG (4 sections, uptimeDays 90), an open incident, an upcoming maintenance window"

# The snapshot is rebuilt on NOTIFY: wait until it shows all of the above.
PAGE_PATH="/status/$SLUG"
SUMMARY_PATH="/status/$SLUG/api/v2/summary.json"
ready=""
for _ in $(seq 1 100); do
  summary=$(curl -fsS "$BASE$SUMMARY_PATH" 2>/dev/null) &&
    [ "$(jq '[(.components | length), (.incidents | length)] == ['"$COMPONENTS"', 1]' <<<"$summary")" = true ] &&
    { ready=1; break; }
  sleep 0.2
done
[ -n "$ready" ] || die "the snapshot of $PAGE_PATH did not show $COMPONENTS components and the open incident (log: $OUT/api.log)"

# One request of each kind first: answers 200 and says what it returns.
curl -fsS -D "$OUT/page-headers.txt" -o "$OUT/page.html" "$BASE$PAGE_PATH" || die "GET $PAGE_PATH failed"
missing=0
while IFS= read -r name; do
  grep -qF "$name" "$OUT/page.html" || { log "  the page does not name '$name'"; missing=$((missing + 1)); }
done < <(bulk -c "SELECT name FROM bench_components ORDER BY n")
[ "$missing" = 0 ] || die "$missing of $COMPONENTS component names are missing from $PAGE_PATH ($OUT/page.html)"
ETAG=$(awk -F': ' 'tolower($1) == "etag" { sub(/\r$/, "", $2); print $2 }' "$OUT/page-headers.txt")
[ -n "$ETAG" ] || die "GET $PAGE_PATH sent no ETag"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$BASE$PAGE_PATH")" = 304 ] ||
  log "  note: If-None-Match with the ETag just received did not answer 304 (a rebuild in between?)"
log "probe $PAGE_PATH: $(wc -c <"$OUT/page.html") bytes, names all $COMPONENTS components, ETag $ETAG"
curl -fsS -o "$OUT/summary.json" "$BASE$SUMMARY_PATH" || die "GET $SUMMARY_PATH failed"
log "probe summary.json: $(wc -c <"$OUT/summary.json") bytes, $(jq -c '{status: .status.indicator,
  components: (.components | length), incidents: (.incidents | length),
  maintenances: (.scheduled_maintenances | length)}' "$OUT/summary.json")"
log "probe single monitor: $(curl -fsS -H "Authorization: Bearer $READ_KEY" "$BASE/api/v1/monitors/$MONITOR_ID" | wc -c) bytes"
sleep 6 # past a rebuild (every 5 s): is the page's ETag the same?
etag2=$(curl -fsS -D - -o /dev/null "$BASE$PAGE_PATH" | awk -F': ' 'tolower($1) == "etag" { sub(/\r$/, "", $2); print $2 }')
summary_etag() { curl -fsS -D - -o /dev/null "$BASE$SUMMARY_PATH" | awk -F': ' 'tolower($1) == "etag" { sub(/\r$/, "", $2); print $2 }'; }
if [ "$etag2" = "$ETAG" ]; then
  log "  the page's ETag held across a snapshot rebuild"
else
  log "  the page's ETag changed across a snapshot rebuild with nothing changed ($ETAG -> $etag2)"
fi

# wrk scripts: paths taken in turn (the soak), and a conditional GET that
# follows the ETag as the page changes, counting 304s.
cat >"$OUT/paths.lua" <<'LUA'
local paths, i = {}, 0
function init(args)
  for _, path in ipairs(args) do paths[#paths + 1] = path end
end
function request()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end
LUA
cat >"$OUT/if-none-match.lua" <<'LUA'
local threads = {}
function setup(thread) threads[#threads + 1] = thread end
function init(args) etag, not_modified, full = args[1], 0, 0 end
function request() return wrk.format(nil, nil, { ["If-None-Match"] = etag }) end
function response(status, headers, body)
  if status == 304 then
    not_modified = not_modified + 1
  else
    full = full + 1
    etag = headers["etag"] or headers["ETag"] or etag
  end
end
function done(summary, latency, requests)
  local nm, all = 0, 0
  for _, thread in ipairs(threads) do
    nm = nm + thread:get("not_modified")
    all = all + thread:get("not_modified") + thread:get("full")
  end
  io.write(string.format("304 responses: %d of %d\n", nm, all))
end
LUA

to_ms() { # wrk latency (12.34us / 1.2ms / 1.02s / 1.5m) -> ms
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : -1
    if (f < 0) { print "?" } else { printf "%.2f", n * f }
  }'
}

FAILED=0
ROWS=()
declare -A RPS=()
# Reads one wrk output file into a table row (and RPS[label]).
row() { # label file seconds
  local label=$1 file=$2 rps p50 p99 max non2xx errors requests
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$file")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$file")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$file")")
  max=$(to_ms "$(awk '$1 == "Latency" { print $4; exit }' "$file")")
  requests=$(awk '/ requests in / { print $1 }' "$file")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$file")
  errors=$(awk '/Socket errors:/ { n = 0; for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n }' "$file")
  non2xx=${non2xx:-0}; errors=${errors:-0}
  if [ -z "$rps" ] || [ "$non2xx" != 0 ] || [ "$errors" != 0 ]; then FAILED=1; fi
  RPS[$label]=${rps:-0}
  ROWS+=("$(printf '%-40s %7s %6s %10s %9s %9s %9s %8s %7s %10s' "$label" "$THREADS/$CONNECTIONS" "$3" \
    "$rps" "$p50" "$p99" "$max" "$non2xx" "$errors" "$requests")")
  printf '  %s\n' "${ROWS[-1]}"
}
bench() { # label path header-or-empty [lua-script lua-args...]
  local label=$1 path=$2 header=$3; shift 3
  local file="$OUT/wrk-$(tr -c 'a-z0-9' '-' <<<"${label,,}" | tr -s '-' | sed 's/^-//; s/-$//').txt"
  local args=(--latency -t "$THREADS" -c "$CONNECTIONS") extra=()
  [ -z "$header" ] || args+=(-H "$header")
  if [ $# -gt 0 ]; then args+=(-s "$1"); shift; extra=(-- "$@"); fi
  if [ "$WARMUP" -gt 0 ]; then
    wrk "${args[@]}" -d "${WARMUP}s" "$BASE$path" "${extra[@]}" >/dev/null
  fi
  wrk "${args[@]}" -d "${SECONDS_}s" "$BASE$path" "${extra[@]}" >"$file"
  row "$label" "$file" "$SECONDS_"
}

log "wrk: ${THREADS} threads and ${CONNECTIONS} connections, ${SECONDS_} s per endpoint (after ${WARMUP} s warm-up); raw output in $OUT"
HEADER=$(printf '%-40s %7s %6s %10s %9s %9s %9s %8s %7s %10s' endpoint "wrk t/c" "secs" "req/s" "p50 ms" "p99 ms" "max ms" "non-2xx" errors requests)
printf '  %s\n' "$HEADER"
SINGLE="GET /api/v1/monitors/{id}"
bench "$SINGLE" "/api/v1/monitors/$MONITOR_ID" "Authorization: Bearer $READ_KEY"
bench "GET /status/{slug}/api/v2/summary.json" "$SUMMARY_PATH" ""
bench "GET /status/{slug} (HTML)" "$PAGE_PATH" ""
# What browsers and CDNs ask for: the body gzipped once per snapshot.
bench "GET /status/{slug} (HTML, gzip)" "$PAGE_PATH" "Accept-Encoding: gzip"
bench "GET .../summary.json (gzip)" "$SUMMARY_PATH" "Accept-Encoding: gzip"
bench "GET /status/{slug}, If-None-Match" "$PAGE_PATH" "" "$OUT/if-none-match.lua" "$ETAG"
NOT_MODIFIED=$(awk '/^304 responses:/ { print $3 " of " $5 }' "$OUT/wrk-get-status-slug-if-none-match.txt")

ratio() { awk -v a="${RPS[$1]}" -v b="${RPS[$SINGLE]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'; }
RATIOS=("req/s over the single-monitor GET's (goal: at least 2):"
  "  summary.json      $(ratio "GET /status/{slug}/api/v2/summary.json")"
  "  HTML page         $(ratio "GET /status/{slug} (HTML)")"
  "  HTML page, gzip   $(ratio "GET /status/{slug} (HTML, gzip)")"
  "  summary.json, gzip $(ratio "GET .../summary.json (gzip)")"
  "  HTML, conditional $(ratio "GET /status/{slug}, If-None-Match") (304 for ${NOT_MODIFIED:-?} requests)")
printf '  %s\n' "${RATIOS[@]}"

# ------------------------------------------------------------------- soak --

RSS_LINES=()
if [ "$SOAK" -gt 0 ]; then
  SOAK_WARMUP=$((SOAK / 4 < 60 ? SOAK / 4 : 60))
  log "soak: ${SOAK} s of wrk (${THREADS}/${CONNECTIONS}) alternating summary.json and the HTML page; API RSS every ${SAMPLE} s into $OUT/soak-rss.txt"
  echo "# seconds VmRSS_KiB" >"$OUT/soak-rss.txt"
  t0=$EPOCHREALTIME
  echo "0 $(rss_kib)" >>"$OUT/soak-rss.txt"
  wrk --latency -t "$THREADS" -c "$CONNECTIONS" -d "${SOAK}s" -s "$OUT/paths.lua" "$BASE" \
    -- "$SUMMARY_PATH" "$PAGE_PATH" >"$OUT/wrk-soak.txt" &
  WRK_PID=$!
  next=$SAMPLE
  while kill -0 "$WRK_PID" 2>/dev/null; do
    sleep 1
    elapsed=$(secs_since "$t0")
    if awk -v e="$elapsed" -v n="$next" 'BEGIN { exit !(e >= n) }'; then
      kill -0 "$WRK_PID" 2>/dev/null && echo "$elapsed $(rss_kib)" >>"$OUT/soak-rss.txt"
      next=$((next + SAMPLE))
    fi
  done
  wait "$WRK_PID" || die "wrk (soak) failed; see $OUT/wrk-soak.txt"
  WRK_PID=""
  echo "$(secs_since "$t0") $(rss_kib)" >>"$OUT/soak-rss.txt"
  row "soak: summary.json + HTML, in turn" "$OUT/wrk-soak.txt" "$SOAK"
  # Start, the first sample after the warm-up, end, max; the least-squares
  # slope over the second half, in MiB per minute.
  mapfile -t RSS_LINES < <(awk -v warm="$SOAK_WARMUP" -v half="$((SOAK / 2))" -v hwm="$(hwm_kib)" -v idle="$IDLE_RSS" '
    BEGIN { n = 0 }
    /^#/ { next }
    { t[n] = $1; r[n] = $2 / 1024; n++ }
    END {
      max = 0; warm_i = -1
      for (i = 0; i < n; i++) { if (r[i] > max) max = r[i]; if (warm_i < 0 && t[i] >= warm) warm_i = i }
      if (warm_i < 0) warm_i = n - 1
      sx = sy = sxx = sxy = m = 0
      for (i = 0; i < n; i++) if (t[i] >= half) { x = t[i] / 60; sx += x; sy += r[i]; sxx += x * x; sxy += x * r[i]; m++ }
      slope = (m > 1 && m * sxx - sx * sx > 0) ? (m * sxy - sx * sy) / (m * sxx - sx * sx) : 0
      printf "API RSS (MiB): idle after start %.1f; soak start %.1f, after warm-up (%d s) %.1f, end %.1f, max sampled %.1f (VmHWM %.1f); %d samples\n",
        idle / 1024, r[0], t[warm_i], r[warm_i], r[n - 1], max, hwm / 1024, n
      printf "slope over the second half (%d samples from %d s): %+.3f MiB per minute\n", m, half, slope
    }' "$OUT/soak-rss.txt")
  printf '  %s\n' "${RSS_LINES[@]}"
fi

API_LOG_LINES=$(grep -c . "$OUT/api.log" || true)
log "API log: $API_LOG_LINES line(s) at warn or above in $OUT/api.log"
stop_api

# ------------------------------------------------------------- page build --

log "snapshot build (build_all), the API stopped; $PAGE_BUILD_BIN, BENCH_PAGE_BUILD_RUNS=$RUNS:"
BUILD_OUT=$(env DATABASE_URL="postgres://$DB_ROLE:$DB_ROLE@$PG_HOST:$PG_PORT/$DB" BENCH_PAGE_BUILD_RUNS="$RUNS" \
  "$PAGE_BUILD_BIN") || die "page_build failed"
printf '%s\n' "$BUILD_OUT"

{
  echo
  echo "Results ($(date -u +%Y-%m-%dT%H:%MZ), $DB: $PARAMS; DATABASE_POOL_SIZE=$POOL; wrk -d${SECONDS_}s, soak ${SOAK} s):"
  printf '  %s\n' "$HEADER" "${ROWS[@]}" "${RATIOS[@]}"
  [ ${#RSS_LINES[@]} -eq 0 ] || printf '  %s\n' "${RSS_LINES[@]}"
  printf '%s\n' "$BUILD_OUT"
  echo "  load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/results.txt"

if [ "$FAILED" != 0 ]; then
  die "some requests failed (non-2xx responses or socket errors above; raw output in $OUT)"
fi
