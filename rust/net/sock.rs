// SPDX-License-Identifier: GPL-2.0

//! Socket families: `struct sock`, `struct socket`, `proto_ops` and the per-namespace state
//! of a family.
//!
//! A family is a type `T: Family`. It has one [`Family::Net`] per network namespace (its
//! stack: interfaces, tables, counters) and one [`Family::Sock`] per socket. The
//! [`Adapter`] turns `T`'s safe methods into the C tables: the `proto_ops` of each socket
//! type, and the `rvnet_family_ops` callbacks through which `family.c` reaches Rust for
//! namespace set-up, the device receive handler, `/proc/net/rvnet` and socket creation.
//!
//! What `family.c` does itself is af_packet's plumbing: `sk_alloc`, release, and `recvmsg`
//! over the socket's own receive queue (`skb_recv_datagram`), which blocks, peeks and
//! truncates exactly as every datagram socket in the kernel does. A datagram arrives on that
//! queue through [`SockRef::queue_rcv`] (`sock_queue_rcv_skb`: SO_RCVBUF accounting, then
//! `sk_data_ready` wakes the readers), the last step of the seed notes' receive path.

use super::ffi;
use super::netdev::NetDevice;
use super::skb::Skb;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::bindings;
use kernel::error::{from_result, to_result, Error};
use kernel::prelude::*;
use kernel::uaccess::{UserPtr, UserSlice};

/// Socket types a family may offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockType {
    /// `SOCK_DGRAM`.
    Dgram,
    /// `SOCK_RAW`.
    Raw,
}

/// The `/proc/net/rvnet` files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcFile {
    /// `dev`: attached interfaces.
    Dev,
    /// `arp`: the ARP cache.
    Arp,
    /// `route`: the FIB.
    Route,
    /// `sockets`: bound sockets.
    Sockets,
    /// `stats`: counters.
    Stats,
}

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
    /// True if the calling task has `cap` in the namespace's user namespace.
    pub fn capable(&self, cap: u32) -> bool {
        // SAFETY: the namespace is live by the type invariant.
        unsafe { ffi::rvnet_net_capable(self.0.as_ptr(), cap as i32) }
    }

    /// The device with `ifindex` in this namespace, held.
    pub fn device(&self, ifindex: i32) -> Option<DevRef> {
        // SAFETY: the namespace is live; the function takes a reference it gives to us.
        let p = unsafe { ffi::rvnet_dev_get_by_index(self.0.as_ptr(), ifindex) };
        NonNull::new(p).map(DevRef)
    }
}

/// A held network device (`dev_hold`): it cannot be freed while this lives, though it may be
/// unregistered (the family's `netdev_unregister` then drops its references).
///
/// # Invariants
///
/// `self.0` is a valid device on which this object holds one reference.
pub struct DevRef(NonNull<bindings::net_device>);

// SAFETY: device references may be taken and dropped on any CPU.
unsafe impl Send for DevRef {}
// SAFETY: the device is only read through `NetDevice`'s racy-read-safe accessors.
unsafe impl Sync for DevRef {}

impl DevRef {
    /// Holds `dev`.
    pub fn hold(dev: &NetDevice) -> DevRef {
        // SAFETY: `dev` is valid; the reference is released in `Drop`.
        unsafe { ffi::rvnet_dev_hold(dev.as_raw()) };
        // INVARIANT: we now hold a reference.
        DevRef(NonNull::from(dev).cast())
    }
}

impl core::ops::Deref for DevRef {
    type Target = NetDevice;
    fn deref(&self) -> &NetDevice {
        // SAFETY: the device is valid while we hold it.
        unsafe { NetDevice::from_raw(self.0.as_ptr()) }
    }
}

impl Clone for DevRef {
    fn clone(&self) -> Self {
        DevRef::hold(self)
    }
}

impl Drop for DevRef {
    fn drop(&mut self) {
        // SAFETY: we hold one reference, released here.
        unsafe { ffi::rvnet_dev_put(self.0.as_ptr()) }
    }
}

impl NetDevice {
    /// The interface name.
    pub fn name(&self) -> &[u8] {
        // SAFETY: `name` is a NUL-terminated array inside the valid device.
        let s = unsafe { CStr::from_char_ptr(ffi::rvnet_netdev_name(self.as_raw())) };
        s.to_bytes()
    }

    /// The MAC address (zeros if the device has none of Ethernet's length).
    pub fn mac(&self) -> [u8; 6] {
        let mut mac = [0u8; 6];
        if self.is_ether() {
            // SAFETY: an Ethernet device's `dev_addr` holds 6 bytes.
            let p = unsafe { ffi::rvnet_netdev_addr(self.as_raw()) };
            // SAFETY: as above; `mac` has room for 6.
            unsafe { core::ptr::copy_nonoverlapping(p, mac.as_mut_ptr(), 6) };
        }
        mac
    }

    /// The MTU.
    pub fn mtu(&self) -> u32 {
        // SAFETY: the device is valid.
        unsafe { ffi::rvnet_netdev_mtu(self.as_raw()) }
    }

    /// True for an Ethernet device (ARPHRD_ETHER, 6-byte addresses).
    pub fn is_ether(&self) -> bool {
        // SAFETY: the device is valid.
        unsafe { ffi::rvnet_netdev_is_ether(self.as_raw()) }
    }

