//! The IOVA side of VFIO DMA in the VFIO VM: the ranges the emulated
//! intel-iommu reports, and a buffer's IOVA after the buffer is dropped.

use device_specs::edu;
use dma_mem::DmaAllocator;
use vfio_backend::{IovaSource, MSI_WINDOW};

use super::vfio::{
    bytes, dmar_faults, edu_dma, iova, kernel_log, open_edu, round_trip, DMA_LEN, EDU_MASK,
};
use super::Outcome;
use crate::{first_difference, pattern};

/// The IOVA ranges and page sizes the IOMMU reports for edu's container:
/// reported by the kernel (Debian 12's 6.1 has the capability), the x86
/// MSI window left out, and buffers allocated inside them.
pub fn iova_ranges() -> Outcome {
    let (dev, _bar0) = open_edu()?;
    let info = dev.iommu_info();
    if let IovaSource::Fallback(why) = &info.source {
        return Err(format!("the kernel reported no IOVA ranges: {why}"));
    }
    let ranges = dev.iova_ranges();
    let (msi, msi_len) = MSI_WINDOW;
    if let Some(r) = ranges
        .iter()
        .find(|r| r.start < msi + msi_len && r.end >= msi)
    {
        return Err(format!(
            "usable range {r} overlaps the MSI window {msi:#x}+{msi_len:#x}"
        ));
    }
    let alloc = dev.dma_allocator(EDU_MASK);
    let buf = alloc.alloc(3 * 4096).map_err(|e| e.to_string())?;
    let at = iova(&buf)?;
    if !ranges
        .iter()
        .any(|r| r.start <= at && at + 3 * 4096 - 1 <= r.end)
    {
        return Err(format!("buffer IOVA {at:#x} is outside every usable range"));
    }
    let list: Vec<String> = ranges.iter().map(|r| r.to_string()).collect();
    Ok(format!(
        "IOVA ranges reported by the IOMMU: {}; page sizes {:#x} (smallest {:#x}); a 12 KiB buffer at IOVA {at:#x}",
        list.join(", "),
        info.page_sizes,
        info.min_page_size().unwrap_or(0),
    ))
}

/// A buffer the device reaches (RAM -> edu -> RAM) until it is dropped;
/// then at its IOVA edu's writes are dropped and its reads give zeros, the
/// buffers mapped on either side of it are unchanged (the dropped pages
/// themselves are gone from the process: the neighbours are the memory we
/// can still see), the kernel logs a DMAR fault for that IOVA, and nothing
/// failed to unmap.
pub fn edu_dropped_buffer() -> Outcome {
    let (dev, bar0) = open_edu()?;
    let regs = edu::Regs::new(&bar0).map_err(|e| e.to_string())?;
    let alloc = dev.dma_allocator(EDU_MASK);
    let before = alloc.alloc(4096).map_err(|e| e.to_string())?;
    let gone = alloc.alloc(4096).map_err(|e| e.to_string())?;
    let after = alloc.alloc(4096).map_err(|e| e.to_string())?;
    let target = iova(&gone)?;
    let (below, above) = (iova(&before)?, iova(&after)?);
    if below >= target || above <= target {
        return Err(format!(
            "IOVAs {below:#x}, {target:#x}, {above:#x} are not in order: the neighbour check would prove nothing"
        ));
    }
    // While mapped, edu reaches it both ways.
    let data = pattern(0x7f10_0003, DMA_LEN);
    round_trip(&regs, &gone, &gone, &data)?;
    // The neighbours hold their own pattern, to see any stray write.
    let fill = pattern(0x7f10_0004, DMA_LEN);
    for b in [&before, &after] {
        b.region()
            .write_bytes(0, &fill)
            .map_err(|e| e.to_string())?;
    }
    let faults_before = dmar_faults(&kernel_log()?, target).len();
    drop(gone);
    // Device -> RAM at the dropped IOVA (edu's buffer holds `data`).
    edu_dma(&regs, target, true)?;
    for (name, b) in [("below", &before), ("above", &after)] {
        if let Some(i) = first_difference(&bytes(b)?, &fill) {
            return Err(format!(
                "byte {i} of the buffer {name} the dropped one changed after a DMA to its IOVA {target:#x}"
            ));
        }
    }
    // RAM -> device from the dropped IOVA: edu reads zeros, seen by
    // copying edu's buffer out to a mapped buffer.
    edu_dma(&regs, target, false)?;
    edu_dma(&regs, below, true)?;
    if let Some(i) = bytes(&before)?.iter().position(|&b| b != 0) {
        return Err(format!(
            "edu read non-zero byte {i} from dropped IOVA {target:#x}"
        ));
    }
    let log = await_dmar_fault(&regs, target, faults_before)?;
    let faults = dmar_faults(&log, target);
    if alloc.unmap_failures() != 0 {
        return Err(format!(
            "{} unmap failures reported",
            alloc.unmap_failures()
        ));
    }
    Ok(format!(
        "IOVA {target:#x}: round trip while mapped; after drop writes dropped (neighbours {below:#x} and {above:#x} unchanged), reads zero, {} new DMAR fault(s); kernel: {}",
        faults.len() - faults_before,
        faults.last().map(|l| l.trim()).unwrap_or_default()
    ))
}

/// The kernel log once it holds more than `before` DMAR fault lines for
/// `target`. The kernel rate-limits those lines (a few per burst, for some
/// seconds), and the cases before this one in the VM may have used the
/// burst: when none is there, wait past the limit's interval and let edu
/// write to `target` again, at most three times.
fn await_dmar_fault(regs: &edu::Regs<'_>, target: u64, before: usize) -> Result<String, String> {
    for _ in 0..3 {
        let log = kernel_log()?;
        if dmar_faults(&log, target).len() > before {
            return Ok(log);
        }
        std::thread::sleep(std::time::Duration::from_secs(6));
        edu_dma(regs, target, true)?;
    }
    let log = kernel_log()?;
    if dmar_faults(&log, target).len() > before {
        return Ok(log);
    }
    Err(format!(
        "no new DMAR fault for dropped IOVA {target:#x} in the kernel log ({before} before), after three DMAs spaced past the log's rate limit"
    ))
}
