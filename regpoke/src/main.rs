//! `regpoke`: a register-poke CLI for user-space MMIO on Linux.
//!
//! It reads, writes, decodes, watches and scripts device registers by
//! name, using the same YAML register maps as the typed Rust blocks
//! (`register-spec`), over UIO, PCI sysfs `resourceN`, `/dev/mem` or any
//! mmap-able file. Access kinds are honoured: a read-only register is not
//! written, a write-only one not read, a register whose read has side
//! effects never read implicitly, and field writes are read-modify-writes
//! only where that is correct, under an advisory lock.
//!
//! The command reference is in `docs/regpoke.md` and `regpoke --help`.
//!
//! Module map: [`cli`] (clap definitions), [`spec`] (names, values and
//! conditions against the model), [`backend`] (device selection and
//! mapping), [`fastargs`] (clap-equivalent fast path for plain
//! `read`/`write` lines), [`ops`] (checked steps and their execution), [`lock`]
//! (advisory locks), [`batch`], [`list`], [`specdoc`] (`spec check`/`doc`),
//! [`render`] (text and JSON output).
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
// Unsafe code is refused everywhere but in `entry`, the C `main` below.
#![deny(unsafe_code)]
// regpoke supplies the C `main` itself (see `entry`); unit tests use the
// test harness's.
#![cfg_attr(not(test), no_main)]

mod backend;
mod batch;
mod cli;
mod error;
mod fastargs;
mod input;
mod interrupts;
mod irqchoice;
mod list;
mod lock;
mod names;
mod num;
mod ops;
mod output;
mod place;
mod render;
mod spec;
mod specdoc;
mod trace;
mod vfio;

use clap::{CommandFactory, Parser};
use serde_json::{json, Map, Value};

use crate::backend::Log;
use crate::cli::{Cli, Command, Global};
use crate::error::{Error, Result};
use crate::ops::{Session, Step};

/// The program's entry point, called by the C runtime.
///
/// regpoke starts without Rust's standard `main` wrapper, which before
/// `main` reads `/proc/self/maps` to locate the stack guard, installs a
/// stack-overflow handler on an alternate signal stack and checks the
/// standard descriptors: about 20 system calls and 40,000 instructions,
/// a fifth of a `regpoke read` under emulation. What of that matters is
/// done here: descriptors 0-2 are made valid (so a device file can never
/// be opened as descriptor 1 and receive the output) and SIGPIPE is
/// ignored (a closed pipe is a write error, handled by [`output`]). A stack
/// overflow ends in SIGSEGV instead of a message; a panic still exits 101.
#[cfg(not(test))]
mod entry {
    use std::ffi::{c_char, c_int, CStr, OsString};
    use std::os::unix::ffi::OsStringExt;

    /// The C `main`: collects the arguments and runs [`super::run_main`].
    #[allow(unsafe_code)]
    #[no_mangle]
    pub extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
        let count = usize::try_from(argc).unwrap_or(0);
        let args: Vec<OsString> = (0..count)
            .map(|i| {
                // SAFETY: the C runtime passes `argc` valid pointers in
                // `argv`, each to a NUL-terminated string that lives for
                // the whole program; `i < argc`.
                let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
                OsString::from_vec(arg.to_bytes().to_vec())
            })
            .collect();
        std::panic::catch_unwind(|| super::run_main(args)).unwrap_or(101)
    }
}

/// What Rust's runtime would have done before `main` and regpoke needs.
#[cfg_attr(test, allow(dead_code))]
fn prepare_process() {
    use nix::libc;
    use std::os::fd::IntoRawFd;
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    #[allow(unsafe_code)]
    // SAFETY: `fds` is a valid array of three `pollfd` for the duration of
    // the call, and its length is passed; a timeout of 0 returns at once.
    // `poll` reports a closed descriptor as POLLNVAL and touches nothing.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    if ready >= 0 {
        for fd in &fds {
            if fd.revents & libc::POLLNVAL != 0 {
                // A closed standard descriptor: /dev/null takes the lowest
                // free number, which is this one (lower ones are open by now).
                if let Ok(null) = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/null")
                {
                    let _ = null.into_raw_fd();
                }
            }
        }
    }
    #[allow(unsafe_code)]
    // SAFETY: SIG_IGN installs no handler code, so nothing can run in
    // signal context; no other thread exists yet.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigIgn,
        )
    };
}

