//! A small located YAML tree built from saphyr-parser's event stream.
//!
//! Only what a register map needs: mappings (with their keys' positions),
//! sequences and scalars (with their text and whether they were quoted).
//! Building the tree is iterative (an explicit stack), so deep nesting cannot
//! overflow the call stack; it is also capped at [`MAX_DEPTH`] levels.

use std::collections::HashMap;

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
        items: Vec<Node>,
    },
    Map {
        span: Span,
        entries: Vec<Entry>,
        /// The key waiting for its value: `Some(Some(..))` a good key,
        /// `Some(None)` a key that was reported (its value is dropped).
        pending: Option<Option<(String, Span)>>,
        seen: HashMap<String, Span>,
    },
}

impl Frame {
    fn finish(self) -> Node {
        match self {
            Frame::Seq { span, items } => Node {
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
                            errors.push(
                                node.span,
                                format!(
                                    "duplicate key `{}` (first given at {first})",
                                    shorten(&text)
                                ),
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
    let mut parser = Parser::new_from_str(source);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(x) => x,
            Err(e) => {
                errors.push(
                    span_of(e.marker()),
                    format!("YAML syntax error: {}", e.info()),
                );
                return Document::Failed;
            }
        };
        let at = span_of(&span.start);
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
                    errors.push(
                        at,
                        format!(
                            "YAML nested deeper than {MAX_DEPTH} levels; a register map needs at most 10"
                        ),
                    );
                    return Document::Failed;
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        span: at,
                        items: Vec::new(),
                    }
                } else {
                    Frame::Map {
                        span: at,
                        entries: Vec::new(),
                        pending: None,
                        seen: HashMap::new(),
                    }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(frame) => {
                    let node = frame.finish();
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
        (node, errors.0)
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
