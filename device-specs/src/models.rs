//! Behavioural models of the devices, for host tests of driver logic.
//!
//! A model plugs into [`hal_core::fake::ModelIo`], which implements
//! [`hal_core::Io`], so the generated register blocks and any driver built
//! on them run unchanged over it. The models follow QEMU 7.2's code,
//! including its access-size rules and the DMA requests that make QEMU
//! abort (recorded in [`EduModel::fatal`] instead of aborting).
//!
//! They are a fast complement to the VM tests, never a replacement.

use hal_core::fake::DeviceModel;
use hal_core::Width;

/// The edu device's behaviour, as QEMU 7.2 implements it.
#[derive(Debug, Clone)]
pub struct EduModel {
    liveness: u32,
    factorial: u32,
    computing: bool,
    irq_fact: bool,
    irq_status: u32,
    /// Status reads left before the factorial completes.
    polls_left: u32,
    /// How many status reads a factorial takes (QEMU's worker thread is
    /// asynchronous; the model makes that observable and deterministic).
    pub factorial_polls: u32,
    dma_src: u64,
    dma_dst: u64,
    dma_count: u64,
    dma_cmd: u64,
    buffer: Vec<u8>,
    /// How many times an interrupt was raised (0x60 writes with a non-zero
    /// result, and completions with their interrupt enabled).
    pub raised: u64,
    /// Set when a request would have aborted QEMU 7.2 (`hw_error`), with
    /// QEMU's message. The model ignores the request instead.
    pub fatal: Option<String>,
}

/// Start of the DMA buffer in the device's DMA address space.
pub const DMA_START: u64 = 0x40000;
/// Size of the DMA buffer.
pub const DMA_SIZE: u64 = 4096;

impl Default for EduModel {
    fn default() -> Self {
        EduModel {
            liveness: 0,
            factorial: 0,
            computing: false,
            irq_fact: false,
            irq_status: 0,
            polls_left: 0,
            factorial_polls: 3,
            dma_src: 0,
            dma_dst: 0,
            dma_count: 0,
            dma_cmd: 0,
            buffer: vec![0; DMA_SIZE as usize],
            raised: 0,
            fatal: None,
        }
    }
}

impl EduModel {
    /// A device just after QEMU starts.
    pub fn new() -> EduModel {
        EduModel::default()
    }

    /// Whether the interrupt line is asserted (INTx: while IRQ_STATUS != 0).
    pub fn irq_line(&self) -> bool {
        self.irq_status != 0
    }

    /// The device's internal DMA buffer.
    pub fn dma_buffer(&self) -> &[u8] {
        &self.buffer
    }

    fn raise(&mut self, bits: u32) {
        self.irq_status |= bits;
        if self.irq_status != 0 {
            self.raised += 1;
        }
    }

    fn finish_factorial(&mut self) {
        let n = self.factorial;
        self.factorial = (1..=n).fold(1u32, |acc, i| acc.wrapping_mul(i));
        self.computing = false;
        if self.irq_fact {
            self.raise(0x1);
        }
    }

    /// QEMU 7.2's `edu_check_range`: the device-side range must lie in
    /// [0x40000, 0x41000) with the end strictly below 0x41000.
    fn check_range(addr: u64, count: u64) -> Result<(), String> {
        let end = addr.wrapping_add(count);
        let within = |x: u64| (DMA_START..DMA_START + DMA_SIZE).contains(&x);
        if within(addr) && end > addr && within(end) {
            Ok(())
        } else {
            Err(format!(
                "qemu: hardware error: EDU: DMA range {:#018x}-{:#018x} out of bounds ({:#018x}-{:#018x})!",
                addr,
                end.wrapping_sub(1),
                DMA_START,
                DMA_START + DMA_SIZE - 1
            ))
        }
    }

