-- What the contact centre records about calls besides the CDR (issue 4):
-- callback requests. (Survey results go to the work-order store's `surveys`
-- table and emergency transfers to its `emergency_linkages`, with the call's
-- draft, so that reports and orders see them.)
--
-- Portable between SQLite and PostgreSQL, like 0001: TEXT ids, BIGINT epoch
-- milliseconds (UTC), no engine-specific types.

-- Callers who chose to be called back rather than wait (or whom nobody could
-- take). `reason`: max_wait, no_agents, closed, menu.
CREATE TABLE callback_requests (
    id               TEXT PRIMARY KEY,
    call_id          TEXT NOT NULL,
    caller_number    TEXT NOT NULL,
    number           TEXT NOT NULL,
    queue            TEXT,
    reason           TEXT NOT NULL,
    language         TEXT NOT NULL,
    requested_at_ms  BIGINT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('open', 'claimed', 'done'))
);

CREATE INDEX callback_requests_status ON callback_requests (status, requested_at_ms);
