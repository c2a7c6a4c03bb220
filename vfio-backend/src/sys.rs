//! The VFIO ioctls (`<linux/vfio.h>`), declared with nix's macros over the
//! structures of the `vfio-bindings` crate, and safe wrappers.
//!
//! Every VFIO ioctl is `_IO(VFIO_TYPE, VFIO_BASE + n)` (no size in the
//! number; the structures carry their own `argsz`), hence the `_bad`
//! macros with `request_code_none!`.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::{ioctl_none_bad, ioctl_readwrite_bad, ioctl_write_int_bad, ioctl_write_ptr_bad};
use vfio_bindings::bindings::vfio::{
    vfio_device_info, vfio_group_status, vfio_iommu_type1_dma_map, vfio_iommu_type1_dma_unmap,
    vfio_iommu_type1_info, vfio_irq_info, vfio_irq_set, vfio_region_info, VFIO_BASE, VFIO_TYPE,
};

macro_rules! vfio_code {
    ($n:expr) => {
        nix::request_code_none!(VFIO_TYPE, VFIO_BASE + $n)
    };
}

ioctl_none_bad!(get_api_version, vfio_code!(0));
ioctl_write_int_bad!(check_extension_raw, vfio_code!(1));
ioctl_write_int_bad!(set_iommu_raw, vfio_code!(2));
ioctl_readwrite_bad!(group_get_status, vfio_code!(3), vfio_group_status);
ioctl_write_ptr_bad!(group_set_container, vfio_code!(4), libc_int);
ioctl_write_ptr_bad!(group_get_device_fd, vfio_code!(6), std::ffi::c_char);
ioctl_readwrite_bad!(device_get_info, vfio_code!(7), vfio_device_info);
ioctl_readwrite_bad!(device_get_region_info, vfio_code!(8), vfio_region_info);
ioctl_readwrite_bad!(device_get_irq_info, vfio_code!(9), vfio_irq_info);
ioctl_write_ptr_bad!(device_set_irqs, vfio_code!(10), vfio_irq_set);
ioctl_none_bad!(device_reset, vfio_code!(11));
ioctl_readwrite_bad!(iommu_get_info, vfio_code!(12), vfio_iommu_type1_info);
ioctl_write_ptr_bad!(iommu_map_dma, vfio_code!(13), vfio_iommu_type1_dma_map);
ioctl_readwrite_bad!(iommu_unmap_dma, vfio_code!(14), vfio_iommu_type1_dma_unmap);

#[allow(non_camel_case_types)]
type libc_int = std::ffi::c_int;

/// `argsz` of a structure: its size (all VFIO structures are small).
fn argsz<T>() -> u32 {
    std::mem::size_of::<T>() as u32
}

/// `VFIO_GET_API_VERSION` on a container.
pub(crate) fn api_version(container: BorrowedFd<'_>) -> nix::Result<i32> {
    // SAFETY: the ioctl takes no argument; the descriptor is open.
    unsafe { get_api_version(container.as_raw_fd()) }
}

/// `VFIO_CHECK_EXTENSION`: whether the container supports `ext`.
pub(crate) fn check_extension(container: BorrowedFd<'_>, ext: u32) -> nix::Result<bool> {
    // SAFETY: the argument is passed by value; the descriptor is open.
    unsafe { check_extension_raw(container.as_raw_fd(), ext as libc_int) }.map(|r| r > 0)
}

/// `VFIO_SET_IOMMU` with IOMMU type `ty`.
pub(crate) fn set_iommu(container: BorrowedFd<'_>, ty: u32) -> nix::Result<()> {
    // SAFETY: the argument is passed by value; the descriptor is open.
    unsafe { set_iommu_raw(container.as_raw_fd(), ty as libc_int) }.map(drop)
}

/// `VFIO_GROUP_GET_STATUS`: the group's flags.
pub(crate) fn group_flags(group: BorrowedFd<'_>) -> nix::Result<u32> {
    let mut st = vfio_group_status {
        argsz: argsz::<vfio_group_status>(),
        flags: 0,
    };
    // SAFETY: `st` is a valid vfio_group_status the kernel fills in.
    unsafe { group_get_status(group.as_raw_fd(), &mut st) }?;
    Ok(st.flags)
}

/// `VFIO_GROUP_SET_CONTAINER`.
pub(crate) fn set_container(group: BorrowedFd<'_>, container: BorrowedFd<'_>) -> nix::Result<()> {
    let fd: libc_int = container.as_raw_fd();
    // SAFETY: the kernel reads one int (the container's descriptor) from `&fd`.
    unsafe { group_set_container(group.as_raw_fd(), &fd) }.map(drop)
}

