//! Runs inside the test VM: each subcommand is one test case or benchmark
//! against the real edu and ivshmem devices. Exit status 0 means it passed.

use std::process::ExitCode;
use std::time::Duration;

use vm_tests::guest::{self, Backend};
use vm_tests::{bench, driver_cases};

const USAGE: &str = "usage: vm-guest CASE [ARGS]

cases:
  edu-basics uio|sysfs|devmem         identification, liveness, factorial
  edu-irq N                           N interrupts raised, waited for, acknowledged
  edu-irq-timeout MILLIS              a wait with nothing raised times out
  edu-async-irq N                     N factorials by interrupt, awaited in tokio
  ivshmem-uio-no-irq                  ivshmem registers over UIO; irq wait refused
  ivshmem-exchange uio|sysfs|devmem SEED REPLY OFFSET LEN
                                      check the host's bytes, write a reply
  uio-list                            UIO devices with their maps (sysfs scan)
  uio-list-udev                       the same through libudev (`udev` feature)
  pci-helpers                         config space, Bus Master, rebinding
  edu-dma-abort                       start the DMA that aborts QEMU 7.2
  edu-driver-factorial poll|irq       factorials through the edu driver
  edu-driver-dma poll|irq             DMA round trips through the edu driver
  edu-driver-guards                   every DMA guard refuses; then a DMA works
  edu-driver-second-instance EDU_BIN  a second driver instance is refused
  dma-pagemap                         DMA buffer addresses as root, then the
                                      error as uid 65534 (dma-pagemap-unprivileged)
  dma-hugepage                        a DMA buffer in a 2 MiB hugepage is one segment
  ivshmem-position [--vfio]           print IV_POSITION (this VM's peer ID)
  ivshmem-ring PEER                   print IV_POSITION; ring PEER's vector 0 (doorbell)
  ring-peer --guest|--vfio|--socket PATH [--timeout SECS] [--send SLOT:COUNT[:PEER]]...
            [--recv SLOT:COUNT[:PEER]]... [--progress N]
                                      exchange checked messages over shm-ring
                                      rings in ivshmem's shared memory (the
                                      guest through BAR2, a host process as an
                                      ivshmem client), ringing PEER's vector 0
                                      after sends and vector 1 after draining;
                                      --vfio: (VFIO VM) ivshmem bound to vfio-pci,
                                      sleeping on MSI-X when a ring is empty
                                      (vector 0) or full (vector 1)
  ring-bench send|recv|copy SLOT N SIZE
                                      ring throughput in BAR2 (fixed-size messages;
                                      copy: plain copies, the limit)
  ring-echo poll|doorbell HOST N      (VFIO VM) echo N messages from ring 0 into ring 1 (latency
                                      ping-pong with HOST; doorbell: sleep on MSI-X, ring HOST)
  vfio-ivshmem-vectors HOST N         (VFIO VM) ivshmem-doorbell MSI-X: N doorbells from HOST,
                                      each on its vector's own eventfd; rings HOST back
  vfio-edu-msi N                      (VFIO VM) edu bound to vfio-pci: registers, N factorials by MSI
  vfio-edu-intx N                     (VFIO VM) N interrupts over INTx: wait, ack, unmask
  vfio-edu-unprivileged               (VFIO VM) uid 65534 refused, then allowed after chown
                                      (runs vfio-edu-open-as-user as that user)
  vfio-group-member                   (VFIO VM) the udev rules' grant on /dev/vfio/N: a group
                                      member uses edu, a non-member is refused
  vfio-grant-edu                      (VFIO VM) bind edu to vfio-pci and give /dev/vfio/N the
                                      udev rules' grant, left in place (the demo)
  as-member CMD [ARGS]                run CMD as uid 65534 with the rules' group (gid 990) only
  as-outsider CMD [ARGS]              run CMD as uid 65533 without groups
  uio-group-member [REGPOKE]          the udev rules' grants on /dev/uioN and sysfs: a group
                                      member runs regpoke (registers, an interrupt), DMA
                                      refused; a non-member is refused
  vfio-edu-dma                        (VFIO VM) edu DMA RAM -> device -> RAM through IOVAs
  vfio-edu-unmapped                   (VFIO VM) edu DMA to unmapped IOVAs faults; RAM unchanged
  vfio-edu-dropped                    (VFIO VM) a dropped buffer's IOVA: reached before, faults after
  vfio-iova-ranges                    (VFIO VM) the IOVA ranges and page sizes the IOMMU reports
  vfio-edu-driver                     (VFIO VM) the edu driver over VFIO as uid 65534 after chown
                                      (runs vfio-edu-driver-as-user as that user)
  vfio-regpoke                        (VFIO VM) regpoke by name over VFIO: ID, factorial, MSI wait
  vfio-regpoke-intx                   (VFIO VM) regpoke --irq-kind intx on edu: two interrupts, unmask
  vfio-regpoke-doorbell               (VFIO VM with ivshmem-doorbell) regpoke irq wait --vector 1
  edu-trace                           the edu session recorded; prints its trace
  bench-read ITERS ROUNDS             typed vs raw MMIO reads
  bench-irq N ROUNDS                  uio-backend vs raw interrupt round trips
  bench-trace ITERS ROUNDS            reads through an io-trace Recorder vs direct
  bench-copy LEN ROUNDS               bulk copy into/out of ivshmem BAR2: wide vs bytes vs raw u64
  bench-regpoke REGPOKE SINGLE BATCH  regpoke vs busybox devmem start-up and batch
  bench-dma N                         edu driver DMA round trips, polled vs interrupt
  bench-vfio-uio IRQ_N READ_ITERS ROUNDS DMA_ROUNDS
                                      (VFIO VM with two edu) edu #1 over VFIO vs edu #2 over UIO, interleaved
  bench-vfio-uio-one-edu              bench-vfio-uio refuses with one edu, binding nothing";

