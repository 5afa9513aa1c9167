// SPDX-License-Identifier: GPL-2.0

//! A reader-writer spinlock (`rwlock_t`) taken with bottom halves off: many readers at
//! once, one writer alone. The kernel crate has spinlocks and mutexes but no `rwlock_t`;
//! this is the lock Linux's own stack uses where softirq readers dominate and writers are
//! rare (`neigh_table.lock`, `ip_ra_lock`, the old `fib_hash` lock).
//!
//! Both modes disable bottom halves (`read_lock_bh`, `write_lock_bh`), so process context
//! and the receive path (NAPI's softirq) may take it alike. Readers on other CPUs share it;
//! a writer waits for them to leave. The lock class is static per call site of
//! [`new_rwlock!`], so lockdep checks it like any other lock.

use core::cell::UnsafeCell;
use core::marker::{PhantomData, PhantomPinned};
use kernel::bindings;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::LockClassKey;
use kernel::types::Opaque;

/// A `rwlock_t` protecting a `T`.
#[pin_data]
pub struct RwLock<T> {
    #[pin]
    lock: Opaque<bindings::rwlock_t>,
    #[pin]
    _pin: PhantomPinned,
    data: UnsafeCell<T>,
}

// SAFETY: the lock moves its data between threads only as a `T` could move itself.
unsafe impl<T: Send> Send for RwLock<T> {}
// SAFETY: shared access to `T` is given to readers of several threads at once (so `T` must
// be `Sync`), exclusive access to one writer at a time (so `T` must be `Send`).
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}

/// Makes an [`RwLock`] initialiser with a lock class of its own and a name.
#[macro_export]
macro_rules! new_rwlock {
    ($inner:expr, $name:literal $(,)?) => {
        $crate::net::rwlock::RwLock::new(
            $inner,
            kernel::c_str!($name),
            kernel::static_lock_class!(),
        )
    };
}
pub use new_rwlock;

impl<T> RwLock<T> {
    /// An initialiser of the lock, unlocked, holding `t`.
    pub fn new(t: T, name: &'static CStr, key: Pin<&'static LockClassKey>) -> impl PinInit<Self> {
        pin_init!(Self {
            data: UnsafeCell::new(t),
            _pin: PhantomPinned,
            // SAFETY: `slot` is valid for writes while the closure runs; `name` and `key` are
            // static, so they outlive the lock, as lockdep needs.
            lock <- Opaque::ffi_init(|slot: *mut bindings::rwlock_t| unsafe {
                init(slot, name, key)
            }),
        })
    }

    /// Takes the lock shared, bottom halves off, until the guard is dropped.
    pub fn read(&self) -> ReadGuard<'_, T> {
        // SAFETY: the lock was initialised by `new` (the only constructor); the guard unlocks
        // it once, with the matching `_bh` call, on the CPU that locked it (it is !Send).
        unsafe { bindings::_raw_read_lock_bh(self.lock.get()) };
        ReadGuard {
            lock: self,
            _not_send: PhantomData,
        }
    }

    /// Takes the lock exclusive, bottom halves off, until the guard is dropped.
    pub fn write(&self) -> WriteGuard<'_, T> {
        // SAFETY: as in `read`.
        unsafe { bindings::_raw_write_lock_bh(self.lock.get()) };
        WriteGuard {
            lock: self,
            _not_send: PhantomData,
        }
    }
}

/// Initialises the `rwlock_t` at `slot`: with its lockdep class when the kernel debugs
/// spinlocks (`rwlock_init` then calls `__rwlock_init`), else as `__RW_LOCK_UNLOCKED`, which
/// on a non-RT kernel is all zeroes (a qrwlock with no reader, no writer and an unlocked
/// wait lock).
///
/// # Safety
///
/// `slot` must be valid for writes and not in use as a lock.
unsafe fn init(
    slot: *mut bindings::rwlock_t,
    name: &'static CStr,
    key: Pin<&'static LockClassKey>,
) {
    #[cfg(CONFIG_DEBUG_SPINLOCK)]
    // SAFETY: `slot` is valid for writes (the caller's promise); `name` and `key` are static.
    unsafe {
        bindings::__rwlock_init(slot, name.as_char_ptr(), key.as_ptr())
    };
    #[cfg(not(CONFIG_DEBUG_SPINLOCK))]
    {
        let _ = (name, key);
        // SAFETY: `slot` is valid for writes (the caller's promise); zeroes are the unlocked
        // state of a non-debug, non-RT rwlock_t.
        unsafe { core::ptr::write_bytes(slot, 0, 1) };
    }
}

/// The lock held shared: the data may be read.
pub struct ReadGuard<'a, T> {
    lock: &'a RwLock<T>,
    _not_send: PhantomData<*mut ()>,
}

impl<T> core::ops::Deref for ReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the lock is held shared while the guard lives: no writer has the data.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> Drop for ReadGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds the lock shared, taken by `read` on this CPU.
        unsafe { bindings::_raw_read_unlock_bh(self.lock.lock.get()) };
    }
}

/// The lock held exclusive: the data may be changed.
pub struct WriteGuard<'a, T> {
    lock: &'a RwLock<T>,
    _not_send: PhantomData<*mut ()>,
}

impl<T> core::ops::Deref for WriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the lock is held exclusive while the guard lives.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> core::ops::DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the lock is held exclusive while the guard lives, and the guard is borrowed
        // mutably: this is the only reference to the data.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds the lock exclusive, taken by `write` on this CPU.
        unsafe { bindings::_raw_write_unlock_bh(self.lock.lock.get()) };
    }
}
