use std::fmt;
use std::os::fd::AsFd;
use std::ptr::NonNull;

use crate::error::{AccessError, LastOffset, MapError};
use crate::io::{Io, Width};
use crate::mmap::Mapping;

/// An owned, mapped range of device (or shared) memory.
///
/// A `Region` knows its base address and length and releases its mapping
/// when dropped. It never hands out references into the mapped memory:
/// every access is one volatile load or store through a raw pointer.
///
/// * Typed access: build a generated register block over it (the block
///   checks the length once; its offsets are checked at compile time).
/// * Dynamic access, for tools: [`try_read`](Region::try_read),
///   [`try_write`](Region::try_write) and the per-width variants return an
///   [`AccessError`] for an out-of-range or misaligned offset instead of
///   touching the device.
pub struct Region {
    base: NonNull<u8>,
    len: usize,
    label: String,
    // Dropped after use ends; owns the mapping (or whatever keeps `base` valid).
    _owner: Box<dyn Send + Sync>,
}

// SAFETY: a Region is an address range plus an owner that is itself Send +
// Sync. Volatile accesses from several threads are what MMIO hardware sees
// anyway; Region keeps no Rust-visible state that they could race on.
unsafe impl Send for Region {}
// SAFETY: as above; all methods take &self and only perform volatile accesses.
unsafe impl Sync for Region {}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Region")
            .field("label", &self.label)
            .field("base", &self.base)
            .field("len", &format_args!("{:#x}", self.len))
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
    /// register block begins `addr & (page - 1)` bytes later.
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
            label,
            _owner: Box::new(mapping),
        })
    }

    /// A zero-filled shared anonymous mapping of `len` bytes.
    ///
    /// Useful wherever a real mapping is wanted without a device: host tests,
    /// benchmarks, and as a stand-in for a device in examples.
    pub fn anonymous(len: usize) -> Result<Region, MapError> {
        let mapping = Mapping::anonymous(len)?;
        Ok(Region {
            base: mapping.base(),
            len,
            label: format!("anonymous memory ({len:#x} bytes)"),
            _owner: Box::new(mapping),
        })
    }

    /// Builds a region over memory that something else keeps mapped.
    ///
    /// # Safety
    ///
    /// For as long as `owner` is alive (the region keeps it until it is
    /// dropped), `base..base + len` must be mapped, readable and writable
    /// with volatile accesses of every width at aligned offsets, and must not
    /// be accessed through Rust references anywhere.
    pub unsafe fn from_raw_parts(
        base: NonNull<u8>,
        len: usize,
        label: impl Into<String>,
        owner: Box<dyn Send + Sync>,
    ) -> Region {
        Region {
            base,
            len,
            label: label.into(),
            _owner: owner,
        }
    }

    /// What this region maps (for example `/dev/uio0 map0`).
    pub fn label(&self) -> &str {
        &self.label
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

    /// Checks that an access of `width` at `offset` is in bounds and aligned.
    pub fn check(&self, offset: usize, width: Width) -> Result<(), AccessError> {
        check(self.len, offset, width)
    }

    /// Checked read of `width` at `offset`, zero-extended to `u64`.
    pub fn try_read(&self, offset: usize, width: Width) -> Result<u64, AccessError> {
        self.check(offset, width)?;
        // SAFETY: `check` proved offset + width <= len and alignment.
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
        // SAFETY: `check` proved offset + width <= len and alignment.
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

    /// Copies bytes out of the region with volatile 8-bit loads.
    ///
    /// For shared memory (ivshmem BAR2, a shared file), where byte-exact
    /// content matters more than access width.
    pub fn read_bytes(&self, offset: usize, out: &mut [u8]) -> Result<(), AccessError> {
        self.check_range(offset, out.len())?;
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: check_range proved offset + out.len() <= len.
            *b = unsafe { self.read8(offset + i) };
        }
        Ok(())
    }

    /// Copies bytes into the region with volatile 8-bit stores.
    pub fn write_bytes(&self, offset: usize, data: &[u8]) -> Result<(), AccessError> {
        self.check_range(offset, data.len())?;
        for (i, b) in data.iter().enumerate() {
            // SAFETY: check_range proved offset + data.len() <= len.
            unsafe { self.write8(offset + i, *b) };
        }
        Ok(())
    }

    fn check_range(&self, offset: usize, n: usize) -> Result<(), AccessError> {
        match offset.checked_add(n) {
            Some(end) if end <= self.len => Ok(()),
            end => Err(AccessError::RangeOutOfBounds {
                offset,
                end: end.unwrap_or(usize::MAX),
                len: self.len,
            }),
        }
    }

    #[inline(always)]
    fn at<T>(&self, offset: usize) -> *mut T {
        // `wrapping_add` keeps this free of UB even for a bad offset; every
        // caller has established that `offset` is in bounds before using it.
        self.base.as_ptr().wrapping_add(offset).cast::<T>()
    }
}

