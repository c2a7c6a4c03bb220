//! Host tests: the parts that need no VFIO device (the VM tests in
//! `tests/tests/vm.rs` cover the rest).

use std::collections::BTreeMap;
use std::path::Path;

use nix::errno::Errno;

use crate::dma::pick_iova;
use crate::error::open_hint;
use crate::iommu::{parse_info, InfoReply};
use crate::{fallback_ranges, IovaRange, IovaSource, VfioDevice, VfioError, IOVA_BASE, MSI_WINDOW};

const PAGE: u64 = 0x1000;

fn pick(taken: &BTreeMap<u64, u64>, size: u64, max: u64) -> Option<u64> {
    pick_iova(taken, size, max, &fallback_ranges())
}

#[test]
fn iovas_are_lowest_fit_and_avoid_the_msi_window() {
    let mut taken = BTreeMap::new();
    let max = u64::MAX >> 24; // 40 bits
    assert_eq!(pick(&taken, PAGE, max), Some(IOVA_BASE));
    taken.insert(IOVA_BASE, PAGE);
    taken.insert(IOVA_BASE + 3 * PAGE, PAGE);
    // The gap of two pages between them is used first.
    assert_eq!(pick(&taken, 2 * PAGE, max), Some(IOVA_BASE + PAGE));
    // Three pages do not fit there.
    assert_eq!(pick(&taken, 3 * PAGE, max), Some(IOVA_BASE + 4 * PAGE));
    // A range that would cross the MSI window goes above it.
    let (msi, msi_len) = MSI_WINDOW;
    let mut below = BTreeMap::new();
    below.insert(IOVA_BASE, msi - IOVA_BASE - PAGE);
    assert_eq!(pick(&below, PAGE, max), Some(msi - PAGE));
    assert_eq!(pick(&below, 2 * PAGE, max), Some(msi + msi_len));
}

#[test]
fn iovas_stay_below_the_mask() {
    let taken = BTreeMap::new();
    let max28 = (1u64 << 28) - 1;
    assert_eq!(pick(&taken, (1 << 28) - IOVA_BASE, max28), Some(IOVA_BASE));
    assert_eq!(pick(&taken, (1 << 28) - IOVA_BASE + PAGE, max28), None);
    assert_eq!(pick(&taken, u64::MAX, u64::MAX), None);
    let mut full = BTreeMap::new();
    full.insert(IOVA_BASE, max28 + 1 - IOVA_BASE);
    assert_eq!(pick(&full, PAGE, max28), None);
}

#[test]
fn open_hints_say_what_to_do() {
    let group = Path::new("/dev/vfio/7");
    assert!(open_hint(group, Errno::EACCES).contains("chown USER /dev/vfio/7"));
    assert!(open_hint(group, Errno::EACCES).contains("udev rule"));
    assert!(open_hint(group, Errno::ENOENT).contains("bound to vfio-pci"));
    assert!(open_hint(Path::new("/dev/vfio/vfio"), Errno::ENOENT).contains("load the vfio modules"));
    assert!(open_hint(group, Errno::EBUSY).contains("already open"));
}

