//! A small located YAML tree built from saphyr-parser's event stream.
//!
//! Only what a register map needs: mappings (with their keys' positions),
//! sequences and scalars (with their text and whether they were quoted).
//! Building the tree is iterative (an explicit stack), so deep nesting cannot
//! overflow the call stack; it is also capped at [`MAX_DEPTH`] levels.

use std::collections::HashMap;
use std::ops::ControlFlow;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Tag};

use crate::diagnostic::Errors;
use crate::model::Span;

/// The deepest nesting of mappings and sequences accepted. A register map
/// needs ten levels (device, blocks, block, registers, register, fields,
/// field, values, value); the rest is margin.
pub(crate) const MAX_DEPTH: usize = 32;

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Unquoted: may be a number, a boolean or null.
    Plain,
    /// `'single'` or `"double"` quoted: always a string.
    Quoted,
    /// `|` literal or `>` folded block: always a string.
    Block,
}

/// What a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Scalar {
        text: String,
        style: Style,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
    /// A node already reported as an error (an alias); checks skip it
    /// silently.
    Invalid,
}

/// A node and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub span: Span,
    pub kind: Kind,
}

/// A mapping entry. Keys are scalars; duplicates were reported and dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

impl Node {
    /// The scalar's text and style, if this is a scalar.
    pub(crate) fn scalar(&self) -> Option<(&str, Style)> {
        match &self.kind {
            Kind::Scalar { text, style } => Some((text, *style)),
            _ => None,
        }
    }

    /// Whether this is YAML null (`~`, `null`, or nothing at all, unquoted).
    pub(crate) fn is_null(&self) -> bool {
        matches!(
            self.scalar(),
            Some(("" | "~" | "null" | "Null" | "NULL", Style::Plain))
        )
    }

    /// A short description of the node for error messages ("found ...").
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            Kind::Scalar { .. } if self.is_null() => "nothing (null)".to_string(),
            Kind::Scalar {
                text,
                style: Style::Plain,
            } => format!("`{}`", shorten(text)),
            Kind::Scalar {
                text,
                style: Style::Quoted,
            } => {
                format!("the quoted string \"{}\"", shorten(text))
            }
            Kind::Scalar {
                style: Style::Block,
                ..
            } => "a block string".to_string(),
            Kind::Seq(_) => "a list".to_string(),
            Kind::Map(_) => "a mapping".to_string(),
            Kind::Invalid => "an invalid value".to_string(),
        }
    }
}

/// User text (a name, key, value or tag) as quoted in a message: on one
/// line and short. Control characters and line or paragraph separators are
/// escaped (a line break shows as `\n`), and text longer than 40 characters
/// is cut there and ends in `…`. Every message quotes user text through
/// this one function.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        push_escaped(&mut out, c);
    }
    out
}

/// Appends `c`, escaped if it would break a message's line.
pub(crate) fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
        c => out.push(c),
    }
}

/// The outcome of reading the YAML layer.
pub(crate) enum Document {
    /// One document; non-fatal YAML errors (duplicate keys, aliases, tags)
    /// may have been reported.
    Node(Node),
    /// No document at all (empty file or only comments).
    Empty,
    /// A syntax error (or a nesting too deep) stopped reading; reported.
    Failed,
}

/// Converts a saphyr marker (1-based line, 0-based column) to a [`Span`].
pub(crate) fn span_of(m: &Marker) -> Span {
    Span {
        line: m.line().max(1),
        column: m.col() + 1,
    }
}

fn tag_text(tag: &Tag) -> String {
    let text = if tag.is_yaml_core_schema() {
        format!("!!{}", tag.suffix)
    } else if tag.handle == "!" {
        format!("!{}", tag.suffix)
    } else {
        format!("!<{}{}>", tag.handle, tag.suffix)
    };
    shorten(&text)
}

/// A collection being built.
enum Frame {
    Seq {
        span: Span,
        /// Whether it is a flow sequence (`[a, b]`).
        flow: bool,
        items: Vec<Node>,
    },
    Map {
        span: Span,
        /// Whether it is a flow mapping (`{a: b}`).
        flow: bool,
        entries: Vec<Entry>,
        /// The key waiting for its value: `Some(Some(..))` a good key,
        /// `Some(None)` a key that was reported (its value is dropped).
        pending: Option<Option<(String, Span)>>,
        seen: HashMap<String, Span>,
    },
}

