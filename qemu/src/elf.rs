//! Just enough ELF parsing to tell static from dynamically linked binaries.

/// What kind of file a binary is, as far as the initramfs is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElfKind {
    /// Not an ELF file (a script, data, ...): copied as it is.
    NotElf,
    /// A static ELF (including static-pie): needs nothing else.
    Static,
    /// A dynamically linked ELF with this program interpreter.
    Dynamic {
        /// The `PT_INTERP` path, e.g. `/lib64/ld-linux-x86-64.so.2`.
        interpreter: String,
    },
}

const PT_INTERP: u32 = 3;

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// Classifies a file's contents. Only 64-bit little-endian ELF is inspected
/// (the guest is x86-64); anything else that starts with the ELF magic is
/// reported as an error.
pub fn classify(bytes: &[u8]) -> Result<ElfKind, String> {
    if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
        return Ok(ElfKind::NotElf);
    }
    if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let trunc = || "truncated ELF header".to_string();
    let phoff = u64_at(bytes, 0x20).ok_or_else(trunc)? as usize;
    let phentsize = u16_at(bytes, 0x36).ok_or_else(trunc)? as usize;
    let phnum = u16_at(bytes, 0x38).ok_or_else(trunc)? as usize;
    for i in 0..phnum {
        let ph = phoff
            .checked_add(i.checked_mul(phentsize).ok_or_else(trunc)?)
            .ok_or_else(trunc)?;
        let p_type = u32_at(bytes, ph).ok_or_else(|| "truncated program header".to_string())?;
        if p_type == PT_INTERP {
            let off = u64_at(bytes, ph + 8).ok_or_else(trunc)? as usize;
            let size = u64_at(bytes, ph + 32).ok_or_else(trunc)? as usize;
            let raw = bytes
                .get(off..off.saturating_add(size))
                .ok_or_else(|| "PT_INTERP outside the file".to_string())?;
            let s = raw.split(|&c| c == 0).next().unwrap_or_default();
            let interpreter = String::from_utf8(s.to_vec())
                .map_err(|_| "non-UTF-8 program interpreter".to_string())?;
            return Ok(ElfKind::Dynamic { interpreter });
        }
    }
    Ok(ElfKind::Static)
}

/// Parses `ldd` output into the host paths of the libraries to copy
/// (the interpreter included; the vDSO excluded).
pub fn parse_ldd(output: &str) -> Result<Vec<String>, String> {
    let mut libs = Vec::new();
    for line in output.lines() {
        let line = line.trim();
        if line.is_empty() || line.contains("statically linked") {
            continue;
        }
        if line.contains("not a dynamic executable") {
            return Ok(Vec::new());
        }
        if let Some((name, rest)) = line.split_once("=>") {
            let rest = rest.trim();
            if rest.starts_with("not found") {
                return Err(format!("library {} not found on the host", name.trim()));
            }
            let path = rest.split_whitespace().next().unwrap_or_default();
            if path.starts_with('/') {
                libs.push(path.to_string());
            }
        } else {
            let path = line.split_whitespace().next().unwrap_or_default();
            if path.starts_with('/') {
                libs.push(path.to_string());
            }
        }
    }
    Ok(libs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output() {
        let out = "\tlinux-vdso.so.1 (0x00007ffd5a1f0000)\n\
                   \tlibudev.so.1 => /lib/x86_64-linux-gnu/libudev.so.1 (0x00007f0e1c3a0000)\n\
                   \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e1c1bf000)\n\
                   \t/lib64/ld-linux-x86-64.so.2 (0x00007f0e1c413000)\n";
        assert_eq!(
            parse_ldd(out).unwrap(),
            vec![
                "/lib/x86_64-linux-gnu/libudev.so.1",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
        );
        assert!(parse_ldd("\tnot a dynamic executable\n")
            .unwrap()
            .is_empty());
        assert!(parse_ldd("\tlibfoo.so.1 => not found\n").is_err());
    }

    #[test]
    fn classify_host_binaries() {
        assert_eq!(classify(b"#!/bin/sh\n").unwrap(), ElfKind::NotElf);
        assert!(classify(b"\x7fELF\x01\x01").is_err());
        if let Ok(b) = std::fs::read("/bin/ls") {
            assert!(matches!(classify(&b).unwrap(), ElfKind::Dynamic { .. }));
        }
    }
}
