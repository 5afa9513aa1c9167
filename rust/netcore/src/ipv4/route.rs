//! The FIB (forwarding information base) and the route cache in front of it.
//!
//! This is the router walk-through of the seed notes played out in code. A packet for `dst`
//! is matched against every route's prefix and the *longest prefix match* wins: a `/32` host
//! route beats a `/24` network, which beats the `/0` *default gateway* that matches
//! everything. The winning route says how to reach the destination: it is one of our own
//! addresses ([`RouteKind::Local`]: deliver up the stack), it is on a *directly connected*
//! network ([`RouteKind::Connected`]: the next hop is `dst` itself, ARP for it on that
//! interface), or it lies *via a gateway* ([`RouteKind::Gateway`]: the next hop is the
//! gateway, which must itself be directly connected). [`Fib::resolve`] turns that into a
//! [`NextHop`].
//!
//! # How the lookup works: ranges instead of a trie
//!
//! A trie answers a lookup by walking down one node per prefix bit that matters: with a
//! million routes that is a dozen or more dependent memory loads, most of them cache misses.
//! This FIB follows DXR (Zec, Rizzo, Mikuc: "DXR: towards a billion routing lookups per
//! second in software", 2012) instead. The insight is that a routing table, whatever its
//! prefixes, cuts the 2^32 addresses into *ranges* of consecutive addresses that all have the
//! same answer. Take three routes:
//!
//! ```text
//!   10.0.0.0/8    via A
//!   10.1.0.0/16   via B
//!   10.1.2.0/24   via C
//! ```
//!
//! Sorted by address, their boundaries cut the address space into five ranges:
//!
//! ```text
//!   0.0.0.0     .. 9.255.255.255    no route
//!   10.0.0.0    .. 10.0.255.255     A
//!   10.1.0.0    .. 10.1.1.255       B
//!   10.1.2.0    .. 10.1.2.255       C
//!   10.1.3.0    .. 10.1.255.255     B
//!   10.2.0.0    .. 255.255.255.255  A, then no route from 11.0.0.0
//! ```
//!
//! A lookup is then a binary search for the last range starting at or before `dst`: nesting
//! and prefix lengths have disappeared, they were resolved once when the ranges were built.
//!
//! To keep the searches short, the top 16 bits of the address index a *direct table* of
//! 2^16 words, one per *chunk* of 65536 addresses (a /16). A chunk that no route longer than
//! /16 cuts into has a single answer, stored in its word: one load, no search (here every
//! chunk of 10.0.0.0/8 but 10.1.0.0/16). A chunk that is cut holds a pointer to its own
//! small sorted array of ranges, each one `u32`: the range's first address within the chunk
//! (16 bits) and its answer (16 bits). 10.1.0.0/16 holds three: `(0x0000, B)`,
//! `(0x0200, C)`, `(0x0300, B)`, and `10.1.2.77` finds `(0x0200, C)` after two steps. With a
//! million realistic routes a cut chunk has a few dozen ranges. A 16-entry *sub-index* in
//! front of them (the first range of each /20 of the chunk) narrows the search to the few
//! ranges of the destination's /20 (at most 8 nearly always), which a scan of a fixed width
//! settles without a branch: the direct table (256 KiB) stays in the cache, and a lookup
//! reads the sub-index and its ranges, usually one or two cache lines.
//!
//! The sub-indexes and ranges of all chunks make the *lookup index*, a storage part of its
//! own that holds nothing else, so that the memory a lookup touches is as small as it can
//! be (8.5 MB at a million routes, where the routes themselves take as much again): at that
//! size the time of a lookup is the time of its cache and TLB misses.
//!
//! A lookup waits for memory twice, for the sub-index and for the ranges, and the processor
//! overlaps only the few lookups that fit in its out-of-order window. [`Fib::lookup_many`]
//! and [`Fib::resolve_many`] run [`LANES`] lookups in lockstep: the lookup words of all,
//! then the sub-index entries of all, then the ranges of all, so that the loads of each step
//! are independent and all in flight at once (the batched lookups of DXR and PacketShader,
//! in safe Rust: no prefetch instruction, the loads themselves fetch the lines). The
//! receive path has the batches: a NAPI poll hands over up to 64 packets.
//!
//! An answer is a *leaf*: an index into a table of deduplicated (kind, gateway, interface,
//! metric, prefix length) records, of which most tables have a few hundred, so that 16 bits
//! suffice ([`MAX_NEXTHOPS`]) and the matched route comes back whole: its prefix is `dst`
//! masked to the leaf's length. The leaf of a gateway route also keeps the leaf of its
//! gateway's own longest match, which [`Fib::resolve`] needs to check that the gateway is
//! reachable: resolving costs one lookup, not two. Every change refreshes the gateway
//! leaves whose gateway the changed prefix covers, found through chains by the gateway's
//! /24.
//!
//! # Updates
//!
//! Routes are kept per chunk too, in the chunk's *block*: the chunk's route records
//! (`(low 16 bits of the prefix, length)`, leaf; sorted by prefix then length: this is the
//! listing order, and what [`Fib::get`] and [`Fib::iter_from`] read). A route of length 17
//! to 32 lies in one chunk: adding or removing it rewrites that one block, and the chunk's
//! ranges block in the lookup index is recomputed from its sorted routes in one sweep with a
//! stack of the enclosing routes, so that the FIB is exact after every change. Routes of
//! length 0 to 16 cover whole chunks: they never cut ranges. Each chunk keeps the leaf of
//! the longest such route covering it (its *short leaf*), which answers for every range
//! that no longer route covers: those ranges hold it, so that a lookup needs nothing else,
//! and they are the ranges that take the new one when it changes (a longer route's leaf has
//! another prefix length). Adding a `/8` updates the short leaf of 256 chunks, a `/0` that
//! of all 65536 (a few milliseconds at a million routes); no range boundary moves. A change
//! costs time linear in the routes of its chunk (a few dozen in a real table).
//!
//! Range boundaries are never merged, even between neighbours with the same answer, so that
//! removing a route or changing its next hop never adds a range: deletions never need
//! memory and cannot fail.
//!
//! # Storage
//!
//! Nothing here allocates ([`super::super::storage`]). The FIB lives in four
//! [`Storage<u32>`] parts ([`FibParts`]): the direct table (2 × 2^16 words, allocated once),
//! the blocks of routes and the lookup index (each in blocks of size classes about 15%
//! apart, freed blocks reused through free lists per class) and the leaves (with a small
//! hash index to deduplicate them). [`Fib::wants`] says what is needed for the next
//! insertion to succeed; the embedder allocates it where it may sleep and [`Fib::adopt`]
//! moves the FIB in, compacting the blocks, and hands the old storage back to be freed
//! outside the lock. An insertion that finds no room fails with
//! [`FibError::NoMem`] and changes nothing. Every change bumps [`Fib::generation`].
//!
//! [`RouteCache`] is a small two-way set-associative hash table keyed by destination address
//! that sits in front of the FIB, as the old Linux IPv4 route cache did. Each entry remembers
//! the generation of the FIB it was computed from, so any change to the FIB invalidates every
//! entry at once, without touching them.

use super::super::storage::Storage;
use super::super::wire::Ipv4Address;
use core::fmt;

/// Longest prefix length.
pub const MAX_LEN: u8 = 32;

/// Most distinct leaves (next hop, metric and prefix length combinations) a FIB holds.
pub const MAX_NEXTHOPS: usize = 65535;

/// The netmask of a prefix length, as a host-order integer (`len` above 32 counts as 32).
pub const fn mask(len: u8) -> u32 {
    match u32::MAX.checked_shl(32u32.saturating_sub(len as u32)) {
        Some(m) => m,
        None => 0,
    }
}

/// Chunks of the direct table: one per value of an address's top 16 bits.
const CHUNKS: usize = 1 << 16;
/// Words of the direct table: the lookup words, then each chunk's block (or `NIL`).
const DIRECT_WORDS: usize = 2 * CHUNKS;
/// The leaf meaning "no route".
const NONE: u32 = 0xffff;
/// Flag of a lookup word that points at ranges (else it holds a leaf).
const RANGES: u32 = 1 << 31;
/// End of a list; no block.
const NIL: u32 = u32::MAX;
/// Buckets of the leaves' hash index (the first words of the leaves part).
const LEAF_BUCKETS: usize = 1024;
/// Chains of the gateway leaves by their gateway's /24 (modulo), after the buckets.
const VIA_BUCKETS: usize = 1024;
/// Words before the leaf records: the buckets, then the heads of the gateways' chains.
const HEADS: usize = LEAF_BUCKETS + VIA_BUCKETS;
/// Words of one leaf record: kind and length, ifindex, gateway, metric, references, next
/// (in its bucket's chain, or free), and for a gateway route the leaf of the gateway's own
/// longest match and the next leaf in its gateway's chain.
const LEAF_WORDS: usize = 8;
/// Leaf records of the leaves part's first allocation.
const FIRST_LEAVES: usize = 16;
/// Block size classes.
const CLASSES: usize = 80;
/// Header words of a block of routes: its class, its number of routes, its short leaf.
const BHDR: usize = 3;
/// Words of a ranges block's sub-index: for each sixteenth of the chunk (a /20), the index
/// of the range covering its first address, 16 bits each.
const SUB_WORDS: usize = 8;
/// Header words of a ranges block: its sub-index, then its last range's index (and its
/// class), so that the ranges of /20 `j` are those from entry `j` to entry `j + 1`.
const IHDR: usize = 1 + SUB_WORDS;
/// Lookups that [`Fib::lookup_many`] and [`Fib::resolve_many`] run in lockstep.
pub const LANES: usize = 16;

/// Ranges a lookup scans at once.
const SCAN: usize = 8;
/// Least a block allocation asks for, in words.
const MIN_BLOCKS: usize = 256;

/// Words of a block of class `k`: 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, ... (each power of two
/// cut in four steps, so that a block wastes an eighth of its room on average).
const fn class_size(k: usize) -> usize {
    (4 + (k & 3)) << (k >> 2)
}

/// The smallest class of at least `n` words.
fn class_of(n: usize) -> usize {
    if n <= 8 {
        return n.saturating_sub(4).min(4);
    }
    let e = (n - 1).ilog2() as usize - 2;
    let m = (n + (1 << e) - 1) >> e;
    if m >= 8 {
        4 * (e + 1)
    } else {
        4 * e + (m - 4)
    }
}

/// A route record's sort key: the low 16 bits of the prefix, then the length.
fn key_word(key: u32, len: u8) -> u32 {
    (key << 16) | u32::from(len)
}

/// The storage of a [`Fib`], one field per part: as capacities wanted ([`Fib::wants`]), as
/// storage handed over and back ([`Fib::adopt`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FibParts<T> {
    /// The direct table: always `2 * 65536` words.
    pub direct: T,
    /// The per-chunk blocks of routes (the routes' sorted records).
    pub blocks: T,
    /// The lookup index: the per-chunk blocks of ranges, which lookups read.
    pub index: T,
    /// The leaves (deduplicated next hops) and their hash index.
    pub leaves: T,
}

impl FibParts<usize> {
    /// True when nothing is wanted.
    pub fn is_none(&self) -> bool {
        self.direct == 0 && self.blocks == 0 && self.index == 0 && self.leaves == 0
    }
}

/// A position in the listing ([`Fib::iter_from`]): the routes from some prefix and length
/// on, so that a listing resumes after the last route it showed whatever changed meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor(u64);

impl Cursor {
    /// The first route.
    pub const START: Cursor = Cursor(0);

    /// The routes after `route` in prefix order.
    pub fn after(route: &Route) -> Cursor {
        Cursor(((u64::from(route.prefix.to_u32()) << 6) | u64::from(route.len)) + 1)
    }

    /// The cursor as a number (for a netlink dump's callback arguments).
    pub fn to_u64(self) -> u64 {
        self.0
    }

    /// A cursor from [`Cursor::to_u64`] (any value is a valid, maybe past-the-end, cursor).
    pub fn from_u64(v: u64) -> Cursor {
        Cursor(v)
    }
}

/// The ranges being built by [`sweep`]: the routes enclosing the current position, and the
/// range not yet written (a later one starting at the same place replaces it).
struct Sweep<F: FnMut(usize, u32)> {
    /// (end, leaf) of each enclosing route, at most one per length 17..32.
    stack: [(u32, u32); 17],
    depth: usize,
    start: u32,
    leaf: u32,
    count: usize,
    out: F,
}

impl<F: FnMut(usize, u32)> Sweep<F> {
    fn emit(&mut self, s: u32, l: u32) {
        if s != self.start {
            (self.out)(self.count, (self.start << 16) | self.leaf);
            self.count += 1;
            self.start = s;
        }
        self.leaf = l;
    }

    /// Closes the enclosing routes that end at or before `pos`.
    fn pop_to(&mut self, pos: u32) {
        while let Some(&(end, _)) = self.depth.checked_sub(1).and_then(|d| self.stack.get(d)) {
            if end > pos {
                break;
            }
            self.depth -= 1;
            let under = self
                .depth
                .checked_sub(1)
                .and_then(|d| self.stack.get(d))
                .map_or(NONE, |e| e.1);
            if end < CHUNKS as u32 {
                self.emit(end, under);
            }
        }
    }
}

/// Ranges of the routes longer than /16 of one chunk, from its records sorted by
/// `(low bits, length)`: calls `out(i, range)` for each range in order and returns how many.
/// `rec(i)` gives record `i` (key word, leaf) of `n`.
fn sweep(n: usize, rec: impl Fn(usize) -> (u32, u32), out: impl FnMut(usize, u32)) -> usize {
    let mut s = Sweep {
        stack: [(0, 0); 17],
        depth: 0,
        start: 0,
        leaf: NONE,
        count: 0,
        out,
    };
    for i in 0..n {
        let (kw, l) = rec(i);
        let len = kw & 0xff;
        if len <= 16 || len > 32 {
            continue;
        }
        let start = kw >> 16;
        s.pop_to(start);
        s.emit(start, l);
        // Sorted records nest: a record inside the top one is longer, so depth stays <= 16.
        if let Some(e) = s.stack.get_mut(s.depth) {
            *e = (start + (1 << (32 - len)), l);
            s.depth += 1;
        }
    }
    s.pop_to(u32::MAX);
    (s.out)(s.count, (s.start << 16) | s.leaf);
    s.count + 1
}

/// Moves `len` words of `v` from `src` to `dst` (the ranges may overlap); nothing if either
/// lies outside `v`.
fn move_words(v: &mut [u32], src: usize, len: usize, dst: usize) {
    if len > 0 && src.saturating_add(len) <= v.len() && dst.saturating_add(len) <= v.len() {
        v.copy_within(src..src + len, dst);
    }
}

/// Blocks in size classes in one storage part: freed blocks are reused through free lists
/// per class, and [`Fib::adopt`] compacts them into new storage. Word `class_at` of a block
/// holds its class in its high 16 bits (the low 16 are the owner's); in a free block, the
/// word after it links the next free block of the class.
struct Arena<S: Storage<u32>> {
    words: S,
    class_at: usize,
    free: [u32; CLASSES],
    /// Words of the blocks in use.
    used: usize,
    /// Largest class allocated since the last compaction.
    max_class: usize,
}

impl<S: Storage<u32>> Arena<S> {
    fn new(class_at: usize) -> Self {
        Arena {
            words: S::default(),
            class_at,
            free: [NIL; CLASSES],
            used: 0,
            max_class: 0,
        }
    }

    #[inline]
    fn w(&self, i: usize) -> u32 {
        self.words.get(i).copied().unwrap_or(0)
    }

    #[inline]
    fn set_w(&mut self, i: usize, v: u32) {
        if let Some(w) = self.words.get_mut(i) {
            *w = v;
        }
    }

    /// The class of the block at `b`.
    fn class(&self, b: usize) -> usize {
        (self.w(b + self.class_at) >> 16) as usize
    }

