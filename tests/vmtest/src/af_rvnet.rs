//! AF_RVNET in a real kernel: rvnet's own IPv4 stack on one end of an rvnic pair, checked
//! against Linux's stack on the other end (or against a second rvnet stack), through the
//! sockets, `rvnetctl` and /proc/net/rvnet.
//!
//! The usual lab: namespace "lx" holds rvn0 with Linux's 198.18.0.1/24; namespace "rv" holds
//! its peer rvn1, on which only rvnet has an address, 198.18.0.2/24. The router lab adds a
//! second rvnet port in rv, rvb0 with 198.19.0.1/24, joined to rvb1 in "lx2" (Linux's
//! 198.19.0.2/24); lx and lx2 route to each other through rvnet.

use crate::harness::{ensure, ensure_eq, read, TestResult};
use crate::tools::csum;
use crate::topo::{finish, in_netns, in_ns, listening, shell, spawn_in_ns, Namespaces};
use rvnet_uapi::nl::{NlError, Rvnet};
use rvnet_uapi::proc::{parse_arp, parse_dev, parse_route, parse_sockets, parse_stats, ArpRow};
use rvnet_uapi::{parse_mac, Socket, FAMILY_PARAM};
use std::fmt::Debug;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const LX: &str = "lx";
const RV: &str = "rv";
const LX_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const RV_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const LX2: &str = "lx2";
const RV_IP2: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
const LX2_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 2);

/// Namespaces joined by rvnic pairs; deleting the namespaces on drop deletes the ports.
struct Lab {
    _ns: Namespaces,
}

impl Lab {
    /// The namespaces `names`, with no link yet.
    fn new(names: &[&str]) -> Result<Lab, String> {
        Ok(Lab {
            _ns: Namespaces::new(names)?,
        })
    }

    /// An rvnic pair: port `a.1` in namespace `a.0`, `b.1` in `b.0`; both up, with carrier.
    fn link(&self, a: (&str, &str), b: (&str, &str)) -> TestResult {
        shell(&format!(
            "ip link add {} netns {} type rvnic peer name {} netns {}",
            a.1, a.0, b.1, b.0
        ))?;
        for (ns, dev) in [a, b] {
            in_ns(ns, &format!("ip link set {dev} up"))?;
        }
        wait_for(Duration::from_secs(5), || {
            Ok([a, b].iter().all(|(ns, dev)| {
                in_ns(ns, &format!("cat /sys/class/net/{dev}/carrier"))
                    .is_ok_and(|c| c.trim() == "1")
            }))
        })
        .and_then(|up| ensure(up, format!("no carrier on {} and {}", a.1, b.1)))
    }

    /// The usual lab: Linux's 198.18.0.1/24 on rvn0 in lx, rvnet's 198.18.0.2/24 on rvn1 in rv.
    fn standard() -> Result<Lab, String> {
        let lab = Lab::new(&[LX, RV])?;
        lab.link((LX, "rvn0"), (RV, "rvn1"))?;
        in_ns(LX, &format!("ip addr add {LX_IP}/24 dev rvn0"))?;
        rvnetctl(RV, &format!("addr add {RV_IP}/24 dev rvn1"))?;
        Ok(lab)
    }

    /// The router lab: the usual lab plus rvnet's second port rvb0 with 198.19.0.1/24 in rv,
    /// joined to rvb1 in lx2 (Linux's 198.19.0.2/24); lx and lx2 route to each other via
    /// rvnet. Forwarding is left as a new namespace has it (off).
    fn router() -> Result<Lab, String> {
        let lab = Lab::new(&[LX, RV, LX2])?;
        lab.link((LX, "rvn0"), (RV, "rvn1"))?;
        lab.link((RV, "rvb0"), (LX2, "rvb1"))?;
        in_ns(
            LX,
            &format!("ip addr add {LX_IP}/24 dev rvn0 && ip route add 198.19.0.0/24 via {RV_IP}"),
        )?;
        in_ns(
            LX2,
            &format!("ip addr add {LX2_IP}/24 dev rvb1 && ip route add 198.18.0.0/24 via {RV_IP2}"),
        )?;
        rvnetctl(RV, &format!("addr add {RV_IP}/24 dev rvn1"))?;
        rvnetctl(RV, &format!("addr add {RV_IP2}/24 dev rvb0"))?;
        Ok(lab)
    }
}

/// Polls `cond` every 100 ms until it holds (true) or `limit` passes (false).
fn wait_for(
    limit: Duration,
    mut cond: impl FnMut() -> Result<bool, String>,
) -> Result<bool, String> {
    let start = Instant::now();
    loop {
        if cond()? {
            return Ok(true);
        }
        if start.elapsed() > limit {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// Runs `rvnetctl ARGS` in `ns`.
fn rvnetctl(ns: &str, args: &str) -> Result<String, String> {
    in_ns(ns, &format!("rvnetctl {args}"))
}

/// Fails unless `rvnetctl ARGS` in `ns` fails with status 2 and `rvnetctl: WHAT: MESSAGE`.
fn rvnetctl_fails(ns: &str, args: &str, what: &str, message: &str) -> TestResult {
    match rvnetctl(ns, args) {
        Ok(out) => Err(format!("rvnetctl {args} succeeded: {out:?}")),
        Err(e) => ensure(
            e.contains("exit status: 2") && e.contains(&format!("rvnetctl: {what}: {message}")),
            format!("rvnetctl {args}: want exit 2 and \"{what}: {message}\", got: {e}"),
        ),
    }
}

/// The MAC address of `dev` in `ns`.
fn mac(ns: &str, dev: &str) -> Result<String, String> {
    Ok(in_ns(ns, &format!("cat /sys/class/net/{dev}/address"))?
        .trim()
        .to_string())
}

/// `/proc/net/rvnet/NAME` as `ns` sees it.
fn proc_file(ns: &str, name: &str) -> Result<String, String> {
    // Read from a thread in `ns` (no program started): /proc/thread-self/net is the calling
    // thread's namespace (/proc/net would be the process's).
    let path = format!("/proc/thread-self/net/rvnet/{name}");
    in_netns(ns, || {
        std::fs::read_to_string(&path).map_err(|e| format!("{path} in {ns}: {e}"))
    })
}

fn stat(ns: &str, name: &str) -> Result<u64, String> {
    let text = proc_file(ns, "stats")?;
    let stats = parse_stats(&text).map_err(|e| e.to_string())?;
    rvnet_uapi::proc::lookup(&stats, name)
        .ok_or_else(|| format!("no counter {name} in /proc/net/rvnet/stats of {ns}"))
}

/// A counter of a namespace, read at the start of a check.
struct Counter {
    ns: &'static str,
    name: &'static str,
    before: u64,
}

impl Counter {
    fn new(ns: &'static str, name: &'static str) -> Result<Counter, String> {
        Ok(Counter {
            ns,
            name,
            before: stat(ns, name)?,
        })
    }

    /// How much it grew since.
    fn delta(&self) -> Result<u64, String> {
        Ok(stat(self.ns, self.name)?.saturating_sub(self.before))
    }

    /// Fails unless it grew by at least `min`.
    fn ensure_grew(&self, min: u64) -> TestResult {
        let d = self.delta()?;
        ensure(
            d >= min,
            format!(
                "{} in {} grew by {d}, want at least {min}",
                self.name, self.ns
            ),
        )
    }
}

/// The ARP entry of `ns` for `ip`, if any.
fn arp_entry(ns: &str, ip: Ipv4Addr) -> Result<Option<ArpRow>, String> {
    let text = proc_file(ns, "arp")?;
    let rows = parse_arp(&text).map_err(|e| e.to_string())?;
    Ok(rows.into_iter().find(|r| r.ip == ip))
}

/// Fails with what was seen unless `r` is the error `want`.
fn ensure_errno<T: Debug>(r: io::Result<T>, want: i32, what: &str) -> TestResult {
    let want_e = io::Error::from_raw_os_error(want);
    match r {
        Ok(v) => Err(format!("{what}: succeeded ({v:?}), want {want_e}")),
        Err(e) if e.raw_os_error() == Some(want) => Ok(()),
        Err(e) => Err(format!("{what}: {e}, want {want_e}")),
    }
}

fn io_err(what: &str) -> impl Fn(io::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// An AF_RVNET UDP socket bound to 198.18.0.2:PORT (to be called in rv).
fn rv_bound(port: u16) -> Result<Socket, String> {
    let s = Socket::dgram().map_err(io_err("AF_RVNET socket"))?;
    s.bind(SocketAddrV4::new(RV_IP, port))
        .map_err(io_err(&format!("bind {RV_IP}:{port}")))?;
    Ok(s)
}

/// A Linux UDP socket on 198.18.0.1 in lx.
fn lx_udp() -> Result<UdpSocket, String> {
    linux_udp(LX, LX_IP)
}

/// A Linux UDP socket on `ip` (an ephemeral port) in `ns`.
fn linux_udp(ns: &str, ip: Ipv4Addr) -> Result<UdpSocket, String> {
    in_netns(ns, || {
        UdpSocket::bind((ip, 0)).map_err(io_err(&format!("Linux UDP socket on {ip} in {ns}")))
    })
}

/// Starts `server` in `server_ns`, runs `client` in `client_ns`, then waits for the server
/// (stopping it if the client failed, so that it does not wait for datagrams in vain).
fn serve_and_run(server_ns: &str, server: &str, client_ns: &str, client: &str) -> TestResult {
    let mut srv = spawn_in_ns(server_ns, &format!("exec {server}"))?;
    if let Err(e) = listening(&mut srv) {
        let _ = srv.kill();
        return Err(format!(
            "{server} (in {server_ns}): {e}: {:?}",
            finish(srv, server)
        ));
    }
    let r = in_ns(client_ns, client);
    if r.is_err() {
        let _ = srv.kill();
    }
    let s = finish(srv, server);
    let out = r.map_err(|e| format!("{client} (in {client_ns}): {e}"))?;
    s.map_err(|e| format!("{e} (in {server_ns})"))?;
    ensure(out.starts_with("ok"), format!("{client}: {out}"))
}

/// UDP both ways between rvnet and Linux, every datagram's content checked: Linux's client
/// against an AF_RVNET echo server, then an AF_RVNET client against Linux's echo server.
fn udp_with_linux(sizes: &[usize], port: u16) -> TestResult {
    let list: Vec<String> = sizes.iter().map(|s| s.to_string()).collect();
    serve_and_run(
        RV,
        &format!("rvnet-vmtest rvnet-udp-echo {port} {}", sizes.len()),
        LX,
        &format!("rvnet-vmtest udp-client {RV_IP}:{port} {}", list.join(" ")),
    )
    .map_err(|e| format!("Linux client -> rvnet server: {e}"))?;
    serve_and_run(
        LX,
        &format!("rvnet-vmtest udp-echo {LX_IP}:{port} {}", sizes.len()),
        RV,
        &format!(
            "rvnet-vmtest rvnet-udp-client {LX_IP} {port} {} 1",
            list.join(",")
        ),
    )
    .map_err(|e| format!("rvnet client -> Linux server: {e}"))
}

pub fn family_param_visible() -> TestResult {
    ensure_eq(read(FAMILY_PARAM)?.as_str(), "19", FAMILY_PARAM)?;
    ensure_eq(
        rvnet_uapi::family().map_err(|e| e.to_string())?,
        19,
        "rvnet_uapi::family()",
    )?;
    for proto in [0, libc::IPPROTO_UDP] {
        let what = format!("socket(19, SOCK_DGRAM, {proto})");
        let s = Socket::with_family(19, libc::SOCK_DGRAM, proto).map_err(io_err(&what))?;
        let domain: i32 = s
            .get_opt(libc::SOL_SOCKET, libc::SO_DOMAIN, 0)
            .map_err(io_err("SO_DOMAIN"))?;
        ensure_eq(domain, 19, &format!("SO_DOMAIN of {what}"))?;
        let ty: i32 = s
            .get_opt(libc::SOL_SOCKET, libc::SO_TYPE, 0)
            .map_err(io_err("SO_TYPE"))?;
        ensure_eq(ty, libc::SOCK_DGRAM, &format!("SO_TYPE of {what}"))?;
    }
    ensure(
        Socket::with_family(19, libc::SOCK_STREAM, 0).is_err(),
        "socket(19, SOCK_STREAM, 0) succeeded: AF_RVNET has no stream sockets",
    )
}

pub fn linux_pings_rvnet() -> TestResult {
    let _lab = Lab::standard()?;
    let replies = Counter::new(RV, "icmp_tx_echo_replies")?;
    let requests = Counter::new(RV, "arp_rx_requests")?;
    in_ns(LX, &format!("ping -c 3 -W 2 {RV_IP}"))
        .map_err(|e| format!("Linux cannot ping rvnet: {e}"))?;
    replies.ensure_grew(3)?;
    requests.ensure_grew(1)?;
    // Linux learnt rvnet's MAC from its ARP reply.
    let rv_mac = mac(RV, "rvn1")?;
    let neigh = in_ns(LX, &format!("ip neigh show {RV_IP} dev rvn0"))?;
    ensure(
        neigh.contains(&format!("lladdr {rv_mac}")),
        format!("Linux's neighbour entry for {RV_IP}: {neigh:?}, want lladdr {rv_mac}"),
    )?;
    // rvnet learnt Linux's from the request.
    let lx_mac = mac(LX, "rvn0")?;
    let e = arp_entry(RV, LX_IP)?.ok_or(format!(
        "no entry for {LX_IP} in rv's /proc/net/rvnet/arp after Linux's ARP request"
    ))?;
    ensure_eq(e.hw.as_str(), lx_mac.as_str(), "hw address of the entry")?;
    ensure_eq(e.dev.as_str(), "rvn1", "device of the entry")?;
    ensure_eq(e.flags, 0x2, "flags of the entry (complete)")?;
    ensure(
        e.state == "reachable" || e.state == "stale",
        format!("state of the entry: {}", e.state),
    )
}

pub fn raw_socket_pings_linux() -> TestResult {
    let _lab = Lab::standard()?;
    let tx = Counter::new(RV, "raw_tx")?;
    let rx = Counter::new(RV, "raw_rx")?;
    let out = in_ns(RV, &format!("rvnet-vmtest rvnet-ping {LX_IP} 3"))?;
    ensure(out.contains("ok 3"), format!("rvnet-ping: {out}"))?;
    tx.ensure_grew(3)?;
    rx.ensure_grew(3)
}

pub fn udp_with_linux_both_ways() -> TestResult {
    let _lab = Lab::standard()?;
    let rx = Counter::new(RV, "udp_rx")?;
    let tx = Counter::new(RV, "udp_tx")?;
    udp_with_linux(&[1, 1000, 1472], 7000)?;
    // Three received by the echo server plus three echoes back to the client, each way.
    rx.ensure_grew(6)?;
    tx.ensure_grew(6)
}

pub fn udp_fragments_interoperate() -> TestResult {
    let _lab = Lab::standard()?;
    let frag = Counter::new(RV, "ip_tx_fragments")?;
    let rx_frag = Counter::new(RV, "ip_rx_fragments")?;
    let reasm = Counter::new(RV, "ip_reasm_ok")?;
    udp_with_linux(&[1473, 4000, 30000], 7001)?;
    // rvnet sent six fragmented datagrams (three echoes, three requests) and reassembled six.
    frag.ensure_grew(6)?;
    rx_frag.ensure_grew(6)?;
    reasm.ensure_grew(6)
}

pub fn socket_errnos_match_inet() -> TestResult {
    let _lab = Lab::standard()?;
    let lx = lx_udp()?;
    let lx_addr = match lx.local_addr().map_err(|e| e.to_string())? {
        std::net::SocketAddr::V4(a) => a,
        a => return Err(format!("Linux socket on {a}")),
    };
    in_netns(RV, || {
        let mut buf = [0u8; 256];
        let s = Socket::dgram().map_err(io_err("socket"))?;
        let good = s.sockaddr(SocketAddrV4::new(RV_IP, 7100));
        ensure_errno(
            s.bind_raw(&good, 8),
            libc::EINVAL,
            "bind with an 8-byte address",
        )?;
        let mut inet = good;
        inet.sin_family = libc::AF_INET as libc::sa_family_t;
        ensure_errno(
            s.bind_raw(&inet, std::mem::size_of::<libc::sockaddr_in>() as u32),
            libc::EAFNOSUPPORT,
            "bind with sin_family AF_INET",
        )?;
        ensure_errno(
            s.bind(SocketAddrV4::new(Ipv4Addr::new(10, 9, 9, 9), 7100)),
            libc::EADDRNOTAVAIL,
            "bind to 10.9.9.9, an address rvnet does not have",
        )?;
        s.bind(SocketAddrV4::new(RV_IP, 7100))
            .map_err(io_err("bind 198.18.0.2:7100"))?;
        let t = Socket::dgram().map_err(io_err("socket"))?;
        ensure_errno(
            t.bind(SocketAddrV4::new(RV_IP, 7100)),
            libc::EADDRINUSE,
            "second bind to 198.18.0.2:7100",
        )?;
        // Port 0: an ephemeral port, shown by getsockname.
        let e = Socket::dgram().map_err(io_err("socket"))?;
        e.bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
            .map_err(io_err("bind 0.0.0.0:0"))?;
        let (sa, len) = e.local_sockaddr().map_err(io_err("getsockname"))?;
        ensure_eq(i32::from(sa.sin_family), 19, "getsockname sin_family")?;
        ensure_eq(len, 16, "getsockname length")?;
        ensure(sa.sin_port != 0, "bind to port 0 left the socket on port 0")?;
        ensure_errno(
            e.send(b"x", 0),
            libc::EDESTADDRREQ,
            "send without an address on an unconnected socket",
        )?;
        ensure_errno(
            s.recv(&mut buf, libc::MSG_DONTWAIT),
            libc::EAGAIN,
            "recv MSG_DONTWAIT with nothing queued",
        )?;
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .map_err(io_err("SO_RCVTIMEO"))?;
        let t0 = Instant::now();
        ensure_errno(s.recv(&mut buf, 0), libc::EAGAIN, "recv past SO_RCVTIMEO")?;
        let waited = t0.elapsed();
        ensure(
            waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
            format!("recv with a 300 ms SO_RCVTIMEO returned after {waited:?}"),
        )?;
        s.set_read_timeout(Some(Duration::from_secs(3)))
            .map_err(io_err("SO_RCVTIMEO"))?;
        // MSG_PEEK, then the same datagram by a normal read, and only once.
        let msg = b"peek at me";
        lx.send_to(msg, (RV_IP, 7100))
            .map_err(io_err("Linux sendto"))?;
        let (n, from) = s
            .recv_from_flags(&mut buf, libc::MSG_PEEK)
            .map_err(io_err("recvfrom MSG_PEEK"))?;
        ensure_eq(&buf[..n], &msg[..], "MSG_PEEK data")?;
        ensure_eq(from, lx_addr, "MSG_PEEK source address")?;
        let mut again = [0u8; 256];
        let (n2, from2) = s.recv_from(&mut again).map_err(io_err("recvfrom"))?;
        ensure_eq(&again[..n2], &msg[..], "data read after MSG_PEEK")?;
        ensure_eq(from2, lx_addr, "recvfrom source address")?;
        ensure_errno(
            s.recv(&mut buf, libc::MSG_DONTWAIT),
            libc::EAGAIN,
            "a third read of the one peeked datagram",
        )?;
        // MSG_TRUNC: the real length, the start of the data.
        lx.send_to(&[0xab; 100], (RV_IP, 7100))
            .map_err(io_err("Linux sendto"))?;
        let n = s
            .recv(&mut buf[..10], libc::MSG_TRUNC)
            .map_err(io_err("recv MSG_TRUNC"))?;
        ensure_eq(
            n,
            100,
            "recv MSG_TRUNC into 10 bytes of a 100-byte datagram",
        )?;
        ensure_eq(&buf[..10], &[0xab; 10][..], "data of the truncated read")
    })
}

/// Waits in poll(2) for POLLIN on `fd`.
fn poll_in(fd: i32) -> Result<(), String> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, 10_000) };
    ensure(
        n == 1 && p.revents & libc::POLLIN != 0,
        format!("poll returned {n}, revents {:#x}", p.revents),
    )
}

/// A new epoll instance.
fn epoll_new() -> Result<OwnedFd, String> {
    // SAFETY: plain system call; the descriptor is owned below.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    ensure(
        ep >= 0,
        format!("epoll_create1: {}", io::Error::last_os_error()),
    )?;
    // SAFETY: `ep` is a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ep) })
}

