//! Advisory locks around read-modify-writes.
//!
//! Two regpoke processes that change different fields of one register both
//! read it, change their bits and write it back; without a lock, one of the
//! two updates can be lost. Every read-modify-write therefore holds an
//! exclusive `flock` on a lock file named after the register: its physical
//! address when there is one (so UIO, sysfs and /dev/mem accesses to the
//! same register share the lock), else the backing file's device and inode
//! plus the offset.
//!
//! The names are predictable and the default directories are world
//! writable, so a lock file is opened with `O_NOFOLLOW` (a symbolic link
//! planted at its path is refused, never followed), `O_NONBLOCK` (a FIFO
//! planted there cannot block the open) and `O_CLOEXEC`, must turn out to
//! be a regular file, and is created owner-only (0600), or 0660 in a lock
//! directory that is group-writable and not world-writable (a directory
//! set up for a group of users to share locks). No directory is created.

use std::fs::File;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::Mode;

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
    resolved: std::sync::OnceLock<Option<PathBuf>>,
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

    /// The lock directory, if locking is on; an error when no default
    /// directory exists.
    pub fn dir(&self) -> Option<Result<&Path>> {
        if !self.enabled {
            return None;
        }
        Some(match &self.explicit {
            Some(d) => Ok(d.as_path()),
            None => match self.resolved.get_or_init(default_dir) {
                Some(d) => Ok(d.as_path()),
                None => Err(Error::device(format!(
                    "no lock directory: none of {} is a directory",
                    DEFAULT_DIRS.join(", ")
                ))
                .hint("pass --lock-dir DIR with a directory only you (or your group) can write, or --no-lock if no other process writes this register")),
            },
        })
    }

    /// Takes the exclusive lock named `key`, waiting for other holders.
    pub fn lock(&self, key: &str) -> Result<Guard> {
        let Some(dir) = self.dir() else {
            return Ok(Guard { _lock: None });
        };
        let dir = dir?;
        let path = dir.join(key);
        let file = open_lock_file(&path, shared_dir(dir))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| {
            Error::device(format!("locking {}: {}", path.display(), e.desc()))
                .hint("pass --no-lock if no other process writes this register")
        })?;
        Ok(Guard { _lock: Some(lock) })
    }
}

/// The default lock directories, in order of preference.
const DEFAULT_DIRS: [&str; 3] = ["/run/lock", "/dev/shm", "/tmp"];

/// `/run/lock`, else `/dev/shm`, else `/tmp`: the first that is a
/// directory (none is created). Every regpoke process makes the same
/// choice, so they meet on the same files.
fn default_dir() -> Option<PathBuf> {
    DEFAULT_DIRS.iter().map(PathBuf::from).find(|d| d.is_dir())
}

/// Whether `dir` is set up for a group to share locks: group-writable and
/// not world-writable. Lock files created there are 0660, else 0600.
fn shared_dir(dir: &Path) -> bool {
    std::fs::metadata(dir).is_ok_and(|m| m.mode() & 0o020 != 0 && m.mode() & 0o002 == 0)
}

/// Opens (creating if need be) a lock file: never through a symbolic
/// link, never blocking on a FIFO, and only if it is a regular file. A
/// read-only descriptor is enough for `flock`.
fn open_lock_file(path: &Path, group: bool) -> Result<File> {
    let mode = if group {
        Mode::from_bits_truncate(0o660)
    } else {
        Mode::from_bits_truncate(0o600)
    };
    let flags =
        OFlag::O_RDONLY | OFlag::O_CREAT | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let unusable = |why: String| {
        Error::device(format!("lock file {}: {why}", path.display())).hint(
            "remove it if it is not yours, or pass --lock-dir DIR with a directory only you (or your group) can write; --no-lock if no other process writes this register",
        )
    };
    let fd = match nix::fcntl::open(path, flags, mode) {
        Ok(fd) => fd,
        Err(Errno::ELOOP) if is_symlink(path) => {
            return Err(unusable(
                "it is a symbolic link, which regpoke refuses to follow (a link planted at a predictable lock path could make it create or lock another file)".into(),
            ))
        }
        Err(Errno::EACCES) => {
            return Err(unusable(
                "permission denied: it belongs to another user (lock files are created owner-only)".into(),
            ))
        }
        Err(e) => return Err(unusable(format!("cannot open it: {}", e.desc()))),
    };
    let file = File::from(fd);
    let kind = file
        .metadata()
        .map_err(|e| unusable(format!("cannot stat it: {e}")))?
        .file_type();
    if !kind.is_file() {
        return Err(unusable(format!(
            "it is {}, not a regular file",
            if kind.is_dir() {
                "a directory"
            } else if kind.is_fifo() {
                "a FIFO"
            } else if kind.is_socket() {
                "a socket"
            } else if kind.is_char_device() || kind.is_block_device() {
                "a device"
            } else {
                "something else"
            }
        )));
    }
    Ok(file)
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
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
