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
/// attribute; under emulation every system call counts at start-up. The
/// first read goes to a 1 KiB stack buffer (attributes are a few bytes;
/// `resource` is under 1 KiB), so nothing larger is cleared per file.
pub fn read_sysfs_attr(path: &Path) -> io::Result<String> {
    // A sysfs attribute is produced whole by one `show()` call, at most a
    // page: a short first read is the entire file.
    read_text::<1024>(path, true)
}

/// Reads a procfs table such as `/proc/bus/pci/devices` (any length; no
/// size query, which procfs would answer with 0 anyway).
pub(crate) fn read_proc_file(path: &Path) -> io::Result<String> {
    read_text::<4096>(path, false)
}

/// Reads `path` to its end in `CHUNK`-byte reads, or stops after a first
/// read shorter than `CHUNK` when `short_first_read_is_all`.
fn read_text<const CHUNK: usize>(path: &Path, short_first_read_is_all: bool) -> io::Result<String> {
    use std::io::Read;
    let mut f = File::open(path)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; CHUNK];
    loop {
        match f.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) if short_first_read_is_all && n < CHUNK && buf.is_empty() => {
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

/// Bus, devfn and vendor:device of each line of `/proc/bus/pci/devices`
/// (`0010\t123411e8\t…`: bus and devfn, then vendor and device, in hex).
/// Lines that do not parse are skipped.
pub(crate) fn parse_proc_pci_devices(s: &str) -> impl Iterator<Item = (u8, u8, u16, u16)> + '_ {
    s.lines().filter_map(|line| {
        let mut fields = line.split('\t');
        let bdf = fields.next()?;
        let id = fields.next()?;
        if bdf.len() != 4 || id.len() != 8 {
            return None;
        }
        let bdf = u16::from_str_radix(bdf, 16).ok()?;
        let id = u32::from_str_radix(id, 16).ok()?;
        Some(((bdf >> 8) as u8, bdf as u8, (id >> 16) as u16, id as u16))
    })
}

/// Vendor and device ID from a PCI `modalias` attribute
/// (`pci:v00001234d000011E8sv00001AF4sd00001100bc00scFFi00`).
pub(crate) fn parse_modalias(s: &str) -> Option<(u16, u16)> {
    let rest = s.trim().strip_prefix("pci:v")?;
    let vendor = rest.get(..8)?;
    let device = rest.get(8..)?.strip_prefix('d')?.get(..8)?;
    let hex16 = |t: &str| {
        if t.bytes().all(|b| b.is_ascii_hexdigit()) {
            u32::from_str_radix(t, 16)
                .ok()
                .and_then(|v| u16::try_from(v).ok())
        } else {
            None
        }
    };
    Some((hex16(vendor)?, hex16(device)?))
}

/// Whether `path` exists (one `stat`; `Path::exists` may first probe
/// for `statx` support with an extra system call).
pub(crate) fn exists(path: &Path) -> bool {
    nix::sys::stat::stat(path).is_ok()
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
