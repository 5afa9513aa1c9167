//! The ARP cache: IPv4 neighbours' MAC addresses, learned by RFC 826 and forgotten with time.
//!
//! This plays out the seed notes' ARP section: before a host can put an IPv4 packet in an
//! Ethernet frame it needs the next hop's MAC address. It looks in its cache; on a miss it
//! broadcasts "who has X? tell Y", parks the packet, and sends it when the owner of X answers.
//! The owner of X learns Y's binding from the request itself, so the reverse lookup never
//! needs a request of its own. Entries are forgotten after a while (20 minutes by default),
//! because addresses move between machines.
//!
//! An entry belongs to one device: its key is the device's index (`ifindex`, the kernel's
//! `int`) and the neighbour's IPv4 address, as Linux's neighbour table is keyed by device and
//! address (`net/core/neighbour.c`). A MAC address learned on one link says nothing about
//! another: the same address may have an entry on each of several devices, with its own MAC
//! address, state and waiting packets. An ARP message teaches only the entries of the device
//! it arrived on ([`ArpCache::on_arp`] takes that device), a retry asks on its entry's device
//! ([`TimerEvent::Retry`] names it), and the packets an entry releases leave by that device
//! ([`Ready::ifindex`]). A device that goes away takes its entries with it
//! ([`ArpCache::flush_dev`]). The `N` slots are shared: eviction takes the oldest entry of
//! any device. Proxy prefixes ([`ArpCache::add_proxy`]) are the cache's, not a device's.
//!
//! [`ArpCache`] holds `N` entries of fixed size, each with up to `Q` parked packets of an
//! opaque caller type `P` (a kernel sk_buff handle in rvnet). Linux's neighbour state machine
//! is reduced to three states ([`State`]): `Incomplete` (a request is out), `Reachable`
//! (resolved and not older than the ageing time) and `Static` (configured: never aged, never
//! evicted). A failed resolution simply removes the entry, and an entry older than the ageing
//! time is as good as absent: [`ArpCache::lookup`] reports it missing, resolving it again
//! starts a new request, and [`ArpCache::tick`] removes it.
//!
//! The cache never reads a clock (time comes in as `now_ms`, milliseconds of any monotonic
//! clock; see [`elapsed`] for how wrap-around and a clock going backwards are read) and never
//! sends anything: each call returns what the caller must do, the caller does it after
//! dropping its lock. Nothing is lost on the way: every packet handed to the cache comes out
//! exactly once, either with a MAC address to be sent ([`Resolve::Send`], [`Ready`]) or to be
//! freed ([`Unresolved`], the `dropped` fields). Whatever leaves the cache names the entry's
//! device, so that the caller sends or answers on the right one.

use super::super::wire::{ArpOperation, ArpRepr, EthernetAddress, Ipv4Address};
use super::proxy::{ProxyError, ProxyTable};
use super::queue::Packets;
use core::fmt;

/// How long a resolved entry stays valid without being confirmed: 20 minutes.
pub const DEFAULT_AGEING_MS: u64 = 20 * 60 * 1000;
/// Interval between two requests for an unresolved address: 1 second.
pub const DEFAULT_RETRY_MS: u64 = 1000;
/// Requests re-sent after the first before a resolution fails.
pub const DEFAULT_MAX_RETRIES: u8 = 3;

/// Timing of the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpConfig {
    /// A `Reachable` entry not confirmed for this long is expired and removed by `tick`.
    pub ageing_ms: u64,
    /// An `Incomplete` entry sends a new request after this long without an answer.
    pub retry_ms: u64,
    /// Requests sent again after the first one. With the defaults the requests go out at
    /// 0, 1, 2 and 3 seconds and the resolution fails at 4 seconds.
    pub max_retries: u8,
}

impl Default for ArpConfig {
    fn default() -> Self {
        ArpConfig {
            ageing_ms: DEFAULT_AGEING_MS,
            retry_ms: DEFAULT_RETRY_MS,
            max_retries: DEFAULT_MAX_RETRIES,
        }
    }
}

/// Milliseconds from `then_ms` to `now_ms`, read as the kernel's `time_after` reads jiffies:
/// the difference is taken modulo 2^64, so a clock that wraps keeps counting up; a difference
/// of 2^63 or more means `then_ms` lies in the future (the clock went backwards) and counts
/// as 0 elapsed.
pub fn elapsed(now_ms: u64, then_ms: u64) -> u64 {
    let d = now_ms.wrapping_sub(then_ms);
    if d > u64::MAX >> 1 {
        0
    } else {
        d
    }
}

/// True for an address a neighbour can own: not 0.0.0.0, 255.255.255.255, multicast or
/// loopback.
pub fn is_neighbour_ip(ip: Ipv4Address) -> bool {
    !(ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback())
}

/// The state of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// A request went out; packets wait for the answer.
    Incomplete,
    /// Resolved. Valid while younger than the ageing time.
    Reachable,
    /// Configured by the administrator: never aged, never evicted, never changed by ARP.
    Static,
}

impl State {
    /// The flags `/proc/net/arp` shows: 0x0 incomplete, 0x2 complete (ATF_COM),
    /// 0x6 complete and permanent (ATF_COM | ATF_PERM).
    pub fn proc_flags(self) -> u32 {
        match self {
            State::Incomplete => 0x0,
            State::Reachable => 0x2,
            State::Static => 0x6,
        }
    }
}

impl fmt::Display for State {
    /// The names `ip neigh` uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Incomplete => "INCOMPLETE",
            State::Reachable => "REACHABLE",
            State::Static => "PERMANENT",
        })
    }
}

/// The answer of [`ArpCache::lookup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Resolved (a valid `Reachable` entry or a `Static` one): send to this MAC address.
    Found(EthernetAddress),
    /// A request is in flight: queue the packet with [`ArpCache::resolve_or_queue`].
    Pending,
    /// No entry, or an expired one: [`ArpCache::resolve_or_queue`] starts a resolution.
    Missing,
}

/// Why the cache refused an address, a packet or an ARP message. Each is a reason to count a
/// drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The MAC address is broadcast, multicast or all zeros.
    BadMac,
    /// The IPv4 address cannot be a neighbour's: unspecified, broadcast, multicast or
    /// loopback.
    BadIp,
    /// An ARP message asks about such an address.
    BadTarget,
    /// An ARP message claims one of our own addresses for another host (an address
    /// conflict, worth a log line).
    OurAddress,
    /// An ARP operation other than request and reply.
    BadOperation,
    /// Every entry is static: there is no room for another.
    Full,
}

/// Packets leaving the cache without a MAC address: their entry failed, was evicted or
/// removed. The caller answers their senders (EHOSTUNREACH) and frees them.
#[derive(Debug)]
#[must_use = "the packets must be freed"]
pub struct Unresolved<const Q: usize, P> {
    /// The device of the entry.
    pub ifindex: i32,
    /// The address that was being resolved.
    pub ip: Ipv4Address,
    /// Its packets, oldest first (empty for an entry that was resolved).
    pub packets: Packets<Q, P>,
}

/// Packets whose next hop has just been resolved: send each to `mac` by device `ifindex`,
/// oldest first.
#[derive(Debug)]
#[must_use = "the packets must be sent or freed"]
pub struct Ready<const Q: usize, P> {
    /// The device of the entry, which the packets leave by.
    pub ifindex: i32,
    /// The resolved address.
    pub ip: Ipv4Address,
    /// Its MAC address.
    pub mac: EthernetAddress,
    /// The packets that waited for it, oldest first.
    pub packets: Packets<Q, P>,
}

impl<const Q: usize, P> Ready<Q, P> {
    /// Hands each packet to `send` with the MAC address, oldest first.
    pub fn drain(self, mut send: impl FnMut(EthernetAddress, P)) {
        let mac = self.mac;
        self.packets.for_each(|p| send(mac, p));
    }
}

/// The answer of [`ArpCache::resolve_or_queue`].
#[derive(Debug)]
#[must_use = "the packet must be sent, or a request sent, or dropped packets freed"]
pub enum Resolve<const Q: usize, P> {
    /// Resolved: send the packet to this MAC address now, by the device asked about.
    Send(EthernetAddress, P),
    /// The address was unknown (or expired) on that device: an `Incomplete` entry now holds
    /// the packet, and the caller broadcasts a request for it on the device.
    Request {
        /// The entry that made room for this one, with its packets to free.
        evicted: Option<Unresolved<Q, P>>,
        /// The packet itself when `Q` is 0 and nothing can wait.
        dropped: Option<P>,
    },
    /// A request is already out; the packet waits with the others.
    Queued {
        /// The oldest waiting packet, pushed out of a full queue: free it and count it.
        dropped: Option<P>,
    },
    /// The packet was not taken: free it and count it.
    Refused {
        /// The packet.
        packet: P,
        /// Why: [`Refusal::BadIp`] or [`Refusal::Full`].
        reason: Refusal,
    },
}

/// Whom an ARP request is answered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    /// One of our own addresses (including an RFC 5227 probe for one of them).
    Local,
    /// An address inside a proxy prefix.
    Proxy,
}

/// What an ARP message did to the sender's binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Learned {
    /// Nothing: the sender is not cached on the receiving device and the message is not for
    /// us.
    Nothing,
    /// The sender's entry was confirmed with the same MAC address.
    Refreshed,
    /// The sender's entry now has a new MAC address (the old one is given for a log line).
    Changed {
        /// The MAC address it had.
        old: EthernetAddress,
    },
    /// The sender's `Incomplete` entry is resolved; its packets are in [`ArpAction::ready`].
    Resolved,
    /// The message was for us, so the sender was added ("the target learns the sender").
    Created,
    /// The sender has a static entry, which ARP does not change.
    Static,
    /// The sender should have been added, but every entry is static.
    NoRoom,
}

/// What the caller does after an accepted ARP message.
#[derive(Debug)]
#[must_use = "a reply may be due and packets may have been released"]
pub struct ArpAction<const Q: usize, P> {
    /// Answer the request with our MAC address ([`ArpRepr::reply`] builds the answer).
    pub reply: Option<ReplyKind>,
    /// What happened to the sender's binding.
    pub learned: Learned,
    /// Packets that waited for the sender: send them.
    pub ready: Option<Ready<Q, P>>,
    /// The entry that made room for the sender, with its packets to free.
    pub evicted: Option<Unresolved<Q, P>>,
}

impl<const Q: usize, P> ArpAction<Q, P> {
    /// The reply to send for `request`, if one is due, with `our_mac` as the answer.
    pub fn reply_repr(&self, request: &ArpRepr, our_mac: EthernetAddress) -> Option<ArpRepr> {
        self.reply.and_then(|_| request.reply(our_mac))
    }
}

/// What [`ArpCache::add_static`] released.
#[derive(Debug)]
#[must_use = "packets may have been released"]
pub struct Released<const Q: usize, P> {
    /// The address had an `Incomplete` entry: its packets can now be sent.
    pub ready: Option<Ready<Q, P>>,
    /// The entry that made room for the static one, with its packets to free.
    pub evicted: Option<Unresolved<Q, P>>,
}

/// Work that a timer found due.
#[derive(Debug)]
#[must_use = "a request or packets to free"]
pub enum TimerEvent<const Q: usize, P> {
    /// Broadcast another request for `ip` on device `ifindex`, the entry's.
    Retry {
        /// The device of the entry: the request goes out there.
        ifindex: i32,
        /// The address asked for.
        ip: Ipv4Address,
    },
    /// The last request went unanswered: the entry is gone, its packets are the caller's to
    /// answer with EHOSTUNREACH and free.
    Failed(Unresolved<Q, P>),
    /// This resolved entry was not confirmed within the ageing time and is gone.
    AgedOut {
        /// The device of the entry.
        ifindex: i32,
        /// The neighbour's address.
        ip: Ipv4Address,
    },
}

