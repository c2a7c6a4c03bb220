// edu IRQ_ACK is `wo`: a read-modify-write would need a read.
use device_specs::edu::{self, regs::IRQ_ACK};
use hal_core::prelude::*;

fn ack(regs: edu::Regs<'_>) {
    regs.irq_ack().modify(IRQ_ACK::FACT::SET);
}

fn main() {}
