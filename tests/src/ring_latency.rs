//! Message latency through a pair of `shm-ring` rings in ivshmem's shared
//! memory, doorbell-driven against polled: a ping-pong of one small
//! message between a host process and a guest over VFIO (the guest
//! receives doorbells as MSI-X interrupts). Both sides run [`side`]; the
//! host times each round trip; [`Latency`] gives the median and p99.

use std::time::{Duration, Instant};

use hal_core::Io;
use ivshmem::{Doorbell, Link};
use shm_ring::{Consumer, Notify, Producer};

use crate::ivshmem_ring::SLOT_SIZE;

/// How a receiver learns of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// It spins on the ring; nobody rings.
    Polled,
    /// It sleeps on its doorbell (vector 0); the sender rings after
    /// publishing.
    Doorbell,
}

impl Mode {
    /// `poll` or `doorbell`.
    pub fn parse(s: &str) -> Result<Mode, String> {
        match s {
            "poll" => Ok(Mode::Polled),
            "doorbell" => Ok(Mode::Doorbell),
            _ => Err(format!("mode `{s}`: expected poll or doorbell")),
        }
    }

    /// The word [`parse`](Mode::parse) takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Polled => "poll",
            Mode::Doorbell => "doorbell",
        }
    }
}

/// Bytes per message (a sequence number and padding).
pub const MESSAGE: usize = 16;
/// How long a side waits for one message before giving up.
const STALL: Duration = Duration::from_secs(10);

/// One side of the ping-pong over `io`: sends into slot `tx` and receives
/// from slot `rx` (rings created beforehand), `n` round trips with
/// `other`. The one that `starts` sends first and returns each round
/// trip's time; the other echoes every message back (and returns nothing).
/// Every message's sequence number is checked.
#[allow(clippy::too_many_arguments)]
pub fn side<I: Io, D: Doorbell>(
    io: &I,
    doorbell: &mut D,
    other: u16,
    tx: usize,
    rx: usize,
    n: u32,
    mode: Mode,
    starts: bool,
) -> Result<Vec<Duration>, String> {
    let mut prod =
        Producer::attach(io, tx * SLOT_SIZE).map_err(|e| format!("attaching to ring {tx}: {e}"))?;
    let mut cons =
        Consumer::attach(io, rx * SLOT_SIZE).map_err(|e| format!("attaching to ring {rx}: {e}"))?;
    let mut link = Link {
        doorbell,
        peer: other,
        vector: 0,
        own_vector: 0,
    };
    let mut times = Vec::with_capacity(if starts { n as usize } else { 0 });
    let mut msg = Vec::with_capacity(MESSAGE);
    let mut send = |seq: u64, link: &mut Link<'_, D>| -> Result<(), String> {
        let mut m = [0u8; MESSAGE];
        m[..8].copy_from_slice(&seq.to_le_bytes());
        if !prod.try_send(&m).map_err(|e| e.to_string())? {
            return Err(format!("ring {tx} full in a ping-pong"));
        }
        if mode == Mode::Doorbell {
            link.notify().map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    let mut recv = |seq: u64, link: &mut Link<'_, D>| -> Result<(), String> {
        let deadline = Instant::now() + STALL;
        while !cons.try_recv(&mut msg).map_err(|e| e.to_string())? {
            if mode == Mode::Doorbell {
                // Empty after the last wake-up: sleep (a ring since is latched).
                if !link.wait(Some(STALL)).map_err(|e| e.to_string())? {
                    return Err(format!("no doorbell for message {seq} within {STALL:?}"));
                }
            } else if Instant::now() > deadline {
                return Err(format!("message {seq} did not come within {STALL:?}"));
            }
        }
        let got = msg
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes);
        if msg.len() != MESSAGE || got != Some(seq) {
            return Err(format!(
                "expected message {seq} ({MESSAGE} bytes), got {got:?} ({} bytes)",
                msg.len()
            ));
        }
        Ok(())
    };
    for i in 0..u64::from(n) {
        if starts {
            let t = Instant::now();
            send(i, &mut link)?;
            recv(i, &mut link)?;
            times.push(t.elapsed());
        } else {
            recv(i, &mut link)?;
            send(i, &mut link)?;
        }
    }
    Ok(times)
}

/// Median and 99th percentile of round-trip times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// How many round trips.
    pub n: usize,
    /// The median.
    pub median: Duration,
    /// The 99th percentile (nearest rank).
    pub p99: Duration,
}

impl Latency {
    /// From samples (`None` if there are none).
    pub fn of(samples: &[Duration]) -> Option<Latency> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_unstable();
        let rank = |p: usize| s[(s.len() * p).div_ceil(100).max(1) - 1];
        Some(Latency {
            n: s.len(),
            median: rank(50),
            p99: rank(99),
        })
    }
}

