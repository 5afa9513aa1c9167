//! Traffic programs the tests run inside network namespaces (`ip netns exec NS rvnet-vmtest
//! SUBCOMMAND ...`): a TCP source and a sink that checks every byte, and a UDP echo pair that
//! checks every datagram. The data is a position-dependent pattern, so a lost, duplicated,
//! reordered or corrupted byte is caught at its offset.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
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

/// `tcp-source ADDR BYTES [SECONDS]`: connects (retrying for 5 s) and sends BYTES of the
/// pattern, or stops earlier once SECONDS have passed; prints `sent N`.
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
    let start = Instant::now();
    let mut s = loop {
        match TcpStream::connect_timeout(&a, Duration::from_secs(2)) {
            Ok(s) => break s,
            Err(e) if start.elapsed() < Duration::from_secs(5) => {
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
    while off < total && limit.is_none_or(|l| sending.elapsed() < l) {
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
