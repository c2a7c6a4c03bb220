//! Access kinds as types.
//!
//! A register handle [`Reg`](crate::Reg) carries one of these markers; the
//! marker decides which operations exist:
//!
//! | marker | YAML `access` | `get`/`read`/`is_set` | `set`/`write` | `modify` (read-modify-write) |
//! |---|---|---|---|---|
//! | [`Ro`] | `ro` | yes | no | no |
//! | [`Wo`] | `wo` | no | yes | no |
//! | [`Rw`] | `rw` | yes | yes | yes |
//! | [`Rc`] | `rc` (read clears) | yes, through `&mut` on the block | no | no |
//! | [`W1c`] | `w1c` | yes | `write`/`set` of the given bits only | no |
//! | [`W1s`] | `w1s` | yes | `write`/`set` of the given bits only | no |
//! | [`RwMixed`] | `rw` with some `w1c`/`w1s` fields | yes | yes | yes, writing 0 to the w1c/w1s fields not named |
//!
//! A write-one-to-clear (or -set) register never gets `modify`: a
//! read-modify-write would write back every 1 it read and so clear (or set)
//! bits nobody asked for. Reads with side effects (`rc`, or any register
//! flagged `read_side_effects`) are reached only through `&mut` access to
//! the register block, so two parts of a program cannot both read (and
//! clear) the same status without the borrow checker seeing it.

mod sealed {
    pub trait Sealed {}
}

/// What a register allows, as a value (for tools and generated metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessKind {
    /// Read-only.
    ReadOnly,
    /// Write-only.
    WriteOnly,
    /// Read-write.
    ReadWrite,
    /// Read-only; a read clears the register.
    ReadClear,
    /// Readable; writing 1 to a bit clears it, 0 leaves it.
    WriteOneToClear,
    /// Readable; writing 1 to a bit sets it, 0 leaves it.
    WriteOneToSet,
    /// Read-write, with some write-one-to-clear or -set fields.
    ReadWriteMixed,
}

impl AccessKind {
    /// Whether a read is allowed.
    pub const fn can_read(self) -> bool {
        !matches!(self, AccessKind::WriteOnly)
    }
    /// Whether a write is allowed.
    pub const fn can_write(self) -> bool {
        !matches!(self, AccessKind::ReadOnly | AccessKind::ReadClear)
    }
    /// Whether a read-modify-write of other fields is allowed.
    pub const fn can_modify(self) -> bool {
        matches!(self, AccessKind::ReadWrite | AccessKind::ReadWriteMixed)
    }
    /// The YAML spelling (`ro`, `wo`, `rw`, `rc`, `w1c`, `w1s`).
    pub const fn as_str(self) -> &'static str {
        match self {
            AccessKind::ReadOnly => "ro",
            AccessKind::WriteOnly => "wo",
            AccessKind::ReadWrite | AccessKind::ReadWriteMixed => "rw",
            AccessKind::ReadClear => "rc",
            AccessKind::WriteOneToClear => "w1c",
            AccessKind::WriteOneToSet => "w1s",
        }
    }
}

/// An access-kind marker type.
pub trait Access: sealed::Sealed {
    /// The kind this marker stands for.
    const KIND: AccessKind;
}

/// Markers whose registers may be read.
pub trait Read: Access {}
/// Markers whose registers take plain writes and read-modify-writes.
pub trait Write: Access {}

macro_rules! marker {
    ($(#[$m:meta])* $name:ident, $kind:ident, [$($tr:ident),*]) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {}
        impl sealed::Sealed for $name {}
        impl Access for $name {
            const KIND: AccessKind = AccessKind::$kind;
        }
        $(impl $tr for $name {})*
    };
}

marker!(/// Read-only.
    Ro, ReadOnly, [Read]);
marker!(/// Write-only.
    Wo, WriteOnly, [Write]);
marker!(/// Read-write.
    Rw, ReadWrite, [Read, Write]);
marker!(/// Read-only, read clears.
    Rc, ReadClear, [Read]);
marker!(/// Write one to clear.
    W1c, WriteOneToClear, [Read]);
marker!(/// Write one to set.
    W1s, WriteOneToSet, [Read]);
marker!(/// Read-write with some w1c/w1s fields: `modify` writes 0 to those
    /// fields unless it names them, so it never clears or sets them by accident.
    RwMixed, ReadWriteMixed, [Read]);
