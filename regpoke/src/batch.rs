//! `regpoke batch`: many operations over one mapping.
//!
//! The format: one command per line, with the syntax of the subcommands
//! (`read`, `write`, `watch`, `dump`, `irq enable|wait|count|ack`) plus
//! `expect TARGET VALUE|CONDITION` and `sleep DURATION`. Words are
//! separated by blanks; `#` starts a comment; blank lines are ignored.
//! Device selection comes from the command line, never from the file.
//! Every line is parsed and checked against the spec before the first one
//! runs.

use clap::Parser;
use serde_json::{json, Value};

use crate::backend::{self, Log};
use crate::cli::{BatchArgs, BatchLine, BatchOp, Global};
use crate::error::{Error, Result};
use crate::ops::{self, Output, Session, Step};
use crate::place::Scope;
use crate::{doc_head, load_spec, out, render, report, spec};

/// One non-empty line of the file.
struct Line {
    number: usize,
    text: String,
    words: Vec<String>,
}

/// Splits the file into lines of words, dropping comments and blank lines.
fn lines(source: &str) -> Vec<Line> {
    source
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let code = l.split('#').next().unwrap_or("").trim();
            if code.is_empty() {
                return None;
            }
            Some(Line {
                number: i + 1,
                text: code.to_string(),
                words: code.split_whitespace().map(String::from).collect(),
            })
        })
        .collect()
}

fn compile_line<'a>(line: &Line, scope: Scope<'a>) -> Result<Step<'a>> {
    let parsed = BatchLine::try_parse_from(&line.words).map_err(|e| {
        Error::usage(render::clap_message(&e)).hint(
            "a batch line is one of: read, write, watch, dump, irq enable|wait|count|ack, expect TARGET COND, sleep DURATION",
        )
    })?;
    match parsed.op {
        BatchOp::Read(a) => ops::compile_read(&a, scope),
        BatchOp::Write(a) => {
            if a.dry_run {
                return Err(Error::usage(
                    "--dry-run belongs on the batch command, not on a line",
                ));
            }
            ops::compile_write(&a, scope)
        }
        BatchOp::Watch(a) => ops::compile_watch(&a, scope),
        BatchOp::Dump(a) => ops::compile_dump(&a, scope),
        BatchOp::Irq(c) => ops::compile_irq(&c, scope),
        BatchOp::Expect {
            target,
            condition,
            width,
            allow_side_effect_read,
        } => ops::compile_expect(
            &target,
            condition.as_deref(),
            width,
            allow_side_effect_read,
            scope,
        ),
        BatchOp::Sleep { duration } => crate::num::parse_duration(&duration).map(Step::Sleep),
    }
}

