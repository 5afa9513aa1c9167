//! Ethernet II frames (IEEE 802.3 with an EtherType): 6 bytes destination, 6 bytes source,
//! 2 bytes EtherType, then the payload. What a NIC puts on the wire and what a switch reads
//! to learn (source) and forward (destination), as the seed notes on switching describe.

use super::{be16, put_be16, Error, Result};
use core::fmt;

/// A 48-bit MAC address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// ff:ff:ff:ff:ff:ff, the address every station on the segment receives.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);
    /// 00:00:00:00:00:00, the "unknown" target hardware address of an ARP request.
    pub const ZERO: EthernetAddress = EthernetAddress([0; 6]);

    /// The address from the first six bytes of `b`, or `None` if `b` is shorter.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        Some(EthernetAddress(b.get(..6)?.try_into().ok()?))
    }

    /// True for ff:ff:ff:ff:ff:ff.
    pub fn is_broadcast(&self) -> bool {
        self.0 == [0xff; 6]
    }

    /// True when the group bit (bit 0 of the first octet) is set; broadcast is multicast too.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// True for an individual (unicast) address that is not all zeros.
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast() && self.0 != [0; 6]
    }

    /// True when the locally administered bit (bit 1 of the first octet) is set.
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// A valid locally administered unicast address made from six random bytes, as
    /// `eth_random_addr` makes one.
    pub fn random_local(mut random: [u8; 6]) -> Self {
        random[0] = (random[0] & 0xfe) | 0x02;
        EthernetAddress(random)
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// The protocol carried in a frame's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EtherType {
    /// 0x0800
    Ipv4,
    /// 0x0806
    Arp,
    /// 0x86dd
    Ipv6,
    /// 0x8100, an 802.1Q VLAN tag
    Vlan,
    /// Any other value.
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(v: u16) -> Self {
        match v {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            0x8100 => EtherType::Vlan,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(t: EtherType) -> u16 {
        match t {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Vlan => 0x8100,
            EtherType::Unknown(v) => v,
        }
    }
}

/// A view of an Ethernet II frame in a buffer.
#[derive(Debug)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

mod field {
    use core::ops::Range;
    pub(super) const DST: Range<usize> = 0..6;
    pub(super) const SRC: Range<usize> = 6..12;
    pub(super) const ETHERTYPE: usize = 12;
    pub(super) const PAYLOAD: usize = 14;
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Length of the header: destination, source and EtherType.
    pub const HEADER_LEN: usize = field::PAYLOAD;
    /// Smallest payload of a frame on the wire (60 bytes without the FCS, less the header).
    pub const MIN_PAYLOAD: usize = 46;

    /// Wraps `buffer` without checking it; field accessors may then panic. Use
    /// [`Self::new_checked`] for anything that came from the wire.
    pub fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wraps `buffer` after checking that it holds a whole header.
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < Self::HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(EthernetFrame { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The destination address.
    pub fn dst_addr(&self) -> EthernetAddress {
        let mut a = [0u8; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::DST]);
        EthernetAddress(a)
    }

    /// The source address.
    pub fn src_addr(&self) -> EthernetAddress {
        let mut a = [0u8; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::SRC]);
        EthernetAddress(a)
    }

    /// The EtherType.
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(be16(self.buffer.as_ref(), field::ETHERTYPE))
    }

    /// The bytes after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&a.0);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&a.0);
    }

    /// Sets the EtherType.
    pub fn set_ethertype(&mut self, t: EtherType) {
        put_be16(self.buffer.as_mut(), field::ETHERTYPE, t.into());
    }

    /// The bytes after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

/// The meaning of an Ethernet header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Source address.
    pub src_addr: EthernetAddress,
    /// Destination address.
    pub dst_addr: EthernetAddress,
    /// Payload protocol.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Reads the header of a checked frame. A frame from a multicast source is malformed
    /// (IEEE 802.3 forbids it; a switch must not learn such an address).
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<Self> {
        let src_addr = frame.src_addr();
        if src_addr.is_multicast() {
            return Err(Error::Malformed);
        }
        Ok(EthernetRepr {
            src_addr,
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// Length of the header this emits.
    pub const fn header_len(&self) -> usize {
        field::PAYLOAD
    }

    /// Writes the header into the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let mut frame = EthernetFrame::new_checked(buf)?;
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        frame.set_ethertype(self.ethertype);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    const FRAME: [u8; 18] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst: broadcast
        0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // src
        0x08, 0x06, // ARP
        0xde, 0xad, 0xbe, 0xef,
    ];

    #[test]
    fn parse_fields() {
        let f = EthernetFrame::new_checked(&FRAME[..]).unwrap();
        assert!(f.dst_addr().is_broadcast());
        assert_eq!(
            f.src_addr(),
            EthernetAddress([0x02, 0x00, 0x5e, 0x10, 0x20, 0x30])
        );
        assert_eq!(f.ethertype(), EtherType::Arp);
        assert_eq!(f.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        let r = EthernetRepr::parse(&f).unwrap();
        assert_eq!(r.ethertype, EtherType::Arp);
    }

    #[test]
    fn truncated_headers_rejected_at_every_length() {
        for len in 0..EthernetFrame::<&[u8]>::HEADER_LEN {
            assert_eq!(
                EthernetFrame::new_checked(&FRAME[..len]).err(),
                Some(Error::Truncated)
            );
        }
        // Exactly a header and no payload is fine.
        let f = EthernetFrame::new_checked(&FRAME[..14]).unwrap();
        assert!(f.payload().is_empty());
    }

    #[test]
    fn multicast_source_is_malformed() {
        let mut b = FRAME;
        b[6] |= 1;
        let f = EthernetFrame::new_checked(&b[..]).unwrap();
        assert_eq!(EthernetRepr::parse(&f), Err(Error::Malformed));
    }

    #[test]
    fn emit_roundtrip() {
        let r = EthernetRepr {
            src_addr: EthernetAddress([2, 1, 2, 3, 4, 5]),
            dst_addr: EthernetAddress([2, 9, 8, 7, 6, 5]),
            ethertype: EtherType::Unknown(0x88b5),
        };
        let mut buf = [0u8; 20];
        r.emit(&mut buf).unwrap();
        let f = EthernetFrame::new_checked(&buf[..]).unwrap();
        assert_eq!(EthernetRepr::parse(&f).unwrap(), r);
        assert_eq!(r.emit(&mut buf[..13]), Err(Error::Truncated));
    }

    #[test]
    fn address_classes() {
        let a = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
        assert!(a.is_unicast() && a.is_local() && !a.is_multicast());
        assert!(EthernetAddress::BROADCAST.is_multicast());
        assert!(!EthernetAddress::ZERO.is_unicast());
        assert_eq!(a.to_string(), "02:00:00:00:00:01");
        for seed in [[0xffu8; 6], [0u8; 6], [0x01, 2, 3, 4, 5, 6]] {
            let r = EthernetAddress::random_local(seed);
            assert!(r.is_local() && !r.is_multicast());
        }
        assert_eq!(EthernetAddress::from_bytes(&[1, 2, 3, 4, 5]), None);
    }

    #[test]
    fn ethertype_roundtrip() {
        for v in [0x0800u16, 0x0806, 0x86dd, 0x8100, 0x1234] {
            assert_eq!(u16::from(EtherType::from(v)), v);
        }
    }
}
