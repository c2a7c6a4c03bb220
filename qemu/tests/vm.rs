//! VM integration tests: they boot real QEMU guests (TCG), so they only run
//! with `VM_TESTS=1`; otherwise each test prints a "skipped" line and passes.
//!
//! ```text
//! VM_TESTS=1 cargo test -p qemu --test vm
//! ```

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use qemu::{Vm, VmConfig, VmError};

const T: Duration = Duration::from_secs(30);

fn enabled(test: &str) -> bool {
    let on = std::env::var("VM_TESTS").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("{test}: skipped: set VM_TESTS=1 to run the VM tests");
    }
    on
}

/// Boots are serialised so that the measured boot time is not inflated by
/// another QEMU competing for the two cores.
fn boot_lock() -> MutexGuard<'static, ()> {
    static L: Mutex<()> = Mutex::new(());
    L.lock().unwrap_or_else(|e| e.into_inner())
}

fn boot(config: VmConfig) -> Vm {
    let _g = boot_lock();
    match Vm::boot(config) {
        Ok(vm) => vm,
        Err(e) => panic!("boot failed: {e}"),
    }
}

/// One VM shared by most tests (kept in a static: cleaned up at exit).
fn shared() -> &'static Vm {
    static VM: OnceLock<Vm> = OnceLock::new();
    VM.get_or_init(|| {
        boot(
            VmConfig::default()
                // A dynamically linked host binary: its libraries come along.
                .binary("/bin/ls", "/opt/host/ls")
                .file_bytes(*b"#!/bin/sh\necho script-ok \"$@\"\n", "/opt/s.sh", 0o755),
        )
    })
}

fn run(vm: &Vm, cmd: &str) -> qemu::CmdOutput {
    match vm.run(cmd, T) {
        Ok(o) => o,
        Err(e) => panic!("`{cmd}` failed: {e}"),
    }
}

