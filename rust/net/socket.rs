// SPDX-License-Identifier: GPL-2.0

//! Sockets: `struct sock` and `struct socket` of a family, borrowed for a system call
//! ([`Socket`]) or referenced by the tables the receive path reads ([`SockRef`]), and the
//! arguments of the calls (`msghdr`, `sockptr_t`).
//!
//! A socket of the family is a `struct sock` followed by one pointer to the family's own
//! per-socket state ([`state_slot`]); [`super::proto`] creates and destroys both. A datagram
//! reaches a reader through [`Sock::queue_rcv`] (`sock_queue_rcv_skb`: SO_RCVBUF
//! accounting, then `sk_data_ready` wakes the readers), the last step of the seed notes'
//! receive path.

use super::ffi;
use super::namespace::NetNs;
use super::proto::Family;
use super::skb::Skb;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::{to_result, Error};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::sync::aref::{ARef, AlwaysRefCounted};
use kernel::types::Opaque;

/// Socket types a family may offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockType {
    /// `SOCK_DGRAM`.
    Dgram,
    /// `SOCK_RAW`.
    Raw,
}

/// The slot after a socket's `struct sock` that holds the family's `T::Sock` (a leaked
/// `KBox`), or null once destroyed. `family.c` lays the socket out (`struct rvnet_sock`):
/// bindgen's `struct sock` is shorter than the compiler's.
///
/// # Safety
///
/// `sk` must be a valid socket of the family.
pub(crate) unsafe fn state_slot(sk: *mut bindings::sock) -> *mut *mut kernel::ffi::c_void {
    // SAFETY: per the contract.
    unsafe { ffi::rvnet_sk_state(sk) }
}

/// The static inlines of `struct sock` that the rest of this file needs, over its fields.
/// Every function takes a `sk` that must be valid for the call (held, or borrowed for a
/// system call).
mod raw {
    use super::*;

    /// `sock_net`.
    ///
    /// # Safety
    ///
    /// `sk` must be valid.
    pub(super) unsafe fn net(sk: *mut bindings::sock) -> *mut bindings::net {
        // SAFETY: the caller's promise; `sock_net` reads `__sk_common.skc_net`.
        unsafe { (*sk).__sk_common.skc_net.net }
    }

    /// `sock_hold`.
    ///
    /// # Safety
    ///
    /// `sk` must be valid.
    pub(super) unsafe fn hold(sk: *mut bindings::sock) {
        // SAFETY: the caller holds a reference or borrows a live socket (`sock_hold`).
        unsafe { bindings::refcount_inc(&mut (*sk).__sk_common.skc_refcnt) }
    }

    /// `sock_put`: the last reference frees the socket.
    ///
    /// # Safety
    ///
    /// `sk` must be valid and held by the caller, who gives up one reference.
    pub(super) unsafe fn put(sk: *mut bindings::sock) {
        // SAFETY: the caller gives up one reference (`sock_put`); the last frees the socket.
        unsafe {
            if bindings::refcount_dec_and_test(&mut (*sk).__sk_common.skc_refcnt) {
                bindings::sk_free(sk);
            }
        }
    }

    /// `sk_bound_dev_if`.
    ///
    /// # Safety
    ///
    /// `sk` must be valid.
    pub(super) unsafe fn bound_dev_if(sk: *mut bindings::sock) -> i32 {
        // SAFETY: the caller's promise; SO_BINDTODEVICE writes it with WRITE_ONCE.
        unsafe { core::ptr::read_volatile(&(*sk).__sk_common.skc_bound_dev_if) }
    }
}

/// A `struct sock` of the family, as the receive tables hold it: through [`SockRef`].
///
/// # Invariants
///
/// The wrapped `sock` is valid and of this family for the lifetime of the reference.
#[repr(transparent)]
pub struct Sock(Opaque<bindings::sock>);

// SAFETY: sockets move between CPUs; what `Sock` does takes the socket's own locks (the
// receive queue's) or reads fields the socket layer writes with WRITE_ONCE.
unsafe impl Send for Sock {}
// SAFETY: as above.
unsafe impl Sync for Sock {}

// SAFETY: a sock is reference counted by `sock_hold`/`sock_put`; the last put frees it.
unsafe impl AlwaysRefCounted for Sock {
    fn inc_ref(&self) {
        // SAFETY: `self` is a valid socket.
        unsafe { raw::hold(self.raw()) }
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives up a reference it holds.
        unsafe { raw::put(obj.as_ptr().cast()) }
    }
}

/// A referenced socket (`sock_hold`): the receive path holds one to queue a datagram.
pub type SockRef = ARef<Sock>;

/// # Safety
///
/// `sk` must be a valid socket of the family, on which the caller gives up one reference to the
/// new object.
unsafe fn sock_from_held(sk: NonNull<bindings::sock>) -> SockRef {
    // SAFETY: the caller's promise; `Sock` is `repr(transparent)` over the sock.
    unsafe { ARef::from_raw(sk.cast::<Sock>()) }
}

