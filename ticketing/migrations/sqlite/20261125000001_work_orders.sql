-- Work orders, units, users, knowledge base, supervision and the audit log
-- (issue 5; the city's measures §12–§30). SQLite flavour: the PostgreSQL
-- flavour in ../postgres has the same tables and columns; only identity
-- columns and the knowledge-base full-text index differ.
--
-- Times are BIGINT epoch milliseconds (UTC); flags are BIGINT 0/1 (portable
-- through sqlx's Any driver). A work order is kept as the domain's JSON
-- document (`data`) plus the columns that filters, reports and the
-- supervision sweep read, written together in one transaction.

CREATE TABLE units (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    district      TEXT,
    created_at_ms BIGINT NOT NULL
);

-- Unit users and administrators (agents and supervisors come from config).
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('unit', 'admin')),
    unit_id       TEXT REFERENCES units (id),
    display_name  TEXT NOT NULL,
    -- Argon2id PHC string; never the password.
    password_hash TEXT NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    CHECK ((role = 'unit') = (unit_id IS NOT NULL))
);

CREATE TABLE orders (
    id               TEXT PRIMARY KEY,
    -- Optimistic concurrency: every write is `... WHERE version = $seen`.
    version          BIGINT NOT NULL,
    state            TEXT NOT NULL,
    channel          TEXT NOT NULL,
    category         TEXT NOT NULL,
    topic            TEXT,
    district         TEXT,
    lead_unit        TEXT,
    -- Co-handling units and recused staff as `,a,b,` (member test: LIKE).
    co_units         TEXT NOT NULL DEFAULT '',
    caller_number    TEXT,
    confidential     BIGINT NOT NULL,
    call_id          TEXT,
    created_by       TEXT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    updated_at_ms    BIGINT NOT NULL,
    -- Deadlines and when they were met (NULL: not yet / not applicable).
    sign_due_ms      BIGINT,
    signed_at_ms     BIGINT,
    respond_due_ms   BIGINT,
    responded_at_ms  BIGINT,
    complete_due_ms  BIGINT,
    completed_at_ms  BIGINT,
    reply_due_ms     BIGINT,
    replied_at_ms    BIGINT,
    -- The earliest open deadline: "overdue" is `next_due_ms < now`.
    next_due_ms      BIGINT,
    extensions       BIGINT NOT NULL DEFAULT 0,
    returns          BIGINT NOT NULL DEFAULT 0,
    -- The survey result that counts (1..5, §21–22), once there is one.
    satisfaction     BIGINT,
    -- The latest reception-stage survey on the order (rates the agent).
    reception_score  BIGINT,
    recused          TEXT NOT NULL DEFAULT '',
    data             TEXT NOT NULL
);

CREATE INDEX orders_state_created ON orders (state, created_at_ms);
CREATE INDEX orders_created ON orders (created_at_ms);
CREATE INDEX orders_lead_unit_created ON orders (lead_unit, created_at_ms);
CREATE INDEX orders_category_created ON orders (category, created_at_ms);
CREATE INDEX orders_caller_created ON orders (caller_number, created_at_ms);
CREATE INDEX orders_next_due ON orders (next_due_ms);
CREATE INDEX orders_call_id ON orders (call_id);

-- Every unit an order is dispatched to (lead and co-handling, §16.3): unit
-- users see the orders listed here for their unit.
CREATE TABLE order_units (
    order_id TEXT NOT NULL REFERENCES orders (id),
    unit_id  TEXT NOT NULL,
    role     TEXT NOT NULL CHECK (role IN ('lead', 'co')),
    -- The order's creation time, so a unit's list walks this index newest
    -- first and stops at the page.
    created_at_ms BIGINT NOT NULL,
    -- The order's running deadline: a unit's overdue list is an index range.
    next_due_ms   BIGINT,
    PRIMARY KEY (order_id, unit_id)
);
CREATE INDEX order_units_unit_created ON order_units (unit_id, created_at_ms, order_id);
CREATE INDEX order_units_unit_due ON order_units (unit_id, next_due_ms);

-- Append-only: the store never updates or deletes a row here.
CREATE TABLE order_history (
    order_id   TEXT NOT NULL REFERENCES orders (id),
    seq        BIGINT NOT NULL,
    at_ms      BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    -- The actor's unit (unit users): extension and return counts by unit.
    unit       TEXT,
    action     TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (order_id, seq)
);
CREATE INDEX order_history_action ON order_history (action, at_ms);

-- Order numbers `MM` + date + daily sequence.
CREATE TABLE order_numbers (
    day  TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);

