//! The working-day calendar (`[calendar]`): weekends, public holidays,
//! make-up working days (调休) and working hours, at the city's UTC offset.
//!
//! # What "within N working days" means
//!
//! The measures count handling time in working days (§17.1, §17.2, §17.7,
//! §24, §25) without saying when counting starts. This crate follows the
//! rule Chinese procedural law uses for periods (期間開始的日不計算在期間內):
//!
//! 1. The day the order (or request, or policy) arrives is **not counted**,
//!    whatever the hour and whether or not it is a working day.
//! 2. Day 1 is the first working day *after* that local date; day N is the
//!    N-th working day after it.
//! 3. The deadline is **24:00 local time at the end of day N** (the instant
//!    00:00 of the next calendar day).
//!
//! So an order arriving on Friday at 19:00, on Saturday, or on Friday at
//! 09:00 all have "2 working days" run out at the end of Tuesday (with no
//! holiday in between). The rule never gives less than N full working days,
//! gives at most one extra partial day, and is the same for every arrival
//! time, which units can check by hand. A working day is a make-up day
//! (`workdays`) or a day that is neither a holiday nor a weekend day: the
//! make-up Saturday before the Spring Festival counts like a Monday.
//!
//! # Hours and minutes
//!
//! The 24-hour signing and 30-minute response limits (§17.1) can be counted
//! three ways ([`HourBasis`]): by the clock (the hotline runs 7×24, §6, and
//! this is the default), on working days only (the clock stops outside
//! working days), or within working hours only.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset, Weekday};

use crate::error::{DomainError, Result};

/// `t` as the same instant in UTC. Everything this crate stores is in UTC,
/// so that timestamps printed as RFC 3339 text compare correctly as text
/// (SQLite) and every order looks the same whatever offset a caller used.
pub fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(UtcOffset::UTC)
}

/// How an hour or minute limit is counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HourBasis {
    /// Wall-clock time, every day.
    #[default]
    Clock,
    /// Time runs only during (whole) working days.
    WorkingDays,
    /// Time runs only inside working hours of working days.
    WorkingHours,
}

/// What a calendar is built from (the binary fills it from `[calendar]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarSpec {
    /// The city's offset from UTC (+08:00 for China).
    pub utc_offset: UtcOffset,
    /// Weekdays that are not worked (normally Saturday and Sunday).
    pub weekend: Vec<Weekday>,
    /// Public holidays, including the weekdays taken off for 调休.
    pub holidays: Vec<Date>,
    /// Make-up working days: weekend days worked in exchange.
    pub workdays: Vec<Date>,
    /// Working hours as minutes after local midnight, `[start, end)`;
    /// `end` may be 1440.
    pub working_hours: (u16, u16),
}

/// A validated working-day calendar. Cheap to share by reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    offset: UtcOffset,
    weekend: [bool; 7],
    holidays: BTreeSet<Date>,
    workdays: BTreeSet<Date>,
    start_min: u16,
    end_min: u16,
}

impl WorkingCalendar {
    /// Build a calendar. Errors name the `calendar.*` key: a date both
    /// holiday and make-up day, a week with no working day, working hours
    /// empty or past 24:00.
    pub fn new(spec: CalendarSpec) -> Result<WorkingCalendar> {
        let mut weekend = [false; 7];
        for d in &spec.weekend {
            weekend[usize::from(d.number_days_from_monday())] = true;
        }
        if weekend.iter().all(|w| *w) {
            return Err(DomainError::Setting {
                key: "calendar.weekend".into(),
                message: "every day of the week is a weekend day".into(),
            });
        }
        let holidays: BTreeSet<Date> = spec.holidays.iter().copied().collect();
        for (i, d) in spec.workdays.iter().enumerate() {
            if holidays.contains(d) {
                return Err(DomainError::Setting {
                    key: format!("calendar.workdays[{i}]"),
                    message: format!("{d} is also a holiday"),
                });
            }
        }
        let (start_min, end_min) = spec.working_hours;
        if start_min >= end_min || end_min > 1440 {
            return Err(DomainError::Setting {
                key: "calendar.working_hours".into(),
                message: "start must be before end, end at most 24:00".into(),
            });
        }
        Ok(WorkingCalendar {
            offset: spec.utc_offset,
            weekend,
            holidays,
            workdays: spec.workdays.into_iter().collect(),
            start_min,
            end_min,
        })
    }

