//! Waiting for and re-enabling UIO interrupts.

use hal_core::poll::Deadline;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use pci_sysfs::ConfigSpace;

use crate::device::Inner;
use crate::error::UioError;
use crate::sys::{self, CountRead, Ready};

/// One wake-up of [`Irq::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IrqEvent {
    /// The device's cumulative interrupt count (UIO's s32 counter, as u32; it wraps).
    pub count: u32,
    /// Interrupts since the previous wake-up besides this one
    /// (`count - previous count - 1`); 0 for the first event seen.
    pub missed: u32,
}

impl IrqEvent {
    /// The event for a new cumulative `count` when the previous one seen was
    /// `previous` (`None`: nothing seen yet, so nothing is known to be missed).
    ///
    /// Wrapping arithmetic, as the kernel's counter wraps; a count equal to
    /// the previous one (which UIO never returns) gives `missed = 0`.
    pub fn from_counts(previous: Option<u32>, count: u32) -> IrqEvent {
        let missed = match previous {
            Some(p) => count.wrapping_sub(p).saturating_sub(1),
            None => 0,
        };
        IrqEvent { count, missed }
    }
}

/// How [`Irq::enable`] unmasks the interrupt (found out on first use, then remembered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnmaskMethod {
    /// `write(fd, &1i32, 4)`: the UIO driver's irqcontrol.
    Irqcontrol,
    /// Clear INTx Disable (COMMAND bit 10) in PCI config space: for
    /// `uio_pci_generic`, which has no irqcontrol (write returns ENOSYS)
    /// and masks INTx through that bit in its interrupt handler.
    IntxDisableBit,
}

/// Interrupt state shared by every handle of one open device.
#[derive(Debug)]
pub(crate) struct IrqState {
    last: Option<u32>,
    /// Whether `last` has been initialised from sysfs (on the first
    /// [`Irq`] handle, not at open: opening to map registers reads nothing).
    baseline_read: bool,
    unmask: Option<UnmaskMethod>,
    config: Option<ConfigSpace>,
}

impl IrqState {
    pub(crate) fn new() -> IrqState {
        IrqState {
            last: None,
            baseline_read: false,
            unmask: None,
            config: None,
        }
    }
}

/// What a write to irqcontrol told us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IrqcontrolOutcome {
    /// It worked.
    Done,
    /// ENOSYS: the driver has no irqcontrol.
    Unsupported,
    /// EIO: the device has no interrupt.
    NoInterrupt,
    /// Fewer than 4 bytes written.
    Short(usize),
    /// Another error.
    Failed(Errno),
}

pub(crate) fn classify_irqcontrol(result: nix::Result<usize>) -> IrqcontrolOutcome {
    match result {
        Ok(4) => IrqcontrolOutcome::Done,
        Ok(n) => IrqcontrolOutcome::Short(n),
        Err(Errno::ENOSYS) => IrqcontrolOutcome::Unsupported,
        Err(Errno::EIO) => IrqcontrolOutcome::NoInterrupt,
        Err(e) => IrqcontrolOutcome::Failed(e),
    }
}

/// The interrupt of a UIO device: enable (unmask) it and wait for it.
///
/// ```no_run
/// # use std::time::Duration;
/// # fn main() -> Result<(), uio_backend::UioError> {
/// let dev = uio_backend::UioDevice::find_by_pci_id(0x1234, 0x11e8)?;
/// let irq = dev.irq()?;
/// irq.enable()?;                       // unmask before the first wait
/// // ... make the device raise an interrupt ...
/// let ev = irq.wait(Duration::from_millis(100))?;
/// // ... acknowledge it in the device (edu: write 0x64) ...
/// irq.enable()?;                       // then unmask again
/// # let _ = ev; Ok(()) }
/// ```
///
/// Handles are cheap to clone and share the device's state (last count
/// seen, unmask method), as they share its open file.
#[derive(Debug, Clone)]
pub struct Irq {
    inner: Arc<Inner>,
}

impl Irq {
    pub(crate) fn new(inner: Arc<Inner>) -> Result<Irq, UioError> {
        {
            // The count to compare the first event with. The open file
            // reports only events after the open, so an event between the
            // open and this read is reported as new, never as missed.
            let mut st = inner.irq_state();
            if !st.baseline_read {
                st.last = inner.info.event_count().ok();
                st.baseline_read = true;
            }
        }
        if let Ok(pci) = inner.pci() {
            if pci.irq().map_err(|e| UioError::Pci {
                op: "reading the IRQ of the parent PCI device",
                device: inner.name(),
                error: e,
            })? == 0
            {
                return Err(UioError::NoInterrupt {
                    device: inner.name(),
                    detail: format!("its PCI device {} has IRQ 0", pci.address()),
                });
            }
        }
        match sys::poll_in(inner.fd(), Some(Duration::ZERO)) {
            Ok(Ready::Error(flags)) => Err(UioError::NoInterrupt {
                device: inner.name(),
                detail: format!("poll() reported {flags:?} at once"),
            }),
            Ok(_) | Err(Errno::EINTR) => Ok(Irq { inner }),
            Err(e) => Err(UioError::Syscall {
                op: "polling",
                device: inner.node_name(),
                errno: e,
            }),
        }
    }

