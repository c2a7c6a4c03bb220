//! Operations: compiled from the command line or a batch line into a
//! [`Step`] (every name, value and access rule checked before the device is
//! touched), then executed against the mapping.

use std::time::{Duration, Instant};

use hal_core::poll::Deadline;
use register_spec::{Access, Register, Width, WriteRule};
use serde::Serialize;

use crate::backend::{self, Log, Mapped, Selection};
use crate::cli::{DumpArgs, Global, IrqCommand, ReadArgs, WatchArgs, WriteArgs};
use crate::error::{Error, Result};
use crate::interrupts::Interrupts;
use crate::irqchoice::{self, IrqChoice};
use crate::lock::Locker;
use crate::num::{digits_for_bits, hex, parse_duration, parse_timeout, show_duration};
use crate::place::Scope;
use crate::spec::{self, bits_text, Condition, Target};

mod wide;

/// One checked operation.
#[derive(Debug, Clone)]
pub enum Step<'a> {
    /// Read targets (arrays expanded).
    Read {
        /// What to read, as typed (one result each).
        targets: Vec<Target<'a>>,
        /// The loads, one per register (offset and width), in the order
        /// first named: targets naming the same register share its load.
        loads: Vec<Target<'a>>,
        /// For each target, the index of its load in `loads`.
        load_of: Vec<usize>,
        /// Show fields and enum names (text output).
        decode: bool,
    },
    /// Write registers.
    Write {
        /// One plan per register access.
        plans: Vec<WritePlan<'a>>,
        /// Read back afterwards.
        readback: bool,
    },
    /// Poll until a condition holds.
    Watch {
        /// What is read.
        target: Target<'a>,
        /// What must hold.
        cond: Condition<'a>,
        /// Give up after this (None: never).
        timeout: Option<Duration>,
        /// Pause between reads.
        interval: Duration,
    },
    /// Decode the whole block.
    Dump {
        /// Read side-effect registers too.
        include_side_effects: bool,
    },
    /// Unmask the interrupt.
    IrqEnable {
        /// Which interrupt.
        choice: IrqChoice,
    },
    /// Wait for an interrupt.
    IrqWait {
        /// Give up after this (None: never).
        timeout: Option<Duration>,
        /// Compare with this cumulative count.
        since: Option<u32>,
        /// Unmask first.
        enable: bool,
        /// Which interrupt.
        choice: IrqChoice,
    },
    /// Print the interrupt count.
    IrqCount {
        /// Which interrupt.
        choice: IrqChoice,
    },
    /// Acknowledge: reads (a read-to-clear cause register), then writes,
    /// then unmask.
    IrqAck {
        /// The reads (a [`Step::Read`]), done first.
        read: Option<Box<Step<'a>>>,
        /// The writes.
        plans: Vec<WritePlan<'a>>,
        /// Which interrupt is unmasked.
        choice: IrqChoice,
    },
    /// Check a value once.
    Expect {
        /// What is read.
        target: Target<'a>,
        /// What must hold.
        cond: Condition<'a>,
    },
    /// Pause.
    Sleep(Duration),
}

impl Step<'_> {
    /// The command name, for JSON documents.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Read { .. } => "read",
            Step::Write { .. } => "write",
            Step::Watch { .. } => "watch",
            Step::Dump { .. } => "dump",
            Step::IrqEnable { .. } => "irq enable",
            Step::IrqWait { .. } => "irq wait",
            Step::IrqCount { .. } => "irq count",
            Step::IrqAck { .. } => "irq ack",
            Step::Expect { .. } => "expect",
            Step::Sleep(_) => "sleep",
        }
    }

    /// How many bytes from the start of the block the step touches, when
    /// that is known up front (reads, writes, watches and checks of single
    /// registers); `None` means the whole block (dump, whole arrays).
    ///
    /// A single command maps only that much (rounded up to pages): the
    /// kernel fills in the page tables of a UIO, `resourceN` or `/dev/mem`
    /// mapping when it is made, so a one-register command should not map
    /// a whole BAR.
    pub fn extent(&self) -> Option<u64> {
        fn end(t: &Target<'_>) -> Option<u64> {
            if t.is_whole_array() {
                return None;
            }
            t.offset().checked_add(u64::from(t.width().bits() / 8))
        }
        fn plans_end(plans: &[WritePlan<'_>]) -> Option<u64> {
            plans.iter().try_fold(0u64, |acc, p| {
                Some(acc.max(p.offset.checked_add(u64::from(p.width.bits() / 8))?))
            })
        }
        match self {
            Step::Read { targets, .. } => targets
                .iter()
                .try_fold(0u64, |acc, t| Some(acc.max(end(t)?))),
            Step::Write { plans, .. } => plans_end(plans),
            Step::IrqAck { read, plans, .. } => {
                let reads = match read {
                    Some(r) => r.extent()?,
                    None => 0,
                };
                Some(reads.max(plans_end(plans)?))
            }
            Step::Watch { target, .. } | Step::Expect { target, .. } => end(target),
            Step::Dump { .. } => None,
            Step::IrqEnable { .. }
            | Step::IrqWait { .. }
            | Step::IrqCount { .. }
            | Step::Sleep(_) => Some(0),
        }
    }

    /// Whether the step needs the register mapping.
    pub fn needs_mapping(&self) -> bool {
        !matches!(
            self,
            Step::IrqEnable { .. } | Step::IrqWait { .. } | Step::IrqCount { .. } | Step::Sleep(_)
        )
    }
}

/// One register access of a `write`: the merged assignments to one register.
#[derive(Debug, Clone)]
pub struct WritePlan<'a> {
    /// `STATUS`, `GAIN[3]` or `0x24`.
    pub label: String,
    /// The assignments as typed.
    pub assignments: Vec<String>,
    /// The register (None for a raw offset).
    pub reg: Option<&'a Register>,
    /// Array index.
    pub index: Option<u64>,
    /// Byte offset.
    pub offset: u64,
    /// Access width.
    pub width: Width,
    /// Bits the assignments set (to `bits`).
    pub mask: u64,
    /// Their values, in place.
    pub bits: u64,
    /// What the bits not named become: the register map's rule, or every
    /// bit kept as read for a raw offset.
    pub rule: WriteRule,
}

