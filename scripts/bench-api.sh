#!/usr/bin/env bash
# Read-path benchmark of the API (`make bench-api`, see BENCHMARKS.md).
#
# 1. Builds, once, a dataset in its own database (uptime_bench, owned by
#    `uptime`): 10,000 HTTP monitors, 1,000 check results per monitor over the
#    last 30 days (10 M rows in daily partitions), a year of hourly and daily
#    rollups per monitor (87.6 M + 3.65 M rows), incidents and the rollup
#    watermarks. Every step commits with a marker row in `bench_meta`, so an
#    interrupted build resumes where it stopped and a complete one is reused.
#    BENCH_API_REBUILD=1 drops the database and builds it again.
# 2. Starts the release API against it, creates a read-scoped key.
# 3. Runs wrk against five read endpoints and prints req/s, p50, p99, max,
#    non-2xx responses (any non-2xx or socket error fails the script), the
#    API's major page faults and the MiB Postgres read from disk during it.
# 4. Times the endpoints' SQL once each with EXPLAIN (ANALYZE, BUFFERS).
#
# Knobs: BENCH_API_SECONDS (15), BENCH_API_THREADS (2), BENCH_API_CONNECTIONS
# (32), BENCH_API_LIGHT_CONNECTIONS (4: the second, one-thread pass; 0 skips
# it), BENCH_API_POOL (4: the API's DATABASE_POOL_SIZE; about two per core
# is right when Postgres shares the machine, see BENCHMARKS.md), BENCH_API_WARMUP (3, seconds of unreported wrk warm-up per endpoint),
# BENCH_API_REBUILD (0), BENCH_API_DB (uptime_bench), BENCH_API_MONITORS
# (10000; a smaller count is for trying the script out), BENCH_API_BIN
# (target/release/uptime-api), BENCH_API_OUT (target/bench-api: raw wrk output,
# query plans, API log).
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

SECONDS_=${BENCH_API_SECONDS:-15}
THREADS=${BENCH_API_THREADS:-2}
CONNECTIONS=${BENCH_API_CONNECTIONS:-32}
LIGHT_CONNECTIONS=${BENCH_API_LIGHT_CONNECTIONS:-4}
POOL=${BENCH_API_POOL:-4}
WARMUP=${BENCH_API_WARMUP:-3}
REBUILD=${BENCH_API_REBUILD:-0}
DB=${BENCH_API_DB:-uptime_bench}
MONITORS=${BENCH_API_MONITORS:-10000}
BIN=${BENCH_API_BIN:-target/release/uptime-api}
OUT=${BENCH_API_OUT:-target/bench-api}

PG_HOST=127.0.0.1
PG_PORT=5432
DB_ROLE=uptime
REDIS_URL_=redis://127.0.0.1:6379/0
REDIS_PREFIX=benchapi:

# Shape of the dataset (recorded in bench_meta; a reused dataset must match).
RESULTS_PER_MONITOR=1000 # one every RESULT_SPACING_MIN minutes
RESULT_SPACING_MIN=43    # 1,000 x 43 min = 29.9 days
RESULT_BATCHES=10        # of RESULTS_PER_MONITOR / RESULT_BATCHES slots, all monitors
HOURLY_BUCKETS=8760      # a year of hours
DAILY_BUCKETS=365
MONITOR_BATCH=1000       # monitors per rollup statement
INCIDENTS_PER_MONITOR=6  # resolved ones over the year; every 50th monitor also has an open one
PARAMS="monitors=$MONITORS results=$RESULTS_PER_MONITOR/${RESULT_SPACING_MIN}min hourly=$HOURLY_BUCKETS daily=$DAILY_BUCKETS batch=$MONITOR_BATCH incidents=$INCIDENTS_PER_MONITOR"

log() { printf 'bench-api: %s\n' "$*"; }
die() { printf 'bench-api: %s\n' "$*" >&2; exit 1; }

