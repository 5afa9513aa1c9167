//! ARP packets (RFC 826): "who has this IPv4 address? tell me your MAC address".
//!
//! The header is generic over hardware and protocol address sizes:
//! htype(2) ptype(2) hlen(1) plen(1) oper(2) sha(hlen) spa(plen) tha(hlen) tpa(plen).
//! [`ArpPacket::new_checked`] checks the buffer against the sizes the packet itself declares;
//! [`ArpRepr`] accepts only Ethernet/IPv4 (hlen 6, plen 4), the one kind on an Ethernet link.
//! A request is broadcast; the owner of the target address answers with a unicast reply, and
//! the target learns the sender's binding from the request itself (seed notes: ARP).

use super::{be16, put_be16, Error, EthernetAddress, Ipv4Address, Result};

/// The ARP operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpOperation {
    /// 1: who has the target protocol address?
    Request,
    /// 2: the sender has it.
    Reply,
    /// Anything else (RARP and InARP use 3 to 9).
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(v: u16) -> Self {
        match v {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            other => ArpOperation::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(op: ArpOperation) -> u16 {
        match op {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(v) => v,
        }
    }
}

/// Hardware type 1: Ethernet.
pub const HTYPE_ETHERNET: u16 = 1;
/// Protocol type 0x0800: IPv4.
pub const PTYPE_IPV4: u16 = 0x0800;

mod field {
    pub(super) const HTYPE: usize = 0;
    pub(super) const PTYPE: usize = 2;
    pub(super) const HLEN: usize = 4;
    pub(super) const PLEN: usize = 5;
    pub(super) const OPER: usize = 6;
    pub(super) const ADDRS: usize = 8;
}

/// A view of an ARP packet in a buffer.
#[derive(Debug)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Length of the fixed part, before the addresses.
    pub const FIXED_LEN: usize = field::ADDRS;
    /// Length of an Ethernet/IPv4 ARP packet.
    pub const ETH_IPV4_LEN: usize = field::ADDRS + 2 * (6 + 4);

    /// Wraps `buffer` without checking it.
    pub fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    /// Wraps `buffer` after checking that it holds the fixed part and all four addresses at
    /// the sizes the packet declares.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < field::ADDRS {
            return Err(Error::Truncated);
        }
        let p = ArpPacket { buffer };
        if p.buffer.as_ref().len() < p.len() {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    /// The packet's length as its address sizes declare it (trailing padding excluded).
    pub fn len(&self) -> usize {
        field::ADDRS + 2 * (usize::from(self.hlen()) + usize::from(self.plen()))
    }

    /// Never true: a packet always has its fixed part (present for clippy's len/is_empty pair).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Hardware type.
    pub fn htype(&self) -> u16 {
        be16(self.buffer.as_ref(), field::HTYPE)
    }

    /// Protocol type.
    pub fn ptype(&self) -> u16 {
        be16(self.buffer.as_ref(), field::PTYPE)
    }

    /// Hardware address length.
    pub fn hlen(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length.
    pub fn plen(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// Operation.
    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from(be16(self.buffer.as_ref(), field::OPER))
    }

    fn addr(&self, index: usize) -> &[u8] {
        let (h, p) = (usize::from(self.hlen()), usize::from(self.plen()));
        // sha, spa, tha, tpa in that order.
        let (start, len) = match index {
            0 => (field::ADDRS, h),
            1 => (field::ADDRS + h, p),
            2 => (field::ADDRS + h + p, h),
            _ => (field::ADDRS + 2 * h + p, p),
        };
        &self.buffer.as_ref()[start..start + len]
    }

    /// Sender hardware address (hlen bytes).
    pub fn sender_hw(&self) -> &[u8] {
        self.addr(0)
    }

    /// Sender protocol address (plen bytes).
    pub fn sender_proto(&self) -> &[u8] {
        self.addr(1)
    }

    /// Target hardware address (hlen bytes).
    pub fn target_hw(&self) -> &[u8] {
        self.addr(2)
    }

    /// Target protocol address (plen bytes).
    pub fn target_proto(&self) -> &[u8] {
        self.addr(3)
    }
}

/// An Ethernet/IPv4 ARP packet, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpRepr {
    /// Request or reply.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub source_hardware_addr: EthernetAddress,
    /// Sender protocol address.
    pub source_protocol_addr: Ipv4Address,
    /// Target hardware address (zero in a request).
    pub target_hardware_addr: EthernetAddress,
    /// Target protocol address.
    pub target_protocol_addr: Ipv4Address,
}

impl ArpRepr {
    /// Reads a checked packet. Other hardware or protocol types, or operations other than
    /// request and reply, are [`Error::Unsupported`]; address sizes that do not match the
    /// declared types are [`Error::Malformed`].
    pub fn parse<T: AsRef<[u8]>>(p: &ArpPacket<T>) -> Result<Self> {
        if p.htype() != HTYPE_ETHERNET || p.ptype() != PTYPE_IPV4 {
            return Err(Error::Unsupported);
        }
        if p.hlen() != 6 || p.plen() != 4 {
            return Err(Error::Malformed);
        }
        let operation = p.operation();
        if let ArpOperation::Unknown(_) = operation {
            return Err(Error::Unsupported);
        }
        let hw = |b: &[u8]| EthernetAddress::from_bytes(b).ok_or(Error::Truncated);
        let ip = |b: &[u8]| Ipv4Address::from_bytes(b).ok_or(Error::Truncated);
        Ok(ArpRepr {
            operation,
            source_hardware_addr: hw(p.sender_hw())?,
            source_protocol_addr: ip(p.sender_proto())?,
            target_hardware_addr: hw(p.target_hw())?,
            target_protocol_addr: ip(p.target_proto())?,
        })
    }

