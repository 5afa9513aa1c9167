// SPDX-License-Identifier: GPL-2.0

//! Owned socket buffers.
//!
//! An [`Skb`] owns one `struct sk_buff`: whoever holds it must pass it on (to a ring, up the
//! stack, back to the caller) or free it, and dropping it frees it with a drop reason, so a
//! path that forgets an skb cannot leak it. This is the seed notes' packet as it travels
//! through the NIC: the same buffer from the sender's socket to the receiver's, never copied.

use super::ffi;
use super::net_device::NetDevice;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::{code, Error};

/// The `headers` struct group of `struct sk_buff`, as bindgen names it.
type Headers = bindings::sk_buff__bindgen_ty_4__bindgen_ty_1;

/// `skb->dev`, which lives in an anonymous union (its offset is checked at load).
///
/// # Safety
///
/// `skb` must be valid.
pub(crate) unsafe fn raw_dev(skb: *const bindings::sk_buff) -> *mut bindings::net_device {
    // SAFETY: per the contract.
    unsafe {
        (*skb)
            .__bindgen_anon_1
            .__bindgen_anon_1
            .__bindgen_anon_1
            .dev
    }
}

/// An owned `struct sk_buff`.
///
/// # Invariants
///
/// `self.0` points to a valid `sk_buff` that this object owns (holds the one reference the
/// code that gave it to us held), and that is on no list.
pub struct Skb(NonNull<bindings::sk_buff>);

// SAFETY: an owned sk_buff may be handed to and freed on any CPU; the kernel moves them
// between CPUs all the time (RPS, qdiscs, rings like ours).
unsafe impl Send for Skb {}

/// Why a frame could not be forwarded to the peer device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardError {
    /// The receiving device is down.
    Down,
    /// The frame is larger than the receiving device's MTU allows (and not GSO).
    TooBig,
    /// Memory for private copies of user-space pages was not available.
    NoMemory,
}

