//! `dump` output on a block larger than 0x1000 bytes (`tests/data/wide.yaml`):
//! the offset column keeps its width past 0xfff, everything is listed in
//! address order (an array declared last but placed among other registers
//! shows in its place), and the skipped elements of a large write-only
//! array collapse into one range instead of a line of thousands of
//! characters.

mod common;

use std::path::Path;

use common::{json_of, Dev};

fn wide(d: &Dev) -> assert_cmd::Command {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wide.yaml");
    d.cmd(Some(spec.to_str().unwrap()))
}

#[test]
fn dump_pads_offsets_lists_in_address_order_and_collapses_skipped_arrays() {
    let d = Dev::new(0x4000);
    d.poke32(0x104, 0x1234);
    let out = wide(&d).arg("dump").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "0x0000  CTRL      rw   0x00000000\n\
         \x20       [0]     ENABLE = 0x0\n\
         0x0100  GAIN[0]   rw   0x00000000\n\
         0x0104  MID       ro   0x00001234\n\
         0x0108  GAIN[1]   rw   0x00000000\n\
         0x2000  HIGH      ro   0x00000000\n\
         0x3ffc  LAST      rw   0x00000000\n\
         \x20       [15:0]  VALUE = 0x0000\n\
         skipped: DB[0..129] (write-only), ISR (read side effects)\n"
    );
}

#[test]
fn dump_json_lists_registers_in_address_order_and_every_skipped_element() {
    let d = Dev::new(0x4000);
    let (v, code) = json_of(wide(&d).args(["--json", "dump"]));
    assert_eq!(code, 0);
    let offsets: Vec<u64> = v["registers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, [0x0, 0x100, 0x104, 0x108, 0x2000, 0x3ffc]);
    let skipped = v["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 131);
    assert_eq!(skipped[129]["target"], "DB[129]");
    assert_eq!(skipped[130]["target"], "ISR");
}
