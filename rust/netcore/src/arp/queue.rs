//! The bounded queue of packets that wait for an address to be resolved.
//!
//! While an ARP request is in flight, IPv4 output for that neighbour cannot build an Ethernet
//! header, so the packets are parked beside the cache entry (Linux's `arp_queue`, bounded by
//! `unres_qlen`). [`Packets`] is that queue: a fixed ring of `Q` slots for an opaque packet
//! type `P` (a kernel sk_buff handle in rvnet), oldest first. It never allocates; when full,
//! pushing returns the oldest packet so that the caller can free and count it, as the seed
//! notes' ARP section says a real stack does while it waits for the reply.
//!
//! The queue also counts the bytes of its packets (their `truesize`, as the caller gives it),
//! so that the cache can bound it in bytes as well as in packets (Linux's
//! `unres_qlen_bytes`): [`Packets::push_bounded`] pushes out as many of the oldest packets as
//! it takes and hands them back in a [`Dropped`].
//!
//! A whole queue leaves the cache by value when its entry resolves (to be sent), fails or is
//! evicted (to be dropped). It is an [`Iterator`] over the packets, oldest first, so nothing
//! is ever left behind by accident: every packet put in comes out exactly once.

/// Up to `Q` packets, oldest first.
#[derive(Debug)]
#[must_use = "the packets must be sent or freed"]
pub struct Packets<const Q: usize, P> {
    slots: [Option<P>; Q],
    /// The size in bytes of the packet in the slot of the same index.
    sizes: [u32; Q],
    /// Sum of the sizes of the packets held.
    bytes: u32,
    /// Slot of the oldest packet.
    head: usize,
    /// Number of packets held.
    len: usize,
}

impl<const Q: usize, P> Packets<Q, P> {
    /// An empty queue.
    pub fn new() -> Self {
        Packets {
            slots: core::array::from_fn(|_| None),
            sizes: [0; Q],
            bytes: 0,
            head: 0,
            len: 0,
        }
    }

    /// Number of packets held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no packet is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Room for this many packets (`Q`).
    pub const fn capacity(&self) -> usize {
        Q
    }

    /// Slot `i` places after the oldest; `None` only when `Q` is 0.
    fn slot(&self, i: usize) -> Option<usize> {
        self.head.wrapping_add(i).checked_rem(Q)
    }

    /// Total size in bytes of the packets held (0 for those given to [`Self::push`]).
    pub fn bytes(&self) -> u32 {
        self.bytes
    }

    /// Appends `packet` as the newest, of size 0. When the queue is full, the oldest packet is
    /// pushed out and returned; with `Q` = 0 nothing can wait, and `packet` itself comes back.
    pub fn push(&mut self, packet: P) -> Option<P> {
        self.push_sized(packet, 0)
    }

    /// [`Self::push`] of a packet of `bytes` bytes.
    fn push_sized(&mut self, packet: P, bytes: u32) -> Option<P> {
        let full = self.len >= Q;
        // The newest goes after the current newest, or over the oldest when full.
        let at = if full {
            self.slot(0)
        } else {
            self.slot(self.len)
        };
        let Some(i) = at else {
            return Some(packet);
        };
        let (Some(slot), Some(size)) = (self.slots.get_mut(i), self.sizes.get_mut(i)) else {
            return Some(packet);
        };
        // `replace` keeps this lossless: whatever was in the slot (the oldest when full,
        // nothing otherwise) is handed back.
        let out = slot.replace(packet);
        let old = core::mem::replace(size, bytes);
        if full {
            self.bytes = self.bytes.saturating_sub(old);
            self.head = self.slot(1).unwrap_or(0);
        } else {
            self.len = self.len.saturating_add(1);
        }
        self.bytes = self.bytes.saturating_add(bytes);
        out
    }

