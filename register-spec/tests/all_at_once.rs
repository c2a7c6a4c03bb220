//! A file with many different errors reports every one of them, in order.

const SOURCE: &str = "\
name: dev
pci:
  vendor: 0x1234
  device: 0x5678
  bars:
    - bar: 1
      block: regz
    - { bar: 1, offset: 2,
        block: regs }
blocks:
  - name: regs
    size: 0x40
    registers:
      - name: CTRL
        offset: 0x0
        acess: rw
        reset: 0x1_0000_0000
        fields:
          - name: EN
            bits: 0
          - name: MODE
            bits: 3:0
            values:
              - name: FAST
                value: 16
          - name: HIGH
            bits: 32
      - name: CTRL
        offset: 0x0
      - name: match
        offset: 0x3c
        width: 64
      - name: STATUS
        offset: 0x40
        access: ro
        fields:
          - { name: DONE, bits: 0, access: wo }
      - name: FIFO
        offset: 0x20
        access: rc
        read_side_effects: false
        array: { count: 0, stride: 2 }
      - name: NOOFFSET
";

#[test]
fn every_error_is_reported() {
    let errors = register_spec::parse(SOURCE, "dev.yaml").unwrap_err();
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let expected = [
        // kind 13: BAR names an unknown block
        "dev.yaml:7:14: error: BAR 1 names block `regz`, which is not a block of this device; did you mean `regs`? blocks: regs",
        // kind 6: a block misaligned in its BAR
        "dev.yaml:8:25: error: offset 0x2 of block `regs` in BAR 1 is not a multiple of the block's alignment 8 (its widest register is 64 bits)",
        // kind 10: unknown key
        "dev.yaml:16:9: error: unknown key `acess` in register `CTRL`; did you mean `access`? allowed keys: name, description, offset, width, access, read_side_effects, write_side_effects, field_writes, reset, array, access_width, access_order, consistent_read, fields",
        // kind 9: reset too wide
        "dev.yaml:17:16: error: reset value 0x100000000 of register `CTRL` does not fit in 32 bits (at most 0xffffffff)",
        // kind 5: overlapping fields
        "dev.yaml:22:19: error: field `CTRL.MODE` (bits 3:0) overlaps field `CTRL.EN` (bit 0)",
        // kind 8: value does not fit
        "dev.yaml:25:24: error: value `CTRL.MODE.FAST` = 0x10 does not fit in 4-bit field `CTRL.MODE` (at most 0xf)",
        // kind 4: field outside register
        "dev.yaml:27:19: error: field `CTRL.HIGH` (bit 32) does not fit in 32-bit register `CTRL` (bits 31:0)",
        // kind 1: overlap (at the register)
        "dev.yaml:28:9: error: register `CTRL` (bytes 0x0..=0x3) overlaps register `CTRL` (bytes 0x0..=0x3)",
        // kind 6: duplicate register name
        "dev.yaml:28:15: error: duplicate register name `CTRL` in block `regs` (first declared at 14:15)",
        // kind 7: keyword
        "dev.yaml:30:15: error: `match` is not a valid register name: it is a Rust keyword",
        // kind 3: misaligned (and so not also checked against the block's end)
        "dev.yaml:31:17: error: offset 0x3c of register `match` is not a multiple of 8: 64-bit registers must be aligned to their width",
        // kind 2: outside the block (at the register)
        "dev.yaml:33:9: error: register `STATUS` (bytes 0x40..=0x43) extends past the end of block `regs` (size 0x40)",
        // kind 13: field access not allowed by the register
        "dev.yaml:37:44: error: field `STATUS.DONE` is `wo`, which can be written, but register `STATUS` is `ro`, which cannot; a field of a `ro` register must be `ro`, `rc`, `w1c` or `w1s`",
        // kind 13: read_side_effects contradicts rc
        "dev.yaml:41:28: error: `read_side_effects: false` contradicts `access: rc` of register `FIFO`: reading an rc register clears it; remove the key",
        // kind 12 / 13: count 0, stride smaller than the width
        "dev.yaml:42:25: error: `count` of the array of register `FIFO` must be at least 1, found `0`",
        "dev.yaml:42:36: error: stride 2 of the array of register `FIFO` is smaller than the register (4 bytes): elements would overlap",
        // kind 11: missing key
        "dev.yaml:43:9: error: missing required key `offset` in register `NOOFFSET`",
    ];
    assert_eq!(lines, expected);
    assert_eq!(errors.len(), 17);
    // Display: one line per error, nothing else.
    assert_eq!(errors.to_string(), expected.join("\n"));
    // Sorted by position.
    assert!(errors.windows(2).all(|w| w[0].span <= w[1].span));
}
