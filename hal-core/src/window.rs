//! [`Window`]: a sub-range of an [`Io`] that is itself an [`Io`].

use crate::io::Io;

/// A sub-range (`offset`, `len`) of another [`Io`], itself an [`Io`].
///
/// Offset 0 of the window is offset `offset` of the backend it wraps, and
/// the window is `len` bytes long. This is how a register block sits at an
/// offset inside a BAR (a block at `0x800` of a 4 KiB BAR, N identical
/// channels at a stride), or how a driver hands one part of a data window to
/// code that must not reach the rest:
///
/// ```
/// use hal_core::{fake::FakeIo, Io, Window};
///
/// let bar = FakeIo::new(0x1000);
/// let ch2 = Window::new(&bar, 0x200, 0x100)?;      // channel 2 of 16
/// ch2.write_from(0x10, &[1, 2, 3, 4])?;            // lands at 0x210 of the BAR
/// let mut got = [0u8; 4];
/// bar.read_into(0x210, &mut got)?;
/// assert_eq!(got, [1, 2, 3, 4]);
/// assert!(ch2.write_from(0xfe, &[1, 2, 3, 4]).is_err()); // past the window's end
/// assert_eq!(ch2.base_addr(), bar.base_addr() + 0x200);
/// assert!(Window::new(&bar, 0xf80, 0x100).is_err()); // past the end of the BAR
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The bounds are checked once, in [`new`](Window::new): `offset + len`
/// must not exceed the backend's length. Alignment needs no check of its
/// own: the window's [`base_addr`](Io::base_addr) is the backend's base
/// address plus `offset`, so every check made on the window (a generated
/// block's [`check_block`](crate::check_block) in its `new`, a checked
/// access, a bulk copy's choice of widths) sees the true address, and an
/// alignment error names the absolute address.
///
/// `I` is usually a reference (`Window<&Region>`; [`Io`] is implemented for
/// `&I`), but a window can also own its backend (`Window<Region>`), and
/// windows nest (`Window<&Window<&Region>>`).
#[derive(Debug, Clone, Copy)]
pub struct Window<I> {
    io: I,
    offset: usize,
    len: usize,
}

/// A [`Window`] that does not fit inside its backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// `offset + len` is past the end of the backend.
    #[error(
        "window {offset:#x}..{end:#x} ({len:#x} bytes at offset {offset:#x}) does not fit in \
         a region of {io_len:#x} bytes: a window must end at or before {io_len:#x}, so at this \
         offset it can be at most {room:#x} bytes long",
        end = offset + len,
        room = io_len.saturating_sub(*offset),
    )]
    OutOfBounds {
        /// The window's offset in its backend.
        offset: usize,
        /// The window's length.
        len: usize,
        /// The backend's length.
        io_len: usize,
    },
    /// `offset + len` does not fit in a `usize`.
    #[error(
        "window of {len:#x} bytes at offset {offset:#x} overflows the address space: \
         the backend is only {io_len:#x} bytes long"
    )]
    Overflow {
        /// The window's offset in its backend.
        offset: usize,
        /// The window's length.
        len: usize,
        /// The backend's length.
        io_len: usize,
    },
}

impl<I: Io> Window<I> {
    /// The `len` bytes of `io` that start at `offset`.
    ///
    /// Fails if `offset + len` overflows or exceeds `io.len()`. An empty
    /// window (`len == 0`) anywhere up to the end is allowed.
    pub fn new(io: I, offset: usize, len: usize) -> Result<Window<I>, WindowError> {
        let io_len = io.len();
        match offset.checked_add(len) {
            None => Err(WindowError::Overflow {
                offset,
                len,
                io_len,
            }),
            Some(end) if end > io_len => Err(WindowError::OutOfBounds {
                offset,
                len,
                io_len,
            }),
            Some(_) => Ok(Window { io, offset, len }),
        }
    }

    /// The window's offset inside its backend.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The backend this window is a part of.
    pub fn inner(&self) -> &I {
        &self.io
    }

    /// Gives the backend back.
    pub fn into_inner(self) -> I {
        self.io
    }

    /// The backend's offset of the window's offset `offset`.
    ///
    /// Only meaningful for in-bounds offsets, which the [`Io`] contract
    /// guarantees for every access; it cannot overflow for those, because
    /// `self.offset + self.len` was checked in [`new`](Window::new).
    #[inline(always)]
    fn at(&self, offset: usize) -> usize {
        self.offset + offset
    }
}

macro_rules! forward {
    ($($read:ident, $write:ident, $t:ty;)*) => {
        $(
            #[inline(always)]
            unsafe fn $read(&self, offset: usize) -> $t {
                // SAFETY: the caller promises offset + width <= self.len and
                // that base_addr() + offset, which is io.base_addr() +
                // self.offset + offset, is aligned; `new` checked
                // self.offset + self.len <= io.len(), so the backend's access
                // at self.offset + offset is in bounds and at the same
                // aligned address.
                unsafe { self.io.$read(self.at(offset)) }
            }
            #[inline(always)]
            unsafe fn $write(&self, offset: usize, value: $t) {
                // SAFETY: as for the read.
                unsafe { self.io.$write(self.at(offset), value) }
            }
        )*
    };
}

