//! ivshmem-doorbell received in guests: the device bound to vfio-pci in
//! the VFIO VM (q35, emulated IOMMU), its MSI-X vectors as eventfds
//! (`ivshmem::guest::GuestDevice`). Guest side (`vm-guest` subcommands)
//! and host side (the VM cases) of: doorbells per vector, and message
//! rings whose receivers sleep on the interrupt instead of polling.

use std::path::Path;
use std::time::{Duration, Instant};

use ivshmem::guest::GuestDevice;
use pci_sysfs::PciDevice;
use qemu::{IvshmemServer, Vm};
use vfio_backend::{IrqKind, VfioDevice};

use crate::host::{self, run_guest};
use crate::ivshmem_ring::{self, exchange, say_line, Plan, SHM_SIZE};
use crate::ivshmem_vm::{self, PeerProcess};

/// Senders pause this long (µs) after each batch (64 messages at most),
/// so that receivers find their rings empty and must sleep: without it a
/// fast sender keeps a slow receiver busy and nothing shows the interrupt.
const PAUSE_US: u32 = 100_000;
/// A slow receiver pauses this long (µs) after each round (256 messages
/// at most), so that its sender finds the ring full and must sleep on its
/// space vector (shorter than the exchange's 100 ms cap on a sleep, so
/// the space doorbell, not the cap, ends the sender's sleeps).
const SLOW_RECEIVER_US: u32 = 30_000;
/// How long one doorbell may take to arrive.
const RING_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds the ivshmem device to vfio-pci (as root) and opens it with every
/// MSI-X vector it has (QEMU's `vectors=`, the server's count).
pub fn open_guest_device() -> Result<GuestDevice, String> {
    let mut pci = PciDevice::find_by_ids(crate::IVSHMEM_IDS).map_err(|e| e.to_string())?;
    pci.bind_with_override("vfio-pci")
        .map_err(|e| format!("binding ivshmem to vfio-pci: {e}"))?;
    let dev = VfioDevice::open_pci(&pci).map_err(|e| e.to_string())?;
    let vectors = dev.irq_count(IrqKind::Msix).map_err(|e| e.to_string())?;
    GuestDevice::from_vfio(dev, vectors).map_err(|e| e.to_string())
}

/// Which vector the host rings the `i`th time in the per-vector case: an
/// irregular mix, so that counts differ per vector.
pub fn vector_of(i: u32) -> u32 {
    u32::from(i % 3 == 1)
}

/// `vm-guest vfio-ivshmem-vectors HOST N` (VFIO VM): prints `peer ID`,
/// rings `HOST`'s vector 0 when ready and after each doorbell; expects
/// doorbell `i` on vector [`vector_of`]`(i)` only, each read from that
/// vector's own eventfd as exactly one interrupt, and the other vector
/// silent.
pub fn guest_vectors(host_peer: u16, n: u32) -> Result<String, String> {
    let mut dev = open_guest_device()?;
    say_line(&format!("peer {}", dev.id()));
    if dev.vectors() < 2 {
        return Err(format!(
            "the device has {} MSI-X vector(s); the case needs 2",
            dev.vectors()
        ));
    }
    let e = |e: ivshmem::guest::GuestError| e.to_string();
    let mut counts = [0u64; 2];
    dev.ring(host_peer, 0).map_err(e)?;
    for i in 0..n {
        let v = vector_of(i);
        let got = dev.wait(v, Some(RING_TIMEOUT)).map_err(e)?;
        if got != 1 {
            return Err(format!(
                "doorbell {i}: vector {v}'s eventfd counted {got} interrupts, expected 1"
            ));
        }
        let other = dev.wait(1 - v, Some(Duration::ZERO)).map_err(e)?;
        if other != 0 {
            return Err(format!(
                "doorbell {i} was for vector {v}, but vector {} fired too ({other})",
                1 - v
            ));
        }
        counts[v as usize] += got;
        dev.ring(host_peer, 0).map_err(e)?;
    }
    // Nothing more arrives on either vector.
    for v in 0..2 {
        let late = dev.wait(v, Some(Duration::from_millis(200))).map_err(e)?;
        if late != 0 {
            return Err(format!("{late} extra interrupt(s) on vector {v}"));
        }
    }
    Ok(format!(
        "{n} doorbells: vector 0 got {}, vector 1 got {}, each on its own eventfd, none extra",
        counts[0], counts[1]
    ))
}

