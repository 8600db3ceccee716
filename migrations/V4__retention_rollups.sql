-- Retention of raw results and hourly / daily rollups per monitor.

-- Rollup ranges scan one hour or one day of results across all monitors; a
-- BRIN index on the slot keeps that from reading the whole day partition and
-- costs next to nothing on insert (slots arrive roughly in order).
CREATE INDEX check_results_slot_brin ON check_results USING brin (slot_ts);

-- One row per monitor and UTC hour / day. Percentiles are exact for their
-- bucket (computed from the raw rows); sums and counts add up across buckets.
CREATE TABLE check_rollups_hourly (
    monitor_id      uuid        NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    bucket          timestamptz NOT NULL,
    checks          integer     NOT NULL,
    up              integer     NOT NULL,
    down            integer     NOT NULL,
    degraded        integer     NOT NULL,
    latency_sum_ms  double precision NOT NULL,
    latency_p50_ms  real        NOT NULL,
    latency_p95_ms  real        NOT NULL,
    latency_max_ms  real        NOT NULL,
    PRIMARY KEY (monitor_id, bucket)
);
CREATE INDEX check_rollups_hourly_bucket_idx ON check_rollups_hourly USING brin (bucket);

CREATE TABLE check_rollups_daily (LIKE check_rollups_hourly INCLUDING ALL);
ALTER TABLE check_rollups_daily
    ADD FOREIGN KEY (monitor_id) REFERENCES monitors (id) ON DELETE CASCADE;

-- How far each rollup is complete: every bucket before `through` is rolled.
CREATE TABLE rollup_state (
    kind     text PRIMARY KEY CHECK (kind IN ('hourly', 'daily')),
    through  timestamptz NOT NULL
);

-- Hours that received results after they may already have been rolled up
-- (a worker's buffer flushed after an outage); the job rolls them again.
CREATE TABLE rollup_dirty_hours (
    hour timestamptz PRIMARY KEY
);

-- Drops the daily partitions of check_results that end on or before
-- keep_from (a UTC date) and deletes older stray rows from the default
-- partition. Returns the number of partitions dropped.
CREATE FUNCTION uptime_drop_check_result_partitions(keep_from date)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'check_results'::regclass
          AND c.relname ~ '^check_results_[0-9]{8}$'
          AND to_date(substring(c.relname FROM 15), 'YYYYMMDD') < keep_from
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    DELETE FROM check_results_default
        WHERE slot_ts < keep_from::timestamp AT TIME ZONE 'UTC';
    RETURN dropped;
END;
$$;