    fn start_dma(&mut self) {
        let to_ram = self.dma_cmd & 0x2 != 0;
        let dev = if to_ram { self.dma_src } else { self.dma_dst };
        if let Err(msg) = Self::check_range(dev, self.dma_count) {
            self.fatal = Some(msg);
            return;
        }
        // There is no guest RAM in the model: a transfer to the device
        // fills the buffer range with a recognisable pattern instead.
        if !to_ram {
            let start = (dev - DMA_START) as usize;
            for (i, b) in self.buffer[start..start + self.dma_count as usize]
                .iter_mut()
                .enumerate()
            {
                *b = (self.dma_src as usize + i) as u8;
            }
        }
        self.dma_cmd &= !0x1;
        if self.dma_cmd & 0x4 != 0 {
            self.raise(0x100);
        }
    }
}

impl DeviceModel for EduModel {
    fn size(&self) -> usize {
        0x10_0000
    }

    fn read(&mut self, offset: usize, width: Width) -> u64 {
        let off = offset as u64;
        match width {
            Width::W8 | Width::W16 => return 0,
            Width::W64 if off < 0x80 => return u64::MAX,
            _ => {}
        }
        let v: u64 = match off {
            0x00 => 0x0100_00ed,
            0x04 => self.liveness.into(),
            0x08 => self.factorial.into(),
            0x20 => {
                if self.computing {
                    self.polls_left = self.polls_left.saturating_sub(1);
                    if self.polls_left == 0 {
                        self.finish_factorial();
                        // the read that observes completion still sees it set
                        return 0x1 | if self.irq_fact { 0x80 } else { 0 };
                    }
                }
                u64::from(self.computing) | if self.irq_fact { 0x80 } else { 0 }
            }
            0x24 => self.irq_status.into(),
            0x80 => self.dma_src,
            0x88 => self.dma_dst,
            0x90 => self.dma_count,
            0x98 => self.dma_cmd,
            _ => u64::MAX,
        };
        v & width.max_value()
    }

    fn write(&mut self, offset: usize, width: Width, value: u64) {
        let off = offset as u64;
        if matches!(width, Width::W8 | Width::W16) || (width == Width::W64 && off < 0x80) {
            return;
        }
        let v32 = value as u32;
        match off {
            0x04 => self.liveness = !v32,
            0x08 if !self.computing => {
                self.factorial = v32;
                self.computing = true;
                self.polls_left = self.factorial_polls.max(1);
            }
            0x20 => self.irq_fact = v32 & 0x80 != 0,
            0x60 => self.raise(v32),
            0x64 => self.irq_status &= !v32,
            0x80 | 0x88 | 0x90 | 0x98 if self.dma_cmd & 0x1 != 0 => {}
            0x80 => self.dma_src = value,
            0x88 => self.dma_dst = value,
            0x90 => self.dma_count = value,
            0x98 if value & 0x1 != 0 => {
                self.dma_cmd = value;
                self.start_dma();
            }
            _ => {}
        }
    }
}

/// The ivshmem BAR0 registers' behaviour (revision 1, ivshmem-plain).
#[derive(Debug, Clone, Default)]
pub struct IvshmemRegsModel {
    /// Interrupt Mask storage.
    pub intr_mask: u32,
    /// Interrupt Status storage (read-to-clear).
    pub intr_status: u32,
    /// IVPosition (0 for ivshmem-plain).
    pub iv_position: u32,
    /// Doorbell writes seen, as written.
    pub doorbells: Vec<u32>,
}

impl DeviceModel for IvshmemRegsModel {
    fn size(&self) -> usize {
        0x100
    }
    fn read(&mut self, offset: usize, _width: Width) -> u64 {
        match offset & 0xfc {
            0x0 => self.intr_mask.into(),
            0x4 => std::mem::take(&mut self.intr_status).into(),
            0x8 => self.iv_position.into(),
            _ => 0,
        }
    }
    fn write(&mut self, offset: usize, _width: Width, value: u64) {
        match offset & 0xfc {
            0x0 => self.intr_mask = value as u32,
            0x4 => self.intr_status = value as u32,
            0xc => self.doorbells.push(value as u32),
            _ => {}
        }
    }
}
