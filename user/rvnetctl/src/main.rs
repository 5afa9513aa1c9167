//! rvnetctl: configures the rvnet IPv4 stack of the current network namespace, in the style
//! of iproute2, over the generic netlink family "rvnet"
//! (`Documentation/netlink/specs/rvnet.yaml`). Every change needs CAP_NET_ADMIN; `addr`,
//! `route` and `arp show` dump the family's tables and print them as the matching
//! /proc/net/rvnet file does; `monitor` prints address, route and neighbour changes as
//! `ip monitor` does.
//!
//! Exit status: 0 on success, 1 for a usage error, 2 when the kernel refused the request
//! (printed as `rvnetctl: WHAT: strerror`, then the kernel's extack message in parentheses).

use rvnet_uapi::genl::{cmd as C, neigh_state, route_kind};
use rvnet_uapi::nl::{Addr, Msg, Neigh, NlError, RouteEntry, Rvnet};
use rvnet_uapi::{format_mac, ifindex, ifname, parse_mac, parse_prefix};
use std::io;
use std::net::Ipv4Addr;
use std::process::exit;

const USAGE: &str = "\
usage: rvnetctl addr { add | del } A.B.C.D/LEN dev IFNAME
       rvnetctl addr show
       rvnetctl link { attach | detach } dev IFNAME
       rvnetctl route add { PREFIX | default } { via GATEWAY [dev IFNAME] | dev IFNAME }
       rvnetctl route del { PREFIX | default }
       rvnetctl route show
       rvnetctl arp add A.B.C.D lladdr MAC dev IFNAME
       rvnetctl arp del A.B.C.D [dev IFNAME]
       rvnetctl arp { show | flush }
       rvnetctl arp reverse MAC
       rvnetctl proxy { add | del } PREFIX
       rvnetctl set PARAM VALUE
       rvnetctl get PARAM
       rvnetctl { stats | sockets }
       rvnetctl monitor
PARAM := { arp_ageing_ms | arp_retry_ms | arp_retries | forwarding | reasm_timeout_ms |
           default_ttl }";

/// How a command failed.
enum Fail {
    /// Bad command line: the message, then the usage; exit 1.
    Usage(String),
    /// The system refused `what`: exit 2.
    Sys(String, NlError),
}

type Res = Result<(), Fail>;

fn usage<T>(msg: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Usage(msg.into()))
}

/// Attaches `what` to an error of the system.
trait Ctx<T> {
    fn ctx(self, what: &str) -> Result<T, Fail>;
}

impl<T> Ctx<T> for io::Result<T> {
    fn ctx(self, what: &str) -> Result<T, Fail> {
        self.map_err(|e| Fail::Sys(what.to_string(), e.into()))
    }
}

impl<T> Ctx<T> for Result<T, NlError> {
    fn ctx(self, what: &str) -> Result<T, Fail> {
        self.map_err(|e| Fail::Sys(what.to_string(), e))
    }
}

/// The words after the command, with `KEY VALUE` options taken out by name.
struct Args<'a> {
    words: &'a [String],
}

impl<'a> Args<'a> {
    /// The value after `key`, if `key` is there.
    fn opt(&self, key: &str) -> Result<Option<&'a str>, Fail> {
        match self.words.iter().position(|w| w == key) {
            None => Ok(None),
            Some(i) => match self.words.get(i + 1) {
                Some(v) => Ok(Some(v.as_str())),
                None => usage(format!("{key} needs a value")),
            },
        }
    }

    /// The value after `key`, which must be there.
    fn need(&self, key: &str) -> Result<&'a str, Fail> {
        self.opt(key)?
            .map_or_else(|| usage(format!("missing \"{key} ...\"")), Ok)
    }

    /// The first word (the object of the command).
    fn first(&self, what: &str) -> Result<&'a str, Fail> {
        match self.words.first() {
            Some(w) => Ok(w.as_str()),
            None => usage(format!("missing {what}")),
        }
    }

    /// Fails unless `positional` words come first and the rest are `KEY VALUE` pairs with
    /// KEY one of `keys`.
    fn only(&self, positional: usize, keys: &[&str]) -> Res {
        let mut i = positional;
        while i < self.words.len() {
            if !keys.contains(&self.words[i].as_str()) {
                return usage(format!("unexpected \"{}\"", self.words[i]));
            }
            i += 2;
        }
        if self.words.len() < positional {
            return usage("too few arguments");
        }
        Ok(())
    }
}

