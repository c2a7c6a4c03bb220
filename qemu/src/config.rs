//! [`VmConfig`]: what to boot.

use std::path::PathBuf;
use std::time::Duration;

use crate::provision::{UIO_MODULES, VFIO_MODULES};

/// Default ivshmem shared-memory size: 1 MiB.
pub const DEFAULT_IVSHMEM_SIZE: u64 = 1 << 20;
/// Default guest RAM: 256 MiB, so edu's 28-bit DMA mask covers all of it.
pub const DEFAULT_MEMORY_MIB: u32 = 256;
/// Default boot timeout.
pub const DEFAULT_BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// The most MSI-X vectors an `ivshmem-doorbell` device can have (the size
/// limit of a PCI MSI-X table).
pub const MAX_DOORBELL_VECTORS: u32 = 2048;
/// The longest UNIX socket path (`sun_path` holds 108 bytes with the NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// An `ivshmem-doorbell` device: its memory and eventfds come from an
/// ivshmem server listening on `socket`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doorbell {
    /// The server's UNIX socket.
    pub socket: PathBuf,
    /// Number of MSI-X vectors (eventfds per peer); the server must be
    /// started with the same number.
    pub vectors: u32,
}

/// Where a guest file's contents come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A host file, read when the initramfs is built.
    Host(PathBuf),
    /// Literal contents.
    Bytes(Vec<u8>),
}

/// A file to put into the initramfs.
#[derive(Debug, Clone)]
pub(crate) struct GuestFile {
    pub(crate) source: Source,
    pub(crate) guest_path: String,
    /// `None`: take the host file's permissions (or 0644 for bytes).
    pub(crate) mode: Option<u32>,
    /// Resolve and copy shared libraries if it is a dynamic ELF.
    pub(crate) with_libs: bool,
}

/// The configuration of a VM: devices, guest files, kernel modules, and
/// QEMU/kernel command-line additions. Build it with the chained methods:
///
/// ```no_run
/// use qemu::{Vm, VmConfig};
/// use std::time::Duration;
/// let vm = Vm::boot(
///     VmConfig::default()
///         .binary("target/x86_64-unknown-linux-gnu/debug/edu-probe", "/bin/edu-probe")
///         .ivshmem_size(1 << 20),
/// )?;
/// let out = vm.run("edu-probe", Duration::from_secs(30))?;
/// assert_eq!(out.status, 0, "{}", out.output);
/// # Ok::<(), qemu::VmError>(())
/// ```
///
/// Defaults: `-M pc`, 256 MiB, one CPU, TCG; an `edu` device
/// (`dma_mask=0xffffffffffffffff`) and an `ivshmem-plain` device with 1 MiB
/// of shared memory, both bound to `uio_pci_generic`; a 60 s boot timeout.
#[derive(Debug, Clone)]
pub struct VmConfig {
    pub(crate) edu: bool,
    pub(crate) ivshmem_size: Option<u64>,
    pub(crate) doorbell: Option<Doorbell>,
    pub(crate) bind_uio: bool,
    pub(crate) memory_mib: u32,
    pub(crate) vfio: bool,
    pub(crate) qemu_args: Vec<String>,
    pub(crate) kernel_args: Vec<String>,
    pub(crate) files: Vec<GuestFile>,
    pub(crate) include_modules: Vec<String>,
    pub(crate) load_modules: Vec<String>,
    pub(crate) setup: Vec<String>,
    pub(crate) boot_timeout: Duration,
    pub(crate) keep_dir: bool,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            edu: true,
            ivshmem_size: Some(DEFAULT_IVSHMEM_SIZE),
            doorbell: None,
            bind_uio: true,
            memory_mib: DEFAULT_MEMORY_MIB,
            vfio: false,
            qemu_args: Vec::new(),
            kernel_args: Vec::new(),
            files: Vec::new(),
            include_modules: UIO_MODULES
                .iter()
                .chain(VFIO_MODULES)
                .map(|s| s.to_string())
                .collect(),
            load_modules: UIO_MODULES.iter().map(|s| s.to_string()).collect(),
            setup: Vec::new(),
            boot_timeout: DEFAULT_BOOT_TIMEOUT,
            keep_dir: std::env::var_os("VM_KEEP").is_some_and(|v| !v.is_empty() && v != "0"),
        }
    }
}

impl VmConfig {
    /// The default configuration (edu + 1 MiB ivshmem, bound to uio_pci_generic).
    pub fn new() -> Self {
        Self::default()
    }

