//! The register keys of a register wider than the bus: `access_width`,
//! `access_order` and `consistent_read` (see [`crate::wide`]).

use super::{get, parse_number, Ex, Given, Loc};
use crate::model::Width;
use crate::wide::AccessOrder;
use crate::yaml::{Entry, Node, Style};

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
            Some(n) => Given::from_option(
                true,
                self.width(n, "access_width", ctx).map(|value| Loc {
                    value,
                    span: n.span,
                }),
            ),
        };
        DSplit {
            access_width,
            access_order: self.keyword(entries, "access_order", ctx, &AccessOrder::ALL),
            consistent_read: self.located_boolean(entries, "consistent_read", ctx),
        }
    }

    /// A register or access width: 8, 16, 32 or 64 (plain, not quoted).
    pub(super) fn width(&mut self, n: &Node, key: &str, ctx: &str) -> Option<Width> {
        let w = match n.scalar() {
            Some((text, Style::Plain)) => parse_number(text).ok().and_then(Width::from_bits),
            _ => None,
        };
        if w.is_none() {
            self.wrong(n, key, ctx, "8, 16, 32 or 64");
        }
        w
    }

    /// An optional key whose value is one of the spellings of `all`.
    pub(super) fn keyword<T: Copy>(
        &mut self,
        entries: &[Entry],
        key: &str,
        ctx: &str,
        all: &[(&'static str, T)],
    ) -> Given<Loc<T>> {
        let Some(n) = get(entries, key) else {
            return Given::Absent;
        };
        let parsed = match n.scalar() {
            Some((text, Style::Plain | Style::Quoted)) => {
                all.iter().find(|(s, _)| *s == text).map(|(_, v)| *v)
            }
            _ => None,
        };
        if parsed.is_none() {
            let names: Vec<&str> = all.iter().map(|(s, _)| *s).collect();
            self.wrong(n, key, ctx, &format!("one of {}", names.join(", ")));
        }
        Given::from_option(
            true,
            parsed.map(|value| Loc {
                value,
                span: n.span,
            }),
        )
    }
}
