// SPDX-License-Identifier: GPL-2.0

//! Socket families: the `net_proto_family` that creates a family's sockets, the `proto` that
//! sizes them, the `proto_ops` of each socket type, and the registration that ties them to
//! the family's per-namespace stacks ([`super::namespace`]), its receive handler
//! ([`super::rx_handler`]) and a netdevice notifier.
//!
//! A family is a type `T: Family`. It has one [`Family::Net`] per network namespace (its
//! stack: interfaces, tables, counters) and one [`Family::Sock`] per socket. The [`Adapter`]
//! turns `T`'s safe methods into the C tables. What it does itself is af_packet's plumbing:
//! `sk_alloc` in `create`, orphaning in `release`, and `recvmsg` over the socket's own receive
//! queue (`skb_recv_datagram`), which blocks, peeks and truncates exactly as every datagram
//! socket in the kernel does.
//!
//! # Locking
//!
//! The socket layer calls `proto_ops` in process context with a reference on the socket;
//! `release` runs once, after which the destructor frees the family's state when the last
//! reference (a receive table's [`super::socket::SockRef`], a queued frame) goes.
//! Registration and unregistration run at module load and unload.

use super::ffi;
use super::namespace::{NetNs, Pernet};
use super::net_device::NetDevice;
use super::rtnl::RtnlHeld;
use super::rx_handler;
use super::seq_file::{ProcFile, SeqWriter};
use super::skb::{RecvSource, Skb};
use super::socket::{state_slot, Msg, OptVal, SockType, Socket};
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use kernel::bindings;
use kernel::error::{code, from_result, to_result, Error};
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::types::Opaque;
use kernel::uaccess::{UserPtr, UserSlice};

/// The family number in use (the module parameter `family`).
pub fn family_number() -> i32 {
    // SAFETY: reads a module parameter.
    unsafe { ffi::rvnet_param_family() }
}

/// The `proto_ops` of each socket type and the `proto`, for `create`, which gets no context
/// pointer: set while the family is registered (one family per module).
static DGRAM_OPS: AtomicPtr<bindings::proto_ops> = AtomicPtr::new(core::ptr::null_mut());
static RAW_OPS: AtomicPtr<bindings::proto_ops> = AtomicPtr::new(core::ptr::null_mut());
static PROTO: AtomicPtr<bindings::proto> = AtomicPtr::new(core::ptr::null_mut());

