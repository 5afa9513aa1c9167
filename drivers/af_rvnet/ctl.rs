// SPDX-License-Identifier: GPL-2.0

//! Configuration and visibility: one function per request of the generic netlink family
//! (`netlink.rs`, which checks CAP_NET_ADMIN and the attributes), and `/proc/net/rvnet/*`.
//!
//! A change takes RTNL when it attaches or detaches a device, as `ip addr` and `ip route` do
//! through rtnetlink; an impossible prefix or value is EINVAL before anything changes.

use super::text::{alloc_fmt_ip, alloc_fmt_mac, alloc_fmt_prefix};
use super::{errno, AfRvnet, IfAddr, Iface, Inner, Stack, Unresolved, C, COUNTER_NAMES, MAX_ADDRS};
use super::{local_ifindex, notify, output};
use crate::net::clock::now_ms;
use crate::net::rtnl::{Rtnl, RtnlHeld};
use crate::net::seq_file::{ProcFile, SeqWriter};
use crate::netcore::arp::cache::{ArpConfig, EntryInfo, Refusal, State};
use crate::netcore::arp::proxy::ProxyError;
use crate::netcore::ipv4::route::{mask, Cursor, FibError, Route, RouteKind};
use crate::netcore::sock::errno as E;
use crate::netcore::uapi::param as P;
use crate::netcore::wire::{EthernetAddress, Ipv4Address};
use core::ffi::CStr;
use core::fmt::Write;
use kernel::alloc::kvec::InsertError;
use kernel::alloc::{flags, KVec};
use kernel::prelude::*;

/// True for an address an interface may have.
fn unicast(a: Ipv4Address) -> bool {
    !(a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback())
}

/// Attaches `ifindex` (EEXIST if it is already).
pub(crate) fn link_attach(st: &Stack, ifindex: i32) -> Result {
    let rtnl = Rtnl::lock();
    if attached(st, ifindex) {
        return Err(EEXIST);
    }
    attach(st, &rtnl, ifindex)
}

/// Detaches `ifindex`, dropping its address and routes.
pub(crate) fn link_detach(st: &Stack, ifindex: i32) -> Result {
    let rtnl = Rtnl::lock();
    detach(st, ifindex, |d| rtnl.detach_rx(d))
}

/// Deletes the route `dst/len`.
pub(crate) fn route_del(st: &Stack, dst: Ipv4Address, len: u8) -> Result {
    check_prefix(dst, len)?;
    let removed = {
        let mut g = st.write();
        g.fib.delete(dst, len).map_err(fib_errno)?
    };
    notify::route_changed(st, false, &removed);
    Ok(())
}

/// Removes the entry of `addr` on the device `ifindex` (`ip neigh del ... dev D`), or with 0
/// its entries on every device; ENOENT if there was none.
pub(crate) fn neigh_del(st: &Stack, ifindex: i32, addr: Ipv4Address) -> Result {
    if ifindex != 0 {
        let u = {
            if st.read().iface(ifindex).is_none() {
                return Err(ENODEV);
            }
            st.lock_arp().remove(ifindex, addr).ok_or(ENOENT)?
        };
        output::unresolved(st, u);
        notify::neigh_changed(st, false, addr, None, ifindex);
        return Ok(());
    }
    // One entry at a time, so that each one's waiting packets are freed after the lock.
    // Every turn removes an entry, so the loop ends.
    let mut removed = false;
    loop {
        let u = {
            let mut arp = st.lock_arp();
            let on = arp
                .entries(now_ms())
                .find(|e| e.ip == addr)
                .map(|e| e.ifindex);
            on.and_then(|i| arp.remove(i, addr))
        };
        let Some(u) = u else { break };
        let on = u.ifindex;
        output::unresolved(st, u);
        notify::neigh_changed(st, false, addr, None, on);
        removed = true;
    }
    if removed {
        Ok(())
    } else {
        Err(ENOENT)
    }
}

/// Drops every dynamic ARP entry; their waiting packets are failed after the lock is
/// dropped.
pub(crate) fn neigh_flush(st: &Stack) -> Result {
    drain_arp(st, |e| e.state != State::Static);
    Ok(())
}

/// Entries removed under one hold of the lock by [`drain_arp`].
const DRAIN_CHUNK: usize = 64;
/// Entries looked at under one hold of the lock by [`drain_arp`].
const DRAIN_SCAN: usize = 4096;

