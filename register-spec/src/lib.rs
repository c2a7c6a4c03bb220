//! Register-map YAML: one parser, one validator, one model for code generation and tools
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
