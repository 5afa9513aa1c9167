//! The user-space interface of AF_RVNET, after `include/uapi/linux/rvnet.h` (the source of
//! truth: every constant and structure here mirrors it, and the sizes are checked at compile
//! time).
//!
//! - the constants and `#[repr(C)]` request structures of the header;
//! - [`family`]: the family number in use (the module parameter `family`);
//! - [`Socket`]: a thin safe wrapper over an AF_RVNET socket, with the control requests
//!   ([`Socket::addr_add`], [`Socket::route_add`], ...) as methods;
//! - [`proc`]: parsers for `/proc/net/rvnet/{arp,route,sockets,stats,dev}`;
//! - small parsers for the command line: [`parse_prefix`], [`parse_mac`], [`param_id`].

use std::ffi::CString;
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

pub mod proc;

/// The family number when nobody chose another (AF_ECONET, kept by mainline but unused).
pub const RVNET_AF_DEFAULT: i32 = 19;
/// Where the module shows the family number in use.
pub const FAMILY_PARAM: &str = "/sys/module/rvnet/parameters/family";

/// The environment variable that overrides [`family`].
pub const FAMILY_ENV: &str = "RVNET_FAMILY";

/// The setsockopt/getsockopt level of the control requests.
pub const SOL_RVNET: i32 = 400;

/// setsockopt: [`IfReq`]: take the device's frames for our addresses.
pub const RVNET_ATTACH: i32 = 1;
/// setsockopt: [`IfReq`]: give the device back, drop its routes and ARP entries.
pub const RVNET_DETACH: i32 = 2;
/// setsockopt: [`AddrReq`]: attaches if needed, adds the connected route, sends a gratuitous ARP.
pub const RVNET_ADDR_ADD: i32 = 3;
/// setsockopt: [`AddrReq`].
pub const RVNET_ADDR_DEL: i32 = 4;
/// setsockopt: [`RouteReq`].
pub const RVNET_ROUTE_ADD: i32 = 5;
/// setsockopt: [`RouteReq`] (dst and prefixlen are the key).
pub const RVNET_ROUTE_DEL: i32 = 6;
/// setsockopt: [`NeighReq`]: a static ARP entry on ifindex (0: the device of the route to addr).
pub const RVNET_NEIGH_ADD: i32 = 7;
/// setsockopt: [`NeighReq`] (addr and ifindex are the key; ifindex 0: on every device).
pub const RVNET_NEIGH_DEL: i32 = 8;
/// setsockopt: [`PrefixReq`]: answer ARP for this prefix.
pub const RVNET_PROXY_ADD: i32 = 9;
/// setsockopt: [`PrefixReq`].
pub const RVNET_PROXY_DEL: i32 = 10;
/// setsockopt: [`Param`].
pub const RVNET_SET: i32 = 11;
/// setsockopt with no argument (optlen 0): drop every dynamic ARP entry.
pub const RVNET_NEIGH_FLUSH: i32 = 12;
/// getsockopt: [`NeighReq`]: lladdr in, addr and the entry's ifindex out (ENOENT if none).
pub const RVNET_NEIGH_REVERSE: i32 = 20;
/// getsockopt: [`Param`]: param in, value out.
pub const RVNET_GET: i32 = 21;

/// ARP entry lifetime in ms (default 1200000).
pub const RVNET_PARAM_ARP_AGEING_MS: u32 = 1;
/// Interval between ARP requests in ms (default 1000).
pub const RVNET_PARAM_ARP_RETRY_MS: u32 = 2;
/// ARP requests before giving up (default 3).
pub const RVNET_PARAM_ARP_RETRIES: u32 = 3;
/// 0 or 1 (default 0).
pub const RVNET_PARAM_FORWARDING: u32 = 4;
/// Reassembly timeout in ms (default 30000).
pub const RVNET_PARAM_REASM_TIMEOUT_MS: u32 = 5;
/// TTL of the packets we send (default 64).
pub const RVNET_PARAM_DEFAULT_TTL: u32 = 6;

/// The parameters by the names the tools use.
pub const PARAMS: &[(&str, u32)] = &[
    ("arp_ageing_ms", RVNET_PARAM_ARP_AGEING_MS),
    ("arp_retry_ms", RVNET_PARAM_ARP_RETRY_MS),
    ("arp_retries", RVNET_PARAM_ARP_RETRIES),
    ("forwarding", RVNET_PARAM_FORWARDING),
    ("reasm_timeout_ms", RVNET_PARAM_REASM_TIMEOUT_MS),
    ("default_ttl", RVNET_PARAM_DEFAULT_TTL),
];

