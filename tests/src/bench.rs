//! Benchmarks that run inside the guest. Each prints `key=value` pairs.
//!
//! Both sides of every comparison run in the same process, on the same
//! mapping, alternating rounds, and the medians are compared: absolute
//! numbers vary from machine to machine, the ratios are what to read.

use std::fs::File;
use std::hint::black_box;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use device_specs::edu::{self, regs::IRQ_ACK, regs::IRQ_RAISE};
use hal_core::prelude::*;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use pci_sysfs::PciDevice;
use uio_backend::UioDevice;

use crate::guest::{map_bar, Backend};
use crate::{EDU_ID, EDU_IDS, IVSHMEM_IDS};

pub mod vfio;
pub mod vfio_uio;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Typed edu ID reads through the generated API vs raw `read_volatile` on
/// the same mapping, in ns per read.
pub fn read(iters: u32, rounds: u32) -> Result<String, String> {
    let region = map_bar(EDU_IDS, 0, Backend::Uio)?;
    read_on(&region, iters, rounds)
}

/// [`read`] on edu's BAR0 mapped as `region` (by any backend).
fn read_on(region: &hal_core::Region, iters: u32, rounds: u32) -> Result<String, String> {
    let regs = edu::Regs::new(region).map_err(|e| e.to_string())?;
    let (mut typed, mut direct) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        let (t, r) = read_round(region, regs, iters);
        typed.push(t);
        direct.push(r);
    }
    let (t, r) = (median(typed), median(direct));
    Ok(format!(
        "typed_read_ns={t:.2} raw_read_ns={r:.2} ratio={:.3} iters={iters} rounds={rounds}",
        t / r
    ))
}

/// One round of [`read_on`]: `iters` ID reads through `regs` (the
/// generated block over `region`, which `edu::Regs::new` accepted), then
/// `iters` by `read_volatile` on `region`; ns per read of each.
fn read_round(region: &hal_core::Region, regs: edu::Regs<'_>, iters: u32) -> (f64, f64) {
    let typed = ns_per_id_read(regs, iters);
    let raw = region.as_ptr().cast::<u32>();
    let t = Instant::now();
    let mut acc = 0u32;
    for _ in 0..iters {
        // SAFETY: `raw` is the start of edu's 1 MiB BAR0 mapping, which
        // `region` keeps alive and `edu::Regs::new` accepted (the caller's
        // `regs`): it holds the block's 1 MiB and its base address is
        // 8-aligned, so a 4-byte read at offset 0 is in bounds and aligned.
        // `region` is device memory, accessed only with volatile reads.
        acc = acc.wrapping_add(unsafe { black_box(raw).read_volatile() });
    }
    black_box(acc);
    (typed, t.elapsed().as_nanos() as f64 / f64::from(iters))
}

/// Nanoseconds per edu ID read through the generated block over `I`.
fn ns_per_id_read<I: hal_core::Io>(regs: edu::Regs<'_, I>, iters: u32) -> f64 {
    let t = Instant::now();
    let mut acc = 0u32;
    for _ in 0..iters {
        acc = acc.wrapping_add(black_box(regs).id().get());
    }
    black_box(acc);
    t.elapsed().as_nanos() as f64 / f64::from(iters)
}

/// The cost of recording: edu ID reads through the generated block over
/// an [`io_trace::Recorder`] (writing its trace to a file in the guest's
/// RAM file system) vs over the same mapping directly, in ns per read.
pub fn trace(iters: u32, rounds: u32) -> Result<String, String> {
    use io_trace::{RecordOptions, Recorder};
    let region = map_bar(EDU_IDS, 0, Backend::Uio)?;
    let path = "/tmp/bench-trace.mmiotrace";
    let rec =
        Recorder::create(region, path, RecordOptions::default()).map_err(|e| e.to_string())?;
    let traced = edu::Regs::new(&rec).map_err(|e| e.to_string())?;
    let direct = edu::Regs::new(rec.inner()).map_err(|e| e.to_string())?;
    let (mut t, mut d) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        t.push(ns_per_id_read(traced, iters));
        d.push(ns_per_id_read(direct, iters));
    }
    let lines = rec.accesses();
    rec.finish().map_err(|e| e.to_string())?;
    let bytes = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    std::fs::remove_file(path).map_err(|e| e.to_string())?;
    // What one timestamp costs here (the recorder takes one per access).
    let start = Instant::now();
    for _ in 0..iters {
        black_box(Instant::now());
    }
    let clock = start.elapsed().as_nanos() as f64 / f64::from(iters);
    let (t, d) = (median(t), median(d));
    Ok(format!(
        "traced_read_ns={t:.2} direct_read_ns={d:.2} ratio={:.2} clock_read_ns={clock:.2} iters={iters} rounds={rounds} recorded={lines} trace_bytes={bytes}",
        t / d
    ))
}

