use std::fmt;
use std::os::fd::AsFd;
use std::ptr::NonNull;

use crate::check::check_access;
use crate::error::{AccessError, MapError};
use crate::io::{Io, Width};
use crate::mmap::Mapping;

/// What kind of memory a [`Region`] maps.
///
/// Rust's memory model covers RAM: two threads that access the same RAM
/// without synchronization, at least one of them writing, is a data race
/// and undefined behaviour, even with volatile accesses (volatile is not
/// atomic). Device memory (MMIO) is outside that model: every access is an
/// I/O operation the compiler must perform exactly as written.
///
/// A [`Region`] meets both needs with one kind of access: each is a single
/// x86-64 `mov` of the declared width in inline assembly, which the compiler
/// performs exactly once, as written (like a volatile access: never merged,
/// split, repeated or elided), and which the memory model takes as a
/// relaxed atomic access (an aligned `mov` is single-copy atomic), so
/// threads that share a `&Region` over RAM cannot race. The kind is what
/// *users* of the memory must know: relaxed atomics order nothing, so to
/// hand data to another thread, process or VM through RAM, publish it with
/// `Acquire`/`Release` atomics or fences (see the crate's `# Soundness`
/// section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoryKind {
    /// Device memory (MMIO): `/dev/uioN` maps, PCI `resourceN` files in
    /// sysfs, `/dev/mem`.
    Device,
    /// Ordinary memory: anonymous mappings, regular files, POSIX shared
    /// memory (`/dev/shm`, memfd), hugetlbfs, `/dev/zero`, and the host's
    /// side of ivshmem shared memory.
    Ram,
}

impl MemoryKind {
    /// The kind of memory a `MAP_SHARED` mapping of this open file gives.
    ///
    /// A character device is [`Device`](MemoryKind::Device) (`/dev/uioN`,
    /// `/dev/mem`), except `/dev/zero` (major 1, minor 5), which maps
    /// anonymous memory; a file on sysfs (PCI `resourceN`) is `Device`;
    /// anything else (regular files, tmpfs and `/dev/shm`, hugetlbfs, memfd)
    /// is [`Ram`](MemoryKind::Ram).
    ///
    /// Fails only if `fstat` or `fstatfs` on the descriptor fails.
    pub fn of_file(fd: impl AsFd) -> nix::Result<MemoryKind> {
        use nix::sys::stat::{fstat, major, minor, SFlag};
        let fd = fd.as_fd();
        let st = fstat(fd)?;
        let file_type = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        let on_sysfs =
            nix::sys::statfs::fstatfs(fd)?.filesystem_type().0 == nix::sys::statfs::SYSFS_MAGIC.0;
        Ok(MemoryKind::classify(
            file_type == SFlag::S_IFCHR,
            (major(st.st_rdev), minor(st.st_rdev)),
            on_sysfs,
        ))
    }

    /// The rule of [`of_file`](MemoryKind::of_file), from what `fstat`
    /// and `fstatfs` say: whether the file is a character device, its
    /// device number, and whether it lives on sysfs.
    fn classify(char_device: bool, (major, minor): (u64, u64), on_sysfs: bool) -> MemoryKind {
        const DEV_ZERO: (u64, u64) = (1, 5);
        if char_device {
            if (major, minor) == DEV_ZERO {
                MemoryKind::Ram
            } else {
                MemoryKind::Device
            }
        } else if on_sysfs {
            MemoryKind::Device
        } else {
            MemoryKind::Ram
        }
    }
}

impl fmt::Display for MemoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemoryKind::Device => "device memory",
            MemoryKind::Ram => "RAM",
        })
    }
}

/// An owned, mapped range of device memory or RAM.
///
/// A `Region` knows its base address, length and [`MemoryKind`], and
/// releases its mapping when dropped. It never hands out references into
/// the mapped memory: every access is one load or store of the declared
/// width through a raw pointer (volatile for device memory, a relaxed
/// atomic for RAM).
///
/// * Typed access: build a generated register block over it (the block
///   checks the length and the base address's alignment once; its offsets
///   are checked at compile time).
/// * Dynamic access, for tools: [`try_read`](Region::try_read),
///   [`try_write`](Region::try_write) and the per-width variants return an
///   [`AccessError`] for an out-of-range or misaligned access instead of
///   touching the memory.
pub struct Region {
    base: NonNull<u8>,
    len: usize,
    kind: MemoryKind,
    label: String,
    // Dropped after use ends; owns the mapping (or whatever keeps `base` valid).
    _owner: Box<dyn Send + Sync>,
}

