//! Opening a device through its IOMMU group and container; its regions and
//! config space.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use hal_core::{MemoryKind, Region};
use nix::errno::Errno;
use pci_sysfs::{PciAddress, PciDevice};
use vfio_bindings::bindings::vfio::{
    VFIO_TYPE1v2_IOMMU, VFIO_API_VERSION, VFIO_DEVICE_FLAGS_RESET, VFIO_GROUP_FLAGS_VIABLE,
    VFIO_PCI_CONFIG_REGION_INDEX, VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ,
    VFIO_REGION_INFO_FLAG_WRITE,
};

use crate::error::{open_hint, VfioError};
use crate::iommu::{self, IommuInfo, IovaRange};
use crate::sys;

/// The container device every VFIO user opens.
pub const CONTAINER_PATH: &str = "/dev/vfio/vfio";

/// What a device, its interrupts and its DMA buffers share.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) name: String,
    // Dropped in this order: device, group, container.
    pub(crate) device: File,
    _group: OwnedFd,
    pub(crate) container: OwnedFd,
    /// Config space (region 7): its offset in the device file and size.
    config: (u64, u64),
    /// IOVA ranges in use (start -> length), for the DMA allocator.
    pub(crate) iovas: Mutex<BTreeMap<u64, u64>>,
    /// The container's IOMMU: usable IOVA ranges, page sizes.
    pub(crate) iommu: IommuInfo,
    /// `VFIO_IOMMU_UNMAP_DMA` calls that failed when a buffer was dropped.
    pub(crate) unmap_failures: AtomicU64,
}

impl Inner {
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.device.as_fd()
    }

    pub(crate) fn syscall(&self, op: impl Into<String>) -> impl FnOnce(Errno) -> VfioError + '_ {
        let op = op.into();
        move |errno| VfioError::Syscall {
            op,
            device: self.name.clone(),
            errno,
        }
    }
}

/// A region of the device as VFIO describes it (`VFIO_DEVICE_GET_REGION_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionInfo {
    /// The region index (PCI: 0-5 BARs, 6 ROM, 7 config space).
    pub index: u32,
    /// Its size in bytes (0: the device does not implement it).
    pub size: u64,
    /// Its offset in the device file (`index << 40` with vfio-pci).
    pub offset: u64,
    /// Whether it can be read.
    pub readable: bool,
    /// Whether it can be written.
    pub writable: bool,
    /// Whether it can be mapped ([`VfioDevice::map_region`]).
    pub mappable: bool,
}

/// Whether `pci` is bound to vfio-pci, the driver this backend needs (and
/// the test by which regpoke and the edu command choose VFIO by themselves).
pub fn is_bound(pci: &PciDevice) -> bool {
    pci.driver() == Some(pci_sysfs::VFIO_PCI)
}

/// `Ok` if `pci` is bound to vfio-pci, otherwise [`VfioError::NotBound`]
/// naming its driver and saying how to bind it: the one check behind
/// [`VfioDevice::open_pci`] and the callers that refuse a device early.
pub fn check_bound(pci: &PciDevice) -> Result<(), VfioError> {
    if is_bound(pci) {
        return Ok(());
    }
    Err(VfioError::NotBound {
        device: pci.address().to_string(),
        driver: pci.driver().unwrap_or("no driver").to_string(),
    })
}

/// A PCI device bound to `vfio-pci`, opened through its IOMMU group.
///
/// Opening gives the process its own IOMMU container (type1v2) with the
/// device's group in it; regions are mapped as [`hal_core::Region`]s
/// ([`map_region`](Self::map_region)), interrupts arrive on eventfds
/// ([`irq`](Self::irq)), and DMA buffers are mapped at IOVAs
/// ([`dma_allocator`](Self::dma_allocator)). A group can be open once at a
/// time (a second open is refused with EBUSY).
#[derive(Debug)]
pub struct VfioDevice {
    pub(crate) inner: Arc<Inner>,
    address: PciAddress,
    group: u32,
}

