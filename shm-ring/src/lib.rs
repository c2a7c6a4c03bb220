//! Single-producer single-consumer message rings in memory shared between
//! processes and virtual machines.
//!
//! A ring lives at an offset inside any [`hal_core::Io`]: on the host a
//! [`Region`](hal_core::Region) mapped `MAP_SHARED` from a file in
//! `/dev/shm`, a memfd or the memory an ivshmem server hands out; in a
//! guest the same memory as ivshmem's BAR2 (a `Region` over sysfs
//! `resource2`). Both sides use it at the same time, possibly from
//! different programs, builds and CPUs, so everything about it is explicit:
//! a fixed little-endian layout, a header a new peer checks, and counters
//! published with release/acquire ordering.
//!
//! ```
//! use hal_core::Region;
//! use shm_ring::{create, Consumer, Layout, Producer};
//!
//! let shm = Region::anonymous(4096)?; // in real use: mapped MAP_SHARED by both sides
//! let layout = Layout { offset: 0, capacity: 1024 };
//! create(&shm, layout)?;                        // once, by whoever owns the memory
//! let mut tx = Producer::attach(&shm, 0)?;      // one process (or VM) ...
//! let mut rx = Consumer::attach(&shm, 0)?;      // ... and another
//! assert!(tx.try_send(b"hello")?);              // false would mean "full"
//! let mut msg = Vec::new();
//! assert!(rx.try_recv(&mut msg)?);              // false would mean "empty"
//! assert_eq!(msg, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//!
//! A ring is a 192-byte header followed by its data area of `capacity`
//! bytes (a power of two from [`MIN_CAPACITY`] to [`MAX_CAPACITY`]). The
//! header starts at an offset that is a multiple of 64 (a cache line); all
//! fields are little-endian, each always accessed at the one width given:
//!
//! | offset | width | field | value |
//! |---|---|---|---|
//! | `0x00` | 64 | magic | [`MAGIC`]: the bytes `shm-ring` |
//! | `0x08` | 32 | version | [`VERSION`] (1) |
//! | `0x0c` | 32 | header size | [`HEADER_SIZE`] (`0xc0`) |
//! | `0x10` | 64 | capacity | bytes in the data area |
//! | `0x18` | 64 | largest message | `capacity - 8` |
//! | `0x20` | — | reserved | zero |
//! | `0x40` | 64 | head | bytes the producer has published (its own cache line) |
//! | `0x80` | 64 | tail | bytes the consumer has consumed (its own cache line) |
//! | `0xc0` | — | data | `capacity` bytes of records |
//!
//! `head` and `tail` count bytes since the ring was created and are never
//! reduced modulo the capacity (they wrap at 2⁶⁴, which the arithmetic
//! allows for: the capacity is a power of two); a position's byte in the
//! data area is `position % capacity`. The ring is empty when
//! `head == tail` and holds `head - tail` bytes, at most `capacity`. Head
//! and tail sit on separate cache lines so the two sides do not steal one
//! line from each other on every update.
//!
//! **Records.** Each message is a record: an 8-byte header, then the
//! message's bytes, then padding up to a multiple of 8 (so every record
//! header is 8-byte aligned and one 64-bit access). The header's low 32
//! bits are the message length, its high 32 bits a tag,
//! [`RECORD_TAG`]` ^ (position / 8)` (truncated to 32 bits), which makes a
//! record that was never written at this position (stale bytes, a producer
//! that published too far) detectable.
//!
//! **Wrapping: split copies.** A record header never crosses the end of the
//! data area (positions and the capacity are multiples of 8), but a
//! message's bytes may: they are copied in two parts, up to the end and
//! from the start. There are no skip records, so every free byte is usable
//! and a message of up to `capacity - 8` bytes ([`Layout::max_message`])
//! always fits into an empty ring.
//!
//! # Ordering: why volatile is not enough
//!
//! Producer and consumer run on different CPUs (or in different VMs on
//! different host CPUs). The producer writes a message's bytes and then the
//! new `head`; the consumer must never see the new `head` and then the old
//! bytes. Volatile accesses promise only that each access happens, once, as
//! written: neither the compiler nor the memory model orders them with the
//! *other* (non-volatile) accesses, and volatile is not atomic, so two CPUs
//! using the same RAM through volatile accesses race (undefined behaviour).
//!
//! Every access here goes through the [`Io`](hal_core::Io) backend; over a
//! [`Region`](hal_core::Region) each is one inline-assembly `mov`, which
//! Rust's memory model treats as a *relaxed* atomic access: atomic (no
//! race, no torn counter) but ordering nothing. The order comes from
//! fences, which upgrade the neighbouring relaxed accesses:
//!
//! * **Producer:** write the record (header and bytes), then
//!   [`order::before_doorbell`](hal_core::order::before_doorbell) (a
//!   `Release` fence), then the 8-byte store of `head`. Fence then store is
//!   a release store: whoever reads this `head` value and then fences with
//!   `Acquire` sees every byte written before it.
//! * **Consumer:** the 8-byte load of `head`, then
//!   [`order::after_completion`](hal_core::order::after_completion) (an
//!   `Acquire` fence), then the copy of the record. Load then fence is an
//!   acquire load: the copy cannot be done (by the compiler or the CPU)
//!   before the load that made it legitimate.
//! * **Giving space back:** the consumer copies the message out, then a
//!   `Release` fence, then stores `tail`; the producer loads `tail`, then an
//!   `Acquire` fence, then overwrites the freed bytes. Without this pair the
//!   producer could overwrite bytes the consumer is still copying.
//!
//! On x86-64 (TSO) both fences emit no instruction (stores are seen in
//! program order, loads are not reordered with loads), but they stop the
//! compiler, and they are what makes the protocol correct in the memory
//! model rather than by accident of one CPU; a guest vCPU under KVM or TCG
//! and a host CPU sharing ivshmem memory obey the same rules. The header is
//! published the same way: [`create`] writes every field, fences, and
//! writes the magic number last; [`Producer::attach`] and
//! [`Consumer::attach`] read the magic, fence, then the rest.
//!
//! Each header field is always accessed at its one width. Data bytes are
//! copied with [`Io::write_from`](hal_core::Io::write_from) and
//! [`Io::read_into`](hal_core::Io::read_into) (64-bit accesses, narrower
//! at a message's unaligned end); a byte may be accessed at one width for
//! one record and another for a later one, but never by both sides at
//! once: the counters order every reuse of data bytes.
//!
//! # Never trusting the other side
//!
//! The other side may be buggy, hostile, or another program. Each side
//! keeps its own counter in private memory (the shared copy is only
//! published to) and checks the other side's counter every time it reads
//! it: a multiple of 8, never more than `capacity` bytes ahead of the
//! other, never going backwards. A record header must carry its tag, a
//! length of at most [`Layout::max_message`], and fit inside the published
//! bytes. Anything else is a [`RingError`] that says what was found; no
//! access ever leaves the ring, and nothing panics. A hostile peer can
//! still send wrong *bytes* (checksum messages you cannot trust), but it
//! cannot make this side read or write outside the ring.
//!
//! # Waiting
//!
//! The ring does not notify by itself: [`Consumer::try_recv`] and
//! [`Producer::try_send`] never block, and [`Consumer::recv_timeout`] and
//! [`Producer::send_timeout`] poll with
//! [`hal_core::poll::poll_timeout`], spinning or sleeping between tries.
//!
//! To sleep instead, give each end a [`Notify`] (an ivshmem doorbell:
//! `ivshmem`'s host client, or its guest device over VFIO, through
//! `ivshmem::Link`; an eventfd; anything that latches wake-ups) and use
//! [`Producer::send_wait`] and [`Consumer::recv_wait`]. An end's
//! [`notify`](Notify::notify) wakes the *other* end, its
//! [`wait`](Notify::wait) sleeps until the other end notifies it; with
//! ivshmem that is two vectors: the producer rings the consumer's *data*
//! vector and waits on its own *space* vector, the consumer rings the
//! producer's space vector and waits on its own data vector. Both sides
//! sleep: a consumer on an empty ring, a producer on a full one.
//!
//! ```
//! use std::{cell::Cell, convert::Infallible, rc::Rc, time::Duration};
//! use hal_core::Region;
//! use shm_ring::{create, Consumer, Layout, Notify, Producer};
//!
//! /// A latch per direction, one thread (a real one is an eventfd or a
//! /// doorbell shared by two processes or VMs).
//! struct Latch { theirs: Rc<Cell<u32>>, mine: Rc<Cell<u32>> }
//! impl Notify for Latch {
//!     type Error = Infallible;
//!     fn notify(&mut self) -> Result<(), Infallible> {
//!         self.theirs.set(self.theirs.get() + 1);
//!         Ok(())
//!     }
//!     fn wait(&mut self, _timeout: Option<Duration>) -> Result<bool, Infallible> {
//!         Ok(self.mine.replace(0) > 0) // one thread: never really sleeps
//!     }
//! }
//! let (data, space) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
//! let mut to_consumer = Latch { theirs: data.clone(), mine: space.clone() };
//! let mut to_producer = Latch { theirs: space.clone(), mine: data.clone() };
//!
//! let shm = Region::anonymous(4096)?;
//! create(&shm, Layout { offset: 0, capacity: 64 })?;
//! let mut tx = Producer::attach(&shm, 0)?;
//! let mut rx = Consumer::attach(&shm, 0)?;
//! let no_wait = Some(Duration::ZERO);
//! assert!(tx.send_wait(&[1; 56], &mut to_consumer, None)?); // notifies the data latch
//! assert!(!tx.send_wait(b"more", &mut to_consumer, no_wait)?); // full: timed out
//! let mut msg = Vec::new();
//! assert!(rx.recv_wait(&mut msg, &mut to_producer, None)?);
//! // Empty now: before it would sleep, the consumer gives space back, once.
//! assert!(!rx.recv_wait(&mut msg, &mut to_producer, no_wait)?);
//! assert_eq!(space.get(), 1);
//! assert!(tx.send_wait(b"more", &mut to_consumer, no_wait)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **No lost wake-up, in both directions.** The rules are the [`Notify`]
//! rules, applied twice:
//!
//! * **Data.** The producer notifies after the `Release` store of `head`
//!   ([`try_send`](Producer::try_send) returned `true`). The consumer
//!   sleeps only after [`try_recv`](Consumer::try_recv) found the ring
//!   empty, and tries again after every wake-up. A notification sent
//!   between the empty check and the sleep is latched, so the sleep ends
//!   at once; one consumed by a wait is followed by a fresh check, which
//!   sees the `head` stored before it (the notification's write and the
//!   wait's read of the latch order the two).
//! * **Space.** The consumer notifies after the `Release` store of `tail`,
//!   once per drained batch: when it finds the ring empty having consumed
//!   something since its last space notification
//!   ([`Consumer::notify_space`]), before it would sleep. The producer
//!   sleeps only after `try_send` found too little room (having re-read
//!   `tail`), and tries again after every wake-up. A producer is short of
//!   room only while the ring holds messages; the consumer drains them
//!   before it finds the ring empty, so it notifies after the producer's
//!   last failed check, and the latch keeps that notification until the
//!   producer sleeps.
//!
//! Either side may be woken for nothing (several notifications arrive as
//! one, one arrives for a message already taken): every wake-up is a
//! hint, followed by a fresh check of the ring. Timeouts return
//! `Ok(false)`, after one last check, like the `*_timeout` methods; a
//! failing [`Notify`] is a [`WaitError::Notify`], a ring error a
//! [`WaitError::Ring`]. To serve several rings from one thread, use the
//! non-blocking parts the blocking ones are made of: `try_send` then
//! `notify` once per batch, `try_recv` then [`Consumer::notify_space`]
//! when a ring is found empty, and sleep on whatever the ends wait for.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod blocking;
#[cfg(test)]
mod blocking_tests;
mod error;
mod notify;
mod ring;
#[cfg(test)]
mod tests;

pub use blocking::WaitError;
pub use error::{Counter, RingError};
pub use notify::Notify;
pub use ring::{create, pair_layout, Consumer, Layout, Producer};

/// The ring header's first 8 bytes: `shm-ring` in ASCII, read little-endian.
pub const MAGIC: u64 = u64::from_le_bytes(*b"shm-ring");

/// The layout version this library writes and accepts.
pub const VERSION: u32 = 1;

/// Bytes from the start of a ring's header to its data area.
pub const HEADER_SIZE: usize = 0xc0;

/// The smallest data area a ring can have, in bytes.
pub const MIN_CAPACITY: usize = 64;

/// The largest data area a ring can have, in bytes (record lengths are 32 bits).
pub const MAX_CAPACITY: usize = 1 << 31;

/// The high 32 bits of a record header, before the position is mixed in
/// (see the crate documentation's **Records**).
pub const RECORD_TAG: u32 = u32::from_le_bytes(*b"rec:");
