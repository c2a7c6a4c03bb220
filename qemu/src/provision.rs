//! Host provisioning: the Debian packages the harness (and the udev crate,
//! which `vm-tests --features udev` builds) needs, and the guest kernel
//! from Debian's archive.
//!
//! * Host packages: `qemu-system-x86` (for `qemu-system-x86_64`),
//!   `busybox-static` (a static `/bin/busybox` for the initramfs),
//!   `xz-utils` (to unpack `vmlinux` from the bzImage), `pkg-config` and
//!   `libudev-dev` (pinned to the installed `libudev1`
//!   version, so apt does not upgrade systemd), plus `dpkg`/`libc-bin`
//!   (`dpkg-deb`, `ldd`), which every Debian has. Missing packages are
//!   installed with `apt-get` when running as root; otherwise
//!   [`VmError::Provision`] names the exact command to run.
//! * Guest kernel: the package `linux-image-6.1.0-N-amd64` that the
//!   metapackage `linux-image-amd64` depends on (falling back to the highest
//!   `linux-image-6.1.0-*-amd64` known to apt), fetched with
//!   `apt-get download` and extracted with `dpkg-deb -x` into the cache
//!   directory ([`cache_dir`]). A kernel already in the cache is reused, also
//!   when apt has no network.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::error::{Result, VmError};

/// Environment variable overriding the cache directory.
pub const CACHE_ENV: &str = "VM_CACHE_DIR";

/// The kernel series whose packages are considered.
const KERNEL_PREFIX: &str = "linux-image-6.1.0-";
const KERNEL_SUFFIX: &str = "-amd64";
/// Marker written into an extracted kernel tree once extraction finished.
const COMPLETE_MARKER: &str = ".complete";

/// Kernel modules for `uio_pci_generic`, in load order (paths relative to
/// `/lib/modules/<version>/`).
pub const UIO_MODULES: &[&str] = &[
    "kernel/drivers/uio/uio.ko",
    "kernel/drivers/uio/uio_pci_generic.ko",
];

/// Kernel modules for `vfio-pci`, in load order. They are copied into the
/// initramfs when present but not loaded by default (VFIO also needs an
/// emulated IOMMU, see [`crate::VmConfig::vfio`]).
pub const VFIO_MODULES: &[&str] = &[
    "kernel/virt/lib/irqbypass.ko",
    "kernel/drivers/vfio/vfio.ko",
    "kernel/drivers/vfio/vfio_iommu_type1.ko",
    "kernel/drivers/vfio/vfio_virqfd.ko",
    "kernel/drivers/vfio/pci/vfio-pci-core.ko",
    "kernel/drivers/vfio/pci/vfio-pci.ko",
];

/// The cache directory: `$VM_CACHE_DIR`, or `<workspace root>/.cache/vm`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(CACHE_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .unwrap_or(manifest)
        .join(".cache")
        .join("vm")
}

/// A guest kernel extracted in the cache.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// The Debian package, e.g. `linux-image-6.1.0-56-amd64`.
    pub package: String,
    /// The kernel release (`uname -r`), e.g. `6.1.0-56-amd64`.
    pub release: String,
    /// The extracted package tree.
    pub root: PathBuf,
    /// The compressed kernel image from the package (bzImage).
    pub vmlinuz: PathBuf,
    /// The image QEMU boots: the uncompressed `vmlinux` ELF extracted from
    /// `vmlinuz` when that worked (QEMU then boots it through the PVH entry
    /// point, which skips the xz decompression that costs about 4 s under
    /// TCG), otherwise `vmlinuz`.
    pub boot_image: PathBuf,
    /// `lib/modules/<release>` inside the tree.
    pub modules_dir: PathBuf,
}

