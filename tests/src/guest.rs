//! Test cases that run inside the guest, over the real devices.
//!
//! Each returns a short report on success and a message on failure.

use std::time::{Duration, Instant};

use device_specs::edu::{
    self,
    regs::{ID, IRQ_ACK, IRQ_RAISE, IRQ_STATUS, STATUS},
};
use device_specs::ivshmem;
use hal_core::prelude::*;
use hal_core::Region;
use pci_sysfs::PciDevice;
use uio_backend::UioDevice;

use crate::{first_difference, pattern, EDU_ID, EDU_IDS, IVSHMEM_ID, IVSHMEM_IDS};

mod dma;
pub mod permissions;
pub mod vfio;
pub mod vfio_driver;
pub mod vfio_iova;
pub mod vfio_regpoke;
pub use dma::{dma_hugepage, dma_pagemap, dma_pagemap_unprivileged, GUEST_HUGEPAGES};

/// A test outcome: a report line, or what went wrong.
pub type Outcome = Result<String, String>;

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// How a BAR is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `/dev/uioN`, map N.
    Uio,
    /// `/sys/bus/pci/devices/BDF/resourceN`.
    Sysfs,
    /// `/dev/mem` at the BAR's physical address.
    DevMem,
}

impl Backend {
    /// Parses `uio`, `sysfs` or `devmem`.
    pub fn parse(s: &str) -> Result<Backend, String> {
        match s {
            "uio" => Ok(Backend::Uio),
            "sysfs" => Ok(Backend::Sysfs),
            "devmem" => Ok(Backend::DevMem),
            other => Err(format!(
                "unknown backend `{other}`: use uio, sysfs or devmem"
            )),
        }
    }
}

/// Maps BAR `bar` of the PCI device with any of the IDs `ids` (a map's
/// `PCI_IDS`) through `backend`.
pub fn map_bar(ids: &[(u16, u16)], bar: usize, backend: Backend) -> Result<Region, String> {
    let pci = PciDevice::find_by_ids(ids).map_err(|e| e.to_string())?;
    match backend {
        Backend::Uio => {
            let dev = UioDevice::find_by_pci_ids(ids).map_err(|e| e.to_string())?;
            let map = (0..dev.maps().len())
                .find(|&m| dev.bar_of_map(m) == Some(bar))
                .ok_or_else(|| format!("BAR{bar} is not a UIO map of {}", dev.name()))?;
            dev.map(map).map_err(|e| e.to_string())
        }
        Backend::Sysfs => devmem_backend::map_bar(&pci, bar).map_err(|e| e.to_string()),
        Backend::DevMem => {
            let r = pci
                .bar(bar)
                .ok_or_else(|| format!("{} has no BAR{bar}", pci.address()))?;
            let len = usize::try_from(r.len()).map_err(|e| e.to_string())?;
            devmem_backend::map_phys(r.start, len).map_err(|e| e.to_string())
        }
    }
}

/// edu through the typed API: identification, liveness and factorial
/// (polling COMPUTING), over one backend.
pub fn edu_basics(backend: Backend) -> Outcome {
    let region = map_bar(EDU_IDS, 0, backend)?;
    let regs = edu::Regs::new(&region).map_err(|e| e.to_string())?;
    let id = regs.id();
    if id.get() != 0x0100_00ed {
        return Err(format!("ID reads {:#010x}, expected 0x010000ed", id.get()));
    }
    if (id.read(ID::MAJOR), id.read(ID::MINOR), id.read(ID::MAGIC)) != (1, 0, 0xed) {
        return Err("ID fields decode wrongly".into());
    }
    for v in [0u32, 1, 0x1234_5678, 0xdead_beef, u32::MAX] {
        regs.liveness().set(v);
        let got = regs.liveness().get();
        if got != !v {
            return Err(format!(
                "LIVENESS: wrote {v:#x}, read {got:#x}, expected {:#x}",
                !v
            ));
        }
    }
    let mut max_polls = 0u64;
    for n in [0u32, 1, 5, 10, 12, 13, 20] {
        regs.factorial().set(n);
        let start = Instant::now();
        let mut polls = 0u64;
        while regs.status().is_set(STATUS::COMPUTING) {
            polls += 1;
            if start.elapsed() > Duration::from_secs(5) {
                return Err(format!("factorial of {n}: COMPUTING still set after 5 s"));
            }
        }
        max_polls = max_polls.max(polls);
        let want = (1..=n).fold(1u32, |a, i| a.wrapping_mul(i));
        let got = regs.factorial().get();
        if got != want {
            return Err(format!("factorial of {n}: read {got}, expected {want}"));
        }
    }
    Ok(format!(
        "{backend:?} ({}): ID, LIVENESS and 7 factorials correct; up to {max_polls} COMPUTING polls",
        region.label()
    ))
}

