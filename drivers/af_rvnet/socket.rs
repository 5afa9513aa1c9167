// SPDX-License-Identifier: GPL-2.0

//! The sockets: `SOCK_DGRAM` (UDP) and `SOCK_RAW` (one IP protocol), as `udp.c`,
//! `raw.c` and `af_inet.c` give them to AF_INET.
//!
//! A socket's addresses are kept in its [`SockState`]; once bound (or, for a raw socket,
//! created) it is also in the namespace's socket table, which the receive path searches.
//! `connect` resolves the route once and keeps it with the FIB generation it came from, so
//! later sends skip the lookup until the FIB changes (the seed notes' `ip_route_connect`).
//! Receiving (`recvmsg`, `poll`) is the generic datagram code over the socket's own receive
//! queue (`family.c`).

use super::output::{self, HEADROOM};
use super::{errno, text, SockEntry, Stack, C};
use crate::net::clock;
use crate::net::proto;
use crate::net::skb::Skb;
use crate::net::socket::{Msg, OptVal, SockType, Socket};
use crate::netcore::ipv4::output::{plan, FragError};
use crate::netcore::ipv4::route::NextHop;
use crate::netcore::nic::features::HW_CSUM;
use crate::netcore::sock::addr::{self as saddr, SockAddr};
use crate::netcore::sock::demux::{self, Binding, EPHEMERAL_HI, EPHEMERAL_LO};
use crate::netcore::sock::errno as E;
use crate::netcore::sock::table::{SockId, TableError};
use crate::netcore::wire::ipv4::{Ipv4Packet, Ipv4Repr, Protocol};
use crate::netcore::wire::udp::UdpPacket;
use crate::netcore::wire::Ipv4Address;
use kernel::alloc::{flags, KVec};
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::SpinLock;

const IPPROTO_UDP: i32 = 17;
/// NETIF_F_IP_CSUM: checksum offload for TCP and UDP over IPv4 only.
const IP_CSUM: u64 = 1 << 1;
const SOL_IP: i32 = 0;
const IP_TTL: i32 = 2;
const IP_HDRINCL: i32 = 3;
const IP_MTU_DISCOVER: i32 = 10;
const IP_PMTUDISC_DO: i32 = 2;
const MSG_DONTWAIT: u32 = 0x40;
const CAP_NET_BIND_SERVICE: u32 = 10;
const IP_HLEN: usize = 20;
const UDP_HLEN: usize = 8;
const MAX_UDP_PAYLOAD: usize = 65535 - IP_HLEN - UDP_HLEN;
/// Ports an autobind tries before it gives up.
const EPHEMERAL_PROBES: u32 = 1024;

/// What a socket remembers between calls.
struct Addrs {
    bound: bool,
    /// `bind` gave a specific local address (kept across connect and disconnect).
    addr_bound: bool,
    local: SockAddr,
    remote: Option<SockAddr>,
    /// The connected route and the FIB generation it was resolved in.
    route: Option<(NextHop, u64)>,
    hdrincl: bool,
    /// 0: the namespace's default.
    ttl: u8,
    dont_frag: bool,
    /// The socket's entry in the namespace's table, once bound (raw: once created).
    id: Option<SockId>,
}

/// One socket's state.
#[pin_data]
pub(crate) struct SockState {
    kind: SockType,
    /// IP protocol: 17 for datagram sockets, the raw socket's protocol otherwise.
    protocol: u8,
    #[pin]
    addrs: SpinLock<Addrs>,
}

fn family() -> u16 {
    proto::family_number() as u16
}

