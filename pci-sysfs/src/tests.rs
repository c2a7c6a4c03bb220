//! Host tests against fake sysfs trees (no root, no hardware).

use std::fs;

use crate::fake::{FakePci, FakeSysfs};
use crate::*;

fn tree() -> FakeSysfs {
    let fake = FakeSysfs::new().unwrap();
    fake.add_pci(&FakePci::new("0000:00:00.0", 0x8086, 0x1237))
        .unwrap();
    fake.add_pci(&FakePci::edu("0000:00:04.0").with_driver("uio_pci_generic"))
        .unwrap();
    fake.add_pci(&FakePci::ivshmem_plain("0000:00:05.0"))
        .unwrap();
    fake.add_pci(&FakePci::edu("0000:00:06.0")).unwrap();
    fake
}

#[test]
fn lists_devices_in_address_order() {
    let fake = tree();
    let devs = fake.sysfs().pci_devices().unwrap();
    let addrs: Vec<String> = devs.iter().map(|d| d.address().to_string()).collect();
    assert_eq!(
        addrs,
        [
            "0000:00:00.0",
            "0000:00:04.0",
            "0000:00:05.0",
            "0000:00:06.0"
        ]
    );
}

#[test]
fn reads_edu_attributes() {
    let fake = tree();
    let dev = fake.sysfs().pci_device("00:04.0".parse().unwrap()).unwrap();
    assert_eq!(dev.id(), PciId::new(0x1234, 0x11e8));
    assert_eq!((dev.vendor(), dev.device()), (0x1234, 0x11e8));
    assert_eq!(dev.class().unwrap(), 0x00ff00);
    assert_eq!(dev.revision().unwrap(), 0x10);
    assert_eq!(dev.irq().unwrap(), 11);
    assert_eq!(dev.driver(), Some("uio_pci_generic"));
    assert_eq!(dev.driver_override().unwrap(), None);
    assert_eq!(dev.subsystem().unwrap(), Some(PciId::new(0x1af4, 0x1100)));
    let bar0 = dev.bar(0).unwrap();
    assert_eq!(
        (bar0.start, bar0.end, bar0.len()),
        (0xfea0_0000, 0xfeaf_ffff, 1 << 20)
    );
    assert!(bar0.flags.is_mem() && !bar0.flags.is_prefetchable());
    assert_eq!(
        bar0.file.as_deref(),
        Some(dev.resource_path(0, false).as_path())
    );
    assert!(bar0.wc_file.is_none());
    assert!(dev.bar(1).is_none());
    assert_eq!(dev.resources().len(), 13);
    assert_eq!(dev.uio_pci_generic_bars(), vec![0]);
    assert_eq!(
        dev.to_string(),
        "0000:00:04.0 1234:11e8 class 00ff00 rev 10 [uio_pci_generic] irq 11"
    );
}

#[test]
fn reads_ivshmem_resources() {
    let fake = tree();
    let dev = fake.sysfs().find_by_id(PciId::new(0x1af4, 0x1110)).unwrap();
    assert_eq!(dev.irq().unwrap(), 0);
    assert_eq!(dev.driver(), None);
    let bars: Vec<usize> = dev.bars().map(|b| b.index).collect();
    assert_eq!(bars, [0, 2]);
    let bar2 = dev.bar(2).unwrap();
    assert!(bar2.flags.is_mem64() && bar2.flags.is_prefetchable());
    assert!(bar2.file.is_some() && bar2.wc_file.is_some());
    assert_eq!(dev.bar(0).unwrap().len(), 256);
    // BAR2 is 64-bit prefetchable: uio_pci_generic exposes only BAR0.
    assert_eq!(dev.uio_pci_generic_bars(), vec![0]);
    assert_eq!(
        dev.bar_summary(),
        "its BARs: BAR0 mem 32-bit non-prefetchable 0xfebf1000..=0xfebf10ff (256 B); \
         BAR2 mem 64-bit prefetchable 0xfe000000..=0xfe0fffff (1 MiB)"
    );
}

