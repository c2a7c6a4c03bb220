//! A real edu session, recorded in the test VM (`vm-guest edu-trace`) and
//! committed as `tests/fixtures/edu-session.mmiotrace`, replays against
//! the session's code on the host without booting QEMU; a changed step
//! diverges at its line.

use std::path::Path;
use std::time::Duration;

use io_trace::{Kind, MapSelect, Replay, ReplayError, Trace};
use vm_tests::session::{edu_session, SESSION_FACTORIAL};

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/edu-session.mmiotrace")
}

#[test]
fn the_recorded_vm_session_replays() {
    let replay = Replay::open(fixture(), MapSelect::Only).unwrap();
    // Recorded on edu's BAR0 at its physical address, over the whole BAR.
    assert_eq!(hal_core::Io::len(&replay), 1 << 20);
    let polls = replay
        .expected()
        .iter()
        .filter(|e| e.access.kind == Kind::Read && e.access.offset == 0x20)
        .count();
    assert!(polls >= 2, "the session read STATUS {polls} times");
    let report = edu_session(&replay, SESSION_FACTORIAL, Duration::ZERO).unwrap();
    assert!(report.contains("10! = 3628800"), "{report}");
    replay.finish().unwrap();
}

#[test]
fn the_recorded_vm_session_is_a_valid_mmiotrace_log() {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let t = Trace::parse(&text).unwrap();
    let maps: Vec<_> = t.maps().collect();
    assert_eq!(maps.len(), 1);
    assert_ne!(maps[0].phys, 0, "the BAR's physical address was recorded");
    assert!(
        text.lines().any(|l| l.starts_with("MARK ")),
        "the session's mark"
    );
    // By physical base too, as a kernel trace would be chosen.
    let r = Replay::parse(&text, MapSelect::Phys(maps[0].phys), "fixture").unwrap();
    edu_session(&r, SESSION_FACTORIAL, Duration::ZERO).unwrap();
    r.finish().unwrap();
}

#[test]
fn a_changed_step_diverges_from_the_recorded_vm_session() {
    let replay = Replay::open(fixture(), MapSelect::Only).unwrap();
    assert!(edu_session(&replay, SESSION_FACTORIAL + 1, Duration::ZERO).is_err());
    match replay.finish() {
        Err(e @ ReplayError::Diverged(_)) => {
            let msg = e.to_string();
            assert!(msg.contains("another value written"), "{msg}");
            assert!(
                msg.contains(
                    "the trace has `write32 0x8 <- 0xa`, the driver did `write32 0x8 <- 0xb`"
                ),
                "{msg}"
            );
        }
        other => panic!("expected a divergence, got {other:?}"),
    }
}
