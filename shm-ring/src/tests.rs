//! Host tests of the ring over a fake backend and over real mappings.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hal_core::fake::FakeIo;
use hal_core::{Io, Region};

#[path = "../tests/common/mod.rs"]
pub(crate) mod common;
use common::Rng;

use crate::*;

/// Runs `case` over a fake backend and over an anonymous mapping of `len`
/// bytes: the same cases through both kinds of memory.
fn on_both(len: usize, case: impl Fn(&dyn Io)) {
    case(&FakeIo::new(len));
    case(&Region::anonymous(len).unwrap());
}

/// Creates a ring and attaches both ends.
fn ends<I: Io + ?Sized>(io: &I, layout: Layout) -> (Producer<&I>, Consumer<&I>) {
    create(io, layout).unwrap();
    (
        Producer::attach(io, layout.offset).unwrap(),
        Consumer::attach(io, layout.offset).unwrap(),
    )
}

fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ salt)
        .collect()
}

#[test]
fn a_message_goes_through() {
    on_both(4096, |io| {
        let layout = Layout {
            offset: 64,
            capacity: 1024,
        };
        let (mut tx, mut rx) = ends(io, layout);
        assert_eq!((tx.layout(), rx.layout()), (layout, layout));
        assert_eq!((tx.max_message(), rx.max_message()), (1016, 1016));
        let mut buf = vec![1, 2, 3];
        assert!(!rx.try_recv(&mut buf).unwrap(), "empty at first");
        assert!(buf.is_empty(), "an empty receive leaves the buffer empty");
        assert!(tx.try_send(b"hello").unwrap());
        assert!(tx.try_send(b"").unwrap());
        assert!(rx.try_recv(&mut buf).unwrap());
        assert_eq!(buf, b"hello");
        assert!(rx.try_recv(&mut buf).unwrap());
        assert_eq!(buf, b"");
        assert!(!rx.try_recv(&mut buf).unwrap());
    });
}

/// The header bytes are the documented layout, little-endian at fixed
/// offsets.
#[test]
fn the_header_is_the_documented_layout() {
    let io = FakeIo::new(1024);
    // Whatever was there before is overwritten.
    io.fill(0, 1024, 0xff).unwrap();
    io.clear_log();
    create(
        &io,
        Layout {
            offset: 128,
            capacity: 512,
        },
    )
    .unwrap();
    let bytes = io.model(|m| m.bytes()[128..128 + HEADER_SIZE].to_vec());
    assert_eq!(&bytes[0..8], b"shm-ring");
    assert_eq!(&bytes[8..12], &1u32.to_le_bytes());
    assert_eq!(&bytes[12..16], &0xc0u32.to_le_bytes());
    assert_eq!(&bytes[16..24], &512u64.to_le_bytes());
    assert_eq!(&bytes[24..32], &504u64.to_le_bytes());
    assert!(bytes[32..].iter().all(|&b| b == 0), "reserved, head, tail");
    // Every header location is accessed at one width: the version and the
    // header size at 32 bits, everything else at 64.
    for access in io
        .log()
        .iter()
        .filter(|a| a.offset < 128 + HEADER_SIZE && a.offset >= 128)
    {
        let rel = access.offset - 128;
        let width = if rel == 8 || rel == 12 { 4 } else { 8 };
        assert_eq!(access.width.bytes(), width, "{access:?}");
    }
}

/// From every starting position of the smallest rings, every message
/// length up to the largest: each wraps differently (header at the end,
/// bytes split at every point).
#[test]
fn wraparound_at_every_position_and_length() {
    for capacity in [64usize, 128] {
        on_both(HEADER_SIZE + capacity, |io| {
            let layout = Layout {
                offset: 0,
                capacity,
            };
            for start in (0..capacity).step_by(8) {
                for len in 0..=layout.max_message() {
                    let (mut tx, mut rx) = ends(io, layout);
                    let mut buf = Vec::new();
                    // Move both counters to `start`.
                    if start > 0 {
                        assert!(tx.try_send(&vec![0xee; start - 8]).unwrap());
                        assert!(rx.try_recv(&mut buf).unwrap());
                    }
                    let msg = pattern(len, start as u8);
                    assert!(tx.try_send(&msg).unwrap(), "start {start} len {len}");
                    assert!(rx.try_recv(&mut buf).unwrap());
                    assert_eq!(buf, msg, "capacity {capacity} start {start} len {len}");
                    assert!(!rx.try_recv(&mut buf).unwrap());
                }
            }
        });
    }
}