#[test]
fn finds_several_by_id() {
    let fake = tree();
    let all = fake
        .sysfs()
        .find_all_by_id(PciId::new(0x1234, 0x11e8))
        .unwrap();
    assert_eq!(all.len(), 2);
    let first = fake.sysfs().find_by_id(PciId::new(0x1234, 0x11e8)).unwrap();
    assert_eq!(first.address().to_string(), "0000:00:04.0");
    let sel: PciSelector = "1234:11e8".parse().unwrap();
    assert_eq!(
        fake.sysfs().select(&sel).unwrap().address(),
        first.address()
    );
    let sel: PciSelector = "00:06.0".parse().unwrap();
    assert_eq!(
        fake.sysfs().select(&sel).unwrap().address().to_string(),
        "0000:00:06.0"
    );
}

#[test]
fn not_found_lists_what_exists() {
    let fake = tree();
    let e = fake
        .sysfs()
        .find_by_id(PciId::new(0xdead, 0xbeef))
        .unwrap_err();
    assert!(e.is_not_found());
    let msg = e.to_string();
    assert!(
        msg.starts_with("no PCI device with ID dead:beef in "),
        "{msg}"
    );
    assert!(
        msg.ends_with(
            "present: 0000:00:00.0 8086:1237 [no driver], 0000:00:04.0 1234:11e8 [uio_pci_generic], \
             0000:00:05.0 1af4:1110 [no driver], 0000:00:06.0 1234:11e8 [no driver]"
        ),
        "{msg}"
    );
    let e = fake
        .sysfs()
        .pci_device("00:1f.7".parse().unwrap())
        .unwrap_err();
    assert!(
        e.to_string().starts_with("no PCI device 0000:00:1f.7 in "),
        "{e}"
    );
    let e = fake.sysfs().find_all_by_id(PciId::new(1, 2)).unwrap_err();
    assert!(e.is_not_found());

    let empty = FakeSysfs::new().unwrap();
    let e = empty.sysfs().find_by_id(PciId::new(1, 2)).unwrap_err();
    assert!(
        e.to_string().ends_with("there are no PCI devices at all"),
        "{e}"
    );
}

#[test]
fn unmounted_sysfs_is_reported() {
    let fake = FakeSysfs::unmounted().unwrap();
    let e = fake.sysfs().pci_devices().unwrap_err();
    assert!(matches!(e, PciError::SysfsNotMounted { .. }));
    assert!(e.to_string().contains("sysfs is not mounted"), "{e}");
    assert!(e.to_string().contains("mount -t sysfs sysfs"), "{e}");

    fs::create_dir_all(fake.root().join("sys/kernel")).unwrap();
    let e = fake.sysfs().find_by_id(PciId::new(1, 2)).unwrap_err();
    assert!(matches!(e, PciError::NoPciBus { .. }), "{e}");

    let missing = Sysfs::new("/nonexistent-root-for-pci-sysfs-tests");
    assert!(matches!(
        missing.check_mounted(),
        Err(PciError::SysfsNotMounted { .. })
    ));
}

#[test]
fn malformed_attributes_name_the_file() {
    let fake = tree();
    let addr: PciAddress = "00:04.0".parse().unwrap();
    let dir = fake.sysfs().pci_device_dir(addr);
    // Attributes read on demand fail when read, naming the file.
    fs::write(dir.join("class"), "bogus\n").unwrap();
    fs::write(dir.join("irq"), "-1\n").unwrap();
    let dev = fake.sysfs().pci_device(addr).unwrap();
    let e = dev.class().unwrap_err();
    assert!(matches!(e, PciError::Parse { .. }));
    assert!(e.to_string().contains("00:04.0/class"), "{e}");
    assert!(dev.irq().unwrap_err().to_string().contains("00:04.0/irq"));
    // Display leaves out what it cannot read.
    assert_eq!(
        dev.to_string(),
        "0000:00:04.0 1234:11e8 rev 10 [uio_pci_generic]"
    );
    // The resource table is read when the device is loaded.
    fs::write(dir.join("resource"), "0x1 0x2\n").unwrap();
    let e = fake.sysfs().pci_device(addr).unwrap_err();
    assert!(e.to_string().contains("00:04.0/resource"), "{e}");
    // An unreadable device is skipped by ID search, not fatal.
    fs::write(dir.join("modalias"), "pci:bogus\n").unwrap();
    fs::write(dir.join("vendor"), "nope\n").unwrap();
    let d = fake.sysfs().find_by_id(PciId::new(0x1234, 0x11e8)).unwrap();
    assert_eq!(d.address().to_string(), "0000:00:06.0");
}

