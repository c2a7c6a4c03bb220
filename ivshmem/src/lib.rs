//! Shared memory between processes and VMs, the ivshmem way: a server that
//! creates the memory and hands it, with an eventfd per interrupt vector of
//! every peer, to whoever connects to its UNIX socket; and a client library
//! for host processes. QEMU's `ivshmem-doorbell` device is a client of the
//! same server, so host processes and VMs share one memory and ring each
//! other's doorbells.
//!
//! * [`server`]: [`Server`](server::Server) (also the `ivshmem-server`
//!   command): the memory (a POSIX shared-memory object or an unlinked file
//!   in a directory, a power of two in size), peer IDs from 0 upwards
//!   (never reused while the server runs), the greeting, arrival and
//!   departure notices, cleanup on SIGINT/SIGTERM and on drop;
//! * [`client`]: [`Client`](client::Client): connect, the memory as a
//!   [`hal_core::Region`] (`MAP_SHARED`, RAM), [`ring`](client::Client::ring)
//!   a peer's vector, [`wait`](client::Client::wait) for one's own (also
//!   through `AsFd`), [`poll_events`](client::Client::poll_events) for
//!   arrivals and departures;
//! * [`guest`]: [`GuestDevice`](guest::GuestDevice), the other end inside a
//!   VM: QEMU's `ivshmem-doorbell` bound to `vfio-pci`, its peer ID, the
//!   `DOORBELL` register, the shared memory (BAR2) as a [`hal_core::Region`]
//!   and its MSI-X vectors as eventfds, so a guest sleeps until rung;
//! * [`Doorbell`]: ringing and waiting, the same for both ends, and
//!   [`Link`], which makes either a [`shm_ring::Notify`] for a ring;
//! * [`protocol`]: the wire format both use.
//!
//! See `docs/ivshmem.md` for the protocol in full and how to run the server
//! with QEMU.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod client;
mod doorbell;
pub mod guest;
pub mod protocol;
pub mod server;

pub use doorbell::{Doorbell, Link};
