//! The workspace's error convention: every error's message is complete (it
//! names the errno, the I/O error or the inner library error, and the hint)
//! and [`Error::source`] returns `None`; an error that only forwards another
//! one is `#[error(transparent)]`. So a reporter that walks the source chain
//! (anyhow's `{:#}`, eyre, a loop over `source()`) prints each piece once.
//!
//! Each error type with an underlying error is built here, from a real
//! failure where that is easy and directly otherwise, and its chain (the
//! message, then every `source()`, joined with ": ") must contain each
//! errno and hint exactly once and no message twice.

use std::error::Error;
use std::io;
use std::path::PathBuf;

use devmem_backend::DevMemError;
use dma_mem::DmaError;
use hal_core::MapError;
use io_trace::{MapSelect, RecordError, Replay, ReplayError};
use pci_sysfs::PciError;
use qemu::VmError;
use register_codegen::CodegenError;
use uio_backend::UioError;
use vfio_backend::VfioError;

/// The message and every source, as a chain-walking reporter prints them.
fn chain(e: &dyn Error) -> Vec<String> {
    let mut parts = vec![e.to_string()];
    let mut next = e.source();
    while let Some(s) = next {
        parts.push(s.to_string());
        next = s.source();
    }
    parts
}

/// `e`'s printed chain has each of `once` exactly once, no part repeats
/// an earlier one, and (the convention) nothing comes from `source()`.
#[track_caller]
fn check(e: &dyn Error, once: &[&str]) {
    let parts = chain(e);
    let text = parts.join(": ");
    for piece in once {
        assert_eq!(
            text.matches(piece).count(),
            1,
            "{piece:?} should appear exactly once in {text:?}"
        );
    }
    for (i, later) in parts.iter().enumerate().skip(1) {
        for earlier in &parts[..i] {
            assert!(
                !earlier.contains(later.as_str()),
                "{later:?} is printed twice in {text:?}"
            );
        }
    }
    assert!(
        e.source().is_none(),
        "{text:?}: its source is part of the message, so source() must be None"
    );
}

const EACCES: &str = "EACCES: Permission denied";

fn enoent() -> io::Error {
    io::Error::from_raw_os_error(nix::libc::ENOENT)
}
const ENOENT_TEXT: &str = "No such file or directory (os error 2)";

fn mmap_error(hint: &str) -> MapError {
    MapError::Mmap {
        what: "/dev/uio0 map0".into(),
        len: 0x1000,
        offset: 0,
        hint: hint.into(),
        errno: nix::Error::EACCES,
    }
}

fn pci_io_error() -> PciError {
    PciError::Io {
        op: "writing",
        path: PathBuf::from("/sys/bus/pci/devices/0000:00:04.0/driver_override"),
        hint: "; changing sysfs files needs root".into(),
        error: io::Error::from_raw_os_error(nix::libc::EACCES),
    }
}

#[test]
fn hal_core_map_errors_print_errno_and_hint_once() {
    check(
        &mmap_error("; mapping needs root"),
        &[EACCES, "; mapping needs root"],
    );
    check(
        &MapError::Inspect {
            what: "a file".into(),
            errno: nix::Error::EBADF,
        },
        &["EBADF: Bad file number"],
    );
}

#[test]
fn pci_sysfs_io_errors_print_error_and_hint_once() {
    check(
        &pci_io_error(),
        &[
            "Permission denied (os error 13)",
            "; changing sysfs files needs root",
        ],
    );
}