impl WritePlan<'_> {
    /// Whether the register must be read first.
    pub fn rmw(&self) -> bool {
        self.rule.needs_read(self.mask)
    }

    /// The value stored, given what a read returned (ignored without a read).
    pub fn value(&self, read: u64) -> u64 {
        self.rule.store(read, self.mask, self.bits)
    }

    /// One line saying what will be done.
    pub fn describe(&self) -> String {
        let d = digits_for_bits(self.width.bits());
        let what = format!(
            "{} ({:#x}, {}-bit)",
            self.label,
            self.offset,
            self.width.bits()
        );
        let unnamed = self.width.max_value() & !self.mask;
        let (keep, base) = (self.rule.keep, self.rule.base);
        let zero = unnamed & !keep & !base;
        if self.rmw() {
            let mut s = format!(
                "read-modify-write {what}: set {} under mask {}, keep {} as read",
                hex(self.bits, d),
                hex(self.mask, d),
                hex(keep & unnamed, d)
            );
            if zero != 0 {
                s.push_str(&format!(", write {} as 0", hex(zero, d)));
            }
            s.push_str(", under the register lock");
            s
        } else {
            let mut s = format!("write {} to {what}, no read", hex(self.value(0), d));
            if unnamed != 0 {
                if base & unnamed != 0 {
                    s.push_str(&format!(
                        " (bits not named: {} from the reset value, the rest 0)",
                        hex(base & unnamed, d)
                    ));
                } else {
                    s.push_str(" (bits not named are written as 0)");
                }
            }
            s
        }
    }
}

/// Compiles `read` arguments.
///
/// Targets naming the same register (its fields, the register itself, or
/// it again) are served by one load: a second load of a read-to-clear
/// register would see it cleared by the first.
pub fn compile_read<'a>(a: &ReadArgs, scope: Scope<'a>) -> Result<Step<'a>> {
    compile_read_as(a, scope, "read")
}

/// [`compile_read`] for `command` (named in errors).
fn compile_read_as<'a>(a: &ReadArgs, scope: Scope<'a>, command: &str) -> Result<Step<'a>> {
    let mut targets = Vec::new();
    for t in &a.targets {
        let target = spec::parse_target(t, scope, a.width)?;
        spec::check_readable(&target)?;
        check_raw_read(&target, &scope, a.allow_side_effect_read, command)?;
        if target.is_whole_array() {
            let n = target.reg().map_or(1, Register::count);
            targets.extend((0..n).map(|i| target.with_index(i)));
        } else {
            targets.push(target);
        }
    }
    let mut loads: Vec<Target<'a>> = Vec::new();
    let mut load_of = Vec::with_capacity(targets.len());
    // A BTreeMap, not a HashMap: a HashMap's random seed costs a system
    // call on every run, and a single read should cost as little as possible.
    let mut seen: std::collections::BTreeMap<(u64, u32), usize> = std::collections::BTreeMap::new();
    for t in &targets {
        let i = *seen
            .entry((t.offset(), t.width().bits()))
            .or_insert_with(|| {
                loads.push(t.register_only());
                loads.len() - 1
            });
        load_of.push(i);
    }
    Ok(Step::Read {
        targets,
        loads,
        load_of,
        decode: a.decode,
    })
}

/// Refuses a raw `target` whose bytes overlap registers (of the mapped region's blocks) whose
/// read has side effects, unless `allow` (`--allow-side-effect-read`).
/// Named registers are the user's explicit choice and pass.
fn check_raw_read(target: &Target, scope: &Scope<'_>, allow: bool, command: &str) -> Result<()> {
    let (Target::Raw { offset, width }, false) = (*target, allow) else {
        return Ok(());
    };
    let hits = spec::side_effect_overlaps(scope, offset, width);
    if hits.is_empty() {
        return Ok(());
    }
    let regs = hits
        .iter()
        .map(spec::located)
        .collect::<Vec<_>>()
        .join(", ");
    let names = hits.iter().map(Target::name).collect::<Vec<_>>();
    let (it, them) = if hits.len() == 1 {
        ("it", "the register")
    } else {
        ("them", "the registers")
    };
    let (what, fix) = if command == "watch" {
        (
            "every poll would read",
            format!(
                "pass --allow-side-effect-read if polling {} is what you mean (each poll has the side effect)",
                names.join(" and ")
            ),
        )
    } else {
        (
            "the load would read",
            format!(
                "name {them} to read {it} on purpose ({command} {}), or pass --allow-side-effect-read to read the raw offset anyway",
                names.join(" ")
            ),
        )
    };
    Err(Error::usage(format!(
        "{command} {offset:#x} ({}-bit) overlaps {regs}: {what} {it}, and reading {it} has side effects (a read clears or pops what it returns): refused",
        width.bits(),
    ))
    .hint(fix))
}

/// Compiles `write` arguments.
pub fn compile_write<'a>(a: &WriteArgs, scope: Scope<'a>) -> Result<Step<'a>> {
    Ok(Step::Write {
        plans: compile_assignments(
            &a.assignments,
            scope,
            a.width,
            a.allow_side_effect_read,
            a.allow_side_effect_write,
        )?,
        readback: a.readback,
    })
}

/// Compiles `watch` arguments.
pub fn compile_watch<'a>(a: &WatchArgs, scope: Scope<'a>) -> Result<Step<'a>> {
    let target = spec::parse_target(&a.target, scope, a.width)?;
    if target.is_whole_array() {
        return Err(Error::usage(format!(
            "{} is an array: watch one element, {}[0]",
            target.name(),
            target.name()
        )));
    }
    spec::check_readable(&target)?;
    check_raw_read(&target, &scope, a.allow_side_effect_read, "watch")?;
    if let Some(reg) = target.reg() {
        if reg.read_has_side_effects() && !a.allow_side_effect_read {
            let name = shown_label(&target);
            return Err(Error::usage(format!(
                "watch {} would poll {name}, and every read of {name} has side effects (a read clears or pops what it returns): each poll could consume the value the condition waits for, so it is refused",
                target.name()
            ))
            .hint(format!(
                "pass --allow-side-effect-read if polling {name} is what you mean; to look once, read {}",
                target.name()
            )));
        }
    }
    let cond = spec::parse_condition(&a.until, target)?;
    Ok(Step::Watch {
        target,
        cond,
        timeout: parse_timeout(&a.timeout)?,
        interval: parse_duration(&a.interval)?,
    })
}

/// Compiles `dump` arguments.
pub fn compile_dump<'a>(a: &DumpArgs, scope: Scope<'a>) -> Result<Step<'a>> {
    if scope.block.is_none() {
        return Err(Error::usage("dump needs a register map").hint("give --spec FILE.yaml or NAME"));
    }
    Ok(Step::Dump {
        include_side_effects: a.include_side_effects,
    })
}