    /// With or without the `edu` device (default: with).
    pub fn edu(mut self, on: bool) -> Self {
        self.edu = on;
        self
    }

    /// With or without the `ivshmem-plain` device (default: with, 1 MiB).
    /// `false` also removes an `ivshmem-doorbell` device.
    pub fn ivshmem(mut self, on: bool) -> Self {
        self.ivshmem_size = if on {
            self.doorbell = None;
            Some(self.ivshmem_size.unwrap_or(DEFAULT_IVSHMEM_SIZE))
        } else {
            self.doorbell = None;
            None
        };
        self
    }

    /// Adds ivshmem-plain with this shared-memory size in bytes (a power of
    /// two, at least 4096; checked at boot), instead of ivshmem-doorbell.
    pub fn ivshmem_size(mut self, bytes: u64) -> Self {
        self.ivshmem_size = Some(bytes);
        self.doorbell = None;
        self
    }

    /// Uses `ivshmem-doorbell` instead of `ivshmem-plain`: QEMU connects to
    /// the ivshmem server listening on `socket` (`-chardev socket,...
    /// -device ivshmem-doorbell,chardev=...,vectors=N`) and gets the shared
    /// memory, its peer ID and every peer's eventfds from it. The server
    /// must already listen when the VM boots (QEMU exits at start-up
    /// otherwise) and must have been started with the same number of
    /// `vectors` (1 to [`MAX_DOORBELL_VECTORS`]). Several VMs can use the
    /// same socket.
    ///
    /// The device keeps ivshmem's PCI ID (1af4:1110), so the guest binds it
    /// to `uio_pci_generic` as before: BAR0 (the registers, with IVPosition
    /// and Doorbell) is UIO map 0. BAR1 is the MSI-X table (unusable
    /// through uio_pci_generic, which only knows INTx: a guest can ring
    /// doorbells but not receive them), and BAR2, the shared memory, is a
    /// 64-bit prefetchable BAR that UIO does not expose: map it through
    /// sysfs `resource2`. To receive doorbells in the guest, combine with
    /// [`vfio`](VmConfig::vfio)`(true)` and [`bind_uio`](VmConfig::bind_uio)`(false)`
    /// and bind the device to `vfio-pci` there (`ivshmem::guest`): its
    /// MSI-X vectors then arrive as eventfds.
    pub fn ivshmem_doorbell(mut self, socket: impl Into<PathBuf>, vectors: u32) -> Self {
        self.ivshmem_size = None;
        self.doorbell = Some(Doorbell {
            socket: socket.into(),
            vectors,
        });
        self
    }

    /// Whether the VM has an ivshmem device (plain or doorbell).
    pub(crate) fn has_ivshmem(&self) -> bool {
        self.ivshmem_size.is_some() || self.doorbell.is_some()
    }

    /// Whether the guest binds edu and ivshmem to `uio_pci_generic` at boot
    /// (default: true). With `false` the uio modules are still loaded, but
    /// no device is bound, so tests can bind with their own code.
    pub fn bind_uio(mut self, on: bool) -> Self {
        self.bind_uio = on;
        self
    }

    /// Guest RAM in MiB (default 256).
    pub fn memory_mib(mut self, mib: u32) -> Self {
        self.memory_mib = mib;
        self
    }

    /// VFIO setup: `-M q35`, `-device intel-iommu,intremap=on`,
    /// `intel_iommu=on`, and the vfio modules loaded after the uio ones.
    /// Devices are still bound to uio_pci_generic unless
    /// [`VmConfig::bind_uio`]`(false)`; bind to vfio-pci with
    /// `driver_override` from the guest.
    pub fn vfio(mut self, on: bool) -> Self {
        self.vfio = on;
        self
    }

    /// Appends one raw QEMU argument.
    pub fn qemu_arg(mut self, arg: impl Into<String>) -> Self {
        self.qemu_args.push(arg.into());
        self
    }

    /// Appends raw QEMU arguments.
    pub fn qemu_args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.qemu_args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Appends a kernel command-line argument.
    pub fn kernel_arg(mut self, arg: impl Into<String>) -> Self {
        self.kernel_args.push(arg.into());
        self
    }

