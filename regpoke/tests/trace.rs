//! `--trace FILE`: every access regpoke performs is recorded, and the
//! trace replays against a driver written with the generated edu block.

mod common;

use common::Dev;
use device_specs::edu;
use hal_core::prelude::*;
use io_trace::format::Record;
use io_trace::{MapSelect, Replay, Trace};

fn accesses(trace: &str) -> Vec<String> {
    let t = Trace::parse(trace).unwrap();
    let r = Replay::from_trace(&t, MapSelect::Only, "t").unwrap();
    let out = r.expected().iter().map(|e| e.access.to_string()).collect();
    let _ = r.finish();
    out
}

#[test]
fn a_traced_write_and_read_replay_against_the_typed_edu_block() {
    let d = Dev::edu();
    let trace = d.dir.path().join("edu.mmiotrace");
    d.edu_cmd()
        .arg("--trace")
        .arg(&trace)
        .args(["write", "LIVENESS=0x12345678", "FACTORIAL=5"])
        .assert()
        .success();
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(
        text.starts_with("VERSION 20070824\nMAP 0.000000 1 0x0 "),
        "{text}"
    );
    assert_eq!(
        accesses(&text),
        ["write32 0x4 <- 0x12345678", "write32 0x8 <- 0x5"]
    );
    d.edu_cmd()
        .arg("--trace")
        .arg(&trace)
        .args(["read", "ID", "LIVENESS"])
        .assert()
        .success()
        .stdout("0x010000ed\n0x12345678\n");
    let text = std::fs::read_to_string(&trace).unwrap();
    assert_eq!(
        accesses(&text),
        ["read32 0x0 -> 0x10000ed", "read32 0x4 -> 0x12345678"]
    );
    // The same session, by a driver on the generated block.
    let replay = Replay::parse(&text, MapSelect::Only, "edu.mmiotrace").unwrap();
    let regs = edu::Regs::new(&replay).unwrap();
    assert_eq!(regs.id().get(), 0x0100_00ed);
    assert_eq!(regs.liveness().get(), 0x1234_5678);
    replay.finish().unwrap();
    // A driver that reads FACTORIAL instead diverges at the trace's line 4.
    let replay = Replay::parse(&text, MapSelect::Only, "edu.mmiotrace").unwrap();
    let regs = edu::Regs::new(&replay).unwrap();
    regs.id().get();
    regs.factorial().get();
    let e = replay.finish().unwrap_err().to_string();
    assert!(e.starts_with("edu.mmiotrace:4: access 2 of 2 differs from the trace (another offset): the trace has `read32 0x4 -> 0x12345678`, the driver did `read32 0x8"), "{e}");
}

#[test]
fn a_batch_records_every_step_including_read_modify_writes() {
    let d = Dev::edu();
    let trace = d.dir.path().join("batch.mmiotrace");
    let script = d.dir.path().join("s.rp");
    std::fs::write(
        &script,
        "write STATUS.IRQFACT=1\nwrite FACTORIAL=3\nwatch STATUS.COMPUTING --until ==IDLE --timeout 1s\nexpect ID ==0x010000ed\n",
    )
    .unwrap();
    d.edu_cmd()
        .arg("--trace")
        .arg(&trace)
        .arg("batch")
        .arg(&script)
        .assert()
        .success();
    let text = std::fs::read_to_string(&trace).unwrap();
    assert_eq!(
        accesses(&text),
        [
            "read32 0x20 -> 0x0",
            "write32 0x20 <- 0x80",
            "write32 0x8 <- 0x3",
            "read32 0x20 -> 0x80",
            "read32 0x0 -> 0x10000ed",
        ]
    );
    let records = Trace::parse(&text).unwrap().records;
    assert!(
        matches!(records.last(), Some(Record::Unmap { map_id: 1, .. })),
        "the trace is not closed: {text}"
    );
}

#[test]
fn the_trace_is_not_written_without_the_option_and_errors_are_reported() {
    let d = Dev::edu();
    // Without --trace, nothing is written next to the register file.
    d.edu_cmd().args(["read", "ID"]).assert().success();
    assert_eq!(std::fs::read_dir(d.dir.path()).unwrap().count(), 2);
    // A trace that cannot be created: refused before any access.
    let err = failure(
        &d,
        &["--trace", "/nonexistent-dir/t", "write", "FACTORIAL=7"],
    );
    assert!(
        err.starts_with(
            "regpoke: error: --trace: cannot create the access trace /nonexistent-dir/t: "
        ),
        "{err}"
    );
    assert_eq!(d.peek32(8), 0, "the write was performed");
    // A trace that cannot be written (a full disk).
    if std::path::Path::new("/dev/full").exists() {
        let err = failure(&d, &["--trace", "/dev/full", "read", "ID"]);
        assert!(
            err.contains("--trace: writing the access trace to /dev/full failed after 0 accesses"),
            "{err}"
        );
    }
}

/// Runs regpoke on `d` with `args`, which must fail with exit status 1;
/// returns its standard error.
fn failure(d: &Dev, args: &[&str]) -> String {
    let out = d.edu_cmd().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    String::from_utf8(out.stderr).unwrap()
}
