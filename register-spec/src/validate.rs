//! Cross-checks on the draft (names, layout, bits, values, access kinds),
//! and the conversion of a clean draft into the model.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::Errors;
use crate::model::{
    Access, Array, BarBinding, Block, Device, EnumValue, Field, FieldWrites, PciIdentity, Register,
    Span, Width,
};
use crate::names::suggest;
use crate::schema::{show, DBlock, DDevice, DField, DRegister, DValue, Given, Loc};
use crate::yaml::shorten;

mod wide_checks;

/// How many array-element comparisons the overlap check of one block may
/// make. Real register maps need a few hundred; only two huge interleaved
/// arrays come near, and those get an error rather than a hang.
pub(crate) const OVERLAP_BUDGET: u64 = 1 << 22;

/// Reports the second and later uses of each name.
fn duplicates<'a>(
    errors: &mut Errors,
    names: impl Iterator<Item = &'a Loc<String>>,
    what: &str,
    scope: &str,
) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for n in names {
        if let Some(first) = seen.get(n.value.as_str()) {
            errors.push_with_note(
                n.span,
                format!(
                    "duplicate {what} name `{}`{scope} (first declared at {first})",
                    shorten(&n.value)
                ),
                *first,
                "first declared here",
            );
        } else {
            seen.insert(&n.value, n.span);
        }
    }
}

/// `bit 3` or `bits 15:8`.
fn bit_range(msb: u64, lsb: u64) -> String {
    if msb == lsb {
        format!("bit {msb}")
    } else {
        format!("bits {msb}:{lsb}")
    }
}

/// `bytes 0x4..=0x7`.
fn byte_range(start: u128, len: u128) -> String {
    format!("bytes {start:#x}..={:#x}", start + len - 1)
}

pub(crate) fn check(device: &DDevice, errors: &mut Errors) {
    duplicates(
        errors,
        device.blocks.iter().filter_map(|b| b.name.as_ref()),
        "block",
        "",
    );
    if let Some(pci) = &device.pci {
        wide_checks::check_pci_ids(pci, errors);
        let mut names: Vec<&str> = Vec::new();
        for b in &device.blocks {
            if let Some(n) = &b.name {
                if !names.contains(&n.value.as_str()) {
                    names.push(&n.value);
                }
            }
        }
        for b in &pci.bars {
            let Some(block) = &b.block else { continue };
            if names.contains(&block.value.as_str()) {
                continue;
            }
            let which = match &b.bar {
                Some(bar) => format!("BAR {}", bar.value),
                None => "a `pci.bars` entry".to_string(),
            };
            let hint = match suggest(&block.value, &names) {
                Some(s) => format!("did you mean `{}`? ", shorten(s)),
                None => String::new(),
            };
            let listed: Vec<String> = names.iter().map(|n| shorten(n)).collect();
            errors.push(
                block.span,
                format!(
                    "{which} names block `{}`, which is not a block of this device; {hint}blocks: {}",
                    shorten(&block.value),
                    listed.join(", ")
                ),
            );
        }
    }
    crate::layout::check(device, errors);
    for block in &device.blocks {
        check_block(block, errors);
    }
    crate::rust::check(device, errors);
}

fn display_name(name: &Option<Loc<String>>) -> String {
    name.as_ref()
        .map_or_else(|| "?".to_string(), |n| shorten(&n.value))
}

/// A register's placement, when everything it needs is valid.
struct Layout {
    index: usize,
    name: String,
    is_array: bool,
    start: u128,
    bytes: u128,
    count: u128,
    stride: u128,
    span: Span,
}

impl Layout {
    fn end(&self) -> u128 {
        self.start + (self.count - 1) * self.stride + self.bytes
    }
    fn element(&self, i: u128) -> String {
        if self.is_array {
            format!("{}[{i}]", self.name)
        } else {
            self.name.clone()
        }
    }
    fn element_start(&self, i: u128) -> u128 {
        self.start + i * self.stride
    }
    /// The first index `i` whose element ends after `addr` (may be >= count).
    fn first_ending_after(&self, addr: u128) -> u128 {
        let first_end = self.start + self.bytes;
        if first_end > addr {
            0
        } else {
            (addr - first_end) / self.stride + 1
        }
    }
}

