//! Lock files are safe to create in a world-writable directory: their
//! names are predictable, so anyone could plant a symbolic link or a FIFO
//! at a lock path before regpoke (perhaps running as root) opens it.
//!
//! * A symbolic link at the lock path is refused with an error naming it,
//!   and neither its target nor the register is touched (before, regpoke
//!   followed it, creating or opening the target).
//! * A FIFO there is refused at once (not a regular file), not waited on.
//! * A lock file regpoke creates is owner-only (0600), or group-shared in
//!   a directory set up for a group (group-writable, not world-writable).

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use common::Dev;
use predicates::prelude::*;
use predicates::str::contains;

/// The lock file of edu's STATUS (offset 0x20) in `d`'s register file.
fn status_lock(d: &Dev) -> PathBuf {
    let m = std::fs::metadata(&d.file).unwrap();
    d.locks
        .join(format!("regpoke-file-{:x}-{:x}-20.lock", m.dev(), m.ino()))
}

#[test]
fn a_symlink_at_the_lock_path_is_refused_and_its_target_untouched() {
    let d = Dev::edu();
    let target = d.dir.path().join("precious");
    std::fs::write(&target, b"keep me").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let lock = status_lock(&d);
    std::os::unix::fs::symlink(&target, &lock).unwrap();
    // A field write of an rw register is a read-modify-write: it locks.
    d.edu_cmd()
        .args(["write", "STATUS.IRQFACT=1"])
        .assert()
        .code(1)
        .stderr(contains(lock.display().to_string()).and(contains("symbolic link")));
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    assert_eq!(
        std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
        0o644
    );
    assert_eq!(d.peek32(0x20), 0, "the write went ahead without its lock");
}

#[test]
fn a_dangling_symlink_at_the_lock_path_creates_nothing() {
    let d = Dev::edu();
    let target = d.dir.path().join("created-through-the-link");
    let lock = status_lock(&d);
    std::os::unix::fs::symlink(&target, &lock).unwrap();
    d.edu_cmd()
        .args(["write", "STATUS.IRQFACT=1"])
        .assert()
        .code(1)
        .stderr(contains("symbolic link"));
    assert!(!target.exists(), "regpoke created the link's target");
}

#[test]
fn a_fifo_at_the_lock_path_is_refused_without_blocking() {
    let d = Dev::edu();
    let lock = status_lock(&d);
    nix::unistd::mkfifo(&lock, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    d.edu_cmd()
        .args(["write", "STATUS.IRQFACT=1"])
        .timeout(std::time::Duration::from_secs(10))
        .assert()
        .code(1)
        .stderr(contains("not a regular file"));
}

#[test]
fn a_created_lock_file_is_owner_only() {
    let d = Dev::edu();
    std::fs::set_permissions(&d.locks, std::fs::Permissions::from_mode(0o755)).unwrap();
    d.edu_cmd()
        .args(["write", "STATUS.IRQFACT=1"])
        .assert()
        .success();
    let mode = std::fs::metadata(status_lock(&d))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[test]
fn in_a_group_lock_directory_the_group_may_share_the_file() {
    let d = Dev::edu();
    std::fs::set_permissions(&d.locks, std::fs::Permissions::from_mode(0o2770)).unwrap();
    d.edu_cmd()
        .args(["write", "STATUS.IRQFACT=1"])
        .assert()
        .success();
    let mode = std::fs::metadata(status_lock(&d))
        .unwrap()
        .permissions()
        .mode();
    // 0660 less the umask: the group can at least read (enough for flock),
    // others get nothing.
    assert_eq!(mode & 0o600, 0o600, "mode {mode:o}");
    assert_ne!(mode & 0o040, 0, "mode {mode:o}");
    assert_eq!(mode & 0o007, 0, "mode {mode:o}");
}
