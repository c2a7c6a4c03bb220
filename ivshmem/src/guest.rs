//! The guest side of ivshmem-doorbell over VFIO: inside a VM whose
//! `ivshmem-doorbell` device (1af4:1110) is bound to `vfio-pci`, a
//! [`GuestDevice`] reads its own peer ID, rings other peers through BAR0's
//! `DOORBELL` register, maps the shared memory (BAR2) as a
//! [`hal_core::Region`], and *receives* doorbells: each MSI-X vector
//! signals its own eventfd ([`GuestDevice::wait`], [`GuestDevice::vector_fd`]).
//!
//! `uio_pci_generic` cannot do the last part (it knows only INTx, and
//! ivshmem-doorbell signals only by MSI-X), so a guest over UIO has to poll
//! the shared memory; over VFIO it sleeps until rung.
//!
//! ```no_run
//! use std::time::Duration;
//! use ivshmem::guest::GuestDevice;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut dev = GuestDevice::open_first(2)?; // vectors 0 and 1
//! println!("I am peer {}", dev.id());
//! dev.ring(0, 1)?;                            // peer 0's vector 1
//! if dev.wait(0, Some(Duration::from_secs(1)))? > 0 {
//!     // our vector 0 was rung: look at dev.memory()
//! }
//! # Ok(()) }
//! ```
//!
//! Opening enables Bus Master (MSI-X messages are dropped without it) and
//! MSI-X vectors `0..vectors`, as many as the ivshmem server gives each
//! peer (QEMU's `vectors=` option; at most what the device reports).

use std::os::fd::BorrowedFd;
use std::time::Duration;

use device_specs::ivshmem::regs::{Regs, DOORBELL};
use hal_core::prelude::*;
use hal_core::Region;
use pci_sysfs::{PciAddress, PciDevice};
use vfio_backend::{IrqKind, VfioDevice, VfioError, VfioIrq};

/// ivshmem's PCI vendor and device ID (plain and doorbell alike).
pub const PCI_ID: (u16, u16) = (0x1af4, 0x1110);

/// What went wrong on the guest side.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    /// Opening the device, mapping a BAR or an interrupt call failed
    /// (the message says what to do, e.g. bind to vfio-pci).
    #[error(transparent)]
    Vfio(#[from] VfioError),
    /// The device has no MSI-X vectors: it is `ivshmem-plain`.
    #[error("{device} has no MSI-X vectors: it is ivshmem-plain, which has no doorbells (start QEMU with -device ivshmem-doorbell,chardev=... and an ivshmem server)")]
    NoDoorbell {
        /// The PCI address.
        device: String,
    },
    /// BAR0 is too small for ivshmem's registers.
    #[error("{device} BAR0: {error} (is this an ivshmem device?)")]
    Registers {
        /// The PCI address.
        device: String,
        /// The error.
        error: hal_core::BlockError,
    },
    /// `IV_POSITION` holds no peer ID: the device is not connected to a
    /// server yet or is not ivshmem.
    #[error("{device}: IV_POSITION reads {value:#x}, not a peer ID (0 to 65535)")]
    BadPosition {
        /// The PCI address.
        device: String,
        /// What it read.
        value: u32,
    },
    /// A vector number that the `DOORBELL` register cannot carry.
    #[error("vector {vector} cannot be rung: the DOORBELL register carries vectors 0 to 65535")]
    VectorTooLarge {
        /// The vector asked for.
        vector: u32,
    },
}

/// An ivshmem-doorbell device bound to vfio-pci, seen from its guest.
#[derive(Debug)]
pub struct GuestDevice {
    // Field order is drop order: interrupts off before the device closes.
    irq: VfioIrq,
    bar0: Region,
    memory: Region,
    device: VfioDevice,
    id: u16,
}

impl GuestDevice {
    /// Opens the device at `address` with MSI-X vectors `0..vectors`.
    pub fn open(address: PciAddress, vectors: u32) -> Result<GuestDevice, GuestError> {
        GuestDevice::from_vfio(VfioDevice::open(address)?, vectors)
    }

