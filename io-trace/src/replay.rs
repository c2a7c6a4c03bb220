//! [`Replay`]: an [`Io`] that serves a recorded session back to a driver
//! and detects the first access that differs from it.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use hal_core::{Io, Width};

use crate::format::{Access, Kind, ParseError, Record, Trace};

/// Which mapping of a trace to replay: a trace of a kernel driver holds a
/// `MAP` line per `ioremap`, and a driver under test reaches one of them.
/// Lines of the other mappings are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapSelect {
    /// The trace's one `MAP` (an error if it has several).
    Only,
    /// The `MAP` with this map id.
    Id(u32),
    /// Every `MAP` of this physical base address (a driver that mapped the
    /// same BAR more than once).
    Phys(u64),
}

impl fmt::Display for MapSelect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapSelect::Only => write!(f, "the only map"),
            MapSelect::Id(id) => write!(f, "map id {id}"),
            MapSelect::Phys(p) => write!(f, "the map at physical {p:#x}"),
        }
    }
}

/// One access the trace expects, with the line it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// The access (for a read, the value to serve).
    pub access: Access,
    /// Its line in the trace (1-based).
    pub line: usize,
}

/// The first access that differs from the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The trace's name (its file, or what [`Replay::from_trace`] was given).
    pub trace: String,
    /// Position of the access in the session, counting from 0.
    pub index: usize,
    /// Accesses in the replayed session.
    pub total: usize,
    /// What the trace has at that position (`None`: the driver went past
    /// the trace's end).
    pub expected: Option<Expected>,
    /// What the driver did.
    pub actual: Access,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.index + 1;
        match &self.expected {
            Some(e) => {
                let a = &self.actual;
                let what = if e.access.kind != a.kind {
                    "a read where the trace writes, or a write where it reads"
                } else if e.access.offset != a.offset {
                    "another offset"
                } else if e.access.width != a.width {
                    "another width"
                } else {
                    "another value written"
                };
                write!(
                    f,
                    "{}:{}: access {n} of {} differs from the trace ({what}): the trace has `{}`, the driver did `{a}`",
                    self.trace, e.line, self.total, e.access
                )
            }
            None => write!(
                f,
                "{}: access {n} goes past the end of the trace, which has {} accesses: the driver did `{}`",
                self.trace, self.total, self.actual
            ),
        }
    }
}

/// Why a trace cannot be replayed, or how the replay went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The trace file cannot be read.
    #[error("reading the trace {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error (part of the message, so not a `source()`).
        error: std::io::Error,
    },
    /// A line of the trace is malformed.
    #[error("{trace}:{error}")]
    Parse {
        /// The trace's name.
        trace: String,
        /// Where and what.
        error: ParseError,
    },
    /// The trace is well formed but cannot be replayed as asked.
    #[error("{trace}: {message}")]
    Unusable {
        /// The trace's name.
        trace: String,
        /// Why, and what to do.
        message: String,
    },
    /// The driver did something else than the trace.
    #[error("{0}")]
    Diverged(Divergence),
    /// The driver stopped before the end of the trace.
    #[error("{trace}:{}: the driver stopped after {done} accesses, but the trace has {} more; the next one is `{}`", next.line, remaining, next.access)]
    Leftover {
        /// The trace's name.
        trace: String,
        /// Accesses the driver performed.
        done: usize,
        /// Accesses of the trace it did not perform.
        remaining: usize,
        /// The first of them.
        next: Expected,
    },
}

struct State {
    next: usize,
    diverged: Option<Divergence>,
    /// `check` or `finish` told the caller how it went.
    reported: bool,
}

/// An [`Io`] that serves a recorded session to a driver: each read returns
/// the recorded value, and each access is compared with the trace's next
/// one (kind, offset, width and, for writes, the value).
///
/// An `Io` access cannot fail, so the first access that differs (or goes
/// past the end of the trace) is kept, and from then on reads return 0 and
/// writes are ignored; [`check`](Replay::check) and
/// [`finish`](Replay::finish) report it as a [`ReplayError::Diverged`]
/// that shows the expected and the actual access, its position and the
/// trace line. `finish` also reports accesses the driver left out at the
/// end ([`ReplayError::Leftover`]).
///
/// **Strict mode** ([`strict`](Replay::strict)) panics at the divergence
/// instead, inside the driver's access, so a test's backtrace shows the
/// driver code that did it (`RUST_BACKTRACE=1`).
///
/// A `Replay` dropped without `check` or `finish` having reported a
/// divergence or left-over accesses panics (unless the thread is already
/// panicking), so that a test cannot pass by forgetting to ask.
pub struct Replay {
    trace: String,
    expected: Vec<Expected>,
    len: usize,
    base: usize,
    strict: bool,
    state: Mutex<State>,
}

