// SPDX-License-Identifier: GPL-2.0

//! Generic netlink families: `genl_family`, its split operations and their attribute
//! policies, the requests (`genl_info`) and dumps (`netlink_callback`) it receives, the
//! messages it builds, and multicast notifications.
//!
//! A family is a type `T: GenlFamily`: its name, its operations as a table of [`Op`]s (each
//! with the [`Policy`] of every attribute it takes, so that genetlink's core refuses a wrong
//! type, length or range with its own extack message before `T` sees the request), its
//! multicast groups, and two callbacks, [`GenlFamily::doit`] and [`GenlFamily::dumpit`].
//! [`Registration`] turns the table into the C one (as rust/kernel/net/phy.rs does for PHY
//! drivers) and registers it, per network namespace (`netnsok`) and without genetlink's
//! global lock (`parallel_ops`: the family locks its own state).
//!
//! Notifications go through a [`Notifier`] the family keeps in a static: the registration
//! publishes the registered family there and withdraws it (then waits out RCU readers)
//! before unregistering, so that a notification never names a family that is gone.

use super::namespace::NetNs;
use core::ffi::CStr;
use core::marker::PhantomData;
use core::ptr::{null, null_mut, NonNull};
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use kernel::alloc::{flags, KVec};
use kernel::bindings;
use kernel::error::{from_result, to_result};
use kernel::ffi::{c_int, c_long, c_void};
use kernel::prelude::*;
use kernel::sync::rcu;
use kernel::types::Opaque;

#[allow(improper_ctypes)]
mod c {
    use kernel::bindings::sk_buff;
    use kernel::bindings::{genl_family, genl_info, net};
    use kernel::ffi::c_int;

    extern "C" {
        pub(super) fn rvnet_genl_register(family: *mut genl_family) -> c_int;
        pub(super) fn rvnet_genlmsg_new() -> *mut sk_buff;
        pub(super) fn rvnet_genlmsg_reply(skb: *mut sk_buff, info: *mut genl_info) -> c_int;
        pub(super) fn rvnet_genl_has_listeners(
            f: *const genl_family,
            net: *mut net,
            group: u32,
        ) -> bool;
        pub(super) fn rvnet_genl_multicast(
            f: *const genl_family,
            net: *mut net,
            skb: *mut sk_buff,
            group: u32,
        ) -> c_int;
    }
}

/// `NLA_HDRLEN`: an attribute's header, aligned.
const NLA_HDRLEN: usize = 4;
/// `GENL_HDRLEN + NLMSG_HDRLEN`: from a message's start to its family header's end.
const GENL_MSG_HDRLEN: usize = 4 + 16;

/// The requester's namespace (`genl_info_net()`, a static inline over `info->_net`).
///
/// # Safety
///
/// `info` must be a valid request.
unsafe fn info_net(info: *const bindings::genl_info) -> *mut bindings::net {
    // SAFETY: per the contract; `_net` is checked against the compiler's offset at load.
    unsafe { (*info)._net.net }
}

/// Frees a message that was never sent (`nlmsg_free()`, a static inline).
///
/// # Safety
///
/// `skb` must be a message the caller owns.
unsafe fn nlmsg_free(skb: *mut bindings::sk_buff) {
    // SAFETY: per the contract; `kfree_skb()` is a static inline over this.
    unsafe {
        bindings::sk_skb_reason_drop(
            null_mut(),
            skb,
            bindings::skb_drop_reason_SKB_DROP_REASON_NOT_SPECIFIED,
        )
    }
}

/// Closes the message whose family header `genlmsg_put()` returned as `hdr`: its length
/// becomes everything up to the skb's tail (`genlmsg_end()`, `nlmsg_end()`: static inlines).
///
/// # Safety
///
/// `skb` must be a message the caller owns and `hdr` the header put last in it.
unsafe fn genlmsg_end(skb: *mut bindings::sk_buff, hdr: *mut c_void) {
    // SAFETY: per the contract, the netlink header lies GENL_MSG_HDRLEN before `hdr`, inside
    // the skb's data, and the tail (an offset from the head) after it.
    unsafe {
        let nlh = hdr.cast::<u8>().sub(GENL_MSG_HDRLEN);
        let tail = (*skb).head.add((*skb).tail as usize);
        (*nlh.cast::<bindings::nlmsghdr>()).nlmsg_len = tail.offset_from(nlh) as u32;
    }
}

/// Removes the message whose family header is `hdr` (and whatever follows it) from the skb
/// (`genlmsg_cancel()`, `nlmsg_trim()`: static inlines).
///
/// # Safety
///
/// As for [`genlmsg_end`].
unsafe fn genlmsg_cancel(skb: *mut bindings::sk_buff, hdr: *mut c_void) {
    // SAFETY: per the contract, the netlink header lies inside the skb's data.
    unsafe {
        let nlh = hdr.cast::<u8>().sub(GENL_MSG_HDRLEN);
        bindings::skb_trim(skb, nlh.offset_from((*skb).data) as u32);
    }
}
/// Slots of `netlink_callback::args`.
const CB_ARGS: usize = 6;

