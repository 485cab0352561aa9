//! Human-readable durations ("500ms", "15s", "2m") and the millisecond type
//! every machine in this crate measures time in.
//!
//! Time is always an integer count of milliseconds on the driver's monotonic
//! clock ([`Ms`]); no machine ever reads a clock itself.

use serde::{de, Deserialize, Deserializer};
use std::fmt;

/// Milliseconds: both instants (on the driver's monotonic clock) and
/// durations are expressed in this unit.
pub type Ms = u64;

/// Parses a human duration: a non-negative decimal number followed by one of
/// the units `ms`, `s`, `m`, `h` (`"500ms"`, `"15s"`, `"1.5s"`, `"2m"`).
///
/// The result must be a whole number of milliseconds and at most
/// [`crate::limits::MAX_DURATION_MS`] (365 days: the one duration limit of
/// the whole tool, see [`crate::limits`]). Errors say why, in words meant to
/// be shown to the person who wrote the file.
pub fn parse(text: &str) -> Result<Ms, String> {
    let ms = parse_unbounded(text)?;
    if ms > crate::limits::MAX_DURATION_MS {
        return Err(format!(
            "duration {text:?} is longer than livecheck accepts: at most {}",
            crate::limits::MAX_DURATION_TEXT
        ));
    }
    Ok(ms)
}

fn parse_unbounded(text: &str) -> Result<Ms, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(format!(
            "negative duration {text:?}: durations must be >= 0"
        ));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| {
            format!("duration {text:?} has no unit (write e.g. \"500ms\" or \"15s\")")
        })?;
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!("duration {text:?} does not start with a number"));
    }
    let scale: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => {
            return Err(format!(
                "duration {text:?} has unknown unit {unit:?} (use ms, s, m or h)"
            ))
        }
    };
    let (int_part, frac_part) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int_part.is_empty() || frac_part.contains('.') {
        return Err(format!(
            "duration {text:?} is not a number followed by a unit"
        ));
    }
    let whole: u64 = int_part
        .parse()
        .map_err(|_| format!("duration {text:?} is too large"))?;
    let mut ms = whole
        .checked_mul(scale)
        .ok_or_else(|| format!("duration {text:?} is too large"))?;
    if !frac_part.is_empty() {
        // Exact decimal arithmetic: frac / 10^digits * scale must be whole.
        let digits = frac_part.len() as u32;
        let frac: u64 = frac_part
            .parse()
            .map_err(|_| format!("duration {text:?} is not a number"))?;
        let denom = 10u64
            .checked_pow(digits)
            .ok_or_else(|| format!("duration {text:?} has too many decimals"))?;
        let num = frac
            .checked_mul(scale)
            .ok_or_else(|| format!("duration {text:?} is too large"))?;
        if num % denom != 0 {
            return Err(format!(
                "duration {text:?} is not a whole number of milliseconds"
            ));
        }
        ms = ms
            .checked_add(num / denom)
            .ok_or_else(|| format!("duration {text:?} is too large"))?;
    }
    Ok(ms)
}

/// Formats milliseconds the way a person writes them: `"500ms"`, `"15s"`,
/// `"1.5s"`, `"2m"`.
pub fn format(ms: Ms) -> String {
    Human(ms).to_string()
}

/// Display adapter for [`format()`].
#[derive(Debug, Clone, Copy)]
pub struct Human(pub Ms);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms == 0 {
            write!(f, "0s")
        } else if ms.is_multiple_of(60_000) {
            write!(f, "{}m", ms / 60_000)
        } else if ms.is_multiple_of(1_000) {
            write!(f, "{}s", ms / 1_000)
        } else if ms >= 1_000 {
            let s = format!("{:.3}", ms as f64 / 1000.0);
            write!(f, "{}s", s.trim_end_matches('0'))
        } else {
            write!(f, "{ms}ms")
        }
    }
}

/// Serde adapter: deserializes a human duration string into [`Ms`].
///
/// Use with `#[serde(deserialize_with = "duration::de")]`.
pub fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Ms, D::Error> {
    let s = HumanText::deserialize(d)?;
    parse(&s.0).map_err(de::Error::custom)
}

/// Serde adapter for optional durations.
pub fn de_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Ms>, D::Error> {
    de(d).map(Some)
}

/// A duration as written: a string, or a helpful error for a bare number.
struct HumanText(String);

impl<'de> Deserialize<'de> for HumanText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = HumanText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a duration string such as \"500ms\" or \"15s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HumanText, E> {
                Ok(HumanText(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<HumanText, E> {
                Err(E::custom(format!(
                    "bare number {v} is not a duration: write it with a unit, e.g. \"{v}ms\""
                )))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<HumanText, E> {
                self.visit_i64(v as i64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<HumanText, E> {
                Err(E::custom(format!(
                    "bare number {v} is not a duration: write it with a unit, e.g. \"{v}s\""
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_decimals() {
        assert_eq!(parse("500ms"), Ok(500));
        assert_eq!(parse("15s"), Ok(15_000));
        assert_eq!(parse("1.5s"), Ok(1_500));
        assert_eq!(parse("2m"), Ok(120_000));
        assert_eq!(parse("0s"), Ok(0));
        assert_eq!(parse("1h"), Ok(3_600_000));
    }

    #[test]
    fn rejects_bad_text_with_reason() {
        assert!(parse("-5s").unwrap_err().contains("negative"));
        assert!(parse("15").unwrap_err().contains("no unit"));
        assert!(parse("5x").unwrap_err().contains("unknown unit"));
        assert!(parse("s").unwrap_err().contains("number"));
        assert!(parse("0.0001s").unwrap_err().contains("whole number"));
        assert!(parse("1.2.3s").is_err());
        assert!(parse("99999999999999999999s")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn one_year_is_the_longest_duration() {
        assert_eq!(parse("8760h"), Ok(crate::limits::MAX_DURATION_MS));
        assert_eq!(parse("31536000000ms"), Ok(crate::limits::MAX_DURATION_MS));
        for text in [
            "31536000001ms",
            "8761h",
            "18446744073709551615ms",
            "1000000h",
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains("at most 8760h (365 days)"), "{text}: {e}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for ms in [0, 1, 500, 1_000, 1_500, 15_000, 60_000, 61_500, 120_000] {
            assert_eq!(parse(&format(ms)), Ok(ms), "{}", format(ms));
        }
    }
}
