//! Storage for the core's tables, allocated by whoever embeds the core.
//!
//! The core is `core` only: it cannot allocate. A table that grows (the socket table, and
//! after it the neighbour cache, the FIB and reassembly) keeps its elements in a
//! [`Storage`], a vector that never allocates by itself: it is filled within the capacity it
//! was made with. When a table needs more room it says how much ([`Want`]); the embedder
//! allocates empty storage of that capacity where it may sleep (the kernel: `KVVec` with
//! `GFP_KERNEL`, outside the spinlock that guards the table; the host: `Vec`), and the table
//! moves into it under the lock, handing the old storage back to be freed after the lock.
//! An insertion that finds no room fails (ENOMEM, or a counted drop); nothing panics, and
//! host tests make allocation fail on purpose.

use core::ops::{Deref, DerefMut};

/// A vector filled within a capacity fixed by whoever allocated it.
pub trait Storage<T>: Deref<Target = [T]> + DerefMut + Default {
    /// Elements it can hold.
    fn capacity(&self) -> usize;
    /// Appends `v` if there is room; otherwise `v` comes back.
    fn push_within_capacity(&mut self, v: T) -> Result<(), T>;
    /// Removes and returns the last element.
    fn pop(&mut self) -> Option<T>;
}

/// The storage a table asks for before it can take more: a capacity for each of its parts
/// (0: that part has room enough).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Want {
    /// Capacity of the entries' storage.
    pub entries: usize,
    /// Capacity of the index (buckets).
    pub index: usize,
}

impl Want {
    /// True when nothing is wanted.
    pub fn is_none(&self) -> bool {
        self.entries == 0 && self.index == 0
    }
}

/// A table that grows in two steps around its lock: it says what it [`wants`](Grow::wants),
/// the embedder allocates that where it may, and the table [`adopt`](Grow::adopt)s it under
/// the lock, giving back what must be freed after the lock. The socket table, the ARP cache
/// and the reassembler grow this way; one embedder routine serves all three.
pub trait Grow<E, B> {
    /// The storage the table should get (nothing: [`Want::is_none`]).
    fn wants(&self) -> Want;
    /// Moves the table into what is given (either may be `None`); returns what the caller
    /// frees after its lock: the storage replaced, or what was given and did not fit.
    fn adopt(&mut self, entries: Option<E>, index: Option<B>) -> (Option<E>, Option<B>);
}

/// Moves every element of `from` into `to` (same order); `Err` gives both back untouched
/// when `to` lacks the capacity or is not empty.
pub fn move_into<T, S: Storage<T>>(mut from: S, mut to: S) -> Result<(S, S), (S, S)> {
    if !to.is_empty() || to.capacity() < from.len() {
        return Err((from, to));
    }
    while let Some(v) = from.pop() {
        if let Err(v) = to.push_within_capacity(v) {
            // Cannot happen (the capacity was checked); put the element back where it was
            // and give up, so that nothing is lost.
            let _ = from.push_within_capacity(v);
            return Err((from, to));
        }
    }
    to.reverse();
    Ok((to, from))
}

/// Moves the table's slab `cur` into `new` if `new` is empty and holds every element of
/// `cur` (same order, so every element keeps its index), and returns the storage the caller
/// frees: the old slab, emptied, or else `new` untouched, `cur` then being as it was.
pub fn move_slab<T, S: Storage<T>>(cur: &mut S, new: S) -> S {
    let old = core::mem::take(cur);
    match move_into(old, new) {
        Ok((moved, emptied)) => {
            *cur = moved;
            emptied
        }
        Err((old, new)) => {
            *cur = old;
            new
        }
    }
}

/// [`move_slab`] for a slab that only grows: `new` must also be larger than `cur`'s capacity,
/// or it comes back untouched.
pub fn grow_slab<T, S: Storage<T>>(cur: &mut S, new: S) -> S {
    if !new.is_empty() || new.capacity() <= cur.capacity() {
        return new;
    }
    move_slab(cur, new)
}

/// The largest power of two not above `cap` nor `max`, or 0.
fn pow2_within(cap: usize, max: usize) -> usize {
    let cap = cap.min(max);
    if cap == 0 {
        0
    } else {
        1usize << (usize::BITS - 1 - cap.leading_zeros())
    }
}

/// A hash index (buckets heading chains) in `new`, for a table that has `have` buckets:
/// `Ok` holds `new` filled with `nil` (every chain empty), as many buckets as the largest
/// power of two within its capacity and not above `max`, ready to replace the table's
/// index before its entries are rehashed. `Err` gives `new` back untouched when it is not
/// empty or would not hold more than `have` buckets (and, emptied, if a push fails within
/// its capacity, which a [`Storage`] never does).
pub fn fresh_index<B: Storage<u32>>(mut new: B, have: usize, max: usize, nil: u32) -> Result<B, B> {
    let n = pow2_within(new.capacity(), max);
    if !new.is_empty() || n <= have {
        return Err(new);
    }
    for _ in 0..n {
        if new.push_within_capacity(nil).is_err() {
            while new.pop().is_some() {}
            return Err(new);
        }
    }
    Ok(new)
}

