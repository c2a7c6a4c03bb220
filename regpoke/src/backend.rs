//! Device selection and mapping: which backend reaches the registers.
//!
//! Explicit selectors (`--file`, `--devmem`, `--uio`, `--pci`, `--vfio`) say
//! exactly what to map. Otherwise a spec with a PCI identity is enough: the
//! device is found by vendor:device ID through sysfs (direct reads, no
//! udev), and mapped through VFIO when it is bound to `vfio-pci` (only
//! that: see [`crate::vfio`]), through its UIO map when it is bound to
//! `uio_pci_generic` and the BAR is a UIO map, else through sysfs
//! `resourceN`, else through `/dev/mem`.

use std::fs::OpenOptions;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hal_core::page_size;
use pci_sysfs::{PciDevice, PciSelector, Sysfs};
use register_spec::{Block, Device};
use serde::Serialize;
use uio_backend::{UioDevice, UioInfo, UioScan, UioSelector};
use vfio_backend::VfioDevice;

use crate::cli::Global;
use crate::error::{Error, Result};
use crate::interrupts::Interrupts;
use crate::irqchoice::{self, Available, IrqChoice};
use crate::lock::LockBase;
use crate::spec;
use crate::trace::Regs;
use crate::vfio;

/// Diagnostics on stderr for `-v` / `-vv`.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    /// The `-v` count.
    pub level: u8,
}

impl Log {
    /// Prints at `-v`.
    pub fn info(&self, msg: impl FnOnce() -> String) {
        if self.level >= 1 {
            crate::output::err(&format!("regpoke: {}", msg()));
        }
    }
    /// Prints at `-vv`.
    pub fn trace(&self, msg: impl FnOnce() -> String) {
        if self.level >= 2 {
            crate::output::err(&format!("regpoke: {}", msg()));
        }
    }
}

/// What was selected, before anything is opened.
#[derive(Debug, Clone)]
pub enum Selection {
    /// `--file`.
    File {
        /// The file.
        path: PathBuf,
        /// Bytes to map.
        len: u64,
    },
    /// `--devmem`.
    Devmem {
        /// The /dev/mem node (under `--sysfs-root` in tests).
        node: PathBuf,
        /// Physical address.
        addr: u64,
        /// Bytes to map.
        len: u64,
    },
    /// `--uio`.
    Uio {
        /// The UIO device.
        info: UioInfo,
        /// Map index.
        map: usize,
        /// The BAR behind the map, if known.
        bar: Option<u8>,
        /// The parent PCI device, when it was read to pair maps with BARs.
        pci: Option<PciDevice>,
    },
    /// `--pci`: sysfs resourceN.
    Pci {
        /// The device.
        dev: PciDevice,
        /// BAR number.
        bar: u8,
    },
    /// `--vfio`: a device bound to vfio-pci, through its IOMMU group.
    Vfio {
        /// The device.
        dev: PciDevice,
        /// BAR number.
        bar: u8,
    },
    /// Found from the spec's PCI identity; backend chosen when mapping.
    Auto {
        /// The device.
        dev: PciDevice,
        /// BAR number.
        bar: u8,
    },
}

/// Where the registers were mapped from (part of every JSON document).
#[derive(Debug, Clone, Serialize)]
pub struct BackendInfo {
    /// `vfio`, `uio`, `sysfs`, `devmem` or `file`.
    pub kind: &'static str,
    /// The mapped file: `/dev/vfio/N` (the IOMMU group), `/dev/uio0`,
    /// `…/resource0`, `/dev/mem`, the file.
    pub path: String,
    /// PCI address, when the registers belong to a PCI device.
    pub pci: Option<String>,
    /// BAR number, when known.
    pub bar: Option<u8>,
    /// UIO map number (kind `uio`).
    pub map: Option<usize>,
    /// Physical address of the block's first byte, when known.
    pub phys: Option<u64>,
    /// Bytes mapped.
    pub len: u64,
}

/// An open mapping and what else the backend offers.
pub struct Mapped {
    /// The registers (through a recorder under `--trace`).
    pub region: Regs,
    /// Where they came from.
    pub info: BackendInfo,
    /// Identity for lock files.
    pub lock_base: LockBase,
    /// The UIO device, when mapped through UIO (for interrupts).
    pub uio: Option<UioDevice>,
    /// The VFIO device, when mapped through VFIO (for interrupts: its
    /// group can be open once).
    pub vfio: Option<Arc<VfioDevice>>,
}

