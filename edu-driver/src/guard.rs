//! The checks every DMA request passes before the device sees any of it.
//!
//! QEMU 7.2's edu (hw/misc/edu.c) does not report a bad request to the
//! guest: it either aborts the whole QEMU process or silently uses another
//! address. Each [`Refusal`] names one of those behaviours, and
//! [`check_transfer`] refuses the request before a single register is
//! written, so a refused request leaves the device exactly as it was.
//!
//! | request | what QEMU 7.2 does | refused as |
//! |---|---|---|
//! | count 0 | `edu_check_range` needs `addr + cnt > addr`: `hw_error()` → `abort()` | [`Refusal::ZeroLength`] |
//! | device-side address outside `0x40000..0x41000` | `hw_error()` → `abort()` | [`Refusal::DeviceAddress`] |
//! | device-side range reaching `0x41000` (4096 bytes at `0x40000`, 2 bytes at `0x40fff`) | the end must be *strictly* below `0x41000` (an off-by-one): `hw_error()` → `abort()` | [`Refusal::ReachesBufferEnd`] |
//! | a RAM byte above the device's DMA mask (edu: 28 bits unless QEMU's `dma_mask` property raises it) | `edu_clamp_addr` masks the address: the transfer reads or writes *another* guest page | [`Refusal::AboveMask`] |
//! | a RAM range over two pages that are not physically adjacent | the device copies one physical range: the bytes past the first page go to (or come from) whatever page follows it physically | [`Refusal::Discontiguous`] |
//! | a RAM range outside the buffer given | (a driver bug, caught before it reaches the device) | [`Refusal::OutsideBuffer`] |
//!
//! So the largest transfer is [`MAX_TRANSFER`] = 4095 bytes, from
//! [`BUFFER_START`], and in general `device_addr + len <= 0x40fff`.

use std::fmt;

use dma_mem::DmaMask;

/// Where edu's internal DMA buffer starts in the device's DMA address space
/// (`DMA_START` in edu.c). It is not visible through BAR0.
pub const BUFFER_START: u64 = 0x40000;
/// Size of edu's internal DMA buffer in bytes (`DMA_SIZE` in edu.c).
pub const BUFFER_LEN: u64 = 4096;
/// One past the last byte of the buffer: a transfer may not reach it.
pub const BUFFER_END: u64 = BUFFER_START + BUFFER_LEN;
/// The longest transfer QEMU 7.2 accepts (from [`BUFFER_START`]): one byte
/// less than the buffer, because its range check wants the end strictly
/// below [`BUFFER_END`].
pub const MAX_TRANSFER: usize = (BUFFER_LEN - 1) as usize;
/// edu's DMA mask unless QEMU is started with `-device edu,dma_mask=…`.
pub const DEFAULT_MASK_BITS: u32 = 28;

/// Which way a transfer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// RAM → the device's buffer (DMA_CMD.DIRECTION = 0, "FROM_PCI" in edu.c).
    ToDevice,
    /// The device's buffer → RAM (DMA_CMD.DIRECTION = 1).
    ToRam,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::ToDevice => "RAM to device",
            Direction::ToRam => "device to RAM",
        })
    }
}

/// Why a DMA request was refused before the device saw it.
///
/// Each message says which limit was hit, what QEMU 7.2 would have done,
/// and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// A transfer of 0 bytes.
    #[error("refused a 0-byte DMA: QEMU 7.2's edu aborts the whole VM on a count of 0 (edu_check_range needs addr + count > addr); transfer 1 to {MAX_TRANSFER} bytes")]
    ZeroLength,
    /// The device-side start is outside the internal buffer.
    #[error("refused a DMA at device address {addr:#x}: edu's buffer is {BUFFER_START:#x}..{BUFFER_END:#x}, and QEMU 7.2 aborts the whole VM on any device-side address outside it; use an address in that range")]
    DeviceAddress {
        /// The device-side address asked for.
        addr: u64,
    },
    /// The device-side range reaches (or passes) the end of the buffer.
    #[error("refused a {len}-byte DMA at device address {addr:#x}: it reaches {end:#x}, and QEMU 7.2 aborts the whole VM unless a transfer ends strictly below {BUFFER_END:#x} (an off-by-one in edu_check_range), so {fit}", end = addr.saturating_add(*len as u64), fit = room(*addr))]
    ReachesBufferEnd {
        /// The device-side address.
        addr: u64,
        /// The length asked for.
        len: usize,
    },
    /// A RAM byte lies above the device's DMA mask.
    #[error("refused a {len}-byte DMA at RAM address {addr:#x}: its last byte is above edu's {mask} DMA mask (highest reachable address {max:#x}), and QEMU's edu silently masks such addresses (edu_clamp_addr), so the transfer would read or write another page of guest memory; allocate the buffer below the mask (the driver's allocator does), or start QEMU with -device edu,dma_mask=… and open the driver with that mask", max = mask.max_addr())]
    AboveMask {
        /// The RAM-side (bus) address.
        addr: u64,
        /// The length.
        len: usize,
        /// The device's DMA mask the driver was opened with.
        mask: DmaMask,
    },
    /// The RAM range spans pages that are not physically contiguous.
    #[error("refused a {len}-byte DMA from offset {offset} of a DMA buffer: the range spans pages that are not physically adjacent, and edu copies one physical range, so the bytes past the first page would go to (or come from) an unrelated page; keep each transfer within one segment of the buffer (DmaBuffer::segments), e.g. within one page")]
    Discontiguous {
        /// Offset into the buffer.
        offset: usize,
        /// The length.
        len: usize,
    },
    /// The RAM range is not inside the buffer given.
    #[error("refused a {len}-byte DMA from offset {offset} of a {buffer_len}-byte DMA buffer: the range ends past the buffer; transfer at most {} bytes from that offset", buffer_len.saturating_sub(*offset))]
    OutsideBuffer {
        /// Offset into the buffer.
        offset: usize,
        /// The length.
        len: usize,
        /// The buffer's length.
        buffer_len: usize,
    },
}

