//! IPv4 fragment reassembly (RFC 791, with RFC 815's idea of tracking holes).
//!
//! When a datagram is larger than a link's MTU, IPv4 cuts it into fragments: each carries
//! the same (source, destination, protocol, identification) key, the byte offset of its data
//! in 8-byte units, and a "more fragments" flag that is clear only on the last one. The
//! receiver collects the pieces, in whatever order they come, until there are no holes left
//! between offset 0 and the end given by the last fragment, then hands the whole payload up.
//! A datagram whose pieces do not all arrive within the reassembly timeout (Linux's
//! `ipfrag_time`, 30 s) is dropped.
//!
//! [`Reassembler`] holds up to `SLOTS` datagrams at once, each with a `BUF`-byte buffer and a
//! bitmap of which 8-byte units have arrived (8192 bits cover the largest IPv4 payload);
//! RFC 815's hole list becomes "the clear bits below the end". Nothing is allocated: the
//! whole struct is one block that the kernel side allocates once (all-zero bytes are a valid,
//! empty reassembler with default settings, so it can be zero-allocated in place).
//!
//! The policies, each failure returned as a distinct [`ReasmError`] so that it can be
//! counted:
//!
//! - A fragment that is invalid on its own (offset not a multiple of 8, a non-last fragment
//!   whose length is not a multiple of 8, no data, or data past `min(BUF, 65535)` bytes) is
//!   refused; a datagram already in progress for its key is left as it was.
//! - Exact duplicates, and overlaps whose bytes are identical to what arrived before, are
//!   accepted and change nothing (they are counted as duplicates when they bring nothing
//!   new). An overlap with *different* bytes drops the whole datagram, in the spirit of RFC
//!   5722 (overlapping fragments are how filters get evaded).
//! - A second last fragment with a different end, a last fragment ending before data already
//!   received, or a fragment past the end a last fragment set, drop the whole datagram.
//! - Memory: a global limit on bytes held across all slots (counted in 8-byte units). A
//!   fragment that would exceed it is refused; if it belonged to a datagram in progress,
//!   that datagram is dropped too, to give its memory back (nothing is evicted to make
//!   room: datagrams already in progress keep their chance to complete, as in Linux).
//! - When every slot is busy, a new datagram is refused ([`ReasmError::NoSlot`]).
//! - Timeout: a datagram expires once `timeout` milliseconds have passed since its first
//!   fragment (the timer is not restarted by later fragments), in [`Reassembler::expire`]
//!   or when a fragment for it arrives after that time (it then starts a new datagram).
//!
//! When the last hole is filled, [`Reassembler::add`] returns a [`Done`]; the payload stays
//! in its slot until [`Reassembler::take`] (which frees the slot and lends the bytes) or
//! [`Reassembler::release`]. A completed datagram that is never taken expires like any
//! other, so no slot is ever lost.

use super::super::wire::Ipv4Address;
use core::fmt;

/// Default reassembly timeout: 30 s, Linux's `ipfrag_time`.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// Default limit on bytes held across all slots: 4 MiB, Linux's `ipfrag_high_thresh`.
pub const DEFAULT_MEM_LIMIT: usize = 4 << 20;
/// Largest payload of an IPv4 datagram that this module accepts (the 16-bit total length).
pub const MAX_PAYLOAD: usize = 65535;

/// Unit of fragment offsets.
const UNIT: usize = 8;
/// Longest IPv4 header (IHL 15).
const MAX_HEADER: usize = 60;
/// Words of the arrival bitmap: one bit per 8-byte unit of a 64 KiB payload.
const WORDS: usize = 65536 / UNIT / 64;

const FREE: u8 = 0;
const BUSY: u8 = 1;
const DONE: u8 = 2;

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

/// A datagram is complete: its payload (`len` bytes) waits in `slot` for
/// [`Reassembler::take`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Done {
    /// The slot holding the payload.
    pub slot: usize,
    /// Length of the reassembled payload.
    pub len: usize,
}

/// The first fragment of a datagram that timed out, for the ICMP "fragment reassembly time
/// exceeded" that quotes it (RFC 792; Linux's `ip_expire` sends it only when the first
/// fragment had arrived).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirstFragment<'a> {
    /// Its IPv4 header as received (options included), or empty if the caller gave none
    /// ([`Reassembler::add`] rather than [`Reassembler::add_with_header`]).
    pub header: &'a [u8],
    /// Its payload.
    pub payload: &'a [u8],
}

/// Why a fragment was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReasmError {
    /// The offset is not a multiple of 8. Only this fragment is refused.
    BadOffset,
    /// A fragment with "more fragments" set whose length is not a multiple of 8. Only this
    /// fragment is refused.
    BadLength,
    /// A fragment without data. Only this fragment is refused.
    Empty,
    /// The fragment ends past `min(BUF, 65535)` bytes. Only this fragment is refused.
    TooBig,
    /// A last fragment disagrees with the end already known (another last fragment, or data
    /// beyond it). The datagram is dropped.
    LastMismatch,
    /// A fragment lies past the end set by the last fragment. The datagram is dropped.
    PastEnd,
    /// The fragment overlaps data already received with different bytes. The datagram is
    /// dropped.
    Overlap,
    /// Holding the fragment would exceed the memory limit. The fragment is refused and its
    /// datagram, if one was in progress, is dropped.
    MemoryLimit,
    /// Every slot is busy with another datagram: a new datagram is refused.
    NoSlot,
}

