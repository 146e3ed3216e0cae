//! The order list: filters, the two sort orders and keyset paging.
//!
//! A list is sorted newest first, except a list of late orders (an
//! `overdue_at_ms` filter), which is sorted most overdue first: the earliest
//! missed deadline on top, which is what a unit or the hotline works through.
//! Both orders end in the order id, so every position is unique and a page can
//! start right after the last order of the previous one ([`Cursor`]): each
//! page then costs what the first one does, however deep (with `OFFSET` the
//! database steps over every skipped row). `OFFSET` paging is still accepted
//! for clients that jump to a page number.
//!
//! The page is chosen on the narrow indexed columns first and only its rows'
//! documents are read. A unit filter walks that unit's links (`order_units`
//! carries the creation time and the next deadline) in the list's order, so
//! it stops at the page instead of sorting all of the unit's orders.

use super::orders::{order_from_row, ORDER_COLUMNS};
use super::{to_i64, OrderRow, Result, Store};

/// Filters of the order list; `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub states: Vec<String>,
    /// Orders dispatched to this unit (lead or co-handling).
    pub unit: Option<String>,
    pub category: Option<String>,
    /// Only orders past an open deadline at this instant (epoch ms); the
    /// list is then sorted most overdue first.
    pub overdue_at_ms: Option<i64>,
    pub caller_number: Option<String>,
    /// Created at or after (epoch ms).
    pub created_from_ms: Option<i64>,
    /// Created before (epoch ms).
    pub created_to_ms: Option<i64>,
    /// Leave out orders this user is recused from.
    pub not_recused: Option<String>,
}

impl OrderFilter {
    fn most_overdue_first(&self) -> bool {
        self.overdue_at_ms.is_some()
    }
}

/// A position in an order list: the next page starts after the order with
/// this sort key (creation time, or next deadline for late lists) and id.
/// Opaque to API clients (see [`Cursor::encode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    key_ms: i64,
    id: String,
}

impl Cursor {
    /// The position right after `row` in the list of `filter`.
    pub fn after(row: &OrderRow, filter: &OrderFilter) -> Self {
        let key_ms = if filter.most_overdue_first() {
            row.next_due_ms.unwrap_or(i64::MIN)
        } else {
            row.created_at_ms
        };
        Cursor {
            key_ms,
            id: row.id.clone(),
        }
    }

    /// The text form for a URL: `<key>.<order id>`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.key_ms, self.id)
    }

    /// Parses [`Cursor::encode`]'s form; `None` if it is not one.
    pub fn decode(text: &str) -> Option<Self> {
        let (key, id) = text.split_once('.')?;
        let ok_id = !id.is_empty()
            && id.len() <= 64
            && !id.chars().any(|c| c.is_whitespace() || c.is_control());
        ok_id.then_some(())?;
        Some(Cursor {
            key_ms: key.parse().ok()?,
            id: id.to_owned(),
        })
    }
}

/// Where a page of the order list starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStart {
    /// Skip this many orders (slower the deeper the page).
    Offset(u64),
    /// Right after this position (as cheap as the first page).
    After(Cursor),
}

impl Default for PageStart {
    fn default() -> Self {
        PageStart::Offset(0)
    }
}

/// A bind value of a dynamically built query.
enum Arg {
    Text(String),
    Int(i64),
}

