//! Host tests: regular files stand in for /dev/mem and resourceN.

use std::fs;
use std::io::Write;
use std::os::fd::AsFd;

use hal_core::page_size;
use pci_sysfs::fake::{FakePci, FakeSysfs};
use pci_sysfs::{PciId, Sysfs};

use crate::*;

fn page() -> u64 {
    page_size() as u64
}

fn tree() -> FakeSysfs {
    let fake = FakeSysfs::new().unwrap();
    fake.add_pci(&FakePci::edu("0000:00:04.0").with_driver("uio_pci_generic"))
        .unwrap();
    fake.add_pci(&FakePci::ivshmem_plain("0000:00:05.0"))
        .unwrap();
    fake.add_pci(
        &FakePci::new("0000:00:06.0", 0x8086, 0x7010)
            .with_resource(4, 0xc000, 0xc00f, 0x40101)
            .with_resource(5, 0xfeb0_0800, 0xfeb0_08ff, 0x40200),
    )
    .unwrap();
    fake
}

fn dev(fake: &FakeSysfs, addr: &str) -> pci_sysfs::PciDevice {
    fake.sysfs().pci_device(addr.parse().unwrap()).unwrap()
}

#[test]
fn maps_edu_bar0() {
    let fake = tree();
    let edu = fake.sysfs().find_by_id(PciId::new(0x1234, 0x11e8)).unwrap();
    let r = edu.map_resource(0).unwrap();
    assert_eq!(r.len(), 1 << 20);
    assert!(
        r.label().starts_with("BAR0 of 0000:00:04.0 via "),
        "{}",
        r.label()
    );
    r.try_write32(0xf_fffc, 0xcafe_f00d).unwrap();
    drop(r);
    let bytes = fs::read(edu.resource_path(0, false)).unwrap();
    assert_eq!(&bytes[0xf_fffc..], &0xcafe_f00du32.to_le_bytes());
}

#[test]
fn maps_ivshmem_shared_memory_plain_and_wc() {
    let fake = tree();
    let iv = dev(&fake, "00:05.0");
    let shm = map_bar(&iv, 2).unwrap();
    assert_eq!(shm.len(), 1 << 20);
    shm.write_bytes(0x10, b"hello").unwrap();
    let wc = map_bar_wc(&iv, 2).unwrap();
    assert!(wc.label().ends_with("resource2_wc"), "{}", wc.label());
    wc.write_bytes(0, b"wc").unwrap();
    drop((shm, wc));
    assert_eq!(
        &fs::read(iv.resource_path(2, false)).unwrap()[0x10..0x15],
        b"hello"
    );
    assert_eq!(&fs::read(iv.resource_path(2, true)).unwrap()[0..2], b"wc");
    // BAR0 is 256 bytes: the region is exactly the BAR.
    let regs = iv.map_resource(0).unwrap();
    assert_eq!(regs.len(), 256);
    assert!(regs.try_read32(0x100).is_err());
}

#[test]
fn bar_prefix_maps_only_the_pages_asked_for() {
    let fake = tree();
    let edu = dev(&fake, "00:04.0");
    // One page of the 1 MiB BAR: registers beyond it are refused, not reached.
    let r = map_bar_prefix(&edu, 0, page() as usize).unwrap();
    assert_eq!(r.len() as u64, page());
    r.try_write32(4, 0x0bad_cafe).unwrap();
    assert!(r.try_read32(page() as usize).is_err());
    // Asking for more than the BAR gives the BAR.
    assert_eq!(map_bar_prefix(&edu, 0, 1 << 30).unwrap().len(), 1 << 20);
    // A sub-page BAR keeps its offset and its own length.
    let iv = dev(&fake, "00:05.0");
    assert_eq!(map_bar_prefix(&iv, 0, 64).unwrap().len(), 64);
    drop(r);
    let bytes = fs::read(edu.resource_path(0, false)).unwrap();
    assert_eq!(&bytes[4..8], &0x0bad_cafeu32.to_le_bytes());
}

#[test]
fn sub_page_bar_starts_at_its_offset() {
    let fake = tree();
    let d = dev(&fake, "00:06.0");
    // Let the stand-in file cover the whole page the BAR lives in.
    let path = d.resource_path(5, false);
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(page())
        .unwrap();
    let r = map_bar(&d, 5).unwrap();
    assert_eq!(r.len(), 0x100);
    r.try_write32(0, 0x1122_3344).unwrap();
    drop(r);
    let bytes = fs::read(&path).unwrap();
    assert_eq!(&bytes[0x800..0x804], &0x1122_3344u32.to_le_bytes());
}