    /// Whether a block of class `k` can be had: from its free list, or from the room left
    /// at the end.
    fn room(&self, k: usize) -> Result<(), FibError> {
        let head = self.free.get(k).copied().ok_or(FibError::Full)?;
        if head != NIL {
            return Ok(());
        }
        let (at, size) = (self.words.len(), class_size(k));
        if at.saturating_add(size) >= RANGES as usize {
            Err(FibError::Full)
        } else if self.words.capacity() - at < size {
            Err(FibError::NoMem)
        } else {
            Ok(())
        }
    }

    /// A block of class `k`, its first word holding `k`.
    fn alloc(&mut self, k: usize) -> Result<usize, FibError> {
        self.room(k)?;
        let size = class_size(k);
        let head = self.free.get(k).copied().unwrap_or(NIL);
        let at = if head != NIL {
            let next = self.w(head as usize + self.class_at + 1);
            if let Some(h) = self.free.get_mut(k) {
                *h = next;
            }
            head as usize
        } else {
            let at = self.words.len();
            for _ in 0..size {
                self.words
                    .push_within_capacity(0)
                    .map_err(|_| FibError::NoMem)?;
            }
            at
        };
        self.set_w(at + self.class_at, (k as u32) << 16);
        self.used += size;
        self.max_class = self.max_class.max(k);
        Ok(at)
    }

    fn free(&mut self, b: usize) {
        let k = self.class(b);
        let Some(head) = self.free.get_mut(k) else {
            return;
        };
        let next = *head;
        *head = b as u32;
        self.set_w(b + self.class_at + 1, next);
        self.used = self.used.saturating_sub(class_size(k));
    }

    /// The storage to ask for (0: enough) so that a block of `least` words, or the largest
    /// block grown by `grow` words, can be had from the room at the end: a quarter more than
    /// in use, to amortise the moves.
    fn wants(&self, least: usize, grow: usize) -> usize {
        let biggest = if self.used == 0 {
            0
        } else {
            class_size(self.max_class)
        };
        let worst = class_size(class_of(biggest.max(least) + grow));
        if self.words.capacity() - self.words.len() < worst {
            (self.used + self.used / 4 + 2 * worst).max(MIN_BLOCKS)
        } else {
            0
        }
    }

    /// Appends block `b` of `live` words of `from` to `to`, in the smallest class that holds
    /// it: its new place and class.
    fn copy(&self, to: &mut S, b: usize, live: usize) -> (usize, usize) {
        let k = class_of(live);
        let at = to.len();
        for i in 0..class_size(k) {
            let w = match i {
                _ if i == self.class_at => (self.w(b + i) & 0xffff) | (k as u32) << 16,
                _ if i < live => self.w(b + i),
                _ => 0,
            };
            let _ = to.push_within_capacity(w);
        }
        (at, k)
    }

    /// Takes `new`, filled by [`Arena::copy`] with every block in use, as the storage;
    /// returns the old one.
    fn replace(&mut self, new: S, max_class: usize) -> S {
        self.free = [NIL; CLASSES];
        self.used = new.len();
        self.max_class = max_class;
        core::mem::replace(&mut self.words, new)
    }

    fn clear(&mut self) {
        while self.words.pop().is_some() {}
        self.free = [NIL; CLASSES];
        self.used = 0;
        self.max_class = 0;
    }
}

/// The FIB; see the module documentation.
pub struct Fib<S: Storage<u32>> {
    /// `[0, 2^16)`: lookup words (a leaf, or `RANGES` | the chunk's ranges block);
    /// `[2^16, 2^17)`: each chunk's block of routes, or `NIL`.
    direct: S,
    /// Blocks of routes: `[class << 16, routes n, short leaf, n records]`, a record being two
    /// words, `key_word` and leaf.
    blocks: Arena<S>,
    /// The lookup index: ranges blocks `[sub-index, class << 16 | (r - 1), r ranges]`, a
    /// range being `start << 16 | leaf`, the short leaf standing for "no route longer than
    /// /16".
    index: Arena<S>,
    /// `LEAF_BUCKETS` chain heads, `VIA_BUCKETS` heads of gateway chains, then leaf records
    /// of `LEAF_WORDS` words.
    leaves: S,
    free_leaf: u32,
    count: usize,
    limit: usize,
    generation: u64,
}

