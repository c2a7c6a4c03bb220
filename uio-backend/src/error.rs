//! The error type of this crate.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use pci_sysfs::{PciAddress, PciError, PciId};

/// Everything that can go wrong while finding, mapping or waiting on a UIO device.
///
/// Messages name the operation and the device (`uio0`, `/dev/uio0`, the PCI
/// address) and say how to fix the problem where that is known.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UioError {
    /// `/sys` is not mounted: libudev would silently find nothing.
    #[error("{path} is missing or empty: sysfs is not mounted, so no UIO device can be found (mount it with `mount -t sysfs sysfs {path}`)")]
    SysfsNotMounted {
        /// The directory where sysfs was expected.
        path: PathBuf,
    },
    /// libudev failed.
    #[error("enumerating UIO devices with libudev ({op}): {error}")]
    Udev {
        /// Which libudev call failed.
        op: &'static str,
        /// The error libudev returned (part of the message, not a
        /// [`source`](std::error::Error::source)).
        error: io::Error,
    },
    /// A sysfs file or directory could not be read.
    #[error("{op} {path}: {error}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error (part of the message, not a
        /// [`source`](std::error::Error::source)).
        error: io::Error,
    },
    /// A sysfs attribute did not have the expected format.
    #[error("parsing {path}: {content:?} is not {expected}")]
    Parse {
        /// The attribute file.
        path: PathBuf,
        /// Its content (trimmed).
        content: String,
        /// What was expected.
        expected: &'static str,
    },
    /// An empty device selector.
    #[error("empty UIO device selector: give a number (0, uio0, /dev/uio0), a PCI address (0000:00:04.0), a PCI ID (1234:11e8) or a UIO name")]
    EmptySelector,
    /// No UIO device matched.
    #[error("no UIO device {wanted}; {available}{hint}")]
    NotFound {
        /// What was looked for.
        wanted: String,
        /// The UIO devices that exist.
        available: UioList,
        /// Extra advice starting with "; " (may be empty).
        hint: String,
    },
    /// Opening the device node failed.
    #[error("opening {path} read-write: {errno}{hint}")]
    Open {
        /// The device node.
        path: PathBuf,
        /// Advice starting with "; " (may be empty).
        hint: String,
        /// The errno (part of the message, not a
        /// [`source`](std::error::Error::source)).
        errno: nix::Error,
    },
    /// The device has no map with this index.
    #[error("{device} has no map{map}: {available}{hint}")]
    NoSuchMap {
        /// `uioN`.
        device: String,
        /// The map index asked for.
        map: usize,
        /// The maps that exist.
        available: String,
        /// Advice starting with "; " (may be empty).
        hint: String,
    },
    /// A map's sysfs description is inconsistent (offset beyond size).
    #[error("{device} map{map}: offset {offset:#x} is not inside the map's size {size:#x}")]
    BadMap {
        /// `uioN`.
        device: String,
        /// The map index.
        map: usize,
        /// `maps/mapN/offset`.
        offset: u64,
        /// `maps/mapN/size`.
        size: u64,
    },
    /// `mmap` of the map failed.
    #[error("mapping {device} map{map}: {error}")]
    Map {
        /// `uioN`.
        device: String,
        /// The map index.
        map: usize,
        /// The mapping error (boxed: it is large) (part of the message, not a
        /// [`source`](std::error::Error::source)).
        error: Box<hal_core::MapError>,
    },
    /// The device has no interrupt; waiting on it would spin.
    #[error("{device} has no interrupt ({detail}): interrupts cannot be waited for or re-enabled; poll the device's registers instead (ivshmem has no INTx, and its MSI-X doorbells cannot reach uio_pci_generic)")]
    NoInterrupt {
        /// `uioN`.
        device: String,
        /// How this was detected.
        detail: String,
    },
    /// No interrupt arrived within the timeout.
    #[error("waiting for an interrupt on {device}: none within {timeout:?} (was it enabled with Irq::enable, and did the device raise it?)")]
    Timeout {
        /// `uioN`.
        device: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// An `AsyncIrq` (cargo feature `tokio`) could not be registered with
    /// tokio's reactor.
    #[error("waiting asynchronously for interrupts of {device}: {detail}")]
    NoRuntime {
        /// `uioN`.
        device: String,
        /// What is missing, and what to do.
        detail: String,
    },
    /// A system call on the device node failed.
    #[error("{op} {device}: {errno}")]
    Syscall {
        /// What was being done.
        op: &'static str,
        /// `/dev/uioN`.
        device: String,
        /// The errno (part of the message, not a
        /// [`source`](std::error::Error::source)).
        errno: nix::Error,
    },
    /// `read`/`write` on the device node transferred the wrong number of bytes.
    #[error(
        "{op} {device}: transferred {got} bytes instead of 4 (is this really a UIO device node?)"
    )]
    ShortTransfer {
        /// What was being done.
        op: &'static str,
        /// `/dev/uioN`.
        device: String,
        /// Bytes transferred.
        got: usize,
    },
    /// The driver has no irqcontrol and the device is not PCI, so nothing can unmask it.
    #[error("re-enabling interrupts of {device}: the UIO driver has no irqcontrol (ENOSYS) and the device has no PCI parent whose INTx Disable bit could be cleared")]
    NoIrqControl {
        /// `uioN`.
        device: String,
    },
    /// A PCI operation was asked of a UIO device without a PCI parent.
    #[error("{device} has no PCI parent device (its driver is {driver:?}), so it has no PCI config space")]
    NotPci {
        /// `uioN`.
        device: String,
        /// The UIO `name` attribute.
        driver: String,
    },
    /// A PCI sysfs operation failed.
    #[error("{op} for {device}: {error}")]
    Pci {
        /// What was being done.
        op: &'static str,
        /// `uioN`.
        device: String,
        /// The PCI error (part of the message, not a
        /// [`source`](std::error::Error::source)).
        error: PciError,
    },
}

impl UioError {
    /// Whether this is [`UioError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, UioError::Timeout { .. })
    }
    /// Whether this is [`UioError::NoInterrupt`].
    pub fn is_no_interrupt(&self) -> bool {
        matches!(self, UioError::NoInterrupt { .. })
    }
    /// Whether this is [`UioError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, UioError::NotFound { .. })
    }
}

/// One line of a UIO listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UioSummary {
    /// N of `uioN`.
    pub number: u32,
    /// The `name` attribute.
    pub name: String,
    /// Parent PCI device, if any.
    pub pci: Option<PciAddress>,
    /// Its vendor:device ID, if known.
    pub pci_id: Option<PciId>,
    /// Number of maps.
    pub maps: usize,
}

impl fmt::Display for UioSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uio{} {:?}", self.number, self.name)?;
        if let Some(a) = self.pci {
            write!(f, " {a}")?;
        }
        if let Some(id) = self.pci_id {
            write!(f, " {id}")?;
        }
        write!(
            f,
            " ({} map{})",
            self.maps,
            if self.maps == 1 { "" } else { "s" }
        )
    }
}

/// The UIO devices that exist, for "not found" messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UioList(pub Vec<UioSummary>);

impl fmt::Display for UioList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        pci_sysfs::write_present(
            f,
            &self.0,
            "there are no UIO devices at all (load a UIO driver and bind a device to it, e.g. `modprobe uio_pci_generic` and `echo 1234 11e8 > /sys/bus/pci/drivers/uio_pci_generic/new_id`)",
        )
    }
}
