//! Sleeping instead of polling: [`Producer::send_wait`],
//! [`Consumer::recv_wait`] and [`Consumer::notify_space`], built on a
//! [`Notify`] per ring end.
//!
//! The rules, and why they lose no wake-up, are in the crate
//! documentation's **Waiting**.

use std::time::Duration;

use hal_core::poll::Deadline;
use hal_core::Io;

use crate::error::RingError;
use crate::notify::Notify;
use crate::ring::{Consumer, Producer};

/// What went wrong in a blocking send or receive: the ring's error, or the
/// error of the [`Notify`] that wakes and waits.
#[derive(Debug, thiserror::Error)]
pub enum WaitError<E: std::error::Error + 'static> {
    /// The ring refused the message or found the other side's counters
    /// impossible (see [`RingError`]).
    #[error(transparent)]
    Ring(#[from] RingError),
    /// Waking the other side or sleeping failed (the doorbell's or
    /// eventfd's own error says why).
    #[error("notifying the other side of the ring, or waiting for it, failed: {0}")]
    Notify(#[source] E),
}

impl<I: Io> Producer<I> {
    /// Sends `msg`, sleeping on `notify` while the ring is too full:
    /// `Ok(true)` once it was published and the consumer notified,
    /// `Ok(false)` if `timeout` passed first (`None`: no limit; nothing
    /// was written).
    ///
    /// `notify.notify()` must wake the consumer (its data wake-up) and
    /// `notify.wait()` must sleep until the consumer gave space back (see
    /// [`Consumer::notify_space`]); the crate documentation's **Waiting**
    /// says why no wake-up is lost. It notifies once per message; to notify once
    /// per batch, send with [`try_send`](Producer::try_send) and call
    /// `notify.notify()` after the batch.
    pub fn send_wait<N: Notify>(
        &mut self,
        msg: &[u8],
        notify: &mut N,
        timeout: Option<Duration>,
    ) -> Result<bool, WaitError<N::Error>> {
        let deadline = Deadline::after(timeout);
        loop {
            if self.try_send(msg)? {
                // After the Release store of head, never before.
                notify.notify().map_err(WaitError::Notify)?;
                return Ok(true);
            }
            let left = deadline.remaining();
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(false);
            }
            // Latched: space given back since the check above ends it at once.
            notify.wait(left).map_err(WaitError::Notify)?;
        }
    }
}

impl<I: Io> Consumer<I> {
    /// Receives the next message into `buf`, sleeping on `notify` while
    /// the ring is empty: `Ok(true)` when there was one, `Ok(false)` if
    /// `timeout` passed first (`None`: no limit; `buf` is then empty).
    ///
    /// `notify.wait()` must sleep until the producer published (its data
    /// notification) and `notify.notify()` must wake the producer: before
    /// sleeping on an empty ring this calls
    /// [`notify_space`](Consumer::notify_space), so a producer waiting for
    /// room is woken once per drained batch, not once per message.
    pub fn recv_wait<N: Notify>(
        &mut self,
        buf: &mut Vec<u8>,
        notify: &mut N,
        timeout: Option<Duration>,
    ) -> Result<bool, WaitError<N::Error>> {
        let deadline = Deadline::after(timeout);
        loop {
            if self.try_recv(buf)? {
                return Ok(true);
            }
            self.notify_space(notify).map_err(WaitError::Notify)?;
            let left = deadline.remaining();
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(false);
            }
            // Latched: a message published since the check ends it at once.
            notify.wait(left).map_err(WaitError::Notify)?;
        }
    }

    /// Tells the producer that space was given back, if any was since the
    /// last time: calls `notify.notify()` when this end consumed a message
    /// since its last space notification (returns `true`), else does
    /// nothing (`false`).
    ///
    /// [`recv_wait`](Consumer::recv_wait) calls it whenever it finds the
    /// ring empty. Call it yourself when you receive with
    /// [`try_recv`](Consumer::try_recv) and find the ring empty, or when
    /// you stop receiving while the producer may be waiting for room.
    pub fn notify_space<N: Notify>(&mut self, notify: &mut N) -> Result<bool, N::Error> {
        let tail = self.consumed();
        if tail == self.space_notified {
            return Ok(false);
        }
        // After the Release store of tail (try_recv), never before.
        notify.notify()?;
        self.space_notified = tail;
        Ok(true)
    }
}
