-- A status page's logo, fetched by the API from the page's logo_url and
-- served from the page's own origin (the page policy allows no other), so
-- it shows even when its source is down. One row per page with a logo URL:
-- the image fetched from source_url (or the error of the last attempt).
CREATE TABLE status_page_logos (
    page_id      uuid PRIMARY KEY REFERENCES status_pages (id) ON DELETE CASCADE,
    source_url   text        NOT NULL,
    content_type text,
    bytes        bytea,
    -- Hex SHA-256 of bytes: the served path and ETag.
    sha256       text,
    fetched_at   timestamptz,
    error        text,
    -- The start of the latest attempt: an API instance claims a fetch by
    -- moving it, so instances do not fetch the same logo at once.
    attempted_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((bytes IS NULL) = (sha256 IS NULL) AND (bytes IS NULL) = (content_type IS NULL)),
    CHECK (octet_length(bytes) <= 262144)
);

-- Per row, not per statement: the fetchers' claim and clean-up statements
-- usually change nothing, and must not wake every instance (and so
-- themselves) when they do not.
CREATE TRIGGER status_page_logos_changed AFTER INSERT OR UPDATE OR DELETE ON status_page_logos
    FOR EACH ROW EXECUTE FUNCTION uptime_status_pages_changed();
