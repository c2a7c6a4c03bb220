//! One placement rule, run twice: blocks at an offset in a BAR and
//! block-array elements (the four-channel map of the downstream fixture)
//! are written through the code register-codegen generates (its `window`
//! functions over a fake BAR) and through `regpoke write` (over a file),
//! and every case must land at the same absolute offset, with the same
//! width and value. Reads, dumps and errors of regpoke are checked on the
//! same map.

mod common;

use common::Dev;
use hal_core::fake::{FakeIo, Op};
use hal_core::Window;
use std::path::{Path, PathBuf};

#[allow(dead_code, clippy::all)]
mod dmac {
    include!(concat!(env!("OUT_DIR"), "/dmac.rs"));
}

use dmac::ch::CTRL;

/// Bytes of BAR0 the map describes (the last channel ends at 0x1340).
const BAR_LEN: usize = 0x2000;

fn spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/downstream-crate/regs/dmac.yaml")
}

/// A write as regpoke spells it, and the same write through the generated
/// blocks.
struct Case {
    assignment: String,
    generated: Box<dyn Fn(&FakeIo)>,
}

/// Runs `f` on channel `i` of `bar`, built over its window.
fn on_channel(bar: &FakeIo, i: usize, f: impl FnOnce(&dmac::Ch<'_, Window<&FakeIo>>)) {
    let w = dmac::ch::window(bar, i).unwrap();
    f(&dmac::Ch::new(&w).unwrap());
}

/// The values the channel cases write to channel `i`.
fn len_of(i: usize) -> u32 {
    0x100 + i as u32
}
fn addr_of(i: usize) -> u64 {
    0x1122_3344_5566_0000 + i as u64
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for i in 0..dmac::ch::COUNT {
        let mut channel = |assignment: String, f: fn(&dmac::Ch<'_, Window<&FakeIo>>, usize)| {
            cases.push(Case {
                assignment,
                generated: Box::new(move |io| on_channel(io, i, |ch| f(ch, i))),
            })
        };
        channel(format!("ch[{i}].LEN={:#x}", len_of(i)), |ch, i| {
            ch.len().set(len_of(i))
        });
        channel(format!("ch[{i}].CTRL.BURST={}", i + 1), |ch, i| {
            ch.ctrl()
                .modify(CTRL::BURST::try_val(i as u32 + 1).unwrap())
        });
        channel(format!("CH[{i}].addr={:#x}", addr_of(i)), |ch, i| {
            ch.addr().set(addr_of(i))
        });
        channel(format!("ch[{i}].DOORBELL=0x5a"), |ch, _| {
            ch.doorbell().set(0x5a)
        });
    }
    cases.push(Case {
        assignment: "irq.STATUS.CH2=1".into(),
        generated: Box::new(|io| {
            let w = dmac::irq::window(io).unwrap();
            dmac::Irq::new(&w)
                .unwrap()
                .status()
                .write(dmac::irq::STATUS::CH2::SET);
        }),
    });
    cases.push(Case {
        assignment: "ENABLE.RUN=1".into(),
        generated: Box::new(|io| {
            dmac::Global::new(io)
                .unwrap()
                .enable()
                .modify(dmac::global::ENABLE::RUN::SET);
        }),
    });
    cases
}

/// The store a generated write made: (offset, bytes, value).
fn generated_store(case: &Case) -> (usize, usize, u64) {
    let io = FakeIo::new(BAR_LEN);
    (case.generated)(&io);
    let writes: Vec<_> = io.log().into_iter().filter(|a| a.op == Op::Write).collect();
    assert_eq!(writes.len(), 1, "{}: {:?}", case.assignment, io.log());
    let w = writes[0];
    (w.offset, w.width.bytes(), w.value)
}

/// The bytes a `regpoke write` changed in a zero-filled file: (offset of
/// the first, number up to the last, the little-endian value stored
/// there), within the access width the generated store had.
fn regpoke_store(case: &Case, bytes: usize) -> (usize, usize, u64) {
    let dev = Dev::new(BAR_LEN);
    dev.cmd(Some(spec().to_str().unwrap()))
        .args(["write", &case.assignment])
        .assert()
        .success();
    let after = dev.bytes();
    let first = after
        .iter()
        .position(|&b| b != 0)
        .unwrap_or_else(|| panic!("{}: regpoke stored nothing", case.assignment));
    let last = after.iter().rposition(|&b| b != 0).unwrap();
    assert!(
        last < first + bytes,
        "{}: stored past one register",
        case.assignment
    );
    // The store is aligned to its width, so the register starts at the
    // aligned offset below the first changed byte.
    let start = first - first % bytes;
    let mut value = [0u8; 8];
    value[..bytes].copy_from_slice(&after[start..start + bytes]);
    (start, bytes, u64::from_le_bytes(value))
}

#[test]
fn regpoke_and_the_generated_windows_store_at_the_same_offsets() {
    let cases = cases();
    assert_eq!(cases.len(), 18);
    for case in &cases {
        let generated = generated_store(case);
        assert_eq!(
            regpoke_store(case, generated.1),
            generated,
            "{} (offset, width in bytes, value)",
            case.assignment
        );
    }
    // And the offsets are the ones the map states: 0x1000 + 0x100 * i.
    assert_eq!(generated_store(&cases[12]).0, 0x1300 + 0x4);
}

#[test]
fn reads_and_dumps_show_each_channel_at_its_absolute_offset() {
    let dev = Dev::new(BAR_LEN);
    dev.poke32(0x1310, 0x33);
    dev.poke32(0x1110, 0x11);
    let spec = spec();
    let spec = spec.to_str().unwrap();
    dev.cmd(Some(spec))
        .args(["read", "ch[3].COUNT_DONE", "ch[1].COUNT_DONE"])
        .assert()
        .success()
        .stdout("0x00000033\n0x00000011\n");
    let (doc, code) = common::json_of(
        dev.cmd(Some(spec))
            .args(["--json", "--block", "ch", "dump"]),
    );
    assert_eq!(code, 0, "{doc}");
    let regs = doc["registers"].as_array().unwrap();
    let shown: Vec<(String, u64)> = regs
        .iter()
        .map(|r| {
            (
                r["target"].as_str().unwrap().to_string(),
                r["offset"].as_u64().unwrap(),
            )
        })
        .collect();
    // Four channels of four readable registers (DOORBELL is write-only).
    assert_eq!(shown.len(), 16, "{shown:?}");
    assert_eq!(shown[0], ("ch[0].CTRL".to_string(), 0x1000));
    assert_eq!(shown[15], ("ch[3].COUNT_DONE".to_string(), 0x1310));
    let skipped = doc["skipped"].as_array().unwrap();
    assert_eq!(skipped[3]["target"], "ch[3].DOORBELL");
    assert_eq!(skipped[3]["offset"], 0x1314);
}

#[test]
fn an_index_out_of_range_lists_the_valid_range() {
    let dev = Dev::new(BAR_LEN);
    let out = dev
        .cmd(Some(spec().to_str().unwrap()))
        .args(["read", "ch[4].CTRL"])
        .assert()
        .failure()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ch[4] is out of range: block array ch has 4 elements")
            && stderr.contains("indices run from ch[0] to ch[3]"),
        "{stderr}"
    );
    assert!(dev.bytes().iter().all(|&b| b == 0));
}

