//! [`IvshmemServer`]: an ivshmem server process for `ivshmem-doorbell` VMs.

use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Result, VmError};
use crate::process::{ExitInfo, QemuProcess, Resources};

/// What the server prints once it accepts connections.
const LISTENING: &str = "listening on";
/// How long the server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long it may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// An ivshmem server that VMs with [`crate::VmConfig::ivshmem_doorbell`]
/// and host clients connect to: either a process started by the harness
/// ([`IvshmemServer::start`]: its socket and POSIX shared-memory object
/// are named after the harness's other files, so a crashed test's
/// leftovers are swept at the next boot) or one that is already running
/// ([`IvshmemServer::given`]).
///
/// ```no_run
/// use qemu::{IvshmemServer, Vm, VmConfig};
/// let server = IvshmemServer::start("target/debug/ivshmem-server".as_ref(), 1 << 20, 1)?;
/// let a = Vm::boot(VmConfig::default().ivshmem_doorbell(server.socket(), 1))?;
/// let b = Vm::boot(VmConfig::default().ivshmem_doorbell(server.socket(), 1))?;
/// // ... the two guests share BAR2 and ring each other's doorbells ...
/// drop((a, b));
/// server.stop()?; // SIGTERM; checks that it exited and removed its socket
/// # Ok::<(), qemu::VmError>(())
/// ```
///
/// Dropping a started server sends it SIGTERM (SIGKILL after a while);
/// it also dies with the test process (parent-death signal).
#[derive(Debug)]
pub struct IvshmemServer {
    socket: PathBuf,
    vectors: u32,
    started: Option<Started>,
}

#[derive(Debug)]
struct Started {
    proc_: Arc<QemuProcess>,
    log: PathBuf,
    // Dropped last: kills the process and removes the work directory and
    // the shared-memory object.
    _res: Resources,
}