impl VfioDevice {
    /// Opens the device at `address`: its IOMMU group (from the sysfs
    /// `iommu_group` link, which changes with the set of devices: it is
    /// always read), a new container, the type1v2 IOMMU, the device.
    pub fn open(address: PciAddress) -> Result<VfioDevice, VfioError> {
        let pci = PciDevice::find_by_address(address)?;
        VfioDevice::open_pci(&pci)
    }

    /// Opens the first device with vendor:device ID `vendor:device`
    /// (`0x1234, 0x11e8` for QEMU's edu).
    pub fn open_by_id(vendor: u16, device: u16) -> Result<VfioDevice, VfioError> {
        let pci = PciDevice::find_by_id(vendor, device)?;
        VfioDevice::open_pci(&pci)
    }

    /// Opens `pci` (found with `pci-sysfs`).
    pub fn open_pci(pci: &PciDevice) -> Result<VfioDevice, VfioError> {
        let name = pci.address().to_string();
        check_bound(pci)?;
        let group = iommu_group(pci.path(), &name)?;
        let container = open_node(Path::new(CONTAINER_PATH), &name)?;
        let found = sys::api_version(container.as_fd()).map_err(|errno| VfioError::Syscall {
            op: "VFIO_GET_API_VERSION".into(),
            device: name.clone(),
            errno,
        })?;
        if found != VFIO_API_VERSION as i32 {
            return Err(VfioError::ApiVersion {
                found,
                expected: VFIO_API_VERSION,
            });
        }
        if !sys::check_extension(container.as_fd(), VFIO_TYPE1v2_IOMMU).unwrap_or(false) {
            return Err(VfioError::NoType1v2);
        }
        let group_path = PathBuf::from(format!("/dev/vfio/{group}"));
        let group_fd = open_node(&group_path, &name)?;
        let syscall = |op: &str| {
            let device = name.clone();
            let op = op.to_string();
            move |errno| VfioError::Syscall { op, device, errno }
        };
        let flags = sys::group_flags(group_fd.as_fd()).map_err(syscall("VFIO_GROUP_GET_STATUS"))?;
        if flags & VFIO_GROUP_FLAGS_VIABLE == 0 {
            return Err(VfioError::NotViable {
                device: name.clone(),
                group,
                others: group_members(group, &name),
            });
        }
        sys::set_container(group_fd.as_fd(), container.as_fd())
            .map_err(syscall("VFIO_GROUP_SET_CONTAINER"))?;
        match sys::set_iommu(container.as_fd(), VFIO_TYPE1v2_IOMMU) {
            Ok(()) => {}
            Err(Errno::EPERM) => return Err(VfioError::NoInterruptRemapping { device: name }),
            Err(e) => return Err(syscall("VFIO_SET_IOMMU(type1v2)")(e)),
        }
        let iommu = iommu::read_info(container.as_fd(), &name)?;
        let cname = CString::new(name.clone()).expect("a PCI address has no NUL byte");
        let device = sys::device_fd(group_fd.as_fd(), &cname)
            .map_err(syscall("VFIO_GROUP_GET_DEVICE_FD"))?;
        let config = sys::region_info(device.as_fd(), VFIO_PCI_CONFIG_REGION_INDEX)
            .map_err(syscall("VFIO_DEVICE_GET_REGION_INFO(config)"))?;
        Ok(VfioDevice {
            inner: Arc::new(Inner {
                config: (config.offset, config.size),
                name,
                device: File::from(device),
                _group: group_fd,
                container,
                iovas: Mutex::new(BTreeMap::new()),
                iommu,
                unmap_failures: AtomicU64::new(0),
            }),
            address: pci.address(),
            group,
        })
    }

    /// The device's PCI address.
    pub fn address(&self) -> PciAddress {
        self.address
    }

    /// The number of its IOMMU group (`/dev/vfio/N`).
    pub fn group(&self) -> u32 {
        self.group
    }

    /// The IOVA ranges the device's IOMMU lets it use, sorted, inclusive
    /// ends (read once at open with `VFIO_IOMMU_GET_INFO`; see
    /// [`iommu_info`](Self::iommu_info) for where they come from).
    /// [`dma_allocator`](Self::dma_allocator)'s buffers are placed inside
    /// them.
    pub fn iova_ranges(&self) -> &[IovaRange] {
        &self.inner.iommu.iova_ranges
    }

