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

#[cfg(test)]
mod tests {
    use crate::fake::{FakePci, FakeSysfs};
    use crate::PciId;

    const A: PciId = PciId::new(0x1234, 0x11e8);
    const B: PciId = PciId::new(0x1234, 0x11e9);

    #[test]
    fn any_of_the_ids_finds_the_first_device_in_address_order() {
        let f = FakeSysfs::new().unwrap();
        f.add_pci(&FakePci::new("0000:00:03.0", 0x8086, 0x100e))
            .unwrap();
        f.add_pci(&FakePci::new("0000:00:09.0", 0x1234, 0x11e8))
            .unwrap();
        f.add_pci(&FakePci::new("0000:00:05.0", 0x1234, 0x11e9))
            .unwrap();
        let s = f.sysfs();
        let d = s.find_by_ids(&[A, B]).unwrap();
        assert_eq!(d.address().to_string(), "0000:00:05.0");
        assert_eq!(d.id(), B);
        let d = s.find_by_ids(&[A]).unwrap();
        assert_eq!(d.address().to_string(), "0000:00:09.0");
    }

    #[test]
    fn none_of_the_ids_names_them_all_and_lists_what_is_there() {
        let f = FakeSysfs::new().unwrap();
        f.add_pci(&FakePci::new("0000:00:03.0", 0x8086, 0x100e))
            .unwrap();
        let e = f.sysfs().find_by_ids(&[A, B]).unwrap_err();
        assert!(e.is_not_found());
        let text = e.to_string();
        assert!(
            text.starts_with("no PCI device with ID 1234:11e8 or 1234:11e9 in "),
            "{text}"
        );
        assert!(text.contains("0000:00:03.0"), "{text}");
        assert!(f.sysfs().find_by_ids(&[]).unwrap_err().is_not_found());
    }
}
