//! Record a session on hal-core's fake, replay it, and detect every kind
//! of divergence.

use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use hal_core::fake::{FakeIo, Op};
use hal_core::{Io, Region, Width};
use io_trace::{Kind, MapSelect, RecordOptions, Recorder, Replay, ReplayError, Trace};

/// What a step of the test driver does differently from the recorded one.
#[derive(Clone, Copy, PartialEq)]
enum Change {
    None,
    /// Writes another value in step 2.
    Value,
    /// Writes to another offset in step 2.
    Offset,
    /// Reads 16 bits instead of 32 in step 3.
    Width,
    /// Reads where step 2 writes.
    Kind,
    /// Leaves out the last access.
    Missing,
    /// Adds an access at the end.
    Extra,
}

/// A small "driver": accesses of every width, reads that depend on writes.
fn driver(io: &impl Io, change: Change) -> Vec<u64> {
    let mut seen = Vec::new();
    // SAFETY: every offset is below 0x40 (the fakes and traces are 0x100
    // bytes) and a multiple of its width; base addresses are 8-aligned.
    unsafe {
        io.write8(0x1, 0x5a);
        match change {
            Change::Value => io.write32(0x10, 0xdead_beee),
            Change::Offset => io.write32(0x14, 0xdead_beef),
            Change::Kind => seen.push(io.read32(0x10).into()),
            _ => io.write32(0x10, 0xdead_beef),
        }
        if change == Change::Width {
            seen.push(io.read16(0x10).into());
        } else {
            seen.push(io.read32(0x10).into());
        }
        io.write64(0x18, 0x0123_4567_89ab_cdef);
        seen.push(io.read64(0x18));
        seen.push(io.read16(0x1a).into());
        seen.push(io.read8(0x1).into());
        if change != Change::Missing {
            io.write16(0x22, 0xbeef);
        }
        if change == Change::Extra {
            seen.push(io.read32(0x30).into());
        }
    }
    seen
}

fn record() -> (String, Vec<u64>, Vec<hal_core::fake::Logged>) {
    let rec = Recorder::new(FakeIo::new(0x100), Vec::new(), RecordOptions::default()).unwrap();
    let seen = driver(&rec, Change::None);
    let (fake, out) = rec.finish().unwrap();
    (String::from_utf8(out).unwrap(), seen, fake.log())
}

fn replay(text: &str) -> Replay {
    Replay::parse(text, MapSelect::Only, "session.mmiotrace").unwrap()
}

