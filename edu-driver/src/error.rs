//! The driver's error type.

use std::time::Duration;

use pci_sysfs::{PciAddress, PciError, PciId};
use uio_backend::UioError;

use crate::guard::Refusal;

/// Everything that can go wrong while opening or driving an edu device.
///
/// Messages say what failed, on which device, and what to do. Following
/// the workspace's convention, an inner error is part of the message and
/// [`source`](std::error::Error::source) returns `None`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EduError {
    /// More than one edu device is bound to `uio_pci_generic`.
    #[error("{} edu devices are bound to uio_pci_generic ({}); choose one by its PCI address (--device BDF, or EduDevice::open)", candidates.len(), list_addresses(candidates))]
    Ambiguous {
        /// Their PCI addresses.
        candidates: Vec<PciAddress>,
    },
    /// The PCI device at the address given is not an edu.
    #[error("{address} is a {id} device, not an edu ({edu}); give an edu's address, or none to use the only edu bound to {driver}")]
    WrongPciId {
        /// The address given.
        address: PciAddress,
        /// The driver the path in use needs (`uio_pci_generic` for
        /// [`EduDevice`](crate::EduDevice), `vfio-pci` for
        /// [`EduVfioDevice`](crate::EduVfioDevice)).
        driver: &'static str,
        /// Its vendor:device ID.
        id: PciId,
        /// edu's ID.
        edu: PciId,
    },
    /// The edu at the address given is not bound to `uio_pci_generic`.
    #[error("edu {address} is {}, not to uio_pci_generic; bind it as root: modprobe uio_pci_generic && echo uio_pci_generic > /sys/bus/pci/devices/{address}/driver_override && echo {address} > /sys/bus/pci/drivers_probe", match driver { Some(d) => format!("bound to {d}"), None => "bound to no driver".to_string() })]
    NotBound {
        /// The device.
        address: PciAddress,
        /// The driver it is bound to, if any.
        driver: Option<String>,
    },
    /// The identification register does not read as an edu's.
    #[error("not an edu device: ID reads {id:#010x} at {device} (an edu reads 0x010000ed: major 1, magic 0xed); check the PCI address, or the device is not QEMU's edu")]
    NotEdu {
        /// What the device is (PCI address and UIO node).
        device: String,
        /// The ID register's value.
        id: u32,
    },
    /// The liveness register did not invert what was written.
    #[error("not an edu device: the liveness check failed at {device}: wrote {wrote:#010x} to LIVENESS (0x04) and read {read:#010x}, expected {:#010x} (the bitwise inverse); the device does not answer like QEMU's edu", !wrote)]
    LivenessFailed {
        /// The device.
        device: String,
        /// Value written.
        wrote: u32,
        /// Value read back.
        read: u32,
    },
    /// Another driver instance owns the device.
    #[error("edu {address} is in use by another driver instance ({}): {path} is locked; wait for it to finish or stop it", match pid { Some(p) => format!("pid {p}"), None => "pid unknown".to_string() })]
    InUse {
        /// The device.
        address: PciAddress,
        /// The locked file (the device's sysfs config file).
        path: String,
        /// The holder's process ID, when `/proc/locks` shows it.
        pid: Option<u32>,
    },
    /// Taking the ownership lock failed for another reason than "in use".
    #[error("locking {path} for exclusive use of the device: {errno}")]
    Lock {
        /// The lock file (the device's sysfs config file).
        path: String,
        /// The errno (part of the message).
        errno: nix::Error,
    },
    /// A DMA request was refused before the device saw it.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The device did not finish in time.
    #[error("{what} on {device} did not finish within {waited:?} ({last}); the device may be stuck (is QEMU paused?) or the timeout too short for an emulated device")]
    Timeout {
        /// What was waited for.
        what: String,
        /// The device.
        device: String,
        /// How long it was waited for.
        waited: Duration,
        /// The last state seen.
        last: String,
    },
    /// An interrupt arrived, but not the one expected.
    #[error("{device}: an interrupt arrived for {what}, but IRQ_STATUS reads {status:#x} without bit {expected:#x}")]
    WrongInterrupt {
        /// The device.
        device: String,
        /// What was waited for.
        what: &'static str,
        /// IRQ_STATUS as read.
        status: u32,
        /// The bit expected.
        expected: u32,
    },
    /// A DMA round trip brought back other bytes than were sent.
    #[error("DMA round trip on {device} corrupted the data: byte {offset} of {len} came back as {got:#04x}, {sent:#04x} was sent (is Bus Master on? is the buffer below the device's DMA mask?)")]
    Mismatch {
        /// The device.
        device: String,
        /// First differing byte.
        offset: usize,
        /// Length of the transfer.
        len: usize,
        /// Byte sent.
        sent: u8,
        /// Byte received.
        got: u8,
    },
    /// A DMA engine is still running a transfer that this driver did not start.
    #[error("{device}: a DMA transfer is still running (DMA_CMD {cmd:#x}) {waited:?} after the driver asked; another program is using the device's DMA engine (regpoke?)")]
    DmaBusy {
        /// The device.
        device: String,
        /// DMA_CMD as last read.
        cmd: u64,
        /// How long the driver waited.
        waited: Duration,
    },
    /// The mapped BAR cannot hold edu's register block.
    #[error("mapping edu's registers: {error}")]
    Block {
        /// The block error (part of the message).
        error: hal_core::BlockError,
    },
    /// Something about the UIO device failed.
    #[error(transparent)]
    Uio(Box<UioError>),
    /// Something about the VFIO device failed (opening its group, mapping,
    /// interrupts, config space).
    #[error(transparent)]
    Vfio(Box<vfio_backend::VfioError>),
    /// Config space or another PCI sysfs operation failed.
    #[error("{op} of {address}: {error}")]
    Pci {
        /// What was being done.
        op: &'static str,
        /// The device.
        address: String,
        /// The error (part of the message).
        error: Box<PciError>,
    },
    /// DMA memory could not be allocated or described.
    #[error(transparent)]
    Dma(Box<dma_mem::DmaError>),
    /// A bulk copy into or out of a DMA buffer failed.
    #[error("copying {op} a DMA buffer: {error}")]
    Copy {
        /// "into" or "out of".
        op: &'static str,
        /// The access error (part of the message).
        error: hal_core::AccessError,
    },
}

