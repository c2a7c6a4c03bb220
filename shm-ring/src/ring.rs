use std::time::Duration;

use hal_core::{order, poll, Io};

use crate::error::{Counter, RingError};
use crate::{HEADER_SIZE, MAGIC, MAX_CAPACITY, MIN_CAPACITY, RECORD_TAG, VERSION};

// Header fields, relative to the ring's offset (see the crate docs' table).
const MAGIC_AT: usize = 0x00;
const VERSION_AT: usize = 0x08;
const HEADER_SIZE_AT: usize = 0x0c;
const CAPACITY_AT: usize = 0x10;
const MAX_MESSAGE_AT: usize = 0x18;
const HEAD_AT: usize = 0x40;
const TAIL_AT: usize = 0x80;
/// Bytes of a record header.
const RECORD_HEADER: usize = 8;

/// Where a ring sits in the shared memory and how large its data area is.
///
/// The ring takes [`total_len`](Layout::total_len) bytes from `offset`:
/// the [`HEADER_SIZE`]-byte header, then `capacity` bytes of data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Layout {
    /// Offset of the ring's header in the shared memory: a multiple of 64.
    pub offset: usize,
    /// Bytes in the data area: a power of two from
    /// [`MIN_CAPACITY`] to [`MAX_CAPACITY`].
    pub capacity: usize,
}

impl Layout {
    /// The largest ring that starts at `offset` and ends within `len` bytes
    /// of it (header included).
    ///
    /// If even the smallest ring does not fit, the capacity is 0, which
    /// [`create`] refuses with [`RingError::BadCapacity`].
    pub fn largest(offset: usize, len: usize) -> Layout {
        let room = len.saturating_sub(HEADER_SIZE).min(MAX_CAPACITY);
        let capacity = match room.checked_ilog2() {
            Some(bits) if room >= MIN_CAPACITY => 1 << bits,
            _ => 0,
        };
        Layout { offset, capacity }
    }

    /// Bytes the ring takes in the shared memory: header and data.
    pub fn total_len(&self) -> usize {
        HEADER_SIZE.saturating_add(self.capacity)
    }

    /// The longest message the ring carries: the capacity less one record
    /// header (messages wrap around the end of the data area, so a message
    /// of this length always fits into an empty ring).
    pub fn max_message(&self) -> usize {
        self.capacity.saturating_sub(RECORD_HEADER)
    }

    /// Checks the layout against the memory it is to live in: capacity,
    /// alignment, and that the whole ring is inside `io`.
    ///
    /// [`create`] and the `attach` functions call it, so a ring that one of
    /// them accepts, the others accept too.
    pub fn check<I: Io + ?Sized>(&self, io: &I) -> Result<(), RingError> {
        if !self.capacity.is_power_of_two()
            || !(MIN_CAPACITY..=MAX_CAPACITY).contains(&self.capacity)
        {
            return Err(RingError::BadCapacity {
                capacity: self.capacity as u64,
            });
        }
        let address = io.base_addr().wrapping_add(self.offset);
        if !self.offset.is_multiple_of(64) || !address.is_multiple_of(8) {
            return Err(RingError::Misaligned {
                offset: self.offset,
                address,
            });
        }
        match self.offset.checked_add(self.total_len()) {
            Some(end) if end <= io.len() => Ok(()),
            end => Err(RingError::DoesNotFit {
                offset: self.offset,
                capacity: self.capacity as u64,
                end: end.map_or(u64::MAX, |e| e as u64),
                len: io.len(),
            }),
        }
    }
}

/// Two rings that share `total_len` bytes of memory: one in each half
/// (the first at offset 0, the second at the middle, rounded down to 64),
/// each the largest that fits in its half.
///
/// Use one for each direction (A → B and B → A): both sides compute the
/// same pair from the same length. If `total_len` is too small for two
/// rings, the capacities are 0 and [`create`] says so.
pub fn pair_layout(total_len: usize) -> (Layout, Layout) {
    let half = total_len / 2 / 64 * 64;
    (
        Layout::largest(0, half),
        Layout::largest(half, total_len - half),
    )
}

