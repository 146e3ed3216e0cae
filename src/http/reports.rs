//! Reports (§10, §23): `GET /api/reports/{name}?from=&to=`, as JSON (an
//! array of objects) or, with `Accept: text/csv`, as CSV (RFC 4180, UTF-8
//! with a header row) for spreadsheets.
//!
//! Names: `orders-by-category`, `orders-by-district`, `orders-by-unit`,
//! `orders-by-day`, `on-time` (sign / complete / reply by unit),
//! `extensions-returns`, `satisfaction-by-unit`, `satisfaction-by-agent`,
//! `satisfaction-by-category` (both survey stages, one row per key and
//! stage), `hot-topics` (`top=`). The range defaults to the last 30 days. Reports
//! are for supervisors and administrators: they span every unit. The
//! published summary `GET /api/public/satisfaction` (§23) needs no sign-in
//! and holds no personal data (stages, units, categories only).

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hotline_ticketing::store::{self, Cell, Report, ReportParams, Table};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::IntoParams;

use super::auth::{Principal, Role};
use super::error::{ApiError, ApiQuery, ErrorBody};
use super::tickets::parse_bound;
use super::users::store_error;
use super::AppState;

/// `GET /api/reports/{name}` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ReportQuery {
    /// Orders created at or after (RFC 3339 or `YYYY-MM-DD`); 30 days ago by default.
    #[serde(default)]
    from: Option<String>,
    /// Orders created before (RFC 3339, or `YYYY-MM-DD` inclusive); now by default.
    #[serde(default)]
    to: Option<String>,
    /// Rows of `hot-topics` (1..=100, 10).
    #[serde(default)]
    top: Option<u32>,
}

/// RFC 4180 field: quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => csv_field(s),
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) => f.to_string(),
        Cell::Null => String::new(),
    }
}

/// The table as CSV with CRLF line ends.
pub(super) fn to_csv(t: &Table) -> String {
    let mut out = t.columns.join(",");
    out.push_str("\r\n");
    for row in &t.rows {
        let line: Vec<String> = row.iter().map(cell_text).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn to_json(t: &Table) -> serde_json::Value {
    t.rows
        .iter()
        .map(|row| {
            let obj: serde_json::Map<String, serde_json::Value> = t
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| ((*c).to_owned(), serde_json::to_value(v).unwrap_or_default()))
                .collect();
            serde_json::Value::Object(obj)
        })
        .collect()
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|m| {
                m.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"))
            })
        })
}

/// One report, as JSON or CSV.
#[utoipa::path(get, path = "/api/reports/{name}", tag = "reports", security(("bearer" = [])),
    params(("name" = String, Path, description = "orders-by-category, orders-by-district, orders-by-unit, orders-by-day, on-time, extensions-returns, satisfaction-by-unit, satisfaction-by-agent, satisfaction-by-category, hot-topics"),
        ReportQuery),
    responses((status = 200, description = "JSON array of rows, or text/csv", body = Vec<Object>),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn report(
    State(state): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Supervisor, Role::Admin], "reports")?;
    let report =
        Report::named(&name).ok_or_else(|| ApiError::NotFound(format!("no report {name:?}")))?;
    let now = OffsetDateTime::now_utc();
    let to_ms = match &q.to {
        Some(t) => parse_bound("to", t, &state, true)?,
        None => store::ms(now) + 1,
    };
    let from_ms = match &q.from {
        Some(f) => parse_bound("from", f, &state, false)?,
        None => store::ms(now - time::Duration::days(30)),
    };
    if from_ms >= to_ms {
        return Err(ApiError::invalid("from", "must be before `to`"));
    }
    let top = q.top.unwrap_or(10);
    if !(1..=100).contains(&top) {
        return Err(ApiError::invalid("top", "must be 1..=100"));
    }
    let params = ReportParams {
        from_ms,
        to_ms,
        utc_offset_ms: i64::from(state.rules.calendar.offset().whole_seconds()) * 1000,
        now_ms: store::ms(now),
        top,
    };
    let table = state
        .tickets
        .report(report, &params)
        .await
        .map_err(|e| store_error("running a report", e))?;
    if wants_csv(&headers) {
        let disposition = format!("attachment; filename=\"{name}.csv\"");
        Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            to_csv(&table),
        )
            .into_response())
    } else {
        Ok(Json(to_json(&table)).into_response())
    }
}

/// `GET /api/public/satisfaction` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PublicQuery {
    /// First local date, `YYYY-MM-DD` (30 days ago by default).
    from: Option<String>,
    /// Last local date, `YYYY-MM-DD`, inclusive (today by default).
    to: Option<String>,
}

/// `GET /api/public/satisfaction?from=YYYY-MM-DD&to=YYYY-MM-DD`: the
/// published summary of the satisfaction surveys (§23: 定期通報, 向社會公布),
/// without signing in: totals per stage, and per handling unit and per
/// category. No personal data: no caller, no number, no order, no agent.
pub(super) async fn public_satisfaction(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PublicQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let date = |field: &str, v: &str| {
        time::Date::parse(v, &fmt).map_err(|_| ApiError::invalid(field, "expected YYYY-MM-DD"))
    };
    let now = OffsetDateTime::now_utc();
    let cal = &state.rules.calendar;
    let to = match &q.to {
        Some(t) => date("to", t)?,
        None => cal.local_date(now),
    };
    let from = match &q.from {
        Some(f) => date("from", f)?,
        None => to - time::Duration::days(29),
    };
    if from > to {
        return Err(ApiError::invalid("from", "must not be after `to`"));
    }
    let params = ReportParams {
        from_ms: store::ms(cal.start_of_day(from)),
        to_ms: store::ms(cal.end_of_day(to)),
        utc_offset_ms: i64::from(cal.offset().whole_seconds()) * 1000,
        now_ms: store::ms(now),
        top: 10,
    };
    let t = &state.tickets;
    let doing = "the published satisfaction summary";
    let totals = t
        .satisfaction_totals(&params)
        .await
        .map_err(|e| store_error(doing, e))?;
    let by_unit = t
        .report(Report::SatisfactionByUnit, &params)
        .await
        .map_err(|e| store_error(doing, e))?;
    let by_category = t
        .report(Report::SatisfactionByCategory, &params)
        .await
        .map_err(|e| store_error(doing, e))?;
    Ok(Json(serde_json::json!({
        "from": from.to_string(),
        "to": to.to_string(),
        "rating_scale": "1 非常滿意, 2 滿意, 3 基本滿意, 4 不滿意, 5 非常不滿意; satisfied_rate = (1 + 2) / all",
        "totals": to_json(&totals),
        "by_unit": to_json(&by_unit),
        "by_category": to_json(&by_category),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let t = Table {
            columns: vec!["unit", "orders", "rate"],
            rows: vec![
                vec![
                    Cell::Text("water, north".into()),
                    Cell::Int(3),
                    Cell::Float(0.5),
                ],
                vec![Cell::Text("say \"hi\"".into()), Cell::Int(0), Cell::Null],
                vec![Cell::Text("住房".into()), Cell::Int(12), Cell::Float(1.0)],
            ],
        };
        assert_eq!(
            to_csv(&t),
            "unit,orders,rate\r\n\"water, north\",3,0.5\r\n\"say \"\"hi\"\"\",0,\r\n住房,12,1\r\n"
        );
        let j = to_json(&t);
        assert_eq!(j[0]["unit"], "water, north");
        assert_eq!(j[1]["rate"], serde_json::Value::Null);
        assert_eq!(j[2]["orders"], 12);
    }
}
