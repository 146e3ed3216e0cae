-- What the contact centre records about calls besides the CDR (issue 4):
-- satisfaction survey results, callback requests and emergency transfers.
--
-- Portable between SQLite and PostgreSQL, like 0001: TEXT ids, BIGINT epoch
-- milliseconds (UTC), no engine-specific types.

-- Satisfaction surveys (measures §18-§22). `stage` is 'reception' (the caller
-- stayed on the line after the agent hung up) or 'handling' (the outbound
-- survey once a work order is done). `rating` 1 非常满意 ... 5 非常不满意;
-- NULL when the caller gave none.
CREATE TABLE surveys (
    id          TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL,
    stage       TEXT NOT NULL CHECK (stage IN ('reception', 'handling')),
    agent_id    TEXT,
    queue       TEXT,
    ticket_id   TEXT,
    rating      INTEGER CHECK (rating BETWEEN 1 AND 5),
    at_ms       BIGINT NOT NULL
);

CREATE INDEX surveys_at ON surveys (at_ms);
CREATE INDEX surveys_agent_id ON surveys (agent_id);
CREATE INDEX surveys_call_id ON surveys (call_id);

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

-- Emergency transfers (measures §9, §14): the linkage record a work order
-- references. `via`: api (the workstation's button), refer (the agent's
-- phone), ivr (the menu's emergency option). `outcome`: connected, or
-- failed:<SIP status>.
CREATE TABLE emergency_transfers (
    id               TEXT PRIMARY KEY,
    call_id          TEXT NOT NULL,
    number           TEXT NOT NULL,
    requested_by     TEXT NOT NULL,
    via              TEXT NOT NULL CHECK (via IN ('api', 'refer', 'ivr')),
    requested_at_ms  BIGINT NOT NULL,
    outcome          TEXT NOT NULL,
    completed_at_ms  BIGINT NOT NULL
);

CREATE INDEX emergency_transfers_call_id ON emergency_transfers (call_id);
CREATE INDEX emergency_transfers_at ON emergency_transfers (requested_at_ms);
