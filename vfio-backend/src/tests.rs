//! Host tests: the parts that need no VFIO device (the VM tests in
//! `tests/tests/vm.rs` cover the rest).

use std::collections::BTreeMap;
use std::path::Path;

use nix::errno::Errno;

use crate::dma::pick_iova;
use crate::error::open_hint;
use crate::{VfioDevice, VfioError, IOVA_BASE, MSI_WINDOW};

const PAGE: u64 = 0x1000;

#[test]
fn iovas_are_lowest_fit_and_avoid_the_msi_window() {
    let mut taken = BTreeMap::new();
    let max = u64::MAX >> 24; // 40 bits
    assert_eq!(pick_iova(&taken, PAGE, max), Some(IOVA_BASE));
    taken.insert(IOVA_BASE, PAGE);
    taken.insert(IOVA_BASE + 3 * PAGE, PAGE);
    // The gap of two pages between them is used first.
    assert_eq!(pick_iova(&taken, 2 * PAGE, max), Some(IOVA_BASE + PAGE));
    // Three pages do not fit there.
    assert_eq!(pick_iova(&taken, 3 * PAGE, max), Some(IOVA_BASE + 4 * PAGE));
    // A range that would cross the MSI window goes above it.
    let (msi, msi_len) = MSI_WINDOW;
    let mut below = BTreeMap::new();
    below.insert(IOVA_BASE, msi - IOVA_BASE - PAGE);
    assert_eq!(pick_iova(&below, PAGE, max), Some(msi - PAGE));
    assert_eq!(pick_iova(&below, 2 * PAGE, max), Some(msi + msi_len));
}

#[test]
fn iovas_stay_below_the_mask() {
    let taken = BTreeMap::new();
    let max28 = (1u64 << 28) - 1;
    assert_eq!(
        pick_iova(&taken, (1 << 28) - IOVA_BASE, max28),
        Some(IOVA_BASE)
    );
    assert_eq!(pick_iova(&taken, (1 << 28) - IOVA_BASE + PAGE, max28), None);
    assert_eq!(pick_iova(&taken, u64::MAX, u64::MAX), None);
    let mut full = BTreeMap::new();
    full.insert(IOVA_BASE, max28 + 1 - IOVA_BASE);
    assert_eq!(pick_iova(&full, PAGE, max28), None);
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
