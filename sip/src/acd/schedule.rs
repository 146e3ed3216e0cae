//! 7×24 schedules: queue shifts in local time, and the local clock.
//!
//! A queue with no shifts is always open. Otherwise it is open while one of
//! its shifts is on. A shift names the weekdays it *starts* on and a start and
//! end minute; an end before the start crosses midnight (`22:00-06:00` on a
//! Friday runs until Saturday 06:00), `00:00-24:00` is the whole day. A shift
//! may name agents (leaders on duty, measures §8): an agent named in any
//! shift of a queue serves it only while one of their shifts is on; other
//! qualified agents serve it whenever it is open.
//!
//! **Closed queues.** A queue outside its shifts accepts no calls: a new call
//! goes to its overflow queue at once if that queue accepts it, and is
//! otherwise offered a callback ([`CallbackReason::Closed`](super::CallbackReason)).
//! Calls waiting when it closes are treated the same way; calls ringing or
//! connected finish normally.
//!
//! **Local time** is an input: [`Acd::set_local_time`](super::Acd::set_local_time)
//! anchors a local date-time to an `Instant`, and the engine extrapolates from
//! it. It wakes itself ([`poll_timeout`](super::Acd::poll_timeout)) at the next
//! shift boundary and at local midnight; the driver should pass a fresh local
//! time on every wake-up so that clock adjustments are picked up. Until the
//! first local time arrives schedules are not applied (every queue is open)
//! and statistics are not dated.

use std::time::{Duration, Instant};

use time::{PrimitiveDateTime, Weekday};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// One shift of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    /// Weekdays the shift starts on.
    pub days: Vec<Weekday>,
    /// Start, minutes after local midnight (0..1440).
    pub start_min: u16,
    /// End, minutes after local midnight (1..=1440); below `start_min` when
    /// the shift crosses midnight.
    pub end_min: u16,
    /// Agents on duty only during this shift (ids).
    pub agents: Vec<String>,
}

impl Shift {
    /// Whether the shift is on at `minute` (after local midnight) of `day`.
    pub fn is_on(&self, day: Weekday, minute: u16) -> bool {
        if self.start_min < self.end_min {
            self.days.contains(&day) && (self.start_min..self.end_min).contains(&minute)
        } else if self.start_min > self.end_min {
            (self.days.contains(&day) && minute >= self.start_min)
                || (self.days.contains(&day.previous()) && minute < self.end_min)
        } else {
            false
        }
    }
}

/// The local wall clock, anchored to the monotonic one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalClock {
    anchor: Instant,
    local: PrimitiveDateTime,
}

impl LocalClock {
    pub(crate) fn new(anchor: Instant, local: PrimitiveDateTime) -> Self {
        LocalClock { anchor, local }
    }

    /// Local time at `now`, extrapolated from the anchor.
    pub(crate) fn at(&self, now: Instant) -> PrimitiveDateTime {
        let shifted = if now >= self.anchor {
            time::Duration::try_from(now - self.anchor)
                .ok()
                .and_then(|d| self.local.checked_add(d))
        } else {
            time::Duration::try_from(self.anchor - now)
                .ok()
                .and_then(|d| self.local.checked_sub(d))
        };
        shifted.unwrap_or(self.local)
    }
}

/// Minute after midnight and milliseconds after midnight of a local time.
pub(crate) fn minute_of_day(t: PrimitiveDateTime) -> (u16, u64) {
    let (h, m, s, ms) = t.time().as_hms_milli();
    let minute = u16::from(h) * 60 + u16::from(m);
    (
        minute,
        u64::from(minute) * 60_000 + u64::from(s) * 1000 + u64::from(ms),
    )
}

/// Time until the next shift boundary or local midnight, whichever is first.
/// Boundaries are taken every day (a weekday that does not matter only
/// costs a spurious wake-up).
pub(crate) fn until_next_boundary<'a>(
    shifts: impl Iterator<Item = &'a Shift>,
    local: PrimitiveDateTime,
) -> Duration {
    let (_, now_ms) = minute_of_day(local);
    let until = |minute: u16| {
        let at = (u64::from(minute) * 60_000) % DAY_MS;
        match (at + DAY_MS - now_ms) % DAY_MS {
            0 => DAY_MS,
            d => d,
        }
    };
    let mut best = until(0);
    for s in shifts {
        best = best.min(until(s.start_min)).min(until(s.end_min));
    }
    Duration::from_millis(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn shift(days: &[Weekday], start: u16, end: u16) -> Shift {
        Shift {
            days: days.to_vec(),
            start_min: start,
            end_min: end,
            agents: Vec::new(),
        }
    }

    #[test]
    fn shifts_crossing_midnight_cover_the_next_morning() {
        let night = shift(&[Weekday::Friday], 22 * 60, 6 * 60);
        assert!(!night.is_on(Weekday::Friday, 21 * 60 + 59));
        assert!(night.is_on(Weekday::Friday, 22 * 60));
        assert!(night.is_on(Weekday::Friday, 23 * 60 + 59));
        assert!(night.is_on(Weekday::Saturday, 0));
        assert!(night.is_on(Weekday::Saturday, 5 * 60 + 59));
        assert!(!night.is_on(Weekday::Saturday, 6 * 60));
        assert!(!night.is_on(Weekday::Saturday, 23 * 60));
        // Friday morning belongs to Thursday's shift, which does not exist.
        assert!(!night.is_on(Weekday::Friday, 3 * 60));
        let day = shift(&[Weekday::Monday], 0, 24 * 60);
        assert!(day.is_on(Weekday::Monday, 0) && day.is_on(Weekday::Monday, 1439));
        assert!(!day.is_on(Weekday::Tuesday, 0));
    }

    #[test]
    fn next_boundary_is_the_nearest_shift_edge_or_midnight() {
        let s = [shift(&[Weekday::Monday], 8 * 60, 18 * 60)];
        let d = until_next_boundary(s.iter(), datetime!(2026-11-23 07:59:30));
        assert_eq!(d, Duration::from_secs(30));
        let d = until_next_boundary(s.iter(), datetime!(2026-11-23 18:00:00));
        assert_eq!(d, Duration::from_secs(6 * 3600));
        let d = until_next_boundary(std::iter::empty(), datetime!(2026-11-23 23:00:00));
        assert_eq!(d, Duration::from_secs(3600));
    }

    #[test]
    fn local_clock_extrapolates_both_ways() {
        let t0 = Instant::now();
        let c = LocalClock::new(t0 + Duration::from_secs(10), datetime!(2026-11-23 23:59:55));
        assert_eq!(
            c.at(t0 + Duration::from_secs(20)),
            datetime!(2026-11-24 00:00:05)
        );
        assert_eq!(c.at(t0), datetime!(2026-11-23 23:59:45));
    }
}
