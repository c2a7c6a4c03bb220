//! What the server tests share: the server command started in the
//! foreground, fresh shared-memory names, waiting for a client's news.

#![allow(dead_code)] // each test file uses a part

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ivshmem::client::{Client, PeerEvent};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

pub const BIN: &str = env!("CARGO_BIN_EXE_ivshmem-server");

/// A fresh POSIX shared-memory name for one test.
pub fn shm_name() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "ivshmem-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The server command, started in the foreground, once it listens.
pub struct ServerProc {
    pub child: Child,
    pub socket: PathBuf,
    pub shm: String,
    _dir: tempfile::TempDir,
}

impl ServerProc {
    pub fn start(vectors: u32) -> ServerProc {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("ivshmem.sock");
        let shm = shm_name();
        let mut child = Command::new(BIN)
            .args([
                "-F",
                "-v",
                "-l",
                "1M",
                "-n",
                &vectors.to_string(),
                "-M",
                &shm,
                "-S",
            ])
            .arg(&socket)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with(&format!(
                "ivshmem-server: listening on {}",
                socket.display()
            )),
            "unexpected first line: {line:?}"
        );
        ServerProc {
            child,
            socket,
            shm,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .unwrap()
            .count()
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid()),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.terminate();
        }
    }
}

/// Waits until the client has news from the server, then returns it.
pub fn next_events(c: &mut Client) -> Vec<PeerEvent> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut fds = [PollFd::new(c.server_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::from(100u16)).unwrap();
        let events = c.poll_events().unwrap();
        if !events.is_empty() {
            return events;
        }
        assert!(Instant::now() < deadline, "no news from the server in 10 s");
    }
}