/// Adds `fd` to the epoll instance `ep` for `events`, reported with `data`.
fn epoll_add(ep: &OwnedFd, fd: i32, events: u32, data: u64) -> TestResult {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: valid descriptors and event.
    let r = unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
    ensure(r == 0, format!("epoll_ctl: {}", io::Error::last_os_error()))
}

/// Waits in epoll_wait(2) for EPOLLIN on `fd`.
fn epoll_in(fd: i32) -> Result<(), String> {
    let ep = epoll_new()?;
    epoll_add(&ep, fd, libc::EPOLLIN as u32, 7)?;
    let mut out = [libc::epoll_event { events: 0, u64: 0 }];
    // SAFETY: room for one event.
    let n = unsafe { libc::epoll_wait(ep.as_raw_fd(), out.as_mut_ptr(), 1, 10_000) };
    let (events, data) = (out[0].events, out[0].u64);
    ensure(
        n == 1 && events & libc::EPOLLIN as u32 != 0 && data == 7,
        format!("epoll_wait returned {n}, events {events:#x}"),
    )
}

pub fn blocked_readers_woken() -> TestResult {
    let _lab = Lab::standard()?;
    let lx = lx_udp()?;
    let socks = in_netns(RV, || {
        (7200..7203).map(rv_bound).collect::<Result<Vec<_>, _>>()
    })?;
    socks[0]
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(io_err("SO_RCVTIMEO"))?;
    let start = Instant::now();
    let woken: Vec<(&str, Result<Duration, String>)> = std::thread::scope(|sc| {
        let waiters = [
            (
                "recvfrom",
                sc.spawn(|| {
                    let mut buf = [0u8; 64];
                    let (n, _) = socks[0].recv_from(&mut buf).map_err(io_err("recvfrom"))?;
                    ensure_eq(&buf[..n], &b"wake up"[..], "data")?;
                    Ok(start.elapsed())
                }),
            ),
            (
                "poll",
                sc.spawn(|| poll_in(socks[1].as_raw_fd()).map(|_| start.elapsed())),
            ),
            (
                "epoll_wait",
                sc.spawn(|| epoll_in(socks[2].as_raw_fd()).map(|_| start.elapsed())),
            ),
        ];
        // Let all three block first.
        sleep_ms(500);
        for port in 7200..7203 {
            let _ = lx.send_to(b"wake up", (RV_IP, port));
        }
        waiters
            .into_iter()
            .map(|(name, h)| {
                (
                    name,
                    h.join()
                        .unwrap_or_else(|_| Err("the waiter panicked".into())),
                )
            })
            .collect()
    });
    for (name, r) in woken {
        let at = r.map_err(|e| format!("reader blocked in {name}: {e}"))?;
        ensure(
            at >= Duration::from_millis(450),
            format!("{name} returned after {at:?}, before anything was sent"),
        )?;
        ensure(
            at < Duration::from_secs(5),
            format!("{name} woken only after {at:?}"),
        )?;
    }
    Ok(())
}

pub fn full_receive_queue_counted() -> TestResult {
    let _lab = Lab::standard()?;
    let full = Counter::new(RV, "udp_rx_queue_full")?;
    let s = in_netns(RV, || {
        let s = rv_bound(7300)?;
        s.set_rcvbuf(4096).map_err(io_err("SO_RCVBUF"))?;
        Ok(s)
    })?;
    // Linux resolves rvnet's address first, so that none of the burst waits on ARP.
    in_ns(LX, &format!("ping -c 1 -W 2 {RV_IP}"))?;
    let lx = lx_udp()?;
    let sent = 300;
    for i in 0..sent {
        lx.send_to(&[i as u8; 1000], (RV_IP, 7300))
            .map_err(io_err("Linux sendto"))?;
    }
    sleep_ms(500);
    let dropped = full.delta()?;
    ensure(
        dropped > 0,
        format!("{sent} datagrams of 1000 bytes into a 4 KB receive buffer, udp_rx_queue_full did not grow"),
    )?;
    let text = proc_file(RV, "sockets")?;
    let rows = parse_sockets(&text).map_err(|e| e.to_string())?;
    let row = rows
        .iter()
        .find(|r| r.local == SocketAddrV4::new(RV_IP, 7300))
        .ok_or(format!(
            "no 198.18.0.2:7300 in /proc/net/rvnet/sockets:\n{text}"
        ))?;
    ensure(
        row.drops > 0 && row.rx_queue > 0,
        format!("socket row after the overflow: {row:?}, want Drops and RxQueue above 0"),
    )?;
    // Drain what was queued, then the socket still receives.
    let mut buf = [0u8; 2048];
    let mut queued = 0;
    loop {
        match s.recv(&mut buf, libc::MSG_DONTWAIT) {
            Ok(n) => {
                ensure_eq(n, 1000, "length of a queued datagram")?;
                queued += 1;
            }
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => break,
            Err(e) => return Err(format!("draining: {e}")),
        }
    }
    ensure(
        queued > 0 && queued < sent,
        format!("{queued} of {sent} datagrams were queued"),
    )?;
    lx.send_to(b"after the storm", (RV_IP, 7300))
        .map_err(io_err("Linux sendto"))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(io_err("SO_RCVTIMEO"))?;
    let n = s
        .recv(&mut buf, 0)
        .map_err(io_err("receive after draining"))?;
    ensure_eq(
        &buf[..n],
        &b"after the storm"[..],
        "datagram after draining",
    )
}

pub fn port_unreachable_to_linux() -> TestResult {
    let _lab = Lab::standard()?;
    let unreach = Counter::new(RV, "icmp_tx_unreachable")?;
    let no_port = Counter::new(RV, "udp_rx_no_port")?;
    let err = in_netns(LX, || {
        let u = UdpSocket::bind((LX_IP, 0)).map_err(io_err("bind"))?;
        u.connect((RV_IP, 7999)).map_err(io_err("connect"))?;
        u.set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(io_err("timeout"))?;
        u.send(b"anyone there?").map_err(io_err("send"))?;
        let mut buf = [0u8; 64];
        match u.recv(&mut buf) {
            Ok(n) => Err(format!("got {n} bytes back from an unbound port")),
            Err(e) => Ok(e),
        }
    })?;
    ensure(
        err.raw_os_error() == Some(libc::ECONNREFUSED),
        format!(
            "Linux's connected UDP socket after sending to unbound {RV_IP}:7999: {err}, want {}",
            io::Error::from_raw_os_error(libc::ECONNREFUSED)
        ),
    )?;
    unreach.ensure_grew(1)?;
    no_port.ensure_grew(1)
}

pub fn unprivileged_user_refused() -> TestResult {
    let _lab = Lab::standard()?;
    let as_nobody = "rvnet-vmtest as-user 65534";
    match in_ns(
        RV,
        &format!("{as_nobody} rvnetctl addr add 198.18.0.3/24 dev rvn1"),
    ) {
        Ok(out) => return Err(format!("uid 65534 added an address: {out:?}")),
        Err(e) => ensure(
            e.contains("exit status: 2")
                && e.contains("rvnetctl: addr add: Operation not permitted"),
            format!("rvnetctl addr add as uid 65534: want exit 2 and EPERM, got: {e}"),
        )?,
    }
    let dev = proc_file(RV, "dev")?;
    ensure(
        !dev.contains("198.18.0.3"),
        format!("198.18.0.3 appeared despite the refusal:\n{dev}"),
    )?;
    let socket = |who: &str, args: &str| -> Result<String, String> {
        Ok(
            in_ns(RV, &format!("{who} rvnet-vmtest rvnet-socket {args}"))?
                .trim()
                .to_string(),
        )
    };
    ensure_eq(
        socket(as_nobody, &format!("raw {}", libc::IPPROTO_ICMP))?,
        format!("errno {}", libc::EPERM),
        "socket(19, SOCK_RAW, IPPROTO_ICMP) as uid 65534",
    )?;
    ensure_eq(
        socket(as_nobody, "dgram 0")?,
        "ok".to_string(),
        "socket(19, SOCK_DGRAM, 0) as uid 65534",
    )?;
    ensure_eq(
        socket("", &format!("raw {}", libc::IPPROTO_ICMP))?,
        "ok".to_string(),
        "socket(19, SOCK_RAW, IPPROTO_ICMP) as root",
    )
}

pub fn arp_ageing_static_and_reverse() -> TestResult {
    let _lab = Lab::standard()?;
    let old = rvnetctl(RV, "get arp_ageing_ms")?.trim().to_string();
    let r = arp_checks();
    // The parameter may be global: put it back whatever happened.
    let _ = rvnetctl(RV, &format!("set arp_ageing_ms {old}"));
    r
}

fn arp_checks() -> TestResult {
    let static_ip = Ipv4Addr::new(198, 18, 0, 9);
    let static_mac = "02:00:00:00:00:09";
    rvnetctl(
        RV,
        &format!("arp add {static_ip} lladdr {static_mac} dev rvn1"),
    )?;
    rvnetctl_fails(
        RV,
        &format!("arp add {static_ip} lladdr {static_mac} dev rvn1"),
        "arp add",
        "File exists",
    )?;
    let e = arp_entry(RV, static_ip)?.ok_or("no static entry after arp add")?;
    ensure(
        e.state == "static" && e.flags == 0x6 && e.hw == static_mac && e.dev == "rvn1",
        format!("static entry: {e:?}"),
    )?;
    let rev = rvnetctl(RV, &format!("arp reverse {static_mac}"))?;
    ensure(
        rev.contains(&static_ip.to_string()) && rev.contains("rvn1"),
        format!("arp reverse {static_mac}: {rev:?}"),
    )?;
    // An entry rvnet resolved itself, by pinging Linux.
    in_ns(RV, &format!("rvnet-vmtest rvnet-ping {LX_IP} 1"))?;
    let lx_mac = mac(LX, "rvn0")?;
    let e = arp_entry(RV, LX_IP)?.ok_or(format!("no entry for {LX_IP} after a ping"))?;
    ensure(
        e.state == "reachable" && e.hw == lx_mac,
        format!("entry just resolved: {e:?}, want reachable with {lx_mac}"),
    )?;
    let rev = rvnetctl(RV, &format!("arp reverse {lx_mac}"))?;
    ensure(
        rev.contains(&LX_IP.to_string()),
        format!("arp reverse {lx_mac}: {rev:?}"),
    )?;
    // With a 1 s lifetime it goes stale or away within a few seconds. (Set only now: under
    // TCG a ping and a read of /proc can take longer than that.)
    rvnetctl(RV, "set arp_ageing_ms 1000")?;
    ensure_eq(
        rvnetctl(RV, "get arp_ageing_ms")?.trim(),
        "1000",
        "arp_ageing_ms after set",
    )?;
    let aged = wait_for(Duration::from_secs(8), || {
        Ok(arp_entry(RV, LX_IP)?.is_none_or(|e| e.state != "reachable"))
    })?;
    ensure(
        aged,
        format!("{LX_IP} still reachable 8 s after arp_ageing_ms 1000"),
    )?;
    let e = arp_entry(RV, static_ip)?.ok_or("the static entry aged out")?;
    ensure_eq(
        e.state.as_str(),
        "static",
        "state of the static entry after ageing",
    )?;
    // Flush drops the dynamic entries only.
    rvnetctl(RV, "set arp_ageing_ms 60000")?;
    in_ns(RV, &format!("rvnet-vmtest rvnet-ping {LX_IP} 1"))?;
    ensure(
        arp_entry(RV, LX_IP)?.is_some(),
        "no entry after a second ping",
    )?;
    rvnetctl(RV, "arp flush")?;
    ensure(
        arp_entry(RV, LX_IP)?.is_none(),
        "dynamic entry survived arp flush",
    )?;
    ensure(arp_entry(RV, static_ip)?.is_some(), "static entry flushed")?;
    rvnetctl(RV, &format!("arp del {static_ip}"))?;
    ensure(
        arp_entry(RV, static_ip)?.is_none(),
        "static entry survived arp del",
    )?;
    rvnetctl_fails(
        RV,
        &format!("arp reverse {static_mac}"),
        "arp reverse",
        "No such file or directory",
    )
}

pub fn routing_via_linux_gateway() -> TestResult {
    let far = Ipv4Addr::new(198, 19, 0, 2);
    let lab = Lab::new(&[LX, RV, "lx2"])?;
    lab.link((LX, "rvn0"), (RV, "rvn1"))?;
    lab.link((LX, "rvg0"), ("lx2", "rvg1"))?;
    in_ns(
        LX,
        &format!(
            "ip addr add {LX_IP}/24 dev rvn0 && ip addr add 198.19.0.1/24 dev rvg0 && \
             sysctl -qw net.ipv4.ip_forward=1"
        ),
    )?;
    in_ns(
        "lx2",
        &format!("ip addr add {far}/24 dev rvg1 && ip route add default via 198.19.0.1"),
    )?;
    rvnetctl(RV, &format!("addr add {RV_IP}/24 dev rvn1"))?;
    let client =
        |count: usize| format!("rvnet-vmtest rvnet-udp-client {far} 7400 100,1000 {count}");
    // No route yet.
    let no_route = Counter::new(RV, "ip_tx_no_route")?;
    ensure(
        in_ns(RV, &client(1)).is_err(),
        format!("sent to {far} without a route"),
    )?;
    no_route.ensure_grew(1)?;
    rvnetctl(RV, &format!("route add default via {LX_IP}"))?;
    let text = rvnetctl(RV, "route show")?;
    let routes = parse_route(&text).map_err(|e| e.to_string())?;
    ensure(
        routes.iter().any(|r| {
            r.prefixlen == 0 && r.gateway == LX_IP && r.dev == "rvn1" && r.kind == "gateway"
        }),
        format!("no default route via {LX_IP} on rvn1 of kind gateway in:\n{text}"),
    )?;
    ensure(
        routes.iter().any(|r| {
            r.dst == Ipv4Addr::new(198, 18, 0, 0) && r.prefixlen == 24 && r.kind == "connected"
        }),
        format!("no connected route 198.18.0.0/24 in:\n{text}"),
    )?;
    let hits = Counter::new(RV, "route_cache_hits")?;
    serve_and_run(
        "lx2",
        &format!("rvnet-vmtest udp-echo {far}:7400 20"),
        RV,
        &client(10),
    )?;
    hits.ensure_grew(10)?;
    rvnetctl(RV, "route del default")?;
    let text = rvnetctl(RV, "route show")?;
    let routes = parse_route(&text).map_err(|e| e.to_string())?;
    ensure(
        routes.iter().all(|r| r.prefixlen != 0),
        format!("default route left after route del:\n{text}"),
    )?;
    rvnetctl_fails(
        RV,
        "route del default",
        "route del",
        "No such file or directory",
    )
}

/// An Ethernet frame from Linux's rvn0 to rvnet's rvn1: IPv4 198.18.0.1 -> 198.18.0.2, UDP to
/// the unbound port 9 with 32 bytes of data; `breakage` edits the IP header, whose checksum
/// is computed after it (`ip_rx_bad_csum` breaks it afterwards).
fn frame(dst: [u8; 6], src: [u8; 6], breakage: &str) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&60u16.to_be_bytes());
    ip[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&LX_IP.octets());
    ip[16..20].copy_from_slice(&RV_IP.octets());
    match breakage {
        "ip_rx_bad_version" => ip[0] = 0x65,
        "ip_rx_bad_header_len" => ip[0] = 0x44,
        "ip_rx_bad_total_len" => ip[2..4].copy_from_slice(&16u16.to_be_bytes()),
        "ip_rx_truncated" => ip[2..4].copy_from_slice(&1000u16.to_be_bytes()),
        // A multicast source: martian, never a single host.
        "ip_rx_bad_src" => ip[12..16].copy_from_slice(&[224, 0, 0, 5]),
        // MF with offset 0: the first fragment of a datagram whose rest never comes.
        "first_fragment" => ip[6] = 0x20,
        _ => {}
    }
    let c = csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    if breakage == "ip_rx_bad_csum" {
        ip[10] ^= 0x5a;
    }
    let mut udp = Vec::new();
    udp.extend_from_slice(&40000u16.to_be_bytes());
    udp.extend_from_slice(&9u16.to_be_bytes());
    udp.extend_from_slice(&40u16.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&[0x5a; 32]);
    // With a UDP checksum (else 0: none): right ("udp_csum_ok") or wrong ("udp_rx_bad_csum").
    if breakage == "udp_csum_ok" || breakage == "udp_rx_bad_csum" {
        let mut pseudo = ip[12..20].to_vec();
        pseudo.extend_from_slice(&[0, 17]);
        pseudo.extend_from_slice(&40u16.to_be_bytes());
        pseudo.extend_from_slice(&udp);
        let mut c = csum(&pseudo);
        if c == 0 {
            c = 0xffff;
        }
        if breakage == "udp_rx_bad_csum" {
            c = if c == 0x5a5a { 0x1111 } else { c ^ 0x5a5a };
        }
        udp[6..8].copy_from_slice(&c.to_be_bytes());
    }
    f.extend_from_slice(&ip);
    f.extend_from_slice(&udp);
    f
}

