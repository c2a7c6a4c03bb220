//! The rendered form of the diagnostics (rustc's: the source line, the
//! place underlined, notes at other places) for typical mistakes, as exact
//! text, and the one-line form beside it.

/// The one-line form and the rendered form (no colour) of `source`'s errors.
fn both(source: &[&str], file: &str) -> (String, String) {
    let source = source.join("\n") + "\n";
    let errors = register_spec::parse(&source, file).unwrap_err();
    (errors.to_string(), errors.render(&source, false))
}

fn check(source: &[&str], file: &str, short: &str, rich: &str) {
    let (s, r) = both(source, file);
    assert_eq!(s, short, "one-line form");
    assert_eq!(r, rich, "rendered form:\n{r}");
}

/// An unknown key, with the key it is probably a misspelling of.
#[test]
fn unknown_key() {
    check(
        &[
            "name: demo",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "    registers:",
            "      - name: CTRL",
            "        offest: 0x0",
        ],
        "unknown_key.yaml",
        "unknown_key.yaml:7:9: error: unknown key `offest` in register `CTRL`; did you mean `offset`? allowed keys: name, description, offset, width, access, read_side_effects, write_side_effects, field_writes, reset, array, access_width, access_order, consistent_read, fields",
        r#"error: unknown key `offest` in register `CTRL`; did you mean `offset`? allowed keys: name, description, offset, width, access, read_side_effects, write_side_effects, field_writes, reset, array, access_width, access_order, consistent_read, fields
 --> unknown_key.yaml:7:9
  |
7 |         offest: 0x0
  |         ^^^^^^"#,
    );
}

/// A duplicate register name, with a note at the first declaration.
#[test]
fn duplicate_register() {
    check(
        &[
            "name: demo",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "    registers:",
            "      - name: CTRL",
            "        offset: 0x0",
            "      - name: STATUS",
            "        offset: 0x4",
            "      - name: CTRL",
            "        offset: 0x8",
        ],
        "duplicate_register.yaml",
        "duplicate_register.yaml:10:15: error: duplicate register name `CTRL` in block `regs` (first declared at 6:15)",
        r#"error: duplicate register name `CTRL` in block `regs` (first declared at 6:15)
  --> duplicate_register.yaml:10:15
   |
 6 |       - name: CTRL
   |               ---- first declared here
...
10 |       - name: CTRL
   |               ^^^^"#,
    );
}

/// Overlapping registers: the later one, and the other one as a note.
#[test]
fn overlapping_registers() {
    check(
        &[
            "name: demo",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "    registers:",
            "      - name: CTRL",
            "        offset: 0x0",
            "      - name: STATUS",
            "        offset: 0x4",
            "      - { name: DATA, offset: 0x2, width: 16 }",
        ],
        "overlapping_registers.yaml",
        "overlapping_registers.yaml:10:9: error: register `DATA` (bytes 0x2..=0x3) overlaps register `CTRL` (bytes 0x0..=0x3)",
        r#"error: register `DATA` (bytes 0x2..=0x3) overlaps register `CTRL` (bytes 0x0..=0x3)
  --> overlapping_registers.yaml:10:9
   |
 6 |       - name: CTRL
   |         ---------- register `CTRL` is here
...
10 |       - { name: DATA, offset: 0x2, width: 16 }
   |         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"#,
    );
}

/// A misaligned offset: one error, not also an overlap computed from it.
#[test]
fn misaligned_offset() {
    check(
        &[
            "name: demo",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "    registers:",
            "      - name: CTRL",
            "        offset: 0x0",
            "      - name: STATUS",
            "        offset: 0x2",
        ],
        "misaligned_offset.yaml",
        "misaligned_offset.yaml:9:17: error: offset 0x2 of register `STATUS` is not a multiple of 4: 32-bit registers must be aligned to their width",
        r#"error: offset 0x2 of register `STATUS` is not a multiple of 4: 32-bit registers must be aligned to their width
 --> misaligned_offset.yaml:9:17
  |
9 |         offset: 0x2
  |                 ^^^"#,
    );
}