/// Compiles an `irq` subcommand.
pub fn compile_irq<'a>(c: &IrqCommand, scope: Scope<'a>) -> Result<Step<'a>> {
    Ok(match c {
        IrqCommand::Enable(choice) => Step::IrqEnable { choice: *choice },
        IrqCommand::Count(choice) => Step::IrqCount { choice: *choice },
        IrqCommand::Wait(w) => Step::IrqWait {
            timeout: parse_timeout(&w.timeout)?,
            since: w.since,
            enable: w.enable,
            choice: w.choice,
        },
        IrqCommand::Ack(a) => {
            if a.assignments.is_empty() && a.read.is_empty() {
                return Err(Error::usage(
                    "irq ack needs an acknowledge: a write (REG.FIELD=1) or --read REG",
                )
                .hint("e.g. regpoke --spec edu irq ack IRQ_ACK.FACT=1, or irq ack --read ISR for a read-to-clear cause register"));
            }
            let read = if a.read.is_empty() {
                None
            } else {
                let r = ReadArgs {
                    targets: a.read.clone(),
                    width: a.width,
                    decode: false,
                    allow_side_effect_read: a.allow_side_effect_read,
                };
                Some(Box::new(compile_read_as(&r, scope, "irq ack --read")?))
            };
            Step::IrqAck {
                read,
                plans: compile_assignments(
                    &a.assignments,
                    scope,
                    a.width,
                    a.allow_side_effect_read,
                    false,
                )?,
                choice: a.choice,
            }
        }
    })
}

/// Compiles `expect TARGET [CONDITION]`: one read, like `read` (a named
/// register is read as asked; a raw offset overlapping a register whose
/// read has side effects needs `allow_side_effect_read`).
pub fn compile_expect<'a>(
    target: &str,
    condition: Option<&str>,
    width: Option<Width>,
    allow_side_effect_read: bool,
    scope: Scope<'a>,
) -> Result<Step<'a>> {
    let (t, c) = match condition {
        Some(c) => (target.to_string(), c.to_string()),
        None => match spec::split_condition(target) {
            (Some(lhs), rest) if !lhs.is_empty() => (lhs.to_string(), rest.to_string()),
            _ => return Err(Error::usage(format!(
                "expect {target}: no condition",
                target = crate::names::Shown(target)
            ))
            .hint(
                "write `expect TARGET VALUE`, `expect TARGET ==VALUE` or `expect TARGET==VALUE`",
            )),
        },
    };
    let target = spec::parse_target(&t, scope, width)?;
    if target.is_whole_array() {
        return Err(Error::usage(format!(
            "{} is an array: name one element, {}[0]",
            target.name(),
            target.name()
        )));
    }
    spec::check_readable(&target)?;
    check_raw_read(&target, &scope, allow_side_effect_read, "expect")?;
    let cond = spec::parse_condition(&c, target)?;
    Ok(Step::Expect { target, cond })
}

#[derive(Default)]
struct Group<'a> {
    label: String,
    texts: Vec<String>,
    target: Option<Target<'a>>,
    mask: u64,
    bits: u64,
}

/// One assignment as merged into its register's store: what it sets, for
/// the rule that every bit of a register is assigned at most once.
struct Assigned<'a> {
    /// As typed.
    text: &'a str,
    /// The field, for `REG.FIELD=VALUE`.
    field: Option<&'a str>,
    /// The bits it sets, in place.
    mask: u64,
}

/// Compiles `TARGET=VALUE[:MASK]` assignments into one plan per register,
/// applying the access rules.
///
/// The assignments to one register merge into one store, whatever their
/// order: distinct fields merge, a masked assignment (`REG=V:MASK`,
/// `0xOFF=V:MASK`) merges with fields and other masks whose bits it does
/// not share, and a whole-register assignment (`REG=V`, every bit) stands
/// alone. A bit assigned twice is an error naming both assignments, as is
/// a register named both by name and by raw offset.
pub fn compile_assignments<'a>(
    texts: &[String],
    scope: Scope<'a>,
    width: Option<Width>,
    allow_side_effect_read: bool,
    allow_side_effect_write: bool,
) -> Result<Vec<WritePlan<'a>>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    // Per group, its assignments (same order as `groups`).
    let mut assigned: Vec<Vec<Assigned<'_>>> = Vec::new();
    for text in texts {
        let (lhs, rhs) = text.split_once('=').ok_or_else(|| {
            Error::usage(format!(
                "{text} is not an assignment",
                text = crate::names::Shown(text)
            ))
            .hint("write TARGET=VALUE, TARGET.FIELD=VALUE, TARGET=VALUE:MASK or 0xOFFSET=VALUE")
        })?;
        let target = spec::parse_target(lhs, scope, width)?;
        if let (Target::Raw { offset, width }, false) = (target, allow_side_effect_write) {
            let hits = spec::write_side_effect_overlaps(&scope, offset, width);
            if !hits.is_empty() {
                let regs = hits
                    .iter()
                    .map(spec::located)
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(Error::usage(format!(
                    "{text}: {} store at {offset:#x} reaches {regs}, whose store starts an action (write_side_effects), at another offset or width than its own: refused",
                    crate::num::a_bits(width.bits()), text = crate::names::Shown(text)))
                .hint(format!(
                    "write the register by name ({}=VALUE), or pass --allow-side-effect-write if the device expects this store",
                    hits[0].name()
                )));
            }
        }
        if target.is_whole_array() {
            let n = target.reg().map_or(0, Register::count);
            return Err(Error::usage(format!(
                "{} is an array of {n} registers: name the element to write",
                target.name()
            ))
            .hint(format!(
                "{}[0]={rhs} … {}[{}]={rhs}",
                target.name(),
                target.name(),
                n.saturating_sub(1)
            )));
        }
        check_writable(&target)?;
        let (value_text, mask_text) = match rhs.rsplit_once(':') {
            Some((v, m)) => (v, Some(m)),
            None => (rhs, None),
        };
        let value = spec::parse_value(value_text, &target)?;
        let full = target.width().max_value();
        // What the assignment sets: its bits and their values in place.
        let (mask, bits) = match (target.field(), mask_text) {
            (Some(f), None) => (f.shifted_mask(), value << f.lsb),
            (Some(_), Some(_)) => {
                return Err(Error::usage(format!(
                    "{text}: a mask applies to registers and raw offsets, not to fields",
                    text = crate::names::Shown(text)
                ))
                .hint("assign the field its new value (FIELD=VALUE), or use REG=VALUE:MASK"));
            }
            (None, None) => (full, value),
            (None, Some(mt)) => {
                let m = crate::num::parse_u64_for(mt, "mask")?;
                if m > full {
                    return Err(Error::usage(format!(
                        "mask {m:#x} is wider than {} ({}-bit)",
                        target.name(),
                        target.width().bits()
                    )));
                }
                if m == 0 {
                    return Err(Error::usage(format!(
                        "{text}: the mask 0x0 selects no bits, so nothing would be written",
                        text = crate::names::Shown(text)
                    ))
                    .hint("give the mask of the bits to change (REG=0x80:0x80 sets bit 7)"));
                }
                if value & !m != 0 {
                    return Err(Error::usage(format!(
                        "{text}: value {value:#x} has bits outside the mask {m:#x}",
                        text = crate::names::Shown(text)
                    ))
                    .hint("only the mask's bits are written: give a value inside the mask"));
                }
                (m, value)
            }
        };
        let label = match target {
            Target::Reg { .. } => target.register_only().name(),
            Target::Raw { offset, width } => format!("{offset:#x}/{}", width.bits()),
        };
        let pos = match groups.iter().position(|g| g.label == label) {
            Some(p) => p,
            None => {
                groups.push(Group {
                    label: label.clone(),
                    target: Some(target.register_only()),
                    ..Group::default()
                });
                assigned.push(Vec::new());
                groups.len() - 1
            }
        };
        let (Some(g), Some(earlier)) = (groups.get_mut(pos), assigned.get_mut(pos)) else {
            return Err(Error::usage("internal error: lost a write group"));
        };
        let field = target.field().map(|f| f.name.as_str());
        if let Some(prev) = earlier.iter().find(|a| a.mask & mask != 0) {
            let what = match (prev.field, field) {
                (Some(a), Some(b)) if a == b => target.name(),
                _ => shown_label(&target),
            };
            return Err(Error::usage(format!(
                "{what} is assigned more than once in one write: {} and {text} both set bits {}",
                crate::names::Shown(prev.text),
                hex(prev.mask & mask, digits_for_bits(target.width().bits())),
                text = crate::names::Shown(text)
            ))
            .hint(MERGE_HINT));
        }
        earlier.push(Assigned { text, field, mask });
        g.texts.push(text.clone());
        g.mask |= mask;
        g.bits = (g.bits & !mask) | bits;
    }
    check_same_bytes(&groups, &assigned)?;
    groups
        .into_iter()
        .map(|g| finish_group(g, allow_side_effect_read))
        .map(|plan| check_raw_rmw(plan?, &scope, allow_side_effect_read))
        .collect()
}

