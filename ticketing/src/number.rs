//! Order numbers people can read out on the phone: `MM20260105000123`.
//!
//! A number is a prefix of one to eight ASCII capital letters (`MM` for
//! Maoming, `[tickets] order_prefix`), the local date the order was opened on
//! (`yyyymmdd`) and a six-digit sequence that restarts every day. The store
//! hands out the sequence (one counter per day, inside the transaction that
//! inserts the order); this module only formats and parses, so the number is
//! the same on SQLite and PostgreSQL and can be typed back by an agent.
//!
//! Six digits allow 999 999 orders a day, some hundred times what a city
//! hotline takes; a day that overflows is refused rather than given a longer
//! number, which would break the fixed width that makes numbers sortable.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month};

use crate::error::{DomainError, Result};

/// Digits of the daily sequence.
pub const SEQUENCE_DIGITS: usize = 6;
/// Largest daily sequence number.
pub const MAX_SEQUENCE: u32 = 999_999;
/// Longest prefix.
pub const MAX_PREFIX_LEN: usize = 8;

/// A work order's number: prefix, local date and daily sequence.
///
/// Ordering is by prefix, then date, then sequence, which is also the order
/// of the printed strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderNumber {
    prefix: String,
    date: Date,
    sequence: u32,
}

impl OrderNumber {
    /// The number `sequence` (1 ..= [`MAX_SEQUENCE`]) of local day `date`.
    pub fn new(prefix: &str, date: Date, sequence: u32) -> Result<Self> {
        check_prefix(prefix)?;
        if !(1..=MAX_SEQUENCE).contains(&sequence) {
            return Err(DomainError::validation(
                "number.sequence",
                format!("{sequence} is outside 1..={MAX_SEQUENCE}"),
            ));
        }
        if !(1000..=9999).contains(&date.year()) {
            return Err(DomainError::validation(
                "number.date",
                "year must have four digits",
            ));
        }
        Ok(OrderNumber {
            prefix: prefix.to_owned(),
            date,
            sequence,
        })
    }

    /// Parse a number and require the given prefix (the configured one), so
    /// that a number of another city's platform is not taken for ours.
    pub fn parse_with_prefix(text: &str, prefix: &str) -> Result<Self> {
        let n: OrderNumber = text.parse()?;
        if n.prefix != prefix {
            return Err(DomainError::validation(
                "number",
                format!("{text:?} does not start with {prefix:?}"),
            ));
        }
        Ok(n)
    }

    /// The letters before the date.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The local date the order was opened on.
    pub fn date(&self) -> Date {
        self.date
    }

    /// The sequence within that day.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }
}

fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty()
        || prefix.len() > MAX_PREFIX_LEN
        || !prefix.bytes().all(|b| b.is_ascii_uppercase())
    {
        return Err(DomainError::validation(
            "number.prefix",
            format!("{prefix:?} must be 1 to {MAX_PREFIX_LEN} capital letters A-Z"),
        ));
    }
    Ok(())
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{:04}{:02}{:02}{:0width$}",
            self.prefix,
            self.date.year(),
            u8::from(self.date.month()),
            self.date.day(),
            self.sequence,
            width = SEQUENCE_DIGITS
        )
    }
}

impl FromStr for OrderNumber {
    type Err = DomainError;

