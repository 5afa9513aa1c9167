// SPDX-License-Identifier: GPL-2.0

//! Bottom halves off: what process context must do before taking a lock that softirq
//! context (NAPI, transmit) also takes, or a softirq on the same CPU could spin forever on
//! the lock its own CPU holds.

use super::ffi;
use core::marker::PhantomData;

/// While this lives, softirqs do not run on this CPU. It cannot move to another thread.
pub struct BhDisabled(PhantomData<*mut ()>);

/// Disables bottom halves until the guard is dropped.
pub fn disable() -> BhDisabled {
    // SAFETY: paired with the enable in `Drop`; nesting is allowed.
    unsafe { ffi::rvnet_local_bh_disable() };
    BhDisabled(PhantomData)
}

impl Drop for BhDisabled {
    fn drop(&mut self) {
        // SAFETY: paired with the disable in `disable`, on the same CPU (the guard is !Send).
        unsafe { ffi::rvnet_local_bh_enable() };
    }
}
