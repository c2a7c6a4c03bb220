//! What every owned edu device offers, whichever backend opened it.

use dma_mem::{DmaAllocator, DmaBuffer};
use hal_core::Region;
use pci_sysfs::PciAddress;

use crate::driver::{Edu, Platform, RoundTrip, Wait};
use crate::error::EduError;

/// An edu device owned by this driver instance ([`EduDevice`](crate::EduDevice)
/// over UIO, [`EduVfioDevice`](crate::EduVfioDevice) over VFIO): the
/// driver, the allocator its DMA buffers come from, and the device's state.
///
/// Import it to call these methods (`use edu_driver::OwnedEdu`); the
/// driver's own operations are reached through `Deref` to [`Edu`].
pub trait OwnedEdu {
    /// How the backend waits for interrupts and enables DMA.
    type Platform: Platform;
    /// Where the backend's DMA buffers come from.
    type Allocator: DmaAllocator;

    /// The driver.
    fn edu(&self) -> &Edu<Region, Self::Platform>;

    /// The driver's DMA allocator (below its DMA mask: physical addresses
    /// over UIO, IOVAs over VFIO).
    fn allocator(&self) -> &Self::Allocator;

    /// The device's PCI address.
    fn address(&self) -> PciAddress;

    /// Whether Bus Master is on now (read from config space).
    fn bus_master(&self) -> Result<bool, EduError>;

    /// Allocates `len` bytes of DMA memory below the driver's DMA mask.
    fn alloc(&self, len: usize) -> Result<DmaBuffer, EduError> {
        Ok(self.allocator().alloc(len)?)
    }

    /// [`Edu::dma_round_trip_with`] with buffers from the driver's
    /// allocator: `data` (1 to 4095 bytes) goes RAM → edu → another RAM
    /// page and is compared byte for byte.
    fn dma_round_trip(&self, data: &[u8], wait: Wait) -> Result<RoundTrip, EduError> {
        self.edu().dma_round_trip_with(self.allocator(), data, wait)
    }
}
