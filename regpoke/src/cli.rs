//! The command line: clap definitions, shared by the CLI, batch lines,
//! completions and the man page.
//!
//! The doc comments here are the `--help` text, so they say `REG[N]` as the
//! user types it, not as an intra-doc link.
#![allow(rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use register_spec::Width;

use crate::irqchoice::IrqChoice;

const AFTER_HELP: &str = "\
Device selection:
  --spec FILE.yaml|NAME    the register map (NAME: a shipped map: edu, ivshmem)
  With a spec that has a PCI identity and no other selector, regpoke finds the
  device itself: VFIO when it is bound to vfio-pci (only VFIO then), else the
  UIO map (bound to uio_pci_generic and the BAR is a UIO map), else sysfs
  resourceN, else /dev/mem. -v says which. Explicit selectors (--pci,
  --vfio[=BDF|ID], --uio, --devmem, --file) override.

Exit status:
  0  success
  1  device, I/O or permission failure; standard output could not be written
     (a closed pipe is not an error: output stops quietly)
  2  usage error, unknown name, refused access, invalid spec, nothing to map
     (empty --file, --size 0), or a spec/batch file over 16 MiB
  3  a watch or interrupt wait timed out, or a batch `expect` did not hold

Examples:
  regpoke --spec edu read ID
  regpoke --spec edu read STATUS --decode
  regpoke --spec edu write LIVENESS=0x12345678 --readback
  regpoke --spec edu write STATUS.IRQFACT=1 FACTORIAL=10
  regpoke --spec edu watch STATUS.COMPUTING --until ==IDLE --timeout 2s
  regpoke --spec edu --uio 0 irq wait --timeout 1s
  regpoke --spec edu --vfio=0000:00:03.0 read ID
  regpoke --devmem 0xfea00000 read 0x0 --width 32
  regpoke --spec edu --file regs.bin dump --json
  regpoke --spec dmac.yaml read ch[3].CTRL      (block array element 3)
  regpoke --spec dmac.yaml write ch[3].CTRL.EN=1 irq.STATUS.CH3=1
  regpoke --spec edu --trace edu.mmiotrace write FACTORIAL=10

Full documentation: docs/regpoke.md";

