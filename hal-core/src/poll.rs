//! Polling a condition with a timeout, like Linux's `read_poll_timeout`.
//!
//! ```
//! use std::time::Duration;
//! use hal_core::poll::poll_timeout;
//!
//! let mut polls = 0;
//! // In a driver: `|| regs.status().get()` and `|s| s & COMPUTING == 0`.
//! let status = poll_timeout(
//!     || { polls += 1; if polls < 3 { 1 } else { 0 } },
//!     |s| *s == 0,
//!     Duration::ZERO,
//!     Duration::from_secs(1),
//! )?;
//! assert_eq!(status, 0);
//! # Ok::<(), hal_core::poll::PollTimeout<i32>>(())
//! ```

use std::fmt;
use std::time::{Duration, Instant};

/// When a wait that starts now must end: the one reading of "wait up to
/// `timeout`" for every blocking wait in the workspace (interrupt and
/// doorbell waits, ring waits, [`poll_timeout`]).
///
/// `None` never ends, and neither does a timeout too long for an
/// [`Instant`] (`Duration::MAX` means "no limit", never a panic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// The deadline `timeout` from now (`None`: none).
    pub fn after(timeout: Option<Duration>) -> Deadline {
        Deadline(timeout.and_then(|t| Instant::now().checked_add(t)))
    }

    /// The time left: `None` without a limit, zero once it has passed (for
    /// a last non-blocking check, or for [`syscall_timeout`]).
    pub fn remaining(&self) -> Option<Duration> {
        self.0.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Whether there is a limit at all.
    pub fn limited(&self) -> bool {
        self.0.is_some()
    }

    /// Whether it has passed (never, without a limit).
    pub fn passed(&self) -> bool {
        self.0.is_some_and(|d| Instant::now() >= d)
    }
}

/// The timeout argument of `poll(2)` for a wait of up to `timeout` (for
/// ever if `None`): milliseconds rounded up, so that a sub-millisecond wait
/// neither ends before its time nor becomes a zero-timeout busy loop, and
/// saturating at `i32::MAX` ms (about 24 days). Every backend that sleeps
/// in `poll` on a descriptor (UIO interrupts, VFIO eventfds, ivshmem
/// doorbells) converts its timeout here.
pub fn syscall_timeout(timeout: Option<Duration>) -> nix::poll::PollTimeout {
    match timeout {
        None => nix::poll::PollTimeout::NONE,
        Some(t) => {
            let ms = t.as_nanos().div_ceil(1_000_000);
            let ms = i32::try_from(ms).unwrap_or(i32::MAX);
            nix::poll::PollTimeout::try_from(ms).unwrap_or(nix::poll::PollTimeout::MAX)
        }
    }
}

/// The condition was still false when the time ran out.
///
/// Holds the last value read (checked once more after the deadline), so the
/// caller can report what the device said, and how long was waited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollTimeout<T> {
    /// The value of the last read, taken after the deadline had passed.
    pub last: T,
    /// How long the poll ran, from its first read to its last.
    pub waited: Duration,
}

impl<T: fmt::Debug> fmt::Display for PollTimeout<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the condition was still not met after {:?}: the last value read was {:?} \
             (the device may be stuck or slower than the timeout allows; check that it was \
             started, or wait longer)",
            self.waited, self.last
        )
    }
}

impl<T: fmt::Debug> std::error::Error for PollTimeout<T> {}