    /// Monday to Friday, no holidays, 09:00–18:00 at +08:00: for tests and
    /// for a server with no `[calendar]` table.
    pub fn weekdays_only() -> WorkingCalendar {
        WorkingCalendar {
            offset: time::macros::offset!(+8),
            weekend: [false, false, false, false, false, true, true],
            holidays: BTreeSet::new(),
            workdays: BTreeSet::new(),
            start_min: 9 * 60,
            end_min: 18 * 60,
        }
    }

    /// The city's UTC offset.
    pub fn offset(&self) -> UtcOffset {
        self.offset
    }

    /// The local date of an instant.
    pub fn local_date(&self, t: OffsetDateTime) -> Date {
        t.to_offset(self.offset).date()
    }

    /// Whether `d` is worked: a make-up day, or neither holiday nor weekend.
    pub fn is_working_day(&self, d: Date) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        !self.holidays.contains(&d)
            && !self.weekend[usize::from(d.weekday().number_days_from_monday())]
    }

    /// Whether `d` is one of the listed public holidays (weekends are not).
    pub fn is_holiday(&self, d: Date) -> bool {
        self.holidays.contains(&d)
    }

    /// Whether instant `t` is inside working hours of a working day.
    pub fn is_working_time(&self, t: OffsetDateTime) -> bool {
        let local = t.to_offset(self.offset);
        let minute = u16::from(local.hour()) * 60 + u16::from(local.minute());
        self.is_working_day(local.date()) && (self.start_min..self.end_min).contains(&minute)
    }

    /// The `n`-th working day strictly after `d` (`d` itself for `n == 0`).
    pub fn add_working_days(&self, d: Date, n: u32) -> Date {
        let mut at = d;
        let mut left = n;
        while left > 0 {
            let Some(next) = at.next_day() else {
                return at; // the end of the representable calendar
            };
            at = next;
            if self.is_working_day(at) {
                left -= 1;
            }
        }
        at
    }

    /// The instant local day `d` ends (24:00, i.e. 00:00 of the next day).
    pub fn end_of_day(&self, d: Date) -> OffsetDateTime {
        let next = d.next_day().unwrap_or(d);
        utc(next.with_time(Time::MIDNIGHT).assume_offset(self.offset))
    }

    /// The instant local day `d` starts.
    pub fn start_of_day(&self, d: Date) -> OffsetDateTime {
        utc(d.with_time(Time::MIDNIGHT).assume_offset(self.offset))
    }

    /// The deadline of "within `n` working days" of `from`: 24:00 local at
    /// the end of the `n`-th working day after `from`'s local date (see the
    /// module docs). `n == 0` gives the end of `from`'s own day.
    pub fn working_days_deadline(&self, from: OffsetDateTime, n: u32) -> OffsetDateTime {
        self.end_of_day(self.add_working_days(self.local_date(from), n))
    }

    /// `from` plus `minutes`, counted on `basis`. Outside counting time the
    /// clock is stopped: 30 working-hour minutes from Friday 17:50 with
    /// working hours 09:00–18:00 end on Monday at 09:20.
    pub fn add_minutes(
        &self,
        from: OffsetDateTime,
        minutes: u32,
        basis: HourBasis,
    ) -> OffsetDateTime {
        let total = Duration::minutes(i64::from(minutes));
        let from = utc(from);
        if basis == HourBasis::Clock || minutes == 0 {
            return from + total;
        }
        let mut left = total;
        let mut day = self.local_date(from);
        loop {
            if let Some((ws, we)) = self.window(day, basis) {
                let start = ws.max(from);
                if start < we {
                    let avail = we - start;
                    if left <= avail {
                        return start + left;
                    }
                    left -= avail;
                }
            }
            match day.next_day() {
                Some(next) => day = next,
                None => return self.end_of_day(day),
            }
        }
    }

    /// The counting window of local day `d` on `basis`, as UTC instants.
    fn window(&self, d: Date, basis: HourBasis) -> Option<(OffsetDateTime, OffsetDateTime)> {
        match basis {
            HourBasis::Clock => Some((self.start_of_day(d), self.end_of_day(d))),
            _ if !self.is_working_day(d) => None,
            HourBasis::WorkingDays => Some((self.start_of_day(d), self.end_of_day(d))),
            HourBasis::WorkingHours => {
                let day = self.start_of_day(d);
                Some((
                    day + Duration::minutes(i64::from(self.start_min)),
                    day + Duration::minutes(i64::from(self.end_min)),
                ))
            }
        }
    }

    /// How many whole working days lie between `from` and `to`: local working
    /// days that start at or after `from` and end at or before `to`. Used to
    /// say how overdue something is (0 on the day a deadline passes).
    pub fn whole_working_days_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> u32 {
        if to <= from {
            return 0;
        }
        let mut count = 0;
        let mut d = self.local_date(from);
        let last = self.local_date(to);
        while d <= last {
            if self.is_working_day(d) && self.start_of_day(d) >= from && self.end_of_day(d) <= to {
                count += 1;
            }
            match d.next_day() {
                Some(next) => d = next,
                None => break,
            }
        }
        count
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use time::macros::{date, datetime, offset};

    /// The PRC table of 2026 (国办发明电, 4 November 2025), plus New Year's
    /// Day 2027, at +08:00, working hours 08:30–17:30.
    pub(crate) fn prc_2026() -> WorkingCalendar {
        let mut holidays = Vec::new();
        let mut range = |a: Date, b: Date| {
            let mut d = a;
            while d <= b {
                holidays.push(d);
                d = d.next_day().unwrap();
            }
        };
        range(date!(2026 - 01 - 01), date!(2026 - 01 - 03));
        range(date!(2026 - 02 - 15), date!(2026 - 02 - 23));
        range(date!(2026 - 04 - 04), date!(2026 - 04 - 06));
        range(date!(2026 - 05 - 01), date!(2026 - 05 - 05));
        range(date!(2026 - 06 - 19), date!(2026 - 06 - 21));
        range(date!(2026 - 09 - 25), date!(2026 - 09 - 27));
        range(date!(2026 - 10 - 01), date!(2026 - 10 - 07));
        range(date!(2027 - 01 - 01), date!(2027 - 01 - 01));
        WorkingCalendar::new(CalendarSpec {
            utc_offset: offset!(+8),
            weekend: vec![Weekday::Saturday, Weekday::Sunday],
            holidays,
            workdays: vec![
                date!(2026 - 01 - 04),
                date!(2026 - 02 - 14),
                date!(2026 - 02 - 28),
                date!(2026 - 05 - 09),
                date!(2026 - 09 - 20),
                date!(2026 - 10 - 10),
            ],
            working_hours: (8 * 60 + 30, 17 * 60 + 30),
        })
        .unwrap()
    }

    #[test]
    fn working_days_follow_the_table() {
        let c = prc_2026();
        assert!(!c.is_working_day(date!(2026 - 01 - 01))); // Thursday, holiday
        assert!(c.is_working_day(date!(2026 - 01 - 04))); // Sunday, make-up
        assert!(c.is_working_day(date!(2026 - 02 - 14))); // Saturday, make-up
        assert!(!c.is_working_day(date!(2026 - 02 - 23))); // Monday, holiday
        assert!(!c.is_working_day(date!(2026 - 03 - 07))); // plain Saturday
        assert!(c.is_working_day(date!(2026 - 03 - 09))); // plain Monday
    }

    #[test]
    fn adding_working_days_skips_holidays_and_counts_make_up_days() {
        let c = prc_2026();
        let cases = [
            // Year end: 1-3 January off, Sunday 4 January worked.
            (date!(2025 - 12 - 31), 1, date!(2026 - 01 - 04)),
            (date!(2025 - 12 - 31), 2, date!(2026 - 01 - 05)),
            // Friday before the Spring Festival: the make-up Saturday is day 1.
            (date!(2026 - 02 - 13), 1, date!(2026 - 02 - 14)),
            (date!(2026 - 02 - 13), 2, date!(2026 - 02 - 24)),
            (date!(2026 - 02 - 14), 1, date!(2026 - 02 - 24)),
            // Arrival during the holiday.
            (date!(2026 - 02 - 18), 4, date!(2026 - 02 - 27)),
            (date!(2026 - 02 - 18), 5, date!(2026 - 02 - 28)),
            // Mid-Autumn + National Day, 10 working days (complaint).
            (date!(2026 - 09 - 24), 10, date!(2026 - 10 - 15)),
            (date!(2026 - 09 - 30), 3, date!(2026 - 10 - 10)),
            // Year end 2026 with 1 January 2027 off.
            (date!(2026 - 12 - 31), 1, date!(2027 - 01 - 04)),
            (date!(2026 - 12 - 30), 0, date!(2026 - 12 - 30)),
        ];
        for (from, n, want) in cases {
            assert_eq!(c.add_working_days(from, n), want, "{from} + {n}");
        }
    }

    /// Over every day from December 2025 to January 2027 and 0..=12 days:
    /// the result is a working day (for n > 0) and exactly `n` working days
    /// lie in `(from, result]`.
    #[test]
    fn adding_working_days_agrees_with_counting_them() {
        let c = prc_2026();
        let mut from = date!(2025 - 12 - 01);
        while from <= date!(2027 - 01 - 31) {
            for n in 0..=12 {
                let to = c.add_working_days(from, n);
                assert!(n == 0 || c.is_working_day(to), "{from} + {n} = {to}");
                let mut count = 0;
                let mut d = from;
                while d < to {
                    d = d.next_day().unwrap();
                    count += u32::from(c.is_working_day(d));
                }
                assert_eq!(count, n, "{from} + {n} = {to}");
            }
            from = from.next_day().unwrap();
        }
        // 2026: 365 days, 104 weekend days, 19 holidays on weekdays (2 + 6 + 1
        // + 3 + 1 + 1 + 5), 6 make-up days.
        let mut worked = 0;
        let mut d = date!(2026 - 01 - 01);
        while d.year() == 2026 {
            worked += u32::from(c.is_working_day(d));
            d = d.next_day().unwrap();
        }
        assert_eq!(worked, 365 - 104 - 19 + 6);
    }

    #[test]
    fn working_day_deadline_ignores_the_hour_of_arrival() {
        let c = prc_2026();
        // Friday 9 January 2026 at 09:00 and at 19:00, Saturday at 10:00 (all
        // local): two working days end at 24:00 on Tuesday 13 January.
        let want = datetime!(2026-01-14 00:00 +8);
        for from in [
            datetime!(2026-01-09 09:00 +8),
            datetime!(2026-01-09 19:00 +8),
            datetime!(2026-01-10 10:00 +8),
            // 23:30 UTC on Thursday is already Friday 07:30 in Maoming.
            datetime!(2026-01-08 23:30 UTC),
        ] {
            assert_eq!(c.working_days_deadline(from, 2), want, "{from}");
        }
        // Friday 23:59:59 local still counts as Friday.
        assert_eq!(
            c.working_days_deadline(datetime!(2026-01-09 23:59:59 +8), 2),
            want
        );
    }

    #[test]
    fn minutes_on_each_basis() {
        let c = prc_2026();
        let fri = datetime!(2026-01-09 17:20 +8);
        assert_eq!(
            c.add_minutes(fri, 30, HourBasis::Clock),
            datetime!(2026-01-09 17:50 +8)
        );
        // 10 minutes left on Friday, 20 on Monday from 08:30.
        assert_eq!(
            c.add_minutes(fri, 30, HourBasis::WorkingHours),
            datetime!(2026-01-12 08:50 +8)
        );
        // 24 hours from Friday 19:00: 5 h on Friday, stopped over the weekend.
        assert_eq!(
            c.add_minutes(
                datetime!(2026-01-09 19:00 +8),
                24 * 60,
                HourBasis::WorkingDays
            ),
            datetime!(2026-01-12 19:00 +8)
        );
        // Over the Spring Festival the make-up Saturday counts.
        assert_eq!(
            c.add_minutes(
                datetime!(2026-02-13 12:00 +8),
                24 * 60,
                HourBasis::WorkingDays
            ),
            datetime!(2026-02-14 12:00 +8)
        );
        assert_eq!(
            c.add_minutes(
                datetime!(2026-02-14 12:00 +8),
                24 * 60,
                HourBasis::WorkingDays
            ),
            datetime!(2026-02-24 12:00 +8)
        );
        // Starting on a holiday in working hours mode: counts from 08:30 of
        // the next working day.
        assert_eq!(
            c.add_minutes(datetime!(2026-01-01 10:00 +8), 60, HourBasis::WorkingHours),
            datetime!(2026-01-04 09:30 +8)
        );
        assert_eq!(c.add_minutes(fri, 0, HourBasis::WorkingHours), fri);
    }

    #[test]
    fn whole_days_overdue() {
        let c = prc_2026();
        let deadline = datetime!(2026-01-14 00:00 +8); // end of Tue 13th
        assert_eq!(
            c.whole_working_days_between(deadline, datetime!(2026-01-14 10:00 +8)),
            0
        );
        assert_eq!(
            c.whole_working_days_between(deadline, datetime!(2026-01-15 00:00 +8)),
            1
        );
        assert_eq!(
            c.whole_working_days_between(deadline, datetime!(2026-01-19 12:00 +8)),
            3
        );
        assert_eq!(c.whole_working_days_between(deadline, deadline), 0);
        assert_eq!(
            c.whole_working_days_between(deadline, datetime!(2026-01-01 00:00 +8)),
            0
        );
    }

    #[test]
    fn working_time() {
        let c = prc_2026();
        assert!(c.is_working_time(datetime!(2026-01-04 08:30 +8)));
        assert!(!c.is_working_time(datetime!(2026-01-04 17:30 +8)));
        assert!(!c.is_working_time(datetime!(2026-01-03 10:00 +8)));
    }

    #[test]
    fn rejects_bad_specs() {
        let spec = |weekend: Vec<Weekday>, holidays, workdays, hours| CalendarSpec {
            utc_offset: offset!(+8),
            weekend,
            holidays,
            workdays,
            working_hours: hours,
        };
        let all = vec![
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ];
        let e = WorkingCalendar::new(spec(all, vec![], vec![], (540, 1080))).unwrap_err();
        assert!(matches!(e, DomainError::Setting { ref key, .. } if key == "calendar.weekend"));
        let d = date!(2026 - 01 - 01);
        let e = WorkingCalendar::new(spec(vec![], vec![d], vec![d], (540, 1080))).unwrap_err();
        assert!(matches!(e, DomainError::Setting { ref key, .. } if key == "calendar.workdays[0]"));
        for hours in [(600, 600), (600, 500), (0, 1441)] {
            assert!(WorkingCalendar::new(spec(vec![], vec![], vec![], hours)).is_err());
        }
        assert!(WorkingCalendar::new(spec(vec![], vec![], vec![], (0, 1440))).is_ok());
    }
}
