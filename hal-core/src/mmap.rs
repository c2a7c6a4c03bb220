//! The one place where memory mappings are created and destroyed.

use std::ffi::c_void;
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::ptr::NonNull;

use nix::sys::mman::{mmap, mmap_anonymous, munmap, MapFlags, ProtFlags};

use crate::error::MapError;

/// The system page size (from `sysconf(_SC_PAGESIZE)`), never assumed to be 4096.
pub fn page_size() -> usize {
    use std::sync::OnceLock;
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .and_then(|v| usize::try_from(v).ok())
            .filter(|v| v.is_power_of_two())
            .unwrap_or(4096)
    })
}

/// An owned `mmap` result; unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<c_void>,
    len: usize,
}

// SAFETY: a Mapping is only an address range that this value owns; the
// mapping itself is valid in every thread of the process.
unsafe impl Send for Mapping {}
// SAFETY: as above; Mapping has no interior state to race on.
unsafe impl Sync for Mapping {}

impl Mapping {
    pub(crate) fn base(&self) -> NonNull<u8> {
        self.ptr.cast()
    }

    /// Maps `len` bytes (rounded up to whole pages) of `fd` at `offset` with
    /// `MAP_SHARED`, readable and writable.
    pub(crate) fn shared(
        fd: impl AsFd,
        offset: u64,
        len: usize,
        what: &str,
    ) -> Result<Mapping, MapError> {
        let page = page_size();
        if !offset.is_multiple_of(page as u64) {
            return Err(MapError::UnalignedOffset {
                what: what.to_string(),
                offset,
                page,
            });
        }
        let rounded = round_up(len, page).ok_or_else(|| MapError::Overflow {
            what: what.to_string(),
            offset: 0,
            len,
        })?;
        let nz = NonZeroUsize::new(rounded).ok_or_else(|| MapError::ZeroLength {
            what: what.to_string(),
        })?;
        let off = nix::libc::off_t::try_from(offset).map_err(|_| MapError::Overflow {
            what: what.to_string(),
            offset: 0,
            len,
        })?;
        // SAFETY: we ask the kernel for a new mapping at an address of its
        // choosing (no MAP_FIXED), so no existing Rust object is affected.
        // The result is owned by the returned Mapping and unmapped once.
        let ptr = unsafe {
            mmap(
                None,
                nz,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                fd,
                off,
            )
        }
        .map_err(|e| MapError::Mmap {
            what: what.to_string(),
            len: rounded,
            offset,
            hint: mmap_hint(e),
            errno: e,
        })?;
        Ok(Mapping { ptr, len: rounded })
    }

    /// A new shared anonymous mapping of `len` bytes (rounded up to pages), zeroed.
    pub(crate) fn anonymous(len: usize) -> Result<Mapping, MapError> {
        let what = "anonymous memory";
        let rounded = round_up(len, page_size()).ok_or_else(|| MapError::Overflow {
            what: what.into(),
            offset: 0,
            len,
        })?;
        let nz =
            NonZeroUsize::new(rounded).ok_or_else(|| MapError::ZeroLength { what: what.into() })?;
        // SAFETY: a fresh anonymous mapping at a kernel-chosen address affects
        // no existing object; it is owned by the returned Mapping.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                nz,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .map_err(|e| MapError::Mmap {
            what: what.into(),
            len: rounded,
            offset: 0,
            hint: String::new(),
            errno: e,
        })?;
        Ok(Mapping { ptr, len: rounded })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned, this is the only
        // owner, and every Region borrowing it is gone (Region owns us).
        // An munmap failure here could only mean a bug; nothing to recover.
        let _ = unsafe { munmap(self.ptr, self.len) };
    }
}

fn round_up(len: usize, page: usize) -> Option<usize> {
    len.checked_add(page - 1).map(|v| v & !(page - 1))
}

fn mmap_hint(e: nix::Error) -> String {
    match e {
        nix::Error::EPERM => "; the kernel refused the range (with STRICT_DEVMEM, /dev/mem cannot map RAM or a region a kernel driver has claimed)".into(),
        nix::Error::EACCES => "; the file was not opened read-write, or the caller lacks permission".into(),
        nix::Error::EINVAL => "; the offset or length is outside what the file allows (for UIO, the map's page-rounded size; for sysfs resourceN, the BAR's size)".into(),
        nix::Error::ENODEV => "; this file cannot be memory-mapped".into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding() {
        assert_eq!(round_up(1, 4096), Some(4096));
        assert_eq!(round_up(4096, 4096), Some(4096));
        assert_eq!(round_up(0, 4096), Some(0));
        assert_eq!(round_up(usize::MAX, 4096), None);
    }

    #[test]
    fn page_size_is_a_power_of_two() {
        assert!(page_size().is_power_of_two());
    }
}
