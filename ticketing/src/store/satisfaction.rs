//! Satisfaction reports (§18–§23): both survey stages, per lead unit, per
//! agent or per category, one row per key and stage.
//!
//! Sources: an order's final handling-stage score (`orders.satisfaction`,
//! §22: after a redo, the second survey) and its reception-stage score
//! (`orders.reception_score`); for the per-agent report also the reception
//! surveys the call side stored without an order (`surveys`). The agent of
//! an order is the one who took it (`created_by`). Orders count by creation
//! time, call-side surveys by their own time.
//!
//! Rates: `satisfied_rate` is 满意 + 非常满意 (scores 1–2) over all answers,
//! the figure the city publishes; `basically_satisfied_rate` adds 基本满意
//! (3). `mean_score` runs from 1 (best) to 5.

use std::collections::BTreeMap;

use sqlx::Row;

use super::reports::{ratio, Cell, Report, ReportParams, Table};
use super::{Result, Store};

/// Column names of a satisfaction report after the key.
const COLUMNS: [&str; 10] = [
    "stage",
    "surveys",
    "very_satisfied",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "very_dissatisfied",
    "satisfied_rate",
    "basically_satisfied_rate",
    "mean_score",
];

fn sql(key: &str, call_side: bool) -> String {
    let range = "created_at_ms >= $1 AND created_at_ms < $2";
    let mut parts = vec![
        format!(
            "SELECT {key} AS k, 'handling' AS st, satisfaction AS s, COUNT(*) AS n FROM orders \
             WHERE {range} AND satisfaction IS NOT NULL AND {key} IS NOT NULL \
             GROUP BY {key}, satisfaction"
        ),
        format!(
            "SELECT {key} AS k, 'reception' AS st, reception_score AS s, COUNT(*) AS n FROM orders \
             WHERE {range} AND reception_score IS NOT NULL AND {key} IS NOT NULL \
             GROUP BY {key}, reception_score"
        ),
    ];
    if call_side {
        parts.push(
            "SELECT agent_id AS k, 'reception' AS st, score AS s, COUNT(*) AS n FROM surveys \
             WHERE at_ms >= $1 AND at_ms < $2 AND stage = 'reception' \
             AND order_id IS NULL AND agent_id IS NOT NULL AND score IS NOT NULL \
             GROUP BY agent_id, score"
                .to_owned(),
        );
    }
    format!(
        "SELECT k, st, s, CAST(SUM(n) AS BIGINT) AS n FROM ({}) x GROUP BY k, st, s",
        parts.join(" UNION ALL ")
    )
}

/// One row from the five counts of a key and stage.
fn row(key: String, stage: String, c: [i64; 5]) -> Vec<Cell> {
    let total: i64 = c.iter().sum();
    let weighted: i64 = c.iter().zip(1..).map(|(n, score)| n * score).sum();
    let mut row = vec![Cell::Text(key), Cell::Text(stage), Cell::Int(total)];
    row.extend(c.iter().map(|n| Cell::Int(*n)));
    row.push(ratio(c[0] + c[1], total));
    row.push(ratio(c[0] + c[1] + c[2], total));
    row.push(ratio(weighted, total));
    row
}

impl Store {
    /// A satisfaction report (`report` is one of the three).
    pub(super) async fn satisfaction(&self, report: Report, p: &ReportParams) -> Result<Table> {
        let (key, name, call_side) = match report {
            Report::SatisfactionByAgent => ("created_by", "agent", true),
            Report::SatisfactionByCategory => ("category", "category", false),
            _ => ("lead_unit", "unit", false),
        };
        let rows = sqlx::query(&sql(key, call_side))
            .bind(p.from_ms)
            .bind(p.to_ms)
            .fetch_all(&self.pool)
            .await?;
        let mut by: BTreeMap<(String, String), [i64; 5]> = BTreeMap::new();
        for r in rows {
            let k: String = r.try_get("k")?;
            let st: String = r.try_get("st")?;
            let s: i64 = r.try_get("s")?;
            let n: i64 = r.try_get("n")?;
            if let Some(slot) = usize::try_from(s - 1).ok().filter(|i| *i < 5) {
                by.entry((k, st)).or_default()[slot] += n;
            }
        }
        let mut columns = vec![name];
        columns.extend(COLUMNS);
        Ok(Table {
            columns,
            rows: by.into_iter().map(|((k, st), c)| row(k, st, c)).collect(),
        })
    }

    /// Totals per stage over every order (and call-side survey) in range:
    /// the headline of the published summary.
    ///
    /// # Errors
    /// Database errors.
    pub async fn satisfaction_totals(&self, p: &ReportParams) -> Result<Table> {
        // Keyed by category (never NULL) and summed over the keys.
        let rows = sqlx::query(&sql("category", true))
            .bind(p.from_ms)
            .bind(p.to_ms)
            .fetch_all(&self.pool)
            .await?;
        let mut by: BTreeMap<String, [i64; 5]> = BTreeMap::new();
        for r in rows {
            let st: String = r.try_get("st")?;
            let s: i64 = r.try_get("s")?;
            let n: i64 = r.try_get("n")?;
            if let Some(slot) = usize::try_from(s - 1).ok().filter(|i| *i < 5) {
                by.entry(st).or_default()[slot] += n;
            }
        }
        let mut columns = vec!["scope"];
        columns.extend(COLUMNS);
        Ok(Table {
            columns,
            rows: by
                .into_iter()
                .map(|(st, c)| row("all".to_owned(), st, c))
                .collect(),
        })
    }
}