const MERGE_HINT: &str = "the assignments to one register merge into one store, so each bit may be assigned once: fields and VALUE:MASK parts with disjoint bits merge, REG=VALUE (every bit) stands alone; for two stores in order, use two commands or two batch lines";

/// `STATUS`, `GAIN[3]` or `0x24`: the register a target is in.
fn shown_label(target: &Target) -> String {
    target.register_only().name()
}

/// Refuses two groups whose bytes overlap: a register named by name and by
/// raw offset would be two stores whose result depends on their order.
fn check_same_bytes<'a>(groups: &[Group<'a>], assigned: &[Vec<Assigned<'_>>]) -> Result<()> {
    let span = |g: &Group<'a>| {
        g.target.map(|t| {
            let start = u128::from(t.offset());
            (start, start + u128::from(t.width().bytes()), t)
        })
    };
    for (i, a) in groups.iter().enumerate() {
        let Some((a_start, a_end, a_target)) = span(a) else {
            continue;
        };
        for (j, b) in groups.iter().enumerate().skip(i + 1) {
            let Some((b_start, b_end, b_target)) = span(b) else {
                continue;
            };
            if a_start < b_end && b_start < a_end {
                let first = |k: usize| {
                    assigned
                        .get(k)
                        .and_then(|v| v.first())
                        .map_or("", |x| x.text)
                };
                let (named, raw) = if a_target.reg().is_some() {
                    (a_target, b_target)
                } else {
                    (b_target, a_target)
                };
                return Err(Error::usage(format!(
                    "{} is assigned more than once in one write: {} and {} both write its bytes (the raw offset {} ({}-bit) overlaps {})",
                    shown_label(&named),
                    crate::names::Shown(first(i)),
                    crate::names::Shown(first(j)),
                    raw.name(),
                    raw.width().bits(),
                    spec::located(&named),
                ))
                .hint("name each register one way in one write (by name, or by raw offset); for two stores in order, use two commands or two batch lines"));
            }
        }
    }
    Ok(())
}

/// Refuses the read of a raw `VALUE:MASK` read-modify-write whose bytes
/// overlap registers whose read has side effects, unless allowed.
fn check_raw_rmw<'a>(
    plan: WritePlan<'a>,
    scope: &Scope<'_>,
    allow_side_effect_read: bool,
) -> Result<WritePlan<'a>> {
    if plan.reg.is_some() || !plan.rmw() || allow_side_effect_read {
        return Ok(plan);
    }
    let hits = spec::side_effect_overlaps(scope, plan.offset, plan.width);
    if hits.is_empty() {
        return Ok(plan);
    }
    let regs = hits
        .iter()
        .map(spec::located)
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::usage(format!(
        "writing {} needs a read-modify-write of {:#x} ({}-bit) to keep the bits outside the mask, and that read overlaps {regs}, whose read has side effects: refused",
        plan.assignments.join(" "),
        plan.offset,
        plan.width.bits()
    ))
    .hint(format!(
        "write the whole word ({:#x}=VALUE, no read), or pass --allow-side-effect-read to read it anyway",
        plan.offset
    )))
}

fn check_writable(target: &Target) -> Result<()> {
    let Target::Reg { reg, field, .. } = target else {
        return Ok(());
    };
    if !reg.can_write() {
        return Err(Error::usage(format!(
            "{} is read-only ({}): writes to it are refused",
            reg.name, reg.access
        ))
        .hint(format!(
            "if you really must write the bus address, use the raw offset: write {:#x}=VALUE --width {}",
            target.offset(),
            reg.width.bits()
        )));
    }
    if let Some(f) = field {
        let a = f.access_in(reg);
        if !a.can_write() {
            return Err(Error::usage(format!(
                "{} is a read-only field ({a}): writes to it are refused",
                target.name()
            ))
            .hint(format!(
                "writable fields of {}: {}",
                reg.name,
                writable_fields(reg)
            )));
        }
    }
    Ok(())
}

fn writable_fields(reg: &Register) -> String {
    let w: Vec<&str> = reg
        .fields
        .iter()
        .filter(|f| f.access_in(reg).can_write())
        .map(|f| f.name.as_str())
        .collect();
    if w.is_empty() {
        "none".into()
    } else {
        w.join(", ")
    }
}