/// The type of an attribute, as its policy checks it.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `NLA_U8`.
    U8,
    /// `NLA_U32`.
    U32,
    /// `NLA_UINT`: 4 or 8 bytes.
    Uint,
    /// `NLA_BE32`: 4 bytes in network order (an IPv4 address).
    Be32,
    /// `NLA_BINARY`.
    Binary,
    /// `NLA_NESTED` with a policy for the attributes inside (`NLA_POLICY_NESTED`): genetlink
    /// checks them too, under the same strict rules. One level deep: a nest inside is
    /// refused at registration.
    Nest(&'static [(u16, Policy)]),
}

/// The policy of one attribute (`struct nla_policy`): its type and, optionally, a range of
/// values (of lengths, for [`Kind::Binary`]).
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    kind: Kind,
    min: Option<i16>,
    max: Option<i16>,
}

impl Policy {
    /// An attribute of `kind`, any value.
    pub const fn new(kind: Kind) -> Self {
        Policy {
            kind,
            min: None,
            max: None,
        }
    }

    /// At least `min`.
    pub const fn min(self, min: i16) -> Self {
        Policy {
            min: Some(min),
            ..self
        }
    }

    /// At most `max`.
    pub const fn max(self, max: i16) -> Self {
        Policy {
            max: Some(max),
            ..self
        }
    }

    /// Binary of exactly `len` bytes (`NLA_POLICY_EXACT_LEN`).
    pub const fn exact_len(len: i16) -> Self {
        Policy::new(Kind::Binary).min(len).max(len)
    }

    /// Writes the C policy; a nest's inner policy is `nested`, of `maxtype` + 1 entries.
    fn fill(
        &self,
        p: *mut bindings::nla_policy,
        nested: *const bindings::nla_policy,
        maxtype: u16,
    ) {
        let ty = match self.kind {
            Kind::U8 => bindings::NLA_U8,
            Kind::U32 => bindings::NLA_U32,
            Kind::Uint => bindings::NLA_UINT,
            Kind::Be32 => bindings::NLA_BE32,
            Kind::Binary => bindings::NLA_BINARY,
            Kind::Nest(_) => {
                // SAFETY: `p` is a zeroed entry the caller owns; `nested` outlives the
                // registration (the caller keeps it beside the op's own policy). For
                // NLA_NESTED, `len` is the inner policy's highest type.
                unsafe {
                    (*p).type_ = bindings::NLA_NESTED as u8;
                    (*p).len = maxtype;
                    (*p).__bindgen_anon_1.nested_policy = nested;
                }
                return;
            }
        };
        let (vtype, min, max) = match (self.min, self.max) {
            (None, None) => (bindings::nla_policy_validation_NLA_VALIDATE_NONE, 0, 0),
            (Some(a), None) => (bindings::nla_policy_validation_NLA_VALIDATE_MIN, a, 0),
            (None, Some(b)) => (bindings::nla_policy_validation_NLA_VALIDATE_MAX, 0, b),
            (Some(a), Some(b)) => (bindings::nla_policy_validation_NLA_VALIDATE_RANGE, a, b),
        };
        // SAFETY: `p` is a zeroed policy entry the caller owns; min and max live in an
        // anonymous struct of an anonymous union (their offsets are checked at load).
        unsafe {
            (*p).type_ = ty as u8;
            (*p).validation_type = vtype as u8;
            let range = &mut (*p).__bindgen_anon_1.__bindgen_anon_1;
            range.min = min;
            range.max = max;
        }
    }
}

/// One operation of a family: a command, done (`doit`) or dumped (`dumpit`).
#[derive(Clone, Copy, Debug)]
pub struct Op {
    /// The command number.
    pub cmd: u8,
    /// A dump rather than a do.
    pub dump: bool,
    /// Needs CAP_NET_ADMIN in the user namespace owning the request's network namespace
    /// (`GENL_UNS_ADMIN_PERM`).
    pub admin: bool,
    /// The attributes it takes, with their policies; any other attribute is refused.
    pub attrs: &'static [(u16, Policy)],
}

impl Op {
    /// A `doit` for `cmd` taking `attrs`.
    pub const fn doit(cmd: u8, attrs: &'static [(u16, Policy)]) -> Self {
        Op {
            cmd,
            dump: false,
            admin: false,
            attrs,
        }
    }

    /// A `dumpit` for `cmd`, taking no attributes.
    pub const fn dumpit(cmd: u8) -> Self {
        Op {
            cmd,
            dump: true,
            admin: false,
            attrs: &[],
        }
    }

