//! `regpoke list`: UIO and PCI devices, the spec that matches each, and the
//! backend the automatic selection would use.

use std::fmt::Write as _;

use pci_sysfs::PciDevice;
use register_spec::Device;
use serde::Serialize;
use serde_json::{json, Value};
use uio_backend::UioScan;

use crate::backend::{self, BackendInfo};
use crate::cli::Global;
use crate::error::Error;
use crate::{out, render, report, spec};

#[derive(Serialize)]
struct UioEntry {
    name: String,
    number: u32,
    driver: String,
    node: String,
    pci: Option<String>,
    id: Option<String>,
    maps: Vec<MapEntry>,
    spec: Option<String>,
}

#[derive(Serialize)]
struct MapEntry {
    index: usize,
    addr: u64,
    offset: u64,
    size: u64,
    bar: Option<usize>,
}

#[derive(Serialize)]
struct PciEntry {
    address: String,
    id: String,
    vendor: u16,
    device: u16,
    class: u32,
    driver: Option<String>,
    irq: u32,
    bars: Vec<BarEntry>,
    spec: Option<String>,
    blocks: Vec<BlockEntry>,
}

#[derive(Serialize)]
struct BarEntry {
    bar: usize,
    start: u64,
    len: u64,
    flags: String,
}

#[derive(Serialize)]
struct BlockEntry {
    block: String,
    bar: u8,
    /// Offset of the block (of element 0 of a block array) in the BAR.
    offset: u64,
    /// Elements and stride of a block array.
    count: u64,
    stride: Option<u64>,
    backend: Option<BackendInfo>,
}

impl BlockEntry {
    /// `regs = BAR0`, `irq = BAR0+0x800`, `ch[0..3] = BAR0+0x1000 (stride 0x100)`.
    fn placement(&self) -> String {
        let name = match self.stride {
            Some(_) => format!("{}[0..{}]", self.block, self.count.saturating_sub(1)),
            None => self.block.clone(),
        };
        let mut s = format!("{name} = BAR{}", self.bar);
        if self.offset != 0 {
            s.push_str(&format!("+{:#x}", self.offset));
        }
        if let Some(stride) = self.stride {
            s.push_str(&format!(" (stride {stride:#x})"));
        }
        s
    }
}

/// Every spec to match devices against: the shipped ones and `--spec`.
fn specs(g: &Global) -> Result<Vec<Device>, Error> {
    let mut v: Vec<Device> = device_specs::SPECS
        .iter()
        .filter_map(|s| register_spec::parse(s.yaml, s.file).ok())
        .collect();
    if let Some(s) = &g.spec {
        let (d, _) = spec::load(s)?;
        // A shipped spec sharing an ID with --spec gives way to it.
        v.retain(|x| match (&x.pci, &d.pci) {
            (Some(xp), Some(dp)) => !xp.ids().iter().any(|id| dp.matches(id.vendor, id.device)),
            _ => true,
        });
        v.insert(0, d);
    }
    Ok(v)
}

fn spec_for(specs: &[Device], vendor: u16, device: u16) -> Option<&Device> {
    specs
        .iter()
        .find(|d| d.pci.as_ref().is_some_and(|p| p.matches(vendor, device)))
}

