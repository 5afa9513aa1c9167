// SPDX-License-Identifier: GPL-2.0

//! The messages of the generic netlink family "rvnet" (`netlink.rs`): each object's
//! attributes, as dumps and notifications carry them, and the notifications to the "monitor"
//! group that `ctl.rs` sends after a change, once the stack's lock is dropped
//! ([`addr_changed`], [`route_changed`], [`neigh_changed`]). Apart from `netlink.rs` so that
//! the requests (`netlink.rs` → `ctl.rs`) and the announcements (`ctl.rs` → here) do not
//! depend on each other both ways.

use super::Stack;
use crate::net::genl::{Message, Notifier};
use crate::netcore::arp::cache::State;
use crate::netcore::ipv4::route::{Route, RouteKind};
use crate::netcore::uapi::{addr, cmd, neigh, neigh_state, route, route_kind};
use crate::netcore::wire::{EthernetAddress, Ipv4Address};
use kernel::prelude::*;

/// Where notifications find the registered family.
pub(crate) static NOTIFIER: Notifier = Notifier::new();

/// The index of the "monitor" group in [`super::netlink::RvnetGenl`]'s `MCGRPS`.
pub(crate) const MONITOR: u32 = 0;

pub(crate) fn put_ifindex(m: &mut Message<'_>, id: u16, ifindex: i32) -> Result {
    match u32::try_from(ifindex) {
        Ok(i) if i > 0 => m.put_u32(id, i),
        _ => Ok(()),
    }
}

/// An attached interface, copied out of the lock.
#[derive(Clone, Copy)]
pub(crate) struct AddrEntry {
    pub(crate) ifindex: i32,
    pub(crate) addr: Ipv4Address,
    pub(crate) prefix: u8,
    pub(crate) mac: [u8; 6],
}

pub(crate) fn fill_addr(m: &mut Message<'_>, e: &AddrEntry, mac: bool) -> Result {
    put_ifindex(m, addr::IFINDEX, e.ifindex)?;
    if !e.addr.is_unspecified() {
        m.put(addr::ADDRESS, &e.addr.0)?;
        m.put_u8(addr::PREFIXLEN, e.prefix)?;
    }
    if mac {
        m.put(addr::LLADDR, &e.mac)?;
    }
    Ok(())
}

/// A route, copied out of the lock.
#[derive(Clone, Copy)]
pub(crate) struct RouteEntry {
    pub(crate) route: Route,
    /// The interface of a local route (its address's).
    pub(crate) local_ifindex: i32,
}

pub(crate) fn fill_route(m: &mut Message<'_>, e: &RouteEntry) -> Result {
    let r = &e.route;
    m.put(route::DST, &r.prefix.0)?;
    m.put_u8(route::PREFIXLEN, r.len)?;
    let (kind, ifindex) = match r.kind {
        RouteKind::Local => (route_kind::LOCAL, e.local_ifindex),
        RouteKind::Connected { ifindex } => (route_kind::CONNECTED, ifindex),
        RouteKind::Gateway { via, ifindex } => {
            m.put(route::GATEWAY, &via.0)?;
            (route_kind::GATEWAY, ifindex)
        }
    };
    put_ifindex(m, route::IFINDEX, ifindex)?;
    m.put_u32(route::KIND, kind)
}

pub(crate) fn neigh_state(s: State) -> u32 {
    match s {
        State::Incomplete => neigh_state::INCOMPLETE,
        State::Reachable => neigh_state::REACHABLE,
        State::Static => neigh_state::STATIC,
    }
}

pub(crate) fn fill_neigh(
    m: &mut Message<'_>,
    a: Ipv4Address,
    mac: Option<EthernetAddress>,
    ifindex: i32,
    state: Option<u32>,
) -> Result {
    m.put(neigh::ADDRESS, &a.0)?;
    if let Some(mac) = mac {
        m.put(neigh::LLADDR, &mac.0)?;
    }
    put_ifindex(m, neigh::IFINDEX, ifindex)?;
    if let Some(s) = state {
        m.put_u32(neigh::STATE, s)?;
    }
    Ok(())
}

/// Announces an address added to (`new`) or removed from `ifindex`. May sleep.
pub(crate) fn addr_changed(
    st: &Stack,
    new: bool,
    ifindex: i32,
    a: Ipv4Address,
    prefix: u8,
    mac: Option<[u8; 6]>,
) {
    let c = if new {
        cmd::ADDR_NEW_NTF
    } else {
        cmd::ADDR_DEL_NTF
    };
    let e = AddrEntry {
        ifindex,
        addr: a,
        prefix,
        mac: mac.unwrap_or([0; 6]),
    };
    NOTIFIER.notify(&st.netns, MONITOR, c, |m| fill_addr(m, &e, mac.is_some()));
}

/// Announces a route added (`new`) or deleted. May sleep.
pub(crate) fn route_changed(st: &Stack, new: bool, r: &Route) {
    let c = if new {
        cmd::ROUTE_NEW_NTF
    } else {
        cmd::ROUTE_DEL_NTF
    };
    let e = RouteEntry {
        route: *r,
        local_ifindex: 0,
    };
    NOTIFIER.notify(&st.netns, MONITOR, c, |m| fill_route(m, &e));
}

/// Announces a static ARP entry added (`new`) or an entry deleted. May sleep.
pub(crate) fn neigh_changed(
    st: &Stack,
    new: bool,
    a: Ipv4Address,
    mac: Option<EthernetAddress>,
    ifindex: i32,
) {
    let (c, state) = if new {
        (cmd::NEIGH_NEW_NTF, Some(neigh_state::STATIC))
    } else {
        (cmd::NEIGH_DEL_NTF, None)
    };
    NOTIFIER.notify(&st.netns, MONITOR, c, |m| {
        fill_neigh(m, a, mac, ifindex, state)
    });
}
