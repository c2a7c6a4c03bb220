//! Host tests of the blocking operations: a real eventfd per direction,
//! two threads, and fakes for the bookkeeping and the errors.

use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hal_core::Region;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags};
use nix::sys::eventfd::{EfdFlags, EventFd};

use crate::tests::common::{self, Rng};

use crate::*;

/// One end's notifier over two eventfds (the other end's, which it
/// writes, and its own, which it sleeps on), counting what it did.
struct EventNotify {
    theirs: Arc<EventFd>,
    mine: Arc<EventFd>,
    notifies: u64,
    waits: u64,
    wakeups: u64,
}

impl EventNotify {
    /// Two ends wired to each other.
    fn pair() -> (EventNotify, EventNotify) {
        let fd = || Arc::new(EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap());
        let (a, b) = (fd(), fd());
        let end = |theirs: &Arc<EventFd>, mine: &Arc<EventFd>| EventNotify {
            theirs: theirs.clone(),
            mine: mine.clone(),
            notifies: 0,
            waits: 0,
            wakeups: 0,
        };
        (end(&a, &b), end(&b, &a))
    }
}

impl Notify for EventNotify {
    type Error = Errno;

    fn notify(&mut self) -> Result<(), Errno> {
        self.notifies += 1;
        self.theirs.write(1).map(|_| ())
    }

    fn wait(&mut self, timeout: Option<Duration>) -> Result<bool, Errno> {
        self.waits += 1;
        let mut fds = [PollFd::new(self.mine.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, hal_core::poll::syscall_timeout(timeout))? == 0 {
            return Ok(false);
        }
        self.mine.read()?;
        self.wakeups += 1;
        Ok(true)
    }
}

fn ring(capacity: usize) -> Region {
    let io = Region::anonymous(HEADER_SIZE + capacity).unwrap();
    create(
        &io,
        Layout {
            offset: 0,
            capacity,
        },
    )
    .unwrap();
    io
}

/// The smallest ring (64 bytes: a few messages) between two threads that
/// both sleep on eventfds: every message arrives once, in order, intact;
/// no wait times out; both sides slept many times (the ring went full and
/// empty over and over), and the consumer notified space only when it
/// found the ring empty (at most once per sleep, plus its last check).
#[test]
fn both_sides_sleep_and_no_wake_up_is_lost() {
    const N: u64 = 20_000;
    const LIMIT: Option<Duration> = Some(Duration::from_secs(30));
    let io = ring(64);
    let (mut to_consumer, mut to_producer) = EventNotify::pair();
    let tx_notify = std::thread::scope(|s| {
        let sender = s.spawn(|| {
            let mut tx = Producer::attach(&io, 0).unwrap();
            let mut sizes = Rng::new(3);
            let mut msg = Vec::new();
            for seq in 0..N {
                common::fill(seq, sizes.range(common::MIN_LEN, 56), &mut msg);
                assert!(
                    tx.send_wait(&msg, &mut to_consumer, LIMIT).unwrap(),
                    "message {seq}: timed out waiting for space"
                );
                if seq % 1000 == 0 {
                    std::thread::sleep(Duration::from_millis(2)); // the consumer sleeps too
                }
            }
            to_consumer
        });
        let mut rx = Consumer::attach(&io, 0).unwrap();
        let mut sizes = Rng::new(3);
        let mut buf = Vec::new();
        for seq in 0..N {
            assert!(
                rx.recv_wait(&mut buf, &mut to_producer, LIMIT).unwrap(),
                "message {seq}: timed out waiting for data"
            );
            common::check(seq, sizes.range(common::MIN_LEN, 56), &buf).unwrap();
        }
        assert!(!rx
            .recv_wait(&mut buf, &mut to_producer, Some(Duration::ZERO))
            .unwrap());
        sender.join().unwrap()
    });
    let (p, c) = (tx_notify, to_producer);
    eprintln!(
        "producer: {} waits, {} wake-ups; consumer: {} waits, {} wake-ups, {} space notifications",
        p.waits, p.wakeups, c.waits, c.wakeups, c.notifies
    );
    assert_eq!(p.notifies, N, "one data notification per send_wait");
    assert_eq!(p.waits, p.wakeups, "a producer wait timed out");
    assert_eq!(c.waits, c.wakeups, "a consumer wait timed out");
    assert!(p.waits > 100, "the producer slept only {} times", p.waits);
    assert!(c.waits > 10, "the consumer slept only {} times", c.waits);
    assert!(
        c.notifies <= c.waits + 1,
        "{} space notifications for {} sleeps and {N} messages",
        c.notifies,
        c.waits
    );
}

/// A notifier that counts, latches in one thread, and can be told to fail.
#[derive(Default)]
struct Fake {
    notified: u64,
    latched: u64,
    waits: u64,
    fail: bool,
}

impl Notify for Fake {
    type Error = Errno;

