//! Backends for host tests: plain memory and behavioural device models.
//!
//! Driver logic written against a generated register block is generic over
//! [`Io`], so the same code runs over a real [`Region`](crate::Region) in a
//! VM and over a [`ModelIo`] on any machine. Every access is logged, so a
//! test can prove what the driver did (for example, that a w1c write did not
//! read first, or that a read-to-clear register was read exactly once).

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::io::{Io, Width};

/// Whether a logged access was a read or a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A load.
    Read,
    /// A store.
    Write,
}

/// One access as the device saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logged {
    /// Read or write.
    pub op: Op,
    /// Byte offset.
    pub offset: usize,
    /// Access width.
    pub width: Width,
    /// Value read or written (zero-extended).
    pub value: u64,
}

/// The behaviour of a device, for [`ModelIo`].
///
/// `read` and `write` get in-bounds, aligned accesses only.
pub trait DeviceModel: Send {
    /// Size of the register space in bytes.
    fn size(&self) -> usize;
    /// Handles a read; returns the value (only the low `width` bits are used).
    fn read(&mut self, offset: usize, width: Width) -> u64;
    /// Handles a write.
    fn write(&mut self, offset: usize, width: Width, value: u64);
}

/// Plain little-endian memory: reads return what was written.
#[derive(Debug, Clone)]
pub struct Memory {
    bytes: Vec<u8>,
}

impl Memory {
    /// `size` zero bytes.
    pub fn new(size: usize) -> Memory {
        Memory {
            bytes: vec![0; size],
        }
    }

    /// The current contents.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl DeviceModel for Memory {
    fn size(&self) -> usize {
        self.bytes.len()
    }
    fn read(&mut self, offset: usize, width: Width) -> u64 {
        let mut buf = [0u8; 8];
        buf[..width.bytes()].copy_from_slice(&self.bytes[offset..offset + width.bytes()]);
        u64::from_le_bytes(buf)
    }
    fn write(&mut self, offset: usize, width: Width, value: u64) {
        let n = width.bytes();
        self.bytes[offset..offset + n].copy_from_slice(&value.to_le_bytes()[..n]);
    }
}

/// An [`Io`] backend that forwards every access to a [`DeviceModel`] and logs it.
#[derive(Debug)]
pub struct ModelIo<M> {
    size: usize,
    base: usize,
    model: Mutex<M>,
    log: Mutex<Vec<Logged>>,
}

/// In-memory fake registers: a [`ModelIo`] over [`Memory`].
pub type FakeIo = ModelIo<Memory>;

