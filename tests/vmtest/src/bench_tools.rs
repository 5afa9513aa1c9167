//! Benchmark programs for `make bench` (tests/guest/bench.sh): UDP receive rate and
//! request/response latency, with the socket family as an argument, so that AF_RVNET and its
//! AF_INET anchor run the very same code (through [`Socket`], whose `sockaddr_in` carries
//! whichever family the socket was made with).
//!
//! FAMILY is `inet` (AF_INET, Linux's stack), `rvnet` (AF_RVNET, the module parameter
//! `family`) or a number.
//!
//! - `bench-sink FAMILY ADDR:PORT SECONDS`: counts datagrams for SECONDS from the first one;
//!   prints `pps P received N`.
//! - `bench-blast FAMILY ADDR:PORT SIZE SECONDS`: sends SIZE-byte datagrams to ADDR:PORT as
//!   fast as it can for SECONDS; prints `pps P sent N errors E`.
//! - `bench-echo FAMILY ADDR:PORT COUNT`: echoes COUNT datagrams to their senders.
//! - `bench-rr FAMILY ADDR:PORT COUNT [WARMUP]`: WARMUP (default 200) untimed, then COUNT
//!   timed one-byte exchanges with a `bench-echo`; prints `p50_us P50 p99_us P99`.
//! - `bench-table FILE ROUTES ARPS DEV`: writes an `rvnetctl -batch` file of ROUTES routes of
//!   netcore's synthetic Internet-shaped table (none in 198.18.0.0/15; gateways
//!   198.18.0.100 to .163) and ARPS static ARP entries on DEV (198.18.64.0 on).
//! - `hold-sockets FAMILY ADDR FIRST_PORT N`: binds N UDP sockets on ADDR, ports FIRST_PORT
//!   on, prints `ready`, and keeps them until its standard input closes.

use rvnet_uapi::Socket;
use std::io;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

fn arg<T: std::str::FromStr>(args: &[String], i: usize, usage: &str) -> Result<T, String> {
    let a = args.get(i).ok_or_else(|| format!("usage: {usage}"))?;
    a.parse()
        .map_err(|_| format!("bad argument {a:?}; usage: {usage}"))
}

/// The family number FAMILY names.
fn family(name: &str) -> Result<i32, String> {
    match name {
        "inet" => Ok(libc::AF_INET),
        "rvnet" => rvnet_uapi::family().map_err(|e| format!("AF_RVNET family: {e}")),
        n => n
            .parse()
            .map_err(|_| format!("bad FAMILY {n:?}: inet, rvnet or a number")),
    }
}

