//! The VFIO benchmarks (run in the VFIO VM: edu bound to vfio-pci behind
//! the emulated intel-iommu). Their UIO counterparts run in the UIO VM of
//! the same `vm-bench` run; `vm-bench` puts them side by side.

use std::time::{Duration, Instant};

use device_specs::edu::{
    self,
    regs::{IRQ_ACK, IRQ_RAISE},
};
use vfio_backend::IrqKind;

use super::{median, ns_per_id_read};
use crate::guest::vfio::{bind_edu_to_vfio, open_edu};
use crate::guest::{map_bar, Backend};
use crate::EDU_IDS;

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
        let t = Instant::now();
        for i in 0..n {
            regs.irq_raise().write(IRQ_RAISE::FACT::SET);
            irq.wait(0, Duration::from_secs(2))
                .map_err(|e| format!("MSI round trip {i}: {e}"))?;
            regs.irq_ack().write(IRQ_ACK::FACT::SET);
        }
        us.push(t.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    Ok(format!(
        "vfio_msi_irq_us={:.2} n={n} rounds={rounds}",
        median(us)
    ))
}

/// edu ID reads through the generated block over edu's BAR0 mapped by
/// VFIO vs the same BAR mapped through sysfs `resource0` (what a UIO map
/// is too: the BAR's physical pages mapped uncached), alternating rounds
/// in one process, in ns per read. Both are a `hal_core::Region` read by
/// the one function [`ns_per_id_read`]`::<Region>`: the same load
/// instruction, only the mapping differs.
pub fn read(iters: u32, rounds: u32) -> Result<String, String> {
    let (_dev, vfio) = open_edu()?;
    let sysfs = map_bar(EDU_IDS, 0, Backend::Sysfs)?;
    let (v_regs, s_regs) = (
        edu::Regs::new(&vfio).map_err(|e| e.to_string())?,
        edu::Regs::new(&sysfs).map_err(|e| e.to_string())?,
    );
    let (mut v, mut s) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        v.push(ns_per_id_read(v_regs, iters));
        s.push(ns_per_id_read(s_regs, iters));
    }
    let (v, s) = (median(v), median(s));
    Ok(format!(
        "vfio_read_ns={v:.2} sysfs_read_ns={s:.2} vfio_over_sysfs={:.3} vfio_kind={:?} sysfs_kind={:?} iters={iters} rounds={rounds}",
        v / s,
        vfio.kind(),
        sysfs.kind()
    ))
}

/// [`super::dma`] through the edu driver over VFIO (buffers at IOVAs from
/// `VfioAllocator`, completion by MSI), with keys prefixed `vfio_`.
pub fn dma(n: u32) -> Result<String, String> {
    bind_edu_to_vfio()?;
    let edu = edu_driver::EduVfioDevice::open_auto().map_err(|e| e.to_string())?;
    Ok(super::dma_with(&edu, n)?
        .split_whitespace()
        .map(|kv| format!("vfio_{kv}"))
        .collect::<Vec<_>>()
        .join(" "))
}
