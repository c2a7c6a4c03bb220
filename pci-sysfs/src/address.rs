//! PCI addresses (`0000:00:04.0`), vendor:device IDs (`1234:11e8`) and selectors.

use std::fmt;
use std::str::FromStr;

use crate::error::PciError;

/// A PCI function address: domain, bus, device (0..=31) and function (0..=7).
///
/// Displays as `DDDD:BB:DD.F` (the sysfs directory name). Parses both that
/// form and the short `BB:DD.F` form (domain 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PciAddress {
    domain: u32,
    bus: u8,
    device: u8,
    function: u8,
}

impl PciAddress {
    /// `0000:00:00.0`.
    pub const ZERO: PciAddress = PciAddress {
        domain: 0,
        bus: 0,
        device: 0,
        function: 0,
    };

    /// Builds an address; fails if `device > 31` or `function > 7`.
    pub fn new(domain: u32, bus: u8, device: u8, function: u8) -> Result<PciAddress, PciError> {
        let input = || format!("{domain:04x}:{bus:02x}:{device:02x}.{function:x}");
        if device > 31 {
            return Err(PciError::InvalidAddress {
                input: input(),
                reason: "the device number must be at most 0x1f",
            });
        }
        if function > 7 {
            return Err(PciError::InvalidAddress {
                input: input(),
                reason: "the function number must be at most 7",
            });
        }
        Ok(PciAddress {
            domain,
            bus,
            device,
            function,
        })
    }

    /// The PCI domain (segment).
    pub fn domain(&self) -> u32 {
        self.domain
    }
    /// The bus number.
    pub fn bus(&self) -> u8 {
        self.bus
    }
    /// The device (slot) number, 0..=31.
    pub fn device(&self) -> u8 {
        self.device
    }
    /// The function number, 0..=7.
    pub fn function(&self) -> u8 {
        self.function
    }
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.device, self.function
        )
    }
}

fn hex_part(s: &str, max_digits: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

impl FromStr for PciAddress {
    type Err = PciError;

    fn from_str(s: &str) -> Result<PciAddress, PciError> {
        let input = s.trim();
        let bad = |reason| PciError::InvalidAddress {
            input: s.to_string(),
            reason,
        };
        let (head, func) = input
            .rsplit_once('.')
            .ok_or_else(|| bad("there is no '.' before the function number"))?;
        let function = hex_part(func, 1).ok_or_else(|| bad("the function is not one hex digit"))?;
        let parts: Vec<&str> = head.split(':').collect();
        let (domain, bus, dev) = match parts.as_slice() {
            [bus, dev] => (0, *bus, *dev),
            [domain, bus, dev] => (
                hex_part(domain, 8).ok_or_else(|| bad("the domain is not 1 to 8 hex digits"))?,
                *bus,
                *dev,
            ),
            _ => {
                return Err(bad(
                    "expected two or three ':'-separated fields before the '.'",
                ))
            }
        };
        let bus = hex_part(bus, 2).ok_or_else(|| bad("the bus is not 1 or 2 hex digits"))?;
        let dev = hex_part(dev, 2).ok_or_else(|| bad("the device is not 1 or 2 hex digits"))?;
        if dev > 0x1f {
            return Err(bad("the device number must be at most 0x1f"));
        }
        if function > 7 {
            return Err(bad("the function number must be at most 7"));
        }
        // The checks above bound every value to its field's range.
        Ok(PciAddress {
            domain,
            bus: bus as u8,
            device: dev as u8,
            function: function as u8,
        })
    }
}

/// A PCI vendor and device ID pair, displayed and parsed as `vvvv:dddd` (hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PciId {
    /// Vendor ID (e.g. 0x1234 for QEMU's edu).
    pub vendor: u16,
    /// Device ID (e.g. 0x11e8 for QEMU's edu).
    pub device: u16,
}

impl PciId {
    /// A vendor:device pair.
    pub const fn new(vendor: u16, device: u16) -> PciId {
        PciId { vendor, device }
    }
}

impl fmt::Display for PciId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vendor, self.device)
    }
}

