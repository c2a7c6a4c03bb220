//! The grants of the shipped udev rules file (`udev/70-mmio-hal.rules`),
//! read by a small parser so that the VM tests, which run without udev,
//! apply exactly what the file says (group, mode, which files), and a host
//! test checks the file against `docs/permissions.md`.
//!
//! The parser knows udev's rule syntax as far as this file uses it:
//! comment and blank lines, comma-separated `KEY{ATTR}OP"VALUE"` pairs with
//! the operators `==`, `!=`, `=`, `+=` and `:=`. Anything else is an error
//! naming the line.

/// The rules file as shipped, built into the test binaries.
pub const RULES: &str = include_str!("../../udev/70-mmio-hal.rules");

/// The rules file's path in the repository (for messages).
pub const RULES_PATH: &str = "udev/70-mmio-hal.rules";

/// One `KEY{ATTR}OP"VALUE"` of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The key, e.g. `SUBSYSTEM`.
    pub name: String,
    /// The `{…}` part, e.g. `ATTR{vendor}`'s `vendor`.
    pub attr: Option<String>,
    /// `==`, `!=`, `=`, `+=` or `:=`.
    pub op: String,
    /// The value between the quotes (no escapes interpreted).
    pub value: String,
}

/// One rule: its line number (from 1) and its keys in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The line number in the file, from 1.
    pub line: usize,
    /// The keys, in the order written.
    pub keys: Vec<Key>,
}

impl Rule {
    /// The value of the first `name` key with operator `op`.
    pub fn get(&self, name: &str, op: &str) -> Option<&str> {
        self.keys
            .iter()
            .find(|k| k.name == name && k.op == op)
            .map(|k| k.value.as_str())
    }

    fn need(&self, name: &str, op: &str) -> Result<&str, String> {
        self.get(name, op).ok_or_else(|| {
            format!(
                "{RULES_PATH}:{}: the rule has no {name}{op}\"…\"",
                self.line
            )
        })
    }
}

const OPS: [&str; 5] = ["==", "!=", "+=", ":=", "="];

fn parse_key(text: &str, line: usize) -> Result<(Key, &str), String> {
    let bad = |what: &str| format!("{RULES_PATH}:{line}: {what} in `{text}`");
    let name_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .ok_or_else(|| bad("a key without operator"))?;
    let (name, mut rest) = text.split_at(name_end);
    if name.is_empty() {
        return Err(bad("expected a key name"));
    }
    let mut attr = None;
    if let Some(r) = rest.strip_prefix('{') {
        let end = r.find('}').ok_or_else(|| bad("an unclosed `{`"))?;
        attr = Some(r[..end].to_string());
        rest = &r[end + 1..];
    }
    rest = rest.trim_start();
    let op = OPS
        .iter()
        .find(|op| rest.starts_with(**op))
        .ok_or_else(|| bad("expected one of == != = += :="))?;
    rest = rest[op.len()..].trim_start();
    let r = rest
        .strip_prefix('"')
        .ok_or_else(|| bad("expected a quoted value"))?;
    let end = r.find('"').ok_or_else(|| bad("an unclosed `\"`"))?;
    let key = Key {
        name: name.to_string(),
        attr,
        op: op.to_string(),
        value: r[..end].to_string(),
    };
    Ok((key, &r[end + 1..]))
}

/// Parses a rules file's text into its rules.
pub fn parse(text: &str) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let mut rest = raw.trim();
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        if rest.ends_with('\\') {
            return Err(format!(
                "{RULES_PATH}:{line}: continued lines are not supported here: keep each rule on one line"
            ));
        }
        let mut keys = Vec::new();
        loop {
            let (key, after) = parse_key(rest, line)?;
            keys.push(key);
            let after = after.trim_start();
            if after.is_empty() {
                break;
            }
            rest = after
                .strip_prefix(',')
                .ok_or_else(|| {
                    format!("{RULES_PATH}:{line}: expected `,` between keys before `{after}`")
                })?
                .trim_start();
        }
        rules.push(Rule { line, keys });
    }
    Ok(rules)
}

/// What a rule grants: a group, a mode, and (for sysfs) the files in the
/// device's sysfs directory (shell patterns, e.g. `resource[0-5]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The rule's line number, from 1.
    pub line: usize,
    /// The group given access.
    pub group: String,
    /// The mode set.
    pub mode: u32,
    /// For a sysfs grant: the file patterns, relative to the device's
    /// directory. Empty for a device-node grant.
    pub files: Vec<String>,
}