/// Removes the ARP entries `which` selects, a chunk at a time: under each hold of the lock
/// at most [`DRAIN_SCAN`] entries are looked at and [`DRAIN_CHUNK`] removed, and after it
/// their waiting packets fail (EHOSTUNREACH) and monitors hear of each removal. A table of
/// 100,000 entries never holds the lock for long, and nothing is freed under it.
pub(crate) fn drain_arp(st: &Stack, which: impl Fn(&EntryInfo) -> bool) {
    // Without this vector (no memory), one entry at a time.
    let mut gone: KVec<Unresolved> =
        KVec::with_capacity(DRAIN_CHUNK, flags::GFP_KERNEL).unwrap_or_default();
    let chunk = gone.capacity().clamp(1, DRAIN_CHUNK);
    let mut slot = 0;
    loop {
        let mut keys = [None::<(i32, Ipv4Address)>; DRAIN_CHUNK];
        let mut spare = None;
        let done = {
            let mut g = st.lock_arp();
            let (mut n, mut seen, mut done) = (0, 0, true);
            for (next, e) in g.iter_from(slot, now_ms()) {
                if n == chunk || seen == DRAIN_SCAN {
                    done = false;
                    break;
                }
                seen += 1;
                slot = next;
                if which(&e) {
                    if let Some(k) = keys.get_mut(n) {
                        *k = Some((e.ifindex, e.ip));
                        n += 1;
                    }
                }
            }
            for (ifindex, ip) in keys.iter().flatten() {
                if let Some(u) = g.remove(*ifindex, *ip) {
                    if let Err(e) = gone.push_within_capacity(u) {
                        spare = Some(e.0);
                    }
                }
            }
            done
        };
        for u in Iterator::chain(gone.drain_all(), spare) {
            let (addr, ifindex) = (u.ip, u.ifindex);
            output::unresolved(st, u);
            notify::neigh_changed(st, false, addr, None, ifindex);
        }
        if done {
            return;
        }
    }
}

/// The address and interface of the ARP entry for `mac`.
pub(crate) fn neigh_reverse(st: &Stack, mac: EthernetAddress) -> Result<(Ipv4Address, i32)> {
    let (ifindex, addr) = st.lock_arp().reverse(mac).ok_or(ENOENT)?;
    Ok((addr, ifindex))
}

/// Answers ARP for `prefix/len`.
pub(crate) fn proxy_add(st: &Stack, prefix: Ipv4Address, len: u8) -> Result {
    check_prefix(prefix, len)?;
    let mut g = st.lock_arp();
    if g.proxy().iter().any(|p| p == (prefix, len)) {
        return Err(EEXIST);
    }
    g.add_proxy(prefix, len).map_err(|e| match e {
        ProxyError::BadLength => EINVAL,
        ProxyError::Full => ENOSPC,
    })
}

/// Stops answering ARP for `prefix/len`.
pub(crate) fn proxy_del(st: &Stack, prefix: Ipv4Address, len: u8) -> Result {
    check_prefix(prefix, len)?;
    let mut g = st.lock_arp();
    if g.remove_proxy(prefix, len) {
        Ok(())
    } else {
        Err(ENOENT)
    }
}

/// EINVAL for a prefix length over 32 or host bits set.
fn check_prefix(prefix: Ipv4Address, len: u8) -> Result {
    if len > 32 || prefix.to_u32() & !mask(len) != 0 {
        return Err(EINVAL);
    }
    Ok(())
}

