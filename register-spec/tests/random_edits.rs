//! A bounded, deterministic stand-in for the fuzz target (see
//! `register-spec/fuzz`), run by every `cargo test`: a few thousand random
//! edits of real register maps (the shipped device specs, the example in
//! the format documentation and the seed maps of the fuzz target), made by
//! a fixed-seed PRNG so that a failure reproduces. Whatever an edit makes of
//! a file, `parse` returns a model that keeps its promises or errors that
//! are each one short line, listed once, in order; it never panics.

mod common;

use common::Rng;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// How many edited files are parsed.
const CASES: usize = 3000;

/// The maps edits start from, sorted by path (so runs are identical).
fn seeds() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = Vec::new();
    for dir in [
        "../device-specs/specs",
        "fuzz/seeds/parse",
        "../fixtures/downstream-crate/regs",
    ] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            seeds.push((p.display().to_string(), text));
        }
    }
    let doc = std::fs::read_to_string(root.join("../docs/spec-format.md")).expect("the docs");
    let example = doc
        .split_once("```yaml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a ```yaml block")
        .0;
    seeds.push(("docs/spec-format.md".to_string(), example.to_string()));
    // The fuzz seeds repeat some maps; edit each text once.
    let mut seen = HashSet::new();
    seeds.retain(|(_, text)| seen.insert(text.clone()));
    seeds
}

/// YAML punctuation and fragments that change structure.
const PUNCTUATION: &[&str] = &[
    "{", "}", "[", "]", ":", ": ", "- ", ",", "\"", "'", "|", "|\n", ">", "&a ", "*a", "!",
    "!!str ", "? ", "#", "%", "\n", "  ", "\t", "---\n", "~", "\\", "\r", "\u{2028}", "é", "\0",
];

/// Numbers at and past the edges that matter (u64, u32, bit widths).
const NUMBERS: &[&str] = &[
    "18446744073709551615",
    "18446744073709551616",
    "0xffff_ffff_ffff_ffff",
    "0x1_0000_0000_0000_0000",
    "99999999999999999999999",
    "4294967295",
    "4294967296",
    "0",
    "63",
    "64",
    "65",
    "\"18446744073709551615:0\"",
    "63:0",
    "0:63",
    "18446744073709551615:18446744073709551615",
    "0x8000_0000_0000_0000",
];

/// One random edit of `text`.
fn edit(rng: &mut Rng, text: &str, other: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let at = rng.below(bytes.len() + 1);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    match rng.below(9) {
        // Flip one bit of a byte (may leave invalid UTF-8, read lossily).
        0 if !bytes.is_empty() => {
            let i = at.min(bytes.len() - 1);
            bytes[i] ^= 1 << rng.below(8);
        }
        // Delete a short run of bytes.
        1 => {
            let end = (at + 1 + rng.below(16)).min(bytes.len());
            bytes.drain(at.min(end)..end);
        }
        // Duplicate a line, or delete one.
        2 | 3 if !lines.is_empty() => {
            let i = rng.below(lines.len());
            let mut out = lines.clone();
            if rng.below(3) == 0 {
                out.remove(i);
            } else {
                out.insert(i, lines[i]);
            }
            return out.concat();
        }
        // Splice: the start of this map and the end of another.
        4 => {
            let theirs: Vec<&str> = other.split_inclusive('\n').collect();
            let mine = rng.below(lines.len() + 1);
            let from = rng.below(theirs.len() + 1);
            return lines[..mine].concat() + &theirs[from..].concat();
        }
        // YAML punctuation anywhere.
        5 => {
            let p = rng.pick(PUNCTUATION);
            bytes.splice(at..at, p.bytes());
        }
        // A huge or edge number in place of a value.
        6 => {
            let number = *rng.pick(NUMBERS);
            return replace_value(rng, text, number);
        }
        // A very long name, or one with a line break or a control character.
        7 => {
            let name = match rng.below(4) {
                0 => "N".repeat(20_000),
                1 => format!("\"A{}\"", "\\nB".repeat(100)),
                2 => "|\n  two\n  lines".to_string(),
                _ => "\"X\\u0007\\r\\tY\"".to_string(),
            };
            return replace_value(rng, text, &name);
        }
        // Several copies of a random slice (huge lists, deep repeats).
        _ => {
            let end = (at + rng.below(64)).min(bytes.len());
            let slice = bytes[at.min(end)..end].to_vec();
            for _ in 0..rng.below(20) {
                bytes.splice(at..at, slice.iter().copied());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `text` with the value after one `key: ` (chosen at random) replaced.
fn replace_value(rng: &mut Rng, text: &str, value: &str) -> String {
    let starts: Vec<usize> = text.match_indices(": ").map(|(i, _)| i + 2).collect();
    let Some(&start) = starts.get(rng.below(starts.len())) else {
        return format!("{text}{value}");
    };
    let len = text[start..]
        .find(['\n', ',', '}'])
        .unwrap_or(text.len() - start);
    format!("{}{value}{}", &text[..start], &text[start + len..])
}

/// What a caller may rely on, for whatever `parse` returned; `Ok(true)`
/// if it returned a model.
fn check(src: &str) -> Result<bool, String> {
    match register_spec::parse(src, "edit.yaml") {
        Ok(device) => {
            for b in &device.blocks {
                for r in &b.registers {
                    let last = r.offset_of(r.count() - 1);
                    if last.checked_add(r.width.bytes()).is_none_or(|e| e > b.size) {
                        return Err(format!("register {} is outside its block", r.name));
                    }
                    for f in &r.fields {
                        if f.msb >= r.width.bits() || f.values.iter().any(|v| v.value > f.mask()) {
                            return Err(format!("field {} does not fit", f.name));
                        }
                    }
                }
            }
            Ok(true)
        }
        Err(errors) => {
            if errors.is_empty() {
                return Err("an error without diagnostics".into());
            }
            let mut seen = HashSet::new();
            for e in &errors {
                let m = &e.message;
                if m.contains(['\n', '\r']) || m.chars().count() > 1000 {
                    return Err(format!("not one short line: {:?}", shorten(m)));
                }
                if !seen.insert((e.span, m)) {
                    return Err(format!("listed twice: {e}"));
                }
            }
            if !errors.windows(2).all(|w| w[0].span <= w[1].span) {
                return Err("not sorted by position".into());
            }
            Ok(false)
        }
    }
}

fn shorten(s: &str) -> String {
    s.chars().take(300).collect()
}

#[test]
fn random_edits_of_real_maps_parse_or_fail_cleanly() {
    let seeds = seeds();
    assert!(
        seeds.len() >= 5,
        "{:?}",
        seeds.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    let mut rng = Rng(0x00c0_ffee_1234_5678);
    let mut failures = Vec::new();
    let (mut ok, mut err) = (0, 0);
    for case in 0..CASES {
        let (name, text) = rng.pick(&seeds);
        let (_, other) = rng.pick(&seeds);
        let mut src = text.clone();
        for _ in 0..1 + rng.below(3) {
            src = edit(&mut rng, &src, other);
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&src)))
            .unwrap_or_else(|_| Err("parse panicked".into()));
        match outcome {
            Ok(true) => ok += 1,
            Ok(false) => err += 1,
            Err(why) => failures.push(format!(
                "case {case} (from {name}): {why}; input: {:?}",
                shorten(&src)
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The edits must reach past the YAML layer sometimes, or the test
    // checks little.
    assert!(
        ok > CASES / 50 && err > CASES / 2,
        "{ok} parsed, {err} failed"
    );
}
