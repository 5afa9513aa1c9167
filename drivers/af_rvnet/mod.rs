// SPDX-License-Identifier: GPL-2.0

//! AF_RVNET: a socket family with its own small IPv4 stack.
//!
//! Each network namespace has one [`Stack`]: the interfaces attached to it, each with its
//! IPv4 addresses (primaries and secondaries, as `ip addr` has them), the ARP cache, the FIB and its route cache, the reassembly buffers, the
//! bound sockets and the counters. Frames reach the stack through a receive handler on each
//! attached device (`input.rs`); datagrams leave through `output.rs`; sockets are in
//! `socket.rs`; configuration and `/proc/net/rvnet` are in `ctl.rs`, reached through the
//! generic netlink family "rvnet" (`netlink.rs`). The protocol decisions (validation, ARP,
//! routing, reassembly, demultiplexing, ICMP) are netcore's; this glue moves sk_buffs, takes
//! the locks and counts.
//!
//! Locking, all with bottom halves off, none held across a transmit or a wakeup (what leaves
//! a lock comes out by value first):
//! - `cfg`, a reader-writer lock over what the receive path only reads: the interfaces and
//!   their addresses, the FIB, the forwarding switch. Every frame takes it shared, so CPUs
//!   receive side by side; configuration (addresses, routes, attach and detach) takes it
//!   exclusive, as Linux's RTNL-serialised writers publish under RCU.
//! - `socks`, a reader-writer lock over the socket table: lookups shared, bind and close
//!   exclusive.
//! - `arp`, `rcache`, `frags`, `ident`: one spinlock each for the tables that every lookup
//!   changes (an ARP entry's state and queue, a cache set's entries, a reassembly queue, an
//!   ID counter). Each is a leaf, held for one table operation: taken alone or inside `cfg`,
//!   never two at once and never `socks` with them.
//! - The counters are per CPU (one cache line each, summed when read): the CPUs that receive
//!   side by side share no counter.

mod ctl;
mod input;
mod kunit;
mod netlink;
mod notify;
mod output;
mod socket;
mod text;

use crate::net::bh;
use crate::net::clock;
use crate::net::genl;
use crate::net::namespace::NetNs;
use crate::net::net_device::{DevRef, NetDevice};
use crate::net::proto::{Family, FamilyRegistration};
use crate::net::rtnl::RtnlHeld;
use crate::net::rwlock::{ReadGuard, RwLock, WriteGuard};
use crate::net::seq_file::{ProcFile, SeqWriter};
use crate::net::skb::Skb;
use crate::net::socket::{Msg, OptVal, SockRef, SockType, Socket};
use crate::netcore::arp::cache::{self as arp_cache, ArpCache, ArpConfig};
use crate::netcore::ipv4::frag;
use crate::netcore::ipv4::output::IdentGenerator;
use crate::netcore::ipv4::route::{self as fib, mask, Fib, RouteCache};
use crate::netcore::sock::table;
use crate::netcore::storage::{Grow, Storage};
use crate::netcore::wire::Ipv4Address;
use crate::new_rwlock;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::alloc::{flags, KVVec, KVec};
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::{SpinLock, SpinLockGuard};

pub(crate) use socket::SockState;

/// Packets that may wait for one resolution (within `unres_qlen_bytes` in all).
pub(crate) const ARP_QUEUE: usize = 8;
/// The largest `gc_thresh3` that may be set: the cache's slots are numbered in `u32`, and
/// two million entries are some 200 MiB.
pub(crate) const MAX_ARP_ENTRIES: u32 = 1 << 21;
/// Routes per namespace by default (`rvnetctl set fib_max_routes`): room for today's full
/// IPv4 Internet table and its growth; DXR takes about 20 bytes a route.
pub(crate) const MAX_ROUTES: usize = 2_000_000;
/// IP ID buckets.
const IDENT_BUCKETS: usize = 256;
/// Addresses one interface may have (`ip addr` has no limit; this one keeps a listing's
/// chunk bounded).
pub(crate) const MAX_ADDRS: usize = 256;

