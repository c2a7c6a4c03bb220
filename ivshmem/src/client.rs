//! The client: connects to a server (ours or any that speaks the ivshmem
//! protocol), maps the shared memory and rings and waits on doorbells.
//!
//! ```no_run
//! use ivshmem::client::{Client, PeerEvent};
//! use std::time::Duration;
//! let mut c = Client::connect("/tmp/ivshmem_socket".as_ref())?;
//! println!("I am peer {} of {:?}", c.id(), c.peers());
//! c.region().try_write32(0, 0x1234_5678)?;      // the shared memory
//! for p in c.peers() {
//!     c.ring(p, 0)?;                               // their vector 0
//! }
//! if c.wait(0, Some(Duration::from_secs(1)))? {    // my vector 0
//!     println!("someone rang");
//! }
//! for e in c.poll_events()? {
//!     match e {
//!         PeerEvent::Joined(id) => println!("peer {id} joined"),
//!         PeerEvent::Left(id) => println!("peer {id} left"),
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use hal_core::poll::Deadline;
use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hal_core::{MapError, MemoryKind, Region};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags};

use crate::protocol::{
    self, Message, Received, WireError, MAX_VECTORS, PROTOCOL_VERSION, SHM_MESSAGE,
};

/// A change in the set of peers, from [`Client::poll_events`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerEvent {
    /// A peer with this ID connected; all its eventfds (as many as this
    /// client has vectors) are known from now on.
    Joined(u16),
    /// The peer with this ID disconnected or died; its ID is not reused
    /// while the server runs (a peer that comes back gets a new one).
    Left(u16),
}

/// What went wrong on the client side.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be reached.
    #[error("connecting to the ivshmem server at {}: {error} (is ivshmem-server running with -S {}?)", path.display(), path.display())]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
    /// A system call failed.
    #[error("{what}: {error}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        error: io::Error,
    },
    /// The server sent something the protocol does not allow.
    #[error("the ivshmem server broke the protocol: {0}")]
    Protocol(String),
    /// The shared memory could not be mapped (the message names it).
    #[error(transparent)]
    Map(#[from] MapError),
    /// The server closed the connection.
    #[error("the ivshmem server closed the connection (it stopped or dropped this client)")]
    ServerGone,
    /// No peer has this ID.
    #[error("no peer {peer} (connected peers: {known:?}; this client is {me})")]
    UnknownPeer {
        /// The ID asked for.
        peer: u16,
        /// The IDs known.
        known: Vec<u16>,
        /// This client's ID.
        me: u16,
    },
    /// The peer (or this client) has no such vector.
    #[error("peer {peer} has no vector {vector} (it has {vectors}: 0 to {})", vectors.saturating_sub(1))]
    NoSuchVector {
        /// The peer.
        peer: u16,
        /// The vector asked for.
        vector: u32,
        /// How many it has.
        vectors: u32,
    },
}

fn wire(what: &str) -> impl FnOnce(WireError) -> ClientError + '_ {
    move |e| match e {
        WireError::Io(errno) => ClientError::Io {
            what: what.to_string(),
            error: io::Error::from(errno),
        },
        other => ClientError::Protocol(format!("{what}: {other}")),
    }
}

/// How long [`Client::connect`] waits for more of its own vectors when it
/// cannot tell their number from the peers it was told about (it is the
/// first peer): the server sends the whole greeting at once, so this only
/// ends the greeting, it does not pace it.
const GREETING_GRACE: Duration = Duration::from_millis(100);

/// How long [`Client::poll_events`] waits for the rest of a newcomer's
/// eventfds once the first has come (the server sends them back to back).
const ANNOUNCEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to an ivshmem server: see the [module documentation](self).
#[derive(Debug)]
pub struct Client {
    socket: UnixStream,
    id: u16,
    memory: OwnedFd,
    region: Region,
    own: Vec<OwnedFd>,
    peers: BTreeMap<u16, Vec<OwnedFd>>,
    /// Events read while finishing the greeting, or a departure
    /// announcement that ended it, not yet returned.
    pending: VecDeque<PeerEvent>,
    /// The server closed the connection (reported once the events before
    /// it were returned).
    gone: bool,
}

fn receive(socket: &UnixStream, what: &str) -> Result<Message, ClientError> {
    match protocol::recv(socket.as_fd(), false).map_err(wire(what))? {
        Received::Message(m) => Ok(m),
        Received::Eof | Received::WouldBlock => Err(ClientError::ServerGone),
    }
}

