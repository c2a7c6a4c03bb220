//! An open UIO device: maps and PCI access.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use hal_core::{page_size, MemoryKind, Region};
use pci_sysfs::{PciAddress, PciDevice, PciId, Resource, Size};

use crate::error::UioError;
use crate::info::{UioInfo, UioMap};
use crate::irq::{Irq, IrqState};
use crate::scan::{UioScan, UioSelector};
use crate::sys;

/// An open `/dev/uioN`.
///
/// * [`map`](Self::map) maps one of its memory maps as a [`Region`] (the
///   region owns its mapping and outlives neither nor needs the device);
/// * [`irq`](Self::irq) gives the interrupt handle;
/// * [`pci`](Self::pci) gives the parent PCI device (config space, Bus Master).
///
/// Cloning is cheap and shares the file descriptor and interrupt state.
///
/// Keep the device (or a region mapped from it) alive while the device
/// does DMA: `uio_pci_generic` clears Bus Master when the last reference to
/// the open file goes away.
#[derive(Debug, Clone)]
pub struct UioDevice {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) info: UioInfo,
    pub(crate) fd: OwnedFd,
    pci: OnceLock<PciDevice>,
    pub(crate) irq: Mutex<IrqState>,
}

impl Inner {
    pub(crate) fn name(&self) -> String {
        self.info.device_name()
    }

    pub(crate) fn node_name(&self) -> String {
        self.info.devnode().display().to_string()
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub(crate) fn irq_state(&self) -> MutexGuard<'_, IrqState> {
        self.irq.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn pci(&self) -> Result<&PciDevice, UioError> {
        if let Some(p) = self.pci.get() {
            return Ok(p);
        }
        let Some(addr) = self.info.pci_address() else {
            return Err(UioError::NotPci {
                device: self.name(),
                driver: self.info.name().to_string(),
            });
        };
        let dev = self
            .info
            .sysfs()
            .pci_device(addr)
            .map_err(|e| UioError::Pci {
                op: "reading the parent PCI device",
                device: self.name(),
                error: e,
            })?;
        Ok(self.pci.get_or_init(|| dev))
    }
}

fn open_hint(e: nix::Error) -> String {
    match e {
        nix::Error::ENOENT => "; the device node does not exist (is devtmpfs mounted? `mount -t devtmpfs devtmpfs /dev`)".into(),
        nix::Error::EACCES | nix::Error::EPERM => {
            "; opening UIO devices needs root, or membership of a group the device node is granted to (the `mmio` group of udev/70-mmio-hal.rules: docs/permissions.md)".into()
        }
        nix::Error::ENODEV | nix::Error::ENXIO => "; the UIO device has gone away (was the driver unbound?)".into(),
        _ => String::new(),
    }
}

/// The device node's descriptor (`/dev/uioN`), for `poll(2)`, `epoll` or
/// mio. It is the same open file as every [`Irq`] handle's: readable when an
/// interrupt event is pending (take it with [`Irq::take_event`]).
impl AsFd for UioDevice {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.fd()
    }
}

/// The raw form of [`AsFd`], which mio and tokio's `AsyncFd` need.
impl std::os::fd::AsRawFd for UioDevice {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.inner.fd().as_raw_fd()
    }
}

impl UioDevice {
    /// Opens the device `info` describes (`O_RDWR | O_CLOEXEC | O_NONBLOCK`).
    ///
    /// The interrupt counter of a new file starts at the device's current
    /// count: interrupts from before the open are not reported. Opening
    /// reads nothing else: the count that `missed` is computed from is read
    /// when the first [`Irq`] handle is made.
    pub fn open(info: &UioInfo) -> Result<UioDevice, UioError> {
        let fd = sys::open_node(info.devnode()).map_err(|e| UioError::Open {
            path: info.devnode().to_path_buf(),
            hint: open_hint(e),
            errno: e,
        })?;
        Ok(UioDevice {
            inner: Arc::new(Inner {
                info: info.clone(),
                fd,
                pci: OnceLock::new(),
                irq: Mutex::new(IrqState::new()),
            }),
        })
    }

