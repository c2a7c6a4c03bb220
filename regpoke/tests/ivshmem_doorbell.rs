//! `regpoke --spec ivshmem write DOORBELL.PEER=P DOORBELL.VECTOR=V` rings
//! ivshmem-doorbell's peer P: one 32-bit store of `(P << 16) | V` at 0xc
//! (a write-only register with write side effects: the fields are written
//! whole, from reset, never read back). The same cases go through the
//! typed block, which must store the same value.

mod common;

use common::Dev;
use device_specs::ivshmem::{self, regs::DOORBELL};
use hal_core::fake::FakeIo;
use predicates::prelude::*;
use predicates::str::contains;

const CASES: &[(u32, u32)] = &[(1, 0), (0, 0), (3, 2), (0xffff, 0xffff), (7, 1)];

fn typed(peer: u32, vector: u32) -> u32 {
    let mut io = FakeIo::new(0x100);
    ivshmem::Regs::new(&mut io)
        .unwrap()
        .doorbell()
        .write(DOORBELL::PEER.val(peer) + DOORBELL::VECTOR.val(vector));
    io.model(|m| u32::from_le_bytes(m.bytes()[0xc..0x10].try_into().unwrap()))
}

#[test]
fn doorbell_fields_are_one_store_of_peer_and_vector() {
    for &(peer, vector) in CASES {
        let d = Dev::new(0x100);
        // Whatever the register held before does not leak into the store.
        d.poke32(0xc, 0xdead_beef);
        d.cmd(Some("ivshmem"))
            .args([
                "-vv",
                "write",
                &format!("DOORBELL.PEER={peer}"),
                &format!("DOORBELL.VECTOR={vector}"),
            ])
            .assert()
            .success()
            .stderr(contains(format!("{:#010x}", (peer << 16) | vector)))
            // A write-only register is never read.
            .stderr(contains("read32").not());
        let want = (peer << 16) | vector;
        assert_eq!(d.peek32(0xc), want, "regpoke, peer {peer} vector {vector}");
        assert_eq!(
            typed(peer, vector),
            want,
            "typed, peer {peer} vector {vector}"
        );
    }
}

#[test]
fn the_issue_example_stores_0x00010000() {
    let d = Dev::new(0x100);
    d.cmd(Some("ivshmem"))
        .args(["write", "DOORBELL.PEER=1", "DOORBELL.VECTOR=0"])
        .assert()
        .success();
    assert_eq!(d.peek32(0xc), 0x0001_0000);
    // Nothing else in BAR0 was touched.
    assert!(d.bytes()[..0xc].iter().all(|&b| b == 0));
}

#[test]
fn a_peer_beyond_16_bits_and_a_doorbell_read_are_refused() {
    let d = Dev::new(0x100);
    d.cmd(Some("ivshmem"))
        .args(["write", "DOORBELL.PEER=0x10000"])
        .assert()
        .failure()
        .stderr(contains("DOORBELL.PEER"));
    d.cmd(Some("ivshmem"))
        .args(["read", "DOORBELL"])
        .assert()
        .failure()
        .stderr(contains("write-only"));
    assert_eq!(d.peek32(0xc), 0);
}
