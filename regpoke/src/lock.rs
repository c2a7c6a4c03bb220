//! Advisory locks around read-modify-writes.
//!
//! Two regpoke processes that change different fields of one register both
//! read it, change their bits and write it back; without a lock, one of the
//! two updates can be lost. Every read-modify-write therefore holds an
//! exclusive `flock` on a lock file named after the register: its physical
//! address when there is one (so UIO, sysfs and /dev/mem accesses to the
//! same register share the lock), else the backing file's device and inode
//! plus the offset.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};

/// What a register's absolute identity is based on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockBase {
    /// A physical address (UIO map, PCI BAR, /dev/mem): the block starts here.
    Phys(u64),
    /// A file: device and inode numbers, and where the block starts in it.
    File {
        /// `st_dev`.
        dev: u64,
        /// `st_ino`.
        ino: u64,
    },
}

impl LockBase {
    /// The lock-file name for the register at `offset` in the block.
    pub fn key(&self, offset: u64) -> String {
        match self {
            LockBase::Phys(base) => {
                format!("regpoke-phys-{:x}.lock", base.wrapping_add(offset))
            }
            LockBase::File { dev, ino } => {
                format!("regpoke-file-{dev:x}-{ino:x}-{offset:x}.lock")
            }
        }
    }
}

/// Takes the locks (or not, with `--no-lock`).
///
/// The default directory is looked up on the first lock, not before: a
/// plain read or write never locks, and should not pay for the look-up.
#[derive(Debug, Clone)]
pub struct Locker {
    enabled: bool,
    explicit: Option<PathBuf>,
    resolved: std::sync::OnceLock<PathBuf>,
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Guard {
    _lock: Option<Flock<File>>,
}

impl Locker {
    /// A locker using `dir`, or the default directory; `None` when disabled.
    pub fn new(enabled: bool, dir: Option<&Path>) -> Locker {
        Locker {
            enabled,
            explicit: dir.map(Path::to_path_buf),
            resolved: std::sync::OnceLock::new(),
        }
    }

    /// The lock directory, if locking is on.
    pub fn dir(&self) -> Option<&Path> {
        if !self.enabled {
            return None;
        }
        Some(match &self.explicit {
            Some(d) => d.as_path(),
            None => self.resolved.get_or_init(default_dir).as_path(),
        })
    }

    /// Takes the exclusive lock named `key`, waiting for other holders.
    pub fn lock(&self, key: &str) -> Result<Guard> {
        let Some(dir) = self.dir() else {
            return Ok(Guard { _lock: None });
        };
        let path = dir.join(key);
        let file = open_lock_file(&path).map_err(|e| {
            Error::device(format!("opening lock file {}: {e}", path.display())).hint(
                "pass --lock-dir DIR with a writable directory, or --no-lock if no other process writes this register",
            )
        })?;
        let lock = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| {
            Error::device(format!("locking {}: {e}", path.display()))
                .hint("pass --no-lock if no other process writes this register")
        })?;
        Ok(Guard { _lock: Some(lock) })
    }
}

/// `/run/lock` (created if `/run` exists and it is missing), else
/// `/dev/shm`, else `/tmp`: the first that is a directory. Every regpoke
/// process makes the same choice, so they meet on the same files.
fn default_dir() -> PathBuf {
    let run_lock = Path::new("/run/lock");
    if !run_lock.is_dir() && Path::new("/run").is_dir() {
        let _ = std::fs::create_dir(run_lock);
        // World-writable and sticky, like the distributions make it.
        let _ = std::fs::set_permissions(run_lock, std::fs::Permissions::from_mode(0o1777));
    }
    for d in ["/run/lock", "/dev/shm", "/tmp"] {
        if Path::new(d).is_dir() {
            return PathBuf::from(d);
        }
    }
    // A bare initramfs: make /run/lock.
    let _ = std::fs::create_dir_all(run_lock);
    run_lock.to_path_buf()
}

/// Opens (creating, mode 0666 before umask) a lock file. A read-only
/// descriptor is enough for `flock`, and lets users share a file another
/// user created.
fn open_lock_file(path: &Path) -> io::Result<File> {
    match File::open(path) {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == io::ErrorKind::NotFound => OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o666)
            .open(path)
            .or_else(|_| File::open(path)),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(
            LockBase::Phys(0xfea0_0000).key(0x20),
            "regpoke-phys-fea00020.lock"
        );
        assert_eq!(
            LockBase::File {
                dev: 0x803,
                ino: 0x1234
            }
            .key(0x4),
            "regpoke-file-803-1234-4.lock"
        );
    }

    #[test]
    fn lock_and_relock() {
        let dir = std::env::temp_dir().join(format!("regpoke-lock-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let l = Locker::new(true, Some(&dir));
        let g = l.lock("x.lock").unwrap();
        drop(g);
        let _g = l.lock("x.lock").unwrap();
        assert!(Locker::new(false, None).dir().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
