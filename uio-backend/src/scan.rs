//! Finding UIO devices: by reading a sysfs tree directly (the running
//! system's, or a fake one), or, with the `udev` feature, with libudev.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::str::FromStr;

use pci_sysfs::{PciAddress, PciId, Sysfs};

use crate::error::{UioError, UioList};
use crate::info::{uio_number, UioInfo};

/// How a [`UioScan`] enumerates devices.
///
/// Non-exhaustive: `ScanMethod::Udev` exists only with the `udev` feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScanMethod {
    /// libudev, subsystem `uio` (it reads the real `/sys`; no udevd needed).
    #[cfg(feature = "udev")]
    Udev,
    /// Read `<root>/sys/class/uio/*` directly.
    SysfsDirect,
}

/// Which UIO device to pick.
///
/// Parses from one string (for command lines): `3`, `uio3` or `/dev/uio3` →
/// number; `0000:00:04.0` / `00:04.0` → parent PCI address; `1234:11e8` →
/// parent PCI ID; anything else → the UIO `name` attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UioSelector {
    /// `uioN`.
    Number(u32),
    /// The `name` attribute (the UIO driver's name for the device).
    Name(String),
    /// The parent PCI device's address.
    PciAddress(PciAddress),
    /// The parent PCI device's vendor:device ID.
    PciId(PciId),
    /// A parent PCI device with any of these vendor:device IDs (a register
    /// map with an alternative ID, or a family).
    AnyPciId(Vec<PciId>),
}

impl UioSelector {
    /// Whether `info` is selected.
    pub fn matches(&self, info: &UioInfo) -> bool {
        match self {
            UioSelector::Number(n) => info.number() == *n,
            UioSelector::Name(name) => info.name() == name,
            UioSelector::PciAddress(a) => info.pci_address() == Some(*a),
            UioSelector::PciId(id) => info.pci_id() == Some(*id),
            UioSelector::AnyPciId(ids) => info.pci_id().is_some_and(|id| ids.contains(&id)),
        }
    }
}

impl fmt::Display for UioSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UioSelector::Number(n) => write!(f, "uio{n}"),
            UioSelector::Name(n) => write!(f, "named {n:?}"),
            UioSelector::PciAddress(a) => write!(f, "for PCI device {a}"),
            UioSelector::PciId(id) => write!(f, "for a PCI device with ID {id}"),
            UioSelector::AnyPciId(ids) => {
                write!(f, "for a PCI device {}", pci_sysfs::describe_ids(ids))
            }
        }
    }
}

impl FromStr for UioSelector {
    type Err = UioError;

    fn from_str(s: &str) -> Result<UioSelector, UioError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(UioError::EmptySelector);
        }
        let base = t.strip_prefix("/dev/").unwrap_or(t);
        if let Some(n) = uio_number(base) {
            return Ok(UioSelector::Number(n));
        }
        if t.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = t.parse() {
                return Ok(UioSelector::Number(n));
            }
        }
        if t.contains('.') {
            if let Ok(a) = t.parse::<PciAddress>() {
                return Ok(UioSelector::PciAddress(a));
            }
        } else if let Ok(id) = t.parse::<PciId>() {
            return Ok(UioSelector::PciId(id));
        }
        Ok(UioSelector::Name(t.to_string()))
    }
}

/// A way to enumerate UIO devices.
#[derive(Debug, Clone)]
pub struct UioScan {
    sysfs: Sysfs,
    method: ScanMethod,
}

impl Default for UioScan {
    fn default() -> UioScan {
        UioScan::system()
    }
}

impl UioScan {
    /// The running system, by reading `/sys/class/uio` directly. The same
    /// with or without the `udev` feature (so a program's behaviour does not
    /// depend on which features another crate in its build turns on).
    pub fn system() -> UioScan {
        UioScan::sysfs(Sysfs::system())
    }

    /// The running system, enumerated with libudev (subsystem `uio`; it
    /// scans `/sys` itself, no udevd is needed). Needs the `udev` feature,
    /// which links the system's `libudev.so.1`.
    #[cfg(feature = "udev")]
    pub fn udev() -> UioScan {
        UioScan {
            sysfs: Sysfs::system(),
            method: ScanMethod::Udev,
        }
    }

    /// The tree under `sysfs`, read directly (no libudev). Use this for fake
    /// trees in tests, or as a fallback where libudev is unavailable.
    pub fn sysfs(sysfs: Sysfs) -> UioScan {
        UioScan {
            sysfs,
            method: ScanMethod::SysfsDirect,
        }
    }

    /// The sysfs tree used for parsing.
    pub fn sysfs_root(&self) -> &Sysfs {
        &self.sysfs
    }

    /// The enumeration method.
    pub fn method(&self) -> ScanMethod {
        self.method
    }

    /// Every UIO device, by number.
    pub fn list(&self) -> Result<Vec<UioInfo>, UioError> {
        self.sysfs
            .check_sys_mounted()
            .map_err(|_| UioError::SysfsNotMounted {
                path: self.sysfs.sys_dir(),
            })?;
        let mut out = Vec::new();
        for (dir, devnode) in self.device_dirs()? {
            out.push(UioInfo::from_sysfs_dir(&self.sysfs, &dir, devnode)?);
        }
        out.sort_by_key(|i| i.number());
        Ok(out)
    }