    /// Link-layer headroom to reserve in frames sent on this device.
    pub fn ll_headroom(&self) -> u32 {
        // SAFETY: the device is valid.
        unsafe { ffi::rvnet_ll_headroom(self.as_raw()) }
    }
}

/// RTNL, held while this lives.
pub struct Rtnl(PhantomData<*mut ()>);

impl Rtnl {
    /// Takes RTNL. May sleep.
    pub fn lock() -> Rtnl {
        // SAFETY: process context (callers are system calls and work items).
        unsafe { ffi::rvnet_rtnl_lock() };
        Rtnl(PhantomData)
    }

    /// Hands the frames `dev` receives to `T`'s stack `net` first (its receive handler).
    pub fn attach_rx<T: Family>(&self, dev: &NetDevice, net: &T::Net) -> Result {
        // SAFETY: RTNL is held (`self`); `net` outlives the attachment, because the family
        // detaches every device before its per-namespace state is freed.
        to_result(unsafe {
            ffi::rvnet_rx_attach(
                dev.as_raw(),
                core::ptr::from_ref::<T::Net>(net).cast_mut().cast(),
            )
        })
    }

    /// Undoes [`Rtnl::attach_rx`] (waits for receivers in flight to finish).
    pub fn detach_rx(&self, dev: &NetDevice) {
        // SAFETY: RTNL is held; the shim checks that the handler is ours.
        unsafe { ffi::rvnet_rx_detach(dev.as_raw()) }
    }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        // SAFETY: paired with the lock in `lock`.
        unsafe { ffi::rvnet_rtnl_unlock() };
    }
}

/// Proof that RTNL is held, for callbacks the core calls under it.
pub struct RtnlHeld<'a>(PhantomData<&'a ()>);

impl RtnlHeld<'_> {
    /// See [`Rtnl::detach_rx`].
    pub fn detach_rx(&self, dev: &NetDevice) {
        // SAFETY: RTNL is held (the type's promise).
        unsafe { ffi::rvnet_rx_detach(dev.as_raw()) }
    }
}

/// Milliseconds since boot (suspend included): the clock of ARP ageing and reassembly.
pub fn now_ms() -> u64 {
    // SAFETY: reads a clock.
    unsafe { ffi::rvnet_now_ms() }
}

/// A random number (keys of the IP ID hash, ephemeral port choice).
pub fn random_u32() -> u32 {
    // SAFETY: no preconditions.
    unsafe { bindings::get_random_u32() }
}

/// A `/proc` file being written (`struct seq_file`), as a `fmt::Write` sink.
pub struct SeqFile(NonNull<bindings::seq_file>);

