//! Validation of a received IPv4 packet, in the order Linux's `ip_rcv_core` checks it, then
//! the martian source checks of `ip_route_input_slow`.
//!
//! [`check`] takes the bytes from the start of the IP header to the end of the frame (which
//! may run past the packet: Ethernet pads short frames to 60 bytes) and either returns the
//! header fields the rest of the stack needs ([`Checked`]) or the reason to drop the packet
//! ([`InputDrop`], with the name of the counter to bump). The checks, in order:
//!
//! 1. at least 20 bytes ([`InputDrop::Truncated`]);
//! 2. version 4 ([`InputDrop::BadVersion`]);
//! 3. IHL at least 5 ([`InputDrop::BadHeaderLen`]);
//! 4. the whole header, options included, present ([`InputDrop::Truncated`]);
//! 5. the header checksum ([`InputDrop::BadChecksum`]);
//! 6. total length at most the bytes present ([`InputDrop::Truncated`], Linux's
//!    IpInTruncatedPkts) and at least the header length ([`InputDrop::BadTotalLen`]);
//! 7. a source that can be a single host ([`InputDrop::BadSource`]): not multicast
//!    (224/4), not the limited broadcast 255.255.255.255, not loopback (127/8, which never
//!    arrives on a real interface), and not in 0/8 unless the packet goes to the limited
//!    broadcast address (Linux lets `0.0.0.0 -> 255.255.255.255` through for DHCP).
//!
//! Options are not interpreted: they are covered by `header_len` and skipped.

use super::super::wire::{Ipv4Address, Ipv4Packet, Protocol};

/// Why a received packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputDrop {
    /// Shorter than 20 bytes, or than the header length the header declares.
    Truncated,
    /// The version field is not 4.
    BadVersion,
    /// The IHL field is below 5.
    BadHeaderLen,
    /// The total length is shorter than the header or longer than the bytes received.
    BadTotalLen,
    /// The header checksum does not verify.
    BadChecksum,
    /// A martian source: multicast, broadcast, loopback, or 0/8 to anything but broadcast.
    BadSource,
}

impl InputDrop {
    /// The name of the statistics counter for this reason.
    pub fn counter_name(self) -> &'static str {
        match self {
            InputDrop::Truncated => "ip_rx_truncated",
            InputDrop::BadVersion => "ip_rx_bad_version",
            InputDrop::BadHeaderLen => "ip_rx_bad_header_len",
            InputDrop::BadTotalLen => "ip_rx_bad_total_len",
            InputDrop::BadChecksum => "ip_rx_bad_csum",
            InputDrop::BadSource => "ip_rx_bad_src",
        }
    }

    /// Every reason, in the order of the checks (for registering counters).
    pub const ALL: [InputDrop; 6] = [
        InputDrop::Truncated,
        InputDrop::BadVersion,
        InputDrop::BadHeaderLen,
        InputDrop::BadChecksum,
        InputDrop::BadTotalLen,
        InputDrop::BadSource,
    ];
}

impl core::fmt::Display for InputDrop {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.counter_name())
    }
}

/// The fields of a packet that passed [`check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    /// Header length in bytes, options included (20 to 60).
    pub header_len: usize,
    /// Total length in bytes: trim the buffer to this (padding follows it).
    pub total_len: usize,
    /// Source address.
    pub src: Ipv4Address,
    /// Destination address.
    pub dst: Ipv4Address,
    /// Payload protocol.
    pub protocol: Protocol,
    /// Time to live.
    pub ttl: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_frag: bool,
    /// More Fragments.
    pub more_frags: bool,
    /// Fragment offset in bytes (a multiple of 8).
    pub frag_offset: usize,
}

impl Checked {
    /// True for a fragment: More Fragments set or a non-zero offset.
    pub fn is_fragment(&self) -> bool {
        self.more_frags || self.frag_offset != 0
    }

