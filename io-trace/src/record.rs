//! [`Recorder`]: an [`Io`] that performs each access on another `Io` and
//! writes it to a trace.

use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use hal_core::{AccessError, Io, Region, Width};

use crate::format::{Access, Kind, Time, VERSION};

/// Where a trace goes and how its `MAP` line describes the mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOptions {
    /// The map id of the `MAP` line and of every `R`/`W` line (default 1).
    pub map_id: u32,
    /// The physical address of the mapping's first byte, when known (a
    /// UIO map or a BAR). Each access is written at physical address
    /// `phys_base + offset`, as mmiotrace does; with the default 0 the
    /// addresses are the offsets.
    pub phys_base: u64,
    /// The length the `MAP` line states, when it is not the wrapped `Io`'s
    /// (default `None`: [`Io::len`]). A tool that maps only the pages it
    /// touches states the size of the whole block, so that a driver of
    /// the whole block can replay the trace.
    pub map_len: Option<u64>,
}

impl Default for RecordOptions {
    fn default() -> RecordOptions {
        RecordOptions {
            map_id: 1,
            phys_base: 0,
            map_len: None,
        }
    }
}

/// Creating or writing a trace failed: the trace is missing or incomplete.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", match accesses {
    None => format!("cannot create the access trace {target}: {error}; choose a file in a directory that exists and is writable"),
    Some(n) => format!("writing the access trace to {target} failed after {n} accesses: {error}; the trace is incomplete: record again with enough space, or to another file"),
})]
pub struct RecordError {
    /// The file (or "the writer").
    pub target: String,
    /// Accesses recorded before a write failed (`None`: the file could not
    /// be created).
    pub accesses: Option<u64>,
    /// The I/O error (part of the message, so not a `source()`).
    pub error: Arc<io::Error>,
}

struct State<W: Write> {
    out: Option<BufWriter<W>>,
    line: String,
    error: Option<RecordError>,
    accesses: u64,
}

/// The trace being written: the buffered writer under its lock, and what
/// every line needs. Ends the trace when dropped.
struct Sink<W: Write> {
    state: Mutex<State<W>>,
    map_id: u32,
    phys_base: u64,
    start: Instant,
    pid: u32,
    target: String,
}

impl<W: Write> Sink<W> {
    fn lock(&self) -> MutexGuard<'_, State<W>> {
        // A panic while the lock was held (in the wrapped Io) leaves the
        // state consistent: each line is formatted whole before it is added.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn error(&self, e: io::Error, accesses: u64) -> RecordError {
        RecordError {
            target: self.target.clone(),
            accesses: Some(accesses),
            error: Arc::new(e),
        }
    }

    /// Formats a line (or lines) with `f` and adds it to the buffer,
    /// unless an earlier write failed.
    fn emit(&self, s: &mut State<W>, f: impl FnOnce(&mut String) -> fmt::Result) {
        let mut line = std::mem::take(&mut s.line);
        line.clear();
        // Writing into a String cannot fail.
        let _ = f(&mut line);
        self.put(s, line.as_bytes());
        s.line = line;
    }

    /// Adds `bytes` to the buffer, unless an earlier write failed; keeps
    /// the first error.
    fn put(&self, s: &mut State<W>, bytes: &[u8]) {
        if s.error.is_some() {
            return;
        }
        let Some(out) = s.out.as_mut() else { return };
        if let Err(e) = out.write_all(bytes) {
            s.error = Some(self.error(e, s.accesses));
        }
    }

    /// Adds the `R`/`W` line of `a`. The line is built by hand: `format!`
    /// machinery cost most of the time of a recorded access.
    fn record(&self, s: &mut State<W>, a: Access) {
        let time = self.start.elapsed();
        let phys = self.phys_base.wrapping_add(a.offset as u64);
        let mut line = LineBuf::default();
        line.push(a.kind.keyword().as_bytes());
        line.push(&[b' ', b'0' + a.width.bytes() as u8, b' ']);
        line.decimal(time.as_secs(), 1);
        line.push(b".");
        line.decimal(u64::from(time.subsec_micros()), 6);
        line.push(b" ");
        line.decimal(u64::from(self.map_id), 1);
        line.push(b" 0x");
        line.hex(phys);
        line.push(b" 0x");
        line.hex(a.value);
        line.push(b" 0x0 ");
        line.decimal(u64::from(self.pid), 1);
        line.push(b"\n");
        self.put(s, line.as_bytes());
        s.accesses += 1;
    }

    fn flush(&self, s: &mut State<W>) -> Result<(), RecordError> {
        if let Some(e) = &s.error {
            return Err(e.clone());
        }
        if let Some(out) = s.out.as_mut() {
            if let Err(e) = out.flush() {
                let e = self.error(e, s.accesses);
                s.error = Some(e.clone());
                return Err(e);
            }
        }
        Ok(())
    }

    /// Writes the `UNMAP` line, flushes and takes the writer out; the
    /// first error of the whole recording if there was one.
    fn end(&mut self) -> Result<W, RecordError> {
        let time = Time(self.start.elapsed());
        let (map_id, pid) = (self.map_id, self.pid);
        let s = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        let accesses = s.accesses;
        let out = s
            .out
            .take()
            .ok_or_else(|| io::Error::other("the trace was already ended"));
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        let result = out.and_then(|mut out| {
            writeln!(out, "UNMAP {time} {map_id} 0x0 {pid}")?;
            out.into_inner().map_err(|e| e.into_error())
        });
        result.map_err(|e| self.error(e, accesses))
    }
}

