//! The system calls this crate makes (besides `mmap`, which is hal-core's), in one place.
//!
//! All through `nix`'s safe wrappers: this crate has no `unsafe`.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::{Mode, SFlag};

/// Opens a file read-write and close-on-exec; `sync` adds `O_SYNC`, which
/// makes `/dev/mem` mappings uncached (UC-) on x86.
pub(crate) fn open_rw(path: &Path, sync: bool) -> nix::Result<OwnedFd> {
    let mut flags = OFlag::O_RDWR | OFlag::O_CLOEXEC;
    if sync {
        flags |= OFlag::O_SYNC;
    }
    nix::fcntl::open(path, flags, Mode::empty())
}

/// The size of `fd` if it is a regular file (`None` for devices and others).
pub(crate) fn regular_file_size(fd: impl AsFd) -> nix::Result<Option<u64>> {
    let st = nix::sys::stat::fstat(fd)?;
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    if kind == SFlag::S_IFREG {
        Ok(Some(u64::try_from(st.st_size).unwrap_or(0)))
    } else {
        Ok(None)
    }
}

/// Whether the effective user is root.
pub(crate) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The active kernel lockdown mode (`integrity`/`confidentiality`), if any
/// and if securityfs shows it.
pub(crate) fn lockdown_mode() -> Option<String> {
    let s = std::fs::read_to_string("/sys/kernel/security/lockdown").ok()?;
    let start = s.find('[')?;
    let end = s[start..].find(']')? + start;
    let mode = &s[start + 1..end];
    (mode != "none").then(|| mode.to_string())
}
