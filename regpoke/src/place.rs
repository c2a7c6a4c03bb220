//! Where blocks lie in the mapped region: the blocks a command can reach
//! (the chosen block and every block the spec places in the same BAR), and
//! the block qualifier of a target (`ch[3].CTRL`, `irq.STATUS`).
//!
//! Offsets of targets are offsets in the mapped region (the BAR, the file,
//! the `/dev/mem` range): a register's offset plus its block element's
//! base, which is [`Device::block_base`], the same function the generated
//! `window` functions' constants come from.

use register_spec::{Block, Device};

use crate::error::{Error, Result};
use crate::names::{near, Shown};

/// The register map and the block a command works on.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The map, if one was given.
    pub device: Option<&'a Device>,
    /// The chosen block (`--block`, the BAR's block, or the first block).
    pub block: Option<&'a Block>,
}

/// A block element's place in the mapped region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    /// The block.
    pub block: &'a Block,
    /// The element of a block array.
    pub index: Option<u64>,
    /// Offset of the element's first byte in the mapped region.
    pub base: u64,
    /// Whether names show the block (`ch[3].CTRL`): a register of another
    /// block than the chosen one, or of a block array.
    pub shown: bool,
}

impl Place<'_> {
    /// `ch[3].` or `irq.` when the block is shown, else nothing.
    pub fn prefix(&self) -> String {
        match (self.shown, self.index) {
            (false, _) => String::new(),
            (true, Some(i)) => format!("{}[{i}].", self.block.name),
            (true, None) => format!("{}.", self.block.name),
        }
    }
}

