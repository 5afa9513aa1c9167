//! ICMP for IPv4 (RFC 792): type(8) code(8) checksum(16), four bytes whose meaning depends
//! on the type ("rest of header"), then data. The checksum covers the whole message, which
//! is the IPv4 payload (so the buffer given to [`IcmpPacket`] must be exactly that, without
//! Ethernet padding).
//!
//! Echo request and reply carry an identifier and a sequence number, and the reply returns
//! the request's data unchanged. Error messages (destination unreachable, time exceeded)
//! carry the offending packet's IPv4 header and at least its first 8 payload bytes as data;
//! "fragmentation needed" also carries the next-hop MTU (RFC 1191) in the low half of the
//! rest of the header. The caller provides those data bytes to [`IcmpRepr::emit`], and reads
//! them with [`IcmpPacket::data`].

use super::super::checksum;
use super::{be16, put_be16, Error, Result};

/// Type 0: echo reply.
pub const TYPE_ECHO_REPLY: u8 = 0;
/// Type 3: destination unreachable.
pub const TYPE_DST_UNREACHABLE: u8 = 3;
/// Type 8: echo request.
pub const TYPE_ECHO_REQUEST: u8 = 8;
/// Type 11: time exceeded.
pub const TYPE_TIME_EXCEEDED: u8 = 11;

/// The code of a destination unreachable message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DstUnreachableCode {
    /// 0: no route to the network.
    NetUnreachable,
    /// 1: the host did not answer (ARP failed, say).
    HostUnreachable,
    /// 2: the host does not speak the IP protocol.
    ProtoUnreachable,
    /// 3: nothing listens on the UDP port.
    PortUnreachable,
    /// 4: the packet needed fragmenting but had Don't Fragment set; the message carries the
    /// next-hop MTU.
    FragNeeded,
    /// Any other code.
    Other(u8),
}

impl From<u8> for DstUnreachableCode {
    fn from(v: u8) -> Self {
        match v {
            0 => DstUnreachableCode::NetUnreachable,
            1 => DstUnreachableCode::HostUnreachable,
            2 => DstUnreachableCode::ProtoUnreachable,
            3 => DstUnreachableCode::PortUnreachable,
            4 => DstUnreachableCode::FragNeeded,
            other => DstUnreachableCode::Other(other),
        }
    }
}

impl From<DstUnreachableCode> for u8 {
    fn from(c: DstUnreachableCode) -> u8 {
        match c {
            DstUnreachableCode::NetUnreachable => 0,
            DstUnreachableCode::HostUnreachable => 1,
            DstUnreachableCode::ProtoUnreachable => 2,
            DstUnreachableCode::PortUnreachable => 3,
            DstUnreachableCode::FragNeeded => 4,
            DstUnreachableCode::Other(v) => v,
        }
    }
}

/// The code of a time exceeded message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeExceededCode {
    /// 0: the TTL reached zero in transit.
    TtlExpired,
    /// 1: fragment reassembly timed out.
    FragReassembly,
    /// Any other code.
    Other(u8),
}

impl From<u8> for TimeExceededCode {
    fn from(v: u8) -> Self {
        match v {
            0 => TimeExceededCode::TtlExpired,
            1 => TimeExceededCode::FragReassembly,
            other => TimeExceededCode::Other(other),
        }
    }
}

impl From<TimeExceededCode> for u8 {
    fn from(c: TimeExceededCode) -> u8 {
        match c {
            TimeExceededCode::TtlExpired => 0,
            TimeExceededCode::FragReassembly => 1,
            TimeExceededCode::Other(v) => v,
        }
    }
}

mod field {
    pub(super) const TYPE: usize = 0;
    pub(super) const CODE: usize = 1;
    pub(super) const CHECKSUM: usize = 2;
    pub(super) const REST: usize = 4;
    pub(super) const ECHO_IDENT: usize = 4;
    pub(super) const ECHO_SEQ: usize = 6;
    pub(super) const NEXT_HOP_MTU: usize = 6;
    pub(super) const DATA: usize = 8;
}

