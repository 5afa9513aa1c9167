// SPDX-License-Identifier: GPL-2.0

//! Network devices: `struct net_device` and the driver interface around it.
//!
//! [`NetDevice`] is a borrowed device with the accessors a driver needs. A driver is a type
//! `T: NetDriver`: one `T` is the private state of each of its devices, reached through
//! [`Device<T>`]. The [`Adapter`] turns `T`'s safe methods into the C operation tables
//! (`net_device_ops`, `ethtool_ops`, `netdev_stat_ops`, `rtnl_link_ops`) and is the only code
//! that builds a `Device<T>` from a raw pointer.
//!
//! The device's private area (`netdev_priv`) holds one pointer: the `T`, allocated with
//! `KBox` when the device is created and dropped by `priv_destructor`, which the core runs
//! once the device is unregistered and no one references it.

use super::ffi;
use super::skb::Skb;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::bindings;
use kernel::error::{code, from_result, to_result, Error};
use kernel::prelude::*;
use kernel::types::Opaque;

/// A network device, borrowed.
///
/// # Invariants
///
/// The wrapped `net_device` is valid for the lifetime of the reference.
#[repr(transparent)]
pub struct NetDevice(Opaque<bindings::net_device>);

// SAFETY: a net_device is shared between CPUs by design; every accessor here either reads
// a field the kernel allows to be read racily or calls a function that does its own locking.
unsafe impl Sync for NetDevice {}
// SAFETY: as above.
unsafe impl Send for NetDevice {}

impl NetDevice {
    /// Borrows the device at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `net_device` that stays valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::net_device) -> &'a NetDevice {
        // SAFETY: `NetDevice` is a transparent wrapper; validity is the caller's promise.
        unsafe { &*ptr.cast::<NetDevice>() }
    }

    /// The raw pointer, for the abstraction layer.
    pub(crate) fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    fn raw(&self) -> &bindings::net_device {
        // SAFETY: valid by the type invariant. Fields read through this reference are the
        // plain, racily readable ones (flags, mtu, counts, features, ifindex).
        unsafe { &*self.0.get() }
    }

    /// The interface index.
    pub fn ifindex(&self) -> i32 {
        self.raw().ifindex
    }

    /// True when the device is administratively up (IFF_UP).
    pub fn is_up(&self) -> bool {
        self.raw().flags & bindings::net_device_flags_IFF_UP != 0
    }

    /// Signals carrier (link up).
    pub fn carrier_on(&self) {
        // SAFETY: the device is valid; the function takes its own locks.
        unsafe { bindings::netif_carrier_on(self.as_raw()) }
    }

    /// Signals loss of carrier.
    pub fn carrier_off(&self) {
        // SAFETY: the device is valid; the function takes its own locks.
        unsafe { bindings::netif_carrier_off(self.as_raw()) }
    }

    /// Allocated receive queues.
    pub fn num_rx_queues(&self) -> u32 {
        self.raw().num_rx_queues
    }

    /// Allocated transmit queues.
    pub fn num_tx_queues(&self) -> u32 {
        self.raw().num_tx_queues
    }

    /// Receive queues in use.
    pub fn real_num_rx_queues(&self) -> u32 {
        self.raw().real_num_rx_queues
    }

    /// Transmit queues in use.
    pub fn real_num_tx_queues(&self) -> u32 {
        self.raw().real_num_tx_queues
    }

    /// The active features (`NETIF_F_*`).
    pub fn features(&self) -> u64 {
        self.raw().features
    }

    /// Stops transmit queue `q` (backpressure: the stack holds frames in the qdisc).
    pub fn tx_stop(&self, q: u16) {
        if u32::from(q) < self.num_tx_queues() {
            // SAFETY: the device is valid and `q` is one of its queues.
            unsafe { ffi::rvnet_tx_stop(self.as_raw(), q) }
        }
    }

    /// Wakes transmit queue `q` (and reschedules its qdisc).
    pub fn tx_wake(&self, q: u16) {
        if u32::from(q) < self.num_tx_queues() {
            // SAFETY: the device is valid and `q` is one of its queues.
            unsafe { ffi::rvnet_tx_wake(self.as_raw(), q) }
        }
    }

    /// True when transmit queue `q` is stopped by the driver.
    pub fn tx_stopped(&self, q: u16) -> bool {
        // SAFETY: the device is valid and `q` is one of its queues.
        u32::from(q) < self.num_tx_queues() && unsafe { ffi::rvnet_tx_stopped(self.as_raw(), q) }
    }

    /// True when transmit queue `q` has a qdisc that can hold frames back (not noqueue).
    pub fn tx_has_qdisc(&self, q: u16) -> bool {
        // SAFETY: the device is valid and `q` is one of its queues.
        u32::from(q) < self.num_tx_queues() && unsafe { ffi::rvnet_tx_has_qdisc(self.as_raw(), q) }
    }

    /// Sets the number of receive and transmit queues in use. Needs RTNL, which the ethtool
    /// operations that call it hold.
    fn set_real_num_queues(&self, rx: u32, tx: u32) -> Result {
        // SAFETY: the device is valid and the caller (an ethtool op) holds RTNL.
        to_result(unsafe { bindings::netif_set_real_num_rx_queues(self.as_raw(), rx) })?;
        // SAFETY: as above.
        to_result(unsafe { bindings::netif_set_real_num_tx_queues(self.as_raw(), tx) })
    }
}

