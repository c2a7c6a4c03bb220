//! Tests that run inside QEMU VMs against edu and ivshmem
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