impl FakeIo {
    /// `size` bytes of zeroed fake registers.
    pub fn new(size: usize) -> FakeIo {
        ModelIo::with(Memory::new(size))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not make every later access panic too.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The pretend base address of a [`ModelIo`] unless
/// [`with_base`](ModelIo::with_base) says otherwise: page-aligned, like a
/// real mapping.
pub const DEFAULT_BASE: usize = 0x7f00_0000_0000;

impl<M: DeviceModel> ModelIo<M> {
    /// Wraps a model, at the pretend base address [`DEFAULT_BASE`].
    pub fn with(model: M) -> ModelIo<M> {
        ModelIo {
            size: model.size(),
            base: DEFAULT_BASE,
            model: Mutex::new(model),
            log: Mutex::new(Vec::new()),
        }
    }

    /// The same backend at another pretend base address.
    ///
    /// Nothing is mapped there: the address only feeds alignment checks
    /// ([`Io::base_addr`]), so tests can show what happens when a region
    /// starts off a boundary (`with_base(0x1001)`).
    pub fn with_base(mut self, addr: usize) -> ModelIo<M> {
        self.base = addr;
        self
    }

    /// Runs `f` with the model (to inspect or change its state directly).
    pub fn model<R>(&self, f: impl FnOnce(&mut M) -> R) -> R {
        f(&mut lock(&self.model))
    }

    /// Every access so far, in order.
    pub fn log(&self) -> Vec<Logged> {
        lock(&self.log).clone()
    }

    /// Forgets the access log.
    pub fn clear_log(&self) {
        lock(&self.log).clear()
    }

    fn do_read(&self, offset: usize, width: Width) -> u64 {
        let value = lock(&self.model).read(offset, width) & width.max_value();
        lock(&self.log).push(Logged {
            op: Op::Read,
            offset,
            width,
            value,
        });
        value
    }

    fn do_write(&self, offset: usize, width: Width, value: u64) {
        lock(&self.model).write(offset, width, value);
        lock(&self.log).push(Logged {
            op: Op::Write,
            offset,
            width,
            value,
        });
    }
}

impl<M: DeviceModel> Io for ModelIo<M> {
    fn len(&self) -> usize {
        self.size
    }
    fn base_addr(&self) -> usize {
        self.base
    }
    unsafe fn read8(&self, offset: usize) -> u8 {
        self.do_read(offset, Width::W8) as u8
    }
    unsafe fn read16(&self, offset: usize) -> u16 {
        self.do_read(offset, Width::W16) as u16
    }
    unsafe fn read32(&self, offset: usize) -> u32 {
        self.do_read(offset, Width::W32) as u32
    }
    unsafe fn read64(&self, offset: usize) -> u64 {
        self.do_read(offset, Width::W64)
    }
    unsafe fn write8(&self, offset: usize, value: u8) {
        self.do_write(offset, Width::W8, value.into())
    }
    unsafe fn write16(&self, offset: usize, value: u16) {
        self.do_write(offset, Width::W16, value.into())
    }
    unsafe fn write32(&self, offset: usize, value: u32) {
        self.do_write(offset, Width::W32, value.into())
    }
    unsafe fn write64(&self, offset: usize, value: u64) {
        self.do_write(offset, Width::W64, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Rw, W1c};
    use crate::prelude::*;
    use crate::Reg;
    use tock_registers::register_bitfields;

    register_bitfields![u32, ST [A OFFSET(0) NUMBITS(1) [], B OFFSET(1) NUMBITS(1) [], N OFFSET(4) NUMBITS(4) []]];

    #[test]
    fn memory_is_little_endian_and_logged() {
        let io = FakeIo::new(8);
        // SAFETY: 0 + 4 <= 8, and the fake's default base is page-aligned, so
        // the address of offset 0 is 4-aligned.
        let r: Reg<'_, _, u32, ST::Register, Rw> = unsafe { Reg::new(&io, 0, 0) };
        r.set(0x0403_0201);
        assert_eq!(io.model(|m| m.bytes()[..4].to_vec()), vec![1, 2, 3, 4]);
        assert_eq!(r.get(), 0x0403_0201);
        assert_eq!(
            io.log(),
            vec![
                Logged {
                    op: Op::Write,
                    offset: 0,
                    width: Width::W32,
                    value: 0x0403_0201
                },
                Logged {
                    op: Op::Read,
                    offset: 0,
                    width: Width::W32,
                    value: 0x0403_0201
                },
            ]
        );
    }

    #[test]
    fn modify_reads_once_and_writes_once() {
        let io = FakeIo::new(4);
        // SAFETY: 0 + 4 <= 4; the default base is page-aligned, so offset 0 is
        // a 4-aligned address.
        let r: Reg<'_, _, u32, ST::Register, Rw> = unsafe { Reg::new(&io, 0, 0) };
        r.set(0b11);
        io.clear_log();
        r.modify(ST::N.val(5));
        let log = io.log();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].op, Op::Read);
        assert_eq!(
            log[1],
            Logged {
                op: Op::Write,
                offset: 0,
                width: Width::W32,
                value: 0x53
            }
        );
    }

    #[test]
    fn w1c_write_never_reads_and_writes_only_named_bits() {
        let io = FakeIo::new(4);
        // SAFETY: 0 + 4 <= 4; the default base is page-aligned, so offset 0 is
        // a 4-aligned address.
        let r: Reg<'_, _, u32, ST::Register, W1c> = unsafe { Reg::new(&io, 0, 0) };
        io.model(|m| m.write(0, Width::W32, 0b11));
        r.write(ST::B::SET);
        assert_eq!(
            io.log(),
            vec![Logged {
                op: Op::Write,
                offset: 0,
                width: Width::W32,
                value: 0b10
            }]
        );
    }

    #[test]
    fn try_val_refuses_wide_values() {
        assert!(ST::N.try_val(15).is_ok());
        assert_eq!(
            ST::N
                .try_val(16)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default(),
            "value 0x10 does not fit in the field (maximum 0xf)"
        );
    }
}
