//! Generates typed, sound Rust register blocks from register-map YAML.
//!
//! The YAML is read and validated by `register-spec` (the same parser the
//! tools use); this crate turns the validated model into readable Rust that
//! builds on `hal-core`:
//!
//! * one module per block with a block handle (`Regs<'r, I = Region>`) that
//!   is built from a region after checking its length, and one accessor per
//!   register (indexed accessors for arrays);
//! * one module per register with its offset, reset value and fields, in
//!   the shape tock-registers' field API expects (`read(FIELD)`,
//!   `write(FIELD::VAL)`, `modify`, `is_set`, `matches_all`), with
//!   enumerated values as named field values and a `Value` enum;
//! * access kinds as types: no write on `ro`, no read on `wo`, no `modify`
//!   on `w1c`/`w1s`, and reads with side effects only through `&mut`;
//! * compile-time layout checks (`const _: () = assert!(...)`);
//! * rustdoc from the YAML descriptions.
//!
//! # Use from a build script
//!
//! ```text
//! // build.rs
//! fn main() {
//!     register_codegen::build(&["regs/mydev.yaml"]);
//! }
//! ```
//!
//! and in the crate (which depends on `hal-core`):
//!
//! ```ignore
//! pub mod mydev {
//!     include!(concat!(env!("OUT_DIR"), "/mydev.rs"));
//! }
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod gen;
mod place;

use std::path::{Path, PathBuf};

pub use gen::generate;

/// Code generation failed.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// The YAML did not parse or validate. Transparent: the message is the
    /// diagnostics' (every error with its line and column).
    #[error(transparent)]
    Spec(#[from] register_spec::Diagnostics),
    /// Writing the output failed.
    #[error("writing {path}: {error}")]
    Write {
        /// The output path.
        path: PathBuf,
        /// The I/O error (part of the message, not a
        /// [`source`](std::error::Error::source)).
        error: std::io::Error,
    },
}

/// Loads `yaml`, validates it and returns the generated Rust source.
///
/// The output is meant to be `include!`d inside a module of a crate that
/// depends on `hal-core`; it has no inner attributes so that it can be.
pub fn generate_file(yaml: impl AsRef<Path>) -> Result<String, CodegenError> {
    let path = yaml.as_ref();
    let device = register_spec::load(path)?;
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    generate(&device, &file)
}

/// Generates Rust for each YAML file into `out_dir/<stem>.rs`.
///
/// Returns the paths written. Generation stops at the first file that
/// fails (with every diagnostic of that file).
pub fn compile(
    yamls: &[impl AsRef<Path>],
    out_dir: impl AsRef<Path>,
) -> Result<Vec<PathBuf>, CodegenError> {
    let mut written = Vec::new();
    for yaml in yamls {
        let yaml = yaml.as_ref();
        let code = generate_file(yaml)?;
        let stem = yaml
            .file_stem()
            .map(|s| s.to_string_lossy().replace('-', "_"))
            .unwrap_or_else(|| "registers".into());
        let out = out_dir.as_ref().join(format!("{stem}.rs"));
        std::fs::write(&out, code).map_err(|error| CodegenError::Write {
            path: out.clone(),
            error,
        })?;
        written.push(out);
    }
    Ok(written)
}

/// Diagnostics as [`Diagnostics::render`](register_spec::Diagnostics::render)
/// shows them, each with its source line (read again from the file they
/// name), coloured only when stderr is a terminal and `NO_COLOR` is unset.
pub fn render(diagnostics: &register_spec::Diagnostics) -> String {
    use std::io::IsTerminal as _;
    let source = diagnostics
        .first()
        .and_then(|d| std::fs::read_to_string(&d.file).ok())
        .unwrap_or_default();
    let color = register_spec::use_color(std::io::stderr().is_terminal());
    diagnostics.render(&source, color)
}

/// The one-line build-script entry point.
///
/// Generates `$OUT_DIR/<stem>.rs` for each YAML file (a `-` in the stem
/// becomes `_`), tells Cargo to re-run when a file changes, and on any
/// error prints every diagnostic (on stderr in rustc's form, with the
/// source line and the place underlined; as `cargo:warning` lines in the
/// one-line `file:line:column: error: message` form) and fails the build
/// with exit status 1 instead of panicking.
pub fn build(yamls: &[impl AsRef<Path>]) {
    for y in yamls {
        println!("cargo:rerun-if-changed={}", y.as_ref().display());
    }
    let out_dir = match std::env::var_os("OUT_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            eprintln!(
                "register_codegen::build must run inside a build script (OUT_DIR is not set)"
            );
            std::process::exit(1);
        }
    };
    if let Err(e) = compile(yamls, &out_dir) {
        // Cargo shows a failed build script's stderr: the errors there in
        // rustc's form, with the source lines; the warnings (one line per
        // error) are what `cargo build` shows first.
        let full = match &e {
            CodegenError::Spec(d) => render(d),
            other => other.to_string(),
        };
        eprintln!("{full}");
        for line in e.to_string().lines() {
            println!("cargo:warning={line}");
        }
        std::process::exit(1);
    }
}
