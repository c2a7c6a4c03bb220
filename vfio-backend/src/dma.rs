//! DMA buffers mapped at IOVAs (`VFIO_IOMMU_MAP_DMA`).

use std::collections::BTreeMap;
use std::sync::Arc;

use dma_mem::{DmaAllocator, DmaBuffer, DmaError, DmaMask, Segment};
use hal_core::Region;
use nix::errno::Errno;
use vfio_bindings::bindings::vfio::{VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE};

use crate::device::{Inner, VfioDevice};
use crate::sys;

/// The lowest IOVA handed out (the first 1 MiB is left unused, so that a
/// device given address 0 by mistake faults).
pub const IOVA_BASE: u64 = 0x10_0000;

/// The x86 MSI window `0xfee00000..0xfef00000`: the IOMMU reserves it for
/// interrupt messages, so no buffer is mapped there.
pub const MSI_WINDOW: (u64, u64) = (0xfee0_0000, 0x10_0000);

impl VfioDevice {
    /// An allocator of DMA buffers for this device, at IOVAs within `mask`
    /// (the device's DMA mask: QEMU's edu has 28 bits unless its
    /// `dma_mask` property says otherwise).
    pub fn dma_allocator(&self, mask: DmaMask) -> VfioAllocator {
        VfioAllocator {
            inner: self.inner.clone(),
            mask,
        }
    }
}

/// Allocates anonymous memory and maps it in the device's IOMMU at an IOVA
/// it picks: no root, no physical addresses, no `mlock` (the kernel pins
/// the pages; they count against `RLIMIT_MEMLOCK` for a user without
/// `CAP_IPC_LOCK`).
///
/// Each buffer is one [`Segment`] at its IOVA; the lowest free page-aligned
/// range at or above [`IOVA_BASE`] that fits below the mask and outside
/// [`MSI_WINDOW`] is used, and freed again (IOMMU mapping removed) when the
/// buffer is dropped. All allocators of one device share its IOVA space.
#[derive(Debug, Clone)]
pub struct VfioAllocator {
    inner: Arc<Inner>,
    mask: DmaMask,
}

impl DmaAllocator for VfioAllocator {
    fn alloc(&self, len: usize) -> Result<DmaBuffer, DmaError> {
        if len == 0 {
            return Err(DmaError::ZeroLength);
        }
        let page = hal_core::page_size() as u64;
        let size = (len as u64).div_ceil(page) * page;
        let region = Region::anonymous(len).map_err(|e| vfio_err(e.to_string()))?;
        let iova = {
            let mut iovas = self.inner.iovas.lock().unwrap_or_else(|e| e.into_inner());
            let iova = pick_iova(&iovas, size, self.mask.max_addr()).ok_or_else(|| {
                vfio_err(format!(
                    "no free IOVA range of {size:#x} bytes between {IOVA_BASE:#x} and the {} mask's {:#x}: free buffers, or use a device with a wider DMA mask",
                    self.mask,
                    self.mask.max_addr()
                ))
            })?;
            iovas.insert(iova, size);
            iova
        };
        // From here on, dropping `mapping` unmaps (if mapped) and frees the IOVAs.
        let mut mapping = IovaMapping {
            inner: self.inner.clone(),
            iova,
            size,
            mapped: false,
        };
        sys::map_dma(
            std::os::fd::AsFd::as_fd(&self.inner.container),
            region.as_ptr() as u64,
            iova,
            size,
            VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        )
        .map_err(|errno| {
            let hint = match errno {
                Errno::ENOMEM => "; the pinned pages count against RLIMIT_MEMLOCK for a user without CAP_IPC_LOCK: raise it (`ulimit -l`) or use smaller buffers",
                _ => "",
            };
            vfio_err(format!(
                "VFIO_IOMMU_MAP_DMA of {size:#x} bytes at IOVA {iova:#x} for {}: {errno}{hint}",
                self.inner.name
            ))
        })?;
        mapping.mapped = true;
        let segments = vec![Segment {
            offset: 0,
            len,
            device_addr: iova,
        }];
        Ok(DmaBuffer::from_parts(region, segments, self.mask)?
            .with_drop_hook(move || drop(mapping)))
    }

    fn mask(&self) -> DmaMask {
        self.mask
    }
}

fn vfio_err(detail: String) -> DmaError {
    DmaError::Allocator {
        allocator: "VFIO",
        detail,
    }
}

/// IOVAs `iova..iova + size` taken in the device's IOVA space, and mapped
/// in its IOMMU once `mapped`; dropping it undoes both.
struct IovaMapping {
    inner: Arc<Inner>,
    iova: u64,
    size: u64,
    mapped: bool,
}

impl Drop for IovaMapping {
    fn drop(&mut self) {
        if self.mapped {
            // Fails only for a range that is not mapped; nothing to undo then.
            let _ = sys::unmap_dma(
                std::os::fd::AsFd::as_fd(&self.inner.container),
                self.iova,
                self.size,
            );
        }
        let mut iovas = self.inner.iovas.lock().unwrap_or_else(|e| e.into_inner());
        iovas.remove(&self.iova);
    }
}

/// The lowest `size`-byte range at or above [`IOVA_BASE`] that overlaps
/// neither a range of `taken` (start -> length) nor [`MSI_WINDOW`] and
/// ends at or below `max_addr`.
pub(crate) fn pick_iova(taken: &BTreeMap<u64, u64>, size: u64, max_addr: u64) -> Option<u64> {
    let mut used: Vec<(u64, u64)> = taken.iter().map(|(&s, &l)| (s, l)).collect();
    used.push(MSI_WINDOW);
    used.sort_unstable();
    let mut at = IOVA_BASE;
    for (start, len) in used {
        if at.checked_add(size)? <= start {
            break;
        }
        at = at.max(start.checked_add(len)?);
    }
    let last = at.checked_add(size)?.checked_sub(1)?;
    (last <= max_addr).then_some(at)
}
