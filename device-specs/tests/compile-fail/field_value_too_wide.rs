// edu STATUS.IRQFACT is one bit wide: 2 does not fit. `val::<V>()` checks V
// when it is evaluated: in a `const` (as here) `cargo check` already refuses
// it; inside a function body the same error appears at `cargo build`.
use device_specs::edu::regs::STATUS;
use hal_core::tock_registers::fields::FieldValue;

const TOO_WIDE: FieldValue<u32, STATUS::Register> = STATUS::IRQFACT::val::<2>();

fn main() {
    let _ = TOO_WIDE;
}
