//! The `resource` file: one `start end flags` line per PCI resource.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::PciError;
use crate::sys::parse_hex;

/// The kernel's `IORESOURCE_*` flags of one resource, as shown in sysfs.
///
/// Only a few bits matter to user space; the raw value is kept (the low byte
/// holds the BAR's own type bits, e.g. `0xc` for a 64-bit prefetchable BAR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ResourceFlags(pub u64);

impl ResourceFlags {
    /// `IORESOURCE_TYPE_BITS`: the resource type field.
    pub const TYPE_BITS: u64 = 0x0000_1f00;
    /// `IORESOURCE_IO`: an I/O-port resource.
    pub const IO: u64 = 0x0000_0100;
    /// `IORESOURCE_MEM`: a memory resource.
    pub const MEM: u64 = 0x0000_0200;
    /// `IORESOURCE_PREFETCH`: prefetchable memory (no side effects on read).
    pub const PREFETCH: u64 = 0x0000_2000;
    /// `IORESOURCE_READONLY`.
    pub const READONLY: u64 = 0x0000_4000;
    /// `IORESOURCE_SIZEALIGN`: aligned to its size (every BAR has it).
    pub const SIZEALIGN: u64 = 0x0004_0000;
    /// `IORESOURCE_MEM_64`: a 64-bit memory BAR.
    pub const MEM_64: u64 = 0x0010_0000;
    /// `IORESOURCE_DISABLED`.
    pub const DISABLED: u64 = 0x1000_0000;
    /// `IORESOURCE_UNSET`: no address assigned yet.
    pub const UNSET: u64 = 0x2000_0000;
    /// `IORESOURCE_BUSY`: claimed by a driver.
    pub const BUSY: u64 = 0x8000_0000;

    /// The raw flag bits.
    pub fn bits(self) -> u64 {
        self.0
    }
    /// Whether the resource is memory (MMIO).
    pub fn is_mem(self) -> bool {
        self.0 & Self::TYPE_BITS == Self::MEM
    }
    /// Whether the resource is I/O ports.
    pub fn is_io(self) -> bool {
        self.0 & Self::TYPE_BITS == Self::IO
    }
    /// Whether the memory is prefetchable.
    pub fn is_prefetchable(self) -> bool {
        self.0 & Self::PREFETCH != 0
    }
    /// Whether this is a 64-bit memory BAR.
    pub fn is_mem64(self) -> bool {
        self.0 & Self::MEM_64 != 0
    }
    /// Whether the kernel has not assigned an address.
    pub fn is_unset(self) -> bool {
        self.0 & Self::UNSET != 0
    }
}

impl fmt::Display for ResourceFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_io() {
            f.write_str("I/O")?;
        } else if self.is_mem() {
            f.write_str(if self.is_mem64() {
                "mem 64-bit"
            } else {
                "mem 32-bit"
            })?;
            f.write_str(if self.is_prefetchable() {
                " prefetchable"
            } else {
                " non-prefetchable"
            })?;
        } else {
            write!(f, "type {:#x}", self.0 & Self::TYPE_BITS)?;
        }
        if self.is_unset() {
            f.write_str(" unassigned")?;
        }
        Ok(())
    }
}

/// One PCI resource (BAR 0..=5, the ROM at 6, then bridge windows or SR-IOV BARs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Line number in the `resource` file: 0..=5 are BARs, 6 is the ROM.
    pub index: usize,
    /// First bus address.
    pub start: u64,
    /// Last bus address (inclusive).
    pub end: u64,
    /// `IORESOURCE_*` flags.
    pub flags: ResourceFlags,
    /// The `resourceN` file, if sysfs has one for this resource.
    pub file: Option<PathBuf>,
    /// The `resourceN_wc` (write-combining) file, if sysfs has one.
    pub wc_file: Option<PathBuf>,
}

/// The index of the expansion ROM in the `resource` file.
pub const ROM_INDEX: usize = 6;

impl Resource {
    /// Length in bytes (0 for an unused slot), as the kernel's `pci_resource_len`.
    pub fn len(&self) -> u64 {
        if self.start == 0 && self.end == self.start {
            return 0;
        }
        match self.end.checked_sub(self.start) {
            Some(d) => d.saturating_add(1),
            None => 0,
        }
    }

    /// Whether this slot is unused.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is one of the six BARs (not the ROM or a bridge window).
    pub fn is_bar(&self) -> bool {
        self.index < ROM_INDEX
    }

    /// Offset of the resource inside its first page (`start & (page - 1)`).
    ///
    /// `mmap` of `resourceN` (and of a UIO map) starts at the page that
    /// contains `start`, so the registers are this many bytes in. Non-zero
    /// only for BARs smaller than a page.
    pub fn page_offset(&self, page_size: u64) -> u64 {
        self.start & page_size.wrapping_sub(1)
    }

    /// Whether `uio_pci_generic` turns this BAR into a UIO map.
    ///
    /// It takes BARs 0..=4 whose flags are *exactly* `MEM | SIZEALIGN`:
    /// 32-bit, non-prefetchable memory. I/O, 64-bit and prefetchable BARs are
    /// skipped (ivshmem's BAR2 is never a UIO map).
    pub fn is_uio_pci_generic_map(&self) -> bool {
        self.index < 5
            && !self.is_empty()
            && self.flags.0 == ResourceFlags::MEM | ResourceFlags::SIZEALIGN
    }

