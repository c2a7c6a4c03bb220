//! The orderings a driver needs between its DMA memory and its MMIO
//! accesses, and why they cost nothing (or one `sfence`) on x86-64.
//!
//! A driver that uses DMA does two things in a fixed order:
//!
//! 1. **Submit**: write a request or data into DMA memory with plain CPU
//!    stores, *then* write a doorbell register (MMIO) that makes the device
//!    read that memory. Call [`before_doorbell`] between the two.
//! 2. **Complete**: read a status register (MMIO) until it says the device
//!    is done, *then* read what the device wrote into DMA memory. Call
//!    [`after_completion`] between the two.
//!
//! ```
//! # use hal_core::{Io, Region, order};
//! # let dma = Region::anonymous(4096)?;      // stands in for a DMA buffer
//! # let bar = Region::anonymous(4096)?;      // stands in for the device's BAR
//! dma.write_from(0, b"request")?;           // 1. fill the buffer ...
//! order::before_doorbell();
//! bar.try_write32(0x98, 1)?;                // ... then start the device
//!
//! while bar.try_read32(0x20)? & 1 != 0 {}   // 2. wait until not busy ...
//! order::after_completion();
//! let mut reply = [0u8; 7];
//! dma.read_into(0, &mut reply)?;            // ... then read its result
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Why these are needed: the compiler
//!
//! A volatile store orders nothing but other volatile accesses: the
//! compiler may move a plain store to DMA memory past a `write_volatile` to
//! the doorbell (or keep it in a register until later), and may move a
//! plain load of DMA memory before the `read_volatile` that saw the
//! completion. Neither is visible to a single-threaded program, so both are
//! allowed; both break a device that reads the memory in between.
//!
//! This crate's [`Region`](crate::Region) does its accesses as inline
//! assembly **without** the `nomem` or `readonly` options (only `nostack`
//! and `preserves_flags`). The compiler must therefore assume each access
//! may read and write any memory whose address has left the function, a
//! mapped DMA buffer included, and does not move such loads and stores
//! across it: in practice a `Region` access is already a compiler barrier.
//! That is a property of how the compiler treats the assembly, though, not
//! an ordering promise of Rust's memory model, in which the access is a
//! *relaxed* atomic (which orders nothing); and other [`Io`](crate::Io)
//! backends (a volatile-based one, a trace wrapper) need not have it. The
//! functions here are atomic fences ([`core::sync::atomic::fence`]), which
//! make the next MMIO store a release store and the MMIO load before them
//! an acquire load in the memory model, for every backend; they cost
//! nothing on x86-64 (below).
//!
//! # Why they are free on x86-64: the hardware
//!
//! * DMA memory is ordinary write-back (WB) RAM (pinned pages, hugetlbfs);
//!   MMIO mapped through UIO, sysfs `resourceN` and `/dev/mem` is uncached
//!   (UC). x86-64 orders memory as TSO: stores become visible in program
//!   order, loads are not reordered with other loads, and UC accesses are
//!   strongly ordered, performed in program order and never speculatively.
//!   DMA is cache-coherent on x86, so the device sees the stores that
//!   reached the cache. So a WB store followed by a UC store reaches the
//!   device first, and a WB load after a UC load is not satisfied before it.
//! * Linux relies on the same facts: on x86-64 its `dma_wmb()` and
//!   `dma_rmb()` are compiler barriers only, and `writel`/`readl` contain no
//!   fence instruction.
//! * So [`fence`]`(Release)` and
//!   `fence(Acquire)` emit **no instruction** on x86-64; they only stop the
//!   compiler (`device-specs/tests/single_access.rs` checks the release assembly).
//!
//! # Write-combining mappings need `sfence`
//!
//! Write-combining (WC) memory is the exception: WC stores are weakly
//! ordered, collected in write-combining buffers and may reach the device
//! after a later UC store. `devmem-backend`'s `map_bar_wc` (a PCI
//! `resourceN_wc` file) maps WC, and so would non-temporal (`movnt`)
//! stores. Data written through such a mapping must be followed by
//! [`flush_write_combining`] (an `sfence`, what Linux's `wmb()` is on
//! x86-64) before the doorbell. No other backend of this workspace maps WC.
//!
//! # What these do not cover
//!
//! Ordering between a driver's own threads (use atomics or locks), and
//! the device's side: a device that writes its status register before its
//! DMA writes have landed is a broken device, not something a CPU fence
//! can fix.

use core::sync::atomic::{fence, Ordering};

/// Orders the CPU's earlier writes to DMA memory before the MMIO write that
/// follows (the doorbell that makes the device read that memory).
///
/// A `Release` fence: no instruction on x86-64, but the compiler may not
/// move earlier loads or stores past the next (MMIO) store. See the
/// [module documentation](self) for the reasoning, and
/// [`flush_write_combining`] for data written through a WC mapping.
#[inline(always)]
pub fn before_doorbell() {
    fence(Ordering::Release);
}

/// Orders the CPU's later reads of DMA memory after the MMIO read that
/// observed the device's completion.
///
/// An `Acquire` fence: no instruction on x86-64, but the compiler may not
/// move later loads or stores before the earlier (MMIO) load. See the
/// [module documentation](self).
#[inline(always)]
pub fn after_completion() {
    fence(Ordering::Acquire);
}

/// Drains the CPU's write-combining buffers: every store before it
/// (through a write-combining mapping, or non-temporal) is visible before
/// any store after it. An `sfence` instruction.
///
/// Call it after writing data through a WC mapping (`devmem-backend`'s
/// `map_bar_wc`) and before the MMIO write that makes the device use the
/// data; [`before_doorbell`] alone is enough for write-back RAM.
#[inline(always)]
pub fn flush_write_combining() {
    // The compiler must not move stores across it either.
    fence(Ordering::Release);
    // SAFETY: `_mm_sfence` needs only SSE, which is part of the x86-64
    // baseline that every target this crate builds for has; it has no
    // other precondition.
    unsafe { core::arch::x86_64::_mm_sfence() };
    fence(Ordering::Release);
}
