//! Parsers for `/proc/net/rvnet/*`, the read-only view of a namespace's rvnet state.
//!
//! The files are whitespace-separated columns under a one-line header, except `stats`, which
//! is `name value` per line with no header. `/proc/net` is the reading process's namespace's,
//! so the `parse_*` functions also serve text read by `ip netns exec NS cat ...`.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};

/// The directory of the files.
pub const DIR: &str = "/proc/net/rvnet";

/// Reads `/proc/net/rvnet/NAME`.
pub fn read(name: &str) -> io::Result<String> {
    std::fs::read_to_string(format!("{DIR}/{name}"))
}

fn bad(what: &str, line: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{DIR}: bad {what} in line {line:?}"),
    )
}

fn num<T: std::str::FromStr>(s: &str, what: &str, line: &str) -> io::Result<T> {
    s.parse().map_err(|_| bad(what, line))
}

fn hex(s: &str, what: &str, line: &str) -> io::Result<u32> {
    let digits = s.strip_prefix("0x").ok_or_else(|| bad(what, line))?;
    u32::from_str_radix(digits, 16).map_err(|_| bad(what, line))
}

/// The rows of a table: the lines after the header, split into exactly `cols` columns.
fn rows(text: &str, cols: usize) -> io::Result<Vec<(Vec<&str>, &str)>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() == cols {
                Ok((f, l))
            } else {
                Err(bad(&format!("column count (want {cols})"), l))
            }
        })
        .collect()
}

/// Parses `stats`: `name value` lines.
pub fn parse_stats(text: &str) -> io::Result<Vec<(String, u64)>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split_whitespace();
            match (f.next(), f.next(), f.next()) {
                (Some(n), Some(v), None) => Ok((n.to_string(), num(v, "counter", l)?)),
                _ => Err(bad("stats line", l)),
            }
        })
        .collect()
}

/// The counter `name` in parsed stats.
pub fn lookup(stats: &[(String, u64)], name: &str) -> Option<u64> {
    stats.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
}

/// This namespace's counters.
pub fn stats() -> io::Result<Vec<(String, u64)>> {
    parse_stats(&read("stats")?)
}

/// One counter of this namespace (NotFound if there is no such counter).
pub fn stat(name: &str) -> io::Result<u64> {
    lookup(&stats()?, name).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("no counter {name} in {DIR}/stats"),
        )
    })
}

/// A row of `arp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArpRow {
    pub ip: Ipv4Addr,
    pub hw_type: u32,
    /// 0x0 incomplete, 0x2 complete, 0x6 static.
    pub flags: u32,
    /// As printed (lower-case, colon-separated).
    pub hw: String,
    pub mask: String,
    pub dev: String,
    /// incomplete, reachable, stale, probe or static.
    pub state: String,
}

/// Parses `arp`.
pub fn parse_arp(text: &str) -> io::Result<Vec<ArpRow>> {
    rows(text, 7)?
        .into_iter()
        .map(|(f, l)| {
            Ok(ArpRow {
                ip: num(f[0], "IP address", l)?,
                hw_type: hex(f[1], "HW type", l)?,
                flags: hex(f[2], "flags", l)?,
                hw: f[3].to_ascii_lowercase(),
                mask: f[4].to_string(),
                dev: f[5].to_string(),
                state: f[6].to_string(),
            })
        })
        .collect()
}

/// This namespace's ARP cache.
pub fn arp() -> io::Result<Vec<ArpRow>> {
    parse_arp(&read("arp")?)
}

/// A row of `route`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteRow {
    /// The destination prefix.
    pub dst: Ipv4Addr,
    pub prefixlen: u8,
    /// 0.0.0.0 for a route with no gateway.
    pub gateway: Ipv4Addr,
    pub dev: String,
    /// local, connected or gateway.
    pub kind: String,
}

/// Parses `route` (the destination is `A.B.C.D/LEN`; `default` is read as 0.0.0.0/0).
pub fn parse_route(text: &str) -> io::Result<Vec<RouteRow>> {
    rows(text, 4)?
        .into_iter()
        .map(|(f, l)| {
            let (dst, prefixlen) =
                crate::parse_prefix(f[0]).ok_or_else(|| bad("destination", l))?;
            Ok(RouteRow {
                dst,
                prefixlen,
                gateway: num(f[1], "gateway", l)?,
                dev: f[2].to_string(),
                kind: f[3].to_string(),
            })
        })
        .collect()
}

/// This namespace's routes.
pub fn route() -> io::Result<Vec<RouteRow>> {
    parse_route(&read("route")?)
}

/// A row of `sockets`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketRow {
    /// dgram or raw.
    pub ty: String,
    pub proto: u32,
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    /// `*` when not bound to a device.
    pub dev: String,
    pub rx_queue: u64,
    pub rx_buf: u64,
    pub drops: u64,
}

