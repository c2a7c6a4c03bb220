//! Register maps: loading, choosing a block, and resolving what the user
//! typed (targets, values, conditions) against the model.

use std::path::Path;

use register_spec::{Access, Block, Device, Field, Register, Width};

use crate::error::{Error, Result};
use crate::place::{Place, Scope};

/// The shipped maps, parsed and validated at build time and embedded as
/// serialized models (see build.rs).
mod prebuilt {
    use register_spec::Device;
    include!(concat!(env!("OUT_DIR"), "/prebuilt_specs.rs"));

    /// The model of the shipped map `name`, without descriptions.
    pub fn prebuilt(name: &str) -> Option<Device> {
        postcard::from_bytes(prebuilt_bytes(name)?).ok()
    }
}
use crate::names::{near, or_list, short_list};
use crate::num::{digits_for_bits, hex, looks_numeric, parse_u64};

/// Whether `--spec ARG` is a file by its spelling alone: it contains `/` or
/// ends in `.yaml`/`.yml` (else it is a file only if one of that name exists).
pub fn is_pathish(arg: &str) -> bool {
    arg.contains('/') || arg.ends_with(".yaml") || arg.ends_with(".yml")
}

/// Loads `--spec`: a YAML file, or the name of a map shipped in device-specs.
///
/// Returns the model and how it was named (the path, or `edu (shipped)`).
pub fn load(arg: &str) -> Result<(Device, String)> {
    load_as(arg, true)
}

/// [`load`] with the descriptions of a shipped map too (its YAML is parsed
/// rather than the prebuilt model, which leaves them out): for `spec doc`.
pub fn load_documented(arg: &str) -> Result<(Device, String)> {
    load_as(arg, false)
}

fn load_as(arg: &str, prebuilt_ok: bool) -> Result<(Device, String)> {
    let path = Path::new(arg);
    // A file of that name wins over a shipped map (one `stat`).
    let is_file = || {
        nix::sys::stat::stat(path).is_ok_and(|st| {
            nix::sys::stat::SFlag::from_bits_truncate(st.st_mode & nix::libc::S_IFMT)
                == nix::sys::stat::SFlag::S_IFREG
        })
    };
    if is_pathish(arg) || is_file() {
        let (source, parsed) = crate::input::load_spec_source(path)?;
        return parsed
            .map(|d| (d, arg.to_string()))
            .map_err(|d| spec_error_in(d, &source));
    }
    if let Some(s) = device_specs::spec(arg) {
        if let Some(d) = prebuilt::prebuilt(s.name).filter(|_| prebuilt_ok) {
            return Ok((d, format!("{} (shipped)", s.name)));
        }
        return register_spec::parse(s.yaml, s.file)
            .map(|d| (d, format!("{} (shipped)", s.name)))
            .map_err(|d| spec_error_in(d, s.yaml));
    }
    let shipped: Vec<&str> = device_specs::SPECS.iter().map(|s| s.name).collect();
    let close: Vec<String> = near(arg, shipped.iter().copied())
        .into_iter()
        .map(String::from)
        .collect();
    let mut e = Error::usage(format!(
        "unknown spec {arg}: there is no such file, and no shipped map of that name",
        arg = crate::names::Shown(arg)
    ));
    e = if close.is_empty() {
        e.hint(format!(
            "give a YAML file, or one of the shipped maps: {}",
            shipped.join(", ")
        ))
    } else {
        e.hint(format!(
            "did you mean {}? (shipped maps: {})",
            or_list(&close),
            shipped.join(", ")
        ))
    };
    Err(e)
}

/// An invalid map: one line per error in the message (for JSON), and
/// rustc's form with the source lines for people.
fn spec_error_in(d: register_spec::Diagnostics, source: &str) -> Error {
    use std::io::IsTerminal;
    let color = register_spec::use_color(std::io::stderr().is_terminal());
    Error::usage(format!("invalid register map:\n{d}"))
        .human(format!(
            "invalid register map:\n{}",
            d.render(source, color)
        ))
        .hint(
            "`regpoke spec check FILE` lists every error; docs/spec-format.md describes the format",
        )
}

/// The block `--block` names, or the one bound to `bar`, or the first block
/// with registers (else the first block).
pub fn choose_block<'a>(dev: &'a Device, name: Option<&str>, bar: Option<u8>) -> Result<&'a Block> {
    if let Some(name) = name {
        return find_block(dev, name);
    }
    if let Some(bar) = bar {
        if let Some(b) = bound_block(dev, bar) {
            return Ok(b);
        }
    }
    default_block(dev)
}

/// The first block with registers, else the first block.
pub fn default_block(dev: &Device) -> Result<&Block> {
    dev.blocks
        .iter()
        .find(|b| !b.registers.is_empty())
        .or_else(|| dev.blocks.first())
        .ok_or_else(|| Error::usage(format!("spec {} has no blocks", dev.name)))
}

