//! The validated register-map model: what the code generator and the tools consume.
//!
//! Every value here has passed validation: names are identifiers and unique
//! in their scope, registers are aligned, inside their block and do not
//! overlap, fields fit their register and do not overlap, enum values fit
//! their field, reset values fit their register, block arrays' elements do
//! not overlap, and blocks placed in a BAR are aligned there and do not
//! overlap.

use std::fmt;

/// A position in a YAML file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Span {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Span {
    /// The position of byte `at` of `bytes` (lines and columns 1-based,
    /// columns in characters; the bytes before `at` are read as UTF-8,
    /// invalid sequences counting as one character each): where the first
    /// invalid byte of a file that is not UTF-8 stands, say.
    pub fn at_byte(bytes: &[u8], at: usize) -> Span {
        let before = String::from_utf8_lossy(bytes.get(..at).unwrap_or(bytes));
        Span {
            line: before.matches('\n').count() + 1,
            column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One device: the top of a register-map file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Device {
    /// Device name (an identifier, e.g. `edu`).
    pub name: String,
    /// What the device is.
    pub description: Option<String>,
    /// PCI identity, if the device is a PCI function.
    pub pci: Option<PciIdentity>,
    /// Register blocks (and plain memory windows), in file order.
    pub blocks: Vec<Block>,
}

/// How to recognise the device on a PCI bus, and where its blocks live.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PciIdentity {
    /// PCI vendor ID (of the first ID the map lists).
    pub vendor: u16,
    /// PCI device ID (of the first ID the map lists).
    pub device: u16,
    /// The other vendor:device IDs the map describes (a device with an
    /// alternative ID, or a family), in file order; empty for a map with
    /// one ID. [`PciIdentity::ids`] lists all of them.
    pub alternative_ids: Vec<PciId>,
    /// Which BAR holds which block.
    pub bars: Vec<BarBinding>,
}

/// One PCI vendor:device ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PciId {
    /// PCI vendor ID.
    pub vendor: u16,
    /// PCI device ID.
    pub device: u16,
}

impl fmt::Display for PciId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vendor, self.device)
    }
}

impl PciIdentity {
    /// Every vendor:device ID of the map, the first (`vendor`, `device`)
    /// first: a device with any of them is one this map describes.
    pub fn ids(&self) -> Vec<PciId> {
        let first = PciId {
            vendor: self.vendor,
            device: self.device,
        };
        std::iter::once(first)
            .chain(self.alternative_ids.iter().copied())
            .collect()
    }

    /// Whether `vendor:device` is one of the map's IDs.
    pub fn matches(&self, vendor: u16, device: u16) -> bool {
        self.ids()
            .iter()
            .any(|id| (id.vendor, id.device) == (vendor, device))
    }

    /// The IDs for messages: `1234:11e8` or `1234:11e8 or 1234:11e9`.
    pub fn describe_ids(&self) -> String {
        let ids: Vec<String> = self.ids().iter().map(PciId::to_string).collect();
        ids.join(" or ")
    }
}

/// One BAR → block assignment: the block (all elements of a block array)
/// lies in BAR `bar` from byte `offset` on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BarBinding {
    /// BAR number, 0..=5.
    pub bar: u8,
    /// Name of a block of this device.
    pub block: String,
    /// Byte offset of the block (of element 0 of a block array) in the
    /// BAR: a multiple of the block's [`align`](Block::align); the blocks
    /// of one BAR do not overlap.
    pub offset: u64,
    /// Where it was declared.
    pub span: Span,
}

/// A register block: a contiguous address range with registers at fixed offsets.
///
/// A block with no registers is a plain memory window (for example
/// ivshmem's shared memory in BAR2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Block {
    /// Block name (an identifier).
    pub name: String,
    /// What the block is.
    pub description: Option<String>,
    /// Size in bytes (for a memory window: the smallest size it can have).
    pub size: u64,
    /// Block-array shape (`count` identical blocks `stride` bytes apart:
    /// the channels of a DMA engine, say), if this is a block array.
    pub array: Option<Array>,
    /// Registers in file order.
    pub registers: Vec<Register>,
    /// Where it was declared.
    pub span: Span,
}

/// Register width in bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Width {
    /// 8 bits.
    W8,
    /// 16 bits.
    W16,
    /// 32 bits.
    W32,
    /// 64 bits.
    W64,
}

impl Width {
    /// Bits in the register.
    pub const fn bits(self) -> u32 {
        match self {
            Width::W8 => 8,
            Width::W16 => 16,
            Width::W32 => 32,
            Width::W64 => 64,
        }
    }
    /// Bytes in the register.
    pub const fn bytes(self) -> u64 {
        self.bits() as u64 / 8
    }
    /// The largest value the register holds.
    pub const fn max_value(self) -> u64 {
        match self {
            Width::W64 => u64::MAX,
            w => (1u64 << w.bits()) - 1,
        }
    }
    /// The width with this many bits.
    pub const fn from_bits(bits: u64) -> Option<Width> {
        match bits {
            8 => Some(Width::W8),
            16 => Some(Width::W16),
            32 => Some(Width::W32),
            64 => Some(Width::W64),
            _ => None,
        }
    }
}