/// A device of driver `T`, with its private state.
///
/// # Invariants
///
/// The device's private area holds a valid pointer to a `T` that lives at least as long as
/// the reference (it is dropped only by `priv_destructor`, after unregistration).
#[repr(transparent)]
pub struct Device<T: NetDriver>(NetDevice, PhantomData<T>);

impl<T: NetDriver> core::ops::Deref for Device<T> {
    type Target = NetDevice;
    fn deref(&self) -> &NetDevice {
        &self.0
    }
}

impl<T: NetDriver> Device<T> {
    fn state_slot(dev: *const bindings::net_device) -> *mut *const T {
        // SAFETY: `dev` is a valid device of this driver, whose private area is one pointer.
        unsafe { ffi::rvnet_netdev_priv(dev).cast::<*const T>() }
    }

    /// Borrows a device of this driver, or `None` if it has no state attached.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid device created by this driver's link operations (so that its
    /// private area holds a `*const T`), valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::net_device) -> Option<&'a Device<T>> {
        // SAFETY: per the caller's promise the slot is ours; it is written only while the
        // device is not yet registered or is being destroyed, never concurrently with us.
        let state = unsafe { *Self::state_slot(ptr) };
        if state.is_null() {
            return None;
        }
        // SAFETY: the device is valid; with state attached the type invariant holds.
        Some(unsafe { &*ptr.cast::<Device<T>>() })
    }

    /// The driver's private state of this device.
    pub fn state(&self) -> &T {
        // SAFETY: the type invariant says the slot holds a valid `T`.
        unsafe { &**Self::state_slot(self.0.as_raw()) }
    }
}

/// A link to another device of the same driver, readable from the data path: the peer of a
/// pair. Set when the pair is made (under RTNL) and cleared in `dellink` before either device
/// is unregistered; unregistration waits for an RCU grace period before freeing, and the
/// data path (transmit, NAPI poll) runs inside an RCU read-side section, so a device read
/// from the link stays valid for the duration of the callback that read it.
pub struct PeerLink<T: NetDriver> {
    ptr: AtomicPtr<bindings::net_device>,
    _t: PhantomData<T>,
}

impl<T: NetDriver> PeerLink<T> {
    /// An empty link.
    pub const fn new() -> Self {
        PeerLink {
            ptr: AtomicPtr::new(core::ptr::null_mut()),
            _t: PhantomData,
        }
    }