impl Kernel {
    fn from_tree(package: &str, root: PathBuf) -> Result<Kernel> {
        let release = package
            .strip_prefix("linux-image-")
            .unwrap_or(package)
            .to_string();
        let vmlinuz = root.join("boot").join(format!("vmlinuz-{release}"));
        let modules_dir = root.join("lib/modules").join(&release);
        if !vmlinuz.is_file() {
            return Err(VmError::Kernel(format!(
                "{} is missing from the extracted package (delete {} to re-extract)",
                vmlinuz.display(),
                root.display()
            )));
        }
        let vmlinux = root.join("boot").join(format!("vmlinux-{release}"));
        let boot_image = if vmlinux.is_file() {
            vmlinux
        } else {
            vmlinuz.clone()
        };
        Ok(Kernel {
            package: package.to_string(),
            release,
            root,
            vmlinuz,
            boot_image,
            modules_dir,
        })
    }

    /// Extracts the uncompressed `vmlinux` from the xz-compressed bzImage
    /// (once; cached next to it) and makes it the [`Kernel::boot_image`].
    /// Failure is not an error: the bzImage still boots, only slower.
    pub fn extract_vmlinux(&mut self, actions: &mut Vec<String>) {
        let dest = self
            .root
            .join("boot")
            .join(format!("vmlinux-{}", self.release));
        if dest.is_file() {
            self.boot_image = dest;
            return;
        }
        match extract_vmlinux_from(&self.vmlinuz) {
            Ok(elf) => {
                let tmp = dest.with_extension(format!("tmp{}", std::process::id()));
                if fs::write(&tmp, elf).is_ok() && fs::rename(&tmp, &dest).is_ok() {
                    actions.push(format!("extracted {}", dest.display()));
                    self.boot_image = dest;
                } else {
                    let _ = fs::remove_file(&tmp);
                }
            }
            Err(e) => actions.push(format!(
                "could not extract vmlinux ({e}); booting the compressed image (slower)"
            )),
        }
    }

    /// Reads a module (path relative to `lib/modules/<release>/`, ending in
    /// `.ko`). Compressed variants (`.ko.xz`, `.ko.zst`, `.ko.gz`) are
    /// decompressed with the host's `xz`/`zstd`/`gzip`, because busybox
    /// `insmod` only takes plain modules. Returns `Ok(None)` if the module
    /// does not exist in this kernel.
    pub fn read_module(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        let plain = self.modules_dir.join(rel);
        if plain.is_file() {
            return fs::read(&plain)
                .map(Some)
                .map_err(|e| VmError::io_path("reading", &plain, e));
        }
        for (ext, tool) in [("xz", "xz"), ("zst", "zstd"), ("gz", "gzip")] {
            let p = self.modules_dir.join(format!("{rel}.{ext}"));
            if p.is_file() {
                let out = Command::new(tool)
                    .arg("-dc")
                    .arg(&p)
                    .stderr(Stdio::inherit())
                    .output()
                    .map_err(|e| VmError::io(format!("running {tool} -dc {}", p.display()), e))?;
                if !out.status.success() {
                    return Err(VmError::Kernel(format!(
                        "{tool} -dc {} failed: {}",
                        p.display(),
                        out.status
                    )));
                }
                return Ok(Some(out.stdout));
            }
        }
        Ok(None)
    }
}

