//! Where blocks lie: block arrays (`array` of a block) and the placement of
//! blocks in BARs (`pci.bars` entries with an `offset`).
//!
//! The rules: a block array's stride is at least the block's size and a
//! multiple of its alignment (the width of its widest register), so that
//! every element is a whole, aligned block; a block is bound to one BAR at
//! most; its offset in the BAR is a multiple of its alignment; the blocks
//! of one BAR do not overlap (a block array counts from the start of its
//! first element to the end of its last); and the end of a block in its
//! BAR fits in 64 bits. Whether a block fits its BAR is checked when a
//! block is placed over a real BAR (the generated `window` functions,
//! regpoke's mapping), since the map does not state BAR sizes.

use std::collections::HashMap;

use crate::diagnostic::Errors;
use crate::model::Span;
use crate::schema::{show, DBlock, DDevice, Given, Loc};
use crate::yaml::shorten;

/// The alignment a block of the draft needs (the width of its widest
/// register, 1 without registers), or `None` when a register's width was
/// reported as wrong.
fn align(block: &DBlock) -> Option<u64> {
    block.registers.iter().try_fold(1, |a, r| match &r.width {
        Given::Ok(w) => Some(a.max(w.bytes())),
        _ => None,
    })
}

/// What the alignment is, for messages.
fn align_reason(align: u64) -> String {
    if align == 1 {
        "1 (it has no registers)".to_string()
    } else {
        format!("{align} (its widest register is {} bits)", align * 8)
    }
}

/// Bytes from the start of element 0 to the end of the last element, when
/// the block's size and array are valid; `None` otherwise or on overflow
/// (the overflow is reported by [`check_array`]).
fn extent(block: &DBlock) -> Option<u64> {
    let size = block.size.as_ref()?.value;
    match &block.array {
        Given::Absent => Some(size),
        Given::Bad => None,
        Given::Ok(a) => {
            let count = a.count.as_ref()?.value;
            let stride = a.stride.as_ref()?.value;
            stride.checked_mul(count - 1)?.checked_add(size)
        }
    }
}

/// Checks the `array` of a block; returns whether it is usable (or absent).
fn check_array(block: &DBlock, errors: &mut Errors) -> bool {
    let Given::Ok(array) = &block.array else {
        return matches!(block.array, Given::Absent);
    };
    let bname = block
        .name
        .as_ref()
        .map_or_else(|| "?".to_string(), |n| shorten(&n.value));
    let (Some(stride), Some(count)) = (&array.stride, &array.count) else {
        return false;
    };
    let Some(size) = &block.size else {
        return false;
    };
    if stride.value < size.value {
        errors.push(
            stride.span,
            format!(
                "stride {} of the array of block `{bname}` is smaller than the block (size {}): \
                 elements would overlap; make the stride at least {}",
                show(stride.value),
                show(size.value),
                show(size.value)
            ),
        );
        return false;
    }
    if let Some(align) = align(block) {
        if !stride.value.is_multiple_of(align) {
            errors.push(
                stride.span,
                format!(
                    "stride {} of the array of block `{bname}` is not a multiple of {}: \
                     every element must start where its registers are aligned",
                    show(stride.value),
                    align_reason(align)
                ),
            );
            return false;
        }
    }
    if extent(block).is_none() {
        errors.push(
            count.span,
            format!(
                "the array of block `{bname}` ({} elements, stride {}) does not fit in 64 bits",
                count.value,
                show(stride.value)
            ),
        );
        return false;
    }
    true
}

/// A block placed in a BAR, when everything it needs is valid.
struct Placed<'d> {
    bar: u8,
    name: &'d str,
    start: u64,
    end: u64,
    span: Span,
}

/// Checks block arrays and the placement of blocks in BARs.
pub(crate) fn check(device: &DDevice, errors: &mut Errors) {
    let mut usable: HashMap<&str, &DBlock> = HashMap::new();
    for block in &device.blocks {
        let ok = check_array(block, errors);
        if let (true, Some(name)) = (ok, &block.name) {
            usable.entry(name.value.as_str()).or_insert(block);
        }
    }
    let Some(pci) = &device.pci else { return };
    // A block has one place: bound twice, its offset would be ambiguous.
    let mut bound: HashMap<&str, Span> = HashMap::new();
    let mut placed: Vec<Placed> = Vec::new();
    for b in &pci.bars {
        let (Some(bar), Some(block)) = (&b.bar, &b.block) else {
            continue;
        };
        if let Some(first) = bound.get(block.value.as_str()) {
            errors.push_with_note(
                block.span,
                format!(
                    "block `{}` is bound twice in `pci.bars` (first at {first}); a block has one place: \
                     to repeat it, give the block an `array`",
                    shorten(&block.value)
                ),
                *first,
                "first bound here",
            );
            continue;
        }
        bound.insert(&block.value, block.span);
        let (Given::Ok(offset), Some(d)) = (&b.offset, usable.get(block.value.as_str())) else {
            continue;
        };
        if let Some(place) = place(bar, block, offset, d, errors) {
            placed.push(place);
        }
    }
    overlaps(&mut placed, errors);
}

/// Checks the offset of one binding; returns the block's place in its BAR.
fn place<'d>(
    bar: &Loc<u8>,
    block: &'d Loc<String>,
    offset: &Loc<u64>,
    d: &DBlock,
    errors: &mut Errors,
) -> Option<Placed<'d>> {
    let name = shorten(&block.value);
    let align = align(d)?;
    if !offset.value.is_multiple_of(align) {
        errors.push(
            offset.span,
            format!(
                "offset {:#x} of block `{name}` in BAR {} is not a multiple of the block's alignment {}",
                offset.value,
                bar.value,
                align_reason(align)
            ),
        );
        return None;
    }
    let extent = extent(d)?;
    let Some(end) = offset.value.checked_add(extent) else {
        errors.push(
            offset.span,
            format!(
                "block `{name}` at offset {:#x} of BAR {} ({} bytes) ends past 64 bits",
                offset.value,
                bar.value,
                show(extent)
            ),
        );
        return None;
    };
    Some(Placed {
        bar: bar.value,
        name: &block.value,
        start: offset.value,
        end,
        span: offset.span,
    })
}

/// Reports blocks of one BAR that share a byte, each at most once, at the
/// binding declared later.
fn overlaps(placed: &mut [Placed], errors: &mut Errors) {
    let order: Vec<Span> = placed.iter().map(|p| p.span).collect();
    placed.sort_by_key(|p| (p.bar, p.start, p.span));
    let mut reach: Option<&Placed> = None;
    for cur in placed.iter() {
        if let Some(prev) = reach.filter(|r| r.bar == cur.bar && r.end > cur.start) {
            let first = |p: &Placed| order.iter().position(|s| *s == p.span);
            let (later, earlier) = if first(cur) > first(prev) {
                (cur, prev)
            } else {
                (prev, cur)
            };
            errors.push_with_note(
                later.span,
                format!(
                    "block `{}` (BAR {} bytes {:#x}..={:#x}) overlaps block `{}` (bytes {:#x}..={:#x}); \
                     blocks of one BAR must not share a byte",
                    shorten(later.name),
                    later.bar,
                    later.start,
                    later.end - 1,
                    shorten(earlier.name),
                    earlier.start,
                    earlier.end - 1
                ),
                earlier.span,
                format!("block `{}` is placed here", shorten(earlier.name)),
            );
        }
        if reach.is_none_or(|r| r.bar != cur.bar || cur.end > r.end) {
            reach = Some(cur);
        }
    }
}
