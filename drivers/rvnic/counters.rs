// SPDX-License-Identifier: GPL-2.0

//! Lock-free per-queue counters: a fixed array of 64-bit atomics, indexed by the counter
//! numbers of `netcore::nic::stats`. Written on the data path with relaxed increments (each
//! counter has one meaning and no ordering with the others), read by ethtool and netlink.

use core::sync::atomic::{AtomicU64, Ordering};

/// `N` counters.
pub(crate) struct Counters<const N: usize>([AtomicU64; N]);

impl<const N: usize> Counters<N> {
    /// All zero.
    pub(crate) fn new() -> Self {
        Counters([const { AtomicU64::new(0) }; N])
    }

    /// Adds `v` to counter `i` (ignored if `i` is out of range).
    pub(crate) fn add(&self, i: usize, v: u64) {
        if let Some(c) = self.0.get(i) {
            c.fetch_add(v, Ordering::Relaxed);
        }
    }

    /// Adds `v` to counter `i` where only one writer can run at a time (the NAPI poll of the
    /// queue, or a holder of the queue's ring lock): a plain load and store, no locked
    /// read-modify-write on the hot path. Readers may see the old value, never a torn one.
    pub(crate) fn add_single_writer(&self, i: usize, v: u64) {
        if let Some(c) = self.0.get(i) {
            c.store(c.load(Ordering::Relaxed).wrapping_add(v), Ordering::Relaxed);
        }
    }

    /// Adds one to counter `i`.
    pub(crate) fn inc(&self, i: usize) {
        self.add(i, 1);
    }

    /// The value of counter `i` (0 if out of range).
    pub(crate) fn get(&self, i: usize) -> u64 {
        self.0.get(i).map_or(0, |c| c.load(Ordering::Relaxed))
    }
}
