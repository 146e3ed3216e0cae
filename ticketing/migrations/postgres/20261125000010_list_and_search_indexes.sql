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
-- three characters, so such a query was a sequential scan. Every article's
-- text is kept as its set of character pairs (a stored column, so a check
-- never recomputes it) with a GIN index: a two-character term is the
-- articles whose pairs contain it (`pairs @> kb_bigrams(term)`). Pairs never
-- span white space and title and body are joined with a space, so that is
-- exactly "the term is in the title or the body" (case folded as ILIKE).
CREATE FUNCTION kb_bigrams(t text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT coalesce(array_agg(DISTINCT g), '{}')
    FROM (SELECT substr(lower(t), i, 2) AS g
          FROM generate_series(1, char_length(t) - 1) AS i) AS pairs
    WHERE g !~ '[[:space:]]'
$$;
ALTER TABLE kb_articles ADD COLUMN pairs text[]
    GENERATED ALWAYS AS (kb_bigrams(title || ' ' || body)) STORED;
CREATE INDEX kb_articles_pairs ON kb_articles USING gin (pairs);
-- A common pair (医保 in a third of the articles) is cheaper to check while
-- walking the articles newest first, which stops at the page; the planner
-- chooses between the two from the pair column's element statistics.
CREATE INDEX kb_articles_updated ON kb_articles (updated_at_ms);
