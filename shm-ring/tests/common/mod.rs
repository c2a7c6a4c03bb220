//! Test messages shared by the tests and the benchmark: a seeded generator
//! and self-checking messages (sequence number, bytes, checksum).
#![allow(dead_code)]

/// splitmix64: a small seeded generator, the same sequence on every run.
pub struct Rng(u64);

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
}

/// The shortest message [`fill`] makes: a sequence number and a checksum.
pub const MIN_LEN: usize = 16;

/// A word-at-a-time checksum of `bytes` (FNV-1a's constants over 64-bit words).
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h = (h ^ u64::from_le_bytes(w.try_into().unwrap())).wrapping_mul(0x100_0000_01b3);
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Makes message `seq` of `len` bytes (at least [`MIN_LEN`]) in `out`:
/// the sequence number, bytes derived from it, and the checksum of both.
pub fn fill(seq: u64, len: usize, out: &mut Vec<u8>) {
    assert!(len >= MIN_LEN);
    out.clear();
    out.extend_from_slice(&seq.to_le_bytes());
    let mut rng = Rng::new(seq);
    while out.len() + 8 <= len - 8 {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    let last = rng.next_u64().to_le_bytes();
    let rest = len - 8 - out.len();
    out.extend_from_slice(&last[..rest]);
    let sum = checksum(out);
    out.extend_from_slice(&sum.to_le_bytes());
}

/// Checks that `msg` is message `seq` of `len` bytes, intact.
pub fn check(seq: u64, len: usize, msg: &[u8]) -> Result<(), String> {
    if msg.len() != len {
        return Err(format!(
            "message {seq}: {} bytes arrived, {len} were sent",
            msg.len()
        ));
    }
    let (body, sum) = msg.split_at(len - 8);
    let got = u64::from_le_bytes(body[..8].try_into().unwrap());
    if got != seq {
        return Err(format!(
            "message {seq} expected, message {got} arrived (lost or reordered)"
        ));
    }
    if checksum(body).to_le_bytes() != sum {
        return Err(format!(
            "message {seq}: the checksum does not match (corrupted)"
        ));
    }
    Ok(())
}