/// The first overlapping pair of elements (index in `a`, index in `b`).
/// `Err` when the budget runs out.
fn first_overlap(a: &Layout, b: &Layout, budget: &mut u64) -> Result<Option<(u128, u128)>, ()> {
    // Walk the array with fewer elements, and only where the extents meet.
    if *budget == 0 {
        return Err(());
    }
    *budget -= 1;
    let (walk, other, swapped) = if a.count <= b.count {
        (a, b, false)
    } else {
        (b, a, true)
    };
    let mut i = walk.first_ending_after(other.start);
    while i < walk.count {
        let x = walk.element_start(i);
        if x >= other.end() {
            break;
        }
        if *budget == 0 {
            return Err(());
        }
        *budget -= 1;
        let j = other.first_ending_after(x);
        if j < other.count && other.element_start(j) < x + walk.bytes {
            return Ok(Some(if swapped { (j, i) } else { (i, j) }));
        }
        i += 1;
    }
    Ok(None)
}

fn check_block(block: &DBlock, errors: &mut Errors) {
    let bname = display_name(&block.name);
    duplicates(
        errors,
        block.registers.iter().filter_map(|r| r.name.as_ref()),
        "register",
        &format!(" in block `{bname}`"),
    );
    let mut layouts = Vec::new();
    for (index, reg) in block.registers.iter().enumerate() {
        if let Some(layout) = check_register(block, &bname, reg, index, errors) {
            layouts.push(layout);
        }
    }
    // Overlaps: sweep in address order, comparing each register with those
    // whose extent is still open.
    layouts.sort_by_key(|l| (l.start, l.index));
    let mut budget = OVERLAP_BUDGET;
    let mut active: Vec<&Layout> = Vec::new();
    // (position, message, the other register's position, its label).
    let mut found: Vec<(Span, String, Span, String)> = Vec::new();
    // Registers already reported: each is reported overlapping one other at
    // most, so a pile of registers at one offset gives one error each.
    let mut reported = vec![false; block.registers.len()];
    'sweep: for cur in &layouts {
        active.retain(|a| a.end() > cur.start);
        for prev in &active {
            // Report at the register declared later in the file.
            let (later, earlier) = if cur.index > prev.index {
                (cur, *prev)
            } else {
                (*prev, cur)
            };
            if reported[later.index] {
                continue;
            }
            match first_overlap(later, earlier, &mut budget) {
                Ok(None) => {}
                Ok(Some((i, j))) => {
                    reported[later.index] = true;
                    found.push((
                        later.span,
                        format!(
                            "register `{}` ({}) overlaps register `{}` ({})",
                            later.element(i),
                            byte_range(later.element_start(i), later.bytes),
                            earlier.element(j),
                            byte_range(earlier.element_start(j), earlier.bytes),
                        ),
                        earlier.span,
                        format!("register `{}` is here", earlier.element(j)),
                    ));
                }
                Err(()) => {
                    errors.push(
                        block.span,
                        format!(
                            "block `{bname}` has too many register-array elements to check for overlaps \
                             (more than {OVERLAP_BUDGET} comparisons); use fewer or shorter arrays, or \
                             describe a large region as a block without registers"
                        ),
                    );
                    break 'sweep;
                }
            }
        }
        active.push(cur);
    }
    for (span, message, other, label) in found {
        errors.push_with_note(span, message, other, label);
    }
}

