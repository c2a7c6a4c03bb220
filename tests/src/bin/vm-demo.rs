//! The demo: boots a QEMU VM with edu and ivshmem, drives edu from a
//! user-space driver inside it through the typed register blocks, shows
//! the edu driver (`edu-driver`: a factorial by interrupt, a DMA round
//! trip, a refused request), and exchanges data between a host process and
//! the guest through ivshmem; then our ivshmem server, two VMs with
//! ivshmem-doorbell and two host processes exchange checked messages
//! (`--messages N` per stream, 200 by default); over UIO those guests poll.
//! Then a VFIO VM (q35, emulated IOMMU): edu bound to vfio-pci, its IOMMU
//! group granted as the shipped udev rule does, used without root by a
//! group member (regpoke, the edu driver: MSI, DMA through IOVAs), refused
//! to a user outside the group, a DMA to an unmapped IOVA stopped by the
//! IOMMU; and a VFIO guest receiving `N` messages from a host process,
//! sleeping on ivshmem's MSI-X instead of polling.

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

/// Explains a step of the driver part, then runs `command` (the `edu`
/// binary) in the guest and shows its output; `expect_fail` for a request
/// the driver must refuse.
fn driver_step(
    vm: &qemu::Vm,
    explain: &[&str],
    command: &str,
    expect_fail: bool,
) -> Result<(), String> {
    println!();
    for l in explain {
        println!("   {l}");
    }
    println!("   guest$ {command}");
    let out = vm
        .run(&format!("{command} 2>&1"), Duration::from_secs(60))
        .map_err(|e| e.to_string())?;
    for l in out.output.lines() {
        println!("     {l}");
    }
    match (out.success(), expect_fail) {
        (true, false) => Ok(()),
        (false, true) => {
            println!(
                "     (exit status {}: refused, as it should be)",
                out.status
            );
            Ok(())
        }
        (true, true) => Err(format!("`{command}` should have been refused")),
        (false, false) => Err(format!(
            "`{command}` failed with exit status {}",
            out.status
        )),
    }
}

/// The edu driver (crate `edu-driver`), as its `edu` command in the guest.
fn driver_part(vm: &qemu::Vm) -> Result<(), String> {
    println!("\n== The edu driver (crate edu-driver; its `edu` command runs in the guest)");
    println!("   A complete user-space driver: it finds edu through sysfs, locks it so that");
    println!("   no second driver instance can interfere, checks the ID register (0x00) and");
    println!("   the liveness register (0x04), and turns PCI Bus Master on.");
    driver_step(
        vm,
        &["Identify the device:"],
        &format!("{} info", host::GUEST_EDU),
        false,
    )?;
    driver_step(
        vm,
        &[
            "Factorial by interrupt: the driver sets STATUS.IRQFACT (0x20 bit 7) *before*",
            "writing 10 to FACTORIAL (0x08), then sleeps in read() on /dev/uio0 until",
            "the kernel reports edu's interrupt. It reads IRQ_STATUS (0x24 = 0x1), writes",
            "exactly those bits to IRQ_ACK (0x64) so edu lowers the line, then unmasks",
            "the line again in PCI config space (uio_pci_generic masked it).",
        ],
        &format!("{} factorial 10 --irq", host::GUEST_EDU),
        false,
    )?;
    driver_step(
        vm,
        &[
            "DMA round trip: 4095 bytes go from one RAM page into edu's internal buffer",
            "(device address 0x40000) and back into another RAM page, then are compared.",
            "The device is given physical addresses (from /proc/self/pagemap) in DMA_SRC",
            "(0x80) and DMA_DST (0x88), the length in DMA_COUNT (0x90), and is started by",
            "DMA_CMD (0x98: bit 0 run, bit 1 direction, bit 2 interrupt when done; each",
            "leg takes edu's 100 ms timer). Bus Master must be on, or QEMU's DMA reads",
            "zeros and drops writes while still reporting success. Why 4095 and not 4096:",
            "QEMU 7.2 aborts the whole VM when a transfer reaches the end of the 4 KiB",
            "buffer (an off-by-one), so the driver refuses that before the device sees it.",
        ],
        &format!("{} dma --len 4095 --irq", host::GUEST_EDU),
        false,
    )?;
    driver_step(
        vm,
        &["The request that would kill QEMU 7.2, refused by the driver (exit status 2):"],
        &format!("{} dma --len 4096", host::GUEST_EDU),
        true,
    )?;
    driver_step(
        vm,
        &["QEMU is still alive: the same device works right after."],
        &format!("{} factorial 12", host::GUEST_EDU),
        false,
    )
}

