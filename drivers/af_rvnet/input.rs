// SPDX-License-Identifier: GPL-2.0

//! The receive path: frames arriving on attached devices, as `arp_rcv`, `ip_rcv`,
//! `ip_local_deliver`, `icmp_rcv`, `udp_rcv` and `raw_v4_input` take them.
//!
//! The device's receive handler gives every frame to [`rx`] with its data at the network
//! header. ARP about our addresses and IPv4 on an attached device are the stack's; anything
//! else goes back to Linux. An IPv4 datagram is validated (each failure counted under its
//! own name), reassembled if it is a fragment, forwarded if it is not for us and forwarding
//! is on, and otherwise delivered: raw sockets of its protocol get a copy, ICMP echo
//! requests are answered, UDP goes to the best-matching socket's receive queue (which wakes
//! its readers) or is answered with ICMP port unreachable.

use super::{output, Stack, C};
use crate::net::clock::now_ms;
use crate::net::net_device::DevRef;
use crate::net::skb::{PktType, Skb, SkbList};
use crate::netcore::arp::cache::{Learned, ReplyKind};
use crate::netcore::ipv4::forward::{decrement_ttl, ForwardDecision};
use crate::netcore::ipv4::frag::{Added, FragError, FragKey, Fragment, Out};
use crate::netcore::ipv4::icmp_out::{self, IcmpError};
use crate::netcore::ipv4::input::{check, Checked, InputDrop};
use crate::netcore::sock::demux::{self, Binding, Incoming};
use crate::netcore::sock::errno as E;
use crate::netcore::wire::arp::{ArpOperation, ArpPacket, ArpRepr};
use crate::netcore::wire::icmp::{self, DstUnreachableCode, IcmpPacket};
use crate::netcore::wire::ipv4::{Ipv4Packet, Protocol};
use crate::netcore::wire::udp::UdpPacket;
use crate::netcore::wire::{EtherType, EthernetAddress, Ipv4Address};
use kernel::alloc::flags;
use kernel::prelude::*;

const UDP_HLEN: usize = 8;

/// The counter of each reason the IPv4 input checks drop a packet for (`ip_rcv_core`'s
/// order); the match is exhaustive, so a new reason cannot go uncounted.
fn drop_counter(why: InputDrop) -> C {
    match why {
        InputDrop::Truncated => C::ip_rx_truncated,
        InputDrop::BadVersion => C::ip_rx_bad_version,
        InputDrop::BadHeaderLen => C::ip_rx_bad_header_len,
        InputDrop::BadTotalLen => C::ip_rx_bad_total_len,
        InputDrop::BadChecksum => C::ip_rx_bad_csum,
        InputDrop::BadSource => C::ip_rx_bad_src,
    }
}

/// Takes a frame from an attached device, or gives it back (`Err`) for Linux.
pub(crate) fn rx(st: &Stack, skb: Skb) -> Result<(), Skb> {
    if skb.pkt_type() == PktType::OtherHost || skb.pkt_type() == PktType::Other {
        return Err(skb);
    }
    match EtherType::from(skb.protocol()) {
        EtherType::Arp => arp_rx(st, skb),
        EtherType::Ipv4 => {
            st.counters.inc(C::rx_frames);
            ip_rx(st, skb)
        }
        _ => {
            st.counters.inc(C::rx_passed);
            Err(skb)
        }
    }
}

