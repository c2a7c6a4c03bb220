//! Host tests: the driver over QEMU 7.2's edu model (`device_specs::models`),
//! with a fake interrupt line that follows the model's INTx.

use std::cell::Cell;
use std::time::Duration;

use device_specs::models::EduModel;
use dma_mem::{DmaBuffer, DmaMask, Segment};
use hal_core::fake::{DeviceModel, Logged, ModelIo, Op};
use hal_core::{Region, Width};

use crate::driver::{Edu, Options, Platform, Wait};
use crate::error::EduError;
use crate::guard::{check_device_range, Refusal, BUFFER_END, BUFFER_START, MAX_TRANSFER};

type Model = ModelIo<EduModel>;

/// uio_pci_generic's behaviour over the model: an interrupt is delivered
/// while the line is asserted and unmasked, and delivering it masks the
/// line until [`Interrupt::unmask`]. Waiting lets the model's time pass
/// (its factorial completes after some STATUS reads, made here directly
/// on the model so they are not in the access log).
#[derive(Debug)]
struct FakeIrq<'a> {
    io: &'a Model,
    masked: Cell<bool>,
    unmasks: Cell<u32>,
    delivered: Cell<u32>,
    dma_prepared: Cell<u32>,
}

impl<'a> FakeIrq<'a> {
    fn new(io: &'a Model) -> FakeIrq<'a> {
        FakeIrq {
            io,
            masked: Cell::new(true),
            unmasks: Cell::new(0),
            delivered: Cell::new(0),
            dma_prepared: Cell::new(0),
        }
    }
    fn pending(&self) -> bool {
        !self.masked.get() && self.io.model(|m| m.irq_line())
    }
}

impl Platform for FakeIrq<'_> {
    fn unmask_interrupt(&self) -> Result<(), EduError> {
        self.masked.set(false);
        self.unmasks.set(self.unmasks.get() + 1);
        Ok(())
    }
    fn wait_interrupt(&self, timeout: Duration) -> Result<(), EduError> {
        for _ in 0..100 {
            if self.pending() {
                self.masked.set(true);
                self.delivered.set(self.delivered.get() + 1);
                return Ok(());
            }
            self.io.model(|m| m.read(0x20, Width::W32));
        }
        Err(EduError::Timeout {
            what: "the fake interrupt".into(),
            device: "model".into(),
            waited: timeout,
            last: "line not asserted".into(),
        })
    }
    fn drain_interrupt(&self) -> Result<(), EduError> {
        if self.pending() {
            self.masked.set(true);
        }
        Ok(())
    }
    fn prepare_dma(&self) -> Result<(), EduError> {
        self.dma_prepared.set(self.dma_prepared.get() + 1);
        Ok(())
    }
}

fn options() -> Options {
    Options {
        timeout: Duration::from_millis(200),
        dma_poll_interval: Duration::ZERO,
        ..Options::default()
    }
}

fn open<'a>(io: &'a Model, irq: FakeIrq<'a>) -> Edu<&'a Model, FakeIrq<'a>> {
    match Edu::new(io, irq, options(), "model") {
        Ok(e) => e,
        Err(e) => panic!("opening the model: {e}"),
    }
}

fn writes(log: &[Logged]) -> Vec<(usize, u64)> {
    log.iter()
        .filter(|l| l.op == Op::Write)
        .map(|l| (l.offset, l.value))
        .collect()
}

/// A buffer of `pages` pages whose device addresses are `addrs` (one per
/// page), over anonymous memory.
fn buffer(addrs: &[u64], mask: DmaMask) -> DmaBuffer {
    let page = 4096;
    let region = Region::anonymous(page * addrs.len()).expect("anonymous memory");
    let segments = addrs
        .iter()
        .enumerate()
        .map(|(i, &device_addr)| Segment {
            offset: i * page,
            len: page,
            device_addr,
        })
        .collect();
    DmaBuffer::from_parts(region, segments, mask).expect("valid segments")
}

#[test]
fn open_acknowledges_stale_interrupts_and_unmasks() {
    let io = ModelIo::with(EduModel::new());
    io.model(|m| m.write(0x60, Width::W32, 0x101));
    let irq = FakeIrq::new(&io);
    let edu = open(&io, irq);
    assert!(writes(&io.log()).contains(&(0x64, 0x101)), "{:?}", io.log());
    assert!(!io.model(|m| m.irq_line()));
    assert_eq!(
        edu.identify().map(|i| (i.major, i.minor)).ok(),
        Some((1, 0))
    );
}

