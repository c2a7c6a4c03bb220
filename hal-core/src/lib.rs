//! Sound, pointer-based MMIO access for user-space drivers.
//!
//! `hal-core` is the layer every other crate of this workspace builds on:
//!
//! * [`Io`]: a small backend trait with one volatile read and one volatile
//!   write per access width (8, 16, 32, 64 bits) at a byte offset;
//! * [`Region`]: an owned memory mapping (released on drop) with its length,
//!   that implements [`Io`] with `read_volatile`/`write_volatile` and offers
//!   checked dynamic access (`try_read32`, `try_write`, ...) for tools;
//! * [`Reg`]: a register handle (an [`Io`] reference plus an offset) that
//!   implements tock-registers' field traits, so generated register blocks
//!   get `read(FIELD)`, `write(FIELD::VAL)`, `modify`, `is_set` and
//!   `matches_all` without ever overlaying a Rust struct on device memory;
//! * [`access`]: marker types for access kinds (ro, wo, rw, w1c, w1s, rc)
//!   which decide, at compile time, which operations a register handle has;
//! * [`fake`]: an in-memory backend and a device-model backend for host tests.
//!
//! # Soundness
//!
//! No `&T` or `&mut T` ever points into device memory: a [`Region`] holds a
//! `NonNull<u8>` and every access is a single `read_volatile` or
//! `write_volatile` of the declared width through a raw pointer. A reference
//! into MMIO would let the compiler insert or repeat reads (LLVM treats
//! references as dereferenceable), which breaks read-to-clear registers.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod access;
mod error;
pub mod fake;
mod io;
mod mmap;
mod reg;
mod region;

pub use error::{AccessError, BlockError, MapError};
pub use io::{Io, Width, Word};
pub use mmap::page_size;
pub use reg::{FieldValueExt, Reg};
pub use region::Region;

/// Re-export of the tock-registers crate, whose field API generated code uses.
pub use tock_registers;

/// The tock-registers traits that give register handles their field API.
///
/// `use hal_core::prelude::*;` brings tock-registers' `Readable` (`get`,
/// `read`, `is_set`, `matches_all`, `read_as_enum`, ...) and
/// [`FieldValueExt`] into scope. Writes (`set`, `write`, `modify`) are
/// methods of [`Reg`] itself, not tock-registers' `Writeable` and
/// `ReadWriteable`: their blanket `modify` would write back every bit it
/// read, while [`Reg::modify`] follows the register map's write rule.
pub mod prelude {
    pub use crate::reg::FieldValueExt;
    pub use tock_registers::interfaces::Readable;
}
