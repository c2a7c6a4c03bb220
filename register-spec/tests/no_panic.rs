//! No input, however malformed, makes `parse` panic or hang: every prefix
//! and many byte mutations of valid files, random token soup, and
//! adversarial inputs (deep nesting, huge numbers, huge arrays, piles of
//! overlapping registers).

mod common;

use common::Rng;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

const VALID: &str = "\
name: dev
description: |
  A device.
pci:
  vendor: 0x1234
  device: 0x11e8
  bars:
    - bar: 0
      block: regs
    - { bar: 2, block: mem }
blocks:
  - name: regs
    size: 0x100
    registers:
      - name: STATUS
        offset: 0x20
        width: 32
        access: rw
        read_side_effects: false
        reset: 0x0
        description: 'Status'
        array:
          count: 4
          stride: 4
        fields:
          - name: COMPUTING
            bits: 0
            access: ro
            values:
              - name: IDLE
                value: 0
              - { name: BUSY, value: 1, description: \"busy\" }
          - name: CODE
            bits: 15:8
  - name: mem
    size: 0x1000
";

/// Parses `src`, failing the test with the input if it panics or is slow.
fn no_panic(src: &str) {
    let start = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| {
        if let Ok(device) = register_spec::parse(src, "fuzz.yaml") {
            check_invariants(&device, src);
        }
    }));
    assert!(result.is_ok(), "parse panicked on input {src:?}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "parse took {:?} on input {src:?}",
        start.elapsed()
    );
}

/// What the model promises, checked by brute force on whatever parses.
fn check_invariants(d: &register_spec::Device, src: &str) {
    let ident = |n: &str| register_spec::names::identifier_problem(n).is_none();
    assert!(ident(&d.name), "{src:?}");
    for (i, b) in d.blocks.iter().enumerate() {
        assert!(ident(&b.name) && b.size > 0, "{src:?}");
        assert!(d.blocks[..i].iter().all(|o| o.name != b.name), "{src:?}");
        let mut bytes: Vec<(u64, u64, &str)> = Vec::new();
        for (j, r) in b.registers.iter().enumerate() {
            assert!(ident(&r.name), "{src:?}");
            assert!(b.registers[..j].iter().all(|o| o.name != r.name), "{src:?}");
            assert!(r.reset <= r.width.max_value(), "{src:?}");
            assert_eq!(r.offset % r.width.bytes(), 0, "{src:?}");
            if r.access == register_spec::Access::ReadClear {
                assert!(r.read_side_effects, "{src:?}");
            }
            for e in 0..r.count().min(64) {
                let start = r.offset_of(e);
                assert!(start + r.width.bytes() <= b.size, "{src:?}");
                bytes.push((start, start + r.width.bytes(), &r.name));
            }
            for (k, f) in r.fields.iter().enumerate() {
                assert!(
                    ident(&f.name) && f.lsb <= f.msb && f.msb < r.width.bits(),
                    "{src:?}"
                );
                for o in &r.fields[..k] {
                    assert!(o.name != f.name, "{src:?}");
                    assert!(f.shifted_mask() & o.shifted_mask() == 0, "{src:?}");
                }
                for v in &f.values {
                    assert!(ident(&v.name) && v.value <= f.mask(), "{src:?}");
                }
            }
        }
        bytes.sort();
        for w in bytes.windows(2) {
            assert!(
                w[0].1 <= w[1].0,
                "{:?} and {:?} overlap in {src:?}",
                w[0],
                w[1]
            );
        }
    }
}

fn inputs() -> Vec<String> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/spec-format.md"
    ))
    .unwrap_or_default();
    let example = doc
        .split_once("```yaml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(yaml, _)| yaml.to_string())
        .unwrap_or_default();
    vec![VALID.to_string(), example]
}