    /// The linked device, if any. The reference is bounded by the borrow of the state that
    /// holds the link, that is, by the driver callback that is running.
    pub fn get(&self) -> Option<&Device<T>> {
        let p = self.ptr.load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: the link holds only registered devices of this driver (see `link`), valid
        // for the duration of the running callback as the type's documentation explains.
        unsafe { Device::<T>::from_raw(p) }
    }

    fn set(&self, dev: *mut bindings::net_device) {
        self.ptr.store(dev, Ordering::Release);
    }

    fn clear(&self) {
        self.set(core::ptr::null_mut());
    }
}

impl<T: NetDriver> Default for PeerLink<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// What transmit did with a frame.
pub enum TxOutcome {
    /// Accepted (or dropped and counted): the frame is no longer the stack's.
    Done,
    /// The peer cannot take it now and the queue was stopped: the stack keeps the frame and
    /// retries when the queue is woken (NETDEV_TX_BUSY).
    Busy(Skb),
}

/// Device statistics (`struct rtnl_link_stats64`), filled by [`NetDriver::get_stats64`].
#[derive(Default)]
pub struct LinkStats {
    /// Frames received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Frames transmitted.
    pub tx_packets: u64,
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Received frames dropped.
    pub rx_dropped: u64,
    /// Transmitted frames dropped.
    pub tx_dropped: u64,
}

/// Per-queue statistics for the netdev netlink family (`ip`/`ynl` qstats).
#[derive(Default, Clone, Copy)]
pub struct QueueStats {
    /// Frames.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// Frames the "hardware" (the ring) dropped.
    pub drops: u64,
    /// Times the queue was stopped (transmit queues).
    pub stops: u64,
    /// Times the queue was woken (transmit queues).
    pub wakes: u64,
}

/// Configuration a driver applies to a freshly allocated device (`setup`).
pub struct Setup {
    /// `IFF_*` private flags to set.
    pub priv_flags_set: u32,
    /// `IFF_*` private flags to clear.
    pub priv_flags_clear: u32,
    /// Features on at creation.
    pub features: u64,
    /// Features `ethtool -K` may toggle.
    pub hw_features: u64,
    /// Smallest MTU.
    pub min_mtu: u32,
    /// Largest MTU.
    pub max_mtu: u32,
}

/// Queue counts, as `ethtool -l` shows and `-L` sets them.
#[derive(Clone, Copy, Default)]
pub struct Channels {
    /// Receive queues in use.
    pub rx: u32,
    /// Transmit queues in use.
    pub tx: u32,
}

