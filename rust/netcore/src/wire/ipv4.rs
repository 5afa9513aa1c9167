//! IPv4 (RFC 791): addresses and the header.
//!
//! The header is version(4 bits) IHL(4) DSCP/ECN(8) total length(16) identification(16)
//! flags(3) fragment offset(13, in units of 8 bytes) TTL(8) protocol(8) header checksum(16)
//! source(32) destination(32), then `IHL * 4 - 20` bytes of options. [`Ipv4Packet::new_checked`]
//! checks the buffer against the lengths the header itself declares; bytes past the total
//! length (Ethernet pads a short frame to 60 bytes) are not part of the packet.
//! [`Ipv4Repr`] is the meaning of a header: options are skipped when parsing and never
//! emitted. Fragments are parsed like any packet ([`Ipv4Repr::is_fragment`] tells them
//! apart); putting them back together is the reassembly code's business.

use super::super::checksum::{self, Checksum};
use super::{be16, put_be16, Error, Result};
use core::fmt;

/// An IPv4 address, in network byte order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Address(pub [u8; 4]);

impl Ipv4Address {
    /// 0.0.0.0
    pub const UNSPECIFIED: Ipv4Address = Ipv4Address([0; 4]);
    /// 255.255.255.255
    pub const BROADCAST: Ipv4Address = Ipv4Address([255; 4]);

    /// The address `a.b.c.d`.
    pub const fn new(a: u8, b: u8, c: u8, d: u8) -> Self {
        Ipv4Address([a, b, c, d])
    }

    /// The address from the first four bytes of `b`, or `None` if `b` is shorter.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        Some(Ipv4Address(b.get(..4)?.try_into().ok()?))
    }

    /// The address as a host-order integer (for masks and prefix arithmetic).
    pub const fn to_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }

    /// The address of a host-order integer.
    pub const fn from_u32(v: u32) -> Self {
        Ipv4Address(v.to_be_bytes())
    }

    /// True for 0.0.0.0.
    pub fn is_unspecified(self) -> bool {
        self.0 == [0; 4]
    }

    /// True for 255.255.255.255.
    pub fn is_broadcast(self) -> bool {
        self.0 == [255; 4]
    }

    /// True for 224.0.0.0/4.
    pub fn is_multicast(self) -> bool {
        self.0[0] & 0xf0 == 0xe0
    }

    /// True for 127.0.0.0/8.
    pub fn is_loopback(self) -> bool {
        self.0[0] == 127
    }
}

impl fmt::Display for Ipv4Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

/// The protocol carried in an IPv4 packet's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// 1
    Icmp,
    /// 6
    Tcp,
    /// 17
    Udp,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for Protocol {
    fn from(v: u8) -> Self {
        match v {
            1 => Protocol::Icmp,
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            other => Protocol::Unknown(other),
        }
    }
}

impl From<Protocol> for u8 {
    fn from(p: Protocol) -> u8 {
        match p {
            Protocol::Icmp => 1,
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Unknown(v) => v,
        }
    }
}

/// The one's complement sum of the pseudo header that UDP and TCP checksums cover: source,
/// destination, zero, protocol, and the length of the transport header and payload.
pub fn pseudo_header(src: Ipv4Address, dst: Ipv4Address, protocol: Protocol, len: u16) -> Checksum {
    let mut c = Checksum::new();
    c.add_bytes(&src.0)
        .add_bytes(&dst.0)
        .add_u16(u16::from(u8::from(protocol)))
        .add_u16(len);
    c
}

mod field {
    use core::ops::Range;
    pub(super) const VER_IHL: usize = 0;
    pub(super) const DSCP_ECN: usize = 1;
    pub(super) const LENGTH: usize = 2;
    pub(super) const IDENT: usize = 4;
    pub(super) const FLG_OFF: usize = 6;
    pub(super) const TTL: usize = 8;
    pub(super) const PROTOCOL: usize = 9;
    pub(super) const CHECKSUM: usize = 10;
    pub(super) const SRC: Range<usize> = 12..16;
    pub(super) const DST: Range<usize> = 16..20;
    pub(super) const OPTIONS: usize = 20;
}

