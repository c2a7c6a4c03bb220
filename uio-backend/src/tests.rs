//! Host tests against fake sysfs trees (no root, no UIO driver).

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use hal_core::page_size;
use pci_sysfs::fake::{FakeNode, FakePci, FakeSysfs, FakeUio, FakeUioMap};
use pci_sysfs::PciId;

use crate::*;

const EDU_MAP: (u64, u64, u64) = (0xfea0_0000, 0x10_0000, 0);
const IVSHMEM_MAP: (u64, u64, u64) = (0xfebf_1000, 0x1000, 0);

fn page() -> u64 {
    page_size() as u64
}

/// edu at 00:04.0 as uio0, ivshmem-plain at 00:05.0 as uio1, an unbound
/// ivshmem at 00:06.0, and a platform-style UIO device uio2 without PCI parent.
fn tree() -> FakeSysfs {
    let fake = FakeSysfs::new().unwrap();
    fake.add_pci(&FakePci::edu("0000:00:04.0").with_driver("uio_pci_generic"))
        .unwrap();
    fake.add_pci(&FakePci::ivshmem_plain("0000:00:05.0").with_driver("uio_pci_generic"))
        .unwrap();
    fake.add_pci(&FakePci::ivshmem_plain("0000:00:06.0"))
        .unwrap();
    fake.add_uio(&FakeUio::pci_generic(0, "0000:00:04.0", &[EDU_MAP], page()))
        .unwrap();
    fake.add_uio(&FakeUio::pci_generic(
        1,
        "0000:00:05.0",
        &[IVSHMEM_MAP],
        page(),
    ))
    .unwrap();
    fake.add_uio(&FakeUio {
        number: 2,
        name: "my_platform_dev".into(),
        event: 0,
        pci: None,
        maps: vec![],
        node: FakeNode::None,
    })
    .unwrap();
    fake
}

fn scan(fake: &FakeSysfs) -> UioScan {
    UioScan::sysfs(fake.sysfs())
}

#[test]
fn lists_devices_with_their_maps() {
    let fake = tree();
    let all = scan(&fake).list().unwrap();
    assert_eq!(all.len(), 3);
    let edu = &all[0];
    assert_eq!(edu.number(), 0);
    assert_eq!(edu.device_name(), "uio0");
    assert_eq!(edu.name(), "uio_pci_generic");
    assert_eq!(edu.version().unwrap(), "0.01.0");
    assert_eq!(edu.pci_address().unwrap().to_string(), "0000:00:04.0");
    assert_eq!(edu.pci_id(), Some(PciId::new(0x1234, 0x11e8)));
    assert_eq!(edu.devnode(), fake.root().join("dev/uio0"));
    assert_eq!(edu.event_count().unwrap(), 0);
    assert_eq!(
        edu.maps(),
        &[UioMap {
            index: 0,
            name: "0000:00:04.0".into(),
            addr: 0xfea0_0000,
            size: 0x10_0000,
            offset: 0,
        }]
    );
    assert_eq!(
        edu.to_string(),
        "uio0 \"uio_pci_generic\" 0000:00:04.0 1234:11e8 (1 map); map0 at 0xfea00000 (1 MiB)"
    );
    assert_eq!(all[2].pci_address(), None);
    assert!(all[2].maps().is_empty());
}

