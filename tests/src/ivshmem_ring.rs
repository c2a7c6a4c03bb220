//! Message exchange over `shm-ring` rings in ivshmem-doorbell's shared
//! memory, the same code on both sides: inside a VM over VFIO (an
//! `ivshmem::guest::GuestDevice`: BAR2 mapped, doorbells rung through
//! BAR0's `DOORBELL` and received as MSI-X interrupts), inside a VM over
//! UIO (BAR2 through sysfs `resource2`, ringing through `DOORBELL`,
//! receiving by polling: uio_pci_generic cannot take ivshmem's MSI-X
//! interrupts) and in a host process (an `ivshmem::Client`: its mapping,
//! `ring` and `wait` on its eventfds). All of them are an
//! [`ivshmem::Doorbell`]; the exchange notifies and waits through
//! [`ivshmem::Link`], a [`shm_ring::Notify`], on two vectors per peer:
//! [`DATA_VECTOR`] (a producer rings its consumer after publishing) and
//! [`SPACE_VECTOR`] (a consumer rings its producer after draining a ring
//! it found full of messages: [`shm_ring::Consumer::notify_space`]). Host
//! processes and guests over VFIO sleep in both directions: on an empty
//! ring and on a full one.
//!
//! The shared memory is cut into [`SLOT_SIZE`] slots, one ring each; a
//! [`Plan`] says which slots a peer sends into (how many messages, which
//! peer to ring after sending) and which it receives from. Every message
//! carries its slot, its sequence number, a payload computed from both and
//! a checksum, so the receiver checks that each message arrives once, in
//! order and intact ([`check_message`]).

use std::fmt::Write as _;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use hal_core::prelude::*;
use hal_core::Io;
use ivshmem::{Doorbell, Link};
use shm_ring::{Consumer, Layout, Notify, Producer};

/// Interrupt vectors per peer the exchange needs (the servers of the tests
/// and the demo give each peer this many).
pub const VECTORS: u32 = 2;
/// The vector a producer rings after publishing messages.
pub const DATA_VECTOR: u32 = 0;
/// The vector a consumer rings after giving space back.
pub const SPACE_VECTOR: u32 = 1;

/// Bytes of shared memory per ring (header included).
pub const SLOT_SIZE: usize = 128 * 1024;
/// Shared-memory size the tests and the demo give the server (8 slots).
pub const SHM_SIZE: u64 = 1 << 20;
/// Longest message the tests send (header, payload and checksum).
pub const MAX_MESSAGE: usize = 1024;
/// Bytes before the payload: slot (u32) and sequence number (u64).
const HEAD: usize = 12;
/// The checksum after the payload (FNV-1a, u32).
const SUM: usize = 4;

/// The ring layout of slot `slot`.
pub fn slot_layout(slot: usize) -> Layout {
    Layout::largest(slot * SLOT_SIZE, SLOT_SIZE)
}

/// Writes fresh ring headers into the given slots (before any peer
/// attaches to them).
pub fn create_slots<I: Io + ?Sized>(io: &I, slots: &[usize]) -> Result<(), String> {
    for &s in slots {
        shm_ring::create(io, slot_layout(s)).map_err(|e| format!("creating ring {s}: {e}"))?;
    }
    Ok(())
}