fn demo() -> Result<(), String> {
    let messages = parse_args()?;
    let guest = host::sibling_guest_binary()?;
    println!("Building the edu driver's command and regpoke for the guest (static) ...");
    let edu = host::build_guest_edu()?;
    let regpoke = host::build_guest_regpoke()?;
    println!("Booting QEMU (TCG) with edu and ivshmem-plain, Debian's kernel, uio_pci_generic ...");
    let vm = qemu::Vm::boot(host::config(&guest).binary(&edu, host::GUEST_EDU))
        .map_err(|e| e.to_string())?;
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
    driver_part(&vm)?;

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
    drop(vm);
    doorbell_part(&guest, messages)?;
    vfio_part(&guest, &edu, &regpoke)?;
    vfio_ring_part(&guest, messages)?;
    println!("\nDemo finished.");
    Ok(())
}

/// Our ivshmem server, two VMs with ivshmem-doorbell and two host
/// processes exchanging checked messages through rings in the shared
/// memory (the scenario of the VM case
/// `ivshmem_two_vms_two_host_processes_exchange_messages`).
fn doorbell_part(guest: &std::path::Path, messages: u64) -> Result<(), String> {
    println!("\n== ivshmem-doorbell: our ivshmem server, two VMs and two host processes");
    println!("   The server hands every peer (VM or host process) the shared memory and the");
    println!("   eventfds that ring each peer. Messages travel through rings (crate shm-ring)");
    println!("   in that memory; a sender rings the receiver's doorbell (a guest writes BAR0's");
    println!("   DOORBELL, a host process writes the peer's eventfd). These guests use UIO, and");
    println!("   ivshmem delivers doorbells by MSI-X only, which uio_pci_generic cannot receive:");
    println!("   over UIO guests poll their rings (over VFIO they sleep on MSI-X: the last part).");
    println!("   Booting two VMs on one server ...");
    vm_tests::ivshmem_vm::two_vms_two_hosts(guest, messages, &mut |l| println!("   {l}"))
}