#[test]
fn recorded_session_lists_every_access_the_device_saw() {
    let (text, _, log) = record();
    let trace = Trace::parse(&text).unwrap();
    let replay = Replay::from_trace(&trace, MapSelect::Only, "t").unwrap();
    let got: Vec<_> = replay
        .expected()
        .iter()
        .map(|e| {
            (
                e.access.kind,
                e.access.offset,
                e.access.width,
                e.access.value,
            )
        })
        .collect();
    let want: Vec<_> = log
        .iter()
        .map(|l| {
            let kind = if l.op == Op::Read {
                Kind::Read
            } else {
                Kind::Write
            };
            (kind, l.offset, l.width, l.value)
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 8);
    assert!(
        text.starts_with("VERSION 20070824\nMAP 0.000000 1 0x0 "),
        "{text}"
    );
    assert!(
        text.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("UNMAP "),
        "{text}"
    );
    replay.finish().unwrap_err();
}

#[test]
fn replay_of_the_same_driver_is_identical() {
    let (text, seen, _) = record();
    let r = replay(&text);
    assert_eq!(driver(&r, Change::None), seen);
    assert_eq!(r.position(), 8);
    r.check().unwrap();
    r.finish().unwrap();
}

fn diverged(change: Change) -> io_trace::Divergence {
    let (text, _, _) = record();
    let r = replay(&text);
    driver(&r, change);
    match r.finish() {
        Err(ReplayError::Diverged(d)) => d,
        other => panic!("expected a divergence, got {other:?}"),
    }
}

#[test]
fn changed_value_is_detected_with_index_and_line() {
    let d = diverged(Change::Value);
    assert_eq!(d.index, 1);
    let e = d.expected.unwrap();
    assert_eq!(e.line, 4, "VERSION, MAP, W 1, then this W 4");
    assert_eq!(e.access.value, 0xdead_beef);
    assert_eq!(d.actual.value, 0xdead_beee);
    let msg = d.to_string();
    assert!(
        msg.starts_with("session.mmiotrace:4: access 2 of 8"),
        "{msg}"
    );
    assert!(msg.contains("another value written"), "{msg}");
    assert!(msg.contains("`write32 0x10 <- 0xdeadbeef`"), "{msg}");
    assert!(msg.contains("`write32 0x10 <- 0xdeadbeee`"), "{msg}");
}

#[test]
fn changed_offset_width_or_kind_is_detected() {
    let cases = [
        (Change::Offset, 1, "another offset"),
        (Change::Width, 2, "another width"),
        (Change::Kind, 1, "a read where the trace writes"),
    ];
    for (change, index, what) in cases {
        let d = diverged(change);
        assert_eq!(d.index, index, "{d}");
        assert!(d.to_string().contains(what), "{d}");
        let a = d.actual;
        match change {
            Change::Offset => assert_eq!(a.offset, 0x14),
            Change::Width => assert_eq!(a.width, Width::W16),
            _ => assert_eq!(a.kind, Kind::Read),
        }
    }
}

#[test]
fn extra_access_is_detected() {
    let d = diverged(Change::Extra);
    assert_eq!(d.index, 8);
    assert!(d.expected.is_none());
    let msg = d.to_string();
    assert!(
        msg.contains("past the end of the trace, which has 8 accesses"),
        "{msg}"
    );
    assert!(msg.contains("`read32 0x30"), "{msg}");
}

#[test]
fn missing_access_is_reported_by_finish() {
    let (text, _, _) = record();
    let r = replay(&text);
    driver(&r, Change::Missing);
    r.check().unwrap();
    match r.finish() {
        Err(
            e @ ReplayError::Leftover {
                done: 7,
                remaining: 1,
                ..
            },
        ) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with("session.mmiotrace:10: the driver stopped after 7 accesses"),
                "{msg}"
            );
            assert!(msg.contains("`write16 0x22 <- 0xbeef`"), "{msg}");
        }
        other => panic!("expected left-over accesses, got {other:?}"),
    }
}

#[test]
fn accesses_after_a_divergence_are_inert() {
    let (text, _, _) = record();
    let r = replay(&text);
    let seen = driver(&r, Change::Value);
    // Every read after the divergence returns 0.
    assert!(seen.iter().all(|&v| v == 0), "{seen:?}");
    assert_eq!(r.position(), 1);
    assert!(r.check().is_err());
}

#[test]
fn strict_mode_panics_at_the_divergence() {
    let (text, _, _) = record();
    let r = replay(&text).strict();
    let err = catch_unwind(AssertUnwindSafe(|| driver(&r, Change::Offset))).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.starts_with("replay diverged: session.mmiotrace:4: access 2"),
        "{msg}"
    );
    // Reported by the panic: dropping it does not panic again.
    drop(r);
}

#[test]
fn a_replay_dropped_unchecked_panics() {
    let (text, _, _) = record();
    for (change, says) in [
        (Change::Missing, "nothing called Replay::finish"),
        (Change::Value, "replay diverged"),
    ] {
        let err = catch_unwind(|| {
            let r = replay(&text);
            driver(&r, change);
        })
        .unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains(says), "{msg}");
    }
}

#[test]
fn recording_keeps_the_physical_base_and_map_id() {
    let opts = RecordOptions {
        map_id: 7,
        phys_base: 0xfea0_0000,
        map_len: Some(0x1000),
    };
    let rec = Recorder::new(FakeIo::new(0x100), Vec::new(), opts).unwrap();
    rec.mark("step one\nof two");
    let seen = driver(&rec, Change::None);
    assert_eq!(rec.accesses(), 8);
    let text = String::from_utf8(rec.finish().unwrap().1).unwrap();
    assert!(text.contains("\nMAP 0.000000 7 0xfea00000 "), "{text}");
    assert!(text.contains(" 0x1000 0x0 "), "the stated length: {text}");
    assert!(text.contains(" 7 0xfea00010 0xdeadbeef 0x0 "), "{text}");
    assert!(text.contains(" step one of two\n"), "{text}");
    for which in [MapSelect::Id(7), MapSelect::Phys(0xfea0_0000)] {
        let r = Replay::parse(&text, which, "t").unwrap();
        assert_eq!(r.base_addr(), 0xfea0_0000);
        assert_eq!(r.len(), 0x1000);
        assert_eq!(driver(&r, Change::None), seen);
        r.finish().unwrap();
    }
}

