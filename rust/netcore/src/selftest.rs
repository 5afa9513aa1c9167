//! Known-answer checks of the wire code that run in both worlds: `cargo test` calls each one
//! below, and rvnet.ko's KUnit suite `rvnet_netcore` runs the same functions inside the
//! kernel, where they are built with the kernel's compiler flags (overflow checks on).
//!
//! Each returns `Err` with what went wrong instead of panicking, so that the kernel side can
//! report a failed case through KUnit rather than by oopsing.

pub use super::arp::selftest::{
    entries_per_device, limits_without_allocation, request_teaches_the_target,
    resolution_releases_in_order, retries_then_failure_across_wrap,
};
use super::checksum::{self, Checksum};
use super::ipv4::frag::{Added, FragError, FragKey, Fragment, Frags, Node, Out};
use super::ipv4::route::{CacheSet, Fib, FibParts, Route, RouteCache, RouteKind};
use super::nic::{features, ring::RingIndex, stats};
use super::storage::{Fixed, Storage};
use super::wire::{
    ArpOperation, ArpPacket, ArpRepr, Error, EtherType, EthernetAddress, EthernetFrame,
    EthernetRepr, IcmpPacket, IcmpRepr, Ipv4Address, Ipv4Packet, Ipv4Repr, Protocol, UdpPacket,
    UdpRepr,
};

/// The outcome of one check.
pub type Outcome = Result<(), &'static str>;

/// `Ok` if `cond`, else `Err(what)`.
pub fn check(cond: bool, what: &'static str) -> Outcome {
    if cond {
        Ok(())
    } else {
        Err(what)
    }
}

/// A broadcast ARP request as Linux puts it on the wire: who has 198.18.0.2, tell 198.18.0.1.
pub const ARP_REQUEST_FRAME: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x08,
    0x06, // Ethernet
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // Ethernet/IPv4, request
    0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01, 198, 18, 0, 1, // sender
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 198, 18, 0, 2, // target
];

/// RFC 1071 section 3's example sums to 0xddf2, and its checksum is the complement.
pub fn checksum_rfc1071() -> Outcome {
    let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
    check(
        Checksum::new().add_bytes(&data).sum16() == 0xddf2,
        "sum of RFC 1071 example",
    )?;
    check(
        checksum::checksum(&data) == !0xddf2,
        "checksum of RFC 1071 example",
    )
}

/// A captured IPv4 header verifies, recomputes to its own checksum, and fails once altered.
pub fn checksum_ipv4_header() -> Outcome {
    let mut hdr = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ];
    check(checksum::verify(&hdr), "captured header verifies")?;
    hdr[10] = 0;
    hdr[11] = 0;
    check(checksum::checksum(&hdr) == 0xb861, "recomputed checksum")?;
    hdr[11] = 0x61;
    hdr[10] = 0xb8;
    hdr[0] = 0x46;
    check(!checksum::verify(&hdr), "altered header fails")
}

/// Summing in odd-sized pieces gives the same checksum as summing at once.
pub fn checksum_odd_pieces() -> Outcome {
    let mut data = [0u8; 64];
    for (i, b) in data.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    let whole = checksum::checksum(&data);
    for cut in [1usize, 3, 7, 31, 63] {
        let mut c = Checksum::new();
        c.add_bytes(&data[..cut]).add_bytes(&data[cut..]);
        check(c.finish() == whole, "split sum differs")?;
    }
    check(
        checksum::checksum(&[0xffu8; 4096]) == 0,
        "carry folding over 4 KiB of 0xff",
    )
}

/// The Ethernet view reads a captured frame's header.
pub fn ethernet_parse() -> Outcome {
    let f = EthernetFrame::new_checked(&ARP_REQUEST_FRAME[..]).map_err(|_| "frame rejected")?;
    let r = EthernetRepr::parse(&f).map_err(|_| "header rejected")?;
    check(r.dst_addr == EthernetAddress::BROADCAST, "destination")?;
    check(
        r.src_addr == EthernetAddress([0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01]),
        "source",
    )?;
    check(r.ethertype == EtherType::Arp, "ethertype")?;
    check(f.payload().len() == 28, "payload length")
}