/// One entry of the ARP cache, the element of its storage.
pub(crate) type ArpEntry = arp_cache::Entry<ARP_QUEUE, Skb>;
/// The ARP cache (netcore's hash table), its storage allocated here ([`Stack::arp_room`]).
pub(crate) type Arp = ArpCache<ARP_QUEUE, Skb, KVVec<ArpEntry>, KVVec<u32>>;
/// Packets that left the ARP cache unresolved.
pub(crate) type Unresolved = arp_cache::Unresolved<ARP_QUEUE, Skb>;
/// The reassembler (netcore's, holding the fragments' skbs), its storage allocated here
/// ([`Stack::frag_room`]).
pub(crate) type Frags = frag::Frags<Skb, KVVec<frag::Node<Skb>>, KVVec<u32>>;

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        /// The stack's counters; `/proc/net/rvnet/stats` prints them by these names.
        #[allow(non_camel_case_types, dead_code)]
        #[derive(Clone, Copy)]
        #[repr(usize)]
        pub(crate) enum C { $($name),* }
        const COUNTER_NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

counters!(
    rx_frames,
    rx_passed,
    arp_rx,
    arp_rx_malformed,
    arp_rx_requests,
    arp_rx_replies,
    arp_rx_refused,
    arp_tx_requests,
    arp_tx_replies,
    arp_tx_gratuitous,
    arp_resolve_failed,
    arp_queue_drops,
    arp_table_full,
    arp_nomem,
    ip_rx,
    ip_rx_truncated,
    ip_rx_bad_version,
    ip_rx_bad_header_len,
    ip_rx_bad_total_len,
    ip_rx_bad_csum,
    ip_rx_bad_src,
    ip_rx_not_ours,
    ip_rx_unknown_proto,
    ip_rx_nomem,
    ip_rx_fragments,
    ip_reasm_ok,
    ip_reasm_failed,
    ip_reasm_timeouts,
    ip_reasm_evicted,
    ip_reasm_nomem,
    ip_tx,
    ip_tx_fragments,
    ip_tx_no_route,
    ip_tx_errors,
    ip_forwarded,
    ip_rx_ttl_exceeded,
    icmp_rx,
    icmp_rx_malformed,
    icmp_rx_echo_requests,
    icmp_rx_errors_reported,
    icmp_tx_echo_replies,
    icmp_tx_unreachable,
    icmp_tx_time_exceeded,
    udp_rx,
    udp_rx_malformed,
    udp_rx_bad_csum,
    udp_rx_no_port,
    udp_rx_queue_full,
    udp_tx,
    raw_rx,
    raw_rx_queue_full,
    raw_tx,
    sock_table_nomem,
    route_lookups,
    route_cache_hits,
    route_cache_misses,
    route_cache_hit_rate_permille,
    route_cache_sets,
    fib_routes,
);

const N_COUNTERS: usize = COUNTER_NAMES.len();

/// One CPU's counters, a cache line (or more) of its own.
#[repr(align(64))]
struct CpuCounters([AtomicU64; N_COUNTERS]);

/// Event counters, per CPU: each CPU adds to its own line (an uncontended atomic add, so a
/// task that migrates between reading its CPU and adding still counts exactly); a reader sums
/// them all. One line shared by the CPUs that receive side by side would cost more than the
/// lookups it counts.
pub(crate) struct Counters(KVVec<CpuCounters>);

impl Counters {
    fn new() -> Result<Self> {
        let n = kernel::cpu::nr_cpu_ids().max(1) as usize;
        let mut v = KVVec::with_capacity(n, flags::GFP_KERNEL)?;
        for _ in 0..n {
            v.push(
                CpuCounters([const { AtomicU64::new(0) }; N_COUNTERS]),
                flags::GFP_KERNEL,
            )?;
        }
        Ok(Counters(v))
    }

    fn mine(&self) -> Option<&CpuCounters> {
        let cpu = kernel::cpu::CpuId::current().as_u32() as usize;
        self.0.get(cpu).or(self.0.first())
    }

    /// Counts one event.
    pub(crate) fn inc(&self, c: C) {
        self.add(c, 1)
    }