/// Parses the command line (`args[0]` is the program name), runs it and
/// returns the exit status.
#[cfg_attr(test, allow(dead_code))]
fn run_main(args: Vec<std::ffi::OsString>) -> i32 {
    prepare_process();
    let cli = match fastargs::parse(args.get(1..).unwrap_or_default()) {
        Some(c) => c,
        None => match Cli::try_parse_from(&args) {
            Ok(c) => c,
            Err(e) => return output::finish(clap_failure(&args, &e)),
        },
    };
    let code = run(&cli);
    output::finish(code)
}

/// The word after a bare `--vfio` when it is not a command (so it was
/// meant as the device: `--vfio 00:03.0` instead of `--vfio=00:03.0`).
fn vfio_value_apart(args: &[std::ffi::OsString]) -> Option<String> {
    use clap::CommandFactory;
    let words: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    let i = words.iter().position(|w| *w == "--vfio")?;
    let next = words.get(i + 1)?;
    let root = cli::Cli::command();
    (!next.starts_with('-') && root.find_subcommand(next).is_none()).then(|| next.to_string())
}

/// Handles what clap returns instead of a command line: help and version
/// (printed on stdout, exit 0) or a usage error (on stderr with clap's
/// suggestions, exit 2; with `--json` also as a JSON error document).
fn clap_failure(args: &[std::ffi::OsString], e: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    let code = e.exit_code();
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) && code == 0
    {
        out(&e.render().to_string());
        return code;
    }
    output::err(e.render().to_string().trim_end());
    if let Some(value) = vfio_value_apart(args) {
        output::err(&format!(
            "regpoke: hint: --vfio takes its value after `=`: --vfio={value} (a bare --vfio finds the device from the spec)"
        ));
    }
    let json = args
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json");
    if json {
        let mut doc = Map::new();
        doc.insert("regpoke".into(), json!(render::JSON_VERSION));
        doc.insert("command".into(), json!(cli::command_of_args(args)));
        doc.insert("spec".into(), Value::Null);
        doc.insert("block".into(), Value::Null);
        doc.insert("backend".into(), Value::Null);
        let err = Error::usage(render::clap_message(e))
            .hint("`regpoke --help` lists the commands and options; `regpoke COMMAND --help` describes one");
        let mut ej = render::error_json(&err);
        if let Value::Object(m) = &mut ej {
            m.insert("exit_code".into(), json!(code));
        }
        doc.insert("error".into(), ej);
        render::print_json(&Value::Object(doc));
    }
    code
}

pub use output::out;

/// Reports an error on stderr and returns its exit status.
pub fn report(e: &Error) -> i32 {
    output::err(&format!("regpoke: error: {}", e.for_humans()));
    e.kind.exit_code()
}

/// Ends the session's `--trace` recording after a command that exited
/// with `code`: a trace that could not be written completely is reported,
/// and fails a command that succeeded.
pub fn end_trace(session: &mut Session, code: i32) -> i32 {
    match session.finish_trace() {
        Ok(()) => code,
        Err(e) => {
            let c = report(&e);
            if code == 0 {
                c
            } else {
                code
            }
        }
    }
}

fn run(cli: &Cli) -> i32 {
    let g = &cli.global;
    match &cli.command {
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "regpoke", &mut buf);
            out(&String::from_utf8_lossy(&buf));
            0
        }
        Command::Man => {
            let mut buf = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut buf) {
                Ok(()) => {
                    out(&String::from_utf8_lossy(&buf));
                    0
                }
                Err(e) => report(&Error::device(format!("rendering the man page: {e}"))),
            }
        }
        Command::Spec(c) => specdoc::run(c, g.json),
        Command::List => list::run(g),
        Command::Batch(a) => batch::run(g, a),
        other => single(g, other),
    }
}

/// The spec named by `--spec`, loaded.
pub fn load_spec(g: &Global) -> Result<Option<(register_spec::Device, String)>> {
    g.spec.as_deref().map(spec::load).transpose()
}

/// The common head of every JSON document of a device command.
pub fn doc_head(
    command: &str,
    spec: Option<&(register_spec::Device, String)>,
    block: Option<&register_spec::Block>,
    session: Option<&Session>,
) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("regpoke".into(), json!(render::JSON_VERSION));
    doc.insert("command".into(), json!(command));
    doc.insert(
        "spec".into(),
        match spec {
            Some((d, src)) => json!({ "name": d.name, "source": src }),
            None => Value::Null,
        },
    );
    doc.insert("block".into(), json!(block.map(|b| b.name.clone())));
    doc.insert(
        "backend".into(),
        session
            .and_then(|s| s.mapped.as_ref())
            .map(|m| json!(m.info))
            .unwrap_or(Value::Null),
    );
    doc
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Read(_) => "read",
        Command::Write(_) => "write",
        Command::Dump(_) => "dump",
        Command::Watch(_) => "watch",
        Command::Irq(i) => match i {
            cli::IrqCommand::Enable(_) => "irq enable",
            cli::IrqCommand::Wait(_) => "irq wait",
            cli::IrqCommand::Count(_) => "irq count",
            cli::IrqCommand::Ack(_) => "irq ack",
        },
        _ => "other",
    }
}