/// How many bytes fit from device address `addr`, for messages.
fn room(addr: u64) -> String {
    let max = (BUFFER_END - 1).saturating_sub(addr);
    if addr == BUFFER_START {
        format!("at most {max} bytes fit from {addr:#x}")
    } else {
        format!("at most {max} bytes fit from {addr:#x} ({MAX_TRANSFER} from {BUFFER_START:#x})")
    }
}

/// Checks the device side of a transfer: `len` bytes at device address
/// `addr` (0x40000-based, as the DMA registers take it).
///
/// Refuses what would abort QEMU 7.2: a count of 0, a start outside
/// `0x40000..0x41000`, and an end at or past `0x41000`.
pub fn check_device_range(addr: u64, len: usize) -> Result<(), Refusal> {
    if len == 0 {
        return Err(Refusal::ZeroLength);
    }
    if !(BUFFER_START..BUFFER_END).contains(&addr) {
        return Err(Refusal::DeviceAddress { addr });
    }
    // addr < BUFFER_END, so the sum cannot overflow unless len is huge;
    // checked_add covers that too.
    match addr.checked_add(len as u64) {
        Some(end) if end < BUFFER_END => Ok(()),
        _ => Err(Refusal::ReachesBufferEnd { addr, len }),
    }
}

/// Checks the RAM side of a transfer: `len` bytes at bus address `addr`
/// must all be reachable under `mask`.
pub fn check_ram_range(addr: u64, len: usize, mask: DmaMask) -> Result<(), Refusal> {
    if mask.contains(addr, len) {
        Ok(())
    } else {
        Err(Refusal::AboveMask { addr, len, mask })
    }
}

/// Every check of one leg: the device side ([`check_device_range`]) and
/// the RAM side ([`check_ram_range`]), in that order.
///
/// The RAM address is the one the buffer gave for the whole range
/// (`DmaBuffer::device_addr`), which has already refused discontiguous
/// and out-of-bounds ranges.
pub fn check_transfer(
    device_addr: u64,
    ram_addr: u64,
    len: usize,
    mask: DmaMask,
) -> Result<(), Refusal> {
    check_device_range(device_addr, len)?;
    check_ram_range(ram_addr, len, mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_side_limits_are_qemu_72s() {
        assert_eq!(
            check_device_range(BUFFER_START, 0),
            Err(Refusal::ZeroLength)
        );
        assert!(check_device_range(BUFFER_START, MAX_TRANSFER).is_ok());
        assert!(check_device_range(BUFFER_START, 1).is_ok());
        assert!(check_device_range(0x40ffe, 1).is_ok());
        assert_eq!(
            check_device_range(BUFFER_START, 4096),
            Err(Refusal::ReachesBufferEnd {
                addr: BUFFER_START,
                len: 4096
            })
        );
        assert_eq!(
            check_device_range(0x40fff, 1),
            Err(Refusal::ReachesBufferEnd {
                addr: 0x40fff,
                len: 1
            })
        );
        for addr in [0, 0x3ffff, BUFFER_END, u64::MAX] {
            assert_eq!(
                check_device_range(addr, 1),
                Err(Refusal::DeviceAddress { addr })
            );
        }
        assert!(matches!(
            check_device_range(0x40000, usize::MAX),
            Err(Refusal::ReachesBufferEnd { .. })
        ));
    }

    #[test]
    fn ram_side_follows_the_mask() {
        let m28 = DmaMask::bits(28);
        assert!(check_ram_range(0x0fff_f000, 4096, m28).is_ok());
        assert_eq!(
            check_ram_range(0x0fff_f001, 4096, m28),
            Err(Refusal::AboveMask {
                addr: 0x0fff_f001,
                len: 4096,
                mask: m28
            })
        );
        assert!(check_ram_range(0x1_0000_0000, 100, DmaMask::ALL).is_ok());
    }

    #[test]
    fn messages_say_the_limit_and_what_to_do() {
        let m = Refusal::ReachesBufferEnd {
            addr: BUFFER_START,
            len: 4096,
        }
        .to_string();
        assert!(m.contains("reaches 0x41000"), "{m}");
        assert!(m.contains("at most 4095 bytes"), "{m}");
        assert!(m.contains("aborts"), "{m}");
        let m = Refusal::AboveMask {
            addr: 0x1000_0000,
            len: 1,
            mask: DmaMask::bits(28),
        }
        .to_string();
        assert!(m.contains("28-bit"), "{m}");
        assert!(m.contains("0xfffffff"), "{m}");
        assert!(Refusal::ZeroLength.to_string().contains("count of 0"));
    }
}
