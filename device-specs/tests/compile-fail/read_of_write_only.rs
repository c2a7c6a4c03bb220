// edu IRQ_RAISE is `wo`: its handle has no `get`/`read`.
use device_specs::edu;
use hal_core::prelude::*;

fn peek(regs: edu::Regs<'_>) -> u32 {
    regs.irq_raise().get()
}

fn main() {}
