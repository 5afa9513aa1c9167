//! Traffic programs the tests run inside network namespaces (`ip netns exec NS rvnet-vmtest
//! SUBCOMMAND ...`): a TCP source and a sink that checks every byte, and a UDP echo pair that
//! checks every datagram. The data is a position-dependent pattern, so a lost, duplicated,
//! reordered or corrupted byte is caught at its offset. The `rvnet-*` programs do the same over
//! AF_RVNET (rvnet's own IPv4 stack); `as-user` runs a command without privileges.

use rvnet_uapi::Socket;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// The byte at stream offset `i`.
pub fn pattern(i: u64) -> u8 {
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 56) as u8 ^ (i as u8)
}

fn fill(buf: &mut [u8], start: u64) {
    for (k, b) in buf.iter_mut().enumerate() {
        *b = pattern(start + k as u64);
    }
}

fn addr(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|e| format!("bad address {s}: {e}"))
}

/// `tcp-sink ADDR`: accepts one connection, reads to EOF checking the pattern, prints
/// `ok BYTES` and exits 0, or `bad ...` and exits 1.
pub fn tcp_sink(args: &[String]) -> Result<(), String> {
    let l = TcpListener::bind(addr(args.first().ok_or("tcp-sink ADDR")?)?)
        .map_err(|e| e.to_string())?;
    println!("listening");
    let (mut s, _) = l.accept().map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut want = vec![0u8; 256 * 1024];
    let mut off = 0u64;
    loop {
        let n = s
            .read(&mut buf)
            .map_err(|e| format!("read at {off}: {e}"))?;
        if n == 0 {
            break;
        }
        fill(&mut want[..n], off);
        if let Some(k) = (0..n).find(|&k| buf[k] != want[k]) {
            return Err(format!("bad byte at offset {}", off + k as u64));
        }
        off += n as u64;
    }
    println!("ok {off}");
    Ok(())
}

/// `tcp-source ADDR BYTES [SECONDS [STOPFILE]]`: connects (retrying for 30 s: the sink may be
/// slow to start on a loaded guest) and sends BYTES of the pattern, or stops earlier once
/// SECONDS have passed or STOPFILE exists; prints `sent N`.
pub fn tcp_source(args: &[String]) -> Result<(), String> {
    let a = addr(args.first().ok_or("tcp-source ADDR BYTES")?)?;
    let total: u64 = args
        .get(1)
        .ok_or("tcp-source ADDR BYTES")?
        .parse()
        .map_err(|_| "bad BYTES")?;
    let limit = match args.get(2) {
        Some(t) => Some(Duration::from_secs(t.parse().map_err(|_| "bad SECONDS")?)),
        None => None,
    };
    let stop = args.get(3).map(std::path::PathBuf::from);
    let start = Instant::now();
    let mut s = loop {
        match TcpStream::connect_timeout(&a, Duration::from_secs(2)) {
            Ok(s) => break s,
            Err(e) if start.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(format!("connect {a}: {e}")),
        }
    };
    s.set_write_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 128 * 1024];
    let mut off = 0u64;
    let sending = Instant::now();
    let mut rounds = 0u32;
    while off < total && limit.is_none_or(|l| sending.elapsed() < l) {
        rounds = rounds.wrapping_add(1);
        if rounds.is_multiple_of(16) && stop.as_ref().is_some_and(|f| f.exists()) {
            break;
        }
        let n = ((total - off) as usize).min(buf.len());
        fill(&mut buf[..n], off);
        s.write_all(&buf[..n])
            .map_err(|e| format!("write at {off}: {e}"))?;
        off += n as u64;
    }
    s.shutdown(std::net::Shutdown::Write)
        .map_err(|e| e.to_string())?;
    // Wait for the sink to close, so that every byte was read before we report.
    let _ = s.read(&mut buf);
    println!("sent {off}");
    Ok(())
}

