//! The VM tests: one QEMU VM (TCG, Debian's kernel, edu + ivshmem-plain
//! bound to uio_pci_generic) runs `vm-guest`; each case is its own test.
//!
//! They run when `VM_TESTS=1` (the README's test command sets it when run
//! as root); otherwise they are listed as ignored with the reason.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use qemu::{Vm, VmError};
use vm_tests::host::{self, run_guest, IVSHMEM_SIZE};
use vm_tests::{first_difference, pattern};

const GUEST: &str = env!("CARGO_BIN_EXE_vm-guest");
const T: Duration = Duration::from_secs(60);

type Shared = Arc<Result<Vm, String>>;

fn vm(shared: &Shared) -> Result<&Vm, Failed> {
    shared
        .as_ref()
        .as_ref()
        .map_err(|e| Failed::from(format!("the VM did not boot: {e}")))
}

fn guest_case(name: &str, args: &'static str, shared: &Shared) -> Trial {
    let shared = shared.clone();
    Trial::test(name, move || {
        let out = run_guest(vm(&shared)?, args, T)?;
        println!("    {}", out.trim());
        Ok(())
    })
}

/// The host writes a pattern into the ivshmem backing file; the guest
/// checks it through BAR2 and writes a reply pattern; the host checks that.
fn ivshmem_exchange(name: &str, backend: &'static str, seed: u32, shared: &Shared) -> Trial {
    let shared = shared.clone();
    Trial::test(name, move || {
        let vm = vm(&shared)?;
        let path = vm
            .ivshmem_path()
            .ok_or("the VM has no ivshmem backing file")?
            .to_path_buf();
        let len = IVSHMEM_SIZE as usize / 4;
        let offset = len; // second quarter: host data; third quarter: reply
        let host = devmem_backend::map_file(&path, 0, IVSHMEM_SIZE as usize)
            .map_err(|e| format!("host mapping of {}: {e}", path.display()))?;
        host.write_bytes(offset, &pattern(seed, len))
            .map_err(|e| e.to_string())?;
        host.write_bytes(offset + len, &vec![0; len])
            .map_err(|e| e.to_string())?;
        let reply = seed.wrapping_mul(7).wrapping_add(1);
        let out = run_guest(
            vm,
            &format!("ivshmem-exchange {backend} {seed} {reply} {offset} {len}"),
            T,
        )?;
        let mut got = vec![0u8; len];
        host.read_bytes(offset + len, &mut got)
            .map_err(|e| e.to_string())?;
        if let Some(i) = first_difference(&got, &pattern(reply, len)) {
            return Err(format!("byte {i} of the guest's reply is wrong in the host file").into());
        }
        println!("    {}\n    host verified {len} reply bytes", out.trim());
        Ok(())
    })
}

/// A fresh VM whose guest starts edu's fatal DMA: the harness must report
/// a QEMU crash (SIGABRT with QEMU's hardware-error line), and leave no
/// QEMU process and no shared-memory file behind.
fn harness_reports_qemu_abort() -> Trial {
    Trial::test("harness_reports_qemu_abort", || {
        let vm = host::boot(&PathBuf::from(GUEST)).map_err(|e| e.to_string())?;
        let shm = vm.ivshmem_path().map(|p| p.to_path_buf());
        let err = vm
            .run("/bin/vm-guest edu-dma-abort", T)
            .map(|o| format!("the command returned (status {}): {}", o.status, o.output));
        drop(vm);
        match err {
            Err(VmError::QemuCrashed {
                signal,
                hardware_error,
                ..
            }) => {
                let hw = hardware_error.unwrap_or_default();
                if signal != Some(6) || !hw.contains("EDU: DMA range") {
                    return Err(
                        format!("crash reported, but signal {signal:?} / message {hw:?}").into(),
                    );
                }
                if let Some(p) = shm {
                    if p.exists() {
                        return Err(format!("{} was left behind", p.display()).into());
                    }
                }
                println!("    reported: SIGABRT, {hw}");
                Ok(())
            }
            Err(other) => Err(format!("expected QemuCrashed, got: {other}").into()),
            Ok(o) => Err(o.into()),
        }
    })
}

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let enabled = std::env::var("VM_TESTS").is_ok_and(|v| v == "1");

    let names = [
        "edu_typed_api_over_uio",
        "edu_typed_api_over_sysfs_resource0",
        "edu_typed_api_over_devmem",
        "edu_10000_interrupts_none_lost",
        "edu_interrupt_wait_times_out",
        "ivshmem_uio_interrupt_wait_is_refused",
        "ivshmem_host_guest_exchange_sysfs_resource2",
        "ivshmem_host_guest_exchange_devmem",
        "uio_devices_listed_with_maps",
        "pci_config_bus_master_and_rebinding",
        "vm_boots_within_10_seconds",
        "harness_reports_qemu_abort",
    ];
    if !enabled || args.list {
        if !enabled && !args.list {
            eprintln!("VM tests skipped: set VM_TESTS=1 as root (the README's test command does) to boot QEMU and run them");
        }
        let trials = names
            .iter()
            .map(|n| Trial::test(*n, || Ok(())).with_ignored_flag(true))
            .collect();
        libtest_mimic::run(&args, trials).exit();
    }

    let start = Instant::now();
    let shared: Shared = Arc::new(host::boot(&PathBuf::from(GUEST)).map_err(|e| e.to_string()));
    let boot = start.elapsed();
    let boot_time = shared.as_ref().as_ref().ok().map(|v| v.boot_time());
    eprintln!("VM boot: {boot:?} (to the first guest command: {boot_time:?})");

    let s = &shared;
    let trials = vec![
        guest_case("edu_typed_api_over_uio", "edu-basics uio", s),
        guest_case("edu_typed_api_over_sysfs_resource0", "edu-basics sysfs", s),
        guest_case("edu_typed_api_over_devmem", "edu-basics devmem", s),
        guest_case("edu_10000_interrupts_none_lost", "edu-irq 10000", s),
        guest_case("edu_interrupt_wait_times_out", "edu-irq-timeout 300", s),
        guest_case(
            "ivshmem_uio_interrupt_wait_is_refused",
            "ivshmem-uio-no-irq",
            s,
        ),
        guest_case("uio_devices_listed_with_maps", "uio-list", s),
        guest_case("pci_config_bus_master_and_rebinding", "pci-helpers", s),
        ivshmem_exchange(
            "ivshmem_host_guest_exchange_sysfs_resource2",
            "sysfs",
            0x5eed_0001,
            s,
        ),
        ivshmem_exchange(
            "ivshmem_host_guest_exchange_devmem",
            "devmem",
            0x5eed_0002,
            s,
        ),
        {
            let s = shared.clone();
            Trial::test("vm_boots_within_10_seconds", move || {
                let t = vm(&s)?.boot_time();
                println!("    boot to first guest command: {t:?}");
                if t > Duration::from_secs(10) {
                    return Err(format!("boot took {t:?}").into());
                }
                Ok(())
            })
        },
        harness_reports_qemu_abort(),
    ];
    let conclusion = libtest_mimic::run(&args, trials);
    // Shut the VM down before exiting (statics would not be dropped).
    drop(shared);
    conclusion.exit();
}