/// `ring-peer --vfio`: runs `plan` as a guest peer over VFIO, sleeping on
/// its MSI-X vector 0 when its rings are empty and on vector 1 when a
/// ring it sends into is full.
pub fn vfio_guest_peer(plan: &Plan, timeout: Duration) -> Result<String, String> {
    let mut dev = open_guest_device()?;
    say_line(&format!("peer {}", dev.id()));
    // A second mapping of BAR2, so the device stays usable mutably (ring).
    let shm = dev.device().map_region(2).map_err(|e| e.to_string())?;
    let r = exchange(&shm, plan, &mut dev, timeout, &mut |l| say_line(l))?;
    Ok(r.summary())
}

/// Starts a server with [`SHM_SIZE`] bytes and `vectors` vectors per peer.
fn start_server(vectors: u32) -> Result<IvshmemServer, String> {
    IvshmemServer::start(&ivshmem_vm::server_binary()?, SHM_SIZE, vectors)
        .map_err(|e| e.to_string())
}

/// A server with the exchange's vectors per peer (data and space), the
/// test process's client on it, and fresh rings in `slots`.
fn server_with_rings(slots: &[usize]) -> Result<(IvshmemServer, ivshmem_vm::Watcher), String> {
    let server = start_server(ivshmem_ring::VECTORS)?;
    let me = ivshmem_vm::watch(&server)?;
    ivshmem_ring::create_slots(&ivshmem_vm::map_shared(&me.client)?, slots)?;
    Ok((server, me))
}

/// Boots a VFIO VM (q35, emulated IOMMU, nothing bound to UIO) with
/// ivshmem-doorbell on `server`.
pub fn boot_vfio_on(server: &IvshmemServer, guest_bin: &Path) -> Result<Vm, String> {
    boot_vfio_with(server, guest_bin, None)
}

/// [`boot_vfio_on`], with the guest's `regpoke` ([`host::GUEST_REGPOKE`])
/// when given.
fn boot_vfio_with(
    server: &IvshmemServer,
    guest_bin: &Path,
    regpoke: Option<&Path>,
) -> Result<Vm, String> {
    let mut c = host::config(guest_bin)
        .vfio(true)
        .bind_uio(false)
        .ivshmem_doorbell(server.socket(), server.vectors());
    if let Some(p) = regpoke {
        c = c.binary(p, host::GUEST_REGPOKE);
    }
    Vm::boot(c).map_err(|e| format!("booting the VFIO VM: {e}"))
}

/// How often the host rings while `regpoke irq wait` runs in the guest: a
/// ring to a vector the guest has not enabled yet is dropped by QEMU, so
/// the host rings until the guest's command returns.
const RING_EVERY: Duration = Duration::from_millis(50);

/// `vfio_regpoke_waits_for_ivshmem_doorbell_msix`: in a VFIO VM with an
/// ivshmem-doorbell of 2 vectors, `regpoke --spec ivshmem irq wait
/// --vector 1` (`vm-guest vfio-regpoke-doorbell`, which also checks that
/// `--vector 5` is refused) returns once the test process, a peer, rings
/// the guest's vector 1, which it does every 50 ms until then.
pub fn regpoke_doorbell_msix(guest_bin: &Path, regpoke: &Path) -> Result<Vec<String>, String> {
    let server = start_server(2)?;
    let mut me = ivshmem_vm::watch(&server)?;
    let vm = boot_vfio_with(&server, guest_bin, Some(regpoke))?;
    let g = me.joined()?;
    let mut log = vec![format!(
        "host peer {}; the VFIO VM joined as peer {g}",
        me.client.id()
    )];
    let client = &me.client;
    let (out, rings) = std::thread::scope(|s| {
        let guest = s.spawn(|| run_guest(&vm, "vfio-regpoke-doorbell", Duration::from_secs(120)));
        let mut rings = Ok(0u32);
        while !guest.is_finished() {
            if let Ok(n) = &mut rings {
                match client.ring(g, 1) {
                    Ok(()) => *n += 1,
                    Err(e) => rings = Err(format!("ringing the guest's vector 1: {e}")),
                }
            }
            std::thread::sleep(RING_EVERY);
        }
        (
            guest
                .join()
                .unwrap_or_else(|_| Err("thread panicked".into())),
            rings,
        )
    });
    let out = out?;
    let rings = rings?;
    if rings == 0 {
        return Err(format!("the guest finished before the host rang: {out}"));
    }
    log.extend(out.lines().map(|l| format!("guest: {l}")));
    log.push(format!(
        "the host rang vector 1 {rings} time(s), every {RING_EVERY:?}, until regpoke returned"
    ));
    drop(vm);
    drop(me);
    server.stop().map_err(|e| e.to_string())?;
    Ok(log)
}

