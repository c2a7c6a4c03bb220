//! Probe functions whose release-mode assembly proves that a generated
//! register access is exactly one load or store of the declared width.
//!
//! `tests/single_access.rs` builds this example with `--emit asm` and
//! inspects each function. Run it by hand with:
//!
//! ```text
//! cargo rustc -p device-specs --release --example asm_probe -- --emit asm
//! ```

use device_specs::edu::{regs::STATUS, Regs};
use hal_core::prelude::*;

/// 32-bit read of edu STATUS.
#[no_mangle]
pub fn probe_read_status(regs: Regs<'_>) -> u32 {
    regs.status().get()
}

/// 32-bit read of edu STATUS, testing one field.
#[no_mangle]
pub fn probe_is_computing(regs: Regs<'_>) -> bool {
    regs.status().is_set(STATUS::COMPUTING)
}

/// 32-bit write of edu LIVENESS.
#[no_mangle]
pub fn probe_write_liveness(regs: Regs<'_>, value: u32) {
    regs.liveness().set(value)
}

/// 32-bit write of a field value to edu STATUS.
#[no_mangle]
pub fn probe_write_irqfact(regs: Regs<'_>) {
    regs.status().write(STATUS::IRQFACT::SET)
}

/// 64-bit read of edu DMA_CMD.
#[no_mangle]
pub fn probe_read_dma_cmd(regs: Regs<'_>) -> u64 {
    regs.dma_cmd().get()
}

/// 64-bit write of edu DMA_SRC.
#[no_mangle]
pub fn probe_write_dma_src(regs: Regs<'_>, value: u64) {
    regs.dma_src().set(value)
}
