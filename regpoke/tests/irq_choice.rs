//! `--irq-kind` and `--vector` on the `irq` commands: parsed by clap for
//! every subcommand and batch line, and checked over UIO (one interrupt,
//! INTx vector 0) on a fake sysfs tree whose UIO node is a plain file. The
//! choice among a VFIO device's kinds is unit-tested in `irqchoice.rs` and
//! run in the VFIO VMs (`vfio_regpoke_intx_forced`,
//! `vfio_regpoke_waits_for_ivshmem_doorbell_msix`).

mod common;

use assert_cmd::Command;
use common::{uio_command, uio_tree};
use pci_sysfs::fake::FakeSysfs;
use predicates::prelude::*;
use predicates::str::contains;

/// An edu bound to uio_pci_generic, uio0 = BAR0.
fn tree() -> FakeSysfs {
    uio_tree()
}

fn cmd(f: &FakeSysfs) -> Command {
    uio_command(f, "edu")
}

/// `regpoke --spec edu batch [--dry-run] SCRIPT` with `text` as the
/// script `irq.rp`, on `f` (none: a dry run).
fn batch(f: Option<&FakeSysfs>, text: &str) -> assert_cmd::assert::Assert {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("irq.rp");
    std::fs::write(&script, text).unwrap();
    match f {
        Some(f) => cmd(f).arg("batch").arg(&script).assert(),
        None => Command::new(env!("CARGO_BIN_EXE_regpoke"))
            .args(["--spec", "edu", "batch", "--dry-run"])
            .arg(&script)
            .assert(),
    }
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
    batch(
        Some(&f),
        "irq count --irq-kind intx\nirq count\nirq count --vector 0\n",
    )
    .success();
    // A later line asking for something else than what is in use.
    batch(Some(&f), "irq count\nirq enable --irq-kind msi\n")
        .code(2)
        .stderr(
            contains("irq.rp:2")
                .and(contains("already in use as INTx vector 0"))
                .and(contains("--irq-kind msi")),
        );
}

#[test]
fn a_dry_run_shows_the_options() {
    batch(
        None,
        "irq wait --timeout 1s --irq-kind msix --vector 1\nirq ack IRQ_ACK.FACT=1 --irq-kind intx\n",
    )
    .success()
    .stdout(
        contains("irq.rp:1: wait for an interrupt (--irq-kind msix --vector 1) (timeout 1s)")
            .and(contains("irq.rp:2: enable (unmask) the interrupt (--irq-kind intx)")),
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