/// The block named `name` (exact, else the only case-insensitive match).
pub fn find_block<'a>(dev: &'a Device, name: &str) -> Result<&'a Block> {
    if let Some(b) = dev.block(name) {
        return Ok(b);
    }
    let ci: Vec<&Block> = dev
        .blocks
        .iter()
        .filter(|b| b.name.eq_ignore_ascii_case(name))
        .collect();
    if let [one] = ci.as_slice() {
        return Ok(one);
    }
    let names: Vec<&str> = dev.blocks.iter().map(|b| b.name.as_str()).collect();
    let close: Vec<String> = near(name, names.iter().copied())
        .into_iter()
        .map(String::from)
        .collect();
    let e = Error::usage(format!(
        "spec {} has no block {name}",
        dev.name,
        name = crate::names::Shown(name)
    ));
    Err(if close.is_empty() {
        e.hint(format!("its blocks: {}", names.join(", ")))
    } else {
        e.hint(format!(
            "did you mean {}? (blocks: {})",
            or_list(&close),
            names.join(", ")
        ))
    })
}

/// The block bound to BAR `bar` by the spec's `pci.bars`: of several, the
/// first listed that is not a block array (unqualified names need one
/// block), else the first listed.
pub fn bound_block(dev: &Device, bar: u8) -> Option<&Block> {
    let pci = dev.pci.as_ref()?;
    let mut bound = pci
        .bars
        .iter()
        .filter(|b| b.bar == bar)
        .filter_map(|b| dev.block(&b.block));
    let first = bound.next()?;
    Some(match first.array {
        None => first,
        Some(_) => bound.find(|b| b.array.is_none()).unwrap_or(first),
    })
}

/// The BAR the spec binds `block` to.
pub fn bar_of_block(dev: &Device, block: &Block) -> Option<u8> {
    dev.pci
        .as_ref()?
        .bars
        .iter()
        .find(|b| b.block == block.name)
        .map(|b| b.bar)
}

/// Converts a spec width to an access width.
pub fn hal_width(w: Width) -> hal_core::Width {
    match w {
        Width::W8 => hal_core::Width::W8,
        Width::W16 => hal_core::Width::W16,
        Width::W32 => hal_core::Width::W32,
        Width::W64 => hal_core::Width::W64,
    }
}

/// What a command-line target names.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A register (an array element when `index` is set; a whole array
    /// when it is an array and `index` is `None`), or one of its fields.
    Reg {
        /// The register.
        reg: &'a Register,
        /// Array index.
        index: Option<u64>,
        /// The field, for `REG.FIELD`.
        field: Option<&'a Field>,
        /// The block element it is in, and where that lies.
        place: Place<'a>,
    },
    /// A raw byte offset in the mapped region (the BAR, the file).
    Raw {
        /// Byte offset.
        offset: u64,
        /// Access width.
        width: Width,
    },
}

impl<'a> Target<'a> {
    /// The canonical spelling: `STATUS`, `GAIN[3].TRIM`, `ch[3].CTRL`, `0x24`.
    pub fn name(&self) -> String {
        match self {
            Target::Reg {
                reg,
                index,
                field,
                place,
            } => {
                let mut s = place.prefix();
                s.push_str(&reg.name);
                if let Some(i) = index {
                    s.push_str(&format!("[{i}]"));
                }
                if let Some(f) = field {
                    s.push('.');
                    s.push_str(&f.name);
                }
                s
            }
            Target::Raw { offset, .. } => format!("{offset:#x}"),
        }
    }

    /// Byte offset of the access in the mapped region: the block element's
    /// base plus the register's offset (of element `index`, or 0 for a
    /// whole array).
    pub fn offset(&self) -> u64 {
        match self {
            Target::Reg {
                reg, index, place, ..
            } => place.base.saturating_add(reg.offset_of(index.unwrap_or(0))),
            Target::Raw { offset, .. } => *offset,
        }
    }

    /// Width of the access.
    pub fn width(&self) -> Width {
        match self {
            Target::Reg { reg, .. } => reg.width,
            Target::Raw { width, .. } => *width,
        }
    }

    /// The field, if the target is one.
    pub fn field(&self) -> Option<&'a Field> {
        match self {
            Target::Reg { field, .. } => *field,
            Target::Raw { .. } => None,
        }
    }

    /// The register, unless the target is raw.
    pub fn reg(&self) -> Option<&'a Register> {
        match self {
            Target::Reg { reg, .. } => Some(reg),
            Target::Raw { .. } => None,
        }
    }

    /// Bits of the value the target denotes (field width, or access width).
    pub fn value_bits(&self) -> u32 {
        match self.field() {
            Some(f) => f.bits(),
            None => self.width().bits(),
        }
    }

    /// The largest value of the target.
    pub fn max_value(&self) -> u64 {
        match self.field() {
            Some(f) => f.mask(),
            None => self.width().max_value(),
        }
    }

    /// Shows `v` zero-padded to the target's width.
    pub fn hex(&self, v: u64) -> String {
        hex(v, digits_for_bits(self.value_bits()))
    }

    /// The target with the array index replaced (for expanding whole arrays).
    pub fn with_index(self, i: u64) -> Target<'a> {
        match self {
            Target::Reg {
                reg, field, place, ..
            } => Target::Reg {
                reg,
                index: Some(i),
                field,
                place,
            },
            raw => raw,
        }
    }

    /// The whole register (the same target without its field).
    pub fn register_only(self) -> Target<'a> {
        match self {
            Target::Reg {
                reg, index, place, ..
            } => Target::Reg {
                reg,
                index,
                field: None,
                place,
            },
            raw => raw,
        }
    }

    /// Whether this names a whole register array (no index given).
    pub fn is_whole_array(&self) -> bool {
        matches!(self, Target::Reg { reg, index: None, .. } if reg.array.is_some())
    }
}