/// A VFIO VM (q35, emulated IOMMU): edu bound to vfio-pci, its IOMMU
/// group granted as the shipped udev rule does, then used by a group
/// member without root (regpoke, the edu driver), refused to a user
/// outside the group, and a DMA to an unmapped IOVA stopped by the IOMMU.
fn vfio_part(
    guest: &std::path::Path,
    edu: &std::path::Path,
    regpoke: &std::path::Path,
) -> Result<(), String> {
    println!("\n== VFIO: the same edu bound to vfio-pci, driven by a user without root");
    println!("   VFIO gives a device's registers, MSI/MSI-X interrupts (as eventfds) and DMA");
    println!("   through the IOMMU (at addresses the driver picks) to whoever may open the");
    println!("   device's IOMMU group node /dev/vfio/N. It needs an IOMMU: QEMU emulates one.");
    println!(
        "   Booting a VFIO VM (q35, intel-iommu with interrupt remapping, intel_iommu=on) ..."
    );
    let config = host::config(guest)
        .vfio(true)
        .bind_uio(false)
        .ivshmem(false)
        .binary(edu, host::GUEST_EDU)
        .binary(regpoke, host::GUEST_REGPOKE);
    let vm = qemu::Vm::boot(config).map_err(|e| format!("booting the VFIO VM: {e}"))?;
    println!(
        "   Booted to the first guest command in {:?}.",
        vm.boot_time()
    );
    driver_step(
        &vm,
        &[
            "As root, once: bind edu to vfio-pci and give its group node the grant of the",
            "shipped udev rule (udev/70-mmio-hal.rules; the VM has no udev, so the rule's",
            "group and mode are applied as udev would apply them):",
        ],
        "vm-guest vfio-grant-edu",
        false,
    )?;
    driver_step(
        &vm,
        &[
            "From here on `as-member` runs a command as uid 65534, whose only extra group",
            "is the rule's group (gid 990 here): no root, no capabilities. regpoke sees edu",
            "bound to vfio-pci and uses VFIO by itself (-v names the backend):",
        ],
        "vm-guest as-member regpoke --spec edu -v read ID",
        false,
    )?;
    driver_step(
        &vm,
        &["The edu driver chooses VFIO by itself as well:"],
        "vm-guest as-member edu info",
        false,
    )?;
    driver_step(
        &vm,
        &[
            "Factorial by MSI: edu's message-signalled interrupt arrives on an eventfd",
            "that VFIO signals; the driver reads it, acknowledges IRQ_STATUS in edu, and",
            "has no INTx line to unmask. (VFIO never sets Bus Master and QEMU drops MSI",
            "writes without it: the driver sets it through VFIO's config region.)",
        ],
        "vm-guest as-member edu factorial 10 --irq",
        false,
    )?;
    driver_step(
        &vm,
        &[
            "DMA round trip through IOVAs: the driver maps its two buffers into edu's",
            "IOMMU domain at addresses it picks (VFIO pins the pages) and gives edu those",
            "IOVAs: no physical addresses, no /proc/self/pagemap, no root.",
        ],
        "vm-guest as-member edu dma --len 4095 --irq",
        false,
    )?;
    driver_step(
        &vm,
        &["The same guard as under UIO: the 4096-byte request is refused (exit status 2):"],
        "vm-guest as-member edu dma --len 4096",
        true,
    )?;
    driver_step(
        &vm,
        &["A user outside the group is refused, told which node and where to read on:"],
        "vm-guest as-outsider regpoke --spec edu read ID",
        true,
    )?;
    driver_step(
        &vm,
        &[
            "Isolation (as root): edu is told to DMA to and from IOVA 0x800000, which",
            "nothing mapped. The IOMMU stops it: the writes are dropped, the reads give",
            "zeros, mapped memory is unchanged, edu works right after, and the kernel",
            "logs the fault (DMAR line):",
        ],
        "vm-guest vfio-edu-unmapped",
        false,
    )
}

/// ivshmem-doorbell over VFIO: a host process sends `messages` messages to
/// a guest that sleeps on MSI-X vector 0 when its ring is empty (the VM
/// case `vfio_ivshmem_ring_host_to_guest_by_interrupt`).
fn vfio_ring_part(guest: &std::path::Path, messages: u64) -> Result<(), String> {
    println!("\n== ivshmem-doorbell over VFIO: the guest sleeps on MSI-X instead of polling");
    println!(
        "   A VFIO VM joins a new ivshmem server; inside it, ivshmem is bound to vfio-pci and"
    );
    println!(
        "   its MSI-X vectors arrive as eventfds. A host process sends {messages} messages into a"
    );
    println!("   ring and rings the guest's vector 0 after each batch, pausing 100 ms between");
    println!(
        "   batches so that the ring runs empty; the guest then sleeps in read() on vector 0's"
    );
    println!("   eventfd: \"wake-ups\" are sleeps ended by MSI-X, \"wait timeouts\" sleeps that were not.");
    println!("   Booting the VFIO VM ...");
    for l in vm_tests::ivshmem_vfio::ring_host_to_guest(guest, messages)? {
        println!("   {l}");
    }
    Ok(())
}

/// `--messages N` (default 200): messages per stream in the ivshmem-doorbell
/// parts (UIO guests polling, the VFIO guest sleeping on MSI-X).
fn parse_args() -> Result<u64, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(200),
        [o, n] if o == "--messages" => n
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("--messages {n}: expected a positive number")),
        [h] if h == "-h" || h == "--help" => Err(
            "usage: vm-demo [--messages N]  (N: messages per stream in the ivshmem-doorbell parts, default 200)"
                .into(),
        ),
        other => Err(format!(
            "unknown arguments {other:?}; usage: vm-demo [--messages N]"
        )),
    }
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