fn arp_rx(st: &Stack, mut skb: Skb) -> Result<(), Skb> {
    let Some(dev) = skb.dev().map(DevRef::from) else {
        return Err(skb);
    };
    let dev = &*dev;
    let ifindex = dev.ifindex();
    let our_mac = EthernetAddress(dev.mac());
    if skb.linearize().is_err() {
        st.counters.inc(C::arp_rx_malformed);
        return Ok(());
    }
    let repr = match ArpPacket::new_checked(skb.data()).and_then(|p| ArpRepr::parse(&p)) {
        Ok(r) => r,
        Err(_) => {
            // Not an Ethernet/IPv4 ARP message we understand: Linux may.
            st.counters.inc(C::arp_rx_malformed);
            st.counters.inc(C::rx_passed);
            return Err(skb);
        }
    };
    st.counters.inc(C::arp_rx);
    match repr.operation {
        ArpOperation::Request => st.counters.inc(C::arp_rx_requests),
        _ => st.counters.inc(C::arp_rx_replies),
    }
    let now = now_ms();
    let g = st.read();
    let inner = &*g;
    let Some(iface) = inner.iface(ifindex) else {
        drop(g);
        return Err(skb);
    };
    // For one of this device's addresses (a secondary too), as arp_process answers for any
    // local address of the device.
    let for_us = iface.has(repr.target_protocol_addr);
    let fib = &inner.fib;
    let ours = |a: Ipv4Address| {
        !a.is_unspecified()
            && fib
                .get(a, 32)
                .is_some_and(|r| r.kind == crate::netcore::ipv4::route::RouteKind::Local)
    };
    // Learned on the device it came in on, as arp_process does: only this device's entries
    // are confirmed, resolved or added.
    let (action, grow) = {
        let mut arp = st.lock_arp();
        let action = arp.on_arp(ifindex, &repr, ours, now);
        (action, !arp.wants().is_none())
    };
    drop(g);
    if grow {
        st.arp_room(flags::GFP_ATOMIC);
    }
    let action = match action {
        Ok(a) => a,
        Err(_) => {
            st.counters.inc(C::arp_rx_refused);
            return if for_us { Ok(()) } else { Err(skb) };
        }
    };
    match action.learned {
        Learned::NoRoom => st.counters.inc(C::arp_table_full),
        Learned::NoMemory => st.counters.inc(C::arp_nomem),
        _ => {}
    }
    let reply = action.reply_repr(&repr, our_mac);
    let proxied = action.reply == Some(ReplyKind::Proxy);
    if let Some(ready) = action.ready {
        // The entry resolved is this device's (`ready.ifindex == ifindex`), and its packets
        // waited to leave by it: they go out where the answer came from.
        ready.drain(|mac, pkt| output::xmit(st, pkt, dev, mac.0));
    }
    if let Some(evicted) = action.evicted {
        output::unresolved(st, evicted);
    }
    if let Some(reply) = reply {
        output::send_arp(st, dev, &reply, repr.source_hardware_addr.0);
        st.counters.inc(C::arp_tx_replies);
    }
    if for_us || proxied {
        Ok(())
    } else {
        st.counters.inc(C::rx_passed);
        Err(skb)
    }
}

/// True if `dst` is a broadcast address of the interface `ifindex` (or the limited one).
fn is_broadcast(inner: &super::Inner, ifindex: i32, dst: Ipv4Address) -> bool {
    dst == Ipv4Address::BROADCAST
        || inner
            .iface(ifindex)
            .is_some_and(|i| i.is_subnet_broadcast(dst))
}

/// IPv4 on an attached device. Only the destination is read before the frame's owner is
/// decided, so that Linux's own traffic goes back untouched (neither linearized nor
/// checked): rvnet keeps what is addressed to its addresses (validated and counted here),
/// and, with forwarding on, unicast for other hosts that it has a route for.
fn ip_rx(st: &Stack, mut skb: Skb) -> Result<(), Skb> {
    let ifindex = skb.dev().map_or(0, |d| d.ifindex());
    let dst = if skb.may_pull(20) {
        skb.data().get(16..20).and_then(Ipv4Address::from_bytes)
    } else {
        None
    };
    let Some(dst) = dst else {
        // Too short to be anybody's IPv4: the device is rvnet's, so count it here.
        st.counters.inc(C::ip_rx);
        st.counters.inc(C::ip_rx_truncated);
        return Ok(());
    };
    let (local, forward_it) = {
        let g = st.read();
        let local = g.is_local(dst) || is_broadcast(&g, ifindex, dst);
        let forward_it = !local
            && g.forwarding
            && skb.pkt_type() == PktType::Host
            && g.route(st, dst).is_some_and(|nh| !nh.local);
        (local, forward_it)
    };
    if !local && !forward_it {
        st.counters.inc(C::ip_rx_not_ours);
        st.counters.inc(C::rx_passed);
        return Err(skb);
    }
    if skb.is_gso() {
        // A GRO aggregate (or a GSO frame from a peer namespace) stands for many datagrams:
        // cut it back into them, as the output path of a router would.
        match skb.gso_segment(0) {
            Ok(segs) => {
                for seg in segs {
                    ip_rx_one(st, seg, ifindex, local);
                }
            }
            Err(_) => st.counters.inc(C::ip_rx_nomem),
        }
        return Ok(());
    }
    ip_rx_one(st, skb, ifindex, local);
    Ok(())
}

