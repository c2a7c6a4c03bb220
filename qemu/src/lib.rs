//! QEMU VM harness: provisions a Debian kernel, builds an initramfs, boots edu and ivshmem under TCG, runs guest commands
//!
//! ```no_run
//! use qemu::{Vm, VmConfig};
//! use std::time::Duration;
//!
//! // Installs missing host packages (as root) and fetches the guest kernel
//! // into `<workspace>/.cache/vm` on first use.
//! let vm = Vm::boot(VmConfig::default().binary("/path/to/static-test", "/bin/t"))?;
//! let out = vm.run("cat /sys/class/uio/uio0/name", Duration::from_secs(10))?;
//! assert_eq!(out.output.trim(), "uio_pci_generic");
//! println!("booted in {:?}, ivshmem file {:?}", vm.boot_time(), vm.ivshmem_path());
//! # Ok::<(), qemu::VmError>(())
//! ```
//!
//! * [`provision`]: host packages and the guest kernel ([`provision::ensure`]).
//! * [`VmConfig`]: devices (edu, ivshmem), guest files and binaries, modules.
//! * [`Vm`]: boot, [`Vm::run`] guest commands, ivshmem backing file, logs.
//! * [`IvshmemServer`]: an ivshmem server for `ivshmem-doorbell` VMs
//!   ([`VmConfig::ivshmem_doorbell`]), started and stopped by the harness.
//! * [`VmError`]: distinct errors for QEMU crashes, guest kernel panics,
//!   timeouts and provisioning problems.
//!
//! The guest's serial console (ttyS0) goes to a log file; the command
//! channel is the second serial port (ttyS1) on a UNIX socket, spoken by a
//! busybox `sh` agent (see [`protocol`]).
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod config;
pub mod cpio;
pub mod elf;
mod error;
pub mod initramfs;
mod ivshmem_server;
pub mod process;
pub mod protocol;
pub mod provision;
mod vm;

pub use config::{
    Doorbell, VmConfig, DEFAULT_BOOT_TIMEOUT, DEFAULT_IVSHMEM_SIZE, DEFAULT_MEMORY_MIB,
    MAX_DOORBELL_VECTORS, MAX_SOCKET_PATH,
};
pub use error::{Result, VmError};
pub use ivshmem_server::IvshmemServer;
pub use process::ExitInfo;
pub use provision::{Kernel, Provisioned, UIO_MODULES, VFIO_MODULES};
pub use vm::{classify_exit, qemu_args, CmdOutput, GuestJob, QemuPaths, Vm};
