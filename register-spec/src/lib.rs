//! Register-map YAML: one parser, one validator, one model.
//!
//! The code generator (`register-codegen`) and the tools read register maps
//! through this crate only, so a file means the same thing everywhere.
//! [`parse`] and [`load`] return either a validated [`Device`] or every error
//! in the file at once, each with `file:line:column`. The format is
//! described in `docs/spec-format.md`.
//!
//! ```
//! let yaml = "
//! name: demo
//! blocks:
//!   - name: regs
//!     size: 0x10
//!     registers:
//!       - name: CTRL
//!         offset: 0x0
//!         fields:
//!           - { name: ENABLE, bits: 0 }
//! ";
//! let device = register_spec::parse(yaml, "demo.yaml").unwrap();
//! assert_eq!(device.blocks[0].registers[0].fields[0].name, "ENABLE");
//!
//! let errors = register_spec::parse("name: demo\nblocks: []\nbogus: 1\n", "bad.yaml").unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     "bad.yaml:2:9: error: `blocks` of the device must list at least one block\n\
//!      bad.yaml:3:1: error: unknown key `bogus` in the device; allowed keys: name, description, pci, blocks"
//! );
//! ```
//!
//! [`Diagnostics::render`] shows the same errors the way rustc shows compile
//! errors: each with its source line, the place underlined and, where a
//! check has one, a labelled note at a second place (a duplicate's first
//! declaration, the register an overlapping one overlaps).
//!
//! # How a file is read
//!
//! 1. **YAML.** [`saphyr-parser`](https://docs.rs/saphyr-parser) (YAML 1.2,
//!    pure Rust, maintained; the parser under `serde-saphyr`) turns the text
//!    into events with line/column markers, which this crate assembles into
//!    a small located tree: mappings (keys with positions), sequences and
//!    scalars (text, and whether they were quoted). Duplicate keys, aliases,
//!    tags and a second document are reported here. A syntax error stops
//!    the parser, so it is reported (with its location, together with any
//!    errors found before it) and the register map is not checked further.
//! 2. **Schema.** Every mapping is checked for unknown keys (with a "did you
//!    mean" suggestion), missing required keys and values of the wrong type
//!    or out of range, collecting all errors.
//! 3. **Rules.** Names, layout, bit fields, enumerated values, reset values
//!    and access kinds are cross-checked; checks that depend on a value that
//!    was already reported as wrong are skipped, to avoid follow-on errors.
//!
//! Why not `serde_yaml` (or another serde deserializer)? `serde_yaml` is
//! deprecated and archived upstream, and a serde deserializer stops at the
//! first error, while this crate reports every error of a file at once, each
//! with its location.
//!
//! Scalars follow the YAML 1.2 core schema: only `true` and `false` are
//! booleans (`yes`, `on` are strings); numbers are unquoted decimal, `0x`
//! hex, `0o` octal or `0b` binary, with `_` allowed between digits; a quoted
//! scalar is always a string, never a number.
//!
//! # Robustness
//!
//! No input makes [`parse`] panic, however malformed: nesting is limited to
//! 32 levels (the tree is built without recursion), numbers are parsed with
//! overflow checks, and the overlap check of register arrays has a work
//! budget that, when exceeded, is an error rather than a hang.
//!
//! # Locations
//!
//! Lines and columns are 1-based; columns count characters (a tab is one).
//! Blocks, registers, fields, enumerated values and BAR bindings carry the
//! [`Span`] of their mapping, which for the usual block style
//! (`- name: STATUS`) is the position of its first key.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod diagnostic;
mod layout;
pub mod model;
pub mod names;
pub mod number;
mod rule;
pub mod rust;
mod schema;
mod validate;
pub mod wide;
mod yaml;

use std::path::Path;

pub use diagnostic::{use_color, Diagnostic, Diagnostics, Note};
pub use model::*;
pub use rule::WriteRule;
pub use wide::{AccessOrder, Piece, Split};

use diagnostic::Errors;

/// Parses and validates a register map.
///
/// `file` is only used in diagnostics (use the path as the user gave it).
/// Returns the validated device, or every error of the file, sorted by
/// position.
pub fn parse(source: &str, file: &str) -> Result<Device, Diagnostics> {
    let mut errors = Errors::default();
    let root = match yaml::read(source, &mut errors) {
        yaml::Document::Node(node) => node,
        yaml::Document::Empty => {
            errors.push(Span { line: 1, column: 1 }, schema::empty_file_message());
            return Err(errors.into_diagnostics(file));
        }
        yaml::Document::Failed => return Err(errors.into_diagnostics(file)),
    };
    let Some(draft) = schema::extract(&root, &mut errors) else {
        return Err(errors.into_diagnostics(file));
    };
    validate::check(&draft, &mut errors);
    if !errors.is_empty() {
        return Err(errors.into_diagnostics(file));
    }
    match validate::build(&draft) {
        Some(device) => Ok(device),
        None => {
            errors.push(
                Span { line: 1, column: 1 },
                "internal error: the register map checked clean but is incomplete; please report this",
            );
            Err(errors.into_diagnostics(file))
        }
    }
}

/// Reads a file and [`parse`]s it, naming it in diagnostics as
/// `path.display()`.
///
/// A file that cannot be read is reported as one diagnostic at 1:1 (`cannot
/// read the file: ...`). A file that is not UTF-8 is reported at the line
/// and column of its first invalid byte.
pub fn load(path: impl AsRef<Path>) -> Result<Device, Diagnostics> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let one =
        |span: Span, message: String| Diagnostics::new(vec![Diagnostic::new(&file, span, message)]);
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return Err(one(
                Span { line: 1, column: 1 },
                format!("cannot read the file: {e}"),
            ))
        }
    };
    parse(&source_text(bytes, &file)?, &file)
}

/// The text of a register-map file read as bytes, or the error a file that
/// is not UTF-8 gets (at the line and column of its first invalid byte).
pub fn source_text(bytes: Vec<u8>, file: &str) -> Result<String, Diagnostics> {
    String::from_utf8(bytes).map_err(|e| {
        Diagnostics::new(vec![Diagnostic::new(
            file,
            Span::at_byte(e.as_bytes(), e.utf8_error().valid_up_to()),
            "the file is not valid UTF-8; register maps are UTF-8 text",
        )])
    })
}