#[test]
fn a_device_with_another_id_is_not_an_edu() {
    let io = hal_core::fake::FakeIo::new(0x10_0000);
    io.model(|m| m.write(0, Width::W32, 0x1234_5678));
    let irq_io = ModelIo::with(EduModel::new());
    let e = Edu::new(&io, FakeIrq::new(&irq_io), options(), "0000:00:05.0 (uio1)")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        e,
        "not an edu device: ID reads 0x12345678 at 0000:00:05.0 (uio1) (an edu reads 0x010000ed: major 1, magic 0xed); check the PCI address, or the device is not QEMU's edu"
    );
    // Nothing but the ID read happened.
    assert_eq!(io.log().len(), 1);
}

#[test]
fn a_register_that_does_not_invert_fails_the_liveness_check() {
    let io = hal_core::fake::FakeIo::new(0x10_0000);
    io.model(|m| m.write(0, Width::W32, 0x0100_00ed));
    let irq_io = ModelIo::with(EduModel::new());
    match Edu::new(&io, FakeIrq::new(&irq_io), options(), "dev") {
        Err(EduError::LivenessFailed { wrote, read, .. }) => assert_eq!(wrote, read),
        other => panic!("expected LivenessFailed, got {other:?}"),
    }
}

#[test]
fn factorial_polled_and_by_interrupt() {
    let io = ModelIo::with(EduModel::new());
    let irq = FakeIrq::new(&io);
    let edu = open(&io, irq);
    for (n, want) in [(0, 1), (5, 120), (10, 3_628_800), (13, 1_932_053_504)] {
        assert_eq!(edu.factorial(n, Wait::Poll).ok(), Some(want), "{n}! polled");
    }
    io.clear_log();
    assert_eq!(edu.factorial(10, Wait::Interrupt).ok(), Some(3_628_800));
    let w = writes(&io.log());
    // IRQFACT before FACTORIAL, the ack of exactly the factorial bit,
    // IRQFACT off again.
    let pos = |x: (usize, u64)| w.iter().position(|&y| y == x);
    let irqfact = pos((0x20, 0x80)).expect("IRQFACT set");
    let start = pos((0x08, 10)).expect("FACTORIAL written");
    let ack = pos((0x64, 0x1)).expect("acknowledged");
    let off = pos((0x20, 0x0)).expect("IRQFACT cleared");
    assert!(irqfact < start && start < ack && ack < off, "{w:x?}");
    assert_eq!(edu_irq(&edu).delivered.get(), 1);
    // Unmasked at open, then after the interrupt.
    assert_eq!(edu_irq(&edu).unmasks.get(), 2);
    assert!(!io.model(|m| m.irq_line()));
}

fn edu_irq<'e, 'a>(edu: &'e Edu<&'a Model, FakeIrq<'a>>) -> &'e FakeIrq<'a> {
    edu.platform()
}

#[test]
fn a_factorial_interrupt_that_never_comes_times_out_and_leaves_irqfact_off() {
    let io = ModelIo::with(EduModel::new());
    // The worker never finishes within the fake's patience.
    io.model(|m| m.factorial_polls = 1_000_000);
    let edu = open(&io, FakeIrq::new(&io));
    let e = edu.factorial(3, Wait::Interrupt).err();
    assert!(e.as_ref().is_some_and(EduError::is_timeout), "{e:?}");
    let msg = e.map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("the interrupt of a factorial"), "{msg}");
    let last = writes(&io.log()).last().copied();
    assert!(
        last.is_some_and(|(off, v)| off == 0x20 && v & 0x80 == 0),
        "the last write should turn IRQFACT off: {last:x?}"
    );
}

#[test]
fn dma_legs_program_the_registers_and_acknowledge_the_interrupt() {
    let io = ModelIo::with(EduModel::new());
    let edu = open(&io, FakeIrq::new(&io));
    let buf = buffer(&[0x0012_3000], DmaMask::bits(28));
    for (wait, irq_bit) in [(Wait::Poll, 0u64), (Wait::Interrupt, 0x4)] {
        io.clear_log();
        edu.copy_to_device(&buf, 0x10, 100, BUFFER_START + 8, wait)
            .expect("to device");
        edu.copy_to_ram(BUFFER_START + 8, &buf, 0x200, 100, wait)
            .expect("to RAM");
        let w: Vec<(usize, u64)> = writes(&io.log())
            .into_iter()
            .filter(|(off, _)| *off >= 0x64)
            .collect();
        let mut want = vec![
            (0x80, 0x0012_3010),
            (0x88, BUFFER_START + 8),
            (0x90, 100),
            (0x98, 0x1 | irq_bit),
        ];
        if wait == Wait::Interrupt {
            want.push((0x64, 0x100));
        }
        want.extend([
            (0x80, BUFFER_START + 8),
            (0x88, 0x0012_3200),
            (0x90, 100),
            (0x98, 0x3 | irq_bit),
        ]);
        if wait == Wait::Interrupt {
            want.push((0x64, 0x100));
        }
        assert_eq!(w, want, "{wait}");
        assert!(io.model(|m| m.fatal.is_none()));
    }
    // Bus Master was checked before each of the four legs.
    assert_eq!(edu.platform().dma_prepared.get(), 4);
}

