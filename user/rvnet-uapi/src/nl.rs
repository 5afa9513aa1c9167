//! A small generic netlink client for the "rvnet" family (see
//! `Documentation/netlink/specs/rvnet.yaml`; the numbers are in [`crate::genl`]).
//!
//! - [`NlSocket`]: a NETLINK_GENERIC socket with extended acks, which resolves a family and
//!   its multicast groups, sends requests and collects replies, dumps and errors;
//! - [`Attrs`] builds a request's attributes (also wrong ones, for tests); [`Msg`] is a
//!   received message with its attributes;
//! - [`NlError`]: the errno and the kernel's extack message;
//! - [`Rvnet`]: the family's operations as methods, the way `rvnetctl` uses them.

use crate::genl::{self as g, addr, cmd, link, neigh, param, proxy, route, routes};
use std::fmt;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const NLMSG_HDRLEN: usize = 16;
const GENL_HDRLEN: usize = 4;
const NLA_HDRLEN: usize = 4;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const CTRL_ATTR_MCAST_GROUPS: u16 = 7;
const CTRL_ATTR_MCAST_GRP_NAME: u16 = 1;
const CTRL_ATTR_MCAST_GRP_ID: u16 = 2;
const NLMSGERR_ATTR_MSG: u16 = 1;
const NLMSGERR_ATTR_OFFS: u16 = 2;
const NLA_F_NESTED: u16 = 1 << 15;
const NLMSGERR_ATTR_MISS_TYPE: u16 = 5;
const SOL_NETLINK: i32 = 270;
const NETLINK_ADD_MEMBERSHIP: i32 = 1;
const NETLINK_CAP_ACK: i32 = 10;
const NETLINK_EXT_ACK: i32 = 11;
const NLA_TYPE_MASK: u16 = 0x3fff;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A refusal from the kernel: the errno, and what the extack said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NlError {
    /// The errno (positive).
    pub errno: i32,
    /// The extack message, if any.
    pub msg: Option<String>,
    /// The attribute the extack reports missing, if any.
    pub miss_type: Option<u32>,
    /// Where in the request (bytes from its netlink header) the attribute the extack points
    /// at starts, if it points at one.
    pub offset: Option<u32>,
}

impl fmt::Display for NlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            crate::strerror(&io::Error::from_raw_os_error(self.errno))
        )?;
        if let Some(m) = &self.msg {
            write!(f, " ({m})")?;
        }
        if let Some(t) = self.miss_type {
            write!(f, " (missing attribute {t})")?;
        }
        Ok(())
    }
}

impl std::error::Error for NlError {}

impl From<NlError> for io::Error {
    fn from(e: NlError) -> io::Error {
        io::Error::from_raw_os_error(e.errno)
    }
}

impl From<io::Error> for NlError {
    fn from(e: io::Error) -> NlError {
        NlError {
            errno: e.raw_os_error().unwrap_or(libc::EIO),
            msg: None,
            miss_type: None,
            offset: None,
        }
    }
}

/// A request's attributes, in order.
#[derive(Clone, Debug, Default)]
pub struct Attrs(Vec<u8>);

impl Attrs {
    /// None yet.
    pub fn new() -> Attrs {
        Attrs::default()
    }

    /// Attribute `ty` with `data` as its payload, whatever the spec says of it.
    pub fn raw(mut self, ty: u16, data: &[u8]) -> Attrs {
        let len = NLA_HDRLEN + data.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&ty.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(align4(self.0.len()), 0);
        self
    }

    /// A `u8`.
    pub fn u8(self, ty: u16, v: u8) -> Attrs {
        self.raw(ty, &[v])
    }

    /// A `u32`.
    pub fn u32(self, ty: u16, v: u32) -> Attrs {
        self.raw(ty, &v.to_ne_bytes())
    }

    /// A `uint` (4 bytes when the value fits, else 8).
    pub fn uint(self, ty: u16, v: u64) -> Attrs {
        match u32::try_from(v) {
            Ok(v) => self.u32(ty, v),
            Err(_) => self.raw(ty, &v.to_ne_bytes()),
        }
    }

    /// A nest holding `inner` (typed with NLA_F_NESTED, which strict validation wants).
    pub fn nest(self, ty: u16, inner: &Attrs) -> Attrs {
        self.raw(ty | NLA_F_NESTED, inner.bytes())
    }

