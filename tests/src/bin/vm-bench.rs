//! Benchmarks inside one VM: typed vs raw MMIO reads, and uio-backend vs
//! raw-syscall interrupt round trips. Prints a Markdown table.
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
    let vm = host::boot(&guest).map_err(|e| e.to_string())?;
    let read = run_guest(&vm, "bench-read 200000 11", Duration::from_secs(300))?;
    let irq = run_guest(&vm, "bench-irq 2000 5", Duration::from_secs(300))?;
    let (read, irq) = (read.trim(), irq.trim());
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
    println!("\nraw output:\n  {read}\n  {irq}");
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