/// One datagram the stack keeps: validated, then reassembled, delivered or forwarded.
fn ip_rx_one(st: &Stack, mut skb: Skb, ifindex: i32, local: bool) {
    st.counters.inc(C::ip_rx);
    if skb.linearize().is_err() {
        st.counters.inc(C::ip_rx_nomem);
        return;
    }
    let ip = match check(skb.data()) {
        Ok(ip) => ip,
        Err(why) => {
            st.counters.inc(drop_counter(why));
            return;
        }
    };
    if skb.trim(ip.total_len as u32).is_err() {
        st.counters.inc(C::ip_rx_nomem);
        return;
    }
    if !local {
        forward(st, skb, &ip);
    } else if ip.is_fragment() {
        st.counters.inc(C::ip_rx_fragments);
        if let Some(whole) = reassemble(st, skb, &ip) {
            deliver(st, whole, ifindex);
        }
    } else {
        deliver(st, skb, ifindex);
    }
}

/// Hands a fragment (the skb, data at its IP header) to the reassembler, which holds it as
/// Linux's `ip_defrag` holds its fragments; returns the whole datagram, copied into a new
/// frame, once the last hole is filled. What the reassembler lets go (an overlapping
/// datagram, the oldest ones evicted past `ipfrag_high_thresh`, a stale one for the same key)
/// is freed after the lock; a stale datagram's first fragment gets its sender an ICMP time
/// exceeded.
fn reassemble(st: &Stack, mut skb: Skb, ip: &Checked) -> Option<Skb> {
    if skb.linearize().is_err() {
        st.counters.inc(C::ip_reasm_failed);
        return None;
    }
    let key = FragKey {
        src: ip.src,
        dst: ip.dst,
        protocol: ip.protocol.into(),
        ident: ip.ident,
    };
    let frag = Fragment {
        offset: ip.frag_offset as u32,
        len: (ip.total_len - ip.header_len) as u32,
        more: ip.more_frags,
        truesize: skb.truesize(),
        packet: skb,
    };
    let now = now_ms();
    let (mut pieces, mut free, mut stale) = (SkbList::new(), SkbList::new(), SkbList::new());
    let (added, evicted, grow) = {
        let mut g = st.lock_frags();
        let before = g.counters().evicted;
        let added = g.add(key, frag, now, &mut |o| match o {
            Out::Piece(f) => pieces.push(f.packet),
            Out::Free(p, _) => free.push(p),
            Out::Expired(e) => {
                if let Some(f) = e.first {
                    stale.push(f.packet);
                }
            }
        });
        let evicted = g.counters().evicted.saturating_sub(before);
        (added, evicted, !g.wants().is_none())
    };
    if grow {
        st.frag_room(flags::GFP_ATOMIC);
    }
    st.counters.add(C::ip_reasm_evicted, evicted);
    drop(free);
    for first in stale {
        st.counters.inc(C::ip_reasm_timeouts);
        output::icmp_error(st, first.data(), IcmpError::ReasmTimeExceeded, ip.dst);
    }
    match added {
        Added::Queued => None,
        Added::Complete(d) => {
            let whole = build_datagram(d.first.packet, pieces, d.len);
            st.counters.inc(if whole.is_some() {
                C::ip_reasm_ok
            } else {
                C::ip_reasm_failed
            });
            whole
        }
        Added::Dropped { .. } => {
            st.counters.inc(C::ip_reasm_failed);
            None
        }
        Added::Refused { packet, reason } => {
            drop(packet);
            st.counters.inc(if reason == FragError::NoMemory {
                C::ip_reasm_nomem
            } else {
                C::ip_reasm_failed
            });
            None
        }
    }
}