#[test]
fn uio_errors_print_each_inner_error_once() {
    check(
        &UioError::Open {
            path: PathBuf::from("/dev/uio0"),
            hint: "; opening UIO devices needs root".into(),
            errno: nix::Error::EACCES,
        },
        &[EACCES, "; opening UIO devices needs root"],
    );
    check(
        &UioError::Io {
            op: "reading",
            path: PathBuf::from("/sys/class/uio/uio0/name"),
            error: enoent(),
        },
        &[ENOENT_TEXT],
    );
    check(
        &UioError::Udev {
            op: "scan_devices",
            error: enoent(),
        },
        &[ENOENT_TEXT],
    );
    check(
        &UioError::Syscall {
            op: "waiting for an interrupt on",
            device: "/dev/uio0".into(),
            errno: nix::Error::EIO,
        },
        &["EIO: I/O error"],
    );
    // Nested library errors: the inner message (with its errno and hint)
    // appears once, inside the outer one.
    check(
        &UioError::Map {
            device: "uio0".into(),
            map: 0,
            error: Box::new(mmap_error("; the map is smaller")),
        },
        &[EACCES, "; the map is smaller", "/dev/uio0 map0"],
    );
    check(
        &UioError::Pci {
            op: "re-enabling interrupts",
            device: "uio0".into(),
            error: pci_io_error(),
        },
        &[
            "Permission denied (os error 13)",
            "; changing sysfs files needs root",
        ],
    );
}

#[test]
fn vfio_errors_print_each_inner_error_once() {
    check(
        &VfioError::Open {
            device: "0000:00:01.0".into(),
            path: PathBuf::from("/dev/vfio/1"),
            errno: nix::Error::EACCES,
            hint: "chown it".into(),
        },
        &[EACCES, "chown it", "/dev/vfio/1"],
    );
    check(
        &VfioError::Syscall {
            op: "VFIO_GROUP_GET_DEVICE_FD".into(),
            device: "0000:00:01.0".into(),
            errno: nix::Error::EIO,
        },
        &["EIO: I/O error"],
    );
    check(
        &VfioError::Map {
            device: "0000:00:01.0".into(),
            index: 0,
            error: Box::new(mmap_error("; the map is smaller")),
        },
        &[EACCES, "; the map is smaller"],
    );
    check(
        &VfioError::from(pci_io_error()),
        &["Permission denied (os error 13)"],
    );
    check(
        &DmaError::Allocator {
            allocator: "VFIO",
            detail: "VFIO_IOMMU_MAP_DMA: ENOMEM".into(),
        },
        &["VFIO_IOMMU_MAP_DMA: ENOMEM"],
    );
}

#[test]
fn devmem_errors_print_each_inner_error_once() {
    // A real failure: opening a file that does not exist.
    let dir = std::env::temp_dir().join(format!("error-chains-{}", std::process::id()));
    let missing = dir.join("missing");
    let e = devmem_backend::map_file(&missing, 0, 4096).unwrap_err();
    assert!(matches!(e, DevMemError::Open { .. }), "{e}");
    check(&e, &["ENOENT: No such file or directory", "missing"]);
    check(
        &DevMemError::Stat {
            path: PathBuf::from("/dev/mem"),
            errno: nix::Error::EBADF,
        },
        &["EBADF: Bad file number"],
    );
    check(
        &DevMemError::Mmap {
            hint: "; /dev/mem is restricted (CONFIG_STRICT_DEVMEM)".into(),
            error: Box::new(mmap_error("")),
        },
        &[EACCES, "; /dev/mem is restricted (CONFIG_STRICT_DEVMEM)"],
    );
    // Transparent: the PCI error's message, once.
    check(
        &DevMemError::from(pci_io_error()),
        &[
            "Permission denied (os error 13)",
            "; changing sysfs files needs root",
        ],
    );
}

#[test]
fn harness_io_errors_print_the_error_once() {
    check(
        &VmError::Io {
            context: "creating the initramfs".into(),
            error: enoent(),
        },
        &[ENOENT_TEXT],
    );
}

#[test]
fn codegen_errors_print_each_inner_error_once() {
    // A real failure: a map that does not exist (transparent diagnostics).
    let e = register_codegen::generate_file("/nonexistent/regs.yaml").unwrap_err();
    assert!(matches!(e, CodegenError::Spec(_)), "{e}");
    check(&e, &["/nonexistent/regs.yaml"]);
    check(
        &CodegenError::Write {
            path: PathBuf::from("/out/regs.rs"),
            error: enoent(),
        },
        &[ENOENT_TEXT],
    );
}

