//! Which interrupt the `irq` commands use: `--irq-kind intx|msi|msix` and
//! `--vector N`, checked against the interrupts a device has.
//!
//! One function, [`choose`], answers the question for every backend: a
//! VFIO device reports its INTx, MSI and MSI-X vector counts; a UIO device
//! has one interrupt, INTx ([`Available::UIO`]), so over UIO `--irq-kind
//! intx` and `--vector 0` are accepted (they name what UIO gives) and
//! anything else is refused by the same check, with a hint towards VFIO.

use std::fmt;

use clap::{Args, ValueEnum};
use vfio_backend::IrqKind;

use crate::cli::parse_u32;
use crate::error::{Error, Result};

/// `--irq-kind`: an interrupt kind as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// The legacy INTx line (one vector; unmasked by `irq enable`/`irq ack`).
    Intx,
    /// Message signalled interrupts.
    Msi,
    /// MSI-X.
    Msix,
}

impl KindArg {
    /// The VFIO kind this names.
    pub fn kind(self) -> IrqKind {
        match self {
            KindArg::Intx => IrqKind::Intx,
            KindArg::Msi => IrqKind::Msi,
            KindArg::Msix => IrqKind::Msix,
        }
    }
}

/// The interrupt options of every `irq` command (and batch `irq` line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Args)]
pub struct IrqChoice {
    /// Use this interrupt kind (default: MSI if the device has it, else
    /// MSI-X, else INTx). VFIO only; over UIO, which has one interrupt
    /// (INTx), only `intx` is accepted.
    #[arg(long = "irq-kind", value_name = "KIND", value_enum)]
    pub kind: Option<KindArg>,
    /// Wait on vector N (default 0): for MSI and MSI-X, vectors 0 to N are
    /// enabled; INTx (and so UIO) has only vector 0.
    #[arg(long, value_name = "N", value_parser = parse_u32)]
    pub vector: Option<u32>,
}

impl IrqChoice {
    /// `" (--irq-kind msix --vector 1)"`, or nothing when no option was
    /// given: for dry-run plans.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(k) = self.kind {
            parts.push(format!("--irq-kind {}", kind_arg_name(k)));
        }
        if let Some(v) = self.vector {
            parts.push(format!("--vector {v}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(" "))
        }
    }
}

/// The vectors a device has of each kind (0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Available {
    /// INTx (0 or 1).
    pub intx: u32,
    /// MSI vectors.
    pub msi: u32,
    /// MSI-X vectors.
    pub msix: u32,
}

impl Available {
    /// A UIO device: one interrupt, INTx.
    pub const UIO: Available = Available {
        intx: 1,
        msi: 0,
        msix: 0,
    };

    /// The kind the automatic choice takes: the first of MSI, MSI-X and
    /// INTx the device has.
    pub fn automatic(&self) -> Option<IrqKind> {
        AUTOMATIC.into_iter().find(|k| self.of(*k) > 0)
    }

    /// The vector count of `kind`.
    pub fn of(&self, kind: IrqKind) -> u32 {
        match kind {
            IrqKind::Intx => self.intx,
            IrqKind::Msi => self.msi,
            IrqKind::Msix => self.msix,
        }
    }
}

impl fmt::Display for Available {
    /// `MSI (1 vector), INTx (1 vector)`, or `no interrupts`, in the order
    /// of the automatic choice.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let have: Vec<String> = AUTOMATIC
            .iter()
            .filter(|k| self.of(**k) > 0)
            .map(|k| {
                let n = self.of(*k);
                format!("{} ({n} vector{})", k, if n == 1 { "" } else { "s" })
            })
            .collect();
        if have.is_empty() {
            f.write_str("no interrupts")
        } else {
            f.write_str(&have.join(", "))
        }
    }
}

/// The automatic choice's order of preference.
const AUTOMATIC: [IrqKind; 3] = [IrqKind::Msi, IrqKind::Msix, IrqKind::Intx];

/// The kind and vector to use, and whether the kind was the automatic one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chosen {
    /// The kind.
    pub kind: IrqKind,
    /// The vector waited on; for MSI and MSI-X, vectors 0 to it are enabled.
    pub vector: u32,
    /// Whether `--irq-kind` was not given.
    pub automatic: bool,
}

impl fmt::Display for Chosen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} vector {}", self.kind, self.vector)
    }
}

/// Chooses the interrupt `want` asks for among those `device` (a name for
/// messages, `vfio 0000:00:04.0`) has: the forced kind, or MSI, else
/// MSI-X, else INTx; vector `want.vector` (default 0), which must be below
/// the kind's count. A usage error names what the device has.
pub fn choose(device: &str, have: &Available, want: &IrqChoice) -> Result<Chosen> {
    let kind = match want.kind {
        Some(k) => {
            let kind = k.kind();
            if have.of(kind) == 0 {
                return Err(Error::usage(format!(
                    "--irq-kind {}: {device} has no {}; it has {have}",
                    kind_arg_name(k),
                    kind
                ))
                .hint(match have.automatic() {
                    Some(k) => format!(
                        "leave --irq-kind out for the automatic choice ({}), or name a kind the device has",
                        k
                    ),
                    None => "the device raises no interrupts that can be waited for".to_owned(),
                }));
            }
            kind
        }
        None => have
            .automatic()
            .ok_or_else(|| Error::usage(format!("{device} has no interrupts to wait for")))?,
    };
    let vector = want.vector.unwrap_or(0);
    let count = have.of(kind);
    if vector >= count {
        return Err(Error::usage(format!(
            "--vector {vector}: {device} has {count} {} vector{} (0{}); it has {have}",
            kind,
            if count == 1 { "" } else { "s" },
            if count > 1 {
                format!(" to {}", count - 1)
            } else {
                String::new()
            }
        ))
        .hint(format!(
            "give a vector from 0 to {}{}",
            count - 1,
            if want.kind.is_none() {
                ", or --irq-kind for another kind"
            } else {
                ""
            }
        )));
    }
    Ok(Chosen {
        kind,
        vector,
        automatic: want.kind.is_none(),
    })
}

