//! The buffer: memory the CPU reaches through a [`Region`] and the device
//! through [`Segment`]s of device addresses.

use hal_core::Region;

use crate::error::DmaError;
use crate::mask::DmaMask;
use crate::pagemap::{self, Pagemap, ProcPagemap};

/// A physically contiguous piece of a [`DmaBuffer`]: bytes
/// `offset..offset + len` of the buffer are at device addresses
/// `device_addr..device_addr + len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segment {
    /// Where the segment starts in the buffer.
    pub offset: usize,
    /// Its length in bytes (never 0).
    pub len: usize,
    /// The device address of its first byte (a physical address for
    /// UIO, an IOVA behind an IOMMU).
    pub device_addr: u64,
}

/// How a buffer's device addresses were found, which decides how
/// [`DmaBuffer::verify`] checks them.
#[derive(Debug)]
enum Origin {
    /// Physical addresses from pagemap; the buffer starts at virtual page
    /// `first_page` of base pages of `page` bytes.
    Pagemap { first_page: u64, page: usize },
    /// Given by the allocator (IOVAs an IOMMU maps, which do not move).
    External,
}

/// Memory a device can reach by DMA: page-locked and populated for its
/// whole life, freed on drop.
///
/// The CPU reads and writes it through [`region`](DmaBuffer::region) (a
/// [`hal_core::Region`] of kind [`hal_core::MemoryKind::Ram`]); the device is given
/// [`device_addr`](DmaBuffer::device_addr)s. Memory that is not physically
/// contiguous is a list of [`segments`](DmaBuffer::segments), and a range
/// that spans two of them has no device address.
///
/// Between CPU writes to the buffer and the register write that starts the
/// device, and between the register read that sees completion and CPU reads
/// of the buffer, the driver needs ordering (`hal_core::order`).
#[derive(Debug)]
pub struct DmaBuffer {
    // First field: dropped first, so the hook (an IOMMU unmap) runs while
    // the memory is still mapped.
    on_drop: Option<DropHook>,
    region: Region,
    segments: Vec<Segment>,
    mask: DmaMask,
    origin: Origin,
}

impl DmaBuffer {
    /// A buffer over `region` whose bytes are at the device addresses
    /// `segments` give: for allocators other than this crate's (a VFIO
    /// backend, with IOVAs it has mapped for the region's memory).
    ///
    /// The segments must be in order, non-empty, and cover
    /// `0..region.len()` without gaps or overlap
    /// ([`DmaError::BadSegments`] otherwise), and each must be inside
    /// `mask` ([`DmaError::AboveMask`]). Neighbouring contiguous segments
    /// are merged. The region must stay where the segments say for as long
    /// as it lives (its owner keeps the memory pinned or mapped).
    pub fn from_parts(
        region: Region,
        segments: Vec<Segment>,
        mask: DmaMask,
    ) -> Result<DmaBuffer, DmaError> {
        let mut merged: Vec<Segment> = Vec::with_capacity(segments.len());
        let mut next = 0usize;
        for s in segments {
            let bad = |detail: String| DmaError::BadSegments { detail };
            if s.len == 0 {
                return Err(bad(format!(
                    "the segment at offset {:#x} is empty",
                    s.offset
                )));
            }
            if s.offset != next {
                return Err(bad(format!(
                    "a segment starts at offset {:#x} where {next:#x} was expected",
                    s.offset
                )));
            }
            next = s.offset.checked_add(s.len).ok_or_else(|| {
                bad(format!(
                    "the segment at offset {:#x} ends past usize::MAX",
                    s.offset
                ))
            })?;
            push_segment(&mut merged, s, mask)?;
        }
        if next != region.len() {
            return Err(DmaError::BadSegments {
                detail: format!(
                    "they cover {next:#x} bytes of a region of {:#x}",
                    region.len()
                ),
            });
        }
        Ok(DmaBuffer {
            on_drop: None,
            region,
            segments: merged,
            mask,
            origin: Origin::External,
        })
    }

    /// A buffer over `region`, a locked mapping that starts at a page
    /// boundary, with its addresses looked up in `pagemap`.
    pub(crate) fn from_pagemap(
        region: Region,
        mask: DmaMask,
        pagemap: &dyn Pagemap,
    ) -> Result<DmaBuffer, DmaError> {
        let page = hal_core::page_size();
        let first_page = region.as_ptr() as u64 / page as u64;
        let addresses = pagemap::page_addresses(pagemap, first_page, region.len(), page)?;
        let segments = pagemap::segments(&addresses, region.len(), page, mask)?;
        Ok(DmaBuffer {
            on_drop: None,
            region,
            segments,
            mask,
            origin: Origin::Pagemap { first_page, page },
        })
    }

