//! Fake sysfs trees in a temporary directory, for host tests without root or hardware.
//!
//! [`FakeSysfs`] creates `sys/bus/pci/{devices,drivers}`, `sys/class/uio`
//! and `dev/` under a fresh temp directory (removed on drop) and writes real
//! files in the kernel's formats (`vendor` = `0x1234\n`, `resource` lines of
//! three hex numbers, a 256-byte `config`, UIO `maps/mapN/*`, ...). Point
//! [`Sysfs::new`](crate::Sysfs::new) (or [`FakeSysfs::sysfs`]) at it.
//!
//! ```
//! use pci_sysfs::fake::{FakePci, FakeSysfs};
//! let fake = FakeSysfs::new().unwrap();
//! fake.add_pci(&FakePci::edu("0000:00:04.0")).unwrap();
//! let dev = fake.sysfs().find_by_id(pci_sysfs::PciId::new(0x1234, 0x11e8)).unwrap();
//! assert_eq!(dev.bar(0).unwrap().len(), 1 << 20);
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::address::PciAddress;
use crate::resource::ResourceFlags;
use crate::sysfs::Sysfs;

/// A temporary directory laid out like the parts of `/` this workspace reads.
#[derive(Debug)]
pub struct FakeSysfs {
    root: PathBuf,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn write(path: &Path, content: impl AsRef<[u8]>) -> io::Result<()> {
    fs::write(path, content)
}

impl FakeSysfs {
    fn empty_root() -> io::Result<PathBuf> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let root =
            std::env::temp_dir().join(format!("pci-sysfs-fake-{}-{n}-{nanos}", std::process::id()));
        fs::create_dir(&root)?;
        Ok(root)
    }

    /// A tree with an (empty) PCI bus, the UIO class directory and `dev/`.
    pub fn new() -> io::Result<FakeSysfs> {
        let root = Self::empty_root()?;
        let fake = FakeSysfs { root };
        fs::create_dir_all(fake.root.join("sys/bus/pci/devices"))?;
        fs::create_dir_all(fake.root.join("sys/bus/pci/drivers"))?;
        fs::create_dir_all(fake.root.join("sys/class/uio"))?;
        fs::create_dir_all(fake.root.join("dev"))?;
        write(&fake.root.join("sys/bus/pci/drivers_probe"), "")?;
        Ok(fake)
    }

    /// A tree whose `sys/` is an empty directory, as when sysfs is not mounted.
    pub fn unmounted() -> io::Result<FakeSysfs> {
        let root = Self::empty_root()?;
        fs::create_dir(root.join("sys"))?;
        Ok(FakeSysfs { root })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A [`Sysfs`] for this tree.
    pub fn sysfs(&self) -> Sysfs {
        Sysfs::new(&self.root)
    }

    /// Adds `sys/bus/pci/drivers/<name>` with `bind`, `unbind` and `new_id` files.
    pub fn add_driver(&self, name: &str) -> io::Result<PathBuf> {
        let dir = self.root.join("sys/bus/pci/drivers").join(name);
        fs::create_dir_all(&dir)?;
        for f in ["bind", "unbind", "new_id", "remove_id"] {
            write(&dir.join(f), "")?;
        }
        Ok(dir)
    }

    /// Adds a PCI device directory; returns its path.
    pub fn add_pci(&self, dev: &FakePci) -> io::Result<PathBuf> {
        let dir = self
            .root
            .join("sys/bus/pci/devices")
            .join(dev.address.to_string());
        fs::create_dir_all(&dir)?;
        write(&dir.join("vendor"), format!("0x{:04x}\n", dev.vendor))?;
        write(&dir.join("device"), format!("0x{:04x}\n", dev.device))?;
        write(
            &dir.join("modalias"),
            format!(
                "pci:v{:08X}d{:08X}sv00001AF4sd00001100bc{:02X}sc{:02X}i{:02X}\n",
                dev.vendor,
                dev.device,
                dev.class >> 16,
                (dev.class >> 8) & 0xff,
                dev.class & 0xff
            ),
        )?;
        write(&dir.join("subsystem_vendor"), "0x1af4\n")?;
        write(&dir.join("subsystem_device"), "0x1100\n")?;
        write(&dir.join("class"), format!("0x{:06x}\n", dev.class))?;
        write(&dir.join("revision"), format!("0x{:02x}\n", dev.revision))?;
        write(&dir.join("irq"), format!("{}\n", dev.irq))?;
        write(&dir.join("driver_override"), "(null)\n")?;
        let mut lines = String::new();
        for i in 0..13 {
            let (s, e, f) = dev
                .resources
                .iter()
                .find(|r| r.0 == i)
                .map(|r| (r.1, r.2, r.3))
                .unwrap_or((0, 0, 0));
            lines.push_str(&format!("0x{s:016x} 0x{e:016x} 0x{f:016x}\n"));
            if i < 6 && !(s == 0 && e == 0) {
                let len = e.saturating_sub(s).saturating_add(1);
                let file = fs::File::create(dir.join(format!("resource{i}")))?;
                file.set_len(len)?;
                let flags = ResourceFlags(f);
                if flags.is_mem() && flags.is_prefetchable() {
                    let wc = fs::File::create(dir.join(format!("resource{i}_wc")))?;
                    wc.set_len(len)?;
                }
            }
        }
        write(&dir.join("resource"), lines)?;
        self.add_proc_line(dev)?;
        write(&dir.join("config"), dev.config_bytes())?;
        if let Some(driver) = &dev.driver {
            self.add_driver(driver)?;
            let link = dir.join("driver");
            let _ = fs::remove_file(&link);
            std::os::unix::fs::symlink(format!("../../drivers/{driver}"), link)?;
        }
        Ok(dir)
    }

    /// Appends `dev` to `proc/bus/pci/devices` (bus, devfn, ID, IRQ and
    /// driver; BAR columns as zeros), as the kernel lists every device
    /// there without its PCI domain.
    fn add_proc_line(&self, dev: &FakePci) -> io::Result<()> {
        use std::io::Write as _;
        let dir = self.root.join("proc/bus/pci");
        fs::create_dir_all(&dir)?;
        let a = dev.address;
        let devfn = (a.device() << 3) | a.function();
        let mut line = format!(
            "{:02x}{:02x}\t{:04x}{:04x}\t{:x}",
            a.bus(),
            devfn,
            dev.vendor,
            dev.device,
            dev.irq
        );
        for _ in 0..14 {
            line.push_str(&format!("\t{:16x}", 0));
        }
        line.push('\t');
        line.push_str(dev.driver.as_deref().unwrap_or(""));
        line.push('\n');
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("devices"))?
            .write_all(line.as_bytes())
    }

