//! The text format of Linux's mmiotrace: one record per line, written by
//! [`Recorder`](crate::Recorder) and read by [`Trace::parse`].
//!
//! The lines, as `kernel/trace/trace_mmiotrace.c` prints them (numbers in
//! hexadecimal with `0x` unless said otherwise; `TIME` is seconds with six
//! decimals, `SECS.USECS`):
//!
//! | line | fields |
//! |---|---|
//! | `VERSION 20070824` | the format's version |
//! | `PCIDEV BBDF VVVVDDDD IRQ START×7 SIZE×7 [DRIVER]` | a PCI device, as in `/proc/bus/pci/devices` (kept as text) |
//! | `LSPCI TEXT` | a line of `lspci -v` (older traces; kept as text) |
//! | `MAP TIME ID PHYS VIRT LEN PC PID` | an `ioremap`: map `ID` (decimal) covers `LEN` bytes at physical `PHYS` |
//! | `UNMAP TIME ID PC PID` | an `iounmap` of map `ID` |
//! | `R WIDTH TIME ID PHYS VALUE PC PID` | a read of `WIDTH` bytes (decimal: 1, 2, 4, 8) at physical `PHYS` through map `ID` |
//! | `W WIDTH TIME ID PHYS VALUE PC PID` | a write |
//! | `UNKNOWN TIME ID PHYS B2,B1,B0 PC PID` | an instruction mmiotrace could not decode |
//! | `MARK TIME TEXT` | a marker written to `trace_marker`; `MARK 0.000000 Lost N events.` says the trace is incomplete |
//!
//! `PC` and `PID` may be left out when reading (the kernel always prints
//! `PID` as 0). An access's offset in its mapping is `PHYS - MAP's PHYS`.

use std::fmt;
use std::time::Duration;

use hal_core::Width;

/// The version string mmiotrace writes and [`Recorder`](crate::Recorder) writes.
pub const VERSION: &str = "20070824";

/// Whether an access reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A read (`R`).
    Read,
    /// A write (`W`).
    Write,
}

impl Kind {
    /// The line's keyword: `R` or `W`.
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Read => "R",
            Kind::Write => "W",
        }
    }
}

/// One register access as a driver performs it: offset in the mapping,
/// width, read or write, and the value read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Access {
    /// Read or write.
    pub kind: Kind,
    /// Byte offset in the mapping.
    pub offset: usize,
    /// Width of the access.
    pub width: Width,
    /// The value read or written (zero-extended).
    pub value: u64,
}

impl fmt::Display for Access {
    /// `read32 0x8 -> 0xedcba987`, `write32 0x8 <- 0x12345678`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (verb, arrow) = match self.kind {
            Kind::Read => ("read", "->"),
            Kind::Write => ("write", "<-"),
        };
        write!(
            f,
            "{verb}{} {:#x} {arrow} {:#x}",
            self.width.bits(),
            self.offset,
            self.value
        )
    }
}

/// A `MAP` line: one mapping of device memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapRecord {
    /// Line number in the trace (1-based).
    pub line: usize,
    /// When it was mapped.
    pub time: Duration,
    /// The map id that `R`/`W` lines refer to.
    pub id: u32,
    /// Physical address of the mapping's first byte (0 when a user-space
    /// recording did not know it: offsets are then the addresses).
    pub phys: u64,
    /// Virtual address of the mapping (kernel or user space; informative).
    pub virt: u64,
    /// Length in bytes.
    pub len: u64,
}

/// An `R` or `W` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RwRecord {
    /// Line number in the trace (1-based).
    pub line: usize,
    /// Read or write.
    pub kind: Kind,
    /// Width of the access.
    pub width: Width,
    /// When it happened.
    pub time: Duration,
    /// The map it went through.
    pub map_id: u32,
    /// Physical address.
    pub phys: u64,
    /// Value read or written.
    pub value: u64,
}