impl<'a> Scope<'a> {
    /// A scope over `block` of `device`.
    pub fn new(device: Option<&'a Device>, block: Option<&'a Block>) -> Scope<'a> {
        Scope { device, block }
    }

    /// The BAR the chosen block is bound to.
    fn bar(&self) -> Option<u8> {
        let (d, b) = (self.device?, self.block?);
        d.binding(&b.name).map(|b| b.bar)
    }

    /// Element `index` of `block`, shown with its block name or not.
    fn place(&self, block: &'a Block, index: Option<u64>, shown: bool) -> Place<'a> {
        let base = self
            .device
            .map_or(0, |d| d.block_base(block, index.unwrap_or(0)));
        Place {
            block,
            index,
            base,
            shown,
        }
    }

    /// The blocks in the mapped region: every block bound to the chosen
    /// block's BAR, or the chosen block alone when it is bound to none.
    pub fn blocks(&self) -> Vec<&'a Block> {
        let (Some(d), Some(chosen)) = (self.device, self.block) else {
            return self.block.into_iter().collect();
        };
        match self.bar() {
            Some(bar) => d
                .blocks
                .iter()
                .filter(|b| d.binding(&b.name).is_some_and(|x| x.bar == bar))
                .collect(),
            None => vec![chosen],
        }
    }

    /// The block elements of the mapped region that share a byte with
    /// `start..end` (a few at most: elements of an array do not overlap),
    /// without walking every element of a large block array.
    pub fn elements_within(&self, start: u64, end: u64) -> Vec<Place<'a>> {
        let mut found = Vec::new();
        for b in self.blocks() {
            let shown = b.array.is_some() || self.block.is_none_or(|c| c.name != b.name);
            let first = self.device.map_or(0, |d| d.block_base(b, 0));
            let Some(last_byte) = end.checked_sub(1).and_then(|e| e.checked_sub(first)) else {
                continue;
            };
            let stride = b.array.map_or(1, |a| a.stride.max(1));
            let mut i = (last_byte / stride).min(b.count() - 1);
            loop {
                let place = self.place(b, b.array.map(|_| i), shown);
                if place.base.saturating_add(b.size) <= start {
                    break;
                }
                if place.base < end {
                    found.push(place);
                }
                if i == 0 {
                    break;
                }
                i -= 1;
            }
        }
        found.sort_by_key(|p| p.base);
        found
    }

    /// The elements of the chosen block (all of a block array), in order.
    pub fn chosen_elements(&self) -> Vec<Place<'a>> {
        let Some(b) = self.block else {
            return Vec::new();
        };
        let shown = b.array.is_some();
        (0..b.count())
            .map(|i| self.place(b, b.array.map(|_| i), shown))
            .collect()
    }

    /// Bytes of the mapped region the spec describes: from its start to
    /// the end of its last block (`None` without a chosen block).
    pub fn region_len(&self) -> Option<u64> {
        self.blocks()
            .into_iter()
            .map(|b| {
                let start = self.device.map_or(0, |d| d.block_base(b, 0));
                start.saturating_add(b.span_bytes())
            })
            .max()
    }

    /// Where unqualified register names lie: the chosen block, which must
    /// not be a block array (an element has to be named).
    pub fn chosen(&self) -> Result<Option<Place<'a>>> {
        let Some(b) = self.block else {
            return Ok(None);
        };
        if let Some(a) = b.array {
            return Err(Error::usage(format!(
                "block {} is an array of {} elements: name the element, as {}[0].REG",
                b.name, a.count, b.name
            ))
            .hint(format!(
                "elements run from {}[0] to {}[{}]",
                b.name,
                b.name,
                a.count - 1
            )));
        }
        Ok(Some(self.place(b, None, false)))
    }

    /// The block named by the qualifier `head` (`ch[3]`, `irq`), if it
    /// names a block of the map (exact, else the only case-insensitive
    /// match); `Ok(None)` when it names none. A block the command cannot
    /// reach (in another BAR), an index on a block that is not an array,
    /// a missing or out-of-range index: errors that say what to write.
    pub fn qualified(&self, head: &str) -> Result<Option<Place<'a>>> {
        let Some(d) = self.device else {
            return Ok(None);
        };
        let (name, index) = split_index(head)?;
        let block = match d.block(name) {
            Some(b) => b,
            None => {
                let ci: Vec<&'a Block> = d
                    .blocks
                    .iter()
                    .filter(|b| b.name.eq_ignore_ascii_case(name))
                    .collect();
                match ci.as_slice() {
                    [one] => *one,
                    _ => return Ok(None),
                }
            }
        };
        if !self.blocks().iter().any(|b| b.name == block.name) {
            let chosen = self.block.map_or("?", |b| b.name.as_str());
            let there = match d.binding(&block.name) {
                Some(b) => format!("in BAR {}", b.bar),
                None => "bound to no BAR".to_string(),
            };
            let here = match self.bar() {
                Some(bar) => format!("BAR {bar}"),
                None => format!("block {chosen} alone"),
            };
            return Err(Error::usage(format!(
                "block {} is {there}, but this command maps {here} (block {chosen})",
                block.name
            ))
            .hint(format!(
                "give --block {} to reach it, in a command of its own",
                block.name
            )));
        }
        match (block.array, index) {
            (None, None) => Ok(Some(self.place(block, None, true))),
            (None, Some(_)) => Err(Error::usage(format!(
                "block {} is not a block array, so it takes no index",
                block.name
            ))
            .hint(format!("write {}.REG", block.name))),
            (Some(a), None) => Err(Error::usage(format!(
                "block {} is an array of {} elements: name the element, as {}[0]",
                block.name, a.count, block.name
            ))
            .hint(format!(
                "elements run from {}[0] to {}[{}]",
                block.name,
                block.name,
                a.count - 1
            ))),
            (Some(a), Some(i)) if i >= a.count => Err(Error::usage(format!(
                "{}[{i}] is out of range: block array {} has {} elements",
                block.name, block.name, a.count
            ))
            .hint(format!(
                "indices run from {}[0] to {}[{}]",
                block.name,
                block.name,
                a.count - 1
            ))),
            (Some(_), Some(i)) => Ok(Some(self.place(block, Some(i), true))),
        }
    }

    /// "did you mean" candidates among the reachable blocks for `word`,
    /// spelt as a qualifier (`ch[0]`, `irq`).
    pub fn near_blocks(&self, word: &str) -> Vec<String> {
        let (name, _) = split_index(word).unwrap_or((word, None));
        let blocks = self.blocks();
        near(name, blocks.iter().map(|b| b.name.as_str()))
            .into_iter()
            .map(|n| match blocks.iter().find(|b| b.name == n) {
                Some(b) if b.array.is_some() => format!("{n}[0]"),
                _ => n.to_string(),
            })
            .collect()
    }

    /// The names a qualifier may take, for a hint (`blocks: ch[0..3], irq`);
    /// `None` when the region holds only the chosen block.
    pub fn qualifiers(&self) -> Option<String> {
        let blocks = self.blocks();
        if blocks.len() < 2 && blocks.iter().all(|b| b.array.is_none()) {
            return None;
        }
        let names: Vec<String> = blocks
            .iter()
            .map(|b| match b.array {
                Some(a) => format!("{}[0..{}]", b.name, a.count - 1),
                None => b.name.clone(),
            })
            .collect();
        Some(format!("blocks: {}", names.join(", ")))
    }
}

/// `ch[3]` → (`ch`, Some(3)); `irq` → (`irq`, None).
pub fn split_index(head: &str) -> Result<(&str, Option<u64>)> {
    match head.split_once('[') {
        None => Ok((head, None)),
        Some((name, rest)) => {
            let inner = rest.strip_suffix(']').ok_or_else(|| {
                Error::usage(format!(
                    "invalid target {}: `[` without a closing `]`",
                    Shown(head)
                ))
                .hint("elements are written NAME[3]")
            })?;
            let i = crate::num::parse_u64(inner).ok_or_else(|| {
                Error::usage(format!("invalid index {} in {}", Shown(inner), Shown(head)))
            })?;
            Ok((name, Some(i)))
        }
    }
}