/// Calls `read` until `done` accepts its value, or until `timeout` has
/// passed; returns the accepted value, or the last one in [`PollTimeout`].
///
/// Like Linux's `read_poll_timeout`: `read` is called at once, then again
/// after each `interval`; once the deadline has passed, `read` is called
/// **once more** and that value is checked before giving up, so a thread
/// descheduled past the deadline between two reads does not report a
/// timeout for a condition that has become true. With `interval ==
/// Duration::ZERO` it spins (with [`std::hint::spin_loop`]) instead of
/// sleeping, which suits waits of microseconds; otherwise it sleeps
/// (`std::thread::sleep`, so at least `interval`, often more).
///
/// Precisely: a read that starts after the deadline is the last one. So a
/// `timeout` of zero reads once (a check without waiting), and a timeout
/// that is longer than an [`Instant`] can express never expires.
pub fn poll_timeout<T>(
    mut read: impl FnMut() -> T,
    mut done: impl FnMut(&T) -> bool,
    interval: Duration,
    timeout: Duration,
) -> Result<T, PollTimeout<T>> {
    let start = Instant::now();
    // A timeout too long for an Instant never expires.
    let deadline = Deadline::after(Some(timeout));
    loop {
        let expired = deadline.passed();
        let value = read();
        if done(&value) {
            return Ok(value);
        }
        if expired {
            return Err(PollTimeout {
                last: value,
                waited: start.elapsed(),
            });
        }
        if interval.is_zero() {
            std::hint::spin_loop();
        } else {
            std::thread::sleep(interval);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// No limit and a limit too long for an `Instant` never pass; zero has
    /// passed at once with nothing left; a limit in the future has time
    /// left, never more than it was given.
    #[test]
    fn deadlines_without_limit_never_pass_and_zero_passes_at_once() {
        for never in [Deadline::after(None), Deadline::after(Some(Duration::MAX))] {
            assert!(!never.passed() && !never.limited());
            assert_eq!(never.remaining(), None);
        }
        let zero = Deadline::after(Some(Duration::ZERO));
        assert!(zero.passed());
        assert_eq!(zero.remaining(), Some(Duration::ZERO));
        let later = Deadline::after(Some(Duration::from_secs(60)));
        assert!(!later.passed());
        let left = later.remaining().unwrap();
        assert!(left > Duration::from_secs(59) && left <= Duration::from_secs(60));
    }

    /// A read that returns 1, 2, 3, ..., and the number of reads so far.
    fn counting() -> (Rc<Cell<u64>>, impl FnMut() -> u64) {
        let n = Rc::new(Cell::new(0));
        let reads = n.clone();
        (n, move || {
            reads.set(reads.get() + 1);
            reads.get()
        })
    }

    #[test]
    fn succeeds_with_the_accepted_value() {
        let (n, read) = counting();
        let v = poll_timeout(
            read,
            |v| *v == 5,
            Duration::from_micros(10),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(v, 5);
        assert_eq!(n.get(), 5, "stops reading once done");
    }

    #[test]
    fn times_out_returning_the_last_value() {
        let (n, read) = counting();
        let err = poll_timeout(
            read,
            |_| false,
            Duration::from_millis(1),
            Duration::from_millis(20),
        )
        .unwrap_err();
        assert_eq!(err.last, n.get(), "the last value read");
        assert!(err.waited >= Duration::from_millis(20), "{:?}", err.waited);
        assert!(n.get() >= 2);
        let msg = err.to_string();
        assert!(
            msg.starts_with("the condition was still not met after ")
                && msg.contains(&format!("the last value read was {}", n.get())),
            "{msg}"
        );
    }

    /// The condition becomes true only during the wait that overruns the
    /// deadline: the read after the deadline sees it, so it is a success.
    #[test]
    fn checks_once_more_after_the_deadline() {
        let (n, read) = counting();
        let v = poll_timeout(
            read,
            |v| *v == 2,
            // The first interval alone overruns the deadline.
            Duration::from_millis(30),
            Duration::from_millis(1),
        );
        assert_eq!((v, n.get()), (Ok(2), 2));
        // A zero timeout reads once: a check without waiting.
        let (n, read) = counting();
        let err =
            poll_timeout(read, |_| false, Duration::from_millis(1), Duration::ZERO).unwrap_err();
        assert_eq!((err.last, n.get()), (1, 1));
    }

    #[test]
    fn zero_interval_spins_without_sleeping() {
        let (_, read) = counting();
        let start = Instant::now();
        let v = poll_timeout(
            read,
            |v| *v == 100_000,
            Duration::ZERO,
            Duration::from_secs(30),
        )
        .unwrap();
        assert_eq!(v, 100_000);
        // 100 000 sleeps of even 1 µs would take far longer than this.
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        let err =
            poll_timeout(|| 7u8, |_| false, Duration::ZERO, Duration::from_millis(5)).unwrap_err();
        assert_eq!(err.last, 7);
        assert!(err.waited >= Duration::from_millis(5));
    }

    /// The `poll(2)` timeout rounds up to whole milliseconds and
    /// saturates: a 1 µs wait is 1 ms, not 0 (a busy loop).
    #[test]
    fn syscall_timeouts_round_up_and_saturate() {
        use nix::poll::PollTimeout as Ms;
        assert_eq!(syscall_timeout(None), Ms::NONE);
        assert_eq!(syscall_timeout(Some(Duration::ZERO)), Ms::ZERO);
        assert_eq!(
            syscall_timeout(Some(Duration::from_micros(1))),
            Ms::try_from(1i32).unwrap()
        );
        assert_eq!(
            syscall_timeout(Some(Duration::from_millis(100))),
            Ms::try_from(100i32).unwrap()
        );
        assert_eq!(syscall_timeout(Some(Duration::MAX)), Ms::MAX);
    }

    #[test]
    fn a_huge_timeout_does_not_overflow() {
        assert_eq!(
            poll_timeout(|| 1, |v| *v == 1, Duration::ZERO, Duration::MAX),
            Ok(1)
        );
    }
}
