//! How names of a register map become Rust items, and the checks that the
//! items they become do not collide.
//!
//! `register-codegen` names every generated item through these functions,
//! and validation checks every map for clashes, so a map that parses also
//! generates: `regpoke spec check` and the generator accept exactly the same
//! maps, and every clash is reported with the other errors of the file.

use std::collections::HashMap;

use crate::diagnostic::Errors;
use crate::model::Span;
use crate::names::RUST_KEYWORDS;
use crate::schema::{DDevice, DField, Given, Loc};
use crate::yaml::shorten;

/// Keywords that cannot be raw identifiers (`r#self` is not valid Rust).
pub const NOT_RAW: &[&str] = &["crate", "self", "Self", "super", "_"];

/// Methods every generated block handle has, besides register accessors.
pub const BLOCK_METHODS: &[(&str, &str)] =
    &[("new", "the constructor"), ("io", "the backend accessor")];

/// Items of a generated register module that a field's name must not take
/// (`COUNT` and `STRIDE` only in a register array's module).
pub const REGISTER_ITEMS: &[&str] = &[
    "Register",
    "OFFSET",
    "RESET",
    "COUNT",
    "STRIDE",
    "Field",
    "FieldValue",
    "TryFromValue",
    "WRITE_KEEP",
    "WRITE_BASE",
];

/// Items of a generated field module that a value's name must not take.
pub const FIELD_ITEMS: &[&str] = &[
    "FIELD_MASK",
    "FIELD_SHIFT",
    "val",
    "try_val",
    "Value",
    "Register",
    "Field",
    "FieldValue",
    "TryFromValue",
];

/// `IRQ_STATUS` → `irq_status`, `IntrMask` → `intr_mask`, `BAR0Ctl` → `bar0_ctl`.
pub fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `shared_mem` → `SharedMem`, `regs` → `Regs`, `BAR0` → `Bar0` (a name
/// with no letters or digits gives `Block`).
pub fn camel(name: &str) -> String {
    let mut out = String::new();
    for part in snake(name).split('_').filter(|p| !p.is_empty()) {
        let mut cs = part.chars();
        if let Some(f) = cs.next() {
            out.push(f.to_ascii_uppercase());
            out.extend(cs);
        }
    }
    if out.is_empty() {
        out.push_str("Block");
    }
    out
}

/// `name` as a Rust identifier: raw (`r#type`) if it is a keyword.
pub fn ident(name: &str) -> String {
    if RUST_KEYWORDS.contains(&name) && !NOT_RAW.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_string()
    }
}

/// The accessor method of a register: `ident(snake(name))`.
pub fn accessor(name: &str) -> String {
    ident(&snake(name))
}

/// The compile-time-indexed accessor of a register array: `{snake}_at`.
pub fn accessor_at(name: &str) -> String {
    format!("{}_at", snake(name))
}

/// Reports every generated-name clash of the draft. Names that are not
/// identifiers were reported already and are skipped.
pub(crate) fn check(device: &DDevice, errors: &mut Errors) {
    let mut block_types: HashMap<String, (String, Span)> = HashMap::new();
    for b in &device.blocks {
        let Some((bname, bspan)) = valid(&b.name) else {
            continue;
        };
        let ty = camel(&bname);
        match block_types.get(&ty) {
            Some((other, first)) if *other != bname => errors.push_with_note(
                bspan,
                format!(
                    "blocks `{}` and `{}` would both generate the type `{ty}` (first at {first}); rename one",
                    shorten(other),
                    shorten(&bname)
                ),
                *first,
                format!("block `{}` is declared here", shorten(other)),
            ),
            Some(_) => {}
            None => {
                block_types.insert(ty.clone(), (bname.clone(), bspan));
            }
        }
        let mut accessors: HashMap<String, (String, Option<Span>)> = BLOCK_METHODS
            .iter()
            .map(|(m, what)| (m.to_string(), (what.to_string(), None)))
            .collect();
        for r in &b.registers {
            let Some((rname, rspan)) = valid(&r.name) else {
                continue;
            };
            if rname == ty {
                errors.push(
                    rspan,
                    format!(
                        "register `{rname}` has the name of the block's generated type `{ty}` (block `{}`); rename it",
                        shorten(&bname)
                    ),
                );
            }
            let method = snake(&rname);
            if NOT_RAW.contains(&method.as_str()) {
                errors.push(
                    rspan,
                    format!(
                        "register `{rname}` would generate the accessor `{method}()`, which Rust does not allow \
                         (`{method}` is a keyword that cannot be a raw identifier); rename it"
                    ),
                );
                continue;
            }
            let is_array = matches!(r.array, Given::Ok(_));
            let mut methods = vec![method];
            if is_array {
                methods.push(accessor_at(&rname));
            }
            for m in methods {
                match accessors.get(&m) {
                    // The same name twice is reported as a duplicate.
                    Some((other, Some(_))) if *other == rname => {}
                    Some((other, Some(first))) => errors.push_with_note(
                        rspan,
                        format!(
                            "registers `{other}` and `{rname}` would both generate the accessor `{m}()` (first at {first}); rename one"
                        ),
                        *first,
                        format!("register `{other}` is declared here"),
                    ),
                    Some((what, None)) => errors.push(
                        rspan,
                        format!("register `{rname}` would generate the accessor `{m}()`, which is {what}; rename it"),
                    ),
                    None => {
                        accessors.insert(m, (rname.clone(), Some(rspan)));
                    }
                }
            }
            for f in &r.fields {
                check_field_names(&rname, is_array, f, errors);
            }
        }
    }
}

