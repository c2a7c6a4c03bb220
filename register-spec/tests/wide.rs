//! Registers wider than the bus (`access_width`, `access_order`,
//! `consistent_read`), the rule that splits them, and `pci.ids`.

use register_spec::wide::{consistent_read_accesses, split_accesses, AccessOrder};
use register_spec::{PciId, Piece, Width};

fn map(registers: &str) -> String {
    format!("name: d\nblocks:\n  - name: b\n    size: 0x40\n    registers:\n{registers}")
}

fn errors(yaml: &str) -> Vec<String> {
    match register_spec::parse(yaml, "t.yaml") {
        Ok(_) => Vec::new(),
        Err(e) => e.to_string().lines().map(str::to_string).collect(),
    }
}

fn pieces(p: &[Piece]) -> Vec<(u64, u32, u32)> {
    p.iter()
        .map(|p| (p.offset, p.width.bits(), p.shift))
        .collect()
}

#[test]
fn the_rule_splits_low_first_by_default() {
    assert_eq!(AccessOrder::default(), AccessOrder::LowFirst);
    assert_eq!(
        pieces(&split_accesses(
            Width::W64,
            Width::W32,
            AccessOrder::LowFirst
        )),
        vec![(0, 32, 0), (4, 32, 32)]
    );
    assert_eq!(
        pieces(&split_accesses(
            Width::W64,
            Width::W32,
            AccessOrder::HighFirst
        )),
        vec![(4, 32, 32), (0, 32, 0)]
    );
    assert_eq!(
        pieces(&split_accesses(
            Width::W32,
            Width::W8,
            AccessOrder::LowFirst
        )),
        vec![(0, 8, 0), (1, 8, 8), (2, 8, 16), (3, 8, 24)]
    );
    // not split: one access of the register's own width
    assert_eq!(
        pieces(&split_accesses(
            Width::W32,
            Width::W32,
            AccessOrder::HighFirst
        )),
        vec![(0, 32, 0)]
    );
    // consistent: upper parts high first, the lowest last, whatever the order
    assert_eq!(
        pieces(&consistent_read_accesses(Width::W64, Width::W16)),
        vec![(6, 16, 48), (4, 16, 32), (2, 16, 16), (0, 16, 0)]
    );
}

#[test]
fn the_keys_reach_the_model() {
    let d = register_spec::parse(
        &map("      - { name: CNT, offset: 0x8, width: 64, access: ro, access_width: 32, consistent_read: true }\n      - { name: ADDR, offset: 0x10, width: 64, access_width: 16, access_order: high_first }\n      - { name: PLAIN, offset: 0x18 }\n"),
        "t.yaml",
    )
    .unwrap();
    let b = &d.blocks[0];
    let cnt = b.register("CNT").unwrap();
    assert_eq!(cnt.access_width(), Width::W32);
    assert!(cnt.split.unwrap().consistent_read);
    assert_eq!(pieces(&cnt.accesses()), vec![(0, 32, 0), (4, 32, 32)]);
    assert_eq!(
        pieces(&cnt.consistent_read_accesses().unwrap()),
        vec![(4, 32, 32), (0, 32, 0)]
    );
    let addr = b.register("ADDR").unwrap();
    assert_eq!(addr.split.unwrap().order, AccessOrder::HighFirst);
    assert_eq!(addr.accesses().len(), 4);
    assert_eq!(addr.accesses()[0].offset, 6);
    assert!(addr.consistent_read_accesses().is_none());
    let plain = b.register("PLAIN").unwrap();
    assert!(plain.split.is_none());
    assert_eq!(pieces(&plain.accesses()), vec![(0, 32, 0)]);
}

