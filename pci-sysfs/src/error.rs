//! The error type of this crate.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::address::{PciAddress, PciId};

/// Everything that can go wrong while reading or changing a PCI device through sysfs.
///
/// Each message names the operation and the file or device, and says how to
/// fix the problem where that is known.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PciError {
    /// The sysfs mount point is missing or empty.
    #[error(
        "{path} is missing or empty: sysfs is not mounted (mount it with `mount -t sysfs sysfs {path}`)"
    )]
    SysfsNotMounted {
        /// The directory where sysfs was expected.
        path: PathBuf,
    },
    /// sysfs is mounted but has no PCI bus directory.
    #[error("{path} does not exist: the kernel exposes no PCI bus in sysfs (no PCI support, or sysfs is not the real one)")]
    NoPciBus {
        /// The missing directory (`…/sys/bus/pci/devices`).
        path: PathBuf,
    },
    /// A PCI address could not be parsed.
    #[error("invalid PCI address {input:?}: {reason} (expected DDDD:BB:DD.F or BB:DD.F in hex, e.g. 0000:00:04.0)")]
    InvalidAddress {
        /// The text that was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A vendor:device ID could not be parsed.
    #[error("invalid PCI ID {input:?}: expected VVVV:DDDD in hex, e.g. 1234:11e8")]
    InvalidId {
        /// The text that was given.
        input: String,
    },
    /// A file or directory operation failed.
    #[error("{op} {path}: {error}{hint}")]
    Io {
        /// What was being done ("reading", "writing", "opening", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Advice for the user, starting with "; " (may be empty).
        hint: String,
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
    /// No device matched.
    #[error("no PCI device {wanted} in {dir}; {available}")]
    NotFound {
        /// What was looked for (an address or a vendor:device ID).
        wanted: String,
        /// The directory that was searched.
        dir: PathBuf,
        /// The devices that do exist.
        available: DeviceList,
    },
    /// A config-space access does not fit in the config file.
    #[error("{op} {width} byte(s) at config offset {offset:#x} of {path}: outside the config space ({size:#x} bytes)")]
    ConfigOutOfRange {
        /// "reading" or "writing".
        op: &'static str,
        /// The config file.
        path: PathBuf,
        /// Offset asked for.
        offset: u64,
        /// Access width in bytes.
        width: usize,
        /// Size of the config file.
        size: u64,
    },
    /// A config-space access is not naturally aligned.
    #[error("{op} {width} byte(s) at config offset {offset:#x} of {path}: the offset must be a multiple of {width}")]
    ConfigMisaligned {
        /// "reading" or "writing".
        op: &'static str,
        /// The config file.
        path: PathBuf,
        /// Offset asked for.
        offset: u64,
        /// Access width in bytes.
        width: usize,
    },
    /// The kernel returned fewer config bytes than asked for.
    #[error(
        "reading {width} byte(s) at config offset {offset:#x} of {path}: got only {got}{hint}"
    )]
    ConfigShortRead {
        /// The config file.
        path: PathBuf,
        /// Offset asked for.
        offset: u64,
        /// Access width in bytes.
        width: usize,
        /// Bytes actually read.
        got: usize,
        /// Advice (may be empty).
        hint: String,
    },
    /// The kernel accepted fewer config bytes than given.
    #[error(
        "writing {width} byte(s) at config offset {offset:#x} of {path}: only {written} written"
    )]
    ConfigShortWrite {
        /// The config file.
        path: PathBuf,
        /// Offset asked for.
        offset: u64,
        /// Access width in bytes.
        width: usize,
        /// Bytes actually written.
        written: usize,
    },
    /// A write was attempted through a config handle opened read-only.
    #[error("writing config space of {path}: the handle was opened read-only (use PciDevice::config_rw)")]
    ConfigReadOnly {
        /// The config file.
        path: PathBuf,
    },
    /// A driver name that cannot be a kernel driver (empty, or with `/`).
    #[error("invalid driver name {name:?}: a kernel driver name is non-empty and has no '/' or whitespace")]
    InvalidDriverName {
        /// The name that was given.
        name: String,
    },
    /// The driver is not registered with the PCI bus.
    #[error("PCI driver {driver} is not loaded: {path} does not exist (load it with `modprobe {driver}`)")]
    DriverNotLoaded {
        /// The driver name.
        driver: String,
        /// The missing directory.
        path: PathBuf,
    },
    /// Binding finished without the device ending up bound to the driver.
    #[error("binding {device} to {driver} via {method}: afterwards the device is {now}; see `dmesg` for why the driver refused it")]
    BindFailed {
        /// The device.
        device: PciAddress,
        /// The driver that was asked for.
        driver: String,
        /// `driver_override` or `new_id`.
        method: &'static str,
        /// What the device's state is now.
        now: String,
    },
}

impl PciError {
    /// An I/O error with a hint derived from the error kind.
    pub(crate) fn io(op: &'static str, path: &Path, error: io::Error) -> PciError {
        let hint = match error.kind() {
            io::ErrorKind::PermissionDenied if op != "reading" && op != "listing" => {
                "; changing sysfs files needs root".to_string()
            }
            io::ErrorKind::PermissionDenied => "; permission denied (try as root)".to_string(),
            _ => String::new(),
        };
        PciError::Io {
            op,
            path: path.to_path_buf(),
            hint,
            error,
        }
    }

    /// An I/O error with an explicit hint (without the leading "; ").
    pub(crate) fn io_hint(
        op: &'static str,
        path: &Path,
        error: io::Error,
        hint: impl AsRef<str>,
    ) -> PciError {
        let hint = hint.as_ref();
        PciError::Io {
            op,
            path: path.to_path_buf(),
            hint: if hint.is_empty() {
                String::new()
            } else {
                format!("; {hint}")
            },
            error,
        }
    }

    /// Whether this is a "device not found" error.
    pub fn is_not_found(&self) -> bool {
        matches!(self, PciError::NotFound { .. })
    }
}

/// One line of a device listing: address, IDs and driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    /// The device's address.
    pub address: PciAddress,
    /// Vendor and device ID, if they could be read.
    pub id: Option<PciId>,
    /// The bound driver, if any.
    pub driver: Option<String>,
}

impl fmt::Display for DeviceSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.address)?;
        match self.id {
            Some(id) => write!(f, "{id}")?,
            None => f.write_str("????:????")?,
        }
        match &self.driver {
            Some(d) => write!(f, " [{d}]"),
            None => f.write_str(" [no driver]"),
        }
    }
}

/// The devices that exist, for "not found" messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceList(pub Vec<DeviceSummary>);

impl fmt::Display for DeviceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_present(f, &self.0, "there are no PCI devices at all")
    }
}

/// Writes `present: A, B, C` for the devices of a "not found" message, or
/// `none` when there are none. Shared by the backends' device lists.
pub fn write_present<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    none: &str,
) -> fmt::Result {
    if items.is_empty() {
        return f.write_str(none);
    }
    f.write_str("present: ")?;
    for (i, d) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{d}")?;
    }
    Ok(())
}