    /// Counts `n` events.
    pub(crate) fn add(&self, c: C, n: u64) {
        if let Some(a) = self.mine().and_then(|m| m.0.get(c as usize)) {
            a.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counter `i`, summed over the CPUs.
    pub(crate) fn get(&self, i: usize) -> u64 {
        self.0
            .iter()
            .filter_map(|m| m.0.get(i))
            .fold(0u64, |s, a| s.wrapping_add(a.load(Ordering::Relaxed)))
    }
}

/// One IPv4 address of an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IfAddr {
    /// The address.
    pub(crate) addr: Ipv4Address,
    /// Its prefix length.
    pub(crate) prefix: u8,
}

impl IfAddr {
    /// The network address of its subnet.
    pub(crate) fn network(&self) -> Ipv4Address {
        Ipv4Address::from_u32(self.addr.to_u32() & mask(self.prefix))
    }

    /// True if `a` is in its subnet.
    pub(crate) fn covers(&self, a: Ipv4Address) -> bool {
        (a.to_u32() ^ self.addr.to_u32()) & mask(self.prefix) == 0
    }

    /// True if `other` has the same subnet (network and length).
    pub(crate) fn same_subnet(&self, other: &IfAddr) -> bool {
        self.prefix == other.prefix && self.network() == other.network()
    }
}

/// An attached interface.
pub(crate) struct Iface {
    /// The device, held.
    pub(crate) dev: DevRef,
    /// Its index.
    pub(crate) ifindex: i32,
    /// Its addresses in the order added, as `ip addr` keeps them: the first address of a
    /// subnet is that subnet's primary, later ones in the same subnet are its secondaries.
    pub(crate) addrs: KVec<IfAddr>,
}

/// The interface whose address `addr` is (the device of its local route); 0 if none.
pub(crate) fn local_ifindex(ifaces: &[Iface], addr: Ipv4Address) -> i32 {
    ifaces.iter().find(|i| i.has(addr)).map_or(0, |i| i.ifindex)
}

impl Iface {
    /// True if `a` is one of its addresses.
    pub(crate) fn has(&self, a: Ipv4Address) -> bool {
        !a.is_unspecified() && self.addrs.iter().any(|x| x.addr == a)
    }

    /// The source address for a packet to `dst` (the next hop, or the destination) out of
    /// this interface, as `inet_select_addr` picks it: the primary address of a subnet that
    /// holds `dst`, else the first primary; unspecified for an interface with no address.
    pub(crate) fn source_for(&self, dst: Ipv4Address) -> Ipv4Address {
        self.addrs
            .iter()
            .find(|a| a.covers(dst))
            .or(self.addrs.first())
            .map_or(Ipv4Address::UNSPECIFIED, |a| a.addr)
    }

    /// True if `dst` is the directed broadcast address of one of this interface's subnets
    /// (none for /31 and /32, RFC 3021).
    pub(crate) fn is_subnet_broadcast(&self, dst: Ipv4Address) -> bool {
        self.addrs.iter().any(|a| {
            a.prefix < 31 && {
                let m = mask(a.prefix);
                dst.to_u32() == (a.addr.to_u32() & m) | !m
            }
        })
    }
}

/// Local delivery of a datagram the stack sent to one of its own addresses: what Linux's
/// `dst.input` (`ip_local_deliver`) is for a local route. The transmit side (`output.rs`)
/// hands such datagrams here, and knows nothing of the receive side.
pub(crate) fn deliver_local(st: &Stack, skb: Skb) {
    input::deliver(st, skb, 0);
}

/// The state behind `Stack::cfg`: what the receive path reads and configuration changes.
pub(crate) struct Inner {
    /// Attached interfaces.
    pub(crate) ifaces: KVec<Iface>,
    /// The FIB (netcore's DXR), its storage allocated here ([`Stack::fib_room`]).
    /// Boxed: with its free lists it would make `Inner` too large a stack value to build.
    pub(crate) fib: KBox<FibTable>,
    /// Forward between attached interfaces.
    pub(crate) forwarding: bool,
    /// TTL of datagrams we originate.
    pub(crate) default_ttl: u8,
}

impl Inner {
    /// Reads the FIB with the interfaces beside it: the listings (`/proc`, netlink dumps)
    /// need both, a local route's device being the interface with that address
    /// ([`local_ifindex`]).
    pub(crate) fn read_fib<R>(&self, f: impl FnOnce(&FibTable, &[Iface]) -> R) -> R {
        f(&self.fib, &self.ifaces)
    }