impl Replay {
    /// Reads and parses the trace file at `path` and selects its mapping.
    pub fn open(path: impl AsRef<Path>, which: MapSelect) -> Result<Replay, ReplayError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read(path).map_err(|error| ReplayError::Read {
            path: name.clone(),
            error,
        })?;
        let text = String::from_utf8_lossy(&text);
        Replay::parse(&text, which, &name)
    }

    /// Parses trace text; `name` names it in errors (a file name).
    pub fn parse(text: &str, which: MapSelect, name: &str) -> Result<Replay, ReplayError> {
        let trace = Trace::parse(text).map_err(|error| ReplayError::Parse {
            trace: name.to_string(),
            error,
        })?;
        Replay::from_trace(&trace, which, name)
    }

    /// Replays the accesses of the mapping `which` of a parsed trace.
    ///
    /// Offsets are the accesses' physical addresses minus the `MAP`'s
    /// physical base. Refused: a trace that lost events, no such `MAP` (or
    /// several with [`MapSelect::Only`]), an access outside its mapping,
    /// and an `UNKNOWN` (undecoded) access on the mapping.
    pub fn from_trace(trace: &Trace, which: MapSelect, name: &str) -> Result<Replay, ReplayError> {
        let unusable = |message: String| ReplayError::Unusable {
            trace: name.to_string(),
            message,
        };
        if let Some((line, n)) = trace.lost_events() {
            return Err(unusable(format!(
                "line {line}: mmiotrace lost {n} events, so the session is incomplete and would diverge where nothing went wrong: record it again (with one CPU online, and reading trace_pipe without delay)"
            )));
        }
        let maps: Vec<_> = trace.maps().collect();
        let listing = || {
            if maps.is_empty() {
                "it has no MAP line (when filtering a trace, keep its MAP lines)".to_string()
            } else {
                let l: Vec<String> = maps
                    .iter()
                    .map(|m| {
                        format!(
                            "id {} at {:#x} ({:#x} bytes, line {})",
                            m.id, m.phys, m.len, m.line
                        )
                    })
                    .collect();
                format!("its maps are {}", l.join(", "))
            }
        };
        let chosen: Vec<_> = match which {
            MapSelect::Only if maps.len() == 1 => maps.clone(),
            MapSelect::Only => {
                return Err(unusable(format!(
                    "choose the mapping to replay by map id or physical address: {}",
                    listing()
                )))
            }
            MapSelect::Id(id) => maps.iter().copied().filter(|m| m.id == id).collect(),
            MapSelect::Phys(p) => maps.iter().copied().filter(|m| m.phys == p).collect(),
        };
        let Some(first) = chosen.first() else {
            return Err(unusable(format!(
                "there is no MAP of {which}: {}",
                listing()
            )));
        };
        let phys = first.phys;
        if let Some(other) = chosen.iter().find(|m| m.phys != phys) {
            return Err(unusable(format!(
                "map id {} is mapped at {phys:#x} (line {}) and at {:#x} (line {}): choose the mapping by physical address",
                other.id, first.line, other.phys, other.line
            )));
        }
        let len = chosen.iter().map(|m| m.len).max().unwrap_or(0);
        let len = usize::try_from(len).map_err(|_| {
            unusable(format!(
                "the mapping's length {len:#x} does not fit in memory"
            ))
        })?;
        let selected: Vec<usize> = chosen.iter().map(|m| m.line).collect();
        // The MAP line each map id currently refers to.
        let mut current: HashMap<u32, usize> = HashMap::new();
        let mut expected = Vec::new();
        for r in &trace.records {
            match r {
                Record::Map(m) => {
                    current.insert(m.id, m.line);
                }
                Record::Unmap { map_id, .. } => {
                    current.remove(map_id);
                }
                Record::Rw(rw)
                    if current
                        .get(&rw.map_id)
                        .is_some_and(|l| selected.contains(l)) =>
                {
                    let offset = rw
                        .phys
                        .checked_sub(phys)
                        .and_then(|o| usize::try_from(o).ok())
                        .filter(|o| {
                            o.checked_add(rw.width.bytes())
                                .is_some_and(|end| end <= len)
                        })
                        .ok_or_else(|| {
                            unusable(format!(
                                "line {}: the {} access at {:#x} is outside map {} ({:#x}..{:#x})",
                                rw.line,
                                rw.width,
                                rw.phys,
                                rw.map_id,
                                phys,
                                phys.saturating_add(len as u64)
                            ))
                        })?;
                    expected.push(Expected {
                        access: Access {
                            kind: rw.kind,
                            offset,
                            width: rw.width,
                            value: rw.value,
                        },
                        line: rw.line,
                    });
                }
                Record::Unknown { line, map_id, .. }
                    if current.get(map_id).is_some_and(|l| selected.contains(l)) =>
                {
                    return Err(unusable(format!(
                        "line {line}: mmiotrace could not decode this access (UNKNOWN), so the session cannot be replayed"
                    )));
                }
                _ => {}
            }
        }
        Ok(Replay {
            trace: name.to_string(),
            expected,
            len,
            base: phys as usize,
            strict: false,
            state: Mutex::new(State {
                next: 0,
                diverged: None,
                reported: false,
            }),
        })
    }

    /// Panics at the first divergence, in the access that diverges (see
    /// the type's docs), instead of recording it for `check`/`finish`.
    pub fn strict(mut self) -> Replay {
        self.strict = true;
        self
    }

    /// Uses `addr` as [`base_addr`](Io::base_addr) (default: the `MAP`'s
    /// physical address), e.g. to test a driver's alignment checks.
    pub fn with_base(mut self, addr: usize) -> Replay {
        self.base = addr;
        self
    }

    /// The accesses the trace expects, in order.
    pub fn expected(&self) -> &[Expected] {
        &self.expected
    }

    /// Accesses served so far.
    pub fn position(&self) -> usize {
        self.lock().next
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The first divergence so far, if any. Accesses still to come are not
    /// an error here (the driver may not be done); see [`finish`](Replay::finish).
    pub fn check(&self) -> Result<(), ReplayError> {
        let mut s = self.lock();
        match s.diverged.clone() {
            Some(d) => {
                s.reported = true;
                Err(ReplayError::Diverged(d))
            }
            None => Ok(()),
        }
    }

    /// Ends the replay: the first divergence, or else the accesses of the
    /// trace the driver did not perform.
    pub fn finish(self) -> Result<(), ReplayError> {
        self.check()?;
        let mut s = self.lock();
        s.reported = true;
        match self.expected.get(s.next) {
            Some(next) => Err(ReplayError::Leftover {
                trace: self.trace.clone(),
                done: s.next,
                remaining: self.expected.len() - s.next,
                next: *next,
            }),
            None => Ok(()),
        }
    }

    /// Compares one access with the trace; returns the value to serve.
    fn serve(&self, kind: Kind, offset: usize, width: Width, written: u64) -> u64 {
        let mut s = self.lock();
        if s.diverged.is_some() {
            return 0;
        }
        let index = s.next;
        let actual = Access {
            kind,
            offset,
            width,
            value: written,
        };
        let expected = self.expected.get(index).copied();
        let matches = expected.is_some_and(|e| {
            let a = e.access;
            a.kind == kind
                && a.offset == offset
                && a.width == width
                && (kind == Kind::Read || a.value == written)
        });
        if let (true, Some(e)) = (matches, expected) {
            s.next += 1;
            return e.access.value;
        }
        let mut actual = actual;
        if kind == Kind::Read {
            // A read has no value of its own: show the one the trace has.
            actual.value = expected.map_or(0, |e| e.access.value);
        }
        let d = Divergence {
            trace: self.trace.clone(),
            index,
            total: self.expected.len(),
            expected,
            actual,
        };
        if self.strict {
            s.reported = true;
            drop(s);
            panic!("replay diverged: {d}");
        }
        s.diverged = Some(d);
        0
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let s = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if s.reported {
            return;
        }
        if let Some(d) = &s.diverged {
            panic!("replay diverged, and nothing called Replay::check or Replay::finish: {d}");
        }
        if let Some(next) = self.expected.get(s.next) {
            panic!(
                "{}:{}: the driver stopped after {} accesses, but the trace has {} more (next: `{}`), and nothing called Replay::finish",
                self.trace,
                next.line,
                s.next,
                self.expected.len() - s.next,
                next.access
            );
        }
    }
}

macro_rules! replay_io {
    ($($read:ident, $write:ident, $t:ty, $w:expr;)*) => {
        $(
            unsafe fn $read(&self, offset: usize) -> $t {
                // The trace's values fit their width (checked when parsed).
                self.serve(Kind::Read, offset, $w, 0) as $t
            }

            unsafe fn $write(&self, offset: usize, value: $t) {
                self.serve(Kind::Write, offset, $w, value.into());
            }
        )*
    };
}

impl Io for Replay {
    fn len(&self) -> usize {
        self.len
    }

    fn base_addr(&self) -> usize {
        self.base
    }

    replay_io! {
        read8, write8, u8, Width::W8;
        read16, write16, u16, Width::W16;
        read32, write32, u32, Width::W32;
        read64, write64, u64, Width::W64;
    }
}