impl Frame {
    /// Where it starts, and its opening bracket if it is a flow collection.
    fn opener(&self) -> (Span, Option<char>) {
        match self {
            Frame::Seq { span, flow, .. } => (*span, flow.then_some('[')),
            Frame::Map { span, flow, .. } => (*span, flow.then_some('{')),
        }
    }

    fn finish(self) -> Node {
        match self {
            Frame::Seq { span, items, .. } => Node {
                span,
                kind: Kind::Seq(items),
            },
            Frame::Map { span, entries, .. } => Node {
                span,
                kind: Kind::Map(entries),
            },
        }
    }
}

/// Hands a finished node to its parent (or makes it the root).
fn deliver(stack: &mut [Frame], root: &mut Option<Node>, node: Node, errors: &mut Errors) {
    match stack.last_mut() {
        None => *root = Some(node),
        Some(Frame::Seq { items, .. }) => items.push(node),
        Some(Frame::Map {
            entries,
            pending,
            seen,
            ..
        }) => match pending.take() {
            None => {
                // A key.
                *pending = Some(match node.kind {
                    Kind::Scalar { text, .. } => {
                        if let Some(first) = seen.get(&text) {
                            errors.push_with_note(
                                node.span,
                                format!(
                                    "duplicate key `{}` (first given at {first})",
                                    shorten(&text)
                                ),
                                *first,
                                "first given here",
                            );
                            None
                        } else {
                            seen.insert(text.clone(), node.span);
                            Some((text, node.span))
                        }
                    }
                    Kind::Invalid => None,
                    Kind::Seq(_) | Kind::Map(_) => {
                        errors.push(
                            node.span,
                            format!(
                                "mapping keys must be plain names, found {}",
                                node.describe()
                            ),
                        );
                        None
                    }
                });
            }
            Some(Some((key, key_span))) => entries.push(Entry {
                key,
                key_span,
                value: node,
            }),
            Some(None) => {}
        },
    }
}

/// Reads `source` into a located tree, reporting YAML-level errors.
pub(crate) fn read(source: &str, errors: &mut Errors) -> Document {
    let lines = Lines::new(source);
    let mut parser = Parser::new_from_str(source);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    // Where the last event started: a syntax error is after it.
    let mut last = Span { line: 1, column: 1 };
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(x) => x,
            Err(e) => {
                syntax_error(&lines, &stack, last, span_of(e.marker()), e.info(), errors);
                return Document::Failed;
            }
        };
        let at = span_of(&span.start);
        let end = span_of(&span.end);
        last = at;
        match event {
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    errors.push(
                        at,
                        "only one YAML document is allowed per file; remove this `---` and what follows",
                    );
                    break;
                }
            }
            Event::Alias(_) => {
                errors.push(
                    at,
                    "YAML aliases (`*name`) are not supported in register maps; write the value out",
                );
                deliver(
                    &mut stack,
                    &mut root,
                    Node {
                        span: at,
                        kind: Kind::Invalid,
                    },
                    errors,
                );
            }
            Event::Scalar(text, style, _anchor, tag) => {
                if let Some(tag) = tag {
                    errors.push(
                        at,
                        format!(
                            "YAML tags (`{}`) are not supported in register maps; quote a value to make it a string",
                            tag_text(&tag)
                        ),
                    );
                }
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    ScalarStyle::Literal | ScalarStyle::Folded => Style::Block,
                };
                errors.extents.insert(at, lines.extent(at, end));
                let node = Node {
                    span: at,
                    kind: Kind::Scalar {
                        text: text.into_owned(),
                        style,
                    },
                };
                deliver(&mut stack, &mut root, node, errors);
            }
            Event::SequenceStart(_, ref tag) | Event::MappingStart(_, ref tag) => {
                if let Some(tag) = tag {
                    errors.push(
                        at,
                        format!(
                            "YAML tags (`{}`) are not supported in register maps; remove it",
                            tag_text(tag)
                        ),
                    );
                }
                if stack.len() >= MAX_DEPTH {
                    errors.push(at, too_deep());
                    return Document::Failed;
                }
                let opener = lines.char_at(at);
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        span: at,
                        flow: opener == Some('['),
                        items: Vec::new(),
                    }
                } else {
                    Frame::Map {
                        span: at,
                        flow: opener == Some('{'),
                        entries: Vec::new(),
                        pending: None,
                        seen: HashMap::new(),
                    }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(frame) => {
                    let node = frame.finish();
                    record_extent(&node, end, errors);
                    deliver(&mut stack, &mut root, node, errors);
                }
                None => {
                    errors.push(at, "YAML syntax error: unbalanced end of a collection");
                    return Document::Failed;
                }
            },
        }
    }
    if !stack.is_empty() {
        // Only reachable if the parser ended mid-collection without an error.
        errors.push(
            Span { line: 1, column: 1 },
            "YAML syntax error: unexpected end of file inside a collection",
        );
        return Document::Failed;
    }
    match root {
        Some(node) => Document::Node(node),
        None => Document::Empty,
    }
}

