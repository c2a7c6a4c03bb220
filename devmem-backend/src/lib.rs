//! `/dev/mem` and PCI sysfs `resourceN` backend: map physical ranges, BARs and files.
//!
//! * [`map_phys`] / [`DevMem`]: a physical address range through `/dev/mem`
//!   (`O_RDWR | O_SYNC`: uncached), at any address (the sub-page offset is
//!   handled). Needs root; the kernel refuses RAM and driver-claimed ranges.
//! * [`map_bar`] / [`map_bar_wc`] (or [`PciDeviceExt::map_resource`]): BAR N
//!   of a [`pci_sysfs::PciDevice`] through `resourceN` / `resourceN_wc`: the
//!   way to reach BARs that UIO does not expose, like ivshmem's shared memory.
//! * [`map_file`] / [`map_fd`]: any mmap-able file (a plain file, a
//!   shared-memory file under `/dev/shm`, a memfd), e.g. for a `--file` option.
//!
//! Every function returns a [`hal_core::Region`], like the other backends.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use devmem_backend::PciDeviceExt;
//! let ivshmem = pci_sysfs::PciDevice::find_by_id(0x1af4, 0x1110)?;
//! let shm = ivshmem.map_resource(2)?;                        // 64-bit prefetchable BAR2
//! let regs = devmem_backend::map_phys(ivshmem.bar(0).map_or(0, |b| b.start), 256)?;
//! # let _ = (shm, regs); Ok(()) }
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![forbid(unsafe_code)]

mod bar;
mod devmem;
mod error;
mod file;
mod sys;

pub use bar::{map_bar, map_bar_prefix, map_bar_wc, PciDeviceExt};
pub use devmem::{map_phys, DevMem, DEV_MEM};
pub use error::DevMemError;
pub use file::{map_fd, map_file};

/// Re-exported: the PCI sysfs crate whose devices [`map_bar`] takes.
pub use pci_sysfs;

#[cfg(test)]
mod tests;
