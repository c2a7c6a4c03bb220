//! VFIO against UIO in one VM (q35, intel-iommu, `iommu=pt`, two edu
//! devices): the first edu bound to vfio-pci, the second to
//! uio_pci_generic, and every comparison measured in interleaved rounds
//! (VFIO, UIO, VFIO, UIO, ...) so that a change of host load hits both
//! sides alike. The loops are those of the single-backend benchmarks.

use device_specs::edu;
use edu_driver::{EduDevice, EduVfioDevice};
use pci_sysfs::{PciAddress, PciDevice};
use uio_backend::UioDevice;
use vfio_backend::IrqKind;

use super::vfio::prefixed;
use super::{dma_data, median, read_round, uio_irq_ready, uio_irq_round, DmaTrips};
use crate::guest::vfio::open_edu_at;
use crate::EDU_IDS;

/// The edu devices of this machine, by PCI address; an error unless there
/// are exactly two (the first for VFIO, the second for UIO).
fn two_edus() -> Result<(PciDevice, PciDevice), String> {
    let (a, b) = pick_two(edu_addresses()?)?;
    let load = |a| PciDevice::find_by_address(a).map_err(|e| e.to_string());
    Ok((load(a)?, load(b)?))
}

/// The PCI addresses of this machine's edu devices.
fn edu_addresses() -> Result<Vec<PciAddress>, String> {
    Ok(PciDevice::list()
        .map_err(|e| format!("listing PCI devices: {e}"))?
        .into_iter()
        .filter(|d| EDU_IDS.contains(&(d.vendor(), d.device())))
        .map(|d| d.address())
        .collect())
}

/// In a VM with one edu (the test VM): `bench-vfio-uio` must refuse
/// before binding anything, naming the edu it found.
pub fn refuses_one_edu() -> crate::guest::Outcome {
    let edus = edu_addresses()?;
    let [only] = edus[..] else {
        return Err(format!("this case needs a VM with one edu, found {edus:?}"));
    };
    match compare(1, 1, 1, 1) {
        Err(e) if e.contains(&format!("found 1 ({only})")) => {
            let driver = PciDevice::find_by_address(only).map_err(|e| e.to_string())?;
            match driver.driver() {
                Some("uio_pci_generic") => Ok(format!("refused: {e}")),
                other => Err(format!(
                    "edu {only} is bound to {other:?} after the refusal"
                )),
            }
        }
        other => Err(format!("with one edu, bench-vfio-uio gave {other:?}")),
    }
}

/// The two edu addresses of `found` in address order; an error naming
/// what was found unless there are exactly two.
fn pick_two(mut found: Vec<PciAddress>) -> Result<(PciAddress, PciAddress), String> {
    found.sort();
    match found[..] {
        [a, b] => Ok((a, b)),
        _ => Err(format!(
            "the VFIO vs UIO benchmark needs exactly two edu devices (1234:11e8), found {}{}: \
             boot the VM with a second `-device edu` (vm-bench's `vfio` VM has two)",
            found.len(),
            if found.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    found
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )),
    }
}

/// Binds the first edu to vfio-pci and the second to uio_pci_generic, then
/// compares, in `rounds` interleaved rounds each: interrupt round trips
/// (`irq_n` per round; MSI on the VFIO eventfd vs INTx through UIO with
/// its re-enable), ID register reads (`read_iters` per round; generated
/// block and `read_volatile` on each BAR0 mapping), and `dma_rounds`
/// 4095-byte DMA round trips polled and by interrupt through the edu
/// driver (`EduVfioDevice` vs `EduDevice`, each opened by its address).
/// Prints medians as `key=value` pairs, `vfio_`/`uio_` prefixed, and
/// each mapping's memory kind.
pub fn compare(
    irq_n: u32,
    read_iters: u32,
    rounds: u32,
    dma_rounds: u32,
) -> Result<String, String> {
    let (mut vfio_pci, mut uio_pci) = two_edus()?;
    let (va, ua) = (vfio_pci.address(), uio_pci.address());
    uio_pci
        .bind_uio_pci_generic()
        .map_err(|e| format!("binding edu {ua} to uio_pci_generic: {e}"))?;
    let mut out = vec![format!("vfio_edu={va} uio_edu={ua}")];
    {
        let (vdev, vbar) = open_edu_at(&mut vfio_pci)?;
        let vregs = edu::Regs::new(&vbar).map_err(|e| e.to_string())?;
        let virq = vdev.irq(IrqKind::Msi, 1).map_err(|e| e.to_string())?;
        let udev = UioDevice::find_by_pci_address(ua).map_err(|e| e.to_string())?;
        let ubar = udev.map(0).map_err(|e| e.to_string())?;
        let uregs = edu::Regs::new(&ubar).map_err(|e| e.to_string())?;
        let uirq = uio_irq_ready(&udev, uregs)?;
        let mut m: [Vec<f64>; 6] = Default::default();
        for _ in 0..rounds.max(1) {
            m[0].push(super::vfio::msi_round(vregs, &virq, irq_n)?);
            m[1].push(uio_irq_round(uregs, &uirq, irq_n)?);
            let (t, r) = read_round(&vbar, vregs, read_iters);
            m[2].push(t);
            m[3].push(r);
            let (t, r) = read_round(&ubar, uregs, read_iters);
            m[4].push(t);
            m[5].push(r);
        }
        let [vi, ui, vt, vr, ut, ur] = m.map(median);
        out.push(format!(
            "vfio_msi_irq_us={vi:.2} uio_intx_irq_us={ui:.2} irq_n={irq_n} \
             vfio_typed_read_ns={vt:.2} vfio_raw_read_ns={vr:.2} \
             uio_typed_read_ns={ut:.2} uio_raw_read_ns={ur:.2} read_iters={read_iters} rounds={rounds} \
             vfio_kind={:?} uio_kind={:?}",
            vbar.kind(),
            ubar.kind()
        ));
    }
    // The drivers open the devices themselves: the raw handles above are
    // closed by now (a VFIO group opens once).
    let vedu = EduVfioDevice::open(va).map_err(|e| e.to_string())?;
    let uedu = EduDevice::open(ua).map_err(|e| e.to_string())?;
    let data = dma_data();
    let (mut vt, mut ut) = (DmaTrips::default(), DmaTrips::default());
    for _ in 0..dma_rounds.max(1) {
        vt.round(&vedu, &data)?;
        ut.round(&uedu, &data)?;
    }
    out.push(prefixed("vfio", &vt.summary()));
    out.push(prefixed("uio", &ut.summary()));
    out.push(format!("dma_len={} dma_rounds={dma_rounds}", data.len()));
    Ok(out.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_two_edus_are_taken_in_address_order() {
        let a = |s: &str| s.parse::<PciAddress>().unwrap();
        assert_eq!(
            pick_two(vec![a("0000:00:04.0"), a("0000:00:03.0")]),
            Ok((a("0000:00:03.0"), a("0000:00:04.0")))
        );
        let none = pick_two(vec![]).unwrap_err();
        assert!(none.contains("found 0:"), "{none}");
        let one = pick_two(vec![a("0000:00:02.0")]).unwrap_err();
        assert!(one.contains("found 1 (0000:00:02.0)"), "{one}");
        assert!(one.contains("second `-device edu`"), "{one}");
        let three = pick_two(vec![
            a("0000:00:02.0"),
            a("0000:00:03.0"),
            a("0000:00:04.0"),
        ]);
        assert!(three.unwrap_err().contains("found 3"));
    }
}