/// The lines of the source, to measure what a node covers and to look for
/// the cause of a syntax error.
struct Lines<'s> {
    lines: Vec<&'s str>,
}

impl<'s> Lines<'s> {
    fn new(source: &'s str) -> Lines<'s> {
        Lines {
            lines: source
                .split('\n')
                .map(|l| l.strip_suffix('\r').unwrap_or(l))
                .collect(),
        }
    }

    fn line(&self, line: usize) -> &'s str {
        self.lines
            .get(line.wrapping_sub(1))
            .copied()
            .unwrap_or_default()
    }

    /// The character at a position.
    fn char_at(&self, at: Span) -> Option<char> {
        self.line(at.line).chars().nth(at.column.wrapping_sub(1))
    }

    /// How many characters from `start` to `end` on `start`'s line (to the
    /// end of that line if `end` is on a later one).
    fn extent(&self, start: Span, end: Span) -> usize {
        if end.line == start.line {
            end.column.saturating_sub(start.column)
        } else {
            self.line(start.line)
                .chars()
                .count()
                .saturating_sub(start.column - 1)
        }
    }
}

/// Records what a finished collection covers on its first line: all of it
/// when it ends on that line (`{ name: A, bits: 0 }`), else its first entry
/// when that is on the line (`name: CTRL` of a block mapping).
fn record_extent(node: &Node, end: Span, errors: &mut Errors) {
    let at = node.span;
    let len = if end.line == at.line {
        end.column.saturating_sub(at.column)
    } else {
        let Kind::Map(entries) = &node.kind else {
            return;
        };
        match entries.first() {
            Some(first) if first.key_span == at => {
                let value = first.value.span;
                match (&first.value.kind, errors.extents.get(&value)) {
                    (Kind::Scalar { .. }, Some(len)) if value.line == at.line => {
                        value.column - at.column + len
                    }
                    _ => return,
                }
            }
            _ => return,
        }
    };
    if len > 0 {
        errors.extents.insert(at, len);
    }
}

/// Reports the syntax error the parser stopped at (`info`, at `at`), naming
/// its cause where it is a common one: an unclosed `{` or `[` (reported
/// where it was opened), an unterminated quoted string (at its opening
/// quote), or nesting beyond the parser's own limit.
fn syntax_error(
    lines: &Lines<'_>,
    stack: &[Frame],
    last: Span,
    at: Span,
    info: &str,
    errors: &mut Errors,
) {
    if info == "recursion limit exceeded" {
        errors.push(at, too_deep());
        return;
    }
    if info.contains("quoted scalar") {
        if let Some((open, quote)) = open_quote(lines, at) {
            let message =
                format!("YAML syntax error: unterminated quoted string; end it with `{quote}`");
            if open == at {
                errors.push(open, message);
            } else {
                errors.push_with_note(
                    open,
                    format!("{message} (the YAML parser stopped at {at}: {info})"),
                    at,
                    "the YAML parser stopped here",
                );
            }
            return;
        }
    }
    if info.contains("tab") {
        if let Some(tab) = tab_near(lines, at) {
            let note = (tab != at).then_some(at);
            let message = format!(
                "YAML syntax error: a tab where YAML allows only spaces; indent with spaces \
                 (the YAML parser stopped at {at}: {info})"
            );
            match note {
                Some(note) => {
                    errors.push_with_note(tab, message, note, "the YAML parser stopped here")
                }
                None => errors.push(tab, message),
            }
            return;
        }
    }
    // The outermost flow collection still open, else (when the parser
    // stopped before it saw it open) the first bracket since the last event.
    let outermost = stack
        .iter()
        .map(Frame::opener)
        .find(|(_, o)| o.is_some())
        .map(|(s, _)| s)
        .or_else(|| first_bracket(lines, last, at));
    if let Some(from) = outermost {
        if let Some((open, bracket)) = unclosed(lines, from) {
            let (what, close) = if bracket == '{' {
                ("mapping", '}')
            } else {
                ("list", ']')
            };
            errors.push_with_note(
                open,
                format!(
                    "YAML syntax error: unclosed `{bracket}` opened here; end the {what} with `{close}` \
                     (the YAML parser stopped at {at}: {info})"
                ),
                at,
                "the YAML parser stopped here",
            );
            return;
        }
    }
    errors.push(at, format!("YAML syntax error: {info}"));
}

