//! The register-level driver, over any [`Io`] and any [`Platform`].

use std::fmt;
use std::time::{Duration, Instant};

use device_specs::edu::{
    self,
    regs::{DMA_CMD, ID, IRQ_STATUS, STATUS},
};
use dma_mem::{DmaAllocator, DmaBuffer, DmaError, DmaMask};
use hal_core::order::{after_completion, before_doorbell};
use hal_core::poll::poll_timeout;
use hal_core::prelude::*;
use hal_core::Io;

use crate::error::EduError;
use crate::guard::{self, check_device_range, check_transfer, Direction, Refusal, BUFFER_START};

/// How the driver learns that the device has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wait {
    /// Read the status register until it says done (STATUS.COMPUTING for a
    /// factorial, DMA_CMD.RUN for a DMA), with a timeout.
    Poll,
    /// Ask the device for an interrupt (STATUS.IRQFACT, DMA_CMD.IRQ), sleep
    /// until it arrives (with a timeout), acknowledge it and unmask again.
    Interrupt,
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Wait::Poll => "polled",
            Wait::Interrupt => "interrupt",
        })
    }
}

/// What the driver needs around the device's registers: its interrupt
/// line, and permission to master the bus for DMA.
///
/// [`UioPlatform`](crate::UioPlatform) implements it for the real device
/// (the UIO interrupt and PCI config space); host tests use a fake over a
/// device model.
pub trait Platform {
    /// Unmasks the interrupt (after the device has been acknowledged).
    fn unmask_interrupt(&self) -> Result<(), EduError>;
    /// Waits up to `timeout` for one interrupt; a timeout is an error for
    /// which [`EduError::is_timeout`] holds.
    fn wait_interrupt(&self, timeout: Duration) -> Result<(), EduError>;
    /// Consumes an interrupt already signalled, without waiting.
    fn drain_interrupt(&self) -> Result<(), EduError>;
    /// Makes sure the device may start DMA now (PCI Bus Master on), just
    /// before a transfer is programmed.
    fn prepare_dma(&self) -> Result<(), EduError>;
}

/// How the driver behaves: the device's DMA mask and how long it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The device's DMA mask: RAM above it is refused
    /// ([`Refusal::AboveMask`]) and the driver's buffers are allocated
    /// below it. edu's is 28 bits unless QEMU was started with
    /// `-device edu,dma_mask=…`.
    pub dma_mask: DmaMask,
    /// The longest wait for a factorial, a DMA leg or an interrupt.
    pub timeout: Duration,
    /// How long to sleep between two reads of DMA_CMD when polling a DMA
    /// (a DMA takes about 100 ms of QEMU's virtual clock). A factorial is
    /// polled without sleeping: it takes microseconds.
    pub dma_poll_interval: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            dma_mask: DmaMask::bits(guard::DEFAULT_MASK_BITS),
            timeout: Duration::from_secs(5),
            dma_poll_interval: Duration::from_micros(100),
        }
    }
}

/// What the identification register says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// The ID register as read (`0x010000ed` for QEMU 7.2).
    pub raw: u32,
    /// Major version (ID bits 31:24).
    pub major: u8,
    /// Minor version (ID bits 23:16).
    pub minor: u8,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "edu {}.{} (ID {:#010x})",
            self.major, self.minor, self.raw
        )
    }
}

/// Where the time of one DMA leg went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LegTiming {
    /// From the first register access to completion seen (guards excluded).
    pub total: Duration,
    /// The part spent waiting for the device: polling DMA_CMD, or asleep
    /// until the interrupt. `total - waiting` is the driver's own work
    /// (acknowledging and unmasking the interrupt included).
    pub waiting: Duration,
}

impl LegTiming {
    /// The time outside the wait: programming the registers, the ordering
    /// fences, acknowledging the interrupt.
    pub fn overhead(&self) -> Duration {
        self.total.saturating_sub(self.waiting)
    }
}

