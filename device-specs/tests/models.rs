//! Driver logic over the generated API, against the behavioural models.
//!
//! These run on any machine without root or a VM; the same sequences run
//! against the real devices in the VM tests.

use device_specs::edu::{
    self,
    regs::{DMA_CMD, IRQ_ACK, IRQ_RAISE, IRQ_STATUS, STATUS},
};
use device_specs::ivshmem;
use device_specs::models::{EduModel, IvshmemRegsModel};
use hal_core::fake::{ModelIo, Op};
use hal_core::prelude::*;
use hal_core::BlockError;

#[test]
fn identification_reads_the_fixed_value_and_decodes_fields() {
    let io = ModelIo::with(EduModel::new());
    let regs = edu::Regs::new(&io).unwrap();
    let id = regs.id();
    assert_eq!(id.get(), 0x0100_00ed);
    assert_eq!(id.read(edu::regs::ID::MAJOR), 1);
    assert_eq!(id.read(edu::regs::ID::MINOR), 0);
    assert_eq!(id.read(edu::regs::ID::MAGIC), 0xed);
    assert_eq!(edu::regs::ID::RESET, 0x0100_00ed);
}

#[test]
fn liveness_returns_the_inverse() {
    let io = ModelIo::with(EduModel::new());
    let regs = edu::Regs::new(&io).unwrap();
    for v in [0u32, 1, 0x1234_5678, u32::MAX] {
        regs.liveness().set(v);
        assert_eq!(regs.liveness().get(), !v);
    }
}

#[test]
fn factorial_polls_computing_then_reads_the_wrapped_result() {
    let io = ModelIo::with(EduModel::new());
    let regs = edu::Regs::new(&io).unwrap();
    regs.factorial().set(13);
    assert!(regs.status().matches_all(STATUS::COMPUTING::BUSY));
    let mut polls = 1;
    while regs.status().is_set(STATUS::COMPUTING) {
        polls += 1;
        assert!(polls < 100, "factorial never finished");
    }
    // 13! mod 2^32
    assert_eq!(regs.factorial().get(), 1_932_053_504);
    assert_eq!(
        regs.status().read_as_enum(STATUS::COMPUTING),
        Some(STATUS::COMPUTING::Value::IDLE)
    );
}

#[test]
fn factorial_interrupt_is_raised_and_acknowledged() {
    let io = ModelIo::with(EduModel::new());
    let regs = edu::Regs::new(&io).unwrap();
    regs.status().modify(STATUS::IRQFACT::SET);
    regs.factorial().set(5);
    while regs.status().is_set(STATUS::COMPUTING) {}
    assert!(io.model(|m| m.irq_line()));
    assert!(regs.irq_status().is_set(IRQ_STATUS::FACT));
    regs.irq_ack().write(IRQ_ACK::FACT::SET);
    assert!(!io.model(|m| m.irq_line()));
    assert_eq!(regs.irq_status().get(), 0);
}

#[test]
fn raise_and_ack_by_field() {
    let io = ModelIo::with(EduModel::new());
    let regs = edu::Regs::new(&io).unwrap();
    regs.irq_raise()
        .write(IRQ_RAISE::DMA::SET + IRQ_RAISE::FACT::SET);
    assert_eq!(regs.irq_status().get(), 0x101);
    regs.irq_ack().write(IRQ_ACK::DMA::SET);
    assert_eq!(regs.irq_status().get(), 0x1);
    assert_eq!(io.model(|m| m.raised), 1);
}

#[test]
fn status_modify_is_one_read_and_one_write_of_32_bits() {
    let io = ModelIo::with(EduModel::new());
    let regs = edu::Regs::new(&io).unwrap();
    regs.status().modify(STATUS::IRQFACT::SET);
    let log = io.log();
    assert_eq!(log.len(), 2);
    assert_eq!((log[0].op, log[0].offset), (Op::Read, 0x20));
    assert_eq!(
        (log[1].op, log[1].offset, log[1].value),
        (Op::Write, 0x20, 0x80)
    );
    assert!(log.iter().all(|a| a.width == hal_core::Width::W32));
}