/// Every buffer shorter than an Ethernet header is refused, and a multicast source too.
pub fn ethernet_malformed() -> Outcome {
    for len in 0..14 {
        check(
            EthernetFrame::new_checked(&ARP_REQUEST_FRAME[..len]).err() == Some(Error::Truncated),
            "short frame accepted",
        )?;
    }
    let mut b = ARP_REQUEST_FRAME;
    b[6] = 0x01;
    let f = EthernetFrame::new_checked(&b[..]).map_err(|_| "frame rejected")?;
    check(
        EthernetRepr::parse(&f) == Err(Error::Malformed),
        "multicast source accepted",
    )
}

/// The ARP view reads the request inside the frame, and its reply round-trips.
pub fn arp_parse_and_reply() -> Outcome {
    let p = ArpPacket::new_checked(&ARP_REQUEST_FRAME[14..]).map_err(|_| "packet rejected")?;
    let r = ArpRepr::parse(&p).map_err(|_| "request rejected")?;
    check(r.operation == ArpOperation::Request, "operation")?;
    check(
        r.source_protocol_addr == Ipv4Address::new(198, 18, 0, 1),
        "sender IP",
    )?;
    check(
        r.target_protocol_addr == Ipv4Address::new(198, 18, 0, 2),
        "target IP",
    )?;
    let me = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
    let reply = r.reply(me).ok_or("no reply to a request")?;
    let mut buf = [0u8; 28];
    reply.emit(&mut buf).map_err(|_| "emit failed")?;
    let back = ArpPacket::new_checked(&buf[..]).map_err(|_| "emitted packet rejected")?;
    check(
        ArpRepr::parse(&back) == Ok(reply),
        "reply does not round-trip",
    )
}

/// Short ARP packets, oversized declared address lengths and foreign types are refused.
pub fn arp_malformed() -> Outcome {
    let arp = &ARP_REQUEST_FRAME[14..];
    for len in 0..arp.len() {
        check(
            ArpPacket::new_checked(&arp[..len]).err() == Some(Error::Truncated),
            "short ARP",
        )?;
    }
    let mut b = [0u8; 28];
    b.copy_from_slice(arp);
    b[4] = 200;
    check(
        ArpPacket::new_checked(&b[..]).err() == Some(Error::Truncated),
        "hlen 200 accepted",
    )?;
    b[4] = 6;
    b[1] = 6;
    let p = ArpPacket::new_checked(&b[..]).map_err(|_| "packet rejected")?;
    check(
        ArpRepr::parse(&p) == Err(Error::Unsupported),
        "IEEE 802 hardware type accepted",
    )
}

/// Every prefix of many byte patterns goes through the Ethernet and ARP parsers without a
/// panic (in the kernel, with overflow checks on), and what they accept is self-consistent:
/// an accepted ARP packet's declared length fits its buffer.
pub fn parsers_total() -> Outcome {
    let mut buf = [0u8; 96];
    for seed in 0u8..=255 {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = seed.wrapping_mul(i as u8).wrapping_add(seed.rotate_left(3)) ^ (i as u8);
        }
        // Make some of them look like Ethernet/IPv4 ARP so the deeper checks are reached.
        if seed % 4 == 0 {
            buf[14..20].copy_from_slice(&[0x00, 0x01, 0x08, 0x00, 0x06, 0x04]);
        }
        for len in 0..=buf.len() {
            let b = &buf[..len];
            if let Ok(f) = EthernetFrame::new_checked(b) {
                let _ = EthernetRepr::parse(&f);
                if let Ok(p) = ArpPacket::new_checked(f.payload()) {
                    check(p.len() <= f.payload().len(), "ARP length beyond buffer")?;
                    if let Ok(r) = ArpRepr::parse(&p) {
                        check(p.len() == 28, "Ethernet/IPv4 ARP of another length")?;
                        let mut out = [0u8; 28];
                        r.emit(&mut out)
                            .map_err(|_| "emit of a parsed packet failed")?;
                        check(
                            out[..] == f.payload()[..28],
                            "emit differs from parse input",
                        )?;
                    }
                }
            } else {
                check(len < 14, "a whole header refused")?;
            }
        }
    }
    Ok(())
}

