//! What the web pages need beyond the work-order and call APIs:
//!
//! - `GET /api/topics`: the topic tree (`[[tickets.topics]]`) for the
//!   new-order form, parents before children;
//! - `GET /api/calls/per-hour?from=&to=` (supervisors): calls that arrived,
//!   counted per local hour of the day (0–23) over the range, for the
//!   wallboard's chart; with the number of days the range spans so the page
//!   can show a daily average.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::auth::{Principal, Role};
use super::error::{ApiError, ApiQuery};
use super::tickets::parse_bound;
use super::AppState;

/// One node of the topic tree.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct TopicView {
    /// Dotted code (`urban.roads`).
    code: String,
    /// Name shown to agents.
    name: String,
    /// The parent's code; `null` at the top.
    parent: Option<String>,
}

/// The topic tree orders are classified under, parents before children.
#[utoipa::path(get, path = "/api/topics", tag = "tickets", security(("bearer" = [])),
    responses((status = 200, body = Vec<TopicView>), (status = 401, body = super::error::ErrorBody)))]
pub(super) async fn topics(
    State(state): State<AppState>,
    _principal: Principal,
) -> Json<Vec<TopicView>> {
    let mut topics: Vec<TopicView> = state
        .config
        .tickets
        .topics
        .iter()
        .map(|t| TopicView {
            code: t.code.clone(),
            name: t.name.clone(),
            parent: t.code.rsplit_once('.').map(|(p, _)| p.to_owned()),
        })
        .collect();
    topics.sort_by(|a, b| a.code.cmp(&b.code));
    Json(topics)
}

/// `GET /api/calls/per-hour` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PerHourQuery {
    /// From (RFC 3339 or a local date `YYYY-MM-DD`); the start of today by default.
    #[serde(default)]
    from: Option<String>,
    /// To (RFC 3339, or a local date: to the end of that day); now by default.
    #[serde(default)]
    to: Option<String>,
}

/// Calls per local hour of the day.
#[derive(Debug, Serialize)]
pub(super) struct PerHour {
    /// Local dates the range touches (at least 1).
    days: u32,
    /// 24 counts: `calls[h]` arrived between h:00 and h:59 local time.
    calls: Vec<u64>,
}

/// Most days one request may span (a year and a bit).
const MAX_DAYS: i64 = 400;

/// Folds counts per UTC epoch hour into the 24 local hours of the day.
fn fold_local(counts: &[hotline_recordings::HourCount], offset_s: i32) -> Vec<u64> {
    let mut calls = vec![0u64; 24];
    for c in counts {
        let local = c.epoch_hour * 3600 + i64::from(offset_s);
        let hour = usize::try_from(local.div_euclid(3600).rem_euclid(24)).unwrap_or(0);
        calls[hour] += c.calls;
    }
    calls
}

/// `GET /api/calls/per-hour?from=&to=` (supervisors).
pub(super) async fn calls_per_hour(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PerHourQuery>,
) -> Result<Json<PerHour>, ApiError> {
    if principal.role != Role::Supervisor {
        return Err(ApiError::Forbidden(
            "call statistics are for supervisors".into(),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let calendar = &state.rules.calendar;
    let from_ms = match &q.from {
        Some(f) => parse_bound("from", f, &state, false)?,
        None => hotline_ticketing::store::ms(calendar.start_of_day(calendar.local_date(now))),
    };
    let to_ms = match &q.to {
        Some(t) => parse_bound("to", t, &state, true)?,
        None => hotline_ticketing::store::ms(now),
    };
    if to_ms <= from_ms {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    let span_days = (to_ms - from_ms).div_euclid(86_400_000) + 1;
    if span_days > MAX_DAYS {
        return Err(ApiError::invalid(
            "from",
            format!("the range may span at most {MAX_DAYS} days"),
        ));
    }
    let counts = state
        .store
        .calls_per_hour(from_ms, to_ms)
        .await
        .map_err(|e| ApiError::internal("counting calls per hour", e))?;
    let offset_s = calendar.offset().whole_seconds();
    let local_day = |ms: i64| (ms + i64::from(offset_s) * 1000).div_euclid(86_400_000);
    let days = local_day(to_ms - 1) - local_day(from_ms) + 1;
    Ok(Json(PerHour {
        days: u32::try_from(days.max(1)).unwrap_or(1),
        calls: fold_local(&counts, offset_s),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_recordings::HourCount;

    #[test]
    fn utc_hours_fold_into_local_hours_of_the_day() {
        // 1970-01-02 16:00 UTC is 00:00 the next day at +08:00.
        let h = |epoch_hour, calls| HourCount { epoch_hour, calls };
        let counts = [h(24 + 16, 3), h(24 + 15, 1), h(48 + 16, 2), h(5, 4)];
        let calls = fold_local(&counts, 8 * 3600);
        assert_eq!(calls.len(), 24);
        assert_eq!(calls[0], 5, "both midnights");
        assert_eq!(calls[23], 1);
        assert_eq!(calls[13], 4);
        assert_eq!(calls.iter().sum::<u64>(), 10);
        // West of UTC.
        let calls = fold_local(&[h(2, 1)], -5 * 3600);
        assert_eq!(calls[21], 1);
    }
}
