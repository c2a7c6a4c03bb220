//! `--irq-kind` and `--vector` on the `irq` commands: parsed by clap for
//! every subcommand and batch line, and checked over UIO (one interrupt,
//! INTx vector 0) on a fake sysfs tree whose UIO node is a plain file. The
//! choice among a VFIO device's kinds is unit-tested in `irqchoice.rs` and
//! run in the VFIO VMs (`vfio_regpoke_intx_forced`,
//! `vfio_regpoke_waits_for_ivshmem_doorbell_msix`).

use assert_cmd::Command;
use pci_sysfs::fake::{FakePci, FakeSysfs, FakeUio};
use predicates::prelude::*;
use predicates::str::contains;

const DEV: &str = "0000:00:04.0";

/// An edu bound to uio_pci_generic, uio0 = BAR0.
fn tree() -> FakeSysfs {
    let f = FakeSysfs::new().unwrap();
    f.add_pci(&FakePci::edu(DEV).with_driver("uio_pci_generic"))
        .unwrap();
    f.add_uio(&FakeUio::pci_generic(
        0,
        DEV,
        &[(0xfea0_0000, 0x10_0000, 0)],
        1 << 20,
    ))
    .unwrap();
    f
}

fn cmd(f: &FakeSysfs) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_regpoke"));
    c.arg("--sysfs-root")
        .arg(f.root())
        .arg("--lock-dir")
        .arg(f.root())
        .args(["--spec", "edu", "--uio", "0"]);
    c
}

#[test]
fn uio_accepts_intx_vector_0_and_says_so_at_v() {
    let f = tree();
    for args in [
        &["-v", "irq", "count"][..],
        &["-v", "irq", "count", "--irq-kind", "intx"],
        &["-v", "irq", "count", "--irq-kind", "intx", "--vector", "0"],
    ] {
        cmd(&f)
            .args(args)
            .assert()
            .success()
            .stderr(contains("(INTx vector 0)"));
    }
}

#[test]
fn uio_refuses_msi_msix_and_other_vectors_pointing_to_vfio() {
    let f = tree();
    for (args, says) in [
        (
            &["irq", "count", "--irq-kind", "msi"][..],
            "has no MSI; it has INTx (1 vector)",
        ),
        (
            &["irq", "enable", "--irq-kind", "msix"],
            "has no MSI-X; it has INTx (1 vector)",
        ),
        (
            &["irq", "wait", "--timeout", "1ms", "--vector", "1"],
            "--vector 1: ",
        ),
        (
            &["irq", "ack", "IRQ_ACK.FACT=1", "--irq-kind", "msi"],
            "has no MSI",
        ),
    ] {
        cmd(&f)
            .args(args)
            .assert()
            .code(2)
            .stderr(contains(says).and(contains("MSI and MSI-X need VFIO")));
    }
}

#[test]
fn an_unknown_kind_is_a_usage_error_listing_the_kinds() {
    let f = tree();
    cmd(&f)
        .args(["irq", "wait", "--timeout", "1ms", "--irq-kind", "msi-x"])
        .assert()
        .code(2)
        .stderr(contains("intx").and(contains("msi")).and(contains("msix")));
    cmd(&f)
        .args(["irq", "count", "--vector", "many"])
        .assert()
        .code(2)
        .stderr(contains("not a number"));
}

#[test]
fn a_batch_uses_one_kind_and_vector() {
    let f = tree();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("irq.rp");
    std::fs::write(
        &script,
        "irq count --irq-kind intx\nirq count\nirq count --vector 0\n",
    )
    .unwrap();
    cmd(&f).arg("batch").arg(&script).assert().success();
    // A later line asking for something else than what is in use.
    std::fs::write(&script, "irq count\nirq enable --irq-kind msi\n").unwrap();
    cmd(&f).arg("batch").arg(&script).assert().code(2).stderr(
        contains("irq.rp:2")
            .and(contains("already in use as INTx vector 0"))
            .and(contains("--irq-kind msi")),
    );
}

#[test]
fn a_dry_run_shows_the_options() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("irq.rp");
    std::fs::write(
        &script,
        "irq wait --timeout 1s --irq-kind msix --vector 1\nirq ack IRQ_ACK.FACT=1 --irq-kind intx\n",
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_regpoke"))
        .args(["--spec", "edu", "batch", "--dry-run"])
        .arg(&script)
        .assert()
        .success()
        .stdout(
            contains("irq.rp:1: wait for an interrupt (--irq-kind msix --vector 1) (timeout 1s)")
                .and(contains(
                    "irq.rp:2: enable (unmask) the interrupt (--irq-kind intx)",
                )),
        );
}

#[test]
fn help_documents_the_options() {
    for sub in ["wait", "enable", "count", "ack"] {
        Command::new(env!("CARGO_BIN_EXE_regpoke"))
            .args(["irq", sub, "--help"])
            .assert()
            .success()
            .stdout(contains("--irq-kind <KIND>").and(contains("--vector <N>")));
    }
}