#[test]
fn dma_registers_are_64_bit_and_a_bad_transfer_is_what_aborts_qemu() {
    let io = ModelIo::with(EduModel::new());
    let regs = edu::Regs::new(&io).unwrap();
    regs.dma_src().set(0x1000);
    regs.dma_dst().set(0x40000);
    regs.dma_count().set(4096); // one byte too many for QEMU 7.2
    regs.dma_cmd()
        .write(DMA_CMD::RUN::SET + DMA_CMD::DIRECTION::TO_DEVICE);
    let fatal = io
        .model(|m| m.fatal.clone())
        .expect("model flags the abort");
    assert!(fatal.contains("out of bounds"), "{fatal}");
    assert!(io.log().iter().all(|a| a.width == hal_core::Width::W64));
}

#[test]
fn a_region_smaller_than_the_block_is_refused() {
    let region = hal_core::Region::anonymous(0x1000).unwrap();
    let err = edu::Regs::new(&region).unwrap_err();
    assert_eq!(
        err,
        BlockError::TooSmall {
            block: "edu.regs",
            need: 0x10_0000,
            have: 0x1000
        }
    );
    assert_eq!(
        err.to_string(),
        "block edu.regs needs 0x100000 bytes but the region has only 0x1000"
    );
}

/// edu has 64-bit registers, so its block needs an 8-aligned base. Without
/// the check, `new` accepted this backend and `dma_src().get()` promised
/// the backend an aligned address it did not have (over a `Region`, a
/// misaligned load).
#[test]
fn a_backend_whose_base_is_misaligned_is_refused() {
    assert_eq!(edu::regs::ALIGN, 8);
    let io = ModelIo::with(EduModel::new()).with_base(0x7f00_0000_0004);
    let err = edu::Regs::new(&io).unwrap_err();
    assert_eq!(
        err,
        BlockError::Misaligned {
            block: "edu.regs",
            address: 0x7f00_0000_0004,
            align: 8
        }
    );
    assert_eq!(
        err.to_string(),
        "block edu.regs cannot be built at address 0x7f0000000004: its registers need the \
         region to start on a multiple of 8 bytes, and this one starts 4 bytes past such a \
         boundary"
    );
    // Page-aligned by default, and 8-aligned is enough.
    assert!(edu::Regs::new(&ModelIo::with(EduModel::new())).is_ok());
    let io = ModelIo::with(EduModel::new()).with_base(0x7f00_0000_0008);
    assert!(edu::Regs::new(&io).is_ok());
    // ivshmem's shared memory has no registers: any base will do.
    assert_eq!(ivshmem::shared::ALIGN, 1);
}

#[test]
fn read_to_clear_status_is_read_once_through_exclusive_access() {
    let mut io = ModelIo::with(IvshmemRegsModel {
        intr_status: 0x5,
        ..Default::default()
    });
    let mut regs = ivshmem::Regs::new(&mut io).unwrap();
    assert_eq!(regs.intr_status().get(), 0x5);
    assert_eq!(regs.intr_status().get(), 0, "the first read cleared it");
    regs.doorbell().write(
        ivshmem::regs::DOORBELL::PEER::val::<1>() + ivshmem::regs::DOORBELL::VECTOR::val::<0>(),
    );
    assert_eq!(regs.iv_position().get(), 0);
    assert_eq!(io.model(|m| m.doorbells.clone()), vec![0x1_0000]);
    let reads = io
        .log()
        .iter()
        .filter(|a| a.op == Op::Read && a.offset == 4)
        .count();
    assert_eq!(reads, 2);
}

#[test]
fn runtime_field_values_are_checked() {
    assert!(STATUS::IRQFACT::try_val(1).is_some());
    assert!(STATUS::IRQFACT::try_val(2).is_none());
    assert!(STATUS::IRQFACT.try_val(2).is_err());
}