impl core::fmt::Write for SeqFile {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        // SAFETY: the seq_file is valid during the show callback that made `self`; the
        // bytes are valid for `s.len()`.
        unsafe { ffi::rvnet_seq_write(self.0.as_ptr(), s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

/// A referenced socket (`sock_hold`): the receive path holds one to queue a datagram.
///
/// # Invariants
///
/// `self.0` is a valid `sock` of this family on which we hold one reference.
pub struct SockRef(NonNull<bindings::sock>);

// SAFETY: socket references move between CPUs; queueing takes the queue's lock.
unsafe impl Send for SockRef {}
// SAFETY: as above.
unsafe impl Sync for SockRef {}

impl SockRef {
    fn raw(&self) -> *mut bindings::sock {
        self.0.as_ptr()
    }

    /// Queues `skb` on the socket's receive queue and wakes its readers. A full queue
    /// (SO_RCVBUF) gives the skb back; the kernel has raised the socket's drop count.
    pub fn queue_rcv(&self, skb: Skb) -> Result<(), Skb> {
        let raw = skb.into_raw();
        // SAFETY: the socket is held; `raw` is ours and on no list.
        if unsafe { ffi::rvnet_sock_queue_rcv(self.raw(), raw) } == 0 {
            return Ok(());
        }
        // `__sock_queue_rcv_skb` counted the drop on the socket (`sk_drops`).
        // SAFETY: on failure the skb is still ours.
        match unsafe { Skb::from_raw(raw) } {
            Some(skb) => Err(skb),
            None => Ok(()),
        }
    }

    /// Sets the socket's pending error (`err`, a positive errno) and wakes its waiters.
    pub fn report_error(&self, err: i32) {
        // SAFETY: the socket is held.
        unsafe { ffi::rvnet_sock_report_error(self.raw(), err) }
    }

    /// Bytes queued for reading (charged to SO_RCVBUF).
    pub fn rmem(&self) -> u32 {
        // SAFETY: the socket is held.
        unsafe { ffi::rvnet_sock_rmem(self.raw()) }
    }

    /// SO_RCVBUF.
    pub fn rcvbuf(&self) -> u32 {
        // SAFETY: the socket is held.
        unsafe { ffi::rvnet_sock_rcvbuf(self.raw()) }
    }

    /// Datagrams dropped because the receive queue was full.
    pub fn drops(&self) -> u32 {
        // SAFETY: the socket is held.
        unsafe { ffi::rvnet_sock_drops(self.raw()) }
    }

    /// SO_BINDTODEVICE (0 when unbound).
    pub fn bound_dev_if(&self) -> i32 {
        // SAFETY: the socket is held.
        unsafe { ffi::rvnet_sock_bound_dev(self.raw()) }
    }

    /// True if `self` is `sock`.
    pub fn is<T: Family>(&self, sock: &Socket<'_, T>) -> bool {
        self.0 == sock.sk
    }
}

impl Clone for SockRef {
    fn clone(&self) -> Self {
        // SAFETY: the socket is valid (we hold it); the new reference is released on drop.
        unsafe { ffi::rvnet_sock_hold(self.raw()) };
        SockRef(self.0)
    }
}

impl Drop for SockRef {
    fn drop(&mut self) {
        // SAFETY: we hold one reference, released here.
        unsafe { ffi::rvnet_sock_put(self.raw()) }
    }
}

/// A socket of this module's family opened by the kernel itself in the initial namespace
/// (`sock_create_kern`): what KUnit cases use to reach the socket paths without user space.
///
/// # Invariants
///
/// `sock` is a socket we created and have not released.
pub struct KernelSocket {
    sock: NonNull<bindings::socket>,
}

impl KernelSocket {
    /// Opens a socket of `kind`. May sleep.
    pub fn new(kind: SockType) -> Result<KernelSocket> {
        let t = match kind {
            SockType::Dgram => bindings::sock_type_SOCK_DGRAM,
            SockType::Raw => bindings::sock_type_SOCK_RAW,
        };
        let mut p: *mut bindings::socket = core::ptr::null_mut();
        // SAFETY: `p` receives the new socket on success.
        to_result(unsafe { ffi::rvnet_kernel_socket(t as i32, &mut p) })?;
        // INVARIANT: created above.
        NonNull::new(p)
            .map(|sock| KernelSocket { sock })
            .ok_or(EINVAL)
    }

    /// A counted reference to the socket's `sock`.
    pub fn sk(&self) -> Result<SockRef> {
        // SAFETY: the socket is live; its `sk` is valid while it is.
        let sk = NonNull::new(unsafe { ffi::rvnet_socket_sk(self.sock.as_ptr()) }).ok_or(EINVAL)?;
        // SAFETY: `sk` is valid; the reference is released when the `SockRef` drops.
        unsafe { ffi::rvnet_sock_hold(sk.as_ptr()) };
        Ok(SockRef(sk))
    }

    /// Sets SO_RCVBUF (the kernel doubles it, as setsockopt does).
    pub fn set_rcvbuf(&self, bytes: i32) -> Result {
        let sk = self.sk()?;
        // SAFETY: the sock is held.
        unsafe { ffi::rvnet_sock_set_rcvbuf(sk.raw(), bytes) };
        Ok(())
    }
}

impl Drop for KernelSocket {
    fn drop(&mut self) {
        // SAFETY: created in `new`, released once here.
        unsafe { ffi::rvnet_kernel_socket_release(self.sock.as_ptr()) }
    }
}

/// The family's state for the initial namespace, for KUnit cases.
pub fn init_net_state<T: Family>() -> Option<&'static T::Net> {
    // SAFETY: the initial namespace never goes away, and its state lives while the family is
    // registered, which is as long as the module (and its KUnit cases) runs.
    unsafe { ffi::rvnet_init_net_state().cast::<T::Net>().as_ref() }
}

/// A socket of family `T`, borrowed for one system call.
///
/// # Invariants
///
/// `sk` is a valid `sock` created by `T`'s family, whose state is `state`, in the namespace
/// whose stack is `net`; all three stay valid during the call.
pub struct Socket<'a, T: Family> {
    sk: NonNull<bindings::sock>,
    /// The socket's own state.
    pub state: &'a T::Sock,
    /// The stack of the socket's namespace.
    pub net: &'a T::Net,
}

impl<T: Family> Socket<'_, T> {
    fn raw(&self) -> *mut bindings::sock {
        self.sk.as_ptr()
    }

    /// A counted reference to the socket, for tables the receive path reads.
    pub fn to_ref(&self) -> SockRef {
        // SAFETY: the socket is valid; the reference is released when the `SockRef` drops.
        unsafe { ffi::rvnet_sock_hold(self.raw()) };
        SockRef(self.sk)
    }

    /// True if the calling task has `cap` in the socket's namespace.
    pub fn capable(&self, cap: u32) -> bool {
        // SAFETY: the socket is valid.
        unsafe { ffi::rvnet_ns_capable(self.raw(), cap as i32) }
    }

    /// The socket's namespace.
    pub fn netns(&self) -> NetNs {
        // SAFETY: the socket is valid, and so is its namespace.
        let net = unsafe { ffi::rvnet_sock_net(self.raw()) };
        // INVARIANT: a live socket's namespace is live.
        NetNs(NonNull::new(net).unwrap_or(NonNull::dangling()))
    }

    /// SO_BINDTODEVICE (0 when unbound).
    pub fn bound_dev_if(&self) -> i32 {
        // SAFETY: the socket is valid.
        unsafe { ffi::rvnet_sock_bound_dev(self.raw()) }
    }

    /// Allocates a frame to send, charged to SO_SNDBUF: `headroom` bytes reserved, `len`
    /// bytes of tailroom. Blocks (SO_SNDTIMEO) unless `noblock`.
    pub fn alloc_send_skb(&self, len: u32, headroom: u32, noblock: bool) -> Result<Skb> {
        let mut err = 0;
        // SAFETY: the socket is valid; `err` is written on failure.
        let p = unsafe { ffi::rvnet_sock_alloc_send(self.raw(), len, headroom, noblock, &mut err) };
        // SAFETY: a fresh skb is ours and on no list.
        unsafe { Skb::from_raw(p) }.ok_or_else(|| {
            if err < 0 {
                Error::from_errno(err)
            } else {
                Error::from_errno(-105)
            }
        })
    }