impl ReasmError {
    /// True if the error dropped a datagram that was in progress for the fragment's key
    /// (for the others, anything held for the key is kept). For [`ReasmError::MemoryLimit`]
    /// this is true but there may have been nothing to drop.
    pub fn drops_datagram(&self) -> bool {
        matches!(
            self,
            ReasmError::LastMismatch
                | ReasmError::PastEnd
                | ReasmError::Overlap
                | ReasmError::MemoryLimit
        )
    }
}

impl fmt::Display for ReasmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReasmError::BadOffset => "fragment offset not a multiple of 8",
            ReasmError::BadLength => "non-last fragment length not a multiple of 8",
            ReasmError::Empty => "empty fragment",
            ReasmError::TooBig => "datagram too big",
            ReasmError::LastMismatch => "conflicting last fragment",
            ReasmError::PastEnd => "fragment past the end",
            ReasmError::Overlap => "conflicting overlap",
            ReasmError::MemoryLimit => "reassembly memory limit",
            ReasmError::NoSlot => "no free reassembly slot",
        })
    }
}

/// Counters of a [`Reassembler`] (the errors are counted by the caller from the results).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReasmStats {
    /// Fragments accepted (duplicates included).
    pub fragments: u64,
    /// Accepted fragments that brought no new byte.
    pub duplicates: u64,
    /// Datagrams completed.
    pub completed: u64,
    /// Datagrams dropped by the timeout (complete ones never taken included).
    pub expired: u64,
    /// Datagrams in progress dropped because of an error.
    pub dropped: u64,
}

/// One datagram being reassembled.
struct Slot<const BUF: usize> {
    /// `FREE`, `BUSY` (collecting fragments) or `DONE` (complete, waiting to be taken).
    state: u8,
    /// True once the last fragment has arrived, which sets `total`.
    has_last: bool,
    key: FragKey,
    /// Time of the first fragment.
    created_ms: u64,
    /// Payload length, known from the last fragment.
    total: u32,
    /// Highest end of any fragment so far.
    max_end: u32,
    /// Number of 8-byte units received (set bits in `map`).
    units: u32,
    map: [u64; WORDS],
    /// The first fragment's IP header (`head_len` bytes, 0 until it arrives with one) and
    /// payload length.
    head: [u8; MAX_HEADER],
    head_len: u8,
    first_len: u16,
    buf: [u8; BUF],
}

impl<const BUF: usize> Slot<BUF> {
    const EMPTY: Self = Slot {
        state: FREE,
        has_last: false,
        key: FragKey {
            src: Ipv4Address::UNSPECIFIED,
            dst: Ipv4Address::UNSPECIFIED,
            protocol: 0,
            ident: 0,
        },
        created_ms: 0,
        total: 0,
        max_end: 0,
        units: 0,
        map: [0; WORDS],
        head: [0; MAX_HEADER],
        head_len: 0,
        first_len: 0,
        buf: [0; BUF],
    };

    fn has(&self, unit: usize) -> bool {
        self.map
            .get(unit / 64)
            .is_some_and(|w| w & (1u64 << (unit % 64)) != 0)
    }

    fn mark(&mut self, unit: usize) {
        if let Some(w) = self.map.get_mut(unit / 64) {
            *w |= 1u64 << (unit % 64);
        }
    }

    /// Bytes charged to this slot against the memory limit.
    fn bytes(&self) -> usize {
        (self.units as usize).saturating_mul(UNIT)
    }

    fn expired(&self, now_ms: u64, timeout_ms: u64) -> bool {
        now_ms.saturating_sub(self.created_ms) >= timeout_ms
    }

    /// Merges a fragment already checked on its own; on error the caller drops the slot.
    /// Returns the number of new units, after checking them against `room` (bytes).
    fn merge(
        &mut self,
        offset: usize,
        end: usize,
        more: bool,
        payload: &[u8],
        room: usize,
    ) -> Result<usize, ReasmError> {
        if !more {
            if (self.has_last && self.total as usize != end) || self.max_end as usize > end {
                return Err(ReasmError::LastMismatch);
            }
        } else if self.has_last && end > self.total as usize {
            return Err(ReasmError::PastEnd);
        }
        // Units already present must hold the same bytes; count the others.
        let mut new_units = 0usize;
        for unit in offset / UNIT..end.div_ceil(UNIT) {
            if !self.has(unit) {
                new_units = new_units.saturating_add(1);
                continue;
            }
            let a = unit.saturating_mul(UNIT);
            let b = a.saturating_add(UNIT).min(end);
            let old = self.buf.get(a..b);
            let new = payload.get(a.saturating_sub(offset)..b.saturating_sub(offset));
            if old.is_none() || old != new {
                return Err(ReasmError::Overlap);
            }
        }
        if new_units.saturating_mul(UNIT) > room {
            return Err(ReasmError::MemoryLimit);
        }
        // `end` is `offset + payload.len()` (the caller's), but slicing by the payload's own
        // length lets the compiler drop copy_from_slice's length-mismatch panic.
        let dst = offset
            .checked_add(payload.len())
            .and_then(|e| self.buf.get_mut(offset..e))
            .ok_or(ReasmError::TooBig)?;
        dst.copy_from_slice(payload);
        for unit in offset / UNIT..end.div_ceil(UNIT) {
            self.mark(unit);
        }
        self.units = self.units.saturating_add(new_units as u32);
        self.max_end = self.max_end.max(end as u32);
        if !more {
            self.has_last = true;
            self.total = end as u32;
        }
        Ok(new_units)
    }

    fn complete(&self) -> bool {
        self.has_last && self.units as usize == (self.total as usize).div_ceil(UNIT)
    }
}