command -v psql >/dev/null 2>&1 || die "psql not found (apt-get install postgresql-client)"
command -v wrk >/dev/null 2>&1 || die "wrk not found (apt-get install wrk)"
command -v curl >/dev/null 2>&1 || die "curl not found"
command -v jq >/dev/null 2>&1 || die "jq not found (apt-get install jq)"
command -v python3 >/dev/null 2>&1 || die "python3 not found"
[ -x "$BIN" ] || die "$BIN not found or not executable (build it: cargo build --release --bin uptime-api)"
[[ "$DB" =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_API_DB must be a plain lower-case identifier, got '$DB'"
[[ "$MONITORS" =~ ^[0-9]+$ ]] && [ "$MONITORS" -ge 1 ] || die "BENCH_API_MONITORS must be a positive integer"
for knob in SECONDS_ THREADS CONNECTIONS LIGHT_CONNECTIONS WARMUP POOL; do
  [[ "${!knob}" =~ ^[0-9]+$ ]] || die "BENCH_API_${knob%_} must be a non-negative integer"
done
[ "$THREADS" -ge 1 ] && [ "$CONNECTIONS" -ge "$THREADS" ] ||
  die "BENCH_API_CONNECTIONS ($CONNECTIONS) must be at least BENCH_API_THREADS ($THREADS), which must be at least 1"
pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null || die "PostgreSQL is not answering on $PG_HOST:$PG_PORT (make services)"

mkdir -p "$OUT"
export PGTZ=UTC PGAPPNAME=bench-api

# Superuser sessions: create the database, bulk-load (foreign-key triggers
# off with session_replication_role: every id comes from `monitors`), vacuum.
admin() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres "$@"; }
bulk() {
  PGOPTIONS="-c synchronous_commit=off -c session_replication_role=replica -c work_mem=64MB -c maintenance_work_mem=1GB" \
    psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$DB" "$@"
}
# The API's own role, for the query timings.
asapp() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$DB_ROLE" -d "$DB" "$@"; }

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

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
BASE=""
READ_KEY_ID=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$API_PID" ] && kill -0 "$API_PID" 2>/dev/null; then
    # Revoke this run's key so reruns do not pile up live keys.
    if [ -n "$READ_KEY_ID" ] && [ "$READ_KEY_ID" != null ]; then
      curl -fsS -o /dev/null -X DELETE -H "Authorization: Bearer $BOOTSTRAP_KEY" \
        "$BASE/api/v1/api-keys/$READ_KEY_ID" 2>/dev/null || true
    fi
    kill -TERM "$API_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$API_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- dataset --

db_exists() { [ "$(admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" = 1 ]; }
meta() { bulk -c "SELECT value FROM bench_meta WHERE key = '$1'" 2>/dev/null || true; }
done_step() { [ -n "$(meta "done:$1")" ]; }

if [ "$REBUILD" = 1 ] && db_exists; then
  log "BENCH_API_REBUILD=1: dropping database $DB"
  admin -c "DROP DATABASE $DB WITH (FORCE)"
fi
if ! db_exists; then
  log "creating database $DB owned by $DB_ROLE"
  admin -c "CREATE DATABASE $DB OWNER $DB_ROLE"
fi

if [ -n "$(meta complete)" ]; then
  [ "$(meta params)" = "$PARAMS" ] ||
    die "dataset in $DB was built with '$(meta params)', not '$PARAMS'; rerun with BENCH_API_REBUILD=1"
  log "reusing the dataset in $DB (built $(meta complete); BENCH_API_REBUILD=1 rebuilds)"
  log "  its newest results and rollups are of $(meta anchor), $(bulk -c "SELECT date_trunc('minute', now() - '$(meta anchor)'::timestamptz)") ago"
else
  build_start=$EPOCHREALTIME
  log "building the dataset in $DB ($PARAMS); interrupted builds resume"

  t0=$EPOCHREALTIME
  api_env "$(free_port)"
  env "${API_ENV[@]}" "$BIN" migrate >"$OUT/migrate.log" 2>&1 ||
    { cat "$OUT/migrate.log" >&2; die "uptime-api migrate failed"; }
  log "  migrations (uptime-api migrate): $(secs_since "$t0") s"

  bulk <<SQL
CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text NOT NULL);
ALTER TABLE bench_meta OWNER TO $DB_ROLE;
INSERT INTO bench_meta (key, value) VALUES
    ('params', '$PARAMS'),
    ('anchor', date_trunc('minute', now())::text)
