//! The bounded queue of packets that wait for an address to be resolved.
//!
//! While an ARP request is in flight, IPv4 output for that neighbour cannot build an Ethernet
//! header, so the packets are parked beside the cache entry (Linux's `arp_queue`, bounded by
//! `unres_qlen`). [`Packets`] is that queue: a fixed ring of `Q` slots for an opaque packet
//! type `P` (a kernel sk_buff handle in rvnet), oldest first. It never allocates; when full,
//! pushing returns the oldest packet so that the caller can free and count it, as the seed
//! notes' ARP section says a real stack does while it waits for the reply.
//!
//! A whole queue leaves the cache by value when its entry resolves (to be sent), fails or is
//! evicted (to be dropped). It is an [`Iterator`] over the packets, oldest first, so nothing
//! is ever left behind by accident: every packet put in comes out exactly once.

/// Up to `Q` packets, oldest first.
#[derive(Debug)]
#[must_use = "the packets must be sent or freed"]
pub struct Packets<const Q: usize, P> {
    slots: [Option<P>; Q],
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

    /// Appends `packet` as the newest. When the queue is full, the oldest packet is pushed out
    /// and returned; with `Q` = 0 nothing can wait, and `packet` itself comes back.
    pub fn push(&mut self, packet: P) -> Option<P> {
        let full = self.len >= Q;
        // The newest goes after the current newest, or over the oldest when full.
        let at = if full {
            self.slot(0)
        } else {
            self.slot(self.len)
        };
        let Some(slot) = at.and_then(|i| self.slots.get_mut(i)) else {
            return Some(packet);
        };
        // `replace` keeps this lossless: whatever was in the slot (the oldest when full,
        // nothing otherwise) is handed back.
        let out = slot.replace(packet);
        if full {
            self.head = self.slot(1).unwrap_or(0);
        } else {
            self.len = self.len.saturating_add(1);
        }
        out
    }

    /// Takes the oldest packet out.
    pub fn pop(&mut self) -> Option<P> {
        if self.len == 0 {
            return None;
        }
        let i = self.slot(0)?;
        let p = self.slots.get_mut(i)?.take();
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
}