impl IvshmemServer {
    /// Starts `program` (an `ivshmem-server` with QEMU's options) in the
    /// foreground with `size` bytes of POSIX shared memory (a power of two)
    /// and `vectors` eventfds per peer, and waits until it prints that it
    /// is listening. Its output (verbose: one line per event) is kept for
    /// [`IvshmemServer::output`].
    pub fn start(program: &Path, size: u64, vectors: u32) -> Result<IvshmemServer> {
        if !size.is_power_of_two() || size < 4096 {
            return Err(VmError::Config(format!(
                "ivshmem server size {size} must be a power of two and at least 4096 (QEMU's BAR2 must be)"
            )));
        }
        if vectors == 0 || vectors > crate::MAX_DOORBELL_VECTORS {
            return Err(VmError::Config(format!(
                "ivshmem server vectors {vectors} must be between 1 and {}",
                crate::MAX_DOORBELL_VECTORS
            )));
        }
        crate::process::sweep_stale();
        let res = Resources::new(true, false)
            .map_err(|e| VmError::io("creating the ivshmem server's work directory", e))?;
        let socket = res.dir.join("ivshmem.sock");
        // Resources names a /dev/shm file: the POSIX object of that name.
        let shm_name = res
            .shm
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| VmError::IvshmemServer("no shared-memory name".into()))?;
        let log = res.dir.join("server.log");
        let out = fs::File::create(&log).map_err(|e| VmError::io_path("creating", &log, e))?;
        let err = out
            .try_clone()
            .map_err(|e| VmError::io_path("opening", &log, e))?;
        let mut cmd = Command::new(program);
        cmd.args(["-F", "-v", "-S"])
            .arg(&socket)
            .args(["-M", &shm_name, "-l", &size.to_string()])
            .args(["-n", &vectors.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let proc_ = QemuProcess::spawn(cmd)
            .map_err(|e| VmError::io(format!("starting {}", program.display()), e))?;
        res.attach(&proc_);
        let server = IvshmemServer {
            socket,
            vectors,
            started: Some(Started {
                proc_,
                log,
                _res: res,
            }),
        };
        server.wait_listening(program)?;
        Ok(server)
    }

    fn wait_listening(&self, program: &Path) -> Result<()> {
        let Some(s) = &self.started else {
            return Ok(());
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.output().contains(LISTENING) && is_socket(&self.socket) {
                return Ok(());
            }
            if let Some(exit) = s.proc_.exited() {
                return Err(VmError::IvshmemServer(format!(
                    "{} exited before listening ({}):\n{}",
                    program.display(),
                    describe(exit),
                    self.output()
                )));
            }
            if Instant::now() >= deadline {
                s.proc_.kill_and_wait();
                return Err(VmError::IvshmemServer(format!(
                    "{} did not say it is listening on {} within {START_TIMEOUT:?}; its output:\n{}",
                    program.display(),
                    self.socket.display(),
                    self.output()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A server that is already running on `socket` with `vectors` vectors
    /// (the harness neither starts nor stops it).
    pub fn given(socket: impl Into<PathBuf>, vectors: u32) -> Result<IvshmemServer> {
        let socket = socket.into();
        if !is_socket(&socket) {
            return Err(VmError::IvshmemServer(format!(
                "{} is not a socket: is the ivshmem server running?",
                socket.display()
            )));
        }
        Ok(IvshmemServer {
            socket,
            vectors,
            started: None,
        })
    }

    /// The server's UNIX socket, for [`crate::VmConfig::ivshmem_doorbell`]
    /// and host clients.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Eventfds (MSI-X vectors) per peer.
    pub fn vectors(&self) -> u32 {
        self.vectors
    }

    /// The server process id, if the harness started it.
    pub fn pid(&self) -> Option<i32> {
        self.started.as_ref().map(|s| s.proc_.pid())
    }

    /// Everything the server printed so far (empty for a given server).
    pub fn output(&self) -> String {
        self.started
            .as_ref()
            .and_then(|s| fs::read(&s.log).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Stops a started server with SIGTERM and checks that it exited with
    /// status 0 and removed its socket (SIGKILL and an error otherwise).
    /// Does nothing for a given server.
    pub fn stop(mut self) -> Result<()> {
        let Some(s) = self.started.take() else {
            return Ok(());
        };
        s.proc_.terminate();
        let exit = s.proc_.wait_timeout(STOP_TIMEOUT);
        let output = fs::read(&s.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let result = match exit {
            None => Err(format!(
                "did not exit within {STOP_TIMEOUT:?} of SIGTERM (killed)"
            )),
            Some(ExitInfo { code: Some(0), .. }) if self.socket.exists() => Err(format!(
                "exited but left its socket {} behind",
                self.socket.display()
            )),
            Some(ExitInfo { code: Some(0), .. }) => Ok(()),
            Some(e) => Err(format!("ended with {} after SIGTERM", describe(e))),
        };
        drop(s); // kills it if still running, removes the files
        result.map_err(|why| VmError::IvshmemServer(format!("{why}; its output:\n{output}")))
    }
}

impl Drop for IvshmemServer {
    fn drop(&mut self) {
        if let Some(s) = &self.started {
            s.proc_.terminate();
            if s.proc_.wait_timeout(Duration::from_secs(2)).is_none() {
                s.proc_.kill_and_wait();
            }
        }
    }
}

fn is_socket(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| m.file_type().is_socket())
}

fn describe(e: ExitInfo) -> String {
    match (e.code, e.signal) {
        (Some(c), _) => format!("exit status {c}"),
        (_, Some(s)) => format!("signal {s}"),
        _ => "unknown status".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_arguments_and_missing_servers_are_errors() {
        let e = IvshmemServer::start(Path::new("/nonexistent"), 3 << 20, 1).unwrap_err();
        assert!(e.to_string().contains("power of two"), "{e}");
        let e = IvshmemServer::start(Path::new("/nonexistent"), 1 << 20, 0).unwrap_err();
        assert!(e.to_string().contains("between 1 and"), "{e}");
        let e =
            IvshmemServer::start(Path::new("/nonexistent/ivshmem-server"), 1 << 20, 1).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ivshmem-server"), "{e}");
        let e = IvshmemServer::given("/nonexistent.sock", 1).unwrap_err();
        assert!(
            e.to_string().contains("is the ivshmem server running"),
            "{e}"
        );
    }

    #[test]
    fn a_program_that_exits_early_is_reported_with_its_output() {
        // `sh -c` stands in for a server that refuses its options.
        let dir = std::env::temp_dir().join(format!("ivsrv-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("fake-server");
        fs::write(&fake, "#!/bin/sh\necho \"fake: refusing $*\" >&2\nexit 3\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
        let e = IvshmemServer::start(&fake, 1 << 20, 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("exited before listening (exit status 3)"), "{e}");
        assert!(e.contains("fake: refusing -F -v -S"), "{e}");
        assert!(e.contains("-l 1048576 -n 2"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
