-- The handling-stage survey campaign and the callback task list (issue 7;
-- measures §18–§22). Same tables on both engines (../postgres).
--
-- Times are BIGINT epoch milliseconds (UTC).

-- One job per order and survey round: the UNIQUE key is what guarantees
-- that a restart or a race never calls a citizen twice for the same order
-- and round. `attempts` counts the calls made (claimed before dialling, so
-- a crash mid-call counts); `slots` numbers every claim, given back or not,
-- and keys the attempt history.
CREATE TABLE survey_jobs (
    id              TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL REFERENCES orders (id),
    round           BIGINT NOT NULL,
    number          TEXT NOT NULL,
    language        TEXT NOT NULL,
    status          TEXT NOT NULL
        CHECK (status IN ('pending', 'calling', 'rated', 'unreachable', 'cancelled')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    slots           BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    rating          BIGINT CHECK (rating BETWEEN 1 AND 5),
    created_at_ms   BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL,
    UNIQUE (order_id, round)
);
CREATE INDEX survey_jobs_due ON survey_jobs (status, next_attempt_ms);

-- Every call of a job and how it ended (`outcome` NULL while the call is
-- under way; a claim the trunk had no room for leaves no row).
CREATE TABLE survey_attempts (
    job_id        TEXT NOT NULL REFERENCES survey_jobs (id),
    slot          BIGINT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    ended_at_ms   BIGINT,
    outcome       TEXT,
    call_id       TEXT,
    PRIMARY KEY (job_id, slot)
);

-- Calls back to citizens: `dissatisfied` (a first-round 4 or 5, §21; id
-- `<order>:r<round>`) and `request` (a caller who chose a callback in the
-- queue; id `request:<callback_requests.id>`). One agent holds a task at a
-- time, until `claim_expires_ms`.
CREATE TABLE callback_tasks (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('dissatisfied', 'request')),
    order_id         TEXT,
    round            BIGINT,
    request_id       TEXT,
    number           TEXT NOT NULL,
    queue            TEXT,
    status           TEXT NOT NULL CHECK (status IN ('open', 'claimed', 'done')),
    claimed_by       TEXT,
    claim_expires_ms BIGINT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    last_outcome     TEXT,
    last_call_id     TEXT,
    cause            TEXT,
    notes            TEXT,
    done_by          TEXT,
    created_at_ms    BIGINT NOT NULL,
    done_at_ms       BIGINT
);
CREATE INDEX callback_tasks_status ON callback_tasks (status, created_at_ms);
CREATE INDEX callback_tasks_order ON callback_tasks (order_id);
