//! Building whole IPv4 + ICMP packets into caller buffers: echo replies (Linux's
//! `icmp_echo`), echo requests, and error messages (Linux's `icmp_send`), with the policy of
//! when an error may be sent at all ([`error_allowed`], RFC 1122 section 3.2.2).
//!
//! Every packet built here has a 20-byte IPv4 header without options, DF clear, the
//! caller's identification and TTL, and both checksums filled. The offending or request
//! packet given in is a whole IPv4 packet (header first, trimmed to its total length;
//! bytes past the total length are ignored). Nothing here panics on any input: malformed
//! packets are errors.
//!
//! Error messages quote the offending packet's IPv4 header, options included, and as much
//! of its payload as fits in a 576-byte reply (RFC 1812 4.3.2.3; Linux does the same; RFC
//! 792's minimum is the header and 8 bytes). If `out` is smaller than that, less is quoted,
//! down to the RFC 792 minimum. Their TOS is the offending packet's TOS bits with
//! precedence "internetwork control" (0xc0), as Linux sets it.

use super::super::wire::icmp::{TYPE_ECHO_REPLY, TYPE_ECHO_REQUEST};
use super::super::wire::{
    DstUnreachableCode, IcmpPacket, IcmpRepr, Ipv4Address, Ipv4Packet, Ipv4Repr, Protocol,
    TimeExceededCode,
};

/// Length of the IPv4 header this module emits.
const IP_HEADER_LEN: usize = 20;
/// Length of an ICMP header.
const ICMP_HEADER_LEN: usize = 8;
/// Largest ICMP error packet, as Linux and RFC 1812 size them.
pub const MAX_ERROR_LEN: usize = 576;
/// Precedence "internetwork control", ORed into the TOS of error messages.
const TOS_INTERNETCONTROL: u8 = 0xc0;
/// The TOS bits Linux keeps from the offending packet (`IPTOS_TOS_MASK`).
const TOS_MASK: u8 = 0x1e;

/// Why a packet could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpOutError {
    /// The request is not an ICMP echo request.
    NotEchoRequest,
    /// The request's ICMP checksum does not verify.
    BadChecksum,
    /// The input packet is not a well-formed, unfragmented IPv4 packet (or, for an echo
    /// reply, its source cannot be answered: 0/8, broadcast or multicast; or echo data is
    /// too long for one IPv4 packet).
    Malformed,
    /// `out` is too small for the packet.
    BufferTooSmall,
}

impl core::fmt::Display for IcmpOutError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            IcmpOutError::NotEchoRequest => "not an echo request",
            IcmpOutError::BadChecksum => "bad icmp checksum",
            IcmpOutError::Malformed => "malformed packet",
            IcmpOutError::BufferTooSmall => "output buffer too small",
        })
    }
}

/// The ICMP error messages this stack sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpError {
    /// Destination unreachable, code 3: nothing listens on the UDP port.
    PortUnreachable,
    /// Destination unreachable, code 2: the IP protocol is not handled.
    ProtoUnreachable,
    /// Destination unreachable, code 1: the host did not answer (ARP failed).
    HostUnreachable,
    /// Destination unreachable, code 0: no route.
    NetUnreachable,
    /// Destination unreachable, code 4: DF set and the packet does not fit `mtu`.
    FragNeeded {
        /// The next-hop MTU (RFC 1191).
        mtu: u16,
    },
    /// Time exceeded, code 0: the TTL ran out in transit.
    TtlExceeded,
    /// Time exceeded, code 1: fragment reassembly timed out.
    ReasmTimeExceeded,
}

impl IcmpError {
    /// The ICMP header this error is sent with.
    pub fn repr(self) -> IcmpRepr {
        let unreach = |code| IcmpRepr::DstUnreachable {
            code,
            next_hop_mtu: 0,
        };
        match self {
            IcmpError::PortUnreachable => unreach(DstUnreachableCode::PortUnreachable),
            IcmpError::ProtoUnreachable => unreach(DstUnreachableCode::ProtoUnreachable),
            IcmpError::HostUnreachable => unreach(DstUnreachableCode::HostUnreachable),
            IcmpError::NetUnreachable => unreach(DstUnreachableCode::NetUnreachable),
            IcmpError::FragNeeded { mtu } => IcmpRepr::DstUnreachable {
                code: DstUnreachableCode::FragNeeded,
                next_hop_mtu: mtu,
            },
            IcmpError::TtlExceeded => IcmpRepr::TimeExceeded {
                code: TimeExceededCode::TtlExpired,
            },
            IcmpError::ReasmTimeExceeded => IcmpRepr::TimeExceeded {
                code: TimeExceededCode::FragReassembly,
            },
        }
    }
}

/// True for an ICMP type that is a query or a reply to one (Linux's `icmp_pointers` entries
/// without `.error`): echo, timestamp, information and address mask. Every other type,
/// including unknown ones, counts as an error message.
pub fn is_query_type(msg_type: u8) -> bool {
    matches!(msg_type, 0 | 8 | 13..=18)
}

/// True when `a` cannot be the source of a packet from a single host, so that nothing is
/// sent back to it: 0/8, limited broadcast, multicast (RFC 1122 3.2.2). Loopback sources
/// are answered, as Linux answers them on `lo` ([`super::input::check`] already drops them
/// on other interfaces); class E is treated as unicast, as Linux does.
fn is_non_host_source(a: Ipv4Address) -> bool {
    a.0[0] == 0 || a.is_broadcast() || a.is_multicast()
}

