//! regpoke against `--file` on temporary files: every command, the access
//! rules, errors and exit codes, JSON shapes.

mod common;

use common::{json_of, kinds_spec, regpoke, Dev};
use predicates::prelude::*;
use predicates::str::contains;

// ---------------------------------------------------------------- read

#[test]
fn read_prints_the_bare_padded_value() {
    let d = Dev::edu();
    d.edu_cmd()
        .args(["read", "ID"])
        .assert()
        .success()
        .stdout("0x010000ed\n");
}

#[test]
fn read_field_and_enum_decode() {
    let d = Dev::edu();
    d.poke32(0x20, 0x81);
    d.edu_cmd()
        .args(["read", "STATUS.COMPUTING"])
        .assert()
        .success()
        .stdout("0x1\n");
    d.edu_cmd()
        .args(["read", "STATUS.COMPUTING", "--decode"])
        .assert()
        .success()
        .stdout("STATUS.COMPUTING = 0x1 (BUSY)\n");
    d.edu_cmd()
        .args(["read", "STATUS", "--decode"])
        .assert()
        .success()
        .stdout(
            contains("STATUS = 0x00000081")
                .and(contains("COMPUTING = 0x1 (BUSY)"))
                .and(contains("IRQFACT   = 0x1")),
        );
    // several targets, one value per line, in order
    d.edu_cmd()
        .args(["read", "ID.MAJOR", "ID.MAGIC", "STATUS"])
        .assert()
        .success()
        .stdout("0x01\n0xed\n0x00000081\n");
}

#[test]
fn read_names_are_case_insensitive_when_unambiguous() {
    let d = Dev::edu();
    d.edu_cmd()
        .args(["read", "id.magic"])
        .assert()
        .success()
        .stdout("0xed\n");
}

#[test]
fn read_widths_8_16_64_by_name() {
    let d = Dev::kinds();
    d.poke(0x16, &[0x5a]);
    d.poke(0x34, &[0x34, 0x12]);
    d.poke(0x20, &0x1122_3344_5566_7788u64.to_le_bytes());
    d.kinds_cmd()
        .args(["read", "LEVEL", "HALF", "COUNTER"])
        .assert()
        .success()
        .stdout("0x5a\n0x1234\n0x1122334455667788\n");
}

#[test]
fn raw_reads_are_width_exact() {
    let d = Dev::kinds();
    d.poke(0x40, &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    let r = |w: &str, off: &str, want: &str| {
        d.kinds_cmd()
            .args(["read", off, "--width", w])
            .assert()
            .success()
            .stdout(format!("{want}\n"));
    };
    r("8", "0x41", "0x22");
    r("16", "0x42", "0x4433");
    r("32", "0x44", "0x88776655");
    r("64", "0x40", "0x8877665544332211");
    // default width is 32
    d.kinds_cmd()
        .args(["read", "0x40"])
        .assert()
        .success()
        .stdout("0x44332211\n");
    // without a spec too
    d.cmd(None)
        .args(["read", "0x40", "-w", "16"])
        .assert()
        .success()
        .stdout("0x2211\n");
}

#[test]
fn raw_access_must_be_aligned_and_inside() {
    let d = Dev::kinds();
    d.kinds_cmd()
        .args(["read", "0x2", "--width", "32"])
        .assert()
        .code(2)
        .stderr(contains("not aligned for a 32-bit access"));
    d.kinds_cmd()
        .args(["read", "0x1000"])
        .assert()
        .code(2)
        .stderr(contains("outside block regs"));
    d.cmd(None)
        .args(["read", "0x2000"])
        .assert()
        .code(2)
        .stderr(contains("outside the region"));
    d.kinds_cmd()
        .args(["read", "0x0", "--width", "12"])
        .assert()
        .code(2)
        .stderr(contains("8, 16, 32 or 64"));
}

#[test]
fn arrays() {
    let d = Dev::kinds();
    d.poke32(0x10c, 0x0000_2010);
    d.kinds_cmd()
        .args(["read", "GAIN[3]"])
        .assert()
        .success()
        .stdout("0x00002010\n");
    d.kinds_cmd()
        .args(["read", "GAIN[3].TRIM"])
        .assert()
        .success()
        .stdout("0x20\n");
    let out = d.kinds_cmd().args(["read", "GAIN"]).output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 8);
    d.kinds_cmd()
        .args(["write", "GAIN[7].GAIN=0x33"])
        .assert()
        .success();
    assert_eq!(d.peek32(0x11c), 0x33);
    d.kinds_cmd()
        .args(["read", "GAIN[8]"])
        .assert()
        .code(2)
        .stderr(contains("GAIN[8] is out of range").and(contains("GAIN[0] to GAIN[7]")));
    d.kinds_cmd()
        .args(["write", "GAIN=1"])
        .assert()
        .code(2)
        .stderr(contains("array of 8 registers"));
    d.kinds_cmd()
        .args(["read", "CTRL[0]"])
        .assert()
        .code(2)
        .stderr(contains("not a register array"));
}

