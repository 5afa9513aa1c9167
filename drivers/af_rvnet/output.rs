// SPDX-License-Identifier: GPL-2.0

//! The transmit path: routing, ARP resolution and the hand-off to the device, as
//! `ip_route_output`, `ip_finish_output2`, `neigh_output` and `arp_send` do it; and the
//! timers (ARP retries and ageing, reassembly timeouts).
//!
//! A datagram leaves as a whole IPv4 packet in an skb. [`send_ip`] finds the next hop (the
//! route cache first), then asks the ARP cache for its MAC address on the route's device
//! (entries are per device, as Linux's neighbours): known, the frame goes to the device now;
//! unknown, the frame waits in that device's entry (bounded) while a request goes out on the
//! device, and leaves by it when the reply comes (`input.rs`), or is freed after the last
//! retry and its socket told EHOSTUNREACH.

use super::{errno, Stack, Unresolved, C};
use crate::net::clock::now_ms;
use crate::net::net_device::{DevRef, NetDevice};
use crate::net::skb::{Skb, SkbList};
use crate::netcore::arp::cache::{Refusal, Resolve, TimerEvent};
use crate::netcore::ipv4::frag::{Out, EXPIRE_BATCH};
use crate::netcore::ipv4::icmp_out::{self, IcmpError};
use crate::netcore::ipv4::output::plan;
use crate::netcore::ipv4::route::NextHop;
use crate::netcore::sock::errno as E;
use crate::netcore::wire::arp::{ArpOperation, ArpRepr};
use crate::netcore::wire::ipv4::Ipv4Packet;
use crate::netcore::wire::{EtherType, EthernetAddress, Ipv4Address};
use kernel::alloc::flags;
use kernel::prelude::*;

/// Headroom reserved in frames the stack builds (Ethernet header, aligned).
pub(crate) const HEADROOM: u32 = 32;
const ARP_LEN: u32 = 28;

/// Hands a frame to `dev` for `mac`.
pub(crate) fn xmit(st: &Stack, skb: Skb, dev: &NetDevice, mac: [u8; 6]) {
    match skb.xmit(dev, mac, EtherType::Ipv4.into()) {
        Ok(()) => st.counters.inc(C::ip_tx),
        Err(_) => st.counters.inc(C::ip_tx_errors),
    }
}

/// Packets whose resolution failed or was evicted: their senders learn EHOSTUNREACH.
pub(crate) fn unresolved(st: &Stack, u: Unresolved) {
    for skb in u.packets {
        st.counters.inc(C::arp_resolve_failed);
        skb.fail(E::EHOSTUNREACH);
    }
}

/// Sends an ARP message on `dev` to `dst_mac`.
pub(crate) fn send_arp(st: &Stack, dev: &NetDevice, repr: &ArpRepr, dst_mac: [u8; 6]) {
    let Ok(mut skb) = Skb::alloc_tx(ARP_LEN, HEADROOM) else {
        st.counters.inc(C::ip_tx_errors);
        return;
    };
    if repr.emit(skb.put(ARP_LEN)).is_err() {
        return;
    }
    if skb.xmit(dev, dst_mac, EtherType::Arp.into()).is_err() {
        st.counters.inc(C::ip_tx_errors);
    }
}

/// Broadcasts a request for `target` from `dev`, whose address is `ours`.
pub(crate) fn send_request(st: &Stack, dev: &NetDevice, ours: Ipv4Address, target: Ipv4Address) {
    let req = ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: EthernetAddress(dev.mac()),
        source_protocol_addr: ours,
        target_hardware_addr: EthernetAddress::ZERO,
        target_protocol_addr: target,
    };
    send_arp(st, dev, &req, EthernetAddress::BROADCAST.0);
}

/// Announces `addr` on `dev` (a gratuitous ARP request, RFC 5227's announcement).
pub(crate) fn gratuitous(st: &Stack, dev: &NetDevice, addr: Ipv4Address) {
    send_request(st, dev, addr, addr);
    st.counters.inc(C::arp_tx_gratuitous);
}

/// Our address on the interface that routes to `dst` (the source of what we send there).
pub(crate) fn source_for(st: &Stack, dst: Ipv4Address) -> Option<Ipv4Address> {
    let g = st.read();
    let nh = g.route(st, dst)?;
    g.iface(nh.ifindex)
        .map(|i| i.source_for(nh.neighbor(dst)))
        .filter(|a| !a.is_unspecified())
}