    /// The same, for CAP_NET_ADMIN only.
    pub const fn admin(self) -> Self {
        Op {
            admin: true,
            ..self
        }
    }

    fn maxattr(&self) -> u16 {
        maxattr(self.attrs)
    }
}

/// The highest attribute type of a policy table.
fn maxattr(attrs: &[(u16, Policy)]) -> u16 {
    attrs.iter().map(|&(a, _)| a).max().unwrap_or(0)
}

/// A generic netlink family.
pub trait GenlFamily: Sized + 'static {
    /// The family name (at most 15 bytes).
    const NAME: &'static CStr;
    /// Its version.
    const VERSION: u32;
    /// Its operations.
    const OPS: &'static [Op];
    /// Its multicast groups; a group's number is its index here.
    const MCGRPS: &'static [&'static CStr];

    /// Where notifications find the registered family.
    fn notifier() -> &'static Notifier;

    /// Carries out a request of a `doit` operation (`cmd`), whose attributes have passed
    /// their policies. May sleep.
    fn doit(cmd: u8, req: &Request<'_>) -> Result;

    /// Fills one message of a dump; called again until it returns `Ok` (done). Returning
    /// `EMSGSIZE` (from [`Dump::entry`]) ends this message and asks for another: the
    /// callback keeps its place with [`Dump::set_cursor`].
    fn dumpit(cmd: u8, dump: &mut Dump<'_>) -> Result;
}

/// The payload of a received attribute, validated by its policy.
#[derive(Clone, Copy, Debug)]
pub struct Attr<'a>(&'a [u8]);

impl<'a> Attr<'a> {
    /// The payload bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }

    /// `NLA_U8`.
    pub fn u8(&self) -> u8 {
        self.0.first().copied().unwrap_or(0)
    }

    /// `NLA_U32`.
    pub fn u32(&self) -> u32 {
        self.0
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_ne_bytes)
    }

    /// `NLA_UINT` (4 or 8 bytes).
    pub fn uint(&self) -> u64 {
        match self.0.get(..8).and_then(|b| b.try_into().ok()) {
            Some(b) if self.0.len() == 8 => u64::from_ne_bytes(b),
            _ => u64::from(self.u32()),
        }
    }

    /// `NLA_BE32`, as its four bytes in network order.
    pub fn be32(&self) -> [u8; 4] {
        self.0
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; 4])
    }

    /// The attributes inside a nest: (type, payload) each, in order.
    pub fn nested(&self) -> Attrs<'a> {
        Attrs(self.0)
    }

    /// Attribute `id` inside a nest (the last of that type, as `nla_parse` keeps it).
    pub fn get(&self, id: u16) -> Option<Attr<'a>> {
        self.nested()
            .filter(|&(t, _)| t == id)
            .last()
            .map(|(_, a)| a)
    }
}

/// The attributes of a stream of them (a message's payload, a nest's), as
/// `nla_for_each_attr` walks them: a malformed tail ends the walk.
#[derive(Clone, Copy, Debug)]
pub struct Attrs<'a>(&'a [u8]);

/// `NLA_TYPE_MASK`: the type without the nested and byte-order flags.
const NLA_TYPE_MASK: u16 = !((1 << 15) | (1 << 14));

impl<'a> Iterator for Attrs<'a> {
    type Item = (u16, Attr<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let hdr = self.0.get(..NLA_HDRLEN)?;
        let len = usize::from(u16::from_ne_bytes([*hdr.first()?, *hdr.get(1)?]));
        let ty = u16::from_ne_bytes([*hdr.get(2)?, *hdr.get(3)?]) & NLA_TYPE_MASK;
        let Some(payload) = self.0.get(NLA_HDRLEN..len) else {
            self.0 = &[];
            return None;
        };
        // NLA_ALIGN: the next attribute starts on a 4-byte boundary.
        self.0 = self.0.get(len.next_multiple_of(4)..).unwrap_or(&[]);
        Some((ty, Attr(payload)))
    }
}

/// Sets the extack message (`NL_SET_ERR_MSG`), and the offending attribute if any.
///
/// # Safety
///
/// `info` must be valid, with `attrs` holding `maxattr + 1` entries when `maxattr > 0`.
unsafe fn set_extack(
    info: *const bindings::genl_info,
    maxattr: u16,
    attr: u16,
    miss: bool,
    msg: &'static CStr,
) {
    // SAFETY: `info` is valid by the contract.
    let ext = unsafe { (*info).extack };
    if ext.is_null() {
        return;
    }
    // SAFETY: `ext` is the request's extack, valid during the call; the message is static,
    // as NL_SET_ERR_MSG's are.
    unsafe {
        (*ext)._msg = msg.as_char_ptr();
        if miss {
            (*ext).miss_type = attr;
            (*ext).miss_nest = null();
        } else if attr != 0 && attr <= maxattr {
            (*ext).bad_attr = *(*info).attrs.add(usize::from(attr));
        }
    }
}