fn mode(text: &str, line: usize) -> Result<u32, String> {
    u32::from_str_radix(text, 8)
        .map_err(|_| format!("{RULES_PATH}:{line}: mode `{text}` is not octal"))
}

/// The rule matching `subsystem` (and, if given, `key=="value"`), exactly one.
fn rule<'a>(
    rules: &'a [Rule],
    subsystem: &str,
    extra: Option<(&str, &str)>,
) -> Result<&'a Rule, String> {
    let found: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.get("SUBSYSTEM", "==") == Some(subsystem))
        .filter(|r| extra.is_none_or(|(k, v)| r.get(k, "==") == Some(v)))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        _ => Err(format!(
            "{RULES_PATH}: expected one rule with SUBSYSTEM==\"{subsystem}\"{}, found {}",
            extra
                .map(|(k, v)| format!(" and {k}==\"{v}\""))
                .unwrap_or_default(),
            found.len()
        )),
    }
}

fn node_grant(r: &Rule) -> Result<Grant, String> {
    Ok(Grant {
        line: r.line,
        group: r.need("GROUP", "=")?.to_string(),
        mode: mode(r.need("MODE", "=")?, r.line)?,
        files: Vec::new(),
    })
}

/// The grant on VFIO group nodes `/dev/vfio/N`.
pub fn vfio_node(rules: &[Rule]) -> Result<Grant, String> {
    let r = rule(rules, "vfio", None)?;
    if r.get("KERNEL", "!=") != Some("vfio") {
        return Err(format!(
            "{RULES_PATH}:{}: the vfio rule must leave the container node alone (KERNEL!=\"vfio\")",
            r.line
        ));
    }
    node_grant(r)
}

/// The grant on `/dev/uioN` of devices bound to uio_pci_generic.
pub fn uio_node(rules: &[Rule]) -> Result<Grant, String> {
    node_grant(rule(
        rules,
        "uio",
        Some(("DRIVERS", pci_sysfs::UIO_PCI_GENERIC)),
    )?)
}

/// The grant on the sysfs files of PCI devices bound to uio_pci_generic,
/// read from the rule's `RUN` command, which must have the form
/// `/bin/sh -c 'cd /sys%p && for f in FILES; do [ -e $$f ] && chgrp GROUP $$f && chmod MODE $$f; done; true'`.
pub fn uio_sysfs(rules: &[Rule]) -> Result<Grant, String> {
    let r = rule(rules, "pci", Some(("DRIVER", pci_sysfs::UIO_PCI_GENERIC)))?;
    let run = r.need("RUN", "+=")?;
    let form = || {
        format!(
            "{RULES_PATH}:{}: the RUN command is not of the form the tests apply \
             (/bin/sh -c 'cd /sys%p && for f in FILES; do [ -e $$f ] && chgrp GROUP $$f && chmod MODE $$f; done; true'): {run}",
            r.line
        )
    };
    let body = run
        .strip_prefix("/bin/sh -c 'cd /sys%p && for f in ")
        .and_then(|s| s.strip_suffix(" $$f; done; true'"))
        .ok_or_else(form)?;
    let (files, rest) = body
        .split_once("; do [ -e $$f ] && chgrp ")
        .ok_or_else(form)?;
    let (group, mode_text) = rest.split_once(" $$f && chmod ").ok_or_else(form)?;
    let files: Vec<String> = files.split_whitespace().map(str::to_string).collect();
    if files.is_empty() || group.contains(char::is_whitespace) {
        return Err(form());
    }
    Ok(Grant {
        line: r.line,
        group: group.to_string(),
        mode: mode(mode_text, r.line)?,
        files,
    })
}

