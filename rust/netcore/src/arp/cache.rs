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
//! ([`ArpCache::flush_dev`]). The limits below are shared by the devices, as Linux's are per
//! table. Proxy prefixes ([`ArpCache::add_proxy`]) are the cache's, not a device's.
//!
//! # The hash table
//!
//! Entries live in a slab, a [`Storage`] of [`Entry`] whose free slots are chained in a free
//! list, and are found through buckets (a [`Storage`] of `u32`, a power of two of them), each
//! the head of a chain through the entries whose hash of (device, address), mixed with a
//! random salt given to [`ArpCache::new`], falls there. A lookup costs O(1) expected, with one
//! neighbour or a hundred thousand. The cache never allocates (see
//! [`super::super::storage`]): [`ArpCache::wants`] says when the slab is 3/4 full (it asks for
//! twice as many slots, 16 to start with, never more than `gc_thresh3`) or when entries
//! outnumber buckets (twice as many buckets); the caller allocates that where it may sleep,
//! and [`ArpCache::adopt`] moves the cache into it under the caller's lock, keeping every
//! entry, its slot, its packets and its place in the timer lists, and hands back the old
//! storage to be freed after the lock. A new entry that finds no free slot (the storage has
//! not grown yet, or its allocation failed) is refused with [`Refusal::NoMemory`].
//!
//! # Limits and garbage collection
//!
//! As Linux's neighbour table ([`ArpConfig`]'s `gc_thresh1` to `gc_thresh3`):
//! - A new entry made while the cache holds `gc_thresh3` entries or more, or `gc_thresh2` or
//!   more when the last forced GC is more than 5 s old, first runs a forced GC
//!   (`neigh_forced_gc`): resolved (`Reachable`) entries are removed, least recently
//!   confirmed first, until fewer than `gc_thresh2` are left. Static and `Incomplete` entries
//!   are never collected. If `gc_thresh3` entries or more are still there, the new entry is
//!   refused with [`Refusal::Full`].
//! - Every `gc_interval_ms`, when the cache holds more than `gc_thresh1` entries, the
//!   periodic GC (`neigh_periodic_work`) removes the `Reachable` entries neither used nor
//!   confirmed for more than `gc_stale_ms`, and stops when `gc_thresh1` are left. It walks
//!   the slots with a cursor, [`GC_BATCH`] slots per call of [`ArpCache::poll_timers`] (at
//!   most one batch per millisecond of the clock), the batches of one pass spread over the
//!   interval, so that no timer call walks the whole table.
//! - At or below `gc_thresh1` nothing is collected; ageing applies as always.
//!
//! # States and timers
//!
//! Each entry holds up to `Q` parked packets of an opaque caller type `P` (a kernel sk_buff
//! handle in rvnet), and at most `unres_qlen_bytes` bytes of them (the sizes the caller
//! gives, its `truesize`): the oldest are pushed out first ([`Dropped`]). Linux's neighbour
//! state machine is reduced to three states ([`State`]): `Incomplete` (a request is out),
//! `Reachable` (resolved and not older than the ageing time) and `Static` (configured: never
//! aged, never collected). A failed resolution simply removes the entry, and an entry older
//! than the ageing time is as good as absent: [`ArpCache::lookup`] reports it missing,
//! resolving it again starts a new request, and [`ArpCache::tick`] removes it.
//!
//! Timers cost O(1) per event: `Incomplete` entries are kept on a list in the order of their
//! last request, `Reachable` ones on another in the order of their last confirmation. Every
//! deadline of a list is its stamp plus one constant (`retry_ms`, `ageing_ms`) and a stamp is
//! only ever moved to now (the entry goes to the tail), so each list is in deadline order and
//! [`ArpCache::poll_timers`] and [`ArpCache::next_timer_in`] look at their heads only. (When
//! the clock goes backwards the order may be off by the size of the jump, which delays an
//! event by at most that much.)
//!
//! The cache never reads a clock (time comes in as `now_ms`, milliseconds of any monotonic
//! clock; see [`elapsed`] for how wrap-around and a clock going backwards are read) and never
//! sends anything: each call returns what the caller must do, the caller does it after
//! dropping its lock. Nothing is lost on the way: every packet handed to the cache comes out
//! exactly once, either with a MAC address to be sent ([`Resolve::Send`], [`Ready`]) or to be
//! freed ([`Unresolved`], [`Dropped`], [`Resolve::Refused`]). Whatever leaves the cache names
//! the entry's device, so that the caller sends or answers on the right one.

use super::super::storage::{fresh_index, grow_slab, Grow, Storage, Want};
use super::super::wire::{ArpOperation, ArpRepr, EthernetAddress, Ipv4Address};
use super::proxy::{ProxyError, ProxyTable};
use super::queue::{Dropped, Packets};
use core::fmt;

/// How long a resolved entry stays valid without being confirmed: 20 minutes.
pub const DEFAULT_AGEING_MS: u64 = 20 * 60 * 1000;
/// Interval between two requests for an unresolved address: 1 second.
pub const DEFAULT_RETRY_MS: u64 = 1000;
/// Requests re-sent after the first before a resolution fails.
pub const DEFAULT_MAX_RETRIES: u8 = 3;
/// Entries below which the GC collects nothing (Linux's `gc_thresh1`).
pub const DEFAULT_GC_THRESH1: u32 = 128;
/// Entries from which a new entry runs a forced GC if the last is 5 s old (`gc_thresh2`).
pub const DEFAULT_GC_THRESH2: u32 = 512;
/// Entries the cache holds at most (`gc_thresh3`).
pub const DEFAULT_GC_THRESH3: u32 = 1024;
/// Interval of the periodic GC: 30 seconds (`gc_interval`).
pub const DEFAULT_GC_INTERVAL_MS: u64 = 30_000;
/// A resolved entry neither used nor confirmed for this long is stale: 60 seconds
/// (`gc_stale_time`).
pub const DEFAULT_GC_STALE_MS: u64 = 60_000;
/// Bytes an entry's queue holds at most (`unres_qlen_bytes`: 212 992, `SK_WMEM_MAX`).
pub const DEFAULT_UNRES_QLEN_BYTES: u32 = 212_992;
/// Slots the periodic GC looks at in one call of [`ArpCache::poll_timers`].
pub const GC_BATCH: usize = 256;
/// A forced GC below `gc_thresh3` runs at most this often (Linux: 5 seconds).
const FORCED_GC_MIN_MS: u64 = 5000;

/// End of a chain or a list.
const NIL: u32 = u32::MAX;
/// Slots of the first allocation.
const FIRST_SLOTS: usize = 16;
/// Buckets of the first allocation.
const FIRST_BUCKETS: usize = 16;
/// Most buckets the cache uses: 2^24 (the bucket is the hash's top bits).
const MAX_BUCKETS: usize = 1 << 24;

/// Timing and limits of the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpConfig {
    /// A `Reachable` entry not confirmed for this long is expired and removed by `tick`.
    pub ageing_ms: u64,
    /// An `Incomplete` entry sends a new request after this long without an answer.
    pub retry_ms: u64,
    /// Requests sent again after the first one. With the defaults the requests go out at
    /// 0, 1, 2 and 3 seconds and the resolution fails at 4 seconds.
    pub max_retries: u8,
    /// At or below this many entries, the GC collects nothing.
    pub gc_thresh1: u32,
    /// From this many entries, a new entry runs a forced GC (at most every 5 s), which
    /// brings the cache below it if enough entries are resolved.
    pub gc_thresh2: u32,
    /// The cache holds at most this many entries: beyond, new ones are refused
    /// ([`Refusal::Full`]) once a forced GC found nothing to remove. The slab never grows
    /// beyond it.
    pub gc_thresh3: u32,
    /// The periodic GC looks at every entry once per this interval.
    pub gc_interval_ms: u64,
    /// The periodic GC removes resolved entries neither used nor confirmed for longer.
    pub gc_stale_ms: u64,
    /// Total size of the packets an `Incomplete` entry holds at most.
    pub unres_qlen_bytes: u32,
}

