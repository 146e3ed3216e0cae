//! `[calendar]` (the working-day calendar) and `[tickets]` (work orders:
//! number prefix, time limits of §17, knowledge-base and supervision limits,
//! the topic tree).
//!
//! Dates are written `"2026-10-01"`, holiday ranges `"2026-10-01..2026-10-07"`
//! (both ends included); a malformed date fails while parsing, with the line.
//! What parses but makes no sense (a range upside down, a make-up working
//! day that is also a holiday, a topic whose parent is missing) is reported
//! by [`Config::validate`](crate::Config::validate) with its key path. The
//! binary turns these sections into the `hotline-ticketing` crate's
//! `WorkingCalendar` and `TicketRules`; this crate does not depend on it.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::ivr::TimeWindow;
use crate::validate::ValidationError;

// ---------------------------------------------------------------------------
// [calendar]

/// `[calendar]`: which days are worked, at which UTC offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarConfig {
    /// The city's offset from UTC, `"+08:00"`.
    pub utc_offset: UtcOffset,
    /// Days of the week not worked.
    pub weekend: Vec<Weekday>,
    /// Working hours of a working day, `"08:30-17:30"`.
    pub working_hours: TimeWindow,
    /// Public holidays, including weekdays taken off for 调休: single dates
    /// or inclusive ranges.
    pub holidays: Vec<DateSpan>,
    /// Make-up working days (调休上班): weekend days that are worked.
    pub workdays: Vec<CalendarDate>,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        CalendarConfig {
            utc_offset: UtcOffset { minutes: 8 * 60 },
            weekend: vec![Weekday::Saturday, Weekday::Sunday],
            working_hours: TimeWindow {
                start_min: 8 * 60 + 30,
                end_min: 17 * 60 + 30,
            },
            holidays: Vec::new(),
            workdays: Vec::new(),
        }
    }
}

/// Longest holiday range accepted, in days (a typo such as a wrong year
/// would otherwise switch a whole year off).
const MAX_SPAN_DAYS: u32 = 31;

impl CalendarConfig {
    /// Every holiday date, ranges expanded, in file order.
    pub fn holiday_dates(&self) -> Vec<CalendarDate> {
        let mut out = Vec::new();
        for span in &self.holidays {
            let mut d = span.first;
            for _ in 0..=MAX_SPAN_DAYS {
                if d > span.last {
                    break;
                }
                out.push(d);
                d = d.next();
            }
        }
        out
    }

    pub(crate) fn check(&self, errors: &mut Vec<ValidationError>) {
        let mut err =
            |path: String, message: String| errors.push(ValidationError::new(path, message));
        let week = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ];
        if week.iter().all(|d| self.weekend.contains(d)) {
            err(
                "calendar.weekend".into(),
                "leaves no working day in the week".into(),
            );
        }
        let w = self.working_hours;
        if w.start_min >= w.end_min {
            err(
                "calendar.working_hours".into(),
                format!("\"{w}\" must start before it ends"),
            );
        }
        if self.utc_offset.minutes.abs() > 14 * 60 {
            err(
                "calendar.utc_offset".into(),
                format!("{} is beyond ±14:00", self.utc_offset),
            );
        }
        for (i, s) in self.holidays.iter().enumerate() {
            if s.first > s.last {
                err(
                    format!("calendar.holidays[{i}]"),
                    format!("{s} ends before it starts"),
                );
            } else if s.first.days_until(s.last) >= MAX_SPAN_DAYS {
                err(
                    format!("calendar.holidays[{i}]"),
                    format!("{s} is longer than {MAX_SPAN_DAYS} days"),
                );
            }
        }
        for (i, d) in self.workdays.iter().enumerate() {
            if let Some(s) = self.holidays.iter().find(|s| s.first <= *d && *d <= s.last) {
                err(
                    format!("calendar.workdays[{i}]"),
                    format!("{d} is also a holiday ({s})"),
                );
            }
        }
    }
}

/// A day of the week, written in English lower case (`"mon"` … `"sun"` are
/// accepted too, as in `[[queues.shifts]] days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday.
    #[serde(alias = "mon")]
    Monday,
    /// Tuesday.
    #[serde(alias = "tue")]
    Tuesday,
    /// Wednesday.
    #[serde(alias = "wed")]
    Wednesday,
    /// Thursday.
    #[serde(alias = "thu")]
    Thursday,
    /// Friday.
    #[serde(alias = "fri")]
    Friday,
    /// Saturday.
    #[serde(alias = "sat")]
    Saturday,
    /// Sunday.
    #[serde(alias = "sun")]
    Sunday,
}

/// An offset from UTC, written `"+08:00"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UtcOffset {
    /// Minutes east of UTC.
    pub minutes: i16,
}

impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minutes < 0 { '-' } else { '+' };
        let m = self.minutes.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