/// A view of an ICMP message in a buffer (the whole buffer is the message).
#[derive(Debug)]
pub struct IcmpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> IcmpPacket<T> {
    /// Length of the header: type, code, checksum and the rest of the header.
    pub const HEADER_LEN: usize = field::DATA;

    /// Wraps `buffer` without checking it; field accessors may then panic. Use
    /// [`Self::new_checked`] for anything that came from the wire.
    pub fn new_unchecked(buffer: T) -> Self {
        IcmpPacket { buffer }
    }

    /// Wraps `buffer` after checking that it holds a whole header.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = IcmpPacket { buffer };
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds a whole header ([`Error::Truncated`] if not).
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < field::DATA {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The message type (`TYPE_*`).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// The message code.
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The four bytes after the checksum, big-endian.
    pub fn rest_of_header(&self) -> u32 {
        let b = self.buffer.as_ref();
        (u32::from(be16(b, field::REST)) << 16) | u32::from(be16(b, field::REST + 2))
    }

    /// The identifier of an echo request or reply.
    pub fn echo_ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    /// The sequence number of an echo request or reply.
    pub fn echo_seq_no(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_SEQ)
    }

    /// The next-hop MTU of a "fragmentation needed" message (zero from old routers).
    pub fn next_hop_mtu(&self) -> u16 {
        be16(self.buffer.as_ref(), field::NEXT_HOP_MTU)
    }

    /// The bytes after the header: echo data, or the offending packet's start in an error.
    pub fn data(&self) -> &[u8] {
        self.buffer.as_ref().get(field::DATA..).unwrap_or_default()
    }

    /// True when the whole message sums to all ones.
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(self.buffer.as_ref())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> IcmpPacket<T> {
    /// Sets the message type.
    pub fn set_msg_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::TYPE] = v;
    }

    /// Sets the message code.
    pub fn set_code(&mut self, v: u8) {
        self.buffer.as_mut()[field::CODE] = v;
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        put_be16(self.buffer.as_mut(), field::CHECKSUM, v);
    }

    /// Sets the four bytes after the checksum.
    pub fn set_rest_of_header(&mut self, v: u32) {
        self.buffer.as_mut()[field::REST..field::DATA].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the identifier of an echo request or reply.
    pub fn set_echo_ident(&mut self, v: u16) {
        put_be16(self.buffer.as_mut(), field::ECHO_IDENT, v);
    }

    /// Sets the sequence number of an echo request or reply.
    pub fn set_echo_seq_no(&mut self, v: u16) {
        put_be16(self.buffer.as_mut(), field::ECHO_SEQ, v);
    }

    /// Sets the next-hop MTU of a "fragmentation needed" message.
    pub fn set_next_hop_mtu(&mut self, v: u16) {
        put_be16(self.buffer.as_mut(), field::NEXT_HOP_MTU, v);
    }

    /// Computes the checksum over the whole buffer and writes it. Set everything else
    /// first.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(sum);
    }

    /// The bytes after the header, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(field::DATA..)
            .unwrap_or_default()
    }
}

/// The meaning of an ICMP message's header. The data is not part of it: an echo's length is
/// recorded, and the bytes themselves (echo data, or the offending packet's start) are read
/// with [`IcmpPacket::data`] and handed to [`IcmpRepr::emit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpRepr {
    /// Type 8, code 0.
    EchoRequest {
        /// Identifier (Linux puts the ping socket's port here).
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Length of the data that follows the header.
        data_len: usize,
    },
    /// Type 0, code 0.
    EchoReply {
        /// Identifier, copied from the request.
        ident: u16,
        /// Sequence number, copied from the request.
        seq_no: u16,
        /// Length of the data that follows the header.
        data_len: usize,
    },
    /// Type 3.
    DstUnreachable {
        /// Why the packet could not be delivered.
        code: DstUnreachableCode,
        /// The next-hop MTU for [`DstUnreachableCode::FragNeeded`]; zero otherwise.
        next_hop_mtu: u16,
    },
    /// Type 11.
    TimeExceeded {
        /// TTL expired or reassembly timed out.
        code: TimeExceededCode,
    },
    /// Any other type, or an echo with a code other than 0. Emitted with the rest of the
    /// header zero.
    Other {
        /// The message type.
        msg_type: u8,
        /// The message code.
        code: u8,
    },
}