/// Writes a fresh header for an empty ring at `layout.offset`.
///
/// Call it once, before either side attaches (typically the process that
/// created the shared memory); creating a ring over one that is in use
/// resets it under its users' feet. The magic number is written last, after
/// a `Release` fence, so a peer that sees it sees the whole header.
pub fn create<I: Io + ?Sized>(io: &I, layout: Layout) -> Result<(), RingError> {
    layout.check(io)?;
    let ring = Ring { io, layout };
    // Erase an old magic first, so no one attaches to a half-written
    // header, then everything else (reserved words, the counters' cache
    // lines), each location at the width it is always accessed with.
    for at in (MAGIC_AT..HEADER_SIZE)
        .step_by(8)
        .filter(|&at| at != VERSION_AT)
    {
        ring.store64(at, 0);
    }
    ring.store32(VERSION_AT, VERSION);
    ring.store32(HEADER_SIZE_AT, HEADER_SIZE as u32);
    ring.store64(CAPACITY_AT, layout.capacity as u64);
    ring.store64(MAX_MESSAGE_AT, layout.max_message() as u64);
    ring.store64(HEAD_AT, 0);
    ring.store64(TAIL_AT, 0);
    order::before_doorbell();
    ring.store64(MAGIC_AT, MAGIC);
    Ok(())
}

/// The bytes a message of `len` bytes takes in the ring: its record header
/// and its bytes padded to a multiple of 8.
fn record_len(len: usize) -> u64 {
    (RECORD_HEADER + len.next_multiple_of(8)) as u64
}

/// The tag of the record header at `position`.
fn record_tag(position: u64) -> u32 {
    RECORD_TAG ^ (position >> 3) as u32
}

/// Why `head` and `tail` cannot both be right, if they cannot: the one rule
/// both sides (and `attach`) check the other side's counter against.
fn impossible_span(head: u64, tail: u64, capacity: usize) -> Option<&'static str> {
    if !head.is_multiple_of(8) || !tail.is_multiple_of(8) {
        Some("counters are multiples of 8")
    } else if head.wrapping_sub(tail) > capacity as u64 {
        Some("head may be at most capacity bytes ahead of tail, and never behind it")
    } else {
        None
    }
}

/// A checked ring: its layout was validated against `io` by
/// [`Layout::check`], so every offset below is in bounds and aligned.
#[derive(Debug)]
struct Ring<I> {
    io: I,
    layout: Layout,
}

impl<I: Io> Ring<I> {
    /// Validates the header at `offset` (written by [`create`], perhaps by
    /// another program) and returns the ring with its head and tail.
    fn attach(io: I, offset: usize) -> Result<(Ring<I>, u64, u64), RingError> {
        // The header's fixed part must be readable before anything is known.
        let probe = Layout {
            offset,
            capacity: MIN_CAPACITY,
        };
        probe.check(&io)?;
        let ring = Ring { io, layout: probe };
        let magic = ring.load64(MAGIC_AT);
        if magic != MAGIC {
            return Err(RingError::BadMagic {
                offset,
                found: magic,
                expected: MAGIC,
            });
        }
        // Pairs with the Release fence in `create` before the magic.
        order::after_completion();
        let version = ring.load32(VERSION_AT);
        if version != VERSION {
            return Err(RingError::VersionMismatch {
                offset,
                found: version,
                expected: VERSION,
            });
        }
        let mismatch = |field, found: u64, expected: u64| RingError::HeaderMismatch {
            offset,
            field,
            found,
            expected,
        };
        let header_size = ring.load32(HEADER_SIZE_AT);
        if header_size as usize != HEADER_SIZE {
            return Err(mismatch(
                "header size",
                header_size.into(),
                HEADER_SIZE as u64,
            ));
        }
        let capacity = ring.load64(CAPACITY_AT);
        let layout = Layout {
            offset,
            capacity: usize::try_from(capacity).map_err(|_| RingError::BadCapacity { capacity })?,
        };
        layout.check(&ring.io)?;
        let max_message = ring.load64(MAX_MESSAGE_AT);
        if max_message != layout.max_message() as u64 {
            return Err(mismatch(
                "largest message",
                max_message,
                layout.max_message() as u64,
            ));
        }
        let ring = Ring {
            io: ring.io,
            layout,
        };
        let head = ring.load64(HEAD_AT);
        let tail = ring.load64(TAIL_AT);
        order::after_completion();
        if let Some(why) = impossible_span(head, tail, layout.capacity) {
            let (counter, found) = if tail.is_multiple_of(8) {
                (Counter::Head, head)
            } else {
                (Counter::Tail, tail)
            };
            return Err(ring.bad_counter(counter, found, head, tail, why));
        }
        Ok((ring, head, tail))
    }

