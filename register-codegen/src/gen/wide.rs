//! What the generator emits for a register wider than the bus: its
//! accesses as constants (computed by `register_spec`'s one rule) and the
//! type of its handle.

use register_spec::wide::{Piece, Split};
use register_spec::{PciIdentity, Register, Width};

use super::{uty, Out};

/// The sentence the register's docs add: how it is accessed.
pub(super) fn summary(reg: &Register, split: &Split) -> String {
    let n = reg.width.bits() / split.access_width.bits();
    let mut s = format!(
        " Accessed as {n} {}-bit parts, `{}`",
        split.access_width.bits(),
        split.order
    );
    if split.consistent_read {
        s.push_str("; a counter: read it with `read_consistent()`");
    }
    s.push('.');
    s
}

fn width_path(w: Width) -> &'static str {
    match w {
        Width::W8 => "::hal_core::Width::W8",
        Width::W16 => "::hal_core::Width::W16",
        Width::W32 => "::hal_core::Width::W32",
        Width::W64 => "::hal_core::Width::W64",
    }
}

fn pieces_expr(pieces: &[Piece]) -> String {
    let items: Vec<String> = pieces
        .iter()
        .map(|p| {
            format!(
                "::hal_core::wide::Piece::new({:#x}, {}, {})",
                p.offset,
                width_path(p.width),
                p.shift
            )
        })
        .collect();
    format!("&[{}]", items.join(", "))
}

/// `ACCESSES` and `CONSISTENT_READ` of the register's module.
pub(super) fn gen_pieces(o: &mut Out, reg: &Register, split: &Split) {
    o.line("/// The accesses of one read or write, in order (`access_width:");
    o.line(&format!(
        "/// {}`, `access_order: {}`; `register_spec::wide::split_accesses`).",
        split.access_width.bits(),
        split.order
    ));
    o.line(&format!(
        "pub const ACCESSES: &[::hal_core::wide::Piece] = {};",
        pieces_expr(&reg.accesses())
    ));
    o.line("/// The accesses of a consistent read: upper parts first, the lowest last");
    o.line("/// (`register_spec::wide::consistent_read_accesses`; empty unless the");
    o.line("/// register is marked `consistent_read: true`).");
    o.line(&format!(
        "pub const CONSISTENT_READ: &[::hal_core::wide::Piece] = {};",
        pieces_expr(&reg.consistent_read_accesses().unwrap_or_default())
    ));
}

/// The handle type: `WideReg`, a counter when `consistent_read` is set.
pub(super) fn handle_type(reg: &Register, split: &Split, lt: &str, marker: &str) -> String {
    format!(
        "::hal_core::WideReg<{lt}, I, {}, {}::Register, ::hal_core::access::{marker}, {}>",
        uty(reg.width),
        register_spec::rust::ident(&reg.name),
        split.consistent_read
    )
}

/// `PCI_IDS`: every vendor:device ID of the map, the first first.
pub(super) fn gen_pci_ids(o: &mut Out, pci: &PciIdentity) {
    let ids: Vec<String> = pci
        .ids()
        .iter()
        .map(|id| format!("({:#06x}, {:#06x})", id.vendor, id.device))
        .collect();
    o.line("/// Every PCI vendor:device ID this map describes (an alternative ID, a");
    o.line("/// family), the main one first: find the device with any of them.");
    o.line(&format!(
        "pub const PCI_IDS: &[(u16, u16)] = &[{}];",
        ids.join(", ")
    ));
}
