//! UDP datagrams (RFC 768): source port(16) destination port(16) length(16) checksum(16),
//! then the payload. The length covers header and payload; bytes the IP packet carries
//! past it are not part of the datagram. The checksum covers a pseudo header (source and
//! destination addresses, protocol 17, the UDP length) and the whole datagram; over IPv4 a
//! checksum field of zero means the sender computed none, so a computed zero is sent as
//! 0xffff (the same value in one's complement).

use super::ipv4::pseudo_header;
use super::{be16, put_be16, Error, Ipv4Address, Protocol, Result};

mod field {
    pub(super) const SRC_PORT: usize = 0;
    pub(super) const DST_PORT: usize = 2;
    pub(super) const LENGTH: usize = 4;
    pub(super) const CHECKSUM: usize = 6;
    pub(super) const PAYLOAD: usize = 8;
}

/// A view of a UDP datagram in a buffer.
#[derive(Debug)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Length of the header.
    pub const HEADER_LEN: usize = field::PAYLOAD;

    /// Wraps `buffer` without checking it; field accessors may then panic. Use
    /// [`Self::new_checked`] for anything that came from the wire.
    pub fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// Wraps `buffer` after checking it with [`Self::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = UdpPacket { buffer };
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the header and the length the header declares
    /// ([`Error::Truncated`] if not), and that this length covers the header
    /// ([`Error::Malformed`] if not).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < field::PAYLOAD {
            return Err(Error::Truncated);
        }
        let declared = usize::from(self.len());
        if declared < field::PAYLOAD {
            return Err(Error::Malformed);
        }
        if declared > len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port (0 when the sender expects no answer).
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SRC_PORT)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// The length field: header and payload, in bytes.
    pub fn len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH)
    }

    /// True when the length field declares no payload.
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= field::PAYLOAD
    }

    /// The checksum field (0: none was computed).
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The payload: from the end of the header to the declared length (empty when that
    /// length does not fit the buffer).
    pub fn payload(&self) -> &[u8] {
        let end = usize::from(self.len());
        self.buffer
            .as_ref()
            .get(field::PAYLOAD..end)
            .unwrap_or_default()
    }

    /// True when the checksum field is zero (none computed, allowed over IPv4) or the
    /// pseudo header and the datagram sum to all ones. False when the declared length does
    /// not fit the buffer.
    pub fn verify_checksum(&self, src: Ipv4Address, dst: Ipv4Address) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let len = self.len();
        match self.buffer.as_ref().get(..usize::from(len)) {
            Some(datagram) => {
                pseudo_header(src, dst, Protocol::Udp, len)
                    .add_bytes(datagram)
                    .sum16()
                    == 0xffff
            }
            None => false,
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, v: u16) {
        put_be16(self.buffer.as_mut(), field::SRC_PORT, v);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, v: u16) {
        put_be16(self.buffer.as_mut(), field::DST_PORT, v);
    }

    /// Sets the length field.
    pub fn set_len(&mut self, v: u16) {
        put_be16(self.buffer.as_mut(), field::LENGTH, v);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        put_be16(self.buffer.as_mut(), field::CHECKSUM, v);
    }

    /// Computes the checksum over the pseudo header and the declared length of datagram,
    /// and writes it (0xffff for a computed zero). Set every other field and the payload
    /// first. Writes zero ("none") if the declared length does not fit the buffer.
    pub fn fill_checksum(&mut self, src: Ipv4Address, dst: Ipv4Address) {
        self.set_checksum(0);
        let len = self.len();
        let sum = match self.buffer.as_ref().get(..usize::from(len)) {
            Some(datagram) => match pseudo_header(src, dst, Protocol::Udp, len)
                .add_bytes(datagram)
                .finish()
            {
                0 => 0xffff,
                sum => sum,
            },
            None => 0,
        };
        self.set_checksum(sum);
    }

    /// Prepares the checksum for a NIC to finish (`CHECKSUM_PARTIAL`): the field holds the
    /// folded pseudo-header sum, not complemented, and the NIC adds the datagram from the UDP
    /// header on and stores the complement. As Linux's `udp4_hwcsum`.
    pub fn fill_partial_checksum(&mut self, src: Ipv4Address, dst: Ipv4Address) {
        let len = self.len();
        let sum = pseudo_header(src, dst, Protocol::Udp, len).sum16();
        self.set_checksum(sum);
    }

    /// The payload, writable (same bounds as [`UdpPacket::payload`]).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        self.buffer
            .as_mut()
            .get_mut(field::PAYLOAD..end)
            .unwrap_or_default()
    }
}