fn too_deep() -> String {
    format!("YAML nested deeper than {MAX_DEPTH} levels; a register map needs at most 10")
}

/// Whether a quote or comment may start after `prev` (the character before,
/// `None` at the start of a line): quotes start a scalar, after blank space
/// or a flow indicator, and comments follow blank space.
fn token_start(prev: Option<char>) -> bool {
    matches!(
        prev,
        None | Some(' ' | '\t' | '[' | '{' | ',' | ':' | '-' | '?')
    )
}

/// The opening quote of the quoted string still open at `stop`, if the
/// source read up to there (and including it) leaves one open.
fn open_quote(lines: &Lines<'_>, stop: Span) -> Option<(Span, char)> {
    let start = Span { line: 1, column: 1 };
    scan_code(lines, start, Some(stop), |_, _, _| {
        ControlFlow::<()>::Continue(())
    })
    .1
}

/// The tab the parser stopped at or near (it reports some tabs at the
/// start of the scalar before them, others just after): one in the
/// indentation of `at`'s line, else the first at or after `at`.
fn tab_near(lines: &Lines<'_>, at: Span) -> Option<Span> {
    let indent = lines
        .line(at.line)
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .position(|c| c == '\t');
    if let Some(c) = indent {
        return Some(Span {
            line: at.line,
            column: c + 1,
        });
    }
    lines
        .lines
        .iter()
        .enumerate()
        .skip(at.line.saturating_sub(1))
        .find_map(|(l, text)| {
            let skip = if l + 1 == at.line { at.column - 1 } else { 0 };
            text.chars()
                .enumerate()
                .skip(skip)
                .find(|(_, c)| *c == '\t')
                .map(|(c, _)| Span {
                    line: l + 1,
                    column: c + 1,
                })
        })
}

/// Walks the text from `from` on (up to and including `until`, if given),
/// outside quoted strings and comments, calling `visit` with each
/// character's position, the character and the one before it on its line,
/// until `visit` breaks (`Break`, with its value) or the text ends
/// (`Continue`). Also returns the opening quote of a quoted string still
/// open where the walk ended.
fn scan_code<T>(
    lines: &Lines<'_>,
    from: Span,
    until: Option<Span>,
    mut visit: impl FnMut(Span, char, Option<char>) -> ControlFlow<T>,
) -> (ControlFlow<T>, Option<(Span, char)>) {
    let mut quote: Option<(Span, char)> = None;
    for (l, text) in lines.lines.iter().enumerate().skip(from.line - 1) {
        let line = l + 1;
        let mut prev = None;
        let mut chars = text.chars().enumerate().peekable();
        while let Some((c0, c)) = chars.next() {
            let here = Span {
                line,
                column: c0 + 1,
            };
            if until.is_some_and(|u| here > u) {
                return (ControlFlow::Continue(()), quote);
            }
            if here < from {
                continue;
            }
            match quote {
                Some((_, '"')) if c == '\\' => {
                    chars.next();
                }
                Some((_, q)) if c == q => {
                    if q == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') {
                        chars.next();
                    } else {
                        quote = None;
                    }
                }
                Some(_) => {}
                None => match c {
                    '"' | '\'' if token_start(prev) => quote = Some((here, c)),
                    '#' if matches!(prev, None | Some(' ' | '\t')) => break,
                    _ => {
                        if let ControlFlow::Break(b) = visit(here, c, prev) {
                            return (ControlFlow::Break(b), quote);
                        }
                    }
                },
            }
            prev = Some(c);
        }
    }
    (ControlFlow::Continue(()), quote)
}

