//! Parses the register maps shipped in `device-specs` at build time and
//! writes Rust code that builds their validated models directly, so that
//! `--spec edu` costs no YAML parsing at run time (the parse dominates a
//! single `regpoke read`, especially under emulation). The parser and
//! validator are still `register-spec`'s; a unit test checks that the
//! prebuilt models equal a run-time parse. Descriptions are left out:
//! only `spec doc` shows them, and it parses the YAML, so a read does not
//! allocate and copy a few kilobytes of prose it never prints.

use std::fmt::Write as _;
use std::path::PathBuf;

use register_spec::{Block, Device, EnumValue, Field, Register, Span};

fn s(v: &str) -> String {
    format!("String::from({v:?})")
}

fn span(sp: Span) -> String {
    format!("Span {{ line: {}, column: {} }}", sp.line, sp.column)
}

fn value(v: &EnumValue) -> String {
    format!(
        "EnumValue {{ name: {}, value: {:#x}, description: None, span: {} }}",
        s(&v.name),
        v.value,
        span(v.span)
    )
}

fn field(f: &Field) -> String {
    format!(
        "Field {{ name: {}, description: None, lsb: {}, msb: {}, access: {}, self_clearing: {}, values: vec![{}], span: {} }}",
        s(&f.name),
        f.lsb,
        f.msb,
        match f.access {
            Some(a) => format!("Some(Access::{a:?})"),
            None => "None".into(),
        },
        f.self_clearing,
        f.values.iter().map(value).collect::<Vec<_>>().join(", "),
        span(f.span)
    )
}

fn register(r: &Register) -> String {
    format!(
        "Register {{ name: {}, description: None, offset: {:#x}, width: Width::{:?}, access: Access::{:?}, \
         read_side_effects: {}, write_side_effects: {}, field_writes: FieldWrites::{:?}, reset: {:#x}, \
         reset_given: {}, fields: vec![{}], array: {}, span: {} }}",
        s(&r.name),
        r.offset,
        r.width,
        r.access,
        r.read_side_effects,
        r.write_side_effects,
        r.field_writes,
        r.reset,
        r.reset_given,
        r.fields.iter().map(field).collect::<Vec<_>>().join(", "),
        match r.array {
            Some(a) => format!("Some(Array {{ count: {}, stride: {} }})", a.count, a.stride),
            None => "None".into(),
        },
        span(r.span)
    )
}

fn block(b: &Block) -> String {
    format!(
        "Block {{ name: {}, description: None, size: {:#x}, registers: vec![{}], span: {} }}",
        s(&b.name),
        b.size,
        b.registers
            .iter()
            .map(register)
            .collect::<Vec<_>>()
            .join(", "),
        span(b.span)
    )
}