/// Checks one register; returns its layout if the overlap check can use it.
fn check_register(
    block: &DBlock,
    bname: &str,
    reg: &DRegister,
    index: usize,
    errors: &mut Errors,
) -> Option<Layout> {
    let rname = display_name(&reg.name);
    let width = reg.width.ok().copied();
    let access = reg.access.ok().copied();

    // Reset value.
    if let (Some(w), Given::Ok(reset)) = (width, &reg.reset) {
        if reset.value > w.max_value() {
            errors.push(
                reset.span,
                format!(
                    "reset value {} of register `{rname}` does not fit in {} bits (at most {})",
                    show(reset.value),
                    w.bits(),
                    show(w.max_value())
                ),
            );
        }
    }

    // Side effects.
    if let Given::Ok(rse) = &reg.read_side_effects {
        if !rse.value && access == Some(Access::ReadClear) {
            errors.push(
                rse.span,
                format!(
                    "`read_side_effects: false` contradicts `access: rc` of register `{rname}`: \
                     reading an rc register clears it; remove the key"
                ),
            );
        }
        if rse.value && access == Some(Access::WriteOnly) {
            errors.push(
                rse.span,
                format!(
                    "`read_side_effects: true` on register `{rname}`, which is `wo` and cannot be read; \
                     remove the key"
                ),
            );
        }
    }

    check_write_keys(reg, &rname, access, errors);
    wide_checks::check_split(reg, &rname, width, access, errors);

    // Fields.
    duplicates(
        errors,
        reg.fields.iter().filter_map(|f| f.name.as_ref()),
        "field",
        &format!(" in register `{rname}`"),
    );
    for f in &reg.fields {
        check_field(reg, &rname, width, access, f, errors);
    }
    check_field_overlaps(&rname, width, &reg.fields, errors);

    // Layout.
    let w = width?;
    let offset = reg.offset.as_ref()?;
    let bytes = w.bytes();
    // A misaligned offset or stride is reported once: an overlap or an end
    // past the block's computed from it would be follow-ons of the mistake.
    let mut misplaced = false;
    let (count, stride) = match &reg.array {
        Given::Absent => (1, bytes),
        Given::Bad => return None,
        Given::Ok(a) => {
            let stride = a.stride.as_ref()?;
            if stride.value < bytes {
                errors.push(
                    stride.span,
                    format!(
                        "stride {} of the array of register `{rname}` is smaller than the register \
                         ({bytes} bytes): elements would overlap",
                        show(stride.value)
                    ),
                );
                return None;
            }
            if stride.value % bytes != 0 {
                misplaced = true;
                errors.push(
                    stride.span,
                    format!(
                        "stride {} of the array of register `{rname}` is not a multiple of {bytes}: \
                         every element of a {}-bit register array must be aligned to its width",
                        show(stride.value),
                        w.bits()
                    ),
                );
            }
            (a.count.as_ref()?.value, stride.value)
        }
    };
    if offset.value % bytes != 0 {
        misplaced = true;
        errors.push(
            offset.span,
            format!(
                "offset {:#x} of register `{rname}` is not a multiple of {bytes}: \
                 {}-bit registers must be aligned to their width",
                offset.value,
                w.bits()
            ),
        );
    }
    let layout = Layout {
        index,
        name: rname.clone(),
        is_array: reg.array.ok().is_some(),
        start: u128::from(offset.value),
        bytes: u128::from(bytes),
        count: u128::from(count),
        stride: u128::from(stride),
        span: reg.span,
    };
    if misplaced {
        return None;
    }
    if let Some(size) = &block.size {
        if layout.end() > u128::from(size.value) {
            let last = layout.count - 1;
            let what = if layout.is_array {
                format!(
                    "register `{}` ({}), the last element of array `{rname}`,",
                    layout.element(last),
                    byte_range(layout.element_start(last), layout.bytes)
                )
            } else {
                format!(
                    "register `{rname}` ({})",
                    byte_range(layout.start, layout.bytes)
                )
            };
            errors.push(
                reg.span,
                format!(
                    "{what} extends past the end of block `{bname}` (size {:#x})",
                    size.value
                ),
            );
            return None;
        }
    }
    Some(layout)
}