/// FNV-1a over `data`.
pub fn checksum(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The length of message `seq` of slot `slot`: 16 to [`MAX_MESSAGE`]
/// bytes, varying with both (and the full 4 KiB-free range is covered).
pub fn message_len(slot: usize, seq: u64) -> usize {
    let x = (seq.wrapping_mul(0x9e37_79b9) ^ (slot as u64) << 7) % (MAX_MESSAGE - 15) as u64;
    16 + x as usize
}

/// Message `seq` of slot `slot`: slot, sequence number, payload, checksum.
pub fn make_message(slot: usize, seq: u64, buf: &mut Vec<u8>) {
    let len = message_len(slot, seq);
    buf.clear();
    buf.extend_from_slice(&(slot as u32).to_le_bytes());
    buf.extend_from_slice(&seq.to_le_bytes());
    let seed = (seq as u32).wrapping_mul(2_654_435_761) ^ (slot as u32) << 24;
    buf.extend_from_slice(&crate::pattern(seed, len - HEAD - SUM));
    let sum = checksum(buf);
    buf.extend_from_slice(&sum.to_le_bytes());
}

/// Checks that `msg` is message `want` of slot `slot`: the error says
/// whether it is corrupt (checksum), from another ring, a duplicate or
/// out of order (sequence number), or has the wrong payload.
pub fn check_message(slot: usize, want: u64, msg: &[u8]) -> Result<(), String> {
    if msg.len() < HEAD + SUM {
        return Err(format!(
            "ring {slot}: message {want} is {} bytes, shorter than its header",
            msg.len()
        ));
    }
    let (body, sum) = msg.split_at(msg.len() - SUM);
    let sum = u32::from_le_bytes(sum.try_into().unwrap_or_default());
    if checksum(body) != sum {
        return Err(format!(
            "ring {slot}: message {want} ({} bytes) fails its checksum: corrupted",
            msg.len()
        ));
    }
    let from = u32::from_le_bytes(body[..4].try_into().unwrap_or_default()) as usize;
    let seq = u64::from_le_bytes(body[4..12].try_into().unwrap_or_default());
    if from != slot {
        return Err(format!(
            "ring {slot}: message {want} says it was sent into ring {from}"
        ));
    }
    if seq != want {
        let what = if seq < want {
            "a duplicate or reordered"
        } else {
            "lost messages before"
        };
        return Err(format!(
            "ring {slot}: expected message {want}, got message {seq} ({what})"
        ));
    }
    let mut expected = Vec::new();
    make_message(slot, seq, &mut expected);
    if let Some(i) = crate::first_difference(msg, &expected) {
        return Err(format!(
            "ring {slot}: message {seq} differs from what was sent at byte {i}"
        ));
    }
    Ok(())
}

/// A stream this peer sends: `count` messages into `slot`, ringing `notify`
/// (a peer ID, its [`DATA_VECTOR`]) after each batch, if given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendSpec {
    /// The ring.
    pub slot: usize,
    /// How many messages.
    pub count: u64,
    /// Whom to ring when messages were sent.
    pub notify: Option<u16>,
}

/// A stream this peer receives: `count` messages from `slot`, ringing
/// `notify` (the producer's peer ID, its [`SPACE_VECTOR`]) when it drained
/// the ring, if given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvSpec {
    /// The ring.
    pub slot: usize,
    /// How many messages.
    pub count: u64,
    /// Whom to ring when space was given back.
    pub notify: Option<u16>,
}

/// What one peer does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Streams sent.
    pub send: Vec<SendSpec>,
    /// Streams received.
    pub recv: Vec<RecvSpec>,
    /// Print a line every this many messages per stream (0: only at the end).
    pub progress_every: u64,
    /// Sleep this long after each round that sent or received something
    /// (0: never), so that the other side finds its rings empty (a slow
    /// sender) or full (a slow receiver) and sleeps on its doorbell.
    pub pause: Duration,
}

impl Plan {
    /// Parses `send SLOT:COUNT[:PEER]` and `recv SLOT:COUNT[:PEER]`
    /// arguments (`--send 0:1000:3 --recv 1:1000:3`), `--progress N` and
    /// `--pause MICROSECONDS`.
    pub fn parse(args: &[String]) -> Result<Plan, String> {
        let mut plan = Plan::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || {
                it.next()
                    .ok_or_else(|| format!("{a} needs a value"))
                    .cloned()
            };
            match a.as_str() {
                "--send" => {
                    let (slot, count, notify) = parse_stream(a, &value()?)?;
                    plan.send.push(SendSpec {
                        slot,
                        count,
                        notify,
                    });
                }
                "--recv" => {
                    let (slot, count, notify) = parse_stream(a, &value()?)?;
                    plan.recv.push(RecvSpec {
                        slot,
                        count,
                        notify,
                    });
                }
                "--progress" => plan.progress_every = parse_num(&value()?, "progress")?,
                "--pause" => plan.pause = Duration::from_micros(parse_num(&value()?, "pause")?),
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        for s in plan
            .send
            .iter()
            .map(|s| s.slot)
            .chain(plan.recv.iter().map(|r| r.slot))
        {
            if (s + 1) * SLOT_SIZE > SHM_SIZE as usize {
                return Err(format!(
                    "slot {s} is outside the {SHM_SIZE}-byte shared memory ({} slots)",
                    SHM_SIZE as usize / SLOT_SIZE
                ));
            }
        }
        Ok(plan)
    }
}

/// `SLOT:COUNT[:PEER]`, the value of `--send` and `--recv` (`option`).
fn parse_stream(option: &str, v: &str) -> Result<(usize, u64, Option<u16>), String> {
    let f: Vec<&str> = v.split(':').collect();
    if !(2..=3).contains(&f.len()) {
        return Err(format!("{option} {v}: expected SLOT:COUNT[:PEER]"));
    }
    Ok((
        parse_num(f[0], "slot")?,
        parse_num(f[1], "count")?,
        f.get(2).map(|p| parse_num(p, "peer")).transpose()?,
    ))
}

fn parse_num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("{what} `{s}` is not a valid number"))
}

