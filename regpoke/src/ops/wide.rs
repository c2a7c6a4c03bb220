//! Reads and writes of whole registers, for registers that the map splits
//! into narrower accesses (`access_width`): the accesses come from
//! `register_spec`'s one rule ([`Register::accesses`]) and are carried out
//! by `hal_core::wide`'s functions, the same that generated code runs, so
//! `regpoke` and a driver touch the device the same way. `-vv` shows each
//! access.

use hal_core::wide::{self, Piece};
use register_spec::{Register, Width};

use super::Session;
use crate::error::{Error, Result};

/// `register_spec` pieces as `hal_core` pieces.
fn hal_pieces(pieces: &[register_spec::Piece]) -> Result<Vec<Piece>> {
    pieces
        .iter()
        .map(|p| {
            let offset = usize::try_from(p.offset)
                .map_err(|_| Error::usage(format!("offset {:#x} is too large", p.offset)))?;
            Ok(Piece::new(offset, crate::spec::hal_width(p.width), p.shift))
        })
        .collect()
}

/// The register's width back in the map's terms.
fn spec_width(w: hal_core::Width) -> Width {
    match w {
        hal_core::Width::W8 => Width::W8,
        hal_core::Width::W16 => Width::W16,
        hal_core::Width::W32 => Width::W32,
        hal_core::Width::W64 => Width::W64,
    }
}

/// The register when `offset`/`width` is a whole register that the map
/// splits (a raw offset, or a register accessed at its own width, is one
/// access).
fn split_reg(reg: Option<&Register>, width: Width) -> Option<&Register> {
    reg.filter(|r| r.split.is_some() && r.width == width)
}

impl Session<'_> {
    /// Reads the register at `offset`: one access, or the parts of a split
    /// register in the map's order, or a consistent read of a counter
    /// (`consistent_read: true`), which fails after
    /// [`register_spec::wide::CONSISTENT_READ_TRIES`] torn tries.
    pub(super) fn read_reg(
        &self,
        offset: u64,
        width: Width,
        reg: Option<&Register>,
    ) -> Result<u64> {
        let Some(reg) = split_reg(reg, width) else {
            return self.read_at(offset, width);
        };
        let at = |p: Piece| self.read_at(offset + p.offset as u64, spec_width(p.width));
        match reg.consistent_read_accesses() {
            Some(pieces) => wide::read_consistent(
                &hal_pieces(&pieces)?,
                register_spec::wide::CONSISTENT_READ_TRIES,
                at,
            )?
            .map_err(|torn| {
                Error::device(format!(
                    "consistent read of {} at {offset:#x}: {torn}",
                    reg.name
                ))
            }),
            None => wide::read_pieces(&hal_pieces(&reg.accesses())?, at),
        }
    }

    /// Writes `value` to the register at `offset`: one access, or the parts
    /// of a split register in the map's order.
    pub(super) fn write_reg(
        &self,
        offset: u64,
        width: Width,
        reg: Option<&Register>,
        value: u64,
    ) -> Result<()> {
        let Some(reg) = split_reg(reg, width) else {
            return self.write_at(offset, width, value);
        };
        wide::write_pieces(&hal_pieces(&reg.accesses())?, value, |p, v| {
            self.write_at(offset + p.offset as u64, spec_width(p.width), v)
        })
    }
}