/// Creates a socket's state: checks the protocol and, for raw sockets, CAP_NET_RAW.
pub(crate) fn new(
    _st: &Stack,
    kind: SockType,
    protocol: i32,
    may_raw: bool,
) -> Result<Pin<KBox<SockState>>> {
    let protocol = match kind {
        SockType::Dgram if protocol == 0 || protocol == IPPROTO_UDP => IPPROTO_UDP as u8,
        SockType::Dgram => return Err(errno(E::EPROTONOSUPPORT)),
        SockType::Raw => {
            if !(1..=255).contains(&protocol) {
                return Err(errno(E::EPROTONOSUPPORT));
            }
            if !may_raw {
                return Err(EPERM);
            }
            protocol as u8
        }
    };
    let hdrincl = protocol == 255;
    KBox::pin_init(
        try_pin_init!(SockState {
            kind,
            protocol,
            addrs <- new_spinlock!(
                Addrs {
                    bound: false,
                    addr_bound: false,
                    local: SockAddr::new(Ipv4Address::UNSPECIFIED, 0),
                    remote: None,
                    route: None,
                    // IPPROTO_RAW sockets always give their own header.
                    hdrincl,
                    ttl: 0,
                    dont_frag: false,
                    id: None,
                },
                "rvnet_sock"
            ),
        }),
        flags::GFP_KERNEL,
    )
}

/// Raw sockets receive from creation on: they join the table now.
pub(crate) fn init(sock: &Socket<'_, super::AfRvnet>) {
    if sock.state.kind != SockType::Raw {
        return;
    }
    let binding = Binding {
        local_port: u16::from(sock.state.protocol),
        ..Binding::default()
    };
    // Without memory the socket simply receives nothing; sends still work.
    if sock.net.sock_room().is_err() {
        sock.net.counters.inc(C::sock_table_nomem);
        return;
    }
    let mut s = sock.state.addrs.lock();
    let mut socks = sock.net.lock_socks();
    let refused = match socks.insert(binding, true, false, sock.to_ref()) {
        Ok(id) => {
            s.id = Some(id);
            None
        }
        Err((_, sk)) => Some(sk),
    };
    drop(socks);
    drop(s);
    if refused.is_some() {
        sock.net.counters.inc(C::sock_table_nomem);
    }
    // A refused socket reference is put here, after the locks.
    drop(refused);
}

/// Forgets the socket. Its table reference is put after the lock.
pub(crate) fn release(sock: &Socket<'_, super::AfRvnet>) {
    let Some(id) = sock.state.addrs.lock().id.take() else {
        return;
    };
    let gone = sock.net.lock_socks().remove(id);
    drop(gone);
}

/// Updates the socket's entry in the table (`s` is its locked state).
fn set_binding(sock: &Socket<'_, super::AfRvnet>, s: &Addrs, f: impl FnOnce(&mut Binding)) {
    let Some(id) = s.id else { return };
    let mut socks = sock.net.lock_socks();
    let Some(mut b) = socks.get(id).map(|e| e.binding) else {
        return;
    };
    f(&mut b);
    // A connect or disconnect does not check the port again, as in Linux.
    let _ = socks.rebind(id, b, false);
}

/// Binds a UDP socket to `addr:port` (port 0: an ephemeral one) and enters it in the table.
/// The caller holds the socket's state (`s`) and made room in the table.
fn claim_port(
    sock: &Socket<'_, super::AfRvnet>,
    s: &mut Addrs,
    addr: Ipv4Address,
    port: u16,
) -> Result<u16> {
    let new = Binding {
        local: addr,
        local_port: port,
        ifindex: sock.bound_dev_if(),
        ..Binding::default()
    };
    let mut socks = sock.net.lock_socks();
    let in_use = |p: u16, socks: &super::SockTable| {
        socks.in_use(&Binding {
            local_port: p,
            ..new
        })
    };
    let port = if port == 0 {
        // At most EPHEMERAL_PROBES lookups, with bottom halves off: a nearly full range
        // fails with EADDRINUSE instead of stalling the CPU.
        let mut probes = 0u32;
        demux::pick_ephemeral(EPHEMERAL_LO, EPHEMERAL_HI, clock::random_u32(), |p| {
            probes += 1;
            probes > EPHEMERAL_PROBES || in_use(p, &socks)
        })
        .ok_or(errno(E::EADDRINUSE))?
    } else if in_use(port, &socks) {
        return Err(errno(E::EADDRINUSE));
    } else {
        port
    };
    let binding = Binding {
        local_port: port,
        ..new
    };
    match socks.insert(binding, false, false, sock.to_ref()) {
        Ok(id) => {
            s.id = Some(id);
            Ok(port)
        }
        Err((e, sk)) => {
            drop(socks);
            // The reference is put after the lock.
            drop(sk);
            sock.net.counters.inc(C::sock_table_nomem);
            Err(match e {
                TableError::InUse => errno(E::EADDRINUSE),
                TableError::Full => errno(E::ENOBUFS),
                TableError::NoMemory => ENOMEM,
            })
        }
    }
}

