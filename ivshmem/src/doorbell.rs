//! One interface for both ends of the doorbells: [`Doorbell`] (ring a
//! peer's vector, wait for one's own), implemented by the host
//! [`Client`](crate::client::Client) and the guest
//! [`GuestDevice`](crate::guest::GuestDevice); and [`Link`], which turns
//! any of them into a [`shm_ring::Notify`] for one ring.

use std::time::Duration;

/// Ringing peers and waiting for one's own vectors, on the host (eventfds
/// from the server) or in a guest (ivshmem-doorbell's `DOORBELL` register
/// and MSI-X vectors).
///
/// Both latch: a ring that arrives while nobody waits makes the next
/// [`wait`](Doorbell::wait) return at once (an eventfd keeps its count),
/// and several rings before a wait are consumed by it together.
pub trait Doorbell {
    /// The error of this end.
    type Error: std::error::Error + Send + Sync + 'static;

    /// This peer's ID.
    fn id(&self) -> u16;

    /// Rings `peer`'s `vector` (it may be this peer itself).
    fn ring(&mut self, peer: u16, vector: u32) -> Result<(), Self::Error>;

    /// Waits until this peer's `vector` is rung, at most `timeout`
    /// (`None`: forever). Returns true if it was, false on timeout.
    fn wait(&mut self, vector: u32, timeout: Option<Duration>) -> Result<bool, Self::Error>;
}

impl Doorbell for crate::client::Client {
    type Error = crate::client::ClientError;

    fn id(&self) -> u16 {
        crate::client::Client::id(self)
    }

    fn ring(&mut self, peer: u16, vector: u32) -> Result<(), Self::Error> {
        crate::client::Client::ring(self, peer, vector)
    }

    fn wait(&mut self, vector: u32, timeout: Option<Duration>) -> Result<bool, Self::Error> {
        crate::client::Client::wait(self, vector, timeout)
    }
}

/// A [`shm_ring::Notify`] for one ring between this peer and another:
/// [`notify`](shm_ring::Notify::notify) rings `peer`'s `vector`,
/// [`wait`](shm_ring::Notify::wait) waits for this peer's `own_vector`.
///
/// ```no_run
/// use ivshmem::{client::Client, Link};
/// use shm_ring::Notify;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut client = Client::connect("/tmp/ivshmem_socket".as_ref())?;
/// let mut link = Link { doorbell: &mut client, peer: 1, vector: 0, own_vector: 0 };
/// // ... publish a message into the ring (try_send), then:
/// link.notify()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Link<'a, D: Doorbell + ?Sized> {
    /// This peer's doorbells.
    pub doorbell: &'a mut D,
    /// The peer to ring.
    pub peer: u16,
    /// Its vector to ring.
    pub vector: u32,
    /// This peer's vector to wait on.
    pub own_vector: u32,
}

impl<D: Doorbell + ?Sized> shm_ring::Notify for Link<'_, D> {
    type Error = D::Error;

    fn notify(&mut self) -> Result<(), D::Error> {
        self.doorbell.ring(self.peer, self.vector)
    }

    fn wait(&mut self, timeout: Option<Duration>) -> Result<bool, D::Error> {
        self.doorbell.wait(self.own_vector, timeout)
    }
}