#[test]
fn bad_keys_are_reported_where_they_stand() {
    let e = errors(&map(concat!(
        "      - { name: A, offset: 0x0, width: 32, access_width: 32 }\n",
        "      - { name: BB, offset: 0x8, width: 32, access_width: 64 }\n",
        "      - { name: C, offset: 0x10, width: 64, access_width: 24 }\n",
        "      - { name: D, offset: 0x18, width: 64, access_order: high_first }\n",
        "      - { name: E, offset: 0x20, width: 64, access_width: 32, access_order: middle }\n",
        "      - { name: F, offset: 0x28, width: 64, access: rc, access_width: 32, consistent_read: true }\n",
        "      - { name: G, offset: 0x30, width: 64, access: wo, access_width: 32, consistent_read: true }\n",
        "      - { name: H, offset: 0x38, width: 64, consistent_read: true }\n",
    )));
    let expected = [
        "t.yaml:6:58: error: `access_width: 32` of 32-bit register `A` does not split it",
        "t.yaml:7:59: error: `access_width: 64` of 32-bit register `BB` does not split it",
        "t.yaml:8:59: error: `access_width` of register `C` must be 8, 16, 32 or 64, found `24`",
        "t.yaml:9:59: error: `access_order` on register `D`, which has no `access_width`",
        "t.yaml:10:77: error: `access_order` of register `E` must be one of low_first, high_first, found `middle`",
        "t.yaml:11:92: error: `consistent_read: true` on register `F`, but reading it has side effects",
        "t.yaml:12:92: error: `consistent_read: true` on register `G`, but it is `wo` and cannot be read",
        "t.yaml:13:62: error: `consistent_read` on register `H`, which has no `access_width`",
    ];
    assert_eq!(e.len(), expected.len(), "{e:#?}");
    for (got, want) in e.iter().zip(expected) {
        assert!(got.starts_with(want), "got  {got}\nwant {want}…");
    }
}

#[test]
fn fields_may_cross_the_halves() {
    let d = register_spec::parse(
        &map("      - name: R\n        offset: 0\n        width: 64\n        access_width: 32\n        fields:\n          - { name: X, bits: '40:20' }\n"),
        "t.yaml",
    )
    .unwrap();
    assert_eq!(d.blocks[0].registers[0].fields[0].bits(), 21);
}

const PCI_HEAD: &str = "name: d\n";
const BLOCKS: &str = "blocks:\n  - { name: b, size: 0x10 }\n";

#[test]
fn pci_lists_several_ids_and_keeps_the_old_form() {
    let old = register_spec::parse(
        &format!("{PCI_HEAD}pci: {{ vendor: 0x1234, device: 0x11e8 }}\n{BLOCKS}"),
        "t.yaml",
    )
    .unwrap();
    let p = old.pci.unwrap();
    assert_eq!(
        p.ids(),
        vec![PciId {
            vendor: 0x1234,
            device: 0x11e8
        }]
    );
    assert!(p.alternative_ids.is_empty());

    let two = register_spec::parse(
        &format!("{PCI_HEAD}pci:\n  ids:\n    - {{ vendor: 0x1234, device: 0x11e8 }}\n    - {{ vendor: 0x1b36, device: 0x0005 }}\n{BLOCKS}"),
        "t.yaml",
    )
    .unwrap();
    let p = two.pci.unwrap();
    assert_eq!((p.vendor, p.device), (0x1234, 0x11e8));
    assert_eq!(
        p.alternative_ids,
        vec![PciId {
            vendor: 0x1b36,
            device: 5
        }]
    );
    assert!(p.matches(0x1b36, 5) && p.matches(0x1234, 0x11e8) && !p.matches(0x1234, 5));
    assert_eq!(p.describe_ids(), "1234:11e8 or 1b36:0005");
}

#[test]
fn bad_pci_id_lists_are_reported() {
    let e = errors(&format!(
        "{PCI_HEAD}pci:\n  vendor: 1\n  ids:\n    - {{ vendor: 0x1234, device: 0x11e8 }}\n    - {{ vendor: 0x1234, device: 0x11e8 }}\n    - {{ vendor: 0x1234 }}\n    - {{ vendor: 0x1234, device: 1, bar: 0 }}\n{BLOCKS}"
    ));
    let expected = [
        "t.yaml:3:3: error: `pci` has both `ids` and `vendor`; list every vendor:device ID under `ids`",
        "t.yaml:6:7: error: PCI ID 1234:11e8 is listed twice in `pci.ids` (first at 5:7); list each ID once",
        "t.yaml:7:7: error: missing required key `device` in an `ids` entry of `pci`",
        "t.yaml:8:36: error: unknown key `bar` in an `ids` entry of `pci`",
    ];
    assert_eq!(e.len(), expected.len(), "{e:#?}");
    for (got, want) in e.iter().zip(expected) {
        assert!(got.starts_with(want), "got  {got}\nwant {want}…");
    }
    let empty = errors(&format!("{PCI_HEAD}pci:\n  ids: []\n{BLOCKS}"));
    assert_eq!(
        empty,
        ["t.yaml:3:8: error: `ids` of `pci` must list at least one `{ vendor, device }` ID"]
    );
}