/// Reassembles up to `SLOTS` datagrams of up to `min(BUF, 65535)` payload bytes each.
///
/// The struct is large (`SLOTS * (BUF + 1 KiB)`): the kernel side allocates it on the heap.
/// All-zero bytes are a valid empty reassembler with the default timeout and memory limit.
/// Slots are searched linearly, which suits a few dozen of them.
pub struct Reassembler<const SLOTS: usize, const BUF: usize> {
    slots: [Slot<BUF>; SLOTS],
    /// Bytes charged across all slots.
    in_use: usize,
    /// Timeout in milliseconds; 0 means [`DEFAULT_TIMEOUT_MS`].
    timeout_ms: u64,
    /// Memory limit in bytes; 0 means [`DEFAULT_MEM_LIMIT`].
    mem_limit: usize,
    stats: ReasmStats,
}

impl<const SLOTS: usize, const BUF: usize> Default for Reassembler<SLOTS, BUF> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SLOTS: usize, const BUF: usize> Reassembler<SLOTS, BUF> {
    /// An empty reassembler with the default timeout and memory limit.
    pub const fn new() -> Self {
        Reassembler {
            slots: [Slot::EMPTY; SLOTS],
            in_use: 0,
            timeout_ms: 0,
            mem_limit: 0,
            stats: ReasmStats {
                fragments: 0,
                duplicates: 0,
                completed: 0,
                expired: 0,
                dropped: 0,
            },
        }
    }

    /// Largest payload a datagram may have here: `min(BUF, 65535)`.
    pub const fn max_payload() -> usize {
        if BUF < MAX_PAYLOAD {
            BUF
        } else {
            MAX_PAYLOAD
        }
    }

    /// The reassembly timeout in milliseconds.
    pub fn timeout_ms(&self) -> u64 {
        if self.timeout_ms == 0 {
            DEFAULT_TIMEOUT_MS
        } else {
            self.timeout_ms
        }
    }

    /// Sets the reassembly timeout (0 restores [`DEFAULT_TIMEOUT_MS`]). It applies to
    /// datagrams already in progress too.
    pub fn set_timeout_ms(&mut self, ms: u64) {
        self.timeout_ms = ms;
    }

    /// The limit on bytes held across all slots.
    pub fn mem_limit(&self) -> usize {
        if self.mem_limit == 0 {
            DEFAULT_MEM_LIMIT
        } else {
            self.mem_limit
        }
    }

    /// Sets the memory limit in bytes (0 restores [`DEFAULT_MEM_LIMIT`]). Lowering it below
    /// what is held drops nothing: new data is refused until usage falls below it.
    pub fn set_mem_limit(&mut self, bytes: usize) {
        self.mem_limit = bytes;
    }

    /// Bytes held across all slots (in 8-byte units, complete datagrams included).
    pub fn in_use(&self) -> usize {
        self.in_use
    }

    /// Number of slots in use (collecting or complete).
    pub fn active(&self) -> usize {
        self.slots.iter().filter(|s| s.state != FREE).count()
    }

    /// The counters.
    pub fn stats(&self) -> ReasmStats {
        self.stats
    }

    /// Frees a slot and gives its bytes back.
    fn free(&mut self, slot: usize) {
        if let Some(s) = self.slots.get_mut(slot) {
            self.in_use = self.in_use.saturating_sub(s.bytes());
            s.state = FREE;
            s.units = 0;
        }
    }

    /// Adds a fragment of the datagram `key`: `payload` goes at byte `offset` (the header's
    /// fragment offset times 8), and `more` is the "more fragments" flag. Returns
    /// `Ok(Some(done))` when this fragment completes the datagram, `Ok(None)` when more are
    /// needed (or it was a duplicate), and the reason otherwise (see the module
    /// documentation for what each error drops). An unfragmented datagram (offset 0, `more`
    /// clear) completes at once.
    pub fn add(
        &mut self,
        key: FragKey,
        offset: usize,
        more: bool,
        payload: &[u8],
        now_ms: u64,
    ) -> Result<Option<Done>, ReasmError> {
        self.add_with_header(key, offset, more, &[], payload, now_ms)
    }