#[test]
fn reading_write_only_is_refused() {
    let d = Dev::edu();
    d.edu_cmd()
        .args(["read", "IRQ_ACK"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains("IRQ_ACK is write-only (wo)").and(contains("read 0x64 --width 32")));
    let k = Dev::kinds();
    k.kinds_cmd()
        .args(["read", "CTRL.SWRESET"])
        .assert()
        .code(2)
        .stderr(contains("write-only field"));
}

#[test]
fn explicit_read_of_a_side_effect_register_is_allowed() {
    let d = Dev::kinds();
    d.poke(0x14, &[0xcd, 0xab]);
    d.kinds_cmd()
        .args(["read", "FIFO"])
        .assert()
        .success()
        .stdout("0xabcd\n");
}

// ---------------------------------------------------------------- did you mean

#[test]
fn unknown_register_suggests_near_names() {
    let d = Dev::edu();
    d.edu_cmd()
        .args(["read", "STATSU"])
        .assert()
        .code(2)
        .stderr(contains("unknown register \"STATSU\"").and(contains("did you mean STATUS?")));
    // a field named without its register
    d.edu_cmd()
        .args(["read", "COMPUTING"])
        .assert()
        .code(2)
        .stderr(contains("did you mean STATUS.COMPUTING?"));
    // nothing close: the list of registers
    d.edu_cmd()
        .args(["read", "XYZZY"])
        .assert()
        .code(2)
        .stderr(contains("registers: ID, LIVENESS"));
}

#[test]
fn unknown_field_and_enum_suggest_near_names() {
    let d = Dev::edu();
    d.edu_cmd()
        .args(["read", "STATUS.COMPUTNG"])
        .assert()
        .code(2)
        .stderr(
            contains("unknown field \"COMPUTNG\" of register STATUS")
                .and(contains("did you mean STATUS.COMPUTING?")),
        );
    let k = Dev::kinds();
    k.kinds_cmd()
        .args(["write", "CTRL.MODE=TSET"])
        .assert()
        .code(2)
        .stderr(
            contains("unknown value \"TSET\"")
                .and(contains("did you mean TEST?"))
                .and(contains("IDLE=0, RUN=1, TEST=2")),
        );
    d.edu_cmd()
        .args(["--block", "reg", "read", "ID"])
        .assert()
        .code(2)
        .stderr(contains("did you mean regs?"));
    regpoke()
        .args(["--spec", "eduu", "--file", "/nonexistent", "read", "ID"])
        .assert()
        .code(2)
        .stderr(contains("did you mean edu?"));
}

#[test]
fn unknown_subcommand_gets_clap_suggestion() {
    regpoke()
        .arg("raed")
        .assert()
        .code(2)
        .stderr(contains("similar subcommand exists: 'read'"));
}

// ---------------------------------------------------------------- write

#[test]
fn write_register_is_one_plain_store() {
    let d = Dev::edu();
    d.edu_cmd()
        .args(["write", "LIVENESS=0x12345678"])
        .assert()
        .success()
        .stdout("");
    assert_eq!(d.peek32(4), 0x1234_5678);
    // several assignments in one call
    d.edu_cmd()
        .args(["write", "FACTORIAL=10", "DMA_SRC=0x1122334455667788"])
        .assert()
        .success();
    assert_eq!(d.peek32(8), 10);
    assert_eq!(d.peek64(0x80), 0x1122_3344_5566_7788);
}

#[test]
fn raw_writes_touch_exactly_their_bytes() {
    let d = Dev::kinds();
    d.poke(0x40, &[0xff; 16]);
    d.kinds_cmd()
        .args(["write", "0x41=0x00", "--width", "8"])
        .assert()
        .success();
    d.kinds_cmd()
        .args(["write", "0x44=0x1234", "--width", "16"])
        .assert()
        .success();
    d.kinds_cmd()
        .args(["write", "0x48=0x0102030405060708", "--width", "64"])
        .assert()
        .success();
    let b = d.bytes();
    assert_eq!(
        &b[0x40..0x50],
        &[
            0xff, 0x00, 0xff, 0xff, 0x34, 0x12, 0xff, 0xff, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03,
            0x02, 0x01
        ]
    );
    assert!(b[..0x40].iter().all(|&x| x == 0) && b[0x50..].iter().all(|&x| x == 0));
    d.kinds_cmd()
        .args(["write", "0x40=0x100", "--width", "8"])
        .assert()
        .code(2)
        .stderr(contains("wider than 0x40 (8-bit)"));
}

#[test]
fn value_mask_writes_change_only_the_mask() {
    let d = Dev::edu();
    d.poke32(4, 0xaaaa_aaaa);
    d.edu_cmd()
        .args(["write", "LIVENESS=0x5:0xf"])
        .assert()
        .success();
    assert_eq!(d.peek32(4), 0xaaaa_aaa5);
    // raw value:mask
    d.edu_cmd()
        .args(["write", "0x4=0x50:0xf0"])
        .assert()
        .success();
    assert_eq!(d.peek32(4), 0xaaaa_aa55);
    d.edu_cmd()
        .args(["write", "LIVENESS=0xff:0x0f"])
        .assert()
        .code(2)
        .stderr(contains("bits outside the mask"));
}

#[test]
fn field_write_is_a_read_modify_write_of_rw_registers() {
    let d = Dev::edu();
    d.poke32(0x20, 0x0000_0001);
    d.edu_cmd()
        .args(["write", "STATUS.IRQFACT=1"])
        .assert()
        .success();
    assert_eq!(d.peek32(0x20), 0x81);
    d.edu_cmd()
        .args(["write", "STATUS.IRQFACT=0"])
        .assert()
        .success();
    assert_eq!(d.peek32(0x20), 0x01);
}

#[test]
fn rmw_of_rw_register_writes_zero_to_w1c_w1s_wo_fields_not_named() {
    let k = Dev::kinds();
    // BUSY (ro) 8, ERR (w1c) 9, KICK (w1s) 10, RESET (wo) 31 all read as 1.
    k.poke32(0x04, 0x8000_0700);
    k.kinds_cmd()
        .args(["write", "CTRL.ENABLE=1", "CTRL.MODE=RUN"])
        .assert()
        .success();
    assert_eq!(k.peek32(0x04), 0x0000_0103);
    // naming the w1c field writes it
    k.poke32(0x04, 0x0000_0200);
    k.kinds_cmd()
        .args(["write", "CTRL.ERR=1"])
        .assert()
        .success();
    assert_eq!(k.peek32(0x04), 0x0000_0200);
}

#[test]
fn w1c_and_w1s_field_writes_are_plain_writes_without_a_read() {
    let k = Dev::kinds();
    // FLAGS (w1c) has DONE, OVERRUN, ERROR set; writing DONE=1 writes just bit 0.
    k.poke32(0x08, 0x7);
    k.kinds_cmd()
        .args(["-vv", "write", "FLAGS.DONE=1"])
        .assert()
        .success()
        .stderr(contains("write32 0x8 <- 0x00000001").and(contains("read32").not()));
    assert_eq!(k.peek32(0x08), 0x1);
    k.poke32(0x0c, 0x1);
    k.kinds_cmd()
        .args(["write", "ENABLES.B=1"])
        .assert()
        .success();
    assert_eq!(k.peek32(0x0c), 0x2);
}

/// MIXED is w1c with an rw MASK field: a field write reads it, keeps MASK
/// and writes every w1c bit it does not name as 0 (the 1 read from PENDING
/// is never written back), the rule generated `modify` follows too.
#[test]
fn field_write_of_a_w1c_register_keeps_its_rw_fields() {
    let k = Dev::kinds();
    k.poke32(0x2c, 0x101);
    k.kinds_cmd()
        .args(["-vv", "write", "MIXED.PENDING=1"])
        .assert()
        .success()
        .stderr(contains("read32 0x2c").and(contains("write32 0x2c <- 0x00000101")));
    k.poke32(0x2c, 0x1);
    k.kinds_cmd()
        .args(["write", "MIXED.MASK=1"])
        .assert()
        .success();
    assert_eq!(
        k.peek32(0x2c),
        0x100,
        "PENDING read as 1 must not be written back"
    );
    // naming every state bit makes it a plain write
    k.kinds_cmd()
        .args(["-vv", "write", "MIXED.PENDING=1", "MIXED.MASK=0"])
        .assert()
        .success()
        .stderr(contains("write32 0x2c <- 0x00000001").and(contains("read32").not()));
}

#[test]
fn write_only_field_writes_merge_and_zero_the_rest() {
    let k = Dev::kinds();
    k.poke32(0x10, 0xffff_ffff);
    k.kinds_cmd()
        .args(["write", "DOORBELL.PEER=1", "DOORBELL.VECTOR=2"])
        .assert()
        .success();
    assert_eq!(k.peek32(0x10), 0x0001_0002);
    let d = Dev::edu();
    d.edu_cmd()
        .args(["write", "IRQ_ACK.FACT=1"])
        .assert()
        .success();
    assert_eq!(d.peek32(0x64), 1);
    k.kinds_cmd()
        .args(["write", "DOORBELL.PEER=1", "DOORBELL.PEER=2"])
        .assert()
        .code(2)
        .stderr(contains(
            "DOORBELL.PEER is assigned more than once in one write",
        ));
}

#[test]
fn writing_read_only_is_refused() {
    let d = Dev::edu();
    d.edu_cmd()
        .args(["write", "ID=1"])
        .assert()
        .code(2)
        .stderr(contains("ID is read-only (ro)").and(contains("write 0x0=VALUE --width 32")));
    assert_eq!(d.peek32(0), 0x0100_00ed);
    d.edu_cmd()
        .args(["write", "STATUS.COMPUTING=0"])
        .assert()
        .code(2)
        .stderr(contains("read-only field"));
    let k = Dev::kinds();
    k.kinds_cmd()
        .args(["write", "FIFO=1"])
        .assert()
        .code(2)
        .stderr(contains("read-only (rc)"));
}

#[test]
fn values_wider_than_the_field_or_register_are_refused() {
    let d = Dev::edu();
    d.edu_cmd()
        .args(["write", "STATUS.IRQFACT=2"])
        .assert()
        .code(2)
        .stderr(contains(
            "value 0x2 is wider than field STATUS.IRQFACT (1 bit)",
        ));
    d.edu_cmd()
        .args(["write", "LIVENESS=0x100000000"])
        .assert()
        .code(2)
        .stderr(contains("wider than LIVENESS (32-bit)"));
    d.edu_cmd()
        .args(["write", "LIVENESS=12x"])
        .assert()
        .code(2)
        .stderr(contains("not a number"));
    d.edu_cmd()
        .args(["write", "LIVENESS"])
        .assert()
        .code(2)
        .stderr(contains("not an assignment"));
}

/// INTR_STATUS has read side effects, so its field writes are
/// `from_reset`: built from the reset value and the named fields, never
/// from a read that would clear it.
#[test]
fn field_write_of_a_side_effect_register_never_reads_it() {
    let k = Dev::kinds();
    k.poke32(0x28, 0x2);
    k.kinds_cmd()
        .args(["-vv", "write", "INTR_STATUS.A=1"])
        .assert()
        .success()
        .stderr(contains("write32 0x28 <- 0x00000001").and(contains("read32").not()));
    assert_eq!(k.peek32(0x28), 0x1);
    k.kinds_cmd()
        .args(["write", "INTR_STATUS=0"])
        .assert()
        .success();
    assert_eq!(k.peek32(0x28), 0);
}

#[test]
fn enum_names_are_accepted_as_values() {
    let k = Dev::kinds();
    k.kinds_cmd()
        .args(["write", "CTRL.MODE=TEST"])
        .assert()
        .success();
    assert_eq!(k.peek32(4), 0x4);
    k.kinds_cmd()
        .args(["read", "CTRL.MODE", "--decode"])
        .assert()
        .success()
        .stdout("CTRL.MODE = 0x2 (TEST)\n");
}

#[test]
fn readback_prints_the_value_read_after_the_write() {
    let d = Dev::edu();
    d.edu_cmd()
        .args(["write", "LIVENESS=0x12345678", "--readback"])
        .assert()
        .success()
        .stdout("0x12345678\n");
    d.edu_cmd()
        .args(["write", "IRQ_ACK=1", "--readback"])
        .assert()
        .success()
        .stdout("")
        .stderr(contains("IRQ_ACK not read back (write-only)"));
}

#[test]
fn write_dry_run_leaves_the_file_alone() {
    let d = Dev::edu();
    let before = d.bytes();
    d.edu_cmd()
        .args(["write", "STATUS.IRQFACT=1", "LIVENESS=5", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("read-modify-write STATUS").and(contains("write 0x00000005 to LIVENESS")));
    assert_eq!(d.bytes(), before);
}

// ---------------------------------------------------------------- dump

#[test]
fn dump_decodes_and_lists_skipped_registers() {
    let k = Dev::kinds();
    k.poke32(0x04, 0x4);
    k.kinds_cmd()
        .arg("dump")
        .assert()
        .success()
        .stdout(
            contains("MODE    = 0x2 (TEST)")
                .and(contains("SWRESET   (write-only)"))
                .and(contains("skipped: DOORBELL (write-only), FIFO (read side effects), EVENT (read side effects), INTR_STATUS (read side effects)"))
                .and(contains("GAIN[7]")),
        );
    let (v, code) = json_of(
        k.kinds_cmd()
            .args(["dump", "--include-side-effects", "--json"]),
    );
    assert_eq!(code, 0);
    let skipped = v["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["target"], "DOORBELL");
    assert_eq!(skipped[0]["reason"], "write-only");
    let regs = v["registers"].as_array().unwrap();
    assert!(regs
        .iter()
        .any(|r| r["target"] == "FIFO" && r["read_side_effects"] == true));
}

#[test]
fn dump_json_shape() {
    let d = Dev::edu();
    let (v, code) = json_of(d.edu_cmd().args(["--json", "dump"]));
    assert_eq!(code, 0);
    assert_eq!(v["regpoke"], 1);
    assert_eq!(v["command"], "dump");
    assert_eq!(v["spec"]["name"], "edu");
    assert_eq!(v["block"], "regs");
    assert_eq!(v["backend"]["kind"], "file");
    assert_eq!(v["backend"]["len"], 1 << 20);
    assert!(v["error"].is_null());
    let id = &v["registers"][0];
    assert_eq!(id["target"], "ID");
    assert_eq!(id["value"], 0x0100_00ed);
    assert_eq!(id["hex"], "0x010000ed");
    assert_eq!(id["access"], "ro");
    assert_eq!(id["fields"][0]["name"], "MAGIC");
    assert_eq!(id["fields"][0]["bits"], "7:0");
    assert_eq!(id["fields"][0]["value"], 0xed);
    let skipped: Vec<&str> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["target"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["IRQ_RAISE", "IRQ_ACK"]);
}

#[test]
fn dump_of_a_window_has_no_registers() {
    let k = Dev::kinds();
    k.kinds_cmd()
        .args(["--block", "window", "dump"])
        .assert()
        .success()
        .stdout("");
    k.kinds_cmd()
        .args(["--block", "window", "read", "FOO"])
        .assert()
        .code(2)
        .stderr(contains("memory window"));
    k.kinds_cmd()
        .args(["--block", "window", "read", "0x10"])
        .assert()
        .success()
        .stdout("0x00000000\n");
}

// ---------------------------------------------------------------- JSON shapes

#[test]
fn read_json_shape() {
    let d = Dev::edu();
    d.poke32(0x20, 0x1);
    let (v, code) = json_of(
        d.edu_cmd()
            .args(["read", "ID", "STATUS.COMPUTING", "0x20", "--json"]),
    );
    assert_eq!(code, 0);
    assert_eq!(v["command"], "read");
    let r = v["reads"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["target"], "ID");
    assert_eq!(r[0]["register"], "ID");
    assert_eq!(r[0]["offset"], 0);
    assert_eq!(r[0]["width"], 32);
    assert_eq!(r[0]["fields"].as_array().unwrap().len(), 3);
    assert_eq!(r[1]["target"], "STATUS.COMPUTING");
    assert_eq!(r[1]["field"], "COMPUTING");
    assert_eq!(r[1]["value"], 1);
    assert_eq!(r[1]["hex"], "0x1");
    assert_eq!(r[1]["enum"], "BUSY");
    assert_eq!(r[1]["register_value"], 1);
    assert_eq!(r[2]["target"], "0x20");
    assert!(r[2]["register"].is_null());
}

#[test]
fn a_single_command_maps_only_the_pages_it_touches() {
    // The kernel fills in every page table entry of a UIO, resourceN or
    // /dev/mem mapping when it is made: one register, one page.
    let page = hal_core::page_size() as u64;
    let d = Dev::edu();
    let len = |args: &[&str]| {
        let (v, code) = json_of(d.edu_cmd().args(args).arg("--json"));
        assert_eq!(code, 0, "{args:?}: {v}");
        v["backend"]["len"].as_u64().unwrap()
    };
    assert_eq!(len(&["read", "ID"]), page);
    assert_eq!(len(&["read", "ID", "DMA_CMD"]), page);
    assert_eq!(len(&["write", "LIVENESS=1"]), page);
    assert_eq!(
        len(&[
            "watch",
            "STATUS.COMPUTING",
            "--until",
            "==0",
            "--timeout",
            "1s"
        ]),
        page
    );
    let far = format!("{:#x}", 2 * page - 4);
    assert_eq!(len(&["read", &far, "--width", "32"]), 2 * page);
    // dump reads every register: the whole block.
    assert_eq!(len(&["dump"]), 1 << 20);
}

#[test]
fn write_json_shape() {
    let d = Dev::edu();
    let (v, code) = json_of(d.edu_cmd().args([
        "--json",
        "write",
        "STATUS.IRQFACT=1",
        "LIVENESS=7",
        "--readback",
    ]));
    assert_eq!(code, 0);
    let w = v["writes"].as_array().unwrap();
    assert_eq!(w[0]["target"], "STATUS");
    assert_eq!(w[0]["assignments"][0], "STATUS.IRQFACT=1");
    assert_eq!(w[0]["mode"], "rmw");
    assert_eq!(w[0]["previous"], 0);
    assert_eq!(w[0]["value"], 0x80);
    assert_eq!(w[0]["readback"], 0x80);
    assert_eq!(w[1]["mode"], "write");
    assert!(w[1]["previous"].is_null());
    assert_eq!(w[1]["readback_hex"], "0x00000007");
}

#[test]
fn errors_are_json_documents_too() {
    let d = Dev::edu();
    let (v, code) = json_of(d.edu_cmd().args(["--json", "read", "STATSU"]));
    assert_eq!(code, 2);
    assert_eq!(v["command"], "read");
    assert_eq!(v["error"]["kind"], "usage");
    assert_eq!(v["error"]["exit_code"], 2);
    assert!(v["error"]["message"].as_str().unwrap().contains("STATSU"));
    assert!(v["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("did you mean STATUS?"));
}

// ---------------------------------------------------------------- watch

#[test]
fn watch_returns_when_the_condition_holds() {
    let d = Dev::edu();
    d.edu_cmd()
        .args([
            "watch",
            "STATUS.COMPUTING",
            "--until",
            "==0",
            "--timeout",
            "1s",
        ])
        .assert()
        .success()
        .stdout("0x0\n");
    d.edu_cmd()
        .args([
            "watch",
            "STATUS",
            "--until",
            "COMPUTING==IDLE",
            "--timeout",
            "1s",
        ])
        .assert()
        .success();
    d.edu_cmd()
        .args([
            "watch",
            "STATUS.COMPUTING",
            "--until",
            "STATUS.COMPUTING==IDLE",
            "--timeout",
            "500ms",
        ])
        .assert()
        .success();
    d.poke32(0x20, 0x80);
    for cond in [
        "&0x80",
        "!=0",
        ">0x7f",
        "&0xff==0x80",
        "!&0x1",
        "0x80",
        ">=128",
        "<0x81",
        "<=0x80",
    ] {
        d.edu_cmd()
            .args(["watch", "STATUS", "--until", cond, "--timeout", "100ms"])
            .assert()
            .success();
    }
}

#[test]
fn watch_timeout_exits_3() {
    let d = Dev::edu();
    d.poke32(0x20, 0x1);
    let start = std::time::Instant::now();
    d.edu_cmd()
        .args([
            "watch",
            "STATUS.COMPUTING",
            "--until",
            "==IDLE",
            "--timeout",
            "200ms",
            "--interval",
            "10ms",
        ])
        .assert()
        .code(3)
        .stdout("")
        .stderr(contains("did not hold within 200ms").and(contains("0x1 (BUSY)")));
    assert!(start.elapsed() >= std::time::Duration::from_millis(200));
    let (v, code) = json_of(d.edu_cmd().args([
        "--json",
        "watch",
        "STATUS.COMPUTING",
        "--until",
        "==0",
        "--timeout",
        "50ms",
    ]));
    assert_eq!(code, 3);
    assert_eq!(v["held"], false);
    assert_eq!(v["value"], 1);
    assert_eq!(v["enum"], "BUSY");
    assert_eq!(v["condition"], "STATUS.COMPUTING==0x0");
    assert_eq!(v["error"]["exit_code"], 3);
    assert!(v["reads"].as_u64().unwrap() >= 1);
}

#[test]
fn watch_sees_a_change_made_by_another_process() {
    let d = Dev::edu();
    d.poke32(0x20, 0x1);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_regpoke"))
        .args(["--spec", "edu", "--file"])
        .arg(&d.file)
        .args([
            "watch",
            "STATUS.COMPUTING",
            "--until",
            "==IDLE",
            "--timeout",
            "10s",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    d.edu_cmd().args(["write", "0x20=0"]).assert().success();
    assert!(child.wait().unwrap().success());
}

#[test]
fn watch_condition_errors() {
    let d = Dev::edu();
    d.edu_cmd()
        .args([
            "watch",
            "STATUS",
            "--until",
            "COMPUTNG==0",
            "--timeout",
            "1s",
        ])
        .assert()
        .code(2)
        .stderr(contains("did you mean COMPUTING?"));
    d.edu_cmd()
        .args(["watch", "STATUS", "--until", "==0", "--timeout", "soon"])
        .assert()
        .code(2)
        .stderr(contains("invalid duration"));
    d.edu_cmd()
        .args([
            "watch",
            "STATUS.COMPUTING",
            "--until",
            "==DONE",
            "--timeout",
            "1s",
        ])
        .assert()
        .code(2)
        .stderr(contains("did you mean").or(contains("IDLE=0, BUSY=1")));
    d.edu_cmd()
        .args(["watch", "IRQ_ACK", "--until", "==0", "--timeout", "1s"])
        .assert()
        .code(2);
}

// ---------------------------------------------------------------- batch

#[test]
fn batch_runs_every_line_over_one_mapping() {
    let d = Dev::edu();
    let script = d.dir.path().join("ops.txt");
    std::fs::write(
        &script,
        "# factorial-like sequence\n\
         write LIVENESS=0x12345678   # comment\n\
         read LIVENESS\n\
         \n\
         expect LIVENESS 0x12345678\n\
         write STATUS.IRQFACT=1 FACTORIAL=10\n\
         expect STATUS.IRQFACT==1\n\
         expect STATUS &0x80\n\
         watch STATUS.COMPUTING --until ==IDLE --timeout 1s\n\
         sleep 1ms\n\
         read FACTORIAL ID.MAJOR\n",
    )
    .unwrap();
    d.edu_cmd()
        .arg("batch")
        .arg(&script)
        .assert()
        .success()
        .stdout("0x12345678\n0x0\n0x0000000a\n0x01\n");
    assert_eq!(d.peek32(0x20), 0x80);
}

#[test]
fn batch_from_stdin_and_json() {
    let d = Dev::edu();
    let (v, code) = json_of(
        d.edu_cmd()
            .args(["--json", "batch", "-"])
            .write_stdin("write LIVENESS=3\nread LIVENESS\nexpect ID 0x010000ed\n"),
    );
    assert_eq!(code, 0);
    assert_eq!(v["command"], "batch");
    assert_eq!(v["ok"], true);
    assert_eq!(v["file"], "<stdin>");
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0]["line"], 1);
    assert_eq!(steps[0]["command"], "write");
    assert_eq!(steps[1]["reads"][0]["value"], 3);
    assert_eq!(steps[2]["command"], "expect");
    assert_eq!(steps[2]["held"], true);
}

#[test]
fn batch_stops_at_the_first_failure_with_its_exit_code() {
    let d = Dev::edu();
    d.edu_cmd()
        .args(["batch", "-"])
        .write_stdin("write LIVENESS=1\nexpect LIVENESS 2\nwrite LIVENESS=3\n")
        .assert()
        .code(3)
        .stderr(contains(
            "<stdin>:2: expect LIVENESS==0x2 failed: LIVENESS is 0x00000001",
        ));
    assert_eq!(d.peek32(4), 1);
    d.poke32(0x20, 1);
    let (v, code) = json_of(d.edu_cmd().args(["--json", "batch", "-"]).write_stdin(
        "write LIVENESS=4\nwatch STATUS.COMPUTING --until ==0 --timeout 20ms\nwrite LIVENESS=5\n",
    ));
    assert_eq!(code, 3);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["line"], 2);
    assert_eq!(v["steps"].as_array().unwrap().len(), 2);
    assert_eq!(d.peek32(4), 4);
}

#[test]
fn batch_checks_every_line_before_running_any() {
    let d = Dev::edu();
    d.edu_cmd()
        .args(["batch", "-"])
        .write_stdin("write LIVENESS=9\n\nwrite STATSU.X=1\n")
        .assert()
        .code(2)
        .stderr(
            contains("<stdin>:3: unknown register \"STATSU\"")
                .and(contains("did you mean STATUS?"))
                .and(contains("nothing was run")),
        );
    assert_eq!(d.peek32(4), 0);
    d.edu_cmd()
        .args(["batch", "-"])
        .write_stdin("read ID\nraed ID\n")
        .assert()
        .code(2)
        .stderr(contains("<stdin>:2: unrecognized subcommand 'raed'").and(contains("'read'")));
    d.edu_cmd()
        .args(["batch", "-"])
        .write_stdin("write ID=1\n")
        .assert()
        .code(2)
        .stderr(contains("<stdin>:1: ID is read-only"));
}

#[test]
fn batch_dry_run_prints_the_plan_and_leaves_the_file_unchanged() {
    let d = Dev::edu();
    let before = d.bytes();
    d.edu_cmd()
        .args(["batch", "-", "--dry-run"])
        .write_stdin("write LIVENESS=0x12345678\nwrite STATUS.IRQFACT=1\nread ID\nwatch STATUS.COMPUTING --until ==0 --timeout 1s\nirq wait --timeout 1s\nsleep 10ms\nexpect ID 0x010000ed\n")
        .assert()
        .success()
        .stdout(
            contains("<stdin>:1: write 0x12345678 to LIVENESS (0x4, 32-bit), no read")
                .and(contains("<stdin>:2: read-modify-write STATUS"))
                .and(contains("<stdin>:3: read ID"))
                .and(contains("<stdin>:5: wait for an interrupt"))
                .and(contains("<stdin>:7: read ID (0x0, 32-bit) and check ID==0x10000ed")),
        );
    assert_eq!(d.bytes(), before);
    // a dry run needs no device at all
    regpoke()
        .args(["--spec", "edu", "batch", "-", "--dry-run"])
        .write_stdin("write IRQ_ACK.FACT=1\n")
        .assert()
        .success()
        .stdout(contains("write 0x00000001 to IRQ_ACK"));
}

// ---------------------------------------------------------------- irq

#[test]
fn irq_needs_uio() {
    let d = Dev::edu();
    d.edu_cmd()
        .args(["irq", "wait", "--timeout", "10ms"])
        .assert()
        .code(2)
        .stderr(contains("interrupts need a UIO or VFIO device").and(contains("--uio")));
}

// ---------------------------------------------------------------- selection errors

#[test]
fn selection_errors() {
    regpoke()
        .args(["read", "0x0"])
        .assert()
        .code(2)
        .stderr(contains("no device selected"));
    regpoke()
        .args(["--file", "/nonexistent/x", "read", "0x0"])
        .assert()
        .code(1)
        .stderr(contains("/nonexistent/x"));
    regpoke()
        .args(["--file", "/dev/null", "--devmem", "0x1000", "read", "0x0"])
        .assert()
        .code(2)
        .stderr(contains("--file and --devmem select different devices"));
    let d = Dev::edu();
    d.cmd(None)
        .args(["read", "ID"])
        .assert()
        .code(2)
        .stderr(contains("names need a register map"));
    regpoke()
        .args(["--spec", "/nonexistent.yaml", "read", "ID"])
        .assert()
        .code(2)
        .stderr(contains("cannot read the file"));
}

#[test]
fn a_small_file_limits_the_mapping() {
    let d = Dev::new(0x100);
    d.poke32(0, 0x0100_00ed);
    d.edu_cmd()
        .args(["read", "ID"])
        .assert()
        .success()
        .stdout("0x010000ed\n");
    d.edu_cmd()
        .args(["read", "0x200"])
        .assert()
        .code(2)
        .stderr(contains("outside the region"));
}

// ---------------------------------------------------------------- spec

#[test]
fn spec_check_reports_every_error_with_location() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: bad\nblocks:\n  - name: regs\n    size: 0x10\n    registers:\n      - name: A\n        offset: 0x2\n        acess: rw\n",
    )
    .unwrap();
    let b = bad.display().to_string();
    regpoke()
        .args(["spec", "check", "--message-format", "short", &b])
        .assert()
        .code(2)
        .stderr(
            contains(format!("{b}:7:17: error:"))
                .and(contains(format!("{b}:8:9: error: unknown key `acess`")))
                .and(contains("did you mean `access`?")),
        );
    regpoke()
        .args(["spec", "check", kinds_spec().to_str().unwrap(), "edu"])
        .assert()
        .success()
        .stdout(contains("kinds.yaml: ok (2 blocks, 15 registers").and(contains("edu: ok")));
    let (v, code) = json_of(regpoke().args(["spec", "check", &b, "ivshmem", "--json"]));
    assert_eq!(code, 2);
    assert_eq!(v["ok"], false);
    assert_eq!(v["files"][0]["errors"][0]["line"], 7);
    assert_eq!(v["files"][0]["errors"][0]["column"], 17);
    assert_eq!(v["files"][1]["ok"], true);
    // a bad spec given to a device command is exit 2 too
    regpoke()
        .args(["--spec", &b, "--file", "/dev/null", "read", "A"])
        .assert()
        .code(2)
        .stderr(contains("invalid register map"));
}

/// The map `spec check` output tests use: a duplicate register (with a
/// first declaration to point at) and a misaligned offset.
fn two_mistakes(dir: &std::path::Path) -> String {
    let bad = dir.join("two.yaml");
    std::fs::write(
        &bad,
        "name: bad\nblocks:\n  - name: regs\n    size: 0x10\n    registers:\n      - name: A\n        offset: 0x0\n      - name: A\n        offset: 0x6\n",
    )
    .unwrap();
    bad.display().to_string()
}

#[test]
fn spec_check_shows_errors_in_rustcs_form_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let b = two_mistakes(dir.path());
    let out = regpoke()
        .args(["spec", "check", &b])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: duplicate register name `A` in block `regs` (first declared at 6:15)
 --> {b}:8:15
  |
6 |       - name: A
  |               - first declared here
7 |         offset: 0x0
8 |       - name: A
  |               ^

error: offset 0x6 of register `A` is not a multiple of 4: 32-bit registers must be aligned to their width
 --> {b}:9:17
  |
9 |         offset: 0x6
  |                 ^^^

{b}: 2 errors
"
        ),
        "no colour: stderr is not a terminal"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn spec_check_message_format_short_and_json_give_one_line_per_error() {
    let dir = tempfile::tempdir().unwrap();
    let b = two_mistakes(dir.path());
    let short = format!(
        "{b}:8:15: error: duplicate register name `A` in block `regs` (first declared at 6:15)\n\
         {b}:9:17: error: offset 0x6 of register `A` is not a multiple of 4: 32-bit registers must be aligned to their width\n"
    );
    regpoke()
        .args(["spec", "check", "--message-format", "short", &b])
        .assert()
        .code(2)
        .stderr(format!("{short}{b}: 2 errors\n"));
    // --json: the document on stdout, the same lines (and no summary) on stderr.
    let out = regpoke()
        .args(["spec", "check", "--json", &b])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr), short);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = &v["files"][0]["errors"];
    assert_eq!(errors.as_array().unwrap().len(), 2);
    assert_eq!(
        errors[0]["message"],
        "duplicate register name `A` in block `regs` (first declared at 6:15)"
    );
    assert_eq!(errors[1]["line"], 9);
    assert_eq!(errors[1]["column"], 17);
    // An unknown format is refused by name.
    regpoke()
        .args(["spec", "check", "--message-format", "long", &b])
        .assert()
        .code(2)
        .stderr(contains("possible values: human, short"));
}

