//! Benchmarks inside one VM: typed vs raw MMIO reads, uio-backend vs
//! raw-syscall interrupt round trips, a register read through an io-trace
//! recorder, regpoke vs busybox devmem, bulk copies into ivshmem BAR2, and
//! the edu driver's DMA round trips polled vs by interrupt; then, in a
//! second VM (q35, intel-iommu, edu bound to vfio-pci), the same device
//! through VFIO: MSI round trips, DMA round trips and register reads, next
//! to the UIO numbers of the first VM. Prints Markdown tables.
//! `BENCH_ONLY=copy,dma` (a comma-separated list of read, irq, trace,
//! regpoke, copy, dma, vfio) runs only those; `vfio` takes its UIO column
//! from `irq`, `dma` and `read` when they run too.
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
/// `irq`, `trace`, `regpoke`, `copy`, `dma`, `vfio`); all of them when it
/// is unset.
fn selected(name: &str) -> bool {
    std::env::var("BENCH_ONLY")
        .map(|only| only.split(',').any(|o| o.trim() == name))
        .unwrap_or(true)
}

/// The benchmarks, as `BENCH_ONLY` names them.
const BENCHES: [&str; 7] = ["read", "irq", "trace", "regpoke", "copy", "dma", "vfio"];

fn bench() -> Result<(), String> {
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        if let Some(bad) = only
            .split(',')
            .map(str::trim)
            .find(|o| !BENCHES.contains(o))
        {
            return Err(format!(
                "BENCH_ONLY names `{bad}`: use a comma-separated list of {}",
                BENCHES.join(", ")
            ));
        }
    }
    let guest = host::sibling_guest_binary()?;
    let mut config = host::config(&guest);
    let uio_selected = BENCHES[..6].iter().any(|b| selected(b));
    if selected("regpoke") {
        eprintln!("building regpoke for the guest (static, non-PIE) ...");
        let regpoke = host::build_guest_regpoke()?;
        config = config.binary(&regpoke, host::GUEST_REGPOKE);
    }
    let mut raw = Vec::new();
    if uio_selected {
        uio_benches(config, &mut raw)?;
    }
    if selected("vfio") {
        let vfio = host::config(&guest)
            .vfio(true)
            .bind_uio(false)
            .ivshmem(false);
        vfio_benches(vfio, &mut raw)?;
    }
    println!("\nraw output:\n  {}", raw.join("\n  "));
    Ok(())
}

/// The benchmarks of the UIO VM; their outputs appended to `raw`.
fn uio_benches(config: qemu::VmConfig, raw: &mut Vec<String>) -> Result<(), String> {
    let vm = qemu::Vm::boot(config).map_err(|e| e.to_string())?;
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
    Ok(())
}

/// The VFIO benchmarks in the VFIO VM, printed next to the UIO numbers
/// found in `raw` (from the UIO VM of this run).
fn vfio_benches(config: qemu::VmConfig, raw: &mut Vec<String>) -> Result<(), String> {
    let uio = |key: &str| {
        raw.iter()
            .map(|l| field(l, key))
            .find(|v| *v != "?")
            .unwrap_or("not run")
            .to_string()
    };
    let uio_irq = uio("lib_irq_us");
    let uio_read = ["typed_read_ns", "raw_read_ns"].map(uio);
    // `ratio` is a key of more than one benchmark: the read's own line.
    let uio_read_ratio = raw
        .iter()
        .find(|l| l.starts_with("typed_read_ns="))
        .map_or("not run", |l| field(l, "ratio"))
        .to_string();
    let uio_dma: Vec<String> = [
        "dma_irq_overhead_us",
        "dma_poll_overhead_us",
        "dma_irq_leg_ms",
    ]
    .map(uio)
    .to_vec();
    let vm = qemu::Vm::boot(config).map_err(|e| e.to_string())?;
    println!("\nVFIO VM booted in {:?}\n", vm.boot_time());
    let mut run = |command: &str| -> Result<String, String> {
        let out = run_guest(&vm, command, Duration::from_secs(600))?;
        let out = out.trim().to_string();
        raw.push(out.clone());
        Ok(out)
    };
    let irq = run("bench-vfio-irq 2000 5")?;
    let read = run("bench-vfio-read 200000 11")?;
    let dma = run("bench-vfio-dma 10")?;
    println!("| measurement (edu) | VFIO | UIO | VFIO / UIO |");
    println!("|---|---|---|---|");
    let row = |what: &str, vfio: &str, uio: &str| {
        let ratio = match (vfio.parse::<f64>(), uio.parse::<f64>()) {
            (Ok(v), Ok(u)) if u > 0.0 => format!("{:.3}", v / u),
            _ => "?".into(),
        };
        println!("| {what} | {vfio} | {uio} | {ratio} |");
    };
    row(
        "interrupt round trip, raise → wake → ack (µs): MSI on a VFIO eventfd vs INTx through UIO (+ re-enable)",
        field(&irq, "vfio_msi_irq_us"),
        &uio_irq,
    );
    row(
        "4095-byte DMA, driver overhead per leg, by interrupt (µs)",
        field(&dma, "vfio_dma_irq_overhead_us"),
        &uio_dma[0],
    );
    row(
        "4095-byte DMA, driver overhead per leg, polled (µs)",
        field(&dma, "vfio_dma_poll_overhead_us"),
        &uio_dma[1],
    );
    row(
        "4095-byte DMA, one leg by interrupt (ms; edu's 100 ms timer)",
        field(&dma, "vfio_dma_irq_leg_ms"),
        &uio_dma[2],
    );
    row(
        "ID register read through the generated block (ns/op; each VM's own BAR0 mapping)",
        field(&read, "vfio_typed_read_ns"),
        &uio_read[0],
    );
    row(
        "ID register read by `read_volatile` on the same mapping (ns/op)",
        field(&read, "vfio_raw_read_ns"),
        &uio_read[1],
    );
    println!(
        "\nGenerated block vs `read_volatile`: {} over VFIO, {} over UIO (the VFIO BAR is a `hal_core::Region` of kind {}, as a UIO map is)",
        field(&read, "vfio_ratio"),
        uio_read_ratio,
        field(&read, "vfio_kind"),
    );
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