    /// The FIB's generation: it changes with every route change.
    pub(crate) fn fib_generation(&self) -> u64 {
        self.fib.generation()
    }

    /// The interface with `ifindex`: `ifaces` is kept sorted by ifindex, so this is a binary
    /// search, whatever the number of interfaces.
    pub(crate) fn iface(&self, ifindex: i32) -> Option<&Iface> {
        let k = self.iface_pos(ifindex).ok()?;
        self.ifaces.get(k)
    }

    /// [`Inner::iface`], to change it.
    pub(crate) fn iface_mut(&mut self, ifindex: i32) -> Option<&mut Iface> {
        let k = self.iface_pos(ifindex).ok()?;
        self.ifaces.get_mut(k)
    }

    /// Where `ifindex` is in `ifaces` (`Err`: where it would go).
    pub(crate) fn iface_pos(&self, ifindex: i32) -> core::result::Result<usize, usize> {
        self.ifaces.binary_search_by_key(&ifindex, |i| i.ifindex)
    }

    /// True if `a` is one of our addresses: it has a local route (a FIB lookup, not a scan of
    /// the interfaces).
    pub(crate) fn is_local(&self, a: Ipv4Address) -> bool {
        !a.is_unspecified()
            && self
                .fib
                .get(a, 32)
                .is_some_and(|r| r.kind == fib::RouteKind::Local)
    }

    /// Resolves `dst` through the route cache (`st.rcache`, taken for the one lookup),
    /// counting.
    pub(crate) fn route(
        &self,
        st: &Stack,
        dst: Ipv4Address,
    ) -> Option<crate::netcore::ipv4::route::NextHop> {
        let (r, hit) = {
            let mut rc = st.lock_rcache();
            let before = rc.stats().hits;
            let r = rc.resolve(&*self.fib, dst);
            (r, rc.stats().hits != before)
        };
        st.counters.inc(C::route_lookups);
        st.counters.inc(if hit {
            C::route_cache_hits
        } else {
            C::route_cache_misses
        });
        r.ok()
    }

    /// [`Inner::route`] for a socket bound to interface `oif` (SO_BINDTODEVICE; 0: not
    /// bound): only routes through `oif` count, and without one the destination is taken to
    /// be on that link, as Linux routes a bound socket's output. The route cache, keyed by
    /// destination alone, is not used for bound flows.
    pub(crate) fn route_oif(
        &self,
        st: &Stack,
        dst: Ipv4Address,
        oif: i32,
    ) -> Option<crate::netcore::ipv4::route::NextHop> {
        if oif == 0 {
            return self.route(st, dst);
        }
        st.counters.inc(C::route_lookups);
        st.counters.inc(C::route_cache_misses);
        self.iface(oif)?;
        self.fib.resolve_oif(dst, oif).ok()
    }
}

/// The namespace's socket table (netcore's, hashed by port), holding a reference to each
/// bound (or raw) socket for the receive path; its storage is allocated here
/// ([`Stack::sock_room`]).
pub(crate) type SockTable = table::SockTable<SockRef, KVVec<SockEntry>, KVVec<u32>>;
/// One entry of [`SockTable`].
pub(crate) type SockEntry = table::Entry<SockRef>;

/// The namespace's FIB: netcore's DXR in `KVVec`s.
pub(crate) type FibTable = Fib<KVVec<u32>>;

/// The kernel's storage for netcore's tables: a `KVVec` (kmalloc, or vmalloc when large),
/// allocated where the caller may sleep and filled within its capacity under the lock.
impl<T> Storage<T> for KVVec<T> {
    fn capacity(&self) -> usize {
        KVVec::capacity(self)
    }

    fn push_within_capacity(&mut self, v: T) -> Result<(), T> {
        KVVec::push_within_capacity(self, v).map_err(|e| e.0)
    }

