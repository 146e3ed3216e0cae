-- Keyset paging of the order list (store/order_list.rs): both sort orders
-- (newest first; most overdue first for late lists) end in the order id, so
-- the indexes that serve a list carry the id after the sort key and a page
-- "after (key, id)" is one index range.
DROP INDEX orders_created;
CREATE INDEX orders_created ON orders (created_at_ms, id);
DROP INDEX orders_next_due;
CREATE INDEX orders_next_due ON orders (next_due_ms, id);
DROP INDEX order_units_unit_due;
CREATE INDEX order_units_unit_due ON order_units (unit_id, next_due_ms, order_id);
