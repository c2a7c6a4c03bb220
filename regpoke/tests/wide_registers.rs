//! Registers wider than the bus (`access_width`), proven by running each
//! operation twice: through the code register-codegen generates (on
//! hal-core's logging fake) and through `regpoke -vv` (on a file, its
//! accesses read from the trace). Both must make the same accesses, of the
//! same widths, at the same offsets, in the same order, with the same
//! values, and leave the same bytes. Some cases also state the expected
//! accesses literally, so that a change of the shared rule
//! (`register_spec::wide::split_accesses`) that moved both sides alike is
//! still caught. And a map with two PCI IDs finds a device with either.

mod common;

use hal_core::fake::{DeviceModel, FakeIo, Op};
use hal_core::prelude::*;
use pci_sysfs::fake::{FakePci, FakeSysfs};
use predicates::prelude::*;
use predicates::str::contains;

#[allow(dead_code, clippy::all)]
mod wide {
    include!(concat!(env!("OUT_DIR"), "/wide_fixture.rs"));
}

use wide::regs::{BASE, MIXED};

const SIZE: usize = 0x40;

fn spec() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/wide_registers.yaml"
    )
    .to_string()
}

/// One access: read or write, offset, width in bits, value.
type Access = (Op, usize, u32, u64);

/// The starting contents, the same on both sides: every byte different.
fn image() -> Vec<u8> {
    (0..SIZE).map(|i| (i * 37 + 5) as u8).collect()
}

struct Case {
    what: &'static str,
    regpoke: &'static [&'static str],
    library: fn(&FakeIo),
    /// `(op, offset, width)` of each access, where stated.
    expect: Option<&'static [(Op, usize, u32)]>,
}

const R: Op = Op::Read;
const W: Op = Op::Write;

fn cases() -> Vec<Case> {
    vec![
        Case {
            what: "read of a ro register, low half first",
            regpoke: &["read", "CAP"],
            library: |io| {
                let regs = wide::Regs::new(io).unwrap();
                let _ = regs.cap().get();
            },
            expect: Some(&[(R, 0x0, 32), (R, 0x4, 32)]),
        },
        Case {
            what: "write, high half first",
            regpoke: &["write", "BASE=0x1122334455667788"],
            library: |io| {
                let regs = wide::Regs::new(io).unwrap();
                regs.base().set(0x1122_3344_5566_7788);
            },
            expect: Some(&[(W, 0xc, 32), (W, 0x8, 32)]),
        },
        Case {
            what: "modify of a field crossing the halves: both read, then both written",
            regpoke: &["write", "BASE.LO=0x300000001"],
            library: |io| {
                let regs = wide::Regs::new(io).unwrap();
                regs.base().modify(BASE::LO.val(0x3_0000_0001));
            },
            expect: Some(&[(R, 0xc, 32), (R, 0x8, 32), (W, 0xc, 32), (W, 0x8, 32)]),
        },
        Case {
            what: "field read",
            regpoke: &["read", "BASE.TOP"],
            library: |io| {
                let regs = wide::Regs::new(io).unwrap();
                let _ = regs.base().read(BASE::TOP);
            },
            expect: None,
        },
        Case {
            what: "a write-only doorbell on a 16-bit bus",
            regpoke: &["write", "DOORBELL=0xa1a2b1b2c1c2d1d2"],
            library: |io| {
                let regs = wide::Regs::new(io).unwrap();
                regs.doorbell().set(0xa1a2_b1b2_c1c2_d1d2);
            },
            expect: Some(&[(W, 0x10, 16), (W, 0x12, 16), (W, 0x14, 16), (W, 0x16, 16)]),
        },
        Case {
            what: "consistent read of a counter: high, low, high",
            regpoke: &["read", "COUNT"],
            library: |io| {
                let regs = wide::Regs::new(io).unwrap();
                regs.count().read_consistent().unwrap();
            },
            expect: Some(&[(R, 0x1c, 32), (R, 0x18, 32), (R, 0x1c, 32)]),
        },
        Case {
            what: "modify keeping state bits in both halves, a w1c bit written 0",
            regpoke: &["write", "MIXED.A=5", "MIXED.C=0xa"],
            library: |io| {
                let regs = wide::Regs::new(io).unwrap();
                regs.mixed().modify(MIXED::A.val(5) + MIXED::C.val(0xa));
            },
            expect: Some(&[(R, 0x20, 32), (R, 0x24, 32), (W, 0x20, 32), (W, 0x24, 32)]),
        },
        Case {
            what: "modify naming every state bit: no read",
            regpoke: &["write", "MIXED.A=1", "MIXED.B=2", "MIXED.C=3"],
            library: |io| {
                let regs = wide::Regs::new(io).unwrap();
                regs.mixed()
                    .modify(MIXED::A.val(1) + MIXED::B.val(2) + MIXED::C.val(3));
            },
            expect: None,
        },
    ]
}