    /// Reads the other side's counter (an acquire load) and checks it
    /// against what this side knows (`head` and `tail` as last seen): the
    /// one rule for a counter read while the ring runs.
    ///
    /// A counter only moves forward, by multiples of 8: `tail` at most up
    /// to `head`, `head` at most `capacity` bytes past `tail`.
    fn load_peer(&self, counter: Counter, head: u64, tail: u64) -> Result<u64, RingError> {
        let capacity = self.layout.capacity as u64;
        let (at, last, limit, rule) = match counter {
            Counter::Head => (
                HEAD_AT,
                head,
                tail.wrapping_add(capacity).wrapping_sub(head),
                "head never moves backwards nor more than capacity bytes ahead of tail",
            ),
            Counter::Tail => (
                TAIL_AT,
                tail,
                head.wrapping_sub(tail),
                "tail never moves backwards nor past head",
            ),
        };
        let value = self.load64(at);
        // Pairs with the Release fence before the other side's store.
        order::after_completion();
        let why = if !value.is_multiple_of(8) {
            Some("counters are multiples of 8")
        } else if value.wrapping_sub(last) > limit {
            Some(rule)
        } else {
            None
        };
        match why {
            Some(why) => Err(self.bad_counter(counter, value, head, tail, why)),
            None => Ok(value),
        }
    }

    fn bad_counter(
        &self,
        counter: Counter,
        found: u64,
        head: u64,
        tail: u64,
        why: &'static str,
    ) -> RingError {
        RingError::BadCounter {
            offset: self.layout.offset,
            counter,
            found,
            head,
            tail,
            capacity: self.layout.capacity as u64,
            why,
        }
    }

    /// One 64-bit load of the header field or data word at `at` (relative
    /// to the ring's offset).
    fn load64(&self, at: usize) -> u64 {
        debug_assert!(at.is_multiple_of(8) && at + 8 <= self.layout.total_len());
        // SAFETY: every caller passes a header field offset below
        // HEADER_SIZE or a data offset `HEADER_SIZE + i` with `i` a multiple
        // of 8 below the capacity, so `at + 8 <= total_len`;
        // `Layout::check` proved `offset + total_len <= io.len()` and that
        // `base_addr + offset` is a multiple of 8 (and `at` is one).
        unsafe { self.io.read64(self.layout.offset + at) }
    }

    fn store64(&self, at: usize, value: u64) {
        debug_assert!(at.is_multiple_of(8) && at + 8 <= self.layout.total_len());
        // SAFETY: as in `load64`.
        unsafe { self.io.write64(self.layout.offset + at, value) }
    }

    fn load32(&self, at: usize) -> u32 {
        debug_assert!(at.is_multiple_of(4) && at + 4 <= HEADER_SIZE);
        // SAFETY: `at` is a header field below HEADER_SIZE and a multiple
        // of 4; `Layout::check` proved the header is inside `io` and its
        // address a multiple of 8.
        unsafe { self.io.read32(self.layout.offset + at) }
    }

    fn store32(&self, at: usize, value: u32) {
        debug_assert!(at.is_multiple_of(4) && at + 4 <= HEADER_SIZE);
        // SAFETY: as in `load32`.
        unsafe { self.io.write32(self.layout.offset + at, value) }
    }

    /// Offset in `io` of the data byte at `position`.
    fn data_at(&self, position: u64) -> usize {
        self.layout.offset + HEADER_SIZE + (position as usize & (self.layout.capacity - 1))
    }