    /// Accepts exactly what [`Display`](fmt::Display) prints; surrounding
    /// white space is ignored (numbers are pasted), letters must be capitals.
    fn from_str(text: &str) -> Result<Self> {
        let s = text.trim();
        let bad = |why: &str| DomainError::validation("number", format!("{text:?}: {why}"));
        let split = s
            .find(|c: char| !c.is_ascii_alphabetic())
            .ok_or_else(|| bad("no date and sequence"))?;
        let (prefix, digits) = s.split_at(split);
        check_prefix(prefix).map_err(|_| bad("prefix must be 1 to 8 capital letters"))?;
        if digits.len() != 8 + SEQUENCE_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected 8 date digits and 6 sequence digits"));
        }
        let num = |r: std::ops::Range<usize>| -> u32 {
            // Only ASCII digits remain, at most 6 of them: fits in u32.
            digits[r]
                .bytes()
                .fold(0, |n, b| n * 10 + u32::from(b - b'0'))
        };
        let year = i32::try_from(num(0..4)).map_err(|_| bad("year"))?;
        let month = u8::try_from(num(4..6))
            .ok()
            .and_then(|m| Month::try_from(m).ok())
            .ok_or_else(|| bad("month"))?;
        let day = u8::try_from(num(6..8)).map_err(|_| bad("day"))?;
        let date = Date::from_calendar_date(year, month, day).map_err(|_| bad("no such date"))?;
        OrderNumber::new(prefix, date, num(8..8 + SEQUENCE_DIGITS))
            .map_err(|_| bad("sequence must be at least 1"))
    }
}

impl Serialize for OrderNumber {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OrderNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn formats_fixed_width() {
        let n = OrderNumber::new("MM", date!(2026 - 01 - 05), 123).unwrap();
        assert_eq!(n.to_string(), "MM20260105000123");
        let n = OrderNumber::new("MM", date!(2026 - 12 - 31), MAX_SEQUENCE).unwrap();
        assert_eq!(n.to_string(), "MM20261231999999");
    }

    #[test]
    fn parse_round_trips() {
        for (prefix, d, seq) in [
            ("MM", date!(2026 - 01 - 05), 1),
            ("GD", date!(2024 - 02 - 29), 42),
            ("ABCDEFGH", date!(2099 - 12 - 31), 999_999),
        ] {
            let n = OrderNumber::new(prefix, d, seq).unwrap();
            let back: OrderNumber = n.to_string().parse().unwrap();
            assert_eq!(back, n);
            assert_eq!(
                (back.prefix(), back.date(), back.sequence()),
                (prefix, d, seq)
            );
        }
        let pasted: OrderNumber = "  MM20260105000007\n".parse().unwrap();
        assert_eq!(pasted.sequence(), 7);
    }

    #[test]
    fn parse_rejects_malformed() {
        for bad in [
            "",
            "MM",
            "20260105000123",
            "mm20260105000123",
            "MM2026010500012",
            "MM202601050001234",
            "MM20260230000001", // 30 February
            "MM20261305000001", // month 13
            "MM20260105000000", // sequence 0
            "MM2026O105000001", // letter O for zero
            "ABCDEFGHI20260105000001",
            "MM-20260105-000001",
            "MM２0260105000001", // full-width digit
        ] {
            let err = bad.parse::<OrderNumber>().unwrap_err();
            assert_eq!(err.field(), Some("number"), "{bad:?}");
        }
    }

    #[test]
    fn constructor_rejects_out_of_range() {
        assert!(OrderNumber::new("MM", date!(2026 - 01 - 05), 0).is_err());
        assert!(OrderNumber::new("MM", date!(2026 - 01 - 05), 1_000_000).is_err());
        assert!(OrderNumber::new("mm", date!(2026 - 01 - 05), 1).is_err());
        assert!(OrderNumber::new("", date!(2026 - 01 - 05), 1).is_err());
    }

    #[test]
    fn prefix_is_checked_when_asked() {
        assert!(OrderNumber::parse_with_prefix("MM20260105000001", "MM").is_ok());
        let err = OrderNumber::parse_with_prefix("GD20260105000001", "MM").unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn orders_like_the_text_and_serialises_as_string() {
        let a = OrderNumber::new("MM", date!(2026 - 01 - 05), 999).unwrap();
        let b = OrderNumber::new("MM", date!(2026 - 01 - 06), 1).unwrap();
        assert!(a < b && a.to_string() < b.to_string());
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"MM20260105000999\"");
        assert_eq!(serde_json::from_str::<OrderNumber>(&json).unwrap(), a);
        assert!(serde_json::from_str::<OrderNumber>("\"MM1\"").is_err());
    }
}
