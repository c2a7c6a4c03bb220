//! The system calls this crate makes on `/dev/uioN`, in one place.
//!
//! All of them go through `nix`'s safe wrappers, so the crate has no `unsafe`.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags};
use nix::sys::stat::Mode;

/// Opens a UIO device node read-write, close-on-exec and non-blocking
/// (reads that find no new event return EAGAIN instead of blocking; waiting
/// is done with `poll`, which honours timeouts).
pub(crate) fn open_node(path: &Path) -> nix::Result<OwnedFd> {
    nix::fcntl::open(
        path,
        OFlag::O_RDWR | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK,
        Mode::empty(),
    )
}

/// What `poll` said about a UIO fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ready {
    /// A new event can be read.
    Readable,
    /// POLLERR/POLLHUP/POLLNVAL: for UIO, the device has no interrupt.
    Error(PollFlags),
    /// Nothing happened within the timeout.
    TimedOut,
}

/// One `poll` for POLLIN on `fd`. EINTR is returned to the caller.
pub(crate) fn poll_in(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> nix::Result<Ready> {
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    let n = nix::poll::poll(&mut fds, hal_core::poll::syscall_timeout(timeout))?;
    if n == 0 {
        return Ok(Ready::TimedOut);
    }
    let revents = fds[0].revents().unwrap_or(PollFlags::empty());
    let bad = PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL;
    if revents.intersects(bad) {
        Ok(Ready::Error(revents))
    } else if revents.contains(PollFlags::POLLIN) {
        Ok(Ready::Readable)
    } else {
        Ok(Ready::TimedOut)
    }
}

/// The result of reading the event counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CountRead {
    /// The cumulative interrupt count (the kernel's s32, as u32).
    Count(u32),
    /// No new event (EAGAIN on the non-blocking fd).
    WouldBlock,
    /// Fewer than 4 bytes came back.
    Short(usize),
}

/// `read(fd, buf, 4)`: UIO returns the cumulative event count.
pub(crate) fn read_count(fd: BorrowedFd<'_>) -> nix::Result<CountRead> {
    let mut buf = [0u8; 4];
    match nix::unistd::read(fd, &mut buf) {
        Ok(4) => Ok(CountRead::Count(i32::from_ne_bytes(buf) as u32)),
        Ok(n) => Ok(CountRead::Short(n)),
        Err(Errno::EAGAIN) => Ok(CountRead::WouldBlock),
        Err(e) => Err(e),
    }
}

/// `write(fd, &value, 4)`: calls the UIO driver's irqcontrol.
pub(crate) fn write_irqcontrol(fd: BorrowedFd<'_>, value: i32) -> nix::Result<usize> {
    nix::unistd::write(fd, &value.to_ne_bytes())
}
