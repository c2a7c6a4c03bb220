//! Generated blocks built over a [`hal_core::Window`]: a block at an offset
//! inside a larger backend.

use device_specs::{edu, ivshmem};
use hal_core::fake::{FakeIo, ModelIo, Op};
use hal_core::prelude::*;
use hal_core::{BlockError, Io, Region, Window};

/// edu's register block placed 1 MiB into a 2 MiB backend: every register
/// access lands at 1 MiB plus the register's offset.
#[test]
fn an_edu_block_at_an_offset_reaches_the_backend_at_that_offset() {
    const AT: usize = 0x10_0000;
    let io = FakeIo::new(2 * edu::regs::SIZE);
    let window = Window::new(&io, AT, edu::regs::SIZE).unwrap();
    let regs = edu::Regs::new(&window).unwrap();
    regs.factorial().set(5);
    regs.dma_count().set(0x1122_3344_5566_7788);
    assert_eq!(regs.factorial().get(), 5);
    let log: Vec<(Op, usize)> = io.log().iter().map(|l| (l.op, l.offset)).collect();
    assert_eq!(
        log,
        vec![
            (Op::Write, AT + 0x8),
            (Op::Write, AT + 0x90),
            (Op::Read, AT + 0x8)
        ]
    );
    io.model(|m| {
        assert_eq!(m.bytes()[AT + 0x8..AT + 0xc], 5u32.to_le_bytes());
        assert_eq!(
            m.bytes()[AT + 0x90..AT + 0x98],
            0x1122_3344_5566_7788u64.to_le_bytes()
        );
        // Nothing landed at the block's offsets relative to the backend.
        assert!(m.bytes()[..AT].iter().all(|&b| b == 0));
    });
}

/// The device model sees the same accesses through a whole-BAR window as
/// without one (a window of the full length is the identity).
#[test]
fn the_edu_model_behaves_the_same_through_a_full_window() {
    let io = ModelIo::with(device_specs::models::EduModel::new());
    let window = Window::new(&io, 0, io.len()).unwrap();
    let regs = edu::Regs::new(&window).unwrap();
    assert_eq!(regs.id().get(), 0x0100_00ed);
    regs.liveness().set(0x1234_5678);
    assert_eq!(regs.liveness().get(), !0x1234_5678);
}

/// A block that needs 4-byte alignment refuses a window that starts 2 bytes
/// past a boundary, naming the window's absolute address; a window shorter
/// than the block is refused too.
#[test]
fn a_block_over_a_misplaced_or_short_window_is_refused() {
    let r = Region::anonymous(0x1000).unwrap();
    let mut window = Window::new(&r, 0x102, ivshmem::regs::SIZE).unwrap();
    let err = ivshmem::Regs::new(&mut window).unwrap_err();
    assert_eq!(
        err,
        BlockError::Misaligned {
            block: "ivshmem.regs",
            address: r.base_addr() + 0x102,
            align: 4
        }
    );
    let mut short = Window::new(&r, 0x100, ivshmem::regs::SIZE - 4).unwrap();
    assert!(matches!(
        ivshmem::Regs::new(&mut short),
        Err(BlockError::TooSmall { need: 0x100, .. })
    ));
    // Two ivshmem register blocks side by side in one mapping (ivshmem's
    // blocks take their backend by `&mut`: it has a read-to-clear register),
    // each in its own window: a write through one is not seen through the other.
    let mut a = Window::new(&r, 0x200, 0x100).unwrap();
    let mut b = Window::new(&r, 0x300, 0x100).unwrap();
    let ra = ivshmem::Regs::new(&mut a).unwrap();
    let rb = ivshmem::Regs::new(&mut b).unwrap();
    ra.intr_mask().set(0xffff_ffff);
    assert_eq!(ra.intr_mask().get(), 0xffff_ffff);
    assert_eq!(rb.intr_mask().get(), 0);
    assert_eq!(r.try_read32(0x200).unwrap(), 0xffff_ffff);
}
