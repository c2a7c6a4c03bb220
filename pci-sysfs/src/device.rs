//! One PCI device as sysfs describes it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::address::{PciAddress, PciId};
use crate::config::{Access, ConfigSpace};
use crate::error::PciError;
use crate::resource::{parse_resources, Resource};
use crate::sys;
use crate::sysfs::Sysfs;

/// A PCI device: its address, ID, driver and resources as sysfs shows them.
///
/// The ID, the bound driver and the `resource` table are read when the
/// value is built; call [`refresh`](Self::refresh) after something changed
/// (binding does that itself). Class, revision, subsystem ID, IRQ and
/// `driver_override` are read from sysfs when asked for (each getter reads
/// its file now), so finding a device costs only what mapping it needs.
/// Config space is always accessed live, through [`config`](Self::config) /
/// [`config_rw`](Self::config_rw).
#[derive(Debug, Clone)]
pub struct PciDevice {
    sysfs: Sysfs,
    address: PciAddress,
    path: PathBuf,
    id: PciId,
    driver: Option<String>,
    resources: Vec<Resource>,
}

impl PciDevice {
    /// The device at `address` on the running system.
    pub fn find_by_address(address: PciAddress) -> Result<PciDevice, PciError> {
        Sysfs::system().pci_device(address)
    }

    /// The first device (in address order) with this vendor:device ID on the running system.
    pub fn find_by_id(vendor: u16, device: u16) -> Result<PciDevice, PciError> {
        Sysfs::system().find_by_id(PciId::new(vendor, device))
    }

    /// Every device with this vendor:device ID on the running system (never empty).
    pub fn find_all_by_id(vendor: u16, device: u16) -> Result<Vec<PciDevice>, PciError> {
        Sysfs::system().find_all_by_id(PciId::new(vendor, device))
    }

    /// Every PCI device on the running system.
    pub fn list() -> Result<Vec<PciDevice>, PciError> {
        Sysfs::system().pci_devices()
    }

    /// Reads the device at `address` under `sysfs` (no existence check beyond the reads).
    pub(crate) fn load(sysfs: &Sysfs, address: PciAddress) -> Result<PciDevice, PciError> {
        PciDevice::load_dir(sysfs, address, sysfs.pci_device_dir(address))
    }

    /// [`load`](Self::load) with the device directory known.
    pub(crate) fn load_dir(
        sysfs: &Sysfs,
        address: PciAddress,
        path: PathBuf,
    ) -> Result<PciDevice, PciError> {
        let id = Sysfs::pci_id_in(&path)?;
        PciDevice::load_at(sysfs, address, path, id)
    }

    /// Reads the device at `address`, whose directory is `path` and whose
    /// ID the caller has just read (a search by ID), so it is not read twice.
    pub(crate) fn load_at(
        sysfs: &Sysfs,
        address: PciAddress,
        path: PathBuf,
        id: PciId,
    ) -> Result<PciDevice, PciError> {
        let mut dev = PciDevice {
            sysfs: sysfs.clone(),
            address,
            path,
            id,
            driver: None,
            resources: Vec::new(),
        };
        dev.refresh_after_id()?;
        Ok(dev)
    }

    /// Re-reads the ID, the driver and the resources from sysfs.
    pub fn refresh(&mut self) -> Result<(), PciError> {
        self.id = self.sysfs.pci_id(self.address)?;
        self.refresh_after_id()
    }

    /// Re-reads the driver and the resources.
    fn refresh_after_id(&mut self) -> Result<(), PciError> {
        let p = &self.path;
        let driver = sys::link_name(&p.join("driver"))?;
        let res_path = p.join("resource");
        let content =
            sys::read_sysfs_attr(&res_path).map_err(|e| PciError::io("reading", &res_path, e))?;
        let resources = parse_resources(&content, p, &res_path)?;
        self.driver = driver;
        self.resources = resources;
        Ok(())
    }

    /// Subsystem vendor and device ID (read now), if sysfs shows them.
    pub fn subsystem(&self) -> Result<Option<PciId>, PciError> {
        let p = &self.path;
        let sub_v = sys::read_attr_opt(&p.join("subsystem_vendor"))?;
        let sub_d = sys::read_attr_opt(&p.join("subsystem_device"))?;
        Ok(match (sub_v, sub_d) {
            (Some(v), Some(d)) => match (sys::parse_hex(&v), sys::parse_hex(&d)) {
                (Some(v), Some(d)) if v <= 0xffff && d <= 0xffff => {
                    Some(PciId::new(v as u16, d as u16))
                }
                _ => None,
            },
            _ => None,
        })
    }

    /// The 24-bit class code (base class, subclass, prog-if), e.g. `0x00ff00`
    /// for edu (read now).
    pub fn class(&self) -> Result<u32, PciError> {
        Ok(sys::read_hex(
            &self.path.join("class"),
            0xff_ffff,
            "a 24-bit hex class code",
        )? as u32)
    }

    /// Revision ID (read now; from config space on kernels without a
    /// `revision` file).
    pub fn revision(&self) -> Result<u8, PciError> {
        let path = self.path.join("revision");
        match sys::read_attr_opt(&path)? {
            Some(s) => match sys::parse_hex(&s) {
                Some(v) if v <= 0xff => Ok(v as u8),
                _ => Err(PciError::Parse {
                    path,
                    content: s,
                    expected: "an 8-bit hex revision",
                }),
            },
            // Old kernels have no `revision` file: byte 8 of config space.
            None => ConfigSpace::open(self.config_path(), Access::ReadOnly)?.read8(8),
        }
    }