/// Sends a whole IPv4 packet (data at its header) to `dst` by `nh`, or by a route lookup.
pub(crate) fn send_ip(st: &Stack, skb: Skb, dst: Ipv4Address, nh: Option<NextHop>) -> Result {
    let now = now_ms();
    let full = {
        let arp = st.lock_arp();
        arp.len() >= arp.capacity() && !arp.wants().is_none()
    };
    if full {
        // Every slot is taken and the cache may grow (its gc_thresh3 was raised, or the
        // tick has not grown it yet): grow it first, so that a new neighbour finds a slot.
        st.arp_room(flags::GFP_ATOMIC);
    }
    let g = st.read();
    let nh = match nh.or_else(|| g.route(st, dst)) {
        Some(nh) => nh,
        None => {
            drop(g);
            st.counters.inc(C::ip_tx_no_route);
            return Err(errno(E::ENETUNREACH));
        }
    };
    if nh.local {
        drop(g);
        super::deliver_local(st, skb);
        return Ok(());
    }
    let Some(iface) = g.iface(nh.ifindex) else {
        drop(g);
        st.counters.inc(C::ip_tx_no_route);
        return Err(errno(E::ENETUNREACH));
    };
    let dev = iface.dev.clone();
    let neighbour = nh.neighbor(dst);
    // The request's sender address: ours in the neighbour's subnet (arp_solicit's choice).
    let ours = iface.source_for(neighbour);
    if dst == Ipv4Address::BROADCAST || iface.is_subnet_broadcast(dst) {
        drop(g);
        xmit(st, skb, &dev, EthernetAddress::BROADCAST.0);
        return Ok(());
    }
    // The entry of the device the packet leaves by: a MAC address learned on another link
    // (the same address reached by another route, or a socket bound to this device) is no
    // use here.
    // A waiting packet is charged its truesize against unres_qlen_bytes, as Linux charges
    // a neighbour's arp_queue.
    let truesize = skb.truesize();
    let (r, grow) = {
        let mut arp = st.lock_arp();
        let r = arp.resolve_or_queue(nh.ifindex, neighbour, skb, truesize, now);
        (r, !arp.wants().is_none())
    };
    drop(g);
    if grow {
        // Any context may send: the tick grows it with GFP_KERNEL if this fails.
        st.arp_room(flags::GFP_ATOMIC);
    }
    match r {
        Resolve::Send(mac, skb) => xmit(st, skb, &dev, mac.0),
        Resolve::Request { evicted, dropped } => {
            if let Some(e) = evicted {
                unresolved(st, e);
            }
            for skb in dropped {
                st.counters.inc(C::arp_queue_drops);
                drop(skb);
            }
            send_request(st, &dev, ours, neighbour);
            st.counters.inc(C::arp_tx_requests);
        }
        Resolve::Queued { dropped } => {
            for skb in dropped {
                st.counters.inc(C::arp_queue_drops);
                drop(skb);
            }
        }
        Resolve::Refused { packet, reason } => {
            drop(packet);
            st.counters.inc(match reason {
                // gc_thresh3 entries, none of them collectable: "neighbour table overflow".
                Refusal::Full => C::arp_table_full,
                Refusal::NoMemory => C::arp_nomem,
                _ => C::arp_queue_drops,
            });
            return Err(errno(E::EHOSTUNREACH));
        }
    }
    Ok(())
}

/// Cuts a whole IPv4 packet (`packet`, described by `ip`) into fragments that fit `mtu` and
/// sends them by `nh`, as ip_fragment does for a forwarded datagram. A packet that is itself
/// a fragment keeps its place: offsets add to its own, and its MF flag stays on the last
/// piece. Options are not copied (every fragment gets a 20-byte header).
pub(crate) fn send_fragments(
    st: &Stack,
    packet: &[u8],
    ip: &crate::netcore::ipv4::input::Checked,
    nh: NextHop,
    mtu: usize,
) -> Result {
    const HLEN: usize = 20;
    let header = packet.get(..HLEN).ok_or(EINVAL)?;
    let payload = packet.get(ip.header_len..ip.total_len).ok_or(EINVAL)?;
    let frags = plan(HLEN, payload.len(), mtu, false).map_err(|_| errno(E::EMSGSIZE))?;
    for f in frags {
        let total = HLEN + f.len;
        let mut skb = Skb::alloc_tx(total as u32, HEADROOM)?;
        let buf = skb.put(total as u32);
        buf[..HLEN].copy_from_slice(header);
        let piece = payload.get(f.offset..f.offset + f.len).ok_or(EINVAL)?;
        buf[HLEN..].copy_from_slice(piece);
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        p.set_header_len(HLEN);
        p.set_total_len(total as u16);
        p.clear_flags();
        p.set_more_frags(f.more || ip.more_frags);
        p.set_frag_offset((ip.frag_offset + f.offset) as u16);
        p.fill_checksum();
        send_ip(st, skb, ip.dst, Some(nh))?;
        st.counters.inc(C::ip_tx_fragments);
    }
    Ok(())
}