    /// Opens the device `info` describes, whose parent PCI device the caller
    /// has already read from sysfs (saves reading it again on first use).
    ///
    /// `pci` must be the device `info` belongs to; a different one is
    /// refused.
    pub fn open_with_pci(info: &UioInfo, pci: PciDevice) -> Result<UioDevice, UioError> {
        if info.pci_address() != Some(pci.address()) {
            return Err(UioError::NotPci {
                device: info.device_name(),
                driver: format!(
                    "{} (the PCI device given was {})",
                    info.name(),
                    pci.address()
                ),
            });
        }
        let dev = UioDevice::open(info)?;
        let _ = dev.inner.pci.set(pci);
        Ok(dev)
    }

    /// Finds (with [`UioScan::system`]: `/sys/class/uio`) and opens the
    /// first device `selector` picks.
    pub fn find(selector: &UioSelector) -> Result<UioDevice, UioError> {
        UioDevice::open(&UioScan::system().find(selector)?)
    }
    /// Opens `/dev/uioN`.
    pub fn find_by_number(n: u32) -> Result<UioDevice, UioError> {
        UioDevice::find(&UioSelector::Number(n))
    }
    /// Opens the first UIO device whose `name` attribute is `name`.
    pub fn find_by_name(name: &str) -> Result<UioDevice, UioError> {
        UioDevice::find(&UioSelector::Name(name.to_string()))
    }
    /// Opens the UIO device of the PCI device at `address`.
    pub fn find_by_pci_address(address: PciAddress) -> Result<UioDevice, UioError> {
        UioDevice::find(&UioSelector::PciAddress(address))
    }
    /// Opens the first UIO device whose PCI device has this vendor:device ID.
    pub fn find_by_pci_id(vendor: u16, device: u16) -> Result<UioDevice, UioError> {
        UioDevice::find(&UioSelector::PciId(PciId::new(vendor, device)))
    }
    /// Opens the first UIO device whose PCI device has any of these
    /// vendor:device IDs, for example a generated map's `PCI_IDS`.
    pub fn find_by_pci_ids(ids: &[(u16, u16)]) -> Result<UioDevice, UioError> {
        let ids = ids.iter().map(|&(v, d)| PciId::new(v, d)).collect();
        UioDevice::find(&UioSelector::AnyPciId(ids))
    }