/// Runs `regpoke batch`; returns the exit status.
pub fn run(g: &Global, a: &BatchArgs) -> i32 {
    let log = Log { level: g.verbose };
    let file_name = a.script.display().to_string();
    let from_stdin = file_name == "-";
    let shown = if from_stdin {
        "<stdin>".to_string()
    } else {
        file_name.clone()
    };
    let source = crate::input::read_text(&a.script, "batch file");
    let head = |spec, block, session: Option<&Session>| {
        let mut d = doc_head("batch", spec, block, session);
        d.insert("file".into(), json!(shown));
        d.insert("dry_run".into(), json!(a.dry_run));
        d
    };
    let fail_early = |spec, block, e: Error| {
        if g.json {
            let mut d = head(spec, block, None);
            d.insert("steps".into(), json!([]));
            d.insert("ok".into(), json!(false));
            d.insert("error".into(), render::error_json(&e));
            render::print_json(&Value::Object(d));
        }
        report(&e)
    };
    let source = match source {
        Ok(s) => s,
        Err(e) => return fail_early(None, None, e),
    };
    let spec_loaded = match load_spec(g) {
        Ok(s) => s,
        Err(e) => return fail_early(None, None, e),
    };
    let device = spec_loaded.as_ref().map(|(d, _)| d);
    let (selection, block) = if a.dry_run {
        match device
            .map(|d| spec::choose_block(d, g.block.as_deref(), g.bar))
            .transpose()
        {
            Ok(b) => (None, b),
            Err(e) => return fail_early(spec_loaded.as_ref(), None, e),
        }
    } else {
        match backend::select(g, device, log) {
            Ok((s, b)) => (Some(s), b),
            Err(e) => return fail_early(spec_loaded.as_ref(), None, e),
        }
    };
    let lines = lines(&source);
    let mut steps = Vec::new();
    // Scripts repeat lines (10,000 `read STATUS`): parse each distinct line once.
    let mut compiled: std::collections::HashMap<&str, Step<'_>> = std::collections::HashMap::new();
    for l in &lines {
        let step = match compiled.get(l.text.as_str()) {
            Some(s) => Ok(s.clone()),
            None => compile_line(l, Scope::new(device, block)).inspect(|s| {
                compiled.insert(&l.text, s.clone());
            }),
        };
        match step {
            Ok(s) => steps.push(s),
            Err(e) => {
                let e = e.context(format!("{shown}:{}", l.number));
                let e = if a.dry_run || steps.is_empty() {
                    e
                } else {
                    e.also("nothing was run: every line is checked before the first one runs")
                };
                return fail_early(spec_loaded.as_ref(), block, e);
            }
        }
    }
    let mut results: Vec<Value> = Vec::new();
    let mut session = Session::new(g, log, Scope::new(device, block), selection);
    let mut failure: Option<(usize, Error)> = None;
    // Output is buffered (one write per 64 KiB instead of one per line) and
    // flushed before every step that can wait, so progress stays visible.
    let mut pending = String::new();
    let flush = |pending: &mut String| {
        if !pending.is_empty() {
            out(pending);
            pending.clear();
        }
    };
    for (l, step) in lines.iter().zip(&steps) {
        if !matches!(
            step,
            Step::Read { .. } | Step::Write { .. } | Step::Expect { .. }
        ) || pending.len() > 64 * 1024
        {
            flush(&mut pending);
        }
        // Standard output failed (disk full): stop; the error is reported at exit.
        if crate::output::failure().is_some() {
            break;
        }
        let output = if a.dry_run {
            let plan = ops::describe(step);
            if !g.json {
                for p in &plan {
                    pending.push_str(&format!("{shown}:{}: {p}\n", l.number));
                }
            }
            Ok(Output::Planned { plan })
        } else {
            session.exec(step)
        };
        match output {
            Ok(o) => {
                // `expect` prints nothing unless it fails.
                if !g.json && !a.dry_run && !matches!(step, Step::Expect { .. }) {
                    pending.push_str(&render::text(&o));
                }
                let f = o.failure(step);
                if g.json {
                    let mut v = json!({ "line": l.number, "text": l.text, "command": step.name() });
                    if let Value::Object(m) = &mut v {
                        render::merge(m, json!(o));
                    }
                    results.push(v);
                }
                if let Some(e) = f {
                    failure = Some((l.number, e));
                    break;
                }
            }
            Err(e) => {
                failure = Some((l.number, e));
                break;
            }
        }
    }
    flush(&mut pending);
    let failure = failure.map(|(n, e)| (n, e.context(format!("{shown}:{n}"))));
    if g.json {
        let mut d = head(spec_loaded.as_ref(), block, Some(&session));
        d.insert("steps".into(), Value::Array(results));
        d.insert("ok".into(), json!(failure.is_none()));
        d.insert(
            "error".into(),
            match &failure {
                Some((n, e)) => {
                    let mut v = render::error_json(e);
                    if let Value::Object(m) = &mut v {
                        m.insert("line".into(), json!(n));
                    }
                    v
                }
                None => Value::Null,
            },
        );
        render::print_json(&Value::Object(d));
    }
    let code = match failure {
        Some((_, e)) => report(&e),
        None => 0,
    };
    crate::end_trace(&mut session, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_and_comments() {
        let l = lines("# head\n\nread ID   # the id\n  write A=1 B=2\n#\n");
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].number, 3);
        assert_eq!(l[0].words, vec!["read", "ID"]);
        assert_eq!(l[1].words, vec!["write", "A=1", "B=2"]);
    }
}