fn prefix(s: &str) -> Result<(Ipv4Addr, u8), Fail> {
    parse_prefix(s).map_or_else(|| usage(format!("bad prefix \"{s}\"")), Ok)
}

fn addr(s: &str) -> Result<Ipv4Addr, Fail> {
    s.parse().or_else(|_| usage(format!("bad address \"{s}\"")))
}

fn mac(s: &str) -> Result<[u8; 6], Fail> {
    parse_mac(s).map_or_else(|| usage(format!("bad lladdr \"{s}\"")), Ok)
}

fn dev(name: &str) -> Result<i32, Fail> {
    ifindex(name).ctx(&format!("cannot find device \"{name}\""))
}

/// The family (loading rvnet.ko first if need be, as an AF_RVNET socket does by its alias).
fn sock() -> Result<Rvnet, Fail> {
    match Rvnet::open() {
        Err(e) if e.errno == libc::ENOENT => {
            let _ = rvnet_uapi::Socket::dgram();
            Rvnet::open().ctx("netlink family rvnet")
        }
        r => r.ctx("netlink family rvnet"),
    }
}

fn name_of(ifindex: i32) -> String {
    if ifindex == 0 {
        return "*".to_string();
    }
    ifname(ifindex).unwrap_or_else(|_| format!("if{ifindex}"))
}

/// Prints the attached interfaces as /proc/net/rvnet/dev does.
fn show_addrs() -> Res {
    let addrs = sock()?.addrs().ctx("addr show")?;
    println!("Device     Ifindex  Address            MAC");
    for a in addrs {
        let (ip, len) = a.addr.unwrap_or((Ipv4Addr::UNSPECIFIED, 0));
        println!(
            "{:<10} {:<8} {:<18} {}",
            name_of(a.ifindex),
            a.ifindex,
            format!("{ip}/{len}"),
            format_mac(&a.lladdr.unwrap_or_default())
        );
    }
    Ok(())
}

fn kind_name(kind: Option<u32>) -> &'static str {
    match kind {
        Some(route_kind::LOCAL) => "local",
        Some(route_kind::CONNECTED) => "connected",
        Some(route_kind::GATEWAY) => "gateway",
        _ => "?",
    }
}

/// Prints the FIB as /proc/net/rvnet/route does.
fn show_routes() -> Res {
    let routes = sock()?.routes().ctx("route show")?;
    println!("Destination        Gateway          Device     Kind");
    for r in routes {
        println!(
            "{:<18} {:<16} {:<10} {}",
            format!("{}/{}", r.dst, r.prefixlen),
            r.gateway.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string(),
            name_of(r.ifindex),
            kind_name(r.kind)
        );
    }
    Ok(())
}

/// Prints the ARP cache as /proc/net/rvnet/arp does.
fn show_neighs() -> Res {
    let neighs = sock()?.neighs().ctx("arp show")?;
    println!(
        "IP address       HW type     Flags       HW address            Mask     Device     State"
    );
    for n in neighs {
        let (flags, state) = match n.state {
            Some(neigh_state::STATIC) => (6, "static"),
            Some(neigh_state::REACHABLE) => (2, "reachable"),
            _ => (0, "incomplete"),
        };
        println!(
            "{:<16} 0x1         0x{:<9x} {:<21} *        {:<10} {}",
            n.addr.to_string(),
            flags,
            format_mac(&n.lladdr.unwrap_or_default()),
            name_of(n.ifindex),
            state
        );
    }
    Ok(())
}