/// `write_side_effects` and `field_writes` against what the register can do.
fn check_write_keys(reg: &DRegister, rname: &str, access: Option<Access>, errors: &mut Errors) {
    let Some(access) = access else { return };
    let field_kinds = || {
        reg.fields.iter().map(move |f| match &f.access {
            Given::Ok(a) => a.value,
            _ => access,
        })
    };
    let writable = access.can_write() || field_kinds().any(Access::can_write);
    if let Given::Ok(wse) = &reg.write_side_effects {
        if wse.value && !writable {
            errors.push(
                wse.span,
                format!(
                    "`write_side_effects: true` on register `{rname}`, which is `{access}` and cannot be written; \
                     remove the key"
                ),
            );
        }
    }
    if let Given::Ok(fw) = &reg.field_writes {
        if fw.value == FieldWrites::ReadModifyWrite {
            let side_effects = access == Access::ReadClear
                || matches!(&reg.read_side_effects, Given::Ok(r) if r.value)
                || field_kinds().any(|k| k == Access::ReadClear);
            let why = if !access.can_read() {
                Some(format!("it is `{access}` and cannot be read"))
            } else if side_effects {
                Some("reading it has side effects".to_string())
            } else {
                None
            };
            if let Some(why) = why {
                errors.push(
                    fw.span,
                    format!(
                        "`field_writes: read_modify_write` on register `{rname}`, but {why}; \
                         use `from_reset` (the default for it)"
                    ),
                );
            }
        } else if !writable {
            errors.push(
                fw.span,
                format!(
                    "`field_writes` on register `{rname}`, which is `{access}` and cannot be written; \
                     remove the key"
                ),
            );
        }
    }
}

fn check_field(
    reg: &DRegister,
    rname: &str,
    width: Option<Width>,
    access: Option<Access>,
    f: &DField,
    errors: &mut Errors,
) {
    let path = format!("{rname}.{}", display_name(&f.name));
    if let (Some(w), Some(bits)) = (width, &f.bits) {
        let (msb, lsb) = bits.value;
        if msb >= u64::from(w.bits()) {
            errors.push(
                bits.span,
                format!(
                    "field `{path}` ({}) does not fit in {}-bit register `{rname}` (bits {}:0)",
                    bit_range(msb, lsb),
                    w.bits(),
                    w.bits() - 1
                ),
            );
        }
    }
    let field_access = match &f.access {
        Given::Ok(a) => Some(a),
        _ => None,
    };
    if let (Some(fa), Some(ra)) = (field_access, access) {
        // A write-1-to-clear/-set bit may sit in a read-only status register
        // (NVMe's CSTS): writes then reach only those bits.
        let action_in_ro = ra == Access::ReadOnly
            && matches!(fa.value, Access::WriteOneToClear | Access::WriteOneToSet);
        if fa.value.can_write() && !ra.can_write() && !action_in_ro {
            let allowed = if ra == Access::ReadOnly {
                "`ro`, `rc`, `w1c` or `w1s`"
            } else {
                "`ro` or `rc`"
            };
            errors.push(
                fa.span,
                format!(
                    "field `{path}` is `{}`, which can be written, but register `{rname}` is `{ra}`, \
                     which cannot; a field of a `{ra}` register must be {allowed}",
                    fa.value
                ),
            );
        } else if fa.value.can_read() && !ra.can_read() {
            errors.push(
                fa.span,
                format!(
                    "field `{path}` is `{}`, which can be read, but register `{rname}` is `{ra}`, \
                     which cannot; a field of a `{ra}` register must be `wo`",
                    fa.value
                ),
            );
        }
    }
    if let (Some(fa), Given::Ok(rse)) = (field_access, &reg.read_side_effects) {
        if fa.value == Access::ReadClear && !rse.value {
            errors.push(
                rse.span,
                format!(
                    "`read_side_effects: false` contradicts field `{path}`, which is `rc`: \
                     reading the register clears that field; remove the key"
                ),
            );
        }
    }
    if let Given::Ok(sc) = &f.self_clearing {
        let effective = match &f.access {
            Given::Ok(a) => Some(a.value),
            Given::Absent => access,
            Given::Bad => None,
        };
        if let Some(a) = effective {
            if sc.value && !a.can_write() {
                errors.push(
                    sc.span,
                    format!(
                        "`self_clearing: true` on field `{path}`, which is `{a}` and cannot be written; \
                         a self-clearing bit is one that software sets and the device clears"
                    ),
                );
            }
        }
    }
    check_values(&path, f, errors);
}

