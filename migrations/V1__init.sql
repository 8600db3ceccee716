-- UpTime schema, version 1.
-- Postgres is the source of truth; Redis only holds the schedule derived from it.

CREATE TABLE monitors (
    id                      uuid PRIMARY KEY,
    name                    text        NOT NULL,
    type                    text        NOT NULL CHECK (type IN ('http', 'keyword', 'tcp', 'dns', 'tls')),
    target                  text        NOT NULL,
    -- http / keyword
    method                  text,
    headers                 jsonb,
    body                    text,
    expected_status         jsonb,
    follow_redirects        boolean,
    degraded_threshold_ms   integer,
    -- keyword
    keyword                 text,
    keyword_mode            text CHECK (keyword_mode IN ('contains', 'notContains')),
    keyword_case_sensitive  boolean,
    -- dns
    dns_record_type         text CHECK (dns_record_type IN ('A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS')),
    dns_expected            text[],
    dns_resolver            text,
    -- tls
    tls_expiry_warn_days    integer,
    -- common
    timeout_seconds         integer     NOT NULL CHECK (timeout_seconds BETWEEN 1 AND 300),
    interval_seconds        integer     NOT NULL CHECK (interval_seconds BETWEEN 1 AND 86400),
    failure_threshold       integer     NOT NULL CHECK (failure_threshold BETWEEN 1 AND 100),
    recovery_threshold      integer     NOT NULL CHECK (recovery_threshold BETWEEN 1 AND 100),
    enabled                 boolean     NOT NULL,
    tags                    text[]      NOT NULL DEFAULT '{}',
    -- state written by workers
    status                  text        NOT NULL DEFAULT 'unknown'
                            CHECK (status IN ('unknown', 'up', 'down', 'degraded', 'paused')),
    last_checked_at         timestamptz,
    last_slot               timestamptz,
    consecutive_failures    integer     NOT NULL DEFAULT 0,
    consecutive_successes   integer     NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX monitors_tags_idx ON monitors USING gin (tags);
CREATE INDEX monitors_enabled_idx ON monitors (id) WHERE enabled;

-- One row per scheduled slot of a monitor; the slot is the fencing token, so
-- (monitor_id, slot_ts) can only ever be written once. Partitioned by day so
-- retention drops whole partitions instead of deleting rows.
CREATE TABLE check_results (
    monitor_id   uuid        NOT NULL,
    slot_ts      timestamptz NOT NULL,
    checked_at   timestamptz NOT NULL,
    worker_id    text,
    status       text        NOT NULL CHECK (status IN ('up', 'down', 'degraded')),
    status_code  integer,
    error        text,
    dns_ms       real,
    connect_ms   real,
    tls_ms       real,
    ttfb_ms      real,
    total_ms     real        NOT NULL,
    body_snippet text CHECK (octet_length(body_snippet) <= 1024),
    details      jsonb,
    PRIMARY KEY (monitor_id, slot_ts)
) PARTITION BY RANGE (slot_ts);

-- Catches rows for days that have no partition yet, so an insert never fails;
-- uptime_ensure_check_result_partitions moves them out when it creates the day.
CREATE TABLE check_results_default PARTITION OF check_results DEFAULT;
CREATE INDEX check_results_recent_idx ON check_results (checked_at DESC);

-- Creates the daily (UTC) partitions of check_results covering [from_day, to_day].
CREATE FUNCTION uptime_ensure_check_result_partitions(from_day date, to_day date)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    d date := from_day;
    part text;
    lo timestamptz;
    hi timestamptz;
    created integer := 0;
BEGIN
    WHILE d <= to_day LOOP
        part := 'check_results_' || to_char(d, 'YYYYMMDD');
        lo := d::timestamp AT TIME ZONE 'UTC';
        hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE check_results INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
            EXECUTE format(
                'WITH moved AS (DELETE FROM check_results_default WHERE slot_ts >= %L AND slot_ts < %L RETURNING *)
                 INSERT INTO %I SELECT * FROM moved',
                lo, hi, part);
            EXECUTE format('ALTER TABLE check_results ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                part, lo, hi);
            created := created + 1;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN created;
END;
$$;

SELECT uptime_ensure_check_result_partitions(
    (now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + 7);

CREATE TABLE incidents (
    id              uuid PRIMARY KEY,
    monitor_id      uuid        NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    started_at      timestamptz NOT NULL,
    resolved_at     timestamptz,
    first_error     text,
    last_error      text,
    failure_count   integer     NOT NULL DEFAULT 0,
    opened_slot     timestamptz NOT NULL,
    resolved_slot   timestamptz
);
-- A monitor can never have two open incidents.
CREATE UNIQUE INDEX incidents_one_open_per_monitor ON incidents (monitor_id) WHERE resolved_at IS NULL;
CREATE INDEX incidents_monitor_idx ON incidents (monitor_id, id DESC);

CREATE TABLE notification_channels (
    id              uuid PRIMARY KEY,
    name            text        NOT NULL,
    type            text        NOT NULL CHECK (type IN ('webhook', 'slack', 'discord', 'teams', 'telegram')),
    config          jsonb       NOT NULL,
    signing_secret  text,
    enabled         boolean     NOT NULL DEFAULT true,
    disabled_reason text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE monitor_channels (
    monitor_id  uuid NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    channel_id  uuid NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    PRIMARY KEY (monitor_id, channel_id)
);
CREATE INDEX monitor_channels_channel_idx ON monitor_channels (channel_id);

-- The notification outbox: written in the same transaction as the incident
-- transition, delivered by workers.
CREATE TABLE notification_events (
    id              uuid PRIMARY KEY,
    channel_id      uuid        NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    incident_id     uuid        REFERENCES incidents (id) ON DELETE CASCADE,
    event_type      text        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_events_pending_idx ON notification_events (next_attempt_at) WHERE status = 'pending';
CREATE UNIQUE INDEX notification_events_once ON notification_events (incident_id, channel_id, event_type)
    WHERE incident_id IS NOT NULL;

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    name          text        NOT NULL,
    prefix        text        NOT NULL,
    key_hash      bytea       NOT NULL UNIQUE,
    scopes        text[]      NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    expires_at    timestamptz,
    revoked_at    timestamptz
);

CREATE TABLE audit_logs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_key_id  uuid,
    actor         text        NOT NULL,
    action        text        NOT NULL,
    entity_type   text        NOT NULL,
    entity_id     text        NOT NULL,
    before        jsonb,
    after         jsonb,
    request_id    text,
    client_addr   text
);
CREATE INDEX audit_logs_entity_idx ON audit_logs (entity_type, entity_id, id DESC);
CREATE INDEX audit_logs_at_idx ON audit_logs (at);

CREATE TABLE worker_heartbeats (
    worker_id     text PRIMARY KEY,
    host          text        NOT NULL,
    pid           integer     NOT NULL,
    version       text        NOT NULL,
    started_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    active_jobs   integer     NOT NULL DEFAULT 0,
    queued_jobs   integer     NOT NULL DEFAULT 0,
    in_flight     uuid[]      NOT NULL DEFAULT '{}'
);