/// A `doit` request, borrowed for the call.
///
/// # Invariants
///
/// `info` is the valid `genl_info` of the call, whose `attrs` hold `maxattr + 1` parsed
/// attributes when `maxattr > 0`; `net` is the requester's namespace, live for the call.
pub struct Request<'a> {
    info: NonNull<bindings::genl_info>,
    maxattr: u16,
    net: NetNs,
    _p: PhantomData<&'a ()>,
}

impl Request<'_> {
    /// The network namespace the request came from.
    pub fn net(&self) -> &NetNs {
        &self.net
    }

    /// Attribute `id`, if the request has it.
    pub fn attr(&self, id: u16) -> Option<Attr<'_>> {
        if id == 0 || id > self.maxattr {
            return None;
        }
        // SAFETY: `attrs` has `maxattr + 1` entries by the type invariant.
        let p = unsafe { *(*self.info.as_ptr()).attrs.add(usize::from(id)) };
        let p = NonNull::new(p)?;
        // SAFETY: a parsed attribute: its length covers the header, and the payload follows
        // it inside the request, which outlives `self`.
        unsafe {
            let len = usize::from((*p.as_ptr()).nla_len).saturating_sub(NLA_HDRLEN);
            let data = p.as_ptr().cast::<u8>().add(NLA_HDRLEN);
            Some(Attr(core::slice::from_raw_parts(data, len)))
        }
    }

    /// Attribute `id`, which must be there: without it the request fails with EINVAL, the
    /// extack naming the missing attribute and saying `msg`.
    pub fn need(&self, id: u16, msg: &'static CStr) -> Result<Attr<'_>> {
        match self.attr(id) {
            Some(a) => Ok(a),
            None => {
                // SAFETY: the info is valid by the type invariant.
                unsafe { set_extack(self.info.as_ptr(), self.maxattr, id, true, msg) };
                Err(EINVAL)
            }
        }
    }

    /// Every top-level attribute of the request, repeated ones included (a multi-attr, of
    /// which `attr` sees only the last), in order. genetlink has checked each against the
    /// op's policy.
    pub fn attrs(&self) -> Attrs<'_> {
        let info = self.info.as_ptr();
        // SAFETY: the request's header lies in the received message, valid for the call: the
        // netlink header is NLMSG_HDRLEN before the family header, and `nlmsg_len` (checked by
        // netlink against the skb) covers the whole message.
        unsafe {
            let genlhdr = (*info).genlhdr.cast::<u8>();
            if genlhdr.is_null() {
                return Attrs(&[]);
            }
            let nlh = genlhdr
                .sub(GENL_MSG_HDRLEN - 4)
                .cast::<bindings::nlmsghdr>();
            let len = ((*nlh).nlmsg_len as usize).saturating_sub(GENL_MSG_HDRLEN);
            Attrs(core::slice::from_raw_parts(genlhdr.add(4), len))
        }
    }

    /// Sets the extack message and points it at `attr`, an attribute of this request (from
    /// [`Request::attrs`], or a nest's inside it).
    pub fn set_err_at(&self, attr: &Attr<'_>, msg: &'static CStr) {
        // SAFETY: the info, and its extack when not null, are valid for the call; the
        // attribute's header is the NLA_HDRLEN bytes before its payload, inside the request.
        unsafe {
            let ext = (*self.info.as_ptr()).extack;
            if ext.is_null() {
                return;
            }
            (*ext)._msg = msg.as_char_ptr();
            (*ext).bad_attr = attr.0.as_ptr().sub(NLA_HDRLEN).cast();
        }
    }

    /// Sets the extack message the requester sees with the error, pointing at attribute
    /// `attr` when it is not 0.
    pub fn set_err(&self, attr: u16, msg: &'static CStr) {
        // SAFETY: the info is valid by the type invariant.
        unsafe { set_extack(self.info.as_ptr(), self.maxattr, attr, false, msg) }
    }

    /// True if the request already has an extack message.
    pub fn has_err(&self) -> bool {
        // SAFETY: the info, and its extack when not null, are valid.
        unsafe {
            let ext = (*self.info.as_ptr()).extack;
            !ext.is_null() && !(*ext)._msg.is_null()
        }
    }

    /// Replies with one message of the request's command, filled by `fill`. May sleep.
    pub fn reply(&self, fill: impl FnOnce(&mut Message<'_>) -> Result) -> Result {
        let info = self.info.as_ptr();
        // SAFETY: allocates a message we own.
        let skb = NonNull::new(unsafe { c::rvnet_genlmsg_new() }).ok_or(ENOMEM)?;
        // SAFETY: `skb` is ours; the info (its family, header, port and sequence) is valid.
        let hdr = unsafe {
            bindings::genlmsg_put(
                skb.as_ptr(),
                (*info).snd_portid,
                (*info).snd_seq,
                (*info).family,
                0,
                (*(*info).genlhdr).cmd,
            )
        };
        let filled = if hdr.is_null() {
            Err(EMSGSIZE)
        } else {
            fill(&mut Message {
                skb,
                _p: PhantomData,
            })
        };
        if let Err(e) = filled {
            // SAFETY: never sent: still ours.
            unsafe { nlmsg_free(skb.as_ptr()) };
            return Err(e);
        }
        // SAFETY: `hdr` is this message's header; the reply consumes the skb.
        to_result(unsafe {
            genlmsg_end(skb.as_ptr(), hdr);
            c::rvnet_genlmsg_reply(skb.as_ptr(), info)
        })
    }
}

