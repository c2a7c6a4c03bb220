//! Bulk data transfers over an [`Io`]: the widest naturally aligned
//! accesses, checked once.
//!
//! [`Io::read_into`], [`Io::write_from`] and [`Io::fill`] (and
//! [`Region::read_bytes`](crate::Region::read_bytes) /
//! [`write_bytes`](crate::Region::write_bytes), which are the same
//! functions) split a byte range into accesses by one rule, [`plan`]:
//!
//! * a *head* of at most 7 bytes, up to the first 8-byte aligned address,
//!   in the widest accesses that are aligned there (1, then 2, then 4 bytes,
//!   as needed);
//! * a *body* of 64-bit accesses, one per aligned 8 bytes;
//! * a *tail* of at most 7 bytes, in 4-, 2- and 1-byte accesses.
//!
//! Alignment is decided on the *address* (`base_addr() + offset`), as the
//! [`Io`] contract demands, so a copy through a region that starts off a
//! boundary is still all aligned accesses. A 4096-byte copy at an aligned
//! address is 512 64-bit accesses; the same copy one byte further is
//! 1 + 2 + 4 bytes of head, 511 64-bit accesses and a 1-byte tail.
//!
//! Bytes are laid out in memory order (x86-64 is little-endian, so an
//! access's value is the little-endian reading of its bytes).
//!
//! # For data windows, not register files
//!
//! A bulk copy is for memory-like ranges: RAM-backed BARs such as ivshmem's
//! shared memory (BAR2), a device's packet buffer or on-chip SRAM, DMA
//! buffers. The widths it uses depend on where the range starts and how
//! long it is, which a register file with width rules (edu's registers take
//! only 32- and 64-bit accesses; some registers have read side effects)
//! does not tolerate: access registers through their generated block, one
//! access of the declared width each.

use crate::error::AccessError;
use crate::io::{Io, Width};

/// Checks that the byte range `offset..offset + len` lies inside `io`.
pub(crate) fn check_range<I: Io + ?Sized>(
    io: &I,
    offset: usize,
    len: usize,
) -> Result<(), AccessError> {
    let io_len = io.len();
    match offset.checked_add(len) {
        Some(end) if end <= io_len => Ok(()),
        end => Err(AccessError::RangeOutOfBounds {
            offset,
            end: end.unwrap_or(usize::MAX),
            len: io_len,
        }),
    }
}

/// The widest access at `addr` that is aligned there and no longer than
/// `remaining` bytes (`remaining > 0`).
#[inline(always)]
fn widest(addr: usize, remaining: usize) -> Width {
    if addr.is_multiple_of(8) && remaining >= 8 {
        Width::W64
    } else if addr.is_multiple_of(4) && remaining >= 4 {
        Width::W32
    } else if addr.is_multiple_of(2) && remaining >= 2 {
        Width::W16
    } else {
        Width::W8
    }
}

/// Calls `access(at, width)` for each access of a transfer of `len` bytes
/// starting at address `addr`, in ascending order; `at` is the position in
/// the transfer (0..len). See the module documentation for the rule.
///
/// Every access is naturally aligned (`(addr + at) % width == 0`), the
/// accesses cover `0..len` exactly once, and each is the widest that is
/// aligned at its address and fits in what is left.
#[inline(always)]
pub fn plan(addr: usize, len: usize, mut access: impl FnMut(usize, Width)) {
    // Bytes up to the first 8-byte boundary (none if `addr` is on one).
    let head = addr.wrapping_neg() % 8;
    let head = head.min(len);
    let body_end = head + (len - head) / 8 * 8;
    let mut at = 0;
    while at < head {
        let w = widest(addr.wrapping_add(at), head - at);
        access(at, w);
        at += w.bytes();
    }
    // The body is kept a loop of its own so that it compiles to a tight
    // loop of 64-bit accesses with no choice of width inside.
    while at < body_end {
        access(at, Width::W64);
        at += 8;
    }
    while at < len {
        let w = widest(addr.wrapping_add(at), len - at);
        access(at, w);
        at += w.bytes();
    }
}

/// See [`Io::read_into`].
#[inline]
pub(crate) fn read_into<I: Io + ?Sized>(
    io: &I,
    offset: usize,
    buf: &mut [u8],
) -> Result<(), AccessError> {
    check_range(io, offset, buf.len())?;
    plan(io.base_addr().wrapping_add(offset), buf.len(), |at, w| {
        let o = offset + at;
        // SAFETY: check_range proved offset + buf.len() <= io.len(), and
        // `plan` yields accesses inside 0..buf.len() whose address
        // (base + offset + at) is a multiple of their width: the Io
        // contract.
        unsafe {
            match w {
                Width::W8 => buf[at] = io.read8(o),
                Width::W16 => buf[at..at + 2].copy_from_slice(&io.read16(o).to_le_bytes()),
                Width::W32 => buf[at..at + 4].copy_from_slice(&io.read32(o).to_le_bytes()),
                Width::W64 => buf[at..at + 8].copy_from_slice(&io.read64(o).to_le_bytes()),
            }
        }
    });
    Ok(())
}

