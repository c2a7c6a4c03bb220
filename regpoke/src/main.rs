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
#![forbid(unsafe_code)]

mod backend;
mod batch;
mod cli;
mod error;
mod fastargs;
mod list;
mod lock;
mod names;
mod num;
mod ops;
mod render;
mod spec;
mod specdoc;

use std::io::Write;

use clap::{CommandFactory, Parser};
use serde_json::{json, Map, Value};

use crate::backend::Log;
use crate::cli::{Cli, Command, Global};
use crate::error::{Error, Result};
use crate::ops::{Session, Step};

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let cli = match fastargs::parse(&args) {
        Some(c) => c,
        None => match Cli::try_parse() {
            Ok(c) => c,
            // clap prints help/version (exit 0) or the usage error with its
            // suggestions (exit 2).
            Err(e) => e.exit(),
        },
    };
    let code = run(&cli);
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

/// Writes to stdout, ignoring a closed pipe (`regpoke dump | head`).
pub fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes());
}

/// Reports an error on stderr and returns its exit status.
pub fn report(e: &Error) -> i32 {
    eprintln!("regpoke: error: {e}");
    e.kind.exit_code()
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
            cli::IrqCommand::Enable => "irq enable",
            cli::IrqCommand::Wait(_) => "irq wait",
            cli::IrqCommand::Count => "irq count",
            cli::IrqCommand::Ack(_) => "irq ack",
        },
        _ => "other",
    }
}

/// Compiles a device command against `block`.
fn compile<'a>(c: &Command, block: Option<&'a register_spec::Block>) -> Result<Step<'a>> {
    match c {
        Command::Read(a) => ops::compile_read(a, block),
        Command::Write(a) => ops::compile_write(a, block),
        Command::Dump(a) => ops::compile_dump(a, block),
        Command::Watch(a) => ops::compile_watch(a, block),
        Command::Irq(i) => ops::compile_irq(i, block),
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
    let step = match compile(c, block) {
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
    let mut session = Session::new(g, log, block, selection);
    match session.exec(&step) {
        Ok(output) => {
            let failure = output.failure(&step);
            if g.json {
                let mut doc = doc_head(name, spec.as_ref(), block, Some(&session));
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
        Err(e) => fail(g, name, spec.as_ref(), block, Some(&session), &e),
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
