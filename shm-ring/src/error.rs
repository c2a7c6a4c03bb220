use hal_core::AccessError;

/// Which end of a ring reported an impossible counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// The producer's counter (`head`: bytes published so far).
    Head,
    /// The consumer's counter (`tail`: bytes consumed so far).
    Tail,
}

impl std::fmt::Display for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Counter::Head => "head (written by the producer)",
            Counter::Tail => "tail (written by the consumer)",
        })
    }
}

/// What went wrong with a ring: a layout that does not fit, a header that
/// is not ours, a message that is too large, or shared memory whose
/// contents are impossible (the other side is buggy, hostile, or a
/// different program).
///
/// Every message says what was found where and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    /// The capacity is not a power of two, or is too small or too large.
    #[error(
        "ring capacity {capacity:#x} is not usable: it must be a power of two from {min:#x} to \
         {max:#x} bytes (use Layout::largest to fit a ring into a given length)",
        min = crate::MIN_CAPACITY,
        max = crate::MAX_CAPACITY
    )]
    BadCapacity {
        /// The capacity asked for (or found in a header).
        capacity: u64,
    },
    /// The ring (header and data) does not fit inside the memory.
    #[error(
        "a ring at offset {offset:#x} with capacity {capacity:#x} needs bytes {offset:#x}..{end:#x}, \
         but the shared memory is only {len:#x} bytes long (choose a smaller capacity or offset, \
         or map more memory)"
    )]
    DoesNotFit {
        /// Offset of the ring's header.
        offset: usize,
        /// Capacity of the data area.
        capacity: u64,
        /// One past the ring's last byte (saturating).
        end: u64,
        /// Length of the shared memory.
        len: usize,
    },
    /// The ring's offset is not a multiple of 64, or its address is not
    /// 8-byte aligned.
    #[error(
        "a ring cannot start at offset {offset:#x} (address {address:#x}): the offset must be a \
         multiple of 64 (the counters sit on their own cache lines) and the address a multiple \
         of 8 (the counters are single 64-bit accesses)"
    )]
    Misaligned {
        /// Offset of the ring's header.
        offset: usize,
        /// The address of the header (the memory's base plus the offset).
        address: usize,
    },
    /// No ring header at this offset (wrong magic number).
    #[error(
        "no ring header at offset {offset:#x}: the magic number is {found:#018x}, expected \
         {expected:#018x} (\"shm-ring\"); the ring was not created yet (shm_ring::create), the \
         offset is wrong, or the memory belongs to another program"
    )]
    BadMagic {
        /// Offset of the header.
        offset: usize,
        /// The first 8 bytes found there, little-endian.
        found: u64,
        /// [`MAGIC`](crate::MAGIC).
        expected: u64,
    },
    /// The header was written by another version of this format.
    #[error(
        "the ring at offset {offset:#x} has layout version {found}, this library speaks version \
         {expected}: the other side is a different version of shm-ring (rebuild both sides from \
         the same source)"
    )]
    VersionMismatch {
        /// Offset of the header.
        offset: usize,
        /// Version found in the header.
        found: u32,
        /// [`VERSION`](crate::VERSION).
        expected: u32,
    },
    /// A header field differs from what the format demands.
    #[error(
        "the ring header at offset {offset:#x} is corrupt or foreign: its {field} is {found:#x}, \
         expected {expected:#x} (the other side may be a different program or version, or the \
         memory was overwritten)"
    )]
    HeaderMismatch {
        /// Offset of the header.
        offset: usize,
        /// The field, in words.
        field: &'static str,
        /// Value found.
        found: u64,
        /// Value this library expects.
        expected: u64,
    },
    /// A counter in shared memory has a value no correct peer could have
    /// written.
    #[error(
        "the ring at offset {offset:#x} is corrupt: its {counter} is {found:#x}, which is \
         impossible with head {head:#x}, tail {tail:#x} and capacity {capacity:#x} ({why}); the \
         other side is buggy, hostile or a different program, or the memory was overwritten. \
         Nothing was read past the ring; recreate it (shm_ring::create) to start again"
    )]
    BadCounter {
        /// Offset of the ring's header.
        offset: usize,
        /// Which counter.
        counter: Counter,
        /// The value read.
        found: u64,
        /// The producer's counter as this side knows it.
        head: u64,
        /// The consumer's counter as this side knows it.
        tail: u64,
        /// Capacity of the data area.
        capacity: u64,
        /// The rule that was broken.
        why: &'static str,
    },
    /// A record in the ring has an impossible header.
    #[error(
        "the ring at offset {offset:#x} is corrupt: the record at position {position:#x} has \
         header {header:#018x} ({why}; the message length is at most {max_message:#x} and \
         {available:#x} bytes were published); the other side is buggy, hostile or a different \
         program. Nothing was read past the ring; recreate it (shm_ring::create) to start again"
    )]
    BadRecord {
        /// Offset of the ring's header.
        offset: usize,
        /// Position (the consumer's counter) of the record.
        position: u64,
        /// The record header read (tag in the high 32 bits, length in the low).
        header: u64,
        /// The rule that was broken.
        why: &'static str,
        /// The ring's largest message.
        max_message: usize,
        /// Bytes published and not yet consumed.
        available: u64,
    },
    /// A message longer than the ring's largest.
    #[error(
        "a message of {len} bytes does not fit in the ring at offset {offset:#x}: its largest \
         message is {max_message} bytes (split the message, or create the ring with a larger \
         capacity)"
    )]
    TooLarge {
        /// Offset of the ring's header.
        offset: usize,
        /// The message's length.
        len: usize,
        /// The ring's largest message.
        max_message: usize,
    },
    /// The memory refused an access (the backend's checks; not expected
    /// once the layout was checked).
    #[error("shared memory access failed: {0}")]
    Access(#[from] AccessError),
}
