//! `--trace FILE`: the registers, reached directly or through an
//! [`io_trace::Recorder`] that writes every access to a trace.

use std::fs::File;
use std::path::Path;

use hal_core::{AccessError, Region, Width};
use io_trace::{RecordOptions, Recorder};

use crate::error::{Error, Result};

/// A mapping's registers; every access regpoke performs goes through
/// [`Regs::read`] and [`Regs::write`].
pub enum Regs {
    /// Accessed directly.
    Direct(Region),
    /// Accessed through a recorder (`--trace`).
    Traced(Recorder<Region, File>),
}

impl From<Region> for Regs {
    fn from(r: Region) -> Regs {
        Regs::Direct(r)
    }
}

impl Regs {
    /// The mapping.
    pub fn region(&self) -> &Region {
        match self {
            Regs::Direct(r) => r,
            Regs::Traced(t) => t.inner(),
        }
    }

    /// Checked read (recorded under `--trace`).
    #[inline]
    pub fn read(&self, offset: usize, width: Width) -> std::result::Result<u64, AccessError> {
        match self {
            Regs::Direct(r) => r.try_read(offset, width),
            Regs::Traced(t) => t.try_read(offset, width),
        }
    }

    /// Checked write (recorded under `--trace`).
    #[inline]
    pub fn write(
        &self,
        offset: usize,
        width: Width,
        value: u64,
    ) -> std::result::Result<(), AccessError> {
        match self {
            Regs::Direct(r) => r.try_write(offset, width, value),
            Regs::Traced(t) => t.try_write(offset, width, value),
        }
    }

    /// Starts recording to `path`: the trace's `MAP` line has physical base
    /// `phys` (the BAR's address; 0 when unknown, as for `--file`) and
    /// states `len` bytes (the block's size: regpoke maps only the pages a
    /// command touches, and a driver of the whole block replays the trace).
    pub fn traced(self, path: &Path, phys: Option<u64>, len: Option<u64>) -> Result<Regs> {
        let region = match self {
            Regs::Direct(r) => r,
            traced @ Regs::Traced(_) => return Ok(traced),
        };
        let options = RecordOptions {
            phys_base: phys.unwrap_or(0),
            map_len: len.filter(|&l| l > region.len() as u64),
            ..RecordOptions::default()
        };
        Recorder::create(region, path, options)
            .map(Regs::Traced)
            .map_err(|e| trace_error(&e))
    }

    /// Writes what is buffered to the trace (before waiting, so that an
    /// interrupted `watch` or `irq wait` leaves a trace up to there).
    pub fn flush(&self) -> Result<()> {
        match self {
            Regs::Direct(_) => Ok(()),
            Regs::Traced(t) => t.flush().map_err(|e| trace_error(&e)),
        }
    }

    /// Ends the trace and reports whether it was written completely.
    pub fn finish(self) -> Result<()> {
        match self {
            Regs::Direct(_) => Ok(()),
            Regs::Traced(t) => t.finish().map(drop).map_err(|e| trace_error(&e)),
        }
    }
}

fn trace_error(e: &io_trace::RecordError) -> Error {
    Error::device(format!("--trace: {e}"))
}