/// True if `a` may be a socket's local address here: ours, broadcast or any.
fn local_ok(st: &Stack, a: Ipv4Address) -> bool {
    if a.is_unspecified() || a == Ipv4Address::BROADCAST || a.is_multicast() {
        return true;
    }
    st.read().is_local(a)
}

/// `bind(2)`.
pub(crate) fn bind(sock: &Socket<'_, super::AfRvnet>, addr: &[u8]) -> Result {
    let a = saddr::parse_bind(addr, family()).map_err(errno)?;
    if !local_ok(sock.net, a.addr) {
        return Err(errno(E::EADDRNOTAVAIL)); // EADDRNOTAVAIL
    }
    if sock.state.kind == SockType::Raw {
        let mut s = sock.state.addrs.lock();
        s.local = SockAddr::new(a.addr, 0);
        s.addr_bound = !a.addr.is_unspecified();
        set_binding(sock, &s, |b| b.local = a.addr);
        return Ok(());
    }
    if saddr::port_requires_privilege(a.port) && !sock.capable(CAP_NET_BIND_SERVICE) {
        return Err(EACCES);
    }
    sock.net.sock_room()?;
    let mut s = sock.state.addrs.lock();
    if s.bound {
        return Err(EINVAL);
    }
    let port = claim_port(sock, &mut s, a.addr, a.port)?;
    s.bound = true;
    s.addr_bound = !a.addr.is_unspecified();
    s.local = SockAddr::new(a.addr, port);
    Ok(())
}

/// Binds an unbound UDP socket to an ephemeral port, as a first send or connect does.
fn autobind(sock: &Socket<'_, super::AfRvnet>) -> Result {
    if sock.state.kind != SockType::Dgram {
        return Ok(());
    }
    if sock.state.addrs.lock().bound {
        return Ok(());
    }
    sock.net.sock_room()?;
    let mut s = sock.state.addrs.lock();
    if !s.bound {
        let port = claim_port(sock, &mut s, Ipv4Address::UNSPECIFIED, 0)?;
        s.bound = true;
        s.local = SockAddr::new(Ipv4Address::UNSPECIFIED, port);
    }
    Ok(())
}

/// The next hop for `dst`, and our address on its interface.
fn route(st: &Stack, dst: Ipv4Address, oif: i32) -> Result<(NextHop, Ipv4Address, u64)> {
    let g = st.read();
    let nh = g.route_oif(st, dst, oif).ok_or_else(|| {
        st.counters.inc(C::ip_tx_no_route);
        errno(E::ENETUNREACH)
    })?;
    let src = if nh.local {
        dst
    } else {
        g.iface(nh.ifindex)
            .map_or(Ipv4Address::UNSPECIFIED, |i| i.source_for(nh.neighbor(dst)))
    };
    Ok((nh, src, g.fib_generation()))
}

/// `connect(2)`: resolves and keeps the route.
pub(crate) fn connect(sock: &Socket<'_, super::AfRvnet>, addr: &[u8]) -> Result {
    let Some(a) = saddr::parse_connect(addr, family()).map_err(errno)? else {
        // Dissolve the association; a source address that connect chose goes with it
        // (inet_reset_saddr), one that bind chose stays. The table changes under the
        // socket's lock, so that a concurrent connect cannot interleave.
        let mut s = sock.state.addrs.lock();
        s.remote = None;
        s.route = None;
        if !s.addr_bound {
            s.local.addr = Ipv4Address::UNSPECIFIED;
        }
        let local = s.local.addr;
        set_binding(sock, &s, |b| {
            b.local = local;
            b.remote = Ipv4Address::UNSPECIFIED;
            b.remote_port = 0;
        });
        return Ok(());
    };
    if sock.state.kind == SockType::Dgram && a.port == 0 {
        return Err(errno(E::ECONNREFUSED)); // ECONNREFUSED, as udp on port 0
    }
    let (nh, src, generation) = route(sock.net, a.addr, sock.bound_dev_if())?;
    autobind(sock)?;
    let mut s = sock.state.addrs.lock();
    s.remote = Some(a);
    s.route = Some((nh, generation));
    if !s.addr_bound && !src.is_unspecified() {
        s.local.addr = src;
    }
    let local = s.local.addr;
    set_binding(sock, &s, |b| {
        b.local = local;
        b.remote = a.addr;
        b.remote_port = a.port;
    });
    Ok(())
}

