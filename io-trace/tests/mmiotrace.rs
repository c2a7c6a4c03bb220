//! Reading Linux mmiotrace logs: a sample written by hand from the
//! documented line formats, the choice of mapping, and malformed input.

use std::time::Duration;

use hal_core::{Io, Width};
use io_trace::format::{MapRecord, Record};
use io_trace::{Kind, MapSelect, Replay, ReplayError, Trace};

/// What `cat trace_pipe` gives for a kernel driver that maps edu's BAR0
/// (map 3) and another device's registers (map 4), checks the ID, writes
/// LIVENESS, starts a factorial and polls STATUS twice.
const KERNEL_SAMPLE: &str = "VERSION 20070824
PCIDEV 0000 80861237 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 
PCIDEV 0020 123411e8 b fea00000 0 0 0 0 0 0 100000 0 0 0 0 0 0 edu
MARK 35.120004 loading edu
MAP 35.120551 3 0xfea00000 0xffffc90000600000 0x100000 0x0 0
MAP 35.120560 4 0xfebf1000 0xffffc90000042000 0x1000 0x0 0
R 4 35.120602 3 0xfea00000 0x10000ed 0xffffffffc05a1034 0
R 4 35.120611 4 0xfebf1004 0x0 0xffffffffc05a1040 0
W 4 35.120630 3 0xfea00004 0x12345678 0xffffffffc05a105e 0
R 4 35.120641 3 0xfea00004 0xedcba987 0xffffffffc05a1070 0
W 4 35.120650 3 0xfea00008 0xa 0xffffffffc05a1090 0
R 4 35.120660 3 0xfea00020 0x1 0xffffffffc05a10a2 0
R 4 35.220700 3 0xfea00020 0x0 0xffffffffc05a10a2 0
R 4 35.220710 3 0xfea00008 0x375f00 0xffffffffc05a10b8 0
W 1 35.220720 4 0xfebf1000 0x1 0xffffffffc05a10c0 0
UNMAP 35.300000 4 0x0 0
UNMAP 35.300010 3 0x0 0
";

/// The driver of the sample, in user space: the same accesses over an `Io`.
fn edu_driver(io: &impl Io) -> Result<u32, String> {
    // SAFETY: offsets 0x0..0x24 are in bounds of edu's 1 MiB BAR0 and
    // 4-aligned, as is the BAR.
    unsafe {
        if io.read32(0x0) != 0x0100_00ed {
            return Err("not an edu".into());
        }
        io.write32(0x4, 0x1234_5678);
        if io.read32(0x4) != 0xedcb_a987 {
            return Err("liveness".into());
        }
        io.write32(0x8, 10);
        while io.read32(0x20) & 1 != 0 {}
        Ok(io.read32(0x8))
    }
}

#[test]
fn kernel_sample_parses_into_its_records() {
    let t = Trace::parse(KERNEL_SAMPLE).unwrap();
    assert_eq!(t.records.len(), 17);
    assert!(matches!(&t.records[0], Record::Version { version, .. } if version == "20070824"));
    assert!(
        matches!(&t.records[2], Record::Info { keyword: "PCIDEV", text, .. } if text.starts_with("0020 123411e8 b fea00000") && text.ends_with(" edu"))
    );
    assert!(matches!(&t.records[3], Record::Mark { text, line: 4, .. } if text == "loading edu"));
    let maps: Vec<&MapRecord> = t.maps().collect();
    assert_eq!(
        *maps[0],
        MapRecord {
            line: 5,
            time: Duration::from_micros(35_120_551),
            id: 3,
            phys: 0xfea0_0000,
            virt: 0xffff_c900_0060_0000,
            len: 0x10_0000,
        }
    );
    assert_eq!(maps[1].id, 4);
    let Record::Rw(w) = &t.records[15 - 7] else {
        panic!("{:?}", t.records[8])
    };
    assert_eq!(
        (w.kind, w.width, w.map_id, w.phys, w.value),
        (Kind::Write, Width::W32, 3, 0xfea0_0004, 0x1234_5678)
    );
    assert_eq!(t.lost_events(), None);
}

