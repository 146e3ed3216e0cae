-- Closed days of the ACD's statistics (issue 4 item 8): per queue and per
-- agent, written at local midnight as the JSON the API serves
-- (`GET /api/queues/days`). One row per local date; a restart during the
-- day starts the live figures afresh, closed days stay.
CREATE TABLE acd_days (
    day           TEXT PRIMARY KEY,
    report        TEXT NOT NULL,
    closed_at_ms  BIGINT NOT NULL
);