    /// Length of the packet this emits.
    pub const fn buffer_len(&self) -> usize {
        ArpPacket::<&[u8]>::ETH_IPV4_LEN
    }

    /// Writes the packet into the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let b = buf.get_mut(..self.buffer_len()).ok_or(Error::Truncated)?;
        put_be16(b, field::HTYPE, HTYPE_ETHERNET);
        put_be16(b, field::PTYPE, PTYPE_IPV4);
        b[field::HLEN] = 6;
        b[field::PLEN] = 4;
        put_be16(b, field::OPER, self.operation.into());
        b[8..14].copy_from_slice(&self.source_hardware_addr.0);
        b[14..18].copy_from_slice(&self.source_protocol_addr.0);
        b[18..24].copy_from_slice(&self.target_hardware_addr.0);
        b[24..28].copy_from_slice(&self.target_protocol_addr.0);
        Ok(())
    }

    /// The reply that the owner of `our_hw` sends to this request: the sender becomes the
    /// target and the answer fills the sender fields. `None` unless this is a request.
    pub fn reply(&self, our_hw: EthernetAddress) -> Option<ArpRepr> {
        if self.operation != ArpOperation::Request {
            return None;
        }
        Some(ArpRepr {
            operation: ArpOperation::Reply,
            source_hardware_addr: our_hw,
            source_protocol_addr: self.target_protocol_addr,
            target_hardware_addr: self.source_hardware_addr,
            target_protocol_addr: self.source_protocol_addr,
        })
    }

    /// True for a gratuitous ARP: sender and target protocol addresses are the same.
    pub fn is_gratuitous(&self) -> bool {
        self.source_protocol_addr == self.target_protocol_addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Who has 198.18.0.2? Tell 198.18.0.1", as Linux sends it (after the Ethernet header).
    pub(crate) const REQUEST: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // Ethernet, IPv4, 6, 4, request
        0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01, 198, 18, 0, 1, // sender
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 198, 18, 0, 2, // target
    ];

    #[test]
    fn parse_request() {
        let p = ArpPacket::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(p.len(), 28);
        let r = ArpRepr::parse(&p).unwrap();
        assert_eq!(r.operation, ArpOperation::Request);
        assert_eq!(
            r.source_hardware_addr,
            EthernetAddress([2, 0xaa, 0xbb, 0xcc, 0xdd, 1])
        );
        assert_eq!(r.source_protocol_addr, Ipv4Address::new(198, 18, 0, 1));
        assert_eq!(r.target_hardware_addr, EthernetAddress::ZERO);
        assert_eq!(r.target_protocol_addr, Ipv4Address::new(198, 18, 0, 2));
        assert!(!r.is_gratuitous());
    }

    #[test]
    fn reply_swaps_roles_and_roundtrips() {
        let req = ArpRepr::parse(&ArpPacket::new_checked(&REQUEST[..]).unwrap()).unwrap();
        let me = EthernetAddress([2, 1, 1, 1, 1, 1]);
        let rep = req.reply(me).unwrap();
        assert_eq!(rep.operation, ArpOperation::Reply);
        assert_eq!(rep.source_protocol_addr, req.target_protocol_addr);
        assert_eq!(rep.target_hardware_addr, req.source_hardware_addr);
        assert_eq!(rep.reply(me), None);
        let mut buf = [0u8; 42];
        rep.emit(&mut buf).unwrap();
        let back = ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()).unwrap();
        assert_eq!(back, rep);
        assert_eq!(rep.emit(&mut buf[..27]), Err(Error::Truncated));
    }

    #[test]
    fn truncated_at_every_length() {
        for len in 0..REQUEST.len() {
            assert_eq!(
                ArpPacket::new_checked(&REQUEST[..len]).err(),
                Some(Error::Truncated)
            );
        }
    }

    #[test]
    fn declared_sizes_bound_the_check() {
        // hlen 255, plen 255 declares 8 + 2 * 510 bytes: a 28-byte buffer must not pass.
        let mut b = REQUEST;
        b[4] = 255;
        b[5] = 255;
        assert_eq!(ArpPacket::new_checked(&b[..]).err(), Some(Error::Truncated));
        // hlen 0, plen 0 is short enough to check but not Ethernet/IPv4.
        b[4] = 0;
        b[5] = 0;
        let p = ArpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.sender_hw(), &[] as &[u8]);
        assert_eq!(ArpRepr::parse(&p), Err(Error::Malformed));
    }

    #[test]
    fn unsupported_types_and_operations() {
        let mut b = REQUEST;
        b[1] = 6; // IEEE 802 hardware
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_checked(&b[..]).unwrap()),
            Err(Error::Unsupported)
        );
        let mut b = REQUEST;
        b[2] = 0x86; // IPv6 protocol type
        b[3] = 0xdd;
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_checked(&b[..]).unwrap()),
            Err(Error::Unsupported)
        );
        let mut b = REQUEST;
        b[7] = 3; // RARP request
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_checked(&b[..]).unwrap()),
            Err(Error::Unsupported)
        );
    }

    #[test]
    fn gratuitous() {
        let mut b = REQUEST;
        b[27] = 1;
        let r = ArpRepr::parse(&ArpPacket::new_checked(&b[..]).unwrap()).unwrap();
        assert!(r.is_gratuitous());
    }

    #[test]
    fn padded_frame_accepted() {
        // Ethernet pads ARP to 46 bytes of payload: the trailing zeros are not part of it.
        let mut b = [0u8; 46];
        b[..28].copy_from_slice(&REQUEST);
        let p = ArpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.len(), 28);
        assert!(ArpRepr::parse(&p).is_ok());
    }
}