/// `shutdown(2)`: marks the socket and wakes its waiters; ENOTCONN (after marking, so that
/// pollers still see EPOLLHUP) when it is not connected, as `inet_shutdown` answers.
pub(crate) fn shutdown(sock: &Socket<'_, super::AfRvnet>, how: i32) -> Result {
    sock.shutdown(how)?;
    if sock.state.addrs.lock().remote.is_none() {
        return Err(errno(E::ENOTCONN));
    }
    Ok(())
}

/// `getsockname(2)` / `getpeername(2)`.
pub(crate) fn getname(
    sock: &Socket<'_, super::AfRvnet>,
    peer: bool,
    out: &mut [u8; 16],
) -> Result<usize> {
    let s = sock.state.addrs.lock();
    let a = if peer {
        s.remote.ok_or(errno(E::ENOTCONN))?
    } else {
        s.local
    };
    saddr::emit(a, family(), out);
    Ok(16)
}

/// Fills the UDP header at the start of `seg` (header and payload, the payload in place)
/// and its checksum over the pseudo-header; with `partial_csum` the field gets only the
/// pseudo-header sum, for the device to finish.
fn udp_header(
    seg: &mut [u8],
    src: Ipv4Address,
    dst: Ipv4Address,
    sport: u16,
    dport: u16,
    partial_csum: bool,
) {
    let len = seg.len() as u16;
    let mut u = UdpPacket::new_unchecked(seg);
    u.set_src_port(sport);
    u.set_dst_port(dport);
    u.set_len(len);
    if partial_csum {
        u.fill_partial_checksum(src, dst);
    } else {
        u.fill_checksum(src, dst);
    }
}

/// Fills the IPv4 header `ip` (whose payload is the UDP datagram) and the UDP header of a
/// whole, unfragmented datagram in `buf`, whose payload is already in place after the 28
/// header bytes.
pub(crate) fn build_udp(
    buf: &mut [u8],
    ip: &Ipv4Repr,
    sport: u16,
    dport: u16,
    partial_csum: bool,
) -> Result {
    let seg = buf.get_mut(IP_HLEN..).ok_or(EINVAL)?;
    udp_header(seg, ip.src, ip.dst, sport, dport, partial_csum);
    ip.emit(buf).map_err(|_| EINVAL)
}

/// What one send needs: where to, from where, how.
struct Flow {
    dst: Ipv4Address,
    src: Ipv4Address,
    nh: NextHop,
    mtu: usize,
    ttl: u8,
    ident: u16,
    dont_frag: bool,
    /// The device finishes UDP checksums (NETIF_F_HW_CSUM or NETIF_F_IP_CSUM).
    csum_offload: bool,
}

impl Flow {
    /// The IPv4 header of a packet of this flow carrying `payload_len` bytes of `protocol`
    /// at fragment offset `frag_offset`.
    fn ip(
        &self,
        protocol: Protocol,
        payload_len: usize,
        frag_offset: usize,
        more_frags: bool,
    ) -> Ipv4Repr {
        Ipv4Repr {
            src: self.src,
            dst: self.dst,
            protocol,
            payload_len,
            ttl: self.ttl,
            ident: self.ident,
            dont_frag: self.dont_frag && frag_offset == 0 && !more_frags,
            more_frags,
            frag_offset: frag_offset as u16,
        }
    }
}

