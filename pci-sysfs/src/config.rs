//! PCI config space through the sysfs `config` file.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::PciError;
use crate::sys;

/// Offsets and bits of the standard config header that this crate uses.
pub mod regs {
    /// Vendor ID (16 bits).
    pub const VENDOR_ID: u64 = 0x00;
    /// Device ID (16 bits).
    pub const DEVICE_ID: u64 = 0x02;
    /// COMMAND register (16 bits).
    pub const COMMAND: u64 = 0x04;
    /// STATUS register (16 bits).
    pub const STATUS: u64 = 0x06;
    /// Revision ID (8 bits).
    pub const REVISION_ID: u64 = 0x08;
    /// Interrupt Line (8 bits).
    pub const INTERRUPT_LINE: u64 = 0x3c;
    /// Interrupt Pin (8 bits): 0 = none, 1 = INTA, ...
    pub const INTERRUPT_PIN: u64 = 0x3d;

    /// COMMAND: I/O space decoding.
    pub const COMMAND_IO: u16 = 0x0001;
    /// COMMAND: memory space decoding.
    pub const COMMAND_MEMORY: u16 = 0x0002;
    /// COMMAND: Bus Master (the device may start DMA).
    pub const COMMAND_BUS_MASTER: u16 = 0x0004;
    /// COMMAND: INTx Disable (the device's INTx line is masked).
    pub const COMMAND_INTX_DISABLE: u16 = 0x0400;
    /// STATUS: Interrupt Status (the device asserts INTx, masked or not).
    pub const STATUS_INTERRUPT: u16 = 0x0008;

    /// Bytes of config space readable without CAP_SYS_ADMIN.
    pub const UNPRIVILEGED_READ_LIMIT: u64 = 64;
}

/// Whether a [`ConfigSpace`] may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Open read-only: enough for the first 64 bytes as any user.
    ReadOnly,
    /// Open read-write: needs root (the file is 0644 root).
    ReadWrite,
}

/// An open `config` file of one device.
///
/// Reads and writes are single `pread`/`pwrite` calls of exactly the access
/// width at a naturally aligned offset; the kernel turns them into config
/// cycles of that width.
///
/// The COMMAND helpers change one byte only (bus master is in byte 4,
/// INTx Disable in byte 5), so they never overwrite a bit that the kernel's
/// interrupt handler changes concurrently in the other byte.
#[derive(Debug)]
pub struct ConfigSpace {
    file: File,
    path: PathBuf,
    size: u64,
    writable: bool,
}

fn open_hint(access: Access, e: &io::Error) -> String {
    match (access, e.kind()) {
        (Access::ReadWrite, io::ErrorKind::PermissionDenied) => {
            "config space writes need root (the file is 0644 root); open it read-only to read the first 64 bytes".into()
        }
        (_, io::ErrorKind::PermissionDenied) => "permission denied (try as root)".into(),
        (_, io::ErrorKind::NotFound) => "the device has no config file (was it removed?)".into(),
        _ => String::new(),
    }
}

impl ConfigSpace {
    /// Opens a config file (normally `…/devices/<address>/config`, but any
    /// regular file works, which host tests use).
    pub fn open(path: impl Into<PathBuf>, access: Access) -> Result<ConfigSpace, PciError> {
        let path = path.into();
        let writable = access == Access::ReadWrite;
        let file = sys::open_config(&path, writable).map_err(|e| {
            let hint = open_hint(access, &e);
            PciError::io_hint("opening", &path, e, hint)
        })?;
        let size = file
            .metadata()
            .map_err(|e| PciError::io("reading the size of", &path, e))?
            .len();
        Ok(ConfigSpace {
            file,
            path,
            size,
            writable,
        })
    }

    /// The config file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of config space in bytes (256 for PCI, 4096 for PCIe).
    pub fn len(&self) -> u64 {
        self.size
    }

    /// Whether the config file is empty (never for a real device).
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Whether this handle was opened read-write.
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    fn check(&self, op: &'static str, offset: u64, width: usize) -> Result<(), PciError> {
        let fits = offset
            .checked_add(width as u64)
            .is_some_and(|end| end <= self.size);
        if !fits {
            return Err(PciError::ConfigOutOfRange {
                op,
                path: self.path.clone(),
                offset,
                width,
                size: self.size,
            });
        }
        if !offset.is_multiple_of(width as u64) {
            return Err(PciError::ConfigMisaligned {
                op,
                path: self.path.clone(),
                offset,
                width,
            });
        }
        Ok(())
    }