/// See [`Io::write_from`].
#[inline]
pub(crate) fn write_from<I: Io + ?Sized>(
    io: &I,
    offset: usize,
    data: &[u8],
) -> Result<(), AccessError> {
    check_range(io, offset, data.len())?;
    plan(io.base_addr().wrapping_add(offset), data.len(), |at, w| {
        let o = offset + at;
        // SAFETY: as in `read_into`: in bounds by check_range, aligned on
        // the address by `plan`.
        unsafe {
            match w {
                Width::W8 => io.write8(o, data[at]),
                Width::W16 => io.write16(o, u16::from_le_bytes(bytes(data, at))),
                Width::W32 => io.write32(o, u32::from_le_bytes(bytes(data, at))),
                Width::W64 => io.write64(o, u64::from_le_bytes(bytes(data, at))),
            }
        }
    });
    Ok(())
}

/// See [`Io::fill`].
#[inline]
pub(crate) fn fill<I: Io + ?Sized>(
    io: &I,
    offset: usize,
    len: usize,
    byte: u8,
) -> Result<(), AccessError> {
    check_range(io, offset, len)?;
    let v = u64::from_ne_bytes([byte; 8]);
    plan(io.base_addr().wrapping_add(offset), len, |at, w| {
        let o = offset + at;
        // SAFETY: as in `read_into`: in bounds by check_range, aligned on
        // the address by `plan`.
        unsafe {
            match w {
                Width::W8 => io.write8(o, byte),
                Width::W16 => io.write16(o, v as u16),
                Width::W32 => io.write32(o, v as u32),
                Width::W64 => io.write64(o, v),
            }
        }
    });
    Ok(())
}

