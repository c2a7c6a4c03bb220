//! Linux VFIO backend: a PCI device bound to `vfio-pci`, opened through its
//! IOMMU group; its BARs as [`hal_core::Region`]s, its interrupts (INTx,
//! MSI, MSI-X) as eventfds, and DMA buffers at IOVAs the driver picks.
//!
//! ```no_run
//! # use std::time::Duration;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use dma_mem::{DmaAllocator, DmaMask};
//! use vfio_backend::{IrqKind, VfioDevice};
//!
//! let edu = VfioDevice::open_by_id(0x1234, 0x11e8)?; // QEMU edu bound to vfio-pci
//! let regs = edu.map_region(0)?;                     // BAR0
//! assert_eq!(regs.try_read32(0)?, 0x010000ed);
//! edu.enable_bus_master()?;                          // for MSI and DMA
//! let irq = edu.irq(IrqKind::Msi, 1)?;
//! regs.try_write32(0x60, 1)?;                        // raise an interrupt
//! irq.wait(0, Duration::from_millis(100))?;
//! regs.try_write32(0x64, 1)?;                        // acknowledge it
//! let buf = edu.dma_allocator(DmaMask::bits(28)).alloc(4096)?;
//! let iova = buf.device_addr(0, 4096)?;              // give this to the device
//! # let _ = iova; Ok(()) }
//! ```
//!
//! # Opening
//!
//! [`VfioDevice::open`] follows the kernel's VFIO sequence
//! (Documentation/driver-api/vfio.rst): the group number from the device's
//! sysfs `iommu_group` link (read each time: it changes with the set of
//! devices), a new container `/dev/vfio/vfio`, `VFIO_CHECK_EXTENSION` for
//! the type1v2 IOMMU, the group `/dev/vfio/N` (which must be *viable*:
//! every device in it bound to vfio-pci or to nothing), the group into the
//! container, `VFIO_SET_IOMMU`, and the device descriptor. Failures say
//! what to do: a group node the user cannot open (`EACCES`: `chown` it or
//! add a udev rule), a group that is not viable (with its other devices),
//! a refused `SET_IOMMU` (`EPERM`: no interrupt remapping).
//!
//! # Type1, not iommufd
//!
//! Kernels from 6.2 have iommufd (`/dev/iommu`, [`iommufd_present`]), and
//! from 6.6 VFIO device nodes that bind to it directly. This crate uses the
//! type1 container API everywhere: it is the only one on Debian 12's 6.1
//! kernel (where this backend is tested), and newer kernels keep serving
//! it (iommufd can even provide it, `CONFIG_IOMMUFD_VFIO_CONTAINER`), so
//! one code path works on all of them.
//!
//! # Regions and config space
//!
//! vfio-pci's regions are the BARs (0-5), the ROM (6) and config space (7);
//! each is at offset `index << 40` of the device file
//! ([`VfioDevice::region_info`]). [`VfioDevice::map_region`] maps a BAR
//! as device memory, so the generated register blocks work on it as on a
//! UIO map. Config space goes through `pread`/`pwrite`
//! ([`VfioDevice::config_read16`] and friends); VFIO virtualises parts of
//! it (the MSI enable bit reads 0 even when MSI is on).
//!
//! # Interrupts
//!
//! [`VfioDevice::irq`] enables vectors of one [`IrqKind`], each signalling
//! its own eventfd; [`VfioIrq::wait`] waits with a timeout (an error
//! [`VfioError::Timeout`], as in the UIO backend) and returns the number of
//! interrupts since the last wait. INTx is masked by VFIO when it fires:
//! acknowledge it in the device, then [`VfioIrq::unmask`]. **MSI and MSI-X
//! need Bus Master** ([`VfioDevice::enable_bus_master`]): VFIO leaves it
//! off, and a device's interrupt messages are then dropped without error.
//!
//! # DMA
//!
//! [`VfioDevice::dma_allocator`] gives a [`VfioAllocator`], a
//! [`dma_mem::DmaAllocator`]: drivers written against that trait run on
//! VFIO unchanged. Its buffers are anonymous memory mapped in the IOMMU at
//! an IOVA within the device's mask (`VFIO_IOMMU_MAP_DMA` pins the pages:
//! no `mlock`, no pagemap, no root) and unmapped when dropped. The IOVAs
//! are picked inside the ranges the IOMMU reports as usable
//! ([`VfioDevice::iova_ranges`], from `VFIO_IOMMU_GET_INFO`'s IOVA range
//! capability: the address width minus reserved regions such as the x86
//! MSI window; without that capability, kernels before 5.4, everything
//! but the MSI window is assumed, [`IovaSource::Fallback`]). An unmap the
//! kernel refuses when a buffer is dropped keeps its IOVAs reserved and is
//! counted ([`VfioAllocator::unmap_failures`]). A device
//! access to an IOVA that is not mapped faults in the IOMMU (the kernel
//! logs a DMAR fault) instead of reaching memory. Keep IOVAs below the
//! device's own mask: a device that truncates addresses (QEMU's edu with
//! 28 bits) applies that before the IOMMU and would hit another mapped IOVA.
//!
//! # Reset
//!
//! [`VfioDevice::reset`] resets a device that supports it; many do not
//! (QEMU's edu and ivshmem report none), and their state survives between
//! opens: acknowledge stale interrupt status when starting.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod device;
mod dma;
mod error;
mod iommu;
mod irq;
mod sys;
#[cfg(test)]
mod tests;

/// The Rust examples of the user guide `docs/vfio.md`, compiled with the
/// crate's doctests so that the guide cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../docs/vfio.md")]
struct VfioGuide;

pub use device::{
    check_bound, iommu_group_of, iommufd_present, is_bound, RegionInfo, VfioDevice, CONTAINER_PATH,
};
pub use dma::{VfioAllocator, IOVA_BASE, MSI_WINDOW};
pub use error::VfioError;
pub use iommu::{fallback_ranges, InfoError, IommuInfo, IovaRange, IovaSource};
pub use irq::{IrqKind, VfioIrq};
