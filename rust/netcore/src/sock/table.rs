//! The socket table of one namespace: UDP and raw sockets hashed by local port (for a raw
//! socket, its IP protocol), so that finding the socket of a datagram costs the same with one
//! bound socket or a hundred thousand (Linux's `udp_table`, hashed by port).
//!
//! Entries live in a slab (`Storage<Entry<T>>`, freed slots reused through a free list); each
//! bucket heads a chain through the entries of its port, newest first. Nothing here
//! allocates ([`super::super::storage`]): [`SockTable::wants`] says when the slab is full or
//! the table holds more entries than buckets (chains would grow past one entry on average),
//! the caller allocates that much where it may sleep, and [`SockTable::adopt`] moves the
//! table into it (doubling the buckets rehashes). [`SockTable::insert`] on a full slab fails
//! with [`TableError::NoMemory`] and gives the value back; with too few buckets it still
//! inserts, into longer chains.
//!
//! Lookups rank candidates with [`demux::score`]: the best score wins, and among equal
//! scores the oldest entry (as Linux without `SO_REUSEPORT`, and as a scan of the sockets in
//! the order they were bound would find). Walks that drop the caller's lock between batches
//! (raw delivery, broadcasts) resume by sequence number ([`SockTable::walk_port`]); the
//! `/proc` listing resumes by slot ([`SockTable::iter_from`]). Neither skips an entry that
//! stays in the table, whatever is removed meanwhile.

use super::super::storage::{fresh_index, move_slab, Grow, Storage, Want};
use super::demux::{self, Binding, Incoming};

/// End of a chain.
const NIL: u32 = u32::MAX;
/// Buckets (and slots) of a table's first allocation.
const FIRST_BUCKETS: usize = 16;
/// Most buckets a table asks for: 2^24 (the bucket index is the hash's top bits).
const MAX_BUCKETS: usize = 1 << 24;

/// One slot: a socket's binding and the caller's value (a socket reference in the kernel).
#[derive(Debug)]
pub struct Entry<T> {
    /// What the socket is bound to (for a raw socket, `local_port` is its protocol).
    pub binding: Binding,
    /// A raw socket.
    pub raw: bool,
    /// Order of insertion: unique and increasing.
    pub seq: u64,
    value: Option<T>,
    /// The next entry of the chain (or of the free list).
    next: u32,
}

impl<T> Entry<T> {
    /// The caller's value (None only for a free slot, which no method hands out).
    pub fn value(&self) -> Option<&T> {
        self.value.as_ref()
    }
}

/// A handle on an entry: its slot and its sequence number, so that a handle kept after its
/// entry was removed finds nothing rather than the slot's next tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockId {
    slot: u32,
    seq: u64,
}

/// Why an entry was not inserted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// The binding conflicts with an existing one ([`demux::conflicts`]): EADDRINUSE.
    InUse,
    /// The table holds its limit of entries: ENOBUFS.
    Full,
    /// No memory for another slot: ENOMEM.
    NoMemory,
}

/// The socket table; see the module documentation.
pub struct SockTable<T, E: Storage<Entry<T>>, B: Storage<u32>> {
    entries: E,
    buckets: B,
    free: u32,
    len: usize,
    limit: usize,
    next_seq: u64,
    salt: u32,
    _t: core::marker::PhantomData<T>,
}

