//! `cargo run -p qemu -- <command>`: provision the host, boot a test VM and
//! run commands in it.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use qemu::{provision, Vm, VmConfig, VmError};

/// QEMU VM harness for the MMIO HAL: a Debian 6.1 kernel and a busybox
/// initramfs booted under TCG with QEMU's `edu` and `ivshmem-plain` PCI
/// devices bound to `uio_pci_generic`.
///
/// The guest kernel and its modules are cached in `<workspace>/.cache/vm`
/// (override with VM_CACHE_DIR). Set VM_KEEP=1 to keep a VM's work
/// directory (console log, QEMU stderr, initramfs) after it exits.
#[derive(Parser, Debug)]
#[command(name = "qemu", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Install missing host packages (qemu-system-x86, busybox-static,
    /// xz-utils, pkg-config, libudev-dev pinned to libudev1; needs root) and fetch and
    /// extract the guest kernel package linux-image-6.1.0-N-amd64 into the
    /// cache. Prints what it did.
    Provision,
    /// Boot a VM, run a command in it (or, without one, each line read from
    /// stdin), print the output, and exit with the command's status.
    Boot(BootArgs),
    /// Demonstrate crash detection: boot, start a 4096-byte edu DMA (which
    /// makes QEMU 7.2 abort with `hw_error`), and print the harness's error.
    /// Exits 0 if the crash was reported as a QEMU crash.
    AbortTest(VmArgs),
}

#[derive(Args, Debug)]
struct VmArgs {
    /// Add a host executable to the guest, as PATH[:GUESTPATH] (default
    /// guest path: /bin/<file name>). Shared libraries of dynamic binaries
    /// are added too. Repeatable.
    #[arg(long = "bin", value_name = "PATH[:GUESTPATH]")]
    bins: Vec<String>,
    /// Add a host file (no library resolution), as PATH:GUESTPATH. Repeatable.
    #[arg(long = "file", value_name = "PATH:GUESTPATH")]
    files: Vec<String>,
    /// Boot without the edu device.
    #[arg(long)]
    no_edu: bool,
    /// Boot without the ivshmem-plain device.
    #[arg(long)]
    no_ivshmem: bool,
    /// ivshmem shared-memory size in bytes (power of two, >= 4096).
    #[arg(long, value_name = "BYTES", default_value_t = qemu::DEFAULT_IVSHMEM_SIZE)]
    ivshmem_size: u64,
    /// Do not bind edu/ivshmem to uio_pci_generic (the modules are still loaded).
    #[arg(long)]
    no_bind: bool,
    /// Guest RAM in MiB.
    #[arg(long, value_name = "MIB", default_value_t = qemu::DEFAULT_MEMORY_MIB)]
    memory: u32,
    /// q35 machine with an emulated Intel IOMMU, intel_iommu=on, and the
    /// vfio modules loaded.
    #[arg(long)]
    vfio: bool,
    /// Extra raw QEMU argument. Repeatable; use --qemu-arg=-foo for values
    /// starting with a dash.
    #[arg(long = "qemu-arg", value_name = "ARG", allow_hyphen_values = true)]
    qemu_args: Vec<String>,
    /// Extra kernel command-line argument. Repeatable.
    #[arg(long = "kernel-arg", value_name = "ARG")]
    kernel_args: Vec<String>,
    /// Shell command run in the guest during setup, before the VM is
    /// reported ready. Repeatable.
    #[arg(long = "setup", value_name = "CMD")]
    setup: Vec<String>,
    /// Boot timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    boot_timeout: u64,
    /// Keep the VM's work directory after exit.
    #[arg(long)]
    keep: bool,
    /// Print the guest console log after the VM finished.
    #[arg(long)]
    console: bool,
}

#[derive(Args, Debug)]
struct BootArgs {
    #[command(flatten)]
    vm: VmArgs,
    /// Timeout per guest command, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    timeout: u64,
    /// The command to run in the guest (a shell command line; several
    /// words are joined with spaces).
    #[arg(last = true, value_name = "CMD")]
    cmd: Vec<String>,
}