// SAFETY: a Region is an address range plus an owner that is itself Send +
// Sync; the memory is mapped for the whole process, so any thread may use it.
unsafe impl Send for Region {}
// SAFETY: all methods take &self and access the memory only through raw
// pointers, with single inline-assembly `mov`s that the memory model takes
// as atomic accesses, so concurrent accesses to RAM from several threads are
// not data races; device memory is outside Rust's memory model and
// concurrent accesses to it are I/O operations the device orders, as MMIO
// hardware sees them anyway.
unsafe impl Sync for Region {}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Region")
            .field("label", &self.label)
            .field("base", &self.base)
            .field("len", &format_args!("{:#x}", self.len))
            .field("kind", &self.kind)
            .finish()
    }
}

impl Region {
    /// Maps `len` bytes of a file or device node with `MAP_SHARED`.
    ///
    /// The mapping starts at `file_offset` (a multiple of the page size, as
    /// `mmap` demands); the region starts `sub_offset` bytes into it. This is
    /// how UIO maps and sysfs `resourceN` files of BARs that are not
    /// page-aligned are reached: the kernel maps from the page start and the
    /// register block begins `addr & (page - 1)` bytes later. Any
    /// `sub_offset` is accepted; accesses whose address is not a multiple
    /// of their width are refused later, by the checks.
    ///
    /// Whether the region is device memory or RAM is decided from the file
    /// by [`MemoryKind::of_file`]; use [`map_shared_as`](Region::map_shared_as)
    /// to state it.
    ///
    /// `label` names what was mapped, for error messages and `Debug`.
    pub fn map_shared(
        fd: impl AsFd,
        file_offset: u64,
        sub_offset: usize,
        len: usize,
        label: impl Into<String>,
    ) -> Result<Region, MapError> {
        let label = label.into();
        let kind = MemoryKind::of_file(fd.as_fd()).map_err(|errno| MapError::Inspect {
            what: label.clone(),
            errno,
        })?;
        Region::map_shared_as(kind, fd, file_offset, sub_offset, len, label)
    }

    /// [`map_shared`](Region::map_shared), with the kind of memory stated
    /// by the caller instead of derived from the file (which costs two
    /// system calls: the UIO, `/dev/mem` and sysfs `resourceN` backends
    /// know they map device memory).
    ///
    /// The kind does not change how the region is accessed (every access
    /// is one atomic `mov`, performed as written): it tells users of the
    /// region what the memory is (RAM shared with others needs
    /// `Acquire`/`Release` publication of data).
    pub fn map_shared_as(
        kind: MemoryKind,
        fd: impl AsFd,
        file_offset: u64,
        sub_offset: usize,
        len: usize,
        label: impl Into<String>,
    ) -> Result<Region, MapError> {
        let label = label.into();
        if len == 0 {
            return Err(MapError::ZeroLength { what: label });
        }
        let total = sub_offset
            .checked_add(len)
            .ok_or_else(|| MapError::Overflow {
                what: label.clone(),
                offset: sub_offset,
                len,
            })?;
        let mapping = Mapping::shared(fd, file_offset, total, &label)?;
        // SAFETY: sub_offset < total <= the mapping's length, so the result
        // is inside the mapping and therefore not null.
        let base = unsafe { NonNull::new_unchecked(mapping.base().as_ptr().add(sub_offset)) };
        Ok(Region {
            base,
            len,
            kind,
            label,
            _owner: Box::new(mapping),
        })
    }

    /// A zero-filled shared anonymous mapping of `len` bytes (RAM).
    ///
    /// Useful wherever a real mapping is wanted without a device: host tests,
    /// benchmarks, and as a stand-in for a device in examples.
    pub fn anonymous(len: usize) -> Result<Region, MapError> {
        let mapping = Mapping::anonymous(len)?;
        Ok(Region {
            base: mapping.base(),
            len,
            kind: MemoryKind::Ram,
            label: format!("anonymous memory ({len:#x} bytes)"),
            _owner: Box::new(mapping),
        })
    }

