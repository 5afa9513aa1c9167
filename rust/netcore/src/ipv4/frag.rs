//! IPv4 reassembly as Linux does it (`net/ipv4/ip_fragment.c` over
//! `net/ipv4/inet_fragment.c`): fragments are held as the packets they arrived in, never
//! copied, and a datagram is handed up as its list of fragments in offset order.
//!
//! # What reassembly is
//!
//! A datagram larger than a link's MTU is cut into fragments. Each carries the same
//! (source, destination, identification, protocol) key ([`FragKey`]), the byte offset of its
//! data (the header's 13-bit field times 8) and a "more fragments" (MF) flag, clear only on
//! the last one. The receiver keeps one *queue* per key (Linux's `struct ipq`, around an
//! `inet_frag_queue`) and adds each fragment to it until the fragments cover `[0, end)`
//! without a hole, where `end` is given by the last fragment. A queue that does not complete
//! within `timeout_ms` of its first fragment (`ipfrag_time`, 30 s) is dropped; if its first
//! fragment (offset 0) had arrived, an ICMP "fragment reassembly time exceeded" quoting it is
//! sent back (RFC 792, Linux's `ip_expire`).
//!
//! # Fragments are packets, not bytes
//!
//! Linux never copies a fragment's payload: the `sk_buff`s are kept, sorted by offset, and
//! the reassembled packet is the first one with the others chained behind it
//! (`inet_frag_reasm_finish`, `frag_list`). [`Frags`] does the same with an opaque packet
//! type `P` (the kernel's skb; a small struct in host tests). [`Frags::add`] takes ownership
//! of a [`Fragment`] (the packet plus its offset, length, MF flag and `truesize`) and every
//! packet comes back exactly once, to be delivered or freed by the caller after it drops its
//! lock; the core frees nothing:
//!
//! - the fragments of a completed datagram: the first in [`Added::Complete`]'s [`Datagram`],
//!   the others through the output sink as [`Out::Piece`], in offset order, before `add`
//!   returns;
//! - a fragment refused on its own in [`Added::Refused`];
//! - everything else, through the sink as [`Out::Free`] with the reason ([`Why`]): the
//!   packets of a datagram dropped by an error, evicted for memory, timed out (its first
//!   fragment then comes in [`Out::Expired`] instead, for the ICMP message) or flushed.
//!
//! The sink is a `FnMut(Out<P>)`: the kernel glue can chain the skbs on an `sk_buff_head`
//! (no allocation) and deal with them after its lock.
//!
//! # The table
//!
//! Queues are found by a hash of their key mixed with a random salt ([`Frags::new`]) in a
//! power-of-two array of buckets, each the head of a chain of queues (Linux uses an
//! rhashtable). Queues and fragments are both nodes of one slab, a [`Storage`] of [`Node`]
//! whose free nodes are chained in a free list; the buckets are a [`Storage`] of `u32`. As
//! the ARP cache does, the table never allocates: [`Frags::wants`] says when the slab is 3/4
//! full or the queues outnumber the buckets, the caller allocates that where it may sleep,
//! and [`Frags::adopt`] moves the table in under the caller's lock. A fragment that finds no
//! free node is refused with [`FragError::NoMemory`] (so with no storage at all, every one
//! is).
//!
//! A queue holds its fragments in a singly linked list sorted by offset, with a pointer to
//! the last one: fragments that arrive in order are appended in O(1), as in Linux, where the
//! common case skips the rbtree; others walk the list (a datagram has at most 8192
//! fragments). Everything else is O(1) per fragment.
//!
//! # Policies (Linux's `ip_frag_queue` and `inet_frag_queue_insert`)
//!
//! - Checks of a fragment on its own, as [`super::reasm`]: an offset not a multiple of 8
//!   ([`FragError::BadOffset`]), no data ([`FragError::Empty`]), a non-last fragment whose
//!   length is not a multiple of 8 ([`FragError::BadLength`]; Linux trims it to a multiple of
//!   8 instead) or data past byte 65535 ([`FragError::TooBig`]; Linux checks the header
//!   length in too, when it reassembles) refuse the fragment and leave its datagram alone.
//!   (Linux drops the datagram for an empty fragment.)
//! - Ends: a last fragment ending before data already received, or a second last fragment
//!   with a different end ([`FragError::LastMismatch`]), and a fragment past the end set by
//!   the last one ([`FragError::PastEnd`]), drop the whole datagram ("ip: fail fast on IP
//!   defrag errors", 2018).
//! - Overlaps: any overlap with data already queued drops the whole datagram
//!   ([`FragError::Overlap`], counted: Linux's `ReasmOverlaps`), as Linux does since 2018
//!   ("ip: discard IPv4 datagrams with overlapping segments", after RFC 5722: overlapping
//!   fragments are how filters are evaded). Duplicates are not overlaps: Linux keeps the
//!   fragments in *runs*, stretches of fragments that arrived one right after the other at
//!   the tail, and a fragment lying wholly inside one run is a duplicate
//!   ([`FragError::Duplicate`], `IPFRAG_DUP`): it alone is refused and the datagram is kept,
//!   unchanged. The runs are kept here exactly as Linux builds them: a fragment that starts
//!   where the last one ends is added to the last run, any other starts a run of its own, so
//!   that a fragment covering two adjacent runs counts as an overlap, as in Linux.
//! - Memory: the table charges each held fragment its `truesize` (at least its length), and
//!   the sum ([`Frags::mem_in_use`]) never exceeds `high_thresh` (4 MiB by default,
//!   `ipfrag_high_thresh`). A fragment that would go past it first evicts the *oldest*
//!   datagrams, whole, until it fits (counted: `evicted`; their packets come out as
//!   [`Why::Evicted`]); its own datagram is never evicted for it: if that datagram and the
//!   fragment alone exceed the limit, or the fragment alone does, it is refused
//!   ([`FragError::MemoryLimit`]). This is what Linux did up to 4.16 (its evictor walked
//!   the queues in LRU order down to `ipfrag_low_thresh`); since 4.17 it refuses every
//!   fragment while the memory is above the limit and lets the timer free it. Queues
//!   themselves are not charged (Linux charges `sizeof(struct ipq)`).
//! - Timeout: a queue expires `timeout_ms` after its first fragment (later fragments do not
//!   restart the timer). Queues are kept on a FIFO list in the order they were made, which
//!   is the order of their deadlines, so [`Frags::expire`] and [`Frags::next_expiry`] look
//!   at its head only, and eviction takes from it too. A fragment for a queue that is due
//!   but not yet expired expires it first ([`Out::Expired`] from `add`) and starts a new one.
//!
//! The key here lacks two things Linux puts in its key: the "user" (which defrag caller:
//! local delivery, netfilter, ...) and the VRF device; and Linux's `ipfrag_max_dist` check
//! is left out.