/// Clears edu's interrupt state left over from earlier runs.
pub(crate) fn edu_quiesce(regs: &edu::Regs<'_>) {
    let pending = regs.irq_status().get();
    if pending != 0 {
        regs.irq_ack().set(pending);
    }
    regs.status().modify(STATUS::IRQFACT::CLEAR);
}

/// `n` interrupts raised through IRQ_RAISE, each one waited for through
/// uio-backend, checked in IRQ_STATUS, acknowledged and re-enabled: all
/// accounted for, none lost or merged.
pub fn edu_irq(n: u32) -> Outcome {
    let dev = UioDevice::find_by_pci_id(EDU_ID.0, EDU_ID.1).map_err(|e| e.to_string())?;
    let region = dev.map(0).map_err(|e| e.to_string())?;
    let regs = edu::Regs::new(&region).map_err(|e| e.to_string())?;
    edu_quiesce(&regs);
    let irq = dev.irq().map_err(err("opening the interrupt"))?;
    irq.enable().map_err(err("enabling the interrupt"))?;
    let sysfs_before = dev.event_count().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut first = None;
    let mut last = 0u32;
    for i in 0..n {
        regs.irq_raise().write(IRQ_RAISE::FACT::SET);
        let ev = irq
            .wait(Duration::from_secs(2))
            .map_err(|e| format!("interrupt {i} of {n}: {e}"))?;
        if ev.missed != 0 {
            return Err(format!(
                "interrupt {i}: {} missed before it (count {})",
                ev.missed, ev.count
            ));
        }
        if first.is_none() {
            first = Some(ev.count);
        } else if ev.count != last.wrapping_add(1) {
            return Err(format!("interrupt {i}: count {} after {last}", ev.count));
        }
        last = ev.count;
        if !regs.irq_status().is_set(IRQ_STATUS::FACT) {
            return Err(format!("interrupt {i}: IRQ_STATUS.FACT not set"));
        }
        regs.irq_ack().write(IRQ_ACK::FACT::SET);
        irq.enable()
            .map_err(|e| format!("re-enabling after interrupt {i}: {e}"))?;
    }
    let elapsed = start.elapsed();
    let sysfs_after = dev.event_count().map_err(|e| e.to_string())?;
    let delta = sysfs_after.wrapping_sub(sysfs_before);
    if delta != n {
        return Err(format!("sysfs event count grew by {delta}, expected {n}"));
    }
    if regs.irq_status().get() != 0 {
        return Err("IRQ_STATUS not clear at the end".into());
    }
    Ok(format!(
        "{n} raised, {n} received (counts {}..={last}), 0 missed; {:.1} µs per round trip; re-enabled via {:?}",
        first.unwrap_or(0),
        elapsed.as_secs_f64() * 1e6 / f64::from(n.max(1)),
        irq.unmask_method()
    ))
}

/// A wait on edu with nothing raised times out within its limit.
pub fn edu_irq_timeout(limit: Duration) -> Outcome {
    let dev = UioDevice::find_by_pci_id(EDU_ID.0, EDU_ID.1).map_err(|e| e.to_string())?;
    let region = dev.map(0).map_err(|e| e.to_string())?;
    let regs = edu::Regs::new(&region).map_err(|e| e.to_string())?;
    edu_quiesce(&regs);
    let irq = dev.irq().map_err(|e| e.to_string())?;
    irq.enable().map_err(|e| e.to_string())?;
    let start = Instant::now();
    match irq.wait(limit) {
        Err(e) if e.is_timeout() => {
            let took = start.elapsed();
            if took < limit || took > limit + Duration::from_millis(500) {
                return Err(format!("timed out after {took:?}, the limit was {limit:?}"));
            }
            Ok(format!("timed out after {took:?} (limit {limit:?}): {e}"))
        }
        Err(e) => Err(format!("expected a timeout, got: {e}")),
        Ok(ev) => Err(format!("expected a timeout, got an interrupt: {ev:?}")),
    }
}