/// Sets parameter `param` (an attribute of the spec's `param` set) to `v`; EINVAL for a
/// value out of range.
pub(crate) fn set_param(st: &Stack, param: u32, v: u64) -> Result {
    // Requests are serialised (the netlink family is not parallel_ops), so the ARP
    // configuration read here is the one written back below.
    let mut cfg: ArpConfig = st.lock_arp().config();
    let u32v = u32::try_from(v).ok();
    let Ok(id) = u16::try_from(param) else {
        return Err(errno(E::ENOPROTOOPT));
    };
    match id {
        P::ARP_AGEING_MS if v > 0 => cfg.ageing_ms = v,
        P::ARP_RETRY_MS if v > 0 => cfg.retry_ms = v,
        P::ARP_RETRIES if v <= 255 => cfg.max_retries = v as u8,
        P::FORWARDING if v <= 1 => st.write().forwarding = v == 1,
        P::REASM_TIMEOUT_MS if v > 0 => st.lock_frags().set_timeout_ms(v),
        P::IPFRAG_HIGH_THRESH if v <= 1 << 30 => st.lock_frags().set_high_thresh(v as usize),
        P::DEFAULT_TTL if (1..=255).contains(&v) => st.write().default_ttl = v as u8,
        P::ARP_GC_THRESH1 if u32v.is_some() => cfg.gc_thresh1 = v as u32,
        P::ARP_GC_THRESH2 if u32v.is_some() => cfg.gc_thresh2 = v as u32,
        P::ARP_GC_THRESH3 if (1..=u64::from(super::MAX_ARP_ENTRIES)).contains(&v) => {
            cfg.gc_thresh3 = v as u32
        }
        P::ARP_GC_INTERVAL_MS if v > 0 => cfg.gc_interval_ms = v,
        P::ARP_GC_STALE_MS if v > 0 => cfg.gc_stale_ms = v,
        P::ARP_UNRES_QLEN_BYTES if u32v.is_some() => cfg.unres_qlen_bytes = v as u32,
        P::FIB_MAX_ROUTES if (1..=1 << 24).contains(&v) => st.write().fib.set_limit(v as usize),
        1..=P::MAX => return Err(EINVAL),
        _ => return Err(errno(E::ENOPROTOOPT)),
    }
    st.lock_arp().set_config(cfg);
    // A raised gc_thresh3 lets the cache grow at once (GFP_KERNEL: a request may sleep).
    st.arp_room(flags::GFP_KERNEL);
    Ok(())
}

/// The value of parameter `param`.
pub(crate) fn get_param(st: &Stack, param: u32) -> Result<u64> {
    let cfg = st.lock_arp().config();
    let g = st.read();
    let Ok(id) = u16::try_from(param) else {
        return Err(errno(E::ENOPROTOOPT));
    };
    Ok(match id {
        P::ARP_AGEING_MS => cfg.ageing_ms,
        P::ARP_RETRY_MS => cfg.retry_ms,
        P::ARP_RETRIES => u64::from(cfg.max_retries),
        P::FORWARDING => u64::from(g.forwarding),
        P::REASM_TIMEOUT_MS => st.lock_frags().timeout_ms(),
        P::IPFRAG_HIGH_THRESH => st.lock_frags().high_thresh() as u64,
        P::DEFAULT_TTL => u64::from(g.default_ttl),
        P::ARP_GC_THRESH1 => u64::from(cfg.gc_thresh1),
        P::ARP_GC_THRESH2 => u64::from(cfg.gc_thresh2),
        P::ARP_GC_THRESH3 => u64::from(cfg.gc_thresh3),
        P::ARP_GC_INTERVAL_MS => cfg.gc_interval_ms,
        P::ARP_GC_STALE_MS => cfg.gc_stale_ms,
        P::ARP_UNRES_QLEN_BYTES => u64::from(cfg.unres_qlen_bytes),
        P::FIB_MAX_ROUTES => g.fib.limit() as u64,
        _ => return Err(errno(E::ENOPROTOOPT)),
    })
}

fn fib_errno(e: FibError) -> Error {
    match e {
        FibError::Full => ENOSPC,
        FibError::NoMem => ENOMEM,
        FibError::Exists => EEXIST,
        FibError::NotFound => ENOENT,
        FibError::BadPrefix => EINVAL,
    }
}

fn attached(st: &Stack, ifindex: i32) -> bool {
    st.read().iface(ifindex).is_some()
}

/// Attaches `ifindex`: its receive handler hands frames to this stack.
fn attach(st: &Stack, rtnl: &Rtnl, ifindex: i32) -> Result {
    let dev = st.netns.device(ifindex).ok_or(ENODEV)?;
    if !dev.is_ether() {
        return Err(errno(E::EOPNOTSUPP));
    }
    // Room for the interface, and for a first address, taken where we may sleep.
    let mut addrs = KVec::new();
    addrs.reserve(1, flags::GFP_KERNEL)?;
    rtnl.attach_rx::<AfRvnet>(&dev, st)?;
    let iface = Iface {
        ifindex,
        addrs,
        dev,
    };
    let mut g = st.write();
    // Kept sorted by ifindex (RTNL is held: nobody attaches it meanwhile).
    let at = g.iface_pos(ifindex).unwrap_or_else(|k| k);
    let failed = match g.ifaces.reserve(1, flags::GFP_ATOMIC) {
        Ok(()) => match g.ifaces.insert_within_capacity(at, iface) {
            Ok(()) => None,
            Err(InsertError::OutOfCapacity(i) | InsertError::IndexOutOfBounds(i)) => Some(i),
        },
        Err(_) => Some(iface),
    };
    drop(g);
    if let Some(iface) = failed {
        // Released after the lock.
        drop(iface);
        if let Some(d) = st.netns.device(ifindex) {
            rtnl.detach_rx(&d);
        }
        return Err(ENOMEM);
    }
    Ok(())
}

