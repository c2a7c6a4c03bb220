//! Finding, opening and owning a real edu device over UIO.

use std::ops::Deref;

use dma_mem::{DmaAllocator, DmaBuffer, PagemapAllocator};
use hal_core::Region;
use pci_sysfs::{PciAddress, PciDevice, PciId, UIO_PCI_GENERIC};
use uio_backend::{Irq, UioDevice, UioInfo, UioScan, UioSelector};

use crate::driver::{Edu, Options, RoundTrip, Wait};
use crate::error::EduError;
use crate::lock::OwnerLock;

/// edu's PCI vendor:device ID, `1234:11e8`.
pub const EDU_PCI_ID: PciId = PciId::new(
    device_specs::edu::PCI_VENDOR_ID,
    device_specs::edu::PCI_DEVICE_ID,
);

/// An edu device bound to `uio_pci_generic`, owned by this driver instance.
///
/// Opening it ([`open`](Self::open), [`open_auto`](Self::open_auto),
/// [`open_with`](Self::open_with)):
///
/// 1. finds the device's UIO node and opens it;
/// 2. locks it for exclusive use (a second instance gets
///    [`EduError::InUse`] with the holder's pid; see [`crate::lock`]),
///    before any register access;
/// 3. maps BAR0, checks the identification and liveness registers
///    ([`EduError::NotEdu`], [`EduError::LivenessFailed`]), acknowledges
///    stale interrupt state and unmasks the interrupt;
/// 4. turns Bus Master on (PCI COMMAND bit 2, through sysfs config
///    space): without it QEMU's DMA reads zeros and drops writes while
///    still reporting completion. uio_pci_generic never sets it and clears
///    it at the last close of `/dev/uioN`, so every open sets it again.
///
/// All operations are those of [`Edu`], reached through `Deref`:
/// `edu.factorial(10, Wait::Interrupt)`, `edu.copy_to_device(…)`.
/// Dropping the value releases the lock; the process's last close of the
/// node then clears Bus Master.
#[derive(Debug)]
pub struct EduDevice {
    // Field order is drop order: the driver (and its mapping) first, the
    // lock last.
    edu: Edu<Region, Irq>,
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
        let info = match address {
            Some(a) => find_at(a)?,
            None => find_only()?,
        };
        let address = info.pci_address().ok_or_else(|| EduError::NotFound {
            id: EDU_PCI_ID,
            found: format!("{} has no parent PCI device", info.device_name()),
        })?;
        let uio = UioDevice::open(&info)?;
        let lock = OwnerLock::acquire(&uio, address)?;
        let region = uio.map(0)?;
        let irq = uio.irq()?;
        let name = format!("edu {address} ({})", uio.name());
        let edu = Edu::new(region, irq, options, name)?;
        let pci = uio.pci()?;
        pci.set_bus_master(true).map_err(|error| EduError::Pci {
            op: "turning Bus Master on (COMMAND |= 0x4) for DMA",
            address: address.to_string(),
            error,
        })?;
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
        let info = find_only()?;
        info.pci_address().ok_or_else(|| EduError::NotFound {
            id: EDU_PCI_ID,
            found: format!("{} has no parent PCI device", info.device_name()),
        })
    }

    /// The device's PCI address.
    pub fn address(&self) -> PciAddress {
        self.address
    }

    /// The open UIO device.
    pub fn uio(&self) -> &UioDevice {
        &self.uio
    }

    /// Whether Bus Master is on now (read from config space).
    pub fn bus_master(&self) -> Result<bool, EduError> {
        let pci = self.uio.pci()?;
        pci.bus_master().map_err(|error| EduError::Pci {
            op: "reading COMMAND",
            address: self.address.to_string(),
            error,
        })
    }

    /// Allocates `len` bytes of DMA memory below the driver's DMA mask.
    pub fn alloc(&self, len: usize) -> Result<DmaBuffer, EduError> {
        Ok(self.alloc.alloc(len)?)
    }

    /// The driver's DMA allocator (below its DMA mask).
    pub fn allocator(&self) -> &PagemapAllocator {
        &self.alloc
    }

    /// [`Edu::dma_round_trip_with`] with buffers from the driver's
    /// allocator: `data` (1 to 4095 bytes) goes RAM → edu → another RAM
    /// page and is compared byte for byte.
    pub fn dma_round_trip(&self, data: &[u8], wait: Wait) -> Result<RoundTrip, EduError> {
        self.edu.dma_round_trip_with(&self.alloc, data, wait)
    }
}

impl Deref for EduDevice {
    type Target = Edu<Region, Irq>;
    fn deref(&self) -> &Edu<Region, Irq> {
        &self.edu
    }
}

/// The UIO device of the edu at `address`, after checking that it is an
/// edu and bound to uio_pci_generic.
fn find_at(address: PciAddress) -> Result<UioInfo, EduError> {
    let pci = PciDevice::find_by_address(address).map_err(|error| EduError::Pci {
        op: "finding the PCI device",
        address: address.to_string(),
        error,
    })?;
    if pci.id() != EDU_PCI_ID {
        return Err(EduError::WrongPciId {
            address,
            id: pci.id(),
            edu: EDU_PCI_ID,
            hint: describe_edus(),
        });
    }
    if pci.driver() != Some(UIO_PCI_GENERIC) {
        return Err(EduError::NotBound {
            address,
            driver: pci.driver().map(str::to_string),
        });
    }
    Ok(UioScan::system().find(&UioSelector::PciAddress(address))?)
}

/// The only edu bound to uio_pci_generic.
fn find_only() -> Result<UioInfo, EduError> {
    let mut edus: Vec<UioInfo> = UioScan::system()
        .list()?
        .into_iter()
        .filter(|i| i.pci_id() == Some(EDU_PCI_ID))
        .collect();
    match edus.len() {
        0 => Err(EduError::NotFound {
            id: EDU_PCI_ID,
            found: describe_edus(),
        }),
        1 => Ok(edus.remove(0)),
        _ => Err(EduError::Ambiguous {
            candidates: edus.iter().filter_map(UioInfo::pci_address).collect(),
        }),
    }
}

/// What edu devices exist and which drivers they have, for messages.
fn describe_edus() -> String {
    match PciDevice::find_all_by_id(EDU_PCI_ID.vendor, EDU_PCI_ID.device) {
        Ok(all) => {
            let list: Vec<String> = all
                .iter()
                .map(|d| match d.driver() {
                    Some(drv) => format!("{} (bound to {drv})", d.address()),
                    None => format!("{} (no driver)", d.address()),
                })
                .collect();
            format!(
                "edu devices present: {}; bind one to uio_pci_generic as root (modprobe uio_pci_generic; echo uio_pci_generic > /sys/bus/pci/devices/BDF/driver_override; echo BDF > /sys/bus/pci/drivers_probe)",
                list.join(", ")
            )
        }
        Err(e) if e.is_not_found() => {
            format!("no PCI device {EDU_PCI_ID} exists at all (start QEMU with -device edu)")
        }
        Err(e) => format!("listing PCI devices failed: {e}"),
    }
}