    /// Runs `hook` when the buffer is dropped, before its memory is freed:
    /// for allocators that must undo something per buffer (a VFIO backend
    /// unmaps the buffer's IOVAs, so the device can no longer reach the
    /// memory once it is freed). A second call replaces the first hook,
    /// which then never runs.
    pub fn with_drop_hook(mut self, hook: impl FnOnce() + Send + Sync + 'static) -> DmaBuffer {
        self.on_drop = Some(DropHook(Some(Box::new(hook))));
        self
    }

    /// Length of the buffer in bytes.
    pub fn len(&self) -> usize {
        self.region.len()
    }

    /// Whether the buffer is empty (never: a buffer has at least one byte).
    pub fn is_empty(&self) -> bool {
        self.region.is_empty()
    }

    /// The physically contiguous pieces of the buffer, in order; together
    /// they cover `0..len()`.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The device address of bytes `offset..offset + len`: the address to
    /// give the device for a transfer of those bytes.
    ///
    /// [`DmaError::OutOfBounds`] if the range is empty or not inside the
    /// buffer; [`DmaError::NotContiguous`] if it spans two segments (its
    /// bytes are not at consecutive device addresses).
    pub fn device_addr(&self, offset: usize, len: usize) -> Result<u64, DmaError> {
        device_addr(&self.segments, self.len(), offset, len)
    }

    /// The CPU's view of the buffer: RAM, read and written with the
    /// region's methods (`read_bytes`, `write_bytes`, `try_read32`, ...).
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// The mask of the device the buffer was allocated for; every byte of
    /// the buffer is inside it.
    pub fn mask(&self) -> DmaMask {
        self.mask
    }

    /// Checks that every page is still at the device address it had when
    /// the buffer was allocated ([`DmaError::PageMoved`] otherwise).
    ///
    /// Locked pages can still be moved by memory compaction (see the crate
    /// docs); a driver that keeps a buffer for long can call this before
    /// starting a transfer, to fail instead of corrupting memory. Buffers
    /// whose addresses the allocator fixed (IOVAs) always pass.
    pub fn verify(&self) -> Result<(), DmaError> {
        self.verify_with(&ProcPagemap)
    }

    pub(crate) fn verify_with(&self, pagemap: &dyn Pagemap) -> Result<(), DmaError> {
        let Origin::Pagemap { first_page, page } = self.origin else {
            return Ok(());
        };
        let now = pagemap::page_addresses(pagemap, first_page, self.len(), page)?;
        for (i, now) in now.into_iter().enumerate() {
            let offset = i * page;
            let was = device_addr(&self.segments, self.len(), offset, 1)?;
            if was != now {
                return Err(DmaError::PageMoved { offset, was, now });
            }
        }
        Ok(())
    }
}

/// A function run once when its owner is dropped.
struct DropHook(Option<Box<dyn FnOnce() + Send + Sync>>);

impl Drop for DropHook {
    fn drop(&mut self) {
        if let Some(hook) = self.0.take() {
            hook();
        }
    }
}

impl std::fmt::Debug for DropHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DropHook")
    }
}

/// [`DmaBuffer::device_addr`] over a buffer's segments.
fn device_addr(
    segments: &[Segment],
    buffer_len: usize,
    offset: usize,
    len: usize,
) -> Result<u64, DmaError> {
    let out = DmaError::OutOfBounds {
        offset,
        len,
        buffer_len,
    };
    match offset.checked_add(len) {
        Some(end) if len > 0 && end <= buffer_len => {}
        _ => return Err(out),
    }
    // The last segment that starts at or before `offset`.
    let i = segments.partition_point(|s| s.offset <= offset);
    let s = segments[i - 1];
    if offset + len > s.offset + s.len {
        return Err(DmaError::NotContiguous { offset, len });
    }
    Ok(s.device_addr + (offset - s.offset) as u64)
}

/// Appends `s` to `out`, merged into the last segment if it continues it
/// physically; [`DmaError::AboveMask`] if a byte of it is outside `mask`.
pub(crate) fn push_segment(
    out: &mut Vec<Segment>,
    s: Segment,
    mask: DmaMask,
) -> Result<(), DmaError> {
    if !mask.contains(s.device_addr, s.len) {
        // The first byte the device cannot reach.
        let addr = s.device_addr.max(mask.max_addr().saturating_add(1));
        return Err(DmaError::AboveMask { addr, mask });
    }
    match out.last_mut() {
        Some(last) if last.device_addr.checked_add(last.len as u64) == Some(s.device_addr) => {
            last.len += s.len;
        }
        _ => out.push(s),
    }
    Ok(())
}
