//! Physical addresses from `/proc/self/pagemap`, and how a buffer's pages
//! become [`Segment`]s.
//!
//! The lookup goes through the [`Pagemap`] trait so that host tests can
//! feed entries a real kernel would give only in rare conditions (no
//! privilege, memory above a mask, discontiguous pages, hugepages).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::buffer::push_segment;
use crate::error::DmaError;
use crate::mask::DmaMask;
use crate::Segment;

/// Where the page table entries come from.
pub(crate) trait Pagemap {
    /// The raw 64-bit entries of `out.len()` consecutive base pages, the
    /// first of which is virtual page number `first_page` (address divided
    /// by the base page size).
    fn entries(&self, first_page: u64, out: &mut [u64]) -> Result<(), DmaError>;
}

/// The kernel's `/proc/self/pagemap`, opened for each lookup (the
/// kernel checks CAP_SYS_ADMIN with the opener's credentials).
pub(crate) struct ProcPagemap;

const PATH: &str = "/proc/self/pagemap";

impl Pagemap for ProcPagemap {
    fn entries(&self, first_page: u64, out: &mut [u64]) -> Result<(), DmaError> {
        let io = |op, error| DmaError::Io {
            op,
            path: Path::new(PATH).to_path_buf(),
            error,
        };
        let file = File::open(PATH).map_err(|e| io("opening", e))?;
        let mut bytes = vec![0u8; out.len() * 8];
        // One u64 per page at offset page * 8 (`pos` and `count` must be
        // multiples of 8, which they are).
        file.read_exact_at(&mut bytes, first_page * 8)
            .map_err(|e| io("reading", e))?;
        for (entry, raw) in out.iter_mut().zip(bytes.chunks_exact(8)) {
            *entry = u64::from_ne_bytes(raw.try_into().expect("chunks of 8 bytes"));
        }
        Ok(())
    }
}

/// Bit 63 of an entry: the page is present in RAM.
pub(crate) const PRESENT: u64 = 1 << 63;
/// Bits 0-54 of a present entry: the page frame number.
pub(crate) const PFN_MASK: u64 = (1 << 55) - 1;

/// The physical address of the base page described by `entry`, which is
/// the buffer's page at `offset`.
fn page_address(entry: u64, offset: usize, page: usize) -> Result<u64, DmaError> {
    if entry & PRESENT == 0 {
        return Err(DmaError::PageNotPresent { offset });
    }
    match entry & PFN_MASK {
        // No user page is ever frame 0: this is the kernel hiding the
        // number from a reader without CAP_SYS_ADMIN.
        0 => Err(DmaError::NeedsCapSysAdmin),
        pfn => pfn
            .checked_mul(page as u64)
            .ok_or(DmaError::BadPagemapEntry { offset, entry }),
    }
}

/// The device address of every base page of a `len`-byte buffer whose
/// first page is virtual page `first_page`, looked up one by one.
pub(crate) fn page_addresses(
    pagemap: &dyn Pagemap,
    first_page: u64,
    len: usize,
    page: usize,
) -> Result<Vec<u64>, DmaError> {
    let mut entries = vec![0u64; len.div_ceil(page)];
    pagemap.entries(first_page, &mut entries)?;
    entries
        .iter()
        .enumerate()
        .map(|(i, &e)| page_address(e, i * page, page))
        .collect()
}

/// The segments of a `len`-byte buffer whose base pages have these device
/// addresses: neighbouring pages share a segment only when they are
/// physically contiguous. Every byte must be inside `mask`.
pub(crate) fn segments(
    addresses: &[u64],
    len: usize,
    page: usize,
    mask: DmaMask,
) -> Result<Vec<Segment>, DmaError> {
    let mut out: Vec<Segment> = Vec::new();
    for (i, &addr) in addresses.iter().enumerate() {
        let offset = i * page;
        let bytes = page.min(len - offset);
        let s = Segment {
            offset,
            len: bytes,
            device_addr: addr,
        };
        push_segment(&mut out, s, mask)?;
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod fake {
    use super::*;
    use std::cell::RefCell;

    /// Entries from a list: entry `i` is the buffer's page `i`.
    pub(crate) struct FakePagemap {
        pub(crate) entries: RefCell<Vec<u64>>,
    }

    impl FakePagemap {
        pub(crate) fn new(entries: Vec<u64>) -> FakePagemap {
            FakePagemap {
                entries: RefCell::new(entries),
            }
        }
    }

    impl Pagemap for FakePagemap {
        fn entries(&self, _first_page: u64, out: &mut [u64]) -> Result<(), DmaError> {
            let e = self.entries.borrow();
            out.copy_from_slice(&e[..out.len()]);
            Ok(())
        }
    }

    /// A present entry for frame `pfn`, with the flags a locked anonymous
    /// page has (bit 56: exclusively mapped).
    pub(crate) fn present(pfn: u64) -> u64 {
        PRESENT | (1 << 56) | pfn
    }
}