/// Removes `ifindex` from the stack with its address, routes and ARP entries; `detach_rx`
/// then takes the receive handler off (RTNL held by the caller).
fn detach(
    st: &Stack,
    ifindex: i32,
    detach_rx: impl FnOnce(&crate::net::net_device::NetDevice),
) -> Result {
    let iface = {
        let mut g = st.write();
        let i = g.iface_pos(ifindex).map_err(|_| ENODEV)?;
        let iface = g.ifaces.remove(i).map_err(|_| ENODEV)?;
        for a in iface.addrs.iter() {
            let _ = g.fib.delete(a.addr, 32);
        }
        g.fib.remove_ifindex(ifindex);
        iface
    };
    detach_rx(&iface.dev);
    // Its neighbours go with it, static ones too, as neigh_ifdown forgets a device's: an
    // entry left behind would hold packets nobody could send (the retry finds no device)
    // and answer for a device that may come back with the same index on another link.
    // Their waiting packets fail with EHOSTUNREACH. The device is detached first, so no
    // new entry of it appears meanwhile.
    drain_arp(st, |e| e.ifindex == ifindex);
    Ok(())
}

/// A device of this namespace is going away.
pub(crate) fn detach_dev(st: &Stack, ifindex: i32, rtnl: &RtnlHeld<'_>) {
    let _ = detach(st, ifindex, |d| rtnl.detach_rx(d));
}

/// The namespace or the module is going away.
pub(crate) fn detach_all(st: &Stack, rtnl: &RtnlHeld<'_>) {
    loop {
        let next = {
            let g = st.read();
            g.ifaces.first().map(|i| i.ifindex)
        };
        let Some(ifindex) = next else { break };
        let _ = detach(st, ifindex, |d| rtnl.detach_rx(d));
    }
    // Detaching flushed each device's entries; anything left (none is expected) goes one
    // entry at a time, its packets freed after the lock.
    loop {
        let u = {
            let mut arp = st.lock_arp();
            let e = arp.entries(now_ms()).next().map(|e| (e.ifindex, e.ip));
            e.and_then(|(i, ip)| arp.remove(i, ip))
        };
        let Some(u) = u else { break };
        output::unresolved(st, u);
    }
}

/// Gives `ifindex` (attached first if need be) the address `addr/len` and its routes.
pub(crate) fn addr_add(st: &Stack, ifindex: i32, addr: Ipv4Address, len: u8) -> Result {
    if !(1..=32).contains(&len) || !unicast(addr) {
        return Err(EINVAL);
    }
    {
        let rtnl = Rtnl::lock();
        if !attached(st, ifindex) {
            attach(st, &rtnl, ifindex)?;
        }
    }
    let a = IfAddr { addr, prefix: len };
    let dev = with_fib_room(st, |g| {
        if g.is_local(addr) {
            return Err(EEXIST);
        }
        let iface = g.iface_mut(ifindex).ok_or(ENODEV)?;
        if iface.addrs.len() >= MAX_ADDRS {
            return Err(ENOSPC);
        }
        // A few bytes, under the lock: the vector is the interface's.
        iface.addrs.reserve(1, flags::GFP_ATOMIC)?;
        let dev = iface.dev.clone();
        let f = &mut g.fib;
        f.add(Route::new(addr, 32, RouteKind::Local))
            .and_then(|()| {
                // A secondary's subnet has its connected route already.
                match f.add(Route::new(
                    a.network(),
                    len,
                    RouteKind::Connected { ifindex },
                )) {
                    Err(FibError::Exists) | Ok(()) => Ok(()),
                    Err(e) => {
                        let _ = f.delete(addr, 32);
                        Err(e)
                    }
                }
            })
            .map_err(fib_errno)?;
        if let Some(iface) = g.iface_mut(ifindex) {
            // Within the capacity reserved above.
            let _ = iface.addrs.push_within_capacity(a);
        }
        Ok(dev)
    })?;
    output::gratuitous(st, &dev, addr);
    notify::addr_changed(st, true, ifindex, addr, len, Some(dev.mac()));
    Ok(())
}