/// A network device driver: `Self` is the private state of one device.
pub trait NetDriver: Sized + Send + Sync + 'static {
    /// The rtnetlink kind (`ip link add ... type KIND`).
    const KIND: &'static CStr;
    /// The driver name `ethtool -i` shows.
    const DRIVER: &'static str;
    /// The version `ethtool -i` shows.
    const VERSION: &'static str;
    /// Queues created when `ip link add` does not say (`numtxqueues`/`numrxqueues`).
    const DEFAULT_QUEUES: u32;

    /// Configuration of every new device.
    fn setup() -> Setup;

    /// Makes the state of a new, not yet registered device.
    fn new_state(dev: &NetDevice) -> Result<Pin<KBox<Self>>>;

    /// The link to the device's peer, in its state. The abstraction sets it when the pair is
    /// registered and clears it (on both ends) before either end is unregistered.
    fn peer_link(&self) -> &PeerLink<Self>;

    /// `ndo_open`, under RTNL.
    fn open(dev: &Device<Self>) -> Result;

    /// `ndo_stop`, under RTNL.
    fn stop(dev: &Device<Self>) -> Result;

    /// `ndo_start_xmit`, with BH disabled, in an RCU read-side section.
    fn start_xmit(dev: &Device<Self>, skb: Skb) -> TxOutcome;

    /// `ndo_get_stats64`.
    fn get_stats64(dev: &Device<Self>, stats: &mut LinkStats);

    /// `ndo_fix_features`.
    fn fix_features(dev: &Device<Self>, wanted: u64) -> u64;

    /// `ndo_get_iflink`: the ifindex of the device this one is linked to.
    fn iflink(dev: &Device<Self>) -> i32;

    /// Ring size: (current, maximum), for `ethtool -g`.
    fn ring_size(dev: &Device<Self>) -> (u32, u32);

    /// `ethtool -G rx N`, under RTNL.
    fn set_ring_size(dev: &Device<Self>, size: u32) -> Result;

    /// Number of `ethtool -S` counters.
    fn stats_count(dev: &Device<Self>) -> usize;

    /// Name of the `index`-th counter into `out` (NUL-padded); false past the end.
    fn stats_name(dev: &Device<Self>, index: usize, out: &mut [u8; 32]) -> bool;

    /// Values of the counters, in `stats_count` order.
    fn stats_values(dev: &Device<Self>, out: &mut [u64]);

    /// `ethtool -L`: called after the core has checked the counts against the maximum.
    fn channels_changed(dev: &Device<Self>, ch: Channels);

    /// Statistics of receive queue `q`.
    fn rx_queue_stats(dev: &Device<Self>, q: u32) -> QueueStats;

    /// Statistics of transmit queue `q`.
    fn tx_queue_stats(dev: &Device<Self>, q: u32) -> QueueStats;
}

/// Connects a [`NetDriver`] to the kernel's C operation tables.
pub struct Adapter<T: NetDriver>(PhantomData<T>);

/// Copies `s` into a fixed C string buffer, truncating and NUL-terminating.
fn copy_cstr(dst: &mut [kernel::ffi::c_char], s: &str) {
    let n = s.len().min(dst.len().saturating_sub(1));
    for (d, &b) in dst.iter_mut().zip(s.as_bytes()[..n].iter()) {
        *d = b as kernel::ffi::c_char;
    }
    if let Some(z) = dst.get_mut(n) {
        *z = 0;
    }
}

