//! Errors of the VFIO backend: what failed, on which device, and what to do.

use std::path::PathBuf;
use std::time::Duration;

use nix::errno::Errno;

use crate::IrqKind;

/// An error of the VFIO backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VfioError {
    /// The PCI device could not be found or read in sysfs.
    #[error(transparent)]
    Pci(#[from] pci_sysfs::PciError),

    /// The device is not bound to `vfio-pci`.
    #[error("{device} is bound to {driver}, not to vfio-pci: bind it with `echo vfio-pci > /sys/bus/pci/devices/{device}/driver_override; echo {device} > /sys/bus/pci/devices/{device}/driver/unbind; echo {device} > /sys/bus/pci/drivers_probe` (as root; load the vfio-pci module first)")]
    NotBound {
        /// The PCI address.
        device: String,
        /// Its driver (`no driver` when unbound).
        driver: String,
    },

    /// The device has no IOMMU group: no IOMMU is enabled.
    #[error("{device} has no IOMMU group (no {path}): VFIO needs an IOMMU. Enable it (kernel argument `intel_iommu=on` or `amd_iommu=on`; in QEMU `-M q35 -device intel-iommu,intremap=on`)")]
    NoIommuGroup {
        /// The PCI address.
        device: String,
        /// The missing link.
        path: PathBuf,
    },

    /// Opening a VFIO character device failed.
    #[error("opening {path} for {device}: {errno}; {hint}")]
    Open {
        /// The PCI address.
        device: String,
        /// `/dev/vfio/vfio` or `/dev/vfio/N`.
        path: PathBuf,
        /// What `open` returned.
        errno: Errno,
        /// What to do about it.
        hint: String,
    },

    /// The kernel's VFIO API is not the one this crate speaks.
    #[error(
        "/dev/vfio/vfio reports VFIO API version {found}, this crate speaks version {expected}"
    )]
    ApiVersion {
        /// What the kernel reported.
        found: i32,
        /// `VFIO_API_VERSION`.
        expected: u32,
    },

    /// The container does not offer the type1v2 IOMMU.
    #[error("the VFIO container has no type1v2 IOMMU (VFIO_CHECK_EXTENSION): load the vfio_iommu_type1 module")]
    NoType1v2,

    /// The group is not viable: another device in it is bound to a host driver.
    #[error("IOMMU group {group} of {device} is not viable: every device in it must be bound to vfio-pci or to no driver, and these are not: {others}. Unbind them or bind them to vfio-pci (the group's devices are listed in /sys/kernel/iommu_groups/{group}/devices)")]
    NotViable {
        /// The PCI address.
        device: String,
        /// The group number.
        group: u32,
        /// The other devices with their drivers.
        others: String,
    },

    /// `VFIO_SET_IOMMU` was refused for lack of interrupt remapping.
    #[error("setting the type1v2 IOMMU for {device}: EPERM: the IOMMU has no interrupt remapping, which vfio_iommu_type1 requires. Enable it (QEMU: `-device intel-iommu,intremap=on`), or accept unsafe interrupts with the module parameter vfio_iommu_type1.allow_unsafe_interrupts=1")]
    NoInterruptRemapping {
        /// The PCI address.
        device: String,
    },

    /// A VFIO ioctl or other system call failed.
    #[error("{op} on {device}: {errno}")]
    Syscall {
        /// What was done.
        op: String,
        /// The PCI address.
        device: String,
        /// What the call returned.
        errno: Errno,
    },

    /// A region index the device does not have, or of size 0.
    #[error("{device} has no region {index} (VFIO PCI regions: 0-5 BARs, 6 ROM, 7 config space; an unimplemented BAR has size 0)")]
    NoRegion {
        /// The PCI address.
        device: String,
        /// The region index.
        index: u32,
    },

    /// The region cannot be mapped (VFIO gives no `MMAP` flag for it).
    #[error("region {index} of {device} cannot be mapped (no VFIO_REGION_INFO_FLAG_MMAP: an I/O port BAR, config space, or a BAR smaller than a page): access it with pread/pwrite on the device instead")]
    NotMappable {
        /// The PCI address.
        device: String,
        /// The region index.
        index: u32,
    },

    /// `mmap` of a region failed.
    #[error("mapping region {index} of {device}: {error}")]
    Map {
        /// The PCI address.
        device: String,
        /// The region index.
        index: u32,
        /// The mapping error (boxed: it is large).
        error: Box<hal_core::MapError>,
    },

    /// A config space access outside the region or cut short.
    #[error("config space of {device}: {detail}")]
    Config {
        /// The PCI address.
        device: String,
        /// What went wrong.
        detail: String,
    },

    /// An interrupt request the device cannot satisfy.
    #[error("{kind} interrupts of {device}: {detail}")]
    Irq {
        /// The PCI address.
        device: String,
        /// The interrupt type.
        kind: IrqKind,
        /// What is wrong and what to do.
        detail: String,
    },

    /// No interrupt arrived within the timeout.
    #[error("waiting for {kind} vector {vector} of {device}: none within {timeout:?} (did the device raise it? MSI and MSI-X are silently lost unless Bus Master is on: VfioDevice::enable_bus_master)")]
    Timeout {
        /// The PCI address.
        device: String,
        /// The interrupt type.
        kind: IrqKind,
        /// The vector waited on.
        vector: u32,
        /// The timeout that expired.
        timeout: Duration,
    },

    /// The IOMMU's description (`VFIO_IOMMU_GET_INFO`) could not be read:
    /// a kernel answer this crate does not trust.
    #[error("reading the IOMMU info of {device}'s container: {error} (report this with the kernel version: the kernel's answer is malformed or newer than this crate)")]
    IommuInfo {
        /// The PCI address.
        device: String,
        /// What is wrong in the answer.
        error: crate::iommu::InfoError,
    },

    /// The device cannot be reset through VFIO.
    #[error("{device} offers no reset through VFIO (VFIO_DEVICE_FLAGS_RESET is clear: no FLR, PM or bus reset): put it into a known state through its registers (acknowledge stale interrupt status)")]
    NoReset {
        /// The PCI address.
        device: String,
    },
}

impl VfioError {
    /// Whether this is [`VfioError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, VfioError::Timeout { .. })
    }
}

/// What to do when opening `path` failed with `errno`.
pub(crate) fn open_hint(path: &std::path::Path, errno: Errno) -> String {
    let node = path.display();
    match errno {
        Errno::EACCES | Errno::EPERM => format!(
            "this user needs read-write access to {node}: `chown USER {node}` (lost at every rebind) or a udev rule for the vfio subsystem that sets its owner or group (the `mmio` group of udev/70-mmio-hal.rules: docs/permissions.md)"
        ),
        Errno::ENOENT if path.ends_with("vfio") => {
            "load the vfio modules (vfio, vfio_iommu_type1, vfio-pci)".to_string()
        }
        Errno::ENOENT => format!(
            "{node} does not exist: is the device bound to vfio-pci?"
        ),
        Errno::EBUSY => format!(
            "{node} is already open (a VFIO group can be open once: by another process, or another VfioDevice of this one)"
        ),
        _ => "check that the vfio modules are loaded and the device is bound to vfio-pci".to_string(),
    }
}