impl<T, E: Storage<Entry<T>>, B: Storage<u32>> SockTable<T, E, B> {
    /// An empty table holding at most `limit` entries, hashing with the random `salt`.
    pub fn new(limit: usize, salt: u32) -> Self {
        SockTable {
            entries: E::default(),
            buckets: B::default(),
            free: NIL,
            len: 0,
            limit,
            next_seq: 0,
            salt,
            _t: core::marker::PhantomData,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries the table may hold.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Changes the limit (entries beyond a lowered one stay).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Number of buckets (a power of two, or 0 before the first insertion).
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    fn bucket_of(&self, port: u16, raw: bool, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let key = (u32::from(port) | (u32::from(raw) << 16)) ^ self.salt;
        let h = key.wrapping_mul(0x9e37_79b1) ^ (key >> 15);
        let h = h.wrapping_mul(0x85eb_ca6b);
        (h >> (32 - n.trailing_zeros())) as usize
    }

    fn slot(&self, i: u32) -> Option<&Entry<T>> {
        self.entries.get(i as usize)
    }

    /// The live entry of `id`.
    pub fn get(&self, id: SockId) -> Option<&Entry<T>> {
        self.slot(id.slot)
            .filter(|e| e.seq == id.seq && e.value.is_some())
    }

    /// True if a UDP socket bound as `b` would conflict with an entry ([`demux::conflicts`]).
    pub fn in_use(&self, b: &Binding) -> bool {
        let mut found = false;
        self.chain(b.local_port, false, |_, e| {
            if demux::conflicts(&e.binding, b) {
                found = true;
            }
            !found
        });
        found
    }

    /// Calls `f` on each live entry of the chain of (`port`, `raw`) with that port and kind,
    /// newest first, while it returns true.
    fn chain(&self, port: u16, raw: bool, mut f: impl FnMut(u32, &Entry<T>) -> bool) {
        let n = self.buckets.len();
        if n == 0 {
            return;
        }
        let mut i = self
            .buckets
            .get(self.bucket_of(port, raw, n))
            .copied()
            .unwrap_or(NIL);
        // A chain holds at most every entry: the bound stops a corrupted one.
        let mut left = self.entries.len();
        while i != NIL && left > 0 {
            let Some(e) = self.slot(i) else { return };
            if e.binding.local_port == port && e.raw == raw && e.value.is_some() && !f(i, e) {
                return;
            }
            i = e.next;
            left -= 1;
        }
    }

    /// Adds a socket bound as `binding`. A UDP binding (not `raw`) with `check` set is first
    /// checked against the others (EADDRINUSE); raw sockets never conflict. The value comes
    /// back with the error.
    pub fn insert(
        &mut self,
        binding: Binding,
        raw: bool,
        check: bool,
        value: T,
    ) -> Result<SockId, (TableError, T)> {
        if !raw && check && self.in_use(&binding) {
            return Err((TableError::InUse, value));
        }
        if self.len >= self.limit {
            return Err((TableError::Full, value));
        }
        if self.buckets.is_empty() {
            return Err((TableError::NoMemory, value));
        }
        // A slot first, without the value, so that a failure still holds it.
        let slot = if self.free != NIL {
            let i = self.free;
            self.free = self.slot(i).map_or(NIL, |e| e.next);
            i
        } else {
            let Ok(i) = u32::try_from(self.entries.len()) else {
                return Err((TableError::Full, value));
            };
            if i == NIL {
                return Err((TableError::Full, value));
            }
            let empty = Entry {
                binding: Binding::default(),
                raw: false,
                seq: 0,
                value: None,
                next: NIL,
            };
            if self.entries.push_within_capacity(empty).is_err() {
                return Err((TableError::NoMemory, value));
            }
            i
        };
        let seq = self.next_seq;
        let Some(e) = self.entries.get_mut(slot as usize) else {
            return Err((TableError::NoMemory, value));
        };
        *e = Entry {
            binding,
            raw,
            seq,
            value: Some(value),
            next: NIL,
        };
        self.next_seq += 1;
        self.len += 1;
        self.link(slot);
        Ok(SockId { slot, seq })
    }

    /// Puts `slot` at the head of its chain.
    fn link(&mut self, slot: u32) {
        let n = self.buckets.len();
        let Some((port, raw)) = self.slot(slot).map(|e| (e.binding.local_port, e.raw)) else {
            return;
        };
        let b = self.bucket_of(port, raw, n);
        let Some(head) = self.buckets.get_mut(b) else {
            return;
        };
        let old = *head;
        *head = slot;
        if let Some(e) = self.entries.get_mut(slot as usize) {
            e.next = old;
        }
    }

    /// Takes `slot` out of its chain.
    fn unlink(&mut self, slot: u32) {
        let n = self.buckets.len();
        let Some((port, raw, next)) = self
            .slot(slot)
            .map(|e| (e.binding.local_port, e.raw, e.next))
        else {
            return;
        };
        let b = self.bucket_of(port, raw, n);
        let Some(&head) = self.buckets.get(b) else {
            return;
        };
        if head == slot {
            if let Some(h) = self.buckets.get_mut(b) {
                *h = next;
            }
            return;
        }
        let mut i = head;
        let mut left = self.entries.len();
        while i != NIL && left > 0 {
            let Some(e) = self.entries.get_mut(i as usize) else {
                return;
            };
            if e.next == slot {
                e.next = next;
                return;
            }
            i = e.next;
            left -= 1;
        }
    }

    /// What storage the table needs before it can take another entry, or should have for
    /// its chains to stay short: a larger slab when no slot is free (double, at least 16),
    /// twice the buckets when entries outnumber them (16 to start with). Allocate it and
    /// hand it to [`SockTable::adopt`].
    pub fn wants(&self) -> Want {
        let mut w = Want::default();
        if self.free == NIL && self.entries.len() >= self.entries.capacity() {
            w.entries = self.entries.capacity().saturating_mul(2).max(FIRST_BUCKETS);
        }
        let n = self.buckets.len();
        if n == 0 {
            w.index = FIRST_BUCKETS;
        } else if self.len >= n && n < MAX_BUCKETS {
            w.index = n.saturating_mul(2);
        }
        w
    }

    /// Moves the table into the storage given (either may be `None`): `entries` must be
    /// empty and hold at least as many entries as the table has slots; `buckets` must be
    /// empty with room for more buckets than the table has (it uses the largest power of
    /// two that fits, up to 2^24). Returns what the caller must free, after its lock: the
    /// storage replaced, or what was given and did not fit.
    pub fn adopt(&mut self, entries: Option<E>, buckets: Option<B>) -> (Option<E>, Option<B>) {
        // Any empty storage that holds the slots, even smaller than the slab: not grow_slab.
        let old_entries = entries.map(|new| move_slab(&mut self.entries, new));
        let old_buckets = buckets.map(|new| {
            let have = self.buckets.len();
            match fresh_index(new, have, MAX_BUCKETS, NIL) {
                Ok(new) => {
                    let old = core::mem::replace(&mut self.buckets, new);
                    self.rehash_from(&old);
                    old
                }
                Err(new) => new,
            }
        });
        (old_entries, old_buckets)
    }

    /// Re-links every entry from the `old` buckets into the current ones, keeping each chain
    /// newest first.
    ///
    /// The bucket is the top bits of the hash, so with twice (or 2^k times) as many buckets
    /// each old chain splits into new ones that no other old chain feeds: walking each old
    /// chain in order and appending every entry at the tail of its new chain keeps the order.
    fn rehash_from(&mut self, old: &[u32]) {
        let n = self.buckets.len();
        for &head in old.iter() {
            let mut i = head;
            let mut left = self.entries.len();
            while i != NIL && left > 0 {
                left -= 1;
                let Some((port, raw, next)) =
                    self.slot(i).map(|e| (e.binding.local_port, e.raw, e.next))
                else {
                    break;
                };
                if let Some(e) = self.entries.get_mut(i as usize) {
                    e.next = NIL;
                }
                let b = self.bucket_of(port, raw, n);
                self.append(b, i);
                i = next;
            }
        }
    }

    /// Puts `slot` at the tail of bucket `b`'s chain.
    fn append(&mut self, b: usize, slot: u32) {
        let Some(&head) = self.buckets.get(b) else {
            return;
        };
        if head == NIL {
            if let Some(h) = self.buckets.get_mut(b) {
                *h = slot;
            }
            return;
        }
        let mut t = head;
        let mut left = self.entries.len();
        while left > 0 {
            left -= 1;
            let next = self.slot(t).map_or(NIL, |e| e.next);
            if next == NIL {
                break;
            }
            t = next;
        }
        if let Some(e) = self.entries.get_mut(t as usize) {
            e.next = slot;
        }
    }

    /// Removes the entry of `id` and returns its value.
    pub fn remove(&mut self, id: SockId) -> Option<T> {
        self.get(id)?;
        self.unlink(id.slot);
        let e = self.entries.get_mut(id.slot as usize)?;
        let v = e.value.take();
        e.next = self.free;
        self.free = id.slot;
        self.len -= 1;
        v
    }

    /// Changes the binding of `id` (connect, disconnect, a bound device): the entry keeps its
    /// place in the order. With `check`, a UDP binding is first checked against the others
    /// ([`TableError::InUse`]). False if `id` is not in the table.
    pub fn rebind(
        &mut self,
        id: SockId,
        binding: Binding,
        check: bool,
    ) -> Result<bool, TableError> {
        let Some(e) = self.get(id) else {
            return Ok(false);
        };
        if check && !e.raw {
            let mut clash = false;
            let me = id.slot;
            self.chain(binding.local_port, false, |i, other| {
                if i != me && demux::conflicts(&other.binding, &binding) {
                    clash = true;
                }
                !clash
            });
            if clash {
                return Err(TableError::InUse);
            }
        }
        self.unlink(id.slot);
        if let Some(e) = self.entries.get_mut(id.slot as usize) {
            e.binding = binding;
        }
        // Back into its (maybe new) chain in sequence order: after every newer entry.
        self.link_in_order(id.slot);
        Ok(true)
    }

    /// Links `slot` into its chain after every entry newer than it.
    fn link_in_order(&mut self, slot: u32) {
        let n = self.buckets.len();
        let Some((port, raw, seq)) = self
            .slot(slot)
            .map(|e| (e.binding.local_port, e.raw, e.seq))
        else {
            return;
        };
        let b = self.bucket_of(port, raw, n);
        let Some(&head) = self.buckets.get(b) else {
            return;
        };
        let newer = |t: &Self, i: u32| t.slot(i).is_some_and(|e| e.seq > seq);
        if head == NIL || !newer(self, head) {
            self.link(slot);
            return;
        }
        let mut prev = head;
        let mut left = self.entries.len();
        while left > 0 {
            left -= 1;
            let next = self.slot(prev).map_or(NIL, |e| e.next);
            if next == NIL || !newer(self, next) {
                if let Some(e) = self.entries.get_mut(slot as usize) {
                    e.next = next;
                }
                if let Some(p) = self.entries.get_mut(prev as usize) {
                    p.next = slot;
                }
                return;
            }
            prev = next;
        }
    }

    /// The UDP socket that datagram `p` is for: the best [`demux::score`], the oldest of
    /// equals.
    pub fn lookup(&self, p: &Incoming) -> Option<(SockId, &T)> {
        self.lookup_with(p, |e| e.binding)
    }

    /// As [`SockTable::lookup`], with each entry's binding as `binding_of` gives it (the
    /// kernel side puts in the socket's current `SO_BINDTODEVICE`, which can change without
    /// the table being told). The port must stay the entry's.
    pub fn lookup_with(
        &self,
        p: &Incoming,
        binding_of: impl Fn(&Entry<T>) -> Binding,
    ) -> Option<(SockId, &T)> {
        let mut best: Option<(u8, u32)> = None;
        // The chain is newest first: an equal score found later is older and wins.
        self.chain(p.dst_port, false, |i, e| {
            if let Some(s) = demux::score(&binding_of(e), p) {
                if best.is_none_or(|(top, _)| s >= top) {
                    best = Some((s, i));
                }
            }
            true
        });
        let (_, i) = best?;
        let e = self.slot(i)?;
        Some((
            SockId {
                slot: i,
                seq: e.seq,
            },
            e.value.as_ref()?,
        ))
    }

    /// Calls `f` on the entries of port (or raw protocol) `port` whose sequence number is
    /// below `before` (all of them for `None`), newest first, until it returns false.
    /// Returns the sequence number of the last entry `f` was called on: pass it as `before`
    /// to go on after dropping the lock.
    pub fn walk_port(
        &self,
        port: u16,
        raw: bool,
        before: Option<u64>,
        mut f: impl FnMut(SockId, &Entry<T>) -> bool,
    ) -> Option<u64> {
        let mut last = None;
        self.chain(port, raw, |i, e| {
            if before.is_some_and(|b| e.seq >= b) {
                return true;
            }
            last = Some(e.seq);
            f(
                SockId {
                    slot: i,
                    seq: e.seq,
                },
                e,
            )
        });
        last
    }

    /// The live entries from slot `from` on, in slot order, with the slot to resume at.
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = (usize, SockId, &Entry<T>)> {
        self.entries
            .iter()
            .enumerate()
            .skip(from)
            .filter(|(_, e)| e.value.is_some())
            .map(|(i, e)| {
                (
                    i + 1,
                    SockId {
                        slot: i as u32,
                        seq: e.seq,
                    },
                    e,
                )
            })
    }

    /// Removes every entry, handing each value to `f`.
    pub fn drain(&mut self, mut f: impl FnMut(T)) {
        while let Some(mut e) = self.entries.pop() {
            if let Some(v) = e.value.take() {
                f(v);
            }
        }
        for b in self.buckets.iter_mut() {
            *b = NIL;
        }
        self.free = NIL;
        self.len = 0;
    }
}

impl<T, E: Storage<Entry<T>>, B: Storage<u32>> Grow<E, B> for SockTable<T, E, B> {
    fn wants(&self) -> Want {
        SockTable::wants(self)
    }

    fn adopt(&mut self, entries: Option<E>, index: Option<B>) -> (Option<E>, Option<B>) {
        SockTable::adopt(self, entries, index)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::storage::host::{alloc, set_failing};
    use super::super::super::testutil::Rng;
    use super::super::super::wire::Ipv4Address;
    use super::*;
    use std::vec::Vec;

    type Table = SockTable<u32, Vec<Entry<u32>>, Vec<u32>>;

    /// What the kernel side does before an insertion: allocate what the table wants (here
    /// with the host allocator, which a test may set failing) and let it move in.
    fn grow(t: &mut Table) {
        let w = t.wants();
        let (e, b) = t.adopt(alloc(w.entries), alloc(w.index));
        drop((e, b));
    }

    const ADDRS: [Ipv4Address; 3] = [
        Ipv4Address::UNSPECIFIED,
        Ipv4Address::new(198, 18, 0, 1),
        Ipv4Address::new(198, 18, 1, 1),
    ];

    /// The model: every entry in insertion order, found by scanning, as the driver did.
    #[derive(Default)]
    struct Model {
        entries: Vec<(SockId, Binding, bool, u32)>,
    }

    impl Model {
        fn lookup(&self, p: &Incoming) -> Option<u32> {
            demux::best(
                self.entries
                    .iter()
                    .filter(|e| !e.2)
                    .map(|&(_, b, _, v)| (b, v)),
                p,
            )
        }

        fn in_use(&self, b: &Binding, except: Option<SockId>) -> bool {
            self.entries
                .iter()
                .any(|e| !e.2 && Some(e.0) != except && demux::conflicts(&e.1, b))
        }

        /// Values on `port` of kind `raw`, newest first.
        fn port(&self, port: u16, raw: bool) -> Vec<u32> {
            self.entries
                .iter()
                .rev()
                .filter(|e| e.2 == raw && e.1.local_port == port)
                .map(|e| e.3)
                .collect()
        }
    }

    fn binding(rng: &mut Rng, ports: u64) -> Binding {
        let connected = rng.below(3) == 0;
        Binding {
            local: ADDRS[rng.below(3) as usize],
            local_port: 1 + rng.below(ports) as u16,
            remote: if connected {
                Ipv4Address::new(198, 18, 9, rng.below(3) as u8)
            } else {
                Ipv4Address::UNSPECIFIED
            },
            remote_port: if connected {
                1 + rng.below(3) as u16
            } else {
                0
            },
            ifindex: rng.below(3) as i32,
        }
    }

    fn incoming(rng: &mut Rng, ports: u64) -> Incoming {
        Incoming {
            src: Ipv4Address::new(198, 18, 9, rng.below(3) as u8),
            src_port: 1 + rng.below(3) as u16,
            dst: ADDRS[1 + rng.below(2) as usize],
            dst_port: 1 + rng.below(ports) as u16,
            ifindex: rng.below(3) as i32,
        }
    }

    /// Runs `steps` random operations on `t` and the model and compares them after each.
    fn against_model(
        t: &mut Table,
        seed: u64,
        steps: usize,
        ports: u64,
        mut budget: impl FnMut(&mut Rng),
    ) {
        let mut rng = Rng(seed);
        let mut m = Model::default();
        let mut next_val = 0u32;
        for step in 0..steps {
            budget(&mut rng);
            match rng.below(10) {
                0..=3 => {
                    let b = binding(&mut rng, ports);
                    let raw = rng.below(5) == 0;
                    let check = rng.below(4) != 0;
                    let v = next_val;
                    next_val += 1;
                    let clash = !raw && check && m.in_use(&b, None);
                    let full = m.entries.len() >= t.limit();
                    grow(t);
                    match t.insert(b, raw, check, v) {
                        Ok(id) => {
                            assert!(!clash && !full, "step {step}: inserted despite a clash");
                            m.entries.push((id, b, raw, v));
                        }
                        Err((e, back)) => {
                            assert_eq!(back, v);
                            match e {
                                TableError::InUse => assert!(clash, "step {step}"),
                                TableError::Full => assert!(full, "step {step}"),
                                TableError::NoMemory => {}
                            }
                        }
                    }
                }
                4 | 5 if !m.entries.is_empty() => {
                    let i = rng.below(m.entries.len() as u64) as usize;
                    let (id, _, _, v) = m.entries.remove(i);
                    assert_eq!(t.remove(id), Some(v));
                    assert_eq!(t.remove(id), None, "a second remove");
                    assert!(t.get(id).is_none());
                }
                6 if !m.entries.is_empty() => {
                    let i = rng.below(m.entries.len() as u64) as usize;
                    let (id, _, raw, _) = m.entries[i];
                    let mut b = binding(&mut rng, ports);
                    if raw {
                        b.local_port = m.entries[i].1.local_port;
                    }
                    let check = rng.below(2) == 0;
                    let clash = check && !raw && m.in_use(&b, Some(id));
                    match t.rebind(id, b, check) {
                        Ok(true) => {
                            assert!(!clash);
                            m.entries[i].1 = b;
                        }
                        Ok(false) => panic!("step {step}: rebind of a live entry said absent"),
                        Err(e) => {
                            assert_eq!(e, TableError::InUse);
                            assert!(clash);
                        }
                    }
                }
                _ => {}
            }
            assert_eq!(t.len(), m.entries.len());
            for _ in 0..4 {
                let p = incoming(&mut rng, ports);
                assert_eq!(
                    t.lookup(&p).map(|(_, &v)| v),
                    m.lookup(&p),
                    "step {step}: lookup {p:?}"
                );
                let b = binding(&mut rng, ports);
                assert_eq!(t.in_use(&b), m.in_use(&b, None), "step {step}: in_use");
            }
            // A port's entries, walked two at a time as a caller dropping its lock would.
            let port = 1 + rng.below(ports) as u16;
            let raw = rng.below(2) == 0;
            let mut seen = Vec::new();
            let mut before = None;
            loop {
                let mut n = 0;
                let last = t.walk_port(port, raw, before, |_, e| {
                    seen.push(*e.value().unwrap());
                    n += 1;
                    n < 2
                });
                if last.is_none() {
                    break;
                }
                before = last;
            }
            assert_eq!(seen, m.port(port, raw), "step {step}: walk of port {port}");
            // The listing: every entry once.
            let mut listed: Vec<u32> = t
                .iter_from(0)
                .map(|(_, _, e)| *e.value().unwrap())
                .collect();
            let mut want: Vec<u32> = m.entries.iter().map(|e| e.3).collect();
            listed.sort();
            want.sort();
            assert_eq!(listed, want, "step {step}: listing");
        }
    }

    #[test]
    fn matches_a_scan_of_every_socket() {
        for seed in 1..=20 {
            let mut t = Table::new(usize::MAX, seed as u32);
            against_model(&mut t, seed, 600, 12, |_| {});
        }
    }

    #[test]
    fn many_ports_grow_the_buckets() {
        let mut t = Table::new(usize::MAX, 7);
        against_model(&mut t, 99, 3000, 4000, |_| {});
        assert!(t.buckets() >= t.len().min(1024), "{} buckets", t.buckets());
    }

    #[test]
    fn the_limit_is_enforced() {
        let mut t = Table::new(40, 3);
        against_model(&mut t, 5, 1500, 30, |_| {});
        assert!(t.len() <= 40);
    }

    #[test]
    fn any_empty_storage_that_holds_the_slots_is_taken() {
        // Unlike the ARP cache and the reassembler, the table moves into storage of the same
        // capacity or smaller, so long as it holds every slot (free ones included).
        let mut t = Table::new(100, 0x5eed);
        grow(&mut t);
        for i in 0..3u16 {
            let b = Binding {
                local_port: 100 + i,
                ..Binding::default()
            };
            t.insert(b, false, true, u32::from(i)).unwrap();
        }
        assert_eq!(t.entries.capacity(), 16);
        for cap in [16, 3] {
            let (e, b) = t.adopt(alloc(cap), None);
            assert_eq!(
                (e.map(|v| (v.len(), v.capacity() >= 3)), b),
                (Some((0, true)), None)
            );
            assert_eq!(t.entries.capacity(), cap);
        }
        let (e, _) = t.adopt(alloc(2), None);
        assert_eq!(e.map(|v| v.capacity()), Some(2));
        assert_eq!(t.entries.capacity(), 3);
        for i in 0..3u16 {
            let p = Incoming {
                dst: ADDRS[1],
                dst_port: 100 + i,
                ..Incoming::default()
            };
            assert_eq!(t.lookup(&p).map(|(_, &v)| v), Some(u32::from(i)));
        }
    }

    #[test]
    fn storage_that_does_not_fit_comes_back() {
        let mut t = Table::new(usize::MAX, 3);
        grow(&mut t);
        for i in 0..16 {
            let b = Binding {
                local_port: 100 + i,
                ..Binding::default()
            };
            t.insert(b, false, true, u32::from(i)).unwrap();
        }
        let full = Binding {
            local_port: 99,
            ..Binding::default()
        };
        assert_eq!(
            t.insert(full, false, true, 99),
            Err((TableError::NoMemory, 99))
        );
        assert_eq!(
            t.wants(),
            Want {
                entries: 32,
                index: 32
            }
        );
        // Too small, or not empty: given back, and the table is as it was.
        let (e, b) = t.adopt(alloc(8), alloc(16));
        assert_eq!(
            (e.map(|v| v.capacity()), b.map(|v| v.capacity())),
            (Some(8), Some(16))
        );
        let mut used: Vec<Entry<u32>> = alloc(64).unwrap();
        used.push(Entry {
            binding: full,
            raw: false,
            seq: 0,
            value: Some(7),
            next: NIL,
        });
        let (e, _) = t.adopt(Some(used), None);
        assert_eq!(e.map(|v| v.len()), Some(1));
        assert_eq!(
            t.wants(),
            Want {
                entries: 32,
                index: 32
            }
        );
        // The right size: taken, and the old storage comes back to be freed.
        let (e, b) = t.adopt(alloc(32), alloc(32));
        assert_eq!(
            (e.map(|v| v.capacity()), b.map(|v| v.len())),
            (Some(16), Some(16))
        );
        assert_eq!(t.buckets(), 32);
        t.insert(full, false, true, 99).unwrap();
        for i in 0..16u16 {
            let p = Incoming {
                dst: ADDRS[1],
                dst_port: 100 + i,
                ..Incoming::default()
            };
            assert_eq!(t.lookup(&p).map(|(_, &v)| v), Some(u32::from(i)));
        }
    }

    #[test]
    fn allocation_failure_changes_nothing() {
        for seed in 1..=10 {
            let mut t = Table::new(usize::MAX, seed as u32);
            // One allocation in three fails.
            against_model(&mut t, seed, 800, 200, |rng| set_failing(rng.below(3) == 0));
            set_failing(false);
        }
    }

    #[test]
    fn a_hundred_thousand_sockets_each_found() {
        let mut t = Table::new(usize::MAX, 0x1234_5678);
        let mut ids = Vec::new();
        for i in 0..100_000u32 {
            let b = Binding {
                local: ADDRS[1 + (i % 2) as usize],
                local_port: 1 + (i / 2) as u16,
                ..Binding::default()
            };
            grow(&mut t);
            ids.push(t.insert(b, false, true, i).unwrap());
        }
        assert!(t.buckets() >= 65536);
        for i in 0..100_000u32 {
            let p = Incoming {
                src: Ipv4Address::new(198, 18, 9, 9),
                src_port: 9,
                dst: ADDRS[1 + (i % 2) as usize],
                dst_port: 1 + (i / 2) as u16,
                ifindex: 1,
            };
            let (id, &v) = t.lookup(&p).unwrap();
            assert_eq!((id, v), (ids[i as usize], i));
        }
        // Chains stay short: no bucket holds more than a handful.
        let mut longest = 0;
        for port in 1..=50_000u16 {
            let mut n = 0;
            t.walk_port(port, false, None, |_, _| {
                n += 1;
                true
            });
            longest = longest.max(n);
        }
        assert_eq!(longest, 2);
        let mut n = 0;
        t.drain(|_| n += 1);
        assert_eq!((n, t.len()), (100_000, 0));
        assert!(t.lookup(&Incoming::default()).is_none());
    }

    #[test]
    fn stale_handles_find_nothing() {
        let mut t = Table::new(usize::MAX, 1);
        let b = Binding {
            local_port: 53,
            ..Binding::default()
        };
        assert_eq!(t.insert(b, false, true, 1), Err((TableError::NoMemory, 1)));
        grow(&mut t);
        let a = t.insert(b, false, true, 1).unwrap();
        assert_eq!(t.insert(b, false, true, 2), Err((TableError::InUse, 2)));
        assert_eq!(t.remove(a), Some(1));
        // The slot is reused; the old handle does not see the new tenant.
        grow(&mut t);
        let c = t.insert(b, false, true, 3).unwrap();
        assert!(t.get(a).is_none());
        assert_eq!(t.remove(a), None);
        assert_eq!(t.rebind(a, b, true), Ok(false));
        assert_eq!(t.get(c).and_then(|e| e.value()), Some(&3));
    }
}
