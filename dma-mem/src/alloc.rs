//! Allocators: [`DmaAllocator`], and [`PagemapAllocator`] for devices that
//! DMA to physical addresses (UIO, no IOMMU).

use std::ffi::c_void;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

use hal_core::{MemoryKind, Region};
use nix::sys::mman::{self, MapFlags, MmapAdvise, ProtFlags};

use crate::buffer::DmaBuffer;
use crate::error::DmaError;
use crate::mask::DmaMask;
use crate::pagemap::{Pagemap, ProcPagemap};

/// Something that provides memory a device can reach.
///
/// Drivers ask for "a buffer the device can reach" through this trait, not
/// for a way of finding addresses: [`PagemapAllocator`] gives physical
/// addresses (UIO, no IOMMU); an IOMMU backend (VFIO) gives the same
/// [`DmaBuffer`] with IOVAs (through [`DmaBuffer::from_parts`]).
pub trait DmaAllocator {
    /// A new zero-filled buffer of `len` bytes whose every byte the device
    /// can reach.
    fn alloc(&self, len: usize) -> Result<DmaBuffer, DmaError>;

    /// The mask of the device the allocator serves.
    fn mask(&self) -> DmaMask;
}

/// The size of the hugepages [`PagemapAllocator::hugepages`] uses.
pub const HUGEPAGE_SIZE: usize = 2 << 20;

/// Allocates page-locked anonymous memory and finds its physical addresses
/// in `/proc/self/pagemap`: DMA for devices without an IOMMU in between,
/// such as a PCI device bound to `uio_pci_generic`.
///
/// Needs `CAP_SYS_ADMIN` (to read frame numbers; [`DmaError::NeedsCapSysAdmin`]
/// otherwise) and enough `RLIMIT_MEMLOCK` (or `CAP_IPC_LOCK`) for the
/// locked pages. Base pages of one buffer are seldom physically
/// contiguous: a buffer of more than one page is normally several
/// [`Segment`](crate::Segment)s. With [`hugepages`](PagemapAllocator::hugepages)
/// each 2 MiB of the buffer is one contiguous segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagemapAllocator {
    mask: DmaMask,
    hugepages: bool,
}

impl PagemapAllocator {
    /// An allocator for a device with DMA mask `mask`, with base pages.
    pub fn new(mask: DmaMask) -> PagemapAllocator {
        PagemapAllocator {
            mask,
            hugepages: false,
        }
    }

    /// Whether to allocate 2 MiB hugetlbfs pages (each physically
    /// contiguous; the buffer's length is rounded up to a multiple of
    /// 2 MiB in memory). The kernel must have reserved them
    /// (`/proc/sys/vm/nr_hugepages`); [`DmaError::NoHugepages`] otherwise.
    pub fn hugepages(self, on: bool) -> Self {
        PagemapAllocator {
            hugepages: on,
            ..self
        }
    }

    pub(crate) fn alloc_with(
        &self,
        len: usize,
        pagemap: &dyn Pagemap,
    ) -> Result<DmaBuffer, DmaError> {
        let region = self.locked_region(len)?;
        DmaBuffer::from_pagemap(region, self.mask, pagemap)
    }

    /// A zero-filled, locked, populated private anonymous mapping of `len`
    /// bytes, as a region.
    fn locked_region(&self, len: usize) -> Result<Region, DmaError> {
        if len == 0 {
            return Err(DmaError::ZeroLength);
        }
        let unit = if self.hugepages {
            HUGEPAGE_SIZE
        } else {
            hal_core::page_size()
        };
        let rounded = len
            .checked_next_multiple_of(unit)
            .and_then(NonZeroUsize::new)
            .ok_or(DmaError::Syscall {
                op: "mmap",
                len,
                errno: nix::Error::ENOMEM,
            })?;
        let mut flags = MapFlags::MAP_PRIVATE;
        if self.hugepages {
            flags |= MapFlags::MAP_HUGETLB | MapFlags::MAP_HUGE_2MB;
        }
        // SAFETY: a new anonymous mapping at an address the kernel chooses
        // (no MAP_FIXED) affects no existing object; it is owned by the
        // LockedMapping built right after, which unmaps it once.
        let ptr = unsafe {
            mman::mmap_anonymous(
                None,
                rounded,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                flags,
            )
        }
        .map_err(|errno| match errno {
            nix::Error::ENOMEM if self.hugepages => no_hugepages(len, read_sysfs),
            errno => DmaError::Syscall {
                op: "mmap",
                len: rounded.get(),
                errno,
            },
        })?;
        let mapping = LockedMapping {
            ptr,
            len: rounded.get(),
        };
        mapping.prepare(self.hugepages)?;
        // SAFETY: `mapping` keeps ptr..ptr + len mapped, readable and
        // writable until it is dropped, and the region owns it. Nothing
        // else knows the address, so no reference or non-atomic access to
        // the memory exists.
        let region = unsafe {
            Region::from_raw_parts(
                ptr.cast(),
                len,
                MemoryKind::Ram,
                format!("DMA buffer ({len:#x} bytes)"),
                Box::new(mapping),
            )
        };
        // mlock has populated the pages (with write faults, so none is the
        // shared zero page); one store per page makes sure of it.
        for offset in (0..len).step_by(hal_core::page_size()) {
            region
                .try_write8(offset, 0)
                .expect("the offset is inside the region");
        }
        Ok(region)
    }
}

impl DmaAllocator for PagemapAllocator {
    fn alloc(&self, len: usize) -> Result<DmaBuffer, DmaError> {
        self.alloc_with(len, &ProcPagemap)
    }

