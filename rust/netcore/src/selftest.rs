//! Known-answer checks of the wire code that run in both worlds: `cargo test` calls each one
//! below, and rvnet.ko's KUnit suite `rvnet_netcore` runs the same functions inside the
//! kernel, where they are built with the kernel's compiler flags (overflow checks on).
//!
//! Each returns `Err` with what went wrong instead of panicking, so that the kernel side can
//! report a failed case through KUnit rather than by oopsing.

use super::checksum::{self, Checksum};
use super::nic::{features, ring::RingIndex, stats};
use super::wire::{
    ArpOperation, ArpPacket, ArpRepr, Error, EtherType, EthernetAddress, EthernetFrame,
    EthernetRepr, Ipv4Address,
};

/// The outcome of one check.
pub type Outcome = Result<(), &'static str>;

fn check(cond: bool, what: &'static str) -> Outcome {
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
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_selftest_passes_on_the_host() {
        for (name, run) in super::ALL {
            assert_eq!(run(), Ok(()), "selftest {name}");
        }
    }
}
