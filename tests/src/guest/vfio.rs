//! edu through VFIO (the VFIO VM: q35 with an emulated IOMMU, edu left
//! unbound at boot): registers and MSI, DMA through IOVAs, and the IOMMU
//! stopping a DMA to an IOVA that is not mapped.

use std::time::Duration;

use device_specs::edu::{
    self,
    regs::{DMA_CMD, IRQ_STATUS, STATUS},
};
use dma_mem::{DmaAllocator, DmaBuffer, DmaMask};
use hal_core::prelude::*;
use hal_core::Region;
use pci_sysfs::PciDevice;
use vfio_backend::{IrqKind, VfioDevice, IOVA_BASE};

use super::Outcome;
use crate::{first_difference, pattern, EDU_IDS};

/// edu's DMA mask as configured by the harness (`dma_mask` all ones); the
/// allocator is asked for 28 bits anyway, edu's default, so that the IOVAs
/// are right for either.
pub(crate) const EDU_MASK: DmaMask = DmaMask::bits(28);
/// edu's internal DMA buffer, and the most it takes in one transfer (the
/// end must be strictly below 0x41000).
const EDU_BUF: u64 = 0x40000;
pub(crate) const DMA_LEN: usize = 4095;
const T: Duration = Duration::from_secs(5);

/// Binds edu to vfio-pci (as root) and opens it, with Bus Master on and
/// stale interrupt status acknowledged (edu has no reset).
pub(crate) fn open_edu() -> Result<(VfioDevice, Region), String> {
    let mut pci = PciDevice::find_by_ids(EDU_IDS).map_err(|e| e.to_string())?;
    open_edu_at(&mut pci)
}

/// [`open_edu`] for the edu at `pci`.
pub(crate) fn open_edu_at(pci: &mut PciDevice) -> Result<(VfioDevice, Region), String> {
    pci.bind_vfio_pci()
        .map_err(|e| format!("binding edu {} to vfio-pci: {e}", pci.address()))?;
    let dev = VfioDevice::open_pci(pci).map_err(|e| e.to_string())?;
    dev.enable_bus_master().map_err(|e| e.to_string())?;
    let bar0 = dev.map_region(0).map_err(|e| e.to_string())?;
    super::edu_quiesce(&edu::Regs::new(&bar0).map_err(|e| e.to_string())?);
    Ok((dev, bar0))
}

