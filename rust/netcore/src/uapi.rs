//! The numbers of AF_RVNET's generic netlink family "rvnet", as
//! `Documentation/netlink/specs/rvnet.yaml` gives them (and `include/uapi/linux/rvnet.h`, generated
//! from it by the kernel's `ynl_gen_c.py --mode uapi --header`).
//!
//! The module (`drivers/af_rvnet/netlink.rs`) and user space (`user/rvnet-uapi`, which mounts this
//! file) both take their numbers from here; `user/rvnet-uapi/tests/spec.rs` fails when the spec,
//! the header and this file disagree. Only plain constants: no logic.

#![allow(missing_docs)]

/// The family's name (`RVNET_FAMILY_NAME`).
pub const FAMILY_NAME: &str = "rvnet";
/// `RVNET_FAMILY_VERSION`.
pub const FAMILY_VERSION: u32 = 1;
/// `RVNET_AF_DEFAULT`: the socket family number when nobody chose another.
pub const AF_DEFAULT: i32 = 19;
/// `RVNET_MCGRP_MONITOR`: address, route and neighbour changes.
pub const MCGRP_MONITOR: &str = "monitor";

/// `enum rvnet_route_kind`.
pub mod route_kind {
    pub const LOCAL: u32 = 0;
    pub const CONNECTED: u32 = 1;
    pub const GATEWAY: u32 = 2;
}

/// `enum rvnet_neigh_state`.
pub mod neigh_state {
    pub const INCOMPLETE: u32 = 0;
    pub const REACHABLE: u32 = 1;
    pub const STATIC: u32 = 2;
}

/// Attribute set `link` (`RVNET_A_LINK_*`).
pub mod link {
    pub const IFINDEX: u16 = 1;
    pub const MAX: u16 = 1;
}

/// Attribute set `addr` (`RVNET_A_ADDR_*`).
pub mod addr {
    pub const IFINDEX: u16 = 1;
    pub const ADDRESS: u16 = 2;
    pub const PREFIXLEN: u16 = 3;
    pub const LLADDR: u16 = 4;
    pub const MAX: u16 = 4;
}

/// Attribute set `route` (`RVNET_A_ROUTE_*`).
pub mod route {
    pub const DST: u16 = 1;
    pub const PREFIXLEN: u16 = 2;
    pub const GATEWAY: u16 = 3;
    pub const IFINDEX: u16 = 4;
    pub const KIND: u16 = 5;
    pub const MAX: u16 = 5;
}

/// Attribute set `routes` (`RVNET_A_ROUTES_*`): the routes of a `route-add-bulk`, each a nest
/// of the `route` attributes that `route-add` takes (the spec's subset `route-entry`).
pub mod routes {
    pub const ROUTE: u16 = 1;
    pub const MAX: u16 = 1;
}

/// Attribute set `neigh` (`RVNET_A_NEIGH_*`).
pub mod neigh {
    pub const ADDRESS: u16 = 1;
    pub const LLADDR: u16 = 2;
    pub const IFINDEX: u16 = 3;
    pub const STATE: u16 = 4;
    pub const MAX: u16 = 4;
}

/// Attribute set `proxy` (`RVNET_A_PROXY_*`).
pub mod proxy {
    pub const PREFIX: u16 = 1;
    pub const PREFIXLEN: u16 = 2;
    pub const MAX: u16 = 2;
}

/// Attribute set `param` (`RVNET_A_PARAM_*`): one attribute per parameter (the module's
/// parameter ids are these numbers).
pub mod param {
    pub const ARP_AGEING_MS: u16 = 1;
    pub const ARP_RETRY_MS: u16 = 2;
    pub const ARP_RETRIES: u16 = 3;
    pub const FORWARDING: u16 = 4;
    pub const REASM_TIMEOUT_MS: u16 = 5;
    pub const DEFAULT_TTL: u16 = 6;
    pub const ARP_GC_THRESH1: u16 = 7;
    pub const ARP_GC_THRESH2: u16 = 8;
    pub const ARP_GC_THRESH3: u16 = 9;
    pub const ARP_GC_INTERVAL_MS: u16 = 10;
    pub const ARP_GC_STALE_MS: u16 = 11;
    pub const ARP_UNRES_QLEN_BYTES: u16 = 12;
    pub const FIB_MAX_ROUTES: u16 = 13;
    pub const IPFRAG_HIGH_THRESH: u16 = 14;
    pub const MAX: u16 = 14;
}

