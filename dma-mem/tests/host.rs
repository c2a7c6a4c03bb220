//! DMA buffers from the real kernel: allocation, physical addresses as
//! root, the clear error without CAP_SYS_ADMIN (in a child process run as
//! uid 65534 when the tests run as root), the locked-memory limit and
//! hugepages. They pass as root and as an ordinary user, checking what
//! each should get.

use std::os::unix::process::CommandExt;
use std::process::Command;

use dma_mem::{DmaAllocator, DmaError, DmaMask, PagemapAllocator, HUGEPAGE_SIZE};

/// Whether this process may read frame numbers (CAP_SYS_ADMIN, bit 21 of
/// the effective capabilities).
fn has_cap_sys_admin() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    let status = std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .expect("CapEff line in /proc/self/status");
    let bits = u64::from_str_radix(eff.trim(), 16).expect("CapEff is hex");
    bits & (1 << CAP_SYS_ADMIN) != 0
}

#[test]
fn three_pages_have_page_aligned_device_addresses_covering_the_buffer() {
    let page = hal_core::page_size();
    let alloc = PagemapAllocator::new(DmaMask::ALL);
    let result = alloc.alloc(3 * page);
    if !has_cap_sys_admin() {
        let e = result.unwrap_err();
        assert!(matches!(e, DmaError::NeedsCapSysAdmin), "{e}");
        return;
    }
    let buf = result.unwrap();
    assert_eq!(buf.len(), 3 * page);
    let first = buf.device_addr(0, 1).unwrap();
    assert_ne!(first, 0);
    assert_eq!(first % page as u64, 0, "{first:#x}");
    // The segments cover the buffer in order, without gaps.
    let mut next = 0;
    for s in buf.segments() {
        assert_eq!(s.offset, next, "{:?}", buf.segments());
        assert!(s.len > 0 && s.device_addr != 0);
        assert_eq!(s.device_addr % page as u64, 0);
        next += s.len;
    }
    assert_eq!(next, buf.len());
    // Every page has its own frame.
    let mut pages: Vec<u64> = (0..3)
        .map(|i| buf.device_addr(i * page, page).unwrap())
        .collect();
    pages.sort_unstable();
    pages.dedup();
    assert_eq!(pages.len(), 3, "{pages:x?}");
    buf.verify().unwrap();
    buf.region().write_bytes(page - 3, b"dma!!!").unwrap();
    let mut back = [0u8; 6];
    buf.region().read_bytes(page - 3, &mut back).unwrap();
    assert_eq!(&back, b"dma!!!");
    println!("segments: {:x?}", buf.segments());
}

const CHILD: &str = "DMA_MEM_TEST_CHILD";
const CHILD_TEST: &str = "without_cap_sys_admin_the_error_says_so";

/// Runs in a child process without CAP_SYS_ADMIN (as uid 65534 when the
/// tests run as root): the allocation must fail with NeedsCapSysAdmin, and
/// with a locked-memory limit below the buffer, with Lock naming the limit.
#[test]
fn without_cap_sys_admin_the_error_says_so() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(&exe);
    cmd.args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1");
    if nix::unistd::geteuid().is_root() {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("child: checked"),
        "the child ({}) failed: {}\n{stdout}\n{stderr}",
        exe.display(),
        out.status
    );
    for line in stdout.lines().filter(|l| l.starts_with("child")) {
        println!("{line}");
    }
}

fn child() {
    assert!(
        !has_cap_sys_admin(),
        "the child still has CAP_SYS_ADMIN (uid {})",
        nix::unistd::getuid()
    );
    let page = hal_core::page_size();
    let alloc = PagemapAllocator::new(DmaMask::bits(28));
    let e = alloc.alloc(3 * page).unwrap_err();
    assert!(matches!(e, DmaError::NeedsCapSysAdmin), "{e}");
    assert!(e.to_string().contains("needs CAP_SYS_ADMIN"), "{e}");
    println!("child (uid {}): {e}", nix::unistd::getuid());

    // One page may be locked; three are asked for.
    use nix::sys::resource::{setrlimit, Resource};
    setrlimit(Resource::RLIMIT_MEMLOCK, page as u64, page as u64).unwrap();
    let e = alloc.alloc(3 * page).unwrap_err();
    match &e {
        DmaError::Lock { len, limit, .. } => {
            assert_eq!(*len, 3 * page);
            assert_eq!(*limit, Some(page as u64));
        }
        other => panic!("expected a Lock error, got {other}"),
    }
    let text = e.to_string();
    assert!(text.contains("RLIMIT_MEMLOCK"), "{text}");
    assert!(text.contains(&format!("{page} bytes")), "{text}");
    assert!(text.contains("ulimit -l"), "{text}");
    println!("child: {text}");
    println!("child: checked");
}

/// A 2 MiB hugepage is one contiguous segment where the kernel has one
/// free, and NoHugepages (saying how to reserve them) where it has none.
#[test]
fn hugepage_buffer_or_no_hugepages() {
    let free: u64 =
        std::fs::read_to_string("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
    let result = PagemapAllocator::new(DmaMask::ALL)
        .hugepages(true)
        .alloc(4096);
    match result {
        Err(DmaError::NoHugepages { len, reserved, .. }) if free == 0 => {
            assert_eq!(len, 4096);
            println!("no hugepages (reserved: {reserved:?})");
        }
        Err(DmaError::NeedsCapSysAdmin) if free > 0 && !has_cap_sys_admin() => {}
        Ok(buf) if free > 0 && has_cap_sys_admin() => {
            assert_eq!(buf.len(), 4096);
            assert_eq!(buf.segments().len(), 1);
            let addr = buf.device_addr(0, 4096).unwrap();
            assert_eq!(addr % HUGEPAGE_SIZE as u64, 0, "{addr:#x}");
        }
        other => panic!("{free} free hugepages, got {other:?}"),
    }
}

#[test]
fn an_error_message_for_no_hugepages_says_how_to_reserve_them() {
    if std::fs::read_to_string("/proc/sys/vm/nr_hugepages").is_ok_and(|s| s.trim() != "0") {
        return; // the kernel has hugepages; the other test allocates one
    }
    let e = PagemapAllocator::new(DmaMask::ALL)
        .hugepages(true)
        .alloc(HUGEPAGE_SIZE + 1)
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("echo N > /proc/sys/vm/nr_hugepages"),
        "{text}"
    );
    assert!(text.contains("hugepages=N"), "{text}");
}