/// Sends raw Ethernet frames out of `dev` in `ns` through an AF_PACKET socket.
fn inject(ns: &str, dev: &str, frames: &[Vec<u8>]) -> TestResult {
    in_netns(ns, || {
        let ifindex = rvnet_uapi::ifindex(dev).map_err(io_err(dev))?;
        // SAFETY: plain system call; the descriptor is owned below.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        ensure(
            fd >= 0,
            format!("AF_PACKET socket: {}", io::Error::last_os_error()),
        )?;
        // SAFETY: a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: all zeroes is a valid sockaddr_ll.
        let mut ll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        ll.sll_family = libc::AF_PACKET as u16;
        ll.sll_protocol = (libc::ETH_P_IP as u16).to_be();
        ll.sll_ifindex = ifindex;
        ll.sll_halen = 6;
        for f in frames {
            ll.sll_addr[..6].copy_from_slice(&f[..6]);
            // SAFETY: `f` and `ll` are valid for the lengths passed.
            let n = unsafe {
                libc::sendto(
                    fd.as_raw_fd(),
                    f.as_ptr().cast(),
                    f.len(),
                    0,
                    (&ll as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                )
            };
            ensure(
                n == f.len() as isize,
                format!("AF_PACKET sendto: {n}: {}", io::Error::last_os_error()),
            )?;
        }
        Ok(())
    })
}

pub fn malformed_frames_dropped_and_counted() -> TestResult {
    let _lab = Lab::standard()?;
    let dst = parse_mac(&mac(RV, "rvn1")?).ok_or("bad MAC of rvn1")?;
    let src = parse_mac(&mac(LX, "rvn0")?).ok_or("bad MAC of rvn0")?;
    // Linux learns rvnet's address first, so that nothing but our frames arrive below.
    in_ns(LX, &format!("ping -c 1 -W 2 {RV_IP}"))?;
    // The intact frame reaches UDP (port 9 is unbound): each broken one differs from it in
    // the one field its counter is about, and must not reach UDP.
    let no_port = Counter::new(RV, "udp_rx_no_port")?;
    inject(LX, "rvn0", &vec![frame(dst, src, "intact"); 3])?;
    sleep_ms(300);
    ensure_eq(
        no_port.delta()?,
        3,
        "udp_rx_no_port after 3 intact frames to port 9",
    )?;
    for name in [
        "ip_rx_bad_csum",
        "ip_rx_bad_version",
        "ip_rx_bad_header_len",
        "ip_rx_bad_total_len",
        "ip_rx_truncated",
    ] {
        let c = Counter::new(RV, name)?;
        let no_port = Counter::new(RV, "udp_rx_no_port")?;
        inject(LX, "rvn0", &vec![frame(dst, src, name); 3])?;
        sleep_ms(300);
        c.ensure_grew(3)
            .map_err(|e| format!("3 frames broken for {name}: {e}"))?;
        ensure_eq(
            no_port.delta()?,
            0,
            &format!("udp_rx_no_port after frames broken for {name}"),
        )?;
    }
    in_ns(LX, &format!("ping -c 2 -W 2 {RV_IP}"))
        .map(|_| ())
        .map_err(|e| format!("no answer to ping after the malformed frames: {e}"))
}

pub fn two_rvnet_stacks_talk() -> TestResult {
    let lab = Lab::new(&["rva", "rvb"])?;
    lab.link(("rva", "rvn0"), ("rvb", "rvn1"))?;
    rvnetctl("rva", &format!("addr add {LX_IP}/24 dev rvn0"))?;
    rvnetctl("rvb", &format!("addr add {RV_IP}/24 dev rvn1"))?;
    serve_and_run(
        "rva",
        "rvnet-vmtest rvnet-udp-echo 7500 6",
        "rvb",
        &format!("rvnet-vmtest rvnet-udp-client {LX_IP} 7500 1,1472,4000 2"),
    )?;
    for (ns, peer, peer_ns, peer_dev) in
        [("rvb", LX_IP, "rva", "rvn0"), ("rva", RV_IP, "rvb", "rvn1")]
    {
        let want = mac(peer_ns, peer_dev)?;
        let e = arp_entry(ns, peer)?.ok_or(format!("{ns} has no ARP entry for {peer}"))?;
        ensure_eq(e.hw, want, &format!("{ns}'s ARP entry for {peer}"))?;
    }
    Ok(())
}

pub fn proc_lists_sockets_and_tables() -> TestResult {
    let _lab = Lab::standard()?;
    let (udp, raw) = in_netns(RV, || {
        let raw = Socket::raw(libc::IPPROTO_ICMP).map_err(io_err("raw socket"))?;
        Ok((rv_bound(7600)?, raw))
    })?;
    let sockets = || -> Result<(String, Vec<rvnet_uapi::proc::SocketRow>), String> {
        let text = proc_file(RV, "sockets")?;
        let rows = parse_sockets(&text).map_err(|e| e.to_string())?;
        Ok((text, rows))
    };
    let local = SocketAddrV4::new(RV_IP, 7600);
    let (text, rows) = sockets()?;
    ensure(
        rows.iter().any(|r| {
            r.ty == "dgram"
                && r.proto == 17
                && r.local == local
                && r.remote == SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)
                && r.rx_queue == 0
        }),
        format!("no idle dgram socket on {local} in /proc/net/rvnet/sockets:\n{text}"),
    )?;
    ensure(
        rows.iter().any(|r| r.ty == "raw" && r.proto == 1),
        format!("no raw ICMP socket in /proc/net/rvnet/sockets:\n{text}"),
    )?;
    // A queued datagram shows in RxQueue.
    lx_udp()?
        .send_to(&[1; 100], (RV_IP, 7600))
        .map_err(io_err("Linux sendto"))?;
    let queued = wait_for(Duration::from_secs(3), || {
        Ok(sockets()?
            .1
            .iter()
            .any(|r| r.local == local && r.rx_queue > 0))
    })?;
    ensure(queued, "RxQueue stayed 0 with a datagram queued")?;
    drop(udp);
    drop(raw);
    let (text, rows) = sockets()?;
    ensure(
        rows.iter().all(|r| r.local != local),
        format!("closed socket still listed:\n{text}"),
    )?;
    // The device table and the connected route.
    let text = rvnetctl(RV, "addr show")?;
    let devs = parse_dev(&text).map_err(|e| e.to_string())?;
    let want_mac = mac(RV, "rvn1")?;
    ensure(
        devs.iter()
            .any(|d| d.dev == "rvn1" && d.addr == "198.18.0.2/24" && d.mac == want_mac),
        format!("no rvn1 198.18.0.2/24 {want_mac} in /proc/net/rvnet/dev:\n{text}"),
    )?;
    let text = rvnetctl(RV, "route show")?;
    let routes = parse_route(&text).map_err(|e| e.to_string())?;
    ensure(
        routes.iter().any(|r| {
            r.dst == Ipv4Addr::new(198, 18, 0, 0)
                && r.prefixlen == 24
                && r.gateway == Ipv4Addr::UNSPECIFIED
                && r.dev == "rvn1"
                && r.kind == "connected"
        }),
        format!("no connected route for 198.18.0.0/24 in /proc/net/rvnet/route:\n{text}"),
    )
}

pub fn control_requests_checked() -> TestResult {
    let _lab = Lab::standard()?;
    rvnetctl_fails(
        RV,
        &format!("addr add {RV_IP}/24 dev rvn1"),
        "addr add",
        "File exists",
    )?;
    rvnetctl_fails(
        RV,
        "route del 10.0.0.0/8",
        "route del",
        "No such file or directory",
    )?;
    rvnetctl_fails(RV, "set forwarding 2", "set", "Invalid argument")?;
    in_netns(RV, || {
        let ifindex = rvnet_uapi::ifindex("rvn1").map_err(io_err("rvn1"))?;
        let mut nl = Rvnet::open().map_err(|e| format!("netlink family rvnet: {e}"))?;
        let nl_errno = |r: Result<(), NlError>, want: i32, what: &str| {
            ensure_errno(r.map_err(io::Error::from), want, what)
        };
        nl_errno(nl.attach(999_999), libc::ENODEV, "attach ifindex 999999")?;
        // The policy's range: ERANGE, as genetlink says of any integer out of range.
        for len in [0, 33] {
            nl_errno(
                nl.addr_add(ifindex, Ipv4Addr::new(198, 18, 5, 1), len),
                libc::ERANGE,
                &format!("addr add with prefixlen {len}"),
            )?;
        }
        nl_errno(
            nl.route_add(Ipv4Addr::new(10, 0, 0, 1), 8, LX_IP, 0),
            libc::EINVAL,
            "route add 10.0.0.1/8 (host bits set)",
        )?;
        nl_errno(
            nl.addr_add(ifindex, Ipv4Addr::new(224, 0, 0, 1), 24),
            libc::EINVAL,
            "addr add of a multicast address",
        )?;
        // Configuration is the netlink family's: the old SOL_RVNET options are gone.
        let s = Socket::dgram().map_err(io_err("socket"))?;
        ensure_errno(
            s.set_opt(400, 3, &[0u8; 12]),
            libc::ENOPROTOOPT,
            "setsockopt(SOL_RVNET, 3)",
        )
    })?;
    // Detach gives the device back: the address and its route go, Linux gets no answer;
    // adding the address again attaches again.
    rvnetctl(RV, "link detach dev rvn1")?;
    let dev = proc_file(RV, "dev")?;
    ensure(
        !dev.contains("198.18.0.2"),
        format!("address left after detach:\n{dev}"),
    )?;
    let route = proc_file(RV, "route")?;
    ensure(
        !route.contains("rvn1"),
        format!("routes left on rvn1 after detach:\n{route}"),
    )?;
    in_ns(LX, "ip neigh flush dev rvn0 || true")?;
    ensure(
        in_ns(LX, &format!("ping -c 1 -W 1 {RV_IP}")).is_err(),
        "ping answered after detach",
    )?;
    rvnetctl(RV, &format!("addr add {RV_IP}/24 dev rvn1"))?;
    in_ns(LX, &format!("ping -c 1 -W 2 {RV_IP}"))
        .map(|_| ())
        .map_err(|e| format!("no answer after attaching again: {e}"))
}

pub fn proxy_arp_answers() -> TestResult {
    let _lab = Lab::standard()?;
    let proxied = "10.9.0.5";
    in_ns(LX, "ip route add 10.9.0.0/16 dev rvn0")?;
    let rv_mac = mac(RV, "rvn1")?;
    let neigh = || -> Result<String, String> {
        // Linux's ping sends the ARP request; nobody answers the echo itself.
        let _ = in_ns(LX, &format!("ping -c 1 -W 1 {proxied}"));
        in_ns(LX, &format!("ip neigh show {proxied} dev rvn0"))
    };
    let before = neigh()?;
    ensure(
        !before.contains(&rv_mac),
        format!("{proxied} resolved before proxy add: {before}"),
    )?;
    rvnetctl(RV, "proxy add 10.9.0.0/16")?;
    in_ns(LX, "ip neigh flush dev rvn0 || true")?;
    let after = neigh()?;
    ensure(
        after.contains(&format!("lladdr {rv_mac}")),
        format!("Linux's entry for {proxied} with proxy ARP on: {after:?}, want lladdr {rv_mac}"),
    )?;
    rvnetctl(RV, "proxy del 10.9.0.0/16")?;
    rvnetctl_fails(
        RV,
        "proxy del 10.9.0.0/16",
        "proxy del",
        "No such file or directory",
    )
}

/// Runs `cmd` in `ns` and returns everything it printed, stdout and stderr, whether it
/// succeeded or not (for commands such as ping that report what we check and then fail).
fn output_of(ns: &str, cmd: &str) -> Result<String, String> {
    in_ns(ns, &format!("{cmd} 2>&1; true"))
}

/// Fails unless `ping OPTS ADDR` from `ns` gets every echo answered.
fn ping_ok(ns: &str, opts: &str, to: Ipv4Addr) -> TestResult {
    in_ns(ns, &format!("ping {opts} {to}"))
        .map(|_| ())
        .map_err(|e| format!("ping {opts} {to} from {ns}: {e}"))
}

/// Fails if `ping OPTS ADDR` from `ns` gets any answer.
fn ping_fails(ns: &str, opts: &str, to: Ipv4Addr, why: &str) -> TestResult {
    match in_ns(ns, &format!("ping {opts} {to}")) {
        Ok(out) => Err(format!(
            "ping {opts} {to} from {ns} was answered {why}:\n{out}"
        )),
        Err(_) => Ok(()),
    }
}

/// Sets rvnet's forwarding in rv and checks that it took.
fn set_forwarding(on: bool) -> TestResult {
    let v = if on { "1" } else { "0" };
    rvnetctl(RV, &format!("set forwarding {v}"))?;
    ensure_eq(
        rvnetctl(RV, "get forwarding")?.trim(),
        v,
        "forwarding after set",
    )
}

pub fn router_forwards_between_linux_hosts() -> TestResult {
    let _lab = Lab::router()?;
    // A new namespace does not forward: rvnet answers for its own addresses only.
    ensure_eq(
        rvnetctl(RV, "get forwarding")?.trim(),
        "0",
        "forwarding in a new namespace",
    )?;
    let fwd = Counter::new(RV, "ip_forwarded")?;
    let not_ours = Counter::new(RV, "ip_rx_not_ours")?;
    ping_fails(
        LX,
        "-c 2 -i 0.3 -W 1",
        LX2_IP,
        "through rvnet with forwarding 0",
    )?;
    not_ours.ensure_grew(2)?;
    ensure_eq(fwd.delta()?, 0, "ip_forwarded with forwarding 0")?;

    set_forwarding(true)?;
    let fwd = Counter::new(RV, "ip_forwarded")?;
    ping_ok(LX, "-c 3 -i 0.3 -W 2", LX2_IP)?;
    // Three requests one way, three replies the other.
    fwd.ensure_grew(6)?;
    ping_ok(LX2, "-c 2 -i 0.3 -W 2", LX_IP)?;

    // UDP with every byte checked; 4000 bytes cross as Linux's fragments, forwarded each.
    let fwd = Counter::new(RV, "ip_forwarded")?;
    serve_and_run(
        LX2,
        &format!("rvnet-vmtest udp-echo {LX2_IP}:7900 4"),
        LX,
        &format!("rvnet-vmtest udp-client {LX2_IP}:7900 1 1000 1472 4000"),
    )
    .map_err(|e| format!("UDP lx -> lx2 through rvnet: {e}"))?;
    // 1 + 1 + 1 + 3 packets each way.
    fwd.ensure_grew(12)?;

    // TTL 1: rvnet may not forward it, and says so from its address on lx's side.
    let ttl = Counter::new(RV, "ip_rx_ttl_exceeded")?;
    let sent = Counter::new(RV, "icmp_tx_time_exceeded")?;
    let fwd = Counter::new(RV, "ip_forwarded")?;
    let out = output_of(LX, &format!("ping -c 1 -t 1 -W 2 {LX2_IP}"))?;
    ensure(
        out.contains(&format!("From {RV_IP} ")) && out.contains("Time to live exceeded"),
        format!(
            "ping -t 1 {LX2_IP} from lx: want \"From {RV_IP} ... Time to live exceeded\", got:\n{out}"
        ),
    )?;
    ttl.ensure_grew(1)?;
    sent.ensure_grew(1)?;
    ensure_eq(fwd.delta()?, 0, "ip_forwarded by the TTL 1 echo")?;

    // Off again: nothing passes, neither ping nor UDP.
    set_forwarding(false)?;
    let fwd = Counter::new(RV, "ip_forwarded")?;
    ping_fails(LX, "-c 2 -i 0.3 -W 1", LX2_IP, "after forwarding 0")?;
    let far = linux_udp(LX2, LX2_IP)?;
    let far_addr = far.local_addr().map_err(io_err("getsockname"))?;
    far.set_read_timeout(Some(Duration::from_secs(1)))
        .map_err(io_err("SO_RCVTIMEO"))?;
    lx_udp()?
        .send_to(b"let me through", far_addr)
        .map_err(io_err("Linux sendto"))?;
    let mut buf = [0u8; 64];
    if let Ok((n, from)) = far.recv_from(&mut buf) {
        return Err(format!(
            "lx2 received {n} bytes from {from} through rvnet with forwarding 0"
        ));
    }
    ensure_eq(fwd.delta()?, 0, "ip_forwarded after forwarding 0")
}

pub fn router_mtu_fragments_and_frag_needed() -> TestResult {
    let _lab = Lab::router()?;
    set_forwarding(true)?;
    // The lx2 side is a 1000-byte link: both of its ends say so (an rvnic port drops what
    // is larger than its peer's MTU).
    in_ns(RV, "ip link set rvb0 mtu 1000")?;
    in_ns(LX2, "ip link set rvb1 mtu 1000")?;
    ping_ok(LX, "-c 1 -W 2", LX2_IP)?;

    // Without DF, rvnet cuts what does not fit. First, before Linux in lx can have learnt
    // the path MTU: it sends 1500-byte fragments of these, which rvnet cuts again.
    let frags = Counter::new(RV, "ip_tx_fragments")?;
    serve_and_run(
        LX2,
        &format!("rvnet-vmtest udp-echo {LX2_IP}:7901 2"),
        LX,
        &format!("rvnet-vmtest udp-client {LX2_IP}:7901 3000 5000"),
    )
    .map_err(|e| format!("UDP lx -> lx2 across the 1000-byte link: {e}"))?;
    // Two and three full-size fragments from lx, two pieces each.
    frags.ensure_grew(10)?;
    let frags = Counter::new(RV, "ip_tx_fragments")?;
    ping_ok(LX, "-c 2 -i 0.3 -W 2 -M dont -s 1200", LX2_IP)?;
    // 1228-byte requests without DF: two pieces each.
    frags.ensure_grew(4)?;

    // With DF: refused with ICMP fragmentation needed, MTU 1000, from rvnet's lx-side
    // address; Linux then knows the path MTU (or, if the error came first, says so).
    let unreach = Counter::new(RV, "icmp_tx_unreachable")?;
    let fwd = Counter::new(RV, "ip_forwarded")?;
    let out = output_of(LX, &format!("ping -c 1 -W 2 -M do -s 1200 {LX2_IP}"))?;
    let icmp_seen = out.contains(&format!("From {RV_IP} "))
        && out.contains("Frag needed")
        && out.contains("mtu = 1000");
    ensure(
        icmp_seen || out.contains("mtu=1000"),
        format!(
            "ping -M do -s 1200 {LX2_IP} from lx: want \"From {RV_IP} ... Frag needed and DF \
             set (mtu = 1000)\" (or a local \"message too long, mtu=1000\"), got:\n{out}"
        ),
    )?;
    unreach.ensure_grew(1)?;
    ensure_eq(
        fwd.delta()?,
        0,
        "ip_forwarded by the DF echo too big for the link",
    )?;
    let route = in_ns(LX, &format!("ip route get {LX2_IP}"))?;
    ensure(
        route.contains("mtu 1000"),
        format!("lx's route to {LX2_IP} after the ICMP error: {route:?}, want mtu 1000"),
    )?;
    // What fits still passes with DF.
    ping_ok(LX, "-c 1 -W 2 -M do -s 900", LX2_IP)
}

