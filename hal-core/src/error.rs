use crate::io::Width;

/// A checked dynamic access that was refused before touching the device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The access does not fit inside the region.
    #[error(
        "{width} access at offset {offset:#x} is outside the region ({len:#x} bytes): \
         the last valid offset for this width is {last}"
    )]
    OutOfBounds {
        /// Byte offset that was asked for.
        offset: usize,
        /// Width of the access.
        width: Width,
        /// Length of the region in bytes.
        len: usize,
        /// Human-readable last valid offset (or "none").
        last: LastOffset,
    },
    /// The offset is not a multiple of the access width.
    #[error("{width} access at offset {offset:#x} is misaligned: the offset must be a multiple of {bytes}")]
    Misaligned {
        /// Byte offset that was asked for.
        offset: usize,
        /// Width of the access.
        width: Width,
        /// Required alignment in bytes.
        bytes: usize,
    },
    /// The offset is a multiple of the access width but the region does not
    /// start on a boundary of that width, so the address is misaligned.
    #[error(
        "{width} access at offset {offset:#x} is misaligned: its address {address:#x} is not \
         a multiple of {bytes} (the region starts {skew} byte{s} past a {bytes}-byte boundary, \
         so the aligned offsets for this width are {first:#x} plus multiples of {bytes})",
        bytes = width.bytes(),
        skew = base_skew,
        s = if *base_skew == 1 { "" } else { "s" },
        first = (width.bytes() - base_skew % width.bytes()) % width.bytes(),
    )]
    MisalignedAddress {
        /// Byte offset that was asked for.
        offset: usize,
        /// Width of the access.
        width: Width,
        /// The address the access would have used (region base plus offset).
        address: usize,
        /// How many bytes past a boundary of the access width the region starts.
        base_skew: usize,
    },
    /// The value does not fit in the access width.
    #[error("value {value:#x} does not fit in {a} {width} access (maximum {max:#x})", a = if width.bits() == 8 { "an" } else { "a" }, max = width.max_value())]
    ValueTooWide {
        /// The value that was asked for.
        value: u64,
        /// Width of the access.
        width: Width,
    },
    /// The value does not fit in the field.
    #[error("value {value:#x} does not fit in the field (maximum {max:#x})")]
    FieldTooWide {
        /// The value that was asked for.
        value: u64,
        /// The largest value the field holds.
        max: u64,
    },
    /// A byte-range copy does not fit inside the region.
    #[error("byte range {offset:#x}..{end:#x} is outside the region ({len:#x} bytes)")]
    RangeOutOfBounds {
        /// First byte offset.
        offset: usize,
        /// One past the last byte offset (saturating).
        end: usize,
        /// Length of the region in bytes.
        len: usize,
    },
}

/// The last valid offset of a width in a region, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastOffset(pub Option<usize>);

impl std::fmt::Display for LastOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(o) => write!(f, "{o:#x}"),
            None => f.write_str("none (the region is smaller than one access)"),
        }
    }
}

/// Mapping a device or file into memory failed.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The requested length is zero.
    #[error("mapping {what}: the length is zero")]
    ZeroLength {
        /// What was being mapped (a path and a map or BAR name).
        what: String,
    },
    /// The requested length does not fit in the address space.
    #[error("mapping {what}: offset {offset:#x} plus length {len:#x} overflows")]
    Overflow {
        /// What was being mapped.
        what: String,
        /// Sub-page offset.
        offset: usize,
        /// Length.
        len: usize,
    },
    /// `fstat` or `fstatfs` on the file failed, so whether it maps device
    /// memory or RAM could not be decided.
    #[error("mapping {what}: cannot tell whether it is device memory or RAM: {errno}")]
    Inspect {
        /// What was being mapped.
        what: String,
        /// The errno of `fstat` or `fstatfs` (part of the message, not a
        /// [`source`](std::error::Error::source)).
        errno: nix::Error,
    },
    /// The file offset is not a multiple of the page size.
    #[error(
        "mapping {what}: file offset {offset:#x} is not a multiple of the page size ({page:#x})"
    )]
    UnalignedOffset {
        /// What was being mapped.
        what: String,
        /// The file offset.
        offset: u64,
        /// The system page size.
        page: usize,
    },
    /// The `mmap` system call failed.
    #[error(
        "mapping {what}: mmap of {len:#x} bytes at file offset {offset:#x} failed: {errno}{hint}"
    )]
    Mmap {
        /// What was being mapped.
        what: String,
        /// Length that was asked for (page-rounded).
        len: usize,
        /// File offset that was asked for.
        offset: u64,
        /// Extra advice for the user (may be empty).
        hint: String,
        /// The errno (part of the message, not a
        /// [`source`](std::error::Error::source)).
        errno: nix::Error,
    },
}

/// A register block could not be built over a region.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The region is smaller than the block.
    #[error("block {block} needs {need:#x} bytes but the region has only {have:#x}")]
    TooSmall {
        /// Name of the register block.
        block: &'static str,
        /// Size the block needs.
        need: usize,
        /// Size the region has.
        have: usize,
    },
    /// The backend's base address is not aligned for the block's widest register.
    #[error(
        "block {block} cannot be built at address {address:#x}: its registers need the \
         region to start on a multiple of {align} bytes, and this one starts {skew} byte{s} \
         past such a boundary",
        skew = address.checked_rem(*align).unwrap_or(0),
        s = if address.checked_rem(*align) == Some(1) { "" } else { "s" },
    )]
    Misaligned {
        /// Name of the register block.
        block: &'static str,
        /// Base address of the backend.
        address: usize,
        /// Alignment the block needs (the width of its widest register), in bytes.
        align: usize,
    },
    /// A register-array index is out of range.
    #[error("{register}[{index}] is out of range: the array has {count} elements")]
    Index {
        /// Name of the register array.
        register: &'static str,
        /// Index asked for.
        index: usize,
        /// Number of elements.
        count: usize,
    },
}
