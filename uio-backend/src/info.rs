//! What sysfs says about one UIO device: `…/uioN/{name,version,event,maps/mapN/*,device}`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use hal_core::page_size;
use pci_sysfs::{parse_hex, PciAddress, PciDevice, PciId, Size, Sysfs};

use crate::error::{UioError, UioSummary};

/// One memory map of a UIO device (`maps/mapN`).
///
/// The kernel describes a map by a page-aligned `addr`, a page-rounded
/// `size` and the sub-page `offset` at which the registers start
/// (`uio_pci_generic`: `addr = start & PAGE_MASK`, `offset = start &
/// ~PAGE_MASK`, `size = round_up(offset + BAR length)`).
///
/// The map index is *not* a BAR number: `uio_pci_generic` numbers maps
/// consecutively over the BARs it accepts (32-bit non-prefetchable memory
/// only). See [`UioDevice::bar_of_map`](crate::UioDevice::bar_of_map).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UioMap {
    /// N of `mapN`; also selects the map in `mmap` (file offset N × page size).
    pub index: usize,
    /// `name` (for uio_pci_generic: the PCI address, not "BARn").
    pub name: String,
    /// `addr`: physical address of the page where the map starts.
    pub addr: u64,
    /// `size`: page-rounded size of the map, including `offset`.
    pub size: u64,
    /// `offset`: where the registers start inside the first page.
    pub offset: u64,
}

impl UioMap {
    /// Physical address of the first register (`addr + offset`).
    pub fn start(&self) -> u64 {
        self.addr.saturating_add(self.offset)
    }

    /// Bytes from the first register to the end of the map (`size - offset`).
    ///
    /// An upper bound of the register block's length: the kernel rounds the
    /// size up to whole pages, so for a 256-byte BAR this is a whole page.
    pub fn usable_len(&self) -> u64 {
        self.size.saturating_sub(self.offset)
    }
}

impl fmt::Display for UioMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "map{} at {:#x} ({}{})",
            self.index,
            self.start(),
            Size(self.size),
            if self.offset != 0 {
                format!(", registers at offset {:#x}", self.offset)
            } else {
                String::new()
            }
        )
    }
}

/// A UIO device as sysfs describes it: name, maps and parent device read
/// once; `version` and the `event` count read when asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UioInfo {
    number: u32,
    name: String,
    sysfs_dir: PathBuf,
    devnode: PathBuf,
    pci: Option<PciAddress>,
    pci_id: Option<PciId>,
    maps: Vec<UioMap>,
    sysfs: Sysfs,
}

fn io_err(op: &'static str, path: &Path, error: io::Error) -> UioError {
    UioError::Io {
        op,
        path: path.to_path_buf(),
        error,
    }
}

fn read_attr(path: &Path) -> Result<String, UioError> {
    pci_sysfs::read_sysfs_attr(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| io_err("reading", path, e))
}

fn read_attr_opt(path: &Path) -> Result<Option<String>, UioError> {
    match pci_sysfs::read_sysfs_attr(path) {
        Ok(s) => Ok(Some(s.trim().to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("reading", path, e)),
    }
}

fn read_hex(path: &Path) -> Result<u64, UioError> {
    let s = read_attr(path)?;
    parse_hex(&s).ok_or(UioError::Parse {
        path: path.to_path_buf(),
        content: s,
        expected: "a hex number",
    })
}

/// `uioN` → N.
pub(crate) fn uio_number(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("uio")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Reads `maps/mapN/*` under a UIO sysfs directory, sorted by N.
pub fn parse_maps(uio_dir: &Path) -> Result<Vec<UioMap>, UioError> {
    let maps_dir = uio_dir.join("maps");
    let entries = match std::fs::read_dir(&maps_dir) {
        Ok(e) => e,
        // `maps/` exists only when the device has at least one map.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("listing", &maps_dir, e)),
    };
    let mut maps = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_err("listing", &maps_dir, e))?;
        let fname = entry.file_name();
        let Some(index) = fname
            .to_str()
            .and_then(|n| n.strip_prefix("map"))
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<usize>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        maps.push(UioMap {
            index,
            name: read_attr_opt(&dir.join("name"))?.unwrap_or_default(),
            addr: read_hex(&dir.join("addr"))?,
            size: read_hex(&dir.join("size"))?,
            offset: match read_attr_opt(&dir.join("offset"))? {
                None => 0,
                Some(s) => parse_hex(&s).ok_or(UioError::Parse {
                    path: dir.join("offset"),
                    content: s,
                    expected: "a hex number",
                })?,
            },
        });
    }
    maps.sort_by_key(|m| m.index);
    Ok(maps)
}