    fn notify(&mut self) -> Result<(), Errno> {
        if self.fail {
            return Err(Errno::EBADF);
        }
        self.notified += 1;
        Ok(())
    }

    fn wait(&mut self, timeout: Option<Duration>) -> Result<bool, Errno> {
        self.waits += 1;
        if self.fail {
            return Err(Errno::EBADF);
        }
        if std::mem::take(&mut self.latched) > 0 {
            return Ok(true);
        }
        std::thread::sleep(timeout.unwrap_or(Duration::ZERO));
        Ok(false)
    }
}

#[test]
fn space_is_notified_once_per_drained_batch() {
    let io = ring(256);
    let mut tx = Producer::attach(&io, 0).unwrap();
    let mut rx = Consumer::attach(&io, 0).unwrap();
    let (mut data, mut space) = (Fake::default(), Fake::default());
    let mut buf = Vec::new();
    // Nothing consumed yet: nothing to tell the producer.
    assert!(!rx
        .recv_wait(&mut buf, &mut space, Some(Duration::ZERO))
        .unwrap());
    assert_eq!(space.notified, 0);
    for i in 0..3u8 {
        assert!(tx.send_wait(&[i; 20], &mut data, None).unwrap());
    }
    assert_eq!(data.notified, 3);
    for i in 0..3u8 {
        assert!(rx.recv_wait(&mut buf, &mut space, None).unwrap());
        assert_eq!(buf, [i; 20]);
    }
    assert_eq!(
        space.notified, 0,
        "no space notification while messages remain"
    );
    assert!(!rx
        .recv_wait(&mut buf, &mut space, Some(Duration::ZERO))
        .unwrap());
    assert!(buf.is_empty());
    assert_eq!(space.notified, 1, "one notification for the drained batch");
    assert!(!rx
        .recv_wait(&mut buf, &mut space, Some(Duration::ZERO))
        .unwrap());
    assert!(!rx.notify_space(&mut space).unwrap());
    assert_eq!(space.notified, 1, "nothing consumed since: no second one");
    assert!(tx.send_wait(b"x", &mut data, None).unwrap());
    assert!(rx.recv_wait(&mut buf, &mut space, None).unwrap());
    assert!(rx.notify_space(&mut space).unwrap());
    assert_eq!(space.notified, 2);
}

#[test]
fn timeouts_are_ok_false_and_errors_say_whose() {
    let io = ring(64);
    let mut tx = Producer::attach(&io, 0).unwrap();
    let mut rx = Consumer::attach(&io, 0).unwrap();
    let (mut data, mut space) = (Fake::default(), Fake::default());
    let mut buf = Vec::new();
    let start = Instant::now();
    assert!(!rx
        .recv_wait(&mut buf, &mut space, Some(Duration::from_millis(20)))
        .unwrap());
    assert!(start.elapsed() >= Duration::from_millis(20) && space.waits >= 1);
    assert!(tx.send_wait(&[7; 56], &mut data, None).unwrap());
    let start = Instant::now();
    assert!(!tx
        .send_wait(b"", &mut data, Some(Duration::from_millis(20)))
        .unwrap());
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert_eq!(data.notified, 1, "a send that timed out notifies nothing");
    // A wake-up with nothing behind it is a hint: the check comes again.
    data.latched = 1;
    assert!(!tx
        .send_wait(b"", &mut data, Some(Duration::from_millis(5)))
        .unwrap());
    // The ring's errors, at once.
    let err = tx.send_wait(&[0; 57], &mut data, None).unwrap_err();
    assert!(
        matches!(err, WaitError::Ring(RingError::TooLarge { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("does not fit"), "{err}");
    // The notifier's errors, saying so.
    assert!(rx.recv_wait(&mut buf, &mut space, None).unwrap());
    space.fail = true;
    let err = rx.recv_wait(&mut buf, &mut space, None).unwrap_err();
    assert!(matches!(err, WaitError::Notify(Errno::EBADF)), "{err}");
    assert!(
        err.to_string().contains("notifying the other side"),
        "{err}"
    );
    data.fail = true;
    let err = tx.send_wait(b"y", &mut data, None).unwrap_err();
    assert!(matches!(err, WaitError::Notify(Errno::EBADF)), "{err}");
}