    /// An IPv4 address (`u32`, big-endian).
    pub fn ip(self, ty: u16, a: Ipv4Addr) -> Attrs {
        self.raw(ty, &a.octets())
    }

    /// A string, NUL-terminated.
    pub fn string(self, ty: u16, s: &str) -> Attrs {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.raw(ty, &b)
    }

    /// The encoded attributes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Iterates over the attributes in `buf`: (type, payload).
pub fn parse_attrs(mut buf: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    while buf.len() >= NLA_HDRLEN {
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        let ty = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
        if len < NLA_HDRLEN || len > buf.len() {
            break;
        }
        out.push((ty, buf[NLA_HDRLEN..len].to_vec()));
        buf = &buf[align4(len).min(buf.len())..];
    }
    out
}

/// A received generic netlink message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    /// The command.
    pub cmd: u8,
    /// Its attributes, in order.
    pub attrs: Vec<(u16, Vec<u8>)>,
}

impl Msg {
    /// The payload of attribute `ty`.
    pub fn get(&self, ty: u16) -> Option<&[u8]> {
        self.attrs
            .iter()
            .find(|(t, _)| *t == ty)
            .map(|(_, v)| v.as_slice())
    }

    /// A `u8`.
    pub fn u8(&self, ty: u16) -> Option<u8> {
        self.get(ty).and_then(|b| b.first().copied())
    }

    /// A `u16`.
    pub fn u16(&self, ty: u16) -> Option<u16> {
        self.get(ty)
            .and_then(|b| b.get(..2)?.try_into().ok())
            .map(u16::from_ne_bytes)
    }

    /// A `u32`.
    pub fn u32(&self, ty: u16) -> Option<u32> {
        self.get(ty)
            .and_then(|b| b.get(..4)?.try_into().ok())
            .map(u32::from_ne_bytes)
    }

    /// A `uint` (4 or 8 bytes).
    pub fn uint(&self, ty: u16) -> Option<u64> {
        let b = self.get(ty)?;
        match b.len() {
            8 => Some(u64::from_ne_bytes(b.try_into().ok()?)),
            _ => self.u32(ty).map(u64::from),
        }
    }

    /// An IPv4 address.
    pub fn ip(&self, ty: u16) -> Option<Ipv4Addr> {
        let b: [u8; 4] = self.get(ty)?.get(..4)?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    /// A MAC address.
    pub fn mac(&self, ty: u16) -> Option<[u8; 6]> {
        self.get(ty)?.try_into().ok()
    }

    /// An ifindex (0 when absent).
    pub fn ifindex(&self, ty: u16) -> i32 {
        self.u32(ty)
            .and_then(|v| i32::try_from(v).ok())
            .unwrap_or(0)
    }
}

/// A NETLINK_GENERIC socket.
#[derive(Debug)]
pub struct NlSocket {
    fd: OwnedFd,
    seq: u32,
}

impl NlSocket {
    /// Opens one, with extended acks (the kernel's messages) and capped acks.
    pub fn new() -> io::Result<NlSocket> {
        // SAFETY: plain system call.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_GENERIC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let s = NlSocket { fd, seq: 1 };
        s.set_int(NETLINK_EXT_ACK, 1)?;
        s.set_int(NETLINK_CAP_ACK, 1)?;
        Ok(s)
    }

    fn set_int(&self, opt: i32, v: i32) -> io::Result<()> {
        // SAFETY: `v` is valid for 4 bytes.
        let r = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                SOL_NETLINK,
                opt,
                (&v as *const i32).cast(),
                4,
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Joins multicast group `id`.
    pub fn join(&self, id: u32) -> io::Result<()> {
        self.set_int(NETLINK_ADD_MEMBERSHIP, id as i32)
    }

    /// Sends one request: family `family_id`, command `cmd`, NLM_F_REQUEST | `flags`.
    pub fn send(&mut self, family_id: u16, cmd: u8, flags: u16, attrs: &Attrs) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let len = NLMSG_HDRLEN + GENL_HDRLEN + attrs.bytes().len();
        let mut b = Vec::with_capacity(len);
        b.extend_from_slice(&(len as u32).to_ne_bytes());
        b.extend_from_slice(&family_id.to_ne_bytes());
        b.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
        b.extend_from_slice(&self.seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&[cmd, 1, 0, 0]);
        b.extend_from_slice(attrs.bytes());
        // SAFETY: `b` is valid for its length; the kernel is the destination by default.
        let r = unsafe { libc::send(self.fd.as_raw_fd(), b.as_ptr().cast(), b.len(), 0) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(self.seq)
    }

    /// Receives one datagram (one or more netlink messages).
    fn recv_raw(&self) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; 65536];
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        buf.truncate(n as usize);
        Ok(buf)
    }