/// Every refused request: the error, and no access at all on the device.
#[test]
fn every_guard_refuses_before_the_device_sees_anything() {
    let io = ModelIo::with(EduModel::new());
    let edu = open(&io, FakeIrq::new(&io));
    let low = buffer(&[0x0010_0000, 0x0030_0000], DmaMask::bits(28));
    let high = buffer(&[0x1000_0000], DmaMask::ALL);
    let straddling = buffer(&[0x0fff_f000, 0x1000_0000], DmaMask::ALL);
    type Case<'b> = (&'b str, &'b DmaBuffer, usize, usize, u64, Refusal);
    let cases: Vec<Case<'_>> = vec![
        ("count 0", &low, 0, 0, BUFFER_START, Refusal::ZeroLength),
        (
            "the whole 4 KiB buffer",
            &low,
            0,
            4096,
            BUFFER_START,
            Refusal::ReachesBufferEnd {
                addr: BUFFER_START,
                len: 4096,
            },
        ),
        (
            "the last byte",
            &low,
            0,
            1,
            BUFFER_END - 1,
            Refusal::ReachesBufferEnd {
                addr: BUFFER_END - 1,
                len: 1,
            },
        ),
        (
            "below the buffer",
            &low,
            0,
            16,
            BUFFER_START - 1,
            Refusal::DeviceAddress {
                addr: BUFFER_START - 1,
            },
        ),
        (
            "past the buffer",
            &low,
            0,
            16,
            BUFFER_END,
            Refusal::DeviceAddress { addr: BUFFER_END },
        ),
        (
            "RAM above the 28-bit mask",
            &high,
            0,
            16,
            BUFFER_START,
            Refusal::AboveMask {
                addr: 0x1000_0000,
                len: 16,
                mask: DmaMask::bits(28),
            },
        ),
        (
            "RAM whose last byte is above the mask",
            &straddling,
            0xff0,
            0x20,
            BUFFER_START,
            Refusal::AboveMask {
                addr: 0x0fff_fff0,
                len: 0x20,
                mask: DmaMask::bits(28),
            },
        ),
        (
            "RAM over two discontiguous pages",
            &low,
            4000,
            200,
            BUFFER_START,
            Refusal::Discontiguous {
                offset: 4000,
                len: 200,
            },
        ),
        (
            "RAM past the buffer",
            &low,
            8000,
            400,
            BUFFER_START,
            Refusal::OutsideBuffer {
                offset: 8000,
                len: 400,
                buffer_len: 8192,
            },
        ),
    ];
    let prepared = edu.platform().dma_prepared.get();
    for (what, buf, offset, len, dev, want) in &cases {
        for wait in [Wait::Poll, Wait::Interrupt] {
            io.clear_log();
            let to_dev = edu.copy_to_device(buf, *offset, *len, *dev, wait);
            let to_ram = edu.copy_to_ram(*dev, buf, *offset, *len, wait);
            for (dir, got) in [("to device", to_dev), ("to RAM", to_ram)] {
                match got {
                    Err(EduError::Refused(r)) => assert_eq!(&r, want, "{what} {dir}"),
                    other => panic!("{what} {dir}: expected {want:?}, got {other:?}"),
                }
            }
            assert_eq!(io.log(), vec![], "{what}: the device saw accesses");
        }
    }
    assert_eq!(
        edu.platform().dma_prepared.get(),
        prepared,
        "Bus Master touched"
    );
    // The same driver then does a transfer the guards accept, which the
    // device does see: the empty logs above are not for lack of trying.
    io.clear_log();
    edu.copy_to_device(&low, 0, MAX_TRANSFER, BUFFER_START, Wait::Poll)
        .expect("the largest transfer QEMU 7.2 accepts");
    assert!(writes(&io.log()).contains(&(0x90, MAX_TRANSFER as u64)));
    assert!(io.model(|m| m.fatal.is_none()));
}