#[test]
fn full_and_empty() {
    on_both(4096, |io| {
        let layout = Layout {
            offset: 0,
            capacity: 256,
        };
        let (mut tx, mut rx) = ends(io, layout);
        // 20-byte messages take 8 + 24 = 32 bytes: 8 fit exactly.
        for i in 0..8u8 {
            assert!(tx.try_send(&[i; 20]).unwrap(), "message {i} fits");
        }
        assert!(!tx.try_send(&[9; 20]).unwrap(), "full");
        assert!(!tx.try_send(b"").unwrap(), "full even for an empty message");
        let mut buf = Vec::new();
        assert!(rx.try_recv(&mut buf).unwrap());
        assert_eq!(buf, [0; 20]);
        // One record's room again: one more fits, then full again.
        assert!(tx.try_send(&[8; 24]).unwrap());
        assert!(!tx.try_send(b"").unwrap());
        for i in 1..9u8 {
            assert!(rx.try_recv(&mut buf).unwrap());
            assert_eq!(buf, vec![i; if i == 8 { 24 } else { 20 }]);
        }
        assert!(!rx.try_recv(&mut buf).unwrap(), "empty");
        // A fresh attach sees the same counters.
        let mut rx2 = Consumer::attach(io, 0).unwrap();
        assert!(!rx2.try_recv(&mut buf).unwrap());
    });
}

#[test]
fn largest_messages_fill_the_ring_and_larger_are_refused() {
    on_both(HEADER_SIZE + 4096, |io| {
        let layout = Layout {
            offset: 0,
            capacity: 4096,
        };
        let (mut tx, mut rx) = ends(io, layout);
        let max = tx.max_message();
        assert_eq!(max, 4088);
        let mut buf = Vec::new();
        // Each largest message starts where the last ended: after a small
        // one, it wraps.
        for round in 0..5u8 {
            let msg = pattern(max, round);
            assert!(tx.try_send(&msg).unwrap());
            assert!(!tx.try_send(b"").unwrap(), "a largest message fills it");
            assert!(rx.try_recv(&mut buf).unwrap());
            assert_eq!(buf, msg);
            assert!(tx.try_send(&[round; 13]).unwrap());
            assert!(rx.try_recv(&mut buf).unwrap());
        }
        let err = tx.try_send(&vec![0; max + 1]).unwrap_err();
        assert_eq!(
            err,
            RingError::TooLarge {
                offset: 0,
                len: 4089,
                max_message: 4088
            }
        );
        assert_eq!(
            err.to_string(),
            "a message of 4089 bytes does not fit in the ring at offset 0x0: its largest message \
             is 4088 bytes (split the message, or create the ring with a larger capacity)"
        );
        // Refused before anything was written.
        assert!(!rx.try_recv(&mut buf).unwrap());
    });
}

#[test]
fn layouts_that_do_not_fit_are_refused() {
    let io = FakeIo::new(1024);
    let err = |offset, capacity| create(&io, Layout { offset, capacity }).unwrap_err();
    for capacity in [0, 32, 100, 768] {
        assert_eq!(
            err(0, capacity),
            RingError::BadCapacity {
                capacity: capacity as u64
            }
        );
    }
    assert!(err(0, 100).to_string().starts_with(
        "ring capacity 0x64 is not usable: it must be a power of two from 0x40 to 0x80000000"
    ));
    assert_eq!(
        err(512, 512).to_string(),
        "a ring at offset 0x200 with capacity 0x200 needs bytes 0x200..0x4c0, but the shared \
         memory is only 0x400 bytes long (choose a smaller capacity or offset, or map more memory)"
    );
    assert!(matches!(
        err(usize::MAX - 63, 64),
        RingError::DoesNotFit { end: u64::MAX, .. }
    ));
    assert!(matches!(
        err(8, 64),
        RingError::Misaligned { offset: 8, .. }
    ));
    // The address counts, not only the offset.
    let skewed = FakeIo::new(1024).with_base(0x1004);
    assert_eq!(
        create(
            &skewed,
            Layout {
                offset: 0,
                capacity: 64
            }
        )
        .unwrap_err()
        .to_string(),
        "a ring cannot start at offset 0x0 (address 0x1004): the offset must be a multiple of 64 \
         (the counters sit on their own cache lines) and the address a multiple of 8 (the \
         counters are single 64-bit accesses)"
    );
    // Attaching where even a header does not fit.
    assert!(matches!(
        Consumer::attach(&io, 1024).unwrap_err(),
        RingError::DoesNotFit { .. }
    ));
}