/// One line of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// `VERSION`.
    Version {
        /// Line number.
        line: usize,
        /// The version string.
        version: String,
    },
    /// `PCIDEV` or `LSPCI`: information about the machine, kept as text.
    Info {
        /// Line number.
        line: usize,
        /// The keyword.
        keyword: &'static str,
        /// The rest of the line.
        text: String,
    },
    /// `MAP`.
    Map(MapRecord),
    /// `UNMAP`.
    Unmap {
        /// Line number.
        line: usize,
        /// When.
        time: Duration,
        /// The map id.
        map_id: u32,
    },
    /// `R` or `W`.
    Rw(RwRecord),
    /// `UNKNOWN`: an access mmiotrace could not decode.
    Unknown {
        /// Line number.
        line: usize,
        /// The map id.
        map_id: u32,
        /// Physical address.
        phys: u64,
    },
    /// `MARK`.
    Mark {
        /// Line number.
        line: usize,
        /// When.
        time: Duration,
        /// The marker's text.
        text: String,
    },
}

/// A malformed line: where (1-based line and column, in characters) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ParseError {
    /// Line number (1-based).
    pub line: usize,
    /// Column (1-based, in characters) of the field that is wrong.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

/// A parsed trace: its records in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// Every line that is not empty, in order.
    pub records: Vec<Record>,
}

/// A whitespace-separated field of a line and its 1-based column.
#[derive(Clone, Copy)]
struct Field<'a> {
    text: &'a str,
    column: usize,
}

struct Line<'a> {
    number: usize,
    text: &'a str,
    fields: Vec<Field<'a>>,
}

impl<'a> Line<'a> {
    fn split(number: usize, text: &'a str) -> Line<'a> {
        let mut fields = Vec::new();
        let mut start: Option<usize> = None;
        for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
            match (c == ' ' || c == '\t', start) {
                (true, Some(s)) => {
                    fields.push(Field {
                        text: &text[s..i],
                        column: text[..s].chars().count() + 1,
                    });
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
        Line {
            number,
            text,
            fields,
        }
    }

    fn err(&self, column: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line: self.number,
            column,
            message: message.into(),
        }
    }

    /// The column just past the end of the line (for a missing field).
    fn end_column(&self) -> usize {
        self.text.chars().count() + 1
    }

    /// Field `i`, which the line's `form` needs.
    fn field(&self, i: usize, what: &str, form: &str) -> Result<Field<'a>, ParseError> {
        self.fields.get(i).copied().ok_or_else(|| {
            self.err(
                self.end_column(),
                format!("the line ends before its {what}: expected `{form}`"),
            )
        })
    }

    /// The rest of the line from field `i` on (for text fields).
    fn rest(&self, i: usize) -> &'a str {
        match self.fields.get(i) {
            Some(f) => {
                let byte = self
                    .text
                    .char_indices()
                    .nth(f.column - 1)
                    .map_or(self.text.len(), |(b, _)| b);
                &self.text[byte..]
            }
            None => "",
        }
    }

    /// Refuses fields past the `max` that the line's form has.
    fn no_more(&self, max: usize, form: &str) -> Result<(), ParseError> {
        match self.fields.get(max) {
            Some(f) => Err(self.err(
                f.column,
                format!("unexpected field `{}`: expected `{form}`", short(f.text)),
            )),
            None => Ok(()),
        }
    }