impl UioInfo {
    /// Describes the UIO device whose sysfs directory is `dir`
    /// (`…/sys/class/uio/uioN`, or the real path it links to).
    ///
    /// `devnode` is its device node; `None` means `<sysfs root>/dev/uioN`.
    /// This works on any directory with the kernel's layout, which is how
    /// host tests run it against a fake tree.
    pub fn from_sysfs_dir(
        sysfs: &Sysfs,
        dir: &Path,
        devnode: Option<PathBuf>,
    ) -> Result<UioInfo, UioError> {
        let pci = parent_pci(sysfs, dir);
        let pci_id = pci.and_then(|a| sysfs.pci_id(a).ok());
        UioInfo::read(sysfs, dir, devnode, pci, pci_id)
    }

    /// Describes the UIO device in `dir` (`…/<pci device>/uio/uioN`, or
    /// `…/class/uio/uioN`) whose parent is `pci`, already read by the caller:
    /// the parent link and the parent's ID are not read again.
    ///
    /// For `uio_pci_generic` the maps follow from the PCI resources, as the
    /// driver makes them: map *i* is the *i*-th of BARs 0-4 whose flags are
    /// exactly `MEM | SIZEALIGN`, at the page holding the BAR's start, with
    /// `offset` its offset in that page and `size` rounded up to pages. Each
    /// derived map's `addr` is checked in sysfs (and that no further map
    /// exists); anything unexpected falls back to reading every attribute.
    pub fn for_pci_device(sysfs: &Sysfs, dir: &Path, pci: &PciDevice) -> Result<UioInfo, UioError> {
        if pci.driver() == Some(pci_sysfs::UIO_PCI_GENERIC) {
            if let Some(info) = UioInfo::derive_uio_pci_generic(sysfs, dir, pci) {
                return Ok(info);
            }
        }
        UioInfo::read(sysfs, dir, None, Some(pci.address()), Some(pci.id()))
    }

    /// The UIO device `uio_pci_generic` made for `pci`, from what the
    /// driver does rather than from 4 files per map: it names the device
    /// `uio_pci_generic` and makes map *i* of the *i*-th BAR among BARs 0-4
    /// whose flags are exactly `MEM | SIZEALIGN` ([`pci_sysfs::Resource::is_uio_pci_generic_map`]),
    /// with `addr` the page holding the BAR's start, `offset` the start's
    /// offset in that page, `size` that offset plus the BAR's length rounded
    /// up to pages, and `name` the PCI address.
    ///
    /// Checked against sysfs: each map's `addr`, and that there is no map
    /// after the last. `None` when anything differs (kernels before 5.x
    /// made no maps; another driver version may differ), so that the
    /// caller reads everything instead.
    fn derive_uio_pci_generic(sysfs: &Sysfs, dir: &Path, pci: &PciDevice) -> Option<UioInfo> {
        let dir_name = dir.file_name()?.to_str()?;
        let number = uio_number(dir_name)?;
        let page = page_size() as u64;
        let maps_dir = dir.join("maps");
        let mut maps = Vec::new();
        for (index, bar) in pci.uio_pci_generic_bars().into_iter().enumerate() {
            let r = pci.bar(bar)?;
            let offset = r.start % page;
            let addr = r.start - offset;
            let size = offset
                .checked_add(r.len())?
                .checked_next_multiple_of(page)?;
            let shown =
                pci_sysfs::read_sysfs_attr(&maps_dir.join(format!("map{index}/addr"))).ok()?;
            if parse_hex(&shown)? != addr {
                return None;
            }
            maps.push(UioMap {
                index,
                name: pci.address().to_string(),
                addr,
                size,
                offset,
            });
        }
        let next = maps_dir.join(format!("map{}", maps.len()));
        if nix::sys::stat::lstat(&next).is_ok() {
            return None;
        }
        Some(UioInfo {
            number,
            name: pci_sysfs::UIO_PCI_GENERIC.to_string(),
            sysfs_dir: dir.to_path_buf(),
            devnode: sysfs.dev_dir().join(dir_name),
            pci: Some(pci.address()),
            pci_id: Some(pci.id()),
            maps,
            sysfs: sysfs.clone(),
        })
    }