/// Wraps and checks an input packet: well formed, header checksum good.
fn checked_input(packet: &[u8]) -> Result<Ipv4Packet<&[u8]>, IcmpOutError> {
    let p = Ipv4Packet::new_checked(packet).map_err(|_| IcmpOutError::Malformed)?;
    if !p.verify_checksum() {
        return Err(IcmpOutError::Malformed);
    }
    Ok(p)
}

/// Writes an IPv4 header (no options, DF clear) for `payload_len` bytes of ICMP into `out`,
/// with `tos`. The caller has checked that `out` holds the whole packet.
fn emit_ip(
    out: &mut [u8],
    src: Ipv4Address,
    dst: Ipv4Address,
    ident: u16,
    ttl: u8,
    tos: u8,
    payload_len: usize,
) -> Result<(), IcmpOutError> {
    let repr = Ipv4Repr {
        src,
        dst,
        protocol: Protocol::Icmp,
        payload_len,
        ttl,
        ident,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    };
    repr.emit(out).map_err(|_| IcmpOutError::BufferTooSmall)?;
    let header = out
        .get_mut(..IP_HEADER_LEN)
        .ok_or(IcmpOutError::BufferTooSmall)?;
    let mut p = Ipv4Packet::new_unchecked(header);
    p.set_dscp_ecn(tos);
    p.fill_checksum();
    Ok(())
}

/// Builds the echo reply to `request_ip_packet`, a whole IPv4 packet carrying an ICMP echo
/// request, into `out`, and returns its length. The reply goes from `our_addr` to the
/// request's source with identification `ident` and TTL `ttl`, keeps the request's TOS
/// (ECN cleared) and, as Linux does, its ICMP code, identifier, sequence number and data.
pub fn echo_reply(
    request_ip_packet: &[u8],
    our_addr: Ipv4Address,
    ident: u16,
    ttl: u8,
    out: &mut [u8],
) -> Result<usize, IcmpOutError> {
    let ip = checked_input(request_ip_packet)?;
    if ip.is_fragment() || is_non_host_source(ip.src_addr()) {
        return Err(IcmpOutError::Malformed);
    }
    if ip.protocol() != Protocol::Icmp {
        return Err(IcmpOutError::NotEchoRequest);
    }
    let msg = ip.payload();
    let icmp = IcmpPacket::new_checked(msg).map_err(|_| IcmpOutError::Malformed)?;
    if !icmp.verify_checksum() {
        return Err(IcmpOutError::BadChecksum);
    }
    if icmp.msg_type() != TYPE_ECHO_REQUEST {
        return Err(IcmpOutError::NotEchoRequest);
    }
    let total = IP_HEADER_LEN
        .checked_add(msg.len())
        .filter(|&t| t <= usize::from(u16::MAX))
        .ok_or(IcmpOutError::Malformed)?;
    let out = out.get_mut(..total).ok_or(IcmpOutError::BufferTooSmall)?;
    let tos = ip.dscp_ecn() & !0x03;
    emit_ip(out, our_addr, ip.src_addr(), ident, ttl, tos, msg.len())?;
    let body = out
        .get_mut(IP_HEADER_LEN..)
        .ok_or(IcmpOutError::BufferTooSmall)?;
    body.copy_from_slice(msg);
    let mut reply = IcmpPacket::new_unchecked(body);
    reply.set_msg_type(TYPE_ECHO_REPLY);
    reply.fill_checksum();
    Ok(total)
}

/// Builds an ICMP echo request (type 8, code 0) from `src` to `dst` with identifier
/// `echo_id`, sequence number `seq` and `data`, in an IPv4 packet with identification
/// `ident` and TTL `ttl`, into `out`; returns its length.
#[allow(clippy::too_many_arguments)]
pub fn echo_request(
    src: Ipv4Address,
    dst: Ipv4Address,
    ident: u16,
    ttl: u8,
    echo_id: u16,
    seq: u16,
    data: &[u8],
    out: &mut [u8],
) -> Result<usize, IcmpOutError> {
    let icmp_len = ICMP_HEADER_LEN
        .checked_add(data.len())
        .ok_or(IcmpOutError::Malformed)?;
    let total = IP_HEADER_LEN
        .checked_add(icmp_len)
        .filter(|&t| t <= usize::from(u16::MAX))
        .ok_or(IcmpOutError::Malformed)?;
    let out = out.get_mut(..total).ok_or(IcmpOutError::BufferTooSmall)?;
    emit_ip(out, src, dst, ident, ttl, 0, icmp_len)?;
    let repr = IcmpRepr::EchoRequest {
        ident: echo_id,
        seq_no: seq,
        data_len: data.len(),
    };
    let body = out
        .get_mut(IP_HEADER_LEN..)
        .ok_or(IcmpOutError::BufferTooSmall)?;
    repr.emit(body, data)
        .map_err(|_| IcmpOutError::BufferTooSmall)?;
    Ok(total)
}

/// True when an ICMP error may be sent about `offending_ip_packet` (RFC 1122 3.2.2, Linux's
/// `icmp_send`). Not when the packet:
///
/// - is not a well-formed IPv4 packet;
/// - is a fragment other than the first (non-zero offset);
/// - is itself an ICMP error message, or an ICMP message too short to tell (only query
///   types, [`is_query_type`], may be answered with an error);
/// - comes from an address that is not a single host (0/8, broadcast, multicast);
/// - went to the limited broadcast address or a multicast address (a directed subnet
///   broadcast needs the routing table: the caller checks it).
pub fn error_allowed(offending_ip_packet: &[u8]) -> bool {
    let Ok(p) = Ipv4Packet::new_checked(offending_ip_packet) else {
        return false;
    };
    allowed(&p, p.payload())
}