/// edu interrupt round trips (raise → wake → ack → re-enable) through
/// uio-backend vs a raw loop of direct syscalls, in µs per round trip.
pub fn irq(n: u32, rounds: u32) -> Result<String, String> {
    let dev = UioDevice::find_by_pci_id(EDU_ID.0, EDU_ID.1).map_err(|e| e.to_string())?;
    let region = dev.map(0).map_err(|e| e.to_string())?;
    let regs = edu::Regs::new(&region).map_err(|e| e.to_string())?;
    let irq = uio_irq_ready(&dev, regs)?;

    // The raw side: its own fd on /dev/uioN and on the config file.
    let uio = File::options()
        .read(true)
        .write(true)
        .open(dev.info().devnode())
        .map_err(|e| e.to_string())?;
    let pci = PciDevice::find_by_id(EDU_ID.0, EDU_ID.1).map_err(|e| e.to_string())?;
    let config = File::options()
        .read(true)
        .write(true)
        .open(pci.config_path())
        .map_err(|e| e.to_string())?;
    let base = region.as_ptr();

    let (mut lib, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        lib.push(uio_irq_round(regs, &irq, n)?);

        let t = Instant::now();
        for i in 0..n {
            // SAFETY: `base` maps edu's 1 MiB BAR0 (kept alive by `region`,
            // which `edu::Regs::new` accepted: 1 MiB long, base 8-aligned);
            // offsets 0x60 and 0x64 are in bounds and their addresses 4-aligned.
            unsafe { base.add(0x60).cast::<u32>().write_volatile(1) };
            let mut fds = [PollFd::new(uio.as_fd(), PollFlags::POLLIN)];
            let ready = poll(&mut fds, PollTimeout::from(2000u16)).map_err(|e| e.to_string())?;
            if ready != 1 {
                return Err(format!("raw round trip {i}: poll returned {ready}"));
            }
            let mut count = [0u8; 4];
            (&uio)
                .read_exact(&mut count)
                .map_err(|e| format!("raw read: {e}"))?;
            // SAFETY: as above.
            unsafe { base.add(0x64).cast::<u32>().write_volatile(1) };
            let mut cmd_hi = [0u8; 1];
            config
                .read_exact_at(&mut cmd_hi, 5)
                .map_err(|e| e.to_string())?;
            config
                .write_all_at(&[cmd_hi[0] & !0x04], 5)
                .map_err(|e| e.to_string())?;
        }
        raw.push(t.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    // The raw loop consumed events the library's fd has not seen yet.
    let _ = irq.try_wait(Some(Duration::ZERO));
    let (l, r) = (median(lib), median(raw));
    Ok(format!(
        "lib_irq_us={l:.2} raw_irq_us={r:.2} ratio={:.3} n={n} rounds={rounds}",
        l / r
    ))
}

/// edu's interrupt on `dev` (UIO, INTx) acquired and enabled, with any
/// stale interrupt status in `regs` (its BAR0) acknowledged first.
fn uio_irq_ready(dev: &UioDevice, regs: edu::Regs<'_>) -> Result<uio_backend::Irq, String> {
    let pending = regs.irq_status().get();
    if pending != 0 {
        regs.irq_ack().set(pending);
    }
    let irq = dev.irq().map_err(|e| e.to_string())?;
    irq.enable().map_err(|e| e.to_string())?;
    Ok(irq)
}

/// One round of `n` edu interrupt round trips through uio-backend (raise →
/// wake → ack → re-enable through config space), in µs per round trip.
fn uio_irq_round(regs: edu::Regs<'_>, irq: &uio_backend::Irq, n: u32) -> Result<f64, String> {
    let t = Instant::now();
    for i in 0..n {
        regs.irq_raise().write(IRQ_RAISE::FACT::SET);
        irq.wait(Duration::from_secs(2))
            .map_err(|e| format!("library round trip {i}: {e}"))?;
        regs.irq_ack().write(IRQ_ACK::FACT::SET);
        irq.enable().map_err(|e| e.to_string())?;
    }
    Ok(t.elapsed().as_secs_f64() * 1e6 / f64::from(n))
}

fn time_command(program: &str, args: &[&str], want: Option<&str>) -> Result<f64, String> {
    let t = Instant::now();
    let out = std::process::Command::new(program)
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("running {program}: {e}"))?;
    let took = t.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!("{program} {args:?} failed: {}", out.status));
    }
    if let Some(w) = want {
        let got = String::from_utf8_lossy(&out.stdout);
        if !got.trim().eq_ignore_ascii_case(w) {
            return Err(format!("{program} {args:?} printed {got:?}, expected {w}"));
        }
    }
    Ok(took)
}