fn flow(
    sock: &Socket<'_, super::AfRvnet>,
    dst: Ipv4Address,
    cached: Option<(NextHop, u64)>,
) -> Result<Flow> {
    let st = sock.net;
    let oif = sock.bound_dev_if();
    let (local, ttl, dont_frag) = {
        let s = sock.state.addrs.lock();
        (s.local.addr, s.ttl, s.dont_frag)
    };
    let g = st.read();
    let generation = g.fib_generation();
    let nh = match cached {
        // A route cached by connect serves while the FIB is unchanged and the socket's
        // binding (SO_BINDTODEVICE, which may change after connect) still allows it.
        Some((nh, gen)) if gen == generation && (oif == 0 || nh.local || nh.ifindex == oif) => {
            st.counters.inc(C::route_lookups);
            st.counters.inc(C::route_cache_hits);
            nh
        }
        _ => g.route_oif(st, dst, oif).ok_or_else(|| {
            st.counters.inc(C::ip_tx_no_route);
            errno(E::ENETUNREACH)
        })?,
    };
    let (src, mtu, csum_offload) = if nh.local {
        (dst, 65535, false)
    } else {
        let i = g.iface(nh.ifindex).ok_or(errno(E::ENETUNREACH))?;
        let offload = i.dev.features() & (HW_CSUM | IP_CSUM) != 0;
        (
            i.source_for(nh.neighbor(dst)),
            i.dev.mtu() as usize,
            offload,
        )
    };
    let src = if local.is_unspecified() || local.is_multicast() || local == Ipv4Address::BROADCAST {
        src
    } else {
        local
    };
    let ttl = if ttl == 0 { g.default_ttl } else { ttl };
    let proto = Protocol::from(sock.state.protocol);
    let ident = st.lock_ident().next(src, dst, proto);
    Ok(Flow {
        dst,
        src,
        nh,
        mtu,
        ttl,
        ident,
        dont_frag,
        csum_offload,
    })
}

/// `sendmsg(2)`.
pub(crate) fn sendmsg(
    sock: &Socket<'_, super::AfRvnet>,
    msg: &mut Msg<'_>,
    len: usize,
) -> Result<usize> {
    let noblock = msg.flags() & MSG_DONTWAIT != 0;
    let (dst, cached) = match msg.name() {
        Some(n) if sock.state.kind == SockType::Raw => {
            (saddr::parse_bind(n, family()).map_err(errno)?, None)
        }
        Some(n) => (saddr::parse_sendto(n, family()).map_err(errno)?, None),
        None => {
            let s = sock.state.addrs.lock();
            match s.remote {
                Some(r) => (r, s.route),
                None if sock.state.kind == SockType::Raw && s.hdrincl => {
                    (SockAddr::new(Ipv4Address::UNSPECIFIED, 0), None)
                }
                None => return Err(errno(E::EDESTADDRREQ)),
            }
        }
    };
    match sock.state.kind {
        SockType::Dgram => send_udp(sock, msg, len, dst, cached, noblock),
        SockType::Raw => send_raw(sock, msg, len, dst.addr, cached, noblock),
    }
}

