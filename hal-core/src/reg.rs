use std::fmt;
use std::marker::PhantomData;

use tock_registers::fields::{Field, FieldValue};
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::RegisterLongName;

use crate::access::{self, Access};
use crate::error::AccessError;
use crate::io::{Io, Word};

/// A handle to one register: a backend reference plus a byte offset.
///
/// `T` is the register's width (`u8`..`u64`), `R` names its field set (the
/// tock-registers "long name", so fields of another register do not type
/// check), and `A` is its [access kind](crate::access).
///
/// Handles are produced by generated register blocks, which prove the
/// offset is in bounds; the field API comes from tock-registers' traits
/// (`use hal_core::prelude::*`):
///
/// ```
/// use hal_core::{access::Rw, fake::FakeIo, prelude::*, Reg};
/// use hal_core::tock_registers::register_bitfields;
///
/// register_bitfields![u32, CTRL [ENABLE OFFSET(0) NUMBITS(1) [], MODE OFFSET(4) NUMBITS(2) []]];
///
/// let io = FakeIo::new(16);
/// // SAFETY: offset 4 + 4 bytes <= 16 and is 4-aligned.
/// let ctrl: Reg<'_, FakeIo, u32, CTRL::Register, Rw> = unsafe { Reg::new(&io, 4, 0) };
/// ctrl.write(CTRL::ENABLE::SET + CTRL::MODE.val(2));
/// ctrl.modify(CTRL::MODE.val(1));
/// assert!(ctrl.is_set(CTRL::ENABLE));
/// assert_eq!(ctrl.read(CTRL::MODE), 1);
/// ```
pub struct Reg<'a, I: ?Sized, T: Word, R: RegisterLongName = (), A: Access = access::Rw> {
    io: &'a I,
    offset: usize,
    reset: T,
    w1x: T,
    _marker: PhantomData<(fn() -> R, A)>,
}

impl<I: ?Sized, T: Word, R: RegisterLongName, A: Access> Clone for Reg<'_, I, T, R, A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<I: ?Sized, T: Word, R: RegisterLongName, A: Access> Copy for Reg<'_, I, T, R, A> {}

impl<I: ?Sized, T: Word, R: RegisterLongName, A: Access> fmt::Debug for Reg<'_, I, T, R, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Reg({:#x}, {}, {})",
            self.offset,
            T::WIDTH,
            A::KIND.as_str()
        )
    }
}

impl<'a, I: Io + ?Sized, T: Word, R: RegisterLongName, A: Access> Reg<'a, I, T, R, A> {
    /// Builds a handle.
    ///
    /// # Safety
    ///
    /// `offset + size_of::<T>() <= io.len()` and `offset` is a multiple of
    /// `size_of::<T>()`. Generated blocks guarantee this with a compile-time
    /// check of the offset against the block size and a run-time check of
    /// the region length when the block is built.
    #[inline(always)]
    pub unsafe fn new(io: &'a I, offset: usize, reset: T) -> Self {
        debug_assert!(crate::check::check_access(io, offset, T::WIDTH).is_ok());
        Reg {
            io,
            offset,
            reset,
            w1x: T::zero(),
            _marker: PhantomData,
        }
    }

    /// Declares which bits are write-one-to-clear or write-one-to-set fields
    /// (used by [`RwMixed`](access::RwMixed) registers' `modify`).
    #[inline(always)]
    pub fn with_write_one_bits(mut self, mask: T) -> Self {
        self.w1x = mask;
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

    #[inline(always)]
    fn load(&self) -> T {
        // SAFETY: `new`'s contract: the offset is in bounds and aligned.
        unsafe { T::read_from(self.io, self.offset) }
    }

    #[inline(always)]
    fn store(&self, value: T) {
        // SAFETY: `new`'s contract: the offset is in bounds and aligned.
        unsafe { T::write_to(self.io, self.offset, value) }
    }
}

impl<I: Io + ?Sized, T: Word, R: RegisterLongName, A: access::Read> Readable
    for Reg<'_, I, T, R, A>
{
    type T = T;
    type R = R;

    /// One volatile load of the register's width.
    #[inline(always)]
    fn get(&self) -> T {
        self.load()
    }
}

impl<I: Io + ?Sized, T: Word, R: RegisterLongName, A: access::Write> Writeable
    for Reg<'_, I, T, R, A>
{
    type T = T;
    type R = R;

    /// One volatile store of the register's width.
    #[inline(always)]
    fn set(&self, value: T) {
        self.store(value)
    }
}

macro_rules! reset_for {
    ($($m:ident),*) => {$(
        impl<I: Io + ?Sized, T: Word, R: RegisterLongName> Reg<'_, I, T, R, access::$m> {
            /// Writes the register's declared reset value.
            #[inline]
            pub fn reset(&self) {
                self.store(self.reset)
            }
        }
    )*};
}
reset_for!(Rw, Wo, RwMixed);

/// Plain `set`/`write` for the markers that have no `Writeable` (whose
/// blanket `modify` would be wrong for them).
macro_rules! plain_writes_for {
    ($($m:ident),*) => {$(
impl<I: Io + ?Sized, T: Word, R: RegisterLongName> Reg<'_, I, T, R, access::$m> {
    /// Writes `value` as is, in one volatile store: for w1c bits the 1s
    /// clear, for w1s bits the 1s set.
    ///
    /// No read happens first, so bits that read as 1 are never written back.
    #[inline(always)]
    pub fn set(&self, value: T) {
        self.store(value)
    }

    /// Writes the given field values and 0 everywhere else: of the w1c/w1s
    /// bits, only those named are cleared or set.
    #[inline(always)]
    pub fn write(&self, field: FieldValue<T, R>) {
        self.store(field.value)
    }
}
    )*};
}
plain_writes_for!(W1c, W1s, RwMixed);

impl<I: Io + ?Sized, T: Word, R: RegisterLongName> Reg<'_, I, T, R, access::RwMixed> {
    /// Read-modify-write of the named fields.
    ///
    /// The write-one-to-clear/-set fields that `field` does not name are
    /// written as 0 (their "no effect" value), so a 1 read from them is never
    /// written back.
    #[inline]
    pub fn modify(&self, field: FieldValue<T, R>) {
        let current = self.load() & !self.w1x;
        self.store(field.modify(current))
    }
}

/// Checked construction of field values: a value wider than the field is an
/// error, never silently truncated (tock-registers' `Field::val` masks).
pub trait FieldValueExt<T: Word, R: RegisterLongName> {
    /// The field value `value`, or an error if it does not fit the field.
    fn try_val(self, value: T) -> Result<FieldValue<T, R>, AccessError>;
}

macro_rules! field_value_ext {
    ($($t:ty),*) => {$(
        impl<R: RegisterLongName> FieldValueExt<$t, R> for Field<$t, R> {
            fn try_val(self, value: $t) -> Result<FieldValue<$t, R>, AccessError> {
                if value & !self.mask != 0 {
                    return Err(AccessError::FieldTooWide {
                        value: value.into(),
                        max: self.mask.into(),
                    });
                }
                Ok(self.val(value))
            }
        }
    )*};
}

field_value_ext!(u8, u16, u32, u64);