/// `struct rvnet_ifreq`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfReq {
    pub ifindex: i32,
    /// Must be 0.
    pub flags: u32,
}

/// `struct rvnet_addrreq`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddrReq {
    pub ifindex: i32,
    /// Network byte order (see [`be32`]).
    pub addr: u32,
    /// 1..32.
    pub prefixlen: u8,
    pub pad: [u8; 3],
}

/// `struct rvnet_routereq`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteReq {
    /// Network byte order.
    pub dst: u32,
    /// 0..32; 0 with dst 0 is the default route.
    pub prefixlen: u8,
    pub pad: [u8; 3],
    /// Network byte order; 0: directly connected on ifindex.
    pub gateway: u32,
    /// 0: the device of the connected route that reaches the gateway.
    pub ifindex: i32,
}

/// `struct rvnet_neighreq`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NeighReq {
    /// Network byte order.
    pub addr: u32,
    pub ifindex: i32,
    pub lladdr: [u8; 6],
    /// Must be 0.
    pub flags: u16,
}

/// `struct rvnet_prefixreq`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefixReq {
    /// Network byte order.
    pub prefix: u32,
    pub prefixlen: u8,
    pub pad: [u8; 3],
}

/// `struct rvnet_param`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Param {
    /// One of the `RVNET_PARAM_*`.
    pub param: u32,
    /// Must be 0.
    pub pad: u32,
    pub value: u64,
}

// The sizes and alignments of the C header (x86-64 and every other Linux ABI alike).
const _: () = assert!(size_of::<IfReq>() == 8);
const _: () = assert!(size_of::<AddrReq>() == 12);
const _: () = assert!(size_of::<RouteReq>() == 16);
const _: () = assert!(size_of::<NeighReq>() == 16);
const _: () = assert!(size_of::<PrefixReq>() == 8);
const _: () = assert!(size_of::<Param>() == 16);
const _: () = assert!(std::mem::align_of::<Param>() == 8);

/// An address as a `__be32` field holds it.
pub fn be32(a: Ipv4Addr) -> u32 {
    u32::from_ne_bytes(a.octets())
}

/// The address in a `__be32` field.
pub fn from_be32(v: u32) -> Ipv4Addr {
    Ipv4Addr::from(v.to_ne_bytes())
}

/// The AF_RVNET family number: the module parameter, or [`RVNET_AF_DEFAULT`] while the module
/// is not loaded (creating a socket of that family loads it through its alias).
///
/// The environment variable `RVNET_FAMILY`, when set, overrides both: `RVNET_FAMILY=2` runs
/// the tools over AF_INET, whose semantics AF_RVNET copies (a check of the tools themselves).
pub fn family() -> io::Result<i32> {
    if let Some(v) = std::env::var_os(FAMILY_ENV) {
        let v = v.to_string_lossy();
        return v.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{FAMILY_ENV}: not a number: {v:?}"),
            )
        });
    }
    match std::fs::read_to_string(FAMILY_PARAM) {
        Ok(s) => s.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{FAMILY_PARAM}: not a number: {s:?}"),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(RVNET_AF_DEFAULT),
        Err(e) => Err(e),
    }
}

/// The index of the interface `name` in the calling thread's network namespace.
pub fn ifindex(name: &str) -> io::Result<i32> {
    let c = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        Err(io::Error::last_os_error())
    } else {
        i32::try_from(i).map_err(|_| io::Error::from_raw_os_error(libc::ERANGE))
    }
}

/// The name of the interface with index `ifindex`.
pub fn ifname(ifindex: i32) -> io::Result<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    let idx = u32::try_from(ifindex).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))?;
    // SAFETY: `buf` has the IF_NAMESIZE bytes if_indextoname writes at most.
    let p = unsafe { libc::if_indextoname(idx, buf.as_mut_ptr()) };
    if p.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success the buffer holds a NUL-terminated name.
    let s = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Ok(s.to_string_lossy().into_owned())
}

/// The message of errno `e`, without Rust's " (os error N)" suffix (as iproute2 prints it).
pub fn strerror(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            // SAFETY: strerror returns a valid NUL-terminated string for any value; we copy it
            // before any other call could overwrite it.
            let s = unsafe { std::ffi::CStr::from_ptr(libc::strerror(n)) };
            s.to_string_lossy().into_owned()
        }
        None => e.to_string(),
    }
}

