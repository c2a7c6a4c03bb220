//! The server (the `ivshmem-server` command, and `Server` in a thread)
//! against the client library.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ivshmem::client::{Client, ClientError, PeerEvent};
use ivshmem::server::{parse_size, Server, ServerConfig, ServerError, ShmBacking};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

mod common;
use common::{next_events, shm_name, ServerProc, BIN};

/// Runs the server command with `args` and then `last`, expects it to
/// fail, and returns its standard error.
fn refused(args: &[&str], last: &Path) -> String {
    let out = Command::new(BIN).args(args).arg(last).output().unwrap();
    assert!(
        !out.status.success(),
        "ivshmem-server {args:?} {last:?} started"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Polls `f` until it holds (at most 10 s).
fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "not within 10 s: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ids_from_zero_memory_shared_and_doorbells_ring() {
    let server = ServerProc::start(2);
    let c0 = Client::connect(&server.socket).unwrap();
    let c1 = Client::connect(&server.socket).unwrap();
    let c2 = Client::connect(&server.socket).unwrap();
    assert_eq!([c0.id(), c1.id(), c2.id()], [0, 1, 2]);
    assert_eq!([c0.vectors(), c1.vectors(), c2.vectors()], [2, 2, 2]);
    assert_eq!(c2.peers(), vec![0, 1]);
    assert_eq!(c1.peer_vectors(0).unwrap(), 2);

    // One memory: what one writes, the others read.
    assert_eq!(c0.region().len(), 1 << 20);
    assert_eq!(c0.region().kind(), hal_core::MemoryKind::Ram);
    c0.region().try_write32(0x1000, 0xfeed_f00d).unwrap();
    c2.region()
        .try_write64(0xffff8, 0x0123_4567_89ab_cdef)
        .unwrap();
    assert_eq!(c1.region().try_read32(0x1000).unwrap(), 0xfeed_f00d);
    assert_eq!(
        c0.region().try_read64(0xffff8).unwrap(),
        0x0123_4567_89ab_cdef
    );

    // c2 knows c0 and c1 from the greeting and rings them.
    c2.ring(1, 0).unwrap();
    assert!(c1.wait(0, Some(Duration::from_secs(5))).unwrap());
    assert!(
        !c1.wait(0, Some(Duration::from_millis(20))).unwrap(),
        "a ring is consumed by one wait"
    );
    assert!(
        !c1.wait(1, Some(Duration::from_millis(20))).unwrap(),
        "vector 1 was not rung"
    );
    assert!(
        !c0.wait(0, Some(Duration::from_millis(20))).unwrap(),
        "c0 was not rung"
    );
    c2.ring(0, 1).unwrap();
    assert!(c0.wait(1, Some(Duration::from_secs(5))).unwrap());
    // A peer rings itself too.
    c2.ring(2, 1).unwrap();
    assert!(c2.wait(1, None).unwrap());
    // A timeout too long for a clock is no limit, not a panic.
    c2.ring(2, 1).unwrap();
    assert!(c2.wait(1, Some(Duration::MAX)).unwrap());

    // Wrong peer, wrong vector: errors that say what exists.
    let e = c2.ring(7, 0).unwrap_err();
    assert!(
        matches!(e, ClientError::UnknownPeer { peer: 7, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("connected peers: [0, 1]"), "{e}");
    let e = c2.ring(1, 2).unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::NoSuchVector {
                peer: 1,
                vector: 2,
                vectors: 2
            }
        ),
        "{e:?}"
    );
    assert!(matches!(
        c1.wait(5, None),
        Err(ClientError::NoSuchVector { vector: 5, .. })
    ));
    assert!(c1.try_vector_fd(2).is_err());
}

#[test]
fn vector_fd_is_readable_when_rung() {
    let server = ServerProc::start(1);
    let a = Client::connect_with_vectors(&server.socket, 1).unwrap();
    let b = Client::connect_with_vectors(&server.socket, 1).unwrap();
    let readable = |c: &Client, ms: u16| {
        let mut fds = [PollFd::new(c.vector_fd(0), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::from(ms)).unwrap() == 1
    };
    assert!(!readable(&a, 20));
    b.ring(0, 0).unwrap();
    assert!(readable(&a, 5000));
    // The event loop consumes the count by reading 8 bytes.
    let mut count = [0u8; 8];
    nix::unistd::read(a.vector_fd(0), &mut count).unwrap();
    assert_eq!(u64::from_ne_bytes(count), 1);
    assert!(!readable(&a, 20));
}

#[test]
fn connect_with_the_wrong_number_of_vectors_is_an_error() {
    let server = ServerProc::start(2);
    let _first = Client::connect(&server.socket).unwrap();
    let e = Client::connect_with_vectors(&server.socket, 1).unwrap_err();
    assert!(e.to_string().contains("expected"), "{e}");
    assert!(Client::connect_with_vectors(&server.socket, 0).is_err());
}

#[test]
fn arrivals_and_departures_are_announced_and_ids_not_reused() {
    let server = ServerProc::start(3);
    let mut c0 = Client::connect(&server.socket).unwrap();
    assert_eq!(c0.poll_events().unwrap(), vec![]);
    let c1 = Client::connect(&server.socket).unwrap();
    assert_eq!(next_events(&mut c0), vec![PeerEvent::Joined(1)]);
    // All of the newcomer's vectors come with the notice.
    assert_eq!(c0.peer_vectors(1).unwrap(), 3);
    c0.ring(1, 2).unwrap();
    assert!(c1.wait(2, Some(Duration::from_secs(5))).unwrap());
    // And the newcomer rings the old peer.
    c1.ring(0, 2).unwrap();
    assert!(c0.wait(2, Some(Duration::from_secs(5))).unwrap());

    drop(c1);
    assert_eq!(next_events(&mut c0), vec![PeerEvent::Left(1)]);
    assert_eq!(c0.peers(), Vec::<u16>::new());
    assert!(matches!(
        c0.ring(1, 0),
        Err(ClientError::UnknownPeer { peer: 1, .. })
    ));

    // Coming back gives a fresh ID.
    let c2 = Client::connect(&server.socket).unwrap();
    assert_eq!(c2.id(), 2);
    assert_eq!(c2.peers(), vec![0]);
    assert_eq!(next_events(&mut c0), vec![PeerEvent::Joined(2)]);
}

/// A client in another process, killed with SIGKILL while connected: the
/// others hear that it left and the server closes its descriptors.
#[test]
fn a_killed_client_is_announced_and_its_descriptors_freed() {
    let server = ServerProc::start(4);
    let mut c0 = Client::connect(&server.socket).unwrap();
    let baseline = server.open_fds();

    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "client_process_for_the_kill_test",
            "--ignored",
            "--nocapture",
        ])
        .env("IVSHMEM_TEST_SOCKET", &server.socket)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(helper.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("connected as ") {
        line.clear();
        assert_ne!(
            out.read_line(&mut line).unwrap(),
            0,
            "the helper ended before connecting"
        );
    }
    assert_eq!(line.trim(), "connected as 1");
    assert_eq!(next_events(&mut c0), vec![PeerEvent::Joined(1)]);
    // The server holds the helper's socket and its 4 eventfds now.
    assert_eq!(server.open_fds(), baseline + 5);

    helper.kill().unwrap(); // SIGKILL: no goodbye
    helper.wait().unwrap();
    assert_eq!(next_events(&mut c0), vec![PeerEvent::Left(1)]);
    eventually("the server's descriptors are back to the baseline", || {
        server.open_fds() == baseline
    });
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
}

/// Not a test: the client process `a_killed_client_is_announced_and_its_descriptors_freed`
/// starts (and kills).
#[test]
#[ignore = "run by a_killed_client_is_announced_and_its_descriptors_freed as a separate process"]
fn client_process_for_the_kill_test() {
    let socket = std::env::var_os("IVSHMEM_TEST_SOCKET").expect(
        "run by a_killed_client_is_announced_and_its_descriptors_freed, with IVSHMEM_TEST_SOCKET",
    );
    let c = Client::connect(Path::new(&socket)).unwrap();
    println!("connected as {}", c.id());
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn sigterm_removes_socket_and_shared_memory() {
    let mut server = ServerProc::start(1);
    let shm = Path::new("/dev/shm").join(&server.shm);
    assert!(shm.exists());
    assert!(server.socket.exists());
    let mut c = Client::connect(&server.socket).unwrap();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(!server.socket.exists(), "socket left behind");
    assert!(!shm.exists(), "shared memory object left behind");
    // The client hears that the server is gone; its mapping stays valid.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match c.poll_events() {
            Err(ClientError::ServerGone) => break,
            Ok(_) => assert!(
                Instant::now() < deadline,
                "the client never saw the server go"
            ),
            Err(e) => panic!("{e}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    c.region().try_write32(0, 1).unwrap();
}

#[test]
fn a_second_server_on_a_live_socket_is_refused() {
    let server = ServerProc::start(1);
    let err = refused(&["-F", "-M", &shm_name(), "-S"], &server.socket);
    assert!(
        err.contains("another server is listening on this socket"),
        "{err}"
    );
    // The first one still serves.
    let a = Client::connect(&server.socket).unwrap();
    let b = Client::connect(&server.socket).unwrap();
    b.ring(a.id(), 0).unwrap();
    assert!(a.wait(0, Some(Duration::from_secs(5))).unwrap());
}

fn config(dir: &Path, shm: ShmBacking) -> ServerConfig {
    ServerConfig {
        socket: dir.join("s.sock"),
        shm,
        size: 64 << 10,
        vectors: 1,
        verbose: false,
    }
}

#[test]
fn a_stale_socket_is_replaced_and_other_files_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), ShmBacking::Posix(shm_name()));
    // A socket nobody listens on (its listener is gone, the file stays).
    drop(UnixListener::bind(&cfg.socket).unwrap());
    assert!(UnixStream::connect(&cfg.socket).is_err());
    let server = Server::bind(cfg.clone()).unwrap();
    assert!(UnixStream::connect(&cfg.socket).is_ok());
    drop(server);
    assert!(!cfg.socket.exists());

    std::fs::write(&cfg.socket, "not a socket").unwrap();
    let e = Server::bind(cfg.clone()).unwrap_err();
    assert!(matches!(e, ServerError::NotASocket { .. }), "{e:?}");
    assert_eq!(
        std::fs::read_to_string(&cfg.socket).unwrap(),
        "not a socket"
    );
}

