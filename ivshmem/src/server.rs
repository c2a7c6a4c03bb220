//! The server: creates the shared memory, listens on a UNIX socket, gives
//! each client an ID, the memory and every peer's eventfds, and tells the
//! others when a peer comes and goes.
//!
//! ```no_run
//! use ivshmem::server::{Server, ServerConfig, ShmBacking};
//! let config = ServerConfig {
//!     socket: "/tmp/ivshmem_socket".into(),
//!     shm: ShmBacking::Posix("ivshmem".into()),
//!     size: 4 << 20,
//!     vectors: 2,
//!     verbose: true,
//! };
//! let mut server = Server::bind(config)?;
//! server.serve_until_signal()?; // SIGINT or SIGTERM: socket and memory removed
//! # Ok::<(), ivshmem::server::ServerError>(())
//! ```

use std::io::{self, ErrorKind, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::stat::Mode;

use crate::protocol::{self, WireError, MAX_PEER_ID, MAX_VECTORS, PROTOCOL_VERSION, SHM_MESSAGE};

/// Where the shared memory lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShmBacking {
    /// A POSIX shared-memory object (`shm_open`), seen as `/dev/shm/NAME`.
    /// The name may be given with or without its leading `/`. The server
    /// creates it (refusing one that exists) and removes it when it stops.
    Posix(String),
    /// A file created in this directory and unlinked at once (for example
    /// on a hugetlbfs mount): nothing is left behind, even after a crash.
    Dir(PathBuf),
}

/// What [`Server::bind`] needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The UNIX socket to listen on.
    pub socket: PathBuf,
    /// Where the shared memory lives.
    pub shm: ShmBacking,
    /// The shared memory's size in bytes: a power of two (ivshmem's BAR2
    /// must be one; QEMU aborts on any other size).
    pub size: u64,
    /// Interrupt vectors (eventfds) per peer, 1 to [`MAX_VECTORS`].
    pub vectors: u32,
    /// Print a line on standard error for every event (joins, departures,
    /// errors of single peers).
    pub verbose: bool,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The size is not a power of two.
    #[error(
        "shared memory size {size} ({size:#x}) is not a power of two: ivshmem maps it as a PCI BAR, \
         whose size must be one (QEMU aborts otherwise); use e.g. 1M, 4M or 64M"
    )]
    SizeNotPowerOfTwo {
        /// The size given.
        size: u64,
    },
    /// The number of vectors is 0 or too large.
    #[error("{vectors} interrupt vectors per peer: give 1 to {MAX_VECTORS}")]
    BadVectors {
        /// The number given.
        vectors: u32,
    },
    /// The POSIX shared-memory name is not usable.
    #[error("shared memory name {name:?}: {why}")]
    BadShmName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A server answers on the socket already.
    #[error(
        "{}: another server is listening on this socket; stop it first or choose another path (-S)",
        path.display()
    )]
    SocketInUse {
        /// The socket path.
        path: PathBuf,
    },
    /// Something that is not a socket is in the way.
    #[error("{}: exists and is not a socket; not removing it: choose another path (-S)", path.display())]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// The shared-memory object exists already.
    #[error(
        "shared memory object {name} (/dev/shm/{}) exists already: another server's, or left \
         by one that was killed; remove it (rm /dev/shm/{}) or choose another name (-M)",
        name.trim_start_matches('/'), name.trim_start_matches('/')
    )]
    ShmExists {
        /// The name.
        name: String,
    },
    /// A system call on the socket, the memory or the poll loop failed.
    #[error("{what}: {error}")]
    Io {
        /// What was being done, on what.
        what: String,
        /// The error.
        error: io::Error,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ServerError {
    let what = what.into();
    move |error| ServerError::Io { what, error }
}

fn errno_err(what: impl Into<String>) -> impl FnOnce(Errno) -> ServerError {
    let what = what.into();
    move |e| ServerError::Io {
        what,
        error: io::Error::from(e),
    }
}

/// Parses a size the way QEMU's tools write them: a number of bytes with an
/// optional binary suffix `K`, `M`, `G` or `T` (case-insensitive, an
/// optional trailing `B` or `iB`), or a `0x` hexadecimal number.
///
/// ```
/// assert_eq!(ivshmem::server::parse_size("4M"), Ok(4 << 20));
/// assert_eq!(ivshmem::server::parse_size("0x1000"), Ok(4096));
/// assert!(ivshmem::server::parse_size("4X").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).map_err(|e| format!("size {text:?}: {e}"));
    }
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits);
    let n: u64 = num.parse().map_err(|_| {
        format!("size {text:?}: expected a number of bytes, e.g. 4194304, 4M or 1G")
    })?;
    let unit = suffix.to_ascii_lowercase();
    let unit = unit.trim_end_matches("ib").trim_end_matches('b');
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => {
            return Err(format!(
                "size {text:?}: unknown suffix {suffix:?}; use K, M, G or T"
            ))
        }
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("size {text:?} does not fit in 64 bits"))
}