/// Read, write, decode, watch and script device registers by name, from
/// the same YAML register maps as the typed Rust blocks.
///
/// Accesses are width-exact and single: a read is one load of the
/// register's width (one per register, however many of its fields are
/// named), a write one store (the assignments to one register merge; each
/// bit may be assigned once), and nothing is read that was not asked for:
/// a register whose read has side effects is read when named, never by a
/// dump, a watch, a read-modify-write or a raw offset over it unless
/// --allow-side-effect-read (--include-side-effects for dump) says so.
#[derive(Debug, Parser)]
#[command(name = "regpoke", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// Device selection and global options.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options valid with every command.
#[derive(Debug, Clone, Default, Args)]
pub struct Global {
    /// Register map: a YAML file, or the name of a shipped map (edu, ivshmem).
    #[arg(
        long,
        global = true,
        value_name = "FILE|NAME",
        help_heading = "Device selection"
    )]
    pub spec: Option<String>,
    /// Register block of the spec to use (default: the block bound to the
    /// chosen BAR, else the first block with registers).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Device selection"
    )]
    pub block: Option<String>,
    /// PCI device by address (0000:00:04.0, 00:04.0) or ID (1234:11e8);
    /// maps its BAR through sysfs resourceN.
    #[arg(
        long,
        global = true,
        value_name = "BDF|VENDOR:DEVICE",
        help_heading = "Device selection"
    )]
    pub pci: Option<String>,
    /// PCI device bound to vfio-pci, through its IOMMU group (VFIO): by
    /// address or ID as --pci, or bare --vfio for the device the spec's
    /// PCI identity finds. The value needs `=` (--vfio=00:03.0): bare
    /// --vfio is followed by the command. Interrupts: MSI if the device
    /// has it (Bus Master is enabled), else INTx.
    #[arg(
        long,
        global = true,
        value_name = "BDF|VENDOR:DEVICE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        help_heading = "Device selection"
    )]
    pub vfio: Option<String>,
    /// BAR number (with --pci or --vfio, or to pick the block of an auto-found device).
    #[arg(long, global = true, value_name = "N", value_parser = parse_bar, help_heading = "Device selection")]
    pub bar: Option<u8>,
    /// UIO device: number (0, uio0, /dev/uio0), UIO name, or parent PCI address/ID.
    #[arg(
        long,
        global = true,
        value_name = "N|NAME",
        help_heading = "Device selection"
    )]
    pub uio: Option<String>,
    /// UIO map number (default: the map of the block's BAR, else 0).
    #[arg(long, global = true, value_name = "N", value_parser = parse_index, help_heading = "Device selection")]
    pub map: Option<usize>,
    /// Physical address to map through /dev/mem.
    #[arg(long, global = true, value_name = "PHYS_ADDR", value_parser = parse_number, help_heading = "Device selection")]
    pub devmem: Option<u64>,
    /// Bytes to map (with --devmem or --file; default: the block's size, or
    /// for --file the file's size, or one page).
    #[arg(long, global = true, value_name = "N", value_parser = parse_number, help_heading = "Device selection")]
    pub size: Option<u64>,
    /// Any mmap-able file (plain file, /dev/shm file, memfd via /proc/self/fd/N).
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Device selection"
    )]
    pub file: Option<PathBuf>,
    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Say what is done: -v the chosen backend, -vv every access.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Do not take the advisory lock around read-modify-writes.
    #[arg(long, global = true)]
    pub no_lock: bool,
    /// Directory for lock files (default: /run/lock, else /dev/shm, else
    /// /tmp). Lock files are owner-only (0600); to share locks between
    /// users, use a directory of their common group that is group-writable
    /// and not world-writable (mode 2770): files there are created 0660.
    #[arg(long, global = true, value_name = "DIR")]
    pub lock_dir: Option<PathBuf>,
    /// Record every register access to FILE (created or truncated) as a
    /// trace in Linux mmiotrace's text format, which io-trace's Replay
    /// serves back to a driver in a host test. The physical addresses are
    /// the BAR's (0-based for --file).
    #[arg(long, global = true, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Root of the file-system tree with sys/ and dev/ (for tests on fake trees).
    #[arg(long, global = true, value_name = "DIR", hide = true)]
    pub sysfs_root: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read registers, fields or raw offsets; prints each value in hex.
    ///
    /// Targets: REG, REG.FIELD, REG[N] (array element), REG[N].FIELD, or a raw
    /// byte offset in the BAR (0x24, with --width). An array without an
    /// index reads every element. A register of another block of the same
    /// BAR is BLOCK.REG, one of element N of a block array BLOCK[N].REG
    /// (ch[3].CTRL.EN). The output is the bare value, zero-padded
    /// to the width (0x010000ed), one per line; --decode adds fields and enum names.
    ///
    /// Targets that name the same register (its fields, the register itself,
    /// or it again) are served by one load, each decoded from it: a second
    /// load of a read-to-clear register would see it cleared.
    ///
    /// Write-only registers and fields are refused (read the raw offset if
    /// you must). A register whose read has side effects is read only when
    /// named, as here: a raw offset whose bytes overlap one is refused unless
    /// --allow-side-effect-read is given.
    #[command(
        after_help = "Examples:\n  regpoke --spec edu read ID\n  regpoke --spec edu read STATUS.COMPUTING --decode\n  regpoke --spec edu read 0x20 --width 32\n  regpoke --spec dmac.yaml read ch[3].CTRL ch[3].LEN"
    )]
    Read(ReadArgs),
    /// Write registers, fields or raw offsets.
    ///
    /// Assignments: REG=VALUE, REG.FIELD=VALUE (enum names accepted),
    /// REG=VALUE:MASK (only the MASK bits change), 0xOFFSET=VALUE[:MASK] (raw,
    /// with --width).
    ///
    /// The assignments to one register merge into one store, in any order:
    /// distinct fields merge; a VALUE:MASK merges with fields and other masks
    /// whose bits it does not share; REG=VALUE sets every bit and cannot be
    /// combined with another assignment to REG. A bit assigned twice (the same
    /// field twice, a field inside a mask, overlapping masks, a register named
    /// both by name and by raw offset) is an error naming both assignments.
    ///
    /// A write never reads first unless a read-modify-write is needed (a field
    /// or masked write of an rw register, a raw VALUE:MASK); w1c/w1s registers
    /// are written with just the named bits, write-only registers with the
    /// other fields 0. Read-only registers, over-wide values and
    /// read-modify-writes that would read a register whose read has side
    /// effects (also through a raw offset) are refused.
    #[command(
        after_help = "Examples:\n  regpoke --spec edu write LIVENESS=0x12345678 --readback\n  regpoke --spec edu write STATUS.IRQFACT=1\n  regpoke --spec edu write IRQ_ACK.FACT=1\n  regpoke --spec edu write STATUS=0x80:0x80\n  regpoke --file regs.bin write 0x10=0xff --width 8\n  regpoke --spec dmac.yaml write ch[3].CTRL.EN=1 ch[3].LEN=0x40"
    )]
    Write(WriteArgs),
    /// Read and decode every register of the block.
    ///
    /// Registers whose read has side effects, and write-only ones, are
    /// skipped and listed as skipped (--include-side-effects reads the former).
    Dump(DumpArgs),
    /// Poll a register or field until a condition holds (exit 3 on timeout).
    ///
    /// Conditions: ==V, !=V, <V, <=V, >V, >=V, &MASK (any of the bits set),
    /// !&MASK (none set), &MASK==V; a bare V means ==V. The left side may
    /// name the target or a field of it (COMPUTING==0, STATUS.COMPUTING==IDLE);
    /// V may be an enum name. Prints the final value.
    ///
    /// A register whose read has side effects (or a raw offset overlapping
    /// one) is not polled without --allow-side-effect-read: every poll would
    /// clear or pop what it reads.
    #[command(
        after_help = "Examples:\n  regpoke --spec edu watch STATUS.COMPUTING --until ==0 --timeout 2s\n  regpoke --spec edu watch STATUS --until COMPUTING==IDLE --timeout 500ms --interval 1ms"
    )]
    Watch(WatchArgs),
    /// Interrupts (UIO, or VFIO eventfds): enable, wait, count, acknowledge.
    ///
    /// Over VFIO the interrupts reach only the process that holds the
    /// device, from when it registered them: raise and wait in one
    /// `batch` (irq enable; write ...; irq wait), and `irq count` counts
    /// this process's interrupts.
    #[command(subcommand)]
    Irq(IrqCommand),
    /// Run many operations from a file (or - for stdin) over one mapping.
    ///
    /// One command per line with the syntax of the subcommands (read, write,
    /// watch, dump, irq ...), plus `expect TARGET COND` and `sleep DURATION`;
    /// `#` starts a comment. Every line is checked before the first one
    /// runs; execution stops at the first failure with its exit status,
    /// and errors name FILE:LINE.
    #[command(
        after_help = "Example file:\n  # factorial of 10 on edu\n  write STATUS.IRQFACT=0\n  write FACTORIAL=10\n  watch STATUS.COMPUTING --until ==IDLE --timeout 1s\n  expect FACTORIAL 3628800\n  sleep 10ms"
    )]
    Batch(BatchArgs),
    /// List UIO and PCI devices, the spec that matches each, and the backend that would be used.
    List,
    /// Check or document register maps.
    #[command(subcommand)]
    Spec(SpecCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to standard output.
    Man,
}

