//! A minimal writer (and reader, for tests) of the `newc` cpio format, the
//! format the Linux kernel unpacks as an initramfs.
//!
//! Each entry is a 110-byte ASCII header (`070701` followed by thirteen
//! 8-digit hex fields), the NUL-terminated name padded to a multiple of 4,
//! then the data padded to a multiple of 4. The archive ends with an entry
//! named `TRAILER!!!`.

use std::collections::BTreeMap;

/// File type bits (`S_IFMT`).
const S_IFMT: u32 = 0o170000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;

const MAGIC: &[u8; 6] = b"070701";
const TRAILER: &str = "TRAILER!!!";

/// What an archive entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file with its contents.
    File(Vec<u8>),
    /// A symbolic link to the given target.
    Symlink(String),
    /// A character device node (major, minor).
    CharDev(u32, u32),
}

/// One archive entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Permission bits (without the file type), e.g. `0o755`.
    pub perm: u32,
    /// What the entry is.
    pub kind: EntryKind,
}

impl Entry {
    fn mode(&self) -> u32 {
        let ty = match self.kind {
            EntryKind::Dir => S_IFDIR,
            EntryKind::File(_) => S_IFREG,
            EntryKind::Symlink(_) => S_IFLNK,
            EntryKind::CharDev(..) => S_IFCHR,
        };
        ty | (self.perm & 0o7777)
    }
}

/// An in-memory archive: a set of absolute guest paths and their entries.
///
/// Adding a path also adds its missing parent directories (mode 0755), and
/// [`Archive::to_bytes`] emits entries sorted by path, so every parent comes
/// before its children, as the kernel's unpacker requires.
#[derive(Debug, Default, Clone)]
pub struct Archive {
    entries: BTreeMap<String, Entry>,
}

/// Normalises a guest path to the form used in the archive: no leading `/`,
/// no empty or `.` components. Returns `None` for `..` components or an
/// empty path.
pub fn normalize(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}

impl Archive {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    fn ensure_parents(&mut self, path: &str) {
        let mut acc = String::new();
        let comps: Vec<&str> = path.split('/').collect();
        for c in &comps[..comps.len().saturating_sub(1)] {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(c);
            self.entries.entry(acc.clone()).or_insert(Entry {
                perm: 0o755,
                kind: EntryKind::Dir,
            });
        }
    }

    /// Inserts (or replaces) an entry. Returns `false` (and adds nothing) if
    /// the path is invalid (empty or containing `..`).
    pub fn insert(&mut self, path: &str, entry: Entry) -> bool {
        let Some(p) = normalize(path) else {
            return false;
        };
        self.ensure_parents(&p);
        self.entries.insert(p, entry);
        true
    }

    /// Adds a directory.
    pub fn dir(&mut self, path: &str, perm: u32) -> bool {
        self.insert(
            path,
            Entry {
                perm,
                kind: EntryKind::Dir,
            },
        )
    }

    /// Adds a regular file.
    pub fn file(&mut self, path: &str, perm: u32, data: Vec<u8>) -> bool {
        self.insert(
            path,
            Entry {
                perm,
                kind: EntryKind::File(data),
            },
        )
    }

    /// Adds a symbolic link.
    pub fn symlink(&mut self, path: &str, target: &str) -> bool {
        self.insert(
            path,
            Entry {
                perm: 0o777,
                kind: EntryKind::Symlink(target.to_string()),
            },
        )
    }

    /// Adds a character device node.
    pub fn char_dev(&mut self, path: &str, perm: u32, major: u32, minor: u32) -> bool {
        self.insert(
            path,
            Entry {
                perm,
                kind: EntryKind::CharDev(major, minor),
            },
        )
    }

    /// True if the archive has an entry at `path`.
    pub fn contains(&self, path: &str) -> bool {
        normalize(path).is_some_and(|p| self.entries.contains_key(&p))
    }

    /// Looks up an entry.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        normalize(path).and_then(|p| self.entries.get(&p))
    }

    /// The number of entries (directories included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if the archive has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Iterates over `(path, entry)` in archive order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Serialises the archive in `newc` format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (ino, (path, e)) in self.entries.iter().enumerate() {
            let (data, rdev): (&[u8], (u32, u32)) = match &e.kind {
                EntryKind::Dir => (&[], (0, 0)),
                EntryKind::File(d) => (d, (0, 0)),
                EntryKind::Symlink(t) => (t.as_bytes(), (0, 0)),
                EntryKind::CharDev(ma, mi) => (&[], (*ma, *mi)),
            };
            let nlink = if matches!(e.kind, EntryKind::Dir) {
                2
            } else {
                1
            };
            write_entry(&mut out, ino as u32 + 1, e.mode(), nlink, rdev, path, data);
        }
        write_entry(&mut out, 0, 0, 1, (0, 0), TRAILER, &[]);
        out
    }
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn write_entry(
    out: &mut Vec<u8>,
    ino: u32,
    mode: u32,
    nlink: u32,
    rdev: (u32, u32),
    name: &str,
    data: &[u8],
) {
    out.extend_from_slice(MAGIC);
    let fields = [
        ino,
        mode,
        0, // uid
        0, // gid
        nlink,
        0, // mtime
        data.len() as u32,
        0, // dev major
        0, // dev minor
        rdev.0,
        rdev.1,
        name.len() as u32 + 1,
        0, // check
    ];
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
}

