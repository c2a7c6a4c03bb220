//! Registers wider than the device's bus, accessed in parts.
//!
//! A 64-bit register on a device that takes only 32-bit accesses (the
//! register map's `access_width: 32`) is read and written as two 32-bit
//! accesses. *Which* accesses, and in which order, is decided by the
//! register map's rule (`register_spec::wide::split_accesses`): the code
//! generator emits its answer as a list of [`Piece`]s, and the functions
//! here only follow a list, so generated code and regpoke (which builds the
//! list from the same rule at run time and calls the same functions) access
//! the device the same way.
//!
//! * [`read_pieces`] / [`write_pieces`]: one read or write of the whole
//!   register, one access per piece, in the list's order.
//! * [`read_consistent`]: the tear-free read of a free-running counter:
//!   the upper pieces, the lowest piece, the upper pieces again, until both
//!   readings of the upper pieces agree, at most `tries` times, then
//!   [`TornRead`].
//! * [`WideReg`]: the register handle generated blocks give for such a
//!   register, with the same surface as [`Reg`](crate::Reg).

use std::fmt;
use std::marker::PhantomData;

use tock_registers::fields::FieldValue;
use tock_registers::interfaces::Readable;
use tock_registers::{LocalRegisterCopy, RegisterLongName};

use crate::access::{self, Access};
use crate::io::{Io, Width, Word};

/// One access of a register that is accessed in parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Piece {
    /// Byte offset from the register's offset.
    pub offset: usize,
    /// Width of the access.
    pub width: Width,
    /// The bit of the register's value where the access's bits start.
    pub shift: u32,
}

impl Piece {
    /// A piece (for generated constants).
    pub const fn new(offset: usize, width: Width, shift: u32) -> Piece {
        Piece {
            offset,
            width,
            shift,
        }
    }
}

/// A consistent read whose upper pieces changed on every try: the register
/// is not a value that this method can read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornRead {
    /// How many times the read was tried.
    pub tries: u32,
    /// The upper pieces (in place) as read before the lowest piece, on the
    /// last try.
    pub before: u64,
    /// The upper pieces as read after the lowest piece, on the last try.
    pub after: u64,
}

impl fmt::Display for TornRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the upper part of the register changed while its lower part was read, on each of {} tries \
             (last: {:#x} before, {:#x} after); a consistent read is for counters that carry into the \
             upper part rarely; read it with a plain read if that is what the device needs",
            self.tries, self.before, self.after
        )
    }
}

impl std::error::Error for TornRead {}

/// Reads a whole register: one read per piece, in order, each piece's bits
/// put in place. `read` does one access (a piece's offset and width).
pub fn read_pieces<E>(
    pieces: &[Piece],
    mut read: impl FnMut(Piece) -> Result<u64, E>,
) -> Result<u64, E> {
    let mut value = 0u64;
    for &p in pieces {
        value |= (read(p)? & p.width.max_value())
            .checked_shl(p.shift)
            .unwrap_or(0);
    }
    Ok(value)
}

/// Writes a whole register: one write per piece, in order, each carrying
/// its bits of `value`.
pub fn write_pieces<E>(
    pieces: &[Piece],
    value: u64,
    mut write: impl FnMut(Piece, u64) -> Result<(), E>,
) -> Result<(), E> {
    for &p in pieces {
        write(p, (value >> p.shift) & p.width.max_value())?;
    }
    Ok(())
}

/// The tear-free read of a counter accessed in parts.
///
/// `pieces` is the consistent-read order (`register_spec::wide::
/// consistent_read_accesses`): the upper pieces, then the lowest piece
/// last. Each try reads all of them, then the upper pieces again; when both
/// readings of the upper pieces agree the value is returned. After `tries`
/// disagreeing tries (at least one is made) the result is `Ok(Err(TornRead))`;
/// `Err` is an access error of `read`.
pub fn read_consistent<E>(
    pieces: &[Piece],
    tries: u32,
    mut read: impl FnMut(Piece) -> Result<u64, E>,
) -> Result<Result<u64, TornRead>, E> {
    let Some((low, upper)) = pieces.split_last() else {
        return Ok(Ok(0));
    };
    let tries = tries.max(1);
    let mut torn = TornRead {
        tries,
        before: 0,
        after: 0,
    };
    for _ in 0..tries {
        let before = read_pieces(upper, &mut read)?;
        let low_value = read_pieces(std::slice::from_ref(low), &mut read)?;
        let after = read_pieces(upper, &mut read)?;
        if before == after {
            return Ok(Ok(after | low_value));
        }
        torn.before = before;
        torn.after = after;
    }
    Ok(Err(torn))
}

