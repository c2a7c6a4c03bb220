// A block with a read-to-clear register is built from `&mut` access to the
// region, so two handles cannot both read (and clear) it.
use device_specs::ivshmem;

fn main() {
    let mut region = hal_core::Region::anonymous(0x100).unwrap();
    let a = ivshmem::Regs::new(&mut region).unwrap();
    let b = ivshmem::Regs::new(&mut region).unwrap();
    drop((a, b));
}
