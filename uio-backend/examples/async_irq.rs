//! Factorials on QEMU's `edu` device, each finished by its interrupt,
//! awaited in a tokio runtime with `uio_backend::AsyncIrq`.
//!
//! Needs an edu device bound to `uio_pci_generic`, and root (re-enabling
//! the interrupt clears INTx Disable in PCI config space). In a VM started
//! with `-device edu`:
//!
//! ```text
//! modprobe uio_pci_generic
//! echo "1234 11e8" > /sys/bus/pci/drivers/uio_pci_generic/new_id
//! cargo run -p uio-backend --features tokio --example async_irq -- 5 10 12
//! ```
//!
//! Each argument is one factorial (default: 5 10 12); edu computes in 32
//! bits, so larger ones wrap, and the example checks the wrapped value. The
//! VM test `edu_interrupt_through_tokio_async_fd` runs the same sequence
//! inside this project's test VM (`VM_TESTS=1 cargo test -p vm-tests --test
//! vm -- edu_interrupt_through_tokio_async_fd`, as root).

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use device_specs::edu::{
    self,
    regs::{IRQ_ACK, IRQ_STATUS, STATUS},
};
use hal_core::prelude::*;
use uio_backend::{AsyncIrq, UioDevice};

fn main() -> ExitCode {
    let ns: Result<Vec<u32>, _> = std::env::args().skip(1).map(|a| a.parse()).collect();
    let ns = match ns {
        Ok(ns) if ns.is_empty() => vec![5, 10, 12],
        Ok(ns) => ns,
        Err(e) => {
            eprintln!("async_irq: arguments must be numbers (the factorials to compute): {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("async_irq: cannot start a tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(factorials(&ns)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("async_irq: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn factorials(ns: &[u32]) -> Result<(), Box<dyn Error>> {
    let dev = UioDevice::find_by_pci_id(0x1234, 0x11e8)?;
    let bar0 = dev.map(0)?;
    let regs = edu::Regs::new(&bar0)?;
    let mut irq = AsyncIrq::new(dev.irq()?)?;
    // Interrupt when a factorial is done; nothing left pending from before.
    regs.irq_ack().set(regs.irq_status().get());
    regs.status().modify(STATUS::IRQFACT::SET);
    irq.irq().enable()?;
    for &n in ns {
        regs.factorial().set(n);
        let event = irq.wait_timeout(Duration::from_secs(5)).await?;
        if !regs.irq_status().is_set(IRQ_STATUS::FACT) {
            return Err(format!("interrupt {event:?} came, but IRQ_STATUS.FACT is not set").into());
        }
        let got = regs.factorial().get();
        regs.irq_ack().write(IRQ_ACK::FACT::SET);
        irq.irq().enable()?;
        let want = (1..=n).fold(1u32, u32::wrapping_mul);
        if got != want {
            return Err(format!("edu says {n}! = {got}, expected {want} (mod 2^32)").into());
        }
        println!(
            "{n}! = {got} (interrupt count {}, {} missed)",
            event.count, event.missed
        );
    }
    regs.status().modify(STATUS::IRQFACT::CLEAR);
    Ok(())
}