use super::super::arp::cache::elapsed;
use super::super::storage::{move_into, Storage, Want};
pub use super::reasm::FragKey;
use super::reasm::{DEFAULT_TIMEOUT_MS, MAX_PAYLOAD};
use core::fmt;
use core::marker::PhantomData;

/// Default limit on the bytes held: 4 MiB, Linux's `ipfrag_high_thresh` (4194304).
pub const DEFAULT_HIGH_THRESH: usize = 4 << 20;
/// Datagrams [`Frags::expire`] expires at most per call.
pub const EXPIRE_BATCH: usize = 64;
/// Most nodes (queues plus fragments) the table asks storage for.
pub const MAX_NODES: usize = 1 << 20;

/// End of a chain or a list.
const NIL: u32 = u32::MAX;
/// Nodes of the first allocation.
const FIRST_NODES: usize = 32;
/// Buckets of the first allocation.
const FIRST_BUCKETS: usize = 16;
/// Most buckets the table uses.
const MAX_BUCKETS: usize = 1 << 20;
/// Unit of fragment offsets.
const UNIT: u32 = 8;

/// One fragment: the packet it came in and where its data goes.
#[derive(Debug, PartialEq, Eq)]
pub struct Fragment<P> {
    /// Byte offset of its data in the datagram's payload (the header's field times 8).
    pub offset: u32,
    /// Bytes of data it carries (its IP payload).
    pub len: u32,
    /// The "more fragments" flag: clear on the last fragment.
    pub more: bool,
    /// Memory the packet takes (the skb's `truesize`), charged against `high_thresh`; a
    /// value below `len` counts as `len`.
    pub truesize: u32,
    /// The packet.
    pub packet: P,
}

impl<P> Fragment<P> {
    /// Where its data ends.
    pub fn end(&self) -> u32 {
        self.offset.saturating_add(self.len)
    }

    /// Bytes charged for it.
    fn charge(&self) -> usize {
        self.truesize.max(self.len) as usize
    }
}

/// Why a fragment was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FragError {
    /// The offset is not a multiple of 8. Only this fragment is refused.
    BadOffset,
    /// A non-last fragment whose length is not a multiple of 8. Only this fragment is
    /// refused.
    BadLength,
    /// A fragment without data. Only this fragment is refused.
    Empty,
    /// The fragment ends past byte 65535. Only this fragment is refused.
    TooBig,
    /// A last fragment ends before data already received, or disagrees with the end a
    /// previous last fragment set. The datagram is dropped.
    LastMismatch,
    /// A fragment lies past the end set by the last fragment. The datagram is dropped.
    PastEnd,
    /// The fragment overlaps data already queued without being a duplicate. The datagram
    /// is dropped.
    Overlap,
    /// The fragment lies wholly inside a run of fragments already queued. Only this
    /// fragment is refused; the datagram is kept unchanged.
    Duplicate,
    /// Holding the fragment would exceed `high_thresh` even after evicting every other
    /// datagram. Only this fragment is refused.
    MemoryLimit,
    /// No free node in the storage (it has not grown yet, or its allocation failed). Only
    /// this fragment is refused.
    NoMemory,
}

