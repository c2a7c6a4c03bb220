//! The sysfs root and device discovery.

use std::io;
use std::path::{Path, PathBuf};

use crate::address::{PciAddress, PciId, PciSelector};
use crate::device::PciDevice;
use crate::error::{DeviceList, DeviceSummary, PciError};
use crate::sys;

mod ids;
pub use ids::describe_ids;

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
        let dir = self.pci_devices_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                // Say why: sysfs not mounted, or no PCI bus.
                self.check_mounted()?;
                return Err(PciError::io("listing", &dir, e));
            }
        };
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

    /// Domain-0 addresses of the devices with this ID according to
    /// `root/proc/bus/pci/devices`, in address order (empty if it cannot be
    /// read). Domain 0 sorts first, so a confirmed candidate is the first
    /// such device in address order.
    fn proc_candidates(&self, id: PciId) -> Vec<PciAddress> {
        let Ok(text) = sys::read_proc_file(&self.root.join("proc/bus/pci/devices")) else {
            return Vec::new();
        };
        let mut out: Vec<PciAddress> = sys::parse_proc_pci_devices(&text)
            .filter(|&(_, _, v, d)| PciId::new(v, d) == id)
            .filter_map(|(bus, devfn, _, _)| PciAddress::new(0, bus, devfn >> 3, devfn & 7).ok())
            .collect();
        out.sort();
        out
    }

    /// Every device's address and directory, in address order.
    fn pci_device_dirs(&self) -> Result<Vec<(PciAddress, PathBuf)>, PciError> {
        let base = self.pci_devices_dir();
        Ok(self
            .pci_addresses()?
            .into_iter()
            .map(|a| (a, base.join(a.to_string())))
            .collect())
    }

    /// The devices among `candidates` (address and directory) whose ID is
    /// `id`, in the given order; a device whose ID cannot be read is skipped.
    fn with_id(
        candidates: impl IntoIterator<Item = (PciAddress, PathBuf)>,
        id: PciId,
    ) -> impl Iterator<Item = (PciAddress, PathBuf)> {
        candidates
            .into_iter()
            .filter(move |(_, dir)| Sysfs::pci_id_in(dir).ok() == Some(id))
    }

    /// All PCI devices, in address order.
    pub fn pci_devices(&self) -> Result<Vec<PciDevice>, PciError> {
        self.pci_device_dirs()?
            .into_iter()
            .map(|(a, dir)| PciDevice::load_dir(self, a, dir))
            .collect()
    }

    /// The device at `address`; [`PciError::NotFound`] (listing what exists) if there is none.
    pub fn pci_device(&self, address: PciAddress) -> Result<PciDevice, PciError> {
        let dir = self.pci_device_dir(address);
        match std::fs::metadata(&dir) {
            Ok(_) => PciDevice::load(self, address),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.check_mounted()?;
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
        let out = Sysfs::with_id(self.pci_device_dirs()?, id)
            .map(|(addr, dir)| PciDevice::load_at(self, addr, dir, id))
            .collect::<Result<Vec<_>, _>>()?;
        if out.is_empty() {
            return Err(self.not_found(format!("with ID {id}")));
        }
        Ok(out)
    }

    /// The first device (in address order) with this vendor:device ID.
    ///
    /// Use [`find_all_by_id`](Self::find_all_by_id) when there may be several.
    ///
    /// `/proc/bus/pci/devices` lists every device's ID in one read, so it
    /// is asked first; its candidates (it shows no PCI domain) are checked
    /// in sysfs as `0000:BB:DD.F`. Without a confirmed candidate every
    /// device directory in sysfs is read, as [`find_all_by_id`](Self::find_all_by_id) does.
    pub fn find_by_id(&self, id: PciId) -> Result<PciDevice, PciError> {
        let from_proc = self
            .proc_candidates(id)
            .into_iter()
            .map(|a| (a, self.pci_device_dir(a)));
        let found = match Sysfs::with_id(from_proc, id).next() {
            Some(f) => Some(f),
            None => Sysfs::with_id(self.pci_device_dirs()?, id).next(),
        };
        match found {
            Some((addr, dir)) => PciDevice::load_at(self, addr, dir, id),
            None => Err(self.not_found(format!("with ID {id}"))),
        }
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
                    id: self.pci_id(address).ok(),
                    driver: sys::link_name(&self.pci_device_dir(address).join("driver"))
                        .ok()
                        .flatten(),
                })
                .collect(),
        )
    }

    /// The vendor:device ID of the device at `addr`.
    ///
    /// One read of `modalias` (which holds both), else the `vendor` and
    /// `device` attributes: a search by ID reads every device's ID, and
    /// each file costs three system calls.
    pub fn pci_id(&self, addr: PciAddress) -> Result<PciId, PciError> {
        Sysfs::pci_id_in(&self.pci_device_dir(addr))
    }

    /// [`pci_id`](Self::pci_id) of the device directory `dir`.
    pub(crate) fn pci_id_in(dir: &Path) -> Result<PciId, PciError> {
        if let Some((vendor, device)) = sys::read_sysfs_attr(&dir.join("modalias"))
            .ok()
            .as_deref()
            .and_then(sys::parse_modalias)
        {
            return Ok(PciId::new(vendor, device));
        }
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
