//! The ring between two host processes: this test's binary runs itself a
//! second time as the other process, both map one memfd `MAP_SHARED`, and
//! the parent sends the child `SHM_RING_MESSAGES` (default 1,000,000)
//! messages of random sizes (seeded) through one ring of a [`pair_layout`]
//! while the child sends a quarter as many back through the other, both at
//! once. Each receiver checks that every message arrives once, in order
//! and intact (sequence numbers, lengths, checksums). A debug build takes
//! about 10 s on two cores.
//!
//! Its own `main` (no libtest harness): the child is the same binary with
//! `SHM_RING_CHILD_FD` set.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Child, Command, ExitCode};
use std::time::{Duration, Instant};

use hal_core::{MemoryKind, Region};
use nix::sys::memfd::{memfd_create, MFdFlags};
use shm_ring::{create, pair_layout, Consumer, Producer, HEADER_SIZE};

mod common;
use common::Rng;

/// Each ring's data area.
const CAPACITY: usize = 64 << 10;
/// The shared memory: two rings.
const SHM_LEN: usize = 2 * (HEADER_SIZE + CAPACITY) + 2 * 64;
/// Seeds of the message sizes of each direction.
const SEED_PARENT_TO_CHILD: u64 = 0x5eed_0001;
const SEED_CHILD_TO_PARENT: u64 = 0x5eed_0002;
/// How long either side waits without progress before giving up.
const STALL: Duration = Duration::from_secs(60);

/// Message sizes: mostly small, now and then up to 16 KiB (several
/// messages' worth of the ring wraps at every size).
fn next_size(rng: &mut Rng) -> usize {
    if rng.range(0, 15) == 0 {
        rng.range(common::MIN_LEN, 16 << 10)
    } else {
        rng.range(common::MIN_LEN, 512)
    }
}

/// Messages from the parent to the child; the child sends a quarter of
/// this back.
fn messages() -> u64 {
    match std::env::var("SHM_RING_MESSAGES") {
        Ok(n) => n
            .parse()
            .unwrap_or_else(|_| panic!("SHM_RING_MESSAGES={n:?} is not a count of messages")),
        Err(_) => 1_000_000,
    }
}

/// Sends `n` messages through `tx` while receiving and checking `n` from
/// `rx`, interleaved, so neither side can block the other; `alive` says
/// whether the other side is still running.
fn exchange(
    tx: &mut Producer<&Region>,
    rx: &mut Consumer<&Region>,
    (n_send, n_recv): (u64, u64),
    (send_seed, recv_seed): (u64, u64),
    mut alive: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let (mut send_sizes, mut recv_sizes) = (Rng::new(send_seed), Rng::new(recv_seed));
    let (mut sent, mut received) = (0u64, 0u64);
    let mut msg = Vec::new();
    let mut buf = Vec::new();
    let mut pending = false;
    let mut last_progress = Instant::now();
    let mut idle = 0u32;
    while sent < n_send || received < n_recv {
        let mut progress = false;
        if sent < n_send {
            if !pending {
                common::fill(sent, next_size(&mut send_sizes), &mut msg);
                pending = true;
            }
            if tx.try_send(&msg).map_err(|e| e.to_string())? {
                sent += 1;
                pending = false;
                progress = true;
            }
        }
        if received < n_recv && rx.try_recv(&mut buf).map_err(|e| e.to_string())? {
            common::check(received, next_size(&mut recv_sizes), &buf)?;
            received += 1;
            progress = true;
        }
        if progress {
            idle = 0;
            last_progress = Instant::now();
        } else {
            idle += 1;
            if idle.is_multiple_of(1024) {
                alive()?;
                if last_progress.elapsed() > STALL {
                    return Err(format!(
                        "no progress for {STALL:?}: {sent} of {n_send} sent, {received} of \
                         {n_recv} received"
                    ));
                }
                // Two cores shared with others: let the other side run.
                std::thread::yield_now();
            }
        }
    }
    Ok(())
}

fn child(fd: &str) -> Result<(), String> {
    let file = File::options()
        .read(true)
        .write(true)
        .open(format!("/proc/self/fd/{fd}"))
        .map_err(|e| format!("child: opening the inherited memfd {fd}: {e}"))?;
    let shm =
        Region::map_shared(&file, 0, 0, SHM_LEN, "inherited memfd").map_err(|e| e.to_string())?;
    let (to_child, to_parent) = pair_layout(SHM_LEN);
    let mut tx = Producer::attach(&shm, to_parent.offset).map_err(|e| e.to_string())?;
    let mut rx = Consumer::attach(&shm, to_child.offset).map_err(|e| e.to_string())?;
    exchange(
        &mut tx,
        &mut rx,
        (messages() / 4, messages()),
        (SEED_CHILD_TO_PARENT, SEED_PARENT_TO_CHILD),
        || Ok(()),
    )
}

fn parent() -> Result<(), String> {
    let n = messages();
    // No MFD_CLOEXEC: the child inherits the descriptor.
    let fd: OwnedFd = memfd_create("shm-ring-test", MFdFlags::empty())
        .map_err(|e| format!("memfd_create: {e}"))?;
    let file = File::from(fd);
    file.set_len(SHM_LEN as u64).map_err(|e| e.to_string())?;
    let shm = Region::map_shared(&file, 0, 0, SHM_LEN, "memfd").map_err(|e| e.to_string())?;
    assert_eq!(shm.kind(), MemoryKind::Ram);
    let (to_child, to_parent) = pair_layout(SHM_LEN);
    assert_eq!(
        (to_child.capacity, to_parent.capacity),
        (CAPACITY, CAPACITY)
    );
    create(&shm, to_child).map_err(|e| e.to_string())?;
    create(&shm, to_parent).map_err(|e| e.to_string())?;
    let mut tx = Producer::attach(&shm, to_child.offset).map_err(|e| e.to_string())?;
    let mut rx = Consumer::attach(&shm, to_parent.offset).map_err(|e| e.to_string())?;

    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child: Child = Command::new(exe)
        .env("SHM_RING_CHILD_FD", file.as_raw_fd().to_string())
        .env("SHM_RING_MESSAGES", n.to_string())
        .spawn()
        .map_err(|e| format!("starting the child process: {e}"))?;
    let start = Instant::now();
    let result = exchange(
        &mut tx,
        &mut rx,
        (n, n / 4),
        (SEED_PARENT_TO_CHILD, SEED_CHILD_TO_PARENT),
        || match child.try_wait() {
            Ok(Some(status)) => Err(format!("the child exited early: {status}")),
            Ok(None) => Ok(()),
            Err(e) => Err(format!("waiting for the child: {e}")),
        },
    );
    if result.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    result?;
    if !status.success() {
        return Err(format!("the child failed: {status}"));
    }
    println!(
        "two processes exchanged {n} + {} messages, every one checked, in {:.2?}",
        n / 4,
        start.elapsed()
    );
    Ok(())
}

fn main() -> ExitCode {
    let (role, result) = match std::env::var("SHM_RING_CHILD_FD") {
        Ok(fd) => ("child", child(&fd)),
        Err(_) => {
            println!("\nrunning 1 test\ntest ring_between_two_processes ...");
            ("parent", parent())
        }
    };
    match result {
        Ok(()) => {
            if role == "parent" {
                println!("test ring_between_two_processes ... ok");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ring_between_two_processes ({role}): {e}");
            ExitCode::FAILURE
        }
    }
}
