//! The `ivshmem-server` command's help and man page.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ivshmem-server");

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(out.status.success(), "ivshmem-server {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_lists_the_qemu_style_options() {
    let help = run(&["--help"]);
    for option in [
        "-S, --socket <PATH>",
        "-M, --shm <NAME>",
        "-m, --shm-dir <DIR>",
        "-l, --size <SIZE>",
        "-n, --vectors <N>",
        "-F, --foreground",
        "-v, --verbose",
        "-p, --pidfile <FILE>",
        "ivshmem-server: listening on PATH",
    ] {
        assert!(help.contains(option), "--help lacks {option:?}:\n{help}");
    }
}

#[test]
fn the_man_page_renders() {
    let roff = run(&["--man"]);
    assert!(
        roff.contains(".TH ivshmem-server 1"),
        "not a man page:\n{roff}"
    );
    assert!(roff.contains("Shares memory between QEMU VMs"), "{roff}");
    assert!(roff.contains("shm\\-dir"), "{roff}");
    // man renders it (man-db is installed by scripts/test.sh).
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("ivshmem-server.1");
    std::fs::write(&page, &roff).unwrap();
    let out = Command::new("man")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "80")
        .env("LC_ALL", "C")
        .arg("-l")
        .arg(&page)
        .output()
        .expect(
            "`man` is not installed: install the man-db package (scripts/test.sh does, as root)",
        );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    for heading in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS"] {
        assert!(
            text.lines().any(|l| l.trim() == heading),
            "no {heading} section:\n{text}"
        );
    }
}
