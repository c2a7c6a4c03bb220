//! Guest cases of the edu driver (`edu_driver`), over the real device.
//!
//! Each returns a short report on success and a message on failure, like
//! the cases in [`crate::guest`].

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use edu_driver::dma_mem::{DmaAllocator, DmaBuffer, DmaMask, PagemapAllocator};
use edu_driver::guard::{BUFFER_END, BUFFER_START, MAX_TRANSFER};
use edu_driver::{EduDevice, EduError, Options, OwnedEdu, Refusal, Wait};
use hal_core::prelude::*;

use crate::guest::Outcome;
use crate::pattern;

fn open() -> Result<EduDevice, String> {
    EduDevice::open_auto().map_err(|e| format!("opening the edu driver: {e}"))
}

/// Parses `poll` or `irq`.
pub fn parse_wait(s: &str) -> Result<Wait, String> {
    match s {
        "poll" => Ok(Wait::Poll),
        "irq" => Ok(Wait::Interrupt),
        other => Err(format!("unknown wait `{other}`: use poll or irq")),
    }
}

/// The UIO interrupt count (sysfs `event`) of the driver's device.
fn events(edu: &EduDevice) -> Result<u32, String> {
    edu.uio().event_count().map_err(|e| e.to_string())
}

/// Checks that exactly `want` interrupts were delivered since `before`.
fn check_events(edu: &EduDevice, before: u32, want: u32) -> Result<(), String> {
    let got = events(edu)?.wrapping_sub(before);
    if got != want {
        return Err(format!(
            "the UIO interrupt count grew by {got}, expected {want}"
        ));
    }
    Ok(())
}

/// Factorials through the driver, polled or by interrupt; by interrupt,
/// each one is a real interrupt (the UIO count grows by one each).
///
/// The polled case opens the device by its PCI address (and first checks
/// that ivshmem's address is refused as not an edu), the interrupt case
/// finds it by itself.
pub fn factorial(wait: Wait) -> Outcome {
    let mut report = Vec::new();
    let edu = match wait {
        Wait::Poll => {
            let ivshmem =
                pci_sysfs::PciDevice::find_by_id(crate::IVSHMEM_ID.0, crate::IVSHMEM_ID.1)
                    .map_err(|e| e.to_string())?;
            match EduDevice::open(ivshmem.address()) {
                Err(e @ EduError::WrongPciId { .. }) => {
                    report.push(format!("ivshmem refused: {e}"))
                }
                Err(e) => return Err(format!("opening ivshmem as an edu: wrong error: {e}")),
                Ok(_) => return Err("ivshmem was opened as an edu".into()),
            }
            let address = EduDevice::find().map_err(|e| e.to_string())?;
            EduDevice::open(address).map_err(|e| format!("opening {address}: {e}"))?
        }
        Wait::Interrupt => open()?,
    };
    let ns = [0u32, 1, 5, 10, 12, 13, 20];
    let before = events(&edu)?;
    for n in ns {
        let want = (1..=n).fold(1u32, |a, i| a.wrapping_mul(i));
        let got = edu
            .factorial(n, wait)
            .map_err(|e| format!("{n}! ({wait}): {e}"))?;
        if got != want {
            return Err(format!("{n}! ({wait}) = {got}, expected {want}"));
        }
    }
    let irqs = if wait == Wait::Interrupt {
        ns.len() as u32
    } else {
        0
    };
    check_events(&edu, before, irqs)?;
    report.push(format!(
        "{} at {}: {} factorials ({wait}) correct, {irqs} interrupts delivered",
        edu.identify().map_err(|e| e.to_string())?,
        edu.address(),
        ns.len()
    ));
    Ok(report.join("\n"))
}