impl<S: Storage<u32>> Fib<S> {
    /// An empty FIB holding at most `limit` routes, without storage yet ([`Fib::wants`]).
    pub fn new(limit: usize) -> Self {
        Fib {
            direct: S::default(),
            blocks: Arena::new(0),
            index: Arena::new(SUB_WORDS),
            leaves: S::default(),
            free_leaf: NIL,
            count: 0,
            limit,
            generation: 0,
        }
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if there are no routes.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Most routes the FIB takes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Changes the limit (routes beyond a lowered one stay).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Counter bumped by every change: a route cache compares it with the generation its
    /// entries were computed from.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Bytes of storage held (capacities, used or not), and of the FIB itself.
    pub fn bytes(&self) -> usize {
        let words = self.direct.capacity()
            + self.blocks.words.capacity()
            + self.index.words.capacity()
            + self.leaves.capacity();
        words * 4 + core::mem::size_of::<Self>()
    }

    /// Removes every route (the storage stays).
    pub fn clear(&mut self) {
        if self.direct.len() >= DIRECT_WORDS {
            for (i, w) in self.direct.iter_mut().enumerate() {
                *w = if i < CHUNKS { NONE } else { NIL };
            }
        }
        self.blocks.clear();
        self.index.clear();
        while self.leaves.len() > HEADS && self.leaves.pop().is_some() {}
        for w in self.leaves.iter_mut() {
            *w = NIL;
        }
        self.free_leaf = NIL;
        self.count = 0;
        self.bump();
    }

    // --- storage -------------------------------------------------------------------------

    /// Words of the blocks of routes once compacted (each in the smallest class that holds
    /// it).
    fn compacted_blocks(&self) -> usize {
        (0..CHUNKS)
            .filter_map(|c| self.block(c))
            .map(|b| class_size(class_of(BHDR + 2 * self.routes_in(b))))
            .sum()
    }

    /// Words of the ranges blocks once compacted.
    fn compacted_index(&self) -> usize {
        (0..CHUNKS)
            .filter_map(|c| self.ranges_block(c))
            .map(|x| class_size(class_of(IHDR + self.ranges_in(x))))
            .sum()
    }

    /// The storage the FIB needs before the next insertion is sure to find room (0: that
    /// part has enough): the direct table once; blocks of routes and of ranges with room for
    /// the largest block an insertion may need (a quarter more than in use, to amortise the
    /// moves); leaves when no record is free (twice as many). Allocate it and hand it to
    /// [`Fib::adopt`].
    pub fn wants(&self) -> FibParts<usize> {
        let direct = if self.direct.len() < DIRECT_WORDS {
            DIRECT_WORDS
        } else {
            0
        };
        let records = self.leaves.len().saturating_sub(HEADS) / LEAF_WORDS;
        let leaves = if self.leaves.len() < HEADS {
            HEADS + FIRST_LEAVES * LEAF_WORDS
        } else if self.free_leaf == NIL
            && self.leaves.capacity() - self.leaves.len() < LEAF_WORDS
            && records < MAX_NEXTHOPS
        {
            HEADS + records.saturating_mul(2).clamp(FIRST_LEAVES, MAX_NEXTHOPS) * LEAF_WORDS
        } else {
            0
        };
        FibParts {
            direct,
            // An insertion adds a record (two words) and at most two ranges.
            blocks: self.blocks.wants(BHDR + 2, 2),
            index: self.index.wants(IHDR + 3, 2),
            leaves,
        }
    }

    /// Moves the FIB into the storage given (any part may be `None`; each must be empty):
    /// the direct table if it has none yet (and room for `2 * 65536` words); blocks of
    /// routes, and of ranges, with room for those in use, compacted into them; leaves with
    /// room for one more record. Returns what the caller must free after its lock: the
    /// storage replaced, or what was given and did not fit (or was not needed).
    pub fn adopt(&mut self, parts: FibParts<Option<S>>) -> FibParts<Option<S>> {
        let direct = parts.direct.map(|mut new| {
            if !self.direct.is_empty() || !new.is_empty() || new.capacity() < DIRECT_WORDS {
                return new;
            }
            for i in 0..DIRECT_WORDS {
                if new
                    .push_within_capacity(if i < CHUNKS { NONE } else { NIL })
                    .is_err()
                {
                    break;
                }
            }
            core::mem::replace(&mut self.direct, new)
        });
        let leaves = parts.leaves.map(|mut new| {
            let need = self.leaves.len().max(HEADS) + LEAF_WORDS;
            if !new.is_empty() || new.capacity() < need {
                return new;
            }
            if self.leaves.is_empty() {
                for _ in 0..HEADS {
                    let _ = new.push_within_capacity(NIL);
                }
            } else {
                for &w in self.leaves.iter() {
                    let _ = new.push_within_capacity(w);
                }
            }
            core::mem::replace(&mut self.leaves, new)
        });
        let blocks = parts.blocks.map(|new| self.adopt_blocks(new));
        let index = parts.index.map(|new| self.adopt_index(new));
        FibParts {
            direct,
            blocks,
            index,
            leaves,
        }
    }

    /// Copies the blocks of routes into `new`, each in the smallest class that holds it, in
    /// chunk order; returns the old storage (or `new`, too small or not empty).
    fn adopt_blocks(&mut self, mut new: S) -> S {
        if !new.is_empty() || new.capacity() < self.compacted_blocks() {
            return new;
        }
        let mut max_class = 0;
        for c in 0..CHUNKS {
            let Some(b) = self.block(c) else { continue };
            let live = BHDR + 2 * self.routes_in(b);
            let (at, k) = self.blocks.copy(&mut new, b, live);
            max_class = max_class.max(k);
            if let Some(p) = self.direct.get_mut(CHUNKS + c) {
                *p = at as u32;
            }
        }
        self.blocks.replace(new, max_class)
    }

    /// Copies the ranges blocks into `new`, as [`Self::adopt_blocks`] does: the lookup index
    /// ends up in chunk order, without gaps.
    fn adopt_index(&mut self, mut new: S) -> S {
        if !new.is_empty() || new.capacity() < self.compacted_index() {
            return new;
        }
        let mut max_class = 0;
        for c in 0..CHUNKS {
            let Some(x) = self.ranges_block(c) else {
                continue;
            };
            let live = IHDR + self.ranges_in(x);
            let (at, k) = self.index.copy(&mut new, x, live);
            max_class = max_class.max(k);
            if let Some(w) = self.direct.get_mut(c) {
                *w = RANGES | at as u32;
            }
        }
        self.index.replace(new, max_class)
    }

    /// The block of routes of chunk `c`.
    fn block(&self, c: usize) -> Option<usize> {
        match self.direct.get(CHUNKS + c) {
            Some(&b) if b != NIL => Some(b as usize),
            _ => None,
        }
    }

    /// The ranges block of chunk `c` (a chunk cut by a route longer than /16 has one).
    fn ranges_block(&self, c: usize) -> Option<usize> {
        match self.direct.get(c) {
            Some(&w) if w & RANGES != 0 => Some((w & !RANGES) as usize),
            _ => None,
        }
    }

    /// Routes of the block at `b`.
    fn routes_in(&self, b: usize) -> usize {
        self.blocks.w(b + 1) as usize
    }

    /// Ranges of the ranges block at `x`.
    fn ranges_in(&self, x: usize) -> usize {
        (self.index.w(x + SUB_WORDS) & 0xffff) as usize + 1
    }

    // --- leaves --------------------------------------------------------------------------

    fn leaf_at(leaf: u32) -> usize {
        HEADS + leaf as usize * LEAF_WORDS
    }

    fn leaf_word(&self, leaf: u32, i: usize) -> u32 {
        self.leaves
            .get(Self::leaf_at(leaf) + i)
            .copied()
            .unwrap_or(0)
    }

    fn set_leaf_word(&mut self, leaf: u32, i: usize, v: u32) {
        if let Some(w) = self.leaves.get_mut(Self::leaf_at(leaf) + i) {
            *w = v;
        }
    }

    /// The prefix length of a leaf.
    fn leaf_len(&self, leaf: u32) -> u8 {
        (self.leaf_word(leaf, 0) >> 8) as u8
    }

    /// The words identifying a route's leaf.
    fn leaf_key(route: &Route) -> [u32; 4] {
        let len = u32::from(route.len) << 8;
        match route.kind {
            RouteKind::Local => [len, 0, 0, route.metric],
            RouteKind::Connected { ifindex } => [len | 1, ifindex as u32, 0, route.metric],
            RouteKind::Gateway { via, ifindex } => {
                [len | 2, ifindex as u32, via.to_u32(), route.metric]
            }
        }
    }

    fn bucket(key: &[u32; 4]) -> usize {
        let mut h = 0u32;
        for &w in key {
            h = (h ^ w).wrapping_mul(0x9e37_79b1).rotate_left(13);
        }
        (h >> 22) as usize % LEAF_BUCKETS
    }

    /// The leaf of `route`, found or made, with one more reference.
    fn intern(&mut self, route: &Route) -> Result<u32, FibError> {
        if self.leaves.len() < HEADS {
            return Err(FibError::NoMem);
        }
        let key = Self::leaf_key(route);
        let b = Self::bucket(&key);
        let head = self.leaves.get(b).copied().unwrap_or(NIL);
        let mut i = head;
        let mut left = MAX_NEXTHOPS;
        while i != NIL && left > 0 {
            let at = Self::leaf_at(i);
            if self.leaves.get(at..at + 4) == Some(&key[..]) {
                let refs = self.leaf_word(i, 4);
                self.set_leaf_word(i, 4, refs.saturating_add(1));
                return Ok(i);
            }
            i = self.leaf_word(i, 5);
            left -= 1;
        }
        let leaf = if self.free_leaf != NIL {
            let leaf = self.free_leaf;
            self.free_leaf = self.leaf_word(leaf, 5);
            leaf
        } else {
            let records = (self.leaves.len() - HEADS) / LEAF_WORDS;
            if records >= MAX_NEXTHOPS {
                return Err(FibError::Full);
            }
            if self.leaves.capacity() - self.leaves.len() < LEAF_WORDS {
                return Err(FibError::NoMem);
            }
            for _ in 0..LEAF_WORDS {
                self.leaves
                    .push_within_capacity(0)
                    .map_err(|_| FibError::NoMem)?;
            }
            records as u32
        };
        for (j, &w) in key.iter().enumerate() {
            self.set_leaf_word(leaf, j, w);
        }
        self.set_leaf_word(leaf, 4, 1);
        self.set_leaf_word(leaf, 5, head);
        if let Some(h) = self.leaves.get_mut(b) {
            *h = leaf;
        }
        if let RouteKind::Gateway { via, .. } = route.kind {
            // Into its gateway's chain, with the gateway's match as it is now.
            let vb = Self::via_bucket(via.to_u32());
            let next = self.leaves.get(vb).copied().unwrap_or(NIL);
            self.set_leaf_word(leaf, 6, self.leaf(via.to_u32()));
            self.set_leaf_word(leaf, 7, next);
            if let Some(h) = self.leaves.get_mut(vb) {
                *h = leaf;
            }
        } else {
            self.set_leaf_word(leaf, 6, NONE);
            self.set_leaf_word(leaf, 7, NIL);
        }
        Ok(leaf)
    }

    /// The head of the chain of the gateway leaves whose gateway is in `via`'s /24 (and
    /// others, modulo `VIA_BUCKETS`).
    fn via_bucket(via: u32) -> usize {
        LEAF_BUCKETS + (via >> 8) as usize % VIA_BUCKETS
    }

    /// Unlinks `leaf` from the chain whose head is word `head`, following link word `link`.
    fn unlink(&mut self, head: usize, leaf: u32, link: usize) {
        let next = self.leaf_word(leaf, link);
        if self.leaves.get(head) == Some(&leaf) {
            if let Some(h) = self.leaves.get_mut(head) {
                *h = next;
            }
            return;
        }
        let mut i = self.leaves.get(head).copied().unwrap_or(NIL);
        let mut left = MAX_NEXTHOPS;
        while i != NIL && left > 0 {
            let n = self.leaf_word(i, link);
            if n == leaf {
                self.set_leaf_word(i, link, next);
                return;
            }
            i = n;
            left -= 1;
        }
    }

    /// A route at `key/len` came or went: the gateway leaves whose gateway it covers take
    /// their gateway's new match. Walks the chains of the /24s the prefix covers (all of
    /// them for a prefix of `VIA_BUCKETS` /24s or more).
    fn refresh_gateways(&mut self, key: u32, len: u8) {
        let first = (key >> 8) as usize;
        let units = 1usize << (24 - len.min(24));
        let buckets = if units >= VIA_BUCKETS {
            0..VIA_BUCKETS
        } else {
            first..first + units
        };
        for u in buckets {
            let mut i = self
                .leaves
                .get(LEAF_BUCKETS + u % VIA_BUCKETS)
                .copied()
                .unwrap_or(NIL);
            let mut left = MAX_NEXTHOPS;
            while i != NIL && left > 0 {
                let via = self.leaf_word(i, 2);
                if (via ^ key) & mask(len) == 0 {
                    self.set_leaf_word(i, 6, self.leaf(via));
                }
                i = self.leaf_word(i, 7);
                left -= 1;
            }
        }
    }

    /// Drops a reference to `leaf`, freeing it with the last.
    fn release(&mut self, leaf: u32) {
        let refs = self.leaf_word(leaf, 4).saturating_sub(1);
        self.set_leaf_word(leaf, 4, refs);
        if refs > 0 {
            return;
        }
        let at = Self::leaf_at(leaf);
        let Some(key) = self
            .leaves
            .get(at..at + 4)
            .and_then(|k| <[u32; 4]>::try_from(k).ok())
        else {
            return;
        };
        self.unlink(Self::bucket(&key), leaf, 5);
        if key[0] & 3 == 2 {
            self.unlink(Self::via_bucket(key[2]), leaf, 7);
        }
        self.set_leaf_word(leaf, 5, self.free_leaf);
        self.free_leaf = leaf;
    }

    /// The route that `leaf` stands for, matched by `addr` (its prefix is `addr` masked).
    #[inline]
    fn route_of(&self, leaf: u32, addr: u32) -> Option<Route> {
        if leaf == NONE {
            return None;
        }
        let at = Self::leaf_at(leaf);
        let &[w0, ifindex, via, metric] = self.leaves.get(at..at + 4)? else {
            return None;
        };
        let len = (w0 >> 8) as u8;
        let ifindex = ifindex as i32;
        let kind = match w0 & 3 {
            0 => RouteKind::Local,
            1 => RouteKind::Connected { ifindex },
            _ => RouteKind::Gateway {
                via: Ipv4Address::from_u32(via),
                ifindex,
            },
        };
        Some(Route {
            prefix: Ipv4Address::from_u32(addr & mask(len)),
            len,
            kind,
            metric,
        })
    }

    // --- chunks --------------------------------------------------------------------------

    /// The leaf of the longest route of length 16 or less covering chunk `c`.
    fn short_leaf(&self, c: usize) -> u32 {
        match self.block(c) {
            Some(b) => self.blocks.w(b + 2) & 0xffff,
            None => self.direct.get(c).copied().unwrap_or(NONE),
        }
    }

    /// Makes `leaf` the short leaf of chunk `c`: the ranges that held the old one (those no
    /// longer route covers: a longer route's leaf has another prefix length) take it.
    fn set_short(&mut self, c: usize, leaf: u32) {
        let Some(b) = self.block(c) else {
            if let Some(w) = self.direct.get_mut(c) {
                *w = leaf;
            }
            return;
        };
        let old = self.blocks.w(b + 2) & 0xffff;
        self.blocks.set_w(b + 2, leaf);
        match self.ranges_block(c) {
            Some(x) => {
                let r = self.ranges_in(x);
                let ranges = self.index.words.get_mut(x + IHDR..x + IHDR + r);
                for w in ranges.into_iter().flatten() {
                    if *w & 0xffff == old {
                        *w = (*w & !0xffff) | leaf;
                    }
                }
            }
            None => {
                if let Some(w) = self.direct.get_mut(c) {
                    *w = leaf;
                }
            }
        }
    }

    /// Where the record `kw` is (or would go) in chunk `c`, and its leaf if it is there.
    fn find(&self, c: usize, kw: u32) -> (usize, Option<u32>) {
        let Some(b) = self.block(c) else {
            return (0, None);
        };
        let n = self.routes_in(b);
        let base = b + BHDR;
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.blocks.w(base + 2 * mid) < kw {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo < n && self.blocks.w(base + 2 * lo) == kw {
            (lo, Some(self.blocks.w(base + 2 * lo + 1)))
        } else {
            (lo, None)
        }
    }

    /// Rewrites chunk `c`'s block with record `pos` removed (`remove`) and/or `insert` put
    /// at `pos`, and its ranges block from the records. Fails (changing nothing) only when a
    /// larger block is needed and none can be had; removing or replacing a record never
    /// needs one (nor more ranges).
    fn edit(
        &mut self,
        c: usize,
        pos: usize,
        remove: bool,
        insert: Option<(u32, u32)>,
    ) -> Result<(), FibError> {
        let old = self.block(c);
        let old_ix = self.ranges_block(c);
        let (n, short) = match old {
            Some(b) => (self.routes_in(b), self.blocks.w(b + 2) & 0xffff),
            None => (0, self.short_leaf(c)),
        };
        let del = usize::from(remove && pos < n);
        let ins = usize::from(insert.is_some());
        let n2 = (n + ins).saturating_sub(del);
        if n2 == 0 {
            if let Some(b) = old {
                self.blocks.free(b);
            }
            if let Some(x) = old_ix {
                self.index.free(x);
            }
            if let Some(p) = self.direct.get_mut(CHUNKS + c) {
                *p = NIL;
            }
            if let Some(w) = self.direct.get_mut(c) {
                *w = short;
            }
            return Ok(());
        }
        let (ikw, ileaf) = insert.unwrap_or((0, NONE));
        let obase = old.map_or(0, |b| b + BHDR);
        // A new route longer than /16 cuts at most two more ranges (it splits the range it
        // starts in); any other change cuts none.
        let r = old_ix.map_or(1, |x| self.ranges_in(x));
        let long = insert.is_some_and(|(kw, _)| kw & 0xff > 16);
        let bound = if ins > del && long { r + 2 } else { r };
        // Both blocks are had before anything changes.
        let need = BHDR + 2 * n2;
        let keep = old.filter(|&b| class_size(self.blocks.class(b)) >= need);
        let need_ix = if bound > 1 { IHDR + bound } else { 0 };
        let keep_ix = old_ix.filter(|&x| class_size(self.index.class(x)) >= need_ix);
        if keep.is_none() {
            self.blocks.room(class_of(need))?;
        }
        if need_ix > 0 && keep_ix.is_none() {
            self.index.room(class_of(need_ix))?;
        }
        let target = match keep {
            Some(b) => b,
            None => self.blocks.alloc(class_of(need))?,
        };
        let ix = match (need_ix, keep_ix) {
            (0, _) => None,
            (_, Some(x)) => Some(x),
            _ => Some(self.index.alloc(class_of(need_ix))?),
        };
        let nbase = target + BHDR;
        // The records before `pos` and those after it, to their new places.
        let (a_len, b_src, b_len) = (2 * pos, obase + 2 * (pos + del), 2 * (n - pos - del));
        let b_dst = nbase + 2 * (pos + ins);
        let words = &mut self.blocks.words;
        if old.is_some() {
            if b_dst > b_src {
                move_words(words, b_src, b_len, b_dst);
                move_words(words, obase, a_len, nbase);
            } else {
                move_words(words, obase, a_len, nbase);
                move_words(words, b_src, b_len, b_dst);
            }
        }
        if ins == 1 {
            self.blocks.set_w(nbase + 2 * pos, ikw);
            self.blocks.set_w(nbase + 2 * pos + 1, ileaf);
        }
        self.blocks.set_w(target + 1, n2 as u32);
        self.blocks.set_w(target + 2, short);
        let mut ix = ix;
        if let Some(x) = ix {
            let (blocks, index) = (&self.blocks, &mut self.index);
            let room = class_size(index.class(x)) - IHDR;
            let rec = |i: usize| (blocks.w(nbase + 2 * i), blocks.w(nbase + 2 * i + 1));
            let r2 = sweep(n2, rec, |i, range| {
                let range = if range & 0xffff == NONE {
                    (range & !0xffff) | short
                } else {
                    range
                };
                // Within the bound, always: the guard keeps a mistake inside the block.
                if i < room {
                    index.set_w(x + IHDR + i, range);
                }
            });
            if r2 > 1 {
                let k = index.class(x) as u32;
                index.set_w(x + SUB_WORDS, (k << 16) | (r2.min(room) as u32 - 1));
                self.index_ranges(x, r2.min(room));
            } else {
                // The last route longer than /16 went.
                self.index.free(x);
                ix = None;
            }
        }
        if let Some(x) = old_ix.filter(|&x| Some(x) != ix && Some(x) != keep_ix) {
            self.index.free(x);
        }
        if old != Some(target) {
            if let Some(b) = old {
                self.blocks.free(b);
            }
            if let Some(p) = self.direct.get_mut(CHUNKS + c) {
                *p = target as u32;
            }
        }
        if let Some(w) = self.direct.get_mut(c) {
            *w = ix.map_or(short, |x| RANGES | x as u32);
        }
        Ok(())
    }

    /// Writes the sub-index of the ranges block at `x`, which has `r` ranges.
    fn index_ranges(&mut self, x: usize, r: usize) {
        let mut i = 0usize;
        for j in 0..16usize {
            let start = (j as u32) << 12;
            while i + 1 < r && self.index.w(x + IHDR + i + 1) >> 16 <= start {
                i += 1;
            }
            let at = x + j / 2;
            let shift = (j & 1) * 16;
            let w = self.index.w(at) & !(0xffff << shift);
            self.index.set_w(at, w | ((i as u32) << shift));
        }
    }

    /// The chunks a route of length `len` <= 16 at `key` covers.
    fn span(key: u32, len: u8) -> core::ops::Range<usize> {
        let c0 = (key >> 16) as usize;
        c0..c0 + (1usize << (16 - len.min(16)))
    }

    /// A route of length <= 16 with `leaf` is now the short leaf wherever it is the longest.
    fn cover(&mut self, key: u32, len: u8, leaf: u32) {
        for c in Self::span(key, len) {
            let cur = self.short_leaf(c);
            if cur == NONE || self.leaf_len(cur) <= len {
                self.set_short(c, leaf);
            }
        }
    }

    /// The route of length `len` <= 16 at `key` is going: where it was the short leaf, the
    /// longest shorter route covering it takes over.
    fn uncover(&mut self, key: u32, len: u8) {
        let next = (0..len)
            .rev()
            .find_map(|l| {
                self.find(((key & mask(l)) >> 16) as usize, key_word(0, l))
                    .1
            })
            .unwrap_or(NONE);
        for c in Self::span(key, len) {
            let cur = self.short_leaf(c);
            if cur != NONE && self.leaf_len(cur) == len {
                self.set_short(c, next);
            }
        }
    }

    // --- routes --------------------------------------------------------------------------

    /// Checks a prefix: the length is at most 32 and no host bits are set.
    fn check(prefix: Ipv4Address, len: u8) -> Result<u32, FibError> {
        let key = prefix.to_u32();
        if len > MAX_LEN || key & !mask(len) != 0 {
            Err(FibError::BadPrefix)
        } else {
            Ok(key)
        }
    }

    /// Adds a route, or replaces the route for the same prefix and length, which is
    /// returned.
    pub fn insert(&mut self, route: Route) -> Result<Option<Route>, FibError> {
        self.insert_inner(route, true)
    }

    /// Adds a route; fails with [`FibError::Exists`] if the prefix and length already have
    /// one.
    pub fn add(&mut self, route: Route) -> Result<(), FibError> {
        self.insert_inner(route, false).map(|_| ())
    }

    fn insert_inner(&mut self, route: Route, replace: bool) -> Result<Option<Route>, FibError> {
        let key = Self::check(route.prefix, route.len)?;
        let len = route.len;
        let c = (key >> 16) as usize;
        let kw = key_word(key, len);
        let (pos, old) = self.find(c, kw);
        match old {
            Some(_) if !replace => return Err(FibError::Exists),
            None if self.count >= self.limit => return Err(FibError::Full),
            _ => {}
        }
        if self.direct.len() < DIRECT_WORDS {
            return Err(FibError::NoMem);
        }
        let leaf = self.intern(&route)?;
        if let Err(e) = self.edit(c, pos, old.is_some(), Some((kw, leaf))) {
            self.release(leaf);
            return Err(e);
        }
        if len <= 16 {
            self.cover(key, len, leaf);
        }
        let prev = old.and_then(|l| {
            let r = self.route_of(l, key);
            self.release(l);
            r
        });
        if old.is_none() {
            self.count += 1;
        }
        self.refresh_gateways(key, len);
        self.bump();
        Ok(prev)
    }

    /// Removes the route for `prefix/len` and returns it.
    pub fn delete(&mut self, prefix: Ipv4Address, len: u8) -> Result<Route, FibError> {
        let key = Self::check(prefix, len)?;
        let c = (key >> 16) as usize;
        let (pos, Some(leaf)) = self.find(c, key_word(key, len)) else {
            return Err(FibError::NotFound);
        };
        let route = self.route_of(leaf, key).ok_or(FibError::NotFound)?;
        self.edit(c, pos, true, None)?;
        if len <= 16 {
            self.uncover(key, len);
        }
        self.release(leaf);
        self.count = self.count.saturating_sub(1);
        self.refresh_gateways(key, len);
        self.bump();
        Ok(route)
    }

    /// Removes every route through interface `ifindex` (when it goes down or away) and
    /// returns how many were removed.
    pub fn remove_ifindex(&mut self, ifindex: i32) -> usize {
        let mut removed = 0usize;
        for c in 0..CHUNKS {
            let mut i = 0;
            while let Some(b) = self.block(c) {
                if i >= self.routes_in(b) {
                    break;
                }
                let at = b + BHDR + 2 * i;
                let (kw, leaf) = (self.blocks.w(at), self.blocks.w(at + 1));
                let key = ((c as u32) << 16) | (kw >> 16);
                let len = (kw & 0xff) as u8;
                let hit = self
                    .route_of(leaf, key)
                    .is_some_and(|r| r.ifindex() == Some(ifindex));
                if hit && self.delete(Ipv4Address::from_u32(key), len).is_ok() {
                    removed += 1;
                } else {
                    i += 1;
                }
            }
        }
        removed
    }

    /// The route for exactly `prefix/len`, if there is one.
    pub fn get(&self, prefix: Ipv4Address, len: u8) -> Option<Route> {
        let key = Self::check(prefix, len).ok()?;
        let leaf = self.find((key >> 16) as usize, key_word(key, len)).1?;
        self.route_of(leaf, key)
    }

    /// The route with the longest prefix containing `dst`, if any.
    #[inline]
    pub fn lookup(&self, dst: Ipv4Address) -> Option<Route> {
        let a = dst.to_u32();
        self.route_of(self.leaf(a), a)
    }

    /// The leaf of the longest prefix containing `a`.
    #[inline]
    fn leaf(&self, a: u32) -> u32 {
        let w = self.word(a);
        if w & RANGES == 0 {
            w
        } else {
            let (base, count) = self.window(w, a);
            self.scan(base, count, a)
        }
    }

    /// The lookup word of `a`'s chunk.
    #[inline]
    fn word(&self, a: u32) -> u32 {
        self.direct.get((a >> 16) as usize).copied().unwrap_or(NONE)
    }

    /// Where the ranges of `a`'s /20 are in the lookup index and how many there are, for the
    /// lookup word `w` of `a`'s chunk, which points at ranges: the sub-index's entry for the
    /// /20 and the next (the last range's index, after the sixteenth).
    #[inline]
    fn window(&self, w: u32, a: u32) -> (usize, usize) {
        let x = (w & !RANGES) as usize;
        let j = ((a >> 12) & 15) as usize;
        let sub = |j: usize| {
            let w = self.index.words.get(x + j / 2).copied().unwrap_or(0);
            ((w >> ((j & 1) * 16)) & 0xffff) as usize
        };
        let lo = sub(j);
        let hi = sub(j + 1) + 1;
        (x + IHDR + lo, hi.saturating_sub(lo))
    }

    /// The leaf of the last of the `count` ranges from `base` on that starts at or before
    /// `a` (the first does).
    #[inline]
    fn scan(&self, base: usize, count: usize, a: u32) -> u32 {
        let words = &self.index.words[..];
        let probe = (a << 16) | 0xffff;
        let window = words
            .get(base..base + SCAN)
            .and_then(|w| <&[u32; SCAN]>::try_from(w).ok());
        match window {
            Some(window) if count <= SCAN => Self::pick(window, count, a),
            _ => {
                let ranges = words.get(base..base + count).unwrap_or_default();
                let pos = ranges.partition_point(|&r| r <= probe).saturating_sub(1);
                ranges.get(pos).map_or(NONE, |r| r & 0xffff)
            }
        }
    }

    /// The leaf of the last of the first `count` ranges of `window` that starts at or before
    /// `a` (the first does): a scan of a fixed width, each load independent of the others
    /// and no branch on the data, so that the processor goes on with the next lookups while
    /// this one waits for memory.
    #[inline]
    fn pick(window: &[u32; SCAN], count: usize, a: u32) -> u32 {
        let probe = (a << 16) | 0xffff;
        let mut leaf = window[0];
        for (i, &v) in window.iter().enumerate().skip(1) {
            // `&`, not `&&`: both sides are cheap, and a branch is what this avoids.
            #[allow(clippy::needless_bitwise_bool)]
            let take = (i < count) & (v <= probe);
            leaf = if take { v } else { leaf };
        }
        leaf & 0xffff
    }

    /// The leaves of up to [`LANES`] destinations, looked up in lockstep: the lookup words of
    /// all, then the sub-index entries of all, then the scans of all, so that the memory
    /// accesses of each step are independent of each other and in flight together.
    fn leaves(&self, dsts: &[Ipv4Address], leaves: &mut [u32; LANES]) {
        let mut addr = [0u32; LANES];
        for (a, d) in addr.iter_mut().zip(dsts) {
            *a = d.to_u32();
        }
        let mut words = [NONE; LANES];
        for (w, &a) in words.iter_mut().zip(&addr) {
            *w = self.word(a);
        }
        let mut windows = [(0usize, 0usize); LANES];
        for ((win, &w), &a) in windows.iter_mut().zip(&words).zip(&addr) {
            if w & RANGES != 0 {
                *win = self.window(w, a);
            }
        }
        // The windows of all, read before any is searched, so that their cache misses are
        // in flight together.
        let mut ranges = [[0; SCAN]; LANES];
        let mut read = [false; LANES];
        for ((r, ok), &(base, count)) in ranges.iter_mut().zip(&mut read).zip(&windows) {
            if let Some(w) = self.index.words.get(base..base + SCAN) {
                r.copy_from_slice(w);
                *ok = count <= SCAN;
            }
        }
        for (((((leaf, &w), &(base, count)), &a), r), &ok) in leaves
            .iter_mut()
            .zip(&words)
            .zip(&windows)
            .zip(&addr)
            .zip(&ranges)
            .zip(&read)
        {
            *leaf = if w & RANGES == 0 {
                w
            } else if ok {
                Self::pick(r, count, a)
            } else {
                self.scan(base, count, a)
            };
        }
    }

    /// [`Fib::lookup`] of each of `dsts`, into `out` (as many as both hold). The lookups run
    /// [`LANES`] at a time in lockstep, so that their cache misses overlap: much faster per
    /// destination than one at a time in a large FIB, for a batch of packets (a NAPI poll's).
    pub fn lookup_many(&self, dsts: &[Ipv4Address], out: &mut [Option<Route>]) {
        let mut leaves = [NONE; LANES];
        for (dsts, out) in dsts.chunks(LANES).zip(out.chunks_mut(LANES)) {
            self.leaves(dsts, &mut leaves);
            for ((o, d), &leaf) in out.iter_mut().zip(dsts).zip(&leaves) {
                *o = self.route_of(leaf, d.to_u32());
            }
        }
    }

    /// [`Fib::resolve`] of each of `dsts`, into `out` (as many as both hold), in lockstep as
    /// [`Fib::lookup_many`] does.
    pub fn resolve_many(&self, dsts: &[Ipv4Address], out: &mut [Result<NextHop, RouteError>]) {
        let mut leaves = [NONE; LANES];
        for (dsts, out) in dsts.chunks(LANES).zip(out.chunks_mut(LANES)) {
            self.leaves(dsts, &mut leaves);
            for (o, &leaf) in out.iter_mut().zip(&leaves) {
                *o = self.hop_of(leaf);
            }
        }
    }

    /// Resolves `dst` to a next hop: a local route means local delivery, a connected route
    /// means `dst` itself on that interface, and a gateway route means the gateway, which is
    /// looked up in turn and must match a connected route on the same interface (else
    /// [`RouteError::GatewayUnreachable`]; gateways are not followed recursively).
    #[inline]
    pub fn resolve(&self, dst: Ipv4Address) -> Result<NextHop, RouteError> {
        self.hop_of(self.leaf(dst.to_u32()))
    }

    /// The next hop of a destination whose leaf is `leaf`.
    #[inline]
    fn hop_of(&self, leaf: u32) -> Result<NextHop, RouteError> {
        if leaf == NONE {
            return Err(RouteError::NoRoute);
        }
        let at = Self::leaf_at(leaf);
        let Some(&[w0, ifindex, via, _, _, _, on, _]) = self.leaves.get(at..at + LEAF_WORDS) else {
            return Err(RouteError::NoRoute);
        };
        let ifindex = ifindex as i32;
        match w0 & 3 {
            0 => Ok(NextHop {
                ifindex: 0,
                gateway: None,
                local: true,
            }),
            1 => Ok(NextHop {
                ifindex,
                gateway: None,
                local: false,
            }),
            _ => {
                // The gateway's own match, kept up to date by every change.
                let at = Self::leaf_at(on);
                match self.leaves.get(at..at + 2) {
                    Some(&[k, i]) if on != NONE && k & 3 == 1 && i as i32 == ifindex => {
                        Ok(NextHop {
                            ifindex,
                            gateway: Some(Ipv4Address::from_u32(via)),
                            local: false,
                        })
                    }
                    _ => Err(RouteError::GatewayUnreachable),
                }
            }
        }
    }

    /// The route with the longest prefix containing `dst` that may carry a packet out of
    /// interface `oif` (a socket bound with SO_BINDTODEVICE): a route through `oif`, or a
    /// local route. Routes through other interfaces are passed over, as `fib_table_lookup`
    /// skips next hops whose device is not the flow's `flowi4_oif`. Slower than
    /// [`Fib::lookup`]: it tries each prefix length, longest first.
    pub fn lookup_oif(&self, dst: Ipv4Address, oif: i32) -> Option<Route> {
        let a = dst.to_u32();
        (0..=MAX_LEN)
            .rev()
            .filter_map(|l| self.get(Ipv4Address::from_u32(a & mask(l)), l))
            .find(|r| r.ifindex().is_none_or(|i| i == oif))
    }

    /// [`Fib::resolve`] for a flow bound to interface `oif`. With no route through `oif`,
    /// the destination is taken to be on that link, as `ip_route_output_key_hash_rcu` does
    /// ("routing tables are wrong; assume the destination is on link").
    pub fn resolve_oif(&self, dst: Ipv4Address, oif: i32) -> Result<NextHop, RouteError> {
        let on_link = NextHop {
            ifindex: oif,
            gateway: None,
            local: false,
        };
        let Some(route) = self.lookup_oif(dst, oif) else {
            return Ok(on_link);
        };
        match route.kind {
            RouteKind::Local => Ok(NextHop {
                ifindex: 0,
                gateway: None,
                local: true,
            }),
            RouteKind::Connected { .. } => Ok(on_link),
            RouteKind::Gateway { via, .. } => match self.lookup_oif(via, oif).map(|r| r.kind) {
                Some(RouteKind::Connected { .. }) => Ok(NextHop {
                    gateway: Some(via),
                    ..on_link
                }),
                _ => Err(RouteError::GatewayUnreachable),
            },
        }
    }

    /// The routes from `cursor` on in prefix order (shorter prefixes first among equal
    /// addresses), each with the cursor that resumes after it.
    pub fn iter_from(&self, cursor: Cursor) -> Iter<'_, S> {
        let v = cursor.to_u64();
        if v >= 1 << 38 {
            return Iter {
                fib: self,
                chunk: CHUNKS,
                pos: 0,
            };
        }
        let (key, len) = ((v >> 6) as u32, (v & 63) as u32);
        let chunk = (key >> 16) as usize;
        let (pos, _) = self.find(chunk, (key << 16) | len);
        Iter {
            fib: self,
            chunk,
            pos,
        }
    }

    /// Every route in prefix order.
    pub fn iter(&self) -> impl Iterator<Item = Route> + '_ {
        self.iter_from(Cursor::START).map(|(_, r)| r)
    }
}

