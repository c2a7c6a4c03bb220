//! The harness's error type.

use std::time::Duration;

/// Everything that can go wrong while provisioning, booting or talking to a VM.
///
/// The variants are deliberately distinct so tests can tell a QEMU crash
/// (for example edu's `hw_error()` abort) from a guest kernel panic, a hung
/// guest or a missing host package.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// A host tool or package is missing and could not be installed.
    #[error("provisioning failed: {message}{}", fmt_hint(.install_hint))]
    Provision {
        /// What is missing or what failed.
        message: String,
        /// The command a root user should run to fix it, if known.
        install_hint: Option<String>,
    },

    /// The guest kernel could not be found, downloaded or extracted.
    #[error("guest kernel: {0}")]
    Kernel(String),

    /// The VM configuration is invalid (for example an ivshmem size that is
    /// not a power of two, or a binary that does not exist).
    #[error("invalid VM configuration: {0}")]
    Config(String),

    /// Building the initramfs failed.
    #[error("initramfs: {0}")]
    Initramfs(String),

    /// The QEMU process died from a signal (typically SIGABRT from
    /// `hw_error()`/`abort()`, exit status 134 in a shell) or reported a
    /// `qemu: hardware error`.
    #[error(
        "QEMU crashed ({}){}\n--- QEMU stderr (tail) ---\n{stderr_tail}\n--- guest console (tail) ---\n{console_tail}",
        fmt_status(*.signal, *.exit_code),
        fmt_hw(.hardware_error)
    )]
    QemuCrashed {
        /// The signal that killed QEMU (6 = SIGABRT), if any.
        signal: Option<i32>,
        /// QEMU's exit code, if it exited normally.
        exit_code: Option<i32>,
        /// The `qemu: hardware error: ...` line, if QEMU printed one.
        hardware_error: Option<String>,
        /// The last lines of QEMU's stderr.
        stderr_tail: String,
        /// The last lines of the guest console (ttyS0).
        console_tail: String,
    },

    /// QEMU exited (with a plain exit code, no signal) without a kernel
    /// panic in the console: bad command line, missing firmware, ...
    #[error(
        "QEMU exited unexpectedly (exit code {exit_code:?})\n--- QEMU stderr (tail) ---\n{stderr_tail}\n--- guest console (tail) ---\n{console_tail}"
    )]
    QemuExited {
        /// QEMU's exit code.
        exit_code: Option<i32>,
        /// The last lines of QEMU's stderr.
        stderr_tail: String,
        /// The last lines of the guest console (ttyS0).
        console_tail: String,
    },

    /// The guest kernel panicked (`Kernel panic` in the console).
    #[error("guest kernel panic: {panic_line}\n--- guest console (tail) ---\n{console_tail}")]
    KernelPanic {
        /// The `Kernel panic - not syncing: ...` line.
        panic_line: String,
        /// The last lines of the guest console (ttyS0).
        console_tail: String,
    },

    /// The guest did not become ready within the boot timeout, or a command
    /// did not answer in time on the host side. The VM is killed: it cannot
    /// be used any more.
    #[error("timeout after {timeout:?} while {what}\n--- QEMU stderr (tail) ---\n{stderr_tail}\n--- guest console (tail) ---\n{console_tail}")]
    Timeout {
        /// What the harness was waiting for.
        what: String,
        /// How long it waited.
        timeout: Duration,
        /// The last lines of QEMU's stderr.
        stderr_tail: String,
        /// The last lines of the guest console (ttyS0).
        console_tail: String,
    },

    /// A guest command ran longer than its timeout and was killed (with its
    /// whole process group) by the guest agent. The VM stays usable.
    #[error(
        "guest command timed out after {timeout:?}: {command}\n--- output so far ---\n{output}"
    )]
    CommandTimeout {
        /// The command.
        command: String,
        /// Its timeout.
        timeout: Duration,
        /// What it printed before it was killed (stdout and stderr merged).
        output: String,
    },

    /// [`crate::Vm::run_ok`]: the command exited with a non-zero status.
    #[error("guest command failed with status {status}: {command}\n--- output ---\n{output}")]
    CommandFailed {
        /// The command.
        command: String,
        /// Its exit status.
        status: i32,
        /// Its output (stdout and stderr merged).
        output: String,
    },

    /// The guest's setup (module loading, driver binding) reported an error.
    #[error("guest setup failed (status {status}):\n{log}\n--- guest console (tail) ---\n{console_tail}")]
    GuestSetup {
        /// The setup script's status.
        status: i32,
        /// The setup script's log.
        log: String,
        /// The last lines of the guest console (ttyS0).
        console_tail: String,
    },

    /// The command channel carried something the harness does not understand.
    #[error("protocol error on the command channel: {0}")]
    Protocol(String),

    /// The VM is no longer running (it was shut down or a previous error
    /// killed it).
    #[error("the VM is not running any more: {0}")]
    NotRunning(String),

    /// An ivshmem server started by the harness did not start, or did not
    /// stop cleanly ([`crate::IvshmemServer`]).
    #[error("ivshmem server: {0}")]
    IvshmemServer(String),

    /// An I/O error on the host.
    #[error("{context}: {error}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The underlying error (part of the message, not a
        /// [`source`](std::error::Error::source)).
        error: std::io::Error,
    },
}

impl VmError {
    /// Wraps an I/O error with context.
    pub(crate) fn io(context: impl Into<String>, error: std::io::Error) -> Self {
        VmError::Io {
            context: context.into(),
            error,
        }
    }

    /// Wraps an I/O error about a path.
    pub(crate) fn io_path(what: &str, path: &std::path::Path, error: std::io::Error) -> Self {
        VmError::Io {
            context: format!("{what} {}", path.display()),
            error,
        }
    }

    /// True for the variants that mean the VM (QEMU or the guest kernel) is gone.
    pub fn is_vm_dead(&self) -> bool {
        matches!(
            self,
            VmError::QemuCrashed { .. }
                | VmError::QemuExited { .. }
                | VmError::KernelPanic { .. }
                | VmError::Timeout { .. }
                | VmError::NotRunning(_)
        )
    }
}

fn fmt_hint(hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!("\n  to fix, run as root: {h}"),
        None => String::new(),
    }
}

fn fmt_hw(hw: &Option<String>) -> String {
    match hw {
        Some(h) => format!(": {h}"),
        None => String::new(),
    }
}

fn fmt_status(signal: Option<i32>, exit_code: Option<i32>) -> String {
    match (signal, exit_code) {
        (Some(s), _) => format!("killed by signal {s} ({})", signal_name(s)),
        (None, Some(c)) => format!("exit code {c}"),
        (None, None) => "unknown status".to_string(),
    }
}

fn signal_name(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) => "unknown".to_string(),
    }
}

/// A shorthand used throughout the crate.
pub type Result<T, E = VmError> = std::result::Result<T, E>;
