//! The forwarding step of a router on the IPv4 header (Linux's `ip_forward` and
//! `ip_decrease_ttl`): a packet whose TTL would reach zero is not forwarded (the caller
//! answers with ICMP time exceeded); otherwise the TTL goes down by one and the header
//! checksum is updated incrementally (RFC 1624, eqn. 3) instead of being recomputed.

use super::super::checksum;

/// Offset of the TTL (with the protocol byte after it, one 16-bit word).
const TTL: usize = 8;
/// Offset of the header checksum.
const CHECKSUM: usize = 10;
/// Length of a header without options.
const HEADER_LEN: usize = 20;

/// What to do with a packet to forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardDecision {
    /// The TTL was decremented and the checksum updated: send it on.
    Forward,
    /// The TTL is 0 or 1 (or the buffer is shorter than a header): do not forward; answer
    /// with ICMP time exceeded. The header is unchanged.
    TtlExceeded,
}

/// Decrements the TTL of the IPv4 header at the start of `ip_header` and updates its
/// checksum, or says the packet must not be forwarded. A buffer shorter than 20 bytes is
/// left alone and answered [`ForwardDecision::TtlExceeded`] (validated packets never are).
pub fn decrement_ttl(ip_header: &mut [u8]) -> ForwardDecision {
    let Some(h) = ip_header.get_mut(..HEADER_LEN) else {
        return ForwardDecision::TtlExceeded;
    };
    let ttl = h[TTL];
    if ttl <= 1 {
        return ForwardDecision::TtlExceeded;
    }
    let old_word = u16::from_be_bytes([h[TTL], h[TTL + 1]]);
    h[TTL] = ttl - 1;
    let new_word = u16::from_be_bytes([h[TTL], h[TTL + 1]]);
    let old_sum = u16::from_be_bytes([h[CHECKSUM], h[CHECKSUM + 1]]);
    let new_sum = checksum::update16(old_sum, old_word, new_word);
    h[CHECKSUM..CHECKSUM + 2].copy_from_slice(&new_sum.to_be_bytes());
    ForwardDecision::Forward
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Rng;
    use super::super::super::wire::Ipv4Packet;
    use super::*;

    /// The ping request captured on lo (see the wire tests), TTL 64.
    const PING_HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x54, 0x7a, 0x1b, 0x40, 0x00, 0x40, 0x01, 0xc2, 0x8b, 0x7f, 0x00, 0x00,
        0x01, 0x7f, 0x00, 0x00, 0x01,
    ];

    #[test]
    fn captured_header() {
        let mut h = PING_HEADER;
        assert_eq!(decrement_ttl(&mut h), ForwardDecision::Forward);
        assert_eq!(h[8], 63);
        // Linux's ip_decrease_ttl adds 0x0100 to the checksum: 0xc28b -> 0xc38b.
        assert_eq!(h[10..12], [0xc3, 0x8b]);
        assert!(Ipv4Packet::new_unchecked(&h[..]).verify_checksum());
        assert_eq!(h[..8], PING_HEADER[..8]);
        assert_eq!(h[12..], PING_HEADER[12..]);
    }

    #[test]
    fn ttl_one_and_zero_are_not_forwarded() {
        for ttl in [0u8, 1] {
            let mut h = PING_HEADER;
            h[8] = ttl;
            Ipv4Packet::new_unchecked(&mut h[..]).fill_checksum();
            let before = h;
            assert_eq!(decrement_ttl(&mut h), ForwardDecision::TtlExceeded);
            assert_eq!(h, before);
        }
        let mut h = PING_HEADER;
        h[8] = 2;
        Ipv4Packet::new_unchecked(&mut h[..]).fill_checksum();
        assert_eq!(decrement_ttl(&mut h), ForwardDecision::Forward);
        assert_eq!(h[8], 1);
        assert_eq!(decrement_ttl(&mut h), ForwardDecision::TtlExceeded);
    }

    #[test]
    fn short_buffers_are_left_alone() {
        for len in 0..20 {
            let mut h = PING_HEADER;
            assert_eq!(decrement_ttl(&mut h[..len]), ForwardDecision::TtlExceeded);
            assert_eq!(h, PING_HEADER);
        }
    }

    /// For many random headers (with options) and TTLs, the incremental update equals a
    /// full recomputation.
    #[test]
    fn matches_full_recomputation() {
        let mut rng = Rng(0xfeed_f00d);
        let mut buf = [0u8; 60];
        for round in 0..100_000u32 {
            for b in buf.iter_mut() {
                *b = rng.next() as u8;
            }
            let ihl = 5 + (round % 11) as u8;
            buf[0] = 0x40 | ihl;
            let len = usize::from(ihl) * 4;
            Ipv4Packet::new_unchecked(&mut buf[..len]).fill_checksum();
            let ttl = buf[8];
            let mut h = buf;
            let d = decrement_ttl(&mut h[..len]);
            if ttl <= 1 {
                assert_eq!(d, ForwardDecision::TtlExceeded);
                assert_eq!(h, buf);
                continue;
            }
            assert_eq!(d, ForwardDecision::Forward);
            assert_eq!(h[8], ttl - 1);
            assert!(Ipv4Packet::new_unchecked(&h[..len]).verify_checksum());
            let mut full = h;
            Ipv4Packet::new_unchecked(&mut full[..len]).fill_checksum();
            assert_eq!(h, full, "round {round}");
        }
    }
}
