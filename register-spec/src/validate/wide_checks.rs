//! Checks of the keys of registers wider than the bus, and of the PCI ID
//! list; their conversion into the model.

use std::collections::HashMap;

use super::Errors;
use crate::model::{Access, PciId, Span, Width};
use crate::schema::{DPci, DRegister, Given};
use crate::wide::Split;

/// `access_width`, `access_order` and `consistent_read` of one register.
pub(super) fn check_split(
    reg: &DRegister,
    rname: &str,
    width: Option<Width>,
    access: Option<Access>,
    errors: &mut Errors,
) {
    let split = &reg.split;
    if let (Given::Ok(aw), Some(w)) = (&split.access_width, width) {
        if aw.value.bits() >= w.bits() {
            errors.push(
                aw.span,
                format!(
                    "`access_width: {}` of {}-bit register `{rname}` does not split it: \
                     `access_width` must be narrower than the register (8, 16 or 32 bits for a 64-bit one); \
                     remove the key to access it at its own width",
                    aw.value.bits(),
                    w.bits()
                ),
            );
        }
    }
    // `access_width` must be there for the other two keys to mean anything.
    if matches!(split.access_width, Given::Absent) {
        let lonely = [
            ("access_order", span_of(&split.access_order)),
            ("consistent_read", span_of(&split.consistent_read)),
        ];
        for (key, span) in lonely {
            if let Some(span) = span {
                errors.push(
                    span,
                    format!(
                        "`{key}` on register `{rname}`, which has no `access_width`: it applies only \
                         to a register accessed in narrower parts; add `access_width` or remove the key"
                    ),
                );
            }
        }
    }
    let Given::Ok(cr) = &split.consistent_read else {
        return;
    };
    if !cr.value {
        return;
    }
    let Some(access) = access else { return };
    let rc_field = reg
        .fields
        .iter()
        .any(|f| matches!(&f.access, Given::Ok(a) if a.value == Access::ReadClear));
    let why = if !access.can_read() {
        Some(format!("it is `{access}` and cannot be read"))
    } else if access == Access::ReadClear
        || rc_field
        || matches!(&reg.read_side_effects, Given::Ok(r) if r.value)
    {
        Some(
            "reading it has side effects, and a consistent read reads the upper part twice"
                .to_string(),
        )
    } else {
        None
    };
    if let Some(why) = why {
        errors.push(
            cr.span,
            format!("`consistent_read: true` on register `{rname}`, but {why}; remove the key"),
        );
    }
}

fn span_of<T>(g: &Given<crate::schema::Loc<T>>) -> Option<Span> {
    match g {
        Given::Ok(l) => Some(l.span),
        _ => None,
    }
}

/// Each vendor:device ID is listed once.
pub(super) fn check_pci_ids(pci: &DPci, errors: &mut Errors) {
    let mut seen: HashMap<(u16, u16), Span> = HashMap::new();
    for id in &pci.ids {
        let (Some(v), Some(d)) = (id.vendor, id.device) else {
            continue;
        };
        if let Some(first) = seen.get(&(v, d)) {
            errors.push_with_note(
                id.span,
                format!(
                    "PCI ID {} is listed twice in `pci.ids` (first at {first}); list each ID once",
                    PciId {
                        vendor: v,
                        device: d
                    }
                ),
                *first,
                "first listed here",
            );
        } else {
            seen.insert((v, d), id.span);
        }
    }
}

/// The model's IDs: the first and the others. `None` if one is incomplete
/// (reported) or there is none.
pub(super) fn build_pci_ids(pci: &DPci) -> Option<(PciId, Vec<PciId>)> {
    let ids = pci
        .ids
        .iter()
        .map(|id| {
            Some(PciId {
                vendor: id.vendor?,
                device: id.device?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let (first, rest) = ids.split_first()?;
    Some((*first, rest.to_vec()))
}

/// The model's split of a register that checked clean.
pub(super) fn build_split(reg: &DRegister) -> Option<Option<Split>> {
    let access_width = match &reg.split.access_width {
        Given::Absent => return Some(None),
        Given::Bad => return None,
        Given::Ok(w) => w.value,
    };
    let order = match &reg.split.access_order {
        Given::Absent => Default::default(),
        Given::Bad => return None,
        Given::Ok(o) => o.value,
    };
    let consistent_read = match &reg.split.consistent_read {
        Given::Absent => false,
        Given::Bad => return None,
        Given::Ok(c) => c.value,
    };
    Some(Some(Split {
        access_width,
        order,
        consistent_read,
    }))
}
