// SPDX-License-Identifier: GPL-2.0

//! The generic netlink family "rvnet": AF_RVNET's configuration as
//! `Documentation/netlink/specs/rvnet.yaml` describes it (numbers in `netcore::uapi`).
//!
//! Every operation takes typed attributes whose policies genetlink checks before the handler
//! runs (a wrong type or length is EINVAL with "invalid attribute length", a value out of
//! range ERANGE); a missing attribute is EINVAL with the missing type in the extack; an
//! ifindex with no device in the namespace is ENODEV. Changes need CAP_NET_ADMIN in the user
//! namespace that owns the network namespace (`GENL_UNS_ADMIN_PERM`, checked by genetlink).
//! The handlers call one function per request in `ctl.rs`, which announces address, route
//! and neighbour changes to the "monitor" group (`notify.rs`) after the stack's lock is
//! dropped.

use super::notify::{fill_addr, fill_neigh, fill_route, neigh_state};
use super::notify::{AddrEntry, RouteEntry, NOTIFIER};
use super::{ctl, errno, local_ifindex, AfRvnet, Stack};
use crate::net::clock::now_ms;
use crate::net::genl::{Attr, Dump, GenlFamily, Kind, Notifier, Op, Policy, Request};
use crate::netcore::ipv4::route::{Cursor, RouteKind};
use crate::netcore::sock::errno as E;
use crate::netcore::uapi::{self as U, addr, cmd, link, neigh, neigh_state, param, proxy};
use crate::netcore::uapi::{route, routes};
use crate::netcore::wire::{EthernetAddress, Ipv4Address};
use core::ffi::CStr;
use kernel::prelude::*;

/// The family.
pub(crate) struct RvnetGenl;

const IFINDEX: Policy = Policy::new(Kind::U32).min(1);
const IPV4: Policy = Policy::new(Kind::Be32);
const PREFIXLEN: Policy = Policy::new(Kind::U8).max(32);

const P_LINK: &[(u16, Policy)] = &[(link::IFINDEX, IFINDEX)];
const P_ADDR: &[(u16, Policy)] = &[
    (addr::IFINDEX, IFINDEX),
    (addr::ADDRESS, IPV4),
    (addr::PREFIXLEN, Policy::new(Kind::U8).min(1).max(32)),
];
const P_ROUTE_ADD: &[(u16, Policy)] = &[
    (route::DST, IPV4),
    (route::PREFIXLEN, PREFIXLEN),
    (route::GATEWAY, IPV4),
    (route::IFINDEX, IFINDEX),
];
const P_ROUTE_DEL: &[(u16, Policy)] = &[(route::DST, IPV4), (route::PREFIXLEN, PREFIXLEN)];
const P_ROUTE_GET: &[(u16, Policy)] = &[(route::DST, IPV4)];
/// Each nest is checked against route-add's policy by genetlink.
const P_ROUTE_BULK: &[(u16, Policy)] = &[(routes::ROUTE, Policy::new(Kind::Nest(P_ROUTE_ADD)))];
const P_NEIGH_ADD: &[(u16, Policy)] = &[
    (neigh::ADDRESS, IPV4),
    (neigh::LLADDR, Policy::exact_len(6)),
    (neigh::IFINDEX, IFINDEX),
];
const P_NEIGH_DEL: &[(u16, Policy)] = &[(neigh::ADDRESS, IPV4), (neigh::IFINDEX, IFINDEX)];
const P_NEIGH_REVERSE: &[(u16, Policy)] = &[(neigh::LLADDR, Policy::exact_len(6))];
const P_PROXY: &[(u16, Policy)] = &[(proxy::PREFIX, IPV4), (proxy::PREFIXLEN, PREFIXLEN)];
/// Only types: the values are checked by `ctl::set_param`, as for the socket option (EINVAL).
const P_PARAM: &[(u16, Policy)] = &[
    (param::ARP_AGEING_MS, Policy::new(Kind::Uint)),
    (param::ARP_RETRY_MS, Policy::new(Kind::Uint)),
    (param::ARP_RETRIES, Policy::new(Kind::U8)),
    (param::FORWARDING, Policy::new(Kind::U8)),
    (param::REASM_TIMEOUT_MS, Policy::new(Kind::Uint)),
    (param::DEFAULT_TTL, Policy::new(Kind::U8)),
    (param::ARP_GC_THRESH1, Policy::new(Kind::Uint)),
    (param::ARP_GC_THRESH2, Policy::new(Kind::Uint)),
    (param::ARP_GC_THRESH3, Policy::new(Kind::Uint)),
    (param::ARP_GC_INTERVAL_MS, Policy::new(Kind::Uint)),
    (param::ARP_GC_STALE_MS, Policy::new(Kind::Uint)),
    (param::ARP_UNRES_QLEN_BYTES, Policy::new(Kind::Uint)),
    (param::FIB_MAX_ROUTES, Policy::new(Kind::Uint)),
    (param::IPFRAG_HIGH_THRESH, Policy::new(Kind::Uint)),
];