/// Parses a `newc` archive (as written by [`Archive::to_bytes`] or by
/// `cpio -H newc`). Used by tests and diagnostics.
pub fn parse(bytes: &[u8]) -> Result<Archive, String> {
    let mut pos = 0usize;
    let mut archive = Archive::new();
    loop {
        let hdr = bytes
            .get(pos..pos + 110)
            .ok_or_else(|| format!("truncated header at offset {pos}"))?;
        if &hdr[..6] != MAGIC {
            return Err(format!("bad magic at offset {pos}"));
        }
        let field = |i: usize| -> Result<u32, String> {
            let s = std::str::from_utf8(&hdr[6 + i * 8..6 + (i + 1) * 8])
                .map_err(|_| format!("non-ASCII header field at offset {pos}"))?;
            u32::from_str_radix(s, 16).map_err(|_| format!("bad hex field {s:?} at {pos}"))
        };
        let mode = field(1)?;
        let filesize = field(6)? as usize;
        let rdev = (field(9)?, field(10)?);
        let namesize = field(11)? as usize;
        if namesize == 0 {
            return Err(format!("zero name size at offset {pos}"));
        }
        let name_start = pos + 110;
        let name_bytes = bytes
            .get(name_start..name_start + namesize)
            .ok_or_else(|| format!("truncated name at offset {pos}"))?;
        if name_bytes[namesize - 1] != 0 {
            return Err(format!("name not NUL-terminated at offset {pos}"));
        }
        let name = std::str::from_utf8(&name_bytes[..namesize - 1])
            .map_err(|_| format!("non-UTF-8 name at offset {pos}"))?
            .to_string();
        let data_start = (name_start + namesize).next_multiple_of(4);
        let data = bytes
            .get(data_start..data_start + filesize)
            .ok_or_else(|| format!("truncated data of {name:?}"))?;
        pos = (data_start + filesize).next_multiple_of(4);
        if name == TRAILER {
            return Ok(archive);
        }
        let perm = mode & 0o7777;
        let kind = match mode & S_IFMT {
            S_IFDIR => EntryKind::Dir,
            S_IFREG => EntryKind::File(data.to_vec()),
            S_IFLNK => EntryKind::Symlink(
                String::from_utf8(data.to_vec())
                    .map_err(|_| format!("non-UTF-8 symlink target of {name:?}"))?,
            ),
            S_IFCHR => EntryKind::CharDev(rdev.0, rdev.1),
            other => return Err(format!("unsupported file type {other:o} for {name:?}")),
        };
        archive.entries.insert(name, Entry { perm, kind });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Archive {
        let mut a = Archive::new();
        a.file("/bin/busybox", 0o755, vec![1, 2, 3, 4, 5]);
        a.symlink("/bin/sh", "busybox");
        a.char_dev("/dev/console", 0o600, 5, 1);
        a.file("/init", 0o755, b"#!/bin/sh\necho hi\n".to_vec());
        a.file("/empty", 0o644, vec![]);
        a.dir("/proc", 0o555);
        a
    }

    #[test]
    fn round_trip() {
        let a = sample();
        let bytes = a.to_bytes();
        assert_eq!(bytes.len() % 4, 0);
        let b = parse(&bytes).expect("parses");
        assert_eq!(a.entries, b.entries);
        // Parents were added automatically.
        assert_eq!(b.get("bin").map(|e| &e.kind), Some(&EntryKind::Dir));
        assert_eq!(b.get("/dev").map(|e| e.perm), Some(0o755));
    }

    #[test]
    fn parents_come_first() {
        let mut a = Archive::new();
        a.file("/z/y/x/file", 0o644, vec![9]);
        a.file("/a", 0o644, vec![]);
        let names: Vec<&str> = a.iter().map(|(p, _)| p).collect();
        let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(pos("z") < pos("z/y"));
        assert!(pos("z/y") < pos("z/y/x"));
        assert!(pos("z/y/x") < pos("z/y/x/file"));
    }

    #[test]
    fn rejects_bad_paths() {
        let mut a = Archive::new();
        assert!(!a.file("/../etc/passwd", 0o644, vec![]));
        assert!(!a.file("/", 0o644, vec![]));
        assert!(a.is_empty());
        assert_eq!(normalize("//a/./b/"), Some("a/b".to_string()));
    }

    #[test]
    fn parse_rejects_garbage() {
        assert!(parse(b"hello").is_err());
        let mut bytes = sample().to_bytes();
        bytes.truncate(bytes.len() - 200);
        assert!(parse(&bytes).is_err());
    }

    #[test]
    fn system_cpio_lists_archive() {
        // Cross-check with GNU cpio when it is installed (optional tool).
        let Ok(out) = std::process::Command::new("cpio").arg("--version").output() else {
            eprintln!("skipped: cpio not installed");
            return;
        };
        if !out.status.success() {
            return;
        }
        let dir = std::env::temp_dir().join(format!("qemu-cpio-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.cpio");
        std::fs::write(&file, sample().to_bytes()).unwrap();
        let out = std::process::Command::new("cpio")
            .args(["-t", "--quiet", "-F"])
            .arg(&file)
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert!(out.status.success(), "{out:?}");
        let listing = String::from_utf8_lossy(&out.stdout);
        for p in ["bin/busybox", "bin/sh", "dev/console", "init", "proc"] {
            assert!(listing.lines().any(|l| l == p), "{p} missing in {listing}");
        }
    }
}