/// The largest value of a field with bits `msb:lsb` of a draft. The schema
/// has checked `msb >= lsb`, but either may be any u64, so the width
/// (`msb - lsb + 1`, which could overflow) is only formed below 64.
pub(crate) fn field_max(msb: u64, lsb: u64) -> u64 {
    match msb.saturating_sub(lsb) {
        top @ 0..=62 => (1u64 << (top + 1)) - 1,
        _ => u64::MAX,
    }
}

fn check_values(path: &str, f: &DField, errors: &mut Errors) {
    duplicates(
        errors,
        f.values.iter().filter_map(|v| v.name.as_ref()),
        "value",
        &format!(" in field `{path}`"),
    );
    let mut seen: HashMap<u64, &DValue> = HashMap::new();
    for v in &f.values {
        let Some(value) = &v.value else { continue };
        let vname = display_name(&v.name);
        if let Some(bits) = &f.bits {
            let (msb, lsb) = bits.value;
            let max = field_max(msb, lsb);
            if value.value > max {
                errors.push(
                    value.span,
                    format!(
                        "value `{path}.{vname}` = {} does not fit in {}-bit field `{path}` (at most {})",
                        show(value.value),
                        max.count_ones(),
                        show(max)
                    ),
                );
                continue;
            }
        }
        if let Some(first) = seen.get(&value.value) {
            let span = first.value.as_ref().map_or(first.span, |l| l.span);
            errors.push_with_note(
                value.span,
                format!(
                    "value `{path}.{vname}` repeats the value {} of `{path}.{}` (declared at {span}); \
                     named values of a field must differ",
                    show(value.value),
                    display_name(&first.name)
                ),
                span,
                format!("`{path}.{}` has it here", display_name(&first.name)),
            );
        } else {
            seen.insert(value.value, v);
        }
    }
}

fn check_field_overlaps(rname: &str, width: Option<Width>, fields: &[DField], errors: &mut Errors) {
    // Only fields that fit are compared, so each problem is reported once.
    let limit = width.map_or(u64::MAX, |w| u64::from(w.bits()));
    let mut placed: Vec<(usize, u64, u64, Span, String)> = fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let bits = f.bits.as_ref()?;
            let (msb, lsb) = bits.value;
            (msb < limit).then(|| (i, msb, lsb, bits.span, display_name(&f.name)))
        })
        .collect();
    placed.sort_by_key(|p| (p.2, p.0));
    // Sweep by lsb, remembering the field that reaches highest so far.
    let mut reach: Option<&(usize, u64, u64, Span, String)> = None;
    // (later field, earlier field's name and bits) pairs already reported:
    // a wide field that overlaps two fields of the same name and bits (a
    // duplicate, reported as such) would otherwise repeat the same error.
    let mut reported = HashSet::new();
    for cur in &placed {
        if let Some(prev) = reach {
            if cur.2 <= prev.1 {
                let (later, earlier) = if cur.0 > prev.0 {
                    (cur, prev)
                } else {
                    (prev, cur)
                };
                if reported.insert((later.0, &earlier.4, earlier.1, earlier.2)) {
                    errors.push_with_note(
                        later.3,
                        format!(
                            "field `{rname}.{}` ({}) overlaps field `{rname}.{}` ({})",
                            later.4,
                            bit_range(later.1, later.2),
                            earlier.4,
                            bit_range(earlier.1, earlier.2)
                        ),
                        earlier.3,
                        format!("field `{rname}.{}` is here", earlier.4),
                    );
                }
            }
        }
        if reach.is_none_or(|r| cur.1 > r.1) {
            reach = Some(cur);
        }
    }
}

// ---------------------------------------------------------------- build