/// A writer that fails once `limit` bytes have been written.
struct Full {
    written: usize,
    limit: usize,
}

/// A recorder of a fake into a [`Full`] writer with room for `limit` bytes.
fn recorder_with_room(limit: usize) -> Result<Recorder<FakeIo, Full>, io_trace::RecordError> {
    Recorder::new(
        FakeIo::new(0x100),
        Full { written: 0, limit },
        RecordOptions::default(),
    )
}

impl Write for Full {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() > self.limit {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "no space left"));
        }
        self.written += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_write_error_is_returned_by_flush_and_finish() {
    // Room for the header only.
    let rec = recorder_with_room(80).unwrap();
    for _ in 0..2000 {
        driver(&rec, Change::None);
    }
    // The device still saw every access.
    assert_eq!(rec.inner().log().len(), 2000 * 8);
    let e = rec.flush().unwrap_err();
    assert!(e.to_string().contains("no space left"), "{e}");
    assert!(e.to_string().contains("the trace is incomplete"), "{e}");
    let e = rec.finish().err().unwrap();
    assert!(
        e.to_string()
            .contains("writing the access trace to the writer failed"),
        "{e}"
    );
}

#[test]
fn a_header_that_cannot_be_written_is_an_error() {
    let e = recorder_with_room(3).err().unwrap();
    assert_eq!(e.accesses, Some(0));
    let dir = tempfile::tempdir().unwrap();
    let e = Recorder::create(
        FakeIo::new(0x100),
        dir.path().join("no/such/dir/t"),
        RecordOptions::default(),
    )
    .err()
    .unwrap();
    assert_eq!(e.accesses, None);
    assert!(
        e.to_string().starts_with("cannot create the access trace "),
        "{e}"
    );
    assert!(e.to_string().contains("no/such/dir/t"), "{e}");
}

#[test]
fn a_recorder_to_a_file_flushes_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.mmiotrace");
    let seen = {
        let rec = Recorder::create(FakeIo::new(0x100), &path, RecordOptions::default()).unwrap();
        driver(&rec, Change::None)
    };
    let r = Replay::open(&path, MapSelect::Only).unwrap();
    assert_eq!(driver(&r, Change::None), seen);
    r.finish().unwrap();
    let e = Replay::open(dir.path().join("missing"), MapSelect::Only)
        .err()
        .unwrap();
    assert!(e.to_string().starts_with("reading the trace "), "{e}");
}

#[test]
fn checked_region_accesses_are_recorded_and_refusals_are_not() {
    let region = Region::anonymous(4096).unwrap();
    let rec = Recorder::new(region, Vec::new(), RecordOptions::default()).unwrap();
    rec.try_write(0x8, Width::W32, 0x1234_5678).unwrap();
    assert_eq!(rec.try_read(0x8, Width::W16).unwrap(), 0x5678);
    assert!(rec.try_read(0x9, Width::W32).is_err());
    assert!(rec.try_write(0x1000, Width::W8, 1).is_err());
    assert!(rec.try_write(0x0, Width::W8, 0x100).is_err());
    assert_eq!(rec.accesses(), 2);
    let (region, out) = rec.finish().unwrap();
    assert_eq!(region.try_read32(0x8).unwrap(), 0x1234_5678);
    let r = Replay::parse(std::str::from_utf8(&out).unwrap(), MapSelect::Only, "t").unwrap();
    let e: Vec<_> = r.expected().iter().map(|e| e.access.to_string()).collect();
    assert_eq!(e, ["write32 0x8 <- 0x12345678", "read16 0x8 -> 0x5678"]);
    // SAFETY: in bounds and aligned for the 4096-byte trace mapping.
    unsafe {
        r.write32(0x8, 0x1234_5678);
        assert_eq!(r.read16(0x8), 0x5678);
    }
    r.finish().unwrap();
}
