//! What the container's IOMMU offers: usable IOVA ranges and page sizes
//! (`VFIO_IOMMU_GET_INFO` with its capability chain).
//!
//! The kernel (5.4 and later) reports the IOVA ranges a type1 container
//! may map in the capability `VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE`: the
//! IOMMU's address width minus its reserved regions (on x86 the MSI window
//! `0xfee00000..=0xfeefffff`, plus any RMRR of the platform). The info
//! structure grows with its capabilities: the caller passes its buffer size
//! in `argsz`, and a kernel with more to say sets `argsz` to the size it
//! needs and leaves `cap_offset` 0; the call is then repeated with a larger
//! buffer.

use std::fmt;

use vfio_bindings::bindings::vfio::{
    VFIO_IOMMU_INFO_CAPS, VFIO_IOMMU_INFO_PGSIZES, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
};

use crate::dma::MSI_WINDOW;
use crate::VfioError;

/// The fixed part of `struct vfio_iommu_type1_info`: argsz, flags,
/// iova_pgsizes, cap_offset, pad.
pub(crate) const INFO_LEN: usize = 24;
/// A capability header: id (u16), version (u16), next (u32).
const CAP_HEADER_LEN: usize = 8;
/// The IOVA range capability's header: cap header, nr_iovas, reserved.
const IOVA_CAP_LEN: usize = CAP_HEADER_LEN + 8;
/// One `struct vfio_iova_range`: start, end (inclusive).
const RANGE_LEN: usize = 16;

/// A range of IOVAs the IOMMU lets the container map, `start..=end`
/// (inclusive, as the kernel reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IovaRange {
    /// The first usable IOVA.
    pub start: u64,
    /// The last usable IOVA (inclusive).
    pub end: u64,
}

impl fmt::Display for IovaRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}..={:#x}", self.start, self.end)
    }
}

/// Where the IOVA ranges of an [`IommuInfo`] come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IovaSource {
    /// The kernel reported them (`VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE`).
    Reported,
    /// The kernel reported none (kernels before 5.4 have no such
    /// capability): every IOVA except the x86 MSI window [`MSI_WINDOW`] is
    /// assumed usable; a mapping in another reserved region is then refused
    /// by `VFIO_IOMMU_MAP_DMA`, not silently misplaced. The string says why.
    Fallback(String),
}

/// The container's IOMMU as `VFIO_IOMMU_GET_INFO` describes it
/// ([`VfioDevice::iommu_info`](crate::VfioDevice::iommu_info)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IommuInfo {
    /// The IOMMU page sizes, as a bitmap (bit n set: 2^n bytes), 0 if not
    /// reported.
    pub page_sizes: u64,
    /// The usable IOVA ranges, sorted, not overlapping.
    pub iova_ranges: Vec<IovaRange>,
    /// Whether the ranges were reported or assumed.
    pub source: IovaSource,
}

impl IommuInfo {
    /// The smallest IOMMU page size (the mapping granule), if reported.
    pub fn min_page_size(&self) -> Option<u64> {
        (self.page_sizes != 0).then(|| 1u64 << self.page_sizes.trailing_zeros())
    }
}

/// Why a `VFIO_IOMMU_GET_INFO` answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("VFIO_IOMMU_GET_INFO answer of {len} bytes: {detail}")]
pub struct InfoError {
    /// The size of the buffer.
    pub len: usize,
    /// What is wrong in it.
    pub detail: String,
}

/// What one `VFIO_IOMMU_GET_INFO` call answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InfoReply {
    /// The kernel needs a buffer of this many bytes for its capabilities.
    Grow(u32),
    /// The whole answer.
    Done(IommuInfo),
}