    /// Adds a host executable at `guest_path`. A dynamically linked ELF gets
    /// its shared libraries (found with the host's `ldd`) and its program
    /// interpreter copied to the same paths in the guest; static binaries
    /// and scripts are copied alone.
    pub fn binary(mut self, host_path: impl Into<PathBuf>, guest_path: impl Into<String>) -> Self {
        self.files.push(GuestFile {
            source: Source::Host(host_path.into()),
            guest_path: guest_path.into(),
            mode: Some(0o755),
            with_libs: true,
        });
        self
    }

    /// Adds a host file (copied as it is, with its permissions) at `guest_path`.
    pub fn file(mut self, host_path: impl Into<PathBuf>, guest_path: impl Into<String>) -> Self {
        self.files.push(GuestFile {
            source: Source::Host(host_path.into()),
            guest_path: guest_path.into(),
            mode: None,
            with_libs: false,
        });
        self
    }

    /// Adds a guest file with the given contents and permissions.
    pub fn file_bytes(
        mut self,
        contents: impl Into<Vec<u8>>,
        guest_path: impl Into<String>,
        mode: u32,
    ) -> Self {
        self.files.push(GuestFile {
            source: Source::Bytes(contents.into()),
            guest_path: guest_path.into(),
            mode: Some(mode),
            with_libs: false,
        });
        self
    }

    /// Copies a kernel module (path relative to `/lib/modules/<release>/`,
    /// e.g. `kernel/drivers/vfio/vfio.ko`) into the initramfs without
    /// loading it. The uio and vfio modules are always included.
    pub fn include_module(mut self, rel_path: impl Into<String>) -> Self {
        let m = rel_path.into();
        if !self.include_modules.contains(&m) {
            self.include_modules.push(m);
        }
        self
    }

    /// Includes a module and loads it with `insmod` at boot, after the ones
    /// already listed (the uio modules by default).
    pub fn load_module(mut self, rel_path: impl Into<String>) -> Self {
        let m = rel_path.into();
        self = self.include_module(m.clone());
        if !self.load_modules.contains(&m) {
            self.load_modules.push(m);
        }
        self
    }

    /// Adds a shell command to the guest's setup, run after module loading
    /// and binding, before the VM is reported ready. A failing setup command
    /// makes [`crate::Vm::boot`] fail with [`crate::VmError::GuestSetup`].
    pub fn setup(mut self, command: impl Into<String>) -> Self {
        self.setup.push(command.into());
        self
    }

    /// How long to wait for the guest to become ready (default 60 s).
    pub fn boot_timeout(mut self, timeout: Duration) -> Self {
        self.boot_timeout = timeout;
        self
    }

    /// Keep the VM's work directory (console log, QEMU stderr, initramfs)
    /// after the VM is dropped. Also enabled by the environment variable
    /// `VM_KEEP=1`.
    pub fn keep_dir(mut self, keep: bool) -> Self {
        self.keep_dir = keep;
        self
    }

    /// The modules loaded at boot, in order.
    pub(crate) fn modules_to_load(&self) -> Vec<String> {
        let mut v = self.load_modules.clone();
        if self.vfio {
            for m in VFIO_MODULES {
                if !v.iter().any(|x| x == m) {
                    v.push(m.to_string());
                }
            }
        }
        v
    }

    /// Checks the configuration.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(size) = self.ivshmem_size {
            if size < 4096 || !size.is_power_of_two() {
                return Err(format!(
                    "ivshmem size {size} must be a power of two and at least 4096 (QEMU asserts otherwise)"
                ));
            }
        }
        if let Some(d) = &self.doorbell {
            validate_doorbell(d)?;
        }
        if self.memory_mib < 64 {
            return Err(format!(
                "memory {} MiB is too small (at least 64)",
                self.memory_mib
            ));
        }
        for f in &self.files {
            if crate::cpio::normalize(&f.guest_path).is_none() {
                return Err(format!("invalid guest path {:?}", f.guest_path));
            }
            if let Source::Host(p) = &f.source {
                if !p.is_file() {
                    return Err(format!("{} does not exist (or is not a file)", p.display()));
                }
            }
        }
        Ok(())
    }
}

