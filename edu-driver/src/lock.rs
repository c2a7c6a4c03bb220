//! Exclusive ownership of one edu device while a driver instance runs.
//!
//! The lock is an exclusive, non-blocking `flock` on the open `/dev/uioN`
//! itself (on a duplicate of the [`UioDevice`]'s descriptor, so it is the
//! same open file):
//!
//! * it needs no directory (`/run/lock` may not exist, and a lock file
//!   could be named differently by two programs); every process that
//!   opens the node locks the same inode;
//! * it is released by the kernel when the process exits or is killed, so
//!   a crashed driver never leaves a stale lock behind;
//! * it is taken right after the node is opened and before any register is
//!   read or written, so a refused second instance has not touched the
//!   device, and its own open and close of the node leave Bus Master on
//!   (uio_pci_generic clears it only at the *last* close);
//! * the holder's pid is read from `/proc/locks` for the message.
//!
//! `flock` is advisory: a program that does not take it is not stopped.
//! regpoke does not take it, on purpose: reading registers while the
//! driver runs (`regpoke --spec edu read IRQ_STATUS`, `watch`) is how one
//! debugs a driver. Writing DMA registers or acknowledging interrupts with
//! regpoke while the driver runs will disturb the driver's transfer; the
//! driver then reports a timeout or a mismatch, never silence.

use std::fs::File;
use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use pci_sysfs::PciAddress;
use uio_backend::UioDevice;

use crate::error::EduError;

/// A held lock on an open UIO device; released when dropped (or when the
/// process ends).
#[derive(Debug)]
pub struct OwnerLock {
    _lock: Flock<File>,
}

impl OwnerLock {
    /// Takes the lock on `dev` without waiting; [`EduError::InUse`] when
    /// another open file of the node holds it.
    pub fn acquire(dev: &UioDevice, address: PciAddress) -> Result<OwnerLock, EduError> {
        let node = dev.info().devnode().display().to_string();
        let fd = dev
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| EduError::Lock {
                node: node.clone(),
                errno: Errno::from_raw(e.raw_os_error().unwrap_or(0)),
            })?;
        match Flock::lock(File::from(fd), FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(OwnerLock { _lock: lock }),
            Err((file, Errno::EWOULDBLOCK)) => Err(EduError::InUse {
                address,
                pid: holder_pid_of(&file),
                node,
            }),
            Err((_, errno)) => Err(EduError::Lock { node, errno }),
        }
    }
}

/// The pid `/proc/locks` shows for the flock on `file`'s inode.
fn holder_pid_of(file: &File) -> Option<u32> {
    let st = nix::sys::stat::fstat(file.as_fd()).ok()?;
    let text = std::fs::read_to_string("/proc/locks").ok()?;
    let dev = st.st_dev;
    holder_pid(
        &text,
        nix::sys::stat::major(dev),
        nix::sys::stat::minor(dev),
        st.st_ino,
    )
}

/// Finds the holder of a `FLOCK` on the inode `major:minor:ino` in the
/// text of `/proc/locks`, whose lines read
/// `1: FLOCK  ADVISORY  WRITE 1234 00:05:321 0 EOF` (device numbers in
/// hex, inode in decimal; waiters' lines have a `->` and are skipped).
pub(crate) fn holder_pid(locks: &str, major: u64, minor: u64, ino: u64) -> Option<u32> {
    locks.lines().find_map(|line| {
        let mut f = line.split_whitespace();
        let _index = f.next()?;
        let kind = f.next()?;
        if kind != "FLOCK" {
            return None;
        }
        let _advisory = f.next()?;
        let _mode = f.next()?;
        let pid: u32 = f.next()?.parse().ok()?;
        let mut id = f.next()?.split(':');
        let maj = u64::from_str_radix(id.next()?, 16).ok()?;
        let min = u64::from_str_radix(id.next()?, 16).ok()?;
        let i: u64 = id.next()?.parse().ok()?;
        (maj == major && min == minor && i == ino).then_some(pid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_locks_lines_are_matched_by_inode() {
        let text = "1: POSIX  ADVISORY  WRITE 77 00:05:321 0 EOF\n\
                    2: FLOCK  ADVISORY  WRITE 1234 00:05:321 0 EOF\n\
                    2: -> FLOCK  ADVISORY  WRITE 99 00:05:321 0 EOF\n\
                    3: FLOCK  ADVISORY  WRITE 555 fd:01:321 0 EOF\n";
        assert_eq!(holder_pid(text, 0, 5, 321), Some(1234));
        assert_eq!(holder_pid(text, 0xfd, 1, 321), Some(555));
        assert_eq!(holder_pid(text, 0, 5, 322), None);
        assert_eq!(holder_pid("", 0, 5, 321), None);
        assert_eq!(holder_pid("garbage\n1: FLOCK", 0, 5, 321), None);
    }
}