/// Finds the xz stream in a bzImage and decompresses it with `xz`; checks
/// that the result is an ELF file.
pub fn extract_vmlinux_from(bzimage: &Path) -> Result<Vec<u8>, String> {
    use std::io::Write;
    const XZ_MAGIC: &[u8] = b"\xfd7zXZ\x00";
    let data = fs::read(bzimage).map_err(|e| format!("reading {}: {e}", bzimage.display()))?;
    let off = data
        .windows(XZ_MAGIC.len())
        .position(|w| w == XZ_MAGIC)
        .ok_or("no xz stream in the kernel image")?;
    let mut child = Command::new("xz")
        .args(["-dc", "--single-stream"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("running xz: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let payload = data[off..].to_vec();
    let writer = std::thread::spawn(move || {
        // xz stops reading after the stream; a broken pipe is expected.
        let _ = stdin.write_all(&payload);
    });
    let out = child
        .wait_with_output()
        .map_err(|e| format!("running xz: {e}"))?;
    let _ = writer.join();
    if !out.stdout.starts_with(b"\x7fELF") {
        return Err(format!("xz produced no ELF file ({})", out.status));
    }
    Ok(out.stdout)
}

/// Everything the harness needs, ready to use.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The guest kernel.
    pub kernel: Kernel,
    /// The static busybox binary copied into the initramfs.
    pub busybox: PathBuf,
    /// The QEMU binary.
    pub qemu: PathBuf,
    /// What provisioning did (installed packages, downloads, ...), for humans.
    pub actions: Vec<String>,
}

/// A host requirement and the package that provides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// What is needed (a command or a library).
    pub what: &'static str,
    /// The Debian package providing it.
    pub package: &'static str,
}

/// Finds a command in `$PATH`.
pub fn which(cmd: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

/// The busybox binary that goes into the initramfs.
pub const BUSYBOX: &str = "/bin/busybox";

fn busybox_is_static() -> bool {
    match fs::read(BUSYBOX) {
        Ok(b) => crate::elf::classify(&b) == Ok(crate::elf::ElfKind::Static),
        Err(_) => false,
    }
}

fn dpkg_installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// The host requirements that are not met right now.
pub fn missing_host_requirements() -> Vec<Requirement> {
    let mut missing = Vec::new();
    let mut need = |ok: bool, what, package| {
        if !ok {
            missing.push(Requirement { what, package });
        }
    };
    need(
        which("qemu-system-x86_64").is_some(),
        "qemu-system-x86_64",
        "qemu-system-x86",
    );
    need(busybox_is_static(), "static /bin/busybox", "busybox-static");
    need(which("dpkg-deb").is_some(), "dpkg-deb", "dpkg");
    need(which("ldd").is_some(), "ldd", "libc-bin");
    need(which("xz").is_some(), "xz", "xz-utils");
    need(which("pkg-config").is_some(), "pkg-config", "pkg-config");
    need(
        dpkg_installed("libudev-dev"),
        "libudev (pkg-config libudev)",
        "libudev-dev",
    );
    missing
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The version of an installed package (`dpkg-query -W -f='${Version}'`).
fn installed_version(pkg: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", pkg])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !v.is_empty()).then_some(v)
}

/// The `apt-get install` arguments (packages, with `libudev-dev` pinned to
/// the installed `libudev1`).
fn install_args(missing: &[Requirement]) -> Vec<String> {
    let mut pkgs: Vec<String> = Vec::new();
    for r in missing {
        let p = if r.package == "libudev-dev" {
            match installed_version("libudev1") {
                Some(v) => format!("libudev-dev={v}"),
                None => "libudev-dev".to_string(),
            }
        } else {
            r.package.to_string()
        };
        if !pkgs.contains(&p) {
            pkgs.push(p);
        }
    }
    pkgs
}

/// The command line to show to a non-root user.
fn install_hint(pkgs: &[String]) -> String {
    format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        pkgs.join(" ")
    )
}

static APT_UPDATED: Mutex<bool> = Mutex::new(false);

/// Runs `apt-get update` once per process.
fn apt_update(actions: &mut Vec<String>) -> Result<()> {
    let mut done = APT_UPDATED.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return Ok(());
    }
    let status = Command::new("apt-get")
        .args(["update", "-q"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status()
        .map_err(|e| VmError::io("running apt-get update", e))?;
    *done = true;
    if !status.success() {
        return Err(VmError::Provision {
            message: format!("apt-get update failed ({status})"),
            install_hint: None,
        });
    }
    actions.push("ran apt-get update".to_string());
    Ok(())
}

/// Checks the host packages and installs the missing ones (as root).
pub fn ensure_host(actions: &mut Vec<String>) -> Result<()> {
    let missing = missing_host_requirements();
    if missing.is_empty() {
        return Ok(());
    }
    let pkgs = install_args(&missing);
    let what: Vec<&str> = missing.iter().map(|r| r.what).collect();
    if !is_root() {
        return Err(VmError::Provision {
            message: format!("missing on this host: {}", what.join(", ")),
            install_hint: Some(install_hint(&pkgs)),
        });
    }
    apt_update(actions)?;
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&pkgs)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status()
        .map_err(|e| VmError::io("running apt-get install", e))?;
    if !status.success() {
        return Err(VmError::Provision {
            message: format!("apt-get install {} failed ({status})", pkgs.join(" ")),
            install_hint: Some(install_hint(&pkgs)),
        });
    }
    actions.push(format!("installed {}", pkgs.join(" ")));
    let still: Vec<&str> = missing_host_requirements().iter().map(|r| r.what).collect();
    if !still.is_empty() {
        return Err(VmError::Provision {
            message: format!("still missing after apt-get install: {}", still.join(", ")),
            install_hint: Some(install_hint(&pkgs)),
        });
    }
    Ok(())
}

/// Is `name` a `linux-image-6.1.0-N-amd64` package? Returns N.
pub fn kernel_abi(name: &str) -> Option<u32> {
    name.strip_prefix(KERNEL_PREFIX)?
        .strip_suffix(KERNEL_SUFFIX)?
        .parse()
        .ok()
}

/// Parses `apt-cache depends linux-image-amd64`: the kernel package it
/// depends on.
pub fn parse_depends(output: &str) -> Option<String> {
    output
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(|p| p.trim().trim_start_matches('<').trim_end_matches('>'))
        .filter(|p| kernel_abi(p).is_some())
        .max_by_key(|p| kernel_abi(p))
        .map(str::to_string)
}

/// Parses `apt-cache search --names-only ...`: the highest
/// `linux-image-6.1.0-N-amd64`.
pub fn parse_search(output: &str) -> Option<String> {
    output
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|p| kernel_abi(p).is_some())
        .max_by_key(|p| kernel_abi(p))
        .map(str::to_string)
}

fn apt_cache(args: &[&str]) -> Option<String> {
    let out = Command::new("apt-cache")
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Asks apt which kernel package to use.
fn resolve_with_apt() -> Option<String> {
    if let Some(p) = apt_cache(&["depends", "linux-image-amd64"]).and_then(|o| parse_depends(&o)) {
        return Some(p);
    }
    apt_cache(&[
        "search",
        "--names-only",
        "^linux-image-6\\.1\\.0-[0-9]+-amd64$",
    ])
    .and_then(|o| parse_search(&o))
}

/// Kernel packages present in the cache (extracted trees or .deb files),
/// highest ABI first.
fn cached_kernels(cache: &Path) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    if let Ok(rd) = fs::read_dir(cache) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pkg = if let Some(stem) = name.strip_suffix(".deb") {
                stem.split('_').next().unwrap_or_default().to_string()
            } else if e.path().join(COMPLETE_MARKER).is_file() {
                name
            } else {
                continue;
            };
            if kernel_abi(&pkg).is_some() && !found.contains(&pkg) {
                found.push(pkg);
            }
        }
    }
    found.sort_by_key(|p| std::cmp::Reverse(kernel_abi(p)));
    found
}