/// Turns the merged assignments to one register into one access, with the
/// register map's write rule for the bits they do not name
/// ([`register_spec::WriteRule`], the rule generated code's `modify` follows).
fn finish_group(g: Group<'_>, allow_side_effect_read: bool) -> Result<WritePlan<'_>> {
    let Some(target) = g.target else {
        return Err(Error::usage("internal error: empty write group"));
    };
    let width = target.width();
    let (reg, index) = match target {
        Target::Reg { reg, index, .. } => (Some(reg), index),
        Target::Raw { .. } => (None, None),
    };
    let plan = WritePlan {
        label: match target {
            Target::Raw { offset, .. } => format!("{offset:#x}"),
            _ => g.label.clone(),
        },
        assignments: g.texts,
        reg,
        index,
        offset: target.offset(),
        width,
        mask: g.mask,
        bits: g.bits,
        rule: match reg {
            Some(reg) => reg.write_rule(),
            // A raw VALUE:MASK keeps every other bit.
            None => WriteRule::keep_all(width),
        },
    };
    if let Some(reg) = reg {
        // A validated map never asks for this (field writes of such a
        // register are `from_reset`); kept for models built by hand.
        if plan.rmw() && reg.read_has_side_effects() && !allow_side_effect_read {
            return Err(Error::usage(format!(
                "writing {} needs a read-modify-write of {}, and reading {} has side effects: refused",
                plan.assignments.join(" "),
                plan.label,
                reg.name
            ))
            .hint(format!(
                "write the whole register ({}=VALUE), or pass --allow-side-effect-read to read it anyway",
                plan.label
            )));
        }
    }
    Ok(plan)
}

/// A field of a decoded register value.
#[derive(Debug, Clone, Serialize)]
pub struct FieldValue {
    /// Field name.
    pub name: String,
    /// `msb:lsb` (or the bit).
    pub bits: String,
    /// Least significant bit.
    pub lsb: u32,
    /// Most significant bit.
    pub msb: u32,
    /// Access kind of the field.
    pub access: &'static str,
    /// The value (None for write-only fields: their read value means nothing).
    pub value: Option<u64>,
    /// The value in hex, padded to the field width.
    pub hex: Option<String>,
    /// The enumerated value's name, if the value has one.
    #[serde(rename = "enum")]
    pub enum_name: Option<String>,
}

/// The result of reading one target.
#[derive(Debug, Clone, Serialize)]
pub struct ReadResult {
    /// Canonical target name (`STATUS.COMPUTING`, `GAIN[3]`, `0x24`).
    pub target: String,
    /// Register name (None for raw offsets).
    pub register: Option<String>,
    /// Array index.
    pub index: Option<u64>,
    /// Field name, for a field target.
    pub field: Option<String>,
    /// Access kind of the target.
    pub access: Option<&'static str>,
    /// Byte offset in the block.
    pub offset: u64,
    /// Access width in bits.
    pub width: u32,
    /// The value (the field's, for a field target).
    pub value: u64,
    /// The value in hex, padded to the target's width.
    pub hex: String,
    /// The whole register's value (differs from `value` for fields).
    pub register_value: u64,
    /// Enum name of a field target's value.
    #[serde(rename = "enum")]
    pub enum_name: Option<String>,
    /// Decoded fields (register targets).
    pub fields: Vec<FieldValue>,
    /// Whether reading the register has side effects.
    pub read_side_effects: bool,
}

fn decode_fields(reg: &Register, v: u64) -> Vec<FieldValue> {
    reg.fields
        .iter()
        .map(|f| {
            let a = f.access_in(reg);
            let fv = spec::field_value(f, v);
            let readable = a.can_read();
            FieldValue {
                name: f.name.clone(),
                bits: bits_text(f),
                lsb: f.lsb,
                msb: f.msb,
                access: a.as_str(),
                value: readable.then_some(fv),
                hex: readable.then(|| hex(fv, digits_for_bits(f.bits()))),
                enum_name: if readable {
                    spec::enum_name(f, fv).map(String::from)
                } else {
                    None
                },
            }
        })
        .collect()
}

/// Builds the result of reading `target` whose register held `reg_value`.
pub fn read_result(target: &Target, reg_value: u64) -> ReadResult {
    match *target {
        Target::Raw { offset, width } => ReadResult {
            target: target.name(),
            register: None,
            index: None,
            field: None,
            access: None,
            offset,
            width: width.bits(),
            value: reg_value,
            hex: target.hex(reg_value),
            register_value: reg_value,
            enum_name: None,
            fields: Vec::new(),
            read_side_effects: false,
        },
        Target::Reg {
            reg, index, field, ..
        } => {
            let (value, enum_name, fields) = match field {
                Some(f) => {
                    let v = spec::field_value(f, reg_value);
                    (v, spec::enum_name(f, v).map(String::from), Vec::new())
                }
                None => (reg_value, None, decode_fields(reg, reg_value)),
            };
            ReadResult {
                target: target.name(),
                register: Some(reg.name.clone()),
                index,
                field: field.map(|f| f.name.clone()),
                access: spec::target_access(target).map(Access::as_str),
                offset: target.offset(),
                width: reg.width.bits(),
                value,
                hex: target.hex(value),
                register_value: reg_value,
                enum_name,
                fields,
                read_side_effects: reg.read_has_side_effects(),
            }
        }
    }
}

/// The result of one register write.
#[derive(Debug, Clone, Serialize)]
pub struct WriteResult {
    /// `STATUS`, `GAIN[3]` or `0x24`.
    pub target: String,
    /// The assignments merged into this access.
    pub assignments: Vec<String>,
    /// Register name (None for raw offsets).
    pub register: Option<String>,
    /// Array index.
    pub index: Option<u64>,
    /// Byte offset in the block.
    pub offset: u64,
    /// Access width in bits.
    pub width: u32,
    /// `write` (no read) or `rmw` (read-modify-write under the lock).
    pub mode: &'static str,
    /// The value written.
    pub value: u64,
    /// It in hex.
    pub hex: String,
    /// The value read by a read-modify-write.
    pub previous: Option<u64>,
    /// The value read back (`--readback`).
    pub readback: Option<u64>,
    /// It in hex.
    pub readback_hex: Option<String>,
    /// Why there is no read-back although one was asked for.
    pub readback_skipped: Option<String>,
}

/// A register skipped by `dump`.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// `NAME` or `NAME[i]`.
    pub target: String,
    /// The register's name.
    #[serde(skip)]
    pub register: String,
    /// The array index.
    #[serde(skip)]
    pub index: Option<u64>,
    /// Byte offset.
    pub offset: u64,
    /// `write-only` or `read side effects`.
    pub reason: &'static str,
}

