//! The VM tests: one QEMU VM (TCG, Debian's kernel, edu + ivshmem-plain
//! bound to uio_pci_generic) runs `vm-guest`; each case is its own test.
//!
//! They run when `VM_TESTS=1` (the README's test command sets it when run
//! as root); otherwise they are listed as ignored with the reason.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use qemu::{Vm, VmError};
use vm_tests::host::{self, run_guest, IVSHMEM_SIZE};
use vm_tests::ivshmem_vm;
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

/// Shell prelude for the regpoke cases: `check WANT CMD...` runs CMD and
/// compares its output with WANT.
const PRELUDE: &str = r#"set -e
check() { want="$1"; shift; got=$("$@"); if [ "$got" != "$want" ]; then echo "FAIL: $* printed '$got', expected '$want'"; exit 1; fi; echo "ok: $* -> $got"; }
EDU=$(grep -l 0x11e8 /sys/bus/pci/devices/*/device | head -1 | xargs dirname)
EDU_BAR0=$(head -1 $EDU/resource | cut -d' ' -f1)
"#;

/// A regpoke case: a shell script run in the guest after [`PRELUDE`];
/// exit status 0 passes.
fn regpoke_case(
    name: &str,
    script: &'static str,
    shared: &Shared,
    regpoke: &Result<PathBuf, String>,
) -> Trial {
    let shared = shared.clone();
    let built = regpoke.as_ref().map(|_| ()).map_err(Clone::clone);
    Trial::test(name, move || {
        built.clone().map_err(Failed::from)?;
        let out = vm(&shared)?
            .run(&format!("{PRELUDE}{script}"), T)
            .map_err(|e| e.to_string())?;
        for l in out.output.lines() {
            println!("    {l}");
        }
        if out.success() {
            Ok(())
        } else {
            Err(format!("exit status {}", out.status).into())
        }
    })
}

/// The host writes the ivshmem file, regpoke in the guest reads BAR2; then
/// regpoke writes and the host reads.
fn regpoke_ivshmem(shared: &Shared, regpoke: &Result<PathBuf, String>) -> Trial {
    let shared = shared.clone();
    let built = regpoke.as_ref().map(|_| ()).map_err(Clone::clone);
    Trial::test("regpoke_ivshmem_bar2_shared_with_host", move || {
        built.clone().map_err(Failed::from)?;
        let vm = vm(&shared)?;
        let path = vm.ivshmem_path().ok_or("no ivshmem file")?.to_path_buf();
        let host =
            devmem_backend::map_file(&path, 0, IVSHMEM_SIZE as usize).map_err(|e| e.to_string())?;
        host.try_write32(0x100, 0x1122_3344)
            .map_err(|e| e.to_string())?;
        host.try_write64(0x108, 0).map_err(|e| e.to_string())?;
        let out = vm
            .run(
                "regpoke --spec ivshmem --block shared -v read 0x100 --width 32 && regpoke --spec ivshmem --block shared write 0x108=0xcafef00d0badc0de --width 64",
                T,
            )
            .map_err(|e| e.to_string())?;
        for l in out.output.lines() {
            println!("    {l}");
        }
        if !out.success() || !out.output.contains("0x11223344") {
            return Err(format!("guest read failed (status {})", out.status).into());
        }
        let got = host.try_read64(0x108).map_err(|e| e.to_string())?;
        if got != 0xcafe_f00d_0bad_c0de {
            return Err(
                format!("the host reads {got:#x} where regpoke wrote 0xcafef00d0badc0de").into(),
            );
        }
        println!("    host read back {got:#x}");
        Ok(())
    })
}

/// The guest runs the edu session through a recorder and prints the
/// trace; the host replays it against the same function, then shows that
/// a changed driver step (another factorial) diverges at its line.
fn trace_replays_on_host(shared: &Shared) -> Trial {
    use io_trace::{MapSelect, Replay, ReplayError};
    use vm_tests::session::{edu_session, trace_in_output, SESSION_FACTORIAL};
    let shared = shared.clone();
    Trial::test("trace_recorded_in_vm_replays_on_host", move || {
        let out = run_guest(vm(&shared)?, "edu-trace", T)?;
        let trace = trace_in_output(&out)?;
        // Kept for refreshing tests/fixtures/edu-session.mmiotrace.
        let kept = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("edu-session.mmiotrace");
        std::fs::write(&kept, trace).map_err(|e| format!("writing {}: {e}", kept.display()))?;
        println!("    trace kept in {}", kept.display());
        let replay =
            Replay::parse(trace, MapSelect::Only, "the VM's trace").map_err(|e| e.to_string())?;
        let n = replay.expected().len();
        let report = edu_session(&replay, SESSION_FACTORIAL, Duration::ZERO)?;
        replay.finish().map_err(|e| e.to_string())?;
        println!("    guest: {}", out.lines().next().unwrap_or_default());
        println!("    host replay of {n} accesses: {report}");
        let changed =
            Replay::parse(trace, MapSelect::Only, "the VM's trace").map_err(|e| e.to_string())?;
        let _ = edu_session(&changed, SESSION_FACTORIAL + 1, Duration::ZERO);
        match changed.finish() {
            Err(e @ ReplayError::Diverged(_)) => {
                println!("    changed step: {e}");
                Ok(())
            }
            other => Err(format!(
                "a session computing {}! replayed as {other:?}",
                SESSION_FACTORIAL + 1
            )
            .into()),
        }
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

/// A case that boots its own VMs on its own ivshmem server
/// (`vm_tests::ivshmem_vm`); prints its log lines.
fn ivshmem_case(
    name: &str,
    regpoke: &Result<PathBuf, String>,
    f: fn(&std::path::Path, &std::path::Path) -> Result<Vec<String>, String>,
) -> Trial {
    let regpoke = regpoke.clone();
    Trial::test(name, move || {
        let regpoke = regpoke.clone().map_err(Failed::from)?;
        for l in f(&PathBuf::from(GUEST), &regpoke)? {
            println!("    {l}");
        }
        Ok(())
    })
}

/// The VFIO VM (q35, emulated IOMMU, edu left unbound, no ivshmem),
/// booted by the first VFIO case and shared by the others.
type VfioVm = Arc<Mutex<Option<Result<Vm, String>>>>;

/// A case run by `vm-guest` in the VFIO VM (its output printed).
fn vfio_case(name: &str, args: &'static str, vfio_vm: &VfioVm) -> Trial {
    let vfio_vm = vfio_vm.clone();
    Trial::test(name, move || {
        let mut slot = vfio_vm.lock().unwrap_or_else(|e| e.into_inner());
        let vm = slot.get_or_insert_with(|| {
            let mut config = host::config(&PathBuf::from(GUEST))
                .vfio(true)
                .bind_uio(false)
                .ivshmem(false);
            if let Ok(p) = host::build_guest_edu() {
                config = config.binary(&p, host::GUEST_EDU);
            }
            if let Ok(p) = host::build_guest_regpoke() {
                config = config.binary(&p, host::GUEST_REGPOKE);
            }
            Vm::boot(config).map_err(|e| e.to_string())
        });
        let vm = vm
            .as_ref()
            .map_err(|e| format!("the VFIO VM did not boot: {e}"))?;
        let out = run_guest(vm, args, T)?;
        for l in out.lines() {
            println!("    {l}");
        }
        Ok(())
    })
}

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let enabled = std::env::var("VM_TESTS").is_ok_and(|v| v == "1");

    #[allow(unused_mut)]
    let mut names = vec![
        "edu_typed_api_over_uio",
        "edu_typed_api_over_sysfs_resource0",
        "edu_typed_api_over_devmem",
        "edu_10000_interrupts_none_lost",
        "edu_interrupt_wait_times_out",
        "edu_interrupt_through_tokio_async_fd",
        "ivshmem_uio_interrupt_wait_is_refused",
        "ivshmem_host_guest_exchange_sysfs_resource2",
        "ivshmem_host_guest_exchange_devmem",
        "uio_devices_listed_with_maps",
        "pci_config_bus_master_and_rebinding",
        "dma_buffer_pagemap_needs_cap_sys_admin_as_non_root",
        "dma_buffer_in_a_2_mib_hugepage_is_one_segment",
        "regpoke_edu_over_uio",
        "regpoke_edu_over_sysfs_resource0",
        "regpoke_edu_over_devmem",
        "regpoke_edu_interrupt_raise_wait_ack",
        "regpoke_irq_wait_timeout_exit_status",
        "regpoke_ivshmem_irq_wait_refused",
        "regpoke_batch_factorial_with_interrupt",
        "regpoke_ivshmem_bar2_shared_with_host",
        "regpoke_4_processes_1000_field_flips_each",
        "uio_group_member_uses_registers_and_interrupts",
        "edu_driver_factorial_polled",
        "edu_driver_factorial_interrupt",
        "edu_driver_dma_round_trip_polled",
        "edu_driver_dma_round_trip_interrupt",
        "edu_driver_guards_keep_qemu_alive",
        "edu_driver_second_instance_refused",
        "vm_boots_within_10_seconds",
        "trace_recorded_in_vm_replays_on_host",
        "harness_reports_qemu_abort",
        "ivshmem_doorbell_guest_rings_host_peer",
        "ivshmem_two_vms_two_host_processes_exchange_messages",
        "ivshmem_peer_killed_is_reported_and_survivors_continue",
        "vfio_edu_registers_and_msi_factorial",
        "vfio_edu_intx_wait_ack_unmask",
        "vfio_group_permission_error_then_non_root_use",
        "vfio_group_member_uses_device_non_member_refused",
        "vfio_edu_dma_round_trip_through_iovas",
        "vfio_unmapped_iova_faults_and_memory_is_unchanged",
        "vfio_dma_buffer_unmapped_on_drop_cannot_be_reached",
        "vfio_iommu_reports_iova_ranges",
        "vfio_edu_driver_factorial_msi_and_dma_round_trip",
        "vfio_regpoke_reads_writes_and_waits_by_name",
        "vfio_regpoke_intx_forced",
        "vfio_regpoke_waits_for_ivshmem_doorbell_msix",
        "vfio_ivshmem_doorbell_msix_per_vector",
        "vfio_ivshmem_ring_host_to_guest_by_interrupt",
        "vfio_ivshmem_ring_guest_to_guest_by_interrupt",
        "bench_vfio_uio_refuses_one_edu",
    ];
    #[cfg(feature = "udev")]
    names.push("uio_devices_listed_through_udev");
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

    let regpoke = host::build_guest_regpoke();
    let mut config = host::config(&PathBuf::from(GUEST));
    if let Ok(p) = &regpoke {
        config = config.binary(p, host::GUEST_REGPOKE);
    }
    let edu = host::build_guest_edu();
    if let Ok(p) = &edu {
        config = config.binary(p, host::GUEST_EDU);
    }
    let start = Instant::now();
    let shared: Shared = Arc::new(qemu::Vm::boot(config).map_err(|e| e.to_string()));
    let boot = start.elapsed();
    let boot_time = shared.as_ref().as_ref().ok().map(|v| v.boot_time());
    eprintln!("VM boot: {boot:?} (to the first guest command: {boot_time:?})");

    let vfio_vm: VfioVm = Arc::new(Mutex::new(None));
    let s = &shared;
    #[allow(unused_mut)]
    let mut trials = vec![
        guest_case("edu_typed_api_over_uio", "edu-basics uio", s),
        guest_case("edu_typed_api_over_sysfs_resource0", "edu-basics sysfs", s),
        guest_case("edu_typed_api_over_devmem", "edu-basics devmem", s),
        guest_case("edu_10000_interrupts_none_lost", "edu-irq 10000", s),
        guest_case("edu_interrupt_wait_times_out", "edu-irq-timeout 300", s),
        guest_case(
            "edu_interrupt_through_tokio_async_fd",
            "edu-async-irq 100",
            s,
        ),
        guest_case(
            "ivshmem_uio_interrupt_wait_is_refused",
            "ivshmem-uio-no-irq",
            s,
        ),
        guest_case("uio_devices_listed_with_maps", "uio-list", s),
        guest_case(
            "bench_vfio_uio_refuses_one_edu",
            "bench-vfio-uio-one-edu",
            s,
        ),
        guest_case("pci_config_bus_master_and_rebinding", "pci-helpers", s),
        guest_case(
            "dma_buffer_pagemap_needs_cap_sys_admin_as_non_root",
            "dma-pagemap",
            s,
        ),
        guest_case(
            "dma_buffer_in_a_2_mib_hugepage_is_one_segment",
            "dma-hugepage",
            s,
        ),
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
        regpoke_case("regpoke_edu_over_uio", EDU_UIO, s, &regpoke),
        regpoke_case("regpoke_edu_over_sysfs_resource0", EDU_SYSFS, s, &regpoke),
        regpoke_case("regpoke_edu_over_devmem", EDU_DEVMEM, s, &regpoke),
        regpoke_case("regpoke_edu_interrupt_raise_wait_ack", EDU_IRQ, s, &regpoke),
        regpoke_case(
            "regpoke_irq_wait_timeout_exit_status",
            IRQ_TIMEOUT,
            s,
            &regpoke,
        ),
        regpoke_case(
            "regpoke_ivshmem_irq_wait_refused",
            IVSHMEM_NO_IRQ,
            s,
            &regpoke,
        ),
        regpoke_case("regpoke_batch_factorial_with_interrupt", BATCH, s, &regpoke),
        regpoke_ivshmem(s, &regpoke),
        regpoke_case(
            "regpoke_4_processes_1000_field_flips_each",
            CONCURRENT,
            s,
            &regpoke,
        ),
        // vm-guest applies the rules' grants and runs the guest's regpoke.
        regpoke_case(
            "uio_group_member_uses_registers_and_interrupts",
            "vm-guest uio-group-member regpoke\n",
            s,
            &regpoke,
        ),
        guest_case(
            "edu_driver_factorial_polled",
            "edu-driver-factorial poll",
            s,
        ),
        guest_case(
            "edu_driver_factorial_interrupt",
            "edu-driver-factorial irq",
            s,
        ),
        guest_case("edu_driver_dma_round_trip_polled", "edu-driver-dma poll", s),
        guest_case(
            "edu_driver_dma_round_trip_interrupt",
            "edu-driver-dma irq",
            s,
        ),
        guest_case("edu_driver_guards_keep_qemu_alive", "edu-driver-guards", s),
        {
            let s = shared.clone();
            let built = edu.as_ref().map(|_| ()).map_err(Clone::clone);
            Trial::test("edu_driver_second_instance_refused", move || {
                built.clone().map_err(Failed::from)?;
                let args = format!("edu-driver-second-instance {}", host::GUEST_EDU);
                let out = run_guest(vm(&s)?, &args, T)?;
                for l in out.lines() {
                    println!("    {l}");
                }
                Ok(())
            })
        },
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
        trace_replays_on_host(s),
        harness_reports_qemu_abort(),
        ivshmem_case(
            "ivshmem_doorbell_guest_rings_host_peer",
            &regpoke,
            ivshmem_vm::guest_rings_host,
        ),
        ivshmem_case(
            "ivshmem_two_vms_two_host_processes_exchange_messages",
            &regpoke,
            |g, _| {
                let mut log = Vec::new();
                ivshmem_vm::two_vms_two_hosts(g, 2000, &mut |l| log.push(l))?;
                Ok(log)
            },
        ),
        ivshmem_case(
            "ivshmem_peer_killed_is_reported_and_survivors_continue",
            &regpoke,
            |g, _| ivshmem_vm::peer_killed(g, 2000),
        ),
        vfio_case(
            "vfio_edu_registers_and_msi_factorial",
            "vfio-edu-msi 200",
            &vfio_vm,
        ),
        vfio_case(
            "vfio_edu_intx_wait_ack_unmask",
            "vfio-edu-intx 200",
            &vfio_vm,
        ),
        vfio_case(
            "vfio_group_permission_error_then_non_root_use",
            "vfio-edu-unprivileged",
            &vfio_vm,
        ),
        vfio_case(
            "vfio_group_member_uses_device_non_member_refused",
            "vfio-group-member",
            &vfio_vm,
        ),
        vfio_case(
            "vfio_edu_dma_round_trip_through_iovas",
            "vfio-edu-dma",
            &vfio_vm,
        ),
        vfio_case(
            "vfio_unmapped_iova_faults_and_memory_is_unchanged",
            "vfio-edu-unmapped",
            &vfio_vm,
        ),
        vfio_case(
            "vfio_dma_buffer_unmapped_on_drop_cannot_be_reached",
            "vfio-edu-dropped",
            &vfio_vm,
        ),
        vfio_case(
            "vfio_iommu_reports_iova_ranges",
            "vfio-iova-ranges",
            &vfio_vm,
        ),
        vfio_case(
            "vfio_edu_driver_factorial_msi_and_dma_round_trip",
            "vfio-edu-driver",
            &vfio_vm,
        ),
        vfio_case(
            "vfio_regpoke_reads_writes_and_waits_by_name",
            "vfio-regpoke",
            &vfio_vm,
        ),
        vfio_case("vfio_regpoke_intx_forced", "vfio-regpoke-intx", &vfio_vm),
        ivshmem_case(
            "vfio_regpoke_waits_for_ivshmem_doorbell_msix",
            &regpoke,
            vm_tests::ivshmem_vfio::regpoke_doorbell_msix,
        ),
        ivshmem_case("vfio_ivshmem_doorbell_msix_per_vector", &regpoke, |g, _| {
            vm_tests::ivshmem_vfio::msix_per_vector(g, 30)
        }),
        ivshmem_case(
            "vfio_ivshmem_ring_host_to_guest_by_interrupt",
            &regpoke,
            |g, _| vm_tests::ivshmem_vfio::ring_host_to_guest(g, 2000),
        ),
        ivshmem_case(
            "vfio_ivshmem_ring_guest_to_guest_by_interrupt",
            &regpoke,
            |g, _| vm_tests::ivshmem_vfio::ring_guest_to_guest(g, 2000),
        ),
    ];
    // With the `udev` feature only (scripts/test.sh runs it in a pass of
    // its own); before the cases that boot VMs of their own.
    #[cfg(feature = "udev")]
    {
        let before = trials
            .iter()
            .position(|t| t.name() == "harness_reports_qemu_abort")
            .unwrap_or(trials.len());
        trials.insert(
            before,
            guest_case("uio_devices_listed_through_udev", "uio-list-udev", s),
        );
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // Shut the VMs down before exiting (statics would not be dropped).
    drop(shared);
    drop(vfio_vm);
    conclusion.exit();
}

/// Identification, liveness and factorial (with `watch`) through one backend.
macro_rules! edu_script {
    ($sel:expr, $backend:expr) => {
        concat!(
            "R=\"regpoke --spec edu ",
            $sel,
            "\"\n",
            "$R -v read ID 2>/tmp/v; grep -q '",
            $backend,
            "' /tmp/v || { echo \"FAIL: -v says: $(cat /tmp/v)\"; exit 1; }; cat /tmp/v\n",
            "check 0x010000ed $R read ID\n",
            "check 0x01 $R read ID.MAJOR\n",
            "check 0xedcba987 $R write LIVENESS=0x12345678 --readback\n",
            "$R write STATUS.IRQFACT=0 FACTORIAL=10\n",
            "$R watch STATUS.COMPUTING --until ==IDLE --timeout 2s\n",
            "check 0x00375f00 $R read FACTORIAL\n",
        )
    };
}

const EDU_UIO: &str = edu_script!("", "uio");
const EDU_SYSFS: &str = edu_script!("--pci 1234:11e8", "resource0");
const EDU_DEVMEM: &str = edu_script!("--devmem $EDU_BAR0", "/dev/mem");

const EDU_IRQ: &str = r#"R="regpoke --spec edu"
$R write IRQ_ACK=0xffffffff
C=$($R irq count)
$R irq enable
$R write IRQ_RAISE.FACT=1
$R irq wait --since $C --timeout 2s
check 0x1 $R read IRQ_STATUS.FACT
$R irq ack IRQ_ACK.FACT=1
check 0x00000000 $R read IRQ_STATUS
"#;

const IRQ_TIMEOUT: &str = r#"set +e
regpoke --spec edu irq wait --timeout 200ms; rc=$?
[ $rc = 3 ] || { echo "FAIL: exit status $rc, expected 3"; exit 1; }
echo "ok: timed out with exit status 3"
"#;

const IVSHMEM_NO_IRQ: &str = r#"set +e
regpoke --spec ivshmem irq wait --timeout 1s 2>/tmp/e; rc=$?
cat /tmp/e
[ $rc = 1 ] || { echo "FAIL: exit status $rc, expected 1"; exit 1; }
grep -q 'no interrupt' /tmp/e || { echo "FAIL: no clear message"; exit 1; }
"#;

const BATCH: &str = r#"cat > /tmp/f.rp <<'BATCH'
# factorial with its interrupt, in one mapping
write IRQ_ACK=0xffffffff
irq enable
write STATUS.IRQFACT=1
write FACTORIAL=5
watch STATUS.COMPUTING --until ==IDLE --timeout 2s
expect FACTORIAL ==120
irq wait --timeout 2s
expect IRQ_STATUS.FACT ==1
irq ack IRQ_ACK.FACT=1
expect IRQ_STATUS ==0
write STATUS.IRQFACT=0
BATCH
regpoke --spec edu batch /tmp/f.rp
echo "ok: batch passed"
"#;

/// Four processes, each flipping its own bit of ivshmem's INTR_MASK (plain
/// storage) 1000 times with value:mask read-modify-writes and checking its
/// bit after every flip, then setting it: the final value is exactly 0xf.
const CONCURRENT: &str = r#"R="regpoke --spec ivshmem"
for k in 0 1 2 3; do
  m=$((1 << k)); i=0; : > /tmp/flip$k
  while [ $i -lt 500 ]; do
    printf 'write INTR_MASK=%d:%d\nexpect INTR_MASK &%d==%d\nwrite INTR_MASK=0:%d\nexpect INTR_MASK &%d==0\n' $m $m $m $m $m $m >> /tmp/flip$k
    i=$((i + 1))
  done
  printf 'write INTR_MASK=%d:%d\n' $m $m >> /tmp/flip$k
done
$R write INTR_MASK=0
pids=""
for k in 0 1 2 3; do $R batch /tmp/flip$k > /tmp/flip$k.out 2>&1 & pids="$pids $!"; done
fail=0
for p in $pids; do wait $p || fail=1; done
[ $fail = 0 ] || { tail -n 3 /tmp/flip*.out; echo "FAIL: a process failed"; exit 1; }
check 0x0000000f $R read INTR_MASK
$R write INTR_MASK=0
"#;
