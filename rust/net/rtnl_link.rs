// SPDX-License-Identifier: GPL-2.0

//! `rtnl_link_ops`: `ip link add NAME type KIND peer name PEER` makes a pair of a driver's
//! devices, as veth's do, and `ip link del` deletes both ends.

use super::ffi;
use super::net_device::{Adapter, NetDriver};
use core::marker::PhantomData;
use kernel::bindings;
use kernel::error::{from_result, to_result, Error};
use kernel::prelude::*;
use kernel::types::Opaque;

impl<T: NetDriver> Adapter<T> {
    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn newlink(
        dev: *mut bindings::net_device,
        params: *mut bindings::rtnl_newlink_params,
        extack: *mut bindings::netlink_ext_ack,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: the core passes a valid, unregistered device of ours, under RTNL.
            let ops = unsafe { (*dev).rtnl_link_ops };
            // SAFETY: all pointers come from the core and are valid for this call.
            let peer = unsafe { ffi::rvnet_rtnl_create_peer(dev, params, ops, extack) };
            let peer = kernel::error::from_err_ptr(peer)?;
            // SAFETY: `peer` is a new, unregistered device of ours.
            if let Err(e) = unsafe { Self::attach(peer) } {
                // SAFETY: the peer was never registered and has no state: free it.
                unsafe { bindings::free_netdev(peer) };
                return Err(e);
            }
            // SAFETY: valid device and params; on failure the shim has freed the peer and its
            // state, or unregistered it (the core then frees both).
            to_result(unsafe { ffi::rvnet_rtnl_register_peer(peer, params) })?;
            // SAFETY: `dev` is the core's new, unregistered device of ours.
            let attached = unsafe { Self::attach(dev) }
                // SAFETY: valid device and params, under RTNL.
                .and_then(|()| to_result(unsafe { ffi::rvnet_rtnl_register_dev(dev, params) }));
            if let Err(e) = attached {
                // The core frees `dev`; the registered peer must go too. If `dev` got state
                // but did not register, free that state here: no destructor will run.
                // SAFETY: `dev` is not registered, so we are the slot's only user.
                unsafe { Self::priv_destructor(dev) };
                // SAFETY: `peer` is registered and we hold RTNL.
                unsafe { bindings::unregister_netdevice_queue(peer, core::ptr::null_mut()) };
                return Err(e);
            }
            // SAFETY: both are registered devices of ours with state attached (so both are
            // `Some`; were one not, the pair would stay unlinked and drop what it sends).
            if let (Some(d), Some(p)) = unsafe { (Self::dev(dev), Self::dev(peer)) } {
                d.state().peer_link().set(peer);
                p.state().peer_link().set(dev);
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn dellink(dev: *mut bindings::net_device, head: *mut bindings::list_head) {
        // SAFETY: the core passes a registered device of ours, under RTNL.
        if let Some(d) = unsafe { Self::dev(dev) } {
            let link = d.state().peer_link();
            if let Some(peer) = link.get() {
                // Unlink both ends first: the data path must not reach a device on its way
                // out (unregistration then waits for the data path's RCU readers).
                peer.state().peer_link().clear();
                link.clear();
                // SAFETY: `peer` is registered; RTNL is held; `head` is the core's list.
                unsafe { bindings::unregister_netdevice_queue(peer.as_raw(), head) };
            }
        }
        // SAFETY: as above.
        unsafe { bindings::unregister_netdevice_queue(dev, head) };
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn num_queues() -> kernel::ffi::c_uint {
        T::DEFAULT_QUEUES
    }
}

/// The registration of a driver's link type (`rtnl_link_register`): while it lives,
/// `ip link add ... type KIND` creates pairs of `T`'s devices. Dropping it deletes every
/// device of the kind, in every namespace.
#[pin_data(PinnedDrop)]
pub struct LinkRegistration<T: NetDriver> {
    #[pin]
    ops: Opaque<bindings::rtnl_link_ops>,
    _t: PhantomData<T>,
}

// SAFETY: after registration the ops are only read by the core, which locks as it needs.
unsafe impl<T: NetDriver> Sync for LinkRegistration<T> {}
// SAFETY: as above.
unsafe impl<T: NetDriver> Send for LinkRegistration<T> {}

impl<T: NetDriver> LinkRegistration<T> {
    /// Registers the link type.
    pub fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            ops <- Opaque::try_ffi_init(|p: *mut bindings::rtnl_link_ops| {
                // SAFETY: `p` is our pinned, uninitialised slot; zero is a valid start for
                // every field (the core initialises `list` and `srcu` itself).
                unsafe {
                    core::ptr::write_bytes(p, 0, 1);
                    (*p).kind = T::KIND.as_char_ptr();
                    (*p).priv_size = core::mem::size_of::<*const T>();
                    (*p).setup = Some(Adapter::<T>::setup);
                    (*p).newlink = Some(Adapter::<T>::newlink);
                    (*p).dellink = Some(Adapter::<T>::dellink);
                    (*p).get_num_tx_queues = Some(Adapter::<T>::num_queues);
                    (*p).get_num_rx_queues = Some(Adapter::<T>::num_queues);
                    (*p).peer_type = 1;
                    ffi::rvnet_link_ops_init(p);
                    to_result(bindings::rtnl_link_register(p))
                }
            }),
            _t: PhantomData,
        })
    }

    /// Creates a pair in the initial namespace, as `ip link add type KIND` with no names.
    pub fn create_pair(&self) -> Result {
        // SAFETY: the ops are registered; the shim takes RTNL itself.
        to_result(unsafe { ffi::rvnet_rtnl_create_default(self.ops.get()) })
    }
}

#[pinned_drop]
impl<T: NetDriver> PinnedDrop for LinkRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: the ops were registered in `new` (a failed `new` never yields `Self`).
        unsafe { bindings::rtnl_link_unregister(self.ops.get()) };
    }
}
