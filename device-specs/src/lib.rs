//! Register maps of QEMU's `edu` and `ivshmem` PCI devices, and their typed
//! register blocks.
//!
//! The YAML maps live in `specs/` and are shipped inside the crate
//! ([`SPECS`]) so that tools can use them by name. The Rust modules are
//! generated from them by `register-codegen` and checked in under
//! `src/generated/`, so a reviewer sees every change to the generated API;
//! a test fails when the checked-in code and the generator's output differ
//! (regenerate with `UPDATE_GENERATED=1 cargo test -p device-specs`).
//!
//! ```
//! use device_specs::edu::{self, regs::STATUS};
//! use device_specs::models::EduModel;
//! use hal_core::{fake::ModelIo, prelude::*};
//!
//! let io = ModelIo::with(EduModel::new());
//! let regs = edu::Regs::new(&io).unwrap();
//! assert_eq!(regs.id().get(), 0x010000ed);
//! regs.status().modify(STATUS::IRQFACT::SET);
//! regs.factorial().set(5);
//! while regs.status().is_set(STATUS::COMPUTING) {}
//! assert_eq!(regs.factorial().get(), 120);
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod models;

/// QEMU's educational device (`-device edu`), vendor:device `1234:11e8`.
///
/// Generated from `specs/edu.yaml`.
#[allow(missing_docs)]
pub mod edu {
    include!("generated/edu.rs");
}

/// QEMU's inter-VM shared memory device (`-device ivshmem-plain`),
/// vendor:device `1af4:1110`.
///
/// Generated from `specs/ivshmem.yaml`.
#[allow(missing_docs)]
pub mod ivshmem {
    include!("generated/ivshmem.rs");
}

/// A register map shipped with this crate.
#[derive(Debug, Clone, Copy)]
pub struct ShippedSpec {
    /// The name tools accept (`--spec edu`).
    pub name: &'static str,
    /// The file name under `specs/`.
    pub file: &'static str,
    /// The YAML text.
    pub yaml: &'static str,
}

/// Every register map shipped with this crate.
pub const SPECS: &[ShippedSpec] = &[
    ShippedSpec {
        name: "edu",
        file: "edu.yaml",
        yaml: include_str!("../specs/edu.yaml"),
    },
    ShippedSpec {
        name: "ivshmem",
        file: "ivshmem.yaml",
        yaml: include_str!("../specs/ivshmem.yaml"),
    },
];

/// The shipped map with this name.
pub fn spec(name: &str) -> Option<&'static ShippedSpec> {
    SPECS.iter().find(|s| s.name == name)
}