ON CONFLICT (key) DO NOTHING;
SQL
  [ "$(meta params)" = "$PARAMS" ] ||
    die "a partial dataset in $DB has '$(meta params)', not '$PARAMS'; rerun with BENCH_API_REBUILD=1"
  # Every timestamp of the dataset is relative to the anchor (the first
  # build's start), so a resumed build stays consistent.
  ANCHOR=$(meta anchor)
  HOURLY_THROUGH=$(bulk -c "SELECT date_trunc('hour', '$ANCHOR'::timestamptz) - interval '1 hour'")
  DAILY_THROUGH=$(bulk -c "SELECT date_trunc('day', '$ANCHOR'::timestamptz)")
  log "  anchor $ANCHOR; hourly rollups through $HOURLY_THROUGH, daily through $DAILY_THROUGH"

  # Runs $3 (SQL) in one transaction with the step's marker row, which
  # records how long the transaction took, and prints "label: seconds";
  # skips the steps done before.
  step() {
    local key=$1 label=$2 sql=$3
    if done_step "$key"; then
      log "  $label: done before ($(meta "done:$key") s)"
      return
    fi
    bulk <<SQL
BEGIN;
$sql;
INSERT INTO bench_meta (key, value)
    VALUES ('done:$key', round(extract(epoch FROM clock_timestamp() - transaction_timestamp()), 1)::text);
COMMIT;
SQL
    log "  $label: $(meta "done:$key") s"
  }
  fmt() { sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$1"; }

  t0=$EPOCHREALTIME
  created=$(bulk -c "SELECT uptime_ensure_check_result_partitions(
      ('$ANCHOR'::timestamptz AT TIME ZONE 'UTC')::date - 31, (now() AT TIME ZONE 'UTC')::date + 7)")
  log "  check_results partitions: $created created in $(secs_since "$t0") s"

  # Monitors, numbered 1..N in id order so that every batch below appends at
  # the right end of the (monitor_id, ...) primary keys.
  step monitors "monitors ($(fmt "$MONITORS"))" "
CREATE TABLE bench_monitor_ids (n integer PRIMARY KEY, id uuid NOT NULL UNIQUE);
ALTER TABLE bench_monitor_ids OWNER TO $DB_ROLE;
INSERT INTO bench_monitor_ids (n, id)
    SELECT row_number() OVER (ORDER BY id), id
    FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $MONITORS)) g;
INSERT INTO monitors (id, name, type, target, method, expected_status, follow_redirects,
        timeout_seconds, interval_seconds, failure_threshold, recovery_threshold, enabled, tags,
        status, last_checked_at, last_slot, consecutive_failures, consecutive_successes,
        failing_since, first_failure_error, last_error, created_at, updated_at)
    SELECT id, 'bench monitor ' || n, 'http', 'https://example.com/' || n, 'GET', '\"2xx\"'::jsonb, false,
        10, 60, 3, 1, true, ARRAY['bench', 'team-' || (n % 10)],
        CASE WHEN n % 50 = 0 THEN 'down' WHEN n % 50 = 25 THEN 'degraded' ELSE 'up' END,
        last_slot, last_slot,
        CASE WHEN n % 50 = 0 THEN 5 ELSE 0 END, CASE WHEN n % 50 = 0 THEN 0 ELSE 100 END,
        CASE WHEN n % 50 = 0 THEN open_since END,
        CASE WHEN n % 50 = 0 THEN 'request timed out after 10s' END,
        CASE WHEN n % 50 = 0 THEN 'request timed out after 10s' END,
        '$ANCHOR'::timestamptz - interval '400 days' + n * interval '1 second',
        '$ANCHOR'::timestamptz - interval '1 day'
    FROM (SELECT n, id,
              '$ANCHOR'::timestamptz - make_interval(mins => n % $RESULT_SPACING_MIN) AS last_slot,
              '$ANCHOR'::timestamptz - make_interval(mins => 5 + (n / 50) % 120) AS open_since
          FROM bench_monitor_ids) b
    ORDER BY n"

  # Raw results, oldest first across all monitors (as a worker writes them):
  # mostly up, 1% down (timeouts), 2% degraded (slow); the monitors with an
  # open incident are down since it opened.
  for ((b = RESULT_BATCHES - 1; b >= 0; b--)); do
    per=$((RESULTS_PER_MONITOR / RESULT_BATCHES))
    k_lo=$((b * per)); k_hi=$((k_lo + per - 1))
    step "results:$b" "check_results batch $((RESULT_BATCHES - b))/$RESULT_BATCHES ($(fmt $((per * MONITORS))) rows)" "
INSERT INTO check_results (monitor_id, slot_ts, checked_at, worker_id, status, status_code, error,
        dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms, details)
SELECT ids.a[x.n], x.slot, x.slot, 'bench-worker-' || (x.n % 4), x.status,
    CASE WHEN x.status = 'down' THEN NULL ELSE 200 END,
    CASE WHEN x.status = 'down' THEN 'request timed out after 10s' END,
    CASE WHEN x.status = 'down' THEN NULL ELSE x.dns END::real,
    CASE WHEN x.status = 'down' THEN NULL ELSE x.conn END::real,
    CASE WHEN x.status = 'down' THEN NULL ELSE x.tls END::real,
    CASE WHEN x.status = 'down' THEN NULL ELSE x.ttfb END::real,
    CASE x.status WHEN 'down' THEN 10000 + x.tail * 5
                  WHEN 'degraded' THEN 1500 + x.dns + x.conn + x.tls + x.ttfb + x.tail
                  ELSE x.dns + x.conn + x.tls + x.ttfb + 1 END::real,
    CASE WHEN x.status = 'down' THEN NULL
         ELSE '{\"bodyBytes\": 1256, \"remoteAddr\": \"93.184.215.14:443\"}'::jsonb END