    fn hex(&self, i: usize, what: &str, form: &str) -> Result<u64, ParseError> {
        let f = self.field(i, what, form)?;
        let digits = f
            .text
            .strip_prefix("0x")
            .or_else(|| f.text.strip_prefix("0X"))
            .unwrap_or(f.text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.err(
                f.column,
                format!(
                    "the {what} `{}` is not a hexadecimal number (like 0xfebf0000)",
                    short(f.text)
                ),
            ));
        }
        u64::from_str_radix(digits, 16).map_err(|_| {
            self.err(
                f.column,
                format!("the {what} `{}` does not fit in 64 bits", short(f.text)),
            )
        })
    }

    fn decimal(&self, i: usize, what: &str, form: &str) -> Result<u64, ParseError> {
        let f = self.field(i, what, form)?;
        if f.text.is_empty() || !f.text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.err(
                f.column,
                format!("the {what} `{}` is not a decimal number", short(f.text)),
            ));
        }
        f.text.parse().map_err(|_| {
            self.err(
                f.column,
                format!("the {what} `{}` is too large", short(f.text)),
            )
        })
    }

    fn map_id(&self, i: usize, form: &str) -> Result<u32, ParseError> {
        let v = self.decimal(i, "map id", form)?;
        u32::try_from(v).map_err(|_| {
            self.err(
                self.fields[i].column,
                format!("the map id {v} is too large (at most {})", u32::MAX),
            )
        })
    }

    fn time(&self, i: usize, form: &str) -> Result<Duration, ParseError> {
        let f = self.field(i, "timestamp", form)?;
        let bad = || {
            self.err(
                f.column,
                format!(
                    "the timestamp `{}` is not seconds with a fraction (like 12.345678)",
                    short(f.text)
                ),
            )
        };
        let (secs, frac) = f.text.split_once('.').ok_or_else(bad)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(secs) || !digits(frac) || frac.len() > 9 {
            return Err(bad());
        }
        let secs: u64 = secs.parse().map_err(|_| bad())?;
        let nanos: u32 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
        Ok(Duration::new(secs, nanos))
    }

    fn width(&self, i: usize, form: &str) -> Result<Width, ParseError> {
        let f = self.field(i, "width", form)?;
        let bytes = self.decimal(i, "width", form)?;
        Some(bytes)
            .filter(|&b| b <= 8)
            .and_then(|b| Width::from_bits(b as u32 * 8))
            .ok_or_else(|| {
                self.err(
                    f.column,
                    format!("the width `{}` is not 1, 2, 4 or 8 (bytes)", short(f.text)),
                )
            })
    }
}