#[test]
fn bad_configurations_are_refused_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), ShmBacking::Posix(shm_name()));
    cfg.size = 3 << 20;
    let e = Server::bind(cfg.clone()).unwrap_err();
    assert!(
        matches!(e, ServerError::SizeNotPowerOfTwo { size } if size == 3 << 20),
        "{e:?}"
    );
    assert!(e.to_string().contains("not a power of two"), "{e}");
    cfg.size = 0;
    assert!(matches!(
        Server::bind(cfg.clone()),
        Err(ServerError::SizeNotPowerOfTwo { .. })
    ));
    cfg.size = 4096;
    cfg.vectors = 0;
    assert!(matches!(
        Server::bind(cfg.clone()),
        Err(ServerError::BadVectors { .. })
    ));
    cfg.vectors = 65;
    assert!(matches!(
        Server::bind(cfg.clone()),
        Err(ServerError::BadVectors { .. })
    ));
    cfg.vectors = 1;
    cfg.shm = ShmBacking::Posix("a/b".into());
    assert!(matches!(
        Server::bind(cfg.clone()),
        Err(ServerError::BadShmName { .. })
    ));
    // Nothing was left behind by the refusals.
    assert!(!cfg.socket.exists());

    // An existing shared-memory object is not taken over.
    let name = shm_name();
    let path = Path::new("/dev/shm").join(&name);
    std::fs::write(&path, b"someone's data").unwrap();
    cfg.shm = ShmBacking::Posix(name.clone());
    let e = Server::bind(cfg.clone()).unwrap_err();
    assert!(matches!(e, ServerError::ShmExists { .. }), "{e:?}");
    assert!(
        e.to_string().contains(&format!("rm /dev/shm/{name}")),
        "{e}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"someone's data");
    std::fs::remove_file(&path).unwrap();

    // The command says the same, and the size is checked.
    let err = refused(
        &["-F", "-l", "3M", "-M", &shm_name(), "-S"],
        &dir.path().join("c.sock"),
    );
    assert!(
        err.contains("3145728 (0x300000) is not a power of two"),
        "{err}"
    );
    let err = refused(&["-F", "-l", "4X", "-S"], &dir.path().join("c.sock"));
    assert!(err.contains("unknown suffix"), "{err}");
}