/// ivshmem through UIO: its registers map and read, and an interrupt wait
/// gives the clear no-interrupt error at once (ivshmem has no INTx).
pub fn ivshmem_uio_no_irq() -> Outcome {
    let dev = UioDevice::find_by_pci_id(IVSHMEM_ID.0, IVSHMEM_ID.1).map_err(|e| e.to_string())?;
    let mut region = dev.map(0).map_err(|e| e.to_string())?;
    {
        let mut regs = ivshmem::Regs::new(&mut region).map_err(|e| e.to_string())?;
        let pos = regs.iv_position().get();
        if pos != 0 {
            return Err(format!(
                "IV_POSITION reads {pos}, expected 0 for ivshmem-plain"
            ));
        }
        let status = regs.intr_status().get();
        if status != 0 {
            return Err(format!("INTR_STATUS reads {status:#x}, expected 0"));
        }
    }
    let start = Instant::now();
    let outcome = dev
        .irq()
        .and_then(|irq| irq.wait(Duration::from_secs(2)).map(|_| ()));
    let took = start.elapsed();
    match outcome {
        Err(e) if e.is_no_interrupt() => {
            if took > Duration::from_millis(500) {
                return Err(format!("the error took {took:?}: it should be immediate"));
            }
            Ok(format!("refused in {took:?}: {e}"))
        }
        Err(e) => Err(format!("expected the no-interrupt error, got: {e}")),
        Ok(()) => Err("expected the no-interrupt error, got an interrupt".into()),
    }
}

/// Reads `len` bytes at `offset` of ivshmem BAR2 and checks them against
/// `pattern(seed)` (written by the host), then writes `pattern(reply)` at
/// `offset + len` for the host to check.
pub fn ivshmem_exchange(
    backend: Backend,
    seed: u32,
    reply: u32,
    offset: usize,
    len: usize,
) -> Outcome {
    let region = map_bar(IVSHMEM_IDS, 2, backend)?;
    let mut got = vec![0u8; len];
    region
        .read_bytes(offset, &mut got)
        .map_err(|e| e.to_string())?;
    let want = pattern(seed, len);
    if let Some(i) = first_difference(&got, &want) {
        return Err(format!(
            "byte {i} of the host's data reads {:#04x}, expected {:#04x}",
            got[i], want[i]
        ));
    }
    region
        .write_bytes(offset + len, &pattern(reply, len))
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "{backend:?} ({} bytes at {}): {len} host bytes verified, {len} reply bytes written",
        region.len(),
        region.label()
    ))
}

/// Starts the 4096-byte edu DMA that makes QEMU 7.2 abort, through raw
/// checked accesses (no driver guard). Used to test the harness.
pub fn edu_dma_abort() -> Outcome {
    let region = map_bar(EDU_IDS, 0, Backend::Uio)?;
    let w = |off: usize, v: u64| region.try_write64(off, v).map_err(|e| e.to_string());
    w(0x80, 0x10_0000)?;
    w(0x88, 0x4_0000)?;
    w(0x90, 4096)?;
    w(0x98, 0x1)?;
    std::thread::sleep(Duration::from_secs(5));
    Err("QEMU is still running 5 s after the fatal DMA".into())
}

/// UIO discovery through sysfs (`/sys/class/uio`): both devices are listed
/// with their PCI identity and maps (edu: one 1 MiB map; ivshmem: BAR0
/// only, 256 bytes in a page; its BAR2 is not a UIO map).
pub fn uio_list() -> Outcome {
    let list = uio_backend::UioScan::system()
        .list()
        .map_err(|e| e.to_string())?;
    check_uio_list(&list)
}

