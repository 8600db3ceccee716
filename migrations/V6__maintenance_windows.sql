-- Maintenance windows: one-off or recurring (cron in a time zone), covering
-- monitors directly or through components.
--
-- Occurrences are materialized as rows ahead of time (by the API when a
-- window is written, and by the workers' status clock for the horizon), so
-- the result writer decides per result, by its slot time and in its own
-- transaction, whether it was taken during maintenance; and a start or end
-- is detected once by whichever worker marks the occurrence row first.

CREATE TABLE maintenance_windows (
    id               uuid PRIMARY KEY,
    title            text        NOT NULL,
    description      text,
    -- one-off
    starts_at        timestamptz,
    ends_at          timestamptz,
    -- recurring
    cron             text,
    duration_minutes integer     CHECK (duration_minutes BETWEEN 1 AND 10080),
    timezone         text,
    active_from      timestamptz,
    active_until     timestamptz,
    notify_channels  boolean     NOT NULL DEFAULT true,
    -- Occurrences exist up to here.
    materialized_until timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at > starts_at
            AND cron IS NULL AND duration_minutes IS NULL AND timezone IS NULL)
        OR (starts_at IS NULL AND ends_at IS NULL
            AND cron IS NOT NULL AND duration_minutes IS NOT NULL AND timezone IS NOT NULL))
);

CREATE TABLE maintenance_window_monitors (
    window_id  uuid NOT NULL REFERENCES maintenance_windows (id) ON DELETE CASCADE,
    monitor_id uuid NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    PRIMARY KEY (window_id, monitor_id)
);
CREATE INDEX maintenance_window_monitors_monitor_idx ON maintenance_window_monitors (monitor_id);

CREATE TABLE maintenance_window_components (
    window_id    uuid NOT NULL REFERENCES maintenance_windows (id) ON DELETE CASCADE,
    component_id uuid NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    PRIMARY KEY (window_id, component_id)
);
CREATE INDEX maintenance_window_components_component_idx ON maintenance_window_components (component_id);

-- One row per occurrence; started_at / ended_at are the detected edges.
CREATE TABLE maintenance_occurrences (
    window_id  uuid        NOT NULL REFERENCES maintenance_windows (id) ON DELETE CASCADE,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL CHECK (ends_at > starts_at),
    started_at timestamptz,
    ended_at   timestamptz,
    PRIMARY KEY (window_id, starts_at)
);
CREATE INDEX maintenance_occurrences_span_idx ON maintenance_occurrences (starts_at, ends_at);
-- The writer looks for occurrences ending after its oldest slot (few: the
-- current and upcoming ones); the workers' clock for starts not yet marked.
CREATE INDEX maintenance_occurrences_ends_idx ON maintenance_occurrences (ends_at);
CREATE INDEX maintenance_occurrences_pending_idx ON maintenance_occurrences (starts_at)
    WHERE started_at IS NULL;
CREATE INDEX maintenance_occurrences_open_idx ON maintenance_occurrences (ends_at)
    WHERE started_at IS NOT NULL AND ended_at IS NULL;

-- The monitors a window covers: its own and those of its components (and of
-- the children of the groups among them).
CREATE VIEW maintenance_window_coverage AS
    SELECT window_id, monitor_id FROM maintenance_window_monitors
    UNION
    SELECT wc.window_id, cm.monitor_id
    FROM maintenance_window_components wc
    JOIN components c ON c.id = wc.component_id OR c.group_id = wc.component_id
    JOIN component_monitors cm ON cm.component_id = c.id;

-- Results taken during maintenance are stored and marked; they do not count
-- toward a monitor's failures or its uptime.
ALTER TABLE check_results ADD COLUMN in_maintenance boolean NOT NULL DEFAULT false;
ALTER TABLE check_rollups_hourly ADD COLUMN maintenance integer NOT NULL DEFAULT 0;
ALTER TABLE check_rollups_daily ADD COLUMN maintenance integer NOT NULL DEFAULT 0;

-- Whether a component is covered by a maintenance occurrence in progress:
-- listed itself, or a child of a listed group.
CREATE FUNCTION uptime_component_in_maintenance(component uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM maintenance_occurrences o
        JOIN maintenance_window_components wc ON wc.window_id = o.window_id
        JOIN components c ON c.id = wc.component_id OR c.group_id = wc.component_id
        WHERE c.id = component AND o.started_at IS NOT NULL AND o.ended_at IS NULL)
$$;

-- maintenance.started / maintenance.ended for one occurrence, to every
-- enabled channel subscribed, unless the window has notifications off.
CREATE FUNCTION uptime_maintenance_event(event_type text, maintenance_window uuid,
                                         occurrence timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    body jsonb;
BEGIN
    SELECT jsonb_build_object('maintenance', jsonb_build_object(
               'id', w.id, 'title', w.title, 'description', w.description,
               'startsAt', o.starts_at, 'endsAt', o.ends_at,
               'components', (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', c.id, 'name', c.name)
                                                        ORDER BY c.name), '[]')
                              FROM maintenance_window_components wc
                              JOIN components c ON c.id = wc.component_id
                              WHERE wc.window_id = w.id),
               'monitors', (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', m.id, 'name', m.name)
                                                      ORDER BY m.name), '[]')
                            FROM maintenance_window_monitors wm
                            JOIN monitors m ON m.id = wm.monitor_id
                            WHERE wm.window_id = w.id)))
    INTO body
    FROM maintenance_windows w
    JOIN maintenance_occurrences o ON o.window_id = w.id AND o.starts_at = occurrence
    WHERE w.id = maintenance_window AND w.notify_channels;
    IF body IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO notification_events (id, channel_id, event_type, payload)
    SELECT e.id, ch.id, uptime_maintenance_event.event_type,
           jsonb_build_object('type', uptime_maintenance_event.event_type, 'id', e.id,
                              'timestamp', now()) || body
    FROM notification_channels ch, LATERAL (SELECT gen_random_uuid() AS id) e
    WHERE ch.enabled AND uptime_maintenance_event.event_type = ANY (ch.events);
END;
$$;
