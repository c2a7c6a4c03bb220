//! Linux UIO backend: find `/dev/uioN` devices, map their regions, wait for interrupts.
//!
//! ```no_run
//! # use std::time::Duration;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use uio_backend::UioDevice;
//! let edu = UioDevice::find_by_pci_id(0x1234, 0x11e8)?; // QEMU edu bound to uio_pci_generic
//! let regs = edu.map(0)?;                                // map0 = BAR0 (1 MiB)
//! assert_eq!(regs.try_read32(0)?, 0x010000ed);
//! edu.pci()?.set_bus_master(true)?;                      // before DMA (needs root)
//! let irq = edu.irq()?;
//! irq.enable()?;
//! regs.try_write32(0x60, 1)?;                            // raise an interrupt
//! let ev = irq.wait(Duration::from_millis(100))?;
//! regs.try_write32(0x64, 1)?;                            // acknowledge it
//! irq.enable()?;                                         // and unmask again
//! # let _ = ev; Ok(()) }
//! ```
//!
//! # Finding devices
//!
//! [`UioScan::system`] reads `/sys/class/uio` of the running system
//! directly; [`UioScan::sysfs`] does the same under another root, which is
//! what host tests use on a fake tree (see [`pci_sysfs::fake`]). An
//! unmounted `/sys` is reported as [`UioError::SysfsNotMounted`] rather
//! than as "nothing found". Either way, each device is described by
//! [`UioInfo::from_sysfs_dir`] from its sysfs directory.
//!
//! With the `udev` cargo feature (off by default), `UioScan::udev`
//! enumerates subsystem `uio` with libudev instead (no udevd needed: it
//! scans `/sys` too). The feature links the system's `libudev.so.1`, so
//! binaries that use it cannot be fully static, and building it needs
//! libudev's development files (Debian: `libudev-dev`). Turning it on
//! changes nothing else: [`UioScan::system`] never uses libudev.
//!
//! # Maps are not BARs
//!
//! UIO map `N` is reached by `mmap` at file offset `N × page_size()`. The
//! kernel always maps from the map's page-aligned start; the registers begin
//! `maps/mapN/offset` bytes in, which [`UioDevice::map`] accounts for.
//! `uio_pci_generic` makes maps only of 32-bit non-prefetchable memory BARs
//! and numbers them consecutively, so map 0 is not necessarily BAR0 and
//! 64-bit or prefetchable BARs (ivshmem's shared memory, BAR2) are not
//! reachable through UIO at all: map those through sysfs `resourceN`
//! (the devmem-backend crate).
//!
//! # Interrupts
//!
//! [`Irq::wait`] polls then reads UIO's cumulative count and reports it with
//! the number of interrupts missed since the previous wait
//! ([`IrqEvent`]). [`Irq::enable`] unmasks: through the driver's irqcontrol
//! where there is one, otherwise (uio_pci_generic) by clearing the PCI INTx
//! Disable bit. A device without an interrupt (ivshmem) is
//! [`UioError::NoInterrupt`], never a busy loop.
//!
//! For event loops, [`UioDevice`] and [`Irq`] implement `AsFd` (and
//! `AsRawFd`): the descriptor is readable when an event is pending, and
//! [`Irq::take_event`] takes it without blocking. With the cargo feature
//! `tokio` (off by default), `AsyncIrq` waits in a tokio runtime
//! (`irq.wait().await`, `irq.wait_timeout(d).await`) through tokio's
//! `AsyncFd`; `examples/async_irq.rs` computes an edu factorial that way.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
// No unsafe code, but for one call: registering the device node with
// tokio's reactor (feature `tokio`), whose contract is stated at the call.
#![deny(unsafe_code)]

#[cfg(feature = "tokio")]
mod async_irq;
mod device;
mod error;
mod info;
mod irq;
mod scan;
mod sys;

#[cfg(feature = "tokio")]
pub use async_irq::AsyncIrq;
pub use device::UioDevice;
pub use error::{UioError, UioList, UioSummary};
pub use info::{parse_maps, UioInfo, UioMap};
pub use irq::{Irq, IrqEvent, UnmaskMethod};
pub use scan::{ScanMethod, UioScan, UioSelector};

/// Re-exported: the PCI sysfs crate this backend uses for config space.
pub use pci_sysfs;

#[cfg(test)]
mod tests;
