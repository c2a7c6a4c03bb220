//! Errors with their location: what [`parse`](crate::parse) and
//! [`load`](crate::load) return when a file is not a valid register map.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Deref;

use crate::model::Span;

/// One error in a register-map file.
///
/// Displays as `file:line:column: error: message`, the format compilers use,
/// so editors and CI logs can jump to it. [`Diagnostics::render`] shows it
/// the way rustc does, with the source line and the error underlined.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// The file, as given to [`parse`](crate::parse) or [`load`](crate::load).
    pub file: String,
    /// Where the error is (1-based line and column, columns counted in
    /// characters).
    pub span: Span,
    /// How many characters from `span` the error covers on its line (the
    /// value, key or entry at fault); rendered as at least one.
    pub len: usize,
    /// What is wrong and what is allowed instead.
    pub message: String,
    /// Other places that explain the error (where a duplicate was first
    /// declared, the register another one overlaps), each with a label.
    pub notes: Vec<Note>,
}

/// A secondary location of a [`Diagnostic`], in the same file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Note {
    /// Where (1-based line and column, columns counted in characters).
    pub span: Span,
    /// How many characters it covers on its line (rendered as at least one).
    pub len: usize,
    /// What is there, such as "first declared here".
    pub label: String,
}

impl Diagnostic {
    /// An error at `span` covering one character, without notes.
    pub fn new(file: impl Into<String>, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            span,
            len: 1,
            message: message.into(),
            notes: Vec::new(),
        }
    }
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

    /// Every error the way rustc shows one: the `error:` line, the file and
    /// position, the source line with the error underlined, and the notes
    /// (a duplicate's first declaration, say) as labelled secondary spans.
    /// Errors are separated by an empty line; there is no trailing newline.
    ///
    /// `source` is the text the errors are about (pass `""` when it could not
    /// be read: each error then gets its position only). With `color`, the
    /// text has ANSI colours; callers decide with [`use_color`].
    pub fn render(&self, source: &str, color: bool) -> String {
        let lines = SourceLines::new(source);
        let mut out = String::new();
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                out.push_str("\n\n");
            }
            out.push_str(&d.render_in(&lines, color));
        }
        out
    }
}

impl Diagnostic {
    /// This error the way [`Diagnostics::render`] shows it.
    pub fn render(&self, source: &str, color: bool) -> String {
        self.render_in(&SourceLines::new(source), color)
    }

    fn render_in(&self, lines: &SourceLines<'_>, color: bool) -> String {
        use annotate_snippets::{AnnotationKind, Level, Origin, Renderer, Snippet};
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let title = Level::ERROR.primary_title(self.message.as_str());
        let report = if lines.source.is_empty() {
            [title.element(
                Origin::path(self.file.as_str())
                    .line(self.span.line)
                    .char_column(self.span.column),
            )]
        } else {
            let mut snippet = Snippet::source(lines.source)
                .path(self.file.as_str())
                .annotation(AnnotationKind::Primary.span(lines.range(self.span, self.len)));
            for n in &self.notes {
                snippet = snippet.annotation(
                    AnnotationKind::Context
                        .span(lines.range(n.span, n.len))
                        .label(n.label.as_str()),
                );
            }
            [title.element(snippet)]
        };
        renderer.render(&report)
    }
}

/// Whether diagnostics written to a stream should have colours: only on a
/// terminal, and not when `NO_COLOR` is set to anything but the empty
/// string (<https://no-color.org>).
pub fn use_color(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A source text split into lines, to turn line and column (in
/// characters) into byte ranges.
struct SourceLines<'s> {
    source: &'s str,
    /// Byte offset of each line's start and its text (without the line
    /// break).
    lines: Vec<(usize, &'s str)>,
}

impl<'s> SourceLines<'s> {
    fn new(source: &'s str) -> SourceLines<'s> {
        let mut lines = Vec::new();
        let mut start = 0;
        for text in source.split('\n') {
            lines.push((start, text.strip_suffix('\r').unwrap_or(text)));
            start += text.len() + 1;
        }
        SourceLines { source, lines }
    }

    /// The bytes of `len` characters (at least one, where the line has
    /// them) from `span`, kept within its line. A position past the end of
    /// its line (or of the file) gives an empty range there.
    fn range(&self, span: Span, len: usize) -> std::ops::Range<usize> {
        let Some(&(start, text)) = self.lines.get(span.line.saturating_sub(1)) else {
            return self.source.len()..self.source.len();
        };
        let at = |chars: usize| {
            text.char_indices()
                .nth(chars)
                .map_or(text.len(), |(i, _)| i)
        };
        let from = at(span.column.saturating_sub(1));
        let to = at(span.column.saturating_sub(1) + len.max(1));
        start + from..start + to
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

/// One error found while a file is checked: its position, message and
/// notes (position and label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) span: Span,
    pub(crate) message: String,
    pub(crate) notes: Vec<(Span, String)>,
}

/// Collects errors while a file is checked, and how far the YAML item at
/// each position reaches (for the underline).
#[derive(Debug, Default)]
pub(crate) struct Errors {
    pub(crate) found: Vec<Found>,
    /// For a position where a scalar, an entry or a one-line collection
    /// starts: how many characters it covers on that line.
    pub(crate) extents: HashMap<Span, usize>,
}

/// `message` with any line break or control character escaped.
fn one_line(message: String) -> String {
    if message.contains(|c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}') {
        let mut escaped = String::with_capacity(message.len());
        message
            .chars()
            .for_each(|c| crate::yaml::push_escaped(&mut escaped, c));
        escaped
    } else {
        message
    }
}

impl Errors {
    /// Records an error. Quoted user text is already escaped and shortened
    /// ([`shorten`](crate::yaml::shorten)); any line break left (from text
    /// that is not the user's own, such as the YAML parser's) is escaped
    /// here too, so that every error stays on one line.
    pub(crate) fn push(&mut self, span: Span, message: impl Into<String>) {
        self.found.push(Found {
            span,
            message: one_line(message.into()),
            notes: Vec::new(),
        });
    }
    /// Records an error with a secondary location (the first declaration
    /// of a duplicate, say) and its label.
    pub(crate) fn push_with_note(
        &mut self,
        span: Span,
        message: impl Into<String>,
        note: Span,
        label: impl Into<String>,
    ) {
        self.found.push(Found {
            span,
            message: one_line(message.into()),
            notes: vec![(note, one_line(label.into()))],
        });
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }
    fn extent(&self, span: Span) -> usize {
        self.extents.get(&span).copied().unwrap_or(1)
    }
    pub(crate) fn into_diagnostics(self, file: &str) -> Diagnostics {
        let list = self
            .found
            .iter()
            .map(|f| Diagnostic {
                file: file.to_string(),
                span: f.span,
                len: self.extent(f.span),
                message: f.message.clone(),
                notes: f
                    .notes
                    .iter()
                    .map(|(span, label)| Note {
                        span: *span,
                        len: self.extent(*span),
                        label: label.clone(),
                    })
                    .collect(),
            })
            .collect();
        Diagnostics::new(list)
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
        let messages: Vec<&str> = errors.found.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            ["a\\nb\\r\\tc\\u{7}\\u{2028}", "plain `text` … kept"]
        );
    }
}