    fn read(
        sysfs: &Sysfs,
        dir: &Path,
        devnode: Option<PathBuf>,
        pci: Option<PciAddress>,
        pci_id: Option<PciId>,
    ) -> Result<UioInfo, UioError> {
        let dir_name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let number = uio_number(&dir_name).ok_or_else(|| UioError::Parse {
            path: dir.to_path_buf(),
            content: dir_name.clone(),
            expected: "a UIO directory named uioN",
        })?;
        let name = read_attr(&dir.join("name"))?;
        let maps = parse_maps(dir)?;
        Ok(UioInfo {
            number,
            name,
            sysfs_dir: dir.to_path_buf(),
            devnode: devnode.unwrap_or_else(|| sysfs.dev_dir().join(&dir_name)),
            pci,
            pci_id,
            maps,
            sysfs: sysfs.clone(),
        })
    }

    /// N of `uioN`.
    pub fn number(&self) -> u32 {
        self.number
    }
    /// `uioN`.
    pub fn device_name(&self) -> String {
        format!("uio{}", self.number)
    }
    /// The `name` attribute: the UIO driver's name for the device
    /// (`uio_pci_generic` for every device that driver handles).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The `version` attribute (read now; empty if the driver sets none).
    pub fn version(&self) -> Result<String, UioError> {
        Ok(read_attr_opt(&self.sysfs_dir.join("version"))?.unwrap_or_default())
    }
    /// The sysfs directory.
    pub fn sysfs_dir(&self) -> &Path {
        &self.sysfs_dir
    }
    /// The device node (`/dev/uioN`).
    pub fn devnode(&self) -> &Path {
        &self.devnode
    }
    /// The parent PCI device's address, if the parent is a PCI device.
    pub fn pci_address(&self) -> Option<PciAddress> {
        self.pci
    }
    /// The parent PCI device's vendor:device ID, if known.
    pub fn pci_id(&self) -> Option<PciId> {
        self.pci_id
    }
    /// The memory maps, by index.
    pub fn maps(&self) -> &[UioMap] {
        &self.maps
    }
    /// Map `n`, if it exists.
    pub fn map(&self, n: usize) -> Option<&UioMap> {
        self.maps.iter().find(|m| m.index == n)
    }
    /// The sysfs tree this was read from.
    pub fn sysfs(&self) -> &Sysfs {
        &self.sysfs
    }
    /// The cumulative interrupt count since the device was registered (the `event` file, read now).
    pub fn event_count(&self) -> Result<u32, UioError> {
        let path = self.sysfs_dir.join("event");
        let s = read_attr(&path)?;
        s.parse::<u32>().map_err(|_| UioError::Parse {
            path,
            content: s,
            expected: "a decimal event count",
        })
    }
    /// A one-line summary for listings.
    pub fn summary(&self) -> UioSummary {
        UioSummary {
            number: self.number,
            name: self.name.clone(),
            pci: self.pci,
            pci_id: self.pci_id,
            maps: self.maps.len(),
        }
    }
}

impl fmt::Display for UioInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.summary())?;
        for m in &self.maps {
            write!(f, "; {m}")?;
        }
        Ok(())
    }
}

/// The PCI address of the `device` link's target, if that is a PCI device in `sysfs`.
fn parent_pci(sysfs: &Sysfs, dir: &Path) -> Option<PciAddress> {
    let target = std::fs::read_link(dir.join("device")).ok()?;
    let addr: PciAddress = target.file_name()?.to_str()?.parse().ok()?;
    sysfs.pci_device_dir(addr).is_dir().then_some(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uio_numbers() {
        assert_eq!(uio_number("uio0"), Some(0));
        assert_eq!(uio_number("uio12"), Some(12));
        assert_eq!(uio_number("uio"), None);
        assert_eq!(uio_number("uio-1"), None);
        assert_eq!(uio_number("uiox"), None);
        assert_eq!(uio_number("uio99999999999"), None);
    }

    #[test]
    fn map_arithmetic() {
        let m = UioMap {
            index: 0,
            name: "0000:00:05.0".into(),
            addr: 0xfebf_1000,
            size: 0x1000,
            offset: 0x800,
        };
        assert_eq!(m.start(), 0xfebf_1800);
        assert_eq!(m.usable_len(), 0x800);
        assert_eq!(
            m.to_string(),
            "map0 at 0xfebf1800 (4 KiB, registers at offset 0x800)"
        );
    }
}