/// UIO discovery through libudev: the same checks as [`uio_list`], and the
/// same devices with the same device nodes as the direct sysfs scan.
#[cfg(feature = "udev")]
pub fn uio_list_udev() -> Outcome {
    let scan = uio_backend::UioScan::udev();
    let list = scan.list().map_err(|e| e.to_string())?;
    let direct = uio_backend::UioScan::system()
        .list()
        .map_err(|e| e.to_string())?;
    let key = |v: &[uio_backend::UioInfo]| {
        v.iter()
            .map(|i| (i.number(), i.devnode().to_path_buf()))
            .collect::<Vec<_>>()
    };
    if key(&list) != key(&direct) {
        return Err(format!(
            "libudev found {:?}, the sysfs scan {:?}",
            key(&list),
            key(&direct)
        ));
    }
    Ok(format!("{:?}: {}", scan.method(), check_uio_list(&list)?))
}

fn check_uio_list(list: &[uio_backend::UioInfo]) -> Outcome {
    let mut report = Vec::new();
    for (id, want_size, want_maps) in [(EDU_ID, 0x10_0000u64, 1usize), (IVSHMEM_ID, 0x1000, 1)] {
        let info = list
            .iter()
            .find(|i| i.pci_id().map(|p| (p.vendor, p.device)) == Some(id))
            .ok_or_else(|| {
                format!(
                    "{:04x}:{:04x} is not among the UIO devices: {list:?}",
                    id.0, id.1
                )
            })?;
        if info.name() != "uio_pci_generic" {
            return Err(format!(
                "{} is driven by {}, expected uio_pci_generic",
                info.device_name(),
                info.name()
            ));
        }
        let maps = info.maps();
        if maps.len() != want_maps || maps[0].size != want_size {
            return Err(format!(
                "{}: maps {maps:?}, expected {want_maps} map of {want_size:#x} bytes",
                info.device_name()
            ));
        }
        report.push(format!(
            "{} {:04x}:{:04x} map0 {:#x}+{:#x}",
            info.device_name(),
            id.0,
            id.1,
            maps[0].addr,
            maps[0].size
        ));
    }
    Ok(report.join("; "))
}

/// PCI helpers on the real devices: config-space identity, Bus Master on
/// and off, and rebinding ivshmem to uio_pci_generic through
/// `driver_override` after unbinding it.
pub fn pci_helpers() -> Outcome {
    let edu = PciDevice::find_by_id(EDU_ID.0, EDU_ID.1).map_err(|e| e.to_string())?;
    let cfg = edu.config_rw().map_err(|e| e.to_string())?;
    let ids = cfg.read32(0).map_err(|e| e.to_string())?;
    if ids != (u32::from(EDU_ID.1) << 16 | u32::from(EDU_ID.0)) {
        return Err(format!("config dword 0 reads {ids:#010x}"));
    }
    for on in [true, false, true] {
        cfg.set_bus_master(on).map_err(|e| e.to_string())?;
        let now = cfg.bus_master().map_err(|e| e.to_string())?;
        if now != on {
            return Err(format!("Bus Master set to {on}, reads {now}"));
        }
    }
    cfg.set_bus_master(false).map_err(|e| e.to_string())?;

    let mut ivshmem =
        PciDevice::find_by_id(IVSHMEM_ID.0, IVSHMEM_ID.1).map_err(|e| e.to_string())?;
    ivshmem.unbind().map_err(|e| e.to_string())?;
    let after_unbind = ivshmem.current_driver().map_err(|e| e.to_string())?;
    if after_unbind.is_some() {
        return Err(format!("still bound to {after_unbind:?} after unbind"));
    }
    if UioDevice::find_by_pci_id(IVSHMEM_ID.0, IVSHMEM_ID.1).is_ok() {
        return Err("a UIO device for ivshmem exists while it is unbound".into());
    }
    ivshmem
        .bind_with_override("uio_pci_generic")
        .map_err(|e| e.to_string())?;
    let driver = ivshmem.current_driver().map_err(|e| e.to_string())?;
    if driver.as_deref() != Some("uio_pci_generic") {
        return Err(format!("bound to {driver:?} after rebinding"));
    }
    let dev = UioDevice::find_by_pci_id(IVSHMEM_ID.0, IVSHMEM_ID.1).map_err(|e| e.to_string())?;
    let mut region = dev.map(0).map_err(|e| e.to_string())?;
    let mut regs = ivshmem::Regs::new(&mut region).map_err(|e| e.to_string())?;
    let pos = regs.iv_position().get();
    let _ = regs.intr_status().get();
    Ok(format!(
        "edu config ids {ids:#010x}; Bus Master toggled; ivshmem unbound and rebound to uio_pci_generic as {} (IV_POSITION {pos})",
        dev.name()
    ))
}

