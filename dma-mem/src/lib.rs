//! DMA buffers for user-space drivers: memory a device can reach, with the
//! addresses to give it.
//!
//! A driver asks a [`DmaAllocator`] for a buffer; a [`DmaBuffer`] is
//! page-locked and populated for its whole life and freed on drop. The CPU
//! reads and writes it through [`DmaBuffer::region`] (a
//! [`hal_core::Region`] over RAM); the device is given
//! [`DmaBuffer::device_addr`]. Memory that is not physically contiguous is
//! a list of [`Segment`]s, and a range that spans two of them has no device
//! address ([`DmaError::NotContiguous`]), never a silently wrong one.
//!
//! [`PagemapAllocator`] serves devices that DMA to physical addresses
//! (a PCI device bound to `uio_pci_generic`, no IOMMU): it finds each
//! page's frame number in `/proc/self/pagemap`, and refuses memory the
//! device's [`DmaMask`] does not reach (a device drops the high address
//! bits and would corrupt another page: QEMU's `edu` has 28 bits). An IOMMU
//! backend (VFIO) builds the same [`DmaBuffer`] with IOVAs
//! ([`DmaBuffer::from_parts`]), so drivers written against
//! [`DmaAllocator`] need no change.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use dma_mem::{DmaAllocator, DmaMask, PagemapAllocator};
//!
//! // QEMU's edu reaches 28 address bits.
//! let alloc = PagemapAllocator::new(DmaMask::bits(28));
//! let buf = alloc.alloc(4096)?; // one page: one segment
//! buf.region().write_bytes(0, b"hello, device")?;
//! let addr = buf.device_addr(0, 13)?; // give this to the device
//! println!("{} segment(s); bytes 0..13 at {addr:#x}", buf.segments().len());
//! # Ok(()) }
//! ```
//!
//! # Privileges and limits
//!
//! * Physical addresses need `CAP_SYS_ADMIN`: without it the kernel reports
//!   every frame number as 0, which [`PagemapAllocator`] turns into
//!   [`DmaError::NeedsCapSysAdmin`] (never a device address of 0).
//! * Locked memory counts against `RLIMIT_MEMLOCK` unless the process has
//!   `CAP_IPC_LOCK` ([`DmaError::Lock`] says the limit and how to raise it).
//! * Hugepages ([`PagemapAllocator::hugepages`]) must have been reserved:
//!   `echo N > /proc/sys/vm/nr_hugepages` or the kernel argument
//!   `hugepages=N` ([`DmaError::NoHugepages`] otherwise).
//!
//! # Pages can move
//!
//! Locking keeps pages in RAM, but does not pin them to one physical
//! address: memory compaction migrates even locked pages while
//! `vm.compact_unevictable_allowed` is 1 (the default), and a DMA to the
//! old address then corrupts whatever the page frame holds next. (The
//! kernel's own drivers pin pages; user space cannot without an IOMMU
//! driver such as VFIO.) A driver that uses pagemap addresses should
//!
//! * keep buffers short-lived (allocate, transfer, free),
//! * or set `sysctl vm.compact_unevictable_allowed=0` on the machine,
//! * and may call [`DmaBuffer::verify`] before a transfer, which looks the
//!   pages up again and returns [`DmaError::PageMoved`] if one moved.
//!
//! The allocator also marks the mapping `MADV_DONTFORK` (a forked child
//! would otherwise share the pages copy-on-write, and the parent's next
//! write would move them to a new frame) and, for base pages,
//! `MADV_NOHUGEPAGE` (so `khugepaged` does not collapse them into a
//! transparent hugepage elsewhere).
//!
//! # Ordering
//!
//! A buffer is ordinary RAM: CPU writes to it must be made visible before
//! the MMIO write that starts the device, and CPU reads of it ordered after
//! the MMIO read that saw completion (`hal_core::order`).
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod alloc;
mod buffer;
mod error;
mod mask;
mod pagemap;

pub use alloc::{DmaAllocator, PagemapAllocator, HUGEPAGE_SIZE};
pub use buffer::{DmaBuffer, Segment};
pub use error::DmaError;
pub use mask::DmaMask;

#[cfg(test)]
mod tests;
