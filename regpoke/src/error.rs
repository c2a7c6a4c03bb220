//! The one error type of the binary, and the exit codes it maps to.

use std::fmt;

/// What kind of failure an error is; decides the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Device, I/O or permission failure (exit 1).
    Device,
    /// Bad usage, an unknown name, a refused access, or an invalid spec (exit 2).
    Usage,
    /// A wait timed out or an expected condition did not hold (exit 3).
    Condition,
}

impl Kind {
    /// The process exit status for this kind.
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Device => 1,
            Kind::Usage => 2,
            Kind::Condition => 3,
        }
    }

    /// A stable name, used in JSON error documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Device => "device",
            Kind::Usage => "usage",
            Kind::Condition => "condition",
        }
    }
}

/// An error: what went wrong (naming the object and the reason) and, where
/// one is known, how to fix it.
#[derive(Debug, Clone)]
pub struct Error {
    /// Exit-status class.
    pub kind: Kind,
    /// The message, naming the object and the reason.
    pub message: String,
    /// A suggestion for the fix, if one is known.
    pub hint: Option<String>,
    /// The message as people read it on a terminal, where it differs from
    /// `message` (which JSON documents carry): an invalid register map's
    /// errors in rustc's form, with the source lines.
    pub human: Option<String>,
}

impl Error {
    /// A usage or spec error (exit 2).
    pub fn usage(message: impl Into<String>) -> Error {
        Error {
            kind: Kind::Usage,
            message: message.into(),
            hint: None,
            human: None,
        }
    }

    /// A device, I/O or permission failure (exit 1).
    pub fn device(message: impl Into<String>) -> Error {
        Error {
            kind: Kind::Device,
            message: message.into(),
            hint: None,
            human: None,
        }
    }

    /// A timeout or an unmet expectation (exit 3).
    pub fn condition(message: impl Into<String>) -> Error {
        Error {
            kind: Kind::Condition,
            message: message.into(),
            hint: None,
            human: None,
        }
    }

    /// Adds a hint (how to fix it).
    pub fn hint(mut self, hint: impl Into<String>) -> Error {
        let h = hint.into();
        if !h.is_empty() {
            self.hint = Some(h);
        }
        self
    }

    /// Appends a sentence to the hint (or makes it the hint).
    pub fn also(mut self, note: impl Into<String>) -> Error {
        let n = note.into();
        self.hint = Some(match self.hint.take() {
            Some(h) => format!("{h}\n  note: {n}"),
            None => n,
        });
        self
    }

    /// Prefixes the message with some context (`file:line: `, say).
    pub fn context(mut self, prefix: impl fmt::Display) -> Error {
        self.message = format!("{prefix}: {}", self.message);
        if let Some(h) = &self.human {
            self.human = Some(format!("{prefix}: {h}"));
        }
        self
    }

    /// Sets the terminal form of the message (see [`Error::human`]).
    pub fn human(mut self, text: impl Into<String>) -> Error {
        self.human = Some(text.into());
        self
    }

    /// The error as people read it: the terminal form of the message if
    /// there is one, and the hint.
    pub fn for_humans(&self) -> String {
        let mut s = self.human.clone().unwrap_or_else(|| self.message.clone());
        if let Some(h) = &self.hint {
            s.push_str(&format!("\n  hint: {h}"));
        }
        s
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl From<hal_core::AccessError> for Error {
    fn from(e: hal_core::AccessError) -> Error {
        Error::usage(e.to_string())
    }
}

/// Result alias used throughout the binary.
pub type Result<T, E = Error> = std::result::Result<T, E>;