#[test]
fn id_from_modalias_else_vendor_and_device_files() {
    let fake = tree();
    let addr: PciAddress = "00:04.0".parse().unwrap();
    let dir = fake.sysfs().pci_device_dir(addr);
    // modalias is read first: the vendor/device files are not needed.
    fs::remove_file(dir.join("vendor")).unwrap();
    fs::remove_file(dir.join("device")).unwrap();
    assert_eq!(
        fake.sysfs().pci_id(addr).unwrap(),
        PciId::new(0x1234, 0x11e8)
    );
    // Without (or with an unparsable) modalias, the two files are read.
    fs::write(dir.join("vendor"), "0x1234\n").unwrap();
    fs::write(dir.join("device"), "0x11e9\n").unwrap();
    fs::remove_file(dir.join("modalias")).unwrap();
    assert_eq!(
        fake.sysfs().pci_id(addr).unwrap(),
        PciId::new(0x1234, 0x11e9)
    );
    // A modalias that does not parse (short, or an ID wider than 16 bits)
    // is passed over; a good one is believed.
    for (modalias, id) in [
        ("pci:v0001234d11E8", (0x1234, 0x11e9)),
        (
            "pci:v00011234d000011E8sv00001AF4sd00001100bc00scFFi00",
            (0x1234, 0x11e9),
        ),
        (
            "pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02",
            (0x1b36, 0x0010),
        ),
    ] {
        fs::write(dir.join("modalias"), format!("{modalias}\n")).unwrap();
        assert_eq!(
            fake.sysfs().pci_id(addr).unwrap(),
            PciId::new(id.0, id.1),
            "{modalias}"
        );
    }
}

#[test]
fn config_space_reads_and_writes() {
    let fake = tree();
    let dev = fake.sysfs().pci_device("00:04.0".parse().unwrap()).unwrap();
    let cfg = dev.config_rw().unwrap();
    assert_eq!(cfg.len(), 256);
    assert_eq!(cfg.read16(regs::VENDOR_ID).unwrap(), 0x1234);
    assert_eq!(cfg.read16(regs::DEVICE_ID).unwrap(), 0x11e8);
    assert_eq!(cfg.read32(0).unwrap(), 0x11e8_1234);
    assert_eq!(cfg.read8(regs::REVISION_ID).unwrap(), 0x10);
    assert_eq!(cfg.read8(regs::INTERRUPT_PIN).unwrap(), 1);
    cfg.write32(0x40, 0xdead_beef).unwrap();
    assert_eq!(cfg.read32(0x40).unwrap(), 0xdead_beef);
    assert_eq!(cfg.read16(0x42).unwrap(), 0xdead);
    cfg.write8(0x41, 0x11).unwrap();
    assert_eq!(cfg.read32(0x40).unwrap(), 0xdead_11ef);
    cfg.write16(0xfe, 0xabcd).unwrap();
    assert_eq!(cfg.read8(0xff).unwrap(), 0xab);
}

#[test]
fn command_register_helpers_touch_one_byte() {
    let fake = tree();
    let dev = fake.sysfs().pci_device("00:04.0".parse().unwrap()).unwrap();
    let cfg_path = dev.config_path();
    assert!(!dev.bus_master().unwrap());
    dev.set_bus_master(true).unwrap();
    assert!(dev.bus_master().unwrap());
    assert_eq!(dev.config().unwrap().command().unwrap(), 0x0107);
    // INTx Disable lives in byte 5; setting it must not disturb byte 4.
    dev.set_intx_disabled(true).unwrap();
    assert_eq!(dev.config().unwrap().command().unwrap(), 0x0507);
    assert!(dev.intx_disabled().unwrap());
    dev.set_intx_disabled(false).unwrap();
    dev.set_bus_master(false).unwrap();
    assert_eq!(dev.config().unwrap().command().unwrap(), 0x0103);
    assert!(!dev.interrupt_pending().unwrap());
    let mut bytes = fs::read(&cfg_path).unwrap();
    bytes[6] |= 0x08;
    fs::write(&cfg_path, &bytes).unwrap();
    assert!(dev.interrupt_pending().unwrap());
    assert_eq!(dev.config().unwrap().status().unwrap(), 0x0018);
}

