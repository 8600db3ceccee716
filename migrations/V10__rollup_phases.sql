-- Phase times in the rollups, so a chart over days can show where the time
-- goes (dns, connect, tls, first byte) as it does over raw results.
--
-- timed_checks counts the checks that did not fail (up or degraded), in or
-- out of maintenance; the *_sum_ms columns add their phase times (a phase a
-- check did not go through adds nothing), so sum / timed_checks is the mean
-- over those checks, and the four means stack (they add up to the mean of
-- the phases' sum). Rows rolled before this migration keep NULL: their
-- phases are unknown.
ALTER TABLE check_rollups_hourly
    ADD COLUMN timed_checks    integer,
    ADD COLUMN dns_sum_ms      double precision,
    ADD COLUMN connect_sum_ms  double precision,
    ADD COLUMN tls_sum_ms      double precision,
    ADD COLUMN ttfb_sum_ms     double precision;

ALTER TABLE check_rollups_daily
    ADD COLUMN timed_checks    integer,
    ADD COLUMN dns_sum_ms      double precision,
    ADD COLUMN connect_sum_ms  double precision,
    ADD COLUMN tls_sum_ms      double precision,
    ADD COLUMN ttfb_sum_ms     double precision;