/// DMA round trips of 1, 100 and 4095 bytes through the driver, polled or
/// by interrupt (two interrupts per round trip, counted).
pub fn dma_round_trip(wait: Wait) -> Outcome {
    let edu = open()?;
    if !edu.bus_master().map_err(|e| e.to_string())? {
        return Err("Bus Master is off after opening".into());
    }
    let before = events(&edu)?;
    let mut lines = Vec::new();
    let lens = [1usize, 100, MAX_TRANSFER];
    for (i, len) in lens.into_iter().enumerate() {
        let data = pattern(0xd0a0 + i as u32, len);
        let trip = edu
            .dma_round_trip(&data, wait)
            .map_err(|e| format!("{len}-byte round trip ({wait}): {e}"))?;
        lines.push(trip.to_string());
    }
    let irqs = if wait == Wait::Interrupt {
        2 * lens.len() as u32
    } else {
        0
    };
    check_events(&edu, before, irqs)?;
    Ok(format!("{}\n{irqs} interrupts delivered", lines.join("\n")))
}

/// The DMA registers as the device holds them, to show that a refused
/// request changed nothing.
fn dma_registers(edu: &EduDevice) -> Result<[u64; 4], String> {
    let r = edu.regs().map_err(|e| e.to_string())?;
    Ok([
        r.dma_src().get(),
        r.dma_dst().get(),
        r.dma_count().get(),
        r.dma_cmd().get(),
    ])
}

/// Two pages of driver memory that are not physically adjacent (pagemap
/// addresses of neighbouring virtual pages usually are not; a few tries).
fn discontiguous_pages(alloc: &dyn DmaAllocator) -> Result<DmaBuffer, String> {
    let mut kept = Vec::new();
    for _ in 0..16 {
        let b = alloc.alloc(8192).map_err(|e| e.to_string())?;
        if b.segments().len() > 1 {
            return Ok(b);
        }
        kept.push(b);
    }
    Err("16 two-page buffers were all physically contiguous".into())
}

/// Every guard refuses its request with the typed error, the device's DMA
/// registers are unchanged after each, and a normal DMA works afterwards
/// (QEMU 7.2 would have aborted on the first four).
pub fn guards() -> Outcome {
    let mut report = Vec::new();
    {
        let edu = open()?;
        let page = edu.alloc(4096).map_err(|e| e.to_string())?;
        let split = discontiguous_pages(edu.allocator())?;
        type Case<'a> = (&'a str, &'a DmaBuffer, usize, usize, u64);
        let cases: [Case<'_>; 7] = [
            ("count 0", &page, 0, 0, BUFFER_START),
            ("4096 bytes at 0x40000", &page, 0, 4096, BUFFER_START),
            ("1 byte at 0x40fff", &page, 0, 1, BUFFER_END - 1),
            ("device address 0x3f000", &page, 0, 64, 0x3f000),
            ("device address 0x41000", &page, 0, 64, BUFFER_END),
            (
                "a range over two discontiguous pages",
                &split,
                4000,
                200,
                BUFFER_START,
            ),
            ("a range past the buffer", &page, 4000, 200, BUFFER_START),
        ];
        for (what, buf, offset, len, dev) in cases {
            let regs_before = dma_registers(&edu)?;
            for wait in [Wait::Poll, Wait::Interrupt] {
                for dir in ["to device", "to RAM"] {
                    let r = match dir {
                        "to device" => edu.copy_to_device(buf, offset, len, dev, wait),
                        _ => edu.copy_to_ram(dev, buf, offset, len, wait),
                    };
                    match r {
                        Err(EduError::Refused(_)) => {}
                        Err(e) => return Err(format!("{what} ({dir}, {wait}): wrong error: {e}")),
                        Ok(_) => return Err(format!("{what} ({dir}, {wait}) was not refused")),
                    }
                }
            }
            if dma_registers(&edu)? != regs_before {
                return Err(format!("{what}: the DMA registers changed"));
            }
            let msg = edu
                .copy_to_device(buf, offset, len, dev, Wait::Poll)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            report.push(format!("refused {what}: {msg}"));
        }
        let trip = edu
            .dma_round_trip(&pattern(77, MAX_TRANSFER), Wait::Poll)
            .map_err(|e| format!("the normal DMA after the refusals: {e}"))?;
        report.push(format!("then: {trip}"));
    }
    // Above the mask: a driver told the device has a 12-bit mask refuses
    // a buffer that the 28-bit (or wider) device could reach.
    let narrow = EduDevice::open_with(
        None,
        Options {
            dma_mask: DmaMask::bits(12),
            ..Options::default()
        },
    )
    .map_err(|e| format!("opening with a 12-bit mask: {e}"))?;
    let wide = PagemapAllocator::new(DmaMask::ALL)
        .alloc(4096)
        .map_err(|e| e.to_string())?;
    let regs_before = dma_registers(&narrow)?;
    match narrow.copy_to_device(&wide, 0, 64, BUFFER_START, Wait::Poll) {
        Err(EduError::Refused(r @ Refusal::AboveMask { .. })) => {
            report.push(format!("refused RAM above a 12-bit mask: {r}"))
        }
        other => {
            return Err(format!(
                "RAM above a 12-bit mask: expected AboveMask, got {other:?}"
            ))
        }
    }
    if dma_registers(&narrow)? != regs_before {
        return Err("above the mask: the DMA registers changed".into());
    }
    drop(narrow);
    let edu = open()?;
    let trip = edu
        .dma_round_trip(&pattern(78, MAX_TRANSFER), Wait::Interrupt)
        .map_err(|e| format!("the normal DMA after all refusals: {e}"))?;
    report.push(format!("QEMU alive, the device works: {trip}"));
    Ok(report.join("\n"))
}

