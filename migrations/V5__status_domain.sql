-- The status domain: components driven by monitors, their status history,
-- and status incidents written for people.
--
-- A component's status is derived inside the database, by triggers, in the
-- transaction that changes what it derives from (a monitor's status, the
-- component's monitors, a child's status, an override). So it is never
-- behind the monitors it follows, whichever process made the change, and
-- nothing is left to do after a crash.

CREATE TABLE components (
    id                 uuid PRIMARY KEY,
    name               text        NOT NULL,
    description        text,
    url                text,
    owner              text,
    is_group           boolean     NOT NULL DEFAULT false,
    group_id           uuid        REFERENCES components (id) ON DELETE SET NULL,
    position           integer     NOT NULL DEFAULT 0,
    auto_incident      boolean     NOT NULL DEFAULT false,
    sla_target         double precision CHECK (sla_target > 0 AND sla_target <= 100),
    -- What the monitors (or, for a group, the children) say; kept while an
    -- override or maintenance shows something else.
    auto_status        text        NOT NULL DEFAULT 'operational'
        CHECK (auto_status IN ('operational', 'degraded_performance', 'partial_outage', 'major_outage')),
    has_data           boolean     NOT NULL DEFAULT false,
    -- A manual override (by an operator, or by an open status incident).
    manual_status      text
        CHECK (manual_status IN ('operational', 'degraded_performance', 'partial_outage',
                                 'major_outage', 'under_maintenance')),
    manual_message     text,
    manual_until       timestamptz,
    manual_actor       uuid,
    manual_incident_id uuid,
    -- Set while an active maintenance window covers the component.
    in_maintenance     boolean     NOT NULL DEFAULT false,
    -- What is shown: the override, else maintenance, else the derived status.
    status             text        NOT NULL DEFAULT 'operational',
    status_source      text        NOT NULL DEFAULT 'automatic'
        CHECK (status_source IN ('automatic', 'manual', 'maintenance')),
    status_changed_at  timestamptz NOT NULL DEFAULT now(),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    -- The transaction that created the row (see uptime_components_changed).
    created_xact       xid8        NOT NULL DEFAULT pg_current_xact_id(),
    -- Groups are one level deep.
    CHECK (NOT (is_group AND group_id IS NOT NULL))
);
CREATE INDEX components_group_idx ON components (group_id, position, id);
CREATE INDEX components_manual_until_idx ON components (manual_until) WHERE manual_until IS NOT NULL;

CREATE TABLE component_monitors (
    component_id uuid NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    monitor_id   uuid NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    PRIMARY KEY (component_id, monitor_id)
);
CREATE INDEX component_monitors_monitor_idx ON component_monitors (monitor_id);

-- One row per change of a component's shown status (and one at creation,
-- with no old status): the change history, and what uptime is computed from.
CREATE TABLE component_status_changes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    component_id  uuid        NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    old_status    text,
    new_status    text        NOT NULL,
    source        text        NOT NULL,
    message       text,
    actor_key_id  uuid,
    -- The time the change was made, under the component's lock (not the
    -- transaction's start), so times follow the order of the changes.
    at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX component_status_changes_component_idx ON component_status_changes (component_id, id DESC);
CREATE INDEX component_status_changes_at_idx ON component_status_changes (at);

CREATE TABLE status_incidents (
    id                uuid PRIMARY KEY,
    name              text        NOT NULL,
    impact            text        NOT NULL CHECK (impact IN ('none', 'minor', 'major', 'critical')),
    status            text        NOT NULL
        CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved', 'postmortem')),
    postmortem        text,
    started_at        timestamptz NOT NULL,
    resolved_at       timestamptz,
    -- The component an automatic incident was opened for; automation keeps
    -- it until an operator posts an update (taken_over).
    auto_component_id uuid        REFERENCES components (id) ON DELETE SET NULL,
    taken_over        boolean     NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((resolved_at IS NULL) = (status NOT IN ('resolved', 'postmortem')))
);
-- At most one open automatic incident per component.
CREATE UNIQUE INDEX status_incidents_one_auto_per_component
    ON status_incidents (auto_component_id) WHERE auto_component_id IS NOT NULL AND resolved_at IS NULL;
CREATE INDEX status_incidents_started_idx ON status_incidents (started_at DESC, id DESC);

-- The components an incident affects, with the status each takes while it
-- is open (NULL: the component keeps its automatic status).
CREATE TABLE status_incident_components (
    incident_id  uuid NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    component_id uuid NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    status       text CHECK (status IN ('operational', 'degraded_performance', 'partial_outage',
                                        'major_outage', 'under_maintenance')),
    PRIMARY KEY (incident_id, component_id)
);
CREATE INDEX status_incident_components_component_idx ON status_incident_components (component_id);