/// `read` arguments.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// REG, REG.FIELD, REG[N], REG[N].FIELD, BLOCK[N].REG[.FIELD] or a raw offset (0x24).
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Access width in bits for raw offsets (default 32).
    #[arg(short, long, value_name = "BITS", value_parser = parse_width)]
    pub width: Option<Width>,
    /// Show fields and enumerated values.
    #[arg(short, long)]
    pub decode: bool,
    /// Allow a raw offset whose bytes overlap a register whose read has
    /// side effects (read-to-clear, FIFO pop); without it such a read is
    /// refused. Naming the register (read ISR) needs no flag.
    #[arg(long)]
    pub allow_side_effect_read: bool,
}

/// `write` arguments.
#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// TARGET=VALUE or TARGET=VALUE:MASK (TARGET as for read).
    #[arg(required = true, value_name = "ASSIGNMENT")]
    pub assignments: Vec<String>,
    /// Access width in bits for raw offsets (default 32).
    #[arg(short, long, value_name = "BITS", value_parser = parse_width)]
    pub width: Option<Width>,
    /// Read each register back after writing it and print the value
    /// (skipped, with a warning, for write-only and side-effect registers).
    #[arg(long)]
    pub readback: bool,
    /// Allow the read of a read-modify-write even though reading the register
    /// (for a raw VALUE:MASK, a register its bytes overlap) has side effects.
    #[arg(long)]
    pub allow_side_effect_read: bool,
    /// Allow a raw store that reaches a register whose store starts an
    /// action (write_side_effects) at another offset or width than that
    /// register's own (for example one 32-bit store over two 16-bit
    /// registers, the second a command register).
    #[arg(long)]
    pub allow_side_effect_write: bool,
    /// Print what would be done without touching the device.
    #[arg(long)]
    pub dry_run: bool,
}

