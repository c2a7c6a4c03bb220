//! The errors of DMA buffer allocation and use.

use std::io;
use std::path::PathBuf;

use crate::mask::DmaMask;

/// What went wrong allocating or using a DMA buffer. Every message says
/// what to do about it.
///
/// Following the workspace's convention, each message is complete (it
/// includes the errno or I/O error) and [`source`](std::error::Error::source)
/// is `None`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DmaError {
    /// A DMA mask was asked for with a number of address bits outside `1..=64`.
    #[error("a DMA mask of {bits} address bits: the number of bits must be 1 to 64 (Linux's DMA_BIT_MASK(n)); QEMU's edu has 28")]
    BadMaskBits {
        /// The number asked for.
        bits: u32,
    },

    /// A buffer of zero bytes was asked for.
    #[error("a DMA buffer of 0 bytes was asked for: give the number of bytes the device will read or write")]
    ZeroLength,

    /// `/proc/self/pagemap` read the page frame number as 0: the kernel hides
    /// physical addresses from a reader without `CAP_SYS_ADMIN`.
    #[error("/proc/self/pagemap gave frame number 0 for a present page of the DMA buffer: reading physical addresses needs CAP_SYS_ADMIN (without it the kernel reports 0 instead of failing). Run the driver as root or give it the capability (`setcap cap_sys_admin+ep DRIVER`), or use an allocator that needs no physical addresses (VFIO with an IOMMU)")]
    NeedsCapSysAdmin,

    /// A page of the buffer was not present in memory when its address was
    /// looked up, although it had been locked and populated.
    #[error("the DMA buffer's page at offset {offset:#x} is not present in memory (pagemap bit 63 clear) although it was locked: the buffer has no stable device address; allocate it again")]
    PageNotPresent {
        /// The page's offset in the buffer.
        offset: usize,
    },

    /// A pagemap entry's frame number gives no 64-bit physical address.
    #[error("/proc/self/pagemap entry {entry:#018x} of the DMA buffer's page at offset {offset:#x} has a frame number that is no 64-bit physical address: the kernel's pagemap format is not the one this crate reads (Documentation/admin-guide/mm/pagemap.rst)")]
    BadPagemapEntry {
        /// The page's offset in the buffer.
        offset: usize,
        /// The raw 64-bit entry.
        entry: u64,
    },

    /// Memory of the buffer has a device address the device cannot reach.
    #[error("DMA buffer memory at device address {addr:#x} is above the device's {mask} DMA mask (highest reachable address {max:#x}): the device would drop the high address bits and silently read or write another page, corrupting memory. Give the device a wider mask if it has one (QEMU: -device edu,dma_mask=0xffffffffffffffff), give the machine no more RAM than the mask reaches (a VM: -m 256M for 28 bits), or allocate while low memory is free", max = mask.max_addr())]
    AboveMask {
        /// The first device address outside the mask (a page's start, or
        /// the buffer's start if it begins inside that page).
        addr: u64,
        /// The device's mask.
        mask: DmaMask,
    },

    /// A range of the buffer spans physically discontiguous segments, so it
    /// has no single device address.
    #[error("bytes {offset:#x}..{end:#x} of the DMA buffer are not physically contiguous (they span two segments; see DmaBuffer::segments): give the device one transfer per segment, keep each transfer within a page, or allocate with hugepages for one contiguous 2 MiB segment", end = *offset as u128 + *len as u128)]
    NotContiguous {
        /// Start of the range in the buffer.
        offset: usize,
        /// Length of the range.
        len: usize,
    },

    /// A range that is not inside the buffer.
    #[error("bytes {offset:#x}..{end:#x} are outside the DMA buffer of {buffer_len:#x} bytes: give a non-empty range inside the buffer", end = *offset as u128 + *len as u128)]
    OutOfBounds {
        /// Start of the range asked for.
        offset: usize,
        /// Its length.
        len: usize,
        /// The buffer's length.
        buffer_len: usize,
    },

    /// No free 2 MiB hugepage was available for a hugepage buffer.
    #[error("no free 2 MiB hugepages for a DMA buffer of {len:#x} bytes (the kernel has {} reserved, {} free): reserve some as root with `echo N > /proc/sys/vm/nr_hugepages` (or the kernel argument `hugepages=N`), or allocate without hugepages", count(*reserved), count(*free))]
    NoHugepages {
        /// Bytes asked for.
        len: usize,
        /// 2 MiB hugepages the kernel has reserved, if that could be read
        /// (`/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages`).
        reserved: Option<u64>,
        /// How many of them are free, if that could be read.
        free: Option<u64>,
    },

    /// Locking the buffer's pages in memory failed: normally because of the
    /// locked-memory limit.
    #[error("locking {len:#x} bytes of DMA buffer in memory (mlock): {errno}. Locked memory is limited by RLIMIT_MEMLOCK (soft limit here: {}) for a process without CAP_IPC_LOCK: raise it (`ulimit -l`, LimitMEMLOCK= of a systemd unit, /etc/security/limits.conf), run as root or with CAP_IPC_LOCK, or use a smaller buffer", limit_text(*limit))]
    Lock {
        /// Bytes (whole pages) to lock.
        len: usize,
        /// The soft RLIMIT_MEMLOCK in bytes (`None`: unlimited or unreadable).
        limit: Option<u64>,
        /// What `mlock` returned.
        errno: nix::Error,
    },

    /// A memory-management system call on the buffer failed.
    #[error("{op} for a DMA buffer of {len:#x} bytes: {errno}; the system is out of memory or address space, or refuses the call")]
    Syscall {
        /// The call (`mmap`, `madvise(MADV_DONTFORK)`, ...).
        op: &'static str,
        /// Bytes (whole pages) it was for.
        len: usize,
        /// What it returned.
        errno: nix::Error,
    },

    /// Reading a file (such as `/proc/self/pagemap`) failed.
    #[error("{op} {path}: {error}")]
    Io {
        /// What was done (`opening`, `reading`).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },

    /// [`DmaBuffer::verify`](crate::DmaBuffer::verify) found a page at
    /// another physical address than when it was allocated.
    #[error("the DMA buffer's page at offset {offset:#x} moved from physical address {was:#x} to {now:#x} (memory compaction moves even locked pages unless vm.compact_unevictable_allowed is 0): a DMA to the old address would corrupt memory; allocate the buffer again, keep buffers short-lived, or set `sysctl vm.compact_unevictable_allowed=0`")]
    PageMoved {
        /// The page's offset in the buffer.
        offset: usize,
        /// Its device address at allocation.
        was: u64,
        /// Its device address now.
        now: u64,
    },

    /// An allocator outside this crate (an IOMMU backend) could not give
    /// a buffer.
    #[error("{allocator}: {detail}")]
    Allocator {
        /// Which allocator (`VFIO`).
        allocator: &'static str,
        /// What failed, and what to do.
        detail: String,
    },

    /// Segments given to [`DmaBuffer::from_parts`](crate::DmaBuffer::from_parts)
    /// do not describe the memory.
    #[error("invalid DMA buffer segments: {detail}; segments must be in order, non-empty, and cover the buffer from offset 0 to its length without gaps")]
    BadSegments {
        /// What is wrong.
        detail: String,
    },
}

fn count(n: Option<u64>) -> String {
    n.map_or_else(|| "an unknown number".to_string(), |n| n.to_string())
}

fn limit_text(limit: Option<u64>) -> String {
    limit.map_or_else(
        || "unlimited or unknown".to_string(),
        |l| format!("{l} bytes"),
    )
}