    /// The data byte at `position` relative to the ring (for `load64`).
    fn data_rel(&self, position: u64) -> usize {
        HEADER_SIZE + (position as usize & (self.layout.capacity - 1))
    }

    /// Splits `len` bytes from `position` into the part before the end of
    /// the data area and the part that wraps to its start.
    fn split(&self, position: u64, len: usize) -> usize {
        let to_end = self.layout.capacity - (position as usize & (self.layout.capacity - 1));
        len.min(to_end)
    }

    fn write_data(&self, position: u64, data: &[u8]) -> Result<(), RingError> {
        let (first, rest) = data.split_at(self.split(position, data.len()));
        self.io.write_from(self.data_at(position), first)?;
        self.io.write_from(self.data_at(0), rest)?;
        Ok(())
    }

    fn read_data(&self, position: u64, buf: &mut [u8]) -> Result<(), RingError> {
        let (first, rest) = buf.split_at_mut(self.split(position, buf.len()));
        self.io.read_into(self.data_at(position), first)?;
        self.io.read_into(self.data_at(0), rest)?;
        Ok(())
    }
}

/// The sending end of a ring: one per ring, in one process (or VM).
///
/// Keeps its `head` privately and publishes it; reads the consumer's
/// `tail` only when its last known free space is not enough.
#[derive(Debug)]
pub struct Producer<I: Io> {
    ring: Ring<I>,
    /// Bytes published so far (the shared `head` is a copy).
    head: u64,
    /// The consumer's `tail` as last read.
    tail: u64,
}

impl<I: Io> Producer<I> {
    /// Attaches to the ring whose header is at `offset` in `io`, after
    /// checking the header (magic, version, sizes, counters).
    ///
    /// Pass a reference (`&region`) to keep using the memory elsewhere.
    pub fn attach(io: I, offset: usize) -> Result<Producer<I>, RingError> {
        let (ring, head, tail) = Ring::attach(io, offset)?;
        Ok(Producer { ring, head, tail })
    }

    /// The ring's layout, as read from its header.
    pub fn layout(&self) -> Layout {
        self.ring.layout
    }

    /// The longest message [`try_send`](Producer::try_send) accepts.
    pub fn max_message(&self) -> usize {
        self.ring.layout.max_message()
    }

    /// Sends `msg` if there is room: `Ok(true)` when it was published,
    /// `Ok(false)` when the ring is too full now (try again later; nothing
    /// was written), [`RingError::TooLarge`] when it can never fit.
    ///
    /// Errors also when the consumer's `tail` is impossible (see the crate
    /// documentation on not trusting the other side).
    pub fn try_send(&mut self, msg: &[u8]) -> Result<bool, RingError> {
        let layout = self.ring.layout;
        if msg.len() > layout.max_message() {
            return Err(RingError::TooLarge {
                offset: layout.offset,
                len: msg.len(),
                max_message: layout.max_message(),
            });
        }
        let need = record_len(msg.len());
        let capacity = layout.capacity as u64;
        if capacity - self.head.wrapping_sub(self.tail) < need {
            self.tail = self.ring.load_peer(Counter::Tail, self.head, self.tail)?;
            if capacity - self.head.wrapping_sub(self.tail) < need {
                return Ok(false);
            }
        }
        let position = self.head;
        let header = msg.len() as u64 | u64::from(record_tag(position)) << 32;
        self.ring.store64(self.ring.data_rel(position), header);
        self.ring
            .write_data(position.wrapping_add(RECORD_HEADER as u64), msg)?;
        self.head = position.wrapping_add(need);
        // Release: the record above is visible before the new head.
        order::before_doorbell();
        self.ring.store64(HEAD_AT, self.head);
        Ok(true)
    }

    /// [`try_send`](Producer::try_send) until it succeeds or `timeout` has
    /// passed (`Ok(false)`), trying again every `poll_interval` (zero:
    /// spin). Built on [`hal_core::poll::poll_timeout`].
    pub fn send_timeout(
        &mut self,
        msg: &[u8],
        timeout: Duration,
        poll_interval: Duration,
    ) -> Result<bool, RingError> {
        wait(|| self.try_send(msg), timeout, poll_interval)
    }
}