/// The numbers in a peer's summary line ([`ivshmem_ring::Report::summary`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sleeps {
    /// Messages received.
    pub received: u64,
    /// Waits ended by a doorbell.
    pub wakeups: u64,
    /// Waits ended by their timeout.
    pub timeouts: u64,
    /// Waits while a send was blocked by a full ring.
    pub space_waits: u64,
}

/// Reads the counts out of a summary line.
pub fn parse_sleeps(summary: &str) -> Result<Sleeps, String> {
    let before = |word: &str| -> Result<u64, String> {
        let i = summary
            .find(word)
            .ok_or_else(|| format!("no `{word}` in the summary `{summary}`"))?;
        summary[..i]
            .split_whitespace()
            .last()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("no number before `{word}` in `{summary}`"))
    };
    let received = summary
        .split("received ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no `received N` in `{summary}`"))?;
    Ok(Sleeps {
        received,
        wakeups: before(" wake-ups")?,
        timeouts: before(" wait timeouts")?,
        space_waits: before(" waits for space")?,
    })
}

/// Checks that a receiver of `n` messages got them all and slept on its
/// doorbell: woken at least once, at most once per message, and more
/// often by the doorbell than by a timeout with nothing to send (a poller
/// has 0 wake-ups; waits while its own sends are blocked by a full ring
/// are polls for space, not counted against it).
pub fn check_slept(who: &str, summary: &str, n: u64) -> Result<Sleeps, String> {
    let s = parse_sleeps(summary)?;
    if s.received != n {
        return Err(format!("{who} received {} of {n} messages", s.received));
    }
    if s.wakeups == 0 || s.wakeups > n || s.timeouts > s.wakeups {
        return Err(format!(
            "{who} did not sleep on its interrupt: {} wake-ups and {} timeouts for {n} messages ({summary})",
            s.wakeups, s.timeouts
        ));
    }
    Ok(s)
}

/// Checks that a sender found its ring full and slept on its space
/// vector: at least one wait for space, woken by the doorbell at least
/// once, and more often by it than by a timeout.
pub fn check_slept_for_space(who: &str, summary: &str) -> Result<Sleeps, String> {
    let s = parse_sleeps(summary)?;
    if s.space_waits == 0 || s.wakeups == 0 || s.timeouts > s.wakeups {
        return Err(format!(
            "{who} did not sleep on its space vector: {} waits for space, {} wake-ups, {} timeouts ({summary})",
            s.space_waits, s.wakeups, s.timeouts
        ));
    }
    Ok(s)
}

/// `vfio_ivshmem_doorbell_msix_per_vector`: the test process (a host
/// peer) rings the guest's vectors 0 and 1 in an irregular order, one at
/// a time (the guest rings back after each); the guest checks that each
/// arrives on its own eventfd, exactly once, and nothing on the other.
pub fn msix_per_vector(guest_bin: &Path, n: u32) -> Result<Vec<String>, String> {
    let mut log = Vec::new();
    let server = start_server(2)?;
    let mut me = ivshmem_vm::watch(&server)?;
    let h = me.client.id();
    let vm = boot_vfio_on(&server, guest_bin)?;
    let g = me.joined()?;
    log.push(format!("host peer {h}; the VFIO VM joined as peer {g}"));
    let client = &me.client;
    let out = std::thread::scope(|s| -> Result<String, String> {
        let guest = s.spawn(|| {
            run_guest(
                &vm,
                &format!("vfio-ivshmem-vectors {h} {n}"),
                Duration::from_secs(300),
            )
        });
        let ack = |what: &str| -> Result<(), String> {
            match client.wait(0, Some(Duration::from_secs(60))) {
                Ok(true) => Ok(()),
                Ok(false) => Err(format!("the guest did not ring back {what} within 60 s")),
                Err(e) => Err(e.to_string()),
            }
        };
        let rings = (|| -> Result<(), String> {
            ack("when ready")?;
            for i in 0..n {
                client.ring(g, vector_of(i)).map_err(|e| e.to_string())?;
                ack(&format!("after doorbell {i}"))?;
            }
            Ok(())
        })();
        let out = guest
            .join()
            .unwrap_or_else(|_| Err("thread panicked".into()));
        rings.and(out)
    })?;
    let want = (0..n).filter(|&i| vector_of(i) == 1).count();
    if !out.contains(&format!(
        "vector 0 got {}, vector 1 got {want},",
        n as usize - want
    )) {
        return Err(format!("guest: {out}"));
    }
    if me
        .client
        .wait(1, Some(Duration::ZERO))
        .map_err(|e| e.to_string())?
    {
        return Err("the host's vector 1 was rung, though the guest rang only vector 0".into());
    }
    log.extend(out.lines().map(|l| format!("guest: {l}")));
    drop(vm);
    drop(me);
    server.stop().map_err(|e| e.to_string())?;
    Ok(log)
}

