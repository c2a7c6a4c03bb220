//! Access traces: record every register access of a driver, and replay a
//! recorded session to the driver in a host test.
//!
//! * [`Recorder`] wraps any [`hal_core::Io`] (a [`Region`](hal_core::Region)
//!   of a real device, a fake) and is itself an `Io`: each access is
//!   performed and written as one line of a trace: offset (as a physical
//!   address), width, value, read or write, time.
//! * [`Replay`] is an `Io` that serves a trace back: reads return the
//!   recorded values, and the first access that differs from the trace
//!   (read instead of write, another offset or width, another value
//!   written, an access past the end) is reported with the expected and
//!   the actual access and the trace's line; so is a session that stops
//!   early.
//!
//! A session on a real device thus becomes a host regression test: record
//! it once (in a VM, on the hardware), commit the trace, and replay it
//! against the same driver code on every build.
//!
//! # The format is mmiotrace's
//!
//! Traces are text in the format of Linux's mmiotrace
//! (`Documentation/trace/mmiotrace.rst`; the lines are listed in
//! [`mod@format`]), both when written and when read. So a kernel driver's
//! session recorded with mmiotrace (`echo mmiotrace >
//! /sys/kernel/tracing/current_tracer; cat /sys/kernel/tracing/trace_pipe`)
//! replays against a user-space driver: choose the mapping with
//! [`MapSelect`] (by map id or by the BAR's physical address); lines of
//! other mappings are ignored.
//!
//! What a recording from user space puts in mmiotrace's fields:
//!
//! * `MAP`: the map id of [`RecordOptions`] (default 1), the physical base
//!   of [`RecordOptions::phys_base`] (the BAR's address when known, else
//!   0), the user-space address of the mapping as virtual address, its
//!   length.
//! * `R`/`W`: physical address = physical base + offset, so an offset is
//!   always `PHYS - MAP's PHYS`, in kernel and user traces alike.
//! * Times are seconds since the recording started (mmiotrace's are since
//!   boot); `PC` is 0 (unknown); `PID` is the recording process's id
//!   (mmiotrace prints 0).
//!
//! Nothing is added to the format: a recorded trace is a valid mmiotrace
//! log.
//!
//! ```
//! use hal_core::{fake::FakeIo, Io};
//! use io_trace::{MapSelect, Recorder, RecordOptions, Replay};
//!
//! // The "driver": writes a command, reads the status.
//! fn driver(io: &impl Io) -> u32 {
//!     // SAFETY: the offsets are in bounds and aligned for a 0x100-byte Io.
//!     unsafe {
//!         io.write32(0x4, 7);
//!         io.read32(0x8)
//!     }
//! }
//!
//! let rec = Recorder::new(FakeIo::new(0x100), Vec::new(), RecordOptions::default()).unwrap();
//! driver(&rec);
//! let (_, trace) = rec.finish().unwrap();
//!
//! let replay = Replay::parse(std::str::from_utf8(&trace).unwrap(), MapSelect::Only, "t").unwrap();
//! driver(&replay);
//! replay.finish().unwrap();
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod format;
mod record;
mod replay;

pub use format::{Access, Kind, ParseError, Trace};
pub use record::{RecordError, RecordOptions, Recorder};
pub use replay::{Divergence, Expected, MapSelect, Replay, ReplayError};
