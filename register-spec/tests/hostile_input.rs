//! Defects found by feeding the parser hostile input (by hand and by the
//! fuzz target in `register-spec/fuzz`), each pinned by the exact output the
//! fixed parser gives: no arithmetic overflows, no error is printed twice,
//! and every error stays on one short line whatever the file contains.

/// The diagnostics of `src` as displayed, one string per error.
fn errors(src: &str) -> Vec<String> {
    match register_spec::parse(src, "t.yaml") {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

/// A device with one 4-byte block `b` holding one 32-bit register `R`
/// whose fields (lines 9 on) are `fields`.
fn fields(fields: &[&str]) -> String {
    let mut src =
        String::from("name: d\nblocks:\n  - name: b\n    size: 4\n    registers:\n      - name: R\n        offset: 0\n        fields:\n");
    for f in fields {
        src.push_str("          - ");
        src.push_str(f);
        src.push('\n');
    }
    src
}

// 1. Arithmetic on parsed numbers.

/// `msb - lsb + 1` overflowed for `msb = u64::MAX, lsb = 0` while checking
/// the field's named values (a panic in debug builds, a bogus "0-bit field"
/// error in release). The msb beyond the width is the one error.
#[test]
fn an_msb_at_the_top_of_u64_is_reported_as_beyond_the_width() {
    let expected = [
        "t.yaml:9:30: error: field `R.F` (bits 18446744073709551615:0) does not fit in 32-bit register `R` (bits 31:0)",
    ];
    for values in ["", ", values: [{ name: A, value: 1 }]"] {
        let src = fields(&[&format!(
            "{{ name: F, bits: \"18446744073709551615:0\"{values} }}"
        )]);
        assert_eq!(errors(&src), expected, "{src}");
    }
    // The same field unquoted, and one bit at the very top.
    let src =
        fields(&["{ name: F, bits: 0xffff_ffff_ffff_ffff, values: [{ name: A, value: 1 }] }"]);
    assert_eq!(
        errors(&src),
        ["t.yaml:9:30: error: field `R.F` (bit 18446744073709551615) does not fit in 32-bit register `R` (bits 31:0)"]
    );
}

/// The value check near the 64-bit edge: a 63-bit field holds at most
/// 2^63-1, a 64-bit field anything.
#[test]
fn values_of_the_widest_fields_are_checked_without_overflow() {
    let reg = |bits: &str, value: &str| {
        format!(
            "name: d\nblocks:\n  - name: b\n    size: 8\n    registers:\n      - name: R\n        offset: 0\n        width: 64\n        fields:\n          - {{ name: F, bits: \"{bits}\", values: [{{ name: A, value: {value} }}] }}\n"
        )
    };
    assert_eq!(
        errors(&reg("63:0", "0xffff_ffff_ffff_ffff")),
        [] as [&str; 0]
    );
    assert_eq!(
        errors(&reg("62:0", "0x7fff_ffff_ffff_ffff")),
        [] as [&str; 0]
    );
    assert_eq!(
        errors(&reg("62:0", "0x8000_0000_0000_0000")),
        ["t.yaml:10:65: error: value `R.F.A` = 0x8000000000000000 does not fit in 63-bit field `R.F` (at most 0x7fffffffffffffff)"]
    );
    assert_eq!(
        errors(&reg("63:63", "2")),
        ["t.yaml:10:66: error: value `R.F.A` = 2 does not fit in 1-bit field `R.F` (at most 1)"]
    );
}

/// The model's helpers take public fields, so a value built by hand may
/// break the parser's invariants; they saturate instead of overflowing.
#[test]
fn model_helpers_do_not_overflow_on_any_value() {
    let field = |msb: u32, lsb: u32| register_spec::Field {
        name: "F".into(),
        description: None,
        lsb,
        msb,
        access: None,
        self_clearing: false,
        values: Vec::new(),
        span: register_spec::Span::default(),
    };
    assert_eq!(field(u32::MAX, 0).bits(), u32::MAX);
    assert_eq!(field(u32::MAX, 0).mask(), u64::MAX);
    assert_eq!(field(0, 5).bits(), 1);
    assert_eq!(field(u32::MAX, u32::MAX).shifted_mask(), 0);
    assert_eq!(field(70, 64).shifted_mask(), 0);
    assert_eq!(field(63, 63).shifted_mask(), 1 << 63);

    let src = "name: d\nblocks:\n  - name: b\n    size: 0x100\n    registers:\n      - name: A\n        offset: 0xf0\n        array: { count: 4, stride: 4 }\n";
    let device = register_spec::parse(src, "t.yaml").unwrap();
    let reg = &device.blocks[0].registers[0];
    assert_eq!(reg.offset_of(3), 0xfc);
    assert_eq!(reg.offset_of(u64::MAX), u64::MAX);
    assert_eq!(reg.offset_of(u64::MAX / 4), u64::MAX);
}

// 2. Each error once.

/// A wide field overlapping two fields of the same name and bits printed
/// the same line twice.
#[test]
fn a_field_overlapping_two_same_named_fields_is_reported_once() {
    let src = fields(&[
        "{ name: F, bits: 3 }",
        "{ name: F, bits: 3 }",
        "{ name: G, bits: 7:0 }",
    ]);
    assert_eq!(
        errors(&src),
        [
            "t.yaml:10:21: error: duplicate field name `F` in register `R` (first declared at 9:21)",
            "t.yaml:11:30: error: field `R.G` (bits 7:0) overlaps field `R.F` (bit 3)",
        ]
    );
    // Distinct fields under one wide field are still each named.
    let src = fields(&[
        "{ name: F, bits: 3 }",
        "{ name: H, bits: 3 }",
        "{ name: G, bits: 7:0 }",
    ]);
    assert_eq!(
        errors(&src),
        [
            "t.yaml:11:30: error: field `R.G` (bits 7:0) overlaps field `R.F` (bit 3)",
            "t.yaml:11:30: error: field `R.G` (bits 7:0) overlaps field `R.H` (bit 3)",
        ]
    );
}

/// Whatever path produces them, identical errors are listed once.
#[test]
fn identical_diagnostics_are_listed_once() {
    let d = |line: usize, message: &str| {
        register_spec::Diagnostic::new("t.yaml", register_spec::Span { line, column: 1 }, message)
    };
    let all = register_spec::Diagnostics::new(vec![
        d(2, "b"),
        d(1, "a"),
        d(2, "c"),
        d(2, "b"),
        d(1, "a"),
    ]);
    assert_eq!(
        all.to_string(),
        "t.yaml:1:1: error: a\nt.yaml:2:1: error: b\nt.yaml:2:1: error: c"
    );
}

// 3. One short line per error.

/// A name written as a block scalar contains line breaks, which split the
/// error messages quoting it.
#[test]
fn a_block_scalar_name_is_quoted_on_one_line() {
    let src = "name: d\nblocks:\n  - name: |\n      b\n      c\n    size: 4\n    registers:\n      - name: R\n        offset: 0\n      - name: R\n        offset: 4\n";
    assert_eq!(
        errors(src),
        [
            "t.yaml:4:7: error: `b\\nc\\n` is not a valid block name: names must start with an ASCII letter or `_` and contain only ASCII letters, digits and `_`",
            "t.yaml:10:9: error: register `R` (bytes 0x4..=0x7) extends past the end of block `b\\nc\\n` (size 0x4)",
            "t.yaml:10:15: error: duplicate register name `R` in block `b\\nc\\n` (first declared at 8:15)",
        ]
    );
}

/// Control characters other than line breaks are escaped too, and the
/// list of block names in a BAR error is quoted the same way.
#[test]
fn control_characters_and_listed_names_are_escaped() {
    let src = "name: d\npci: { vendor: 1, device: 2, bars: [{ bar: 0, block: \"x\\ty\" }] }\nblocks:\n  - name: \"b\\r\\nc\\u0007\"\n    size: 4\n";
    assert_eq!(
        errors(src),
        [
            "t.yaml:2:54: error: BAR 0 names block `x\\ty`, which is not a block of this device; blocks: b\\r\\nc\\u{7}",
            "t.yaml:4:11: error: `b\\r\\nc\\u{7}` is not a valid block name: names must start with an ASCII letter or `_` and contain only ASCII letters, digits and `_`",
        ]
    );
}

/// A huge name is cut to 40 characters and `…` wherever it is quoted, so a
/// 100 KB name cannot flood the terminal.
#[test]
fn a_huge_name_is_shortened_everywhere() {
    let long = "n".repeat(100_000);
    let src = format!(
        "name: d\npci: {{ vendor: 1, device: 2, bars: [{{ bar: 0, block: nnn }}] }}\nblocks:\n  - name: {long}\n    size: 4\n    registers:\n      - name: {long}\n        offset: 4\n        fields:\n          - {{ name: {long}, bits: 40, values: [{{ name: {long}, value: 1 }}, {{ name: {long}, value: 1 }}] }}\n      - name: {long}\n        offset: 0\n  - name: {long}\n    size: 1\n"
    );
    let shown = format!("{}…", "n".repeat(40));
    let errors = errors(&src);
    assert_eq!(errors.len(), 7, "{errors:#?}");
    for e in &errors {
        assert!(e.len() < 400, "{e}");
        assert!(e.contains(&shown), "{e}");
    }
    assert_eq!(
        errors[0],
        format!("t.yaml:2:54: error: BAR 0 names block `nnn`, which is not a block of this device; did you mean `{shown}`? blocks: {shown}")
    );
}

/// A tag's text is quoted shortened like any other user text.
#[test]
fn a_huge_tag_is_shortened() {
    let src = format!("name: !{} d\n", "t".repeat(100_000));
    let errors = errors(&src);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(
        errors[1],
        format!(
            "t.yaml:1:7: error: YAML tags (`!{}…`) are not supported in register maps; quote a value to make it a string",
            "t".repeat(39)
        )
    );
}

/// Found by the fuzz target: a plain scalar continued over a blank line
/// holds a line break, and the list of block names in a BAR error quoted
/// it raw, splitting the error over two lines.
#[test]
fn fuzz_crash_block_list_with_a_multi_line_plain_name() {
    let src = "name: d\npci:\n  vendor: 1\n  device: 2\n  bars:\n    - bar: 0\n      block: cxtrl\nblocks:\n  - name: ctrl\n    size: 4\n  - name: window\n\n      - { $memory window.\n    size: 4\n";
    assert_eq!(
        errors(src),
        [
            "t.yaml:7:14: error: BAR 0 names block `cxtrl`, which is not a block of this device; did you mean `ctrl`? blocks: ctrl, window\\n- { $memory window.",
            "t.yaml:11:11: error: `window\\n- { $memory window.` is not a valid block name: names must start with an ASCII letter or `_` and contain only ASCII letters, digits and `_`",
        ]
    );
}