FROM (
    SELECT r.n, r.slot, r.dns, r.conn, r.tls, r.ttfb, r.tail,
        CASE WHEN r.n % 50 = 0 AND r.age_min < 5 + (r.n / 50) % 120 THEN 'down'
             WHEN r.r < 0.01 THEN 'down' WHEN r.r < 0.03 THEN 'degraded' ELSE 'up' END AS status
    FROM (
        SELECT m.n, k.k * $RESULT_SPACING_MIN + m.n % $RESULT_SPACING_MIN AS age_min,
            '$ANCHOR'::timestamptz - make_interval(mins => k.k * $RESULT_SPACING_MIN + m.n % $RESULT_SPACING_MIN) AS slot,
            random() AS r, 0.5 + random() * 15 AS dns, 2 + random() * 30 AS conn,
            5 + random() * 50 AS tls, 20 + random() * 150 + power(random(), 8) * 3000 AS ttfb,
            random() * 1000 AS tail
        FROM generate_series($k_hi, $k_lo, -1) AS k(k)
        CROSS JOIN LATERAL generate_series(1 + 0 * k.k, $MONITORS) AS m(n)
    ) r
) x
CROSS JOIN (SELECT array_agg(id ORDER BY n) AS a FROM bench_monitor_ids) ids"
  done

  # Rollups: per batch of monitors, oldest bucket first, so a monitor's rows
  # are spread over the table as the hourly job writes them.
  rollup_sql() { # table through width buckets checks down_p degraded_p lo hi
    local table=$1 through=$2 width=$3 buckets=$4 checks=$5 down_p=$6 degraded_p=$7 lo=$8 hi=$9
    cat <<SQL
INSERT INTO $table (monitor_id, bucket, checks, up, down, degraded, latency_sum_ms,
        latency_p50_ms, latency_p95_ms, latency_max_ms)
SELECT ids.a[x.n], x.bucket, $checks, $checks - x.down - x.degraded, x.down, x.degraded,
    x.avg_ms * $checks, (x.avg_ms * 0.9)::real, (x.avg_ms * 1.9)::real, (x.avg_ms * 3 + x.spike)::real
FROM (
    SELECT m.n, '$through'::timestamptz - (b.i + 1) * interval '1 $width' AS bucket,
        CASE WHEN random() < $down_p THEN 1 + floor(random() * $checks * 0.05)::int ELSE 0 END AS down,
        CASE WHEN random() < $degraded_p THEN 1 + floor(random() * $checks * 0.05)::int ELSE 0 END AS degraded,
        60 + m.n % 200 + random() * 40 AS avg_ms, random() * 2000 AS spike
    FROM generate_series($((buckets - 1)), 0, -1) AS b(i)
    CROSS JOIN LATERAL generate_series($lo + 0 * b.i, $hi) AS m(n)
) x
CROSS JOIN (SELECT array_agg(id ORDER BY n) AS a FROM bench_monitor_ids) ids
SQL
  }
  batches=$(((MONITORS + MONITOR_BATCH - 1) / MONITOR_BATCH))
  for kind in hourly daily; do
    for ((b = 0; b < batches; b++)); do
      lo=$((b * MONITOR_BATCH + 1)); hi=$(((b + 1) * MONITOR_BATCH)); ((hi > MONITORS)) && hi=$MONITORS
      if [ "$kind" = hourly ]; then
        sql=$(rollup_sql check_rollups_hourly "$HOURLY_THROUGH" hour "$HOURLY_BUCKETS" 60 0.02 0.03 "$lo" "$hi")
        rows=$(((hi - lo + 1) * HOURLY_BUCKETS))
      else
        sql=$(rollup_sql check_rollups_daily "$DAILY_THROUGH" day "$DAILY_BUCKETS" 1440 0.05 0.1 "$lo" "$hi")
        rows=$(((hi - lo + 1) * DAILY_BUCKETS))
      fi
      step "$kind:$b" "check_rollups_$kind batch $((b + 1))/$batches (monitors $lo-$hi, $(fmt "$rows") rows)" "$sql"
    done
  done

  # Resolved incidents spread over the year, and the open ones of the monitors
  # that are down (every 50th).
  step incidents "incidents" "