fn peer_id(value: i64, what: &str) -> Result<u16, ClientError> {
    u16::try_from(value).map_err(|_| {
        ClientError::Protocol(format!("{what}: {value} is not a peer ID (0 to 65535)"))
    })
}

/// Waits up to `timeout` (forever if `None`) for `fd` to become readable.
fn wait_readable(
    fd: BorrowedFd<'_>,
    timeout: Option<Duration>,
    what: &str,
) -> Result<bool, ClientError> {
    let deadline = Deadline::after(timeout);
    loop {
        let t = hal_core::poll::syscall_timeout(deadline.remaining());
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut fds, t) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(Errno::EINTR) => {
                if deadline.passed() {
                    return Ok(false);
                }
            }
            Err(e) => {
                return Err(ClientError::Io {
                    what: what.to_string(),
                    error: e.into(),
                })
            }
        }
    }
}

impl Client {
    /// Connects to the server listening on `socket`, receives the greeting
    /// (protocol version, this client's ID, the shared memory, every peer's
    /// eventfds and its own) and maps the memory.
    ///
    /// The protocol does not say how many vectors each peer has; the
    /// client counts them: from the first peer's eventfds if there are
    /// peers, otherwise by waiting briefly (100 ms) for more of its own
    /// after the last one. Use
    /// [`connect_with_vectors`](Client::connect_with_vectors) when the
    /// number is known.
    pub fn connect(socket: &Path) -> Result<Client, ClientError> {
        Client::connect_inner(socket, None)
    }

    /// [`connect`](Client::connect) for a server known to give `vectors`
    /// vectors per peer: the greeting ends after exactly that many of the
    /// client's own eventfds (no waiting), and a server that gives a
    /// different number is an error.
    pub fn connect_with_vectors(socket: &Path, vectors: u32) -> Result<Client, ClientError> {
        if vectors == 0 || vectors > MAX_VECTORS {
            return Err(ClientError::Protocol(format!(
                "{vectors} vectors expected: a server gives 1 to {MAX_VECTORS}"
            )));
        }
        Client::connect_inner(socket, Some(vectors))
    }

    fn connect_inner(path: &Path, expected: Option<u32>) -> Result<Client, ClientError> {
        let socket = UnixStream::connect(path).map_err(|error| ClientError::Connect {
            path: path.into(),
            error,
        })?;
        let m = receive(&socket, "receiving the protocol version")?;
        if m.value != PROTOCOL_VERSION || m.fd.is_some() {
            return Err(ClientError::Protocol(format!(
                "protocol version {} (expected {PROTOCOL_VERSION}, without a descriptor)",
                m.value
            )));
        }
        let m = receive(&socket, "receiving this client's ID")?;
        if m.fd.is_some() {
            return Err(ClientError::Protocol(
                "the ID message carried a descriptor".into(),
            ));
        }
        let id = peer_id(m.value, "this client's ID")?;
        let m = receive(&socket, "receiving the shared memory")?;
        let memory = match (m.value, m.fd) {
            (SHM_MESSAGE, Some(fd)) => fd,
            (v, fd) => {
                return Err(ClientError::Protocol(format!(
                    "expected the shared memory (-1 with a descriptor), got {v} {} a descriptor",
                    if fd.is_some() { "with" } else { "without" }
                )))
            }
        };

        let mut peers: BTreeMap<u16, Vec<OwnedFd>> = BTreeMap::new();
        let mut order: Vec<u16> = Vec::new();
        let mut own: Vec<OwnedFd> = Vec::new();
        let mut pending = VecDeque::new();
        let mut leftover: Option<Message> = None;
        loop {
            // The number of vectors, once known: given, or that of the
            // first peer once its run of eventfds has ended.
            let from_peers = (order.len() >= 2 || (!order.is_empty() && !own.is_empty()))
                .then(|| peers[&order[0]].len() as u32);
            if let (Some(n), Some(p)) = (expected, from_peers) {
                if n != p {
                    return Err(ClientError::Protocol(format!(
                        "peer {} has {p} vectors, {n} expected",
                        order[0]
                    )));
                }
            }
            let known = expected.or(from_peers);
            if known.is_some_and(|n| own.len() as u32 >= n) {
                break;
            }
            if !own.is_empty()
                && known.is_none()
                && !wait_readable(
                    socket.as_fd(),
                    Some(GREETING_GRACE),
                    "waiting for the rest of the greeting",
                )?
            {
                break;
            }
            let m = receive(&socket, "receiving the peers' eventfds")?;
            let p = peer_id(m.value, "a peer's eventfd")?;
            if !own.is_empty() && p != id {
                // The greeting is over: this is news about another peer.
                leftover = Some(m);
                break;
            }
            let Some(fd) = m.fd else {
                return Err(ClientError::Protocol(format!(
                    "peer {p} announced without an eventfd during the greeting"
                )));
            };
            if p == id {
                own.push(fd);
            } else {
                if !peers.contains_key(&p) {
                    order.push(p);
                }
                peers.entry(p).or_default().push(fd);
            }
        }
        if let Some(n) = expected.filter(|&n| n as usize != own.len()) {
            return Err(ClientError::Protocol(format!(
                "{} own vectors received, {n} expected",
                own.len()
            )));
        }
        let len = nix::sys::stat::fstat(&memory)
            .map_err(|e| ClientError::Io {
                what: "finding the shared memory's size (fstat)".into(),
                error: e.into(),
            })?
            .st_size;
        let len = usize::try_from(len)
            .map_err(|_| ClientError::Protocol(format!("the shared memory's size is {len}")))?;
        let region = Region::map_shared_as(
            MemoryKind::Ram,
            &memory,
            0,
            0,
            len,
            format!("ivshmem shared memory ({})", path.display()),
        )?;
        let mut client = Client {
            socket,
            id,
            memory,
            region,
            own,
            peers,
            pending: VecDeque::new(),
            gone: false,
        };
        if let Some(m) = leftover {
            client.handle(m, &mut pending)?;
        }
        client.pending = pending;
        Ok(client)
    }

