//! PCI devices through sysfs: discovery, config space, bus mastering, driver binding.
//!
//! Shared by the UIO and `/dev/mem` backends of this workspace.
//!
//! * [`PciAddress`] (`0000:00:04.0`, also `00:04.0`), [`PciId`] (`1234:11e8`)
//!   and [`PciSelector`] (either, parsed from one string).
//! * [`Sysfs`]: where sysfs lives (`/` by default, any directory for tests)
//!   and discovery: all devices, by address, by vendor:device (asking
//!   `/proc/bus/pci/devices` first, one read for every device's ID, and
//!   confirming in sysfs). "Not found" errors list what exists; an
//!   unmounted `/sys` is reported as such.
//! * [`PciDevice`]: vendor, device, driver, resources ([`Resource`],
//!   decoded [`ResourceFlags`]) and which `resourceN` / `resourceN_wc`
//!   files exist, read when the device is found; class, revision,
//!   subsystem, IRQ and `driver_override` read when asked for. Finding and
//!   mapping a device reads only what mapping needs: every sysfs file
//!   costs three system calls, which matters at start-up under emulation.
//! * [`ConfigSpace`]: 8/16/32-bit reads and writes of the `config` file,
//!   Bus Master, INTx Disable and the Interrupt Status bit.
//! * Driver binding: [`PciDevice::bind_with_override`] (`driver_override` +
//!   `drivers_probe`) and [`PciDevice::bind_with_new_id`].
//! * [`fake`]: builds fake sysfs trees in a temp directory for host tests.
//!
//! ```no_run
//! # fn main() -> Result<(), pci_sysfs::PciError> {
//! let mut edu = pci_sysfs::PciDevice::find_by_id(0x1234, 0x11e8)?;
//! edu.bind_uio_pci_generic()?; // needs root and `modprobe uio_pci_generic`
//! edu.set_bus_master(true)?;
//! println!("{edu}: {}", edu.bar_summary());
//! # Ok(()) }
//! ```
//!
//! Permissions: reading attributes and the first 64 bytes of config space
//! works for any user; reading further needs CAP_SYS_ADMIN, and config
//! writes and driver binding need root.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![forbid(unsafe_code)]

mod address;
mod bind;
mod config;
mod device;
mod error;
pub mod fake;
mod resource;
mod sys;
mod sysfs;

pub use address::{PciAddress, PciId, PciSelector};
pub use bind::{UIO_PCI_GENERIC, VFIO_PCI};
pub use config::{regs, Access, ConfigSpace};
pub use device::PciDevice;
pub use error::{write_present, DeviceList, DeviceSummary, PciError};
pub use resource::{Resource, ResourceFlags, Size, ROM_INDEX};
pub use sys::{parse_hex, read_sysfs_attr};
pub use sysfs::{describe_ids, Sysfs};

#[cfg(test)]
mod tests;

/// The Rust example of `docs/permissions.md` (binding a device before
/// granting it), compiled with the crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/permissions.md")]
struct PermissionsGuide;