/// Parameters carried as `u8` (the others are `uint`).
fn param_is_u8(id: u16) -> bool {
    matches!(
        id,
        param::ARP_RETRIES | param::FORWARDING | param::DEFAULT_TTL
    )
}

impl GenlFamily for RvnetGenl {
    const NAME: &'static CStr = c"rvnet";
    const VERSION: u32 = U::FAMILY_VERSION;
    const OPS: &'static [Op] = &[
        Op::doit(cmd::LINK_ATTACH, P_LINK).admin(),
        Op::doit(cmd::LINK_DETACH, P_LINK).admin(),
        Op::doit(cmd::ADDR_ADD, P_ADDR).admin(),
        Op::doit(cmd::ADDR_DEL, P_ADDR).admin(),
        Op::dumpit(cmd::ADDR_GET),
        Op::doit(cmd::ROUTE_ADD, P_ROUTE_ADD).admin(),
        Op::doit(cmd::ROUTE_DEL, P_ROUTE_DEL).admin(),
        Op::doit(cmd::ROUTE_GET, P_ROUTE_GET),
        Op::dumpit(cmd::ROUTE_GET),
        Op::doit(cmd::ROUTE_ADD_BULK, P_ROUTE_BULK).admin(),
        Op::doit(cmd::NEIGH_ADD, P_NEIGH_ADD).admin(),
        Op::doit(cmd::NEIGH_DEL, P_NEIGH_DEL).admin(),
        Op::doit(cmd::NEIGH_FLUSH, &[]).admin(),
        Op::dumpit(cmd::NEIGH_GET),
        Op::doit(cmd::NEIGH_REVERSE, P_NEIGH_REVERSE),
        Op::doit(cmd::PROXY_ADD, P_PROXY).admin(),
        Op::doit(cmd::PROXY_DEL, P_PROXY).admin(),
        Op::doit(cmd::PARAM_SET, P_PARAM).admin(),
        Op::doit(cmd::PARAM_GET, &[]),
    ];
    const MCGRPS: &'static [&'static CStr] = &[c"monitor"];

    fn notifier() -> &'static Notifier {
        &NOTIFIER
    }

    fn doit(c: u8, req: &Request<'_>) -> Result {
        let st = req.net().state::<AfRvnet>().ok_or(ENODEV)?;
        let r = doit(st, c, req);
        if let Err(e) = r {
            explain(req, e);
        }
        r
    }

    fn dumpit(c: u8, d: &mut Dump<'_>) -> Result {
        let net = *d.net();
        let st = net.state::<AfRvnet>().ok_or(ENODEV)?;
        match c {
            cmd::ADDR_GET => dump_addrs(st, d),
            cmd::ROUTE_GET => dump_routes(st, d),
            cmd::NEIGH_GET => dump_neighs(st, d),
            _ => Err(errno(E::EOPNOTSUPP)),
        }
    }
}

/// The extack message for an error the stack returned, unless one is set already.
fn explain(req: &Request<'_>, e: Error) {
    if req.has_err() {
        return;
    }
    if let Some(msg) = explanation(e) {
        req.set_err(0, msg);
    }
}