    /// `(sysfs dir, device node)` of every UIO device.
    fn device_dirs(&self) -> Result<Vec<(PathBuf, Option<PathBuf>)>, UioError> {
        match self.method {
            #[cfg(feature = "udev")]
            ScanMethod::Udev => udev_dirs(),
            ScanMethod::SysfsDirect => {
                let class = self.sysfs.uio_class_dir();
                let entries = match std::fs::read_dir(&class) {
                    Ok(e) => e,
                    // No UIO driver loaded: no class directory.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => {
                        return Err(UioError::Io {
                            op: "listing",
                            path: class,
                            error: e,
                        })
                    }
                };
                let mut out = Vec::new();
                for entry in entries {
                    let entry = entry.map_err(|e| UioError::Io {
                        op: "listing",
                        path: class.clone(),
                        error: e,
                    })?;
                    if entry.file_name().to_str().and_then(uio_number).is_some() {
                        out.push((entry.path(), None));
                    }
                }
                Ok(out)
            }
        }
    }

    /// Every device `selector` picks; [`UioError::NotFound`] (listing what exists) if none.
    pub fn find_all(&self, selector: &UioSelector) -> Result<Vec<UioInfo>, UioError> {
        let all = self.list()?;
        let (hits, rest): (Vec<UioInfo>, Vec<UioInfo>) =
            all.into_iter().partition(|i| selector.matches(i));
        if hits.is_empty() {
            return Err(UioError::NotFound {
                wanted: selector.to_string(),
                hint: self.pci_hint(selector),
                available: UioList(rest.iter().map(UioInfo::summary).collect()),
            });
        }
        Ok(hits)
    }

    /// The first device (by number) that `selector` picks.
    pub fn find(&self, selector: &UioSelector) -> Result<UioInfo, UioError> {
        self.find_all(selector)
            .map(|v| v.into_iter().next())
            .and_then(|first| {
                first.ok_or_else(|| UioError::NotFound {
                    wanted: selector.to_string(),
                    hint: String::new(),
                    available: UioList::default(),
                })
            })
    }

    /// For PCI selectors: what the PCI device is bound to instead.
    fn pci_hint(&self, selector: &UioSelector) -> String {
        let devices = match selector {
            UioSelector::PciAddress(a) => match self.sysfs.pci_device(*a) {
                Ok(d) => vec![d],
                Err(_) => return format!("; there is no PCI device {a} either"),
            },
            UioSelector::PciId(id) => match self.sysfs.find_all_by_id(*id) {
                Ok(v) => v,
                Err(_) => return format!("; there is no PCI device with ID {id} either"),
            },
            UioSelector::AnyPciId(ids) => {
                let found: Vec<_> = ids
                    .iter()
                    .filter_map(|id| self.sysfs.find_all_by_id(*id).ok())
                    .flatten()
                    .collect();
                if found.is_empty() {
                    return format!(
                        "; there is no PCI device {} either",
                        pci_sysfs::describe_ids(ids)
                    );
                }
                found
            }
            _ => return String::new(),
        };
        let parts: Vec<String> = devices
            .iter()
            .map(|d| match d.driver() {
                Some(drv) => format!("PCI device {} is bound to {drv}", d.address()),
                None => format!("PCI device {} is bound to no driver", d.address()),
            })
            .collect();
        format!(
            "; {} (bind it to uio_pci_generic: `modprobe uio_pci_generic`, then PciDevice::bind_uio_pci_generic or `echo uio_pci_generic > …/driver_override; echo <address> > /sys/bus/pci/drivers_probe`)",
            parts.join(", ")
        )
    }
}

/// Enumerates subsystem `uio` with libudev.
///
/// No `match_is_initialized()`: without udevd running nothing is
/// "initialized", yet the scan of /sys still finds every device.
#[cfg(feature = "udev")]
fn udev_dirs() -> Result<Vec<(PathBuf, Option<PathBuf>)>, UioError> {
    let mut en = udev::Enumerator::new().map_err(|e| UioError::Udev {
        op: "udev_enumerate_new",
        error: e,
    })?;
    en.match_subsystem("uio").map_err(|e| UioError::Udev {
        op: "match_subsystem(\"uio\")",
        error: e,
    })?;
    let devices = en.scan_devices().map_err(|e| UioError::Udev {
        op: "scan_devices",
        error: e,
    })?;
    Ok(devices
        .map(|d| {
            (
                d.syspath().to_path_buf(),
                d.devnode().map(|p| p.to_path_buf()),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_selectors() {
        let p = |s: &str| s.parse::<UioSelector>().unwrap();
        assert_eq!(p("0"), UioSelector::Number(0));
        assert_eq!(p("uio3"), UioSelector::Number(3));
        assert_eq!(p("/dev/uio12"), UioSelector::Number(12));
        assert_eq!(
            p("00:04.0"),
            UioSelector::PciAddress("0000:00:04.0".parse().unwrap())
        );
        assert_eq!(
            p("1234:11e8"),
            UioSelector::PciId(PciId::new(0x1234, 0x11e8))
        );
        assert_eq!(
            p("uio_pci_generic"),
            UioSelector::Name("uio_pci_generic".into())
        );
        assert_eq!(p("my.device"), UioSelector::Name("my.device".into()));
        assert!(matches!(
            "  ".parse::<UioSelector>(),
            Err(UioError::EmptySelector)
        ));
        assert_eq!(UioSelector::Number(2).to_string(), "uio2");
    }
}