/// Checks a later `irq` command's options against the interrupt already
/// in use (a process registers one kind at a time): options left out
/// accept it, options given must name it.
pub fn check_same(open: &Chosen, want: &IrqChoice) -> Result<()> {
    let same_kind = want.kind.is_none_or(|k| k.kind() == open.kind);
    let same_vector = want.vector.is_none_or(|v| v == open.vector);
    if same_kind && same_vector {
        return Ok(());
    }
    Err(Error::usage(format!(
        "interrupts are already in use as {open}, not as asked{}: one process uses one kind and vector",
        want.describe()
    ))
    .hint("give the same --irq-kind/--vector on every irq line of a batch, or only on the first"))
}

fn kind_arg_name(k: KindArg) -> String {
    k.to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDU: Available = Available {
        intx: 1,
        msi: 1,
        msix: 0,
    };
    const DOORBELL: Available = Available {
        intx: 0,
        msi: 0,
        msix: 2,
    };

    fn want(kind: Option<KindArg>, vector: Option<u32>) -> IrqChoice {
        IrqChoice { kind, vector }
    }

    #[test]
    fn automatic_prefers_msi_then_msix_then_intx() {
        let c = choose("edu", &EDU, &IrqChoice::default()).unwrap();
        assert_eq!((c.kind, c.vector, c.automatic), (IrqKind::Msi, 0, true));
        let c = choose("db", &DOORBELL, &want(None, Some(1))).unwrap();
        assert_eq!((c.kind, c.vector), (IrqKind::Msix, 1));
        let both = Available {
            intx: 1,
            msi: 4,
            msix: 8,
        };
        assert_eq!(
            choose("x", &both, &IrqChoice::default()).unwrap().kind,
            IrqKind::Msi
        );
        let c = choose("uio0", &Available::UIO, &IrqChoice::default()).unwrap();
        assert_eq!((c.kind, c.vector), (IrqKind::Intx, 0));
    }

    #[test]
    fn a_forced_kind_the_device_lacks_names_the_kinds_it_has() {
        let e = choose("vfio 0000:00:04.0", &EDU, &want(Some(KindArg::Msix), None)).unwrap_err();
        assert_eq!(
            e.message,
            "--irq-kind msix: vfio 0000:00:04.0 has no MSI-X; it has MSI (1 vector), INTx (1 vector)"
        );
        assert!(e.hint.unwrap().contains("automatic choice (MSI)"));
        let c = choose("edu", &EDU, &want(Some(KindArg::Intx), None)).unwrap();
        assert_eq!((c.kind, c.automatic), (IrqKind::Intx, false));
    }

    #[test]
    fn a_vector_beyond_the_count_names_the_count() {
        let e = choose("db", &DOORBELL, &want(None, Some(5))).unwrap_err();
        assert_eq!(
            e.message,
            "--vector 5: db has 2 MSI-X vectors (0 to 1); it has MSI-X (2 vectors)"
        );
        let e = choose("edu", &EDU, &want(Some(KindArg::Intx), Some(1))).unwrap_err();
        assert!(e.message.contains("has 1 INTx vector (0)"), "{}", e.message);
        assert!(choose("db", &DOORBELL, &want(Some(KindArg::Msix), Some(1))).is_ok());
    }

    #[test]
    fn uio_accepts_intx_vector_0_and_refuses_the_rest() {
        assert!(choose("uio0", &Available::UIO, &want(Some(KindArg::Intx), Some(0))).is_ok());
        let e = choose("uio0", &Available::UIO, &want(Some(KindArg::Msi), None)).unwrap_err();
        assert!(e
            .message
            .contains("uio0 has no MSI; it has INTx (1 vector)"));
        assert!(choose("uio0", &Available::UIO, &want(None, Some(1))).is_err());
    }

    #[test]
    fn no_interrupts_at_all_is_an_error_not_a_panic() {
        let none = Available {
            intx: 0,
            msi: 0,
            msix: 0,
        };
        assert!(choose("x", &none, &IrqChoice::default()).is_err());
        let e = choose("x", &none, &want(Some(KindArg::Intx), None)).unwrap_err();
        assert!(e.message.contains("it has no interrupts"));
    }

    #[test]
    fn later_commands_must_agree_with_the_interrupt_in_use() {
        let open = choose("db", &DOORBELL, &want(None, Some(1))).unwrap();
        assert!(check_same(&open, &IrqChoice::default()).is_ok());
        assert!(check_same(&open, &want(Some(KindArg::Msix), Some(1))).is_ok());
        let e = check_same(&open, &want(None, Some(0))).unwrap_err();
        assert!(e.message.contains("already in use as MSI-X vector 1"));
        assert!(check_same(&open, &want(Some(KindArg::Intx), None)).is_err());
    }
}