fn send_udp(
    sock: &Socket<'_, super::AfRvnet>,
    msg: &mut Msg<'_>,
    len: usize,
    dst: SockAddr,
    cached: Option<(NextHop, u64)>,
    noblock: bool,
) -> Result<usize> {
    if len > MAX_UDP_PAYLOAD {
        return Err(EMSGSIZE);
    }
    autobind(sock)?;
    let sport = sock.state.addrs.lock().local.port;
    let f = flow(sock, dst.addr, cached)?;
    let udp_len = UDP_HLEN + len;
    let frags = plan(IP_HLEN, udp_len, f.mtu, f.dont_frag).map_err(|e| match e {
        FragError::NeedsFragmentation { .. } | FragError::TooBig => EMSGSIZE,
        FragError::MtuTooSmall => EINVAL,
    })?;
    if !frags.is_fragmented() {
        let mut skb = sock.alloc_send_skb((IP_HLEN + udp_len) as u32, HEADROOM, noblock)?;
        let buf = skb.put((IP_HLEN + udp_len) as u32);
        msg.copy_into(&mut buf[IP_HLEN + UDP_HLEN..])?;
        build_udp(
            buf,
            &f.ip(Protocol::Udp, udp_len, 0, false),
            sport,
            dst.port,
            f.csum_offload,
        )?;
        if f.csum_offload {
            // As udp4_hwcsum: the device sums the datagram and stores the result, which
            // saves a pass over the data on every send.
            skb.set_csum_partial(IP_HLEN as u16, 6);
        }
        output::send_ip(sock.net, skb, f.dst, Some(f.nh))?;
        sock.net.counters.inc(C::udp_tx);
        return Ok(len);
    }
    // Fragmented: the whole datagram is built once, then cut.
    let mut whole = KVec::from_elem(0u8, udp_len, flags::GFP_KERNEL)?;
    msg.copy_into(&mut whole[UDP_HLEN..])?;
    udp_header(&mut whole[..], f.src, f.dst, sport, dst.port, false);
    for frag in frags {
        let total = IP_HLEN + frag.len;
        let mut skb = sock.alloc_send_skb(total as u32, HEADROOM, noblock)?;
        let buf = skb.put(total as u32);
        let piece = whole
            .get(frag.offset..frag.offset + frag.len)
            .ok_or(EINVAL)?;
        buf[IP_HLEN..].copy_from_slice(piece);
        f.ip(Protocol::Udp, frag.len, frag.offset, frag.more)
            .emit(buf)
            .map_err(|_| EINVAL)?;
        output::send_ip(sock.net, skb, f.dst, Some(f.nh))?;
        sock.net.counters.inc(C::ip_tx_fragments);
    }
    sock.net.counters.inc(C::udp_tx);
    Ok(len)
}

fn send_raw(
    sock: &Socket<'_, super::AfRvnet>,
    msg: &mut Msg<'_>,
    len: usize,
    dst: Ipv4Address,
    cached: Option<(NextHop, u64)>,
    noblock: bool,
) -> Result<usize> {
    let hdrincl = sock.state.addrs.lock().hdrincl;
    if hdrincl {
        if len < IP_HLEN {
            return Err(EINVAL);
        }
        if len > 65535 {
            return Err(EMSGSIZE);
        }
        let mut skb = sock.alloc_send_skb(len as u32, HEADROOM, noblock)?;
        let buf = skb.put(len as u32);
        msg.copy_into(buf)?;
        // As raw_send_hdrinc: a header that is not IPv4 or does not fit is EINVAL.
        let ihl = usize::from(buf[0] & 0x0f) * 4;
        if buf[0] >> 4 != 4 || ihl < IP_HLEN || ihl > len {
            return Err(EINVAL);
        }
        let hdr_dst = Ipv4Address::from_bytes(&buf[16..20]).unwrap_or(dst);
        // The connected route is for the connected address, not necessarily this header's.
        let cached = cached.filter(|_| hdr_dst == dst);
        let f = flow(sock, hdr_dst, cached)?;
        if len > f.mtu {
            return Err(EMSGSIZE);
        }
        // As raw_send_hdrinc: the stack fills the length, checksum, and an ID and source
        // when the caller left them zero.
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        p.set_total_len(len as u16);
        if p.ident() == 0 {
            p.set_ident(f.ident);
        }
        if p.src_addr().is_unspecified() {
            p.set_src_addr(f.src);
        }
        p.fill_checksum();
        output::send_ip(sock.net, skb, hdr_dst, Some(f.nh))?;
        sock.net.counters.inc(C::raw_tx);
        return Ok(len);
    }
    let f = flow(sock, dst, cached)?;
    let total = IP_HLEN + len;
    if total > f.mtu {
        return Err(EMSGSIZE);
    }
    let mut skb = sock.alloc_send_skb(total as u32, HEADROOM, noblock)?;
    let buf = skb.put(total as u32);
    msg.copy_into(&mut buf[IP_HLEN..])?;
    let proto = Protocol::from(sock.state.protocol);
    f.ip(proto, len, 0, false).emit(buf).map_err(|_| EINVAL)?;
    output::send_ip(sock.net, skb, f.dst, Some(f.nh))?;
    sock.net.counters.inc(C::raw_tx);
    Ok(len)
}

