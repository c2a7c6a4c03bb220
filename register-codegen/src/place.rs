//! Where a block lies in its BAR: the constants and `window` functions of
//! a block placed at an offset (`pci.bars` entry with `offset`) or repeated
//! as a block array (`array` on the block).

use register_spec::{Block, Device};

use crate::gen::Out;

/// Whether `block` gets a `window` function: it is a block array, or it
/// is bound to a BAR at an offset other than 0. (A block at offset 0 of its
/// BAR is built over the BAR directly, with `new`.)
pub(crate) fn is_placed(device: &Device, block: &Block) -> bool {
    block.array.is_some() || device.binding(&block.name).is_some_and(|b| b.offset != 0)
}

/// The placement items of a placed block's module (nothing for others):
/// `OFFSET` (bound blocks),
/// `COUNT`/`STRIDE` (block arrays), `window` (and `window_at::<N>` for a
/// block array), and their compile-time checks.
pub(crate) fn gen_placement(o: &mut Out, device: &Device, block: &Block) {
    if !is_placed(device, block) {
        return;
    }
    let binding = device.binding(&block.name);
    if let Some(b) = binding {
        o.line(&format!(
            "/// Byte offset of the block{} in BAR {} (`pci.bars`).",
            if block.array.is_some() {
                " (of element 0)"
            } else {
                ""
            },
            b.bar
        ));
        o.line(&format!("pub const OFFSET: usize = {:#x};", b.offset));
    }
    if let Some(a) = block.array {
        crate::gen::array_consts(o, a, "the block array", "the starts of two elements");
    }
    let path = format!("{}.{}", device.name, block.name);
    let base = if binding.is_some() { "OFFSET" } else { "0" };
    let region = match binding {
        Some(b) => format!("BAR {}", b.bar),
        None => "the region that holds the array".to_string(),
    };
    let ty = register_spec::rust::camel(&block.name);
    o.blank();
    o.line("// Placement checks: every element starts aligned and elements do not overlap.");
    if binding.is_some() {
        o.line("const _: () = assert!(OFFSET % ALIGN == 0);");
    }
    if block.array.is_some() {
        o.line("const _: () = assert!(COUNT > 0 && STRIDE >= SIZE && STRIDE % ALIGN == 0);");
    }
    o.blank();
    match block.array {
        Some(_) => {
            o.line(&format!(
                "/// Element `index` of block array `{}`: the window of {region} at",
                block.name
            ));
            o.line(&format!(
                "/// `{base} + index * STRIDE`, [`SIZE`](const@SIZE) bytes long, to build a [`{ty}`] over."
            ));
            o.line("///");
            o.line("/// Checks once that `index < COUNT`, that the window lies inside `bar`");
            o.line("/// and that it starts on a multiple of [`ALIGN`](const@ALIGN); the block's accessors");
            o.line("/// need no further checks. `bar` is any [`Io`](::hal_core::Io), by value");
            o.line("/// or by reference (`&region`).");
            o.open("pub fn window<I: ::hal_core::Io>(");
            o.line("bar: I,");
            o.line("index: usize,");
            o.close_open(
                ") -> ::core::result::Result<::hal_core::Window<I>, ::hal_core::BlockError> {",
            );
            o.open("if index >= COUNT {");
            o.open("return Err(::hal_core::BlockError::Index {");
            o.line(&format!("register: {path:?},"));
            o.line("index,");
            o.line("count: COUNT,");
            o.close("});");
            o.close("}");
            o.line(&format!("place(bar, {base} + index * STRIDE)"));
            o.close("}");
            o.blank();
            o.line(&format!(
                "/// Element `N` of block array `{}`, with `N` checked at compile time;",
                block.name
            ));
            o.line("/// the window is checked against `bar` as by [`window`](fn@window).");
            o.open("pub fn window_at<const N: usize, I: ::hal_core::Io>(");
            o.line("bar: I,");
            o.close_open(
                ") -> ::core::result::Result<::hal_core::Window<I>, ::hal_core::BlockError> {",
            );
            o.line(&format!(
                "const {{ assert!(N < COUNT, \"index out of range for block array {}: its indices are 0 to {}\") }};",
                block.name,
                block.count() - 1
            ));
            o.line(&format!("place(bar, {base} + N * STRIDE)"));
            o.close("}");
        }
        None => {
            o.line(&format!(
                "/// Block `{}` in {region}: the window at [`OFFSET`](const@OFFSET), [`SIZE`](const@SIZE) bytes long,",
                block.name
            ));
            o.line(&format!("/// to build a [`{ty}`] over."));
            o.line("///");
            o.line("/// Checks once that the window lies inside `bar` and that it starts on a");
            o.line("/// multiple of [`ALIGN`](const@ALIGN); the block's accessors need no further checks.");
            o.line(
                "/// `bar` is any [`Io`](::hal_core::Io), by value or by reference (`&region`).",
            );
            o.open(
                "pub fn window<I: ::hal_core::Io>(bar: I) -> ::core::result::Result<::hal_core::Window<I>, ::hal_core::BlockError> {",
            );
            o.line("place(bar, OFFSET)");
            o.close("}");
        }
    }
    o.blank();
    o.line("/// The window of [`SIZE`](const@SIZE) bytes at `offset` of `bar`, checked once.");
    o.open("fn place<I: ::hal_core::Io>(");
    o.line("bar: I,");
    o.line("offset: usize,");
    o.close_open(") -> ::core::result::Result<::hal_core::Window<I>, ::hal_core::BlockError> {");
    o.line("let have = bar.len();");
    o.open("let window = ::hal_core::Window::new(bar, offset, SIZE).map_err(|_| {");
    o.open("::hal_core::BlockError::TooSmall {");
    o.line(&format!("block: {path:?},"));
    o.line("need: offset.saturating_add(SIZE),");
    o.line("have,");
    o.close("}");
    o.close("})?;");
    o.line(&format!(
        "::hal_core::check_block(&window, {path:?}, SIZE, ALIGN)?;"
    ));
    o.line("Ok(window)");
    o.close("}");
}
