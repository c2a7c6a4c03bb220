//! Finding, opening and owning a real edu device over UIO.

use std::ops::Deref;
use std::time::Duration;

use dma_mem::PagemapAllocator;
use hal_core::Region;
use pci_sysfs::{ConfigSpace, PciAddress, PciDevice, PciId, UIO_PCI_GENERIC};
use uio_backend::{Irq, UioDevice, UioError, UioInfo, UioScan, UioSelector};

use crate::driver::{Edu, Options, Platform};
use crate::error::EduError;
use crate::lock::OwnerLock;
use crate::owned::OwnedEdu;

/// edu's PCI vendor:device ID, `1234:11e8`.
pub const EDU_PCI_ID: PciId = PciId::new(
    device_specs::edu::PCI_VENDOR_ID,
    device_specs::edu::PCI_DEVICE_ID,
);

/// The [`Platform`] of an edu bound to `uio_pci_generic`: its UIO
/// interrupt and its PCI config space (for Bus Master).
#[derive(Debug)]
pub struct UioPlatform {
    irq: Irq,
    config: ConfigSpace,
    address: PciAddress,
}

impl UioPlatform {
    /// The platform of `uio`: its interrupt handle and its PCI device's
    /// config space, opened read-write (needs root).
    pub fn new(uio: &UioDevice) -> Result<UioPlatform, EduError> {
        let irq = uio.irq()?;
        let pci = uio.pci()?;
        let address = pci.address();
        let config = pci.config_rw().map_err(|error| {
            EduError::pci(
                "opening config space read-write (for Bus Master)",
                address,
                error,
            )
        })?;
        Ok(UioPlatform {
            irq,
            config,
            address,
        })
    }

    /// The UIO interrupt handle.
    pub fn irq(&self) -> &Irq {
        &self.irq
    }

    /// Whether Bus Master is on now (read from config space).
    pub fn bus_master(&self) -> Result<bool, EduError> {
        self.config
            .bus_master()
            .map_err(|error| EduError::pci("reading COMMAND", self.address, error))
    }
}

impl Platform for UioPlatform {
    fn unmask_interrupt(&self) -> Result<(), EduError> {
        Ok(self.irq.enable()?)
    }
    fn wait_interrupt(&self, timeout: Duration) -> Result<(), EduError> {
        Ok(self.irq.wait(timeout).map(|_| ())?)
    }
    fn drain_interrupt(&self) -> Result<(), EduError> {
        self.irq.try_wait(Some(Duration::ZERO))?;
        Ok(())
    }
    /// Turns Bus Master (PCI COMMAND bit 2) on if it is off: one config
    /// read, and a one-byte write only when the bit was clear.
    fn prepare_dma(&self) -> Result<(), EduError> {
        self.config.set_bus_master(true).map_err(|error| {
            EduError::pci(
                "turning Bus Master on (COMMAND |= 0x4) for DMA",
                self.address,
                error,
            )
        })
    }
}

/// An edu device bound to `uio_pci_generic`, owned by this driver instance.
///
/// Opening it ([`open`](Self::open), [`open_auto`](Self::open_auto),
/// [`open_with`](Self::open_with)):
///
/// 1. finds the device and locks it for exclusive use (a second instance
///    gets [`EduError::InUse`] with the holder's pid; see [`crate::lock`])
///    before opening its UIO node or touching a register;
/// 2. opens the UIO node;
/// 3. maps BAR0, checks the identification and liveness registers
///    ([`EduError::NotEdu`], [`EduError::LivenessFailed`]), acknowledges
///    stale interrupt state and unmasks the interrupt;
/// 4. turns Bus Master on (PCI COMMAND bit 2, through sysfs config
///    space): without it QEMU's DMA reads zeros and drops writes while
///    still reporting completion. uio_pci_generic never sets it and clears
///    it whenever an open file of `/dev/uioN` is closed, so the driver
///    also checks it before every DMA leg.
///
/// All operations are those of [`Edu`], reached through `Deref`:
/// `edu.factorial(10, Wait::Interrupt)`, `edu.copy_to_device(…)`.
/// Dropping the value releases the lock; the process's last close of the
/// node then clears Bus Master.
#[derive(Debug)]
pub struct EduDevice {
    // Field order is drop order: the driver (and its mapping) first, the
    // lock last.
    edu: Edu<Region, UioPlatform>,
    uio: UioDevice,
    address: PciAddress,
    alloc: PagemapAllocator,
    _lock: OwnerLock,
}

impl EduDevice {
    /// Opens the edu at `address` with the default [`Options`] (28-bit
    /// DMA mask, 5 s timeout).
    pub fn open(address: PciAddress) -> Result<EduDevice, EduError> {
        EduDevice::open_with(Some(address), Options::default())
    }

