//! From the located YAML tree to a draft of the model, reporting every key
//! that is unknown, missing, or of the wrong type.
//!
//! The draft keeps `None` wherever a value was missing or wrong (already
//! reported), so the checks in [`crate::validate`] skip what depends on it
//! instead of piling up follow-on errors.

use crate::diagnostic::Errors;
use crate::model::{Access, FieldWrites, Span, Width};
use crate::names::{identifier_problem, suggest};
use crate::yaml::{Entry, Kind, Node, Style};

mod wide_keys;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loc<T> {
    pub value: T,
    pub span: Span,
}

/// An optional key: not given, given but wrong (reported), or given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Given<T> {
    Absent,
    Bad,
    Ok(T),
}

impl<T> Given<T> {
    fn from_option(given: bool, value: Option<T>) -> Given<T> {
        match (given, value) {
            (false, _) => Given::Absent,
            (true, None) => Given::Bad,
            (true, Some(v)) => Given::Ok(v),
        }
    }
    pub(crate) fn ok(&self) -> Option<&T> {
        match self {
            Given::Ok(v) => Some(v),
            _ => None,
        }
    }
}

pub(crate) struct DDevice {
    pub name: Option<Loc<String>>,
    pub description: Option<String>,
    pub pci: Option<DPci>,
    pub blocks: Vec<DBlock>,
}

pub(crate) struct DPci {
    /// Every ID, in file order: the `vendor`/`device` pair, or the `ids`
    /// list. `None` parts were missing or wrong (reported).
    pub ids: Vec<DPciId>,
    pub bars: Vec<DBar>,
}

pub(crate) struct DPciId {
    pub vendor: Option<u16>,
    pub device: Option<u16>,
    pub span: Span,
}

pub(crate) struct DBar {
    pub bar: Option<Loc<u8>>,
    pub block: Option<Loc<String>>,
    /// `Ok(0)` (at 0:0) when absent.
    pub offset: Given<Loc<u64>>,
    pub span: Span,
}

pub(crate) struct DBlock {
    pub name: Option<Loc<String>>,
    pub description: Option<String>,
    pub size: Option<Loc<u64>>,
    pub array: Given<DArray>,
    pub registers: Vec<DRegister>,
    pub span: Span,
}

pub(crate) struct DArray {
    pub count: Option<Loc<u64>>,
    pub stride: Option<Loc<u64>>,
}

pub(crate) struct DRegister {
    pub name: Option<Loc<String>>,
    pub description: Option<String>,
    pub offset: Option<Loc<u64>>,
    /// `Ok(W32)` when absent.
    pub width: Given<Width>,
    /// `Ok(ReadWrite)` when absent.
    pub access: Given<Access>,
    pub read_side_effects: Given<Loc<bool>>,
    pub write_side_effects: Given<Loc<bool>>,
    pub field_writes: Given<Loc<FieldWrites>>,
    pub reset: Given<Loc<u64>>,
    pub array: Given<DArray>,
    pub split: wide_keys::DSplit,
    pub fields: Vec<DField>,
    pub span: Span,
}

pub(crate) struct DField {
    pub name: Option<Loc<String>>,
    pub description: Option<String>,
    /// (msb, lsb), msb >= lsb.
    pub bits: Option<Loc<(u64, u64)>>,
    pub access: Given<Loc<Access>>,
    pub self_clearing: Given<Loc<bool>>,
    pub values: Vec<DValue>,
    pub span: Span,
}

pub(crate) struct DValue {
    pub name: Option<Loc<String>>,
    pub value: Option<Loc<u64>>,
    pub description: Option<String>,
    pub span: Span,
}

const DEVICE_KEYS: &[&str] = &["name", "description", "pci", "blocks"];
const PCI_KEYS: &[&str] = &["vendor", "device", "ids", "bars"];
const PCI_ID_KEYS: &[&str] = &["vendor", "device"];
const BAR_KEYS: &[&str] = &["bar", "block", "offset"];
const BLOCK_KEYS: &[&str] = &["name", "description", "size", "array", "registers"];
const REGISTER_KEYS: &[&str] = &[
    "name",
    "description",
    "offset",
    "width",
    "access",
    "read_side_effects",
    "write_side_effects",
    "field_writes",
    "reset",
    "array",
    "access_width",
    "access_order",
    "consistent_read",
    "fields",
];
const ARRAY_KEYS: &[&str] = &["count", "stride"];
const FIELD_KEYS: &[&str] = &[
    "name",
    "description",
    "bits",
    "access",
    "self_clearing",
    "values",
];
const VALUE_KEYS: &[&str] = &["name", "value", "description"];

