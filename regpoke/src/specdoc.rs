//! `regpoke spec check` and `regpoke spec doc`.

use std::fmt::Write as _;
use std::path::Path;

use register_spec::{Access, Device, Diagnostics, Register};
use serde_json::{json, Value};

use crate::cli::{MessageFormat, SpecCommand};
use crate::error::Error;
use crate::num::{digits_for_bits, hex};
use crate::{out, render, report, spec};

/// Runs a `spec` subcommand; returns the exit status.
pub fn run(c: &SpecCommand, json_out: bool) -> i32 {
    match c {
        SpecCommand::Check {
            spec_files,
            message_format,
        } => check(spec_files, json_out, *message_format),
        SpecCommand::Doc { spec_file } => match spec::load_documented(spec_file) {
            Ok((d, source)) => {
                let md = markdown(&d);
                if json_out {
                    render::print_json(&json!({
                        "regpoke": render::JSON_VERSION,
                        "command": "spec doc",
                        "spec": { "name": d.name, "source": source },
                        "markdown": md,
                    }));
                } else {
                    out(&md);
                }
                0
            }
            Err(e) => {
                if json_out {
                    render::print_json(&json!({
                        "regpoke": render::JSON_VERSION,
                        "command": "spec doc",
                        "error": render::error_json(&e),
                    }));
                }
                report(&e)
            }
        },
    }
}

/// Loads a file (or a shipped map) and returns its diagnostics, if any,
/// with the text they are about.
fn load_checked(arg: &str) -> Result<(String, Result<Device, Diagnostics>), Error> {
    let path = Path::new(arg);
    if path.exists() || spec::is_pathish(arg) {
        return crate::input::load_spec_source(path);
    }
    match device_specs::spec(arg) {
        Some(s) => Ok((s.yaml.to_string(), register_spec::parse(s.yaml, s.file))),
        None => spec::load(arg).map(|(d, _)| (String::new(), Ok(d))),
    }
}

fn check(files: &[String], json_out: bool, format: MessageFormat) -> i32 {
    use std::io::IsTerminal as _;
    let rich = format == MessageFormat::Human && !json_out;
    let color = rich && register_spec::use_color(std::io::stderr().is_terminal());
    let mut entries = Vec::new();
    let mut worst = 0;
    for f in files {
        match load_checked(f) {
            Ok((_, Ok(d))) => {
                let regs: usize = d.blocks.iter().map(|b| b.registers.len()).sum();
                let fields: usize = d
                    .blocks
                    .iter()
                    .flat_map(|b| &b.registers)
                    .map(|r| r.fields.len())
                    .sum();
                if !json_out {
                    out(&format!(
                        "{f}: ok ({} block{}, {regs} register{}, {fields} field{})\n",
                        d.blocks.len(),
                        if d.blocks.len() == 1 { "" } else { "s" },
                        if regs == 1 { "" } else { "s" },
                        if fields == 1 { "" } else { "s" },
                    ));
                }
                entries.push(json!({ "file": f, "ok": true, "device": d.name, "errors": [] }));
            }
            Ok((source, Err(diags))) => {
                worst = 2;
                if rich {
                    // Each error, then an empty line, as rustc prints them.
                    crate::output::err(&format!("{}\n", diags.render(&source, color)));
                } else {
                    for d in &diags {
                        crate::output::err(&format!("{d}"));
                    }
                }
                if !json_out {
                    crate::output::err(&format!(
                        "{f}: {} error{}",
                        diags.len(),
                        if diags.len() == 1 { "" } else { "s" }
                    ));
                }
                let errors: Vec<Value> = diags
                    .iter()
                    .map(|d| json!({ "file": d.file, "line": d.span.line, "column": d.span.column, "message": d.message }))
                    .collect();
                entries.push(json!({ "file": f, "ok": false, "device": null, "errors": errors }));
            }
            Err(e) => {
                worst = 2;
                crate::output::err(&format!("regpoke: error: {e}"));
                entries.push(json!({ "file": f, "ok": false, "device": null,
                    "errors": [{ "file": f, "line": null, "column": null, "message": e.message }] }));
            }
        }
    }
    if json_out {
        render::print_json(&json!({
            "regpoke": render::JSON_VERSION,
            "command": "spec check",
            "ok": worst == 0,
            "files": entries,
        }));
    }
    worst
}