/// Takes the address `addr/len` and its routes off `ifindex`. The connected route goes with
/// the last address of its subnet; deleting a primary makes the next secondary of its subnet
/// the primary (as Linux does with `promote_secondaries`).
pub(crate) fn addr_del(st: &Stack, ifindex: i32, addr: Ipv4Address, len: u8) -> Result {
    if !(1..=32).contains(&len) || !unicast(addr) {
        return Err(EINVAL);
    }
    let mut g = st.write();
    let iface = g.iface_mut(ifindex).ok_or(ENODEV)?;
    let k = iface
        .addrs
        .iter()
        .position(|x| x.addr == addr && x.prefix == len)
        .ok_or(errno(E::EADDRNOTAVAIL))?; // as ip addr del
    let a = iface.addrs.remove(k).map_err(|_| EINVAL)?;
    let subnet_left = iface.addrs.iter().any(|x| x.same_subnet(&a));
    let _ = g.fib.delete(addr, 32);
    let net = a.network();
    if !subnet_left && g.fib.get(net, len).and_then(|r| r.ifindex()) == Some(ifindex) {
        let _ = g.fib.delete(net, len);
    }
    drop(g);
    notify::addr_changed(st, false, ifindex, addr, len, None);
    Ok(())
}

/// Adds the route `dst/len` via `gw` (0.0.0.0: connected) on `ifindex` (0: the interface
/// of the connected network `gw` is on).
pub(crate) fn route_add(
    st: &Stack,
    dst: Ipv4Address,
    len: u8,
    gw: Ipv4Address,
    ifindex: i32,
) -> Result {
    check_prefix(dst, len)?;
    let route = with_fib_room(st, |g| {
        let route = Route::new(dst, len, route_kind(g, gw, ifindex)?);
        g.fib.add(route).map_err(fib_errno)?;
        Ok(route)
    })?;
    notify::route_changed(st, true, &route);
    Ok(())
}

