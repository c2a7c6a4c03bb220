//! What a valid file turns into: defaults, implied values, spans, and the
//! `load` entry point.

use register_spec::{Access, Array, Span, Width};

const SOURCE: &str = "\
name: dev
blocks:
  - name: regs
    size: 0x1000
    registers:
      - name: PLAIN
        offset: 0
      - name: CNT
        offset: 0x0100_0004
        width: 16
        access: ro
        reset: 0b1010
        fields:
          - name: LOW
            bits: 0
            access: ro
          - name: ERRS
            bits: 15:8
            access: rc
      - name: POP
        offset: 0o10
        access: rc
      - name: TABLE
        offset: 0x100
        width: 64
        read_side_effects: true
        description: >
          Folded
          text.
        array: { count: 4, stride: 0x10 }
  - name: window
    description: 'quoted: string'
    size: 1_024
";

#[test]
fn defaults_and_implied_values() {
    // CNT's offset is outside the block: use a copy where it is inside.
    let src = SOURCE.replace("0x0100_0004", "0x4");
    let d = register_spec::parse(&src, "m.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.name, "dev");
    assert!(d.pci.is_none());
    let regs = &d.blocks[0];
    assert_eq!(regs.span, Span { line: 3, column: 5 });

    let plain = regs.register("PLAIN").unwrap();
    assert_eq!(plain.width, Width::W32);
    assert_eq!(plain.access, Access::ReadWrite);
    assert!(!plain.read_side_effects);
    assert_eq!((plain.reset, plain.reset_given), (0, false));
    assert_eq!(plain.array, None);
    assert_eq!(plain.span, Span { line: 6, column: 9 });

    let cnt = regs.register("CNT").unwrap();
    assert_eq!(cnt.offset, 4);
    assert_eq!((cnt.reset, cnt.reset_given), (10, true));
    // An rc field gives its register read side effects.
    assert!(cnt.read_side_effects);
    // A field with its register's own kind has no override.
    assert_eq!(cnt.field("LOW").unwrap().access, None);
    let errs = cnt.field("ERRS").unwrap();
    assert_eq!((errs.msb, errs.lsb), (15, 8));
    assert_eq!(errs.access, Some(Access::ReadClear));
    assert_eq!(
        errs.span,
        Span {
            line: 17,
            column: 13
        }
    );

    // rc implies read side effects.
    let pop = regs.register("POP").unwrap();
    assert_eq!(pop.offset, 8);
    assert!(pop.read_side_effects);

    let table = regs.register("TABLE").unwrap();
    assert_eq!(
        table.array,
        Some(Array {
            count: 4,
            stride: 16
        })
    );
    assert!(table.read_side_effects);
    assert_eq!(table.description.as_deref(), Some("Folded text.\n"));
    assert_eq!(table.offset_of(3), 0x130);

    let window = d.block("window").unwrap();
    assert!(window.registers.is_empty());
    assert_eq!(window.size, 1024);
    assert_eq!(window.description.as_deref(), Some("quoted: string"));
}

#[test]
fn the_unmodified_source_is_rejected() {
    let e = register_spec::parse(SOURCE, "m.yaml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "m.yaml:8:9: error: register `CNT` (bytes 0x1000004..=0x1000005) extends past the end of block `regs` (size 0x1000)"
    );
}

#[test]
fn flow_style_and_quoted_bits() {
    let d = register_spec::parse(
        "{name: d, blocks: [{name: b, size: 8, registers: [{name: R, offset: 0, width: 8, \
         fields: [{name: F, bits: \"7:4\"}, {name: G, bits: '3'}]}]}]}",
        "f.yaml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = &d.blocks[0].registers[0];
    assert_eq!((r.fields[0].msb, r.fields[0].lsb), (7, 4));
    assert_eq!((r.fields[1].msb, r.fields[1].lsb), (3, 3));
}

#[test]
fn pci_identity() {
    let d = register_spec::parse(
        "name: d\npci:\n  vendor: 0xffff\n  device: 0\n  bars:\n    - bar: 5\n      block: b\nblocks: [{name: b, size: 1}]\n",
        "p.yaml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let pci = d.pci.unwrap();
    assert_eq!((pci.vendor, pci.device), (0xffff, 0));
    assert_eq!(pci.bars[0].bar, 5);
    assert_eq!(pci.bars[0].block, "b");
    assert_eq!(pci.bars[0].span, Span { line: 6, column: 7 });
}

#[test]
fn device_spec_files_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../device-specs/specs");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            register_spec::load(&path).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[test]
fn load_reports_unreadable_files() {
    let e = register_spec::load("/nonexistent/dir/x.yaml").unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].file, "/nonexistent/dir/x.yaml");
    assert_eq!(e[0].span, Span { line: 1, column: 1 });
    assert!(
        e[0].message.starts_with("cannot read the file: "),
        "{}",
        e[0].message
    );
}

#[test]
fn load_reports_invalid_utf8_where_it_is() {
    let dir = std::env::temp_dir().join(format!("register-spec-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.yaml");
    std::fs::write(&path, b"name: d\nblocks: [\xff]\n").unwrap();
    let e = register_spec::load(&path).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2:10: error: the file is not valid UTF-8; register maps are UTF-8 text",
            path.display()
        )
    );
}

#[test]
fn diagnostics_are_errors() {
    fn is_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
    let e = register_spec::parse("", "x").unwrap_err();
    is_error(&e);
    is_error(&e[0]);
}

#[test]
fn byte_order_mark_and_crlf_line_ends() {
    let src = "\u{feff}name: d\r\nblocks:\r\n  - name: b\r\n    size: 4\r\n    registers:\r\n      - { name: R, offset: 0 }\r\n";
    let d = register_spec::parse(src, "w.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.blocks[0].registers[0].span, Span { line: 6, column: 9 });
    let e = register_spec::parse(
        &src.replace("offset: 0", "offset: 2")
            .replace("size: 4", "size: 8"),
        "w.yaml",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "w.yaml:6:28: error: offset 0x2 of register `R` is not a multiple of 4: 32-bit registers must be aligned to their width"
    );
}

#[test]
fn strings_may_be_any_scalar() {
    let d = register_spec::parse(
        "\"name\": d\ndescription: 42\nblocks: [{name: b, size: 4, description: yes}]\n",
        "s.yaml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.description.as_deref(), Some("42"));
    assert_eq!(d.blocks[0].description.as_deref(), Some("yes"));
}
