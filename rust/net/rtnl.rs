// SPDX-License-Identifier: GPL-2.0

//! RTNL, the lock that serialises configuration of network devices, as types: [`Rtnl`] holds
//! it, and [`RtnlHeld`] proves a callback runs under it. Attaching a family's receive
//! handler to a device needs it.

use super::net_device::NetDevice;
use super::proto::Family;
use super::rx_handler;
use core::marker::PhantomData;
use kernel::bindings;
use kernel::prelude::*;

/// RTNL, held while this lives.
pub struct Rtnl(PhantomData<*mut ()>);

impl Rtnl {
    /// Takes RTNL. May sleep.
    pub fn lock() -> Rtnl {
        // SAFETY: process context (callers are system calls and work items).
        unsafe { bindings::rtnl_lock() };
        Rtnl(PhantomData)
    }

    /// The proof that RTNL is held, for as long as `self` is.
    pub fn held(&self) -> RtnlHeld<'_> {
        RtnlHeld(PhantomData)
    }

    /// Hands the frames `dev` receives to `T`'s stack `net` first (its receive handler).
    pub fn attach_rx<T: Family>(&self, dev: &NetDevice, net: &T::Net) -> Result {
        // SAFETY: RTNL is held (`self`); `net` outlives the attachment, because the family
        // detaches every device before its per-namespace state is freed.
        unsafe { rx_handler::attach::<T>(dev, net) }
    }

    /// Undoes [`Rtnl::attach_rx`] (waits for receivers in flight to finish).
    pub fn detach_rx(&self, dev: &NetDevice) {
        self.held().detach_rx(dev)
    }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        // SAFETY: paired with the lock in `lock`.
        unsafe { bindings::rtnl_unlock() };
    }
}

/// Proof that RTNL is held, for callbacks the core calls under it.
pub struct RtnlHeld<'a>(PhantomData<&'a ()>);

impl RtnlHeld<'_> {
    /// Made only where the kernel's contract says RTNL is held.
    ///
    /// # Safety
    ///
    /// RTNL must be held for the lifetime of the value.
    pub(crate) unsafe fn assume() -> Self {
        RtnlHeld(PhantomData)
    }

    /// See [`Rtnl::detach_rx`].
    pub fn detach_rx(&self, dev: &NetDevice) {
        // SAFETY: RTNL is held (the type's promise).
        unsafe { rx_handler::detach(dev) }
    }
}