#[test]
fn spec_doc_is_markdown() {
    regpoke()
        .args(["spec", "doc", "edu"])
        .assert()
        .success()
        .stdout(
            contains("# edu")
                .and(contains("PCI vendor:device `1234:11e8`; BAR0 = `regs`."))
                .and(contains(
                    "| Offset | Register | Width | Access | Reset | Description |",
                ))
                .and(contains("### regs.STATUS"))
                .and(contains("| 0 | COMPUTING | ro |"))
                .and(contains("`IDLE` = 0"))
                // a shipped map's descriptions (left out of its prebuilt model)
                .and(contains("Start the transfer; reads 1 while it runs."))
                .and(contains("| 0 | RUN | rw, self-clearing |"))
                .and(contains(
                    "**a store starts an action**, field writes `from_reset`",
                )),
        );
    regpoke()
        .args(["spec", "doc", kinds_spec().to_str().unwrap()])
        .assert()
        .success()
        .stdout(
            contains("array of 8 with stride 0x4").and(contains("**a read has side effects**")),
        );
}

// ---------------------------------------------------------------- completions, man, help

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        regpoke()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(contains("regpoke"));
    }
    regpoke()
        .arg("man")
        .assert()
        .success()
        .stdout(contains(".TH regpoke").and(contains("batch")));
    regpoke().arg("--help").assert().success().stdout(
        contains("Exit status:")
            .and(contains("read"))
            .and(contains("watch"))
            .and(contains("irq")),
    );
}

