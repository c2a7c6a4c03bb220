//! The VFIO benchmarks (run in the VFIO VM: edu bound to vfio-pci behind
//! the emulated intel-iommu), and the VFIO side of the loops that
//! [`super::vfio_uio`] runs against UIO in one VM (what `vm-bench` reports).

use std::time::{Duration, Instant};

use device_specs::edu::{
    self,
    regs::{IRQ_ACK, IRQ_RAISE},
};
use vfio_backend::{IrqKind, VfioIrq};

use super::median;
use crate::guest::vfio::{bind_edu_to_vfio, open_edu};

/// edu interrupt round trips over MSI through VFIO (raise → eventfd wakes
/// the waiter → acknowledge in edu), in µs per round trip: the
/// counterpart of [`super::irq`]'s library loop over UIO's INTx (which
/// also re-enables the interrupt through config space each time; MSI
/// needs no re-enable).
pub fn irq(n: u32, rounds: u32) -> Result<String, String> {
    let (dev, bar0) = open_edu()?;
    let regs = edu::Regs::new(&bar0).map_err(|e| e.to_string())?;
    let irq = dev.irq(IrqKind::Msi, 1).map_err(|e| e.to_string())?;
    let mut us = Vec::new();
    for _ in 0..rounds.max(1) {
        us.push(msi_round(regs, &irq, n)?);
    }
    Ok(format!(
        "vfio_msi_irq_us={:.2} n={n} rounds={rounds}",
        median(us)
    ))
}

/// One round of `n` edu interrupt round trips over MSI vector 0 of `irq`
/// (raise → eventfd wakes the waiter → acknowledge), in µs per round trip.
pub(super) fn msi_round(regs: edu::Regs<'_>, irq: &VfioIrq, n: u32) -> Result<f64, String> {
    let t = Instant::now();
    for i in 0..n {
        regs.irq_raise().write(IRQ_RAISE::FACT::SET);
        irq.wait(0, Duration::from_secs(2))
            .map_err(|e| format!("MSI round trip {i}: {e}"))?;
        regs.irq_ack().write(IRQ_ACK::FACT::SET);
    }
    Ok(t.elapsed().as_secs_f64() * 1e6 / f64::from(n))
}

/// [`super::read`] on edu's BAR0 mapped through VFIO (typed reads vs
/// `read_volatile` on that mapping, keys prefixed `vfio_`), plus the
/// mapping's memory kind. A VFIO map and a UIO map are both a
/// `hal_core::Region` of kind `Device` and are read by the same code (one
/// `mov` per read): only the page tables behind them differ. (A sysfs
/// `resource0` map of the same BAR for a side-by-side run is refused while
/// vfio-pci holds the BAR under `CONFIG_IO_STRICT_DEVMEM`.)
pub fn read(iters: u32, rounds: u32) -> Result<String, String> {
    let (_dev, bar0) = open_edu()?;
    Ok(format!(
        "{} vfio_kind={:?}",
        prefixed("vfio", &super::read_on(&bar0, iters, rounds)?),
        bar0.kind()
    ))
}

/// `key=value` pairs with `prefix` and `_` before each key.
pub(super) fn prefixed(prefix: &str, out: &str) -> String {
    out.split_whitespace()
        .map(|kv| format!("{prefix}_{kv}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// [`super::dma`] through the edu driver over VFIO (buffers at IOVAs from
/// `VfioAllocator`, completion by MSI), with keys prefixed `vfio_`.
pub fn dma(n: u32) -> Result<String, String> {
    bind_edu_to_vfio()?;
    let edu = edu_driver::EduVfioDevice::open_auto().map_err(|e| e.to_string())?;
    Ok(prefixed("vfio", &super::dma_with(&edu, n)?))
}