/// One notification as `ip monitor` prints it (None for one we do not know).
fn monitor_line(m: &Msg) -> Option<String> {
    let deleted = matches!(m.cmd, C::ADDR_DEL_NTF | C::ROUTE_DEL_NTF | C::NEIGH_DEL_NTF);
    let pre = if deleted { "Deleted " } else { "" };
    let line = match m.cmd {
        C::ADDR_NEW_NTF | C::ADDR_DEL_NTF => {
            let a = Addr::from_msg(m);
            let (ip, len) = a.addr?;
            format!(
                "{pre}{}: {}    inet {ip}/{len} scope global {}",
                a.ifindex,
                name_of(a.ifindex),
                name_of(a.ifindex)
            )
        }
        C::ROUTE_NEW_NTF | C::ROUTE_DEL_NTF => {
            let r = RouteEntry::from_msg(m);
            let dst = if r.prefixlen == 0 {
                "default".to_string()
            } else {
                format!("{}/{}", r.dst, r.prefixlen)
            };
            let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
            let dev = if r.ifindex != 0 {
                format!(" dev {}", name_of(r.ifindex))
            } else {
                String::new()
            };
            format!("{pre}{dst}{via}{dev}")
        }
        C::NEIGH_NEW_NTF | C::NEIGH_DEL_NTF => {
            let n = Neigh::from_msg(m);
            let dev = if n.ifindex != 0 {
                format!(" dev {}", name_of(n.ifindex))
            } else {
                String::new()
            };
            let ll = n
                .lladdr
                .map(|l| format!(" lladdr {}", format_mac(&l)))
                .unwrap_or_default();
            let state = match n.state {
                Some(neigh_state::STATIC) => " PERMANENT",
                Some(neigh_state::REACHABLE) => " REACHABLE",
                Some(neigh_state::INCOMPLETE) => " INCOMPLETE",
                _ => "",
            };
            format!("{pre}{}{dev}{ll}{state}", n.addr)
        }
        _ => return None,
    };
    Some(line)
}

/// Prints every change until killed.
fn monitor() -> Res {
    let mut nl = sock()?;
    nl.subscribe().ctx("monitor")?;
    loop {
        for m in nl.next_notifications().ctx("monitor")? {
            if let Some(line) = monitor_line(&m) {
                println!("{line}");
            }
        }
    }
}

/// Prints /proc/net/rvnet/NAME as it is.
fn show(name: &str) -> Res {
    let text = rvnet_uapi::proc::read(name).ctx(&format!("{}/{name}", rvnet_uapi::proc::DIR))?;
    print!("{text}");
    Ok(())
}

fn cmd_addr(verb: &str, a: &Args) -> Res {
    match verb {
        "show" | "list" => {
            a.only(0, &[])?;
            show_addrs()
        }
        "add" | "del" => {
            a.only(1, &["dev"])?;
            let (ip, len) = prefix(a.first("A.B.C.D/LEN")?)?;
            let ifi = dev(a.need("dev")?)?;
            let mut s = sock()?;
            if verb == "add" {
                s.addr_add(ifi, ip, len).ctx("addr add")
            } else {
                s.addr_del(ifi, ip, len).ctx("addr del")
            }
        }
        _ => usage(format!("unknown addr command \"{verb}\"")),
    }
}

fn cmd_link(verb: &str, a: &Args) -> Res {
    a.only(0, &["dev"])?;
    let ifi = dev(a.need("dev")?)?;
    match verb {
        "attach" => sock()?.attach(ifi).ctx("link attach"),
        "detach" => sock()?.detach(ifi).ctx("link detach"),
        _ => usage(format!("unknown link command \"{verb}\"")),
    }
}

fn cmd_route(verb: &str, a: &Args) -> Res {
    match verb {
        "show" | "list" => {
            a.only(0, &[])?;
            show_routes()
        }
        "add" => {
            a.only(1, &["via", "dev"])?;
            let (dst, len) = prefix(a.first("PREFIX")?)?;
            let gw = a.opt("via")?.map(addr).transpose()?;
            let ifi = a.opt("dev")?.map(dev).transpose()?;
            if gw.is_none() && ifi.is_none() {
                return usage("route add needs \"via GATEWAY\" or \"dev IFNAME\"");
            }
            sock()?
                .route_add(
                    dst,
                    len,
                    gw.unwrap_or(Ipv4Addr::UNSPECIFIED),
                    ifi.unwrap_or(0),
                )
                .ctx("route add")
        }
        "del" => {
            a.only(1, &["via", "dev"])?;
            let (dst, len) = prefix(a.first("PREFIX")?)?;
            sock()?.route_del(dst, len).ctx("route del")
        }
        _ => usage(format!("unknown route command \"{verb}\"")),
    }
}

