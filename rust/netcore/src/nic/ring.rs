//! Ring index arithmetic for a NIC's descriptor ring.
//!
//! A real NIC and its driver share a ring of descriptors: the producer (the NIC on receive,
//! the driver on transmit) writes at the head, the consumer reads at the tail, and both wrap
//! at the end. [`RingIndex`] holds the two positions as free-running 32-bit counters, as many
//! drivers do: the number of entries is `head - tail` in wrapping arithmetic, a slot is
//! `position & mask`, and "full" and "empty" are never confused because the counters are not
//! reduced modulo the size. The size is a power of two so that the mask works.
//!
//! The storage (sk_buff pointers, in rvnic) lives with the kernel code; this type only says
//! which slot to use.

/// Smallest ring size accepted.
pub const MIN_SIZE: u32 = 2;
/// Largest ring size accepted (as `ethtool -g` reports it as the maximum).
pub const MAX_SIZE: u32 = 32768;
/// Ring size when none is asked for.
pub const DEFAULT_SIZE: u32 = 256;

/// Why a ring size was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeError {
    /// Not a power of two.
    NotPowerOfTwo,
    /// Outside [`MIN_SIZE`]..=[`MAX_SIZE`].
    OutOfRange,
}

/// Checks a requested ring size.
pub fn check_size(size: u32) -> Result<u32, SizeError> {
    if !(MIN_SIZE..=MAX_SIZE).contains(&size) {
        Err(SizeError::OutOfRange)
    } else if !size.is_power_of_two() {
        Err(SizeError::NotPowerOfTwo)
    } else {
        Ok(size)
    }
}

/// Producer and consumer positions of a power-of-two ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingIndex {
    head: u32,
    tail: u32,
    mask: u32,
}

impl RingIndex {
    /// An empty ring of `size` slots.
    pub fn new(size: u32) -> Result<Self, SizeError> {
        let size = check_size(size)?;
        Ok(RingIndex {
            head: 0,
            tail: 0,
            mask: size - 1,
        })
    }

    /// An empty ring whose counters start at `start`, so that tests can begin next to the
    /// point where the 32-bit counters wrap.
    pub fn new_at(size: u32, start: u32) -> Result<Self, SizeError> {
        let mut r = Self::new(size)?;
        r.head = start;
        r.tail = start;
        Ok(r)
    }

    /// Number of slots.
    pub fn capacity(&self) -> u32 {
        self.mask.wrapping_add(1)
    }

    /// Number of entries in the ring.
    pub fn len(&self) -> u32 {
        self.head.wrapping_sub(self.tail)
    }

    /// True when there is nothing to consume.
    pub fn is_empty(&self) -> bool {
        self.head == self.tail
    }

    /// True when there is no room to produce.
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity()
    }

    /// Free slots.
    pub fn free(&self) -> u32 {
        self.capacity().saturating_sub(self.len())
    }

    /// Claims the slot at the head for a new entry and advances the head, or `None` if full.
    pub fn push(&mut self) -> Option<usize> {
        if self.is_full() {
            return None;
        }
        let slot = self.head & self.mask;
        self.head = self.head.wrapping_add(1);
        Some(slot as usize)
    }

    /// The slot at the tail, without consuming it, or `None` if empty.
    pub fn peek(&self) -> Option<usize> {
        if self.is_empty() {
            None
        } else {
            Some((self.tail & self.mask) as usize)
        }
    }

    /// Consumes the entry at the tail and returns its slot, or `None` if empty.
    pub fn pop(&mut self) -> Option<usize> {
        let slot = self.peek()?;
        self.tail = self.tail.wrapping_add(1);
        Some(slot)
    }

    /// Plans a resize to `new_size`: the entries that fit (the oldest first) keep their order
    /// and move to slots 0.. of the new ring; the rest (the newest) must be dropped by the
    /// caller. Returns the new index (holding the kept entries) and how many to drop.
    pub fn resized(&self, new_size: u32) -> Result<(RingIndex, u32), SizeError> {
        let mut n = RingIndex::new(new_size)?;
        let keep = self.len().min(n.capacity());
        n.head = keep;
        Ok((n, self.len() - keep))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(check_size(256), Ok(256));
        assert_eq!(check_size(2), Ok(2));
        assert_eq!(check_size(32768), Ok(32768));
        assert_eq!(check_size(0), Err(SizeError::OutOfRange));
        assert_eq!(check_size(1), Err(SizeError::OutOfRange));
        assert_eq!(check_size(65536), Err(SizeError::OutOfRange));
        assert_eq!(check_size(300), Err(SizeError::NotPowerOfTwo));
        assert_eq!(check_size(u32::MAX), Err(SizeError::OutOfRange));
    }

    #[test]
    fn fill_and_drain_in_order() {
        let mut r = RingIndex::new(4).unwrap();
        assert!(r.is_empty() && !r.is_full());
        assert_eq!(r.pop(), None);
        let slots: std::vec::Vec<_> = (0..4).map(|_| r.push().unwrap()).collect();
        assert_eq!(slots, [0, 1, 2, 3]);
        assert!(r.is_full());
        assert_eq!(r.push(), None);
        assert_eq!(r.free(), 0);
        assert_eq!(r.pop(), Some(0));
        assert_eq!(r.push(), Some(0));
        assert_eq!(
            (r.pop(), r.pop(), r.pop(), r.pop()),
            (Some(1), Some(2), Some(3), Some(0))
        );
        assert!(r.is_empty());
    }

    #[test]
    fn wraps_the_32_bit_counters() {
        let mut r = RingIndex::new_at(8, u32::MAX - 3).unwrap();
        let mut model = std::collections::VecDeque::new();
        for i in 0..1000u32 {
            if i % 3 != 2 {
                if let Some(s) = r.push() {
                    model.push_back(s);
                } else {
                    assert_eq!(model.len(), 8);
                }
            } else {
                assert_eq!(r.pop(), model.pop_front());
            }
            assert_eq!(r.len() as usize, model.len());
            assert!(r.len() <= r.capacity());
        }
    }

    #[test]
    fn resize_keeps_oldest_entries() {
        let mut r = RingIndex::new_at(8, u32::MAX - 1).unwrap();
        for _ in 0..6 {
            r.push().unwrap();
        }
        let (small, drop) = r.resized(4).unwrap();
        assert_eq!((small.len(), drop), (4, 2));
        let (big, drop) = r.resized(16).unwrap();
        assert_eq!((big.len(), drop), (6, 0));
        assert_eq!(big.peek(), Some(0));
        assert_eq!(r.resized(3), Err(SizeError::NotPowerOfTwo));
        let empty = RingIndex::new(8).unwrap().resized(2).unwrap();
        assert_eq!((empty.0.len(), empty.1), (0, 0));
    }
}