/// A peer of the exchange: rings others and waits for its own vectors
/// through its [`Doorbell`] (host client, guest over VFIO, guest over UIO
/// that can ring but only poll), and reports arrivals and departures.
pub trait Peer: Doorbell {
    /// How many vectors this peer can wait on, or `None` if it cannot
    /// receive doorbells at all (a guest over UIO: it polls).
    fn vectors(&self) -> Option<u32>;

    /// The eventfd of this peer's `vector`, to sleep on several vectors at
    /// once (`None`: the peer cannot; it then waits on one vector).
    fn vector_fd(&self, _vector: u32) -> Option<BorrowedFd<'_>> {
        None
    }

    /// Arrivals and departures of other peers since the last call, as
    /// lines to print (nothing for a guest).
    fn events(&mut self) -> Result<Vec<String>, String> {
        Ok(Vec::new())
    }
}

/// How long a peer sleeps on its doorbells at most before looking at the
/// rings (and peer events) again: a wake-up is never needed for
/// progress, except from a consumer that was not told whom to ring
/// (its producer then retries after this long).
const WAIT_CAP: Duration = Duration::from_millis(100);

/// The [`Notify`] of `me`'s end of a ring with `other`: rings `other`'s
/// `vector`, waits on `me`'s `own_vector`.
fn link<P: Peer>(me: &mut P, other: u16, vector: u32, own_vector: u32) -> Link<'_, P> {
    Link {
        doorbell: me,
        peer: other,
        vector,
        own_vector,
    }
}

/// Sleeps until one of `peer`'s `vectors` is rung or `timeout` passed,
/// through the same [`Notify`] the other peers ring: true if rung (every
/// vector found rung is consumed). Several vectors are watched at once
/// through their eventfds; a peer without them waits on the first.
fn wait_rung<P: Peer>(peer: &mut P, vectors: &[u32], timeout: Duration) -> Result<bool, String> {
    let me = peer.id();
    let rung = match vectors {
        [_, _, ..] => match vectors
            .iter()
            .map(|&v| peer.vector_fd(v))
            .collect::<Option<Vec<_>>>()
        {
            Some(fds) => Some(readable(&fds, vectors, timeout)?),
            None => None,
        },
        _ => None,
    };
    let e = |e: P::Error| format!("waiting for a doorbell: {e}");
    match rung {
        None => link(peer, me, 0, vectors.first().copied().unwrap_or(DATA_VECTOR))
            .wait(Some(timeout))
            .map_err(e),
        Some(rung) => {
            for &v in &rung {
                link(peer, me, 0, v).wait(Some(Duration::ZERO)).map_err(e)?;
            }
            Ok(!rung.is_empty())
        }
    }
}