#[test]
fn a_kernel_session_replays_against_a_user_space_driver() {
    for which in [MapSelect::Id(3), MapSelect::Phys(0xfea0_0000)] {
        let r = Replay::parse(KERNEL_SAMPLE, which, "edu.mmiotrace").unwrap();
        assert_eq!(r.len(), 0x10_0000);
        assert_eq!(r.base_addr(), 0xfea0_0000);
        // Map 4's lines are ignored: 7 accesses of map 3.
        assert_eq!(r.expected().len(), 7);
        assert_eq!(r.expected()[0].line, 7);
        assert_eq!(edu_driver(&r), Ok(3_628_800));
        r.finish().unwrap();
    }
    // The other map, on its own.
    let r = Replay::parse(KERNEL_SAMPLE, MapSelect::Id(4), "t").unwrap();
    let e: Vec<_> = r.expected().iter().map(|e| e.access.to_string()).collect();
    assert_eq!(e, ["read32 0x4 -> 0x0", "write8 0x0 <- 0x1"]);
    r.check().unwrap();
    let _ = r.finish();
}

#[test]
fn a_driver_that_differs_from_the_kernel_session_is_caught_at_its_line() {
    let r = Replay::parse(KERNEL_SAMPLE, MapSelect::Id(3), "edu.mmiotrace").unwrap();
    // SAFETY: in bounds and aligned (see edu_driver).
    unsafe {
        r.read32(0x0);
        r.write32(0x4, 0x1234_5678);
        r.read32(0x4);
        r.write32(0x8, 12);
    }
    let e = r.finish().unwrap_err().to_string();
    assert_eq!(
        e,
        "edu.mmiotrace:11: access 4 of 7 differs from the trace (another value written): the trace has `write32 0x8 <- 0xa`, the driver did `write32 0x8 <- 0xc`"
    );
}

fn unusable(text: &str, which: MapSelect) -> String {
    match Replay::parse(text, which, "k.mmiotrace") {
        Err(e @ ReplayError::Unusable { .. }) => e.to_string(),
        Err(e) => panic!("expected Unusable, got {e}"),
        Ok(r) => {
            let _ = r.finish();
            panic!("accepted")
        }
    }
}

#[test]
fn the_mapping_must_be_chosen_when_there_are_several() {
    let e = unusable(KERNEL_SAMPLE, MapSelect::Only);
    assert!(e.starts_with("k.mmiotrace: choose the mapping to replay by map id or physical address: its maps are id 3 at 0xfea00000 (0x100000 bytes, line 5), id 4 at 0xfebf1000"), "{e}");
    let e = unusable(KERNEL_SAMPLE, MapSelect::Id(9));
    assert!(
        e.starts_with("k.mmiotrace: there is no MAP of map id 9: its maps are id 3"),
        "{e}"
    );
    let e = unusable(
        "VERSION 20070824\nR 4 1.000000 3 0x10 0x0 0x0 0\n",
        MapSelect::Only,
    );
    assert!(
        e.contains("it has no MAP line (when filtering a trace, keep its MAP lines)"),
        "{e}"
    );
}

#[test]
fn lost_events_unknown_accesses_and_accesses_outside_the_map_are_refused() {
    let lost = format!("{KERNEL_SAMPLE}MARK 0.000000 Lost 12 events.\n");
    let e = unusable(&lost, MapSelect::Id(3));
    assert!(
        e.starts_with("k.mmiotrace: line 18: mmiotrace lost 12 events"),
        "{e}"
    );

    let unknown = "MAP 1.000000 3 0x1000 0x0 0x100 0x0 0\nUNKNOWN 1.000001 3 0x1010 0f,b7,02 0xffffffff81000000 0\n";
    let e = unusable(unknown, MapSelect::Only);
    assert!(
        e.contains("line 2: mmiotrace could not decode this access (UNKNOWN)"),
        "{e}"
    );
    // An UNKNOWN on another map does not matter.
    let other = format!(
        "{unknown}MAP 2.000000 5 0x2000 0x0 0x100 0x0 0\nR 1 2.000001 5 0x2001 0x7 0x0 0\n"
    );
    let r = Replay::parse(&other, MapSelect::Id(5), "t").unwrap();
    // SAFETY: in bounds (0x100 bytes).
    assert_eq!(unsafe { r.read8(1) }, 7);
    r.finish().unwrap();

    let outside = "MAP 1.000000 3 0x1000 0x0 0x100 0x0 0\nR 4 1.000001 3 0x10fe 0x0 0x0 0\n";
    let e = unusable(outside, MapSelect::Only);
    assert!(
        e.contains("line 2: the 32-bit access at 0x10fe is outside map 3 (0x1000..0x1100)"),
        "{e}"
    );
    let below = "MAP 1.000000 3 0x1000 0x0 0x100 0x0 0\nW 1 1.000001 3 0xfff 0x0 0x0 0\n";
    assert!(unusable(below, MapSelect::Only).contains("line 2: the 8-bit access at 0xfff"));
}