INSERT INTO incidents (id, monitor_id, started_at, resolved_at, first_error, last_error,
        failure_count, opened_slot, resolved_slot)
SELECT gen_random_uuid(), id, started, started + dur, 'request timed out after 10s',
    'request timed out after 10s', extract(epoch FROM dur)::int / 60,
    started + interval '2 minutes', started + dur
FROM (SELECT b.id, date_trunc('minute', '$ANCHOR'::timestamptz - (1 + random() * 363) * interval '1 day') AS started,
          make_interval(mins => 3 + floor(random() * 57)::int) AS dur
      FROM bench_monitor_ids b CROSS JOIN generate_series(1, $INCIDENTS_PER_MONITOR) j) r;
INSERT INTO incidents (id, monitor_id, started_at, first_error, last_error, failure_count, opened_slot)
SELECT gen_random_uuid(), id, failing_since, first_failure_error, last_error, consecutive_failures,
    failing_since + interval '2 minutes'
FROM monitors WHERE status = 'down'"

  step rollup_state "rollup_state" "
INSERT INTO rollup_state (kind, through) VALUES ('hourly', '$HOURLY_THROUGH'), ('daily', '$DAILY_THROUGH')
ON CONFLICT (kind) DO UPDATE SET through = excluded.through"

  t0=$EPOCHREALTIME
  bulk -c "VACUUM (ANALYZE)"
  bulk -c "CHECKPOINT"
  log "  VACUUM ANALYZE + CHECKPOINT: $(secs_since "$t0") s"
  bulk -c "INSERT INTO bench_meta (key, value) VALUES ('complete', now()::text)"
  log "dataset built in $(secs_since "$build_start") s (this run)"
fi

log "sizes (pg_total_relation_size: heap + indexes + TOAST; rows from pg_class after ANALYZE):"
bulk -F $'\t' <<'SQL' | awk -F'\t' '{ printf "  %-22s %15s %10s\n", $2, $3, $4 }'
WITH rels(name, ord) AS (VALUES ('monitors', 1), ('check_results', 2), ('check_rollups_hourly', 3),
                                ('check_rollups_daily', 4), ('incidents', 5))
SELECT r.ord, r.name,
       to_char(sum(greatest(c.reltuples, 0)) FILTER (WHERE c.relkind <> 'p'), 'FM999,999,999,990') || ' rows',
       pg_size_pretty(sum(pg_total_relation_size(t.relid)))
FROM rels r
CROSS JOIN LATERAL (SELECT r.name::regclass UNION SELECT relid FROM pg_partition_tree(r.name::regclass)) t(relid)
JOIN pg_class c ON c.oid = t.relid
GROUP BY r.name, r.ord
UNION ALL
SELECT 9, 'database ' || current_database(), '', pg_size_pretty(pg_database_size(current_database()))
ORDER BY 1;
SQL

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
log "API (release) on :$PORT, pid $API_PID, log $OUT/api.log"

KEY_JSON=$(curl -fsS -X POST "$BASE/api/v1/api-keys" \
  -H "Authorization: Bearer $BOOTSTRAP_KEY" -H 'Content-Type: application/json' \
  -d '{"name":"bench","scopes":["read"]}')
READ_KEY=$(jq -r .key <<<"$KEY_JSON")
READ_KEY_ID=$(jq -r .id <<<"$KEY_JSON")
[ -n "$READ_KEY" ] && [ "$READ_KEY" != null ] || die "creating the read key failed: $KEY_JSON"

MONITOR_ID=$(bulk -c "SELECT id FROM bench_monitor_ids WHERE n = greatest($MONITORS / 2, 1)")
bulk -c "SELECT id FROM bench_monitor_ids ORDER BY n" >"$OUT/monitor-ids.txt"
[ -n "$MONITOR_ID" ] || die "no monitor found in $DB"
log "fixed monitor $MONITOR_ID; random monitors from $OUT/monitor-ids.txt ($(wc -l <"$OUT/monitor-ids.txt") ids)"