impl FromStr for PciId {
    type Err = PciError;

    fn from_str(s: &str) -> Result<PciId, PciError> {
        let bad = || PciError::InvalidId {
            input: s.to_string(),
        };
        let (v, d) = s.trim().split_once(':').ok_or_else(bad)?;
        let strip = |x: &str| {
            x.strip_prefix("0x")
                .or_else(|| x.strip_prefix("0X"))
                .unwrap_or(x)
                .to_string()
        };
        let vendor = hex_part(&strip(v), 4).ok_or_else(bad)?;
        let device = hex_part(&strip(d), 4).ok_or_else(bad)?;
        Ok(PciId {
            vendor: vendor as u16,
            device: device as u16,
        })
    }
}

/// How to pick a PCI device: by address or by vendor:device ID.
///
/// Parses `0000:00:04.0` / `00:04.0` (it has a '.') as an address and
/// `1234:11e8` as an ID, which is what a `--pci` command-line option wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PciSelector {
    /// One device at this address.
    Address(PciAddress),
    /// The first device (in address order) with this ID.
    Id(PciId),
}

impl fmt::Display for PciSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PciSelector::Address(a) => write!(f, "at {a}"),
            PciSelector::Id(id) => write!(f, "with ID {id}"),
        }
    }
}

impl FromStr for PciSelector {
    type Err = PciError;

    fn from_str(s: &str) -> Result<PciSelector, PciError> {
        if s.contains('.') {
            s.parse().map(PciSelector::Address)
        } else {
            s.parse().map(PciSelector::Id)
        }
    }
}

impl From<PciAddress> for PciSelector {
    fn from(a: PciAddress) -> PciSelector {
        PciSelector::Address(a)
    }
}

impl From<PciId> for PciSelector {
    fn from(id: PciId) -> PciSelector {
        PciSelector::Id(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_addresses() {
        let a: PciAddress = "0000:00:04.0".parse().unwrap();
        assert_eq!(a.to_string(), "0000:00:04.0");
        assert_eq!(
            (a.domain(), a.bus(), a.device(), a.function()),
            (0, 0, 4, 0)
        );
        let b: PciAddress = "00:04.0".parse().unwrap();
        assert_eq!(a, b);
        let c: PciAddress = "10000:ff:1f.7".parse().unwrap();
        assert_eq!(c.to_string(), "10000:ff:1f.7");
        assert_eq!(
            " 0000:0a:1.3\n".parse::<PciAddress>().unwrap().to_string(),
            "0000:0a:01.3"
        );
        assert!(a < c);
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in [
            "",
            "00:04",
            "00:20.0",
            "00:04.8",
            "x0:04.0",
            "0:0:0:0.0",
            "100:00.0",
            "00:04.00",
            "000000000:00:00.0",
            "00:+4.0",
            "00:04.",
        ] {
            let e = bad.parse::<PciAddress>().unwrap_err();
            assert!(e.to_string().contains("invalid PCI address"), "{bad}: {e}");
        }
        assert!(PciAddress::new(0, 0, 32, 0).is_err());
        assert!(PciAddress::new(0, 0, 31, 8).is_err());
    }

    #[test]
    fn parses_ids_and_selectors() {
        let id: PciId = "1234:11e8".parse().unwrap();
        assert_eq!(id, PciId::new(0x1234, 0x11e8));
        assert_eq!(id.to_string(), "1234:11e8");
        assert_eq!(
            "0x1af4:0x1110".parse::<PciId>().unwrap(),
            PciId::new(0x1af4, 0x1110)
        );
        assert!("12345:1".parse::<PciId>().is_err());
        assert!("1234".parse::<PciId>().is_err());
        assert_eq!(
            "00:04.0".parse::<PciSelector>().unwrap(),
            PciSelector::Address(PciAddress::new(0, 0, 4, 0).unwrap())
        );
        assert_eq!(
            "1af4:1110".parse::<PciSelector>().unwrap(),
            PciSelector::Id(PciId::new(0x1af4, 0x1110))
        );
    }
}