    /// Appends `packet`, of `bytes` bytes, as the newest, so that the queue holds at most `Q`
    /// packets and at most `max_bytes` bytes: as many of the oldest packets as it takes are
    /// pushed out, and come back in the [`Dropped`]. A packet that could never fit (larger
    /// than `max_bytes` by itself, or any packet when `Q` is 0) is not queued: it comes back
    /// alone, and the queue is left as it was.
    pub fn push_bounded(&mut self, packet: P, bytes: u32, max_bytes: u32) -> Dropped<Q, P> {
        let mut dropped = Dropped::new();
        if Q == 0 || bytes > max_bytes {
            dropped.last = Some(packet);
            return dropped;
        }
        let over = |q: &Self| u64::from(q.bytes) + u64::from(bytes) > u64::from(max_bytes);
        // At most `Q` are pushed out, so `dropped.packets` never overflows.
        while self.len > 0 && dropped.packets.len() < Q && (self.len >= Q || over(self)) {
            let Some(p) = self.pop() else {
                break;
            };
            if let Some(p) = dropped.packets.push(p) {
                dropped.last = Some(p);
                break;
            }
        }
        if dropped.last.is_some() || self.len >= Q || over(self) {
            // Cannot happen (the loop made room), but the packet is not lost if it does.
            if dropped.last.is_none() {
                dropped.last = Some(packet);
            }
            return dropped;
        }
        dropped.last = self.push_sized(packet, bytes);
        dropped
    }

    /// Takes the oldest packet out.
    pub fn pop(&mut self) -> Option<P> {
        if self.len == 0 {
            return None;
        }
        let i = self.slot(0)?;
        let p = self.slots.get_mut(i)?.take();
        if let Some(size) = self.sizes.get_mut(i) {
            self.bytes = self.bytes.saturating_sub(core::mem::take(size));
        }
        self.head = self.slot(1).unwrap_or(0);
        self.len = self.len.saturating_sub(1);
        p
    }

    /// Takes every packet out, leaving this queue empty.
    pub fn take_all(&mut self) -> Self {
        core::mem::take(self)
    }
}

impl<const Q: usize, P> Default for Packets<Q, P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const Q: usize, P> Iterator for Packets<Q, P> {
    type Item = P;

    /// The oldest packet still held.
    fn next(&mut self) -> Option<P> {
        self.pop()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len, Some(self.len))
    }
}

impl<const Q: usize, P> ExactSizeIterator for Packets<Q, P> {}

/// Packets pushed out of a queue by [`Packets::push_bounded`] (or refused by it), oldest
/// first: an [`Iterator`], so that each is freed and counted.
#[derive(Debug)]
#[must_use = "the dropped packets must be freed"]
pub struct Dropped<const Q: usize, P> {
    packets: Packets<Q, P>,
    /// The packet being queued, when it could not be.
    last: Option<P>,
}

impl<const Q: usize, P> Dropped<Q, P> {
    /// No packet.
    pub fn new() -> Self {
        Dropped {
            packets: Packets::new(),
            last: None,
        }
    }

    /// Just `packet`.
    pub(super) fn one(packet: P) -> Self {
        Dropped {
            packets: Packets::new(),
            last: Some(packet),
        }
    }

    /// Number of packets.
    pub fn len(&self) -> usize {
        self.packets
            .len()
            .saturating_add(usize::from(self.last.is_some()))
    }

    /// True when no packet was dropped.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<const Q: usize, P> Default for Dropped<Q, P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const Q: usize, P> Iterator for Dropped<Q, P> {
    type Item = P;