/// The outcome of [`Edu::dma_round_trip_with`]: the data came back intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundTrip {
    /// Bytes sent and compared.
    pub len: usize,
    /// How completion was detected.
    pub wait: Wait,
    /// RAM → device buffer.
    pub to_device: LegTiming,
    /// Device buffer → the other RAM page.
    pub to_ram: LegTiming,
    /// The whole round trip, buffer setup and comparison included.
    pub total: Duration,
}

impl fmt::Display for RoundTrip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes RAM -> edu -> RAM ({}) intact: legs {:.1} ms + {:.1} ms (driver overhead {:.1} µs + {:.1} µs)",
            self.len,
            self.wait,
            self.to_device.total.as_secs_f64() * 1e3,
            self.to_ram.total.as_secs_f64() * 1e3,
            self.to_device.overhead().as_secs_f64() * 1e6,
            self.to_ram.overhead().as_secs_f64() * 1e6,
        )
    }
}

/// The edu driver over a register backend `I` and a [`Platform`] `P`.
///
/// [`EduDevice`](crate::EduDevice) is this over a UIO mapping and the UIO
/// interrupt, with the device found, locked and Bus Master on; host tests
/// build it over `hal_core::fake::ModelIo<EduModel>`.
///
/// Only the generated register block (`device_specs::edu`) touches the
/// device; every wait is `hal_core::poll::poll_timeout` or the interrupt;
/// every DMA is ordered with `hal_core::order`.
#[derive(Debug)]
pub struct Edu<I: Io, P: Platform> {
    io: I,
    platform: P,
    options: Options,
    name: String,
}

impl<I: Io, P: Platform> Edu<I, P> {
    /// Takes over the device behind `io`: checks its identification and
    /// liveness, then brings it to a known state (stale interrupt bits
    /// acknowledged, IRQFACT off, no DMA running) and unmasks the interrupt.
    ///
    /// `name` says which device this is in messages (`0000:00:04.0 (uio0)`).
    pub fn new(
        io: I,
        platform: P,
        options: Options,
        name: impl Into<String>,
    ) -> Result<Self, EduError> {
        let edu = Edu {
            io,
            platform,
            options,
            name: name.into(),
        };
        edu.identify()?;
        edu.check_liveness()?;
        edu.quiesce()?;
        Ok(edu)
    }

