//! The interrupt commands' device: a UIO device, or a device's eventfds
//! through VFIO. Both offer the same four things: enable (unmask), a
//! cumulative count, and a wait with a timeout.

use std::time::Duration;

use uio_backend::{Irq, UioDevice};

use crate::error::{Error, Result};
use crate::irqchoice::Chosen;
use crate::vfio::VfioInterrupts;

/// Where `irq` commands get interrupts from.
pub enum Interrupts {
    /// A UIO device; its interrupt handle once armed.
    Uio {
        /// The UIO device.
        dev: UioDevice,
        /// The handle (its creation is the point from which waits count).
        irq: Option<Irq>,
    },
    /// VFIO eventfds (armed when opened).
    Vfio(VfioInterrupts),
}

fn uio_err(e: uio_backend::UioError) -> Error {
    Error::device(e.to_string())
}

impl Interrupts {
    /// The kind and vector in use: UIO's one interrupt is INTx vector 0.
    pub fn chosen(&self) -> Chosen {
        match self {
            Interrupts::Uio { .. } => Chosen {
                kind: vfio_backend::IrqKind::Intx,
                vector: 0,
                automatic: true,
            },
            Interrupts::Vfio(v) => v.chosen(),
        }
    }

    /// Arms the interrupt handle if that has not been done yet: waits
    /// count from here.
    pub fn arm(&mut self) -> Result<()> {
        if let Interrupts::Uio {
            dev,
            irq: irq @ None,
        } = self
        {
            *irq = Some(dev.irq().map_err(uio_err)?);
        }
        Ok(())
    }

    /// Enables (unmasks) the interrupt: UIO irqcontrol, VFIO INTx unmask
    /// (MSI needs none).
    pub fn enable(&mut self) -> Result<()> {
        self.arm()?;
        match self {
            Interrupts::Uio { irq: Some(irq), .. } => irq.enable().map_err(uio_err),
            Interrupts::Uio { irq: None, .. } => Err(not_armed()),
            Interrupts::Vfio(v) => v.enable(),
        }
    }

    /// The cumulative count: UIO's sysfs `event` (since boot), VFIO's
    /// since this process registered its eventfd.
    pub fn count(&mut self) -> Result<u32> {
        match self {
            Interrupts::Uio { dev, .. } => dev.event_count().map_err(uio_err),
            Interrupts::Vfio(v) => v.count(),
        }
    }

    /// Waits up to `timeout` (`None`: forever): `Some((count, missed))`,
    /// or `None` when it expired.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Option<(u32, u32)>> {
        self.arm()?;
        match self {
            Interrupts::Uio { irq: Some(irq), .. } => Ok(irq
                .try_wait(timeout)
                .map_err(uio_err)?
                .map(|ev| (ev.count, ev.missed))),
            Interrupts::Uio { irq: None, .. } => Err(not_armed()),
            Interrupts::Vfio(v) => v.wait(timeout),
        }
    }
}

fn not_armed() -> Error {
    Error::usage("internal error: no interrupt handle")
}