/// Which of `vectors` (their eventfds `fds`) are rung, after waiting at
/// most `timeout` for one.
fn readable(
    fds: &[BorrowedFd<'_>],
    vectors: &[u32],
    timeout: Duration,
) -> Result<Vec<u32>, String> {
    use nix::poll::{poll, PollFd, PollFlags};
    let mut polled: Vec<PollFd> = fds
        .iter()
        .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
        .collect();
    match poll(&mut polled, hal_core::poll::syscall_timeout(Some(timeout))) {
        Ok(_) => {}
        // A signal: a wake-up for nothing, the rings are checked again.
        Err(nix::errno::Errno::EINTR) => return Ok(Vec::new()),
        Err(e) => return Err(format!("waiting for doorbells {vectors:?} (poll): {e}")),
    }
    Ok(polled
        .iter()
        .zip(vectors)
        .filter(|(p, _)| p.revents().is_some_and(|r| !r.is_empty()))
        .map(|(_, &v)| v)
        .collect())
}

/// What [`exchange`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Messages sent.
    pub sent: u64,
    /// Bytes sent.
    pub sent_bytes: u64,
    /// Messages received and checked.
    pub received: u64,
    /// Notifications sent: data (after a batch of sends) and space (after
    /// draining a ring).
    pub rings: u64,
    /// Sleeps on the doorbells that ended because one was rung.
    pub wakeups: u64,
    /// Sleeps that ended by their timeout (every sleep of a peer that
    /// cannot receive doorbells).
    pub timeouts: u64,
    /// Sleeps while a full ring blocked a send (on [`SPACE_VECTOR`], and on
    /// [`DATA_VECTOR`] too if the peer also receives), however they ended.
    pub space_waits: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs `plan` over `io` until every stream is complete or `timeout`
/// passes (an error saying which streams are short). `say` gets a line per
/// progress step and peer event.
pub fn exchange<I: Io, P: Peer>(
    io: &I,
    plan: &Plan,
    peer: &mut P,
    timeout: Duration,
    say: &mut dyn FnMut(&str),
) -> Result<Report, String> {
    let start = Instant::now();
    if let Some(v) = peer.vectors().filter(|&v| v < VECTORS) {
        return Err(format!(
            "this peer has {v} interrupt vector(s); the exchange needs {VECTORS} (vector \
             {DATA_VECTOR}: data, vector {SPACE_VECTOR}: space): give the ivshmem server \
             (and QEMU's ivshmem-doorbell) {VECTORS} vectors"
        ));
    }
    let mut producers = Vec::new();
    for s in &plan.send {
        let p = Producer::attach(io, s.slot * SLOT_SIZE)
            .map_err(|e| format!("attaching to ring {} as its producer: {e}", s.slot))?;
        producers.push((s, p, 0u64));
    }
    let mut consumers = Vec::new();
    for r in &plan.recv {
        let c = Consumer::attach(io, r.slot * SLOT_SIZE)
            .map_err(|e| format!("attaching to ring {} as its consumer: {e}", r.slot))?;
        consumers.push((r, c, 0u64));
    }
    let mut report = Report::default();
    let mut msg = Vec::with_capacity(MAX_MESSAGE);
    let mut idle_rounds = 0u32;
    loop {
        let mut progressed = false;
        // A send found its ring full this round.
        let mut blocked = false;
        for (spec, prod, next) in producers.iter_mut() {
            let mut sent_now = false;
            // A batch per round, so receivers interleave with senders.
            for _ in 0..64 {
                if *next >= spec.count {
                    break;
                }
                make_message(spec.slot, *next, &mut msg);
                if !prod
                    .try_send(&msg)
                    .map_err(|e| format!("sending message {next} into ring {}: {e}", spec.slot))?
                {
                    blocked = true;
                    break;
                }
                *next += 1;
                report.sent += 1;
                report.sent_bytes += msg.len() as u64;
                sent_now = true;
                if plan.progress_every > 0 && *next % plan.progress_every == 0 {
                    say(&format!("ring {}: sent {next}/{}", spec.slot, spec.count));
                }
            }
            if sent_now {
                progressed = true;
                if let Some(to) = spec.notify {
                    // After the Release store of head (try_send), never
                    // before; once per batch.
                    link(peer, to, DATA_VECTOR, SPACE_VECTOR)
                        .notify()
                        .map_err(|e| format!("ringing peer {to}'s data vector: {e}"))?;
                    report.rings += 1;
                }
            }
        }
        for (spec, cons, next) in consumers.iter_mut() {
            let mut found_empty = false;
            for _ in 0..256 {
                if *next >= spec.count {
                    break;
                }
                if !cons
                    .try_recv(&mut msg)
                    .map_err(|e| format!("receiving from ring {}: {e}", spec.slot))?
                {
                    found_empty = true;
                    break;
                }
                check_message(spec.slot, *next, &msg)?;
                *next += 1;
                report.received += 1;
                progressed = true;
                if plan.progress_every > 0 && *next % plan.progress_every == 0 {
                    say(&format!(
                        "ring {}: received {next}/{} in order, intact",
                        spec.slot, spec.count
                    ));
                }
            }
            // Found empty, done, or about to pause: the producer may sleep
            // on a full ring; give the space back before this side stops
            // reading for a while (`notify_space` rings only if something
            // was consumed since its last ring, after the Release store of
            // tail: the rule of `recv_wait`).
            let stopping = found_empty || *next >= spec.count || !plan.pause.is_zero();
            if let (true, Some(to)) = (stopping, spec.notify) {
                if cons
                    .notify_space(&mut link(peer, to, SPACE_VECTOR, DATA_VECTOR))
                    .map_err(|e| format!("ringing peer {to}'s space vector: {e}"))?
                {
                    report.rings += 1;
                }
            }
        }
        if progressed && !plan.pause.is_zero() {
            std::thread::sleep(plan.pause);
        }
        for e in peer.events()? {
            say(&e);
        }
        let done = producers.iter().all(|(s, _, n)| *n >= s.count)
            && consumers.iter().all(|(s, _, n)| *n >= s.count);
        if done {
            break;
        }
        if start.elapsed() > timeout {
            let mut why = String::new();
            for (s, _, n) in &producers {
                let _ = write!(why, " ring {}: sent {n}/{};", s.slot, s.count);
            }
            for (s, _, n) in &consumers {
                let _ = write!(why, " ring {}: received {n}/{};", s.slot, s.count);
            }
            return Err(format!("timed out after {timeout:?}:{why}"));
        }
        if progressed {
            idle_rounds = 0;
        } else {
            idle_rounds += 1;
            // Spin a little, then sleep on the doorbells: on the data
            // vector while receiving, on the space vector while a send
            // is blocked by a full ring. The rings were found empty (or
            // full) after the last ring arrived or before it: a ring since
            // then is latched, so the wait returns at once.
            if idle_rounds > 16 {
                let receiving = consumers.iter().any(|(s, _, n)| *n < s.count);
                let vectors: &[u32] = match (receiving, blocked) {
                    (true, true) => &[DATA_VECTOR, SPACE_VECTOR],
                    (false, true) => &[SPACE_VECTOR],
                    _ => &[DATA_VECTOR],
                };
                let t = WAIT_CAP.min(timeout.saturating_sub(start.elapsed()));
                report.space_waits += u64::from(blocked);
                if wait_rung(peer, vectors, t)? {
                    report.wakeups += 1;
                } else {
                    report.timeouts += 1;
                }
            } else {
                std::thread::yield_now();
            }
        }
    }
    report.elapsed = start.elapsed();
    Ok(report)
}

impl Report {
    /// One line: counts and rates.
    pub fn summary(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        format!(
            "sent {} ({} bytes), received {} (each checked: sequence, checksum, payload), {} notifications, {} wake-ups, {} wait timeouts, {} waits for space, {:.2?} ({:.0} msg/s)",
            self.sent,
            self.sent_bytes,
            self.received,
            self.rings,
            self.wakeups,
            self.timeouts,
            self.space_waits,
            self.elapsed,
            (self.sent + self.received) as f64 / secs
        )
    }
}

/// A host peer: an `ivshmem::Client` (rings and waits through its
/// eventfds; prints arrivals and departures of other peers).
impl Peer for ivshmem::client::Client {
    fn vectors(&self) -> Option<u32> {
        Some(ivshmem::client::Client::vectors(self))
    }

    fn vector_fd(&self, vector: u32) -> Option<BorrowedFd<'_>> {
        self.try_vector_fd(vector).ok()
    }

    fn events(&mut self) -> Result<Vec<String>, String> {
        Ok(self
            .poll_events()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|e| match e {
                ivshmem::client::PeerEvent::Joined(p) => format!("event: peer {p} joined"),
                ivshmem::client::PeerEvent::Left(p) => format!("event: peer {p} left"),
            })
            .collect())
    }
}