/// The ring index: fill, full, drain in order, empty, and the same across the point where the
/// 32-bit counters wrap.
pub fn ring_wrap_full_empty() -> Outcome {
    let start = u32::MAX - 1;
    let mut r = RingIndex::new_at(4, start).map_err(|_| "size 4 refused")?;
    check(r.is_empty() && r.pop().is_none(), "new ring not empty")?;
    let slot = |i: u32| (start.wrapping_add(i) & 3) as usize;
    for i in 0..4 {
        check(r.push() == Some(slot(i)), "slot order while filling")?;
    }
    check(
        r.is_full() && r.push().is_none() && r.free() == 0,
        "full ring accepted more",
    )?;
    for i in 0..4 {
        check(r.pop() == Some(slot(i)), "slot order while draining")?;
    }
    check(r.is_empty() && r.free() == 4, "drained ring not empty")?;
    for _ in 0..10 {
        check(
            r.push().is_some() && r.pop().is_some(),
            "steady state across the wrap",
        )?;
    }
    check(
        RingIndex::new(300).is_err() && RingIndex::new(65536).is_err(),
        "bad sizes accepted",
    )
}

/// Resizing a ring with entries inside keeps the oldest that fit.
pub fn ring_resize_with_entries() -> Outcome {
    let mut r = RingIndex::new_at(8, u32::MAX - 2).map_err(|_| "size 8 refused")?;
    for _ in 0..6 {
        r.push().ok_or("push")?;
    }
    let (small, dropped) = r.resized(4).map_err(|_| "resize to 4")?;
    check(
        small.len() == 4 && dropped == 2 && small.is_full(),
        "shrink",
    )?;
    let (big, dropped) = r.resized(16).map_err(|_| "resize to 16")?;
    check(
        big.len() == 6 && dropped == 0 && big.peek() == Some(0),
        "grow",
    )
}

/// Offload rules: no checksum offload means no SG, no SG means no TSO or frame lists.
pub fn features_fix_ups() -> Outcome {
    check(
        features::fix(features::RVNIC) == features::RVNIC,
        "full set changed",
    )?;
    let f = features::fix(features::RVNIC & !features::HW_CSUM);
    check(
        f & (features::SG | features::TSO | features::TSO6 | features::FRAGLIST) == 0,
        "tx off kept SG/TSO",
    )?;
    let f = features::fix(features::RVNIC & !features::SG);
    check(
        f & features::GSO_MASK == 0 && f & features::HW_CSUM != 0,
        "sg off kept GSO",
    )?;
    check(
        !features::receiver_takes_gso(features::RVNIC & !features::GRO),
        "GSO to a receiver without GRO",
    )
}

/// The `ethtool -S` table: receive queues first, names within ETH_GSTRING_LEN.
pub fn stats_table() -> Outcome {
    let mut name = [0u8; stats::NAME_LEN];
    check(
        stats::count(2, 2) == 2 * stats::rx::COUNT + 2 * stats::tx::COUNT,
        "count",
    )?;
    check(
        stats::name_of(0, 2, 2, &mut name) && name.starts_with(b"rx_queue_0_enqueued\0"),
        "first name",
    )?;
    let first_tx = 2 * stats::rx::COUNT;
    check(
        stats::name_of(first_tx, 2, 2, &mut name) && name.starts_with(b"tx_queue_0_packets\0"),
        "first tx name",
    )?;
    check(
        !stats::name_of(stats::count(2, 2), 2, 2, &mut name),
        "name past the end",
    )?;
    for i in 0..stats::count(16, 16) {
        check(
            stats::name_of(i, 16, 16, &mut name) && name[stats::NAME_LEN - 1] == 0,
            "name too long",
        )?;
    }
    Ok(())
}

