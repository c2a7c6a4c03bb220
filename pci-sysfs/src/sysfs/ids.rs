//! Finding a device that has any of several vendor:device IDs (a register
//! map that describes a device with an alternative ID, or a family).

use super::Sysfs;
use crate::address::PciId;
use crate::device::PciDevice;
use crate::error::PciError;

/// `ID 1234:11e8` or `ID 1234:11e8 or 1234:11e9`, for messages.
pub fn describe_ids(ids: &[PciId]) -> String {
    let list: Vec<String> = ids.iter().map(PciId::to_string).collect();
    match list.len() {
        0 => "with any of no IDs (the list of IDs is empty)".to_string(),
        _ => format!("with ID {}", list.join(" or ")),
    }
}

impl Sysfs {
    /// The first device (in address order) whose vendor:device ID is any of
    /// `ids`.
    ///
    /// As [`find_by_id`](Self::find_by_id): `/proc/bus/pci/devices` is
    /// asked first, and without a confirmed candidate every device
    /// directory is read. [`PciError::NotFound`] names every ID and lists
    /// the devices present ("no PCI device with ID 1234:11e8 or 1234:11e9
    /// in …; present: …").
    pub fn find_by_ids(&self, ids: &[PciId]) -> Result<PciDevice, PciError> {
        let mut from_proc: Vec<_> = ids
            .iter()
            .flat_map(|&id| self.proc_candidates(id))
            .collect();
        from_proc.sort();
        from_proc.dedup();
        let one_of = |dir: &std::path::Path| {
            Sysfs::pci_id_in(dir)
                .ok()
                .filter(|found| ids.contains(found))
        };
        let confirmed = from_proc.into_iter().find_map(|a| {
            let dir = self.pci_device_dir(a);
            one_of(&dir).map(|id| (a, dir, id))
        });
        let found = match confirmed {
            Some(f) => Some(f),
            None => self
                .pci_device_dirs()?
                .into_iter()
                .find_map(|(a, dir)| one_of(&dir).map(|id| (a, dir, id))),
        };
        match found {
            Some((addr, dir, id)) => PciDevice::load_at(self, addr, dir, id),
            None => Err(self.not_found(describe_ids(ids))),
        }
    }
}

impl PciDevice {
    /// The first device (in address order) with any of these vendor:device
    /// IDs, for example a generated map's `PCI_IDS`.
    pub fn find_by_ids(ids: &[(u16, u16)]) -> Result<PciDevice, PciError> {
        let ids: Vec<PciId> = ids.iter().map(|&(v, d)| PciId::new(v, d)).collect();
        Sysfs::system().find_by_ids(&ids)
    }
}
