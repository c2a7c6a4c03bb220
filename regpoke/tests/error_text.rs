//! The errno (or I/O error) behind a failure reaches the user once, with
//! its hint: the library errors carry it in their message (their
//! `source()` is `None`, see the README's thiserror note), and regpoke
//! prints that message.

use assert_cmd::Command;
use pci_sysfs::fake::{FakePci, FakeSysfs, FakeUio};

const EDU: &str = "0000:00:04.0";

/// Runs `regpoke ARGS`, expects exit status 1, returns stderr.
fn device_failure(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_regpoke"))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[track_caller]
fn once(text: &str, piece: &str) {
    assert_eq!(
        text.matches(piece).count(),
        1,
        "{piece:?} should appear exactly once in:\n{text}"
    );
}

#[test]
fn file_open_failure_names_the_os_error_once() {
    let dir = tempfile::tempdir().unwrap();
    let err = device_failure(&[
        "--spec".as_ref(),
        "edu".as_ref(),
        "--file".as_ref(),
        dir.path().as_os_str(),
        "--size".as_ref(),
        "4096".as_ref(),
        "read".as_ref(),
        "ID".as_ref(),
    ]);
    once(&err, "Is a directory (os error 21)");
}

/// A UIO device whose node is missing: uio-backend's `UioError::Open`,
/// with nix's errno text and the hint about devtmpfs.
#[test]
fn uio_open_failure_names_the_errno_and_hint_once() {
    let f = FakeSysfs::new().unwrap();
    f.add_pci(&FakePci::edu(EDU).with_driver("uio_pci_generic"))
        .unwrap();
    f.add_uio(&FakeUio::pci_generic(
        0,
        EDU,
        &[(0xfea0_0000, 0x10_0000, 0)],
        4096,
    ))
    .unwrap();
    std::fs::remove_file(f.root().join("dev/uio0")).unwrap();
    let err = device_failure(&[
        "--sysfs-root".as_ref(),
        f.root().as_os_str(),
        "--lock-dir".as_ref(),
        f.root().as_os_str(),
        "--spec".as_ref(),
        "edu".as_ref(),
        "--uio".as_ref(),
        "0".as_ref(),
        "read".as_ref(),
        "ID".as_ref(),
    ]);
    once(&err, "ENOENT: No such file or directory");
    once(&err, "is devtmpfs mounted?");
}