#[test]
fn largest_and_pair_layouts() {
    assert_eq!(
        Layout::largest(0, 4096),
        Layout {
            offset: 0,
            capacity: 2048
        }
    );
    assert_eq!(Layout::largest(0, HEADER_SIZE + 64).capacity, 64);
    assert_eq!(Layout::largest(0, HEADER_SIZE + 63).capacity, 0);
    assert_eq!(Layout::largest(0, usize::MAX).capacity, MAX_CAPACITY);
    let (a, b) = pair_layout(1 << 20);
    assert_eq!((a.offset, b.offset), (0, 1 << 19));
    assert_eq!((a.capacity, b.capacity), (1 << 18, 1 << 18));
    assert!(a.offset + a.total_len() <= b.offset);
    let io = FakeIo::new(1 << 20);
    create(&io, a).unwrap();
    create(&io, b).unwrap();
    // Both directions at once, independent.
    let (mut ab, mut ba) = (
        Producer::attach(&io, a.offset).unwrap(),
        Producer::attach(&io, b.offset).unwrap(),
    );
    let (mut at_b, mut at_a) = (
        Consumer::attach(&io, a.offset).unwrap(),
        Consumer::attach(&io, b.offset).unwrap(),
    );
    assert!(ab.try_send(b"to b").unwrap() && ba.try_send(b"to a").unwrap());
    let mut buf = Vec::new();
    assert!(at_b.try_recv(&mut buf).unwrap());
    assert_eq!(buf, b"to b");
    assert!(at_a.try_recv(&mut buf).unwrap());
    assert_eq!(buf, b"to a");
    // Too small for two rings: create says so.
    let (small, _) = pair_layout(300);
    assert_eq!(
        create(&io, small),
        Err(RingError::BadCapacity { capacity: 0 })
    );
}

/// A fresh ring at offset 0 of 1024 bytes, for the corruption tests.
fn fresh() -> FakeIo {
    let io = FakeIo::new(1024);
    create(
        &io,
        Layout {
            offset: 0,
            capacity: 512,
        },
    )
    .unwrap();
    io
}

fn poke(io: &FakeIo, at: usize, bytes: &[u8]) {
    io.write_from(at, bytes).unwrap();
}

fn attach_err(io: &FakeIo) -> String {
    let p = Producer::attach(io, 0).unwrap_err();
    let c = Consumer::attach(io, 0).unwrap_err();
    assert_eq!(p, c, "both ends check the header alike");
    c.to_string()
}

#[test]
fn a_corrupt_or_foreign_header_is_refused_with_what_differs() {
    let io = FakeIo::new(1024);
    assert_eq!(
        attach_err(&io),
        "no ring header at offset 0x0: the magic number is 0x0000000000000000, expected \
         0x676e69722d6d6873 (\"shm-ring\"); the ring was not created yet (shm_ring::create), the \
         offset is wrong, or the memory belongs to another program"
    );
    let io = fresh();
    poke(&io, 0, b"SHM-RING");
    assert!(attach_err(&io).contains("the magic number is 0x474e49522d4d4853"));

    let io = fresh();
    poke(&io, 8, &2u32.to_le_bytes());
    assert_eq!(
        attach_err(&io),
        "the ring at offset 0x0 has layout version 2, this library speaks version 1: the other \
         side is a different version of shm-ring (rebuild both sides from the same source)"
    );

    let io = fresh();
    poke(&io, 12, &0x100u32.to_le_bytes());
    assert_eq!(
        attach_err(&io),
        "the ring header at offset 0x0 is corrupt or foreign: its header size is 0x100, expected \
         0xc0 (the other side may be a different program or version, or the memory was \
         overwritten)"
    );

    let io = fresh();
    poke(&io, 16, &500u64.to_le_bytes());
    assert!(attach_err(&io).starts_with("ring capacity 0x1f4 is not usable"));
    poke(&io, 16, &u64::MAX.to_le_bytes());
    assert!(attach_err(&io).starts_with("ring capacity 0xffffffffffffffff is not usable"));
    // A capacity larger than the memory.
    poke(&io, 16, &1024u64.to_le_bytes());
    assert!(attach_err(&io).starts_with(
        "a ring at offset 0x0 with capacity 0x400 needs bytes 0x0..0x4c0, but the shared memory \
         is only 0x400 bytes long"
    ));

    let io = fresh();
    poke(&io, 24, &512u64.to_le_bytes());
    assert!(attach_err(&io).contains("its largest message is 0x200, expected 0x1f8"));

    // Counters no ring can have.
    let io = fresh();
    poke(&io, 0x40, &1000u64.to_le_bytes());
    assert!(attach_err(&io).starts_with(
        "the ring at offset 0x0 is corrupt: its head (written by the producer) is 0x3e8, which is \
         impossible with head 0x3e8, tail 0x0 and capacity 0x200 (head may be at most capacity \
         bytes ahead of tail, and never behind it)"
    ));
    let io = fresh();
    poke(&io, 0x80, &4u64.to_le_bytes());
    assert!(attach_err(&io).contains("its tail (written by the consumer) is 0x4"));
}