impl FragError {
    /// True if the error dropped the fragment's datagram with it.
    pub fn drops_datagram(&self) -> bool {
        matches!(
            self,
            FragError::LastMismatch | FragError::PastEnd | FragError::Overlap
        )
    }
}

impl fmt::Display for FragError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FragError::BadOffset => "fragment offset not a multiple of 8",
            FragError::BadLength => "non-last fragment length not a multiple of 8",
            FragError::Empty => "empty fragment",
            FragError::TooBig => "datagram too big",
            FragError::LastMismatch => "conflicting last fragment",
            FragError::PastEnd => "fragment past the end",
            FragError::Overlap => "overlapping fragment",
            FragError::Duplicate => "duplicate fragment",
            FragError::MemoryLimit => "reassembly memory limit",
            FragError::NoMemory => "no reassembly storage",
        })
    }
}

/// Why a packet comes out to be freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// Its datagram was dropped because of this error (the fragment that caused it included).
    Dropped(FragError),
    /// Its datagram was the oldest and was evicted to make room for another fragment.
    Evicted,
    /// Its datagram timed out.
    Expired,
    /// [`Frags::flush`] dropped everything.
    Flushed,
}

/// A datagram that timed out, for the ICMP "fragment reassembly time exceeded" (RFC 792).
#[derive(Debug, PartialEq, Eq)]
pub struct Expired<P> {
    /// Its key.
    pub key: FragKey,
    /// Its first fragment (offset 0) if it had arrived: the packet the ICMP message quotes
    /// (Linux sends none without it). To be freed after use.
    pub first: Option<Fragment<P>>,
}

/// What leaves the table through the caller's sink.
#[derive(Debug, PartialEq, Eq)]
pub enum Out<P> {
    /// A fragment of the datagram completed by this call, other than its first: they come
    /// in offset order, before [`Added::Complete`] is returned.
    Piece(Fragment<P>),
    /// A packet to free, and why.
    Free(P, Why),
    /// A datagram timed out (its other packets came just before as [`Why::Expired`]).
    Expired(Expired<P>),
}

/// A completed datagram.
#[derive(Debug, PartialEq, Eq)]
pub struct Datagram<P> {
    /// Its key.
    pub key: FragKey,
    /// Length of its payload (the end of its last fragment).
    pub len: u32,
    /// Number of fragments, this one included.
    pub fragments: u32,
    /// The first fragment (offset 0), on which the datagram is rebuilt; the others came
    /// through the sink as [`Out::Piece`], in offset order.
    pub first: Fragment<P>,
}

/// The outcome of [`Frags::add`].
#[derive(Debug, PartialEq, Eq)]
pub enum Added<P> {
    /// The fragment is held; more are needed.
    Queued,
    /// The fragment completed its datagram, which left the table.
    Complete(Datagram<P>),
    /// The fragment's datagram was dropped: its packets and the fragment's went to the
    /// sink as [`Why::Dropped`] (`freed` of them).
    Dropped {
        /// Why.
        reason: FragError,
        /// Packets given to the sink, this fragment's included.
        freed: u32,
    },
    /// The fragment alone is refused; its datagram, if any, is kept.
    Refused {
        /// The fragment's packet, to be freed.
        packet: P,
        /// Why.
        reason: FragError,
    },
}

/// Counters of a [`Frags`], with a snapshot of its memory and queues.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FragCounters {
    /// Fragments queued (the ones that completed a datagram included).
    pub fragments: u64,
    /// Datagrams completed (`ReasmOKs`).
    pub completed: u64,
    /// Datagrams that timed out (`ReasmTimeout`).
    pub timeouts: u64,
    /// Datagrams evicted to make room.
    pub evicted: u64,
    /// Datagrams dropped for an overlap (`ReasmOverlaps`).
    pub overlaps: u64,
    /// Datagrams dropped for inconsistent ends ([`FragError::LastMismatch`],
    /// [`FragError::PastEnd`]).
    pub malformed: u64,
    /// Fragments refused as duplicates.
    pub duplicates: u64,
    /// Fragments refused as invalid on their own ([`FragError::BadOffset`],
    /// [`FragError::BadLength`], [`FragError::Empty`]).
    pub invalid: u64,
    /// Fragments refused for ending past byte 65535.
    pub too_big: u64,
    /// Fragments refused by the memory limit.
    pub over_limit: u64,
    /// Fragments refused for want of storage.
    pub no_memory: u64,
    /// Bytes held now.
    pub mem_in_use: usize,
    /// Datagrams in progress now.
    pub in_progress: usize,
}

fn bump(c: &mut u64) {
    *c = c.wrapping_add(1);
}

/// A datagram in progress.
struct Queue {
    key: FragKey,
    /// When its first fragment arrived.
    created_ms: u64,
    /// Linux's `q.len`: the highest end so far, the datagram's length once `has_last`.
    end: u32,
    /// The last fragment (MF clear) has arrived.
    has_last: bool,
    /// Bytes of data held (Linux's `meat`): fragments never overlap, so the datagram is
    /// complete when this reaches `end` with `has_last`.
    meat: u32,
    /// Bytes charged for its fragments.
    mem: usize,
    /// Fragments held.
    count: u32,
    /// First and last fragments (by offset), and the head of the last run.
    head: u32,
    tail: u32,
    tail_run: u32,
    /// Next queue of the hash chain.
    hnext: u32,
    /// Neighbours on the age list.
    aprev: u32,
    anext: u32,
}

