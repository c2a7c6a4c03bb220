//! Opening and owning a real edu device over VFIO (bound to `vfio-pci`,
//! behind an IOMMU).

use std::ops::Deref;
use std::time::Duration;

use hal_core::Region;
use nix::errno::Errno;
use pci_sysfs::{regs, PciAddress, PciDevice};
use vfio_backend::{IrqKind, VfioAllocator, VfioDevice, VfioError, VfioIrq};

use crate::device::{find_edu_at, EDU_PCI_ID};
use crate::driver::{Edu, Options, Platform};
use crate::error::EduError;
use crate::lock::OwnerLock;
use crate::owned::OwnedEdu;

/// The kernel driver a device must be bound to for [`EduVfioDevice`]
/// (pci-sysfs's name for it, which `PciDevice::bind_vfio_pci` binds to).
pub use pci_sysfs::VFIO_PCI;

/// The [`Platform`] of an edu bound to `vfio-pci`: its MSI vector as an
/// eventfd and its config space through the VFIO device (for Bus Master).
#[derive(Debug)]
pub struct VfioPlatform {
    // Drop order: the interrupt (disabled through the device) first.
    irq: VfioIrq,
    device: VfioDevice,
}

impl VfioPlatform {
    /// Takes over `device`: turns Bus Master on (without it edu's MSI
    /// writes, like its DMA, are dropped silently) and enables its one MSI
    /// vector.
    pub fn new(device: VfioDevice) -> Result<VfioPlatform, EduError> {
        device.enable_bus_master()?;
        let irq = device.irq(IrqKind::Msi, 1)?;
        Ok(VfioPlatform { irq, device })
    }

    /// The VFIO device.
    pub fn device(&self) -> &VfioDevice {
        &self.device
    }

    /// The enabled MSI vector.
    pub fn irq(&self) -> &VfioIrq {
        &self.irq
    }

    /// Whether Bus Master is on now (read from config space through VFIO).
    pub fn bus_master(&self) -> Result<bool, EduError> {
        let cmd = self.device.config_read16(regs::COMMAND)?;
        Ok(cmd & regs::COMMAND_BUS_MASTER != 0)
    }
}

impl Platform for VfioPlatform {
    /// Nothing to do for MSI (VFIO masks only INTx).
    fn unmask_interrupt(&self) -> Result<(), EduError> {
        Ok(self.irq.unmask()?)
    }
    fn wait_interrupt(&self, timeout: Duration) -> Result<(), EduError> {
        self.irq.wait(0, timeout)?;
        Ok(())
    }
    fn drain_interrupt(&self) -> Result<(), EduError> {
        match self.irq.wait(0, Duration::ZERO) {
            Err(e) if !e.is_timeout() => Err(e.into()),
            _ => Ok(()),
        }
    }
    /// Turns Bus Master on if it is off: one config read through VFIO, and
    /// a write only when the bit was clear.
    fn prepare_dma(&self) -> Result<(), EduError> {
        if !self.bus_master()? {
            self.device.enable_bus_master()?;
        }
        Ok(())
    }
}

/// An edu device bound to `vfio-pci`, owned by this driver instance: the
/// VFIO flavour of [`EduDevice`](crate::EduDevice).
///
/// Opening it ([`open`](Self::open), [`open_auto`](Self::open_auto),
/// [`open_with`](Self::open_with)) takes the same ownership lock as
/// [`EduDevice`](crate::EduDevice) (a second instance gets
/// [`EduError::InUse`]), then opens the device's IOMMU group (a group
/// already open elsewhere is [`EduError::InUse`] too: VFIO allows one
/// open), maps BAR0, checks the device as [`Edu::new`] does, turns Bus
/// Master on and enables one MSI vector.
///
/// DMA buffers come from the device's [`VfioAllocator`]: anonymous memory
/// mapped in the IOMMU at IOVAs below the driver's DMA mask (edu truncates
/// addresses to its mask before the IOMMU sees them, so the mask guard
/// applies to IOVAs as to physical addresses). No pagemap, no root: a user
/// with read-write access to `/dev/vfio/N` can drive the device.
#[derive(Debug)]
pub struct EduVfioDevice {
    // Field order is drop order: the driver (mapping, interrupt, device)
    // first, the lock last.
    edu: Edu<Region, VfioPlatform>,
    alloc: VfioAllocator,
    _lock: OwnerLock,
}

