//! Measures shm-ring throughput through ivshmem-doorbell under TCG (host →
//! guest, guest → host, guest → guest, host → host; 64 B and 4 KiB
//! messages) against plain copies into the shared memory, and doorbell
//! latency host → host (eventfd through `ivshmem::Client`) against a raw
//! eventfd ping-pong. Starts our ivshmem-server and two VMs. Prints a
//! Markdown table. Then (or alone, with the argument `latency`) the
//! message latency host <-> guest, doorbell-driven (MSI-X over VFIO in the
//! guest) against polled, in a VFIO VM (`vm_tests::ring_latency`).
//!
//! `cargo build --release -p vm-tests -p ivshmem --bins && sudo target/release/vm-ring-bench [latency]`

use std::process::ExitCode;
use std::time::{Duration, Instant};

use nix::sys::eventfd::{EfdFlags, EventFd};
use vm_tests::host::run_guest;
use vm_tests::ivshmem_ring::create_slots;
use vm_tests::ivshmem_vm::{boot_on, connect, map_shared, start_server};
use vm_tests::ring_bench::{self, rate};

const T: Duration = Duration::from_secs(900);

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or("?")
}

fn row(what: &str, size: usize, line: &str) {
    println!(
        "| {what} | {size} B | {} | {} |",
        field(line, "msgs_per_s"),
        field(line, "mb_per_s")
    );
}