    /// The last cumulative count seen (from sysfs when the first handle was
    /// made, then from each wait).
    pub fn last_count(&self) -> Option<u32> {
        self.inner.irq_state().last
    }

    /// How [`enable`](Self::enable) unmasks, once it has found out.
    pub fn unmask_method(&self) -> Option<UnmaskMethod> {
        self.inner.irq_state().unmask
    }

    /// Enables (unmasks) the interrupt; call it once before the first wait
    /// and again after each interrupt, once the device has been acknowledged.
    ///
    /// Tries the UIO driver's irqcontrol (`write` of 1) first; if that fails
    /// with ENOSYS (uio_pci_generic has none) it clears INTx Disable in the
    /// parent PCI device's config space (needs root) and uses that from then
    /// on. Acknowledge the device before calling this, or a level-triggered
    /// interrupt fires again at once.
    pub fn enable(&self) -> Result<(), UioError> {
        let mut st = self.inner.irq_state();
        match st.unmask {
            Some(UnmaskMethod::IntxDisableBit) => self.clear_intx_disable(&mut st),
            Some(UnmaskMethod::Irqcontrol) | None => {
                let res = sys::write_irqcontrol(self.inner.fd(), 1);
                match classify_irqcontrol(res) {
                    IrqcontrolOutcome::Done => {
                        st.unmask = Some(UnmaskMethod::Irqcontrol);
                        Ok(())
                    }
                    IrqcontrolOutcome::Unsupported if st.unmask.is_none() => {
                        self.clear_intx_disable(&mut st)?;
                        st.unmask = Some(UnmaskMethod::IntxDisableBit);
                        Ok(())
                    }
                    IrqcontrolOutcome::Unsupported => Err(UioError::Syscall {
                        op: "writing 1 (irqcontrol) to",
                        device: self.inner.node_name(),
                        errno: Errno::ENOSYS,
                    }),
                    IrqcontrolOutcome::NoInterrupt => Err(UioError::NoInterrupt {
                        device: self.inner.name(),
                        detail: "write() to the device node returned EIO".into(),
                    }),
                    IrqcontrolOutcome::Short(got) => Err(UioError::ShortTransfer {
                        op: "writing 1 (irqcontrol) to",
                        device: self.inner.node_name(),
                        got,
                    }),
                    IrqcontrolOutcome::Failed(e) => Err(UioError::Syscall {
                        op: "writing 1 (irqcontrol) to",
                        device: self.inner.node_name(),
                        errno: e,
                    }),
                }
            }
        }
    }

    fn clear_intx_disable(&self, st: &mut IrqState) -> Result<(), UioError> {
        let cfg = match &mut st.config {
            Some(c) => c,
            None => {
                let pci = self.inner.pci().map_err(|e| match e {
                    UioError::NotPci { device, .. } => UioError::NoIrqControl { device },
                    other => other,
                })?;
                let cfg = pci.config_rw().map_err(|e| UioError::Pci {
                    op: "opening config space to re-enable interrupts",
                    device: self.inner.name(),
                    error: e,
                })?;
                st.config.insert(cfg)
            }
        };
        cfg.set_intx_disabled(false).map_err(|e| UioError::Pci {
            op: "clearing INTx Disable (COMMAND bit 10) to re-enable interrupts",
            device: self.inner.name(),
            error: e,
        })
    }

    /// Waits up to `timeout` for an interrupt.
    ///
    /// A timeout is the error [`UioError::Timeout`] (test it with
    /// [`UioError::is_timeout`]); use [`try_wait`](Self::try_wait) for an
    /// `Option` instead. A device without interrupt gives
    /// [`UioError::NoInterrupt`] at once, never a busy loop.
    pub fn wait(&self, timeout: Duration) -> Result<IrqEvent, UioError> {
        self.try_wait(Some(timeout))?
            .ok_or_else(|| self.timeout_error(timeout))
    }