fn cmd_arp(verb: &str, a: &Args) -> Res {
    match verb {
        "show" | "list" => {
            a.only(0, &[])?;
            show_neighs()
        }
        "flush" => {
            a.only(0, &[])?;
            sock()?.neigh_flush().ctx("arp flush")
        }
        "add" => {
            a.only(1, &["lladdr", "dev"])?;
            let ip = addr(a.first("A.B.C.D")?)?;
            let ll = mac(a.need("lladdr")?)?;
            let ifi = dev(a.need("dev")?)?;
            sock()?.neigh_add(ip, ll, ifi).ctx("arp add")
        }
        "del" => {
            a.only(1, &["dev"])?;
            let ip = addr(a.first("A.B.C.D")?)?;
            let ifi = a.opt("dev")?.map(dev).transpose()?.unwrap_or(0);
            sock()?.neigh_del(ip, ifi).ctx("arp del")
        }
        "reverse" => {
            a.only(1, &[])?;
            let ll = mac(a.first("MAC")?)?;
            let (ip, ifi) = sock()?.neigh_reverse(ll).ctx("arp reverse")?;
            let name = ifname(ifi).unwrap_or_else(|_| format!("if{ifi}"));
            println!("{ip} lladdr {} dev {name}", format_mac(&ll));
            Ok(())
        }
        _ => usage(format!("unknown arp command \"{verb}\"")),
    }
}

fn cmd_proxy(verb: &str, a: &Args) -> Res {
    a.only(1, &[])?;
    let (p, len) = prefix(a.first("PREFIX")?)?;
    match verb {
        "add" => sock()?.proxy_add(p, len).ctx("proxy add"),
        "del" => sock()?.proxy_del(p, len).ctx("proxy del"),
        _ => usage(format!("unknown proxy command \"{verb}\"")),
    }
}

fn param(name: &str) -> Result<u16, Fail> {
    rvnet_uapi::genl::PARAMS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, id)| id)
        .map_or_else(|| usage(format!("unknown parameter \"{name}\"")), Ok)
}

fn run(args: &[String]) -> Res {
    let Some(obj) = args.first() else {
        return usage("no command");
    };
    let verb = args.get(1).map(String::as_str);
    let rest = Args {
        words: args.get(2..).unwrap_or(&[]),
    };
    match (obj.as_str(), verb) {
        ("stats", None) => show("stats"),
        ("sockets", None) => show("sockets"),
        ("monitor", None) => monitor(),
        ("set", Some(name)) => {
            rest.only(1, &[])?;
            let v = rest.first("VALUE")?;
            let v: u64 = v.parse().or_else(|_| usage(format!("bad value \"{v}\"")))?;
            let id = param(name)?;
            sock()?.set_param(id, v).ctx("set")
        }
        ("get", Some(name)) => {
            rest.only(0, &[])?;
            let id = param(name)?;
            let v = sock()?.get_param(id).ctx("get")?;
            println!("{v}");
            Ok(())
        }
        ("addr" | "address" | "a", v) => cmd_addr(v.unwrap_or("show"), &rest),
        ("link" | "l", Some(v)) => cmd_link(v, &rest),
        ("route" | "r", v) => cmd_route(v.unwrap_or("show"), &rest),
        ("arp" | "neigh" | "n", v) => cmd_arp(v.unwrap_or("show"), &rest),
        ("proxy", Some(v)) => cmd_proxy(v, &rest),
        ("help" | "-h" | "--help", _) => {
            println!("{USAGE}");
            Ok(())
        }
        _ => usage(format!("unknown command \"{}\"", args.join(" "))),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => {}
        Err(Fail::Usage(msg)) => {
            eprintln!("rvnetctl: {msg}");
            eprintln!("{USAGE}");
            exit(1);
        }
        Err(Fail::Sys(what, e)) => {
            eprintln!("rvnetctl: {what}: {e}");
            exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage_error(line: &str) -> bool {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        matches!(run(&args), Err(Fail::Usage(_)))
    }

    #[test]
    fn bad_command_lines_are_usage_errors() {
        assert!(usage_error(""));
        assert!(usage_error("frobnicate"));
        assert!(usage_error("addr add 198.18.0.300/24 dev lo"));
        assert!(usage_error("addr add 198.18.0.2/33 dev lo"));
        assert!(usage_error("addr add 198.18.0.2/24"));
        assert!(usage_error("addr add 198.18.0.2/24 dev"));
        assert!(usage_error("addr add 198.18.0.2/24 mtu 3 dev lo"));
        assert!(usage_error("route add 10.0.0.0/8"));
        assert!(usage_error("route add 10.0.0.0/8 via 10.0.0.300"));
        assert!(usage_error(
            "arp add 198.18.0.9 lladdr 02:00:00:00:09 dev lo"
        ));
        assert!(usage_error("arp reverse zz:00:00:00:00:09"));
        assert!(usage_error("set mtu 1500"));
        assert!(usage_error("set arp_retries many"));
        assert!(usage_error("get"));
        assert!(usage_error("proxy add 10.9.0.0/16 extra"));
        assert!(usage_error("stats now"));
    }
}
