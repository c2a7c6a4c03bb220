//! Interrupts as eventfds (`VFIO_DEVICE_SET_IRQS`).

use hal_core::poll::Deadline;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags};
use nix::sys::eventfd::{EfdFlags, EventFd};
use vfio_bindings::bindings::vfio::{
    VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_UNMASK,
    VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE, VFIO_PCI_INTX_IRQ_INDEX,
    VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX,
};

use crate::device::{Inner, VfioDevice};
use crate::error::VfioError;
use crate::sys;

/// The kind of PCI interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IrqKind {
    /// The legacy line (one vector, masked by VFIO after each interrupt
    /// until [`VfioIrq::unmask`]).
    Intx,
    /// Message signalled interrupts (up to 32 vectors).
    Msi,
    /// MSI-X (up to 2048 vectors).
    Msix,
}

impl std::fmt::Display for IrqKind {
    /// `INTx`, `MSI`, `MSI-X`: how messages (this crate's and regpoke's)
    /// name a kind.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IrqKind::Intx => "INTx",
            IrqKind::Msi => "MSI",
            IrqKind::Msix => "MSI-X",
        })
    }
}

impl IrqKind {
    fn index(self) -> u32 {
        match self {
            IrqKind::Intx => VFIO_PCI_INTX_IRQ_INDEX,
            IrqKind::Msi => VFIO_PCI_MSI_IRQ_INDEX,
            IrqKind::Msix => VFIO_PCI_MSIX_IRQ_INDEX,
        }
    }
}

impl VfioDevice {
    /// How many vectors of `kind` the device has (0: none).
    pub fn irq_count(&self, kind: IrqKind) -> Result<u32, VfioError> {
        let info = sys::irq_info(self.inner.fd(), kind.index()).map_err(
            self.inner
                .syscall(format!("VFIO_DEVICE_GET_IRQ_INFO({kind})")),
        )?;
        Ok(if info.flags & VFIO_IRQ_INFO_EVENTFD != 0 {
            info.count
        } else {
            0
        })
    }

    /// Enables vectors `0..count` of `kind`, each signalling its own
    /// eventfd. Only one kind can be enabled at a time (the kernel refuses
    /// a second with EINVAL); dropping the [`VfioIrq`] disables them.
    ///
    /// MSI and MSI-X need Bus Master ([`enable_bus_master`](Self::enable_bus_master)):
    /// without it the device's interrupt messages are dropped silently.
    pub fn irq(&self, kind: IrqKind, count: u32) -> Result<VfioIrq, VfioError> {
        let have = self.irq_count(kind)?;
        let bad = |detail: String| VfioError::Irq {
            device: self.inner.name.clone(),
            kind,
            detail,
        };
        if count == 0 || count > have || (kind == IrqKind::Intx && count != 1) {
            return Err(bad(format!(
                "{count} vector(s) asked for, the device has {have}: ask for 1 to {have}"
            )));
        }
        let mut fds = Vec::with_capacity(count as usize);
        for _ in 0..count {
            fds.push(
                EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
                    .map_err(self.inner.syscall("eventfd"))?,
            );
        }
        let raw: Vec<i32> = fds.iter().map(|f| f.as_fd().as_raw_fd()).collect();
        sys::set_irqs(
            self.inner.fd(),
            VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
            kind.index(),
            0,
            count,
            &raw,
        )
        .map_err(|e| match e {
            Errno::EINVAL => bad(
                "VFIO_DEVICE_SET_IRQS refused with EINVAL; most often another interrupt kind is already enabled on this device: drop its VfioIrq first".to_string()
            ),
            e => self.inner.syscall(format!("VFIO_DEVICE_SET_IRQS({kind}, {count})"))(e),
        })?;
        Ok(VfioIrq {
            inner: self.inner.clone(),
            kind,
            fds,
        })
    }
}

/// Enabled interrupt vectors of a [`VfioDevice`], one eventfd each.
///
/// An eventfd counts the interrupts since it was last read:
/// [`wait`](Self::wait) returns that count and resets it. For use in an
/// event loop, each vector's descriptor is [`fd`](Self::fd).
#[derive(Debug)]
pub struct VfioIrq {
    inner: Arc<Inner>,
    kind: IrqKind,
    fds: Vec<EventFd>,
}

impl VfioIrq {
    /// The kind of interrupt.
    pub fn kind(&self) -> IrqKind {
        self.kind
    }

    /// The number of vectors enabled.
    pub fn count(&self) -> u32 {
        self.fds.len() as u32
    }

    /// The eventfd of `vector`, to poll in an event loop.
    pub fn fd(&self, vector: u32) -> Result<BorrowedFd<'_>, VfioError> {
        self.eventfd(vector).map(AsFd::as_fd)
    }

    fn eventfd(&self, vector: u32) -> Result<&EventFd, VfioError> {
        self.fds.get(vector as usize).ok_or_else(|| VfioError::Irq {
            device: self.inner.name.clone(),
            kind: self.kind,
            detail: format!(
                "no vector {vector}: vectors 0 to {} are enabled",
                self.fds.len().saturating_sub(1)
            ),
        })
    }

    /// Waits up to `timeout` for interrupts on `vector` and returns how
    /// many arrived since the last wait (at least 1).
    ///
    /// A timeout is [`VfioError::Timeout`] ([`VfioError::is_timeout`]).
    /// For INTx, acknowledge the interrupt in the device, then
    /// [`unmask`](Self::unmask).
    pub fn wait(&self, vector: u32, timeout: Duration) -> Result<u64, VfioError> {
        let efd = self.eventfd(vector)?;
        let deadline = Deadline::after(Some(timeout));
        loop {
            match efd.read() {
                Ok(n) => return Ok(n),
                Err(Errno::EAGAIN) => {}
                Err(e) => return Err(self.inner.syscall("reading an interrupt eventfd")(e)),
            }
            let left = deadline.remaining();
            if left.is_some_and(|l| l.is_zero()) {
                return Err(VfioError::Timeout {
                    device: self.inner.name.clone(),
                    kind: self.kind,
                    vector,
                    timeout,
                });
            }
            let mut fds = [PollFd::new(efd.as_fd(), PollFlags::POLLIN)];
            match nix::poll::poll(&mut fds, hal_core::poll::syscall_timeout(left)) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(self.inner.syscall("polling an interrupt eventfd")(e)),
            }
        }
    }

    /// Unmasks INTx after an interrupt was handled (VFIO masks the line
    /// when it fires, the device's level would fire it again at once).
    /// MSI and MSI-X need no unmask: this is a no-op for them.
    pub fn unmask(&self) -> Result<(), VfioError> {
        if self.kind != IrqKind::Intx {
            return Ok(());
        }
        sys::set_irqs(
            self.inner.fd(),
            VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
            VFIO_PCI_INTX_IRQ_INDEX,
            0,
            1,
            &[],
        )
        .map_err(self.inner.syscall("VFIO_DEVICE_SET_IRQS(INTx unmask)"))
    }
}

impl Drop for VfioIrq {
    fn drop(&mut self) {
        // Count 0 with DATA_NONE|ACTION_TRIGGER disables the interrupts.
        let _ = sys::set_irqs(
            self.inner.fd(),
            VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
            self.kind.index(),
            0,
            0,
            &[],
        );
    }
}