    /// Waits for an interrupt, up to `timeout` (`None`: for ever).
    ///
    /// `Ok(None)` means the timeout expired. Uses `poll` for POLLIN, then a
    /// 4-byte `read` of the cumulative count; signals (EINTR) restart the
    /// wait with the remaining time.
    pub fn try_wait(&self, timeout: Option<Duration>) -> Result<Option<IrqEvent>, UioError> {
        let deadline = Deadline::after(timeout);
        let fd = self.inner.fd();
        // The first poll uses the timeout as given: reading the clock again
        // costs a system call on guests without a vDSO clock source, and the
        // common path (an interrupt arrives) never needs the remaining time.
        let mut first = true;
        loop {
            let remaining = match timeout {
                Some(t) if first && deadline.limited() => Some(t),
                // Later rounds; or no limit (a timeout too large for an
                // Instant included): wait for ever.
                _ => deadline.remaining(),
            };
            first = false;
            match sys::poll_in(fd, remaining) {
                Err(Errno::EINTR) => continue,
                Err(e) => {
                    return Err(UioError::Syscall {
                        op: "polling",
                        device: self.inner.node_name(),
                        errno: e,
                    })
                }
                Ok(Ready::TimedOut) => {
                    if remaining.is_some_and(|r| r.is_zero()) || deadline.passed() {
                        return Ok(None);
                    }
                    // poll() rounds to milliseconds; go round for the rest.
                    continue;
                }
                Ok(Ready::Error(flags)) => {
                    return Err(UioError::NoInterrupt {
                        device: self.inner.name(),
                        detail: format!("poll() reported {flags:?}"),
                    })
                }
                Ok(Ready::Readable) => {}
            }
            if let Some(ev) = self.take_event()? {
                return Ok(Some(ev));
            }
            // Someone else took the event (another handle); wait on.
            if deadline.passed() {
                return Ok(None);
            }
        }
    }

    /// Takes the pending interrupt event without waiting: one non-blocking
    /// `read` of the cumulative count.
    ///
    /// `Ok(None)` when there is none (EAGAIN, or a signal). This is the one
    /// place that turns a read of the count into an [`IrqEvent`] (updating
    /// the shared last count) or an error, for the blocking waits here and
    /// for event loops that wait for the descriptor (see
    /// [`AsFd`](std::os::fd::AsFd)) themselves.
    pub fn take_event(&self) -> Result<Option<IrqEvent>, UioError> {
        match sys::read_count(self.inner.fd()) {
            Ok(CountRead::Count(count)) => {
                let mut st = self.inner.irq_state();
                let ev = IrqEvent::from_counts(st.last, count);
                st.last = Some(count);
                Ok(Some(ev))
            }
            Ok(CountRead::WouldBlock) | Err(Errno::EINTR) => Ok(None),
            Ok(CountRead::Short(got)) => Err(UioError::ShortTransfer {
                op: "reading the interrupt count from",
                device: self.inner.node_name(),
                got,
            }),
            Err(Errno::EIO) => Err(UioError::NoInterrupt {
                device: self.inner.name(),
                detail: "read() of the device node returned EIO".into(),
            }),
            Err(e) => Err(UioError::Syscall {
                op: "reading the interrupt count from",
                device: self.inner.node_name(),
                errno: e,
            }),
        }
    }

    /// `uioN`, for error messages.
    #[cfg_attr(not(any(test, feature = "tokio")), allow(dead_code))]
    pub(crate) fn device_name(&self) -> String {
        self.inner.name()
    }

    /// `/dev/uioN`, for error messages.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn node_name(&self) -> String {
        self.inner.node_name()
    }

    /// The [`UioError::Timeout`] of a wait of `timeout` on this device.
    pub(crate) fn timeout_error(&self, timeout: Duration) -> UioError {
        UioError::Timeout {
            device: self.inner.name(),
            timeout,
        }
    }
}

/// The device node's descriptor, for `poll(2)`, `epoll` or mio: it is
/// readable when an interrupt event is pending, which
/// [`take_event`](Irq::take_event) then takes without blocking (the node is
/// open non-blocking). A device without an interrupt reports an error
/// condition (POLLERR) instead.
impl AsFd for Irq {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.fd()
    }
}

/// The raw form of [`AsFd`], which tokio's `AsyncFd` and mio need.
impl AsRawFd for Irq {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.fd().as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_missed_events() {
        assert_eq!(
            IrqEvent::from_counts(None, 7),
            IrqEvent {
                count: 7,
                missed: 0
            }
        );
        assert_eq!(IrqEvent::from_counts(Some(6), 7).missed, 0);
        assert_eq!(IrqEvent::from_counts(Some(3), 7).missed, 3);
        assert_eq!(IrqEvent::from_counts(Some(7), 7).missed, 0);
        // The kernel's s32 counter wraps.
        assert_eq!(IrqEvent::from_counts(Some(u32::MAX), 0).missed, 0);
        assert_eq!(IrqEvent::from_counts(Some(u32::MAX - 1), 1).missed, 2);
        assert_eq!(
            IrqEvent::from_counts(Some(i32::MAX as u32), i32::MIN as u32).missed,
            0
        );
    }

    #[test]
    fn irqcontrol_results() {
        assert_eq!(classify_irqcontrol(Ok(4)), IrqcontrolOutcome::Done);
        assert_eq!(classify_irqcontrol(Ok(2)), IrqcontrolOutcome::Short(2));
        assert_eq!(
            classify_irqcontrol(Err(Errno::ENOSYS)),
            IrqcontrolOutcome::Unsupported
        );
        assert_eq!(
            classify_irqcontrol(Err(Errno::EIO)),
            IrqcontrolOutcome::NoInterrupt
        );
        assert_eq!(
            classify_irqcontrol(Err(Errno::EINVAL)),
            IrqcontrolOutcome::Failed(Errno::EINVAL)
        );
    }
}
