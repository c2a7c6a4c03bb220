//! Text output (the default) and JSON documents (`--json`).

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::ops::{Output, ReadResult, Skipped};

/// Version of the JSON document shapes (the `regpoke` key of every document).
pub const JSON_VERSION: u32 = 1;

/// The text of one output (may be empty), with a trailing newline if not.
pub fn text(out: &Output) -> String {
    let mut s = String::new();
    match out {
        Output::Read { reads, decode } => {
            for r in reads {
                if *decode {
                    s.push_str(&decoded(r));
                } else {
                    let _ = writeln!(s, "{}", r.hex);
                }
            }
        }
        Output::Write { reads, writes, .. } => {
            for r in reads.iter().flatten() {
                let _ = writeln!(s, "{}", r.hex);
            }
            for w in writes {
                if let Some(h) = &w.readback_hex {
                    let _ = writeln!(s, "{h}");
                }
            }
        }
        Output::Check {
            held: true, hex, ..
        } => {
            let _ = writeln!(s, "{hex}");
        }
        Output::Check { .. } => {}
        Output::Dump { registers, skipped } => {
            let width = registers
                .iter()
                .map(|r| r.target.len())
                .max()
                .unwrap_or(0)
                .max(8);
            // The offset column is as wide as the largest offset (at least
            // three digits), so it stays aligned past 0xfff.
            let last = registers
                .iter()
                .map(|r| r.offset)
                .chain(skipped.iter().map(|k| k.offset))
                .max()
                .unwrap_or(0);
            let digits = (hex_digits(last) as usize).max(3);
            for r in registers {
                let _ = writeln!(
                    s,
                    "0x{:0digits$x}  {:<width$}  {:<3}  {}",
                    r.offset,
                    r.target,
                    r.access.unwrap_or(""),
                    r.hex
                );
                s.push_str(&field_lines(r, digits + 4));
            }
            if !skipped.is_empty() {
                let _ = writeln!(s, "skipped: {}", skipped_list(skipped).join(", "));
            }
        }
        Output::IrqWait {
            count: Some(c),
            missed,
            ..
        } => {
            let _ = writeln!(s, "count={c} missed={}", missed.unwrap_or(0));
        }
        Output::IrqWait { .. } => {}
        Output::IrqCount { count } => {
            let _ = writeln!(s, "{count}");
        }
        Output::IrqEnable { .. } | Output::Sleep { .. } => {}
        Output::Planned { plan } => {
            for p in plan {
                let _ = writeln!(s, "{p}");
            }
        }
    }
    s
}

/// Hex digits of `v` (1 for 0).
fn hex_digits(v: u64) -> u32 {
    (64 - v.leading_zeros()).div_ceil(4).max(1)
}

/// The skipped registers, with consecutive elements of one array skipped
/// for the same reason collapsed into a range: `DB[0..129] (write-only)`
/// (both ends included).
fn skipped_list(skipped: &[Skipped]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(k) = skipped.get(i) {
        let mut j = i;
        if let Some(first) = k.index {
            // Extend while the next entry is the next element of the same array.
            while let Some(next) = skipped.get(j + 1) {
                let prev = skipped.get(j).and_then(|p| p.index);
                if next.register == k.register
                    && next.reason == k.reason
                    && next.index.is_some()
                    && next.index == prev.and_then(|p| p.checked_add(1))
                {
                    j += 1;
                } else {
                    break;
                }
            }
            let last = skipped.get(j).and_then(|p| p.index).unwrap_or(first);
            if last > first {
                out.push(format!("{}[{first}..{last}] ({})", k.register, k.reason));
                i = j + 1;
                continue;
            }
        }
        out.push(format!("{} ({})", k.target, k.reason));
        i += 1;
    }
    out
}