/// Messages about 8-bit accesses say "an 8-bit", not "a 8-bit".
#[test]
fn eight_bit_messages_use_the_right_article() {
    let d = Dev::kinds();
    d.kinds_cmd()
        .args(["read", "BYTE", "--width", "32"])
        .assert()
        .code(2)
        .stderr(contains("it is an 8-bit register"));
}

/// Every register value and address in JSON has an exact hex string
/// beside it (JavaScript readers lose precision above 2^53).
#[test]
fn json_numbers_above_2_pow_53_have_exact_hex_siblings() {
    let d = Dev::kinds();
    d.poke(0x20, &u64::MAX.to_le_bytes());
    let (v, code) = json_of(d.kinds_cmd().args(["--json", "read", "COUNTER"]));
    assert_eq!(code, 0);
    assert_eq!(v["reads"][0]["hex"], "0xffffffffffffffff");
    assert_eq!(v["reads"][0]["register_hex"], "0xffffffffffffffff");
    let (v, code) = json_of(d.kinds_cmd().args(["--json", "write", "COUNTER=1:1"]));
    assert_eq!(code, 0);
    assert_eq!(v["writes"][0]["previous_hex"], "0xffffffffffffffff");
    assert_eq!(v["writes"][0]["hex"], "0xffffffffffffffff");
    assert_eq!(v["backend"]["phys_hex"], serde_json::Value::Null);
}

