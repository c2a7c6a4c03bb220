//! Which bus addresses a device can reach.

use std::fmt;

use crate::error::DmaError;

/// The addresses a device can put on the bus: `0..=max_addr()`, given as a
/// number of address bits (Linux's `DMA_BIT_MASK(n)`).
///
/// A device with an `n`-bit mask drops the address bits above bit `n - 1`:
/// QEMU's `edu` (28-bit by default) masks a DMA address of `0x3ffb8000`
/// to `0x0ffb8000` and reads or writes that other page without any error,
/// corrupting memory. So a buffer is refused, when it is allocated, if any
/// of its bytes has a device address outside the mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DmaMask(u64);

impl DmaMask {
    /// A device that reaches every 64-bit address.
    pub const ALL: DmaMask = DmaMask(u64::MAX);

    /// The mask of a device with `n` address bits (`n` in `1..=64`), like
    /// Linux's `DMA_BIT_MASK(n)`: `DmaMask::bits(28)` for QEMU's `edu`.
    ///
    /// # Panics
    ///
    /// If `n` is 0 or above 64 (in a `const` this is a compile-time error);
    /// use [`try_bits`](DmaMask::try_bits) for a number from input.
    pub const fn bits(n: u32) -> DmaMask {
        assert!(
            n >= 1 && n <= 64,
            "DmaMask::bits: the number of address bits must be 1 to 64"
        );
        DmaMask(u64::MAX >> (64 - n))
    }

    /// [`bits`](DmaMask::bits) for a number that may be out of range:
    /// [`DmaError::BadMaskBits`] unless `n` is in `1..=64`.
    pub fn try_bits(n: u32) -> Result<DmaMask, DmaError> {
        match n {
            1..=64 => Ok(DmaMask::bits(n)),
            _ => Err(DmaError::BadMaskBits { bits: n }),
        }
    }

    /// The number of address bits.
    pub const fn width(&self) -> u32 {
        u64::BITS - self.0.leading_zeros()
    }

    /// The highest address the device can reach (`2^n - 1`).
    pub const fn max_addr(&self) -> u64 {
        self.0
    }

    /// Whether every byte of `addr..addr + len` is reachable. An empty
    /// range is reachable when `addr` is; a range that wraps past
    /// `u64::MAX` never is.
    pub const fn contains(&self, addr: u64, len: usize) -> bool {
        let last = match len {
            0 => addr,
            n => match addr.checked_add(n as u64 - 1) {
                Some(last) => last,
                None => return false,
            },
        };
        last <= self.0
    }
}

/// `28-bit`: the form an error message uses ("the device's 28-bit DMA mask").
impl fmt::Display for DmaMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-bit", self.width())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_give_the_highest_address_and_print_as_n_bit() {
        let edu = DmaMask::bits(28);
        assert_eq!(edu.max_addr(), 0x0fff_ffff);
        assert_eq!(edu.width(), 28);
        assert_eq!(edu.to_string(), "28-bit");
        assert_eq!(DmaMask::bits(32).max_addr(), 0xffff_ffff);
        assert_eq!(DmaMask::bits(1).max_addr(), 1);
        assert_eq!(DmaMask::bits(64), DmaMask::ALL);
        assert_eq!(DmaMask::ALL.to_string(), "64-bit");
        assert_eq!(DmaMask::ALL.max_addr(), u64::MAX);
    }

    #[test]
    fn out_of_range_bits_are_an_error() {
        for n in [0, 65, 100, u32::MAX] {
            let e = DmaMask::try_bits(n).unwrap_err();
            assert!(matches!(e, DmaError::BadMaskBits { bits } if bits == n));
            assert!(e.to_string().contains("1 to 64"), "{e}");
        }
    }

    #[test]
    fn contains_checks_the_last_byte() {
        let m = DmaMask::bits(28);
        assert!(m.contains(0, 4096));
        assert!(m.contains(0x0fff_f000, 4096));
        assert!(!m.contains(0x0fff_f000, 4097));
        assert!(!m.contains(0x1000_0000, 1));
        assert!(m.contains(0x0fff_ffff, 0));
        assert!(!m.contains(0x1000_0000, 0));
        assert!(DmaMask::ALL.contains(u64::MAX, 1));
        assert!(!DmaMask::ALL.contains(u64::MAX, 2));
    }
}