/// `ping -c1 127.0.0.1` as captured on lo: an IPv4 echo request (id 0x7a1b, DF, TTL 64)
/// carrying ICMP echo id 0x751d, seq 1, 56 bytes of data.
pub const PING_REQUEST_PACKET: [u8; 84] = [
    0x45, 0x00, 0x00, 0x54, 0x7a, 0x1b, 0x40, 0x00, 0x40, 0x01, 0xc2, 0x8b, 0x7f, 0x00, 0x00, 0x01,
    0x7f, 0x00, 0x00, 0x01, // IPv4
    0x08, 0x00, 0x89, 0x68, 0x75, 0x1d, 0x00, 0x01, // ICMP echo request
    0x9a, 0xe2, 0x03, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x9b, 0x58, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
];

/// A DNS query for example.com from 192.168.1.10:40000 to 192.168.1.53:53, captured on a
/// veth with checksum offload off (UDP checksum 0xfdfc, verified by tcpdump).
pub const DNS_QUERY_PACKET: [u8; 57] = [
    0x45, 0x00, 0x00, 0x39, 0x78, 0x8b, 0x40, 0x00, 0x40, 0x11, 0x3e, 0x99, 0xc0, 0xa8, 0x01, 0x0a,
    0xc0, 0xa8, 0x01, 0x35, // IPv4
    0x9c, 0x40, 0x00, 0x35, 0x00, 0x25, 0xfd, 0xfc, // UDP
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x61,
    0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01, // DNS
];

/// The captured echo request parses as IPv4 with a valid header checksum and re-emits to the
/// same header; every shorter buffer, a bad checksum and a wrong version are refused, and a
/// TTL decrement with an incremental checksum update still verifies.
pub fn ipv4_parse_and_checksum() -> Outcome {
    let localhost = Ipv4Address::new(127, 0, 0, 1);
    let p = Ipv4Packet::new_checked(&PING_REQUEST_PACKET[..]).map_err(|_| "packet rejected")?;
    check(p.verify_checksum(), "captured checksum")?;
    let r = Ipv4Repr::parse(&p, true).map_err(|_| "header rejected")?;
    check(r.src == localhost && r.dst == localhost, "addresses")?;
    check(
        r.protocol == Protocol::Icmp && r.payload_len == 64 && p.payload().len() == 64,
        "protocol or payload length",
    )?;
    check(
        r.ttl == 64 && r.ident == 0x7a1b && r.dont_frag && !r.is_fragment(),
        "TTL, ident or flags",
    )?;
    let mut hdr = [0u8; 20];
    r.emit(&mut hdr).map_err(|_| "emit failed")?;
    check(
        hdr[..] == PING_REQUEST_PACKET[..20],
        "emit differs from capture",
    )?;
    for len in 0..PING_REQUEST_PACKET.len() {
        check(
            Ipv4Packet::new_checked(&PING_REQUEST_PACKET[..len]).err() == Some(Error::Truncated),
            "short packet accepted",
        )?;
    }
    let mut b = PING_REQUEST_PACKET;
    b[8] = 63; // TTL decremented, checksum left alone
    let p = Ipv4Packet::new_checked(&b[..]).map_err(|_| "packet rejected")?;
    check(
        Ipv4Repr::parse(&p, true) == Err(Error::Malformed),
        "bad checksum accepted",
    )?;
    check(
        Ipv4Repr::parse(&p, false).is_ok(),
        "parse without checksum check refused",
    )?;
    let sum = checksum::update16(p.checksum(), 0x4001, 0x3f01);
    b[10..12].copy_from_slice(&sum.to_be_bytes());
    let p = Ipv4Packet::new_checked(&b[..]).map_err(|_| "packet rejected")?;
    check(p.verify_checksum(), "incremental TTL update")?;
    b[0] = 0x65;
    check(
        Ipv4Packet::new_checked(&b[..]).err() == Some(Error::Malformed),
        "version 6 accepted",
    )
}

