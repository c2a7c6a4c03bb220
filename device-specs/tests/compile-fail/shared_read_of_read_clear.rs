// ivshmem INTR_STATUS clears when read: reading it needs `&mut` access to
// the block, so a shared reference is not enough.
use device_specs::ivshmem;
use hal_core::prelude::*;

fn peek(regs: &ivshmem::Regs<'_>) -> u32 {
    regs.intr_status().get()
}

fn main() {}