    fn read_exact<const N: usize>(&self, offset: u64) -> Result<[u8; N], PciError> {
        self.check("reading", offset, N)?;
        let mut buf = [0u8; N];
        let got = sys::pread(&self.file, &mut buf, offset).map_err(|e| {
            let hint = if e.kind() == io::ErrorKind::PermissionDenied {
                "permission denied (try as root)"
            } else {
                ""
            };
            PciError::io_hint("reading config space", &self.path, e, hint)
        })?;
        if got != N {
            let hint = if offset + N as u64 > regs::UNPRIVILEGED_READ_LIMIT {
                "; reads beyond the first 64 bytes of config space need CAP_SYS_ADMIN (run as root)"
            } else {
                ""
            };
            return Err(PciError::ConfigShortRead {
                path: self.path.clone(),
                offset,
                width: N,
                got,
                hint: hint.to_string(),
            });
        }
        Ok(buf)
    }

    fn write_exact(&self, offset: u64, bytes: &[u8]) -> Result<(), PciError> {
        if !self.writable {
            return Err(PciError::ConfigReadOnly {
                path: self.path.clone(),
            });
        }
        self.check("writing", offset, bytes.len())?;
        let written = sys::pwrite(&self.file, bytes, offset).map_err(|e| {
            let hint = match e.kind() {
                io::ErrorKind::PermissionDenied => {
                    "the kernel refused the write: config writes need root (CAP_SYS_ADMIN) and are blocked under kernel lockdown (see /sys/kernel/security/lockdown)"
                }
                _ => "",
            };
            PciError::io_hint("writing config space", &self.path, e, hint)
        })?;
        if written != bytes.len() {
            return Err(PciError::ConfigShortWrite {
                path: self.path.clone(),
                offset,
                width: bytes.len(),
                written,
            });
        }
        Ok(())
    }

    /// Reads one byte.
    pub fn read8(&self, offset: u64) -> Result<u8, PciError> {
        self.read_exact::<1>(offset).map(|b| b[0])
    }
    /// Reads 16 bits (little-endian, as config space is); `offset` must be even.
    pub fn read16(&self, offset: u64) -> Result<u16, PciError> {
        self.read_exact::<2>(offset).map(u16::from_le_bytes)
    }
    /// Reads 32 bits; `offset` must be a multiple of 4.
    pub fn read32(&self, offset: u64) -> Result<u32, PciError> {
        self.read_exact::<4>(offset).map(u32::from_le_bytes)
    }
    /// Writes one byte.
    pub fn write8(&self, offset: u64, value: u8) -> Result<(), PciError> {
        self.write_exact(offset, &[value])
    }
    /// Writes 16 bits; `offset` must be even.
    pub fn write16(&self, offset: u64, value: u16) -> Result<(), PciError> {
        self.write_exact(offset, &value.to_le_bytes())
    }
    /// Writes 32 bits; `offset` must be a multiple of 4.
    pub fn write32(&self, offset: u64, value: u32) -> Result<(), PciError> {
        self.write_exact(offset, &value.to_le_bytes())
    }

    /// The COMMAND register.
    pub fn command(&self) -> Result<u16, PciError> {
        self.read16(regs::COMMAND)
    }
    /// The STATUS register.
    pub fn status(&self) -> Result<u16, PciError> {
        self.read16(regs::STATUS)
    }

    /// Sets or clears `bit` of COMMAND by a read-modify-write of the one byte
    /// that holds it; writes nothing if the bit already has that value.
    fn set_command_bit(&self, bit: u16, on: bool) -> Result<(), PciError> {
        let (offset, mask) = if bit & 0xff != 0 {
            (regs::COMMAND, bit as u8)
        } else {
            (regs::COMMAND + 1, (bit >> 8) as u8)
        };
        let old = self.read8(offset)?;
        let new = if on { old | mask } else { old & !mask };
        if new != old {
            self.write8(offset, new)?;
        }
        Ok(())
    }

    /// Whether Bus Master is set.
    pub fn bus_master(&self) -> Result<bool, PciError> {
        Ok(self.command()? & regs::COMMAND_BUS_MASTER != 0)
    }
    /// Sets or clears Bus Master (COMMAND bit 2).
    pub fn set_bus_master(&self, enable: bool) -> Result<(), PciError> {
        self.set_command_bit(regs::COMMAND_BUS_MASTER, enable)
    }
    /// Whether INTx Disable is set.
    pub fn intx_disabled(&self) -> Result<bool, PciError> {
        Ok(self.command()? & regs::COMMAND_INTX_DISABLE != 0)
    }
    /// Sets or clears INTx Disable (COMMAND bit 10).
    ///
    /// `uio_pci_generic` sets it in its interrupt handler; clearing it
    /// (after acknowledging the device) re-enables the interrupt.
    pub fn set_intx_disabled(&self, disabled: bool) -> Result<(), PciError> {
        self.set_command_bit(regs::COMMAND_INTX_DISABLE, disabled)
    }
    /// Whether STATUS bit 3 (Interrupt Status) is set.
    pub fn interrupt_pending(&self) -> Result<bool, PciError> {
        Ok(self.status()? & regs::STATUS_INTERRUPT != 0)
    }
}