/// A message being built: attributes are appended to it.
///
/// # Invariants
///
/// `skb` is a netlink message being built, owned by the caller for `'a`.
pub struct Message<'a> {
    skb: NonNull<bindings::sk_buff>,
    _p: PhantomData<&'a mut ()>,
}

impl Message<'_> {
    /// Appends attribute `attr` with `data` as its payload; EMSGSIZE if it does not fit.
    pub fn put(&mut self, attr: u16, data: &[u8]) -> Result {
        let len = c_int::try_from(data.len()).map_err(|_| EMSGSIZE)?;
        // SAFETY: the skb is being built by us; `data` is valid for `len` bytes.
        to_result(unsafe {
            bindings::nla_put(
                self.skb.as_ptr(),
                c_int::from(attr),
                len,
                data.as_ptr().cast::<c_void>(),
            )
        })
    }

    /// An `NLA_U8`.
    pub fn put_u8(&mut self, attr: u16, v: u8) -> Result {
        self.put(attr, &[v])
    }

    /// An `NLA_U32`.
    pub fn put_u32(&mut self, attr: u16, v: u32) -> Result {
        self.put(attr, &v.to_ne_bytes())
    }

    /// An `NLA_UINT`: 4 bytes when the value fits, else 8 (as `nla_put_uint`).
    pub fn put_uint(&mut self, attr: u16, v: u64) -> Result {
        match u32::try_from(v) {
            Ok(v) => self.put_u32(attr, v),
            Err(_) => self.put(attr, &v.to_ne_bytes()),
        }
    }
}

/// One message of a dump.
///
/// # Invariants
///
/// `skb`, `cb` and `info` are the valid arguments of the `dumpit` call (`info` its
/// `genl_dumpit_info`'s); `net` is the requester's namespace, live for the call.
pub struct Dump<'a> {
    skb: NonNull<bindings::sk_buff>,
    cb: NonNull<bindings::netlink_callback>,
    info: NonNull<bindings::genl_info>,
    net: NetNs,
    _p: PhantomData<&'a ()>,
}

impl Dump<'_> {
    /// The network namespace the request came from.
    pub fn net(&self) -> &NetNs {
        &self.net
    }

    fn args(&self) -> *mut c_long {
        // SAFETY: the callback is valid for the call; `args` is the `long` view of its
        // scratch space, which we alone use.
        unsafe { (*self.cb.as_ptr()).__bindgen_anon_1.args.as_mut_ptr() }
    }

    /// Slot `i` (0..6) of the dump's state, kept between calls; 0 at the start.
    pub fn cursor(&self, i: usize) -> u64 {
        if i >= CB_ARGS {
            return 0;
        }
        // SAFETY: `args` has CB_ARGS slots.
        unsafe { *self.args().add(i) as u64 }
    }

    /// Sets slot `i` of the dump's state.
    pub fn set_cursor(&mut self, i: usize, v: u64) {
        if i < CB_ARGS {
            // SAFETY: `args` has CB_ARGS slots.
            unsafe { *self.args().add(i) = v as c_long };
        }
    }

    /// Appends one message of the dump's command, filled by `fill`; EMSGSIZE (and nothing
    /// appended) when it does not fit.
    pub fn entry(&mut self, fill: impl FnOnce(&mut Message<'_>) -> Result) -> Result {
        let info = self.info.as_ptr();
        // SAFETY: the skb is the dump's, being built; the info is valid.
        let hdr = unsafe {
            bindings::genlmsg_put(
                self.skb.as_ptr(),
                (*info).snd_portid,
                (*info).snd_seq,
                (*info).family,
                bindings::NLM_F_MULTI as c_int,
                (*(*info).genlhdr).cmd,
            )
        };
        if hdr.is_null() {
            return Err(EMSGSIZE);
        }
        let r = fill(&mut Message {
            skb: self.skb,
            _p: PhantomData,
        });
        // SAFETY: `hdr` is the header just put in this skb.
        unsafe {
            match r {
                Ok(()) => genlmsg_end(self.skb.as_ptr(), hdr),
                Err(_) => genlmsg_cancel(self.skb.as_ptr(), hdr),
            }
        }
        r
    }
}

