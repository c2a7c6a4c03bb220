//! Host-side helpers: booting a VM with the guest binary in it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use qemu::{Vm, VmConfig, VmError};

/// Where `vm-guest` is put inside the VM.
pub const GUEST_BIN: &str = "/bin/vm-guest";

/// Size of the ivshmem shared memory the tests use.
pub const IVSHMEM_SIZE: u64 = 1 << 20;

/// The VM the tests use: edu and ivshmem-plain bound to uio_pci_generic,
/// with `guest_bin` at [`GUEST_BIN`].
pub fn config(guest_bin: &Path) -> VmConfig {
    VmConfig::default()
        .ivshmem_size(IVSHMEM_SIZE)
        // 2 MiB hugepages for the DMA buffer case (4 MiB of the 256).
        .kernel_arg(format!("hugepages={}", crate::guest::GUEST_HUGEPAGES))
        .binary(guest_bin, GUEST_BIN)
}

/// Where `regpoke` is put inside the VM.
pub const GUEST_REGPOKE: &str = "/bin/regpoke";

/// Builds `regpoke` for the guest as it ships: see [`build_guest_binary`].
pub fn build_guest_regpoke() -> Result<PathBuf, String> {
    build_guest_binary("regpoke", "regpoke")
}

/// Where the `edu` driver binary is put inside the VM.
pub const GUEST_EDU: &str = "/bin/edu";

/// Builds the `edu` driver binary for the guest: see [`build_guest_binary`].
pub fn build_guest_edu() -> Result<PathBuf, String> {
    build_guest_binary("edu-driver", "edu")
}

/// Builds binary `bin` of `package` for the guest as it ships: profile
/// `dist` (release with whole-program optimisation), static, non-PIE (a
/// position-independent binary loads at a new address every run, and QEMU's
/// TCG then translates its code again each time), in its own target
/// directory (`target/guest`) so that it can be built while another cargo
/// command holds the main one.
pub fn build_guest_binary(package: &str, bin: &str) -> Result<PathBuf, String> {
    cargo_build(
        package,
        bin,
        "guest",
        &["--profile", "dist", "--target", "x86_64-unknown-linux-gnu"],
        Some("-C target-feature=+crt-static -C relocation-model=static"),
        "x86_64-unknown-linux-gnu/dist",
    )
}

/// Builds binary `bin` of `package` for the host (debug profile), in its
/// own target directory (`target/host-tools`), so that it can be built
/// while another cargo command holds the main one: for tools the tests
/// run on the host, such as `ivshmem-server`.
pub fn build_host_binary(package: &str, bin: &str) -> Result<PathBuf, String> {
    cargo_build(package, bin, "host-tools", &[], None, "debug")
}

/// `cargo build -q -p PACKAGE --bin BIN ARGS` into `target/DIR`; returns
/// `target/DIR/OUT/BIN`.
fn cargo_build(
    package: &str,
    bin: &str,
    dir: &str,
    args: &[&str],
    rustflags: Option<&str>,
    out: &str,
) -> Result<PathBuf, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace root")?;
    let target_dir = workspace.join("target").join(dir);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "-q", "-p", package, "--bin", bin])
        .args(args)
        .env("CARGO_TARGET_DIR", &target_dir);
    if let Some(f) = rustflags {
        cmd.env("RUSTFLAGS", f);
    }
    let built = cmd
        .output()
        .map_err(|e| format!("running cargo to build {bin}: {e}"))?;
    if !built.status.success() {
        return Err(format!(
            "building {bin} failed:\n{}",
            String::from_utf8_lossy(&built.stderr)
        ));
    }
    Ok(target_dir.join(out).join(bin))
}

/// Boots [`config`].
pub fn boot(guest_bin: &Path) -> Result<Vm, VmError> {
    Vm::boot(config(guest_bin))
}

/// `vm-guest` next to the running executable (for `vm-demo` and
/// `vm-bench`, which cargo builds into the same directory).
pub fn sibling_guest_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("finding this program: {e}"))?;
    let dir = exe
        .parent()
        .ok_or_else(|| "this program has no directory".to_string())?;
    let guest = dir.join("vm-guest");
    if guest.is_file() {
        Ok(guest)
    } else {
        Err(format!(
            "{} is missing: build it with `cargo build --release -p vm-tests --bins`",
            guest.display()
        ))
    }
}

/// Runs `vm-guest ARGS` in the VM; `Ok(output)` when it exits 0.
pub fn run_guest(vm: &Vm, args: &str, timeout: Duration) -> Result<String, String> {
    match vm.run(&format!("{GUEST_BIN} {args}"), timeout) {
        Ok(out) if out.success() => Ok(out.output),
        Ok(out) => Err(format!(
            "`vm-guest {args}` exited with {}:\n{}",
            out.status, out.output
        )),
        Err(e) => Err(format!("`vm-guest {args}`: {e}")),
    }
}
