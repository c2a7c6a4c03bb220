//! The VFIO backend: a PCI device bound to `vfio-pci`, its BAR mapped
//! through its IOMMU group (`vfio-backend`), its interrupts as eventfds.
//!
//! `--vfio` selects it explicitly; with a spec and no selector it is chosen
//! when the device found is bound to vfio-pci (and then it is the only
//! candidate: a VFIO group is opened by one process at a time, and mapping
//! the BAR through sysfs behind its owner's back is what `--pci` is for).

use std::sync::Arc;
use std::time::Duration;

use pci_sysfs::{PciDevice, Sysfs};
use vfio_backend::{IrqKind, VfioDevice, VfioError, VfioIrq};

use crate::backend::{BackendInfo, Log, Mapped};
use crate::error::{Error, Result};
use crate::irqchoice::{self, Available, Chosen, IrqChoice};
use crate::lock::LockBase;

/// Whether `dev` is bound to vfio-pci (the automatic choice's test).
pub fn bound(dev: &PciDevice) -> bool {
    vfio_backend::is_bound(dev)
}

/// Refuses a device that is not bound to vfio-pci, saying how to bind it
/// (vfio-backend's check and message, so both exist once).
pub fn check_bound(dev: &PciDevice) -> Result<()> {
    vfio_backend::check_bound(dev).map_err(vfio_err)
}

/// A VFIO error as regpoke's: a device failure whose message already says
/// what to do (bind, permissions of `/dev/vfio/N`, group in use).
pub fn vfio_err(e: VfioError) -> Error {
    Error::device(e.to_string())
}

/// `vfio 0000:00:03.0 BAR0`: how `-v` and `list` name this backend.
pub fn describe(info: &BackendInfo) -> String {
    format!(
        "vfio {} BAR{}",
        info.pci.as_deref().unwrap_or("?"),
        info.bar
            .map(|b| b.to_string())
            .unwrap_or_else(|| "?".into())
    )
}

/// What mapping `bar` of `dev` through VFIO would be, without opening
/// anything: `path` is the group node (`/dev/vfio/N`, `?` when the device
/// has no IOMMU group).
pub fn plan(sysfs: &Sysfs, dev: &PciDevice, bar: u8) -> Option<BackendInfo> {
    let res = dev.bar(bar as usize)?;
    let group = vfio_backend::iommu_group_of(dev)
        .map(|g| g.to_string())
        .unwrap_or_else(|_| "?".into());
    Some(BackendInfo {
        kind: "vfio",
        path: sysfs
            .dev_dir()
            .join("vfio")
            .join(group)
            .display()
            .to_string(),
        pci: Some(dev.address().to_string()),
        bar: Some(bar),
        map: None,
        phys: Some(res.start),
        len: res.len(),
    })
}

/// Opens `dev` through VFIO and maps `bar` whole (VFIO maps a region
/// entire); `why` is the reason given at `-v`.
pub fn map(dev: &PciDevice, bar: u8, why: &str, log: Log) -> Result<Mapped> {
    check_bound(dev)?;
    let vfio = VfioDevice::open_pci(dev).map_err(vfio_err)?;
    let region = vfio.map_region(u32::from(bar)).map_err(vfio_err)?;
    let start = dev.bar(bar as usize).map(|r| r.start).unwrap_or(0);
    let info = BackendInfo {
        kind: "vfio",
        path: format!("/dev/vfio/{}", vfio.group()),
        pci: Some(dev.address().to_string()),
        bar: Some(bar),
        map: None,
        phys: Some(start),
        len: region.len() as u64,
    };
    log.info(|| {
        format!(
            "backend {} via {} ({why}; {:#x} bytes)",
            describe(&info),
            info.path,
            region.len()
        )
    });
    Ok(Mapped {
        region: region.into(),
        info,
        lock_base: LockBase::Phys(start),
        uio: None,
        vfio: Some(Arc::new(vfio)),
    })
}

/// A device's interrupts through VFIO: the kind and vector
/// [`irqchoice::choose`] picks (automatically MSI, else MSI-X, else INTx),
/// with Bus Master enabled for MSI and MSI-X (without it their messages
/// are lost). INTx is masked by VFIO when it fires until
/// [`enable`](Self::enable) unmasks it. For MSI and MSI-X vectors 0 to
/// the chosen one are enabled (a device may signal any of them) and the
/// chosen one is waited on. The count is this process's: VFIO delivers
/// interrupts only while its eventfds are registered, so interrupts
/// before that are not seen.
pub struct VfioInterrupts {
    irq: VfioIrq,
    chosen: Chosen,
    // Keeps the device (and its group) open as long as the interrupts.
    _dev: Arc<VfioDevice>,
    count: u32,
}

/// The vectors `dev` has of each kind.
fn available(dev: &VfioDevice) -> Result<Available> {
    Ok(Available {
        intx: dev.irq_count(IrqKind::Intx).map_err(vfio_err)?,
        msi: dev.irq_count(IrqKind::Msi).map_err(vfio_err)?,
        msix: dev.irq_count(IrqKind::Msix).map_err(vfio_err)?,
    })
}

impl VfioInterrupts {
    /// Registers the eventfds of the interrupt `want` asks for.
    pub fn open(dev: Arc<VfioDevice>, want: &IrqChoice, log: Log) -> Result<VfioInterrupts> {
        let have = available(&dev)?;
        let chosen = irqchoice::choose(&format!("vfio {}", dev.address()), &have, want)?;
        let irq = if chosen.kind == IrqKind::Intx {
            dev.irq(IrqKind::Intx, 1).map_err(vfio_err)?
        } else {
            dev.enable_bus_master().map_err(vfio_err)?;
            dev.irq(chosen.kind, chosen.vector + 1).map_err(vfio_err)?
        };
        log.info(|| {
            format!(
                "interrupts through vfio {} {chosen} ({}; the device has {have}){}",
                dev.address(),
                if chosen.automatic {
                    "automatic choice: MSI, else MSI-X, else INTx"
                } else {
                    "--irq-kind"
                },
                match chosen.kind {
                    IrqKind::Intx => "; unmasked by irq enable/ack".to_owned(),
                    _ => format!(
                        "; vectors 0 to {} enabled, Bus Master enabled",
                        chosen.vector
                    ),
                }
            )
        });
        Ok(VfioInterrupts {
            irq,
            chosen,
            _dev: dev,
            count: 0,
        })
    }

    /// The kind and vector in use.
    pub fn chosen(&self) -> Chosen {
        self.chosen
    }

    /// Unmasks INTx (a no-op for MSI, which is never masked).
    pub fn enable(&self) -> Result<()> {
        self.irq.unmask().map_err(vfio_err)
    }

    /// Interrupts received by this process so far (pending ones included).
    pub fn count(&mut self) -> Result<u32> {
        self.wait(Some(Duration::ZERO))?;
        Ok(self.count)
    }

    /// Waits up to `timeout` (`None`: forever); `Some((count, missed))`
    /// with this process's cumulative count and the interrupts that
    /// arrived beyond the one waited for, `None` on timeout.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Option<(u32, u32)>> {
        match self
            .irq
            .wait(self.chosen.vector, timeout.unwrap_or(Duration::MAX))
        {
            Ok(n) => {
                let n = u32::try_from(n).unwrap_or(u32::MAX);
                self.count = self.count.wrapping_add(n);
                Ok(Some((self.count, n.saturating_sub(1))))
            }
            Err(e) if e.is_timeout() => Ok(None),
            Err(e) => Err(vfio_err(e)),
        }
    }
}