/// The registered family, for notifications from anywhere in process context.
pub struct Notifier {
    family: AtomicPtr<bindings::genl_family>,
}

impl Notifier {
    /// No family yet.
    pub const fn new() -> Self {
        Notifier {
            family: AtomicPtr::new(null_mut()),
        }
    }

    /// Multicasts a message of command `cmd`, filled by `fill`, to multicast group `group`
    /// in `net`, if anybody there listens. Best effort, as `rtnl_notify`: a failure is not
    /// the caller's. May sleep: call it with no spinlock held.
    pub fn notify(
        &self,
        net: &NetNs,
        group: u32,
        cmd: u8,
        fill: impl FnOnce(&mut Message<'_>) -> Result,
    ) {
        let listening = {
            let _rcu = rcu::read_lock();
            let f = self.family.load(Ordering::Acquire);
            // SAFETY: under RCU a published family stays registered (see `Registration`'s
            // drop); the namespace is live.
            !f.is_null()
                && group < u32::from(unsafe { (*f).n_mcgrps })
                && unsafe { c::rvnet_genl_has_listeners(f, net.as_raw(), group) }
        };
        if !listening {
            return;
        }
        // SAFETY: allocates a message we own.
        let Some(skb) = NonNull::new(unsafe { c::rvnet_genlmsg_new() }) else {
            return;
        };
        let _rcu = rcu::read_lock();
        let f = self.family.load(Ordering::Acquire);
        let hdr = if f.is_null() {
            null_mut()
        } else {
            // SAFETY: `skb` is ours; `f` is registered while we hold RCU.
            unsafe { bindings::genlmsg_put(skb.as_ptr(), 0, 0, f, 0, cmd) }
        };
        let filled = !hdr.is_null()
            && fill(&mut Message {
                skb,
                _p: PhantomData,
            })
            .is_ok();
        if !filled {
            // SAFETY: never sent: still ours.
            unsafe { nlmsg_free(skb.as_ptr()) };
            return;
        }
        // SAFETY: as above; the multicast consumes the skb (ESRCH when nobody listens any
        // more, which is no error for us).
        unsafe {
            genlmsg_end(skb.as_ptr(), hdr);
            let _ = c::rvnet_genl_multicast(f, net.as_raw(), skb.as_ptr(), group);
        }
    }
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier::new()
    }
}

/// Builds the C tables of family `T`.
struct Adapter<T: GenlFamily>(PhantomData<T>);

impl<T: GenlFamily> Adapter<T> {
    fn maxattr(cmd: u8, dump: bool) -> u16 {
        T::OPS
            .iter()
            .find(|o| o.cmd == cmd && o.dump == dump)
            .map_or(0, Op::maxattr)
    }