    /// As [`Reassembler::add`], with the fragment's IPv4 `header` (20 to 60 bytes; other
    /// lengths are not kept): the first fragment's is kept, with its payload's length, so
    /// that [`Reassembler::expire_with`] can hand it to an ICMP time exceeded.
    pub fn add_with_header(
        &mut self,
        key: FragKey,
        offset: usize,
        more: bool,
        header: &[u8],
        payload: &[u8],
        now_ms: u64,
    ) -> Result<Option<Done>, ReasmError> {
        if offset & (UNIT - 1) != 0 {
            return Err(ReasmError::BadOffset);
        }
        if payload.is_empty() {
            return Err(ReasmError::Empty);
        }
        if more && payload.len() & (UNIT - 1) != 0 {
            return Err(ReasmError::BadLength);
        }
        let end = offset
            .checked_add(payload.len())
            .filter(|&e| e <= Self::max_payload())
            .ok_or(ReasmError::TooBig)?;

        let timeout = self.timeout_ms();
        let mut found = self
            .slots
            .iter()
            .position(|s| s.state == BUSY && s.key == key);
        if let Some(i) = found {
            if self
                .slots
                .get(i)
                .is_some_and(|s| s.expired(now_ms, timeout))
            {
                // Its time is up: it goes, and this fragment starts afresh.
                self.free(i);
                self.stats.expired = self.stats.expired.wrapping_add(1);
                found = None;
            }
        }
        let (index, new) = match found {
            Some(i) => (i, false),
            None => {
                let i = self
                    .slots
                    .iter()
                    .position(|s| s.state == FREE)
                    .ok_or(ReasmError::NoSlot)?;
                let s = self.slots.get_mut(i).ok_or(ReasmError::NoSlot)?;
                s.state = BUSY;
                s.has_last = false;
                s.key = key;
                s.created_ms = now_ms;
                s.total = 0;
                s.max_end = 0;
                s.units = 0;
                s.map = [0; WORDS];
                s.head_len = 0;
                s.first_len = 0;
                (i, true)
            }
        };

        let room = self.mem_limit().saturating_sub(self.in_use);
        let merged = match self.slots.get_mut(index) {
            Some(s) => s.merge(offset, end, more, payload, room),
            None => Err(ReasmError::NoSlot),
        };
        let new_units = match merged {
            Ok(n) => n,
            Err(e) => {
                self.free(index);
                if !new {
                    self.stats.dropped = self.stats.dropped.wrapping_add(1);
                }
                return Err(e);
            }
        };
        self.in_use = self.in_use.saturating_add(new_units.saturating_mul(UNIT));
        self.stats.fragments = self.stats.fragments.wrapping_add(1);
        if new_units == 0 {
            self.stats.duplicates = self.stats.duplicates.wrapping_add(1);
        }
        let Some(s) = self.slots.get_mut(index) else {
            return Ok(None);
        };
        if offset == 0 && s.head_len == 0 && (20..=MAX_HEADER).contains(&header.len()) {
            if let Some(h) = s.head.get_mut(..header.len()) {
                h.copy_from_slice(header);
                s.head_len = header.len() as u8;
            }
        }
        if offset == 0 {
            s.first_len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
        }
        if !s.complete() {
            return Ok(None);
        }
        s.state = DONE;
        self.stats.completed = self.stats.completed.wrapping_add(1);
        Ok(Some(Done {
            slot: index,
            len: s.total as usize,
        }))
    }

    /// The payload of the complete datagram in `slot`, which is freed: the bytes are lent
    /// until the next call that changes the reassembler. `None` if the slot does not hold a
    /// complete datagram.
    pub fn take(&mut self, slot: usize) -> Option<&[u8]> {
        if self.slots.get(slot)?.state != DONE {
            return None;
        }
        self.free(slot);
        let s = self.slots.get(slot)?;
        s.buf.get(..s.total as usize)
    }

    /// The payload of the complete datagram in `slot`, leaving it there.
    pub fn payload(&self, slot: usize) -> Option<&[u8]> {
        let s = self.slots.get(slot)?;
        if s.state != DONE {
            return None;
        }
        s.buf.get(..s.total as usize)
    }

    /// The key of the datagram in `slot`, complete or not.
    pub fn key(&self, slot: usize) -> Option<FragKey> {
        self.slots
            .get(slot)
            .filter(|s| s.state != FREE)
            .map(|s| s.key)
    }

    /// Frees `slot`, whether its datagram is complete or still collecting. Returns false if
    /// it was already free.
    pub fn release(&mut self, slot: usize) -> bool {
        if self.slots.get(slot).is_some_and(|s| s.state != FREE) {
            self.free(slot);
            true
        } else {
            false
        }
    }

    /// Drops every datagram (the settings and counters stay).
    pub fn clear(&mut self) {
        for i in 0..SLOTS {
            self.free(i);
        }
        self.in_use = 0;
    }

    /// Drops every datagram whose first fragment came `timeout` or more milliseconds before
    /// `now_ms`, and returns how many.
    pub fn expire(&mut self, now_ms: u64) -> usize {
        self.expire_with(now_ms, |_, _| {})
    }