impl Skb {
    /// Takes ownership of `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `sk_buff` on no list, whose reference the caller owns and
    /// gives to the new object.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::sk_buff) -> Option<Self> {
        // INVARIANT: the caller gives us ownership of a valid skb.
        NonNull::new(ptr).map(Skb)
    }

    /// Allocates a frame of `len` zeroed bytes. May sleep. For KUnit cases.
    #[cfg(CONFIG_KUNIT)]
    pub fn alloc(len: u32) -> Result<Skb, Error> {
        // SAFETY: a plain allocation; NUMA_NO_NODE (-1) lets the allocator choose.
        let p = unsafe { bindings::__alloc_skb(len, bindings::GFP_KERNEL, 0, -1) };
        // SAFETY: a fresh skb is ours and on no list.
        let skb = unsafe { Skb::from_raw(p) }.ok_or(code::ENOMEM)?;
        // SAFETY: the skb was allocated with `len` bytes of tailroom; `skb_put` returns the
        // start of the `len` bytes it adds to the data, which we zero.
        unsafe { core::ptr::write_bytes(bindings::skb_put(p, len).cast::<u8>(), 0, len as usize) };
        Ok(skb)
    }

    /// Gives up ownership without freeing.
    pub(crate) fn into_raw(self) -> *mut bindings::sk_buff {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        p
    }

    fn raw(&self) -> *mut bindings::sk_buff {
        self.0.as_ptr()
    }

    /// The `headers` group of the skb (protocol, header offsets, checksum state).
    fn hdrs(&self) -> *mut Headers {
        // SAFETY: `self.0` is valid; this only computes the address of a member, a union
        // whose variants all start at its start.
        unsafe { core::ptr::addr_of_mut!((*self.raw()).__bindgen_anon_4).cast::<Headers>() }
    }

    /// Bytes in the linear part (`skb_headlen`).
    fn headlen(&self) -> u32 {
        // SAFETY: `self.0` is valid by the type invariant.
        let r = unsafe { &*self.raw() };
        r.len - r.data_len
    }

    /// `skb->ip_summed`, a bitfield.
    fn ip_summed(&self) -> u32 {
        // SAFETY: `self.0` is valid by the type invariant.
        u32::from(unsafe { ffi::rvnet_skb_ip_summed(self.raw()) })
    }

    fn set_ip_summed(&mut self, v: u32) {
        // SAFETY: the skb is ours; the values are the CHECKSUM_* constants.
        unsafe { ffi::rvnet_skb_set_ip_summed(self.raw(), v as u8) }
    }

    /// Bytes in the frame (linear part and fragments).
    pub fn len(&self) -> u32 {
        // SAFETY: `self.0` is valid by the type invariant.
        unsafe { (*self.raw()).len }
    }

    /// The memory the frame takes (`skb->truesize`: its buffer, head and data), what
    /// socket buffers and the ARP queue's byte limit are charged.
    pub fn truesize(&self) -> u32 {
        // SAFETY: `self.0` is valid by the type invariant.
        unsafe { (*self.raw()).truesize }
    }

    /// True for a frame with no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The transmit queue the stack chose for this frame.
    pub fn queue_mapping(&self) -> u16 {
        // SAFETY: `self.0` is valid by the type invariant.
        unsafe { (*self.raw()).queue_mapping }
    }

    /// True for a GSO frame: one large buffer that stands for many wire frames.
    pub fn is_gso(&self) -> bool {
        // SAFETY: `self.0` is valid; `skb_shinfo()` is the shared info at `head + end`
        // (`end` is an offset: NET_SKBUFF_DATA_USES_OFFSET on 64-bit machines).
        unsafe {
            let r = &*self.raw();
            let shinfo = r
                .head
                .add(r.end as usize)
                .cast::<bindings::skb_shared_info>();
            (*shinfo).gso_size != 0
        }
    }

    /// Segments a GSO frame in software into frames that fit the MTU, as a NIC's TSO engine
    /// does, for a receiver with `features`. The original is consumed.
    pub fn gso_segment(self, features: u64) -> Result<SkbList, Error> {
        let raw = self.into_raw();
        // SAFETY: `raw` is a valid skb we own.
        // `skb_gso_segment()` is a static inline over this (`tx_path`: we are transmitting).
        let segs = unsafe { bindings::__skb_gso_segment(raw, features, true) };
        if segs.is_null() {
            // Nothing to segment: hand the original back as a one-frame list.
            return Ok(SkbList { head: raw });
        }
        if let Err(e) = kernel::error::from_err_ptr(segs) {
            // SAFETY: segmentation failed and left `raw` ours; rebuild the owner so it frees.
            drop(unsafe { Skb::from_raw(raw) });
            return Err(e);
        }
        // SAFETY: segmentation succeeded; the original is ours to release and the segments
        // are a fresh list that we own.
        unsafe { bindings::dev_kfree_skb_any_reason(raw, bindings::skb_drop_reason_SKB_CONSUMED) };
        Ok(SkbList { head: segs })
    }

    /// Prepares the frame to cross to `rcv`: checks that `rcv` is up and that the frame fits
    /// its MTU (GSO frames always fit), takes private copies of user-space pages, and scrubs
    /// what must not cross a namespace. On error the frame is unchanged and still ours.
    pub fn forward_prepare(&mut self, rcv: &NetDevice) -> Result<(), ForwardError> {
        // SAFETY: `self.0` is ours; `rcv` is a valid device.
        match unsafe { ffi::rvnet_skb_forward_prepare(rcv.as_raw(), self.raw()) } {
            0 => Ok(()),
            e if e == -(bindings::ENETDOWN as i32) => Err(ForwardError::Down),
            e if e == code::EMSGSIZE.to_errno() => Err(ForwardError::TooBig),
            _ => Err(ForwardError::NoMemory),
        }
    }
}

/// What the receive path leaves in a datagram's control block (`skb->cb`) for `recvmsg`:
/// the sender's address and port, as `inet_skb_parm` and `sockaddr_in` carry them.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct RecvSource {
    /// IPv4 address, in wire order.
    pub(crate) addr: [u8; 4],
    /// Port, network byte order.
    pub(crate) port_be: u16,
}

const _: () = assert!(core::mem::size_of::<RecvSource>() <= 48);

impl RecvSource {
    fn write(self, skb: *mut bindings::sk_buff) {
        // SAFETY: callers pass an skb they own; the control block is 48 bytes, and ours is
        // smaller (checked above). Unaligned: `cb` is a byte array.
        unsafe { core::ptr::write_unaligned((*skb).cb.as_mut_ptr().cast::<RecvSource>(), self) }
    }

    /// The source recorded in `skb`.
    ///
    /// # Safety
    ///
    /// `skb` must be valid and one of this family's received datagrams (whose control block
    /// the receive path wrote with [`Skb::set_source`]).
    pub(crate) unsafe fn read(skb: *const bindings::sk_buff) -> RecvSource {
        // SAFETY: per the contract.
        unsafe { core::ptr::read_unaligned((*skb).cb.as_ptr().cast::<RecvSource>()) }
    }
}