/// One access of `width` at `offset`.
///
/// # Safety
/// The [`Io`] contract for that width: in bounds and aligned.
#[inline(always)]
unsafe fn io_read<I: Io + ?Sized>(io: &I, offset: usize, width: Width) -> u64 {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        match width {
            Width::W8 => io.read8(offset).into(),
            Width::W16 => io.read16(offset).into(),
            Width::W32 => io.read32(offset).into(),
            Width::W64 => io.read64(offset),
        }
    }
}

/// One write of `width` at `offset` (the low bits of `value`).
///
/// # Safety
/// The [`Io`] contract for that width: in bounds and aligned.
#[inline(always)]
unsafe fn io_write<I: Io + ?Sized>(io: &I, offset: usize, width: Width, value: u64) {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        match width {
            Width::W8 => io.write8(offset, value as u8),
            Width::W16 => io.write16(offset, value as u16),
            Width::W32 => io.write32(offset, value as u32),
            Width::W64 => io.write64(offset, value),
        }
    }
}

/// A handle to a register that is accessed in parts (narrower than it).
///
/// Like [`Reg`](crate::Reg): `T` is the register's width, `R` its field
/// set, `A` its access kind; every read or write is a sequence of accesses
/// of the register map's `access_width`, in the map's `access_order`.
/// `COUNTER` is `true` for a register marked `consistent_read: true`: such
/// a handle has no plain read (`get`, `read(FIELD)`, `modify`), only
/// [`read_consistent`](WideReg::read_consistent), so that a counter is
/// never read torn by mistake.
///
/// ```
/// use hal_core::{access::Ro, fake::FakeIo, prelude::*, wide::Piece, WideReg, Width};
///
/// const LOW_FIRST: &[Piece] = &[Piece::new(0, Width::W32, 0), Piece::new(4, Width::W32, 32)];
/// const HIGH_LOW: &[Piece] = &[Piece::new(4, Width::W32, 32), Piece::new(0, Width::W32, 0)];
/// let io = FakeIo::new(8);
/// // SAFETY: both pieces lie in the fake's 8 bytes, at 4-aligned offsets of a
/// // page-aligned base.
/// let counter: WideReg<'_, FakeIo, u64, (), Ro, true> =
///     unsafe { WideReg::new(&io, 0, 0, LOW_FIRST, HIGH_LOW) };
/// assert_eq!(counter.read_consistent().unwrap().get(), 0);
/// assert_eq!(io.log().len(), 3); // high, low, high
/// ```
///
/// A counter has no plain read:
///
/// ```compile_fail
/// use hal_core::{access::Ro, fake::FakeIo, prelude::*, wide::Piece, WideReg, Width};
///
/// const LOW_FIRST: &[Piece] = &[Piece::new(0, Width::W32, 0), Piece::new(4, Width::W32, 32)];
/// let io = FakeIo::new(8);
/// // SAFETY: as above.
/// let counter: WideReg<'_, FakeIo, u64, (), Ro, true> =
///     unsafe { WideReg::new(&io, 0, 0, LOW_FIRST, LOW_FIRST) };
/// let _ = counter.get();
/// ```
pub struct WideReg<
    'a,
    I: ?Sized,
    T: Word,
    R: RegisterLongName = (),
    A: Access = access::Rw,
    const COUNTER: bool = false,
> {
    io: &'a I,
    offset: usize,
    reset: T,
    keep: T,
    base: T,
    pieces: &'a [Piece],
    consistent: &'a [Piece],
    _marker: PhantomData<(fn() -> R, A)>,
}

impl<I: ?Sized, T: Word, R: RegisterLongName, A: Access, const C: bool> Clone
    for WideReg<'_, I, T, R, A, C>
{
    fn clone(&self) -> Self {
        *self
    }
}
impl<I: ?Sized, T: Word, R: RegisterLongName, A: Access, const C: bool> Copy
    for WideReg<'_, I, T, R, A, C>
{
}

impl<I: ?Sized, T: Word, R: RegisterLongName, A: Access, const C: bool> fmt::Debug
    for WideReg<'_, I, T, R, A, C>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WideReg({:#x}, {} as {:?}, {})",
            self.offset,
            T::WIDTH,
            self.pieces,
            A::KIND.as_str()
        )
    }
}