# One request of each kind first: answers 200 and says what it returns.
probe() { # key path
  local body
  body=$(curl -fsS -H "Authorization: Bearer $1" "$BASE$2") || die "GET $2 failed"
  printf '%s' "$body"
}
u=$(probe "$READ_KEY" "/api/v1/monitors/$MONITOR_ID/uptime?period=90d")
log "probe uptime 90d: $(jq -c '{checks, up, down, degraded, uptimePercent, incidents, downtimeSeconds, latencyAvgMs}' <<<"$u")"
# 89 daily rollups of 1,440 checks alone make 128,160: fewer means they were not read.
[ "$(jq .checks <<<"$u")" -ge $((80 * 1440)) ] || die "uptime 90d counted too few checks: the rollups are not used"
r=$(probe "$READ_KEY" "/api/v1/monitors/$MONITOR_ID/results?limit=50")
log "probe results: $(jq '.items | length' <<<"$r") items, newest $(jq -r '.items[0].slotTs' <<<"$r"), $(printf '%s' "$r" | wc -c) bytes"
l=$(probe "$READ_KEY" "/api/v1/monitors")
log "probe list: $(jq '.items | length' <<<"$l") items, $(printf '%s' "$l" | wc -c) bytes; single monitor: $(probe "$READ_KEY" "/api/v1/monitors/$MONITOR_ID" | wc -c) bytes"

# wrk script: a random monitor id per request, GET <prefix><id><suffix>.
cat >"$OUT/random-monitor.lua" <<'LUA'
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", os.time() * 1000 + counter)
end
local ids, prefix, suffix = {}, "", ""
function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  prefix, suffix = args[2], args[3]
  math.randomseed(seed or os.time())
end
function request()
  return wrk.format(nil, prefix .. ids[math.random(#ids)] .. suffix)
end
LUA

to_ms() { # wrk latency (12.34us / 1.2ms / 1.02s / 1.5m) -> ms
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : -1
    if (f < 0) { print "?" } else { printf "%.2f", n * f }
  }'
}

# What a run had to wait for the disk for: major page faults of the API
# process (its code or data pages read back in after the kernel evicted them)
# and the bytes all PostgreSQL processes read from disk (not from the page
# cache). Either explains a run's slowest requests. A Postgres process that
# exits during the run (an autovacuum worker) takes its count with it, so the
# figure is a lower bound (and never below 0).
majflt_api() { awk '{ print $12 }' "/proc/$API_PID/stat" 2>/dev/null || echo 0; }
pg_read_bytes() {
  local total=0 d n
  for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2>/dev/null)" = postgres ] || continue
    n=$(awk '$1 == "read_bytes:" { print $2 }' "$d/io" 2>/dev/null) || continue
    total=$((total + ${n:-0}))
  done
  echo "$total"
}

FAILED=0
ROWS=()
bench() { # label key path [lua-args...]
  local label=$1 key=$2 path=$3; shift 3
  local file="$OUT/wrk-c$PASS_C-$(tr -c 'a-z0-9' '-' <<<"${label,,}" | tr -s '-' | sed 's/^-//; s/-$//').txt"
  local args=(--latency -t "$PASS_T" -c "$PASS_C" -H "Authorization: Bearer $key") extra=()
  if [ $# -gt 0 ]; then args+=(-s "$OUT/random-monitor.lua"); extra=(-- "$@"); fi
  if [ "$WARMUP" -gt 0 ]; then
    wrk "${args[@]}" -d "${WARMUP}s" "$BASE$path" "${extra[@]}" >/dev/null
  fi
  local api0 pg0
  api0=$(majflt_api); pg0=$(pg_read_bytes)
  wrk "${args[@]}" -d "${SECONDS_}s" "$BASE$path" "${extra[@]}" >"$file"
  local pg_mib=$((($(pg_read_bytes) - pg0) / 1048576))
  local faults="$(($(majflt_api) - api0)) / $((pg_mib < 0 ? 0 : pg_mib))"
  local rps p50 p99 max non2xx errors requests
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$file")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$file")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$file")")
  max=$(to_ms "$(awk '$1 == "Latency" { print $4; exit }' "$file")")
  requests=$(awk '/ requests in / { print $1 }' "$file")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$file")
  errors=$(awk '/Socket errors:/ { n = 0; for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n }' "$file")
  non2xx=${non2xx:-0}; errors=${errors:-0}
  if [ -z "$rps" ] || [ "$non2xx" != 0 ] || [ "$errors" != 0 ]; then FAILED=1; fi
  ROWS+=("$(printf '%-48s %7s %10s %9s %9s %9s %8s %7s %9s %s' "$label" "$PASS_T/$PASS_C" "$rps" "$p50" "$p99" "$max" "$non2xx" "$errors" "$requests" "$faults")")
  printf '  %s\n' "${ROWS[-1]}"
}