/// Round trips between two threads through `ring`/`wait` of two clients.
fn client_ping_pong(server: &qemu::IvshmemServer, n: u32) -> Result<Duration, String> {
    let mut a = connect(server)?;
    let b = connect(server)?;
    let (ida, idb) = (a.id(), b.id());
    // `a` learns of `b` (and its eventfds) from the server's notice.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !a.peers().contains(&idb) {
        a.poll_events().map_err(|e| e.to_string())?;
        if Instant::now() > deadline {
            return Err(format!("peer {ida} was not told of peer {idb}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::scope(|s| {
        let echo = s.spawn(move || -> Result<(), String> {
            for _ in 0..n {
                if !b
                    .wait(0, Some(Duration::from_secs(10)))
                    .map_err(|e| e.to_string())?
                {
                    return Err("ping-pong stalled (echo side)".to_string());
                }
                b.ring(ida, 0).map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        let start = Instant::now();
        for _ in 0..n {
            a.ring(idb, 0).map_err(|e| e.to_string())?;
            if !a
                .wait(0, Some(Duration::from_secs(10)))
                .map_err(|e| e.to_string())?
            {
                return Err("ping-pong stalled".to_string());
            }
        }
        let d = start.elapsed();
        echo.join()
            .map_err(|_| "echo thread panicked".to_string())??;
        Ok(d)
    })
}

/// The same with two raw eventfds (blocking read/write, no poll).
fn raw_ping_pong(n: u32) -> Result<Duration, String> {
    let ping = EventFd::from_flags(EfdFlags::EFD_CLOEXEC).map_err(|e| e.to_string())?;
    let pong = EventFd::from_flags(EfdFlags::EFD_CLOEXEC).map_err(|e| e.to_string())?;
    std::thread::scope(|s| {
        let (ping, pong) = (&ping, &pong);
        let echo = s.spawn(move || -> Result<(), String> {
            for _ in 0..n {
                ping.read().map_err(|e| e.to_string())?;
                pong.write(1).map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        let start = Instant::now();
        for _ in 0..n {
            ping.write(1).map_err(|e| e.to_string())?;
            pong.read().map_err(|e| e.to_string())?;
        }
        let d = start.elapsed();
        echo.join()
            .map_err(|_| "echo thread panicked".to_string())??;
        Ok(d)
    })
}

fn bench() -> Result<(), String> {
    let guest = vm_tests::host::sibling_guest_binary()?;
    let server = start_server()?;
    let me = connect(&server)?;
    let shm = map_shared(&me)?;
    eprintln!(
        "booting two VMs with ivshmem-doorbell on {} ...",
        server.socket().display()
    );
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| boot_on(&server, &guest, &[]));
        let b = s.spawn(|| boot_on(&server, &guest, &[]));
        (a.join(), b.join())
    });
    let a = a.map_err(|_| "boot panicked")??;
    let b = b.map_err(|_| "boot panicked")??;
    println!("| stream | message | messages/s | MB/s |");
    println!("|---|---|---|---|");
    for (size, n) in [(64usize, 20_000u64), (4096, 4_000)] {
        // host -> guest
        create_slots(&shm, &[0])?;
        let line = std::thread::scope(|s| {
            let snd = s.spawn(|| ring_bench::send(&shm, 0, n, size));
            let line = run_guest(&a, &format!("ring-bench recv 0 {n} {size}"), T);
            snd.join().map_err(|_| "sender panicked".to_string())??;
            line
        })?;
        row("host → guest (guest polls)", size, &line);
        // guest -> host
        create_slots(&shm, &[1])?;
        let d = std::thread::scope(|s| {
            let snd = s.spawn(|| run_guest(&a, &format!("ring-bench send 1 {n} {size}"), T));
            let d = ring_bench::recv(&shm, 1, n, size, T);
            snd.join().map_err(|_| "sender panicked".to_string())??;
            d
        })?;
        row("guest → host (host polls)", size, &rate(n - 1, size, d));
        // guest -> guest
        create_slots(&shm, &[2])?;
        let line = std::thread::scope(|s| {
            let snd = s.spawn(|| run_guest(&a, &format!("ring-bench send 2 {n} {size}"), T));
            let line = run_guest(&b, &format!("ring-bench recv 2 {n} {size}"), T);
            snd.join().map_err(|_| "sender panicked".to_string())??;
            line
        })?;
        row("guest → guest (two VMs)", size, &line);
        let line = run_guest(&a, &format!("ring-bench copy 7 {n} {size}"), T)?;
        row("plain copy into BAR2 in a guest (the limit)", size, &line);
        // host -> host
        create_slots(&shm, &[3])?;
        let hn = n * 20;
        let d = std::thread::scope(|s| {
            let snd = s.spawn(|| ring_bench::send(&shm, 3, hn, size));
            let d = ring_bench::recv(&shm, 3, hn, size, T);
            snd.join().map_err(|_| "sender panicked".to_string())??;
            d
        })?;
        row("host → host (two threads)", size, &rate(hn - 1, size, d));
        let d = ring_bench::copy(&shm, hn, size)?;
        row(
            "plain copy into the mapping on the host (the limit)",
            size,
            &rate(hn, size, d),
        );
    }
    drop((a, b));
    let n = 20_000;
    let c = client_ping_pong(&server, n)?;
    let r = raw_ping_pong(n)?;
    println!();
    println!("| doorbell round trip, host → host | µs |");
    println!("|---|---|");
    println!(
        "| `Client::ring` + `Client::wait` (eventfd through the ivshmem client, poll + read) | {:.2} |",
        c.as_secs_f64() * 1e6 / f64::from(n)
    );
    println!(
        "| raw eventfd ping-pong (blocking write + read) | {:.2} |",
        r.as_secs_f64() * 1e6 / f64::from(n)
    );
    drop(me);
    server.stop().map_err(|e| e.to_string())?;
    Ok(())
}

/// Message latency host <-> guest, doorbell against polled.
fn latency() -> Result<(), String> {
    let guest = vm_tests::host::sibling_guest_binary()?;
    eprintln!("booting a VFIO VM with ivshmem-doorbell ...");
    println!();
    print!("{}", vm_tests::ring_latency::vfio_table(&guest, 2000, 3)?);
    Ok(())
}

fn main() -> ExitCode {
    let only_latency = std::env::args().nth(1).is_some_and(|a| a == "latency");
    let run = || {
        if only_latency {
            latency()
        } else {
            bench().and_then(|()| latency())
        }
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vm-ring-bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