/// Sends the ICMP error `kind` about `offending` (a whole IP packet we received) from
/// `our_addr`, if RFC 1122 allows one.
pub(crate) fn icmp_error(st: &Stack, offending: &[u8], kind: IcmpError, our_addr: Ipv4Address) {
    if !icmp_out::error_allowed(offending) {
        return;
    }
    let Some(src) = offending.get(12..16).and_then(Ipv4Address::from_bytes) else {
        return;
    };
    let ttl = st.read().default_ttl;
    let ident = st
        .lock_ident()
        .next(our_addr, src, crate::netcore::wire::ipv4::Protocol::Icmp);
    let len = icmp_out::MAX_ERROR_LEN as u32;
    let Ok(mut skb) = Skb::alloc_tx(len, HEADROOM) else {
        return;
    };
    let out = skb.put(len);
    let Ok(n) = icmp_out::error_message(kind, offending, our_addr, ident, ttl, out) else {
        return;
    };
    if skb.trim(n as u32).is_err() {
        return;
    }
    if send_ip(st, skb, src, None).is_ok() {
        match kind {
            IcmpError::TtlExceeded | IcmpError::ReasmTimeExceeded => {
                st.counters.inc(C::icmp_tx_time_exceeded)
            }
            _ => st.counters.inc(C::icmp_tx_unreachable),
        }
    }
}

/// Runs the timers: ARP retries, failures, ageing and garbage collection; reassembly
/// timeouts. Returns the milliseconds until the next run. The tick is process context: the
/// ARP cache grows here with GFP_KERNEL (vmalloc for a large table) when the atomic
/// attempts of the packet paths could not.
pub(crate) fn tick(st: &Stack) -> u64 {
    st.arp_room(flags::GFP_KERNEL);
    let now = now_ms();
    let busy = arp_timers(st, now);
    reasm_timers(st, now);
    let next = st.lock_arp().next_timer_in(now).unwrap_or(1000);
    if busy {
        10
    } else {
        next.clamp(10, 1000)
    }
}

/// The ARP events due: requests sent again, failures answered. True if there were more
/// than one round takes (the tick then comes back soon).
#[inline(never)]
fn arp_timers(st: &Stack, now: u64) -> bool {
    let mut retries: [Option<(Ipv4Address, Ipv4Address, DevRef)>; 8] = Default::default();
    // Failed resolutions: their packets are freed and their senders told after the lock.
    let mut failures: [Option<Unresolved>; 4] = Default::default();
    let (mut n, mut nf) = (0, 0);
    {
        let inner = st.read();
        let mut arp = st.lock_arp();
        // Events are taken one at a time so that requests can be sent after the lock.
        while n < retries.len() && nf < failures.len() {
            let Some(ev) = arp.poll_timers(now) else {
                break;
            };
            match ev {
                // Asked again on the entry's device, whatever the routes say now.
                TimerEvent::Retry { ifindex, ip } => {
                    if let Some(iface) = inner.iface(ifindex) {
                        retries[n] = Some((iface.source_for(ip), ip, iface.dev.clone()));
                        n += 1;
                    }
                }
                TimerEvent::Failed(u) => {
                    failures[nf] = Some(u);
                    nf += 1;
                }
                TimerEvent::AgedOut { .. } => {}
            }
        }
    }
    let busy = n == retries.len() || nf == failures.len();
    for u in failures.into_iter().flatten() {
        unresolved(st, u);
    }
    for (ours, ip, dev) in retries.iter().flatten() {
        send_request(st, dev, *ours, *ip);
        st.counters.inc(C::arp_tx_requests);
    }
    busy
}

/// Datagrams whose reassembly timed out: their fragments are freed after the lock, and one
/// that had its first fragment gets its sender an ICMP time exceeded (fragment reassembly)
/// quoting it, as Linux's `ip_expire` sends it.
#[inline(never)]
fn reasm_timers(st: &Stack, now: u64) {
    st.frag_room(flags::GFP_KERNEL);
    loop {
        let (mut free, mut firsts) = (SkbList::new(), SkbList::new());
        let n = st.lock_frags().expire(now, &mut |o| match o {
            Out::Expired(e) => {
                if let Some(f) = e.first {
                    firsts.push(f.packet);
                }
            }
            Out::Free(p, _) => free.push(p),
            Out::Piece(f) => free.push(f.packet),
        });
        drop(free);
        st.counters.add(C::ip_reasm_timeouts, n as u64);
        for first in firsts {
            // The datagram was for this address of ours: the error comes from it.
            let ours = first
                .data()
                .get(16..20)
                .and_then(Ipv4Address::from_bytes)
                .unwrap_or(Ipv4Address::UNSPECIFIED);
            icmp_error(st, first.data(), IcmpError::ReasmTimeExceeded, ours);
        }
        if n < EXPIRE_BATCH {
            return;
        }
    }
}