/// A bad map given to a device command is shown like `spec check` shows
/// it (rustc's form, with the source line and a caret) on the terminal,
/// and as one line per error in the JSON document.
#[test]
fn an_invalid_map_given_to_a_command_is_shown_in_rustcs_form() {
    let d = Dev::kinds();
    let bad = d.dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: d\nblocks:\n  - name: b\n    size: 0x10\n    registers:\n      - { name: A, offset: 0x3 }\n",
    )
    .unwrap();
    d.cmd(Some(bad.to_str().unwrap()))
        .args(["read", "A"])
        .assert()
        .code(2)
        .stderr(
            contains("error: offset 0x3 of register `A` is not a multiple of 4")
                .and(contains("6 |       - { name: A, offset: 0x3 }"))
                .and(contains("^^^")),
        );
    let (v, code) = json_of(
        d.cmd(Some(bad.to_str().unwrap()))
            .args(["--json", "read", "A"]),
    );
    assert_eq!(code, 2);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("bad.yaml:6:28: error: offset 0x3"), "{msg}");
    assert!(!msg.contains("^^^"), "{msg}");
}

/// A name typed on the command line is quoted on one line and cut to 40
/// characters: a 100 KB argument or one with a newline neither floods the
/// terminal nor breaks the message in two.
#[test]
fn typed_text_in_messages_is_one_short_line() {
    let d = Dev::edu();
    let huge = "A".repeat(100_000);
    let out = d.edu_cmd().args(["read", &huge]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.len() < 1000, "{} bytes of error", stderr.len());
    assert!(
        stderr.contains(&format!("\"{}…\"", "A".repeat(40))),
        "{stderr}"
    );
    d.edu_cmd()
        .args(["write", "STA\nTUS=1"])
        .assert()
        .code(2)
        .stderr(contains("\"STA\\nTUS\"").and(contains("STA\nTUS").not()));
}
