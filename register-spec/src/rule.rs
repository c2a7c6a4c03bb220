//! The one rule for writing some fields of a register.
//!
//! A write that names some fields of a register (generated code's `modify`,
//! `regpoke write REG.FIELD=V` or `REG=V:MASK`) must store a whole register:
//! this module decides what every bit it does not name becomes. The code
//! generator turns a [`WriteRule`] into two constants that `hal-core`'s
//! `Reg::modify` applies, and regpoke applies the same [`WriteRule`] at run
//! time, so the library and the CLI store the same value, bit for bit.
//!
//! Every bit has a kind: the kind of the field that holds it, or the
//! register's kind for a bit in no field. Bits fall into two classes:
//!
//! * **state** bits (`rw`, `ro`, `rc`): they hold a value the write should
//!   not change. With [`FieldWrites::ReadModifyWrite`] they are stored as
//!   read (a read happens only when there is such a bit left unnamed); with
//!   [`FieldWrites::FromReset`] they are stored as their reset value and the
//!   register is never read.
//! * **action** bits (`wo`, `w1c`, `w1s`, and `self_clearing` fields): a 1
//!   stored there does something (fires a trigger, clears or sets a status
//!   bit, starts a reset). They are stored as 0 unless named, never as
//!   read, whatever the mode.
//!
//! Named bits are stored as given. A write that names every state bit needs
//! no read.

use crate::model::{Access, FieldWrites, Register};

/// What a write that names some of a register's bits stores in the others.
///
/// Built from a validated [`Register`] by [`WriteRule::of`]; `keep` and
/// `base` are disjoint, and neither contains an action bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WriteRule {
    /// Bits stored as read when not named (the state bits of a
    /// read-modify-write register; 0 for [`FieldWrites::FromReset`]).
    pub keep: u64,
    /// Value of the bits stored as a constant when not named (the reset
    /// value of the state bits of a [`FieldWrites::FromReset`] register; 0
    /// otherwise).
    pub base: u64,
    /// Bits stored as 0 when not named (the action bits), for messages and
    /// documentation: they are in neither `keep` nor `base`.
    pub zero: u64,
    /// The register's mode.
    pub mode: FieldWrites,
}

/// Whether a bit of this kind holds state (kept) or triggers an action
/// when written as 1 (written as 0 unless named).
fn is_state(access: Access, self_clearing: bool) -> bool {
    !self_clearing
        && matches!(
            access,
            Access::ReadWrite | Access::ReadOnly | Access::ReadClear
        )
}

impl WriteRule {
    /// The rule for `reg`.
    pub fn of(reg: &Register) -> WriteRule {
        let full = reg.width.max_value();
        let mut state = 0u64;
        let mut covered = 0u64;
        for f in &reg.fields {
            let m = f.shifted_mask() & full;
            covered |= m;
            if is_state(f.access_in(reg), f.self_clearing) {
                state |= m;
            }
        }
        if is_state(reg.access, false) {
            state |= full & !covered;
        }
        let zero = full & !state;
        let (keep, base) = match reg.field_writes {
            FieldWrites::ReadModifyWrite => (state, 0),
            FieldWrites::FromReset => (0, reg.reset & state),
        };
        WriteRule {
            keep,
            base,
            zero,
            mode: reg.field_writes,
        }
    }

    /// A plain read-modify-write of a `width` word that no register map
    /// describes (a raw offset): every bit not named is stored as read.
    pub fn keep_all(width: crate::model::Width) -> WriteRule {
        WriteRule {
            keep: width.max_value(),
            base: 0,
            zero: 0,
            mode: FieldWrites::ReadModifyWrite,
        }
    }

    /// Whether a write that names the bits `named` must read the register
    /// first: some state bit is left unnamed in a read-modify-write.
    pub fn needs_read(&self, named: u64) -> bool {
        self.keep & !named != 0
    }

    /// The value stored by a write that gives the bits `named` the values
    /// in `value` (in place), given what a read returned (`read` is ignored
    /// when [`needs_read`](WriteRule::needs_read) is false).
    pub fn store(&self, read: u64, named: u64, value: u64) -> u64 {
        (((read & self.keep) | self.base) & !named) | (value & named)
    }
}

impl Register {
    /// The rule for writes that name some of this register's bits.
    pub fn write_rule(&self) -> WriteRule {
        WriteRule::of(self)
    }

    /// Whether software may write the register at all: its kind allows
    /// writes, or a field does (a `w1c` bit inside an `ro` status register).
    pub fn can_write(&self) -> bool {
        self.access.can_write() || self.fields.iter().any(|f| f.access_in(self).can_write())
    }
}