    /// What sysfs says about the device (as of when it was found).
    pub fn info(&self) -> &UioInfo {
        &self.inner.info
    }
    /// `uioN`.
    pub fn name(&self) -> String {
        self.inner.name()
    }
    /// The memory maps.
    pub fn maps(&self) -> &[UioMap] {
        self.inner.info.maps()
    }
    /// The cumulative interrupt count (sysfs `event`, read now).
    pub fn event_count(&self) -> Result<u32, UioError> {
        self.inner.info.event_count()
    }
    /// The open device node.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.fd()
    }

    /// The parent PCI device (read from sysfs on first use, then cached).
    ///
    /// Use it for config space: `dev.pci()?.set_bus_master(true)?`.
    pub fn pci(&self) -> Result<&PciDevice, UioError> {
        self.inner.pci()
    }

    /// The BAR behind map `n`, found by matching the map's start address
    /// with the parent PCI device's resources.
    ///
    /// Map indices are not BAR numbers: `uio_pci_generic` numbers its maps
    /// consecutively over the BARs it accepts (32-bit non-prefetchable
    /// memory only), so with BAR0 an I/O BAR and BAR1 memory, map0 is BAR1.
    pub fn bar_of_map(&self, n: usize) -> Option<usize> {
        self.bar_resource(self.inner.info.map(n)?).map(|r| r.index)
    }

    fn bar_resource(&self, m: &UioMap) -> Option<Resource> {
        let pci = self.pci().ok()?;
        pci.bars().find(|r| r.start == m.start()).cloned()
    }

    /// Length of the register block of map `m`: the BAR's length when the
    /// map is a BAR of the parent PCI device (so a 256-byte BAR gives a
    /// 256-byte region, not the page-rounded map size), else `size - offset`.
    fn region_len(&self, m: &UioMap) -> u64 {
        let usable = m.usable_len();
        match self.bar_resource(m) {
            Some(bar) if !bar.is_empty() => bar.len().min(usable),
            _ => usable,
        }
    }

    /// Maps map `n` and returns a region that starts at the first register.
    ///
    /// The kernel selects map `n` by the mmap offset `n × page_size()` and
    /// always maps from the page-aligned `addr`; the region starts `offset`
    /// bytes into that page. Its length is the BAR's length when the map is
    /// a BAR of the parent PCI device, otherwise `size - offset`.
    pub fn map(&self, n: usize) -> Result<Region, UioError> {
        self.map_up_to(n, None)
    }

    /// Like [`map`](Self::map), but maps only the first `len` bytes of the
    /// registers (rounded up to whole pages by the kernel; the region is
    /// `len` long, or the whole map if that is shorter).
    ///
    /// The kernel fills in the page tables of a UIO mapping when it is
    /// made, so mapping one page to read one register is much cheaper than
    /// mapping a 1 MiB BAR (about 30 µs against 180 µs in a TCG guest).
    pub fn map_prefix(&self, n: usize, len: usize) -> Result<Region, UioError> {
        self.map_up_to(n, Some(len))
    }

    fn map_up_to(&self, n: usize, limit: Option<usize>) -> Result<Region, UioError> {
        let info = &self.inner.info;
        let m = info.map(n).ok_or_else(|| self.no_such_map(n))?;
        if m.offset >= m.size {
            return Err(UioError::BadMap {
                device: self.name(),
                map: n,
                offset: m.offset,
                size: m.size,
            });
        }
        let bar = self.bar_resource(m);
        let len = self.region_len(m);
        let file_offset = (n as u64).saturating_mul(page_size() as u64);
        let label = match bar {
            Some(b) => format!(
                "{} map{n} ({} {})",
                info.devnode().display(),
                info.pci_address()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                b.name()
            ),
            None => format!("{} map{n}", info.devnode().display()),
        };
        let too_big = |what: u64| UioError::BadMap {
            device: self.name(),
            map: n,
            offset: m.offset,
            size: what,
        };
        let sub = usize::try_from(m.offset).map_err(|_| too_big(m.size))?;
        let len = usize::try_from(len).map_err(|_| too_big(m.size))?;
        let len = limit.map_or(len, |l| l.min(len));
        Region::map_shared_as(
            MemoryKind::Device,
            self.inner.fd(),
            file_offset,
            sub,
            len,
            label,
        )
        .map_err(|e| UioError::Map {
            device: self.name(),
            map: n,
            error: Box::new(e),
        })
    }

    fn no_such_map(&self, n: usize) -> UioError {
        let maps = self.maps();
        let available = if maps.is_empty() {
            "it has no maps".to_string()
        } else {
            let list: Vec<String> = maps
                .iter()
                .map(|m| match self.bar_of_map(m.index) {
                    Some(b) => format!("{m} = BAR{b}"),
                    None => m.to_string(),
                })
                .collect();
            format!("its maps: {}", list.join("; "))
        };
        let mut hint = String::new();
        if let Ok(pci) = self.pci() {
            let mapped: Vec<usize> = maps
                .iter()
                .filter_map(|m| self.bar_of_map(m.index))
                .collect();
            let others: Vec<String> = pci
                .bars()
                .filter(|b| !mapped.contains(&b.index))
                .map(|b| format!("{} ({}, {})", b.name(), b.flags, Size(b.len())))
                .collect();
            if !others.is_empty() {
                hint = format!(
                    "; map numbers are not BAR numbers, and {} of {} {} (uio_pci_generic exposes only 32-bit non-prefetchable memory BARs): map BARs through sysfs resourceN instead (devmem_backend::map_bar)",
                    others.join(", "),
                    pci.address(),
                    if others.len() == 1 { "is not a UIO map" } else { "are not UIO maps" }
                );
            }
        }
        UioError::NoSuchMap {
            device: self.name(),
            map: n,
            available,
            hint,
        }
    }

    /// The interrupt handle.
    ///
    /// Fails with [`UioError::NoInterrupt`] when the device has none: the
    /// parent PCI device has IRQ 0 (ivshmem), or `poll` reports an error at
    /// once (UIO's answer for a device without an IRQ).
    pub fn irq(&self) -> Result<Irq, UioError> {
        Irq::new(self.inner.clone())
    }
}