/// The captured DNS query's UDP checksum verifies over the pseudo header and re-emits to the
/// same bytes; a corrupted byte is refused, a zero checksum ("none") accepted, and a sum that
/// comes out as zero is sent as 0xffff.
pub fn udp_checksum_roundtrip() -> Outcome {
    let ip = Ipv4Packet::new_checked(&DNS_QUERY_PACKET[..]).map_err(|_| "packet rejected")?;
    let ipr = Ipv4Repr::parse(&ip, true).map_err(|_| "IPv4 header rejected")?;
    check(ipr.protocol == Protocol::Udp, "protocol")?;
    let (src, dst) = (ipr.src, ipr.dst);
    let u = UdpPacket::new_checked(ip.payload()).map_err(|_| "datagram rejected")?;
    check(u.checksum() == 0xfdfc, "captured checksum")?;
    let r = UdpRepr::parse(&u, src, dst, true).map_err(|_| "checksum rejected")?;
    check(
        r.src_port == 40000 && r.dst_port == 53 && r.payload_len == 29,
        "ports or length",
    )?;
    let mut out = [0u8; 37];
    r.emit(&mut out, src, dst, u.payload())
        .map_err(|_| "emit failed")?;
    check(out[..] == *ip.payload(), "emit differs from capture")?;
    out[30] ^= 0x01;
    let bad = UdpPacket::new_checked(&out[..]).map_err(|_| "datagram rejected")?;
    check(
        UdpRepr::parse(&bad, src, dst, true) == Err(Error::Malformed),
        "corrupted datagram accepted",
    )?;
    out[6] = 0;
    out[7] = 0;
    let none = UdpPacket::new_checked(&out[..]).map_err(|_| "datagram rejected")?;
    check(
        UdpRepr::parse(&none, src, dst, true).is_ok(),
        "zero checksum refused",
    )?;
    // Ports 1 -> 2 with the payload word 0x7c47 sum to 0xffff: the checksum would be 0.
    let z = UdpRepr {
        src_port: 1,
        dst_port: 2,
        payload_len: 2,
    };
    let mut zbuf = [0u8; 10];
    z.emit(&mut zbuf, src, dst, &[0x7c, 0x47])
        .map_err(|_| "emit failed")?;
    let zp = UdpPacket::new_checked(&zbuf[..]).map_err(|_| "datagram rejected")?;
    check(zp.checksum() == 0xffff, "computed zero not sent as 0xffff")?;
    check(zp.verify_checksum(src, dst), "0xffff does not verify")
}

/// The captured echo request's ICMP message verifies and parses, and the reply built from it
/// is byte for byte the one the kernel sent; a corrupted message is refused.
pub fn icmp_echo_roundtrip() -> Outcome {
    let ip = Ipv4Packet::new_checked(&PING_REQUEST_PACKET[..]).map_err(|_| "packet rejected")?;
    let i = IcmpPacket::new_checked(ip.payload()).map_err(|_| "message rejected")?;
    let r = IcmpRepr::parse(&i).map_err(|_| "checksum rejected")?;
    check(
        r == IcmpRepr::EchoRequest {
            ident: 0x751d,
            seq_no: 1,
            data_len: 56,
        },
        "echo request fields",
    )?;
    let reply = r.echo_reply().ok_or("no reply to a request")?;
    let mut out = [0u8; 64];
    reply.emit(&mut out, i.data()).map_err(|_| "emit failed")?;
    check(
        out[..8] == [0x00, 0x00, 0x91, 0x68, 0x75, 0x1d, 0x00, 0x01],
        "reply header differs from the kernel's",
    )?;
    check(out[8..] == *i.data(), "reply data differs")?;
    let back = IcmpPacket::new_checked(&out[..]).map_err(|_| "reply rejected")?;
    check(
        IcmpRepr::parse(&back) == Ok(reply),
        "reply does not round-trip",
    )?;
    out[20] ^= 0x80;
    let bad = IcmpPacket::new_checked(&out[..]).map_err(|_| "reply rejected")?;
    check(
        IcmpRepr::parse(&bad) == Err(Error::Malformed),
        "corrupted message accepted",
    )
}