    /// Marks the socket shut down for `how` (SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2) and wakes
    /// its waiters.
    pub fn shutdown(&self, how: i32) -> Result {
        let mask = match how {
            0 => bindings::RCV_SHUTDOWN,
            1 => bindings::SEND_SHUTDOWN,
            2 => bindings::SHUTDOWN_MASK,
            _ => return Err(EINVAL),
        };
        // SAFETY: the socket is valid.
        unsafe { ffi::rvnet_sock_shutdown(self.raw(), mask as i32) };
        Ok(())
    }

    /// A pending asynchronous error (for example EHOSTUNREACH after ARP gave up), cleared.
    pub fn take_error(&self) -> Result {
        // SAFETY: the socket is valid.
        to_result(unsafe { ffi::rvnet_sock_take_error(self.raw()) })
    }
}

/// The message of a `sendmsg` call.
pub struct Msg<'a> {
    msg: NonNull<bindings::msghdr>,
    _p: PhantomData<&'a mut ()>,
}

impl Msg<'_> {
    /// The destination address the caller gave (`msg_name`, already copied into the
    /// kernel), if any.
    pub fn name(&self) -> Option<&[u8]> {
        // SAFETY: the msghdr is valid during the call.
        let m = unsafe { self.msg.as_ref() };
        if m.msg_name.is_null() || m.msg_namelen <= 0 {
            return None;
        }
        // SAFETY: the socket layer copied `msg_namelen` bytes of address into `msg_name`.
        Some(unsafe {
            core::slice::from_raw_parts(m.msg_name.cast::<u8>(), m.msg_namelen as usize)
        })
    }

    /// The `flags` argument of the call.
    pub fn flags(&self) -> u32 {
        // SAFETY: the msghdr is valid during the call.
        unsafe { self.msg.as_ref() }.msg_flags
    }

    /// Copies the next `out.len()` bytes of user data into `out`.
    pub fn copy_into(&mut self, out: &mut [u8]) -> Result {
        let len = i32::try_from(out.len()).map_err(|_| EMSGSIZE)?;
        // SAFETY: the msghdr is valid; `out` has room for `len` bytes.
        let r =
            unsafe { ffi::rvnet_memcpy_from_msg(out.as_mut_ptr().cast(), self.msg.as_ptr(), len) };
        to_result(r)
    }

    /// Copies user data into `len` new bytes at the end of `skb`.
    pub fn copy_into_skb(&mut self, skb: &mut Skb, len: u32) -> Result {
        let out = skb.put(len);
        self.copy_into(out)
    }
}

/// A `setsockopt` value.
pub struct OptVal {
    ptr: bindings::sockptr_t,
    len: usize,
}

impl OptVal {
    /// The length the caller gave.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies the first `out.len()` bytes; EINVAL if the caller gave fewer.
    pub fn read(&self, out: &mut [u8]) -> Result {
        if self.len < out.len() {
            return Err(EINVAL);
        }
        // SAFETY: `ptr` is the caller's sockptr of at least `out.len()` bytes.
        to_result(unsafe {
            ffi::rvnet_copy_from_sockptr(out.as_mut_ptr().cast(), &self.ptr, out.len())
        })
    }
}

