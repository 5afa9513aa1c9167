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
//! - Checks of a fragment on its own, as the fixed-slot reassembler before it did: an offset not a multiple of 8
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
use super::super::storage::{fresh_index, grow_slab, Grow, Storage, Want};
use super::super::wire::Ipv4Address;
use core::fmt;
use core::marker::PhantomData;

/// Default reassembly timeout: 30 s, Linux's `ipfrag_time`.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// Largest payload of an IPv4 datagram (the 16-bit total length).
pub const MAX_PAYLOAD: usize = 65535;

/// What identifies the fragments of one datagram (RFC 791).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FragKey {
    /// Source address.
    pub src: Ipv4Address,
    /// Destination address.
    pub dst: Ipv4Address,
    /// Protocol number.
    pub protocol: u8,
    /// Identification field.
    pub ident: u16,
}

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
    if f.offset & (UNIT - 1) != 0 {
        return Err(FragError::BadOffset);
    }
    if f.len == 0 {
        return Err(FragError::Empty);
    }
    if f.more && f.len & (UNIT - 1) != 0 {
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
        let (Ok(buckets) | Err(buckets)) = fresh_index(B::default(), 0, MAX_BUCKETS, NIL);
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
        let old_nodes = nodes.map(|new| grow_slab(&mut self.nodes, new));
        let old_buckets = buckets.map(|new| {
            let have = self.buckets.len();
            match fresh_index(new, have, MAX_BUCKETS, NIL) {
                Ok(new) => {
                    let old = core::mem::replace(&mut self.buckets, new);
                    for i in 0..self.slots() {
                        if self.queue(i).is_some() {
                            self.link(i);
                        }
                    }
                    old
                }
                Err(new) => new,
            }
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
    /// [`Self::next_expiry`] is due). Each gives its packets to `out` as [`Why::Expired`], then
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

impl<P, E: Storage<Node<P>>, B: Storage<u32>> Grow<E, B> for Frags<P, E, B> {
    fn wants(&self) -> Want {
        Frags::wants(self)
    }

    fn adopt(&mut self, nodes: Option<E>, index: Option<B>) -> (Option<E>, Option<B>) {
        Frags::adopt(self, nodes, index)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::storage::host::{alloc, set_failing};
    use super::super::super::storage::Fixed;
    use super::super::super::testutil::Rng;
    use super::super::super::wire::Ipv4Address;
    use super::*;
    use std::collections::HashSet;
    use std::string::ToString;
    use std::vec::Vec;

    /// A test packet: an id, and not `Clone`, so that it can come back only once.
    #[derive(Debug, PartialEq, Eq)]
    struct Pkt(u64);

    type T = Frags<Pkt, Vec<Node<Pkt>>, Vec<u32>>;

    fn key(ident: u16) -> FragKey {
        FragKey {
            src: Ipv4Address::new(10, 0, 0, 1),
            dst: Ipv4Address::new(10, 0, 0, 2),
            protocol: 17,
            ident,
        }
    }

    /// What the kernel side does before it adds a fragment: allocate what the table wants
    /// (with the host allocator, which a test may set failing) and let it move in.
    fn grow(t: &mut T) {
        let w = t.wants();
        let (n, b) = t.adopt(alloc(w.entries), alloc(w.index));
        drop((n, b));
    }

    fn table() -> T {
        let mut t = T::new(0x1234_5678);
        grow(&mut t);
        assert_eq!((t.capacity(), t.buckets()), (32, 16));
        t
    }

    /// What left through the sink, by packet id.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Ev {
        Piece(u64, u32),
        Free(u64, Why),
        Expired(u16, Option<u64>),
    }

    fn ev(o: Out<Pkt>) -> Ev {
        match o {
            Out::Piece(f) => Ev::Piece(f.packet.0, f.offset),
            Out::Free(p, w) => Ev::Free(p.0, w),
            Out::Expired(e) => Ev::Expired(e.key.ident, e.first.map(|f| f.packet.0)),
        }
    }

    /// An [`Added`] by packet id.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Res {
        Queued,
        Complete { first: u64, len: u32, n: u32 },
        Dropped(FragError, u32),
        Refused(u64, FragError),
    }

    fn res(a: Added<Pkt>) -> Res {
        match a {
            Added::Queued => Res::Queued,
            Added::Complete(d) => {
                assert_eq!(d.first.offset, 0);
                Res::Complete {
                    first: d.first.packet.0,
                    len: d.len,
                    n: d.fragments,
                }
            }
            Added::Dropped { reason, freed } => Res::Dropped(reason, freed),
            Added::Refused { packet, reason } => Res::Refused(packet.0, reason),
        }
    }

    /// Adds packet `id` as the fragment `[off, off + len)` charged `truesize`.
    #[allow(clippy::too_many_arguments)]
    fn add_ts(
        t: &mut T,
        k: u16,
        id: u64,
        off: u32,
        len: u32,
        more: bool,
        truesize: u32,
        now: u64,
    ) -> (Res, Vec<Ev>) {
        let mut evs = Vec::new();
        let f = Fragment {
            offset: off,
            len,
            more,
            truesize,
            packet: Pkt(id),
        };
        let r = res(t.add(key(k), f, now, &mut |o| evs.push(ev(o))));
        (r, evs)
    }

    /// As [`add_ts`], charged its length, at time 0.
    fn add(t: &mut T, k: u16, id: u64, off: u32, len: u32, more: bool) -> (Res, Vec<Ev>) {
        add_ts(t, k, id, off, len, more, len, 0)
    }

    fn queued(t: &mut T, k: u16, id: u64, off: u32, len: u32, more: bool) {
        assert_eq!(add(t, k, id, off, len, more), (Res::Queued, Vec::new()));
    }

    /// Cuts `len` bytes into fragments of `size` (a multiple of 8): (offset, len, more).
    fn cut(len: u32, size: u32) -> Vec<(u32, u32, bool)> {
        (0..len.div_ceil(size))
            .map(|i| {
                let off = i * size;
                (off, size.min(len - off), off + size < len)
            })
            .collect()
    }

    /// Feeds fragments (growing the table before each, as the kernel would), expecting
    /// completion exactly at the last; checks the pieces come in offset order.
    fn feed(t: &mut T, k: u16, frags: &[(u32, u32, bool)], total: u32) {
        for (i, &(off, len, more)) in frags.iter().enumerate() {
            grow(t);
            let (r, evs) = add(t, k, u64::from(off), off, len, more);
            if i + 1 < frags.len() {
                assert_eq!((r, evs), (Res::Queued, Vec::new()), "fragment {i}");
                continue;
            }
            assert_eq!(
                r,
                Res::Complete {
                    first: 0,
                    len: total,
                    n: frags.len() as u32
                }
            );
            let mut offs: Vec<u32> = frags.iter().map(|f| f.0).filter(|&o| o != 0).collect();
            offs.sort();
            let want: Vec<Ev> = offs.iter().map(|&o| Ev::Piece(u64::from(o), o)).collect();
            assert_eq!(evs, want);
        }
    }

    fn check_empty(t: &T) {
        assert_eq!((t.len(), t.mem_in_use(), t.nodes_in_use()), (0, 0, 0));
        assert_eq!(t.next_expiry(), None);
    }

    #[test]
    fn in_order() {
        let mut t = table();
        feed(&mut t, 1, &cut(60000, 1480), 60000);
        check_empty(&t);
        let c = t.counters();
        assert_eq!((c.fragments, c.completed, c.duplicates), (41, 1, 0));
        // An unfragmented datagram completes at once.
        assert_eq!(
            add(&mut t, 2, 7, 0, 100, false),
            (
                Res::Complete {
                    first: 7,
                    len: 100,
                    n: 1
                },
                Vec::new()
            )
        );
        check_empty(&t);
    }

    #[test]
    fn reverse_and_random_orders() {
        let mut t = table();
        let mut frags = cut(65535, 1480);
        frags.reverse();
        feed(&mut t, 1, &frags, 65535);
        check_empty(&t);
        let mut rng = Rng(0xfeed);
        for round in 0..300u16 {
            let len = 1 + rng.below(8000) as u32;
            let size = 8 * (1 + rng.below(64) as u32);
            let mut frags = cut(len, size);
            rng.shuffle(&mut frags);
            feed(&mut t, round, &frags, len);
            check_empty(&t);
        }
        assert_eq!(t.counters().completed, 301);
    }

    #[test]
    fn duplicates_inside_a_run_are_refused_other_overlaps_drop() {
        let mut t = table();
        queued(&mut t, 1, 1, 0, 16, true);
        // Right after the last one: the run is [0, 32).
        queued(&mut t, 1, 2, 16, 16, true);
        assert_eq!(
            add(&mut t, 1, 3, 8, 16, true),
            (Res::Refused(3, FragError::Duplicate), Vec::new())
        );
        assert_eq!(
            add(&mut t, 1, 4, 16, 16, true),
            (Res::Refused(4, FragError::Duplicate), Vec::new())
        );
        // A gap, then the hole filled: three adjacent runs [0,32) [32,48) [48,56).
        queued(&mut t, 1, 5, 48, 8, true);
        queued(&mut t, 1, 6, 32, 16, true);
        assert_eq!(t.counters().duplicates, 2);
        assert_eq!(t.mem_in_use(), 56);
        // Across two runs: an overlap, though every byte of it is there.
        let why = Why::Dropped(FragError::Overlap);
        assert_eq!(
            add(&mut t, 1, 7, 24, 16, true),
            (
                Res::Dropped(FragError::Overlap, 5),
                [1, 2, 6, 5, 7].map(|i| Ev::Free(i, why)).to_vec()
            )
        );
        check_empty(&t);
        // The common case: past the tail but starting inside it.
        queued(&mut t, 2, 1, 0, 16, true);
        assert_eq!(
            add(&mut t, 2, 2, 8, 16, false),
            (
                Res::Dropped(FragError::Overlap, 2),
                [1, 2].map(|i| Ev::Free(i, why)).to_vec()
            )
        );
        // Arrived out of order, each fragment is its own run.
        queued(&mut t, 3, 1, 8, 8, true);
        queued(&mut t, 3, 2, 0, 8, true);
        assert_eq!(
            add(&mut t, 3, 3, 0, 16, true).0,
            Res::Dropped(FragError::Overlap, 3)
        );
        assert_eq!(t.counters().overlaps, 3);
        // A duplicate last fragment changes nothing: the real last one completes.
        queued(&mut t, 4, 1, 0, 16, true);
        assert_eq!(
            add(&mut t, 4, 2, 8, 8, false).0,
            Res::Refused(2, FragError::Duplicate)
        );
        assert_eq!(
            add(&mut t, 4, 3, 16, 5, false),
            (
                Res::Complete {
                    first: 1,
                    len: 21,
                    n: 2
                },
                [Ev::Piece(3, 16)].to_vec()
            )
        );
        check_empty(&t);
        assert!(FragError::Overlap.drops_datagram() && !FragError::Duplicate.drops_datagram());
    }

    #[test]
    fn inconsistent_ends_drop_the_datagram() {
        let mut t = table();
        let why = Why::Dropped(FragError::LastMismatch);
        queued(&mut t, 1, 1, 32, 8, false);
        assert_eq!(
            add(&mut t, 1, 2, 32, 28, false),
            (
                Res::Dropped(FragError::LastMismatch, 2),
                [Ev::Free(1, why), Ev::Free(2, why)].to_vec()
            )
        );
        queued(&mut t, 1, 3, 32, 32, false);
        assert_eq!(
            add(&mut t, 1, 4, 64, 8, true).0,
            Res::Dropped(FragError::PastEnd, 2)
        );
        // A last fragment ending before data already received.
        queued(&mut t, 1, 5, 32, 32, true);
        assert_eq!(
            add(&mut t, 1, 6, 0, 40, false).0,
            Res::Dropped(FragError::LastMismatch, 2)
        );
        check_empty(&t);
        assert_eq!(t.counters().malformed, 3);
        assert_eq!(FragError::PastEnd.to_string(), "fragment past the end");
    }

    #[test]
    fn bad_fragments_refused_datagram_kept() {
        let mut t = table();
        queued(&mut t, 1, 1, 0, 16, true);
        for (id, off, len, more, e) in [
            (2, 3, 8, true, FragError::BadOffset),
            (3, 16, 10, true, FragError::BadLength),
            (4, 16, 0, true, FragError::Empty),
            (5, 16, 0, false, FragError::Empty),
            (6, 65528, 8, false, FragError::TooBig),
            (7, 65528, 16, true, FragError::TooBig),
        ] {
            assert_eq!(
                add(&mut t, 1, id, off, len, more),
                (Res::Refused(id, e), Vec::new())
            );
            assert!(!e.drops_datagram());
        }
        let c = t.counters();
        assert_eq!((c.invalid, c.too_big, t.len()), (4, 2, 1));
        assert_eq!(
            add(&mut t, 1, 8, 16, 9, false).0,
            Res::Complete {
                first: 1,
                len: 25,
                n: 2
            }
        );
        // The edge of the largest payload is fine.
        queued(&mut t, 2, 9, 65528, 7, false);
    }

    #[test]
    fn timeout_at_the_boundary() {
        let mut t = table();
        assert_eq!(t.timeout_ms(), 30_000);
        t.set_timeout_ms(1000);
        let mut evs = Vec::new();
        let mut sink = |o| evs.push(ev(o));
        assert_eq!(add_ts(&mut t, 1, 1, 0, 16, true, 16, 5000).0, Res::Queued);
        assert_eq!(add_ts(&mut t, 2, 3, 8, 8, true, 8, 5500).0, Res::Queued);
        assert_eq!(add_ts(&mut t, 3, 4, 16, 8, false, 8, 5500).0, Res::Queued);
        // A later fragment does not restart the timer.
        assert_eq!(add_ts(&mut t, 1, 2, 16, 8, true, 8, 5900).0, Res::Queued);
        assert_eq!(t.next_expiry(), Some(6000));
        assert_eq!(t.expire(5999, &mut sink), 0);
        assert_eq!(t.expire(6000, &mut sink), 1);
        assert_eq!(
            evs,
            [Ev::Free(2, Why::Expired), Ev::Expired(1, Some(1))].to_vec()
        );
        assert_eq!(t.next_expiry(), Some(6500));
        // A fragment for a datagram that is due expires it and starts afresh.
        assert_eq!(
            add_ts(&mut t, 2, 5, 0, 8, true, 8, 6500),
            (
                Res::Queued,
                [Ev::Free(3, Why::Expired), Ev::Expired(2, None)].to_vec()
            )
        );
        assert_eq!(t.counters().timeouts, 2);
        assert_eq!(t.next_expiry(), Some(6500));
        // A clock that steps back expires nothing.
        let mut evs = Vec::new();
        let mut sink = |o| evs.push(ev(o));
        assert_eq!(t.expire(0, &mut sink), 0);
        assert_eq!(t.expire(6500, &mut sink), 1);
        assert_eq!(t.expire(7499, &mut sink), 0);
        assert_eq!(
            add_ts(&mut t, 2, 6, 8, 8, false, 8, 7499).0,
            Res::Complete {
                first: 5,
                len: 16,
                n: 2
            }
        );
        assert_eq!(
            evs,
            [Ev::Free(4, Why::Expired), Ev::Expired(3, None)].to_vec()
        );
        check_empty(&t);

        // At most EXPIRE_BATCH per call.
        for k in 0..100u16 {
            grow(&mut t);
            assert_eq!(add_ts(&mut t, k, 0, 0, 8, true, 8, 10_000).0, Res::Queued);
        }
        let mut n = 0;
        let mut sink = |o| {
            assert!(matches!(ev(o), Ev::Expired(_, Some(0))));
            n += 1;
        };
        assert_eq!(t.expire(11_000, &mut sink), EXPIRE_BATCH);
        assert_eq!(t.expire(11_000, &mut sink), 100 - EXPIRE_BATCH);
        assert_eq!(n, 100);
        check_empty(&t);
    }

    #[test]
    fn memory_limit_evicts_the_oldest() {
        let mut t = table();
        assert_eq!(t.high_thresh(), 4_194_304);
        t.set_high_thresh(1000);
        assert_eq!(add_ts(&mut t, 1, 1, 0, 400, true, 400, 0).0, Res::Queued);
        assert_eq!(add_ts(&mut t, 2, 2, 0, 400, true, 400, 1).0, Res::Queued);
        assert_eq!(
            add_ts(&mut t, 3, 3, 0, 400, true, 400, 2),
            (Res::Queued, [Ev::Free(1, Why::Evicted)].to_vec())
        );
        assert_eq!((t.mem_in_use(), t.len(), t.counters().evicted), (800, 2, 1));
        // The oldest is the fragment's own datagram: it is skipped.
        assert_eq!(
            add_ts(&mut t, 2, 4, 400, 400, true, 400, 3),
            (Res::Queued, [Ev::Free(3, Why::Evicted)].to_vec())
        );
        assert_eq!(add_ts(&mut t, 2, 5, 800, 200, true, 200, 3).0, Res::Queued);
        assert_eq!(t.mem_in_use(), 1000);
        // Its own datagram and the fragment exceed the limit: refused, datagram kept.
        assert_eq!(
            add_ts(&mut t, 2, 6, 1000, 8, true, 8, 3),
            (Res::Refused(6, FragError::MemoryLimit), Vec::new())
        );
        // Alone larger than the limit: refused without evicting.
        assert_eq!(
            add_ts(&mut t, 7, 7, 0, 8, true, 1001, 3),
            (Res::Refused(7, FragError::MemoryLimit), Vec::new())
        );
        assert_eq!((t.mem_in_use(), t.counters().over_limit), (1000, 2));
        // A truesize below the length counts as the length.
        assert_eq!(
            add_ts(&mut t, 8, 8, 0, 8, true, 0, 3),
            (
                Res::Queued,
                [2, 4, 5].map(|i| Ev::Free(i, Why::Evicted)).to_vec()
            )
        );
        assert_eq!(t.mem_in_use(), 8);
        // 0 refuses everything.
        t.set_high_thresh(0);
        assert_eq!(
            add_ts(&mut t, 8, 9, 8, 8, true, 8, 3).0,
            Res::Refused(9, FragError::MemoryLimit)
        );
    }

    #[test]
    fn without_storage_everything_is_refused() {
        let mut t = T::new(1);
        assert_eq!(
            t.wants(),
            Want {
                entries: 32,
                index: 16
            }
        );
        assert_eq!(
            add(&mut t, 1, 1, 0, 8, true),
            (Res::Refused(1, FragError::NoMemory), Vec::new())
        );
        // Buckets but no nodes, then a failing allocation.
        let (n, b) = t.adopt(None, alloc(16));
        assert!(n.is_none() && b.is_some_and(|b| b.is_empty()));
        assert_eq!(
            add(&mut t, 1, 2, 0, 8, true).0,
            Res::Refused(2, FragError::NoMemory)
        );
        set_failing(true);
        grow(&mut t);
        set_failing(false);
        assert_eq!(
            add(&mut t, 1, 3, 0, 8, true).0,
            Res::Refused(3, FragError::NoMemory)
        );
        assert_eq!(t.counters().no_memory, 3);
        // Storage too small to move into is handed back.
        let (n, _) = t.adopt(Some(Vec::new()), None);
        assert!(n.is_some());
        grow(&mut t);
        queued(&mut t, 1, 4, 0, 8, true);
    }

    #[test]
    fn fixed_storage_works_at_once() {
        let mut t: Frags<Pkt, Fixed<Node<Pkt>, 4>, Fixed<u32, 4>> = Frags::new(7);
        assert_eq!((t.capacity(), t.buckets(), t.wants().index), (4, 4, 0));
        let mut evs = Vec::new();
        let mut sink = |o| evs.push(ev(o));
        let f = |off, len, more, id| Fragment {
            offset: off,
            len,
            more,
            truesize: len,
            packet: Pkt(id),
        };
        assert_eq!(
            res(t.add(key(1), f(16, 8, false, 3), 0, &mut sink)),
            Res::Queued
        );
        assert_eq!(
            res(t.add(key(1), f(0, 8, true, 1), 0, &mut sink)),
            Res::Queued
        );
        assert_eq!(
            res(t.add(key(2), f(0, 8, true, 9), 0, &mut sink)),
            Res::Refused(9, FragError::NoMemory)
        );
        assert_eq!(
            res(t.add(key(1), f(8, 8, true, 2), 0, &mut sink)),
            Res::Complete {
                first: 1,
                len: 24,
                n: 3
            }
        );
        assert_eq!(evs, [Ev::Piece(2, 8), Ev::Piece(3, 16)].to_vec());
        assert_eq!(t.nodes_in_use(), 0);
    }

    #[test]
    fn ten_thousand_datagrams_in_progress() {
        let mut t = table();
        let n = 10_000u16;
        for k in 0..n {
            grow(&mut t);
            assert_eq!(
                add_ts(&mut t, k, u64::from(k), 0, 8, true, 200, u64::from(k)).0,
                Res::Queued
            );
        }
        grow(&mut t);
        assert_eq!(
            (t.len(), t.mem_in_use(), t.nodes_in_use()),
            (10_000, 2_000_000, 20_000)
        );
        assert!(t.buckets() >= 8192, "{} buckets", t.buckets());
        assert_eq!(t.next_expiry(), Some(30_000));
        let mut order: Vec<u16> = (0..n).collect();
        Rng(10_000).shuffle(&mut order);
        for k in order {
            let (r, evs) = add_ts(&mut t, k, 100_000 + u64::from(k), 8, 8, false, 200, 20_000);
            assert_eq!(
                (r, evs),
                (
                    Res::Complete {
                        first: u64::from(k),
                        len: 16,
                        n: 2
                    },
                    [Ev::Piece(100_000 + u64::from(k), 8)].to_vec()
                )
            );
        }
        check_empty(&t);
        assert_eq!(t.counters().completed, 10_000);
    }

    #[test]
    fn flush_returns_everything() {
        let mut t = table();
        queued(&mut t, 1, 1, 8, 8, true);
        queued(&mut t, 1, 2, 0, 8, true);
        queued(&mut t, 2, 3, 0, 8, true);
        let mut evs = Vec::new();
        assert_eq!(t.flush(&mut |o| evs.push(ev(o))), 2);
        assert_eq!(evs, [2, 1, 3].map(|i| Ev::Free(i, Why::Flushed)).to_vec());
        check_empty(&t);
        queued(&mut t, 1, 4, 0, 8, true);
    }

    /// A datagram of the model: its fragments (offset, end, id) by offset and Linux's runs.
    struct MD {
        key: u16,
        created: u64,
        frags: Vec<(u32, u32, u64)>,
        runs: Vec<(u32, u32)>,
        end: u32,
        has_last: bool,
        mem: usize,
    }

    /// The table as plain vectors, datagrams in the order they were made.
    struct Model {
        ds: Vec<MD>,
        high: usize,
        timeout: u64,
        completed: u64,
        evicted: u64,
        timeouts: u64,
    }

    enum RunPlace {
        Extend,
        Push,
        Insert(usize),
    }

    impl Model {
        fn mem(&self) -> usize {
            self.ds.iter().map(|d| d.mem).sum()
        }

        fn nodes(&self) -> usize {
            self.ds.iter().map(|d| 1 + d.frags.len()).sum()
        }

        fn expire_at(&mut self, i: usize, evs: &mut Vec<Ev>) {
            let d = self.ds.remove(i);
            let mut first = None;
            for &(off, _, id) in &d.frags {
                if off == 0 {
                    first = Some(id);
                } else {
                    evs.push(Ev::Free(id, Why::Expired));
                }
            }
            evs.push(Ev::Expired(d.key, first));
            self.timeouts += 1;
        }

        fn expire(&mut self, now: u64, evs: &mut Vec<Ev>) -> usize {
            let mut n = 0;
            while n < EXPIRE_BATCH
                && self
                    .ds
                    .first()
                    .is_some_and(|d| elapsed(now, d.created) >= self.timeout)
            {
                self.expire_at(0, evs);
                n += 1;
            }
            n
        }

        fn place(d: &MD, off: u32, end: u32, more: bool) -> Result<RunPlace, FragError> {
            if !more {
                if end < d.end || (d.has_last && end != d.end) {
                    return Err(FragError::LastMismatch);
                }
            } else if d.has_last && end > d.end {
                return Err(FragError::PastEnd);
            }
            let Some(&(_, tail_end)) = d.runs.last() else {
                return Ok(RunPlace::Push);
            };
            if tail_end < end {
                return if off < tail_end {
                    Err(FragError::Overlap)
                } else if off == tail_end {
                    Ok(RunPlace::Extend)
                } else {
                    Ok(RunPlace::Push)
                };
            }
            for (i, &(s, e)) in d.runs.iter().enumerate() {
                if end <= s {
                    return Ok(RunPlace::Insert(i));
                }
                if off < e {
                    return Err(if off >= s && end <= e {
                        FragError::Duplicate
                    } else {
                        FragError::Overlap
                    });
                }
            }
            Ok(RunPlace::Push)
        }

        #[allow(clippy::too_many_arguments)]
        fn add(
            &mut self,
            k: u16,
            id: u64,
            (off, len, more, ts): (u32, u32, bool, u32),
            now: u64,
            free_nodes: usize,
            evs: &mut Vec<Ev>,
        ) -> Res {
            let end = off + len;
            let refuse = |e| Res::Refused(id, e);
            if off % 8 != 0 {
                return refuse(FragError::BadOffset);
            }
            if len == 0 {
                return refuse(FragError::Empty);
            }
            if more && len % 8 != 0 {
                return refuse(FragError::BadLength);
            }
            if end > 65535 {
                return refuse(FragError::TooBig);
            }
            let charge = ts.max(len) as usize;
            if charge > self.high {
                return refuse(FragError::MemoryLimit);
            }
            let mut pos = self.ds.iter().position(|d| d.key == k);
            if let Some(i) = pos {
                if elapsed(now, self.ds[i].created) >= self.timeout {
                    self.expire_at(i, evs);
                    pos = None;
                }
            }
            let mut rp = RunPlace::Push;
            if let Some(i) = pos {
                match Self::place(&self.ds[i], off, end, more) {
                    Ok(p) => rp = p,
                    Err(FragError::Duplicate) => return refuse(FragError::Duplicate),
                    Err(e) => {
                        let d = self.ds.remove(i);
                        for &(_, _, h) in &d.frags {
                            evs.push(Ev::Free(h, Why::Dropped(e)));
                        }
                        evs.push(Ev::Free(id, Why::Dropped(e)));
                        return Res::Dropped(e, d.frags.len() as u32 + 1);
                    }
                }
                if self.ds[i].mem + charge > self.high {
                    return refuse(FragError::MemoryLimit);
                }
            }
            if free_nodes < if pos.is_some() { 1 } else { 2 } {
                return refuse(FragError::NoMemory);
            }
            let mut j = 0;
            while self.mem() + charge > self.high && j < self.ds.len() {
                if pos.is_some() && self.ds[j].key == k {
                    j += 1;
                    continue;
                }
                let d = self.ds.remove(j);
                for &(_, _, h) in &d.frags {
                    evs.push(Ev::Free(h, Why::Evicted));
                }
                self.evicted += 1;
            }
            if pos.is_none() {
                self.ds.push(MD {
                    key: k,
                    created: now,
                    frags: Vec::new(),
                    runs: Vec::new(),
                    end: 0,
                    has_last: false,
                    mem: 0,
                });
            }
            let i = self.ds.iter().position(|d| d.key == k).unwrap();
            let d = &mut self.ds[i];
            let at = d.frags.partition_point(|f| f.0 < off);
            d.frags.insert(at, (off, end, id));
            match rp {
                RunPlace::Extend => d.runs.last_mut().unwrap().1 = end,
                RunPlace::Push => d.runs.push((off, end)),
                RunPlace::Insert(r) => d.runs.insert(r, (off, end)),
            }
            d.mem += charge;
            if more {
                d.end = d.end.max(end);
            } else {
                d.has_last = true;
                d.end = end;
            }
            let meat: u32 = d.frags.iter().map(|f| f.1 - f.0).sum();
            if !(d.has_last && meat == d.end) {
                return Res::Queued;
            }
            let d = self.ds.remove(i);
            for &(o, _, h) in &d.frags[1..] {
                evs.push(Ev::Piece(h, o));
            }
            self.completed += 1;
            Res::Complete {
                first: d.frags[0].2,
                len: d.end,
                n: d.frags.len() as u32,
            }
        }
    }

    /// Takes the ids of what left the table off the ledger of packets held.
    fn settle(live: &mut HashSet<u64>, r: Res, evs: &[Ev]) {
        let mut out = Vec::new();
        match r {
            Res::Complete { first, .. } => out.push(first),
            Res::Refused(id, _) => out.push(id),
            _ => {}
        }
        for e in evs {
            match *e {
                Ev::Piece(id, _) | Ev::Free(id, _) | Ev::Expired(_, Some(id)) => out.push(id),
                Ev::Expired(_, None) => {}
            }
        }
        for id in out {
            assert!(
                live.remove(&id),
                "packet {id} came back twice or was never given"
            );
        }
    }

    fn against_the_model(seed: u64, steps: usize) {
        let mut rng = Rng(seed);
        let mut t = T::new(rng.next() as u32);
        let high = 6000;
        t.set_high_thresh(high);
        t.set_timeout_ms(100);
        let mut m = Model {
            ds: Vec::new(),
            high,
            timeout: 100,
            completed: 0,
            evicted: 0,
            timeouts: 0,
        };
        let mut live = HashSet::new();
        let mut now = 0u64;
        let mut next_id = 0u64;
        // Each key's datagram: its length and how it is cut.
        let mut plan: Vec<(u32, u32)> = (0..8).map(|_| (0, 8)).collect();
        for p in plan.iter_mut() {
            *p = (1 + rng.below(200) as u32, 8 * (1 + rng.below(6) as u32));
        }
        let mut counts = [0usize; 4];
        for _ in 0..steps {
            now += rng.below(4);
            match rng.below(100) {
                0..=5 => {
                    set_failing(rng.below(3) == 0);
                    grow(&mut t);
                    set_failing(false);
                }
                6..=7 => {
                    let mut evs = Vec::new();
                    let mut want = Vec::new();
                    let n = t.expire(now, &mut |o| evs.push(ev(o)));
                    assert_eq!(n, m.expire(now, &mut want));
                    assert_eq!(evs, want);
                    settle(&mut live, Res::Queued, &evs);
                }
                _ => {
                    let k = rng.below(8) as u16;
                    if rng.below(300) == 0 {
                        plan[k as usize] =
                            (1 + rng.below(200) as u32, 8 * (1 + rng.below(6) as u32));
                    }
                    let (total, size) = plan[k as usize];
                    let (off, len, more) = match rng.below(20) {
                        0 => (
                            8 * rng.below(30) as u32,
                            8 * rng.below(5) as u32 + rng.below(3) as u32,
                            rng.below(2) == 0,
                        ),
                        1 => (rng.below(100) as u32, 8, true),
                        2 => (65528, 8 + 8 * rng.below(2) as u32, false),
                        _ => {
                            let pieces = cut(total, size);
                            pieces[rng.below(pieces.len() as u64) as usize]
                        }
                    };
                    let ts = if rng.below(100) == 0 {
                        rng.below(8000) as u32
                    } else {
                        len + rng.below(1500) as u32
                    };
                    let id = next_id;
                    next_id += 1;
                    live.insert(id);
                    assert_eq!(t.nodes_in_use(), m.nodes());
                    let free_nodes = if t.buckets() == 0 {
                        0
                    } else {
                        t.capacity() - m.nodes()
                    };
                    let mut want = Vec::new();
                    let expect = m.add(k, id, (off, len, more, ts), now, free_nodes, &mut want);
                    let (r, evs) = add_ts(&mut t, k, id, off, len, more, ts, now);
                    assert_eq!(
                        (r, &evs),
                        (expect, &want),
                        "fragment {id} {off}+{len} {more}"
                    );
                    settle(&mut live, r, &evs);
                    counts[match r {
                        Res::Queued => 0,
                        Res::Complete { .. } => 1,
                        Res::Dropped(..) => 2,
                        Res::Refused(..) => 3,
                    }] += 1;
                }
            }
            assert!(t.mem_in_use() <= high);
            assert_eq!((t.mem_in_use(), t.len()), (m.mem(), m.ds.len()));
            assert_eq!(t.next_expiry(), m.ds.first().map(|d| d.created + 100));
        }
        let c = t.counters();
        assert_eq!(
            (c.completed, c.evicted, c.timeouts),
            (m.completed, m.evicted, m.timeouts)
        );
        assert!(counts.iter().all(|&n| n > 0), "outcomes {counts:?}");
        assert!(
            c.evicted > 0
                && c.timeouts > 0
                && c.overlaps > 0
                && c.no_memory > 0
                && c.over_limit > 0,
            "{c:?}"
        );
        let mut evs = Vec::new();
        t.flush(&mut |o| evs.push(ev(o)));
        settle(&mut live, Res::Queued, &evs);
        assert!(live.is_empty(), "{} packets never came back", live.len());
        check_empty(&t);
    }

    #[test]
    fn random_streams_against_a_model() {
        for seed in [1, 0x5eed_1234, 0xdead_beef, 42] {
            against_the_model(seed, 40_000);
        }
    }
}
