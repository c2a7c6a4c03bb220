//! The allocator's decisions, with pagemap entries from a fake: real memory
//! is mapped and locked, only the physical addresses are made up.

use crate::alloc::HUGEPAGE_SIZE;
use crate::pagemap::fake::{present, FakePagemap};
use crate::pagemap::{self, PFN_MASK, PRESENT};
use crate::{DmaBuffer, DmaError, DmaMask, PagemapAllocator, Segment};

fn page() -> usize {
    hal_core::page_size()
}

fn alloc(mask: DmaMask, pages: usize, entries: Vec<u64>) -> Result<DmaBuffer, DmaError> {
    PagemapAllocator::new(mask).alloc_with(pages * page(), &FakePagemap::new(entries))
}

#[test]
fn frame_number_zero_is_needs_cap_sys_admin() {
    // What an unprivileged reader sees: present, frame number 0.
    let e = alloc(DmaMask::ALL, 2, vec![PRESENT, PRESENT]).unwrap_err();
    assert!(matches!(e, DmaError::NeedsCapSysAdmin), "{e:?}");
    assert!(e.to_string().contains("needs CAP_SYS_ADMIN"), "{e}");
    // Even when only a later page reads 0.
    let e = alloc(DmaMask::ALL, 2, vec![present(0x1234), PRESENT]).unwrap_err();
    assert!(matches!(e, DmaError::NeedsCapSysAdmin), "{e:?}");
}

#[test]
fn a_page_that_is_not_present_is_an_error() {
    let e = alloc(DmaMask::ALL, 2, vec![present(0x1234), 0x1235]).unwrap_err();
    assert!(
        matches!(e, DmaError::PageNotPresent { offset } if offset == page()),
        "{e:?}"
    );
}

#[test]
fn a_page_above_a_28_bit_mask_is_refused_naming_the_mask() {
    let p = page() as u64;
    let edu = DmaMask::bits(28);
    // Frame 0x10000 is at 256 MiB with 4 KiB pages: the first address out.
    let high = (1u64 << 28) / p;
    let e = alloc(edu, 2, vec![present(0x1000), present(high)]).unwrap_err();
    match e {
        DmaError::AboveMask { addr, mask } => {
            assert_eq!(addr, 1 << 28);
            assert_eq!(mask, edu);
        }
        ref other => panic!("{other:?}"),
    }
    let text = e.to_string();
    assert!(text.contains("28-bit DMA mask"), "{text}");
    assert!(text.contains("silently"), "{text}");
    assert!(text.contains("0x10000000"), "{text}");
    // The last page below the limit is fine; a wider mask takes either.
    alloc(edu, 1, vec![present(high - 1)]).unwrap();
    alloc(DmaMask::bits(29), 1, vec![present(high)]).unwrap();
}

#[test]
fn contiguous_pages_make_one_segment() {
    let p = page();
    let b = alloc(DmaMask::bits(28), 2, vec![present(0x500), present(0x501)]).unwrap();
    assert_eq!(
        b.segments(),
        [Segment {
            offset: 0,
            len: 2 * p,
            device_addr: 0x500 * p as u64
        }]
    );
    // A range across the page boundary has one address.
    assert_eq!(
        b.device_addr(p - 4, 8).unwrap(),
        0x500 * p as u64 + p as u64 - 4
    );
    assert_eq!(b.device_addr(0, 2 * p).unwrap(), 0x500 * p as u64);
}

#[test]
fn discontiguous_pages_make_two_segments_and_no_address_across() {
    let p = page();
    let (a, c) = (0x700u64, 0x3f0u64);
    let b = alloc(DmaMask::bits(28), 2, vec![present(a), present(c)]).unwrap();
    assert_eq!(
        b.segments(),
        [
            Segment {
                offset: 0,
                len: p,
                device_addr: a * p as u64
            },
            Segment {
                offset: p,
                len: p,
                device_addr: c * p as u64
            },
        ]
    );
    assert_eq!(b.device_addr(0, p).unwrap(), a * p as u64);
    assert_eq!(b.device_addr(p + 16, 4).unwrap(), c * p as u64 + 16);
    let e = b.device_addr(p - 4, 8).unwrap_err();
    assert!(
        matches!(e, DmaError::NotContiguous { offset, len: 8 } if offset == p - 4),
        "{e:?}"
    );
    assert!(e.to_string().contains("not physically contiguous"), "{e}");
}

#[test]
fn a_partial_last_page_is_a_short_segment() {
    let p = page();
    let b = PagemapAllocator::new(DmaMask::ALL)
        .alloc_with(p + 100, &FakePagemap::new(vec![present(9), present(3)]))
        .unwrap();
    assert_eq!(b.len(), p + 100);
    assert_eq!(b.segments()[1].len, 100);
    assert!(b.device_addr(p + 90, 10).is_ok());
    assert!(matches!(
        b.device_addr(p + 90, 11),
        Err(DmaError::OutOfBounds { .. })
    ));
}