/// What software may do with a register or field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Access {
    /// `ro`: read-only; writes are refused.
    ReadOnly,
    /// `wo`: write-only; reads are refused.
    WriteOnly,
    /// `rw`: read-write.
    ReadWrite,
    /// `rc`: read-only, and a read clears it (a read side effect).
    ReadClear,
    /// `w1c`: readable; writing 1 to a bit clears it, 0 leaves it alone.
    WriteOneToClear,
    /// `w1s`: readable; writing 1 to a bit sets it, 0 leaves it alone.
    WriteOneToSet,
}

impl Access {
    /// All kinds, in their YAML spelling.
    pub const ALL: [(&'static str, Access); 6] = [
        ("ro", Access::ReadOnly),
        ("wo", Access::WriteOnly),
        ("rw", Access::ReadWrite),
        ("rc", Access::ReadClear),
        ("w1c", Access::WriteOneToClear),
        ("w1s", Access::WriteOneToSet),
    ];

    /// The YAML spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Access::ReadOnly => "ro",
            Access::WriteOnly => "wo",
            Access::ReadWrite => "rw",
            Access::ReadClear => "rc",
            Access::WriteOneToClear => "w1c",
            Access::WriteOneToSet => "w1s",
        }
    }
    /// Parses the YAML spelling.
    pub fn parse(s: &str) -> Option<Access> {
        Access::ALL.iter().find(|(n, _)| *n == s).map(|(_, a)| *a)
    }
    /// Whether software may read.
    pub const fn can_read(self) -> bool {
        !matches!(self, Access::WriteOnly)
    }
    /// Whether software may write.
    pub const fn can_write(self) -> bool {
        !matches!(self, Access::ReadOnly | Access::ReadClear)
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A register, or an array of identical registers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Register {
    /// Register name (an identifier, conventionally UPPER_CASE).
    pub name: String,
    /// What the register does.
    pub description: Option<String>,
    /// Byte offset from the block start (of element 0 for an array).
    pub offset: u64,
    /// Access width.
    pub width: Width,
    /// Access kind.
    pub access: Access,
    /// Whether a read changes device state (always true for `rc`).
    pub read_side_effects: bool,
    /// Whether a store starts an action (a command or doorbell register):
    /// only a store of exactly this register's offset and width may reach it.
    pub write_side_effects: bool,
    /// How a write of some of the fields builds the value stored (resolved:
    /// the YAML's `field_writes`, or the default for the register).
    pub field_writes: FieldWrites,
    /// Reset value (0 when the YAML gives none).
    pub reset: u64,
    /// Whether the YAML gave a reset value.
    pub reset_given: bool,
    /// Bit fields, in file order (may be empty).
    pub fields: Vec<Field>,
    /// Array shape, if this is a register array.
    pub array: Option<Array>,
    /// How the register is split into narrower accesses, when the device
    /// takes only accesses narrower than it (`access_width`); `None` for a
    /// register accessed at its own width. See [`crate::wide`].
    pub split: Option<crate::wide::Split>,
    /// Where it was declared.
    pub span: Span,
}

impl Register {
    /// Number of elements (1 for a plain register).
    pub fn count(&self) -> u64 {
        self.array.map_or(1, |a| a.count)
    }
    /// Byte offset of element `i` (no bounds check; an index so far past
    /// the end that the offset would not fit in 64 bits gives `u64::MAX`).
    pub fn offset_of(&self, i: u64) -> u64 {
        let step = self.array.map_or(0, |a| a.stride.saturating_mul(i));
        self.offset.saturating_add(step)
    }
    /// Whether reading needs exclusive access (a read has side effects).
    pub fn read_has_side_effects(&self) -> bool {
        self.read_side_effects || self.access == Access::ReadClear
    }
}

/// How a write that names some fields of a register builds the value it
/// stores (the YAML key `field_writes`). See [`WriteRule`](crate::WriteRule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum FieldWrites {
    /// `read_modify_write`: read the register, keep the bits that hold
    /// state (`rw`, `ro` and bits in no field), replace the named fields,
    /// write. The default for registers that can be read without side
    /// effects and whose writes start nothing.
    ReadModifyWrite,
    /// `from_reset`: never read; the bits that hold state take the
    /// register's reset value, the named fields their new value. The
    /// default for registers that cannot be read, whose reads have side
    /// effects, or whose writes start an action (a command register that
    /// latches the whole word).
    FromReset,
}

impl FieldWrites {
    /// Both modes with their YAML spelling.
    pub const ALL: [(&'static str, FieldWrites); 2] = [
        ("read_modify_write", FieldWrites::ReadModifyWrite),
        ("from_reset", FieldWrites::FromReset),
    ];

    /// The YAML spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            FieldWrites::ReadModifyWrite => "read_modify_write",
            FieldWrites::FromReset => "from_reset",
        }
    }

    /// Parses the YAML spelling.
    pub fn parse(s: &str) -> Option<FieldWrites> {
        FieldWrites::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, m)| *m)
    }
}