/// Parses `A.B.C.D/LEN` (or a bare address, as /32), or `default` (0.0.0.0/0).
pub fn parse_prefix(s: &str) -> Option<(Ipv4Addr, u8)> {
    if s == "default" {
        return Some((Ipv4Addr::UNSPECIFIED, 0));
    }
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().ok().filter(|&l| l <= 32)?),
        None => (s, 32),
    };
    Some((a.parse().ok()?, len))
}

/// Parses `02:00:00:00:00:09`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in mac.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Formats a MAC address the way /proc and `ip` do.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The id of the parameter `name` (see [`PARAMS`]).
pub fn param_id(name: &str) -> Option<u32> {
    PARAMS.iter().find(|(n, _)| *n == name).map(|&(_, id)| id)
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// A `sockaddr_in` for `a` with `sin_family` = `family`.
pub fn sockaddr(family: i32, a: SocketAddrV4) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain data; all zeroes is a valid value.
    let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sa.sin_family = family as libc::sa_family_t;
    sa.sin_port = a.port().to_be();
    sa.sin_addr.s_addr = be32(*a.ip());
    sa
}

fn from_sockaddr(sa: &libc::sockaddr_in) -> SocketAddrV4 {
    SocketAddrV4::new(from_be32(sa.sin_addr.s_addr), u16::from_be(sa.sin_port))
}

const SIN_LEN: libc::socklen_t = size_of::<libc::sockaddr_in>() as libc::socklen_t;

/// An AF_RVNET socket, closed on drop.
#[derive(Debug)]
pub struct Socket {
    fd: OwnedFd,
    family: i32,
}

impl Socket {
    /// `socket(family(), ty | SOCK_CLOEXEC, proto)`.
    pub fn new(ty: i32, proto: i32) -> io::Result<Socket> {
        Socket::with_family(family()?, ty, proto)
    }