/// A datagram of the wakeup tests: `D`, socket, burst, sequence number; or `S`, socket: the
/// reader that gets it stops.
fn tagged(sock: usize, burst: usize, seq: usize) -> [u8; 6] {
    let (b, q) = ((burst as u16).to_be_bytes(), (seq as u16).to_be_bytes());
    [b'D', sock as u8, b[0], b[1], q[0], q[1]]
}

const STOP: u8 = b'S';

/// The (burst, seq) pairs read from one socket.
type Reads = Vec<(u16, u16)>;

/// What a wakeup test's reader got: its socket's index and the datagram's (burst, seq), or
/// None for a stop.
fn untag(d: &[u8]) -> Result<(usize, Option<(u16, u16)>), String> {
    match d {
        [b'D', s, b0, b1, q0, q1] => Ok((
            usize::from(*s),
            Some((
                u16::from_be_bytes([*b0, *b1]),
                u16::from_be_bytes([*q0, *q1]),
            )),
        )),
        [STOP, s] => Ok((usize::from(*s), None)),
        _ => Err(format!("unexpected datagram {d:?}")),
    }
}

/// Burst sizes (datagrams to each socket): single datagrams, where one lost wakeup leaves
/// a reader asleep on queued data, between bigger bursts that keep readers racing.
const BURSTS: &[usize] = &[
    1, 2, 1, 4, 1, 8, 1, 16, 3, 32, 1, 5, 1, 1, 2, 1, 4, 1, 8, 1, 16, 3, 32, 1,
];

/// A burst must be read within this; a reader woken only by its timeout takes far longer.
const BURST_LIMIT: Duration = Duration::from_secs(3);

/// Sends the bursts from `lx` to rvnet's ports `base..base+socks`, each burst only once the
/// one before was read in full (`received` counts what the readers took).
fn send_bursts(lx: &UdpSocket, socks: usize, base: u16, received: &AtomicUsize) -> TestResult {
    let mut sent = 0;
    for (b, &n) in BURSTS.iter().enumerate() {
        for seq in 0..n {
            for i in 0..socks {
                lx.send_to(&tagged(i, b, seq), (RV_IP, base + i as u16))
                    .map_err(io_err("Linux sendto"))?;
            }
        }
        sent += n * socks;
        let start = Instant::now();
        while received.load(Ordering::SeqCst) < sent {
            if start.elapsed() > BURST_LIMIT {
                return Err(format!(
                    "burst {b} ({n} to each of {socks} sockets): {} of the {sent} datagrams \
                     sent so far were read {BURST_LIMIT:?} after it was sent: readers left \
                     asleep with datagrams queued",
                    received.load(Ordering::SeqCst)
                ));
            }
            sleep_ms(1);
        }
    }
    Ok(())
}

/// Fails unless `got` (one socket's (burst, seq) pairs) holds every datagram of BURSTS
/// exactly once.
fn exactly_once(sock: usize, mut got: Reads) -> TestResult {
    got.sort_unstable();
    let want: Reads = BURSTS
        .iter()
        .enumerate()
        .flat_map(|(b, &n)| (0..n).map(move |q| (b as u16, q as u16)))
        .collect();
    if got == want {
        return Ok(());
    }
    let dup = got.windows(2).find(|w| w[0] == w[1]).map(|w| w[0]);
    let missing = want.iter().find(|w| got.binary_search(w).is_err());
    Err(format!(
        "socket {sock}: {} datagrams read, {} sent; first duplicate (burst, seq): {dup:?}, \
         first missing: {missing:?}",
        got.len(),
        want.len()
    ))
}

/// Pings rvnet from Linux so that no datagram of a burst waits for ARP.
fn resolve_from_linux() -> TestResult {
    ping_ok(LX, "-c 1 -W 2", RV_IP)
}

/// `n` AF_RVNET UDP sockets on 198.18.0.2:base, base+1, ...
fn rv_sockets(n: usize, base: u16) -> Result<Vec<Socket>, String> {
    in_netns(RV, || (0..n).map(|i| rv_bound(base + i as u16)).collect())
}

pub fn many_readers_no_lost_wakeup() -> TestResult {
    const SOCKS: usize = 8;
    const READERS: usize = 4;
    const BASE: u16 = 7800;
    // A reader blocked this long with a datagram queued for it was never woken.
    const STUCK: Duration = Duration::from_secs(10);
    let _lab = Lab::standard()?;
    resolve_from_linux()?;
    let full = Counter::new(RV, "udp_rx_queue_full")?;
    let lx = lx_udp()?;
    let socks = rv_sockets(SOCKS, BASE)?;
    for s in &socks {
        s.set_read_timeout(Some(STUCK))
            .map_err(io_err("SO_RCVTIMEO"))?;
    }
    let received = AtomicUsize::new(0);
    // Each reader blocks in recvfrom until its stop: what it read, and when it returned.
    let reader = |i: usize| -> Result<(Reads, Instant), String> {
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = socks[i].recv(&mut buf, 0).map_err(|e| {
                if e.raw_os_error() == Some(libc::EAGAIN) {
                    format!(
                        "blocked in recvfrom for {STUCK:?} (SO_RCVTIMEO) after {} datagrams",
                        got.len()
                    )
                } else {
                    format!("recvfrom: {e}")
                }
            })?;
            let (sock, tag) = untag(&buf[..n])?;
            ensure(sock == i, format!("read a datagram for socket {sock}"))?;
            match tag {
                Some(t) => {
                    got.push(t);
                    received.fetch_add(1, Ordering::SeqCst);
                }
                None => return Ok((got, Instant::now())),
            }
        }
    };
    let (sending, last_send, results) = std::thread::scope(|sc| {
        let readers: Vec<_> = (0..SOCKS)
            .flat_map(|i| (0..READERS).map(move |r| (i, r)))
            .map(|(i, r)| ((i, r), sc.spawn(move || reader(i))))
            .collect();
        // Let them all block first.
        sleep_ms(500);
        let sending = send_bursts(&lx, SOCKS, BASE, &received);
        // One stop per reader, whatever happened.
        let last_send = Instant::now();
        for i in 0..SOCKS {
            for _ in 0..READERS {
                let _ = lx.send_to(&[STOP, i as u8], (RV_IP, BASE + i as u16));
            }
        }
        let results: Vec<_> = readers
            .into_iter()
            .map(|(id, h)| {
                let r = h
                    .join()
                    .unwrap_or_else(|_| Err("the reader panicked".into()));
                (id, r)
            })
            .collect();
        (sending, last_send, results)
    });
    ensure_eq(
        full.delta()?,
        0,
        "udp_rx_queue_full (datagrams dropped, so the counts below cannot match)",
    )?;
    sending?;
    let mut per_sock: Vec<Reads> = vec![Vec::new(); SOCKS];
    for ((i, r), res) in results {
        let (got, at) = res.map_err(|e| format!("reader {r} of socket {i}: {e}"))?;
        let after = at.saturating_duration_since(last_send);
        ensure(
            after < Duration::from_secs(3),
            format!("reader {r} of socket {i} returned {after:?} after the last send"),
        )?;
        per_sock[i].extend(got);
    }
    for (i, got) in per_sock.into_iter().enumerate() {
        exactly_once(i, got)?;
    }
    Ok(())
}

pub fn epoll_many_sockets() -> TestResult {
    const SOCKS: usize = 16;
    const WAITERS: usize = 4;
    const BASE: u16 = 7850;
    let _lab = Lab::standard()?;
    resolve_from_linux()?;
    let full = Counter::new(RV, "udp_rx_queue_full")?;
    let lx = lx_udp()?;
    let socks = rv_sockets(SOCKS, BASE)?;
    // One epoll instance for every socket, edge-triggered: a readiness change that does not
    // reach it is never reported again.
    let ep = epoll_new()?;
    for (i, s) in socks.iter().enumerate() {
        epoll_add(
            &ep,
            s.as_raw_fd(),
            (libc::EPOLLIN | libc::EPOLLET) as u32,
            i as u64,
        )?;
    }
    let received = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    // Each waiter drains every socket epoll reports until told to stop.
    let waiter = || -> Result<(Vec<Reads>, Instant), String> {
        let mut got = vec![Vec::new(); SOCKS];
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; SOCKS];
        let mut buf = [0u8; 64];
        while !done.load(Ordering::SeqCst) {
            // SAFETY: room for SOCKS events.
            let n =
                unsafe { libc::epoll_wait(ep.as_raw_fd(), events.as_mut_ptr(), SOCKS as i32, 200) };
            if n < 0 {
                return Err(format!("epoll_wait: {}", io::Error::last_os_error()));
            }
            for ev in &events[..n as usize] {
                let i = ev.u64 as usize;
                let s = socks.get(i).ok_or(format!("epoll reported data {i}"))?;
                loop {
                    let n = match s.recv(&mut buf, libc::MSG_DONTWAIT) {
                        Ok(n) => n,
                        Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => break,
                        Err(e) => return Err(format!("recv on socket {i}: {e}")),
                    };
                    match untag(&buf[..n])? {
                        (sock, Some(t)) if sock == i => got[i].push(t),
                        (sock, _) => {
                            return Err(format!("socket {i} read {:?} of socket {sock}", &buf[..n]))
                        }
                    }
                    received.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        Ok((got, Instant::now()))
    };
    let (sending, stopped, results) = std::thread::scope(|sc| {
        let waiters: Vec<_> = (0..WAITERS).map(|_| sc.spawn(waiter)).collect();
        sleep_ms(500);
        let sending = send_bursts(&lx, SOCKS, BASE, &received);
        let stopped = Instant::now();
        done.store(true, Ordering::SeqCst);
        let results: Vec<_> = waiters
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("the waiter panicked".into()))
            })
            .collect();
        (sending, stopped, results)
    });
    ensure_eq(
        full.delta()?,
        0,
        "udp_rx_queue_full (datagrams dropped, so the counts below cannot match)",
    )?;
    sending?;
    let mut per_sock: Vec<Reads> = vec![Vec::new(); SOCKS];
    for (w, res) in results.into_iter().enumerate() {
        let (got, at) = res.map_err(|e| format!("epoll waiter {w}: {e}"))?;
        let after = at.saturating_duration_since(stopped);
        ensure(
            after < Duration::from_secs(3),
            format!("epoll waiter {w} returned {after:?} after it was told to stop"),
        )?;
        for (i, g) in got.into_iter().enumerate() {
            per_sock[i].extend(g);
        }
    }
    for (i, got) in per_sock.into_iter().enumerate() {
        exactly_once(i, got)?;
    }
    Ok(())
}

/// SO_BINDTODEVICE `dev`.
fn bind_to_device(s: &Socket, dev: &str) -> TestResult {
    let mut name = [0u8; libc::IFNAMSIZ];
    name.get_mut(..dev.len())
        .ok_or(format!("interface name {dev:?} too long"))?
        .copy_from_slice(dev.as_bytes());
    s.set_opt(libc::SOL_SOCKET, libc::SO_BINDTODEVICE, &name)
        .map_err(io_err(&format!("SO_BINDTODEVICE {dev}")))
}

/// Reads one datagram from `s` and fails unless it is `want` from `from`.
fn expect_datagram(s: &Socket, want: &[u8], from: SocketAddrV4, what: &str) -> TestResult {
    let mut buf = [0u8; 256];
    let (n, src) = s.recv_from(&mut buf).map_err(io_err(&format!(
        "{what}: waiting for {:?}",
        String::from_utf8_lossy(want)
    )))?;
    ensure(
        &buf[..n] == want && src == from,
        format!(
            "{what}: got {:?} from {src}, want {:?} from {from}",
            String::from_utf8_lossy(&buf[..n]),
            String::from_utf8_lossy(want)
        ),
    )
}

/// Fails if `s` has a datagram queued (after letting stragglers arrive).
fn expect_nothing_more(s: &Socket, what: &str) -> TestResult {
    sleep_ms(300);
    let mut buf = [0u8; 256];
    match s.recv_from_flags(&mut buf, libc::MSG_DONTWAIT) {
        Ok((n, src)) => Err(format!(
            "{what}: also got {:?} from {src}",
            String::from_utf8_lossy(&buf[..n])
        )),
        Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => Ok(()),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

fn v4(a: std::net::SocketAddr) -> Result<SocketAddrV4, String> {
    match a {
        std::net::SocketAddr::V4(a) => Ok(a),
        a => Err(format!("not IPv4: {a}")),
    }
}

pub fn bindtodevice_filters_by_interface() -> TestResult {
    // Forwarding off: 198.18.0.2 and 198.19.0.1 are both rvnet's own, reachable from lx and
    // lx2 alike; only the interface a datagram comes in on differs.
    let _lab = Lab::router()?;
    let port = 7700;
    let (on_lx, on_lx2) = in_netns(RV, || {
        let bound = |dev: &str| -> Result<Socket, String> {
            let s = Socket::dgram().map_err(io_err("socket"))?;
            bind_to_device(&s, dev)?;
            // The same port twice: the devices differ, so the bindings do not collide.
            s.bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
                .map_err(io_err(&format!("bind 0.0.0.0:{port} on {dev}")))?;
            s.set_read_timeout(Some(Duration::from_secs(3)))
                .map_err(io_err("SO_RCVTIMEO"))?;
            Ok(s)
        };
        Ok((bound("rvn1")?, bound("rvb0")?))
    })?;
    let lx = lx_udp()?;
    let lx2 = linux_udp(LX2, LX2_IP)?;
    let lx_addr = v4(lx.local_addr().map_err(io_err("getsockname"))?)?;
    let lx2_addr = v4(lx2.local_addr().map_err(io_err("getsockname"))?)?;
    // Both to the address of the lx2 side: lx's still comes in on rvn1.
    lx.send_to(b"from lx", (RV_IP2, port))
        .map_err(io_err("sendto from lx"))?;
    lx2.send_to(b"from lx2", (RV_IP2, port))
        .map_err(io_err("sendto from lx2"))?;
    expect_datagram(&on_lx, b"from lx", lx_addr, "socket bound to rvn1")?;
    expect_datagram(&on_lx2, b"from lx2", lx2_addr, "socket bound to rvb0")?;
    expect_nothing_more(&on_lx, "socket bound to rvn1")?;
    expect_nothing_more(&on_lx2, "socket bound to rvb0")?;
    // With the rvn1 socket gone, what comes in on rvn1 finds no socket at all.
    drop(on_lx);
    let no_port = Counter::new(RV, "udp_rx_no_port")?;
    lx.send_to(b"from lx again", (RV_IP, port))
        .map_err(io_err("sendto from lx"))?;
    lx2.send_to(b"from lx2 again", (RV_IP, port))
        .map_err(io_err("sendto from lx2"))?;
    expect_datagram(&on_lx2, b"from lx2 again", lx2_addr, "socket bound to rvb0")?;
    expect_nothing_more(&on_lx2, "socket bound to rvb0")?;
    no_port.ensure_grew(1)
}

/// An AF_PACKET socket that sees the frames of one ethertype on one device, both ways.
struct Capture(OwnedFd);

impl Capture {
    fn open(ns: &str, dev: &str, ethertype: u16) -> Result<Capture, String> {
        in_netns(ns, || {
            let ifindex = rvnet_uapi::ifindex(dev).map_err(io_err(dev))?;
            let proto = ethertype.to_be();
            // SAFETY: plain system call; the descriptor is owned below.
            let fd = unsafe {
                libc::socket(
                    libc::AF_PACKET,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                    i32::from(proto),
                )
            };
            ensure(
                fd >= 0,
                format!("AF_PACKET socket: {}", io::Error::last_os_error()),
            )?;
            // SAFETY: a new descriptor nothing else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            // SAFETY: all zeroes is a valid sockaddr_ll.
            let mut ll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            ll.sll_family = libc::AF_PACKET as u16;
            ll.sll_protocol = proto;
            ll.sll_ifindex = ifindex;
            // SAFETY: `ll` is a valid sockaddr_ll of the length passed.
            let r = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&ll as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                )
            };
            ensure(
                r == 0,
                format!("AF_PACKET bind to {dev}: {}", io::Error::last_os_error()),
            )?;
            Ok(Capture(fd))
        })
    }

    /// The first frame seen (Ethernet header included) within `limit` for which `want`
    /// holds; None if none came.
    fn find(
        &self,
        limit: Duration,
        mut want: impl FnMut(&[u8]) -> bool,
    ) -> Result<Option<Vec<u8>>, String> {
        let deadline = Instant::now() + limit;
        let mut buf = vec![0u8; 65536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let mut p = libc::pollfd {
                fd: self.0.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut p, 1, left.as_millis() as i32 + 1) };
            ensure(n >= 0, format!("poll: {}", io::Error::last_os_error()))?;
            if n == 0 {
                continue;
            }
            // SAFETY: `buf` is writable for its length.
            let got = unsafe {
                libc::recv(
                    self.0.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if got < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EAGAIN) {
                    continue;
                }
                return Err(format!("AF_PACKET recv: {e}"));
            }
            let f = &buf[..got as usize];
            if want(f) {
                return Ok(Some(f.to_vec()));
            }
        }
    }
}

const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;

/// The IPv4 packet in an Ethernet frame, if it carries one with a whole header.
fn ipv4_of(f: &[u8]) -> Option<&[u8]> {
    (f.len() >= 34 && f[12..14] == ETH_P_IP.to_be_bytes()).then(|| &f[14..])
}

/// DF, MF and the fragment offset (in bytes) of an IPv4 header.
fn frag_fields(ip: &[u8]) -> (bool, bool, usize) {
    let v = u16::from_be_bytes([ip[6], ip[7]]);
    (
        v & 0x4000 != 0,
        v & 0x2000 != 0,
        usize::from(v & 0x1fff) * 8,
    )
}

/// `n` bytes of the tools' pattern.
fn pattern_bytes(n: usize) -> Vec<u8> {
    (0..n as u64).map(crate::tools::pattern).collect()
}