/// A field beyond its register's width.
#[test]
fn field_out_of_range() {
    check(
        &[
            "name: demo",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "    registers:",
            "      - name: CTRL",
            "        offset: 0x0",
            "        width: 8",
            "        fields:",
            "          - { name: MODE, bits: 9:8 }",
        ],
        "field_out_of_range.yaml",
        "field_out_of_range.yaml:10:33: error: field `CTRL.MODE` (bits 9:8) does not fit in 8-bit register `CTRL` (bits 7:0)",
        r#"error: field `CTRL.MODE` (bits 9:8) does not fit in 8-bit register `CTRL` (bits 7:0)
  --> field_out_of_range.yaml:10:33
   |
10 |           - { name: MODE, bits: 9:8 }
   |                                 ^^^"#,
    );
}

/// An access kind that does not exist.
#[test]
fn bad_access() {
    check(
        &[
            "name: demo",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "    registers:",
            "      - name: CTRL",
            "        offset: 0x0",
            "        access: rx",
        ],
        "bad_access.yaml",
        "bad_access.yaml:8:17: error: `access` of register `CTRL` must be one of ro, wo, rw, rc, w1c, w1s, found `rx`",
        r#"error: `access` of register `CTRL` must be one of ro, wo, rw, rc, w1c, w1s, found `rx`
 --> bad_access.yaml:8:17
  |
8 |         access: rx
  |                 ^^"#,
    );
}