/// `VFIO_GROUP_GET_DEVICE_FD` for the device named `name` (its PCI address).
pub(crate) fn device_fd(group: BorrowedFd<'_>, name: &CStr) -> nix::Result<OwnedFd> {
    // SAFETY: `name` is a NUL-terminated string the kernel only reads.
    let fd = unsafe { group_get_device_fd(group.as_raw_fd(), name.as_ptr()) }?;
    // SAFETY: on success the ioctl returns a new descriptor we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `VFIO_DEVICE_GET_INFO`: the device's flags.
pub(crate) fn device_flags(device: BorrowedFd<'_>) -> nix::Result<u32> {
    let mut info = vfio_device_info {
        argsz: argsz::<vfio_device_info>(),
        ..Default::default()
    };
    // SAFETY: `info` is a valid vfio_device_info the kernel fills in.
    unsafe { device_get_info(device.as_raw_fd(), &mut info) }?;
    Ok(info.flags)
}

/// `VFIO_DEVICE_GET_REGION_INFO` for region `index`.
pub(crate) fn region_info(device: BorrowedFd<'_>, index: u32) -> nix::Result<vfio_region_info> {
    let mut info = vfio_region_info {
        argsz: argsz::<vfio_region_info>(),
        index,
        ..Default::default()
    };
    // SAFETY: `info` is a valid vfio_region_info of its own argsz (no room
    // for capabilities, which the kernel then does not write).
    unsafe { device_get_region_info(device.as_raw_fd(), &mut info) }?;
    Ok(info)
}

/// `VFIO_DEVICE_GET_IRQ_INFO` for interrupt index `index`.
pub(crate) fn irq_info(device: BorrowedFd<'_>, index: u32) -> nix::Result<vfio_irq_info> {
    let mut info = vfio_irq_info {
        argsz: argsz::<vfio_irq_info>(),
        index,
        ..Default::default()
    };
    // SAFETY: `info` is a valid vfio_irq_info the kernel fills in.
    unsafe { device_get_irq_info(device.as_raw_fd(), &mut info) }?;
    Ok(info)
}

/// `VFIO_DEVICE_SET_IRQS` for vectors `start..start + count` of `index`,
/// with `fds` as data (`DATA_EVENTFD`: one per vector, -1 to detach) or
/// none.
pub(crate) fn set_irqs(
    device: BorrowedFd<'_>,
    flags: u32,
    index: u32,
    start: u32,
    count: u32,
    fds: &[i32],
) -> nix::Result<()> {
    // The header (5 u32) followed by the data, in u32 words so that the
    // buffer has the structure's alignment (4).
    let header = 5;
    let mut words = vec![0u32; header + fds.len()];
    words[0] = (4 * words.len()) as u32;
    words[1] = flags;
    words[2] = index;
    words[3] = start;
    words[4] = count;
    for (w, fd) in words[header..].iter_mut().zip(fds) {
        *w = *fd as u32;
    }
    // SAFETY: `words` starts with a vfio_irq_set header (20 bytes, 4-byte
    // aligned) followed by `argsz - 20` bytes of data the kernel only reads.
    unsafe { device_set_irqs(device.as_raw_fd(), words.as_ptr().cast::<vfio_irq_set>()) }.map(drop)
}

/// `VFIO_DEVICE_RESET`.
pub(crate) fn reset(device: BorrowedFd<'_>) -> nix::Result<()> {
    // SAFETY: the ioctl takes no argument; the descriptor is open.
    unsafe { device_reset(device.as_raw_fd()) }.map(drop)
}

/// `VFIO_IOMMU_MAP_DMA`: the IOMMU maps `iova..iova + size` to the process
/// memory at `vaddr` (pinning it).
pub(crate) fn map_dma(
    container: BorrowedFd<'_>,
    vaddr: u64,
    iova: u64,
    size: u64,
    flags: u32,
) -> nix::Result<()> {
    let map = vfio_iommu_type1_dma_map {
        argsz: argsz::<vfio_iommu_type1_dma_map>(),
        flags,
        vaddr,
        iova,
        size,
    };
    // SAFETY: `map` is a valid structure the kernel only reads; the kernel
    // checks that `vaddr..vaddr + size` is mapped in this process.
    unsafe { iommu_map_dma(container.as_raw_fd(), &map) }.map(drop)
}

/// `VFIO_IOMMU_GET_INFO` into a buffer of `len` bytes (rounded up to
/// 8-byte words, at least the fixed structure): the bytes the kernel
/// answered, for [`crate::iommu::parse_info`].
pub(crate) fn iommu_info(container: BorrowedFd<'_>, len: u32) -> nix::Result<Vec<u8>> {
    let len = (len as usize).max(crate::iommu::INFO_LEN).div_ceil(8);
    let mut words = vec![0u64; len];
    let argsz = (8 * len) as u32;
    // The first word holds argsz then flags (0), in memory order.
    let mut first = [0u8; 8];
    first[..4].copy_from_slice(&argsz.to_ne_bytes());
    words[0] = u64::from_ne_bytes(first);
    // SAFETY: `words` is 8-byte aligned, starts with a vfio_iommu_type1_info
    // whose argsz is the buffer's size; the kernel writes at most argsz bytes.
    unsafe { iommu_get_info(container.as_raw_fd(), words.as_mut_ptr().cast()) }?;
    Ok(words.iter().flat_map(|w| w.to_ne_bytes()).collect())
}

/// `VFIO_IOMMU_UNMAP_DMA` of `iova..iova + size`: the bytes unmapped.
pub(crate) fn unmap_dma(container: BorrowedFd<'_>, iova: u64, size: u64) -> nix::Result<u64> {
    let mut unmap = vfio_iommu_type1_dma_unmap {
        argsz: argsz::<vfio_iommu_type1_dma_unmap>(),
        flags: 0,
        iova,
        size,
        ..Default::default()
    };
    // SAFETY: `unmap` is a valid structure without data; the kernel writes
    // back only `size` (the bytes unmapped).
    unsafe { iommu_unmap_dma(container.as_raw_fd(), &mut unmap) }?;
    Ok(unmap.size)
}
