//! The bounds and alignment checks that make unsafe [`Io`] accesses sound.

use crate::error::{AccessError, BlockError, LastOffset};
use crate::io::{Io, Width};

/// Checks that an access of `width` at `offset` of `io` is in bounds and
/// that its address (`io.base_addr() + offset`) is a multiple of the width:
/// exactly the [`Io`] contract.
pub(crate) fn check_access<I: Io + ?Sized>(
    io: &I,
    offset: usize,
    width: Width,
) -> Result<(), AccessError> {
    let len = io.len();
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
    let base = io.base_addr();
    // Alignment is a property of the address, so only the low bits matter:
    // wrapping arithmetic gives the right remainder even if the sum overflows.
    let address = base.wrapping_add(offset);
    if !address.is_multiple_of(bytes) {
        let base_skew = base % bytes;
        if base_skew == 0 {
            return Err(AccessError::Misaligned {
                offset,
                width,
                bytes,
            });
        }
        return Err(AccessError::MisalignedAddress {
            offset,
            width,
            address,
            base_skew,
        });
    }
    Ok(())
}

/// Checks that a register block of `size` bytes whose widest register is
/// `align` bytes wide can be built over `io`.
///
/// `io` must hold at least `size` bytes and start at an address that is a
/// multiple of `align` (a power of two). Generated register blocks call this
/// in `new`; together with their compile-time layout checks (every
/// register's offset is a multiple of its width, which divides `align`) it
/// establishes the [`Io`] contract for every accessor, so the accessors
/// need no further checks.
///
/// `block` names the block in the error (`"edu.regs"`).
///
/// ```
/// use hal_core::{check_block, fake::FakeIo, BlockError};
///
/// let io = FakeIo::new(0x100).with_base(0x1000_0004);
/// assert!(check_block(&io, "dev.regs", 0x100, 4).is_ok());
/// assert!(matches!(
///     check_block(&io, "dev.regs", 0x100, 8),
///     Err(BlockError::Misaligned { align: 8, .. })
/// ));
/// assert!(matches!(
///     check_block(&io, "dev.regs", 0x200, 4),
///     Err(BlockError::TooSmall { need: 0x200, .. })
/// ));
/// ```
pub fn check_block<I: Io + ?Sized>(
    io: &I,
    block: &'static str,
    size: usize,
    align: usize,
) -> Result<(), BlockError> {
    if io.len() < size {
        return Err(BlockError::TooSmall {
            block,
            need: size,
            have: io.len(),
        });
    }
    // An alignment of 0 would make the remainder panic; treat it as 1.
    let address = io.base_addr();
    if align > 1 && !address.is_multiple_of(align) {
        return Err(BlockError::Misaligned {
            block,
            address,
            align,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{FakeIo, DEFAULT_BASE};

    #[test]
    fn fakes_start_page_aligned_unless_told_otherwise() {
        assert_eq!(FakeIo::new(8).base_addr(), DEFAULT_BASE);
        assert_eq!(DEFAULT_BASE % crate::page_size(), 0);
        assert_eq!(FakeIo::new(8).with_base(0x1001).base_addr(), 0x1001);
    }

    /// An offset that is a multiple of the width is not enough: the check
    /// is on the address (without it, the old offset-only check let this
    /// access through).
    #[test]
    fn access_check_is_on_the_address() {
        let io = FakeIo::new(16).with_base(0x1004);
        assert!(check_access(&io, 0, Width::W32).is_ok());
        assert!(check_access(&io, 4, Width::W64).is_ok());
        assert_eq!(
            check_access(&io, 8, Width::W64).unwrap_err().to_string(),
            "64-bit access at offset 0x8 is misaligned: its address 0x100c is not a multiple \
             of 8 (the region starts 4 bytes past a 8-byte boundary, so the aligned offsets \
             for this width are 0x4 plus multiples of 8)"
        );
        // With an aligned base, a misaligned offset keeps its own message.
        let io = FakeIo::new(16);
        assert!(matches!(
            check_access(&io, 2, Width::W32),
            Err(AccessError::Misaligned { offset: 2, .. })
        ));
    }

    #[test]
    fn block_check_names_the_block_the_address_and_the_alignment() {
        let io = FakeIo::new(0x100).with_base(0x2001);
        assert_eq!(
            check_block(&io, "dev.regs", 0x100, 4)
                .unwrap_err()
                .to_string(),
            "block dev.regs cannot be built at address 0x2001: its registers need the region \
             to start on a multiple of 4 bytes, and this one starts 1 byte past such a boundary"
        );
        // Only byte registers: any base will do.
        assert!(check_block(&io, "dev.bytes", 0x100, 1).is_ok());
        // The length is checked first.
        assert!(matches!(
            check_block(&io, "dev.regs", 0x101, 4),
            Err(BlockError::TooSmall { .. })
        ));
        // Nonsense alignments do not panic.
        assert!(check_block(&io, "dev.regs", 0, 0).is_ok());
    }
}
