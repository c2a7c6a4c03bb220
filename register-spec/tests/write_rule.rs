//! The one rule for writes that name some fields of a register
//! (`register_spec::WriteRule`), and the keys that shape it:
//! `field_writes`, `write_side_effects`, `self_clearing`, and `w1c`/`w1s`
//! fields inside `ro` registers.

use register_spec::{FieldWrites, Register, WriteRule};

fn map(registers: &str) -> String {
    format!("name: dev\nblocks:\n  - name: regs\n    size: 0x100\n    registers:\n{registers}")
}

fn reg(registers: &str, name: &str) -> Register {
    let d = register_spec::parse(&map(registers), "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    d.blocks[0]
        .register(name)
        .unwrap_or_else(|| panic!("no register {name}"))
        .clone()
}

fn errors(registers: &str) -> Vec<String> {
    match register_spec::parse(&map(registers), "t.yaml") {
        Ok(_) => vec![],
        Err(e) => e.to_string().lines().map(str::to_string).collect(),
    }
}

#[test]
fn rw_register_keeps_state_bits_and_zeroes_action_bits() {
    // CTRL: rw EN, ro BUSY, wo TRIGGER (reads back 1 on some devices),
    // w1c ERR, self-clearing RESET, bits 31:16 in no field.
    let r = reg(
        "      - name: CTRL
        offset: 0
        reset: 0x00ff_0000
        fields:
          - { name: EN, bits: 0 }
          - { name: BUSY, bits: 1, access: ro }
          - { name: TRIGGER, bits: 2, access: wo }
          - { name: ERR, bits: 3, access: w1c }
          - { name: SWRST, bits: 4, self_clearing: true }
          - { name: MODE, bits: '7:5' }
",
        "CTRL",
    );
    assert_eq!(r.field_writes, FieldWrites::ReadModifyWrite);
    let rule = r.write_rule();
    // state: EN, BUSY, MODE and the bits in no field (15:8 and 31:16)
    assert_eq!(rule.keep, 0xffff_ffe3);
    assert_eq!(rule.base, 0);
    assert_eq!(rule.zero, 0x1c);
    // Writing MODE=5 over a register that reads all ones: the trigger,
    // w1c and self-clearing bits read as 1 are stored as 0.
    assert!(rule.needs_read(0xe0));
    assert_eq!(rule.store(0xffff_ffff, 0xe0, 5 << 5), 0xffff_ffa3);
    // Naming every state bit needs no read.
    assert!(!rule.needs_read(0xffff_ffe3));
}

#[test]
fn w1c_register_with_rw_fields_keeps_them() {
    let r = reg(
        "      - name: ISR
        offset: 0
        access: w1c
        fields:
          - { name: DONE, bits: 0 }
          - { name: ERR, bits: 1 }
          - { name: MASK, bits: '15:8', access: rw }
",
        "ISR",
    );
    let rule = r.write_rule();
    assert_eq!(rule.keep, 0xff00);
    // Acknowledging DONE keeps MASK and does not clear ERR.
    assert_eq!(rule.store(0xab03, 0x1, 0x1), 0xab01);
}

#[test]
fn pure_w1c_register_is_written_without_a_read() {
    let r = reg(
        "      - name: ISR
        offset: 0
        access: w1c
        fields:
          - { name: DONE, bits: 0 }
          - { name: ERR, bits: 1 }
",
        "ISR",
    );
    let rule = r.write_rule();
    assert_eq!((rule.keep, rule.base), (0, 0));
    assert!(!rule.needs_read(0x1));
    assert_eq!(rule.store(0xffff_ffff, 0x1, 0x1), 0x1);
}

#[test]
fn command_register_is_built_from_reset_never_read() {
    // An EEPROM/MDIO-style access register: a store latches ADDR and DATA
    // and starts the access, so a stale DATA must not be written back.
    let r = reg(
        "      - name: EERD
        offset: 0
        reset: 0x0000_0000
        write_side_effects: true
        fields:
          - { name: START, bits: 0, self_clearing: true }
          - { name: DONE, bits: 4, access: ro }
          - { name: ADDR, bits: '15:8' }
          - { name: DATA, bits: '31:16', access: ro }
",
        "EERD",
    );
    assert!(r.write_side_effects);
    assert_eq!(r.field_writes, FieldWrites::FromReset);
    let rule = r.write_rule();
    assert_eq!(rule.keep, 0);
    let named = 0xff01;
    assert!(!rule.needs_read(named));
    assert_eq!(rule.store(0xdead_ff11, named, 0x4201), 0x4201);
}

#[test]
fn from_reset_uses_the_reset_value_of_state_bits_only() {
    let r = reg(
        "      - name: CFG
        offset: 0
        reset: 0x8000_00ff
        field_writes: from_reset
        fields:
          - { name: LOW, bits: '7:0' }
          - { name: GO, bits: 31, access: w1s }
",
        "CFG",
    );
    let rule = r.write_rule();
    // bit 31 is an action bit: its reset value 1 is not stored.
    assert_eq!(rule.base, 0xff);
    assert_eq!(rule.store(0, 0xff00, 0x1200), 0x12ff);
}

#[test]
fn defaults_follow_what_the_register_allows() {
    let src = "      - name: RW
        offset: 0
      - name: WO
        offset: 4
        access: wo
      - name: SE
        offset: 8
        read_side_effects: true
      - name: RCF
        offset: 0xc
        fields:
          - { name: COUNT, bits: '7:0', access: rc }
          - { name: EN, bits: 8 }
      - name: CMD
        offset: 0x10
        write_side_effects: true
      - name: CMD_RMW
        offset: 0x14
        write_side_effects: true
        field_writes: read_modify_write
";
    let d = register_spec::parse(&map(src), "t.yaml").unwrap();
    let mode = |n: &str| d.blocks[0].register(n).unwrap().field_writes;
    assert_eq!(mode("RW"), FieldWrites::ReadModifyWrite);
    assert_eq!(mode("WO"), FieldWrites::FromReset);
    assert_eq!(mode("SE"), FieldWrites::FromReset);
    assert_eq!(mode("RCF"), FieldWrites::FromReset);
    assert_eq!(mode("CMD"), FieldWrites::FromReset);
    assert_eq!(mode("CMD_RMW"), FieldWrites::ReadModifyWrite);
}

#[test]
fn w1c_field_in_ro_register_makes_it_writable() {
    // NVMe CSTS: read-only status with a write-1-to-clear NSSRO bit.
    let r = reg(
        "      - name: CSTS
        offset: 0
        access: ro
        fields:
          - { name: RDY, bits: 0 }
          - { name: CFS, bits: 1 }
          - { name: NSSRO, bits: 4, access: w1c }
",
        "CSTS",
    );
    assert!(r.can_write());
    let rule = r.write_rule();
    assert_eq!(rule.zero, 0x10);
    // Clearing NSSRO never writes it back from a read; RDY/CFS are kept.
    assert_eq!(rule.store(0x13, 0x10, 0x10), 0x13);
    assert_eq!(rule.store(0x13, 0x0, 0x0) & 0x10, 0);
    let plain = reg(
        "      - name: ID\n        offset: 0\n        access: ro\n",
        "ID",
    );
    assert!(!plain.can_write());
}

#[test]
fn every_rule_is_one_function_of_the_register() {
    let r = reg("      - name: R\n        offset: 0\n", "R");
    assert_eq!(WriteRule::of(&r), r.write_rule());
    assert_eq!(r.write_rule().keep, 0xffff_ffff);
}

#[test]
fn contradictions_are_errors() {
    assert_eq!(
        errors(
            "      - name: WO
        offset: 0
        access: wo
        field_writes: read_modify_write
      - name: SE
        offset: 4
        read_side_effects: true
        field_writes: read_modify_write
      - name: RO
        offset: 8
        access: ro
        write_side_effects: true
        field_writes: from_reset
        fields:
          - { name: A, bits: 0, self_clearing: true }
      - name: BAD
        offset: 0xc
        field_writes: sometimes
        write_side_effects: yes
"
        ),
        [
            "t.yaml:9:23: error: `field_writes: read_modify_write` on register `WO`, but it is `wo` and cannot be read; use `from_reset` (the default for it)",
            "t.yaml:13:23: error: `field_writes: read_modify_write` on register `SE`, but reading it has side effects; use `from_reset` (the default for it)",
            "t.yaml:17:29: error: `write_side_effects: true` on register `RO`, which is `ro` and cannot be written; remove the key",
            "t.yaml:18:23: error: `field_writes` on register `RO`, which is `ro` and cannot be written; remove the key",
            "t.yaml:20:48: error: `self_clearing: true` on field `RO.A`, which is `ro` and cannot be written; a self-clearing bit is one that software sets and the device clears",
            "t.yaml:23:23: error: `field_writes` of register `BAD` must be one of read_modify_write, from_reset, found `sometimes`",
            "t.yaml:24:29: error: `write_side_effects` of register `BAD` must be `true` or `false`, found `yes`",
        ]
    );
}