#[test]
fn bar_errors_say_what_exists() {
    let fake = tree();
    let iv = dev(&fake, "00:05.0");
    let e = map_bar(&iv, 1).unwrap_err();
    assert!(matches!(e, DevMemError::NoSuchBar { .. }));
    assert_eq!(
        e.to_string(),
        "0000:00:05.0 has no BAR1; its BARs: BAR0 mem 32-bit non-prefetchable 0xfebf1000..=0xfebf10ff (256 B); \
         BAR2 mem 64-bit prefetchable 0xfe000000..=0xfe0fffff (1 MiB)"
    );
    assert!(matches!(
        map_bar(&iv, 6),
        Err(DevMemError::NoSuchBar { .. })
    ));
    assert!(matches!(
        map_bar(&iv, usize::MAX),
        Err(DevMemError::NoSuchBar { .. })
    ));
    let e = map_bar_wc(&iv, 0).unwrap_err();
    assert!(matches!(e, DevMemError::NoWriteCombining { .. }));
    assert!(e.to_string().contains("not prefetchable"), "{e}");
    let d = dev(&fake, "00:06.0");
    let e = map_bar(&d, 4).unwrap_err();
    assert!(matches!(e, DevMemError::IoBar { .. }));
    assert!(e.to_string().contains("cannot be memory-mapped"), "{e}");
    let bare = FakeSysfs::new().unwrap();
    bare.add_pci(&FakePci::new("0000:00:07.0", 1, 2)).unwrap();
    let e = map_bar(&dev(&bare, "00:07.0"), 0).unwrap_err();
    assert!(e.to_string().ends_with("the device has no BARs"), "{e}");

    // The wc file is missing although the BAR is prefetchable (no PAT).
    fs::remove_file(iv.resource_path(2, true)).unwrap();
    let iv = dev(&fake, "00:05.0");
    let e = map_bar_wc(&iv, 2).unwrap_err();
    assert!(e.to_string().contains("needs PAT"), "{e}");
}

#[test]
fn device_not_found_lists_devices() {
    let fake = tree();
    let e: DevMemError = fake
        .sysfs()
        .find_by_id(PciId::new(0x1af4, 0x1111))
        .unwrap_err()
        .into();
    let msg = e.to_string();
    assert!(msg.contains("no PCI device with ID 1af4:1111"), "{msg}");
    assert!(msg.contains("0000:00:05.0 1af4:1110 [no driver]"), "{msg}");
}

#[test]
fn a_regular_file_stands_in_for_dev_mem() {
    let fake = FakeSysfs::new().unwrap();
    let path = fake.root().join("mem");
    let f = fs::File::create(&path).unwrap();
    f.set_len(4 * page()).unwrap();
    let mem = DevMem::open_path(&path).unwrap();
    let addr = 2 * page() + 0x123;
    let r = mem.map(addr, 0x10).unwrap();
    assert_eq!(r.len(), 0x10);
    r.try_write8(0, 0x5a).unwrap();
    drop(r);
    assert_eq!(fs::read(&path).unwrap()[addr as usize], 0x5a);

    let e = mem.map(0x1000, 0).unwrap_err();
    assert!(matches!(e, DevMemError::ZeroLength { .. }));
    assert!(e.to_string().ends_with("the length is zero"), "{e}");
    let e = mem.map(u64::MAX - 4, 16).unwrap_err();
    assert!(matches!(e, DevMemError::Overflow { .. }), "{e}");
    // Beyond what off_t holds: refused before mmap.
    assert!(mem.map(1 << 63, 16).is_err());
    let e = DevMem::open_path(fake.root().join("nope")).unwrap_err();
    assert!(e.to_string().contains("no such device node"), "{e}");
}

/// The real /dev/mem, without ever touching the mapped memory.
#[test]
fn real_dev_mem_errors_explain_themselves() {
    assert!(matches!(
        map_phys(0x1000, 0),
        Err(DevMemError::ZeroLength { .. })
    ));
    let Ok(mem) = DevMem::open() else { return };
    // 16 MiB is RAM on any PC: STRICT_DEVMEM kernels refuse it.
    if let Err(e) = mem.map(0x100_0000, 0x1000) {
        let msg = e.to_string();
        if msg.contains("EPERM") {
            assert!(
                msg.contains("System RAM") && msg.contains("iomem=relaxed"),
                "{msg}"
            );
        }
    }
}

