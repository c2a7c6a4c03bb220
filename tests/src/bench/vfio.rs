//! The VFIO side of the loops that [`super::vfio_uio`] runs against UIO in
//! one VM (edu #1 bound to vfio-pci behind the emulated intel-iommu, edu #2
//! to uio_pci_generic): what `vm-bench`'s `vfio` part reports.

use std::time::{Duration, Instant};

use device_specs::edu::{
    self,
    regs::{IRQ_ACK, IRQ_RAISE},
};
use vfio_backend::VfioIrq;

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

/// `key=value` pairs with `prefix` and `_` before each key.
pub(super) fn prefixed(prefix: &str, out: &str) -> String {
    out.split_whitespace()
        .map(|kv| format!("{prefix}_{kv}"))
        .collect::<Vec<_>>()
        .join(" ")
}
