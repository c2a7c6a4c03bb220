//! Parses the register maps shipped in `device-specs` at build time and
//! stores their validated models (`register_spec::Device`, serialized with
//! postcard) in the binary, so that `--spec edu` costs no YAML parsing at
//! run time (the parse dominates a single `regpoke read`, especially under
//! emulation). The parser, the validator and the model type are
//! `register-spec`'s own; a unit test checks that the embedded models
//! equal a run-time parse. Descriptions are left out: only `spec doc` shows
//! them, and it parses the YAML.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One register of the write-rule matrix, before the format has judged it.
struct Candidate {
    name: String,
    width: u32,
    /// Register keys beyond name, offset, width, access and reset.
    extra: String,
    /// The `fields:` list (empty for a register without fields).
    fields: String,
    access: String,
    /// Whether the neighbour field `N` can be written.
    n_writable: bool,
}

/// A field line of the matrix YAML; `(kind, self_clearing)`.
fn matrix_field(name: &str, bits: &str, (k, sc): (&str, bool)) -> String {
    format!(
        "          - {{ name: {name}, bits: '{bits}', access: {k}{} }}\n",
        if sc { ", self_clearing: true" } else { "" }
    )
}

/// Every combination of register kind, target-field kind (`T`, bits 1:0),
/// neighbour-field kind (`N`, bits 5:4) and `field_writes` mode, then the
/// widths, the side-effect flags and a register without fields. Names are
/// lower-case so that the accessor is the register name as is.
fn matrix_candidates() -> Vec<Candidate> {
    let kinds = ["ro", "wo", "rw", "rc", "w1c", "w1s"];
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
    let label = |(k, sc): (&str, bool)| format!("{k}{}", if sc { "sc" } else { "" });
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
                    let mut fields = matrix_field("T", "1:0", t);
                    if let Some(n) = n {
                        fields.push_str(&matrix_field("N", "5:4", n));
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
            fields: matrix_field("T", "1:0", ("rw", false))
                + &matrix_field("N", "5:4", ("wo", false)),
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
    candidates
}

impl Candidate {
    /// The register's YAML at `offset`, reset value 0x5a… of its width.
    fn yaml(&self, offset: usize) -> String {
        let reset = match self.width {
            8 => 0x5a,
            16 => 0x5a5a,
            32 => 0x5a5a_5a5a,
            _ => 0x5a5a_5a5a_5a5a_5a5a_u64,
        };
        format!(
            "      - name: {}\n        offset: {offset:#x}\n        width: {}\n        access: {}\n        reset: {reset:#x}\n{}{}",
            self.name,
            self.width,
            self.access,
            self.extra,
            if self.fields.is_empty() { String::new() } else { format!("        fields:\n{}", self.fields) }
        )
    }

    /// The register's line of the test's `CASES` table: the write forms
    /// that apply to it, and a function doing each through generated code.
    fn case(&self, offset: usize) -> String {
        let ty = format!("u{}", self.width);
        let m = format!("matrix::regs::{}", self.name);
        let acc = &self.name;
        let has_fields = !self.fields.is_empty();
        let t_forms = if has_fields {
            format!("0 => r.modify({m}::T.val(2)), 1 => r.modify({m}::T.val(0)),")
        } else {
            String::new()
        };
        let n_forms = if self.n_writable {
            format!("2 => r.modify({m}::N.val(1)), 3 => r.modify({m}::T.val(1) + {m}::N.val(2)),")
        } else {
            String::new()
        };
        format!(
            "    Case {{ name: {:?}, offset: {offset:#x}, width: {}, forms: &[{}], modify: |io: &mut FakeIo, form: usize| {{ \
             #[allow(unused_mut)] let mut regs = matrix::Regs::new(io).unwrap(); let r = regs.{acc}(); \
             match form {{ {t_forms} {n_forms} 4 => r.modify(FieldValue::<{ty}, {m}::Register>::new(0xc0, 0, 0x40)), _ => unreachable!() }} }} }},",
            self.name,
            self.width,
            match (has_fields, self.n_writable) {
                (true, true) => "0, 1, 2, 3, 4",
                (true, false) => "0, 1, 4",
                _ => "4",
            }
        )
    }
}

/// The write-rule matrix: the candidates the format accepts (once per
/// distinct rule), as a YAML map, the code register-codegen generates from
/// it, and a table of cases for `tests/write_rule_matrix.rs`, which runs
/// each case through the generated `modify` and through `regpoke write`
/// and compares the stored values bit for bit.
fn write_rule_matrix(out: &std::path::Path) {
    let head = |size: usize| {
        format!("name: matrix\nblocks:\n  - name: regs\n    size: {size:#x}\n    registers:\n")
    };
    let mut seen = std::collections::HashSet::new();
    let mut body = String::new();
    let mut table = String::new();
    let mut offset = 0usize;
    for c in matrix_candidates() {
        let one = head(8) + &c.yaml(0);
        let Ok(d) = register_spec::parse(&one, "matrix.yaml") else {
            continue;
        };
        let r = &d.blocks[0].registers[0];
        if !r.can_write() {
            continue;
        }
        if !seen.insert((c.name.trim_end_matches("_fr").to_string(), r.write_rule())) {
            continue;
        }
        body.push_str(&c.yaml(offset));
        let _ = writeln!(table, "{}", c.case(offset));
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

/// The code register-codegen generates for the four-channel map of the
/// downstream fixture, which tests/block_layout.rs drives beside regpoke.
fn block_layout_fixture(out: &Path) {
    let yaml = "../fixtures/downstream-crate/regs/dmac.yaml";
    println!("cargo::rerun-if-changed={yaml}");
    let code = register_codegen::generate_file(yaml)
        .unwrap_or_else(|e| panic!("{yaml} does not generate:\n{e}"));
    std::fs::write(out.join("dmac.rs"), code).expect("writing dmac.rs");
}

fn main() {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut table = String::from(
        "// Generated by build.rs from device_specs::SPECS; do not edit.\n\
         /// The embedded model of the shipped map `name` (postcard bytes).\n\
         pub fn prebuilt_bytes(name: &str) -> Option<&'static [u8]> {\n    match name {\n",
    );
    for spec in device_specs::SPECS {
        let mut d = register_spec::parse(spec.yaml, spec.file)
            .unwrap_or_else(|e| panic!("shipped spec {} is invalid:\n{e}", spec.name));
        d.strip_descriptions();
        let bytes = postcard::to_allocvec(&d).expect("serializing a model");
        let file = format!("{}.model", spec.name);
        std::fs::write(out_dir.join(&file), bytes).expect("writing a model");
        let _ = writeln!(
            table,
            "        {:?} => Some(include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{file}\"))),",
            spec.name
        );
    }
    table.push_str("        _ => None,\n    }\n}\n");
    std::fs::write(out_dir.join("prebuilt_specs.rs"), table).expect("writing prebuilt_specs.rs");
    write_rule_matrix(&out_dir);
    block_layout_fixture(&out_dir);
    wide_fixture(&out_dir);
    println!("cargo::rerun-if-changed=build.rs");
}

/// The code register-codegen generates from `tests/data/wide_registers.yaml`, for
/// `tests/wide_registers.rs` (registers accessed in parts).
fn wide_fixture(out: &std::path::Path) {
    let yaml = "tests/data/wide_registers.yaml";
    let code = register_codegen::generate_file(std::path::Path::new(yaml))
        .unwrap_or_else(|e| panic!("{yaml} does not generate:\n{e}"));
    std::fs::write(out.join("wide_fixture.rs"), code).expect("writing the wide fixture's code");
    println!("cargo::rerun-if-changed={yaml}");
}
