//! Device discovery and backend choice on fake sysfs trees (pci_sysfs::fake):
//! `list`, the automatic choice UIO → sysfs resourceN → /dev/mem, explicit
//! `--uio` and `--pci`, and interrupts on a device without one.

mod common;

use assert_cmd::Command;
use common::json_of;
use pci_sysfs::fake::{FakePci, FakeSysfs, FakeUio};
use predicates::prelude::*;
use predicates::str::contains;

const EDU: &str = "0000:00:04.0";
const IVSHMEM: &str = "0000:00:05.0";

/// edu bound to uio_pci_generic (uio0 = BAR0), ivshmem-plain bound to
/// nothing, and a host bridge.
fn tree() -> FakeSysfs {
    let f = FakeSysfs::new().unwrap();
    f.add_pci(&FakePci::edu(EDU).with_driver("uio_pci_generic"))
        .unwrap();
    f.add_pci(&FakePci::ivshmem_plain(IVSHMEM)).unwrap();
    f.add_pci(&FakePci::new("0000:00:00.0", 0x8086, 0x1237))
        .unwrap();
    let page = hal_core_page();
    let mut uio = FakeUio::pci_generic(0, EDU, &[(0xfea0_0000, 0x10_0000, 0)], page);
    uio.event = 5;
    f.add_uio(&uio).unwrap();
    f
}

fn hal_core_page() -> u64 {
    // The fake UIO node places map N at N pages; only map 0 is used here.
    4096
}

fn cmd(f: &FakeSysfs) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_regpoke"));
    c.arg("--sysfs-root").arg(f.root());
    c.arg("--lock-dir").arg(f.root());
    c
}

/// `regpoke --spec SPEC list`, successful.
fn list_with(f: &FakeSysfs, spec: &std::path::Path) -> assert_cmd::assert::Assert {
    cmd(f)
        .arg("--spec")
        .arg(spec)
        .arg("list")
        .assert()
        .success()
}

fn word(path: &std::path::Path, off: u64) -> u32 {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).unwrap();
    f.seek(SeekFrom::Start(off)).unwrap();
    let mut b = [0u8; 4];
    f.read_exact(&mut b).unwrap();
    u32::from_le_bytes(b)
}

#[test]
fn list_shows_devices_specs_and_backends() {
    let f = tree();
    cmd(&f).arg("list").assert().success().stdout(
        contains("uio0")
            .and(contains("map0 = BAR0 (0x100000 bytes)  spec edu"))
            .and(contains(
                "0000:00:04.0  1234:11e8  class 00ff00  uio_pci_generic",
            ))
            .and(contains("spec edu: regs = BAR0 via uio"))
            .and(contains("spec ivshmem: regs = BAR0 via sysfs"))
            .and(contains("shared = BAR2 via sysfs"))
            .and(contains("0000:00:00.0  8086:1237")),
    );
    let (v, code) = json_of(cmd(&f).args(["list", "--json"]));
    assert_eq!(code, 0);
    assert_eq!(v["command"], "list");
    assert_eq!(v["uio"][0]["name"], "uio0");
    assert_eq!(v["uio"][0]["pci"], EDU);
    assert_eq!(v["uio"][0]["maps"][0]["bar"], 0);
    assert_eq!(v["uio"][0]["spec"], "edu");
    let pci = v["pci"].as_array().unwrap();
    let edu = pci.iter().find(|p| p["address"] == EDU).unwrap();
    assert_eq!(edu["id"], "1234:11e8");
    assert_eq!(edu["driver"], "uio_pci_generic");
    assert_eq!(edu["blocks"][0]["block"], "regs");
    assert_eq!(edu["blocks"][0]["backend"]["kind"], "uio");
    assert_eq!(edu["blocks"][0]["backend"]["map"], 0);
    let iv = pci.iter().find(|p| p["address"] == IVSHMEM).unwrap();
    assert_eq!(iv["blocks"][1]["block"], "shared");
    assert_eq!(iv["blocks"][1]["bar"], 2);
    assert_eq!(iv["blocks"][1]["backend"]["kind"], "sysfs");
    let other = pci.iter().find(|p| p["address"] == "0000:00:00.0").unwrap();
    assert!(other["spec"].is_null());
}

#[test]
fn list_matches_a_given_spec_too() {
    let f = tree();
    f.add_pci(&FakePci::new("0000:00:06.0", 0x1234, 0xbeef).with_resource(
        0,
        0xfd00_0000,
        0xfd00_0fff,
        0x40200,
    ))
    .unwrap();
    list_with(&f, &common::kinds_spec()).stdout(
        contains("0000:00:06.0  1234:beef").and(contains("spec kinds: regs = BAR0 via sysfs")),
    );
}