/// Parses a target (`REG`, `REG[3]`, `REG.FIELD`, `REG[3].FIELD`, a
/// register of another block or of a block-array element, `irq.STATUS`,
/// `ch[3].CTRL.EN`, or `0x24`) in `scope`. `width` is the width for raw
/// offsets (default 32).
pub fn parse_target<'a>(text: &str, scope: Scope<'a>, width: Option<Width>) -> Result<Target<'a>> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Error::usage(
            "empty target: give a register name or an offset",
        ));
    }
    if looks_numeric(t) {
        let offset = register_spec::number::parse(t).map_err(|e| {
            Error::usage(format!(
                "invalid offset {t}: {e}",
                t = crate::names::Shown(t)
            ))
            .hint("offsets are decimal (16) or hex (0x10); names start with a letter")
        })?;
        let width = width.unwrap_or(Width::W32);
        if offset % width.bytes() != 0 {
            return Err(Error::usage(format!(
                "offset {offset:#x} is not aligned for {} access: it must be a multiple of {}",
                crate::num::a_bits(width.bits()),
                width.bytes()
            )));
        }
        if let (Some(b), Some(len)) = (scope.block, scope.region_len()) {
            if offset
                .checked_add(width.bytes())
                .is_none_or(|end| end > len)
            {
                let what = if scope.blocks().len() > 1 || len != b.size {
                    format!("the blocks of this BAR ({len:#x} bytes)")
                } else {
                    format!("block {} ({:#x} bytes)", b.name, b.size)
                };
                return Err(Error::usage(format!(
                    "offset {offset:#x} ({}-bit) is outside {what}",
                    width.bits(),
                )));
            }
        }
        return Ok(Target::Raw { offset, width });
    }
    let Some(chosen) = scope.block else {
        return Err(Error::usage(format!(
            "{t} is a name, and names need a register map",
            t = crate::names::Shown(t)
        ))
        .hint(
            "give --spec FILE.yaml or --spec NAME (edu, ivshmem), or use a raw offset such as 0x24",
        ));
    };
    // [ BLOCK ( '[' INDEX ']' )? '.' ] REG ( '[' INDEX ']' )? ( '.' FIELD )?
    let head = t.split_once('.').map_or(t, |(h, _)| h);
    let head_name = head.split_once('[').map_or(head, |(n, _)| n);
    let is_register = find_register(chosen, head_name).is_ok();
    if !is_register {
        if let Some(place) = scope.qualified(head)? {
            let Some((_, rest)) = t.split_once('.') else {
                let names: Vec<&str> = place
                    .block
                    .registers
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect();
                return Err(Error::usage(format!(
                    "{} is a block{}, not a register: name one of its registers",
                    crate::names::Shown(t),
                    if place.index.is_some() {
                        " element"
                    } else {
                        ""
                    }
                ))
                .hint(format!(
                    "write {}REG (registers: {})",
                    place.prefix(),
                    short_list(&names, 24)
                )));
            };
            return parse_register(rest, t, place, width);
        }
    }
    let place = match scope.chosen()? {
        Some(p) => p,
        None => return Err(Error::usage("internal error: no block")),
    };
    parse_register(t, t, place, width).map_err(|e| {
        if is_register {
            return e;
        }
        // An unknown name: perhaps a misspelt block qualifier.
        let close = scope.near_blocks(head);
        match (t.contains('.'), close.is_empty(), scope.qualifiers()) {
            (true, false, Some(q)) => e.also(format!(
                "or a block: did you mean {}? ({q})",
                or_list(&close)
            )),
            (_, _, Some(q)) => e.also(format!(
                "registers of other blocks are named BLOCK.REG ({q})"
            )),
            _ => e,
        }
    })
}

/// Parses `REG`, `REG[3]`, `REG.FIELD` or `REG[3].FIELD` (`text`, part of
/// the target `whole`) among the registers of the block element `place`.
fn parse_register<'a>(
    text: &str,
    whole: &str,
    place: Place<'a>,
    width: Option<Width>,
) -> Result<Target<'a>> {
    let block = place.block;
    let t = whole;
    let (head, field_name) = match text.split_once('.') {
        Some((h, f)) => (h, Some(f)),
        None => (text, None),
    };
    let (reg_name, index) = match head.split_once('[') {
        Some((r, rest)) => {
            let inner = rest.strip_suffix(']').ok_or_else(|| {
                Error::usage(format!(
                    "invalid target {t}: `[` without a closing `]`",
                    t = crate::names::Shown(t)
                ))
                .hint("array elements are written REG[3]")
            })?;
            let i = parse_u64(inner).ok_or_else(|| {
                Error::usage(format!(
                    "invalid array index {inner} in {t}",
                    inner = crate::names::Shown(inner),
                    t = crate::names::Shown(t)
                ))
            })?;
            (r, Some(i))
        }
        None => (head, None),
    };
    let reg = find_register(block, reg_name)?;
    let name = format!("{}{}", place.prefix(), reg.name);
    if let Some(i) = index {
        match reg.array {
            None => {
                return Err(Error::usage(format!(
                    "{name} is not a register array, so it takes no index"
                ))
                .hint(format!("write {name}")))
            }
            Some(a) if i >= a.count => {
                return Err(Error::usage(format!(
                    "{name}[{i}] is out of range: {name} has {} elements",
                    a.count
                ))
                .hint(format!(
                    "indices run from {name}[0] to {name}[{}]",
                    a.count - 1
                )))
            }
            Some(_) => {}
        }
    }
    if let Some(w) = width {
        if w != reg.width {
            return Err(Error::usage(format!(
                "--width {} does not apply to {name}: it is {} register",
                w.bits(),
                crate::num::a_bits(reg.width.bits())
            ))
            .hint(
                "--width is for raw offsets; registers are always accessed with their own width",
            ));
        }
    }
    let field = match field_name {
        None => None,
        Some(f) => Some(find_field(reg, f)?),
    };
    Ok(Target::Reg {
        reg,
        index,
        field,
        place,
    })
}

