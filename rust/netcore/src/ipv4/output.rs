//! Sending IPv4: fragmentation planning and IP identification numbers.
//!
//! [`plan`] says how a datagram of `header_len + payload_len` bytes is cut to fit a link
//! MTU, as Linux's `ip_do_fragment` cuts it: every fragment but the last carries the largest
//! multiple of 8 bytes that fits `mtu - header_len`, the last carries the rest. The plan is
//! an iterator of [`Fragment`]s (payload offset, length, More Fragments) from which the
//! caller builds each fragment, copying the header (options included, so that every
//! fragment has the same `header_len`) and setting total length, offset and MF. A datagram
//! that fits is one fragment with offset 0 and MF clear. Don't Fragment on a datagram that
//! does not fit is [`FragError::NeedsFragmentation`]: locally that is `EMSGSIZE`, when
//! forwarding an ICMP "fragmentation needed" carrying the MTU.
//!
//! [`IdentGenerator`] hands out identification numbers as Linux's `ip_idents` does: a table
//! of `N` 16-bit counters, the bucket chosen by a keyed hash (Jenkins' `jhash_3words`, as
//! Linux used before it moved to SipHash) of destination, source and protocol, with a
//! secret the caller draws at random once. IDs to one destination increase by one per
//! packet; different destinations use different buckets and start from different points,
//! so an observer of one flow learns little about another's rate. Linux also adds a random
//! jump after idle time; this generator is deterministic, the caller may reseed instead.

use super::super::wire::{Ipv4Address, Protocol};

/// Largest IPv4 datagram, header included (the 16-bit total length).
pub const MAX_DATAGRAM: usize = 65535;

/// One fragment of a plan: which bytes of the datagram's payload it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Offset of these bytes in the datagram's payload (a multiple of 8).
    pub offset: usize,
    /// Number of payload bytes in this fragment.
    pub len: usize,
    /// More Fragments: set on every fragment but the last.
    pub more: bool,
}

/// Why a datagram cannot be sent as planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FragError {
    /// Don't Fragment is set and the datagram does not fit: `EMSGSIZE` locally, ICMP
    /// "fragmentation needed" with this MTU when forwarding.
    NeedsFragmentation {
        /// The MTU it would have to fit (capped at 65535).
        mtu: u16,
    },
    /// Header and payload exceed 65535 bytes.
    TooBig,
    /// The MTU cannot hold the header and 8 bytes of payload.
    MtuTooSmall,
}

impl core::fmt::Display for FragError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FragError::NeedsFragmentation { mtu } => {
                write!(f, "fragmentation needed (DF set, mtu {mtu})")
            }
            FragError::TooBig => f.write_str("datagram too big"),
            FragError::MtuTooSmall => f.write_str("mtu too small to fragment"),
        }
    }
}

/// The fragments of one datagram, in order of offset.
///
/// It is `Copy`, so the plan can be counted and then iterated. [`FragPlan::count`] and
/// `Iterator::count` (which `plan.count()` calls, since `Iterator::count` takes `self` by
/// value) agree: both give the fragments not yet yielded, which before iterating is the
/// number of fragments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragPlan {
    /// Payload bytes in every fragment but the last (a multiple of 8).
    chunk: usize,
    /// Payload length of the datagram.
    payload_len: usize,
    /// Offset of the next fragment.
    next: usize,
    /// True once the last fragment has been yielded.
    done: bool,
}

/// Plans the fragments of a datagram with a `header_len`-byte header (options included)
/// and `payload_len` bytes of payload over a link of `mtu` bytes. Checked in this order:
/// [`FragError::TooBig`] above 65535 bytes; a datagram that fits is one fragment (whatever
/// DF says); [`FragError::NeedsFragmentation`] with DF; [`FragError::MtuTooSmall`] when not
/// even 8 bytes of payload fit beside the header.
pub fn plan(
    header_len: usize,
    payload_len: usize,
    mtu: usize,
    dont_frag: bool,
) -> Result<FragPlan, FragError> {
    let total = header_len
        .checked_add(payload_len)
        .filter(|&t| t <= MAX_DATAGRAM)
        .ok_or(FragError::TooBig)?;
    if total <= mtu {
        return Ok(FragPlan {
            chunk: payload_len,
            payload_len,
            next: 0,
            done: false,
        });
    }
    if dont_frag {
        let mtu = u16::try_from(mtu).unwrap_or(u16::MAX);
        return Err(FragError::NeedsFragmentation { mtu });
    }
    let chunk = mtu.saturating_sub(header_len) & !7;
    if chunk == 0 {
        return Err(FragError::MtuTooSmall);
    }
    Ok(FragPlan {
        chunk,
        payload_len,
        next: 0,
        done: false,
    })
}

