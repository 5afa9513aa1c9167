// SPDX-License-Identifier: GPL-2.0

//! `rtnl_link_ops`: `ip link add NAME type KIND peer name PEER` makes a pair of a driver's
//! devices, as veth's do (`veth_newlink`), and `ip link del` deletes both ends.
//!
//! IFLA_INFO_DATA of a pair holds one attribute, the peer's `ifinfomsg` and its IFLA_*
//! attributes, in the layout of veth's VETH_INFO_PEER, so that iproute2's veth parser can
//! build it.

use super::net_device::{Adapter, NetDriver};
use core::marker::PhantomData;
use kernel::bindings;
use kernel::error::{from_err_ptr, from_result, to_result, Error};
use kernel::ffi::c_char;
use kernel::prelude::*;
use kernel::types::Opaque;

/// The one attribute of IFLA_INFO_DATA, as veth's VETH_INFO_PEER.
const INFO_PEER: usize = 1;
const INFO_MAX: usize = 1;
/// `NLA_HDRLEN`: an attribute's payload starts after its aligned header.
const NLA_HDRLEN: usize = 4;
const IFLA_TB: usize = bindings::__IFLA_MAX as usize;

/// The netlink policy of IFLA_INFO_DATA: the peer attribute is at least an `ifinfomsg`.
#[repr(transparent)]
struct Policy([bindings::nla_policy; INFO_MAX + 1]);

// SAFETY: never written after it is built; it holds no pointers.
unsafe impl Sync for Policy {}

static POLICY: Policy = Policy({
    // SAFETY: a zeroed entry is NLA_UNSPEC with no limits and no pointers.
    let mut p: [bindings::nla_policy; INFO_MAX + 1] = unsafe { core::mem::zeroed() };
    p[INFO_PEER].len = core::mem::size_of::<bindings::ifinfomsg>() as u16;
    p
});

/// The peer attribute of a request, if it has one.
///
/// # Safety
///
/// `params` must be the core's valid newlink parameters.
unsafe fn peer_attr(params: *const bindings::rtnl_newlink_params) -> *mut bindings::nlattr {
    // SAFETY: `data` is null or the parsed IFLA_INFO_DATA table of `INFO_MAX + 1` entries.
    unsafe {
        let data = (*params).data;
        if data.is_null() {
            core::ptr::null_mut()
        } else {
            *data.add(INFO_PEER)
        }
    }
}

/// The peer's `ifinfomsg` inside its attribute (`nla_data`), or null.
///
/// # Safety
///
/// `attr` must be null or a policy-checked peer attribute (at least an `ifinfomsg` long).
unsafe fn peer_ifinfo(attr: *mut bindings::nlattr) -> *mut bindings::ifinfomsg {
    if attr.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract, the payload after the header is an `ifinfomsg`.
    unsafe { attr.cast::<u8>().add(NLA_HDRLEN).cast() }
}

/// `eth_hw_addr_random`: a random, locally administered unicast address.
///
/// # Safety
///
/// `dev` must be a valid, unregistered device (or one under RTNL).
unsafe fn random_mac(dev: *mut bindings::net_device) {
    let mut addr = [0u8; 6];
    // SAFETY: `addr` is writable for its length; `dev` is valid (the caller's promise).
    unsafe {
        bindings::get_random_bytes(addr.as_mut_ptr().cast(), addr.len());
        addr[0] = (addr[0] & 0xfe) | 0x02;
        bindings::dev_addr_mod(dev, 0, addr.as_ptr().cast(), addr.len());
        (*dev).addr_assign_type = bindings::NET_ADDR_RANDOM as u8;
    }
}

/// "KIND%d", the name the core numbers (`rvnic0`, `rvnic1`, ...).
///
/// # Safety
///
/// `ops` must be valid, its kind a NUL-terminated string.
unsafe fn enum_name(ops: *const bindings::rtnl_link_ops) -> [c_char; bindings::IFNAMSIZ as usize] {
    let mut name = [0 as c_char; bindings::IFNAMSIZ as usize];
    // SAFETY: per the contract.
    let kind = unsafe { kernel::str::CStr::from_char_ptr((*ops).kind) }.to_bytes();
    let n = kind.len().min(name.len() - 3);
    for (d, s) in name
        .iter_mut()
        .zip(Iterator::chain(kind[..n].iter(), b"%d"))
    {
        *d = *s as c_char;
    }
    name
}

