//! The grants of the shipped udev rules (`udev/70-mmio-hal.rules`) in the
//! test VMs. The VMs have no udev: the cases read the grants from the file
//! ([`crate::udev_rules`]) and apply them as udev would (group and mode),
//! then run as a member of the group and as a user outside it.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::unistd::{chown, Gid};
use pci_sysfs::{PciDevice, UIO_PCI_GENERIC};
use uio_backend::UioDevice;

use super::dma::{run_as, run_command_as, run_with_ids, NOBODY};
use super::Outcome;
use crate::udev_rules::{self, Grant};
use crate::EDU_IDS;

/// The gid that stands for the rules' group in the VMs, which have no
/// group database (on a real system `groupadd` picks it).
pub const GROUP_GID: u32 = 990;

/// A user outside the group.
const OUTSIDER: u32 = 65533;

/// Files whose group and mode were changed, restored on drop.
struct Applied {
    saved: Vec<(PathBuf, u32, u32)>,
}

impl Applied {
    /// Gives `paths` the grant's mode and the group [`GROUP_GID`], as udev's
    /// `GROUP=`/`MODE=` (or the rule's `chgrp`/`chmod`) would.
    fn apply(grant: &Grant, paths: &[PathBuf]) -> Result<Applied, String> {
        let mut applied = Applied { saved: Vec::new() };
        for p in paths {
            let meta = std::fs::metadata(p).map_err(|e| format!("stat {}: {e}", p.display()))?;
            applied
                .saved
                .push((p.clone(), meta.gid(), meta.mode() & 0o7777));
            set(p, GROUP_GID, grant.mode)?;
        }
        Ok(applied)
    }
}

impl Drop for Applied {
    fn drop(&mut self) {
        for (p, gid, mode) in &self.saved {
            if let Err(e) = set(p, *gid, *mode) {
                eprintln!("restoring {}: {e}", p.display());
            }
        }
    }
}

fn set(p: &Path, gid: u32, mode: u32) -> Result<(), String> {
    chown(p, None, Some(Gid::from_raw(gid)))
        .map_err(|e| format!("chgrp {gid} {}: {e}", p.display()))?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {mode:o} {}: {e}", p.display()))
}

fn describe(grant: &Grant, paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    format!(
        "{}:{} grants group {} (gid {GROUP_GID} here) mode {:04o} on {}",
        udev_rules::RULES_PATH,
        grant.line,
        grant.group,
        grant.mode,
        names.join(", ")
    )
}

/// A refusal must name `file`, say the permission was denied, and point at
/// the rules' documentation.
fn check_refusal(who: &str, text: &str, file: &Path) -> Result<(), String> {
    let file = file.display().to_string();
    let denied = text.contains("EACCES") || text.contains("Permission denied");
    if !text.contains(&file) || !denied || !text.contains("docs/permissions.md") {
        return Err(format!(
            "{who}: expected a refusal naming {file}, the denied permission and docs/permissions.md, got: {text}"
        ));
    }
    Ok(())
}

/// VFIO VM, as root: binds edu to vfio-pci and gives its group node the
/// rules' grant; uid 65534 with the group as a supplementary group then
/// opens edu through VFIO (ID, a factorial by MSI, a DMA round trip through
/// IOVAs); uid 65533 without the group is refused with EACCES and the hint.
pub fn vfio_group_member() -> Outcome {
    let [grant, ..] = udev_rules::shipped()?;
    let node = super::vfio::bind_edu_to_vfio()?;
    let paths = [node.clone()];
    let _applied = Applied::apply(&grant, &paths)?;
    let case = super::vfio::UNPRIVILEGED_CASE;
    let (status, member) = run_as(NOBODY, &[GROUP_GID], &[case])?;
    if !status.success() {
        return Err(format!(
            "uid {NOBODY} in group {GROUP_GID} ({status}): {member}"
        ));
    }
    let (status, outsider) = run_as(OUTSIDER, &[], &[case])?;
    if status.success() {
        return Err(format!(
            "uid {OUTSIDER} outside the group opened {}: {outsider}",
            node.display()
        ));
    }
    check_refusal(&format!("uid {OUTSIDER}"), &outsider, &node)?;
    Ok(format!(
        "{}\nmember (uid {NOBODY}, groups [{GROUP_GID}]): {member}\noutsider (uid {OUTSIDER}): {outsider}",
        describe(&grant, &paths)
    ))
}

/// `vm-guest vfio-grant-edu` (VFIO VM, as root; the demo): binds edu to
/// vfio-pci and gives its group node the rules' grant, as udev would on a
/// real system, and leaves it so (later commands run as [`Who::Member`]).
pub fn vfio_grant_edu() -> Outcome {
    let [grant, ..] = udev_rules::shipped()?;
    let node = super::vfio::bind_edu_to_vfio()?;
    set(&node, GROUP_GID, grant.mode)?;
    Ok(describe(&grant, &[node]))
}

/// Whom [`exec_as`] runs a command as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// uid 65534 with the rules' group ([`GROUP_GID`]) as its only
    /// supplementary group.
    Member,
    /// uid 65533 without supplementary groups.
    Outsider,
}

/// `vm-guest as-member|as-outsider CMD [ARGS]`: replaces this process by
/// `CMD` run as `who`, so that its output and exit status are `CMD`'s own
/// (no fork: this process itself takes `who`'s ids just before the exec).
/// Returns only when that cannot be done: the error says why.
pub fn exec_as(who: Who, args: &[String]) -> Outcome {
    let (uid, groups): (u32, &[u32]) = match who {
        Who::Member => (NOBODY, &[GROUP_GID]),
        Who::Outsider => (OUTSIDER, &[]),
    };
    let [program, rest @ ..] = args else {
        return Err(
            "expected a command to run, e.g. `as-member regpoke --spec edu read ID`".into(),
        );
    };
    let mut cmd = Command::new(program);
    cmd.args(rest);
    run_with_ids(&mut cmd, uid, groups);
    let err = cmd.exec();
    Err(format!(
        "running `{}` as uid {uid} with groups {groups:?}: {err}",
        args.join(" ")
    ))
}

