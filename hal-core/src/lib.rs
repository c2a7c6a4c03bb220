//! Sound, pointer-based MMIO access for user-space drivers.
//!
//! `hal-core` is the layer every other crate of this workspace builds on:
//!
//! * [`Io`]: a small backend trait with one read and one write per access
//!   width (8, 16, 32, 64 bits) at a byte offset, each a single access;
//! * [`Region`]: an owned memory mapping (released on drop) with its length
//!   and [`MemoryKind`], that implements [`Io`] (one inline-assembly `mov`
//!   per access, exactly as written and atomic) and offers checked dynamic
//!   access (`try_read32`, `try_write`, ...) for tools;
//! * [`Reg`]: a register handle (an [`Io`] reference plus an offset) that
//!   implements tock-registers' `Readable` and has `set`, `write` and a
//!   `modify` that follows the register map's write rule, so generated
//!   register blocks get `read(FIELD)`, `write(FIELD::VAL)`, `modify`,
//!   `is_set` and `matches_all` without ever overlaying a Rust struct on
//!   device memory;
//! * bulk data on every [`Io`]: [`Io::read_into`], [`Io::write_from`],
//!   [`Io::fill`], with the widest naturally aligned accesses ([`bulk`]);
//! * [`poll::poll_timeout`]: poll a condition with a timeout, like Linux's
//!   `read_poll_timeout`, returning the last value on timeout;
//! * [`order`]: the orderings between DMA memory and MMIO a driver needs
//!   ([`order::before_doorbell`], [`order::after_completion`]), with the
//!   reasoning for x86-64;
//! * [`Window`]: a sub-range (offset, length) of an [`Io`] that is itself an
//!   [`Io`], so a generated block can sit at an offset inside a BAR;
//! * [`check_block`]: the one check a generated register block makes when
//!   it is built (length and base-address alignment);
//! * [`access`]: marker types for access kinds (ro, wo, rw, w1c, w1s, rc)
//!   which decide, at compile time, which operations a register handle has;
//! * [`fake`]: an in-memory backend and a device-model backend for host tests.
//!
//! # Soundness
//!
//! No `&T` or `&mut T` ever points into mapped memory: a [`Region`] holds a
//! `NonNull<u8>` and every access is a single load or store of the declared
//! width through a raw pointer. A reference into MMIO would let the
//! compiler insert or repeat reads (LLVM treats references as
//! dereferenceable), which breaks read-to-clear registers.
//!
//! **Alignment.** Every access is at an address that is a multiple of its
//! width. The [`Io`] contract asks for the *address* (`base_addr() +
//! offset`), not only the offset, to be aligned, because a region may start
//! anywhere (`/dev/mem` at an odd address, a UIO map whose `offset` is only
//! 4-aligned). [`Region::check`] and the `try_*` methods check it for each
//! access; [`check_block`] checks a generated block's base address once
//! against its widest register, and the block's offsets are checked at
//! compile time.
//!
//! **Device memory and RAM.** Each [`Region`] knows its [`MemoryKind`]:
//!
//! * *Device memory* (MMIO: `/dev/uioN` maps, sysfs PCI `resourceN` files,
//!   `/dev/mem`) is outside Rust's abstract machine. Each access must be
//!   exactly one load or store instruction of the declared width, never
//!   merged, split, repeated or elided (what `read_volatile` promises).
//! * *RAM* (anonymous regions, regular files, POSIX shared memory and
//!   memfds, hugetlbfs, `/dev/zero`, the host's side of ivshmem shared
//!   memory) is memory the abstract machine covers. Two threads doing a
//!   volatile write and a volatile read of the same RAM race, and a data
//!   race is undefined behaviour, even in safe code: volatile is not
//!   atomic.
//!
//! Rust has no volatile atomic, so a [`Region`] does every access, of either
//! kind, as one x86-64 `mov` of the access width in inline assembly. The
//! compiler executes an `asm!` block exactly once per call, as written
//! (like a volatile access), and the memory model treats it like foreign
//! code that may perform atomic accesses; an aligned `mov` is single-copy
//! atomic on x86-64, so it is a relaxed atomic access. One `&Region` may
//! therefore be shared between threads soundly, and no access depends on
//! the optimizer to stay one instruction (`device-specs/tests/single_access.rs`
//! checks the release assembly).
//!
//! Relaxed atomics give atomicity, not ordering. Memory shared with another
//! thread, process or VM that is used to hand over data needs a protocol
//! with `Acquire`/`Release` atomics (or fences): write the data, then
//! publish a flag with a `Release` store; read the flag with an `Acquire`
//! load, then the data. Volatile accesses alone are not enough for that,
//! and neither are the relaxed accesses of a [`Region`]. Mixing accesses of
//! different widths to the same bytes from several threads at once is
//! outside what Rust's memory model defines for atomics; keep each shared
//! location at one width.
//!
//! **Architectures.** The crate builds for x86-64 only. The guarantee of
//! one instruction per access has been checked there (by the release
//! assembly of the generated accessors). On 32-bit targets a volatile
//! `u64` access is split into two, and on aarch64 the compiler may emit
//! load/store forms (for example with writeback) that a hypervisor cannot
//! emulate for MMIO (rust-lang/rust#131894; the `safe-mmio` crate uses
//! inline assembly there for that reason).
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

#[cfg(not(target_arch = "x86_64"))]
compile_error!(
    "hal-core supports only x86_64: its one-instruction-per-access guarantee is checked \
     only there. On 32-bit targets a volatile u64 access is split in two, and on aarch64 \
     the compiler may emit load/store forms a hypervisor cannot emulate for MMIO \
     (rust-lang/rust#131894), which needs inline assembly to avoid."
);

pub mod access;
pub mod bulk;
mod check;
mod error;
pub mod fake;
mod io;
mod mmap;
pub mod order;
pub mod poll;
mod reg;
mod region;
mod window;

pub use check::check_block;
pub use error::{AccessError, BlockError, MapError};
pub use io::{Io, Width, Word};
pub use mmap::page_size;
pub use reg::{FieldValueExt, Reg};
pub use region::{MemoryKind, Region};
pub use window::{Window, WindowError};

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