/// As [`error_allowed`], for a packet given as its IPv4 `header` (options included) and the
/// start of its `payload`: the first fragment of a datagram whose reassembly timed out,
/// whose header says more fragments follow.
pub fn error_allowed_parts(header: &[u8], payload: &[u8]) -> bool {
    match checked_header(header) {
        Ok(h) => allowed(&h, payload),
        Err(_) => false,
    }
}

fn allowed(p: &Ipv4Packet<&[u8]>, payload: &[u8]) -> bool {
    if p.frag_offset() != 0 {
        return false;
    }
    if is_non_host_source(p.src_addr()) {
        return false;
    }
    let dst = p.dst_addr();
    if dst.is_broadcast() || dst.is_multicast() {
        return false;
    }
    if p.protocol() == Protocol::Icmp {
        return match payload.first() {
            Some(&t) => is_query_type(t),
            None => false,
        };
    }
    true
}

/// A header alone: version 4, IHL matching its length, checksum good.
fn checked_header(header: &[u8]) -> Result<Ipv4Packet<&[u8]>, IcmpOutError> {
    if header.len() < IP_HEADER_LEN {
        return Err(IcmpOutError::Malformed);
    }
    let h = Ipv4Packet::new_unchecked(header);
    if h.version() != 4 || h.header_len() != header.len() || !h.verify_checksum() {
        return Err(IcmpOutError::Malformed);
    }
    Ok(h)
}

/// Builds the ICMP error `kind` about `offending_ip_packet` into `out` and returns its
/// length: from `our_addr` to the offending packet's source, identification `ident`, TTL
/// `ttl`, quoting the offending header and as much of its payload as fits in 576 bytes (or
/// in `out`, down to the header and 8 bytes; less only if the packet itself is shorter).
/// This does not apply [`error_allowed`]: call it first.
pub fn error_message(
    kind: IcmpError,
    offending_ip_packet: &[u8],
    our_addr: Ipv4Address,
    ident: u16,
    ttl: u8,
    out: &mut [u8],
) -> Result<usize, IcmpOutError> {
    let ip = Ipv4Packet::new_checked(offending_ip_packet).map_err(|_| IcmpOutError::Malformed)?;
    let hl = ip.header_len();
    let original = offending_ip_packet
        .get(..usize::from(ip.total_len()))
        .ok_or(IcmpOutError::Malformed)?;
    let (header, payload) = (
        original.get(..hl).ok_or(IcmpOutError::Malformed)?,
        original.get(hl..).ok_or(IcmpOutError::Malformed)?,
    );
    build_error(kind, &ip, header, payload, our_addr, ident, ttl, out)
}

/// As [`error_message`], for a packet given as its IPv4 `header` (options included) and its
/// `payload` (all of it, or at least as much as is to be quoted): the first fragment of a
/// datagram whose reassembly timed out. Check [`error_allowed_parts`] first.
pub fn error_message_parts(
    kind: IcmpError,
    header: &[u8],
    payload: &[u8],
    our_addr: Ipv4Address,
    ident: u16,
    ttl: u8,
    out: &mut [u8],
) -> Result<usize, IcmpOutError> {
    let ip = checked_header(header)?;
    build_error(kind, &ip, header, payload, our_addr, ident, ttl, out)
}