#[test]
fn a_device_that_does_not_exist_is_a_clear_error() {
    let addr = pci_sysfs::PciAddress::new(0xfff, 0xff, 0x1f, 7).unwrap();
    match VfioDevice::open(addr) {
        Err(VfioError::Pci(e)) => assert!(e.to_string().contains("0fff:ff:1f.7"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn iovas_stay_inside_the_reported_ranges() {
    let mut taken = BTreeMap::new();
    let usable = [
        IovaRange {
            start: 0,
            end: 0x1f_ffff,
        },
        IovaRange {
            start: 0x40_0000,
            end: 0x40_3fff,
        },
    ];
    let max = u64::MAX;
    // The first range, above IOVA_BASE.
    assert_eq!(pick_iova(&taken, PAGE, max, &usable), Some(IOVA_BASE));
    // Too big for the rest of the first range: the second.
    assert_eq!(pick_iova(&taken, 0x10_0000 + PAGE, max, &usable), None);
    assert_eq!(pick_iova(&taken, 4 * PAGE, max, &usable), Some(IOVA_BASE));
    taken.insert(IOVA_BASE, 0x10_0000);
    assert_eq!(pick_iova(&taken, PAGE, max, &usable), Some(0x40_0000));
    taken.insert(0x40_0000, PAGE);
    assert_eq!(pick_iova(&taken, 3 * PAGE, max, &usable), Some(0x40_1000));
    assert_eq!(pick_iova(&taken, 4 * PAGE, max, &usable), None);
    // The mask cuts the second range off.
    assert_eq!(pick_iova(&taken, PAGE, 0x3f_ffff, &usable), None);
    // A range wholly below IOVA_BASE is never used.
    let low = [IovaRange {
        start: 0,
        end: IOVA_BASE - 1,
    }];
    assert_eq!(pick_iova(&BTreeMap::new(), PAGE, max, &low), None);
}

/// An answer of VFIO_IOMMU_GET_INFO: the fixed part, then `caps` placed at
/// their offsets (each: offset, id, next, body).
fn info(len: usize, flags: u32, pgsizes: u64, cap_offset: u32) -> Vec<u8> {
    let mut b = vec![0u8; len];
    b[0..4].copy_from_slice(&(len as u32).to_ne_bytes());
    b[4..8].copy_from_slice(&flags.to_ne_bytes());
    b[8..16].copy_from_slice(&pgsizes.to_ne_bytes());
    b[16..20].copy_from_slice(&cap_offset.to_ne_bytes());
    b
}

fn cap(b: &mut [u8], at: usize, id: u16, next: u32) {
    b[at..at + 2].copy_from_slice(&id.to_ne_bytes());
    b[at + 2..at + 4].copy_from_slice(&1u16.to_ne_bytes());
    b[at + 4..at + 8].copy_from_slice(&next.to_ne_bytes());
}

fn ranges_cap(b: &mut [u8], at: usize, next: u32, n: u32, ranges: &[(u64, u64)]) {
    cap(b, at, 1, next);
    b[at + 8..at + 12].copy_from_slice(&n.to_ne_bytes());
    for (i, (s, e)) in ranges.iter().enumerate() {
        let p = at + 16 + 16 * i;
        b[p..p + 8].copy_from_slice(&s.to_ne_bytes());
        b[p + 8..p + 16].copy_from_slice(&e.to_ne_bytes());
    }
}

const FLAGS: u32 = 3; // PGSIZES | CAPS
const X86: [(u64, u64); 2] = [(0, 0xfedf_ffff), (0xfef0_0000, 0x7f_ffff_ffff)];

fn parse_ok(b: &[u8]) -> crate::IommuInfo {
    match parse_info(b) {
        Ok(InfoReply::Done(i)) => i,
        other => panic!("{other:?}"),
    }
}

fn parse_err(b: &[u8]) -> String {
    match parse_info(b) {
        Err(e) => e.to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn iommu_info_ranges_are_read_after_other_capabilities() {
    // A migration capability (id 2) first, then the ranges.
    let mut b = info(24 + 16 + 48, FLAGS, 0x4020_1000, 24);
    cap(&mut b, 24, 2, 40);
    ranges_cap(&mut b, 40, 0, 2, &X86);
    let i = parse_ok(&b);
    assert_eq!(i.source, IovaSource::Reported);
    assert_eq!(i.min_page_size(), Some(0x1000));
    assert_eq!(
        i.iova_ranges,
        vec![
            IovaRange {
                start: 0,
                end: 0xfedf_ffff
            },
            IovaRange {
                start: 0xfef0_0000,
                end: 0x7f_ffff_ffff
            }
        ]
    );
}

#[test]
fn iommu_info_asks_to_grow_and_falls_back_without_the_capability() {
    // The kernel needs 88 bytes and was given 24: argsz says so.
    let mut b = info(24, FLAGS, 0x1000, 0);
    b[0..4].copy_from_slice(&88u32.to_ne_bytes());
    assert_eq!(parse_info(&b), Ok(InfoReply::Grow(88)));
    // No capabilities at all (old kernel): the fallback, with the reason.
    let i = parse_ok(&info(24, 1, 0x1000, 0));
    assert_eq!(i.iova_ranges, fallback_ranges());
    assert!(matches!(&i.source, IovaSource::Fallback(why) if why.contains("5.4")));
    // Capabilities, but not the ranges: the fallback too.
    let mut b = info(40, FLAGS, 0x1000, 24);
    cap(&mut b, 24, 2, 0);
    let i = parse_ok(&b);
    assert!(matches!(&i.source, IovaSource::Fallback(why) if why.contains("CAP_IOVA_RANGE")));
    // The fallback leaves out exactly the MSI window.
    let (msi, len) = MSI_WINDOW;
    assert_eq!(fallback_ranges()[0].end, msi - 1);
    assert_eq!(fallback_ranges()[1].start, msi + len);
}

#[test]
fn hostile_iommu_info_is_an_error_not_a_panic() {
    // Shorter than the fixed part.
    assert!(parse_err(&[0u8; 10]).contains("fixed"));
    // cap_offset past the end.
    assert!(parse_err(&info(32, FLAGS, 0, 1000)).contains("outside"));
    // cap_offset pointing into the fixed part.
    assert!(parse_err(&info(32, FLAGS, 0, 8)).contains("forward"));
    // A header cut short by the end of the buffer.
    assert!(parse_err(&info(28, FLAGS, 0, 24)).contains("outside"));
    // A loop: the capability points at itself, and a two-step loop back.
    let mut b = info(64, FLAGS, 0, 24);
    cap(&mut b, 24, 2, 24);
    assert!(parse_err(&b).contains("forward"));
    let mut b = info(64, FLAGS, 0, 24);
    cap(&mut b, 24, 2, 40);
    cap(&mut b, 40, 2, 24);
    assert!(parse_err(&b).contains("forward"));
    // next overlapping the header it follows.
    let mut b = info(64, FLAGS, 0, 24);
    cap(&mut b, 24, 2, 28);
    assert!(parse_err(&b).contains("forward"));
    // More ranges claimed than the buffer holds, including a count whose
    // size overflows.
    for n in [3, u32::MAX] {
        let mut b = info(24 + 16 + 32, FLAGS, 0, 24);
        ranges_cap(&mut b, 24, 0, n, &X86);
        assert!(parse_err(&b).contains("more than the buffer holds"), "{n}");
    }
    // The range capability's count cut off.
    let mut b = info(24 + 10, FLAGS, 0, 24);
    cap(&mut b, 24, 1, 0);
    assert!(parse_err(&b).contains("cut short"));
    // No range, an inverted range, overlapping and unsorted ranges.
    let mut b = info(24 + 16, FLAGS, 0, 24);
    ranges_cap(&mut b, 24, 0, 0, &[]);
    assert!(parse_err(&b).contains("no range"));
    for (ranges, what) in [
        (
            [(0x2000, 0x1000), (0x3000, 0x4000)],
            "ends before it starts",
        ),
        ([(0x1000, 0x3000), (0x3000, 0x4000)], "does not follow"),
        ([(0x5000, 0x6000), (0x1000, 0x2000)], "does not follow"),
    ] {
        let mut b = info(24 + 16 + 32, FLAGS, 0, 24);
        ranges_cap(&mut b, 24, 0, 2, &ranges);
        assert!(parse_err(&b).contains(what), "{ranges:?}");
    }
    // Capabilities flagged, argsz fits, but no offset given.
    assert!(parse_err(&info(64, FLAGS, 0, 0)).contains("cap_offset is 0"));
    // Every truncation of a good answer is an error or a grow request,
    // never a panic.
    let mut good = info(24 + 16 + 48, FLAGS, 0x1000, 24);
    cap(&mut good, 24, 2, 40);
    ranges_cap(&mut good, 40, 0, 2, &X86);
    for cut in 0..good.len() {
        assert!(
            !matches!(parse_info(&good[..cut]), Ok(InfoReply::Done(_))),
            "{cut}"
        );
    }
}
