// SPDX-License-Identifier: GPL-2.0

//! Network namespaces: `struct net`, and a family's stack in each of them.
//!
//! A family keeps one [`Family::Net`] per namespace. [`Pernet`] builds the
//! `pernet_operations` that create it when a namespace is born (with its `/proc/net/rvnet`
//! directory and its timer) and free it when the namespace dies, after every device of the
//! namespace has been detached and every receiver in flight has finished. The state lives in
//! a [`PernetSlot`] in the namespace's `net_generic` area, which is how the kernel's own
//! protocols (ipv4's `net->ipv4`, or any module's `net_generic(net, id)`) find theirs.
//!
//! # Locking
//!
//! `init` and `exit` run in process context, several namespaces at once on several CPUs; each
//! touches only its own slot. The timer is a delayed work item, cancelled (and waited for) in
//! `exit` before the state is freed. The receive path never reaches the slot: a device's
//! receive handler carries the state pointer itself (see [`super::rx_handler`]).

use super::ffi;
use super::net_device::{dev_from_held, DevRef};
use super::proto::Family;
use super::seq_file;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::bindings;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;

/// A network namespace, borrowed.
///
/// # Invariants
///
/// `self.0` points to a live `struct net` for as long as the family's state for it lives
/// (pernet state is freed in the namespace's exit, before the namespace itself).
#[derive(Clone, Copy)]
pub struct NetNs(NonNull<bindings::net>);

// SAFETY: a namespace is shared by every CPU; we only pass its pointer to functions that
// take their own locks.
unsafe impl Send for NetNs {}
// SAFETY: as above.
unsafe impl Sync for NetNs {}

impl NetNs {
    /// Wraps `net`.
    ///
    /// # Safety
    ///
    /// `net` must be live for as long as the returned value is used (the family's state for
    /// it lives, or a socket or request of the namespace is in progress).
    pub(crate) unsafe fn from_raw(net: NonNull<bindings::net>) -> NetNs {
        // INVARIANT: the caller's promise.
        NetNs(net)
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::net {
        self.0.as_ptr()
    }

    /// True if the calling task has `cap` in the namespace's user namespace.
    pub fn capable(&self, cap: u32) -> bool {
        // SAFETY: the namespace is live by the type invariant; its user namespace lives as
        // long as it does.
        unsafe { bindings::ns_capable((*self.as_raw()).user_ns, cap as c_int) }
    }

    /// The device with `ifindex` in this namespace, held.
    pub fn device(&self, ifindex: i32) -> Option<DevRef> {
        // SAFETY: the namespace is live; `dev_get_by_index` takes a reference for us.
        let p = unsafe { bindings::dev_get_by_index(self.as_raw(), ifindex) };
        // SAFETY: `p` is null or a device on which we now hold one reference.
        unsafe { dev_from_held(p) }
    }

    /// The state of family `T` in this namespace, if `T` is registered and the namespace's
    /// state was created.
    pub fn state<T: Family>(&self) -> Option<&T::Net> {
        // SAFETY: the namespace is live; while it is, its slot holds null or the live state
        // `init` made (`exit` clears it before freeing).
        unsafe { Pernet::<T>::state_of(self.as_raw()) }
    }
}

/// The family's part of a namespace's `net_generic` area.
#[repr(C)]
struct PernetSlot {
    /// The `T::Net` (a leaked `KBox`), or null.
    state: *mut c_void,
    /// `/proc/net/rvnet` of this namespace, or null.
    proc: *mut bindings::proc_dir_entry,
    /// The stack's timer.
    tick: bindings::delayed_work,
}

/// The id `register_pernet_subsys` gives the family's slot. A module registers one family
/// (the socket layer knows it by the `family` parameter), so one id serves.
static NET_ID: AtomicU32 = AtomicU32::new(0);

/// The first tick runs this soon after the namespace is made.
const FIRST_TICK_MS: u32 = 100;

/// The `pernet_operations` of family `T`.
pub(crate) struct Pernet<T: Family>(core::marker::PhantomData<T>);

impl<T: Family> Pernet<T> {
    /// The table to register; `id` and `size` tell the core to allocate our slot.
    pub(crate) fn ops() -> bindings::pernet_operations {
        bindings::pernet_operations {
            init: Some(Self::init),
            exit: Some(Self::exit),
            id: NET_ID.as_ptr(),
            size: core::mem::size_of::<PernetSlot>(),
            // SAFETY: the other members (list head, batch callbacks) are valid zeroed.
            ..unsafe { core::mem::zeroed() }
        }
    }

    /// # Safety
    ///
    /// `net` must be live and its generic area set up (after our `init` began and before
    /// the area is freed, which is after `exit`).
    unsafe fn slot(net: *mut bindings::net) -> *mut PernetSlot {
        // SAFETY: per the contract; the shim reads `net->gen` under RCU.
        unsafe { ffi::rvnet_net_generic(net, NET_ID.load(Ordering::Relaxed)).cast() }
    }