    /// Builds a region over memory that something else keeps mapped.
    ///
    /// # Safety
    ///
    /// For as long as `owner` is alive (the region keeps it until it is
    /// dropped), `base..base + len` must be mapped, readable and writable,
    /// and must not be accessed through Rust references anywhere, nor with
    /// non-atomic accesses while the region may be used (the region's own
    /// accesses are atomic). `kind` says what the memory is; it does not
    /// change how it is accessed.
    pub unsafe fn from_raw_parts(
        base: NonNull<u8>,
        len: usize,
        kind: MemoryKind,
        label: impl Into<String>,
        owner: Box<dyn Send + Sync>,
    ) -> Region {
        Region {
            base,
            len,
            kind,
            label: label.into(),
            _owner: owner,
        }
    }

    /// What this region maps (for example `/dev/uio0 map0`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether this region is device memory or RAM, which decides how it is
    /// accessed (see [`MemoryKind`]).
    pub fn kind(&self) -> MemoryKind {
        self.kind
    }

    /// Length of the region in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the region is empty (never true for a mapped region).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The base address, as a raw pointer.
    ///
    /// Only for code that must compare against or hand the address to
    /// something else (benchmarks, FFI). Dereferencing it is up to the caller.
    pub fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// Checks that an access of `width` at `offset` is in bounds and that
    /// its address (base plus offset) is a multiple of the width.
    pub fn check(&self, offset: usize, width: Width) -> Result<(), AccessError> {
        check_access(self, offset, width)
    }

    /// Checked read of `width` at `offset`, zero-extended to `u64`.
    pub fn try_read(&self, offset: usize, width: Width) -> Result<u64, AccessError> {
        self.check(offset, width)?;
        // SAFETY: `check` proved offset + width <= len and that
        // base + offset is a multiple of the width.
        Ok(unsafe {
            match width {
                Width::W8 => self.read8(offset).into(),
                Width::W16 => self.read16(offset).into(),
                Width::W32 => self.read32(offset).into(),
                Width::W64 => self.read64(offset),
            }
        })
    }

    /// Checked write of `width` at `offset`.
    ///
    /// A value wider than `width` is refused, not truncated.
    pub fn try_write(&self, offset: usize, width: Width, value: u64) -> Result<(), AccessError> {
        self.check(offset, width)?;
        if value > width.max_value() {
            return Err(AccessError::ValueTooWide { value, width });
        }
        // SAFETY: `check` proved offset + width <= len and that
        // base + offset is a multiple of the width.
        unsafe {
            match width {
                Width::W8 => self.write8(offset, value as u8),
                Width::W16 => self.write16(offset, value as u16),
                Width::W32 => self.write32(offset, value as u32),
                Width::W64 => self.write64(offset, value),
            }
        }
        Ok(())
    }

    /// Checked 8-bit read.
    pub fn try_read8(&self, offset: usize) -> Result<u8, AccessError> {
        self.try_read(offset, Width::W8).map(|v| v as u8)
    }
    /// Checked 16-bit read.
    pub fn try_read16(&self, offset: usize) -> Result<u16, AccessError> {
        self.try_read(offset, Width::W16).map(|v| v as u16)
    }
    /// Checked 32-bit read.
    pub fn try_read32(&self, offset: usize) -> Result<u32, AccessError> {
        self.try_read(offset, Width::W32).map(|v| v as u32)
    }
    /// Checked 64-bit read.
    pub fn try_read64(&self, offset: usize) -> Result<u64, AccessError> {
        self.try_read(offset, Width::W64)
    }
    /// Checked 8-bit write.
    pub fn try_write8(&self, offset: usize, value: u8) -> Result<(), AccessError> {
        self.try_write(offset, Width::W8, value.into())
    }
    /// Checked 16-bit write.
    pub fn try_write16(&self, offset: usize, value: u16) -> Result<(), AccessError> {
        self.try_write(offset, Width::W16, value.into())
    }
    /// Checked 32-bit write.
    pub fn try_write32(&self, offset: usize, value: u32) -> Result<(), AccessError> {
        self.try_write(offset, Width::W32, value.into())
    }
    /// Checked 64-bit write.
    pub fn try_write64(&self, offset: usize, value: u64) -> Result<(), AccessError> {
        self.try_write(offset, Width::W64, value)
    }

