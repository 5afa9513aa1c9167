// SPDX-License-Identifier: GPL-2.0

//! NAPI: the interrupt-then-poll receive model.
//!
//! A real NIC raises an interrupt when frames arrive; the driver masks it and schedules its
//! NAPI context, whose poll runs in softirq context, hands up to `budget` frames to the stack
//! and, once the ring is empty, completes and unmasks. [`NapiQueue<P>`] is one such context
//! with the driver's per-queue state `P` beside it; `P::poll` is the driver's poll.
//! Seed notes: "packet flow" (NIC -> interrupt -> softirq -> netif_receive_skb).

use super::ffi;
use super::net_device::{Device, NetDevice, NetDriver};
use super::skb::Skb;
use core::sync::atomic::{AtomicU8, Ordering};
use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A driver's NAPI poll.
pub trait NapiPoller: Send + Sync + Sized + 'static {
    /// The driver whose devices the contexts are added to.
    type Driver: NetDriver;

    /// Polls: hand up at most `budget` frames, return how many. Complete with
    /// [`NapiQueue::complete_done`] when done is below the budget.
    fn poll(queue: &NapiQueue<Self>, budget: i32) -> i32;
}

const NAPI_IDLE: u8 = 0;
const NAPI_RUNNING: u8 = 1;

/// A NAPI context and the driver's queue state `P`.
///
/// # Invariants
///
/// `napi` is first in a `repr(C)` struct, so a pointer to it is a pointer to the queue.
/// While `state` is `NAPI_RUNNING` the context is added to a device and enabled; while it
/// is `NAPI_IDLE` it is not added (or has been deleted).
#[repr(C)]
#[pin_data(PinnedDrop)]
pub struct NapiQueue<P: NapiPoller> {
    #[pin]
    napi: Opaque<bindings::napi_struct>,
    state: AtomicU8,
    /// The driver's state of this queue.
    #[pin]
    pub inner: P,
}

// SAFETY: the NAPI core serialises polls and state changes of a context; `inner` is Sync.
unsafe impl<P: NapiPoller> Sync for NapiQueue<P> {}
// SAFETY: as above.
unsafe impl<P: NapiPoller> Send for NapiQueue<P> {}

impl<P: NapiPoller> NapiQueue<P> {
    /// A context that is not yet attached to a device.
    pub fn new(inner: impl PinInit<P, Error>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            napi: Opaque::zeroed(),
            state: AtomicU8::new(NAPI_IDLE),
            inner <- inner,
        })
    }

    fn raw(&self) -> *mut bindings::napi_struct {
        self.napi.get()
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn poll_cb(
        napi: *mut bindings::napi_struct,
        budget: kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        // SAFETY: the core calls this only for contexts added by `start`, whose napi_struct
        // is the first field of a live `NapiQueue<P>` (type invariant).
        let q = unsafe { &*napi.cast::<NapiQueue<P>>() };
        P::poll(q, budget)
    }

    /// Adds the context to `dev` and enables it (the driver's `ndo_open`). Does nothing if it
    /// is running already. The queue must not move or be dropped while running: it is pinned,
    /// and its drop stops it.
    pub fn start(self: Pin<&Self>, dev: &Device<P::Driver>) {
        if self.state.load(Ordering::Acquire) == NAPI_RUNNING {
            return;
        }
        // SAFETY: `dev` is valid; the context is pinned and not added (state idle); the core
        // calls `poll_cb` with it only until `stop` deletes it.
        unsafe {
            ffi::rvnet_napi_add(dev.as_raw(), self.raw(), Some(Self::poll_cb));
            bindings::napi_enable(self.raw());
        }
        self.state.store(NAPI_RUNNING, Ordering::Release);
    }

    /// Disables the context (waiting for a running poll) and deletes it (the driver's
    /// `ndo_stop`). May sleep. Does nothing if it is not running.
    pub fn stop(&self) {
        if self.state.swap(NAPI_IDLE, Ordering::AcqRel) != NAPI_RUNNING {
            return;
        }
        // SAFETY: the context was added and enabled by `start`; disabling then deleting it
        // (which waits for an RCU grace period) is the teardown the core expects.
        unsafe {
            bindings::napi_disable(self.raw());
            ffi::rvnet_napi_del(self.raw());
        }
    }

    /// Tries to claim the context for a poll (`napi_schedule_prep`): true if this caller must
    /// then [`Self::schedule_claimed`] it.
    pub fn schedule_prep(&self) -> bool {
        self.state.load(Ordering::Acquire) == NAPI_RUNNING
            // SAFETY: the context is added and enabled while running.
            && unsafe { bindings::napi_schedule_prep(self.raw()) }
    }

    /// Schedules a poll claimed with [`Self::schedule_prep`]: the virtual interrupt.
    pub fn schedule_claimed(&self) {
        // SAFETY: the caller claimed the context with `napi_schedule_prep`.
        unsafe { bindings::__napi_schedule(self.raw()) }
    }

    /// Completes a poll that did `work` frames, under the budget. False if the core wants
    /// the context to keep polling (busy polling, or a schedule came in meanwhile).
    pub fn complete_done(&self, work: i32) -> bool {
        // SAFETY: called from our own poll, which owns the context.
        unsafe { bindings::napi_complete_done(self.raw(), work) }
    }

    /// The device the context belongs to. Only meaningful from the poll.
    fn netdev(&self) -> &NetDevice {
        // SAFETY: while the context is added (as it is during a poll), `napi->dev` is the
        // device it was added to, which outlives it.
        unsafe { NetDevice::from_raw((*self.raw()).dev) }
    }

    /// The device the context belongs to, with its driver state. Only from the poll.
    pub fn device(&self) -> Option<&Device<P::Driver>> {
        // SAFETY: `start` adds the context only to devices of `P::Driver`, and the poll runs
        // while it is added, so `napi->dev` is one of them and valid.
        unsafe { Device::<P::Driver>::from_raw((*self.raw()).dev) }
    }

    /// Receives a frame from the wire: strips the Ethernet header (`eth_type_trans`) and
    /// hands it to GRO if `gro` (and it is not shared, cloned or GSO already), else straight
    /// up. True if GRO merged it. Only from the poll.
    pub fn receive(&self, skb: Skb, gro: bool) -> bool {
        let dev = self.netdev().as_raw();
        let raw = skb.into_raw();
        // SAFETY: `raw` is an skb we own, given to the stack here; `dev` is our device; we
        // are in our own poll, as GRO requires.
        unsafe {
            ffi::rvnet_skb_rx_prepare(raw, dev);
            ffi::rvnet_napi_receive(self.raw(), raw, gro)
        }
    }
}

#[pinned_drop]
impl<P: NapiPoller> PinnedDrop for NapiQueue<P> {
    fn drop(self: Pin<&mut Self>) {
        self.stop();
    }
}