/// A guest peer over VFIO: receives its doorbells as MSI-X interrupts.
impl Peer for ivshmem::guest::GuestDevice {
    fn vectors(&self) -> Option<u32> {
        Some(ivshmem::guest::GuestDevice::vectors(self))
    }

    fn vector_fd(&self, vector: u32) -> Option<BorrowedFd<'_>> {
        ivshmem::guest::GuestDevice::vector_fd(self, vector).ok()
    }
}

/// Prints a line and flushes (the harness reads it through a pipe).
pub fn say_line(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Runs `plan` as a host peer of the server on `socket`: prints `peer ID`
/// first, then progress and peer events, one per line.
pub fn host_peer(
    socket: &std::path::Path,
    plan: &Plan,
    timeout: Duration,
) -> Result<String, String> {
    let client = ivshmem::client::Client::connect_with_vectors(socket, VECTORS)
        .map_err(|e| format!("connecting to {}: {e}", socket.display()))?;
    say_line(&format!("peer {}", client.id()));
    // A second mapping of the same memory, so that the client stays free
    // for `poll_events` (which needs it mutably) while rings are attached.
    let len = client.region().len();
    let shm = devmem_backend::map_fd(client.memory_fd(), 0, len, "ivshmem shared memory")
        .map_err(|e| e.to_string())?;
    let mut client = client;
    let r = exchange(&shm, plan, &mut client, timeout, &mut |l| say_line(l))?;
    Ok(r.summary())
}

/// A guest peer over UIO: rings through BAR0's `DOORBELL`; cannot receive
/// doorbells (uio_pci_generic has no MSI-X), so its wait is a short sleep
/// that always times out (the exchange polls).
pub struct GuestPeer {
    bar0: hal_core::Region,
    id: u16,
}

/// The `DOORBELL` register's error: none (a write cannot fail).
#[derive(Debug)]
pub enum NoError {}

impl std::fmt::Display for NoError {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

impl std::error::Error for NoError {}

impl GuestPeer {
    /// Maps BAR0 of the ivshmem device through UIO and reads this VM's
    /// peer ID (`IV_POSITION`).
    pub fn open() -> Result<GuestPeer, String> {
        let mut bar0 = crate::guest::map_bar(crate::IVSHMEM_IDS, 0, crate::guest::Backend::Uio)?;
        let regs = device_specs::ivshmem::Regs::new(&mut bar0).map_err(|e| e.to_string())?;
        let id = regs.iv_position().get();
        let id =
            u16::try_from(id).map_err(|_| format!("IV_POSITION reads {id:#x}, not a peer ID"))?;
        Ok(GuestPeer { bar0, id })
    }
}

impl Doorbell for GuestPeer {
    type Error = NoError;

    fn id(&self) -> u16 {
        self.id
    }

    fn ring(&mut self, peer: u16, vector: u32) -> Result<(), NoError> {
        use device_specs::ivshmem::regs::DOORBELL;
        // Regs::new was checked in open(): the same region cannot fail now.
        if let Ok(regs) = device_specs::ivshmem::Regs::new(&mut self.bar0) {
            regs.doorbell()
                .write(DOORBELL::PEER.val(u32::from(peer)) + DOORBELL::VECTOR.val(vector & 0xffff));
        }
        Ok(())
    }

    fn wait(&mut self, _vector: u32, timeout: Option<Duration>) -> Result<bool, NoError> {
        std::thread::sleep(
            timeout
                .unwrap_or(Duration::MAX)
                .min(Duration::from_micros(500)),
        );
        Ok(false)
    }
}

impl Peer for GuestPeer {
    fn vectors(&self) -> Option<u32> {
        None
    }
}

/// Runs `plan` as a guest peer: BAR2 through sysfs `resource2` (a 64-bit
/// BAR, not a UIO map), BAR0 through UIO.
pub fn guest_peer(plan: &Plan, timeout: Duration) -> Result<String, String> {
    let mut peer = GuestPeer::open()?;
    say_line(&format!("peer {}", peer.id()));
    let shm = crate::guest::map_bar(crate::IVSHMEM_IDS, 2, crate::guest::Backend::Sysfs)?;
    let r = exchange(&shm, plan, &mut peer, timeout, &mut |l| say_line(l))?;
    Ok(r.summary())
}

/// `vm-guest ivshmem-ring PEER`: prints this VM's peer ID and rings
/// `peer`'s vector 0 through the typed block.
pub fn guest_ring(peer: u16) -> Result<String, String> {
    let mut p = GuestPeer::open()?;
    let id = p.id();
    let Ok(()) = p.ring(peer, 0);
    Ok(format!("IV_POSITION {id}; rang peer {peer} vector 0"))
}

/// `vm-guest ivshmem-position`: this VM's peer ID.
pub fn guest_position() -> Result<String, String> {
    Ok(GuestPeer::open()?.id().to_string())
}

/// The `ring-peer` subcommand: `--guest` (over UIO, polling), `--vfio`
/// (over VFIO, sleeping on MSI-X) or `--socket PATH`, `--timeout
/// SECS` (default 300), then the [`Plan`].
pub fn ring_peer_command(args: &[String]) -> Result<String, String> {
    let mut rest = Vec::new();
    let mut socket = None;
    let mut guest = false;
    let mut vfio = false;
    let mut timeout = Duration::from_secs(300);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--guest" => guest = true,
            "--vfio" => vfio = true,
            "--socket" => socket = Some(it.next().ok_or("--socket needs a path")?.clone()),
            "--timeout" => {
                timeout = Duration::from_secs(parse_num(
                    it.next().ok_or("--timeout needs seconds")?,
                    "timeout",
                )?)
            }
            _ => rest.push(a.clone()),
        }
    }
    let plan = Plan::parse(&rest)?;
    match (guest, vfio, socket) {
        (true, false, None) => guest_peer(&plan, timeout),
        (false, true, None) => crate::ivshmem_vfio::vfio_guest_peer(&plan, timeout),
        (false, false, Some(s)) => host_peer(std::path::Path::new(&s), &plan, timeout),
        _ => Err("ring-peer needs exactly one of --guest, --vfio and --socket PATH".into()),
    }
}