    fn pop(&mut self) -> Option<T> {
        KVVec::pop(self)
    }
}

/// The route cache, sized with the FIB ([`Stack::fib_room`]).
pub(crate) type RCache = RouteCache<KVVec<fib::CacheSet>>;
/// Per-destination IP IDs.
pub(crate) type Ident = IdentGenerator<IDENT_BUCKETS>;

/// The AF_RVNET stack of one network namespace.
#[pin_data]
pub(crate) struct Stack {
    /// The namespace.
    pub(crate) netns: NetNs,
    /// Counters.
    pub(crate) counters: Counters,
    /// Interfaces, addresses, FIB: read by every frame, written by configuration.
    #[pin]
    pub(crate) cfg: RwLock<Inner>,
    /// The route cache.
    #[pin]
    pub(crate) rcache: SpinLock<RCache>,
    /// The ARP cache; packets waiting for resolution are held in it.
    #[pin]
    pub(crate) arp: SpinLock<Arp>,
    /// Reassembly buffers. Boxed: the table is built on the stack.
    #[pin]
    pub(crate) frags: SpinLock<KBox<Frags>>,
    /// IP IDs.
    #[pin]
    pub(crate) ident: SpinLock<Ident>,
    /// Bound sockets.
    #[pin]
    pub(crate) socks: RwLock<SockTable>,
}

/// Grows a table that asks for storage ([`Grow::wants`]): allocates it with `gfp` outside the
/// table's lock, moves the table in under the lock (`lock` takes it), and frees what comes
/// back after the lock. Another user may take the room meanwhile, so a few rounds. False if
/// the entries it wanted could not be had (fewer buckets than wanted only make chains
/// longer); the caller decides whether that is an errno or a counted drop.
fn grow<T, E, G>(lock: impl Fn() -> G, gfp: kernel::alloc::Flags) -> bool
where
    T: Grow<KVVec<E>, KVVec<u32>>,
    G: core::ops::DerefMut<Target = T>,
{
    for _ in 0..4 {
        let want = lock().wants();
        if want.is_none() {
            return true;
        }
        fn get<X>(n: usize, gfp: kernel::alloc::Flags) -> Option<KVVec<X>> {
            match n {
                0 => None,
                n => KVVec::with_capacity(n, gfp).ok(),
            }
        }
        let (entries, index) = (get(want.entries, gfp), get(want.index, gfp));
        let had_entries = want.entries == 0 || entries.is_some();
        if entries.is_none() && index.is_none() {
            return had_entries;
        }
        let old = lock().adopt(entries, index);
        // Freed here, after the lock.
        drop(old);
        if !had_entries {
            return false;
        }
    }
    true
}

/// A boxed table grows as the table does.
impl<E, B, T: Grow<E, B>> Grow<E, B> for KBox<T> {
    fn wants(&self) -> crate::netcore::storage::Want {
        (**self).wants()
    }

    fn adopt(&mut self, entries: Option<E>, index: Option<B>) -> (Option<E>, Option<B>) {
        (**self).adopt(entries, index)
    }
}

impl Stack {
    /// Makes room in the socket table for one more socket (GFP_KERNEL: the caller holds no
    /// spinlock). ENOMEM if a slot cannot be had.
    pub(crate) fn sock_room(&self) -> Result {
        if grow(|| self.lock_socks(), flags::GFP_KERNEL) {
            Ok(())
        } else {
            Err(ENOMEM)
        }
    }

    /// Grows the reassembler's storage if it asks for more (GFP_ATOMIC on the receive path,
    /// GFP_KERNEL from the tick). A fragment that finds no node is refused and counted
    /// (`ip_reasm_nomem`).
    pub(crate) fn frag_room(&self, gfp: kernel::alloc::Flags) {
        grow(|| self.lock_frags(), gfp);
    }

    /// Grows the ARP cache's storage if it asks for more ([`Arp::wants`]: when 3/4 of its
    /// slots are taken). Process context calls it with GFP_KERNEL (the timer work, `neigh
    /// add`, a parameter change); the receive path, and a send that finds every slot taken,
    /// with GFP_ATOMIC, which may fail on a large table: the quarter of the slots kept free
    /// covers the time until the next tick grows it. A failure is counted (`arp_nomem`), as
    /// is an entry that finds no slot.
    pub(crate) fn arp_room(&self, gfp: kernel::alloc::Flags) {
        if !grow(|| self.lock_arp(), gfp) {
            self.counters.inc(C::arp_nomem);
        }
    }