fn cell(s: Option<&str>) -> String {
    s.unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn access_text(r: &Register) -> String {
    let mut s = r.access.to_string();
    if r.read_has_side_effects() && r.access != Access::ReadClear {
        s.push_str(", read side effects");
    }
    if r.write_side_effects {
        s.push_str(", write starts an action");
    }
    s
}

/// Markdown documentation of a register map.
pub fn markdown(d: &Device) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", d.name);
    if let Some(desc) = &d.description {
        let _ = writeln!(s, "{}\n", desc.trim_end());
    }
    if let Some(p) = &d.pci {
        let ids: Vec<String> = p.ids().iter().map(|id| format!("`{id}`")).collect();
        let _ = write!(s, "PCI vendor:device {}", ids.join(" or "));
        if !p.bars.is_empty() {
            let bars: Vec<String> = p
                .bars
                .iter()
                .map(|b| match b.offset {
                    0 => format!("BAR{} = `{}`", b.bar, b.block),
                    o => format!("BAR{}+{o:#x} = `{}`", b.bar, b.block),
                })
                .collect();
            let _ = write!(s, "; {}", bars.join(", "));
        }
        s.push_str(".\n\n");
    }
    for b in &d.blocks {
        let bar = match d.binding(&b.name) {
            Some(x) if x.offset != 0 => format!("BAR{} at {:#x}, ", x.bar, x.offset),
            Some(x) => format!("BAR{}, ", x.bar),
            None => String::new(),
        };
        let array = match b.array {
            Some(a) => format!(
                "; an array of {} elements `{}[0]` to `{}[{}]`, stride {:#x}",
                a.count,
                b.name,
                b.name,
                a.count - 1,
                a.stride
            ),
            None => String::new(),
        };
        let _ = writeln!(
            s,
            "## Block `{}` ({bar}{:#x} bytes{array})\n",
            b.name, b.size
        );
        if let Some(desc) = &b.description {
            let _ = writeln!(s, "{}\n", desc.trim_end());
        }
        if b.registers.is_empty() {
            s.push_str("A memory window without registers: access it by offset (`read 0x0 --width 32`).\n\n");
            continue;
        }
        let od = digits_for_bits(64 - b.size.saturating_sub(1).leading_zeros()).max(2);
        s.push_str("| Offset | Register | Width | Access | Reset | Description |\n");
        s.push_str("|---|---|---|---|---|---|\n");
        for r in &b.registers {
            let offset = match r.array {
                Some(a) => format!(
                    "{}..{} (×{}, stride {:#x})",
                    hex(r.offset, od),
                    hex(r.offset_of(a.count - 1), od),
                    a.count,
                    a.stride
                ),
                None => hex(r.offset, od),
            };
            let reset = if r.reset_given {
                hex(r.reset, digits_for_bits(r.width.bits()))
            } else {
                "–".into()
            };
            let first_line = r
                .description
                .as_deref()
                .and_then(|x| x.split("\n\n").next());
            let _ = writeln!(
                s,
                "| {offset} | [{}](#{}-{}) | {} | {} | {reset} | {} |",
                r.name,
                b.name.to_lowercase(),
                r.name.to_lowercase(),
                r.width.bits(),
                access_text(r),
                cell(first_line)
            );
        }
        s.push('\n');
        for r in &b.registers {
            let _ = writeln!(s, "### {}.{}\n", b.name, r.name);
            let mut facts = format!(
                "Offset {}, {}-bit, access `{}`",
                hex(r.offset, od),
                r.width.bits(),
                r.access
            );
            if r.read_has_side_effects() {
                facts.push_str(", **a read has side effects** (never read implicitly)");
            }
            if r.write_side_effects {
                facts.push_str(", **a store starts an action**");
            }
            if let Some(split) = &r.split {
                let _ = write!(
                    facts,
                    ", accessed as {} {}-bit parts `{}`",
                    r.accesses().len(),
                    split.access_width.bits(),
                    split.order
                );
                if split.consistent_read {
                    facts.push_str(", a counter read tear-free (high, low, high)");
                }
            }
            if r.can_write() && !r.fields.is_empty() {
                let _ = write!(facts, ", field writes `{}`", r.field_writes);
            }
            if r.reset_given {
                let _ = write!(
                    facts,
                    ", reset {}",
                    hex(r.reset, digits_for_bits(r.width.bits()))
                );
            }
            if let Some(a) = r.array {
                let _ = write!(
                    facts,
                    "; array of {} with stride {:#x}: `{}[0]`..`{}[{}]`",
                    a.count,
                    a.stride,
                    r.name,
                    r.name,
                    a.count - 1
                );
            }
            let _ = writeln!(s, "{facts}.\n");
            if let Some(desc) = &r.description {
                let _ = writeln!(s, "{}\n", desc.trim_end());
            }
            if r.fields.is_empty() {
                continue;
            }
            s.push_str("| Bits | Field | Access | Description |\n|---|---|---|---|\n");
            for f in &r.fields {
                let mut desc = cell(f.description.as_deref());
                if !f.values.is_empty() {
                    let vals: Vec<String> = f
                        .values
                        .iter()
                        .map(|v| match &v.description {
                            Some(dsc) => format!("`{}` = {}: {}", v.name, v.value, cell(Some(dsc))),
                            None => format!("`{}` = {}", v.name, v.value),
                        })
                        .collect();
                    if !desc.is_empty() {
                        desc.push_str("<br>");
                    }
                    desc.push_str(&vals.join("<br>"));
                }
                let _ = writeln!(
                    s,
                    "| {} | {} | {}{} | {desc} |",
                    spec::bits_text(f),
                    f.name,
                    f.access_in(r),
                    if f.self_clearing {
                        ", self-clearing"
                    } else {
                        ""
                    }
                );
            }
            s.push('\n');
        }
    }
    s
}