fn process_alive(pid: i32) -> bool {
    // A zombie would still have /proc/<pid>; the harness reaps it.
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn boot_binds_devices_and_is_fast() {
    if !enabled("boot_binds_devices_and_is_fast") {
        return;
    }
    let vm = shared();
    eprintln!("boot time: {:?}", vm.boot_time());
    assert!(
        vm.boot_time() < Duration::from_secs(10),
        "boot took {:?}",
        vm.boot_time()
    );
    let edu = vm.edu_bdf().expect("edu found");
    let ivshmem = vm.ivshmem_bdf().expect("ivshmem found");
    for bdf in [edu, ivshmem] {
        let o = run(vm, &format!("readlink /sys/bus/pci/devices/{bdf}/driver"));
        assert_eq!(o.status, 0, "{}", o.output);
        assert!(
            o.output.trim().ends_with("/uio_pci_generic"),
            "{bdf}: {}",
            o.output
        );
    }
    let o = run(vm, "cat /sys/class/uio/uio0/name /sys/class/uio/uio1/name");
    assert_eq!(o.output, "uio_pci_generic\nuio_pci_generic\n");
    let o = run(vm, "uname -r");
    assert_eq!(o.output.trim(), vm.kernel_release());
    // edu identification register through /dev/mem (BAR0 from sysfs).
    let o = run(
        vm,
        &format!(
            "bar=$(head -n1 /sys/bus/pci/devices/{edu}/resource | cut -d' ' -f1); devmem $bar 32"
        ),
    );
    assert_eq!(o.output.trim(), "0x010000ED");
    assert!(vm.console_log().len() < 1_000_000);
}

#[test]
fn command_status_and_framing() {
    if !enabled("command_status_and_framing") {
        return;
    }
    let vm = shared();
    let o = run(vm, "echo out; echo err >&2; exit 3");
    assert_eq!(o.status, 3);
    assert_eq!(o.output, "out\nerr\n");

    let o = run(vm, "printf abc");
    assert_eq!((o.status, o.output.as_str()), (0, "abc"));

    let o = run(vm, "true");
    assert_eq!((o.status, o.bytes.len()), (0, 0));

    // Binary bytes, including CR, NUL, 0xff, ^C, ^D, ^S and a fake marker.
    let o = run(
        vm,
        r"printf '\000\001\003\004\023\r\n\377'; printf '\n@@VMH END 1 0 0\n'; printf tail",
    );
    let mut want = vec![0u8, 1, 3, 4, 0x13, b'\r', b'\n', 0xff];
    want.extend_from_slice(b"\n@@VMH END 1 0 0\ntail");
    assert_eq!(o.bytes, want);

    // 100 KB+ of output.
    let o = run(vm, "seq 1 20000");
    let want: String = (1..=20000).map(|i| format!("{i}\n")).collect();
    assert!(want.len() > 100_000);
    assert_eq!(o.output.len(), want.len());
    assert!(o.output == want, "large output differs");
    eprintln!("{} bytes in {:?}", o.bytes.len(), o.duration);

    // Multi-line scripts, quotes, variables.
    let o = run(
        vm,
        "x='a \"b\" c'\nfor i in 1 2; do\n  echo \"$x $i\"\ndone",
    );
    assert_eq!(o.output, "a \"b\" c 1\na \"b\" c 2\n");

    // Commands do not read the channel.
    let o = run(vm, "cat; echo after-cat");
    assert_eq!(o.output, "after-cat\n");

    // Killed by a signal: 128 + 9.
    let o = run(vm, "kill -9 $$");
    assert_eq!(o.status, 137);

    // Files and binaries from the config.
    let o = run(vm, "/opt/s.sh x y");
    assert_eq!(o.output, "script-ok x y\n");
    let o = run(vm, "/opt/host/ls -d /opt/host");
    assert_eq!(
        (o.status, o.output.as_str()),
        (0, "/opt/host\n"),
        "{}",
        o.output
    );

    // run_ok.
    match vm.run_ok("echo nope; exit 2", T) {
        Err(VmError::CommandFailed { status, output, .. }) => {
            assert_eq!((status, output.as_str()), (2, "nope\n"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn command_timeout_keeps_vm_usable() {
    if !enabled("command_timeout_keeps_vm_usable") {
        return;
    }
    let vm = shared();
    let start = std::time::Instant::now();
    // The child `sleep` is in the same process group: it dies too.
    match vm.run(
        "echo started; sleep 100 & sleep 100",
        Duration::from_secs(1),
    ) {
        Err(VmError::CommandTimeout { output, .. }) => assert_eq!(output, "started\n"),
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(10));
    let o = run(vm, "echo still here; ps | grep -c '[s]leep 100' || true");
    assert_eq!(o.output, "still here\n0\n");
}

#[test]
fn background_job() {
    if !enabled("background_job") {
        return;
    }
    let vm = shared();
    let job = vm.spawn("echo begin; sleep 2; echo end").expect("spawn");
    assert!(vm.job_running(&job).unwrap());
    std::thread::sleep(Duration::from_secs(3));
    assert!(!vm.job_running(&job).unwrap());
    assert_eq!(vm.job_output(&job).unwrap(), "begin\nend\n");
    let job = vm.spawn("sleep 1000").expect("spawn");
    vm.kill_job(&job).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!vm.job_running(&job).unwrap());
}

#[test]
fn ivshmem_host_guest_sharing() {
    if !enabled("ivshmem_host_guest_sharing") {
        return;
    }
    let vm = shared();
    let path = vm.ivshmem_path().expect("ivshmem file");
    assert_eq!(vm.ivshmem_size(), Some(1 << 20));
    assert_eq!(std::fs::metadata(path).unwrap().len(), 1 << 20);
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    f.write_all_at(&0x1234_5678u32.to_le_bytes(), 0x100)
        .unwrap();
    // Near the end of the 1 MiB, but not in the last 32 bytes of a page:
    // busybox devmem maps a second page when `offset + width-in-bits`
    // crosses the page end, and the page after BAR2 (the IOAPIC) is busy,
    // so /dev/mem refuses the mapping.
    f.write_all_at(&0xcafe_f00du32.to_le_bytes(), 0xf_ffe0)
        .unwrap();
    let bdf = vm.ivshmem_bdf().unwrap();
    let bar2 = format!("$(sed -n 3p /sys/bus/pci/devices/{bdf}/resource | cut -d' ' -f1)");
    // host -> guest
    let o = run(
        vm,
        &format!("b={bar2}; devmem $((b + 0x100)) 32; devmem $((b + 0xfffe0)) 32"),
    );
    assert_eq!(o.output, "0x12345678\n0xCAFEF00D\n", "{o:?}");
    // guest -> host
    run(
        vm,
        &format!("b={bar2}; devmem $((b + 0x200)) 32 0xa5a55a5a"),
    );
    let mut buf = [0u8; 4];
    f.read_exact_at(&mut buf, 0x200).unwrap();
    assert_eq!(u32::from_le_bytes(buf), 0xa5a5_5a5a);
}

#[test]
fn edu_interrupt_reaches_uio() {
    if !enabled("edu_interrupt_reaches_uio") {
        return;
    }
    let vm = shared();
    let edu = vm.edu_bdf().unwrap();
    // Raise (0x60), count, ack (0x64), unmask INTx (COMMAND bit 10) with
    // busybox tools only.
    let o = run(
        vm,
        &format!(
            "d=/sys/bus/pci/devices/{edu}; b=$(head -n1 $d/resource | cut -d' ' -f1)\n\
             u=$(ls $d/uio); before=$(cat /sys/class/uio/$u/event)\n\
             devmem $((b + 0x60)) 32 0x1; sleep 0.2\n\
             after=$(cat /sys/class/uio/$u/event)\n\
             echo \"status=$(devmem $((b + 0x24)) 32)\"\n\
             devmem $((b + 0x64)) 32 0x1\n\
             echo \"delta=$((after - before))\""
        ),
    );
    assert!(o.output.contains("status=0x00000001"), "{}", o.output);
    assert!(o.output.contains("delta=1"), "{}", o.output);
}

#[test]
fn qemu_abort_is_reported_and_cleaned_up() {
    if !enabled("qemu_abort_is_reported_and_cleaned_up") {
        return;
    }
    let vm = boot(VmConfig::default());
    let pid = vm.qemu_pid();
    let shm = vm.ivshmem_path().unwrap().to_path_buf();
    let dir = vm.work_dir().to_path_buf();
    assert!(shm.exists() && process_alive(pid));
    let edu = vm.edu_bdf().unwrap().to_string();
    // A 4096-byte RAM->edu DMA at 0x40000 trips QEMU 7.2's off-by-one range
    // check: hw_error() -> abort() about 100 ms after the command write.
    let script = format!(
        "b=$(head -n1 /sys/bus/pci/devices/{edu}/resource | cut -d' ' -f1)\n\
         devmem $((b + 0x80)) 32 0x100000\n\
         devmem $((b + 0x88)) 32 0x40000\n\
         devmem $((b + 0x90)) 32 4096\n\
         devmem $((b + 0x98)) 32 1\n\
         sleep 5; echo survived"
    );
    let err = vm.run(&script, T).expect_err("QEMU must abort");
    match &err {
        VmError::QemuCrashed {
            signal,
            hardware_error,
            stderr_tail,
            ..
        } => {
            assert_eq!(*signal, Some(6), "{err}");
            let hw = hardware_error.as_deref().unwrap_or_default();
            assert!(hw.contains("qemu: hardware error: EDU: DMA range"), "{err}");
            assert!(stderr_tail.contains("CPU #0") || !stderr_tail.is_empty());
        }
        other => panic!("expected QemuCrashed, got {other}"),
    }
    assert!(err.is_vm_dead());
    let msg = err.to_string();
    assert!(
        msg.contains("SIGABRT") && msg.contains("hardware error"),
        "{msg}"
    );
    assert!(!process_alive(pid), "QEMU {pid} still alive");
    // Later commands fail fast with NotRunning.
    assert!(matches!(vm.run("true", T), Err(VmError::NotRunning(_))));
    assert!(!vm.is_running());
    drop(vm);
    assert!(!shm.exists(), "{} left behind", shm.display());
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn kernel_panic_is_reported() {
    if !enabled("kernel_panic_is_reported") {
        return;
    }
    let vm = boot(VmConfig::default().ivshmem(false));
    assert!(vm.ivshmem_path().is_none());
    let pid = vm.qemu_pid();
    let err = vm
        .run("echo c > /proc/sysrq-trigger", T)
        .expect_err("guest must panic");
    match &err {
        VmError::KernelPanic { panic_line, .. } => {
            assert!(panic_line.contains("Kernel panic"), "{err}");
        }
        other => panic!("expected KernelPanic, got {other}"),
    }
    assert!(!process_alive(pid));
}

#[test]
fn unbound_devices_and_manual_binding() {
    if !enabled("unbound_devices_and_manual_binding") {
        return;
    }
    let vm = boot(VmConfig::default().bind_uio(false).ivshmem_size(4096));
    let edu = vm.edu_bdf().unwrap().to_string();
    let o = run(
        &vm,
        &format!("ls /sys/bus/pci/devices/{edu}/driver 2>&1; lsmod"),
    );
    assert!(o.output.contains("No such file"), "{}", o.output);
    assert!(o.output.contains("uio_pci_generic"), "{}", o.output);
    let o = run(
        &vm,
        &format!(
            "echo uio_pci_generic > /sys/bus/pci/devices/{edu}/driver_override && \
             echo {edu} > /sys/bus/pci/drivers_probe && \
             readlink /sys/bus/pci/devices/{edu}/driver"
        ),
    );
    assert!(o.output.trim().ends_with("uio_pci_generic"), "{}", o.output);
    assert_eq!(
        std::fs::metadata(vm.ivshmem_path().unwrap()).unwrap().len(),
        4096
    );
    vm.shutdown().expect("clean shutdown");
}

#[test]
fn bad_config_is_an_error() {
    if !enabled("bad_config_is_an_error") {
        return;
    }
    match Vm::boot(VmConfig::default().ivshmem_size(3 << 20)) {
        Err(VmError::Config(m)) => assert!(m.contains("power of two")),
        other => panic!("{other:?}"),
    }
    // QEMU refuses an unknown device: reported as QemuExited with its stderr.
    let _g = boot_lock();
    match Vm::boot(VmConfig::default().qemu_args(["-device", "no-such-device"])) {
        Err(VmError::QemuExited {
            exit_code,
            stderr_tail,
            ..
        }) => {
            assert_eq!(exit_code, Some(1));
            assert!(stderr_tail.contains("no-such-device"), "{stderr_tail}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn vfio_with_emulated_iommu() {
    if !enabled("vfio_with_emulated_iommu") {
        return;
    }
    let vm = boot(
        VmConfig::default()
            .vfio(true)
            .bind_uio(false)
            .ivshmem(false),
    );
    let edu = vm.edu_bdf().unwrap().to_string();
    let o = run(
        &vm,
        &format!(
            "dmesg | grep -q 'DMAR: IOMMU enabled' && echo iommu\n\
             echo vfio-pci > /sys/bus/pci/devices/{edu}/driver_override\n\
             echo {edu} > /sys/bus/pci/drivers_probe\n\
             readlink /sys/bus/pci/devices/{edu}/driver\n\
             ls /dev/vfio/vfio"
        ),
    );
    assert_eq!(o.status, 0, "{}", o.output);
    assert!(o.output.starts_with("iommu\n"), "{}", o.output);
    assert!(
        o.output.contains("/vfio-pci\n/dev/vfio/vfio"),
        "{}",
        o.output
    );
}

#[test]
fn many_quick_commands() {
    if !enabled("many_quick_commands") {
        return;
    }
    let vm = shared();
    // Regression: the agent once raced with its own watchdog's setsid() and
    // then waited for the watchdog to expire, reporting `true` as timed out.
    let start = std::time::Instant::now();
    for i in 0..100 {
        match vm.run(&format!("echo {i}"), Duration::from_secs(2)) {
            Ok(o) => assert_eq!(o.output, format!("{i}\n")),
            Err(e) => panic!("command {i}: {e}"),
        }
    }
    eprintln!("100 commands in {:?}", start.elapsed());
    let o = run(vm, "ps -o args | grep -c '^sleep' || true");
    assert_eq!(o.output, "1\n", "only this command's watchdog may be left");
}
