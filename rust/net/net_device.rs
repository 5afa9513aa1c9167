// SPDX-License-Identifier: GPL-2.0

//! Network devices: `struct net_device` and the driver interface around it.
//!
//! [`NetDevice`] is a borrowed device with the accessors a driver needs. A driver is a type
//! `T: NetDriver`: one `T` is the private state of each of its devices, reached through
//! [`Device<T>`]. The [`Adapter`] turns `T`'s safe methods into the C operation tables
//! (`net_device_ops` here; `ethtool_ops`, `netdev_stat_ops` and `rtnl_link_ops` in
//! [`super::ethtool`], [`super::qstats`] and [`super::rtnl_link`]) and is the only code that
//! builds a `Device<T>` from a raw pointer.
//!
//! The device's private area (`netdev_priv`) holds one pointer: the `T`, allocated with
//! `KBox` when the device is created and dropped by `priv_destructor`, which the core runs
//! once the device is unregistered and no one references it.

use super::ffi;
use super::skb::Skb;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::bindings;
use kernel::error::{code, from_result, to_result};
use kernel::prelude::*;
use kernel::sync::aref::{ARef, AlwaysRefCounted};
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
        if u32::from(q) >= self.num_tx_queues() {
            return false;
        }
        // `netif_tx_queue_stopped(netdev_get_tx_queue())`, static inlines: a test_bit.
        // SAFETY: the device is valid and `q` is one of its queues, `_tx[q]`; `state` is an
        // unsigned long changed only by atomic bit operations.
        let state = unsafe {
            let txq = (*self.as_raw())._tx.add(usize::from(q));
            core::sync::atomic::AtomicUsize::from_ptr(core::ptr::addr_of_mut!((*txq).state))
                .load(core::sync::atomic::Ordering::Relaxed)
        };
        state & (1 << bindings::netdev_queue_state_t___QUEUE_STATE_DRV_XOFF) != 0
    }

    /// True when transmit queue `q` has a qdisc that can hold frames back (not noqueue).
    pub fn tx_has_qdisc(&self, q: u16) -> bool {
        // SAFETY: the device is valid and `q` is one of its queues.
        u32::from(q) < self.num_tx_queues() && unsafe { ffi::rvnet_tx_has_qdisc(self.as_raw(), q) }
    }

    /// Sets the number of receive and transmit queues in use. Needs RTNL, which the ethtool
    /// operations that call it hold.
    pub(super) fn set_real_num_queues(&self, rx: u32, tx: u32) -> Result {
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
        // `netdev_priv()`, a static inline: the private area is the flexible array `priv` at
        // the end of the struct (its offset is checked against the compiler's at load).
        // SAFETY: `dev` is a valid device of this driver, whose private area is one pointer.
        unsafe {
            core::ptr::addr_of!((*dev).priv_)
                .cast_mut()
                .cast::<*const T>()
        }
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

    pub(super) fn set(&self, dev: *mut bindings::net_device) {
        self.ptr.store(dev, Ordering::Release);
    }

    pub(super) fn clear(&self) {
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
pub(super) fn copy_cstr(dst: &mut [kernel::ffi::c_char], s: &str) {
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
    pub(super) unsafe fn dev<'a>(dev: *const bindings::net_device) -> Option<&'a Device<T>> {
        // SAFETY: per the function's contract.
        unsafe { Device::<T>::from_raw(dev) }
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    pub(super) unsafe extern "C" fn setup(dev: *mut bindings::net_device) {
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
    pub(super) unsafe fn attach(dev: *mut bindings::net_device) -> Result {
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
    pub(super) unsafe extern "C" fn priv_destructor(dev: *mut bindings::net_device) {
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
}

// SAFETY: a device is reference counted by `dev_hold`/`dev_put` (`netdev_refcnt`): it is not
// freed while a reference is held, though it may be unregistered (the family's
// `netdev_unregister` then drops its references).
unsafe impl AlwaysRefCounted for NetDevice {
    fn inc_ref(&self) {
        // SAFETY: `self` is a valid device.
        unsafe { ffi::rvnet_dev_hold(self.as_raw()) }
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives up a reference it holds.
        unsafe { ffi::rvnet_dev_put(obj.as_ptr().cast()) }
    }
}

/// A held network device (`dev_hold`): the kernel crate's [`ARef`] over [`NetDevice`].
pub type DevRef = ARef<NetDevice>;

/// Takes over a reference the caller holds on `p` (null gives `None`).
///
/// # Safety
///
/// `p` must be null or a valid device on which the caller holds one reference, which it gives
/// to the new object.
pub(crate) unsafe fn dev_from_held(p: *mut bindings::net_device) -> Option<DevRef> {
    // SAFETY: the caller's promise; `NetDevice` is `repr(transparent)` over the device.
    NonNull::new(p).map(|p| unsafe { ARef::from_raw(p.cast::<NetDevice>()) })
}

impl NetDevice {
    /// The interface name.
    pub fn name(&self) -> &[u8] {
        // SAFETY: `name` is a NUL-terminated array inside the valid device.
        let s = unsafe { CStr::from_char_ptr((*self.as_raw()).name.as_ptr()) };
        s.to_bytes()
    }

    /// The MAC address (zeros if the device has none of Ethernet's length).
    pub fn mac(&self) -> [u8; 6] {
        let mut mac = [0u8; 6];
        if self.is_ether() {
            // SAFETY: an Ethernet device's `dev_addr` holds 6 bytes.
            let p = unsafe { (*self.as_raw()).dev_addr };
            // SAFETY: as above; `mac` has room for 6.
            unsafe { core::ptr::copy_nonoverlapping(p, mac.as_mut_ptr(), 6) };
        }
        mac
    }

    /// The MTU.
    pub fn mtu(&self) -> u32 {
        // SAFETY: the device is valid; `dev_set_mtu` writes it with WRITE_ONCE.
        unsafe { core::ptr::read_volatile(&(*self.as_raw()).mtu) }
    }

    /// True for an Ethernet device (ARPHRD_ETHER, 6-byte addresses).
    pub fn is_ether(&self) -> bool {
        // SAFETY: the device is valid; type and address length are fixed at setup.
        let (ty, len) = unsafe { ((*self.as_raw()).type_, (*self.as_raw()).addr_len) };
        u32::from(ty) == bindings::ARPHRD_ETHER && u32::from(len) == bindings::ETH_ALEN
    }

    /// Link-layer headroom to reserve in frames sent on this device.
    pub fn ll_headroom(&self) -> u32 {
        // `LL_RESERVED_SPACE()`, a macro: the header lengths rounded up to HH_DATA_MOD (16).
        // SAFETY: the device is valid; `needed_headroom` may change under us (READ_ONCE).
        let (hard, needed) = unsafe {
            let d = self.as_raw();
            (
                (*d).hard_header_len,
                core::ptr::read_volatile(&(*d).needed_headroom),
            )
        };
        ((u32::from(hard) + u32::from(needed)) & !15) + 16
    }
}
