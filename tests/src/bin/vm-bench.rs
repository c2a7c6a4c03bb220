//! Benchmarks inside one VM: typed vs raw MMIO reads, uio-backend vs
//! raw-syscall interrupt round trips, regpoke vs busybox devmem, and the
//! edu driver's DMA round trips polled vs by interrupt. Prints a Markdown
//! table.
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

fn bench() -> Result<(), String> {
    let guest = host::sibling_guest_binary()?;
    eprintln!("building regpoke for the guest (static, non-PIE) ...");
    let regpoke = host::build_guest_regpoke()?;
    let vm = qemu::Vm::boot(host::config(&guest).binary(&regpoke, host::GUEST_REGPOKE))
        .map_err(|e| e.to_string())?;
    let read = run_guest(&vm, "bench-read 200000 11", Duration::from_secs(300))?;
    let irq = run_guest(&vm, "bench-irq 2000 5", Duration::from_secs(300))?;
    let reads: u32 = std::env::var("BENCH_BATCH_READS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rp = run_guest(
        &vm,
        &format!("bench-regpoke {} 101 {reads}", host::GUEST_REGPOKE),
        Duration::from_secs(1800),
    )?;
    let dma = run_guest(&vm, "bench-dma 10", Duration::from_secs(300))?;
    let (read, irq, rp, dma) = (read.trim(), irq.trim(), rp.trim(), dma.trim());
    println!("VM booted in {:?}\n", vm.boot_time());
    println!("| measurement | ours | raw | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| edu ID register read (ns/op) | {} | {} | {} |",
        field(read, "typed_read_ns"),
        field(read, "raw_read_ns"),
        field(read, "ratio")
    );
    println!(
        "| edu interrupt round trip (µs) | {} | {} | {} |",
        field(irq, "lib_irq_us"),
        field(irq, "raw_irq_us"),
        field(irq, "ratio")
    );
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
    println!("\nraw output:\n  {read}\n  {irq}\n  {rp}\n  {dma}");
    Ok(())
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