/// The sysfs tree (the real `/`, or `--sysfs-root`).
pub fn sysfs(g: &Global) -> Sysfs {
    match &g.sysfs_root {
        Some(r) => Sysfs::new(r),
        None => Sysfs::system(),
    }
}

fn pci_err(e: pci_sysfs::PciError) -> Error {
    match e {
        pci_sysfs::PciError::InvalidAddress { .. } | pci_sysfs::PciError::InvalidId { .. } => {
            Error::usage(e.to_string())
        }
        other => Error::device(other.to_string()),
    }
}

fn uio_err(e: uio_backend::UioError) -> Error {
    Error::device(e.to_string())
}

/// Resolves the selection options against the spec: which device, which
/// BAR or map, and which block of the spec describes it.
pub fn select<'a>(
    g: &Global,
    dev_spec: Option<&'a Device>,
    log: Log,
) -> Result<(Selection, Option<&'a Block>)> {
    let given: Vec<&str> = [
        g.file.as_ref().map(|_| "--file"),
        g.devmem.map(|_| "--devmem"),
        g.uio.as_ref().map(|_| "--uio"),
        g.pci.as_ref().map(|_| "--pci"),
        g.vfio.as_ref().map(|_| "--vfio"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() > 1 {
        return Err(Error::usage(format!(
            "{} select different devices: give only one",
            given.join(" and ")
        )));
    }
    if g.map.is_some() && g.uio.is_none() {
        return Err(Error::usage("--map applies to --uio only").hint(
            "with a spec and no selector, the BAR (--bar or the block's binding) decides the map",
        ));
    }
    if g.bar.is_some() && (g.file.is_some() || g.devmem.is_some() || g.uio.is_some()) {
        return Err(Error::usage(
            "--bar applies to --pci, --vfio or to a device found from the spec's PCI identity",
        )
        .hint("with --uio, choose the map with --map; with --file or --devmem there are no BARs"));
    }
    if g.size.is_some() && !(g.file.is_some() || g.devmem.is_some()) {
        return Err(Error::usage("--size applies to --file and --devmem only")
            .hint("UIO maps and PCI BARs have their own size"));
    }
    if g.size == Some(0) {
        return Err(Error::usage("--size 0: there is nothing to map")
            .hint("give the number of bytes to map (--size 0x1000), or leave --size out to map the block's size"));
    }
    let explicit = match (&g.block, dev_spec) {
        (Some(name), Some(d)) => Some(spec::find_block(d, name)?),
        (Some(_), None) => {
            return Err(
                Error::usage("--block needs a register map").hint("give --spec FILE.yaml or NAME")
            )
        }
        (None, _) => None,
    };
    let default = || -> Result<Option<&'a Block>> {
        match (explicit, dev_spec) {
            (Some(b), _) => Ok(Some(b)),
            (None, Some(d)) => spec::default_block(d).map(Some),
            (None, None) => Ok(None),
        }
    };
    let sysfs = sysfs(g);

    if let Some(path) = &g.file {
        let block = default()?;
        let described = crate::place::Scope::new(dev_spec, block).region_len();
        let len = file_len(path, g.size, described)?;
        return Ok((
            Selection::File {
                path: path.clone(),
                len,
            },
            block,
        ));
    }
    if let Some(addr) = g.devmem {
        let block = default()?;
        let len = g
            .size
            .or(crate::place::Scope::new(dev_spec, block).region_len())
            .unwrap_or(page_size() as u64);
        let node = match &g.sysfs_root {
            Some(r) => r.join("dev/mem"),
            None => PathBuf::from(devmem_backend::DEV_MEM),
        };
        return Ok((Selection::Devmem { node, addr, len }, block));
    }
    if let Some(text) = &g.uio {
        let sel: UioSelector = text
            .parse()
            .map_err(|e: uio_backend::UioError| Error::usage(e.to_string()))?;
        let info = find_uio(&sysfs, &sel)?;
        // The parent PCI device tells which BAR a map is; needed only to
        // pair maps with the spec's blocks.
        let pci = dev_spec
            .and_then(|_| info.pci_address())
            .and_then(|a| sysfs.pci_device(a).ok());
        let bar_of_map = |n: usize| -> Option<u8> {
            let m = info.map(n)?;
            let p = pci.as_ref()?;
            p.bars()
                .find(|r| r.start == m.start())
                .map(|r| r.index as u8)
        };
        let wanted_bar = explicit
            .zip(dev_spec)
            .and_then(|(b, d)| spec::bar_of_block(d, b));
        let map = match (g.map, wanted_bar) {
            (Some(m), _) => m,
            (None, Some(bar)) if pci.is_some() => {
                match (0..info.maps().len()).find(|&n| bar_of_map(n) == Some(bar)) {
                    Some(m) => m,
                    None => {
                        return Err(Error::usage(format!(
                            "block {} is BAR{bar}, and {} has no map of BAR{bar} (uio_pci_generic maps only 32-bit non-prefetchable memory BARs)",
                            explicit.map(|b| b.name.as_str()).unwrap_or_default(),
                            info.device_name()
                        ))
                        .hint("map the BAR through sysfs instead: drop --uio (the spec finds the device) or use --pci BDF"))
                    }
                }
            }
            _ => 0,
        };
        let bar = bar_of_map(map);
        let block = block_for_bar(dev_spec, explicit, bar)?;
        if let (Some(d), Some(id)) = (dev_spec, info.pci_id()) {
            warn_id_mismatch(d, id, &info.device_name());
        }
        log.info(|| {
            format!(
                "selected {} map{map}{}",
                info.devnode().display(),
                bar.map(|b| format!(" (BAR{b})")).unwrap_or_default()
            )
        });
        return Ok((
            Selection::Uio {
                info,
                map,
                bar,
                pci,
            },
            block,
        ));
    }
    if let Some(text) = &g.pci {
        let sel: PciSelector = text.parse().map_err(pci_err)?;
        let dev = sysfs.select(&sel).map_err(pci_err)?;
        if let Some(d) = dev_spec {
            warn_id_mismatch(d, dev.id(), &dev.address().to_string());
        }
        let bar = choose_bar(g, dev_spec, explicit, &dev)?;
        let block = block_for_bar(dev_spec, explicit, Some(bar))?;
        return Ok((Selection::Pci { dev, bar }, block));
    }
    if let Some(text) = &g.vfio {
        let dev = if text.is_empty() {
            find_from_spec(&sysfs, dev_spec, "--vfio")?.0
        } else {
            let sel: PciSelector = text.parse().map_err(pci_err)?;
            let dev = sysfs.select(&sel).map_err(pci_err)?;
            if let Some(d) = dev_spec {
                warn_id_mismatch(d, dev.id(), &dev.address().to_string());
            }
            dev
        };
        vfio::check_bound(&dev)?;
        let bar = choose_bar(g, dev_spec, explicit, &dev)?;
        let block = block_for_bar(dev_spec, explicit, Some(bar))?;
        log.info(|| format!("selected vfio {} BAR{bar}", dev.address()));
        return Ok((Selection::Vfio { dev, bar }, block));
    }
    let (dev, d) = find_from_spec(&sysfs, dev_spec, "")?;
    let id = dev.id();
    let bar = choose_bar(g, dev_spec, explicit, &dev)?;
    let block = block_for_bar(dev_spec, explicit, Some(bar))?;
    log.info(|| {
        format!(
            "found {} ({id}, driver {}) from spec {}",
            dev.address(),
            dev.driver().unwrap_or("none"),
            d.name
        )
    });
    Ok((Selection::Auto { dev, bar }, block))
}

/// The device a spec's PCI identity finds, and that spec (`option`: the
/// selector that asked, or "" for the automatic choice, for the errors).
fn find_from_spec<'d>(
    sysfs: &Sysfs,
    dev_spec: Option<&'d Device>,
    option: &str,
) -> Result<(PciDevice, &'d Device)> {
    let given = if option.is_empty() {
        String::new()
    } else {
        format!("{option} without a device: ")
    };
    let Some(d) = dev_spec else {
        return Err(Error::usage(format!("{given}no device selected"))
            .hint("give --spec with a PCI identity (--spec edu), or --pci BDF|ID, --vfio=BDF|ID, --uio N, --devmem ADDR or --file PATH"));
    };
    let Some(pci) = &d.pci else {
        return Err(Error::usage(format!(
            "{given}no device selected, and spec {} has no PCI identity to find one by",
            d.name
        ))
        .hint("give --pci BDF|ID, --vfio=BDF|ID, --uio N, --devmem ADDR or --file PATH"));
    };
    let ids: Vec<pci_sysfs::PciId> = pci
        .ids()
        .iter()
        .map(|id| pci_sysfs::PciId::new(id.vendor, id.device))
        .collect();
    let dev = sysfs.find_by_ids(&ids).map_err(|e| {
        pci_err(e).hint(format!(
            "spec {} is for PCI ID {}; select a device explicitly with --pci, --vfio=BDF, --uio, --devmem or --file",
            d.name,
            pci.describe_ids()
        ))
    })?;
    Ok((dev, d))
}