#[test]
fn a_hostile_head_is_an_error_not_a_panic() {
    for (head, why) in [
        (4u64, "counters are multiples of 8"),
        (520, "nor more than capacity bytes ahead of tail"),
        (u64::MAX - 7, "head never moves backwards"),
    ] {
        let io = fresh();
        let mut rx = Consumer::attach(&io, 0).unwrap();
        poke(&io, 0x40, &head.to_le_bytes());
        let mut buf = Vec::new();
        let err = rx.try_recv(&mut buf).unwrap_err();
        assert!(
            matches!(err, RingError::BadCounter { counter: Counter::Head, found, .. } if found == head),
            "{err}"
        );
        assert!(err.to_string().contains(why), "{err}");
        // It stays an error; nothing was consumed.
        assert_eq!(rx.try_recv(&mut buf).unwrap_err(), err);
    }
}

#[test]
fn a_hostile_record_is_an_error_not_a_panic() {
    let cases: [(u64, u64, &str); 4] = [
        // (head, record header, why)
        (
            16,
            9 | u64::from(RECORD_TAG) << 32,
            "extends past the published head",
        ),
        (
            512,
            0xffff_ffff | u64::from(RECORD_TAG) << 32,
            "larger than the largest message",
        ),
        (
            512,
            505 | u64::from(RECORD_TAG) << 32,
            "larger than the largest message",
        ),
        (16, 8, "its tag does not match its position"),
    ];
    for (head, header, why) in cases {
        let io = fresh();
        let mut rx = Consumer::attach(&io, 0).unwrap();
        poke(&io, HEADER_SIZE, &header.to_le_bytes());
        poke(&io, 0x40, &head.to_le_bytes());
        let mut buf = Vec::new();
        let err = rx.try_recv(&mut buf).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "the ring at offset 0x0 is corrupt: the record at position 0x0 has header \
                 {header:#018x} ("
            )) && text.contains(why),
            "{text}"
        );
        assert!(buf.is_empty());
    }
    // A stale record: the producer published past what it wrote. The tag
    // of the record at position 0 is not valid at position 16.
    let io = fresh();
    let mut tx = Producer::attach(&io, 0).unwrap();
    let mut rx = Consumer::attach(&io, 0).unwrap();
    assert!(tx.try_send(b"12345678").unwrap());
    let header = io.model(|m| m.bytes()[HEADER_SIZE..HEADER_SIZE + 8].to_vec());
    poke(&io, HEADER_SIZE + 16, &header);
    poke(&io, 0x40, &32u64.to_le_bytes());
    let mut buf = Vec::new();
    assert!(rx.try_recv(&mut buf).unwrap());
    assert!(rx
        .try_recv(&mut buf)
        .unwrap_err()
        .to_string()
        .contains("its tag does not match its position"));
}

#[test]
fn a_hostile_tail_is_an_error_not_a_panic() {
    let io = fresh();
    let mut tx = Producer::attach(&io, 0).unwrap();
    let mut rx = Consumer::attach(&io, 0).unwrap();
    let mut buf = Vec::new();
    assert!(tx.try_send(&[1; 200]).unwrap());
    assert!(tx.try_send(&[2; 200]).unwrap());
    assert!(rx.try_recv(&mut buf).unwrap());
    // A tail ahead of the head.
    poke(&io, 0x80, &1000u64.to_le_bytes());
    let err = tx.try_send(&[3; 200]).unwrap_err();
    assert!(
        matches!(
            err,
            RingError::BadCounter {
                counter: Counter::Tail,
                found: 1000,
                ..
            }
        ),
        "{err}"
    );
    // A tail that moves backwards (from 208 to 0): still within capacity
    // of the head, but never legitimate.
    let io = fresh();
    let mut tx = Producer::attach(&io, 0).unwrap();
    let mut rx = Consumer::attach(&io, 0).unwrap();
    for _ in 0..2 {
        assert!(tx.try_send(&[1; 200]).unwrap());
        assert!(rx.try_recv(&mut buf).unwrap());
    }
    assert!(tx.try_send(&[1; 200]).unwrap());
    assert!(tx.try_send(&[1; 40]).unwrap(), "uses the tail seen before");
    poke(&io, 0x80, &208u64.to_le_bytes());
    // 256 bytes free as far as the producer knows: 300 makes it look.
    let err = tx.try_send(&[3; 300]).unwrap_err();
    assert!(
        err.to_string()
            .contains("tail never moves backwards nor past head"),
        "{err}"
    );
}

