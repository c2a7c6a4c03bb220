//! Helpers shared by regpoke's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use pci_sysfs::fake::{FakePci, FakeSysfs, FakeUio};
use tempfile::TempDir;

/// The PCI address of the fake edu in [`uio_tree`].
pub const UIO_DEV: &str = "0000:00:04.0";

/// A fake sysfs tree with an edu at [`UIO_DEV`] bound to uio_pci_generic,
/// uio0 = BAR0 (1 MiB, a plain file).
pub fn uio_tree() -> FakeSysfs {
    let f = FakeSysfs::new().unwrap();
    f.add_pci(&FakePci::edu(UIO_DEV).with_driver("uio_pci_generic"))
        .unwrap();
    f.add_uio(&FakeUio::pci_generic(
        0,
        UIO_DEV,
        &[(0xfea0_0000, 0x10_0000, 0)],
        4096,
    ))
    .unwrap();
    f
}

/// regpoke on `f`'s uio0 with the map `spec` (locks in the tree).
pub fn uio_command(f: &FakeSysfs, spec: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_regpoke"));
    c.arg("--sysfs-root")
        .arg(f.root())
        .arg("--lock-dir")
        .arg(f.root())
        .arg("--spec")
        .arg(spec)
        .arg("--uio")
        .arg("0");
    c
}

/// The test map with every access kind.
pub fn kinds_spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kinds.yaml")
}

/// A temporary directory with a zero-filled register file and a lock dir.
pub struct Dev {
    pub dir: TempDir,
    pub file: PathBuf,
    pub locks: PathBuf,
}

impl Dev {
    /// `size` zero bytes.
    pub fn new(size: usize) -> Dev {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("regs.bin");
        std::fs::write(&file, vec![0u8; size]).unwrap();
        let locks = dir.path().join("locks");
        std::fs::create_dir(&locks).unwrap();
        Dev { dir, file, locks }
    }

    /// A 1 MiB file for `--spec edu`, with edu's ID at offset 0.
    pub fn edu() -> Dev {
        let d = Dev::new(1 << 20);
        d.poke32(0, 0x0100_00ed);
        d
    }

    /// A 4 KiB file for the `kinds` test map.
    pub fn kinds() -> Dev {
        Dev::new(0x1000)
    }

    /// `regpoke --file FILE --lock-dir LOCKS` plus `args`.
    pub fn cmd(&self, spec: Option<&str>) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_regpoke"));
        if let Some(s) = spec {
            c.arg("--spec").arg(s);
        }
        c.arg("--file")
            .arg(&self.file)
            .arg("--lock-dir")
            .arg(&self.locks);
        c
    }

    /// `regpoke --spec edu --file …`.
    pub fn edu_cmd(&self) -> Command {
        self.cmd(Some("edu"))
    }

    /// `regpoke --spec kinds.yaml --file …`.
    pub fn kinds_cmd(&self) -> Command {
        let spec = kinds_spec();
        self.cmd(Some(spec.to_str().unwrap()))
    }

    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.file).unwrap()
    }

    pub fn peek32(&self, off: usize) -> u32 {
        let b = self.bytes();
        u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
    }

    pub fn peek64(&self, off: usize) -> u64 {
        let b = self.bytes();
        u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
    }

    pub fn poke(&self, off: usize, data: &[u8]) {
        let mut b = self.bytes();
        b[off..off + data.len()].copy_from_slice(data);
        std::fs::write(&self.file, b).unwrap();
    }

    pub fn poke32(&self, off: usize, v: u32) {
        self.poke(off, &v.to_le_bytes());
    }
}

/// Plain `regpoke` with no device options.
pub fn regpoke() -> Command {
    Command::new(env!("CARGO_BIN_EXE_regpoke"))
}

/// Runs and parses stdout as one JSON document.
pub fn json_of(cmd: &mut Command) -> (serde_json::Value, i32) {
    let out = cmd.output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{text}"));
    (v, out.status.code().unwrap_or(-1))
}
