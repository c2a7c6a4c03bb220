//! Physical memory through `/dev/mem`.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use hal_core::{page_size, MapError, MemoryKind, Region};

use crate::error::DevMemError;
use crate::sys;

/// The default physical-memory device.
pub const DEV_MEM: &str = "/dev/mem";

/// An open `/dev/mem` (or another node with its semantics), for mapping
/// physical address ranges.
///
/// Opened `O_RDWR | O_SYNC`, so mappings are uncached (UC-) on x86, as MMIO
/// needs. Mapping needs root (CAP_SYS_RAWIO); with `CONFIG_STRICT_DEVMEM`
/// the kernel refuses RAM and ranges a kernel driver has claimed. A BAR of
/// a device bound to `uio_pci_generic` is allowed (that driver claims nothing).
#[derive(Debug)]
pub struct DevMem {
    fd: OwnedFd,
    path: PathBuf,
}

fn open_hint(e: nix::Error) -> String {
    match e {
        nix::Error::EACCES => "; /dev/mem is root-only (mode 0640 root:kmem): run as root".into(),
        nix::Error::EPERM => match sys::lockdown_mode() {
            Some(mode) => format!("; the kernel is in lockdown mode [{mode}], which forbids /dev/mem"),
            None if !sys::is_root() => "; opening /dev/mem needs CAP_SYS_RAWIO: run as root".into(),
            None => "; the process lacks CAP_SYS_RAWIO (a container?) or the kernel is locked down (see /sys/kernel/security/lockdown)".into(),
        },
        nix::Error::ENOENT => "; there is no such device node (kernel without CONFIG_DEVMEM, or /dev not populated: `mount -t devtmpfs devtmpfs /dev`)".into(),
        _ => String::new(),
    }
}

fn mmap_hint(e: &MapError, start: u64, len: u64) -> String {
    let MapError::Mmap { errno, .. } = e else {
        return String::new();
    };
    let end = start.saturating_add(len);
    match *errno {
        nix::Error::EPERM => format!(
            "; with CONFIG_STRICT_DEVMEM the kernel refuses {start:#x}..{end:#x} if any page of it is \
             System RAM (never mappable) or claimed by a kernel driver (IORESOURCE_BUSY: unbind \
             that driver, or boot with iomem=relaxed); /proc/iomem (as root) shows which"
        ),
        nix::Error::EINVAL => format!(
            "; {start:#x}..{end:#x} is beyond the physical addresses /dev/mem allows"
        ),
        _ => String::new(),
    }
}

impl DevMem {
    /// Opens `/dev/mem`.
    pub fn open() -> Result<DevMem, DevMemError> {
        DevMem::open_path(DEV_MEM)
    }

    /// Opens another node with `/dev/mem`'s semantics (file offset = physical
    /// address); host tests use a regular file.
    pub fn open_path(path: impl AsRef<Path>) -> Result<DevMem, DevMemError> {
        let path = path.as_ref().to_path_buf();
        let fd = sys::open_rw(&path, true).map_err(|e| DevMemError::Open {
            hint: open_hint(e),
            path: path.clone(),
            errno: e,
        })?;
        Ok(DevMem { fd, path })
    }

    /// The opened path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Maps `len` bytes of physical memory at `addr`.
    ///
    /// `addr` need not be page-aligned: the mapping starts at the page that
    /// contains it and the region starts `addr & (page_size() - 1)` bytes in.
    pub fn map(&self, addr: u64, len: usize) -> Result<Region, DevMemError> {
        let what = format!("{} at {addr:#x} (+{len:#x})", self.path.display());
        check_range(&what, addr, len)?;
        let len64 = len as u64;
        let page = page_size() as u64;
        let file_offset = addr & !(page - 1);
        // Less than one page, so it fits in usize.
        let sub = (addr - file_offset) as usize;
        Region::map_shared_as(
            MemoryKind::Device,
            self.fd.as_fd(),
            file_offset,
            sub,
            len,
            what,
        )
        .map_err(|e| DevMemError::Mmap {
            hint: mmap_hint(&e, addr, len64),
            error: Box::new(e),
        })
    }
}

/// Maps `len` bytes of physical memory at `addr` through `/dev/mem`.
///
/// Shorthand for [`DevMem::open`] then [`DevMem::map`]; the region keeps
/// its mapping after the file is closed.
pub fn map_phys(addr: u64, len: usize) -> Result<Region, DevMemError> {
    // Refuse a bad range before asking for root-only access.
    check_range(&format!("{DEV_MEM} at {addr:#x} (+{len:#x})"), addr, len)?;
    DevMem::open()?.map(addr, len)
}

fn check_range(what: &str, addr: u64, len: usize) -> Result<(), DevMemError> {
    if len == 0 {
        return Err(DevMemError::ZeroLength { what: what.into() });
    }
    if addr.checked_add(len as u64).is_none() {
        return Err(DevMemError::Overflow {
            what: what.into(),
            start: addr,
            len: len as u64,
        });
    }
    Ok(())
}
