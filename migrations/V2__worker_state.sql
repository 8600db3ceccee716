-- State the worker keeps per monitor to open incidents with their real start
-- and first error, and the last error shown by the API.
ALTER TABLE monitors
    ADD COLUMN failing_since        timestamptz,
    ADD COLUMN first_failure_error  text,
    ADD COLUMN last_error           text;

-- Incident listing across monitors, newest first, and by time range.
CREATE INDEX incidents_started_idx ON incidents (started_at DESC, id DESC);
