//! Exclusive ownership of one edu device while a driver instance runs.
//!
//! The lock is an exclusive, non-blocking `flock` on the device's PCI
//! config file in sysfs (`/sys/bus/pci/devices/BDF/config`), taken
//! **before `/dev/uioN` is opened**:
//!
//! * uio_pci_generic clears Bus Master whenever an open file of
//!   `/dev/uioN` is closed (its `release` runs per open file, not at the
//!   device's last close). A second instance that opened the node to lock
//!   it, was refused and closed it again would turn DMA off under the
//!   first one's running transfer (the transfer then "completes" with
//!   zeros, and the VM test `edu_driver_second_instance_refused` caught
//!   exactly that). Opening the config file read-only has no side effect;
//! * every process that opens the file locks the same inode, and no
//!   directory has to exist (`/run/lock` may not, and two programs could
//!   name a lock file differently);
//! * the kernel releases the lock when the process exits or is killed, so
//!   a crashed driver leaves no stale lock;
//! * it is taken before any register is read or written, so a refused
//!   second instance has not touched the device;
//! * the holder's pid is read from `/proc/locks` for the message.
//!
//! `flock` is advisory: a program that does not take it is not stopped.
//! regpoke does not take it, on purpose: reading registers while the
//! driver runs (`regpoke --spec edu read IRQ_STATUS`, `watch`) is how one
//! debugs a driver. But each regpoke run over UIO opens and closes
//! `/dev/uioN`, and that close clears Bus Master: the driver turns it back
//! on before every DMA leg ([`Platform::prepare_dma`](crate::Platform::prepare_dma)),
//! yet a close that lands while a transfer is in flight (edu's take 100 ms)
//! still makes that transfer read zeros or drop its writes. Poke a running
//! driver's device through sysfs `resource0` (`regpoke --pci 1234:11e8`),
//! which does not touch the UIO node, or not at all; writing DMA or
//! interrupt registers disturbs the driver either way. The driver reports
//! a disturbed round trip as [`EduError::Mismatch`] or a timeout, never
//! silently.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use pci_sysfs::PciAddress;

use crate::error::EduError;

/// A held lock on one edu device; released when dropped (or when the
/// process ends).
#[derive(Debug)]
pub struct OwnerLock {
    _lock: Flock<File>,
}

impl OwnerLock {
    /// Takes the lock on the device at `address`, whose sysfs config file
    /// is `config`, without waiting; [`EduError::InUse`] when another open
    /// file holds it.
    pub fn acquire(address: PciAddress, config: &Path) -> Result<OwnerLock, EduError> {
        let path = config.display().to_string();
        let file = File::open(config).map_err(|e| EduError::Lock {
            path: path.clone(),
            errno: Errno::from_raw(e.raw_os_error().unwrap_or(0)),
        })?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(OwnerLock { _lock: lock }),
            Err((file, Errno::EWOULDBLOCK)) => Err(EduError::InUse {
                address,
                pid: holder_pid_of(&file),
                path,
            }),
            Err((_, errno)) => Err(EduError::Lock { path, errno }),
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