    /// Opens the only edu bound to `uio_pci_generic`, with the default
    /// [`Options`]; a clear error listing what exists when there is none
    /// or more than one.
    pub fn open_auto() -> Result<EduDevice, EduError> {
        EduDevice::open_with(None, Options::default())
    }

    /// Opens the edu at `address` (or the only one, for `None`) with
    /// `options`.
    pub fn open_with(address: Option<PciAddress>, options: Options) -> Result<EduDevice, EduError> {
        let (info, pci) = match address {
            Some(a) => find_at(a)?,
            None => find_only()?,
        };
        let address = pci.address();
        let lock = OwnerLock::acquire(address, &pci.config_path())?;
        let uio = UioDevice::open_with_pci(&info, pci)?;
        let region = uio.map(0)?;
        let platform = UioPlatform::new(&uio)?;
        let name = format!("edu {address} ({})", uio.name());
        let edu = Edu::new(region, platform, options, name)?;
        edu.platform().prepare_dma()?;
        Ok(EduDevice {
            edu,
            uio,
            address,
            alloc: PagemapAllocator::new(options.dma_mask),
            _lock: lock,
        })
    }

    /// The PCI address of the device [`open_auto`](Self::open_auto) would
    /// open, without opening it.
    pub fn find() -> Result<PciAddress, EduError> {
        Ok(find_only()?.1.address())
    }

    /// The open UIO device.
    pub fn uio(&self) -> &UioDevice {
        &self.uio
    }
}

impl OwnedEdu for EduDevice {
    type Platform = UioPlatform;
    type Allocator = PagemapAllocator;
    fn edu(&self) -> &Edu<Region, UioPlatform> {
        &self.edu
    }
    fn allocator(&self) -> &PagemapAllocator {
        &self.alloc
    }
    fn address(&self) -> PciAddress {
        self.address
    }
    fn bus_master(&self) -> Result<bool, EduError> {
        self.edu.platform().bus_master()
    }
}

impl Deref for EduDevice {
    type Target = Edu<Region, UioPlatform>;
    fn deref(&self) -> &Edu<Region, UioPlatform> {
        &self.edu
    }
}

/// The PCI device at `address`, after checking that it is an edu (any
/// driver; `driver` is the one the caller's path needs, for the error).
pub(crate) fn find_edu_at(
    address: PciAddress,
    driver: &'static str,
) -> Result<PciDevice, EduError> {
    let pci = PciDevice::find_by_address(address)
        .map_err(|error| EduError::pci("finding the PCI device", address, error))?;
    if pci.id() != EDU_PCI_ID {
        return Err(EduError::WrongPciId {
            address,
            driver,
            id: pci.id(),
            edu: EDU_PCI_ID,
        });
    }
    Ok(pci)
}

/// The UIO device and the PCI device of the edu at `address`, after
/// checking that it is an edu and bound to uio_pci_generic.
fn find_at(address: PciAddress) -> Result<(UioInfo, PciDevice), EduError> {
    let pci = find_edu_at(address, UIO_PCI_GENERIC)?;
    if pci.driver() != Some(UIO_PCI_GENERIC) {
        return Err(EduError::NotBound {
            address,
            driver: pci.driver().map(str::to_string),
        });
    }
    let info = UioScan::system().find(&UioSelector::PciAddress(address))?;
    Ok((info, pci))
}

/// The only edu bound to uio_pci_generic: its UIO and PCI devices.
///
/// With none, uio-backend's not-found error says which UIO devices exist
/// and which driver each edu PCI device is bound to, and how to bind it.
fn find_only() -> Result<(UioInfo, PciDevice), EduError> {
    let scan = UioScan::system();
    let mut edus: Vec<UioInfo> = scan
        .list()?
        .into_iter()
        .filter(|i| i.pci_id() == Some(EDU_PCI_ID))
        .collect();
    if edus.is_empty() {
        edus.push(scan.find(&UioSelector::PciId(EDU_PCI_ID))?);
    }
    if edus.len() > 1 {
        return Err(EduError::Ambiguous {
            candidates: edus.iter().filter_map(UioInfo::pci_address).collect(),
        });
    }
    let info = edus.remove(0);
    let Some(address) = info.pci_address() else {
        return Err(UioError::NotPci {
            device: info.device_name(),
            driver: info.name().to_string(),
        }
        .into());
    };
    let pci = info
        .sysfs()
        .pci_device(address)
        .map_err(|error| EduError::pci("reading the PCI device", address, error))?;
    Ok((info, pci))
}