/// A UDP socket of FAMILY (`args[0]`) and the address `args[1]`.
fn socket(args: &[String], usage: &str) -> Result<(Socket, SocketAddrV4), String> {
    let fam = family(&arg::<String>(args, 0, usage)?)?;
    let a: SocketAddrV4 = arg(args, 1, usage)?;
    let s = Socket::with_family(fam, libc::SOCK_DGRAM, 0)
        .map_err(|e| format!("socket(family {fam}, SOCK_DGRAM): {e}"))?;
    Ok((s, a))
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// `bench-sink FAMILY ADDR:PORT SECONDS`: binds ADDR:PORT, waits (10 s at most) for the
/// first datagram, then counts datagrams for SECONDS; afterwards it drains what still comes
/// until the sender has been quiet for 300 ms (so that the sender never meets a closed port),
/// and prints `pps P received N`.
pub fn bench_sink(args: &[String]) -> Result<(), String> {
    const USAGE: &str = "bench-sink FAMILY ADDR:PORT SECONDS";
    let (s, a) = socket(args, USAGE)?;
    let secs: f64 = arg(args, 2, USAGE)?;
    let window = Duration::from_secs_f64(secs);
    // The same request on both families (each caps it at net.core.rmem_max).
    s.set_rcvbuf(4 << 20)
        .map_err(|e| format!("SO_RCVBUF: {e}"))?;
    s.bind(a).map_err(|e| format!("bind {a}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    println!("listening");
    let mut buf = vec![0u8; 65536];
    s.recv(&mut buf, 0)
        .map_err(|e| format!("no datagram on {a} in 10 s: {e}"))?;
    let start = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(50)))
        .map_err(|e| e.to_string())?;
    let mut n = 0u64;
    while start.elapsed() < window {
        match s.recv(&mut buf, 0) {
            Ok(_) => n += 1,
            Err(e) if timed_out(&e) => {}
            Err(e) => return Err(format!("recv after {n} datagrams: {e}")),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .map_err(|e| e.to_string())?;
    let drain = Instant::now();
    while drain.elapsed() < Duration::from_secs(15) {
        match s.recv(&mut buf, 0) {
            Ok(_) => {}
            Err(e) if timed_out(&e) => break,
            Err(e) => return Err(format!("recv while draining: {e}")),
        }
    }
    println!("pps {:.0} received {n}", n as f64 / elapsed);
    Ok(())
}

/// `bench-blast FAMILY ADDR:PORT SIZE SECONDS`: sends SIZE-byte datagrams to ADDR:PORT for
/// SECONDS, as fast as sendto returns. ENOBUFS, EAGAIN and ECONNREFUSED (a full queue on the
/// way, an ICMP error from a sink not yet or no longer there) are counted and the blast goes
/// on; prints `pps P sent N errors E`.
pub fn bench_blast(args: &[String]) -> Result<(), String> {
    const USAGE: &str = "bench-blast FAMILY ADDR:PORT SIZE SECONDS";
    let (s, to) = socket(args, USAGE)?;
    let size: usize = arg(args, 2, USAGE)?;
    let secs: f64 = arg(args, 3, USAGE)?;
    let limit = Duration::from_secs_f64(secs);
    let buf: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let (mut sent, mut errors) = (0u64, 0u64);
    let start = Instant::now();
    // Read the clock every 64 datagrams only.
    loop {
        for _ in 0..64 {
            match s.send_to(&buf, to) {
                Ok(_) => sent += 1,
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOBUFS | libc::EAGAIN | libc::ECONNREFUSED)
                    ) =>
                {
                    errors += 1
                }
                Err(e) => return Err(format!("sendto {to} after {sent} datagrams: {e}")),
            }
        }
        if start.elapsed() >= limit {
            break;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "pps {:.0} sent {sent} errors {errors}",
        sent as f64 / elapsed
    );
    Ok(())
}

/// `bench-echo FAMILY ADDR:PORT COUNT`: binds ADDR:PORT and echoes COUNT datagrams back to
/// their senders (gives up after 30 s without one).
pub fn bench_echo(args: &[String]) -> Result<(), String> {
    const USAGE: &str = "bench-echo FAMILY ADDR:PORT COUNT";
    let (s, a) = socket(args, USAGE)?;
    let count: usize = arg(args, 2, USAGE)?;
    s.bind(a).map_err(|e| format!("bind {a}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    println!("listening");
    crate::tools::echo_datagrams(&s, count)
}

/// `bench-rr FAMILY ADDR:PORT COUNT [WARMUP]`: from an unbound socket (an ephemeral port
/// at the first sendto, on both families), WARMUP one-byte exchanges that are not timed (ARP,
/// caches), then COUNT timed ones, each a sendto and a recvfrom; prints
/// `p50_us P50 p99_us P99`. A reply missing for 2 s is an error.
pub fn bench_rr(args: &[String]) -> Result<(), String> {
    const USAGE: &str = "bench-rr FAMILY ADDR:PORT COUNT [WARMUP]";
    let (s, to) = socket(args, USAGE)?;
    let count: usize = arg(args, 2, USAGE)?;
    let warmup: usize = if args.len() > 3 {
        arg(args, 3, USAGE)?
    } else {
        200
    };
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    let mut rtts = Vec::with_capacity(count);
    for i in 0..warmup + count {
        let t = Instant::now();
        s.send_to(&[i as u8], to)
            .map_err(|e| format!("request {i}: sendto {to}: {e}"))?;
        let (n, from) = s
            .recv_from(&mut buf)
            .map_err(|e| format!("request {i}: no reply from {to}: {e}"))?;
        let rtt = t.elapsed();
        if from != to || n != 1 || buf[0] != i as u8 {
            return Err(format!(
                "request {i}: {n} bytes from {from}, want 1 byte {} from {to}",
                i as u8
            ));
        }
        if i >= warmup {
            rtts.push(rtt.as_nanos() as u64);
        }
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

/// `bench-table FILE ROUTES ARPS DEV`: the batch file that fills a stack's tables for the
/// loaded-table rows of `make bench`.
pub fn bench_table(args: &[String]) -> Result<(), String> {
    use netcore::ipv4::route::{mask, synth, RouteKind};
    use std::collections::HashSet;
    use std::fmt::Write;
    const USAGE: &str = "bench-table FILE ROUTES ARPS DEV";
    let file: String = arg(args, 0, USAGE)?;
    let routes: usize = arg(args, 1, USAGE)?;
    let arps: u32 = arg(args, 2, USAGE)?;
    let dev: String = arg(args, 3, USAGE)?;
    let lab = u32::from(std::net::Ipv4Addr::new(198, 18, 0, 0));
    let mut seen = HashSet::with_capacity(routes);
    let mut text = String::with_capacity(routes * 40 + arps as usize * 60);
    let mut i = 0u64;
    while seen.len() < routes {
        let r = synth::route(11, i);
        i += 1;
        let (p, l) = (r.prefix.to_u32(), r.len);
        let m = mask(l.min(15));
        if p & m == lab & m || !seen.insert((p, l)) {
            continue;
        }
        let k = match r.kind {
            RouteKind::Gateway { via, .. } => via.0[2],
            _ => 0,
        };
        let _ = writeln!(
            text,
            "route add {}/{l} via 198.18.0.{}",
            std::net::Ipv4Addr::from(p),
            100 + u32::from(k)
        );
    }
    let base = u32::from(std::net::Ipv4Addr::new(198, 18, 64, 0));
    for j in 0..arps {
        let _ = writeln!(
            text,
            "arp add {} lladdr 02:00:00:{:02x}:{:02x}:{:02x} dev {dev}",
            std::net::Ipv4Addr::from(base + j),
            (j >> 16) as u8,
            (j >> 8) as u8,
            j as u8
        );
    }
    std::fs::write(&file, text).map_err(|e| format!("{file}: {e}"))
}

/// `hold-sockets FAMILY ADDR FIRST_PORT N`: N bound UDP sockets, kept until standard input
/// closes (the caller holds it open).
pub fn hold_sockets(args: &[String]) -> Result<(), String> {
    use std::io::Read;
    const USAGE: &str = "hold-sockets FAMILY ADDR FIRST_PORT N";
    let fam = family(&arg::<String>(args, 0, USAGE)?)?;
    let addr: std::net::Ipv4Addr = arg(args, 1, USAGE)?;
    let first: u16 = arg(args, 2, USAGE)?;
    let n: u16 = arg(args, 3, USAGE)?;
    // One descriptor a socket: raise the soft limit (nr_open allows a million).
    let want = u64::from(n) + 64;
    let lim = libc::rlimit {
        rlim_cur: want as libc::rlim_t,
        rlim_max: want as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct, which lives across the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(format!(
            "setrlimit(RLIMIT_NOFILE, {want}): {}",
            io::Error::last_os_error()
        ));
    }
    let mut held = Vec::with_capacity(usize::from(n));
    for k in 0..n {
        let port = first.checked_add(k).ok_or("ports past 65535")?;
        let s = Socket::with_family(fam, libc::SOCK_DGRAM, 0)
            .map_err(|e| format!("socket {k}: {e}"))?;
        s.bind(SocketAddrV4::new(addr, port))
            .map_err(|e| format!("bind {addr}:{port}: {e}"))?;
        held.push(s);
    }
    println!("ready {}", held.len());
    let _ = std::io::stdin().read(&mut [0u8; 1]);
    Ok(())
}
