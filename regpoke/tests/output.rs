//! regpoke never loses output silently, reads no file without bound, and
//! treats "nothing to map" alike however it comes about.
//!
//! * A failed write to standard output (here: `/dev/full`, which fails
//!   every write with ENOSPC) is an error on stderr with exit 1, for every
//!   kind of output: values, dump, JSON, `spec check`, batch. Before, the
//!   write errors were ignored and regpoke exited 0 with nothing printed.
//! * A closed pipe (EPIPE) stays quiet: exit 0, nothing on stderr.
//! * With `--json`, usage errors from the argument parser are a JSON
//!   document on stdout too.
//! * Register maps and batch scripts are read up to a size limit, so a
//!   wrong path (`/dev/zero`) or a huge file is refused at once instead of
//!   being read into memory whole.

mod common;

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::process::{Command, Stdio};

use common::{json_of, regpoke, Dev};

/// `/dev/full` opened for writing, to be a child's stdout; `None` (and the
/// test does nothing) where the system has none.
fn dev_full() -> Option<File> {
    OpenOptions::new().write(true).open("/dev/full").ok()
}

/// Runs `cmd` with stdout on /dev/full; returns (exit code, stderr).
fn run_into_full(mut cmd: Command) -> Option<(i32, String)> {
    let full = dev_full()?;
    let out = cmd
        .stdout(Stdio::from(full))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

fn assert_output_lost(cmd: Command) {
    let Some((code, stderr)) = run_into_full(cmd) else {
        eprintln!("no /dev/full: skipped");
        return;
    };
    assert_eq!(code, 1, "stderr: {stderr}");
    assert!(
        stderr.contains("regpoke: error: writing to standard output: No space left on device"),
        "stderr: {stderr}"
    );
}

fn edu(d: &Dev, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_regpoke"));
    c.arg("--spec")
        .arg("edu")
        .arg("--file")
        .arg(&d.file)
        .arg("--lock-dir")
        .arg(&d.locks)
        .args(args);
    c
}

#[test]
fn read_into_a_full_disk_is_an_error() {
    let d = Dev::edu();
    assert_output_lost(edu(&d, &["read", "ID"]));
}

#[test]
fn dump_into_a_full_disk_is_an_error() {
    let d = Dev::edu();
    assert_output_lost(edu(&d, &["dump"]));
}

#[test]
fn json_read_into_a_full_disk_is_an_error() {
    let d = Dev::edu();
    assert_output_lost(edu(&d, &["--json", "read", "ID"]));
}

#[test]
fn spec_check_into_a_full_disk_is_an_error() {
    let mut c = Command::new(env!("CARGO_BIN_EXE_regpoke"));
    c.args(["spec", "check", "edu"]);
    assert_output_lost(c);
}

#[test]
fn batch_into_a_full_disk_is_an_error_and_stops() {
    let d = Dev::edu();
    let script = d.dir.path().join("s.rp");
    // The output fails at line 1; the batch stops before line 3's write.
    std::fs::write(&script, "read ID\nsleep 1ms\nwrite LIVENESS=7\n").unwrap();
    let mut c = edu(&d, &["batch"]);
    c.arg(&script);
    assert_output_lost(c);
    if dev_full().is_some() {
        assert_eq!(
            d.peek32(0x4),
            0,
            "the batch went on after its output failed"
        );
    }
}

#[test]
fn a_closed_pipe_is_quiet_and_exits_0() {
    let d = Dev::edu();
    let script = d.dir.path().join("many.rp");
    // About 220 KB of output: more than a pipe holds, so regpoke is still
    // writing when the reader goes away, whatever the scheduling.
    std::fs::write(&script, "read ID\n".repeat(20_000)).unwrap();
    let mut c = edu(&d, &["batch"]);
    c.arg(&script);
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn json_usage_errors_from_the_parser_are_json_documents() {
    let (v, code) = json_of(regpoke().args(["--json", "--bogus"]));
    assert_eq!(code, 2);
    assert_eq!(v["regpoke"], 1);
    assert_eq!(v["error"]["kind"], "usage");
    assert_eq!(v["error"]["exit_code"], 2);
    assert!(v["error"]["message"].as_str().unwrap().contains("--bogus"));

    let (v, code) = json_of(regpoke().args(["--json", "read"]));
    assert_eq!(code, 2);
    assert_eq!(v["command"], "read");
    assert_eq!(v["backend"], serde_json::Value::Null);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("required arguments were not provided: <TARGET>"),
        "{msg}"
    );
}

/// A sparse file one byte over the limit: costs no disk space.
fn big_sparse(d: &Dev, name: &str) -> std::path::PathBuf {
    let p = d.dir.path().join(name);
    File::create(&p).unwrap().set_len((16 << 20) + 1).unwrap();
    p
}

#[test]
fn a_register_map_larger_than_16_mib_is_refused() {
    let d = Dev::edu();
    let big = big_sparse(&d, "big.yaml");
    for args in [
        vec![
            "spec".to_string(),
            "check".into(),
            big.display().to_string(),
        ],
        vec![
            "--spec".into(),
            big.display().to_string(),
            "--file".into(),
            d.file.display().to_string(),
            "read".into(),
            "ID".into(),
        ],
    ] {
        let out = regpoke().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "register map {} is larger than 16 MiB",
                big.display()
            )),
            "{err}"
        );
    }
}

#[test]
fn dev_zero_as_a_register_map_is_refused_without_reading_it_all() {
    let out = regpoke()
        .args(["spec", "check", "/dev/zero"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("register map /dev/zero is larger than 16 MiB"),
        "{err}"
    );
}

#[test]
fn a_batch_script_larger_than_16_mib_is_refused() {
    let d = Dev::edu();
    let big = big_sparse(&d, "big.rp");
    let out = edu(&d, &["batch"]).arg(&big).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "batch file {} is larger than 16 MiB",
            big.display()
        )),
        "{err}"
    );
    // Standard input has the same limit.
    let Ok(zero) = File::open("/dev/zero") else {
        return;
    };
    let out = edu(&d, &["batch", "-"])
        .stdin(Stdio::from(zero))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("batch file <stdin> is larger than 16 MiB"),
        "{err}"
    );
}

#[test]
fn nothing_to_map_has_one_exit_code_whatever_the_cause() {
    let d = Dev::edu();
    let empty = d.dir.path().join("empty.bin");
    File::create(&empty).unwrap();
    let run = |args: &[&str]| {
        let out = regpoke().args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let file = d.file.display().to_string();
    let empty = empty.display().to_string();
    let (a, ea) = run(&["--spec", "edu", "--file", &empty, "read", "ID"]);
    let (b, eb) = run(&[
        "--spec", "edu", "--file", &file, "--size", "0", "read", "ID",
    ]);
    let (c, ec) = run(&["--devmem", "0x1000", "--size", "0", "read", "0x0"]);
    assert_eq!(a, Some(2), "{ea}");
    assert_eq!(b, a, "{eb}");
    assert_eq!(c, a, "{ec}");
    for e in [ea, eb, ec] {
        assert!(e.contains("nothing to map"), "{e}");
    }
}