#[test]
fn a_remapped_id_follows_its_latest_map() {
    // Map id 1 is unmapped, then reused for another device: only the
    // accesses while it maps 0x1000 belong to the map at 0x1000.
    let t = "MAP 1.0 1 0x1000 0x0 0x10 0x0 0
R 4 1.1 1 0x1004 0x11 0x0 0
UNMAP 1.2 1 0x0 0
MAP 2.0 1 0x2000 0x0 0x10 0x0 0
R 4 2.1 1 0x2004 0x22 0x0 0
";
    let r = Replay::parse(t, MapSelect::Phys(0x1000), "t").unwrap();
    assert_eq!(r.expected().len(), 1);
    // SAFETY: in bounds and aligned.
    assert_eq!(unsafe { r.read32(4) }, 0x11);
    r.finish().unwrap();
    let e = unusable(t, MapSelect::Id(1));
    assert!(
        e.contains("map id 1 is mapped at 0x1000 (line 1) and at 0x2000 (line 4)"),
        "{e}"
    );
}

/// Malformed lines: the error's line:column and message.
#[test]
fn malformed_lines_are_reported_with_line_and_column() {
    let cases: &[(&str, &str)] = &[
        ("FOO 1", "1:1: unknown record `FOO`"),
        (
            "VERSION 20070824\n\n  R 4",
            "3:6: the line ends before its timestamp",
        ),
        (
            "R 3 1.000000 1 0x0 0x0",
            "1:3: the width `3` is not 1, 2, 4 or 8",
        ),
        (
            "R 16 1.000000 1 0x0 0x0",
            "1:3: the width `16` is not 1, 2, 4 or 8",
        ),
        (
            "R 18446744073709551615 1.0 1 0x0 0x0",
            "1:3: the width `18446744073709551615` is not 1, 2, 4 or 8",
        ),
        (
            "R 99999999999999999999 1.0 1 0x0 0x0",
            "1:3: the width `99999999999999999999` is too large",
        ),
        (
            "R 4 1,5 1 0x0 0x0",
            "1:5: the timestamp `1,5` is not seconds with a fraction",
        ),
        ("R 4 .5 1 0x0 0x0", "1:5: the timestamp `.5`"),
        ("R 4 1.0000000000 1 0x0 0x0", "1:5: the timestamp"),
        (
            "R 4 1.0 -1 0x0 0x0",
            "1:9: the map id `-1` is not a decimal number",
        ),
        (
            "R 4 1.0 4294967296 0x0 0x0",
            "1:9: the map id 4294967296 is too large",
        ),
        (
            "R 4 1.0 1 0xzz 0x0",
            "1:11: the physical address `0xzz` is not a hexadecimal number",
        ),
        ("R 4 1.0 1 0x 0x0", "1:11: the physical address `0x` is not"),
        (
            "R 4 1.0 1 0x0 0x100000000",
            "1:15: the value 0x100000000 does not fit in the access's 32-bit",
        ),
        (
            "R 8 1.0 1 0x0 0x10000000000000000",
            "1:15: the value `0x10000000000000000` does not fit in 64 bits",
        ),
        (
            "W 1 1.0 1 0x0 0x1 0x0 0 extra",
            "1:25: unexpected field `extra`",
        ),
        (
            "W 1 1.0 1 0x0 0x1 pc",
            "1:19: the program counter `pc` is not a hexadecimal number",
        ),
        ("MAP 1.0 1 0x0 0x0", "1:18: the line ends before its length"),
        ("UNMAP 1.0", "1:10: the line ends before its map id"),
        ("MARK", "1:5: the line ends before its timestamp"),
        ("VERSION", "1:8: the line ends before its version"),
        ("VERSION a b", "1:11: unexpected field `b`"),
        (
            "UNKNOWN 1.0 1 0x0",
            "1:18: the line ends before its instruction bytes",
        ),
        (
            "R 4 1.0 1 0x0 0xé",
            "1:15: the value `0xé` is not a hexadecimal number",
        ),
        ("é R", "1:1: unknown record `é`"),
        (
            "R\t4\t1.0\t1\t0x0\t0x0\t0x0\t0\tx",
            "1:25: unexpected field `x`",
        ),
    ];
    for (text, want) in cases {
        let e = Trace::parse(text).unwrap_err().to_string();
        assert!(e.starts_with(want), "{text:?}: got {e:?}, want {want:?}");
    }
    let long = format!("{} 1", "X".repeat(100));
    let e = Trace::parse(&long).unwrap_err().to_string();
    assert!(e.contains(&format!("`{}…`", "X".repeat(40))), "{e}");
    // Through Replay, the file name comes first.
    let e = Replay::parse("FOO", MapSelect::Only, "k.mmiotrace")
        .err()
        .unwrap()
        .to_string();
    assert!(e.starts_with("k.mmiotrace:1:1: unknown record"), "{e}");
}

