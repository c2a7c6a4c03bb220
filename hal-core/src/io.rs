use std::fmt;

use tock_registers::UIntLike;

use crate::error::AccessError;

/// The width of one register access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Width {
    /// 8 bits.
    W8,
    /// 16 bits.
    W16,
    /// 32 bits.
    W32,
    /// 64 bits.
    W64,
}

impl Width {
    /// Number of bytes of one access.
    pub const fn bytes(self) -> usize {
        match self {
            Width::W8 => 1,
            Width::W16 => 2,
            Width::W32 => 4,
            Width::W64 => 8,
        }
    }

    /// Number of bits of one access.
    pub const fn bits(self) -> u32 {
        (self.bytes() * 8) as u32
    }

    /// The width with this many bits, if there is one.
    pub const fn from_bits(bits: u32) -> Option<Width> {
        match bits {
            8 => Some(Width::W8),
            16 => Some(Width::W16),
            32 => Some(Width::W32),
            64 => Some(Width::W64),
            _ => None,
        }
    }

    /// The largest value an access of this width can carry.
    pub const fn max_value(self) -> u64 {
        match self {
            Width::W64 => u64::MAX,
            w => (1u64 << w.bits()) - 1,
        }
    }
}

impl fmt::Display for Width {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-bit", self.bits())
    }
}

/// A backend that performs single accesses of a fixed width at byte offsets.
///
/// [`Region`](crate::Region) implements it over a memory mapping (one
/// inline-assembly `mov` per access, exactly as written and atomic: see
/// [`MemoryKind`](crate::MemoryKind)); the [`fake`](crate::fake) module
/// implements it over memory and over device models for host tests.
///
/// # Contract for callers
///
/// The access methods are `unsafe`: for an access of `n` bytes at `offset`
/// the caller promises that
///
/// * `offset + n <= self.len()`, and
/// * `self.base_addr() + offset` is a multiple of `n`: the *address* is
///   aligned, not only the offset (a region need not start on an `n`-byte
///   boundary, for example a mapping of `/dev/mem` at an odd address).
///
/// [`Region`](crate::Region)'s `try_*` methods check both. The generated
/// register blocks check both once, when they are built (with
/// [`check_block`](crate::check_block): the backend's length against the
/// block's size and its base address against the block's widest register),
/// and their offsets at compile time (every offset is a multiple of its
/// register's width).
///
/// Implementations perform exactly one access of the stated width per call.
///
/// The bulk methods ([`read_into`](Io::read_into),
/// [`write_from`](Io::write_from), [`fill`](Io::fill)) are checked, safe
/// and provided: they are built on the single accesses, so any backend
/// (a fake included) has them, and every backend splits a transfer into
/// the same accesses.
pub trait Io {
    /// Length of the accessible range in bytes.
    fn len(&self) -> usize;

    /// Whether the range is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address of offset 0, used for alignment checks.
    ///
    /// For a [`Region`](crate::Region) this is the mapped address; a fake
    /// backend returns a pretend address (see
    /// [`ModelIo::with_base`](crate::fake::ModelIo::with_base)).
    fn base_addr(&self) -> usize;

    /// 8-bit read.
    ///
    /// # Safety
    /// `offset + 1 <= self.len()`.
    unsafe fn read8(&self, offset: usize) -> u8;
    /// 16-bit read.
    ///
    /// # Safety
    /// `offset + 2 <= self.len()` and `(self.base_addr() + offset) % 2 == 0`.
    unsafe fn read16(&self, offset: usize) -> u16;
    /// 32-bit read.
    ///
    /// # Safety
    /// `offset + 4 <= self.len()` and `(self.base_addr() + offset) % 4 == 0`.
    unsafe fn read32(&self, offset: usize) -> u32;
    /// 64-bit read.
    ///
    /// # Safety
    /// `offset + 8 <= self.len()` and `(self.base_addr() + offset) % 8 == 0`.
    unsafe fn read64(&self, offset: usize) -> u64;
    /// 8-bit write.
    ///
    /// # Safety
    /// `offset + 1 <= self.len()`.
    unsafe fn write8(&self, offset: usize, value: u8);
    /// 16-bit write.
    ///
    /// # Safety
    /// `offset + 2 <= self.len()` and `(self.base_addr() + offset) % 2 == 0`.
    unsafe fn write16(&self, offset: usize, value: u16);
    /// 32-bit write.
    ///
    /// # Safety
    /// `offset + 4 <= self.len()` and `(self.base_addr() + offset) % 4 == 0`.
    unsafe fn write32(&self, offset: usize, value: u32);
    /// 64-bit write.
    ///
    /// # Safety
    /// `offset + 8 <= self.len()` and `(self.base_addr() + offset) % 8 == 0`.
    unsafe fn write64(&self, offset: usize, value: u64);

    /// Copies `buf.len()` bytes starting at `offset` into `buf`, with the
    /// widest naturally aligned reads (a head of at most 7 bytes, 64-bit
    /// reads, a tail of at most 7 bytes: see [`bulk`](crate::bulk)).
    ///
    /// Checked: a range that does not fit is refused with
    /// [`AccessError::RangeOutOfBounds`] before any access. For data
    /// windows (RAM-like BARs such as ivshmem's BAR2, DMA buffers), not
    /// register files, whose registers have width rules and read side
    /// effects.
    fn read_into(&self, offset: usize, buf: &mut [u8]) -> Result<(), AccessError> {
        crate::bulk::read_into(self, offset, buf)
    }