    /// Receives the next notification (a message that answers no request of ours).
    pub fn recv_msg(&self) -> io::Result<Vec<Msg>> {
        let buf = self.recv_raw()?;
        let mut out = Vec::new();
        for (ty, _, _, payload) in split(&buf) {
            if ty != NLMSG_ERROR && ty != NLMSG_DONE && payload.len() >= GENL_HDRLEN {
                out.push(Msg {
                    cmd: payload[0],
                    attrs: parse_attrs(&payload[GENL_HDRLEN..]),
                });
            }
        }
        Ok(out)
    }

    /// Sends a request with an ack and collects its replies: every message until the ack
    /// (or, for a dump, until NLMSG_DONE).
    pub fn request(
        &mut self,
        family_id: u16,
        cmd: u8,
        dump: bool,
        attrs: &Attrs,
    ) -> Result<Vec<Msg>, NlError> {
        let mut out = Vec::new();
        self.request_each(family_id, cmd, dump, attrs, |m| out.push(m))?;
        Ok(out)
    }

    /// [`NlSocket::request`], handing each reply to `f` as it arrives: a dump of a million
    /// routes is printed as it is read, never held whole.
    pub fn request_each(
        &mut self,
        family_id: u16,
        cmd: u8,
        dump: bool,
        attrs: &Attrs,
        mut f: impl FnMut(Msg),
    ) -> Result<(), NlError> {
        let flags = if dump { NLM_F_DUMP } else { NLM_F_ACK };
        let seq = self.send(family_id, cmd, flags, attrs)?;
        loop {
            let buf = self.recv_raw()?;
            for (ty, fl, s, payload) in split(&buf) {
                if s != seq {
                    continue;
                }
                match ty {
                    NLMSG_ERROR | NLMSG_DONE => return ack_result(ty, fl, payload),
                    _ if payload.len() >= GENL_HDRLEN => f(Msg {
                        cmd: payload[0],
                        attrs: parse_attrs(&payload[GENL_HDRLEN..]),
                    }),
                    _ => {}
                }
            }
        }
    }

    /// Sends `reqs` in one datagram, without asking for acks: the kernel handles them in
    /// order before the call returns, and answers only those that fail (an NLMSG_ERROR
    /// carrying that request's sequence number), which [`NlSocket::take_errors`] collects.
    /// This is how a batch of a million routes loads in seconds: one system call and no ack
    /// per window of requests. Returns the sequence number of the first request; the others
    /// follow it.
    pub fn send_unacked(&mut self, family_id: u16, reqs: &[Req]) -> io::Result<u32> {
        let first = self.seq.wrapping_add(1);
        let mut b = Vec::new();
        for r in reqs {
            self.seq = self.seq.wrapping_add(1);
            let len = NLMSG_HDRLEN + GENL_HDRLEN + r.attrs.bytes().len();
            b.extend_from_slice(&(len as u32).to_ne_bytes());
            b.extend_from_slice(&family_id.to_ne_bytes());
            b.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
            b.extend_from_slice(&self.seq.to_ne_bytes());
            b.extend_from_slice(&0u32.to_ne_bytes());
            b.extend_from_slice(&[r.cmd, 1, 0, 0]);
            b.extend_from_slice(r.attrs.bytes());
            b.resize(align4(b.len()), 0);
        }
        // SAFETY: `b` is valid for its length; the kernel is the destination by default.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), b.as_ptr().cast(), b.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(first)
    }