fn u16_at(buf: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(
        buf.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(
        buf.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(buf: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(
        buf.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Reads the answer of `VFIO_IOMMU_GET_INFO` in `buf` (the whole buffer the
/// call was given). Never trusts an offset or count in it: an offset
/// outside the buffer, a capability cut short, a chain that does not move
/// forward (each `next` must lie beyond the capability it follows, as the
/// kernel builds them: this also ends loops), or ranges that are inverted,
/// unsorted or overlapping are an [`InfoError`].
pub(crate) fn parse_info(buf: &[u8]) -> Result<InfoReply, InfoError> {
    let err = |detail: String| InfoError {
        len: buf.len(),
        detail,
    };
    let (Some(argsz), Some(flags), Some(pgsizes), Some(cap_offset)) = (
        u32_at(buf, 0),
        u32_at(buf, 4),
        u64_at(buf, 8),
        u32_at(buf, 16),
    ) else {
        return Err(err(format!("shorter than its fixed {INFO_LEN} bytes")));
    };
    let page_sizes = if flags & VFIO_IOMMU_INFO_PGSIZES != 0 {
        pgsizes
    } else {
        0
    };
    let fallback = |why: &str| {
        Ok(InfoReply::Done(IommuInfo {
            page_sizes,
            iova_ranges: fallback_ranges(),
            source: IovaSource::Fallback(why.to_string()),
        }))
    };
    if flags & VFIO_IOMMU_INFO_CAPS == 0 {
        return fallback(
            "the kernel reports no capabilities (VFIO_IOMMU_INFO_CAPS clear: a kernel before 5.4)",
        );
    }
    if argsz as usize > buf.len() {
        return Ok(InfoReply::Grow(argsz));
    }
    if cap_offset == 0 {
        // The capabilities did not fit although argsz says they do.
        return Err(err(format!(
            "capabilities flagged but cap_offset is 0 with argsz {argsz}"
        )));
    }
    let mut at = cap_offset as usize;
    let mut min_next = INFO_LEN;
    let mut ranges = None;
    loop {
        if at < min_next {
            return Err(err(format!(
                "capability at offset {at} is not beyond offset {min_next} (a chain must move forward)"
            )));
        }
        let (Some(id), Some(next)) = (u16_at(buf, at), u32_at(buf, at + 4)) else {
            return Err(err(format!(
                "capability header at offset {at} is outside the buffer"
            )));
        };
        if u32::from(id) == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE && ranges.is_none() {
            ranges = Some(parse_ranges(buf, at).map_err(err)?);
        }
        if next == 0 {
            break;
        }
        min_next = at + CAP_HEADER_LEN;
        at = next as usize;
    }
    match ranges {
        Some(iova_ranges) => Ok(InfoReply::Done(IommuInfo {
            page_sizes,
            iova_ranges,
            source: IovaSource::Reported,
        })),
        None => fallback(
            "the kernel reports no IOVA range capability (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)",
        ),
    }
}

fn parse_ranges(buf: &[u8], at: usize) -> Result<Vec<IovaRange>, String> {
    let n = u32_at(buf, at + CAP_HEADER_LEN)
        .ok_or_else(|| format!("IOVA range capability at offset {at} is cut short"))?;
    let first = at + IOVA_CAP_LEN;
    let fits = (n as usize)
        .checked_mul(RANGE_LEN)
        .and_then(|l| first.checked_add(l))
        .is_some_and(|end| end <= buf.len());
    if !fits {
        return Err(format!(
            "IOVA range capability at offset {at} claims {n} ranges, more than the buffer holds"
        ));
    }
    if n == 0 {
        return Err(format!(
            "IOVA range capability at offset {at} lists no range: nothing could be mapped"
        ));
    }
    let mut out: Vec<IovaRange> = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        let p = first + i * RANGE_LEN;
        let (Some(start), Some(end)) = (u64_at(buf, p), u64_at(buf, p + 8)) else {
            return Err(format!("IOVA range {i} is outside the buffer"));
        };
        let range = IovaRange { start, end };
        if start > end {
            return Err(format!("IOVA range {i} ({range}) ends before it starts"));
        }
        if let Some(prev) = out.last() {
            if start <= prev.end {
                return Err(format!(
                    "IOVA range {i} ({range}) does not follow range {} ({prev})",
                    i - 1
                ));
            }
        }
        out.push(range);
    }
    Ok(out)
}

/// The ranges assumed when the kernel reports none: all IOVAs but the x86
/// MSI window.
pub fn fallback_ranges() -> Vec<IovaRange> {
    let (msi, len) = MSI_WINDOW;
    vec![
        IovaRange {
            start: 0,
            end: msi - 1,
        },
        IovaRange {
            start: msi + len,
            end: u64::MAX,
        },
    ]
}

/// The most bytes asked for: a kernel asking for more is not believed.
const MAX_INFO_LEN: u32 = 1 << 16;

/// Reads the container's IOMMU info, growing the buffer as the kernel asks
/// (`argsz` protocol), for the device named `device`.
pub(crate) fn read_info(
    container: std::os::fd::BorrowedFd<'_>,
    device: &str,
) -> Result<IommuInfo, VfioError> {
    let mut len = 256;
    // The kernel asks for more once (its capabilities do not change); the
    // second pass is a margin.
    for _ in 0..3 {
        let buf = crate::sys::iommu_info(container, len).map_err(|errno| VfioError::Syscall {
            op: "VFIO_IOMMU_GET_INFO".into(),
            device: device.to_string(),
            errno,
        })?;
        match parse_info(&buf) {
            Ok(InfoReply::Done(info)) => return Ok(info),
            Ok(InfoReply::Grow(want)) if want <= MAX_INFO_LEN && want > len => len = want,
            Ok(InfoReply::Grow(want)) => {
                return Err(info_error(
                    device,
                    InfoError {
                        len: buf.len(),
                        detail: format!(
                            "the kernel asks for {want} bytes after {len} (at most {MAX_INFO_LEN} are given)"
                        ),
                    },
                ))
            }
            Err(e) => return Err(info_error(device, e)),
        }
    }
    Err(info_error(
        device,
        InfoError {
            len: len as usize,
            detail: "the kernel kept asking for a larger buffer".into(),
        },
    ))
}

fn info_error(device: &str, error: InfoError) -> VfioError {
    VfioError::IommuInfo {
        device: device.to_string(),
        error,
    }
}
