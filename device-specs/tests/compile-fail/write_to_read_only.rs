// edu ID is `ro`: its handle has no `set`/`write`.
use device_specs::edu;

fn poke(regs: edu::Regs<'_>) {
    regs.id().set(0);
}

fn main() {}
