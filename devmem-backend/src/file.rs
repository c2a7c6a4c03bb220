//! Any mmap-able file: a plain file, a shared-memory file under `/dev/shm`, a memfd.

use std::os::fd::AsFd;
use std::path::Path;

use hal_core::{page_size, Region};

use crate::error::DevMemError;
use crate::sys;

/// Maps `len` bytes of the file at `path`, starting `offset` bytes in, shared and read-write.
///
/// `offset` need not be page-aligned. For a regular file the range must lie
/// inside the file (beyond its end, accesses would raise SIGBUS), so
/// create and size the file first. Writes reach the file (`MAP_SHARED`).
pub fn map_file(path: impl AsRef<Path>, offset: u64, len: usize) -> Result<Region, DevMemError> {
    let path = path.as_ref();
    let fd = sys::open_rw(path, false).map_err(|e| DevMemError::Open {
        hint: match e {
            nix::Error::EACCES => {
                "; the file must be readable and writable for a shared read-write mapping".into()
            }
            _ => String::new(),
        },
        path: path.to_path_buf(),
        errno: e,
    })?;
    map_fd(fd, offset, len, path)
}

/// Like [`map_file`], for a file that is already open (a memfd, say);
/// `name` is used in messages and as the region's label.
///
/// The descriptor must be open read-write. It may be closed afterwards:
/// the region keeps its mapping.
pub fn map_fd(
    fd: impl AsFd,
    offset: u64,
    len: usize,
    name: impl AsRef<Path>,
) -> Result<Region, DevMemError> {
    let path = name.as_ref();
    let what = format!("{} at {offset:#x} (+{len:#x})", path.display());
    if len == 0 {
        return Err(DevMemError::ZeroLength { what });
    }
    let len64 = len as u64;
    let end = offset.checked_add(len64).ok_or(DevMemError::Overflow {
        what: what.clone(),
        start: offset,
        len: len64,
    })?;
    let size = sys::regular_file_size(fd.as_fd()).map_err(|e| DevMemError::Stat {
        path: path.to_path_buf(),
        errno: e,
    })?;
    if let Some(size) = size {
        if end > size {
            return Err(DevMemError::FileTooSmall {
                path: path.to_path_buf(),
                offset,
                end,
                size,
            });
        }
    }
    let page = page_size() as u64;
    let file_offset = offset & !(page - 1);
    // Less than one page, so it fits in usize.
    let sub = (offset - file_offset) as usize;
    Region::map_shared(fd.as_fd(), file_offset, sub, len, what).map_err(|e| DevMemError::Mmap {
        hint: String::new(),
        error: Box::new(e),
    })
}