    /// The refusals waiting on the socket, as (sequence number, error), without blocking.
    /// ENOBUFS means the socket's buffer overflowed and some refusals were lost.
    pub fn take_errors(&mut self) -> io::Result<Vec<(u32, NlError)>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            // SAFETY: `buf` is writable for its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EAGAIN) {
                    return Ok(out);
                }
                return Err(e);
            }
            for (ty, fl, s, payload) in split(&buf[..n as usize]) {
                if ty == NLMSG_ERROR {
                    if let Err(e) = ack_result(ty, fl, payload) {
                        out.push((s, e));
                    }
                }
            }
        }
    }

    /// Asks for a receive buffer of `bytes` (SO_RCVBUFFORCE with CAP_NET_ADMIN, else
    /// SO_RCVBUF within the system's limit).
    pub fn set_rcvbuf(&self, bytes: i32) -> io::Result<()> {
        for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
            // SAFETY: `bytes` is valid for 4 bytes.
            let r = unsafe {
                libc::setsockopt(
                    self.fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    (&bytes as *const i32).cast(),
                    4,
                )
            };
            if r == 0 {
                return Ok(());
            }
        }
        Err(io::Error::last_os_error())
    }

    /// The id of family `name` and its multicast groups (name, id).
    pub fn resolve(&mut self, name: &str) -> Result<(u16, Vec<(String, u32)>), NlError> {
        let attrs = Attrs::new().string(CTRL_ATTR_FAMILY_NAME, name);
        let msgs = self.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, false, &attrs)?;
        let m = msgs.first().ok_or(NlError {
            errno: libc::ENOENT,
            msg: None,
            miss_type: None,
            offset: None,
        })?;
        let id = m.u16(CTRL_ATTR_FAMILY_ID).ok_or(NlError {
            errno: libc::EPROTO,
            msg: None,
            miss_type: None,
            offset: None,
        })?;
        let mut groups = Vec::new();
        if let Some(nest) = m.get(CTRL_ATTR_MCAST_GROUPS) {
            for (_, grp) in parse_attrs(nest) {
                let gm = Msg {
                    cmd: 0,
                    attrs: parse_attrs(&grp),
                };
                if let (Some(n), Some(gid)) = (
                    gm.get(CTRL_ATTR_MCAST_GRP_NAME),
                    gm.u32(CTRL_ATTR_MCAST_GRP_ID),
                ) {
                    let n = String::from_utf8_lossy(n)
                        .trim_end_matches('\0')
                        .to_string();
                    groups.push((n, gid));
                }
            }
        }
        Ok((id, groups))
    }
}

/// What an NLMSG_ERROR (an ack when its errno is 0) or NLMSG_DONE message says.
fn ack_result(ty: u16, fl: u16, payload: &[u8]) -> Result<(), NlError> {
    let err = payload
        .get(..4)
        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    if err == 0 {
        return Ok(());
    }
    // With NETLINK_CAP_ACK the error carries only the request's header; the extack TLVs
    // follow.
    let skip = if ty == NLMSG_ERROR {
        4 + NLMSG_HDRLEN
    } else {
        4
    };
    let tlvs = if fl & NLM_F_ACK_TLVS != 0 {
        parse_attrs(payload.get(skip..).unwrap_or(&[]))
    } else {
        Vec::new()
    };
    let m = Msg {
        cmd: 0,
        attrs: tlvs,
    };
    Err(NlError {
        errno: -err,
        msg: m.get(NLMSGERR_ATTR_MSG).map(|b| {
            String::from_utf8_lossy(b)
                .trim_end_matches('\0')
                .to_string()
        }),
        miss_type: m.u32(NLMSGERR_ATTR_MISS_TYPE),
        offset: m.u32(NLMSGERR_ATTR_OFFS),
    })
}

/// Splits a datagram into its netlink messages: (type, flags, seq, payload).
fn split(mut buf: &[u8]) -> Vec<(u16, u16, u32, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            break;
        }
        let ty = u16::from_ne_bytes([buf[4], buf[5]]);
        let fl = u16::from_ne_bytes([buf[6], buf[7]]);
        let seq = u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]);
        out.push((ty, fl, seq, &buf[NLMSG_HDRLEN..len]));
        buf = &buf[align4(len).min(buf.len())..];
    }
    out
}

/// An attached interface and its address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addr {
    pub ifindex: i32,
    /// None while the interface has no address.
    pub addr: Option<(Ipv4Addr, u8)>,
    pub lladdr: Option<[u8; 6]>,
}

impl Addr {
    /// From an `addr-get` reply or an address notification.
    pub fn from_msg(m: &Msg) -> Addr {
        Addr {
            ifindex: m.ifindex(addr::IFINDEX),
            addr: m
                .ip(addr::ADDRESS)
                .map(|a| (a, m.u8(addr::PREFIXLEN).unwrap_or(0))),
            lladdr: m.mac(addr::LLADDR),
        }
    }
}