fn warn_id_mismatch(d: &Device, id: pci_sysfs::PciId, what: &str) {
    if let Some(p) = &d.pci {
        if !p.matches(id.vendor, id.device) {
            crate::output::err(&format!(
                "regpoke: warning: spec {} is for PCI ID {}, but {what} is {id}",
                d.name,
                p.describe_ids()
            ));
        }
    }
}

/// The BAR: `--bar`, else the one the spec binds the chosen block to (the
/// explicit block, else the default block), else the first memory BAR.
fn choose_bar(
    g: &Global,
    d: Option<&Device>,
    explicit: Option<&Block>,
    dev: &PciDevice,
) -> Result<u8> {
    if let Some(b) = g.bar {
        return Ok(b);
    }
    if let Some(d) = d {
        let block = match explicit {
            Some(b) => Some(b),
            None => spec::default_block(d).ok(),
        };
        if let Some(bar) = block.and_then(|b| spec::bar_of_block(d, b)) {
            return Ok(bar);
        }
        if explicit.is_some() {
            return Err(Error::usage(format!(
                "block {} is not bound to a BAR in spec {}",
                explicit.map(|b| b.name.as_str()).unwrap_or_default(),
                d.name
            ))
            .hint("give --bar N"));
        }
    }
    dev.bars()
        .find(|r| r.flags.is_mem())
        .map(|r| r.index as u8)
        .ok_or_else(|| {
            Error::device(format!(
                "{} has no memory BAR ({})",
                dev.address(),
                dev.bar_summary()
            ))
        })
}

