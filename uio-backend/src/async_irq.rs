//! Waiting for UIO interrupts in a tokio runtime (cargo feature `tokio`).

use std::io;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::error::UioError;
use crate::irq::{Irq, IrqEvent};

/// An [`Irq`] registered with tokio's reactor: `async` waits for the
/// interrupt (cargo feature `tokio`).
///
/// The device node is registered with tokio's [`AsyncFd`] for readability;
/// a wait suspends the task until the kernel reports an event, then takes
/// it with [`Irq::take_event`], the same read, counting and error
/// classification as the blocking [`Irq::wait`]. Enabling (unmasking) is
/// [`Irq::enable`], reached through [`irq`](AsyncIrq::irq).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use uio_backend::{AsyncIrq, UioDevice};
///
/// let dev = UioDevice::find_by_pci_id(0x1234, 0x11e8)?;   // QEMU's edu
/// let regs = dev.map(0)?;
/// let mut irq = AsyncIrq::new(dev.irq()?)?;                // in a runtime
/// irq.irq().enable()?;
/// regs.try_write32(0x60, 1)?;                              // raise one
/// let event = irq.wait_timeout(Duration::from_secs(1)).await?;
/// regs.try_write32(0x64, 1)?;                              // acknowledge
/// irq.irq().enable()?;                                     // unmask again
/// # let _ = event; Ok(()) }
/// ```
#[derive(Debug)]
pub struct AsyncIrq {
    fd: AsyncFd<Irq>,
}

impl AsyncIrq {
    /// Registers `irq` with the reactor of the current tokio runtime.
    ///
    /// Fails with [`UioError::NoRuntime`] outside a runtime (where tokio's
    /// `AsyncFd` would panic) or if the reactor refuses the descriptor.
    ///
    /// # Panics
    ///
    /// Inside a runtime built without its I/O driver (`enable_io`), as
    /// tokio's [`AsyncFd::new`] does: tokio offers no way to ask first.
    /// [`wait_timeout`](AsyncIrq::wait_timeout) needs the time driver too
    /// (`enable_time`); `enable_all` gives both.
    pub fn new(irq: Irq) -> Result<AsyncIrq, UioError> {
        let device = irq.device_name();
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(UioError::NoRuntime {
                device,
                detail: "there is no current tokio runtime (make the AsyncIrq inside one, \
                         for example in the async fn given to Runtime::block_on)"
                    .into(),
            });
        }
        // tokio's one unsafe contract: the descriptor stays open and the
        // same while the AsyncFd owns the handle.
        #[allow(unsafe_code)]
        // SAFETY: `Irq::as_raw_fd` returns the descriptor of the `OwnedFd`
        // in the device's shared state, which the handle keeps alive (an
        // `Arc`) and which is never replaced or closed while any handle
        // exists; the AsyncFd owns the handle until it is dropped or
        // `into_inner` gives it back, so the descriptor is open and the
        // same for that whole time.
        let registered = unsafe { AsyncFd::register_with_interest(irq, Interest::READABLE) };
        match registered {
            Ok(fd) => Ok(AsyncIrq { fd }),
            Err(e) => Err(UioError::NoRuntime {
                device,
                detail: format!(
                    "tokio's reactor refused the device node: {} (is another AsyncIrq of \
                     this device registered with the same runtime? one per device is enough)",
                    e.into_parts().1
                ),
            }),
        }
    }

    /// The interrupt handle: [`Irq::enable`] after acknowledging the device,
    /// [`Irq::last_count`].
    pub fn irq(&self) -> &Irq {
        self.fd.get_ref()
    }

    /// Unregisters from the reactor and gives the handle back.
    pub fn into_inner(self) -> Irq {
        self.fd.into_inner()
    }

    /// Waits, without blocking the thread, for the next interrupt.
    ///
    /// Enable it first ([`Irq::enable`]). Cancel-safe: dropping the future
    /// before it completes loses no event (the event stays pending in the
    /// kernel until a wait takes it).
    pub async fn wait(&mut self) -> Result<IrqEvent, UioError> {
        loop {
            let mut ready = self.fd.readable().await.map_err(|e| self.io_error(e))?;
            if let Some(event) = ready.get_inner().take_event()? {
                return Ok(event);
            }
            // Nothing to read after all (another handle took it): wait for
            // the next readiness.
            ready.clear_ready();
        }
    }

    /// [`wait`](AsyncIrq::wait), for at most `timeout`: a timeout is
    /// [`UioError::Timeout`], as for [`Irq::wait`].
    pub async fn wait_timeout(&mut self, timeout: Duration) -> Result<IrqEvent, UioError> {
        match tokio::time::timeout(timeout, self.wait()).await {
            Ok(result) => result,
            Err(_elapsed) => Err(self.irq().timeout_error(timeout)),
        }
    }

    fn io_error(&self, e: io::Error) -> UioError {
        UioError::Syscall {
            op: "waiting (tokio AsyncFd) for an interrupt on",
            device: self.irq().node_name(),
            errno: e
                .raw_os_error()
                .map(nix::errno::Errno::from_raw)
                .unwrap_or(nix::errno::Errno::EIO),
        }
    }
}
