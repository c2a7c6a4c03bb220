// edu ID is `ro`: its handle has no `modify` (nor `set`/`write`).
use device_specs::edu::{self, regs::ID};

fn poke(regs: edu::Regs<'_>) {
    regs.id().modify(ID::MAJOR.val(2));
}

fn main() {}