/// Iterator over a FIB's routes in prefix order: see [`Fib::iter_from`].
pub struct Iter<'f, S: Storage<u32>> {
    fib: &'f Fib<S>,
    chunk: usize,
    pos: usize,
}

impl<S: Storage<u32>> Iterator for Iter<'_, S> {
    type Item = (Cursor, Route);

    fn next(&mut self) -> Option<(Cursor, Route)> {
        let fib = self.fib;
        while self.chunk < CHUNKS {
            if let Some(b) = fib.block(self.chunk) {
                if self.pos < fib.routes_in(b) {
                    let at = b + BHDR + 2 * self.pos;
                    self.pos += 1;
                    let kw = fib.blocks.w(at);
                    let key = ((self.chunk as u32) << 16) | (kw >> 16);
                    if let Some(route) = fib.route_of(fib.blocks.w(at + 1), key) {
                        return Some((Cursor::after(&route), route));
                    }
                    continue;
                }
            }
            self.chunk += 1;
            self.pos = 0;
        }
        None
    }
}

/// How a route's destinations are reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteKind {
    /// One of our own addresses: deliver locally.
    Local,
    /// A directly connected network: the next hop is the destination itself.
    Connected {
        /// The interface the network is on.
        ifindex: i32,
    },
    /// A network reached via a gateway on a directly connected network.
    Gateway {
        /// The gateway's address.
        via: Ipv4Address,
        /// The interface the gateway is on.
        ifindex: i32,
    },
}

/// A route: a prefix and how to reach the addresses it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The network address (no bits set beyond `len`).
    pub prefix: Ipv4Address,
    /// The prefix length, 0 (the default route) to 32 (a host route).
    pub len: u8,
    /// How the prefix is reached.
    pub kind: RouteKind,
    /// The route's metric, kept for display (one route per prefix, so it never competes).
    pub metric: u32,
}

impl Route {
    /// A route to `prefix/len` of the given kind, metric 0.
    pub const fn new(prefix: Ipv4Address, len: u8, kind: RouteKind) -> Self {
        Route {
            prefix,
            len,
            kind,
            metric: 0,
        }
    }

    /// True if `addr` lies inside this route's prefix.
    pub fn contains(&self, addr: Ipv4Address) -> bool {
        (addr.to_u32() ^ self.prefix.to_u32()) & mask(self.len) == 0
    }

    /// The interface of a connected or gateway route (`None` for a local route).
    pub fn ifindex(&self) -> Option<i32> {
        match self.kind {
            RouteKind::Local => None,
            RouteKind::Connected { ifindex } | RouteKind::Gateway { ifindex, .. } => Some(ifindex),
        }
    }
}

/// Why the FIB refused a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FibError {
    /// The FIB holds its limit of routes ([`Fib::limit`]), or [`MAX_NEXTHOPS`] distinct
    /// next hops: ENOBUFS.
    Full,
    /// The storage lacks room: ask [`Fib::wants`], allocate, [`Fib::adopt`], retry: ENOMEM.
    NoMem,
    /// [`Fib::add`]: a route for this prefix and length is already there.
    Exists,
    /// No route for this prefix and length.
    NotFound,
    /// The length is above 32, or the prefix has bits set beyond it.
    BadPrefix,
}

impl fmt::Display for FibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FibError::Full => "FIB full",
            FibError::NoMem => "out of memory",
            FibError::Exists => "route exists",
            FibError::NotFound => "no such route",
            FibError::BadPrefix => "bad prefix",
        })
    }
}

/// Why a destination could not be resolved to a next hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// No route matches (and there is no default route).
    NoRoute,
    /// The matching route goes via a gateway that is not on a network directly connected to
    /// the route's interface.
    GatewayUnreachable,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouteError::NoRoute => "no route to host",
            RouteError::GatewayUnreachable => "gateway unreachable",
        })
    }
}

/// Where to send a packet: the result of resolving a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextHop {
    /// The outgoing interface (0 for local delivery, which has none).
    pub ifindex: i32,
    /// The gateway to hand the packet to, or `None` if the destination is directly connected
    /// (or local).
    pub gateway: Option<Ipv4Address>,
    /// True if the destination is one of our own addresses.
    pub local: bool,
}

impl NextHop {
    /// The address whose link-layer address is needed to send to `dst`: the gateway if
    /// there is one, else `dst` itself.
    pub fn neighbor(&self, dst: Ipv4Address) -> Ipv4Address {
        self.gateway.unwrap_or(dst)
    }
}

/// One entry of the route cache.
#[derive(Clone, Copy)]
struct CacheEntry {
    dst: u32,
    generation: u64,
    valid: bool,
    result: Result<NextHop, RouteError>,
}

impl CacheEntry {
    const EMPTY: CacheEntry = CacheEntry {
        dst: 0,
        generation: 0,
        valid: false,
        result: Err(RouteError::NoRoute),
    };
}

/// Counters of a [`RouteCache`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that went to the FIB.
    pub misses: u64,
    /// Times the cache saw that the FIB had changed, which invalidated every entry.
    pub invalidations: u64,
}

/// One set of a [`RouteCache`]: two entries, the most recently used first. The element of
/// the cache's storage.
#[derive(Clone, Copy)]
pub struct CacheSet([CacheEntry; 2]);

impl Default for CacheSet {
    fn default() -> Self {
        CacheSet([CacheEntry::EMPTY; 2])
    }
}

/// Fewest sets [`RouteCache::sets_for`] asks for.
pub const CACHE_MIN_SETS: usize = 64;
/// Most sets [`RouteCache::sets_for`] asks for (128 Ki destinations, 4 MiB).
pub const CACHE_MAX_SETS: usize = 1 << 16;

/// A two-way set-associative cache of resolved destinations in front of one [`Fib`], sized
/// with the table: its sets are storage the embedder allocates ([`RouteCache::wants`], one
/// set per 16 routes, a power of two from 64 to 65,536) and hands over
/// ([`RouteCache::adopt`]); without storage every lookup is a miss that the FIB answers.
///
/// A destination hashes to one set; each set keeps its most recently used entry first and
/// evicts the other on a miss. An entry is used only if its generation equals the FIB's, so
/// any change to the FIB invalidates the whole cache at once. Failures (no route,
/// unreachable gateway) are cached too. A cache belongs to one FIB: used with another, it
/// may answer from the wrong one.
pub struct RouteCache<C: Storage<CacheSet>> {
    sets: C,
    seen_generation: u64,
    stats: CacheStats,
}

impl<C: Storage<CacheSet>> Default for RouteCache<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Storage<CacheSet>> RouteCache<C> {
    /// An empty cache without storage.
    pub fn new() -> Self {
        RouteCache {
            sets: C::default(),
            seen_generation: 0,
            stats: CacheStats::default(),
        }
    }

