-- Delivery of notification events: leases on outbox rows, retry budgets,
-- one row per attempt, and per-channel policy.

-- Which events a channel receives, reminders while an incident stays open,
-- and the throttle on opened messages (StatusD's notifier policy).
ALTER TABLE notification_channels
    ADD COLUMN events                    text[]  NOT NULL
        DEFAULT '{incident.opened,incident.resolved}',
    ADD COLUMN reminder_interval_seconds integer CHECK (reminder_interval_seconds BETWEEN 60 AND 604800),
    ADD COLUMN throttle_seconds          integer NOT NULL DEFAULT 300
        CHECK (throttle_seconds BETWEEN 0 AND 86400);

-- 'suppressed': not sent by policy (throttled). Reminders carry a sequence
-- number, so one incident can have several.
ALTER TABLE notification_events DROP CONSTRAINT notification_events_status_check;
ALTER TABLE notification_events ADD CONSTRAINT notification_events_status_check
    CHECK (status IN ('pending', 'delivered', 'failed', 'suppressed'));
ALTER TABLE notification_events
    ADD COLUMN monitor_id    uuid,
    ADD COLUMN sequence      integer     NOT NULL DEFAULT 0,
    ADD COLUMN retry_from    integer     NOT NULL DEFAULT 0,
    ADD COLUMN locked_by     text,
    ADD COLUMN locked_until  timestamptz,
    ADD COLUMN last_error    text,
    ADD COLUMN delivered_at  timestamptz;
DROP INDEX notification_events_once;
CREATE UNIQUE INDEX notification_events_once
    ON notification_events (incident_id, channel_id, event_type, sequence)
    WHERE incident_id IS NOT NULL;
CREATE INDEX notification_events_channel_idx ON notification_events (channel_id, created_at DESC);
CREATE INDEX notification_events_monitor_idx ON notification_events (monitor_id, channel_id, event_type, created_at DESC);

CREATE TABLE notification_attempts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         uuid        NOT NULL REFERENCES notification_events (id) ON DELETE CASCADE,
    channel_id       uuid        NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    attempt          integer     NOT NULL,
    attempted_at     timestamptz NOT NULL,
    outcome          text        NOT NULL CHECK (outcome IN ('delivered', 'retry', 'gone', 'refused')),
    status_code      integer,
    latency_ms       real        NOT NULL,
    error            text,
    response_snippet text CHECK (octet_length(response_snippet) <= 1024),
    UNIQUE (event_id, attempt)
);
CREATE INDEX notification_attempts_channel_idx ON notification_attempts (channel_id, id DESC);