// The top bit of the flags/offset word is reserved (must be zero); like Linux, this code
// neither checks nor sets it.
/// Don't Fragment.
const FLAG_DF: u16 = 0x4000;
/// More Fragments.
const FLAG_MF: u16 = 0x2000;
/// The fragment offset, in units of 8 bytes.
const OFFSET_MASK: u16 = 0x1fff;

/// A view of an IPv4 packet in a buffer.
#[derive(Debug)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Length of a header without options.
    pub const HEADER_LEN: usize = field::OPTIONS;
    /// Length of the longest header (IHL 15).
    pub const MAX_HEADER_LEN: usize = 60;

    /// Wraps `buffer` without checking it; field accessors may then panic. Use
    /// [`Self::new_checked`] for anything that came from the wire.
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps `buffer` after checking it with [`Self::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Ipv4Packet { buffer };
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds a fixed header with version 4, that the header length
    /// is at least 20 and fits in the buffer, and that the total length covers the header
    /// and fits in the buffer too. A shorter buffer than a field declares is
    /// [`Error::Truncated`]; impossible fields are [`Error::Malformed`].
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < field::OPTIONS {
            return Err(Error::Truncated);
        }
        if self.version() != 4 {
            return Err(Error::Malformed);
        }
        let header_len = self.header_len();
        if header_len < field::OPTIONS {
            return Err(Error::Malformed);
        }
        if header_len > len {
            return Err(Error::Truncated);
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(Error::Malformed);
        }
        if total_len > len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version field (4 for every packet [`Self::new_checked`] accepts).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The IHL field: the header length in 32-bit words.
    pub fn ihl(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] & 0x0f
    }

    /// The header length in bytes, options included (20 to 60).
    pub fn header_len(&self) -> usize {
        // At most 15 * 4.
        usize::from(self.ihl()) * 4
    }

    /// The DSCP and ECN byte (once the type of service).
    pub fn dscp_ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    /// The total length field: header and payload, in bytes.
    pub fn total_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH)
    }

    /// The identification field, shared by the fragments of one datagram.
    pub fn ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::IDENT)
    }

    fn flags_offset(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLG_OFF)
    }

    /// The Don't Fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.flags_offset() & FLAG_DF != 0
    }

    /// The More Fragments flag: another fragment follows this one.
    pub fn more_frags(&self) -> bool {
        self.flags_offset() & FLAG_MF != 0
    }

    /// The fragment offset in bytes (the field counts units of 8 bytes).
    pub fn frag_offset(&self) -> u16 {
        // At most 0x1fff * 8 = 65528.
        (self.flags_offset() & OFFSET_MASK) * 8
    }

    /// True for a fragment: More Fragments set, or a non-zero offset.
    pub fn is_fragment(&self) -> bool {
        self.flags_offset() & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// The time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The payload protocol.
    pub fn protocol(&self) -> Protocol {
        Protocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// The header checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv4Address {
        let mut a = [0u8; 4];
        a.copy_from_slice(&self.buffer.as_ref()[field::SRC]);
        Ipv4Address(a)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv4Address {
        let mut a = [0u8; 4];
        a.copy_from_slice(&self.buffer.as_ref()[field::DST]);
        Ipv4Address(a)
    }

    /// The options: the header bytes after the first 20 (empty when IHL is 5, or when the
    /// header length does not fit the buffer).
    pub fn options(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(field::OPTIONS..self.header_len())
            .unwrap_or_default()
    }

    /// The payload: from the end of the header to the total length, without any padding
    /// that follows (empty when the lengths do not fit the buffer).
    pub fn payload(&self) -> &[u8] {
        let (start, end) = (self.header_len(), usize::from(self.total_len()));
        self.buffer.as_ref().get(start..end).unwrap_or_default()
    }

    /// True when the header, options included, sums to all ones.
    pub fn verify_checksum(&self) -> bool {
        self.buffer
            .as_ref()
            .get(..self.header_len())
            .is_some_and(checksum::verify)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Sets the version field.
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (v << 4);
    }

    /// Sets the IHL field from a header length in bytes (rounded down to 32-bit words;
    /// lengths above 60 are cut to their low four bits of words, so keep to 20..=60).
    pub fn set_header_len(&mut self, len: usize) {
        // Truncation is the documented behaviour: the field has four bits.
        let words = ((len / 4) & 0x0f) as u8;
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | words;
    }

    /// Sets the DSCP and ECN byte.
    pub fn set_dscp_ecn(&mut self, v: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = v;
    }

    /// Sets the total length field.
    pub fn set_total_len(&mut self, v: u16) {
        put_be16(self.buffer.as_mut(), field::LENGTH, v);
    }

    /// Sets the identification field.
    pub fn set_ident(&mut self, v: u16) {
        put_be16(self.buffer.as_mut(), field::IDENT, v);
    }

    fn set_flags_offset(&mut self, v: u16) {
        put_be16(self.buffer.as_mut(), field::FLG_OFF, v);
    }

    /// Clears the three flag bits, keeping the offset.
    pub fn clear_flags(&mut self) {
        let v = self.flags_offset() & OFFSET_MASK;
        self.set_flags_offset(v);
    }

    /// Sets or clears Don't Fragment.
    pub fn set_dont_frag(&mut self, on: bool) {
        let v = self.flags_offset() & !FLAG_DF;
        self.set_flags_offset(if on { v | FLAG_DF } else { v });
    }

    /// Sets or clears More Fragments.
    pub fn set_more_frags(&mut self, on: bool) {
        let v = self.flags_offset() & !FLAG_MF;
        self.set_flags_offset(if on { v | FLAG_MF } else { v });
    }

    /// Sets the fragment offset from a byte count; the low three bits are dropped, since the
    /// field counts units of 8 bytes.
    pub fn set_frag_offset(&mut self, bytes: u16) {
        let v = (self.flags_offset() & !OFFSET_MASK) | (bytes >> 3);
        self.set_flags_offset(v);
    }

    /// Sets the time to live.
    pub fn set_ttl(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v;
    }

    /// Sets the payload protocol.
    pub fn set_protocol(&mut self, p: Protocol) {
        self.buffer.as_mut()[field::PROTOCOL] = p.into();
    }

    /// Sets the header checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        put_be16(self.buffer.as_mut(), field::CHECKSUM, v);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, a: Ipv4Address) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&a.0);
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, a: Ipv4Address) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&a.0);
    }

    /// Computes the header checksum over the header length the packet declares (options
    /// included) and writes it. Set every other header field first.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header_len = self.header_len();
        let sum = self
            .buffer
            .as_ref()
            .get(..header_len)
            .map_or(0, checksum::checksum);
        self.set_checksum(sum);
    }

    /// The payload, writable (same bounds as [`Ipv4Packet::payload`]).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = (self.header_len(), usize::from(self.total_len()));
        self.buffer.as_mut().get_mut(start..end).unwrap_or_default()
    }
}

/// The meaning of an IPv4 header (options aside).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: Ipv4Address,
    /// Destination address.
    pub dst: Ipv4Address,
    /// Payload protocol.
    pub protocol: Protocol,
    /// Payload length in bytes: total length less the header length.
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_frag: bool,
    /// More Fragments.
    pub more_frags: bool,
    /// Offset of this fragment's payload in the datagram, in bytes (a multiple of 8).
    pub frag_offset: u16,
}

impl Ipv4Repr {
    /// Reads a checked packet. Options are skipped. With `checksum_check`, a header that
    /// does not sum to all ones is [`Error::Malformed`]; without it (the NIC verified the
    /// checksum already) the field is not looked at. The lengths are checked again, so an
    /// unchecked packet gives an error rather than a panic.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>, checksum_check: bool) -> Result<Self> {
        packet.check_len()?;
        if checksum_check && !packet.verify_checksum() {
            return Err(Error::Malformed);
        }
        let payload_len = usize::from(packet.total_len())
            .checked_sub(packet.header_len())
            .ok_or(Error::Malformed)?;
        Ok(Ipv4Repr {
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len,
            ttl: packet.ttl(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
        })
    }

    /// Length of the header this emits (no options).
    pub const fn header_len(&self) -> usize {
        field::OPTIONS
    }

    /// Length of the whole packet: header and payload.
    pub const fn buffer_len(&self) -> usize {
        field::OPTIONS.saturating_add(self.payload_len)
    }

    /// True for a fragment: More Fragments set, or a non-zero offset.
    pub fn is_fragment(&self) -> bool {
        self.more_frags || self.frag_offset != 0
    }

    /// Writes a 20-byte header (DSCP/ECN zero, no options) with its checksum into the start
    /// of `buf`; the caller puts the `payload_len` bytes of payload after it. A buffer
    /// shorter than the header is [`Error::Truncated`]; a payload too long for the 16-bit
    /// total length, or a fragment offset that is not a multiple of 8, is
    /// [`Error::Malformed`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let total_len = field::OPTIONS
            .checked_add(self.payload_len)
            .and_then(|l| u16::try_from(l).ok())
            .ok_or(Error::Malformed)?;
        if self.frag_offset & 7 != 0 {
            return Err(Error::Malformed);
        }
        let b = buf.get_mut(..field::OPTIONS).ok_or(Error::Truncated)?;
        let mut p = Ipv4Packet::new_unchecked(b);
        p.set_version(4);
        p.set_header_len(field::OPTIONS);
        p.set_dscp_ecn(0);
        p.set_total_len(total_len);
        p.set_ident(self.ident);
        p.set_flags_offset(0);
        p.set_dont_frag(self.dont_frag);
        p.set_more_frags(self.more_frags);
        p.set_frag_offset(self.frag_offset);
        p.set_ttl(self.ttl);
        p.set_protocol(self.protocol);
        p.set_src_addr(self.src);
        p.set_dst_addr(self.dst);
        p.fill_checksum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    /// `ping -c1 127.0.0.1` as captured on lo: echo request, id 0x7a1b, DF, TTL 64.
    const PING_REQUEST: [u8; 84] = [
        0x45, 0x00, 0x00, 0x54, 0x7a, 0x1b, 0x40, 0x00, 0x40, 0x01, 0xc2, 0x8b, 0x7f, 0x00, 0x00,
        0x01, 0x7f, 0x00, 0x00, 0x01, // IPv4 header
        0x08, 0x00, 0x89, 0x68, 0x75, 0x1d, 0x00, 0x01, // ICMP echo request
        0x9a, 0xe2, 0x03, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x9b, 0x58, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
        0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c,
        0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    /// The header of the kernel's reply to it: id 0x7a1c, no flags.
    const PING_REPLY_HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x54, 0x7a, 0x1c, 0x00, 0x00, 0x40, 0x01, 0x02, 0x8b, 0x7f, 0x00, 0x00,
        0x01, 0x7f, 0x00, 0x00, 0x01,
    ];

    /// `ping -R -c1 -s 8 127.0.0.1`: IHL 15, a NOP and a Record Route option.
    const PING_RECORD_ROUTE: [u8; 76] = [
        0x4f, 0x00, 0x00, 0x4c, 0xc9, 0x52, 0x40, 0x00, 0x40, 0x01, 0xc2, 0x4b, 0x7f, 0x00, 0x00,
        0x01, 0x7f, 0x00, 0x00, 0x01, // fixed header
        0x01, 0x07, 0x27, 0x08, 0x7f, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // options
        0x08, 0x00, 0x75, 0x97, 0x76, 0x57, 0x00, 0x01, // ICMP echo request
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    ];

    /// `ping -s 60` over an MTU of 68: the first fragment (MF, offset 0)...
    const FRAG_FIRST: [u8; 68] = [
        0x45, 0x00, 0x00, 0x44, 0xe7, 0x25, 0x20, 0x00, 0x40, 0x01, 0x75, 0x91, 0x7f, 0x00, 0x00,
        0x01, 0x7f, 0x00, 0x00, 0x01, 0x08, 0x00, 0xa4, 0xf0, 0x76, 0x6f, 0x00, 0x01, 0xbc, 0xe2,
        0x03, 0x6b, 0x00, 0x00, 0x00, 0x00, 0xea, 0x09, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
        0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
    ];

    /// ...and the last (offset 48, no MF).
    const FRAG_LAST: [u8; 40] = [
        0x45, 0x00, 0x00, 0x28, 0xe7, 0x25, 0x00, 0x06, 0x40, 0x01, 0x95, 0xa7, 0x7f, 0x00, 0x00,
        0x01, 0x7f, 0x00, 0x00, 0x01, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31,
        0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b,
    ];

    const LOCALHOST: Ipv4Address = Ipv4Address::new(127, 0, 0, 1);

    #[test]
    fn classes_and_display() {
        let a = Ipv4Address::new(198, 18, 0, 1);
        assert_eq!(a.to_string(), "198.18.0.1");
        assert_eq!(Ipv4Address::from_u32(a.to_u32()), a);
        assert_eq!(a.to_u32(), 0xc612_0001);
        assert!(Ipv4Address::BROADCAST.is_broadcast());
        assert!(Ipv4Address::new(224, 0, 0, 251).is_multicast());
        assert!(!a.is_multicast() && !a.is_unspecified() && !a.is_loopback());
        assert!(Ipv4Address::UNSPECIFIED.is_unspecified());
        assert_eq!(Ipv4Address::from_bytes(&[1, 2, 3]), None);
        assert_eq!(
            Ipv4Address::from_bytes(&[1, 2, 3, 4, 5]),
            Some(Ipv4Address::new(1, 2, 3, 4))
        );
    }

    #[test]
    fn parse_captured_echo_request() {
        let p = Ipv4Packet::new_checked(&PING_REQUEST[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.ihl(), 5);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.dscp_ecn(), 0);
        assert_eq!(p.total_len(), 84);
        assert_eq!(p.ident(), 0x7a1b);
        assert!(p.dont_frag() && !p.more_frags() && !p.is_fragment());
        assert_eq!(p.frag_offset(), 0);
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), Protocol::Icmp);
        assert_eq!(p.checksum(), 0xc28b);
        assert_eq!(p.src_addr(), LOCALHOST);
        assert_eq!(p.dst_addr(), LOCALHOST);
        assert!(p.options().is_empty());
        assert_eq!(p.payload(), &PING_REQUEST[20..]);
        assert!(p.verify_checksum());
        let r = Ipv4Repr::parse(&p, true).unwrap();
        assert_eq!(
            r,
            Ipv4Repr {
                src: LOCALHOST,
                dst: LOCALHOST,
                protocol: Protocol::Icmp,
                payload_len: 64,
                ttl: 64,
                ident: 0x7a1b,
                dont_frag: true,
                more_frags: false,
                frag_offset: 0,
            }
        );
        assert!(!r.is_fragment());
        assert_eq!(r.buffer_len(), 84);
    }

    #[test]
    fn options_are_skipped() {
        let p = Ipv4Packet::new_checked(&PING_RECORD_ROUTE[..]).unwrap();
        assert_eq!(p.header_len(), 60);
        assert_eq!(p.options().len(), 40);
        assert_eq!(&p.options()[..3], &[0x01, 0x07, 0x27]); // NOP, RR of length 39
        assert_eq!(&p.payload()[..2], &[0x08, 0x00]);
        assert!(p.verify_checksum());
        let r = Ipv4Repr::parse(&p, true).unwrap();
        assert_eq!(r.payload_len, 16);
        assert_eq!(r.protocol, Protocol::Icmp);
        // A bit flipped in the options is caught by the header checksum.
        let mut b = PING_RECORD_ROUTE;
        b[40] ^= 0x10;
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&p, true), Err(Error::Malformed));
    }

    #[test]
    fn captured_fragments() {
        let first =
            Ipv4Repr::parse(&Ipv4Packet::new_checked(&FRAG_FIRST[..]).unwrap(), true).unwrap();
        assert!(first.more_frags && !first.dont_frag && first.is_fragment());
        assert_eq!((first.frag_offset, first.payload_len), (0, 48));
        let last =
            Ipv4Repr::parse(&Ipv4Packet::new_checked(&FRAG_LAST[..]).unwrap(), true).unwrap();
        assert!(!last.more_frags && last.is_fragment());
        assert_eq!((last.frag_offset, last.payload_len), (48, 20));
        assert_eq!(first.ident, last.ident);
        // Both re-emit byte for byte.
        let mut buf = [0u8; 20];
        first.emit(&mut buf).unwrap();
        assert_eq!(buf, FRAG_FIRST[..20]);
        last.emit(&mut buf).unwrap();
        assert_eq!(buf, FRAG_LAST[..20]);
        assert!(Ipv4Packet::new_checked(&FRAG_LAST[..])
            .unwrap()
            .is_fragment());
    }

    #[test]
    fn emit_matches_the_kernels_reply() {
        let r = Ipv4Repr {
            src: LOCALHOST,
            dst: LOCALHOST,
            protocol: Protocol::Icmp,
            payload_len: 64,
            ttl: 64,
            ident: 0x7a1c,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        };
        let mut buf = [0xaau8; 20];
        r.emit(&mut buf).unwrap();
        assert_eq!(buf, PING_REPLY_HEADER);
        assert_eq!(r.header_len(), 20);
    }

    #[test]
    fn emit_parse_roundtrip() {
        let mut seed = 0x1234_5678_9abc_def1u64;
        for _ in 0..500 {
            let v = next(&mut seed);
            let r = Ipv4Repr {
                src: Ipv4Address::from_u32(v as u32),
                dst: Ipv4Address::from_u32((v >> 32) as u32),
                protocol: Protocol::from((v >> 8) as u8),
                payload_len: (v >> 16) as usize % 100,
                ttl: (v >> 24) as u8,
                ident: (v >> 40) as u16,
                dont_frag: v & 1 != 0,
                more_frags: v & 2 != 0,
                frag_offset: ((v >> 3) as u16) & 0xfff8,
            };
            let mut buf = [0u8; 120];
            r.emit(&mut buf).unwrap();
            let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
            assert!(p.verify_checksum());
            assert_eq!(Ipv4Repr::parse(&p, true), Ok(r));
            assert_eq!(r.is_fragment(), p.is_fragment());
        }
    }

    #[test]
    fn emit_errors() {
        let mut r =
            Ipv4Repr::parse(&Ipv4Packet::new_checked(&PING_REQUEST[..]).unwrap(), true).unwrap();
        let mut buf = [0u8; 20];
        for len in 0..20 {
            assert_eq!(r.emit(&mut buf[..len]), Err(Error::Truncated));
        }
        r.payload_len = 65515;
        assert_eq!(r.emit(&mut buf), Ok(()));
        r.payload_len = 65516;
        assert_eq!(r.emit(&mut buf), Err(Error::Malformed));
        r.payload_len = usize::MAX;
        assert_eq!(r.emit(&mut buf), Err(Error::Malformed));
        assert_eq!(r.buffer_len(), usize::MAX);
        r.payload_len = 8;
        r.frag_offset = 65528;
        assert_eq!(r.emit(&mut buf), Ok(()));
        assert_eq!(Ipv4Packet::new_unchecked(&buf[..]).frag_offset(), 65528);
        r.frag_offset = 12;
        assert_eq!(r.emit(&mut buf), Err(Error::Malformed));
    }

    #[test]
    fn truncated_at_every_length() {
        for len in 0..PING_REQUEST.len() {
            assert_eq!(
                Ipv4Packet::new_checked(&PING_REQUEST[..len]).err(),
                Some(Error::Truncated),
                "length {len}"
            );
        }
        for len in 0..PING_RECORD_ROUTE.len() {
            assert_eq!(
                Ipv4Packet::new_checked(&PING_RECORD_ROUTE[..len]).err(),
                Some(Error::Truncated),
                "length {len}"
            );
        }
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        // The 40-byte last fragment as it arrives in a minimum-size frame: 46 bytes.
        let mut b = [0u8; 46];
        b[..40].copy_from_slice(&FRAG_LAST);
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload(), &FRAG_LAST[20..]);
        assert_eq!(Ipv4Repr::parse(&p, true).unwrap().payload_len, 20);
    }

    #[test]
    fn bad_version() {
        for v in [0u8, 1, 5, 6, 15] {
            let mut b = PING_REQUEST;
            b[0] = (v << 4) | 5;
            assert_eq!(
                Ipv4Packet::new_checked(&b[..]).err(),
                Some(Error::Malformed)
            );
            assert_eq!(
                Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&b[..]), false),
                Err(Error::Malformed)
            );
        }
    }

    #[test]
    fn bad_ihl() {
        for ihl in 0u8..5 {
            let mut b = PING_REQUEST;
            b[0] = 0x40 | ihl;
            assert_eq!(
                Ipv4Packet::new_checked(&b[..]).err(),
                Some(Error::Malformed)
            );
        }
        // IHL 15 declares 60 bytes of header: a 40-byte packet cannot hold it.
        let mut b = FRAG_LAST;
        b[0] = 0x4f;
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).err(),
            Some(Error::Truncated)
        );
        // IHL 15 with total length 40 in a long enough buffer: total shorter than header.
        let mut big = [0u8; 64];
        big[..40].copy_from_slice(&FRAG_LAST);
        big[0] = 0x4f;
        assert_eq!(
            Ipv4Packet::new_checked(&big[..]).err(),
            Some(Error::Malformed)
        );
    }

    #[test]
    fn bad_total_length() {
        for total in [0u16, 1, 19] {
            let mut b = PING_REQUEST;
            b[2..4].copy_from_slice(&total.to_be_bytes());
            assert_eq!(
                Ipv4Packet::new_checked(&b[..]).err(),
                Some(Error::Malformed)
            );
        }
        for total in [85u16, 1500, 65535] {
            let mut b = PING_REQUEST;
            b[2..4].copy_from_slice(&total.to_be_bytes());
            assert_eq!(
                Ipv4Packet::new_checked(&b[..]).err(),
                Some(Error::Truncated)
            );
        }
        // Exactly a header and no payload is fine.
        let mut b = PING_REQUEST;
        b[2..4].copy_from_slice(&20u16.to_be_bytes());
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert!(p.payload().is_empty());
        assert_eq!(Ipv4Repr::parse(&p, false).unwrap().payload_len, 0);
    }

    #[test]
    fn bad_checksum() {
        for byte in 0..20 {
            if byte == 0 || (2..4).contains(&byte) {
                continue; // those change the lengths, tested above
            }
            let mut b = PING_REQUEST;
            b[byte] ^= 0x01;
            let p = Ipv4Packet::new_checked(&b[..]).unwrap();
            assert!(!p.verify_checksum(), "byte {byte}");
            assert_eq!(Ipv4Repr::parse(&p, true), Err(Error::Malformed));
            assert!(Ipv4Repr::parse(&p, false).is_ok());
        }
    }

    #[test]
    fn setters_and_fill_checksum() {
        let mut b = PING_REQUEST;
        let mut p = Ipv4Packet::new_checked(&mut b[..]).unwrap();
        p.set_ttl(63);
        p.set_dscp_ecn(0xb8);
        p.set_ident(0xbeef);
        p.set_dont_frag(false);
        p.set_more_frags(true);
        p.set_frag_offset(1480);
        p.set_protocol(Protocol::Udp);
        p.set_src_addr(Ipv4Address::new(10, 0, 0, 1));
        p.set_dst_addr(Ipv4Address::new(10, 0, 0, 2));
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!(
            (p.ttl(), p.dscp_ecn(), p.ident(), p.frag_offset()),
            (63, 0xb8, 0xbeef, 1480)
        );
        assert!(!p.dont_frag() && p.more_frags());
        p.clear_flags();
        assert!(!p.more_frags() && p.frag_offset() == 1480);
        p.set_frag_offset(0);
        assert!(!p.is_fragment());
        p.payload_mut()[0] = 0xff;
        assert_eq!(p.payload()[0], 0xff);
        p.set_total_len(20);
        assert!(p.payload_mut().is_empty());
        p.set_header_len(24);
        assert_eq!(p.ihl(), 6);
        p.set_version(6);
        assert_eq!(p.version(), 6);
        let b = p.into_inner();
        assert_eq!(b[0], 0x66);
    }

    #[test]
    fn unchecked_views_do_not_panic_on_variable_parts() {
        // IHL 15 and total length 65535 over a 20-byte buffer: options, payload and the
        // checksum check see nothing instead of reading past the end.
        let mut b = PING_REPLY_HEADER;
        b[0] = 0x4f;
        b[2] = 0xff;
        b[3] = 0xff;
        let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
        assert!(p.options().is_empty() && p.payload().is_empty());
        assert!(!p.verify_checksum());
        assert!(p.payload_mut().is_empty());
        p.fill_checksum();
        assert_eq!(Ipv4Repr::parse(&p, false), Err(Error::Truncated));
        assert_eq!(
            Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&[][..]), true),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn protocol_roundtrip() {
        for v in 0u8..=255 {
            assert_eq!(u8::from(Protocol::from(v)), v);
        }
        assert_eq!(Protocol::from(17), Protocol::Udp);
        assert_eq!(Protocol::from(6), Protocol::Tcp);
    }

    #[test]
    fn pseudo_header_sum() {
        // 192.168.1.10 -> 192.168.1.53, UDP, length 37 (from a captured DNS query).
        let c = pseudo_header(
            Ipv4Address::new(192, 168, 1, 10),
            Ipv4Address::new(192, 168, 1, 53),
            Protocol::Udp,
            37,
        );
        // 0xc0a8 + 0x010a + 0xc0a8 + 0x0135 + 0x0011 + 0x0025 = 0x183c5, folded 0x83c6.
        assert_eq!(c.sum16(), 0x83c6);
    }

    fn next(state: &mut u64) -> u64 {
        // xorshift64
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Every prefix of many pseudo-random buffers, some made to look like IPv4 carrying UDP
    /// or ICMP, goes through every parser without a panic; what is accepted is consistent.
    #[test]
    fn parsers_never_panic() {
        use super::super::icmp::{IcmpPacket, IcmpRepr};
        use super::super::udp::{UdpPacket, UdpRepr};
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut buf = [0u8; 128];
        for round in 0..2000u32 {
            for chunk in buf.chunks_mut(8) {
                let v = next(&mut state).to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
            let shape = round % 5;
            if shape != 0 {
                // A plausible header: version 4, small IHL, total length within the buffer,
                // and for most shapes a transport header with a valid checksum inside.
                buf[0] = 0x40 | (5 + buf[0] % 3);
                let total = 20 + usize::from(buf[2]) % 108;
                buf[2..4].copy_from_slice(&(total as u16).to_be_bytes());
                buf[9] = match shape {
                    1 => 1,
                    2 | 3 => 17,
                    _ => buf[9],
                };
                let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
                p.fill_checksum();
                let (src, dst, hl) = (p.src_addr(), p.dst_addr(), p.header_len());
                if let Some(inner) = buf.get_mut(hl..total) {
                    let room = inner.len();
                    if shape == 1 {
                        if let Ok(mut i) = IcmpPacket::new_checked(inner) {
                            i.fill_checksum();
                        }
                    } else if (2..4).contains(&shape) && room >= 8 {
                        let udp_len = if shape == 2 {
                            room
                        } else {
                            8 + usize::from(inner[5]) % (room - 7)
                        };
                        let mut u = UdpPacket::new_unchecked(inner);
                        u.set_len(udp_len as u16);
                        if shape == 2 {
                            u.fill_checksum(src, dst);
                        } else {
                            u.set_checksum(0);
                        }
                    }
                }
            }
            for len in 0..=buf.len() {
                let b = &buf[..len];
                let _ = UdpPacket::new_checked(b).map(|u| {
                    let _ = (u.payload(), u.verify_checksum(LOCALHOST, LOCALHOST));
                    UdpRepr::parse(&u, LOCALHOST, LOCALHOST, true)
                });
                let _ = IcmpPacket::new_checked(b).map(|i| (i.data().len(), IcmpRepr::parse(&i)));
                let _ = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(b), true);
                let Ok(p) = Ipv4Packet::new_checked(b) else {
                    continue;
                };
                assert!(p.header_len() >= 20 && p.header_len() <= len);
                assert!(usize::from(p.total_len()) <= len);
                let _ = (p.options(), p.verify_checksum(), p.is_fragment());
                let r = Ipv4Repr::parse(&p, false).unwrap();
                assert_eq!(r.payload_len, p.payload().len());
                if Ipv4Repr::parse(&p, true).is_ok() {
                    assert!(p.verify_checksum());
                }
                let (src, dst) = (p.src_addr(), p.dst_addr());
                match p.protocol() {
                    Protocol::Udp => {
                        if let Ok(u) = UdpPacket::new_checked(p.payload()) {
                            assert!(usize::from(u.len()) <= p.payload().len());
                            if let Ok(ur) = UdpRepr::parse(&u, src, dst, true) {
                                let mut out = [0u8; 128];
                                ur.emit(&mut out, src, dst, u.payload()).unwrap();
                                let back = UdpPacket::new_checked(&out[..ur.buffer_len()]);
                                assert!(back.unwrap().verify_checksum(src, dst));
                            }
                        }
                    }
                    Protocol::Icmp => {
                        if let Ok(i) = IcmpPacket::new_checked(p.payload()) {
                            if let Ok(ir) = IcmpRepr::parse(&i) {
                                assert!(i.verify_checksum());
                                let mut out = [0u8; 128];
                                ir.emit(&mut out, i.data()).unwrap();
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}
