//! A fast path for the most common command lines (`read` and `write` with
//! plain options), which builds the same [`Cli`] value clap would, without
//! building clap's whole command tree. Anything unusual (help, `--opt=value`,
//! an unknown or repeated option, a value clap would reject) returns `None`
//! and clap parses the line as usual, so errors and suggestions are always
//! clap's. A unit test checks that both parsers agree.
//!
//! Why: a single `regpoke read REG` should cost about as much as `busybox
//! devmem`, and building clap's tree is most of the instructions a read
//! executes (which matters most under emulation, e.g. QEMU TCG guests).

use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::{self, Cli, Command, Global, ReadArgs, WriteArgs};

/// Parses `args` (without the program name) if it is a simple `read` or
/// `write` command line; `None` means "let clap do it".
pub fn parse(args: &[OsString]) -> Option<Cli> {
    let words: Vec<&str> = args.iter().map(|a| a.to_str()).collect::<Option<_>>()?;
    let mut g = Global::default();
    let mut i = 0;
    let mut seen: Vec<&str> = Vec::new();
    let mut command: Option<&str> = None;
    let mut positional: Vec<String> = Vec::new();
    let mut width = None;
    let mut decode = false;
    let mut readback = false;
    while i < words.len() {
        let w = words[i];
        let value = |i: usize| -> Option<&str> {
            words
                .get(i + 1)
                .copied()
                .filter(|v| !v.starts_with('-') && !v.is_empty())
        };
        if !w.starts_with('-') {
            if command.is_none() {
                if w != "read" && w != "write" {
                    return None;
                }
                command = Some(w);
            } else {
                positional.push(w.to_string());
            }
            i += 1;
            continue;
        }
        // Options may be given once each (as clap demands), except -v.
        if w != "-v" {
            if seen.contains(&w) {
                return None;
            }
            seen.push(w);
        }
        let takes_value = matches!(
            w,
            "--spec"
                | "--block"
                | "--pci"
                | "--bar"
                | "--uio"
                | "--map"
                | "--devmem"
                | "--size"
                | "--file"
                | "--lock-dir"
                | "--trace"
                | "--sysfs-root"
                | "--width"
                | "-w"
        );
        if takes_value {
            let v = value(i)?;
            match w {
                "--spec" => g.spec = Some(v.to_string()),
                "--block" => g.block = Some(v.to_string()),
                "--pci" => g.pci = Some(v.to_string()),
                "--bar" => g.bar = Some(cli::parse_bar(v).ok()?),
                "--uio" => g.uio = Some(v.to_string()),
                "--map" => g.map = Some(cli::parse_index(v).ok()?),
                "--devmem" => g.devmem = Some(cli::parse_number(v).ok()?),
                "--size" => g.size = Some(cli::parse_number(v).ok()?),
                "--file" => g.file = Some(PathBuf::from(v)),
                "--lock-dir" => g.lock_dir = Some(PathBuf::from(v)),
                "--trace" => g.trace = Some(PathBuf::from(v)),
                "--sysfs-root" => g.sysfs_root = Some(PathBuf::from(v)),
                // --width belongs to the subcommand.
                _ => {
                    command?;
                    if seen
                        .iter()
                        .filter(|s| **s == "--width" || **s == "-w")
                        .count()
                        > 1
                    {
                        return None;
                    }
                    width = Some(cli::parse_width(v).ok()?);
                }
            }
            i += 2;
            continue;
        }
        match (w, command) {
            ("--json", _) => g.json = true,
            ("-v", _) => g.verbose = g.verbose.saturating_add(1),
            ("--no-lock", _) => g.no_lock = true,
            ("--decode" | "-d", Some("read")) => {
                if seen
                    .iter()
                    .filter(|s| **s == "--decode" || **s == "-d")
                    .count()
                    > 1
                {
                    return None;
                }
                decode = true
            }
            ("--readback", Some("write")) => readback = true,
            _ => return None,
        }
        i += 1;
    }
    if positional.is_empty() {
        return None;
    }
    let command = match command? {
        "read" => Command::Read(ReadArgs {
            targets: positional,
            width,
            decode,
            allow_side_effect_read: false,
        }),
        _ => Command::Write(WriteArgs {
            assignments: positional,
            width,
            readback,
            allow_side_effect_read: false,
            allow_side_effect_write: false,
            dry_run: false,
        }),
    };
    Some(Cli { global: g, command })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn os(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn agrees_with_clap() {
        let lines = [
            "--spec edu read ID",
            "--spec edu --file /tmp/x read ID STATUS.COMPUTING --decode",
            "read ID --spec edu -v -v --json",
            "--spec edu --uio 0 read 0x20 -w 16",
            "--devmem 0xfea00000 --size 0x1000 read 0x0 --width 32",
            "--pci 00:04.0 --bar 2 --no-lock write 0x0=1 --readback",
            "--spec ./x.yaml --block regs --lock-dir /tmp write A=1 B.C=2:3",
            "--uio uio0 --map 1 read X -d",
            "--sysfs-root /tmp/tree --spec edu read ID",
            "--spec edu --trace /tmp/t.mmiotrace write FACTORIAL=10",
        ];
        for l in lines {
            let fast = parse(&os(l)).unwrap_or_else(|| panic!("no fast path for {l:?}"));
            let mut full = vec![OsString::from("regpoke")];
            full.extend(os(l));
            let slow = Cli::try_parse_from(full).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{l}");
        }
    }

    /// Command lines derived from clap's own definition of regpoke: every
    /// option of the top level and of `read`/`write`, long and short, with
    /// valid and invalid values, before and after the subcommand, alone and
    /// repeated. Whenever the fast path answers, clap must accept the line
    /// and build the same value; otherwise the line goes to clap anyway.
    #[test]
    fn agrees_with_clap_on_every_option_of_its_definition() {
        use clap::CommandFactory;
        let cmd = Cli::command();
        let values = [
            "edu",
            "0",
            "2",
            "9",
            "0x10",
            "0x1_0",
            "0x_10",
            "10_",
            "16",
            "32",
            "12",
            "00:04.0",
            "uio0",
            "/tmp/x",
            "-1",
            "",
            "abc",
            "=",
            "99999999999999999999999",
        ];
        let spellings = |arg: &clap::Arg| {
            let mut v: Vec<String> = Vec::new();
            if let Some(l) = arg.get_long() {
                v.push(format!("--{l}"));
            }
            if let Some(s) = arg.get_short() {
                v.push(format!("-{s}"));
            }
            v
        };
        let mut options: Vec<(String, bool, bool)> = Vec::new(); // (spelling, takes value, global)
        for a in cmd.get_arguments() {
            for sp in spellings(a) {
                options.push((sp, a.get_action().takes_values(), true));
            }
        }
        for sub in ["read", "write"] {
            let sc = cmd.find_subcommand(sub).expect("subcommand");
            for a in sc.get_arguments() {
                for sp in spellings(a) {
                    options.push((sp, a.get_action().takes_values(), false));
                }
            }
        }
        let mut lines: Vec<String> = Vec::new();
        for sub in [
            "read ID",
            "write ID=1",
            "read 0x0 STATUS.A",
            "write 0x0=1:0xff B=2",
        ] {
            for (sp, takes, global) in &options {
                let forms: Vec<String> = if *takes {
                    values.iter().map(|v| format!("{sp} {v}")).collect()
                } else {
                    vec![sp.clone()]
                };
                for f in forms {
                    if *global {
                        lines.push(format!("{f} --spec edu {sub}"));
                    }
                    lines.push(format!("--spec edu {sub} {f}"));
                    lines.push(format!("--spec edu {sub} {f} {f}"));
                    lines.push(format!("{sub} {f}"));
                }
            }
        }
        let mut fast_taken = 0;
        for l in &lines {
            let words: Vec<OsString> = l.split(' ').map(OsString::from).collect();
            let Some(fast) = parse(&words) else { continue };
            fast_taken += 1;
            let mut full = vec![OsString::from("regpoke")];
            full.extend(words);
            match Cli::try_parse_from(full) {
                Ok(slow) => assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{l:?}"),
                Err(e) => panic!("{l:?}: the fast path accepted what clap refuses: {e}"),
            }
        }
        assert!(
            fast_taken > 100,
            "the fast path answered only {fast_taken} of {} lines",
            lines.len()
        );
    }

    #[test]
    fn leaves_the_rest_to_clap() {
        for l in [
            "",
            "--help",
            "read --help",
            "read",
            "--spec=edu read ID",
            "--spec edu dump",
            "--spec edu read ID --decode --decode",
            "--spec edu --spec kinds read ID",
            "--bar 9 read 0x0",
            "read 0x0 --width 12",
            "--spec edu read ID --readback",
            "--spec edu write A=1 --dry-run",
            "--spec",
            "-vv read ID",
            "read -- ID",
        ] {
            assert!(parse(&os(l)).is_none(), "{l:?} took the fast path");
        }
    }
}