/// Creates (unregistered) the peer of `dev`, named and placed as the request says.
///
/// # Safety
///
/// Called from `newlink` with the core's valid `dev`, `params`, `ops` and `extack`, under RTNL.
unsafe fn create_peer(
    dev: *mut bindings::net_device,
    params: *mut bindings::rtnl_newlink_params,
    ops: *const bindings::rtnl_link_ops,
    extack: *mut bindings::netlink_ext_ack,
) -> Result<*mut bindings::net_device> {
    let mut peer_tb = [core::ptr::null_mut::<bindings::nlattr>(); IFLA_TB];
    // SAFETY: per the contract.
    let attr = unsafe { peer_attr(params) };
    let tbp = if attr.is_null() {
        // SAFETY: per the contract.
        unsafe { (*params).tb }
    } else {
        // SAFETY: `peer_tb` has IFLA_MAX + 1 slots; `attr` is the policy-checked peer.
        to_result(unsafe {
            bindings::rtnl_nla_parse_ifinfomsg(peer_tb.as_mut_ptr(), attr, extack)
        })?;
        peer_tb.as_mut_ptr()
    };
    // SAFETY: `attr` is null or the checked peer attribute.
    let ifmp = unsafe { peer_ifinfo(attr) };
    // SAFETY: `tbp` has IFLA_MAX + 1 slots.
    let (name, address) = unsafe {
        (
            *tbp.add(bindings::IFLA_IFNAME as usize),
            *tbp.add(bindings::IFLA_ADDRESS as usize),
        )
    };
    let mut ifname = [0 as c_char; bindings::IFNAMSIZ as usize];
    let assign = if !ifmp.is_null() && !name.is_null() {
        // SAFETY: `ifname` has IFNAMSIZ bytes; `name` is a string attribute.
        unsafe { bindings::nla_strscpy(ifname.as_mut_ptr(), name, ifname.len()) };
        bindings::NET_NAME_USER
    } else {
        // SAFETY: per the contract.
        ifname = unsafe { enum_name(ops) };
        bindings::NET_NAME_ENUM
    };
    // `rtnl_newlink_peer_net`: the peer's namespace, else the link's, else the caller's.
    // SAFETY: per the contract.
    let net = unsafe {
        let p = &*params;
        [p.peer_net, p.link_net, p.src_net]
            .into_iter()
            .find(|n| !n.is_null())
            .unwrap_or(p.src_net)
    };
    // SAFETY: all pointers are valid for the call; RTNL is held.
    let peer = from_err_ptr(unsafe {
        bindings::rtnl_create_link(net, ifname.as_ptr(), assign as u8, ops, tbp, extack)
    })?;
    // SAFETY: `peer` is a new, unregistered device; `dev` and `ifmp` are the core's.
    unsafe {
        if ifmp.is_null() || address.is_null() {
            random_mac(peer);
        }
        if !ifmp.is_null() && (*dev).ifindex != 0 {
            (*peer).ifindex = (*ifmp).ifi_index;
        }
        bindings::netif_inherit_tso_max(peer, dev);
    }
    Ok(peer)
}

/// Registers the peer. On failure the peer is gone: freed if it never registered (after its
/// private state, since `register_netdevice` skips `priv_destructor` on early failures such
/// as a name that is taken), unregistered (and freed by the core) if configuring it failed.
///
/// # Safety
///
/// `peer` must come from [`create_peer`] with its state attached; `params` are the core's.
unsafe fn register_peer(
    peer: *mut bindings::net_device,
    params: *mut bindings::rtnl_newlink_params,
) -> Result {
    // SAFETY: per the contract, under RTNL.
    unsafe {
        if let Err(e) = to_result(bindings::register_netdevice(peer)) {
            // The destructor is idempotent: it may have run already.
            if let Some(d) = (*peer).priv_destructor {
                d(peer);
            }
            bindings::free_netdev(peer);
            return Err(e);
        }
        bindings::netif_carrier_off(peer);
        let r = to_result(bindings::rtnl_configure_link(
            peer,
            peer_ifinfo(peer_attr(params)),
            0,
            core::ptr::null(),
        ));
        if r.is_err() {
            bindings::unregister_netdevice_queue(peer, core::ptr::null_mut());
        }
        r
    }
}