/// A fragment held.
struct Held<P> {
    frag: Fragment<P>,
    /// For the head of a run: the run's end; 0 for the other fragments of a run.
    run_end: u32,
    /// The next fragment by offset.
    next: u32,
}

enum Slot<P> {
    /// On the free list, with the next free node.
    Free(u32),
    Queue(Queue),
    Frag(Held<P>),
}

/// One node of the table's slab: the element type of its [`Storage`]. A node holds a
/// datagram's queue, a fragment, or nothing (the [`Default`], on the free list).
pub struct Node<P>(Slot<P>);

impl<P> Default for Node<P> {
    fn default() -> Self {
        Node(Slot::Free(NIL))
    }
}

impl<P> fmt::Debug for Node<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Slot::Free(_) => "Node::Free",
            Slot::Queue(_) => "Node::Queue",
            Slot::Frag(_) => "Node::Frag",
        })
    }
}

/// Where a new fragment goes in its queue's list.
enum Place {
    /// After the last fragment, extending its run or starting a new one.
    Tail { new_run: bool },
    /// After this fragment (NIL: first), as a run of its own.
    After(u32),
}

/// The largest power of two not above `cap` (and not above [`MAX_BUCKETS`]), or 0.
fn pow2_within(cap: usize) -> usize {
    let cap = cap.min(MAX_BUCKETS);
    if cap == 0 {
        0
    } else {
        1usize << (usize::BITS - 1 - cap.leading_zeros())
    }
}

/// Murmur3's finaliser.
fn mix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Checks of a fragment on its own; its end.
fn check_alone<P>(f: &Fragment<P>) -> Result<u32, FragError> {
    if f.offset % UNIT != 0 {
        return Err(FragError::BadOffset);
    }
    if f.len == 0 {
        return Err(FragError::Empty);
    }
    if f.more && f.len % UNIT != 0 {
        return Err(FragError::BadLength);
    }
    f.offset
        .checked_add(f.len)
        .filter(|&e| e as usize <= MAX_PAYLOAD)
        .ok_or(FragError::TooBig)
}

/// IPv4 reassembly over the embedder's storage: the slab `E` of queues and fragments and
/// the buckets `B`, fragments held as packets of type `P` (see the module's documentation).
pub struct Frags<P, E: Storage<Node<P>>, B: Storage<u32>> {
    nodes: E,
    buckets: B,
    /// Head of the free list.
    free: u32,
    /// Nodes in use.
    used: usize,
    /// Datagrams in progress.
    queues: usize,
    salt: u32,
    /// The age list: queues in the order they were made.
    oldest: u32,
    newest: u32,
    /// Bytes charged.
    mem: usize,
    high_thresh: usize,
    timeout_ms: u64,
    counters: FragCounters,
    _p: PhantomData<P>,
}

impl<P, E: Storage<Node<P>>, B: Storage<u32>> Default for Frags<P, E, B> {
    fn default() -> Self {
        Self::new(0)
    }
}

impl<P, E: Storage<Node<P>>, B: Storage<u32>> Frags<P, E, B> {
    /// An empty table hashing with the random `salt`, with the default limit and timeout,
    /// in `E::default()` and `B::default()`: no room at all with growable storage (grow it
    /// with [`Self::wants`] and [`Self::adopt`]), room at once with storage of fixed capacity
    /// ([`super::super::storage::Fixed`]), whose buckets are set up here.
    pub fn new(salt: u32) -> Self {
        let mut buckets = B::default();
        for _ in 0..pow2_within(buckets.capacity()) {
            if buckets.push_within_capacity(NIL).is_err() {
                break;
            }
        }
        Frags {
            nodes: E::default(),
            buckets,
            free: NIL,
            used: 0,
            queues: 0,
            salt,
            oldest: NIL,
            newest: NIL,
            mem: 0,
            high_thresh: DEFAULT_HIGH_THRESH,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            counters: FragCounters::default(),
            _p: PhantomData,
        }
    }

    /// The limit on bytes held.
    pub fn high_thresh(&self) -> usize {
        self.high_thresh
    }

    /// Sets the limit on bytes held (0: every fragment is refused, as in Linux). Lowering it
    /// below what is held evicts nothing at once: the next fragment evicts down to it.
    pub fn set_high_thresh(&mut self, bytes: usize) {
        self.high_thresh = bytes;
    }

    /// The reassembly timeout in milliseconds.
    pub fn timeout_ms(&self) -> u64 {
        self.timeout_ms
    }

    /// Sets the timeout; it applies to the datagrams in progress too.
    pub fn set_timeout_ms(&mut self, ms: u64) {
        self.timeout_ms = ms;
    }