    fn mask(&self) -> DmaMask {
        self.mask
    }
}

/// An anonymous mapping owned by a DMA buffer's region; unmapped (and so
/// unlocked) on drop.
struct LockedMapping {
    ptr: NonNull<c_void>,
    len: usize,
}

// SAFETY: the mapping is an address range this value alone owns; it is
// valid in every thread of the process.
unsafe impl Send for LockedMapping {}
// SAFETY: as above; the value has no state to race on.
unsafe impl Sync for LockedMapping {}

impl LockedMapping {
    /// Keeps the pages where they are: not shared with a forked child
    /// (copy-on-write would give the parent new pages at its next write),
    /// not collapsed into transparent hugepages, locked and populated.
    fn prepare(&self, hugetlb: bool) -> Result<(), DmaError> {
        let advise = |advice, op| {
            // SAFETY: the range is exactly this mapping, which nothing has
            // handed out yet; the advice changes how the kernel manages
            // the pages, not their contents.
            unsafe { mman::madvise(self.ptr, self.len, advice) }.map_err(|errno| {
                DmaError::Syscall {
                    op,
                    len: self.len,
                    errno,
                }
            })
        };
        advise(MmapAdvise::MADV_DONTFORK, "madvise(MADV_DONTFORK)")?;
        if !hugetlb {
            advise(MmapAdvise::MADV_NOHUGEPAGE, "madvise(MADV_NOHUGEPAGE)")?;
        }
        // SAFETY: locking pages of our own mapping changes no contents.
        unsafe { mman::mlock(self.ptr, self.len) }.map_err(|errno| DmaError::Lock {
            len: self.len,
            limit: memlock_limit(),
            errno,
        })
    }
}

impl Drop for LockedMapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are what mmap returned; this is their only owner
        // and the region using them is being dropped. A failure could only
        // mean a bug, and there is nothing to recover.
        let _ = unsafe { mman::munmap(self.ptr, self.len) };
    }
}

/// The soft RLIMIT_MEMLOCK in bytes, `None` if unlimited or unreadable.
fn memlock_limit() -> Option<u64> {
    use nix::sys::resource::{getrlimit, Resource};
    match getrlimit(Resource::RLIMIT_MEMLOCK) {
        Ok((soft, _)) if soft != nix::libc::RLIM_INFINITY => Some(soft),
        _ => None,
    }
}

const HUGEPAGES_DIR: &str = "/sys/kernel/mm/hugepages/hugepages-2048kB";

fn read_sysfs(name: &str) -> Option<String> {
    std::fs::read_to_string(format!("{HUGEPAGES_DIR}/{name}")).ok()
}

/// The error for a hugepage mapping the kernel refused, with the counts
/// `read` gives for `nr_hugepages` and `free_hugepages`.
pub(crate) fn no_hugepages(len: usize, read: impl Fn(&str) -> Option<String>) -> DmaError {
    let number = |name| read(name).and_then(|s| s.trim().parse().ok());
    DmaError::NoHugepages {
        len,
        reserved: number("nr_hugepages"),
        free: number("free_hugepages"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pagemap::fake::{present, FakePagemap};

    #[test]
    fn no_hugepages_names_the_counts_and_how_to_reserve() {
        let e = no_hugepages(4096, |name| match name {
            "nr_hugepages" => Some("0\n".into()),
            "free_hugepages" => Some("0\n".into()),
            _ => None,
        });
        assert!(matches!(
            e,
            DmaError::NoHugepages {
                len: 4096,
                reserved: Some(0),
                free: Some(0)
            }
        ));
        let text = e.to_string();
        assert!(text.contains("0 reserved, 0 free"), "{text}");
        assert!(
            text.contains("echo N > /proc/sys/vm/nr_hugepages"),
            "{text}"
        );
        assert!(text.contains("hugepages=N"), "{text}");
        let e = no_hugepages(4096, |_| None).to_string();
        assert!(e.contains("an unknown number reserved"), "{e}");
    }

    #[test]
    fn zero_length_is_refused() {
        let a = PagemapAllocator::new(DmaMask::ALL);
        let e = a.alloc_with(0, &FakePagemap::new(vec![])).unwrap_err();
        assert!(matches!(e, DmaError::ZeroLength), "{e}");
    }

    /// The hugepage path with a fake pagemap: the kernel reports each base
    /// page of a hugepage with consecutive frame numbers, which make one
    /// segment. Runs only where a hugepage can be had; where none can, the
    /// mapping must fail with NoHugepages.
    #[test]
    fn hugepage_buffer_is_one_segment() {
        let page = hal_core::page_size();
        let n = HUGEPAGE_SIZE / page;
        let frames = (0..n as u64).map(|i| present(0x8000 + i)).collect();
        let a = PagemapAllocator::new(DmaMask::bits(28)).hugepages(true);
        match a.alloc_with(HUGEPAGE_SIZE, &FakePagemap::new(frames)) {
            Ok(b) => {
                assert_eq!(
                    b.segments(),
                    [crate::Segment {
                        offset: 0,
                        len: HUGEPAGE_SIZE,
                        device_addr: 0x8000 * page as u64
                    }]
                );
                assert_eq!(
                    b.device_addr(page - 8, 16).unwrap(),
                    0x8000 * page as u64 + page as u64 - 8
                );
            }
            Err(e) => {
                let free = read_sysfs("free_hugepages").and_then(|s| s.trim().parse().ok());
                assert!(
                    matches!(e, DmaError::NoHugepages { .. }) && free.unwrap_or(0u64) == 0,
                    "{e} (free hugepages: {free:?})"
                );
            }
        }
    }
}
