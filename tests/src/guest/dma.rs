//! DMA buffers in the guest: physical addresses as root, the clear error
//! without CAP_SYS_ADMIN.

use std::os::unix::process::CommandExt;
use std::process::Command;

use dma_mem::{DmaAllocator, DmaError, DmaMask, PagemapAllocator};

use super::Outcome;

/// The subcommand [`dma_pagemap`] runs as uid 65534.
pub const UNPRIVILEGED_CASE: &str = "dma-pagemap-unprivileged";

/// edu's DMA mask.
const EDU_MASK: DmaMask = DmaMask::bits(28);

/// As root: a 3-page buffer for edu's 28-bit mask has non-zero,
/// page-aligned physical addresses inside the VM's RAM. Then the same
/// allocation as uid 65534 (this binary run again) must fail with
/// NeedsCapSysAdmin.
pub fn dma_pagemap() -> Outcome {
    if !nix::unistd::geteuid().is_root() {
        return Err("dma-pagemap runs as root (it starts its unprivileged half itself)".into());
    }
    let page = hal_core::page_size();
    let ram_end = u64::from(qemu::DEFAULT_MEMORY_MIB) << 20;
    let buf = PagemapAllocator::new(EDU_MASK)
        .alloc(3 * page)
        .map_err(|e| format!("allocating 3 pages as root: {e}"))?;
    let mut frames = Vec::new();
    for i in 0..3 {
        let addr = buf.device_addr(i * page, page).map_err(|e| e.to_string())?;
        if addr == 0 || addr % page as u64 != 0 || addr + page as u64 > ram_end {
            return Err(format!(
                "page {i} at {addr:#x}: expected a non-zero page-aligned address below {ram_end:#x} (the VM's RAM)"
            ));
        }
        frames.push(addr);
    }
    let mut distinct = frames.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != 3 {
        return Err(format!("pages share frames: {frames:#x?}"));
    }
    buf.verify().map_err(|e| e.to_string())?;

    let (status, child) = run_as_nobody(UNPRIVILEGED_CASE)?;
    if !status.success() {
        return Err(format!("as uid 65534 ({status}): {child}"));
    }
    Ok(format!(
        "root: {} segment(s), pages at {frames:x?} (below {ram_end:#x}); {child}",
        buf.segments().len()
    ))
}

/// The user the unprivileged halves run as (nobody).
pub(crate) const NOBODY: u32 = 65534;

/// Runs this binary's subcommand `case` as uid and gid 65534 (nobody),
/// without supplementary groups; its exit status and its output.
pub(crate) fn run_as_nobody(case: &str) -> Result<(std::process::ExitStatus, String), String> {
    run_as(NOBODY, &[], &[case])
}

/// Runs this binary with `args` as `uid` (its gid the same number) with the
/// supplementary groups `groups` and nothing else; its exit status and its
/// output (stdout then stderr, trimmed).
pub(crate) fn run_as(
    uid: u32,
    groups: &[u32],
    args: &[&str],
) -> Result<(std::process::ExitStatus, String), String> {
    let exe = std::env::current_exe().map_err(|e| format!("finding vm-guest: {e}"))?;
    let mut cmd = Command::new(&exe);
    cmd.args(args);
    run_command_as(uid, groups, &mut cmd)
}

/// Runs `cmd` as `uid` (gid the same number) with exactly the supplementary
/// groups `groups`; its exit status and its output (stdout then stderr,
/// trimmed), through [`run_with_ids`].
pub(crate) fn run_command_as(
    uid: u32,
    groups: &[u32],
    cmd: &mut Command,
) -> Result<(std::process::ExitStatus, String), String> {
    let what = format!("{cmd:?} as uid {uid} with groups {groups:?}");
    run_with_ids(cmd, uid, groups);
    let out = cmd.output().map_err(|e| format!("running {what}: {e}"))?;
    let parts = [&out.stdout, &out.stderr].map(|b| String::from_utf8_lossy(b).trim().to_string());
    let text = parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    Ok((out.status, text))
}