#[test]
fn spec_alone_finds_edu_through_uio() {
    let f = tree();
    cmd(&f)
        .args([
            "--spec",
            "edu",
            "-v",
            "write",
            "LIVENESS=0x12345678",
            "--readback",
        ])
        .assert()
        .success()
        .stdout("0x12345678\n")
        .stderr(contains("found 0000:00:04.0").and(contains("backend uio via")));
    assert_eq!(word(&f.root().join("dev/uio0"), 4), 0x1234_5678);
    let (v, _) = json_of(cmd(&f).args(["--spec", "edu", "--json", "read", "LIVENESS"]));
    assert_eq!(v["backend"]["kind"], "uio");
    assert_eq!(v["backend"]["pci"], EDU);
    assert_eq!(v["backend"]["bar"], 0);
    assert_eq!(v["backend"]["map"], 0);
    assert_eq!(v["backend"]["phys"], 0xfea0_0000u64);
}

#[test]
fn spec_alone_falls_back_to_sysfs_resource_then_devmem() {
    let f = tree();
    let dir = f.root().join("sys/bus/pci/devices").join(IVSHMEM);
    cmd(&f)
        .args(["--spec", "ivshmem", "-v", "write", "INTR_MASK=0xff"])
        .assert()
        .success()
        .stderr(contains("backend sysfs via"));
    assert_eq!(word(&dir.join("resource0"), 0), 0xff);
    // The shared-memory block on BAR2, by block name.
    cmd(&f)
        .args([
            "--spec",
            "ivshmem",
            "--block",
            "shared",
            "write",
            "0x10=0xdeadbeef",
        ])
        .assert()
        .success();
    assert_eq!(word(&dir.join("resource2"), 0x10), 0xdead_beef);
    cmd(&f)
        .args(["--spec", "ivshmem", "--bar", "2", "read", "0x10"])
        .assert()
        .success()
        .stdout("0xdeadbeef\n");
    // Without resource0, /dev/mem at the BAR's physical address.
    std::fs::remove_file(dir.join("resource0")).unwrap();
    let mem = std::fs::File::create(f.root().join("dev/mem")).unwrap();
    mem.set_len(0xfebf_2000).unwrap();
    drop(mem);
    cmd(&f)
        .args(["--spec", "ivshmem", "-v", "write", "INTR_MASK=0x5a"])
        .assert()
        .success()
        .stderr(contains("backend devmem via"));
    assert_eq!(word(&f.root().join("dev/mem"), 0xfebf_1000), 0x5a);
    let (v, _) = json_of(cmd(&f).args(["--spec", "ivshmem", "--json", "read", "INTR_MASK"]));
    assert_eq!(v["backend"]["kind"], "devmem");
    assert_eq!(v["backend"]["phys"], 0xfebf_1000u64);
    assert_eq!(v["reads"][0]["value"], 0x5a);
    // And --devmem explicitly, raw.
    cmd(&f)
        .args(["--devmem", "0xfebf1000", "--size", "0x100", "read", "0x0"])
        .assert()
        .success()
        .stdout("0x0000005a\n");
}

#[test]
fn explicit_selectors() {
    let f = tree();
    cmd(&f)
        .args(["--spec", "edu", "--uio", "0", "write", "FACTORIAL=7"])
        .assert()
        .success();
    assert_eq!(word(&f.root().join("dev/uio0"), 8), 7);
    cmd(&f)
        .args(["--spec", "edu", "--uio", "uio0", "read", "FACTORIAL"])
        .assert()
        .success()
        .stdout("0x00000007\n");
    cmd(&f)
        .args(["--spec", "edu", "--uio", EDU, "read", "FACTORIAL"])
        .assert()
        .success()
        .stdout("0x00000007\n");
    // --pci maps resourceN even though the device is bound to UIO.
    let res0 = f
        .root()
        .join("sys/bus/pci/devices")
        .join(EDU)
        .join("resource0");
    cmd(&f)
        .args([
            "--spec",
            "edu",
            "--pci",
            "1234:11e8",
            "write",
            "FACTORIAL=9",
        ])
        .assert()
        .success();
    assert_eq!(word(&res0, 8), 9);
    cmd(&f)
        .args(["--spec", "edu", "--pci", "00:04.0", "read", "FACTORIAL"])
        .assert()
        .success()
        .stdout("0x00000009\n");
    cmd(&f)
        .args(["--uio", "7", "read", "0x0"])
        .assert()
        .code(1)
        .stderr(contains("no UIO device uio7"));
    cmd(&f)
        .args(["--pci", "0000:00:09.0", "read", "0x0"])
        .assert()
        .code(1)
        .stderr(contains("no PCI device"));
    cmd(&f)
        .args(["--pci", "bogus", "read", "0x0"])
        .assert()
        .code(2)
        .stderr(contains("invalid PCI"));
    cmd(&f)
        .args(["--spec", "edu", "--pci", IVSHMEM, "read", "0x0"])
        .assert()
        .stderr(contains(
            "warning: spec edu is for PCI ID 1234:11e8, but 0000:00:05.0 is 1af4:1110",
        ));
}

