//! Register maps of QEMU's edu and ivshmem devices and their generated typed blocks
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