/// The register called `name` in `block` (exact, else the only
/// case-insensitive match), or an error with "did you mean".
pub fn find_register<'a>(block: &'a Block, name: &str) -> Result<&'a Register> {
    if let Some(r) = block.register(name) {
        return Ok(r);
    }
    let ci: Vec<&Register> = block
        .registers
        .iter()
        .filter(|r| r.name.eq_ignore_ascii_case(name))
        .collect();
    if let [one] = ci.as_slice() {
        return Ok(one);
    }
    let mut e = Error::usage(format!(
        "unknown register {name} in block {}",
        block.name,
        name = crate::names::Shown(name)
    ));
    // A field name given without its register?
    let owners: Vec<String> = block
        .registers
        .iter()
        .filter_map(|r| {
            r.fields
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(name))
                .map(|f| format!("{}.{}", r.name, f.name))
        })
        .collect();
    let close: Vec<String> = near(name, block.registers.iter().map(|r| r.name.as_str()))
        .into_iter()
        .map(String::from)
        .collect();
    let mut guesses = owners;
    guesses.extend(close);
    guesses.dedup();
    let names: Vec<&str> = block.registers.iter().map(|r| r.name.as_str()).collect();
    let listing = if names.is_empty() {
        format!(
            "block {} has no registers (it is a memory window: use raw offsets such as 0x0)",
            block.name
        )
    } else {
        format!("registers: {}", short_list(&names, 24))
    };
    e = if guesses.is_empty() {
        e.hint(listing)
    } else {
        e.hint(format!("did you mean {}? ({listing})", or_list(&guesses)))
    };
    Err(e)
}

/// The field called `name` of `reg`, or an error with "did you mean".
pub fn find_field<'a>(reg: &'a Register, name: &str) -> Result<&'a Field> {
    if let Some(f) = reg.field(name) {
        return Ok(f);
    }
    let ci: Vec<&Field> = reg
        .fields
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case(name))
        .collect();
    if let [one] = ci.as_slice() {
        return Ok(one);
    }
    let e = Error::usage(format!(
        "unknown field {name} of register {}",
        reg.name,
        name = crate::names::Shown(name)
    ));
    if reg.fields.is_empty() {
        return Err(e.hint(format!(
            "{} has no fields: use the whole register ({}=VALUE, or {}=VALUE:MASK for some bits)",
            reg.name, reg.name, reg.name
        )));
    }
    let names: Vec<&str> = reg.fields.iter().map(|f| f.name.as_str()).collect();
    let close: Vec<String> = near(name, names.iter().copied())
        .into_iter()
        .map(|f| format!("{}.{f}", reg.name))
        .collect();
    Err(if close.is_empty() {
        e.hint(format!("fields of {}: {}", reg.name, names.join(", ")))
    } else {
        e.hint(format!(
            "did you mean {}? (fields of {}: {})",
            or_list(&close),
            reg.name,
            names.join(", ")
        ))
    })
}

/// Parses a value for `target`: a number, or an enumerated value's name
/// when the target is a field with named values. Checks that it fits.
pub fn parse_value(text: &str, target: &Target) -> Result<u64> {
    let t = text.trim();
    let v = match register_spec::number::parse(t) {
        Ok(v) => v,
        Err(e) if looks_numeric(t) || t.is_empty() => {
            return Err(Error::usage(format!(
                "invalid value {t} for {}: {e}",
                target.name(),
                t = crate::names::Shown(t)
            ))
            .hint("numbers are decimal (16), hex (0x10), binary (0b10000) or octal (0o20)"))
        }
        Err(_) => enum_value(t, target)?,
    };
    if v > target.max_value() {
        let what = match target.field() {
            Some(f) => format!(
                "field {} ({} bit{})",
                target.name(),
                f.bits(),
                if f.bits() == 1 { "" } else { "s" }
            ),
            None => format!("{} ({}-bit)", target.name(), target.width().bits()),
        };
        return Err(Error::usage(format!(
            "value {v:#x} is wider than {what}: the largest value is {:#x}",
            target.max_value()
        )));
    }
    Ok(v)
}