/// What a step produced (the JSON document of a command, or one batch step).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Output {
    /// `read`.
    Read {
        /// One per target.
        reads: Vec<ReadResult>,
        /// Text output decodes.
        #[serde(skip)]
        decode: bool,
    },
    /// `write` and `irq ack`.
    Write {
        /// `irq ack --read` only: the acknowledging reads, done first.
        #[serde(skip_serializing_if = "Option::is_none")]
        reads: Option<Vec<ReadResult>>,
        /// One per register access.
        writes: Vec<WriteResult>,
        /// `irq ack` only: the interrupt was enabled again.
        #[serde(skip_serializing_if = "Option::is_none")]
        enabled: Option<bool>,
    },
    /// `watch` and `expect`.
    Check {
        /// The target read.
        target: String,
        /// The condition, canonical (`STATUS.COMPUTING==0x0`).
        condition: String,
        /// Whether it held.
        held: bool,
        /// The last value read (of the condition's subject).
        value: u64,
        /// It in hex.
        hex: String,
        /// Its enum name.
        #[serde(rename = "enum")]
        enum_name: Option<String>,
        /// Reads done.
        reads: u64,
        /// Time spent, in seconds.
        elapsed: f64,
        /// The timeout, in seconds (None: none, or an `expect`).
        timeout: Option<f64>,
    },
    /// `dump`.
    Dump {
        /// Registers read and decoded.
        registers: Vec<ReadResult>,
        /// Registers not read, and why.
        skipped: Vec<Skipped>,
    },
    /// `irq wait`.
    IrqWait {
        /// Cumulative interrupt count (None on timeout).
        count: Option<u32>,
        /// Interrupts missed before this one.
        missed: Option<u32>,
        /// Whether the wait timed out.
        timed_out: bool,
        /// Time spent, in seconds.
        elapsed: f64,
    },
    /// `irq count`.
    IrqCount {
        /// Cumulative interrupt count.
        count: u32,
    },
    /// `irq enable`.
    IrqEnable {
        /// Always true.
        enabled: bool,
    },
    /// `sleep`.
    Sleep {
        /// Seconds slept.
        slept: f64,
    },
    /// A step of a dry run.
    Planned {
        /// What would be done, one line per access.
        plan: Vec<String>,
    },
}

impl Output {
    /// The error this output means for the exit status (a timeout or a
    /// condition that did not hold), if any.
    pub fn failure(&self, step: &Step) -> Option<Error> {
        match self {
            Output::Check { held: false, target, condition, hex, enum_name, reads, .. } => {
                let shown = match enum_name {
                    Some(n) => format!("{hex} ({n})"),
                    None => hex.clone(),
                };
                Some(match step {
                    Step::Watch { timeout, .. } => Error::condition(format!(
                        "watch {target}: {condition} did not hold within {}: the value is still {shown} after {reads} reads",
                        timeout.map(show_duration).unwrap_or_else(|| "the time allowed".into())
                    )),
                    _ => Error::condition(format!("expect {condition} failed: {target} is {shown}")),
                })
            }
            Output::IrqWait { timed_out: true, elapsed, .. } => Some(Error::condition(format!(
                "irq wait: no interrupt within {elapsed:.3}s"
            ))
            .hint("was it enabled (irq enable, or --enable) and did the device raise it? An interrupt raised before this process opened the device is seen only with --since COUNT")),
            _ => None,
        }
    }
}

/// The execution context: spec, block, device selection, mapping, locks.
pub struct Session<'a> {
    /// Global options.
    pub g: &'a Global,
    /// Diagnostics.
    pub log: Log,
    /// The map and the block in use.
    pub scope: Scope<'a>,
    /// What was selected (None in a dry run).
    pub selection: Option<Selection>,
    /// The mapping, once opened.
    pub mapped: Option<Mapped>,
    /// Lock taking.
    pub locker: Locker,
    /// Bytes of the block the commands touch ([`Step::extent`]); `None`
    /// maps the whole block.
    pub extent: Option<u64>,
    irq: Option<Interrupts>,
}