#[test]
fn the_seeds_are_valid() {
    for src in inputs() {
        register_spec::parse(&src, "seed.yaml").unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn every_prefix() {
    for src in inputs() {
        for (i, _) in src.char_indices() {
            no_panic(&src[..i]);
        }
    }
}

const INTERESTING: &[u8] = b":-, \n\t\"'[]{}#&*!|>?%@`0x9_~\\";

#[test]
fn byte_mutations() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for src in inputs() {
        let bytes = src.as_bytes();
        // About 1500 positions per seed (every position of the short one),
        // each replaced by a random interesting byte, deleted or doubled;
        // plus 1500 mutants with several random changes each.
        let step = (bytes.len() / 1500).max(1);
        for pos in (0..bytes.len()).step_by(step) {
            let mut m = bytes.to_vec();
            m[pos] = INTERESTING[rng.below(INTERESTING.len())];
            no_panic(&String::from_utf8_lossy(&m));
            let mut m = bytes.to_vec();
            m.remove(pos);
            no_panic(&String::from_utf8_lossy(&m));
            let mut m = bytes.to_vec();
            m.insert(pos, bytes[pos]);
            no_panic(&String::from_utf8_lossy(&m));
        }
        for _ in 0..1500 {
            let mut m = bytes.to_vec();
            for _ in 0..1 + rng.below(8) {
                let pos = rng.below(m.len());
                m[pos] = INTERESTING[rng.below(INTERESTING.len())];
            }
            no_panic(&String::from_utf8_lossy(&m));
        }
    }
}

#[test]
fn line_shuffles() {
    let mut rng = Rng(42);
    for src in inputs() {
        let lines: Vec<&str> = src.lines().collect();
        for _ in 0..500 {
            let mut l = lines.clone();
            let a = rng.below(l.len());
            let b = rng.below(l.len());
            l.swap(a, b);
            if rng.below(2) == 0 {
                l.remove(rng.below(l.len()));
            }
            no_panic(&l.join("\n"));
        }
    }
}

#[test]
fn random_token_soup() {
    const TOKENS: &[&str] = &[
        "name",
        "blocks",
        "registers",
        "fields",
        "values",
        "offset",
        "width",
        "access",
        "bits",
        "array",
        "count",
        "stride",
        "size",
        "pci",
        "bars",
        "bar",
        "block",
        "reset",
        "read_side_effects",
        ":",
        ": ",
        "- ",
        "\n",
        "  ",
        "    ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "\"",
        "'",
        "0",
        "0x",
        "ffff",
        "64",
        "15:8",
        "true",
        "yes",
        "~",
        "&a ",
        "*a",
        "!!str ",
        "---\n",
        "...\n",
        "# c\n",
        "|\n",
        ">\n",
        "? ",
        "\t",
        "é",
        "\u{feff}",
        "%YAML 1.2\n",
        "rc",
        "w1c",
        "99999999999999999999999",
    ];
    let mut rng = Rng(7);
    for _ in 0..3000 {
        let n = 1 + rng.below(80);
        let src: String = (0..n).map(|_| TOKENS[rng.below(TOKENS.len())]).collect();
        no_panic(&src);
    }
}

#[test]
fn adversarial_inputs() {
    no_panic(&"[".repeat(1_000_000));
    no_panic(&"{".repeat(1_000_000));
    no_panic(&"- ".repeat(100_000));
    no_panic(
        &(0..10_000)
            .map(|i| format!("{}a:\n", " ".repeat(i)))
            .collect::<String>(),
    );
    no_panic(&format!("name: {}\nblocks: []\n", "x".repeat(1_000_000)));
    no_panic(&format!(
        "name: d\nblocks:\n  - name: b\n    size: {}\n",
        "9".repeat(100_000)
    ));
    no_panic(&format!(
        "name: d\nblocks:\n  - name: b\n    size: 0x{}\n",
        "f".repeat(100_000)
    ));
    no_panic(&format!("{}: 1\n", "k".repeat(100_000)));
    no_panic("\0\0\0");
    no_panic("\u{feff}name: d\nblocks: [{name: b, size: 1}]\n");
    no_panic("name: d\r\nblocks: [{name: b, size: 1}]\r\n");
    no_panic("a: &x [*x, *x]\n");
    no_panic("%TAG ! tag:x,2000:\n--- !foo\nname: d\n");
}

#[test]
fn piles_of_overlapping_registers_are_bounded() {
    let mut src = String::from("name: d\nblocks:\n  - name: b\n    size: 0x10\n    registers:\n");
    for i in 0..5000 {
        src.push_str(&format!("      - {{ name: R{i}, offset: 0 }}\n"));
    }
    let start = Instant::now();
    let errors = register_spec::parse(&src, "pile.yaml").unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(20));
    // One overlap per register, or the budget error; never millions.
    assert!(errors.len() <= 5000, "{}", errors.len());

    let mut src = String::from("name: d\nblocks:\n  - name: b\n    size: 0x10\n    registers:\n");
    src.push_str("      - name: F\n        offset: 0\n        fields:\n");
    for i in 0..20_000 {
        src.push_str(&format!("          - {{ name: F{i}, bits: 0 }}\n"));
    }
    let errors = register_spec::parse(&src, "fields.yaml").unwrap_err();
    assert_eq!(errors.len(), 19_999);
}

#[test]
fn huge_interleaved_arrays_hit_the_budget() {
    let src = "\
name: d
blocks:
  - name: b
    size: 0x1000_0000_0000
    registers:
      - name: A
        offset: 0
        array: { count: 0x100_0000_0000, stride: 8 }
      - name: C
        offset: 4
        array: { count: 0x100_0000_0000, stride: 8 }
";
    let start = Instant::now();
    let errors = register_spec::parse(src, "huge.yaml").unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(20));
    assert_eq!(
        errors.to_string(),
        "huge.yaml:3:5: error: block `b` has too many register-array elements to check for overlaps \
         (more than 4194304 comparisons); use fewer or shorter arrays, or describe a large region as \
         a block without registers"
    );
    // Far apart, the same arrays are cheap to check and valid.
    let src = src.replace("offset: 4", "offset: 0x800_0000_0000");
    register_spec::parse(&src, "huge.yaml").unwrap_or_else(|e| panic!("{e}"));
}