/// `n` edu factorials, each finished by its interrupt and awaited through
/// uio-backend's `AsyncIrq` (tokio's `AsyncFd`) in a current-thread tokio
/// runtime; then a wait with nothing raised times out while another task
/// of the same thread keeps running (the wait does not block the thread).
pub fn edu_async_irq(n: u32) -> Outcome {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use uio_backend::AsyncIrq;

    let dev = UioDevice::find_by_pci_id(EDU_ID.0, EDU_ID.1).map_err(|e| e.to_string())?;
    let region = dev.map(0).map_err(|e| e.to_string())?;
    let regs = edu::Regs::new(&region).map_err(|e| e.to_string())?;
    edu_quiesce(&regs);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(err("starting a tokio runtime"))?;
    runtime.block_on(async {
        let mut irq = AsyncIrq::new(dev.irq().map_err(err("opening the interrupt"))?)
            .map_err(err("registering with tokio"))?;
        regs.status().modify(STATUS::IRQFACT::SET);
        irq.irq().enable().map_err(err("enabling the interrupt"))?;
        let start = Instant::now();
        let mut counts = Vec::new();
        for i in 1..=n {
            let k = i % 13;
            regs.factorial().set(k);
            let ev = irq
                .wait_timeout(Duration::from_secs(2))
                .await
                .map_err(|e| format!("factorial {i} of {n}: {e}"))?;
            if ev.missed != 0 {
                return Err(format!("factorial {i}: {} interrupts missed", ev.missed));
            }
            if !regs.irq_status().is_set(IRQ_STATUS::FACT) {
                return Err(format!("factorial {i}: IRQ_STATUS.FACT not set"));
            }
            let got = regs.factorial().get();
            let want = (1..=k).fold(1u32, u32::wrapping_mul);
            if got != want {
                return Err(format!("{k}! reads {got}, expected {want}"));
            }
            regs.irq_ack().write(IRQ_ACK::FACT::SET);
            irq.irq()
                .enable()
                .map_err(|e| format!("re-enabling after factorial {i}: {e}"))?;
            counts.push(ev.count);
        }
        let per = start.elapsed() / n.max(1);
        regs.status().modify(STATUS::IRQFACT::CLEAR);
        if counts.windows(2).any(|w| w[1] != w[0].wrapping_add(1)) {
            return Err(format!("interrupt counts not consecutive: {counts:?}"));
        }

        // Nothing raised: the wait times out, and meanwhile a ticker task
        // on the same thread runs.
        let ticks = Arc::new(AtomicU32::new(0));
        let ticker = tokio::spawn({
            let ticks = ticks.clone();
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let limit = Duration::from_millis(200);
        let t = Instant::now();
        let outcome = irq.wait_timeout(limit).await;
        let took = t.elapsed();
        ticker.abort();
        let ticks = ticks.load(Ordering::Relaxed);
        match outcome {
            Err(e) if e.is_timeout() => {}
            Err(e) => return Err(format!("expected a timeout, got: {e}")),
            Ok(ev) => return Err(format!("expected a timeout, got an interrupt: {ev:?}")),
        }
        if took < limit {
            return Err(format!("timed out after {took:?}, before the limit {limit:?}"));
        }
        if ticks < 10 {
            return Err(format!(
                "another task ticked only {ticks} times during a {took:?} wait: the wait blocked the thread"
            ));
        }
        Ok(format!(
            "{n} factorials by interrupt through AsyncFd, {:.1} µs each; a {limit:?} wait timed out after {took:?} while another task ticked {ticks} times",
            per.as_secs_f64() * 1e6
        ))
    })
}