/// Makes `cmd` run as `uid` (gid the same number) with exactly the
/// supplementary groups `groups`, set by the child between fork and exec.
/// `Command::uid` would drop the supplementary groups and offers no way to
/// set them on stable Rust.
pub(crate) fn run_with_ids(cmd: &mut Command, uid: u32, groups: &[u32]) {
    use nix::unistd::{setgid, setgroups, setuid, Gid, Uid};
    let gids: Vec<Gid> = groups.iter().copied().map(Gid::from_raw).collect();
    // SAFETY: the closure runs in the child between fork and exec. It only
    // makes the setgroups, setgid and setuid system calls (async-signal-safe)
    // on data built before the fork, and allocates nothing; on an error it
    // returns it and the exec does not happen.
    unsafe {
        cmd.pre_exec(move || {
            setgroups(&gids)?;
            setgid(Gid::from_raw(uid))?;
            setuid(Uid::from_raw(uid))?;
            Ok(())
        });
    }
}

/// Without CAP_SYS_ADMIN, the allocation fails with NeedsCapSysAdmin and
/// says so.
pub fn dma_pagemap_unprivileged() -> Outcome {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return Err(format!("{UNPRIVILEGED_CASE} must not run as root"));
    }
    match PagemapAllocator::new(EDU_MASK).alloc(3 * hal_core::page_size()) {
        Err(e @ DmaError::NeedsCapSysAdmin) if e.to_string().contains("needs CAP_SYS_ADMIN") => {
            Ok(format!("uid {uid}: {e}"))
        }
        Err(e) => Err(format!("uid {uid}: expected NeedsCapSysAdmin, got: {e}")),
        Ok(b) => Err(format!(
            "uid {uid}: allocation succeeded with segments {:x?}; the kernel should hide frame numbers",
            b.segments()
        )),
    }
}

/// Hugepages reserved at boot (`hugepages=` on the guest's kernel command
/// line; see [`crate::host::config`]).
pub const GUEST_HUGEPAGES: usize = 2;

/// A buffer from a 2 MiB hugepage (reserved at boot) is one physically
/// contiguous segment: its device address covers all 2 MiB, is 2 MiB
/// aligned and lies inside the VM's RAM, and a range that crosses 4 KiB
/// page boundaries has one device address (with base pages it would not).
pub fn dma_hugepage() -> Outcome {
    let huge = dma_mem::HUGEPAGE_SIZE;
    let ram_end = u64::from(qemu::DEFAULT_MEMORY_MIB) << 20;
    let buf = PagemapAllocator::new(EDU_MASK)
        .hugepages(true)
        .alloc(huge)
        .map_err(|e| format!("allocating a 2 MiB hugepage buffer: {e}"))?;
    if buf.segments().len() != 1 {
        return Err(format!("expected one segment, got {:x?}", buf.segments()));
    }
    let addr = buf.device_addr(0, huge).map_err(|e| e.to_string())?;
    if addr == 0 || addr % huge as u64 != 0 || addr + huge as u64 > ram_end {
        return Err(format!(
            "hugepage at {addr:#x}: expected a non-zero 2 MiB-aligned address below {ram_end:#x}"
        ));
    }
    let page = hal_core::page_size();
    let across = buf
        .device_addr(page - 16, 4095)
        .map_err(|e| format!("a range across a 4 KiB boundary: {e}"))?;
    if across != addr + page as u64 - 16 {
        return Err(format!(
            "the range at offset {:#x} has device address {across:#x}, not {:#x}",
            page - 16,
            addr + page as u64 - 16
        ));
    }
    buf.verify().map_err(|e| e.to_string())?;
    Ok(format!(
        "one 2 MiB segment at {addr:#x} (below {ram_end:#x}); bytes {:#x}..{:#x} at {across:#x}",
        page - 16,
        page - 16 + 4095
    ))
}