#[test]
fn config_space_errors() {
    let fake = tree();
    let dev = fake.sysfs().pci_device("00:04.0".parse().unwrap()).unwrap();
    let ro = dev.config().unwrap();
    let e = ro.write8(4, 0).unwrap_err();
    assert!(matches!(e, PciError::ConfigReadOnly { .. }), "{e}");
    assert!(e.to_string().contains("config_rw"), "{e}");
    let e = ro.read32(0x100).unwrap_err();
    assert!(matches!(e, PciError::ConfigOutOfRange { .. }));
    assert!(
        e.to_string()
            .contains("outside the config space (0x100 bytes)"),
        "{e}"
    );
    assert!(matches!(
        ro.read32(0xfe),
        Err(PciError::ConfigOutOfRange { .. })
    ));
    assert!(matches!(
        ro.read16(u64::MAX),
        Err(PciError::ConfigOutOfRange { .. })
    ));
    let e = ro.read32(2).unwrap_err();
    assert!(matches!(e, PciError::ConfigMisaligned { .. }));
    assert!(e.to_string().contains("multiple of 4"), "{e}");
    let e = ConfigSpace::open(fake.root().join("nope"), Access::ReadOnly).unwrap_err();
    assert!(e.to_string().contains("has no config file"), "{e}");
}

#[test]
fn binding_needs_the_driver_loaded() {
    let fake = FakeSysfs::new().unwrap();
    fake.add_pci(&FakePci::ivshmem_plain("0000:00:05.0"))
        .unwrap();
    let mut dev = fake.sysfs().pci_device("00:05.0".parse().unwrap()).unwrap();
    let e = dev.bind_uio_pci_generic().unwrap_err();
    assert!(matches!(e, PciError::DriverNotLoaded { .. }));
    let msg = e.to_string();
    assert!(msg.contains("modprobe uio_pci_generic"), "{msg}");
    assert!(
        msg.contains("sys/bus/pci/drivers/uio_pci_generic does not exist"),
        "{msg}"
    );
    for bad in ["", "..", "a/b", "a b"] {
        assert!(matches!(
            dev.bind_with_override(bad),
            Err(PciError::InvalidDriverName { .. })
        ));
    }
}

#[test]
fn binding_writes_the_sysfs_files_and_verifies() {
    let fake = tree();
    fake.add_driver("uio_pci_generic").unwrap();
    // Already bound: nothing to do.
    let mut edu = fake.sysfs().pci_device("00:04.0".parse().unwrap()).unwrap();
    edu.bind_uio_pci_generic().unwrap();
    // A fake tree has no kernel behind it, so the probe cannot bind and the
    // failure is reported with the device's state.
    let mut ivshmem = fake.sysfs().pci_device("00:05.0".parse().unwrap()).unwrap();
    let e = ivshmem.bind_uio_pci_generic().unwrap_err();
    assert!(matches!(e, PciError::BindFailed { .. }));
    assert_eq!(
        e.to_string(),
        "binding 0000:00:05.0 to uio_pci_generic via driver_override + drivers_probe: \
         afterwards the device is not bound to any driver; see `dmesg` for why the driver refused it"
    );
    let dir = ivshmem.path().to_path_buf();
    assert_eq!(
        fs::read_to_string(dir.join("driver_override")).unwrap(),
        "uio_pci_generic"
    );
    assert_eq!(
        ivshmem.driver_override().unwrap().as_deref(),
        Some("uio_pci_generic")
    );
    assert_eq!(
        fs::read_to_string(fake.root().join("sys/bus/pci/drivers_probe")).unwrap(),
        "0000:00:05.0"
    );
    ivshmem.clear_driver_override().unwrap();
    assert_eq!(ivshmem.driver_override().unwrap(), None);

    let e = ivshmem.bind_with_new_id("uio_pci_generic").unwrap_err();
    assert!(e.to_string().contains("via new_id"), "{e}");
    let drv = fake.root().join("sys/bus/pci/drivers/uio_pci_generic");
    assert_eq!(fs::read_to_string(drv.join("new_id")).unwrap(), "1af4 1110");
    assert_eq!(
        fs::read_to_string(drv.join("bind")).unwrap(),
        "0000:00:05.0"
    );
}

