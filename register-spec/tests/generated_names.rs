//! Names that are valid identifiers but would make clashing or invalid Rust
//! items are refused by validation itself, with every other error, so that
//! `spec check` (which only parses) accepts exactly what the code generator
//! accepts.

fn map(blocks: &str) -> String {
    format!("name: dev\nblocks:\n{blocks}")
}

fn errors(src: &str) -> Vec<String> {
    match register_spec::parse(src, "t.yaml") {
        Ok(_) => vec![],
        Err(e) => e.to_string().lines().map(str::to_string).collect(),
    }
}

#[test]
fn every_generated_name_clash_is_reported_at_once() {
    let src = map("  - name: regs
    size: 0x100
    registers:
      - { name: ctrl, offset: 0x0 }
      - { name: CTRL, offset: 0x4 }
      - { name: SELF, offset: 0x8 }
      - { name: NEW, offset: 0xc }
      - { name: Regs, offset: 0x10 }
      - { name: GAIN, offset: 0x20, array: { count: 2, stride: 4 } }
      - { name: GAIN_AT, offset: 0x28 }
      - name: MODE
        offset: 0x30
        fields:
          - { name: Register, bits: 0 }
          - name: SPEED
            bits: '2:1'
            values:
              - { name: Value, value: 2 }
              - { name: SET, value: 1 }
              - { name: CLEAR, value: 0 }
  - name: Regs_
    size: 0x10
");
    assert_eq!(
        errors(&src),
        [
            "t.yaml:7:17: error: registers `ctrl` and `CTRL` would both generate the accessor `ctrl()` (first at 6:17); rename one",
            "t.yaml:8:17: error: register `SELF` would generate the accessor `self()`, which Rust does not allow (`self` is a keyword that cannot be a raw identifier); rename it",
            "t.yaml:9:17: error: register `NEW` would generate the accessor `new()`, which is the constructor; rename it",
            "t.yaml:10:17: error: register `Regs` has the name of the block's generated type `Regs` (block `regs`); rename it",
            "t.yaml:12:17: error: registers `GAIN` and `GAIN_AT` would both generate the accessor `gain_at()` (first at 11:17); rename one",
            "t.yaml:16:21: error: field `MODE.Register` has the name of the generated item `MODE::Register`; rename it",
            "t.yaml:20:25: error: value `MODE.SPEED.Value` has the name of the generated item `SPEED::Value`; rename it",
            "t.yaml:21:37: error: value `MODE.SPEED.SET` is 0x1, but `SET` stands in for the generated `SPEED::SET` and must be 0x3 (all ones)",
            "t.yaml:23:11: error: blocks `regs` and `Regs_` would both generate the type `Regs` (first at 3:11); rename one",
        ]
    );
}

#[test]
fn distinct_generated_names_are_fine() {
    let src = map("  - name: regs
    size: 0x100
    registers:
      - { name: CTRL, offset: 0x0 }
      - { name: TYPE, offset: 0x4 }
      - { name: SELF_TEST, offset: 0x8 }
      - name: MODE
        offset: 0xc
        fields:
          - name: SPEED
            bits: '2:1'
            values:
              - { name: SET, value: 3 }
              - { name: CLEAR, value: 0 }
  - name: shared_mem
    size: 0x10
");
    assert_eq!(errors(&src), Vec::<String>::new());
}