    /// As [`Reassembler::expire`], calling `f` for each incomplete datagram dropped with its
    /// key and, if its first fragment had arrived, that fragment: what an ICMP "fragment
    /// reassembly time exceeded" quotes (RFC 792). Complete datagrams never taken are
    /// dropped silently.
    pub fn expire_with(
        &mut self,
        now_ms: u64,
        mut f: impl FnMut(&FragKey, Option<FirstFragment<'_>>),
    ) -> usize {
        let timeout = self.timeout_ms();
        let mut n = 0usize;
        for i in 0..SLOTS {
            let Some(s) = self.slots.get(i) else {
                continue;
            };
            if s.state == FREE || !s.expired(now_ms, timeout) {
                continue;
            }
            if s.state == BUSY {
                let first = if s.has(0) {
                    match (
                        s.head.get(..usize::from(s.head_len)),
                        s.buf.get(..usize::from(s.first_len)),
                    ) {
                        (Some(header), Some(payload)) => Some(FirstFragment { header, payload }),
                        _ => None,
                    }
                } else {
                    None
                };
                f(&s.key, first);
            }
            self.free(i);
            n = n.saturating_add(1);
            self.stats.expired = self.stats.expired.wrapping_add(1);
        }
        n
    }

    /// When the next datagram will expire (the earliest `first fragment + timeout`), for
    /// arming a timer; `None` if no slot is in use.
    pub fn next_expiry(&self) -> Option<u64> {
        let timeout = self.timeout_ms();
        self.slots
            .iter()
            .filter(|s| s.state != FREE)
            .map(|s| s.created_ms.saturating_add(timeout))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Rng;
    use super::*;
    use std::boxed::Box;
    use std::string::ToString;
    use std::vec::Vec;

    type Big = Reassembler<4, 65535>;
    type Small = Reassembler<8, 2048>;

    fn key(ident: u16) -> FragKey {
        FragKey {
            src: Ipv4Address::new(10, 0, 0, 1),
            dst: Ipv4Address::new(10, 0, 0, 2),
            protocol: 17,
            ident,
        }
    }

    fn data(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// Cuts `d` into fragments of `size` bytes (a multiple of 8): (offset, more, bytes).
    fn cut(d: &[u8], size: usize) -> Vec<(usize, bool, &[u8])> {
        let n = d.len().div_ceil(size);
        d.chunks(size)
            .enumerate()
            .map(|(i, c)| (i * size, i + 1 < n, c))
            .collect()
    }

    /// Feeds fragments, expecting completion exactly at the last one; returns the payload.
    fn feed<const S: usize, const B: usize>(
        r: &mut Reassembler<S, B>,
        k: FragKey,
        frags: &[(usize, bool, &[u8])],
    ) -> Vec<u8> {
        let mut done = None;
        for (i, &(off, more, bytes)) in frags.iter().enumerate() {
            let res = r.add(k, off, more, bytes, 0).unwrap();
            if i + 1 < frags.len() {
                assert_eq!(res, None, "completed early at fragment {i}");
            } else {
                done = res;
            }
        }
        let done = done.expect("not complete");
        r.take(done.slot).unwrap().to_vec()
    }

    fn check_accounting<const S: usize, const B: usize>(r: &Reassembler<S, B>) {
        let sum: usize = r
            .slots
            .iter()
            .filter(|s| s.state != FREE)
            .map(|s| s.bytes())
            .sum();
        assert_eq!(r.in_use(), sum);
        for s in r.slots.iter().filter(|s| s.state != FREE) {
            let bits: u32 = s.map.iter().map(|w| w.count_ones()).sum();
            assert_eq!(bits, s.units);
        }
    }

    #[test]
    fn in_order() {
        let mut r = Box::new(Big::new());
        let d = data(60000, 1);
        assert_eq!(feed(&mut r, key(1), &cut(&d, 1480)), d);
        assert_eq!((r.active(), r.in_use()), (0, 0));
        let s = r.stats();
        assert_eq!((s.fragments, s.completed, s.duplicates), (41, 1, 0));
    }

    #[test]
    fn reverse_order() {
        let mut r = Box::new(Big::new());
        let d = data(65535, 2);
        let mut frags = cut(&d, 1480);
        frags.reverse();
        assert_eq!(feed(&mut r, key(2), &frags), d);
        // The largest payload, in one piece, completes at once.
        let done = r.add(key(3), 0, false, &d, 0).unwrap().unwrap();
        assert_eq!(done.len, 65535);
        assert_eq!(r.payload(done.slot).unwrap(), &d[..]);
        assert_eq!(r.take(done.slot).unwrap(), &d[..]);
        assert_eq!(r.in_use(), 0);
    }

    #[test]
    fn random_order_and_sizes() {
        let mut rng = Rng(0xfeed);
        let mut r = Box::new(Small::new());
        for round in 0..300u16 {
            let len = 1 + rng.below(2048) as usize;
            let size = 8 * (1 + rng.below(64) as usize);
            let d = data(len, round as u8);
            let mut frags = cut(&d, size);
            rng.shuffle(&mut frags);
            assert_eq!(feed(&mut r, key(round), &frags), d, "round {round}");
            check_accounting(&r);
        }
        assert_eq!(r.in_use(), 0);
    }

    #[test]
    fn interleaved_datagrams_fill_every_slot() {
        let mut rng = Rng(99);
        let mut r = Box::new(Reassembler::<16, 4096>::new());
        let ds: Vec<Vec<u8>> = (0..16).map(|i| data(4000 + i, i as u8)).collect();
        let mut all: Vec<(u16, usize, bool, &[u8])> = Vec::new();
        for (i, d) in ds.iter().enumerate() {
            for (off, more, b) in cut(d, 512) {
                all.push((i as u16, off, more, b));
            }
        }
        rng.shuffle(&mut all);
        // Make sure every datagram has started before any can complete.
        all.sort_by_key(|&(_, off, _, _)| off != 0);
        let mut done = Vec::new();
        for (n, &(k, off, more, b)) in all.iter().enumerate() {
            if n == 16 {
                assert_eq!(r.active(), 16);
                assert_eq!(
                    r.add(key(100), 0, true, &[0; 8], 0),
                    Err(ReasmError::NoSlot)
                );
            }
            if let Some(dn) = r.add(key(k), off, more, b, 0).unwrap() {
                assert_eq!(r.key(dn.slot), Some(key(k)));
                assert_eq!(r.take(dn.slot).unwrap(), &ds[k as usize][..]);
                done.push(k);
            }
        }
        assert_eq!(done.len(), 16);
        assert_eq!(r.active(), 0);
        assert!(r.add(key(100), 0, true, &[0; 8], 0).unwrap().is_none());
    }

    #[test]
    fn duplicates_are_ignored() {
        let mut r = Box::new(Small::new());
        let d = data(100, 3);
        let k = key(4);
        assert_eq!(r.add(k, 0, true, &d[..48], 0), Ok(None));
        assert_eq!(r.add(k, 0, true, &d[..48], 0), Ok(None));
        assert_eq!(r.add(k, 48, true, &d[48..96], 0), Ok(None));
        assert_eq!(r.add(k, 48, true, &d[48..96], 0), Ok(None));
        assert_eq!(r.in_use(), 96);
        assert_eq!(r.stats().duplicates, 2);
        let done = r.add(k, 96, false, &d[96..], 0).unwrap().unwrap();
        assert_eq!(done.len, 100);
        assert_eq!(r.in_use(), 104);
        assert_eq!(r.take(done.slot).unwrap(), &d[..]);
        // A late duplicate after completion starts a new datagram, which will time out.
        assert_eq!(r.add(k, 96, false, &d[96..], 0), Ok(None));
        assert_eq!(r.active(), 1);
        assert_eq!(r.expire(DEFAULT_TIMEOUT_MS), 1);
    }

    #[test]
    fn last_fragment_first_with_odd_length() {
        let mut r = Box::new(Small::new());
        let d = data(21, 5);
        let k = key(5);
        assert_eq!(r.add(k, 16, false, &d[16..], 0), Ok(None));
        assert_eq!(r.add(k, 16, false, &d[16..], 0), Ok(None));
        assert_eq!(r.add(k, 8, true, &d[8..16], 0), Ok(None));
        let done = r.add(k, 0, true, &d[..8], 0).unwrap().unwrap();
        assert_eq!(r.take(done.slot).unwrap(), &d[..]);
    }

    #[test]
    fn identical_overlaps_accepted() {
        let mut r = Box::new(Small::new());
        let d = data(64, 6);
        let k = key(6);
        assert_eq!(r.add(k, 0, true, &d[..24], 0), Ok(None));
        assert_eq!(r.add(k, 16, true, &d[16..40], 0), Ok(None));
        assert_eq!(r.add(k, 8, true, &d[8..16], 0), Ok(None));
        assert_eq!(r.stats().duplicates, 1);
        assert_eq!(r.in_use(), 40);
        // The last fragment overlaps the one before; then a non-last one ending at the end.
        assert_eq!(r.add(k, 56, true, &d[56..64], 0), Ok(None));
        let done = r.add(k, 32, false, &d[32..], 0).unwrap().unwrap();
        assert_eq!(r.take(done.slot).unwrap(), &d[..]);

        // A last fragment inside what non-last ones already covered completes the datagram.
        let k = key(7);
        assert_eq!(r.add(k, 0, true, &d[..16], 0), Ok(None));
        let done = r.add(k, 8, false, &d[8..16], 0).unwrap().unwrap();
        assert_eq!(r.take(done.slot).unwrap(), &d[..16]);
    }

    #[test]
    fn conflicting_overlap_drops_the_datagram() {
        let mut r = Box::new(Small::new());
        let d = data(64, 7);
        let k = key(8);
        assert_eq!(r.add(k, 0, true, &d[..32], 0), Ok(None));
        let mut evil = d[24..48].to_vec();
        evil[3] ^= 0xff;
        assert_eq!(r.add(k, 24, true, &evil, 0), Err(ReasmError::Overlap));
        assert!(ReasmError::Overlap.drops_datagram());
        assert_eq!((r.active(), r.in_use(), r.stats().dropped), (0, 0, 1));
        // The rest of the original then starts a new datagram that cannot complete.
        assert_eq!(r.add(k, 32, false, &d[32..], 0), Ok(None));
        assert_eq!(r.active(), 1);

        // Conflicting bytes in a partial last unit are caught too.
        let k = key(9);
        assert_eq!(r.add(k, 0, false, &d[..13], 0).unwrap().unwrap().len, 13);
        let k = key(10);
        assert_eq!(r.add(k, 8, false, &d[8..13], 0), Ok(None));
        assert_eq!(
            r.add(k, 8, false, &[1, 2, 3, 4, 5], 0),
            Err(ReasmError::Overlap)
        );
        check_accounting(&r);
    }

    #[test]
    fn inconsistent_ends_drop_the_datagram() {
        let mut r = Box::new(Small::new());
        let d = data(64, 8);
        let k = key(11);
        assert_eq!(r.add(k, 32, false, &d[32..], 0), Ok(None));
        assert_eq!(
            r.add(k, 32, false, &d[32..60], 0),
            Err(ReasmError::LastMismatch)
        );
        assert_eq!(r.active(), 0);

        assert_eq!(r.add(k, 32, false, &d[32..], 0), Ok(None));
        assert_eq!(r.add(k, 64, true, &d[..8], 0), Err(ReasmError::PastEnd));
        assert_eq!(r.active(), 0);

        // A last fragment that ends before data already received.
        assert_eq!(r.add(k, 32, true, &d[32..], 0), Ok(None));
        assert_eq!(
            r.add(k, 0, false, &d[..40], 0),
            Err(ReasmError::LastMismatch)
        );
        assert_eq!((r.active(), r.in_use(), r.stats().dropped), (0, 0, 3));
    }

    #[test]
    fn bad_fragments_refused_datagram_kept() {
        let mut r = Box::new(Small::new());
        let d = data(40, 9);
        let k = key(12);
        assert_eq!(r.add(k, 0, true, &d[..16], 0), Ok(None));
        assert_eq!(r.add(k, 3, true, &d[..8], 0), Err(ReasmError::BadOffset));
        assert_eq!(
            r.add(k, 16, true, &d[16..26], 0),
            Err(ReasmError::BadLength)
        );
        assert_eq!(r.add(k, 16, true, &[], 0), Err(ReasmError::Empty));
        assert_eq!(r.add(k, 16, false, &[], 0), Err(ReasmError::Empty));
        assert_eq!(r.add(k, 2048, false, &d[..1], 0), Err(ReasmError::TooBig));
        assert_eq!(r.add(k, 2040, false, &d[..9], 0), Err(ReasmError::TooBig));
        assert_eq!(
            r.add(k, usize::MAX - 7, false, &d[..9], 0),
            Err(ReasmError::TooBig)
        );
        for e in [
            ReasmError::BadOffset,
            ReasmError::BadLength,
            ReasmError::Empty,
            ReasmError::TooBig,
            ReasmError::NoSlot,
        ] {
            assert!(!e.drops_datagram(), "{e}");
        }
        assert_eq!(r.stats().dropped, 0);
        let done = r.add(k, 16, false, &d[16..], 0).unwrap().unwrap();
        assert_eq!(r.take(done.slot).unwrap(), &d[..]);
        // The edge of the buffer is fine.
        assert!(r.add(k, 2040, false, &d[..8], 0).unwrap().is_none());

        // A 64 KiB buffer still stops at 65535 bytes.
        let mut big = Box::new(Reassembler::<1, 70000>::new());
        assert_eq!(Reassembler::<1, 70000>::max_payload(), 65535);
        assert_eq!(
            big.add(k, 65528, false, &d[..8], 0),
            Err(ReasmError::TooBig)
        );
        assert_eq!(big.add(k, 65528, false, &d[..7], 0), Ok(None));
    }

    #[test]
    fn the_first_fragments_header_is_kept_for_the_timeout() {
        let mut r = Box::new(Small::new());
        r.set_timeout_ms(1000);
        let d = data(32, 3);
        let h1: Vec<u8> = (0..20).collect();
        let h2: Vec<u8> = (100..124).collect();
        // The second fragment first: its header is not the one kept.
        assert_eq!(
            r.add_with_header(key(1), 16, true, &h2, &d[16..24], 0),
            Ok(None)
        );
        assert_eq!(
            r.add_with_header(key(1), 0, true, &h1, &d[..16], 10),
            Ok(None)
        );
        // A duplicate first fragment with another header changes nothing.
        assert_eq!(
            r.add_with_header(key(1), 0, true, &h2, &d[..16], 20),
            Ok(None)
        );
        // Headers of impossible lengths are not kept; the fragment still counts.
        assert_eq!(
            r.add_with_header(key(2), 0, true, &[0; 19], &d[..8], 0),
            Ok(None)
        );
        assert_eq!(
            r.add_with_header(key(3), 0, true, &[0; 61], &d[..8], 0),
            Ok(None)
        );
        // Without the first fragment there is nothing to quote.
        assert_eq!(
            r.add_with_header(key(4), 8, true, &h1, &d[8..16], 0),
            Ok(None)
        );
        let mut seen = Vec::new();
        let n = r.expire_with(1000, |k, f| {
            seen.push((k.ident, f.map(|f| (f.header.to_vec(), f.payload.to_vec()))))
        });
        assert_eq!(n, 4);
        seen.sort();
        assert_eq!(
            seen,
            [
                (1, Some((h1.clone(), d[..16].to_vec()))),
                (2, Some((Vec::new(), d[..8].to_vec()))),
                (3, Some((Vec::new(), d[..8].to_vec()))),
                (4, None),
            ]
        );
        // A slot used again forgets the header of its last datagram.
        assert_eq!(r.add(key(5), 0, true, &d[..8], 2000), Ok(None));
        let mut seen = Vec::new();
        r.expire_with(3000, |_, f| seen.push(f.map(|f| f.header.len())));
        assert_eq!(seen, [Some(0)]);
    }

    #[test]
    fn timeout_at_the_boundary() {
        let mut r = Box::new(Small::new());
        assert_eq!(r.timeout_ms(), 30_000);
        r.set_timeout_ms(1000);
        let d = data(24, 10);
        assert_eq!(r.add(key(1), 0, true, &d[..16], 5000), Ok(None));
        assert_eq!(r.add(key(2), 8, true, &d[8..16], 5500), Ok(None));
        assert_eq!(r.add(key(3), 16, false, &d[16..], 5500), Ok(None));
        // A later fragment does not restart the timer.
        assert_eq!(r.add(key(1), 16, true, &d[..8], 5900), Ok(None));
        assert_eq!(r.next_expiry(), Some(6000));
        assert_eq!(r.expire(5999), 0);
        let mut seen = Vec::new();
        assert_eq!(
            r.expire_with(6000, |k, first| seen.push((
                k.ident,
                first.map(|f| (f.header.to_vec(), f.payload.to_vec()))
            ))),
            1
        );
        assert_eq!(seen, [(1, Some((Vec::new(), d[..16].to_vec())))]);
        assert_eq!(r.next_expiry(), Some(6500));

        // A fragment arriving at the boundary finds its datagram gone and starts afresh.
        assert_eq!(r.add(key(2), 0, true, &d[..8], 6500), Ok(None));
        assert_eq!(r.add(key(2), 16, false, &d[16..], 6500), Ok(None));
        assert_eq!(r.stats().expired, 2);
        let mut seen = Vec::new();
        assert_eq!(
            r.expire_with(6500, |k, f| seen.push((k.ident, f.is_some()))),
            1
        );
        assert_eq!(seen, [(3, false)]);
        // It now completes with the pieces sent after the restart.
        let done = r.add(key(2), 8, true, &d[8..16], 7499).unwrap().unwrap();
        assert_eq!(r.payload(done.slot).unwrap(), &d[..]);

        // A complete datagram never taken expires too, so its slot is not lost.
        assert_eq!(r.expire(7499), 0);
        let mut calls = 0;
        assert_eq!(r.expire_with(7500, |_, _| calls += 1), 1);
        assert_eq!((calls, r.active(), r.in_use()), (0, 0, 0));
        assert_eq!(r.next_expiry(), None);

        // A clock that steps back expires nothing; 0 restores the default.
        assert_eq!(r.add(key(4), 0, true, &d[..8], 10_000), Ok(None));
        assert_eq!(r.expire(0), 0);
        r.set_timeout_ms(0);
        assert_eq!(r.timeout_ms(), DEFAULT_TIMEOUT_MS);
        assert_eq!(r.expire(39_999), 0);
        assert_eq!(r.expire(40_000), 1);
    }

    #[test]
    fn memory_limit() {
        let mut r = Box::new(Small::new());
        assert_eq!(r.mem_limit(), DEFAULT_MEM_LIMIT);
        r.set_mem_limit(1024);
        let d = data(2048, 11);
        assert_eq!(r.add(key(1), 0, true, &d[..800], 0), Ok(None));
        assert_eq!(r.in_use(), 800);
        // A new datagram that does not fit is refused, and nothing is kept for it.
        assert_eq!(
            r.add(key(2), 0, true, &d[..232], 0),
            Err(ReasmError::MemoryLimit)
        );
        assert_eq!((r.active(), r.stats().dropped), (1, 0));
        assert_eq!(r.add(key(2), 0, true, &d[..224], 0), Ok(None));
        assert_eq!(r.in_use(), 1024);
        // Duplicates need no room.
        assert_eq!(r.add(key(2), 0, true, &d[..224], 0), Ok(None));
        // A datagram in progress that would go past the limit is dropped, freeing room.
        assert_eq!(
            r.add(key(1), 800, true, &d[800..808], 0),
            Err(ReasmError::MemoryLimit)
        );
        assert_eq!((r.active(), r.in_use(), r.stats().dropped), (1, 224, 1));
        let done = r
            .add(key(2), 224, false, &d[224..1000], 0)
            .unwrap()
            .unwrap();
        // Complete datagrams count until taken.
        assert_eq!(r.in_use(), 1000);
        assert_eq!(
            r.add(key(3), 0, true, &d[..32], 0),
            Err(ReasmError::MemoryLimit)
        );
        assert_eq!(r.take(done.slot).unwrap(), &d[..1000]);
        assert_eq!(r.in_use(), 0);
        assert_eq!(r.add(key(3), 0, true, &d[..32], 0), Ok(None));
        check_accounting(&r);
    }

    #[test]
    fn take_release_and_slots() {
        let mut r = Box::new(Small::new());
        let d = data(16, 12);
        assert_eq!(r.take(0), None);
        assert_eq!(r.take(99), None);
        assert!(!r.release(0) && !r.release(99));
        assert_eq!(r.add(key(1), 0, true, &d[..8], 0), Ok(None));
        // Not complete: nothing to take, but it can be released.
        assert_eq!(r.take(0), None);
        assert_eq!(r.payload(0), None);
        assert_eq!(r.key(0), Some(key(1)));
        assert!(r.release(0));
        assert_eq!((r.key(0), r.in_use()), (None, 0));
        let done = r.add(key(1), 0, false, &d, 0).unwrap().unwrap();
        assert!(r.release(done.slot));
        assert_eq!(r.take(done.slot), None);
        // A taken slot is free again.
        let done = r.add(key(2), 0, false, &d, 0).unwrap().unwrap();
        assert_eq!(r.take(done.slot).unwrap(), &d[..]);
        assert_eq!(r.take(done.slot), None);
        assert_eq!(r.add(key(3), 0, true, &d[..8], 0), Ok(None));
        assert_eq!(r.add(key(4), 0, false, &d, 0).unwrap().unwrap().slot, 1);
        r.clear();
        assert_eq!((r.active(), r.in_use()), (0, 0));
        assert_eq!(ReasmError::NoSlot.to_string(), "no free reassembly slot");
    }

    #[test]
    fn zero_slots_and_tiny_buffers_never_panic() {
        let mut none = Reassembler::<0, 64>::new();
        assert_eq!(
            none.add(key(1), 0, true, &[0; 8], 0),
            Err(ReasmError::NoSlot)
        );
        assert_eq!((none.expire(u64::MAX), none.next_expiry()), (0, None));
        let mut tiny = Reassembler::<1, 0>::new();
        assert_eq!(tiny.add(key(1), 0, false, &[1], 0), Err(ReasmError::TooBig));
        let mut seven = Reassembler::<1, 7>::new();
        let done = seven.add(key(1), 0, false, &[1; 7], 0).unwrap().unwrap();
        assert_eq!(seven.take(done.slot).unwrap(), &[1; 7]);
    }

    #[test]
    fn never_panics_on_random_streams() {
        let mut rng = Rng(0x5eed_1234);
        let mut r = Box::new(Reassembler::<6, 1024>::new());
        r.set_mem_limit(3000);
        r.set_timeout_ms(500);
        let mut now = 0u64;
        let buf = data(1100, 13);
        let mut completed = 0;
        for _ in 0..200_000 {
            now += rng.below(4);
            let k = key(rng.below(10) as u16);
            let off = if rng.below(20) == 0 {
                rng.below(1200) as usize
            } else {
                8 * rng.below(140) as usize
            };
            let len = match rng.below(4) {
                0 => rng.below(64) as usize,
                _ => 8 * rng.below(20) as usize,
            };
            // Mostly consistent bytes (so that overlaps agree), sometimes flipped.
            let start = off.min(buf.len());
            let end = (start + len).min(buf.len());
            let mut bytes = buf[start..end].to_vec();
            if rng.below(50) == 0 {
                if let Some(b) = bytes.first_mut() {
                    *b ^= 1;
                }
            }
            let more = rng.below(3) != 0;
            if let Ok(Some(done)) = r.add(k, off, more, &bytes, now) {
                assert!(done.len <= 1024);
                let p = r.take(done.slot).unwrap();
                assert_eq!(p.len(), done.len);
                completed += 1;
            }
            match rng.below(100) {
                0 => {
                    r.expire(now);
                }
                1 => {
                    r.release(rng.below(8) as usize);
                }
                _ => {}
            }
            assert!(r.in_use() <= 3000);
            check_accounting(&r);
        }
        assert!(completed > 0, "the stream should complete some datagrams");
    }
}