#[test]
fn edu_driver_errors_print_each_inner_error_once() {
    use edu_driver::{EduError, Refusal};
    check(
        &EduError::pci(
            "turning Bus Master on (COMMAND |= 0x4) for DMA",
            "0000:00:04.0".parse().expect("an address"),
            pci_io_error(),
        ),
        &[
            "Permission denied (os error 13)",
            "; changing sysfs files needs root",
        ],
    );
    check(
        &EduError::from(UioError::Timeout {
            device: "uio0".into(),
            timeout: std::time::Duration::from_millis(5),
        }),
        &["uio0"],
    );
    check(
        &EduError::Lock {
            path: "/sys/bus/pci/devices/0000:00:04.0/config".into(),
            errno: nix::Error::EACCES,
        },
        &[EACCES],
    );
    check(&EduError::Refused(Refusal::ZeroLength), &["count of 0"]);
    check(
        &EduError::from(edu_driver::dma_mem::DmaError::NeedsCapSysAdmin),
        &["CAP_SYS_ADMIN"],
    );
}

#[test]
fn dma_errors_print_each_inner_error_once() {
    check(
        &DmaError::Lock {
            len: 0x3000,
            limit: Some(4096),
            errno: nix::Error::ENOMEM,
        },
        &["ENOMEM: Out of memory", "RLIMIT_MEMLOCK"],
    );
    check(
        &DmaError::Syscall {
            op: "mmap",
            len: 0x1000,
            errno: nix::Error::EINVAL,
        },
        &["EINVAL: Invalid argument"],
    );
    check(
        &DmaError::Io {
            op: "opening",
            path: PathBuf::from("/proc/self/pagemap"),
            error: enoent(),
        },
        &[ENOENT_TEXT, "/proc/self/pagemap"],
    );
}

#[test]
fn io_trace_errors_print_the_io_error_once() {
    let e = RecordError {
        target: "t.mmiotrace".into(),
        accesses: Some(3),
        error: std::sync::Arc::new(io::Error::from_raw_os_error(nix::libc::ENOSPC)),
    };
    check(
        &e,
        &["No space left on device (os error 28)", "record again"],
    );
    let e = RecordError {
        accesses: None,
        error: std::sync::Arc::new(enoent()),
        ..e
    };
    check(&e, &[ENOENT_TEXT, "choose a file"]);
    let e = Replay::open("/nonexistent/t.mmiotrace", MapSelect::Only)
        .err()
        .unwrap();
    assert!(matches!(e, ReplayError::Read { .. }));
    check(&e, &[ENOENT_TEXT]);
    let e = Replay::parse("R 3", MapSelect::Only, "t").err().unwrap();
    check(&e, &["t:1:3: the width `3` is not 1, 2, 4 or 8"]);
}

#[test]
fn ivshmem_errors_print_each_inner_error_once() {
    use ivshmem::client::{Client, ClientError};
    use ivshmem::server::ServerError;
    let e = Client::connect("/nonexistent/ivshmem.sock".as_ref()).unwrap_err();
    assert!(matches!(e, ClientError::Connect { .. }), "{e}");
    check(&e, &[ENOENT_TEXT, "is ivshmem-server running"]);
    check(
        &ClientError::Io {
            what: "ringing peer 1 vector 0 (eventfd write)".into(),
            error: io::Error::from_raw_os_error(nix::libc::EBADF),
        },
        &["Bad file descriptor", "eventfd write"],
    );
    check(
        &ClientError::from(mmap_error("; hint")),
        &[EACCES, "; hint"],
    );
    check(
        &ServerError::Io {
            what: "listening on /tmp/s.sock".into(),
            error: enoent(),
        },
        &[ENOENT_TEXT, "/tmp/s.sock"],
    );
    use ivshmem::guest::{GuestDevice, GuestError};
    let e = GuestDevice::open("0000:7f:1f.7".parse().unwrap(), 1).unwrap_err();
    assert!(matches!(e, GuestError::Vfio(_)), "{e}");
    check(&e, &["0000:7f:1f.7"]);
    check(
        &GuestError::Registers {
            device: "0000:00:03.0".into(),
            error: hal_core::BlockError::TooSmall {
                block: "ivshmem.regs",
                need: 0x100,
                have: 0x10,
            },
        },
        &["0x100", "is this an ivshmem device"],
    );
}