/// At most 40 characters of `s`, for quoting input in a message.
fn short(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

const MAP_FORM: &str = "MAP TIME ID PHYS VIRT LEN [PC [PID]]";
const UNMAP_FORM: &str = "UNMAP TIME ID [PC [PID]]";
const RW_FORM: &str = "R|W WIDTH TIME ID PHYS VALUE [PC [PID]]";
const UNKNOWN_FORM: &str = "UNKNOWN TIME ID PHYS B2,B1,B0 [PC [PID]]";
const MARK_FORM: &str = "MARK TIME TEXT";

impl Trace {
    /// Parses mmiotrace text. Every non-empty line must be one of the
    /// records of the [module docs](self); the first line that is not is
    /// reported with its line and column.
    pub fn parse(text: &str) -> Result<Trace, ParseError> {
        let mut records = Vec::new();
        for (i, raw) in text.split('\n').enumerate() {
            let line = Line::split(i + 1, raw.strip_suffix('\r').unwrap_or(raw));
            let Some(keyword) = line.fields.first() else {
                continue;
            };
            let n = line.number;
            let record = match keyword.text {
                "VERSION" => {
                    let v = line.field(1, "version", "VERSION STRING")?;
                    line.no_more(2, "VERSION STRING")?;
                    Record::Version {
                        line: n,
                        version: v.text.to_string(),
                    }
                }
                "PCIDEV" | "LSPCI" => Record::Info {
                    line: n,
                    keyword: if keyword.text == "PCIDEV" {
                        "PCIDEV"
                    } else {
                        "LSPCI"
                    },
                    text: line.rest(1).to_string(),
                },
                "MAP" => {
                    let rec = MapRecord {
                        line: n,
                        time: line.time(1, MAP_FORM)?,
                        id: line.map_id(2, MAP_FORM)?,
                        phys: line.hex(3, "physical address", MAP_FORM)?,
                        virt: line.hex(4, "virtual address", MAP_FORM)?,
                        len: line.hex(5, "length", MAP_FORM)?,
                    };
                    optional_pc_pid(&line, 6, MAP_FORM)?;
                    Record::Map(rec)
                }
                "UNMAP" => {
                    let rec = Record::Unmap {
                        line: n,
                        time: line.time(1, UNMAP_FORM)?,
                        map_id: line.map_id(2, UNMAP_FORM)?,
                    };
                    optional_pc_pid(&line, 3, UNMAP_FORM)?;
                    rec
                }
                "R" | "W" => {
                    let width = line.width(1, RW_FORM)?;
                    let rec = RwRecord {
                        line: n,
                        kind: if keyword.text == "R" {
                            Kind::Read
                        } else {
                            Kind::Write
                        },
                        width,
                        time: line.time(2, RW_FORM)?,
                        map_id: line.map_id(3, RW_FORM)?,
                        phys: line.hex(4, "physical address", RW_FORM)?,
                        value: line.hex(5, "value", RW_FORM)?,
                    };
                    if rec.value > width.max_value() {
                        return Err(line.err(
                            line.fields[5].column,
                            format!(
                                "the value {:#x} does not fit in the access's {width}",
                                rec.value
                            ),
                        ));
                    }
                    optional_pc_pid(&line, 6, RW_FORM)?;
                    Record::Rw(rec)
                }
                "UNKNOWN" => {
                    line.time(1, UNKNOWN_FORM)?;
                    let rec = Record::Unknown {
                        line: n,
                        map_id: line.map_id(2, UNKNOWN_FORM)?,
                        phys: line.hex(3, "physical address", UNKNOWN_FORM)?,
                    };
                    line.field(4, "instruction bytes", UNKNOWN_FORM)?;
                    optional_pc_pid(&line, 5, UNKNOWN_FORM)?;
                    rec
                }
                "MARK" => Record::Mark {
                    line: n,
                    time: line.time(1, MARK_FORM)?,
                    text: line.rest(2).to_string(),
                },
                other => {
                    return Err(line.err(
                        keyword.column,
                        format!(
                            "unknown record `{}`: an mmiotrace line starts with VERSION, PCIDEV, LSPCI, MAP, UNMAP, R, W, UNKNOWN or MARK",
                            short(other)
                        ),
                    ))
                }
            };
            records.push(record);
        }
        Ok(Trace { records })
    }

    /// The `MAP` records.
    pub fn maps(&self) -> impl Iterator<Item = &MapRecord> {
        self.records.iter().filter_map(|r| match r {
            Record::Map(m) => Some(m),
            _ => None,
        })
    }

    /// Events mmiotrace says it lost (`MARK 0.000000 Lost N events.`),
    /// with the line that says so.
    pub fn lost_events(&self) -> Option<(usize, u64)> {
        self.records.iter().find_map(|r| match r {
            Record::Mark { line, text, .. } => text
                .strip_prefix("Lost ")
                .and_then(|t| t.strip_suffix(" events."))
                .and_then(|n| n.parse().ok())
                .map(|n| (*line, n)),
            _ => None,
        })
    }
}

/// The optional `PC` (hex) and `PID` (decimal) fields from `i` on.
fn optional_pc_pid(line: &Line<'_>, i: usize, form: &str) -> Result<(), ParseError> {
    if line.fields.len() > i {
        line.hex(i, "program counter", form)?;
    }
    if line.fields.len() > i + 1 {
        line.decimal(i + 1, "process id", form)?;
    }
    line.no_more(i + 2, form)
}

/// A timestamp as mmiotrace prints it: seconds, a dot, six digits.
pub(crate) struct Time(pub Duration);

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.0.as_secs(), self.0.subsec_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_columns() {
        let l = Line::split(1, "R 4  1.5\tx");
        let cols: Vec<(&str, usize)> = l.fields.iter().map(|f| (f.text, f.column)).collect();
        assert_eq!(cols, [("R", 1), ("4", 3), ("1.5", 6), ("x", 10)]);
        assert_eq!(l.rest(2), "1.5\tx");
    }

    #[test]
    fn time_round_trip() {
        let d = Duration::new(12, 345_678_000);
        assert_eq!(Time(d).to_string(), "12.345678");
        let t = Trace::parse("MARK 12.345678 hello world").unwrap();
        assert_eq!(
            t.records,
            [Record::Mark {
                line: 1,
                time: d,
                text: "hello world".into()
            }]
        );
    }
}