/// A [`Storage`] in an inline array of `N` elements, for a table that must work without an
/// allocator (a self-test on a kernel stack, a table of fixed size). Its capacity is `N` from
/// the start, so a table made with [`Default`] has room at once; it never grows, and a table
/// that wants more simply does without.
///
/// The elements past the length hold `T::default()`: no `unsafe`, no `MaybeUninit`.
#[derive(Debug)]
pub struct Fixed<T, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Default, const N: usize> Default for Fixed<T, N> {
    fn default() -> Self {
        Fixed {
            items: core::array::from_fn(|_| T::default()),
            len: 0,
        }
    }
}

impl<T, const N: usize> Deref for Fixed<T, N> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.items.get(..self.len).unwrap_or(&[])
    }
}

impl<T, const N: usize> DerefMut for Fixed<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self.items.get_mut(..self.len) {
            Some(s) => s,
            None => &mut [],
        }
    }
}

impl<T: Default, const N: usize> Storage<T> for Fixed<T, N> {
    fn capacity(&self) -> usize {
        N
    }

    fn push_within_capacity(&mut self, v: T) -> Result<(), T> {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = v;
                self.len = self.len.saturating_add(1);
                Ok(())
            }
            None => Err(v),
        }
    }

    fn pop(&mut self) -> Option<T> {
        let last = self.len.checked_sub(1)?;
        let v = core::mem::take(self.items.get_mut(last)?);
        self.len = last;
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_fills_within_its_capacity() {
        let mut f: Fixed<u32, 3> = Fixed::default();
        assert_eq!((f.capacity(), f.len()), (3, 0));
        for i in 0..3 {
            assert_eq!(f.push_within_capacity(i), Ok(()));
        }
        assert_eq!(f.push_within_capacity(9), Err(9));
        assert_eq!(&f[..], [0, 1, 2]);
        f[1] = 7;
        assert_eq!(f.pop(), Some(2));
        assert_eq!(&f[..], [0, 7]);
        let g: Fixed<u32, 3> = Fixed::default();
        let (moved, emptied) = move_into(f, g).unwrap();
        assert_eq!((&moved[..], emptied.len()), (&[0, 7][..], 0));
        let mut z: Fixed<u32, 0> = Fixed::default();
        assert_eq!((z.push_within_capacity(1), z.pop()), (Err(1), None));
    }

    /// A slab of `len` elements `0..len` in a `Fixed` of capacity 8.
    fn slab(len: u32) -> Fixed<u32, 8> {
        let mut f = Fixed::default();
        for i in 0..len {
            assert_eq!(f.push_within_capacity(i), Ok(()));
        }
        f
    }

    /// Storage that claims a capacity but whose pushes fail past `real` elements: what no
    /// [`Storage`] does, to reach the paths that guard against it.
    #[derive(Debug, Default)]
    struct Liar {
        v: Fixed<u32, 8>,
        claimed: usize,
        real: usize,
    }

    impl Deref for Liar {
        type Target = [u32];
        fn deref(&self) -> &[u32] {
            &self.v
        }
    }

    impl DerefMut for Liar {
        fn deref_mut(&mut self) -> &mut [u32] {
            &mut self.v
        }
    }

    impl Storage<u32> for Liar {
        fn capacity(&self) -> usize {
            self.claimed
        }
        fn push_within_capacity(&mut self, v: u32) -> Result<(), u32> {
            if self.v.len() >= self.real {
                return Err(v);
            }
            self.v.push_within_capacity(v)
        }
        fn pop(&mut self) -> Option<u32> {
            self.v.pop()
        }
    }

    #[test]
    fn move_slab_takes_any_empty_storage_that_holds_the_elements() {
        let sized = |n: usize| Liar {
            claimed: n,
            real: n,
            ..Liar::default()
        };
        let mut cur = sized(8);
        for i in 0..3 {
            assert_eq!(cur.push_within_capacity(i), Ok(()));
        }
        // The same capacity, or smaller with room enough: taken, in the same order, and the
        // old slab comes back emptied (a table that only grows refuses both: grow_slab).
        for n in [8, 3] {
            let back = move_slab(&mut cur, sized(n));
            assert_eq!((&cur[..], cur.capacity()), (&[0, 1, 2][..], n));
            assert_eq!(back.len(), 0);
        }
        // Too small, or not empty: given back untouched, the slab as it was.
        let back = move_slab(&mut cur, sized(2));
        assert_eq!(
            (&cur[..], back.len(), back.capacity()),
            (&[0, 1, 2][..], 0, 2)
        );
        let mut used = sized(8);
        assert_eq!(used.push_within_capacity(9), Ok(()));
        let back = move_slab(&mut cur, used);
        assert_eq!((&cur[..], &back[..]), (&[0, 1, 2][..], &[9][..]));
        // The first push failing within the claimed capacity: the slab as it was.
        let liar = Liar {
            claimed: 8,
            real: 0,
            ..Liar::default()
        };
        let back = move_slab(&mut cur, liar);
        assert_eq!((&cur[..], back.len()), (&[0, 1, 2][..], 0));
    }

    #[test]
    fn grow_slab_takes_only_larger_empty_storage() {
        let mut cur = Liar {
            claimed: 4,
            real: 4,
            ..Liar::default()
        };
        for i in 0..3 {
            assert_eq!(cur.push_within_capacity(i), Ok(()));
        }
        let sized = |n: usize| Liar {
            claimed: n,
            real: n,
            ..Liar::default()
        };
        // Not larger than the slab (though it would hold the elements): given back.
        for n in [3, 4] {
            let back = grow_slab(&mut cur, sized(n));
            assert_eq!((&cur[..], cur.capacity()), (&[0, 1, 2][..], 4));
            assert_eq!((back.len(), back.capacity()), (0, n));
        }
        // Larger but not empty: given back untouched.
        let mut used = sized(8);
        assert_eq!(used.push_within_capacity(9), Ok(()));
        let back = grow_slab(&mut cur, used);
        assert_eq!((&cur[..], &back[..]), (&[0, 1, 2][..], &[9][..]));
        // Larger and empty: taken, the old slab comes back emptied.
        let back = grow_slab(&mut cur, sized(8));
        assert_eq!((&cur[..], cur.capacity()), (&[0, 1, 2][..], 8));
        assert_eq!((back.len(), back.capacity()), (0, 4));
        // Growing from nothing.
        let mut none = Liar::default();
        let back = grow_slab(&mut none, sized(2));
        assert_eq!((none.capacity(), back.capacity()), (2, 0));
    }

    #[test]
    fn pow2_within_caps_and_rounds_down() {
        let cases = [
            (0, 16, 0),
            (1, 16, 1),
            (2, 16, 2),
            (3, 16, 2),
            (17, 16, 16),
            (31, 64, 16),
            (32, 64, 32),
            (usize::MAX, 1 << 24, 1 << 24),
            (usize::MAX, usize::MAX, 1 << (usize::BITS - 1)),
            (5, 0, 0),
            (100, 20, 16),
        ];
        for (cap, max, n) in cases {
            assert_eq!(pow2_within(cap, max), n, "cap {cap} max {max}");
        }
    }

    #[test]
    fn fresh_index_fills_a_power_of_two_or_gives_back() {
        const NIL: u32 = u32::MAX;
        // The largest power of two within the capacity, filled with NIL.
        let idx: Fixed<u32, 6> = fresh_index(Fixed::default(), 2, 64, NIL).unwrap();
        assert_eq!(&idx[..], [NIL; 4]);
        // Capped at `max`.
        let idx: Fixed<u32, 8> = fresh_index(Fixed::default(), 0, 3, NIL).unwrap();
        assert_eq!(&idx[..], [NIL; 2]);
        // No more buckets than the table has (or none at all): given back untouched.
        let back = fresh_index(Fixed::<u32, 7>::default(), 4, 64, NIL).unwrap_err();
        assert_eq!((back.len(), back.capacity()), (0, 7));
        let back = fresh_index(Fixed::<u32, 0>::default(), 0, 64, NIL).unwrap_err();
        assert_eq!(back.len(), 0);
        let back = fresh_index(Fixed::<u32, 8>::default(), 0, 0, NIL).unwrap_err();
        assert_eq!(back.len(), 0);
        // Not empty: given back untouched.
        let back = fresh_index(slab(1), 0, 64, NIL).unwrap_err();
        assert_eq!(&back[..], [0]);
        // A push failing within the claimed capacity: given back emptied.
        let liar = Liar {
            claimed: 8,
            real: 5,
            ..Liar::default()
        };
        let back = fresh_index(liar, 0, 64, NIL).unwrap_err();
        assert_eq!((back.len(), back.capacity()), (0, 8));
    }
}