/// Packet types of `skb->pkt_type`, as the device's receive path classified the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PktType {
    /// To our MAC address.
    Host,
    /// To the broadcast address.
    Broadcast,
    /// To a multicast address.
    Multicast,
    /// To another host (promiscuous reception).
    OtherHost,
    /// Anything else (outgoing, loopback).
    Other,
}

impl Skb {
    /// Allocates a frame for the stack to send (GFP_ATOMIC): `headroom` bytes reserved for
    /// the link-layer header, room for `len` bytes of data added with [`Skb::put`].
    pub fn alloc_tx(len: u32, headroom: u32) -> Result<Skb, Error> {
        let size = len.checked_add(headroom).ok_or(code::EMSGSIZE)?;
        // SAFETY: a plain allocation (`alloc_skb()` is a static inline over this); NUMA_NO_NODE
        // (-1) lets the allocator choose.
        let p = unsafe { bindings::__alloc_skb(size, bindings::GFP_ATOMIC, 0, -1) };
        // SAFETY: a fresh skb is ours and on no list.
        let skb = unsafe { Skb::from_raw(p) }.ok_or(code::ENOMEM)?;
        // SAFETY: `skb_reserve()`: the fresh skb is empty with `size` bytes of room, so moving
        // data and tail by `headroom` stays inside it.
        unsafe {
            (*p).data = (*p).data.add(headroom as usize);
            (*p).tail += headroom;
        }
        Ok(skb)
    }

    /// The linear data (all of it after [`Skb::linearize`]).
    pub fn data(&self) -> &[u8] {
        let len = self.headlen() as usize;
        // SAFETY: `data` points to the linear part's readable bytes of the skb we own.
        unsafe { core::slice::from_raw_parts((*self.raw()).data, len) }
    }

    /// The linear data, writable: first made private to this skb (`skb_cow`), since a
    /// received frame's data may be shared with a packet tap's clone.
    pub fn data_mut(&mut self) -> Result<&mut [u8], Error> {
        // SAFETY: the skb is ours; `skb_cow` gives it a private copy of shared data.
        kernel::error::to_result(unsafe { ffi::rvnet_skb_cow(self.raw(), 0) })?;
        let len = self.headlen() as usize;
        // SAFETY: as in `data`; the data is now this skb's alone, and `&mut self` makes the
        // access exclusive.
        Ok(unsafe { core::slice::from_raw_parts_mut((*self.raw()).data, len) })
    }

    /// True when the first `len` bytes are linear (pulled in from the fragments if needed).
    pub fn may_pull(&mut self, len: u32) -> bool {
        // `pskb_may_pull()`, a static inline.
        let head = self.headlen();
        if len <= head {
            return true;
        }
        if len > self.len() {
            return false;
        }
        // SAFETY: the skb is ours; this pulls `len - head` bytes (fewer than it holds) from
        // the fragments into the linear part; NULL: no memory.
        !unsafe { bindings::__pskb_pull_tail(self.raw(), (len - head) as i32) }.is_null()
    }

    /// Drops a received frame's CHECKSUM_COMPLETE value before the frame is sent on.
    pub fn forward_csum(&mut self) {
        // `skb_forward_csum()`, a static inline.
        if self.ip_summed() == bindings::CHECKSUM_COMPLETE {
            self.set_ip_summed(bindings::CHECKSUM_NONE);
        }
    }

    /// For a GSO frame: true if every segment it stands for fits `mtu`.
    pub fn gso_fits(&self, mtu: u32) -> bool {
        // SAFETY: the skb is ours.
        unsafe { bindings::skb_gso_validate_network_len(self.raw(), mtu) }
    }

    /// Makes all the data linear.
    pub fn linearize(&mut self) -> kernel::error::Result {
        // `skb_linearize()`, a static inline.
        // SAFETY: `self.0` is valid by the type invariant.
        let frags = unsafe { (*self.raw()).data_len };
        // SAFETY: the skb is ours; this pulls all its fragment bytes into the linear part.
        if frags != 0 && unsafe { bindings::__pskb_pull_tail(self.raw(), frags as i32) }.is_null() {
            return Err(code::ENOMEM);
        }
        Ok(())
    }