#[test]
fn crlf_line_ends_and_optional_pc_pid_are_accepted() {
    let t = "MAP 1.0 1 0x0 0x0 0x10\r\nR 4 1.1 1 0x4 0x5\r\nW 2 1.2 1 0x8 0x6 0xffffffff81000000\r\nUNMAP 1.3 1\r\n";
    let r = Replay::parse(t, MapSelect::Only, "t").unwrap();
    // SAFETY: in bounds and aligned.
    unsafe {
        assert_eq!(r.read32(4), 5);
        r.write16(8, 6);
    }
    r.finish().unwrap();
}

/// A small deterministic generator (xorshift64) for hostile input.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Every truncation of the sample, and thousands of random edits of it
/// (bytes replaced by separators, digits, letters, multibyte characters),
/// parse to a value or an error: never a panic, and an error's line and
/// column are inside the input.
#[test]
fn hostile_and_truncated_input_never_panics() {
    let check = |text: &str| {
        if let Err(e) = Trace::parse(text) {
            let lines: Vec<&str> = text.split('\n').collect();
            assert!(e.line >= 1 && e.line <= lines.len(), "{e} in {text:?}");
            let width = lines[e.line - 1].trim_end_matches('\r').chars().count();
            assert!(e.column >= 1 && e.column <= width + 1, "{e} in {text:?}");
        }
        for which in [
            MapSelect::Only,
            MapSelect::Id(3),
            MapSelect::Phys(0xfea0_0000),
        ] {
            if let Ok(r) = Replay::parse(text, which, "t") {
                let _ = r.finish();
            }
        }
    };
    for end in 0..=KERNEL_SAMPLE.len() {
        if KERNEL_SAMPLE.is_char_boundary(end) {
            check(&KERNEL_SAMPLE[..end]);
        }
    }
    let alphabet = [
        " ",
        "\t",
        "\n",
        "\r",
        "0",
        "9",
        "x",
        "f",
        ".",
        "-",
        "R",
        "W",
        "é",
        "\u{0}",
        "0x",
        "99999999999999999999999",
        "18446744073709551615",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..5000 {
        let mut s: Vec<char> = KERNEL_SAMPLE.chars().collect();
        for _ in 0..1 + rng.next() % 4 {
            let at = (rng.next() as usize) % s.len();
            let with = alphabet[(rng.next() as usize) % alphabet.len()];
            s.splice(at..at + 1, with.chars());
        }
        check(&s.into_iter().collect::<String>());
    }
}
