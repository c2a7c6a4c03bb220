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

/// Submit: a plain store to DMA memory, `before_doorbell`, then a volatile
/// doorbell store.
///
/// # Safety
/// `buf` and `doorbell` are valid and aligned for their writes.
#[no_mangle]
pub unsafe fn probe_submit(buf: *mut u64, doorbell: *mut u32, value: u64) {
    // SAFETY: the caller's promise.
    unsafe { buf.write(value) };
    hal_core::order::before_doorbell();
    // SAFETY: the caller's promise.
    unsafe { doorbell.write_volatile(1) };
}

/// Submit through a `Region`: a plain store, `before_doorbell`, then the
/// Region's inline-assembly store to edu DMA_CMD.
///
/// # Safety
/// `buf` is valid and aligned for a write.
#[no_mangle]
pub unsafe fn probe_submit_region(buf: *mut u64, regs: Regs<'_>, value: u64) {
    // SAFETY: the caller's promise.
    unsafe { buf.write(value) };
    hal_core::order::before_doorbell();
    regs.dma_cmd().set(1);
}

/// Complete: a volatile status load, `after_completion`, then a plain load
/// of DMA memory.
///
/// # Safety
/// `status` and `buf` are valid and aligned for their reads.
#[no_mangle]
pub unsafe fn probe_complete(status: *const u32, buf: *const u64) -> u64 {
    // SAFETY: the caller's promise.
    let done = unsafe { status.read_volatile() };
    hal_core::order::after_completion();
    // SAFETY: the caller's promise.
    let v = unsafe { buf.read() };
    v.wrapping_add(done.into())
}

/// A write-combined data store, `flush_write_combining`, then the doorbell.
///
/// # Safety
/// `buf` and `doorbell` are valid and aligned for their writes.
#[no_mangle]
pub unsafe fn probe_flush_wc(buf: *mut u64, doorbell: *mut u32, value: u64) {
    // SAFETY: the caller's promise.
    unsafe { buf.write_volatile(value) };
    hal_core::order::flush_write_combining();
    // SAFETY: the caller's promise.
    unsafe { doorbell.write_volatile(1) };
}