fn enum_value(name: &str, target: &Target) -> Result<u64> {
    let Some(field) = target.field() else {
        let hint = match target.reg() {
            Some(r) if !r.fields.is_empty() => format!(
                "enum names belong to fields: write {}.FIELD=NAME (fields: {})",
                r.name,
                r.fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => "values are numbers: decimal (16), hex (0x10), binary (0b10000)".into(),
        };
        return Err(Error::usage(format!(
            "invalid value {name} for {}: not a number",
            target.name(),
            name = crate::names::Shown(name)
        ))
        .hint(hint));
    };
    if let Some(v) = field.values.iter().find(|v| v.name == name).or_else(|| {
        field
            .values
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
    }) {
        return Ok(v.value);
    }
    let e = Error::usage(format!(
        "unknown value {name} for field {}",
        target.name(),
        name = crate::names::Shown(name)
    ));
    if field.values.is_empty() {
        return Err(e.hint(format!(
            "{} has no named values: give a number from 0 to {:#x}",
            target.name(),
            field.mask()
        )));
    }
    let names: Vec<String> = field
        .values
        .iter()
        .map(|v| format!("{}={}", v.name, v.value))
        .collect();
    let close: Vec<String> = near(name, field.values.iter().map(|v| v.name.as_str()))
        .into_iter()
        .map(String::from)
        .collect();
    Err(if close.is_empty() {
        e.hint(format!("its values: {}", names.join(", ")))
    } else {
        e.hint(format!(
            "did you mean {}? (values: {})",
            or_list(&close),
            names.join(", ")
        ))
    })
}

/// The name of `value` in `field`'s enumerated values.
pub fn enum_name(field: &Field, value: u64) -> Option<&str> {
    field
        .values
        .iter()
        .find(|v| v.value == value)
        .map(|v| v.name.as_str())
}

/// Extracts `field` from a register value.
pub fn field_value(field: &Field, reg_value: u64) -> u64 {
    (reg_value >> field.lsb) & field.mask()
}

/// `msb:lsb`, or just the bit for one-bit fields.
pub fn bits_text(field: &Field) -> String {
    if field.msb == field.lsb {
        format!("{}", field.lsb)
    } else {
        format!("{}:{}", field.msb, field.lsb)
    }
}

/// A comparison for `watch --until` and `expect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==V`
    Eq(u64),
    /// `!=V`
    Ne(u64),
    /// `<V`
    Lt(u64),
    /// `<=V`
    Le(u64),
    /// `>V`
    Gt(u64),
    /// `>=V`
    Ge(u64),
    /// `&MASK`: any of the bits set.
    Any(u64),
    /// `!&MASK`: none of the bits set.
    NoneOf(u64),
    /// `&MASK==V`
    MaskEq(u64, u64),
}

impl Op {
    /// Whether `v` satisfies the comparison.
    pub fn holds(self, v: u64) -> bool {
        match self {
            Op::Eq(x) => v == x,
            Op::Ne(x) => v != x,
            Op::Lt(x) => v < x,
            Op::Le(x) => v <= x,
            Op::Gt(x) => v > x,
            Op::Ge(x) => v >= x,
            Op::Any(m) => v & m != 0,
            Op::NoneOf(m) => v & m == 0,
            Op::MaskEq(m, x) => v & m == x,
        }
    }

    /// The canonical spelling (`==0x1`).
    pub fn text(self) -> String {
        match self {
            Op::Eq(x) => format!("=={x:#x}"),
            Op::Ne(x) => format!("!={x:#x}"),
            Op::Lt(x) => format!("<{x:#x}"),
            Op::Le(x) => format!("<={x:#x}"),
            Op::Gt(x) => format!(">{x:#x}"),
            Op::Ge(x) => format!(">={x:#x}"),
            Op::Any(m) => format!("&{m:#x}"),
            Op::NoneOf(m) => format!("!&{m:#x}"),
            Op::MaskEq(m, x) => format!("&{m:#x}=={x:#x}"),
        }
    }
}

/// A parsed condition: what it is evaluated on and the comparison.
#[derive(Debug, Clone, Copy)]
pub struct Condition<'a> {
    /// The value compared: the target itself, or a field of its register.
    pub subject: Target<'a>,
    /// The comparison.
    pub op: Op,
}

/// Splits `STATUS.COMPUTING==IDLE` into the left side and the rest
/// (`==IDLE`); `None` for the left side when the text starts with an operator.
pub fn split_condition(text: &str) -> (Option<&str>, &str) {
    let t = text.trim();
    match t.find(|c: char| "=!<>&".contains(c)) {
        Some(0) => (None, t),
        Some(i) => (Some(t[..i].trim()), &t[i..]),
        None => (None, t),
    }
}

/// Parses a condition on `target` (see [`Op`]); the left side, if any,
/// must name the target or one of its register's fields.
pub fn parse_condition<'a>(text: &str, target: Target<'a>) -> Result<Condition<'a>> {
    let (lhs, rest) = split_condition(text);
    let subject = match lhs {
        None | Some("") => target,
        Some(l) => condition_subject(l, target)?,
    };
    let op = parse_op(rest, &subject).map_err(|e| {
        e.context(format!(
            "condition {text}",
            text = crate::names::Shown(text)
        ))
    })?;
    Ok(Condition { subject, op })
}

