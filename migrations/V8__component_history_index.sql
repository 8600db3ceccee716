-- Uptime over a range reads a component's history from the last change
-- at or before the range's start: one index probe back, then a range scan,
-- instead of every change the component ever had.
CREATE INDEX component_status_changes_component_at_idx
    ON component_status_changes (component_id, at, id);
