//! Numbers, durations and hex formatting.

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses an unsigned integer with the project's one number syntax
/// ([`register_spec::number`], the same as in register maps): decimal,
/// `0x` hex, `0b` binary or `0o` octal, with `_` allowed between digits.
/// `None` if `s` is not a number or is wider than 64 bits.
pub fn parse_u64(s: &str) -> Option<u64> {
    register_spec::number::parse(s).ok()
}

/// Whether `s` looks like a number (starts with a digit), so that an
/// unparsable one gets a number error rather than a name error.
pub fn looks_numeric(s: &str) -> bool {
    s.trim().starts_with(|c: char| c.is_ascii_digit())
}

/// [`parse_u64`] with an error naming `what` and saying why.
pub fn parse_u64_for(s: &str, what: &str) -> Result<u64> {
    register_spec::number::parse(s).map_err(|e| {
        Error::usage(format!("invalid {what} {s}: {e}", s = crate::names::Shown(s))).hint(
            "numbers are decimal (16), hex (0x10), binary (0b1_0000) or octal (0o20); `_` may separate digits",
        )
    })
}

/// Formats `v` as `0x` and `digits` hex digits (at least), zero-padded.
pub fn hex(v: u64, digits: usize) -> String {
    format!("{v:#0width$x}", width = digits + 2)
}

/// Hex digits needed to show `bits` bits.
pub fn digits_for_bits(bits: u32) -> usize {
    bits.div_ceil(4).max(1) as usize
}

/// Parses a duration: a number with a unit `ns`, `us`, `ms`, `s`, `m` or
/// `h` (`500ms`, `2s`, `1.5s`, `1m`); a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let t = s.trim();
    let bad = || {
        Error::usage(format!("invalid duration {s}", s = crate::names::Shown(s)))
            .hint("durations are a number and a unit: 500ms, 2s, 1.5s, 1m (also ns, us, h); a bare number is seconds")
    };
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() || num.matches('.').count() > 1 || num == "." {
        return Err(bad());
    }
    let scale: f64 = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "" | "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    let v: f64 = num.parse().map_err(|_| bad())?;
    let secs = v * scale;
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a timeout: a duration, or `forever`/`none` for no limit.
pub fn parse_timeout(s: &str) -> Result<Option<Duration>> {
    match s.trim() {
        "forever" | "none" | "inf" => Ok(None),
        _ => parse_duration(s).map(Some),
    }
}

/// Shows a duration the way it would be typed (`500ms`, `2s`).
pub fn show_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        "0s".into()
    } else if ns.is_multiple_of(1_000_000_000) {
        format!("{}s", ns / 1_000_000_000)
    } else if ns.is_multiple_of(1_000_000) {
        format!("{}ms", ns / 1_000_000)
    } else if ns.is_multiple_of(1_000) {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

/// `a 16-bit`, `an 8-bit`: the width in bits with its article.
pub fn a_bits(bits: u32) -> String {
    // "an" before a vowel sound: 8, 11, 18, 80-89 (only 8 is a width).
    let an = bits == 8 || bits == 11 || bits == 18 || (80..90).contains(&bits);
    format!("{} {bits}-bit", if an { "an" } else { "a" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_articles() {
        assert_eq!(a_bits(8), "an 8-bit");
        assert_eq!(a_bits(16), "a 16-bit");
        assert_eq!(a_bits(32), "a 32-bit");
        assert_eq!(a_bits(64), "a 64-bit");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("16"), Some(16));
        assert_eq!(parse_u64("0x10"), Some(16));
        assert_eq!(parse_u64("0X1_0"), Some(16));
        assert_eq!(parse_u64("0b1_0000"), Some(16));
        assert_eq!(parse_u64("0o20"), Some(16));
        assert_eq!(parse_u64("0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(parse_u64("0x1ffffffffffffffff"), None);
        assert_eq!(parse_u64("0x"), None);
        assert_eq!(parse_u64("_1"), None);
        assert_eq!(parse_u64("12a"), None);
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64(""), None);
    }

    #[test]
    fn hex_formatting() {
        assert_eq!(hex(0x10000ed, 8), "0x010000ed");
        assert_eq!(hex(0, 1), "0x0");
        assert_eq!(hex(u64::MAX, 16), "0xffffffffffffffff");
        assert_eq!(digits_for_bits(1), 1);
        assert_eq!(digits_for_bits(8), 2);
        assert_eq!(digits_for_bits(9), 3);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("10us").unwrap(), Duration::from_micros(10));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1e400s").is_err());
        assert_eq!(parse_timeout("forever").unwrap(), None);
        assert_eq!(show_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(show_duration(Duration::from_secs(2)), "2s");
    }
}