    /// The oldest packet left.
    fn next(&mut self) -> Option<P> {
        self.packets.pop().or_else(|| self.last.take())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl<const Q: usize, P> ExactSizeIterator for Dropped<Q, P> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn fifo_order() {
        let mut q: Packets<3, u32> = Packets::new();
        assert!(q.is_empty());
        assert_eq!(q.capacity(), 3);
        assert_eq!(q.pop(), None);
        for i in 0..3 {
            assert_eq!(q.push(i), None);
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.collect::<Vec<_>>(), [0, 1, 2]);
    }

    #[test]
    fn full_queue_pushes_out_the_oldest() {
        let mut q: Packets<3, u32> = Packets::new();
        let mut dropped = Vec::new();
        for i in 0..10 {
            dropped.extend(q.push(i));
            assert!(q.len() <= 3);
        }
        assert_eq!(dropped, [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(q.len(), 3);
        assert_eq!(q.size_hint(), (3, Some(3)));
        assert_eq!(q.collect::<Vec<_>>(), [7, 8, 9]);
    }

    #[test]
    fn interleaved_push_and_pop_wrap_around() {
        let mut q: Packets<4, u32> = Packets::new();
        let mut model = std::collections::VecDeque::new();
        for i in 0..200u32 {
            if i % 3 == 2 {
                assert_eq!(q.pop(), model.pop_front());
            } else {
                let d = q.push(i);
                model.push_back(i);
                if model.len() > 4 {
                    assert_eq!(d, model.pop_front());
                } else {
                    assert_eq!(d, None);
                }
            }
            assert_eq!(q.len(), model.len());
        }
    }

    #[test]
    fn take_all_empties() {
        let mut q: Packets<2, u32> = Packets::new();
        let _ = q.push(1);
        let _ = q.push(2);
        let t = q.take_all();
        assert!(q.is_empty());
        assert_eq!(t.collect::<Vec<_>>(), [1, 2]);
        assert_eq!(q.push(3), None);
        assert_eq!(q.pop(), Some(3));
    }

    #[test]
    fn zero_capacity_hands_the_packet_back() {
        let mut q: Packets<0, u32> = Packets::new();
        assert_eq!(q.push(7), Some(7));
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn byte_bound_pushes_out_the_oldest() {
        let mut q: Packets<4, u32> = Packets::new();
        assert!(q.push_bounded(1, 100, 250).is_empty());
        assert!(q.push_bounded(2, 100, 250).is_empty());
        assert_eq!(q.bytes(), 200);
        // 300 > 250: the oldest goes.
        assert_eq!(q.push_bounded(3, 100, 250).collect::<Vec<_>>(), [1]);
        assert_eq!(q.bytes(), 200);
        // A big one pushes out both.
        assert_eq!(q.push_bounded(4, 240, 250).collect::<Vec<_>>(), [2, 3]);
        assert_eq!((q.len(), q.bytes()), (1, 240));
        // Too big by itself: it comes back, and the queue stays.
        let d = q.push_bounded(5, 251, 250);
        assert_eq!(d.len(), 1);
        assert_eq!(d.collect::<Vec<_>>(), [5]);
        assert_eq!((q.len(), q.bytes()), (1, 240));
        // The packet bound still holds with small packets.
        let mut q: Packets<2, u32> = Packets::new();
        for i in 0..2 {
            assert!(q.push_bounded(i, 1, 1000).is_empty());
        }
        assert_eq!(q.push_bounded(9, 1, 1000).collect::<Vec<_>>(), [0]);
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.bytes(), 1);
        assert_eq!(q.collect::<Vec<_>>(), [9]);
        // Nothing can wait in a queue of 0.
        let mut z: Packets<0, u32> = Packets::new();
        assert_eq!(z.push_bounded(1, 0, 10).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn byte_bound_against_a_model() {
        let mut rng = super::super::super::testutil::Rng(7);
        let mut q: Packets<3, u32> = Packets::new();
        let mut model: std::collections::VecDeque<(u32, u32)> = Default::default();
        for i in 0..5000u32 {
            if rng.below(4) == 0 {
                assert_eq!(q.pop(), model.pop_front().map(|m| m.0));
            } else {
                let b = rng.below(1100) as u32;
                let max = 1000;
                let mut want = Vec::new();
                if b > max {
                    want.push(i);
                } else {
                    while !model.is_empty()
                        && (model.len() >= 3 || model.iter().map(|m| m.1).sum::<u32>() + b > max)
                    {
                        want.push(model.pop_front().unwrap().0);
                    }
                    model.push_back((i, b));
                }
                assert_eq!(q.push_bounded(i, b, max).collect::<Vec<_>>(), want);
            }
            assert_eq!(q.len(), model.len());
            assert_eq!(q.bytes(), model.iter().map(|m| m.1).sum::<u32>());
        }
    }
}
