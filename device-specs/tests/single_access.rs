//! Proves, from release-mode assembly, that a generated register read or
//! write is exactly one load or store of the declared width.
//!
//! The probe functions in `examples/asm_probe.rs` take a block handle (a
//! reference to the `Region`) by value. Their bodies may load the mapping's
//! base pointer from the `Region` (an ordinary 64-bit load of Rust memory);
//! besides that, the only memory access must be one `mov` of the declared
//! width at the register's offset (the `Region`'s inline-assembly access).

use std::path::PathBuf;
use std::process::Command;

/// The probe's assembly, built once for all the tests of this file.
fn asm() -> &'static str {
    static ASM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ASM.get_or_init(build_asm)
}

fn build_asm() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace = root.parent().expect("workspace root");
    // A separate target directory: the outer `cargo test` holds the lock on
    // the normal one.
    let target = workspace.join("target").join("asm-probe");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "rustc",
            "-q",
            "-p",
            "device-specs",
            "--release",
            "--example",
            "asm_probe",
            "--",
            "--emit",
            "asm",
            "-C",
            "llvm-args=-x86-asm-syntax=att",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("run cargo rustc");
    assert!(
        out.status.success(),
        "building the probe failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = target.join("release").join("examples");
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for e in std::fs::read_dir(&dir).expect("examples dir").flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("asm_probe") && name.ends_with(".s") {
            let t = e.metadata().and_then(|m| m.modified()).expect("mtime");
            if newest.as_ref().is_none_or(|(nt, _)| t > *nt) {
                newest = Some((t, p));
            }
        }
    }
    let (_, path) = newest.expect("an asm_probe*.s file");
    std::fs::read_to_string(path).expect("read asm")
}

/// The instructions of one function, without directives and labels.
fn body<'a>(asm: &'a str, func: &str) -> Vec<&'a str> {
    let start = format!("{func}:");
    let mut lines = asm.lines().skip_while(|l| l.trim() != start).skip(1);
    let mut out = Vec::new();
    for l in lines.by_ref() {
        let t = l.trim();
        if t.starts_with(".Lfunc_end") || t == ".cfi_endproc" {
            break;
        }
        if t.is_empty() || t.starts_with('.') || t.starts_with('#') || t.ends_with(':') {
            continue;
        }
        out.push(t);
    }
    assert!(!out.is_empty(), "function {func} not found in the assembly");
    out
}

/// Asserts the body has exactly one memory access at `disp(%reg)` with the
/// given mnemonic, and otherwise at most one 64-bit load from `(%rdi)`-based
/// Rust memory (the Region's base pointer).
fn check(asm: &str, func: &str, mnemonic: &str, disp: u64) {
    let body = body(asm, func);
    let mem: Vec<&&str> = body.iter().filter(|i| i.contains('(')).collect();
    // Rust memory is reached through the block handle's `Region` (`%rdi`);
    // every other memory access is an access to the device.
    let (rust, device): (Vec<&&str>, Vec<&&str>) = mem.iter().partition(|i| i.contains("(%rdi)"));
    assert!(
        device.len() == 1 && device[0].starts_with(mnemonic),
        "{func}: expected exactly one device access, a `{mnemonic}`, body:\n{}",
        body.join("\n")
    );
    // Its address is the base plus `disp`: folded into the instruction
    // (`disp(%reg)`), or computed before it (the access is inline assembly
    // with the address in a register: `addq $disp, %reg`, `movl $disp`, or
    // `subq $-disp` where that encodes shorter).
    assert!(
        disp == 0
            || device[0].contains(&format!("{disp}(%"))
            || body.iter().any(|i| i.contains(&format!("${disp},")))
            || body
                .iter()
                .any(|i| i.starts_with("subq") && i.contains(&format!("$-{disp},"))),
        "{func}: the device access is not at offset {disp}, body:\n{}",
        body.join("\n")
    );
    assert!(
        rust.len() <= 1,
        "{func}: unexpected memory accesses besides the base pointer and the register access:\n{}",
        body.join("\n")
    );
    eprintln!("{func}:\n    {}", body.join("\n    "));
}