#[test]
fn sizes_parse_like_qemus() {
    assert_eq!(parse_size("4194304"), Ok(4 << 20));
    assert_eq!(parse_size("4M"), Ok(4 << 20));
    assert_eq!(parse_size("1g"), Ok(1 << 30));
    assert_eq!(parse_size("64KiB"), Ok(64 << 10));
    assert_eq!(parse_size("0x100000"), Ok(1 << 20));
    assert!(parse_size("").is_err());
    assert!(parse_size("M").is_err());
    assert!(parse_size("99999999999999T").is_err());
}

/// `Server` in a thread, stopped by its stop condition: removes its socket
/// and memory on drop; the directory backing leaves nothing at all.
#[test]
fn server_in_a_thread_with_both_backings() {
    for backing in ["posix", "dir"] {
        let dir = tempfile::tempdir().unwrap();
        let name = shm_name();
        let shm = match backing {
            "posix" => ShmBacking::Posix(format!("/{name}")),
            _ => ShmBacking::Dir(dir.path().into()),
        };
        let cfg = config(dir.path(), shm);
        let mut server = Server::bind(cfg.clone()).unwrap();
        assert_eq!(
            server.shm_path(),
            (backing == "posix").then(|| Path::new("/dev/shm").join(&name))
        );
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                server.run(|| stop.load(Ordering::Relaxed)).unwrap();
                server
            })
        };
        let a = Client::connect(&cfg.socket).unwrap();
        let b = Client::connect(&cfg.socket).unwrap();
        assert_eq!((a.id(), b.id(), a.region().len()), (0, 1, 64 << 10));
        a.region().try_write8(17, 0x5a).unwrap();
        assert_eq!(b.region().try_read8(17).unwrap(), 0x5a);
        b.ring(0, 0).unwrap();
        assert!(a.wait(0, Some(Duration::from_secs(5))).unwrap());
        stop.store(true, Ordering::Relaxed);
        let server = thread.join().unwrap();
        assert_eq!(server.peers(), vec![0, 1]);
        drop(server);
        assert!(!cfg.socket.exists());
        assert!(!Path::new("/dev/shm").join(&name).exists());
        // The directory holds no file: it was unlinked at creation.
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{backing}"
        );
        // The clients' memory outlives the server.
        assert_eq!(a.region().try_read8(17).unwrap(), 0x5a);
    }
}

/// Without `-F` it prints its line, becomes a daemon (the command returns),
/// writes the pidfile, serves, and cleans up on SIGTERM.
#[test]
fn as_a_daemon_with_a_pidfile() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("d.sock");
    let pidfile = dir.path().join("server.pid");
    let shm = shm_name();
    let out = Command::new(BIN)
        .args(["-l", "64K", "-M", &shm, "-S"])
        .arg(&socket)
        .arg("-p")
        .arg(&pidfile)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ivshmem-server: listening on "));
    eventually("the pidfile is written", || pidfile.exists());
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Stops the daemon even if an assertion fails first.
    struct Term(nix::unistd::Pid);
    impl Drop for Term {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(self.0, nix::sys::signal::Signal::SIGTERM);
        }
    }
    let daemon = Term(nix::unistd::Pid::from_raw(pid));
    let c = Client::connect(&socket).unwrap();
    assert_eq!((c.id(), c.region().len()), (0, 64 << 10));
    drop(daemon);
    eventually("the daemon removes its socket, memory and pidfile", || {
        !socket.exists() && !Path::new("/dev/shm").join(&shm).exists() && !pidfile.exists()
    });
}