impl<'a, I: Io + ?Sized, T: Word, R: RegisterLongName, A: Access, const C: bool>
    WideReg<'a, I, T, R, A, C>
{
    /// Builds a handle whose reads and writes are the accesses `pieces`
    /// (in order), and whose consistent reads are the accesses `consistent`
    /// (upper pieces first, lowest last; may be empty when `COUNTER` is
    /// false).
    ///
    /// # Safety
    ///
    /// For every piece `p` of both lists, `offset + p.offset +
    /// p.width.bytes() <= io.len()` and `io.base_addr() + offset +
    /// p.offset` is a multiple of `p.width.bytes()`. Generated blocks prove
    /// it as for [`Reg::new`](crate::Reg::new): the pieces lie inside the
    /// register, whose offset is checked at compile time, and the block's
    /// base alignment when it is built.
    #[inline(always)]
    pub unsafe fn new(
        io: &'a I,
        offset: usize,
        reset: T,
        pieces: &'a [Piece],
        consistent: &'a [Piece],
    ) -> Self {
        debug_assert!(pieces
            .iter()
            .chain(consistent)
            .all(|p| { crate::check::check_access(io, offset + p.offset, p.width).is_ok() }));
        WideReg {
            io,
            offset,
            reset,
            keep: !T::zero(),
            base: T::zero(),
            pieces,
            consistent,
            _marker: PhantomData,
        }
    }

    /// Sets the rule [`modify`](WideReg::modify) follows, as
    /// [`Reg::with_write_rule`](crate::Reg::with_write_rule).
    #[inline(always)]
    pub fn with_write_rule(mut self, keep: T, base: T) -> Self {
        self.keep = keep;
        self.base = base;
        self
    }

    /// Byte offset of the register in its region.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The register's reset value, as declared in the spec.
    pub fn reset_value(&self) -> T {
        self.reset
    }

    /// The accesses of one read or write, in order.
    pub fn pieces(&self) -> &'a [Piece] {
        self.pieces
    }

    #[inline(always)]
    fn load(&self) -> T {
        let r: Result<u64, std::convert::Infallible> = read_pieces(self.pieces, |p| {
            // SAFETY: `new`'s contract: every piece is in bounds and aligned.
            Ok(unsafe { io_read(self.io, self.offset + p.offset, p.width) })
        });
        let Ok(v) = r;
        T::from_u64_truncating(v)
    }

    #[inline(always)]
    fn store(&self, value: T) {
        let r: Result<(), std::convert::Infallible> =
            write_pieces(self.pieces, value.into(), |p, v| {
                // SAFETY: `new`'s contract: every piece is in bounds and aligned.
                unsafe { io_write(self.io, self.offset + p.offset, p.width, v) };
                Ok(())
            });
        let Ok(()) = r;
    }
}

/// A register accessed in parts that is not a counter reads like any other:
/// the parts in the map's order, one access each.
impl<I: Io + ?Sized, T: Word, R: RegisterLongName, A: access::Read> Readable
    for WideReg<'_, I, T, R, A, false>
{
    type T = T;
    type R = R;

    /// One read per part, in the register map's `access_order`.
    #[inline(always)]
    fn get(&self) -> T {
        self.load()
    }
}

impl<I: Io + ?Sized, T: Word, R: RegisterLongName, A: access::Read> WideReg<'_, I, T, R, A, true> {
    /// The tear-free read of a counter (see [`read_consistent`]): the
    /// upper parts, the lowest part, the upper parts again, retried while
    /// they disagree, at most `register_spec::wide::CONSISTENT_READ_TRIES`
    /// (4) times; the value has the field API (`read(FIELD)`, `is_set`).
    pub fn read_consistent(&self) -> Result<LocalRegisterCopy<T, R>, TornRead> {
        let r: Result<Result<u64, TornRead>, std::convert::Infallible> =
            read_consistent(self.consistent, CONSISTENT_READ_TRIES, |p| {
                // SAFETY: `new`'s contract: every piece is in bounds and aligned.
                Ok(unsafe { io_read(self.io, self.offset + p.offset, p.width) })
            });
        let Ok(v) = r;
        v.map(|v| LocalRegisterCopy::new(T::from_u64_truncating(v)))
    }
}

/// How many times [`WideReg::read_consistent`] tries; the same number as
/// `register_spec::wide::CONSISTENT_READ_TRIES` (a test of regpoke checks
/// that they agree).
pub const CONSISTENT_READ_TRIES: u32 = 4;