/// A route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteEntry {
    pub dst: Ipv4Addr,
    pub prefixlen: u8,
    pub gateway: Option<Ipv4Addr>,
    pub ifindex: i32,
    /// `genl::route_kind::*`.
    pub kind: Option<u32>,
}

impl RouteEntry {
    /// From a `route-get` reply or a route notification.
    pub fn from_msg(m: &Msg) -> RouteEntry {
        RouteEntry {
            dst: m.ip(route::DST).unwrap_or(Ipv4Addr::UNSPECIFIED),
            prefixlen: m.u8(route::PREFIXLEN).unwrap_or(0),
            gateway: m.ip(route::GATEWAY),
            ifindex: m.ifindex(route::IFINDEX),
            kind: m.u32(route::KIND),
        }
    }
}

/// An ARP entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neigh {
    pub addr: Ipv4Addr,
    pub lladdr: Option<[u8; 6]>,
    pub ifindex: i32,
    /// `genl::neigh_state::*`.
    pub state: Option<u32>,
}

impl Neigh {
    /// From a `neigh-get` reply or a neighbour notification.
    pub fn from_msg(m: &Msg) -> Neigh {
        Neigh {
            addr: m.ip(neigh::ADDRESS).unwrap_or(Ipv4Addr::UNSPECIFIED),
            lladdr: m.mac(neigh::LLADDR),
            ifindex: m.ifindex(neigh::IFINDEX),
            state: m.u32(neigh::STATE),
        }
    }
}

/// One request of the family: a command and its attributes, built by the `*_req` functions
/// of [`Rvnet`] and sent alone ([`Rvnet::exec`]) or with others ([`Rvnet::send_unacked`]).
#[derive(Clone, Debug)]
pub struct Req {
    /// The command.
    pub cmd: u8,
    /// Its attributes.
    pub attrs: Attrs,
}

/// The "rvnet" family, resolved on a socket of its own.
#[derive(Debug)]
pub struct Rvnet {
    sock: NlSocket,
    id: u16,
    groups: Vec<(String, u32)>,
}

fn ifi(ifindex: i32) -> u32 {
    // A negative ifindex goes as a huge one: the kernel says ENODEV.
    ifindex as u32
}

impl Rvnet {
    /// Resolves the family (ENOENT if rvnet.ko is not loaded).
    pub fn open() -> Result<Rvnet, NlError> {
        let mut sock = NlSocket::new()?;
        let (id, groups) = sock.resolve(g::FAMILY_NAME)?;
        Ok(Rvnet { sock, id, groups })
    }

    /// The family id.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// Sends `cmd` with `attrs` and returns the replies.
    pub fn call(&mut self, cmd: u8, attrs: Attrs) -> Result<Vec<Msg>, NlError> {
        self.sock.request(self.id, cmd, false, &attrs)
    }

    /// Dumps `cmd`.
    pub fn dump(&mut self, cmd: u8) -> Result<Vec<Msg>, NlError> {
        self.sock.request(self.id, cmd, true, &Attrs::new())
    }

    /// Joins the "monitor" group; then [`Rvnet::next_notifications`] returns what it hears.
    pub fn subscribe(&mut self) -> Result<(), NlError> {
        let id = self
            .groups
            .iter()
            .find(|(n, _)| n == g::MCGRP_MONITOR)
            .map(|&(_, id)| id)
            .ok_or(NlError {
                errno: libc::ENOENT,
                msg: Some("no monitor group".into()),
                miss_type: None,
                offset: None,
            })?;
        Ok(self.sock.join(id)?)
    }

    /// Blocks for the next notifications.
    pub fn next_notifications(&self) -> io::Result<Vec<Msg>> {
        self.sock.recv_msg()
    }

    /// Sends `r` and waits for its ack.
    pub fn exec(&mut self, r: Req) -> Result<(), NlError> {
        self.call(r.cmd, r.attrs).map(drop)
    }

    /// Sends `reqs` in one datagram without acks (see [`NlSocket::send_unacked`]); the
    /// refusals come from [`Rvnet::take_errors`]. Returns the first request's sequence
    /// number.
    pub fn send_unacked(&mut self, reqs: &[Req]) -> io::Result<u32> {
        self.sock.send_unacked(self.id, reqs)
    }

    /// The refusals of unacked requests: (sequence number, error).
    pub fn take_errors(&mut self) -> io::Result<Vec<(u32, NlError)>> {
        self.sock.take_errors()
    }

