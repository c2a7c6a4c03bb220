//! The file operations this crate performs on sysfs, in one place.
//!
//! Everything here goes through `std::fs` (config space uses positioned
//! reads and writes, `pread`/`pwrite`), so the crate needs no `unsafe`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::PciError;

/// Reads a small sysfs attribute file: `open`, `read` until end, `close`.
///
/// Unlike `std::fs::read_to_string` it asks for no file size first (sysfs
/// reports 4096 for every attribute anyway), which saves a system call per
/// attribute; under emulation every system call counts at start-up.
pub fn read_sysfs_attr(path: &Path) -> io::Result<String> {
    use std::io::Read;
    let mut f = File::open(path)?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 4096];
    loop {
        match f.read(&mut chunk) {
            Ok(0) => break,
            // A sysfs attribute is produced whole by one `show()` call, at
            // most a page: a short first read is the entire file.
            Ok(n) if n < chunk.len() && buf.is_empty() => {
                buf.extend_from_slice(&chunk[..n]);
                break;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Reads a sysfs attribute and trims surrounding whitespace.
pub(crate) fn read_attr(path: &Path) -> Result<String, PciError> {
    read_sysfs_attr(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| PciError::io("reading", path, e))
}

/// Reads a sysfs attribute if it exists.
pub(crate) fn read_attr_opt(path: &Path) -> Result<Option<String>, PciError> {
    match read_sysfs_attr(path) {
        Ok(s) => Ok(Some(s.trim().to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PciError::io("reading", path, e)),
    }
}

/// Parses a hex number with or without `0x`, as sysfs writes them
/// (`vendor`, `resource`, UIO `maps/mapN/addr`), ignoring surrounding space.
pub fn parse_hex(s: &str) -> Option<u64> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(t, 16).ok()
}

/// Reads a hex attribute (`0x1234\n`) that must fit in `max`.
pub(crate) fn read_hex(path: &Path, max: u64, expected: &'static str) -> Result<u64, PciError> {
    let s = read_attr(path)?;
    match parse_hex(&s) {
        Some(v) if v <= max => Ok(v),
        _ => Err(PciError::Parse {
            path: path.to_path_buf(),
            content: s,
            expected,
        }),
    }
}

/// The file name a symlink points to (`driver` → `…/uio_pci_generic`), or
/// `None` if the link does not exist.
pub(crate) fn link_name(path: &Path) -> Result<Option<String>, PciError> {
    match std::fs::read_link(path) {
        Ok(target) => Ok(target.file_name().map(|n| n.to_string_lossy().into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PciError::io("reading the link", path, e)),
    }
}

/// Writes a sysfs attribute in one `write` (as `echo value > file` does).
pub(crate) fn write_attr(path: &Path, value: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).truncate(true).open(path)?;
    f.write_all(value.as_bytes())
}

/// Opens a config-space file read-only or read-write.
pub(crate) fn open_config(path: &Path, writable: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(writable)
        .custom_flags(nix::libc::O_CLOEXEC)
        .open(path)
}

/// `pread`, retried on EINTR.
pub(crate) fn pread(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    loop {
        match file.read_at(buf, offset) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// `pwrite`, retried on EINTR.
pub(crate) fn pwrite(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    loop {
        match file.write_at(buf, offset) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}
