//! Standard output and standard error: every byte regpoke prints goes
//! through here, so that a failed write is never lost silently.
//!
//! * A failed write to stdout (disk full, I/O error) is remembered; later
//!   output is dropped, and at exit [`finish`] reports it on stderr
//!   (`regpoke: error: writing to standard output: No space left on
//!   device`) and makes the exit status 1.
//! * A closed pipe (EPIPE, `regpoke dump | head`) is not an error, by Unix
//!   convention: the rest of the output is dropped quietly and the exit
//!   status is the command's own.
//! * Writes to stderr never fail the program (there is nowhere left to
//!   report it), and never panic, unlike `eprintln!`.

use std::io::{self, Write};
use std::sync::OnceLock;

use crate::error::Error;

/// The first failed write to stdout.
static FAILED: OnceLock<io::Error> = OnceLock::new();

fn record(e: io::Error) {
    let _ = FAILED.set(e);
}

/// Writes `s` to stdout (dropped once a write has failed).
pub fn out(s: &str) {
    if FAILED.get().is_some() || s.is_empty() {
        return;
    }
    let mut o = io::stdout().lock();
    if let Err(e) = o.write_all(s.as_bytes()) {
        record(e);
    }
}

/// Flushes stdout, remembering a failure.
pub fn flush() {
    if FAILED.get().is_some() {
        return;
    }
    if let Err(e) = io::stdout().lock().flush() {
        record(e);
    }
}

/// The text of an I/O error without Rust's ` (os error N)` suffix.
pub fn io_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

/// The error a failed write to stdout means, if one failed (a closed pipe
/// is not an error).
pub fn failure() -> Option<Error> {
    let e = FAILED.get()?;
    if e.kind() == io::ErrorKind::BrokenPipe {
        return None;
    }
    Some(
        Error::device(format!("writing to standard output: {}", io_text(e)))
            .hint("the output is incomplete; redirect standard output to a file or device that can take it (check free space)"),
    )
}

/// Flushes stdout at exit: returns `code`, or 1 (after saying why on
/// stderr) when output was lost.
pub fn finish(code: i32) -> i32 {
    flush();
    match failure() {
        Some(e) => {
            err(&format!("regpoke: error: {e}"));
            e.kind.exit_code()
        }
        None => code,
    }
}

/// Writes one line to stderr, ignoring failures (there is no other place
/// to report them).
pub fn err(line: &str) {
    let mut e = io::stderr().lock();
    let _ = e.write_all(line.as_bytes());
    let _ = e.write_all(b"\n");
}