impl FragPlan {
    /// Fragments not yet yielded; before iterating, the number of fragments (1 if the
    /// datagram is not fragmented).
    pub fn count(&self) -> usize {
        if self.done {
            return 0;
        }
        let left = self.payload_len.saturating_sub(self.next);
        if left == 0 || self.chunk == 0 {
            return 1;
        }
        left.div_ceil(self.chunk)
    }

    /// True when the datagram is cut into more than one fragment.
    pub fn is_fragmented(&self) -> bool {
        self.chunk < self.payload_len
    }

    /// Payload bytes carried by every fragment but the last.
    pub fn chunk_len(&self) -> usize {
        self.chunk
    }
}

impl Iterator for FragPlan {
    type Item = Fragment;

    fn next(&mut self) -> Option<Fragment> {
        if self.done {
            return None;
        }
        let offset = self.next;
        let left = self.payload_len.saturating_sub(offset);
        let len = left.min(self.chunk);
        let more = len < left;
        self.next = offset.saturating_add(len);
        self.done = !more;
        Some(Fragment { offset, len, more })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = FragPlan::count(self);
        (n, Some(n))
    }

    fn count(self) -> usize {
        FragPlan::count(&self)
    }
}

impl ExactSizeIterator for FragPlan {}

impl core::iter::FusedIterator for FragPlan {}

/// Per-destination IP identification numbers (Linux's `ip_idents`): `N` buckets of 16-bit
/// counters, the bucket picked by a keyed hash of (destination, source, protocol).
#[derive(Clone, Debug)]
pub struct IdentGenerator<const N: usize> {
    secret: u32,
    counters: [u16; N],
}

/// Jenkins' final mix (`__jhash_final`).
const fn jhash_final(mut a: u32, mut b: u32, mut c: u32) -> u32 {
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(24));
    c
}

/// Linux's `jhash_3words(a, b, c, initval)`.
pub const fn jhash_3words(a: u32, b: u32, c: u32, initval: u32) -> u32 {
    let init = initval.wrapping_add(0xdead_beef).wrapping_add(3 << 2);
    jhash_final(
        a.wrapping_add(init),
        b.wrapping_add(init),
        c.wrapping_add(init),
    )
}

impl<const N: usize> IdentGenerator<N> {
    /// A generator keyed by `secret` (draw it at random), all counters at zero.
    pub const fn new(secret: u32) -> Self {
        IdentGenerator {
            secret,
            counters: [0; N],
        }
    }

    /// Replaces the secret (say, periodically); the counters are kept.
    pub fn reseed(&mut self, secret: u32) {
        self.secret = secret;
    }

    fn hash(&self, src: Ipv4Address, dst: Ipv4Address, protocol: Protocol) -> u32 {
        jhash_3words(
            dst.to_u32(),
            src.to_u32(),
            u32::from(u8::from(protocol)),
            self.secret,
        )
    }

    /// The next identification for a packet from `src` to `dst` carrying `protocol`.
    pub fn next(&mut self, src: Ipv4Address, dst: Ipv4Address, protocol: Protocol) -> u16 {
        self.reserve(src, dst, protocol, 1)
    }