    /// Adds `len` zeroed bytes at the end and returns them. The caller allocated the room.
    pub fn put(&mut self, len: u32) -> &mut [u8] {
        // SAFETY: the skb is ours; every caller allocated the room it puts (`skb_put` would
        // stop the kernel, not corrupt memory, on an overrun); it returns the new bytes.
        unsafe {
            let p = bindings::skb_put(self.raw(), len).cast::<u8>();
            core::ptr::write_bytes(p, 0, len as usize);
            core::slice::from_raw_parts_mut(p, len as usize)
        }
    }

    /// Adds `len` bytes at the front (into the headroom) and returns them.
    pub fn push(&mut self, len: u32) -> &mut [u8] {
        // SAFETY: the skb is ours; `skb_push` checks the headroom.
        unsafe {
            core::slice::from_raw_parts_mut(
                bindings::skb_push(self.raw(), len).cast::<u8>(),
                len as usize,
            )
        }
    }

    /// Removes `len` bytes from the front (nothing if the linear part is shorter).
    pub fn pull(&mut self, len: u32) {
        if len <= self.headlen() {
            // SAFETY: the skb is ours and its linear part holds `len` bytes.
            unsafe { bindings::skb_pull(self.raw(), len) };
        }
    }

    /// Shortens the frame to `len` bytes (Ethernet padding after an IP datagram).
    pub fn trim(&mut self, len: u32) -> kernel::error::Result {
        // `pskb_trim_rcsum()`, a static inline.
        if len >= self.len() {
            return Ok(());
        }
        // SAFETY: the skb is ours and longer than `len`.
        kernel::error::to_result(unsafe { bindings::pskb_trim_rcsum_slow(self.raw(), len) })
    }

    /// A clone sharing the data (for a raw socket's copy).
    pub fn clone_shared(&self) -> Option<Skb> {
        // SAFETY: the skb is ours; the clone is a new skb we own.
        unsafe { Skb::from_raw(bindings::skb_clone(self.raw(), bindings::GFP_ATOMIC)) }
    }

    /// Leaves a checksum to the device (`CHECKSUM_PARTIAL`): the device, or the stack's
    /// fallback for devices without the offload, sums the data from `start` (an offset from
    /// the current data) to the end and stores the result `offset` bytes after `start`. The
    /// field must hold the pseudo-header sum.
    pub fn set_csum_partial(&mut self, start: u16, offset: u16) {
        self.set_ip_summed(bindings::CHECKSUM_PARTIAL);
        // SAFETY: the skb is ours; `csum_start` counts from the head, as udp4_hwcsum sets it.
        unsafe {
            let r = &*self.raw();
            let headroom = r.data.offset_from(r.head) as u16;
            let c = &mut (*self.hdrs()).__bindgen_anon_1.__bindgen_anon_1;
            c.csum_start = headroom.wrapping_add(start);
            c.csum_offset = offset;
        }
    }

    /// Finishes a checksum left to the device, before the data is cut or copied.
    pub fn checksum_help(&mut self) -> kernel::error::Result {
        if self.ip_summed() != bindings::CHECKSUM_PARTIAL {
            return Ok(());
        }
        // SAFETY: the skb is ours.
        kernel::error::to_result(unsafe { bindings::skb_checksum_help(self.raw()) })
    }

    /// True when the transport checksum needs no software check (left to the NIC by the
    /// sender, or verified by it).
    pub fn csum_trusted(&self) -> bool {
        matches!(
            self.ip_summed(),
            bindings::CHECKSUM_PARTIAL | bindings::CHECKSUM_UNNECESSARY
        )
    }

    /// Sets the link-layer protocol (host order), as `eth_type_trans` would on receive.
    pub fn set_protocol(&mut self, proto: u16) {
        // SAFETY: the skb is ours.
        unsafe { (*self.hdrs()).protocol = proto.to_be() }
    }

    /// The link-layer protocol (`skb->protocol`, host order), e.g. 0x0800 for IPv4.
    pub fn protocol(&self) -> u16 {
        // SAFETY: the skb is ours.
        u16::from_be(unsafe { (*self.hdrs()).protocol })
    }

    /// How the receiving device classified the frame.
    pub fn pkt_type(&self) -> PktType {
        // SAFETY: the skb is ours.
        match u32::from(unsafe { ffi::rvnet_skb_pkt_type(self.raw()) }) {
            bindings::PACKET_HOST => PktType::Host,
            bindings::PACKET_BROADCAST => PktType::Broadcast,
            bindings::PACKET_MULTICAST => PktType::Multicast,
            bindings::PACKET_OTHERHOST => PktType::OtherHost,
            _ => PktType::Other,
        }
    }