    /// This client's peer ID.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The number of interrupt vectors (eventfds) this client has.
    pub fn vectors(&self) -> u32 {
        self.own.len() as u32
    }

    /// The shared memory, mapped `MAP_SHARED` ([`MemoryKind::Ram`]): every
    /// peer's writes are visible here (publish data with `Release` and read
    /// it with `Acquire`, see `hal_core::order`).
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// The shared memory's descriptor (for passing on, or mapping again).
    pub fn memory_fd(&self) -> BorrowedFd<'_> {
        self.memory.as_fd()
    }

    /// The IDs of the other connected peers, in ascending order, as known
    /// from the last [`poll_events`](Client::poll_events) (or the greeting).
    pub fn peers(&self) -> Vec<u16> {
        self.peers.keys().copied().collect()
    }

    /// How many vectors a peer (or this client) has.
    pub fn peer_vectors(&self, peer: u16) -> Result<u32, ClientError> {
        Ok(self.fds_of(peer)?.len() as u32)
    }

    fn fds_of(&self, peer: u16) -> Result<&[OwnedFd], ClientError> {
        if peer == self.id {
            return Ok(&self.own);
        }
        self.peers
            .get(&peer)
            .map(Vec::as_slice)
            .ok_or_else(|| ClientError::UnknownPeer {
                peer,
                known: self.peers(),
                me: self.id,
            })
    }

    fn vector_of(&self, peer: u16, vector: u32) -> Result<BorrowedFd<'_>, ClientError> {
        let fds = self.fds_of(peer)?;
        fds.get(vector as usize)
            .map(AsFd::as_fd)
            .ok_or(ClientError::NoSuchVector {
                peer,
                vector,
                vectors: fds.len() as u32,
            })
    }

    /// Rings `peer`'s `vector` (adds 1 to its eventfd). The peer may be this
    /// client itself. A VM on the other end gets an MSI-X interrupt, if its
    /// driver enabled MSI-X.
    pub fn ring(&self, peer: u16, vector: u32) -> Result<(), ClientError> {
        let fd = self.vector_of(peer, vector)?;
        loop {
            match nix::unistd::write(fd, &1u64.to_ne_bytes()) {
                Ok(_) => return Ok(()),
                Err(Errno::EINTR) => continue,
                Err(e) => {
                    return Err(ClientError::Io {
                        what: format!("ringing peer {peer} vector {vector} (eventfd write)"),
                        error: e.into(),
                    })
                }
            }
        }
    }

    /// Waits until this client's `vector` is rung, at most `timeout`
    /// (`None`: forever). Returns true if it was (and consumes the
    /// notifications: several rings before the wait count as one), false
    /// on timeout.
    pub fn wait(&self, vector: u32, timeout: Option<Duration>) -> Result<bool, ClientError> {
        let fd = self.vector_of(self.id, vector)?;
        let deadline = Deadline::after(timeout);
        loop {
            if !wait_readable(fd, deadline.remaining(), "waiting for a doorbell (poll)")? {
                return Ok(false);
            }
            let mut buf = [0u8; 8];
            match nix::unistd::read(fd, &mut buf) {
                Ok(_) => return Ok(true),
                // The eventfds are non-blocking: someone else drained it.
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
                Err(e) => {
                    return Err(ClientError::Io {
                        what: format!("reading the eventfd of vector {vector}"),
                        error: e.into(),
                    })
                }
            }
        }
    }

    /// The eventfd of this client's `vector`, for an event loop (readable
    /// when rung; read 8 bytes to consume).
    ///
    /// # Panics
    ///
    /// If `vector >= self.vectors()`, like slice indexing; use
    /// [`try_vector_fd`](Client::try_vector_fd) for an error instead.
    pub fn vector_fd(&self, vector: u32) -> BorrowedFd<'_> {
        match self.try_vector_fd(vector) {
            Ok(fd) => fd,
            Err(e) => panic!("{e}"),
        }
    }

    /// The eventfd of this client's `vector`, or an error if it has no such
    /// vector.
    pub fn try_vector_fd(&self, vector: u32) -> Result<BorrowedFd<'_>, ClientError> {
        self.vector_of(self.id, vector)
    }

    /// The connection to the server, for an event loop: readable when the
    /// server has news (then call [`poll_events`](Client::poll_events)).
    pub fn server_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// Processes what the server has sent since the last call, without
    /// blocking: arrivals and departures of peers, in order. Returns
    /// [`ClientError::ServerGone`] once the server has closed the
    /// connection (after the events that came before it).
    pub fn poll_events(&mut self) -> Result<Vec<PeerEvent>, ClientError> {
        let mut events: VecDeque<PeerEvent> = std::mem::take(&mut self.pending);
        while !self.gone {
            // A newcomer's eventfds come back to back: once its first is
            // here, wait for the rest, so that `Joined` means every vector
            // can be rung.
            let partial = self
                .peers
                .iter()
                .find(|(_, fds)| fds.len() < self.own.len());
            if let Some((&p, fds)) = partial {
                let have = fds.len();
                if !wait_readable(
                    self.socket.as_fd(),
                    Some(ANNOUNCEMENT_TIMEOUT),
                    "waiting for a newcomer's eventfds",
                )? {
                    return Err(ClientError::Protocol(format!(
                        "peer {p} was announced with {have} of {} vectors, and the rest did not come within {:?}",
                        self.own.len(),
                        ANNOUNCEMENT_TIMEOUT
                    )));
                }
            }
            match protocol::recv(self.socket.as_fd(), partial.is_none())
                .map_err(wire("receiving news from the server"))?
            {
                Received::WouldBlock => break,
                Received::Eof => self.gone = true,
                Received::Message(m) => self.handle(m, &mut events)?,
            }
        }
        if self.gone && events.is_empty() {
            return Err(ClientError::ServerGone);
        }
        Ok(events.into())
    }

    /// Applies one message received after the greeting.
    fn handle(&mut self, m: Message, events: &mut VecDeque<PeerEvent>) -> Result<(), ClientError> {
        let p = peer_id(m.value, "news about a peer")?;
        match m.fd {
            // More of this client's own vectors (a greeting that outlasted
            // the wait in `connect`).
            Some(fd) if p == self.id => self.own.push(fd),
            Some(fd) => {
                let n = self.own.len();
                let fds = self.peers.entry(p).or_default();
                fds.push(fd);
                if fds.len() == n {
                    events.push_back(PeerEvent::Joined(p));
                }
            }
            None if p == self.id => {
                return Err(ClientError::Protocol(format!(
                    "told that this client (peer {p}) left"
                )))
            }
            None => match self.peers.remove(&p) {
                Some(_) => events.push_back(PeerEvent::Left(p)),
                None => {
                    return Err(ClientError::Protocol(format!(
                        "told that peer {p} left, but it was not connected (peers: {:?})",
                        self.peers()
                    )))
                }
            },
        }
        Ok(())
    }
}

impl AsFd for Client {
    /// The connection to the server (as [`server_fd`](Client::server_fd)).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.server_fd()
    }
}