/// Compiles a device command against `block`.
fn compile<'a>(c: &Command, scope: place::Scope<'a>) -> Result<Step<'a>> {
    match c {
        Command::Read(a) => ops::compile_read(a, scope),
        Command::Write(a) => ops::compile_write(a, scope),
        Command::Dump(a) => ops::compile_dump(a, scope),
        Command::Watch(a) => ops::compile_watch(a, scope),
        Command::Irq(i) => ops::compile_irq(i, scope),
        _ => Err(Error::usage("internal error: not a device command")),
    }
}

/// One device command: read, write, dump, watch, irq.
fn single(g: &Global, c: &Command) -> i32 {
    let log = Log { level: g.verbose };
    let name = command_name(c);
    let spec = match load_spec(g) {
        Ok(s) => s,
        Err(e) => return fail(g, name, None, None, None, &e),
    };
    let device = spec.as_ref().map(|(d, _)| d);
    let dry_run = matches!(c, Command::Write(w) if w.dry_run);
    let (selection, block) = if dry_run {
        match device
            .map(|d| spec::choose_block(d, g.block.as_deref(), g.bar))
            .transpose()
        {
            Ok(b) => (None, b),
            Err(e) => return fail(g, name, spec.as_ref(), None, None, &e),
        }
    } else {
        match backend::select(g, device, log) {
            Ok((s, b)) => (Some(s), b),
            Err(e) => return fail(g, name, spec.as_ref(), None, None, &e),
        }
    };
    let scope = place::Scope::new(device, block);
    let step = match compile(c, scope) {
        Ok(s) => s,
        Err(e) => return fail(g, name, spec.as_ref(), block, None, &e),
    };
    if dry_run {
        let plan = ops::describe(&step);
        let output = ops::Output::Planned { plan };
        if g.json {
            let mut doc = doc_head(name, spec.as_ref(), block, None);
            doc.insert("dry_run".into(), json!(true));
            render::merge(&mut doc, json!(output));
            render::print_json(&Value::Object(doc));
        } else {
            out(&render::text(&output));
        }
        return 0;
    }
    let mut session = Session::new(g, log, scope, selection);
    session.extent = step.extent();
    let code = single_exec(g, name, spec.as_ref(), block, &mut session, &step);
    let code = end_trace(&mut session, code);
    // The process ends next: the kernel unmaps the registers and closes the
    // files, and the heap goes with the process. Not dropping them saves
    // two system calls and about a hundred `free` calls (a tenth of the
    // instructions of a `regpoke read`).
    std::mem::forget(session);
    std::mem::forget(step);
    std::mem::forget(spec);
    code
}

/// Runs a compiled device command and prints its result.
fn single_exec(
    g: &Global,
    name: &str,
    spec: Option<&(register_spec::Device, String)>,
    block: Option<&register_spec::Block>,
    session: &mut Session,
    step: &Step,
) -> i32 {
    match session.exec(step) {
        Ok(output) => {
            let failure = output.failure(step);
            if g.json {
                let mut doc = doc_head(name, spec, block, Some(session));
                render::merge(&mut doc, json!(output));
                doc.insert(
                    "error".into(),
                    failure
                        .as_ref()
                        .map(render::error_json)
                        .unwrap_or(Value::Null),
                );
                render::print_json(&Value::Object(doc));
            } else {
                out(&render::text(&output));
            }
            match failure {
                Some(e) => report(&e),
                None => 0,
            }
        }
        Err(e) => fail(g, name, spec, block, Some(session), &e),
    }
}

/// Reports an error (and, with --json, prints the error document).
fn fail(
    g: &Global,
    command: &str,
    spec: Option<&(register_spec::Device, String)>,
    block: Option<&register_spec::Block>,
    session: Option<&Session>,
    e: &Error,
) -> i32 {
    if g.json {
        let mut doc = doc_head(command, spec, block, session);
        doc.insert("error".into(), render::error_json(e));
        render::print_json(&Value::Object(doc));
    }
    report(e)
}
