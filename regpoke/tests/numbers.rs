//! One number syntax: the register-map YAML and the command line read the
//! same texts as the same numbers, and refuse the same texts.

mod common;

use common::Dev;

const TEXTS: &[&str] = &[
    "0",
    "42",
    "0x10",
    "0X1f",
    "0o17",
    "0b1010",
    "1_000",
    "0xdead_beef",
    "0xffff_ffff_ffff_ffff",
    "0x_10",
    "10_",
    "_1",
    "0x",
    "1.5",
    "-1",
    "0xg",
    "0x1_0000_0000_0000_0000",
    "99999999999999999999999",
];

/// What the YAML side makes of `text` as a 64-bit register's reset value.
fn from_yaml(text: &str) -> Option<u64> {
    let src = format!(
        "name: d\nblocks:\n  - name: b\n    size: 0x10\n    registers:\n      - {{ name: R, offset: 0, width: 64, reset: {text} }}\n"
    );
    register_spec::parse(&src, "n.yaml")
        .ok()
        .map(|d| d.blocks[0].registers[0].reset)
}

/// What regpoke makes of `text` as a value written to edu's 64-bit DMA_SRC.
fn from_cli(dev: &Dev, text: &str) -> (Option<u64>, String) {
    let out = dev
        .edu_cmd()
        .args(["write", &format!("DMA_SRC={text}"), "--dry-run"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if !out.status.success() {
        return (None, stderr);
    }
    // "write 0x... to DMA_SRC (0x80, 64-bit), no read"
    let hex = stdout
        .split_whitespace()
        .nth(1)
        .and_then(|h| h.strip_prefix("0x"))
        .unwrap_or_else(|| panic!("unexpected output {stdout:?}"));
    (Some(u64::from_str_radix(hex, 16).unwrap()), stderr)
}

#[test]
fn yaml_and_command_line_read_numbers_alike() {
    let dev = Dev::edu();
    for text in TEXTS {
        let yaml = from_yaml(text);
        let (cli, stderr) = from_cli(&dev, text);
        assert_eq!(
            yaml, cli,
            "{text:?}: YAML {yaml:?}, command line {cli:?} ({stderr})"
        );
        assert_eq!(yaml, register_spec::number::parse(text).ok(), "{text:?}");
    }
}

#[test]
fn a_number_over_64_bits_is_too_large_not_unknown() {
    let dev = Dev::edu();
    let (v, stderr) = from_cli(&dev, "0x1_0000_0000_0000_0000");
    assert_eq!(v, None);
    assert!(stderr.contains("too large"), "{stderr}");
    dev.edu_cmd()
        .args(["read", "0x1_0000_0000_0000_0000"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("too large"));
}
