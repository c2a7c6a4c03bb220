//! Access kinds as types.
//!
//! A register handle [`Reg`](crate::Reg) carries one of these markers; the
//! marker decides which operations exist:
//!
//! | marker | YAML `access` | `get`/`read`/`is_set` | `set`/`write` | `modify` |
//! |---|---|---|---|---|
//! | [`Ro`] | `ro` | yes | no | no |
//! | [`Wo`] | `wo` | no | yes | yes, never reads |
//! | [`Rw`] | `rw` | yes | yes | yes |
//! | [`Rc`] | `rc` (read clears) | yes, through `&mut` on the block | no | no |
//! | [`W1c`] | `w1c`, or `ro` with `w1c`/`w1s` fields | yes | yes | yes |
//! | [`W1s`] | `w1s` | yes | yes | yes |
//! | [`RwMixed`] | `rw` with some `w1c`/`w1s` fields | yes | yes | yes |
//!
//! `set` and `write` store exactly the value given (tock-registers' `write`:
//! the named fields, 0 elsewhere) and never read. `modify` changes the named
//! fields and follows the register map's write rule for the others (see
//! [`Reg::modify`](crate::Reg::modify) and `docs/spec-format.md`): bits that
//! hold state keep their value (read first, or the reset value for
//! `field_writes: from_reset`), bits whose 1 does something (`wo`, `w1c`,
//! `w1s`, self-clearing) are stored as 0. So `modify` of a `w1c` register
//! never writes back the 1s it read, and it reads only when a state bit is
//! left unnamed.
//!
//! # Reads with side effects
//!
//! A register whose read changes device state (`rc`, or flagged
//! `read_side_effects`) is reached only through `&mut` access to its
//! generated block: such a block is built from `&mut` access to the
//! backend, is not `Copy`, and hands its backend out (`io()`) only through
//! `&mut self`. So, through the typed API, two parts of a program cannot
//! both read (and clear) the same status without the borrow checker seeing
//! it. What is not covered: code that owns or borrows the
//! [`Region`](crate::Region) itself can read any offset with its dynamic
//! accessors (`try_read32`, ...), which know nothing of registers. Hand
//! out the block, not the region; tools that read raw offsets (regpoke)
//! check them against the register map before reading.

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
    /// Whether the handle has `modify` (every writable kind: `modify`
    /// follows the register map's write rule, so it is safe for `w1c` and
    /// `w1s` bits too).
    pub const fn can_modify(self) -> bool {
        self.can_write()
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
/// Markers whose registers may be written (`set`, `write`, `modify`).
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
    W1c, WriteOneToClear, [Read, Write]);
marker!(/// Write one to set.
    W1s, WriteOneToSet, [Read, Write]);
marker!(/// Read-write with some w1c/w1s fields: `modify` writes 0 to those
    /// fields unless it names them, so it never clears or sets them by accident.
    RwMixed, ReadWriteMixed, [Read, Write]);