impl Default for ArpConfig {
    fn default() -> Self {
        ArpConfig {
            ageing_ms: DEFAULT_AGEING_MS,
            retry_ms: DEFAULT_RETRY_MS,
            max_retries: DEFAULT_MAX_RETRIES,
            gc_thresh1: DEFAULT_GC_THRESH1,
            gc_thresh2: DEFAULT_GC_THRESH2,
            gc_thresh3: DEFAULT_GC_THRESH3,
            gc_interval_ms: DEFAULT_GC_INTERVAL_MS,
            gc_stale_ms: DEFAULT_GC_STALE_MS,
            unres_qlen_bytes: DEFAULT_UNRES_QLEN_BYTES,
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
    /// The cache holds `gc_thresh3` entries and a forced GC found none to remove (they are
    /// static or being resolved): Linux's "neighbour table overflow".
    Full,
    /// No free slot in the entries' storage: it has not grown yet ([`ArpCache::wants`]) or
    /// its allocation failed.
    NoMemory,
}

/// Packets leaving the cache without a MAC address: their entry failed or was removed. The caller answers their senders (EHOSTUNREACH) and frees them.
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
        /// The first entry a forced GC removed to make room (it holds no packets: the GC
        /// takes resolved entries only; any others it removed are counted in
        /// [`ArpCounters::evicted`]).
        evicted: Option<Unresolved<Q, P>>,
        /// Packets that cannot wait: the packet itself when `Q` is 0 or it is larger than
        /// `unres_qlen_bytes`. Free them and count them.
        dropped: Dropped<Q, P>,
    },
    /// A request is already out; the packet waits with the others.
    Queued {
        /// The oldest waiting packets, pushed out of a queue holding `Q` packets or
        /// `unres_qlen_bytes` bytes (or the packet itself, if it can never fit): free them
        /// and count them.
        dropped: Dropped<Q, P>,
    },
    /// The packet was not taken: free it and count it.
    Refused {
        /// The packet.
        packet: P,
        /// Why: [`Refusal::BadIp`], [`Refusal::Full`] or [`Refusal::NoMemory`].
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
    /// The sender should have been added, but the cache is full ([`Refusal::Full`]).
    NoRoom,
    /// The sender should have been added, but there was no free slot
    /// ([`Refusal::NoMemory`]).
    NoMemory,
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
    /// The first entry a forced GC removed to make room for the sender (without packets;
    /// see [`Resolve::Request`]).
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
    /// The first entry a forced GC removed to make room for the static one (without
    /// packets; see [`Resolve::Request`]).
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
    /// Their total size in bytes.
    pub queued_bytes: u32,
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
    /// Entries a forced GC removed to make room.
    pub evicted: u64,
    /// Stale entries the periodic GC removed.
    pub gc_removed: u64,
    /// Forced GC runs.
    pub forced_gcs: u64,
    /// New entries refused because the cache was full ([`Refusal::Full`]).
    pub table_full: u64,
    /// New entries refused for want of a free slot ([`Refusal::NoMemory`]).
    pub no_memory: u64,
    /// Resolved entries removed at the end of their ageing time.
    pub aged_out: u64,
    /// Resolutions that failed after the last retry.
    pub failed_resolutions: u64,
    /// Packets put in a queue to wait for a resolution.
    pub queued: u64,
    /// Packets pushed out of a full queue (by count or by bytes), or that could not wait.
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
        gc_removed: 0,
        forced_gcs: 0,
        table_full: 0,
        no_memory: 0,
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

/// One slot of the cache's slab: the element type of its entries' [`Storage`]. A free slot
/// (the [`Default`]) is chained in the free list; its fields are the cache's own.
pub struct Entry<const Q: usize, P> {
    /// In use (false: a free slot).
    live: bool,
    ifindex: i32,
    ip: Ipv4Address,
    mac: EthernetAddress,
    state: State,
    /// When the entry was created or confirmed (`Reachable`, `Static`) or last sent a
    /// request (`Incomplete`): the order of its timer list.
    updated_ms: u64,
    /// When the entry was created, confirmed or last used to send a packet (the periodic
    /// GC's measure of staleness).
    used_ms: u64,
    /// Requests re-sent since the first (`Incomplete`).
    retries: u8,
    /// Waiting packets; empty unless `Incomplete`.
    queue: Packets<Q, P>,
    /// The next entry of the hash chain (or of the free list).
    next: u32,
    /// The neighbours in the timer list of the entry's state (none for `Static`).
    prev_t: u32,
    next_t: u32,
}

impl<const Q: usize, P> Default for Entry<Q, P> {
    /// A free slot.
    fn default() -> Self {
        Entry {
            live: false,
            ifindex: 0,
            ip: Ipv4Address::UNSPECIFIED,
            mac: EthernetAddress::ZERO,
            state: State::Static,
            updated_ms: 0,
            used_ms: 0,
            retries: 0,
            queue: Packets::new(),
            next: NIL,
            prev_t: NIL,
            next_t: NIL,
        }
    }
}

impl<const Q: usize, P> fmt::Debug for Entry<Q, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("live", &self.live)
            .field("ifindex", &self.ifindex)
            .field("ip", &self.ip)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<const Q: usize, P> Entry<Q, P> {
    fn info(&self, now_ms: u64) -> EntryInfo {
        EntryInfo {
            ifindex: self.ifindex,
            ip: self.ip,
            mac: self.mac,
            state: self.state,
            age_ms: elapsed(now_ms, self.updated_ms),
            retries: self.retries,
            queued: self.queue.len(),
            queued_bytes: self.queue.bytes(),
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

    /// True if this is the live entry of `ip` on device `ifindex`.
    fn is(&self, ifindex: i32, ip: Ipv4Address) -> bool {
        self.live && self.ifindex == ifindex && self.ip == ip
    }
}

/// The two timer lists.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ListId {
    Incomplete,
    Reachable,
}

/// The list an entry of `state` is on.
fn list_of(state: State) -> Option<ListId> {
    match state {
        State::Incomplete => Some(ListId::Incomplete),
        State::Reachable => Some(ListId::Reachable),
        State::Static => None,
    }
}

/// A doubly linked list through the entries' `prev_t`/`next_t`, oldest stamp first.
#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

impl List {
    const EMPTY: List = List {
        head: NIL,
        tail: NIL,
    };
}

/// True when `then_ms` lies in the future of `now_ms` (the clock went backwards).
fn in_future(now_ms: u64, then_ms: u64) -> bool {
    now_ms.wrapping_sub(then_ms) > u64::MAX >> 1
}

/// The ARP cache: a hash table of entries, each holding up to `Q` packets of type `P` while
/// it resolves, in storage the embedder provides: the entries' slab `E` and the buckets `B`.
///
/// Entries are keyed by device and address (see the module's documentation); the limits are
/// shared by every device. Every `P` given to the cache comes back exactly once: in
/// [`Resolve::Send`], [`Ready::packets`] (to send), or in a [`Dropped`],
/// [`Resolve::Refused`] or [`Unresolved::packets`] (to free).
pub struct ArpCache<const Q: usize, P, E: Storage<Entry<Q, P>>, B: Storage<u32>> {
    config: ArpConfig,
    entries: E,
    buckets: B,
    /// Head of the free list of slots.
    free: u32,
    /// Live entries.
    len: usize,
    salt: u32,
    incomplete: List,
    reachable: List,
    /// When the last forced GC ran.
    last_forced_gc: Option<u64>,
    /// When the next batch of the periodic GC is due (`None`: at the next poll).
    gc_due_ms: Option<u64>,
    /// The slot the periodic GC looks at next.
    gc_cursor: u32,
    proxy: ProxyTable,
    counters: ArpCounters,
    _p: core::marker::PhantomData<P>,
}

impl<const Q: usize, P, E: Storage<Entry<Q, P>>, B: Storage<u32>> Default for ArpCache<Q, P, E, B> {
    fn default() -> Self {
        Self::new(ArpConfig::default(), 0)
    }
}

impl<const Q: usize, P, E: Storage<Entry<Q, P>>, B: Storage<u32>> ArpCache<Q, P, E, B> {
    /// An empty cache hashing with the random `salt`, in `E::default()` and `B::default()`:
    /// no room at all with growable storage (grow it with [`Self::wants`] and
    /// [`Self::adopt`]), and room at once with storage of fixed capacity
    /// ([`super::super::storage::Fixed`]), whose buckets are set up here.
    pub fn new(config: ArpConfig, salt: u32) -> Self {
        let (Ok(buckets) | Err(buckets)) = fresh_index(B::default(), 0, MAX_BUCKETS, NIL);
        ArpCache {
            config,
            entries: E::default(),
            buckets,
            free: NIL,
            len: 0,
            salt,
            incomplete: List::EMPTY,
            reachable: List::EMPTY,
            last_forced_gc: None,
            gc_due_ms: None,
            gc_cursor: 0,
            proxy: ProxyTable::new(),
            counters: ArpCounters::ZERO,
            _p: core::marker::PhantomData,
        }
    }

    /// The timing and limits in use.
    pub fn config(&self) -> ArpConfig {
        self.config
    }

    /// Changes the timing and limits; existing entries are judged by the new values from now
    /// on (entries beyond a lowered `gc_thresh3` stay until collected).
    pub fn set_config(&mut self, config: ArpConfig) {
        self.config = config;
    }

    /// The event counts.
    pub fn counters(&self) -> &ArpCounters {
        &self.counters
    }

    /// Slots of the entries' storage: entries the cache can hold before it must grow.
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Number of buckets (a power of two, or 0 before the first growth).
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Number of entries, expired ones included until `tick` removes them.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most slots the cache asks for: `gc_thresh3`, within the `u32` slot numbers.
    fn slot_limit(&self) -> usize {
        usize::try_from(self.config.gc_thresh3)
            .unwrap_or(usize::MAX)
            .min(NIL as usize)
    }

    /// What storage the cache should get before it fills up: a slab twice as large (16 slots
    /// to start with, never more than `gc_thresh3`) once 3/4 of its slots are taken, twice the
    /// buckets (16 to start with) once the entries outnumber them. Allocate it where you may
    /// sleep and hand it to [`Self::adopt`].
    pub fn wants(&self) -> Want {
        let mut w = Want::default();
        let cap = self.entries.capacity();
        let limit = self.slot_limit();
        if cap < limit {
            if cap == 0 {
                w.entries = FIRST_SLOTS.min(limit);
            } else if self.len.saturating_mul(4) >= cap.saturating_mul(3) {
                w.entries = cap.saturating_mul(2).min(limit);
            }
        }
        let n = self.buckets.len();
        if n == 0 {
            w.index = FIRST_BUCKETS;
        } else if self.len > n && n < MAX_BUCKETS {
            w.index = n.saturating_mul(2);
        }
        w
    }

    /// Moves the cache into the storage given (either may be `None`): `entries` must be empty
    /// and larger than the current slab; `buckets` must be empty with room for more buckets
    /// than the cache has (it takes the largest power of two that fits, up to 2^24), and the
    /// entries are rehashed into them. Every entry keeps its slot, packets and timers.
    /// Returns what the caller must free after its lock: the storage replaced, or what was
    /// given and did not fit.
    pub fn adopt(&mut self, entries: Option<E>, buckets: Option<B>) -> (Option<E>, Option<B>) {
        let old_entries = entries.map(|new| grow_slab(&mut self.entries, new));
        let old_buckets = buckets.map(|new| {
            let have = self.buckets.len();
            match fresh_index(new, have, MAX_BUCKETS, NIL) {
                Ok(new) => {
                    let old = core::mem::replace(&mut self.buckets, new);
                    self.rehash();
                    old
                }
                Err(new) => new,
            }
        });
        (old_entries, old_buckets)
    }

    /// Re-links every live entry into the current buckets.
    fn rehash(&mut self) {
        for i in 0..self.slots() {
            if self.get(i).is_some_and(|e| e.live) {
                self.link(i);
            }
        }
    }

    /// Slots in use or on the free list.
    fn slots(&self) -> u32 {
        u32::try_from(self.entries.len()).unwrap_or(NIL)
    }

    fn get(&self, i: u32) -> Option<&Entry<Q, P>> {
        self.entries.get(i as usize)
    }

    fn get_mut(&mut self, i: u32) -> Option<&mut Entry<Q, P>> {
        self.entries.get_mut(i as usize)
    }

    fn hash(&self, ifindex: i32, ip: Ipv4Address) -> u32 {
        // The address and the device mixed with the salt, then murmur3's finaliser.
        let mut h = u32::from_be_bytes(ip.0) ^ self.salt;
        h = h.wrapping_add((ifindex as u32).rotate_left(16).wrapping_mul(0x9e37_79b1));
        h ^= h >> 16;
        h = h.wrapping_mul(0x85eb_ca6b);
        h ^= h >> 13;
        h = h.wrapping_mul(0xc2b2_ae35);
        h ^ (h >> 16)
    }

    /// The bucket of (`ifindex`, `ip`): the top bits of its hash.
    fn bucket_of(&self, ifindex: i32, ip: Ipv4Address) -> Option<usize> {
        let n = self.buckets.len();
        match n {
            0 => None,
            1 => Some(0),
            _ => Some((self.hash(ifindex, ip) >> (32 - n.trailing_zeros())) as usize),
        }
    }

    /// The slot of the entry of `ip` on `ifindex`.
    fn find_slot(&self, ifindex: i32, ip: Ipv4Address) -> Option<u32> {
        let b = self.bucket_of(ifindex, ip)?;
        let mut i = self.buckets.get(b).copied().unwrap_or(NIL);
        // A chain holds at most every slot: the bound stops a corrupted one.
        let mut left = self.entries.len();
        while i != NIL && left > 0 {
            let e = self.get(i)?;
            if e.is(ifindex, ip) {
                return Some(i);
            }
            i = e.next;
            left -= 1;
        }
        None
    }

    fn find(&self, ifindex: i32, ip: Ipv4Address) -> Option<&Entry<Q, P>> {
        self.find_slot(ifindex, ip).and_then(|i| self.get(i))
    }

    /// Puts slot `i` at the head of its chain.
    fn link(&mut self, i: u32) {
        let Some((ifindex, ip)) = self.get(i).map(|e| (e.ifindex, e.ip)) else {
            return;
        };
        let Some(head) = self
            .bucket_of(ifindex, ip)
            .and_then(|b| self.buckets.get_mut(b))
        else {
            return;
        };
        let old = core::mem::replace(head, i);
        if let Some(e) = self.get_mut(i) {
            e.next = old;
        }
    }

    /// Takes slot `i` out of its chain.
    fn unlink(&mut self, i: u32) {
        let Some((ifindex, ip, next)) = self.get(i).map(|e| (e.ifindex, e.ip, e.next)) else {
            return;
        };
        let Some(b) = self.bucket_of(ifindex, ip) else {
            return;
        };
        let Some(head) = self.buckets.get_mut(b) else {
            return;
        };
        if *head == i {
            *head = next;
            return;
        }
        let mut j = *head;
        let mut left = self.entries.len();
        while j != NIL && left > 0 {
            let Some(e) = self.get_mut(j) else {
                return;
            };
            if e.next == i {
                e.next = next;
                return;
            }
            j = e.next;
            left -= 1;
        }
    }

    fn list(&mut self, id: ListId) -> &mut List {
        match id {
            ListId::Incomplete => &mut self.incomplete,
            ListId::Reachable => &mut self.reachable,
        }
    }

    /// Takes slot `i` off the timer list of its state.
    fn detach(&mut self, i: u32) {
        let Some((state, prev, next)) = self.get(i).map(|e| (e.state, e.prev_t, e.next_t)) else {
            return;
        };
        let Some(id) = list_of(state) else {
            return;
        };
        match self.get_mut(prev) {
            Some(p) => p.next_t = next,
            None => self.list(id).head = next,
        }
        match self.get_mut(next) {
            Some(n) => n.prev_t = prev,
            None => self.list(id).tail = prev,
        }
        if let Some(e) = self.get_mut(i) {
            e.prev_t = NIL;
            e.next_t = NIL;
        }
    }

    /// Puts slot `i` at the tail of the timer list of its state.
    fn attach(&mut self, i: u32) {
        let Some(id) = self.get(i).and_then(|e| list_of(e.state)) else {
            return;
        };
        let tail = self.list(id).tail;
        if let Some(e) = self.get_mut(i) {
            e.prev_t = tail;
            e.next_t = NIL;
        }
        match self.get_mut(tail) {
            Some(t) => t.next_t = i,
            None => self.list(id).head = i,
        }
        self.list(id).tail = i;
    }

    /// Gives slot `i` the state `state` stamped `now_ms`, at the tail of its timer list.
    fn restamp(&mut self, i: u32, state: State, now_ms: u64) {
        self.detach(i);
        if let Some(e) = self.get_mut(i) {
            e.state = state;
            e.updated_ms = now_ms;
        }
        self.attach(i);
    }

    /// Removes the entry in slot `i`, handing back its packets.
    fn remove_slot(&mut self, i: u32) -> Option<Unresolved<Q, P>> {
        if !self.get(i).is_some_and(|e| e.live) {
            return None;
        }
        self.detach(i);
        self.unlink(i);
        let free = self.free;
        let e = self.get_mut(i)?;
        e.live = false;
        e.next = free;
        let out = Unresolved {
            ifindex: e.ifindex,
            ip: e.ip,
            packets: e.queue.take_all(),
        };
        self.free = i;
        self.len = self.len.saturating_sub(1);
        Some(out)
    }

    /// Neigh_forced_gc: removes `Reachable` entries, least recently confirmed first, until
    /// fewer than `gc_thresh2` are left; returns the first one removed.
    fn forced_gc(&mut self, now_ms: u64) -> Option<Unresolved<Q, P>> {
        self.last_forced_gc = Some(now_ms);
        bump(&mut self.counters.forced_gcs);
        let target = usize::try_from(self.config.gc_thresh2).unwrap_or(usize::MAX);
        let mut first = None;
        while self.len >= target {
            let Some(old) = self.remove_slot(self.reachable.head) else {
                break;
            };
            bump(&mut self.counters.evicted);
            add(&mut self.counters.unresolved_drops, old.packets.len());
            if first.is_none() {
                first = Some(old);
            } else {
                // A resolved entry holds no packet: nothing is lost here.
                drop(old);
            }
        }
        first
    }

    /// A slot for a new entry (see the module's documentation for the limits), and the first
    /// entry a forced GC removed.
    fn claim_slot(&mut self, now_ms: u64) -> Result<(u32, Option<Unresolved<Q, P>>), Refusal> {
        let cfg = self.config;
        let t2 = usize::try_from(cfg.gc_thresh2).unwrap_or(usize::MAX);
        let t3 = usize::try_from(cfg.gc_thresh3).unwrap_or(usize::MAX);
        let forced_due = match self.last_forced_gc {
            None => true,
            Some(t) => elapsed(now_ms, t) > FORCED_GC_MIN_MS,
        };
        let evicted = if self.len >= t3 || (self.len >= t2 && forced_due) {
            self.forced_gc(now_ms)
        } else {
            None
        };
        if self.len >= t3 {
            bump(&mut self.counters.table_full);
            return Err(Refusal::Full);
        }
        let slot = self.take_slot();
        match slot {
            Some(i) => Ok((i, evicted)),
            None => {
                bump(&mut self.counters.no_memory);
                Err(Refusal::NoMemory)
            }
        }
    }

    /// A free slot, from the free list or the slab's spare capacity.
    fn take_slot(&mut self) -> Option<u32> {
        if self.buckets.is_empty() {
            return None;
        }
        if self.free != NIL {
            let i = self.free;
            self.free = self.get(i).map_or(NIL, |e| e.next);
            return Some(i);
        }
        let i = self.slots();
        if i == NIL {
            return None;
        }
        self.entries.push_within_capacity(Entry::default()).ok()?;
        Some(i)
    }

    /// Makes a new entry (claiming a slot as [`Self::claim_slot`] does).
    fn insert(
        &mut self,
        ifindex: i32,
        ip: Ipv4Address,
        mac: EthernetAddress,
        state: State,
        now_ms: u64,
    ) -> Result<(u32, Option<Unresolved<Q, P>>), Refusal> {
        let (i, evicted) = self.claim_slot(now_ms)?;
        let Some(e) = self.get_mut(i) else {
            return Err(Refusal::NoMemory);
        };
        e.live = true;
        e.ifindex = ifindex;
        e.ip = ip;
        e.mac = mac;
        e.state = state;
        e.updated_ms = now_ms;
        e.used_ms = now_ms;
        e.retries = 0;
        e.next = NIL;
        e.prev_t = NIL;
        e.next_t = NIL;
        self.len = self.len.saturating_add(1);
        self.link(i);
        self.attach(i);
        Ok((i, evicted))
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
        self.entries
            .iter()
            .filter(|e| e.live)
            .map(move |e| e.info(now_ms))
    }

    /// The entries from slot `slot` on, in slot order, each with the slot to resume at (its
    /// own plus one): a `/proc` or netlink dump that drops its lock between chunks resumes
    /// there, and misses no entry that stays in the cache meanwhile.
    pub fn iter_from(
        &self,
        slot: usize,
        now_ms: u64,
    ) -> impl Iterator<Item = (usize, EntryInfo)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .skip(slot)
            .filter(|(_, e)| e.live)
            .map(move |(i, e)| (i.saturating_add(1), e.info(now_ms)))
    }

    /// The device and address of a resolved (`Reachable`, possibly expired, or `Static`)
    /// entry with MAC address `mac`; the first in slot order when several share it (a router
    /// proxying for others, or a host on two links with one card). A scan of every entry.
    pub fn reverse(&self, mac: EthernetAddress) -> Option<(i32, Ipv4Address)> {
        self.entries
            .iter()
            .find(|e| e.live && e.state != State::Incomplete && e.mac == mac)
            .map(|e| (e.ifindex, e.ip))
    }

    /// Finds the MAC address for a packet to `ip` (the next hop) on device `ifindex` (the one
    /// the packet leaves by), or parks the packet, of `bytes` bytes (its truesize), until it
    /// is known. Only that device's entry counts: an address known on another device is
    /// unknown here. See [`Resolve`] for what the caller then does.
    pub fn resolve_or_queue(
        &mut self,
        ifindex: i32,
        ip: Ipv4Address,
        packet: P,
        bytes: u32,
        now_ms: u64,
    ) -> Resolve<Q, P> {
        if !is_neighbour_ip(ip) {
            return Resolve::Refused {
                packet,
                reason: Refusal::BadIp,
            };
        }
        let cfg = self.config;
        if let Some(i) = self.find_slot(ifindex, ip) {
            let Some(e) = self.get_mut(i) else {
                return Resolve::Refused {
                    packet,
                    reason: Refusal::NoMemory,
                };
            };
            if let Some(mac) = e.valid_mac(now_ms, cfg.ageing_ms) {
                e.used_ms = now_ms;
                return Resolve::Send(mac, packet);
            }
            let dropped = e.queue.push_bounded(packet, bytes, cfg.unres_qlen_bytes);
            let incomplete = e.state == State::Incomplete;
            bump(&mut self.counters.queued);
            add(&mut self.counters.queue_drops, dropped.len());
            if incomplete {
                return Resolve::Queued { dropped };
            }
            // An expired entry resolves again in place (its queue was empty).
            if let Some(e) = self.get_mut(i) {
                e.mac = EthernetAddress::ZERO;
                e.retries = 0;
            }
            self.restamp(i, State::Incomplete, now_ms);
            bump(&mut self.counters.requests_sent);
            return Resolve::Request {
                evicted: None,
                dropped,
            };
        }
        let (i, evicted) = match self.insert(
            ifindex,
            ip,
            EthernetAddress::ZERO,
            State::Incomplete,
            now_ms,
        ) {
            Ok(s) => s,
            Err(reason) => return Resolve::Refused { packet, reason },
        };
        let dropped = match self.get_mut(i) {
            Some(e) => e.queue.push_bounded(packet, bytes, cfg.unres_qlen_bytes),
            // Cannot happen (the slot was just filled), but the packet is not lost.
            None => Dropped::one(packet),
        };
        bump(&mut self.counters.queued);
        add(&mut self.counters.queue_drops, dropped.len());
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
    ///    and the sender was not cached on `ifindex`, it is added there, within the limits
    ///    (see the module's documentation: a forced GC may make room, or the sender is not
    ///    learned, [`Learned::NoRoom`] or [`Learned::NoMemory`]). A gratuitous ARP (sender = target) is never for
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
        let found = self.find_slot(ifindex, sip);
        if let Some(i) = found {
            if let Some(e) = self.get_mut(i) {
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
                    e.mac = sha;
                    e.retries = 0;
                    e.used_ms = now_ms;
                }
            }
            if learned != Learned::Static {
                self.restamp(i, State::Reachable, now_ms);
            }
        }
        let merged = found.is_some();
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
            match self.insert(ifindex, sip, sha, State::Reachable, now_ms) {
                Ok((_, ev)) => {
                    evicted = ev;
                    learned = Learned::Created;
                }
                Err(Refusal::NoMemory) => learned = Learned::NoMemory,
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
    /// an entry or counts a retry, so the loop ends; each call looks only at the heads of the
    /// timer lists, plus one batch of the periodic GC when it is due.
    ///
    /// - An `Incomplete` entry whose last request is `retry_ms` old sends another on its
    ///   device ([`TimerEvent::Retry`]) until it has re-sent `max_retries`; one more `retry_ms`
    ///   without an answer and it is removed ([`TimerEvent::Failed`]).
    /// - A `Reachable` entry not confirmed for `ageing_ms` is removed
    ///   ([`TimerEvent::AgedOut`]).
    /// - With more than `gc_thresh1` entries, the periodic GC removes stale ones silently
    ///   (they hold no packets; [`ArpCounters::gc_removed`] counts them).
    ///
    /// An entry at the head of a list stamped in the future (the clock went backwards) is
    /// restamped `now_ms`, so that it lives at most one more period.
    pub fn poll_timers(&mut self, now_ms: u64) -> Option<TimerEvent<Q, P>> {
        self.periodic_gc(now_ms);
        let cfg = self.config;
        let h = self.incomplete.head;
        if let Some(e) = self.get_mut(h) {
            if in_future(now_ms, e.updated_ms) {
                e.updated_ms = now_ms;
            }
            if elapsed(now_ms, e.updated_ms) >= cfg.retry_ms {
                if e.retries < cfg.max_retries {
                    e.retries = e.retries.saturating_add(1);
                    let (ifindex, ip) = (e.ifindex, e.ip);
                    self.restamp(h, State::Incomplete, now_ms);
                    bump(&mut self.counters.requests_sent);
                    return Some(TimerEvent::Retry { ifindex, ip });
                }
                if let Some(old) = self.remove_slot(h) {
                    bump(&mut self.counters.failed_resolutions);
                    add(&mut self.counters.unresolved_drops, old.packets.len());
                    return Some(TimerEvent::Failed(old));
                }
            }
        }
        let h = self.reachable.head;
        if let Some(e) = self.get_mut(h) {
            if in_future(now_ms, e.updated_ms) {
                e.updated_ms = now_ms;
            }
            if elapsed(now_ms, e.updated_ms) >= cfg.ageing_ms {
                if let Some(old) = self.remove_slot(h) {
                    bump(&mut self.counters.aged_out);
                    add(&mut self.counters.unresolved_drops, old.packets.len());
                    let (ifindex, ip) = (old.ifindex, old.ip);
                    // A resolved entry holds no packet: nothing is lost here.
                    drop(old);
                    return Some(TimerEvent::AgedOut { ifindex, ip });
                }
            }
        }
        None
    }

    /// True when more than `gc_thresh1` entries are held: the periodic GC has work.
    fn over_thresh1(&self) -> bool {
        self.len > usize::try_from(self.config.gc_thresh1).unwrap_or(usize::MAX)
    }

    /// One batch of the periodic GC, if one is due: up to [`GC_BATCH`] slots from the
    /// cursor, removing the stale `Reachable` entries while more than `gc_thresh1` are left.
    /// The batches of a pass are spread over `gc_interval_ms`, at least 1 ms apart, so a
    /// `tick` runs one batch at most.
    fn periodic_gc(&mut self, now_ms: u64) {
        let cfg = self.config;
        if !self.over_thresh1() {
            return;
        }
        let step = cfg.gc_interval_ms.max(1);
        if let Some(due) = self.gc_due_ms {
            let ahead = due.wrapping_sub(now_ms);
            // Due (at or before now), or so far ahead that the clock went backwards.
            let due_now = ahead == 0 || in_future(due, now_ms) || ahead > step;
            if !due_now {
                return;
            }
        }
        let slots = self.slots();
        let mut i = self.gc_cursor.min(slots);
        let end = i
            .saturating_add(u32::try_from(GC_BATCH).unwrap_or(NIL))
            .min(slots);
        while i < end && self.over_thresh1() {
            let stale = self.get(i).is_some_and(|e| {
                e.live
                    && e.state == State::Reachable
                    && elapsed(now_ms, e.used_ms) > cfg.gc_stale_ms
            });
            if stale {
                if let Some(old) = self.remove_slot(i) {
                    bump(&mut self.counters.gc_removed);
                    add(&mut self.counters.unresolved_drops, old.packets.len());
                    // A resolved entry holds no packet: nothing is lost here.
                    drop(old);
                }
            }
            i = i.saturating_add(1);
        }
        if i >= slots {
            // The pass is over: the next one starts an interval from now.
            self.gc_cursor = 0;
            self.gc_due_ms = Some(now_ms.wrapping_add(step));
        } else {
            self.gc_cursor = i;
            let batches = u64::from(slots).div_ceil(GC_BATCH as u64).max(1);
            self.gc_due_ms = Some(now_ms.wrapping_add((step / batches).max(1)));
        }
    }

    /// Does all timer work due at `now_ms`, handing each event to `f` (see
    /// [`Self::poll_timers`]).
    pub fn tick(&mut self, now_ms: u64, mut f: impl FnMut(TimerEvent<Q, P>)) {
        while let Some(ev) = self.poll_timers(now_ms) {
            f(ev);
        }
    }

    /// Milliseconds from `now_ms` until timer work is next due (0: now), or `None` when no
    /// entry can ever need any (only static entries, or none, and no GC to do): when to arm
    /// the timer.
    pub fn next_timer_in(&self, now_ms: u64) -> Option<u64> {
        let cfg = self.config;
        let wait = |i: u32, period: u64| {
            self.get(i)
                .map(|e| period.saturating_sub(elapsed(now_ms, e.updated_ms)))
        };
        let retry = wait(self.incomplete.head, cfg.retry_ms);
        let age = wait(self.reachable.head, cfg.ageing_ms);
        let gc = self.over_thresh1().then(|| match self.gc_due_ms {
            None => 0,
            Some(due) if in_future(due, now_ms) => 0,
            Some(due) => due.wrapping_sub(now_ms).min(cfg.gc_interval_ms.max(1)),
        });
        [retry, age, gc].into_iter().flatten().min()
    }

    /// Adds or replaces the static entry of `ip` on device `ifindex` (`ip neigh add … dev D
    /// nud permanent`). An `Incomplete` entry for `ip` on that device becomes static and
    /// releases its packets (entries on other devices are left alone). A new static entry
    /// counts in the limits as any other (a forced GC may make room). Refused for a
    /// non-unicast MAC address, an address no neighbour can own, a full cache
    /// ([`Refusal::Full`]) or no free slot ([`Refusal::NoMemory`]).
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
        if let Some(i) = self.find_slot(ifindex, ip) {
            let mut ready = None;
            if let Some(e) = self.get_mut(i) {
                if e.state == State::Incomplete {
                    ready = Some(Ready {
                        ifindex,
                        ip,
                        mac,
                        packets: e.queue.take_all(),
                    });
                }
                e.mac = mac;
                e.retries = 0;
                e.used_ms = now_ms;
            }
            self.restamp(i, State::Static, now_ms);
            return Ok(Released {
                ready,
                evicted: None,
            });
        }
        let (_, evicted) = self.insert(ifindex, ip, mac, State::Static, now_ms)?;
        Ok(Released {
            ready: None,
            evicted,
        })
    }

    /// Removes the entry of `ip` on device `ifindex`, whatever its state; its waiting packets
    /// come back. Entries of `ip` on other devices stay.
    pub fn remove(&mut self, ifindex: i32, ip: Ipv4Address) -> Option<Unresolved<Q, P>> {
        let old = self.remove_slot(self.find_slot(ifindex, ip)?)?;
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
        for i in 0..self.slots() {
            if !self.get(i).is_some_and(|e| e.live && which(e)) {
                continue;
            }
            if let Some(old) = self.remove_slot(i) {
                add(&mut self.counters.unresolved_drops, old.packets.len());
                f(old);
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

impl<const Q: usize, P, E: Storage<Entry<Q, P>>, B: Storage<u32>> Grow<E, B>
    for ArpCache<Q, P, E, B>
{
    fn wants(&self) -> Want {
        ArpCache::wants(self)
    }

    fn adopt(&mut self, entries: Option<E>, index: Option<B>) -> (Option<E>, Option<B>) {
        ArpCache::adopt(self, entries, index)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Rng;
    use super::*;
    use std::vec::Vec;

    use super::super::super::storage::host::{alloc, set_failing};

    type Cache = ArpCache<3, u32, Vec<Entry<3, u32>>, Vec<u32>>;
    /// The size of most test packets.
    const BYTES: u32 = 100;

    /// What the kernel side does before it may add an entry: allocate what the cache wants
    /// (with the host allocator, which a test may set failing) and let it move in.
    fn grow<const Q: usize, P>(c: &mut ArpCache<Q, P, Vec<Entry<Q, P>>, Vec<u32>>) {
        let w = c.wants();
        let (e, b) = c.adopt(alloc(w.entries), alloc(w.index));
        drop((e, b));
    }

    /// A cache with `config` and room for 16 entries.
    fn cache_with(config: ArpConfig) -> Cache {
        let mut c = Cache::new(config, 0x1234_5678);
        grow(&mut c);
        let slots = 16.min(config.gc_thresh3 as usize);
        assert_eq!((c.capacity(), c.buckets()), (slots, 16));
        c
    }

    fn cache() -> Cache {
        cache_with(ArpConfig::default())
    }

    /// A cache that holds at most `n` entries (`gc_thresh2` = `gc_thresh3` = `n`, so that a
    /// forced GC runs whenever it is full), with room for them.
    fn limited(n: u32) -> Cache {
        cache_with(ArpConfig {
            gc_thresh2: n,
            gc_thresh3: n,
            ..ArpConfig::default()
        })
    }

    /// The packets dropped by a `Queued` answer (`None` for another answer).
    fn queued(r: Resolve<3, u32>) -> Option<Vec<u32>> {
        match r {
            Resolve::Queued { dropped } => Some(dropped.collect()),
            _ => None,
        }
    }

    /// The packets dropped by a `Request` answer that evicted nothing.
    fn requested<const Q: usize>(r: Resolve<Q, u32>) -> Option<Vec<u32>> {
        match r {
            Resolve::Request {
                evicted: None,
                dropped,
            } => Some(dropped.collect()),
            _ => None,
        }
    }

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
        let c = cache();
        assert_eq!(c.config(), cfg);
        assert!(c.is_empty());
        assert_eq!(c.capacity(), 16);
        assert_eq!(c.next_timer_in(0), None);
    }

    #[test]
    fn target_learns_the_sender_of_a_request() {
        let mut c = cache();
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
            matches!(c.resolve_or_queue(IF, ip(2), 7, BYTES, 600), Resolve::Send(m, 7) if m == mac(2))
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
        let mut c = cache();
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
        let mut c = cache();
        assert_eq!(c.lookup(IF, ip(2), 0), Lookup::Missing);
        assert_eq!(
            requested(c.resolve_or_queue(IF, ip(2), 1, BYTES, 0)),
            Some(Vec::new())
        );
        assert_eq!(c.lookup(IF, ip(2), 0), Lookup::Pending);
        for p in [2, 3] {
            assert_eq!(
                queued(c.resolve_or_queue(IF, ip(2), p, BYTES, 10)),
                Some(Vec::new())
            );
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
        let mut c = cache();
        let _ = c.resolve_or_queue(IF, ip(2), 1, BYTES, 0);
        let _ = c.resolve_or_queue(IF, ip(2), 2, BYTES, 0);
        let _ = c.resolve_or_queue(IF, ip(2), 3, BYTES, 0);
        assert_eq!(
            queued(c.resolve_or_queue(IF, ip(2), 4, BYTES, 0)),
            Some(std::vec![1])
        );
        assert_eq!(
            queued(c.resolve_or_queue(IF, ip(2), 5, BYTES, 0)),
            Some(std::vec![2])
        );
        assert_eq!(c.counters().queued, 5);
        assert_eq!(c.counters().queue_drops, 2);
        let ready = c.on_arp(IF, &reply(2), ours, 1).unwrap().ready.unwrap();
        assert_eq!(ids(ready.packets), [3, 4, 5]);
    }

    #[test]
    fn zero_length_queue_hands_packets_straight_back() {
        let mut c: ArpCache<0, u32, Vec<Entry<0, u32>>, Vec<u32>> =
            ArpCache::new(ArpConfig::default(), 1);
        grow(&mut c);
        assert_eq!(
            requested(c.resolve_or_queue(IF, ip(2), 1, BYTES, 0)),
            Some(std::vec![1])
        );
        assert!(matches!(
            c.resolve_or_queue(IF, ip(2), 2, BYTES, 0),
            Resolve::Queued { dropped } if dropped.len() == 1
        ));
        assert_eq!(c.lookup(IF, ip(2), 0), Lookup::Pending);
        let a = c.on_arp(IF, &reply(2), ours, 0).unwrap();
        assert!(a.ready.unwrap().packets.is_empty());
    }

    #[test]
    fn no_storage_refuses_with_no_memory() {
        // Nothing allocated yet: every new entry is refused for want of memory, not room.
        let mut c = Cache::new(ArpConfig::default(), 7);
        assert_eq!((c.capacity(), c.buckets()), (0, 0));
        assert!(matches!(
            c.resolve_or_queue(IF, ip(2), 1, BYTES, 0),
            Resolve::Refused {
                packet: 1,
                reason: Refusal::NoMemory
            }
        ));
        let a = c.on_arp(IF, &request(2, US), ours, 0).unwrap();
        assert_eq!(
            (a.reply, a.learned),
            (Some(ReplyKind::Local), Learned::NoMemory)
        );
        assert_eq!(
            c.add_static(IF, ip(3), mac(3), 0).err(),
            Some(Refusal::NoMemory)
        );
        assert_eq!(c.poll_timers(0).map(|_| ()), None);
        assert_eq!(c.counters().no_memory, 3);
        // The first growth: 16 slots and 16 buckets.
        assert_eq!(
            c.wants(),
            Want {
                entries: 16,
                index: 16
            }
        );
        // An allocation that fails leaves it as it was.
        set_failing(true);
        grow(&mut c);
        set_failing(false);
        assert_eq!(c.capacity(), 0);
        grow(&mut c);
        assert!(c.add_static(IF, ip(3), mac(3), 0).is_ok());
        // A cache limited to no entry at all is full, not short of memory.
        let mut z = Cache::new(
            ArpConfig {
                gc_thresh2: 0,
                gc_thresh3: 0,
                ..ArpConfig::default()
            },
            1,
        );
        grow(&mut z);
        assert_eq!(z.capacity(), 0);
        assert!(matches!(
            z.resolve_or_queue(IF, ip(2), 1, BYTES, 0),
            Resolve::Refused {
                packet: 1,
                reason: Refusal::Full
            }
        ));
    }

    #[test]
    fn fixed_storage_has_room_at_once() {
        use super::super::super::storage::Fixed;
        let mut c: ArpCache<2, u32, Fixed<Entry<2, u32>, 2>, Fixed<u32, 3>> =
            ArpCache::new(ArpConfig::default(), 3);
        assert_eq!((c.capacity(), c.buckets()), (2, 2));
        learn_into(&mut c, 2, 0);
        learn_into(&mut c, 3, 0);
        let a = c.on_arp(IF, &request(4, US), ours, 0).unwrap();
        assert_eq!(a.learned, Learned::NoMemory);
        // It wants more, but a Fixed of the same size is no more: it comes back unused.
        assert_eq!(c.wants().entries, 4);
        let (e, b) = c.adopt(Some(Fixed::default()), Some(Fixed::default()));
        assert!(e.is_some() && b.is_some());
        assert_eq!(c.lookup(IF, ip(3), 0), Lookup::Found(mac(3)));
    }

    fn learn_into<const Q: usize, E: Storage<Entry<Q, u32>>, B: Storage<u32>>(
        c: &mut ArpCache<Q, u32, E, B>,
        d: u8,
        now: u64,
    ) {
        let a = c.on_arp(IF, &request(d, US), ours, now).unwrap();
        assert_eq!(a.learned, Learned::Created);
    }

    #[test]
    fn full_cache_runs_a_forced_gc_of_the_least_recently_confirmed() {
        let mut c = limited(4);
        let _ = c.add_static(IF, ip(10), mac(10), 0).unwrap();
        learn(&mut c, 2, 10);
        learn(&mut c, 3, 20);
        learn(&mut c, 4, 30);
        learn(&mut c, 2, 40); // .2 confirmed: now .3 is the oldest
        assert_eq!(c.len(), 4);
        // Full: the forced GC brings it below gc_thresh2 = 4 by removing .3.
        let a = ask(&mut c, 5, 50);
        assert_eq!(a.learned, Learned::Created);
        let ev = a.evicted.unwrap();
        assert_eq!(ev.ip, ip(3));
        assert!(ev.packets.is_empty());
        assert_eq!(c.lookup(IF, ip(3), 50), Lookup::Missing);
        for d in [10, 2, 4, 5] {
            assert!(matches!(c.lookup(IF, ip(d), 50), Lookup::Found(_)), "{d}");
        }
        // A resolution needs room too: .4 (30) goes.
        let Resolve::Request {
            evicted: Some(ev),
            dropped,
        } = c.resolve_or_queue(IF, ip(6), 1, BYTES, 60)
        else {
            panic!("expected a request with an eviction")
        };
        assert!(dropped.is_empty());
        assert_eq!(ev.ip, ip(4));
        let _ = c.resolve_or_queue(IF, ip(6), 2, BYTES, 60);
        assert_eq!(ask(&mut c, 7, 70).evicted.unwrap().ip, ip(2));
        assert_eq!(ask(&mut c, 8, 80).evicted.unwrap().ip, ip(5));
        // Static .10, incomplete .6, .7 and .8: one removal is enough, and an incomplete
        // entry is never collected.
        assert_eq!(ask(&mut c, 9, 90).evicted.unwrap().ip, ip(7));
        assert_eq!(c.lookup(IF, ip(8), 90), Lookup::Found(mac(8)));
        assert_eq!(c.lookup(IF, ip(6), 90), Lookup::Pending);
        assert_eq!(ask(&mut c, 11, 100).evicted.unwrap().ip, ip(8));
        assert_eq!(ask(&mut c, 12, 110).evicted.unwrap().ip, ip(9));
        // A static entry counts in the limits too.
        let r = c.add_static(IF, ip(13), mac(13), 120).unwrap();
        assert_eq!(r.evicted.unwrap().ip, ip(11));
        assert!(c.remove(IF, ip(12)).is_some());
        let _ = c.resolve_or_queue(IF, ip(14), 3, BYTES, 130);
        // Two static entries and two incomplete ones: nothing can go, the cache is full.
        assert_eq!(c.len(), 4);
        let a = ask(&mut c, 15, 140);
        assert_eq!(
            (a.learned, a.reply),
            (Learned::NoRoom, Some(ReplyKind::Local))
        );
        assert!(a.evicted.is_none());
        assert!(matches!(
            c.resolve_or_queue(IF, ip(16), 4, BYTES, 150),
            Resolve::Refused {
                packet: 4,
                reason: Refusal::Full
            }
        ));
        assert_eq!(c.lookup(IF, ip(10), 150), Lookup::Found(mac(10)));
        let k = c.counters();
        assert_eq!((k.evicted, k.table_full, k.unresolved_drops), (8, 2, 0));
    }

    #[test]
    fn forced_gc_between_thresh2_and_thresh3_waits_5_seconds() {
        let mut c = cache_with(ArpConfig {
            gc_thresh2: 2,
            gc_thresh3: 8,
            ..ArpConfig::default()
        });
        learn(&mut c, 1, 0);
        learn(&mut c, 2, 0);
        // At gc_thresh2, never run: the forced GC takes .1 to go below 2.
        let a = ask(&mut c, 3, 100);
        assert_eq!(a.evicted.unwrap().ip, ip(1));
        assert_eq!(c.len(), 2);
        // Within 5 s of it: no GC, the cache grows towards gc_thresh3.
        for (d, t) in [(4, 1000), (5, 5100)] {
            assert!(ask(&mut c, d, t).evicted.is_none());
        }
        assert_eq!(c.len(), 4);
        // More than 5 s later: below 2 again, least recently confirmed first.
        let a = ask(&mut c, 6, 5101);
        assert_eq!(a.evicted.unwrap().ip, ip(2));
        assert_eq!(c.len(), 2);
        let left: Vec<_> = c.entries(5101).map(|e| e.ip).collect();
        assert!(left.contains(&ip(5)) && left.contains(&ip(6)));
        assert_eq!((c.counters().evicted, c.counters().forced_gcs), (4, 2));
    }

    #[test]
    fn forced_gc_ties_go_to_the_first_confirmed() {
        let mut c = limited(4);
        for d in 1..=4 {
            learn(&mut c, d, 0);
        }
        assert_eq!(ask(&mut c, 5, 0).evicted.unwrap().ip, ip(1));
        assert_eq!(ask(&mut c, 6, 0).evicted.unwrap().ip, ip(2));
    }

    #[test]
    fn ageing_at_exactly_the_boundary() {
        let mut c = cache();
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
        let mut c = cache();
        learn(&mut c, 2, 0);
        let _ = c.on_arp(IF, &reply(2), ours, AGE - 1).unwrap();
        assert_eq!(c.lookup(IF, ip(2), AGE), Lookup::Found(mac(2)));
        assert!(timer_events(&mut c, 2 * AGE - 2).is_empty());
        assert_eq!(timer_events(&mut c, 2 * AGE - 1).len(), 1);
    }

    #[test]
    fn expired_entry_resolves_again_in_place() {
        let mut c = cache();
        learn(&mut c, 2, 0);
        // Expired, not yet removed: the packet waits and a fresh request goes out.
        assert_eq!(
            requested(c.resolve_or_queue(IF, ip(2), 1, BYTES, AGE)),
            Some(Vec::new())
        );
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
        let mut c = cache();
        let _ = c.resolve_or_queue(IF, ip(2), 1, BYTES, 0);
        let _ = c.resolve_or_queue(IF, ip(2), 2, BYTES, 500);
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
        let mut c = cache();
        let _ = c.resolve_or_queue(IF, ip(2), 1, BYTES, 0);
        // The timer ran late: one retry, restamped, not three at once.
        assert_eq!(timer_events(&mut c, 10_000).len(), 1);
        assert_eq!(c.entry(IF, ip(2), 10_000).unwrap().retries, 1);
    }

    #[test]
    fn answer_after_a_retry_resolves() {
        let mut c = cache();
        let _ = c.resolve_or_queue(IF, ip(2), 1, BYTES, 0);
        let _ = timer_events(&mut c, 1000);
        let a = c.on_arp(IF, &reply(2), ours, 1500).unwrap();
        assert_eq!(ids(a.ready.unwrap().packets), [1]);
        let info = c.entry(IF, ip(2), 1500).unwrap();
        assert_eq!((info.state, info.retries), (State::Reachable, 0));
        assert!(timer_events(&mut c, 5000).is_empty());
    }

    #[test]
    fn zero_retries_fails_after_one_period() {
        let mut c = cache_with(ArpConfig {
            max_retries: 0,
            ..ArpConfig::default()
        });
        let _ = c.resolve_or_queue(IF, ip(2), 1, BYTES, 0);
        let ev = timer_events(&mut c, 1000);
        assert!(matches!(&ev[..], [TimerEvent::Failed(f)] if f.ip == ip(2)));
    }

    #[test]
    fn static_entries() {
        let mut c = cache();
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
        let _ = c.resolve_or_queue(IF, ip(3), 1, BYTES, 30);
        let _ = c.resolve_or_queue(IF, ip(3), 2, BYTES, 30);
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
        let mut c = limited(4);
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
            c.resolve_or_queue(IF, ip(5), 1, BYTES, 0),
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
        let mut c = cache();
        let _ = c.add_static(IF, ip(1), mac(1), 0).unwrap();
        learn(&mut c, 2, 0);
        let _ = c.resolve_or_queue(IF, ip(3), 1, BYTES, 0);
        let _ = c.resolve_or_queue(IF, ip(3), 2, BYTES, 0);
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
        let mut c = cache();
        let _ = c.add_static(IF, ip(1), mac(1), 0).unwrap();
        learn(&mut c, 2, 0);
        let _ = c.resolve_or_queue(IF2, ip(2), 1, BYTES, 0);
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
        let mut c = cache();
        let _ = c.resolve_or_queue(IF, ip(3), 1, BYTES, 0);
        let u = c.remove(IF, ip(3)).unwrap();
        assert_eq!(ids(u.packets), [1]);
        assert!(c.is_empty());
    }

    #[test]
    fn proxy_arp() {
        let mut c = cache();
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
        let mut c = cache();
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
        let _ = c.resolve_or_queue(IF, ip(3), 1, BYTES, 20);
        let mut g = gratuitous(3, mac(3));
        g.operation = ArpOperation::Reply;
        let a = c.on_arp(IF, &g, ours, 30).unwrap();
        assert_eq!(a.learned, Learned::Resolved);
        assert_eq!(ids(a.ready.unwrap().packets), [1]);
        assert_eq!(c.counters().learned, 3);
    }

    #[test]
    fn reverse_lookup() {
        let mut c = cache();
        assert_eq!(c.reverse(mac(2)), None);
        learn(&mut c, 2, 0);
        let _ = c.add_static(IF, ip(3), mac(3), 0).unwrap();
        let _ = c.resolve_or_queue(IF, ip(4), 1, BYTES, 0);
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
        let mut c = cache();
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
            matches!(c.resolve_or_queue(IF2, ip(2), 1, BYTES, 20), Resolve::Send(m, 1) if m == mac(22))
        );
        assert!(
            matches!(c.resolve_or_queue(IF, ip(2), 2, BYTES, 20), Resolve::Send(m, 2) if m == mac(2))
        );
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
        let mut c = cache();
        assert!(matches!(
            c.resolve_or_queue(IF, ip(2), 1, BYTES, 0),
            Resolve::Request { .. }
        ));
        // Unknown on the second device, whatever the first one is doing: a request of its own.
        assert_eq!(
            requested(c.resolve_or_queue(IF2, ip(2), 2, BYTES, 0)),
            Some(Vec::new())
        );
        let _ = c.resolve_or_queue(IF2, ip(2), 3, BYTES, 5);
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
        let mut c = cache();
        let _ = c.resolve_or_queue(IF, ip(2), 1, BYTES, 0);
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
        let mut c = cache_with(ArpConfig {
            max_retries: 1,
            ..ArpConfig::default()
        });
        let _ = c.resolve_or_queue(IF, ip(2), 1, BYTES, 0);
        let _ = c.resolve_or_queue(IF2, ip(2), 2, BYTES, 500);
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
        let mut c = cache();
        let _ = c.resolve_or_queue(IF, ip(2), 1, BYTES, 0);
        let _ = c.resolve_or_queue(IF2, ip(2), 2, BYTES, 0);
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
    fn forced_gc_is_shared_by_the_devices() {
        let mut c = limited(4);
        learn(&mut c, 2, 0);
        for (d, t) in [(3, 10), (4, 20), (5, 30)] {
            let _ = c.on_arp(IF2, &request(d, US), ours, t).unwrap();
        }
        // Full: the least recently confirmed entry goes, whichever device it is on.
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
        let mut c = cache();
        let _ = c.resolve_or_queue(IF, ip(2), 1, BYTES, 0);
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
        let mut c = cache();
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
        let mut c = cache();
        for (i, bad) in [
            Ipv4Address::UNSPECIFIED,
            Ipv4Address::BROADCAST,
            Ipv4Address::new(224, 0, 0, 251),
            Ipv4Address::new(127, 0, 0, 1),
        ]
        .into_iter()
        .enumerate()
        {
            let r = c.resolve_or_queue(IF, bad, i as u32, BYTES, 0);
            assert!(
                matches!(r, Resolve::Refused { packet, reason: Refusal::BadIp } if packet == i as u32)
            );
        }
        assert!(c.is_empty());
        assert_eq!(c.counters().requests_sent, 0);
    }

    #[test]
    fn unsolicited_reply_to_us_is_learned_as_rfc_826_says() {
        let mut c = cache();
        let a = c.on_arp(IF, &reply(2), ours, 0).unwrap();
        assert_eq!((a.reply, a.learned), (None, Learned::Created));
    }

    #[test]
    fn listing_for_proc() {
        let mut c = cache();
        let _ = c.add_static(IF, ip(1), mac(1), 0).unwrap();
        learn(&mut c, 2, 100);
        let _ = c.resolve_or_queue(IF, ip(3), 1, BYTES, 200);
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
                queued: 0,
                queued_bytes: 0,
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
        let mut c = cache();
        learn(&mut c, 2, start);
        let _ = c.resolve_or_queue(IF, ip(3), 1, BYTES, start);
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
        let mut c = cache();
        learn(&mut c, 2, 50_000);
        let _ = c.resolve_or_queue(IF, ip(3), 1, BYTES, 50_000);
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
            let _ = c.resolve_or_queue(IF, ip(5), 9, BYTES, t);
            let _ = c.lookup(IF, ip(4), t);
            let _ = c.next_timer_in(t);
            let _ = c.entries(t).count();
            let _ = timer_events(&mut c, t);
        }
    }

    #[test]
    fn extreme_configuration_terminates() {
        let mut c: Cache = cache_with(ArpConfig {
            ageing_ms: 0,
            retry_ms: 0,
            max_retries: u8::MAX,
            ..ArpConfig::default()
        });
        // Nothing resolved stays valid with no ageing time.
        learn(&mut c, 2, 7);
        assert_eq!(c.lookup(IF, ip(2), 7), Lookup::Missing);
        let _ = c.resolve_or_queue(IF, ip(3), 1, BYTES, 7);
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
            ..ArpConfig::default()
        });
        learn(&mut c, 2, 0);
        assert_eq!(c.lookup(IF, ip(2), u64::MAX >> 1), Lookup::Found(mac(2)));
        assert!(timer_events(&mut c, u64::MAX >> 1).is_empty());
    }

    #[test]
    fn queue_is_bounded_in_bytes() {
        let mut c = cache_with(ArpConfig {
            unres_qlen_bytes: 250,
            ..ArpConfig::default()
        });
        assert_eq!(
            requested(c.resolve_or_queue(IF, ip(2), 1, 100, 0)),
            Some(Vec::new())
        );
        assert_eq!(
            queued(c.resolve_or_queue(IF, ip(2), 2, 100, 0)),
            Some(Vec::new())
        );
        // 300 bytes would be too many: the oldest goes.
        assert_eq!(
            queued(c.resolve_or_queue(IF, ip(2), 3, 100, 0)),
            Some(std::vec![1])
        );
        // One that pushes out both.
        assert_eq!(
            queued(c.resolve_or_queue(IF, ip(2), 4, 200, 0)),
            Some(std::vec![2, 3])
        );
        let e = c.entry(IF, ip(2), 0).unwrap();
        assert_eq!((e.queued, e.queued_bytes), (1, 200));
        // One that can never fit comes back by itself.
        assert_eq!(
            queued(c.resolve_or_queue(IF, ip(2), 5, 251, 0)),
            Some(std::vec![5])
        );
        assert_eq!(
            requested(c.resolve_or_queue(IF, ip(3), 6, 251, 0)),
            Some(std::vec![6])
        );
        assert_eq!(c.counters().queue_drops, 5);
        let ready = c.on_arp(IF, &reply(2), ours, 1).unwrap().ready.unwrap();
        assert_eq!(ids(ready.packets), [4]);
    }

    #[test]
    fn periodic_gc_removes_stale_entries_above_thresh1() {
        let mut c = cache_with(ArpConfig {
            gc_thresh1: 2,
            ..ArpConfig::default()
        });
        for d in 1..=5 {
            learn(&mut c, d, 0);
        }
        // More than gc_thresh1 entries: a GC batch is due at once.
        assert_eq!(c.next_timer_in(0), Some(0));
        assert!(timer_events(&mut c, 0).is_empty());
        assert_eq!(c.len(), 5); // nothing is stale yet
        assert_eq!(c.next_timer_in(0), Some(DEFAULT_GC_INTERVAL_MS));
        // Stale after 60 s: removed in slot order until 2 are left.
        assert!(timer_events(&mut c, 61_000).is_empty());
        assert_eq!(c.counters().gc_removed, 3);
        let left: Vec<_> = c.entries(61_000).map(|e| e.ip).collect();
        assert_eq!(left, [ip(4), ip(5)]);
        // At gc_thresh1 nothing is collected, and the GC arms no timer.
        assert_eq!(c.next_timer_in(61_000), Some(AGE - 61_000));
        learn(&mut c, 6, 61_000);
        // Once per interval: not again at once.
        assert!(timer_events(&mut c, 61_001).is_empty());
        assert_eq!(c.len(), 3);
        assert_eq!(c.next_timer_in(61_001), Some(29_999));
        // A used entry is not stale.
        assert!(matches!(
            c.resolve_or_queue(IF, ip(5), 1, BYTES, 90_000),
            Resolve::Send(_, 1)
        ));
        assert!(timer_events(&mut c, 91_000).is_empty());
        let mut left: Vec<_> = c.entries(91_000).map(|e| e.ip).collect();
        left.sort();
        assert_eq!(left, [ip(5), ip(6)]);
        assert_eq!(c.counters().gc_removed, 4);
    }

    #[test]
    fn periodic_gc_walks_a_bounded_batch_per_tick() {
        let mut c = Cache::new(
            ArpConfig {
                gc_thresh1: 0,
                gc_thresh2: 10_000,
                gc_thresh3: 10_000,
                ..ArpConfig::default()
            },
            9,
        );
        for i in 0..1000u32 {
            grow(&mut c);
            let a = Ipv4Address::new(10, 1, (i >> 8) as u8, i as u8);
            let r = ArpRepr {
                source_protocol_addr: a,
                ..request(2, US)
            };
            assert_eq!(c.on_arp(IF, &r, ours, 0).unwrap().learned, Learned::Created);
        }
        assert_eq!(c.len(), 1000);
        // All stale: one batch of 256 slots per tick, the 4 batches of a pass 7.5 s apart.
        let t = 100_000;
        assert!(timer_events(&mut c, t).is_empty());
        assert_eq!(c.len(), 1000 - GC_BATCH);
        assert!(timer_events(&mut c, t).is_empty());
        assert_eq!(c.len(), 1000 - GC_BATCH);
        assert_eq!(c.next_timer_in(t), Some(7500));
        assert!(timer_events(&mut c, t + 7499).is_empty());
        assert_eq!(c.len(), 1000 - GC_BATCH);
        let _ = timer_events(&mut c, t + 7500);
        assert_eq!(c.len(), 1000 - 2 * GC_BATCH);
        let _ = timer_events(&mut c, t + 15_000);
        let _ = timer_events(&mut c, t + 22_500);
        assert!(c.is_empty());
        assert_eq!(c.counters().gc_removed, 1000);
    }

    #[test]
    fn iter_from_resumes_by_slot() {
        let mut c = cache();
        for d in 1..=6 {
            learn(&mut c, d, 0);
        }
        assert!(c.remove(IF, ip(3)).is_some());
        let all: Vec<_> = c.entries(5).collect();
        let mut got = Vec::new();
        let mut at = 0;
        loop {
            let chunk: Vec<_> = c.iter_from(at, 5).take(2).collect();
            let Some(&(next, _)) = chunk.last() else {
                break;
            };
            got.extend(chunk.into_iter().map(|(_, e)| e));
            at = next;
        }
        assert_eq!(got, all);
        assert_eq!(got.len(), 5);
        assert_eq!(c.iter_from(100, 5).count(), 0);
    }

    #[test]
    fn growth_keeps_entries_packets_and_timers() {
        let mut c = Cache::new(ArpConfig::default(), 0xabcd);
        let mut n = 0u8;
        // Grown step by step: 16, 32, 64 slots; 16 to 64 buckets.
        while c.len() < 40 {
            grow(&mut c);
            n += 1;
            if n.is_multiple_of(2) {
                learn(&mut c, n, u64::from(n));
            } else {
                let _ = c.resolve_or_queue(IF, ip(n), u32::from(n), BYTES, u64::from(n));
            }
        }
        assert_eq!((c.capacity(), c.buckets()), (64, 64));
        // Offered storage too small, or not empty, comes back unused.
        let mut full = alloc::<Entry<3, u32>>(128).unwrap();
        full.push(Entry::default());
        let (e, b) = c.adopt(Some(full), alloc(32));
        assert_eq!(
            (e.map(|e| e.len()), b.map(|b| b.capacity())),
            (Some(1), Some(32))
        );
        assert_eq!((c.capacity(), c.buckets()), (64, 64));
        for d in 1..=n {
            let want = if d % 2 == 0 {
                Lookup::Found(mac(d))
            } else {
                Lookup::Pending
            };
            assert_eq!(c.lookup(IF, ip(d), 100), want, "{d}");
        }
        // The retry of the first incomplete entry (.1, at 1) is still the first due.
        assert_eq!(c.next_timer_in(100), Some(901));
        let ev = timer_events(&mut c, 1001);
        assert!(matches!(ev[..], [TimerEvent::Retry { ip: a, .. }] if a == ip(1)));
        let u = c.remove(IF, ip(1)).unwrap();
        assert_eq!(ids(u.packets), [1]);
    }

    #[test]
    fn a_hundred_thousand_entries() {
        const N: u32 = 100_000;
        let mut c = Cache::new(
            ArpConfig {
                gc_thresh1: 200_000,
                gc_thresh2: 200_000,
                gc_thresh3: 200_000,
                ..ArpConfig::default()
            },
            0x5eed_1234,
        );
        let addr = |i: u32| Ipv4Address::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8 | 1);
        let mut seen = std::collections::BTreeSet::new();
        let mut i = 0u32;
        while c.len() < N as usize {
            grow(&mut c);
            let a = addr(i);
            i += 1;
            if !seen.insert(a) {
                continue;
            }
            let r = ArpRepr {
                source_protocol_addr: a,
                ..request(2, US)
            };
            let dev = 2 + (i % 3) as i32;
            assert_eq!(
                c.on_arp(dev, &r, ours, 0).unwrap().learned,
                Learned::Created
            );
        }
        assert!(c.capacity() >= N as usize && c.capacity() <= 200_000);
        assert!(c.buckets() >= N as usize);
        // Every one is found on its device, and on no other.
        let mut found = 0;
        for j in 0..i {
            let dev = 2 + ((j + 1) % 3) as i32;
            let a = addr(j);
            if matches!(c.lookup(dev, a, 1), Lookup::Found(_)) {
                found += 1;
                assert_eq!(c.lookup(dev + 3, a, 1), Lookup::Missing);
            }
        }
        assert_eq!(found, N);
        // Timer work looks at list heads: nothing due, nothing done.
        assert!(timer_events(&mut c, 1000).is_empty());
        assert_eq!(c.next_timer_in(1000), Some(AGE - 1000));
        // And all age out at once.
        assert_eq!(timer_events(&mut c, AGE).len(), N as usize);
        assert!(c.is_empty());
    }

    /// An entry of the model of [`property_against_a_model`].
    #[derive(Clone, Debug)]
    struct MEntry {
        state: State,
        mac: EthernetAddress,
        updated: u64,
        used: u64,
        retries: u8,
        /// (packet, bytes), oldest first.
        queue: std::collections::VecDeque<(u32, u32)>,
        /// Order of the last confirmation (the forced GC's order).
        seq: u64,
    }

    /// The cache as a map scanned in full, with Linux's rules written out plainly.
    #[derive(Default)]
    struct MCache {
        map: std::collections::BTreeMap<(i32, u8), MEntry>,
        seq: u64,
        last_forced: Option<u64>,
    }

    impl MCache {
        fn lookup(&self, k: (i32, u8), now: u64, cfg: &ArpConfig) -> Lookup {
            match self.map.get(&k) {
                None => Lookup::Missing,
                Some(e) => match e.state {
                    State::Incomplete => Lookup::Pending,
                    State::Static => Lookup::Found(e.mac),
                    State::Reachable if elapsed(now, e.updated) < cfg.ageing_ms => {
                        Lookup::Found(e.mac)
                    }
                    State::Reachable => Lookup::Missing,
                },
            }
        }

        fn confirm(&mut self, k: (i32, u8), mac: EthernetAddress, now: u64) {
            self.seq += 1;
            let seq = self.seq;
            if let Some(e) = self.map.get_mut(&k) {
                *e = MEntry {
                    state: State::Reachable,
                    mac,
                    updated: now,
                    used: now,
                    retries: 0,
                    queue: Default::default(),
                    seq,
                };
            }
        }

        /// Room for a new entry: the first entry a forced GC removed, or the refusal.
        fn claim(
            &mut self,
            now: u64,
            cfg: &ArpConfig,
            capacity: usize,
            buckets: usize,
        ) -> Result<Option<(i32, u8)>, Refusal> {
            let (t2, t3) = (cfg.gc_thresh2 as usize, cfg.gc_thresh3 as usize);
            let due = self.last_forced.is_none_or(|t| elapsed(now, t) > 5000);
            let mut first = None;
            if self.map.len() >= t3 || (self.map.len() >= t2 && due) {
                self.last_forced = Some(now);
                while self.map.len() >= t2 {
                    let Some(k) = self
                        .map
                        .iter()
                        .filter(|(_, e)| e.state == State::Reachable)
                        .min_by_key(|(_, e)| e.seq)
                        .map(|(k, _)| *k)
                    else {
                        break;
                    };
                    self.map.remove(&k);
                    first = first.or(Some(k));
                }
            }
            if self.map.len() >= t3 {
                Err(Refusal::Full)
            } else if self.map.len() >= capacity || buckets == 0 {
                Err(Refusal::NoMemory)
            } else {
                Ok(first)
            }
        }

        /// The packets a queue of `Q` pushes out to take `p`.
        fn push<const Q: usize>(e: &mut MEntry, p: u32, bytes: u32, max: u32) -> Vec<u32> {
            if Q == 0 || bytes > max {
                return std::vec![p];
            }
            let mut out = Vec::new();
            while !e.queue.is_empty()
                && (e.queue.len() >= Q || e.queue.iter().map(|q| q.1).sum::<u32>() + bytes > max)
            {
                out.push(e.queue.pop_front().unwrap().0);
            }
            e.queue.push_back((p, bytes));
            out
        }
    }

    fn mkey(ifindex: i32, a: Ipv4Address) -> (i32, u8) {
        (ifindex, a.0[3])
    }

    /// Random operations on the cache and on the model, compared after each: growth with
    /// allocations that fail, gc_thresh3 (Full) against a slab without room (NoMemory), the
    /// forced GC's order, the queue's bounds in packets and bytes, and the timers (the clock
    /// only goes forward here, so each event is due exactly when the model says). With
    /// `gc_thresh1` low, the periodic GC may remove stale entries on its own: the model then
    /// checks that each one it lost was stale.
    fn against_a_model<const Q: usize>(seed: u64, thresh1: u32) {
        let cfg = ArpConfig {
            ageing_ms: 5000,
            retry_ms: 1000,
            max_retries: 2,
            gc_thresh1: thresh1,
            gc_thresh2: 12,
            gc_thresh3: 20,
            gc_interval_ms: 2000,
            gc_stale_ms: 3000,
            unres_qlen_bytes: 2000,
        };
        let mut c: ArpCache<Q, u32, Vec<Entry<Q, u32>>, Vec<u32>> = ArpCache::new(cfg, seed as u32);
        let mut m = MCache::default();
        let mut rng = Rng(seed);
        let mut now = u64::MAX - 20_000;
        let mut next_id = 0u32;
        let (mut full, mut nomem, mut gced) = (0, 0, 0);
        for step in 0..6000 {
            let dev = DEVS[rng.below(2) as usize];
            let a = ip(1 + rng.below(15) as u8);
            let k = mkey(dev, a);
            let (cap, nb) = (c.capacity(), c.buckets());
            match rng.below(100) {
                0..=9 => {
                    let w = c.wants();
                    assert!(w.entries <= 20 && c.capacity() <= 20);
                    set_failing(rng.below(3) != 0);
                    let (e, b) = c.adopt(alloc(w.entries), alloc(w.index));
                    set_failing(false);
                    drop((e, b));
                    // A useless offer comes back.
                    let (e, _) = c.adopt(alloc(c.capacity()), None);
                    assert!(c.capacity() == 0 || e.is_some());
                }
                10..=44 => {
                    let id = next_id;
                    next_id += 1;
                    let bytes = rng.below(900) as u32 + if rng.below(20) == 0 { 2000 } else { 0 };
                    let r = c.resolve_or_queue(dev, a, id, bytes, now);
                    match m.lookup(k, now, &cfg) {
                        Lookup::Found(mac) => {
                            assert!(matches!(r, Resolve::Send(x, p) if x == mac && p == id));
                            m.map.get_mut(&k).unwrap().used = now;
                        }
                        _ if m.map.contains_key(&k) => {
                            let e = m.map.get_mut(&k).unwrap();
                            let want = MCache::push::<Q>(e, id, bytes, cfg.unres_qlen_bytes);
                            let (got, request) = match r {
                                Resolve::Queued { dropped } => (dropped.collect::<Vec<_>>(), false),
                                Resolve::Request { evicted, dropped } => {
                                    assert!(evicted.is_none());
                                    (dropped.collect(), true)
                                }
                                other => panic!("step {step}: {other:?}"),
                            };
                            assert_eq!(got, want, "step {step}");
                            assert_eq!(request, e.state != State::Incomplete);
                            if request {
                                e.state = State::Incomplete;
                                e.mac = EthernetAddress::ZERO;
                                e.retries = 0;
                                e.updated = now;
                            }
                        }
                        _ => match (m.claim(now, &cfg, cap, nb), r) {
                            (Err(why), Resolve::Refused { packet, reason }) => {
                                assert_eq!((packet, reason), (id, why), "step {step}");
                                full += usize::from(why == Refusal::Full);
                                nomem += usize::from(why == Refusal::NoMemory);
                            }
                            (Ok(first), Resolve::Request { evicted, dropped }) => {
                                assert_eq!(evicted.map(|u| mkey(u.ifindex, u.ip)), first);
                                let mut e = MEntry {
                                    state: State::Incomplete,
                                    mac: EthernetAddress::ZERO,
                                    updated: now,
                                    used: now,
                                    retries: 0,
                                    queue: Default::default(),
                                    seq: 0,
                                };
                                let want =
                                    MCache::push::<Q>(&mut e, id, bytes, cfg.unres_qlen_bytes);
                                assert_eq!(dropped.collect::<Vec<_>>(), want);
                                m.map.insert(k, e);
                            }
                            (want, got) => panic!("step {step}: {want:?} but {got:?}"),
                        },
                    }
                }
                45..=64 => {
                    let hw = EthernetAddress([2, 0, 0, dev as u8, rng.below(2) as u8, a.0[3]]);
                    let r = c.on_arp(dev, &reply_from(a.0[3], hw), ours, now).unwrap();
                    match m.map.get(&k).map(|e| e.state) {
                        Some(State::Static) => assert_eq!(r.learned, Learned::Static),
                        Some(s) => {
                            let packets: Vec<_> = m.map[&k].queue.iter().map(|q| q.0).collect();
                            let ready = r.ready.map(|r| ids(r.packets));
                            if s == State::Incomplete {
                                assert_eq!(r.learned, Learned::Resolved);
                                assert_eq!(ready, Some(packets));
                            } else {
                                assert!(ready.is_none());
                            }
                            m.confirm(k, hw, now);
                        }
                        None => match m.claim(now, &cfg, cap, nb) {
                            Ok(first) => {
                                assert_eq!(r.learned, Learned::Created, "step {step}");
                                assert_eq!(r.evicted.map(|u| mkey(u.ifindex, u.ip)), first);
                                m.map.insert(
                                    k,
                                    MEntry {
                                        state: State::Reachable,
                                        mac: hw,
                                        updated: now,
                                        used: now,
                                        retries: 0,
                                        queue: Default::default(),
                                        seq: 0,
                                    },
                                );
                                m.confirm(k, hw, now);
                            }
                            Err(Refusal::Full) => assert_eq!(r.learned, Learned::NoRoom),
                            Err(_) => assert_eq!(r.learned, Learned::NoMemory),
                        },
                    }
                }
                65..=69 => {
                    let mac_s = EthernetAddress([2, 0, 1, dev as u8, 0, a.0[3]]);
                    let r = c.add_static(dev, a, mac_s, now);
                    let was = m.map.get(&k).map(|e| e.state);
                    let want = match was {
                        Some(_) => Ok(None),
                        None => m.claim(now, &cfg, cap, nb),
                    };
                    match (want, r) {
                        (Ok(first), Ok(rel)) => {
                            assert_eq!(rel.evicted.map(|u| mkey(u.ifindex, u.ip)), first);
                            let packets: Vec<_> = m
                                .map
                                .get(&k)
                                .map(|e| e.queue.iter().map(|q| q.0).collect())
                                .unwrap_or_default();
                            assert_eq!(
                                rel.ready.map(|r| ids(r.packets)).unwrap_or_default(),
                                packets
                            );
                            m.map.insert(
                                k,
                                MEntry {
                                    state: State::Static,
                                    mac: mac_s,
                                    updated: now,
                                    used: now,
                                    retries: 0,
                                    queue: Default::default(),
                                    seq: 0,
                                },
                            );
                        }
                        (Err(why), Err(got)) => assert_eq!(why, got),
                        (want, got) => panic!("step {step}: {want:?} but {:?}", got.is_ok()),
                    }
                }
                70..=74 => {
                    let u = c.remove(dev, a).map(|u| ids(u.packets));
                    let want = m
                        .map
                        .remove(&k)
                        .map(|e| e.queue.iter().map(|q| q.0).collect());
                    assert_eq!(u, want);
                }
                _ => {
                    now = now.wrapping_add(if rng.below(10) == 0 {
                        4000
                    } else {
                        rng.below(800)
                    });
                    let mut got: Vec<(u8, (i32, u8), Vec<u32>)> = Vec::new();
                    c.tick(now, |e| match e {
                        TimerEvent::Retry { ifindex, ip } => {
                            got.push((0, mkey(ifindex, ip), Vec::new()))
                        }
                        TimerEvent::Failed(u) => {
                            got.push((1, mkey(u.ifindex, u.ip), ids(u.packets)))
                        }
                        TimerEvent::AgedOut { ifindex, ip } => {
                            got.push((2, mkey(ifindex, ip), Vec::new()))
                        }
                    });
                    let mut want = Vec::new();
                    for (k, e) in m.map.iter_mut() {
                        let age = elapsed(now, e.updated);
                        match e.state {
                            State::Incomplete if age >= cfg.retry_ms => {
                                if e.retries < cfg.max_retries {
                                    e.retries += 1;
                                    e.updated = now;
                                    want.push((0, *k, Vec::new()));
                                } else {
                                    want.push((1, *k, e.queue.iter().map(|q| q.0).collect()));
                                }
                            }
                            State::Reachable if age >= cfg.ageing_ms => {
                                want.push((2, *k, Vec::new()))
                            }
                            _ => {}
                        }
                    }
                    got.sort();
                    want.sort();
                    for w in &want {
                        if w.0 != 0 {
                            m.map.remove(&w.1);
                        }
                    }
                    // The periodic GC's removals: stale resolved entries, and only those.
                    let before = m.map.len() + want.iter().filter(|w| w.0 != 0).count();
                    let gone: Vec<_> = m
                        .map
                        .iter()
                        .filter(|(k, _)| c.entry(k.0, ip(k.1), now).is_none())
                        .map(|(k, e)| (*k, e.clone()))
                        .collect();
                    for (k, e) in &gone {
                        assert!(thresh1 < 30, "step {step}: {k:?} lost");
                        assert_eq!(e.state, State::Reachable, "step {step}: {k:?}");
                        assert!(elapsed(now, e.used) > cfg.gc_stale_ms, "step {step}");
                        m.map.remove(k);
                        gced += 1;
                    }
                    // An entry aged out may have gone to the GC first.
                    want.retain(|w| w.0 != 2 || got.contains(w) || !gone.is_empty());
                    if gone.is_empty() {
                        assert_eq!(got, want, "step {step}");
                    } else {
                        assert!(got.iter().all(|g| want.contains(g)), "step {step}");
                        // The GC runs before the events, and stops at gc_thresh1.
                        assert!(gone.len() <= before.saturating_sub(thresh1 as usize));
                    }
                    if thresh1 >= 30 {
                        let next = m
                            .map
                            .values()
                            .filter_map(|e| {
                                match e.state {
                                    State::Incomplete => Some(cfg.retry_ms),
                                    State::Reachable => Some(cfg.ageing_ms),
                                    State::Static => None,
                                }
                                .map(|p| p.saturating_sub(elapsed(now, e.updated)))
                            })
                            .min();
                        assert_eq!(c.next_timer_in(now), next, "step {step}");
                    }
                }
            }
            assert_eq!(c.len(), m.map.len(), "step {step}");
            for d in DEVS {
                for x in 1..=15 {
                    let k = (d, x);
                    assert_eq!(
                        c.lookup(d, ip(x), now),
                        m.lookup(k, now, &cfg),
                        "step {step}"
                    );
                    let info = c.entry(d, ip(x), now);
                    let me = m.map.get(&k);
                    assert_eq!(info.is_some(), me.is_some());
                    if let (Some(i), Some(e)) = (info, me) {
                        assert_eq!(i.state, e.state);
                        assert_eq!(i.queued, e.queue.len());
                        assert_eq!(i.queued_bytes, e.queue.iter().map(|q| q.1).sum::<u32>());
                        assert!(i.queued_bytes <= cfg.unres_qlen_bytes);
                        assert_eq!(i.retries, e.retries);
                    }
                }
            }
        }
        assert!(full > 0 && nomem > 0, "{full} full, {nomem} without memory");
        assert!(thresh1 >= 30 || gced > 0);
        let k = c.counters();
        assert!(k.evicted > 0 && k.forced_gcs > 0 && k.queue_drops > 0);
        assert!(k.aged_out + k.gc_removed > 0 && k.failed_resolutions > 0);
    }

    #[test]
    fn property_against_a_model() {
        for seed in [3, 0x9e37_79b9_7f4a_7c15, 0xdead_beef, 77] {
            against_a_model::<3>(seed, 100);
            against_a_model::<2>(seed, 100);
            against_a_model::<3>(seed, 6);
            against_a_model::<0>(seed, 100);
        }
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

    fn check_invariants<const Q: usize>(c: &PktCache<Q>, now: u64) {
        let list: Vec<_> = c.entries(now).collect();
        assert!(list.len() <= c.config().gc_thresh3 as usize);
        assert_eq!(list.len(), c.len());
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

    fn check_model<const Q: usize>(c: &PktCache<Q>, model: &Model, now: u64) {
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

    type PktCache<const Q: usize> = ArpCache<Q, Pkt, Vec<Entry<Q, Pkt>>, Vec<u32>>;

    fn every_packet_comes_out_exactly_once<const Q: usize>(n: u32, seed: u64) {
        let drops = std::rc::Rc::new(core::cell::Cell::new(0));
        let mut l = Ledger {
            drops: drops.clone(),
            out: Vec::new(),
            came_out: 0,
            sent: 0,
        };
        let mut c: PktCache<Q> = ArpCache::new(
            ArpConfig {
                ageing_ms: 5000,
                retry_ms: 1000,
                max_retries: 2,
                gc_thresh1: n / 2,
                gc_thresh2: n,
                gc_thresh3: n,
                gc_stale_ms: 3000,
                gc_interval_ms: 2000,
                unres_qlen_bytes: 2500,
            },
            seed as u32,
        );
        c.add_proxy(Ipv4Address::new(10, 9, 0, 0), 16).unwrap();
        let mut model = Model::new();
        let mut rng = Rng(seed);
        // Start close to the end of u64 so that the clock wraps during the run.
        let mut now = u64::MAX - 40_000;
        let addr = |r: &mut Rng| ip(1 + r.below(10) as u8);
        for step in 0..20_000 {
            // The embedder grows the storage when asked, and its allocations may fail.
            set_failing(rng.below(4) == 0);
            grow(&mut c);
            set_failing(false);
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
                    let bytes = 300 + rng.below(1000) as u32;
                    match c.resolve_or_queue(dev, to, p, bytes, now) {
                        Resolve::Send(m, p) => {
                            assert_eq!(c.lookup(dev, to, now), Lookup::Found(m));
                            assert_eq!(model.get(&(dev, to)), Some(&m));
                            l.sent += 1;
                            l.out(p);
                        }
                        Resolve::Request { evicted, dropped } => {
                            assert_eq!(c.lookup(dev, to, now), Lookup::Pending);
                            l.unresolved(evicted);
                            dropped.for_each(|p| l.out(p));
                        }
                        Resolve::Queued { dropped } => dropped.for_each(|p| l.out(p)),
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
        assert!(
            k.evicted > 0
                && k.aged_out + k.gc_removed > 0
                && k.failed_resolutions > 0
                && k.queue_drops > 0
        );
        assert!(k.bad_sender_drops > 0 && k.learned > 0 && k.replies_sent > 0);
    }

    #[test]
    fn property_every_packet_comes_out_exactly_once() {
        for seed in [1, 0x9e37_79b9_7f4a_7c15, 0xdead_beef, 42] {
            every_packet_comes_out_exactly_once::<2>(4, seed);
            every_packet_comes_out_exactly_once::<1>(3, seed);
            every_packet_comes_out_exactly_once::<4>(8, seed);
        }
    }
}