/// The guard and QEMU 7.2's own range check (in the model) agree on every
/// device-side range around the buffer's edges: what the guard accepts
/// never aborts, what it refuses would have.
#[test]
fn the_device_side_guard_is_exactly_qemus_abort_condition() {
    let addrs = [
        0,
        BUFFER_START - 1,
        BUFFER_START,
        BUFFER_START + 1,
        BUFFER_START + 0x800,
        BUFFER_END - 2,
        BUFFER_END - 1,
        BUFFER_END,
        u64::MAX,
    ];
    let lens = [0usize, 1, 2, 0x800, 4094, 4095, 4096, 4097];
    for &addr in &addrs {
        for &len in &lens {
            let mut model = EduModel::new();
            model.write(0x80, Width::W64, 0x1000);
            model.write(0x88, Width::W64, addr);
            model.write(0x90, Width::W64, len as u64);
            model.write(0x98, Width::W64, 0x1);
            let aborts = model.fatal.is_some();
            let refused = check_device_range(addr, len).is_err();
            assert_eq!(
                refused, aborts,
                "{len} bytes at {addr:#x}: guard refuses {refused}, QEMU aborts {aborts}"
            );
        }
    }
}

/// edu whose DMA engine never finishes (DMA_CMD always reads RUN).
#[derive(Debug)]
struct StuckDma(EduModel);

impl DeviceModel for StuckDma {
    fn size(&self) -> usize {
        self.0.size()
    }
    fn read(&mut self, offset: usize, width: Width) -> u64 {
        match offset {
            0x98 => 0x1,
            _ => self.0.read(offset, width),
        }
    }
    fn write(&mut self, offset: usize, width: Width, value: u64) {
        self.0.write(offset, width, value)
    }
}

#[test]
fn a_dma_that_never_ends_is_reported_not_overwritten() {
    let io = ModelIo::with(StuckDma(EduModel::new()));
    let irq_io = ModelIo::with(EduModel::new());
    match Edu::new(&io, FakeIrq::new(&irq_io), options(), "dev") {
        Err(e @ EduError::DmaBusy { .. }) => {
            assert!(e.to_string().contains("DMA_CMD 0x1"), "{e}");
        }
        other => panic!("expected DmaBusy, got {other:?}"),
    }
    // No DMA register was written.
    assert!(writes(&io.log()).iter().all(|(off, _)| *off < 0x80));
}

/// VFIO allows one open of a group: EBUSY on the group node is the
/// driver's InUse (naming the node); other open failures stay VFIO errors
/// with their hint; a VFIO interrupt timeout is a timeout for the driver.
#[test]
fn vfio_busy_group_is_in_use_and_vfio_timeout_is_a_timeout() {
    use nix::errno::Errno;
    use vfio_backend::{IrqKind, VfioError};
    let address: pci_sysfs::PciAddress = "0000:00:01.0".parse().unwrap();
    let open = |errno| VfioError::Open {
        device: address.to_string(),
        path: "/dev/vfio/1".into(),
        errno,
        hint: "chown it".into(),
    };
    let busy = crate::vfio::in_use(address, open(Errno::EBUSY));
    assert!(busy.is_in_use(), "{busy}");
    assert!(busy.to_string().contains("/dev/vfio/1"), "{busy}");
    let denied = crate::vfio::in_use(address, open(Errno::EACCES));
    assert!(!denied.is_in_use());
    assert!(denied.to_string().contains("chown it"), "{denied}");
    let timeout = EduError::from(VfioError::Timeout {
        device: address.to_string(),
        kind: IrqKind::Msi,
        vector: 0,
        timeout: Duration::from_millis(5),
    });
    assert!(timeout.is_timeout(), "{timeout}");
}

#[test]
fn a_wrong_pci_id_names_the_driver_of_the_path_in_use() {
    use pci_sysfs::{PciId, UIO_PCI_GENERIC};
    let address = "0000:00:05.0".parse().expect("a valid address");
    let message = |driver| {
        EduError::WrongPciId {
            address,
            driver,
            id: PciId::new(0x1af4, 0x1110),
            edu: PciId::new(0x1234, 0x11e8),
        }
        .to_string()
    };
    let uio = message(UIO_PCI_GENERIC);
    assert!(
        uio.ends_with("the only edu bound to uio_pci_generic"),
        "{uio}"
    );
    let vfio = message(crate::VFIO_PCI);
    assert!(vfio.ends_with("the only edu bound to vfio-pci"), "{vfio}");
    assert!(!vfio.contains("uio"), "{vfio}");
}
