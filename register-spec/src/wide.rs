//! Registers wider than the device's bus, and the one rule for how such a
//! register is split into accesses.
//!
//! A 64-bit capability or counter on a device that takes only 32-bit
//! accesses is declared with `access_width: 32` (SystemRDL's
//! `accesswidth`): it is read and written as two 32-bit accesses. This
//! module decides which accesses, at which offsets and in which order
//! ([`split_accesses`], and [`Register::accesses`] for a register of a
//! map). The code generator emits that list as constants that `hal-core`'s
//! `WideReg` follows, and regpoke follows the same list at run time, so
//! the library and the CLI touch the device in the same way.
//!
//! * **Placement.** The bytes of the register are in little-endian order
//!   (as everything on x86-64 and PCI): the access at the register's
//!   offset carries its least significant bits, the next one up the next
//!   bits.
//! * **Order.** [`AccessOrder::LowFirst`] by default: the least significant
//!   part first, then upwards. It is what most hardware documents (xHCI and
//!   NVMe ask for the low dword of a 64-bit register first; Linux's
//!   `lo_hi_readq`/`lo_hi_writeq` are the common choice) and what hardware
//!   that latches the high half when the low half is read needs (the high
//!   half read next belongs to the same value); a device that acts when
//!   the high half is written also wants it last. `high_first` is for
//!   hardware documented the other way round.
//! * **Consistent reads** ([`consistent_read_accesses`]): a free-running
//!   counter can carry from the low half into the high half between the
//!   two reads, and a plain split read then returns a value that never
//!   existed (the old high half with the new, wrapped low half). A
//!   consistent read reads the upper parts, the lowest part, then the upper
//!   parts again; when both readings of the upper parts agree, no carry
//!   happened in between and the value is whole. Otherwise it tries again,
//!   at most [`CONSISTENT_READ_TRIES`] times, and then fails with an error
//!   (never a value that may be torn): a counter whose upper parts change
//!   on every try is not a counter that this method can read.

use std::fmt;

use crate::model::{Register, Width};

/// How many times a consistent read tries before it reports an error.
///
/// A real counter carries into its upper part once per 2^32 counts (for a
/// 32-bit lowest part), so a second disagreement in a row already means the
/// register is not a slowly counting value; four tries leave room for a
/// slow, preempted reader.
pub const CONSISTENT_READ_TRIES: u32 = 4;

/// In which order the parts of a split register are accessed (the YAML key
/// `access_order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AccessOrder {
    /// `low_first`: the least significant part first (the default).
    #[default]
    LowFirst,
    /// `high_first`: the most significant part first.
    HighFirst,
}

impl AccessOrder {
    /// Both orders with their YAML spelling.
    pub const ALL: [(&'static str, AccessOrder); 2] = [
        ("low_first", AccessOrder::LowFirst),
        ("high_first", AccessOrder::HighFirst),
    ];

    /// The YAML spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            AccessOrder::LowFirst => "low_first",
            AccessOrder::HighFirst => "high_first",
        }
    }

    /// Parses the YAML spelling.
    pub fn parse(s: &str) -> Option<AccessOrder> {
        AccessOrder::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, o)| *o)
    }
}

impl fmt::Display for AccessOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a register wider than the bus is accessed (present on a
/// [`Register`] whose `access_width` is narrower than its width).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Split {
    /// The width of each access (narrower than the register, divides it).
    pub access_width: Width,
    /// The order of the accesses of a read or a write.
    pub order: AccessOrder,
    /// Whether the register is a value that can change between the
    /// accesses (a free-running counter): tools read it with
    /// [`consistent_read_accesses`] (the YAML key `consistent_read`).
    pub consistent_read: bool,
}

/// One access of a split register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Piece {
    /// Byte offset from the register's offset.
    pub offset: u64,
    /// Width of the access.
    pub width: Width,
    /// Where its bits go in the register's value (bit number of its lowest bit).
    pub shift: u32,
}

/// THE rule: the accesses that make up one read or write of a `width`
/// register accessed `access_width` at a time, in `order`.
///
/// A register that is not split (`access_width >= width`) is one access of
/// its own width at offset 0.
pub fn split_accesses(width: Width, access_width: Width, order: AccessOrder) -> Vec<Piece> {
    if access_width.bits() >= width.bits() {
        return vec![Piece {
            offset: 0,
            width,
            shift: 0,
        }];
    }
    let n = width.bits() / access_width.bits();
    let mut pieces: Vec<Piece> = (0..n)
        .map(|i| Piece {
            offset: u64::from(i) * access_width.bytes(),
            width: access_width,
            shift: i * access_width.bits(),
        })
        .collect();
    if order == AccessOrder::HighFirst {
        pieces.reverse();
    }
    pieces
}

/// The accesses of a consistent read: the upper parts, most significant
/// first, then the lowest part last. The reader reads them all, then the
/// upper parts (all but the last) again, and keeps the value when both
/// readings of the upper parts agree (see the [module](self) docs).
pub fn consistent_read_accesses(width: Width, access_width: Width) -> Vec<Piece> {
    let mut pieces = split_accesses(width, access_width, AccessOrder::HighFirst);
    // High first puts the lowest part last already; spelled out so that
    // the contract does not rest on that.
    pieces.sort_by_key(|p| std::cmp::Reverse(p.shift));
    pieces
}

impl Register {
    /// The width of each access: the `access_width` of a split register,
    /// else the register's width.
    pub fn access_width(&self) -> Width {
        self.split.map_or(self.width, |s| s.access_width)
    }

    /// The accesses of one read or write of this register, in order
    /// ([`split_accesses`]).
    pub fn accesses(&self) -> Vec<Piece> {
        match self.split {
            Some(s) => split_accesses(self.width, s.access_width, s.order),
            None => split_accesses(self.width, self.width, AccessOrder::LowFirst),
        }
    }

    /// The accesses of a consistent read of this register, for a split
    /// register marked `consistent_read: true` ([`consistent_read_accesses`]).
    pub fn consistent_read_accesses(&self) -> Option<Vec<Piece>> {
        let s = self.split.filter(|s| s.consistent_read)?;
        Some(consistent_read_accesses(self.width, s.access_width))
    }
}