    /// Adds `sys/class/uio/uioN` (and `dev/uioN` as described); returns its path.
    pub fn add_uio(&self, uio: &FakeUio) -> io::Result<PathBuf> {
        let name = format!("uio{}", uio.number);
        let class_dir = self.root.join("sys/class/uio");
        let mut dir = class_dir.join(&name);
        // As in the kernel, a PCI device's UIO device lives under it
        // (`…/devices/<address>/uio/uioN`) and the class entry links there.
        let parent = uio
            .pci
            .map(|a| self.root.join("sys/bus/pci/devices").join(a.to_string()))
            .filter(|p| p.is_dir());
        if let Some(p) = parent {
            let real = p.join("uio").join(&name);
            fs::create_dir_all(&real)?;
            fs::create_dir_all(&class_dir)?;
            let _ = fs::remove_file(&dir);
            std::os::unix::fs::symlink(&real, &dir)?;
            dir = real;
        }
        fs::create_dir_all(&dir)?;
        write(&dir.join("name"), format!("{}\n", uio.name))?;
        write(&dir.join("version"), "0.01.0\n")?;
        write(&dir.join("event"), format!("{}\n", uio.event))?;
        write(&dir.join("dev"), format!("246:{}\n", uio.number))?;
        write(
            &dir.join("uevent"),
            format!("MAJOR=246\nMINOR={}\nDEVNAME={name}\n", uio.number),
        )?;
        if !uio.maps.is_empty() {
            for (i, m) in uio.maps.iter().enumerate() {
                let mdir = dir.join(format!("maps/map{i}"));
                fs::create_dir_all(&mdir)?;
                write(&mdir.join("name"), format!("{}\n", m.name))?;
                write(&mdir.join("addr"), format!("0x{:016x}\n", m.addr))?;
                write(&mdir.join("size"), format!("0x{:016x}\n", m.size))?;
                write(&mdir.join("offset"), format!("0x{:x}\n", m.offset))?;
            }
        }
        if let Some(addr) = uio.pci {
            let target = self.root.join("sys/bus/pci/devices").join(addr.to_string());
            let link = dir.join("device");
            let _ = fs::remove_file(&link);
            std::os::unix::fs::symlink(target, link)?;
        }
        let node = self.root.join("dev").join(&name);
        match uio.node {
            FakeNode::None => {}
            FakeNode::File(len) => {
                let f = fs::File::create(&node)?;
                f.set_len(len)?;
            }
            FakeNode::Fifo => {
                nix::unistd::mkfifo(&node, nix::sys::stat::Mode::from_bits_truncate(0o600))
                    .map_err(io::Error::from)?;
            }
        }
        Ok(dir)
    }
}

impl Drop for FakeSysfs {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn addr(s: &str) -> PciAddress {
    s.parse().unwrap_or(PciAddress::ZERO)
}

/// A PCI device to put into a [`FakeSysfs`].
#[derive(Debug, Clone)]
pub struct FakePci {
    /// Its address (directory name).
    pub address: PciAddress,
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// 24-bit class code.
    pub class: u32,
    /// Revision.
    pub revision: u8,
    /// IRQ number (0 = no INTx).
    pub irq: u32,
    /// Bound driver (a `driver` symlink and a drivers directory are created).
    pub driver: Option<String>,
    /// `(index, start, end, flags)` lines of the `resource` file.
    pub resources: Vec<(usize, u64, u64, u64)>,
}

impl FakePci {
    /// A device with no BARs, no IRQ and no driver. An unparsable address becomes `0000:00:00.0`.
    pub fn new(address: &str, vendor: u16, device: u16) -> FakePci {
        FakePci {
            address: addr(address),
            vendor,
            device,
            class: 0,
            revision: 0,
            irq: 0,
            driver: None,
            resources: Vec::new(),
        }
    }