/// Registers the device the request named (`dev`), with a random MAC unless one was given.
///
/// # Safety
///
/// As for `newlink`.
unsafe fn register_dev(
    dev: *mut bindings::net_device,
    params: *mut bindings::rtnl_newlink_params,
) -> Result {
    // SAFETY: per the contract, under RTNL; `tb` has IFLA_MAX + 1 slots.
    unsafe {
        if (*(*params).tb.add(bindings::IFLA_ADDRESS as usize)).is_null() {
            random_mac(dev);
        }
        to_result(bindings::register_netdevice(dev))?;
        bindings::netif_carrier_off(dev);
    }
    Ok(())
}

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
            let peer = unsafe { create_peer(dev, params, ops, extack) }?;
            // SAFETY: `peer` is a new, unregistered device of ours.
            if let Err(e) = unsafe { Self::attach(peer) } {
                // SAFETY: the peer was never registered and has no state: free it.
                unsafe { bindings::free_netdev(peer) };
                return Err(e);
            }
            // SAFETY: valid device and params; on failure the shim has freed the peer and its
            // state, or unregistered it (the core then frees both).
            unsafe { register_peer(peer, params) }?;
            // SAFETY: `dev` is the core's new, unregistered device of ours.
            let attached = unsafe { Self::attach(dev) }
                // SAFETY: valid device and params, under RTNL.
                .and_then(|()| unsafe { register_dev(dev, params) });
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
                    (*p).policy = POLICY.0.as_ptr();
                    (*p).maxtype = INFO_MAX as u32;
                    to_result(bindings::rtnl_link_register(p))
                }
            }),
            _t: PhantomData,
        })
    }

    /// Creates a pair in the initial namespace with the core's names, as `ip link add type
    /// KIND` would: for the module's `pairs=` parameter. Takes RTNL; may sleep.
    pub fn create_pair(&self) -> Result {
        let ops = self.ops.get();
        let mut tb = [core::ptr::null_mut::<bindings::nlattr>(); IFLA_TB];
        let net = &raw mut bindings::init_net;
        // SAFETY: zero is "not given" for every member but the two set.
        let mut params = bindings::rtnl_newlink_params {
            src_net: net,
            tb: tb.as_mut_ptr(),
            ..unsafe { core::mem::zeroed() }
        };
        // SAFETY: our registered ops.
        let name = unsafe { enum_name(ops) };
        let _rtnl = super::rtnl::Rtnl::lock();
        // SAFETY: RTNL is held; `tb` has IFLA_MAX + 1 empty slots.
        let dev = from_err_ptr(unsafe {
            bindings::rtnl_create_link(
                net,
                name.as_ptr(),
                bindings::NET_NAME_ENUM as u8,
                ops,
                tb.as_mut_ptr(),
                core::ptr::null_mut(),
            )
        })?;
        // SAFETY: `dev` is the new, unregistered device of our kind; RTNL is held.
        let r = unsafe { Adapter::<T>::newlink(dev, &mut params, core::ptr::null_mut()) };
        if r < 0 {
            // SAFETY: `newlink` left `dev` unregistered and ours to free.
            unsafe { bindings::free_netdev(dev) };
            return Err(Error::from_errno(r));
        }
        // SAFETY: `dev` is registered; RTNL is held.
        let r =
            unsafe { bindings::rtnl_configure_link(dev, core::ptr::null(), 0, core::ptr::null()) };
        if r < 0 {
            let mut kill = bindings::list_head {
                next: core::ptr::null_mut(),
                prev: core::ptr::null_mut(),
            };
            let head = &raw mut kill;
            // SAFETY: `LIST_HEAD`: an empty list points at itself; `kill` stays in place
            // until `unregister_netdevice_many` has emptied it. RTNL is held.
            unsafe {
                (*head).next = head;
                (*head).prev = head;
                Adapter::<T>::dellink(dev, head);
                bindings::unregister_netdevice_many(head);
            }
            return Err(Error::from_errno(r));
        }
        Ok(())
    }
}

#[pinned_drop]
impl<T: NetDriver> PinnedDrop for LinkRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: the ops were registered in `new` (a failed `new` never yields `Self`).
        unsafe { bindings::rtnl_link_unregister(self.ops.get()) };
    }
}