/// A family of sockets with a stack per namespace.
pub trait Family: Sized + Send + Sync + 'static {
    /// The family's stack in one namespace.
    type Net: Send + Sync;
    /// One socket's state.
    type Sock: Send + Sync;

    /// Creates the stack of a new namespace.
    fn net_new(net: NetNs) -> Result<Pin<KBox<Self::Net>>>;
    /// Detaches every device (the namespace or the module is going away). RTNL is held.
    fn net_detach_all(net: &Self::Net, rtnl: &RtnlHeld<'_>);
    /// Runs the timers; returns the milliseconds until it wants to run again.
    fn net_tick(net: &Self::Net) -> u64;
    /// Writes one `/proc/net/rvnet` file.
    fn proc_show(net: &Self::Net, file: ProcFile, out: &mut SeqFile);
    /// `dev` is being unregistered or leaving the namespace. RTNL is held.
    fn netdev_unregister(net: &Self::Net, dev: &NetDevice, rtnl: &RtnlHeld<'_>);
    /// A frame arrived on an attached device (data at the network header). `Err` gives it
    /// back to Linux's own stack.
    fn rx(net: &Self::Net, skb: Skb) -> Result<(), Skb>;

    /// Creates a socket's state; `may_raw` says whether the creator has CAP_NET_RAW (or is
    /// the kernel).
    fn sock_new(
        net: &Self::Net,
        kind: SockType,
        protocol: i32,
        may_raw: bool,
    ) -> Result<Pin<KBox<Self::Sock>>>;
    /// The socket exists (its state is `sock.state`): raw sockets join the tables here.
    fn init(sock: &Socket<'_, Self>);
    /// The socket is being closed: forget it.
    fn release(sock: &Socket<'_, Self>);
    /// `bind(2)`.
    fn bind(sock: &Socket<'_, Self>, addr: &[u8]) -> Result;
    /// `connect(2)`.
    fn connect(sock: &Socket<'_, Self>, addr: &[u8]) -> Result;
    /// `getsockname(2)` (`peer` false) or `getpeername(2)`: fills `out`, returns its length.
    fn getname(sock: &Socket<'_, Self>, peer: bool, out: &mut [u8; 16]) -> Result<usize>;
    /// `sendmsg(2)`: returns the bytes sent.
    fn sendmsg(sock: &Socket<'_, Self>, msg: &mut Msg<'_>, len: usize) -> Result<usize>;
    /// `setsockopt(2)` for levels other than SOL_SOCKET.
    fn setsockopt(sock: &Socket<'_, Self>, level: i32, name: i32, val: &OptVal) -> Result;
    /// `getsockopt(2)` for levels other than SOL_SOCKET: `buf` holds the caller's value (up
    /// to its length); returns the length of the answer written back into `buf`.
    fn getsockopt(sock: &Socket<'_, Self>, level: i32, name: i32, buf: &mut [u8]) -> Result<usize>;
}

/// Builds the C tables of family `T`.
pub struct Adapter<T: Family>(PhantomData<T>);

impl<T: Family> Adapter<T> {
    /// # Safety
    ///
    /// `state` must be null or a pointer returned by `net_init`, not yet freed.
    unsafe fn net<'a>(state: *mut kernel::ffi::c_void) -> Option<&'a T::Net> {
        // SAFETY: per the contract, a live `T::Net` or null.
        unsafe { state.cast::<T::Net>().as_ref() }
    }

    /// # Safety
    ///
    /// `sock` must be a socket of this family during one of its `proto_ops` calls.
    unsafe fn socket<'a>(sock: *mut bindings::socket) -> Option<Socket<'a, T>> {
        // SAFETY: the socket is valid during the call.
        let sk = NonNull::new(unsafe { ffi::rvnet_socket_sk(sock) })?;
        // SAFETY: `sk` is ours: its state is a `T::Sock` set by `sock_new`, freed only by
        // the destructor after the last reference.
        let state = unsafe { ffi::rvnet_sk_state(sk.as_ptr()).cast::<T::Sock>().as_ref() }?;
        // SAFETY: the namespace of a live socket is live, and so is our state for it.
        let net = unsafe { Self::net(ffi::rvnet_net_state(ffi::rvnet_sock_net(sk.as_ptr()))) }?;
        // INVARIANT: all three are valid for the call.
        Some(Socket { sk, state, net })
    }

    /// # Safety
    ///
    /// Called only by `family.c`, with what `struct rvnet_family_ops` promises: the state
    /// pointer is null or one `net_init` returned and `net_free` has not freed, and every
    /// other pointer is valid for the whole call.
    unsafe extern "C" fn net_init(net: *mut bindings::net) -> *mut kernel::ffi::c_void {
        let Some(net) = NonNull::new(net) else {
            return core::ptr::null_mut();
        };
        // INVARIANT: the namespace outlives its pernet state.
        match T::net_new(NetNs(net)) {
            // SAFETY: the state is pinned for good: it is freed only by `net_free`, which
            // rebuilds the pinned box.
            Ok(b) => KBox::into_raw(unsafe { Pin::into_inner_unchecked(b) }).cast(),
            Err(_) => core::ptr::null_mut(),
        }
    }

    /// # Safety
    ///
    /// Called only by `family.c`, with what `struct rvnet_family_ops` promises: the state
    /// pointer is null or one `net_init` returned and `net_free` has not freed, and every
    /// other pointer is valid for the whole call.
    unsafe extern "C" fn net_detach_all(state: *mut kernel::ffi::c_void) {
        // SAFETY: `family.c` passes the live state, with RTNL held.
        if let Some(net) = unsafe { Self::net(state) } {
            T::net_detach_all(net, &RtnlHeld(PhantomData));
        }
    }

    /// # Safety
    ///
    /// Called only by `family.c`, with what `struct rvnet_family_ops` promises: the state
    /// pointer is null or one `net_init` returned and `net_free` has not freed, and every
    /// other pointer is valid for the whole call.
    unsafe extern "C" fn net_free(state: *mut kernel::ffi::c_void) {
        if !state.is_null() {
            // SAFETY: `state` came from `KBox::into_raw` in `net_init` and no one uses it
            // any more (devices detached, receivers synchronised, sockets gone: each holds
            // the namespace).
            drop(unsafe { KBox::from_raw(state.cast::<T::Net>()) });
        }
    }

    /// # Safety
    ///
    /// Called only by `family.c`, with what `struct rvnet_family_ops` promises: the state
    /// pointer is null or one `net_init` returned and `net_free` has not freed, and every
    /// other pointer is valid for the whole call.
    unsafe extern "C" fn net_tick(state: *mut kernel::ffi::c_void) -> kernel::ffi::c_ulong {
        // SAFETY: `family.c` passes the live state.
        match unsafe { Self::net(state) } {
            Some(net) => T::net_tick(net) as kernel::ffi::c_ulong,
            None => 1000,
        }
    }

    /// # Safety
    ///
    /// Called only by `family.c`, with what `struct rvnet_family_ops` promises: the state
    /// pointer is null or one `net_init` returned and `net_free` has not freed, and every
    /// other pointer is valid for the whole call.
    unsafe extern "C" fn proc_show(
        state: *mut kernel::ffi::c_void,
        file: kernel::ffi::c_int,
        seq: *mut bindings::seq_file,
    ) -> kernel::ffi::c_int {
        let file = match file as u32 {
            ffi::RVNET_PROC_DEV => ProcFile::Dev,
            ffi::RVNET_PROC_ARP => ProcFile::Arp,
            ffi::RVNET_PROC_ROUTE => ProcFile::Route,
            ffi::RVNET_PROC_SOCKETS => ProcFile::Sockets,
            _ => ProcFile::Stats,
        };
        // SAFETY: `family.c` passes the live state.
        if let (Some(net), Some(seq)) = (unsafe { Self::net(state) }, NonNull::new(seq)) {
            T::proc_show(net, file, &mut SeqFile(seq));
        }
        0
    }

    /// # Safety
    ///
    /// Called only by `family.c`, with what `struct rvnet_family_ops` promises: the state
    /// pointer is null or one `net_init` returned and `net_free` has not freed, and every
    /// other pointer is valid for the whole call.
    unsafe extern "C" fn netdev_unregister(
        state: *mut kernel::ffi::c_void,
        dev: *mut bindings::net_device,
    ) {
        // SAFETY: `family.c` passes the live state and a valid device, with RTNL held.
        if let Some(net) = unsafe { Self::net(state) } {
            // SAFETY: the device is valid during the notifier call.
            T::netdev_unregister(
                net,
                unsafe { NetDevice::from_raw(dev) },
                &RtnlHeld(PhantomData),
            );
        }
    }

    /// # Safety
    ///
    /// Called only by `family.c`, with what `struct rvnet_family_ops` promises: the state
    /// pointer is null or one `net_init` returned and `net_free` has not freed, and every
    /// other pointer is valid for the whole call.
    unsafe extern "C" fn rx(
        state: *mut kernel::ffi::c_void,
        skb: *mut bindings::sk_buff,
    ) -> *mut bindings::sk_buff {
        // SAFETY: the receive handler owns `skb` (unshared) and gives it to us.
        let Some(skb) = (unsafe { Skb::from_raw(skb) }) else {
            return core::ptr::null_mut();
        };
        // SAFETY: the handler's data is the state of an attached device's namespace, alive
        // until the device is detached (which waits for receivers in flight).
        let Some(net) = (unsafe { Self::net(state) }) else {
            return skb.into_raw();
        };
        match T::rx(net, skb) {
            Ok(()) => core::ptr::null_mut(),
            Err(skb) => skb.into_raw(),
        }
    }

    /// # Safety
    ///
    /// Called only by `family.c`, with what `struct rvnet_family_ops` promises: the state
    /// pointer is null or one `net_init` returned and `net_free` has not freed, and every
    /// other pointer is valid for the whole call.
    unsafe extern "C" fn sock_new(
        state: *mut kernel::ffi::c_void,
        kind: kernel::ffi::c_int,
        protocol: kernel::ffi::c_int,
        may_raw: kernel::ffi::c_int,
        err: *mut kernel::ffi::c_int,
    ) -> *mut kernel::ffi::c_void {
        let r = (|| -> Result<Pin<KBox<T::Sock>>> {
            // SAFETY: `family.c` passes the live state of the caller's namespace.
            let net = unsafe { Self::net(state) }.ok_or(ENOMEM)?;
            let kind = if kind == bindings::sock_type_SOCK_RAW as i32 {
                SockType::Raw
            } else {
                SockType::Dgram
            };
            T::sock_new(net, kind, protocol, may_raw != 0)
        })();
        match r {
            // SAFETY: the state stays pinned: only `sock_free` rebuilds the box, to drop it.
            Ok(b) => KBox::into_raw(unsafe { Pin::into_inner_unchecked(b) }).cast(),
            Err(e) => {
                // SAFETY: `err` is the caller's out-parameter.
                unsafe { *err = e.to_errno() };
                core::ptr::null_mut()
            }
        }
    }

    /// # Safety
    ///
    /// Called only by `family.c`, with what `struct rvnet_family_ops` promises: the state
    /// pointer is null or one `net_init` returned and `net_free` has not freed, and every
    /// other pointer is valid for the whole call.
    unsafe extern "C" fn sock_init(_state: *mut kernel::ffi::c_void, sk: *mut bindings::sock) {
        let Some(sk) = NonNull::new(sk) else { return };
        // SAFETY: called from create with a fully set up socket of ours.
        let st = unsafe { ffi::rvnet_sk_state(sk.as_ptr()).cast::<T::Sock>().as_ref() };
        // SAFETY: as in `socket`.
        let net = unsafe { Self::net(ffi::rvnet_net_state(ffi::rvnet_sock_net(sk.as_ptr()))) };
        if let (Some(state), Some(net)) = (st, net) {
            T::init(&Socket { sk, state, net });
        }
    }

    /// # Safety
    ///
    /// Called only by `family.c`, with what `struct rvnet_family_ops` promises: the state
    /// pointer is null or one `net_init` returned and `net_free` has not freed, and every
    /// other pointer is valid for the whole call.
    unsafe extern "C" fn sock_release(
        _state: *mut kernel::ffi::c_void,
        sk: *mut bindings::sock,
        _sock_state: *mut kernel::ffi::c_void,
    ) {
        let Some(sk) = NonNull::new(sk) else { return };
        // SAFETY: called from release with a live socket of ours.
        let st = unsafe { ffi::rvnet_sk_state(sk.as_ptr()).cast::<T::Sock>().as_ref() };
        // SAFETY: as in `socket`.
        let net = unsafe { Self::net(ffi::rvnet_net_state(ffi::rvnet_sock_net(sk.as_ptr()))) };
        if let (Some(state), Some(net)) = (st, net) {
            T::release(&Socket { sk, state, net });
        }
    }

    /// # Safety
    ///
    /// Called only by `family.c`, with what `struct rvnet_family_ops` promises: the state
    /// pointer is null or one `net_init` returned and `net_free` has not freed, and every
    /// other pointer is valid for the whole call.
    unsafe extern "C" fn sock_free(state: *mut kernel::ffi::c_void) {
        if !state.is_null() {
            // SAFETY: `state` came from `KBox::into_raw` in `sock_new`; the socket is being
            // destroyed, so nothing else uses it.
            drop(unsafe { KBox::from_raw(state.cast::<T::Sock>()) });
        }
    }

    /// # Safety
    ///
    /// Called only by the socket layer through our `proto_ops`, with a socket of this family
    /// and (kernel-side copies of) the caller's arguments valid for the whole call.
    unsafe extern "C" fn bind(
        sock: *mut bindings::socket,
        addr: *mut bindings::sockaddr_unsized,
        len: kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: called by the socket layer for one of our sockets.
            let s = unsafe { Self::socket(sock) }.ok_or(EINVAL)?;
            let len = usize::try_from(len).map_err(|_| EINVAL)?;
            // SAFETY: the socket layer copied `len` bytes of address into the kernel.
            let a = unsafe { core::slice::from_raw_parts(addr.cast::<u8>(), len) };
            T::bind(&s, a)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called only by the socket layer through our `proto_ops`, with a socket of this family
    /// and (kernel-side copies of) the caller's arguments valid for the whole call.
    unsafe extern "C" fn connect(
        sock: *mut bindings::socket,
        addr: *mut bindings::sockaddr_unsized,
        len: kernel::ffi::c_int,
        _flags: kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: called by the socket layer for one of our sockets.
            let s = unsafe { Self::socket(sock) }.ok_or(EINVAL)?;
            let len = usize::try_from(len).map_err(|_| EINVAL)?;
            // SAFETY: the socket layer copied `len` bytes of address into the kernel.
            let a = unsafe { core::slice::from_raw_parts(addr.cast::<u8>(), len) };
            T::connect(&s, a)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called only by the socket layer through our `proto_ops`, with a socket of this family
    /// and (kernel-side copies of) the caller's arguments valid for the whole call.
    unsafe extern "C" fn getname(
        sock: *mut bindings::socket,
        addr: *mut bindings::sockaddr,
        peer: kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: called by the socket layer for one of our sockets.
            let s = unsafe { Self::socket(sock) }.ok_or(EINVAL)?;
            let mut out = [0u8; 16];
            let n = T::getname(&s, peer != 0, &mut out)?;
            // SAFETY: `addr` is a sockaddr_storage the socket layer provides.
            unsafe { core::ptr::copy_nonoverlapping(out.as_ptr(), addr.cast::<u8>(), n.min(16)) };
            Ok(n as i32)
        })
    }

    /// # Safety
    ///
    /// Called only by the socket layer through our `proto_ops`, with a socket of this family
    /// and (kernel-side copies of) the caller's arguments valid for the whole call.
    unsafe extern "C" fn sendmsg(
        sock: *mut bindings::socket,
        msg: *mut bindings::msghdr,
        len: usize,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: called by the socket layer for one of our sockets.
            let s = unsafe { Self::socket(sock) }.ok_or(EINVAL)?;
            let msg = NonNull::new(msg).ok_or(EINVAL)?;
            let mut m = Msg {
                msg,
                _p: PhantomData,
            };
            let n = T::sendmsg(&s, &mut m, len)?;
            Ok(i32::try_from(n).unwrap_or(i32::MAX))
        })
    }

    /// # Safety
    ///
    /// Called only by the socket layer through our `proto_ops`, with a socket of this family
    /// and (kernel-side copies of) the caller's arguments valid for the whole call.
    unsafe extern "C" fn setsockopt(
        sock: *mut bindings::socket,
        level: kernel::ffi::c_int,
        name: kernel::ffi::c_int,
        val: bindings::sockptr_t,
        len: kernel::ffi::c_uint,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: called by the socket layer for one of our sockets.
            let s = unsafe { Self::socket(sock) }.ok_or(EINVAL)?;
            T::setsockopt(
                &s,
                level,
                name,
                &OptVal {
                    ptr: val,
                    len: len as usize,
                },
            )?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called only by the socket layer through our `proto_ops`, with a socket of this family
    /// and (kernel-side copies of) the caller's arguments valid for the whole call.
    unsafe extern "C" fn getsockopt(
        sock: *mut bindings::socket,
        level: kernel::ffi::c_int,
        name: kernel::ffi::c_int,
        val: *mut kernel::ffi::c_char,
        lenp: *mut kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: called by the socket layer for one of our sockets.
            let s = unsafe { Self::socket(sock) }.ok_or(EINVAL)?;
            let lenp = UserPtr::from_ptr(lenp.cast());
            let len: i32 = UserSlice::new(lenp, 4).reader().read()?;
            let len = usize::try_from(len).map_err(|_| EINVAL)?.min(64);
            let mut buf = [0u8; 64];
            let uval = UserPtr::from_ptr(val.cast());
            UserSlice::new(uval, len)
                .reader()
                .read_slice(&mut buf[..len])?;
            let n = T::getsockopt(&s, level, name, &mut buf[..len])?.min(len);
            UserSlice::new(uval, n).writer().write_slice(&buf[..n])?;
            UserSlice::new(lenp, 4)
                .writer()
                .write_slice(&(n as i32).to_ne_bytes())?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called only by the socket layer through our `proto_ops`, with a socket of this family
    /// and (kernel-side copies of) the caller's arguments valid for the whole call.
    unsafe extern "C" fn shutdown(
        sock: *mut bindings::socket,
        how: kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: called by the socket layer for one of our sockets.
            let s = unsafe { Self::socket(sock) }.ok_or(EINVAL)?;
            s.shutdown(how)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called only by the socket layer through our `proto_ops`, with a socket of this family
    /// and (kernel-side copies of) the caller's arguments valid for the whole call.
    unsafe extern "C" fn ioctl(
        _sock: *mut bindings::socket,
        _cmd: kernel::ffi::c_uint,
        _arg: kernel::ffi::c_ulong,
    ) -> kernel::ffi::c_int {
        // Device ioctls (SIOCGIFINDEX and friends) fall through to dev_ioctl.
        -(bindings::ENOIOCTLCMD as i32)
    }

    const FAMILY_OPS: ffi::rvnet_family_ops = ffi::rvnet_family_ops {
        net_init: Some(Self::net_init),
        net_detach_all: Some(Self::net_detach_all),
        net_free: Some(Self::net_free),
        net_tick: Some(Self::net_tick),
        proc_show: Some(Self::proc_show),
        netdev_unregister: Some(Self::netdev_unregister),
        rx: Some(Self::rx),
        sock_new: Some(Self::sock_new),
        sock_init: Some(Self::sock_init),
        sock_release: Some(Self::sock_release),
        sock_free: Some(Self::sock_free),
    };

    fn fill_ops(p: *mut bindings::proto_ops, family: i32, module: *mut bindings::module) {
        // SAFETY: `p` is our pinned, uninitialised slot; zero is "not implemented" for the
        // optional operations, and every mandatory one is set below.
        unsafe {
            core::ptr::write_bytes(p, 0, 1);
            (*p).family = family;
            (*p).owner = module;
            (*p).release = Some(ffi::rvnet_sock_release);
            (*p).bind = Some(Self::bind);
            (*p).connect = Some(Self::connect);
            (*p).socketpair = Some(bindings::sock_no_socketpair);
            (*p).accept = Some(bindings::sock_no_accept);
            (*p).getname = Some(Self::getname);
            (*p).poll = Some(bindings::datagram_poll);
            (*p).ioctl = Some(Self::ioctl);
            (*p).listen = Some(bindings::sock_no_listen);
            (*p).shutdown = Some(Self::shutdown);
            (*p).setsockopt = Some(Self::setsockopt);
            (*p).getsockopt = Some(Self::getsockopt);
            (*p).sendmsg = Some(Self::sendmsg);
            (*p).recvmsg = Some(ffi::rvnet_sock_recvmsg);
            (*p).mmap = Some(bindings::sock_no_mmap);
        }
    }
}

/// The registration of family `T` (`sock_register`, its `struct proto`, the per-namespace
/// state and the device notifier). Dropping it unregisters all of them, detaching every
/// device in every namespace.
#[pin_data(PinnedDrop)]
pub struct FamilyRegistration<T: Family> {
    #[pin]
    dgram: kernel::types::Opaque<bindings::proto_ops>,
    #[pin]
    raw: kernel::types::Opaque<bindings::proto_ops>,
    #[pin]
    fops: kernel::types::Opaque<ffi::rvnet_family_ops>,
    registered: AtomicBool,
    _t: PhantomData<T>,
}

// SAFETY: after registration the tables are only read.
unsafe impl<T: Family> Sync for FamilyRegistration<T> {}
// SAFETY: as above.
unsafe impl<T: Family> Send for FamilyRegistration<T> {}

/// The family number in use (the module parameter `family`).
pub fn family_number() -> i32 {
    // SAFETY: reads a module parameter.
    unsafe { ffi::rvnet_param_family() }
}

impl<T: Family> FamilyRegistration<T> {
    /// Registers the family under the number of the `family` module parameter.
    pub fn new(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        let family = family_number();
        let m = module.as_ptr();
        try_pin_init!(Self {
            dgram <- kernel::types::Opaque::ffi_init(move |p| Adapter::<T>::fill_ops(p, family, m)),
            raw <- kernel::types::Opaque::ffi_init(move |p| Adapter::<T>::fill_ops(p, family, m)),
            fops <- kernel::types::Opaque::ffi_init(|p: *mut ffi::rvnet_family_ops| {
                // SAFETY: `p` is our pinned slot.
                unsafe { p.write(Adapter::<T>::FAMILY_OPS) }
            }),
            registered: AtomicBool::new(false),
            _t: PhantomData,
        })
        .pin_chain(|this| {
            // SAFETY: the tables are pinned in `this` and live until `drop` unregisters.
            to_result(unsafe {
                ffi::rvnet_family_register(this.fops.get(), this.dgram.get(), this.raw.get())
            })?;
            this.registered.store(true, Ordering::Release);
            Ok(())
        })
    }
}

#[pinned_drop]
impl<T: Family> PinnedDrop for FamilyRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        if self.registered.load(Ordering::Acquire) {
            // SAFETY: registered in `new`.
            unsafe { ffi::rvnet_family_unregister() };
        }
    }
}
