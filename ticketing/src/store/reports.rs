//! Reports (§10, §23) as plain SQL aggregates over the order columns and
//! the history, the same on both engines.
//!
//! Every report is a [`Table`]: named columns and rows of [`Cell`]s, which
//! the API renders as JSON objects or CSV. All take a creation-time range
//! `[from_ms, to_ms)`. Days are local days: the city's UTC offset is passed
//! in and added before the integer division by 86 400 000.
//!
//! On-time rates compare the recorded instant with the deadline the order
//! had when it was written (an approved extension moves `complete_due`);
//! a step not yet taken counts as late once its deadline has passed and is
//! left out while it has not.

use sqlx::Row;

use super::{Result, Store};

/// One value of a report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Int(i64),
    Float(f64),
    Null,
}

/// A report: column names and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// The reports there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Orders per category.
    ByCategory,
    /// Orders per district.
    ByDistrict,
    /// Orders per lead unit.
    ByUnit,
    /// Orders per local day.
    ByDay,
    /// Sign, completion and reply on time, per lead unit.
    OnTime,
    /// Extension and return requests per unit.
    ExtensionsReturns,
    /// Reception- and handling-stage satisfaction per lead unit.
    SatisfactionByUnit,
    /// Reception- and handling-stage satisfaction per agent (who took the
    /// order or the call).
    SatisfactionByAgent,
    /// Reception- and handling-stage satisfaction per category.
    SatisfactionByCategory,
    /// Most frequent topics.
    HotTopics,
}

impl Report {
    /// Every report with its URL name.
    pub const ALL: [(Report, &'static str); 10] = [
        (Report::ByCategory, "orders-by-category"),
        (Report::ByDistrict, "orders-by-district"),
        (Report::ByUnit, "orders-by-unit"),
        (Report::ByDay, "orders-by-day"),
        (Report::OnTime, "on-time"),
        (Report::ExtensionsReturns, "extensions-returns"),
        (Report::SatisfactionByUnit, "satisfaction-by-unit"),
        (Report::SatisfactionByAgent, "satisfaction-by-agent"),
        (Report::SatisfactionByCategory, "satisfaction-by-category"),
        (Report::HotTopics, "hot-topics"),
    ];

    /// The report named `name`.
    #[must_use]
    pub fn named(name: &str) -> Option<Report> {
        Report::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(r, _)| *r)
    }
}

/// The range and options of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportParams {
    pub from_ms: i64,
    pub to_ms: i64,
    /// The city's UTC offset, for local days.
    pub utc_offset_ms: i64,
    /// "Now", for steps not yet taken whose deadline has passed.
    pub now_ms: i64,
    /// Rows of `hot-topics`.
    pub top: u32,
}

const DAY_MS: i64 = 86_400_000;

pub(super) fn ratio(n: i64, d: i64) -> Cell {
    if d == 0 {
        Cell::Null
    } else {
        // Counts stay far below 2^52: the conversion is exact.
        #[allow(clippy::cast_precision_loss)]
        let r = n as f64 / d as f64;
        Cell::Float((r * 10_000.0).round() / 10_000.0)
    }
}