#[test]
fn out_of_bounds_and_empty_ranges_are_refused() {
    let p = page();
    let b = alloc(DmaMask::ALL, 1, vec![present(0x42)]).unwrap();
    for (offset, len) in [(0, p + 1), (p, 1), (p, 0), (0, 0), (usize::MAX, 2)] {
        let e = b.device_addr(offset, len).unwrap_err();
        assert!(
            matches!(e, DmaError::OutOfBounds { offset: o, len: l, buffer_len } if o == offset && l == len && buffer_len == p),
            "{offset} {len}: {e:?}"
        );
        assert!(e.to_string().contains("outside the DMA buffer"), "{e}");
    }
    assert_eq!(
        b.device_addr(p - 1, 1).unwrap(),
        0x42 * p as u64 + p as u64 - 1
    );
}

#[test]
fn a_frame_number_too_large_for_an_address_is_an_error() {
    let e = alloc(DmaMask::ALL, 1, vec![PRESENT | PFN_MASK]).unwrap_err();
    assert!(
        matches!(e, DmaError::BadPagemapEntry { offset: 0, .. }),
        "{e:?}"
    );
}

/// What the kernel reports for a 2 MiB hugetlb page: one entry per base
/// page, with consecutive frame numbers.
#[test]
fn hugepage_entries_make_one_segment() {
    let p = page();
    let n = HUGEPAGE_SIZE / p;
    let addresses: Vec<u64> = (0..n as u64).map(|i| (0x4000 + i) * p as u64).collect();
    let segs = pagemap::segments(&addresses, HUGEPAGE_SIZE, p, DmaMask::bits(28)).unwrap();
    assert_eq!(
        segs,
        [Segment {
            offset: 0,
            len: HUGEPAGE_SIZE,
            device_addr: 0x4000 * p as u64
        }]
    );
    // Two hugepages apart in memory: two segments of 2 MiB.
    let mut two = addresses.clone();
    two.extend((0..n as u64).map(|i| (0x8000 + i) * p as u64));
    let segs = pagemap::segments(&two, 2 * HUGEPAGE_SIZE, p, DmaMask::bits(28)).unwrap();
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[1].offset, HUGEPAGE_SIZE);
    assert_eq!(segs[1].len, HUGEPAGE_SIZE);
}

#[test]
fn verify_reports_a_page_that_moved() {
    let p = page();
    let fake = FakePagemap::new(vec![present(0x100), present(0x101)]);
    let b = PagemapAllocator::new(DmaMask::ALL)
        .alloc_with(2 * p, &fake)
        .unwrap();
    b.verify_with(&fake).unwrap();
    fake.entries.borrow_mut()[1] = present(0x900);
    let e = b.verify_with(&fake).unwrap_err();
    assert!(
        matches!(e, DmaError::PageMoved { offset, was, now }
            if offset == p && was == 0x101 * p as u64 && now == 0x900 * p as u64),
        "{e:?}"
    );
    assert!(e.to_string().contains("compact_unevictable_allowed"), "{e}");
}

#[test]
fn the_cpu_view_is_ram_and_zeroed() {
    let p = page();
    let b = alloc(DmaMask::ALL, 2, vec![present(1), present(2)]).unwrap();
    let r = b.region();
    assert_eq!(r.kind(), hal_core::MemoryKind::Ram);
    assert_eq!(r.len(), 2 * p);
    assert_eq!(r.as_ptr() as usize % p, 0);
    let mut out = vec![0xffu8; 2 * p];
    r.read_bytes(0, &mut out).unwrap();
    assert!(out.iter().all(|&b| b == 0));
    r.write_bytes(p - 2, b"abcd").unwrap();
    let mut four = [0u8; 4];
    r.read_bytes(p - 2, &mut four).unwrap();
    assert_eq!(&four, b"abcd");
    assert_eq!(b.mask(), DmaMask::ALL);
}

#[test]
fn from_parts_checks_and_merges_segments() {
    let seg = |offset, len, device_addr| Segment {
        offset,
        len,
        device_addr,
    };
    let region = || hal_core::Region::anonymous(0x3000).unwrap();
    let b = DmaBuffer::from_parts(
        region(),
        vec![seg(0, 0x1000, 0x10_0000), seg(0x1000, 0x2000, 0x10_1000)],
        DmaMask::bits(32),
    )
    .unwrap();
    assert_eq!(b.segments(), [seg(0, 0x3000, 0x10_0000)]);
    // IOVAs do not move.
    b.verify().unwrap();
    for bad in [
        vec![seg(0, 0x1000, 0), seg(0x2000, 0x1000, 0x5000)],
        vec![seg(0, 0x1000, 0)],
        vec![seg(0, 0, 0), seg(0, 0x3000, 0)],
        vec![],
    ] {
        let e = DmaBuffer::from_parts(region(), bad.clone(), DmaMask::ALL).unwrap_err();
        assert!(matches!(e, DmaError::BadSegments { .. }), "{bad:?}: {e:?}");
    }
    let e = DmaBuffer::from_parts(
        region(),
        vec![seg(0, 0x3000, 0x0fff_f000)],
        DmaMask::bits(28),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            DmaError::AboveMask {
                addr: 0x1000_0000,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn drop_hook_runs_once_when_the_buffer_is_dropped() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let runs = Arc::new(AtomicUsize::new(0));
    let seg = vec![Segment {
        offset: 0,
        len: 4096,
        device_addr: 0x10_0000,
    }];
    let r = hal_core::Region::anonymous(4096).unwrap();
    let counter = runs.clone();
    let b = DmaBuffer::from_parts(r, seg, DmaMask::bits(28))
        .unwrap()
        .with_drop_hook(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    drop(b);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