    /// The device the frame arrived on or leaves by.
    pub fn dev(&self) -> Option<&NetDevice> {
        // SAFETY: the skb is ours; its device, when set, is valid while the frame is in the
        // receive path (which holds it) or being built for a held device. Callers use it
        // only there, never for frames that waited in a queue.
        unsafe { raw_dev(self.raw()).as_ref().map(|d| NetDevice::from_raw(d)) }
    }

    /// Records the sender's address and port for `recvmsg` to return.
    pub fn set_source(&mut self, addr: [u8; 4], port: u16) {
        RecvSource {
            addr,
            port_be: port.to_be(),
        }
        .write(self.raw());
    }

    /// Frees the frame, then reports `err` (a positive errno) to the socket that sent it,
    /// if any: its next call returns the error, and a writer woken by the report finds the
    /// frame's send-buffer charge already returned.
    pub fn fail(self, err: i32) {
        let raw = self.into_raw();
        // SAFETY: `raw` is ours; the shim frees it.
        unsafe { ffi::rvnet_skb_fail(raw, err) }
    }

    /// Sends the frame (data at the network header) on `dev` to `dst` with Ethertype
    /// `proto`: adds the Ethernet header and queues it (`dev_queue_xmit`).
    pub fn xmit(self, dev: &NetDevice, dst: [u8; 6], proto: u16) -> kernel::error::Result {
        let raw = self.into_raw();
        // SAFETY: `raw` is ours and is consumed by the shim in every case.
        let r = unsafe { ffi::rvnet_xmit(raw, dev.as_raw(), dst.as_ptr(), proto) };
        if r < 0 {
            return Err(Error::from_errno(r));
        }
        // NET_XMIT_DROP and NET_XMIT_CN are positive: the qdisc dropped it.
        if r == 1 {
            return Err(super::errno(bindings::ENOBUFS));
        }
        Ok(())
    }
}

impl Drop for Skb {
    fn drop(&mut self) {
        // SAFETY: `self.0` is a valid skb we own; freeing it ends our ownership. The reason
        // shows in the kfree_skb tracepoint and drop monitor.
        unsafe {
            bindings::dev_kfree_skb_any_reason(
                self.raw(),
                bindings::skb_drop_reason_SKB_DROP_REASON_NOT_SPECIFIED,
            )
        };
    }
}

/// A list of owned skbs linked through `skb->next`, as segmentation returns them.
///
/// # Invariants
///
/// `head` is null or the first of a `next`-linked list of valid skbs that this object owns.
pub struct SkbList {
    head: *mut bindings::sk_buff,
}

impl SkbList {
    /// An empty list.
    pub const fn new() -> Self {
        SkbList {
            head: core::ptr::null_mut(),
        }
    }

    /// Puts `skb` at the head of the list (the list comes out last-in first). No memory is
    /// allocated: the skb's own `next` links it, so that packets can be collected under a
    /// spinlock and freed or sent after it.
    pub fn push(&mut self, skb: Skb) {
        let raw = skb.into_raw();
        // SAFETY: `raw` is a valid skb we own and that is on no list; linking it in front of
        // the owned list keeps the invariant (every skb on it is owned by the list).
        unsafe {
            (*raw).__bindgen_anon_1.__bindgen_anon_1.next = self.head;
        }
        self.head = raw;
    }

    /// True if the list holds no skb.
    pub fn is_empty(&self) -> bool {
        self.head.is_null()
    }
}

impl Default for SkbList {
    fn default() -> Self {
        Self::new()
    }
}

impl Iterator for SkbList {
    type Item = Skb;

    fn next(&mut self) -> Option<Skb> {
        let cur = self.head;
        if cur.is_null() {
            return None;
        }
        // SAFETY: `cur` is the owned head of the list; unlink it (`skb_mark_not_on_list()`).
        self.head = unsafe {
            let l = &mut (*cur).__bindgen_anon_1.__bindgen_anon_1;
            core::mem::replace(&mut l.next, core::ptr::null_mut())
        };
        // SAFETY: `cur` is valid, owned, and no longer on the list.
        unsafe { Skb::from_raw(cur) }
    }
}

impl Drop for SkbList {
    fn drop(&mut self) {
        for skb in self.by_ref() {
            drop(skb);
        }
    }
}

// SAFETY: the list owns its skbs, which may move between CPUs like any owned skb.
unsafe impl Send for SkbList {}