fn device(d: &Device) -> String {
    let pci = match &d.pci {
        Some(p) => format!(
            "Some(PciIdentity {{ vendor: {:#x}, device: {:#x}, bars: vec![{}] }})",
            p.vendor,
            p.device,
            p.bars
                .iter()
                .map(|b| format!(
                    "BarBinding {{ bar: {}, block: {}, span: {} }}",
                    b.bar,
                    s(&b.block),
                    span(b.span)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "None".into(),
    };
    format!(
        "Device {{ name: {}, description: None, pci: {pci}, blocks: vec![{}] }}",
        s(&d.name),
        d.blocks.iter().map(block).collect::<Vec<_>>().join(", ")
    )
}

/// The write-rule matrix: one register for every combination of register
/// kind, target-field kind, neighbour-field kind and `field_writes` mode
/// that the format accepts, as a YAML map, the code register-codegen
/// generates from it, and a table of cases for `tests/write_rule_matrix.rs`,
/// which runs each case through the generated `modify` and through
/// `regpoke write` and compares the stored values bit for bit.
fn write_rule_matrix(out: &std::path::Path) {
    use std::collections::HashSet;
    let kinds = ["ro", "wo", "rw", "rc", "w1c", "w1s"];
    // (kind, self_clearing)
    let targets = [
        ("wo", false),
        ("rw", false),
        ("w1c", false),
        ("w1s", false),
        ("rw", true),
    ];
    let neighbours = [
        None,
        Some(("ro", false)),
        Some(("wo", false)),
        Some(("rw", false)),
        Some(("rc", false)),
        Some(("w1c", false)),
        Some(("w1s", false)),
        Some(("rw", true)),
    ];
    // Lower-case names: the accessor is the register name as is.
    let label = |(k, sc): (&str, bool)| format!("{k}{}", if sc { "sc" } else { "" });
    let field = |name: &str, bits: &str, (k, sc): (&str, bool)| {
        format!(
            "          - {{ name: {name}, bits: '{bits}', access: {k}{} }}\n",
            if sc { ", self_clearing: true" } else { "" }
        )
    };
    struct Candidate {
        name: String,
        width: u32,
        extra: String,
        fields: String,
        access: String,
        n_writable: bool,
    }
    let mut candidates = Vec::new();
    for ra in kinds {
        for t in targets {
            for n in neighbours {
                for mode in [None, Some("from_reset")] {
                    let mut name = format!("{ra}_t_{}", label(t));
                    if let Some(n) = n {
                        name.push_str(&format!("_n_{}", label(n)));
                    }
                    if mode.is_some() {
                        name.push_str("_fr");
                    }
                    let mut fields = field("T", "1:0", t);
                    if let Some(n) = n {
                        fields.push_str(&field("N", "5:4", n));
                    }
                    candidates.push(Candidate {
                        name,
                        width: 32,
                        extra: mode
                            .map(|m| format!("        field_writes: {m}\n"))
                            .unwrap_or_default(),
                        fields,
                        access: ra.to_string(),
                        n_writable: n.is_some_and(|(k, _)| !matches!(k, "ro" | "rc")),
                    });
                }
            }
        }
    }
    // Widths, side-effect flags and a register without fields.
    for (name, width, extra) in [
        ("w8", 8, ""),
        ("w16", 16, ""),
        ("w64", 64, ""),
        ("rse", 32, "        read_side_effects: true\n"),
        ("wse", 32, "        write_side_effects: true\n"),
        (
            "wse_rmw",
            32,
            "        write_side_effects: true\n        field_writes: read_modify_write\n",
        ),
    ] {
        candidates.push(Candidate {
            name: name.to_string(),
            width,
            extra: extra.to_string(),
            fields: field("T", "1:0", ("rw", false)) + &field("N", "5:4", ("wo", false)),
            access: "rw".into(),
            n_writable: true,
        });
    }
    candidates.push(Candidate {
        name: "plain".into(),
        width: 32,
        extra: String::new(),
        fields: String::new(),
        access: "rw".into(),
        n_writable: false,
    });

    let reg_yaml = |c: &Candidate, offset: usize| {
        let reset = match c.width {
            8 => 0x5a,
            16 => 0x5a5a,
            32 => 0x5a5a_5a5a,
            _ => 0x5a5a_5a5a_5a5a_5a5a_u64,
        };
        format!(
            "      - name: {}\n        offset: {offset:#x}\n        width: {}\n        access: {}\n        reset: {reset:#x}\n{}{}",
            c.name,
            c.width,
            c.access,
            c.extra,
            if c.fields.is_empty() { String::new() } else { format!("        fields:\n{}", c.fields) }
        )
    };
    let head = |size: usize| {
        format!("name: matrix\nblocks:\n  - name: regs\n    size: {size:#x}\n    registers:\n")
    };
    let mut seen = HashSet::new();
    let mut body = String::new();
    let mut table = String::new();
    let mut offset = 0usize;
    for c in &candidates {
        // Keep the combinations the format accepts, once per distinct rule.
        let one = head(8) + &reg_yaml(c, 0);
        let Ok(d) = register_spec::parse(&one, "matrix.yaml") else {
            continue;
        };
        let r = &d.blocks[0].registers[0];
        if !r.can_write() {
            continue;
        }
        let rule = r.write_rule();
        if !seen.insert((c.name.trim_end_matches("_fr").to_string(), rule)) {
            continue;
        }
        body.push_str(&reg_yaml(c, offset));
        let ty = format!("u{}", c.width);
        let m = format!("matrix::regs::{}", c.name);
        let acc = &c.name;
        let has_fields = !c.fields.is_empty();
        let t_forms = if has_fields {
            format!("0 => r.modify({m}::T.val(2)), 1 => r.modify({m}::T.val(0)),")
        } else {
            String::new()
        };
        let n_forms = if c.n_writable {
            format!("2 => r.modify({m}::N.val(1)), 3 => r.modify({m}::T.val(1) + {m}::N.val(2)),")
        } else {
            String::new()
        };
        let _ = writeln!(
            table,
            "    Case {{ name: {:?}, offset: {offset:#x}, width: {}, forms: &[{}], modify: |io: &mut FakeIo, form: usize| {{ \
             #[allow(unused_mut)] let mut regs = matrix::Regs::new(io).unwrap(); let r = regs.{acc}(); \
             match form {{ {t_forms} {n_forms} 4 => r.modify(FieldValue::<{ty}, {m}::Register>::new(0xc0, 0, 0x40)), _ => unreachable!() }} }} }},",
            c.name,
            c.width,
            match (has_fields, c.n_writable) {
                (true, true) => "0, 1, 2, 3, 4",
                (true, false) => "0, 1, 4",
                _ => "4",
            }
        );
        offset += 8;
    }
    let yaml = head(offset) + &body;
    let device = register_spec::parse(&yaml, "write_rule_matrix.yaml")
        .unwrap_or_else(|e| panic!("write-rule matrix is invalid:\n{e}"));
    let code = register_codegen::generate(&device, "write_rule_matrix.yaml")
        .unwrap_or_else(|e| panic!("write-rule matrix does not generate:\n{e}"));
    std::fs::write(out.join("write_rule_matrix.yaml"), &yaml).expect("writing the matrix map");
    std::fs::write(out.join("write_rule_matrix.rs"), code).expect("writing the matrix code");
    std::fs::write(
        out.join("write_rule_cases.rs"),
        format!("/// Every case of the matrix.\nconst CASES: &[Case] = &[\n{table}];\n"),
    )
    .expect("writing the matrix cases");
}

fn main() {
    let mut out = String::from(
        "// Generated by build.rs from device_specs::SPECS; do not edit.\n\
         /// The prebuilt model of the shipped map `name`, if there is one.\n\
         #[allow(clippy::all)]\n\
         pub fn prebuilt(name: &str) -> Option<Device> {\n    match name {\n",
    );
    for spec in device_specs::SPECS {
        let d = register_spec::parse(spec.yaml, spec.file)
            .unwrap_or_else(|e| panic!("shipped spec {} is invalid:\n{e}", spec.name));
        let _ = writeln!(out, "        {:?} => Some({}),", spec.name, device(&d));
    }
    out.push_str("        _ => None,\n    }\n}\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("prebuilt_specs.rs");
    std::fs::write(&dest, out).expect("writing prebuilt_specs.rs");
    if let Some(dir) = dest.parent() {
        write_rule_matrix(dir);
    }
    println!("cargo::rerun-if-changed=build.rs");
}
