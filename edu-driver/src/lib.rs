//! A user-space driver for QEMU's `edu` PCI device, bound to
//! `uio_pci_generic`: identification, factorial (polled or by interrupt)
//! and DMA (polled or by interrupt), with guards that refuse every request
//! QEMU 7.2 would abort on or silently misdirect, and exclusive ownership
//! of the device while the driver runs.
//!
//! ```no_run
//! # fn main() -> Result<(), edu_driver::EduError> {
//! use edu_driver::{EduDevice, OwnedEdu, Wait};
//!
//! // The only edu bound to uio_pci_generic (or EduDevice::open("0000:00:04.0".parse()?)).
//! let edu = EduDevice::open_auto()?;          // locks it, checks ID and liveness, Bus Master on
//! println!("{} at {}", edu.identify()?, edu.address());
//! assert_eq!(edu.factorial(10, Wait::Interrupt)?, 3_628_800);
//!
//! // RAM -> edu's 4 KiB buffer -> another RAM page, compared byte for byte.
//! let data: Vec<u8> = (0..4095u32).map(|i| i as u8).collect();
//! let trip = edu.dma_round_trip(&data, Wait::Interrupt)?;
//! println!("{trip}");
//!
//! // A request QEMU 7.2 would abort on is refused before the device sees it.
//! let buf = edu.alloc(4096)?;
//! let err = edu.copy_to_device(&buf, 0, 4096, 0x40000, Wait::Poll).unwrap_err();
//! assert!(err.is_refused());
//! # Ok(()) }
//! ```
//!
//! # Layers
//!
//! * [`Edu`]: the driver over any register backend ([`hal_core::Io`]) and
//!   any [`Platform`] (interrupt line, bus mastering). It touches the device only through the generated
//!   register block `device_specs::edu`, waits with
//!   `hal_core::poll::poll_timeout` or the interrupt, and orders DMA
//!   memory with `hal_core::order`. Host tests run it over QEMU 7.2's
//!   behavioural model (`device_specs::models::EduModel`).
//! * [`EduDevice`]: [`Edu`] over the real device: found through sysfs,
//!   locked, opened through `uio_backend`, Bus Master on through
//!   `pci_sysfs` ([`UioPlatform`]), buffers from `dma_mem::PagemapAllocator` below the DMA
//!   mask.
//! * [`EduVfioDevice`]: the same over VFIO (edu bound to `vfio-pci`
//!   behind an IOMMU): opened through `vfio_backend`, MSI as an eventfd and
//!   Bus Master through VFIO config space ([`VfioPlatform`]), buffers at
//!   IOVAs from `vfio_backend::VfioAllocator` below the DMA mask (no
//!   pagemap, no root: access to `/dev/vfio/N` is enough).
//! * [`guard`]: the limits every DMA request is checked against, with the
//!   QEMU 7.2 behaviour behind each ([`Refusal`]).
//! * [`lock`]: how ownership works (`flock` on the device's sysfs config
//!   file, before `/dev/uioN` is opened), and what it does not stop
//!   (regpoke).
//!
//! # What the device needs (QEMU 7.2)
//!
//! * **Bus Master** (PCI COMMAND bit 2) for DMA: without it the transfer
//!   "completes" but reads zeros and drops writes. `uio_pci_generic` never
//!   sets it and clears it whenever an open file of `/dev/uioN` is closed
//!   (by any process); [`EduDevice`] turns it on before every DMA leg.
//! * **At most 4095 bytes per transfer** ([`guard::MAX_TRANSFER`]): QEMU
//!   7.2 aborts the whole VM on a transfer that reaches the end of the
//!   4096-byte buffer, on a count of 0 and on a device-side address
//!   outside `0x40000..0x41000`.
//! * **RAM below the DMA mask**: 28 bits (256 MiB) unless QEMU runs with
//!   `-device edu,dma_mask=…`; above it edu silently uses another page.
//!   [`Options::dma_mask`] tells the driver the device's mask.
//! * **Interrupts** are INTx through `uio_pci_generic`: the kernel masks
//!   the line at each interrupt; the driver acknowledges exactly the bits
//!   IRQ_STATUS shows (IRQ_ACK) and then unmasks (`uio_backend::Irq::enable`).
//! * **DMA memory addresses** come from `/proc/self/pagemap`, which needs
//!   `CAP_SYS_ADMIN` (root); the UIO node and config space need root too.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![forbid(unsafe_code)]

mod device;
mod driver;
mod error;
pub mod guard;
pub mod lock;
mod owned;
mod vfio;

pub use device::{EduDevice, UioPlatform, EDU_PCI_ID};
pub use driver::{Edu, Identity, LegTiming, Options, Platform, RoundTrip, Wait};
pub use error::EduError;
pub use guard::{Direction, Refusal};
pub use owned::OwnedEdu;
pub use vfio::{EduVfioDevice, VfioPlatform, VFIO_PCI};

/// Re-exported: the DMA memory crate whose buffers the driver takes.
pub use dma_mem;

#[cfg(test)]
mod tests;