impl FromStr for UtcOffset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("expected a UTC offset like \"+08:00\", found {s:?}");
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+') => (1, &s[1..]),
            Some(b'-') => (-1, &s[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = rest.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: i16 = h.parse().map_err(|_| bad())?;
        let m: i16 = m.parse().map_err(|_| bad())?;
        if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
            return Err(bad());
        }
        Ok(UtcOffset {
            minutes: sign * (h * 60 + m),
        })
    }
}

/// A calendar date, written `"2026-10-01"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalendarDate {
    /// Year (1000–9999).
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month.
    pub day: u8,
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

impl CalendarDate {
    /// The next day.
    pub fn next(self) -> CalendarDate {
        if self.day < days_in_month(self.year, self.month) {
            CalendarDate {
                day: self.day + 1,
                ..self
            }
        } else if self.month < 12 {
            CalendarDate {
                month: self.month + 1,
                day: 1,
                ..self
            }
        } else {
            CalendarDate {
                year: self.year.saturating_add(1),
                month: 1,
                day: 1,
            }
        }
    }

    /// Days from `self` to `other` (0 if `other` is not later), counting at
    /// most up to 366.
    fn days_until(self, other: CalendarDate) -> u32 {
        let mut d = self;
        let mut n = 0;
        while d < other && n <= 366 {
            d = d.next();
            n += 1;
        }
        n
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for CalendarDate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("expected a date like \"2026-10-01\", found {s:?}");
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u16, String> {
            let part = &s[r];
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if year < 1000 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        let month = month as u8;
        if day == 0 || day > u16::from(days_in_month(year, month)) {
            return Err(format!("{s:?} is not a day of that month"));
        }
        Ok(CalendarDate {
            year,
            month,
            day: day as u8,
        })
    }
}

/// One date or an inclusive range, written `"2026-10-01"` or
/// `"2026-10-01..2026-10-07"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateSpan {
    /// First day.
    pub first: CalendarDate,
    /// Last day (equal to `first` for a single date).
    pub last: CalendarDate,
}

impl fmt::Display for DateSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}..{}", self.first, self.last)
        }
    }
}

impl FromStr for DateSpan {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once("..") {
            Some((a, b)) => Ok(DateSpan {
                first: a.trim().parse()?,
                last: b.trim().parse()?,
            }),
            None => {
                let d: CalendarDate = s.trim().parse()?;
                Ok(DateSpan { first: d, last: d })
            }
        }
    }
}

macro_rules! string_serde {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(de::Error::custom)
            }
        }
    )*};
}

string_serde!(UtcOffset, CalendarDate, DateSpan);

// ---------------------------------------------------------------------------
// [tickets]

/// How the hour and minute limits (sign, respond) are counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HourBasis {
    /// Wall-clock time (the hotline runs 7×24, §6).
    #[default]
    Clock,
    /// The clock stops outside working days.
    WorkingDays,
    /// The clock runs only inside working hours.
    WorkingHours,
}

/// `[tickets.complete_within_days]`: working days to complete, by category
/// (§17.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompletionDaysConfig {
    /// 諮詢.
    pub consultation: u32,
    /// 求助.
    pub help: u32,
    /// 投訴.
    pub complaint: u32,
    /// 舉報.
    pub report: u32,
    /// 建議.
    pub suggestion: u32,
    /// 表揚.
    pub praise: u32,
}

impl Default for CompletionDaysConfig {
    fn default() -> Self {
        CompletionDaysConfig {
            consultation: 2,
            help: 4,
            complaint: 10,
            report: 10,
            suggestion: 10,
            praise: 10,
        }
    }
}

/// `[[tickets.topics]]`: one node of the topic tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// Dotted code, `"urban.roads"`; the parent (`"urban"`) must exist.
    pub code: String,
    /// Name shown to agents.
    pub name: String,
}

/// `[tickets]`: work orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TicketsConfig {
    /// Letters before the date in order numbers (`MM20260105000123`).
    pub order_prefix: String,
    /// Minutes a unit has to sign after dispatch (§17.1: 24 h).
    pub sign_within_minutes: u32,
    /// Minutes to respond and contact the citizen after signing (§17.1: 30).
    pub respond_within_minutes: u32,
    /// How the two limits above are counted.
    pub hour_basis: HourBasis,
    /// Working days to complete, by category.
    pub complete_within_days: CompletionDaysConfig,
    /// Working days to reply and feed back after completion (§17.2: 1).
    pub reply_within_days: u32,
    /// Working days after receipt in which a return may be asked (§17.7: 1).
    pub return_within_days: u32,
    /// Working days after a policy takes effect to upload it (§24: 7).
    pub kb_upload_within_days: u32,
    /// Working days to fix a reported knowledge gap (§25: 5).
    pub kb_fix_within_days: u32,
    /// Minutes after a call is answered when a still-open draft is listed
    /// for supervisors.
    pub draft_stale_after_minutes: u32,
    /// Hours late after which a missed sign or response is supervised by
    /// the city instead of the district.
    pub supervision_city_after_hours: u32,
    /// Whole working days late after which a missed completion, reply or
    /// knowledge deadline goes to the city.
    pub supervision_city_after_days: u32,
    /// Orders from one caller on one matter that count as repeated (§26 (2)).
    pub repeat_threshold: u32,
    /// Calendar days over which repeats are counted.
    pub repeat_window_days: u32,
    /// The topic tree.
    pub topics: Vec<TopicConfig>,
}