log "wrk: ${THREADS} threads and ${CONNECTIONS} connections, then 1 thread and ${LIGHT_CONNECTIONS} connections; ${SECONDS_} s per endpoint (after ${WARMUP} s warm-up); raw output in $OUT"
HEADER=$(printf '%-48s %7s %10s %9s %9s %9s %8s %7s %9s %s' endpoint "wrk t/c" "req/s" "p50 ms" "p99 ms" "max ms" "non-2xx" errors requests "API majflt / PG disk MiB")
printf '  %s\n' "$HEADER"
# Throughput under load (THREADS x CONNECTIONS), then latency at the load a
# dashboard or a script puts on it (one thread, LIGHT_CONNECTIONS).
passes=("$THREADS $CONNECTIONS")
[ "$LIGHT_CONNECTIONS" -gt 0 ] && passes+=("1 $LIGHT_CONNECTIONS")
for pass in "${passes[@]}"; do
  read -r PASS_T PASS_C <<<"$pass"
  bench "GET /monitors/{id}" "$READ_KEY" "/api/v1/monitors/$MONITOR_ID"
  bench "GET /monitors (first page, 50)" "$READ_KEY" "/api/v1/monitors"
  bench "GET /monitors/{random}/results?limit=50" "$READ_KEY" "/" \
    "$OUT/monitor-ids.txt" "/api/v1/monitors/" "/results?limit=50"
  bench "GET /monitors/{random}/uptime?period=90d" "$READ_KEY" "/" \
    "$OUT/monitor-ids.txt" "/api/v1/monitors/" "/uptime?period=90d"
  bench "GET /monitors/{id} (bootstrap key)" "$BOOTSTRAP_KEY" "/api/v1/monitors/$MONITOR_ID"
done

# ------------------------------------------------------------- SQL timing --

# The statements the handlers run (api/src/routes/monitors.rs list/results,
# shared/src/rollup.rs uptime), prepared and executed once each as the API's
# role with the values the endpoints above use.
# The column lists are the ones the API selects, read from its source so
# they cannot drift: shared::model::MONITOR_COLUMNS and CHECK_RESULT_COLUMNS.
rust_str_const() { # file NAME -> the value of `pub const NAME: &str = "...";`
  python3 - "$1" "$2" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
m = re.search(r'pub const ' + sys.argv[2] + r': &str =\s*"((?:[^"\\]|\\.)*)";', src, re.S)
if not m:
    sys.exit(f"bench-api: {sys.argv[2]} not found in {sys.argv[1]}")
print(re.sub(r'\\\n\s*', '', m.group(1)))
PY
}
MONITOR_COLUMNS=$(rust_str_const shared/src/model/monitor.rs MONITOR_COLUMNS)
CHECK_RESULT_COLUMNS=$(rust_str_const shared/src/model/check_result.rs CHECK_RESULT_COLUMNS)

explain() { # label file prepare-sql execute-sql
  local label=$1 file="$OUT/plan-$2.txt"
  asapp >"$file" <<SQL
$3;
EXPLAIN (ANALYZE, BUFFERS) $4;
SQL
  local exec plan buffers
  exec=$(awk -F': ' '/Execution Time:/ { print $2 }' "$file")
  plan=$(awk -F': ' '/Planning Time:/ { print $2 }' "$file")
  buffers=$(awk '/Buffers:/ { sub(/^ *Buffers: */, ""); print; exit }' "$file")
  printf '  %-34s execution %-12s planning %-12s buffers: %s\n' "$label" "$exec" "$plan" "${buffers:-none}"
}

log "SQL (EXPLAIN ANALYZE, BUFFERS; once each, after the wrk runs; plans in $OUT/plan-*.txt):"
explain "single monitor (fetch)" get \
  "PREPARE q(uuid) AS SELECT $MONITOR_COLUMNS FROM monitors m WHERE m.id = \$1" \
  "EXECUTE q('$MONITOR_ID')"
explain "list (first page)" list \
  "PREPARE q(uuid, text, bool, text, text, text, int8) AS SELECT $MONITOR_COLUMNS FROM monitors m \
   WHERE (\$1::uuid IS NULL OR m.id > \$1) AND (\$2::text IS NULL OR m.type = \$2) \
     AND (\$3::bool IS NULL OR m.enabled = \$3) AND (\$4::text IS NULL OR m.status = \$4) \
     AND (\$5::text IS NULL OR m.tags @> ARRAY[\$5::text]) AND (\$6::text IS NULL OR m.name ILIKE \$6) \
   ORDER BY m.id LIMIT \$7" \
  "EXECUTE q(NULL, NULL, NULL, NULL, NULL, NULL, 51)"