#[test]
fn waiting_with_a_timeout() {
    let io = Region::anonymous(4096).unwrap();
    create(
        &io,
        Layout {
            offset: 0,
            capacity: 64,
        },
    )
    .unwrap();
    let mut tx = Producer::attach(&io, 0).unwrap();
    let mut rx = Consumer::attach(&io, 0).unwrap();
    let mut buf = Vec::new();
    let start = Instant::now();
    let got = rx
        .recv_timeout(
            &mut buf,
            Duration::from_millis(20),
            Duration::from_millis(1),
        )
        .unwrap();
    assert!(!got && start.elapsed() >= Duration::from_millis(20));
    assert!(tx.try_send(&[7; 56]).unwrap());
    assert!(!tx
        .send_timeout(b"", Duration::from_millis(5), Duration::ZERO)
        .unwrap());
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(30));
            let mut buf = Vec::new();
            assert!(rx.try_recv(&mut buf).unwrap());
            assert!(rx
                .recv_timeout(&mut buf, Duration::from_secs(10), Duration::from_micros(50))
                .unwrap());
            assert_eq!(buf, b"after");
        });
        assert!(tx
            .send_timeout(b"after", Duration::from_secs(10), Duration::from_micros(50))
            .unwrap());
    });
    // Errors are returned at once, not waited out.
    let err = tx
        .send_timeout(&[0; 57], Duration::from_secs(10), Duration::ZERO)
        .unwrap_err();
    assert!(matches!(err, RingError::TooLarge { .. }));
}

/// Random sends and receives against a queue model, over random capacities
/// and offsets: every message comes out once, in order, intact, and the
/// ring is full exactly when the model says the next record cannot fit.
#[test]
fn random_operations_match_a_queue() {
    for seed in 0..40u64 {
        let mut rng = Rng::new(seed);
        let capacity = 64 << rng.range(0, 6);
        let offset = 64 * rng.range(0, 3);
        let io = FakeIo::new(offset + HEADER_SIZE + capacity);
        let layout = Layout { offset, capacity };
        let (mut tx, mut rx) = ends(&io, layout);
        let mut model = VecDeque::<Vec<u8>>::new();
        let mut used = 0usize;
        let mut buf = Vec::new();
        for step in 0..2000u32 {
            if rng.range(0, 1) == 0 {
                // Mostly small, sometimes up to the largest message.
                let len = if rng.range(0, 9) == 0 {
                    rng.range(0, layout.max_message())
                } else {
                    rng.range(0, 40)
                };
                let msg = pattern(len, step as u8);
                let room = capacity - used >= 8 + len.next_multiple_of(8);
                assert_eq!(tx.try_send(&msg).unwrap(), room, "seed {seed} step {step}");
                if room {
                    used += 8 + len.next_multiple_of(8);
                    model.push_back(msg);
                }
            } else {
                let expected = model.pop_front();
                assert_eq!(
                    rx.try_recv(&mut buf).unwrap(),
                    expected.is_some(),
                    "seed {seed} step {step}"
                );
                if let Some(expected) = expected {
                    used -= 8 + expected.len().next_multiple_of(8);
                    assert_eq!(buf, expected, "seed {seed} step {step}");
                }
            }
        }
    }
}

/// Two threads over one mapping, a producer and a consumer, the second
/// checking every message (the two-process test does the same across
/// processes).
#[test]
fn two_threads_exchange_checked_messages() {
    let io = Region::anonymous(HEADER_SIZE + 4096).unwrap();
    create(
        &io,
        Layout {
            offset: 0,
            capacity: 4096,
        },
    )
    .unwrap();
    const N: u64 = 20_000;
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut tx = Producer::attach(&io, 0).unwrap();
            let mut sizes = Rng::new(7);
            let mut msg = Vec::new();
            for seq in 0..N {
                common::fill(seq, sizes.range(common::MIN_LEN, 600), &mut msg);
                while !tx.try_send(&msg).unwrap() {
                    std::hint::spin_loop();
                }
            }
        });
        let mut rx = Consumer::attach(&io, 0).unwrap();
        let mut sizes = Rng::new(7);
        let mut buf = Vec::new();
        for seq in 0..N {
            assert!(rx
                .recv_timeout(&mut buf, Duration::from_secs(30), Duration::ZERO)
                .unwrap());
            common::check(seq, sizes.range(common::MIN_LEN, 600), &buf).unwrap();
        }
    });
}