/// The accesses `regpoke -vv` traced (`read32 0x8 -> 0x…`, `write32 0x8 <- 0x…`).
fn traced(stderr: &str) -> Vec<Access> {
    stderr
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix("regpoke: ")?;
            let (op, rest) = if let Some(r) = l.strip_prefix("read") {
                (R, r)
            } else {
                (W, l.strip_prefix("write")?)
            };
            let mut words = rest.split_whitespace();
            let bits: u32 = words.next()?.parse().ok()?;
            let offset = usize::from_str_radix(words.next()?.strip_prefix("0x")?, 16).ok()?;
            let _arrow = words.next()?;
            let value = u64::from_str_radix(words.next()?.strip_prefix("0x")?, 16).ok()?;
            Some((op, offset, bits, value))
        })
        .collect()
}

#[test]
fn generated_code_and_regpoke_make_the_same_accesses() {
    for c in cases() {
        let io = FakeIo::new(SIZE);
        let start = image();
        io.model(|m| {
            for (i, b) in start.iter().enumerate() {
                m.write(i, hal_core::Width::W8, u64::from(*b));
            }
        });
        io.clear_log();
        (c.library)(&io);
        let library: Vec<Access> = io
            .log()
            .iter()
            .map(|l| (l.op, l.offset, l.width.bits(), l.value))
            .collect();
        let lib_bytes = io.model(|m| m.bytes().to_vec());

        let dev = common::Dev::new(SIZE);
        std::fs::write(&dev.file, &start).unwrap();
        let out = dev
            .cmd(Some(&spec()))
            .arg("-vv")
            .args(c.regpoke)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{}: regpoke failed:\n{stderr}",
            c.what
        );
        let regpoke = traced(&stderr);
        assert_eq!(
            regpoke, library,
            "{}: regpoke's accesses (left) differ from the generated code's (right)\n{stderr}",
            c.what
        );
        assert_eq!(dev.bytes(), lib_bytes, "{}: the bytes differ", c.what);
        if let Some(expect) = c.expect {
            let shape: Vec<(Op, usize, u32)> =
                library.iter().map(|&(op, o, w, _)| (op, o, w)).collect();
            assert_eq!(
                shape, expect,
                "{}: not the accesses the rule states",
                c.what
            );
        }
    }
}

#[test]
fn both_sides_read_the_same_value() {
    let dev = common::Dev::new(SIZE);
    std::fs::write(&dev.file, image()).unwrap();
    let io = FakeIo::new(SIZE);
    io.model(|m| {
        for (i, b) in image().iter().enumerate() {
            m.write(i, hal_core::Width::W8, u64::from(*b));
        }
    });
    let regs = wide::Regs::new(&io).unwrap();
    for (name, value) in [
        ("CAP", regs.cap().get()),
        ("BASE", regs.base().get()),
        ("COUNT", regs.count().read_consistent().unwrap().get()),
        ("MIXED", regs.mixed().get()),
    ] {
        let (v, code) = common::json_of(dev.cmd(Some(&spec())).args(["--json", "read", name]));
        assert_eq!(code, 0, "{name}: {v}");
        assert_eq!(v["reads"][0]["value"].as_u64(), Some(value), "{name}: {v}");
    }
    // little-endian: the low half is the word at the register's offset
    assert_eq!(regs.cap().get() & 0xffff_ffff, u64::from(dev.peek32(0)));
}