/// `vfio_ivshmem_ring_host_to_guest_by_interrupt`: a host peer process
/// sends `n` checked messages into ring 0 and rings the guest after each
/// batch; the guest (over VFIO) receives them all, in order, intact,
/// sleeping on MSI-X vector 0 when the ring is empty, and rings the host
/// process's space vector when it drained the ring (the host process
/// sleeps on it when the ring is full).
pub fn ring_host_to_guest(guest_bin: &Path, n: u64) -> Result<Vec<String>, String> {
    let mut log = Vec::new();
    let (server, mut me) = server_with_rings(&[0])?;
    let vm = boot_vfio_on(&server, guest_bin)?;
    let g = me.joined()?;
    let host = PeerProcess::spawn(
        guest_bin,
        server.socket(),
        &format!("--send 0:{n}:{g} --pause {PAUSE_US}"),
    )?;
    me.joined()?;
    log.push(format!(
        "the VFIO VM is peer {g}, the sending host process peer {}",
        host.id
    ));
    let start = Instant::now();
    let out = run_guest(
        &vm,
        &format!("ring-peer --vfio --recv 0:{n}:{}", host.id),
        Duration::from_secs(600),
    )?;
    let summary = out.lines().last().unwrap_or_default().to_string();
    let s = check_slept("the guest", &summary, n)?;
    log.push(format!("guest: {summary}"));
    log.push(format!(
        "{} messages, {} wake-ups by MSI-X, {} wait timeouts, in {:.2?}",
        s.received,
        s.wakeups,
        s.timeouts,
        start.elapsed()
    ));
    let lines = host.finish(Duration::from_secs(120))?;
    log.push(format!(
        "host: {}",
        lines.last().cloned().unwrap_or_default()
    ));
    drop(vm);
    drop(me);
    server.stop().map_err(|e| e.to_string())?;
    Ok(log)
}