    /// Opens the first ivshmem device ([`PCI_ID`]) with MSI-X vectors
    /// `0..vectors`.
    pub fn open_first(vectors: u32) -> Result<GuestDevice, GuestError> {
        GuestDevice::from_vfio(VfioDevice::open_by_id(PCI_ID.0, PCI_ID.1)?, vectors)
    }

    /// Opens `pci` (found with `pci-sysfs`) with MSI-X vectors `0..vectors`.
    pub fn open_pci(pci: &PciDevice, vectors: u32) -> Result<GuestDevice, GuestError> {
        GuestDevice::from_vfio(VfioDevice::open_pci(pci)?, vectors)
    }

    /// Takes over an opened VFIO device: Bus Master on, BAR0 and BAR2
    /// mapped, the peer ID read, MSI-X vectors `0..vectors` enabled.
    pub fn from_vfio(device: VfioDevice, vectors: u32) -> Result<GuestDevice, GuestError> {
        let name = device.address().to_string();
        if device.irq_count(IrqKind::Msix)? == 0 {
            return Err(GuestError::NoDoorbell { device: name });
        }
        let mut bar0 = device.map_region(0)?;
        let value = Regs::new(&mut bar0)
            .map_err(|error| GuestError::Registers {
                device: name.clone(),
                error,
            })?
            .iv_position()
            .get();
        let id = u16::try_from(value).map_err(|_| GuestError::BadPosition {
            device: name.clone(),
            value,
        })?;
        let memory = device.map_region(2)?;
        // MSI-X messages are memory writes by the device: without Bus
        // Master QEMU drops them silently.
        device.enable_bus_master()?;
        let irq = device.irq(IrqKind::Msix, vectors)?;
        Ok(GuestDevice {
            irq,
            bar0,
            memory,
            device,
            id,
        })
    }

    /// This VM's peer ID (`IV_POSITION`, read when opened).
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The number of MSI-X vectors enabled.
    pub fn vectors(&self) -> u32 {
        self.irq.count()
    }

    /// The shared memory (BAR2), the same bytes the server and every peer
    /// map.
    pub fn memory(&self) -> &Region {
        &self.memory
    }

    /// The VFIO device underneath (config space, region information).
    pub fn device(&self) -> &VfioDevice {
        &self.device
    }

    /// Rings `peer`'s `vector` through the `DOORBELL` register (the peer may
    /// be this VM itself). The device drops a ring for a peer or vector
    /// that does not exist, without an error: the register has no status.
    pub fn ring(&mut self, peer: u16, vector: u32) -> Result<(), GuestError> {
        let vector16 = u16::try_from(vector).map_err(|_| GuestError::VectorTooLarge { vector })?;
        let regs = Regs::new(&mut self.bar0).map_err(|error| GuestError::Registers {
            device: self.device.address().to_string(),
            error,
        })?;
        regs.doorbell()
            .write(DOORBELL::PEER.val(u32::from(peer)) + DOORBELL::VECTOR.val(u32::from(vector16)));
        Ok(())
    }

    /// Waits until this VM's `vector` is rung, at most `timeout` (`None`:
    /// forever), and returns how many interrupts arrived since the last
    /// wait (several rings may arrive as one interrupt count); 0 on
    /// timeout.
    pub fn wait(&self, vector: u32, timeout: Option<Duration>) -> Result<u64, GuestError> {
        match self.irq.wait(vector, timeout.unwrap_or(Duration::MAX)) {
            Ok(n) => Ok(n),
            Err(e) if e.is_timeout() => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// The eventfd of `vector`, for an event loop (readable when rung; read
    /// 8 bytes to consume the count).
    pub fn vector_fd(&self, vector: u32) -> Result<BorrowedFd<'_>, GuestError> {
        Ok(self.irq.fd(vector)?)
    }
}

impl crate::Doorbell for GuestDevice {
    type Error = GuestError;

    fn id(&self) -> u16 {
        self.id
    }

    fn ring(&mut self, peer: u16, vector: u32) -> Result<(), GuestError> {
        GuestDevice::ring(self, peer, vector)
    }

    fn wait(&mut self, vector: u32, timeout: Option<Duration>) -> Result<bool, GuestError> {
        GuestDevice::wait(self, vector, timeout).map(|n| n > 0)
    }
}