    /// Grows the socket's receive buffer, for the refusals of a large batch.
    pub fn set_rcvbuf(&self, bytes: i32) -> io::Result<()> {
        self.sock.set_rcvbuf(bytes)
    }

    pub fn attach_req(ifindex: i32) -> Req {
        Req {
            cmd: cmd::LINK_ATTACH,
            attrs: Attrs::new().u32(link::IFINDEX, ifi(ifindex)),
        }
    }

    pub fn attach(&mut self, ifindex: i32) -> Result<(), NlError> {
        self.exec(Rvnet::attach_req(ifindex))
    }

    pub fn detach_req(ifindex: i32) -> Req {
        Req {
            cmd: cmd::LINK_DETACH,
            attrs: Attrs::new().u32(link::IFINDEX, ifi(ifindex)),
        }
    }

    pub fn detach(&mut self, ifindex: i32) -> Result<(), NlError> {
        self.exec(Rvnet::detach_req(ifindex))
    }

    fn addr_attrs(ifindex: i32, a: Ipv4Addr, len: u8) -> Attrs {
        Attrs::new()
            .u32(addr::IFINDEX, ifi(ifindex))
            .ip(addr::ADDRESS, a)
            .u8(addr::PREFIXLEN, len)
    }

    pub fn addr_add_req(ifindex: i32, a: Ipv4Addr, len: u8) -> Req {
        Req {
            cmd: cmd::ADDR_ADD,
            attrs: Rvnet::addr_attrs(ifindex, a, len),
        }
    }

    pub fn addr_add(&mut self, ifindex: i32, a: Ipv4Addr, len: u8) -> Result<(), NlError> {
        self.exec(Rvnet::addr_add_req(ifindex, a, len))
    }

    pub fn addr_del_req(ifindex: i32, a: Ipv4Addr, len: u8) -> Req {
        Req {
            cmd: cmd::ADDR_DEL,
            attrs: Rvnet::addr_attrs(ifindex, a, len),
        }
    }

    pub fn addr_del(&mut self, ifindex: i32, a: Ipv4Addr, len: u8) -> Result<(), NlError> {
        self.exec(Rvnet::addr_del_req(ifindex, a, len))
    }

    pub fn addrs(&mut self) -> Result<Vec<Addr>, NlError> {
        Ok(self
            .dump(cmd::ADDR_GET)?
            .iter()
            .map(Addr::from_msg)
            .collect())
    }

    /// `gateway` 0.0.0.0: connected on `ifindex`; `ifindex` 0: found from the gateway.
    pub fn route_add_req(dst: Ipv4Addr, len: u8, gateway: Ipv4Addr, ifindex: i32) -> Req {
        let mut a = Attrs::new().ip(route::DST, dst).u8(route::PREFIXLEN, len);
        if !gateway.is_unspecified() {
            a = a.ip(route::GATEWAY, gateway);
        }
        if ifindex != 0 {
            a = a.u32(route::IFINDEX, ifi(ifindex));
        }
        Req {
            cmd: cmd::ROUTE_ADD,
            attrs: a,
        }
    }

    pub fn route_add(
        &mut self,
        dst: Ipv4Addr,
        len: u8,
        gateway: Ipv4Addr,
        ifindex: i32,
    ) -> Result<(), NlError> {
        self.exec(Rvnet::route_add_req(dst, len, gateway, ifindex))
    }

    /// Adds `routes` ((dst, len, gateway, ifindex) as [`Rvnet::route_add_req`] takes them)
    /// in one `route-add-bulk` request. On a refusal, the index of the route refused (the
    /// ones before it were added, the ones after it not tried) and the error; a refusal of
    /// the whole request (no permission, say) names route 0.
    pub fn route_add_bulk(
        &mut self,
        routes: &[(Ipv4Addr, u8, Ipv4Addr, i32)],
    ) -> Result<(), (usize, NlError)> {
        let (attrs, starts) = Rvnet::route_bulk_attrs(routes);
        self.call(cmd::ROUTE_ADD_BULK, attrs)
            .map(drop)
            .map_err(|e| (Rvnet::refused_route(&starts, e.offset), e))
    }

    /// The route of a `route-add-bulk` whose nests start at `starts` that the extack's
    /// `offset` points at (or into); the first when the extack points at none.
    pub fn refused_route(starts: &[u32], offset: Option<u32>) -> usize {
        offset
            .map_or(0, |o| starts.iter().take_while(|&&s| s <= o).count())
            .saturating_sub(1)
    }

