//! Binding a device to a driver: `driver_override` + `drivers_probe`, or `new_id`.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::device::PciDevice;
use crate::error::PciError;
use crate::sys;

/// The name of Linux's generic PCI UIO driver.
pub const UIO_PCI_GENERIC: &str = "uio_pci_generic";

/// The name of Linux's VFIO PCI driver, as its sysfs directory
/// (`/sys/bus/pci/drivers/vfio-pci`) and `driver_override` spell it.
pub const VFIO_PCI: &str = "vfio-pci";

fn check_driver_name(name: &str) -> Result<(), PciError> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(PciError::InvalidDriverName {
            name: name.to_string(),
        })
    }
}

fn write_hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "binding and unbinding drivers needs root",
        _ => "",
    }
}

impl PciDevice {
    /// `…/sys/bus/pci/drivers/<driver>`, after checking that the driver is loaded.
    pub fn driver_dir(&self, driver: &str) -> Result<PathBuf, PciError> {
        check_driver_name(driver)?;
        let dir = self.sysfs().pci_drivers_dir().join(driver);
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(PciError::DriverNotLoaded {
                driver: driver.to_string(),
                path: dir,
            })
        }
    }

    /// The bound driver right now (reads the `driver` link, unlike [`driver`](Self::driver)).
    pub fn current_driver(&self) -> Result<Option<String>, PciError> {
        sys::link_name(&self.path().join("driver"))
    }

    fn write(&self, path: PathBuf, value: &str) -> Result<(), PciError> {
        sys::write_attr(&path, value).map_err(|e| {
            let hint = write_hint(&e);
            PciError::io_hint("writing", &path, e, hint)
        })
    }

    /// Unbinds the device from its driver, if it has one.
    pub fn unbind(&mut self) -> Result<(), PciError> {
        if self.current_driver()?.is_some() {
            let unbind = self.path().join("driver/unbind");
            self.write(unbind, &self.address().to_string())?;
        }
        self.refresh()
    }

    /// Binds the device to `driver` with `driver_override` + `drivers_probe`.
    ///
    /// Sets `driver_override`, unbinds the current driver, and asks the PCI
    /// core to probe the device again, which then only matches `driver`.
    /// Works for drivers without an ID table (uio_pci_generic, vfio-pci).
    /// The override stays set (so a rescan keeps the binding); remove it with
    /// [`clear_driver_override`](Self::clear_driver_override).
    ///
    /// Loading the driver is the caller's business: a missing driver is
    /// [`PciError::DriverNotLoaded`] (`modprobe <driver>`).
    pub fn bind_with_override(&mut self, driver: &str) -> Result<(), PciError> {
        self.driver_dir(driver)?;
        if self.current_driver()?.as_deref() == Some(driver) {
            return self.refresh();
        }
        self.write(self.path().join("driver_override"), driver)?;
        self.unbind()?;
        let probe = self.sysfs().sys_dir().join("bus/pci/drivers_probe");
        self.write(probe, &self.address().to_string())?;
        self.verify_bound(driver, "driver_override + drivers_probe")
    }

    /// Binds the device to `driver` by adding its vendor:device ID to the
    /// driver's `new_id` (and, if that did not bind it, writing the address to `bind`).
    ///
    /// Note that `new_id` makes the driver take *every* unbound device with
    /// this ID, and that a `driver_override` naming another driver prevents
    /// the binding.
    pub fn bind_with_new_id(&mut self, driver: &str) -> Result<(), PciError> {
        let dir = self.driver_dir(driver)?;
        if self.current_driver()?.as_deref() == Some(driver) {
            return self.refresh();
        }
        self.unbind()?;
        let id = format!("{:04x} {:04x}", self.vendor(), self.device());
        let new_id = dir.join("new_id");
        match sys::write_attr(&new_id, &id) {
            Ok(()) => {}
            // The ID is already known to the driver: fall through to `bind`.
            Err(e) if e.raw_os_error() == Some(nix::libc::EEXIST) => {}
            Err(e) => {
                let hint = write_hint(&e);
                return Err(PciError::io_hint("writing", &new_id, e, hint));
            }
        }
        if self.current_driver()?.as_deref() != Some(driver) {
            let bind = dir.join("bind");
            match sys::write_attr(&bind, &self.address().to_string()) {
                Ok(()) => {}
                // new_id bound it in the meantime.
                Err(e) if e.raw_os_error() == Some(nix::libc::EBUSY) => {}
                Err(e) => {
                    let hint = match e.raw_os_error() {
                        Some(nix::libc::ENODEV) => {
                            "the driver does not accept this device (ENODEV)"
                        }
                        _ => write_hint(&e),
                    };
                    return Err(PciError::io_hint("writing", &bind, e, hint));
                }
            }
        }
        self.verify_bound(driver, "new_id")
    }

    /// Binds to `uio_pci_generic` with [`bind_with_override`](Self::bind_with_override).
    pub fn bind_uio_pci_generic(&mut self) -> Result<(), PciError> {
        self.bind_with_override(UIO_PCI_GENERIC)
    }

    /// Binds to `vfio-pci` with [`bind_with_override`](Self::bind_with_override),
    /// the same steps as [`bind_uio_pci_generic`](Self::bind_uio_pci_generic).
    ///
    /// Loads nothing: without the driver this is
    /// [`PciError::DriverNotLoaded`], whose message says `modprobe vfio-pci`.
    /// Binding needs root; the IOMMU group's node `/dev/vfio/N` then appears
    /// (owned by root, mode 0600, unless a udev rule grants it: see
    /// `docs/permissions.md`). Every device in the IOMMU group must be bound
    /// to vfio-pci or to no driver before the group can be opened.
    pub fn bind_vfio_pci(&mut self) -> Result<(), PciError> {
        self.bind_with_override(VFIO_PCI)
    }

    /// Clears `driver_override` (writes an empty line).
    pub fn clear_driver_override(&mut self) -> Result<(), PciError> {
        self.write(self.path().join("driver_override"), "\n")?;
        self.refresh()
    }

    fn verify_bound(&mut self, driver: &str, method: &'static str) -> Result<(), PciError> {
        // Probing is synchronous for PCI drivers; the retries only cover
        // drivers that probe asynchronously.
        for _ in 0..10 {
            if self.current_driver()?.as_deref() == Some(driver) {
                return self.refresh();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.refresh()?;
        let mut now = match self.driver() {
            Some(d) => format!("bound to {d}"),
            None => "not bound to any driver".to_string(),
        };
        if let Ok(Some(o)) = self.driver_override() {
            if o != driver {
                now.push_str(&format!(" and driver_override is {o:?}"));
            }
        }
        Err(PciError::BindFailed {
            device: self.address(),
            driver: driver.to_string(),
            method,
            now,
        })
    }
}