/// Checks an ivshmem-doorbell configuration: the vector count, and that
/// the socket path is usable by QEMU and exists as a socket (QEMU would
/// exit at start-up otherwise, with a less helpful message).
fn validate_doorbell(d: &Doorbell) -> Result<(), String> {
    use std::os::unix::fs::FileTypeExt;
    if d.vectors == 0 || d.vectors > MAX_DOORBELL_VECTORS {
        return Err(format!(
            "ivshmem-doorbell vectors {} must be between 1 and {MAX_DOORBELL_VECTORS} (and equal the server's -n)",
            d.vectors
        ));
    }
    let path = d.socket.to_str().ok_or_else(|| {
        format!(
            "ivshmem server socket path {:?} is not UTF-8: QEMU's command line cannot name it",
            d.socket
        )
    })?;
    if path.is_empty() || path.len() > MAX_SOCKET_PATH {
        return Err(format!(
            "ivshmem server socket path {path:?} must be 1 to {MAX_SOCKET_PATH} bytes long (a UNIX socket address limit)"
        ));
    }
    match std::fs::metadata(&d.socket) {
        Ok(m) if m.file_type().is_socket() => Ok(()),
        Ok(_) => Err(format!(
            "ivshmem server socket {path} is not a socket: start an ivshmem server on it first (ivshmem-server -F -S {path})"
        )),
        Err(e) => Err(format!(
            "ivshmem server socket {path}: {e}: start an ivshmem server on it before booting the VM (ivshmem-server -F -S {path}; QEMU exits at start-up when nothing listens)"
        )),
    }
}

/// Quotes a value for QEMU's `key=value,...` option syntax (a comma is
/// written twice).
pub(crate) fn qemu_opt_value(v: &str) -> String {
    v.replace(',', ",,")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(VmConfig::default().validate().is_ok());
        assert!(VmConfig::default()
            .ivshmem_size(3 << 20)
            .validate()
            .is_err());
        assert!(VmConfig::default().ivshmem_size(1024).validate().is_err());
        assert!(VmConfig::default().memory_mib(16).validate().is_err());
        assert!(VmConfig::default()
            .binary("/nonexistent/x", "/bin/x")
            .validate()
            .is_err());
        assert!(VmConfig::default()
            .file_bytes(*b"x", "/../x", 0o644)
            .validate()
            .is_err());
    }

    #[test]
    fn modules() {
        let c = VmConfig::default()
            .load_module("kernel/foo.ko")
            .load_module("kernel/foo.ko");
        assert_eq!(c.modules_to_load().len(), UIO_MODULES.len() + 1);
        let c = VmConfig::default().vfio(true);
        assert_eq!(
            c.modules_to_load().len(),
            UIO_MODULES.len() + VFIO_MODULES.len()
        );
    }

    #[test]
    fn doorbell_validation() {
        let dir = std::env::temp_dir().join(format!("qemu-cfg-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("s.sock");
        let _ = std::fs::remove_file(&sock);
        let e = VmConfig::default()
            .ivshmem_doorbell(&sock, 1)
            .validate()
            .unwrap_err();
        assert!(e.contains("start an ivshmem server"), "{e}");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert!(VmConfig::default()
            .ivshmem_doorbell(&sock, 1)
            .validate()
            .is_ok());
        let e = VmConfig::default()
            .ivshmem_doorbell(&sock, 0)
            .validate()
            .unwrap_err();
        assert!(e.contains("between 1 and 2048"), "{e}");
        assert!(VmConfig::default()
            .ivshmem_doorbell(&sock, 4096)
            .validate()
            .is_err());
        let file = dir.join("plain");
        std::fs::write(&file, b"").unwrap();
        let e = VmConfig::default()
            .ivshmem_doorbell(&file, 1)
            .validate()
            .unwrap_err();
        assert!(e.contains("is not a socket"), "{e}");
        let long = format!("/tmp/{}", "x".repeat(120));
        let e = VmConfig::default()
            .ivshmem_doorbell(long, 1)
            .validate()
            .unwrap_err();
        assert!(e.contains("1 to 107 bytes"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn doorbell_replaces_plain() {
        let c = VmConfig::default().ivshmem_doorbell("/tmp/s", 2);
        assert_eq!(c.ivshmem_size, None);
        assert!(c.has_ivshmem());
        let c = c.ivshmem_size(1 << 20);
        assert_eq!(c.doorbell, None);
        let c = VmConfig::default()
            .ivshmem_doorbell("/tmp/s", 2)
            .ivshmem(false);
        assert!(!c.has_ivshmem());
        assert_eq!(qemu_opt_value("/a,b"), "/a,,b");
    }

    #[test]
    fn toggles() {
        let c = VmConfig::default().ivshmem(false);
        assert_eq!(c.ivshmem_size, None);
        let c = c.ivshmem(true);
        assert_eq!(c.ivshmem_size, Some(DEFAULT_IVSHMEM_SIZE));
    }
}