/// What an error of the stack means, for the extack.
fn explanation(e: Error) -> Option<&'static CStr> {
    Some(if e == ENODEV {
        c"interface not attached to rvnet"
    } else if e == EEXIST {
        c"already exists"
    } else if e == ENOENT {
        c"no such entry"
    } else if e == ENOSPC {
        c"table full"
    } else if e == EBUSY {
        c"device has another receive handler"
    } else if e == errno(E::EADDRNOTAVAIL) {
        c"the interface has no such address"
    } else if e == errno(E::ENETUNREACH) {
        c"gateway not on a connected network"
    } else if e == errno(E::EOPNOTSUPP) {
        c"not an Ethernet device"
    } else if e == EINVAL {
        c"invalid address, prefix or value"
    } else {
        return None;
    })
}

fn ip(b: [u8; 4]) -> Ipv4Address {
    Ipv4Address(b)
}

/// The ifindex in attribute `id`, which must name a device of the namespace.
fn ifindex(st: &Stack, req: &Request<'_>, id: u16) -> Result<i32> {
    let v = req.need(id, c"missing ifindex")?.u32();
    match i32::try_from(v)
        .ok()
        .filter(|&i| st.netns.device(i).is_some())
    {
        Some(i) => Ok(i),
        None => {
            req.set_err(id, c"no device with this ifindex in the namespace");
            Err(ENODEV)
        }
    }
}

/// Attribute `id` as an IPv4 address, which must be there.
fn need_ip(req: &Request<'_>, id: u16, msg: &'static CStr) -> Result<Ipv4Address> {
    Ok(ip(req.need(id, msg)?.be32()))
}

fn need_mac(req: &Request<'_>, id: u16) -> Result<EthernetAddress> {
    let a = req.need(id, c"missing lladdr")?;
    EthernetAddress::from_bytes(a.bytes()).ok_or(EINVAL)
}

fn doit(st: &Stack, c: u8, req: &Request<'_>) -> Result {
    match c {
        cmd::LINK_ATTACH => ctl::link_attach(st, ifindex(st, req, link::IFINDEX)?),
        cmd::LINK_DETACH => ctl::link_detach(st, ifindex(st, req, link::IFINDEX)?),
        cmd::ADDR_ADD | cmd::ADDR_DEL => {
            let i = ifindex(st, req, addr::IFINDEX)?;
            let a = need_ip(req, addr::ADDRESS, c"missing address")?;
            let len = req.need(addr::PREFIXLEN, c"missing prefixlen")?.u8();
            if c == cmd::ADDR_ADD {
                ctl::addr_add(st, i, a, len)
            } else {
                ctl::addr_del(st, i, a, len)
            }
        }
        cmd::ROUTE_ADD => {
            let dst = need_ip(req, route::DST, c"missing dst")?;
            let len = req.need(route::PREFIXLEN, c"missing prefixlen")?.u8();
            let gw = req
                .attr(route::GATEWAY)
                .map_or(Ipv4Address::UNSPECIFIED, |a| ip(a.be32()));
            let i = match req.attr(route::IFINDEX) {
                Some(_) => ifindex(st, req, route::IFINDEX)?,
                None => 0,
            };
            if gw.is_unspecified() && i == 0 {
                req.set_err(0, c"a route needs a gateway or an ifindex");
                return Err(EINVAL);
            }
            ctl::route_add(st, dst, len, gw, i)
        }
        cmd::ROUTE_ADD_BULK => route_add_bulk(st, req),
        cmd::ROUTE_GET => {
            let dst = need_ip(req, route::DST, c"missing dst")?;
            let e = ctl::route_get(st, dst).inspect_err(|_| {
                req.set_err(route::DST, c"no route to the address");
            })?;
            req.reply(|m| fill_route(m, &e))
        }
        cmd::ROUTE_DEL => {
            let dst = need_ip(req, route::DST, c"missing dst")?;
            let len = req.need(route::PREFIXLEN, c"missing prefixlen")?.u8();
            ctl::route_del(st, dst, len)
        }
        cmd::NEIGH_ADD => {
            let a = need_ip(req, neigh::ADDRESS, c"missing address")?;
            let mac = need_mac(req, neigh::LLADDR)?;
            let on = match req.attr(neigh::IFINDEX) {
                Some(_) => ifindex(st, req, neigh::IFINDEX)?,
                None => 0,
            };
            ctl::neigh_add(st, on, a, mac)
        }
        cmd::NEIGH_DEL => {
            let a = need_ip(req, neigh::ADDRESS, c"missing address")?;
            let on = match req.attr(neigh::IFINDEX) {
                Some(_) => ifindex(st, req, neigh::IFINDEX)?,
                None => 0,
            };
            ctl::neigh_del(st, on, a)
        }
        cmd::NEIGH_FLUSH => ctl::neigh_flush(st),
        cmd::NEIGH_REVERSE => {
            let mac = need_mac(req, neigh::LLADDR)?;
            let (a, i) = ctl::neigh_reverse(st, mac)?;
            req.reply(|m| fill_neigh(m, a, Some(mac), i, None))
        }
        cmd::PROXY_ADD | cmd::PROXY_DEL => {
            let p = need_ip(req, proxy::PREFIX, c"missing prefix")?;
            let len = req.need(proxy::PREFIXLEN, c"missing prefixlen")?.u8();
            if c == cmd::PROXY_ADD {
                ctl::proxy_add(st, p, len)
            } else {
                ctl::proxy_del(st, p, len)
            }
        }
        cmd::PARAM_SET => {
            let mut any = false;
            for &(_, id) in U::PARAMS {
                if let Some(a) = req.attr(id) {
                    let v = if param_is_u8(id) {
                        u64::from(a.u8())
                    } else {
                        a.uint()
                    };
                    if let Err(e) = ctl::set_param(st, u32::from(id), v) {
                        req.set_err(id, c"value out of range");
                        return Err(e);
                    }
                    any = true;
                }
            }
            if !any {
                req.set_err(0, c"no parameter given");
                return Err(EINVAL);
            }
            Ok(())
        }
        cmd::PARAM_GET => req.reply(|m| {
            for &(_, id) in U::PARAMS {
                let v = ctl::get_param(st, u32::from(id))?;
                if param_is_u8(id) {
                    m.put_u8(id, u8::try_from(v).unwrap_or(u8::MAX))?;
                } else {
                    m.put_uint(id, v)?;
                }
            }
            Ok(())
        }),
        _ => Err(errno(E::EOPNOTSUPP)),
    }
}

