//! The complete example in `docs/spec-format.md` parses, and uses every
//! feature of the format (so the documentation and the parser cannot drift).

use register_spec::{Access, Width};

/// The first ```yaml block of the format documentation.
fn doc_example() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/spec-format.md");
    let doc = std::fs::read_to_string(path).expect("docs/spec-format.md");
    let start = doc.find("```yaml\n").expect("a ```yaml block") + "```yaml\n".len();
    let len = doc[start..]
        .find("```")
        .expect("the end of the ```yaml block");
    doc[start..start + len].to_string()
}

#[test]
fn complete_example_parses_and_uses_every_feature() {
    let device = register_spec::parse(&doc_example(), "docs/spec-format.md")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(device.description.is_some());

    let pci = device.pci.as_ref().expect("pci");
    assert_eq!(pci.bars.len(), 2, "two BARs");
    for bar in &pci.bars {
        assert!(device.block(&bar.block).is_some());
    }
    assert!(
        device.blocks.iter().any(|b| b.registers.is_empty()),
        "a memory-window block"
    );

    let registers: Vec<_> = device.blocks.iter().flat_map(|b| &b.registers).collect();
    for width in [Width::W8, Width::W16, Width::W32, Width::W64] {
        assert!(
            registers.iter().any(|r| r.width == width),
            "width {width:?}"
        );
    }
    for (name, access) in Access::ALL {
        assert!(
            registers.iter().any(|r| r.access == access),
            "a `{name}` register"
        );
    }
    assert!(registers.iter().any(|r| r.array.is_some()), "an array");
    assert!(registers.iter().any(|r| r.reset_given), "a reset value");
    assert!(
        registers
            .iter()
            .any(|r| r.read_side_effects && r.access != Access::ReadClear),
        "read_side_effects on a register that is not rc"
    );
    let fields: Vec<_> = registers.iter().flat_map(|r| &r.fields).collect();
    assert!(
        fields.iter().any(|f| !f.values.is_empty()),
        "enumerated values"
    );
    assert!(
        fields.iter().any(|f| f.access.is_some()),
        "a field access override"
    );
    assert!(
        fields.iter().any(|f| f.access == Some(Access::ReadClear)),
        "an rc field"
    );
    assert!(fields.iter().any(|f| f.msb == f.lsb), "a single-bit field");
    assert!(fields.iter().any(|f| f.msb > f.lsb), "a bit range");
}