/// `udp-echo ADDR COUNT`: echoes COUNT datagrams back to their senders (gives up after 30 s).
pub fn udp_echo(args: &[String]) -> Result<(), String> {
    let s = UdpSocket::bind(addr(args.first().ok_or("udp-echo ADDR COUNT")?)?)
        .map_err(|e| e.to_string())?;
    let count: usize = args
        .get(1)
        .ok_or("udp-echo ADDR COUNT")?
        .parse()
        .map_err(|_| "bad COUNT")?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    println!("listening");
    let mut buf = vec![0u8; 65536];
    for _ in 0..count {
        let (n, from) = s.recv_from(&mut buf).map_err(|e| e.to_string())?;
        s.send_to(&buf[..n], from).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `udp-client ADDR SIZE...`: sends one datagram of each SIZE (pattern offset by its index)
/// and checks that the same bytes come back.
pub fn udp_client(args: &[String]) -> Result<(), String> {
    let a = addr(args.first().ok_or("udp-client ADDR SIZE...")?)?;
    let local: SocketAddr = if a.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
        .parse()
        .map_err(|_| "local")?;
    let s = UdpSocket::bind(local).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    let mut back = vec![0u8; 65536];
    for (i, size) in args[1..].iter().enumerate() {
        let size: usize = size.parse().map_err(|_| "bad SIZE")?;
        let mut out = vec![0u8; size];
        fill(&mut out, i as u64 * 7919);
        s.send_to(&out, a)
            .map_err(|e| format!("send {size}: {e}"))?;
        let (n, _) = s
            .recv_from(&mut back)
            .map_err(|e| format!("no echo of {size} bytes: {e}"))?;
        if back[..n] != out[..] {
            return Err(format!("echo of {size} bytes differs ({n} bytes back)"));
        }
    }
    println!("ok {}", args.len() - 1);
    Ok(())
}

/// `udp-rr ADDR COUNT`: COUNT one-byte request/response exchanges with a `udp-echo` server;
/// prints `p50_us P50 p99_us P99`.
pub fn udp_rr(args: &[String]) -> Result<(), String> {
    let a = addr(args.first().ok_or("udp-rr ADDR COUNT")?)?;
    let count: usize = args
        .get(1)
        .ok_or("udp-rr ADDR COUNT")?
        .parse()
        .map_err(|_| "bad COUNT")?;
    let local: SocketAddr = if a.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
        .parse()
        .map_err(|_| "local")?;
    let s = UdpSocket::bind(local).map_err(|e| e.to_string())?;
    s.connect(a).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    let mut rtts = Vec::with_capacity(count);
    for i in 0..count {
        let t = Instant::now();
        s.send(&[i as u8]).map_err(|e| e.to_string())?;
        s.recv(&mut buf).map_err(|e| format!("request {i}: {e}"))?;
        rtts.push(t.elapsed().as_nanos() as u64);
    }
    rtts.sort_unstable();
    let pct = |p: usize| {
        rtts.get((rtts.len() * p / 100).min(rtts.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
            / 1000
    };
    println!("p50_us {} p99_us {}", pct(50), pct(99));
    Ok(())
}

// AF_RVNET programs: the same checks over rvnet's own stack, through rvnet-uapi.

fn arg<T: std::str::FromStr>(args: &[String], i: usize, usage: &str) -> Result<T, String> {
    let a = args.get(i).ok_or_else(|| format!("usage: {usage}"))?;
    a.parse()
        .map_err(|_| format!("bad argument {a:?}; usage: {usage}"))
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn csum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// `rvnet-udp-echo PORT COUNT`: an AF_RVNET UDP socket on 0.0.0.0:PORT echoes COUNT
/// datagrams back to their senders (gives up after 30 s).
pub fn rvnet_udp_echo(args: &[String]) -> Result<(), String> {
    const USAGE: &str = "rvnet-udp-echo PORT COUNT";
    let port: u16 = arg(args, 0, USAGE)?;
    let count: usize = arg(args, 1, USAGE)?;
    let s = rvnet_bound_any(port)?;
    println!("listening");
    echo_datagrams(&s, count)
}

/// An AF_RVNET UDP socket bound to 0.0.0.0:`port` whose receives give up after 30 s.
fn rvnet_bound_any(port: u16) -> Result<Socket, String> {
    let s = Socket::dgram().map_err(|e| format!("socket: {e}"))?;
    s.bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
        .map_err(|e| format!("bind port {port}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

/// Sends each of the next `count` datagrams `s` receives back to its sender.
pub(crate) fn echo_datagrams(s: &Socket, count: usize) -> Result<(), String> {
    let mut buf = vec![0u8; 65536];
    for i in 0..count {
        let (n, from) = s
            .recv_from(&mut buf)
            .map_err(|e| format!("datagram {i}: {e}"))?;
        s.send_to(&buf[..n], from)
            .map_err(|e| format!("echo {n} bytes to {from}: {e}"))?;
    }
    Ok(())
}

/// `rvnet-udp-client ADDR PORT SIZE[,SIZE...] COUNT`: from an AF_RVNET UDP socket, sends
/// COUNT datagrams of each SIZE (a pattern offset by their index) and checks that the same
/// bytes come back from ADDR:PORT; prints `ok N`.
pub fn rvnet_udp_client(args: &[String]) -> Result<(), String> {
    const USAGE: &str = "rvnet-udp-client ADDR PORT SIZE[,SIZE...] COUNT";
    let ip: Ipv4Addr = arg(args, 0, USAGE)?;
    let port: u16 = arg(args, 1, USAGE)?;
    let sizes: String = arg(args, 2, USAGE)?;
    let count: usize = arg(args, 3, USAGE)?;
    let to = SocketAddrV4::new(ip, port);
    let s = Socket::dgram().map_err(|e| format!("socket: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    let mut back = vec![0u8; 65536];
    let mut done = 0;
    for size in sizes.split(',') {
        let size: usize = size.parse().map_err(|_| format!("bad SIZE {size:?}"))?;
        for _ in 0..count {
            let mut out = vec![0u8; size];
            fill(&mut out, done as u64 * 7919);
            s.send_to(&out, to)
                .map_err(|e| format!("send {size} bytes to {to}: {e}"))?;
            let (n, from) = s
                .recv_from(&mut back)
                .map_err(|e| format!("no echo of {size} bytes: {e}"))?;
            if from != to {
                return Err(format!("echo of {size} bytes came from {from}, not {to}"));
            }
            if back[..n] != out[..] {
                return Err(format!("echo of {size} bytes differs ({n} bytes back)"));
            }
            done += 1;
        }
    }
    println!("ok {done}");
    Ok(())
}

/// `rvnet-ping ADDR COUNT`: ICMP echo over an AF_RVNET raw socket (the kernel builds the IP
/// header); every reply must match its request's identifier, sequence and payload, with a
/// valid checksum. Prints `ok COUNT`.
pub fn rvnet_ping(args: &[String]) -> Result<(), String> {
    const USAGE: &str = "rvnet-ping ADDR COUNT";
    let ip: Ipv4Addr = arg(args, 0, USAGE)?;
    let count: u16 = arg(args, 1, USAGE)?;
    let s = Socket::raw(libc::IPPROTO_ICMP).map_err(|e| format!("raw socket: {e}"))?;
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    let id = std::process::id() as u16;
    let mut buf = vec![0u8; 2048];
    for seq in 1..=count {
        let mut req = vec![8u8, 0, 0, 0];
        req.extend_from_slice(&id.to_be_bytes());
        req.extend_from_slice(&seq.to_be_bytes());
        let mut payload = vec![0u8; 56];
        fill(&mut payload, u64::from(seq) * 131);
        req.extend_from_slice(&payload);
        let c = csum(&req);
        req[2..4].copy_from_slice(&c.to_be_bytes());
        s.send_to(&req, SocketAddrV4::new(ip, 0))
            .map_err(|e| format!("send echo {seq}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            if Instant::now() > deadline {
                return Err(format!("no reply to echo {seq} from {ip}"));
            }
            let (n, from) = match s.recv_from(&mut buf) {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(format!("recv: {e}")),
            };
            // A raw socket gets the IP header too (as on AF_INET); skip it if it is there.
            let mut icmp = &buf[..n];
            if icmp.first().is_some_and(|b| b >> 4 == 4) {
                icmp = icmp.get(usize::from(icmp[0] & 0x0f) * 4..).unwrap_or(&[]);
            }
            let ours = icmp.len() >= 8
                && icmp[0] == 0
                && icmp[4..6] == id.to_be_bytes()
                && icmp[6..8] == seq.to_be_bytes();
            if !ours {
                continue;
            }
            if *from.ip() != ip {
                return Err(format!("reply to echo {seq} from {from}, not {ip}"));
            }
            if csum(icmp) != 0 {
                return Err(format!("reply to echo {seq}: bad ICMP checksum"));
            }
            if icmp[8..] != payload[..] {
                return Err(format!("reply to echo {seq}: payload differs"));
            }
            break;
        }
    }
    println!("ok {count}");
    Ok(())
}

/// `rvnet-udp-send ADDR PORT TEXT`: sends TEXT as one datagram from a new AF_RVNET UDP socket
/// (unbound: the send binds it to an ephemeral port); prints `sent N bytes from port P`.
pub fn rvnet_udp_send(args: &[String]) -> Result<(), String> {
    const USAGE: &str = "rvnet-udp-send ADDR PORT TEXT";
    let ip: Ipv4Addr = arg(args, 0, USAGE)?;
    let port: u16 = arg(args, 1, USAGE)?;
    let text = args.get(2).ok_or_else(|| format!("usage: {USAGE}"))?;
    let to = SocketAddrV4::new(ip, port);
    let s = Socket::dgram().map_err(|e| format!("socket: {e}"))?;
    let n = s
        .send_to(text.as_bytes(), to)
        .map_err(|e| format!("send to {to}: {e}"))?;
    let local = s.local_addr().map_err(|e| format!("getsockname: {e}"))?;
    println!("sent {n} bytes from port {} to {to}", local.port());
    Ok(())
}

/// `rvnet-udp-recv PORT COUNT`: an AF_RVNET UDP socket on 0.0.0.0:PORT receives COUNT
/// datagrams, each with a blocking recvfrom (30 s limit), and prints for each how long the
/// call took, the text and the sender. Before every recvfrom but the first it waits for a
/// line on stdin (EOF does not wait), so that a datagram can be left in the socket's queue
/// to show that recvfrom then returns at once.
pub fn rvnet_udp_recv(args: &[String]) -> Result<(), String> {
    const USAGE: &str = "rvnet-udp-recv PORT COUNT";
    let port: u16 = arg(args, 0, USAGE)?;
    let count: usize = arg(args, 1, USAGE)?;
    let s = rvnet_bound_any(port)?;
    println!("bound to 0.0.0.0:{port}");
    let mut buf = vec![0u8; 65536];
    for i in 0..count {
        if i > 0 {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        }
        let t = Instant::now();
        let (n, from) = s
            .recv_from(&mut buf)
            .map_err(|e| format!("datagram {}: {e}", i + 1))?;
        println!(
            "recvfrom returned after {} ms: {n} bytes {:?} from {from}",
            t.elapsed().as_millis(),
            String::from_utf8_lossy(&buf[..n])
        );
    }
    Ok(())
}

/// `rvnet-socket dgram|raw PROTO`: tries socket(family, type, PROTO); prints `ok` or
/// `errno N`.
pub fn rvnet_socket(args: &[String]) -> Result<(), String> {
    const USAGE: &str = "rvnet-socket dgram|raw PROTO";
    let ty = match args.first().map(String::as_str) {
        Some("dgram") => libc::SOCK_DGRAM,
        Some("raw") => libc::SOCK_RAW,
        _ => return Err(format!("usage: {USAGE}")),
    };
    let proto: i32 = arg(args, 1, USAGE)?;
    match Socket::new(ty, proto) {
        Ok(_) => println!("ok"),
        Err(e) => println!("errno {}", e.raw_os_error().unwrap_or(0)),
    }
    Ok(())
}

/// `as-user UID CMD [ARG...]`: drops to user and group UID with no supplementary groups
/// (and so every capability), then runs CMD in this process.
pub fn as_user(args: &[String]) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    const USAGE: &str = "as-user UID CMD [ARG...]";
    let id: u32 = arg(args, 0, USAGE)?;
    let cmd = args.get(1).ok_or_else(|| format!("usage: {USAGE}"))?;
    // SAFETY: plain system calls; this process is single-threaded here.
    let r = unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(id) != 0 {
            -1
        } else {
            libc::setuid(id)
        }
    };
    if r != 0 {
        return Err(format!(
            "dropping to uid {id}: {}",
            std::io::Error::last_os_error()
        ));
    }
    let e = std::process::Command::new(cmd).args(&args[2..]).exec();
    Err(format!("exec {cmd}: {e}"))
}