#[test]
fn maps_plain_files_shm_and_memfd() {
    let fake = FakeSysfs::new().unwrap();
    let path = fake.root().join("shared");
    let mut f = fs::File::create(&path).unwrap();
    f.write_all(&vec![0u8; 3 * page() as usize]).unwrap();
    let r = map_file(&path, page() + 8, 64).unwrap();
    r.try_write64(0, 0x0102_0304_0506_0708).unwrap();
    drop(r);
    let b = fs::read(&path).unwrap();
    let o = page() as usize + 8;
    assert_eq!(&b[o..o + 8], &0x0102_0304_0506_0708u64.to_le_bytes());

    let e = map_file(&path, 3 * page() - 4, 8).unwrap_err();
    assert!(matches!(e, DevMemError::FileTooSmall { .. }));
    assert!(e.to_string().contains("truncate -s"), "{e}");
    assert!(matches!(
        map_file(&path, 0, 0),
        Err(DevMemError::ZeroLength { .. })
    ));
    assert!(matches!(
        map_file(&path, u64::MAX, 2),
        Err(DevMemError::Overflow { .. })
    ));
    let e = map_file(fake.root().join("missing"), 0, 8).unwrap_err();
    assert!(e.to_string().starts_with("opening "), "{e}");

    // A memfd.
    let memfd =
        nix::sys::memfd::memfd_create(c"devmem-test", nix::sys::memfd::MFdFlags::empty()).unwrap();
    nix::unistd::ftruncate(&memfd, 4096).unwrap();
    let r = map_fd(memfd.as_fd(), 100, 4, "memfd:devmem-test").unwrap();
    r.try_write32(0, 7).unwrap();
    let again = map_fd(&memfd, 0, 4096, "memfd:devmem-test").unwrap();
    assert_eq!(again.try_read32(100).unwrap(), 7);

    // A shared-memory file, if this machine has /dev/shm.
    if std::path::Path::new("/dev/shm").is_dir() {
        let shm = std::path::PathBuf::from(format!("/dev/shm/devmem-test-{}", std::process::id()));
        fs::File::create(&shm).unwrap().set_len(4096).unwrap();
        let r = map_file(&shm, 0, 4096);
        let _ = fs::remove_file(&shm);
        r.unwrap().try_write32(0, 1).unwrap();
    }
}

/// `map_file` takes any offset, so the region can start off every boundary:
/// a 32-bit read at offset 0 of a file mapped from byte 1 is refused with
/// the misaligned address (it used to be a misaligned load: an abort in a
/// debug build). Byte accesses are fine, and so are accesses whose address
/// is aligned. Memfd and shm files are RAM: their regions use atomics.
#[test]
fn a_file_mapped_at_an_odd_offset_refuses_misaligned_addresses() {
    let fake = FakeSysfs::new().unwrap();
    let path = fake.root().join("mem");
    fs::File::create(&path).unwrap().set_len(0x10_0000).unwrap();
    let r = map_file(&path, 1, 64).unwrap();
    assert_eq!(r.kind(), hal_core::MemoryKind::Ram);
    let e = r.try_read32(0).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!(
            "32-bit access at offset 0x0 is misaligned: its address {:#x} is not a multiple of 4 \
             (the region starts 1 byte past a 4-byte boundary",
            r.as_ptr().addr()
        )),
        "{msg}"
    );
    assert!(r.try_write64(0, 0).is_err());
    r.try_write8(0, 0xab).unwrap();
    assert_eq!(r.try_read8(0).unwrap(), 0xab);
    r.try_write32(3, 0xdead_beef).unwrap();
    assert_eq!(r.try_read32(3).unwrap(), 0xdead_beef);
    drop(r);
    let b = fs::read(&path).unwrap();
    assert_eq!(&b[1..2], &[0xab]);
    assert_eq!(&b[4..8], &0xdead_beefu32.to_le_bytes());
}

/// Read-only: mapping fails cleanly or works for the host's real devices.
#[test]
fn real_sysfs_bar_lookup_errors() {
    let sysfs = Sysfs::system();
    if sysfs.check_mounted().is_err() {
        return;
    }
    let Ok(devs) = sysfs.pci_devices() else {
        return;
    };
    for d in devs {
        let e = map_bar(&d, 7).unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("{} has no BAR7", d.address())),
            "{e}"
        );
    }
}
