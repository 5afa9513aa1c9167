// SPDX-License-Identifier: GPL-2.0

//! A device's receive handler (`netdev_rx_handler_register`): frames that arrive on an
//! attached device reach the family's stack before Linux's own protocols, as a bridge port's
//! or a macvlan's do. The stack takes what is its own and hands the rest back.
//!
//! # Locking
//!
//! The handler runs in the device's receive path (softirq, under `rcu_read_lock`). Attaching
//! and detaching take RTNL ([`super::rtnl::Rtnl`]); detaching waits (`synchronize_net`) for
//! handlers in flight, so the state the handler carries outlives every call that saw it.

use super::ffi;
use super::net_device::NetDevice;
use super::proto::Family;
use super::skb::{self, Skb};
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;

/// The handler of the registered family, to recognise it on detach (one family per module).
static HANDLER: AtomicUsize = AtomicUsize::new(0);

type Handler = unsafe extern "C" fn(*mut *mut bindings::sk_buff) -> bindings::rx_handler_result_t;

/// Records `T`'s handler as the module's (when `T` registers).
pub(crate) fn install<T: Family>() {
    HANDLER.store(handler::<T> as Handler as usize, Ordering::Relaxed);
}

/// # Safety
///
/// Called by `__netif_receive_skb_core` for a device we attached, with `*pskb` a frame the
/// receive path owns, under `rcu_read_lock`.
unsafe extern "C" fn handler<T: Family>(
    pskb: *mut *mut bindings::sk_buff,
) -> bindings::rx_handler_result_t {
    const PASS: bindings::rx_handler_result_t = bindings::rx_handler_result_RX_HANDLER_PASS;
    const CONSUMED: bindings::rx_handler_result_t = bindings::rx_handler_result_RX_HANDLER_CONSUMED;
    // SAFETY: per the contract.
    let skb = unsafe { *pskb };
    // SAFETY: the frame is valid; the handler data is the state of the device's namespace,
    // alive until the handler is unregistered, which waits for us.
    // `rcu_dereference(skb->dev->rx_handler_data)`: a READ_ONCE under the caller's RCU.
    let state = unsafe { core::ptr::read_volatile(&(*skb::raw_dev(skb)).rx_handler_data) };
    // A tag no VLAN device took means the frame is for another VLAN (Linux's own IP would mark
    // it PACKET_OTHERHOST); a looped-back frame is our own.
    // SAFETY: the frame is valid.
    if state.is_null() || !unsafe { ffi::rvnet_rx_wanted(skb) } {
        return PASS;
    }
    // SAFETY: as above; the shim unshares the frame (or frees it) and orphans it, as
    // ip_rcv_core does: a frame from a socket in the peer namespace must not stay charged to
    // (and report errors to) that socket.
    let skb = unsafe { ffi::rvnet_skb_unshare_orphan(skb) };
    // SAFETY: `pskb` is the caller's slot.
    unsafe { *pskb = skb };
    // SAFETY: the frame is now ours alone, on no list.
    let Some(skb) = (unsafe { Skb::from_raw(skb) }) else {
        return CONSUMED;
    };
    // SAFETY: as above.
    let Some(net) = (unsafe { state.cast::<T::Net>().as_ref() }) else {
        return PASS;
    };
    match T::rx(net, skb) {
        Ok(()) => CONSUMED,
        Err(skb) => {
            // SAFETY: the frame goes back to the receive path through the caller's slot.
            unsafe { *pskb = skb.into_raw() };
            PASS
        }
    }
}

/// Registers `T`'s handler on `dev` with `net` as its data.
///
/// # Safety
///
/// RTNL must be held, and `net` must stay valid until [`detach`] (which the family calls
/// before freeing its state).
pub(crate) unsafe fn attach<T: Family>(dev: &NetDevice, net: &T::Net) -> Result {
    // SAFETY: per the contract.
    to_result(unsafe {
        bindings::netdev_rx_handler_register(
            dev.as_raw(),
            Some(handler::<T>),
            core::ptr::from_ref::<T::Net>(net).cast_mut().cast(),
        )
    })
}

/// Unregisters the family's handler from `dev`, if it is the one there, and waits for
/// handlers in flight.
///
/// # Safety
///
/// RTNL must be held.
pub(crate) unsafe fn detach(dev: &NetDevice) {
    // SAFETY: RTNL is held, which serialises changes of the handler we read.
    let cur = unsafe { (*dev.as_raw()).rx_handler };
    let ours = HANDLER.load(Ordering::Relaxed);
    if ours != 0 && cur.map(|f| f as usize) == Some(ours) {
        // SAFETY: RTNL is held and the handler is ours.
        unsafe { bindings::netdev_rx_handler_unregister(dev.as_raw()) };
    }
}
