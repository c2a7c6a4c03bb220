//! `ivshmem-server`: the ivshmem server command (options in the style of
//! QEMU's `contrib/ivshmem-server`). See `ivshmem-server --help` and
//! `docs/ivshmem.md`.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use ivshmem::server::{parse_size, Server, ServerConfig, ShmBacking};

/// Shares memory between QEMU VMs (ivshmem-doorbell) and host processes,
/// with doorbells.
///
/// Creates the shared memory, listens on a UNIX socket and gives every
/// client that connects a peer ID (0, 1, 2, ... never reused while the
/// server runs), the memory's file descriptor and the eventfds of every
/// peer (one per interrupt vector); tells the peers when one joins or
/// leaves. On SIGINT or SIGTERM it removes the socket and the shared-memory
/// object and exits.
///
/// QEMU connects with
/// `-chardev socket,path=SOCKET,id=ivc -device ivshmem-doorbell,chardev=ivc,vectors=N`
/// (N as given with -n); host programs use the `ivshmem` Rust library.
#[derive(Parser, Debug)]
#[command(name = "ivshmem-server", version, after_help = AFTER_HELP)]
struct Cli {
    /// The UNIX socket to listen on. A stale socket (nobody listening) is
    /// replaced; a live one is refused
    #[arg(
        short = 'S',
        long = "socket",
        value_name = "PATH",
        default_value = "/tmp/ivshmem_socket"
    )]
    socket: PathBuf,

    /// POSIX shared-memory object name (shm_open; seen as /dev/shm/NAME),
    /// created by the server (refused if it exists) and removed when it
    /// stops
    #[arg(
        short = 'M',
        long = "shm",
        value_name = "NAME",
        default_value = "ivshmem",
        conflicts_with = "shm_dir"
    )]
    shm: String,

    /// Create the memory as a file in DIR instead (e.g. a hugetlbfs mount),
    /// unlinked at once, so nothing is left behind
    #[arg(short = 'm', long = "shm-dir", value_name = "DIR")]
    shm_dir: Option<PathBuf>,

    /// Size of the shared memory: bytes, or with a K, M, G suffix; a power
    /// of two (ivshmem's BAR2 must be one)
    #[arg(short = 'l', long = "size", value_name = "SIZE", default_value = "4M", value_parser = parse_size)]
    size: u64,

    /// Interrupt vectors (eventfds) per peer, 1 to 64; give QEMU the same
    /// number (vectors=N)
    #[arg(short = 'n', long = "vectors", value_name = "N", default_value_t = 1)]
    vectors: u32,

    /// Stay in the foreground (the default is to become a daemon once
    /// listening)
    #[arg(short = 'F', long = "foreground")]
    foreground: bool,

    /// Print a line for every event (peer joined, left) on standard error
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,

    /// Write the server's process ID to this file (removed on exit)
    #[arg(short = 'p', long = "pidfile", value_name = "FILE")]
    pidfile: Option<PathBuf>,

    /// Print the man page (roff) and exit
    #[arg(long = "man", hide = true)]
    man: bool,
}

const AFTER_HELP: &str = "\
Once listening, it prints one line on standard output:
  ivshmem-server: listening on PATH (shm NAME, SIZE bytes, N vectors)

Examples:
  ivshmem-server -F -v -S /tmp/ivshmem_socket -M ivshmem -l 1M -n 2
  qemu-system-x86_64 ... -chardev socket,path=/tmp/ivshmem_socket,id=ivc \\
      -device ivshmem-doorbell,chardev=ivc,vectors=2";

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.man {
        let mut buf = Vec::new();
        if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut buf) {
            eprintln!("ivshmem-server: rendering the man page: {e}");
            return ExitCode::FAILURE;
        }
        let _ = std::io::stdout().write_all(&buf);
        return ExitCode::SUCCESS;
    }
    let config = ServerConfig {
        socket: cli.socket.clone(),
        shm: match &cli.shm_dir {
            Some(d) => ShmBacking::Dir(d.clone()),
            None => ShmBacking::Posix(cli.shm.clone()),
        },
        size: cli.size,
        vectors: cli.vectors,
        verbose: cli.verbose,
    };
    let mut server = match Server::bind(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ivshmem-server: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", server.listening_line());
        let _ = out.flush();
    }
    if !cli.foreground {
        // glibc's daemon() leaves the parent with _exit, so the parent does
        // not run the server's drop (which would remove the socket).
        if let Err(e) = nix::unistd::daemon(false, false) {
            eprintln!("ivshmem-server: error: becoming a daemon: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Some(p) = &cli.pidfile {
        if let Err(e) = write_pidfile(p) {
            eprintln!(
                "ivshmem-server: error: writing the pidfile {}: {e}",
                p.display()
            );
            return ExitCode::FAILURE;
        }
    }
    let result = server.serve_until_signal();
    drop(server);
    if let Some(p) = &cli.pidfile {
        let _ = std::fs::remove_file(p);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ivshmem-server: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the process ID to `path` whole: into a temporary file beside it,
/// renamed over it, so that a reader never sees an empty or partial file.
fn write_pidfile(path: &std::path::Path) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, format!("{}\n", std::process::id()))?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