/// The meaning of a UDP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length in bytes (the length field less the header).
    pub payload_len: usize,
}

impl UdpRepr {
    /// Reads a checked datagram that came from `src_ip` to `dst_ip`. With `verify`, a
    /// non-zero checksum that does not verify is [`Error::Malformed`]; a zero checksum
    /// (none) is accepted. The lengths are checked again, so an unchecked packet gives an
    /// error rather than a panic.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &UdpPacket<T>,
        src_ip: Ipv4Address,
        dst_ip: Ipv4Address,
        verify: bool,
    ) -> Result<Self> {
        packet.check_len()?;
        if verify && !packet.verify_checksum(src_ip, dst_ip) {
            return Err(Error::Malformed);
        }
        let payload_len = usize::from(packet.len())
            .checked_sub(field::PAYLOAD)
            .ok_or(Error::Malformed)?;
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len,
        })
    }

    /// Length of the header.
    pub const fn header_len(&self) -> usize {
        field::PAYLOAD
    }

    /// Length of the datagram this emits: header and payload.
    pub const fn buffer_len(&self) -> usize {
        field::PAYLOAD.saturating_add(self.payload_len)
    }

    /// Writes the header, `payload` and the checksum (over the pseudo header of `src_ip`
    /// and `dst_ip`) into the start of `buf`. A `payload` whose length is not
    /// `payload_len`, or a datagram too long for the 16-bit length field, is
    /// [`Error::Malformed`]; a buffer shorter than the datagram is [`Error::Truncated`].
    pub fn emit(
        &self,
        buf: &mut [u8],
        src_ip: Ipv4Address,
        dst_ip: Ipv4Address,
        payload: &[u8],
    ) -> Result<()> {
        if payload.len() != self.payload_len {
            return Err(Error::Malformed);
        }
        let len = field::PAYLOAD
            .checked_add(self.payload_len)
            .and_then(|l| u16::try_from(l).ok())
            .ok_or(Error::Malformed)?;
        let b = buf.get_mut(..usize::from(len)).ok_or(Error::Truncated)?;
        let mut p = UdpPacket::new_unchecked(b);
        p.set_src_port(self.src_port);
        p.set_dst_port(self.dst_port);
        p.set_len(len);
        let data = p.payload_mut();
        if data.len() != payload.len() {
            return Err(Error::Truncated);
        }
        data.copy_from_slice(payload);
        p.fill_checksum(src_ip, dst_ip);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_checksum_finished_by_a_nic_verifies() {
        let (src, dst) = (Ipv4Address([198, 18, 0, 1]), Ipv4Address([198, 18, 0, 2]));
        for len in [8usize, 9, 20, 1400] {
            let mut buf = std::vec![0u8; len];
            for (i, b) in buf.iter_mut().enumerate().skip(8) {
                *b = (i * 7) as u8;
            }
            let mut p = UdpPacket::new_unchecked(&mut buf[..]);
            p.set_src_port(40000);
            p.set_dst_port(7);
            p.set_len(len as u16);
            p.fill_partial_checksum(src, dst);
            // What the NIC does: the checksum of everything from the UDP header on.
            let done = match crate_checksum(&buf) {
                0 => 0xffff,
                c => c,
            };
            buf[6..8].copy_from_slice(&done.to_be_bytes());
            assert!(
                UdpPacket::new_checked(&buf[..])
                    .unwrap()
                    .verify_checksum(src, dst),
                "len {len}"
            );
        }
    }

    fn crate_checksum(b: &[u8]) -> u16 {
        super::super::super::checksum::checksum(b)
    }

    /// A DNS query for example.com (A, id 0x1234, recursion desired) from
    /// 192.168.1.10:40000 to 192.168.1.53:53, captured on a veth with checksum offload off
    /// (`tcpdump -vv`: "udp sum ok"): the UDP part of the IPv4 packet.
    const DNS_QUERY: [u8; 37] = [
        0x9c, 0x40, 0x00, 0x35, 0x00, 0x25, 0xfd, 0xfc, // 40000 -> 53, length 37, sum
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // DNS header
        0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, // name
        0x00, 0x01, 0x00, 0x01, // type A, class IN
    ];
    const CLIENT: Ipv4Address = Ipv4Address::new(192, 168, 1, 10);
    const SERVER: Ipv4Address = Ipv4Address::new(192, 168, 1, 53);

    #[test]
    fn parse_captured_dns_query() {
        let p = UdpPacket::new_checked(&DNS_QUERY[..]).unwrap();
        assert_eq!(p.src_port(), 40000);
        assert_eq!(p.dst_port(), 53);
        assert_eq!(p.len(), 37);
        assert!(!p.is_empty());
        assert_eq!(p.checksum(), 0xfdfc);
        assert_eq!(p.payload(), &DNS_QUERY[8..]);
        assert!(p.verify_checksum(CLIENT, SERVER));
        // The pseudo header matters: other addresses do not verify.
        assert!(!p.verify_checksum(CLIENT, Ipv4Address::new(192, 168, 1, 54)));
        let r = UdpRepr::parse(&p, CLIENT, SERVER, true).unwrap();
        assert_eq!(
            r,
            UdpRepr {
                src_port: 40000,
                dst_port: 53,
                payload_len: 29
            }
        );
        assert_eq!(r.header_len(), 8);
        assert_eq!(r.buffer_len(), 37);
    }

    #[test]
    fn emit_matches_capture() {
        let r = UdpRepr {
            src_port: 40000,
            dst_port: 53,
            payload_len: 29,
        };
        let mut buf = [0xaau8; 40];
        r.emit(&mut buf, CLIENT, SERVER, &DNS_QUERY[8..]).unwrap();
        assert_eq!(buf[..37], DNS_QUERY);
        assert_eq!(buf[37..], [0xaa; 3]);
    }

    #[test]
    fn emit_parse_roundtrip() {
        let mut payload = [0u8; 64];
        for (i, b) in payload.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(91).wrapping_add(7);
        }
        for len in 0..=payload.len() {
            let r = UdpRepr {
                src_port: 1000 + len as u16,
                dst_port: 7,
                payload_len: len,
            };
            let mut buf = [0u8; 72];
            r.emit(&mut buf, SERVER, CLIENT, &payload[..len]).unwrap();
            let p = UdpPacket::new_checked(&buf[..r.buffer_len()]).unwrap();
            assert_ne!(p.checksum(), 0);
            assert_eq!(UdpRepr::parse(&p, SERVER, CLIENT, true), Ok(r));
            assert_eq!(p.payload(), &payload[..len]);
        }
    }

    #[test]
    fn emit_errors() {
        let r = UdpRepr {
            src_port: 1,
            dst_port: 2,
            payload_len: 4,
        };
        let mut buf = [0u8; 12];
        for len in 0..12 {
            assert_eq!(
                r.emit(&mut buf[..len], CLIENT, SERVER, &[1, 2, 3, 4]),
                Err(Error::Truncated)
            );
        }
        assert_eq!(
            r.emit(&mut buf, CLIENT, SERVER, &[1, 2, 3]),
            Err(Error::Malformed)
        );
        let big = UdpRepr {
            payload_len: 65528,
            ..r
        };
        let payload = std::vec![0u8; 65528];
        let mut out = std::vec![0u8; 65536];
        assert_eq!(
            big.emit(&mut out, CLIENT, SERVER, &payload),
            Err(Error::Malformed)
        );
        let max = UdpRepr {
            payload_len: 65527,
            ..r
        };
        assert_eq!(
            max.emit(&mut out, CLIENT, SERVER, &payload[..65527]),
            Ok(())
        );
        let p = UdpPacket::new_checked(&out[..]).unwrap();
        assert_eq!(p.len(), 65535);
        assert!(p.verify_checksum(CLIENT, SERVER));
    }

    /// A sum that comes out as zero is sent as 0xffff, never as 0 ("no checksum").
    #[test]
    fn computed_zero_is_sent_as_ffff() {
        let r = UdpRepr {
            src_port: 1,
            dst_port: 2,
            payload_len: 2,
        };
        let mut found = 0;
        for w in 0..=0xffffu16 {
            let mut buf = [0u8; 10];
            r.emit(&mut buf, CLIENT, SERVER, &w.to_be_bytes()).unwrap();
            let p = UdpPacket::new_checked(&buf[..]).unwrap();
            assert_ne!(p.checksum(), 0);
            assert!(p.verify_checksum(CLIENT, SERVER));
            if p.checksum() == 0xffff {
                found += 1;
                assert_eq!(w, ZERO_SUM_WORD);
            }
        }
        assert_eq!(found, 1);
    }

    /// The payload word that makes a 1 -> 2 datagram from CLIENT to SERVER sum to zero.
    const ZERO_SUM_WORD: u16 = 0x7c47;

    #[test]
    fn zero_checksum_means_none() {
        let mut b = DNS_QUERY;
        b[6] = 0;
        b[7] = 0;
        let p = UdpPacket::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum(CLIENT, SERVER));
        assert!(UdpRepr::parse(&p, CLIENT, SERVER, true).is_ok());
        // Corrupting the payload is then undetectable, as intended.
        b[20] ^= 0xff;
        let p = UdpPacket::new_checked(&b[..]).unwrap();
        assert!(UdpRepr::parse(&p, CLIENT, SERVER, true).is_ok());
    }

    #[test]
    fn bad_checksum() {
        for byte in 0..DNS_QUERY.len() {
            if (4..6).contains(&byte) {
                continue; // the length, tested below
            }
            let mut b = DNS_QUERY;
            b[byte] ^= 0x40;
            let p = UdpPacket::new_checked(&b[..]).unwrap();
            assert_eq!(
                UdpRepr::parse(&p, CLIENT, SERVER, true),
                Err(Error::Malformed),
                "byte {byte}"
            );
            assert!(UdpRepr::parse(&p, CLIENT, SERVER, false).is_ok());
        }
    }

    #[test]
    fn truncated_at_every_length() {
        for len in 0..DNS_QUERY.len() {
            assert_eq!(
                UdpPacket::new_checked(&DNS_QUERY[..len]).err(),
                Some(Error::Truncated),
                "length {len}"
            );
        }
    }

    #[test]
    fn bad_length_field() {
        for declared in 0u16..8 {
            let mut b = DNS_QUERY;
            b[4..6].copy_from_slice(&declared.to_be_bytes());
            assert_eq!(UdpPacket::new_checked(&b[..]).err(), Some(Error::Malformed));
        }
        for declared in [38u16, 1000, 65535] {
            let mut b = DNS_QUERY;
            b[4..6].copy_from_slice(&declared.to_be_bytes());
            assert_eq!(UdpPacket::new_checked(&b[..]).err(), Some(Error::Truncated));
        }
        // A length shorter than the buffer: the rest is not payload (and not summed).
        let mut b = [0u8; 40];
        b[..37].copy_from_slice(&DNS_QUERY);
        b[37..].copy_from_slice(&[1, 2, 3]);
        let p = UdpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload().len(), 29);
        assert!(UdpRepr::parse(&p, CLIENT, SERVER, true).is_ok());
        // Exactly a header.
        let mut h = [0u8; 8];
        h[5] = 8;
        let p = UdpPacket::new_checked(&h[..]).unwrap();
        assert!(p.is_empty() && p.payload().is_empty());
    }

    #[test]
    fn unchecked_views_do_not_panic_on_variable_parts() {
        let mut b = [0u8; 8];
        b[4] = 0xff; // length 0xff00 over an 8-byte buffer
        b[6] = 1; // and a non-zero checksum
        let mut p = UdpPacket::new_unchecked(&mut b[..]);
        assert!(p.payload().is_empty() && p.payload_mut().is_empty());
        assert!(!p.verify_checksum(CLIENT, SERVER));
        p.fill_checksum(CLIENT, SERVER);
        assert_eq!(p.checksum(), 0);
        assert_eq!(
            UdpRepr::parse(&p, CLIENT, SERVER, false),
            Err(Error::Truncated)
        );
        let empty = UdpPacket::new_unchecked(&[][..]);
        assert_eq!(
            UdpRepr::parse(&empty, CLIENT, SERVER, true),
            Err(Error::Truncated)
        );
        assert_eq!(p.into_inner().len(), 8);
    }

    /// Every prefix of many pseudo-random buffers goes through the UDP parser without a
    /// panic; an accepted datagram re-emits to the same bytes.
    #[test]
    fn parser_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut buf = [0u8; 80];
        for round in 0..3000u32 {
            for b in buf.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = state as u8;
            }
            if round % 2 == 0 {
                let len = 8 + u16::from(buf[5]) % 72;
                buf[4..6].copy_from_slice(&len.to_be_bytes());
                if round % 4 == 0 {
                    UdpPacket::new_unchecked(&mut buf[..]).fill_checksum(CLIENT, SERVER);
                }
            }
            for len in 0..=buf.len() {
                let Ok(p) = UdpPacket::new_checked(&buf[..len]) else {
                    continue;
                };
                assert!(usize::from(p.len()) <= len);
                let Ok(r) = UdpRepr::parse(&p, CLIENT, SERVER, true) else {
                    continue;
                };
                let mut out = [0u8; 80];
                r.emit(&mut out, CLIENT, SERVER, p.payload()).unwrap();
                let n = r.buffer_len();
                if p.checksum() != 0 {
                    assert_eq!(out[..n], buf[..n]);
                } else {
                    assert_eq!(out[..6], buf[..6]);
                    assert_eq!(out[8..n], buf[8..n]);
                }
            }
        }
    }
}