    /// The generated register block over the backend.
    pub fn regs(&self) -> Result<edu::Regs<'_, I>, EduError> {
        edu::Regs::new(&self.io).map_err(|error| EduError::Block { error })
    }

    /// The register backend.
    pub fn io(&self) -> &I {
        &self.io
    }

    /// The platform (interrupt line, bus mastering).
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// The options the driver was opened with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The device's DMA mask, as the driver was told.
    pub fn dma_mask(&self) -> DmaMask {
        self.options.dma_mask
    }

    /// The device's name in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads the identification register; an error unless it is an edu's
    /// (magic 0xed, major version 1).
    pub fn identify(&self) -> Result<Identity, EduError> {
        let id = self.regs()?.id().extract();
        if id.read(ID::MAGIC) != 0xed || id.read(ID::MAJOR) != 1 {
            return Err(EduError::NotEdu {
                device: self.name.clone(),
                id: id.get(),
            });
        }
        Ok(Identity {
            raw: id.get(),
            major: id.read(ID::MAJOR) as u8,
            minor: id.read(ID::MINOR) as u8,
        })
    }

    /// Writes a value to LIVENESS and checks that it reads back inverted.
    pub fn check_liveness(&self) -> Result<(), EduError> {
        let regs = self.regs()?;
        // A value that changes from call to call, so a register that
        // merely holds an earlier inverse cannot pass by chance.
        let wrote = liveness_probe();
        regs.liveness().set(wrote);
        let read = regs.liveness().get();
        if read != !wrote {
            return Err(EduError::LivenessFailed {
                device: self.name.clone(),
                wrote,
                read,
            });
        }
        Ok(())
    }

    /// Acknowledges stale interrupt bits (edu has no reset handler: they
    /// survive a guest reboot and a killed driver), turns IRQFACT off,
    /// lets a running DMA finish, then unmasks the interrupt and consumes
    /// any event already signalled.
    fn quiesce(&self) -> Result<(), EduError> {
        let regs = self.regs()?;
        self.wait_dma_idle(&regs)?;
        self.wait_factorial_idle(&regs)?;
        let stale = regs.irq_status().get();
        if stale != 0 {
            regs.irq_ack().set(stale);
        }
        regs.status().modify(STATUS::IRQFACT::CLEAR);
        self.platform.unmask_interrupt()?;
        self.platform.drain_interrupt()
    }

    /// Computes `n!` (modulo 2^32, as edu does) on the device.
    ///
    /// * [`Wait::Poll`]: writes FACTORIAL and polls STATUS.COMPUTING until
    ///   it clears;
    /// * [`Wait::Interrupt`]: sets STATUS.IRQFACT *before* writing
    ///   FACTORIAL (QEMU 7.2's worker thread reads IRQFACT without a
    ///   barrier after finishing, so setting it later can be missed),
    ///   waits for the interrupt, acknowledges exactly the bits
    ///   IRQ_STATUS shows, unmasks, and turns IRQFACT off again.
    pub fn factorial(&self, n: u32, wait: Wait) -> Result<u32, EduError> {
        let regs = self.regs()?;
        // A write to FACTORIAL while COMPUTING is set is ignored by edu.
        self.wait_factorial_idle(&regs)?;
        match wait {
            Wait::Poll => {
                regs.factorial().set(n);
                self.wait_factorial_idle(&regs)?;
            }
            Wait::Interrupt => {
                regs.status().modify(STATUS::IRQFACT::SET);
                regs.factorial().set(n);
                let waited = self.wait_interrupt(&regs, IRQ_STATUS::FACT::SET.value, "a factorial");
                regs.status().modify(STATUS::IRQFACT::CLEAR);
                waited?;
                // The worker clears COMPUTING before it raises the interrupt.
                self.wait_factorial_idle(&regs)?;
            }
        }
        Ok(regs.factorial().get())
    }

    /// Copies `len` bytes at `offset` of `buf` into edu's buffer at device
    /// address `device_addr` (`0x40000..0x41000`), waiting as `wait` says.
    ///
    /// The caller writes the data into `buf` before the call; the driver
    /// orders those writes before the doorbell
    /// (`hal_core::order::before_doorbell`). Refused with
    /// [`EduError::Refused`] before any register access when the request
    /// breaks a limit in [`guard`](crate::guard).
    pub fn copy_to_device(
        &self,
        buf: &DmaBuffer,
        offset: usize,
        len: usize,
        device_addr: u64,
        wait: Wait,
    ) -> Result<LegTiming, EduError> {
        self.transfer(Direction::ToDevice, buf, offset, len, device_addr, wait)
    }

    /// Copies `len` bytes from edu's buffer at `device_addr` into `buf` at
    /// `offset`, waiting as `wait` says. The data may be read from `buf`
    /// once this returns (reads are ordered after the completion
    /// was seen: `hal_core::order::after_completion`). Same guards as
    /// [`copy_to_device`](Self::copy_to_device).
    pub fn copy_to_ram(
        &self,
        device_addr: u64,
        buf: &DmaBuffer,
        offset: usize,
        len: usize,
        wait: Wait,
    ) -> Result<LegTiming, EduError> {
        self.transfer(Direction::ToRam, buf, offset, len, device_addr, wait)
    }

    /// One DMA leg in either `direction` between bytes `offset..offset +
    /// len` of `buf` and edu's buffer at `device_addr`:
    /// [`copy_to_device`](Self::copy_to_device) and
    /// [`copy_to_ram`](Self::copy_to_ram) with the direction as a value.
    pub fn transfer(
        &self,
        direction: Direction,
        buf: &DmaBuffer,
        offset: usize,
        len: usize,
        device_addr: u64,
        wait: Wait,
    ) -> Result<LegTiming, EduError> {
        // The device-side checks first, so a count of 0 is reported as
        // such rather than as an empty range of the buffer.
        check_device_range(device_addr, len)?;
        let ram = ram_addr(buf, offset, len)?;
        self.run_leg(direction, ram, device_addr, len, wait)
    }

    /// Sends `data` (1 to 4095 bytes) from one RAM page to edu's buffer
    /// and back into another page, then compares byte for byte.
    ///
    /// The buffers come from `alloc`; the destination is first filled with
    /// the inverse of `data`, so a transfer that did nothing cannot pass.
    pub fn dma_round_trip_with(
        &self,
        alloc: &dyn DmaAllocator,
        data: &[u8],
        wait: Wait,
    ) -> Result<RoundTrip, EduError> {
        let start = Instant::now();
        check_device_range(BUFFER_START, data.len())?;
        let src = alloc.alloc(data.len())?;
        let dst = alloc.alloc(data.len())?;
        let inverse: Vec<u8> = data.iter().map(|b| !b).collect();
        src.region()
            .write_from(0, data)
            .map_err(|error| EduError::Copy { op: "into", error })?;
        dst.region()
            .write_from(0, &inverse)
            .map_err(|error| EduError::Copy { op: "into", error })?;
        let to_device = self.copy_to_device(&src, 0, data.len(), BUFFER_START, wait)?;
        let to_ram = self.copy_to_ram(BUFFER_START, &dst, 0, data.len(), wait)?;
        let mut back = vec![0u8; data.len()];
        dst.region()
            .read_into(0, &mut back)
            .map_err(|error| EduError::Copy {
                op: "out of",
                error,
            })?;
        if let Some(i) = data.iter().zip(&back).position(|(a, b)| a != b) {
            return Err(EduError::Mismatch {
                device: self.name.clone(),
                offset: i,
                len: data.len(),
                sent: data[i],
                got: back[i],
            });
        }
        Ok(RoundTrip {
            len: data.len(),
            wait,
            to_device,
            to_ram,
            total: start.elapsed(),
        })
    }

    /// One DMA leg between the RAM bus address `ram` and the device
    /// address `device_addr`: checked by [`check_transfer`] before the
    /// device is touched, then programmed and waited for.
    pub(crate) fn run_leg(
        &self,
        direction: Direction,
        ram: u64,
        device_addr: u64,
        len: usize,
        wait: Wait,
    ) -> Result<LegTiming, EduError> {
        check_transfer(device_addr, ram, len, self.options.dma_mask)?;
        let start = Instant::now();
        let regs = self.regs()?;
        // DMA registers are frozen while RUN is set: a transfer left by a
        // killed program must end first (it takes about 100 ms).
        self.wait_dma_idle(&regs)?;
        // Bus Master may have been cleared since the last leg (every close
        // of /dev/uioN clears it; see crate::lock).
        self.platform.prepare_dma()?;
        let (src, dst, dir) = match direction {
            Direction::ToDevice => (ram, device_addr, DMA_CMD::DIRECTION::TO_DEVICE),
            Direction::ToRam => (device_addr, ram, DMA_CMD::DIRECTION::TO_RAM),
        };
        regs.dma_src().set(src);
        regs.dma_dst().set(dst);
        regs.dma_count().set(len as u64);
        let irq = match wait {
            Wait::Poll => DMA_CMD::IRQ::CLEAR,
            Wait::Interrupt => DMA_CMD::IRQ::SET,
        };
        // The buffer's contents (written by plain CPU stores) must reach
        // memory before the device is told to read it.
        before_doorbell();
        regs.dma_cmd().write(DMA_CMD::RUN::SET + dir + irq);
        let waiting = match wait {
            Wait::Poll => {
                let wait_start = Instant::now();
                poll_timeout(
                    || regs.dma_cmd().get(),
                    |cmd| !DMA_CMD::RUN.is_set(*cmd),
                    self.options.dma_poll_interval,
                    self.options.timeout,
                )
                .map_err(|e| EduError::Timeout {
                    what: format!("a {len}-byte DMA ({direction})"),
                    device: self.name.clone(),
                    waited: e.waited,
                    last: format!("DMA_CMD {:#x}", e.last),
                })?;
                wait_start.elapsed()
            }
            Wait::Interrupt => self.wait_interrupt(&regs, IRQ_STATUS::DMA::SET.value, "a DMA")?,
        };
        // Reads of the buffer that follow must not see data from before the
        // completion was observed.
        after_completion();
        Ok(LegTiming {
            total: start.elapsed(),
            waiting,
        })
    }

    /// Waits for the interrupt, then acknowledges exactly the bits
    /// IRQ_STATUS shows, unmasks, and checks that `bit` was among them.
    /// Returns the time spent asleep (the acknowledgement is the driver's
    /// own work, not waiting).
    fn wait_interrupt(
        &self,
        regs: &edu::Regs<'_, I>,
        bit: u32,
        what: &'static str,
    ) -> Result<Duration, EduError> {
        let wait_start = Instant::now();
        let waited = self.platform.wait_interrupt(self.options.timeout);
        let asleep = wait_start.elapsed();
        if let Err(e) = waited {
            if e.is_timeout() {
                return Err(EduError::Timeout {
                    what: format!("the interrupt of {what}"),
                    device: self.name.clone(),
                    waited: self.options.timeout,
                    last: format!("IRQ_STATUS {:#x}", regs.irq_status().get()),
                });
            }
            return Err(e);
        }
        let status = regs.irq_status().get();
        if status != 0 {
            // The line stays asserted until IRQ_STATUS is 0, and the
            // device must be acknowledged before the line is unmasked.
            regs.irq_ack().set(status);
        }
        self.platform.unmask_interrupt()?;
        if status & bit == 0 {
            return Err(EduError::WrongInterrupt {
                device: self.name.clone(),
                what,
                status,
                expected: bit,
            });
        }
        Ok(asleep)
    }

    fn wait_factorial_idle(&self, regs: &edu::Regs<'_, I>) -> Result<(), EduError> {
        poll_timeout(
            || regs.status().is_set(STATUS::COMPUTING),
            |busy| !busy,
            Duration::ZERO,
            self.options.timeout,
        )
        .map(|_| ())
        .map_err(|e| EduError::Timeout {
            what: "a factorial".into(),
            device: self.name.clone(),
            waited: e.waited,
            last: "STATUS.COMPUTING still set".into(),
        })
    }

    fn wait_dma_idle(&self, regs: &edu::Regs<'_, I>) -> Result<(), EduError> {
        poll_timeout(
            || regs.dma_cmd().get(),
            |cmd| !DMA_CMD::RUN.is_set(*cmd),
            self.options.dma_poll_interval,
            self.options.timeout,
        )
        .map(|_| ())
        .map_err(|e| EduError::DmaBusy {
            device: self.name.clone(),
            cmd: e.last,
            waited: e.waited,
        })
    }
}

/// The bus address of `len` bytes at `offset` of `buf`, or the refusal
/// that says why the device cannot be given one.
fn ram_addr(buf: &DmaBuffer, offset: usize, len: usize) -> Result<u64, EduError> {
    buf.device_addr(offset, len).map_err(|e| match e {
        DmaError::NotContiguous { .. } => Refusal::Discontiguous { offset, len }.into(),
        DmaError::OutOfBounds { .. } => Refusal::OutsideBuffer {
            offset,
            len,
            buffer_len: buf.len(),
        }
        .into(),
        other => other.into(),
    })
}

fn liveness_probe() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    t ^ std::process::id().rotate_left(16) ^ 0x5a5a_0000
}