    /// `socket(family, ty | SOCK_CLOEXEC, proto)`, for any family number.
    pub fn with_family(family: i32, ty: i32, proto: i32) -> io::Result<Socket> {
        // SAFETY: plain system call.
        let fd = cvt(unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC, proto) })?;
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Socket { fd, family })
    }

    /// A UDP socket.
    pub fn dgram() -> io::Result<Socket> {
        Socket::new(libc::SOCK_DGRAM, 0)
    }

    /// A raw IPv4 socket for protocol `proto` (needs CAP_NET_RAW).
    pub fn raw(proto: i32) -> io::Result<Socket> {
        Socket::new(libc::SOCK_RAW, proto)
    }

    /// The family number the socket was made with.
    pub fn family(&self) -> i32 {
        self.family
    }

    /// A `sockaddr_in` of this socket's family.
    pub fn sockaddr(&self, a: SocketAddrV4) -> libc::sockaddr_in {
        sockaddr(self.family, a)
    }

    /// Binds to `a`.
    pub fn bind(&self, a: SocketAddrV4) -> io::Result<()> {
        self.bind_raw(&self.sockaddr(a), SIN_LEN)
    }

    /// Binds to `sa`, passing `len` as the address length (for testing bad lengths).
    pub fn bind_raw(&self, sa: &libc::sockaddr_in, len: libc::socklen_t) -> io::Result<()> {
        // SAFETY: `sa` is valid for SIN_LEN bytes, and the length passed is at most that.
        cvt(unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (sa as *const libc::sockaddr_in).cast(),
                len.min(SIN_LEN),
            )
        })
        .map(drop)
    }

    /// Connects to `a`.
    pub fn connect(&self, a: SocketAddrV4) -> io::Result<()> {
        let sa = self.sockaddr(a);
        // SAFETY: `sa` is a sockaddr_in of SIN_LEN bytes.
        cvt(unsafe {
            libc::connect(
                self.fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_in).cast(),
                SIN_LEN,
            )
        })
        .map(drop)
    }

    /// getsockname: the raw address and its length.
    pub fn local_sockaddr(&self) -> io::Result<(libc::sockaddr_in, libc::socklen_t)> {
        // SAFETY: all zeroes is a valid sockaddr_in.
        let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut len = SIN_LEN;
        // SAFETY: `sa` has `len` writable bytes.
        cvt(unsafe {
            libc::getsockname(
                self.fd.as_raw_fd(),
                (&mut sa as *mut libc::sockaddr_in).cast(),
                &mut len,
            )
        })?;
        Ok((sa, len))
    }

    /// The bound local address.
    pub fn local_addr(&self) -> io::Result<SocketAddrV4> {
        self.local_sockaddr().map(|(sa, _)| from_sockaddr(&sa))
    }

    /// send(2) on a connected socket (or to test one that is not).
    pub fn send(&self, buf: &[u8], flags: i32) -> io::Result<usize> {
        // SAFETY: `buf` is valid for its length.
        cvt_size(unsafe { libc::send(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), flags) })
    }

    /// sendto(2) `a`.
    pub fn send_to(&self, buf: &[u8], a: SocketAddrV4) -> io::Result<usize> {
        let sa = self.sockaddr(a);
        // SAFETY: `buf` is valid for its length, `sa` for SIN_LEN bytes.
        cvt_size(unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                0,
                (&sa as *const libc::sockaddr_in).cast(),
                SIN_LEN,
            )
        })
    }

    /// recv(2) with `flags`: the length the call returned (the real length with MSG_TRUNC).
    pub fn recv(&self, buf: &mut [u8], flags: i32) -> io::Result<usize> {
        // SAFETY: `buf` is writable for its length.
        cvt_size(unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                flags,
            )
        })
    }

    /// recvfrom(2) with `flags`: the length and the sender.
    pub fn recv_from_flags(&self, buf: &mut [u8], flags: i32) -> io::Result<(usize, SocketAddrV4)> {
        // SAFETY: all zeroes is a valid sockaddr_in.
        let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut len = SIN_LEN;
        // SAFETY: `buf` is writable for its length, `sa` for `len` bytes.
        let n = cvt_size(unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                flags,
                (&mut sa as *mut libc::sockaddr_in).cast(),
                &mut len,
            )
        })?;
        Ok((n, from_sockaddr(&sa)))
    }

    /// recvfrom(2): the length and the sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddrV4)> {
        self.recv_from_flags(buf, 0)
    }

    /// setsockopt(level, name, &v, sizeof v).
    pub fn set_opt<T: Copy>(&self, level: i32, name: i32, v: &T) -> io::Result<()> {
        // SAFETY: `v` is valid for size_of::<T>() bytes.
        cvt(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (v as *const T).cast(),
                size_of::<T>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// setsockopt(level, name, NULL, 0).
    pub fn set_opt_empty(&self, level: i32, name: i32) -> io::Result<()> {
        // SAFETY: no buffer is passed.
        cvt(unsafe { libc::setsockopt(self.fd.as_raw_fd(), level, name, std::ptr::null(), 0) })
            .map(drop)
    }

    /// getsockopt(level, name) with `v` as the value passed in; returns the value out.
    pub fn get_opt<T: Copy>(&self, level: i32, name: i32, v: T) -> io::Result<T> {
        let mut out = MaybeUninit::new(v);
        let mut len = size_of::<T>() as libc::socklen_t;
        // SAFETY: `out` is valid for size_of::<T>() bytes and initialized.
        cvt(unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                out.as_mut_ptr().cast(),
                &mut len,
            )
        })?;
        if len as usize != size_of::<T>() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "getsockopt({level}, {name}): {len} bytes, want {}",
                    size_of::<T>()
                ),
            ));
        }
        // SAFETY: initialized above, and the kernel wrote at most that many bytes; every type
        // used here is plain data, valid for any bytes.
        Ok(unsafe { out.assume_init() })
    }

    /// SO_RCVTIMEO (None: block forever).
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        let t = t.unwrap_or_default();
        let tv = libc::timeval {
            tv_sec: t.as_secs() as libc::time_t,
            tv_usec: t.subsec_micros() as libc::suseconds_t,
        };
        self.set_opt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)
    }

    /// SO_RCVBUF.
    pub fn set_rcvbuf(&self, bytes: i32) -> io::Result<()> {
        self.set_opt(libc::SOL_SOCKET, libc::SO_RCVBUF, &bytes)
    }

    /// RVNET_ATTACH.
    pub fn attach(&self, ifindex: i32) -> io::Result<()> {
        let r = IfReq { ifindex, flags: 0 };
        self.set_opt(SOL_RVNET, RVNET_ATTACH, &r)
    }

    /// RVNET_DETACH.
    pub fn detach(&self, ifindex: i32) -> io::Result<()> {
        let r = IfReq { ifindex, flags: 0 };
        self.set_opt(SOL_RVNET, RVNET_DETACH, &r)
    }

    fn addr_req(ifindex: i32, addr: Ipv4Addr, prefixlen: u8) -> AddrReq {
        AddrReq {
            ifindex,
            addr: be32(addr),
            prefixlen,
            pad: [0; 3],
        }
    }

    /// RVNET_ADDR_ADD.
    pub fn addr_add(&self, ifindex: i32, addr: Ipv4Addr, prefixlen: u8) -> io::Result<()> {
        let r = Socket::addr_req(ifindex, addr, prefixlen);
        self.set_opt(SOL_RVNET, RVNET_ADDR_ADD, &r)
    }

    /// RVNET_ADDR_DEL.
    pub fn addr_del(&self, ifindex: i32, addr: Ipv4Addr, prefixlen: u8) -> io::Result<()> {
        let r = Socket::addr_req(ifindex, addr, prefixlen);
        self.set_opt(SOL_RVNET, RVNET_ADDR_DEL, &r)
    }

    fn route_req(dst: Ipv4Addr, prefixlen: u8, gateway: Ipv4Addr, ifindex: i32) -> RouteReq {
        RouteReq {
            dst: be32(dst),
            prefixlen,
            pad: [0; 3],
            gateway: be32(gateway),
            ifindex,
        }
    }

    /// RVNET_ROUTE_ADD (`gateway` 0.0.0.0: connected; `ifindex` 0: found from the gateway).
    pub fn route_add(
        &self,
        dst: Ipv4Addr,
        prefixlen: u8,
        gateway: Ipv4Addr,
        ifindex: i32,
    ) -> io::Result<()> {
        let r = Socket::route_req(dst, prefixlen, gateway, ifindex);
        self.set_opt(SOL_RVNET, RVNET_ROUTE_ADD, &r)
    }

    /// RVNET_ROUTE_DEL.
    pub fn route_del(&self, dst: Ipv4Addr, prefixlen: u8) -> io::Result<()> {
        let r = Socket::route_req(dst, prefixlen, Ipv4Addr::UNSPECIFIED, 0);
        self.set_opt(SOL_RVNET, RVNET_ROUTE_DEL, &r)
    }

    /// RVNET_NEIGH_ADD: a static ARP entry on `ifindex` (0: the device of the route to
    /// `addr`).
    pub fn neigh_add(&self, addr: Ipv4Addr, lladdr: [u8; 6], ifindex: i32) -> io::Result<()> {
        let r = NeighReq {
            addr: be32(addr),
            ifindex,
            lladdr,
            flags: 0,
        };
        self.set_opt(SOL_RVNET, RVNET_NEIGH_ADD, &r)
    }

    /// RVNET_NEIGH_DEL: the entry on `ifindex`, or with 0 on every device.
    pub fn neigh_del(&self, addr: Ipv4Addr, ifindex: i32) -> io::Result<()> {
        let r = NeighReq {
            addr: be32(addr),
            ifindex,
            ..NeighReq::default()
        };
        self.set_opt(SOL_RVNET, RVNET_NEIGH_DEL, &r)
    }

    /// RVNET_NEIGH_FLUSH: drops every dynamic ARP entry.
    pub fn neigh_flush(&self) -> io::Result<()> {
        self.set_opt_empty(SOL_RVNET, RVNET_NEIGH_FLUSH)
    }

    /// RVNET_NEIGH_REVERSE: the address and device (ifindex) of the entry for `lladdr`.
    pub fn neigh_reverse(&self, lladdr: [u8; 6]) -> io::Result<(Ipv4Addr, i32)> {
        let r = NeighReq {
            lladdr,
            ..NeighReq::default()
        };
        let r = self.get_opt(SOL_RVNET, RVNET_NEIGH_REVERSE, r)?;
        Ok((from_be32(r.addr), r.ifindex))
    }

    fn prefix_req(prefix: Ipv4Addr, prefixlen: u8) -> PrefixReq {
        PrefixReq {
            prefix: be32(prefix),
            prefixlen,
            pad: [0; 3],
        }
    }

    /// RVNET_PROXY_ADD: answer ARP for the prefix.
    pub fn proxy_add(&self, prefix: Ipv4Addr, prefixlen: u8) -> io::Result<()> {
        let r = Socket::prefix_req(prefix, prefixlen);
        self.set_opt(SOL_RVNET, RVNET_PROXY_ADD, &r)
    }

    /// RVNET_PROXY_DEL.
    pub fn proxy_del(&self, prefix: Ipv4Addr, prefixlen: u8) -> io::Result<()> {
        let r = Socket::prefix_req(prefix, prefixlen);
        self.set_opt(SOL_RVNET, RVNET_PROXY_DEL, &r)
    }

    /// RVNET_SET.
    pub fn set_param(&self, param: u32, value: u64) -> io::Result<()> {
        let r = Param {
            param,
            pad: 0,
            value,
        };
        self.set_opt(SOL_RVNET, RVNET_SET, &r)
    }

    /// RVNET_GET.
    pub fn get_param(&self, param: u32) -> io::Result<u64> {
        let r = Param {
            param,
            pad: 0,
            value: 0,
        };
        Ok(self.get_opt(SOL_RVNET, RVNET_GET, r)?.value)
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of};

    #[test]
    fn layouts_match_the_c_header() {
        assert_eq!((size_of::<IfReq>(), align_of::<IfReq>()), (8, 4));
        assert_eq!(offset_of!(IfReq, flags), 4);
        assert_eq!((size_of::<AddrReq>(), align_of::<AddrReq>()), (12, 4));
        assert_eq!(offset_of!(AddrReq, addr), 4);
        assert_eq!(offset_of!(AddrReq, prefixlen), 8);
        assert_eq!(offset_of!(AddrReq, pad), 9);
        assert_eq!((size_of::<RouteReq>(), align_of::<RouteReq>()), (16, 4));
        assert_eq!(offset_of!(RouteReq, prefixlen), 4);
        assert_eq!(offset_of!(RouteReq, gateway), 8);
        assert_eq!(offset_of!(RouteReq, ifindex), 12);
        assert_eq!((size_of::<NeighReq>(), align_of::<NeighReq>()), (16, 4));
        assert_eq!(offset_of!(NeighReq, ifindex), 4);
        assert_eq!(offset_of!(NeighReq, lladdr), 8);
        assert_eq!(offset_of!(NeighReq, flags), 14);
        assert_eq!((size_of::<PrefixReq>(), align_of::<PrefixReq>()), (8, 4));
        assert_eq!(offset_of!(PrefixReq, prefixlen), 4);
        assert_eq!((size_of::<Param>(), align_of::<Param>()), (16, 8));
        assert_eq!(offset_of!(Param, pad), 4);
        assert_eq!(offset_of!(Param, value), 8);
    }

    #[test]
    fn be32_is_network_order_in_memory() {
        let v = be32(Ipv4Addr::new(198, 18, 0, 2));
        assert_eq!(v.to_ne_bytes(), [198, 18, 0, 2]);
        assert_eq!(from_be32(v), Ipv4Addr::new(198, 18, 0, 2));
        let sa = sockaddr(19, SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 5000));
        assert_eq!(sa.sin_family, 19);
        assert_eq!(sa.sin_port.to_ne_bytes(), [0x13, 0x88]);
        assert_eq!(from_sockaddr(&sa).to_string(), "10.0.0.1:5000");
    }

    #[test]
    fn parsers() {
        assert_eq!(
            parse_prefix("10.0.0.0/8"),
            Some((Ipv4Addr::new(10, 0, 0, 0), 8))
        );
        assert_eq!(
            parse_prefix("198.18.0.2"),
            Some((Ipv4Addr::new(198, 18, 0, 2), 32))
        );
        assert_eq!(parse_prefix("default"), Some((Ipv4Addr::UNSPECIFIED, 0)));
        assert_eq!(parse_prefix("10.0.0.0/33"), None);
        assert_eq!(parse_prefix("10.0.0/8"), None);
        assert_eq!(parse_mac("02:00:00:00:00:0A"), Some([2, 0, 0, 0, 0, 0x0a]));
        assert_eq!(parse_mac("02:00:00:00:00"), None);
        assert_eq!(parse_mac("02:00:00:00:00:00:01"), None);
        assert_eq!(parse_mac("02:00:00:00:00:100"), None);
        assert_eq!(
            format_mac(&[2, 0x11, 0x22, 0x33, 0x44, 0x55]),
            "02:11:22:33:44:55"
        );
        assert_eq!(param_id("arp_ageing_ms"), Some(RVNET_PARAM_ARP_AGEING_MS));
        assert_eq!(param_id("default_ttl"), Some(RVNET_PARAM_DEFAULT_TTL));
        assert_eq!(param_id("mtu"), None);
    }

    #[test]
    fn strerror_has_no_suffix() {
        assert_eq!(
            strerror(&io::Error::from_raw_os_error(libc::EPERM)),
            "Operation not permitted"
        );
    }
}
