//! The edu driver library over VFIO (the VFIO VM): `EduVfioDevice` run as
//! uid 65534 once it owns the IOMMU group's node.

use std::process::Command;

use edu_driver::{EduVfioDevice, OwnedEdu, Wait};

use super::Outcome;
use crate::host::GUEST_EDU;
use crate::{first_difference, pattern};

/// The subcommand [`edu_driver_vfio`] runs as uid 65534.
pub const DRIVER_AS_USER_CASE: &str = "vfio-edu-driver-as-user";

/// As root: binds edu to vfio-pci, gives its group node to uid 65534 and
/// runs [`edu_driver_as_user`] as that user (the node's owner restored
/// after); then the `edu` command, which must choose VFIO by itself for
/// an edu bound to vfio-pci, do a DMA round trip by MSI with `--vfio`, and
/// refuse a 4096-byte DMA with exit status 2.
pub fn edu_driver_vfio() -> Outcome {
    let node = super::vfio::bind_edu_to_vfio()?;
    let user = super::vfio::run_as_nobody_owning(&node, DRIVER_AS_USER_CASE)?;
    let edu = |args: &[&str], want_status: i32, want: &str| -> Outcome {
        let out = Command::new(GUEST_EDU)
            .args(args)
            .output()
            .map_err(|e| format!("running {GUEST_EDU}: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        if out.status.code() != Some(want_status) || !text.contains(want) {
            return Err(format!(
                "edu {}: expected exit status {want_status} and {want:?}, got {:?}: {text}",
                args.join(" "),
                out.status.code()
            ));
        }
        Ok(format!("edu {}: {text}", args.join(" ")))
    };
    let info = edu(&["info"], 0, "MSI through VFIO")?;
    let dma = edu(&["--vfio", "dma", "--irq"], 0, "intact")?;
    let refused = edu(&["dma", "--len", "4096"], 2, "refused a 4096-byte DMA")?;
    Ok(format!("{user}\n{info}\n{dma}\n{refused}"))
}

/// The edu driver over VFIO as a user without root: factorials by MSI and
/// polled; 4095-byte DMA round trips (through IOVAs) polled and by MSI; a
/// second instance refused as in use; the 4096-byte DMA refused by the
/// guard and the device still answering after.
pub fn edu_driver_as_user() -> Outcome {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return Err(format!("{DRIVER_AS_USER_CASE} must not run as root"));
    }
    let e = |e: edu_driver::EduError| e.to_string();
    let edu = EduVfioDevice::open_auto().map_err(e)?;
    let mut report = vec![format!(
        "uid {uid}: {} at {}",
        edu.identify().map_err(e)?,
        edu.address()
    )];
    for (n, want, wait) in [
        (10, 3_628_800, Wait::Interrupt),
        (12, 479_001_600, Wait::Poll),
        (5, 120, Wait::Interrupt),
    ] {
        let got = edu.factorial(n, wait).map_err(e)?;
        if got != want {
            return Err(format!("{n}! ({wait}) gave {got}, expected {want}"));
        }
        report.push(format!("{n}! = {got} ({wait})"));
    }
    match EduVfioDevice::open_auto() {
        Err(err) if err.is_in_use() => report.push(format!("second instance: {err}")),
        Err(err) => {
            return Err(format!(
                "a second instance failed otherwise than in use: {err}"
            ))
        }
        Ok(_) => return Err("a second instance opened the device".into()),
    }
    for (seed, wait) in [(0x5eed_0001, Wait::Poll), (0x5eed_0002, Wait::Interrupt)] {
        let data = pattern(seed, edu_driver::guard::MAX_TRANSFER);
        let trip = edu.dma_round_trip(&data, wait).map_err(e)?;
        report.push(trip.to_string());
    }
    // The driver compares itself; check one transfer by hand as well.
    let buf = edu.alloc(4096).map_err(e)?;
    let data = pattern(0x5eed_0003, 4095);
    buf.region()
        .write_bytes(0, &data)
        .map_err(|x| x.to_string())?;
    edu.copy_to_device(&buf, 0, 4095, 0x40000, Wait::Poll)
        .map_err(e)?;
    let back = edu.alloc(4096).map_err(e)?;
    edu.copy_to_ram(0x40000, &back, 0, 4095, Wait::Interrupt)
        .map_err(e)?;
    let mut got = vec![0u8; 4095];
    back.region()
        .read_bytes(0, &mut got)
        .map_err(|x| x.to_string())?;
    if let Some(i) = first_difference(&got, &data) {
        return Err(format!(
            "byte {i} differs after copy_to_device/copy_to_ram over VFIO"
        ));
    }
    let iova = buf.device_addr(0, 4096).map_err(|x| x.to_string())?;
    report.push(format!("4095 bytes by hand through IOVA {iova:#x}: equal"));
    match edu.copy_to_device(&buf, 0, 4096, 0x40000, Wait::Poll) {
        Err(err) if err.is_refused() => report.push(format!("4096 bytes: {err}")),
        Err(err) => {
            return Err(format!(
                "the 4096-byte DMA failed otherwise than refused: {err}"
            ))
        }
        Ok(_) => return Err("the 4096-byte DMA was started".into()),
    }
    let alive = edu.factorial(6, Wait::Interrupt).map_err(e)?;
    if alive != 720 {
        return Err(format!("after the refusal 6! gave {alive}"));
    }
    report.push("after the refusal: 6! = 720 by MSI, QEMU alive".into());
    Ok(report.join("\n"))
}