impl Sock {
    fn raw(&self) -> *mut bindings::sock {
        self.0.get()
    }

    /// Queues `skb` on the socket's receive queue and wakes its readers. A full queue
    /// (SO_RCVBUF) gives the skb back; the kernel has raised the socket's drop count.
    pub fn queue_rcv(&self, skb: Skb) -> Result<(), Skb> {
        let raw = skb.into_raw();
        // SAFETY: the socket is held; `raw` is ours and on no list. What the static inline
        // `sock_queue_rcv_skb` calls.
        let reason = unsafe { bindings::sock_queue_rcv_skb_reason(self.raw(), raw) };
        if reason == bindings::skb_drop_reason_SKB_NOT_DROPPED_YET {
            return Ok(());
        }
        // `__sock_queue_rcv_skb` counted the drop on the socket (`sk_drops`).
        // SAFETY: on failure the skb is still ours.
        match unsafe { Skb::from_raw(raw) } {
            Some(skb) => Err(skb),
            None => Ok(()),
        }
    }

    /// Sets the socket's pending error (`err`, a positive errno) and wakes its waiters: the
    /// next send or receive returns it, and poll reports EPOLLERR.
    pub fn report_error(&self, err: i32) {
        // SAFETY: the socket is held; `sk_err` is read with READ_ONCE by its readers.
        unsafe {
            core::ptr::write_volatile(&mut (*self.raw()).sk_err, err);
            bindings::sk_error_report(self.raw());
        }
    }

    /// Bytes queued for reading (charged to SO_RCVBUF).
    pub fn rmem(&self) -> u32 {
        // SAFETY: the socket is held; `sk_rmem_alloc_get` is an atomic read of this.
        unsafe { core::ptr::read_volatile(&(*self.raw()).sk_backlog.rmem_alloc.counter) as u32 }
    }

    /// SO_RCVBUF.
    pub fn rcvbuf(&self) -> u32 {
        // SAFETY: the socket is held; setsockopt writes it with WRITE_ONCE.
        unsafe { core::ptr::read_volatile(&(*self.raw()).sk_rcvbuf) as u32 }
    }

    /// Datagrams dropped because the receive queue was full.
    pub fn drops(&self) -> u32 {
        // SAFETY: the socket is held.
        unsafe { ffi::rvnet_sock_drops(self.raw()) }
    }

    /// SO_BINDTODEVICE (0 when unbound).
    pub fn bound_dev_if(&self) -> i32 {
        // SAFETY: the socket is held.
        unsafe { raw::bound_dev_if(self.raw()) }
    }

    /// True if `self` is `sock`.
    pub fn is<T: Family>(&self, sock: &Socket<'_, T>) -> bool {
        core::ptr::eq(self.raw(), sock.sk.as_ptr())
    }
}

/// A socket of this module's family opened by the kernel itself in the initial namespace
/// (`sock_create_kern`): what KUnit cases use to reach the socket paths without user space.
///
/// # Invariants
///
/// `sock` is a socket we created and have not released.
#[cfg(CONFIG_KUNIT)]
pub struct KernelSocket {
    sock: NonNull<bindings::socket>,
}

#[cfg(CONFIG_KUNIT)]
impl KernelSocket {
    /// Opens a socket of `kind`. May sleep.
    pub fn new(kind: SockType) -> Result<KernelSocket> {
        let t = match kind {
            SockType::Dgram => bindings::sock_type_SOCK_DGRAM,
            SockType::Raw => bindings::sock_type_SOCK_RAW,
        };
        let mut p: *mut bindings::socket = core::ptr::null_mut();
        // SAFETY: the initial namespace lives for ever; `p` receives the new socket.
        to_result(unsafe {
            bindings::sock_create_kern(
                &raw mut bindings::init_net,
                super::proto::family_number(),
                t as c_int,
                0,
                &mut p,
            )
        })?;
        // INVARIANT: created above.
        NonNull::new(p)
            .map(|sock| KernelSocket { sock })
            .ok_or(EINVAL)
    }

    /// A counted reference to the socket's `sock`.
    pub fn sk(&self) -> Result<SockRef> {
        // SAFETY: the socket is live; its `sk` is valid while it is.
        let sk = NonNull::new(unsafe { (*self.sock.as_ptr()).sk }).ok_or(EINVAL)?;
        // SAFETY: `sk` is valid; the reference is released when the `SockRef` drops.
        unsafe { raw::hold(sk.as_ptr()) };
        // SAFETY: we took the reference just above.
        Ok(unsafe { sock_from_held(sk) })
    }

    /// Sets SO_RCVBUF (the kernel doubles it, as setsockopt does).
    pub fn set_rcvbuf(&self, bytes: i32) -> Result {
        let sk = self.sk()?;
        // SAFETY: the sock is held.
        unsafe { bindings::sock_set_rcvbuf(sk.raw(), bytes) };
        Ok(())
    }
}