/// `dump` arguments.
#[derive(Debug, Clone, Args)]
pub struct DumpArgs {
    /// Also read registers whose read has side effects (read-to-clear, FIFO pops).
    #[arg(long)]
    pub include_side_effects: bool,
}

/// `watch` arguments.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// REG, REG.FIELD, REG[N][.FIELD] or a raw offset.
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// The condition to wait for (==V, !=V, <V, >V, &MASK, !&MASK, &MASK==V, FIELD==V).
    #[arg(long, value_name = "CONDITION", allow_hyphen_values = true)]
    pub until: String,
    /// Give up after this long (500ms, 2s, 1m, or `forever`); exit 3.
    #[arg(long, value_name = "DURATION")]
    pub timeout: String,
    /// Pause between reads (0 spins).
    #[arg(long, value_name = "DURATION", default_value = "1ms")]
    pub interval: String,
    /// Access width in bits for a raw offset (default 32).
    #[arg(short, long, value_name = "BITS", value_parser = parse_width)]
    pub width: Option<Width>,
    /// Allow polling a register whose read has side effects (or a raw
    /// offset overlapping one): every poll is a read with that side effect.
    #[arg(long)]
    pub allow_side_effect_read: bool,
}

/// `irq` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum IrqCommand {
    /// Enable (unmask) the interrupt: UIO irqcontrol, or for uio_pci_generic
    /// clear INTx Disable in config space (needs root); over VFIO unmask
    /// INTx (MSI needs nothing).
    Enable(IrqChoice),
    /// Wait for an interrupt; prints the cumulative count and the number missed.
    ///
    /// Interrupts from before the device was opened are not seen, unless
    /// --since gives the count they are to be compared with (from `irq count`).
    #[command(
        after_help = "Examples:\n  regpoke --spec edu irq wait --timeout 1s\n  C=$(regpoke --spec edu irq count); regpoke --spec edu write IRQ_RAISE=1\n  regpoke --spec edu irq wait --since $C --timeout 1s\n  regpoke --spec ivshmem irq wait --vector 1 --timeout 20s   # VFIO: doorbell 1 (MSI-X vector 1)"
    )]
    Wait(IrqWaitArgs),
    /// Print the device's cumulative interrupt count (UIO: sysfs `event`;
    /// VFIO: this process's interrupts on the vector in use).
    Count(IrqChoice),
    /// Acknowledge: the device's acknowledge read(s) and write(s), then enable the interrupt again.
    ///
    /// `irq ack REG.FIELD=1` writes the acknowledge (as `write`);
    /// `irq ack --read ISR` reads a cause register whose read clears it
    /// (read-to-clear: the read has that side effect, on purpose) and
    /// prints its value. Both may be given: reads first, then writes, then
    /// the unmask.
    #[command(
        after_help = "Examples:\n  regpoke --spec edu irq ack IRQ_ACK.FACT=1\n  regpoke --spec mydev.yaml irq ack --read INT_CAUSE\n  regpoke --spec mydev.yaml irq ack --read INT_CAUSE INT_MASK.SRC0=1"
    )]
    Ack(IrqAckArgs),
}

