//! `scripts/install.sh`: installs the test build of regpoke (never the
//! `dist` profile) into a scratch root with `DESTDIR` and `PREFIX=/usr`,
//! checks that what a user runs (the program, `man regpoke`, the shell
//! completions) works from there, then uninstalls and checks that nothing
//! is left.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("regpoke is a workspace member")
        .to_path_buf()
}

/// Every file the script installs, relative to `$DESTDIR`, for `PREFIX=/usr`.
const INSTALLED: &[&str] = &[
    "usr/bin/regpoke",
    "usr/share/man/man1/regpoke.1.gz",
    "usr/share/bash-completion/completions/regpoke",
    "usr/share/zsh/vendor-completions/_regpoke",
    "usr/share/fish/vendor_completions.d/regpoke.fish",
    "usr/share/doc/regpoke/LICENSE-MIT",
    "usr/share/doc/regpoke/LICENSE-APACHE",
];

/// `scripts/install.sh --binary <this test's regpoke> ARGS` with `DESTDIR`
/// and `PREFIX=/usr`; panics with its output unless it succeeds.
fn install_sh(destdir: &Path, args: &[&str]) -> Output {
    let out = Command::new(repo().join("scripts/install.sh"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_regpoke"))
        .args(args)
        .env("DESTDIR", destdir)
        .env("PREFIX", "/usr")
        .env_remove("REGPOKE_BINARY")
        .output()
        .expect("running scripts/install.sh");
    assert!(
        out.status.success(),
        "scripts/install.sh {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every regular file or symlink under `dir`, relative to it.
fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, acc: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, acc);
            } else {
                acc.insert(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut acc = BTreeSet::new();
    walk(dir, dir, &mut acc);
    acc
}

/// Runs `cmd`, panicking with its output unless it succeeds; returns stdout.
fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `prog` is on `PATH`.
fn on_path(prog: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
        .unwrap_or(false)
}

#[test]
fn install_script_installs_runs_and_uninstalls() {
    assert!(
        on_path("man"),
        "`man` is not installed, so the installed man page cannot be checked: \
         install the man-db package (scripts/test.sh does, as root)"
    );
    let dest = tempfile::tempdir().unwrap();
    let root = dest.path();

    install_sh(root, &[]);
    let expected: BTreeSet<String> = INSTALLED.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        files_under(root),
        expected,
        "the install put exactly these files under DESTDIR"
    );

    // The program.
    let bin = root.join("usr/bin/regpoke");
    let mode = std::fs::metadata(&bin).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755, "bin/regpoke has mode {mode:o}");
    let version = run_ok(Command::new(&bin).arg("--version"), "regpoke --version");
    assert_eq!(
        version.trim(),
        concat!("regpoke ", env!("CARGO_PKG_VERSION"))
    );
    let help = run_ok(Command::new(&bin).arg("--help"), "regpoke --help");
    assert!(help.contains("Usage: regpoke"), "{help}");

    // The man page: gzip (-n: no name, no time stamp), roff inside, and
    // man renders it.
    let man = root.join("usr/share/man/man1/regpoke.1.gz");
    let gz = std::fs::read(&man).unwrap();
    assert!(
        gz.len() > 18 && gz[..3] == [0x1f, 0x8b, 8],
        "regpoke.1.gz is not gzip"
    );
    assert_eq!(gz[3] & 0x08, 0, "regpoke.1.gz stores a file name (no -n)");
    assert_eq!(gz[4..8], [0; 4], "regpoke.1.gz stores a time stamp (no -n)");
    let roff = run_ok(Command::new("gzip").arg("-dc").arg(&man), "gzip -dc");
    assert!(roff.contains(".TH regpoke 1"), "not a man page:\n{roff}");
    let rendered = run_ok(
        Command::new("man")
            .arg("-l")
            .arg(&man)
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env("MANWIDTH", "80")
            .env("LC_ALL", "C"),
        "man -l regpoke.1.gz",
    );
    for heading in ["NAME", "SYNOPSIS", "DESCRIPTION"] {
        assert!(
            rendered.lines().any(|l| l.trim() == heading),
            "the rendered man page has no {heading} section:\n{rendered}"
        );
    }
    assert!(rendered.contains("regpoke"), "{rendered}");

    // The completions.
    for c in [
        "usr/share/bash-completion/completions/regpoke",
        "usr/share/zsh/vendor-completions/_regpoke",
        "usr/share/fish/vendor_completions.d/regpoke.fish",
    ] {
        let text = std::fs::read_to_string(root.join(c)).unwrap();
        assert!(text.contains("regpoke"), "{c} is empty or not regpoke's");
    }
    run_ok(
        Command::new("bash")
            .arg("-n")
            .arg(root.join("usr/share/bash-completion/completions/regpoke")),
        "bash -n on the bash completion",
    );

    // The license texts, as shipped.
    for l in ["LICENSE-MIT", "LICENSE-APACHE"] {
        assert_eq!(
            std::fs::read(root.join("usr/share/doc/regpoke").join(l)).unwrap(),
            std::fs::read(repo().join(l)).unwrap(),
            "{l}"
        );
    }

    // Uninstall removes every installed file (and regpoke's doc directory).
    install_sh(root, &["--uninstall"]);
    assert_eq!(
        files_under(root),
        BTreeSet::new(),
        "files left after --uninstall"
    );
    assert!(!root.join("usr/share/doc/regpoke").exists());
}
