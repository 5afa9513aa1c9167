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