impl From<UioError> for EduError {
    fn from(e: UioError) -> EduError {
        EduError::Uio(Box::new(e))
    }
}

impl From<vfio_backend::VfioError> for EduError {
    fn from(e: vfio_backend::VfioError) -> EduError {
        EduError::Vfio(Box::new(e))
    }
}

impl From<dma_mem::DmaError> for EduError {
    fn from(e: dma_mem::DmaError) -> EduError {
        EduError::Dma(Box::new(e))
    }
}

impl EduError {
    /// A failed PCI sysfs operation `op` on the device at `address`.
    pub fn pci(op: &'static str, address: PciAddress, error: PciError) -> EduError {
        EduError::Pci {
            op,
            address: address.to_string(),
            error: Box::new(error),
        }
    }
}

fn list_addresses(a: &[PciAddress]) -> String {
    a.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl EduError {
    /// Whether this is a refused DMA request (the device saw nothing).
    pub fn is_refused(&self) -> bool {
        matches!(self, EduError::Refused(_))
    }
    /// Whether another instance owns the device.
    pub fn is_in_use(&self) -> bool {
        matches!(self, EduError::InUse { .. })
    }
    /// Whether a wait timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, EduError::Timeout { .. })
            || matches!(self, EduError::Uio(e) if e.is_timeout())
            || matches!(self, EduError::Vfio(e) if e.is_timeout())
    }
}
