//! Benchmarks inside one VM: typed vs raw MMIO reads, uio-backend vs
//! raw-syscall interrupt round trips, a register read through an io-trace
//! recorder, regpoke vs busybox devmem, bulk copies into ivshmem BAR2, and
//! the edu driver's DMA round trips polled vs by interrupt; then VFIO vs
//! UIO in a second VM (q35, intel-iommu, `iommu=pt`, two edu devices: one
//! bound to vfio-pci, one to uio_pci_generic, measured in interleaved
//! rounds): interrupt round trips, register reads and DMA round trips;
//! then the message latency host <-> guest over ivshmem-doorbell, doorbell
//! (MSI-X over VFIO) vs polled, in a third VM. Prints Markdown tables.
//! `BENCH_ONLY=copy,dma` (a comma-separated list of read, irq, trace,
//! regpoke, copy, dma, vfio, latency) runs only those.
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

/// The benchmarks `BENCH_ONLY` selects (a comma-separated list of
/// [`BENCHES`]); all of them when it is unset.
fn selected(name: &str) -> bool {
    std::env::var("BENCH_ONLY")
        .map(|only| only.split(',').any(|o| o.trim() == name))
        .unwrap_or(true)
}

/// The benchmarks, as `BENCH_ONLY` names them.
const BENCHES: [&str; 8] = [
    "read", "irq", "trace", "regpoke", "copy", "dma", "vfio", "latency",
];

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
        vfio_benches(vfio_uio_config(&guest), &mut raw)?;
    }
    if selected("latency") {
        eprintln!("booting a VFIO VM with ivshmem-doorbell for the message latency ...");
        let table = vm_tests::ring_latency::vfio_table(&guest, 2000, 3)?;
        println!("\nMessage latency host <-> guest, one 16-byte message ping-pong:\n\n{table}");
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

/// The VM of the `vfio` benchmark: q35 with an emulated intel-iommu and two
/// edu devices, left unbound at boot (the guest binds the first to
/// vfio-pci, the second to uio_pci_generic); `iommu=pt` gives devices
/// outside VFIO an identity IOMMU domain, so edu over UIO can DMA to the
/// physical addresses its driver finds in pagemap. For benchmarks only: the
/// VFIO test cases' VM keeps translation for every device.
fn vfio_uio_config(guest: &std::path::Path) -> qemu::VmConfig {
    host::config(guest)
        .vfio(true)
        .bind_uio(false)
        .ivshmem(false)
        .kernel_arg("iommu=pt")
        .qemu_args(["-device", "edu,dma_mask=0xffffffffffffffff"])
}

/// The guest command of the `vfio` benchmark: 2000 interrupt round trips
/// and 200000 register reads per round, 11 rounds, 10 DMA rounds.
const VFIO_UIO_COMMAND: &str = "bench-vfio-uio 2000 200000 11 10";

/// VFIO against UIO in one VM (see [`vfio_uio_config`]), interleaved in
/// the guest; the table, then the evidence that both register reads are
/// the same instruction on the same kind of mapping.
fn vfio_benches(config: qemu::VmConfig, raw: &mut Vec<String>) -> Result<(), String> {
    let vm = qemu::Vm::boot(config).map_err(|e| e.to_string())?;
    println!("\nVFIO + UIO VM booted in {:?}\n", vm.boot_time());
    let out = run_guest(&vm, VFIO_UIO_COMMAND, Duration::from_secs(900))?;
    let out = out.trim().to_string();
    print!("{}", vfio_uio_table(&out));
    println!(
        "\nBoth BAR0 maps are a `hal_core::Region`: kind {} over VFIO ({}), kind {} over UIO ({}); \
         both read by the same `read_round` (generated `id().get()`, then `read_volatile`), \
         whose generated read is one 32-bit `mov` (`device-specs/tests/single_access.rs` checks \
         the release assembly of `examples/asm_probe.rs`: one load or store of the declared width \
         at the register's offset, nothing else but the base-pointer load).",
        field(&out, "vfio_kind"),
        field(&out, "vfio_edu"),
        field(&out, "uio_kind"),
        field(&out, "uio_edu"),
    );
    raw.push(out);
    Ok(())
}

/// The VFIO | UIO | VFIO/UIO table of `bench-vfio-uio`'s output.
fn vfio_uio_table(out: &str) -> String {
    let mut t = format!(
        "| measurement (edu, one VM, interleaved rounds, medians) | VFIO ({}) | UIO ({}) | VFIO / UIO |\n|---|---|---|---|\n",
        field(out, "vfio_edu"),
        field(out, "uio_edu")
    );
    for (what, key) in [
        (
            "interrupt round trip, raise → wake → ack (µs): MSI on the VFIO eventfd vs INTx through UIO (+ re-enable)",
            ["vfio_msi_irq_us", "uio_intx_irq_us"],
        ),
        (
            "ID register read through the generated block (ns/op)",
            ["vfio_typed_read_ns", "uio_typed_read_ns"],
        ),
        (
            "ID register read by `read_volatile` on the same mapping (ns/op)",
            ["vfio_raw_read_ns", "uio_raw_read_ns"],
        ),
        (
            "4095-byte DMA round trip, driver overhead per leg, polled (µs)",
            ["vfio_dma_poll_overhead_us", "uio_dma_poll_overhead_us"],
        ),
        (
            "4095-byte DMA round trip, driver overhead per leg, by interrupt (µs)",
            ["vfio_dma_irq_overhead_us", "uio_dma_irq_overhead_us"],
        ),
        (
            "4095-byte DMA, one leg by interrupt (ms; edu's 100 ms timer)",
            ["vfio_dma_irq_leg_ms", "uio_dma_irq_leg_ms"],
        ),
        (
            "4095-byte DMA, whole round trip by interrupt (ms)",
            ["vfio_dma_irq_trip_ms", "uio_dma_irq_trip_ms"],
        ),
    ] {
        let [v, u] = key.map(|k| field(out, k));
        t.push_str(&format!("| {what} | {v} | {u} | {} |\n", ratio(v, u)));
    }
    t
}

/// `num / den` to three decimals, or `?` when either is not a number or
/// `den` is not positive.
fn ratio(num: &str, den: &str) -> String {
    match (num.parse::<f64>(), den.parse::<f64>()) {
        (Ok(n), Ok(d)) if d > 0.0 => format!("{:.3}", n / d),
        _ => "?".into(),
    }
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
        println!("| {what} ({unit}) | {p} | {i} | {} |", ratio(i, p));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_divides_numbers_and_marks_the_rest() {
        assert_eq!(ratio("3", "2"), "1.500");
        assert_eq!(ratio("1", "0"), "?");
        assert_eq!(ratio("?", "2"), "?");
        assert_eq!(ratio("1", "not run"), "?");
    }

    #[test]
    fn vfio_uio_table_has_a_row_per_measurement_with_its_ratio() {
        let out = "vfio_edu=0000:00:03.0 uio_edu=0000:00:04.0 vfio_msi_irq_us=10.00 \
                   uio_intx_irq_us=20.00 vfio_typed_read_ns=30.00 uio_typed_read_ns=30.00";
        let t = vfio_uio_table(out);
        assert!(
            t.contains("| VFIO (0000:00:03.0) | UIO (0000:00:04.0) |"),
            "{t}"
        );
        assert!(t.contains("| 10.00 | 20.00 | 0.500 |"), "{t}");
        assert!(t.contains("| 30.00 | 30.00 | 1.000 |"), "{t}");
        // Keys the output lacks show as `?`, ratio included.
        assert!(t.contains("| ? | ? | ? |"), "{t}");
        assert_eq!(t.lines().count(), 2 + 7);
    }
}
