//! The one number syntax of the project: register maps and the command
//! line (regpoke) parse numbers with [`parse`], so `0x_10` or `10_` mean the
//! same thing (nothing) everywhere.
//!
//! A number is decimal (`256`), hexadecimal (`0x100`), octal (`0o400`) or
//! binary (`0b1_0000_0000`), the prefix in either case; `_` may separate
//! digits, so it may stand neither first nor last. No sign, no spaces, at
//! most 64 bits.

/// What a number looks like, for messages.
pub const SYNTAX: &str =
    "a non-negative integer (decimal, or hex/octal/binary with 0x/0o/0b; `_` may separate digits)";

/// Why a text is not a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// It does not have the syntax of a number.
    NotANumber,
    /// It is a number, but more than 64 bits wide.
    TooLarge,
}

impl std::fmt::Display for NumberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NumberError::NotANumber => "not a number",
            NumberError::TooLarge => {
                "too large: numbers are at most 64 bits (0xffff_ffff_ffff_ffff)"
            }
        })
    }
}

/// Parses `123`, `0x7f`, `0o17`, `0b101` (prefix in either case), with `_`
/// allowed between digits.
pub fn parse(text: &str) -> Result<u64, NumberError> {
    let lower_prefix = text.get(..2).map(str::to_ascii_lowercase);
    let (digits, radix) = match lower_prefix.as_deref() {
        Some("0x") => (&text[2..], 16),
        Some("0o") => (&text[2..], 8),
        Some("0b") => (&text[2..], 2),
        _ => (text, 10),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return Err(NumberError::NotANumber);
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(radix).ok_or(NumberError::NotANumber)?;
        match value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    if overflow {
        Err(NumberError::TooLarge)
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("42"), Ok(42));
        assert_eq!(parse("0x0100_00ed"), Ok(0x0100_00ed));
        assert_eq!(parse("0XFF"), Ok(255));
        assert_eq!(parse("0o17"), Ok(15));
        assert_eq!(parse("0b1010"), Ok(10));
        assert_eq!(parse("1_000"), Ok(1000));
        assert_eq!(parse("1__000"), Ok(1000));
        assert_eq!(parse("0xffff_ffff_ffff_ffff"), Ok(u64::MAX));
        assert_eq!(parse("0x1_0000_0000_0000_0000"), Err(NumberError::TooLarge));
        assert_eq!(parse(&"9".repeat(1000)), Err(NumberError::TooLarge));
        for bad in [
            "", "0x", "0x_", "_1", "-1", "+1", "1.5", "1e3", "0xg", "abc", "0b2", "é", "0é",
            "0x_10", "10_", "0b_1", " 1", "1 ",
        ] {
            assert_eq!(parse(bad), Err(NumberError::NotANumber), "{bad:?}");
        }
    }
}