    /// The attributes of a `route-add-bulk` of `routes`, and where each route's nest starts
    /// in the request (bytes from its netlink header, as the extack's offset counts).
    pub fn route_bulk_attrs(routes: &[(Ipv4Addr, u8, Ipv4Addr, i32)]) -> (Attrs, Vec<u32>) {
        let mut attrs = Attrs::new();
        let mut starts = Vec::with_capacity(routes.len());
        for &(dst, len, gw, ifindex) in routes {
            starts.push((NLMSG_HDRLEN + GENL_HDRLEN + attrs.bytes().len()) as u32);
            let inner = Rvnet::route_add_req(dst, len, gw, ifindex).attrs;
            attrs = attrs.nest(routes::ROUTE, &inner);
        }
        (attrs, starts)
    }

    /// The route with the longest prefix matching `dst`, as `ip route get` finds it
    /// (ENETUNREACH if none).
    pub fn route_get(&mut self, dst: Ipv4Addr) -> Result<RouteEntry, NlError> {
        let replies = self.call(cmd::ROUTE_GET, Attrs::new().ip(route::DST, dst))?;
        replies.first().map(RouteEntry::from_msg).ok_or(NlError {
            errno: libc::EPROTO,
            msg: Some("no reply".into()),
            miss_type: None,
            offset: None,
        })
    }

    pub fn route_del_req(dst: Ipv4Addr, len: u8) -> Req {
        Req {
            cmd: cmd::ROUTE_DEL,
            attrs: Attrs::new().ip(route::DST, dst).u8(route::PREFIXLEN, len),
        }
    }

    pub fn route_del(&mut self, dst: Ipv4Addr, len: u8) -> Result<(), NlError> {
        self.exec(Rvnet::route_del_req(dst, len))
    }

    /// Hands each route of the FIB to `f` as the dump delivers it.
    pub fn routes_each(&mut self, mut f: impl FnMut(RouteEntry)) -> Result<(), NlError> {
        self.sock
            .request_each(self.id, cmd::ROUTE_GET, true, &Attrs::new(), |m| {
                f(RouteEntry::from_msg(&m))
            })
    }

    pub fn routes(&mut self) -> Result<Vec<RouteEntry>, NlError> {
        Ok(self
            .dump(cmd::ROUTE_GET)?
            .iter()
            .map(RouteEntry::from_msg)
            .collect())
    }

    pub fn neigh_add_req(a: Ipv4Addr, lladdr: [u8; 6], ifindex: i32) -> Req {
        let mut at = Attrs::new()
            .ip(neigh::ADDRESS, a)
            .raw(neigh::LLADDR, &lladdr);
        if ifindex != 0 {
            at = at.u32(neigh::IFINDEX, ifi(ifindex));
        }
        Req {
            cmd: cmd::NEIGH_ADD,
            attrs: at,
        }
    }

    pub fn neigh_add(&mut self, a: Ipv4Addr, lladdr: [u8; 6], ifindex: i32) -> Result<(), NlError> {
        self.exec(Rvnet::neigh_add_req(a, lladdr, ifindex))
    }

    pub fn neigh_del_req(a: Ipv4Addr, ifindex: i32) -> Req {
        let mut at = Attrs::new().ip(neigh::ADDRESS, a);
        if ifindex != 0 {
            at = at.u32(neigh::IFINDEX, ifi(ifindex));
        }
        Req {
            cmd: cmd::NEIGH_DEL,
            attrs: at,
        }
    }

    pub fn neigh_del(&mut self, a: Ipv4Addr, ifindex: i32) -> Result<(), NlError> {
        self.exec(Rvnet::neigh_del_req(a, ifindex))
    }

    pub fn neigh_flush_req() -> Req {
        Req {
            cmd: cmd::NEIGH_FLUSH,
            attrs: Attrs::new(),
        }
    }

    pub fn neigh_flush(&mut self) -> Result<(), NlError> {
        self.exec(Rvnet::neigh_flush_req())
    }

    pub fn neighs(&mut self) -> Result<Vec<Neigh>, NlError> {
        Ok(self
            .dump(cmd::NEIGH_GET)?
            .iter()
            .map(Neigh::from_msg)
            .collect())
    }

