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