    /// Reserves `count` consecutive identifications (for a GSO packet of `count` segments)
    /// and returns the first.
    pub fn reserve(
        &mut self,
        src: Ipv4Address,
        dst: Ipv4Address,
        protocol: Protocol,
        count: u16,
    ) -> u16 {
        let hash = self.hash(src, dst, protocol);
        // Each flow starts at its own point of its bucket's sequence.
        let base = (hash >> 16) as u16;
        if N == 0 {
            return base;
        }
        // N > 0 here; a u32 hash reduced mod N fits in usize.
        let bucket = (hash as usize) % N;
        match self.counters.get_mut(bucket) {
            Some(c) => {
                let id = c.wrapping_add(base);
                *c = c.wrapping_add(count);
                id
            }
            None => base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Rng;
    use super::*;
    use std::vec::Vec;

    fn frags(header: usize, payload: usize, mtu: usize) -> Vec<(usize, usize, bool)> {
        plan(header, payload, mtu, false)
            .unwrap()
            .map(|f| (f.offset, f.len, f.more))
            .collect()
    }

    #[test]
    fn classic_4000_over_1500() {
        assert_eq!(
            frags(20, 4000, 1500),
            [(0, 1480, true), (1480, 1480, true), (2960, 1040, false)]
        );
        let p = plan(20, 4000, 1500, false).unwrap();
        assert_eq!(p.count(), 3);
        assert_eq!(FragPlan::count(&p), 3);
        assert_eq!(p.len(), 3);
        assert!(p.is_fragmented());
        assert_eq!(p.chunk_len(), 1480);
        // Copy: still usable after counting.
        assert_eq!(p.last().unwrap().offset, 2960);
    }

    #[test]
    fn unfragmented() {
        for (h, n, mtu) in [(20, 1480, 1500), (20, 0, 1500), (60, 0, 60), (20, 100, 68)] {
            if h + n > mtu {
                continue;
            }
            let p = plan(h, n, mtu, true).unwrap();
            assert_eq!(p.count(), 1);
            assert!(!p.is_fragmented());
            assert_eq!(frags(h, n, mtu), [(0, n, false)]);
        }
        // Zero payload, even over an MTU too small to fragment.
        assert_eq!(frags(20, 0, 20), [(0, 0, false)]);
    }

    #[test]
    fn odd_mtu_and_options() {
        // mtu 1006, header 24: 982 bytes fit, 976 is the multiple of 8.
        assert_eq!(
            frags(24, 2000, 1006),
            [(0, 976, true), (976, 976, true), (1952, 48, false)]
        );
        // The smallest MTU that can fragment: the header and 8 bytes.
        assert_eq!(
            frags(20, 20, 28),
            [(0, 8, true), (8, 8, true), (16, 4, false)]
        );
        // Linux's minimum IPv4 MTU, 68, with a full 60-byte header.
        assert_eq!(
            frags(60, 17, 68),
            [(0, 8, true), (8, 8, true), (16, 1, false)]
        );
        // A multiple of 8 for the last one leaves no empty fragment.
        assert_eq!(
            frags(20, 2960, 1500),
            [(0, 1480, true), (1480, 1480, false)]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            plan(20, 1481, 1500, true).err(),
            Some(FragError::NeedsFragmentation { mtu: 1500 })
        );
        assert_eq!(
            plan(20, 65000, 100_000, true).ok().map(|p| p.count()),
            Some(1)
        );
        assert_eq!(plan(20, 65516, 1500, false).err(), Some(FragError::TooBig));
        assert_eq!(plan(60, 65476, 1500, true).err(), Some(FragError::TooBig));
        assert_eq!(
            plan(usize::MAX, 1, 1500, false).err(),
            Some(FragError::TooBig)
        );
        assert_eq!(plan(20, 65515, 1500, false).unwrap().count(), 45);
        assert_eq!(plan(20, 100, 27, false).err(), Some(FragError::MtuTooSmall));
        assert_eq!(plan(20, 100, 0, false).err(), Some(FragError::MtuTooSmall));
        assert_eq!(plan(60, 100, 20, false).err(), Some(FragError::MtuTooSmall));
        // DF is reported before the MTU is found too small.
        assert_eq!(
            plan(20, 100, 27, true).err(),
            Some(FragError::NeedsFragmentation { mtu: 27 })
        );
        assert_eq!(
            std::format!("{}", FragError::NeedsFragmentation { mtu: 576 }),
            "fragmentation needed (DF set, mtu 576)"
        );
    }

    /// For many sizes: fragments tile the payload exactly, every offset but the first is a
    /// multiple of 8 (the first is 0), every fragment fits, only the last lacks MF, and the
    /// count is right.
    #[test]
    fn random_plans_cover_the_payload() {
        let mut rng = Rng(7);
        for _ in 0..20_000 {
            let header = 20 + 4 * rng.below(11) as usize;
            let payload = rng.below(65536 - header as u64) as usize;
            let mtu = 28 + rng.below(9000) as usize;
            let Ok(p) = plan(header, payload, mtu, false) else {
                assert!(mtu < header + 8);
                continue;
            };
            let count = p.count();
            let mut expect = 0;
            let mut n = 0;
            let mut last_more = true;
            for f in p {
                assert_eq!(f.offset, expect);
                assert_eq!(f.offset % 8, 0);
                assert!(header + f.len <= mtu);
                if f.more {
                    assert_eq!(f.len % 8, 0);
                    assert!(f.len > 0);
                }
                assert!(last_more, "fragment after the last");
                last_more = f.more;
                expect += f.len;
                n += 1;
            }
            assert!(!last_more);
            assert_eq!(expect, payload);
            assert_eq!(n, count);
        }
    }

    #[test]
    fn iterator_is_fused_and_sized() {
        let mut p = plan(20, 3000, 1500, false).unwrap();
        assert_eq!(p.size_hint(), (3, Some(3)));
        p.next();
        assert_eq!(p.len(), 2);
        assert_eq!(FragPlan::count(&p), 2);
        p.next();
        p.next();
        assert_eq!(p.len(), 0);
        assert_eq!(p.next(), None);
        assert_eq!(p.next(), None);
    }

    #[test]
    fn jhash_known_answers() {
        assert_eq!(jhash_3words(0, 0, 0, 0), JHASH_000);
        assert_eq!(jhash_3words(1, 2, 3, 4), JHASH_1234);
    }

    // Computed by a C transcription of include/linux/jhash.h's `jhash_3words` and
    // `__jhash_final`, compiled in userspace.
    const JHASH_000: u32 = 0x1b68_e557;
    const JHASH_1234: u32 = 0x8103_143f;

    const A: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);
    const B: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);
    const C: Ipv4Address = Ipv4Address::new(192, 168, 7, 9);