/// The `N` bytes of `data` at `at` (in bounds: `plan` stays inside `data`).
#[inline(always)]
fn bytes<const N: usize>(data: &[u8], at: usize) -> [u8; N] {
    let mut b = [0u8; N];
    b.copy_from_slice(&data[at..at + N]);
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{FakeIo, Logged, Op};
    use crate::Region;

    /// Every access `plan` yields: (position, width).
    fn accesses(addr: usize, len: usize) -> Vec<(usize, Width)> {
        let mut v = Vec::new();
        plan(addr, len, |at, w| v.push((at, w)));
        v
    }

    /// The rule, for every start address modulo 8 and every length up to
    /// 40: the accesses cover the range once, in order, each naturally
    /// aligned, and each the widest that is aligned and fits.
    #[test]
    fn plan_covers_the_range_with_the_widest_aligned_accesses() {
        for addr in 0x1000..0x1008 {
            for len in 0..40 {
                let mut next = 0;
                for (at, w) in accesses(addr, len) {
                    assert_eq!(at, next, "gap or overlap at {addr:#x}+{len}");
                    assert_eq!((addr + at) % w.bytes(), 0, "misaligned");
                    assert!(at + w.bytes() <= len, "past the end");
                    assert_eq!(w, widest(addr + at, len - at), "not the widest");
                    next = at + w.bytes();
                }
                assert_eq!(next, len, "not covered: {addr:#x}+{len}");
            }
        }
        assert_eq!(
            accesses(0x1001, 18),
            vec![
                (0, Width::W8),
                (1, Width::W16),
                (3, Width::W32),
                (7, Width::W64),
                (15, Width::W16),
                (17, Width::W8)
            ]
        );
    }

    /// Over the fake, every (offset, len) in a 40-byte range: reading gives
    /// exactly the bytes, writing changes exactly the bytes asked for,
    /// filling likewise; each at two base addresses (aligned and odd).
    #[test]
    fn copies_equal_the_bytes_for_every_offset_and_length() {
        const N: usize = 40;
        let pattern: Vec<u8> = (0..N as u8).map(|i| i.wrapping_mul(37) ^ 0xa5).collect();
        for base in [crate::fake::DEFAULT_BASE, crate::fake::DEFAULT_BASE + 3] {
            for offset in 0..=N {
                for len in 0..=N - offset {
                    let io = FakeIo::new(N).with_base(base);
                    io.model(|m| {
                        for (i, b) in pattern.iter().enumerate() {
                            crate::fake::DeviceModel::write(m, i, Width::W8, (*b).into());
                        }
                    });
                    let mut got = vec![0u8; len];
                    io.read_into(offset, &mut got).unwrap();
                    assert_eq!(got, pattern[offset..offset + len], "read {offset}+{len}");

                    let data: Vec<u8> = (0..len as u8).map(|i| !i).collect();
                    io.write_from(offset, &data).unwrap();
                    let mut want = pattern.clone();
                    want[offset..offset + len].copy_from_slice(&data);
                    assert_eq!(
                        io.model(|m| m.bytes().to_vec()),
                        want,
                        "write {offset}+{len}"
                    );

                    io.fill(offset, len, 0x5c).unwrap();
                    want[offset..offset + len].fill(0x5c);
                    assert_eq!(
                        io.model(|m| m.bytes().to_vec()),
                        want,
                        "fill {offset}+{len}"
                    );

                    // Every access the fake saw was naturally aligned.
                    for l in io.log() {
                        assert_eq!((base + l.offset) % l.width.bytes(), 0, "{l:?}");
                    }
                }
            }
        }
    }

    fn widths(log: &[Logged]) -> [usize; 4] {
        let mut n = [0; 4];
        for l in log {
            n[l.width.bytes().trailing_zeros() as usize] += 1;
        }
        n
    }

    #[test]
    fn an_aligned_page_is_512_u64_accesses() {
        let io = FakeIo::new(8192);
        io.write_from(0, &[7u8; 4096]).unwrap();
        let log = io.log();
        assert_eq!(widths(&log), [0, 0, 0, 512]);
        assert!(log
            .iter()
            .all(|l| l.op == Op::Write && l.value == 0x0707_0707_0707_0707));
        io.clear_log();
        let mut buf = vec![0u8; 4096];
        io.read_into(0x1000, &mut buf).unwrap();
        assert_eq!(widths(&io.log()), [0, 0, 0, 512]);
        io.clear_log();
        io.fill(8, 4096, 0).unwrap();
        assert_eq!(widths(&io.log()), [0, 0, 0, 512]);
    }

    #[test]
    fn unaligned_head_and_tail_use_narrower_accesses() {
        let io = FakeIo::new(8192);
        io.write_from(1, &[0u8; 4096]).unwrap();
        // head 1 + 2 + 4 bytes, 511 u64, tail 1 byte
        assert_eq!(widths(&io.log()), [2, 1, 1, 511]);
        io.clear_log();
        // Aligned offset, but the backend starts 4 bytes past an 8-byte
        // boundary: the decision is on the address.
        let io = FakeIo::new(64).with_base(crate::fake::DEFAULT_BASE + 4);
        let mut buf = [0u8; 16];
        io.read_into(0, &mut buf).unwrap();
        let log: Vec<(usize, Width)> = io.log().iter().map(|l| (l.offset, l.width)).collect();
        assert_eq!(
            log,
            vec![(0, Width::W32), (4, Width::W64), (12, Width::W32)]
        );
    }

    #[test]
    fn out_of_range_copies_are_refused_before_any_access() {
        let io = FakeIo::new(16);
        let err = io.write_from(12, &[0; 8]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "byte range 0xc..0x14 is outside the region (0x10 bytes)"
        );
        assert!(io.read_into(usize::MAX, &mut [0; 2]).is_err());
        assert!(io.fill(17, 0, 0).is_err());
        assert!(io.fill(16, 0, 0).is_ok());
        assert!(io.log().is_empty());
    }

    /// `Region::read_bytes`/`write_bytes` are the same transfers as
    /// `read_into`/`write_from`: the same cases through both give the same
    /// memory contents, over a real mapping.
    #[test]
    fn region_byte_copies_are_the_bulk_copies() {
        let a = Region::anonymous(64).unwrap();
        let b = Region::anonymous(64).unwrap();
        for offset in 0..24 {
            for len in 0..=40 - offset {
                let data: Vec<u8> = (0..len).map(|i| (i * 7 + offset) as u8).collect();
                a.write_bytes(offset, &data).unwrap();
                b.write_from(offset, &data).unwrap();
                let (mut x, mut y) = (vec![0; 64], vec![0; 64]);
                a.read_bytes(0, &mut x).unwrap();
                b.read_into(0, &mut y).unwrap();
                assert_eq!(x, y);
                assert_eq!(x[offset..offset + len], data);
            }
        }
        assert_eq!(
            a.write_bytes(60, &[0; 8]).unwrap_err(),
            b.write_from(60, &[0; 8]).unwrap_err()
        );
    }
}