    /// The counters, with the memory and queues in use.
    pub fn counters(&self) -> FragCounters {
        FragCounters {
            mem_in_use: self.mem,
            in_progress: self.queues,
            ..self.counters
        }
    }

    /// Bytes charged for the fragments held.
    pub fn mem_in_use(&self) -> usize {
        self.mem
    }

    /// Datagrams in progress.
    pub fn len(&self) -> usize {
        self.queues
    }

    /// True when no datagram is in progress.
    pub fn is_empty(&self) -> bool {
        self.queues == 0
    }

    /// Nodes (queues plus fragments) the storage can hold.
    pub fn capacity(&self) -> usize {
        self.nodes.capacity()
    }

    /// Nodes in use (a queue per datagram, a node per fragment).
    pub fn nodes_in_use(&self) -> usize {
        self.used
    }

    /// Number of buckets (a power of two, or 0 before the first growth).
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// What storage the table should get: a slab twice as large (32 nodes to start with, at
    /// most [`MAX_NODES`]) once 3/4 of its nodes are taken, twice the buckets (16 to start
    /// with) once the queues outnumber them. Allocate it where you may sleep and hand it to
    /// [`Self::adopt`].
    pub fn wants(&self) -> Want {
        let mut w = Want::default();
        let cap = self.nodes.capacity();
        if cap < MAX_NODES {
            if cap == 0 {
                w.entries = FIRST_NODES;
            } else if self.used.saturating_mul(4) >= cap.saturating_mul(3) {
                w.entries = cap.saturating_mul(2).min(MAX_NODES);
            }
        }
        let n = self.buckets.len();
        if n == 0 {
            w.index = FIRST_BUCKETS;
        } else if self.queues > n && n < MAX_BUCKETS {
            w.index = n.saturating_mul(2);
        }
        w
    }

    /// Moves the table into the storage given (either may be `None`): `nodes` must be empty
    /// and larger than the current slab; `buckets` must be empty with room for more buckets
    /// than the table has (it takes the largest power of two that fits), and the queues are
    /// rehashed into them. Every queue and fragment keeps its node. Returns what the caller
    /// must free after its lock: the storage replaced, or what was given and did not fit.
    pub fn adopt(&mut self, nodes: Option<E>, buckets: Option<B>) -> (Option<E>, Option<B>) {
        let old_nodes = nodes.map(|new| {
            if !new.is_empty() || new.capacity() <= self.nodes.capacity() {
                return new;
            }
            let old = core::mem::take(&mut self.nodes);
            match move_into(old, new) {
                Ok((moved, emptied)) => {
                    self.nodes = moved;
                    emptied
                }
                Err((old, new)) => {
                    self.nodes = old;
                    new
                }
            }
        });
        let old_buckets = buckets.map(|mut new| {
            let n = pow2_within(new.capacity());
            if !new.is_empty() || n <= self.buckets.len() {
                return new;
            }
            for _ in 0..n {
                if new.push_within_capacity(NIL).is_err() {
                    // Cannot happen (n is within the capacity): keep the old buckets.
                    while new.pop().is_some() {}
                    return new;
                }
            }
            let old = core::mem::replace(&mut self.buckets, new);
            for i in 0..self.slots() {
                if self.queue(i).is_some() {
                    self.link(i);
                }
            }
            old
        });
        (old_nodes, old_buckets)
    }

    /// Adds a fragment of the datagram `key` at `now_ms` (milliseconds of a monotonic
    /// clock). Packets leaving the table other than through the result go to `out` (see the
    /// module's documentation): those of a datagram that timed out, was evicted or dropped,
    /// and the other fragments of a datagram this one completes.
    pub fn add(
        &mut self,
        key: FragKey,
        frag: Fragment<P>,
        now_ms: u64,
        out: &mut impl FnMut(Out<P>),
    ) -> Added<P> {
        let end = match check_alone(&frag) {
            Ok(end) => end,
            Err(reason) => {
                if reason == FragError::TooBig {
                    bump(&mut self.counters.too_big);
                } else {
                    bump(&mut self.counters.invalid);
                }
                return Added::Refused {
                    packet: frag.packet,
                    reason,
                };
            }
        };
        let charge = frag.charge();
        if charge > self.high_thresh {
            return self.refuse(frag, FragError::MemoryLimit);
        }
        let mut found = self.find(&key);
        if let Some(q) = found {
            if self
                .queue(q)
                .is_some_and(|q| elapsed(now_ms, q.created_ms) >= self.timeout_ms)
            {
                self.expire_queue(q, out);
                found = None;
            }
        }
        let place = match found {
            Some(q) => match self.place(q, frag.offset, end, frag.more) {
                Ok(p) => p,
                Err(FragError::Duplicate) => {
                    bump(&mut self.counters.duplicates);
                    return Added::Refused {
                        packet: frag.packet,
                        reason: FragError::Duplicate,
                    };
                }
                Err(reason) => {
                    if reason == FragError::Overlap {
                        bump(&mut self.counters.overlaps);
                    } else {
                        bump(&mut self.counters.malformed);
                    }
                    let why = Why::Dropped(reason);
                    let n = self.remove_queue(q, |f| out(Out::Free(f.packet, why)));
                    out(Out::Free(frag.packet, why));
                    return Added::Dropped {
                        reason,
                        freed: n.saturating_add(1),
                    };
                }
            },
            None => Place::Tail { new_run: true },
        };
        if let Some(q) = found.and_then(|q| self.queue(q)) {
            if q.mem.saturating_add(charge) > self.high_thresh {
                return self.refuse(frag, FragError::MemoryLimit);
            }
        }
        // Both nodes before anything changes, so that a refusal leaves all as it was.
        let Some(fi) = self.take_node() else {
            return self.refuse(frag, FragError::NoMemory);
        };
        let qi = match found {
            Some(q) => q,
            None => match self.take_node() {
                Some(q) => q,
                None => {
                    self.release_node(fi);
                    return self.refuse(frag, FragError::NoMemory);
                }
            },
        };
        self.make_room(charge, found, out);
        if found.is_none() {
            self.new_queue(qi, key, now_ms);
        }
        self.insert(qi, fi, frag, end, place);
        self.mem = self.mem.saturating_add(charge);
        bump(&mut self.counters.fragments);
        match self.queue(qi) {
            Some(q) if q.has_last && q.meat == q.end => self.complete(qi, out),
            _ => Added::Queued,
        }
    }