/// One entry, as `/proc/net/arp` or `ip neigh` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryInfo {
    /// The device the neighbour is on (`/proc/net/arp`'s "Device").
    pub ifindex: i32,
    /// The neighbour's address.
    pub ip: Ipv4Address,
    /// Its MAC address (00:00:00:00:00:00 while incomplete).
    pub mac: EthernetAddress,
    /// The state.
    pub state: State,
    /// Milliseconds since the entry was created, confirmed or last sent a request.
    pub age_ms: u64,
    /// Requests re-sent so far (incomplete entries).
    pub retries: u8,
    /// Packets waiting.
    pub queued: usize,
}

/// Event counts, all wrapping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArpCounters {
    /// Requests the cache asked for: new resolutions and retries.
    pub requests_sent: u64,
    /// Replies the cache asked for: local, proxy and probe answers.
    pub replies_sent: u64,
    /// Bindings learned from ARP: created, resolved or changed.
    pub learned: u64,
    /// Entries pushed out to make room.
    pub evicted: u64,
    /// Resolved entries removed at the end of their ageing time.
    pub aged_out: u64,
    /// Resolutions that failed after the last retry.
    pub failed_resolutions: u64,
    /// Packets put in a queue to wait for a resolution.
    pub queued: u64,
    /// Packets pushed out of a full queue.
    pub queue_drops: u64,
    /// Waiting packets handed back unresolved (failure, eviction, removal, flush).
    pub unresolved_drops: u64,
    /// ARP messages refused (any [`Refusal`] from [`ArpCache::on_arp`]).
    pub bad_sender_drops: u64,
}

impl ArpCounters {
    /// All zero.
    pub const ZERO: ArpCounters = ArpCounters {
        requests_sent: 0,
        replies_sent: 0,
        learned: 0,
        evicted: 0,
        aged_out: 0,
        failed_resolutions: 0,
        queued: 0,
        queue_drops: 0,
        unresolved_drops: 0,
        bad_sender_drops: 0,
    };
}

fn bump(c: &mut u64) {
    *c = c.wrapping_add(1);
}

fn add(c: &mut u64, n: usize) {
    *c = c.wrapping_add(n as u64);
}

struct Entry<const Q: usize, P> {
    ifindex: i32,
    ip: Ipv4Address,
    mac: EthernetAddress,
    state: State,
    /// When the entry was created or confirmed (`Reachable`, `Static`) or last sent a
    /// request (`Incomplete`).
    updated_ms: u64,
    /// Requests re-sent since the first (`Incomplete`).
    retries: u8,
    /// Waiting packets; empty unless `Incomplete`.
    queue: Packets<Q, P>,
}

impl<const Q: usize, P> Entry<Q, P> {
    fn new(ifindex: i32, ip: Ipv4Address, mac: EthernetAddress, state: State, now_ms: u64) -> Self {
        Entry {
            ifindex,
            ip,
            mac,
            state,
            updated_ms: now_ms,
            retries: 0,
            queue: Packets::new(),
        }
    }

    fn info(&self, now_ms: u64) -> EntryInfo {
        EntryInfo {
            ifindex: self.ifindex,
            ip: self.ip,
            mac: self.mac,
            state: self.state,
            age_ms: elapsed(now_ms, self.updated_ms),
            retries: self.retries,
            queued: self.queue.len(),
        }
    }

    /// The MAC address, if the entry is resolved and valid at `now_ms`.
    fn valid_mac(&self, now_ms: u64, ageing_ms: u64) -> Option<EthernetAddress> {
        match self.state {
            State::Static => Some(self.mac),
            State::Reachable if elapsed(now_ms, self.updated_ms) < ageing_ms => Some(self.mac),
            _ => None,
        }
    }

    /// True if this is the entry of `ip` on device `ifindex`.
    fn is(&self, ifindex: i32, ip: Ipv4Address) -> bool {
        self.ifindex == ifindex && self.ip == ip
    }

    fn unresolved(self) -> Unresolved<Q, P> {
        Unresolved {
            ifindex: self.ifindex,
            ip: self.ip,
            packets: self.queue,
        }
    }
}

/// A slot claimed for a new entry, and the entry evicted from it.
type Claimed<'a, const Q: usize, P> = (&'a mut Option<Entry<Q, P>>, Option<Unresolved<Q, P>>);

fn find_in<const Q: usize, P>(
    entries: &mut [Option<Entry<Q, P>>],
    ifindex: i32,
    ip: Ipv4Address,
) -> Option<&mut Entry<Q, P>> {
    entries.iter_mut().flatten().find(|e| e.is(ifindex, ip))
}

/// An ARP cache of `N` entries, each holding up to `Q` packets of type `P` while it resolves.
///
/// Entries are keyed by device and address (see the module's documentation); the `N` slots
/// are shared by every device. Lookups are a linear scan, which suits the few hundred
/// neighbours of a host's links. The cache is one value of roughly
/// `N * (40 + Q * size_of::<Option<P>>())` bytes: for a large `N`, keep it in allocated memory
/// rather than on a kernel stack.
///
/// Every `P` given to the cache comes back exactly once: in [`Resolve::Send`],
/// [`Ready::packets`] (to send), or in a `dropped` field, [`Resolve::Refused`] or
/// [`Unresolved::packets`] (to free).
pub struct ArpCache<const N: usize, const Q: usize, P> {
    config: ArpConfig,
    entries: [Option<Entry<Q, P>>; N],
    proxy: ProxyTable,
    counters: ArpCounters,
}

impl<const N: usize, const Q: usize, P> Default for ArpCache<N, Q, P> {
    fn default() -> Self {
        Self::new(ArpConfig::default())
    }
}

impl<const N: usize, const Q: usize, P> ArpCache<N, Q, P> {
    /// An empty cache. A `const fn`, so that a kernel can copy it into allocated memory
    /// from its constant image instead of building it on a small stack.
    pub const fn new(config: ArpConfig) -> Self {
        ArpCache {
            config,
            entries: [const { None }; N],
            proxy: ProxyTable::new(),
            counters: ArpCounters::ZERO,
        }
    }

    /// The timing in use.
    pub fn config(&self) -> ArpConfig {
        self.config
    }

    /// Changes the timing; existing entries are judged by the new values from now on.
    pub fn set_config(&mut self, config: ArpConfig) {
        self.config = config;
    }

    /// The event counts.
    pub fn counters(&self) -> &ArpCounters {
        &self.counters
    }

    /// Number of entries the cache holds at most (`N`).
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Number of entries, expired ones included until `tick` removes them.
    pub fn len(&self) -> usize {
        self.entries.iter().flatten().count()
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn find(&self, ifindex: i32, ip: Ipv4Address) -> Option<&Entry<Q, P>> {
        self.entries.iter().flatten().find(|e| e.is(ifindex, ip))
    }

    /// Where `ip` stands on device `ifindex` at `now_ms`.
    pub fn lookup(&self, ifindex: i32, ip: Ipv4Address, now_ms: u64) -> Lookup {
        match self.find(ifindex, ip) {
            None => Lookup::Missing,
            Some(e) if e.state == State::Incomplete => Lookup::Pending,
            Some(e) => match e.valid_mac(now_ms, self.config.ageing_ms) {
                Some(mac) => Lookup::Found(mac),
                None => Lookup::Missing,
            },
        }
    }

    /// The entry of `ip` on device `ifindex`, as it stands at `now_ms`.
    pub fn entry(&self, ifindex: i32, ip: Ipv4Address, now_ms: u64) -> Option<EntryInfo> {
        self.find(ifindex, ip).map(|e| e.info(now_ms))
    }

    /// Every entry of every device, in slot order, for `/proc` display.
    pub fn entries(&self, now_ms: u64) -> impl Iterator<Item = EntryInfo> + '_ {
        self.entries.iter().flatten().map(move |e| e.info(now_ms))
    }

    /// The device and address of a resolved (`Reachable`, possibly expired, or `Static`)
    /// entry with MAC address `mac`; the first in slot order when several share it (a router
    /// proxying for others, or a host on two links with one card).
    pub fn reverse(&self, mac: EthernetAddress) -> Option<(i32, Ipv4Address)> {
        self.entries
            .iter()
            .flatten()
            .find(|e| e.state != State::Incomplete && e.mac == mac)
            .map(|e| (e.ifindex, e.ip))
    }