/// Quotes `header` and as much of `payload` as fits (see [`error_message`]).
#[allow(clippy::too_many_arguments)]
fn build_error(
    kind: IcmpError,
    ip: &Ipv4Packet<&[u8]>,
    header: &[u8],
    payload: &[u8],
    our_addr: Ipv4Address,
    ident: u16,
    ttl: u8,
    out: &mut [u8],
) -> Result<usize, IcmpOutError> {
    let original_len = header.len().saturating_add(payload.len());
    let min_quote = original_len.min(header.len().saturating_add(ICMP_HEADER_LEN));
    let max_quote = original_len.min(MAX_ERROR_LEN - IP_HEADER_LEN - ICMP_HEADER_LEN);
    let room = out.len().saturating_sub(IP_HEADER_LEN + ICMP_HEADER_LEN);
    if room < min_quote {
        return Err(IcmpOutError::BufferTooSmall);
    }
    let quote_len = max_quote.min(room);
    let icmp_len = ICMP_HEADER_LEN + quote_len;
    let total = IP_HEADER_LEN + icmp_len;
    let out = out.get_mut(..total).ok_or(IcmpOutError::BufferTooSmall)?;
    let tos = (ip.dscp_ecn() & TOS_MASK) | TOS_INTERNETCONTROL;
    emit_ip(out, our_addr, ip.src_addr(), ident, ttl, tos, icmp_len)?;
    // The quote goes in place first (header, then payload), then the ICMP header and the
    // checksum over both.
    let body = out
        .get_mut(IP_HEADER_LEN..)
        .ok_or(IcmpOutError::BufferTooSmall)?;
    let (hq, pq) = (
        header.len().min(quote_len),
        quote_len.saturating_sub(header.len()),
    );
    let quote = body
        .get_mut(ICMP_HEADER_LEN..ICMP_HEADER_LEN + quote_len)
        .ok_or(IcmpOutError::BufferTooSmall)?;
    let (qh, qp) = quote.split_at_mut(hq);
    qh.copy_from_slice(header.get(..hq).ok_or(IcmpOutError::Malformed)?);
    qp.copy_from_slice(payload.get(..pq).ok_or(IcmpOutError::Malformed)?);
    kind.repr()
        .emit_in_place(body)
        .map_err(|_| IcmpOutError::BufferTooSmall)?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Rng;
    use super::super::super::wire::icmp::{TYPE_DST_UNREACHABLE, TYPE_TIME_EXCEEDED};
    use super::super::super::wire::{UdpPacket, UdpRepr};
    use super::super::input;
    use super::*;

    /// `ping -c1 127.0.0.1` as captured on lo: echo request, IP id 0x7a1b, DF, TTL 64,
    /// ICMP id 0x751d, seq 1, 56 bytes of data.
    const PING_REQUEST: [u8; 84] = [
        0x45, 0x00, 0x00, 0x54, 0x7a, 0x1b, 0x40, 0x00, 0x40, 0x01, 0xc2, 0x8b, 0x7f, 0x00, 0x00,
        0x01, 0x7f, 0x00, 0x00, 0x01, // IPv4 header
        0x08, 0x00, 0x89, 0x68, 0x75, 0x1d, 0x00, 0x01, // ICMP echo request
        0x9a, 0xe2, 0x03, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x9b, 0x58, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
        0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c,
        0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    /// The kernel's reply to it: IP header with id 0x7a1c, no flags...
    const PING_REPLY_HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x54, 0x7a, 0x1c, 0x00, 0x00, 0x40, 0x01, 0x02, 0x8b, 0x7f, 0x00, 0x00,
        0x01, 0x7f, 0x00, 0x00, 0x01,
    ];
    /// ...and ICMP header: type 0, checksum 0x9168.
    const PING_REPLY_ICMP: [u8; 8] = [0x00, 0x00, 0x91, 0x68, 0x75, 0x1d, 0x00, 0x01];

    /// The 33-byte UDP datagram (5 bytes "hello" to port 9) whose port unreachable Linux
    /// sent (see the wire tests).
    const UDP_TO_PORT_9: [u8; 33] = [
        0x45, 0x00, 0x00, 0x21, 0xbc, 0xa7, 0x40, 0x00, 0x40, 0x11, 0x80, 0x22, 0x7f, 0x00, 0x00,
        0x01, 0x7f, 0x00, 0x00, 0x01, 0x9c, 0x41, 0x00, 0x09, 0x00, 0x0d, 0xfe, 0x20, 0x68, 0x65,
        0x6c, 0x6c, 0x6f,
    ];
    /// The port unreachable Linux sent for it: IPv4 header (TOS 0xc0, id 0x4c3b, no DF,
    /// TTL 64, 127.0.0.1 to 127.0.0.1) then ICMP.
    const PORT_UNREACHABLE_ICMP: [u8; 8] = [0x03, 0x03, 0x1e, 0xb2, 0x00, 0x00, 0x00, 0x00];

    const LO: Ipv4Address = Ipv4Address::new(127, 0, 0, 1);
    const US: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
    const PEER: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);

    /// A request from PEER to US (the captured one with other addresses).
    fn request_from_peer() -> [u8; 84] {
        let mut b = PING_REQUEST;
        b[12..16].copy_from_slice(&PEER.0);
        b[16..20].copy_from_slice(&US.0);
        Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
        b
    }

    #[test]
    fn reply_to_captured_ping_matches_linux() {
        let mut out = [0u8; 100];
        let n = echo_reply(&PING_REQUEST, LO, 0x7a1c, 64, &mut out).unwrap();
        assert_eq!(n, 84);
        assert_eq!(out[..20], PING_REPLY_HEADER);
        assert_eq!(out[20..28], PING_REPLY_ICMP);
        assert_eq!(out[28..84], PING_REQUEST[28..]);
        // With other addresses.
        let n = echo_reply(&request_from_peer(), US, 0x7a1c, 64, &mut out).unwrap();
        let ip = Ipv4Packet::new_checked(&out[..n]).unwrap();
        assert_eq!((ip.src_addr(), ip.dst_addr()), (US, PEER));
        assert!(ip.verify_checksum());
        assert_eq!(out[20..28], PING_REPLY_ICMP);
    }

    #[test]
    fn reply_fields_parse_back() {
        let req = request_from_peer();
        let mut out = [0xaau8; 120];
        let n = echo_reply(&req, US, 0x4242, 63, &mut out).unwrap();
        assert_eq!(out[n..], [0xaa; 36]);
        let c = input::check(&out[..n]).unwrap();
        assert_eq!((c.src, c.dst, c.ttl, c.ident), (US, PEER, 63, 0x4242));
        assert!(!c.dont_frag && !c.is_fragment());
        let ip = Ipv4Packet::new_checked(&out[..n]).unwrap();
        let r = Ipv4Repr::parse(&ip, true).unwrap();
        assert_eq!(r.protocol, Protocol::Icmp);
        assert_eq!(r.payload_len, 64);
        let icmp = IcmpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!(
            IcmpRepr::parse(&icmp),
            Ok(IcmpRepr::EchoReply {
                ident: 0x751d,
                seq_no: 1,
                data_len: 56
            })
        );
        assert_eq!(icmp.data(), &req[28..]);
    }

    #[test]
    fn reply_trims_padding_and_keeps_tos_and_code() {
        let mut frame = [0u8; 90];
        frame[..84].copy_from_slice(&request_from_peer());
        let mut p = Ipv4Packet::new_unchecked(&mut frame[..84]);
        p.set_dscp_ecn(0xb9);
        p.fill_checksum();
        // Code 7 on an echo request: Linux answers with the same code.
        frame[21] = 7;
        IcmpPacket::new_unchecked(&mut frame[20..84]).fill_checksum();
        let mut out = [0u8; 100];
        let n = echo_reply(&frame, US, 1, 64, &mut out).unwrap();
        assert_eq!(n, 84);
        let ip = Ipv4Packet::new_checked(&out[..n]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(ip.dscp_ecn(), 0xb8);
        let icmp = IcmpPacket::new_checked(ip.payload()).unwrap();
        assert!(icmp.verify_checksum());
        assert_eq!((icmp.msg_type(), icmp.code()), (0, 7));
    }

    #[test]
    fn reply_errors() {
        let req = request_from_peer();
        let mut out = [0u8; 100];
        // Too small an output.
        for len in 0..84 {
            assert_eq!(
                echo_reply(&req, US, 1, 64, &mut out[..len]),
                Err(IcmpOutError::BufferTooSmall)
            );
        }
        // Bad ICMP checksum.
        let mut b = req;
        b[50] ^= 1;
        assert_eq!(
            echo_reply(&b, US, 1, 64, &mut out),
            Err(IcmpOutError::BadChecksum)
        );
        // An echo reply is not a request, nor is UDP.
        let mut b = req;
        b[20] = 0;
        IcmpPacket::new_unchecked(&mut b[20..]).fill_checksum();
        assert_eq!(
            echo_reply(&b, US, 1, 64, &mut out),
            Err(IcmpOutError::NotEchoRequest)
        );
        let mut b = req;
        b[9] = 17;
        Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
        assert_eq!(
            echo_reply(&b, US, 1, 64, &mut out),
            Err(IcmpOutError::NotEchoRequest)
        );
        // Truncated, bad IP checksum, fragment, short ICMP, unanswerable source.
        assert_eq!(
            echo_reply(&req[..60], US, 1, 64, &mut out),
            Err(IcmpOutError::Malformed)
        );
        let mut b = req;
        b[10] ^= 1;
        assert_eq!(
            echo_reply(&b, US, 1, 64, &mut out),
            Err(IcmpOutError::Malformed)
        );
        let mut b = req;
        Ipv4Packet::new_unchecked(&mut b[..]).set_more_frags(true);
        Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
        assert_eq!(
            echo_reply(&b, US, 1, 64, &mut out),
            Err(IcmpOutError::Malformed)
        );
        let mut b = req;
        b[2..4].copy_from_slice(&24u16.to_be_bytes());
        Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
        assert_eq!(
            echo_reply(&b, US, 1, 64, &mut out),
            Err(IcmpOutError::Malformed)
        );
        for src in [
            Ipv4Address::UNSPECIFIED,
            Ipv4Address::BROADCAST,
            Ipv4Address::new(224, 0, 0, 1),
        ] {
            let mut b = req;
            b[12..16].copy_from_slice(&src.0);
            Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
            assert_eq!(
                echo_reply(&b, US, 1, 64, &mut out),
                Err(IcmpOutError::Malformed)
            );
        }
        assert_eq!(
            std::format!("{}", IcmpOutError::BufferTooSmall),
            "output buffer too small"
        );
    }

    #[test]
    fn request_roundtrip() {
        let data = [0x5au8; 56];
        let mut out = [0u8; 100];
        let n = echo_request(US, PEER, 77, 64, 0x751d, 9, &data, &mut out).unwrap();
        assert_eq!(n, 84);
        let c = input::check(&out[..n]).unwrap();
        assert_eq!((c.src, c.dst, c.ident, c.ttl), (US, PEER, 77, 64));
        let ip = Ipv4Packet::new_checked(&out[..n]).unwrap();
        let icmp = IcmpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!(
            IcmpRepr::parse(&icmp),
            Ok(IcmpRepr::EchoRequest {
                ident: 0x751d,
                seq_no: 9,
                data_len: 56
            })
        );
        assert_eq!(icmp.data(), &data[..]);
        // And the peer's reply to it, built here, is a reply to it.
        let mut swapped = out;
        swapped[12..16].copy_from_slice(&PEER.0);
        swapped[16..20].copy_from_slice(&US.0);
        Ipv4Packet::new_unchecked(&mut swapped[..n]).fill_checksum();
        let mut reply = [0u8; 100];
        assert_eq!(echo_reply(&swapped[..n], US, 1, 64, &mut reply), Ok(84));
        // The captured request, rebuilt.
        let n = echo_request(LO, LO, 0x7a1b, 64, 0x751d, 1, &PING_REQUEST[28..], &mut out).unwrap();
        // Linux's request had DF set; this one has it clear.
        let mut want = [0u8; 20];
        want.copy_from_slice(&PING_REQUEST[..20]);
        let mut p = Ipv4Packet::new_unchecked(&mut want[..]);
        p.set_dont_frag(false);
        p.fill_checksum();
        assert_eq!(out[..20], want);
        assert_eq!(out[20..n], PING_REQUEST[20..]);
    }

    #[test]
    fn request_errors() {
        let mut out = [0u8; 40];
        for len in 0..36 {
            assert_eq!(
                echo_request(
                    US,
                    PEER,
                    1,
                    64,
                    1,
                    1,
                    &[1, 2, 3, 4, 5, 6, 7, 8],
                    &mut out[..len]
                ),
                Err(IcmpOutError::BufferTooSmall)
            );
        }
        assert_eq!(echo_request(US, PEER, 1, 64, 1, 1, &[], &mut out), Ok(28));
        let big = std::vec![0u8; 65508];
        let mut huge = std::vec![0u8; 70000];
        assert_eq!(
            echo_request(US, PEER, 1, 64, 1, 1, &big, &mut huge),
            Err(IcmpOutError::Malformed)
        );
        assert_eq!(
            echo_request(US, PEER, 1, 64, 1, 1, &big[..65507], &mut huge),
            Ok(65535)
        );
    }

    #[test]
    fn port_unreachable_matches_linux() {
        assert!(error_allowed(&UDP_TO_PORT_9));
        let mut out = [0u8; 576];
        let n = error_message(
            IcmpError::PortUnreachable,
            &UDP_TO_PORT_9,
            LO,
            0x4c3b,
            64,
            &mut out,
        )
        .unwrap();
        // The whole 33-byte packet is quoted.
        assert_eq!(n, 20 + 8 + 33);
        assert_eq!(out[20..28], PORT_UNREACHABLE_ICMP);
        assert_eq!(out[28..n], UDP_TO_PORT_9);
        let ip = Ipv4Packet::new_checked(&out[..n]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(ip.dscp_ecn(), 0xc0);
        assert!(!ip.dont_frag());
        assert_eq!((ip.src_addr(), ip.dst_addr(), ip.ttl()), (LO, LO, 64));
        assert_eq!((ip.ident(), ip.protocol()), (0x4c3b, Protocol::Icmp));
    }

    /// A UDP datagram of `payload` bytes from PEER to US, plus `pad` bytes of padding.
    fn udp(payload: usize) -> std::vec::Vec<u8> {
        let mut b = std::vec![0u8; 28 + payload];
        let ip = Ipv4Repr {
            src: PEER,
            dst: US,
            protocol: Protocol::Udp,
            payload_len: 8 + payload,
            ttl: 64,
            ident: 9,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        };
        ip.emit(&mut b).unwrap();
        let data: std::vec::Vec<u8> = (0..payload).map(|i| i as u8).collect();
        UdpRepr {
            src_port: 5000,
            dst_port: 6000,
            payload_len: payload,
        }
        .emit(&mut b[20..], PEER, US, &data)
        .unwrap();
        b
    }

    #[test]
    fn errors_quote_header_and_payload() {
        let kinds = [
            IcmpError::PortUnreachable,
            IcmpError::ProtoUnreachable,
            IcmpError::HostUnreachable,
            IcmpError::NetUnreachable,
            IcmpError::FragNeeded { mtu: 1400 },
            IcmpError::TtlExceeded,
            IcmpError::ReasmTimeExceeded,
        ];
        let big = udp(1472);
        for kind in kinds {
            let mut out = [0u8; 1000];
            let n = error_message(kind, &big, US, 3, 255, &mut out).unwrap();
            assert_eq!(n, 576);
            let c = input::check(&out[..n]).unwrap();
            assert_eq!((c.src, c.dst, c.ttl, c.ident), (US, PEER, 255, 3));
            let ip = Ipv4Packet::new_checked(&out[..n]).unwrap();
            let icmp = IcmpPacket::new_checked(ip.payload()).unwrap();
            assert_eq!(IcmpRepr::parse(&icmp), Ok(kind.repr()));
            assert_eq!(icmp.data(), &big[..548]);
            // The quoted header parses; UDP ports are in the first 8 bytes.
            let q = Ipv4Packet::new_unchecked(icmp.data());
            assert_eq!(q.src_addr(), PEER);
            let u = UdpPacket::new_unchecked(&icmp.data()[20..]);
            assert_eq!((u.src_port(), u.dst_port()), (5000, 6000));
            let want_type = match kind {
                IcmpError::TtlExceeded | IcmpError::ReasmTimeExceeded => TYPE_TIME_EXCEEDED,
                _ => TYPE_DST_UNREACHABLE,
            };
            assert_eq!(icmp.msg_type(), want_type);
            if let IcmpError::FragNeeded { mtu } = kind {
                assert_eq!(icmp.next_hop_mtu(), mtu);
                assert_eq!(icmp.code(), 4);
            }
        }
        // Codes.
        let codes = kinds.map(|k| {
            let mut out = [0u8; 100];
            error_message(k, &UDP_TO_PORT_9, US, 0, 64, &mut out).unwrap();
            out[21]
        });
        assert_eq!(codes, [3, 2, 1, 0, 4, 0, 1]);
    }

    /// The first fragment of `big`'s datagram as its header (MF set, total length of the
    /// fragment) and payload: what the reassembler keeps.
    fn first_fragment(big: &[u8], len: usize) -> (std::vec::Vec<u8>, std::vec::Vec<u8>) {
        let mut h = big[..20].to_vec();
        let mut p = Ipv4Packet::new_unchecked(&mut h[..]);
        p.set_total_len((20 + len) as u16);
        p.set_more_frags(true);
        p.fill_checksum();
        (h, big[20..20 + len].to_vec())
    }

    #[test]
    fn parts_quote_as_the_whole_packet_does() {
        let big = udp(1472);
        for len in [8, 16, 512, 528, 1480] {
            let len = len.min(big.len() - 20);
            let (h, p) = first_fragment(&big, len);
            let mut whole = h.clone();
            whole.extend_from_slice(&p);
            assert!(error_allowed_parts(&h, &p));
            assert_eq!(error_allowed_parts(&h, &p), error_allowed(&whole));
            let (mut a, mut b) = ([0u8; 600], [0u8; 600]);
            let k = IcmpError::ReasmTimeExceeded;
            let n = error_message_parts(k, &h, &p, US, 7, 64, &mut a).unwrap();
            let m = error_message(k, &whole, US, 7, 64, &mut b).unwrap();
            assert_eq!(&a[..n], &b[..m], "first fragment of {len} bytes");
            assert_eq!(n, (20 + 8 + 20 + len).min(576));
            let c = input::check(&a[..n]).unwrap();
            assert_eq!((c.src, c.dst), (US, PEER));
            let icmp = IcmpPacket::new_checked(&a[20..n]).unwrap();
            assert_eq!((icmp.msg_type(), icmp.code()), (TYPE_TIME_EXCEEDED, 1));
            assert!(icmp.verify_checksum());
        }
    }

    #[test]
    fn parts_refuse_bad_headers() {
        let big = udp(100);
        let (h, p) = first_fragment(&big, 80);
        let mut out = [0u8; 600];
        let k = IcmpError::ReasmTimeExceeded;
        let mut bad_csum = h.clone();
        bad_csum[10] ^= 1;
        let mut bad_version = h.clone();
        bad_version[0] = 0x65;
        Ipv4Packet::new_unchecked(&mut bad_version[..]).fill_checksum();
        for bad in [
            &[][..],
            &h[..19],
            &bad_csum[..],
            &bad_version[..],
            &big[..24],
        ] {
            assert!(!error_allowed_parts(bad, &p));
            assert_eq!(
                error_message_parts(k, bad, &p, US, 0, 64, &mut out),
                Err(IcmpOutError::Malformed)
            );
        }
        // A broadcast destination, a non-host source, an ICMP error: no error about them.
        for (at, v) in [(16, [255u8; 4]), (12, [0, 0, 0, 0]), (16, [224, 0, 0, 1])] {
            let mut x = h.clone();
            x[at..at + 4].copy_from_slice(&v);
            Ipv4Packet::new_unchecked(&mut x[..]).fill_checksum();
            assert!(!error_allowed_parts(&x, &p));
        }
        let mut icmp = h.clone();
        icmp[9] = 1;
        Ipv4Packet::new_unchecked(&mut icmp[..]).fill_checksum();
        assert!(!error_allowed_parts(&icmp, &[3, 3]));
        assert!(error_allowed_parts(&icmp, &[8, 0]));
        assert!(!error_allowed_parts(&icmp, &[]));
        // A payload shorter than 8 bytes quotes what there is.
        let n = error_message_parts(k, &h, &p[..3], US, 0, 64, &mut out).unwrap();
        assert_eq!(n, 20 + 8 + 20 + 3);
    }

    #[test]
    fn quote_shrinks_to_fit_the_buffer() {
        let big = udp(1000);
        let mut out = [0u8; 600];
        // 28 + 28 (header and 8 bytes) is the least that works.
        for len in 0..56 {
            assert_eq!(
                error_message(IcmpError::PortUnreachable, &big, US, 0, 64, &mut out[..len]),
                Err(IcmpOutError::BufferTooSmall)
            );
        }
        for len in 56..600 {
            let n = error_message(IcmpError::PortUnreachable, &big, US, 0, 64, &mut out[..len])
                .unwrap();
            assert_eq!(n, len.min(576));
            let ip = Ipv4Packet::new_checked(&out[..n]).unwrap();
            let icmp = IcmpPacket::new_checked(ip.payload()).unwrap();
            assert!(icmp.verify_checksum());
            assert_eq!(icmp.data(), &big[..n - 28]);
        }
        // With options: the quote covers the whole 60-byte header and 8 bytes.
        let mut opt = [0u8; 100];
        let r = Ipv4Repr {
            src: PEER,
            dst: US,
            protocol: Protocol::Udp,
            payload_len: 40,
            ttl: 1,
            ident: 1,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        };
        r.emit(&mut opt).unwrap();
        let mut p = Ipv4Packet::new_unchecked(&mut opt[..]);
        p.set_header_len(60);
        p.set_total_len(100);
        p.fill_checksum();
        assert_eq!(
            error_message(IcmpError::TtlExceeded, &opt, US, 0, 64, &mut out[..95]),
            Err(IcmpOutError::BufferTooSmall)
        );
        assert_eq!(
            error_message(IcmpError::TtlExceeded, &opt, US, 0, 64, &mut out[..96]),
            Ok(96)
        );
        // A packet shorter than header + 8 is quoted whole.
        let tiny = udp(0);
        let mut p = Ipv4Packet::new_unchecked(tiny.clone());
        p.set_total_len(24);
        p.fill_checksum();
        let tiny = p.into_inner();
        assert_eq!(
            error_message(
                IcmpError::PortUnreachable,
                &tiny[..24],
                US,
                0,
                64,
                &mut out[..52]
            ),
            Ok(52)
        );
    }

    #[test]
    fn error_quotes_only_the_packet_not_padding() {
        let mut frame = [0xeeu8; 60];
        frame[..33].copy_from_slice(&UDP_TO_PORT_9);
        let mut out = [0u8; 576];
        let n = error_message(IcmpError::PortUnreachable, &frame, US, 0, 64, &mut out).unwrap();
        assert_eq!(n, 61);
        assert_eq!(out[28..61], UDP_TO_PORT_9);
    }

    #[test]
    fn error_tos() {
        let mut b = udp(8);
        let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
        p.set_dscp_ecn(0xff);
        p.fill_checksum();
        let mut out = [0u8; 576];
        error_message(IcmpError::HostUnreachable, &b, US, 0, 64, &mut out).unwrap();
        assert_eq!(out[1], 0xde);
    }

    #[test]
    fn error_message_malformed() {
        let mut out = [0u8; 576];
        for bad in [&[][..], &[0x45; 19][..], &UDP_TO_PORT_9[..32]] {
            assert_eq!(
                error_message(IcmpError::TtlExceeded, bad, US, 0, 64, &mut out),
                Err(IcmpOutError::Malformed)
            );
        }
    }

    /// Sets the ICMP type of a packet from PEER to US with an 8-byte ICMP message.
    fn icmp_of_type(t: u8) -> [u8; 28] {
        let mut b = [0u8; 28];
        Ipv4Repr {
            src: PEER,
            dst: US,
            protocol: Protocol::Icmp,
            payload_len: 8,
            ttl: 64,
            ident: 1,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        }
        .emit(&mut b)
        .unwrap();
        b[20] = t;
        b
    }

    #[test]
    fn error_allowed_cases() {
        // UDP, and ICMP queries.
        assert!(error_allowed(&udp(10)));
        for t in [0u8, 8, 13, 14, 15, 16, 17, 18] {
            assert!(error_allowed(&icmp_of_type(t)), "type {t}");
        }
        // ICMP errors, and unknown types (assumed errors).
        for t in [1u8, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 19, 40, 255] {
            assert!(!error_allowed(&icmp_of_type(t)), "type {t}");
        }
        // ICMP without a type byte.
        let b = icmp_of_type(8);
        let mut short = [0u8; 20];
        short.copy_from_slice(&b[..20]);
        let mut p = Ipv4Packet::new_unchecked(&mut short[..]);
        p.set_total_len(20);
        p.fill_checksum();
        assert!(!error_allowed(&short));
        // Fragments: the first is fine, the others are not.
        for (mf, off, ok) in [(true, 0, true), (true, 8, false), (false, 1480, false)] {
            let mut b = udp(10);
            let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
            p.set_more_frags(mf);
            p.set_frag_offset(off);
            p.fill_checksum();
            assert_eq!(error_allowed(&b), ok, "mf {mf} off {off}");
        }
        // Sources that are not one host.
        for src in [
            Ipv4Address::UNSPECIFIED,
            Ipv4Address::new(0, 0, 0, 7),
            Ipv4Address::BROADCAST,
            Ipv4Address::new(224, 0, 0, 251),
        ] {
            let mut b = udp(10);
            b[12..16].copy_from_slice(&src.0);
            assert!(!error_allowed(&b), "src {src}");
        }
        // Broadcast and multicast destinations.
        for dst in [Ipv4Address::BROADCAST, Ipv4Address::new(239, 1, 2, 3)] {
            let mut b = udp(10);
            b[16..20].copy_from_slice(&dst.0);
            assert!(!error_allowed(&b), "dst {dst}");
        }
        // Malformed.
        assert!(!error_allowed(&[]));
        assert!(!error_allowed(&udp(10)[..20]));
        // The captured UDP.
        assert!(error_allowed(&UDP_TO_PORT_9));
        // Errors about our own errors are refused: build one and ask.
        let mut out = [0u8; 576];
        let n = error_message(IcmpError::PortUnreachable, &udp(10), US, 0, 64, &mut out).unwrap();
        assert!(!error_allowed(&out[..n]));
        // But an echo reply may be the subject of one.
        let n = echo_reply(&request_from_peer(), US, 1, 64, &mut out).unwrap();
        assert!(error_allowed(&out[..n]));
    }

    /// Random bytes and random corruptions of good packets never make any builder panic;
    /// whatever is built passes input validation and has good checksums.
    #[test]
    fn never_panics() {
        let mut rng = Rng(0x0bad_cafe);
        let mut buf = [0u8; 120];
        let mut out = [0u8; 600];
        for round in 0..30_000u32 {
            match round % 3 {
                0 => {
                    for b in buf.iter_mut() {
                        *b = rng.next() as u8;
                    }
                }
                1 => {
                    buf[..84].copy_from_slice(&request_from_peer());
                    for _ in 0..1 + rng.below(3) {
                        let at = rng.below(84) as usize;
                        buf[at] = rng.next() as u8;
                    }
                }
                _ => {
                    let u = udp(rng.below(60) as usize);
                    buf[..u.len()].copy_from_slice(&u);
                    let at = rng.below(u.len() as u64) as usize;
                    buf[at] = rng.next() as u8;
                }
            }
            if round % 2 == 0 {
                buf[0] = 0x45;
                Ipv4Packet::new_unchecked(&mut buf[..]).fill_checksum();
            }
            let len = rng.below(121) as usize;
            let olen = rng.below(601) as usize;
            let input = &buf[..len];
            if let Ok(n) = echo_reply(input, US, 1, 64, &mut out[..olen]) {
                assert!(input::check(&out[..n]).is_ok());
                let ip = Ipv4Packet::new_checked(&out[..n]).unwrap();
                let icmp = IcmpPacket::new_checked(ip.payload()).unwrap();
                assert!(icmp.verify_checksum());
                assert_eq!(icmp.msg_type(), 0);
            }
            let _ = error_allowed(input);
            if let Ok(n) = error_message(IcmpError::TtlExceeded, input, US, 1, 64, &mut out[..olen])
            {
                let ip = Ipv4Packet::new_checked(&out[..n]).unwrap();
                assert!(ip.verify_checksum());
                let icmp = IcmpPacket::new_checked(ip.payload()).unwrap();
                assert!(icmp.verify_checksum());
                assert!(n <= 576);
            }
        }
    }
}