/// The block describing `bar`: the explicit one, the one the spec binds to
/// it (none if the spec binds other BARs only), or the default block.
fn block_for_bar<'a>(
    d: Option<&'a Device>,
    explicit: Option<&'a Block>,
    bar: Option<u8>,
) -> Result<Option<&'a Block>> {
    if explicit.is_some() {
        return Ok(explicit);
    }
    let Some(d) = d else { return Ok(None) };
    let has_bindings = d.pci.as_ref().is_some_and(|p| !p.bars.is_empty());
    match bar {
        Some(b) if has_bindings => Ok(spec::bound_block(d, b)),
        _ => spec::default_block(d).map(Some),
    }
}

/// How much of `--file` to map: `--size`, else `described` (the bytes the
/// spec describes from the start of the chosen block's BAR: its blocks at
/// their offsets) or the file's size if smaller, else the whole file.
fn file_len(path: &Path, size: Option<u64>, described: Option<u64>) -> Result<u64> {
    if let Some(s) = size {
        return Ok(s);
    }
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::device(format!("--file {}: {e}", path.display()))
            .hint("create and size the file first (e.g. truncate -s 1M FILE)")
    })?;
    if meta.is_file() {
        if meta.len() == 0 {
            return Err(Error::usage(format!(
                "--file {} is empty: there is nothing to map",
                path.display()
            ))
            .hint("size it first, e.g. truncate -s 1M FILE"));
        }
        return Ok(match described {
            Some(len) => len.min(meta.len()),
            None => meta.len(),
        });
    }
    described.ok_or_else(|| {
        Error::usage(format!("cannot tell how much of {} to map", path.display()))
            .hint("give --size N (or a --spec whose block size is used)")
    })
}

/// The UIO device a selector picks (number: read directly; else a scan of
/// `/sys/class/uio`).
pub fn find_uio(sysfs: &Sysfs, sel: &UioSelector) -> Result<UioInfo> {
    if let UioSelector::Number(n) = sel {
        let dir = sysfs.uio_class_dir().join(format!("uio{n}"));
        if dir.exists() {
            return UioInfo::from_sysfs_dir(sysfs, &dir, None).map_err(uio_err);
        }
    }
    UioScan::sysfs(sysfs.clone()).find(sel).map_err(|e| {
        let not_found = e.is_not_found();
        let err = uio_err(e);
        if not_found {
            err.hint("`regpoke list` shows the UIO devices; bind a PCI device with `echo uio_pci_generic > /sys/bus/pci/devices/BDF/driver_override; echo BDF > /sys/bus/pci/drivers_probe`")
        } else {
            err
        }
    })
}