fn condition_subject<'a>(lhs: &str, target: Target<'a>) -> Result<Target<'a>> {
    if lhs.eq_ignore_ascii_case(&target.name()) {
        return Ok(target);
    }
    if let Target::Reg {
        reg,
        index,
        field,
        place,
    } = target
    {
        let whole = target.register_only().name();
        // `FIELD` or `REG.FIELD` / `REG[i].FIELD` of the watched register.
        let fname = match lhs.rsplit_once('.') {
            Some((head, f)) => {
                let head_ok = head.eq_ignore_ascii_case(&reg.name)
                    || head.eq_ignore_ascii_case(&whole)
                    || index
                        .is_some_and(|i| head.eq_ignore_ascii_case(&format!("{}[{i}]", reg.name)));
                if !head_ok {
                    return Err(cond_lhs_error(lhs, &target));
                }
                f
            }
            None => lhs,
        };
        if field.is_none() {
            if let Some(f) = reg
                .fields
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(fname))
            {
                return Ok(Target::Reg {
                    reg,
                    index,
                    field: Some(f),
                    place,
                });
            }
        } else if field.is_some_and(|f| f.name.eq_ignore_ascii_case(fname)) {
            return Ok(target);
        }
    }
    Err(cond_lhs_error(lhs, &target))
}

fn cond_lhs_error(lhs: &str, target: &Target) -> Error {
    let mut e = Error::usage(format!(
        "the condition's left side {lhs} is neither {} nor one of its fields",
        target.name(),
        lhs = crate::names::Shown(lhs)
    ));
    if let Some(r) = target.reg() {
        if target.field().is_none() && !r.fields.is_empty() {
            let names: Vec<&str> = r.fields.iter().map(|f| f.name.as_str()).collect();
            let close: Vec<String> = near(lhs, names.iter().copied())
                .into_iter()
                .map(String::from)
                .collect();
            e = if close.is_empty() {
                e.hint(format!("fields of {}: {}", r.name, names.join(", ")))
            } else {
                e.hint(format!(
                    "did you mean {}? (fields of {}: {})",
                    or_list(&close),
                    r.name,
                    names.join(", ")
                ))
            };
            return e;
        }
    }
    e.hint("write the condition as ==V, or name the field: FIELD==V")
}

fn parse_op(rest: &str, subject: &Target) -> Result<Op> {
    let r = rest.trim();
    let val = |s: &str| parse_value(s, subject);
    let mask = |s: &str| -> Result<u64> {
        let m = crate::num::parse_u64_for(s, "mask")?;
        if m > subject.max_value() {
            return Err(Error::usage(format!(
                "mask {m:#x} is wider than {} (largest value {:#x})",
                subject.name(),
                subject.max_value()
            )));
        }
        Ok(m)
    };
    if let Some(x) = r.strip_prefix("==") {
        return Ok(Op::Eq(val(x)?));
    }
    if let Some(x) = r.strip_prefix("!=") {
        return Ok(Op::Ne(val(x)?));
    }
    if let Some(x) = r.strip_prefix("<=") {
        return Ok(Op::Le(val(x)?));
    }
    if let Some(x) = r.strip_prefix(">=") {
        return Ok(Op::Ge(val(x)?));
    }
    if let Some(x) = r.strip_prefix("!&") {
        return Ok(Op::NoneOf(mask(x)?));
    }
    if let Some(x) = r.strip_prefix('&') {
        return match x.split_once("==") {
            Some((m, v)) => {
                let m = mask(m)?;
                let v = val(v)?;
                if v & !m != 0 {
                    return Err(Error::usage(format!(
                        "value {v:#x} has bits outside the mask {m:#x}, so &{m:#x}=={v:#x} can never hold"
                    )));
                }
                Ok(Op::MaskEq(m, v))
            }
            None => Ok(Op::Any(mask(x)?)),
        };
    }
    if let Some(x) = r.strip_prefix('<') {
        return Ok(Op::Lt(val(x)?));
    }
    if let Some(x) = r.strip_prefix('>') {
        return Ok(Op::Gt(val(x)?));
    }
    if let Some(x) = r.strip_prefix('=') {
        return Ok(Op::Eq(val(x)?));
    }
    if r.starts_with('!') {
        return Err(Error::usage("unknown operator").hint(OPS_HINT));
    }
    if r.is_empty() {
        return Err(Error::usage("the condition is empty").hint(OPS_HINT));
    }
    Ok(Op::Eq(val(r)?))
}

const OPS_HINT: &str =
    "conditions: ==V, !=V, <V, <=V, >V, >=V, &MASK (any bit set), !&MASK (no bit set), &MASK==V; a bare V means ==V";

/// The access kind of a target (the field's own kind for a field).
pub fn target_access(target: &Target) -> Option<Access> {
    match target {
        Target::Reg { reg, field, .. } => Some(match field {
            Some(f) => f.access_in(reg),
            None => reg.access,
        }),
        Target::Raw { .. } => None,
    }
}

/// The registers (array elements) of the mapped region's blocks whose
/// read has side effects and whose bytes overlap the `width` access at
/// `offset` (of the region), in offset order.
///
/// A raw access is checked against them: its load reads every byte it
/// covers, so it has their side effects too.
pub fn side_effect_overlaps<'a>(scope: &Scope<'a>, offset: u64, width: Width) -> Vec<Target<'a>> {
    overlaps(scope, offset, width, Register::read_has_side_effects)
}

/// The registers (array elements) of the mapped region's blocks whose
/// store starts an action (`write_side_effects`) and whose bytes overlap
/// the `width` access at `offset`, other than an access of exactly that
/// register's offset and width: a raw store that covers such a register
/// partly, or together with a neighbour, stores into it too.
pub fn write_side_effect_overlaps<'a>(
    scope: &Scope<'a>,
    offset: u64,
    width: Width,
) -> Vec<Target<'a>> {
    overlaps(scope, offset, width, |r| r.write_side_effects)
        .into_iter()
        .filter(|t| !(t.offset() == offset && t.width() == width))
        .collect()
}

