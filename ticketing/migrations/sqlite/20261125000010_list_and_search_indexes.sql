-- Keyset paging of the order list (store/order_list.rs): both sort orders
-- (newest first; most overdue first for late lists) end in the order id, so
-- the indexes that serve a list carry the id after the sort key and a page
-- "after (key, id)" is one index range.
DROP INDEX orders_created;
CREATE INDEX orders_created ON orders (created_at_ms, id);
DROP INDEX orders_next_due;
CREATE INDEX orders_next_due ON orders (next_due_ms, id);

-- A unit's lists filter on the order's state: the links carry it, at the
-- end of the indexes that serve those lists, so a unit's late view ("my
-- open orders past a deadline") checks the state in the index instead of
-- reading each order (a unit with thousands of late orders in other states
-- made that view read them all).
ALTER TABLE order_units ADD COLUMN state TEXT NOT NULL DEFAULT '';
UPDATE order_units SET state = (SELECT o.state FROM orders o WHERE o.id = order_units.order_id);
DROP INDEX order_units_unit_due;
CREATE INDEX order_units_unit_due ON order_units (unit_id, next_due_ms, order_id, state);
DROP INDEX order_units_unit_created;
CREATE INDEX order_units_unit_created ON order_units (unit_id, created_at_ms, order_id, state);

-- Knowledge search for two-character terms (医保, 社保: most Chinese words
-- are two characters). The trigram index cannot serve a term shorter than
-- three characters, so such a query scanned every article. Every article's
-- text is indexed as its set of character pairs (ASCII letters lower-cased),
-- written by the store with the article; a term's pair selects the
-- candidates and a LIKE then confirms the substring.
CREATE TABLE kb_pairs (
    pair       TEXT NOT NULL,
    article_id INTEGER NOT NULL,
    PRIMARY KEY (pair, article_id)
) WITHOUT ROWID;
CREATE INDEX kb_pairs_article ON kb_pairs (article_id);
INSERT OR IGNORE INTO kb_pairs (pair, article_id)
WITH RECURSIVE pos (id, t, i) AS (
    SELECT id, lower(title || ' ' || body), 1 FROM kb_articles
    UNION ALL
    SELECT id, t, i + 1 FROM pos WHERE i < length(t) - 1
)
SELECT substr(t, i, 2), id FROM pos WHERE substr(t, i, 2) NOT GLOB '*[ 	

]*';
-- Searches for common pairs walk the articles newest first.
CREATE INDEX kb_articles_updated ON kb_articles (updated_at_ms);
