//! Ring throughput and doorbell latency measurements (`vm-ring-bench` and
//! `vm-guest ring-bench`): fixed-size messages through one `shm-ring` ring
//! slot ([`crate::ivshmem_ring::slot_layout`]), the same code in a guest
//! (BAR2 through sysfs `resource2`) and on the host (an ivshmem client's
//! mapping). Receivers poll (no doorbells), so the figures are the ring's.

use std::time::{Duration, Instant};

use hal_core::Io;
use shm_ring::{Consumer, Producer};

use crate::ivshmem_ring::SLOT_SIZE;

/// The slot the plain-copy measurement writes into.
pub const COPY_SLOT: usize = 7;

/// Sends `n` messages of `size` bytes (sequence number first) into `slot`,
/// spinning while the ring is full. Returns the time taken.
pub fn send<I: Io>(io: &I, slot: usize, n: u64, size: usize) -> Result<Duration, String> {
    let mut p = Producer::attach(io, slot * SLOT_SIZE).map_err(|e| e.to_string())?;
    let mut msg = vec![0x5au8; size.max(8)];
    let start = Instant::now();
    for seq in 0..n {
        msg[..8].copy_from_slice(&seq.to_le_bytes());
        while !p.try_send(&msg).map_err(|e| e.to_string())? {
            std::hint::spin_loop();
        }
    }
    Ok(start.elapsed())
}

/// Receives `n` messages of `size` bytes from `slot`, checking length and
/// sequence number; the clock starts at the first message (so the
/// sender's start-up does not count) and stops at the last. Returns the
/// time for the `n - 1` messages after the first.
pub fn recv<I: Io>(
    io: &I,
    slot: usize,
    n: u64,
    size: usize,
    timeout: Duration,
) -> Result<Duration, String> {
    let mut c = Consumer::attach(io, slot * SLOT_SIZE).map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(size.max(8));
    let deadline = Instant::now() + timeout;
    let mut start = None;
    let mut seq = 0u64;
    while seq < n {
        if c.try_recv(&mut buf).map_err(|e| e.to_string())? {
            start.get_or_insert_with(Instant::now);
            let got = u64::from_le_bytes(buf[..8].try_into().unwrap_or_default());
            if buf.len() != size.max(8) || got != seq {
                return Err(format!(
                    "message {seq}: {} bytes with sequence number {got}",
                    buf.len()
                ));
            }
            seq += 1;
        } else if Instant::now() > deadline {
            return Err(format!("only {seq} of {n} messages within {timeout:?}"));
        } else {
            std::hint::spin_loop();
        }
    }
    Ok(start.map(|s| s.elapsed()).unwrap_or_default())
}

/// The limit: `n` plain copies of `size` bytes into the shared memory
/// (one slot, wrapping), as a producer copies a message, without the ring.
pub fn copy(io: &hal_core::Region, n: u64, size: usize) -> Result<Duration, String> {
    let msg = vec![0x5au8; size];
    let base = COPY_SLOT * SLOT_SIZE;
    let start = Instant::now();
    let mut at = 0;
    for _ in 0..n {
        if at + size > SLOT_SIZE {
            at = 0;
        }
        io.write_bytes(base + at, &msg).map_err(|e| e.to_string())?;
        at += size;
    }
    Ok(start.elapsed())
}

/// `msgs_per_s=… mb_per_s=…` for `n` messages of `size` bytes in `d`.
pub fn rate(n: u64, size: usize, d: Duration) -> String {
    let s = d.as_secs_f64().max(1e-9);
    format!(
        "msgs_per_s={:.0} mb_per_s={:.1}",
        n as f64 / s,
        n as f64 * size as f64 / s / 1e6
    )
}

/// `vm-guest ring-bench send|recv|copy SLOT N SIZE` in the guest.
pub fn guest_command(args: &[String]) -> Result<String, String> {
    let num = |i: usize| -> Result<u64, String> {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| "usage: ring-bench send|recv|copy SLOT N SIZE".to_string())
    };
    let (slot, n, size) = (num(1)? as usize, num(2)?, num(3)? as usize);
    if slot * SLOT_SIZE >= crate::ivshmem_ring::SHM_SIZE as usize || size < 8 {
        return Err(format!("slot {slot} or size {size} out of range"));
    }
    let shm = crate::guest::map_bar(crate::IVSHMEM_IDS, 2, crate::guest::Backend::Sysfs)?;
    let d = match args.first().map(String::as_str) {
        Some("send") => send(&shm, slot, n, size)?,
        Some("recv") => {
            let d = recv(&shm, slot, n, size, Duration::from_secs(600))?;
            return Ok(rate(n.saturating_sub(1), size, d));
        }
        Some("copy") => copy(&shm, n, size)?,
        _ => return Err("usage: ring-bench send|recv|copy SLOT N SIZE".into()),
    };
    Ok(rate(n, size, d))
}
