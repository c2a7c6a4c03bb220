//! Ring throughput between two host processes against a plain copy into the
//! same shared mapping.
//!
//! ```sh
//! cargo run --release -p shm-ring --example ring_bench -- [--rounds N] [--mib M]
//! ```
//!
//! The program maps a memfd `MAP_SHARED` with two rings ([`pair_layout`],
//! 256 KiB each), starts itself again as the consumer (the memfd is
//! inherited), and for 64-byte and 4 KiB messages measures, in alternating
//! rounds (median of `--rounds`, default 7):
//!
//! * **ring**: the producer sends `M` MiB (default 256) of messages, the
//!   consumer (the other process, on the other core) receives each into a
//!   `Vec` and, after the last, acknowledges through the second ring; the
//!   time is from the first send to the acknowledgement;
//! * **plain copy**: the producer process copies the same messages with
//!   `Io::write_from` into the same ring's data area, one after another
//!   (wrapping), with no protocol and no consumer: the most the ring could
//!   reach from one producer.
//!
//! It prints messages/s, MB/s (10⁶ bytes) and the ratio ring / copy.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use hal_core::{Io, Region};
use nix::sys::memfd::{memfd_create, MFdFlags};
use shm_ring::{create, pair_layout, Consumer, Layout, Producer, HEADER_SIZE};

const CAPACITY: usize = 256 << 10;
const SHM_LEN: usize = 2 * (HEADER_SIZE + CAPACITY) + 2 * 64;
const SIZES: [usize; 2] = [64, 4096];
const WAIT: Duration = Duration::from_secs(120);

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn map(file: &File) -> Result<Region> {
    Ok(Region::map_shared(file, 0, 0, SHM_LEN, "ring_bench memfd")?)
}

fn send_spin(tx: &mut Producer<&Region>, msg: &[u8]) -> Result<()> {
    while !tx.try_send(msg)? {
        std::hint::spin_loop();
    }
    Ok(())
}

fn recv_wait(rx: &mut Consumer<&Region>, buf: &mut Vec<u8>) -> Result<()> {
    if !rx.recv_timeout(buf, WAIT, Duration::ZERO)? {
        return Err(format!("nothing arrived for {WAIT:?}").into());
    }
    Ok(())
}

fn word(buf: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap())
}

/// The consumer process: for each round, a control message (count, size),
/// then that many messages, then an acknowledgement (count, bytes).
fn consumer(fd: &str) -> Result<()> {
    let file = File::options()
        .read(true)
        .write(true)
        .open(format!("/proc/self/fd/{fd}"))?;
    let shm = map(&file)?;
    let (data, acks) = pair_layout(SHM_LEN);
    let mut rx = Consumer::attach(&shm, data.offset)?;
    let mut tx = Producer::attach(&shm, acks.offset)?;
    let mut buf = Vec::new();
    loop {
        recv_wait(&mut rx, &mut buf)?;
        let (n, size) = (word(&buf, 0), word(&buf, 1) as usize);
        if n == 0 {
            return Ok(());
        }
        let mut bytes = 0u64;
        for _ in 0..n {
            while !rx.try_recv(&mut buf)? {
                std::hint::spin_loop();
            }
            if buf.len() != size {
                return Err(format!("a {}-byte message in a {size}-byte round", buf.len()).into());
            }
            bytes += buf.len() as u64;
        }
        let mut ack = n.to_le_bytes().to_vec();
        ack.extend_from_slice(&bytes.to_le_bytes());
        send_spin(&mut tx, &ack)?;
    }
}

fn control(n: u64, size: usize) -> Vec<u8> {
    let mut c = n.to_le_bytes().to_vec();
    c.extend_from_slice(&(size as u64).to_le_bytes());
    c
}

/// One ring round: `n` messages of `size` bytes to the other process.
fn ring_round(
    tx: &mut Producer<&Region>,
    rx: &mut Consumer<&Region>,
    n: u64,
    size: usize,
) -> Result<Duration> {
    let msg = vec![0xa5u8; size];
    let mut ack = Vec::new();
    send_spin(tx, &control(n, size))?;
    let start = Instant::now();
    for _ in 0..n {
        send_spin(tx, &msg)?;
    }
    recv_wait(rx, &mut ack)?;
    let elapsed = start.elapsed();
    if (word(&ack, 0), word(&ack, 1)) != (n, n * size as u64) {
        return Err("the consumer acknowledged other counts than were sent".into());
    }
    Ok(elapsed)
}