/// The whole datagram of `len` payload bytes from its first fragment and the others (each
/// an skb at its IP header, in any order: each goes where its own header's offset says).
/// The first fragment's header, without options, heads it.
fn build_datagram(first: Skb, pieces: SkbList, len: u32) -> Option<Skb> {
    let total = 20 + len as usize;
    if total > 65535 {
        return None;
    }
    let mut whole = Skb::alloc_tx(total as u32, 0).ok()?;
    let buf = whole.put(total as u32);
    buf.get_mut(..20)?.copy_from_slice(first.data().get(..20)?);
    for f in Iterator::chain(core::iter::once(first), pieces) {
        let d = f.data();
        let p = Ipv4Packet::new_checked(d).ok()?;
        let (hl, tl) = (p.header_len(), usize::from(p.total_len()));
        let off = usize::from(p.frag_offset());
        let data = d.get(hl..tl)?;
        buf.get_mut(20 + off..20 + off + data.len())?
            .copy_from_slice(data);
    }
    let mut hdr = Ipv4Packet::new_unchecked(&mut buf[..]);
    hdr.set_header_len(20);
    hdr.set_total_len(total as u16);
    hdr.clear_flags();
    hdr.set_frag_offset(0);
    hdr.fill_checksum();
    Some(whole)
}

/// Local delivery of a whole datagram (data at the IP header).
pub(crate) fn deliver(st: &Stack, skb: Skb, ifindex: i32) {
    let Ok(ip) = check(skb.data()) else {
        return;
    };
    // Broadcasts get no echo reply and no ICMP error (RFC 1122 3.2.2; Linux ignores
    // broadcast echo by default): an answer would come from a broadcast address, from every
    // host at once.
    let bcast = ip.dst.is_multicast() || {
        let g = st.read();
        is_broadcast(&g, ifindex, ip.dst)
    };
    let raw_taken = deliver_raw(st, &skb, &ip, ifindex);
    match ip.protocol {
        Protocol::Icmp => icmp_rx(st, skb, &ip, bcast),
        Protocol::Udp => udp_rx(st, skb, &ip, ifindex, bcast),
        _ => {
            if !raw_taken {
                st.counters.inc(C::ip_rx_unknown_proto);
                if !bcast {
                    output::icmp_error(st, skb.data(), IcmpError::ProtoUnreachable, ip.dst);
                }
            }
        }
    }
}

/// Gives a copy to every raw socket of the datagram's protocol whose binding matches.
fn deliver_raw(st: &Stack, skb: &Skb, ip: &Checked, ifindex: i32) -> bool {
    let proto: u8 = ip.protocol.into();
    let p = Incoming {
        src: ip.src,
        src_port: 0,
        dst: ip.dst,
        dst_port: 0,
        ifindex,
    };
    let mut taken = false;
    // The protocol's raw sockets are collected under the lock and served after it, a few at
    // a time. A batch resumes below the last entry seen, by its sequence number (the table
    // walks a protocol's sockets newest first), so a socket closed meanwhile cannot make the
    // walk skip another.
    let mut before = None;
    loop {
        let mut batch: [Option<crate::net::socket::SockRef>; 8] = Default::default();
        let mut n = 0;
        {
            let socks = st.read_socks();
            before = socks.walk_port(u16::from(proto), true, before, |_, e| {
                let Some(sk) = e.value() else { return true };
                let mut b = e.binding;
                b.ifindex = sk.bound_dev_if();
                if demux::raw_matches(&b, &p) {
                    batch[n] = Some(sk.clone());
                    n += 1;
                }
                n < batch.len()
            });
        }
        for sk in batch.iter().flatten() {
            taken = true;
            let Some(mut copy) = skb.clone_shared() else {
                st.counters.inc(C::raw_rx_queue_full);
                continue;
            };
            copy.set_source(ip.src.0, 0);
            match sk.queue_rcv(copy) {
                Ok(()) => st.counters.inc(C::raw_rx),
                Err(_) => st.counters.inc(C::raw_rx_queue_full),
            }
        }
        if n < 8 {
            break;
        }
    }
    taken
}