#[cfg(test)]
pub(crate) mod host {
    //! Host storage: `Vec`, and an allocator for tests that can be told to fail.
    use super::Storage;
    use std::cell::Cell;
    use std::vec::Vec;

    impl<T> Storage<T> for Vec<T> {
        fn capacity(&self) -> usize {
            Vec::capacity(self)
        }

        fn push_within_capacity(&mut self, v: T) -> Result<(), T> {
            if self.len() == Vec::capacity(self) {
                return Err(v);
            }
            self.push(v);
            Ok(())
        }

        fn pop(&mut self) -> Option<T> {
            Vec::pop(self)
        }
    }

    std::thread_local! {
        /// Whether this thread's next allocations succeed.
        static FAIL: Cell<bool> = const { Cell::new(false) };
    }

    /// Makes this thread's [`alloc`] calls fail (`true`) or succeed.
    pub(crate) fn set_failing(fail: bool) {
        FAIL.with(|f| f.set(fail));
    }

    /// An empty `Vec` of capacity exactly `n`, or `None` when the thread's allocations are
    /// set to fail (or `n` is 0: nothing to allocate).
    pub(crate) fn alloc<T>(n: usize) -> Option<Vec<T>> {
        if n == 0 || FAIL.with(|f| f.get()) {
            return None;
        }
        let mut v = Vec::new();
        v.try_reserve_exact(n).ok()?;
        Some(v)
    }
}