impl IcmpRepr {
    /// Reads a checked message: a message whose checksum does not verify is
    /// [`Error::Malformed`]. The length is checked again, so an unchecked packet gives an
    /// error rather than a panic.
    pub fn parse<T: AsRef<[u8]>>(packet: &IcmpPacket<T>) -> Result<Self> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::Malformed);
        }
        let data_len = packet.data().len();
        Ok(match (packet.msg_type(), packet.code()) {
            (TYPE_ECHO_REQUEST, 0) => IcmpRepr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data_len,
            },
            (TYPE_ECHO_REPLY, 0) => IcmpRepr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data_len,
            },
            (TYPE_DST_UNREACHABLE, code) => {
                let code = DstUnreachableCode::from(code);
                let next_hop_mtu = if code == DstUnreachableCode::FragNeeded {
                    packet.next_hop_mtu()
                } else {
                    0
                };
                IcmpRepr::DstUnreachable { code, next_hop_mtu }
            }
            (TYPE_TIME_EXCEEDED, code) => IcmpRepr::TimeExceeded {
                code: TimeExceededCode::from(code),
            },
            (msg_type, code) => IcmpRepr::Other { msg_type, code },
        })
    }

    /// Length of the header.
    pub const fn header_len(&self) -> usize {
        field::DATA
    }

    /// The reply to an echo request: same identifier, sequence number and data length.
    /// `None` for any other message.
    pub fn echo_reply(&self) -> Option<IcmpRepr> {
        match *self {
            IcmpRepr::EchoRequest {
                ident,
                seq_no,
                data_len,
            } => Some(IcmpRepr::EchoReply {
                ident,
                seq_no,
                data_len,
            }),
            _ => None,
        }
    }

    /// Writes the header, `data` and the checksum into the start of `buf`; the message is
    /// `8 + data.len()` bytes. For an echo, `data` must be `data_len` long
    /// ([`Error::Malformed`] if not); for an error message it is the offending packet's
    /// IPv4 header and at least 8 bytes of its payload. A buffer shorter than the message
    /// is [`Error::Truncated`].
    pub fn emit(&self, buf: &mut [u8], data: &[u8]) -> Result<()> {
        let len = field::DATA
            .checked_add(data.len())
            .ok_or(Error::Truncated)?;
        let b = buf.get_mut(..len).ok_or(Error::Truncated)?;
        b.get_mut(field::DATA..)
            .ok_or(Error::Truncated)?
            .copy_from_slice(data);
        self.emit_in_place(b)
    }

    /// As [`IcmpRepr::emit`], with the data already in place: `buf` is the whole message,
    /// its data after the 8-byte header, which this writes along with the checksum.
    pub fn emit_in_place(&self, buf: &mut [u8]) -> Result<()> {
        let data_len = buf.len().checked_sub(field::DATA).ok_or(Error::Truncated)?;
        let (msg_type, code, rest) = match *self {
            IcmpRepr::EchoRequest {
                ident,
                seq_no,
                data_len: self_len,
            }
            | IcmpRepr::EchoReply {
                ident,
                seq_no,
                data_len: self_len,
            } => {
                if data_len != self_len {
                    return Err(Error::Malformed);
                }
                let msg_type = if let IcmpRepr::EchoRequest { .. } = self {
                    TYPE_ECHO_REQUEST
                } else {
                    TYPE_ECHO_REPLY
                };
                (msg_type, 0, (u32::from(ident) << 16) | u32::from(seq_no))
            }
            IcmpRepr::DstUnreachable { code, next_hop_mtu } => {
                (TYPE_DST_UNREACHABLE, code.into(), u32::from(next_hop_mtu))
            }
            IcmpRepr::TimeExceeded { code } => (TYPE_TIME_EXCEEDED, code.into(), 0),
            IcmpRepr::Other { msg_type, code } => (msg_type, code, 0),
        };
        let mut p = IcmpPacket::new_unchecked(buf);
        p.set_msg_type(msg_type);
        p.set_code(code);
        p.set_rest_of_header(rest);
        p.fill_checksum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ICMP part of `ping -c1 127.0.0.1` as captured on lo: id 0x751d, seq 1, 56 bytes
    /// of data (a timestamp, then 0x10, 0x11, ...).
    const ECHO_REQUEST: [u8; 64] = [
        0x08, 0x00, 0x89, 0x68, 0x75, 0x1d, 0x00, 0x01, // header
        0x9a, 0xe2, 0x03, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x9b, 0x58, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
        0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c,
        0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    /// The kernel's reply: type 0, checksum 0x9168, the same data.
    const ECHO_REPLY_HEADER: [u8; 8] = [0x00, 0x00, 0x91, 0x68, 0x75, 0x1d, 0x00, 0x01];

    /// The port unreachable Linux sent for a 5-byte UDP datagram to 127.0.0.1:9 (nothing
    /// listening): it quotes the whole offending packet, 33 bytes.
    const PORT_UNREACHABLE: [u8; 41] = [
        0x03, 0x03, 0x1e, 0xb2, 0x00, 0x00, 0x00, 0x00, // header
        0x45, 0x00, 0x00, 0x21, 0xbc, 0xa7, 0x40, 0x00, 0x40, 0x11, 0x80, 0x22, 0x7f, 0x00, 0x00,
        0x01, 0x7f, 0x00, 0x00, 0x01, // offending IPv4 header
        0x9c, 0x41, 0x00, 0x09, 0x00, 0x0d, 0xfe, 0x20, 0x68, 0x65, 0x6c, 0x6c, 0x6f, // UDP
    ];

    #[test]
    fn parse_captured_echo_request() {
        let p = IcmpPacket::new_checked(&ECHO_REQUEST[..]).unwrap();
        assert_eq!(p.msg_type(), TYPE_ECHO_REQUEST);
        assert_eq!(p.code(), 0);
        assert_eq!(p.checksum(), 0x8968);
        assert_eq!(p.rest_of_header(), 0x751d_0001);
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x751d, 1));
        assert_eq!(p.data(), &ECHO_REQUEST[8..]);
        assert!(p.verify_checksum());
        let r = IcmpRepr::parse(&p).unwrap();
        assert_eq!(
            r,
            IcmpRepr::EchoRequest {
                ident: 0x751d,
                seq_no: 1,
                data_len: 56
            }
        );
        assert_eq!(r.header_len(), 8);
    }

    #[test]
    fn reply_matches_the_kernels() {
        let p = IcmpPacket::new_checked(&ECHO_REQUEST[..]).unwrap();
        let reply = IcmpRepr::parse(&p).unwrap().echo_reply().unwrap();
        assert_eq!(reply.echo_reply(), None);
        let mut buf = [0u8; 64];
        reply.emit(&mut buf, p.data()).unwrap();
        assert_eq!(buf[..8], ECHO_REPLY_HEADER);
        assert_eq!(buf[8..], ECHO_REQUEST[8..]);
        let back = IcmpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(IcmpRepr::parse(&back), Ok(reply));
        // And the request re-emits to the captured bytes.
        let req = IcmpRepr::parse(&p).unwrap();
        req.emit(&mut buf, p.data()).unwrap();
        assert_eq!(buf, ECHO_REQUEST);
    }

    #[test]
    fn parse_captured_port_unreachable() {
        let p = IcmpPacket::new_checked(&PORT_UNREACHABLE[..]).unwrap();
        let r = IcmpRepr::parse(&p).unwrap();
        assert_eq!(
            r,
            IcmpRepr::DstUnreachable {
                code: DstUnreachableCode::PortUnreachable,
                next_hop_mtu: 0
            }
        );
        // The data is the offending IPv4 packet: a UDP datagram to port 9.
        let quoted = super::super::ipv4::Ipv4Packet::new_checked(p.data()).unwrap();
        assert_eq!(quoted.protocol(), super::super::ipv4::Protocol::Udp);
        assert_eq!(&quoted.payload()[2..4], &[0x00, 0x09]);
        // Re-emitting with the same data gives the captured bytes.
        let mut buf = [0u8; 41];
        r.emit(&mut buf, p.data()).unwrap();
        assert_eq!(buf, PORT_UNREACHABLE);
    }

    #[test]
    fn frag_needed_carries_the_mtu() {
        let r = IcmpRepr::DstUnreachable {
            code: DstUnreachableCode::FragNeeded,
            next_hop_mtu: 1400,
        };
        let quoted = &PORT_UNREACHABLE[8..36]; // an IPv4 header and 8 bytes
        let mut buf = [0u8; 36];
        r.emit(&mut buf, quoted).unwrap();
        // Type 3, code 4, checksum, unused zero, MTU 1400 = 0x0578.
        assert_eq!(buf[..2], [3, 4]);
        assert_eq!(buf[4..8], [0x00, 0x00, 0x05, 0x78]);
        assert_eq!(u16::from_be_bytes([buf[2], buf[3]]), FRAG_NEEDED_CHECKSUM);
        let p = IcmpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(p.next_hop_mtu(), 1400);
        assert_eq!(IcmpRepr::parse(&p), Ok(r));
        assert_eq!(p.data(), quoted);
        // An MTU in another code is not part of the meaning.
        let mut b = buf;
        b[1] = 1;
        let mut p = IcmpPacket::new_checked(&mut b[..]).unwrap();
        p.fill_checksum();
        assert_eq!(
            IcmpRepr::parse(&p),
            Ok(IcmpRepr::DstUnreachable {
                code: DstUnreachableCode::HostUnreachable,
                next_hop_mtu: 0
            })
        );
    }

    /// Computed independently (Python, RFC 1071) for the message above.
    const FRAG_NEEDED_CHECKSUM: u16 = 0x5d0b;

    #[test]
    fn time_exceeded_and_other_roundtrip() {
        let quoted = &PORT_UNREACHABLE[8..36];
        for r in [
            IcmpRepr::TimeExceeded {
                code: TimeExceededCode::TtlExpired,
            },
            IcmpRepr::TimeExceeded {
                code: TimeExceededCode::FragReassembly,
            },
            IcmpRepr::TimeExceeded {
                code: TimeExceededCode::Other(9),
            },
            IcmpRepr::DstUnreachable {
                code: DstUnreachableCode::Other(13),
                next_hop_mtu: 0,
            },
            IcmpRepr::Other {
                msg_type: 13,
                code: 0,
            },
            IcmpRepr::Other {
                msg_type: TYPE_ECHO_REQUEST,
                code: 1,
            },
        ] {
            let mut buf = [0u8; 36];
            r.emit(&mut buf, quoted).unwrap();
            let p = IcmpPacket::new_checked(&buf[..]).unwrap();
            assert_eq!(IcmpRepr::parse(&p), Ok(r));
            assert_eq!(p.data(), quoted);
            assert_eq!(r.echo_reply(), None);
        }
    }

    #[test]
    fn codes_roundtrip() {
        for v in 0u8..=255 {
            assert_eq!(u8::from(DstUnreachableCode::from(v)), v);
            assert_eq!(u8::from(TimeExceededCode::from(v)), v);
        }
        assert_eq!(DstUnreachableCode::from(4), DstUnreachableCode::FragNeeded);
        assert_eq!(
            DstUnreachableCode::from(2),
            DstUnreachableCode::ProtoUnreachable
        );
    }

    #[test]
    fn emit_errors() {
        let r = IcmpRepr::EchoRequest {
            ident: 1,
            seq_no: 2,
            data_len: 4,
        };
        let mut buf = [0u8; 12];
        for len in 0..12 {
            assert_eq!(
                r.emit(&mut buf[..len], &[1, 2, 3, 4]),
                Err(Error::Truncated)
            );
        }
        assert_eq!(r.emit(&mut buf, &[1, 2, 3]), Err(Error::Malformed));
        assert_eq!(r.emit(&mut buf, &[1, 2, 3, 4]), Ok(()));
        // An empty echo is fine.
        let e = IcmpRepr::EchoReply {
            ident: 0,
            seq_no: 0,
            data_len: 0,
        };
        assert_eq!(e.emit(&mut buf[..8], &[]), Ok(()));
        let p = IcmpPacket::new_checked(&buf[..8]).unwrap();
        assert_eq!(IcmpRepr::parse(&p), Ok(e));
        assert_eq!(p.checksum(), 0xffff);
    }

    #[test]
    fn bad_checksum() {
        for byte in 0..ECHO_REQUEST.len() {
            let mut b = ECHO_REQUEST;
            b[byte] ^= 0x02;
            let p = IcmpPacket::new_checked(&b[..]).unwrap();
            assert_eq!(IcmpRepr::parse(&p), Err(Error::Malformed), "byte {byte}");
        }
        // One byte of data missing also breaks the sum.
        let p = IcmpPacket::new_checked(&ECHO_REQUEST[..63]).unwrap();
        assert_eq!(IcmpRepr::parse(&p), Err(Error::Malformed));
    }

    #[test]
    fn truncated_at_every_length() {
        for len in 0..8 {
            assert_eq!(
                IcmpPacket::new_checked(&ECHO_REQUEST[..len]).err(),
                Some(Error::Truncated)
            );
            assert_eq!(
                IcmpRepr::parse(&IcmpPacket::new_unchecked(&ECHO_REQUEST[..len])),
                Err(Error::Truncated)
            );
        }
        // Any cut after the header leaves a message whose checksum no longer holds (the
        // captured data has no all-zero tail).
        for len in 8..ECHO_REQUEST.len() {
            let p = IcmpPacket::new_checked(&ECHO_REQUEST[..len]).unwrap();
            assert_eq!(IcmpRepr::parse(&p), Err(Error::Malformed), "length {len}");
        }
    }

    #[test]
    fn setters() {
        let mut b = [0u8; 12];
        let mut p = IcmpPacket::new_checked(&mut b[..]).unwrap();
        p.set_msg_type(TYPE_ECHO_REPLY);
        p.set_code(0);
        p.set_echo_ident(0x1234);
        p.set_echo_seq_no(0x5678);
        assert_eq!(p.rest_of_header(), 0x1234_5678);
        p.set_next_hop_mtu(1500);
        assert_eq!(p.echo_seq_no(), 1500);
        p.set_rest_of_header(0xdead_beef);
        assert_eq!((p.echo_ident(), p.next_hop_mtu()), (0xdead, 0xbeef));
        p.data_mut().copy_from_slice(&[1, 2, 3, 4]);
        p.fill_checksum();
        assert!(p.verify_checksum());
        p.set_checksum(0);
        assert!(!p.verify_checksum());
        assert_eq!(p.into_inner()[8..], [1, 2, 3, 4]);
    }

    /// Every prefix of many pseudo-random buffers goes through the ICMP parser without a
    /// panic; an accepted message re-emits to a message with the same meaning.
    #[test]
    fn parser_never_panics() {
        let mut state = 0xdead_beef_cafe_f00du64;
        let mut buf = [0u8; 72];
        for round in 0..3000u32 {
            for b in buf.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = state as u8;
            }
            if round % 2 == 0 {
                buf[0] = [0u8, 3, 8, 11][(round / 2 % 4) as usize];
                buf[1] %= 6;
            }
            for len in 0..=buf.len() {
                let b = &mut buf[..len];
                if round % 3 == 0 && len >= 8 {
                    IcmpPacket::new_unchecked(&mut *b).fill_checksum();
                }
                let Ok(p) = IcmpPacket::new_checked(&*b) else {
                    assert!(len < 8);
                    continue;
                };
                let _ = (p.rest_of_header(), p.next_hop_mtu(), p.data());
                let Ok(r) = IcmpRepr::parse(&p) else {
                    continue;
                };
                assert!(p.verify_checksum());
                let mut out = [0u8; 72];
                r.emit(&mut out, p.data()).unwrap();
                let back = IcmpPacket::new_checked(&out[..len]).unwrap();
                assert_eq!(IcmpRepr::parse(&back), Ok(r));
            }
        }
    }
}