    /// Copies `data` to the bytes starting at `offset`, with the widest
    /// naturally aligned writes (see [`read_into`](Io::read_into) and
    /// [`bulk`](crate::bulk)).
    fn write_from(&self, offset: usize, data: &[u8]) -> Result<(), AccessError> {
        crate::bulk::write_from(self, offset, data)
    }

    /// Sets the `len` bytes starting at `offset` to `byte`, with the widest
    /// naturally aligned writes (see [`read_into`](Io::read_into) and
    /// [`bulk`](crate::bulk)).
    fn fill(&self, offset: usize, len: usize, byte: u8) -> Result<(), AccessError> {
        crate::bulk::fill(self, offset, len, byte)
    }
}

/// A shared reference to a backend is a backend: `Window<&Region>` and
/// `Window<&ModelIo<M>>` borrow the backend they are a part of.
impl<I: Io + ?Sized> Io for &I {
    #[inline(always)]
    fn len(&self) -> usize {
        (**self).len()
    }
    #[inline(always)]
    fn base_addr(&self) -> usize {
        (**self).base_addr()
    }
    #[inline(always)]
    unsafe fn read8(&self, offset: usize) -> u8 {
        // SAFETY: forwarded verbatim from this function's contract.
        unsafe { (**self).read8(offset) }
    }
    #[inline(always)]
    unsafe fn read16(&self, offset: usize) -> u16 {
        // SAFETY: forwarded verbatim from this function's contract.
        unsafe { (**self).read16(offset) }
    }
    #[inline(always)]
    unsafe fn read32(&self, offset: usize) -> u32 {
        // SAFETY: forwarded verbatim from this function's contract.
        unsafe { (**self).read32(offset) }
    }
    #[inline(always)]
    unsafe fn read64(&self, offset: usize) -> u64 {
        // SAFETY: forwarded verbatim from this function's contract.
        unsafe { (**self).read64(offset) }
    }
    #[inline(always)]
    unsafe fn write8(&self, offset: usize, value: u8) {
        // SAFETY: forwarded verbatim from this function's contract.
        unsafe { (**self).write8(offset, value) }
    }
    #[inline(always)]
    unsafe fn write16(&self, offset: usize, value: u16) {
        // SAFETY: forwarded verbatim from this function's contract.
        unsafe { (**self).write16(offset, value) }
    }
    #[inline(always)]
    unsafe fn write32(&self, offset: usize, value: u32) {
        // SAFETY: forwarded verbatim from this function's contract.
        unsafe { (**self).write32(offset, value) }
    }
    #[inline(always)]
    unsafe fn write64(&self, offset: usize, value: u64) {
        // SAFETY: forwarded verbatim from this function's contract.
        unsafe { (**self).write64(offset, value) }
    }
    // The bulk methods too, so that a backend's own versions are kept.
    #[inline]
    fn read_into(&self, offset: usize, buf: &mut [u8]) -> Result<(), AccessError> {
        (**self).read_into(offset, buf)
    }
    #[inline]
    fn write_from(&self, offset: usize, data: &[u8]) -> Result<(), AccessError> {
        (**self).write_from(offset, data)
    }
    #[inline]
    fn fill(&self, offset: usize, len: usize, byte: u8) -> Result<(), AccessError> {
        (**self).fill(offset, len, byte)
    }
}

/// An unsigned integer type that is a register width: `u8`, `u16`, `u32`, `u64`.
///
/// It dispatches a generic access to the [`Io`] method of its width.
pub trait Word: UIntLike + Copy + Into<u64> + 'static {
    /// The access width of this type.
    const WIDTH: Width;

    /// Reads one value of this width.
    ///
    /// # Safety
    /// Same contract as the [`Io`] read of this width.
    unsafe fn read_from<I: Io + ?Sized>(io: &I, offset: usize) -> Self;

    /// Writes one value of this width.
    ///
    /// # Safety
    /// Same contract as the [`Io`] write of this width.
    unsafe fn write_to<I: Io + ?Sized>(io: &I, offset: usize, value: Self);

    /// Truncating conversion from `u64`.
    fn from_u64_truncating(v: u64) -> Self;
}

macro_rules! word {
    ($t:ty, $w:expr, $r:ident, $wr:ident) => {
        impl Word for $t {
            const WIDTH: Width = $w;

            #[inline(always)]
            unsafe fn read_from<I: Io + ?Sized>(io: &I, offset: usize) -> Self {
                // SAFETY: forwarded verbatim from this function's contract.
                unsafe { io.$r(offset) }
            }

            #[inline(always)]
            unsafe fn write_to<I: Io + ?Sized>(io: &I, offset: usize, value: Self) {
                // SAFETY: forwarded verbatim from this function's contract.
                unsafe { io.$wr(offset, value) }
            }

            #[inline(always)]
            fn from_u64_truncating(v: u64) -> Self {
                v as $t
            }
        }
    };
}

word!(u8, Width::W8, read8, write8);
word!(u16, Width::W16, read16, write16);
word!(u32, Width::W32, read32, write32);
word!(u64, Width::W64, read64, write64);