/// The shared memory, owned by the server.
#[derive(Debug)]
struct Shm {
    fd: OwnedFd,
    /// The POSIX name to `shm_unlink` on drop (`None` for a directory
    /// file, which is unlinked at creation).
    posix: Option<String>,
}

impl Shm {
    fn create(backing: &ShmBacking, size: u64) -> Result<Shm, ServerError> {
        let len = i64::try_from(size).map_err(|_| ServerError::SizeNotPowerOfTwo { size })?;
        let shm = match backing {
            ShmBacking::Posix(name) => {
                let bare = name.strip_prefix('/').unwrap_or(name);
                let why = if bare.is_empty() {
                    Some("empty")
                } else if bare.contains('/') {
                    Some("a POSIX shared-memory name has no '/' after the first character")
                } else if bare == "." || bare == ".." {
                    Some("not a name")
                } else if bare.len() > 255 {
                    Some("longer than 255 bytes")
                } else {
                    None
                };
                if let Some(why) = why {
                    return Err(ServerError::BadShmName {
                        name: name.clone(),
                        why,
                    });
                }
                let full = format!("/{bare}");
                let fd = nix::sys::mman::shm_open(
                    full.as_str(),
                    OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR | OFlag::O_CLOEXEC,
                    Mode::S_IRUSR | Mode::S_IWUSR,
                )
                .map_err(|e| match e {
                    Errno::EEXIST => ServerError::ShmExists { name: full.clone() },
                    e => errno_err(format!("creating shared memory object {full} (shm_open)"))(e),
                })?;
                Shm {
                    fd,
                    posix: Some(full),
                }
            }
            ShmBacking::Dir(dir) => {
                let template = dir.join("ivshmem.XXXXXX");
                let (fd, path) = nix::unistd::mkstemp(&template).map_err(errno_err(format!(
                    "creating the shared memory file in {} (mkstemp)",
                    dir.display()
                )))?;
                std::fs::remove_file(&path)
                    .map_err(io_err(format!("unlinking {}", path.display())))?;
                Shm { fd, posix: None }
            }
        };
        nix::unistd::ftruncate(&shm.fd, len).map_err(errno_err(format!(
            "sizing the shared memory to {size} bytes (ftruncate)"
        )))?;
        Ok(shm)
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        if let Some(name) = &self.posix {
            // Nothing to do if it is gone already.
            let _ = nix::sys::mman::shm_unlink(name.as_str());
        }
    }
}

/// One connected client.
#[derive(Debug)]
struct Peer {
    id: u16,
    stream: UnixStream,
    /// Its eventfds, one per vector.
    vectors: Vec<OwnedFd>,
}

/// How long a send to one client may block before that client is dropped
/// (a client that never reads its socket must not stall the others).
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// The server's poll interval when it has to check a stop condition.
const STOP_POLL: Duration = Duration::from_millis(50);