impl EduVfioDevice {
    /// Opens the edu at `address` with the default [`Options`].
    pub fn open(address: PciAddress) -> Result<EduVfioDevice, EduError> {
        EduVfioDevice::open_with(Some(address), Options::default())
    }

    /// Opens the only edu bound to `vfio-pci`, with the default [`Options`].
    pub fn open_auto() -> Result<EduVfioDevice, EduError> {
        EduVfioDevice::open_with(None, Options::default())
    }

    /// Opens the edu at `address` (or the only one bound to `vfio-pci`,
    /// for `None`) with `options`.
    pub fn open_with(
        address: Option<PciAddress>,
        options: Options,
    ) -> Result<EduVfioDevice, EduError> {
        let pci = match address {
            Some(a) => find_at(a)?,
            None => find_only()?,
        };
        let address = pci.address();
        let lock = OwnerLock::acquire(address, &pci.config_path())?;
        let device = VfioDevice::open_pci(&pci).map_err(|e| in_use(address, e))?;
        let region = device.map_region(0)?;
        let alloc = device.dma_allocator(options.dma_mask);
        let name = format!("edu {address} (VFIO group {})", device.group());
        let platform = VfioPlatform::new(device)?;
        let edu = Edu::new(region, platform, options, name)?;
        Ok(EduVfioDevice {
            edu,
            alloc,
            _lock: lock,
        })
    }

    /// The PCI address of the device [`open_auto`](Self::open_auto) would
    /// open, without opening it.
    pub fn find() -> Result<PciAddress, EduError> {
        Ok(find_only()?.address())
    }

    /// The open VFIO device.
    pub fn vfio(&self) -> &VfioDevice {
        self.edu.platform().device()
    }
}

impl OwnedEdu for EduVfioDevice {
    type Platform = VfioPlatform;
    type Allocator = VfioAllocator;
    fn edu(&self) -> &Edu<Region, VfioPlatform> {
        &self.edu
    }
    fn allocator(&self) -> &VfioAllocator {
        &self.alloc
    }
    fn address(&self) -> PciAddress {
        self.vfio().address()
    }
    fn bus_master(&self) -> Result<bool, EduError> {
        self.edu.platform().bus_master()
    }
}

impl Deref for EduVfioDevice {
    type Target = Edu<Region, VfioPlatform>;
    fn deref(&self) -> &Edu<Region, VfioPlatform> {
        &self.edu
    }
}

/// `error`, or [`EduError::InUse`] when it says the IOMMU group is
/// already open (EBUSY: VFIO allows one open of a group).
pub(crate) fn in_use(address: PciAddress, error: VfioError) -> EduError {
    match error {
        VfioError::Open {
            path,
            errno: Errno::EBUSY,
            ..
        } => EduError::InUse {
            address,
            path: path.display().to_string(),
            pid: None,
        },
        e => e.into(),
    }
}

/// The PCI device at `address`, after checking that it is an edu bound to
/// vfio-pci.
fn find_at(address: PciAddress) -> Result<PciDevice, EduError> {
    let pci = find_edu_at(address, VFIO_PCI)?;
    check_bound(&pci)?;
    Ok(pci)
}

fn check_bound(pci: &PciDevice) -> Result<(), EduError> {
    Ok(vfio_backend::check_bound(pci)?)
}

/// The only edu bound to vfio-pci; with none, the error names the driver
/// of an edu that exists (and how to bind it), or says there is no edu.
fn find_only() -> Result<PciDevice, EduError> {
    let all = PciDevice::find_all_by_id(EDU_PCI_ID.vendor, EDU_PCI_ID.device)
        .map_err(|e| EduError::from(VfioError::from(e)))?;
    let mut bound: Vec<PciDevice> = all
        .iter()
        .filter(|p| vfio_backend::is_bound(p))
        .cloned()
        .collect();
    match bound.len() {
        1 => Ok(bound.remove(0)),
        0 => {
            // No edu at all: sysfs's not-found error lists what exists.
            let first = match all.first() {
                Some(p) => p.clone(),
                None => PciDevice::find_by_id(EDU_PCI_ID.vendor, EDU_PCI_ID.device)
                    .map_err(|e| EduError::from(VfioError::from(e)))?,
            };
            check_bound(&first).map(|()| first)
        }
        _ => Err(EduError::Ambiguous {
            candidates: bound.iter().map(PciDevice::address).collect(),
        }),
    }
}