/// Two driver instances at once: a second one in this process and a
/// second process (`edu info`) are refused with the first one's pid while
/// the first (`edu dma --repeat`) runs, and the first one's transfers come
/// back intact.
pub fn second_instance(edu_bin: &str) -> Outcome {
    let mut report = Vec::new();
    {
        let first = open()?;
        match EduDevice::open_auto() {
            Err(e @ EduError::InUse { pid, .. }) => {
                if pid != Some(std::process::id()) {
                    return Err(format!(
                        "in-process second instance: pid {pid:?} reported: {e}"
                    ));
                }
                report.push(format!("same process: {e}"));
            }
            Err(e) => return Err(format!("in-process second instance: wrong error: {e}")),
            Ok(_) => return Err("a second instance in the same process was allowed".into()),
        }
        drop(first);
    }
    let mut child = Command::new(edu_bin)
        .args([
            "dma", "--len", "4095", "--irq", "--repeat", "10", "--seed", "9",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {edu_bin}: {e}"))?;
    let child_pid = child.id();
    let mut out = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    // The first round trip is done: the child holds the device for 9 more (about 2 s).
    let mut first_line = String::new();
    out.read_line(&mut first_line).map_err(|e| e.to_string())?;
    let second = Command::new(edu_bin)
        .arg("info")
        .output()
        .map_err(|e| format!("starting {edu_bin} info: {e}"))?;
    let in_lib = EduDevice::open_auto();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).map_err(|e| e.to_string())?;
    let status = child.wait().map_err(|e| e.to_string())?;
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    if !status.success() {
        return Err(format!(
            "the first instance failed ({status}): {err}{first_line}{rest}"
        ));
    }
    let intact = first_line
        .lines()
        .chain(rest.lines())
        .filter(|l| l.contains("intact"))
        .count();
    if intact != 10 {
        return Err(format!(
            "the first instance reported {intact} intact round trips of 10:\n{first_line}{rest}"
        ));
    }
    let stderr = String::from_utf8_lossy(&second.stderr);
    let want = format!("is in use by another driver instance (pid {child_pid})");
    if second.status.code() != Some(4) || !stderr.contains(&want) {
        return Err(format!(
            "second process: exit {:?}, stderr {stderr:?}; expected exit 4 and {want:?}",
            second.status.code()
        ));
    }
    report.push(format!("second process: exit 4, {}", stderr.trim()));
    match in_lib {
        Err(e @ EduError::InUse { pid, .. }) if pid == Some(child_pid) => {
            report.push(format!("library: {e}"))
        }
        Err(e) => return Err(format!("library second instance: wrong error: {e}")),
        Ok(_) => return Err("the library opened the device while the first instance ran".into()),
    }
    report.push(format!(
        "first instance (pid {child_pid}): 10 of 10 round trips intact"
    ));
    // Once the first instance is gone, the device is free again.
    let edu = open()?;
    let f = edu
        .factorial(10, Wait::Interrupt)
        .map_err(|e| e.to_string())?;
    report.push(format!("afterwards the device opens again: 10! = {f}"));
    Ok(report.join("\n"))
}