    /// Its sets.
    pub fn sets(&self) -> usize {
        self.sets.len()
    }

    /// The sets a cache in front of a FIB of `routes` routes should have: one per 16 routes,
    /// a power of two from [`CACHE_MIN_SETS`] to [`CACHE_MAX_SETS`].
    pub fn sets_for(routes: usize) -> usize {
        (routes / 16)
            .clamp(CACHE_MIN_SETS, CACHE_MAX_SETS)
            .next_power_of_two()
            .min(CACHE_MAX_SETS)
    }

    /// The capacity of the storage to allocate for a FIB of `routes` routes (0: the cache
    /// has enough); hand it to [`Self::adopt`].
    pub fn wants(&self, routes: usize) -> usize {
        let n = Self::sets_for(routes);
        if self.sets.len() < n {
            n
        } else {
            0
        }
    }

    /// Takes `sets` (empty, and larger than what the cache has) as its storage, filled with
    /// empty sets to its capacity: the entries are forgotten, the counters stay. Returns what
    /// the caller frees after its lock: the old storage, or `sets` if it did not fit.
    pub fn adopt(&mut self, mut sets: C) -> C {
        if !sets.is_empty() || sets.capacity() <= self.sets.len() {
            return sets;
        }
        while sets.push_within_capacity(CacheSet::default()).is_ok() {}
        core::mem::replace(&mut self.sets, sets)
    }

    /// The set for `dst`: Fibonacci hashing (multiply by 2^32 / phi), then the high bits
    /// of `hash * n` select one of the `n` sets, for any `n`.
    fn set_of(dst: u32, n: usize) -> usize {
        let h = dst.wrapping_mul(0x9e37_79b1);
        ((u64::from(h)).wrapping_mul(n as u64) >> 32) as usize
    }

    /// Resolves `dst` as [`Fib::resolve`] does, from the cache when it can.
    pub fn resolve<S: Storage<u32>>(
        &mut self,
        fib: &Fib<S>,
        dst: Ipv4Address,
    ) -> Result<NextHop, RouteError> {
        let generation = fib.generation();
        if generation != self.seen_generation {
            self.seen_generation = generation;
            self.stats.invalidations = self.stats.invalidations.wrapping_add(1);
        }
        let key = dst.to_u32();
        let fresh = |e: &CacheEntry| e.valid && e.generation == generation;
        let set = Self::set_of(key, self.sets.len());
        let Some(CacheSet([first, second])) = self.sets.get_mut(set) else {
            self.stats.misses = self.stats.misses.wrapping_add(1);
            return fib.resolve(dst);
        };
        if fresh(first) && first.dst == key {
            self.stats.hits = self.stats.hits.wrapping_add(1);
            return first.result;
        }
        if fresh(second) && second.dst == key {
            // The second entry becomes the most recently used.
            core::mem::swap(first, second);
            self.stats.hits = self.stats.hits.wrapping_add(1);
            return first.result;
        }
        self.stats.misses = self.stats.misses.wrapping_add(1);
        let result = fib.resolve(dst);
        if fresh(first) {
            // Evict the least recently used entry.
            *second = *first;
        }
        *first = CacheEntry {
            dst: key,
            generation,
            valid: true,
            result,
        };
        result
    }

    /// The next hop for `dst`, from the cache when it can; `None` if unroutable.
    pub fn lookup<S: Storage<u32>>(&mut self, fib: &Fib<S>, dst: Ipv4Address) -> Option<NextHop> {
        self.resolve(fib, dst).ok()
    }

    /// Forgets every entry (the counters stay).
    pub fn flush(&mut self) {
        for s in self.sets.iter_mut() {
            *s = CacheSet::default();
        }
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// Hits per thousand lookups (0 before any lookup). Integer, as the kernel has no
    /// floating point.
    pub fn hit_rate_permille(&self) -> u64 {
        let total = self.stats.hits.saturating_add(self.stats.misses);
        self.stats
            .hits
            .saturating_mul(1000)
            .checked_div(total)
            .unwrap_or_default()
    }
}

#[doc(hidden)]
pub mod synth {
    //! A synthetic routing table shaped like the Internet's, shared by the tests and the
    //! benchmark: deterministic (route `i` of seed `s` is always the same), no allocation.
    //!
    //! Routes come in groups of 16 that share one /16 of the unicast space (1.0.0.0 to
    //! 223.255.255.255 but 10/8 and 127/8) and mostly one gateway, as an operator's
    //! announcements do: about 60% /24, 12% /22-/23, 13% /16-/21, 13% /25-/32 and 2%
    //! /8-/15. Some routes repeat: insert until the FIB holds as many as wanted.

    use super::super::super::wire::Ipv4Address;
    use super::{mask, Route, RouteKind};

    /// The xorshift64* generator of the crate's tests.
    pub struct Rng(pub u64);

    impl Rng {
        /// The next 64 pseudo-random bits.
        pub fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        /// A number below `n` (0 for `n` = 0).
        pub fn below(&mut self, n: u64) -> u64 {
            self.next_u64().checked_rem(n).unwrap_or(0)
        }
    }