pub fn dont_fragment_on_send() -> TestResult {
    let _lab = Lab::standard()?;
    let lx = lx_udp()?;
    lx.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(io_err("SO_RCVTIMEO"))?;
    let to = v4(lx.local_addr().map_err(io_err("getsockname"))?)?;
    let cap = Capture::open(LX, "rvn0", ETH_P_IP)?;
    let frags = Counter::new(RV, "ip_tx_fragments")?;
    let (small, big) = (pattern_bytes(1472), pattern_bytes(2000));
    in_netns(RV, || {
        let s = Socket::dgram().map_err(io_err("socket"))?;
        s.set_opt(
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            &libc::IP_PMTUDISC_DO,
        )
        .map_err(io_err("IP_MTU_DISCOVER IP_PMTUDISC_DO"))?;
        ensure_eq(
            s.get_opt(libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, 0i32)
                .map_err(io_err("getsockopt IP_MTU_DISCOVER"))?,
            libc::IP_PMTUDISC_DO,
            "IP_MTU_DISCOVER after setting IP_PMTUDISC_DO",
        )?;
        ensure_errno(
            s.send_to(&big, to),
            libc::EMSGSIZE,
            "2000 bytes with IP_PMTUDISC_DO over MTU 1500",
        )?;
        ensure_errno(
            s.send_to(&pattern_bytes(1473), to),
            libc::EMSGSIZE,
            "1473 bytes (a 1501-byte packet) with IP_PMTUDISC_DO",
        )?;
        s.send_to(&small, to).map_err(io_err(
            "1472 bytes (a 1500-byte packet) with IP_PMTUDISC_DO",
        ))?;
        s.set_opt(
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            &libc::IP_PMTUDISC_DONT,
        )
        .map_err(io_err("IP_MTU_DISCOVER IP_PMTUDISC_DONT"))?;
        s.send_to(&big, to)
            .map_err(io_err("2000 bytes with IP_PMTUDISC_DONT"))
            .map(drop)
    })?;
    let mut buf = vec![0u8; 4096];
    for (what, want) in [
        ("the 1472-byte datagram sent with DF", &small[..]),
        ("the 2000-byte datagram sent without DF", &big[..]),
    ] {
        let (n, _) = lx
            .recv_from(&mut buf)
            .map_err(io_err(&format!("Linux waiting for {what}")))?;
        ensure(
            &buf[..n] == want,
            format!("{what}: {n} bytes arrived, not the {} sent", want.len()),
        )?;
    }
    frags.ensure_grew(2)?;
    // On the wire: DF on the packet sent with IP_PMTUDISC_DO, not on the fragments.
    let from_rv =
        |f: &[u8]| ipv4_of(f).is_some_and(|ip| ip[12..16] == RV_IP.octets() && ip[9] == 17);
    let full = cap
        .find(Duration::from_secs(2), |f| {
            from_rv(f) && ipv4_of(f).is_some_and(|ip| ip[2..4] == 1500u16.to_be_bytes())
        })?
        .ok_or("lx's AF_PACKET socket saw no 1500-byte UDP packet from rvnet")?;
    ensure(
        ipv4_of(&full).is_some_and(|ip| frag_fields(ip).0),
        "the 1500-byte packet sent with IP_PMTUDISC_DO has no DF",
    )?;
    let frag = cap
        .find(Duration::from_secs(2), |f| {
            from_rv(f) && ipv4_of(f).is_some_and(|ip| frag_fields(ip).1)
        })?
        .ok_or("lx's AF_PACKET socket saw no fragment with MF from rvnet")?;
    ensure(
        ipv4_of(&frag).is_some_and(|ip| !frag_fields(ip).0),
        "a fragment of the datagram sent with IP_PMTUDISC_DONT has DF",
    )
}

/// `/proc/net/rvnet/NAME` of the calling thread's namespace, with no process to start (for
/// state that lasts only a moment).
fn proc_here(name: &str) -> Result<String, String> {
    let path = format!("/proc/thread-self/net/rvnet/{name}");
    std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))
}

/// Waits in poll(2) up to `limit` for `events` on `fd`; returns revents (0 on timeout).
fn poll_for(fd: i32, events: i16, limit: Duration) -> Result<i16, String> {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, limit.as_millis() as i32) };
    ensure(n >= 0, format!("poll: {}", io::Error::last_os_error()))?;
    Ok(p.revents)
}

pub fn sndbuf_charged_while_unresolved() -> TestResult {
    const SIZE: usize = 1400;
    let _lab = Lab::standard()?;
    let nobody = Ipv4Addr::new(198, 18, 0, 78);
    // ARP gives up after a second or so.
    rvnetctl(RV, "set arp_retry_ms 500")?;
    rvnetctl(RV, "set arp_retries 2")?;
    let failed = Counter::new(RV, "arp_resolve_failed")?;
    let accepted = in_netns(RV, || {
        let s = Socket::dgram().map_err(io_err("socket"))?;
        // The smallest send buffer: room for about two datagrams of SIZE.
        s.set_opt(libc::SOL_SOCKET, libc::SO_SNDBUF, &1i32)
            .map_err(io_err("SO_SNDBUF"))?;
        let sndbuf: i32 = s
            .get_opt(libc::SOL_SOCKET, libc::SO_SNDBUF, 0)
            .map_err(io_err("getsockopt SO_SNDBUF"))?;
        s.connect(SocketAddrV4::new(nobody, 9))
            .map_err(io_err("connect"))?;
        let data = [0x5a; SIZE];
        let mut accepted = 0;
        let mut full = false;
        // The datagrams wait for ARP, charged to the socket. Up to four wait per neighbour;
        // a fifth would push out the first (and uncharge it), so stop before that.
        for _ in 0..5 {
            match s.send(&data, libc::MSG_DONTWAIT) {
                Ok(_) => accepted += 1,
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                    full = true;
                    break;
                }
                Err(e) => return Err(format!("send {} to {nobody}: {e}", accepted + 1)),
            }
        }
        ensure(
            full && accepted >= 1,
            format!(
                "{accepted} non-blocking sends of {SIZE} bytes to unresolved {nobody} with \
                 SO_SNDBUF {sndbuf}, {}",
                if full { "then EAGAIN" } else { "and no EAGAIN" }
            ),
        )?;
        let rev = poll_for(s.as_raw_fd(), libc::POLLOUT, Duration::ZERO)?;
        ensure(
            rev & libc::POLLOUT == 0,
            format!("poll says POLLOUT ({rev:#x}) with the send buffer full"),
        )?;
        // When ARP gives up the datagrams are freed: writable again, the error pending.
        // (poll also returns for POLLERR alone, which may come first: poll again then.)
        let t0 = Instant::now();
        let mut rev = 0;
        while rev & libc::POLLOUT == 0 && t0.elapsed() < Duration::from_secs(10) {
            rev = poll_for(s.as_raw_fd(), libc::POLLOUT, Duration::from_millis(500))?;
            if rev & libc::POLLOUT == 0 {
                sleep_ms(10);
            }
        }
        ensure(
            rev & libc::POLLOUT != 0,
            format!(
                "still not writable {:?} after the sends, though ARP for {nobody} gives up \
                 after about a second (revents {rev:#x})",
                t0.elapsed()
            ),
        )?;
        let mut buf = [0u8; 16];
        ensure_errno(
            s.recv(&mut buf, libc::MSG_DONTWAIT),
            libc::EHOSTUNREACH,
            "recv once the datagrams were dropped",
        )?;
        s.send(&data, libc::MSG_DONTWAIT)
            .map_err(io_err("send once the buffer was freed"))?;
        Ok(accepted)
    })?;
    // The socket is closed now, its last datagram still waiting: when ARP gives up on that
    // one too, the stack must free it without touching the socket it held (see dmesg).
    let all = wait_for(Duration::from_secs(10), || Ok(failed.delta()? > accepted))?;
    ensure(
        all,
        format!(
            "arp_resolve_failed grew by {}, want {}: the {accepted} datagrams before the \
             error and the one sent after it, from a socket closed since",
            failed.delta()?,
            accepted + 1
        ),
    )
}

pub fn gratuitous_arp_on_addr_add() -> TestResult {
    let lab = Lab::new(&[LX, RV])?;
    lab.link((LX, "rvn0"), (RV, "rvn1"))?;
    in_ns(LX, &format!("ip addr add {LX_IP}/24 dev rvn0"))?;
    let cap = Capture::open(LX, "rvn0", ETH_P_ARP)?;
    let grat = Counter::new(RV, "arp_tx_gratuitous")?;
    rvnetctl(RV, &format!("addr add {RV_IP}/24 dev rvn1"))?;
    let rv_mac = parse_mac(&mac(RV, "rvn1")?).ok_or("bad MAC of rvn1")?;
    // An ARP request (operation 1) whose sender and target address are both RV_IP.
    let announce = |f: &[u8]| {
        f.len() >= 42
            && f[12..14] == ETH_P_ARP.to_be_bytes()
            && f[20..22] == [0, 1]
            && f[28..32] == RV_IP.octets()
            && f[38..42] == RV_IP.octets()
    };
    let f = cap.find(Duration::from_secs(3), announce)?.ok_or(format!(
        "lx saw no ARP request with sender and target {RV_IP} after rvnetctl addr add"
    ))?;
    ensure(
        f[..6] == [0xff; 6] && f[6..12] == rv_mac && f[22..28] == rv_mac,
        format!(
            "gratuitous ARP: Ethernet {} -> {}, sender hardware address {}; want {} -> \
             broadcast, sender {}",
            rvnet_uapi::format_mac(&f[6..12].try_into().unwrap_or_default()),
            rvnet_uapi::format_mac(&f[..6].try_into().unwrap_or_default()),
            rvnet_uapi::format_mac(&f[22..28].try_into().unwrap_or_default()),
            rvnet_uapi::format_mac(&rv_mac),
            rvnet_uapi::format_mac(&rv_mac),
        ),
    )?;
    grat.ensure_grew(1)
}

pub fn arp_failure_reported_to_socket() -> TestResult {
    let _lab = Lab::standard()?;
    let nobody = Ipv4Addr::new(198, 18, 0, 77);
    rvnetctl(RV, "set arp_retry_ms 300")?;
    rvnetctl(RV, "set arp_retries 2")?;
    let failed = Counter::new(RV, "arp_resolve_failed")?;
    let requests = Counter::new(RV, "arp_tx_requests")?;
    let (arp, waited, first, second) = in_netns(RV, || {
        let s = Socket::dgram().map_err(io_err("socket"))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(io_err("SO_RCVTIMEO"))?;
        let t0 = Instant::now();
        // Accepted: it waits for ARP.
        s.send_to(b"anyone there?", SocketAddrV4::new(nobody, 7990))
            .map_err(io_err(&format!("sendto {nobody}")))?;
        let arp = proc_here("arp")?;
        let mut buf = [0u8; 64];
        let first = s.recv(&mut buf, 0);
        let waited = t0.elapsed();
        let second = s.recv(&mut buf, libc::MSG_DONTWAIT);
        Ok((arp, waited, first, second))
    })?;
    let rows = parse_arp(&arp).map_err(|e| e.to_string())?;
    ensure(
        rows.iter()
            .any(|r| r.ip == nobody && r.state == "incomplete" && r.flags == 0),
        format!("no incomplete entry for {nobody} while it was being resolved:\n{arp}"),
    )?;
    ensure_errno(
        first,
        libc::EHOSTUNREACH,
        &format!("recv after sending to {nobody}, which nobody answers ARP for"),
    )?;
    ensure(
        waited >= Duration::from_millis(250),
        format!("EHOSTUNREACH after only {waited:?}, before a single retry interval"),
    )?;
    ensure_errno(
        second,
        libc::EAGAIN,
        "a second recv: the error is reported once",
    )?;
    failed.ensure_grew(1)?;
    // The first request and at least one retry.
    requests.ensure_grew(2)
}

/// A connected AF_RVNET socket learns from Linux's ICMP port unreachable (as a connected
/// AF_INET socket does): its next recv returns ECONNREFUSED.
pub fn connected_socket_learns_port_unreachable() -> TestResult {
    let _lab = Lab::standard()?;
    let reported = Counter::new(RV, "icmp_rx_errors_reported")?;
    in_netns(RV, || {
        let s = Socket::dgram().map_err(io_err("socket"))?;
        s.connect(SocketAddrV4::new(LX_IP, 7999))
            .map_err(io_err("connect"))?;
        s.set_read_timeout(Some(Duration::from_secs(3)))
            .map_err(io_err("SO_RCVTIMEO"))?;
        s.send(b"anyone there?", 0).map_err(io_err("send"))?;
        let mut buf = [0u8; 64];
        ensure_errno(
            s.recv(&mut buf, 0),
            libc::ECONNREFUSED,
            "recv on a socket connected to an unbound Linux port",
        )
    })?;
    reported.ensure_grew(1)
}

/// An ICMP echo request with the caller's own IPv4 header (IP_HDRINCL), ID and source left
/// zero for the stack to fill: Linux answers, and the raw socket receives the reply with its
/// IP header.
pub fn raw_hdrincl_ping() -> TestResult {
    let _lab = Lab::standard()?;
    let raw_tx = Counter::new(RV, "raw_tx")?;
    in_netns(RV, || {
        let s = Socket::raw(libc::IPPROTO_ICMP).map_err(io_err("raw socket"))?;
        s.set_opt(libc::IPPROTO_IP, libc::IP_HDRINCL, &1i32)
            .map_err(io_err("IP_HDRINCL"))?;
        s.set_read_timeout(Some(Duration::from_secs(3)))
            .map_err(io_err("SO_RCVTIMEO"))?;
        let mut icmp = vec![8u8, 0, 0, 0, 0x12, 0x34, 0, 1];
        icmp.extend_from_slice(b"hdrincl");
        let c = csum(&icmp);
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        let total = 20 + icmp.len();
        let mut pkt = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0];
        pkt[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        pkt.extend_from_slice(&[0, 0, 0, 0]); // source: the stack's
        pkt.extend_from_slice(&LX_IP.octets());
        pkt.extend_from_slice(&icmp);
        s.send_to(&pkt, SocketAddrV4::new(LX_IP, 0))
            .map_err(io_err("send with IP_HDRINCL"))?;
        let mut buf = [0u8; 256];
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            let (n, from) = s.recv_from(&mut buf).map_err(io_err("recv"))?;
            let ip = &buf[..n];
            let hl = usize::from(ip[0] & 0x0f) * 4;
            if n < hl + 8 || ip[hl] != 0 {
                continue; // not an echo reply (our own request is not looped back)
            }
            ensure_eq(*from.ip(), LX_IP, "reply's source")?;
            ensure_eq(
                &ip[16..20],
                &RV_IP.octets()[..],
                "reply's destination (our filled-in source)",
            )?;
            ensure_eq(
                &ip[hl + 4..hl + 8],
                &[0x12, 0x34, 0, 1][..],
                "echo id and sequence",
            )?;
            return ensure_eq(&ip[hl + 8..n], &b"hdrincl"[..], "echo data");
        }
        Err("no echo reply within 3 s".to_string())
    })?;
    raw_tx.ensure_grew(1)
}

/// The ARP cache has Linux's neighbour limits: gc_thresh1/2/3 128/512/1024 and
/// unres_qlen_bytes 212992 by default, settable. With gc_thresh3 lowered to 128 and every
/// entry unresolved (nothing the garbage collector may take), the sends to new neighbours
/// past the limit are refused (EHOSTUNREACH) and counted in arp_table_full, and the entries
/// already there stay. The packets waiting for one neighbour are bounded in bytes: with
/// unres_qlen_bytes at 4000, the oldest of five 1000-byte datagrams are pushed out and
/// counted.
pub fn arp_cache_enforces_gc_thresh3() -> TestResult {
    let _lab = Lab::standard()?;
    for (param, want) in [
        ("arp_gc_thresh1", "128"),
        ("arp_gc_thresh2", "512"),
        ("arp_gc_thresh3", "1024"),
        ("arp_gc_interval_ms", "30000"),
        ("arp_gc_stale_ms", "60000"),
        ("arp_unres_qlen_bytes", "212992"),
    ] {
        ensure_eq(rvnetctl(RV, &format!("get {param}"))?.trim(), want, param)?;
    }
    rvnetctl_fails(RV, "set arp_gc_thresh3 0", "set", "Invalid argument")?;
    rvnetctl_fails(RV, "set arp_gc_thresh3 4000000", "set", "Invalid argument")?;
    // Long enough for the check below to see every entry still incomplete.
    rvnetctl(RV, "set arp_retry_ms 10000")?;
    rvnetctl(RV, "set arp_retries 20")?;
    rvnetctl(RV, "set arp_gc_thresh3 128")?;
    let full = Counter::new(RV, "arp_table_full")?;
    let others = parse_arp(&proc_file(RV, "arp")?)
        .map_err(|e| e.to_string())?
        .len();
    let room = 128 - others;
    let addr = |i: u8| Ipv4Addr::new(198, 18, 0, 100 + i);
    let refused = in_netns(RV, || {
        let s = Socket::dgram().map_err(io_err("socket"))?;
        let mut refused = Vec::new();
        for i in 0..130u8 {
            match s.send_to(b"x", SocketAddrV4::new(addr(i), 9)) {
                Err(e) if e.raw_os_error() == Some(libc::EHOSTUNREACH) => refused.push(i),
                r => {
                    r.map_err(io_err(&format!("send to {}", addr(i))))?;
                }
            }
        }
        Ok(refused)
    })?;
    let want: Vec<u8> = (room as u8..130).collect();
    ensure_eq(&refused, &want, "sends refused past gc_thresh3")?;
    let rows = parse_arp(&proc_file(RV, "arp")?).map_err(|e| e.to_string())?;
    let ours: Vec<&ArpRow> = rows
        .iter()
        .filter(|r| (addr(0)..=addr(129)).contains(&r.ip))
        .collect();
    ensure_eq(ours.len(), room, "entries for the 130 addresses")?;
    ensure(
        ours.iter().all(|r| r.state == "incomplete" && r.flags == 0),
        format!("entries not all incomplete: {ours:?}"),
    )?;
    ensure(
        ours.iter().any(|r| r.ip == addr(0)) && !ours.iter().any(|r| r.ip == addr(129)),
        "want the first address cached and the last refused",
    )?;
    ensure_eq(full.delta()?, want.len() as u64, "arp_table_full")?;
    // The byte bound of one neighbour's queue.
    rvnetctl(RV, "set arp_gc_thresh3 1024")?;
    rvnetctl(RV, "set arp_unres_qlen_bytes 4000")?;
    let drops = Counter::new(RV, "arp_queue_drops")?;
    let target = Ipv4Addr::new(198, 18, 0, 250);
    in_netns(RV, || {
        let s = Socket::dgram().map_err(io_err("socket"))?;
        for _ in 0..5 {
            s.send_to(&[0u8; 1000], SocketAddrV4::new(target, 9))
                .map_err(io_err("send to an unresolved neighbour"))?;
        }
        Ok(())
    })?;
    let row = arp_entry(RV, target)?.ok_or("no entry for the unresolved neighbour")?;
    ensure_eq(row.state.as_str(), "incomplete", "the neighbour's state")?;
    // Each datagram's skb is more than 1000 bytes of truesize: at most three fit in 4000.
    let dropped = drops.delta()?;
    ensure(
        (2..=4).contains(&dropped),
        format!("{dropped} of 5 datagrams pushed out of a 4000-byte queue, want 2 to 4"),
    )
}

