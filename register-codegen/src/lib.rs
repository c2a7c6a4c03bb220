//! Generates typed, sound Rust register blocks from register-map YAML
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
