//! The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum
//! of the data taken as big-endian 16-bit words. IPv4 headers, ICMP and UDP (over a pseudo
//! header) all carry it.
//!
//! [`Checksum`] accumulates over any number of pieces, so a header, a pseudo header and a
//! payload split across buffers can be summed without copying them together. A piece of odd
//! length is carried over correctly: the next piece starts in the middle of a 16-bit word.

/// A running one's complement sum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    /// Sum of 16-bit words, folded lazily; a u64 cannot overflow before 2^48 words.
    sum: u64,
    /// True when an odd number of bytes has been added: the next byte is a word's low half.
    odd: bool,
}

impl Checksum {
    /// An empty sum.
    pub const fn new() -> Self {
        Checksum { sum: 0, odd: false }
    }

    /// Adds `data` to the sum, continuing mid-word if the previous piece had odd length.
    pub fn add_bytes(&mut self, data: &[u8]) -> &mut Self {
        let mut rest = data;
        if self.odd {
            if let Some((&first, tail)) = rest.split_first() {
                self.sum = self.sum.wrapping_add(u64::from(first));
                self.odd = false;
                rest = tail;
            }
        }
        let mut words = rest.chunks_exact(2);
        for w in &mut words {
            self.sum = self
                .sum
                .wrapping_add(u64::from(u16::from_be_bytes([w[0], w[1]])));
        }
        if let [last] = words.remainder() {
            self.sum = self.sum.wrapping_add(u64::from(*last) << 8);
            self.odd = true;
        }
        self
    }

    /// Adds one big-endian 16-bit word (which must start on a word boundary of the sum).
    pub fn add_u16(&mut self, word: u16) -> &mut Self {
        self.add_bytes(&word.to_be_bytes())
    }

    /// Adds a 32-bit value as two words, as addresses are added to a pseudo header.
    pub fn add_u32(&mut self, value: u32) -> &mut Self {
        self.add_bytes(&value.to_be_bytes())
    }

    /// The folded 16-bit one's complement sum (not yet complemented).
    pub fn sum16(&self) -> u16 {
        let mut s = self.sum;
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        // The loop leaves s <= 0xffff.
        s as u16
    }

    /// The checksum to write into a header: the complement of the folded sum.
    pub fn finish(&self) -> u16 {
        !self.sum16()
    }
}

/// The Internet checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    Checksum::new().add_bytes(data).finish()
}

/// True when `data`, which includes its own checksum field, sums to all ones: the receiver's
/// check of RFC 1071 section 1 (the sum over data and checksum is 0xffff).
pub fn verify(data: &[u8]) -> bool {
    Checksum::new().add_bytes(data).sum16() == 0xffff
}

/// Incrementally updates checksum `old_csum` for a 16-bit field changing from `old` to
/// `new` (RFC 1624, eqn. 3), as a router does when it decrements the TTL.
pub fn update16(old_csum: u16, old: u16, new: u16) -> u16 {
    let mut c = Checksum::new();
    c.add_u16(!old_csum).add_u16(!old).add_u16(new);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of RFC 1071 section 3.
    #[test]
    fn rfc1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(Checksum::new().add_bytes(&data).sum16(), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn empty_and_zero() {
        assert_eq!(checksum(&[]), 0xffff);
        assert_eq!(checksum(&[0, 0, 0]), 0xffff);
        assert!(!verify(&[]));
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(checksum(&[0xab]), checksum(&[0xab, 0x00]));
        assert_eq!(
            checksum(&[0x12, 0x34, 0x56]),
            checksum(&[0x12, 0x34, 0x56, 0x00])
        );
    }

    #[test]
    fn pieces_of_any_split_give_the_same_sum() {
        let data: std::vec::Vec<u8> = (0u16..301).map(|i| (i * 7 + 3) as u8).collect();
        let whole = checksum(&data);
        for cut1 in 0..data.len() {
            let cut2 = (cut1 + 37).min(data.len());
            let mut c = Checksum::new();
            c.add_bytes(&data[..cut1])
                .add_bytes(&data[cut1..cut2])
                .add_bytes(&data[cut2..]);
            assert_eq!(c.finish(), whole, "split at {cut1}/{cut2}");
        }
    }

    #[test]
    fn carries_fold_many_times() {
        let data = [0xffu8; 4096];
        // 2048 words of 0xffff sum to 0xffff after folding: the complement is zero.
        assert_eq!(checksum(&data), 0);
        assert!(verify(&data));
    }

    /// A real IPv4 header (from a capture), checksum 0xb861.
    #[test]
    fn ipv4_header_verifies_and_recomputes() {
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert!(verify(&hdr));
        hdr[10] = 0;
        hdr[11] = 0;
        assert_eq!(checksum(&hdr), 0xb861);
        hdr[1] = 1;
        assert!(!verify(&hdr));
    }

    #[test]
    fn incremental_update_matches_recompute() {
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        // Decrement the TTL (byte 8, the high half of word 4).
        let old = u16::from_be_bytes([hdr[8], hdr[9]]);
        hdr[8] -= 1;
        let new = u16::from_be_bytes([hdr[8], hdr[9]]);
        let upd = update16(0xb861, old, new);
        hdr[10] = 0;
        hdr[11] = 0;
        assert_eq!(upd, checksum(&hdr));
    }
}