CREATE TABLE status_incident_updates (
    id                 uuid PRIMARY KEY,
    incident_id        uuid        NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    status             text        NOT NULL
        CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved', 'postmortem')),
    body               text,
    component_statuses jsonb       NOT NULL DEFAULT '{}',
    author_key_id      uuid,
    automatic          boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    display_at         timestamptz NOT NULL DEFAULT now(),
    edited_at          timestamptz
);
CREATE INDEX status_incident_updates_incident_idx ON status_incident_updates (incident_id, display_at DESC, id DESC);

-- The machine incidents behind a status incident.
CREATE TABLE status_incident_monitor_incidents (
    incident_id         uuid NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    monitor_incident_id uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    PRIMARY KEY (incident_id, monitor_incident_id)
);

-- Severity of a shown status, for "worst wins".
CREATE FUNCTION uptime_status_severity(status text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE status
        WHEN 'degraded_performance' THEN 1
        WHEN 'partial_outage' THEN 2
        WHEN 'major_outage' THEN 3
        ELSE 0 END
$$;

-- The derived status of a component and whether anything backs it. A
-- component follows its monitors with a known state (up, down, degraded):
-- all down is a major outage, some down a partial one, any degraded is
-- degraded performance, else operational; no known monitor is operational
-- with no data. A group takes the worst status among its children that are
-- not under maintenance.
CREATE FUNCTION uptime_component_derived(component uuid, OUT status text, OUT has_data boolean)
LANGUAGE sql STABLE AS $$
    WITH me AS (SELECT is_group FROM components WHERE id = component),
    monitors AS (
        SELECT count(*) FILTER (WHERE m.status IN ('up', 'down', 'degraded')) AS known,
               count(*) FILTER (WHERE m.status = 'down') AS down,
               count(*) FILTER (WHERE m.status = 'degraded') AS degraded
        FROM component_monitors cm JOIN monitors m ON m.id = cm.monitor_id
        WHERE cm.component_id = component),
    children AS (
        SELECT max(uptime_status_severity(c.status)) AS worst,
               bool_or(c.has_data OR c.status_source <> 'automatic') AS any_data
        FROM components c
        WHERE c.group_id = component AND c.status <> 'under_maintenance')
    SELECT CASE
               WHEN me.is_group THEN CASE COALESCE(children.worst, 0)
                   WHEN 3 THEN 'major_outage' WHEN 2 THEN 'partial_outage'
                   WHEN 1 THEN 'degraded_performance' ELSE 'operational' END
               WHEN monitors.known > 0 AND monitors.down = monitors.known THEN 'major_outage'
               WHEN monitors.down > 0 THEN 'partial_outage'
               WHEN monitors.degraded > 0 THEN 'degraded_performance'
               ELSE 'operational' END,
           CASE WHEN me.is_group THEN COALESCE(children.any_data, false)
                ELSE monitors.known > 0 END
    FROM me, monitors, children
$$;

-- Brings a component's derived status up to date (its triggers do the rest).
-- The row is locked first and the status computed by a later statement, so
-- a transaction that waited for the lock sees what the one before it
-- committed (two monitors of one component going down at once end as a
-- major outage, not as two partial ones).
CREATE FUNCTION uptime_refresh_component(component uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM components WHERE id = component FOR NO KEY UPDATE;
    UPDATE components c SET auto_status = d.status, has_data = d.has_data
    FROM uptime_component_derived(component) d
    WHERE c.id = component AND (c.auto_status, c.has_data) IS DISTINCT FROM (d.status, d.has_data);
END;
$$;

-- The shown status: an override in force, else maintenance, else derived.
CREATE FUNCTION uptime_components_show() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The API checks these with reasons; this keeps any other writer honest.
    IF NEW.group_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM components g WHERE g.id = NEW.group_id AND g.is_group) THEN
        RAISE EXCEPTION 'component %: group_id must name a group', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.is_group AND NOT NEW.is_group
       AND EXISTS (SELECT 1 FROM components ch WHERE ch.group_id = NEW.id) THEN
        RAISE EXCEPTION 'component %: a group with components cannot stop being a group', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.manual_status IS NOT NULL AND (NEW.manual_until IS NULL OR NEW.manual_until > now()) THEN
        NEW.status := NEW.manual_status;
        NEW.status_source := 'manual';
    ELSIF NEW.in_maintenance THEN
        NEW.status := 'under_maintenance';
        NEW.status_source := 'maintenance';
    ELSE
        NEW.status := NEW.auto_status;
        NEW.status_source := 'automatic';
    END IF;
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.status_changed_at := clock_timestamp();
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER components_show BEFORE INSERT OR UPDATE ON components
    FOR EACH ROW EXECUTE FUNCTION uptime_components_show();

-- Opens an automatic status incident for a component that went into an
-- outage through its monitors (not by an override), unless an open incident
-- already covers it; resolves it once the monitors say operational again and
-- nothing shows an outage, unless an operator took it over. `old_status` and
-- `old_source` are NULL for a component just created.
CREATE FUNCTION uptime_auto_incident(c components, old_status text, old_source text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    incident uuid;
BEGIN
    IF c.auto_incident AND c.status_source = 'automatic'
       AND c.status IN ('partial_outage', 'major_outage')
       AND NOT (old_source IS NOT DISTINCT FROM 'automatic'
                AND old_status IN ('partial_outage', 'major_outage'))
       AND NOT EXISTS (
           SELECT 1 FROM status_incident_components sic
           JOIN status_incidents si ON si.id = sic.incident_id
           WHERE sic.component_id = c.id AND si.resolved_at IS NULL) THEN
        incident := gen_random_uuid();
        INSERT INTO status_incidents (id, name, impact, status, started_at, auto_component_id)
        VALUES (incident, c.name || ' is experiencing issues',
                CASE c.status WHEN 'major_outage' THEN 'critical' ELSE 'major' END,
                'investigating',
                -- Since the first failure of the monitors that are down.
                COALESCE((SELECT min(m.failing_since) FROM monitors m
                          JOIN component_monitors cm ON cm.monitor_id = m.id
                          WHERE cm.component_id = c.id AND m.status = 'down'), now()),
                c.id)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        INSERT INTO status_incident_components (incident_id, component_id) VALUES (incident, c.id);
        INSERT INTO status_incident_updates (id, incident_id, status, body, automatic)
        VALUES (gen_random_uuid(), incident, 'investigating',
                'Investigating: ' || c.name || ' is experiencing issues.', true);
        INSERT INTO status_incident_monitor_incidents (incident_id, monitor_incident_id)
        SELECT incident, i.id FROM incidents i
        JOIN component_monitors cm ON cm.monitor_id = i.monitor_id
        WHERE cm.component_id = c.id AND i.resolved_at IS NULL;
        PERFORM uptime_status_event('status_incident.created', incident, NULL);
    ELSIF c.auto_status = 'operational' AND c.status NOT IN ('partial_outage', 'major_outage') THEN
        UPDATE status_incidents SET status = 'resolved', resolved_at = now(), updated_at = now()
        WHERE auto_component_id = c.id AND resolved_at IS NULL AND NOT taken_over
        RETURNING id INTO incident;
        IF incident IS NOT NULL THEN
            INSERT INTO status_incident_updates (id, incident_id, status, body, automatic)
            VALUES (gen_random_uuid(), incident, 'resolved',
                    'Resolved: ' || c.name || ' is operational again.', true);
            PERFORM uptime_status_event('status_incident.resolved', incident, NULL);
        END IF;
    END IF;
END;
$$;

-- After a change of the shown status (or of where it comes from): a
-- history row, the component.status_changed event and the automatic
-- incident. A component created in this transaction is recorded once, at
-- commit, as it then stands (see uptime_components_created), so the links
-- written after its row leave no passing states behind.
CREATE FUNCTION uptime_components_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.created_xact = pg_current_xact_id() AND NOT EXISTS (
            SELECT 1 FROM component_status_changes WHERE component_id = NEW.id) THEN
        RETURN NULL;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status OR NEW.status_source IS DISTINCT FROM OLD.status_source THEN
        INSERT INTO component_status_changes (component_id, old_status, new_status, source, message, actor_key_id)
        VALUES (NEW.id, OLD.status, NEW.status, NEW.status_source,
                CASE WHEN NEW.status_source = 'manual' THEN NEW.manual_message END,
                CASE WHEN NEW.status_source = 'manual' THEN NEW.manual_actor END);
        IF NEW.status IS DISTINCT FROM OLD.status THEN
            PERFORM uptime_status_event('component.status_changed', NULL, NEW.id,
                                        jsonb_build_object('oldStatus', OLD.status));
        END IF;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status OR NEW.status_source IS DISTINCT FROM OLD.status_source
       OR NEW.auto_status IS DISTINCT FROM OLD.auto_status THEN
        PERFORM uptime_auto_incident(NEW, OLD.status, OLD.status_source);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER components_changed AFTER UPDATE ON components
    FOR EACH ROW EXECUTE FUNCTION uptime_components_changed();

-- At commit of the transaction that created a component: its first history
-- row (no old status) and, if it is already in an outage, its automatic
-- incident.
CREATE FUNCTION uptime_components_created() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c components;
BEGIN
    PERFORM uptime_refresh_component(NEW.id);
    SELECT * INTO c FROM components WHERE id = NEW.id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO component_status_changes (component_id, old_status, new_status, source, message, actor_key_id)
    VALUES (c.id, NULL, c.status, c.status_source,
            CASE WHEN c.status_source = 'manual' THEN c.manual_message END,
            CASE WHEN c.status_source = 'manual' THEN c.manual_actor END);
    PERFORM uptime_auto_incident(c, NULL, NULL);
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER components_created AFTER INSERT ON components
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION uptime_components_created();

-- A group follows its children. Refreshed at commit, after every child the
-- transaction touched, so a transaction locks children before groups and
-- two of them cannot deadlock over a group.
CREATE FUNCTION uptime_components_regroup() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.group_id IS NOT NULL THEN
        PERFORM uptime_refresh_component(OLD.group_id);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.group_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.group_id IS DISTINCT FROM OLD.group_id
            OR NEW.status IS DISTINCT FROM OLD.status OR NEW.has_data IS DISTINCT FROM OLD.has_data
            OR NEW.status_source IS DISTINCT FROM OLD.status_source) THEN
        PERFORM uptime_refresh_component(NEW.group_id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER components_regroup AFTER INSERT OR UPDATE OR DELETE ON components
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION uptime_components_regroup();

-- A monitor incident that opens after the automatic status incident of a
-- component its monitor drives (the monitor's status changes, and moves
-- the component, before its incident row is written) is linked to it.
CREATE FUNCTION uptime_link_monitor_incident() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO status_incident_monitor_incidents (incident_id, monitor_incident_id)
    SELECT si.id, NEW.id FROM status_incidents si
    JOIN component_monitors cm ON cm.component_id = si.auto_component_id
    WHERE cm.monitor_id = NEW.monitor_id AND si.resolved_at IS NULL
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER incidents_link_status_incident AFTER INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION uptime_link_monitor_incident();

-- An incident that is resolved or deleted, by the API or anything else,
-- hands the components it set back to their automatic status.
CREATE FUNCTION uptime_status_incident_closed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c components;
BEGIN
    UPDATE components SET manual_status = NULL, manual_message = NULL, manual_until = NULL,
        manual_actor = NULL, manual_incident_id = NULL, updated_at = now()
    WHERE manual_incident_id = OLD.id;
    -- Components it covered without an override, and still failing, are
    -- the automation's again (those with an override were handed back by
    -- the update above, whose trigger does the same).
    IF TG_OP = 'UPDATE' THEN
        FOR c IN SELECT comp.* FROM components comp
                 JOIN status_incident_components sic ON sic.component_id = comp.id
                 WHERE sic.incident_id = OLD.id ORDER BY comp.id LOOP
            PERFORM uptime_auto_incident(c, NULL, NULL);
        END LOOP;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER status_incidents_resolved AFTER UPDATE OF resolved_at ON status_incidents
    FOR EACH ROW WHEN (OLD.resolved_at IS NULL AND NEW.resolved_at IS NOT NULL)
    EXECUTE FUNCTION uptime_status_incident_closed();
CREATE TRIGGER status_incidents_deleted AFTER DELETE ON status_incidents
    FOR EACH ROW EXECUTE FUNCTION uptime_status_incident_closed();

-- Before a component is deleted (the API calls this in the same
-- transaction): its own override ends and its open automatic incident says
-- so and resolves, with its event, rather than staying open with nothing to
-- close it.
CREATE FUNCTION uptime_component_retire(component uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    incident uuid;
    name text;
BEGIN
    UPDATE components SET manual_status = NULL, manual_message = NULL, manual_until = NULL,
        manual_actor = NULL, manual_incident_id = NULL
    WHERE id = component AND manual_status IS NOT NULL;
    SELECT c.name INTO name FROM components c WHERE c.id = component;
    UPDATE status_incidents SET status = 'resolved', resolved_at = now(), updated_at = now()
    WHERE auto_component_id = component AND resolved_at IS NULL
    RETURNING id INTO incident;
    IF incident IS NOT NULL THEN
        INSERT INTO status_incident_updates (id, incident_id, status, body, automatic)
        VALUES (gen_random_uuid(), incident, 'resolved',
                'Resolved: ' || name || ' is no longer monitored here.', true);
        PERFORM uptime_status_event('status_incident.resolved', incident, NULL);
    END IF;
END;
$$;

-- A monitor whose status changed moves the components it drives.
CREATE FUNCTION uptime_monitor_status_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM uptime_refresh_component(cm.component_id)
    FROM component_monitors cm WHERE cm.monitor_id = NEW.id ORDER BY cm.component_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER monitors_status_changed AFTER UPDATE OF status ON monitors
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION uptime_monitor_status_changed();

-- Adding or removing a monitor (also by deleting it) moves the component.
CREATE FUNCTION uptime_component_monitors_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM uptime_refresh_component(OLD.component_id);
    ELSE
        PERFORM uptime_refresh_component(NEW.component_id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER component_monitors_changed AFTER INSERT OR DELETE ON component_monitors
    FOR EACH ROW EXECUTE FUNCTION uptime_component_monitors_changed();

-- Status-domain events belong to no monitor: one outbox row for every
-- enabled channel subscribed to the event type. A component.status_changed
-- within a channel's throttle window of the previous one for the same
-- component is stored as suppressed.
ALTER TABLE notification_events
    -- SET NULL: an event already queued is still delivered (and its
    -- attempts kept) when its component or incident is deleted.
    ADD COLUMN component_id       uuid REFERENCES components (id) ON DELETE SET NULL,
    ADD COLUMN status_incident_id uuid REFERENCES status_incidents (id) ON DELETE SET NULL;
CREATE INDEX notification_events_component_idx
    ON notification_events (component_id, channel_id, created_at DESC) WHERE component_id IS NOT NULL;

CREATE FUNCTION uptime_status_event(event_type text, incident uuid, component uuid,
                                    extra jsonb DEFAULT '{}') RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    body jsonb;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM notification_channels
                   WHERE enabled AND uptime_status_event.event_type = ANY (events)) THEN
        RETURN;
    END IF;
    IF component IS NOT NULL THEN
        SELECT jsonb_build_object('id', c.id, 'name', c.name, 'status', c.status,
                                  'statusSource', c.status_source, 'message',
                                  CASE WHEN c.status_source = 'manual' THEN c.manual_message END)
               || extra
        INTO body FROM components c WHERE c.id = component;
        body := jsonb_build_object('component', body);
    ELSE
        SELECT jsonb_build_object('id', si.id, 'name', si.name, 'impact', si.impact,
                   'status', si.status, 'startedAt', si.started_at, 'resolvedAt', si.resolved_at,
                   'automatic', si.auto_component_id IS NOT NULL AND NOT si.taken_over,
                   'latestUpdate', (SELECT jsonb_build_object('status', u.status, 'body', u.body,
                                                              'displayAt', u.display_at)
                                    FROM status_incident_updates u WHERE u.incident_id = si.id
                                    ORDER BY u.display_at DESC, u.id DESC LIMIT 1),
                   'components', (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                                      'id', c.id, 'name', c.name, 'status', c.status) ORDER BY c.name), '[]')
                                  FROM status_incident_components sic
                                  JOIN components c ON c.id = sic.component_id
                                  WHERE sic.incident_id = si.id))
               || extra
        INTO body FROM status_incidents si WHERE si.id = incident;
        body := jsonb_build_object('statusIncident', body);
    END IF;
    INSERT INTO notification_events (id, channel_id, event_type, payload, component_id,
                                     status_incident_id, status)
    SELECT e.id, ch.id, uptime_status_event.event_type,
           jsonb_build_object('type', uptime_status_event.event_type, 'id', e.id,
                              'timestamp', now()) || body,
           component, incident,
           CASE WHEN component IS NULL THEN 'pending'
                -- Back to operational: told if the change it ends was told.
                WHEN body #>> '{component,status}' = 'operational' THEN CASE WHEN (
                    SELECT p.status FROM notification_events p
                    WHERE p.component_id = component AND p.channel_id = ch.id
                      AND p.event_type = uptime_status_event.event_type
                    ORDER BY p.created_at DESC LIMIT 1) = 'suppressed'
                    THEN 'suppressed' ELSE 'pending' END
                WHEN ch.throttle_seconds > 0 AND EXISTS (
                    SELECT 1 FROM notification_events p
                    WHERE p.component_id = component AND p.channel_id = ch.id
                      AND p.event_type = uptime_status_event.event_type
                      AND p.status <> 'suppressed'
                      AND p.created_at > now() - make_interval(secs => ch.throttle_seconds))
                THEN 'suppressed' ELSE 'pending' END
    FROM notification_channels ch, LATERAL (SELECT gen_random_uuid() AS id) e
    WHERE ch.enabled AND uptime_status_event.event_type = ANY (ch.events);
END;
$$;
