//! The ivshmem client-server protocol's wire format, shared by the server
//! and the client.
//!
//! Every message is one 8-byte little-endian signed integer, optionally with
//! one file descriptor attached as `SCM_RIGHTS` ancillary data. What a value
//! means depends on where it comes in the conversation (see
//! `docs/ivshmem.md`):
//!
//! | when | value | fd |
//! | --- | --- | --- |
//! | greeting, 1st | [`PROTOCOL_VERSION`] | none |
//! | greeting, 2nd | the client's own ID | none |
//! | greeting, 3rd | [`SHM_MESSAGE`] (-1) | the shared memory |
//! | greeting, then later | a peer's ID (the client's own included) | one eventfd of that peer, vector 0, 1, ... in order |
//! | later | a peer's ID | none: that peer left |

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

/// The protocol version this crate speaks (the first message of the
/// greeting). QEMU 7.2's ivshmem-doorbell accepts only 0.
pub const PROTOCOL_VERSION: i64 = 0;

/// The value of the message that carries the shared memory's descriptor.
pub const SHM_MESSAGE: i64 = -1;

/// The highest peer ID: IDs are 16 bits wide (the upper half of ivshmem's
/// Doorbell register and its IVPosition register).
pub const MAX_PEER_ID: u16 = u16::MAX;

/// The most interrupt vectors (eventfds) per peer a server hands out.
///
/// QEMU's ivshmem-doorbell takes the number of vectors it is given; 64 is
/// the limit QEMU's own server has, and more than enough for notification.
pub const MAX_VECTORS: u32 = 64;

/// One protocol message: a value and, optionally, a file descriptor.
#[derive(Debug)]
pub struct Message {
    /// The 64-bit value.
    pub value: i64,
    /// The descriptor that came with it, if any (close-on-exec).
    pub fd: Option<OwnedFd>,
}

/// What a receive gave.
#[derive(Debug)]
pub enum Received {
    /// A whole message.
    Message(Message),
    /// The other side closed the connection (at a message boundary).
    Eof,
    /// Non-blocking receive only: nothing is waiting.
    WouldBlock,
}

/// A malformed message, or a failed system call.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// `sendmsg`/`recvmsg` failed.
    #[error("{0}")]
    Io(Errno),
    /// The connection ended inside a message.
    #[error("the connection ended after {0} of a message's 8 bytes")]
    Truncated(usize),
    /// A message came with more than one descriptor (they were closed).
    #[error("a message came with {0} file descriptors; the protocol sends at most one")]
    TooManyFds(usize),
    /// The kernel truncated the ancillary data (descriptors were lost).
    #[error("a message's ancillary data was truncated (descriptors lost)")]
    ControlTruncated,
}

/// Sends one message (with `MSG_NOSIGNAL`: a closed peer is an `EPIPE`
/// error, not a `SIGPIPE`).
pub fn send(
    socket: BorrowedFd<'_>,
    value: i64,
    fd: Option<BorrowedFd<'_>>,
) -> Result<(), WireError> {
    let bytes = value.to_le_bytes();
    let raw = fd.map(|f| [f.as_raw_fd()]);
    let cmsgs: Vec<ControlMessage<'_>> = raw
        .as_ref()
        .map(|r| ControlMessage::ScmRights(r))
        .into_iter()
        .collect();
    let mut sent = 0;
    while sent < bytes.len() {
        // The descriptor goes with the first byte only.
        let c: &[ControlMessage<'_>] = if sent == 0 { &cmsgs } else { &[] };
        match sendmsg::<()>(
            socket.as_raw_fd(),
            &[IoSlice::new(&bytes[sent..])],
            c,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(n) => sent += n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(WireError::Io(e)),
        }
    }
    Ok(())
}

/// Receives one message; with `nonblocking`, returns
/// [`Received::WouldBlock`] if none has started arriving.
pub fn recv(socket: BorrowedFd<'_>, nonblocking: bool) -> Result<Received, WireError> {
    let mut bytes = [0u8; 8];
    let mut got = 0;
    let mut fds: Vec<OwnedFd> = Vec::new();
    while got < bytes.len() {
        let mut flags = MsgFlags::MSG_CMSG_CLOEXEC;
        if nonblocking && got == 0 {
            flags |= MsgFlags::MSG_DONTWAIT;
        }
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
        let mut iov = [IoSliceMut::new(&mut bytes[got..])];
        let msg = match recvmsg::<()>(socket.as_raw_fd(), &mut iov, Some(&mut space), flags) {
            Ok(m) => m,
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) if got == 0 && nonblocking => return Ok(Received::WouldBlock),
            Err(e) => return Err(WireError::Io(e)),
        };
        let n = msg.bytes;
        let truncated = msg.flags.contains(MsgFlags::MSG_CTRUNC);
        for c in msg.cmsgs().map_err(WireError::Io)? {
            if let ControlMessageOwned::ScmRights(raw) = c {
                for r in raw {
                    // SAFETY: the kernel has just installed this descriptor
                    // in our table for us (SCM_RIGHTS); nothing else owns it.
                    fds.push(unsafe { OwnedFd::from_raw_fd(r) });
                }
            }
        }
        if truncated {
            return Err(WireError::ControlTruncated);
        }
        if n == 0 {
            return if got == 0 && fds.is_empty() {
                Ok(Received::Eof)
            } else {
                Err(WireError::Truncated(got))
            };
        }
        got += n;
    }
    if fds.len() > 1 {
        return Err(WireError::TooManyFds(fds.len()));
    }
    Ok(Received::Message(Message {
        value: i64::from_le_bytes(bytes),
        fd: fds.pop(),
    }))
}