fn find_deb(cache: &Path, pkg: &str) -> Option<PathBuf> {
    fs::read_dir(cache)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{pkg}_")) && n.ends_with(".deb"))
        })
}

fn download(cache: &Path, pkg: &str, actions: &mut Vec<String>) -> Result<PathBuf> {
    let tmp = cache.join(format!(".download-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| VmError::io_path("creating", &tmp, e))?;
    let out = Command::new("apt-get")
        .args(["download", "-q", pkg])
        .current_dir(&tmp)
        .output()
        .map_err(|e| VmError::io("running apt-get download", e))?;
    let result = if out.status.success() {
        match find_deb(&tmp, pkg) {
            Some(deb) => {
                let Some(name) = deb.file_name() else {
                    return Err(VmError::Kernel("odd download name".into()));
                };
                let dest = cache.join(name);
                fs::rename(&deb, &dest).map_err(|e| VmError::io_path("moving", &deb, e))?;
                actions.push(format!("downloaded {}", dest.display()));
                Ok(dest)
            }
            None => Err(VmError::Kernel(format!(
                "apt-get download {pkg} succeeded but produced no .deb"
            ))),
        }
    } else {
        Err(VmError::Kernel(format!(
            "apt-get download {pkg} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    };
    let _ = fs::remove_dir_all(&tmp);
    result
}

fn extract(cache: &Path, pkg: &str, deb: &Path, actions: &mut Vec<String>) -> Result<Kernel> {
    let dest = cache.join(pkg);
    let tmp = cache.join(format!(".extract-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let _ = fs::remove_dir_all(&dest);
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(&tmp)
        .output()
        .map_err(|e| VmError::io("running dpkg-deb -x", e))?;
    if !out.status.success() {
        let _ = fs::remove_dir_all(&tmp);
        return Err(VmError::Kernel(format!(
            "dpkg-deb -x {} failed ({}): {}",
            deb.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    fs::write(tmp.join(COMPLETE_MARKER), pkg).map_err(|e| VmError::io("writing marker", e))?;
    fs::rename(&tmp, &dest).map_err(|e| VmError::io_path("moving", &tmp, e))?;
    actions.push(format!(
        "extracted {} into {}",
        deb.display(),
        dest.display()
    ));
    Kernel::from_tree(pkg, dest)
}

/// Makes `pkg` available in the cache (extracted), downloading it if needed.
fn materialize(cache: &Path, pkg: &str, actions: &mut Vec<String>) -> Result<Kernel> {
    let tree = cache.join(pkg);
    let mut k = if tree.join(COMPLETE_MARKER).is_file() {
        Kernel::from_tree(pkg, tree)?
    } else {
        let deb = match find_deb(cache, pkg) {
            Some(d) => d,
            None => download(cache, pkg, actions)?,
        };
        extract(cache, pkg, &deb, actions)?
    };
    k.extract_vmlinux(actions);
    Ok(k)
}

/// Finds (or downloads and extracts) the guest kernel in the cache.
pub fn ensure_kernel(actions: &mut Vec<String>) -> Result<Kernel> {
    let cache = cache_dir();
    fs::create_dir_all(&cache).map_err(|e| VmError::io_path("creating", &cache, e))?;
    // Serialise concurrent provisioning (several test binaries, developers).
    let lock_path = cache.join(".lock");
    let lock_file =
        File::create(&lock_path).map_err(|e| VmError::io_path("creating", &lock_path, e))?;
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| VmError::io_path("locking", &lock_path, e.into()))?;

    let cached = cached_kernels(&cache);
    let mut wanted = resolve_with_apt();
    if wanted.is_none() && cached.is_empty() && is_root() {
        // Fresh machine: apt has no package lists yet.
        apt_update(actions)?;
        wanted = resolve_with_apt();
    }
    match wanted {
        Some(pkg) => match materialize(&cache, &pkg, actions) {
            Ok(k) => Ok(k),
            Err(e) => {
                // Offline: fall back to whatever kernel the cache has.
                for c in cached.iter().filter(|c| **c != pkg) {
                    if let Ok(k) = materialize(&cache, c, actions) {
                        actions.push(format!("{pkg} unavailable ({e}); using cached {c}"));
                        return Ok(k);
                    }
                }
                Err(e)
            }
        },
        None => {
            for c in &cached {
                if let Ok(k) = materialize(&cache, c, actions) {
                    return Ok(k);
                }
            }
            Err(VmError::Kernel(format!(
                "apt knows no {KERNEL_PREFIX}N{KERNEL_SUFFIX} package and the cache {} has none{}",
                cache.display(),
                if is_root() {
                    ""
                } else {
                    " (run as root, or `apt-get update` first)"
                }
            )))
        }
    }
}

/// Provisions everything: host packages and the guest kernel.
pub fn provision() -> Result<Provisioned> {
    let mut actions = Vec::new();
    ensure_host(&mut actions)?;
    let kernel = ensure_kernel(&mut actions)?;
    let qemu = which("qemu-system-x86_64").ok_or_else(|| VmError::Provision {
        message: "qemu-system-x86_64 not in PATH".into(),
        install_hint: Some(install_hint(&["qemu-system-x86".into()])),
    })?;
    Ok(Provisioned {
        kernel,
        busybox: PathBuf::from(BUSYBOX),
        qemu,
        actions,
    })
}

/// [`provision`], done once per process (later calls return the same result).
pub fn ensure() -> Result<&'static Provisioned> {
    static DONE: OnceLock<Provisioned> = OnceLock::new();
    static LOCK: Mutex<()> = Mutex::new(());
    if let Some(p) = DONE.get() {
        return Ok(p);
    }
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = DONE.get() {
        return Ok(p);
    }
    let p = provision()?;
    Ok(DONE.get_or_init(|| p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_parsing() {
        let out = "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n";
        assert_eq!(
            parse_depends(out).as_deref(),
            Some("linux-image-6.1.0-56-amd64")
        );
        assert_eq!(parse_depends("linux-image-amd64\n"), None);
        let virt = "linux-image-amd64\n  Depends: <linux-image-6.1.0-9-amd64>\n  Depends: linux-image-6.1.0-10-amd64\n";
        assert_eq!(
            parse_depends(virt).as_deref(),
            Some("linux-image-6.1.0-10-amd64")
        );
    }

    #[test]
    fn search_parsing() {
        let out = "linux-image-6.1.0-9-amd64 - Linux 6.1 for 64-bit PCs (signed)\n\
                   linux-image-6.1.0-56-amd64 - Linux 6.1 for 64-bit PCs (signed)\n\
                   linux-image-6.1.0-56-amd64-unsigned - Linux 6.1 for 64-bit PCs\n\
                   linux-image-6.1.0-100-cloud-amd64 - Linux 6.1 for cloud\n\
                   linux-image-6.1.0-12-amd64 - Linux 6.1 for 64-bit PCs (signed)\n";
        assert_eq!(
            parse_search(out).as_deref(),
            Some("linux-image-6.1.0-56-amd64")
        );
        assert_eq!(parse_search(""), None);
    }

    #[test]
    fn abi() {
        assert_eq!(kernel_abi("linux-image-6.1.0-56-amd64"), Some(56));
        assert_eq!(kernel_abi("linux-image-6.1.0-56-amd64-dbg"), None);
        assert_eq!(kernel_abi("linux-image-6.1.0-rt-amd64"), None);
    }

    #[test]
    fn hint_pins_libudev() {
        let pkgs = install_args(&[
            Requirement {
                what: "x",
                package: "qemu-system-x86",
            },
            Requirement {
                what: "y",
                package: "libudev-dev",
            },
        ]);
        assert_eq!(pkgs[0], "qemu-system-x86");
        assert!(pkgs[1].starts_with("libudev-dev"));
        let hint = install_hint(&pkgs);
        assert!(hint.contains("--no-install-recommends qemu-system-x86 libudev-dev"));
    }

    #[test]
    fn cache_scan() {
        let dir = std::env::temp_dir().join(format!("qemu-cache-scan-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("linux-image-6.1.0-7-amd64")).unwrap();
        fs::create_dir_all(dir.join("linux-image-6.1.0-9-amd64")).unwrap();
        fs::write(
            dir.join("linux-image-6.1.0-9-amd64").join(COMPLETE_MARKER),
            "",
        )
        .unwrap();
        fs::write(dir.join("linux-image-6.1.0-12-amd64_6.1.1-1_amd64.deb"), "").unwrap();
        let found = cached_kernels(&dir);
        fs::remove_dir_all(&dir).unwrap();
        // The incomplete tree (7) is ignored.
        assert_eq!(
            found,
            vec!["linux-image-6.1.0-12-amd64", "linux-image-6.1.0-9-amd64"]
        );
    }
}
