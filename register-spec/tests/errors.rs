//! Validation errors: exact messages and locations.

/// Joins lines into a YAML document (line `i` of the slice is line `i + 1`).
fn y(lines: &[&str]) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

/// A device with one 0x100-byte block `regs`; registers start on line 6.
fn regs(registers: &[&str]) -> String {
    let mut lines = vec![
        "name: dev",
        "blocks:",
        "  - name: regs",
        "    size: 0x100",
        "    registers:",
    ];
    lines.extend_from_slice(registers);
    y(&lines)
}

/// The diagnostics of `src` as displayed, one string per error.
fn errors(src: &str) -> Vec<String> {
    match register_spec::parse(src, "t.yaml") {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

#[track_caller]
fn assert_errors(src: &str, expected: &[&str]) {
    assert_eq!(errors(src), expected, "source:\n{src}");
}

#[test]
fn valid_baseline() {
    assert_errors(&regs(&["      - name: A", "        offset: 0x0"]), &[]);
}

// 1. Overlapping registers.

#[test]
fn overlapping_registers() {
    assert_errors(
        &regs(&[
            "      - name: A",
            "        offset: 0x0",
            "        width: 64",
            "      - name: B",
            "        offset: 0x4",
        ]),
        &["t.yaml:9:9: error: register `B` (bytes 0x4..=0x7) overlaps register `A` (bytes 0x0..=0x7)"],
    );
}

#[test]
fn overlapping_array_elements() {
    assert_errors(
        &regs(&[
            "      - name: CH",
            "        offset: 0x10",
            "        array: { count: 4, stride: 8 }",
            "      - name: LATE",
            "        offset: 0x28",
        ]),
        &["t.yaml:9:9: error: register `LATE` (bytes 0x28..=0x2b) overlaps register `CH[3]` (bytes 0x28..=0x2b)"],
    );
    // Two interleaved arrays that meet at one element; reported at the
    // later-declared one even though it starts first.
    assert_errors(
        &regs(&[
            "      - name: A",
            "        offset: 0x24",
            "        array: { count: 2, stride: 0x10 }",
            "      - name: B",
            "        offset: 0x0",
            "        width: 16",
            "        array: { count: 4, stride: 0xc }",
        ]),
        &["t.yaml:9:9: error: register `B[3]` (bytes 0x24..=0x25) overlaps register `A[0]` (bytes 0x24..=0x27)"],
    );
}

#[test]
fn interleaved_arrays_do_not_overlap() {
    assert_errors(
        &regs(&[
            "      - name: EVEN",
            "        offset: 0x0",
            "        array: { count: 16, stride: 8 }",
            "      - name: ODD",
            "        offset: 0x4",
            "        array: { count: 16, stride: 8 }",
        ]),
        &[],
    );
}

// 2. Register outside its block.

#[test]
fn register_outside_block() {
    assert_errors(
        &regs(&["      - name: LAST", "        offset: 0xfc", "        width: 64"]),
        // Misaligned: reported once, not also checked against the end of
        // the block from the offset that is wrong.
        &["t.yaml:7:17: error: offset 0xfc of register `LAST` is not a multiple of 8: 64-bit registers must be aligned to their width"],
    );
    assert_errors(
        &regs(&["      - name: LAST", "        offset: 0xf8", "        width: 64", "        array: { count: 2, stride: 8 }"]),
        &["t.yaml:6:9: error: register `LAST[1]` (bytes 0x100..=0x107), the last element of array `LAST`, extends past the end of block `regs` (size 0x100)"],
    );
    assert_errors(
        &regs(&["      - name: FAR", "        offset: 0x100"]),
        &["t.yaml:6:9: error: register `FAR` (bytes 0x100..=0x103) extends past the end of block `regs` (size 0x100)"],
    );
}

#[test]
fn array_outside_block() {
    assert_errors(
        &regs(&[
            "      - name: TABLE",
            "        offset: 0xf0",
            "        array:",
            "          count: 5",
            "          stride: 4",
        ]),
        &["t.yaml:6:9: error: register `TABLE[4]` (bytes 0x100..=0x103), the last element of array `TABLE`, extends past the end of block `regs` (size 0x100)"],
    );
}

#[test]
fn huge_array_outside_block_does_not_overflow() {
    assert_errors(
        &regs(&[
            "      - name: T",
            "        offset: 0x0",
            "        array: { count: 0xffff_ffff_ffff_ffff, stride: 0xffff_ffff_ffff_fff0 }",
        ]),
        &["t.yaml:6:9: error: register `T[18446744073709551614]` (bytes 0xffffffffffffffee0000000000000020..=0xffffffffffffffee0000000000000023), the last element of array `T`, extends past the end of block `regs` (size 0x100)"],
    );
}

// 3. Misaligned offsets and strides.

#[test]
fn misaligned_offset() {
    assert_errors(
        &regs(&["      - name: HALF", "        offset: 0x6", "        width: 32"]),
        &["t.yaml:7:17: error: offset 0x6 of register `HALF` is not a multiple of 4: 32-bit registers must be aligned to their width"],
    );
    assert_errors(
        &regs(&[
            "      - name: BYTE",
            "        offset: 0x3",
            "        width: 8",
        ]),
        &[],
    );
}

#[test]
fn misaligned_stride() {
    assert_errors(
        &regs(&[
            "      - name: R",
            "        offset: 0x0",
            "        width: 16",
            "        array: { count: 2, stride: 3 }",
        ]),
        &["t.yaml:9:36: error: stride 3 of the array of register `R` is not a multiple of 2: every element of a 16-bit register array must be aligned to its width"],
    );
}

// 4. Field outside the register's width.

#[test]
fn field_outside_register() {
    assert_errors(
        &regs(&[
            "      - name: R",
            "        offset: 0x0",
            "        width: 16",
            "        fields:",
            "          - name: HIGH",
            "            bits: 19:12",
            "          - name: TOP",
            "            bits: 16",
        ]),
        &[
            "t.yaml:11:19: error: field `R.HIGH` (bits 19:12) does not fit in 16-bit register `R` (bits 15:0)",
            "t.yaml:13:19: error: field `R.TOP` (bit 16) does not fit in 16-bit register `R` (bits 15:0)",
        ],
    );
}

// 5. Overlapping fields.

#[test]
fn overlapping_fields() {
    assert_errors(
        &regs(&[
            "      - name: R",
            "        offset: 0x0",
            "        fields:",
            "          - name: LOW",
            "            bits: \"7:0\"",
            "          - name: MID",
            "            bits: 11:4",
            "          - name: FLAG",
            "            bits: 12",
            "          - name: AGAIN",
            "            bits: 12",
        ]),
        &[
            "t.yaml:12:19: error: field `R.MID` (bits 11:4) overlaps field `R.LOW` (bits 7:0)",
            "t.yaml:16:19: error: field `R.AGAIN` (bit 12) overlaps field `R.FLAG` (bit 12)",
        ],
    );
}

// 6. Duplicate names.

#[test]
fn duplicate_block_names() {
    assert_errors(
        &y(&[
            "name: dev",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "  - name: regs",
            "    size: 0x10",
        ]),
        &["t.yaml:5:11: error: duplicate block name `regs` (first declared at 3:11)"],
    );
}

#[test]
fn duplicate_register_names() {
    assert_errors(
        &regs(&[
            "      - name: A",
            "        offset: 0x0",
            "      - name: A",
            "        offset: 0x4",
        ]),
        &["t.yaml:8:15: error: duplicate register name `A` in block `regs` (first declared at 6:15)"],
    );
}

#[test]
fn duplicate_field_names() {
    assert_errors(
        &regs(&[
            "      - name: R",
            "        offset: 0x0",
            "        fields:",
            "          - { name: F, bits: 0 }",
            "          - { name: F, bits: 1 }",
        ]),
        &["t.yaml:10:21: error: duplicate field name `F` in register `R` (first declared at 9:21)"],
    );
}

#[test]
fn duplicate_value_names_and_values() {
    assert_errors(
        &regs(&[
            "      - name: R",
            "        offset: 0x0",
            "        fields:",
            "          - name: MODE",
            "            bits: 1:0",
            "            values:",
            "              - { name: OFF, value: 0 }",
            "              - { name: OFF, value: 1 }",
            "              - { name: ZERO, value: 0 }",
        ]),
        &[
            "t.yaml:13:25: error: duplicate value name `OFF` in field `R.MODE` (first declared at 12:25)",
            "t.yaml:14:38: error: value `R.MODE.ZERO` repeats the value 0 of `R.MODE.OFF` (declared at 12:37); named values of a field must differ",
        ],
    );
}

#[test]
fn block_bound_twice() {
    assert_errors(
        &y(&[
            "name: dev",
            "pci:",
            "  vendor: 0x1234",
            "  device: 0x5678",
            "  bars:",
            "    - { bar: 0, block: regs }",
            "    - { bar: 0, block: regs }",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
        ]),
        &["t.yaml:7:24: error: block `regs` is bound twice in `pci.bars` (first at 6:24); a block has one place: to repeat it, give the block an `array`"],
    );
}

// 7. Names that are not identifiers.

#[test]
fn invalid_identifiers() {
    assert_errors(
        &y(&[
            "name: my-device",
            "blocks:",
            "  - name: _",
            "    size: 0x10",
            "    registers:",
            "      - name: type",
            "        offset: 0",
            "        fields:",
            "          - name: 2ND",
            "            bits: 0",
            "            values:",
            "              - { name: async, value: 0 }",
        ]),
        &[
            "t.yaml:1:7: error: `my-device` is not a valid device name: names must start with an ASCII letter or `_` and contain only ASCII letters, digits and `_`",
            "t.yaml:3:11: error: `_` is not a valid block name: `_` alone is not a name",
            "t.yaml:6:15: error: `type` is not a valid register name: it is a Rust keyword",
            "t.yaml:9:19: error: `2ND` is not a valid field name: names must start with an ASCII letter or `_` and contain only ASCII letters, digits and `_`",
            "t.yaml:12:25: error: `async` is not a valid value name: it is a Rust keyword",
        ],
    );
    // Keywords are compared exactly; reserved ones count too.
    assert_errors(&regs(&["      - name: TYPE", "        offset: 0"]), &[]);
    assert_errors(
        &regs(&["      - name: try", "        offset: 0"]),
        &["t.yaml:6:15: error: `try` is not a valid register name: it is a Rust keyword"],
    );
}

// 8. Enumerated value that does not fit its field.

#[test]
fn value_does_not_fit_field() {
    assert_errors(
        &regs(&[
            "      - name: R",
            "        offset: 0x0",
            "        fields:",
            "          - name: MODE",
            "            bits: 2:1",
            "            values:",
            "              - name: BIG",
            "                value: 4",
        ]),
        &["t.yaml:13:24: error: value `R.MODE.BIG` = 4 does not fit in 2-bit field `R.MODE` (at most 3)"],
    );
}

// 9. Reset value wider than its register.

#[test]
fn reset_does_not_fit() {
    assert_errors(
        &regs(&[
            "      - name: R",
            "        offset: 0x0",
            "        width: 16",
            "        reset: 0x1_0000",
        ]),
        &["t.yaml:9:16: error: reset value 0x10000 of register `R` does not fit in 16 bits (at most 0xffff)"],
    );
    assert_errors(
        &regs(&[
            "      - name: R",
            "        offset: 0x0",
            "        width: 64",
            "        reset: 0xffff_ffff_ffff_ffff",
        ]),
        &[],
    );
}

// 10. Unknown keys.

#[test]
fn unknown_key_with_suggestion() {
    assert_errors(
        &regs(&["      - name: R", "        offset: 0x0", "        acess: ro"]),
        &["t.yaml:8:9: error: unknown key `acess` in register `R`; did you mean `access`? allowed keys: name, description, offset, width, access, read_side_effects, write_side_effects, field_writes, reset, array, access_width, access_order, consistent_read, fields"],
    );
}

#[test]
fn unknown_keys_everywhere() {
    assert_errors(
        &y(&[
            "name: dev",
            "colour: blue",
            "pci: { vendor: 1, device: 2, bar: [] }",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "    regs: []",
            "    registers:",
            "      - name: R",
            "        offset: 0",
            "        array: { count: 1, stide: 4 }",
            "        fields:",
            "          - name: F",
            "            bit: 0",
            "            values:",
            "              - { name: V, value: 0, desc: x }",
        ]),
        &[
            "t.yaml:2:1: error: unknown key `colour` in the device; allowed keys: name, description, pci, blocks",
            "t.yaml:3:30: error: unknown key `bar` in `pci`; did you mean `bars`? allowed keys: vendor, device, ids, bars",
            "t.yaml:7:5: error: unknown key `regs` in block `regs`; allowed keys: name, description, size, array, registers",
            "t.yaml:11:28: error: unknown key `stide` in the array of register `R`; did you mean `stride`? allowed keys: count, stride",
            "t.yaml:14:13: error: unknown key `bit` in field `R.F`; did you mean `bits`? allowed keys: name, description, bits, access, self_clearing, values",
            "t.yaml:16:38: error: unknown key `desc` in value `R.F.V`; did you mean `description`? allowed keys: name, value, description",
        ],
    );
}

// 11. Missing required keys.

#[test]
fn missing_required_keys() {
    assert_errors(
        &y(&[
            "description: no name",
            "pci:",
            "  vendor: 0x1234",
            "  bars:",
            "    - bar: 0",
        ]),
        &[
            "t.yaml:1:1: error: missing required key `name` in the device",
            "t.yaml:1:1: error: missing required key `blocks` in the device",
            "t.yaml:3:3: error: missing required key `device` in `pci`",
            "t.yaml:5:7: error: missing required key `block` in a `pci.bars` entry",
        ],
    );
    assert_errors(
        &regs(&[
            "      - name: R",
            "        fields:",
            "          - bits: 0",
            "            values:",
            "              - name: V",
        ]),
        &[
            "t.yaml:6:9: error: missing required key `offset` in register `R`",
            "t.yaml:8:13: error: missing required key `name` in a field of register `R`",
            "t.yaml:10:17: error: missing required key `value` in value `V`",
        ],
    );
    assert_errors(
        &y(&["name: dev", "blocks:", "  - name: regs"]),
        &["t.yaml:3:5: error: missing required key `size` in block `regs`"],
    );
}

// 12. Wrong types and out-of-range values.

#[test]
fn wrong_types() {
    assert_errors(
        &y(&[
            "name: [dev]",
            "description: { a: b }",
            "pci: [0x1234]",
            "blocks:",
            "  - name: regs",
            "    size: big",
            "    registers:",
            "      name: R",
        ]),
        &[
            "t.yaml:1:7: error: `name` of the device must be a string, found a list",
            "t.yaml:2:14: error: `description` of the device must be a string, found a mapping",
            "t.yaml:3:6: error: `pci` must be a mapping, found a list",
            "t.yaml:6:11: error: `size` of block `regs` must be a non-negative integer (decimal, or hex/octal/binary with 0x/0o/0b; `_` may separate digits), found `big`",
            "t.yaml:8:7: error: `registers` of block `regs` must be a list, found a mapping",
        ],
    );
}

#[test]
fn quoted_numbers_are_strings() {
    assert_errors(
        &regs(&["      - name: R", "        offset: \"0x10\""]),
        &["t.yaml:7:17: error: `offset` of register `R` must be a non-negative integer (decimal, or hex/octal/binary with 0x/0o/0b; `_` may separate digits), found the quoted string \"0x10\"; remove the quotes to make it a number"],
    );
}

#[test]
fn numbers_out_of_range() {
    assert_errors(
        &y(&[
            "name: dev",
            "pci:",
            "  vendor: 0x1_0000",
            "  device: -1",
            "  bars:",
            "    - bar: 6",
            "      block: regs",
            "blocks:",
            "  - name: regs",
            "    size: 0",
            "    registers:",
            "      - name: R",
            "        offset: 0x1_0000_0000_0000_0000",
            "        array: { count: 0, stride: 4 }",
        ]),
        &[
            "t.yaml:3:11: error: `vendor` of `pci` must be at most 0xffff (PCI IDs are 16 bits), found `0x1_0000`",
            "t.yaml:4:11: error: `device` of `pci` must be a non-negative integer (decimal, or hex/octal/binary with 0x/0o/0b; `_` may separate digits), found `-1`",
            "t.yaml:6:12: error: `bar` of a `pci.bars` entry must be a BAR number from 0 to 5, found `6`",
            "t.yaml:10:11: error: `size` of block `regs` must be greater than 0",
            "t.yaml:13:17: error: `offset` of register `R` is too large: `0x1_0000_0000_0000_0000` does not fit in 64 bits",
            "t.yaml:14:25: error: `count` of the array of register `R` must be at least 1, found `0`",
        ],
    );
}

#[test]
fn width_access_and_booleans() {
    assert_errors(
        &regs(&[
            "      - name: R",
            "        offset: 0x0",
            "        width: 24",
            "        access: read-write",
            "        read_side_effects: yes",
            "        fields:",
            "          - name: F",
            "            bits: 0",
            "            access: RW",
        ]),
        &[
            "t.yaml:8:16: error: `width` of register `R` must be 8, 16, 32 or 64, found `24`",
            "t.yaml:9:17: error: `access` of register `R` must be one of ro, wo, rw, rc, w1c, w1s, found `read-write`",
            "t.yaml:10:28: error: `read_side_effects` of register `R` must be `true` or `false`, found `yes`",
            "t.yaml:14:21: error: `access` of field `R.F` must be one of ro, wo, rw, rc, w1c, w1s, found `RW`",
        ],
    );
}

#[test]
fn malformed_bits() {
    assert_errors(
        &regs(&[
            "      - name: R",
            "        offset: 0x0",
            "        fields:",
            "          - { name: A, bits: \"7-0\" }",
            "          - { name: B, bits: 3:1:0 }",
            "          - { name: C, bits: [7, 0] }",
            "          - { name: D, bits: 0:7 }",
            "          - { name: E, bits: }",
        ]),
        &[
            "t.yaml:9:30: error: `bits` of field `R.A` must be a bit number like `3` or a range `msb:lsb` like `15:8`, found the quoted string \"7-0\"",
            "t.yaml:10:30: error: `bits` of field `R.B` must be a bit number like `3` or a range `msb:lsb` like `15:8`, found `3:1:0`",
            "t.yaml:11:30: error: `bits` of field `R.C` must be a bit number like `3` or a range `msb:lsb` like `15:8`, found a list",
            "t.yaml:12:30: error: `bits` of field `R.D` is `0:7`, but msb must not be less than lsb: write `7:0`",
            "t.yaml:13:28: error: `bits` of field `R.E` must be a bit number like `3` or a range `msb:lsb` like `15:8`, found nothing (null)",
        ],
    );
}

#[test]
fn empty_blocks_and_non_mapping_items() {
    assert_errors(
        &y(&["name: dev", "blocks: []"]),
        &["t.yaml:2:9: error: `blocks` of the device must list at least one block"],
    );
    assert_errors(
        &y(&["name: dev", "blocks:", "  - regs"]),
        &["t.yaml:3:5: error: a block must be a mapping, found `regs`"],
    );
}

// 13. References, arrays, access-kind consistency, side effects.

#[test]
fn bar_names_unknown_block() {
    assert_errors(
        &y(&[
            "name: dev",
            "pci:",
            "  vendor: 0x1234",
            "  device: 0x5678",
            "  bars:",
            "    - bar: 0",
            "      block: reg",
            "    - bar: 2",
            "      block: memory",
            "blocks:",
            "  - name: regs",
            "    size: 0x10",
            "  - name: shared",
            "    size: 0x10",
        ]),
        &[
            "t.yaml:7:14: error: BAR 0 names block `reg`, which is not a block of this device; did you mean `regs`? blocks: regs, shared",
            "t.yaml:9:14: error: BAR 2 names block `memory`, which is not a block of this device; blocks: regs, shared",
        ],
    );
}

#[test]
fn array_count_and_stride() {
    assert_errors(
        &regs(&[
            "      - name: R",
            "        offset: 0x0",
            "        width: 64",
            "        array:",
            "          count: 0",
            "          stride: 4",
        ]),
        &[
            "t.yaml:10:18: error: `count` of the array of register `R` must be at least 1, found `0`",
            "t.yaml:11:19: error: stride 4 of the array of register `R` is smaller than the register (8 bytes): elements would overlap",
        ],
    );
}

#[test]
fn field_access_must_be_allowed_by_register() {
    assert_errors(
        &regs(&[
            "      - name: STATUS",
            "        offset: 0x0",
            "        access: ro",
            "        fields:",
            "          - { name: A, bits: 0, access: rc }",
            "          - { name: B, bits: 1, access: wo }",
            // A w1c bit in an ro status register (NVMe's CSTS) is allowed.
            "          - { name: C, bits: 2, access: w1c }",
            "      - name: CMD",
            "        offset: 0x4",
            "        access: wo",
            "        fields:",
            "          - { name: GO, bits: 0, access: rw }",
            "          - { name: STOP, bits: 1, access: wo }",
            "      - name: CLR",
            "        offset: 0x8",
            "        access: rc",
            "        fields:",
            "          - { name: X, bits: 0, access: w1s }",
        ]),
        &[
            "t.yaml:11:41: error: field `STATUS.B` is `wo`, which can be written, but register `STATUS` is `ro`, which cannot; a field of a `ro` register must be `ro`, `rc`, `w1c` or `w1s`",
            "t.yaml:17:42: error: field `CMD.GO` is `rw`, which can be read, but register `CMD` is `wo`, which cannot; a field of a `wo` register must be `wo`",
            "t.yaml:23:41: error: field `CLR.X` is `w1s`, which can be written, but register `CLR` is `rc`, which cannot; a field of a `rc` register must be `ro` or `rc`",
        ],
    );
}

#[test]
fn read_side_effects_contradictions() {
    assert_errors(
        &regs(&[
            "      - name: POP",
            "        offset: 0x0",
            "        access: rc",
            "        read_side_effects: false",
            "      - name: CNT",
            "        offset: 0x4",
            "        access: ro",
            "        read_side_effects: false",
            "        fields:",
            "          - { name: ERRS, bits: 7:0, access: rc }",
            "      - name: KICK",
            "        offset: 0x8",
            "        access: wo",
            "        read_side_effects: true",
        ]),
        &[
            "t.yaml:9:28: error: `read_side_effects: false` contradicts `access: rc` of register `POP`: reading an rc register clears it; remove the key",
            "t.yaml:13:28: error: `read_side_effects: false` contradicts field `CNT.ERRS`, which is `rc`: reading the register clears that field; remove the key",
            "t.yaml:19:28: error: `read_side_effects: true` on register `KICK`, which is `wo` and cannot be read; remove the key",
        ],
    );
}

// YAML-level errors.

#[test]
fn yaml_syntax_errors() {
    assert_errors(
        &y(&["name: \"dev", "blocks: []"]),
        &["t.yaml:1:7: error: YAML syntax error: unterminated quoted string; end it with `\"`"],
    );
    assert_errors(
        "name: \"dev",
        &["t.yaml:1:7: error: YAML syntax error: unterminated quoted string; end it with `\"`"],
    );
    assert_errors(
        &y(&["name: dev", "blocks:", "  - name: regs", "     size: 0x10"]),
        &["t.yaml:4:10: error: YAML syntax error: mapping values are not allowed in this context"],
    );
    assert_errors(
        &y(&["name: dev", "blocks:", "\t- name: regs"]),
        &["t.yaml:3:1: error: YAML syntax error: a tab where YAML allows only spaces; indent with spaces (the YAML parser stopped at 3:2: tabs disallowed within this context (block indentation))"],
    );
}

#[test]
fn syntax_error_is_reported_with_earlier_yaml_errors() {
    assert_errors(
        &y(&["name: dev", "name: again", "blocks: [", ""]),
        &[
            "t.yaml:2:1: error: duplicate key `name` (first given at 1:1)",
            "t.yaml:3:9: error: YAML syntax error: unclosed `[` opened here; end the list with `]` (the YAML parser stopped at 5:1: while parsing a node, did not find expected node content)",
        ],
    );
}

#[test]
fn duplicate_keys() {
    assert_errors(
        &regs(&[
            "      - name: R",
            "        offset: 0x0",
            "        offset: 0x4",
        ]),
        &["t.yaml:8:9: error: duplicate key `offset` (first given at 7:9)"],
    );
}

#[test]
fn aliases_tags_and_documents() {
    assert_errors(
        &regs(&[
            "      - name: R",
            "        offset: &o 0x0",
            "      - name: S",
            "        offset: *o",
            "        width: !!int 32",
        ]),
        &[
            "t.yaml:9:17: error: YAML aliases (`*name`) are not supported in register maps; write the value out",
            "t.yaml:10:16: error: YAML tags (`!!int`) are not supported in register maps; quote a value to make it a string",
        ],
    );
    assert_errors(
        &y(&["name: dev", "blocks: [{ name: regs, size: 4 }]", "---", "name: other"]),
        &["t.yaml:3:1: error: only one YAML document is allowed per file; remove this `---` and what follows"],
    );
}

#[test]
fn empty_and_non_mapping_files() {
    assert_errors(
        "",
        &["t.yaml:1:1: error: the file is empty; a register map is a mapping with keys name, description, pci, blocks (`name` and `blocks` required)"],
    );
    assert_errors(
        "# nothing here\n",
        &["t.yaml:1:1: error: the file is empty; a register map is a mapping with keys name, description, pci, blocks (`name` and `blocks` required)"],
    );
    assert_errors(
        "- name: dev\n",
        &["t.yaml:1:1: error: the top level of the file must be a mapping, found a list"],
    );
    assert_errors(
        "just text\n",
        &["t.yaml:1:1: error: the top level of the file must be a mapping, found `just text`"],
    );
}

#[test]
fn complex_keys() {
    assert_errors(
        &y(&[
            "name: dev",
            "? [a, b]",
            ": 1",
            "blocks: [{ name: regs, size: 4 }]",
        ]),
        &["t.yaml:2:3: error: mapping keys must be plain names, found a list"],
    );
}