    /// The container's IOMMU as the kernel describes it: page sizes and
    /// IOVA ranges, and whether the ranges were reported
    /// ([`IovaSource::Reported`](crate::IovaSource)) or assumed because the
    /// kernel has no IOVA range capability (before 5.4).
    pub fn iommu_info(&self) -> &IommuInfo {
        &self.inner.iommu
    }

    /// The device file descriptor (for ioctls this crate does not wrap).
    pub fn device_fd(&self) -> BorrowedFd<'_> {
        self.inner.fd()
    }

    /// Describes region `index` ([`VfioError::NoRegion`] if the device has
    /// no such region).
    pub fn region_info(&self, index: u32) -> Result<RegionInfo, VfioError> {
        let info = sys::region_info(self.inner.fd(), index).map_err(|e| match e {
            Errno::EINVAL => self.no_region(index),
            e => self
                .inner
                .syscall(format!("VFIO_DEVICE_GET_REGION_INFO({index})"))(e),
        })?;
        Ok(RegionInfo {
            index,
            size: info.size,
            offset: info.offset,
            readable: info.flags & VFIO_REGION_INFO_FLAG_READ != 0,
            writable: info.flags & VFIO_REGION_INFO_FLAG_WRITE != 0,
            mappable: info.flags & VFIO_REGION_INFO_FLAG_MMAP != 0,
        })
    }

    fn no_region(&self, index: u32) -> VfioError {
        VfioError::NoRegion {
            device: self.inner.name.clone(),
            index,
        }
    }

    /// Maps region `index` (a BAR: 0-5) whole, as device memory: the
    /// generated register blocks and regpoke's accesses work on it as on a
    /// UIO map.
    pub fn map_region(&self, index: u32) -> Result<Region, VfioError> {
        let info = self.region_info(index)?;
        if info.size == 0 {
            return Err(self.no_region(index));
        }
        if !info.mappable {
            return Err(VfioError::NotMappable {
                device: self.inner.name.clone(),
                index,
            });
        }
        let map_err = |error| VfioError::Map {
            device: self.inner.name.clone(),
            index,
            error: Box::new(error),
        };
        let len = usize::try_from(info.size).map_err(|_| {
            map_err(hal_core::MapError::Overflow {
                what: format!("region {index}"),
                offset: 0,
                len: usize::MAX,
            })
        })?;
        Region::map_shared_as(
            MemoryKind::Device,
            self.inner.fd(),
            info.offset,
            0,
            len,
            format!("vfio {} region{index}", self.inner.name),
        )
        .map_err(map_err)
    }

    /// Reads `buf.len()` bytes of config space at `offset` (VFIO's
    /// virtualised view: region 7, through `pread`).
    pub fn config_read(&self, offset: u64, buf: &mut [u8]) -> Result<(), VfioError> {
        let base = self.config_base(offset, buf.len())?;
        let n = self.inner.device.read_at(buf, base + offset).map_err(|e| {
            self.config_error(format!("reading {} bytes at {offset:#x}: {e}", buf.len()))
        })?;
        self.check_len(n, buf.len(), offset)
    }

    /// Writes `data` to config space at `offset`.
    pub fn config_write(&self, offset: u64, data: &[u8]) -> Result<(), VfioError> {
        let base = self.config_base(offset, data.len())?;
        let n = self
            .inner
            .device
            .write_at(data, base + offset)
            .map_err(|e| {
                self.config_error(format!("writing {} bytes at {offset:#x}: {e}", data.len()))
            })?;
        self.check_len(n, data.len(), offset)
    }

    /// A 16-bit config space register (little-endian).
    pub fn config_read16(&self, offset: u64) -> Result<u16, VfioError> {
        let mut b = [0; 2];
        self.config_read(offset, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    /// A 32-bit config space register (little-endian).
    pub fn config_read32(&self, offset: u64) -> Result<u32, VfioError> {
        let mut b = [0; 4];
        self.config_read(offset, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Writes a 16-bit config space register.
    pub fn config_write16(&self, offset: u64, value: u16) -> Result<(), VfioError> {
        self.config_write(offset, &value.to_le_bytes())
    }

    /// Sets Bus Master in the COMMAND register (offset 4, bit 2). Needed
    /// for DMA and for MSI/MSI-X: VFIO enables MSI but leaves Bus Master
    /// alone, and without it the device's MSI writes are dropped silently.
    pub fn enable_bus_master(&self) -> Result<(), VfioError> {
        let cmd = self.config_read16(pci_sysfs::regs::COMMAND)?;
        self.config_write16(
            pci_sysfs::regs::COMMAND,
            cmd | pci_sysfs::regs::COMMAND_BUS_MASTER,
        )
    }

    /// Whether VFIO can reset the device ([`reset`](Self::reset)).
    pub fn supports_reset(&self) -> Result<bool, VfioError> {
        let flags = sys::device_flags(self.inner.fd())
            .map_err(self.inner.syscall("VFIO_DEVICE_GET_INFO"))?;
        Ok(flags & VFIO_DEVICE_FLAGS_RESET != 0)
    }

    /// Resets the device (`VFIO_DEVICE_RESET`); [`VfioError::NoReset`] if
    /// it has no reset (QEMU's edu and ivshmem have none).
    pub fn reset(&self) -> Result<(), VfioError> {
        if !self.supports_reset()? {
            return Err(VfioError::NoReset {
                device: self.inner.name.clone(),
            });
        }
        sys::reset(self.inner.fd()).map_err(self.inner.syscall("VFIO_DEVICE_RESET"))
    }

    fn config_base(&self, offset: u64, len: usize) -> Result<u64, VfioError> {
        let (base, size) = self.inner.config;
        match offset.checked_add(len as u64) {
            Some(end) if end <= size => Ok(base),
            _ => Err(self.config_error(format!(
                "bytes {offset:#x}..+{len} are outside its {size:#x} bytes"
            ))),
        }
    }

    fn check_len(&self, n: usize, want: usize, offset: u64) -> Result<(), VfioError> {
        if n == want {
            Ok(())
        } else {
            Err(self.config_error(format!("{n} of {want} bytes at {offset:#x} transferred")))
        }
    }

    fn config_error(&self, detail: String) -> VfioError {
        VfioError::Config {
            device: self.inner.name.clone(),
            detail,
        }
    }
}

/// The IOMMU group number of `pci` (its sysfs `iommu_group` link; `/dev/vfio/N`
/// is the group's node once the device is bound to vfio-pci), without opening
/// anything. [`VfioError::NoIommuGroup`] when the link is missing (no IOMMU).
pub fn iommu_group_of(pci: &PciDevice) -> Result<u32, VfioError> {
    iommu_group(pci.path(), &pci.address().to_string())
}

/// The IOMMU group number of the device at sysfs directory `dir`.
fn iommu_group(dir: &Path, name: &str) -> Result<u32, VfioError> {
    let link = dir.join("iommu_group");
    let missing = || VfioError::NoIommuGroup {
        device: name.to_string(),
        path: link.clone(),
    };
    let target = std::fs::read_link(&link).map_err(|_| missing())?;
    target
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok())
        .ok_or_else(missing)
}

/// The other devices of IOMMU group `group` with their drivers, for the
/// not-viable message.
fn group_members(group: u32, me: &str) -> String {
    let dir = format!("/sys/kernel/iommu_groups/{group}/devices");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return format!("(cannot list {dir})");
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let bdf = e.file_name().to_string_lossy().into_owned();
        if bdf == me {
            continue;
        }
        let driver = std::fs::read_link(e.path().join("driver"))
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "no driver".into());
        out.push(format!("{bdf} ({driver})"));
    }
    out.sort();
    out.join(", ")
}

fn open_node(path: &Path, device: &str) -> Result<OwnedFd, VfioError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map(OwnedFd::from)
        .map_err(|e| {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(0));
            VfioError::Open {
                device: device.to_string(),
                path: path.to_path_buf(),
                errno,
                hint: open_hint(path, errno),
            }
        })
}

/// Whether the kernel offers iommufd (`/dev/iommu`). This crate uses the
/// type1 container API even then: see the crate docs.
pub fn iommufd_present() -> bool {
    Path::new("/dev/iommu").exists()
}