fn config(a: &VmArgs) -> Result<VmConfig, String> {
    let mut c = VmConfig::default()
        .edu(!a.no_edu)
        .bind_uio(!a.no_bind)
        .memory_mib(a.memory)
        .vfio(a.vfio)
        .qemu_args(a.qemu_args.iter().cloned())
        .boot_timeout(Duration::from_secs(a.boot_timeout));
    if a.keep {
        c = c.keep_dir(true);
    }
    c = if a.no_ivshmem {
        c.ivshmem(false)
    } else {
        c.ivshmem_size(a.ivshmem_size)
    };
    for k in &a.kernel_args {
        c = c.kernel_arg(k.clone());
    }
    for s in &a.setup {
        c = c.setup(s.clone());
    }
    for b in &a.bins {
        let (host, guest) = match b.split_once(':') {
            Some((h, g)) => (PathBuf::from(h), g.to_string()),
            None => {
                let h = PathBuf::from(b);
                let name = h
                    .file_name()
                    .ok_or_else(|| format!("--bin {b}: no file name"))?
                    .to_string_lossy()
                    .into_owned();
                (h, format!("/bin/{name}"))
            }
        };
        c = c.binary(host, guest);
    }
    for f in &a.files {
        let (h, g) = f
            .split_once(':')
            .ok_or_else(|| format!("--file {f}: expected PATH:GUESTPATH"))?;
        c = c.file(h, g);
    }
    Ok(c)
}

fn do_provision() -> ExitCode {
    match provision::provision() {
        Ok(p) => {
            if p.actions.is_empty() {
                println!("nothing to do: everything was already in place");
            }
            for a in &p.actions {
                println!("{a}");
            }
            println!("qemu:    {}", p.qemu.display());
            println!("busybox: {}", p.busybox.display());
            println!(
                "kernel:  {} ({})",
                p.kernel.vmlinuz.display(),
                p.kernel.package
            );
            println!("boots:   {}", p.kernel.boot_image.display());
            println!("modules: {}", p.kernel.modules_dir.display());
            println!("cache:   {}", provision::cache_dir().display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_output(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Builds the configuration and boots; on failure prints the error and
/// returns the exit code (2 for a bad configuration, 1 for a failed boot).
fn boot_vm(a: &VmArgs) -> Result<Vm, ExitCode> {
    let cfg = config(a).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })?;
    Vm::boot(cfg).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })
}

fn do_boot(a: BootArgs) -> ExitCode {
    let vm = match boot_vm(&a.vm) {
        Ok(vm) => vm,
        Err(code) => return code,
    };
    eprintln!(
        "booted {} in {:.2?} (edu {}, ivshmem {} {})",
        vm.kernel_release(),
        vm.boot_time(),
        vm.edu_bdf().unwrap_or("-"),
        vm.ivshmem_bdf().unwrap_or("-"),
        vm.ivshmem_path()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    let timeout = Duration::from_secs(a.timeout);
    let code = if a.cmd.is_empty() {
        let stdin = std::io::stdin();
        let mut last = 0;
        eprint!("vm# ");
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            if !line.trim().is_empty() {
                match vm.run(&line, timeout) {
                    Ok(o) => {
                        print_output(&o.bytes);
                        last = o.status;
                        if o.status != 0 {
                            eprintln!("[status {}]", o.status);
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        last = 1;
                        if e.is_vm_dead() {
                            break;
                        }
                    }
                }
            }
            eprint!("vm# ");
        }
        eprintln!();
        last
    } else {
        match vm.run(&a.cmd.join(" "), timeout) {
            Ok(o) => {
                print_output(&o.bytes);
                o.status
            }
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        }
    };
    if a.vm.console {
        eprintln!("--- guest console ---\n{}", vm.console_log());
    }
    if let Err(e) = vm.shutdown() {
        eprintln!("error at shutdown: {e}");
    }
    ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
}

/// The guest commands that make edu DMA 4096 bytes into its buffer: QEMU
/// 7.2's range check is off by one and calls hw_error() -> abort().
pub const EDU_ABORT_SCRIPT: &str = r#"set -e
bdf=$(for d in /sys/bus/pci/devices/*; do if [ "$(cat $d/vendor) $(cat $d/device)" = "0x1234 0x11e8" ]; then echo ${d##*/}; fi; done)
bar=$(head -n1 /sys/bus/pci/devices/$bdf/resource | cut -d' ' -f1)
devmem $((bar + 0x80)) 32 0x100000
devmem $((bar + 0x88)) 32 0x40000
devmem $((bar + 0x90)) 32 4096
devmem $((bar + 0x98)) 32 1
sleep 5
echo "still alive"
"#;

fn do_abort_test(a: VmArgs) -> ExitCode {
    let vm = match boot_vm(&a) {
        Ok(vm) => vm,
        Err(code) => return code,
    };
    match vm.run(EDU_ABORT_SCRIPT, Duration::from_secs(30)) {
        Err(e @ VmError::QemuCrashed { .. }) => {
            println!("reported as expected:\n{e}");
            ExitCode::SUCCESS
        }
        other => {
            println!("unexpected result: {other:?}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Provision => do_provision(),
        Cmd::Boot(a) => do_boot(a),
        Cmd::AbortTest(a) => do_abort_test(a),
    }
}