/// `irq wait` arguments.
#[derive(Debug, Clone, Args)]
pub struct IrqWaitArgs {
    /// Give up after this long (500ms, 2s, or `forever`); exit 3.
    #[arg(long, value_name = "DURATION")]
    pub timeout: String,
    /// Return at once if the cumulative count already differs from COUNT.
    #[arg(long, value_name = "COUNT", value_parser = parse_u32)]
    pub since: Option<u32>,
    /// Enable (unmask) the interrupt before waiting.
    #[arg(long)]
    pub enable: bool,
    /// Which interrupt.
    #[command(flatten)]
    pub choice: IrqChoice,
}

/// `irq ack` arguments.
#[derive(Debug, Clone, Args)]
pub struct IrqAckArgs {
    /// The acknowledge write(s), as for `write` (IRQ_ACK.FACT=1).
    #[arg(value_name = "ASSIGNMENT", required_unless_present = "read")]
    pub assignments: Vec<String>,
    /// Acknowledge by reading TARGET (repeatable), for a device whose
    /// interrupt is cleared by reading a read-to-clear cause register: the
    /// read has that side effect, which is the point. The value is printed
    /// as by `read`. Reads are done first, then the writes, then the unmask.
    #[arg(long = "read", value_name = "TARGET")]
    pub read: Vec<String>,
    /// Access width in bits for raw offsets (default 32).
    #[arg(short, long, value_name = "BITS", value_parser = parse_width)]
    pub width: Option<Width>,
    /// Allow a raw --read offset, or the read of a raw VALUE:MASK write,
    /// whose bytes overlap a register whose read has side effects (naming
    /// the register needs no flag).
    #[arg(long)]
    pub allow_side_effect_read: bool,
    /// Which interrupt is unmasked.
    #[command(flatten)]
    pub choice: IrqChoice,
}

/// `batch` arguments.
#[derive(Debug, Clone, Args)]
pub struct BatchArgs {
    /// The batch file, or - for standard input.
    #[arg(id = "script", value_name = "FILE|-")]
    pub script: PathBuf,
    /// Check and print every operation without touching the device.
    #[arg(long)]
    pub dry_run: bool,
}

/// How `spec check` prints errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    /// Each error with its source line, the place underlined (rustc's form).
    Human,
    /// One `FILE:LINE:COL: error: MESSAGE` line per error.
    Short,
}

/// `spec` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum SpecCommand {
    /// Validate register maps; prints every error with its FILE:LINE:COL (exit 2 on errors).
    Check {
        /// YAML files (or names of shipped maps).
        #[arg(id = "spec_files", required = true, value_name = "FILE")]
        spec_files: Vec<String>,
        /// How errors are printed: `human` shows each with its source line
        /// and the place underlined, as rustc does (coloured on a terminal
        /// unless NO_COLOR is set); `short` prints one
        /// `FILE:LINE:COL: error: MESSAGE` line each (what --json also
        /// prints on stderr).
        #[arg(long, value_enum, default_value_t = MessageFormat::Human, value_name = "FORMAT")]
        message_format: MessageFormat,
    },
    /// Print Markdown documentation of a register map.
    Doc {
        /// A YAML file or the name of a shipped map.
        #[arg(id = "spec_file", value_name = "FILE")]
        spec_file: String,
    },
}