/// The UIO device of a PCI device, if it is bound to a UIO driver.
pub fn uio_of_pci(sysfs: &Sysfs, dev: &PciDevice) -> Option<UioInfo> {
    // The kernel lists the UIO child under the PCI device: …/BDF/uio/uioN.
    if let Ok(entries) = std::fs::read_dir(dev.path().join("uio")) {
        for e in entries.flatten() {
            if let Ok(info) = UioInfo::for_pci_device(sysfs, &e.path(), dev) {
                return Some(info);
            }
        }
    }
    // Not bound to any driver: no UIO device.
    dev.driver()?;
    UioScan::sysfs(sysfs.clone())
        .find(&UioSelector::PciAddress(dev.address()))
        .ok()
}

/// The UIO map index of `bar` of a UIO device (matching start addresses).
pub fn uio_map_of_bar(info: &UioInfo, dev: &PciDevice, bar: u8) -> Option<usize> {
    let res = dev.bar(bar as usize)?;
    info.maps()
        .iter()
        .find(|m| m.start() == res.start)
        .map(|m| m.index)
}

/// How the automatic choice would reach `bar` of `dev`, without opening
/// anything (for `list` and for [`map`]).
pub fn plan_auto(sysfs: &Sysfs, dev: &PciDevice, bar: u8) -> Vec<BackendInfo> {
    if vfio::bound(dev) {
        return vfio::plan(sysfs, dev, bar).into_iter().collect();
    }
    plan_auto_with(sysfs, dev, bar, uio_candidate(sysfs, dev).as_ref())
}

/// The UIO device of `dev`, if it is bound to a UIO driver.
fn uio_candidate(sysfs: &Sysfs, dev: &PciDevice) -> Option<UioInfo> {
    if dev.driver() == Some(pci_sysfs::UIO_PCI_GENERIC) || dev.path().join("uio").is_dir() {
        uio_of_pci(sysfs, dev)
    } else {
        None
    }
}

/// [`plan_auto`] with the UIO device already looked up.
fn plan_auto_with(
    sysfs: &Sysfs,
    dev: &PciDevice,
    bar: u8,
    uio: Option<&UioInfo>,
) -> Vec<BackendInfo> {
    let Some(res) = dev.bar(bar as usize) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let pci = Some(dev.address().to_string());
    if let Some(info) = uio {
        if let Some(map) = uio_map_of_bar(info, dev, bar) {
            out.push(BackendInfo {
                kind: "uio",
                path: info.devnode().display().to_string(),
                pci: pci.clone(),
                bar: Some(bar),
                map: Some(map),
                phys: Some(res.start),
                len: res.len(),
            });
        }
    }
    if let Some(file) = &res.file {
        out.push(BackendInfo {
            kind: "sysfs",
            path: file.display().to_string(),
            pci: pci.clone(),
            bar: Some(bar),
            map: None,
            phys: Some(res.start),
            len: res.len(),
        });
    }
    out.push(BackendInfo {
        kind: "devmem",
        path: sysfs.dev_dir().join("mem").display().to_string(),
        pci,
        bar: Some(bar),
        map: None,
        phys: Some(res.start),
        len: res.len(),
    });
    out
}

fn to_usize(len: u64, what: &str) -> Result<usize> {
    usize::try_from(len).map_err(|_| {
        Error::usage(format!(
            "{what}: {len:#x} bytes do not fit in the address space"
        ))
    })
}