#[test]
fn finds_by_every_selector() {
    let fake = tree();
    let s = scan(&fake);
    let by = |sel: &str| s.find(&sel.parse().unwrap()).unwrap().number();
    assert_eq!(by("uio1"), 1);
    assert_eq!(by("/dev/uio0"), 0);
    assert_eq!(by("00:05.0"), 1);
    assert_eq!(by("1234:11e8"), 0);
    assert_eq!(by("1af4:1110"), 1);
    assert_eq!(by("my_platform_dev"), 2);
    assert_eq!(
        s.find_all(&UioSelector::Name("uio_pci_generic".into()))
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn not_found_lists_what_exists_and_why() {
    let fake = tree();
    let s = scan(&fake);
    let e = s.find(&UioSelector::Number(9)).unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(
        e.to_string(),
        "no UIO device uio9; present: uio0 \"uio_pci_generic\" 0000:00:04.0 1234:11e8 (1 map), \
         uio1 \"uio_pci_generic\" 0000:00:05.0 1af4:1110 (1 map), uio2 \"my_platform_dev\" (0 maps)"
    );
    // The PCI device exists but is not bound to a UIO driver: say so.
    let e = s.find(&"00:06.0".parse().unwrap()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("PCI device 0000:00:06.0 is bound to no driver"),
        "{msg}"
    );
    assert!(msg.contains("modprobe uio_pci_generic"), "{msg}");
    let e = s.find(&"dead:beef".parse().unwrap()).unwrap_err();
    assert!(
        e.to_string()
            .contains("there is no PCI device with ID dead:beef either"),
        "{e}"
    );

    let empty = FakeSysfs::new().unwrap();
    let e = scan(&empty).find(&UioSelector::Number(0)).unwrap_err();
    assert!(
        e.to_string().contains("there are no UIO devices at all"),
        "{e}"
    );
    fs::remove_dir(empty.root().join("sys/class/uio")).unwrap();
    assert!(scan(&empty).list().unwrap().is_empty());
}

#[test]
fn unmounted_sysfs_is_reported() {
    let fake = FakeSysfs::unmounted().unwrap();
    let e = scan(&fake).list().unwrap_err();
    assert!(matches!(e, UioError::SysfsNotMounted { .. }), "{e}");
    assert!(e.to_string().contains("sysfs is not mounted"), "{e}");
}

#[test]
fn malformed_maps_name_the_file() {
    let fake = tree();
    let f = fake.root().join("sys/class/uio/uio0/maps/map0/size");
    fs::write(&f, "big\n").unwrap();
    let e = scan(&fake).list().unwrap_err();
    assert!(matches!(e, UioError::Parse { .. }));
    assert!(e.to_string().contains("uio0/maps/map0/size"), "{e}");
}

#[test]
fn maps_edu_bar0_through_the_node() {
    let fake = tree();
    let info = scan(&fake).find(&UioSelector::Number(0)).unwrap();
    let dev = UioDevice::open(&info).unwrap();
    assert_eq!(dev.bar_of_map(0), Some(0));
    let regs = dev.map(0).unwrap();
    assert_eq!(regs.len(), 0x10_0000);
    assert!(
        regs.label().ends_with("dev/uio0 map0 (0000:00:04.0 BAR0)"),
        "{}",
        regs.label()
    );
    regs.try_write32(0x60, 0x1234_5678).unwrap();
    drop(regs);
    let mut node = fs::File::open(info.devnode()).unwrap();
    node.seek(SeekFrom::Start(0x60)).unwrap();
    let mut b = [0u8; 4];
    node.read_exact(&mut b).unwrap();
    assert_eq!(u32::from_le_bytes(b), 0x1234_5678);
}

#[test]
fn map_prefix_maps_the_first_pages_only() {
    let fake = tree();
    let info = scan(&fake).find(&UioSelector::Number(0)).unwrap();
    let dev = UioDevice::open(&info).unwrap();
    let p = page() as usize;
    let regs = dev.map_prefix(0, p).unwrap();
    assert_eq!(regs.len(), p);
    regs.try_write32(0x8, 0x5555_aaaa).unwrap();
    assert!(regs.try_read32(p).is_err());
    // More than the map gives the whole register block.
    assert_eq!(dev.map_prefix(0, usize::MAX).unwrap().len(), 0x10_0000);
    drop(regs);
    let bytes = fs::read(info.devnode()).unwrap();
    assert_eq!(&bytes[8..12], &0x5555_aaaau32.to_le_bytes());
}

#[test]
fn ivshmem_bar0_region_is_the_bar_not_the_page() {
    let fake = tree();
    let dev = UioDevice::open(&scan(&fake).find(&"1af4:1110".parse().unwrap()).unwrap()).unwrap();
    let regs = dev.map(0).unwrap();
    assert_eq!(regs.len(), 256);
    assert!(regs.try_read32(0x100).is_err());
    // BAR2 is not a UIO map: the error says where to get it instead.
    let e = dev.map(2).unwrap_err();
    assert!(matches!(e, UioError::NoSuchMap { .. }));
    let msg = e.to_string();
    assert!(msg.starts_with("uio1 has no map2: its maps: map0 at 0xfebf1000 (4 KiB) = BAR0; map numbers are not BAR numbers, and BAR2 (mem 64-bit prefetchable, 1 MiB) of 0000:00:05.0 is not"), "{msg}");
    assert!(msg.contains("devmem_backend::map_bar"), "{msg}");
    // No INTx: never a wait.
    let e = dev.irq().unwrap_err();
    assert!(e.is_no_interrupt());
    assert!(
        e.to_string()
            .starts_with("uio1 has no interrupt (its PCI device 0000:00:05.0 has IRQ 0)"),
        "{e}"
    );
}

/// A device whose BAR0 is I/O and whose two memory BARs are small and not
/// page-aligned (BAR1 at offset 0x800, BAR3 at 0x100), bound to
/// uio_pci_generic as uio`n`: map0 = BAR1, map1 = BAR3.
fn add_odd_device(fake: &FakeSysfs, n: u32) {
    let pci = FakePci::new("0000:00:08.0", 0x1b36, 0x0005)
        .with_irq(10)
        .with_resource(0, 0xc000, 0xc01f, 0x40101)
        .with_resource(1, 0xfeb0_0800, 0xfeb0_08ff, 0x40200)
        .with_resource(3, 0xfeb0_1100, 0xfeb0_117f, 0x40200)
        .with_driver("uio_pci_generic");
    fake.add_pci(&pci).unwrap();
    let p = page();
    fake.add_uio(&FakeUio::pci_generic(
        n,
        "0000:00:08.0",
        &[(0xfeb0_0000, p, 0x800), (0xfeb0_1000, p, 0x100)],
        p,
    ))
    .unwrap();
}

#[test]
fn sub_page_offsets_and_map_indices() {
    let fake = FakeSysfs::new().unwrap();
    add_odd_device(&fake, 0);
    let dev = UioDevice::open(&scan(&fake).find(&UioSelector::Number(0)).unwrap()).unwrap();
    assert_eq!(dev.bar_of_map(0), Some(1));
    assert_eq!(dev.bar_of_map(1), Some(3));
    assert_eq!(dev.pci().unwrap().uio_pci_generic_bars(), vec![1, 3]);
    let m0 = dev.map(0).unwrap();
    let m1 = dev.map(1).unwrap();
    assert_eq!((m0.len(), m1.len()), (0x100, 0x80));
    m0.try_write32(0, 0xaaaa_aaaa).unwrap();
    m1.try_write32(4, 0xbbbb_bbbb).unwrap();
    drop((m0, m1));
    let bytes = fs::read(dev.info().devnode()).unwrap();
    let word = |o: u64| u32::from_le_bytes(bytes[o as usize..o as usize + 4].try_into().unwrap());
    assert_eq!(word(0x800), 0xaaaa_aaaa);
    assert_eq!(word(page() + 0x104), 0xbbbb_bbbb);
}

/// A map whose registers start only 4-aligned (a 64-byte BAR at
/// 0x...104, so `offset` is 0x104): a 64-bit access at offset 0 would be
/// a misaligned load, and is refused with the address; 32-bit accesses are
/// aligned and work. Before the address check, the offset alone (0) passed.
#[test]
fn a_map_starting_4_aligned_refuses_64_bit_accesses_at_offset_0() {
    let fake = FakeSysfs::new().unwrap();
    let pci = FakePci::new("0000:00:09.0", 0x1b36, 0x0005)
        .with_irq(10)
        .with_resource(0, 0xfeb0_0104, 0xfeb0_0143, 0x40200)
        .with_driver("uio_pci_generic");
    fake.add_pci(&pci).unwrap();
    fake.add_uio(&FakeUio::pci_generic(
        0,
        "0000:00:09.0",
        &[(0xfeb0_0000, page(), 0x104)],
        page(),
    ))
    .unwrap();
    let dev = UioDevice::open(&scan(&fake).find(&UioSelector::Number(0)).unwrap()).unwrap();
    let m = dev.map(0).unwrap();
    assert_eq!(m.len(), 0x40);
    // A UIO map is device memory (stated by the backend, not derived from
    // the node, which in a fake tree is a regular file).
    assert_eq!(m.kind(), hal_core::MemoryKind::Device);
    let e = m.try_read64(0).unwrap_err();
    assert!(
        matches!(
            e,
            hal_core::AccessError::MisalignedAddress { base_skew: 4, .. }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains(&format!(
            "its address {:#x} is not a multiple of 8",
            m.as_ptr().addr()
        )),
        "{msg}"
    );
    assert!(m.try_write64(8, 1).is_err());
    m.try_write32(0, 0x1234_5678).unwrap();
    assert_eq!(m.try_read32(0).unwrap(), 0x1234_5678);
    // Offset 4 brings the address onto an 8-byte boundary.
    m.try_write64(4, 0x0102_0304_0506_0708).unwrap();
    assert_eq!(m.try_read64(4).unwrap(), 0x0102_0304_0506_0708);
}

#[test]
fn inconsistent_map_is_refused() {
    let fake = FakeSysfs::new().unwrap();
    let mut uio = FakeUio::pci_generic(0, "0000:00:04.0", &[(0x1000, 0x1000, 0x1000)], page());
    uio.pci = None;
    fake.add_uio(&uio).unwrap();
    let dev = UioDevice::open(&scan(&fake).find(&UioSelector::Number(0)).unwrap()).unwrap();
    assert!(matches!(dev.map(0), Err(UioError::BadMap { .. })));
    assert!(matches!(dev.pci(), Err(UioError::NotPci { .. })));
}

#[test]
fn open_errors_name_the_node() {
    let fake = tree();
    let info = scan(&fake).find(&UioSelector::Number(2)).unwrap();
    let e = UioDevice::open(&info).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("dev/uio2 read-write"), "{msg}");
    assert!(msg.contains("devtmpfs"), "{msg}");
}

fn fifo_tree() -> (FakeSysfs, UioDevice) {
    let fake = FakeSysfs::new().unwrap();
    fake.add_pci(&FakePci::edu("0000:00:04.0").with_driver("uio_pci_generic"))
        .unwrap();
    fake.add_uio(&FakeUio {
        number: 0,
        name: "uio_pci_generic".into(),
        event: 2,
        pci: "0000:00:04.0".parse().ok(),
        maps: vec![FakeUioMap {
            name: "0000:00:04.0".into(),
            addr: EDU_MAP.0,
            size: EDU_MAP.1,
            offset: 0,
        }],
        node: FakeNode::Fifo,
    })
    .unwrap();
    let dev = UioDevice::open(&scan(&fake).find(&UioSelector::Number(0)).unwrap()).unwrap();
    (fake, dev)
}

fn push_count(fake: &FakeSysfs, count: i32) {
    let mut w = OpenOptions::new()
        .write(true)
        .open(fake.root().join("dev/uio0"))
        .unwrap();
    w.write_all(&count.to_ne_bytes()).unwrap();
}

#[test]
fn wait_times_out_when_nothing_happens() {
    let (_fake, dev) = fifo_tree();
    let irq = dev.irq().unwrap();
    let t = Instant::now();
    let e = irq.wait(Duration::from_millis(50)).unwrap_err();
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert!(e.is_timeout());
    assert_eq!(
        e.to_string(),
        "waiting for an interrupt on uio0: none within 50ms (was it enabled with Irq::enable, and did the device raise it?)"
    );
    assert_eq!(irq.try_wait(Some(Duration::ZERO)).unwrap(), None);
    assert_eq!(
        irq.try_wait(Some(Duration::from_micros(300))).unwrap(),
        None
    );
}

#[test]
fn wait_reports_counts_and_missed_events() {
    let (fake, dev) = fifo_tree();
    let irq = dev.irq().unwrap();
    // sysfs `event` said 2 when the device was opened.
    assert_eq!(irq.last_count(), Some(2));
    push_count(&fake, 5);
    let ev = irq.wait(Duration::from_secs(5)).unwrap();
    assert_eq!(
        ev,
        IrqEvent {
            count: 5,
            missed: 2
        }
    );
    push_count(&fake, 6);
    // A second handle shares the state.
    let ev = dev.irq().unwrap().wait(Duration::from_secs(5)).unwrap();
    assert_eq!(
        ev,
        IrqEvent {
            count: 6,
            missed: 0
        }
    );
    assert_eq!(irq.last_count(), Some(6));
    // enable() on a node that accepts writes uses irqcontrol and remembers it.
    irq.enable().unwrap();
    assert_eq!(irq.unmask_method(), Some(UnmaskMethod::Irqcontrol));
    // (the FIFO echoes the written 1 back, as if the count wrapped)
    assert_eq!(irq.wait(Duration::from_secs(5)).unwrap().count, 1);
}

#[test]
fn hang_up_is_no_interrupt_not_a_busy_loop() {
    let (r, w) = nix::unistd::pipe().unwrap();
    drop(w);
    use std::os::fd::AsFd;
    let ready = crate::sys::poll_in(r.as_fd(), Some(Duration::from_secs(5))).unwrap();
    assert!(matches!(ready, crate::sys::Ready::Error(_)), "{ready:?}");
    let (r, _w) = nix::unistd::pipe().unwrap();
    let t = Instant::now();
    let ready = crate::sys::poll_in(r.as_fd(), Some(Duration::from_millis(30))).unwrap();
    assert_eq!(ready, crate::sys::Ready::TimedOut);
    assert!(t.elapsed() >= Duration::from_millis(30));
}

/// The running system is read through sysfs whatever the features: what a
/// program finds must not depend on another crate turning on `udev`.
#[test]
fn system_scan_reads_sysfs_directly() {
    let s = UioScan::system();
    assert_eq!(s.method(), ScanMethod::SysfsDirect);
    assert_eq!(s.sysfs_root(), &pci_sysfs::Sysfs::system());
    assert_eq!(UioScan::default().method(), ScanMethod::SysfsDirect);
}

/// The real system through libudev (`--features udev`): must work (and find
/// nothing here, or whatever UIO devices the machine has) without udevd,
/// and find what the direct sysfs scan finds.
#[cfg(feature = "udev")]
#[test]
fn udev_scan_of_the_real_system() {
    let s = UioScan::udev();
    assert_eq!(s.method(), ScanMethod::Udev);
    if pci_sysfs::Sysfs::system().check_sys_mounted().is_err() {
        assert!(matches!(s.list(), Err(UioError::SysfsNotMounted { .. })));
        return;
    }
    let udev = s.list().unwrap();
    let direct = UioScan::sysfs(pci_sysfs::Sysfs::system()).list().unwrap();
    let n = |v: &[UioInfo]| v.iter().map(|i| i.number()).collect::<Vec<_>>();
    assert_eq!(n(&udev), n(&direct));
    let e = s.find(&UioSelector::Number(u32::MAX)).unwrap_err();
    assert!(e.is_not_found());
}

/// The UIO directory of a PCI device in a fake tree (`…/<pci>/uio/uioN`).
fn uio_dir_of(fake: &FakeSysfs, pci: &str, n: u32) -> std::path::PathBuf {
    let addr: pci_sysfs::PciAddress = pci.parse().unwrap();
    fake.sysfs()
        .pci_device_dir(addr)
        .join(format!("uio/uio{n}"))
}

#[test]
fn uio_pci_generic_maps_derived_from_the_bars_equal_sysfs() {
    // edu (1 MiB BAR0), ivshmem (256-byte BAR0: one page, sub-page length),
    // and a device with an I/O BAR0 and two small unaligned memory BARs.
    let fake = tree();
    add_odd_device(&fake, 3);
    for (pci, n) in [
        ("0000:00:04.0", 0),
        ("0000:00:05.0", 1),
        ("0000:00:08.0", 3),
    ] {
        let dir = uio_dir_of(&fake, pci, n);
        let dev = fake.sysfs().pci_device(pci.parse().unwrap()).unwrap();
        let derived = UioInfo::for_pci_device(&fake.sysfs(), &dir, &dev).unwrap();
        let read = UioInfo::from_sysfs_dir(&fake.sysfs(), &dir, None).unwrap();
        assert_eq!(derived, read, "{pci}");
        assert!(!derived.maps().is_empty());
    }
}

#[test]
fn uio_pci_generic_derivation_defers_to_sysfs_when_it_differs() {
    let fake = tree();
    let dir = uio_dir_of(&fake, "0000:00:04.0", 0);
    let dev = fake.sysfs().pci_device("00:04.0".parse().unwrap()).unwrap();
    let info = |fake: &FakeSysfs| UioInfo::for_pci_device(&fake.sysfs(), &dir, &dev).unwrap();
    // Only `addr` is read per derived map (and the device `name` not at
    // all): without the other files the derivation still works, where
    // reading every attribute fails.
    for f in [
        "maps/map0/size",
        "maps/map0/offset",
        "maps/map0/name",
        "name",
    ] {
        fs::rename(dir.join(f), dir.join(format!("{f}.away"))).unwrap();
    }
    assert_eq!(info(&fake).maps()[0].size, 0x10_0000);
    assert!(UioInfo::from_sysfs_dir(&fake.sysfs(), &dir, None).is_err());
    for f in [
        "maps/map0/size",
        "maps/map0/offset",
        "maps/map0/name",
        "name",
    ] {
        fs::rename(dir.join(format!("{f}.away")), dir.join(f)).unwrap();
    }
    // Another address in sysfs: sysfs is read and believed.
    fs::write(dir.join("maps/map0/addr"), "0x00000000fe000000\n").unwrap();
    assert_eq!(info(&fake).maps()[0].addr, 0xfe00_0000);
    fs::write(dir.join("maps/map0/addr"), "0x00000000fea00000\n").unwrap();
    assert_eq!(info(&fake).maps().len(), 1);
    // A map the BARs do not explain: every map is read.
    let extra = dir.join("maps/map1");
    fs::create_dir_all(&extra).unwrap();
    for (f, v) in [
        ("name", "extra"),
        ("addr", "0x1000"),
        ("size", "0x1000"),
        ("offset", "0x0"),
    ] {
        fs::write(extra.join(f), format!("{v}\n")).unwrap();
    }
    let i = info(&fake);
    assert_eq!(i.maps().len(), 2);
    assert_eq!(i.maps()[1].name, "extra");
    // No maps at all (kernels before uio_pci_generic made them): none.
    fs::remove_dir_all(dir.join("maps")).unwrap();
    assert!(info(&fake).maps().is_empty());
}

/// A selector with several IDs picks the device with any of them, and
/// names them all when there is none.
#[test]
fn any_of_several_pci_ids_selects() {
    let fake = tree();
    let ids = |list: &[(u16, u16)]| {
        UioSelector::AnyPciId(list.iter().map(|&(v, d)| PciId::new(v, d)).collect())
    };
    let found = scan(&fake)
        .find(&ids(&[(0x1234, 0x11e9), (0x1234, 0x11e8)]))
        .unwrap();
    assert_eq!(found.pci_id(), Some(PciId::new(0x1234, 0x11e8)));
    let e = scan(&fake)
        .find(&ids(&[(0x1234, 0x11e9), (0x1234, 0x11ea)]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("for a PCI device with ID 1234:11e9 or 1234:11ea"),
        "{e}"
    );
    assert!(
        e.contains("there is no PCI device with ID 1234:11e9 or 1234:11ea either"),
        "{e}"
    );
}

/// The descriptor of `AsFd` plugs into `poll(2)`: not readable until the
/// kernel (here, the fake's FIFO) has an event; then readable, and
/// `take_event` takes it without blocking.
#[test]
fn irq_fd_polls_readable_when_an_event_is_pending() {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::{AsFd, AsRawFd};
    let (fake, dev) = fifo_tree();
    let irq = dev.irq().unwrap();
    assert_eq!(dev.as_fd().as_raw_fd(), irq.as_raw_fd());
    let readable = |timeout: PollTimeout| {
        let mut fds = [PollFd::new(irq.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, timeout).unwrap() == 1
            && fds[0].revents().unwrap().contains(PollFlags::POLLIN)
    };
    assert!(!readable(PollTimeout::ZERO));
    assert_eq!(irq.take_event().unwrap(), None);
    push_count(&fake, 5);
    assert!(readable(PollTimeout::from(5000u16)));
    assert_eq!(
        irq.take_event().unwrap(),
        Some(IrqEvent {
            count: 5,
            missed: 2
        })
    );
    assert!(!readable(PollTimeout::ZERO));
    assert_eq!(irq.take_event().unwrap(), None);
    assert_eq!(irq.last_count(), Some(5));
}

/// `AsyncIrq` in a tokio runtime: a wait with nothing pending times out
/// with the same error as `Irq::wait`; an event raised later by another
/// thread wakes the task, with the count and missed events of the shared
/// state; outside a runtime, construction is a clear error, not a panic.
#[cfg(feature = "tokio")]
#[test]
fn async_irq_waits_in_a_tokio_runtime() {
    use crate::AsyncIrq;
    let (fake, dev) = fifo_tree();
    let e = AsyncIrq::new(dev.irq().unwrap()).unwrap_err();
    assert!(matches!(e, UioError::NoRuntime { .. }), "{e:?}");
    assert!(
        e.to_string().contains("there is no current tokio runtime"),
        "{e}"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut irq = AsyncIrq::new(dev.irq().unwrap()).unwrap();
        // The same device node twice in one reactor: refused, clearly.
        let e = AsyncIrq::new(dev.irq().unwrap()).unwrap_err();
        assert!(
            e.to_string()
                .contains("is another AsyncIrq of this device registered"),
            "{e}"
        );
        let t = Instant::now();
        let e = irq
            .wait_timeout(Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(t.elapsed() >= Duration::from_millis(50));
        assert!(e.is_timeout(), "{e:?}");
        assert_eq!(
            e.to_string(),
            dev.irq()
                .unwrap()
                .wait(Duration::from_millis(50))
                .unwrap_err()
                .to_string()
        );
        let root = fake.root().to_path_buf();
        let pusher = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            let mut w = OpenOptions::new()
                .write(true)
                .open(root.join("dev/uio0"))
                .unwrap();
            w.write_all(&7i32.to_ne_bytes()).unwrap();
        });
        let ev = irq.wait_timeout(Duration::from_secs(10)).await.unwrap();
        assert_eq!(
            ev,
            IrqEvent {
                count: 7,
                missed: 4
            }
        );
        pusher.join().unwrap();
        push_count(&fake, 8);
        assert_eq!(irq.wait().await.unwrap().missed, 0);
        assert_eq!(irq.irq().last_count(), Some(8));
        assert_eq!(irq.into_inner().last_count(), Some(8));
    });
}