/// One line of a batch file.
#[derive(Debug, Parser)]
#[command(
    name = "batch line",
    no_binary_name = true,
    disable_help_flag = true,
    disable_version_flag = true
)]
pub struct BatchLine {
    /// The operation.
    #[command(subcommand)]
    pub op: BatchOp,
}

/// The operations a batch line may hold.
#[derive(Debug, Clone, Subcommand)]
#[command(disable_help_subcommand = true)]
pub enum BatchOp {
    /// As `regpoke read`.
    Read(ReadArgs),
    /// As `regpoke write`.
    Write(WriteArgs),
    /// As `regpoke watch`.
    Watch(WatchArgs),
    /// As `regpoke dump`.
    Dump(DumpArgs),
    /// As `regpoke irq`.
    #[command(subcommand)]
    Irq(IrqCommand),
    /// Check a value: `expect TARGET VALUE|CONDITION` (exit 3 if it does not hold).
    Expect {
        /// TARGET, or TARGET followed by an operator and value in one word (STATUS.COMPUTING==IDLE).
        #[arg(value_name = "TARGET")]
        target: String,
        /// VALUE or CONDITION (==V, !=V, &MASK, ...).
        #[arg(value_name = "CONDITION", allow_hyphen_values = true)]
        condition: Option<String>,
        /// Access width in bits for a raw offset (default 32).
        #[arg(short, long, value_name = "BITS", value_parser = parse_width)]
        width: Option<Width>,
        /// Allow a raw offset whose bytes overlap a register whose read has
        /// side effects (a named register needs no flag).
        #[arg(long)]
        allow_side_effect_read: bool,
    },
    /// Pause: `sleep DURATION` (500ms, 2s).
    Sleep {
        /// How long.
        #[arg(value_name = "DURATION")]
        duration: String,
    },
}

/// Value parser (also used by the fast argument path).
pub fn parse_width(s: &str) -> Result<Width, String> {
    crate::num::parse_u64(s)
        .and_then(Width::from_bits)
        .ok_or_else(|| "the width is 8, 16, 32 or 64 (bits)".to_string())
}

/// Value parser (also used by the fast argument path).
pub fn parse_number(s: &str) -> Result<u64, String> {
    register_spec::number::parse(s).map_err(|e| match e {
        register_spec::number::NumberError::NotANumber => {
            "not a number (decimal 16, hex 0x10, binary 0b10000, octal 0o20)".to_string()
        }
        too_large => too_large.to_string(),
    })
}

/// Value parser: a number that fits in 32 bits.
pub fn parse_u32(s: &str) -> Result<u32, String> {
    parse_number(s).and_then(|v| u32::try_from(v).map_err(|_| "must fit in 32 bits".to_string()))
}

/// Value parser (also used by the fast argument path).
pub fn parse_index(s: &str) -> Result<usize, String> {
    parse_number(s).and_then(|v| usize::try_from(v).map_err(|_| "too large".to_string()))
}

/// The command a command line names (`read`, `irq wait`), as far as it
/// can be told without parsing it (for the JSON document of a usage
/// error); `None` if it names none.
pub fn command_of_args(args: &[std::ffi::OsString]) -> Option<String> {
    use clap::CommandFactory;
    let root = Cli::command();
    let words: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    let (i, cmd) = words
        .iter()
        .enumerate()
        .find_map(|(i, w)| root.find_subcommand(w).map(|c| (i, c)))?;
    let name = cmd.get_name().to_string();
    let sub = words
        .get(i + 1..)
        .unwrap_or_default()
        .iter()
        .find_map(|w| cmd.find_subcommand(w));
    Some(match sub {
        Some(s) => format!("{name} {}", s.get_name()),
        None => name,
    })
}

/// Value parser (also used by the fast argument path).
pub fn parse_bar(s: &str) -> Result<u8, String> {
    match crate::num::parse_u64(s) {
        Some(v) if v <= 5 => Ok(v as u8),
        _ => Err("a BAR number is 0 to 5".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
        BatchLine::command().debug_assert();
    }
}
