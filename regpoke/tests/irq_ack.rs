//! `irq ack --read TARGET`: many devices acknowledge an interrupt by
//! reading a read-to-clear cause register, not by a write. `irq ack` does
//! the reads (printing their values), then the writes, then unmasks. Run
//! on a fake sysfs tree whose UIO node is a plain file, with the test map
//! `kinds.yaml` (INTR_STATUS at 0x28 has read side effects).

mod common;

use assert_cmd::Command;
use common::{json_of, kinds_spec, uio_command, uio_tree};
use pci_sysfs::fake::FakeSysfs;
use predicates::prelude::*;
use predicates::str::contains;

/// A device bound to uio_pci_generic, uio0 = BAR0 (a file).
fn tree() -> FakeSysfs {
    uio_tree()
}

fn poke32(f: &FakeSysfs, off: u64, v: u32) {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(f.root().join("dev/uio0"))
        .unwrap();
    file.seek(SeekFrom::Start(off)).unwrap();
    file.write_all(&v.to_le_bytes()).unwrap();
}

fn cmd(f: &FakeSysfs) -> Command {
    uio_command(f, kinds_spec())
}

#[test]
fn irq_ack_read_reads_the_cause_register_then_writes_then_unmasks() {
    let f = tree();
    poke32(&f, 0x28, 0x3);
    // -vv shows the accesses in order: the read of INTR_STATUS, then the
    // acknowledge write.
    cmd(&f)
        .args(["-vv", "irq", "ack", "--read", "INTR_STATUS", "FLAGS.DONE=1"])
        .assert()
        .success()
        .stdout("0x00000003\n")
        .stderr(
            contains("read32 0x28 -> 0x00000003")
                .and(contains("write32 0x8 <- 0x00000001"))
                .and(contains("read32 0x28").count(1)),
        );
    let (v, code) = json_of(cmd(&f).args(["--json", "irq", "ack", "--read", "INTR_STATUS.A"]));
    assert_eq!(code, 0);
    assert_eq!(v["command"], "irq ack");
    assert_eq!(v["reads"][0]["register"], "INTR_STATUS");
    assert_eq!(v["reads"][0]["value"], 1);
    assert_eq!(v["reads"][0]["read_side_effects"], true);
    assert_eq!(v["writes"].as_array().unwrap().len(), 0);
    assert_eq!(v["enabled"], true);
}

#[test]
fn irq_ack_needs_a_read_or_a_write_and_reads_only_readable_targets() {
    let f = tree();
    cmd(&f)
        .args(["irq", "ack"])
        .assert()
        .code(2)
        .stderr(contains("required"));
    // A write-only register cannot acknowledge by a read.
    cmd(&f)
        .args(["irq", "ack", "--read", "TRIGGER"])
        .assert()
        .code(2)
        .stderr(contains("TRIGGER"));
}

#[test]
fn irq_ack_read_in_a_batch_dry_run_says_the_read_has_side_effects() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("ack.rp");
    std::fs::write(&script, "irq ack --read INTR_STATUS FLAGS.DONE=1\n").unwrap();
    Command::new(env!("CARGO_BIN_EXE_regpoke"))
        .arg("--spec")
        .arg(kinds_spec())
        .args(["batch", "--dry-run"])
        .arg(&script)
        .assert()
        .success()
        .stdout(
            contains("ack.rp:1: read INTR_STATUS (0x28, 32-bit) [read has side effects]")
                .and(contains("ack.rp:1: write 0x00000001 to FLAGS"))
                .and(contains("ack.rp:1: enable (unmask) the interrupt")),
        );
}
