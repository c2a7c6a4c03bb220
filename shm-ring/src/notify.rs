//! Telling the other side that a ring changed: the [`Notify`] trait.

use std::time::Duration;

/// A way to wake the other side of a ring and to sleep until woken: an
/// ivshmem doorbell (an eventfd on the host, an MSI-X vector in a guest),
/// or anything else that counts wake-ups.
///
/// The ring itself never blocks ([`Consumer::try_recv`](crate::Consumer::try_recv),
/// [`Producer::try_send`](crate::Producer::try_send)); a `Notify` lets a side
/// sleep instead of polling. Used correctly it loses no wake-up:
///
/// * **When to notify.** After publishing: the producer calls
///   [`notify`](Notify::notify) after [`try_send`](crate::Producer::try_send)
///   returned `true`, that is after the `Release` store of `head`. A
///   notification sent before the store could wake the consumer, which
///   would find the ring still empty and go back to sleep with the message
///   unseen. (A consumer that frees space for a blocked producer does the
///   same after its `tail` store.) One notification may cover a batch of
///   messages.
/// * **Before sleeping, check again.** The consumer's loop is: try to
///   receive; if the ring was empty, [`wait`](Notify::wait); then try again.
///   A notification that arrives between the empty check and the wait must
///   not be lost: implementations **latch** it (an eventfd keeps its count,
///   an MSI-X vector's eventfd too), so the wait returns at once. An
///   implementation that only wakes threads already sleeping (a condition
///   variable without a flag) would lose it and must not implement this
///   trait. After every wake-up the ring is checked again: a wake-up is a
///   hint, several notifications may arrive as one, and one may arrive for
///   a message already taken.
///
/// [`Producer::send_wait`](crate::Producer::send_wait) and
/// [`Consumer::recv_wait`](crate::Consumer::recv_wait) follow these rules
/// in both directions, with one `Notify` per end (the crate
/// documentation's **Waiting**).
pub trait Notify {
    /// The error of the underlying mechanism.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Wakes the other side (or makes its next [`wait`](Notify::wait)
    /// return at once, if it is not sleeping).
    fn notify(&mut self) -> Result<(), Self::Error>;

    /// Sleeps until notified or `timeout` passed (`None`: no limit).
    /// Returns `true` if notified (consuming every notification latched so
    /// far), `false` on timeout.
    fn wait(&mut self, timeout: Option<Duration>) -> Result<bool, Self::Error>;
}