#[test]
fn spec_without_a_device_present() {
    let f = FakeSysfs::new().unwrap();
    cmd(&f)
        .args(["--spec", "edu", "read", "ID"])
        .assert()
        .code(1)
        .stderr(
            contains("no PCI device with ID 1234:11e8").and(contains("select a device explicitly")),
        );
}

#[test]
fn irq_count_and_wait_since() {
    let f = tree();
    cmd(&f)
        .args(["--spec", "edu", "irq", "count"])
        .assert()
        .success()
        .stdout("5\n");
    cmd(&f)
        .args([
            "--spec",
            "edu",
            "irq",
            "wait",
            "--since",
            "3",
            "--timeout",
            "1s",
        ])
        .assert()
        .success()
        .stdout("count=5 missed=1\n");
    let (v, code) = json_of(cmd(&f).args([
        "--spec",
        "edu",
        "--json",
        "irq",
        "wait",
        "--since",
        "4",
        "--timeout",
        "1s",
    ]));
    assert_eq!(code, 0);
    assert_eq!(v["command"], "irq wait");
    assert_eq!(v["count"], 5);
    assert_eq!(v["missed"], 0);
    assert_eq!(v["timed_out"], false);
}

#[test]
fn irq_on_a_device_without_interrupt_is_a_clear_error() {
    let f = tree();
    // ivshmem bound to uio_pci_generic: IRQ 0.
    f.add_pci(&FakePci::ivshmem_plain(IVSHMEM).with_driver("uio_pci_generic"))
        .unwrap();
    f.add_uio(&FakeUio::pci_generic(
        1,
        IVSHMEM,
        &[(0xfebf_1000, 0x1000, 0)],
        4096,
    ))
    .unwrap();
    cmd(&f)
        .args(["--spec", "ivshmem", "irq", "wait", "--timeout", "100ms"])
        .assert()
        .code(1)
        .stderr(contains("uio1 has no interrupt").and(contains("IRQ 0")));
    // ivshmem not bound to UIO: which driver it has, and how to bind it.
    let g = tree();
    cmd(&g)
        .args(["--spec", "ivshmem", "irq", "wait", "--timeout", "100ms"])
        .assert()
        .code(1)
        .stderr(contains("not to a UIO driver").and(contains("driver_override")));
}

#[test]
fn uio_cannot_reach_a_64bit_prefetchable_bar() {
    let f = tree();
    f.add_pci(&FakePci::ivshmem_plain(IVSHMEM).with_driver("uio_pci_generic"))
        .unwrap();
    f.add_uio(&FakeUio::pci_generic(
        1,
        IVSHMEM,
        &[(0xfebf_1000, 0x1000, 0)],
        4096,
    ))
    .unwrap();
    cmd(&f)
        .args([
            "--spec", "ivshmem", "--uio", "1", "--block", "shared", "read", "0x0",
        ])
        .assert()
        .code(2)
        .stderr(contains(
            "block shared is BAR2, and uio1 has no map of BAR2",
        ));
    // The spec alone takes BAR0 through UIO and BAR2 through sysfs.
    cmd(&f)
        .args(["--spec", "ivshmem", "-v", "read", "IV_POSITION"])
        .assert()
        .success()
        .stderr(contains("backend uio"));
    cmd(&f)
        .args([
            "--spec", "ivshmem", "--block", "shared", "-v", "read", "0x0",
        ])
        .assert()
        .success()
        .stderr(contains("backend sysfs"));
}

#[test]
fn closed_stdout_is_not_reused_for_the_device_node() {
    // With descriptor 1 closed, /dev/uio0 (kept open for the whole command)
    // would be opened as descriptor 1 and the output written into the
    // registers; regpoke puts /dev/null on a closed standard descriptor first.
    let f = tree();
    let node = f.root().join("dev/uio0");
    let before = std::fs::read(&node).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" --sysfs-root \"$1\" --lock-dir \"$1\" --spec edu read ID LIVENESS >&-")
        .arg(env!("CARGO_BIN_EXE_regpoke"))
        .arg(f.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        std::fs::read(&node).unwrap() == before,
        "the output went into the device node"
    );
}