/// shutdown(2) answers as AF_INET's does: ENOTCONN on an unconnected datagram socket (which
/// is still marked, so that a reader blocked in it is woken), 0 on a connected one.
pub fn shutdown_answers_as_inet() -> TestResult {
    let _lab = Lab::standard()?;
    in_netns(RV, || {
        let shut = |fd: i32, how: i32| -> io::Result<()> {
            // SAFETY: plain system call on a descriptor we own.
            if unsafe { libc::shutdown(fd, how) } == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        };
        let inet = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(io_err("AF_INET socket"))?;
        let want = shut(inet.as_raw_fd(), libc::SHUT_RDWR)
            .err()
            .and_then(|e| e.raw_os_error());
        ensure_eq(want, Some(libc::ENOTCONN), "AF_INET: shutdown unconnected")?;
        let rv = rv_bound(7810)?;
        ensure_errno(
            shut(rv.as_raw_fd(), libc::SHUT_RDWR),
            libc::ENOTCONN,
            "AF_RVNET: shutdown unconnected",
        )?;
        // Marked all the same: a receive now ends at once instead of blocking.
        let mut buf = [0u8; 16];
        ensure_eq(
            rv.recv(&mut buf, 0)
                .map_err(io_err("recv after shutdown"))?,
            0,
            "recv after shutdown(SHUT_RDWR) of an unconnected socket",
        )?;
        let c = rv_bound(7811)?;
        c.connect(SocketAddrV4::new(LX_IP, 7812))
            .map_err(io_err("connect"))?;
        shut(c.as_raw_fd(), libc::SHUT_WR).map_err(io_err("AF_RVNET: shutdown connected"))?;
        ensure_errno(
            shut(c.as_raw_fd(), 7),
            libc::EINVAL,
            "AF_RVNET: shutdown with a bad how",
        )
    })
}

/// A socket bound with SO_BINDTODEVICE sends by that device, as Linux routes a bound flow:
/// routes through other devices are passed over, and with none through its own the
/// destination is taken to be on its link (ARP asks there, and nothing reaches the host the
/// routing table would have chosen). ARP entries are per device, as Linux's neighbours: lx's
/// address, resolved on rvn1, is unknown on rvb0 and gets an entry of its own there.
pub fn bound_socket_sends_by_its_device() -> TestResult {
    let _lab = Lab::router()?;
    let lx = lx_udp()?;
    let lx2 = linux_udp(LX2, LX2_IP)?;
    for s in [&lx, &lx2] {
        s.set_read_timeout(Some(Duration::from_secs(3)))
            .map_err(io_err("SO_RCVTIMEO"))?;
    }
    let lx_port = v4(lx.local_addr().map_err(io_err("getsockname"))?)?.port();
    let lx2_port = v4(lx2.local_addr().map_err(io_err("getsockname"))?)?.port();
    let arp_on_lx2 = Capture::open(LX2, "rvb1", ETH_P_ARP)?;
    let (unbound, on_rvb0) = in_netns(RV, || {
        let u = Socket::dgram().map_err(io_err("socket"))?;
        let b = Socket::dgram().map_err(io_err("socket"))?;
        bind_to_device(&b, "rvb0")?;
        Ok((u, b))
    })?;
    let mut buf = [0u8; 64];
    // Unbound: the connected route to 198.18.0.0/24, by rvn1.
    unbound
        .send_to(b"unbound", SocketAddrV4::new(LX_IP, lx_port))
        .map_err(io_err("send from the unbound socket"))?;
    let (n, _) = lx
        .recv_from(&mut buf)
        .map_err(io_err("lx: the unbound socket's datagram"))?;
    ensure_eq(&buf[..n], &b"unbound"[..], "lx received")?;
    // Bound to rvb0: its own connected route to lx2 is used.
    on_rvb0
        .send_to(b"by rvb0", SocketAddrV4::new(LX2_IP, lx2_port))
        .map_err(io_err("send to lx2 from the rvb0 socket"))?;
    let (n, _) = lx2
        .recv_from(&mut buf)
        .map_err(io_err("lx2: the rvb0 socket's datagram"))?;
    ensure_eq(&buf[..n], &b"by rvb0"[..], "lx2 received")?;
    // Bound to rvb0, to lx's address: the route by rvn1 does not count; rvnet asks for lx's
    // address on rvb0's link, where nobody has it, and lx gets nothing.
    on_rvb0
        .send_to(b"wrong link", SocketAddrV4::new(LX_IP, lx_port))
        .map_err(io_err("send to lx from the rvb0 socket"))?;
    // Two entries for lx's address: resolved on rvn1, being resolved on rvb0 (for the 4 s of
    // its retries; read at once).
    let text = proc_file(RV, "arp")?;
    let rows = parse_arp(&text).map_err(|e| e.to_string())?;
    let state_on = |dev: &str| {
        rows.iter()
            .find(|r| r.ip == LX_IP && r.dev == dev)
            .map(|r| r.state.as_str())
    };
    ensure(
        state_on("rvn1") == Some("reachable") && state_on("rvb0") == Some("incomplete"),
        format!("want {LX_IP} reachable on rvn1 and incomplete on rvb0:\n{text}"),
    )?;
    let asked = arp_on_lx2.find(Duration::from_secs(3), |f| {
        f.len() >= 42 && f[12..14] == ETH_P_ARP.to_be_bytes() && f[38..42] == LX_IP.octets()
    })?;
    ensure(
        asked.is_some(),
        "no ARP request for 198.18.0.1 on rvb0's link: the bound socket did not send by rvb0",
    )?;
    lx.set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(io_err("SO_RCVTIMEO"))?;
    match lx.recv_from(&mut buf) {
        Ok((n, from)) => Err(format!(
            "lx received {:?} from {from}: the bound socket's datagram went by rvn1",
            String::from_utf8_lossy(&buf[..n])
        )),
        Err(_) => Ok(()),
    }
}

/// Injects three copies of the frame broken for `name` and checks that `name` grew by 3 and
/// that none reached a UDP port (`udp_rx_no_port`).
fn injected_frames_counted(dst: [u8; 6], src: [u8; 6], name: &'static str) -> TestResult {
    let c = Counter::new(RV, name)?;
    let no_port = Counter::new(RV, "udp_rx_no_port")?;
    inject(LX, "rvn0", &vec![frame(dst, src, name); 3])?;
    // The three frames cross at once; poll so that a slow guest is waited for.
    wait_for(Duration::from_secs(3), || Ok(c.delta()? >= 3))?;
    c.ensure_grew(3)
        .map_err(|e| format!("3 frames broken for {name}: {e}"))?;
    ensure_eq(
        no_port.delta()?,
        0,
        &format!("udp_rx_no_port after frames broken for {name}"),
    )
}

/// A UDP checksum that does not match, and a martian (multicast) source address, each
/// dropped under its own counter; the same frame with a right UDP checksum reaches UDP.
pub fn bad_udp_csum_and_bad_src_counted() -> TestResult {
    let _lab = Lab::standard()?;
    let dst = parse_mac(&mac(RV, "rvn1")?).ok_or("bad MAC of rvn1")?;
    let src = parse_mac(&mac(LX, "rvn0")?).ok_or("bad MAC of rvn0")?;
    in_ns(LX, &format!("ping -c 1 -W 2 {RV_IP}"))?;
    // The control: a right checksum is checked and passes (port 9 is unbound).
    let no_port = Counter::new(RV, "udp_rx_no_port")?;
    let bad = Counter::new(RV, "udp_rx_bad_csum")?;
    inject(LX, "rvn0", &vec![frame(dst, src, "udp_csum_ok"); 3])?;
    wait_for(Duration::from_secs(3), || Ok(no_port.delta()? >= 3))?;
    ensure_eq(
        no_port.delta()?,
        3,
        "udp_rx_no_port after 3 frames with a right UDP checksum",
    )?;
    ensure_eq(bad.delta()?, 0, "udp_rx_bad_csum after right checksums")?;
    injected_frames_counted(dst, src, "udp_rx_bad_csum")?;
    injected_frames_counted(dst, src, "ip_rx_bad_src")
}

/// Linux's raw socket for protocol 253 (one rvnet does not speak), connected to rvnet: rvnet
/// answers with ICMP protocol unreachable, which Linux reports to the socket as ENOPROTOOPT.
pub fn protocol_unreachable_to_linux() -> TestResult {
    let _lab = Lab::standard()?;
    let unknown = Counter::new(RV, "ip_rx_unknown_proto")?;
    let unreach = Counter::new(RV, "icmp_tx_unreachable")?;
    let err = in_netns(LX, || {
        // SAFETY: plain system call; the descriptor is owned below.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 253) };
        ensure(
            fd >= 0,
            format!("raw socket: {}", io::Error::last_os_error()),
        )?;
        // SAFETY: a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: all zeroes is a valid sockaddr_in.
        let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_addr.s_addr = u32::from(RV_IP).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as u32;
        // SAFETY: a valid sockaddr_in of that length.
        let r = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_in).cast(),
                len,
            )
        };
        ensure(r == 0, format!("connect: {}", io::Error::last_os_error()))?;
        let tv = libc::timeval {
            tv_sec: 3,
            tv_usec: 0,
        };
        // SAFETY: a valid timeval of that length.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
        ensure(
            r == 0,
            format!("SO_RCVTIMEO: {}", io::Error::last_os_error()),
        )?;
        let data = b"protocol 253, anyone?";
        // SAFETY: `data` is valid for its length.
        let n = unsafe { libc::send(fd.as_raw_fd(), data.as_ptr().cast(), data.len(), 0) };
        ensure(
            n == data.len() as isize,
            format!("send: {n}: {}", io::Error::last_os_error()),
        )?;
        let mut buf = [0u8; 256];
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n >= 0 {
            return Err(format!("recv returned {n} bytes, want the ICMP error"));
        }
        Ok(io::Error::last_os_error())
    })?;
    ensure(
        err.raw_os_error() == Some(libc::ENOPROTOOPT),
        format!(
            "Linux's raw socket (protocol 253) connected to {RV_IP} after a send: {err}, want \
             {} (ICMP protocol unreachable)",
            io::Error::from_raw_os_error(libc::ENOPROTOOPT)
        ),
    )?;
    unknown.ensure_grew(1)?;
    unreach.ensure_grew(1)
}

/// The first fragment of a datagram whose other fragments never come is dropped once the
/// reassembly timeout passes: with `reasm_timeout_ms` 300 (the default is 30 s) that is
/// within a few seconds. Its sender, Linux, gets an ICMP time exceeded (fragment
/// reassembly, code 1) quoting that fragment, as RFC 792 says and Linux's ip_expire does,
/// and counts it (`Icmp: InTimeExcds` in its /proc/net/snmp).
pub fn reassembly_timeout_counted() -> TestResult {
    let _lab = Lab::standard()?;
    let dst = parse_mac(&mac(RV, "rvn1")?).ok_or("bad MAC of rvn1")?;
    let src = parse_mac(&mac(LX, "rvn0")?).ok_or("bad MAC of rvn0")?;
    in_ns(LX, &format!("ping -c 1 -W 2 {RV_IP}"))?;
    rvnetctl(RV, "set reasm_timeout_ms 300")?;
    ensure_eq(
        rvnetctl(RV, "get reasm_timeout_ms")?.trim(),
        "300",
        "reasm_timeout_ms after set",
    )?;
    let frags = Counter::new(RV, "ip_rx_fragments")?;
    let timeouts = Counter::new(RV, "ip_reasm_timeouts")?;
    let ok = Counter::new(RV, "ip_reasm_ok")?;
    let sent = Counter::new(RV, "icmp_tx_time_exceeded")?;
    let linux_before = linux_icmp_in_time_excds(LX)?;
    let cap = Capture::open(LX, "rvn0", ETH_P_IP)?;
    inject(LX, "rvn0", &[frame(dst, src, "first_fragment")])?;
    let t0 = Instant::now();
    let expired = wait_for(Duration::from_secs(5), || Ok(timeouts.delta()? >= 1))?;
    frags.ensure_grew(1)?;
    ensure(
        expired,
        format!(
            "ip_reasm_timeouts did not grow {:?} after a lone first fragment, with \
             reasm_timeout_ms 300",
            t0.elapsed()
        ),
    )?;
    ensure_eq(timeouts.delta()?, 1, "ip_reasm_timeouts for one datagram")?;
    ensure_eq(ok.delta()?, 0, "ip_reasm_ok with one fragment of two")?;
    // The ICMP message on the wire: from rvnet's address to Linux's, type 11 code 1,
    // quoting the fragment's header (ID 0x1234, MF) and the UDP header after it.
    let icmp = cap.find(Duration::from_secs(3), |f| {
        ipv4_of(f).is_some_and(|ip| {
            ip.len() >= 20 + 8 + 28
                && ip[9] == 1
                && ip[12..16] == RV_IP.octets()
                && ip[16..20] == LX_IP.octets()
                && ip[20] == 11
        })
    })?;
    let icmp = icmp.ok_or("no ICMP time exceeded from rvnet on Linux's link")?;
    let ip = ipv4_of(&icmp).ok_or("not IPv4")?;
    ensure_eq(
        ip[21],
        1,
        "ICMP code (1: fragment reassembly time exceeded)",
    )?;
    ensure_eq(csum(&ip[20..]), 0, "ICMP checksum")?;
    let quoted = &ip[28..];
    ensure_eq(
        (
            u16::from_be_bytes([quoted[4], quoted[5]]),
            quoted[6] & 0x20 != 0,
        ),
        (0x1234, true),
        "quoted fragment's ID and MF",
    )?;
    ensure_eq(
        (&quoted[12..16], &quoted[16..20]),
        (&LX_IP.octets()[..], &RV_IP.octets()[..]),
        "quoted addresses",
    )?;
    ensure_eq(
        u16::from_be_bytes([quoted[22], quoted[23]]),
        9,
        "quoted UDP destination port",
    )?;
    ensure_eq(sent.delta()?, 1, "icmp_tx_time_exceeded")?;
    // Linux's own stack took it as a time exceeded.
    let mut linux_after = linux_icmp_in_time_excds(LX)?;
    let deadline = Instant::now() + Duration::from_secs(3);
    while linux_after == linux_before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        linux_after = linux_icmp_in_time_excds(LX)?;
    }
    ensure_eq(
        linux_after - linux_before,
        1,
        "Linux's Icmp InTimeExcds after the time exceeded",
    )
}

/// `Icmp: InTimeExcds` of Linux's stack in namespace `ns` (its /proc/net/snmp).
fn linux_icmp_in_time_excds(ns: &str) -> Result<u64, String> {
    let text = in_netns(ns, || {
        std::fs::read_to_string("/proc/thread-self/net/snmp").map_err(io_err("/proc/net/snmp"))
    })?;
    let mut icmp = text.lines().filter(|l| l.starts_with("Icmp: "));
    let (names, values) = (icmp.next(), icmp.next());
    let (Some(names), Some(values)) = (names, values) else {
        return Err(format!("no Icmp lines in /proc/net/snmp:\n{text}"));
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "InTimeExcds")
        .and_then(|(_, v)| v.parse().ok())
        .ok_or_else(|| format!("no Icmp InTimeExcds in /proc/net/snmp:\n{text}"))
}

/// The FIB holds `fib_max_routes` routes (2,000,000 by default, settable): lowered to 256,
/// adding more fails with ENOSPC and changes nothing; once one is deleted another fits.
pub fn full_route_table_refused() -> TestResult {
    let _lab = Lab::standard()?;
    ensure_eq(
        rvnetctl(RV, "get fib_max_routes")?.trim(),
        "2000000",
        "fib_max_routes",
    )?;
    rvnetctl_fails(RV, "set fib_max_routes 0", "set", "Invalid argument")?;
    rvnetctl(RV, "set fib_max_routes 256")?;
    let host = |i: u32| Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 19, 128, 0)) + i);
    let (added, err, rows) = in_netns(RV, || {
        let mut s = Rvnet::open().map_err(|e| format!("netlink family rvnet: {e}"))?;
        let mut added = 0;
        let err = loop {
            if added > 400 {
                return Err(format!("{added} routes added and no error"));
            }
            match s
                .route_add(host(added), 32, LX_IP, 0)
                .map_err(io::Error::from)
            {
                Ok(()) => added += 1,
                Err(e) => break e,
            }
        };
        let rows = parse_route(&proc_here("route")?).map_err(|e| e.to_string())?;
        // One more again: still full, and nothing changed.
        ensure_errno(
            s.route_add(host(added + 1), 32, LX_IP, 0)
                .map_err(io::Error::from),
            libc::ENOSPC,
            "a second route add on the full table",
        )?;
        s.route_del(host(0), 32)
            .map_err(|e| format!("route del: {e}"))?;
        s.route_add(host(added), 32, LX_IP, 0)
            .map_err(|e| format!("route add after a route del on the full table: {e}"))?;
        Ok((added, err, rows))
    })?;
    ensure(
        err.raw_os_error() == Some(libc::ENOSPC),
        format!("route add after {added} routes: {err}, want ENOSPC"),
    )?;
    ensure_eq(rows.len(), 256, "routes in /proc/net/rvnet/route when full")?;
    let text = proc_file(RV, "route")?;
    let after = parse_route(&text).map_err(|e| e.to_string())?;
    ensure_eq(after.len(), 256, "routes after a delete and an add")?;
    ensure(
        after
            .iter()
            .any(|r| r.dst == host(added) && r.gateway == LX_IP)
            && !after.iter().any(|r| r.dst == host(0)),
        format!(
            "the table after deleting {} and adding {}:\n{text}",
            host(0),
            host(added)
        ),
    )
}

/// The UDP datagram carrying `marker` to `to` in an Ethernet frame, if `f` is one.
fn is_udp_with(f: &[u8], to: Ipv4Addr, marker: &[u8]) -> bool {
    ipv4_of(f).is_some_and(|ip| {
        let hl = usize::from(ip[0] & 0x0f) * 4;
        ip[9] == 17
            && ip[16..20] == to.octets()
            && ip.get(hl + 8..).is_some_and(|d| d.starts_with(marker))
    })
}