    /// A short name: `BAR0`..`BAR5`, `ROM`, or `resourceN`.
    pub fn name(&self) -> String {
        match self.index {
            i if i < ROM_INDEX => format!("BAR{i}"),
            ROM_INDEX => "ROM".to_string(),
            i => format!("resource{i}"),
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {:#x}..={:#x} ({})",
            self.name(),
            self.flags,
            self.start,
            self.end,
            Size(self.len())
        )
    }
}

/// A byte count shown the way people read BAR sizes (`256 B`, `4 KiB`, `1 MiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        let mut v = self.0;
        let mut unit = 0;
        while v >= 1024 && v.is_multiple_of(1024) && unit < UNITS.len() - 1 {
            v /= 1024;
            unit += 1;
        }
        if unit == 0 && self.0 >= 1024 {
            return write!(f, "{:#x} bytes", self.0);
        }
        write!(f, "{v} {}", UNITS[unit])
    }
}

/// Parses the content of a `resource` file; `dir` is the device directory
/// (for the `resourceN` file paths) and `path` the file (for errors).
pub(crate) fn parse_resources(
    content: &str,
    dir: &Path,
    path: &Path,
) -> Result<Vec<Resource>, PciError> {
    let mut out = Vec::with_capacity(17);
    for (index, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace().map(parse_hex);
        let parsed = match (fields.next(), fields.next(), fields.next(), fields.next()) {
            (Some(Some(s)), Some(Some(e)), Some(Some(fl)), None) => Some((s, e, fl)),
            _ => None,
        };
        let (start, end, flags) = parsed.ok_or_else(|| PciError::Parse {
            path: path.to_path_buf(),
            content: line.trim().to_string(),
            expected: "a `start end flags` line of three hex numbers",
        })?;
        let flags = ResourceFlags(flags);
        // The kernel creates resourceN only for non-empty BARs, and
        // resourceN_wc only for prefetchable ones: look for no others.
        let used = start != 0 || end != 0 || flags.0 != 0;
        let (mut file, mut wc_file) = (None, None);
        if used {
            let f = dir.join(format!("resource{index}"));
            if crate::sys::exists(&f) {
                if flags.is_prefetchable() {
                    let wc = dir.join(format!("resource{index}_wc"));
                    wc_file = crate::sys::exists(&wc).then_some(wc);
                }
                file = Some(f);
            }
        }
        out.push(Resource {
            index,
            start,
            end,
            flags,
            file,
            wc_file,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(start: u64, end: u64, flags: u64) -> Resource {
        Resource {
            index: 0,
            start,
            end,
            flags: ResourceFlags(flags),
            file: None,
            wc_file: None,
        }
    }

    #[test]
    fn decodes_flags_and_lengths() {
        let edu = res(0xfea0_0000, 0xfeaf_ffff, 0x40200);
        assert!(edu.flags.is_mem() && !edu.flags.is_prefetchable() && !edu.flags.is_mem64());
        assert_eq!(edu.len(), 0x10_0000);
        assert!(edu.is_uio_pci_generic_map());
        assert_eq!(
            edu.to_string(),
            "BAR0 mem 32-bit non-prefetchable 0xfea00000..=0xfeafffff (1 MiB)"
        );
        let shm = res(0xfe00_0000, 0xfe0f_ffff, 0x14220c);
        assert!(shm.flags.is_mem() && shm.flags.is_prefetchable() && shm.flags.is_mem64());
        assert!(!shm.is_uio_pci_generic_map());
        let io = res(0xc000, 0xc01f, 0x40101);
        assert!(io.flags.is_io() && !io.flags.is_mem());
        assert!(!io.is_uio_pci_generic_map());
        assert!(res(0, 0, 0).is_empty());
        assert_eq!(res(0xfebf_1000, 0xfebf_10ff, 0x40200).page_offset(4096), 0);
        assert_eq!(
            res(0xfebf_1800, 0xfebf_18ff, 0x40200).page_offset(4096),
            0x800
        );
        assert_eq!(res(0, u64::MAX, 0x200).len(), u64::MAX);
        assert_eq!(res(10, 5, 0x200).len(), 0);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(Size(256).to_string(), "256 B");
        assert_eq!(Size(4096).to_string(), "4 KiB");
        assert_eq!(Size(1 << 20).to_string(), "1 MiB");
        assert_eq!(Size(1536).to_string(), "0x600 bytes");
        assert_eq!(Size(0).to_string(), "0 B");
    }

    #[test]
    fn rejects_malformed_lines() {
        let p = Path::new("/x/resource");
        let e = parse_resources("0x1 0x2\n", Path::new("/x"), p).unwrap_err();
        assert!(e.to_string().contains("/x/resource"), "{e}");
        assert!(parse_resources("0x1 zz 0x3\n", Path::new("/x"), p).is_err());
        let ok = parse_resources(
            "0x00000000fea00000 0x00000000feafffff 0x0000000000040200\n\
             0x0000000000000000 0x0000000000000000 0x0000000000000000\n",
            Path::new("/nonexistent"),
            p,
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].len(), 0x10_0000);
        assert!(ok[1].is_empty());
    }
}