/// A name of the draft that is a valid identifier (others were reported
/// already and are skipped), with its position.
fn valid(n: &Option<Loc<String>>) -> Option<(String, Span)> {
    n.as_ref()
        .filter(|l| crate::names::identifier_problem(&l.value).is_none())
        .map(|l| (l.value.clone(), l.span))
}

/// The names a field and its values must not take in the register's
/// generated module (`is_array`: the module also has `COUNT` and `STRIDE`).
fn check_field_names(rname: &str, is_array: bool, f: &DField, errors: &mut Errors) {
    let Some((fname, fspan)) = valid(&f.name) else {
        return;
    };
    // COUNT and STRIDE exist only in an array's module.
    let array_only = matches!(fname.as_str(), "COUNT" | "STRIDE");
    if REGISTER_ITEMS.contains(&fname.as_str()) && (!array_only || is_array) {
        errors.push(
            fspan,
            format!(
                "field `{rname}.{fname}` has the name of the generated item `{rname}::{fname}`; rename it"
            ),
        );
    }
    let mask = f.bits.as_ref().map(|b| {
        let (msb, lsb) = b.value;
        crate::validate::field_max(msb, lsb)
    });
    for v in &f.values {
        let Some((vname, vspan)) = valid(&v.name) else {
            continue;
        };
        if FIELD_ITEMS.contains(&vname.as_str()) {
            errors.push(
                vspan,
                format!(
                    "value `{rname}.{fname}.{vname}` has the name of the generated item `{fname}::{vname}`; rename it"
                ),
            );
        }
        let (Some(value), Some(mask)) = (v.value.as_ref(), mask) else {
            continue;
        };
        let expected = match vname.as_str() {
            "SET" => Some(mask),
            "CLEAR" => Some(0),
            _ => None,
        };
        if let Some(e) = expected.filter(|e| *e != value.value) {
            errors.push(
                value.span,
                format!(
                    "value `{rname}.{fname}.{vname}` is {:#x}, but `{vname}` stands in for the generated `{fname}::{vname}` and must be {:#x}{}",
                    value.value,
                    e,
                    if vname == "SET" { " (all ones)" } else { "" }
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(snake("IRQ_STATUS"), "irq_status");
        assert_eq!(snake("IntrMask"), "intr_mask");
        assert_eq!(snake("dmaSrc"), "dma_src");
        assert_eq!(snake("ID"), "id");
        assert_eq!(snake("BAR0Ctl"), "bar0_ctl");
        assert_eq!(camel("regs"), "Regs");
        assert_eq!(camel("shared_mem"), "SharedMem");
        assert_eq!(camel("BAR0"), "Bar0");
        assert_eq!(camel("__"), "Block");
        assert_eq!(ident("type"), "r#type");
        assert_eq!(accessor("TYPE"), "r#type");
        assert_eq!(accessor_at("GAIN"), "gain_at");
    }
}
