//! The cost of recording a register read on the host: 32-bit reads of a
//! `Region::anonymous` through a `Recorder` (to a file in the temporary
//! directory, and to `io::sink()`) vs directly, in alternating rounds,
//! medians in ns per read. A benchmark, not a test:
//!
//! `cargo run --release -p io-trace --example record_overhead [ITERS [ROUNDS]]`

use std::hint::black_box;
use std::time::Instant;

use hal_core::{Io, Region};
use io_trace::{RecordOptions, Recorder};

fn ns_per_read(io: &impl Io, iters: u32) -> f64 {
    let t = Instant::now();
    let mut acc = 0u32;
    for i in 0..iters {
        // SAFETY: offsets 0..0x1000 step 4 are in bounds and aligned in the
        // page-aligned 4096-byte region.
        acc = acc.wrapping_add(unsafe { black_box(io).read32((i as usize * 4) % 0x1000) });
    }
    black_box(acc);
    t.elapsed().as_nanos() as f64 / f64::from(iters)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let iters: u32 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let rounds: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(11);
    let path =
        std::env::temp_dir().join(format!("record-overhead-{}.mmiotrace", std::process::id()));
    let to_file = Recorder::create(Region::anonymous(4096)?, &path, RecordOptions::default())?;
    let to_sink = Recorder::new(
        Region::anonymous(4096)?,
        std::io::sink(),
        RecordOptions::default(),
    )?;
    let direct = Region::anonymous(4096)?;
    let (mut f, mut s, mut d) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        f.push(ns_per_read(&to_file, iters));
        s.push(ns_per_read(&to_sink, iters));
        d.push(ns_per_read(&direct, iters));
    }
    to_file.finish()?;
    to_sink.finish()?;
    let bytes = std::fs::metadata(&path)?.len();
    std::fs::remove_file(&path)?;
    let (f, s, d) = (median(f), median(s), median(d));
    println!(
        "recorded_to_file_ns={f:.2} recorded_to_sink_ns={s:.2} direct_ns={d:.3} file_ratio={:.0} sink_ratio={:.0} iters={iters} rounds={rounds} trace_bytes={bytes}",
        f / d,
        s / d
    );
    Ok(())
}