    /// Gives the FIB the storage its next insertion needs ([`Fib::wants`]), allocated with
    /// GFP_KERNEL outside the lock (the caller may sleep: route and address requests). ENOMEM
    /// if it cannot be had; the insertion itself then says ENOMEM if another request took the
    /// room meanwhile. The route cache grows here too.
    pub(crate) fn fib_room(&self) -> Result {
        self.rcache_room();
        for _ in 0..4 {
            let want = self.read().fib.wants();
            if want.is_none() {
                return Ok(());
            }
            let get = |n: usize| -> Result<Option<KVVec<u32>>> {
                Ok(match n {
                    0 => None,
                    n => Some(KVVec::with_capacity(n, flags::GFP_KERNEL)?),
                })
            };
            let parts = fib::FibParts {
                direct: get(want.direct)?,
                blocks: get(want.blocks)?,
                index: get(want.index)?,
                leaves: get(want.leaves)?,
            };
            let old = self.write().fib.adopt(parts);
            // Freed here, after the lock.
            drop(old);
        }
        Ok(())
    }

    /// Grows the route cache with the table (one set per 16 routes, 64 to 65,536 sets):
    /// without the memory it stays as it is, which only lowers its hit rate.
    fn rcache_room(&self) {
        let routes = self.read().fib.len().saturating_add(1);
        let want = self.lock_rcache().wants(routes);
        if want > 0 {
            if let Ok(sets) = KVVec::with_capacity(want, flags::GFP_KERNEL) {
                let old = self.lock_rcache().adopt(sets);
                drop(old);
            }
        }
    }
}

/// A lock held with bottom halves off. The guard is a field before the bottom-half guard,
/// so the lock is released before softirqs may run again (a `(guard, bh)` pair bound with
/// `let` would drop in the wrong order).
pub(crate) struct Locked<'a, T> {
    guard: SpinLockGuard<'a, T>,
    _bh: bh::BhDisabled,
}

impl<T> core::ops::Deref for Locked<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: Unpin> core::ops::DerefMut for Locked<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

/// Takes `lock` with bottom halves off.
fn locked<T>(lock: &SpinLock<T>) -> Locked<'_, T> {
    let bh = bh::disable();
    Locked {
        guard: lock.lock(),
        _bh: bh,
    }
}

impl Stack {
    /// The interfaces, addresses and FIB, shared (the receive and transmit paths).
    pub(crate) fn read(&self) -> ReadGuard<'_, Inner> {
        self.cfg.read()
    }

    /// The interfaces, addresses and FIB, exclusive (configuration).
    pub(crate) fn write(&self) -> WriteGuard<'_, Inner> {
        self.cfg.write()
    }

    /// The ARP cache.
    pub(crate) fn lock_arp(&self) -> Locked<'_, Arp> {
        locked(&self.arp)
    }

    /// The route cache.
    pub(crate) fn lock_rcache(&self) -> Locked<'_, RCache> {
        locked(&self.rcache)
    }

    /// The reassembler.
    pub(crate) fn lock_frags(&self) -> Locked<'_, KBox<Frags>> {
        locked(&self.frags)
    }

    /// The IP ID generator.
    pub(crate) fn lock_ident(&self) -> Locked<'_, Ident> {
        locked(&self.ident)
    }

    /// The socket table, shared (lookups).
    pub(crate) fn read_socks(&self) -> ReadGuard<'_, SockTable> {
        self.socks.read()
    }

    /// The socket table, exclusive (bind, close, growth).
    pub(crate) fn lock_socks(&self) -> WriteGuard<'_, SockTable> {
        self.socks.write()
    }
}

fn new_inner() -> Result<Inner> {
    Ok(Inner {
        ifaces: KVec::new(),
        // No storage until the first route: most namespaces never have one.
        fib: KBox::new(Fib::new(MAX_ROUTES), flags::GFP_KERNEL)?,
        forwarding: false,
        default_ttl: 64,
    })
}

/// The AF_RVNET family.
pub(crate) struct AfRvnet;

impl Family for AfRvnet {
    type Net = Stack;
    type Sock = SockState;

