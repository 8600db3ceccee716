-- An SLA target on monitors, as components have one: the availability, in
-- percent, a monitor is meant to reach over a reporting period (a month, a
-- quarter, a year). NULL: no target, and no SLA report.
ALTER TABLE monitors
    ADD COLUMN sla_target double precision CHECK (sla_target > 0 AND sla_target < 100);
