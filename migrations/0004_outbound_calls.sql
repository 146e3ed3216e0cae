-- Outbound calls (issue 7): the server places survey and callback calls
-- through the carrier trunk. Each call record says which way it went and,
-- for an outbound call, why it was placed (toll-fraud audit: only these
-- purposes can dial out).

ALTER TABLE cdrs ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound'
    CHECK (direction IN ('inbound', 'outbound'));
ALTER TABLE cdrs ADD COLUMN purpose TEXT;

CREATE INDEX cdrs_direction ON cdrs (direction, arrived_at_ms);