/// `vm-guest ring-echo poll|doorbell HOST N` (VFIO VM): the guest side of
/// the ping-pong over ivshmem bound to vfio-pci: receives from ring 0,
/// echoes into ring 1, ringing `HOST` in doorbell mode.
pub fn guest_echo(mode: Mode, host: u16, n: u32) -> Result<String, String> {
    let mut dev = crate::ivshmem_vfio::open_guest_device()?;
    let shm = dev.device().map_region(2).map_err(|e| e.to_string())?;
    side(&shm, &mut dev, host, 1, 0, n, mode, false)?;
    Ok(format!("echoed {n} messages ({})", mode.as_str()))
}

/// Runs the ping-pong with a VFIO VM booted on `server`: for each mode,
/// rings 0 and 1 created afresh, the guest echoing (`vm-guest ring-echo`),
/// this process starting; `warmup` round trips are left out of the
/// figures.
pub fn host_guest(
    vm: &qemu::Vm,
    client: &mut ivshmem::client::Client,
    guest: u16,
    mode: Mode,
    n: u32,
    warmup: u32,
) -> Result<Latency, String> {
    let shm = crate::ivshmem_vm::map_shared(client)?;
    crate::ivshmem_ring::create_slots(&shm, &[0, 1])?;
    // Drain a stale ring of our own vector.
    while client
        .wait(0, Some(Duration::ZERO))
        .map_err(|e| e.to_string())?
    {}
    let total = n + warmup;
    let me = client.id();
    let times = std::thread::scope(|s| {
        let echo = s.spawn(|| {
            crate::host::run_guest(
                vm,
                &format!("ring-echo {} {me} {total}", mode.as_str()),
                Duration::from_secs(600),
            )
        });
        // A message sent before the guest attached waits in the ring; the
        // first round trips (guest start-up included) are the warm-up.
        let times = side(&shm, client, guest, 0, 1, total, mode, true);
        let out = echo
            .join()
            .unwrap_or_else(|_| Err("thread panicked".into()));
        times.and_then(|t| out.map(|_| t))
    })?;
    Latency::of(&times[warmup as usize..]).ok_or_else(|| "no round trips".to_string())
}

/// The benchmark: an ivshmem server, a VFIO VM on it, and `n` round trips
/// (after `n / 10` of warm-up) per mode, polled and doorbell-driven, in
/// alternating `rounds`. Returns a Markdown table (median and p99 per
/// round, in µs).
pub fn vfio_table(guest_bin: &std::path::Path, n: u32, rounds: u32) -> Result<String, String> {
    let server = crate::ivshmem_vm::start_server()?;
    let mut me = crate::ivshmem_vm::watch(&server)?;
    let vm = crate::ivshmem_vfio::boot_vfio_on(&server, guest_bin)?;
    let guest = me.joined()?;
    let mut out = String::from(
        "| round | receivers learn of a message by | median µs | p99 µs |\n|---|---|---|---|\n",
    );
    for round in 1..=rounds {
        for mode in [Mode::Polled, Mode::Doorbell] {
            let l = host_guest(&vm, &mut me.client, guest, mode, n, n / 10)?;
            let how = match mode {
                Mode::Polled => "polling the ring (spinning)",
                Mode::Doorbell => "doorbell (host: eventfd; guest: MSI-X over VFIO)",
            };
            out.push_str(&format!(
                "| {round} | {how} | {:.1} | {:.1} |\n",
                l.median.as_secs_f64() * 1e6,
                l.p99.as_secs_f64() * 1e6
            ));
        }
    }
    drop(vm);
    drop(me);
    server.stop().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p99_by_nearest_rank() {
        let us = |v: u64| Duration::from_micros(v);
        let s: Vec<Duration> = (1..=200).rev().map(us).collect();
        let l = Latency::of(&s).unwrap();
        assert_eq!((l.n, l.median, l.p99), (200, us(100), us(198)));
        assert_eq!(Latency::of(&[us(7)]).unwrap().p99, us(7));
        assert!(Latency::of(&[]).is_none());
        assert_eq!(Mode::parse("doorbell"), Ok(Mode::Doorbell));
        assert!(Mode::parse("x").unwrap_err().contains("poll or doorbell"));
    }

    /// Two host clients of one server (in a thread) play both sides:
    /// every message checked, both modes, one time per round trip.
    #[test]
    fn ping_pong_between_two_host_clients() {
        crate::ivshmem_ring::with_two_clients("ring-latency", 1, |mut a, mut b| {
            let (ida, idb) = (a.id(), b.id());
            let shm_a = crate::ivshmem_vm::map_shared(&a).unwrap();
            let shm_b = crate::ivshmem_vm::map_shared(&b).unwrap();
            for mode in [Mode::Polled, Mode::Doorbell] {
                crate::ivshmem_ring::create_slots(&shm_a, &[0, 1]).unwrap();
                let (times, echoed) = std::thread::scope(|s| {
                    let e = s.spawn(|| side(&shm_b, &mut b, ida, 1, 0, 300, mode, false));
                    let t = side(&shm_a, &mut a, idb, 0, 1, 300, mode, true);
                    (t, e.join().unwrap())
                });
                assert_eq!(times.unwrap().len(), 300, "{mode:?}");
                assert!(echoed.unwrap().is_empty());
            }
        });
    }
}