    /// Expires the datagrams whose first fragment is `timeout_ms` or more older than
    /// `now_ms`, oldest first, at most [`EXPIRE_BATCH`] of them (call again while
    /// [`Self::next_expiry`] is due). Each gives its packets to `f` as [`Why::Expired`], then
    /// an [`Out::Expired`] with its first fragment if it had arrived. Returns how many
    /// expired.
    pub fn expire(&mut self, now_ms: u64, out: &mut impl FnMut(Out<P>)) -> usize {
        let mut n = 0;
        while n < EXPIRE_BATCH {
            let q = self.oldest;
            match self.queue(q) {
                Some(qq) if elapsed(now_ms, qq.created_ms) >= self.timeout_ms => {
                    self.expire_queue(q, out);
                    n += 1;
                }
                _ => break,
            }
        }
        n
    }

    /// When the oldest datagram expires (its first fragment's time plus the timeout), for
    /// arming a timer; `None` when no datagram is in progress.
    pub fn next_expiry(&self) -> Option<u64> {
        self.queue(self.oldest)
            .map(|q| q.created_ms.wrapping_add(self.timeout_ms))
    }

    /// Drops every datagram, its packets to `out` as [`Why::Flushed`] (the settings and
    /// counters stay). Returns how many datagrams.
    pub fn flush(&mut self, out: &mut impl FnMut(Out<P>)) -> usize {
        let mut n = 0;
        while self.queue(self.oldest).is_some() {
            self.remove_queue(self.oldest, |f| out(Out::Free(f.packet, Why::Flushed)));
            n += 1;
        }
        n
    }

    fn refuse(&mut self, frag: Fragment<P>, reason: FragError) -> Added<P> {
        match reason {
            FragError::MemoryLimit => bump(&mut self.counters.over_limit),
            FragError::NoMemory => bump(&mut self.counters.no_memory),
            _ => {}
        }
        Added::Refused {
            packet: frag.packet,
            reason,
        }
    }

    /// Nodes in the slab, used or free.
    fn slots(&self) -> u32 {
        u32::try_from(self.nodes.len()).unwrap_or(NIL)
    }

    fn queue(&self, i: u32) -> Option<&Queue> {
        match self.nodes.get(i as usize) {
            Some(Node(Slot::Queue(q))) => Some(q),
            _ => None,
        }
    }

    fn queue_mut(&mut self, i: u32) -> Option<&mut Queue> {
        match self.nodes.get_mut(i as usize) {
            Some(Node(Slot::Queue(q))) => Some(q),
            _ => None,
        }
    }

    fn held(&self, i: u32) -> Option<&Held<P>> {
        match self.nodes.get(i as usize) {
            Some(Node(Slot::Frag(h))) => Some(h),
            _ => None,
        }
    }

    fn held_mut(&mut self, i: u32) -> Option<&mut Held<P>> {
        match self.nodes.get_mut(i as usize) {
            Some(Node(Slot::Frag(h))) => Some(h),
            _ => None,
        }
    }

    /// A free node, from the free list or the slab's spare capacity (none without buckets).
    fn take_node(&mut self) -> Option<u32> {
        if self.buckets.is_empty() {
            return None;
        }
        let i = if self.free != NIL {
            let i = self.free;
            self.free = match self.nodes.get(i as usize) {
                Some(Node(Slot::Free(next))) => *next,
                _ => NIL,
            };
            i
        } else {
            let i = self.slots();
            if i == NIL {
                return None;
            }
            self.nodes.push_within_capacity(Node::default()).ok()?;
            i
        };
        self.used = self.used.saturating_add(1);
        Some(i)
    }