/// `vfio_ivshmem_ring_guest_to_guest_by_interrupt`: two VFIO VMs on one
/// server; A sends `n` messages to B in ring 0, then B sends `n` to A in
/// ring 1, each sender ringing the receiver's vector 0 after each batch
/// (data), each receiver ringing the sender's vector 1 after draining the
/// ring (space). A slow sender first: B receives everything checked,
/// sleeping on its MSI-X vector 0; then a slow receiver: B finds ring 1
/// full and sleeps on its MSI-X vector 1 until A has drained it.
pub fn ring_guest_to_guest(guest_bin: &Path, n: u64) -> Result<Vec<String>, String> {
    let mut log = Vec::new();
    let (server, mut me) = server_with_rings(&[0, 1])?;
    let (a_vm, b_vm) = std::thread::scope(|s| {
        let a = s.spawn(|| boot_vfio_on(&server, guest_bin));
        let b = s.spawn(|| boot_vfio_on(&server, guest_bin));
        (
            a.join()
                .unwrap_or_else(|_| Err("boot thread panicked".into())),
            b.join()
                .unwrap_or_else(|_| Err("boot thread panicked".into())),
        )
    });
    let (a_vm, b_vm) = (a_vm?, b_vm?);
    me.joined()?;
    me.joined()?;
    let pos = |vm: &Vm| -> Result<u16, String> {
        let out = run_guest(vm, "ivshmem-position --vfio", Duration::from_secs(60))?;
        out.trim()
            .parse()
            .map_err(|_| format!("cannot read IV_POSITION from {out:?}"))
    };
    let (a, b) = (pos(&a_vm)?, pos(&b_vm)?);
    log.push(format!("VFIO VM A is peer {a}, VFIO VM B peer {b}"));
    let run = |vm: &Vm, args: String| {
        run_guest(
            vm,
            &format!("ring-peer --vfio {args}"),
            Duration::from_secs(600),
        )
    };
    // One direction at a time: a peer that sends too would pause (sleep)
    // between its batches instead of waiting on its doorbell. First the
    // sender is slow (the receiver sleeps on data), then the receiver (the
    // sender sleeps on space).
    for (slot, (tx, tx_vm), (rx, rx_vm), slow_sender) in [
        (0, (a, &a_vm), (b, &b_vm), true),
        (1, (b, &b_vm), (a, &a_vm), false),
    ] {
        let (tx_pause, rx_pause) = if slow_sender {
            (PAUSE_US, 0)
        } else {
            (0, SLOW_RECEIVER_US)
        };
        let (rs, rr) = std::thread::scope(|s| {
            let ts = s.spawn(|| run(tx_vm, format!("--send {slot}:{n}:{rx} --pause {tx_pause}")));
            let tr = s.spawn(|| run(rx_vm, format!("--recv {slot}:{n}:{tx} --pause {rx_pause}")));
            (
                ts.join().unwrap_or_else(|_| Err("thread panicked".into())),
                tr.join().unwrap_or_else(|_| Err("thread panicked".into())),
            )
        });
        let sent = rs.map_err(|e| format!("peer {tx} sending: {e}"))?;
        let out = rr.map_err(|e| format!("peer {rx} receiving: {e}"))?;
        let received = out.lines().last().unwrap_or_default().to_string();
        let sent = sent.lines().last().unwrap_or_default().to_string();
        if slow_sender {
            check_slept(&format!("receiver peer {rx}"), &received, n)?;
        } else {
            let r = parse_sleeps(&received)?;
            if r.received != n {
                return Err(format!("peer {rx} received {} of {n} messages", r.received));
            }
            check_slept_for_space(&format!("sender peer {tx}"), &sent)?;
        }
        let (who, why) = if slow_sender {
            ("slow sender", "receiver sleeps on vector 0")
        } else {
            ("slow receiver", "sender sleeps on vector 1")
        };
        log.push(format!("ring {slot}, {who} ({why}):"));
        log.push(format!("  receiver, peer {rx}: {received}"));
        log.push(format!("  sender, peer {tx}: {sent}"));
    }
    drop((a_vm, b_vm));
    drop(me);
    server.stop().map_err(|e| e.to_string())?;
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_parse_and_pollers_are_refused() {
        let r = ivshmem_ring::Report {
            received: 100,
            wakeups: 40,
            timeouts: 2,
            ..Default::default()
        };
        let s = parse_sleeps(&r.summary()).unwrap();
        assert_eq!((s.received, s.wakeups, s.timeouts), (100, 40, 2));
        check_slept("x", &r.summary(), 100).unwrap();
        assert!(check_slept_for_space("x", &r.summary())
            .unwrap_err()
            .contains("0 waits for space"));
        let sender = ivshmem_ring::Report {
            sent: 100,
            space_waits: 7,
            wakeups: 7,
            timeouts: 1,
            ..Default::default()
        };
        assert_eq!(
            check_slept_for_space("x", &sender.summary())
                .unwrap()
                .space_waits,
            7
        );
        assert!(check_slept("x", &r.summary(), 101)
            .unwrap_err()
            .contains("100 of 101"));
        let poller = ivshmem_ring::Report {
            received: 100,
            wakeups: 0,
            timeouts: 500,
            ..Default::default()
        };
        let e = check_slept("x", &poller.summary(), 100).unwrap_err();
        assert!(e.contains("did not sleep"), "{e}");
        assert!(parse_sleeps("garbage").is_err());
        assert_eq!(
            (0..6).map(vector_of).collect::<Vec<_>>(),
            [0, 1, 0, 0, 1, 0]
        );
    }
}
