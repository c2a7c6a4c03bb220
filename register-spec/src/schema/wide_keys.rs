//! The register keys of a register wider than the bus: `access_width`,
//! `access_order` and `consistent_read` (see [`crate::wide`]).

use super::{get, parse_number, Ex, Given, Loc};
use crate::model::Width;
use crate::wide::AccessOrder;
use crate::yaml::{Entry, Style};

/// The split keys of a register, as written.
pub(crate) struct DSplit {
    pub access_width: Given<Loc<Width>>,
    pub access_order: Given<Loc<AccessOrder>>,
    pub consistent_read: Given<Loc<bool>>,
}

impl Ex<'_> {
    pub(super) fn split_keys(&mut self, entries: &[Entry], ctx: &str) -> DSplit {
        let access_width = match get(entries, "access_width") {
            None => Given::Absent,
            Some(n) => {
                let w = match n.scalar() {
                    Some((text, Style::Plain)) => {
                        parse_number(text).ok().and_then(Width::from_bits)
                    }
                    _ => None,
                };
                if w.is_none() {
                    self.wrong(n, "access_width", ctx, "8, 16, 32 or 64");
                }
                Given::from_option(
                    true,
                    w.map(|value| Loc {
                        value,
                        span: n.span,
                    }),
                )
            }
        };
        let access_order = match get(entries, "access_order") {
            None => Given::Absent,
            Some(n) => {
                let parsed = match n.scalar() {
                    Some((text, Style::Plain | Style::Quoted)) => AccessOrder::parse(text),
                    _ => None,
                };
                if parsed.is_none() {
                    let orders: Vec<&str> = AccessOrder::ALL.iter().map(|(o, _)| *o).collect();
                    self.wrong(
                        n,
                        "access_order",
                        ctx,
                        &format!("one of {}", orders.join(", ")),
                    );
                }
                Given::from_option(
                    true,
                    parsed.map(|value| Loc {
                        value,
                        span: n.span,
                    }),
                )
            }
        };
        let consistent_read = self.located_boolean(entries, "consistent_read", ctx);
        DSplit {
            access_width,
            access_order,
            consistent_read,
        }
    }
}