explain "results (latest 50)" results \
  "PREPARE q(uuid, timestamptz, int8) AS SELECT $CHECK_RESULT_COLUMNS FROM check_results \
   WHERE monitor_id = \$1 AND (\$2::timestamptz IS NULL OR slot_ts < \$2) ORDER BY slot_ts DESC LIMIT \$3" \
  "EXECUTE q('$MONITOR_ID', NULL, 51)"
# shared::rollup::Plan for 90 days, computed the same way in SQL.
PLAN=$(asapp -F '|' <<'SQL'
WITH s AS (
    SELECT now() AS now_, now() - interval '90 days' AS start_,
        (SELECT through FROM rollup_state WHERE kind = 'hourly') AS ht,
        (SELECT through FROM rollup_state WHERE kind = 'daily') AS dt),
a AS (SELECT *, least(date_trunc('hour', start_) + CASE WHEN date_trunc('hour', start_) = start_
          THEN interval '0' ELSE interval '1 hour' END, now_) AS h0 FROM s),
b AS (SELECT *, greatest(coalesce(least(ht, date_trunc('hour', now_)), h0), h0) AS h1,
          date_trunc('day', h0) + CASE WHEN date_trunc('day', h0) = h0
          THEN interval '0' ELSE interval '1 day' END AS d0 FROM a),
c AS (SELECT *, greatest(coalesce(least(dt, h1), d0), d0) AS d1 FROM b)
SELECT quote_literal(start_), quote_literal(h0),
    quote_literal(CASE WHEN d1 > d0 AND d1 <= h1 THEN d0 ELSE h1 END),
    quote_literal(CASE WHEN d1 > d0 AND d1 <= h1 THEN d1 ELSE h1 END),
    quote_literal(h1), quote_literal(now_)
FROM c
SQL
)
IFS='|' read -r P_START P_H0 P_D0 P_D1 P_H1 P_NOW <<<"$PLAN"
explain "uptime 90d (totals)" uptime \
  "PREPARE q(uuid, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz) AS \
   SELECT coalesce(sum(checks), 0)::int8, coalesce(sum(up), 0)::int8, \
       coalesce(sum(down), 0)::int8, coalesce(sum(degraded), 0)::int8, \
       sum(lat_sum)::float8, max(lat_max)::float8 FROM ( \
     SELECT checks, up, down, degraded, latency_sum_ms AS lat_sum, latency_max_ms AS lat_max \
       FROM check_rollups_daily WHERE monitor_id = \$1 AND bucket >= \$4 AND bucket < \$5 \
     UNION ALL \
     SELECT checks, up, down, degraded, latency_sum_ms, latency_max_ms \
       FROM check_rollups_hourly WHERE monitor_id = \$1 \
         AND ((bucket >= \$3 AND bucket < \$4) OR (bucket >= \$5 AND bucket < \$6)) \
     UNION ALL \
     SELECT count(*)::int4, (count(*) FILTER (WHERE status = 'up'))::int4, \
         (count(*) FILTER (WHERE status = 'down'))::int4, \
         (count(*) FILTER (WHERE status = 'degraded'))::int4, \
         sum(total_ms)::float8, max(total_ms) \
       FROM check_results WHERE monitor_id = \$1 \
         AND ((slot_ts >= \$2 AND slot_ts < \$3) OR (slot_ts >= \$6 AND slot_ts < \$7)) \
   ) s" \
  "EXECUTE q('$MONITOR_ID', $P_START, $P_H0, $P_D0, $P_D1, $P_H1, $P_NOW)"
explain "uptime 90d (incidents)" uptime-incidents \
  "PREPARE q(uuid, timestamptz, timestamptz) AS SELECT count(*)::int8, \
     coalesce(sum(extract(epoch FROM LEAST(coalesce(resolved_at, \$3), \$3) - GREATEST(started_at, \$2))), 0)::float8 \
   FROM incidents WHERE monitor_id = \$1 AND started_at < \$3 AND (resolved_at IS NULL OR resolved_at > \$2)" \
  "EXECUTE q('$MONITOR_ID', $P_START, $P_NOW)"

{
  echo
  echo "Results ($(date -u +%Y-%m-%dT%H:%MZ), $DB: $PARAMS; DATABASE_POOL_SIZE=$POOL; wrk -d${SECONDS_}s):"
  printf '  %s\n' "$HEADER" "${ROWS[@]}"
} | tee "$OUT/results.txt"

if [ "$FAILED" != 0 ]; then
  die "some requests failed (non-2xx responses or socket errors above; raw output in $OUT)"
fi