    /// SplitMix64's finaliser: spreads the bits of `z`.
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) | 1
    }

    /// Distinct gateways: 100.64.`k`.1 on interface 2 + `k` % 4.
    pub const GATEWAYS: u64 = 64;

    /// The gateway route of next hop `k`.
    pub fn via(k: u64) -> RouteKind {
        RouteKind::Gateway {
            via: Ipv4Address::new(100, 64, k as u8, 1),
            ifindex: 2 + (k % 4) as i32,
        }
    }

    /// Route `i` of the table of `seed`.
    pub fn route(seed: u64, i: u64) -> Route {
        let mut g = Rng(mix(seed ^ mix(i >> 4)));
        // A unicast /8 but 10 and 127: 1..=223 with those two skipped.
        let mut top = 1 + g.below(221) as u32;
        if top >= 10 {
            top += 1;
        }
        if top >= 127 {
            top += 1;
        }
        let base = (top << 24) | (g.next_u64() as u32 & 0x00ff_0000);
        let group_hop = g.below(GATEWAYS);
        let mut r = Rng(mix(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ i));
        let low = r.next_u64() as u32;
        let (len, key) = match r.below(100) {
            0..=59 => (24, base | (low & 0xffff)),
            60..=71 => (22 + r.below(2) as u8, base | (low & 0xffff)),
            72..=84 => (16 + r.below(6) as u8, base | (low & 0xffff)),
            85..=97 => (25 + r.below(8) as u8, base | (low & 0xffff)),
            _ => (8 + r.below(8) as u8, (top << 24) | (low & 0x00ff_ffff)),
        };
        let hop = if r.below(8) == 0 {
            r.below(GATEWAYS)
        } else {
            group_hop
        };
        Route::new(Ipv4Address::from_u32(key & mask(len)), len, via(hop))
    }

    /// A destination inside `routes[rng % len]` (random host bits), or anywhere one time
    /// in ten.
    pub fn destination(rng: &mut Rng, routes: &[Route]) -> Ipv4Address {
        let any = rng.next_u64() as u32;
        match routes.get(rng.below(routes.len() as u64) as usize) {
            Some(r) if rng.below(10) != 0 => {
                Ipv4Address::from_u32(r.prefix.to_u32() | (any & !mask(r.len)))
            }
            _ => Ipv4Address::from_u32(any),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::storage::host::{alloc, set_failing};
    use super::super::super::testutil::Rng;
    use super::*;
    use std::collections::{BTreeMap, HashMap};
    use std::string::ToString;
    use std::vec::Vec;

    type TestFib = Fib<Vec<u32>>;

    /// What the kernel side does before an insertion: allocate what the FIB wants (with the
    /// host allocator, which a test may set failing) and let it move in. True if every
    /// part wanted was given.
    fn grow(fib: &mut TestFib) -> bool {
        let w = fib.wants();
        let parts = FibParts {
            direct: alloc(w.direct),
            blocks: alloc(w.blocks),
            index: alloc(w.index),
            leaves: alloc(w.leaves),
        };
        let given = (w.direct == 0 || parts.direct.is_some())
            && (w.blocks == 0 || parts.blocks.is_some())
            && (w.index == 0 || parts.index.is_some())
            && (w.leaves == 0 || parts.leaves.is_some());
        drop(fib.adopt(parts));
        given && fib.wants().is_none()
    }

    /// A FIB with room for a few hundred routes without growing.
    fn roomy() -> TestFib {
        let mut fib = Fib::new(usize::MAX);
        let back = fib.adopt(FibParts {
            direct: alloc(DIRECT_WORDS),
            blocks: alloc(1 << 16),
            index: alloc(1 << 16),
            leaves: alloc(HEADS + 1024 * LEAF_WORDS),
        });
        assert!(back.direct.unwrap().capacity() == 0 && back.blocks.is_some());
        assert!(back.index.is_some());
        fib
    }

    fn a(s: &str) -> Ipv4Address {
        let v: Vec<u8> = s.split('.').map(|p| p.parse().unwrap()).collect();
        Ipv4Address::new(v[0], v[1], v[2], v[3])
    }

    fn conn(p: &str, len: u8, ifindex: i32) -> Route {
        Route::new(a(p), len, RouteKind::Connected { ifindex })
    }

    fn gw(p: &str, len: u8, via: &str, ifindex: i32) -> Route {
        Route::new(
            a(p),
            len,
            RouteKind::Gateway {
                via: a(via),
                ifindex,
            },
        )
    }

    /// The reference: a linear scan for the longest matching prefix.
    fn brute(routes: &[Route], dst: Ipv4Address) -> Option<Route> {
        routes
            .iter()
            .filter(|r| r.contains(dst))
            .max_by_key(|r| r.len)
            .copied()
    }

    /// The other reference: the model's prefixes tried longest first.
    fn model_lookup(m: &BTreeMap<(u32, u8), Route>, dst: Ipv4Address) -> Option<Route> {
        (0..=32u8)
            .rev()
            .find_map(|l| m.get(&(dst.to_u32() & mask(l), l)).copied())
    }

    /// Checks the FIB's inner structure: records sorted, ranges as a fresh sweep makes them
    /// (the short leaf where no longer route is), sub-indexes and lookup words right, leaf
    /// references counted, block words counted.
    fn check_invariants(fib: &TestFib) {
        if fib.direct.is_empty() {
            assert!(fib.is_empty() && fib.blocks.words.is_empty());
            assert!(fib.index.words.is_empty());
            return;
        }
        let mut routes = 0;
        let (mut used, mut used_ix) = (0, 0);
        for c in 0..CHUNKS {
            let Some(b) = fib.block(c) else {
                let w = fib.direct[c];
                assert_eq!(w & RANGES, 0, "chunk {c:#x} without block points at ranges");
                continue;
            };
            let n = fib.routes_in(b);
            assert!(n > 0, "chunk {c:#x}: empty block");
            let bw = &fib.blocks;
            assert!(BHDR + 2 * n <= class_size(bw.class(b)));
            used += class_size(bw.class(b));
            routes += n;
            let short = bw.w(b + 2);
            assert!(short <= NONE);
            let base = b + BHDR;
            let rec = |i: usize| (bw.w(base + 2 * i), bw.w(base + 2 * i + 1));
            for i in 1..n {
                assert!(
                    rec(i - 1).0 < rec(i).0,
                    "chunk {c:#x}: records out of order"
                );
            }
            let mut ranges = Vec::new();
            let r = sweep(n, rec, |i, w| {
                assert_eq!(i, ranges.len());
                let w = if w & 0xffff == NONE {
                    (w & !0xffff) | short
                } else {
                    w
                };
                ranges.push(w);
            });
            let Some(x) = fib.ranges_block(c) else {
                assert_eq!(r, 1, "chunk {c:#x}: ranges without a ranges block");
                assert_eq!(fib.direct[c], short, "chunk {c:#x}: lookup word");
                continue;
            };
            assert!(r > 1, "chunk {c:#x}: a ranges block for one range");
            assert_eq!(fib.ranges_in(x), r, "chunk {c:#x}");
            let iw = &fib.index;
            assert!(IHDR + r <= class_size(iw.class(x)));
            used_ix += class_size(iw.class(x));
            assert_eq!(
                &iw.words[x + IHDR..x + IHDR + r],
                &ranges[..],
                "chunk {c:#x}"
            );
            for j in 0..16u32 {
                let first = ranges.partition_point(|&w| w >> 16 <= j << 12) - 1;
                let sub = (iw.w(x + j as usize / 2) >> ((j & 1) * 16)) & 0xffff;
                assert_eq!(sub as usize, first, "chunk {c:#x}: sub-index {j}");
            }
        }
        assert_eq!(used, fib.blocks.used);
        assert_eq!(used_ix, fib.index.used);
        assert_eq!(routes, fib.len());
        let mut refs = 0;
        for leaf in 0..(fib.leaves.len().saturating_sub(HEADS) / LEAF_WORDS) {
            refs += fib.leaf_word(leaf as u32, 4) as usize;
        }
        assert_eq!(refs, fib.len(), "leaf references");
        // Every gateway leaf is in its gateway's chain, with its gateway's match.
        let mut gateways = 0;
        for leaf in 0..(fib.leaves.len().saturating_sub(HEADS) / LEAF_WORDS) {
            let leaf = leaf as u32;
            if fib.leaf_word(leaf, 4) == 0 || fib.leaf_word(leaf, 0) & 3 != 2 {
                continue;
            }
            gateways += 1;
            let via = fib.leaf_word(leaf, 2);
            assert_eq!(
                fib.leaf_word(leaf, 6),
                fib.leaf(via),
                "leaf {leaf}: gateway's match"
            );
            let mut i = fib.leaves[Fib::<Vec<u32>>::via_bucket(via)];
            while i != leaf {
                assert_ne!(i, NIL, "leaf {leaf} not in its gateway's chain");
                i = fib.leaf_word(i, 7);
            }
        }
        let chained: usize = (0..VIA_BUCKETS)
            .map(|b| {
                let mut n = 0;
                let mut i = fib.leaves[LEAF_BUCKETS + b];
                while i != NIL {
                    n += 1;
                    i = fib.leaf_word(i, 7);
                }
                n
            })
            .sum();
        assert_eq!(chained, gateways, "gateway chains");
    }

    /// Every chunk's short leaf is the longest route of length <= 16 covering it.
    fn check_short_leaves(fib: &TestFib, chunks: impl Iterator<Item = usize>) {
        for c in chunks {
            let key = (c as u32) << 16;
            let want = (0..=16u8)
                .rev()
                .find_map(|l| fib.get(Ipv4Address::from_u32(key & mask(l)), l));
            let got = fib.route_of(fib.short_leaf(c), key);
            assert_eq!(got, want, "short leaf of chunk {c:#x}");
        }
    }

    #[test]
    fn masks_and_classes() {
        assert_eq!(mask(0), 0);
        assert_eq!(mask(1), 0x8000_0000);
        assert_eq!(mask(24), 0xffff_ff00);
        assert_eq!(mask(32), u32::MAX);
        assert_eq!(mask(200), u32::MAX);
        for n in 1..100_000 {
            let k = class_of(n);
            assert!(class_size(k) >= n, "{n}");
            assert!(k == 0 || class_size(k - 1) < n, "{n}");
        }
        assert!(class_of(BHDR + 2 * (1 << 17)) < CLASSES);
        assert!(class_of(IHDR + 65536 + 2 * (1 << 17)) < CLASSES);
        assert_eq!(
            (class_size(0), class_size(4), class_size(5), class_size(8)),
            (4, 8, 10, 16)
        );
    }

    #[test]
    fn ranges_of_the_module_documentation() {
        let mut fib = roomy();
        fib.add(gw("10.0.0.0", 8, "192.0.2.1", 1)).unwrap();
        fib.add(gw("10.1.0.0", 16, "192.0.2.2", 1)).unwrap();
        fib.add(gw("10.1.2.0", 24, "192.0.2.3", 1)).unwrap();
        let via = |d: &str| match fib.lookup(a(d)).map(|r| r.kind) {
            Some(RouteKind::Gateway { via, .. }) => via.0[3],
            _ => 0,
        };
        assert_eq!(
            [
                via("9.255.255.255"),
                via("10.0.0.1"),
                via("10.1.1.255"),
                via("10.1.2.77"),
                via("10.1.3.0"),
                via("10.2.0.0"),
                via("11.0.0.0"),
            ],
            [0, 1, 2, 3, 2, 1, 0]
        );
        // 10.1/16 is cut in three ranges; the rest of 10/8 is one word each.
        let b = fib.block(0x0a01).unwrap();
        assert_eq!(fib.routes_in(b), 2);
        let x = fib.ranges_block(0x0a01).unwrap();
        assert_eq!(fib.ranges_in(x), 3);
        let ranges = &fib.index.words[x + IHDR..x + IHDR + 3];
        assert_eq!(
            ranges.iter().map(|r| r >> 16).collect::<Vec<_>>(),
            [0, 0x200, 0x300]
        );
        assert_eq!(fib.direct[0x0a02] & RANGES, 0);
        check_invariants(&fib);
    }

    /// Lookups against brute force where a /20 holds more ranges than a scan covers, and
    /// where a chunk's ranges end the lookup index (a scan's window would pass its end).
    #[test]
    fn crowded_twentieths_and_the_last_block() {
        let mut fib = roomy();
        let mut routes = Vec::new();
        let mut rng = Rng(5);
        for i in 0..40u32 {
            // Host routes, /28s and /30s in 10.1.0.0/20.
            let len = [32, 28, 30][i as usize % 3];
            let key = 0x0a01_0000 | (rng.below(1 << 9) as u32) << 3;
            let r = Route {
                prefix: Ipv4Address::from_u32(key & mask(len)),
                len,
                kind: RouteKind::Connected { ifindex: i as i32 },
                metric: i,
            };
            if fib.insert(r).unwrap().is_none() {
                routes.push(r);
            } else if let Some(m) = routes
                .iter_mut()
                .find(|m| m.prefix == r.prefix && m.len == r.len)
            {
                *m = r;
            }
        }
        fib.add(conn("255.255.255.0", 24, 9)).unwrap();
        fib.add(conn("255.255.255.128", 25, 8)).unwrap();
        routes.push(conn("255.255.255.0", 24, 9));
        routes.push(conn("255.255.255.128", 25, 8));
        // Compacted, the block of 255.255/16 comes last.
        let w = fib.index.words.len();
        drop(fib.adopt(FibParts {
            index: alloc(w),
            ..FibParts::default()
        }));
        let x = fib.ranges_block(0xffff).unwrap();
        assert_eq!(x + IHDR + fib.ranges_in(x), fib.index.words.len());
        let x = fib.ranges_block(0x0a01).unwrap();
        let first = (fib.index.w(x) >> 16) as usize;
        assert!(first > 2 * SCAN, "{first} ranges in 10.1.0.0/20");
        check_invariants(&fib);
        for d in (0x0a01_0000u32..0x0a01_2000).chain(0xffff_ff00..=u32::MAX) {
            let dst = Ipv4Address::from_u32(d);
            assert_eq!(fib.lookup(dst), brute(&routes, dst), "{dst}");
        }
    }

    /// What `resolve` answers, from two lookups.
    fn resolve_by_lookups(fib: &TestFib, dst: Ipv4Address) -> Result<NextHop, RouteError> {
        match fib.lookup(dst).ok_or(RouteError::NoRoute)?.kind {
            RouteKind::Local => Ok(NextHop {
                ifindex: 0,
                gateway: None,
                local: true,
            }),
            RouteKind::Connected { ifindex } => Ok(NextHop {
                ifindex,
                gateway: None,
                local: false,
            }),
            RouteKind::Gateway { via, ifindex } => match fib.lookup(via).map(|r| r.kind) {
                Some(RouteKind::Connected { ifindex: on }) if on == ifindex => Ok(NextHop {
                    ifindex,
                    gateway: Some(via),
                    local: false,
                }),
                _ => Err(RouteError::GatewayUnreachable),
            },
        }
    }

    /// `lookup_many` and `resolve_many` answer as `lookup` and `resolve` do, through churn,
    /// for batches of any length, with outputs shorter or longer than the input.
    #[test]
    fn batched_lookups_match_single_ones() {
        let mut rng = Rng(77);
        let mut fib: TestFib = Fib::new(usize::MAX);
        let dsts: Vec<Ipv4Address> = (0..300)
            .map(|_| Ipv4Address::from_u32(0x0a00_0000 | (rng.next() as u32 & 0x03ff_ffff)))
            .collect();
        let mut out: Vec<Option<Route>> = std::vec![None; 400];
        let mut hops = std::vec![Err(RouteError::NoRoute); 400];
        let mut kinds = [0; 4];
        let mut live = Vec::new();
        for i in 0..1500u32 {
            if i % 5 == 4 && !live.is_empty() {
                let r: Route = live.swap_remove(rng.below(live.len() as u64) as usize);
                let _ = fib.delete(r.prefix, r.len);
            } else {
                let mut r = random_route(&mut rng, i % 7);
                if i % 3 == 0 {
                    // Gateways, some reachable through the connected routes.
                    let via =
                        Ipv4Address::from_u32(0x0a00_0000 | (rng.next() as u32 & 0x03ff_ffff));
                    r.kind = RouteKind::Gateway {
                        via,
                        ifindex: (i % 7) as i32,
                    };
                }
                assert!(grow(&mut fib));
                if fib.insert(r).unwrap().is_none() {
                    live.push(r);
                }
            }
            if i % 50 != 0 {
                continue;
            }
            let n = rng.below(dsts.len() as u64) as usize;
            let m = rng.below(out.len() as u64) as usize;
            out.fill(None);
            fib.lookup_many(&dsts[..n], &mut out[..m]);
            fib.resolve_many(&dsts[..n], &mut hops[..m]);
            for (k, &d) in dsts.iter().enumerate().take(n.min(m)) {
                assert_eq!(out[k], fib.lookup(d), "step {i}: {d}");
                assert_eq!(hops[k], fib.resolve(d), "step {i}: {d}");
                assert_eq!(hops[k], resolve_by_lookups(&fib, d), "step {i}: {d}");
                kinds[match hops[k] {
                    Ok(h) if h.gateway.is_some() => 0,
                    Ok(_) => 1,
                    Err(RouteError::GatewayUnreachable) => 2,
                    Err(RouteError::NoRoute) => 3,
                }] += 1;
            }
            assert!(out[n.min(m)..].iter().all(|r| r.is_none()));
        }
        assert!(live.len() > 500);
        assert!(kinds.iter().all(|&k| k > 0), "{kinds:?}");
        // No storage at all: nothing found.
        let empty: TestFib = Fib::new(8);
        empty.lookup_many(&dsts, &mut out);
        assert!(out.iter().all(|r| r.is_none()));
    }

    /// `resolve` follows every change to the routes that match a gateway: its connected
    /// route coming late, replaced, shadowed by a longer route, uncovered, a short route
    /// under it; and the gateway's leaf going and coming back.
    #[test]
    fn resolve_follows_the_gateways_match() {
        let mut fib = roomy();
        let dst = a("203.0.113.9");
        let hop = |fib: &TestFib| fib.resolve(dst).map(|h| (h.ifindex, h.gateway));
        let via = Some(a("10.9.8.7"));
        fib.add(gw("203.0.113.0", 24, "10.9.8.7", 2)).unwrap();
        assert_eq!(hop(&fib), Err(RouteError::GatewayUnreachable));
        // A short route, then a long one, then a host route to the gateway.
        fib.add(conn("10.0.0.0", 8, 2)).unwrap();
        assert_eq!(hop(&fib), Ok((2, via)));
        fib.add(conn("10.9.8.0", 24, 3)).unwrap();
        assert_eq!(hop(&fib), Err(RouteError::GatewayUnreachable));
        fib.add(conn("10.9.8.7", 32, 2)).unwrap();
        assert_eq!(hop(&fib), Ok((2, via)));
        // Replaced in place, then gone: the /24 and the /8 answer again.
        fib.insert(Route::new(a("10.9.8.7"), 32, RouteKind::Local))
            .unwrap();
        assert_eq!(hop(&fib), Err(RouteError::GatewayUnreachable));
        fib.delete(a("10.9.8.7"), 32).unwrap();
        fib.delete(a("10.9.8.0"), 24).unwrap();
        assert_eq!(hop(&fib), Ok((2, via)));
        // A default route under everything, the /8 gone.
        fib.add(conn("0.0.0.0", 0, 2)).unwrap();
        fib.delete(a("10.0.0.0"), 8).unwrap();
        assert_eq!(hop(&fib), Ok((2, via)));
        // The gateway route goes (its leaf is freed) and comes back through another one.
        fib.delete(a("203.0.113.0"), 24).unwrap();
        assert_eq!(hop(&fib).unwrap().1, None);
        fib.add(gw("203.0.0.0", 16, "10.9.8.7", 2)).unwrap();
        assert_eq!(hop(&fib), Ok((2, via)));
        fib.delete(a("0.0.0.0"), 0).unwrap();
        assert_eq!(hop(&fib), Err(RouteError::GatewayUnreachable));
        check_invariants(&fib);
    }

    #[test]
    fn router_walk_through() {
        let mut fib = roomy();
        fib.add(Route::new(a("192.168.1.10"), 32, RouteKind::Local))
            .unwrap();
        fib.add(conn("192.168.1.0", 24, 2)).unwrap();
        fib.add(gw("10.0.0.0", 8, "192.168.1.254", 2)).unwrap();
        fib.add(gw("0.0.0.0", 0, "192.168.1.1", 2)).unwrap();
        assert_eq!(fib.len(), 4);

        let hop = |fib: &TestFib, d: &str| fib.resolve(a(d));
        assert_eq!(
            hop(&fib, "192.168.1.10"),
            Ok(NextHop {
                ifindex: 0,
                gateway: None,
                local: true
            })
        );
        assert_eq!(
            hop(&fib, "192.168.1.77"),
            Ok(NextHop {
                ifindex: 2,
                gateway: None,
                local: false
            })
        );
        assert_eq!(
            hop(&fib, "10.20.30.40").unwrap().gateway,
            Some(a("192.168.1.254"))
        );
        let def = hop(&fib, "8.8.8.8").unwrap();
        assert_eq!(def.gateway, Some(a("192.168.1.1")));
        assert_eq!(def.neighbor(a("8.8.8.8")), a("192.168.1.1"));
        assert_eq!(fib.lookup(a("8.8.8.8")).unwrap().len, 0);
        assert_eq!(fib.lookup(a("8.8.8.8")).unwrap().prefix, a("0.0.0.0"));
        assert_eq!(fib.lookup(a("10.9.8.7")).unwrap().prefix, a("10.0.0.0"));

        // Without the default route, the rest of the world is unreachable.
        fib.delete(Ipv4Address::UNSPECIFIED, 0).unwrap();
        assert_eq!(hop(&fib, "8.8.8.8"), Err(RouteError::NoRoute));
        assert!(fib.lookup(a("8.8.8.8")).is_none());
        check_invariants(&fib);
    }

    #[test]
    fn host_routes_beat_networks() {
        let mut fib = roomy();
        fib.add(conn("10.1.0.0", 16, 1)).unwrap();
        fib.add(conn("10.1.2.3", 32, 2)).unwrap();
        fib.add(conn("10.1.2.0", 24, 3)).unwrap();
        assert_eq!(fib.lookup(a("10.1.2.3")).unwrap().len, 32);
        assert_eq!(fib.lookup(a("10.1.2.4")).unwrap().len, 24);
        assert_eq!(fib.lookup(a("10.1.3.3")).unwrap().len, 16);
        assert!(fib.lookup(a("10.2.0.0")).is_none());
        assert_eq!(fib.get(a("10.1.2.3"), 32).unwrap().ifindex(), Some(2));
        assert!(fib.get(a("10.1.2.0"), 23).is_none());
        fib.delete(a("10.1.2.3"), 32).unwrap();
        assert_eq!(fib.lookup(a("10.1.2.3")).unwrap().len, 24);
        check_invariants(&fib);
    }

    #[test]
    fn replace_and_exists() {
        let mut fib = roomy();
        assert_eq!(fib.insert(conn("10.0.0.0", 8, 1)), Ok(None));
        let g = fib.generation();
        assert_eq!(fib.add(conn("10.0.0.0", 8, 2)), Err(FibError::Exists));
        assert_eq!(fib.generation(), g);
        let old = fib.insert(conn("10.0.0.0", 8, 2)).unwrap().unwrap();
        assert_eq!(old.ifindex(), Some(1));
        assert!(fib.generation() > g);
        assert_eq!(fib.len(), 1);
        assert_eq!(fib.lookup(a("10.9.9.9")).unwrap().ifindex(), Some(2));
        // The same for a route cutting ranges, and the same next hop again.
        fib.add(conn("10.0.4.0", 22, 1)).unwrap();
        assert_eq!(
            fib.insert(conn("10.0.4.0", 22, 3))
                .unwrap()
                .unwrap()
                .ifindex(),
            Some(1)
        );
        assert_eq!(
            fib.insert(conn("10.0.4.0", 22, 3))
                .unwrap()
                .unwrap()
                .ifindex(),
            Some(3)
        );
        assert_eq!(fib.lookup(a("10.0.5.1")).unwrap().ifindex(), Some(3));
        check_invariants(&fib);
    }

    #[test]
    fn error_cases() {
        let mut fib = roomy();
        assert_eq!(fib.add(conn("10.0.0.1", 8, 1)), Err(FibError::BadPrefix));
        assert_eq!(fib.add(conn("10.0.0.0", 33, 1)), Err(FibError::BadPrefix));
        assert_eq!(fib.add(conn("0.0.0.1", 0, 1)), Err(FibError::BadPrefix));
        assert_eq!(
            fib.delete(a("10.0.0.0"), 8).unwrap_err(),
            FibError::NotFound
        );
        assert_eq!(fib.delete(a("10.0.0.1"), 8), Err(FibError::BadPrefix));
        fib.add(conn("10.0.0.0", 8, 1)).unwrap();
        fib.add(conn("10.1.0.0", 16, 1)).unwrap();
        fib.add(conn("10.2.0.0", 16, 1)).unwrap();
        assert_eq!(fib.delete(a("10.0.0.0"), 14), Err(FibError::NotFound));
        assert_eq!(fib.delete(a("10.3.0.0"), 16), Err(FibError::NotFound));
        assert_eq!(fib.delete(a("10.1.0.0"), 24), Err(FibError::NotFound));
        assert_eq!(fib.generation(), 3);
        assert_eq!(fib.len(), 3);
        assert!(fib.get(a("10.0.0.1"), 8).is_none());
        assert_eq!(FibError::Full.to_string(), "FIB full");
        assert_eq!(FibError::NoMem.to_string(), "out of memory");
        assert_eq!(RouteError::NoRoute.to_string(), "no route to host");
    }

    #[test]
    fn short_routes_cover_chunks_and_give_way() {
        let mut fib = roomy();
        // Long routes first, then shorter ones over them, then removal in another order.
        fib.add(conn("10.1.2.0", 24, 1)).unwrap();
        fib.add(conn("10.1.0.0", 17, 2)).unwrap();
        fib.add(conn("10.0.0.0", 8, 3)).unwrap();
        fib.add(conn("10.0.0.0", 12, 4)).unwrap();
        fib.add(conn("0.0.0.0", 0, 5)).unwrap();
        fib.add(conn("10.1.0.0", 16, 6)).unwrap();
        let oif = |fib: &TestFib, d: &str| fib.lookup(a(d)).and_then(|r| r.ifindex());
        let probe = [
            "10.1.2.3",
            "10.1.3.3",
            "10.1.200.1",
            "10.2.0.1",
            "10.16.0.1",
            "11.0.0.1",
        ];
        let all = |fib: &TestFib| probe.map(|d| oif(fib, d));
        let s = Some;
        assert_eq!(all(&fib), [s(1), s(2), s(6), s(4), s(3), s(5)]);
        check_invariants(&fib);
        check_short_leaves(&fib, 0x0a00..0x0b01);
        fib.delete(a("10.0.0.0"), 12).unwrap();
        assert_eq!(all(&fib), [s(1), s(2), s(6), s(3), s(3), s(5)]);
        fib.delete(a("10.1.0.0"), 16).unwrap();
        assert_eq!(all(&fib), [s(1), s(2), s(3), s(3), s(3), s(5)]);
        fib.delete(a("10.0.0.0"), 8).unwrap();
        assert_eq!(all(&fib), [s(1), s(2), s(5), s(5), s(5), s(5)]);
        check_short_leaves(&fib, 0x0a00..0x0b01);
        fib.delete(a("0.0.0.0"), 0).unwrap();
        assert_eq!(all(&fib), [s(1), s(2), None, None, None, None]);
        fib.delete(a("10.1.0.0"), 17).unwrap();
        fib.delete(a("10.1.2.0"), 24).unwrap();
        assert!(fib.is_empty() && fib.iter().next().is_none());
        assert_eq!((fib.blocks.used, fib.index.used), (0, 0));
        check_invariants(&fib);
        check_short_leaves(&fib, 0..CHUNKS);
    }

    #[test]
    fn nothing_before_storage_and_the_limit() {
        // No storage: nothing fits, nothing panics, and wants says what to allocate.
        let mut fib: TestFib = Fib::new(3);
        assert_eq!(fib.add(conn("10.0.0.0", 16, 1)), Err(FibError::NoMem));
        assert!(fib.lookup(a("1.2.3.4")).is_none());
        assert!(fib.get(a("10.0.0.0"), 16).is_none());
        assert_eq!(fib.iter().count(), 0);
        assert_eq!(fib.delete(a("10.0.0.0"), 16), Err(FibError::NotFound));
        assert_eq!(fib.remove_ifindex(1), 0);
        assert_eq!(fib.generation(), 0);
        let w = fib.wants();
        assert_eq!(w.direct, DIRECT_WORDS);
        assert!(w.blocks > 0 && w.leaves > 0);
        // The limit: three routes, a replacement still fits.
        for i in 0..3 {
            assert!(grow(&mut fib));
            fib.add(conn(&std::format!("10.{i}.0.0"), 16, 1)).unwrap();
        }
        grow(&mut fib);
        let g = fib.generation();
        assert_eq!(fib.add(conn("10.9.0.0", 16, 1)), Err(FibError::Full));
        assert_eq!(fib.generation(), g);
        assert!(fib.insert(conn("10.1.0.0", 16, 5)).unwrap().is_some());
        fib.delete(a("10.0.0.0"), 16).unwrap();
        fib.add(conn("10.9.0.0", 16, 1)).unwrap();
        assert_eq!(fib.iter().count(), 3);
        fib.set_limit(4);
        assert_eq!(fib.limit(), 4);
        grow(&mut fib);
        fib.add(conn("10.8.0.0", 16, 1)).unwrap();
        // Failed allocation: NoMem, and nothing changes.
        let mut fib: TestFib = Fib::new(100);
        set_failing(true);
        assert!(!grow(&mut fib));
        set_failing(false);
        assert_eq!(fib.add(conn("10.0.0.0", 16, 1)), Err(FibError::NoMem));
        assert!(fib.is_empty() && fib.bytes() < 1024);
    }

    #[test]
    fn storage_that_does_not_fit_comes_back() {
        let mut fib: TestFib = Fib::new(usize::MAX);
        // Too small, or not empty: given back, and the FIB is as it was.
        let mut used: Vec<u32> = alloc(DIRECT_WORDS + 1).unwrap();
        used.push(7);
        let back = fib.adopt(FibParts {
            direct: Some(used),
            blocks: None,
            index: None,
            leaves: alloc(HEADS),
        });
        assert_eq!(back.direct.map(|v| v.len()), Some(1));
        assert_eq!(back.leaves.map(|v| v.capacity()), Some(HEADS));
        assert_eq!(fib.wants().direct, DIRECT_WORDS);
        assert!(grow(&mut fib));
        // A second direct table is not needed: it comes back.
        let back = fib.adopt(FibParts {
            direct: alloc(DIRECT_WORDS),
            ..FibParts::default()
        });
        assert_eq!(back.direct.map(|v| v.capacity()), Some(DIRECT_WORDS));
        fib.add(conn("10.0.0.0", 24, 1)).unwrap();
        fib.add(conn("10.0.1.0", 24, 1)).unwrap();
        // Blocks too small for those in use come back; large enough ones replace them.
        let back = fib.adopt(FibParts {
            blocks: alloc(4),
            index: alloc(8),
            ..FibParts::default()
        });
        assert_eq!(back.blocks.map(|v| v.capacity()), Some(4));
        assert_eq!(back.index.map(|v| v.capacity()), Some(8));
        let g = fib.generation();
        let back = fib.adopt(FibParts {
            direct: None,
            blocks: alloc(64),
            index: alloc(32),
            leaves: alloc(HEADS + 64 * LEAF_WORDS),
        });
        assert_eq!(back.blocks.map(|v| v.capacity()), Some(MIN_BLOCKS));
        assert_eq!(back.index.map(|v| v.capacity()), Some(MIN_BLOCKS));
        assert_eq!(
            back.leaves.map(|v| v.capacity()),
            Some(HEADS + FIRST_LEAVES * LEAF_WORDS)
        );
        // Moving changes no route, and so no generation.
        assert_eq!(fib.generation(), g);
        assert_eq!(fib.lookup(a("10.0.1.9")).unwrap().len, 24);
        assert_eq!(
            fib.bytes(),
            (DIRECT_WORDS + 64 + 32 + HEADS + 64 * LEAF_WORDS) * 4
                + core::mem::size_of::<TestFib>()
        );
        check_invariants(&fib);
    }

    #[test]
    fn iteration_is_in_prefix_order_and_resumes() {
        let mut fib = roomy();
        for (p, l) in [
            ("10.1.0.0", 16),
            ("0.0.0.0", 0),
            ("10.0.0.0", 8),
            ("192.168.0.0", 16),
            ("10.1.0.0", 24),
            ("10.0.0.0", 16),
            ("10.1.0.0", 17),
            ("10.0.0.0", 32),
        ] {
            fib.add(conn(p, l, 1)).unwrap();
        }
        let names = |it: &mut dyn Iterator<Item = Route>| {
            it.map(|r| std::format!("{}/{}", r.prefix, r.len))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&mut fib.iter()),
            [
                "0.0.0.0/0",
                "10.0.0.0/8",
                "10.0.0.0/16",
                "10.0.0.0/32",
                "10.1.0.0/16",
                "10.1.0.0/17",
                "10.1.0.0/24",
                "192.168.0.0/16"
            ]
        );
        // A listing in pages of three that resumes after the last route shown, while routes
        // come and go: every route that stays is shown once, in order.
        let (c, r) = fib.iter_from(Cursor::START).nth(2).unwrap();
        assert_eq!((r.prefix, r.len), (a("10.0.0.0"), 16));
        let c = Cursor::from_u64(c.to_u64());
        fib.delete(a("10.0.0.0"), 16).unwrap();
        fib.delete(a("10.0.0.0"), 32).unwrap();
        fib.add(conn("10.0.0.0", 9, 1)).unwrap();
        fib.add(conn("10.0.0.0", 20, 1)).unwrap();
        assert_eq!(
            names(&mut fib.iter_from(c).map(|(_, r)| r)),
            [
                "10.0.0.0/20",
                "10.1.0.0/16",
                "10.1.0.0/17",
                "10.1.0.0/24",
                "192.168.0.0/16"
            ]
        );
        let last = fib.iter().last().unwrap();
        assert_eq!(fib.iter_from(Cursor::after(&last)).count(), 0);
        assert_eq!(fib.iter_from(Cursor::from_u64(u64::MAX)).count(), 0);
        let host = Route::new(a("255.255.255.255"), 32, RouteKind::Local);
        assert_eq!(fib.iter_from(Cursor::after(&host)).count(), 0);
    }

    /// A random prefix, lengths skewed towards /16../24 but all 0..=32 appear.
    fn random_route(rng: &mut Rng, i: u32) -> Route {
        let len = match rng.below(10) {
            0 => rng.below(33) as u8,
            1..=2 => 8 + rng.below(9) as u8,
            3..=8 => 16 + rng.below(9) as u8,
            _ => 25 + rng.below(8) as u8,
        };
        // Few distinct top bytes so that prefixes nest and compete.
        let top = (rng.below(4) as u32) << 24 | 0x0a00_0000;
        let key = (top | (rng.next() as u32 & 0x03ff_ffff)) & mask(len);
        Route {
            prefix: Ipv4Address::from_u32(key),
            len,
            kind: RouteKind::Connected { ifindex: i as i32 },
            metric: i,
        }
    }

    #[test]
    fn lpm_matches_brute_force() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let n_routes = 4000;
        let mut fib: TestFib = Fib::new(usize::MAX);
        let mut model: Vec<Route> = Vec::new();
        for i in 0..n_routes as u32 {
            let route = random_route(&mut rng, i);
            assert!(grow(&mut fib));
            let old = fib.insert(route).unwrap();
            let pos = model
                .iter()
                .position(|m| m.prefix == route.prefix && m.len == route.len);
            assert_eq!(old, pos.map(|p| model[p]));
            match pos {
                Some(p) => model[p] = route,
                None => model.push(route),
            }
        }
        assert_eq!(fib.len(), model.len());
        check_invariants(&fib);
        let check = |fib: &TestFib, model: &[Route], rng: &mut Rng| {
            for _ in 0..5000 {
                // Half the destinations fall inside some route, the rest anywhere.
                let dst = if rng.below(2) == 0 && !model.is_empty() {
                    let r = model[rng.below(model.len() as u64) as usize];
                    Ipv4Address::from_u32(r.prefix.to_u32() | (rng.next() as u32 & !mask(r.len)))
                } else {
                    Ipv4Address::from_u32(rng.next() as u32)
                };
                assert_eq!(fib.lookup(dst), brute(model, dst), "dst {dst}");
            }
        };
        check(&fib, &model, &mut rng);

        // Iteration yields every route once, in order.
        let listed: Vec<Route> = fib.iter().collect();
        let mut sorted = model.clone();
        sorted.sort_by_key(|r| (r.prefix.to_u32(), r.len));
        assert_eq!(listed, sorted);

        // Delete half, check again, re-add others, check again.
        for _ in 0..model.len() / 2 {
            let i = rng.below(model.len() as u64) as usize;
            let r = model.swap_remove(i);
            assert_eq!(fib.delete(r.prefix, r.len), Ok(r));
        }
        assert_eq!(fib.len(), model.len());
        check_invariants(&fib);
        check(&fib, &model, &mut rng);
        for i in 0..1000 {
            let route = random_route(&mut rng, i);
            assert!(grow(&mut fib));
            if fib.insert(route).unwrap().is_none() {
                model.push(route);
            } else if let Some(m) = model
                .iter_mut()
                .find(|m| m.prefix == route.prefix && m.len == route.len)
            {
                *m = route;
            }
        }
        check(&fib, &model, &mut rng);
        check_short_leaves(&fib, 0x0a00..0x0e00);
        // Delete everything: no block and no leaf is left.
        for r in model.drain(..) {
            fib.delete(r.prefix, r.len).unwrap();
        }
        assert!(fib.is_empty());
        assert_eq!((fib.blocks.used, fib.index.used), (0, 0));
        check_invariants(&fib);
        assert!((0..CHUNKS).all(|c| fib.direct[c] == NONE && fib.block(c).is_none()));
    }

    #[test]
    fn remove_interface_routes() {
        let mut fib = roomy();
        fib.add(conn("10.0.0.0", 8, 1)).unwrap();
        fib.add(conn("10.1.0.0", 16, 2)).unwrap();
        fib.add(conn("10.1.2.0", 24, 2)).unwrap();
        fib.add(conn("10.1.3.0", 24, 1)).unwrap();
        fib.add(gw("0.0.0.0", 0, "10.1.0.1", 2)).unwrap();
        fib.add(Route::new(a("10.1.0.5"), 32, RouteKind::Local))
            .unwrap();
        assert_eq!(fib.remove_ifindex(2), 3);
        assert_eq!(fib.len(), 3);
        assert_eq!(fib.lookup(a("10.1.2.3")).unwrap().ifindex(), Some(1));
        assert_eq!(fib.lookup(a("10.1.3.3")).unwrap().len, 24);
        assert!(fib.lookup(a("11.0.0.0")).is_none());
        check_invariants(&fib);
        let g = fib.generation();
        fib.clear();
        assert!(fib.generation() != g);
        assert!(fib.is_empty() && fib.lookup(a("10.1.0.5")).is_none());
        assert_eq!(fib.iter().count(), 0);
        check_invariants(&fib);
        // The storage stayed: routes go in again without growing.
        fib.add(conn("10.0.0.0", 8, 1)).unwrap();
        assert_eq!(fib.lookup(a("10.1.0.5")).unwrap().len, 8);
    }

    #[test]
    fn gateway_must_be_directly_connected() {
        let mut fib = roomy();
        fib.add(gw("0.0.0.0", 0, "192.168.1.1", 2)).unwrap();
        // The gateway is only reachable through the default route itself.
        assert_eq!(
            fib.resolve(a("8.8.8.8")),
            Err(RouteError::GatewayUnreachable)
        );
        fib.add(conn("192.168.1.0", 24, 3)).unwrap();
        // Connected, but on another interface.
        assert_eq!(
            fib.resolve(a("8.8.8.8")),
            Err(RouteError::GatewayUnreachable)
        );
        fib.insert(conn("192.168.1.0", 24, 2)).unwrap();
        assert_eq!(
            fib.resolve(a("8.8.8.8")),
            Ok(NextHop {
                ifindex: 2,
                gateway: Some(a("192.168.1.1")),
                local: false
            })
        );
        // A gateway behind another gateway is not followed.
        fib.add(gw("172.16.0.0", 12, "10.0.0.1", 2)).unwrap();
        fib.add(gw("10.0.0.0", 8, "192.168.1.2", 2)).unwrap();
        assert!(fib.resolve(a("10.5.5.5")).is_ok());
        assert_eq!(
            fib.resolve(a("172.16.0.9")),
            Err(RouteError::GatewayUnreachable)
        );
        // A local address is no gateway either.
        fib.add(Route::new(a("192.168.1.3"), 32, RouteKind::Local))
            .unwrap();
        fib.add(gw("172.32.0.0", 16, "192.168.1.3", 2)).unwrap();
        assert_eq!(
            fib.resolve(a("172.32.0.9")),
            Err(RouteError::GatewayUnreachable)
        );
    }

    #[test]
    fn lookup_oif_matches_brute_force() {
        let mut rng = Rng(0x0_1f);
        let mut fib = roomy();
        let mut all = Vec::new();
        for i in 0..200u32 {
            let mut r = random_route(&mut rng, i);
            // Three interfaces, so that each has routes that others shadow.
            r.kind = RouteKind::Connected {
                ifindex: 2 + (i % 3) as i32,
            };
            if fib.get(r.prefix, r.len).is_none() && fib.add(r).is_ok() {
                all.push(r);
            }
        }
        for _ in 0..5000 {
            let dst = Ipv4Address::from_u32(0x0a00_0000 | (rng.next() as u32 & 0x03ff_ffff));
            for oif in 2..=4 {
                let want = all
                    .iter()
                    .filter(|r| r.contains(dst) && r.ifindex() == Some(oif))
                    .max_by_key(|r| r.len)
                    .copied();
                assert_eq!(fib.lookup_oif(dst, oif), want, "{dst:?} oif {oif}");
            }
        }
    }

    #[test]
    fn resolve_oif_prefers_the_bound_interface() {
        let mut fib = roomy();
        fib.add(conn("198.18.1.0", 24, 2)).unwrap();
        fib.add(conn("198.18.2.0", 24, 3)).unwrap();
        fib.add(gw("0.0.0.0", 0, "198.18.1.1", 2)).unwrap();
        fib.add(Route::new(a("198.18.1.5"), 32, RouteKind::Local))
            .unwrap();
        let dst = a("198.19.0.9");
        // Unbound: the default route through interface 2.
        assert_eq!(fib.resolve(dst).unwrap().ifindex, 2);
        // Bound to 3: the default route is passed over; the destination is on link there.
        let nh = fib.resolve_oif(dst, 3).unwrap();
        assert_eq!((nh.ifindex, nh.gateway, nh.local), (3, None, false));
        // Bound to 2: the gateway route, resolved through the connected route on 2.
        let nh = fib.resolve_oif(dst, 2).unwrap();
        assert_eq!((nh.ifindex, nh.gateway), (2, Some(a("198.18.1.1"))));
        // A connected route elsewhere does not capture a bound flow.
        assert_eq!(fib.resolve_oif(a("198.18.2.7"), 2).unwrap().ifindex, 2);
        assert_eq!(fib.resolve_oif(a("198.18.2.7"), 3).unwrap().ifindex, 3);
        // Local addresses stay local whatever the binding.
        assert!(fib.resolve_oif(a("198.18.1.5"), 3).unwrap().local);
    }

    /// A route of the model test: few chunks, so that routes nest, share chunks and cover
    /// each other; few next hops, so that leaves are shared.
    fn model_route(rng: &mut Rng) -> Route {
        let len = match rng.below(8) {
            0 => rng.below(17) as u8,
            1 => 16,
            2..=5 => 17 + rng.below(16) as u8,
            _ => 24,
        };
        let top = [0x0a00_0000u32, 0x0a01_0000, 0x0a03_0000, 0x0b00_0000][rng.below(4) as usize];
        let key = (top | (rng.next() as u32 & 0x0000_0fff) << 4) & mask(len);
        let ifindex = 1 + rng.below(3) as i32;
        let kind = match rng.below(4) {
            0 => RouteKind::Local,
            1 => RouteKind::Connected { ifindex },
            _ => RouteKind::Gateway {
                // Off the modelled space, or inside it (reachable or not as routes come
                // and go).
                via: match rng.below(3) {
                    0 => Ipv4Address::new(192, 0, 2, rng.below(3) as u8),
                    _ => Ipv4Address::new(10, rng.below(2) as u8, 0, 1 + rng.below(3) as u8 * 16),
                },
                ifindex,
            },
        };
        Route {
            prefix: Ipv4Address::from_u32(key),
            len,
            kind,
            metric: rng.below(2) as u32,
        }
    }

    /// Random changes to a FIB and a `BTreeMap` model, compared after each; `failing` says
    /// whether this step's allocations fail.
    fn against_model(
        seed: u64,
        steps: usize,
        limit: usize,
        mut failing: impl FnMut(&mut Rng) -> bool,
    ) {
        let mut rng = Rng(seed);
        let mut fib: TestFib = Fib::new(limit);
        let mut m: BTreeMap<(u32, u8), Route> = BTreeMap::new();
        for step in 0..steps {
            let fail = failing(&mut rng);
            set_failing(fail);
            let grown = grow(&mut fib);
            set_failing(false);
            let g = fib.generation();
            let r = model_route(&mut rng);
            let k = (r.prefix.to_u32(), r.len);
            match rng.below(20) {
                0..=8 => match fib.insert(r) {
                    Ok(old) => {
                        assert_eq!(old, m.insert(k, r), "step {step}");
                        assert!(m.len() <= limit);
                    }
                    Err(FibError::Full) => assert!(m.len() >= limit && !m.contains_key(&k)),
                    Err(FibError::NoMem) => assert!(!grown, "step {step}: NoMem after growing"),
                    Err(e) => panic!("step {step}: {e:?}"),
                },
                9..=10 => match fib.add(r) {
                    Ok(()) => assert!(m.insert(k, r).is_none()),
                    Err(FibError::Exists) => assert!(m.contains_key(&k)),
                    Err(FibError::Full) => assert!(m.len() >= limit),
                    Err(FibError::NoMem) => assert!(!grown, "step {step}: NoMem after growing"),
                    Err(e) => panic!("step {step}: {e:?}"),
                },
                11..=15 if !m.is_empty() => {
                    let i = rng.below(m.len() as u64) as usize;
                    let (&k, &r) = m.iter().nth(i).unwrap();
                    assert_eq!(fib.delete(r.prefix, r.len), Ok(r), "step {step}");
                    m.remove(&k);
                }
                16 => assert_eq!(fib.delete(r.prefix, r.len).ok(), m.remove(&k)),
                17 if rng.below(10) == 0 => {
                    let oif = 1 + rng.below(3) as i32;
                    let n = m.len();
                    m.retain(|_, r| r.ifindex() != Some(oif));
                    assert_eq!(fib.remove_ifindex(oif), n - m.len());
                }
                18 if rng.below(50) == 0 => {
                    fib.clear();
                    m.clear();
                }
                _ => {}
            }
            assert_eq!(fib.len(), m.len(), "step {step}");
            if fib.generation() == g {
                // Nothing changed: the model says so too (checked below).
            }
            assert_eq!(fib.get(r.prefix, r.len), m.get(&k).copied());
            for _ in 0..8 {
                let dst = match m.iter().nth(rng.below(m.len() as u64 + 1) as usize) {
                    Some((_, r)) => r.prefix.to_u32() | (rng.next() as u32 & !mask(r.len)),
                    None => 0x0a00_0000 | (rng.next() as u32 & 0x01ff_ffff),
                };
                let dst = Ipv4Address::from_u32(dst);
                assert_eq!(fib.lookup(dst), model_lookup(&m, dst), "step {step}: {dst}");
                let want = match model_lookup(&m, dst).map(|r| r.kind) {
                    None => Err(RouteError::NoRoute),
                    Some(RouteKind::Gateway { via, ifindex }) => {
                        match model_lookup(&m, via).map(|r| r.kind) {
                            Some(RouteKind::Connected { ifindex: on }) if on == ifindex => {
                                Ok(Some(via))
                            }
                            _ => Err(RouteError::GatewayUnreachable),
                        }
                    }
                    Some(_) => Ok(None),
                };
                let got = fib.resolve(dst).map(|h| h.gateway);
                assert_eq!(got, want, "step {step}: resolve {dst}");
            }
            if step % 50 == 0 {
                let listed: Vec<Route> = fib.iter().collect();
                let want: Vec<Route> = m.values().copied().collect();
                assert_eq!(listed, want, "step {step}: listing");
                check_invariants(&fib);
                check_short_leaves(
                    &fib,
                    [0x0a00, 0x0a01, 0x0a02, 0x0a03, 0x0a04, 0x0b00, 0x0b01, 0].into_iter(),
                );
            }
        }
        check_invariants(&fib);
    }

    #[test]
    fn matches_a_model() {
        for seed in 1..=12 {
            against_model(seed, 1500, usize::MAX, |_| false);
        }
    }

    #[test]
    fn allocation_failure_changes_nothing() {
        for seed in 1..=12 {
            // One allocation round in three fails.
            against_model(seed * 77, 1500, usize::MAX, |rng| rng.below(3) == 0);
        }
    }

    #[test]
    fn the_limit_is_enforced() {
        for seed in 1..=6 {
            against_model(seed * 1001, 1500, 30 + seed as usize * 10, |rng| {
                rng.below(5) == 0
            });
        }
    }

    /// A cache of exactly `n` sets.
    fn cache_of(n: usize) -> RouteCache<Vec<CacheSet>> {
        let mut c = RouteCache::new();
        drop(c.adopt(Vec::with_capacity(n)));
        assert_eq!(c.sets(), n);
        c
    }

    #[test]
    fn cache_grows_with_the_table() {
        type C = RouteCache<Vec<CacheSet>>;
        assert_eq!(C::sets_for(0), CACHE_MIN_SETS);
        assert_eq!(C::sets_for(100_000), 8192);
        assert_eq!(C::sets_for(1_000_000), CACHE_MAX_SETS);
        assert_eq!(C::sets_for(usize::MAX), CACHE_MAX_SETS);
        let mut fib = roomy();
        fib.add(conn("10.0.0.0", 8, 1)).unwrap();
        let mut c = C::new();
        assert_eq!(c.wants(fib.len()), CACHE_MIN_SETS);
        let d = a("10.1.2.3");
        c.lookup(&fib, d);
        c.lookup(&fib, d);
        assert_eq!(c.stats().hits, 0, "no storage: every lookup misses");
        drop(c.adopt(Vec::with_capacity(c.wants(fib.len()))));
        assert_eq!(c.wants(fib.len()), 0);
        c.lookup(&fib, d);
        c.lookup(&fib, d);
        assert_eq!(c.stats().hits, 1);
        // Storage that is not larger, or not empty, comes back unused.
        assert_eq!(c.adopt(Vec::with_capacity(8)).capacity(), 8);
        let mut used = Vec::with_capacity(4096);
        used.push(CacheSet::default());
        assert_eq!(c.adopt(used).len(), 1);
        assert_eq!(c.sets(), CACHE_MIN_SETS);
        // Growing forgets the entries, keeps the counters.
        let old = c.adopt(Vec::with_capacity(c.wants(200_000)));
        assert_eq!(old.len(), CACHE_MIN_SETS);
        assert_eq!(c.sets(), 16384);
        assert_eq!(c.stats().hits, 1);
        c.lookup(&fib, d);
        assert_eq!(c.stats().hits, 1);
    }

    #[test]
    fn cache_hits_misses_and_invalidation() {
        let mut fib = roomy();
        fib.add(conn("10.0.0.0", 8, 1)).unwrap();
        let mut cache = cache_of(32);
        let d = a("10.1.2.3");
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);
        let s = cache.stats();
        assert_eq!((s.hits, s.misses), (2, 1));
        assert_eq!(cache.hit_rate_permille(), 666);

        // Failures are cached too.
        assert_eq!(cache.resolve(&fib, a("11.0.0.1")), Err(RouteError::NoRoute));
        assert_eq!(cache.resolve(&fib, a("11.0.0.1")), Err(RouteError::NoRoute));
        assert_eq!(cache.stats().hits, 3);

        // A change elsewhere in the FIB still invalidates everything.
        let inv = cache.stats().invalidations;
        fib.add(conn("11.0.0.0", 8, 2)).unwrap();
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);
        assert_eq!(cache.stats().invalidations, inv + 1);
        assert_eq!(cache.stats().misses, 3);
        assert_eq!(cache.lookup(&fib, a("11.0.0.1")).unwrap().ifindex, 2);
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);
        assert_eq!(cache.stats().hits, 4);

        // A more specific route changes the answer at once.
        fib.add(conn("10.1.0.0", 16, 7)).unwrap();
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 7);
        fib.delete(a("10.1.0.0"), 16).unwrap();
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);

        cache.flush();
        let misses = cache.stats().misses;
        cache.lookup(&fib, d);
        assert_eq!(cache.stats().misses, misses + 1);

        // A cache without storage always misses but still answers.
        let mut none = RouteCache::<Vec<CacheSet>>::new();
        assert_eq!(none.hit_rate_permille(), 0);
        assert_eq!(none.lookup(&fib, d).unwrap().ifindex, 1);
        assert_eq!(none.stats().misses, 1);
    }

    #[test]
    fn cache_sets_are_two_way_lru() {
        let mut fib = roomy();
        fib.add(conn("10.0.0.0", 8, 1)).unwrap();
        // One set: every destination competes for its two entries.
        let mut cache = cache_of(1);
        let (x, y, z) = (a("10.0.0.1"), a("10.0.0.2"), a("10.0.0.3"));
        let misses = |cache: &mut RouteCache<Vec<CacheSet>>, d| {
            let before = cache.stats().misses;
            assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);
            cache.stats().misses - before
        };
        assert_eq!(misses(&mut cache, x), 1);
        assert_eq!(misses(&mut cache, y), 1);
        assert_eq!(misses(&mut cache, x), 0);
        assert_eq!(misses(&mut cache, y), 0);
        // z evicts x, the least recently used.
        assert_eq!(misses(&mut cache, z), 1);
        assert_eq!(misses(&mut cache, y), 0);
        assert_eq!(misses(&mut cache, x), 1);
        assert_eq!(misses(&mut cache, y), 0);
        assert_eq!(misses(&mut cache, z), 1);
    }

    #[test]
    fn cache_agrees_with_fib_under_churn() {
        let mut rng = Rng(42);
        let mut fib = roomy();
        let mut cache = cache_of(64);
        let mut live = Vec::new();
        for i in 0..5000u32 {
            if i % 10 == 0 {
                let route = random_route(&mut rng, i);
                grow(&mut fib);
                if fib.insert(route).is_ok() {
                    live.push(route);
                }
            } else if i % 37 == 0 && !live.is_empty() {
                let r = live.swap_remove(rng.below(live.len() as u64) as usize);
                let _ = fib.delete(r.prefix, r.len);
            }
            // A small working set of destinations, so that the cache hits.
            let dst = Ipv4Address::from_u32(0x0a00_0000 | (rng.below(64) as u32) << 12);
            assert_eq!(cache.resolve(&fib, dst), fib.resolve(dst));
        }
        assert!(cache.stats().hits > 0 && cache.stats().invalidations > 0);
    }

    /// The synthetic table of `n` routes, each inserted after growing: the FIB, its routes
    /// and a reference (one map per prefix length).
    fn synthetic(n: usize) -> (TestFib, Vec<Route>, Vec<HashMap<u32, Route>>) {
        let mut fib: TestFib = Fib::new(usize::MAX);
        let mut by_len: Vec<HashMap<u32, Route>> = (0..=32).map(|_| HashMap::new()).collect();
        let mut i = 0;
        while fib.len() < n {
            let r = synth::route(1, i);
            i += 1;
            assert!(grow(&mut fib));
            fib.insert(r).unwrap();
            by_len[r.len as usize].insert(r.prefix.to_u32(), r);
        }
        let routes = by_len.iter().flat_map(|m| m.values().copied()).collect();
        (fib, routes, by_len)
    }

    fn sampled_check(n: usize) {
        let (fib, routes, by_len) = synthetic(n);
        assert_eq!(routes.len(), n);
        let mut rng = synth::Rng(99);
        for _ in 0..10_000 {
            let dst = synth::destination(&mut rng, &routes);
            let want = (0..=32u8)
                .rev()
                .find_map(|l| by_len[l as usize].get(&(dst.to_u32() & mask(l))).copied());
            assert_eq!(fib.lookup(dst), want, "{dst}");
        }
        let per_route = fib.bytes() / n;
        std::println!("{n} routes: {} bytes, {per_route} per route", fib.bytes());
        assert!(
            per_route <= 32 || n < 1_000_000,
            "{per_route} bytes per route"
        );
        // The mix is the one documented.
        let share =
            |lo: usize, hi: usize| by_len[lo..=hi].iter().map(|m| m.len()).sum::<usize>() * 100 / n;
        assert!((55..=65).contains(&share(24, 24)), "{}% /24", share(24, 24));
        assert!(share(8, 15) >= 1 && share(25, 32) >= 10);
    }

    #[test]
    fn hundred_thousand_synthetic_routes_sampled() {
        sampled_check(100_000);
    }

    /// A million routes: release builds only (`cargo test --release`), a debug build takes
    /// too long.
    #[test]
    #[cfg_attr(debug_assertions, ignore)]
    fn million_synthetic_routes_sampled() {
        sampled_check(1_000_000);
    }

    #[test]
    fn synth_is_deterministic() {
        assert_eq!(synth::route(5, 123), synth::route(5, 123));
        assert_ne!(synth::route(5, 123), synth::route(6, 123));
        let r = synth::route(1, 0);
        assert_eq!(r.prefix.to_u32() & !mask(r.len), 0);
    }
}