#[test]
fn unbind_writes_the_address() {
    let fake = tree();
    let mut edu = fake.sysfs().pci_device("00:04.0".parse().unwrap()).unwrap();
    edu.unbind().unwrap();
    let unbind = fake
        .root()
        .join("sys/bus/pci/drivers/uio_pci_generic/unbind");
    assert_eq!(fs::read_to_string(unbind).unwrap(), "0000:00:04.0");
}

/// Read-only checks against the machine's real sysfs, when it has one.
#[test]
fn real_sysfs_if_present() {
    let sysfs = Sysfs::system();
    if sysfs.check_mounted().is_err() {
        return;
    }
    let devs = sysfs.pci_devices().unwrap();
    for d in &devs {
        let cfg = d.config().unwrap();
        assert_eq!(cfg.read16(regs::VENDOR_ID).unwrap(), d.vendor(), "{d}");
        assert_eq!(cfg.read16(regs::DEVICE_ID).unwrap(), d.device(), "{d}");
        let _ = d.bus_master().unwrap();
        let _ = d.bar_summary();
    }
    if let Some(d) = devs.first() {
        let again = sysfs.find_by_id(d.id()).unwrap();
        assert_eq!(again.id(), d.id());
    }
}

#[test]
fn proc_pci_devices_lines_parse() {
    // Two lines as Linux 6.1 prints them (edu bound to uio_pci_generic,
    // the host bridge with no driver), and lines that are not devices.
    let text = "0010\t123411e8\ta\t        fe900000\t               0\t               0\t               0\t               0\t               0\t               0\t          100000\t               0\t               0\t               0\t               0\t               0\t               0\tuio_pci_generic\n\
                0000\t80861237\t0\t               0\t               0\n\
                garbage\n\
                0018\t1af4\t0\n\
                \n";
    let got: Vec<_> = crate::sys::parse_proc_pci_devices(text).collect();
    assert_eq!(got, [(0, 0x10, 0x1234, 0x11e8), (0, 0, 0x8086, 0x1237)]);
}

