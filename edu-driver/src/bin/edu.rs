//! `edu`: drive QEMU's edu device from the command line with the
//! `edu_driver` library (identification, factorial, DMA round trips).

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use edu_driver::dma_mem::DmaMask;
use edu_driver::guard::MAX_TRANSFER;
use edu_driver::{EduDevice, EduError, EduVfioDevice, Options, OwnedEdu, Wait};
use pci_sysfs::{PciAddress, PciDevice};

const AFTER_HELP: &str = "\
The device must be bound to uio_pci_generic (run as root: the UIO node, PCI
config space and /proc/self/pagemap need it) or to vfio-pci (--vfio, chosen
automatically when the device is bound to vfio-pci: MSI interrupts, DMA
buffers at IOVAs; root is not needed, read-write access to /dev/vfio/N is).
One instance owns the device at a time: a second one is refused with the
first one's pid (or, over VFIO, when another program holds the group open).

Exit status: 0 success; 1 device or system failure; 2 bad usage or a DMA
request refused by a guard (the device saw nothing); 3 a timeout or a DMA
round trip that brought back other bytes; 4 the device is in use by
another driver instance.";

/// Drive QEMU's edu PCI device through the edu_driver library.
#[derive(Debug, Parser)]
#[command(name = "edu", version, after_help = AFTER_HELP)]
struct Cli {
    /// The edu's PCI address (0000:00:04.0 or 00:04.0); default: the only
    /// edu bound to uio_pci_generic (with --vfio: to vfio-pci).
    #[arg(long, short = 'd', global = true, value_name = "BDF")]
    device: Option<PciAddress>,
    /// Drive the device through VFIO (bound to vfio-pci). Without it, VFIO
    /// is used when the device (given by --device, or the only edu) is
    /// bound to vfio-pci, UIO otherwise.
    #[arg(long, global = true)]
    vfio: bool,
    /// The device's DMA mask in address bits (edu: 28 unless QEMU's
    /// dma_mask property raises it).
    #[arg(long, global = true, value_name = "BITS", default_value_t = 28,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    dma_mask_bits: u32,
    /// The longest wait for the device, in milliseconds.
    #[arg(long, global = true, value_name = "MS", default_value_t = 5000)]
    timeout_ms: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Identify the device, check liveness, show interrupt and DMA setup.
    Info,
    /// Compute N! (mod 2^32) on the device.
    Factorial {
        /// The number.
        n: u32,
        /// Wait for the interrupt instead of polling STATUS.COMPUTING.
        #[arg(long)]
        irq: bool,
    },
    /// Send LEN bytes RAM -> edu -> another RAM page and compare them.
    Dma {
        /// Bytes per round trip (1 to 4095: QEMU 7.2 aborts on a transfer
        /// that reaches the end of edu's 4096-byte buffer).
        #[arg(long, value_name = "N", default_value_t = MAX_TRANSFER)]
        len: usize,
        /// Wait for the DMA interrupt instead of polling DMA_CMD.RUN.
        #[arg(long)]
        irq: bool,
        /// Round trips to make, each with new data.
        #[arg(long, value_name = "N", default_value_t = 1)]
        repeat: u32,
        /// Seed of the data pattern.
        #[arg(long, default_value_t = 1)]
        seed: u32,
    },
}

fn wait(irq: bool) -> Wait {
    if irq {
        Wait::Interrupt
    } else {
        Wait::Poll
    }
}

/// `len` bytes that differ from seed to seed and from byte to byte
/// (a multiplicative hash of the index), so a transfer that moved or
/// dropped bytes cannot match.
fn data(seed: u32, len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| {
            (i.wrapping_add(seed.wrapping_mul(4099))
                .wrapping_mul(0x9e37_79b9)
                >> 24) as u8
        })
        .collect()
}

fn run(cli: Cli) -> Result<(), EduError> {
    let options = Options {
        dma_mask: DmaMask::bits(cli.dma_mask_bits),
        timeout: Duration::from_millis(cli.timeout_ms),
        ..Options::default()
    };
    if cli.vfio || bound_to_vfio(cli.device) {
        let edu = EduVfioDevice::open_with(cli.device, options)?;
        let info = || {
            Ok(format!(
                "{} at {} (VFIO group {}): liveness ok\ninterrupt: MSI through VFIO; Bus Master {}",
                edu.identify()?,
                edu.address(),
                edu.vfio().group(),
                on_off(edu.bus_master()?)
            ))
        };
        execute(&edu, info, cli.command)
    } else {
        let edu = EduDevice::open_with(cli.device, options)?;
        let info = || {
            Ok(format!(
                "{} at {} ({}): liveness ok\ninterrupt: INTx through uio_pci_generic; Bus Master {}",
                edu.identify()?,
                edu.address(),
                edu.uio().info().devnode().display(),
                on_off(edu.bus_master()?)
            ))
        };
        execute(&edu, info, cli.command)
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// Whether the edu at `address` (or the only edu, for `None`) is bound to
/// vfio-pci. Any doubt (no such device, several edus) answers no: the UIO
/// path then reports it.
fn bound_to_vfio(address: Option<PciAddress>) -> bool {
    let id = edu_driver::EDU_PCI_ID;
    let pci = match address {
        Some(a) => PciDevice::find_by_address(a).ok(),
        None => PciDevice::find_all_by_id(id.vendor, id.device)
            .ok()
            .filter(|all| all.len() == 1)
            .and_then(|mut all| all.pop()),
    };
    pci.is_some_and(|p| vfio_backend::is_bound(&p))
}

/// Runs `command` on `edu` (either backend); `info` gives the backend's
/// lines for `edu info`.
fn execute(
    edu: &impl OwnedEdu,
    info: impl Fn() -> Result<String, EduError>,
    command: Command,
) -> Result<(), EduError> {
    match command {
        Command::Info => {
            println!("{}", info()?);
            println!(
                "DMA: {} mask; device buffer {:#x}..{:#x}, at most {MAX_TRANSFER} bytes per transfer",
                edu.edu().dma_mask(),
                edu_driver::guard::BUFFER_START,
                edu_driver::guard::BUFFER_END
            );
        }
        Command::Factorial { n, irq } => {
            let w = wait(irq);
            println!("{n}! = {} ({w})", edu.edu().factorial(n, w)?);
        }
        Command::Dma {
            len,
            irq,
            repeat,
            seed,
        } => {
            for i in 0..repeat {
                let data = data(seed.wrapping_add(i), len);
                println!("{}", edu.dma_round_trip(&data, wait(irq))?);
            }
        }
    }
    Ok(())
}

fn exit_code(e: &EduError) -> u8 {
    match e {
        EduError::Refused(_) => 2,
        EduError::Timeout { .. } | EduError::Mismatch { .. } => 3,
        EduError::InUse { .. } => 4,
        e if e.is_timeout() => 3,
        _ => 1,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edu: error: {e}");
            ExitCode::from(exit_code(&e))
        }
    }
}
