//! regpoke does not link libudev, also when it is built together with the
//! rest of the workspace (`cargo test --workspace`): Cargo unifies features
//! across one build, so a member that turned on uio-backend's `udev`
//! feature would link libudev into this binary too, and the regpoke the
//! tests run would differ from the one that ships. uio-backend's `udev` is
//! therefore off by default and only `vm-tests --features udev` (a pass of
//! its own in scripts/test.sh) turns it on. A build with `--all-features`
//! fails this test on purpose.

/// `DT_NEEDED` entries of a 64-bit little-endian ELF file, read from its
/// `SHT_DYNAMIC` section and the string table that section links to.
fn needed_libraries(elf: &[u8]) -> Vec<String> {
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!((elf[4], elf[5]), (2, 1), "not a 64-bit little-endian ELF");
    let (shoff, shentsize, shnum) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c));
    let section = |i: usize| shoff + i * shentsize;
    const SHT_DYNAMIC: usize = 6;
    const DT_NULL: usize = 0;
    const DT_NEEDED: usize = 1;
    let mut out = Vec::new();
    for i in 0..shnum {
        let sh = section(i);
        if u32_at(sh + 4) != SHT_DYNAMIC {
            continue;
        }
        let (offset, size, link) = (u64_at(sh + 0x18), u64_at(sh + 0x20), u32_at(sh + 0x28));
        let strtab = u64_at(section(link) + 0x18);
        for entry in elf[offset..offset + size].chunks_exact(16) {
            let tag = u64::from_le_bytes(entry[..8].try_into().unwrap()) as usize;
            let val = u64::from_le_bytes(entry[8..].try_into().unwrap()) as usize;
            match tag {
                DT_NULL => break,
                DT_NEEDED => {
                    let s = &elf[strtab + val..];
                    let end = s.iter().position(|&b| b == 0).unwrap();
                    out.push(String::from_utf8_lossy(&s[..end]).into_owned());
                }
                _ => {}
            }
        }
    }
    out
}

#[test]
fn regpoke_binary_does_not_link_libudev() {
    let path = env!("CARGO_BIN_EXE_regpoke");
    let elf = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let needed = needed_libraries(&elf);
    // The test build is dynamically linked: an empty list would mean the
    // dynamic section was not found, and the check below would prove nothing.
    assert!(
        needed.iter().any(|l| l.starts_with("libc.so")),
        "{path}: no libc among the needed libraries {needed:?}"
    );
    assert!(
        !needed.iter().any(|l| l.contains("libudev")),
        "{path} links {needed:?}: a crate in this build turned on uio-backend's `udev` feature"
    );
    // Nor does the library's file name appear anywhere in the file (a
    // dlopen, say). Just "libudev" does: uio-backend's error messages name it.
    assert!(
        !elf.windows(b"libudev.so".len()).any(|w| w == b"libudev.so"),
        "{path} mentions libudev.so"
    );
}