    /// QEMU's edu: 1234:11e8, class 0x00ff00, rev 0x10, IRQ 11, BAR0 1 MiB at 0xfea00000.
    pub fn edu(address: &str) -> FakePci {
        let mut d = FakePci::new(address, 0x1234, 0x11e8);
        d.class = 0x00ff00;
        d.revision = 0x10;
        d.irq = 11;
        d.resources = vec![(0, 0xfea0_0000, 0xfeaf_ffff, 0x40200)];
        d
    }

    /// QEMU's ivshmem-plain: 1af4:1110, class 0x050000, rev 1, no IRQ,
    /// BAR0 256 B at 0xfebf1000, BAR2 1 MiB 64-bit prefetchable at 0xfe000000.
    pub fn ivshmem_plain(address: &str) -> FakePci {
        let mut d = FakePci::new(address, 0x1af4, 0x1110);
        d.class = 0x050000;
        d.revision = 1;
        d.resources = vec![
            (0, 0xfebf_1000, 0xfebf_10ff, 0x40200),
            (2, 0xfe00_0000, 0xfe0f_ffff, 0x14220c),
        ];
        d
    }

    /// With this driver bound.
    pub fn with_driver(mut self, driver: &str) -> FakePci {
        self.driver = Some(driver.to_string());
        self
    }

    /// With this IRQ.
    pub fn with_irq(mut self, irq: u32) -> FakePci {
        self.irq = irq;
        self
    }

    /// With one more (or a replaced) resource line.
    pub fn with_resource(mut self, index: usize, start: u64, end: u64, flags: u64) -> FakePci {
        self.resources.retain(|r| r.0 != index);
        self.resources.push((index, start, end, flags));
        self
    }

    /// The 256-byte config space: IDs, COMMAND 0x0103, STATUS 0x0010,
    /// class, revision, interrupt line and pin.
    pub fn config_bytes(&self) -> Vec<u8> {
        let mut c = vec![0u8; 256];
        c[0..2].copy_from_slice(&self.vendor.to_le_bytes());
        c[2..4].copy_from_slice(&self.device.to_le_bytes());
        c[4..6].copy_from_slice(&0x0103u16.to_le_bytes());
        c[6..8].copy_from_slice(&0x0010u16.to_le_bytes());
        c[8] = self.revision;
        c[9..12].copy_from_slice(&self.class.to_le_bytes()[0..3]);
        c[0x3c] = self.irq as u8;
        c[0x3d] = u8::from(self.irq != 0);
        c
    }
}

/// What stands in for `/dev/uioN` in a fake tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeNode {
    /// No device node.
    None,
    /// A regular file of this many bytes (mmap works; map N is at N pages).
    File(u64),
    /// A FIFO (poll and read work; mmap does not).
    Fifo,
}

/// One `maps/mapN` directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUioMap {
    /// `name`.
    pub name: String,
    /// `addr` (page-aligned).
    pub addr: u64,
    /// `size` (page-rounded).
    pub size: u64,
    /// `offset` (sub-page offset of the registers).
    pub offset: u64,
}

/// A UIO device to put into a [`FakeSysfs`].
#[derive(Debug, Clone)]
pub struct FakeUio {
    /// N of `uioN`.
    pub number: u32,
    /// The `name` attribute (the UIO driver's name).
    pub name: String,
    /// The `event` attribute.
    pub event: u32,
    /// Parent PCI device (a `device` symlink), if any.
    pub pci: Option<PciAddress>,
    /// The maps.
    pub maps: Vec<FakeUioMap>,
    /// The device node.
    pub node: FakeNode,
}

impl FakeUio {
    /// A `uio_pci_generic` device for the PCI device at `pci`, with these
    /// `(addr, size, offset)` maps and a regular file as its node, large
    /// enough for every map at `index * page_size`.
    pub fn pci_generic(
        number: u32,
        pci: &str,
        maps: &[(u64, u64, u64)],
        page_size: u64,
    ) -> FakeUio {
        let pci = addr(pci);
        let node_len = maps
            .iter()
            .enumerate()
            .map(|(i, m)| (i as u64).saturating_mul(page_size).saturating_add(m.1))
            .max()
            .unwrap_or(0);
        FakeUio {
            number,
            name: "uio_pci_generic".to_string(),
            event: 0,
            pci: Some(pci),
            maps: maps
                .iter()
                .map(|&(addr, size, offset)| FakeUioMap {
                    name: pci.to_string(),
                    addr,
                    size,
                    offset,
                })
                .collect(),
            node: FakeNode::File(node_len),
        }
    }
}
