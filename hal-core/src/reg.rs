use std::fmt;
use std::marker::PhantomData;

use tock_registers::fields::{Field, FieldValue};
use tock_registers::interfaces::Readable;
use tock_registers::LocalRegisterCopy;
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
/// offset is in bounds and aligned; reads come from tock-registers'
/// `Readable` (`use hal_core::prelude::*`), writes are the handle's own
/// `set`, `write` and `modify`:
///
/// ```
/// use hal_core::{access::Rw, fake::FakeIo, prelude::*, Reg};
/// use hal_core::tock_registers::register_bitfields;
///
/// register_bitfields![u32, CTRL [ENABLE OFFSET(0) NUMBITS(1) [], MODE OFFSET(4) NUMBITS(2) []]];
///
/// let io = FakeIo::new(16);
/// // SAFETY: offset 4 + 4 bytes <= 16, and the fake's base address is
/// // page-aligned, so base + 4 is 4-aligned.
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
    keep: T,
    base: T,
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
    /// `offset + size_of::<T>() <= io.len()`, and the address
    /// `io.base_addr() + offset` is a multiple of `size_of::<T>()`.
    /// Generated blocks guarantee this with a compile-time check of the
    /// offset against the block size and its alignment, and a run-time
    /// check of the region's length and base alignment when the block is
    /// built (`check_block`).
    #[inline(always)]
    pub unsafe fn new(io: &'a I, offset: usize, reset: T) -> Self {
        debug_assert!(crate::check::check_access(io, offset, T::WIDTH).is_ok());
        Reg {
            io,
            offset,
            reset,
            keep: !T::zero(),
            base: T::zero(),
            _marker: PhantomData,
        }
    }

    /// Sets the rule [`modify`](Reg::modify) follows: `keep` are the bits
    /// taken from a read when not named, `base` the value of the bits
    /// stored as a constant when not named; every other bit not named is
    /// stored as 0. Generated blocks pass the register's `WRITE_KEEP` and
    /// `WRITE_BASE`, computed from the register map by `register_spec`'s
    /// `WriteRule`. A handle made with [`new`](Reg::new) keeps every bit
    /// (a plain read-modify-write).
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

    #[inline(always)]
    fn load(&self) -> T {
        // SAFETY: `new`'s contract: the offset is in bounds and the
        // address base + offset is aligned to the width.
        unsafe { T::read_from(self.io, self.offset) }
    }

    #[inline(always)]
    fn store(&self, value: T) {
        // SAFETY: `new`'s contract: the offset is in bounds and the
        // address base + offset is aligned to the width.
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

/// Writes, the same for every writable access kind: `set` and `write` store
/// exactly the value given; `modify` follows the register map's write rule.
impl<I: Io + ?Sized, T: Word, R: RegisterLongName, A: access::Write> Reg<'_, I, T, R, A> {
    /// Stores `value` as is, in one volatile store; no read happens first.
    ///
    /// For `w1c`/`w1s` bits the 1s clear or set; for write-only trigger
    /// bits the 1s fire.
    #[inline(always)]
    pub fn set(&self, value: T) {
        self.store(value)
    }

    /// Stores the given field values and 0 in every other bit, in one
    /// volatile store, without reading (tock-registers' `write`).
    #[inline(always)]
    pub fn write(&self, field: FieldValue<T, R>) {
        self.store(field.value)
    }

    /// Changes the named fields and stores the register once, following
    /// the register map's rule for the bits not named (`register_spec`'s
    /// `WriteRule`, the same rule `regpoke write REG.FIELD=V` applies):
    ///
    /// * state bits (`rw`, `ro`, bits in no field) keep their value: read
    ///   first for `field_writes: read_modify_write`, the reset value for
    ///   `field_writes: from_reset` (never read);
    /// * action bits (`wo`, `w1c`, `w1s`, self-clearing) are stored as 0,
    ///   so a 1 read from them is never written back.
    ///
    /// The register is read (one volatile load) only when some state bit is
    /// left unnamed in a read-modify-write.
    #[inline]
    pub fn modify(&self, field: FieldValue<T, R>) {
        self.store(modified(self.keep, self.base, field, || self.load()))
    }

    /// [`modify`](Reg::modify) with the state bits taken from `original`
    /// (a value read earlier) instead of a read of the register.
    #[inline]
    pub fn modify_no_read(&self, original: LocalRegisterCopy<T, R>, field: FieldValue<T, R>) {
        self.store(field.modify((original.get() & self.keep) | self.base))
    }
}

/// The value `modify` stores (the write rule): the named fields, the `keep`
/// bits from `load` (called only when some of them are not named), `base`
/// in the rest. Shared by [`Reg`] and [`WideReg`](crate::WideReg).
#[inline(always)]
pub(crate) fn modified<T: Word, R: RegisterLongName>(
    keep: T,
    base: T,
    field: FieldValue<T, R>,
    load: impl FnOnce() -> T,
) -> T {
    let kept = if keep & !field.mask() != T::zero() {
        load() & keep
    } else {
        T::zero()
    };
    field.modify(kept | base)
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
