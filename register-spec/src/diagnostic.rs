//! Errors with their location: what [`parse`](crate::parse) and
//! [`load`](crate::load) return when a file is not a valid register map.

use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;

use crate::model::Span;

/// One error in a register-map file.
///
/// Displays as `file:line:column: error: message`, the format compilers use,
/// so editors and CI logs can jump to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// The file, as given to [`parse`](crate::parse) or [`load`](crate::load).
    pub file: String,
    /// Where the error is (1-based line and column, columns counted in
    /// characters).
    pub span: Span,
    /// What is wrong and what is allowed instead.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: error: {}", self.file, self.span, self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// Every error found in one file, each once, sorted by position (line, then
/// column; errors at the same position keep the order in which they were
/// found).
///
/// Never empty when returned by [`parse`](crate::parse) or
/// [`load`](crate::load). Displays as one line per error, separated by
/// newlines, with no trailing newline and no summary line. Dereferences to
/// a slice of [`Diagnostic`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// Sorts `errors` by position and drops repeats (the same file,
    /// position and message as an earlier error).
    pub fn new(mut errors: Vec<Diagnostic>) -> Diagnostics {
        errors.sort_by_key(|d| d.span);
        let mut seen = HashSet::new();
        let keep: Vec<bool> = errors
            .iter()
            .map(|d| seen.insert((&d.file, d.span, &d.message)))
            .collect();
        let mut keep = keep.into_iter();
        errors.retain(|_| keep.next().unwrap_or(true));
        Diagnostics(errors)
    }
    /// The errors, sorted by position.
    pub fn as_slice(&self) -> &[Diagnostic] {
        &self.0
    }
    /// The errors, sorted by position.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}

impl Deref for Diagnostics {
    type Target = [Diagnostic];
    fn deref(&self) -> &[Diagnostic] {
        &self.0
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Collects errors (position and message) while a file is checked.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub(crate) Vec<(Span, String)>);

impl Errors {
    /// Records an error. Quoted user text is already escaped and shortened
    /// ([`shorten`](crate::yaml::shorten)); any line break left (from text
    /// that is not the user's own, such as the YAML parser's) is escaped
    /// here too, so that every error stays on one line.
    pub(crate) fn push(&mut self, span: Span, message: impl Into<String>) {
        let mut message = message.into();
        if message.contains(|c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}') {
            let mut escaped = String::with_capacity(message.len());
            message
                .chars()
                .for_each(|c| crate::yaml::push_escaped(&mut escaped, c));
            message = escaped;
        }
        self.0.push((span, message));
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub(crate) fn into_diagnostics(self, file: &str) -> Diagnostics {
        Diagnostics::new(
            self.0
                .into_iter()
                .map(|(span, message)| Diagnostic {
                    file: file.to_string(),
                    span,
                    message,
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages that do not quote user text through `shorten` (the YAML
    /// parser's, say) still cannot break the one-line-per-error format.
    #[test]
    fn a_pushed_message_is_one_line() {
        let mut errors = Errors::default();
        errors.push(Span::default(), "a\nb\r\tc\u{7}\u{2028}");
        errors.push(Span::default(), "plain `text` … kept");
        assert_eq!(
            errors.0,
            [
                (Span::default(), "a\\nb\\r\\tc\\u{7}\\u{2028}".to_string()),
                (Span::default(), "plain `text` … kept".to_string()),
            ]
        );
    }
}