    /// The legacy IRQ number (read now); 0 means the device has no INTx (ivshmem).
    pub fn irq(&self) -> Result<u32, PciError> {
        let path = self.path.join("irq");
        let s = sys::read_attr(&path)?;
        s.parse::<u32>().map_err(|_| PciError::Parse {
            path,
            content: s,
            expected: "a decimal IRQ number",
        })
    }

    /// The `driver_override` setting (read now), if one is set.
    pub fn driver_override(&self) -> Result<Option<String>, PciError> {
        Ok(sys::read_attr_opt(&self.path.join("driver_override"))?
            .filter(|s| !s.is_empty() && s != "(null)"))
    }

    /// The sysfs tree this device was read from.
    pub fn sysfs(&self) -> &Sysfs {
        &self.sysfs
    }
    /// The device's address.
    pub fn address(&self) -> PciAddress {
        self.address
    }
    /// The device's sysfs directory (`…/sys/bus/pci/devices/<address>`).
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Vendor and device ID.
    pub fn id(&self) -> PciId {
        self.id
    }
    /// Vendor ID.
    pub fn vendor(&self) -> u16 {
        self.id.vendor
    }
    /// Device ID.
    pub fn device(&self) -> u16 {
        self.id.device
    }
    /// Name of the bound driver (the `driver` symlink), if any.
    pub fn driver(&self) -> Option<&str> {
        self.driver.as_deref()
    }
    /// Every line of the `resource` file (BARs 0..=5, ROM, bridge/SR-IOV slots), empty ones included.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }
    /// The non-empty BARs (indices 0..=5).
    pub fn bars(&self) -> impl Iterator<Item = &Resource> {
        self.resources
            .iter()
            .filter(|r| r.is_bar() && !r.is_empty())
    }
    /// BAR `n` if it exists and is not empty.
    pub fn bar(&self, n: usize) -> Option<&Resource> {
        self.bars().find(|r| r.index == n)
    }
    /// A one-line description of the non-empty BARs, for error messages.
    pub fn bar_summary(&self) -> String {
        let bars: Vec<String> = self.bars().map(|r| r.to_string()).collect();
        if bars.is_empty() {
            "the device has no BARs".to_string()
        } else {
            format!("its BARs: {}", bars.join("; "))
        }
    }
    /// The BAR numbers that `uio_pci_generic` exposes, in UIO map order.
    ///
    /// UIO map `i` is BAR `uio_pci_generic_bars()[i]`: the driver numbers
    /// maps consecutively over the BARs it accepts (32-bit non-prefetchable
    /// memory only), so a map index is not a BAR number.
    pub fn uio_pci_generic_bars(&self) -> Vec<usize> {
        self.resources
            .iter()
            .filter(|r| r.is_uio_pci_generic_map())
            .map(|r| r.index)
            .collect()
    }
    /// The `config` file.
    pub fn config_path(&self) -> PathBuf {
        self.path.join("config")
    }
    /// `resourceN` (or `resourceN_wc`) path, whether or not it exists.
    pub fn resource_path(&self, n: usize, write_combining: bool) -> PathBuf {
        if write_combining {
            self.path.join(format!("resource{n}_wc"))
        } else {
            self.path.join(format!("resource{n}"))
        }
    }

    /// Opens config space read-only (no special rights needed for the first 64 bytes).
    pub fn config(&self) -> Result<ConfigSpace, PciError> {
        ConfigSpace::open(self.config_path(), Access::ReadOnly)
    }
    /// Opens config space read-write (needs root).
    pub fn config_rw(&self) -> Result<ConfigSpace, PciError> {
        ConfigSpace::open(self.config_path(), Access::ReadWrite)
    }
    /// Whether Bus Master (COMMAND bit 2) is set.
    pub fn bus_master(&self) -> Result<bool, PciError> {
        self.config()?.bus_master()
    }
    /// Sets or clears Bus Master (needs root). DMA needs it; uio_pci_generic
    /// clears it when `/dev/uioN` is closed for the last time.
    pub fn set_bus_master(&self, enable: bool) -> Result<(), PciError> {
        self.config_rw()?.set_bus_master(enable)
    }
    /// Whether INTx Disable (COMMAND bit 10) is set.
    pub fn intx_disabled(&self) -> Result<bool, PciError> {
        self.config()?.intx_disabled()
    }
    /// Sets or clears INTx Disable (needs root).
    pub fn set_intx_disabled(&self, disabled: bool) -> Result<(), PciError> {
        self.config_rw()?.set_intx_disabled(disabled)
    }
    /// Whether the device signals an interrupt (STATUS bit 3).
    pub fn interrupt_pending(&self) -> Result<bool, PciError> {
        self.config()?.interrupt_pending()
    }
}

impl fmt::Display for PciDevice {
    /// `0000:00:04.0 1234:11e8 class 00ff00 rev 10 [uio_pci_generic] irq 11`.
    ///
    /// Class, revision and IRQ are read from sysfs now; one that cannot be
    /// read is left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.address, self.id)?;
        if let Ok(class) = self.class() {
            write!(f, " class {class:06x}")?;
        }
        if let Ok(rev) = self.revision() {
            write!(f, " rev {rev:02x}")?;
        }
        match &self.driver {
            Some(d) => write!(f, " [{d}]")?,
            None => f.write_str(" [no driver]")?,
        }
        match self.irq() {
            Ok(irq) if irq != 0 => write!(f, " irq {irq}"),
            _ => Ok(()),
        }
    }
}