fn num<T: std::str::FromStr>(args: &[String], i: usize) -> Result<T, String> {
    let s = args
        .get(i)
        .ok_or_else(|| format!("missing argument {i}\n{USAGE}"))?;
    s.parse()
        .map_err(|_| format!("argument {i} `{s}` is not a number"))
}

fn backend(args: &[String], i: usize) -> Result<Backend, String> {
    Backend::parse(args.get(i).map(String::as_str).unwrap_or(""))
}

fn wait(args: &[String], i: usize) -> Result<edu_driver::Wait, String> {
    driver_cases::parse_wait(args.get(i).map(String::as_str).unwrap_or(""))
}

fn run(args: &[String]) -> Result<String, String> {
    match args.first().map(String::as_str) {
        Some("edu-basics") => guest::edu_basics(backend(args, 1)?),
        Some("edu-irq") => guest::edu_irq(num(args, 1)?),
        Some("edu-irq-timeout") => guest::edu_irq_timeout(Duration::from_millis(num(args, 1)?)),
        Some("edu-async-irq") => guest::edu_async_irq(num(args, 1)?),
        Some("ivshmem-uio-no-irq") => guest::ivshmem_uio_no_irq(),
        Some("ivshmem-exchange") => guest::ivshmem_exchange(
            backend(args, 1)?,
            num(args, 2)?,
            num(args, 3)?,
            num(args, 4)?,
            num(args, 5)?,
        ),
        Some("uio-list") => guest::uio_list(),
        #[cfg(feature = "udev")]
        Some("uio-list-udev") => guest::uio_list_udev(),
        Some("pci-helpers") => guest::pci_helpers(),
        Some("edu-dma-abort") => guest::edu_dma_abort(),
        Some("edu-driver-factorial") => driver_cases::factorial(wait(args, 1)?),
        Some("edu-driver-dma") => driver_cases::dma_round_trip(wait(args, 1)?),
        Some("edu-driver-guards") => driver_cases::guards(),
        Some("edu-driver-second-instance") => {
            driver_cases::second_instance(args.get(1).map(String::as_str).unwrap_or("/bin/edu"))
        }
        Some("dma-pagemap") => guest::dma_pagemap(),
        Some("dma-hugepage") => guest::dma_hugepage(),
        Some("dma-pagemap-unprivileged") => guest::dma_pagemap_unprivileged(),
        Some("ivshmem-position") if args.get(1).is_some_and(|a| a == "--vfio") => {
            vm_tests::ivshmem_vfio::open_guest_device().map(|d| d.id().to_string())
        }
        Some("ivshmem-position") => vm_tests::ivshmem_ring::guest_position(),
        Some("ring-echo") => vm_tests::ring_latency::guest_echo(
            vm_tests::ring_latency::Mode::parse(args.get(1).map(String::as_str).unwrap_or(""))?,
            num(args, 2)?,
            num(args, 3)?,
        ),
        Some("vfio-ivshmem-vectors") => {
            vm_tests::ivshmem_vfio::guest_vectors(num(args, 1)?, num(args, 2)?)
        }
        Some("ivshmem-ring") => vm_tests::ivshmem_ring::guest_ring(num(args, 1)?),
        Some("ring-peer") => vm_tests::ivshmem_ring::ring_peer_command(&args[1..]),
        Some("ring-bench") => vm_tests::ring_bench::guest_command(&args[1..]),
        Some("vfio-edu-msi") => guest::vfio::edu_msi(num(args, 1)?),
        Some("vfio-edu-intx") => guest::vfio::edu_intx(num(args, 1)?),
        Some("vfio-edu-unprivileged") => guest::vfio::edu_unprivileged(),
        Some("vfio-edu-open-as-user") => guest::vfio::edu_open_as_user(),
        Some("vfio-group-member") => guest::permissions::vfio_group_member(),
        Some("vfio-grant-edu") => guest::permissions::vfio_grant_edu(),
        Some("as-member") => {
            guest::permissions::exec_as(guest::permissions::Who::Member, &args[1..])
        }
        Some("as-outsider") => {
            guest::permissions::exec_as(guest::permissions::Who::Outsider, &args[1..])
        }
        Some("uio-group-member") => guest::permissions::uio_group_member(
            args.get(1).map(String::as_str).unwrap_or("/bin/regpoke"),
        ),
        Some("vfio-edu-dma") => guest::vfio::edu_dma_round_trip(),
        Some("vfio-edu-unmapped") => guest::vfio::edu_unmapped_iova(),
        Some("vfio-edu-dropped") => guest::vfio_iova::edu_dropped_buffer(),
        Some("vfio-iova-ranges") => guest::vfio_iova::iova_ranges(),
        Some("vfio-edu-driver") => guest::vfio_driver::edu_driver_vfio(),
        Some("vfio-edu-driver-as-user") => guest::vfio_driver::edu_driver_as_user(),
        Some("vfio-regpoke") => guest::vfio_regpoke::regpoke_vfio(),
        Some("vfio-regpoke-intx") => guest::vfio_regpoke::regpoke_intx_forced(),
        Some("vfio-regpoke-doorbell") => guest::vfio_regpoke::regpoke_doorbell(),
        Some("edu-trace") => vm_tests::session::edu_trace(),
        Some("bench-read") => bench::read(num(args, 1)?, num(args, 2)?),
        Some("bench-irq") => bench::irq(num(args, 1)?, num(args, 2)?),
        Some("bench-trace") => bench::trace(num(args, 1)?, num(args, 2)?),
        Some("bench-copy") => bench::copy(num(args, 1)?, num(args, 2)?),
        Some("bench-regpoke") => bench::regpoke(
            args.get(1).map(String::as_str).unwrap_or("/bin/regpoke"),
            num(args, 2)?,
            num(args, 3)?,
        ),
        Some("bench-dma") => bench::dma(num(args, 1)?),
        Some("bench-vfio-uio-one-edu") => bench::vfio_uio::refuses_one_edu(),
        Some("bench-vfio-uio") => {
            bench::vfio_uio::compare(num(args, 1)?, num(args, 2)?, num(args, 3)?, num(args, 4)?)
        }
        Some("-h" | "--help") => Ok(USAGE.to_string()),
        Some(other) => Err(format!("unknown case `{other}`\n{USAGE}")),
        None => Err(USAGE.to_string()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