/// Opens and maps the selection: the first `extent` bytes of the block
/// (rounded up to whole pages), or all of it when `extent` is `None`.
pub fn map(sel: &Selection, g: &Global, log: Log, extent: Option<u64>) -> Result<Mapped> {
    let page = page_size() as u64;
    let limit = extent.map(|e| {
        let pages = e.div_ceil(page).max(1);
        usize::try_from(pages.saturating_mul(page)).unwrap_or(usize::MAX)
    });
    let clamp = |len: u64| limit.map_or(len, |l| len.min(l as u64));
    match sel {
        Selection::File { path, len } => {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| {
                    Error::device(format!("opening {} read-write: {e}", path.display()))
                        .hint("the file must exist and be readable and writable")
                })?;
            let meta = file
                .metadata()
                .map_err(|e| Error::device(format!("stat {}: {e}", path.display())))?;
            let region = devmem_backend::map_fd(&file, 0, to_usize(clamp(*len), "--size")?, path)
                .map_err(|e| Error::device(e.to_string()))?;
            let len = region.len() as u64;
            log.info(|| format!("using file {} ({len:#x} bytes)", path.display()));
            Ok(Mapped {
                region: region.into(),
                info: BackendInfo {
                    kind: "file",
                    path: path.display().to_string(),
                    pci: None,
                    bar: None,
                    map: None,
                    phys: None,
                    len,
                },
                lock_base: LockBase::File {
                    dev: meta.dev(),
                    ino: meta.ino(),
                },
                uio: None,
                vfio: None,
            })
        }
        Selection::Devmem { node, addr, len } => {
            let region = devmem_backend::DevMem::open_path(node)
                .and_then(|m| m.map(*addr, to_usize(clamp(*len), "--size").unwrap_or(usize::MAX)))
                .map_err(|e| Error::device(e.to_string()))?;
            let len = region.len() as u64;
            log.info(|| {
                format!(
                    "using devmem {} at {addr:#x} ({len:#x} bytes)",
                    node.display()
                )
            });
            Ok(Mapped {
                region: region.into(),
                info: BackendInfo {
                    kind: "devmem",
                    path: node.display().to_string(),
                    pci: None,
                    bar: None,
                    map: None,
                    phys: Some(*addr),
                    len,
                },
                lock_base: LockBase::Phys(*addr),
                uio: None,
                vfio: None,
            })
        }
        Selection::Uio {
            info,
            map,
            bar,
            pci,
        } => map_uio(info, *map, *bar, pci.as_ref(), limit, log),
        Selection::Pci { dev, bar } => map_sysfs(dev, *bar, limit, log),
        Selection::Vfio { dev, bar } => vfio::map(dev, *bar, "--vfio", log),
        Selection::Auto { dev, bar } if vfio::bound(dev) => {
            vfio::map(dev, *bar, "bound to vfio-pci", log).map_err(|e| {
                e.hint(format!(
                    "{} is bound to vfio-pci, so regpoke uses VFIO only (a group is opened by one process at a time); to map the BAR through sysfs anyway, as root and without interrupts, give --pci {}",
                    dev.address(),
                    dev.address()
                ))
            })
        }
        Selection::Auto { dev, bar } => {
            let sysfs = sysfs(g);
            // Looked up once: the plan and the mapping use the same UIO device.
            let uio = uio_candidate(&sysfs, dev);
            let plan = plan_auto_with(&sysfs, dev, *bar, uio.as_ref());
            if plan.is_empty() {
                return Err(Error::device(format!(
                    "{} has no BAR{bar} ({})",
                    dev.address(),
                    dev.bar_summary()
                )));
            }
            // Why UIO is not among the candidates, for -v.
            let uio_skipped = if plan.iter().any(|p| p.kind == "uio") {
                None
            } else {
                Some(match &uio {
                    Some(info) => format!(
                        "{} has no map of BAR{bar} ({}): uio_pci_generic maps only 32-bit non-prefetchable memory BARs",
                        info.device_name(),
                        dev.bar(*bar as usize)
                            .map(|r| r.flags.to_string())
                            .unwrap_or_else(|| "unknown kind".into())
                    ),
                    None => match dev.driver() {
                        Some(d) if d == pci_sysfs::UIO_PCI_GENERIC => format!(
                            "{} is bound to {d}, but no UIO device of it was found",
                            dev.address()
                        ),
                        Some(d) => format!("{} is bound to {d}, not to uio_pci_generic", dev.address()),
                        None => format!("{} is not bound to any driver (not to uio_pci_generic)", dev.address()),
                    },
                })
            };
            if let Some(why) = &uio_skipped {
                log.info(|| format!("not using UIO: {why}"));
            }
            let mut failures = Vec::new();
            for p in &plan {
                let attempt = match p.kind {
                    "uio" => uio
                        .as_ref()
                        .ok_or_else(|| Error::device("the UIO device went away"))
                        .and_then(|info| {
                            map_uio(info, p.map.unwrap_or(0), Some(*bar), Some(dev), limit, log)
                        }),
                    "sysfs" => map_sysfs(dev, *bar, limit, log),
                    _ => {
                        let node = PathBuf::from(&p.path);
                        let sel = Selection::Devmem {
                            node,
                            addr: p.phys.unwrap_or(0),
                            len: p.len,
                        };
                        map(&sel, g, log, extent).map(|mut m| {
                            m.info.pci = p.pci.clone();
                            m.info.bar = p.bar;
                            m
                        })
                    }
                };
                match attempt {
                    Ok(m) => {
                        log.info(|| {
                            let why = match p.kind {
                                "uio" => {
                                    "bound to uio_pci_generic and the BAR is a UIO map".to_string()
                                }
                                "sysfs" => match &uio_skipped {
                                    Some(w) => format!("sysfs resource file; not UIO: {w}"),
                                    None => "sysfs resource file; UIO failed".to_string(),
                                },
                                _ => "no UIO map or resource file usable".to_string(),
                            };
                            format!("backend {} via {} ({why})", p.kind, p.path)
                        });
                        return Ok(m);
                    }
                    Err(e) => {
                        log.info(|| {
                            format!("backend {} via {} failed: {}", p.kind, p.path, e.message)
                        });
                        failures.push(format!("{} ({}): {}", p.kind, p.path, e.message));
                    }
                }
            }
            Err(Error::device(format!(
                "cannot map BAR{bar} of {}; tried {}",
                dev.address(),
                failures.join("; then ")
            ))
            .hint("run as root; or bind the device to vfio-pci and use --vfio (a member of the group `mmio` can, see docs/permissions.md); or bind it to uio_pci_generic and grant /dev/uioN the same way (trusted users only)"))
        }
    }
}