impl Default for TicketsConfig {
    fn default() -> Self {
        let topics = [
            ("urban", "城乡建设"),
            ("urban.roads", "道路桥梁"),
            ("urban.lighting", "道路照明"),
            ("urban.housing", "住房"),
            ("utilities", "水电气"),
            ("utilities.water", "供水"),
            ("utilities.power", "供电"),
            ("transport", "交通运输"),
            ("social", "社会保障"),
            ("social.insurance", "社保"),
            ("social.employment", "就业"),
            ("consumer", "消费维权"),
            ("market", "市场监管"),
            ("environment", "生态环境"),
            ("education", "教育"),
            ("health", "医疗卫生"),
            ("rural", "农业农村"),
            ("public_security", "公共安全"),
            ("government", "政务服务"),
            ("other", "其他"),
        ]
        .into_iter()
        .map(|(code, name)| TopicConfig {
            code: code.into(),
            name: name.into(),
        })
        .collect();
        TicketsConfig {
            order_prefix: "MM".into(),
            sign_within_minutes: 24 * 60,
            respond_within_minutes: 30,
            hour_basis: HourBasis::Clock,
            complete_within_days: CompletionDaysConfig::default(),
            reply_within_days: 1,
            return_within_days: 1,
            kb_upload_within_days: 7,
            kb_fix_within_days: 5,
            draft_stale_after_minutes: 10,
            supervision_city_after_hours: 24,
            supervision_city_after_days: 3,
            repeat_threshold: 3,
            repeat_window_days: 30,
            topics,
        }
    }
}