    /// # Safety
    ///
    /// Called only by genetlink, for a `doit` operation of `T`'s family, with a valid `info`.
    unsafe extern "C" fn doit(
        _skb: *mut bindings::sk_buff,
        info: *mut bindings::genl_info,
    ) -> c_int {
        from_result(|| {
            let info = NonNull::new(info).ok_or(EINVAL)?;
            // SAFETY: genetlink passes a parsed request: its header is valid.
            let cmd = unsafe { (*(*info.as_ptr()).genlhdr).cmd };
            // SAFETY: the requester's namespace is live for the call.
            let net = NonNull::new(unsafe { info_net(info.as_ptr()) }).ok_or(EINVAL)?;
            // SAFETY: as above: the namespace is live for the call.
            let net = unsafe { NetNs::from_raw(net) };
            // INVARIANT: genetlink parsed `attrs` with this op's policy of `maxattr` entries.
            let req = Request {
                info,
                maxattr: Self::maxattr(cmd, false),
                net,
                _p: PhantomData,
            };
            T::doit(cmd, &req)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called only by genetlink, for a `dumpit` operation of `T`'s family, with a valid `skb`
    /// and `cb` whose data is genetlink's `genl_dumpit_info`.
    unsafe extern "C" fn dumpit(
        skb: *mut bindings::sk_buff,
        cb: *mut bindings::netlink_callback,
    ) -> c_int {
        let (Some(skb), Some(cb)) = (NonNull::new(skb), NonNull::new(cb)) else {
            return EINVAL.to_errno();
        };
        // SAFETY: genetlink's dumps keep their `genl_dumpit_info` in `cb->data`
        // (`genl_info_dump`), valid for the call.
        let info = unsafe {
            let d = (*cb.as_ptr()).data.cast::<bindings::genl_dumpit_info>();
            if d.is_null() {
                return EINVAL.to_errno();
            }
            NonNull::from(&mut (*d).info)
        };
        // SAFETY: the info is valid; its namespace is the requester's, live for the call.
        let (cmd, net) = unsafe {
            (
                (*(*info.as_ptr()).genlhdr).cmd,
                NonNull::new(info_net(info.as_ptr())).map(|n| NetNs::from_raw(n)),
            )
        };
        let Some(net) = net else {
            return EINVAL.to_errno();
        };
        // INVARIANT: all valid for the call.
        let mut dump = Dump {
            skb,
            cb,
            info,
            net,
            _p: PhantomData,
        };
        // SAFETY: the skb is valid; `len` is a plain field.
        let len = || unsafe { (*skb.as_ptr()).len };
        match T::dumpit(cmd, &mut dump) {
            Ok(()) => 0,
            Err(e) if e == EMSGSIZE && len() > 0 => len() as c_int,
            Err(e) => e.to_errno(),
        }
    }
}

/// The registration of family `T`. Dropping it unregisters the family (after withdrawing it
/// from `T`'s [`Notifier`] and waiting for notifications in flight).
#[pin_data(PinnedDrop)]
pub struct Registration<T: GenlFamily> {
    #[pin]
    family: Opaque<bindings::genl_family>,
    ops: KVec<bindings::genl_split_ops>,
    policies: KVec<KVec<bindings::nla_policy>>,
    mcgrps: KVec<bindings::genl_multicast_group>,
    registered: AtomicBool,
    _t: PhantomData<T>,
}

// SAFETY: after registration the tables are only read, by genetlink.
unsafe impl<T: GenlFamily> Sync for Registration<T> {}
// SAFETY: as above.
unsafe impl<T: GenlFamily> Send for Registration<T> {}

/// A zeroed C struct.
///
/// # Safety
///
/// All zeroes must be a valid `S` (true of the plain C structs used here: integers, arrays,
/// pointers and optional function pointers).
unsafe fn zeroed<S>() -> S {
    // SAFETY: by the contract.
    unsafe { core::mem::zeroed() }
}

/// Copies `name` into a C name array, NUL-terminated; EINVAL if it does not fit.
fn copy_name(dst: &mut [kernel::ffi::c_char], name: &CStr) -> Result {
    let b = name.to_bytes_with_nul();
    if b.len() > dst.len() {
        return Err(EINVAL);
    }
    for (d, &s) in dst.iter_mut().zip(b) {
        *d = s as kernel::ffi::c_char;
    }
    Ok(())
}

/// The C tables of a family: its split ops, their policies, its multicast groups.
type Tables = (
    KVec<bindings::genl_split_ops>,
    KVec<KVec<bindings::nla_policy>>,
    KVec<bindings::genl_multicast_group>,
);

impl<T: GenlFamily> Registration<T> {
    /// The C policy of a nest's attributes; a nest inside it is refused (EINVAL).
    fn table(attrs: &[(u16, Policy)]) -> Result<KVec<bindings::nla_policy>> {
        let n = usize::from(maxattr(attrs));
        let mut pol = KVec::with_capacity(n + 1, flags::GFP_KERNEL)?;
        for _ in 0..=n {
            // SAFETY: a zeroed nla_policy is NLA_UNSPEC, refused under strict checks.
            pol.push(unsafe { zeroed() }, flags::GFP_KERNEL)?;
        }
        for &(a, p) in attrs {
            if matches!(p.kind, Kind::Nest(_)) {
                return Err(EINVAL);
            }
            if let Some(slot) = pol.get_mut(usize::from(a)) {
                p.fill(slot, null(), 0);
            }
        }
        Ok(pol)
    }

    fn build() -> Result<Tables> {
        // genetlink wants the split ops sorted by command, a do before its dump.
        let mut order: KVec<&Op> = KVec::with_capacity(T::OPS.len(), flags::GFP_KERNEL)?;
        for op in T::OPS {
            order.push(op, flags::GFP_KERNEL)?;
        }
        order.sort_unstable_by_key(|o| (o.cmd, o.dump));
        let mut policies = KVec::with_capacity(order.len(), flags::GFP_KERNEL)?;
        let mut nested = KVec::new();
        for op in order.iter() {
            let n = usize::from(op.maxattr());
            let mut pol = KVec::with_capacity(if n > 0 { n + 1 } else { 0 }, flags::GFP_KERNEL)?;
            if n > 0 {
                for _ in 0..=n {
                    // SAFETY: a zeroed nla_policy is NLA_UNSPEC, refused under strict checks.
                    pol.push(unsafe { zeroed() }, flags::GFP_KERNEL)?;
                }
                for &(a, p) in op.attrs {
                    let (inner, max) = match p.kind {
                        Kind::Nest(attrs) => {
                            let t = Self::table(attrs)?;
                            let ptr = t.as_ptr();
                            // Kept with the others for as long as the family is registered
                            // (pushing moves the vector, not its buffer).
                            nested.push(t, flags::GFP_KERNEL)?;
                            (ptr, maxattr(attrs))
                        }
                        _ => (null(), 0),
                    };
                    if let Some(slot) = pol.get_mut(usize::from(a)) {
                        p.fill(slot, inner, max);
                    }
                }
            }
            policies.push(pol, flags::GFP_KERNEL)?;
        }
        let mut ops = KVec::with_capacity(order.len(), flags::GFP_KERNEL)?;
        for (op, pol) in order.iter().zip(policies.iter()) {
            // SAFETY: all zeroes is a valid, empty split op.
            let mut s: bindings::genl_split_ops = unsafe { zeroed() };
            let mut fl = if op.dump {
                bindings::GENL_CMD_CAP_DUMP
            } else {
                bindings::GENL_CMD_CAP_DO
            };
            if op.admin {
                fl |= bindings::GENL_UNS_ADMIN_PERM;
            }
            // No GENL_CMD_CAP_HASPOL: genetlink derives it from the policy when it reports the
            // family, and a do and a dump of one command must have the same flags.
            let policy = if pol.is_empty() { null() } else { pol.as_ptr() };
            // The policy lives in `policies`, kept beside the ops for as long as the family is
            // registered (a KVec's buffer does not move with it). doit and dumpit live in an
            // anonymous union (their offsets are checked at load).
            s.cmd = op.cmd;
            s.flags = fl as u8;
            s.policy = policy;
            s.maxattr = u32::from(op.maxattr());
            if op.dump {
                s.__bindgen_anon_1.__bindgen_anon_2.dumpit = Some(Adapter::<T>::dumpit);
            } else {
                s.__bindgen_anon_1.__bindgen_anon_1.doit = Some(Adapter::<T>::doit);
            }
            ops.push(s, flags::GFP_KERNEL)?;
        }
        let mut mcgrps = KVec::with_capacity(T::MCGRPS.len(), flags::GFP_KERNEL)?;
        for name in T::MCGRPS {
            // SAFETY: all zeroes is a valid group (empty name, no flags).
            let mut g: bindings::genl_multicast_group = unsafe { zeroed() };
            copy_name(&mut g.name, name)?;
            mcgrps.push(g, flags::GFP_KERNEL)?;
        }
        // The nests' policies go after the ops' (which `ops` pairs with by index).
        for t in nested {
            policies.push(t, flags::GFP_KERNEL)?;
        }
        Ok((ops, policies, mcgrps))
    }

    /// Registers family `T`.
    pub fn new(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        let built = Self::build();
        let m = module.as_ptr();
        let init = move |p: *mut bindings::genl_family| {
            // SAFETY: `p` is our pinned, uninitialised slot.
            unsafe { p.write(zeroed()) };
            // SAFETY: as above, now initialised; nothing else sees it yet.
            let f = unsafe { &mut *p };
            f.version = T::VERSION;
            f.module = m;
            let _ = copy_name(&mut f.name, T::NAME);
        };
        let (ops, policies, mcgrps) = match built {
            Ok(t) => (Ok(t.0), t.1, t.2),
            Err(e) => (Err(e), KVec::new(), KVec::new()),
        };
        try_pin_init!(Self {
            family <- Opaque::ffi_init(init),
            ops: ops?,
            policies,
            mcgrps,
            registered: AtomicBool::new(false),
            _t: PhantomData,
        })
        .pin_chain(|this| {
            if T::NAME.to_bytes_with_nul().len() > bindings::GENL_NAMSIZ as usize {
                return Err(EINVAL);
            }
            let f = this.family.get();
            // SAFETY: the family is pinned in `this`, as are the tables it points to (they
            // live in `this`'s vectors until `drop` unregisters); genetlink may read them
            // from now on.
            unsafe {
                (*f).split_ops = this.ops.as_ptr();
                (*f).n_split_ops = u8::try_from(this.ops.len()).map_err(|_| EINVAL)?;
                (*f).mcgrps = this.mcgrps.as_ptr();
                (*f).n_mcgrps = u8::try_from(this.mcgrps.len()).map_err(|_| EINVAL)?;
                to_result(c::rvnet_genl_register(f))?;
            }
            this.registered.store(true, Ordering::Release);
            T::notifier().family.store(f, Ordering::Release);
            Ok(())
        })
    }
}

#[pinned_drop]
impl<T: GenlFamily> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        if self.registered.load(Ordering::Acquire) {
            T::notifier().family.store(null_mut(), Ordering::Release);
            // SAFETY: waits for notifications that may still name the family (they hold
            // RCU), then unregisters the family registered in `new`, which waits for the
            // requests in flight.
            unsafe {
                bindings::synchronize_rcu();
                bindings::genl_unregister_family(self.family.get());
            }
        }
    }
}