/// A bound server: see the [module documentation](self).
///
/// Dropping it closes every connection and removes the socket and the
/// POSIX shared-memory object.
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    listener: UnixListener,
    /// The socket's (device, inode), so that drop removes only our socket.
    socket_id: (u64, u64),
    shm: Shm,
    peers: Vec<Peer>,
    /// The next ID to try (IDs grow; none is reused while its peer lives).
    next_id: u32,
}

/// Whether something answers on `path` (a live server); removes a stale
/// socket; refuses anything that is not a socket.
fn claim_socket_path(path: &Path) -> Result<(), ServerError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(format!("inspecting {}", path.display()))(e)),
    };
    if !meta.file_type().is_socket() {
        return Err(ServerError::NotASocket { path: path.into() });
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(ServerError::SocketInUse { path: path.into() }),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => std::fs::remove_file(path).map_err(
            io_err(format!("removing the stale socket {}", path.display())),
        ),
        Err(e) => Err(io_err(format!(
            "checking whether a server answers on {}",
            path.display()
        ))(e)),
    }
}

impl Server {
    /// Checks the configuration, creates the shared memory and starts
    /// listening.
    ///
    /// Refuses a socket path on which a server answers, and anything there
    /// that is not a socket; removes a stale socket (one nobody listens on).
    pub fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        if !config.size.is_power_of_two() {
            return Err(ServerError::SizeNotPowerOfTwo { size: config.size });
        }
        if config.vectors == 0 || config.vectors > MAX_VECTORS {
            return Err(ServerError::BadVectors {
                vectors: config.vectors,
            });
        }
        claim_socket_path(&config.socket)?;
        let shm = Shm::create(&config.shm, config.size)?;
        let listener = UnixListener::bind(&config.socket)
            .map_err(io_err(format!("listening on {}", config.socket.display())))?;
        let meta = std::fs::symlink_metadata(&config.socket)
            .map_err(io_err(format!("inspecting {}", config.socket.display())))?;
        Ok(Server {
            socket_id: (meta.dev(), meta.ino()),
            config,
            listener,
            shm,
            peers: Vec::new(),
            next_id: 0,
        })
    }

    /// The configuration it was bound with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The IDs of the connected peers, in the order they joined.
    pub fn peers(&self) -> Vec<u16> {
        self.peers.iter().map(|p| p.id).collect()
    }

    /// Where the shared memory can be seen in the file system:
    /// `/dev/shm/NAME` for a POSIX object, `None` for a directory-backed
    /// file (unlinked at creation).
    pub fn shm_path(&self) -> Option<PathBuf> {
        self.shm
            .posix
            .as_ref()
            .map(|n| Path::new("/dev/shm").join(n.trim_start_matches('/')))
    }

    /// The line the `ivshmem-server` command prints once it listens.
    pub fn listening_line(&self) -> String {
        let shm = match &self.config.shm {
            ShmBacking::Posix(n) => format!("shm {}", n),
            ShmBacking::Dir(d) => format!("shm file in {}", d.display()),
        };
        format!(
            "ivshmem-server: listening on {} ({shm}, {} bytes, {} vectors)",
            self.config.socket.display(),
            self.config.size,
            self.config.vectors
        )
    }

    fn log(&self, line: std::fmt::Arguments<'_>) {
        if self.config.verbose {
            let _ = writeln!(io::stderr(), "ivshmem-server: {line}");
        }
    }

    /// Serves clients until `stop()` returns true (checked every 50 ms and
    /// after every event).
    pub fn run(&mut self, stop: impl Fn() -> bool) -> Result<(), ServerError> {
        self.serve(None, stop)
    }

    /// Serves clients until SIGINT or SIGTERM arrives; the signals are
    /// turned into bytes on a socket the poll loop watches (signal-hook's
    /// self-pipe), so no work runs in a signal handler. Returns `Ok` after
    /// a signal; the caller then drops the server, which removes the socket
    /// and the shared memory.
    ///
    /// The handlers stay installed (doing nothing) after it returns, so a
    /// later SIGINT/SIGTERM does not kill the process: drop the server and
    /// exit.
    pub fn serve_until_signal(&mut self) -> Result<(), ServerError> {
        let (wake, hook) = UnixStream::pair().map_err(io_err("creating the signal socket pair"))?;
        let mut ids = Vec::new();
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            let hook = hook
                .try_clone()
                .map_err(io_err("duplicating the signal socket"))?;
            ids.push(
                signal_hook::low_level::pipe::register(sig, hook)
                    .map_err(io_err(format!("installing the handler of signal {sig}")))?,
            );
        }
        let result = self.serve(Some(wake.as_fd()), || false);
        for id in ids {
            signal_hook::low_level::unregister(id);
        }
        result
    }

    /// The poll loop: the listener, every peer and, if given, a descriptor
    /// whose readability means "stop".
    fn serve(
        &mut self,
        wake: Option<BorrowedFd<'_>>,
        stop: impl Fn() -> bool,
    ) -> Result<(), ServerError> {
        loop {
            if stop() {
                return Ok(());
            }
            let timeout = if wake.is_some() {
                PollTimeout::NONE
            } else {
                PollTimeout::try_from(STOP_POLL).unwrap_or(PollTimeout::MAX)
            };
            let (listener_ready, wake_ready, peer_ready) = {
                let mut fds = Vec::with_capacity(self.peers.len() + 2);
                fds.push(PollFd::new(self.listener.as_fd(), PollFlags::POLLIN));
                if let Some(w) = wake {
                    fds.push(PollFd::new(w, PollFlags::POLLIN));
                }
                for p in &self.peers {
                    fds.push(PollFd::new(p.stream.as_fd(), PollFlags::POLLIN));
                }
                match poll(&mut fds, timeout) {
                    Ok(_) => {}
                    Err(Errno::EINTR) => continue,
                    Err(e) => return Err(errno_err("waiting for clients (poll)")(e)),
                }
                let ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
                let skip = 1 + usize::from(wake.is_some());
                let peer_ready: Vec<u16> = self
                    .peers
                    .iter()
                    .zip(&fds[skip..])
                    .filter(|(_, f)| ready(f))
                    .map(|(p, _)| p.id)
                    .collect();
                (ready(&fds[0]), wake.is_some() && ready(&fds[1]), peer_ready)
            };
            if wake_ready {
                self.log(format_args!("signal received, stopping"));
                return Ok(());
            }
            for id in peer_ready {
                self.read_from_peer(id);
            }
            if listener_ready {
                self.accept_one()?;
            }
        }
    }

    /// A peer's socket is readable: EOF or an error means it left; the
    /// protocol has no client-to-server messages, so data is discarded.
    fn read_from_peer(&mut self, id: u16) {
        let Some(peer) = self.peers.iter().find(|p| p.id == id) else {
            return;
        };
        let mut buf = [0u8; 64];
        let gone = match nix::sys::socket::recv(
            std::os::fd::AsRawFd::as_raw_fd(&peer.stream),
            &mut buf,
            nix::sys::socket::MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(0) => Some("closed its connection".to_string()),
            Ok(_) | Err(Errno::EAGAIN) | Err(Errno::EINTR) => None,
            Err(e) => Some(format!("connection failed: {e}")),
        };
        if let Some(why) = gone {
            self.remove_peer(id, &why);
        }
    }

    /// Removes a peer (closing its socket and eventfds) and tells the
    /// others; a peer that cannot be told is removed too.
    fn remove_peer(&mut self, id: u16, why: &str) {
        let mut queue = vec![(id, why.to_string())];
        while let Some((id, why)) = queue.pop() {
            let Some(at) = self.peers.iter().position(|p| p.id == id) else {
                continue;
            };
            let peer = self.peers.remove(at);
            drop(peer);
            self.log(format_args!("peer {id} left ({why})"));
            for other in &self.peers {
                if let Err(e) = protocol::send(other.stream.as_fd(), i64::from(id), None) {
                    queue.push((
                        other.id,
                        format!("telling it that peer {id} left failed: {e}"),
                    ));
                }
            }
        }
    }

    /// The next free ID, or `None` if all 65536 are in use.
    fn allocate_id(&mut self) -> Option<u16> {
        let span = u32::from(MAX_PEER_ID) + 1;
        for i in 0..span {
            let candidate = ((self.next_id + i) % span) as u16;
            if self.peers.iter().all(|p| p.id != candidate) {
                self.next_id = (u32::from(candidate) + 1) % span;
                return Some(candidate);
            }
        }
        None
    }

    fn accept_one(&mut self) -> Result<(), ServerError> {
        let stream = match self.listener.accept() {
            Ok((s, _)) => s,
            Err(e) if matches!(e.kind(), ErrorKind::Interrupted | ErrorKind::WouldBlock) => {
                return Ok(())
            }
            // A client that went away before we accepted it, or a full fd
            // table: log it and keep serving the others.
            Err(e) => {
                self.log(format_args!("accepting a client failed: {e}"));
                return Ok(());
            }
        };
        let Some(id) = self.allocate_id() else {
            self.log(format_args!(
                "refusing a client: all 65536 peer IDs are in use"
            ));
            return Ok(());
        };
        if let Err(why) = self.admit(id, stream) {
            // Nobody was told about this ID: the next client gets it (a
            // second server probing whether this one is alive, for
            // example, does not use up an ID).
            self.next_id = u32::from(id);
            self.log(format_args!("a client could not join as peer {id}: {why}"));
        }
        Ok(())
    }

    /// Greets a new client and announces it to the others.
    fn admit(&mut self, id: u16, stream: UnixStream) -> Result<(), String> {
        stream
            .set_write_timeout(Some(SEND_TIMEOUT))
            .map_err(|e| format!("setting the send timeout: {e}"))?;
        let mut vectors = Vec::with_capacity(self.config.vectors as usize);
        for v in 0..self.config.vectors {
            let fd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
                .map_err(|e| format!("creating the eventfd of vector {v}: {e}"))?;
            vectors.push(OwnedFd::from(fd));
        }
        let greet = |s: BorrowedFd<'_>| -> Result<(), WireError> {
            protocol::send(s, PROTOCOL_VERSION, None)?;
            protocol::send(s, i64::from(id), None)?;
            protocol::send(s, SHM_MESSAGE, Some(self.shm.fd.as_fd()))?;
            for p in &self.peers {
                for fd in &p.vectors {
                    protocol::send(s, i64::from(p.id), Some(fd.as_fd()))?;
                }
            }
            for fd in &vectors {
                protocol::send(s, i64::from(id), Some(fd.as_fd()))?;
            }
            Ok(())
        };
        greet(stream.as_fd()).map_err(|e| format!("sending the greeting: {e}"))?;
        let mut failed = Vec::new();
        for p in &self.peers {
            for fd in &vectors {
                if let Err(e) = protocol::send(p.stream.as_fd(), i64::from(id), Some(fd.as_fd())) {
                    failed.push((
                        p.id,
                        format!("telling it that peer {id} joined failed: {e}"),
                    ));
                    break;
                }
            }
        }
        self.peers.push(Peer {
            id,
            stream,
            vectors,
        });
        self.log(format_args!("peer {id} joined"));
        for (other, why) in failed {
            self.remove_peer(other, &why);
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Remove the socket only if it is still ours (not one a later
        // server bound after ours was removed by hand).
        if let Ok(meta) = std::fs::symlink_metadata(&self.config.socket) {
            if (meta.dev(), meta.ino()) == self.socket_id {
                let _ = std::fs::remove_file(&self.config.socket);
            }
        }
        // The shared memory is unlinked by `Shm`'s drop.
    }
}
