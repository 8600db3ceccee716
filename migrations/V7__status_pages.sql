-- Public status pages: what an operator publishes, section by section.

CREATE TABLE status_pages (
    id                   uuid PRIMARY KEY,
    slug                 text        NOT NULL UNIQUE
        CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'),
    title                text        NOT NULL,
    description          text,
    logo_url             text,
    homepage_url         text,
    published            boolean     NOT NULL DEFAULT false,
    uptime_days          integer     NOT NULL DEFAULT 90 CHECK (uptime_days IN (30, 60, 90)),
    history_days         integer     NOT NULL DEFAULT 14 CHECK (history_days BETWEEN 1 AND 365),
    footer_text          text,
    theme                text        NOT NULL DEFAULT 'auto' CHECK (theme IN ('auto', 'light', 'dark')),
    custom_domain        text        UNIQUE,
    show_monitor_details boolean     NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Ordered sections, each an ordered list of components (a group brings its
-- children, in their order).
CREATE TABLE status_page_sections (
    page_id       uuid    NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    position      integer NOT NULL,
    name          text    NOT NULL,
    component_ids uuid[]  NOT NULL DEFAULT '{}',
    PRIMARY KEY (page_id, position)
);
CREATE INDEX status_page_sections_components_idx ON status_page_sections USING gin (component_ids);

-- Something a published page shows changed: API instances rebuild their
-- snapshots (they also rebuild every few seconds without it).
CREATE FUNCTION uptime_status_pages_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('uptime_status_pages', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;
CREATE TRIGGER status_pages_changed AFTER INSERT OR UPDATE OR DELETE ON status_pages
    FOR EACH STATEMENT EXECUTE FUNCTION uptime_status_pages_changed();
CREATE TRIGGER status_page_sections_changed AFTER INSERT OR UPDATE OR DELETE ON status_page_sections
    FOR EACH STATEMENT EXECUTE FUNCTION uptime_status_pages_changed();
CREATE TRIGGER components_page_changed AFTER INSERT OR UPDATE OR DELETE ON components
    FOR EACH STATEMENT EXECUTE FUNCTION uptime_status_pages_changed();
CREATE TRIGGER status_incidents_page_changed AFTER INSERT OR UPDATE OR DELETE ON status_incidents
    FOR EACH STATEMENT EXECUTE FUNCTION uptime_status_pages_changed();
CREATE TRIGGER status_incident_updates_page_changed AFTER INSERT OR UPDATE OR DELETE ON status_incident_updates
    FOR EACH STATEMENT EXECUTE FUNCTION uptime_status_pages_changed();
CREATE TRIGGER maintenance_windows_page_changed AFTER INSERT OR UPDATE OR DELETE ON maintenance_windows
    FOR EACH STATEMENT EXECUTE FUNCTION uptime_status_pages_changed();
CREATE TRIGGER maintenance_occurrences_page_changed AFTER UPDATE ON maintenance_occurrences
    FOR EACH STATEMENT EXECUTE FUNCTION uptime_status_pages_changed();