impl<I: Io> Io for Window<I> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.len
    }

    /// The backend's base address plus the window's offset.
    #[inline(always)]
    fn base_addr(&self) -> usize {
        self.io.base_addr().wrapping_add(self.offset)
    }

    forward! {
        read8, write8, u8;
        read16, write16, u16;
        read32, write32, u32;
        read64, write64, u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{FakeIo, Op};
    use crate::io::Width;
    use crate::{AccessError, Region};

    #[test]
    fn bounds_are_checked_once_with_a_clear_error() {
        let io = FakeIo::new(0x100);
        assert!(Window::new(&io, 0, 0x100).is_ok());
        assert!(Window::new(&io, 0x100, 0).is_ok());
        assert!(Window::new(&io, 0x80, 0x80).is_ok());
        let err = Window::new(&io, 0x80, 0x81).unwrap_err();
        assert_eq!(
            err,
            WindowError::OutOfBounds {
                offset: 0x80,
                len: 0x81,
                io_len: 0x100
            }
        );
        assert_eq!(
            err.to_string(),
            "window 0x80..0x101 (0x81 bytes at offset 0x80) does not fit in a region of 0x100 \
             bytes: a window must end at or before 0x100, so at this offset it can be at most \
             0x80 bytes long"
        );
        assert!(Window::new(&io, 0x101, 0)
            .unwrap_err()
            .to_string()
            .contains("at most 0x0 bytes"));
        let err = Window::new(&io, usize::MAX, 2).unwrap_err();
        assert!(matches!(err, WindowError::Overflow { .. }), "{err:?}");
        assert!(err.to_string().contains("overflows"), "{err}");
    }

    #[test]
    fn accesses_land_at_the_offset() {
        let io = FakeIo::new(0x100);
        let w = Window::new(&io, 0x40, 0x20).unwrap();
        assert_eq!(w.len(), 0x20);
        assert_eq!(w.offset(), 0x40);
        assert_eq!(w.base_addr(), io.base_addr() + 0x40);
        // SAFETY: 8 + 4 <= 0x20 and 0x10 + 8 <= 0x20; the fake's base is
        // page-aligned and the window starts 0x40 past it, so the addresses
        // of offsets 8 and 0x10 are 4- and 8-aligned.
        unsafe {
            w.write32(8, 0xdead_beef);
            w.write64(0x10, 7);
            assert_eq!(w.read32(8), 0xdead_beef);
            assert_eq!(w.read8(0), 0);
            w.write16(2, 0x1234);
            w.write8(1, 0x56);
        }
        let offsets: Vec<(Op, usize, Width)> =
            io.log().iter().map(|l| (l.op, l.offset, l.width)).collect();
        assert_eq!(
            offsets,
            vec![
                (Op::Write, 0x48, Width::W32),
                (Op::Write, 0x50, Width::W64),
                (Op::Read, 0x48, Width::W32),
                (Op::Read, 0x40, Width::W8),
                (Op::Write, 0x42, Width::W16),
                (Op::Write, 0x41, Width::W8),
            ]
        );
        assert_eq!(
            io.model(|m| m.bytes()[0x40..0x4c].to_vec()),
            [0, 0x56, 0x34, 0x12, 0, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde]
        );
    }

    #[test]
    fn windows_nest_and_own_their_backend() {
        let io = FakeIo::new(0x100);
        let outer = Window::new(&io, 0x10, 0x80).unwrap();
        let inner = Window::new(&outer, 0x8, 0x10).unwrap();
        assert_eq!(inner.base_addr(), io.base_addr() + 0x18);
        // SAFETY: 0 + 8 <= 0x10; the address is the page-aligned base plus
        // 0x18, a multiple of 8.
        unsafe { inner.write64(0, 1) };
        assert_eq!(io.log()[0].offset, 0x18);
        assert!(Window::new(&outer, 0x78, 0x10).is_err());
        let owned = Window::new(FakeIo::new(0x20), 0x10, 0x10).unwrap();
        assert_eq!(owned.len(), 0x10);
        assert_eq!(owned.into_inner().len(), 0x20);
    }

    /// Bulk transfers through a window are checked against the window and
    /// choose widths by the absolute address.
    #[test]
    fn bulk_copies_stay_inside_the_window() {
        let io = FakeIo::new(0x100);
        let w = Window::new(&io, 0x44, 0x10).unwrap();
        assert_eq!(
            w.fill(0, 0x11, 0xff).unwrap_err(),
            AccessError::RangeOutOfBounds {
                offset: 0,
                end: 0x11,
                len: 0x10
            }
        );
        assert!(io.log().is_empty());
        w.fill(0, 0x10, 0xff).unwrap();
        let log: Vec<(usize, Width)> = io.log().iter().map(|l| (l.offset, l.width)).collect();
        assert_eq!(
            log,
            vec![(0x44, Width::W32), (0x48, Width::W64), (0x50, Width::W32)]
        );
        io.model(|m| {
            assert!(m.bytes()[0x44..0x54].iter().all(|&b| b == 0xff));
            assert_eq!(m.bytes().iter().filter(|&&b| b == 0xff).count(), 0x10);
        });
    }

    /// The window's base address is the true address, so a checked access
    /// through a window reports the absolute address when it is misaligned.
    #[test]
    fn alignment_errors_report_the_absolute_address() {
        let r = Region::anonymous(0x100).unwrap();
        let w = Window::new(&r, 0x21, 0x20).unwrap();
        let err = crate::check::check_access(&w, 3, Width::W64).unwrap_err();
        assert_eq!(
            err,
            AccessError::MisalignedAddress {
                offset: 3,
                width: Width::W64,
                address: r.base_addr() + 0x24,
                base_skew: 1,
            }
        );
        assert!(
            err.to_string()
                .contains(&format!("its address {:#x}", r.base_addr() + 0x24)),
            "{err}"
        );
        // Offset 7 of the window is 0x28 of the region: aligned.
        assert!(crate::check::check_access(&w, 7, Width::W64).is_ok());
        assert!(matches!(
            crate::check::check_access(&w, 0x1f, Width::W16),
            Err(AccessError::OutOfBounds { len: 0x20, .. })
        ));
    }
}