/// The parameters by the names the tools use (the spec's with `_` for `-`), with their
/// attributes.
pub const PARAMS: &[(&str, u16)] = &[
    ("arp_ageing_ms", param::ARP_AGEING_MS),
    ("arp_retry_ms", param::ARP_RETRY_MS),
    ("arp_retries", param::ARP_RETRIES),
    ("forwarding", param::FORWARDING),
    ("reasm_timeout_ms", param::REASM_TIMEOUT_MS),
    ("default_ttl", param::DEFAULT_TTL),
    ("arp_gc_thresh1", param::ARP_GC_THRESH1),
    ("arp_gc_thresh2", param::ARP_GC_THRESH2),
    ("arp_gc_thresh3", param::ARP_GC_THRESH3),
    ("arp_gc_interval_ms", param::ARP_GC_INTERVAL_MS),
    ("arp_gc_stale_ms", param::ARP_GC_STALE_MS),
    ("arp_unres_qlen_bytes", param::ARP_UNRES_QLEN_BYTES),
    ("fib_max_routes", param::FIB_MAX_ROUTES),
    ("ipfrag_high_thresh", param::IPFRAG_HIGH_THRESH),
];

/// Commands (`RVNET_CMD_*`).
pub mod cmd {
    pub const LINK_ATTACH: u8 = 1;
    pub const LINK_DETACH: u8 = 2;
    pub const ADDR_ADD: u8 = 3;
    pub const ADDR_DEL: u8 = 4;
    pub const ADDR_GET: u8 = 5;
    pub const ROUTE_ADD: u8 = 6;
    pub const ROUTE_DEL: u8 = 7;
    pub const ROUTE_GET: u8 = 8;
    pub const NEIGH_ADD: u8 = 9;
    pub const NEIGH_DEL: u8 = 10;
    pub const NEIGH_FLUSH: u8 = 11;
    pub const NEIGH_GET: u8 = 12;
    pub const NEIGH_REVERSE: u8 = 13;
    pub const PROXY_ADD: u8 = 14;
    pub const PROXY_DEL: u8 = 15;
    pub const PARAM_SET: u8 = 16;
    pub const PARAM_GET: u8 = 17;
    pub const ADDR_NEW_NTF: u8 = 18;
    pub const ADDR_DEL_NTF: u8 = 19;
    pub const ROUTE_NEW_NTF: u8 = 20;
    pub const ROUTE_DEL_NTF: u8 = 21;
    pub const NEIGH_NEW_NTF: u8 = 22;
    pub const NEIGH_DEL_NTF: u8 = 23;
    pub const ROUTE_ADD_BULK: u8 = 24;
    pub const MAX: u8 = 24;
}