/// The receiving end of a ring: one per ring, in one process (or VM).
///
/// Keeps its `tail` privately and publishes it; reads the producer's
/// `head` only when it has consumed everything it knew of.
#[derive(Debug)]
pub struct Consumer<I: Io> {
    ring: Ring<I>,
    /// The producer's `head` as last read.
    head: u64,
    /// Bytes consumed so far (the shared `tail` is a copy).
    tail: u64,
    /// `tail` when the producer was last told that space was given back
    /// ([`Consumer::notify_space`]).
    pub(crate) space_notified: u64,
}

impl<I: Io> Consumer<I> {
    /// Attaches to the ring whose header is at `offset` in `io`, after
    /// checking the header (magic, version, sizes, counters).
    ///
    /// Pass a reference (`&region`) to keep using the memory elsewhere.
    pub fn attach(io: I, offset: usize) -> Result<Consumer<I>, RingError> {
        let (ring, head, tail) = Ring::attach(io, offset)?;
        Ok(Consumer {
            ring,
            head,
            tail,
            space_notified: tail,
        })
    }

    /// The ring's layout, as read from its header.
    pub fn layout(&self) -> Layout {
        self.ring.layout
    }

    /// The longest message the ring carries.
    pub fn max_message(&self) -> usize {
        self.ring.layout.max_message()
    }

    /// Bytes this end has consumed since the ring was created (its `tail`).
    pub(crate) fn consumed(&self) -> u64 {
        self.tail
    }

    /// Receives the next message into `buf` (replacing its contents):
    /// `Ok(true)` when there was one, `Ok(false)` when the ring is empty
    /// (`buf` is then left empty).
    ///
    /// Errors when the producer's `head` or the record is impossible (see
    /// the crate documentation on not trusting the other side); the ring
    /// is then left as it was, and every later call fails the same way.
    pub fn try_recv(&mut self, buf: &mut Vec<u8>) -> Result<bool, RingError> {
        buf.clear();
        if self.head == self.tail {
            self.head = self.ring.load_peer(Counter::Head, self.head, self.tail)?;
            if self.head == self.tail {
                return Ok(false);
            }
        }
        let layout = self.ring.layout;
        let position = self.tail;
        let available = self.head.wrapping_sub(position);
        let header = self.ring.load64(self.ring.data_rel(position));
        let len = (header & u64::from(u32::MAX)) as usize;
        let why = if (header >> 32) as u32 != record_tag(position) {
            Some("its tag does not match its position: no record was written here")
        } else if len > layout.max_message() {
            Some("the length is larger than the largest message")
        } else if record_len(len) > available {
            Some("the record extends past the published head")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(RingError::BadRecord {
                offset: layout.offset,
                position,
                header,
                why,
                max_message: layout.max_message(),
                available,
            });
        }
        buf.resize(len, 0);
        self.ring
            .read_data(position.wrapping_add(RECORD_HEADER as u64), buf)?;
        self.tail = position.wrapping_add(record_len(len));
        // Release: the copy above is done before the space is given back.
        order::before_doorbell();
        self.ring.store64(TAIL_AT, self.tail);
        Ok(true)
    }

    /// [`try_recv`](Consumer::try_recv) until a message arrives or
    /// `timeout` has passed (`Ok(false)`), trying again every
    /// `poll_interval` (zero: spin). Built on
    /// [`hal_core::poll::poll_timeout`].
    pub fn recv_timeout(
        &mut self,
        buf: &mut Vec<u8>,
        timeout: Duration,
        poll_interval: Duration,
    ) -> Result<bool, RingError> {
        wait(|| self.try_recv(buf), timeout, poll_interval)
    }
}

/// Calls `attempt` until it returns something other than `Ok(false)`, or
/// until `timeout` has passed.
fn wait(
    attempt: impl FnMut() -> Result<bool, RingError>,
    timeout: Duration,
    poll_interval: Duration,
) -> Result<bool, RingError> {
    match poll::poll_timeout(attempt, |r| !matches!(r, Ok(false)), poll_interval, timeout) {
        Ok(r) => r,
        Err(timed_out) => timed_out.last,
    }
}