/// UIO VM, as root: gives edu's `/dev/uioN` and its sysfs `config` and
/// `resourceN` files the rules' grants; uid 65534 with the group then runs
/// `regpoke` through UIO and through `resource0` (ID, LIVENESS written and
/// read back) and waits for an interrupt; its DMA allocation is refused
/// with NeedsCapSysAdmin; uid 65533 without the group is refused, the
/// message naming the file and the permission.
pub fn uio_group_member(regpoke: &str) -> Outcome {
    let [_, node_grant, sysfs_grant] = udev_rules::shipped()?;
    let pci = PciDevice::find_by_ids(EDU_IDS).map_err(|e| e.to_string())?;
    if pci.driver() != Some(UIO_PCI_GENERIC) {
        return Err(format!(
            "edu is bound to {:?}; the rules match {UIO_PCI_GENERIC} only",
            pci.driver()
        ));
    }
    let uio = UioDevice::find_by_pci_ids(EDU_IDS).map_err(|e| e.to_string())?;
    let node = Path::new("/dev").join(uio.name());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(pci.path()).map_err(|e| e.to_string())? {
        let name = entry.map_err(|e| e.to_string())?.file_name();
        let name = name.to_string_lossy();
        if sysfs_grant
            .files
            .iter()
            .any(|p| udev_rules::matches(p, &name))
        {
            files.push(pci.path().join(&*name));
        }
    }
    files.sort();
    let resource0 = pci.path().join("resource0");
    if !files.contains(&resource0) {
        return Err(format!(
            "the sysfs grant does not cover {}",
            resource0.display()
        ));
    }
    let _node = Applied::apply(&node_grant, std::slice::from_ref(&node))?;
    let _sysfs = Applied::apply(&sysfs_grant, &files)?;

    let run = |uid: u32, groups: &[u32], args: &str| {
        let mut cmd = Command::new(regpoke);
        cmd.args(args.split_whitespace());
        run_command_as(uid, groups, &mut cmd)
    };
    let member = |args: &str| -> Result<String, String> {
        let (status, text) = run(NOBODY, &[GROUP_GID], args)?;
        if !status.success() {
            return Err(format!("member: regpoke {args} ({status}): {text}"));
        }
        Ok(text)
    };
    let expect = |args: &str, want: &[&str]| -> Result<String, String> {
        let text = member(args)?;
        match want.iter().find(|w| !text.contains(**w)) {
            Some(w) => Err(format!(
                "member: regpoke {args} printed `{text}`, without `{w}`"
            )),
            None => Ok(format!("regpoke {args} -> {}", text.replace('\n', " | "))),
        }
    };
    let mut report = vec![
        describe(&node_grant, std::slice::from_ref(&node)),
        describe(&sysfs_grant, &files),
    ];
    let node_name = node.display().to_string();
    report.push(expect(
        "--spec edu -v read ID",
        &["0x010000ed", &node_name],
    )?);
    report.push(expect(
        "--spec edu --pci 1234:11e8 -v write LIVENESS=0x12345678 --readback",
        &["0xedcba987", "resource0"],
    )?);
    member("--spec edu write IRQ_ACK=0xffffffff")?;
    let count = member("--spec edu irq count")?;
    let count = count.trim();
    member("--spec edu irq enable")?;
    member("--spec edu write IRQ_RAISE.FACT=1")?;
    report.push(expect(
        &format!("--spec edu irq wait --since {count} --timeout 2s"),
        &[],
    )?);
    report.push(expect("--spec edu read IRQ_STATUS.FACT", &["0x1"])?);
    member("--spec edu irq ack IRQ_ACK.FACT=1")?;
    report.push(expect("--spec edu read IRQ_STATUS", &["0x00000000"])?);

    let (status, dma) = run_as(NOBODY, &[GROUP_GID], &[super::dma::UNPRIVILEGED_CASE])?;
    if !status.success() {
        return Err(format!("member's DMA allocation: {dma}"));
    }
    report.push(format!("member's DMA: {dma}"));

    for (args, file) in [
        ("--spec edu read ID", &node),
        ("--spec edu --pci 1234:11e8 read ID", &resource0),
    ] {
        let (status, text) = run(OUTSIDER, &[], args)?;
        if status.success() {
            return Err(format!(
                "uid {OUTSIDER} outside the group: regpoke {args} succeeded: {text}"
            ));
        }
        check_refusal(&format!("uid {OUTSIDER}: regpoke {args}"), &text, file)?;
        report.push(format!("outsider: regpoke {args} refused: {text}"));
    }
    Ok(report.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_as_without_a_command_says_what_is_missing() {
        for who in [Who::Member, Who::Outsider] {
            let e = exec_as(who, &[]).unwrap_err();
            assert!(e.contains("expected a command"), "{e}");
        }
    }

    #[test]
    fn a_refusal_names_the_file_the_permission_and_the_docs() {
        let f = Path::new("/dev/uio0");
        let good = "opening /dev/uio0: EACCES: Permission denied; … (docs/permissions.md)";
        check_refusal("t", good, f).unwrap();
        for bad in [
            "opening /dev/uio1: EACCES; docs/permissions.md",
            "opening /dev/uio0: ENOENT; docs/permissions.md",
            "opening /dev/uio0: EACCES",
        ] {
            assert!(check_refusal("t", bad, f).is_err(), "{bad}");
        }
    }
}
