//! AF_RVNET in a real kernel: rvnet's own IPv4 stack on one end of an rvnic pair, checked
//! against Linux's stack on the other end (or against a second rvnet stack), through the
//! sockets, `rvnetctl` and /proc/net/rvnet.
//!
//! The usual lab: namespace "lx" holds rvn0 with Linux's 198.18.0.1/24; namespace "rv" holds
//! its peer rvn1, on which only rvnet has an address, 198.18.0.2/24.

use crate::harness::{ensure, ensure_eq, read, TestResult};
use crate::tools::csum;
use crate::topo::{finish, in_netns, in_ns, shell, spawn_in_ns, Namespaces};
use rvnet_uapi::proc::{parse_arp, parse_dev, parse_route, parse_sockets, parse_stats, ArpRow};
use rvnet_uapi::{parse_mac, Socket, FAMILY_PARAM};
use std::fmt::Debug;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

const LX: &str = "lx";
const RV: &str = "rv";
const LX_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const RV_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

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
    in_ns(ns, &format!("cat /proc/net/rvnet/{name}"))
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
    in_netns(LX, || {
        UdpSocket::bind((LX_IP, 0)).map_err(io_err("Linux UDP socket"))
    })
}

/// Starts `server` in `server_ns`, runs `client` in `client_ns`, then waits for the server
/// (stopping it if the client failed, so that it does not wait for datagrams in vain).
fn serve_and_run(server_ns: &str, server: &str, client_ns: &str, client: &str) -> TestResult {
    let mut srv = spawn_in_ns(server_ns, &format!("exec {server}"))?;
    sleep_ms(300);
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

/// Waits in epoll_wait(2) for EPOLLIN on `fd`.
fn epoll_in(fd: i32) -> Result<(), String> {
    // SAFETY: plain system call; the descriptor is owned below.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    ensure(
        ep >= 0,
        format!("epoll_create1: {}", io::Error::last_os_error()),
    )?;
    // SAFETY: `ep` is a new descriptor nothing else owns.
    let ep = unsafe { OwnedFd::from_raw_fd(ep) };
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: 7,
    };
    // SAFETY: valid descriptors and event.
    let r = unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
    ensure(r == 0, format!("epoll_ctl: {}", io::Error::last_os_error()))?;
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
        _ => {}
    }
    let c = csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    if breakage == "ip_rx_bad_csum" {
        ip[10] ^= 0x5a;
    }
    f.extend_from_slice(&ip);
    f.extend_from_slice(&40000u16.to_be_bytes());
    f.extend_from_slice(&9u16.to_be_bytes());
    f.extend_from_slice(&40u16.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&[0x5a; 32]);
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
        let s = Socket::dgram().map_err(io_err("socket"))?;
        let ifindex = rvnet_uapi::ifindex("rvn1").map_err(io_err("rvn1"))?;
        ensure_errno(s.attach(999_999), libc::ENODEV, "attach ifindex 999999")?;
        for len in [0, 33] {
            ensure_errno(
                s.addr_add(ifindex, Ipv4Addr::new(198, 18, 5, 1), len),
                libc::EINVAL,
                &format!("addr add with prefixlen {len}"),
            )?;
        }
        let padded = rvnet_uapi::AddrReq {
            ifindex,
            addr: rvnet_uapi::be32(Ipv4Addr::new(198, 18, 5, 1)),
            prefixlen: 24,
            pad: [0, 1, 0],
        };
        ensure_errno(
            s.set_opt(rvnet_uapi::SOL_RVNET, rvnet_uapi::RVNET_ADDR_ADD, &padded),
            libc::EINVAL,
            "addr add with a non-zero pad",
        )?;
        ensure_errno(
            s.set_opt(rvnet_uapi::SOL_RVNET, rvnet_uapi::RVNET_SET, &1u32),
            libc::EINVAL,
            "RVNET_SET with a 4-byte optlen",
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
    fn checksum_known_answer() {
        // RFC 1071's example: the sum of these words is 0xddf2 (one's complement 0x220d).
        assert_eq!(
            csum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        assert_eq!(csum(&[0xff]), 0x00ff);
    }
}