    /// Copies bytes out of the region: [`Io::read_into`], the widest
    /// naturally aligned loads (each one `mov`: exactly as written, and
    /// atomic).
    ///
    /// For shared memory and data windows (ivshmem BAR2, a shared file, a
    /// DMA buffer), not registers. The loads are not ordered against
    /// anything: see [`MemoryKind`] on publishing data.
    pub fn read_bytes(&self, offset: usize, out: &mut [u8]) -> Result<(), AccessError> {
        self.read_into(offset, out)
    }

    /// Copies bytes into the region: [`Io::write_from`], the widest
    /// naturally aligned stores (each one `mov`: exactly as written, and
    /// atomic).
    pub fn write_bytes(&self, offset: usize, data: &[u8]) -> Result<(), AccessError> {
        self.write_from(offset, data)
    }

    #[inline(always)]
    fn at<T>(&self, offset: usize) -> *mut T {
        // `wrapping_add` keeps this free of UB even for a bad offset; every
        // caller has established that `offset` is in bounds before using it.
        self.base.as_ptr().wrapping_add(offset).cast::<T>()
    }
}

/// One access of each width: a single x86-64 `mov` of that width, written
/// as inline assembly, for device memory and RAM alike.
///
/// Why assembly: device memory needs an access the compiler performs
/// exactly as written (volatile), RAM shared between threads needs an
/// access that cannot race (atomic), and Rust has no volatile atomic. An
/// `asm!` block is opaque: the compiler must execute it exactly once per
/// call, in program order with other side effects (as a volatile access),
/// and the memory model treats it like a call to foreign code that may
/// perform atomic accesses; an aligned `mov` of 1, 2, 4 or 8 bytes is
/// single-copy atomic on x86-64, so it *is* a relaxed atomic access to RAM
/// (the `atomic-maybe-uninit` crate builds atomics the same way). It also
/// makes the one-instruction-per-access guarantee explicit rather than a
/// property of the optimizer, and needs no run-time choice by
/// [`MemoryKind`].
///
/// The caller's promise (the [`Io`] contract: in bounds, address a
/// multiple of the width) makes each block sound: the pointer is inside the
/// mapping, which the region owns and keeps alive, no Rust reference points
/// into it, and the access is aligned (so atomic, and never split).
macro_rules! access {
    ($read:ident, $write:ident, $t:ty, $load:literal, $store:literal, $class:ident) => {
        #[inline(always)]
        unsafe fn $read(&self, offset: usize) -> $t {
            let p = self.at::<$t>(offset);
            let v: $t;
            // SAFETY: see the macro's comment: in bounds, aligned, mapped
            // for as long as `self` lives; one load of the width, which the
            // memory model takes as a relaxed atomic load.
            unsafe {
                std::arch::asm!($load, p = in(reg) p, v = lateout($class) v,
                    options(nostack, preserves_flags))
            };
            v
        }
        #[inline(always)]
        unsafe fn $write(&self, offset: usize, value: $t) {
            let p = self.at::<$t>(offset);
            // SAFETY: as for the load: one store of the width, which the
            // memory model takes as a relaxed atomic store.
            unsafe {
                std::arch::asm!($store, p = in(reg) p, v = in($class) value,
                    options(nostack, preserves_flags))
            };
        }
    };
}

