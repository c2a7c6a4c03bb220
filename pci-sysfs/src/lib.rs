//! PCI devices through sysfs: discovery, config space, bus mastering, driver binding
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