    /// A free slot for a new entry: an empty one, else the one of the oldest non-static entry
    /// (by last update), whose packets come back to be freed.
    fn claim_slot(&mut self, now_ms: u64) -> Result<Claimed<'_, Q, P>, Refusal> {
        let index = match self.entries.iter().position(Option::is_none) {
            Some(i) => i,
            None => self
                .entries
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.as_ref().map(|e| (i, e)))
                .filter(|(_, e)| e.state != State::Static)
                // max_by_key keeps the last of equals; reversing makes ties go to the lowest slot.
                .rev()
                .max_by_key(|(_, e)| elapsed(now_ms, e.updated_ms))
                .map(|(i, _)| i)
                .ok_or(Refusal::Full)?,
        };
        let slot = self.entries.get_mut(index).ok_or(Refusal::Full)?;
        let evicted = slot.take().map(Entry::unresolved);
        if let Some(ev) = &evicted {
            bump(&mut self.counters.evicted);
            add(&mut self.counters.unresolved_drops, ev.packets.len());
        }
        Ok((slot, evicted))
    }

    /// Finds the MAC address for a packet to `ip` (the next hop) on device `ifindex` (the one
    /// the packet leaves by), or parks the packet until it is known. Only that device's entry
    /// counts: an address known on another device is unknown here. See [`Resolve`] for what
    /// the caller then does.
    pub fn resolve_or_queue(
        &mut self,
        ifindex: i32,
        ip: Ipv4Address,
        packet: P,
        now_ms: u64,
    ) -> Resolve<Q, P> {
        if !is_neighbour_ip(ip) {
            return Resolve::Refused {
                packet,
                reason: Refusal::BadIp,
            };
        }
        let ageing_ms = self.config.ageing_ms;
        if let Some(e) = find_in(&mut self.entries, ifindex, ip) {
            if let Some(mac) = e.valid_mac(now_ms, ageing_ms) {
                return Resolve::Send(mac, packet);
            }
            let dropped = e.queue.push(packet);
            bump(&mut self.counters.queued);
            if dropped.is_some() {
                bump(&mut self.counters.queue_drops);
            }
            if e.state == State::Incomplete {
                return Resolve::Queued { dropped };
            }
            // An expired entry resolves again in place (its queue was empty).
            e.state = State::Incomplete;
            e.mac = EthernetAddress::ZERO;
            e.retries = 0;
            e.updated_ms = now_ms;
            bump(&mut self.counters.requests_sent);
            return Resolve::Request {
                evicted: None,
                dropped,
            };
        }
        let (slot, evicted) = match self.claim_slot(now_ms) {
            Ok(s) => s,
            Err(reason) => return Resolve::Refused { packet, reason },
        };
        let mut e = Entry::new(
            ifindex,
            ip,
            EthernetAddress::ZERO,
            State::Incomplete,
            now_ms,
        );
        let dropped = e.queue.push(packet);
        *slot = Some(e);
        bump(&mut self.counters.queued);
        if dropped.is_some() {
            bump(&mut self.counters.queue_drops);
        }
        bump(&mut self.counters.requests_sent);
        Resolve::Request { evicted, dropped }
    }

    /// Processes an ARP message received on device `ifindex` with RFC 826's algorithm.
    ///
    /// Only that device's entries are read and changed: an entry of the sender's address on
    /// another device is neither confirmed nor resolved, and a sender learned is learned on
    /// `ifindex`. `is_ours` tells whether an address is one of this host's. In order:
    /// 1. Messages with a non-unicast sender MAC, a target that no host owns, or a sender
    ///    address that no host owns (or that is ours: a conflict) are refused; nothing
    ///    changes. The exception is an RFC 5227 probe (sender 0.0.0.0) asking for one of our
    ///    addresses: it is answered, and nothing is learned.
    /// 2. If the sender is cached on `ifindex`, its MAC address is updated and the entry is
    ///    `Reachable` again (RFC 826's merge flag); an `Incomplete` entry releases its packets
    ///    in [`ArpAction::ready`]. Static entries are left alone.
    /// 3. If the message is for us (the target is ours, or a request we answer as a proxy)
    ///    and the sender was not cached on `ifindex`, it is added there, evicting the oldest
    ///    entry (of any device) when full. A gratuitous ARP (sender = target) is never for
    ///    us, so it only updates.
    /// 4. A request for one of our addresses, or for an address inside a proxy prefix other
    ///    than the sender's own, is answered with our MAC address.
    ///
    /// RFC 826 also learns from an unsolicited reply addressed to us; Linux by default
    /// (`arp_accept` = 0) does not, which this simplification does not follow.
    pub fn on_arp(
        &mut self,
        ifindex: i32,
        repr: &ArpRepr,
        is_ours: impl Fn(Ipv4Address) -> bool,
        now_ms: u64,
    ) -> Result<ArpAction<Q, P>, Refusal> {
        let checked = self.check_arp(repr, &is_ours);
        match checked {
            Err(reason) => {
                bump(&mut self.counters.bad_sender_drops);
                Err(reason)
            }
            Ok(None) => {
                // A probe for one of our addresses.
                bump(&mut self.counters.replies_sent);
                Ok(ArpAction {
                    reply: Some(ReplyKind::Local),
                    learned: Learned::Nothing,
                    ready: None,
                    evicted: None,
                })
            }
            Ok(Some(request)) => Ok(self.merge(ifindex, repr, request, is_ours, now_ms)),
        }
    }

    /// Step 1 of [`Self::on_arp`]: `Ok(Some(is_request))` for a message to process,
    /// `Ok(None)` for a probe to answer.
    fn check_arp(
        &self,
        repr: &ArpRepr,
        is_ours: &impl Fn(Ipv4Address) -> bool,
    ) -> Result<Option<bool>, Refusal> {
        let request = match repr.operation {
            ArpOperation::Request => true,
            ArpOperation::Reply => false,
            ArpOperation::Unknown(_) => return Err(Refusal::BadOperation),
        };
        if !repr.source_hardware_addr.is_unicast() {
            return Err(Refusal::BadMac);
        }
        let (sip, tip) = (repr.source_protocol_addr, repr.target_protocol_addr);
        if !is_neighbour_ip(tip) {
            return Err(Refusal::BadTarget);
        }
        if sip.is_unspecified() {
            return if request && is_ours(tip) {
                Ok(None)
            } else {
                Err(Refusal::BadIp)
            };
        }
        if !is_neighbour_ip(sip) {
            return Err(Refusal::BadIp);
        }
        if is_ours(sip) {
            return Err(Refusal::OurAddress);
        }
        Ok(Some(request))
    }

    /// Steps 2 to 4 of [`Self::on_arp`], for a message that passed the checks.
    fn merge(
        &mut self,
        ifindex: i32,
        repr: &ArpRepr,
        request: bool,
        is_ours: impl Fn(Ipv4Address) -> bool,
        now_ms: u64,
    ) -> ArpAction<Q, P> {
        let (sip, sha, tip) = (
            repr.source_protocol_addr,
            repr.source_hardware_addr,
            repr.target_protocol_addr,
        );
        let mut ready = None;
        let mut learned = Learned::Nothing;
        let merged = match find_in(&mut self.entries, ifindex, sip) {
            None => false,
            Some(e) => {
                learned = match e.state {
                    State::Static => Learned::Static,
                    State::Incomplete => {
                        ready = Some(Ready {
                            ifindex,
                            ip: sip,
                            mac: sha,
                            packets: e.queue.take_all(),
                        });
                        Learned::Resolved
                    }
                    State::Reachable if e.mac == sha => Learned::Refreshed,
                    State::Reachable => Learned::Changed { old: e.mac },
                };
                if e.state != State::Static {
                    e.state = State::Reachable;
                    e.mac = sha;
                    e.updated_ms = now_ms;
                    e.retries = 0;
                }
                true
            }
        };
        let reply = if !request {
            None
        } else if is_ours(tip) {
            Some(ReplyKind::Local)
        } else if tip != sip && self.proxy.contains(tip) {
            Some(ReplyKind::Proxy)
        } else {
            None
        };
        let mut evicted = None;
        if !merged && (reply.is_some() || is_ours(tip)) {
            match self.claim_slot(now_ms) {
                Ok((slot, ev)) => {
                    *slot = Some(Entry::new(ifindex, sip, sha, State::Reachable, now_ms));
                    evicted = ev;
                    learned = Learned::Created;
                }
                Err(_) => learned = Learned::NoRoom,
            }
        }
        if matches!(
            learned,
            Learned::Created | Learned::Resolved | Learned::Changed { .. }
        ) {
            bump(&mut self.counters.learned);
        }
        if reply.is_some() {
            bump(&mut self.counters.replies_sent);
        }
        ArpAction {
            reply,
            learned,
            ready,
            evicted,
        }
    }

    /// The next piece of timer work due at `now_ms`, or `None` when there is none: call it
    /// until `None` (the caller may drop its lock between calls). Each event either removes
    /// an entry or counts a retry, so the loop ends.
    ///
    /// - An `Incomplete` entry whose last request is `retry_ms` old sends another on its
    ///   device ([`TimerEvent::Retry`]) until it has re-sent `max_retries`; one more `retry_ms`
    ///   without an answer and it is removed ([`TimerEvent::Failed`]).
    /// - A `Reachable` entry not confirmed for `ageing_ms` is removed
    ///   ([`TimerEvent::AgedOut`]).
    ///
    /// An entry stamped in the future (the clock went backwards) is restamped `now_ms`, so
    /// that it lives at most one more period.
    pub fn poll_timers(&mut self, now_ms: u64) -> Option<TimerEvent<Q, P>> {
        let cfg = self.config;
        for slot in self.entries.iter_mut() {
            let Some(e) = slot else {
                continue;
            };
            if now_ms.wrapping_sub(e.updated_ms) > u64::MAX >> 1 {
                e.updated_ms = now_ms;
            }
            let age = elapsed(now_ms, e.updated_ms);
            match e.state {
                State::Static => {}
                State::Reachable => {
                    if age >= cfg.ageing_ms {
                        let (ifindex, ip) = (e.ifindex, e.ip);
                        *slot = None;
                        bump(&mut self.counters.aged_out);
                        return Some(TimerEvent::AgedOut { ifindex, ip });
                    }
                }
                State::Incomplete => {
                    if age < cfg.retry_ms {
                        continue;
                    }
                    if e.retries < cfg.max_retries {
                        e.retries = e.retries.saturating_add(1);
                        e.updated_ms = now_ms;
                        bump(&mut self.counters.requests_sent);
                        return Some(TimerEvent::Retry {
                            ifindex: e.ifindex,
                            ip: e.ip,
                        });
                    }
                    if let Some(old) = slot.take() {
                        bump(&mut self.counters.failed_resolutions);
                        add(&mut self.counters.unresolved_drops, old.queue.len());
                        return Some(TimerEvent::Failed(old.unresolved()));
                    }
                }
            }
        }
        None
    }

    /// Does all timer work due at `now_ms`, handing each event to `f` (see
    /// [`Self::poll_timers`]).
    pub fn tick(&mut self, now_ms: u64, mut f: impl FnMut(TimerEvent<Q, P>)) {
        while let Some(ev) = self.poll_timers(now_ms) {
            f(ev);
        }
    }

    /// Milliseconds from `now_ms` until timer work is next due (0: now), or `None` when no
    /// entry can ever need any (only static entries, or none): when to arm the timer.
    pub fn next_timer_in(&self, now_ms: u64) -> Option<u64> {
        let cfg = self.config;
        self.entries
            .iter()
            .flatten()
            .filter_map(|e| {
                let period = match e.state {
                    State::Static => return None,
                    State::Reachable => cfg.ageing_ms,
                    State::Incomplete => cfg.retry_ms,
                };
                Some(period.saturating_sub(elapsed(now_ms, e.updated_ms)))
            })
            .min()
    }

    /// Adds or replaces the static entry of `ip` on device `ifindex` (`ip neigh add … dev D
    /// nud permanent`). An `Incomplete` entry for `ip` on that device becomes static and
    /// releases its packets (entries on other devices are left alone); when the cache is
    /// full, the oldest non-static entry makes room. Refused for a non-unicast MAC address,
    /// an address no neighbour can own, or a cache full of static entries.
    pub fn add_static(
        &mut self,
        ifindex: i32,
        ip: Ipv4Address,
        mac: EthernetAddress,
        now_ms: u64,
    ) -> Result<Released<Q, P>, Refusal> {
        if !is_neighbour_ip(ip) {
            return Err(Refusal::BadIp);
        }
        if !mac.is_unicast() {
            return Err(Refusal::BadMac);
        }
        if let Some(e) = find_in(&mut self.entries, ifindex, ip) {
            let ready = (e.state == State::Incomplete).then(|| Ready {
                ifindex,
                ip,
                mac,
                packets: e.queue.take_all(),
            });
            e.state = State::Static;
            e.mac = mac;
            e.updated_ms = now_ms;
            e.retries = 0;
            return Ok(Released {
                ready,
                evicted: None,
            });
        }
        let (slot, evicted) = self.claim_slot(now_ms)?;
        *slot = Some(Entry::new(ifindex, ip, mac, State::Static, now_ms));
        Ok(Released {
            ready: None,
            evicted,
        })
    }

    /// Removes the entry of `ip` on device `ifindex`, whatever its state; its waiting packets
    /// come back. Entries of `ip` on other devices stay.
    pub fn remove(&mut self, ifindex: i32, ip: Ipv4Address) -> Option<Unresolved<Q, P>> {
        let slot = self
            .entries
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|e| e.is(ifindex, ip)))?;
        let old = slot.take()?.unresolved();
        add(&mut self.counters.unresolved_drops, old.packets.len());
        Some(old)
    }

    /// Removes every entry of every device (static ones only if `include_static`), handing
    /// each to `f` with its waiting packets: `ip neigh flush all`, or the stack going away.
    pub fn flush(&mut self, include_static: bool, f: impl FnMut(Unresolved<Q, P>)) {
        self.flush_where(|e| include_static || e.state != State::Static, f);
    }

    /// Removes every entry of device `ifindex` (static ones only if `include_static`),
    /// handing each to `f` with its waiting packets: `ip neigh flush dev D`, or the device
    /// going down or away, as Linux's `neigh_ifdown` forgets a device's neighbours. Entries
    /// of other devices stay.
    pub fn flush_dev(
        &mut self,
        ifindex: i32,
        include_static: bool,
        f: impl FnMut(Unresolved<Q, P>),
    ) {
        self.flush_where(
            |e| e.ifindex == ifindex && (include_static || e.state != State::Static),
            f,
        );
    }

    /// Removes the entries `which` selects, handing each to `f`.
    fn flush_where(
        &mut self,
        which: impl Fn(&Entry<Q, P>) -> bool,
        mut f: impl FnMut(Unresolved<Q, P>),
    ) {
        for slot in self.entries.iter_mut() {
            if !slot.as_ref().is_some_and(&which) {
                continue;
            }
            if let Some(old) = slot.take() {
                add(&mut self.counters.unresolved_drops, old.queue.len());
                f(old.unresolved());
            }
        }
    }

    /// Answers requests for addresses inside `prefix/len` with our MAC address.
    pub fn add_proxy(&mut self, prefix: Ipv4Address, len: u8) -> Result<(), ProxyError> {
        self.proxy.add(prefix, len)
    }

    /// Stops answering for `prefix/len`; false if it was not configured.
    pub fn remove_proxy(&mut self, prefix: Ipv4Address, len: u8) -> bool {
        self.proxy.remove(prefix, len)
    }

    /// The proxy prefixes.
    pub fn proxy(&self) -> &ProxyTable {
        &self.proxy
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Rng;
    use super::*;
    use std::vec::Vec;

    type Cache = ArpCache<4, 3, u32>;

    const US: Ipv4Address = Ipv4Address::new(10, 0, 0, 100);
    /// The device of most tests, and a second one.
    const IF: i32 = 2;
    const IF2: i32 = 3;
    const AGE: u64 = DEFAULT_AGEING_MS;

    fn ip(d: u8) -> Ipv4Address {
        Ipv4Address::new(10, 0, 0, d)
    }

    fn mac(d: u8) -> EthernetAddress {
        EthernetAddress([0x02, 0, 0, 0, 0, d])
    }

    fn ours(a: Ipv4Address) -> bool {
        a == US
    }

    /// "Who has `target`? Tell 10.0.0.`from`" from MAC ..:`from`.
    fn request(from: u8, target: Ipv4Address) -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: mac(from),
            source_protocol_addr: ip(from),
            target_hardware_addr: EthernetAddress::ZERO,
            target_protocol_addr: target,
        }
    }

    /// "10.0.0.`from` is at ..:`from`", sent to us.
    fn reply(from: u8) -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Reply,
            source_hardware_addr: mac(from),
            source_protocol_addr: ip(from),
            target_hardware_addr: mac(100),
            target_protocol_addr: US,
        }
    }

    fn gratuitous(from: u8, hw: EthernetAddress) -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: hw,
            source_protocol_addr: ip(from),
            target_hardware_addr: EthernetAddress::ZERO,
            target_protocol_addr: ip(from),
        }
    }

    fn ids<const Q: usize>(p: Packets<Q, u32>) -> Vec<u32> {
        p.collect()
    }

    /// 10.0.0.`d` asks us for our address at `now`.
    fn ask(c: &mut Cache, d: u8, now: u64) -> ArpAction<3, u32> {
        c.on_arp(IF, &request(d, US), ours, now).unwrap()
    }

    /// Learns 10.0.0.`d` at `now` from a request it sends to us; nothing is evicted.
    fn learn(c: &mut Cache, d: u8, now: u64) {
        let a = ask(c, d, now);
        assert!(a.evicted.is_none() && a.ready.is_none());
        assert!(matches!(
            a.learned,
            Learned::Created | Learned::Refreshed | Learned::Changed { .. }
        ));
    }

    fn timer_events(c: &mut Cache, now: u64) -> Vec<TimerEvent<3, u32>> {
        let mut v = Vec::new();
        c.tick(now, |e| v.push(e));
        v
    }

    #[test]
    fn defaults() {
        let cfg = ArpConfig::default();
        assert_eq!(cfg.ageing_ms, 1_200_000);
        assert_eq!(cfg.retry_ms, 1000);
        assert_eq!(cfg.max_retries, 3);
        let c = Cache::default();
        assert_eq!(c.config(), cfg);
        assert!(c.is_empty());
        assert_eq!(c.capacity(), 4);
        assert_eq!(c.next_timer_in(0), None);
    }

    #[test]
    fn target_learns_the_sender_of_a_request() {
        let mut c = Cache::default();
        let req = request(2, US);
        let a = c.on_arp(IF, &req, ours, 500).unwrap();
        assert_eq!(a.reply, Some(ReplyKind::Local));
        assert_eq!(a.learned, Learned::Created);
        assert!(a.ready.is_none() && a.evicted.is_none());
        let r = a.reply_repr(&req, mac(100)).unwrap();
        assert_eq!(r.operation, ArpOperation::Reply);
        assert_eq!(r.source_protocol_addr, US);
        assert_eq!(r.source_hardware_addr, mac(100));
        assert_eq!(r.target_protocol_addr, ip(2));
        assert_eq!(r.target_hardware_addr, mac(2));
        assert_eq!(c.lookup(IF, ip(2), 500), Lookup::Found(mac(2)));
        // So the answer to our own traffic needs no request.
        assert!(
            matches!(c.resolve_or_queue(IF, ip(2), 7, 600), Resolve::Send(m, 7) if m == mac(2))
        );
        let info = c.entry(IF, ip(2), 600).unwrap();
        assert_eq!(
            (info.state, info.age_ms, info.queued),
            (State::Reachable, 100, 0)
        );
        assert_eq!(c.counters().learned, 1);
        assert_eq!(c.counters().replies_sent, 1);
        assert_eq!(c.counters().requests_sent, 0);
    }

    #[test]
    fn request_for_someone_else_teaches_nothing() {
        let mut c = Cache::default();
        let a = c.on_arp(IF, &request(2, ip(3)), ours, 0).unwrap();
        assert_eq!(a.reply, None);
        assert_eq!(a.learned, Learned::Nothing);
        assert!(c.is_empty());
        assert_eq!(a.reply_repr(&request(2, ip(3)), mac(100)), None);
        // But a cached sender is updated whatever the target (the merge flag).
        learn(&mut c, 2, 0);
        let a = c.on_arp(IF, &request(2, ip(3)), ours, 50).unwrap();
        assert_eq!((a.reply, a.learned), (None, Learned::Refreshed));
        assert_eq!(c.entry(IF, ip(2), 50).unwrap().age_ms, 0);
    }

    #[test]
    fn reply_releases_queued_packets_in_order() {
        let mut c = Cache::default();
        assert_eq!(c.lookup(IF, ip(2), 0), Lookup::Missing);
        assert!(matches!(
            c.resolve_or_queue(IF, ip(2), 1, 0),
            Resolve::Request {
                evicted: None,
                dropped: None
            }
        ));
        assert_eq!(c.lookup(IF, ip(2), 0), Lookup::Pending);
        for p in [2, 3] {
            assert!(matches!(
                c.resolve_or_queue(IF, ip(2), p, 10),
                Resolve::Queued { dropped: None }
            ));
        }
        let info = c.entry(IF, ip(2), 10).unwrap();
        assert_eq!(
            (info.state, info.mac, info.queued),
            (State::Incomplete, EthernetAddress::ZERO, 3)
        );
        let a = c.on_arp(IF, &reply(2), ours, 20).unwrap();
        assert_eq!(a.reply, None);
        assert_eq!(a.learned, Learned::Resolved);
        let ready = a.ready.unwrap();
        assert_eq!((ready.ip, ready.mac), (ip(2), mac(2)));
        let mut sent = Vec::new();
        ready.drain(|m, p| sent.push((m, p)));
        assert_eq!(sent, [(mac(2), 1), (mac(2), 2), (mac(2), 3)]);
        assert_eq!(c.lookup(IF, ip(2), 20), Lookup::Found(mac(2)));
        assert_eq!(c.entry(IF, ip(2), 20).unwrap().queued, 0);
        let k = c.counters();
        assert_eq!(
            (k.requests_sent, k.queued, k.learned, k.queue_drops),
            (1, 3, 1, 0)
        );
        // A second reply only refreshes.
        let a = c.on_arp(IF, &reply(2), ours, 30).unwrap();
        assert_eq!(a.learned, Learned::Refreshed);
        assert!(a.ready.is_none());
    }

    #[test]
    fn full_queue_drops_the_oldest() {
        let mut c = Cache::default();
        let _ = c.resolve_or_queue(IF, ip(2), 1, 0);
        let _ = c.resolve_or_queue(IF, ip(2), 2, 0);
        let _ = c.resolve_or_queue(IF, ip(2), 3, 0);
        assert!(matches!(
            c.resolve_or_queue(IF, ip(2), 4, 0),
            Resolve::Queued { dropped: Some(1) }
        ));
        assert!(matches!(
            c.resolve_or_queue(IF, ip(2), 5, 0),
            Resolve::Queued { dropped: Some(2) }
        ));
        assert_eq!(c.counters().queued, 5);
        assert_eq!(c.counters().queue_drops, 2);
        let ready = c.on_arp(IF, &reply(2), ours, 1).unwrap().ready.unwrap();
        assert_eq!(ids(ready.packets), [3, 4, 5]);
    }

    #[test]
    fn zero_length_queue_hands_packets_straight_back() {
        let mut c: ArpCache<2, 0, u32> = ArpCache::default();
        assert!(matches!(
            c.resolve_or_queue(IF, ip(2), 1, 0),
            Resolve::Request {
                evicted: None,
                dropped: Some(1)
            }
        ));
        assert!(matches!(
            c.resolve_or_queue(IF, ip(2), 2, 0),
            Resolve::Queued { dropped: Some(2) }
        ));
        assert_eq!(c.lookup(IF, ip(2), 0), Lookup::Pending);
        let a = c.on_arp(IF, &reply(2), ours, 0).unwrap();
        assert!(a.ready.unwrap().packets.is_empty());
    }

    #[test]
    fn zero_capacity_cache_refuses() {
        let mut c: ArpCache<0, 3, u32> = ArpCache::default();
        assert!(matches!(
            c.resolve_or_queue(IF, ip(2), 1, 0),
            Resolve::Refused {
                packet: 1,
                reason: Refusal::Full
            }
        ));
        let a = c.on_arp(IF, &request(2, US), ours, 0).unwrap();
        assert_eq!(
            (a.reply, a.learned),
            (Some(ReplyKind::Local), Learned::NoRoom)
        );
        assert_eq!(
            c.add_static(IF, ip(3), mac(3), 0).err(),
            Some(Refusal::Full)
        );
        assert_eq!(c.poll_timers(0).map(|_| ()), None);
    }

    #[test]
    fn full_cache_evicts_the_oldest_dynamic_entry() {
        let mut c = Cache::default();
        let _ = c.add_static(IF, ip(10), mac(10), 0).unwrap();
        learn(&mut c, 2, 10);
        learn(&mut c, 3, 20);
        learn(&mut c, 4, 30);
        learn(&mut c, 2, 40); // .2 confirmed: now .3 is the oldest
        assert_eq!(c.len(), 4);
        let a = ask(&mut c, 5, 50);
        assert_eq!(a.learned, Learned::Created);
        let ev = a.evicted.unwrap();
        assert_eq!(ev.ip, ip(3));
        assert!(ev.packets.is_empty());
        assert_eq!(c.lookup(IF, ip(3), 50), Lookup::Missing);
        for d in [10, 2, 4, 5] {
            assert!(matches!(c.lookup(IF, ip(d), 50), Lookup::Found(_)), "{d}");
        }
        // A resolution needs room too: .4 (30) goes, and so does an incomplete entry's queue.
        let Resolve::Request {
            evicted: Some(ev),
            dropped: None,
        } = c.resolve_or_queue(IF, ip(6), 1, 60)
        else {
            panic!("expected a request with an eviction")
        };
        assert_eq!(ev.ip, ip(4));
        let _ = c.resolve_or_queue(IF, ip(6), 2, 60);
        assert_eq!(ask(&mut c, 7, 70).evicted.unwrap().ip, ip(2));
        assert_eq!(ask(&mut c, 8, 80).evicted.unwrap().ip, ip(5));
        let a = ask(&mut c, 9, 90); // evicts the incomplete .6 (60) with its packets
        let ev = a.evicted.unwrap();
        assert_eq!(ev.ip, ip(6));
        assert_eq!(ids(ev.packets), [1, 2]);
        // The static entry outlived them all.
        assert_eq!(c.lookup(IF, ip(10), 90), Lookup::Found(mac(10)));
        let k = c.counters();
        assert_eq!((k.evicted, k.unresolved_drops), (5, 2));
    }

    #[test]
    fn eviction_ties_go_to_the_lowest_slot() {
        let mut c = Cache::default();
        for d in 1..=4 {
            learn(&mut c, d, 0);
        }
        assert_eq!(ask(&mut c, 5, 0).evicted.unwrap().ip, ip(1));
        assert_eq!(ask(&mut c, 6, 0).evicted.unwrap().ip, ip(5));
    }

    #[test]
    fn ageing_at_exactly_the_boundary() {
        let mut c = Cache::default();
        learn(&mut c, 2, 1000);
        assert_eq!(c.next_timer_in(1000), Some(AGE));
        assert_eq!(c.lookup(IF, ip(2), 1000 + AGE - 1), Lookup::Found(mac(2)));
        assert_eq!(c.lookup(IF, ip(2), 1000 + AGE), Lookup::Missing);
        assert!(timer_events(&mut c, 1000 + AGE - 1).is_empty());
        assert_eq!(c.next_timer_in(1000 + AGE - 1), Some(1));
        let ev = timer_events(&mut c, 1000 + AGE);
        assert!(matches!(ev[..], [TimerEvent::AgedOut { ip: a, .. }] if a == ip(2)));
        assert!(c.is_empty());
        assert_eq!(c.counters().aged_out, 1);
    }

    #[test]
    fn confirmation_restarts_the_ageing_time() {
        let mut c = Cache::default();
        learn(&mut c, 2, 0);
        let _ = c.on_arp(IF, &reply(2), ours, AGE - 1).unwrap();
        assert_eq!(c.lookup(IF, ip(2), AGE), Lookup::Found(mac(2)));
        assert!(timer_events(&mut c, 2 * AGE - 2).is_empty());
        assert_eq!(timer_events(&mut c, 2 * AGE - 1).len(), 1);
    }

    #[test]
    fn expired_entry_resolves_again_in_place() {
        let mut c = Cache::default();
        learn(&mut c, 2, 0);
        // Expired, not yet removed: the packet waits and a fresh request goes out.
        assert!(matches!(
            c.resolve_or_queue(IF, ip(2), 1, AGE),
            Resolve::Request {
                evicted: None,
                dropped: None
            }
        ));
        let info = c.entry(IF, ip(2), AGE).unwrap();
        assert_eq!(
            (info.state, info.mac, info.queued),
            (State::Incomplete, EthernetAddress::ZERO, 1)
        );
        assert_eq!(c.reverse(mac(2)), None);
        assert_eq!(c.len(), 1);
        let ready = c
            .on_arp(IF, &reply(2), ours, AGE + 5)
            .unwrap()
            .ready
            .unwrap();
        assert_eq!(ids(ready.packets), [1]);
    }

    #[test]
    fn retries_then_failure_returns_the_packets() {
        let mut c = Cache::default();
        let _ = c.resolve_or_queue(IF, ip(2), 1, 0);
        let _ = c.resolve_or_queue(IF, ip(2), 2, 500);
        assert_eq!(c.next_timer_in(0), Some(1000));
        assert!(timer_events(&mut c, 999).is_empty());
        for (n, t) in [1000u64, 2000, 3000].into_iter().enumerate() {
            assert!(timer_events(&mut c, t - 1).is_empty());
            let ev = timer_events(&mut c, t);
            assert!(
                matches!(ev[..], [TimerEvent::Retry { ip: a, .. }] if a == ip(2)),
                "{t}"
            );
            assert_eq!(c.entry(IF, ip(2), t).unwrap().retries, n as u8 + 1);
            assert_eq!(c.next_timer_in(t), Some(1000));
        }
        assert!(timer_events(&mut c, 3999).is_empty());
        assert_eq!(c.lookup(IF, ip(2), 3999), Lookup::Pending);
        let mut ev = timer_events(&mut c, 4000);
        let Some(TimerEvent::Failed(f)) = ev.pop() else {
            panic!("expected a failure")
        };
        assert!(ev.is_empty());
        assert_eq!(f.ip, ip(2));
        assert_eq!(ids(f.packets), [1, 2]);
        assert!(c.is_empty());
        let k = c.counters();
        assert_eq!(
            (k.requests_sent, k.failed_resolutions, k.unresolved_drops),
            (4, 1, 2)
        );
        assert_eq!(c.next_timer_in(4000), None);
    }

    #[test]
    fn late_tick_sends_one_retry_not_a_burst() {
        let mut c = Cache::default();
        let _ = c.resolve_or_queue(IF, ip(2), 1, 0);
        // The timer ran late: one retry, restamped, not three at once.
        assert_eq!(timer_events(&mut c, 10_000).len(), 1);
        assert_eq!(c.entry(IF, ip(2), 10_000).unwrap().retries, 1);
    }

    #[test]
    fn answer_after_a_retry_resolves() {
        let mut c = Cache::default();
        let _ = c.resolve_or_queue(IF, ip(2), 1, 0);
        let _ = timer_events(&mut c, 1000);
        let a = c.on_arp(IF, &reply(2), ours, 1500).unwrap();
        assert_eq!(ids(a.ready.unwrap().packets), [1]);
        let info = c.entry(IF, ip(2), 1500).unwrap();
        assert_eq!((info.state, info.retries), (State::Reachable, 0));
        assert!(timer_events(&mut c, 5000).is_empty());
    }

    #[test]
    fn zero_retries_fails_after_one_period() {
        let mut c = Cache::new(ArpConfig {
            max_retries: 0,
            ..ArpConfig::default()
        });
        let _ = c.resolve_or_queue(IF, ip(2), 1, 0);
        let ev = timer_events(&mut c, 1000);
        assert!(matches!(&ev[..], [TimerEvent::Failed(f)] if f.ip == ip(2)));
    }

    #[test]
    fn static_entries() {
        let mut c = Cache::default();
        let r = c.add_static(IF, ip(2), mac(2), 0).unwrap();
        assert!(r.ready.is_none() && r.evicted.is_none());
        assert_eq!(c.lookup(IF, ip(2), u64::MAX >> 1), Lookup::Found(mac(2)));
        assert!(timer_events(&mut c, 100 * AGE).is_empty());
        assert_eq!(c.next_timer_in(0), None);
        // ARP does not move a static entry.
        let a = c.on_arp(IF, &gratuitous(2, mac(99)), ours, 10).unwrap();
        assert_eq!(a.learned, Learned::Static);
        let a = c.on_arp(IF, &request(2, US), ours, 10).unwrap();
        assert_eq!(
            (a.learned, a.reply),
            (Learned::Static, Some(ReplyKind::Local))
        );
        assert_eq!(c.lookup(IF, ip(2), 10), Lookup::Found(mac(2)));
        // Replacing it with another MAC is the administrator's right.
        let _ = c.add_static(IF, ip(2), mac(22), 20).unwrap();
        assert_eq!(c.lookup(IF, ip(2), 20), Lookup::Found(mac(22)));
        assert_eq!(c.len(), 1);
        let e = c.entry(IF, ip(2), 20).unwrap();
        assert_eq!((e.state, e.state.proc_flags()), (State::Static, 0x6));
        // A static entry for an address being resolved releases its packets.
        let _ = c.resolve_or_queue(IF, ip(3), 1, 30);
        let _ = c.resolve_or_queue(IF, ip(3), 2, 30);
        let r = c.add_static(IF, ip(3), mac(3), 40).unwrap();
        let ready = r.ready.unwrap();
        assert_eq!(ready.mac, mac(3));
        assert_eq!(ids(ready.packets), [1, 2]);
        // A learned entry becomes static in place.
        learn(&mut c, 4, 50);
        let r = c.add_static(IF, ip(4), mac(44), 60).unwrap();
        assert!(r.ready.is_none() && r.evicted.is_none());
        assert_eq!(c.entry(IF, ip(4), 60).unwrap().state, State::Static);
        // Removal.
        let gone = c.remove(IF, ip(2)).unwrap();
        assert_eq!(gone.ip, ip(2));
        assert!(gone.packets.is_empty());
        assert!(c.remove(IF, ip(2)).is_none());
        assert_eq!(c.lookup(IF, ip(2), 70), Lookup::Missing);
    }

    #[test]
    fn add_static_refusals() {
        let mut c = Cache::default();
        for bad in [
            EthernetAddress::ZERO,
            EthernetAddress::BROADCAST,
            EthernetAddress([1, 0, 0x5e, 0, 0, 1]),
        ] {
            assert_eq!(c.add_static(IF, ip(2), bad, 0).err(), Some(Refusal::BadMac));
        }
        for bad in [
            Ipv4Address::UNSPECIFIED,
            Ipv4Address::BROADCAST,
            Ipv4Address::new(224, 0, 0, 1),
            Ipv4Address::new(127, 0, 0, 1),
        ] {
            assert_eq!(c.add_static(IF, bad, mac(2), 0).err(), Some(Refusal::BadIp));
        }
        assert!(c.is_empty());
        learn(&mut c, 9, 0);
        for d in 1..=3 {
            let _ = c.add_static(IF, ip(d), mac(d), 0).unwrap();
        }
        // The last dynamic entry makes room for a fourth static one...
        let r = c.add_static(IF, ip(4), mac(4), 0).unwrap();
        assert_eq!(r.evicted.unwrap().ip, ip(9));
        // ...and then there is no room at all.
        assert_eq!(
            c.add_static(IF, ip(5), mac(5), 0).err(),
            Some(Refusal::Full)
        );
        assert!(matches!(
            c.resolve_or_queue(IF, ip(5), 1, 0),
            Resolve::Refused {
                packet: 1,
                reason: Refusal::Full
            }
        ));
        // A request for us is still answered; the sender just cannot be remembered.
        let a = ask(&mut c, 6, 0);
        assert_eq!(
            (a.reply, a.learned),
            (Some(ReplyKind::Local), Learned::NoRoom)
        );
        assert!(a.evicted.is_none());
        // Updating an existing static entry needs no room.
        assert!(c.add_static(IF, ip(4), mac(44), 0).is_ok());
    }

    #[test]
    fn flush_returns_every_packet() {
        let mut c = Cache::default();
        let _ = c.add_static(IF, ip(1), mac(1), 0).unwrap();
        learn(&mut c, 2, 0);
        let _ = c.resolve_or_queue(IF, ip(3), 1, 0);
        let _ = c.resolve_or_queue(IF, ip(3), 2, 0);
        let mut out = Vec::new();
        c.flush(false, |u| out.push((u.ip, ids(u.packets))));
        assert_eq!(out, [(ip(2), Vec::new()), (ip(3), std::vec![1, 2])]);
        assert_eq!(c.len(), 1);
        c.flush(true, |u| out.push((u.ip, ids(u.packets))));
        assert!(c.is_empty());
        assert_eq!(out.len(), 3);
        assert_eq!(c.counters().unresolved_drops, 2);
    }

    #[test]
    fn flush_of_one_device_leaves_the_others() {
        let mut c = Cache::default();
        let _ = c.add_static(IF, ip(1), mac(1), 0).unwrap();
        learn(&mut c, 2, 0);
        let _ = c.resolve_or_queue(IF2, ip(2), 1, 0);
        let _ = c.add_static(IF2, ip(3), mac(3), 0).unwrap();
        let mut out = Vec::new();
        // Dynamic entries of the second device: its incomplete .2 with its packet.
        c.flush_dev(IF2, false, |u| out.push((u.ifindex, u.ip, ids(u.packets))));
        assert_eq!(out, [(IF2, ip(2), std::vec![1])]);
        assert_eq!(c.lookup(IF, ip(2), 0), Lookup::Found(mac(2)));
        assert_eq!(c.lookup(IF2, ip(3), 0), Lookup::Found(mac(3)));
        // Everything of the second device, static entries too (it went away).
        out.clear();
        c.flush_dev(IF2, true, |u| out.push((u.ifindex, u.ip, ids(u.packets))));
        assert_eq!(out, [(IF2, ip(3), Vec::new())]);
        // A device with no entries: nothing.
        c.flush_dev(9, true, |_| panic!("device 9 has no entries"));
        let left: Vec<_> = c.entries(0).map(|e| (e.ifindex, e.ip)).collect();
        assert_eq!(left, [(IF, ip(1)), (IF, ip(2))]);
        assert_eq!(c.counters().unresolved_drops, 1);
    }

    #[test]
    fn remove_returns_waiting_packets() {
        let mut c = Cache::default();
        let _ = c.resolve_or_queue(IF, ip(3), 1, 0);
        let u = c.remove(IF, ip(3)).unwrap();
        assert_eq!(ids(u.packets), [1]);
        assert!(c.is_empty());
    }

    #[test]
    fn proxy_arp() {
        let mut c = Cache::default();
        c.add_proxy(Ipv4Address::new(10, 1, 0, 0), 16).unwrap();
        assert_eq!(c.proxy().len(), 1);
        let inside = Ipv4Address::new(10, 1, 2, 3);
        let req = request(2, inside);
        let a = c.on_arp(IF, &req, ours, 0).unwrap();
        assert_eq!(a.reply, Some(ReplyKind::Proxy));
        assert_eq!(a.learned, Learned::Created);
        let r = a.reply_repr(&req, mac(100)).unwrap();
        assert_eq!(
            (r.source_protocol_addr, r.source_hardware_addr),
            (inside, mac(100))
        );
        // Outside the prefix: silence.
        let a = c
            .on_arp(IF, &request(3, Ipv4Address::new(10, 2, 0, 1)), ours, 0)
            .unwrap();
        assert_eq!((a.reply, a.learned), (None, Learned::Nothing));
        // A reply is never proxied.
        let mut rep = req;
        rep.operation = ArpOperation::Reply;
        rep.source_hardware_addr = mac(4);
        rep.source_protocol_addr = ip(4);
        let a = c.on_arp(IF, &rep, ours, 0).unwrap();
        assert_eq!((a.reply, a.learned), (None, Learned::Nothing));
        // A host inside the prefix asking for its own address is not answered.
        let own = Ipv4Address::new(10, 1, 0, 5);
        let probe = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: mac(5),
            source_protocol_addr: own,
            target_hardware_addr: EthernetAddress::ZERO,
            target_protocol_addr: own,
        };
        let a = c.on_arp(IF, &probe, ours, 0).unwrap();
        assert_eq!((a.reply, a.learned), (None, Learned::Nothing));
        // Our own address wins over a proxy prefix that covers it.
        c.add_proxy(Ipv4Address::new(10, 0, 0, 0), 24).unwrap();
        let a = c.on_arp(IF, &request(6, US), ours, 0).unwrap();
        assert_eq!(a.reply, Some(ReplyKind::Local));
        assert!(c.remove_proxy(Ipv4Address::new(10, 1, 0, 0), 16));
        assert!(!c.remove_proxy(Ipv4Address::new(10, 1, 0, 0), 16));
        let a = c.on_arp(IF, &request(7, inside), ours, 0).unwrap();
        assert_eq!(a.reply, None);
        assert_eq!(c.add_proxy(US, 40), Err(ProxyError::BadLength));
        assert_eq!(c.counters().replies_sent, 2);
    }

    #[test]
    fn gratuitous_arp_updates_only() {
        let mut c = Cache::default();
        let a = c.on_arp(IF, &gratuitous(2, mac(2)), ours, 0).unwrap();
        assert_eq!((a.reply, a.learned), (None, Learned::Nothing));
        assert!(c.is_empty());
        learn(&mut c, 2, 0);
        // The host moved to another card: the cache follows.
        let a = c.on_arp(IF, &gratuitous(2, mac(22)), ours, 10).unwrap();
        assert_eq!(a.learned, Learned::Changed { old: mac(2) });
        assert_eq!(a.reply, None);
        assert_eq!(c.lookup(IF, ip(2), 10), Lookup::Found(mac(22)));
        // A gratuitous reply counts too, and it resolves a pending address.
        let _ = c.resolve_or_queue(IF, ip(3), 1, 20);
        let mut g = gratuitous(3, mac(3));
        g.operation = ArpOperation::Reply;
        let a = c.on_arp(IF, &g, ours, 30).unwrap();
        assert_eq!(a.learned, Learned::Resolved);
        assert_eq!(ids(a.ready.unwrap().packets), [1]);
        assert_eq!(c.counters().learned, 3);
    }

    #[test]
    fn reverse_lookup() {
        let mut c = Cache::default();
        assert_eq!(c.reverse(mac(2)), None);
        learn(&mut c, 2, 0);
        let _ = c.add_static(IF, ip(3), mac(3), 0).unwrap();
        let _ = c.resolve_or_queue(IF, ip(4), 1, 0);
        assert_eq!(c.reverse(mac(2)), Some((IF, ip(2))));
        assert_eq!(c.reverse(mac(3)), Some((IF, ip(3))));
        // An incomplete entry has no MAC address to match, not even zero.
        assert_eq!(c.reverse(EthernetAddress::ZERO), None);
        assert_eq!(c.reverse(mac(4)), None);
        // Two addresses behind one MAC (a router): the first slot answers.
        let _ = c.add_static(IF, ip(5), mac(2), 0);
        assert_eq!(c.reverse(mac(2)), Some((IF, ip(2))));
        // The answer names the device the entry is on.
        let _ = c.remove(IF, ip(4));
        let _ = c.add_static(IF2, ip(6), mac(6), 0).unwrap();
        assert_eq!(c.reverse(mac(6)), Some((IF2, ip(6))));
    }

    /// `reply(from)` with the sender's MAC address `hw`.
    fn reply_from(from: u8, hw: EthernetAddress) -> ArpRepr {
        ArpRepr {
            source_hardware_addr: hw,
            ..reply(from)
        }
    }

    #[test]
    fn same_address_on_two_devices_is_two_entries() {
        let mut c = Cache::default();
        // 10.0.0.2 asks for us on both links, with another card on each.
        let a = c.on_arp(IF, &request(2, US), ours, 0).unwrap();
        assert_eq!(a.learned, Learned::Created);
        let on2 = ArpRepr {
            source_hardware_addr: mac(22),
            ..request(2, US)
        };
        let a = c.on_arp(IF2, &on2, ours, 10).unwrap();
        // Not a change of the first entry: a second one.
        assert_eq!(
            (a.learned, a.reply),
            (Learned::Created, Some(ReplyKind::Local))
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c.lookup(IF, ip(2), 10), Lookup::Found(mac(2)));
        assert_eq!(c.lookup(IF2, ip(2), 10), Lookup::Found(mac(22)));
        assert_eq!(c.lookup(4, ip(2), 10), Lookup::Missing);
        assert!(
            matches!(c.resolve_or_queue(IF2, ip(2), 1, 20), Resolve::Send(m, 1) if m == mac(22))
        );
        assert!(matches!(c.resolve_or_queue(IF, ip(2), 2, 20), Resolve::Send(m, 2) if m == mac(2)));
        let e = c.entry(IF2, ip(2), 20).unwrap();
        assert_eq!(
            (e.ifindex, e.ip, e.mac, e.age_ms),
            (IF2, ip(2), mac(22), 10)
        );
        let listed: Vec<_> = c.entries(20).map(|e| (e.ifindex, e.mac)).collect();
        assert_eq!(listed, [(IF, mac(2)), (IF2, mac(22))]);
        // A new card on one link changes that link's entry only.
        let a = c.on_arp(IF, &gratuitous(2, mac(23)), ours, 30).unwrap();
        assert_eq!(a.learned, Learned::Changed { old: mac(2) });
        assert_eq!(c.lookup(IF2, ip(2), 30), Lookup::Found(mac(22)));
        assert_eq!(c.entry(IF2, ip(2), 30).unwrap().age_ms, 20);
        // Each goes on its own.
        assert!(c.remove(IF2, ip(2)).is_some());
        assert!(c.remove(IF2, ip(2)).is_none());
        assert_eq!(c.lookup(IF, ip(2), 30), Lookup::Found(mac(23)));
        assert_eq!(c.lookup(IF2, ip(2), 30), Lookup::Missing);
    }

    #[test]
    fn reply_on_one_device_leaves_the_other_waiting() {
        let mut c = Cache::default();
        assert!(matches!(
            c.resolve_or_queue(IF, ip(2), 1, 0),
            Resolve::Request { .. }
        ));
        // Unknown on the second device, whatever the first one is doing: a request of its own.
        assert!(matches!(
            c.resolve_or_queue(IF2, ip(2), 2, 0),
            Resolve::Request {
                evicted: None,
                dropped: None
            }
        ));
        let _ = c.resolve_or_queue(IF2, ip(2), 3, 5);
        assert_eq!(c.counters().requests_sent, 2);
        let a = c.on_arp(IF2, &reply_from(2, mac(22)), ours, 10).unwrap();
        assert_eq!(a.learned, Learned::Resolved);
        let ready = a.ready.unwrap();
        assert_eq!((ready.ifindex, ready.ip, ready.mac), (IF2, ip(2), mac(22)));
        assert_eq!(ids(ready.packets), [2, 3]);
        assert_eq!(c.lookup(IF, ip(2), 10), Lookup::Pending);
        assert_eq!(c.entry(IF, ip(2), 10).unwrap().queued, 1);
        // A gratuitous ARP is learned where it is heard, too.
        let a = c.on_arp(IF2, &gratuitous(2, mac(24)), ours, 20).unwrap();
        assert!(a.ready.is_none());
        assert_eq!(c.lookup(IF, ip(2), 20), Lookup::Pending);
        // The first device's answer comes: its own packet, its own MAC address.
        let a = c.on_arp(IF, &reply(2), ours, 30).unwrap();
        let ready = a.ready.unwrap();
        assert_eq!((ready.ifindex, ready.mac), (IF, mac(2)));
        assert_eq!(ids(ready.packets), [1]);
        assert_eq!(c.lookup(IF2, ip(2), 30), Lookup::Found(mac(24)));
    }

    #[test]
    fn a_request_on_one_device_teaches_that_device() {
        let mut c = Cache::default();
        let _ = c.resolve_or_queue(IF, ip(2), 1, 0);
        // .2 asks for us on the second link: learned there (it is for us), and the first
        // link's resolution is none the wiser.
        let a = c.on_arp(IF2, &request(2, US), ours, 10).unwrap();
        assert_eq!(
            (a.learned, a.reply),
            (Learned::Created, Some(ReplyKind::Local))
        );
        assert!(a.ready.is_none());
        assert_eq!(c.lookup(IF2, ip(2), 10), Lookup::Found(mac(2)));
        assert_eq!(c.lookup(IF, ip(2), 10), Lookup::Pending);
        // A request for someone else teaches only a device that has the sender cached.
        let a = c.on_arp(IF2, &request(3, ip(4)), ours, 10).unwrap();
        assert_eq!(a.learned, Learned::Nothing);
        learn(&mut c, 3, 20);
        let a = c.on_arp(IF2, &request(3, ip(4)), ours, 30).unwrap();
        assert_eq!(a.learned, Learned::Nothing);
        assert_eq!(c.entry(IF, ip(3), 30).unwrap().age_ms, 10);
        // A static entry on one device does not hold back the other device's learning.
        let _ = c.add_static(IF, ip(5), mac(5), 30).unwrap();
        let a = c.on_arp(IF2, &request(5, US), ours, 40).unwrap();
        assert_eq!(a.learned, Learned::Created);
        let a = c.on_arp(IF, &request(5, US), ours, 40).unwrap();
        assert_eq!(a.learned, Learned::Static);
    }

    #[test]
    fn timer_events_name_the_entry_device() {
        let mut c = Cache::new(ArpConfig {
            max_retries: 1,
            ..ArpConfig::default()
        });
        let _ = c.resolve_or_queue(IF, ip(2), 1, 0);
        let _ = c.resolve_or_queue(IF2, ip(2), 2, 500);
        let ev = timer_events(&mut c, 1000);
        assert!(
            matches!(ev[..], [TimerEvent::Retry { ifindex: IF, ip: a }] if a == ip(2)),
            "{ev:?}"
        );
        let ev = timer_events(&mut c, 1500);
        assert!(
            matches!(ev[..], [TimerEvent::Retry { ifindex: IF2, ip: a }] if a == ip(2)),
            "{ev:?}"
        );
        // Each fails on its own, with its own packets.
        let mut ev = timer_events(&mut c, 2000);
        let Some(TimerEvent::Failed(f)) = ev.pop() else {
            panic!("expected a failure")
        };
        assert!(ev.is_empty());
        assert_eq!((f.ifindex, f.ip), (IF, ip(2)));
        assert_eq!(ids(f.packets), [1]);
        assert_eq!(c.lookup(IF2, ip(2), 2000), Lookup::Pending);
        let mut ev = timer_events(&mut c, 2500);
        let Some(TimerEvent::Failed(f)) = ev.pop() else {
            panic!("expected a failure")
        };
        assert_eq!((f.ifindex, ids(f.packets)), (IF2, std::vec![2]));
        // Ageing, likewise.
        learn(&mut c, 3, 3000);
        let _ = c.on_arp(IF2, &request(3, US), ours, 4000).unwrap();
        let ev = timer_events(&mut c, 3000 + AGE);
        assert!(
            matches!(ev[..], [TimerEvent::AgedOut { ifindex: IF, ip: a }] if a == ip(3)),
            "{ev:?}"
        );
        assert_eq!(c.lookup(IF2, ip(3), 3000 + AGE), Lookup::Found(mac(3)));
    }

    #[test]
    fn static_entry_on_one_device_releases_only_its_packets() {
        let mut c = Cache::default();
        let _ = c.resolve_or_queue(IF, ip(2), 1, 0);
        let _ = c.resolve_or_queue(IF2, ip(2), 2, 0);
        let r = c.add_static(IF2, ip(2), mac(22), 10).unwrap();
        let ready = r.ready.unwrap();
        assert_eq!((ready.ifindex, ready.mac), (IF2, mac(22)));
        assert_eq!(ids(ready.packets), [2]);
        assert_eq!(c.lookup(IF, ip(2), 10), Lookup::Pending);
        assert_eq!(c.entry(IF2, ip(2), 10).unwrap().state, State::Static);
        // Removing the pending one gives back its packet, with its device.
        let u = c.remove(IF, ip(2)).unwrap();
        assert_eq!((u.ifindex, ids(u.packets)), (IF, std::vec![1]));
        assert_eq!(c.lookup(IF2, ip(2), 10), Lookup::Found(mac(22)));
    }

    #[test]
    fn eviction_is_shared_by_the_devices() {
        let mut c = Cache::default();
        learn(&mut c, 2, 0);
        for (d, t) in [(3, 10), (4, 20), (5, 30)] {
            let _ = c.on_arp(IF2, &request(d, US), ours, t).unwrap();
        }
        // Full: the oldest entry goes, whichever device it is on.
        let a = c.on_arp(IF2, &request(6, US), ours, 40).unwrap();
        let ev = a.evicted.unwrap();
        assert_eq!((ev.ifindex, ev.ip), (IF, ip(2)));
        let ev = c
            .on_arp(IF, &request(7, US), ours, 50)
            .unwrap()
            .evicted
            .unwrap();
        assert_eq!((ev.ifindex, ev.ip), (IF2, ip(3)));
    }

    #[test]
    fn bad_senders_are_refused_and_change_nothing() {
        let mut c = Cache::default();
        let _ = c.resolve_or_queue(IF, ip(2), 1, 0);
        let base = request(2, US);
        let mut cases: Vec<(ArpRepr, Refusal)> = Vec::new();
        for hw in [
            EthernetAddress::ZERO,
            EthernetAddress::BROADCAST,
            EthernetAddress([0x01, 0, 0x5e, 0, 0, 2]),
        ] {
            cases.push((
                ArpRepr {
                    source_hardware_addr: hw,
                    ..base
                },
                Refusal::BadMac,
            ));
        }
        for sip in [
            Ipv4Address::BROADCAST,
            Ipv4Address::new(224, 0, 0, 2),
            Ipv4Address::new(127, 0, 0, 2),
        ] {
            cases.push((
                ArpRepr {
                    source_protocol_addr: sip,
                    ..base
                },
                Refusal::BadIp,
            ));
        }
        // An RFC 5227 probe for someone else's address is none of our business.
        cases.push((
            ArpRepr {
                source_protocol_addr: Ipv4Address::UNSPECIFIED,
                target_protocol_addr: ip(3),
                ..base
            },
            Refusal::BadIp,
        ));
        for tip in [
            Ipv4Address::UNSPECIFIED,
            Ipv4Address::BROADCAST,
            Ipv4Address::new(239, 1, 1, 1),
            Ipv4Address::new(127, 0, 0, 1),
        ] {
            cases.push((
                ArpRepr {
                    target_protocol_addr: tip,
                    ..base
                },
                Refusal::BadTarget,
            ));
        }
        cases.push((
            ArpRepr {
                source_protocol_addr: US,
                ..base
            },
            Refusal::OurAddress,
        ));
        cases.push((
            ArpRepr {
                operation: ArpOperation::Unknown(3),
                ..base
            },
            Refusal::BadOperation,
        ));
        let n = cases.len() as u64;
        for (repr, why) in cases {
            assert_eq!(c.on_arp(IF, &repr, ours, 5).err(), Some(why), "{repr:?}");
        }
        assert_eq!(c.counters().bad_sender_drops, n);
        assert_eq!(c.len(), 1);
        assert_eq!(c.lookup(IF, ip(2), 5), Lookup::Pending);
        assert_eq!(c.counters().learned, 0);
    }

    #[test]
    fn probe_for_our_address_is_answered_without_learning() {
        let mut c = Cache::default();
        let probe = ArpRepr {
            source_protocol_addr: Ipv4Address::UNSPECIFIED,
            ..request(2, US)
        };
        let a = c.on_arp(IF, &probe, ours, 0).unwrap();
        assert_eq!(
            (a.reply, a.learned),
            (Some(ReplyKind::Local), Learned::Nothing)
        );
        let r = a.reply_repr(&probe, mac(100)).unwrap();
        // As Linux does: to the prober's MAC, with target address 0.0.0.0.
        assert_eq!(r.target_hardware_addr, mac(2));
        assert_eq!(r.target_protocol_addr, Ipv4Address::UNSPECIFIED);
        assert!(c.is_empty());
        // A probe that is a reply is refused.
        let mut p = probe;
        p.operation = ArpOperation::Reply;
        assert_eq!(c.on_arp(IF, &p, ours, 0).err(), Some(Refusal::BadIp));
    }

    #[test]
    fn resolve_refuses_addresses_no_neighbour_owns() {
        let mut c = Cache::default();
        for (i, bad) in [
            Ipv4Address::UNSPECIFIED,
            Ipv4Address::BROADCAST,
            Ipv4Address::new(224, 0, 0, 251),
            Ipv4Address::new(127, 0, 0, 1),
        ]
        .into_iter()
        .enumerate()
        {
            let r = c.resolve_or_queue(IF, bad, i as u32, 0);
            assert!(
                matches!(r, Resolve::Refused { packet, reason: Refusal::BadIp } if packet == i as u32)
            );
        }
        assert!(c.is_empty());
        assert_eq!(c.counters().requests_sent, 0);
    }

    #[test]
    fn unsolicited_reply_to_us_is_learned_as_rfc_826_says() {
        let mut c = Cache::default();
        let a = c.on_arp(IF, &reply(2), ours, 0).unwrap();
        assert_eq!((a.reply, a.learned), (None, Learned::Created));
    }

    #[test]
    fn listing_for_proc() {
        let mut c = Cache::default();
        let _ = c.add_static(IF, ip(1), mac(1), 0).unwrap();
        learn(&mut c, 2, 100);
        let _ = c.resolve_or_queue(IF, ip(3), 1, 200);
        let list: Vec<_> = c.entries(1000).collect();
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[1],
            EntryInfo {
                ifindex: IF,
                ip: ip(2),
                mac: mac(2),
                state: State::Reachable,
                age_ms: 900,
                retries: 0,
                queued: 0
            }
        );
        assert_eq!(list[2].queued, 1);
        let flags: Vec<_> = list.iter().map(|e| e.state.proc_flags()).collect();
        assert_eq!(flags, [0x6, 0x2, 0x0]);
        let names: Vec<_> = list.iter().map(|e| std::format!("{}", e.state)).collect();
        assert_eq!(names, ["PERMANENT", "REACHABLE", "INCOMPLETE"]);
    }

    #[test]
    fn elapsed_reads_wrap_and_backwards_time() {
        assert_eq!(elapsed(10, 3), 7);
        assert_eq!(elapsed(3, 3), 0);
        assert_eq!(elapsed(2, u64::MAX - 1), 4); // wrapped
        assert_eq!(elapsed(3, 10), 0); // backwards
        assert_eq!(elapsed(0, u64::MAX >> 1), 0);
        assert_eq!(elapsed(u64::MAX >> 1, 0), u64::MAX >> 1);
        assert_eq!(elapsed(0, u64::MAX), 1);
    }

    #[test]
    fn clock_wrap_does_not_disturb_ageing_or_retries() {
        let start = u64::MAX - 500;
        let mut c = Cache::default();
        learn(&mut c, 2, start);
        let _ = c.resolve_or_queue(IF, ip(3), 1, start);
        let later = start.wrapping_add(1000); // 499 after the wrap
        assert_eq!(c.lookup(IF, ip(2), later), Lookup::Found(mac(2)));
        let ev = timer_events(&mut c, later);
        assert!(matches!(ev[..], [TimerEvent::Retry { ip: a, .. }] if a == ip(3)));
        assert_eq!(c.entry(IF, ip(2), later).unwrap().age_ms, 1000);
        assert_eq!(
            c.lookup(IF, ip(2), start.wrapping_add(AGE)),
            Lookup::Missing
        );
        let ev = timer_events(&mut c, start.wrapping_add(AGE));
        assert!(ev
            .iter()
            .any(|e| matches!(e, TimerEvent::AgedOut { ip: a, .. } if *a == ip(2))));
        // .3 sent its retry at `later`, so its next one is due 1000 ms after that.
        assert!(ev
            .iter()
            .any(|e| matches!(e, TimerEvent::Retry { ip: a, .. } if *a == ip(3))));
    }

    #[test]
    fn clock_going_backwards_is_harmless() {
        let mut c = Cache::default();
        learn(&mut c, 2, 50_000);
        let _ = c.resolve_or_queue(IF, ip(3), 1, 50_000);
        // Ten seconds earlier: still valid, age 0, no timer work.
        assert_eq!(c.lookup(IF, ip(2), 40_000), Lookup::Found(mac(2)));
        assert_eq!(c.entry(IF, ip(2), 40_000).unwrap().age_ms, 0);
        assert_eq!(c.next_timer_in(40_000), Some(1000));
        assert!(timer_events(&mut c, 40_000).is_empty());
        // tick restamped both at 40 000, so they live one period from there, not from 50 000.
        assert!(matches!(
            timer_events(&mut c, 41_000)[..],
            [TimerEvent::Retry { .. }]
        ));
        assert_eq!(timer_events(&mut c, 40_000 + AGE).len(), 2); // aged out, and failed
                                                                 // Learning and resolving with times all over the place never panics.
        for t in [
            u64::MAX,
            0,
            u64::MAX >> 1,
            (u64::MAX >> 1) + 1,
            1,
            u64::MAX - 1,
        ] {
            learn(&mut c, 4, t);
            let _ = c.resolve_or_queue(IF, ip(5), 9, t);
            let _ = c.lookup(IF, ip(4), t);
            let _ = c.next_timer_in(t);
            let _ = c.entries(t).count();
            let _ = timer_events(&mut c, t);
        }
    }

    #[test]
    fn extreme_configuration_terminates() {
        let mut c: Cache = ArpCache::new(ArpConfig {
            ageing_ms: 0,
            retry_ms: 0,
            max_retries: u8::MAX,
        });
        // Nothing resolved stays valid with no ageing time.
        learn(&mut c, 2, 7);
        assert_eq!(c.lookup(IF, ip(2), 7), Lookup::Missing);
        let _ = c.resolve_or_queue(IF, ip(3), 1, 7);
        let ev = timer_events(&mut c, 7);
        let retries = ev
            .iter()
            .filter(|e| matches!(e, TimerEvent::Retry { .. }))
            .count();
        assert_eq!(retries, 255);
        assert_eq!(ev.len(), 255 + 2);
        assert!(c.is_empty());
        c.set_config(ArpConfig {
            ageing_ms: u64::MAX,
            retry_ms: u64::MAX,
            max_retries: 0,
        });
        learn(&mut c, 2, 0);
        assert_eq!(c.lookup(IF, ip(2), u64::MAX >> 1), Lookup::Found(mac(2)));
        assert!(timer_events(&mut c, u64::MAX >> 1).is_empty());
    }

    /// A packet that knows its number and counts how often it is dropped, so that the test
    /// sees a packet the cache lost (dropped without handing back) as well as one it handed
    /// back twice.
    #[derive(Debug)]
    struct Pkt {
        id: u32,
        drops: std::rc::Rc<core::cell::Cell<u32>>,
    }

    impl Drop for Pkt {
        fn drop(&mut self) {
            self.drops.set(self.drops.get() + 1);
        }
    }

    struct Ledger {
        drops: std::rc::Rc<core::cell::Cell<u32>>,
        out: Vec<u8>,
        came_out: u32,
        sent: u32,
    }

    impl Ledger {
        fn packet(&mut self) -> Pkt {
            self.out.push(0);
            Pkt {
                id: self.out.len() as u32 - 1,
                drops: self.drops.clone(),
            }
        }

        fn out(&mut self, p: Pkt) {
            let seen = &mut self.out[p.id as usize];
            assert_eq!(*seen, 0, "packet {} came out twice", p.id);
            *seen = 1;
            self.came_out += 1;
        }

        fn out_all<const Q: usize>(&mut self, ps: Packets<Q, Pkt>) {
            for p in ps {
                self.out(p);
            }
        }

        fn unresolved<const Q: usize>(&mut self, u: Option<Unresolved<Q, Pkt>>) {
            if let Some(u) = u {
                self.out_all(u.packets);
            }
        }

        fn ready<const Q: usize>(
            &mut self,
            r: Option<Ready<Q, Pkt>>,
            dev: i32,
            expect: EthernetAddress,
        ) {
            if let Some(r) = r {
                assert_eq!((r.ifindex, r.mac), (dev, expect));
                self.sent += r.packets.len() as u32;
                self.out_all(r.packets);
            }
        }

        fn came_out(&self) -> u32 {
            self.came_out
        }
    }

    fn check_invariants<const N: usize, const Q: usize>(c: &ArpCache<N, Q, Pkt>, now: u64) {
        let list: Vec<_> = c.entries(now).collect();
        assert!(list.len() <= N);
        for (i, e) in list.iter().enumerate() {
            assert!(
                list[i + 1..]
                    .iter()
                    .all(|o| (o.ifindex, o.ip) != (e.ifindex, e.ip)),
                "duplicate {} on {}",
                e.ip,
                e.ifindex
            );
            assert!(e.queued <= Q);
            assert!(is_neighbour_ip(e.ip));
            match e.state {
                State::Incomplete => assert!(e.retries <= c.config().max_retries),
                _ => {
                    assert_eq!(e.queued, 0, "{} resolved with packets waiting", e.ip);
                    assert!(e.mac.is_unicast());
                }
            }
        }
    }

    /// The model: for each (device, address), the MAC address the test last taught the
    /// cache there. A resolved entry must have exactly that one: a binding learned on one
    /// device and seen on another (the test's MAC addresses differ by device) fails here.
    type Model = std::collections::HashMap<(i32, Ipv4Address), EthernetAddress>;

    fn check_model<const N: usize, const Q: usize>(
        c: &ArpCache<N, Q, Pkt>,
        model: &Model,
        now: u64,
    ) {
        for e in c.entries(now).filter(|e| e.state != State::Incomplete) {
            assert_eq!(
                model.get(&(e.ifindex, e.ip)),
                Some(&e.mac),
                "{} on {}: a MAC address the test never taught there",
                e.ip,
                e.ifindex
            );
        }
    }

    /// The test's devices.
    const DEVS: [i32; 2] = [IF, IF2];

    fn every_packet_comes_out_exactly_once<const N: usize, const Q: usize>(seed: u64) {
        let drops = std::rc::Rc::new(core::cell::Cell::new(0));
        let mut l = Ledger {
            drops: drops.clone(),
            out: Vec::new(),
            came_out: 0,
            sent: 0,
        };
        let mut c: ArpCache<N, Q, Pkt> = ArpCache::new(ArpConfig {
            ageing_ms: 5000,
            retry_ms: 1000,
            max_retries: 2,
        });
        c.add_proxy(Ipv4Address::new(10, 9, 0, 0), 16).unwrap();
        let mut model = Model::new();
        let mut rng = Rng(seed);
        // Start close to the end of u64 so that the clock wraps during the run.
        let mut now = u64::MAX - 40_000;
        let addr = |r: &mut Rng| ip(1 + r.below(10) as u8);
        for step in 0..20_000 {
            // The device of this step's operation, if it has one.
            let dev = DEVS[rng.below(2) as usize];
            match rng.below(100) {
                0..=39 => {
                    let to = if rng.below(50) == 0 {
                        Ipv4Address::BROADCAST
                    } else {
                        addr(&mut rng)
                    };
                    let p = l.packet();
                    match c.resolve_or_queue(dev, to, p, now) {
                        Resolve::Send(m, p) => {
                            assert_eq!(c.lookup(dev, to, now), Lookup::Found(m));
                            assert_eq!(model.get(&(dev, to)), Some(&m));
                            l.sent += 1;
                            l.out(p);
                        }
                        Resolve::Request { evicted, dropped } => {
                            assert_eq!(c.lookup(dev, to, now), Lookup::Pending);
                            l.unresolved(evicted);
                            if let Some(p) = dropped {
                                l.out(p);
                            }
                        }
                        Resolve::Queued { dropped } => {
                            if let Some(p) = dropped {
                                l.out(p);
                            }
                        }
                        Resolve::Refused { packet, .. } => l.out(packet),
                    }
                }
                40..=64 => {
                    let from = addr(&mut rng);
                    // Byte 3 names the device: a host on both links answers with another
                    // card on each.
                    let hw = EthernetAddress([2, 0, 0, dev as u8, rng.below(2) as u8, from.0[3]]);
                    let target = match rng.below(4) {
                        0 => addr(&mut rng),
                        1 => Ipv4Address::new(10, 9, 1, 1),
                        2 => from,
                        _ => US,
                    };
                    let repr = ArpRepr {
                        operation: if rng.below(2) == 0 {
                            ArpOperation::Request
                        } else {
                            ArpOperation::Reply
                        },
                        source_hardware_addr: if rng.below(30) == 0 {
                            EthernetAddress::BROADCAST
                        } else {
                            hw
                        },
                        source_protocol_addr: from,
                        target_hardware_addr: EthernetAddress::ZERO,
                        target_protocol_addr: target,
                    };
                    let others: Vec<_> = c.entries(now).filter(|e| e.ifindex != dev).collect();
                    if let Ok(a) = c.on_arp(dev, &repr, ours, now) {
                        if matches!(
                            a.learned,
                            Learned::Created
                                | Learned::Resolved
                                | Learned::Refreshed
                                | Learned::Changed { .. }
                        ) {
                            model.insert((dev, from), hw);
                        }
                        let evicted = a.evicted.as_ref().map(|u| (u.ifindex, u.ip));
                        // The other device's entries are as they were, but for the one
                        // that made room.
                        let after: Vec<_> = c.entries(now).filter(|e| e.ifindex != dev).collect();
                        let kept: Vec<_> = others
                            .into_iter()
                            .filter(|e| Some((e.ifindex, e.ip)) != evicted)
                            .collect();
                        assert_eq!(
                            after, kept,
                            "step {step}: ARP on {dev} changed another device"
                        );
                        l.ready(a.ready, dev, hw);
                        l.unresolved(a.evicted);
                    }
                }
                65..=84 => {
                    now = match rng.below(20) {
                        0 => now.wrapping_sub(rng.below(3000)), // backwards
                        1 => now.wrapping_add(5000),            // a long sleep
                        _ => now.wrapping_add(rng.below(700)),
                    };
                    let mut events = Vec::new();
                    c.tick(now, |e| events.push(e));
                    for e in events {
                        match e {
                            TimerEvent::Failed(u) => {
                                assert_eq!(c.lookup(u.ifindex, u.ip, now), Lookup::Missing);
                                l.unresolved(Some(u));
                            }
                            TimerEvent::Retry { ifindex, ip } => {
                                assert_eq!(c.lookup(ifindex, ip, now), Lookup::Pending)
                            }
                            TimerEvent::AgedOut { ifindex, ip } => {
                                assert_eq!(c.lookup(ifindex, ip, now), Lookup::Missing)
                            }
                        }
                    }
                }
                85..=89 => {
                    let a = addr(&mut rng);
                    let m = EthernetAddress([2, 0, 1, dev as u8, 0, a.0[3]]);
                    if let Ok(r) = c.add_static(dev, a, m, now) {
                        model.insert((dev, a), m);
                        l.ready(r.ready, dev, m);
                        l.unresolved(r.evicted);
                    }
                }
                90..=97 => {
                    let a = addr(&mut rng);
                    let other = DEVS.iter().map(|&d| c.entry(d, a, now)).collect::<Vec<_>>();
                    let u = c.remove(dev, a);
                    if let Some(u) = &u {
                        assert_eq!((u.ifindex, u.ip), (dev, a));
                    }
                    assert!(c.entry(dev, a, now).is_none());
                    for (d, before) in DEVS.iter().zip(other) {
                        if *d != dev {
                            assert_eq!(c.entry(*d, a, now), before, "remove on {dev}");
                        }
                    }
                    l.unresolved(u);
                }
                _ => {
                    let all = rng.below(2) == 0;
                    let mut gone = Vec::new();
                    if rng.below(2) == 0 {
                        c.flush(all, |u| gone.push(u));
                    } else {
                        let others: Vec<_> = c.entries(now).filter(|e| e.ifindex != dev).collect();
                        c.flush_dev(dev, all, |u| gone.push(u));
                        let after: Vec<_> = c.entries(now).filter(|e| e.ifindex != dev).collect();
                        assert_eq!(after, others, "step {step}: flush of {dev}");
                        assert!(gone.iter().all(|u| u.ifindex == dev));
                        assert!(c
                            .entries(now)
                            .all(|e| e.ifindex != dev || (!all && e.state == State::Static)));
                    }
                    for u in gone {
                        l.unresolved(Some(u));
                    }
                }
            }
            check_invariants(&c, now);
            check_model(&c, &model, now);
            let waiting: usize = c.entries(now).map(|e| e.queued).sum();
            assert_eq!(l.came_out() as usize + waiting, l.out.len(), "step {step}");
            // Every drop so far is one the test did: the cache dropped nothing itself.
            assert_eq!(drops.get(), l.came_out(), "step {step}");
        }
        c.flush(true, |u| l.out_all(u.packets));
        assert!(c.is_empty());
        assert!(l.out.iter().all(|&n| n == 1), "a packet never came out");
        assert_eq!(l.came_out() as usize, l.out.len());
        assert_eq!(drops.get() as usize, l.out.len());
        // The run did exercise both ways out, and the counters add up.
        assert!(l.sent > 0 && l.sent < l.out.len() as u32);
        let k = *c.counters();
        assert!(k.evicted > 0 && k.aged_out > 0 && k.failed_resolutions > 0 && k.queue_drops > 0);
        assert!(k.bad_sender_drops > 0 && k.learned > 0 && k.replies_sent > 0);
    }

    #[test]
    fn property_every_packet_comes_out_exactly_once() {
        for seed in [1, 0x9e37_79b9_7f4a_7c15, 0xdead_beef, 42] {
            every_packet_comes_out_exactly_once::<4, 2>(seed);
            every_packet_comes_out_exactly_once::<3, 1>(seed);
            every_packet_comes_out_exactly_once::<8, 4>(seed);
        }
    }
}