-- Drafts (§15, §16.1): every answered call opens one; the agent completes
-- it into an order or "no order needed".
CREATE TABLE drafts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id         TEXT NOT NULL,
    agent_id        TEXT NOT NULL,
    status          TEXT NOT NULL,
    answered_at_ms  BIGINT NOT NULL,
    completed_at_ms BIGINT,
    order_id        TEXT,
    data            TEXT NOT NULL
);
CREATE INDEX drafts_status ON drafts (status, answered_at_ms);
CREATE INDEX drafts_call ON drafts (call_id);

-- Emergency linkage (§9, §14): line, time, agent, call and outcome; on the
-- call's draft first, on the order once there is one.
CREATE TABLE emergency_linkages (
    id       TEXT PRIMARY KEY,
    draft_id BIGINT,
    order_id TEXT,
    call_id  TEXT NOT NULL,
    line     TEXT NOT NULL,
    agent    TEXT NOT NULL,
    at_ms    BIGINT NOT NULL,
    outcome  TEXT NOT NULL
);
CREATE INDEX emergency_linkages_order ON emergency_linkages (order_id);
CREATE INDEX emergency_linkages_at ON emergency_linkages (at_ms);

-- Satisfaction surveys (§18–§22): one row per survey result; the call side
-- (issue 4) writes reception-stage rows, the order side handling-stage ones.
CREATE TABLE surveys (
    id        TEXT PRIMARY KEY,
    stage     TEXT NOT NULL CHECK (stage IN ('reception', 'handling')),
    order_id  TEXT,
    call_id   TEXT,
    agent_id  TEXT,
    unit_id   TEXT,
    -- The queue the call came through (reception stage).
    queue     TEXT,
    -- NULL: the caller pressed no valid key ("no rating", §19).
    score     BIGINT CHECK (score BETWEEN 1 AND 5),
    final     BIGINT NOT NULL DEFAULT 1,
    at_ms     BIGINT NOT NULL
);
CREATE INDEX surveys_order ON surveys (order_id);
CREATE INDEX surveys_agent ON surveys (agent_id, at_ms);
CREATE INDEX surveys_unit ON surveys (unit_id, at_ms);

CREATE TABLE kb_articles (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    version         BIGINT NOT NULL,
    unit_id         TEXT NOT NULL,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL,
    topic           TEXT,
    effective_on    TEXT NOT NULL,
    upload_due_ms   BIGINT NOT NULL,
    published_at_ms BIGINT,
    created_at_ms   BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL,
    data            TEXT NOT NULL
);
CREATE INDEX kb_articles_unit ON kb_articles (unit_id);
CREATE INDEX kb_articles_status_due ON kb_articles (status, upload_due_ms);

-- Trigram tokens: matches any substring of 3+ characters, which is what
-- Chinese text (no spaces between words) needs; shorter queries fall back
-- to LIKE.
CREATE VIRTUAL TABLE kb_fts USING fts5 (
    title, body, content = 'kb_articles', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER kb_articles_ai AFTER INSERT ON kb_articles BEGIN
    INSERT INTO kb_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER kb_articles_ad AFTER DELETE ON kb_articles BEGIN
    INSERT INTO kb_fts (kb_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER kb_articles_au AFTER UPDATE OF title, body ON kb_articles BEGIN
    INSERT INTO kb_fts (kb_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO kb_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;

-- Gaps agents report in the knowledge base (§25: fixed within 5 working days).
CREATE TABLE kb_gaps (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id        TEXT NOT NULL,
    article_id     BIGINT,
    kind           TEXT NOT NULL,
    reported_by    TEXT NOT NULL,
    reported_at_ms BIGINT NOT NULL,
    fix_due_ms     BIGINT NOT NULL,
    fixed_at_ms    BIGINT,
    data           TEXT NOT NULL
);
CREATE INDEX kb_gaps_open ON kb_gaps (fixed_at_ms, fix_due_ms);

-- Supervision records (督办, §26) raised by the periodic sweep; `key` makes
-- raising idempotent (the sweep skips keys already stored).
CREATE TABLE supervision (
    key          TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    tier         TEXT NOT NULL,
    order_id     TEXT,
    knowledge_id BIGINT,
    unit_id      TEXT,
    district     TEXT,
    raised_at_ms BIGINT NOT NULL,
    data         TEXT NOT NULL
);
CREATE INDEX supervision_raised ON supervision (raised_at_ms);
CREATE INDEX supervision_order ON supervision (order_id);
CREATE INDEX supervision_unit ON supervision (unit_id, raised_at_ms);

-- Every change made through the API: who, what, when, from where.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms       BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    client_ip   TEXT,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
CREATE INDEX audit_log_at ON audit_log (at_ms);