/// Whether a file name matches a pattern of [`Grant::files`]: literal
/// characters and `[a-b]` ranges (all the file uses).
pub fn matches(pattern: &str, name: &str) -> bool {
    let (mut p, mut n) = (pattern.chars(), name.chars());
    loop {
        match (p.next(), n.next()) {
            (None, None) => return true,
            (Some('['), Some(c)) => {
                let class: String = p.by_ref().take_while(|&x| x != ']').collect();
                let mut cs = class.chars();
                let ok = match (cs.next(), cs.next(), cs.next()) {
                    (Some(a), Some('-'), Some(b)) => (a..=b).contains(&c),
                    _ => class.contains(c),
                };
                if !ok {
                    return false;
                }
            }
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// The three grants of the shipped file, checked to name one group.
pub fn shipped() -> Result<[Grant; 3], String> {
    let rules = parse(RULES)?;
    let grants = [vfio_node(&rules)?, uio_node(&rules)?, uio_sysfs(&rules)?];
    if grants.iter().any(|g| g.group != grants[0].group) {
        return Err(format!(
            "{RULES_PATH}: the grants name different groups: {:?}",
            grants.iter().map(|g| &g.group).collect::<Vec<_>>()
        ));
    }
    Ok(grants)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = include_str!("../../docs/permissions.md");

    #[test]
    fn shipped_rules_grant_one_group_what_the_tests_apply() {
        let [vfio, uio, sysfs] = shipped().unwrap();
        assert_eq!(vfio.group, "mmio");
        assert_eq!((vfio.mode, uio.mode, sysfs.mode), (0o660, 0o660, 0o660));
        assert!(vfio.files.is_empty() && uio.files.is_empty());
        assert_eq!(sysfs.files, ["config", "resource[0-5]", "resource[0-5]_wc"]);
        let granted = |name: &str| sysfs.files.iter().any(|p| matches(p, name));
        for name in ["config", "resource0", "resource5", "resource2_wc"] {
            assert!(granted(name), "{name}");
        }
        for name in [
            "resource",
            "resource6",
            "remove",
            "driver_override",
            "rom",
            "resource0_w",
        ] {
            assert!(!granted(name), "{name}");
        }
    }

    /// The documentation names the same group, file and match keys as the
    /// file, and the install steps.
    #[test]
    fn permissions_doc_agrees_with_the_rules_file() {
        let [vfio, ..] = shipped().unwrap();
        let rules = parse(RULES).unwrap();
        let mut wanted = vec![
            format!("groupadd --system {}", vfio.group),
            format!("usermod -aG {} ", vfio.group),
            "udevadm control --reload".to_string(),
            "udevadm trigger".to_string(),
            RULES_PATH.to_string(),
            "/etc/udev/rules.d/".to_string(),
        ];
        for r in &rules {
            for k in r.keys.iter().filter(|k| k.op == "==" || k.op == "!=") {
                wanted.push(format!("{}{}\"{}\"", k.name, k.op, k.value));
            }
        }
        for w in wanted {
            assert!(
                DOC.contains(&w),
                "docs/permissions.md does not mention `{w}`"
            );
        }
        // The install steps in the file's header are the documented ones.
        let steps: Vec<&str> = RULES
            .lines()
            .map(|l| l.trim_start_matches('#').trim())
            .filter(|l| {
                ["groupadd ", "install ", "udevadm "]
                    .iter()
                    .any(|s| l.starts_with(s))
            })
            .collect();
        assert_eq!(steps.len(), 3, "{steps:?}");
        for cmd in steps {
            assert!(
                DOC.contains(cmd),
                "docs/permissions.md lacks the install step `{cmd}`"
            );
        }
    }

    #[test]
    fn malformed_rules_are_errors_naming_the_line() {
        for (text, what) in [
            (
                "# c\nSUBSYSTEM==\"uio\", GROUP",
                ":2: a key without operator",
            ),
            ("SUBSYSTEM~\"x\"", ":1: expected one of"),
            ("SUBSYSTEM==uio", ":1: expected a quoted value"),
            ("SUBSYSTEM==\"uio", ":1: an unclosed `\"`"),
            ("ATTR{x==\"1\"", ":1: an unclosed `{`"),
            ("A==\"1\" B==\"2\"", ":1: expected `,`"),
            ("\nA==\"1\", \\", ":2: continued lines"),
            ("==\"1\"", ":1: expected a key name"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(what), "{text:?}: {e}");
        }
        let rules = parse("SUBSYSTEM==\"uio\", GROUP=\"g\", MODE=\"0968\"").unwrap();
        assert!(uio_node(&rules)
            .unwrap_err()
            .contains("DRIVERS==\"uio_pci_generic\", found 0"));
        let rules =
            parse("SUBSYSTEM==\"uio\", DRIVERS==\"uio_pci_generic\", GROUP=\"g\", MODE=\"0968\"")
                .unwrap();
        assert!(uio_node(&rules).unwrap_err().contains("not octal"));
        let rules = parse("SUBSYSTEM==\"vfio\", GROUP=\"g\", MODE=\"0660\"").unwrap();
        assert!(vfio_node(&rules).unwrap_err().contains("KERNEL!=\"vfio\""));
        let rules = parse(
            "SUBSYSTEM==\"pci\", DRIVER==\"uio_pci_generic\", RUN+=\"/bin/chmod 0666 /sys%p/config\"",
        )
        .unwrap();
        assert!(uio_sysfs(&rules).unwrap_err().contains("not of the form"));
    }
}