/// Longest-prefix match over a default route, a connected /24 and a host /32, resolution
/// through a gateway, and the route cache's hit, miss and invalidation on a change.
///
/// The FIB's direct table alone is 512 KiB, so this check takes an allocator: `alloc(n)`
/// returns empty storage of capacity `n` (the kernel: a `KVVec`), or `None`. It is not in
/// [`ALL`], whose checks take nothing; the KUnit suite and `cargo test` call it themselves.
pub fn fib_lpm_and_cache<S: Storage<u32>>(mut alloc: impl FnMut(usize) -> Option<S>) -> Outcome {
    let mut fib: Fib<S> = Fib::new(8);
    let mut add = |fib: &mut Fib<S>, a: Ipv4Address, len, kind| {
        let w = fib.wants();
        let mut get = |n: usize| if n == 0 { None } else { alloc(n) };
        let parts = FibParts {
            direct: get(w.direct),
            blocks: get(w.blocks),
            index: get(w.index),
            leaves: get(w.leaves),
        };
        drop(fib.adopt(parts));
        fib.add(Route::new(a, len, kind))
    };
    let gw = Ipv4Address::new(198, 18, 0, 254);
    add(
        &mut fib,
        Ipv4Address::UNSPECIFIED,
        0,
        RouteKind::Gateway {
            via: gw,
            ifindex: 2,
        },
    )
    .map_err(|_| "default route")?;
    add(
        &mut fib,
        Ipv4Address::new(198, 18, 0, 0),
        24,
        RouteKind::Connected { ifindex: 2 },
    )
    .map_err(|_| "connected route")?;
    add(
        &mut fib,
        Ipv4Address::new(198, 19, 7, 7),
        32,
        RouteKind::Connected { ifindex: 3 },
    )
    .map_err(|_| "host route")?;
    let len_of = |fib: &Fib<S>, a| fib.lookup(a).map(|r| r.len);
    check(
        len_of(&fib, Ipv4Address::new(198, 18, 0, 9)) == Some(24),
        "/24 match",
    )?;
    check(
        len_of(&fib, Ipv4Address::new(198, 19, 7, 7)) == Some(32),
        "/32 match",
    )?;
    check(
        len_of(&fib, Ipv4Address::new(203, 0, 113, 1)) == Some(0),
        "default match",
    )?;
    let far = fib
        .resolve(Ipv4Address::new(203, 0, 113, 1))
        .map_err(|_| "resolve via gw")?;
    check(
        far.gateway == Some(gw) && far.ifindex == 2,
        "next hop is the gateway",
    )?;
    check(
        add(
            &mut fib,
            Ipv4Address::new(198, 18, 0, 1),
            24,
            RouteKind::Local,
        )
        .is_err(),
        "host bits accepted",
    )?;
    let mut cache: RouteCache<Fixed<CacheSet, 4>> = RouteCache::new();
    let _unused = cache.adopt(Fixed::default());
    let dst = Ipv4Address::new(198, 19, 7, 7);
    let first = cache.lookup(&fib, dst).ok_or("host route not resolved")?;
    check(
        first.ifindex == 3 && first.gateway.is_none(),
        "host route next hop",
    )?;
    check(
        cache.lookup(&fib, dst) == Some(first),
        "second lookup differs",
    )?;
    let s = cache.stats();
    check(s.hits == 1 && s.misses == 1, "one miss then one hit")?;
    fib.delete(dst, 32).map_err(|_| "delete")?;
    let after = cache.lookup(&fib, dst).ok_or("default route not used")?;
    check(
        after.gateway == Some(gw),
        "stale cache entry used after a FIB change",
    )
}

/// The packet-holding reassembler of the self-test: four nodes and four buckets inline, small
/// enough for a kernel frame (2 KiB), packets as `u32` ids.
pub type SmallFrags = Frags<u32, Fixed<Node<u32>, 4>, Fixed<u32, 4>>;