    /// Puts node `i` on the free list and returns what it held.
    fn release_node(&mut self, i: u32) -> Option<Slot<P>> {
        let free = self.free;
        let n = self.nodes.get_mut(i as usize)?;
        let old = core::mem::replace(&mut n.0, Slot::Free(free));
        self.free = i;
        self.used = self.used.saturating_sub(1);
        Some(old)
    }

    fn hash(&self, k: &FragKey) -> u32 {
        let h = mix(u32::from_be_bytes(k.src.0) ^ self.salt);
        let h = mix(h ^ u32::from_be_bytes(k.dst.0));
        mix(h ^ (u32::from(k.ident) << 8 | u32::from(k.protocol)))
    }

    /// The bucket of `k`: the top bits of its hash.
    fn bucket_of(&self, k: &FragKey) -> Option<usize> {
        match self.buckets.len() {
            0 => None,
            1 => Some(0),
            n => Some((self.hash(k) >> (32 - n.trailing_zeros())) as usize),
        }
    }

    /// The queue of `k`.
    fn find(&self, k: &FragKey) -> Option<u32> {
        let b = self.bucket_of(k)?;
        let mut i = self.buckets.get(b).copied().unwrap_or(NIL);
        // A chain holds at most every node: the bound stops a corrupted one.
        let mut left = self.nodes.len();
        while left > 0 {
            let q = self.queue(i)?;
            if q.key == *k {
                return Some(i);
            }
            i = q.hnext;
            left -= 1;
        }
        None
    }

    /// Puts queue `i` at the head of its chain.
    fn link(&mut self, i: u32) {
        let Some(b) = self.queue(i).and_then(|q| self.bucket_of(&q.key)) else {
            return;
        };
        let Some(head) = self.buckets.get_mut(b) else {
            return;
        };
        let old = core::mem::replace(head, i);
        if let Some(q) = self.queue_mut(i) {
            q.hnext = old;
        }
    }