/// Writes, as [`Reg`](crate::Reg)'s, each a sequence of accesses in the
/// register map's `access_order`.
impl<I: Io + ?Sized, T: Word, R: RegisterLongName, A: access::Write, const C: bool>
    WideReg<'_, I, T, R, A, C>
{
    /// Stores `value` as is, one write per part; no read happens first.
    #[inline(always)]
    pub fn set(&self, value: T) {
        self.store(value)
    }

    /// Stores the given field values and 0 in every other bit, without
    /// reading.
    #[inline(always)]
    pub fn write(&self, field: FieldValue<T, R>) {
        self.store(field.value)
    }

    /// [`Reg::modify_no_read`](crate::Reg::modify_no_read): the state bits
    /// taken from `original` (for a counter, a value from
    /// [`read_consistent`](WideReg::read_consistent)).
    #[inline]
    pub fn modify_no_read(&self, original: LocalRegisterCopy<T, R>, field: FieldValue<T, R>) {
        self.store(field.modify((original.get() & self.keep) | self.base))
    }
}

macro_rules! wide_reset_for {
    ($($m:ident),*) => {$(
        impl<I: Io + ?Sized, T: Word, R: RegisterLongName, const C: bool>
            WideReg<'_, I, T, R, access::$m, C>
        {
            /// Writes the register's declared reset value, one write per part.
            #[inline]
            pub fn reset(&self) {
                self.store(self.reset)
            }
        }
    )*};
}
wide_reset_for!(Rw, Wo, RwMixed);

impl<I: Io + ?Sized, T: Word, R: RegisterLongName, A: access::Write>
    WideReg<'_, I, T, R, A, false>
{
    /// [`Reg::modify`](crate::Reg::modify) over the parts: when some state
    /// bit is left unnamed in a read-modify-write, every part is read (in
    /// order), then every part is written (in order) with the value the
    /// write rule gives; otherwise the parts are only written.
    #[inline]
    pub fn modify(&self, field: FieldValue<T, R>) {
        self.store(crate::reg::modified(self.keep, self.base, field, || {
            self.load()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOW: Piece = Piece::new(0, Width::W32, 0);
    const HIGH: Piece = Piece::new(4, Width::W32, 32);

    /// A 64-bit counter that advances by `step` after each read of its low
    /// half; returns the read function and counts reads.
    fn counter(start: u64, step: u64) -> impl FnMut(Piece) -> Result<u64, ()> {
        let mut c = start;
        move |p| {
            let v = (c >> p.shift) & p.width.max_value();
            if p.shift == 0 {
                c = c.wrapping_add(step);
            }
            Ok(v)
        }
    }

    #[test]
    fn a_plain_split_read_of_a_counter_can_tear() {
        // low read first (0xffffffff), then the carry, then high (2): a
        // value the counter never held.
        let v = read_pieces(&[LOW, HIGH], counter(0x1_ffff_ffff, 1)).unwrap();
        assert_eq!(v, 0x2_ffff_ffff);
    }

    #[test]
    fn a_consistent_read_retries_across_a_carry() {
        let mut reads = 0;
        let mut inner = counter(0x1_ffff_fffe, 3);
        let v = read_consistent(&[HIGH, LOW], 4, |p| {
            reads += 1;
            inner(p)
        })
        .unwrap();
        // try 1: high 1, low 0xfffffffe, carry, high 2: torn; try 2 agrees
        assert_eq!(v, Ok(0x2_0000_0001));
        assert_eq!(reads, 6);
    }

    #[test]
    fn a_consistent_read_gives_up_with_an_error() {
        let mut reads = 0;
        let mut high = 0u64;
        let r = read_consistent(&[HIGH, LOW], 4, |p| -> Result<u64, ()> {
            reads += 1;
            if p.shift == 32 {
                high += 1;
                Ok(high)
            } else {
                Ok(7)
            }
        })
        .unwrap();
        assert_eq!(
            r,
            Err(TornRead {
                tries: 4,
                before: 7 << 32,
                after: 8 << 32
            })
        );
        assert_eq!(reads, 12);
        assert!(r.unwrap_err().to_string().contains("on each of 4 tries"));
    }

    #[test]
    fn writes_carry_each_part_in_order() {
        let mut seen = Vec::new();
        write_pieces(
            &[HIGH, LOW],
            0x1122_3344_5566_7788,
            |p, v| -> Result<(), ()> {
                seen.push((p.offset, v));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, vec![(4, 0x1122_3344), (0, 0x5566_7788)]);
    }
}
