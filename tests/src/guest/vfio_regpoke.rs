//! `regpoke` over VFIO (the VFIO VM): edu bound to vfio-pci, reached by
//! name through the automatic choice and through `--vfio`; a factorial
//! written and read back decoded; an interrupt raised and waited for in one
//! batch (MSI); a wait with nothing raised times out; a group held open by
//! another process is reported as in use. Also the forced kind (INTx on
//! edu, raised twice, masked by VFIO until unmasked) and an
//! ivshmem-doorbell's MSI-X vector waited for by `--vector`.

use std::io::Write as _;
use std::process::{Command, Stdio};

use pci_sysfs::PciDevice;
use vfio_backend::VfioDevice;

use super::Outcome;
use crate::host::GUEST_REGPOKE;
use crate::{EDU_IDS, IVSHMEM_IDS};

/// Runs regpoke with `args` (and `stdin`); checks the exit status and
/// that stdout and stderr contain `want_out` and `want_err`.
fn regpoke(
    args: &[&str],
    stdin: &str,
    want_status: i32,
    want_out: &[&str],
    want_err: &[&str],
) -> Outcome {
    let mut child = Command::new(GUEST_REGPOKE)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running {GUEST_REGPOKE}: {e}"))?;
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.as_bytes())
            .map_err(|e| format!("writing regpoke's input: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for regpoke: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = format!("regpoke {}", args.join(" "));
    let missing = want_out
        .iter()
        .find(|w| !stdout.contains(**w))
        .map(|w| format!("stdout lacks {w:?}"))
        .or_else(|| {
            want_err
                .iter()
                .find(|w| !stderr.contains(**w))
                .map(|w| format!("stderr lacks {w:?}"))
        });
    if out.status.code() != Some(want_status) || missing.is_some() {
        return Err(format!(
            "{shown}: expected exit status {want_status}, got {:?}; {}\nstdout: {stdout}\nstderr: {stderr}",
            out.status.code(),
            missing.unwrap_or_default()
        ));
    }
    Ok(format!(
        "{shown}: {} {}",
        stdout.trim().replace('\n', " | "),
        stderr.trim().replace('\n', " | ")
    ))
}

/// Raise an interrupt and wait for it, in one process (VFIO delivers an
/// interrupt only to the process holding the device's eventfd).
const RAISE_AND_WAIT: &str = "\
write IRQ_ACK=0xffffffff
irq enable
write IRQ_RAISE.FACT=1
irq wait --timeout 2s
expect IRQ_STATUS.FACT ==1
irq ack IRQ_ACK.FACT=1
expect IRQ_STATUS ==0
irq count
";

/// The case: see the module docs.
pub fn regpoke_vfio() -> Outcome {
    super::vfio::bind_edu_to_vfio()?;
    let pci = PciDevice::find_by_ids(EDU_IDS).map_err(|e| e.to_string())?;
    let bdf = pci.address().to_string();
    let vfio_bdf = format!("--vfio={bdf}");
    let named = format!("backend vfio {bdf} BAR0 via /dev/vfio/");
    let mut report = Vec::new();
    // The automatic choice, then --vfio bare and with the address.
    report.push(regpoke(
        &["--spec", "edu", "-v", "read", "ID"],
        "",
        0,
        &["0x010000ed"],
        &[&named, "(bound to vfio-pci;"],
    )?);
    for sel in ["--vfio", vfio_bdf.as_str()] {
        report.push(regpoke(
            &["--spec", "edu", sel, "-v", "read", "ID", "ID.MAGIC"],
            "",
            0,
            &["0x010000ed\n0xed"],
            &[&named, "(--vfio;"],
        )?);
    }
    report.push(regpoke(
        &["--spec", "edu", "write", "STATUS.IRQFACT=0", "FACTORIAL=10"],
        "",
        0,
        &[],
        &[],
    )?);
    report.push(regpoke(
        &[
            "--spec",
            "edu",
            "--vfio",
            "watch",
            "STATUS.COMPUTING",
            "--until",
            "==IDLE",
            "--timeout",
            "2s",
        ],
        "",
        0,
        &[],
        &[],
    )?);
    report.push(regpoke(
        &["--spec", "edu", "read", "FACTORIAL", "--decode"],
        "",
        0,
        &["0x00375f00"],
        &[],
    )?);
    regpoke(
        &["--spec", "edu", "--json", "dump"],
        "",
        0,
        &["\"kind\": \"vfio\"", &format!("\"pci\": \"{bdf}\"")],
        &[],
    )?;
    report.push(format!(
        "regpoke --spec edu --json dump: backend kind vfio, pci {bdf}"
    ));
    // An interrupt raised and waited for: automatic choice, then --vfio.
    for sel in [&["--spec", "edu"][..], &["--spec", "edu", "--vfio"]] {
        report.push(regpoke(
            &[sel, &["-v", "batch", "-"][..]].concat(),
            RAISE_AND_WAIT,
            0,
            &["count=1 missed=0", "\n1"],
            &[&format!(
                "interrupts through vfio {bdf} MSI vector 0 (automatic choice: MSI, else MSI-X, else INTx; the device has MSI (1 vector), INTx (1 vector)); vectors 0 to 0 enabled, Bus Master enabled"
            )],
        )?);
    }
    // Nothing raised: the wait times out (exit status 3).
    report.push(regpoke(
        &["--spec", "edu", "irq", "wait", "--timeout", "200ms"],
        "",
        3,
        &[],
        &["no interrupt within"],
    )?);
    // The group held open by another (this) process: in use, exit status 1.
    let held = VfioDevice::open_pci(&pci).map_err(|e| e.to_string())?;
    let busy = regpoke(
        &["--spec", "edu", "read", "ID"],
        "",
        1,
        &[],
        &["is already open (a VFIO group can be open once"],
    );
    drop(held);
    report.push(busy?);
    Ok(report.join("\n"))
}

/// INTx forced on edu (which has MSI, the automatic choice): raised and
/// waited for; acknowledged in the device and raised again while VFIO
/// still masks the line, so nothing is counted until `irq enable`
/// unmasks it; then waited for, acknowledged and unmasked by `irq ack`.
const INTX_TWICE: &str = "\
write IRQ_ACK=0xffffffff
irq enable --irq-kind intx
write IRQ_RAISE.FACT=1
irq wait --timeout 2s
expect IRQ_STATUS.FACT ==1
write IRQ_ACK.FACT=1
write IRQ_RAISE.FACT=1
sleep 200ms
irq count
irq enable
irq wait --timeout 2s --irq-kind intx --vector 0
irq ack IRQ_ACK.FACT=1
expect IRQ_STATUS ==0
irq count
";

/// `vfio-regpoke-intx`: INTx forced on edu, raised twice in one batch
/// (the second time counted only once `irq enable` unmasks the line); a
/// kind edu lacks (MSI-X) and a vector beyond its count are refused,
/// naming what it has.
pub fn regpoke_intx_forced() -> Outcome {
    super::vfio::bind_edu_to_vfio()?;
    let pci = PciDevice::find_by_ids(EDU_IDS).map_err(|e| e.to_string())?;
    let bdf = pci.address().to_string();
    let has = "it has MSI (1 vector), INTx (1 vector)";
    let mut report = vec![regpoke(
        &["--spec", "edu", "-v", "batch", "-"],
        INTX_TWICE,
        0,
        // The count stays 1 while the line is masked, 2 after the unmask.
        &["count=1 missed=0\n", "\n1\ncount=2 missed=0\n", "\n2\n"],
        &[&format!(
            "interrupts through vfio {bdf} INTx vector 0 (--irq-kind; the device has MSI (1 vector), INTx (1 vector)); unmasked by irq enable/ack"
        )],
    )?];
    report.push(regpoke(
        &[
            "--spec",
            "edu",
            "irq",
            "wait",
            "--timeout",
            "1s",
            "--irq-kind",
            "msix",
        ],
        "",
        2,
        &[],
        &[&format!("--irq-kind msix: vfio {bdf} has no MSI-X; {has}")],
    )?);
    report.push(regpoke(
        &["--spec", "edu", "irq", "count", "--vector", "1"],
        "",
        2,
        &[],
        &[&format!(
            "--vector 1: vfio {bdf} has 1 MSI vector (0); {has}"
        )],
    )?);
    Ok(report.join("\n"))
}

/// `vfio-regpoke-doorbell`: binds the ivshmem-doorbell to vfio-pci; a
/// vector beyond its two MSI-X vectors is refused; then `irq wait
/// --vector 1` (the automatic choice: MSI-X, the only kind it has) waits
/// while the host rings that vector.
pub fn regpoke_doorbell() -> Outcome {
    let mut pci = PciDevice::find_by_ids(IVSHMEM_IDS).map_err(|e| e.to_string())?;
    pci.bind_with_override("vfio-pci")
        .map_err(|e| format!("binding ivshmem to vfio-pci: {e}"))?;
    let bdf = pci.address().to_string();
    let mut report = vec![regpoke(
        &[
            "--spec",
            "ivshmem",
            "irq",
            "wait",
            "--vector",
            "5",
            "--timeout",
            "1s",
        ],
        "",
        2,
        &[],
        &[&format!(
            "--vector 5: vfio {bdf} has 2 MSI-X vectors (0 to 1); it has MSI-X (2 vectors)"
        )],
    )?];
    report.push(regpoke(
        &["--spec", "ivshmem", "-v", "irq", "wait", "--vector", "1", "--timeout", "20s"],
        "",
        0,
        &["count="],
        &[&format!(
            "interrupts through vfio {bdf} MSI-X vector 1 (automatic choice: MSI, else MSI-X, else INTx; the device has MSI-X (2 vectors)); vectors 0 to 1 enabled"
        )],
    )?);
    Ok(report.join("\n"))
}