/// edu's BAR0 mapped through VFIO under the typed API: ID, LIVENESS; then
/// `n` factorials each signalled by MSI on its eventfd and acknowledged;
/// and a wait with nothing raised times out.
pub fn edu_msi(n: u32) -> Outcome {
    let (dev, bar0) = open_edu()?;
    let regs = edu::Regs::new(&bar0).map_err(|e| e.to_string())?;
    let id = regs.id().get();
    if id != 0x0100_00ed {
        return Err(format!(
            "ID reads {id:#010x} through VFIO, expected 0x010000ed"
        ));
    }
    regs.liveness().set(0x1234_5678);
    if regs.liveness().get() != !0x1234_5678 {
        return Err("LIVENESS does not invert through VFIO".into());
    }
    let ids = dev.config_read32(0).map_err(|e| e.to_string())?;
    if ids != 0x11e8_1234 {
        return Err(format!(
            "config space vendor:device reads {ids:#010x}, expected 0x11e81234"
        ));
    }
    match dev.reset() {
        Err(e @ vfio_backend::VfioError::NoReset { .. }) => {
            if dev.supports_reset().map_err(|e| e.to_string())? {
                return Err(format!("{e}, yet supports_reset() says yes"));
            }
        }
        other => return Err(format!("edu has no reset, but reset() gave {other:?}")),
    }
    match VfioDevice::open(dev.address()) {
        Err(e) if e.to_string().contains("already open") => {}
        other => return Err(format!("a second open of the group gave {other:?}")),
    }
    let vectors = dev.irq_count(IrqKind::Msi).map_err(|e| e.to_string())?;
    let irq = dev.irq(IrqKind::Msi, 1).map_err(|e| e.to_string())?;
    match irq.wait(0, Duration::from_millis(100)) {
        Err(e) if e.is_timeout() => {}
        other => return Err(format!("a wait with nothing raised gave {other:?}")),
    }
    regs.status().modify(STATUS::IRQFACT::SET);
    let mut extra = 0;
    for i in 0..n {
        let k = i % 13;
        regs.factorial().set(k);
        let count = irq
            .wait(0, T)
            .map_err(|e| format!("factorial {i} ({k}!): {e}"))?;
        extra += count - 1;
        let want = (1..=k).product::<u32>();
        let got = regs.factorial().get();
        if got != want {
            return Err(format!("{k}! reads {got}, expected {want}"));
        }
        if !regs.irq_status().is_set(IRQ_STATUS::FACT) {
            return Err(format!(
                "factorial {i}: MSI arrived but IRQ_STATUS.FACT is clear"
            ));
        }
        regs.irq_ack().write(edu::regs::IRQ_ACK::FACT::SET);
    }
    regs.status().modify(STATUS::IRQFACT::CLEAR);
    if extra != 0 {
        return Err(format!("{extra} more MSIs than factorials"));
    }
    Ok(format!(
        "VFIO {} (group {}): ID {id:#010x}, config {ids:#010x}, no reset, second open refused; {n} factorials, {n} MSIs on the eventfd (device has {vectors} MSI vector(s)); an idle wait timed out",
        dev.address(),
        dev.group()
    ))
}

/// One edu DMA of `DMA_LEN` bytes between `iova` and edu's buffer, polled
/// until RUN clears.
pub(crate) fn edu_dma(regs: &edu::Regs<'_>, iova: u64, to_ram: bool) -> Result<(), String> {
    let (src, dst, dir) = if to_ram {
        (EDU_BUF, iova, DMA_CMD::DIRECTION::TO_RAM)
    } else {
        (iova, EDU_BUF, DMA_CMD::DIRECTION::TO_DEVICE)
    };
    regs.dma_src().set(src);
    regs.dma_dst().set(dst);
    regs.dma_count().set(DMA_LEN as u64);
    hal_core::order::before_doorbell();
    regs.dma_cmd().write(DMA_CMD::RUN::SET + dir);
    hal_core::poll::poll_timeout(
        || regs.dma_cmd().is_set(DMA_CMD::RUN),
        |running| !running,
        Duration::from_millis(1),
        T,
    )
    .map_err(|e| format!("DMA {src:#x} -> {dst:#x}: {e}"))?;
    hal_core::order::after_completion();
    Ok(())
}

