//! The exact access rules of regpoke, against `--file` images:
//!
//! * a raw offset whose bytes overlap a register whose read has side
//!   effects is not read without `--allow-side-effect-read` (read, watch,
//!   expect, the read of a raw `VALUE:MASK` write, `--readback`);
//! * targets of one `read` that name the same register share one load, and
//!   `watch` does not poll a side-effect register without the flag;
//! * the assignments of one `write` to one register merge into one store
//!   whatever their order, and a bit assigned twice is an error.
//!
//! A file image has no read side effects, so where a test must prove that a
//! load did not happen (or happened once) it counts the `-vv` access trace.

mod common;

use common::Dev;
use predicates::prelude::*;
use predicates::str::contains;

/// How many `-vv` trace lines of `stderr` are loads (`read8` … `read64`).
fn loads(stderr: &[u8]) -> usize {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.starts_with("regpoke: read") && l.contains(" -> "))
        .count()
}

/// How many `-vv` trace lines of `stderr` are stores.
fn stores(stderr: &[u8]) -> usize {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.starts_with("regpoke: write") && l.contains(" <- "))
        .count()
}

/// A map with an array of read-to-clear 16-bit registers, `POP[0..4]` at
/// 0x10, 0x14, 0x18, 0x1c (2 bytes each, stride 4), and a plain `CFG`.
fn fifo_spec(d: &Dev) -> String {
    let path = d.dir.path().join("fifos.yaml");
    std::fs::write(
        &path,
        "name: fifos\n\
         blocks:\n\
         \x20 - name: regs\n\
         \x20   size: 0x100\n\
         \x20   registers:\n\
         \x20     - { name: CFG, offset: 0x0 }\n\
         \x20     - name: POP\n\
         \x20       offset: 0x10\n\
         \x20       width: 16\n\
         \x20       access: rc\n\
         \x20       array: { count: 4, stride: 4 }\n",
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

// ------------------------------------------------ A: raw reads over side effects

/// The ivshmem reproduction: an 8-byte read at 0 covers INTR_STATUS (0x4,
/// read-to-clear). It is refused before any load, naming the register and
/// the flag; with the flag it is one 64-bit load.
#[test]
fn raw_read_overlapping_a_side_effect_register_is_refused() {
    let d = Dev::new(0x100);
    let out = d
        .cmd(Some("ivshmem"))
        .args(["-vv", "read", "0x0", "--width", "64"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(loads(&out.stderr), 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("read 0x0 (64-bit) overlaps INTR_STATUS (0x4, 32-bit)")
            && err.contains("has side effects")
            && err.contains("read INTR_STATUS")
            && err.contains("--allow-side-effect-read"),
        "{err}"
    );
    let out = d
        .cmd(Some("ivshmem"))
        .args(["-vv", "read", "0x0", "--width", "64"])
        .arg("--allow-side-effect-read")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(loads(&out.stderr), 1);
    // the exact raw offset of the register is refused too
    d.cmd(Some("ivshmem"))
        .args(["read", "0x4"])
        .assert()
        .code(2)
        .stderr(contains("overlaps INTR_STATUS"));
    // bytes no side-effect register covers are read as before
    d.cmd(Some("ivshmem"))
        .args(["read", "0x8"])
        .assert()
        .success()
        .stdout("0x00000000\n");
    // naming the register is the explicit request
    d.cmd(Some("ivshmem"))
        .args(["read", "INTR_STATUS"])
        .assert()
        .success();
    // without a map there is nothing to know: raw reads are allowed
    d.cmd(None)
        .args(["read", "0x0", "--width", "64"])
        .assert()
        .success();
}

/// Any element of an array counts, and any overlap of bytes (a narrow
/// access inside a wider register, a wide one spanning several).
#[test]
fn raw_read_overlap_covers_array_elements_and_partial_bytes() {
    let d = Dev::new(0x100);
    let spec = fifo_spec(&d);
    let refused = |args: &[&str], names: &str| {
        d.cmd(Some(&spec))
            .arg("read")
            .args(args)
            .assert()
            .code(2)
            .stderr(contains(format!("overlaps {names}")));
    };
    refused(&["0x14"], "POP[1] (0x14, 16-bit)");
    refused(
        &["0x10", "--width", "64"],
        "POP[0] (0x10, 16-bit), POP[1] (0x14, 16-bit)",
    );
    refused(&["0x1d", "--width", "8"], "POP[3] (0x1c, 16-bit)");
    for ok in [
        &["0x16", "--width", "16"][..],
        &["0x20"],
        &["0x8", "--width", "64"],
    ] {
        d.cmd(Some(&spec)).arg("read").args(ok).assert().success();
    }
    // the batch `read` line follows the same rule, checked before any line runs
    d.cmd(Some(&spec))
        .args(["batch", "-"])
        .write_stdin("write CFG=1\nread 0x14\n")
        .assert()
        .code(2)
        .stderr(contains("<stdin>:2: read 0x14 (32-bit) overlaps POP[1]"));
    assert_eq!(d.peek32(0), 0);
    d.cmd(Some(&spec))
        .args(["batch", "-"])
        .write_stdin("read 0x14 --allow-side-effect-read\n")
        .assert()
        .success();
}

/// `watch` and `expect` on a raw offset follow the rule of `read`.
#[test]
fn raw_watch_and_expect_overlapping_side_effects_need_the_flag() {
    let k = Dev::kinds();
    let out = k
        .kinds_cmd()
        .args(["-vv", "watch", "0x28", "--until", "==0", "--timeout", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(loads(&out.stderr), 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "watch 0x28 (32-bit) overlaps INTR_STATUS (0x28, 32-bit): every poll would read it"
    ));
    k.kinds_cmd()
        .args(["watch", "0x28", "--until", "==0", "--timeout", "1s"])
        .arg("--allow-side-effect-read")
        .assert()
        .success();
    // a 64-bit raw watch at 0x10 spans FIFO (rc, 0x14)
    k.kinds_cmd()
        .args([
            "watch",
            "0x10",
            "-w",
            "64",
            "--until",
            "==0",
            "--timeout",
            "1s",
        ])
        .assert()
        .code(2)
        .stderr(contains("overlaps FIFO (0x14, 16-bit)"));
    k.kinds_cmd()
        .args(["batch", "-"])
        .write_stdin("expect 0x28 0\n")
        .assert()
        .code(2)
        .stderr(
            contains("<stdin>:1: expect 0x28 (32-bit) overlaps INTR_STATUS")
                .and(contains("--allow-side-effect-read")),
        );
    k.kinds_cmd()
        .args(["batch", "-"])
        .write_stdin("expect 0x28 0 --allow-side-effect-read\nwatch 0x28 --until 0 --timeout 1s --allow-side-effect-read\n")
        .assert()
        .success();
    // `expect` of the named register is consent, like `read`
    k.kinds_cmd()
        .args(["batch", "-"])
        .write_stdin("expect INTR_STATUS 0\nexpect INTR_STATUS.B 0\n")
        .assert()
        .success();
}

/// A raw `VALUE:MASK` write reads the word to keep the other bits: over a
/// side-effect register that read is refused (nothing is stored) unless
/// allowed. A whole raw word is one store with no read, as before.
#[test]
fn raw_masked_write_over_a_side_effect_register_needs_the_flag() {
    let k = Dev::kinds();
    k.poke32(0x28, 0x2);
    let out = k
        .kinds_cmd()
        .args(["-vv", "write", "0x28=1:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!((loads(&out.stderr), stores(&out.stderr)), (0, 0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("writing 0x28=1:1 needs a read-modify-write of 0x28")
            && err.contains("overlaps INTR_STATUS (0x28, 32-bit)")
            && err.contains("--allow-side-effect-read"),
        "{err}"
    );
    assert_eq!(k.peek32(0x28), 0x2);
    k.kinds_cmd()
        .args(["write", "0x28=1:1", "--allow-side-effect-read"])
        .assert()
        .success();
    assert_eq!(k.peek32(0x28), 0x3);
    let out = k
        .kinds_cmd()
        .args(["-vv", "write", "0x28=0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!((loads(&out.stderr), stores(&out.stderr)), (0, 1));
    assert_eq!(k.peek32(0x28), 0);
}

/// `--readback` of a raw word over a side-effect register is skipped with
/// a warning, as it is for the named register.
#[test]
fn readback_of_a_raw_word_over_a_side_effect_register_is_skipped() {
    let k = Dev::kinds();
    let out = k
        .kinds_cmd()
        .args(["-vv", "write", "0x28=5", "--readback"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(loads(&out.stderr), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("0x28 not read back (read side effects)"));
    assert_eq!(k.peek32(0x28), 5);
    // elsewhere the read-back is done
    k.kinds_cmd()
        .args(["write", "0x40=5", "--readback"])
        .assert()
        .success()
        .stdout("0x00000005\n");
}

// ------------------------------------------------ B: one load per register

/// The read-to-clear reproduction: two fields of INTR_STATUS are one load
/// (a second load would see the register cleared by the first), decoded
/// into both fields, output in the order typed.
#[test]
fn fields_of_one_register_are_read_with_one_load() {
    let k = Dev::kinds();
    k.poke32(0x28, 0x2);
    let out = k
        .kinds_cmd()
        .args(["-vv", "read", "INTR_STATUS.A", "INTR_STATUS.B"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0x0\n0x1\n");
    assert_eq!(
        loads(&out.stderr),
        1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // fields, the register, a repetition and another register, interleaved:
    // one load per register, results in the order typed
    k.poke32(0x30, 0x5);
    let out = k
        .kinds_cmd()
        .args([
            "-vv",
            "read",
            "INTR_STATUS.B",
            "LANES.L2",
            "INTR_STATUS",
            "INTR_STATUS.A",
            "LANES",
            "INTR_STATUS.B",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0x1\n0x1\n0x00000002\n0x0\n0x00000005\n0x1\n"
    );
    assert_eq!(loads(&out.stderr), 2);
    // a raw offset with the register's offset and width is the same load
    let out = k
        .kinds_cmd()
        .args(["-vv", "read", "LANES", "0x30", "LANES.L0"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0x00000005\n0x00000005\n0x1\n"
    );
    assert_eq!(loads(&out.stderr), 1);
    // array elements are distinct registers; a repeated element is one load
    let out = k
        .kinds_cmd()
        .args(["-vv", "read", "GAIN[1]", "GAIN[2].TRIM", "GAIN[1].GAIN"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(loads(&out.stderr), 2);
}

/// The same holds for one `read` line of a batch, and its dry run says so.
#[test]
fn a_batch_read_line_reads_each_register_once() {
    let k = Dev::kinds();
    k.poke32(0x28, 0x3);
    let out = k
        .kinds_cmd()
        .args(["-vv", "batch", "-"])
        .write_stdin("read INTR_STATUS.A INTR_STATUS.B\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0x1\n0x1\n");
    assert_eq!(loads(&out.stderr), 1);
    k.kinds_cmd()
        .args(["batch", "-", "--dry-run"])
        .write_stdin("read INTR_STATUS.A INTR_STATUS.B\n")
        .assert()
        .success()
        .stdout(
            "<stdin>:1: read INTR_STATUS (0x28, 32-bit) once for INTR_STATUS.A, INTR_STATUS.B [read has side effects]\n",
        );
}

/// Polling a side-effect register (named, a field of it) would pop data on
/// every poll: refused before any load, naming the flag; allowed with it.
#[test]
fn watch_of_a_side_effect_register_needs_the_flag() {
    let k = Dev::kinds();
    k.poke32(0x28, 0x1);
    for target in ["INTR_STATUS", "INTR_STATUS.A"] {
        let out = k
            .kinds_cmd()
            .args(["-vv", "watch", target, "--until", "!=0", "--timeout", "1s"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{target}");
        assert_eq!(loads(&out.stderr), 0);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("watch {target} would poll INTR_STATUS"))
                && err.contains("has side effects")
                && err.contains("--allow-side-effect-read"),
            "{err}"
        );
        k.kinds_cmd()
            .args(["watch", target, "--until", "!=0", "--timeout", "1s"])
            .arg("--allow-side-effect-read")
            .assert()
            .success()
            .stdout(contains("0x"));
    }
    // an rc register, and the batch line
    k.kinds_cmd()
        .args(["watch", "FIFO", "--until", "==0", "--timeout", "1s"])
        .assert()
        .code(2)
        .stderr(contains("watch FIFO would poll FIFO"));
    k.kinds_cmd()
        .args(["batch", "-"])
        .write_stdin("watch INTR_STATUS.B --until 0 --timeout 1s\n")
        .assert()
        .code(2)
        .stderr(contains(
            "<stdin>:1: watch INTR_STATUS.B would poll INTR_STATUS",
        ));
    // registers without read side effects are polled as before
    k.kinds_cmd()
        .args(["watch", "LANES", "--until", "==0", "--timeout", "1s"])
        .assert()
        .success();
}

// ------------------------------------------------ C: merging write assignments

/// Runs `write A B` and `write B A` on fresh images holding `initial` at
/// `off` and returns what each stored there (None if refused, with the
/// image unchanged and the error naming both assignments).
fn both_orders(a: &str, b: &str, off: usize, initial: u32) -> [Option<u32>; 2] {
    [[a, b], [b, a]].map(|pair| {
        let k = Dev::kinds();
        k.poke32(off, initial);
        let out = k.kinds_cmd().arg("write").args(pair).output().unwrap();
        if out.status.success() {
            Some(k.peek32(off))
        } else {
            assert_eq!(out.status.code(), Some(2));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("is assigned more than once in one write")
                    && err.contains(&format!("{:?}", pair[0]))
                    && err.contains(&format!("{:?}", pair[1])),
                "{pair:?}: {err}"
            );
            assert_eq!(k.peek32(off), initial, "{pair:?} changed the image");
            None
        }
    })
}

/// Every pair of forms (whole `REG=V`, field `REG.F=V`, masked
/// `REG=V:MASK`), in both orders: disjoint bits merge into the same value
/// either way, any shared bit is refused either way.
#[test]
fn assignments_to_one_register_merge_the_same_in_either_order() {
    let off = 0x30; // LANES, rw, fields L0..L3 at bits 0..3
    let init = 0xf0f0_00f0;
    // merged: distinct fields, field + disjoint mask, disjoint masks
    assert_eq!(
        both_orders("LANES.L0=1", "LANES.L2=1", off, init),
        [Some(0xf0f0_00f5); 2]
    );
    assert_eq!(
        both_orders("LANES.L0=1", "LANES=0x100:0x300", off, init),
        [Some(0xf0f0_01f1); 2]
    );
    assert_eq!(
        both_orders("LANES=0x1:0x1", "LANES=0x20:0x30", off, init),
        [Some(0xf0f0_00e1); 2]
    );
    // refused: whole + anything, the same field twice, overlapping bits
    for (a, b) in [
        ("LANES=1", "LANES=2"),
        ("LANES=0x80", "LANES.L0=1"),
        ("LANES=0x80", "LANES=0x1:0x1"),
        ("LANES.L0=1", "LANES.L0=0"),
        ("LANES.L1=1", "LANES=0x0:0x3"),
        ("LANES=0x1:0x3", "LANES=0x2:0x2"),
    ] {
        assert_eq!(both_orders(a, b, off, init), [None, None], "{a} {b}");
    }
    // raw offsets: disjoint masks merge, overlapping ones do not
    assert_eq!(
        both_orders("0x40=0x1:0x1", "0x40=0x10:0x10", 0x40, 0xff),
        [Some(0xff & !0x11 | 0x11); 2]
    );
    assert_eq!(
        both_orders("0x40=0x1:0x1", "0x40=0x0:0xf", 0x40, 0xff),
        [None, None]
    );
    assert_eq!(
        both_orders("0x40=1", "0x40=0x1:0x1", 0x40, 0xff),
        [None, None]
    );
    // a register named by name and by raw offset is assigned twice
    assert_eq!(both_orders("LANES.L0=1", "0x30=0", off, init), [None, None]);
}

/// The three reported cases: the whole STATUS and its field (accepted one
/// way, refused the other before), and a mask that silently dropped a field.
#[test]
fn the_reported_write_merges_are_refused_in_both_orders() {
    for pair in [
        ["STATUS=0x80", "STATUS.IRQFACT=0"],
        ["STATUS.IRQFACT=0", "STATUS=0x80"],
    ] {
        let d = Dev::edu();
        d.poke32(0x20, 0x1);
        d.edu_cmd()
            .arg("write")
            .args(pair)
            .assert()
            .code(2)
            .stderr(contains(format!(
                "STATUS is assigned more than once in one write: {:?} and {:?} both set bits 0x00000080",
                pair[0], pair[1]
            )));
        assert_eq!(d.peek32(0x20), 0x1);
    }
    // REG.F=2 REG=0x1:0xffff: the mask covers F
    let k = Dev::kinds();
    k.kinds_cmd()
        .args(["write", "GAIN[0].GAIN=2", "GAIN[0]=0x1:0xffff", "--dry-run"])
        .assert()
        .code(2)
        .stderr(contains(
            "GAIN[0] is assigned more than once in one write: \"GAIN[0].GAIN=2\" and \"GAIN[0]=0x1:0xffff\" both set bits 0x000000ff",
        ));
    // with disjoint bits the two are one store, in either order
    for pair in [
        ["GAIN[0].GAIN=2", "GAIN[0]=0x100:0xff00"],
        ["GAIN[0]=0x100:0xff00", "GAIN[0].GAIN=2"],
    ] {
        k.kinds_cmd()
            .arg("write")
            .args(pair)
            .arg("--dry-run")
            .assert()
            .success()
            .stdout(
                "read-modify-write GAIN[0] (0x100, 32-bit): set 0x00000102 under mask 0x0000ffff, keep 0xffff0000 as read, under the register lock\n",
            );
    }
}

/// A mask of 0 names no bit: the write would store nothing it was asked to.
#[test]
fn a_zero_mask_is_refused() {
    let k = Dev::kinds();
    k.kinds_cmd()
        .args(["write", "LANES=0:0"])
        .assert()
        .code(2)
        .stderr(contains("the mask 0x0 selects no bits"));
}

/// The rules are where users look: `--help` of each command (and so the
/// man page, generated from the same definitions).
#[test]
fn help_documents_the_rules() {
    let help = |cmd: &str| {
        let out = common::regpoke().args([cmd, "--help"]).output().unwrap();
        assert!(out.status.success());
        // one line, as help text wraps at the terminal width
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let read = help("read");
    assert!(read.contains("--allow-side-effect-read") && read.contains("served by one load"));
    let watch = help("watch");
    assert!(watch.contains("--allow-side-effect-read") && watch.contains("not polled"));
    let write = help("write");
    assert!(
        write.contains("merge into one store, in any order")
            && write.contains("A bit assigned twice")
    );
    // the man page has the top-level description, not each command's
    let man = common::regpoke().arg("man").output().unwrap();
    let man = String::from_utf8_lossy(&man.stdout).replace("\\-", "-");
    assert!(man.contains("--allow-side-effect-read") && man.contains("one per register"));
}

/// edu's FACTORIAL and DMA_CMD start an action when stored
/// (`write_side_effects`): a raw store that reaches them at another offset
/// or width is refused without --allow-side-effect-write; a store of
/// exactly the register is fine.
#[test]
fn raw_store_reaching_a_command_register_needs_the_flag() {
    let d = Dev::edu();
    d.edu_cmd()
        .args(["write", "0x8=1", "--width", "64"])
        .assert()
        .code(2)
        .stderr(
            contains("reaches FACTORIAL (0x8, 32-bit)").and(contains("--allow-side-effect-write")),
        );
    assert_eq!(d.peek64(0x8), 0);
    d.edu_cmd()
        .args(["write", "0x98=1", "--width", "32"])
        .assert()
        .code(2)
        .stderr(contains("reaches DMA_CMD (0x98, 64-bit)"));
    d.edu_cmd()
        .args(["write", "0x98=1", "--width", "64"])
        .assert()
        .success();
    assert_eq!(d.peek64(0x98), 1);
    d.edu_cmd()
        .args([
            "write",
            "0x8=1",
            "--width",
            "64",
            "--allow-side-effect-write",
        ])
        .assert()
        .success();
    assert_eq!(d.peek64(0x8), 1);
}

/// DMA_CMD latches the whole word when RUN is written, so a field write
/// builds it from the named fields and the reset value: the DIRECTION and
/// IRQ bits of the previous command, still readable, are not reused.
#[test]
fn field_write_of_a_command_register_never_reuses_the_last_command() {
    let d = Dev::edu();
    d.poke32(0x98, 0x6);
    d.edu_cmd()
        .args(["-vv", "write", "DMA_CMD.RUN=1"])
        .assert()
        .success()
        .stderr(contains("write64 0x98 <- 0x0000000000000001").and(contains("read64").not()));
    assert_eq!(d.peek64(0x98), 1);
}