#[test]
fn the_retry_limit_is_the_same_in_the_library_and_the_map_format() {
    assert_eq!(
        hal_core::wide::CONSISTENT_READ_TRIES,
        register_spec::wide::CONSISTENT_READ_TRIES
    );
}

#[test]
fn generated_constants_come_from_the_rule() {
    assert_eq!(wide::PCI_IDS, &[(0x1234, 0x11e8), (0x1234, 0x11e9)]);
    assert_eq!((wide::PCI_VENDOR_ID, wide::PCI_DEVICE_ID), (0x1234, 0x11e8));
    let d = register_spec::load(spec()).unwrap();
    let base = d.blocks[0].register("BASE").unwrap();
    let from_rule: Vec<(usize, u32, u32)> = base
        .accesses()
        .iter()
        .map(|p| (p.offset as usize, p.width.bits(), p.shift))
        .collect();
    let generated: Vec<(usize, u32, u32)> = BASE::ACCESSES
        .iter()
        .map(|p| (p.offset, p.width.bits(), p.shift))
        .collect();
    assert_eq!(generated, from_rule);
    assert_eq!(generated, vec![(4, 32, 32), (0, 32, 0)]);
}

/// A device with the map's second ID, no driver: found through sysfs
/// `resource0` by `--spec` alone.
#[test]
fn a_map_with_two_ids_finds_a_device_with_either() {
    let f = FakeSysfs::new().unwrap();
    f.add_pci(&FakePci::new("0000:00:07.0", 0x1234, 0x11e9).with_resource(
        0,
        0xfe00_0000,
        0xfe00_0fff,
        0x40200,
    ))
    .unwrap();
    let cmd = || {
        let mut c = common::regpoke();
        c.arg("--sysfs-root")
            .arg(f.root())
            .arg("--lock-dir")
            .arg(f.root());
        c
    };
    cmd()
        .args(["-v", "--spec", &spec(), "read", "CAP"])
        .assert()
        .success()
        .stderr(contains("found 0000:00:07.0 (1234:11e9"));
    // no warning for a device with the alternative ID
    cmd()
        .args(["--spec", &spec(), "--pci", "0000:00:07.0", "read", "CAP"])
        .assert()
        .success()
        .stderr(predicates::str::contains("warning").not());

    let empty = FakeSysfs::new().unwrap();
    empty
        .add_pci(&FakePci::new("0000:00:03.0", 0x8086, 0x100e))
        .unwrap();
    common::regpoke()
        .arg("--sysfs-root")
        .arg(empty.root())
        .args(["--spec", &spec(), "read", "CAP"])
        .assert()
        .code(1)
        .stderr(
            contains("no PCI device with ID 1234:11e8 or 1234:11e9")
                .and(contains("0000:00:03.0"))
                .and(contains(
                    "spec wide_regs is for PCI ID 1234:11e8 or 1234:11e9",
                )),
        );
}

#[test]
fn spec_doc_says_how_a_register_is_accessed_and_lists_every_id() {
    common::regpoke()
        .args(["spec", "doc", &spec()])
        .assert()
        .success()
        .stdout(
            contains("PCI vendor:device `1234:11e8` or `1234:11e9`")
                .and(contains("accessed as 2 32-bit parts `high_first`"))
                .and(contains("accessed as 4 16-bit parts `low_first`"))
                .and(contains("a counter read tear-free (high, low, high)")),
        );
}
