//! The sysfs root and device discovery.

use std::io;
use std::path::{Path, PathBuf};

use crate::address::{PciAddress, PciId, PciSelector};
use crate::device::PciDevice;
use crate::error::{DeviceList, DeviceSummary, PciError};
use crate::sys;

/// Where sysfs lives: the root of a file-system tree that has `sys/` in it.
///
/// [`Sysfs::system`] (also [`Default`]) is the real `/`. Tests and tools
/// point [`Sysfs::new`] at a directory that imitates the layout (see
/// [`crate::fake`]), so the same code runs against a fake tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysfs {
    root: PathBuf,
}

impl Default for Sysfs {
    fn default() -> Sysfs {
        Sysfs::system()
    }
}

impl Sysfs {
    /// The running system: root `/`, so sysfs at `/sys`.
    pub fn system() -> Sysfs {
        Sysfs {
            root: PathBuf::from("/"),
        }
    }

    /// A tree rooted at `root` (sysfs expected at `root/sys`).
    pub fn new(root: impl Into<PathBuf>) -> Sysfs {
        Sysfs { root: root.into() }
    }

    /// The root directory of the tree.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `root/sys`.
    pub fn sys_dir(&self) -> PathBuf {
        self.root.join("sys")
    }

    /// `root/sys/bus/pci/devices`.
    pub fn pci_devices_dir(&self) -> PathBuf {
        self.sys_dir().join("bus/pci/devices")
    }

    /// `root/sys/bus/pci/drivers`.
    pub fn pci_drivers_dir(&self) -> PathBuf {
        self.sys_dir().join("bus/pci/drivers")
    }

    /// `root/sys/bus/pci/devices/<address>`.
    pub fn pci_device_dir(&self, address: PciAddress) -> PathBuf {
        self.pci_devices_dir().join(address.to_string())
    }

    /// `root/sys/class/uio` (used by the UIO backend).
    pub fn uio_class_dir(&self) -> PathBuf {
        self.sys_dir().join("class/uio")
    }

    /// `root/dev` (device nodes such as `/dev/uio0`).
    pub fn dev_dir(&self) -> PathBuf {
        self.root.join("dev")
    }

    /// Checks that sysfs is mounted and has a PCI bus.
    ///
    /// An unmounted `/sys` is an empty directory, and tools that scan it
    /// (libudev included) then silently find nothing; this turns that into
    /// [`PciError::SysfsNotMounted`].
    pub fn check_mounted(&self) -> Result<(), PciError> {
        self.check_sys_mounted()?;
        let devices = self.pci_devices_dir();
        if !devices.is_dir() {
            return Err(PciError::NoPciBus { path: devices });
        }
        Ok(())
    }

    /// Checks only that `root/sys` is a non-empty directory.
    pub fn check_sys_mounted(&self) -> Result<(), PciError> {
        let sys = self.sys_dir();
        let populated = std::fs::read_dir(&sys)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if populated {
            Ok(())
        } else {
            Err(PciError::SysfsNotMounted { path: sys })
        }
    }

    /// The addresses of all PCI devices, sorted.
    pub fn pci_addresses(&self) -> Result<Vec<PciAddress>, PciError> {
        self.check_mounted()?;
        let dir = self.pci_devices_dir();
        let entries = std::fs::read_dir(&dir).map_err(|e| PciError::io("listing", &dir, e))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| PciError::io("listing", &dir, e))?;
            if let Some(addr) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<PciAddress>().ok())
            {
                out.push(addr);
            }
        }
        out.sort();
        Ok(out)
    }

    /// All PCI devices, in address order.
    pub fn pci_devices(&self) -> Result<Vec<PciDevice>, PciError> {
        self.pci_addresses()?
            .into_iter()
            .map(|a| PciDevice::load(self, a))
            .collect()
    }

    /// The device at `address`; [`PciError::NotFound`] (listing what exists) if there is none.
    pub fn pci_device(&self, address: PciAddress) -> Result<PciDevice, PciError> {
        self.check_mounted()?;
        let dir = self.pci_device_dir(address);
        match std::fs::metadata(&dir) {
            Ok(_) => PciDevice::load(self, address),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(self.not_found(address.to_string()))
            }
            Err(e) => Err(PciError::io("reading", &dir, e)),
        }
    }

    /// All devices with this vendor:device ID, in address order.
    ///
    /// Returns [`PciError::NotFound`] (listing what exists) if there is none,
    /// so the result is never empty. Devices whose `vendor` or `device` file
    /// cannot be read are skipped.
    pub fn find_all_by_id(&self, id: PciId) -> Result<Vec<PciDevice>, PciError> {
        let mut out = Vec::new();
        for addr in self.pci_addresses()? {
            if self.read_id(addr).ok() == Some(id) {
                out.push(PciDevice::load_with_id(self, addr, id)?);
            }
        }
        if out.is_empty() {
            return Err(self.not_found(format!("with ID {id}")));
        }
        Ok(out)
    }

    /// The first device (in address order) with this vendor:device ID.
    ///
    /// Use [`find_all_by_id`](Self::find_all_by_id) when there may be several.
    pub fn find_by_id(&self, id: PciId) -> Result<PciDevice, PciError> {
        for addr in self.pci_addresses()? {
            if self.read_id(addr).ok() == Some(id) {
                return PciDevice::load_with_id(self, addr, id);
            }
        }
        Err(self.not_found(format!("with ID {id}")))
    }

    /// The device a [`PciSelector`] picks.
    pub fn select(&self, selector: &PciSelector) -> Result<PciDevice, PciError> {
        match selector {
            PciSelector::Address(a) => self.pci_device(*a),
            PciSelector::Id(id) => self.find_by_id(*id),
        }
    }

    /// A best-effort listing of every device (address, ID, driver), for messages.
    pub fn device_list(&self) -> DeviceList {
        let addrs = self.pci_addresses().unwrap_or_default();
        DeviceList(
            addrs
                .into_iter()
                .map(|address| DeviceSummary {
                    address,
                    id: self.read_id(address).ok(),
                    driver: sys::link_name(&self.pci_device_dir(address).join("driver"))
                        .ok()
                        .flatten(),
                })
                .collect(),
        )
    }

    /// The `vendor` and `device` attributes of the device at `addr`.
    pub(crate) fn read_id(&self, addr: PciAddress) -> Result<PciId, PciError> {
        let dir = self.pci_device_dir(addr);
        let vendor = sys::read_hex(&dir.join("vendor"), 0xffff, "a 16-bit hex vendor ID")?;
        let device = sys::read_hex(&dir.join("device"), 0xffff, "a 16-bit hex device ID")?;
        Ok(PciId::new(vendor as u16, device as u16))
    }

    fn not_found(&self, wanted: String) -> PciError {
        PciError::NotFound {
            wanted,
            dir: self.pci_devices_dir(),
            available: self.device_list(),
        }
    }
}
