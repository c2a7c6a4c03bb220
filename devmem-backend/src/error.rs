//! The error type of this crate.

use std::path::PathBuf;

use pci_sysfs::{PciAddress, PciError};

/// Everything that can go wrong while mapping physical memory, a BAR or a file.
///
/// Messages name the operation and the object (address range, BAR and PCI
/// address, path), and say why and how to fix it where that is known.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevMemError {
    /// The length is zero.
    #[error("mapping {what}: the length is zero")]
    ZeroLength {
        /// What was to be mapped.
        what: String,
    },
    /// Start plus length does not fit in 64 bits (or in the address space).
    #[error("mapping {what}: start {start:#x} plus length {len:#x} overflows")]
    Overflow {
        /// What was to be mapped.
        what: String,
        /// Start address or offset.
        start: u64,
        /// Length.
        len: u64,
    },
    /// Opening the file or device node failed.
    #[error("opening {path}: {errno}{hint}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why, and what to do (starts with "; ", may be empty).
        hint: String,
        /// The errno (part of the message, not a
        /// [`source`](std::error::Error::source)).
        errno: nix::Error,
    },
    /// `fstat` failed.
    #[error("reading the size of {path}: {errno}")]
    Stat {
        /// The file.
        path: PathBuf,
        /// The errno (part of the message, not a
        /// [`source`](std::error::Error::source)).
        errno: nix::Error,
    },
    /// The range goes past the end of a regular file (accesses there would SIGBUS).
    #[error("mapping {path}: bytes {offset:#x}..{end:#x} go past the end of the file ({size:#x} bytes); make the file larger first (e.g. `truncate -s`)")]
    FileTooSmall {
        /// The file.
        path: PathBuf,
        /// Start offset.
        offset: u64,
        /// End offset (exclusive).
        end: u64,
        /// File size.
        size: u64,
    },
    /// `mmap` failed.
    #[error("{error}{hint}")]
    Mmap {
        /// Why, and what to do (starts with "; ", may be empty).
        hint: String,
        /// The mapping error (names what was mapped, the length and offset;
        /// boxed: it is large) (part of the message, not a
        /// [`source`](std::error::Error::source)).
        error: Box<hal_core::MapError>,
    },
    /// The device has no such (non-empty) BAR.
    #[error("{device} has no BAR{bar}; {bars}")]
    NoSuchBar {
        /// The PCI device.
        device: PciAddress,
        /// The BAR asked for.
        bar: usize,
        /// The BARs that exist, with sizes.
        bars: String,
    },
    /// The BAR is I/O ports, which cannot be memory-mapped.
    #[error("BAR{bar} of {device} is an I/O-port BAR: I/O BARs cannot be memory-mapped on x86 (use read/write on resource{bar}, or port I/O)")]
    IoBar {
        /// The PCI device.
        device: PciAddress,
        /// The BAR.
        bar: usize,
    },
    /// No write-combining file for this BAR.
    #[error("BAR{bar} of {device} has no resource{bar}_wc: {reason}")]
    NoWriteCombining {
        /// The PCI device.
        device: PciAddress,
        /// The BAR.
        bar: usize,
        /// Why.
        reason: &'static str,
    },
    /// The BAR exists but sysfs has no `resourceN` file for it.
    #[error(
        "BAR{bar} of {device}: {path} does not exist (the BAR may be unassigned; see `dmesg`)"
    )]
    NoResourceFile {
        /// The PCI device.
        device: PciAddress,
        /// The BAR.
        bar: usize,
        /// The missing file.
        path: PathBuf,
    },
    /// A PCI sysfs lookup failed (device not found, sysfs not mounted, ...).
    /// Transparent: the message and the (absent) source are the PCI error's.
    #[error(transparent)]
    Pci(#[from] PciError),
}