/// `--uio N --map M` for a map the device lacks (here ivshmem's BAR2,
/// which uio_pci_generic does not map): the message is the CLI's, naming
/// the regpoke options that reach the BAR, not a library function.
#[test]
fn uio_without_the_map_points_to_the_pci_option() {
    let f = tree();
    f.add_pci(&FakePci::ivshmem_plain(IVSHMEM).with_driver("uio_pci_generic"))
        .unwrap();
    f.add_uio(&FakeUio::pci_generic(
        1,
        IVSHMEM,
        &[(0xfebf_1000, 0x1000, 0)],
        4096,
    ))
    .unwrap();
    for spec in [&["--spec", "ivshmem"][..], &[][..]] {
        cmd(&f)
            .args(spec)
            .args(["--uio", "1", "--map", "2", "read", "0x0"])
            .assert()
            .code(1)
            .stderr(
                contains("uio1 has no map2: its maps: map0")
                    .and(contains("use --pci 0000:00:05.0 --bar N instead of --uio"))
                    .and(contains("devmem_backend").not())
                    .and(contains("is not UIO maps").not()),
            );
    }
    cmd(&f)
        .args([
            "--spec", "ivshmem", "--uio", "1", "--map", "2", "read", "0x0",
        ])
        .assert()
        .stderr(contains("For BAR2, which is not a UIO map"));
}

/// `-v` on the automatic path says why UIO was passed over.
#[test]
fn verbose_says_why_uio_was_not_used() {
    // ivshmem bound to no driver.
    let f = tree();
    cmd(&f)
        .args(["--spec", "ivshmem", "-v", "read", "IV_POSITION"])
        .assert()
        .success()
        .stderr(
            contains("not using UIO: 0000:00:05.0 is not bound to any driver")
                .and(contains("backend sysfs via").and(contains("not UIO:"))),
        );
    // Bound to uio_pci_generic, but BAR2 is no UIO map.
    f.add_pci(&FakePci::ivshmem_plain(IVSHMEM).with_driver("uio_pci_generic"))
        .unwrap();
    f.add_uio(&FakeUio::pci_generic(
        1,
        IVSHMEM,
        &[(0xfebf_1000, 0x1000, 0)],
        4096,
    ))
    .unwrap();
    cmd(&f)
        .args([
            "--spec", "ivshmem", "--block", "shared", "-v", "read", "0x0",
        ])
        .assert()
        .success()
        .stderr(contains("not using UIO: uio1 has no map of BAR2"));
}

/// Addresses in `list --json` have exact hex strings beside them.
#[test]
fn list_json_addresses_have_hex_siblings() {
    let f = tree();
    let (v, code) = json_of(cmd(&f).args(["--json", "list"]));
    assert_eq!(code, 0);
    assert_eq!(v["uio"][0]["maps"][0]["addr_hex"], "0xfea00000");
    let edu = v["pci"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["address"] == EDU)
        .unwrap();
    assert_eq!(edu["bars"][0]["start_hex"], "0xfea00000");
    assert_eq!(edu["blocks"][0]["backend"]["phys_hex"], "0xfea00000");
}

/// The four-channel map of the downstream fixture, its device with an
/// 8 KiB BAR0 through sysfs `resource0`.
#[test]
fn block_arrays_are_listed_and_reached_at_their_bar_offset() {
    let f = tree();
    const DMAC: &str = "0000:00:07.0";
    f.add_pci(&FakePci::new(DMAC, 0x1b36, 0x00d4).with_resource(
        0,
        0xfd10_0000,
        0xfd10_1fff,
        0x40200,
    ))
    .unwrap();
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/downstream-crate/regs/dmac.yaml");
    list_with(&f, &spec).stdout(
        contains("spec dmac: global = BAR0 via sysfs")
            .and(contains("irq = BAR0+0x800 via sysfs"))
            .and(contains("ch[0..3] = BAR0+0x1000 (stride 0x100) via sysfs")),
    );
    let (v, code) = json_of(cmd(&f).arg("--spec").arg(&spec).args(["list", "--json"]));
    assert_eq!(code, 0);
    let dev = v["pci"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["address"] == DMAC)
        .unwrap()
        .clone();
    assert_eq!(dev["blocks"][2]["block"], "ch");
    assert_eq!(dev["blocks"][2]["offset"], 0x1000);
    assert_eq!(dev["blocks"][2]["count"], 4);
    assert_eq!(dev["blocks"][2]["stride"], 0x100);
    cmd(&f)
        .arg("--spec")
        .arg(&spec)
        .args(["write", "ch[3].LEN=0x4321"])
        .assert()
        .success();
    let resource = f
        .root()
        .join(format!("sys/bus/pci/devices/{DMAC}/resource0"));
    assert_eq!(word(&resource, 0x1304), 0x4321);
}