fn decoded(r: &ReadResult) -> String {
    let mut s = String::new();
    match (&r.field, &r.enum_name) {
        (Some(_), Some(e)) => {
            let _ = writeln!(s, "{} = {} ({e})", r.target, r.hex);
        }
        _ => {
            let what = match r.access {
                Some(a) => format!("{:#x}, {}-bit {a}", r.offset, r.width),
                None => format!("{}-bit", r.width),
            };
            let _ = writeln!(
                s,
                "{} = {}  ({what}{})",
                r.target,
                r.hex,
                if r.read_side_effects {
                    ", read has side effects"
                } else {
                    ""
                }
            );
        }
    }
    s.push_str(&field_lines(r, 2));
    s
}

fn field_lines(r: &ReadResult, indent: usize) -> String {
    let mut s = String::new();
    let name_w = r.fields.iter().map(|f| f.name.len()).max().unwrap_or(0);
    for f in &r.fields {
        let bits = format!("[{}]", f.bits);
        match (&f.hex, &f.enum_name) {
            (Some(h), Some(e)) => {
                let _ = writeln!(s, "{:indent$}{bits:<8}{:<name_w$} = {h} ({e})", "", f.name);
            }
            (Some(h), None) => {
                let _ = writeln!(s, "{:indent$}{bits:<8}{:<name_w$} = {h}", "", f.name);
            }
            (None, _) => {
                let _ = writeln!(
                    s,
                    "{:indent$}{bits:<8}{:<name_w$}   (write-only)",
                    "", f.name
                );
            }
        }
    }
    s
}

/// Merges the fields of `extra` (an object) into `doc`.
pub fn merge(doc: &mut Map<String, Value>, extra: Value) {
    if let Value::Object(m) = extra {
        for (k, v) in m {
            doc.insert(k, v);
        }
    }
}

/// The JSON form of an error.
pub fn error_json(e: &Error) -> Value {
    json!({
        "kind": e.kind.as_str(),
        "exit_code": e.kind.exit_code(),
        "message": e.message,
        "hint": e.hint,
    })
}

/// A clap error as one or two lines (message and tip), without the usage block.
pub fn clap_message(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let parts: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect();
    let mut joined = String::new();
    for p in parts {
        if !joined.is_empty() {
            // "… were not provided:" introduces the next line.
            joined.push_str(if joined.ends_with(':') { " " } else { "; " });
        }
        joined.push_str(p);
    }
    joined.trim_start_matches("error: ").to_string()
}

/// Numbers that are register values or addresses and may exceed 2^53
/// (where JavaScript's numbers lose precision), and the key of the exact
/// hex string added beside each (`hex`, `readback_hex` are built in).
const HEX_SIBLINGS: [(&str, &str); 5] = [
    ("register_value", "register_hex"),
    ("previous", "previous_hex"),
    ("phys", "phys_hex"),
    ("addr", "addr_hex"),
    ("start", "start_hex"),
];

/// Adds a hex string beside every number listed in [`HEX_SIBLINGS`], in
/// every object of `v`: padded to the register width where the object has
/// a `width` (in bits), else unpadded.
fn add_hex_siblings(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let digits = m
                .get("width")
                .and_then(Value::as_u64)
                .map_or(1, |w| w.div_ceil(4).max(1) as usize);
            let mut add = Vec::new();
            for (key, sibling) in HEX_SIBLINGS {
                if let Some(n) = m.get(key).and_then(Value::as_u64) {
                    let pad = if key == "register_value" || key == "previous" {
                        digits
                    } else {
                        1
                    };
                    add.push((sibling, format!("0x{n:0pad$x}")));
                } else if m.get(key).is_some_and(Value::is_null) {
                    add.push((sibling, String::new()));
                }
            }
            for (k, h) in add {
                let value = if h.is_empty() { Value::Null } else { json!(h) };
                m.insert(k.to_string(), value);
            }
            for (_, child) in m.iter_mut() {
                add_hex_siblings(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(add_hex_siblings),
        _ => {}
    }
}

/// Prints a JSON document on stdout.
pub fn print_json(doc: &Value) {
    let mut doc = doc.clone();
    add_hex_siblings(&mut doc);
    match serde_json::to_string_pretty(&doc) {
        Ok(s) => crate::out(&format!("{s}\n")),
        Err(e) => crate::output::err(&format!("regpoke: error: cannot format JSON: {e}")),
    }
}