/// A route of a bulk add: (dst, prefixlen, gateway, ifindex) as [`route_add`] takes them, or
/// why the request could not say it (an errno and its extack message).
pub(crate) type BulkRoute =
    core::result::Result<(Ipv4Address, u8, Ipv4Address, i32), (Error, &'static CStr)>;

/// Routes added under one hold of the lock, at most: they are made ready before it, and
/// announced after it.
const BULK_HOLD: usize = 16;

/// Adds `routes` in order, as [`route_add`] adds each, up to the first that cannot be added:
/// that one's key (the caller's name for it), errno and extack message (`None`: the
/// errno's own) come back, and the routes before it stay. The lock is taken once per
/// [`BULK_HOLD`] routes, the FIB grown before it as for one route.
pub(crate) fn route_add_many<K>(
    st: &Stack,
    routes: &mut impl Iterator<Item = (K, BulkRoute)>,
) -> core::result::Result<(), (K, Error, Option<&'static CStr>)> {
    let mut batch: [Option<(K, BulkRoute)>; BULK_HOLD] = core::array::from_fn(|_| None);
    let mut added = [None::<Route>; BULK_HOLD];
    let mut starved = 0;
    loop {
        // Refill the batch (parsing outside the lock); it may still hold the ones the last
        // hold had no room for.
        let mut n = batch.iter().take_while(|b| b.is_some()).count();
        for slot in batch.iter_mut().skip(n) {
            match routes.next() {
                Some(r) => {
                    *slot = Some(r);
                    n += 1;
                }
                None => break,
            }
        }
        if n == 0 {
            return Ok(());
        }
        if let Err(e) = st.fib_room() {
            let k = batch.iter_mut().find_map(Option::take);
            return k.map_or(Ok(()), |(k, _)| Err((k, e, None)));
        }
        let mut done = 0;
        let mut failed = None;
        {
            let mut g = st.write();
            for slot in batch.iter_mut().take(n) {
                let Some((k, entry)) = slot.take() else {
                    break;
                };
                let route = match entry {
                    Ok((dst, len, gw, i)) => check_prefix(dst, len)
                        .and_then(|()| route_kind(&g, gw, i))
                        .map(|kind| Route::new(dst, len, kind))
                        .map_err(|e| (e, None)),
                    Err((e, msg)) => Err((e, Some(msg))),
                };
                match route.and_then(|r| g.fib.add(r).map(|()| r).map_err(|e| (fib_errno(e), None)))
                {
                    Ok(r) => {
                        if let Some(a) = added.get_mut(done) {
                            *a = Some(r);
                        }
                        done += 1;
                    }
                    Err((e, None)) if e == ENOMEM => {
                        // No room left after all: grow, then go on from this one.
                        *slot = Some((k, entry));
                        break;
                    }
                    Err((e, msg)) => {
                        failed = Some((k, e, msg));
                        break;
                    }
                }
            }
        }
        for r in added.iter_mut().take(done) {
            if let Some(r) = r.take() {
                notify::route_changed(st, true, &r);
            }
        }
        if let Some(f) = failed {
            return Err(f);
        }
        // Waiting slots move to the front for the next round.
        let mut w = 0;
        for r in 0..batch.len() {
            if batch.get(r).is_some_and(Option::is_some) {
                batch.swap(w, r);
                w += 1;
            }
        }
        starved = if done == 0 { starved + 1 } else { 0 };
        if starved > 3 {
            let k = batch.iter_mut().find_map(Option::take);
            return k.map_or(Ok(()), |(k, _)| Err((k, ENOMEM, None)));
        }
    }
}

/// The route with the longest prefix matching `dst` (`ip route get`), with the interface
/// of a local route's address; ENETUNREACH if none.
pub(crate) fn route_get(st: &Stack, dst: Ipv4Address) -> Result<notify::RouteEntry> {
    let g = st.read();
    let mut out = None;
    g.read_fib(|fib, ifaces| {
        out = fib.lookup(dst).map(|route| notify::RouteEntry {
            route,
            local_ifindex: match route.kind {
                RouteKind::Local => local_ifindex(ifaces, route.prefix),
                _ => 0,
            },
        });
    });
    out.ok_or(errno(E::ENETUNREACH))
}

/// How a route via `gw` (0.0.0.0: connected) on `ifindex` (0: the interface of the
/// connected network `gw` is on) is reached.
fn route_kind(g: &Inner, gw: Ipv4Address, ifindex: i32) -> Result<RouteKind> {
    Ok(if gw.is_unspecified() {
        if g.iface(ifindex).is_none() {
            return Err(ENODEV);
        }
        RouteKind::Connected { ifindex }
    } else {
        if !unicast(gw) {
            return Err(EINVAL);
        }
        let via_if = if ifindex != 0 {
            ifindex
        } else {
            // The interface of the connected network the gateway is on.
            g.fib
                .lookup(gw)
                .and_then(|r| match r.kind {
                    RouteKind::Connected { ifindex } => Some(ifindex),
                    _ => None,
                })
                .ok_or(errno(E::ENETUNREACH))?
        };
        if g.iface(via_if).is_none() {
            return Err(ENODEV);
        }
        RouteKind::Gateway {
            via: gw,
            ifindex: via_if,
        }
    })
}

/// Runs the change `f` under the lock with room in the FIB for an insertion ([`Stack::
/// fib_room`], allocated before the lock); again, after more room, when the FIB said ENOMEM
/// (another request took the room meanwhile). `f` changes all or nothing.
fn with_fib_room<R>(st: &Stack, mut f: impl FnMut(&mut Inner) -> Result<R>) -> Result<R> {
    for _ in 0..3 {
        st.fib_room()?;
        let mut g = st.write();
        match f(&mut g) {
            Err(e) if e == ENOMEM => continue,
            r => return r,
        }
    }
    Err(ENOMEM)
}

/// A static entry for `addr` on the device `ifindex` (`ip neigh add ... dev D`); 0 names the
/// device of the route to `addr`, as a route request's 0 names the gateway's.
pub(crate) fn neigh_add(
    st: &Stack,
    ifindex: i32,
    addr: Ipv4Address,
    mac: EthernetAddress,
) -> Result {
    let now = now_ms();
    st.arp_room(flags::GFP_KERNEL);
    let g = st.read();
    let ifindex = if ifindex != 0 {
        ifindex
    } else {
        g.route(st, addr)
            .map(|nh| nh.ifindex)
            .ok_or(errno(E::ENETUNREACH))?
    };
    if g.iface(ifindex).is_none() {
        return Err(ENODEV);
    }
    let mut arp = st.lock_arp();
    if arp
        .entry(ifindex, addr, now)
        .is_some_and(|e| e.state == State::Static)
    {
        return Err(EEXIST);
    }
    let released = arp
        .add_static(ifindex, addr, mac, now)
        .map_err(|e| match e {
            Refusal::Full => ENOSPC,
            Refusal::NoMemory => ENOMEM,
            _ => EINVAL,
        })?;
    drop(arp);
    // Packets that waited for `addr` on this device leave by it.
    let dev = g.iface(ifindex).map(|i| i.dev.clone());
    drop(g);
    if let Some(ready) = released.ready {
        match dev {
            Some(dev) => ready.drain(|m, skb| output::xmit(st, skb, &dev, m.0)),
            None => ready.drain(|_, skb| drop(skb)),
        }
    }
    if let Some(e) = released.evicted {
        output::unresolved(st, e);
    }
    notify::neigh_changed(st, true, addr, Some(mac), ifindex);
    Ok(())
}

fn dev_name(inner_ifaces: &[Iface], ifindex: i32) -> &str {
    inner_ifaces
        .iter()
        .find(|i| i.ifindex == ifindex)
        .and_then(|i| core::str::from_utf8(i.dev.name()).ok())
        .unwrap_or("*")
}

/// Where the next row of a `/proc/net/rvnet` file is: `sockets` has a row per socket and
/// `arp` a row per entry (the cursor is one more than its slot in the table; 0 is the
/// header), so that 100,000 of them are read a page at a time; the other files are one row,
/// the whole table.
pub(crate) fn proc_next(st: &Stack, file: ProcFile, from: u64) -> Option<u64> {
    match file {
        // A route's cursor is its FIB cursor (`Cursor::after` it, never 0): a million
        // routes read in one pass, resumed after the last one shown.
        ProcFile::Route if from > 0 => {
            let g = st.read();
            let next = g
                .fib
                .iter_from(Cursor::from_u64(from - 1))
                .next()
                .map(|(after, _)| after.to_u64());
            next
        }
        ProcFile::Arp if from > 0 => {
            let slot = usize::try_from(from - 1).ok()?;
            let g = st.lock_arp();
            let next = g
                .iter_from(slot, now_ms())
                .next()
                .map(|(after, _)| after as u64);
            next
        }
        ProcFile::Sockets if from > 0 => {
            let slot = usize::try_from(from - 1).ok()?;
            let socks = st.read_socks();
            let next = socks
                .iter_from(slot)
                .next()
                .map(|(after, _, _)| after as u64);
            next
        }
        _ => (from == 0).then_some(0),
    }
}

/// Writes the row of `file` at `cursor` (see [`proc_next`]).
pub(crate) fn proc_row(
    st: &Stack,
    file: ProcFile,
    cursor: u64,
    out: &mut SeqWriter<'_>,
) -> core::fmt::Result {
    match file {
        ProcFile::Route if cursor > 0 => {
            let g = st.read();
            let r = match g.fib.iter_from(Cursor::from_u64(cursor - 1)).next() {
                // The route there, unless it went since `proc_next` found it.
                Some((after, r)) if after.to_u64() == cursor => route_line(&g.ifaces, &r, out),
                _ => Ok(()),
            };
            r
        }
        ProcFile::Arp if cursor > 0 => {
            let Ok(slot) = usize::try_from(cursor - 1) else {
                return Ok(());
            };
            let g = st.read();
            let arp = st.lock_arp();
            let r = match arp.iter_from(slot, now_ms()).next() {
                // The entry at that slot, unless it went since `proc_next` found it.
                Some((after, e)) if after as u64 == cursor => arp_line(&g.ifaces, &e, out),
                _ => Ok(()),
            };
            r
        }
        ProcFile::Sockets if cursor > 0 => {
            let Ok(slot) = usize::try_from(cursor - 1) else {
                return Ok(());
            };
            let socks = st.read_socks();
            let r = match socks.iter_from(slot).next() {
                // The socket at that slot, unless it closed since `proc_next` found it.
                Some((after, _, e)) if after as u64 == cursor => super::socket::proc_line(e, out),
                _ => Ok(()),
            };
            r
        }
        _ => proc_show(st, file, out),
    }
}

/// One row of `/proc/net/rvnet/route`: destination/length, gateway, device, kind.
fn route_line(ifaces: &[Iface], r: &Route, out: &mut SeqWriter<'_>) -> core::fmt::Result {
    let (gw, dev, kind) = match r.kind {
        RouteKind::Local => (
            Ipv4Address::UNSPECIFIED,
            local_ifindex(ifaces, r.prefix),
            "local",
        ),
        RouteKind::Connected { ifindex } => (Ipv4Address::UNSPECIFIED, ifindex, "connected"),
        RouteKind::Gateway { via, ifindex } => (via, ifindex, "gateway"),
    };
    writeln!(
        out,
        "{:<18} {:<16} {:<10} {}",
        alloc_fmt_prefix(r.prefix, r.len).as_str(),
        alloc_fmt_ip(gw).as_str(),
        dev_name(ifaces, dev),
        kind
    )
}

/// One row of `/proc/net/rvnet/arp`, in the columns of `/proc/net/arp` and a state.
fn arp_line(ifaces: &[Iface], e: &EntryInfo, out: &mut SeqWriter<'_>) -> core::fmt::Result {
    let state = match e.state {
        State::Incomplete => "incomplete",
        State::Reachable => "reachable",
        State::Static => "static",
    };
    writeln!(
        out,
        "{:<16} 0x1         0x{:<9x} {:<21} *        {:<10} {}",
        alloc_fmt_ip(e.ip).as_str(),
        e.state.proc_flags(),
        alloc_fmt_mac(e.mac).as_str(),
        dev_name(ifaces, e.ifindex),
        state
    )
}

/// Writes one `/proc/net/rvnet` file (for `sockets` and `arp`, its header).
fn proc_show(st: &Stack, file: ProcFile, out: &mut SeqWriter<'_>) -> core::fmt::Result {
    match file {
        ProcFile::Dev => {
            writeln!(out, "Device     Ifindex  Address            MAC")?;
            let g = st.read();
            // A row per address (primaries and secondaries in the order added), one with
            // 0.0.0.0/0 for an interface without any.
            const NONE: IfAddr = IfAddr {
                addr: Ipv4Address::UNSPECIFIED,
                prefix: 0,
            };
            for i in g.ifaces.iter() {
                let name = core::str::from_utf8(i.dev.name()).unwrap_or("?");
                let none = [NONE];
                let addrs = if i.addrs.is_empty() {
                    &none[..]
                } else {
                    &i.addrs[..]
                };
                for x in addrs {
                    let a = alloc_fmt_prefix(x.addr, x.prefix);
                    writeln!(
                        out,
                        "{:<10} {:<8} {:<18} {}",
                        name,
                        i.ifindex,
                        a.as_str(),
                        EthernetAddress(i.dev.mac())
                    )?;
                }
            }
        }
        ProcFile::Arp => {
            writeln!(
                out,
                "IP address       HW type     Flags       HW address            Mask     Device     State"
            )?;
            // The entries are rows of their own (`proc_row`).
        }
        ProcFile::Route => {
            writeln!(out, "Destination        Gateway          Device     Kind")?;
            // The routes are rows of their own (`proc_row`).
        }
        ProcFile::Sockets => {
            writeln!(
                out,
                "Type  Proto Local                 Remote                Dev        RxQueue  RxBuf    Drops"
            )?;
            // The sockets themselves are rows of their own (`proc_row`).
        }
        ProcFile::Stats => {
            let hits = st.counters.get(C::route_cache_hits as usize);
            let lookups = st.counters.get(C::route_lookups as usize);
            let (sets, routes) = {
                let routes = st.read().fib.len() as u64;
                (st.lock_rcache().sets() as u64, routes)
            };
            for (i, name) in COUNTER_NAMES.iter().enumerate() {
                // Three are values of the moment, not counters.
                let v = if i == C::route_cache_hit_rate_permille as usize {
                    hits.saturating_mul(1000).checked_div(lookups).unwrap_or(0)
                } else if i == C::route_cache_sets as usize {
                    sets
                } else if i == C::fib_routes as usize {
                    routes
                } else {
                    st.counters.get(i)
                };
                writeln!(out, "{} {}", name, v)?;
            }
        }
    }
    Ok(())
}