impl Io for Region {
    #[inline(always)]
    fn len(&self) -> usize {
        self.len
    }
    #[inline(always)]
    fn base_addr(&self) -> usize {
        self.base.as_ptr().addr()
    }
    access!(
        read8,
        write8,
        u8,
        "mov {v}, byte ptr [{p}]",
        "mov byte ptr [{p}], {v}",
        reg_byte
    );
    access!(
        read16,
        write16,
        u16,
        "mov {v:x}, word ptr [{p}]",
        "mov word ptr [{p}], {v:x}",
        reg
    );
    access!(
        read32,
        write32,
        u32,
        "mov {v:e}, dword ptr [{p}]",
        "mov dword ptr [{p}], {v:e}",
        reg
    );
    access!(
        read64,
        write64,
        u64,
        "mov {v:r}, qword ptr [{p}]",
        "mov qword ptr [{p}], {v:r}",
        reg
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_region_round_trips_every_width() {
        let r = Region::anonymous(64).unwrap();
        r.try_write8(1, 0xab).unwrap();
        r.try_write16(2, 0xbeef).unwrap();
        r.try_write32(4, 0xdead_beef).unwrap();
        r.try_write64(8, 0x0123_4567_89ab_cdef).unwrap();
        assert_eq!(r.try_read8(1).unwrap(), 0xab);
        assert_eq!(r.try_read16(2).unwrap(), 0xbeef);
        assert_eq!(r.try_read32(4).unwrap(), 0xdead_beef);
        assert_eq!(r.try_read64(8).unwrap(), 0x0123_4567_89ab_cdef);
        // little-endian layout: the 32-bit word holds the 8- and 16-bit writes
        assert_eq!(r.try_read32(0).unwrap(), 0xbeef_ab00);
    }

    #[test]
    fn out_of_bounds_and_misaligned_are_refused() {
        let r = Region::anonymous(16).unwrap();
        assert_eq!(
            r.try_read32(16).unwrap_err().to_string(),
            "32-bit access at offset 0x10 is outside the region (0x10 bytes): the last valid offset for this width is 0xc"
        );
        assert!(matches!(
            r.try_read64(12),
            Err(AccessError::OutOfBounds { .. })
        ));
        assert_eq!(
            r.try_read32(2).unwrap_err().to_string(),
            "32-bit access at offset 0x2 is misaligned: the offset must be a multiple of 4"
        );
        assert!(matches!(
            r.try_read16(usize::MAX),
            Err(AccessError::OutOfBounds { .. })
        ));
        assert_eq!(
            r.try_write(0, Width::W8, 0x100).unwrap_err().to_string(),
            "value 0x100 does not fit in an 8-bit access (maximum 0xff)"
        );
    }

    #[test]
    fn byte_copies_are_bounds_checked() {
        let r = Region::anonymous(8).unwrap();
        r.write_bytes(2, b"hello").unwrap();
        let mut out = [0u8; 5];
        r.read_bytes(2, &mut out).unwrap();
        assert_eq!(&out, b"hello");
        assert!(r.write_bytes(4, b"hello").is_err());
        assert!(r.read_bytes(usize::MAX, &mut out).is_err());
    }

    #[test]
    fn file_mapping_is_shared_with_the_file() {
        use std::io::{Read, Seek, SeekFrom, Write};
        let mut f = tempfile();
        f.write_all(&[0u8; 8192]).unwrap();
        let page = crate::page_size() as u64;
        // map the second page, starting 0x10 bytes into it
        let r = Region::map_shared(&f, page, 0x10, 0x20, "test file").unwrap();
        r.try_write32(0, 0x1122_3344).unwrap();
        drop(r);
        let mut buf = [0u8; 4];
        f.seek(SeekFrom::Start(page + 0x10)).unwrap();
        f.read_exact(&mut buf).unwrap();
        assert_eq!(u32::from_le_bytes(buf), 0x1122_3344);
        let err = Region::map_shared(&f, 1, 0, 4, "test file").unwrap_err();
        assert!(
            err.to_string().contains("not a multiple of the page size"),
            "{err}"
        );
    }

    /// A region may start anywhere (`/dev/mem` at an odd address); the
    /// check is on the address, so an access that the offset alone would
    /// let through is refused instead of becoming a misaligned load (an
    /// abort in debug builds, undefined behaviour in release builds).
    #[test]
    fn a_misaligned_base_refuses_wide_accesses_and_allows_aligned_addresses() {
        let f = tempfile();
        f.set_len(4096).unwrap();
        let r = Region::map_shared(&f, 0, 1, 64, "test file").unwrap();
        assert_eq!(r.base_addr() % 8, 1, "the mapping is page-aligned, plus 1");
        let err = r.try_read32(0).unwrap_err();
        assert!(
            matches!(
                err,
                AccessError::MisalignedAddress {
                    offset: 0,
                    base_skew: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "32-bit access at offset 0x0 is misaligned: its address {:#x} is not a multiple \
                 of 4 (the region starts 1 byte past a 4-byte boundary, so the aligned offsets \
                 for this width are 0x3 plus multiples of 4)",
                r.base_addr()
            )
        );
        assert!(r.try_write64(0, 1).is_err());
        assert!(r.try_read16(0).is_err());
        assert!(r.check(0, Width::W32).is_err());
        // Bytes are always aligned, and offsets that bring the address back
        // onto a boundary are fine.
        r.try_write8(0, 0x5a).unwrap();
        assert_eq!(r.try_read8(0).unwrap(), 0x5a);
        r.try_write32(3, 0x1122_3344).unwrap();
        assert_eq!(r.try_read32(3).unwrap(), 0x1122_3344);
        r.try_write64(7, 7).unwrap();
        assert_eq!(r.try_read16(5).unwrap(), 0x1122);
    }

    #[test]
    fn anonymous_and_regular_file_regions_are_ram() {
        assert_eq!(Region::anonymous(8).unwrap().kind(), MemoryKind::Ram);
        let f = tempfile();
        f.set_len(4096).unwrap();
        let r = Region::map_shared(&f, 0, 0, 16, "test file").unwrap();
        assert_eq!(r.kind(), MemoryKind::Ram);
        let r = Region::map_shared_as(MemoryKind::Device, &f, 0, 0, 16, "test file").unwrap();
        assert_eq!(r.kind(), MemoryKind::Device);
    }

    #[test]
    fn dev_zero_is_ram_and_other_character_devices_are_device_memory() {
        let zero = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/zero")
            .unwrap();
        let r = Region::map_shared(&zero, 0, 0, 64, "/dev/zero").unwrap();
        assert_eq!(r.kind(), MemoryKind::Ram);
        r.try_write32(0, 9).unwrap();
        assert_eq!(r.try_read32(0).unwrap(), 9);
        // /dev/null cannot be mapped, but the rule applies to it as to
        // /dev/mem and /dev/uioN: a character device is device memory.
        let null = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(MemoryKind::of_file(&null).unwrap(), MemoryKind::Device);
    }

    /// The rule for the files a host test cannot map: `/dev/mem` and
    /// `/dev/uioN` (character devices), sysfs `resourceN` files.
    #[test]
    fn classification_rule() {
        use MemoryKind::{Device, Ram};
        // /dev/mem (1, 1), /dev/uio0 (a dynamic major)
        assert_eq!(MemoryKind::classify(true, (1, 1), false), Device);
        assert_eq!(MemoryKind::classify(true, (243, 0), false), Device);
        // /dev/zero
        assert_eq!(MemoryKind::classify(true, (1, 5), false), Ram);
        // /sys/bus/pci/devices/*/resource0
        assert_eq!(MemoryKind::classify(false, (0, 0), true), Device);
        // a regular file, a /dev/shm file
        assert_eq!(MemoryKind::classify(false, (0, 0), false), Ram);
    }

    /// Two threads share one `&Region` over RAM, one storing alternating
    /// 64-bit patterns, the other loading: every load sees one whole
    /// pattern. This is sound (not a data race) only because the accesses
    /// are atomic (single inline-assembly `mov`s); with `read_volatile` and
    /// `write_volatile` it would be undefined behaviour.
    #[test]
    fn threads_sharing_a_ram_region_see_whole_values() {
        const A: u64 = 0x0000_0000_0000_0000;
        const B: u64 = 0xffff_ffff_ffff_ffff;
        const C: u64 = 0x0123_4567_89ab_cdef;
        let r = Region::anonymous(64).unwrap();
        assert_eq!(r.kind(), MemoryKind::Ram);
        let r = &r;
        std::thread::scope(|s| {
            s.spawn(move || {
                for i in 0..200_000u32 {
                    let v = [A, B, C][(i % 3) as usize];
                    r.try_write64(8, v).unwrap();
                }
            });
            s.spawn(move || {
                for _ in 0..200_000 {
                    let v = r.try_read64(8).unwrap();
                    assert!(v == A || v == B || v == C, "torn read: {v:#x}");
                }
            });
        });
    }

    fn tempfile() -> std::fs::File {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("hal-core-test-{}-{n}", std::process::id()));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }
}