#[test]
fn generated_accesses_are_single_instructions_of_the_declared_width() {
    let asm = asm();
    // STATUS (0x20 = 32), LIVENESS (0x4): 32-bit; DMA_CMD (0x98 = 152),
    // DMA_SRC (0x80 = 128): 64-bit.
    check(asm, "probe_read_status", "movl", 32);
    check(asm, "probe_is_computing", "movl", 32);
    check(asm, "probe_write_liveness", "movl", 4);
    check(asm, "probe_write_irqfact", "movl", 32);
    check(asm, "probe_read_dma_cmd", "movq", 152);
    check(asm, "probe_write_dma_src", "movq", 128);
}

/// The memory accesses (instructions with a memory operand) of a function,
/// and whether it contains any fence or locked instruction.
fn accesses_and_fences<'a>(asm: &'a str, func: &str) -> (Vec<&'a str>, Vec<&'a str>) {
    let body = body(asm, func);
    eprintln!("{func}:\n    {}", body.join("\n    "));
    let mem = body.iter().copied().filter(|i| i.contains('(')).collect();
    let fences = body
        .iter()
        .copied()
        .filter(|i| i.contains("fence") || i.starts_with("lock"))
        .collect();
    (mem, fences)
}

/// `hal_core::order`'s claims, from the release assembly: `before_doorbell`
/// and `after_completion` emit no instruction and the accesses around them
/// stay in program order; `flush_write_combining` is one `sfence` between
/// the data store and the doorbell.
#[test]
fn order_fences_are_free_on_x86_64_and_keep_program_order() {
    let asm = asm();
    // probe_submit(buf = %rdi, doorbell = %rsi, value = %rdx)
    let (mem, fences) = accesses_and_fences(asm, "probe_submit");
    assert!(fences.is_empty(), "{fences:?}");
    assert_eq!(mem.len(), 2, "{mem:?}");
    assert!(
        mem[0].starts_with("movq") && mem[0].ends_with("(%rdi)"),
        "{mem:?}"
    );
    assert!(
        mem[1].starts_with("movl") && mem[1].ends_with("(%rsi)"),
        "{mem:?}"
    );

    // probe_submit_region(buf = %rdi, regs = %rsi, value = %rdx): the plain
    // store, the load of the Region's base pointer (Rust memory), then the
    // 64-bit device store.
    let (mem, fences) = accesses_and_fences(asm, "probe_submit_region");
    assert!(fences.is_empty(), "{fences:?}");
    let first_store = mem.iter().position(|i| i.ends_with("(%rdi)"));
    let device = mem
        .iter()
        .rposition(|i| i.starts_with("movq") && !i.contains("%rsi") && !i.ends_with("(%rdi)"));
    assert!(
        matches!((first_store, device), (Some(s), Some(d)) if s < d),
        "the DMA store must come before the doorbell: {mem:?}"
    );

    // probe_complete(status = %rdi, buf = %rsi)
    let (mem, fences) = accesses_and_fences(asm, "probe_complete");
    assert!(fences.is_empty(), "{fences:?}");
    let status = mem.iter().position(|i| i.contains("(%rdi)"));
    let data = mem.iter().position(|i| i.contains("(%rsi)"));
    assert!(
        matches!((status, data), (Some(s), Some(d)) if s < d),
        "the status load must come before the data load: {mem:?}"
    );

    // probe_flush_wc(buf = %rdi, doorbell = %rsi, value = %rdx)
    let body = body(asm, "probe_flush_wc");
    let pos = |p: &dyn Fn(&str) -> bool| body.iter().position(|i| p(i));
    let data = pos(&|i| i.ends_with("(%rdi)"));
    let sfence = pos(&|i| i == "sfence");
    let doorbell = pos(&|i| i.ends_with("(%rsi)"));
    assert!(
        matches!((data, sfence, doorbell), (Some(a), Some(b), Some(c)) if a < b && b < c),
        "expected data store, sfence, doorbell store:\n{}",
        body.join("\n")
    );
    assert_eq!(body.iter().filter(|i| i.contains("fence")).count(), 1);
}