/// Bounds and alignment check shared by every checked access.
pub(crate) fn check(len: usize, offset: usize, width: Width) -> Result<(), AccessError> {
    let bytes = width.bytes();
    let fits = offset.checked_add(bytes).is_some_and(|end| end <= len);
    if !fits {
        return Err(AccessError::OutOfBounds {
            offset,
            width,
            len,
            last: LastOffset(len.checked_sub(bytes).map(|l| l & !(bytes - 1))),
        });
    }
    if offset % bytes != 0 {
        return Err(AccessError::Misaligned {
            offset,
            width,
            bytes,
        });
    }
    Ok(())
}

impl Io for Region {
    #[inline(always)]
    fn len(&self) -> usize {
        self.len
    }
    #[inline(always)]
    unsafe fn read8(&self, offset: usize) -> u8 {
        // SAFETY: the caller promises offset + 1 <= len; the mapping is alive
        // (we own it) and no reference points into it.
        unsafe { self.at::<u8>(offset).read_volatile() }
    }
    #[inline(always)]
    unsafe fn read16(&self, offset: usize) -> u16 {
        // SAFETY: the caller promises the access is in bounds and 2-aligned;
        // the base is page-aligned or offset by the device's own alignment.
        unsafe { self.at::<u16>(offset).read_volatile() }
    }
    #[inline(always)]
    unsafe fn read32(&self, offset: usize) -> u32 {
        // SAFETY: the caller promises the access is in bounds and 4-aligned.
        unsafe { self.at::<u32>(offset).read_volatile() }
    }
    #[inline(always)]
    unsafe fn read64(&self, offset: usize) -> u64 {
        // SAFETY: the caller promises the access is in bounds and 8-aligned.
        unsafe { self.at::<u64>(offset).read_volatile() }
    }
    #[inline(always)]
    unsafe fn write8(&self, offset: usize, value: u8) {
        // SAFETY: the caller promises offset + 1 <= len.
        unsafe { self.at::<u8>(offset).write_volatile(value) }
    }
    #[inline(always)]
    unsafe fn write16(&self, offset: usize, value: u16) {
        // SAFETY: the caller promises the access is in bounds and 2-aligned.
        unsafe { self.at::<u16>(offset).write_volatile(value) }
    }
    #[inline(always)]
    unsafe fn write32(&self, offset: usize, value: u32) {
        // SAFETY: the caller promises the access is in bounds and 4-aligned.
        unsafe { self.at::<u32>(offset).write_volatile(value) }
    }
    #[inline(always)]
    unsafe fn write64(&self, offset: usize, value: u64) {
        // SAFETY: the caller promises the access is in bounds and 8-aligned.
        unsafe { self.at::<u64>(offset).write_volatile(value) }
    }
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

    fn tempfile() -> std::fs::File {
        let path = std::env::temp_dir().join(format!("hal-core-test-{}", std::process::id()));
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
