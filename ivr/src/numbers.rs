//! Reading numbers aloud from digit prompts, in Mandarin and Cantonese.
//!
//! Queue positions and waits are counts ("还有三位", "约十二分钟"), so they are
//! read as Chinese numerals, not digit strings: the prompt set has the digits
//! `num-0` … `num-9`, the units `num-10` (十), `num-100` (百), `num-1000` (千),
//! `num-10000` (万/萬) and `num-liang` (两/兩, "two" when counting). Both
//! languages build numerals the same way, so one word sequence serves both and
//! only the recordings differ:
//!
//! - a leading 一 before 十 is dropped (12 → 十二, but 112 → 一百一十二);
//! - a gap of zeros inside the number is read as one 零 (105 → 一百零五,
//!   1005 → 一千零五, 10 005 → 一万零五);
//! - 2 alone, and 2 before 百/千/万, is 两 (2 → 两, 200 → 两百, 22 → 二十二);
//! - numbers from 10⁸ up are read digit by digit (they do not occur as
//!   positions or minutes).
//!
//! Telephone numbers (the callback confirmation) are read digit by digit with
//! [`digit_words`].

/// Prompt names of the digits 0–9.
pub const DIGITS: [&str; 10] = [
    "num-0", "num-1", "num-2", "num-3", "num-4", "num-5", "num-6", "num-7", "num-8", "num-9",
];
/// 十
pub const TEN: &str = "num-10";
/// 百
pub const HUNDRED: &str = "num-100";
/// 千
pub const THOUSAND: &str = "num-1000";
/// 万 / 萬
pub const TEN_THOUSAND: &str = "num-10000";
/// 两 / 兩: "two" when counting.
pub const LIANG: &str = "num-liang";

/// Every prompt name [`number_words`] and [`digit_words`] can return.
pub fn all_number_prompts() -> Vec<&'static str> {
    let mut v = DIGITS.to_vec();
    v.extend([TEN, HUNDRED, THOUSAND, TEN_THOUSAND, LIANG]);
    v
}

/// The prompt names that read `n` aloud as a count.
pub fn number_words(n: u32) -> Vec<&'static str> {
    if n >= 100_000_000 {
        return digit_words(&n.to_string());
    }
    if n == 0 {
        return vec![DIGITS[0]];
    }
    let mut out = Vec::new();
    let (wan, rest) = (n / 10_000, n % 10_000);
    if wan > 0 {
        below_10000(wan, &mut out);
        out.push(TEN_THOUSAND);
        if rest > 0 {
            if rest < 1000 {
                out.push(DIGITS[0]);
            }
            below_10000_inner(rest, false, &mut out);
        }
    } else {
        below_10000(n, &mut out);
    }
    out
}

/// Digit-by-digit reading of a string of digits (other characters skipped).
pub fn digit_words(digits: &str) -> Vec<&'static str> {
    digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| DIGITS[usize::from(b - b'0')])
        .collect()
}

/// 1..=9999 standing at the start of a numeral.
fn below_10000(n: u32, out: &mut Vec<&'static str>) {
    if n == 2 {
        out.push(LIANG);
    } else {
        below_10000_inner(n, true, out);
    }
}

fn below_10000_inner(n: u32, leading: bool, out: &mut Vec<&'static str>) {
    let places = [
        (n / 1000, THOUSAND),
        ((n / 100) % 10, HUNDRED),
        ((n / 10) % 10, TEN),
        (n % 10, ""),
    ];
    let mut started = false;
    let mut zero_pending = false;
    for (digit, unit) in places {
        let digit = digit as usize;
        if digit == 0 {
            zero_pending = started;
            continue;
        }
        if zero_pending {
            out.push(DIGITS[0]);
            zero_pending = false;
        }
        let skip_one = unit == TEN && digit == 1 && leading && !started;
        if !skip_one {
            let two_counted = digit == 2 && (unit == HUNDRED || unit == THOUSAND);
            out.push(if two_counted { LIANG } else { DIGITS[digit] });
        }
        if !unit.is_empty() {
            out.push(unit);
        }
        started = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spell the words as Mandarin characters, to compare with how people read.
    fn hanzi(n: u32) -> String {
        number_words(n)
            .iter()
            .map(|w| match *w {
                TEN => "十",
                HUNDRED => "百",
                THOUSAND => "千",
                TEN_THOUSAND => "万",
                LIANG => "两",
                d => ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"]
                    [DIGITS.iter().position(|x| x == &d).expect("a digit")],
            })
            .collect()
    }

    #[test]
    fn counts_read_like_people_read_them() {
        let cases = [
            (0, "零"),
            (1, "一"),
            (2, "两"),
            (3, "三"),
            (10, "十"),
            (12, "十二"),
            (20, "二十"),
            (22, "二十二"),
            (99, "九十九"),
            (100, "一百"),
            (105, "一百零五"),
            (110, "一百一十"),
            (112, "一百一十二"),
            (200, "两百"),
            (1000, "一千"),
            (1005, "一千零五"),
            (1010, "一千零一十"),
            (2002, "两千零二"),
            (3050, "三千零五十"),
            (10000, "一万"),
            (10005, "一万零五"),
            (20000, "两万"),
            (12345, "一万两千三百四十五"),
            (100_010, "十万零一十"),
            (99_999_999, "九千九百九十九万九千九百九十九"),
        ];
        for (n, expected) in cases {
            assert_eq!(hanzi(n), expected, "{n}");
        }
    }

    #[test]
    fn huge_numbers_and_phone_numbers_are_digits() {
        assert_eq!(number_words(123_456_789).len(), 9);
        assert_eq!(
            digit_words("138-0012"),
            ["num-1", "num-3", "num-8", "num-0", "num-0", "num-1", "num-2"]
        );
    }

    #[test]
    fn every_word_is_a_known_prompt() {
        let all = all_number_prompts();
        for n in (0..=20_000)
            .step_by(7)
            .chain([2, 200, 2000, 20000, 100_000_000])
        {
            for w in number_words(n) {
                assert!(all.contains(&w), "{n}: {w}");
            }
        }
    }
}
