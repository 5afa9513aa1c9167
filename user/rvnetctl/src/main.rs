//! rvnetctl: configures the rvnet IPv4 stack of the current network namespace, in the style
//! of iproute2. Every change is a setsockopt(SOL_RVNET, ...) on an AF_RVNET socket (and needs
//! CAP_NET_ADMIN); every `show` prints the matching /proc/net/rvnet file.
//!
//! Exit status: 0 on success, 1 for a usage error, 2 when the kernel refused the request
//! (printed as `rvnetctl: WHAT: strerror`).

use rvnet_uapi::{format_mac, ifindex, ifname, param_id, parse_mac, parse_prefix, Socket};
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
PARAM := { arp_ageing_ms | arp_retry_ms | arp_retries | forwarding | reasm_timeout_ms |
           default_ttl }";

/// How a command failed.
enum Fail {
    /// Bad command line: the message, then the usage; exit 1.
    Usage(String),
    /// The system refused `what`: exit 2.
    Sys(String, io::Error),
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

fn sock() -> Result<Socket, Fail> {
    Socket::dgram().ctx("socket")
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
            show("dev")
        }
        "add" | "del" => {
            a.only(1, &["dev"])?;
            let (ip, len) = prefix(a.first("A.B.C.D/LEN")?)?;
            let ifi = dev(a.need("dev")?)?;
            let s = sock()?;
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
            show("route")
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
            show("arp")
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

fn param(name: &str) -> Result<u32, Fail> {
    param_id(name).map_or_else(|| usage(format!("unknown parameter \"{name}\"")), Ok)
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
            eprintln!("rvnetctl: {what}: {}", rvnet_uapi::strerror(&e));
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