fn map_uio(
    info: &UioInfo,
    map: usize,
    bar: Option<u8>,
    pci: Option<&PciDevice>,
    limit: Option<usize>,
    log: Log,
) -> Result<Mapped> {
    let dev = match pci {
        Some(p) => UioDevice::open_with_pci(info, p.clone()),
        None => UioDevice::open(info),
    }
    .map_err(uio_err)?;
    let region = match limit {
        Some(l) => dev.map_prefix(map, l),
        None => dev.map(map),
    }
    .map_err(|e| match e {
        uio_backend::UioError::NoSuchMap {
            device, available, ..
        } => no_such_map(&device, map, &available, info, pci),
        other => uio_err(other),
    })?;
    let m = info
        .map(map)
        .ok_or_else(|| Error::device(format!("{} has no map{map}", info.device_name())))?;
    log.info(|| {
        format!(
            "using {} map{map} ({:#x} bytes)",
            info.devnode().display(),
            region.len()
        )
    });
    Ok(Mapped {
        info: BackendInfo {
            kind: "uio",
            path: info.devnode().display().to_string(),
            pci: info.pci_address().map(|a| a.to_string()),
            bar,
            map: Some(map),
            phys: Some(m.start()),
            len: region.len() as u64,
        },
        region: region.into(),
        lock_base: LockBase::Phys(m.start()),
        uio: Some(dev),
        vfio: None,
    })
}

/// `--uio N --map M` where the device has no map M: which maps there
/// are, and for a PCI device the BARs that are not UIO maps and the
/// regpoke options that reach them (sysfs `resourceN`).
fn no_such_map(
    device: &str,
    map: usize,
    available: &str,
    info: &UioInfo,
    pci: Option<&PciDevice>,
) -> Error {
    let e = Error::device(format!("{device} has no map{map}: {available}"));
    let Some(addr) = info.pci_address() else {
        return e.hint("give --map with one of the maps listed");
    };
    let others: Vec<String> = pci
        .map(|p| {
            p.bars()
                .filter(|b| b.flags.is_mem() && !info.maps().iter().any(|m| m.start() == b.start))
                .map(|b| format!("BAR{}", b.index))
                .collect()
        })
        .unwrap_or_default();
    let which = match others.as_slice() {
        [] => "a BAR that is not a UIO map".to_string(),
        [one] => format!("{one}, which is not a UIO map"),
        many => format!("{}, which are not UIO maps", many.join(" or ")),
    };
    e.hint(format!(
        "map numbers are not BAR numbers; uio_pci_generic maps only 32-bit non-prefetchable memory BARs. For {which}, use --pci {addr} --bar N instead of --uio (or --spec alone, which maps such a BAR through sysfs)"
    ))
}

