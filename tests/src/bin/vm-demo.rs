//! The demo: boots a QEMU VM with edu and ivshmem, drives edu from a
//! user-space driver inside it through the typed register blocks, and
//! exchanges data between a host process and the guest through ivshmem.

use std::process::ExitCode;
use std::time::Duration;

use vm_tests::host::{self, run_guest, IVSHMEM_SIZE};
use vm_tests::{first_difference, pattern};

fn step(vm: &qemu::Vm, title: &str, args: &str) -> Result<(), String> {
    println!("\n== {title}\n   guest$ vm-guest {args}");
    let out = run_guest(vm, args, Duration::from_secs(120))?;
    for l in out.lines() {
        println!("   {l}");
    }
    Ok(())
}

fn demo() -> Result<(), String> {
    let guest = host::sibling_guest_binary()?;
    println!("Booting QEMU (TCG) with edu and ivshmem-plain, Debian's kernel, uio_pci_generic ...");
    let vm = host::boot(&guest).map_err(|e| e.to_string())?;
    println!("Booted to the first guest command in {:?}.", vm.boot_time());
    let listing = vm
        .run(
            "for d in /sys/class/uio/uio*; do echo \"$(basename $d): $(cat $d/name) $(basename $(readlink $d/device)) maps: $(ls $d/maps 2>/dev/null | tr '\\n' ' ')\"; done",
            Duration::from_secs(10),
        )
        .map_err(|e| e.to_string())?;
    println!("\n== UIO devices in the guest");
    for l in listing.output.lines() {
        println!("   {l}");
    }
    step(&vm, "edu over /dev/uio (typed registers)", "edu-basics uio")?;
    step(&vm, "edu over sysfs resource0", "edu-basics sysfs")?;
    step(&vm, "edu over /dev/mem", "edu-basics devmem")?;
    step(&vm, "edu interrupts through UIO", "edu-irq 1000")?;

    let path = vm
        .ivshmem_path()
        .ok_or("the VM has no ivshmem backing file")?
        .to_path_buf();
    let len = 4096;
    let host =
        devmem_backend::map_file(&path, 0, IVSHMEM_SIZE as usize).map_err(|e| e.to_string())?;
    host.write_bytes(0, &pattern(42, len))
        .map_err(|e| e.to_string())?;
    println!(
        "\n== ivshmem: the host wrote {len} bytes into {}",
        path.display()
    );
    step(
        &vm,
        "the guest checks them through BAR2 and replies",
        "ivshmem-exchange sysfs 42 43 0 4096",
    )?;
    let mut reply = vec![0u8; len];
    host.read_bytes(len, &mut reply)
        .map_err(|e| e.to_string())?;
    match first_difference(&reply, &pattern(43, len)) {
        None => println!("   host: the guest's {len}-byte reply arrived intact"),
        Some(i) => return Err(format!("the guest's reply differs at byte {i}")),
    }
    println!("\nDemo finished; the VM shuts down.");
    Ok(())
}

fn main() -> ExitCode {
    match demo() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}