fn read_int(val: &OptVal) -> Result<i32> {
    let mut b = [0u8; 4];
    if val.len() == 1 {
        let mut one = [0u8; 1];
        val.read(&mut one)?;
        return Ok(i32::from(one[0]));
    }
    val.read(&mut b)?;
    Ok(i32::from_ne_bytes(b))
}

/// `setsockopt(2)` for SOL_IP (configuration is the netlink family's, `netlink.rs`).
pub(crate) fn setsockopt(
    sock: &Socket<'_, super::AfRvnet>,
    level: i32,
    name: i32,
    val: &OptVal,
) -> Result {
    if level != SOL_IP {
        return Err(errno(E::ENOPROTOOPT));
    }
    let v = read_int(val)?;
    let mut s = sock.state.addrs.lock();
    match name {
        IP_TTL => {
            s.ttl = match v {
                -1 => 0,
                1..=255 => v as u8,
                _ => return Err(EINVAL),
            }
        }
        IP_HDRINCL if sock.state.kind == SockType::Raw => s.hdrincl = v != 0,
        IP_MTU_DISCOVER if (0..=5).contains(&v) => s.dont_frag = v == IP_PMTUDISC_DO,
        IP_MTU_DISCOVER => return Err(EINVAL),
        _ => return Err(errno(E::ENOPROTOOPT)),
    }
    Ok(())
}

/// `getsockopt(2)` for SOL_IP.
pub(crate) fn getsockopt(
    sock: &Socket<'_, super::AfRvnet>,
    level: i32,
    name: i32,
    buf: &mut [u8],
) -> Result<usize> {
    if level != SOL_IP {
        return Err(errno(E::ENOPROTOOPT));
    }
    let v: i32 = {
        let s = sock.state.addrs.lock();
        match name {
            IP_TTL => {
                if s.ttl == 0 {
                    i32::from(sock.net.read().default_ttl)
                } else {
                    i32::from(s.ttl)
                }
            }
            IP_HDRINCL if sock.state.kind == SockType::Raw => i32::from(s.hdrincl),
            IP_MTU_DISCOVER => {
                if s.dont_frag {
                    IP_PMTUDISC_DO
                } else {
                    0
                }
            }
            _ => return Err(errno(E::ENOPROTOOPT)),
        }
    };
    let out = buf.get_mut(..4).ok_or(EINVAL)?;
    out.copy_from_slice(&v.to_ne_bytes());
    Ok(4)
}

/// A line of `/proc/net/rvnet/sockets` for one table entry.
pub(crate) fn proc_line(e: &SockEntry, out: &mut impl core::fmt::Write) -> core::fmt::Result {
    let Some(sk) = e.value() else {
        return Ok(());
    };
    let b = &e.binding;
    let kind = if e.raw { "raw" } else { "dgram" };
    let proto = if e.raw { b.local_port } else { 17 };
    let port = if e.raw { 0 } else { b.local_port };
    use core::fmt::Write;
    // `SockAddr`'s Display does not pad: format first, then pad the text.
    let local = text::small(|w| write!(w, "{}", SockAddr::new(b.local, port)));
    let remote = text::small(|w| write!(w, "{}", SockAddr::new(b.remote, b.remote_port)));
    let dev = match sk.bound_dev_if() {
        0 => text::small(|w| w.write_str("*")),
        i => text::small(|w| write!(w, "{}", i)),
    };
    writeln!(
        out,
        "{:<5} {:<5} {:<21} {:<21} {:<10} {:<8} {:<8} {}",
        kind,
        proto,
        local.as_str(),
        remote.as_str(),
        dev.as_str(),
        sk.rmem(),
        sk.rcvbuf(),
        sk.drops()
    )
}

/// Frees `skb`; a helper so that error paths read plainly.
#[allow(dead_code)]
fn discard(_skb: Skb) {}