/// The routes of a `route-add-bulk`, added in order as `route-add` adds one. The first that
/// cannot be added ends the request: its error, with the extack pointing at its nest (the
/// requester counts the nests before it to know which it was); the routes before it stay.
fn route_add_bulk(st: &Stack, req: &Request<'_>) -> Result {
    let mut nests = req.attrs().filter(|&(t, _)| t == routes::ROUTE).peekable();
    if nests.peek().is_none() {
        req.set_err(0, c"no route given");
        return Err(EINVAL);
    }
    let mut parsed = nests.map(|(_, nest)| {
        let r = bulk_entry(st, &nest);
        (nest, r)
    });
    ctl::route_add_many(st, &mut parsed).map_err(|(nest, e, msg)| {
        req.set_err_at(
            &nest,
            msg.unwrap_or_else(|| explanation(e).unwrap_or(c"route refused")),
        );
        e
    })
}

/// One route of a bulk request, as `route-add` takes it.
fn bulk_entry(st: &Stack, nest: &Attr<'_>) -> ctl::BulkRoute {
    let dst = nest
        .get(route::DST)
        .ok_or((EINVAL, c"missing dst"))
        .map(|a| ip(a.be32()))?;
    let len = nest
        .get(route::PREFIXLEN)
        .ok_or((EINVAL, c"missing prefixlen"))?
        .u8();
    let gw = nest
        .get(route::GATEWAY)
        .map_or(Ipv4Address::UNSPECIFIED, |a| ip(a.be32()));
    let i = match nest.get(route::IFINDEX) {
        Some(a) => i32::try_from(a.u32())
            .ok()
            .filter(|&i| st.netns.device(i).is_some())
            .ok_or((ENODEV, c"no device with this ifindex in the namespace"))?,
        None => 0,
    };
    if gw.is_unspecified() && i == 0 {
        return Err((EINVAL, c"a route needs a gateway or an ifindex"));
    }
    Ok((dst, len, gw, i))
}

