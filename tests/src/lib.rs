//! Tests that run inside QEMU VMs against QEMU's `edu` and `ivshmem`
//! devices, bound to the real `uio_pci_generic` driver of a Debian kernel.
//!
//! * `vm-guest` (this crate's binary) runs **inside** the guest: each
//!   subcommand is one test case (or benchmark) over the real devices, and
//!   exits 0 when it passes.
//! * `tests/vm.rs` runs on the host: it boots one VM with `vm-guest` in it
//!   and reports every case as its own test; the ivshmem cases also map the
//!   VM's shared-memory file from the host side.
//! * `vm-demo` and `vm-bench` boot a VM and run the demo or the benchmarks.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod bench;
pub mod driver_cases;
pub mod guest;
pub mod host;
pub mod ivshmem_ring;
pub mod ivshmem_vfio;
pub mod ivshmem_vm;
pub mod ring_bench;
pub mod ring_latency;
pub mod session;
pub mod udev_rules;

/// PCI vendor:device of edu.
pub const EDU_ID: (u16, u16) = (
    device_specs::edu::PCI_VENDOR_ID,
    device_specs::edu::PCI_DEVICE_ID,
);
/// PCI vendor:device of ivshmem.
pub const IVSHMEM_ID: (u16, u16) = (
    device_specs::ivshmem::PCI_VENDOR_ID,
    device_specs::ivshmem::PCI_DEVICE_ID,
);

/// Every PCI vendor:device of edu's map (the generated `PCI_IDS`): the
/// helpers that find a device for a map accept any of them.
pub const EDU_IDS: &[(u16, u16)] = device_specs::edu::PCI_IDS;
/// Every PCI vendor:device of ivshmem's map.
pub const IVSHMEM_IDS: &[(u16, u16)] = device_specs::ivshmem::PCI_IDS;

/// A deterministic byte pattern (xorshift32) that the host and the guest
/// both compute, so either side can check the other's data byte for byte.
pub fn pattern(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// The first position where two buffers differ, for error messages.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_differ_by_seed_and_are_stable() {
        assert_eq!(pattern(7, 16), pattern(7, 16));
        assert_ne!(pattern(7, 16), pattern(8, 16));
        assert_eq!(first_difference(&pattern(1, 8), &pattern(1, 8)), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"ab", b"abc"), Some(2));
    }
}
