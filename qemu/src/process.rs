//! The QEMU process: spawning with a parent-death signal, reaping from a
//! dedicated thread, race-free killing, and clean-up of everything a VM
//! leaves on the host (also at process exit and after a crash of an earlier
//! test process).

use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag};
use nix::unistd::Pid;

/// Prefix of every file and directory the harness creates in `/dev/shm` and
/// in the temporary directory; followed by `<host pid>-<n>`.
pub const NAME_PREFIX: &str = "vm-harness-";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How QEMU ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitInfo {
    /// The signal that killed it.
    pub signal: Option<i32>,
    /// Its exit code.
    pub code: Option<i32>,
}

impl From<std::process::ExitStatus> for ExitInfo {
    fn from(s: std::process::ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        ExitInfo {
            signal: s.signal(),
            code: s.code(),
        }
    }
}

/// A running (or finished) QEMU process.
#[derive(Debug)]
pub struct QemuProcess {
    pid: i32,
    /// Set (under the lock) right before the child is reaped, so `kill`
    /// can never hit a recycled pid.
    status: Mutex<Option<ExitInfo>>,
    cv: Condvar,
}

impl QemuProcess {
    /// Spawns `cmd` from a dedicated thread that lives until the child exits.
    ///
    /// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child
    /// exits, so forking from a short-lived test thread would kill a VM that
    /// is shared through a `static`. The waiter thread only ends after QEMU
    /// has, or when the whole test process dies, which is what we want.
    pub fn spawn(mut cmd: Command) -> io::Result<Arc<QemuProcess>> {
        let parent = std::process::id();
        // SAFETY: the closure runs in the child between fork and exec; it
        // only makes async-signal-safe system calls (prctl, getppid,
        // setrlimit) and builds io::Error values from raw errno codes,
        // which does not allocate.
        unsafe {
            cmd.pre_exec(move || {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)?;
                // The parent may have died before prctl took effect.
                if nix::unistd::getppid().as_raw() as u32 != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                // edu's hw_error() aborts QEMU: no core files please.
                nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0)
                    .map_err(io::Error::from)?;
                Ok(())
            });
        }
        let (tx, rx) = mpsc::channel::<io::Result<Arc<QemuProcess>>>();
        std::thread::Builder::new()
            .name("qemu-waiter".into())
            .spawn(move || {
                let mut child = match cmd.spawn() {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let proc_ = Arc::new(QemuProcess {
                    pid: child.id() as i32,
                    status: Mutex::new(None),
                    cv: Condvar::new(),
                });
                let _ = tx.send(Ok(Arc::clone(&proc_)));
                // Wait for the exit without reaping.
                while let Err(nix::errno::Errno::EINTR) = waitid(
                    Id::Pid(Pid::from_raw(proc_.pid)),
                    WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
                ) {}
                let mut g = lock(&proc_.status);
                let info = match child.wait() {
                    Ok(s) => ExitInfo::from(s),
                    Err(_) => ExitInfo {
                        signal: None,
                        code: None,
                    },
                };
                *g = Some(info);
                proc_.cv.notify_all();
            })?;
        rx.recv()
            .unwrap_or_else(|_| Err(io::Error::other("QEMU waiter thread died")))
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// How it ended, if it has.
    pub fn exited(&self) -> Option<ExitInfo> {
        *lock(&self.status)
    }

    /// Waits up to `timeout` for the process to end.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<ExitInfo> {
        let deadline = Instant::now() + timeout;
        let mut g = lock(&self.status);
        while g.is_none() {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            g = match self.cv.wait_timeout(g, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        *g
    }

    /// Sends SIGKILL unless the process has already ended.
    pub fn kill(&self) {
        let g = lock(&self.status);
        if g.is_none() {
            let _ = signal::kill(Pid::from_raw(self.pid), Signal::SIGKILL);
        }
    }

    /// Sends SIGTERM unless the process has already ended.
    pub fn terminate(&self) {
        let g = lock(&self.status);
        if g.is_none() {
            let _ = signal::kill(Pid::from_raw(self.pid), Signal::SIGTERM);
        }
    }

    /// Kills the process and waits (up to 5 s) until it is reaped.
    pub fn kill_and_wait(&self) -> Option<ExitInfo> {
        self.kill();
        self.wait_timeout(Duration::from_secs(5))
    }
}

/// Host resources of one VM; released on drop (and at process exit).
#[derive(Debug)]
pub struct Resources {
    id: u64,
    /// The VM's work directory.
    pub dir: PathBuf,
    /// The ivshmem backing file.
    pub shm: Option<PathBuf>,
    /// Keep `dir` after the VM is gone.
    pub keep_dir: bool,
    proc_: Mutex<Option<Arc<QemuProcess>>>,
}

#[derive(Debug)]
struct Registered {
    id: u64,
    dir: PathBuf,
    shm: Option<PathBuf>,
    keep_dir: bool,
    proc_: Option<Arc<QemuProcess>>,
}

static REGISTRY: Mutex<Vec<Registered>> = Mutex::new(Vec::new());
static ATEXIT: Once = Once::new();
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn cleanup_at_exit() {
    // A VM kept in a `static` is never dropped: clean up at exit. try_lock,
    // so exiting while another thread holds the lock cannot deadlock
    // (QEMU still dies through its parent-death signal then).
    let Ok(mut reg) = REGISTRY.try_lock() else {
        return;
    };
    for r in reg.drain(..) {
        if let Some(p) = &r.proc_ {
            p.kill();
            p.wait_timeout(Duration::from_secs(2));
        }
        release(&r.dir, r.shm.as_deref(), r.keep_dir);
    }
}

fn release(dir: &Path, shm: Option<&Path>, keep_dir: bool) {
    if let Some(s) = shm {
        let _ = std::fs::remove_file(s);
    }
    if keep_dir {
        eprintln!("qemu harness: VM work directory kept at {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(dir);
    }
}

impl Resources {
    /// Creates the work directory (and names the shm file) for a new VM, and
    /// registers both for clean-up.
    pub fn new(with_shm: bool, keep_dir: bool) -> io::Result<Resources> {
        ATEXIT.call_once(|| {
            // SAFETY: `cleanup_at_exit` is an `extern "C" fn()` with static
            // lifetime that does not unwind (it catches nothing that could
            // panic: lock poisoning is handled, file removal errors ignored).
            unsafe {
                libc::atexit(cleanup_at_exit);
            }
        });
        let n = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{NAME_PREFIX}{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let shm = with_shm.then(|| Path::new("/dev/shm").join(&name));
        lock(&REGISTRY).push(Registered {
            id: n,
            dir: dir.clone(),
            shm: shm.clone(),
            keep_dir,
            proc_: None,
        });
        Ok(Resources {
            id: n,
            dir,
            shm,
            keep_dir,
            proc_: Mutex::new(None),
        })
    }

    /// Records the QEMU process so it is killed on drop and at exit.
    pub fn attach(&self, p: &Arc<QemuProcess>) {
        *lock(&self.proc_) = Some(Arc::clone(p));
        if let Some(r) = lock(&REGISTRY).iter_mut().find(|r| r.id == self.id) {
            r.proc_ = Some(Arc::clone(p));
        }
    }
}

impl Drop for Resources {
    fn drop(&mut self) {
        if let Some(p) = lock(&self.proc_).take() {
            p.kill_and_wait();
        }
        lock(&REGISTRY).retain(|r| r.id != self.id);
        release(&self.dir, self.shm.as_deref(), self.keep_dir);
    }
}

/// Parses the host pid out of a harness file name.
pub fn owner_pid(name: &str) -> Option<u32> {
    name.strip_prefix(NAME_PREFIX)?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// Removes shm files and work directories left by harness processes that
/// no longer exist (for example a test process that was SIGKILLed).
pub fn sweep_stale() {
    for base in [PathBuf::from("/dev/shm"), std::env::temp_dir()] {
        let Ok(rd) = std::fs::read_dir(&base) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(pid) = owner_pid(&name) else {
                continue;
            };
            if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
                continue;
            }
            let p = e.path();
            if p.is_dir() {
                let _ = std::fs::remove_dir_all(&p);
            } else {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner() {
        assert_eq!(owner_pid("vm-harness-1234-0"), Some(1234));
        assert_eq!(owner_pid("vm-harness-x-0"), None);
        assert_eq!(owner_pid("other"), None);
    }

    #[test]
    fn spawn_kill_reap() {
        let mut c = Command::new("sleep");
        c.arg("30");
        let p = QemuProcess::spawn(c).unwrap();
        assert!(p.exited().is_none());
        let info = p.kill_and_wait().expect("reaped");
        assert_eq!(info.signal, Some(libc::SIGKILL));
        // Killing again is a no-op.
        p.kill();
    }

    #[test]
    fn spawn_exit_code() {
        let mut c = Command::new("sh");
        c.args(["-c", "exit 7"]);
        let p = QemuProcess::spawn(c).unwrap();
        let info = p.wait_timeout(Duration::from_secs(10)).expect("exits");
        assert_eq!(info.code, Some(7));
    }

    #[test]
    fn resources_cleanup() {
        let r = Resources::new(true, false).unwrap();
        let dir = r.dir.clone();
        let shm = r.shm.clone().unwrap();
        std::fs::write(&shm, b"x").unwrap();
        assert!(dir.is_dir());
        drop(r);
        assert!(!dir.exists());
        assert!(!shm.exists());
    }
}