impl Store {
    /// A page of orders matching `filter`, newest first (most overdue first
    /// for a late list), starting at `start`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_orders(
        &self,
        filter: &OrderFilter,
        limit: u32,
        start: &PageStart,
    ) -> Result<Vec<OrderRow>> {
        let mut args: Vec<Arg> = Vec::new();
        let next = |args: &mut Vec<Arg>, a: Arg| {
            args.push(a);
            format!("${}", args.len())
        };
        let late = filter.most_overdue_first();
        // The sort column has the same name in `orders` and `order_units`.
        let column = if late { "next_due_ms" } else { "created_at_ms" };
        // The sort columns of the inner query: (key, id).
        let (mut sql, key, id) = match &filter.unit {
            // A caller filter is selective on its own index and takes the
            // unit as a membership test.
            Some(unit) if filter.caller_number.is_some() => {
                let p = next(&mut args, Arg::Text(unit.clone()));
                (
                    format!(
                        "SELECT o.id FROM orders o WHERE o.id IN \
                         (SELECT order_id FROM order_units WHERE unit_id = {p})"
                    ),
                    format!("o.{column}"),
                    "o.id",
                )
            }
            // A unit's list walks its links in the list's order; its late
            // list is a range of its links' deadlines.
            Some(unit) => {
                let p = next(&mut args, Arg::Text(unit.clone()));
                (
                    format!(
                        "SELECT o.id FROM order_units u JOIN orders o ON o.id = u.order_id \
                         WHERE u.unit_id = {p}"
                    ),
                    format!("u.{column}"),
                    "u.order_id",
                )
            }
            None => (
                String::from("SELECT o.id FROM orders o WHERE 1 = 1"),
                format!("o.{column}"),
                "o.id",
            ),
        };
        if let Some(at) = filter.overdue_at_ms {
            let p = next(&mut args, Arg::Int(at));
            sql.push_str(&format!(" AND {key} < {p}"));
        }
        if !filter.states.is_empty() {
            let ps: Vec<String> = filter
                .states
                .iter()
                .map(|s| next(&mut args, Arg::Text(s.clone())))
                .collect();
            // A unit's links carry the state in their index: checked there
            // before the order is read.
            let column = if id == "u.order_id" {
                "u.state"
            } else {
                "o.state"
            };
            sql.push_str(&format!(" AND {column} IN ({})", ps.join(", ")));
        }
        if let Some(c) = &filter.category {
            let p = next(&mut args, Arg::Text(c.clone()));
            sql.push_str(&format!(" AND o.category = {p}"));
        }
        if let Some(n) = &filter.caller_number {
            let p = next(&mut args, Arg::Text(n.clone()));
            sql.push_str(&format!(" AND o.caller_number = {p}"));
        }
        if let Some(t) = filter.created_from_ms {
            let p = next(&mut args, Arg::Int(t));
            sql.push_str(&format!(" AND o.created_at_ms >= {p}"));
        }
        if let Some(t) = filter.created_to_ms {
            let p = next(&mut args, Arg::Int(t));
            sql.push_str(&format!(" AND o.created_at_ms < {p}"));
        }
        if let Some(u) = &filter.not_recused {
            let p = next(&mut args, Arg::Text(format!("%,{u},%")));
            sql.push_str(&format!(" AND o.recused NOT LIKE {p}"));
        }
        let (dir, cmp) = if late { ("ASC", ">") } else { ("DESC", "<") };
        let offset = match start {
            PageStart::Offset(n) => *n,
            PageStart::After(c) => {
                // A row value comparison: both engines turn it into one
                // index range on (key, id).
                let pk = next(&mut args, Arg::Int(c.key_ms));
                let pi = next(&mut args, Arg::Text(c.id.clone()));
                sql.push_str(&format!(" AND ({key}, {id}) {cmp} ({pk}, {pi})"));
                0
            }
        };
        let pl = next(&mut args, Arg::Int(i64::from(limit)));
        sql.push_str(&format!(" ORDER BY {key} {dir}, {id} {dir} LIMIT {pl}"));
        if offset > 0 {
            let po = next(&mut args, Arg::Int(to_i64(offset)));
            sql.push_str(&format!(" OFFSET {po}"));
        }
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE id IN ({sql}) \
             ORDER BY {column} {dir}, id {dir}"
        );
        let mut q = sqlx::query(&sql);
        for a in &args {
            q = match a {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(order_from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let c = Cursor {
            key_ms: 1_764_000_000_123,
            id: "MM20261125000042".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        let negative = Cursor {
            key_ms: -5,
            id: "MM1".into(),
        };
        assert_eq!(Cursor::decode(&negative.encode()), Some(negative));
        for junk in [
            "",
            "12",
            ".MM1",
            "12.",
            "x.MM1",
            "12.MM 1",
            "99999999999999999999.MM1",
        ] {
            assert_eq!(Cursor::decode(junk), None, "{junk:?}");
        }
    }
}