    /// Takes queue `i` out of its chain.
    fn unlink(&mut self, i: u32) {
        let Some((b, next)) = self
            .queue(i)
            .and_then(|q| Some((self.bucket_of(&q.key)?, q.hnext)))
        else {
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
        let mut left = self.nodes.len();
        while left > 0 {
            let Some(q) = self.queue_mut(j) else {
                return;
            };
            if q.hnext == i {
                q.hnext = next;
                return;
            }
            j = q.hnext;
            left -= 1;
        }
    }

    /// Makes node `qi` a new queue for `key`, the newest of the age list.
    fn new_queue(&mut self, qi: u32, key: FragKey, now_ms: u64) {
        let newest = self.newest;
        let Some(n) = self.nodes.get_mut(qi as usize) else {
            return;
        };
        n.0 = Slot::Queue(Queue {
            key,
            created_ms: now_ms,
            end: 0,
            has_last: false,
            meat: 0,
            mem: 0,
            count: 0,
            head: NIL,
            tail: NIL,
            tail_run: NIL,
            hnext: NIL,
            aprev: newest,
            anext: NIL,
        });
        match self.queue_mut(newest) {
            Some(q) => q.anext = qi,
            None => self.oldest = qi,
        }
        self.newest = qi;
        self.queues = self.queues.saturating_add(1);
        self.link(qi);
    }

    /// Checks a fragment `[offset, end)` against queue `qi` (ip_frag_queue's end checks,
    /// then inet_frag_queue_insert's overlap checks) and finds its place.
    fn place(&self, qi: u32, offset: u32, end: u32, more: bool) -> Result<Place, FragError> {
        let q = self.queue(qi).ok_or(FragError::NoMemory)?;
        if !more {
            if end < q.end || (q.has_last && end != q.end) {
                return Err(FragError::LastMismatch);
            }
        } else if q.has_last && end > q.end {
            return Err(FragError::PastEnd);
        }
        let Some(tail) = self.held(q.tail) else {
            return Ok(Place::Tail { new_run: true });
        };
        let tail_end = tail.frag.end();
        if tail_end < end {
            // The common case: the fragment goes at the end.
            if offset < tail_end {
                return Err(FragError::Overlap);
            }
            return Ok(Place::Tail {
                new_run: offset != tail_end,
            });
        }
        // Walk the runs in order for the one it meets, if any.
        let mut prev = NIL;
        let mut j = q.head;
        let mut left = q.count;
        while left > 0 {
            let Some(h) = self.held(j) else {
                break;
            };
            if h.run_end != 0 {
                let start = h.frag.offset;
                if end <= start {
                    break;
                }
                if offset < h.run_end {
                    return Err(if offset >= start && end <= h.run_end {
                        FragError::Duplicate
                    } else {
                        FragError::Overlap
                    });
                }
            }
            prev = j;
            j = h.next;
            left -= 1;
        }
        Ok(Place::After(prev))
    }

    /// Puts `frag` in node `fi` of queue `qi` at `place`.
    fn insert(&mut self, qi: u32, fi: u32, frag: Fragment<P>, end: u32, place: Place) {
        let (len, more, charge) = (frag.len, frag.more, frag.charge());
        let Some(q) = self.queue(qi) else {
            return;
        };
        let (tail, tail_run, head) = (q.tail, q.tail_run, q.head);
        let mut held = Held {
            frag,
            run_end: end,
            next: NIL,
        };
        let (mut new_head, mut new_tail, mut new_tail_run) = (head, tail, tail_run);
        match place {
            Place::Tail { new_run } => {
                match self.held_mut(tail) {
                    Some(t) => t.next = fi,
                    None => new_head = fi,
                }
                if new_run {
                    new_tail_run = fi;
                } else {
                    held.run_end = 0;
                    if let Some(r) = self.held_mut(tail_run) {
                        r.run_end = end;
                    }
                }
                new_tail = fi;
            }
            Place::After(prev) => {
                match self.held_mut(prev) {
                    Some(p) => {
                        held.next = core::mem::replace(&mut p.next, fi);
                    }
                    None => {
                        held.next = head;
                        new_head = fi;
                    }
                }
                if held.next == NIL {
                    // Not reached (such a fragment takes the common case); kept consistent.
                    new_tail = fi;
                    new_tail_run = fi;
                }
            }
        }
        if let Some(n) = self.nodes.get_mut(fi as usize) {
            n.0 = Slot::Frag(held);
        }
        if let Some(q) = self.queue_mut(qi) {
            q.head = new_head;
            q.tail = new_tail;
            q.tail_run = new_tail_run;
            q.count = q.count.saturating_add(1);
            q.meat = q.meat.saturating_add(len);
            q.mem = q.mem.saturating_add(charge);
            if !more {
                q.has_last = true;
                q.end = end;
            } else {
                q.end = q.end.max(end);
            }
        }
    }

    /// Evicts the oldest datagrams other than `own` until `charge` more bytes fit.
    fn make_room(&mut self, charge: usize, own: Option<u32>, out: &mut impl FnMut(Out<P>)) {
        let mut v = self.oldest;
        let mut left = self.queues;
        while self.mem.saturating_add(charge) > self.high_thresh && left > 0 {
            let Some(next) = self.queue(v).map(|q| q.anext) else {
                break;
            };
            if Some(v) != own {
                self.remove_queue(v, |f| out(Out::Free(f.packet, Why::Evicted)));
                bump(&mut self.counters.evicted);
            }
            v = next;
            left -= 1;
        }
    }

    /// Removes queue `qi`, giving its fragments to `f` in offset order; returns how many.
    fn remove_queue(&mut self, qi: u32, mut f: impl FnMut(Fragment<P>)) -> u32 {
        let Some((head, aprev, anext, mem)) =
            self.queue(qi).map(|q| (q.head, q.aprev, q.anext, q.mem))
        else {
            return 0;
        };
        self.unlink(qi);
        match self.queue_mut(aprev) {
            Some(p) => p.anext = anext,
            None => self.oldest = anext,
        }
        match self.queue_mut(anext) {
            Some(n) => n.aprev = aprev,
            None => self.newest = aprev,
        }
        self.mem = self.mem.saturating_sub(mem);
        self.queues = self.queues.saturating_sub(1);
        self.release_node(qi);
        let mut j = head;
        let mut n = 0u32;
        while self.held(j).is_some() {
            let Some(Slot::Frag(h)) = self.release_node(j) else {
                break;
            };
            j = h.next;
            n = n.saturating_add(1);
            f(h.frag);
        }
        n
    }

    /// Expires queue `qi`.
    fn expire_queue(&mut self, qi: u32, out: &mut impl FnMut(Out<P>)) {
        let Some(key) = self.queue(qi).map(|q| q.key) else {
            return;
        };
        let mut first = None;
        self.remove_queue(qi, |f| {
            if f.offset == 0 {
                first = Some(f);
            } else {
                out(Out::Free(f.packet, Why::Expired));
            }
        });
        bump(&mut self.counters.timeouts);
        out(Out::Expired(Expired { key, first }));
    }

    /// Hands out the complete datagram of queue `qi`.
    fn complete(&mut self, qi: u32, out: &mut impl FnMut(Out<P>)) -> Added<P> {
        let Some((key, len)) = self.queue(qi).map(|q| (q.key, q.end)) else {
            return Added::Queued;
        };
        let mut first = None;
        let n = self.remove_queue(qi, |f| {
            if first.is_none() {
                first = Some(f);
            } else {
                out(Out::Piece(f));
            }
        });
        match first {
            Some(first) if first.offset == 0 => {
                bump(&mut self.counters.completed);
                Added::Complete(Datagram {
                    key,
                    len,
                    fragments: n,
                    first,
                })
            }
            // Not reached (a complete queue starts at 0); nothing is lost if it were.
            Some(f) => {
                out(Out::Free(f.packet, Why::Dropped(FragError::Overlap)));
                Added::Dropped {
                    reason: FragError::Overlap,
                    freed: n,
                }
            }
            None => Added::Queued,
        }
    }
}