impl<'a> Session<'a> {
    /// A session over a selection (mapped lazily).
    pub fn new(
        g: &'a Global,
        log: Log,
        scope: Scope<'a>,
        selection: Option<Selection>,
    ) -> Session<'a> {
        Session {
            g,
            log,
            scope,
            selection,
            mapped: None,
            locker: Locker::new(!g.no_lock, g.lock_dir.as_deref()),
            extent: None,
            irq: None,
        }
    }

    /// Maps the selection if that has not been done yet.
    pub fn ensure_mapped(&mut self) -> Result<()> {
        if self.mapped.is_none() {
            let sel = self
                .selection
                .as_ref()
                .ok_or_else(|| Error::usage("internal error: no device selected"))?;
            let mut m = backend::map(sel, self.g, self.log, self.extent)?;
            if let Some(path) = &self.g.trace {
                let len = self.scope.region_len();
                m.region = m.region.traced(path, m.info.phys, len)?;
                self.log
                    .info(|| format!("recording every access to {}", path.display()));
            }
            if let (Some(b), Some(need), None) =
                (self.scope.block, self.scope.region_len(), self.extent)
            {
                if (m.region.region().len() as u64) < need {
                    self.log.info(|| {
                        format!(
                            "the mapping ({:#x} bytes) is smaller than block {} needs ({:#x} bytes from the start of the mapping): accesses beyond it are refused",
                            m.region.region().len(),
                            b.name,
                            need
                        )
                    });
                }
            }
            self.mapped = Some(m);
        }
        Ok(())
    }

    fn mapped(&self) -> Result<&Mapped> {
        self.mapped
            .as_ref()
            .ok_or_else(|| Error::usage("internal error: not mapped"))
    }

    fn read_at(&self, offset: u64, width: Width) -> Result<u64> {
        let m = self.mapped()?;
        let off = usize::try_from(offset)
            .map_err(|_| Error::usage(format!("offset {offset:#x} is too large")))?;
        let v = m
            .region
            .read(off, spec::hal_width(width))
            .map_err(|e| Error::usage(format!("{}: {e}", m.region.region().label())))?;
        self.log.trace(|| {
            format!(
                "read{} {offset:#x} -> {}",
                width.bits(),
                hex(v, digits_for_bits(width.bits()))
            )
        });
        Ok(v)
    }

    fn write_at(&self, offset: u64, width: Width, value: u64) -> Result<()> {
        let m = self.mapped()?;
        let off = usize::try_from(offset)
            .map_err(|_| Error::usage(format!("offset {offset:#x} is too large")))?;
        self.log.trace(|| {
            format!(
                "write{} {offset:#x} <- {}",
                width.bits(),
                hex(value, digits_for_bits(width.bits()))
            )
        });
        m.region
            .write(off, spec::hal_width(width), value)
            .map_err(|e| Error::usage(format!("{}: {e}", m.region.region().label())))
    }

    /// Writes out what `--trace` has buffered, before a wait.
    fn flush_trace(&self) -> Result<()> {
        match &self.mapped {
            Some(m) => m.region.flush(),
            None => Ok(()),
        }
    }

    /// Ends the `--trace` recording (if any) and reports whether the trace
    /// was written completely.
    pub fn finish_trace(&mut self) -> Result<()> {
        match self.mapped.take() {
            Some(m) => m.region.finish(),
            None => Ok(()),
        }
    }

    fn read_target(&self, t: &Target) -> Result<ReadResult> {
        let v = self.read_reg(t.offset(), t.width(), t.reg())?;
        Ok(read_result(t, v))
    }

    /// The interrupts of the selection, opened once. Over VFIO they come
    /// from the mapping's device (a group is opened once per process), so
    /// the selection is mapped first. `choice` opens them the first time;
    /// later commands' options must agree with what was opened.
    fn interrupts(&mut self, choice: &IrqChoice) -> Result<&mut Interrupts> {
        if let Some(irq) = &self.irq {
            irqchoice::check_same(&irq.chosen(), choice)?;
        } else {
            let sel = self
                .selection
                .as_ref()
                .ok_or_else(|| Error::usage("internal error: no device selected"))?;
            if backend::uses_vfio(sel) {
                self.ensure_mapped()?;
            }
            let sel = self
                .selection
                .as_ref()
                .ok_or_else(|| Error::usage("internal error: no device selected"))?;
            let irq = backend::interrupts(sel, self.g, self.mapped.as_ref(), choice, self.log)?;
            self.irq = Some(irq);
        }
        self.irq
            .as_mut()
            .ok_or_else(|| Error::usage("internal error: no interrupt device"))
    }

    /// Runs one step.
    pub fn exec(&mut self, step: &Step) -> Result<Output> {
        if step.needs_mapping() {
            self.ensure_mapped()?;
        }
        match step {
            Step::Read {
                targets,
                loads,
                load_of,
                decode,
            } => {
                let values = loads
                    .iter()
                    .map(|t| self.read_reg(t.offset(), t.width(), t.reg()))
                    .collect::<Result<Vec<u64>>>()?;
                let reads = targets
                    .iter()
                    .zip(load_of)
                    .map(|(t, &i)| {
                        values
                            .get(i)
                            .map(|&v| read_result(t, v))
                            .ok_or_else(|| Error::usage("internal error: a read without its load"))
                    })
                    .collect::<Result<_>>()?;
                Ok(Output::Read {
                    reads,
                    decode: *decode,
                })
            }
            Step::Write { plans, readback } => Ok(Output::Write {
                reads: None,
                writes: self.write_plans(plans, *readback)?,
                enabled: None,
            }),
            Step::Watch {
                target,
                cond,
                timeout,
                interval,
            } => self.watch(target, cond, *timeout, *interval),
            Step::Expect { target, cond } => {
                self.watch(target, cond, Some(Duration::ZERO), Duration::ZERO)
            }
            Step::Dump {
                include_side_effects,
            } => self.dump(*include_side_effects),
            Step::IrqEnable { choice } => {
                self.interrupts(choice)?.enable()?;
                Ok(Output::IrqEnable { enabled: true })
            }
            Step::IrqCount { choice } => {
                let count = self.interrupts(choice)?.count()?;
                Ok(Output::IrqCount { count })
            }
            Step::IrqWait {
                timeout,
                since,
                enable,
                choice,
            } => self.irq_wait(*timeout, *since, *enable, choice),
            Step::IrqAck {
                read,
                plans,
                choice,
            } => {
                let reads = match read.as_deref() {
                    Some(r) => match self.exec(r)? {
                        Output::Read { reads, .. } => Some(reads),
                        _ => None,
                    },
                    None => None,
                };
                let writes = self.write_plans(plans, false)?;
                self.interrupts(choice)?.enable()?;
                Ok(Output::Write {
                    reads,
                    writes,
                    enabled: Some(true),
                })
            }
            Step::Sleep(d) => {
                self.flush_trace()?;
                std::thread::sleep(*d);
                Ok(Output::Sleep {
                    slept: d.as_secs_f64(),
                })
            }
        }
    }

    fn write_plans(&self, plans: &[WritePlan], readback: bool) -> Result<Vec<WriteResult>> {
        let mut out = Vec::new();
        for p in plans {
            let d = digits_for_bits(p.width.bits());
            let (value, previous) = if p.rmw() {
                let key = self.mapped()?.lock_base.key(p.offset);
                let _guard = self.locker.lock(&key)?;
                self.log.trace(|| format!("locked {key}"));
                let old = self.read_reg(p.offset, p.width, p.reg)?;
                let new = p.value(old);
                self.write_reg(p.offset, p.width, p.reg, new)?;
                (new, Some(old))
            } else {
                let new = p.value(0);
                self.write_reg(p.offset, p.width, p.reg, new)?;
                (new, None)
            };
            self.log
                .info(|| format!("{}: {}", p.assignments.join(" "), p.describe()));
            let (readback_v, skipped) = if !readback {
                (None, None)
            } else {
                match p.reg {
                    Some(r) if !r.access.can_read() => (None, Some("write-only".to_string())),
                    Some(r) if r.read_has_side_effects() => {
                        (None, Some("read side effects".to_string()))
                    }
                    // A raw offset over a side-effect register: the same.
                    None if !spec::side_effect_overlaps(&self.scope, p.offset, p.width)
                        .is_empty() =>
                    {
                        (None, Some("read side effects".to_string()))
                    }
                    _ => (Some(self.read_reg(p.offset, p.width, p.reg)?), None),
                }
            };
            if let Some(why) = &skipped {
                crate::output::err(&format!(
                    "regpoke: warning: {} not read back ({why})",
                    p.label
                ));
            }
            out.push(WriteResult {
                target: p.label.clone(),
                assignments: p.assignments.clone(),
                register: p.reg.map(|r| r.name.clone()),
                index: p.index,
                offset: p.offset,
                width: p.width.bits(),
                mode: if p.rmw() { "rmw" } else { "write" },
                value,
                hex: hex(value, d),
                previous,
                readback: readback_v,
                readback_hex: readback_v.map(|v| hex(v, d)),
                readback_skipped: skipped,
            });
        }
        Ok(out)
    }

    fn watch(
        &self,
        target: &Target,
        cond: &Condition,
        timeout: Option<Duration>,
        interval: Duration,
    ) -> Result<Output> {
        let start = Instant::now();
        let deadline = Deadline::after(timeout);
        let mut reads = 0u64;
        loop {
            let reg_value = self.read_reg(target.offset(), target.width(), target.reg())?;
            reads += 1;
            let r = read_result(&cond.subject, reg_value);
            let held = cond.op.holds(r.value);
            // A zero timeout has passed at once: one read.
            let expired = deadline.passed();
            if held || expired {
                return Ok(Output::Check {
                    target: cond.subject.name(),
                    condition: format!("{}{}", cond.subject.name(), cond.op.text()),
                    held,
                    value: r.value,
                    hex: r.hex,
                    enum_name: r.enum_name,
                    reads,
                    elapsed: start.elapsed().as_secs_f64(),
                    timeout: timeout.map(|t| t.as_secs_f64()),
                });
            }
            if interval.is_zero() {
                std::hint::spin_loop();
            } else {
                let mut pause = interval;
                if let Some(left) = deadline.remaining() {
                    pause = pause.min(left);
                }
                self.flush_trace()?;
                std::thread::sleep(pause);
            }
        }
    }

    fn dump(&self, include_side_effects: bool) -> Result<Output> {
        if self.scope.block.is_none() {
            return Err(
                Error::usage("dump needs a register map").hint("give --spec FILE.yaml or NAME")
            );
        }
        let mut registers = Vec::new();
        let mut skipped = Vec::new();
        // Everything in address order: an array listed after the registers
        // it sits among (or interleaved with them) is shown in its place.
        // Every element of a block array, each at its own base.
        let mut all: Vec<Target> = self
            .scope
            .chosen_elements()
            .into_iter()
            .flat_map(|place| {
                place.block.registers.iter().flat_map(move |reg| {
                    (0..reg.count()).map(move |i| Target::Reg {
                        reg,
                        index: reg.array.map(|_| i),
                        field: None,
                        place,
                    })
                })
            })
            .collect();
        all.sort_by_key(Target::offset);
        for t in all {
            let Target::Reg { reg, index, .. } = t else {
                continue;
            };
            let reason = if !reg.access.can_read() {
                Some("write-only")
            } else if reg.read_has_side_effects() && !include_side_effects {
                Some("read side effects")
            } else {
                None
            };
            match reason {
                Some(reason) => skipped.push(Skipped {
                    target: t.name(),
                    register: reg.name.clone(),
                    index,
                    offset: t.offset(),
                    reason,
                }),
                None => registers.push(self.read_target(&t)?),
            }
        }
        Ok(Output::Dump { registers, skipped })
    }

    fn irq_wait(
        &mut self,
        timeout: Option<Duration>,
        since: Option<u32>,
        enable: bool,
        choice: &IrqChoice,
    ) -> Result<Output> {
        let start = Instant::now();
        // Armed before the count is read: waits count from here.
        self.interrupts(choice)?.arm()?;
        if let Some(s) = since {
            let c = self.interrupts(choice)?.count()?;
            if c != s {
                return Ok(Output::IrqWait {
                    count: Some(c),
                    missed: Some(c.wrapping_sub(s).saturating_sub(1)),
                    timed_out: false,
                    elapsed: start.elapsed().as_secs_f64(),
                });
            }
        }
        if enable {
            self.interrupts(choice)?.enable()?;
        }
        self.flush_trace()?;
        let ev = self.interrupts(choice)?.wait(timeout)?;
        Ok(match ev {
            Some((count, missed)) => Output::IrqWait {
                count: Some(count),
                missed: Some(match since {
                    Some(s) => count.wrapping_sub(s).saturating_sub(1),
                    None => missed,
                }),
                timed_out: false,
                elapsed: start.elapsed().as_secs_f64(),
            },
            None => Output::IrqWait {
                count: None,
                missed: None,
                timed_out: true,
                elapsed: start.elapsed().as_secs_f64(),
            },
        })
    }
}