/// The registers (array elements) of the mapped region's blocks for which
/// `pick` holds and whose bytes overlap the `width` access at `offset`, in
/// offset order.
fn overlaps<'a>(
    scope: &Scope<'a>,
    offset: u64,
    width: Width,
    pick: impl Fn(&Register) -> bool,
) -> Vec<Target<'a>> {
    let mut hits = Vec::new();
    let access_end = offset.saturating_add(width.bytes());
    for place in scope.elements_within(offset, access_end) {
        let end = u128::from(offset) + u128::from(width.bytes());
        let Some(rel) = offset.checked_sub(place.base).map(u128::from) else {
            // The access starts before the element: only its first bytes
            // can be covered, from the element's start on.
            if end > u128::from(place.base) {
                let len = end - u128::from(place.base);
                hits.extend(overlaps_in(place, 0, len, &pick));
            }
            continue;
        };
        hits.extend(overlaps_in(place, rel, u128::from(width.bytes()), &pick));
    }
    hits.sort_by_key(Target::offset);
    hits
}

/// The registers of one block element for which `pick` holds and whose
/// bytes overlap `len` bytes at `start` (relative to the element).
fn overlaps_in<'a>(
    place: Place<'a>,
    start: u128,
    len: u128,
    pick: &impl Fn(&Register) -> bool,
) -> Vec<Target<'a>> {
    let end = start + len;
    let mut hits = Vec::new();
    for reg in place.block.registers.iter().filter(|r| pick(r)) {
        let base = u128::from(reg.offset);
        let len = u128::from(reg.width.bytes());
        let count = u128::from(reg.count());
        let stride = u128::from(reg.array.map_or(0, |a| a.stride));
        if count == 0 || base >= end {
            continue;
        }
        // The last element that starts before `end`, then back while the
        // elements still reach past `start` (a few at most: an access is
        // at most 8 bytes and elements do not overlap).
        let mut i = (end - 1 - base)
            .checked_div(stride)
            .map_or(0, |i| i.min(count - 1));
        let mut found = Vec::new();
        loop {
            if base + stride * i + len <= start {
                break;
            }
            found.push(Target::Reg {
                reg,
                index: reg.array.map(|_| u64::try_from(i).unwrap_or(u64::MAX)),
                field: None,
                place,
            });
            if i == 0 || stride == 0 {
                break;
            }
            i -= 1;
        }
        hits.extend(found.into_iter().rev());
    }
    hits
}

/// `NAME (0x4, 32-bit)`, for messages.
pub fn located(target: &Target) -> String {
    format!(
        "{} ({:#x}, {}-bit)",
        target.name(),
        target.offset(),
        target.width().bits()
    )
}