/// Fragments arriving last-first are held and handed back in offset order, the first one as
/// the datagram; an overlap drops a datagram, and a table without a free node refuses.
pub fn frag_out_of_order() -> Outcome {
    let mut t = SmallFrags::new(0x5eed);
    let key = FragKey {
        src: Ipv4Address::new(198, 18, 0, 1),
        dst: Ipv4Address::new(198, 18, 0, 2),
        protocol: 17,
        ident: 0x1234,
    };
    let f = |offset, len, more, packet| Fragment {
        offset,
        len,
        more,
        truesize: 1000,
        packet,
    };
    // The ids of the pieces handed out (in order) and of the packets to free.
    let mut pieces = [0u32; 4];
    let mut npieces = 0usize;
    let mut freed = 0u32;
    let mut sink = |o: Out<u32>| match o {
        Out::Piece(p) => {
            if let Some(slot) = pieces.get_mut(npieces) {
                *slot = p.packet;
            }
            npieces += 1;
        }
        Out::Free(..) | Out::Expired(_) => freed += 1,
    };
    check(
        t.add(key, f(32, 8, false, 3), 0, &mut sink) == Added::Queued,
        "last fragment",
    )?;
    check(
        t.add(key, f(0, 16, true, 1), 1, &mut sink) == Added::Queued,
        "first fragment",
    )?;
    let other = FragKey { ident: 7, ..key };
    check(
        matches!(
            t.add(other, f(0, 8, true, 9), 1, &mut sink),
            Added::Refused {
                packet: 9,
                reason: FragError::NoMemory
            }
        ),
        "no free node refused",
    )?;
    check(t.mem_in_use() == 2000, "truesizes charged")?;
    let Added::Complete(d) = t.add(key, f(16, 16, true, 2), 2, &mut sink) else {
        return Err("not complete after all fragments");
    };
    check(
        d.len == 40 && d.fragments == 3 && d.first.packet == 1,
        "reassembled datagram",
    )?;
    check(t.is_empty() && t.mem_in_use() == 0, "nothing left held")?;
    check(
        t.add(key, f(0, 16, true, 4), 3, &mut sink) == Added::Queued,
        "a new datagram",
    )?;
    let r = t.add(key, f(8, 16, true, 5), 3, &mut sink);
    check(
        r == Added::Dropped {
            reason: FragError::Overlap,
            freed: 2,
        },
        "overlap drops the datagram",
    )?;
    check(
        npieces == 2 && pieces.get(..2) == Some(&[2, 3][..]) && freed == 2,
        "pieces in offset order, dropped packets freed",
    )
}

/// One named check.
pub type Case = (&'static str, fn() -> Outcome);

/// Every check above, by name: the table that KUnit and `cargo test` both walk.
pub const ALL: &[Case] = &[
    ("checksum_rfc1071", checksum_rfc1071),
    ("checksum_ipv4_header", checksum_ipv4_header),
    ("checksum_odd_pieces", checksum_odd_pieces),
    ("ethernet_parse", ethernet_parse),
    ("ethernet_malformed", ethernet_malformed),
    ("arp_parse_and_reply", arp_parse_and_reply),
    ("arp_malformed", arp_malformed),
    ("parsers_total", parsers_total),
    ("ring_wrap_full_empty", ring_wrap_full_empty),
    ("ring_resize_with_entries", ring_resize_with_entries),
    ("features_fix_ups", features_fix_ups),
    ("stats_table", stats_table),
    (
        "arp_resolution_releases_in_order",
        resolution_releases_in_order,
    ),
    ("arp_request_teaches_the_target", request_teaches_the_target),
    (
        "arp_retries_then_failure_across_wrap",
        retries_then_failure_across_wrap,
    ),
    ("arp_entries_per_device", entries_per_device),
    ("arp_limits_without_allocation", limits_without_allocation),
    ("frag_out_of_order", frag_out_of_order),
    ("ipv4_parse_and_checksum", ipv4_parse_and_checksum),
    ("udp_checksum_roundtrip", udp_checksum_roundtrip),
    ("icmp_echo_roundtrip", icmp_echo_roundtrip),
];

#[cfg(test)]
mod tests {
    use super::super::storage as crate_storage;

    #[test]
    fn every_selftest_passes_on_the_host() {
        for (name, run) in super::ALL {
            assert_eq!(run(), Ok(()), "selftest {name}");
        }
        assert_eq!(
            super::fib_lpm_and_cache(crate_storage::host::alloc::<u32>),
            Ok(())
        );
        assert_eq!(super::frag_out_of_order(), Ok(()));
    }

    #[test]
    fn the_selftest_reassembler_fits_a_kernel_frame() {
        let table = core::mem::size_of::<super::SmallFrags>();
        let answer = core::mem::size_of::<super::Added<u32>>();
        assert!(
            table + 4 * answer <= 1280,
            "table {table} B, answer {answer} B"
        );
    }
}
