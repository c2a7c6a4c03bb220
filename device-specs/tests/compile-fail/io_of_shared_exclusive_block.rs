// ivshmem's block has INTR_STATUS, whose read clears it: its backend is
// handed out only through `&mut self`, so a shared reference to the block
// cannot reach the region's raw accessors and read (clear) it that way.
use device_specs::ivshmem;

fn peek(regs: &ivshmem::Regs<'_>) -> u32 {
    regs.io().try_read32(4).unwrap()
}

fn main() {}