impl<T: NetDriver> Adapter<T> {
    /// # Safety
    ///
    /// Called by the core with a valid device of this driver.
    unsafe fn dev<'a>(dev: *const bindings::net_device) -> Option<&'a Device<T>> {
        // SAFETY: per the function's contract.
        unsafe { Device::<T>::from_raw(dev) }
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn setup(dev: *mut bindings::net_device) {
        let s = T::setup();
        // SAFETY: `dev` is a freshly allocated device that the core hands to us alone.
        unsafe {
            ffi::rvnet_netdev_setup_ether(dev, s.priv_flags_set, s.priv_flags_clear);
            (*dev).netdev_ops = &Self::NETDEV_OPS;
            (*dev).ethtool_ops = &Self::ETHTOOL_OPS;
            (*dev).stat_ops = &Self::STAT_OPS;
            (*dev).features |= s.features;
            (*dev).hw_features |= s.hw_features;
            (*dev).hw_enc_features |= s.hw_features;
            (*dev).vlan_features |= s.features;
            (*dev).min_mtu = s.min_mtu;
            (*dev).max_mtu = s.max_mtu;
            (*dev).needs_free_netdev = true;
            (*dev).priv_destructor = Some(Self::priv_destructor);
            *Device::<T>::state_slot(dev) = core::ptr::null();
        }
    }

    /// Attaches fresh state to a new device.
    ///
    /// # Safety
    ///
    /// `dev` is a valid, unregistered device of this driver with no state attached.
    unsafe fn attach(dev: *mut bindings::net_device) -> Result {
        // SAFETY: `dev` is valid.
        let state = T::new_state(unsafe { NetDevice::from_raw(dev) })?;
        // SAFETY: the state is pinned for good: it is freed only by `priv_destructor`.
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(state) });
        // SAFETY: the device is not registered yet: nothing else reads the slot.
        unsafe { *Device::<T>::state_slot(dev) = raw };
        Ok(())
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn priv_destructor(dev: *mut bindings::net_device) {
        let slot = Device::<T>::state_slot(dev);
        // SAFETY: the core calls this once, when nothing else uses the device: we are the
        // slot's only user.
        let raw = unsafe { core::ptr::replace(slot, core::ptr::null()) };
        if !raw.is_null() {
            // SAFETY: `raw` came from `KBox::into_raw` in `attach` and is dropped only here.
            drop(unsafe { KBox::from_raw(raw.cast_mut()) });
        }
    }

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

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn ndo_open(dev: *mut bindings::net_device) -> kernel::ffi::c_int {
        // SAFETY: the core passes a registered device of ours.
        from_result(|| T::open(unsafe { Self::dev(dev) }.ok_or(code::ENODEV)?).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn ndo_stop(dev: *mut bindings::net_device) -> kernel::ffi::c_int {
        // SAFETY: the core passes a registered device of ours.
        from_result(|| T::stop(unsafe { Self::dev(dev) }.ok_or(code::ENODEV)?).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn ndo_start_xmit(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx_t {
        // SAFETY: the core gives us ownership of `skb`, a valid skb on no list.
        let Some(skb) = (unsafe { Skb::from_raw(skb) }) else {
            return bindings::netdev_tx_NETDEV_TX_OK;
        };
        // SAFETY: the core passes a registered device of ours.
        let Some(d) = (unsafe { Self::dev(dev) }) else {
            drop(skb);
            return bindings::netdev_tx_NETDEV_TX_OK;
        };
        match T::start_xmit(d, skb) {
            TxOutcome::Done => bindings::netdev_tx_NETDEV_TX_OK,
            TxOutcome::Busy(skb) => {
                // The stack keeps the frame (NETDEV_TX_BUSY): give ownership back.
                let _ = skb.into_raw();
                bindings::netdev_tx_NETDEV_TX_BUSY
            }
        }
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn ndo_get_stats64(
        dev: *mut bindings::net_device,
        out: *mut bindings::rtnl_link_stats64,
    ) {
        // SAFETY: the core passes a registered device of ours.
        let Some(d) = (unsafe { Self::dev(dev) }) else {
            return;
        };
        let mut s = LinkStats::default();
        T::get_stats64(d, &mut s);
        // SAFETY: `out` is the core's buffer, valid for writing.
        let o = unsafe { &mut *out };
        o.rx_packets = s.rx_packets;
        o.rx_bytes = s.rx_bytes;
        o.tx_packets = s.tx_packets;
        o.tx_bytes = s.tx_bytes;
        o.rx_dropped = s.rx_dropped;
        o.tx_dropped = s.tx_dropped;
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn ndo_fix_features(dev: *mut bindings::net_device, f: u64) -> u64 {
        // SAFETY: the core passes a registered device of ours.
        match unsafe { Self::dev(dev) } {
            Some(d) => T::fix_features(d, f),
            None => f,
        }
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn ndo_get_iflink(dev: *const bindings::net_device) -> kernel::ffi::c_int {
        // SAFETY: the core passes a registered device of ours, under RCU.
        match unsafe { Self::dev(dev) } {
            Some(d) => T::iflink(d),
            None => 0,
        }
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn get_drvinfo(
        _dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: `info` is the core's buffer.
        let info = unsafe { &mut *info };
        copy_cstr(&mut info.driver, T::DRIVER);
        copy_cstr(&mut info.version, T::VERSION);
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn get_ringparam(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _k: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) {
        // SAFETY: the core passes a registered device of ours, under RTNL.
        let Some(d) = (unsafe { Self::dev(dev) }) else {
            return;
        };
        let (cur, max) = T::ring_size(d);
        // SAFETY: `ring` is the core's buffer.
        let ring = unsafe { &mut *ring };
        ring.rx_pending = cur;
        ring.rx_max_pending = max;
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn set_ringparam(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _k: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: the core passes a registered device of ours, under RTNL.
            let d = unsafe { Self::dev(dev) }.ok_or(code::ENODEV)?;
            // SAFETY: `ring` is the core's buffer, already checked against our maximum.
            let ring = unsafe { &*ring };
            if ring.tx_pending != 0 || ring.rx_mini_pending != 0 || ring.rx_jumbo_pending != 0 {
                return Err(code::EINVAL);
            }
            T::set_ring_size(d, ring.rx_pending).map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn get_sset_count(
        dev: *mut bindings::net_device,
        sset: kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        if sset != bindings::ethtool_stringset_ETH_SS_STATS as kernel::ffi::c_int {
            return -(bindings::EOPNOTSUPP as kernel::ffi::c_int);
        }
        // SAFETY: the core passes a registered device of ours.
        match unsafe { Self::dev(dev) } {
            Some(d) => kernel::ffi::c_int::try_from(T::stats_count(d)).unwrap_or(0),
            None => 0,
        }
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn get_strings(dev: *mut bindings::net_device, sset: u32, data: *mut u8) {
        if sset != bindings::ethtool_stringset_ETH_SS_STATS {
            return;
        }
        // SAFETY: the core passes a registered device of ours.
        let Some(d) = (unsafe { Self::dev(dev) }) else {
            return;
        };
        let n = T::stats_count(d);
        for i in 0..n {
            let mut name = [0u8; 32];
            if !T::stats_name(d, i, &mut name) {
                break;
            }
            // SAFETY: the core sized `data` for `get_sset_count` strings of 32 bytes each,
            // and the count cannot change while it holds RTNL across both calls.
            unsafe { core::ptr::copy_nonoverlapping(name.as_ptr(), data.add(i * 32), 32) };
        }
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn get_ethtool_stats(
        dev: *mut bindings::net_device,
        st: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: the core passes a registered device of ours.
        let Some(d) = (unsafe { Self::dev(dev) }) else {
            return;
        };
        // SAFETY: `st` is the core's; `n_stats` is the count it sized `data` for.
        let n = unsafe { (*st).n_stats } as usize;
        // SAFETY: `data` holds `n` u64s.
        let out = unsafe { core::slice::from_raw_parts_mut(data, n) };
        out.fill(0);
        T::stats_values(d, out);
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn get_channels(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) {
        // SAFETY: the core passes a valid device and buffer.
        let (nd, ch) = unsafe { (NetDevice::from_raw(dev), &mut *ch) };
        ch.rx_count = nd.real_num_rx_queues();
        ch.tx_count = nd.real_num_tx_queues();
        ch.max_rx = nd.num_rx_queues();
        ch.max_tx = nd.num_tx_queues();
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn set_channels(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: the core passes a registered device of ours and its buffer, under RTNL.
            let (d, ch) = unsafe { (Self::dev(dev).ok_or(code::ENODEV)?, &*ch) };
            if ch.rx_count == 0 || ch.tx_count == 0 || ch.combined_count != 0 {
                return Err(code::EINVAL);
            }
            d.set_real_num_queues(ch.rx_count, ch.tx_count)?;
            T::channels_changed(
                d,
                Channels {
                    rx: ch.rx_count,
                    tx: ch.tx_count,
                },
            );
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn qstats_rx(
        dev: *mut bindings::net_device,
        idx: kernel::ffi::c_int,
        out: *mut bindings::netdev_queue_stats_rx,
    ) {
        // SAFETY: the core passes a registered device of ours and its buffer.
        let (Some(d), Ok(q)) = (unsafe { Self::dev(dev) }, u32::try_from(idx)) else {
            return;
        };
        let s = T::rx_queue_stats(d, q);
        // SAFETY: as above.
        let o = unsafe { &mut *out };
        o.packets = s.packets;
        o.bytes = s.bytes;
        o.hw_drops = s.drops;
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn qstats_tx(
        dev: *mut bindings::net_device,
        idx: kernel::ffi::c_int,
        out: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: the core passes a registered device of ours and its buffer.
        let (Some(d), Ok(q)) = (unsafe { Self::dev(dev) }, u32::try_from(idx)) else {
            return;
        };
        let s = T::tx_queue_stats(d, q);
        // SAFETY: as above.
        let o = unsafe { &mut *out };
        o.packets = s.packets;
        o.bytes = s.bytes;
        o.hw_drops = s.drops;
        o.stop = s.stops;
        o.wake = s.wakes;
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn qstats_base(
        dev: *mut bindings::net_device,
        rx: *mut bindings::netdev_queue_stats_rx,
        tx: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: the core passes a registered device of ours and its buffers.
        let Some(d) = (unsafe { Self::dev(dev) }) else {
            return;
        };
        // The base holds what the queues in use do not: the queues beyond the real counts.
        let mut r = QueueStats::default();
        for q in d.real_num_rx_queues()..d.num_rx_queues() {
            let s = T::rx_queue_stats(d, q);
            r.packets += s.packets;
            r.bytes += s.bytes;
            r.drops += s.drops;
        }
        let mut t = QueueStats::default();
        for q in d.real_num_tx_queues()..d.num_tx_queues() {
            let s = T::tx_queue_stats(d, q);
            t.packets += s.packets;
            t.bytes += s.bytes;
            t.drops += s.drops;
            t.stops += s.stops;
            t.wakes += s.wakes;
        }
        // SAFETY: the buffers are the core's.
        let (rx, tx) = unsafe { (&mut *rx, &mut *tx) };
        rx.packets = r.packets;
        rx.bytes = r.bytes;
        rx.hw_drops = r.drops;
        tx.packets = t.packets;
        tx.bytes = t.bytes;
        tx.hw_drops = t.drops;
        tx.stop = t.stops;
        tx.wake = t.wakes;
    }

    const NETDEV_OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_open: Some(Self::ndo_open),
        ndo_stop: Some(Self::ndo_stop),
        ndo_start_xmit: Some(Self::ndo_start_xmit),
        ndo_get_stats64: Some(Self::ndo_get_stats64),
        ndo_fix_features: Some(Self::ndo_fix_features),
        ndo_get_iflink: Some(Self::ndo_get_iflink),
        ndo_set_mac_address: Some(bindings::eth_mac_addr),
        ndo_features_check: Some(bindings::passthru_features_check),
        // SAFETY: all other operations are optional: NULL is their "not implemented".
        ..unsafe { core::mem::zeroed() }
    };

    const ETHTOOL_OPS: bindings::ethtool_ops = bindings::ethtool_ops {
        get_drvinfo: Some(Self::get_drvinfo),
        get_link: Some(bindings::ethtool_op_get_link),
        get_ts_info: Some(bindings::ethtool_op_get_ts_info),
        get_ringparam: Some(Self::get_ringparam),
        set_ringparam: Some(Self::set_ringparam),
        get_sset_count: Some(Self::get_sset_count),
        get_strings: Some(Self::get_strings),
        get_ethtool_stats: Some(Self::get_ethtool_stats),
        get_channels: Some(Self::get_channels),
        set_channels: Some(Self::set_channels),
        // SAFETY: all other operations and flags are optional: zero is "not supported".
        ..unsafe { core::mem::zeroed() }
    };

    const STAT_OPS: bindings::netdev_stat_ops = bindings::netdev_stat_ops {
        get_queue_stats_rx: Some(Self::qstats_rx),
        get_queue_stats_tx: Some(Self::qstats_tx),
        get_base_stats: Some(Self::qstats_base),
    };
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