/// Every command by its spec name, for the agreement test and for tools that print them.
pub const CMD_NAMES: &[(&str, u8)] = &[
    ("link-attach", cmd::LINK_ATTACH),
    ("link-detach", cmd::LINK_DETACH),
    ("addr-add", cmd::ADDR_ADD),
    ("addr-del", cmd::ADDR_DEL),
    ("addr-get", cmd::ADDR_GET),
    ("route-add", cmd::ROUTE_ADD),
    ("route-del", cmd::ROUTE_DEL),
    ("route-get", cmd::ROUTE_GET),
    ("neigh-add", cmd::NEIGH_ADD),
    ("neigh-del", cmd::NEIGH_DEL),
    ("neigh-flush", cmd::NEIGH_FLUSH),
    ("neigh-get", cmd::NEIGH_GET),
    ("neigh-reverse", cmd::NEIGH_REVERSE),
    ("proxy-add", cmd::PROXY_ADD),
    ("proxy-del", cmd::PROXY_DEL),
    ("param-set", cmd::PARAM_SET),
    ("param-get", cmd::PARAM_GET),
    ("addr-new-ntf", cmd::ADDR_NEW_NTF),
    ("addr-del-ntf", cmd::ADDR_DEL_NTF),
    ("route-new-ntf", cmd::ROUTE_NEW_NTF),
    ("route-del-ntf", cmd::ROUTE_DEL_NTF),
    ("neigh-new-ntf", cmd::NEIGH_NEW_NTF),
    ("neigh-del-ntf", cmd::NEIGH_DEL_NTF),
    ("route-add-bulk", cmd::ROUTE_ADD_BULK),
];

/// Every attribute by set and spec name.
pub const ATTR_NAMES: &[(&str, &str, u16)] = &[
    ("link", "ifindex", link::IFINDEX),
    ("addr", "ifindex", addr::IFINDEX),
    ("addr", "address", addr::ADDRESS),
    ("addr", "prefixlen", addr::PREFIXLEN),
    ("addr", "lladdr", addr::LLADDR),
    ("route", "dst", route::DST),
    ("route", "prefixlen", route::PREFIXLEN),
    ("route", "gateway", route::GATEWAY),
    ("route", "ifindex", route::IFINDEX),
    ("route", "kind", route::KIND),
    ("routes", "route", routes::ROUTE),
    ("neigh", "address", neigh::ADDRESS),
    ("neigh", "lladdr", neigh::LLADDR),
    ("neigh", "ifindex", neigh::IFINDEX),
    ("neigh", "state", neigh::STATE),
    ("proxy", "prefix", proxy::PREFIX),
    ("proxy", "prefixlen", proxy::PREFIXLEN),
    ("param", "arp-ageing-ms", param::ARP_AGEING_MS),
    ("param", "arp-retry-ms", param::ARP_RETRY_MS),
    ("param", "arp-retries", param::ARP_RETRIES),
    ("param", "forwarding", param::FORWARDING),
    ("param", "reasm-timeout-ms", param::REASM_TIMEOUT_MS),
    ("param", "default-ttl", param::DEFAULT_TTL),
    ("param", "arp-gc-thresh1", param::ARP_GC_THRESH1),
    ("param", "arp-gc-thresh2", param::ARP_GC_THRESH2),
    ("param", "arp-gc-thresh3", param::ARP_GC_THRESH3),
    ("param", "arp-gc-interval-ms", param::ARP_GC_INTERVAL_MS),
    ("param", "arp-gc-stale-ms", param::ARP_GC_STALE_MS),
    ("param", "arp-unres-qlen-bytes", param::ARP_UNRES_QLEN_BYTES),
    ("param", "fib-max-routes", param::FIB_MAX_ROUTES),
    ("param", "ipfrag-high-thresh", param::IPFRAG_HIGH_THRESH),
];

/// The highest attribute of every set (`RVNET_A_*_MAX`).
pub const SET_MAX: &[(&str, u16)] = &[
    ("link", link::MAX),
    ("addr", addr::MAX),
    ("route", route::MAX),
    ("routes", routes::MAX),
    ("neigh", neigh::MAX),
    ("proxy", proxy::MAX),
    ("param", param::MAX),
];

/// Every entry of the spec's enums: (enum, entry, value).
pub const ENUM_ENTRIES: &[(&str, &str, u32)] = &[
    ("route-kind", "local", route_kind::LOCAL),
    ("route-kind", "connected", route_kind::CONNECTED),
    ("route-kind", "gateway", route_kind::GATEWAY),
    ("neigh-state", "incomplete", neigh_state::INCOMPLETE),
    ("neigh-state", "reachable", neigh_state::REACHABLE),
    ("neigh-state", "static", neigh_state::STATIC),
];