/// What `recvmsg` accepts: the flags every datagram socket honours.
const RECV_FLAGS: u32 = bindings::MSG_PEEK
    | bindings::MSG_DONTWAIT
    | bindings::MSG_TRUNC
    | bindings::MSG_CMSG_COMPAT
    | bindings::MSG_WAITALL
    | bindings::MSG_ERRQUEUE
    | bindings::MSG_CMSG_CLOEXEC
    | bindings::MSG_NOSIGNAL;

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
    /// The cursor of the first row of `file` at or after `from` (0 is the first row of
    /// every file), or `None` past the last (see `seq_file.rs`).
    fn proc_next(net: &Self::Net, file: ProcFile, from: u64) -> Option<u64>;
    /// Writes the row of `file` at `cursor` (nothing if it has gone meanwhile).
    fn proc_row(net: &Self::Net, file: ProcFile, cursor: u64, out: &mut SeqWriter<'_>);
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
    /// `shutdown(2)`: the family marks the socket with [`Socket::shutdown`] and says whether
    /// it was connected (ENOTCONN if not, as `inet_shutdown` answers, after marking it).
    fn shutdown(sock: &Socket<'_, Self>, how: i32) -> Result;
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
    /// `sock` must be a socket of this family during one of its `proto_ops` calls.
    unsafe fn socket<'a>(sock: *mut bindings::socket) -> Option<Socket<'a, T>> {
        // SAFETY: the socket is valid during the call, and so is its `sk`.
        unsafe { Socket::from_sk((*sock).sk) }
    }

    /// `net_proto_family.create`: `socket(2)` for the family.
    ///
    /// # Safety
    ///
    /// Called by `__sock_create` with a live namespace and a new `socket` without a `sock`.
    unsafe extern "C" fn create(
        net: *mut bindings::net,
        sock: *mut bindings::socket,
        protocol: c_int,
        kern: c_int,
    ) -> c_int {
        from_result(|| {
            let nn = NonNull::new(net).ok_or(EINVAL)?;
            // SAFETY: the namespace is live for the call.
            let netns = unsafe { NetNs::from_raw(nn) };
            // SAFETY: the new socket is ours to set up.
            let ty = unsafe { (*sock).type_ } as u32;
            let (kind, ops) = match ty {
                bindings::sock_type_SOCK_DGRAM => (SockType::Dgram, &DGRAM_OPS),
                bindings::sock_type_SOCK_RAW => (SockType::Raw, &RAW_OPS),
                _ => return Err(super::errno(bindings::ESOCKTNOSUPPORT)),
            };
            let (ops, proto) = (ops.load(Ordering::Acquire), PROTO.load(Ordering::Acquire));
            if ops.is_null() || proto.is_null() {
                return Err(super::errno(bindings::EAFNOSUPPORT));
            }
            let state = netns.state::<T>().ok_or(ENOMEM)?;
            let protocol = match (kind, protocol) {
                (SockType::Dgram, 0) => bindings::IPPROTO_UDP as i32,
                (_, p) => p,
            };
            // CAP_NET_RAW in the namespace's user namespace, as inet_create asks.
            let may_raw =
                kind != SockType::Raw || kern != 0 || netns.capable(bindings::CAP_NET_RAW);
            let st = T::sock_new(state, kind, protocol, may_raw)?;
            // SAFETY: the namespace is live; `proto` is registered and sized by `family.c`.
            let sk = unsafe {
                bindings::sk_alloc(net, family_number(), bindings::GFP_KERNEL, proto, kern)
            };
            if sk.is_null() {
                return Err(super::errno(bindings::ENOBUFS));
            }
            // SAFETY: `sk` is a fresh socket of `family.c`'s layout; `sock_init_data` links it
            // to `sock`. The family's state stays pinned: only `destruct` rebuilds the box,
            // to drop it.
            unsafe {
                (*sock).ops = ops;
                bindings::sock_init_data(sock, sk);
                *state_slot(sk) = KBox::into_raw(Pin::into_inner_unchecked(st)).cast();
                ffi::rvnet_sock_setup(sk, protocol, Some(Self::destruct));
            }
            // SAFETY: the socket is set up and ours for the rest of the call.
            if let Some(s) = unsafe { Socket::<T>::from_sk(sk) } {
                T::init(&s);
            }
            Ok(0)
        })
    }

    /// `sk_destruct`: the last reference is gone.
    ///
    /// # Safety
    ///
    /// Called by `__sk_destruct` for one of our sockets, once.
    unsafe extern "C" fn destruct(sk: *mut bindings::sock) {
        // SAFETY: the socket is ours and no one else uses it any more.
        unsafe {
            bindings::skb_queue_purge_reason(
                &mut (*sk).sk_receive_queue,
                bindings::skb_drop_reason_SKB_DROP_REASON_QUEUE_PURGE,
            );
            let state = core::mem::replace(&mut *state_slot(sk), core::ptr::null_mut());
            if !state.is_null() {
                // SAFETY: made by `KBox::into_raw` in `create`.
                drop(KBox::from_raw(state.cast::<T::Sock>()));
            }
        }
    }

    /// `proto_ops.release`: the family forgets the socket, then it is orphaned and put.
    ///
    /// # Safety
    ///
    /// Called by the socket layer, once, when the file is closed.
    unsafe extern "C" fn release(sock: *mut bindings::socket) -> c_int {
        // SAFETY: the socket is valid for the call.
        let sk = unsafe { (*sock).sk };
        if sk.is_null() {
            return 0;
        }
        // SAFETY: a live socket of ours.
        if let Some(s) = unsafe { Socket::<T>::from_sk(sk) } {
            T::release(&s);
        }
        // SAFETY: `sk` is live and ours; we drop the reference `create` made, after which
        // the destructor runs when the receive tables and queued frames let go.
        unsafe {
            bindings::lock_sock_nested(sk, 0);
            ffi::rvnet_sock_orphan(sk);
            (*sock).sk = core::ptr::null_mut();
            bindings::release_sock(sk);
            bindings::skb_queue_purge_reason(
                &mut (*sk).sk_receive_queue,
                bindings::skb_drop_reason_SKB_DROP_REASON_QUEUE_PURGE,
            );
            if bindings::refcount_dec_and_test(&mut (*sk).__sk_common.skc_refcnt) {
                bindings::sk_free(sk);
            }
        }
        0
    }

    /// `proto_ops.recvmsg`, as `packet_recvmsg` and `udp_recvmsg` do it: `skb_recv_datagram`
    /// waits (honouring MSG_DONTWAIT, SO_RCVTIMEO, signals and shutdown), MSG_PEEK leaves the
    /// datagram queued, MSG_TRUNC returns its real length, and the sender's address comes
    /// from the frame's control block ([`RecvSource`]).
    ///
    /// # Safety
    ///
    /// Called by the socket layer with a socket of ours and a valid `msghdr`.
    unsafe extern "C" fn recvmsg(
        sock: *mut bindings::socket,
        msg: *mut bindings::msghdr,
        len: usize,
        flags: c_int,
    ) -> c_int {
        let flags = flags as u32;
        if flags & !RECV_FLAGS != 0 {
            return super::errno(bindings::EOPNOTSUPP).to_errno();
        }
        if flags & bindings::MSG_ERRQUEUE != 0 {
            return code::EAGAIN.to_errno();
        }
        // SAFETY: the socket is valid for the call.
        let sk = unsafe { (*sock).sk };
        let mut err: c_int = 0;
        // SAFETY: `sk` is live; `err` receives the error when nothing comes.
        let skb = unsafe { bindings::skb_recv_datagram(sk, flags, &mut err) };
        if skb.is_null() {
            return err;
        }
        // SAFETY: `skb` is a datagram we hold until `skb_free_datagram`; `msg` is valid.
        unsafe {
            let full = (*skb).len as usize;
            let copied = if full > len {
                (*msg).msg_flags |= bindings::MSG_TRUNC;
                len
            } else {
                full
            };
            let mut r =
                bindings::skb_copy_datagram_iter(skb, 0, &mut (*msg).msg_iter, copied as c_int);
            if r == 0 {
                ffi::rvnet_sock_recv_cmsgs(msg, sk, skb);
                let name = (*msg).msg_name.cast::<u8>();
                if !name.is_null() {
                    let src = RecvSource::read(skb);
                    let mut sin = [0u8; 16];
                    sin[0..2].copy_from_slice(&(family_number() as u16).to_ne_bytes());
                    sin[2..4].copy_from_slice(&src.port_be.to_ne_bytes());
                    sin[4..8].copy_from_slice(&src.addr);
                    // SAFETY: the socket layer gives a sockaddr_storage for the name.
                    core::ptr::copy_nonoverlapping(sin.as_ptr(), name, sin.len());
                    (*msg).msg_namelen = sin.len() as c_int;
                }
                r = if flags & bindings::MSG_TRUNC != 0 {
                    full
                } else {
                    copied
                } as c_int;
            }
            bindings::skb_free_datagram(sk, skb);
            r
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
            T::shutdown(&s, how)?;
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

    /// The netdevice notifier: a device being unregistered, or leaving the namespace (which
    /// unregisters it there first), is detached from the stack of its namespace.
    ///
    /// # Safety
    ///
    /// Called by the netdevice notifier chain, under RTNL, with `ptr` a
    /// `netdev_notifier_info` whose device is valid for the call.
    unsafe extern "C" fn netdev_event(
        _nb: *mut bindings::notifier_block,
        event: kernel::ffi::c_ulong,
        ptr: *mut c_void,
    ) -> c_int {
        if event != u64::from(bindings::netdev_cmd_NETDEV_UNREGISTER) as kernel::ffi::c_ulong {
            return bindings::NOTIFY_DONE as c_int;
        }
        // SAFETY: per the contract (`netdev_notifier_info_to_dev`).
        let dev = unsafe { (*ptr.cast::<bindings::netdev_notifier_info>()).dev };
        if dev.is_null() {
            return bindings::NOTIFY_DONE as c_int;
        }
        // SAFETY: the device and its namespace (`dev_net`) are valid for the call.
        let (dev, net) = unsafe { (NetDevice::from_raw(dev), (*dev).nd_net.net) };
        // SAFETY: as above.
        if let Some(st) = unsafe { Pernet::<T>::state_of(net) } {
            // SAFETY: notifier calls for NETDEV_UNREGISTER hold RTNL.
            T::netdev_unregister(st, dev, &unsafe { RtnlHeld::assume() });
        }
        bindings::NOTIFY_DONE as c_int
    }

    fn fill_ops(p: *mut bindings::proto_ops, family: i32, module: *mut bindings::module) {
        // SAFETY: `p` is our pinned, uninitialised slot; zero is "not implemented" for the
        // optional operations, and every mandatory one is set below.
        unsafe {
            core::ptr::write_bytes(p, 0, 1);
            (*p).family = family;
            (*p).owner = module;
            (*p).release = Some(Self::release);
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
            (*p).recvmsg = Some(Self::recvmsg);
            (*p).mmap = Some(bindings::sock_no_mmap);
        }
    }
}

/// The registration of family `T`: its `proto`, the `proto_ops` of each socket type, the
/// per-namespace state, the netdevice notifier and `sock_register`. Dropping it unregisters
/// all of them in the reverse order, detaching every device in every namespace.
#[pin_data(PinnedDrop)]
pub struct FamilyRegistration<T: Family> {
    #[pin]
    dgram: Opaque<bindings::proto_ops>,
    #[pin]
    raw: Opaque<bindings::proto_ops>,
    #[pin]
    proto: Opaque<bindings::proto>,
    #[pin]
    pernet: Opaque<bindings::pernet_operations>,
    #[pin]
    notifier: Opaque<bindings::notifier_block>,
    #[pin]
    pf: Opaque<bindings::net_proto_family>,
    registered: AtomicBool,
    _t: PhantomData<T>,
}

// SAFETY: after registration the tables are only read (by the kernel).
unsafe impl<T: Family> Sync for FamilyRegistration<T> {}
// SAFETY: as above.
unsafe impl<T: Family> Send for FamilyRegistration<T> {}

static ONE_FAMILY: AtomicBool = AtomicBool::new(false);

impl<T: Family> FamilyRegistration<T> {
    /// Registers the family under the number of the `family` module parameter.
    pub fn new(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        let family = family_number();
        let m = module.as_ptr();
        try_pin_init!(Self {
            dgram <- Opaque::ffi_init(move |p| Adapter::<T>::fill_ops(p, family, m)),
            raw <- Opaque::ffi_init(move |p| Adapter::<T>::fill_ops(p, family, m)),
            proto <- Opaque::ffi_init(move |p: *mut bindings::proto| {
                // SAFETY: `p` is our pinned slot; a zeroed `proto` with a name, an owner and
                // an object size is what `proto_register` wants of a socket-layer family.
                unsafe {
                    core::ptr::write_bytes(p, 0, 1);
                    let name = b"RVNET\0";
                    for (d, s) in (*p).name.iter_mut().zip(name) {
                        *d = *s as kernel::ffi::c_char;
                    }
                    (*p).owner = m;
                    (*p).obj_size = ffi::rvnet_sock_obj_size();
                }
            }),
            pernet <- Opaque::ffi_init(|p: *mut bindings::pernet_operations| {
                // SAFETY: `p` is our pinned slot.
                unsafe { p.write(Pernet::<T>::ops()) }
            }),
            notifier <- Opaque::ffi_init(|p: *mut bindings::notifier_block| {
                // SAFETY: `p` is our pinned slot.
                unsafe {
                    p.write(bindings::notifier_block {
                        notifier_call: Some(Adapter::<T>::netdev_event),
                        next: core::ptr::null_mut(),
                        priority: 0,
                    })
                }
            }),
            pf <- Opaque::ffi_init(move |p: *mut bindings::net_proto_family| {
                // SAFETY: `p` is our pinned slot.
                unsafe {
                    p.write(bindings::net_proto_family {
                        family,
                        create: Some(Adapter::<T>::create),
                        owner: m,
                    })
                }
            }),
            registered: AtomicBool::new(false),
            _t: PhantomData,
        })
        .pin_chain(move |this| {
            if family <= 0 || family >= bindings::NPROTO as i32 {
                return Err(EINVAL);
            }
            if ONE_FAMILY.swap(true, Ordering::AcqRel) {
                return Err(code::EBUSY);
            }
            // SAFETY: the tables are pinned in `this` and live until `drop` unregisters.
            let r = unsafe { this.register() };
            if r.is_err() {
                forget_tables();
            }
            r
        })
    }

    /// # Safety
    ///
    /// The tables must stay where they are until [`Self::unregister`].
    unsafe fn register(&self) -> Result {
        DGRAM_OPS.store(self.dgram.get(), Ordering::Release);
        RAW_OPS.store(self.raw.get(), Ordering::Release);
        PROTO.store(self.proto.get(), Ordering::Release);
        rx_handler::install::<T>();
        // SAFETY: the tables are pinned (the caller's promise); each step is undone in
        // reverse if a later one fails.
        unsafe {
            to_result(bindings::proto_register(self.proto.get(), 1))?;
            if let Err(e) = to_result(bindings::register_pernet_subsys(self.pernet.get())) {
                bindings::proto_unregister(self.proto.get());
                return Err(e);
            }
            if let Err(e) = to_result(bindings::register_netdevice_notifier(self.notifier.get())) {
                bindings::unregister_pernet_subsys(self.pernet.get());
                bindings::proto_unregister(self.proto.get());
                return Err(e);
            }
            if let Err(e) = to_result(bindings::sock_register(self.pf.get())) {
                bindings::unregister_netdevice_notifier(self.notifier.get());
                bindings::unregister_pernet_subsys(self.pernet.get());
                bindings::proto_unregister(self.proto.get());
                return Err(e);
            }
        }
        self.registered.store(true, Ordering::Release);
        Ok(())
    }
}

#[pinned_drop]
impl<T: Family> PinnedDrop for FamilyRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        if !self.registered.load(Ordering::Acquire) {
            return;
        }
        // SAFETY: registered in `new`; `sock_unregister` waits for `create` calls in flight,
        // and the pernet exit of every namespace detaches its devices and frees its state.
        unsafe {
            bindings::sock_unregister(family_number());
            bindings::unregister_netdevice_notifier(self.notifier.get());
            bindings::unregister_pernet_subsys(self.pernet.get());
            bindings::proto_unregister(self.proto.get());
        }
        forget_tables();
    }
}

/// Clears what `register` published, when registration failed or is undone.
fn forget_tables() {
    DGRAM_OPS.store(core::ptr::null_mut(), Ordering::Release);
    RAW_OPS.store(core::ptr::null_mut(), Ordering::Release);
    PROTO.store(core::ptr::null_mut(), Ordering::Release);
    ONE_FAMILY.store(false, Ordering::Release);
}

/// The family's state for the initial namespace, for KUnit cases.
#[cfg(CONFIG_KUNIT)]
pub fn init_net_state<T: Family>() -> Option<&'static T::Net> {
    // SAFETY: the initial namespace never goes away, and its state lives while the family is
    // registered, which is as long as the module (and its KUnit cases) runs.
    unsafe { Pernet::<T>::state_of(&raw mut bindings::init_net) }
}
