//! PCI BARs through sysfs `resourceN` / `resourceN_wc`.

use std::os::fd::AsFd;

use hal_core::{page_size, MapError, MemoryKind, Region};
use pci_sysfs::{PciDevice, Resource};

use crate::error::DevMemError;
use crate::sys;

fn open_hint(e: nix::Error) -> String {
    match e {
        nix::Error::EACCES => "; resourceN files are mode 0600 root: run as root, or grant a group access (the `mmio` group of udev/70-mmio-hal.rules: docs/permissions.md)".into(),
        nix::Error::EPERM => match sys::lockdown_mode() {
            Some(mode) => format!(
                "; the kernel is in lockdown mode [{mode}], which forbids PCI resource access"
            ),
            None => "; permission denied (run as root)".into(),
        },
        _ => String::new(),
    }
}

fn mmap_hint(e: &MapError) -> String {
    let MapError::Mmap { errno, .. } = e else {
        return String::new();
    };
    match *errno {
        nix::Error::EINVAL => "; the kernel refused: a kernel driver has claimed this BAR \
            (IORESOURCE_BUSY under CONFIG_IO_STRICT_DEVMEM: unbind it, e.g. bind the device to \
            uio_pci_generic, or boot with iomem=relaxed), or the length exceeds the BAR"
            .into(),
        nix::Error::EPERM => {
            "; the kernel refused (lockdown, see /sys/kernel/security/lockdown)".into()
        }
        _ => String::new(),
    }
}

fn bar_of(dev: &PciDevice, bar: usize) -> Result<&Resource, DevMemError> {
    let res = dev.bar(bar).ok_or_else(|| DevMemError::NoSuchBar {
        device: dev.address(),
        bar,
        bars: dev.bar_summary(),
    })?;
    if res.flags.is_io() {
        return Err(DevMemError::IoBar {
            device: dev.address(),
            bar,
        });
    }
    Ok(res)
}

fn map(
    dev: &PciDevice,
    bar: usize,
    write_combining: bool,
    limit: Option<usize>,
) -> Result<Region, DevMemError> {
    let res = bar_of(dev, bar)?;
    let path = if write_combining {
        if !res.flags.is_prefetchable() {
            return Err(DevMemError::NoWriteCombining {
                device: dev.address(),
                bar,
                reason: "the BAR is not prefetchable, and the kernel offers write-combining only for prefetchable BARs; map resourceN instead",
            });
        }
        res.wc_file.clone().ok_or(DevMemError::NoWriteCombining {
            device: dev.address(),
            bar,
            reason: "the kernel did not create it (write-combining needs PAT; was the kernel booted with `nopat`?)",
        })?
    } else {
        res.file
            .clone()
            .ok_or_else(|| DevMemError::NoResourceFile {
                device: dev.address(),
                bar,
                path: dev.resource_path(bar, false),
            })?
    };
    let fd = sys::open_rw(&path, false).map_err(|e| DevMemError::Open {
        hint: open_hint(e),
        path: path.clone(),
        errno: e,
    })?;
    let what = format!("BAR{bar} of {} via {}", dev.address(), path.display());
    let len = usize::try_from(res.len()).map_err(|_| DevMemError::Overflow {
        what: what.clone(),
        start: res.start,
        len: res.len(),
    })?;
    let len = limit.map_or(len, |l| l.min(len));
    // The kernel maps from the page that holds the BAR's start; a BAR
    // smaller than a page may start inside it.
    let sub = res.page_offset(page_size() as u64) as usize;
    Region::map_shared_as(MemoryKind::Device, fd.as_fd(), 0, sub, len, what).map_err(|e| {
        DevMemError::Mmap {
            hint: mmap_hint(&e),
            error: Box::new(e),
        }
    })
}

/// Maps BAR `bar` of `dev` through `…/devices/<address>/resource<bar>` (uncached).
///
/// The region covers exactly the BAR (`len` = BAR length) and starts at its
/// first byte, also for BARs smaller than a page. Needs root. Works for any
/// memory BAR, including the 64-bit prefetchable ones `uio_pci_generic`
/// does not expose (ivshmem's shared memory, BAR2), as long as no kernel
/// driver has claimed the BAR.
pub fn map_bar(dev: &PciDevice, bar: usize) -> Result<Region, DevMemError> {
    map(dev, bar, false, None)
}

/// Like [`map_bar`], but maps only the first `len` bytes of the BAR (the
/// whole BAR if it is shorter).
///
/// The kernel fills in every page table entry of a `resourceN` mapping
/// when it is made, so a tool that touches one register maps one page
/// (about 30 µs against 200 µs for a 1 MiB BAR in a TCG guest).
pub fn map_bar_prefix(dev: &PciDevice, bar: usize, len: usize) -> Result<Region, DevMemError> {
    map(dev, bar, false, Some(len))
}

/// Maps BAR `bar` of `dev` write-combining, through `resource<bar>_wc`.
///
/// Only prefetchable BARs have that file (and only with PAT). Good for
/// shared memory (ivshmem BAR2); never for registers with side effects.
pub fn map_bar_wc(dev: &PciDevice, bar: usize) -> Result<Region, DevMemError> {
    map(dev, bar, true, None)
}

/// `dev.map_resource(n)` instead of `devmem_backend::map_bar(&dev, n)`.
///
/// ```no_run
/// use devmem_backend::PciDeviceExt;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let shm = pci_sysfs::PciDevice::find_by_id(0x1af4, 0x1110)?.map_resource(2)?;
/// shm.write_bytes(0, b"hello")?;
/// # Ok(()) }
/// ```
pub trait PciDeviceExt {
    /// See [`map_bar`].
    fn map_resource(&self, bar: usize) -> Result<Region, DevMemError>;
    /// See [`map_bar_wc`].
    fn map_resource_wc(&self, bar: usize) -> Result<Region, DevMemError>;
}

impl PciDeviceExt for PciDevice {
    fn map_resource(&self, bar: usize) -> Result<Region, DevMemError> {
        map_bar(self, bar)
    }
    fn map_resource_wc(&self, bar: usize) -> Result<Region, DevMemError> {
        map_bar_wc(self, bar)
    }
}
