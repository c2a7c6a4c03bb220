//! /dev/mem and PCI sysfs resourceN backend: map physical ranges and BARs
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
