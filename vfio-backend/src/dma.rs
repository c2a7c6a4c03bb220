//! DMA buffers mapped at IOVAs (`VFIO_IOMMU_MAP_DMA`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use dma_mem::{DmaAllocator, DmaBuffer, DmaError, DmaMask, Segment};
use hal_core::Region;
use nix::errno::Errno;
use vfio_bindings::bindings::vfio::{VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE};

use crate::device::{Inner, VfioDevice};
use crate::iommu::IovaRange;
use crate::sys;

/// The lowest IOVA handed out (the first 1 MiB is left unused, so that a
/// device given address 0 by mistake faults).
pub const IOVA_BASE: u64 = 0x10_0000;

/// The x86 MSI window `0xfee00000..0xfef00000` (start, length): the IOMMU
/// reserves it for interrupt messages. Used only when the kernel reports no
/// IOVA ranges ([`crate::IovaSource::Fallback`]); otherwise the reported
/// ranges already leave it out.
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
/// range at or above [`IOVA_BASE`] that fits below the mask and inside one
/// of the IOMMU's usable IOVA ranges ([`VfioDevice::iova_ranges`]) is used,
/// and freed again (IOMMU mapping removed) when the buffer is dropped. All
/// allocators of one device share its IOVA space.
///
/// An IOMMU whose smallest page is larger than the CPU's page is refused
/// (the buffer's memory could not be mapped at IOMMU-page alignment).
///
/// If removing the mapping fails when a buffer is dropped (the kernel
/// refuses `VFIO_IOMMU_UNMAP_DMA` or unmaps less than the buffer), its
/// IOVAs stay reserved, never handed out again (the device may still
/// reach the pages, which the kernel keeps pinned, not reused), the first
/// such failure of a device is reported on stderr, and
/// [`unmap_failures`](Self::unmap_failures) counts them all: a drop hook
/// cannot return an error.
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
        if let Some(iommu_page) = self.inner.iommu.min_page_size() {
            if iommu_page > page {
                return Err(vfio_err(format!(
                    "the IOMMU's smallest page is {iommu_page:#x} bytes, larger than the CPU's {page:#x}: not supported"
                )));
            }
        }
        let size = (len as u64).div_ceil(page) * page;
        let region = Region::anonymous(len).map_err(|e| vfio_err(e.to_string()))?;
        let iova = {
            let mut iovas = self.inner.iovas.lock().unwrap_or_else(|e| e.into_inner());
            let usable = &self.inner.iommu.iova_ranges;
            let iova = pick_iova(&iovas, size, self.mask.max_addr(), usable).ok_or_else(|| {
                vfio_err(format!(
                    "no free IOVA range of {size:#x} bytes between {IOVA_BASE:#x} and the {} mask's {:#x} inside the IOMMU's usable ranges ({}): free buffers, or use a device with a wider DMA mask",
                    self.mask,
                    self.mask.max_addr(),
                    usable.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", ")
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

impl VfioAllocator {
    /// How many times removing a dropped buffer's IOMMU mapping failed on
    /// this device (all its allocators): each such buffer's IOVAs stay
    /// reserved. 0 unless the kernel refused an unmap.
    pub fn unmap_failures(&self) -> u64 {
        self.inner.unmap_failures.load(Ordering::Relaxed)
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
            let unmapped = sys::unmap_dma(
                std::os::fd::AsFd::as_fd(&self.inner.container),
                self.iova,
                self.size,
            );
            let failure = match unmapped {
                Ok(n) if n == self.size => None,
                Ok(n) => Some(format!("{n:#x} of {:#x} bytes unmapped", self.size)),
                Err(errno) => Some(errno.to_string()),
            };
            if let Some(failure) = failure {
                let before = self.inner.unmap_failures.fetch_add(1, Ordering::Relaxed);
                if before == 0 {
                    eprintln!(
                        "vfio-backend: VFIO_IOMMU_UNMAP_DMA of IOVA {:#x}+{:#x} for {} failed ({failure}): the IOVAs stay reserved (further failures are only counted: VfioAllocator::unmap_failures)",
                        self.iova, self.size, self.inner.name
                    );
                }
                // Keep the IOVAs taken: they may still be mapped.
                return;
            }
        }
        let mut iovas = self.inner.iovas.lock().unwrap_or_else(|e| e.into_inner());
        iovas.remove(&self.iova);
    }
}

/// The lowest `size`-byte range at or above [`IOVA_BASE`] that overlaps no
/// range of `taken` (start -> length), lies inside one range of `usable`
/// (sorted, inclusive ends) and ends at or below `max_addr`.
pub(crate) fn pick_iova(
    taken: &BTreeMap<u64, u64>,
    size: u64,
    max_addr: u64,
    usable: &[IovaRange],
) -> Option<u64> {
    let last_of = |at: u64| at.checked_add(size)?.checked_sub(1);
    for range in usable {
        let mut at = range.start.max(IOVA_BASE);
        let end = range.end.min(max_addr);
        for (&start, &len) in taken {
            if last_of(at)? < start {
                break;
            }
            at = at.max(start.checked_add(len)?);
        }
        match last_of(at) {
            Some(last) if last <= end => return Some(at),
            _ => continue,
        }
    }
    None
}