    /// Length of the payload: total length less the header.
    pub fn payload_len(&self) -> usize {
        self.total_len.saturating_sub(self.header_len)
    }
}

/// True when `src` is a martian source for a packet to `dst` (Linux's
/// `ip_route_input_slow`): multicast, limited broadcast, loopback, or 0/8 unless `dst` is
/// the limited broadcast address.
pub fn is_martian_source(src: Ipv4Address, dst: Ipv4Address) -> bool {
    src.is_multicast()
        || src.is_broadcast()
        || src.is_loopback()
        || (src.0[0] == 0 && !dst.is_broadcast())
}

/// Validates a received packet that starts at the IP header; see the module documentation
/// for the checks and their order. `packet` may run past the total length.
pub fn check(packet: &[u8]) -> Result<Checked, InputDrop> {
    if packet.len() < Ipv4Packet::<&[u8]>::HEADER_LEN {
        return Err(InputDrop::Truncated);
    }
    let p = Ipv4Packet::new_unchecked(packet);
    if p.version() != 4 {
        return Err(InputDrop::BadVersion);
    }
    let header_len = p.header_len();
    if header_len < Ipv4Packet::<&[u8]>::HEADER_LEN {
        return Err(InputDrop::BadHeaderLen);
    }
    if header_len > packet.len() {
        return Err(InputDrop::Truncated);
    }
    if !p.verify_checksum() {
        return Err(InputDrop::BadChecksum);
    }
    let total_len = usize::from(p.total_len());
    // As ip_rcv_core: a datagram longer than the frame is truncated (IpInTruncatedPkts);
    // one shorter than its own header is a header error.
    if total_len > packet.len() {
        return Err(InputDrop::Truncated);
    }
    if total_len < header_len {
        return Err(InputDrop::BadTotalLen);
    }
    let (src, dst) = (p.src_addr(), p.dst_addr());
    if is_martian_source(src, dst) {
        return Err(InputDrop::BadSource);
    }
    Ok(Checked {
        header_len,
        total_len,
        src,
        dst,
        protocol: p.protocol(),
        ttl: p.ttl(),
        ident: p.ident(),
        dont_frag: p.dont_frag(),
        more_frags: p.more_frags(),
        frag_offset: usize::from(p.frag_offset()),
    })
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Rng;
    use super::super::super::wire::Ipv4Repr;
    use super::*;

    /// `ping -c1 10.0.2.2` from 10.0.2.15: an echo request with DF and TTL 64, as a
    /// 98-byte Ethernet frame would carry it (the IPv4 part).
    fn ping() -> [u8; 84] {
        let mut b = [0u8; 84];
        let r = Ipv4Repr {
            src: Ipv4Address::new(10, 0, 2, 15),
            dst: Ipv4Address::new(10, 0, 2, 2),
            protocol: Protocol::Icmp,
            payload_len: 64,
            ttl: 64,
            ident: 0x1234,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        };
        r.emit(&mut b).unwrap();
        b
    }

    /// Sets byte `at` to `v` and fixes the header checksum.
    fn patch(b: &mut [u8], at: usize, v: u8) {
        b[at] = v;
        Ipv4Packet::new_unchecked(&mut *b).fill_checksum();
    }

    /// `ping -R -c1 -s 8 127.0.0.1` (IHL 15) from the wire tests, with a non-loopback
    /// source so that it passes.
    const RECORD_ROUTE: [u8; 76] = [
        0x4f, 0x00, 0x00, 0x4c, 0xc9, 0x52, 0x40, 0x00, 0x40, 0x01, 0xc2, 0x4b, 0x7f, 0x00, 0x00,
        0x01, 0x7f, 0x00, 0x00, 0x01, 0x01, 0x07, 0x27, 0x08, 0x7f, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x08, 0x00, 0x75, 0x97, 0x76, 0x57, 0x00, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
        0x07,
    ];

    #[test]
    fn accepts_a_ping() {
        let b = ping();
        let c = check(&b).unwrap();
        assert_eq!(
            c,
            Checked {
                header_len: 20,
                total_len: 84,
                src: Ipv4Address::new(10, 0, 2, 15),
                dst: Ipv4Address::new(10, 0, 2, 2),
                protocol: Protocol::Icmp,
                ttl: 64,
                ident: 0x1234,
                dont_frag: true,
                more_frags: false,
                frag_offset: 0,
            }
        );
        assert!(!c.is_fragment());
        assert_eq!(c.payload_len(), 64);
    }

    #[test]
    fn padding_is_allowed() {
        let mut frame = [0u8; 100];
        frame[..84].copy_from_slice(&ping());
        let c = check(&frame).unwrap();
        assert_eq!(c.total_len, 84);
        // A tiny packet padded to the Ethernet minimum.
        let mut small = [0u8; 46];
        let r = Ipv4Repr {
            src: Ipv4Address::new(192, 168, 0, 1),
            dst: Ipv4Address::new(192, 168, 0, 2),
            protocol: Protocol::Udp,
            payload_len: 8,
            ttl: 1,
            ident: 0,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        };
        r.emit(&mut small).unwrap();
        assert_eq!(check(&small).unwrap().total_len, 28);
    }

    #[test]
    fn options_are_skipped() {
        let mut b = RECORD_ROUTE;
        // Source 10.1.1.1 instead of 127.0.0.1.
        b[12..16].copy_from_slice(&[10, 1, 1, 1]);
        Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
        let c = check(&b).unwrap();
        assert_eq!((c.header_len, c.total_len), (60, 76));
        assert_eq!(c.protocol, Protocol::Icmp);
        // As captured, the loopback source is martian on a real interface.
        assert_eq!(check(&RECORD_ROUTE), Err(InputDrop::BadSource));
        // Cut inside the options.
        for len in 20..60 {
            assert_eq!(check(&b[..len]), Err(InputDrop::Truncated), "len {len}");
        }
    }

    #[test]
    fn truncated() {
        let b = ping();
        for len in 0..20 {
            assert_eq!(check(&b[..len]), Err(InputDrop::Truncated));
        }
        // Header present but total length past the end.
        for len in 20..84 {
            assert_eq!(check(&b[..len]), Err(InputDrop::Truncated), "len {len}");
        }
    }

    #[test]
    fn bad_version_and_ihl() {
        for v in 0..16u8 {
            let mut b = ping();
            patch(&mut b, 0, (v << 4) | 5);
            let want = if v == 4 {
                Ok(())
            } else {
                Err(InputDrop::BadVersion)
            };
            assert_eq!(check(&b).map(|_| ()), want);
        }
        for ihl in 0..5u8 {
            let mut b = ping();
            patch(&mut b, 0, 0x40 | ihl);
            assert_eq!(check(&b), Err(InputDrop::BadHeaderLen));
        }
        // Version is checked before IHL, as in Linux (both fail the same `if` there).
        let mut b = ping();
        patch(&mut b, 0, 0x60);
        assert_eq!(check(&b), Err(InputDrop::BadVersion));
    }

    #[test]
    fn bad_total_len() {
        for total in [0u16, 1, 19] {
            let mut b = ping();
            b[2..4].copy_from_slice(&total.to_be_bytes());
            Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
            assert_eq!(check(&b), Err(InputDrop::BadTotalLen), "total {total}");
        }
        for total in [85u16, 1000, 65535] {
            let mut b = ping();
            b[2..4].copy_from_slice(&total.to_be_bytes());
            Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
            assert_eq!(check(&b), Err(InputDrop::Truncated), "total {total}");
        }
        // Exactly a header is fine.
        let mut b = ping();
        b[2..4].copy_from_slice(&20u16.to_be_bytes());
        Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
        assert_eq!(check(&b).unwrap().total_len, 20);
    }

    #[test]
    fn bad_checksum() {
        for byte in 0..20 {
            for bit in 0..8 {
                let mut b = ping();
                b[byte] ^= 1 << bit;
                let r = check(&b);
                // Flipping the version or IHL bits is caught earlier.
                if byte == 0 {
                    assert!(r.is_err());
                } else {
                    assert_eq!(r, Err(InputDrop::BadChecksum), "byte {byte} bit {bit}");
                }
            }
        }
        // The payload is not covered.
        let mut b = ping();
        b[40] ^= 0xff;
        assert!(check(&b).is_ok());
    }

    #[test]
    fn martian_sources() {
        let bad = [
            Ipv4Address::new(224, 0, 0, 1),
            Ipv4Address::new(239, 255, 255, 250),
            Ipv4Address::BROADCAST,
            Ipv4Address::new(127, 0, 0, 1),
            Ipv4Address::new(127, 255, 0, 9),
            Ipv4Address::UNSPECIFIED,
            Ipv4Address::new(0, 1, 2, 3),
        ];
        for src in bad {
            let mut b = ping();
            b[12..16].copy_from_slice(&src.0);
            Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
            assert_eq!(check(&b), Err(InputDrop::BadSource), "{src}");
        }
        for src in [
            Ipv4Address::new(1, 2, 3, 4),
            Ipv4Address::new(223, 255, 255, 255),
            Ipv4Address::new(240, 0, 0, 1),
            Ipv4Address::new(128, 0, 0, 1),
        ] {
            let mut b = ping();
            b[12..16].copy_from_slice(&src.0);
            Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
            assert!(check(&b).is_ok(), "{src}");
        }
        // DHCP: 0.0.0.0 -> 255.255.255.255 passes.
        let mut b = ping();
        b[12..16].copy_from_slice(&[0; 4]);
        b[16..20].copy_from_slice(&[255; 4]);
        Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
        assert!(check(&b).is_ok());
    }

    #[test]
    fn fragments() {
        let mut b = ping();
        let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
        p.set_dont_frag(false);
        p.set_more_frags(true);
        p.set_frag_offset(1480);
        p.fill_checksum();
        let c = check(&b).unwrap();
        assert!(c.is_fragment() && c.more_frags && !c.dont_frag);
        assert_eq!(c.frag_offset, 1480);
    }

    #[test]
    fn counter_names_are_distinct() {
        let names = InputDrop::ALL.map(InputDrop::counter_name);
        for (i, a) in names.iter().enumerate() {
            assert!(a.starts_with("ip_rx_"));
            for b in &names[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(InputDrop::BadChecksum.counter_name(), "ip_rx_bad_csum");
        assert_eq!(std::format!("{}", InputDrop::BadSource), "ip_rx_bad_src");
    }

    /// Random bytes, and random corruptions of a good packet, never panic; anything
    /// accepted agrees with the wire parser.
    #[test]
    fn never_panics() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut buf = [0u8; 96];
        for round in 0..20_000u32 {
            if round % 2 == 0 {
                for b in buf.iter_mut() {
                    *b = rng.next() as u8;
                }
                buf[0] = 0x40 | (buf[0] & 0x0f);
            } else {
                buf[..84].copy_from_slice(&ping());
                let at = rng.below(20) as usize;
                buf[at] = rng.next() as u8;
            }
            if round % 3 == 0 {
                Ipv4Packet::new_unchecked(&mut buf[..]).fill_checksum();
            }
            let len = rng.below(97) as usize;
            if let Ok(c) = check(&buf[..len]) {
                let p = Ipv4Packet::new_checked(&buf[..c.total_len]).unwrap();
                let r = Ipv4Repr::parse(&p, true).unwrap();
                assert_eq!((r.src, r.dst, r.ttl), (c.src, c.dst, c.ttl));
                assert_eq!(r.payload_len, c.payload_len());
            }
        }
    }
}