/// The first `{` or `[` that starts a token from `from` to `to`, outside
/// quoted strings and comments.
fn first_bracket(lines: &Lines<'_>, from: Span, to: Span) -> Option<Span> {
    let (found, _) = scan_code(lines, from, Some(to), |here, c, prev| {
        if matches!(c, '{' | '[') && token_start(prev) {
            ControlFlow::Break(here)
        } else {
            ControlFlow::Continue(())
        }
    });
    match found {
        ControlFlow::Break(at) => Some(at),
        ControlFlow::Continue(()) => None,
    }
}

/// The first bracket of the flow collection opened at `from` that is never
/// closed, or closed by the wrong bracket: reading on from `from`, skipping
/// quoted strings and comments, the innermost open bracket when a closing
/// one does not match it, or the outermost one still open at the end.
fn unclosed(lines: &Lines<'_>, from: Span) -> Option<(Span, char)> {
    let mut open: Vec<(Span, char)> = Vec::new();
    let (found, _) = scan_code(lines, from, None, |here, c, _| {
        match c {
            '{' | '[' => open.push((here, c)),
            '}' | ']' => match open.pop() {
                Some((at, o)) if (o == '{') != (c == '}') => {
                    return ControlFlow::Break(Some((at, o)))
                }
                Some(_) if open.is_empty() => return ControlFlow::Break(None),
                Some(_) => {}
                None => return ControlFlow::Break(None),
            },
            _ => {}
        }
        ControlFlow::Continue(())
    });
    match found {
        ControlFlow::Break(r) => r,
        ControlFlow::Continue(()) => open.first().copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(src: &str) -> (Option<Node>, Vec<(Span, String)>) {
        let mut errors = Errors::default();
        let doc = read(src, &mut errors);
        let node = match doc {
            Document::Node(n) => Some(n),
            _ => None,
        };
        let found = errors
            .found
            .into_iter()
            .map(|f| (f.span, f.message))
            .collect();
        (node, found)
    }

    #[test]
    fn spans_and_styles() {
        let (node, errors) = tree("a: 1\nb:\n  - 'x'\n  - c: d\n");
        assert!(errors.is_empty());
        let node = node.unwrap();
        let Kind::Map(entries) = &node.kind else {
            panic!()
        };
        assert_eq!(entries[0].key, "a");
        assert_eq!(entries[1].key_span, Span { line: 2, column: 1 });
        let Kind::Seq(items) = &entries[1].value.kind else {
            panic!()
        };
        assert_eq!(items[0].scalar(), Some(("x", Style::Quoted)));
        assert_eq!(items[0].span, Span { line: 3, column: 5 });
        assert_eq!(items[1].span, Span { line: 4, column: 5 });
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let (_, errors) = tree("a: 1\nb: 2\na: 3\n");
        assert_eq!(
            errors,
            vec![(
                Span { line: 3, column: 1 },
                "duplicate key `a` (first given at 1:1)".to_string()
            )]
        );
    }

    #[test]
    fn depth_is_limited() {
        // Flow nesting: the scanner's own limit or ours, either is an error.
        let (node, errors) = tree(&"[".repeat(100_000));
        assert!(node.is_none());
        assert_eq!(errors.len(), 1, "{errors:?}");
        // Block nesting: ours.
        let src: String = (0..200)
            .map(|i| format!("{}a:\n", "  ".repeat(i)))
            .collect();
        let (node, errors) = tree(&src);
        assert!(node.is_none());
        assert_eq!(
            errors,
            vec![(
                Span {
                    line: 33,
                    column: 65
                },
                format!(
                    "YAML nested deeper than {MAX_DEPTH} levels; a register map needs at most 10"
                )
            )]
        );
    }
}