/// An unclosed `{`, where it was opened (the parser stops lines later).
#[test]
fn unclosed_brace() {
    check(
        &[
            "name: demo",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "    registers:",
            "      - name: CTRL",
            "        offset: 0x0",
            "        fields:",
            "          - { name: ENABLE, bits: 0",
            "          - { name: RESET, bits: 1 }",
            "      - name: STATUS",
            "        offset: 0x4",
        ],
        "unclosed_brace.yaml",
        "unclosed_brace.yaml:9:13: error: YAML syntax error: unclosed `{` opened here; end the mapping with `}` (the YAML parser stopped at 11:7: invalid indentation)",
        r#"error: YAML syntax error: unclosed `{` opened here; end the mapping with `}` (the YAML parser stopped at 11:7: invalid indentation)
  --> unclosed_brace.yaml:9:13
   |
 9 |           - { name: ENABLE, bits: 0
   |             ^
10 |           - { name: RESET, bits: 1 }
11 |       - name: STATUS
   |       - the YAML parser stopped here"#,
    );
}

/// An unclosed `[`, where it was opened.
#[test]
fn unclosed_bracket() {
    check(
        &[
            "name: demo",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "    registers:",
            "      - name: CTRL",
            "        offset: 0x0",
            "        fields: [ { name: ENABLE, bits: 0 }",
            "      - name: STATUS",
            "        offset: 0x4",
        ],
        "unclosed_bracket.yaml",
        "unclosed_bracket.yaml:8:17: error: YAML syntax error: unclosed `[` opened here; end the list with `]` (the YAML parser stopped at 9:7: invalid indentation)",
        r#"error: YAML syntax error: unclosed `[` opened here; end the list with `]` (the YAML parser stopped at 9:7: invalid indentation)
 --> unclosed_bracket.yaml:8:17
  |
8 |         fields: [ { name: ENABLE, bits: 0 }
  |                 ^
9 |       - name: STATUS
  |       - the YAML parser stopped here"#,
    );
}

/// An unterminated quoted string, at its opening quote.
#[test]
fn unterminated_string() {
    check(
        &[
            "name: demo",
            "description: \"a demo device",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
        ],
        "unterminated_string.yaml",
        "unterminated_string.yaml:2:14: error: YAML syntax error: unterminated quoted string; end it with `\"`",
        r#"error: YAML syntax error: unterminated quoted string; end it with `"`
 --> unterminated_string.yaml:2:14
  |
2 | description: "a demo device
  |              ^"#,
    );
}

/// A tab in the indentation, at the tab (shown as four spaces, underlined as such).
#[test]
fn tab_indentation() {
    check(
        &[
            "name: demo",
            "blocks:",
            "  - name: regs",
            "\tsize: 0x10",
        ],
        "tab_indentation.yaml",
        "tab_indentation.yaml:4:1: error: YAML syntax error: a tab where YAML allows only spaces; indent with spaces (the YAML parser stopped at 3:11: while scanning a plain scalar, found a tab)",
        r#"error: YAML syntax error: a tab where YAML allows only spaces; indent with spaces (the YAML parser stopped at 3:11: while scanning a plain scalar, found a tab)
 --> tab_indentation.yaml:4:1
  |
3 |   - name: regs
  |           - the YAML parser stopped here
4 |     size: 0x10
  | ^^^^"#,
    );
}

/// A number over 64 bits is too large, not "not a number".
#[test]
fn number_too_large() {
    check(
        &[
            "name: demo",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "    registers:",
            "      - name: CTRL",
            "        offset: 0x1_0000_0000_0000_0000",
        ],
        "number_too_large.yaml",
        "number_too_large.yaml:7:17: error: `offset` of register `CTRL` is too large: `0x1_0000_0000_0000_0000` does not fit in 64 bits",
        r#"error: `offset` of register `CTRL` is too large: `0x1_0000_0000_0000_0000` does not fit in 64 bits
 --> number_too_large.yaml:7:17
  |
7 |         offset: 0x1_0000_0000_0000_0000
  |                 ^^^^^^^^^^^^^^^^^^^^^^^"#,
    );
}

/// Two names that generate the same Rust accessor, with the first as a note.
#[test]
fn name_clash() {
    check(
        &[
            "name: demo",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "    registers:",
            "      - name: IntrMask",
            "        offset: 0x0",
            "      - name: INTR_MASK",
            "        offset: 0x4",
        ],
        "name_clash.yaml",
        "name_clash.yaml:8:15: error: registers `IntrMask` and `INTR_MASK` would both generate the accessor `intr_mask()` (first at 6:15); rename one",
        r#"error: registers `IntrMask` and `INTR_MASK` would both generate the accessor `intr_mask()` (first at 6:15); rename one
 --> name_clash.yaml:8:15
  |
6 |       - name: IntrMask
  |               -------- register `IntrMask` is declared here
7 |         offset: 0x0
8 |       - name: INTR_MASK
  |               ^^^^^^^^^"#,
    );
}

/// Columns count characters: the caret stays under the value after multi-byte characters and tabs.
#[test]
fn columns_count_characters_under_multibyte_text_and_tabs() {
    check(
        &[
            "name: demo # ünïcode",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "    registers:",
            "      - { name: ÉTAT,\toffset: 0x0,\twidth: 12 }",
        ],
        "multibyte_and_tabs.yaml",
        "multibyte_and_tabs.yaml:6:17: error: `ÉTAT` is not a valid register name: names must start with an ASCII letter or `_` and contain only ASCII letters, digits and `_`
multibyte_and_tabs.yaml:6:43: error: `width` of register `ÉTAT` must be 8, 16, 32 or 64, found `12`",
        r#"error: `ÉTAT` is not a valid register name: names must start with an ASCII letter or `_` and contain only ASCII letters, digits and `_`
 --> multibyte_and_tabs.yaml:6:17
  |
6 |       - { name: ÉTAT,    offset: 0x0,    width: 12 }
  |                 ^^^^

error: `width` of register `ÉTAT` must be 8, 16, 32 or 64, found `12`
 --> multibyte_and_tabs.yaml:6:43
  |
6 |       - { name: ÉTAT,    offset: 0x0,    width: 12 }
  |                                                 ^^"#,
    );
}

/// Nesting past the parser's own limit (255 flow levels) still gives the
/// documented error, for flow lists and flow mappings, with no claim of an
/// unclosed bracket.
#[test]
fn deep_flow_nesting_is_the_documented_error() {
    for source in [
        "[".repeat(100_000),
        "{a: ".repeat(100_000),
        format!("x: {}", "[".repeat(300)),
    ] {
        let errors = register_spec::parse(&source, "t.yaml").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors}");
        assert!(
            errors[0]
                .message
                .starts_with("YAML nested deeper than 32 levels"),
            "{errors}"
        );
    }
}

/// Without the source (a file that could not be read), an error is its
/// message and position.
#[test]
fn without_source_only_the_position() {
    let d = register_spec::Diagnostics::new(vec![register_spec::Diagnostic::new(
        "gone.yaml",
        register_spec::Span { line: 1, column: 1 },
        "cannot read the file: No such file or directory",
    )]);
    assert_eq!(
        d.render("", false),
        "error: cannot read the file: No such file or directory\n--> gone.yaml:1:1"
    );
}

/// With colour, the text has ANSI escapes; without, none.
#[test]
fn colour_only_when_asked() {
    let source = "name: demo\nblocks: []\n";
    let errors = register_spec::parse(source, "t.yaml").unwrap_err();
    assert!(!errors.render(source, false).contains('\x1b'));
    assert!(errors.render(source, true).contains('\x1b'));
}