/// Whether `target` may be read; an error explaining why not otherwise.
pub fn check_readable(target: &Target) -> Result<()> {
    let Target::Reg { reg, field, .. } = target else {
        return Ok(());
    };
    if !reg.access.can_read() {
        return Err(Error::usage(format!(
            "{} is write-only (wo): reading it returns nothing meaningful, so it is refused",
            target.name()
        ))
        .hint(format!(
            "if you really want the bus value, read the raw offset: read {:#x} --width {}",
            target.offset(),
            reg.width.bits()
        )));
    }
    if let Some(f) = field {
        if !f.access_in(reg).can_read() {
            return Err(Error::usage(format!(
                "{} is a write-only field (wo): its read value means nothing, so it is refused",
                target.name()
            ))
            .hint(format!(
                "read the whole register: read {}",
                target.register_only().name()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::place::Scope;

    fn edu() -> Device {
        let s = device_specs::spec("edu").unwrap();
        register_spec::parse(s.yaml, s.file).unwrap()
    }

    /// `d` without its descriptions (which the prebuilt models leave out).
    fn without_descriptions(mut d: Device) -> Device {
        d.strip_descriptions();
        d
    }

    #[test]
    fn prebuilt_models_equal_a_parse() {
        for s in device_specs::SPECS {
            let parsed = without_descriptions(register_spec::parse(s.yaml, s.file).unwrap());
            assert_eq!(prebuilt::prebuilt(s.name), Some(parsed), "{}", s.name);
        }
        assert!(prebuilt::prebuilt("nope").is_none());
    }

    #[test]
    fn targets() {
        let d = edu();
        let b = default_block(&d).unwrap();
        assert_eq!(
            parse_target("STATUS.COMPUTING", Scope::new(Some(&d), Some(b)), None)
                .unwrap()
                .name(),
            "STATUS.COMPUTING"
        );
        assert_eq!(
            parse_target("0x20", Scope::new(Some(&d), Some(b)), None)
                .unwrap()
                .offset(),
            0x20
        );
        assert!(parse_target("0x21", Scope::new(Some(&d), Some(b)), None).is_err());
        assert!(parse_target("0x21", Scope::new(Some(&d), Some(b)), Some(Width::W8)).is_ok());
        assert!(parse_target("STATUS[", Scope::new(Some(&d), Some(b)), None).is_err());
        assert!(parse_target("", Scope::new(Some(&d), Some(b)), None).is_err());
        assert!(parse_target("ID", Scope::new(None, None), None).is_err());
        assert!(parse_target("ID", Scope::new(Some(&d), Some(b)), Some(Width::W8)).is_err());
        assert_eq!(
            parse_target("DMA_CMD.DIRECTION", Scope::new(Some(&d), Some(b)), None)
                .unwrap()
                .hex(1),
            "0x1"
        );
    }

    #[test]
    fn conditions() {
        let d = edu();
        let b = default_block(&d).unwrap();
        let status = parse_target("STATUS", Scope::new(Some(&d), Some(b)), None).unwrap();
        let c = parse_condition("COMPUTING==IDLE", status).unwrap();
        assert_eq!(c.subject.name(), "STATUS.COMPUTING");
        assert_eq!(c.op, Op::Eq(0));
        assert_eq!(
            parse_condition("STATUS.COMPUTING!=BUSY", status)
                .unwrap()
                .op,
            Op::Ne(1)
        );
        assert_eq!(parse_condition("&0x81", status).unwrap().op, Op::Any(0x81));
        assert_eq!(parse_condition("!&0x1", status).unwrap().op, Op::NoneOf(1));
        assert_eq!(
            parse_condition("&0x81==0x80", status).unwrap().op,
            Op::MaskEq(0x81, 0x80)
        );
        assert_eq!(parse_condition("0x80", status).unwrap().op, Op::Eq(0x80));
        assert_eq!(parse_condition(">=2", status).unwrap().op, Op::Ge(2));
        assert!(parse_condition("&0x1==0x2", status).is_err());
        assert!(parse_condition("LIVENESS==0", status).is_err());
        assert!(parse_condition("!0", status).is_err());
        assert!(parse_condition("", status).is_err());
        assert!(Op::MaskEq(0x81, 0x80).holds(0x80));
        assert!(!Op::MaskEq(0x81, 0x80).holds(0x81));
        assert!(Op::NoneOf(1).holds(0x80));
    }

    /// The four-channel map of the tests (blocks at 0, 0x800 and, for the
    /// channel array, 0x1000 + 0x100 * i of BAR0).
    fn dmac() -> Device {
        register_spec::parse(
            include_str!("../../fixtures/downstream-crate/regs/dmac.yaml"),
            "dmac.yaml",
        )
        .unwrap()
    }

    #[test]
    fn qualified_targets_lie_at_their_block_element() {
        let d = dmac();
        let scope = Scope::new(Some(&d), Some(default_block(&d).unwrap()));
        let at = |t: &str| parse_target(t, scope, None).map(|t| (t.name(), t.offset()));
        assert_eq!(at("ID").unwrap(), ("ID".into(), 0x0));
        assert_eq!(at("irq.STATUS").unwrap(), ("irq.STATUS".into(), 0x800));
        assert_eq!(at("ch[3].CTRL").unwrap(), ("ch[3].CTRL".into(), 0x1300));
        assert_eq!(
            at("CH[3].ctrl.EN").unwrap(),
            ("ch[3].CTRL.EN".into(), 0x1300)
        );
        assert_eq!(at("ch[1].ADDR").unwrap(), ("ch[1].ADDR".into(), 0x1108));
        // Raw offsets are offsets of the BAR.
        assert_eq!(at("0x1310").unwrap().1, 0x1310);
        let err = |t: &str| parse_target(t, scope, None).unwrap_err().for_humans();
        let e = err("ch[4].CTRL");
        assert!(
            e.contains("ch[4] is out of range: block array ch has 4 elements"),
            "{e}"
        );
        assert!(e.contains("indices run from ch[0] to ch[3]"), "{e}");
        assert!(err("ch.CTRL").contains("block ch is an array of 4 elements"));
        assert!(err("irq[0].STATUS").contains("block irq is not a block array"));
        assert!(err("ch[0]").contains("is a block element, not a register"));
        let e = err("ch[0].CTLR");
        assert!(e.contains("did you mean CTRL?"), "{e}");
        let e = err("chh[0].CTRL");
        assert!(e.contains("did you mean ch[0]?"), "{e}");
        assert!(err("0x1340").contains("outside the blocks of this BAR (0x1340 bytes)"));
        // Unqualified names in a block array need an element.
        let ch = Scope::new(Some(&d), d.block("ch"));
        let e = parse_target("CTRL", ch, None).unwrap_err().for_humans();
        assert!(e.contains("block ch is an array of 4 elements"), "{e}");
        assert_eq!(
            parse_target("ch[2].LEN", ch, None).unwrap().offset(),
            0x1204
        );
    }

    #[test]
    fn raw_accesses_see_side_effect_registers_of_every_block() {
        let d = dmac();
        let scope = Scope::new(Some(&d), Some(default_block(&d).unwrap()));
        let hits = write_side_effect_overlaps(&scope, 0x1314, Width::W32);
        let names: Vec<String> = hits.iter().map(Target::name).collect();
        assert_eq!(names, ["ch[3].DOORBELL"]);
        assert_eq!(hits[0].offset(), 0x1314);
        assert!(write_side_effect_overlaps(&scope, 0x1314, Width::W8).is_empty());
        assert!(write_side_effect_overlaps(&scope, 0x1318, Width::W32).is_empty());
    }
}
