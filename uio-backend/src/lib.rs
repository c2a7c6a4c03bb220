//! Linux UIO backend: find /dev/uioN devices, map their regions, wait for interrupts
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