impl Store {
    /// Runs one report.
    ///
    /// # Errors
    /// Database errors.
    pub async fn report(&self, report: Report, p: &ReportParams) -> Result<Table> {
        let range = "created_at_ms >= $1 AND created_at_ms < $2";
        match report {
            Report::ByCategory | Report::ByDistrict | Report::ByUnit => {
                let (col, name) = match report {
                    Report::ByCategory => ("category", "category"),
                    Report::ByDistrict => ("district", "district"),
                    _ => ("lead_unit", "unit"),
                };
                let sql = format!(
                    "SELECT {col} AS k, COUNT(*) AS n FROM orders WHERE {range} \
                     GROUP BY {col} ORDER BY n DESC, k"
                );
                let rows = sqlx::query(&sql)
                    .bind(p.from_ms)
                    .bind(p.to_ms)
                    .fetch_all(&self.pool)
                    .await?;
                let mut out = Vec::new();
                for r in rows {
                    let k: Option<String> = r.try_get("k")?;
                    let n: i64 = r.try_get("n")?;
                    out.push(vec![k.map_or(Cell::Null, Cell::Text), Cell::Int(n)]);
                }
                Ok(Table {
                    columns: vec![name, "orders"],
                    rows: out,
                })
            }
            Report::ByDay => {
                let sql = format!(
                    "SELECT (created_at_ms + $3) / {DAY_MS} AS d, COUNT(*) AS n FROM orders \
                     WHERE {range} GROUP BY 1 ORDER BY 1"
                );
                let rows = sqlx::query(&sql)
                    .bind(p.from_ms)
                    .bind(p.to_ms)
                    .bind(p.utc_offset_ms)
                    .fetch_all(&self.pool)
                    .await?;
                let mut out = Vec::new();
                for r in rows {
                    let d: i64 = r.try_get("d")?;
                    let n: i64 = r.try_get("n")?;
                    let date = time::OffsetDateTime::from_unix_timestamp(d * 86_400)
                        .map(|t| t.date().to_string())
                        .unwrap_or_default();
                    out.push(vec![Cell::Text(date), Cell::Int(n)]);
                }
                Ok(Table {
                    columns: vec!["day", "orders"],
                    rows: out,
                })
            }
            Report::OnTime => self.on_time(p).await,
            Report::ExtensionsReturns => {
                let sql = "SELECT unit AS k, \
                     CAST(SUM(CASE WHEN action = 'request_extension' THEN 1 ELSE 0 END) AS BIGINT) AS ext, \
                     CAST(SUM(CASE WHEN action = 'request_return' THEN 1 ELSE 0 END) AS BIGINT) AS ret \
                     FROM order_history WHERE at_ms >= $1 AND at_ms < $2 \
                     AND action IN ('request_extension', 'request_return') AND unit IS NOT NULL \
                     GROUP BY unit ORDER BY unit";
                let rows = sqlx::query(sql)
                    .bind(p.from_ms)
                    .bind(p.to_ms)
                    .fetch_all(&self.pool)
                    .await?;
                let mut out = Vec::new();
                for r in rows {
                    let k: String = r.try_get("k")?;
                    let ext: i64 = r.try_get("ext")?;
                    let ret: i64 = r.try_get("ret")?;
                    out.push(vec![Cell::Text(k), Cell::Int(ext), Cell::Int(ret)]);
                }
                Ok(Table {
                    columns: vec!["unit", "extension_requests", "return_requests"],
                    rows: out,
                })
            }
            Report::SatisfactionByUnit
            | Report::SatisfactionByAgent
            | Report::SatisfactionByCategory => self.satisfaction(report, p).await,
            Report::HotTopics => {
                let sql = format!(
                    "SELECT topic AS k, category AS c, COUNT(*) AS n FROM orders WHERE {range} \
                     GROUP BY topic, category ORDER BY n DESC, k, c LIMIT $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(p.from_ms)
                    .bind(p.to_ms)
                    .bind(i64::from(p.top))
                    .fetch_all(&self.pool)
                    .await?;
                let mut out = Vec::new();
                for r in rows {
                    let k: Option<String> = r.try_get("k")?;
                    let c: String = r.try_get("c")?;
                    let n: i64 = r.try_get("n")?;
                    out.push(vec![
                        k.map_or(Cell::Null, Cell::Text),
                        Cell::Text(c),
                        Cell::Int(n),
                    ]);
                }
                Ok(Table {
                    columns: vec!["topic", "category", "orders"],
                    rows: out,
                })
            }
        }
    }

    async fn on_time(&self, p: &ReportParams) -> Result<Table> {
        // Per stage: due = deadline reached or step taken; on time = taken
        // no later than the deadline.
        let stage = |done: &str, due: &str| {
            format!(
                "CAST(SUM(CASE WHEN {due} IS NOT NULL AND ({done} IS NOT NULL OR {due} < $3) THEN 1 ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN {done} IS NOT NULL AND {due} IS NOT NULL AND {done} <= {due} THEN 1 ELSE 0 END) AS BIGINT)"
            )
        };
        let sql = format!(
            "SELECT lead_unit AS k, COUNT(*) AS n, {}, {}, {} FROM orders \
             WHERE created_at_ms >= $1 AND created_at_ms < $2 AND lead_unit IS NOT NULL \
             GROUP BY lead_unit ORDER BY lead_unit",
            stage("signed_at_ms", "sign_due_ms"),
            stage("completed_at_ms", "complete_due_ms"),
            stage("replied_at_ms", "reply_due_ms"),
        );
        let rows = sqlx::query(&sql)
            .bind(p.from_ms)
            .bind(p.to_ms)
            .bind(p.now_ms)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let k: String = r.try_get("k")?;
            let n: i64 = r.try_get("n")?;
            let mut row = vec![Cell::Text(k), Cell::Int(n)];
            for i in 0..3 {
                let due: i64 = r.try_get(2 + 2 * i)?;
                let ok: i64 = r.try_get(3 + 2 * i)?;
                row.extend([Cell::Int(due), Cell::Int(ok), ratio(ok, due)]);
            }
            out.push(row);
        }
        Ok(Table {
            columns: vec![
                "unit",
                "orders",
                "sign_due",
                "signed_on_time",
                "sign_on_time_rate",
                "complete_due",
                "completed_on_time",
                "complete_on_time_rate",
                "reply_due",
                "replied_on_time",
                "reply_on_time_rate",
            ],
            rows: out,
        })
    }
}