fn icmp_rx(st: &Stack, skb: Skb, ip: &Checked, bcast: bool) {
    st.counters.inc(C::icmp_rx);
    let Some(Ok(icmp)) = skb.data().get(ip.header_len..).map(IcmpPacket::new_checked) else {
        st.counters.inc(C::icmp_rx_malformed);
        return;
    };
    if !icmp.verify_checksum() {
        st.counters.inc(C::icmp_rx_malformed);
        return;
    }
    match icmp.msg_type() {
        icmp::TYPE_DST_UNREACHABLE => {
            icmp_error_rx(st, DstUnreachableCode::from(icmp.code()), icmp.data());
            return;
        }
        icmp::TYPE_ECHO_REQUEST if !bcast => {}
        _ => return,
    }
    st.counters.inc(C::icmp_rx_echo_requests);
    let len = ip.total_len.max(20);
    let ttl = st.read().default_ttl;
    let ident = st.lock_ident().next(ip.dst, ip.src, Protocol::Icmp);
    let Ok(mut reply) = Skb::alloc_tx(len as u32, output::HEADROOM) else {
        st.counters.inc(C::ip_rx_nomem);
        return;
    };
    let out = reply.put(len as u32);
    match icmp_out::echo_reply(skb.data(), ip.dst, ident, ttl, out) {
        Ok(n) if n == len => {
            drop(skb);
            if output::send_ip(st, reply, ip.src, None).is_ok() {
                st.counters.inc(C::icmp_tx_echo_replies);
            }
        }
        _ => st.counters.inc(C::icmp_rx_malformed),
    }
}

/// An ICMP destination unreachable about a datagram we sent (`quoted`: its IP header and at
/// least 8 bytes of UDP): as `__udp4_lib_err` without IP_RECVERR, only the hard errors (port
/// or protocol unreachable) and only for a connected socket, whose next call returns it.
fn icmp_error_rx(st: &Stack, code: DstUnreachableCode, quoted: &[u8]) {
    let errno = match code {
        DstUnreachableCode::PortUnreachable => E::ECONNREFUSED,
        DstUnreachableCode::ProtoUnreachable => E::ENOPROTOOPT,
        _ => return,
    };
    // The quote is the header and the first bytes of what we sent, cut short: check the
    // header alone, not its total length.
    if quoted.len() < 20 {
        return;
    }
    let q = Ipv4Packet::new_unchecked(quoted);
    let hl = q.header_len();
    if q.version() != 4 || hl < 20 || q.protocol() != Protocol::Udp {
        return;
    }
    // The quote holds the UDP header but not the length it declares: read the ports alone.
    let Some(udp) = quoted.get(hl..hl + UDP_HLEN).map(UdpPacket::new_unchecked) else {
        return;
    };
    let (sport, dport) = (udp.src_port(), udp.dst_port());
    let (src, dst) = (q.src_addr(), q.dst_addr());
    let sk = {
        let socks = st.read_socks();
        let mut found = None;
        socks.walk_port(sport, false, None, |_, e| {
            let b = &e.binding;
            if b.remote == dst
                && b.remote_port == dport
                && (b.local.is_unspecified() || b.local == src)
            {
                found = e.value().cloned();
            }
            found.is_none()
        });
        found
    };
    if let Some(sk) = sk {
        sk.report_error(errno);
        st.counters.inc(C::icmp_rx_errors_reported);
    }
}