/// One copy round: the same messages copied into the ring's data area.
fn copy_round(shm: &Region, layout: Layout, n: u64, size: usize) -> Result<Duration> {
    let msg = vec![0x5au8; size];
    let data = layout.offset + HEADER_SIZE;
    // Advance by whole records, as the ring does (8-byte header, padding).
    let step = 8 + size.next_multiple_of(8);
    let mut at = 0;
    let start = Instant::now();
    for _ in 0..n {
        if at + size > layout.capacity {
            at = 0;
        }
        shm.write_from(data + at, &msg)?;
        at += step;
    }
    Ok(start.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn producer(rounds: usize, mib: u64) -> Result<()> {
    let fd = memfd_create("ring_bench", MFdFlags::empty())?;
    let file = File::from(fd);
    file.set_len(SHM_LEN as u64)?;
    let shm = map(&file)?;
    let (data, acks) = pair_layout(SHM_LEN);
    create(&shm, data)?;
    create(&shm, acks)?;
    let mut tx = Producer::attach(&shm, data.offset)?;
    let mut rx = Consumer::attach(&shm, acks.offset)?;
    let mut child = Command::new(std::env::current_exe()?)
        .env("RING_BENCH_FD", file.as_raw_fd().to_string())
        .spawn()?;
    println!(
        "ring_bench: two processes, one {} KiB ring each way, {mib} MiB per measurement, \
         median of {rounds} alternating rounds",
        CAPACITY >> 10
    );
    println!(
        "| message | ring (msg/s) | ring (MB/s) | plain copy (msg/s) | plain copy (MB/s) | ring / copy |"
    );
    println!("|---|---|---|---|---|---|");
    let result = (|| -> Result<()> {
        for size in SIZES {
            let n = (mib << 20) / size as u64;
            // Warm up both (page faults, caches, the other process).
            ring_round(&mut tx, &mut rx, n / 8, size)?;
            copy_round(&shm, data, n / 8, size)?;
            let (mut ring, mut copy) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                ring.push(ring_round(&mut tx, &mut rx, n, size)?);
                copy.push(copy_round(&shm, data, n, size)?);
            }
            let (ring, copy) = (median(ring), median(copy));
            let rate = |d: Duration| n as f64 / d.as_secs_f64();
            let mbs = |d: Duration| (n * size as u64) as f64 / d.as_secs_f64() / 1e6;
            println!(
                "| {size} B | {:.3e} | {:.0} | {:.3e} | {:.0} | **{:.3}** |",
                rate(ring),
                mbs(ring),
                rate(copy),
                mbs(copy),
                mbs(ring) / mbs(copy)
            );
        }
        send_spin(&mut tx, &control(0, 0))
    })();
    if result.is_err() {
        let _ = child.kill();
    }
    let status = child.wait()?;
    result?;
    if !status.success() {
        return Err(format!("the consumer process failed: {status}").into());
    }
    Ok(())
}

const USAGE: &str = "usage: ring_bench [--rounds N] [--mib M]\n\
    Ring throughput between two processes (64 B and 4 KiB messages) against a plain\n\
    copy into the same shared mapping. --rounds: alternating rounds, the median is\n\
    reported (default 7); --mib: MiB of messages per measurement (default 256).";

fn parse(args: &[String]) -> std::result::Result<(usize, u64), String> {
    let (mut rounds, mut mib) = (7usize, 256u64);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .and_then(|v| v.parse().ok().filter(|&v: &u64| v > 0))
                .ok_or_else(|| format!("{name} needs a positive number\n{USAGE}"))
        };
        match arg.as_str() {
            "--rounds" => rounds = value("--rounds")? as usize,
            "--mib" => mib = value("--mib")?,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok((rounds, mib))
}

fn main() -> ExitCode {
    let result = match std::env::var("RING_BENCH_FD") {
        Ok(fd) => consumer(&fd).map_err(|e| format!("ring_bench (consumer): {e}")),
        Err(_) => {
            let args: Vec<String> = std::env::args().skip(1).collect();
            if args.iter().any(|a| a == "-h" || a == "--help") {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            parse(&args).and_then(|(rounds, mib)| {
                producer(rounds, mib).map_err(|e| format!("ring_bench: {e}"))
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