#[cfg(CONFIG_KUNIT)]
impl Drop for KernelSocket {
    fn drop(&mut self) {
        // SAFETY: created in `new`, released once here.
        unsafe { bindings::sock_release(self.sock.as_ptr()) }
    }
}

/// A socket of family `T`, borrowed for one system call.
///
/// # Invariants
///
/// `sk` is a valid `sock` created by `T`'s family, whose state is `state`, in the namespace
/// whose stack is `net`; all three stay valid during the call.
pub struct Socket<'a, T: Family> {
    pub(crate) sk: NonNull<bindings::sock>,
    netns: NetNs,
    /// The socket's own state.
    pub state: &'a T::Sock,
    /// The stack of the socket's namespace.
    pub net: &'a T::Net,
}

impl<'a, T: Family> Socket<'a, T> {
    /// Borrows `sk` for a call.
    ///
    /// # Safety
    ///
    /// `sk` must be a live socket of `T`'s family for `'a` (a call on it is in progress).
    pub(crate) unsafe fn from_sk(sk: *mut bindings::sock) -> Option<Socket<'a, T>> {
        let sk = NonNull::new(sk)?;
        // SAFETY: `sk` is ours: its state slot holds a `T::Sock` set at creation and freed
        // only by the destructor after the last reference.
        let state = unsafe { (*state_slot(sk.as_ptr())).cast::<T::Sock>().as_ref() }?;
        // SAFETY: the namespace of a live socket is live, and so is our state for it.
        let netns = unsafe { NetNs::from_raw(NonNull::new(raw::net(sk.as_ptr()))?) };
        // SAFETY: the state borrows from the namespace, which outlives the call (`'a`).
        let net = unsafe { &*core::ptr::from_ref(netns.state::<T>()?) };
        // INVARIANT: all three are valid for the call.
        Some(Socket {
            sk,
            netns,
            state,
            net,
        })
    }

    fn raw(&self) -> *mut bindings::sock {
        self.sk.as_ptr()
    }

    /// A counted reference to the socket, for tables the receive path reads.
    pub fn to_ref(&self) -> SockRef {
        // SAFETY: the socket is valid; the reference is released when the `SockRef` drops.
        unsafe { raw::hold(self.raw()) };
        // SAFETY: we took the reference just above.
        unsafe { sock_from_held(self.sk) }
    }

    /// True if the calling task has `cap` in the socket's namespace.
    pub fn capable(&self, cap: u32) -> bool {
        self.netns().capable(cap)
    }

    /// The socket's namespace.
    pub fn netns(&self) -> NetNs {
        self.netns
    }

    /// SO_BINDTODEVICE (0 when unbound).
    pub fn bound_dev_if(&self) -> i32 {
        // SAFETY: the socket is valid.
        unsafe { raw::bound_dev_if(self.raw()) }
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
                super::errno(bindings::ENOBUFS)
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
        unsafe { ffi::rvnet_sock_shutdown(self.raw(), mask as c_int) };
        Ok(())
    }

    /// A pending asynchronous error (for example EHOSTUNREACH after ARP gave up), cleared.
    pub fn take_error(&self) -> Result {
        // `sock_error()`, a static inline: a plain read for the common case, then `xchg`.
        // SAFETY: the socket is valid; `sk_err` is an int written with WRITE_ONCE or atomics.
        let err = unsafe {
            let p = core::ptr::addr_of_mut!((*self.raw()).sk_err);
            if core::ptr::read_volatile(p) == 0 {
                return Ok(());
            }
            core::sync::atomic::AtomicI32::from_ptr(p).swap(0, core::sync::atomic::Ordering::SeqCst)
        };
        if err == 0 {
            Ok(())
        } else {
            Err(Error::from_errno(-err))
        }
    }
}

/// The message of a `sendmsg` call.
pub struct Msg<'a> {
    pub(crate) msg: NonNull<bindings::msghdr>,
    pub(crate) _p: PhantomData<&'a mut ()>,
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
        // `memcpy_from_msg()` and `copy_from_iter_full()`, static inlines: all or nothing.
        let len = out.len();
        // SAFETY: the msghdr is valid during the call and its iterator ours to advance; `out`
        // has room for `len` bytes.
        unsafe {
            let iter = core::ptr::addr_of_mut!((*self.msg.as_ptr()).msg_iter);
            let copied = bindings::_copy_from_iter(out.as_mut_ptr().cast(), len, iter);
            if copied != len {
                bindings::iov_iter_revert(iter, copied);
                return Err(EFAULT);
            }
        }
        Ok(())
    }

    /// Copies user data into `len` new bytes at the end of `skb`.
    pub fn copy_into_skb(&mut self, skb: &mut Skb, len: u32) -> Result {
        let out = skb.put(len);
        self.copy_into(out)
    }
}

/// A `setsockopt` value.
pub struct OptVal {
    pub(crate) ptr: bindings::sockptr_t,
    pub(crate) len: usize,
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