#[test]
fn a_misspelt_block_or_register_gets_a_suggestion() {
    let dev = Dev::new(BAR_LEN);
    let spec = spec();
    let stderr = |target: &str| {
        let out = dev
            .cmd(Some(spec.to_str().unwrap()))
            .args(["read", target])
            .assert()
            .failure()
            .get_output()
            .clone();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = stderr("chan[3].CTRL");
    assert!(e.contains("did you mean ch[0]?"), "{e}");
    let e = stderr("ch[3].CTLR");
    assert!(e.contains("did you mean CTRL?"), "{e}");
}

#[test]
fn watch_expect_and_batch_take_qualified_targets() {
    let dev = Dev::new(BAR_LEN);
    dev.poke32(0x1200, 0x1);
    let spec = spec();
    let spec = spec.to_str().unwrap();
    dev.cmd(Some(spec))
        .args([
            "watch",
            "ch[2].CTRL",
            "--until",
            "ch[2].CTRL.EN==1",
            "--timeout",
            "1s",
        ])
        .assert()
        .success();
    let script = dev.dir.path().join("script");
    std::fs::write(
        &script,
        "write ch[1].CTRL.EN=1 ch[1].LEN=0x40\nexpect ch[1].CTRL.EN ==1\nexpect ch[2].CTRL EN==1\n",
    )
    .unwrap();
    dev.cmd(Some(spec))
        .args(["batch", script.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(dev.peek32(0x1100), 0x1);
    assert_eq!(dev.peek32(0x1104), 0x40);
}