fn map_sysfs(dev: &PciDevice, bar: u8, limit: Option<usize>, log: Log) -> Result<Mapped> {
    let region = match limit {
        Some(l) => devmem_backend::map_bar_prefix(dev, bar as usize, l),
        None => devmem_backend::map_bar(dev, bar as usize),
    }
    .map_err(|e| Error::device(e.to_string()))?;
    let res = dev.bar(bar as usize);
    let path = dev.resource_path(bar as usize, false);
    log.info(|| format!("using {} ({:#x} bytes)", path.display(), region.len()));
    let start = res.map(|r| r.start).unwrap_or(0);
    Ok(Mapped {
        info: BackendInfo {
            kind: "sysfs",
            path: path.display().to_string(),
            pci: Some(dev.address().to_string()),
            bar: Some(bar),
            map: None,
            phys: Some(start),
            len: region.len() as u64,
        },
        region: region.into(),
        lock_base: LockBase::Phys(start),
        uio: None,
        vfio: None,
    })
}

/// Whether the selection's registers and interrupts go through VFIO
/// (`--vfio`, or a device found from the spec and bound to vfio-pci).
pub fn uses_vfio(sel: &Selection) -> bool {
    match sel {
        Selection::Vfio { .. } => true,
        Selection::Auto { dev, .. } => vfio::bound(dev),
        _ => false,
    }
}

/// The interrupts of the selection: the mapping's VFIO device (see
/// [`uses_vfio`]: it must be mapped first), else its UIO device.
pub fn interrupts(
    sel: &Selection,
    g: &Global,
    mapped: Option<&Mapped>,
    choice: &IrqChoice,
    log: Log,
) -> Result<Interrupts> {
    if let Some(dev) = mapped.and_then(|m| m.vfio.as_ref()) {
        return vfio::VfioInterrupts::open(dev.clone(), choice, log).map(Interrupts::Vfio);
    }
    let dev = irq_device(sel, g, mapped)?;
    let node = dev.info().devnode().display().to_string();
    // UIO has one interrupt, INTx: the same check as VFIO's, against that.
    let chosen = irqchoice::choose(&node, &Available::UIO, choice).map_err(|e| {
        e.hint("UIO delivers one interrupt, INTx vector 0; MSI and MSI-X need VFIO: bind the device to vfio-pci and select it with --vfio")
    })?;
    log.info(|| format!("interrupts through {node} ({chosen})"));
    Ok(Interrupts::Uio { dev, irq: None })
}

/// The UIO device that delivers the selection's interrupts.
fn irq_device(sel: &Selection, g: &Global, mapped: Option<&Mapped>) -> Result<UioDevice> {
    if let Some(u) = mapped.and_then(|m| m.uio.as_ref()) {
        return Ok(u.clone());
    }
    let no_uio = |what: String| {
        Error::usage(format!("interrupts need a UIO or VFIO device, and {what}"))
            .hint("select the device with --uio N or --vfio, or with a spec/--pci whose device is bound to uio_pci_generic or vfio-pci")
    };
    match sel {
        Selection::Uio { info, .. } => UioDevice::open(info).map_err(uio_err),
        Selection::Pci { dev, .. } | Selection::Auto { dev, .. } => {
            match uio_of_pci(&sysfs(g), dev) {
                Some(info) => UioDevice::open(&info).map_err(uio_err),
                None => Err(Error::device(format!(
                    "{} is bound to {}, not to a UIO driver, so its interrupts cannot be waited for{}",
                    dev.address(),
                    dev.driver().unwrap_or("no driver"),
                    if vfio::bound(dev) { " through --pci" } else { "" }
                ))
                .hint(if vfio::bound(dev) {
                    format!("use VFIO: --vfio={0} instead of --pci {0}", dev.address())
                } else {
                    format!(
                        "bind it: modprobe uio_pci_generic; echo uio_pci_generic > /sys/bus/pci/devices/{0}/driver_override; echo {0} > /sys/bus/pci/drivers_probe (or to vfio-pci, for VFIO)",
                        dev.address()
                    )
                })),
            }
        }
        Selection::Vfio { dev, .. } => Err(Error::usage(format!(
            "internal error: the interrupts of vfio {} were asked for before it was mapped",
            dev.address()
        ))),
        Selection::File { path, .. } => Err(no_uio(format!("--file {} has none", path.display()))),
        Selection::Devmem { .. } => Err(no_uio("--devmem has none".into())),
    }
}