/// A connected socket keeps the route connect resolved: its sends hit that cached route even
/// after the namespace's route cache was flushed of its destination by traffic to a thousand
/// others, and the hit rate in /proc/net/rvnet/stats says so; a route change invalidates
/// it, and the next send takes the new route.
pub fn connected_socket_keeps_its_route() -> TestResult {
    let _lab = Lab::router()?;
    let far = Ipv4Addr::new(198, 19, 64, 5);
    rvnetctl(RV, &format!("route add 198.19.64.0/18 via {LX_IP}"))?;
    let on_lx = Capture::open(LX, "rvn0", ETH_P_IP)?;
    let (s, u) = in_netns(RV, || {
        let s = Socket::dgram().map_err(io_err("socket"))?;
        s.connect(SocketAddrV4::new(far, 9))
            .map_err(io_err(&format!("connect {far}:9")))?;
        Ok((s, Socket::dgram().map_err(io_err("socket"))?))
    })?;
    s.send(b"first", 0).map_err(io_err("send"))?;
    on_lx
        .find(Duration::from_secs(3), |f| is_udp_with(f, far, b"first"))?
        .ok_or(format!("lx saw no datagram to {far} via {LX_IP}"))?;
    // A thousand other destinations through the namespace's route cache (64 sets of two).
    for i in 0..1024u32 {
        let to = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 19, 68, 0)) + i);
        u.send_to(b"x", SocketAddrV4::new(to, 9))
            .map_err(io_err(&format!("send to {to}")))?;
    }
    drop(on_lx);
    let on_lx = Capture::open(LX, "rvn0", ETH_P_IP)?;
    let misses = Counter::new(RV, "route_cache_misses")?;
    let hits = Counter::new(RV, "route_cache_hits")?;
    for _ in 0..5 {
        s.send(b"cached", 0).map_err(io_err("send"))?;
    }
    ensure_eq(
        misses.delta()?,
        0,
        "route_cache_misses over 5 sends of a connected socket (its cached route unused?)",
    )?;
    hits.ensure_grew(5)?;
    on_lx
        .find(Duration::from_secs(3), |f| is_udp_with(f, far, b"cached"))?
        .ok_or(format!(
            "lx saw no datagram of the connected socket to {far}"
        ))?;
    // The hit rate is hits per lookup, in thousandths, from the same reading.
    let stats = parse_stats(&proc_file(RV, "stats")?).map_err(|e| e.to_string())?;
    let get = |n: &str| rvnet_uapi::proc::lookup(&stats, n).ok_or(format!("no {n} in stats"));
    let (h, l, rate) = (
        get("route_cache_hits")?,
        get("route_lookups")?,
        get("route_cache_hit_rate_permille")?,
    );
    ensure(
        l > 0 && rate == h * 1000 / l && rate > 0 && rate <= 1000,
        format!("route_cache_hit_rate_permille {rate} with {h} hits of {l} lookups"),
    )?;
    // Move the prefix to the other side: the connected socket follows.
    rvnetctl(RV, "route del 198.19.64.0/18")?;
    rvnetctl(RV, &format!("route add 198.19.64.0/18 via {LX2_IP}"))?;
    let on_lx2 = Capture::open(LX2, "rvb1", ETH_P_IP)?;
    let misses = Counter::new(RV, "route_cache_misses")?;
    s.send(b"moved", 0)
        .map_err(io_err("send after the route change"))?;
    on_lx2
        .find(Duration::from_secs(3), |f| is_udp_with(f, far, b"moved"))?
        .ok_or(format!(
            "lx2 saw no datagram to {far} after its route moved to {LX2_IP}: the connected \
             socket kept its stale route"
        ))?;
    ensure(
        on_lx
            .find(Duration::from_millis(500), |f| {
                is_udp_with(f, far, b"moved")
            })?
            .is_none(),
        "the datagram sent after the route change still went to lx",
    )?;
    misses.ensure_grew(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: [u8; 6] = [2, 0, 0, 0, 0, 2];
    const S: [u8; 6] = [2, 0, 0, 0, 0, 1];

    #[test]
    fn intact_frame_is_valid() {
        let f = frame(D, S, "intact");
        assert_eq!(f.len(), 14 + 60);
        assert_eq!(
            (&f[..6], &f[6..12], &f[12..14]),
            (&D[..], &S[..], &[8u8, 0][..])
        );
        let ip = &f[14..34];
        assert_eq!(ip[0], 0x45);
        assert_eq!(csum(ip), 0, "header checksum");
        assert_eq!(u16::from_be_bytes([ip[2], ip[3]]), 60);
        assert_eq!(&ip[12..20], &[198, 18, 0, 1, 198, 18, 0, 2]);
        assert_eq!(u16::from_be_bytes([f[38], f[39]]), 40, "UDP length");
    }

    #[test]
    fn each_breakage_changes_only_its_field() {
        let good = frame(D, S, "intact");
        for (name, byte) in [
            ("ip_rx_bad_version", 14),
            ("ip_rx_bad_header_len", 14),
            ("ip_rx_bad_total_len", 16),
            ("ip_rx_truncated", 16),
            ("ip_rx_bad_csum", 24),
        ] {
            let bad = frame(D, S, name);
            assert_eq!(bad.len(), good.len(), "{name}");
            let diff: Vec<usize> = (0..good.len()).filter(|&i| good[i] != bad[i]).collect();
            // The field itself, and the checksum that covers it.
            assert!(
                diff.contains(&byte) || diff.contains(&(byte + 1)),
                "{name}: {diff:?}"
            );
            assert!(
                diff.iter()
                    .all(|&i| i == byte || i == byte + 1 || i == 24 || i == 25),
                "{name}: {diff:?}"
            );
            let sum_ok = csum(&bad[14..34]) == 0;
            assert_eq!(sum_ok, name != "ip_rx_bad_csum", "{name}: checksum");
        }
    }

    #[test]
    fn udp_checksum_frames() {
        let pseudo_sum = |f: &[u8]| {
            let mut p = f[26..34].to_vec();
            p.extend_from_slice(&[0, 17, 0, 40]);
            p.extend_from_slice(&f[34..]);
            csum(&p)
        };
        let ok = frame(D, S, "udp_csum_ok");
        let bad = frame(D, S, "udp_rx_bad_csum");
        assert_ne!(&ok[40..42], &[0, 0], "a checksum is there");
        assert_eq!(pseudo_sum(&ok), 0, "right checksum verifies");
        assert_ne!(pseudo_sum(&bad), 0, "wrong checksum fails");
        assert_ne!(&bad[40..42], &[0, 0], "and is not 'no checksum'");
        let diff: Vec<usize> = (0..ok.len()).filter(|&i| ok[i] != bad[i]).collect();
        assert!(diff.iter().all(|&i| i == 40 || i == 41), "{diff:?}");
        let src = frame(D, S, "ip_rx_bad_src");
        assert_eq!(&src[26..30], &[224, 0, 0, 5]);
        assert_eq!(csum(&src[14..34]), 0, "header checksum still right");
        let first = frame(D, S, "first_fragment");
        assert_eq!(first[20] & 0x20, 0x20, "MF");
        assert_eq!(csum(&first[14..34]), 0);
    }

    #[test]
    fn checksum_known_answer() {
        // RFC 1071's example: the sum of these words is 0xddf2 (one's complement 0x220d).
        assert_eq!(
            csum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        assert_eq!(csum(&[0xff]), 0x00ff);
    }
}

/// Sockets bound per address in [`many_sockets_each_receive`].
const MANY_PER_ADDR: u16 = 50_000;

/// A hundred thousand bound AF_RVNET sockets, 50,000 ports on each of rvnet's two addresses,
/// and every one receives the datagram Linux sends to it: the socket table finds each by
/// its port (a hash lookup) however many there are, and no datagram misses its socket.
pub fn many_sockets_each_receive() -> TestResult {
    let _lab = Lab::router()?;
    let addrs = [RV_IP, RV_IP2];
    let port = |i: u16| 10_000 + i;
    let t0 = Instant::now();
    let socks = in_netns(RV, move || {
        let want = u64::from(MANY_PER_ADDR) * 2 + 1000;
        let lim = libc::rlimit {
            rlim_cur: want,
            rlim_max: want,
        };
        // SAFETY: setrlimit reads the struct given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return Err(format!(
                "RLIMIT_NOFILE {want}: {}",
                io::Error::last_os_error()
            ));
        }
        let mut v = Vec::with_capacity(usize::from(MANY_PER_ADDR) * 2);
        // The family number once: Socket::dgram reads it from sysfs each time.
        let fam = rvnet_uapi::family().map_err(io_err("family"))?;
        for i in 0..MANY_PER_ADDR {
            for a in addrs {
                let s = Socket::with_family(fam, libc::SOCK_DGRAM, 0).map_err(io_err("socket"))?;
                s.bind(SocketAddrV4::new(a, port(i)))
                    .map_err(io_err(&format!("bind {a}:{}", port(i))))?;
                v.push(s);
            }
        }
        Ok(v)
    })?;
    let bound = t0.elapsed();
    // /proc/net/rvnet/sockets streams a row per socket, a page at a time: all of them.
    let rows = parse_sockets(&proc_file(RV, "sockets")?).map_err(|e| e.to_string())?;
    ensure_eq(rows.len(), socks.len(), "rows of /proc/net/rvnet/sockets")?;
    ensure(
        rows.iter()
            .any(|r| r.local == SocketAddrV4::new(RV_IP2, port(MANY_PER_ADDR - 1))),
        "the last socket bound is not in /proc/net/rvnet/sockets",
    )?;
    let no_port = Counter::new(RV, "udp_rx_no_port")?;
    let lx = lx_udp()?;
    // Each socket gets its own datagram: its address's index and its port. Sent in rounds:
    // a datagram the ring or a queue dropped (counted) is sent again, up to five times.
    let mut got = vec![false; socks.len()];
    let mut buf = [0u8; 16];
    for round in 0..5 {
        for (k, g) in got.iter().enumerate() {
            if *g {
                continue;
            }
            let (i, a) = ((k / 2) as u16, k % 2);
            let msg = [a as u8, (port(i) >> 8) as u8, port(i) as u8];
            lx.send_to(&msg, (addrs[a], port(i)))
                .map_err(io_err("Linux sendto"))?;
            if k % 256 == 255 {
                // Let the receiver drain: the sender is faster than the debug guest's NAPI.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        std::thread::sleep(Duration::from_millis(500));
        for (k, s) in socks.iter().enumerate() {
            if got[k] {
                continue;
            }
            let (i, a) = ((k / 2) as u16, k % 2);
            if let Ok(n) = s.recv(&mut buf, libc::MSG_DONTWAIT) {
                let want = [a as u8, (port(i) >> 8) as u8, port(i) as u8];
                ensure_eq(
                    &buf[..n],
                    &want[..],
                    &format!("datagram on {}:{}", addrs[a], port(i)),
                )?;
                got[k] = true;
            }
        }
        if got.iter().all(|g| *g) {
            println!(
                "# {} sockets bound in {bound:?}; every datagram received after {} round(s)",
                socks.len(),
                round + 1
            );
            return ensure_eq(no_port.delta()?, 0, "udp_rx_no_port");
        }
    }
    let missing = got.iter().filter(|g| !**g).count();
    Err(format!(
        "{missing} of {} sockets received nothing in five rounds (udp_rx_no_port grew {})",
        socks.len(),
        no_port.delta()?
    ))
}

/// A full table: 1,000,000 routes of netcore's synthetic Internet-shaped table (60% /24, a
/// tail from /8 to /32, mostly one gateway per /16) loaded by `rvnetctl -batch` (its route
/// adds go 1,024 to a `route-add-bulk` request), all of them listed by
/// `/proc/net/rvnet/route` (read a row at a time), 2,000 destinations looked up by
/// `rvnetctl route get` and compared with a brute-force longest-prefix match over the same
/// routes, and a datagram to a destination under one of them leaving by its gateway's
/// device (Linux, the gateway, sees it arrive).
pub fn million_routes_by_batch() -> TestResult {
    use netcore::ipv4::route::{mask, synth, RouteKind};
    use std::collections::HashMap;
    let _lab = Lab::standard()?;
    const N: usize = 1_000_000;
    // The test range is the lab's: no table route may cover any of it.
    let lab_range = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    let overlaps_lab = |p: u32, len: u8| (p & mask(len.min(15))) == (lab_range & mask(len.min(15)));
    // Gateway k of the synthetic table is 198.18.0.(100 + k), on rvn1's network.
    let gw_of = |kind: RouteKind| match kind {
        RouteKind::Gateway { via, .. } => Ipv4Addr::new(198, 18, 0, 100 + via.0[2]),
        _ => LX_IP,
    };
    let mut model: HashMap<(u32, u8), Ipv4Addr> = HashMap::with_capacity(N + 1);
    let mut table = Vec::with_capacity(N);
    let mut text = String::with_capacity(N * 40);
    let mut i = 0u64;
    while table.len() < N {
        let r = synth::route(7, i);
        i += 1;
        let p = r.prefix.to_u32();
        if overlaps_lab(p, r.len) || model.contains_key(&(p, r.len)) {
            continue;
        }
        let gw = gw_of(r.kind);
        model.insert((p, r.len), gw);
        table.push(r);
        text.push_str(&format!(
            "route add {}/{} via {gw}\n",
            Ipv4Addr::from(p),
            r.len
        ));
    }
    text.push_str(&format!("route add 198.19.128.0/24 via {LX_IP}\n"));
    model.insert((u32::from(Ipv4Addr::new(198, 19, 128, 0)), 24), LX_IP);
    let file = "/tmp/rvnet-big-table";
    std::fs::write(file, &text).map_err(|e| format!("{file}: {e}"))?;
    drop(text);
    let start = Instant::now();
    rvnetctl(RV, &format!("-batch {file}"))?;
    let took = start.elapsed();
    let _ = std::fs::remove_file(file);
    println!(
        "# {} routes loaded by rvnetctl -batch in {took:?} ({:.0} routes/s)",
        N + 1,
        (N + 1) as f64 / took.as_secs_f64()
    );
    ensure(
        took < Duration::from_secs(300),
        format!("{N} routes took {took:?} to load, want under 300 s on the debug guest"),
    )?;
    // The route cache grew with the table: one set per 16 routes, at most 65,536.
    let stats = parse_stats(&proc_file(RV, "stats")?).map_err(|e| e.to_string())?;
    let stat = |n: &str| stats.iter().find(|(k, _)| k == n).map(|(_, v)| *v);
    ensure_eq(stat("route_cache_sets"), Some(65536), "route_cache_sets")?;
    // The lab's connected and local routes besides.
    ensure_eq(stat("fib_routes"), Some(N as u64 + 3), "fib_routes")?;
    let count = in_ns(RV, "grep -c ' gateway$' /proc/net/rvnet/route")?;
    ensure_eq(
        count.trim(),
        &(N + 1).to_string(),
        "gateway routes in /proc",
    )?;
    // Lookups, against a brute-force longest-prefix match of the same table: nine in ten
    // destinations inside a route, one in ten anywhere (some match nothing).
    let mut rng = synth::Rng(0x5eed_0f_7ab1e);
    let mut queries = String::new();
    let mut want = Vec::new();
    while want.len() < 2000 {
        let d = synth::destination(&mut rng, &table).to_u32();
        if overlaps_lab(d, 15) {
            continue;
        }
        let hit = (0..=32u8)
            .rev()
            .find_map(|l| model.get(&(d & mask(l), l)).map(|gw| (l, *gw)));
        queries.push_str(&format!("route get {}\n", Ipv4Addr::from(d)));
        want.push(match hit {
            Some((l, gw)) => format!("{}/{l} {gw} rvn1 gateway", Ipv4Addr::from(d & mask(l))),
            None => "Network is unreachable".to_string(),
        });
    }
    let qfile = "/tmp/rvnet-big-table-queries";
    std::fs::write(qfile, &queries).map_err(|e| format!("{qfile}: {e}"))?;
    // Answers and refusals in order, one line each (then the count of refusals).
    let out = output_of(RV, &format!("rvnetctl -force -batch {qfile}"))?;
    let _ = std::fs::remove_file(qfile);
    let lines: Vec<&str> = out.lines().collect();
    let unrouted = want.iter().filter(|w| !w.contains('/')).count();
    ensure(
        unrouted > 0 && unrouted < 200,
        format!("{unrouted} of 2000 samples unrouted: the sample should hold a few"),
    )?;
    for (k, w) in want.iter().enumerate() {
        let got = lines.get(k).copied().unwrap_or("");
        let ok = if w.contains('/') {
            got.split_whitespace().collect::<Vec<_>>().join(" ") == *w
        } else {
            got.contains(&format!(":{}: route get: {w}", k + 1))
        };
        ensure(
            ok,
            format!("route get, query {}: got {got:?}, want {w:?}", k + 1),
        )?;
    }
    // Routed through the big table: a datagram to 198.19.128.9 reaches the gateway.
    let to = Ipv4Addr::new(198, 19, 128, 9);
    let seen = sent_and_seen_by_linux(to, b"big table")?;
    ensure(
        seen.contains("198.19.128.9.9"),
        format!("tcpdump on the gateway saw no datagram to {to}: {seen:?}"),
    )
}

/// Sends five datagrams carrying `payload` from rv to `to`, port 9, while tcpdump on lx's
/// port watches (`-e`: with the link-level header); what tcpdump printed.
fn sent_and_seen_by_linux(to: Ipv4Addr, payload: &[u8]) -> Result<String, String> {
    let cap = spawn_in_ns(
        LX,
        &format!(
            "exec timeout 20 tcpdump -l -n -e -c 1 -i rvn0 udp and dst host {to} and dst port 9"
        ),
    )?;
    std::thread::sleep(Duration::from_millis(3000));
    in_netns(RV, || {
        let s = Socket::dgram().map_err(io_err("socket"))?;
        for _ in 0..5 {
            s.send_to(payload, SocketAddrV4::new(to, 9))
                .map_err(io_err(&format!("send to {to}")))?;
            sleep_ms(200);
        }
        Ok(())
    })?;
    let out = cap
        .wait_with_output()
        .map_err(|e| format!("tcpdump: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// 100,000 neighbours. At gc_thresh3's default (1024) the static entries past it are refused
/// (ENOSPC, "table full"); with gc_thresh3 raised to 150,000, 100,000 static entries load by
/// `rvnetctl -batch`, `/proc/net/rvnet/arp` lists every one, `arp reverse` finds samples by
/// their MAC (the hashed cache's reverse walk), and a datagram to one of them leaves with its
/// MAC (tcpdump on Linux's port sees the frame).
pub fn arp_hundred_thousand_entries() -> TestResult {
    let _lab = Lab::standard()?;
    const N: u32 = 100_000;
    // A /15 beside the lab's /24, so that every entry's address is on rvn1's link.
    rvnetctl(RV, "addr add 198.19.255.2/15 dev rvn1")?;
    let base = u32::from(Ipv4Addr::new(198, 18, 1, 0));
    let ip = |i: u32| Ipv4Addr::from(base + i);
    let mac = |i: u32| {
        format!(
            "02:00:00:{:02x}:{:02x}:{:02x}",
            i >> 16,
            (i >> 8) & 0xff,
            i & 0xff
        )
    };
    let line = |i: u32| format!("arp add {} lladdr {} dev rvn1\n", ip(i), mac(i));
    let file = "/tmp/rvnet-arp-table";
    let ours = || -> Result<usize, String> {
        let rows = parse_arp(&proc_file(RV, "arp")?).map_err(|e| e.to_string())?;
        Ok(rows
            .iter()
            .filter(|r| r.flags == 6 && (ip(0)..=ip(N - 1)).contains(&r.ip))
            .count())
    };
    // The default limit: what the cache holds already, then 1,100 more tried.
    let others = parse_arp(&proc_file(RV, "arp")?)
        .map_err(|e| e.to_string())?
        .len();
    let room = 1024 - others as u32;
    let text: String = (0..1100).map(line).collect();
    std::fs::write(file, &text).map_err(|e| format!("{file}: {e}"))?;
    let out = output_of(RV, &format!("rvnetctl -force -batch {file}"))?;
    let refused = out.matches("arp add: No space left on device").count() as u32;
    ensure_eq(
        refused,
        1100 - room,
        "static entries refused past gc_thresh3 (1024)",
    )?;
    ensure(
        out.contains(&format!(
            "{file}:{}: arp add: No space left on device (table full)",
            room + 1
        )),
        format!("want line {} the first refused: {out}", room + 1),
    )?;
    ensure_eq(
        ours()?,
        room as usize,
        "static entries under the default limit",
    )?;
    // Raised: the rest of the 100,000.
    rvnetctl(RV, "set arp_gc_thresh3 150000")?;
    let text: String = (room..N).map(line).collect();
    std::fs::write(file, &text).map_err(|e| format!("{file}: {e}"))?;
    let start = Instant::now();
    rvnetctl(RV, &format!("-batch {file}"))?;
    let took = start.elapsed();
    let _ = std::fs::remove_file(file);
    println!(
        "# {} ARP entries added by rvnetctl -batch in {took:?}",
        N - room
    );
    ensure_eq(
        ours()?,
        N as usize,
        "static entries with gc_thresh3 at 150,000",
    )?;
    for i in [0, room, N / 2 + 3, N - 1] {
        let got = rvnetctl(RV, &format!("arp reverse {}", mac(i)))?;
        ensure_eq(
            got.trim(),
            format!("{} lladdr {} dev rvn1", ip(i), mac(i)).as_str(),
            "arp reverse",
        )?;
    }
    // A datagram to one of them goes to its MAC, with no ARP request.
    let k = 77_777;
    let seen = sent_and_seen_by_linux(ip(k), b"neighbour")?;
    ensure(
        seen.contains(&format!("> {}", mac(k))),
        format!("tcpdump saw no frame to {} at {}: {seen:?}", ip(k), mac(k)),
    )
}

/// Several addresses on one interface, as `ip addr` allows: a secondary in the primary's
/// subnet and a primary of another subnet both answer Linux's ping (ARP and ICMP echo), each
/// row is listed, the connected route stays while an address of its subnet is left, and
/// deleting the primary leaves the secondary answering (promoted, as with
/// promote_secondaries).
pub fn secondary_addresses_answer_ping() -> TestResult {
    let _lab = Lab::standard()?;
    let second = Ipv4Addr::new(198, 18, 0, 3);
    let other = Ipv4Addr::new(198, 18, 5, 2);
    rvnetctl(RV, &format!("addr add {second}/24 dev rvn1"))?;
    rvnetctl(RV, &format!("addr add {other}/24 dev rvn1"))?;
    rvnetctl_fails(
        RV,
        &format!("addr add {second}/24 dev rvn1"),
        "addr add",
        "File exists",
    )?;
    in_ns(LX, "ip addr add 198.18.5.1/24 dev rvn0")?;
    let devs = parse_dev(&proc_file(RV, "dev")?).map_err(|e| e.to_string())?;
    let addrs: Vec<&str> = devs
        .iter()
        .filter(|d| d.dev == "rvn1")
        .map(|d| d.addr.as_str())
        .collect();
    ensure_eq(
        addrs,
        vec!["198.18.0.2/24", "198.18.0.3/24", "198.18.5.2/24"],
        "rvn1's addresses in /proc/net/rvnet/dev",
    )?;
    let ping = |a: Ipv4Addr| in_ns(LX, &format!("ping -c 1 -W 3 {a}"));
    for a in [RV_IP, second, other] {
        ping(a).map_err(|e| format!("ping {a}: {e}"))?;
    }
    let routes = proc_file(RV, "route")?;
    for want in [
        "198.18.0.0/24",
        "198.18.5.0/24",
        "198.18.0.3/32",
        "198.18.5.2/32",
    ] {
        ensure(
            routes.lines().any(|l| l.starts_with(&format!("{want} "))),
            format!("no route {want}:\n{routes}"),
        )?;
    }
    // The primary goes: the secondary stays, with the subnet's connected route.
    rvnetctl(RV, &format!("addr del {RV_IP}/24 dev rvn1"))?;
    ping(second).map_err(|e| format!("ping {second} after its primary went: {e}"))?;
    let routes = proc_file(RV, "route")?;
    ensure(
        routes.lines().any(|l| l.starts_with("198.18.0.0/24 "))
            && !routes.lines().any(|l| l.starts_with("198.18.0.2/32 ")),
        format!("after deleting the primary:\n{routes}"),
    )?;
    rvnetctl(RV, &format!("addr del {second}/24 dev rvn1"))?;
    let routes = proc_file(RV, "route")?;
    ensure(
        !routes.lines().any(|l| l.starts_with("198.18.0.0/24 "))
            && routes.lines().any(|l| l.starts_with("198.18.5.0/24 ")),
        format!("after deleting the last address of 198.18.0.0/24:\n{routes}"),
    )
}

/// A fragment from Linux's rvn0 to rvnet's rvn1 of the UDP datagram with IP ID `id`: the
/// first (offset 0, MF, the 40 bytes of `frame`'s UDP header and data) or the last (offset
/// 40, 8 bytes).
fn fragment(dst: [u8; 6], src: [u8; 6], id: u16, last: bool) -> Vec<u8> {
    let mut f = frame(dst, src, "first_fragment");
    if last {
        f.truncate(14 + 20 + 8);
        f[14 + 2..14 + 4].copy_from_slice(&28u16.to_be_bytes());
        f[14 + 6..14 + 8].copy_from_slice(&5u16.to_be_bytes());
    }
    f[14 + 4..14 + 6].copy_from_slice(&id.to_be_bytes());
    f[14 + 10..14 + 12].copy_from_slice(&[0, 0]);
    let c = csum(&f[14..34]);
    f[14 + 10..14 + 12].copy_from_slice(&c.to_be_bytes());
    f
}

/// Reassembly is bounded by memory, as Linux's ipfrag_high_thresh (4 MiB by default,
/// settable): with it lowered, 200 datagrams left waiting for their last fragment push the
/// oldest out (counted in ip_reasm_evicted); the newest still completes when its last
/// fragment comes, the oldest does not (its last fragment starts a datagram of its own).
pub fn reassembly_evicts_oldest_past_high_thresh() -> TestResult {
    let _lab = Lab::standard()?;
    let dst = parse_mac(&mac(RV, "rvn1")?).ok_or("bad MAC of rvn1")?;
    let src = parse_mac(&mac(LX, "rvn0")?).ok_or("bad MAC of rvn0")?;
    in_ns(LX, &format!("ping -c 1 -W 2 {RV_IP}"))?;
    ensure_eq(
        rvnetctl(RV, "get ipfrag_high_thresh")?.trim(),
        "4194304",
        "ipfrag_high_thresh by default",
    )?;
    rvnetctl(RV, "set ipfrag_high_thresh 16384")?;
    let evicted = Counter::new(RV, "ip_reasm_evicted")?;
    let ok = Counter::new(RV, "ip_reasm_ok")?;
    let firsts: Vec<Vec<u8>> = (1..=200).map(|id| fragment(dst, src, id, false)).collect();
    inject(LX, "rvn0", &firsts)?;
    let pushed = wait_for(Duration::from_secs(5), || Ok(evicted.delta()? >= 100))?;
    ensure(
        pushed,
        format!(
            "ip_reasm_evicted grew by {} for 200 datagrams in 16 KiB, want 100 or more",
            evicted.delta()?
        ),
    )?;
    inject(
        LX,
        "rvn0",
        &[fragment(dst, src, 200, true), fragment(dst, src, 1, true)],
    )?;
    let done = wait_for(Duration::from_secs(5), || Ok(ok.delta()? >= 1))?;
    ensure(done, "the newest datagram did not complete")?;
    sleep_ms(300);
    ensure_eq(
        ok.delta()?,
        1,
        "datagrams completed (the newest, not the oldest)",
    )
}

/// How long the concurrency stress runs its churn.
const STRESS: Duration = Duration::from_secs(12);

/// The receive path, the sockets and the tables at once, on a pair with two queues (so two
/// NAPI polls receive side by side): clients open, bind, send, read and close AF_RVNET
/// sockets; Linux blasts datagrams at bound and unbound ports (ICMP port unreachable back);
/// blocked readers are woken by every datagram; routes are added and removed, ARP entries
/// expire (ageing 300 ms) and are flushed, and a third interface is attached, given an
/// address and a route, and deleted, all at the same time. Nothing may fail, no reader may
/// stay blocked, every socket must be gone from the table at the end, and the stack must
/// still answer; the kernel log is checked for lockdep, KASAN and other reports after the
/// run, as for every test.
pub fn concurrency_stress() -> TestResult {
    const ECHO: u16 = 7900;
    const READ_BASE: u16 = 7950;
    const CLIENT_BASE: u16 = 8000;
    let lab = Lab::new(&[LX, RV])?;
    shell(&format!(
        "ip link add rvn0 netns {LX} numtxqueues 2 numrxqueues 2 type rvnic peer name rvn1 \
         netns {RV} numtxqueues 2 numrxqueues 2"
    ))?;
    for (ns, dev) in [(LX, "rvn0"), (RV, "rvn1")] {
        in_ns(ns, &format!("ip link set {dev} up"))?;
    }
    in_ns(LX, &format!("ip addr add {LX_IP}/24 dev rvn0"))?;
    rvnetctl(RV, &format!("addr add {RV_IP}/24 dev rvn1"))?;
    rvnetctl(RV, "set arp_ageing_ms 300")?;
    let _ = &lab;
    sleep_ms(500);
    resolve_from_linux()?;
    let stop = AtomicBool::new(false);
    let exchanged = AtomicUsize::new(0);
    let lx_echo = linux_udp(LX, LX_IP)?;
    let echo_addr = lx_echo.local_addr().map_err(io_err("local_addr"))?;
    let echo_port = echo_addr.port();
    let _ = ECHO;
    let readers = rv_sockets(2, READ_BASE)?;
    for r in &readers {
        r.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(io_err("SO_RCVTIMEO"))?;
    }
    let blaster = lx_udp()?;
    let got = [AtomicUsize::new(0), AtomicUsize::new(0)];
    let results: Vec<(&str, TestResult)> = std::thread::scope(|sc| {
        let stop = &stop;
        let exchanged = &exchanged;
        let mut hs: Vec<(&str, std::thread::ScopedJoinHandle<'_, TestResult>)> = Vec::new();
        // Linux echoes what the rvnet clients send.
        let echo = &lx_echo;
        hs.push((
            "echo",
            sc.spawn(move || {
                echo.set_read_timeout(Some(Duration::from_millis(200)))
                    .map_err(io_err("SO_RCVTIMEO"))?;
                let mut buf = [0u8; 256];
                while !stop.load(Ordering::SeqCst) {
                    if let Ok((n, from)) = echo.recv_from(&mut buf) {
                        let _ = echo.send_to(&buf[..n], from);
                    }
                }
                Ok(())
            }),
        ));
        for c in 0..4u16 {
            hs.push((
                "client",
                sc.spawn(move || {
                    in_netns(RV, || {
                        let to = SocketAddrV4::new(LX_IP, echo_port);
                        let mut k = 0u16;
                        while !stop.load(Ordering::SeqCst) {
                            let s = Socket::dgram().map_err(io_err("socket"))?;
                            k = k.wrapping_add(1);
                            if k.is_multiple_of(2) {
                                let port = CLIENT_BASE + c * 50 + k % 50;
                                // Another client may hold it a moment: EADDRINUSE is fine.
                                if let Err(e) = s.bind(SocketAddrV4::new(RV_IP, port)) {
                                    if e.raw_os_error() != Some(libc::EADDRINUSE) {
                                        return Err(format!("bind {port}: {e}"));
                                    }
                                }
                            }
                            if k.is_multiple_of(3) {
                                s.connect(to).map_err(io_err("connect"))?;
                            }
                            s.set_read_timeout(Some(Duration::from_millis(500)))
                                .map_err(io_err("SO_RCVTIMEO"))?;
                            let tag = [c as u8, (k >> 8) as u8, k as u8];
                            match s.send_to(&tag, to) {
                                Ok(_) => {}
                                // Unresolved while the ARP entry was flushed, refused by
                                // an ICMP error for a blast: the next round goes on.
                                Err(e)
                                    if matches!(
                                        e.raw_os_error(),
                                        Some(
                                            libc::EHOSTUNREACH
                                                | libc::ECONNREFUSED
                                                | libc::ENOBUFS
                                                | libc::EAGAIN
                                        )
                                    ) =>
                                {
                                    continue
                                }
                                Err(e) => return Err(format!("sendto: {e}")),
                            }
                            let mut buf = [0u8; 64];
                            // Blasts at this port may come first: read until ours or timeout.
                            for _ in 0..8 {
                                match s.recv(&mut buf, 0) {
                                    Ok(3) if buf[..3] == tag => {
                                        exchanged.fetch_add(1, Ordering::SeqCst);
                                        break;
                                    }
                                    Ok(_) => {}
                                    Err(_) => break,
                                }
                            }
                        }
                        Ok(())
                    })
                }),
            ));
        }
        // Blocked readers, woken by every datagram, until their stop.
        let got = &got;
        for (i, r) in readers.iter().enumerate() {
            hs.push((
                "reader",
                sc.spawn(move || {
                    let mut buf = [0u8; 64];
                    loop {
                        let n = r
                            .recv(&mut buf, 0)
                            .map_err(|e| format!("reader {i} blocked 10 s (lost wakeup?): {e}"))?;
                        if n == 1 && buf[0] == STOP {
                            return ensure(
                                got[i].load(Ordering::SeqCst) > 0,
                                format!("reader {i} got no datagram before its stop"),
                            );
                        }
                        got[i].fetch_add(1, Ordering::SeqCst);
                    }
                }),
            ));
        }
        // Linux blasts at the readers and at the clients' ports, bound or not.
        let bl = &blaster;
        hs.push((
            "blaster",
            sc.spawn(move || {
                let mut k = 0u16;
                while !stop.load(Ordering::SeqCst) {
                    k = k.wrapping_add(1);
                    let port = if k.is_multiple_of(2) {
                        READ_BASE + (k / 2) % 2
                    } else {
                        CLIENT_BASE + k % 200
                    };
                    let _ = bl.send_to(b"blast", (RV_IP, port));
                    if k.is_multiple_of(16) {
                        sleep_ms(1);
                    }
                }
                Ok(())
            }),
        ));
        // Routes come and go, ARP entries are flushed, in one netlink socket.
        hs.push((
            "tables",
            sc.spawn(move || {
                in_netns(RV, || {
                    let mut nl = Rvnet::open().map_err(|e| format!("netlink: {e}"))?;
                    let mut round = 0u32;
                    while !stop.load(Ordering::SeqCst) {
                        for j in 0..64u8 {
                            let dst = Ipv4Addr::new(10, (round % 200) as u8, j, 0);
                            nl.route_add(dst, 24, LX_IP, 0)
                                .map_err(|e| format!("route add {dst}/24: {e}"))?;
                        }
                        for j in 0..64u8 {
                            let dst = Ipv4Addr::new(10, (round % 200) as u8, j, 0);
                            nl.route_del(dst, 24)
                                .map_err(|e| format!("route del {dst}/24: {e}"))?;
                        }
                        nl.neigh_flush().map_err(|e| format!("neigh flush: {e}"))?;
                        round += 1;
                    }
                    Ok(())
                })
            }),
        ));
        // An interface attached, configured and deleted, again and again.
        hs.push((
            "ifaces",
            sc.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    shell(&format!(
                        "ip link add rvc0 netns {RV} type rvnic peer name rvc1 netns {LX}"
                    ))?;
                    in_ns(RV, "ip link set rvc0 up")?;
                    rvnetctl(RV, "addr add 198.18.9.2/24 dev rvc0")?;
                    rvnetctl(RV, "route add 198.19.200.0/24 via 198.18.9.1")?;
                    sleep_ms(100);
                    in_ns(RV, "ip link del rvc0")?;
                }
                Ok(())
            }),
        ));
        sleep_ms(STRESS.as_millis() as u64);
        stop.store(true, Ordering::SeqCst);
        for i in 0..2u16 {
            let _ = blaster.send_to(&[STOP], (RV_IP, READ_BASE + i));
        }
        hs.into_iter()
            .map(|(n, h)| {
                (
                    n,
                    h.join()
                        .unwrap_or_else(|_| Err("the thread panicked".into())),
                )
            })
            .collect()
    });
    for (name, r) in results {
        r.map_err(|e| format!("{name}: {e}"))?;
    }
    let n = exchanged.load(Ordering::SeqCst);
    ensure(n >= 20, format!("only {n} client exchanges in {STRESS:?}"))?;
    drop(readers);
    // Every socket closed is gone from the table, and the stack still answers.
    let left = parse_sockets(&proc_file(RV, "sockets")?).map_err(|e| e.to_string())?;
    ensure_eq(left.len(), 0, "sockets left in /proc/net/rvnet/sockets")?;
    ping_ok(LX, "-c 2 -W 2", RV_IP)?;
    ensure(
        !rvnetctl(RV, "route show")?.contains("10."),
        "a churned route left in the FIB",
    )?;
    println!("{n} client exchanges");
    Ok(())
}