fn udp_rx(st: &Stack, mut skb: Skb, ip: &Checked, ifindex: i32, bcast: bool) {
    let data = skb.data();
    let Some(seg) = data.get(ip.header_len..ip.total_len) else {
        st.counters.inc(C::udp_rx_malformed);
        return;
    };
    let Ok(udp) = UdpPacket::new_checked(seg) else {
        st.counters.inc(C::udp_rx_malformed);
        return;
    };
    let udp_len = usize::from(udp.len());
    if udp.checksum() != 0 && !skb.csum_trusted() && !udp.verify_checksum(ip.src, ip.dst) {
        st.counters.inc(C::udp_rx_bad_csum);
        return;
    }
    let p = Incoming {
        src: ip.src,
        src_port: udp.src_port(),
        dst: ip.dst,
        dst_port: udp.dst_port(),
        ifindex,
    };
    let sk = {
        let socks = st.read_socks();
        // SO_BINDTODEVICE is read from the socket: it may have changed since the bind.
        socks
            .lookup_with(&p, |e| Binding {
                ifindex: e.value().map_or(e.binding.ifindex, |sk| sk.bound_dev_if()),
                ..e.binding
            })
            .map(|(_, sk)| sk.clone())
    };
    let Some(sk) = sk else {
        st.counters.inc(C::udp_rx_no_port);
        if !bcast {
            output::icmp_error(st, skb.data(), IcmpError::PortUnreachable, ip.dst);
        }
        return;
    };
    let src_port = udp.src_port();
    if skb.trim((ip.header_len + udp_len) as u32).is_err() {
        st.counters.inc(C::ip_rx_nomem);
        return;
    }
    skb.pull((ip.header_len + UDP_HLEN) as u32);
    skb.set_source(ip.src.0, src_port);
    match sk.queue_rcv(skb) {
        Ok(()) => st.counters.inc(C::udp_rx),
        Err(_) => st.counters.inc(C::udp_rx_queue_full),
    }
}

/// Forwards a datagram not addressed to us, as the seed notes' router does: TTL decremented
/// (ICMP time exceeded when it runs out), the route looked up (ICMP net unreachable without
/// one), and out through the route's interface: whole if it fits the MTU, in fragments if
/// not, or refused with ICMP fragmentation needed when DF is set (RFC 1191).
fn forward(st: &Stack, mut skb: Skb, ip: &Checked) {
    if ip.dst.is_multicast() || ip.dst == Ipv4Address::BROADCAST {
        st.counters.inc(C::ip_rx_not_ours);
        return;
    }
    let our = output::source_for(st, ip.src).unwrap_or(ip.dst);
    let Ok(header) = skb.data_mut() else {
        st.counters.inc(C::ip_rx_nomem);
        return;
    };
    if decrement_ttl(header) == ForwardDecision::TtlExceeded {
        st.counters.inc(C::ip_rx_ttl_exceeded);
        output::icmp_error(st, skb.data(), IcmpError::TtlExceeded, our);
        return;
    }
    let route = {
        let g = st.read();
        g.route(st, ip.dst)
            .and_then(|nh| g.iface(nh.ifindex).map(|i| (nh, i.dev.mtu() as usize)))
    };
    let Some((nh, mtu)) = route else {
        st.counters.inc(C::ip_tx_no_route);
        output::icmp_error(st, skb.data(), IcmpError::NetUnreachable, our);
        return;
    };
    skb.forward_csum();
    if ip.total_len <= mtu {
        if output::send_ip(st, skb, ip.dst, Some(nh)).is_ok() {
            st.counters.inc(C::ip_forwarded);
        }
        return;
    }
    if ip.dont_frag {
        let mtu = u16::try_from(mtu).unwrap_or(u16::MAX);
        output::icmp_error(st, skb.data(), IcmpError::FragNeeded { mtu }, our);
        return;
    }
    // A checksum left to the NIC by the sender must be finished before the data is cut.
    if skb.checksum_help().is_err() {
        st.counters.inc(C::ip_tx_errors);
        return;
    }
    if output::send_fragments(st, skb.data(), ip, nh, mtu).is_ok() {
        st.counters.inc(C::ip_forwarded);
    }
}