    /// # Safety
    ///
    /// `net` must be live and, if our pernet operations are registered, set up.
    pub(crate) unsafe fn state_of<'a>(net: *mut bindings::net) -> Option<&'a T::Net> {
        if NET_ID.load(Ordering::Relaxed) == 0 {
            return None;
        }
        // SAFETY: per the contract.
        let slot = unsafe { Self::slot(net) };
        // SAFETY: the slot is null (no area) or ours; `state` is null or a live `T::Net`.
        unsafe {
            slot.as_ref()
                .and_then(|s| s.state.cast::<T::Net>().as_ref())
        }
    }

    /// # Safety
    ///
    /// Called by the namespace core for a namespace being created.
    unsafe extern "C" fn init(net: *mut bindings::net) -> c_int {
        let Some(nn) = NonNull::new(net) else {
            return EINVAL.to_errno();
        };
        // SAFETY: the core allocated our zeroed slot before calling `init`.
        let slot = unsafe { &mut *Self::slot(net) };
        // INVARIANT: the namespace outlives its pernet state.
        let state = match T::net_new(NetNs(nn)) {
            // SAFETY: the state stays pinned: only `exit` rebuilds the box, to drop it.
            Ok(b) => KBox::into_raw(unsafe { Pin::into_inner_unchecked(b) }),
            Err(e) => return e.to_errno(),
        };
        slot.state = state.cast();
        // SAFETY: `net` is live; the directory and files are removed in `exit`.
        slot.proc = unsafe { seq_file::create_proc_dir::<T>(net) };
        // SAFETY: the slot is ours and stays put until `exit`, which cancels the work.
        unsafe {
            ffi::rvnet_init_delayed_work(&mut slot.tick, Some(Self::tick));
            Self::schedule(&mut slot.tick, FIRST_TICK_MS);
        }
        0
    }

    /// # Safety
    ///
    /// `work` must be the initialised `tick` of a live slot.
    unsafe fn schedule(work: *mut bindings::delayed_work, ms: u32) {
        // SAFETY: per the contract; `system_dfl_wq` (unbound: the tick needs no CPU of its
        // own, and `system_wq` is deprecated) lives for ever.
        unsafe {
            bindings::queue_delayed_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as c_int,
                bindings::system_dfl_wq,
                work,
                bindings::__msecs_to_jiffies(ms),
            )
        };
    }

    /// # Safety
    ///
    /// Called by the workqueue for the `tick.work` of a live slot.
    unsafe extern "C" fn tick(work: *mut bindings::work_struct) {
        let off = core::mem::offset_of!(PernetSlot, tick)
            + core::mem::offset_of!(bindings::delayed_work, work);
        // SAFETY: `work` is the `tick.work` member of a `PernetSlot` (container_of).
        let slot = unsafe { &mut *work.cast::<u8>().sub(off).cast::<PernetSlot>() };
        // SAFETY: `exit` cancels this work before it clears and frees the state.
        let Some(net) = (unsafe { slot.state.cast::<T::Net>().as_ref() }) else {
            return;
        };
        let ms = T::net_tick(net).clamp(10, 1000) as u32;
        // SAFETY: the slot is live (as above).
        unsafe { Self::schedule(&mut slot.tick, ms) };
    }

    /// # Safety
    ///
    /// Called by the namespace core for a namespace being destroyed (no sockets left in it:
    /// each holds the namespace).
    unsafe extern "C" fn exit(net: *mut bindings::net) {
        // SAFETY: the area lives until after `exit`.
        let slot = unsafe { &mut *Self::slot(net) };
        if slot.state.is_null() {
            return;
        }
        // SAFETY: initialised in `init` (state is set only then); waits for a running tick.
        unsafe { bindings::cancel_delayed_work_sync(&mut slot.tick) };
        if !slot.proc.is_null() {
            // SAFETY: made in `init`; waits for readers of its files.
            unsafe { bindings::proc_remove(slot.proc) };
        }
        // SAFETY: `state` is the live `T::Net` made in `init`.
        if let Some(st) = unsafe { slot.state.cast::<T::Net>().as_ref() } {
            let rtnl = super::rtnl::Rtnl::lock();
            T::net_detach_all(st, &rtnl.held());
        }
        let state = core::mem::replace(&mut slot.state, core::ptr::null_mut());
        // SAFETY: process context. Receivers that saw the state through a receive handler
        // are done (unregistering a handler waits for them); this also covers lookups
        // through the slot that raced with the detach.
        unsafe { bindings::synchronize_net() };
        // SAFETY: `state` came from `KBox::into_raw` in `init`; nothing uses it any more.
        drop(unsafe { KBox::from_raw(state.cast::<T::Net>()) });
    }
}