/// What a number must look like, for messages.
pub(crate) use crate::number::SYNTAX as NUMBER;
pub(crate) use crate::number::{parse as parse_number, NumberError};

/// A number for messages: decimal below 10, hex above.
pub(crate) fn show(v: u64) -> String {
    if v < 10 {
        v.to_string()
    } else {
        format!("{v:#x}")
    }
}

/// The extractor: walks the tree and collects errors.
struct Ex<'e> {
    errors: &'e mut Errors,
    /// Unknown keys reported with a suggestion (their position and the key
    /// suggested): a required key misspelt is reported once, as unknown,
    /// not also as missing.
    suggested: Vec<(Span, &'static str)>,
}

fn get<'a>(entries: &'a [Entry], key: &str) -> Option<&'a Node> {
    entries.iter().find(|e| e.key == key).map(|e| &e.value)
}

fn quote_list(keys: &[&str]) -> String {
    keys.join(", ")
}

impl Ex<'_> {
    fn err(&mut self, span: Span, message: impl Into<String>) {
        self.errors.push(span, message);
    }

    /// The entries of a mapping, or an error naming `what`.
    fn mapping<'a>(&mut self, node: &'a Node, what: &str) -> Option<&'a [Entry]> {
        match &node.kind {
            Kind::Map(entries) => Some(entries),
            Kind::Invalid => None,
            _ => {
                self.err(
                    node.span,
                    format!("{what} must be a mapping, found {}", node.describe()),
                );
                None
            }
        }
    }

    /// Reports every key of `entries` not in `allowed`.
    fn check_keys(&mut self, entries: &[Entry], ctx: &str, allowed: &[&'static str]) {
        for e in entries {
            if allowed.contains(&e.key.as_str()) {
                continue;
            }
            let key = crate::yaml::shorten(&e.key);
            let suggestion = suggest(&e.key, allowed);
            if let Some(s) = suggestion {
                self.suggested.push((e.key_span, s));
            }
            let message = match suggestion {
                Some(s) => format!(
                    "unknown key `{key}` in {ctx}; did you mean `{s}`? allowed keys: {}",
                    quote_list(allowed)
                ),
                None => format!(
                    "unknown key `{key}` in {ctx}; allowed keys: {}",
                    quote_list(allowed)
                ),
            };
            self.err(e.key_span, message);
        }
    }

    /// The value of a required key, or an error at the mapping.
    fn require<'a>(
        &mut self,
        entries: &'a [Entry],
        map_span: Span,
        key: &str,
        ctx: &str,
    ) -> Option<&'a Node> {
        let node = get(entries, key);
        let misspelt = || {
            entries
                .iter()
                .any(|e| self.suggested.contains(&(e.key_span, key)))
        };
        if node.is_none() && !misspelt() {
            self.err(map_span, format!("missing required key `{key}` in {ctx}"));
        }
        node
    }

    fn wrong(&mut self, node: &Node, key: &str, ctx: &str, expected: &str) {
        if matches!(node.kind, Kind::Invalid) {
            return;
        }
        let mut message = format!(
            "`{key}` of {ctx} must be {expected}, found {}",
            node.describe()
        );
        if let Some((text, Style::Quoted)) = node.scalar() {
            if expected == NUMBER && parse_number(text).is_ok() {
                message.push_str("; remove the quotes to make it a number");
            }
        }
        self.err(node.span, message);
    }

    /// Any non-null scalar, as text.
    fn string(&mut self, node: &Node, key: &str, ctx: &str) -> Option<String> {
        match node.scalar() {
            Some((text, _)) if !node.is_null() => Some(text.to_string()),
            _ => {
                self.wrong(node, key, ctx, "a string");
                None
            }
        }
    }

    fn optional_string(&mut self, entries: &[Entry], key: &str, ctx: &str) -> Option<String> {
        get(entries, key).and_then(|n| self.string(n, key, ctx))
    }

    /// A name: a string that must be a valid identifier. Returns the text
    /// even when it is not an identifier (that is reported), so that later
    /// messages can name the item.
    fn name(
        &mut self,
        entries: &[Entry],
        map_span: Span,
        kind: &str,
        ctx: &str,
    ) -> Option<Loc<String>> {
        let node = self.require(entries, map_span, "name", ctx)?;
        let text = self.string(node, "name", ctx)?;
        if let Some(problem) = identifier_problem(&text) {
            self.err(
                node.span,
                format!(
                    "`{}` is not a valid {kind} name: {problem}",
                    crate::yaml::shorten(&text)
                ),
            );
        }
        Some(Loc {
            value: text,
            span: node.span,
        })
    }

    /// A plain scalar holding a non-negative integer that fits in 64 bits.
    fn number(&mut self, node: &Node, key: &str, ctx: &str) -> Option<u64> {
        match node.scalar() {
            Some((text, Style::Plain)) => match parse_number(text) {
                Ok(v) => Some(v),
                Err(NumberError::TooLarge) => {
                    self.err(
                        node.span,
                        format!(
                            "`{key}` of {ctx} is too large: `{}` does not fit in 64 bits",
                            crate::yaml::shorten(text)
                        ),
                    );
                    None
                }
                Err(NumberError::NotANumber) => {
                    self.wrong(node, key, ctx, NUMBER);
                    None
                }
            },
            _ => {
                self.wrong(node, key, ctx, NUMBER);
                None
            }
        }
    }

    fn located_number(&mut self, node: &Node, key: &str, ctx: &str) -> Option<Loc<u64>> {
        self.number(node, key, ctx).map(|value| Loc {
            value,
            span: node.span,
        })
    }

    fn boolean(&mut self, node: &Node, key: &str, ctx: &str) -> Option<bool> {
        match node.scalar() {
            Some(("true", Style::Plain)) => Some(true),
            Some(("false", Style::Plain)) => Some(false),
            _ => {
                self.wrong(node, key, ctx, "`true` or `false`");
                None
            }
        }
    }

    /// An optional boolean key, with the position of its value.
    fn located_boolean(&mut self, entries: &[Entry], key: &str, ctx: &str) -> Given<Loc<bool>> {
        match get(entries, key) {
            None => Given::Absent,
            Some(n) => Given::from_option(
                true,
                self.boolean(n, key, ctx).map(|value| Loc {
                    value,
                    span: n.span,
                }),
            ),
        }
    }

    fn list<'a>(&mut self, node: &'a Node, key: &str, ctx: &str) -> Option<&'a [Node]> {
        match &node.kind {
            Kind::Seq(items) => Some(items),
            _ => {
                self.wrong(node, key, ctx, "a list");
                None
            }
        }
    }

    fn optional_list<'a>(&mut self, entries: &'a [Entry], key: &str, ctx: &str) -> &'a [Node] {
        get(entries, key)
            .and_then(|n| self.list(n, key, ctx))
            .unwrap_or(&[])
    }

    fn access(&mut self, node: &Node, ctx: &str) -> Option<Access> {
        let parsed = match node.scalar() {
            Some((text, Style::Plain | Style::Quoted)) => Access::parse(text),
            _ => None,
        };
        if parsed.is_none() {
            let kinds: Vec<&str> = Access::ALL.iter().map(|(n, _)| *n).collect();
            self.wrong(node, "access", ctx, &format!("one of {}", kinds.join(", ")));
        }
        parsed
    }

    // ------------------------------------------------------------ device

    fn device(&mut self, root: &Node) -> Option<DDevice> {
        let entries = self.mapping(root, "the top level of the file")?;
        let ctx = "the device";
        self.check_keys(entries, ctx, DEVICE_KEYS);
        let name = self.name(entries, root.span, "device", ctx);
        let description = self.optional_string(entries, "description", ctx);
        let pci = get(entries, "pci").and_then(|n| self.pci(n));
        let mut blocks = Vec::new();
        if let Some(node) = self.require(entries, root.span, "blocks", ctx) {
            if let Some(items) = self.list(node, "blocks", ctx) {
                if items.is_empty() {
                    self.err(
                        node.span,
                        "`blocks` of the device must list at least one block",
                    );
                }
                blocks = items.iter().filter_map(|b| self.block(b)).collect();
            }
        }
        Some(DDevice {
            name,
            description,
            pci,
            blocks,
        })
    }

    fn pci(&mut self, node: &Node) -> Option<DPci> {
        let entries = self.mapping(node, "`pci`")?;
        let ctx = "`pci`";
        self.check_keys(entries, ctx, PCI_KEYS);
        let ids = match get(entries, "ids") {
            None => vec![self.pci_id(entries, node.span, ctx)],
            Some(list) => {
                if let Some(e) = entries
                    .iter()
                    .find(|e| e.key == "vendor" || e.key == "device")
                {
                    self.err(
                        e.key_span,
                        format!(
                            "`pci` has both `ids` and `{}`; list every vendor:device ID under `ids` \
                             (the first is the device's main ID)",
                            e.key
                        ),
                    );
                }
                let items = self.list(list, "ids", ctx).unwrap_or(&[]);
                if items.is_empty() && matches!(list.kind, Kind::Seq(_)) {
                    self.err(
                        list.span,
                        "`ids` of `pci` must list at least one `{ vendor, device }` ID",
                    );
                }
                items
                    .iter()
                    .filter_map(|item| {
                        let ctx = "an `ids` entry of `pci`";
                        let entries = self.mapping(item, ctx)?;
                        self.check_keys(entries, ctx, PCI_ID_KEYS);
                        Some(self.pci_id(entries, item.span, ctx))
                    })
                    .collect()
            }
        };
        let bars = self
            .optional_list(entries, "bars", ctx)
            .iter()
            .filter_map(|b| self.bar(b))
            .collect();
        Some(DPci { ids, bars })
    }

    /// The `vendor` and `device` keys of `entries` (of `pci` itself, or of
    /// an `ids` entry).
    fn pci_id(&mut self, entries: &[Entry], span: Span, ctx: &str) -> DPciId {
        let id = |this: &mut Self, key: &str| -> Option<u16> {
            let n = this.require(entries, span, key, ctx)?;
            let v = this.number(n, key, ctx)?;
            match u16::try_from(v) {
                Ok(v) => Some(v),
                Err(_) => {
                    this.err(
                        n.span,
                        format!(
                            "`{key}` of {ctx} must be at most 0xffff (PCI IDs are 16 bits), found {}",
                            n.describe()
                        ),
                    );
                    None
                }
            }
        };
        DPciId {
            vendor: id(self, "vendor"),
            device: id(self, "device"),
            span,
        }
    }

    fn bar(&mut self, node: &Node) -> Option<DBar> {
        let ctx = "a `pci.bars` entry";
        let entries = self.mapping(node, ctx)?;
        self.check_keys(entries, ctx, BAR_KEYS);
        let bar = self.require(entries, node.span, "bar", ctx).and_then(|n| {
            let v = self.number(n, "bar", ctx)?;
            if v > 5 {
                self.err(
                    n.span,
                    format!(
                        "`bar` of {ctx} must be a BAR number from 0 to 5, found {}",
                        n.describe()
                    ),
                );
                return None;
            }
            Some(Loc {
                value: v as u8,
                span: n.span,
            })
        });
        let block = self
            .require(entries, node.span, "block", ctx)
            .and_then(|n| {
                self.string(n, "block", ctx).map(|value| Loc {
                    value,
                    span: n.span,
                })
            });
        let offset = match get(entries, "offset") {
            None => Given::Ok(Loc {
                value: 0,
                span: node.span,
            }),
            Some(n) => Given::from_option(true, self.located_number(n, "offset", ctx)),
        };
        Some(DBar {
            bar,
            block,
            offset,
            span: node.span,
        })
    }

    // ------------------------------------------------------------ block

    fn block(&mut self, node: &Node) -> Option<DBlock> {
        let entries = self.mapping(node, "a block")?;
        let name = self.name(entries, node.span, "block", "a block");
        let ctx = match &name {
            Some(n) => format!("block `{}`", crate::yaml::shorten(&n.value)),
            None => "a block".to_string(),
        };
        self.check_keys(entries, &ctx, BLOCK_KEYS);
        let description = self.optional_string(entries, "description", &ctx);
        let size = self
            .require(entries, node.span, "size", &ctx)
            .and_then(|n| {
                let v = self.located_number(n, "size", &ctx)?;
                if v.value == 0 {
                    self.err(n.span, format!("`size` of {ctx} must be greater than 0"));
                    return None;
                }
                Some(v)
            });
        let array = match get(entries, "array") {
            None => Given::Absent,
            Some(n) => Given::from_option(true, self.array(n, &ctx)),
        };
        let registers = self
            .optional_list(entries, "registers", &ctx)
            .iter()
            .filter_map(|r| self.register(r))
            .collect();
        Some(DBlock {
            name,
            description,
            size,
            array,
            registers,
            span: node.span,
        })
    }

    // ------------------------------------------------------------ register

    fn register(&mut self, node: &Node) -> Option<DRegister> {
        let entries = self.mapping(node, "a register")?;
        let name = self.name(entries, node.span, "register", "a register");
        let rname = name.as_ref().map(|n| crate::yaml::shorten(&n.value));
        let ctx = match &rname {
            Some(n) => format!("register `{n}`"),
            None => "a register".to_string(),
        };
        self.check_keys(entries, &ctx, REGISTER_KEYS);
        let description = self.optional_string(entries, "description", &ctx);
        let offset = self
            .require(entries, node.span, "offset", &ctx)
            .and_then(|n| self.located_number(n, "offset", &ctx));
        let width = match get(entries, "width") {
            None => Given::Ok(Width::W32),
            Some(n) => Given::from_option(true, self.width(n, "width", &ctx)),
        };
        let access = match get(entries, "access") {
            None => Given::Ok(Access::ReadWrite),
            Some(n) => Given::from_option(true, self.access(n, &ctx)),
        };
        let read_side_effects = match get(entries, "read_side_effects") {
            None => Given::Absent,
            Some(n) => Given::from_option(
                true,
                self.boolean(n, "read_side_effects", &ctx).map(|value| Loc {
                    value,
                    span: n.span,
                }),
            ),
        };
        let write_side_effects = self.located_boolean(entries, "write_side_effects", &ctx);
        let field_writes = self.keyword(entries, "field_writes", &ctx, &FieldWrites::ALL);
        let reset = match get(entries, "reset") {
            None => Given::Absent,
            Some(n) => Given::from_option(true, self.located_number(n, "reset", &ctx)),
        };
        let array = match get(entries, "array") {
            None => Given::Absent,
            Some(n) => Given::from_option(true, self.array(n, &ctx)),
        };
        let split = self.split_keys(entries, &ctx);
        let fields = self
            .optional_list(entries, "fields", &ctx)
            .iter()
            .filter_map(|f| self.field(f, rname.as_deref()))
            .collect();
        Some(DRegister {
            name,
            description,
            offset,
            width,
            access,
            read_side_effects,
            write_side_effects,
            field_writes,
            reset,
            array,
            split,
            fields,
            span: node.span,
        })
    }

    /// `array` of a register or of a block (`owner`: "register `GAIN`").
    fn array(&mut self, node: &Node, owner: &str) -> Option<DArray> {
        let ctx = format!("the array of {owner}");
        let entries = self.mapping(node, &format!("`array` of {owner}"))?;
        self.check_keys(entries, &ctx, ARRAY_KEYS);
        let count = self
            .require(entries, node.span, "count", &ctx)
            .and_then(|n| {
                let v = self.located_number(n, "count", &ctx)?;
                if v.value == 0 {
                    self.err(
                        n.span,
                        format!(
                            "`count` of {ctx} must be at least 1, found {}",
                            n.describe()
                        ),
                    );
                    return None;
                }
                Some(v)
            });
        let stride = self
            .require(entries, node.span, "stride", &ctx)
            .and_then(|n| self.located_number(n, "stride", &ctx));
        Some(DArray { count, stride })
    }

    // ------------------------------------------------------------ field

    fn field(&mut self, node: &Node, register: Option<&str>) -> Option<DField> {
        let anon = match register {
            Some(r) => format!("a field of register `{r}`"),
            None => "a field".to_string(),
        };
        let entries = self.mapping(node, &anon)?;
        let name = self.name(entries, node.span, "field", &anon);
        let path = match (&name, register) {
            (Some(f), Some(r)) => Some(format!("{r}.{}", crate::yaml::shorten(&f.value))),
            (Some(f), None) => Some(crate::yaml::shorten(&f.value)),
            (None, _) => None,
        };
        let ctx = match &path {
            Some(p) => format!("field `{p}`"),
            None => anon,
        };
        self.check_keys(entries, &ctx, FIELD_KEYS);
        let description = self.optional_string(entries, "description", &ctx);
        let bits = self
            .require(entries, node.span, "bits", &ctx)
            .and_then(|n| self.bits(n, &ctx));
        let access = match get(entries, "access") {
            None => Given::Absent,
            Some(n) => Given::from_option(
                true,
                self.access(n, &ctx).map(|value| Loc {
                    value,
                    span: n.span,
                }),
            ),
        };
        let self_clearing = self.located_boolean(entries, "self_clearing", &ctx);
        let values = self
            .optional_list(entries, "values", &ctx)
            .iter()
            .filter_map(|v| self.value(v, path.as_deref()))
            .collect();
        Some(DField {
            name,
            description,
            bits,
            access,
            self_clearing,
            values,
            span: node.span,
        })
    }

    /// `3`, `15:8`, `"15:8"`.
    fn bits(&mut self, node: &Node, ctx: &str) -> Option<Loc<(u64, u64)>> {
        const EXPECTED: &str = "a bit number like `3` or a range `msb:lsb` like `15:8`";
        let Some((text, Style::Plain | Style::Quoted)) = node.scalar() else {
            self.wrong(node, "bits", ctx, EXPECTED);
            return None;
        };
        let bit = |s: &str| parse_number(s.trim());
        let parsed = match text.split_once(':') {
            None => bit(text).map(|b| (b, b)),
            Some((msb, lsb)) => bit(msb).and_then(|m| bit(lsb).map(|l| (m, l))),
        };
        match parsed {
            Ok((msb, lsb)) if msb < lsb => {
                self.err(
                    node.span,
                    format!(
                        "`bits` of {ctx} is `{msb}:{lsb}`, but msb must not be less than lsb: write `{lsb}:{msb}`"
                    ),
                );
                None
            }
            Ok(v) => Some(Loc {
                value: v,
                span: node.span,
            }),
            Err(NumberError::TooLarge) => {
                self.err(
                    node.span,
                    format!(
                        "`bits` of {ctx} is too large: `{}` does not fit in 64 bits",
                        crate::yaml::shorten(text)
                    ),
                );
                None
            }
            Err(NumberError::NotANumber) => {
                self.wrong(node, "bits", ctx, EXPECTED);
                None
            }
        }
    }

    fn value(&mut self, node: &Node, field: Option<&str>) -> Option<DValue> {
        let anon = match field {
            Some(f) => format!("a value of field `{f}`"),
            None => "a value".to_string(),
        };
        let entries = self.mapping(node, &anon)?;
        let name = self.name(entries, node.span, "value", &anon);
        let ctx = match (&name, field) {
            (Some(v), Some(f)) => format!("value `{f}.{}`", crate::yaml::shorten(&v.value)),
            (Some(v), None) => format!("value `{}`", crate::yaml::shorten(&v.value)),
            (None, _) => anon,
        };
        self.check_keys(entries, &ctx, VALUE_KEYS);
        let value = self
            .require(entries, node.span, "value", &ctx)
            .and_then(|n| self.located_number(n, "value", &ctx));
        let description = self.optional_string(entries, "description", &ctx);
        Some(DValue {
            name,
            value,
            description,
            span: node.span,
        })
    }
}

/// Extracts the draft from the tree, reporting key and type errors.
pub(crate) fn extract(root: &Node, errors: &mut Errors) -> Option<DDevice> {
    Ex {
        errors,
        suggested: Vec::new(),
    }
    .device(root)
}

/// The error for a file with no YAML document.
pub(crate) fn empty_file_message() -> String {
    format!(
        "the file is empty; a register map is a mapping with keys {} (`name` and `blocks` required)",
        quote_list(DEVICE_KEYS)
    )
}