    fn net_new(netns: NetNs) -> Result<Pin<KBox<Stack>>> {
        let inner = new_inner()?;
        // ipfrag_high_thresh 4 MiB, ipfrag_time 30 s; no storage until the first fragment.
        let frags = KBox::new(Frags::new(clock::random_u32()), flags::GFP_KERNEL)?;
        KBox::pin_init(
            try_pin_init!(Stack {
                netns,
                counters: Counters::new()?,
                cfg <- new_rwlock!(inner, "rvnet_cfg"),
                // Sized with the FIB, from its first route on ([`Stack::fib_room`]).
                rcache <- new_spinlock!(RouteCache::new(), "rvnet_rcache"),
                // Linux's neighbour defaults (gc_thresh1/2/3 128/512/1024, unres_qlen_bytes
                // 212992) and the seed notes' 20-minute ageing; no storage until the first
                // entry.
                arp <- new_spinlock!(
                    Arp::new(ArpConfig::default(), clock::random_u32()),
                    "rvnet_arp"
                ),
                frags <- new_spinlock!(frags, "rvnet_frags"),
                ident <- new_spinlock!(IdentGenerator::new(clock::random_u32()), "rvnet_ident"),
                socks <- new_rwlock!(
                    SockTable::new(usize::MAX, clock::random_u32()),
                    "rvnet_socks"
                ),
            }),
            flags::GFP_KERNEL,
        )
    }

    fn net_detach_all(net: &Stack, rtnl: &RtnlHeld<'_>) {
        ctl::detach_all(net, rtnl);
    }

    fn net_tick(net: &Stack) -> u64 {
        output::tick(net)
    }

    fn proc_next(net: &Stack, file: ProcFile, from: u64) -> Option<u64> {
        ctl::proc_next(net, file, from)
    }

    fn proc_row(net: &Stack, file: ProcFile, cursor: u64, out: &mut SeqWriter<'_>) {
        let _ = ctl::proc_row(net, file, cursor, out);
    }

    fn netdev_unregister(net: &Stack, dev: &NetDevice, rtnl: &RtnlHeld<'_>) {
        ctl::detach_dev(net, dev.ifindex(), rtnl);
    }

    fn rx(net: &Stack, skb: Skb) -> Result<(), Skb> {
        input::rx(net, skb)
    }

    fn sock_new(
        net: &Stack,
        kind: SockType,
        protocol: i32,
        may_raw: bool,
    ) -> Result<Pin<KBox<SockState>>> {
        socket::new(net, kind, protocol, may_raw)
    }

    fn init(sock: &Socket<'_, Self>) {
        socket::init(sock)
    }

    fn release(sock: &Socket<'_, Self>) {
        socket::release(sock)
    }

    fn bind(sock: &Socket<'_, Self>, addr: &[u8]) -> Result {
        socket::bind(sock, addr)
    }

    fn connect(sock: &Socket<'_, Self>, addr: &[u8]) -> Result {
        socket::connect(sock, addr)
    }

    fn getname(sock: &Socket<'_, Self>, peer: bool, out: &mut [u8; 16]) -> Result<usize> {
        socket::getname(sock, peer, out)
    }

    fn sendmsg(sock: &Socket<'_, Self>, msg: &mut Msg<'_>, len: usize) -> Result<usize> {
        socket::sendmsg(sock, msg, len)
    }

    fn shutdown(sock: &Socket<'_, Self>, how: i32) -> Result {
        socket::shutdown(sock, how)
    }

    fn setsockopt(sock: &Socket<'_, Self>, level: i32, name: i32, val: &OptVal) -> Result {
        socket::setsockopt(sock, level, name, val)
    }

    fn getsockopt(sock: &Socket<'_, Self>, level: i32, name: i32, buf: &mut [u8]) -> Result<usize> {
        socket::getsockopt(sock, level, name, buf)
    }
}

/// A netcore errno (positive) as a kernel error.
pub(crate) fn errno(e: i32) -> Error {
    Error::from_errno(-e)
}

/// What the module holds: the socket family and the generic netlink family.
#[pin_data]
pub(crate) struct Registration {
    /// Declared first, so dropped first: genetlink waits for the requests in flight before
    /// the socket family frees the stacks they use.
    #[pin]
    genl: genl::Registration<netlink::RvnetGenl>,
    #[pin]
    family: FamilyRegistration<AfRvnet>,
}

impl Registration {
    /// Registers the socket family, then the netlink family (whose requests need the
    /// stacks of the first).
    pub(crate) fn new(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            family <- FamilyRegistration::new(module),
            genl <- genl::Registration::new(module),
        })
    }
}
