//! Accesses that would be undefined behaviour are refused with an error,
//! never performed.
//!
//! `--devmem ADDR` maps `/dev/mem` (here a plain file in a fake root) from
//! any address, so the region can start off every boundary. A 32-bit read
//! at offset 0 of a region at address 0x1 used to be a misaligned load: a
//! debug build aborted ("ptr::read_volatile requires that the pointer
//! argument is aligned", exit 134), a release build loaded silently.

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

/// A fake root whose `dev/mem` is a 1 MiB plain file.
fn root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("dev")).unwrap();
    std::fs::File::create(dir.path().join("dev/mem"))
        .unwrap()
        .set_len(0x10_0000)
        .unwrap();
    dir
}

fn cmd(root: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_regpoke"));
    c.arg("--sysfs-root").arg(root);
    c.arg("--lock-dir").arg(root);
    c
}

#[test]
fn a_misaligned_address_is_a_usage_error_naming_the_address() {
    let r = root();
    cmd(r.path())
        .args([
            "--devmem", "0x1", "--size", "64", "read", "0x0", "--width", "32",
        ])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            contains("regpoke: error:")
                .and(contains(
                    "32-bit access at offset 0x0 is misaligned: its address 0x",
                ))
                .and(contains("is not a multiple of 4"))
                .and(contains("starts 1 byte past a 4-byte boundary")),
        );
    cmd(r.path())
        .args([
            "--devmem", "0x4", "--size", "64", "read", "0x0", "--width", "64",
        ])
        .assert()
        .code(2)
        .stderr(contains("is not a multiple of 8"));
}

#[test]
fn accesses_at_aligned_addresses_of_the_same_region_work() {
    let r = root();
    cmd(r.path())
        .args([
            "--devmem", "0x1", "--size", "64", "read", "0x0", "--width", "8",
        ])
        .assert()
        .success()
        .stdout("0x00\n");
    cmd(r.path())
        .args([
            "--devmem", "0x1", "--size", "64", "write", "0x0=0xab", "--width", "8",
        ])
        .assert()
        .success();
    // The byte landed at address 0x1.
    cmd(r.path())
        .args([
            "--devmem", "0x0", "--size", "64", "read", "0x0", "--width", "32",
        ])
        .assert()
        .success()
        .stdout("0x0000ab00\n");
}