impl TicketsConfig {
    pub(crate) fn check(&self, errors: &mut Vec<ValidationError>) {
        let mut err =
            |path: String, message: String| errors.push(ValidationError::new(path, message));
        let p = &self.order_prefix;
        if p.is_empty() || p.len() > 8 || !p.bytes().all(|b| b.is_ascii_uppercase()) {
            err(
                "tickets.order_prefix".into(),
                format!("{p:?} must be 1 to 8 capital letters A-Z"),
            );
        }
        let c = &self.complete_within_days;
        for (key, v) in [
            ("sign_within_minutes", self.sign_within_minutes),
            ("respond_within_minutes", self.respond_within_minutes),
            ("reply_within_days", self.reply_within_days),
            ("return_within_days", self.return_within_days),
            ("kb_upload_within_days", self.kb_upload_within_days),
            ("kb_fix_within_days", self.kb_fix_within_days),
            ("draft_stale_after_minutes", self.draft_stale_after_minutes),
            (
                "supervision_city_after_hours",
                self.supervision_city_after_hours,
            ),
            (
                "supervision_city_after_days",
                self.supervision_city_after_days,
            ),
            ("repeat_window_days", self.repeat_window_days),
            ("complete_within_days.consultation", c.consultation),
            ("complete_within_days.help", c.help),
            ("complete_within_days.complaint", c.complaint),
            ("complete_within_days.report", c.report),
            ("complete_within_days.suggestion", c.suggestion),
            ("complete_within_days.praise", c.praise),
        ] {
            if v == 0 {
                err(format!("tickets.{key}"), "must be greater than 0".into());
            }
        }
        if self.repeat_threshold < 2 {
            err(
                "tickets.repeat_threshold".into(),
                "must be at least 2 (one call is not a repeat)".into(),
            );
        }
        if self.topics.is_empty() {
            err(
                "tickets.topics".into(),
                "at least one topic is needed to open orders".into(),
            );
        }
        for (i, t) in self.topics.iter().enumerate() {
            let here = format!("tickets.topics[{i}]");
            let well_formed = !t.code.is_empty()
                && t.code.len() <= 64
                && t.code.split('.').all(|seg| {
                    !seg.is_empty()
                        && seg.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                        })
                });
            if !well_formed {
                err(
                    format!("{here}.code"),
                    format!(
                        "{:?}: segments of a-z, 0-9, '_' or '-' separated by '.'",
                        t.code
                    ),
                );
            }
            if t.name.trim().is_empty() {
                err(format!("{here}.name"), "must not be empty".into());
            }
            if self.topics[..i].iter().any(|o| o.code == t.code) {
                err(
                    format!("{here}.code"),
                    format!("duplicate code {:?}", t.code),
                );
            }
            if let Some((parent, _)) = t.code.rsplit_once('.') {
                if !self.topics.iter().any(|o| o.code == parent) {
                    err(
                        format!("{here}.code"),
                        format!("parent {parent:?} of {:?} is not in the tree", t.code),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::Config;

    fn errors(toml: &str) -> Vec<ValidationError> {
        Config::from_toml(toml)
            .unwrap()
            .validate()
            .err()
            .unwrap_or_default()
    }

    #[test]
    fn example_calendar_is_the_2026_table() {
        let c = Config::builtin_default();
        let dates: Vec<String> = c
            .calendar
            .holiday_dates()
            .iter()
            .map(|d| d.to_string())
            .collect();
        // 3 + 9 + 3 + 5 + 3 + 3 + 7 days off.
        assert_eq!(dates.len(), 33);
        for d in [
            "2026-01-01",
            "2026-02-15",
            "2026-02-23",
            "2026-05-05",
            "2026-10-07",
        ] {
            assert!(dates.contains(&d.to_owned()), "{d}");
        }
        let work: Vec<String> = c.calendar.workdays.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            work,
            [
                "2026-01-04",
                "2026-02-14",
                "2026-02-28",
                "2026-05-09",
                "2026-09-20",
                "2026-10-10"
            ]
        );
        assert_eq!(c.calendar.utc_offset.to_string(), "+08:00");
    }

    #[test]
    fn dates_and_offsets_parse_strictly() {
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026-01-0x",
            "",
        ] {
            assert!(bad.parse::<CalendarDate>().is_err(), "{bad:?}");
        }
        assert!("2024-02-29".parse::<CalendarDate>().is_ok());
        let span: DateSpan = "2026-12-31..2027-01-02".parse().unwrap();
        assert_eq!(span.first.next().to_string(), "2027-01-01");
        assert_eq!(span.to_string(), "2026-12-31..2027-01-02");
        for (s, m) in [("+08:00", 480), ("-03:30", -210), ("+00:00", 0)] {
            let o: UtcOffset = s.parse().unwrap();
            assert_eq!((o.minutes, o.to_string()), (m, s.to_owned()));
        }
        for bad in ["08:00", "+8:00", "+08", "+24:00", "+08:60"] {
            assert!(bad.parse::<UtcOffset>().is_err(), "{bad:?}");
        }
        let e = Config::from_toml("[calendar]\nholidays = [\"2026-02-30\"]\n").unwrap_err();
        assert!(e.to_string().contains("2026-02-30"), "{e}");
    }

    #[test]
    fn calendar_errors_have_key_paths() {
        let e = errors(
            r#"
            [calendar]
            weekend = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
            working_hours = "18:00-09:00"
            holidays = ["2026-10-07..2026-10-01", "2026-01-01..2026-03-01", "2026-05-01..2026-05-05"]
            workdays = ["2026-05-02"]
            "#,
        );
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "calendar.weekend",
                "calendar.working_hours",
                "calendar.holidays[0]",
                "calendar.holidays[1]",
                "calendar.workdays[0]"
            ],
            "{e:?}"
        );
    }

    #[test]
    fn tickets_errors_have_key_paths() {
        let e = errors(
            r#"
            [tickets]
            order_prefix = "mm"
            sign_within_minutes = 0
            repeat_threshold = 1
            [tickets.complete_within_days]
            help = 0
            [[tickets.topics]]
            code = "urban.roads"
            name = "道路"
            [[tickets.topics]]
            code = "Urban"
            name = " "
            [[tickets.topics]]
            code = "Urban"
            name = "x"
            "#,
        );
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "tickets.order_prefix",
                "tickets.sign_within_minutes",
                "tickets.complete_within_days.help",
                "tickets.repeat_threshold",
                "tickets.topics[0].code",
                "tickets.topics[1].code",
                "tickets.topics[1].name",
                "tickets.topics[2].code",
                "tickets.topics[2].code",
            ],
            "{e:?}"
        );
        let e = errors("[tickets]\ntopics = []\n");
        assert_eq!(e[0].path, "tickets.topics");
        let e = Config::from_toml("[tickets]\nhour_basis = \"lunar\"\n").unwrap_err();
        assert!(e.to_string().contains("lunar"), "{e}");
    }

    #[test]
    fn empty_sections_take_the_defaults() {
        let c = Config::from_toml("[calendar]\n[tickets]\n").unwrap();
        assert_eq!(c.calendar, CalendarConfig::default());
        assert_eq!(c.tickets, TicketsConfig::default());
        assert!(c.validate().is_ok());
    }
}