pub(crate) fn bytes(buf: &DmaBuffer) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; DMA_LEN];
    buf.region()
        .read_bytes(0, &mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

pub(crate) fn iova(buf: &DmaBuffer) -> Result<u64, String> {
    buf.device_addr(0, DMA_LEN).map_err(|e| e.to_string())
}

/// `data` RAM (`src`) -> edu -> RAM (`dst`, cleared first) through their
/// IOVAs; an error unless it comes back equal.
pub(crate) fn round_trip(
    regs: &edu::Regs<'_>,
    src: &DmaBuffer,
    dst: &DmaBuffer,
    data: &[u8],
) -> Result<(), String> {
    src.region()
        .write_bytes(0, data)
        .map_err(|e| e.to_string())?;
    edu_dma(regs, iova(src)?, false)?;
    dst.region()
        .write_bytes(0, &[0; DMA_LEN])
        .map_err(|e| e.to_string())?;
    edu_dma(regs, iova(dst)?, true)?;
    match first_difference(&bytes(dst)?, data) {
        Some(i) => Err(format!(
            "byte {i} differs after RAM ({:#x}) -> edu -> RAM ({:#x}) through IOVAs",
            iova(src)?,
            iova(dst)?
        )),
        None => Ok(()),
    }
}

/// RAM -> edu -> RAM through two VfioAllocator buffers at IOVAs: the bytes
/// come back equal; a buffer dropped and allocated again gets its IOVA back
/// (it was unmapped: mapping it twice would fail).
pub fn edu_dma_round_trip() -> Outcome {
    let (dev, bar0) = open_edu()?;
    let regs = edu::Regs::new(&bar0).map_err(|e| e.to_string())?;
    let alloc = dev.dma_allocator(EDU_MASK);
    let src = alloc.alloc(4096).map_err(|e| e.to_string())?;
    let dst = alloc.alloc(4096).map_err(|e| e.to_string())?;
    let (a, b) = (iova(&src)?, iova(&dst)?);
    if a != IOVA_BASE || b != IOVA_BASE + 4096 {
        return Err(format!(
            "IOVAs {a:#x} and {b:#x}, expected {IOVA_BASE:#x} and the next page"
        ));
    }
    let data = pattern(0x7f10_0001, DMA_LEN);
    round_trip(&regs, &src, &dst, &data)?;
    drop(dst);
    let again = alloc.alloc(4096).map_err(|e| e.to_string())?;
    if iova(&again)? != b {
        return Err(format!(
            "a new buffer got IOVA {:#x}, not the freed {b:#x}",
            iova(&again)?
        ));
    }
    edu_dma(&regs, iova(&again)?, true)?;
    if let Some(i) = first_difference(&bytes(&again)?, &data) {
        return Err(format!("byte {i} differs in the reallocated buffer"));
    }
    Ok(format!(
        "{DMA_LEN} bytes RAM (IOVA {a:#x}) -> edu -> RAM (IOVA {b:#x}) equal; the freed IOVA was unmapped and reused"
    ))
}

/// A DMA to an IOVA that was never mapped: edu's writes are dropped (no
/// RAM changes), its reads give zeros, the kernel logs a DMAR fault, and
/// edu works right after (an IOVA unmapped by dropping its buffer:
/// [`super::vfio_iova::edu_dropped_buffer`]).
pub fn edu_unmapped_iova() -> Outcome {
    let (dev, bar0) = open_edu()?;
    let regs = edu::Regs::new(&bar0).map_err(|e| e.to_string())?;
    let alloc = dev.dma_allocator(EDU_MASK);
    let known = alloc.alloc(4096).map_err(|e| e.to_string())?;
    let check = alloc.alloc(4096).map_err(|e| e.to_string())?;
    let data = pattern(0x7f10_0002, DMA_LEN);
    known
        .region()
        .write_bytes(0, &data)
        .map_err(|e| e.to_string())?;
    // edu's buffer holds `data`.
    edu_dma(&regs, iova(&known)?, false)?;
    // An IOVA never mapped, below the mask.
    let never = 0x80_0000;
    {
        let target = never;
        // Device -> RAM at the unmapped IOVA: the write must be dropped.
        edu_dma(&regs, target, true)?;
        if let Some(i) = first_difference(&bytes(&known)?, &data) {
            return Err(format!(
                "byte {i} of a mapped buffer changed after a DMA to unmapped IOVA {target:#x}"
            ));
        }
        // RAM -> device from the unmapped IOVA: edu reads zeros (`check`
        // is filled first, so zeros there come from the device).
        check
            .region()
            .write_bytes(0, &[0xa5; DMA_LEN])
            .map_err(|e| e.to_string())?;
        edu_dma(&regs, target, false)?;
        edu_dma(&regs, iova(&check)?, true)?;
        if bytes(&check)?.iter().any(|&b| b != 0) {
            return Err(format!(
                "edu read non-zero bytes from unmapped IOVA {target:#x}"
            ));
        }
        // edu still works: put the data back through a mapped IOVA.
        edu_dma(&regs, iova(&known)?, false)?;
    }
    edu_dma(&regs, iova(&check)?, true)?;
    if let Some(i) = first_difference(&bytes(&check)?, &data) {
        return Err(format!("byte {i} differs in a DMA after the faults"));
    }
    let log = kernel_log()?;
    let Some(fault) = dmar_faults(&log, never).pop() else {
        return Err(format!("no DMAR fault for {never:#x} in the kernel log"));
    };
    Ok(format!(
        "DMA to never-mapped IOVA {never:#x}: writes dropped, reads zero, mapped RAM unchanged, edu works after; kernel: {}",
        fault.trim()
    ))
}

/// The kernel log (`dmesg`).
pub(crate) fn kernel_log() -> Result<String, String> {
    let out = std::process::Command::new("dmesg")
        .output()
        .map_err(|e| format!("running dmesg: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The kernel log's DMAR fault lines for IOVA `addr` (`fault addr 0x…`).
pub(crate) fn dmar_faults(log: &str, addr: u64) -> Vec<&str> {
    let needle = format!("fault addr {addr:#x} ");
    log.lines()
        .filter(|l| l.contains("DMAR") && l.contains(&needle))
        .collect()
}

/// `n` interrupts over INTx through VFIO: raised with IRQ_RAISE, waited
/// for on the eventfd, acknowledged in edu, unmasked; none lost or merged.
pub fn edu_intx(n: u32) -> Outcome {
    let (dev, bar0) = open_edu()?;
    let regs = edu::Regs::new(&bar0).map_err(|e| e.to_string())?;
    let irq = dev.irq(IrqKind::Intx, 1).map_err(|e| e.to_string())?;
    for i in 0..n {
        regs.irq_raise().write(edu::regs::IRQ_RAISE::FACT::SET);
        let count = irq.wait(0, T).map_err(|e| format!("interrupt {i}: {e}"))?;
        if count != 1 {
            return Err(format!("interrupt {i}: the eventfd counted {count}"));
        }
        regs.irq_ack().write(edu::regs::IRQ_ACK::FACT::SET);
        irq.unmask().map_err(|e| e.to_string())?;
    }
    match irq.wait(0, Duration::from_millis(100)) {
        Err(e) if e.is_timeout() => {}
        other => return Err(format!("a wait after the last ack gave {other:?}")),
    }
    Ok(format!(
        "{n} INTx interrupts through VFIO: each waited for, acknowledged, unmasked"
    ))
}

/// The subcommand [`edu_unprivileged`] runs as uid 65534.
pub const UNPRIVILEGED_CASE: &str = "vfio-edu-open-as-user";

/// As root: binds edu to vfio-pci; as uid 65534 opening it must fail with
/// EACCES on `/dev/vfio/N` and say to chown it or add a udev rule; after
/// `chown 65534 /dev/vfio/N` the same user opens it, reads edu's ID and
/// does a DMA round trip through IOVAs (no root needed from then on). The node's owner is restored after.
pub fn edu_unprivileged() -> Outcome {
    let node = bind_edu_to_vfio()?;
    let (ok, refused) =
        super::dma::run_as_nobody(UNPRIVILEGED_CASE).map(|(st, text)| (st.success(), text))?;
    let want = format!("opening {}", node.display());
    if ok || !refused.contains(&want) || !refused.contains("EACCES") || !refused.contains("chown") {
        return Err(format!(
            "uid 65534 without access to {}: expected a failure naming it, EACCES and chown, got: {refused}",
            node.display()
        ));
    }
    let opened = run_as_nobody_owning(&node, UNPRIVILEGED_CASE)?;
    Ok(format!(
        "uid 65534: refused ({refused}); after chown: {opened}"
    ))
}

/// Binds edu to vfio-pci (as root); its IOMMU group's node `/dev/vfio/N`.
pub(crate) fn bind_edu_to_vfio() -> Result<std::path::PathBuf, String> {
    let mut pci = PciDevice::find_by_ids(EDU_IDS).map_err(|e| e.to_string())?;
    pci.bind_vfio_pci()
        .map_err(|e| format!("binding edu to vfio-pci: {e}"))?;
    let group = std::fs::read_link(pci.path().join("iommu_group"))
        .map_err(|e| format!("reading edu's iommu_group link: {e}"))?;
    Ok(std::path::Path::new("/dev/vfio").join(group.file_name().unwrap_or_default()))
}

/// Runs this binary's subcommand `case` as uid 65534 with the group node
/// `node` chowned to that user (its owner restored after); the case's
/// output, or an error with it when the case failed.
pub(crate) fn run_as_nobody_owning(node: &std::path::Path, case: &str) -> Outcome {
    let chown = |uid: u32| {
        nix::unistd::chown(node, Some(nix::unistd::Uid::from_raw(uid)), None)
            .map_err(|e| format!("chown {uid} {}: {e}", node.display()))
    };
    chown(65534)?;
    let granted = super::dma::run_as_nobody(case);
    chown(0)?;
    let (status, text) = granted?;
    if !status.success() {
        return Err(format!(
            "{case} as uid 65534 owning {}: {text}",
            node.display()
        ));
    }
    Ok(text)
}

/// [`edu_unprivileged`]'s half run as uid 65534: open edu through VFIO,
/// read its ID, a factorial signalled by MSI, DMA through IOVAs.
pub fn edu_open_as_user() -> Outcome {
    let dev =
        VfioDevice::open_by_id(crate::EDU_ID.0, crate::EDU_ID.1).map_err(|e| e.to_string())?;
    let bar0 = dev.map_region(0).map_err(|e| e.to_string())?;
    let id = bar0.try_read32(0).map_err(|e| e.to_string())?;
    if id != 0x0100_00ed {
        return Err(format!("ID reads {id:#010x}"));
    }
    // DMA (and MSI) without root: the pinned pages count against
    // RLIMIT_MEMLOCK; MSI needs Bus Master.
    dev.enable_bus_master().map_err(|e| e.to_string())?;
    let regs = edu::Regs::new(&bar0).map_err(|e| e.to_string())?;
    super::edu_quiesce(&regs);
    let irq = dev.irq(IrqKind::Msi, 1).map_err(|e| e.to_string())?;
    regs.status().modify(STATUS::IRQFACT::SET);
    regs.factorial().set(8);
    let msis = irq.wait(0, T).map_err(|e| format!("8! by MSI: {e}"))?;
    let fact = regs.factorial().get();
    regs.irq_ack().write(edu::regs::IRQ_ACK::FACT::SET);
    regs.status().modify(STATUS::IRQFACT::CLEAR);
    if fact != 40320 || msis != 1 {
        return Err(format!(
            "8! by MSI as uid {}: read {fact} after {msis} MSI(s), expected 40320 after 1",
            nix::unistd::getuid()
        ));
    }
    let alloc = dev.dma_allocator(EDU_MASK);
    let src = alloc.alloc(4096).map_err(|e| e.to_string())?;
    let dst = alloc.alloc(4096).map_err(|e| e.to_string())?;
    let data = pattern(0x7f10_0003, DMA_LEN);
    src.region()
        .write_bytes(0, &data)
        .map_err(|e| e.to_string())?;
    edu_dma(&regs, iova(&src)?, false)?;
    edu_dma(&regs, iova(&dst)?, true)?;
    if let Some(i) = first_difference(&bytes(&dst)?, &data) {
        return Err(format!(
            "byte {i} differs after a DMA round trip as uid 65534"
        ));
    }
    Ok(format!(
        "uid {} opened {}, read ID {id:#010x}, computed 8! = {fact} signalled by MSI and did a {DMA_LEN}-byte DMA round trip through IOVAs",
        nix::unistd::getuid(),
        dev.address()
    ))
}
