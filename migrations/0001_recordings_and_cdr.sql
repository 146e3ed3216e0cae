-- Call recordings and call detail records (DESIGN.md Telephony 7).
--
-- Portable between SQLite and PostgreSQL: TEXT ids, BIGINT epoch
-- milliseconds (UTC) for times, no engine-specific types or defaults.

CREATE TABLE recordings (
    id             TEXT PRIMARY KEY,
    call_id        TEXT NOT NULL,
    caller_number  TEXT NOT NULL,
    agent_id       TEXT,
    -- Work order the call produced; set when the agent saves the ticket.
    ticket_id      TEXT,
    started_at_ms  BIGINT NOT NULL,
    ended_at_ms    BIGINT NOT NULL,
    duration_ms    BIGINT NOT NULL,
    path           TEXT NOT NULL UNIQUE,
    size_bytes     BIGINT NOT NULL,
    sha256         TEXT NOT NULL,
    -- Frames lost between the relay and the writer (slow disk): a recording
    -- with holes must be recognisable as such.
    dropped_frames BIGINT NOT NULL
);

CREATE INDEX recordings_call_id ON recordings (call_id);
CREATE INDEX recordings_started_at ON recordings (started_at_ms);
CREATE INDEX recordings_ended_at ON recordings (ended_at_ms);
CREATE INDEX recordings_agent_id ON recordings (agent_id);
CREATE INDEX recordings_ticket_id ON recordings (ticket_id);

CREATE TABLE cdrs (
    call_id        TEXT PRIMARY KEY,
    caller_number  TEXT NOT NULL,
    did            TEXT NOT NULL,
    agent_id       TEXT,
    arrived_at_ms  BIGINT NOT NULL,
    answered_at_ms BIGINT,
    ended_at_ms    BIGINT NOT NULL,
    hangup_by      TEXT NOT NULL CHECK (hangup_by IN ('caller', 'agent', 'system')),
    reason         TEXT NOT NULL,
    -- Retention deletes recordings long before call records: the link is
    -- cleared, the call record stays.
    recording_id   TEXT REFERENCES recordings (id) ON DELETE SET NULL
);

CREATE INDEX cdrs_arrived_at ON cdrs (arrived_at_ms);
CREATE INDEX cdrs_caller_number ON cdrs (caller_number);
CREATE INDEX cdrs_agent_id ON cdrs (agent_id);