/// What a step would do, for dry runs (one line per access).
pub fn describe(step: &Step) -> Vec<String> {
    let what = |t: &Target| format!("{} ({:#x}, {}-bit)", t.name(), t.offset(), t.width().bits());
    match step {
        Step::Read {
            targets,
            loads,
            load_of,
            ..
        } => {
            // The targets each load serves, as typed.
            let mut served: Vec<Vec<String>> = vec![Vec::new(); loads.len()];
            for (t, &l) in targets.iter().zip(load_of) {
                if let Some(v) = served.get_mut(l) {
                    v.push(t.name());
                }
            }
            loads
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let mut s = format!("read {}", what(t));
                    let served = served.get(i).map(Vec::as_slice).unwrap_or_default();
                    if served.len() > 1 || served.first().is_some_and(|n| *n != t.name()) {
                        s.push_str(&format!(" once for {}", served.join(", ")));
                    }
                    if t.reg().is_some_and(Register::read_has_side_effects) {
                        s.push_str(" [read has side effects]");
                    }
                    s
                })
                .collect()
        }
        Step::Write { plans, readback } => {
            let mut v: Vec<String> = plans.iter().map(WritePlan::describe).collect();
            if *readback {
                v.push("read each register back".into());
            }
            v
        }
        Step::Watch {
            target,
            cond,
            timeout,
            interval,
        } => vec![format!(
            "poll {} every {} until {}{} (timeout {})",
            what(target),
            show_duration(*interval),
            cond.subject.name(),
            cond.op.text(),
            timeout.map(show_duration).unwrap_or_else(|| "none".into())
        )],
        Step::Expect { target, cond } => vec![format!(
            "read {} and check {}{}",
            what(target),
            cond.subject.name(),
            cond.op.text()
        )],
        Step::Dump {
            include_side_effects,
        } => vec![format!(
            "read and decode every readable register{}",
            if *include_side_effects {
                ", including those with read side effects"
            } else {
                " without read side effects"
            }
        )],
        Step::IrqEnable { choice } => {
            vec![format!(
                "enable (unmask) the interrupt{}",
                choice.describe()
            )]
        }
        Step::IrqCount { choice } => {
            vec![format!("read the interrupt count{}", choice.describe())]
        }
        Step::IrqWait {
            timeout,
            since,
            enable,
            choice,
        } => vec![format!(
            "{}wait for an interrupt{}{} (timeout {})",
            if *enable {
                "enable the interrupt, then "
            } else {
                ""
            },
            choice.describe(),
            since
                .map(|s| format!(" (count other than {s})"))
                .unwrap_or_default(),
            timeout.map(show_duration).unwrap_or_else(|| "none".into())
        )],
        Step::IrqAck {
            read,
            plans,
            choice,
        } => {
            let mut v: Vec<String> = read.as_deref().map(describe).unwrap_or_default();
            v.extend(plans.iter().map(WritePlan::describe));
            v.push(format!(
                "enable (unmask) the interrupt{}",
                choice.describe()
            ));
            v
        }
        Step::Sleep(d) => vec![format!("sleep {}", show_duration(*d))],
    }
}