fn dump_addrs(st: &Stack, d: &mut Dump<'_>) -> Result {
    // A message per address, as RTM_GETADDR dumps them (one without an address for an
    // interface that has none); the cursors are the interface's place and the address's.
    loop {
        let (from_if, from_addr) = (d.cursor(0) as usize, d.cursor(1) as usize);
        let mut buf = [None::<(u64, u64, AddrEntry)>; CHUNK];
        {
            let g = st.read();
            let rows = g
                .ifaces
                .iter()
                .enumerate()
                .skip(from_if)
                .flat_map(|(k, i)| {
                    let n = i.addrs.len().max(1);
                    (0..n).map(move |j| (k, j, i))
                })
                .filter(|&(k, j, _)| k > from_if || j >= from_addr);
            for (slot, (k, j, i)) in buf.iter_mut().zip(rows) {
                let a = i.addrs.get(j).copied();
                *slot = Some((
                    k as u64,
                    j as u64 + 1,
                    AddrEntry {
                        ifindex: i.ifindex,
                        addr: a.map_or(Ipv4Address::UNSPECIFIED, |a| a.addr),
                        prefix: a.map_or(0, |a| a.prefix),
                        mac: i.dev.mac(),
                    },
                ));
            }
        }
        let mut n = 0;
        for (k, next, e) in buf.iter().flatten() {
            d.entry(|m| fill_addr(m, e, true))?;
            d.set_cursor(0, *k);
            d.set_cursor(1, *next);
            n += 1;
        }
        if n < CHUNK {
            return Ok(());
        }
    }
}

/// Entries copied out of the lock at a time.
const CHUNK: usize = 16;

fn dump_routes(st: &Stack, d: &mut Dump<'_>) -> Result {
    loop {
        // The cursor is the FIB's: the dump resumes after the last route it sent, one pass
        // over the table whatever its size.
        let from = Cursor::from_u64(d.cursor(0));
        let mut buf = [None::<(Cursor, RouteEntry)>; CHUNK];
        {
            st.read().read_fib(|fib, ifaces| {
                for (slot, (after, r)) in buf.iter_mut().zip(fib.iter_from(from)) {
                    let local_ifindex = match r.kind {
                        RouteKind::Local => local_ifindex(ifaces, r.prefix),
                        _ => 0,
                    };
                    *slot = Some((
                        after,
                        RouteEntry {
                            route: r,
                            local_ifindex,
                        },
                    ));
                }
            });
        }
        let mut n = 0;
        for (after, e) in buf.iter().flatten() {
            d.entry(|m| fill_route(m, e))?;
            d.set_cursor(0, after.to_u64());
            n += 1;
        }
        if n < CHUNK {
            return Ok(());
        }
    }
}

/// An ARP entry, copied out of the lock.
#[derive(Clone, Copy)]
struct NeighEntry {
    ip: Ipv4Address,
    mac: EthernetAddress,
    ifindex: i32,
    state: u32,
}

fn dump_neighs(st: &Stack, d: &mut Dump<'_>) -> Result {
    let now = now_ms();
    loop {
        let from = usize::try_from(d.cursor(0)).unwrap_or(usize::MAX);
        let mut buf = [None::<(usize, NeighEntry)>; CHUNK];
        {
            let g = st.lock_arp();
            for (slot, (next, e)) in buf.iter_mut().zip(g.iter_from(from, now)) {
                *slot = Some((
                    next,
                    NeighEntry {
                        ip: e.ip,
                        mac: e.mac,
                        ifindex: e.ifindex,
                        state: neigh_state(e.state),
                    },
                ));
            }
        }
        // The cursor is the slot to resume at: a dump costs one pass over the table.
        let mut n = 0;
        for (next, e) in buf.iter().flatten() {
            let mac = (e.state != neigh_state::INCOMPLETE).then_some(e.mac);
            d.entry(|m| fill_neigh(m, e.ip, mac, e.ifindex, Some(e.state)))?;
            d.set_cursor(0, *next as u64);
            n += 1;
        }
        if n < CHUNK {
            return Ok(());
        }
    }
}