/// One `R`/`W` line under construction: at most 4 + 20 + 1 + 6 + 1 + 10
/// + 3 + 16 + 3 + 16 + 5 + 10 + 1 = 96 bytes.
struct LineBuf {
    bytes: [u8; 128],
    len: usize,
}

impl Default for LineBuf {
    fn default() -> LineBuf {
        LineBuf {
            bytes: [0; 128],
            len: 0,
        }
    }
}

impl LineBuf {
    fn push(&mut self, b: &[u8]) {
        self.bytes[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    /// `v` in decimal, zero-padded to at least `min` digits.
    fn decimal(&mut self, mut v: u64, min: usize) {
        let mut digits = [0u8; 20];
        let mut n = 0;
        while v > 0 || n < min {
            digits[19 - n] = b'0' + (v % 10) as u8;
            v /= 10;
            n += 1;
        }
        self.push(&digits[20 - n..]);
    }

    /// `v` in lowercase hexadecimal without leading zeros (`0` for 0).
    fn hex(&mut self, v: u64) {
        let n = (16 - v.leading_zeros() as usize / 4).max(1);
        for i in (0..n).rev() {
            self.push(&[b"0123456789abcdef"[((v >> (i * 4)) & 0xf) as usize]]);
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl<W: Write> Drop for Sink<W> {
    fn drop(&mut self) {
        let done = self
            .state
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .out
            .is_none();
        if done {
            return;
        }
        if let Err(e) = self.end() {
            // Drop cannot return the error: say it rather than lose it.
            eprintln!("io-trace: {e} (call Recorder::finish to handle this error)");
        }
    }
}

/// An [`Io`] that performs every access on the `Io` it wraps and records
/// it (offset, width, value, read or write, time) as one line of Linux's
/// mmiotrace text format ([`format`](mod@crate::format)).
///
/// The trace starts with `VERSION 20070824` and a `MAP` line (map id,
/// physical base from [`RecordOptions`], the wrapped `Io`'s
/// [`base_addr`](Io::base_addr) as virtual address, its length), then one
/// `R`/`W` line per access, and ends with `UNMAP`. Times are seconds since
/// the recorder was made; the `PC` field is 0 and the `PID` field is this
/// process's id (mmiotrace, tracing the kernel, prints 0 there).
///
/// Accesses are performed and recorded under one lock, so the order of the
/// lines is the order in which the device saw the accesses, also when
/// several threads share the recorder. Lines go to a buffer, which is
/// written out when it fills, at [`flush`](Recorder::flush), at
/// [`finish`](Recorder::finish) and on drop.
///
/// # Errors are never lost
///
/// An `Io` access cannot return an error, so the first write error is
/// kept (nothing more is written after it) and returned by
/// [`flush`](Recorder::flush) and [`finish`](Recorder::finish). Call
/// `finish` to learn whether the trace is complete; a recorder dropped
/// without `finish` flushes, and prints an error that it cannot return on
/// standard error.
///
/// ```
/// use hal_core::{fake::FakeIo, Io};
/// use io_trace::{Recorder, RecordOptions};
///
/// let rec = Recorder::new(FakeIo::new(0x100), Vec::new(), RecordOptions::default()).unwrap();
/// // SAFETY: offset 8 + 4 bytes is inside the 0x100-byte fake, aligned.
/// unsafe { rec.write32(8, 0x1234) };
/// let (_, text) = rec.finish().unwrap();
/// let text = String::from_utf8(text).unwrap();
/// assert!(text.lines().any(|l| l.starts_with("W 4 ") && l.contains(" 1 0x8 0x1234 ")));
/// ```
pub struct Recorder<I, W: Write = File> {
    io: I,
    sink: Sink<W>,
}

impl<I: Io> Recorder<I, File> {
    /// Records to a new file at `path` (created or truncated).
    pub fn create(
        io: I,
        path: impl AsRef<Path>,
        options: RecordOptions,
    ) -> Result<Recorder<I, File>, RecordError> {
        let path = path.as_ref();
        let target = path.display().to_string();
        let file = File::create(path).map_err(|e| RecordError {
            target: target.clone(),
            accesses: None,
            error: Arc::new(e),
        })?;
        Recorder::with_target(io, file, options, target)
    }
}

impl<I: Io, W: Write> Recorder<I, W> {
    /// Records to `out` (any writer: a file, a `Vec<u8>`, standard output).
    /// The `VERSION` and `MAP` lines are written at once.
    pub fn new(io: I, out: W, options: RecordOptions) -> Result<Recorder<I, W>, RecordError> {
        Recorder::with_target(io, out, options, "the writer".to_string())
    }

    fn with_target(
        io: I,
        out: W,
        options: RecordOptions,
        target: String,
    ) -> Result<Recorder<I, W>, RecordError> {
        let sink = Sink {
            state: Mutex::new(State {
                out: Some(BufWriter::with_capacity(64 * 1024, out)),
                line: String::with_capacity(96),
                error: None,
                accesses: 0,
            }),
            map_id: options.map_id,
            phys_base: options.phys_base,
            start: Instant::now(),
            pid: std::process::id(),
            target,
        };
        {
            let mut s = sink.lock();
            let len = options.map_len.unwrap_or(io.len() as u64);
            let virt = io.base_addr();
            sink.emit(&mut s, |l| {
                writeln!(l, "VERSION {VERSION}")?;
                writeln!(
                    l,
                    "MAP 0.000000 {} {:#x} {virt:#x} {len:#x} 0x0 {}",
                    sink.map_id, sink.phys_base, sink.pid
                )
            });
            sink.flush(&mut s)?;
        }
        Ok(Recorder { io, sink })
    }

    /// The wrapped `Io` (accesses made through it directly are not recorded).
    pub fn inner(&self) -> &I {
        &self.io
    }

    /// Performs `access` under the lock and records it.
    #[inline]
    fn traced<T: Into<u64> + Copy>(
        &self,
        kind: Kind,
        offset: usize,
        width: Width,
        access: impl FnOnce(&I) -> T,
    ) -> T {
        let mut s = self.sink.lock();
        let value = access(&self.io);
        self.sink.record(
            &mut s,
            Access {
                kind,
                offset,
                width,
                value: value.into(),
            },
        );
        value
    }

    /// Adds a `MARK` line with `text` (a line break in it becomes a
    /// space), e.g. to label the steps of a session. Replay ignores marks.
    pub fn mark(&self, text: &str) {
        let mut s = self.sink.lock();
        let time = Time(self.sink.start.elapsed());
        self.sink.emit(&mut s, |l| {
            writeln!(l, "MARK {time} {}", text.replace(['\n', '\r'], " "))
        });
    }

    /// Accesses recorded so far.
    pub fn accesses(&self) -> u64 {
        self.sink.lock().accesses
    }

    /// Writes the buffered lines out; returns the first write error (now
    /// or earlier), which [`finish`](Recorder::finish) returns again.
    pub fn flush(&self) -> Result<(), RecordError> {
        let mut s = self.sink.lock();
        self.sink.flush(&mut s)
    }

    /// Ends the trace (an `UNMAP` line), writes everything out and returns
    /// the wrapped `Io` and the writer, or the first write error.
    pub fn finish(self) -> Result<(I, W), RecordError> {
        let Recorder { io, mut sink } = self;
        sink.end().map(|w| (io, w))
    }
}

impl<W: Write> Recorder<Region, W> {
    /// Checked read of `width` at `offset` (as [`Region::try_read`]),
    /// recorded when it is performed; a refused access is not recorded.
    pub fn try_read(&self, offset: usize, width: Width) -> Result<u64, AccessError> {
        let mut s = self.sink.lock();
        let value = self.io.try_read(offset, width)?;
        self.sink.record(
            &mut s,
            Access {
                kind: Kind::Read,
                offset,
                width,
                value,
            },
        );
        Ok(value)
    }

    /// Checked write of `width` at `offset` (as [`Region::try_write`]),
    /// recorded when it is performed; a refused access is not recorded.
    pub fn try_write(&self, offset: usize, width: Width, value: u64) -> Result<(), AccessError> {
        let mut s = self.sink.lock();
        self.io.try_write(offset, width, value)?;
        self.sink.record(
            &mut s,
            Access {
                kind: Kind::Write,
                offset,
                width,
                value,
            },
        );
        Ok(())
    }
}

macro_rules! traced_io {
    ($($read:ident, $write:ident, $t:ty, $w:expr;)*) => {
        $(
            #[inline]
            unsafe fn $read(&self, offset: usize) -> $t {
                // SAFETY: forwarded verbatim from this method's contract;
                // `len` and `base_addr` are the wrapped Io's.
                self.traced(Kind::Read, offset, $w, |io| unsafe { io.$read(offset) })
            }

            #[inline]
            unsafe fn $write(&self, offset: usize, value: $t) {
                self.traced(Kind::Write, offset, $w, |io| {
                    // SAFETY: forwarded verbatim from this method's contract.
                    unsafe { io.$write(offset, value) };
                    value
                });
            }
        )*
    };
}

impl<I: Io, W: Write> Io for Recorder<I, W> {
    fn len(&self) -> usize {
        self.io.len()
    }

    fn base_addr(&self) -> usize {
        self.io.base_addr()
    }

    traced_io! {
        read8, write8, u8, Width::W8;
        read16, write16, u16, Width::W16;
        read32, write32, u32, Width::W32;
        read64, write64, u64, Width::W64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_built_lines_match_the_format_macros() {
        for v in [0u64, 1, 9, 10, 0xf, 0x10, 0xdead_beef, u64::MAX, 1 << 63] {
            let mut l = LineBuf::default();
            l.hex(v);
            assert_eq!(l.as_bytes(), format!("{v:x}").as_bytes());
            let mut l = LineBuf::default();
            l.decimal(v, 6);
            assert_eq!(l.as_bytes(), format!("{v:06}").as_bytes());
        }
        let mut l = LineBuf::default();
        l.decimal(0, 1);
        assert_eq!(l.as_bytes(), b"0");
    }
}