/// Converts a draft that produced no errors into the model. `None` only if
/// the draft is incomplete, which a clean check rules out.
pub(crate) fn build(d: &DDevice) -> Option<Device> {
    let pci = match &d.pci {
        None => None,
        Some(p) => Some({
            let (first, alternative_ids) = wide_checks::build_pci_ids(p)?;
            PciIdentity {
                vendor: first.vendor,
                device: first.device,
                alternative_ids,
                bars: p
                    .bars
                    .iter()
                    .map(|b| {
                        Some(BarBinding {
                            bar: b.bar.as_ref()?.value,
                            block: b.block.as_ref()?.value.clone(),
                            offset: b.offset.ok()?.value,
                            span: b.span,
                        })
                    })
                    .collect::<Option<_>>()?,
            }
        }),
    };
    Some(Device {
        name: d.name.as_ref()?.value.clone(),
        description: d.description.clone(),
        pci,
        blocks: d.blocks.iter().map(build_block).collect::<Option<_>>()?,
    })
}

fn build_block(b: &DBlock) -> Option<Block> {
    Some(Block {
        name: b.name.as_ref()?.value.clone(),
        description: b.description.clone(),
        size: b.size.as_ref()?.value,
        array: match &b.array {
            Given::Absent => None,
            Given::Bad => return None,
            Given::Ok(a) => Some(Array {
                count: a.count.as_ref()?.value,
                stride: a.stride.as_ref()?.value,
            }),
        },
        registers: b
            .registers
            .iter()
            .map(build_register)
            .collect::<Option<_>>()?,
        span: b.span,
    })
}

fn build_register(r: &DRegister) -> Option<Register> {
    let access = *r.access.ok()?;
    let array = match &r.array {
        Given::Absent => None,
        Given::Bad => return None,
        Given::Ok(a) => Some(Array {
            count: a.count.as_ref()?.value,
            stride: a.stride.as_ref()?.value,
        }),
    };
    let fields: Vec<Field> = r
        .fields
        .iter()
        .map(|f| build_field(f, access))
        .collect::<Option<_>>()?;
    let rc_field = fields.iter().any(|f| f.access == Some(Access::ReadClear));
    let (reset, reset_given) = match &r.reset {
        Given::Absent => (0, false),
        Given::Bad => return None,
        Given::Ok(v) => (v.value, true),
    };
    let declared = match &r.read_side_effects {
        Given::Absent => false,
        Given::Bad => return None,
        Given::Ok(v) => v.value,
    };
    let read_side_effects = declared || access == Access::ReadClear || rc_field;
    let write_side_effects = match &r.write_side_effects {
        Given::Absent => false,
        Given::Bad => return None,
        Given::Ok(v) => v.value,
    };
    let field_writes = match &r.field_writes {
        Given::Absent => {
            if !access.can_read() || read_side_effects || write_side_effects {
                FieldWrites::FromReset
            } else {
                FieldWrites::ReadModifyWrite
            }
        }
        Given::Bad => return None,
        Given::Ok(m) => m.value,
    };
    Some(Register {
        name: r.name.as_ref()?.value.clone(),
        description: r.description.clone(),
        offset: r.offset.as_ref()?.value,
        width: *r.width.ok()?,
        access,
        read_side_effects,
        write_side_effects,
        field_writes,
        reset,
        reset_given,
        fields,
        array,
        split: wide_checks::build_split(r)?,
        span: r.span,
    })
}

fn build_field(f: &DField, register_access: Access) -> Option<Field> {
    let (msb, lsb) = f.bits.as_ref()?.value;
    let access = match &f.access {
        Given::Absent => None,
        Given::Bad => return None,
        Given::Ok(a) if a.value == register_access => None,
        Given::Ok(a) => Some(a.value),
    };
    Some(Field {
        name: f.name.as_ref()?.value.clone(),
        description: f.description.clone(),
        lsb: u32::try_from(lsb).ok()?,
        msb: u32::try_from(msb).ok()?,
        access,
        self_clearing: match &f.self_clearing {
            Given::Absent => false,
            Given::Bad => return None,
            Given::Ok(v) => v.value,
        },
        values: f
            .values
            .iter()
            .map(|v| {
                Some(EnumValue {
                    name: v.name.as_ref()?.value.clone(),
                    value: v.value.as_ref()?.value,
                    description: v.description.clone(),
                    span: v.span,
                })
            })
            .collect::<Option<_>>()?,
        span: f.span,
    })
}