    #[test]
    fn ids_increase_per_destination() {
        let mut g = IdentGenerator::<256>::new(0x5eed_1234);
        let first_b = g.next(A, B, Protocol::Udp);
        let first_c = g.next(A, C, Protocol::Udp);
        assert_ne!(first_b, first_c);
        for i in 1..1000u16 {
            assert_eq!(g.next(A, B, Protocol::Udp), first_b.wrapping_add(i));
            assert_eq!(g.next(A, C, Protocol::Udp), first_c.wrapping_add(i));
        }
        // Reserving a block advances by its size.
        let start = g.reserve(A, B, Protocol::Udp, 10);
        assert_eq!(start, first_b.wrapping_add(1000));
        assert_eq!(g.next(A, B, Protocol::Udp), first_b.wrapping_add(1010));
    }

    #[test]
    fn ids_differ_across_destinations_and_secrets() {
        let mut g = IdentGenerator::<2048>::new(42);
        let mut firsts = Vec::new();
        for d in 1..=200u8 {
            firsts.push(g.next(A, Ipv4Address::new(172, 16, 0, d), Protocol::Icmp));
        }
        firsts.sort_unstable();
        firsts.dedup();
        assert!(firsts.len() > 190, "{} distinct", firsts.len());
        // Protocol and source are part of the key.
        let mut g = IdentGenerator::<2048>::new(42);
        let u = g.next(A, B, Protocol::Udp);
        let t = g.next(A, B, Protocol::Tcp);
        let s = g.next(C, B, Protocol::Udp);
        assert!(u != t && u != s);
        // Another secret, other IDs.
        let mut h = IdentGenerator::<2048>::new(43);
        assert_ne!(h.next(A, B, Protocol::Udp), u);
        // Reseeding keeps working.
        h.reseed(42);
        assert_eq!(h.next(A, B, Protocol::Udp), u);
    }

    #[test]
    fn ids_wrap_and_tiny_tables() {
        let mut g = IdentGenerator::<1>::new(1);
        let first = g.next(A, B, Protocol::Udp);
        for _ in 0..65535 {
            g.next(A, B, Protocol::Udp);
        }
        assert_eq!(g.next(A, B, Protocol::Udp), first);
        // A zero-sized table does not panic.
        let mut z = IdentGenerator::<0>::new(1);
        let _ = z.next(A, B, Protocol::Udp);
        // And the generator can live in a static-like const context.
        const G: IdentGenerator<4> = IdentGenerator::new(9);
        let mut g = G;
        let a = g.next(A, B, Protocol::Icmp);
        assert_eq!(g.next(A, B, Protocol::Icmp), a.wrapping_add(1));
    }
}
