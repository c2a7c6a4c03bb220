//! Files regpoke reads whole (register maps given by path, batch scripts,
//! `-` for standard input), with a size limit: a mistyped path such as
//! `/dev/zero` or a huge file must not make regpoke read gigabytes.

use std::io::Read;
use std::path::Path;

use register_spec::{Device, Diagnostic, Diagnostics, Span};

use crate::error::{Error, Result};
use crate::output::io_text;

/// The largest file regpoke reads whole: 16 MiB. Register maps and batch
/// scripts are far smaller; anything larger is almost certainly the wrong
/// file. Reading stops after `MAX_INPUT_BYTES + 1` bytes.
pub const MAX_INPUT_BYTES: u64 = 16 << 20;

/// Why a file could not be read whole.
enum ReadError {
    /// Opening or reading failed.
    Io(std::io::Error),
    /// It is larger than [`MAX_INPUT_BYTES`].
    TooLarge,
}

/// Reads `path` (`-`: standard input) whole, up to [`MAX_INPUT_BYTES`]:
/// no more than `MAX_INPUT_BYTES + 1` bytes are read.
fn read_limited(path: &Path) -> std::result::Result<Vec<u8>, ReadError> {
    let mut buf = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_INPUT_BYTES + 1).read_to_end(&mut buf))
    };
    match read {
        Err(e) => Err(ReadError::Io(e)),
        Ok(_) if buf.len() as u64 > MAX_INPUT_BYTES => Err(ReadError::TooLarge),
        Ok(_) => Ok(buf),
    }
}

/// The error for a file over the limit; `what` names its kind.
fn too_large(path: &Path, what: &str) -> Error {
    let shown = shown(path);
    Error::usage(format!(
        "{what} {shown} is larger than {} MiB, the limit for a file regpoke reads whole",
        MAX_INPUT_BYTES >> 20
    ))
    .hint(format!(
        "is {shown} the file you meant? A {what} is text far smaller than that; split a longer one"
    ))
}

/// Reads `path` (`-`: standard input) whole, up to [`MAX_INPUT_BYTES`].
/// `what` names the file in errors (`batch file`).
pub fn read_bytes(path: &Path, what: &str) -> Result<Vec<u8>> {
    read_limited(path).map_err(|e| match e {
        ReadError::Io(e) => {
            Error::device(format!("reading {what} {}: {}", shown(path), io_text(&e)))
                .hint("check the path and that you may read it")
        }
        ReadError::TooLarge => too_large(path, what),
    })
}

/// How a path is named in messages (`<stdin>` for `-`).
fn shown(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Reads a text file whole (see [`read_bytes`]); invalid UTF-8 is an error.
pub fn read_text(path: &Path, what: &str) -> Result<String> {
    let bytes = read_bytes(path, what)?;
    String::from_utf8(bytes).map_err(|e| {
        let line = Span::at_byte(e.as_bytes(), e.utf8_error().valid_up_to()).line;
        Error::usage(format!(
            "{what} {}:{line}: not valid UTF-8 text",
            shown(path)
        ))
    })
}

/// Reads a register map given by path (at most [`MAX_INPUT_BYTES`]) and
/// parses it, also returning the text read (empty when the file could not
/// be read or is not UTF-8), to show the errors in.
pub fn load_spec_source(path: &Path) -> Result<(String, std::result::Result<Device, Diagnostics>)> {
    let file = path.display().to_string();
    let one = |span: Span, message: String| {
        Err(Diagnostics::new(vec![Diagnostic::new(
            &file, span, message,
        )]))
    };
    let bytes = match read_limited(path) {
        Ok(b) => b,
        Err(ReadError::TooLarge) => return Err(too_large(path, "register map")),
        Err(ReadError::Io(e)) => {
            return Ok((
                String::new(),
                one(
                    Span { line: 1, column: 1 },
                    format!("cannot read the file: {}", io_text(&e)),
                ),
            ))
        }
    };
    Ok(match register_spec::source_text(bytes, &file) {
        Ok(source) => {
            let parsed = register_spec::parse(&source, &file);
            (source, parsed)
        }
        Err(not_utf8) => (String::new(), Err(not_utf8)),
    })
}