impl fmt::Display for FieldWrites {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Register-array shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Array {
    /// Number of elements (at least 1).
    pub count: u64,
    /// Distance between elements in bytes (at least the register width).
    pub stride: u64,
}

/// A bit field of a register.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Field {
    /// Field name (an identifier, conventionally UPPER_CASE).
    pub name: String,
    /// What the field means.
    pub description: Option<String>,
    /// Least significant bit.
    pub lsb: u32,
    /// Most significant bit (>= lsb).
    pub msb: u32,
    /// The field's own access kind, where it differs from its register's.
    pub access: Option<Access>,
    /// Whether the device clears the field by itself once the action a
    /// write of 1 started is done (a software reset, a START bit): it is
    /// never written back from a read.
    pub self_clearing: bool,
    /// Named values.
    pub values: Vec<EnumValue>,
    /// Where it was declared.
    pub span: Span,
}

impl Field {
    /// Width in bits. A parsed field has `lsb <= msb < 64`; for a field
    /// built by hand without that, the result saturates instead of
    /// overflowing (`msb < lsb` counts as one bit).
    pub fn bits(&self) -> u32 {
        self.msb.saturating_sub(self.lsb).saturating_add(1)
    }
    /// Unshifted mask (`bits` ones).
    pub fn mask(&self) -> u64 {
        if self.bits() >= 64 {
            u64::MAX
        } else {
            (1u64 << self.bits()) - 1
        }
    }
    /// Mask shifted into place (bits shifted past bit 63 are dropped).
    pub fn shifted_mask(&self) -> u64 {
        self.mask().checked_shl(self.lsb).unwrap_or(0)
    }
    /// Effective access kind given the register's.
    pub fn access_in(&self, register: &Register) -> Access {
        self.access.unwrap_or(register.access)
    }
}

/// A named value of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EnumValue {
    /// Value name (an identifier).
    pub name: String,
    /// The value (unshifted).
    pub value: u64,
    /// What it means.
    pub description: Option<String>,
    /// Where it was declared.
    pub span: Span,
}

impl Device {
    /// Drops every description (device, blocks, registers, fields, values):
    /// what a tool that never shows them keeps of a map.
    pub fn strip_descriptions(&mut self) {
        self.description = None;
        for b in &mut self.blocks {
            b.description = None;
            for r in &mut b.registers {
                r.description = None;
                for f in &mut r.fields {
                    f.description = None;
                    for v in &mut f.values {
                        v.description = None;
                    }
                }
            }
        }
    }

    /// The block with this name.
    pub fn block(&self, name: &str) -> Option<&Block> {
        self.blocks.iter().find(|b| b.name == name)
    }

    /// Where the spec places block `block` (a block is bound to one BAR
    /// at most), if it does.
    pub fn binding(&self, block: &str) -> Option<&BarBinding> {
        self.pci.as_ref()?.bars.iter().find(|b| b.block == block)
    }

    /// Byte offset of element `index` of `block` in its BAR: the binding's
    /// offset plus `index` strides (from 0 for a block bound to no BAR).
    /// The generated `window` functions and regpoke place a block with
    /// this; `index` is not checked (see [`Block::count`]), and the result
    /// saturates like [`Register::offset_of`].
    pub fn block_base(&self, block: &Block, index: u64) -> u64 {
        self.binding(&block.name)
            .map_or(0, |b| b.offset)
            .saturating_add(block.element_offset(index))
    }
}

impl Block {
    /// The alignment the block's base address needs, in bytes: the width
    /// of its widest access (1 for a block without registers; a register
    /// with `access_width` counts with that width). Every register's offset
    /// is a multiple of its width, and every access's width divides this.
    pub fn align(&self) -> u64 {
        self.registers
            .iter()
            .map(|r| r.access_width().bytes())
            .max()
            .unwrap_or(1)
    }
    /// Number of elements (1 for a block that is not an array).
    pub fn count(&self) -> u64 {
        self.array.map_or(1, |a| a.count)
    }
    /// Byte offset of element `i` from element 0 (0 for a block that is
    /// not an array; no bounds check, saturating like
    /// [`Register::offset_of`]).
    pub fn element_offset(&self, i: u64) -> u64 {
        self.array.map_or(0, |a| a.stride.saturating_mul(i))
    }
    /// Bytes from the start of element 0 to the end of the last element
    /// (the block's `size` when it is not an array; saturating).
    pub fn span_bytes(&self) -> u64 {
        self.element_offset(self.count() - 1)
            .saturating_add(self.size)
    }

    /// The register with this name.
    pub fn register(&self, name: &str) -> Option<&Register> {
        self.registers.iter().find(|r| r.name == name)
    }
}

impl Register {
    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}