/// Runs `f` with two host clients of an ivshmem server (`vectors` per
/// peer) running in a thread of this process, each already knowing the
/// other; stops the server and removes its directory (`name` and the
/// process ID, in the temporary directory) afterwards.
#[cfg(test)]
pub(crate) fn with_two_clients<T>(
    name: &str,
    vectors: u32,
    f: impl FnOnce(ivshmem::client::Client, ivshmem::client::Client) -> T,
) -> T {
    use ivshmem::client::Client;
    use ivshmem::server::{Server, ServerConfig, ShmBacking};
    use std::sync::atomic::{AtomicBool, Ordering};

    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("s.sock");
    let mut server = Server::bind(ServerConfig {
        socket: socket.clone(),
        shm: ShmBacking::Dir(dir.clone()),
        size: SHM_SIZE,
        vectors,
        verbose: false,
    })
    .unwrap();
    let stop = AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        s.spawn(|| server.run(|| stop.load(Ordering::Relaxed)).unwrap());
        // Stops the server even if `f` panics (or the scope would wait
        // for it forever).
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stop = Stop(&stop);
        let connect = || Client::connect_with_vectors(&socket, vectors).unwrap();
        let (mut a, b) = (connect(), connect());
        while !a.peers().contains(&b.id()) {
            a.poll_events().unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        f(a, b)
    });
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_check_and_errors_say_why() {
        let mut m = Vec::new();
        for seq in [0, 1, 77, 1_000_000] {
            make_message(3, seq, &mut m);
            assert!(m.len() >= 16 && m.len() <= MAX_MESSAGE);
            check_message(3, seq, &m).unwrap();
        }
        make_message(3, 5, &mut m);
        assert!(check_message(3, 6, &m).unwrap_err().contains("duplicate"));
        assert!(check_message(3, 4, &m).unwrap_err().contains("lost"));
        assert!(check_message(2, 5, &m).unwrap_err().contains("ring 3"));
        let mid = m.len() / 2;
        m[mid] ^= 1;
        assert!(check_message(3, 5, &m).unwrap_err().contains("checksum"));
    }

    #[test]
    fn plans_parse_and_bad_ones_are_refused() {
        let a = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let p = Plan::parse(&a("--send 0:10:3 --recv 1:20:4 --progress 5")).unwrap();
        assert_eq!(
            p.send,
            vec![SendSpec {
                slot: 0,
                count: 10,
                notify: Some(3)
            }]
        );
        assert_eq!(
            p.recv,
            vec![RecvSpec {
                slot: 1,
                count: 20,
                notify: Some(4)
            }]
        );
        let p = Plan::parse(&a("--recv 1:2 --pause 2500")).unwrap();
        assert_eq!(p.recv[0].notify, None);
        assert_eq!(p.pause, Duration::from_micros(2500));
        assert!(Plan::parse(&a("--send 0"))
            .unwrap_err()
            .contains("SLOT:COUNT"));
        assert!(Plan::parse(&a("--recv 0:1:2:3"))
            .unwrap_err()
            .contains("--recv 0:1:2:3: expected SLOT:COUNT[:PEER]"));
        assert!(Plan::parse(&a("--recv 9:1"))
            .unwrap_err()
            .contains("outside"));
        assert!(Plan::parse(&a("--send x:1"))
            .unwrap_err()
            .contains("slot `x`"));
    }

    /// Counts rings; its wait never sleeps and reports a ring if one came.
    #[derive(Default)]
    struct Counting {
        rung: u64,
    }
    impl Doorbell for Counting {
        type Error = NoError;
        fn id(&self) -> u16 {
            0
        }
        fn ring(&mut self, _: u16, _: u32) -> Result<(), NoError> {
            self.rung += 1;
            Ok(())
        }
        fn wait(&mut self, _: u32, _: Option<Duration>) -> Result<bool, NoError> {
            Ok(std::mem::take(&mut self.rung) > 0)
        }
    }
    impl Peer for Counting {
        fn vectors(&self) -> Option<u32> {
            Some(VECTORS)
        }
    }

    #[test]
    fn one_peer_sends_to_itself_through_a_fake_memory() {
        let io = hal_core::fake::FakeIo::new(SHM_SIZE as usize);
        create_slots(&io, &[0, 1]).unwrap();
        let plan = Plan {
            send: vec![
                SendSpec {
                    slot: 0,
                    count: 3000,
                    notify: Some(1),
                },
                SendSpec {
                    slot: 1,
                    count: 10,
                    notify: None,
                },
            ],
            recv: vec![
                RecvSpec {
                    slot: 0,
                    count: 3000,
                    notify: Some(1),
                },
                RecvSpec {
                    slot: 1,
                    count: 10,
                    notify: None,
                },
            ],
            progress_every: 0,
            pause: Duration::ZERO,
        };
        let r = exchange(
            &io,
            &plan,
            &mut Counting::default(),
            Duration::from_secs(60),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!((r.sent, r.received), (3010, 3010));
        assert!(r.rings > 0);
        // A receiver expecting more than was sent times out, saying so.
        let plan = Plan {
            recv: vec![RecvSpec {
                slot: 1,
                count: 1,
                notify: None,
            }],
            ..Plan::default()
        };
        let e = exchange(
            &io,
            &plan,
            &mut Counting::default(),
            Duration::from_millis(50),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(e.contains("ring 1: received 0/1"), "{e}");
    }

    /// Two host peers (ivshmem clients of a server in this process) in
    /// two threads, one sending and one receiving checked messages, twice:
    /// a slow sender (20 ms pause per batch), so the receiver sleeps on its
    /// data vector, then a slow receiver (20 ms per round), so the sender
    /// finds the ring full (5000 messages, about 20 times the ring) and
    /// sleeps on its space vector. Each sleeper is woken by the other's
    /// doorbell: waits that timed out (nobody rang) are rare.
    #[test]
    fn two_host_peers_sleep_in_both_directions() {
        let pause = Duration::from_millis(20);
        let run = |n: u64, sender_pause, receiver_pause| {
            with_two_clients("ring-wait", VECTORS, |mut a, mut b| {
                let shm_a = crate::ivshmem_vm::map_shared(&a).unwrap();
                let shm_b = crate::ivshmem_vm::map_shared(&b).unwrap();
                create_slots(&shm_a, &[0]).unwrap();
                // Through the parser, as `vm-guest ring-peer` gets them.
                let plan = |stream: &str, peer: u16, pause: Duration| {
                    let us = pause.as_micros().to_string();
                    let args = [stream, &format!("0:{n}:{peer}"), "--pause", &us];
                    Plan::parse(&args.map(String::from)).unwrap()
                };
                let sender = plan("--send", b.id(), sender_pause);
                let receiver = plan("--recv", a.id(), receiver_pause);
                let limit = Duration::from_secs(120);
                let (t, r) = std::thread::scope(|s| {
                    let r = s.spawn(|| exchange(&shm_b, &receiver, &mut b, limit, &mut |_| {}));
                    let t = exchange(&shm_a, &sender, &mut a, limit, &mut |_| {});
                    (t.unwrap(), r.join().unwrap().unwrap())
                });
                eprintln!("sender: {}\nreceiver: {}", t.summary(), r.summary());
                assert_eq!((t.sent, r.received), (n, n));
                assert!(
                    t.timeouts * 4 <= t.wakeups && r.timeouts * 4 <= r.wakeups,
                    "waits timed out: doorbells were lost or never rung: {}; {}",
                    t.summary(),
                    r.summary()
                );
                (t, r)
            })
        };
        let (_, r) = run(2000, pause, Duration::ZERO);
        assert!(r.wakeups > 0, "the receiver never slept: {}", r.summary());
        let (t, _) = run(5000, Duration::ZERO, pause);
        assert!(
            t.space_waits > 0,
            "the ring was never full: {}",
            t.summary()
        );
        assert!(t.wakeups > 0, "the sender was never woken: {}", t.summary());
    }
}