/// Parses `sockets`.
pub fn parse_sockets(text: &str) -> io::Result<Vec<SocketRow>> {
    rows(text, 8)?
        .into_iter()
        .map(|(f, l)| {
            Ok(SocketRow {
                ty: f[0].to_string(),
                proto: num(f[1], "protocol", l)?,
                local: num(f[2], "local address", l)?,
                remote: num(f[3], "remote address", l)?,
                dev: f[4].to_string(),
                rx_queue: num(f[5], "RxQueue", l)?,
                rx_buf: num(f[6], "RxBuf", l)?,
                drops: num(f[7], "Drops", l)?,
            })
        })
        .collect()
}

/// This namespace's AF_RVNET sockets.
pub fn sockets() -> io::Result<Vec<SocketRow>> {
    parse_sockets(&read("sockets")?)
}

/// A row of `dev`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevRow {
    pub dev: String,
    pub ifindex: i32,
    /// `A.B.C.D/LEN` as printed.
    pub addr: String,
    pub mac: String,
}

/// Parses `dev`.
pub fn parse_dev(text: &str) -> io::Result<Vec<DevRow>> {
    rows(text, 4)?
        .into_iter()
        .map(|(f, l)| {
            Ok(DevRow {
                dev: f[0].to_string(),
                ifindex: num(f[1], "ifindex", l)?,
                addr: f[2].to_string(),
                mac: f[3].to_ascii_lowercase(),
            })
        })
        .collect()
}

/// This namespace's attached devices and their addresses.
pub fn dev() -> io::Result<Vec<DevRow>> {
    parse_dev(&read("dev")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats() {
        let s = parse_stats("rx_frames 12\nip_rx 3\n\n").unwrap();
        assert_eq!(lookup(&s, "rx_frames"), Some(12));
        assert_eq!(lookup(&s, "ip_rx"), Some(3));
        assert_eq!(lookup(&s, "udp_rx"), None);
        assert!(parse_stats("rx_frames\n").is_err());
        assert!(parse_stats("rx_frames x\n").is_err());
    }

    #[test]
    fn arp() {
        let t = "IP address       HW type     Flags       HW address            Mask     Device     State\n\
                 198.18.0.1       0x1         0x2         02:11:22:33:44:55     *        rvn1       reachable\n\
                 198.18.0.9       0x1         0x6         02:00:00:00:00:0A     *        rvn1       static\n";
        let r = parse_arp(t).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].ip, Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!((r[0].hw_type, r[0].flags), (1, 2));
        assert_eq!(r[0].hw, "02:11:22:33:44:55");
        assert_eq!(
            (r[0].dev.as_str(), r[0].state.as_str()),
            ("rvn1", "reachable")
        );
        assert_eq!((r[1].flags, r[1].hw.as_str()), (6, "02:00:00:00:00:0a"));
        assert!(parse_arp("header\n198.18.0.1 0x1 0x2 x * rvn1\n").is_err());
        assert!(parse_arp("header\n198.18.0.1 1 0x2 x * rvn1 stale\n").is_err());
    }

    #[test]
    fn route() {
        let t = "Destination        Gateway          Device     Kind\n\
                 198.18.0.2/32      0.0.0.0          rvn1       local\n\
                 198.18.0.0/24      0.0.0.0          rvn1       connected\n\
                 0.0.0.0/0          198.18.0.1       rvn1       gateway\n";
        let r = parse_route(t).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r[1].dst, r[1].prefixlen),
            (Ipv4Addr::new(198, 18, 0, 0), 24)
        );
        assert_eq!(r[2].prefixlen, 0);
        assert_eq!(r[2].gateway, Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(r[2].kind, "gateway");
    }

    #[test]
    fn sockets() {
        let t = "Type  Proto Local                 Remote                Dev        RxQueue  RxBuf    Drops\n\
                 dgram 17    198.18.0.2:5000       0.0.0.0:0             *          0        212992   0\n\
                 raw   1     0.0.0.0:0             0.0.0.0:0             rvn1       768      212992   4\n";
        let r = parse_sockets(t).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].local.to_string(), "198.18.0.2:5000");
        assert_eq!(
            (r[0].ty.as_str(), r[0].proto, r[0].rx_buf),
            ("dgram", 17, 212992)
        );
        assert_eq!(
            (r[1].dev.as_str(), r[1].rx_queue, r[1].drops),
            ("rvn1", 768, 4)
        );
    }

    #[test]
    fn dev() {
        let t = "Device     Ifindex  Address            MAC\n\
                 rvn1       5        198.18.0.2/24      02:11:22:33:44:55\n";
        let r = parse_dev(t).unwrap();
        assert_eq!(
            r,
            vec![DevRow {
                dev: "rvn1".into(),
                ifindex: 5,
                addr: "198.18.0.2/24".into(),
                mac: "02:11:22:33:44:55".into(),
            }]
        );
    }
}