/// Runs `regpoke list`; returns the exit status.
pub fn run(g: &Global) -> i32 {
    let specs = match specs(g) {
        Ok(s) => s,
        Err(e) => return report(&e),
    };
    let sysfs = backend::sysfs(g);
    let mut errors = Vec::new();
    let pci_devices: Vec<PciDevice> = match sysfs.pci_devices() {
        Ok(v) => v,
        Err(e) => {
            errors.push(Error::device(e.to_string()));
            Vec::new()
        }
    };
    let uio = match UioScan::sysfs(sysfs.clone()).list() {
        Ok(v) => v,
        Err(e) => {
            errors.push(Error::device(e.to_string()));
            Vec::new()
        }
    };
    let uio_entries: Vec<UioEntry> = uio
        .iter()
        .map(|u| {
            let pci = u
                .pci_address()
                .and_then(|a| pci_devices.iter().find(|d| d.address() == a));
            UioEntry {
                name: u.device_name(),
                number: u.number(),
                driver: u.name().to_string(),
                node: u.devnode().display().to_string(),
                pci: u.pci_address().map(|a| a.to_string()),
                id: u.pci_id().map(|i| i.to_string()),
                maps: u
                    .maps()
                    .iter()
                    .map(|m| MapEntry {
                        index: m.index,
                        addr: m.addr,
                        offset: m.offset,
                        size: m.size,
                        bar: pci
                            .and_then(|p| p.bars().find(|r| r.start == m.start()).map(|r| r.index)),
                    })
                    .collect(),
                spec: u
                    .pci_id()
                    .and_then(|id| spec_for(&specs, id.vendor, id.device))
                    .map(|d| d.name.clone()),
            }
        })
        .collect();
    // Class and IRQ are read per device now; a device that cannot be read
    // is still listed, and the failure reported (exit status 1).
    let mut detail = |d: &PciDevice, v: std::result::Result<u32, pci_sysfs::PciError>| {
        v.unwrap_or_else(|e| {
            errors.push(Error::device(format!("{}: {e}", d.address())));
            0
        })
    };
    let pci_entries: Vec<PciEntry> = pci_devices
        .iter()
        .map(|d| {
            let class = detail(d, d.class());
            let irq = detail(d, d.irq());
            let sp = spec_for(&specs, d.vendor(), d.device());
            let blocks = sp
                .and_then(|s| s.pci.as_ref())
                .map(|p| {
                    p.bars
                        .iter()
                        .map(|b| {
                            let array = sp.and_then(|s| s.block(&b.block)).and_then(|x| x.array);
                            BlockEntry {
                                block: b.block.clone(),
                                bar: b.bar,
                                offset: b.offset,
                                count: array.map_or(1, |a| a.count),
                                stride: array.map(|a| a.stride),
                                backend: backend::plan_auto(&sysfs, d, b.bar).into_iter().next(),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            PciEntry {
                address: d.address().to_string(),
                id: d.id().to_string(),
                vendor: d.vendor(),
                device: d.device(),
                class,
                driver: d.driver().map(String::from),
                irq,
                bars: d
                    .bars()
                    .map(|r| BarEntry {
                        bar: r.index,
                        start: r.start,
                        len: r.len(),
                        flags: r.flags.to_string(),
                    })
                    .collect(),
                spec: sp.map(|s| s.name.clone()),
                blocks,
            }
        })
        .collect();
    if g.json {
        let doc = json!({
            "regpoke": render::JSON_VERSION,
            "command": "list",
            "uio": uio_entries,
            "pci": pci_entries,
            "error": errors.first().map(render::error_json).unwrap_or(Value::Null),
        });
        render::print_json(&doc);
    } else {
        out(&text(&uio_entries, &pci_entries));
    }
    match errors.first() {
        Some(e) => report(e),
        None => 0,
    }
}

fn text(uio: &[UioEntry], pci: &[PciEntry]) -> String {
    let mut s = String::new();
    s.push_str("UIO devices:\n");
    if uio.is_empty() {
        s.push_str("  (none)\n");
    }
    for u in uio {
        let maps: Vec<String> = u
            .maps
            .iter()
            .map(|m| match m.bar {
                Some(b) => format!("map{} = BAR{b} ({:#x} bytes)", m.index, m.size),
                None => format!("map{} ({:#x} bytes)", m.index, m.size),
            })
            .collect();
        let _ = writeln!(
            s,
            "  {:<6} {:<16} {:<14} {}{}",
            u.name,
            u.driver,
            u.pci.as_deref().unwrap_or("-"),
            if maps.is_empty() {
                "no maps".to_string()
            } else {
                maps.join(", ")
            },
            u.spec
                .as_ref()
                .map(|n| format!("  spec {n}"))
                .unwrap_or_default()
        );
    }
    s.push_str("PCI devices:\n");
    if pci.is_empty() {
        s.push_str("  (none)\n");
    }
    for p in pci {
        let mut line = format!(
            "  {}  {}  class {:06x}  {:<16}",
            p.address,
            p.id,
            p.class,
            p.driver.as_deref().unwrap_or("-")
        );
        if let Some(sp) = &p.spec {
            let blocks: Vec<String> = p
                .blocks
                .iter()
                .map(|b| match &b.backend {
                    Some(be) => match be.map {
                        Some(m) => format!("{} via {} {} map{m}", b.placement(), be.kind, be.path),
                        None => format!("{} via {} {}", b.placement(), be.kind, be.path),
                    },
                    None => format!("{} (missing)", b.placement()),
                })
                .collect();
            let _ = write!(line, "  spec {sp}: {}", blocks.join("; "));
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}