    /// The address and ifindex of the entry for `lladdr`.
    pub fn neigh_reverse(&mut self, lladdr: [u8; 6]) -> Result<(Ipv4Addr, i32), NlError> {
        let r = self.call(cmd::NEIGH_REVERSE, Attrs::new().raw(neigh::LLADDR, &lladdr))?;
        let n = r.first().map(Neigh::from_msg).ok_or(NlError {
            errno: libc::EPROTO,
            msg: None,
            miss_type: None,
            offset: None,
        })?;
        Ok((n.addr, n.ifindex))
    }

    pub fn proxy_req(add: bool, p: Ipv4Addr, len: u8) -> Req {
        Req {
            cmd: if add { cmd::PROXY_ADD } else { cmd::PROXY_DEL },
            attrs: Attrs::new().ip(proxy::PREFIX, p).u8(proxy::PREFIXLEN, len),
        }
    }

    pub fn proxy_add(&mut self, p: Ipv4Addr, len: u8) -> Result<(), NlError> {
        self.exec(Rvnet::proxy_req(true, p, len))
    }

    pub fn proxy_del(&mut self, p: Ipv4Addr, len: u8) -> Result<(), NlError> {
        self.exec(Rvnet::proxy_req(false, p, len))
    }

    /// True for the parameters carried as `u8` (the others are `uint`).
    pub fn param_is_u8(id: u16) -> bool {
        matches!(
            id,
            param::ARP_RETRIES | param::FORWARDING | param::DEFAULT_TTL
        )
    }

    /// The request that sets parameter `id` (an attribute of the `param` set). A value too
    /// large for a `u8` parameter is EINVAL, as the kernel says of values out of range.
    pub fn set_param_req(id: u16, v: u64) -> Result<Req, NlError> {
        let a = if Rvnet::param_is_u8(id) {
            let v = u8::try_from(v).map_err(|_| NlError {
                errno: libc::EINVAL,
                msg: None,
                miss_type: None,
                offset: None,
            })?;
            Attrs::new().u8(id, v)
        } else {
            Attrs::new().uint(id, v)
        };
        Ok(Req {
            cmd: cmd::PARAM_SET,
            attrs: a,
        })
    }

    /// Sets parameter `id`.
    pub fn set_param(&mut self, id: u16, v: u64) -> Result<(), NlError> {
        self.exec(Rvnet::set_param_req(id, v)?)
    }

    /// Every parameter: (attribute, value).
    pub fn params(&mut self) -> Result<Vec<(u16, u64)>, NlError> {
        let r = self.call(cmd::PARAM_GET, Attrs::new())?;
        let m = r.first().ok_or(NlError {
            errno: libc::EPROTO,
            msg: None,
            miss_type: None,
            offset: None,
        })?;
        Ok(g::PARAMS
            .iter()
            .filter_map(|&(_, id)| {
                let v = if Rvnet::param_is_u8(id) {
                    m.u8(id).map(u64::from)
                } else {
                    m.uint(id)
                };
                v.map(|v| (id, v))
            })
            .collect())
    }

    /// Parameter `id`.
    pub fn get_param(&mut self, id: u16) -> Result<u64, NlError> {
        self.params()?
            .into_iter()
            .find(|&(i, _)| i == id)
            .map(|(_, v)| v)
            .ok_or(NlError {
                errno: libc::EPROTO,
                msg: None,
                miss_type: None,
                offset: None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_round_trip() {
        let a = Attrs::new()
            .u32(1, 7)
            .ip(2, Ipv4Addr::new(198, 18, 0, 2))
            .u8(3, 24)
            .uint(4, 1 << 40);
        assert_eq!(a.bytes().len(), 8 + 8 + 8 + 12);
        let m = Msg {
            cmd: 0,
            attrs: parse_attrs(a.bytes()),
        };
        assert_eq!(m.u32(1), Some(7));
        assert_eq!(m.ip(2), Some(Ipv4Addr::new(198, 18, 0, 2)));
        assert_eq!(m.u8(3), Some(24));
        assert_eq!(m.uint(4), Some(1 << 40));
        assert_eq!(m.get(5), None);
    }

    #[test]
    fn errors_print_the_extack() {
        let e = NlError {
            errno: libc::ENODEV,
            msg: Some("no device".into()),
            miss_type: None,
            offset: None,
        };
        assert_eq!(e.to_string(), "No such device (no device)");
    }
}
