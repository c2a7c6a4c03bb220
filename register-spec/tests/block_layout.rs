//! Blocks at offsets in a BAR and block arrays: what is accepted (and the
//! model it gives), what is refused, with exact messages and positions.

/// A device: line 1 `name`, `pci` from line 2, then `bars` lines from line 5,
/// then the blocks.
fn device(bars: &[&str], blocks: &[&str]) -> String {
    let mut lines = vec![
        "name: dev",
        "pci:",
        "  vendor: 0x1234",
        "  device: 0x5678",
        "  bars:",
    ];
    lines.extend_from_slice(bars);
    lines.push("blocks:");
    lines.extend_from_slice(blocks);
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

/// Block `ctrl` (0x100 bytes, one 32-bit register) and block `ch` (0x40
/// bytes, a 64-bit register at 0x8), with `array` lines for `ch`.
fn blocks(ch_array: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "  - name: ctrl",
        "    size: 0x100",
        "    registers:",
        "      - { name: ID, offset: 0x0, access: ro }",
        "  - name: ch",
        "    size: 0x40",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(ch_array.iter().map(|s| s.to_string()));
    v.push("    registers:".into());
    v.push("      - { name: CTRL, offset: 0x0 }".into());
    v.push("      - { name: ADDR, offset: 0x8, width: 64 }".into());
    v
}

fn errors(src: &str) -> Vec<String> {
    match register_spec::parse(src, "t.yaml") {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

fn src(bars: &[&str], ch_array: &[&str]) -> String {
    let b = blocks(ch_array);
    let b: Vec<&str> = b.iter().map(String::as_str).collect();
    device(bars, &b)
}

#[test]
fn blocks_share_a_bar_at_offsets_and_repeat_as_arrays() {
    let d = register_spec::parse(
        &src(
            &[
                "    - { bar: 0, block: ctrl }",
                "    - { bar: 0, block: ch, offset: 0x1000 }",
            ],
            &["    array: { count: 4, stride: 0x100 }"],
        ),
        "t.yaml",
    )
    .unwrap();
    let ctrl = d.block("ctrl").unwrap();
    let ch = d.block("ch").unwrap();
    assert_eq!(d.binding("ctrl").unwrap().offset, 0);
    assert_eq!(d.binding("ch").unwrap().offset, 0x1000);
    assert_eq!(ctrl.array, None);
    assert_eq!(ch.count(), 4);
    assert_eq!(ch.align(), 8);
    assert_eq!(ctrl.align(), 4);
    assert_eq!(ch.span_bytes(), 0x340);
    assert_eq!(d.block_base(ch, 0), 0x1000);
    assert_eq!(d.block_base(ch, 3), 0x1300);
    assert_eq!(d.block_base(ctrl, 0), 0);
}

#[test]
fn a_block_array_needs_no_bar() {
    let d = register_spec::parse(
        "name: dev\nblocks:\n  - name: ch\n    size: 0x10\n    array: { count: 2, stride: 0x10 }\n",
        "t.yaml",
    )
    .unwrap();
    assert_eq!(d.block_base(&d.blocks[0], 1), 0x10);
}

#[test]
fn a_stride_smaller_than_the_block_is_refused_at_the_stride() {
    assert_eq!(
        errors(&src(
            &["    - { bar: 0, block: ctrl }"],
            &["    array: { count: 4, stride: 0x20 }"]
        )),
        ["t.yaml:14:32: error: stride 0x20 of the array of block `ch` is smaller than the block \
          (size 0x40): elements would overlap; make the stride at least 0x40"]
    );
}

#[test]
fn a_stride_must_keep_every_element_aligned() {
    assert_eq!(
        errors(&src(
            &["    - { bar: 0, block: ctrl }"],
            &["    array: { count: 4, stride: 0x44 }"]
        )),
        ["t.yaml:14:32: error: stride 0x44 of the array of block `ch` is not a multiple of 8 \
          (its widest register is 64 bits): every element must start where its registers are aligned"]
    );
}

#[test]
fn block_array_keys_are_checked_like_register_array_keys() {
    assert_eq!(
        errors(&src(
            &["    - { bar: 0, block: ctrl }"],
            &["    array: { count: 0, strid: 0x40 }"]
        )),
        [
            // A misspelt required key is reported once, as unknown.
            "t.yaml:14:21: error: `count` of the array of block `ch` must be at least 1, found `0`",
            "t.yaml:14:24: error: unknown key `strid` in the array of block `ch`; did you mean `stride`? allowed keys: count, stride",
        ]
    );
}

#[test]
fn an_offset_must_be_aligned_to_the_widest_register() {
    assert_eq!(
        errors(&src(
            &[
                "    - { bar: 0, block: ctrl, offset: 0x2 }",
                "    - { bar: 0, block: ch, offset: 0x1004 }",
            ],
            &[]
        )),
        [
            "t.yaml:6:38: error: offset 0x2 of block `ctrl` in BAR 0 is not a multiple of the block's \
             alignment 4 (its widest register is 32 bits)",
            "t.yaml:7:36: error: offset 0x1004 of block `ch` in BAR 0 is not a multiple of the block's \
             alignment 8 (its widest register is 64 bits)",
        ]
    );
}

#[test]
fn blocks_of_one_bar_must_not_overlap() {
    // ch[1] (0x140..=0x17f) reaches into ctrl at 0x100.
    let e = errors(&src(
        &[
            "    - { bar: 0, block: ch, offset: 0x100 }",
            "    - { bar: 0, block: ctrl, offset: 0x140 }",
        ],
        &["    array: { count: 2, stride: 0x40 }"],
    ));
    assert_eq!(
        e,
        [
            "t.yaml:7:38: error: block `ctrl` (BAR 0 bytes 0x140..=0x23f) overlaps block `ch` \
          (bytes 0x100..=0x17f); blocks of one BAR must not share a byte"
        ]
    );
    // The same offsets in two different BARs are fine.
    assert!(errors(&src(
        &[
            "    - { bar: 0, block: ch, offset: 0x100 }",
            "    - { bar: 2, block: ctrl, offset: 0x140 }",
        ],
        &["    array: { count: 2, stride: 0x40 }"],
    ))
    .is_empty());
}

#[test]
fn a_block_bound_twice_is_refused_with_a_note() {
    let e = register_spec::parse(
        &src(
            &[
                "    - { bar: 0, block: ch }",
                "    - { bar: 2, block: ch }",
                "    - { bar: 1, block: ctrl }",
            ],
            &[],
        ),
        "t.yaml",
    )
    .unwrap_err();
    let d = e.iter().next().unwrap();
    assert_eq!(
        d.to_string(),
        "t.yaml:7:24: error: block `ch` is bound twice in `pci.bars` (first at 6:24); a block has one \
         place: to repeat it, give the block an `array`"
    );
    assert_eq!(e.len(), 1);
}

#[test]
fn an_array_past_64_bits_is_refused() {
    assert_eq!(
        errors(&src(
            &["    - { bar: 0, block: ctrl }"],
            &["    array: { count: 0x1000000000000000, stride: 0x40 }"]
        )),
        ["t.yaml:14:21: error: the array of block `ch` (1152921504606846976 elements, stride 0x40) \
          does not fit in 64 bits"]
    );
    assert_eq!(
        errors(&src(
            &["    - { bar: 0, block: ch, offset: 0xffffffffffffffc0 }"],
            &["    array: { count: 2, stride: 0x40 }"]
        )),
        ["t.yaml:6:36: error: block `ch` at offset 0xffffffffffffffc0 of BAR 0 (0x80 bytes) ends past 64 bits"]
    );
}

#[test]
fn bar_entry_keys_list_offset() {
    assert_eq!(
        errors(&src(&["    - { bar: 0, block: ctrl, ofset: 4 }"], &[])),
        ["t.yaml:6:30: error: unknown key `ofset` in a `pci.bars` entry; did you mean `offset`? \
          allowed keys: bar, block, offset"]
    );
}
