//! Benchmarks inside one VM: typed vs raw MMIO reads, uio-backend vs
//! raw-syscall interrupt round trips, a register read through an io-trace
//! recorder, regpoke vs busybox devmem, bulk copies into ivshmem BAR2, and
//! the edu driver's DMA round trips polled vs by interrupt. Prints Markdown
//! tables. `BENCH_ONLY=copy,dma` (a comma-separated list of read, irq,
//! trace, regpoke, copy, dma) runs only those.
//!
//! `cargo build --release -p vm-tests --bins && sudo target/release/vm-bench`

use std::process::ExitCode;
use std::time::Duration;

use vm_tests::host::{self, run_guest};

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or("?")
}

/// The benchmarks `BENCH_ONLY` selects (a comma-separated list of `read`,
/// `irq`, `trace`, `regpoke`, `copy`, `dma`); all of them when it is unset.
fn selected(name: &str) -> bool {
    std::env::var("BENCH_ONLY")
        .map(|only| only.split(',').any(|o| o.trim() == name))
        .unwrap_or(true)
}

fn bench() -> Result<(), String> {
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        if let Some(bad) = only
            .split(',')
            .map(str::trim)
            .find(|o| !["read", "irq", "trace", "regpoke", "copy", "dma"].contains(o))
        {
            return Err(format!(
                "BENCH_ONLY names `{bad}`: use a comma-separated list of read, irq, trace, regpoke, copy, dma"
            ));
        }
    }
    let guest = host::sibling_guest_binary()?;
    let mut config = host::config(&guest);
    if selected("regpoke") {
        eprintln!("building regpoke for the guest (static, non-PIE) ...");
        let regpoke = host::build_guest_regpoke()?;
        config = config.binary(&regpoke, host::GUEST_REGPOKE);
    }
    let vm = qemu::Vm::boot(config).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    println!("VM booted in {:?}\n", vm.boot_time());
    println!("| measurement | ours | raw | ratio |");
    println!("|---|---|---|---|");
    for (name, command, what, keys) in [
        (
            "read",
            "bench-read 200000 11",
            "edu ID register read (ns/op)",
            ["typed_read_ns", "raw_read_ns", "ratio"],
        ),
        (
            "irq",
            "bench-irq 2000 5",
            "edu interrupt round trip (µs)",
            ["lib_irq_us", "raw_irq_us", "ratio"],
        ),
        (
            "trace",
            "bench-trace 20000 11",
            "edu ID register read through an io-trace `Recorder` (to a file) vs directly (ns/op)",
            ["traced_read_ns", "direct_read_ns", "ratio"],
        ),
    ] {
        if selected(name) {
            let out = run_guest(&vm, command, Duration::from_secs(300))?;
            let out = out.trim().to_string();
            let [ours, theirs, ratio] = keys.map(|k| field(&out, k));
            println!("| {what} | {ours} | {theirs} | {ratio} |");
            raw.push(out);
        }
    }
    if selected("regpoke") {
        let reads: u32 = std::env::var("BENCH_BATCH_READS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        let rp = run_guest(
            &vm,
            &format!("bench-regpoke {} 101 {reads}", host::GUEST_REGPOKE),
            Duration::from_secs(1800),
        )?;
        let rp = rp.trim().to_string();
        print_regpoke(&rp);
        raw.push(rp);
    }
    if selected("copy") {
        let copy = run_guest(&vm, "bench-copy 65536 11", Duration::from_secs(600))?;
        let copy = copy.trim().to_string();
        for dir in ["write", "read"] {
            let f = |k: &str| field(&copy, &format!("{dir}_{k}")).to_string();
            println!(
                "| {} KiB {dir} of ivshmem BAR2: `Io::{}` vs a plain loop of u64 volatile accesses (µs) | {} | {} | {} |",
                field(&copy, "copy_len").parse::<usize>().map_or(0, |l| l / 1024),
                if dir == "write" { "write_from" } else { "read_into" },
                f("wide_us"),
                f("raw_us"),
                f("wide_over_raw")
            );
            println!(
                "| the same {dir}: a byte loop of `{}` (the old `Region::{}_bytes`) vs `Io::{}` (µs) | {} | {} | {} |",
                if dir == "write" { "write8" } else { "read8" },
                dir,
                if dir == "write" { "write_from" } else { "read_into" },
                f("bytes_us"),
                f("wide_us"),
                f("bytes_over_wide")
            );
        }
        raw.push(copy);
    }
    if selected("dma") {
        let dma = run_guest(&vm, "bench-dma 10", Duration::from_secs(300))?;
        let dma = dma.trim().to_string();
        print_dma(&dma);
        raw.push(dma);
    }
    println!("\nraw output:\n  {}", raw.join("\n  "));
    Ok(())
}

fn print_regpoke(rp: &str) {
    println!(
        "| one `regpoke --spec edu read ID` (finds the device itself) vs one `busybox devmem ADDR 32` (ms, median of {}) | {} | {} | {} |",
        field(rp, "single_runs"),
        field(rp, "regpoke_read_ms"),
        field(rp, "devmem_read_ms"),
        field(rp, "single_ratio")
    );
    println!(
        "| one `regpoke --spec edu --devmem ADDR read ID` (given the address, like devmem) vs one `busybox devmem ADDR 32` (ms) | {} | {} | {} |",
        field(rp, "regpoke_devmem_read_ms"),
        field(rp, "devmem_read_ms"),
        field(rp, "explicit_ratio")
    );
    println!(
        "| one `regpoke --devmem ADDR read 0x0 --width 32` (no spec) vs one `busybox devmem ADDR 32` (ms) | {} | {} | {} |",
        field(rp, "regpoke_raw_read_ms"),
        field(rp, "devmem_read_ms"),
        field(rp, "raw_ratio")
    );
    println!(
        "| {} reads: one `regpoke batch` vs as many `busybox devmem` runs (s) | {} | {} | {} |",
        field(rp, "batch_reads"),
        field(rp, "regpoke_batch_s"),
        field(rp, "devmem_loop_s"),
        field(rp, "batch_ratio")
    );
}

/// The edu driver's DMA round trips, polled vs by interrupt.
fn print_dma(dma: &str) {
    println!(
        "\n| edu driver, {}-byte DMA round trips ({} each, alternating) | polled | interrupt | ratio |",
        field(dma, "dma_len"),
        field(dma, "dma_trips")
    );
    println!("|---|---|---|---|");
    for (what, key, unit) in [
        (
            "one leg, first register access to completion seen (edu's 100 ms timer)",
            "leg_ms",
            "ms",
        ),
        (
            "driver overhead per leg (time outside the wait)",
            "overhead_us",
            "µs",
        ),
        (
            "whole round trip (2 legs, buffers, compare)",
            "trip_ms",
            "ms",
        ),
    ] {
        let p = field(dma, &format!("dma_poll_{key}"));
        let i = field(dma, &format!("dma_irq_{key}"));
        let ratio = match (p.parse::<f64>(), i.parse::<f64>()) {
            (Ok(p), Ok(i)) if p > 0.0 => format!("{:.3}", i / p),
            _ => "?".into(),
        };
        println!("| {what} ({unit}) | {p} | {i} | {ratio} |");
    }
}

fn main() -> ExitCode {
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}