#[test]
fn search_by_id_asks_proc_first_and_checks_sysfs() {
    let fake = tree();
    let edu = PciId::new(0x1234, 0x11e8);
    // The fake tree lists every device in proc/bus/pci/devices, as Linux
    // does; both edus are there and the first in address order wins.
    assert_eq!(
        fake.sysfs().find_by_id(edu).unwrap().address().to_string(),
        "0000:00:04.0"
    );
    // proc is asked first: a device sysfs has but proc does not list is
    // not the answer while proc's candidate checks out in sysfs.
    fake.add_pci(&FakePci::edu("0000:00:02.0")).unwrap();
    let proc_file = fake.root().join("proc/bus/pci/devices");
    let text = fs::read_to_string(&proc_file).unwrap();
    let without_02: String = text
        .lines()
        .filter(|l| !l.starts_with("0010"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&proc_file, &without_02).unwrap();
    assert_eq!(
        fake.sysfs().find_by_id(edu).unwrap().address().to_string(),
        "0000:00:04.0"
    );
    // Without proc, every sysfs device is read: 00:02.0 comes first.
    fs::remove_file(&proc_file).unwrap();
    assert_eq!(
        fake.sysfs().find_by_id(edu).unwrap().address().to_string(),
        "0000:00:02.0"
    );
}

#[test]
fn search_by_id_falls_back_when_proc_candidates_are_in_another_domain() {
    // proc shows no PCI domain: a device at 0001:00:07.0 appears as bus 00,
    // devfn 0x38, and 0000:00:07.0 does not exist, so sysfs decides.
    let fake = FakeSysfs::new().unwrap();
    fake.add_pci(&FakePci::new("0000:00:00.0", 0x8086, 0x1237))
        .unwrap();
    fake.add_pci(&FakePci::edu("0001:00:07.0")).unwrap();
    let d = fake.sysfs().find_by_id(PciId::new(0x1234, 0x11e8)).unwrap();
    assert_eq!(d.address().to_string(), "0001:00:07.0");
    // A garbled proc file is ignored the same way.
    fs::write(
        fake.root().join("proc/bus/pci/devices"),
        "\u{0}\u{1}nonsense",
    )
    .unwrap();
    let d = fake.sysfs().find_by_id(PciId::new(0x1234, 0x11e8)).unwrap();
    assert_eq!(d.address().to_string(), "0001:00:07.0");
    assert!(matches!(
        fake.sysfs().find_by_id(PciId::new(0x1234, 0x5678)),
        Err(PciError::NotFound { .. })
    ));
}

/// `bind_uio_pci_generic` and `bind_vfio_pci` are one rule
/// (`bind_with_override`) with two drivers: the same cases run through both.
#[test]
fn binding_to_uio_pci_generic_and_vfio_pci_follow_one_rule() {
    type Bind = fn(&mut PciDevice) -> Result<(), PciError>;
    let cases: [(&str, Bind); 2] = [
        (crate::UIO_PCI_GENERIC, PciDevice::bind_uio_pci_generic),
        (crate::VFIO_PCI, PciDevice::bind_vfio_pci),
    ];
    for (driver, bind) in cases {
        // Not loaded: nothing is written, the error says what to load.
        let fake = FakeSysfs::new().unwrap();
        fake.add_pci(&FakePci::edu("0000:00:04.0").with_driver("e1000"))
            .unwrap();
        fake.add_driver("e1000").unwrap();
        let mut dev = fake.sysfs().pci_device("00:04.0".parse().unwrap()).unwrap();
        let e = bind(&mut dev).unwrap_err();
        assert!(
            matches!(e, PciError::DriverNotLoaded { .. }),
            "{driver}: {e}"
        );
        let msg = e.to_string();
        assert!(msg.contains(&format!("`modprobe {driver}`")), "{msg}");
        assert!(
            msg.contains(&format!("sys/bus/pci/drivers/{driver} does not exist")),
            "{msg}"
        );
        assert_eq!(dev.driver_override().unwrap(), None, "{driver}");
        assert_eq!(dev.current_driver().unwrap().as_deref(), Some("e1000"));

        // Loaded: override set, the old driver unbound, the probe asked
        // for; the fake has no kernel, so the check afterwards reports it.
        fake.add_driver(driver).unwrap();
        let e = bind(&mut dev).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "binding 0000:00:04.0 to {driver} via driver_override + drivers_probe: \
                 afterwards the device is bound to e1000; see `dmesg` for why the driver refused it"
            )
        );
        assert_eq!(dev.driver_override().unwrap().as_deref(), Some(driver));
        let unbind = fake.root().join("sys/bus/pci/drivers/e1000/unbind");
        assert_eq!(fs::read_to_string(unbind).unwrap(), "0000:00:04.0");
        let probe = fake.root().join("sys/bus/pci/drivers_probe");
        assert_eq!(fs::read_to_string(probe).unwrap(), "0000:00:04.0");

        // Already bound to it: nothing to do, nothing written.
        let fake = FakeSysfs::new().unwrap();
        fake.add_driver(driver).unwrap();
        fake.add_pci(&FakePci::edu("0000:00:04.0").with_driver(driver))
            .unwrap();
        let mut dev = fake.sysfs().pci_device("00:04.0".parse().unwrap()).unwrap();
        bind(&mut dev).unwrap();
        assert_eq!(dev.driver(), Some(driver));
        assert_eq!(dev.driver_override().unwrap(), None);
    }
}