/// `regpoke --spec edu read ID` (and the same given the address, and a raw
/// read with no spec) vs `busybox devmem BAR0 32`, one process per read
/// (medians of `single` alternating runs, in ms), and `batch`
/// reads through one `regpoke batch` vs `batch` devmem invocations (total
/// seconds).
pub fn regpoke(regpoke: &str, single: u32, batch: u32) -> Result<String, String> {
    let pci = PciDevice::find_by_id(EDU_ID.0, EDU_ID.1).map_err(|e| e.to_string())?;
    let bar0 = pci.bar(0).ok_or("edu has no BAR0")?.start;
    let addr = format!("{bar0:#x}");
    let (mut ours, mut explicit, mut raw, mut theirs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let id = Some("0x010000ed");
    let auto = ["--spec", "edu", "read", "ID"];
    let direct = ["--spec", "edu", "--devmem", &addr, "read", "ID"];
    let no_spec = ["--devmem", &addr, "read", "0x0", "--width", "32"];
    for _ in 0..single.max(1) {
        ours.push(time_command(regpoke, &auto, id)? * 1e3);
        explicit.push(time_command(regpoke, &direct, id)? * 1e3);
        raw.push(time_command(regpoke, &no_spec, id)? * 1e3);
        theirs.push(time_command("busybox", &["devmem", &addr, "32"], id)? * 1e3);
    }
    let (o, e, r, t) = (median(ours), median(explicit), median(raw), median(theirs));

    let script = "/tmp/bench-reads.rp";
    std::fs::write(script, "read ID\n".repeat(batch as usize)).map_err(|e| e.to_string())?;
    let batch_s = time_command(regpoke, &["--spec", "edu", "batch", script], None)?;
    let start = Instant::now();
    for _ in 0..batch {
        time_command("busybox", &["devmem", &addr, "32"], None)?;
    }
    let devmem_s = start.elapsed().as_secs_f64();
    Ok(format!(
        "regpoke_read_ms={o:.2} regpoke_devmem_read_ms={e:.2} regpoke_raw_read_ms={r:.2} devmem_read_ms={t:.2} \
         single_ratio={:.2} explicit_ratio={:.2} raw_ratio={:.2} single_runs={single} \
         regpoke_batch_s={batch_s:.3} devmem_loop_s={devmem_s:.3} batch_ratio={:.4} batch_reads={batch}",
        o / t,
        e / t,
        r / t,
        batch_s / devmem_s
    ))
}

/// Bulk copies of `len` bytes into and out of ivshmem's shared memory
/// (BAR2, mapped through sysfs `resource2`): `Io::write_from` /
/// `Io::read_into` (widest aligned accesses) vs a byte loop of
/// `write8`/`read8` (what `Region::write_bytes`/`read_bytes` did before)
/// vs a plain loop of 64-bit volatile accesses through a raw pointer (the
/// limit), in µs per copy (medians of `rounds` alternating rounds).
pub fn copy(len: usize, rounds: u32) -> Result<String, String> {
    use hal_core::Io;

    let region = map_bar(IVSHMEM_IDS, 2, Backend::Sysfs)?;
    if len == 0 || !len.is_multiple_of(8) || len > region.len() {
        return Err(format!(
            "the copy length must be a non-zero multiple of 8 of at most {:#x} bytes (BAR2), not {len}",
            region.len()
        ));
    }
    if !region.base_addr().is_multiple_of(8) {
        return Err("BAR2's mapping is not 8-aligned".into());
    }
    let data = crate::pattern(0xc0ff_ee00, len);
    let mut back = vec![0u8; len];
    let raw = region.as_ptr().cast::<u64>();
    let words = len / 8;
    let us = |t: Instant| t.elapsed().as_nanos() as f64 / 1e3;
    let mut m: [Vec<f64>; 6] = Default::default();
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        region
            .write_from(0, black_box(&data))
            .map_err(|e| e.to_string())?;
        m[0].push(us(t));

        let t = Instant::now();
        for (i, b) in black_box(&data).iter().enumerate() {
            // SAFETY: i < len <= region.len(), and a byte access is always
            // aligned.
            unsafe { region.write8(i, *b) };
        }
        m[1].push(us(t));

        let t = Instant::now();
        for (i, chunk) in black_box(&data).chunks_exact(8).enumerate() {
            let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            // SAFETY: i < len / 8 words, so the 8 bytes at raw + i lie in
            // BAR2's mapping, which `region` keeps alive; its base is
            // 8-aligned (checked above). Nothing else in this process
            // touches the mapping meanwhile.
            unsafe { raw.add(i).write_volatile(v) };
        }
        m[2].push(us(t));

        let t = Instant::now();
        region
            .read_into(0, black_box(&mut back))
            .map_err(|e| e.to_string())?;
        m[3].push(us(t));

        let t = Instant::now();
        for (i, b) in black_box(&mut back).iter_mut().enumerate() {
            // SAFETY: as for the byte writes.
            *b = unsafe { region.read8(i) };
        }
        m[4].push(us(t));

        let t = Instant::now();
        for (i, chunk) in black_box(&mut back).chunks_exact_mut(8).enumerate() {
            // SAFETY: as for the raw writes.
            let v = unsafe { raw.add(i).read_volatile() };
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        m[5].push(us(t));
    }
    if back != data {
        return Err("the bytes read back differ from those written".into());
    }
    let [ww, wb, wr, rw, rb, rr] = m.map(median);
    Ok(format!(
        "copy_len={len} words={words} rounds={rounds} \
         write_wide_us={ww:.1} write_bytes_us={wb:.1} write_raw_us={wr:.1} \
         write_bytes_over_wide={:.2} write_wide_over_raw={:.3} \
         read_wide_us={rw:.1} read_bytes_us={rb:.1} read_raw_us={rr:.1} \
         read_bytes_over_wide={:.2} read_wide_over_raw={:.3}",
        wb / ww,
        ww / wr,
        rb / rw,
        rw / rr
    ))
}

/// edu DMA round trips (4095 bytes, RAM → device → RAM) through the edu
/// driver, `n` polled and `n` by interrupt in alternation: the median
/// leg latency (dominated by edu's 100 ms timer under TCG) and the
/// median driver overhead per leg (the leg's time outside the wait:
/// guards excluded, register programming, fences, acknowledging).
pub fn dma(n: u32) -> Result<String, String> {
    let edu = edu_driver::EduDevice::open_auto().map_err(|e| e.to_string())?;
    dma_with(&edu, n)
}

/// [`dma`] through any opened edu (over UIO or VFIO).
fn dma_with(edu: &impl edu_driver::OwnedEdu, n: u32) -> Result<String, String> {
    let data = dma_data();
    let mut trips = DmaTrips::default();
    for _ in 0..n.max(1) {
        trips.round(edu, &data)?;
    }
    Ok(format!(
        "{} dma_len={} dma_trips={n}",
        trips.summary(),
        data.len()
    ))
}

/// The bytes each benchmark DMA round trip carries (edu's largest
/// transfer, 4095 bytes).
fn dma_data() -> Vec<u8> {
    crate::pattern(0xbe7c, edu_driver::guard::MAX_TRANSFER)
}

/// DMA round trips through one edu, polled and by interrupt.
#[derive(Default)]
struct DmaTrips {
    poll: Vec<edu_driver::RoundTrip>,
    irq: Vec<edu_driver::RoundTrip>,
}

impl DmaTrips {
    /// One polled round trip of `data`, then one by interrupt.
    fn round(&mut self, edu: &impl edu_driver::OwnedEdu, data: &[u8]) -> Result<(), String> {
        use edu_driver::Wait;
        self.poll.push(
            edu.dma_round_trip(data, Wait::Poll)
                .map_err(|e| e.to_string())?,
        );
        self.irq.push(
            edu.dma_round_trip(data, Wait::Interrupt)
                .map_err(|e| e.to_string())?,
        );
        Ok(())
    }

    /// The medians as `key=value` pairs: leg latency (dominated by edu's
    /// 100 ms timer under TCG), driver overhead per leg (the leg's time
    /// outside the wait) and whole round trip, polled and by interrupt.
    fn summary(&self) -> String {
        let stats = |t: &[edu_driver::RoundTrip]| {
            let legs = || t.iter().flat_map(|r| [r.to_device, r.to_ram]);
            (
                median(legs().map(|l| l.total.as_secs_f64() * 1e3).collect()),
                median(legs().map(|l| l.overhead().as_secs_f64() * 1e6).collect()),
                median(t.iter().map(|r| r.total.as_secs_f64() * 1e3).collect()),
            )
        };
        let (pl, po, pt) = stats(&self.poll);
        let (il, io, it) = stats(&self.irq);
        format!(
            "dma_poll_leg_ms={pl:.2} dma_irq_leg_ms={il:.2} dma_poll_overhead_us={po:.1} dma_irq_overhead_us={io:.1} dma_poll_trip_ms={pt:.2} dma_irq_trip_ms={it:.2}"
        )
    }
}
