//! QEMU VM harness: provisions a Debian kernel, builds an initramfs, boots edu and ivshmem under TCG, runs guest commands
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
