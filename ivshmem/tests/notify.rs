//! `Link` over the host client as a `shm_ring::Notify`: a consumer that
//! sleeps on its doorbell between messages receives every message, and a
//! ring sent before the wait is not lost.

use std::time::{Duration, Instant};

use ivshmem::client::{Client, PeerEvent};
use ivshmem::{Doorbell, Link};
use shm_ring::{Consumer, Layout, Notify, Producer};

mod common;
use common::{next_events, ServerProc};

/// Another mapping of the client's memory, so that the ring can be used
/// while the client is borrowed mutably by a `Link`.
fn second_mapping(c: &Client) -> hal_core::Region {
    hal_core::Region::map_shared(c.memory_fd(), 0, 0, c.region().len(), "second mapping").unwrap()
}

#[test]
fn a_ring_before_the_wait_is_latched_and_consumed_once() {
    let server = ServerProc::start(2);
    let mut a = Client::connect(&server.socket).unwrap();
    let mut b = Client::connect(&server.socket).unwrap();
    let b_id = Doorbell::id(&b);
    assert_eq!(next_events(&mut a), vec![PeerEvent::Joined(b_id)]);
    Link {
        doorbell: &mut a,
        peer: b_id,
        vector: 1,
        own_vector: 0,
    }
    .notify()
    .unwrap();
    let mut rx = Link {
        doorbell: &mut b,
        peer: 0,
        vector: 0,
        own_vector: 1,
    };
    let start = Instant::now();
    assert!(rx.wait(Some(Duration::from_secs(5))).unwrap());
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "the latched ring was not seen at once"
    );
    assert!(
        !rx.wait(Some(Duration::from_millis(20))).unwrap(),
        "consumed by one wait"
    );
    // Vector 0 of b was never rung.
    rx.own_vector = 0;
    assert!(!rx.wait(Some(Duration::from_millis(20))).unwrap());
}

#[test]
fn a_consumer_sleeping_on_its_doorbell_gets_every_message() {
    const N: u64 = 2000;
    let server = ServerProc::start(1);
    let mut tx_client = Client::connect(&server.socket).unwrap();
    let mut rx_client = Client::connect(&server.socket).unwrap();
    let (tx_id, rx_id) = (tx_client.id(), rx_client.id());
    assert_eq!(next_events(&mut tx_client), vec![PeerEvent::Joined(rx_id)]);
    let layout = Layout {
        offset: 0,
        capacity: 4096,
    };
    shm_ring::create(tx_client.region(), layout).unwrap();

    let receiver = std::thread::spawn(move || {
        let shm = second_mapping(&rx_client);
        let mut rx = Consumer::attach(&shm, 0).unwrap();
        let mut link = Link {
            doorbell: &mut rx_client,
            peer: tx_id,
            vector: 0,
            own_vector: 0,
        };
        let (mut got, mut wakeups, mut msg) = (0u64, 0u64, Vec::new());
        while got < N {
            if rx.try_recv(&mut msg).unwrap() {
                assert_eq!(msg, got.to_le_bytes(), "message {got}");
                got += 1;
                // Space freed: wake a producer blocked on a full ring.
                link.notify().unwrap();
                continue;
            }
            // Empty: sleep until rung (a ring since the check is latched).
            assert!(
                link.wait(Some(Duration::from_secs(10))).unwrap(),
                "no ring within 10 s, {got} received"
            );
            wakeups += 1;
        }
        wakeups
    });
    let shm = second_mapping(&tx_client);
    let mut tx = Producer::attach(&shm, 0).unwrap();
    let mut link = Link {
        doorbell: &mut tx_client,
        peer: rx_id,
        vector: 0,
        own_vector: 0,
    };
    for i in 0..N {
        while !tx.try_send(&i.to_le_bytes()).unwrap() {
            assert!(
                link.wait(Some(Duration::from_secs(10))).unwrap(),
                "ring full and no ring within 10 s"
            );
        }
        link.notify().unwrap();
    }
    let wakeups = receiver.join().unwrap();
    assert!(wakeups <= N, "{wakeups} wake-ups for {N} messages");
}
