-- Callback requests dialled automatically (issue 7 item 4, queues with
-- `callbacks_first`): attempts at reaching the citizen, the earliest time of
-- the next one, and a `failed` status after the last attempt. The table is
-- rebuilt because SQLite cannot change a CHECK constraint in place; the
-- statements are portable between SQLite and PostgreSQL.

CREATE TABLE callback_requests_v2 (
    id               TEXT PRIMARY KEY,
    call_id          TEXT NOT NULL,
    caller_number    TEXT NOT NULL,
    number           TEXT NOT NULL,
    queue            TEXT,
    reason           TEXT NOT NULL,
    language         TEXT NOT NULL,
    requested_at_ms  BIGINT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('open', 'claimed', 'done', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    retry_at_ms      BIGINT
);

INSERT INTO callback_requests_v2 (id, call_id, caller_number, number, queue, reason,
    language, requested_at_ms, status)
SELECT id, call_id, caller_number, number, queue, reason, language, requested_at_ms, status
FROM callback_requests;

DROP TABLE callback_requests;
ALTER TABLE callback_requests_v2 RENAME TO callback_requests;
CREATE INDEX callback_requests_status ON callback_requests (status, requested_at_ms);
