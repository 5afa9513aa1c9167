//! rvnetctl: configures the rvnet IPv4 stack of the current network namespace, in the style
//! of iproute2, over the generic netlink family "rvnet"
//! (`Documentation/netlink/specs/rvnet.yaml`). Every change needs CAP_NET_ADMIN; `addr`,
//! `route` and `arp show` dump the family's tables and print them as the matching
//! /proc/net/rvnet file does; `monitor` prints address, route and neighbour changes as
//! `ip monitor` does.
//!
//! `rvnetctl [-force] -batch FILE` reads commands from FILE (`-` for standard input), one per
//! line as they would follow `rvnetctl` (`#` starts a comment), as `ip -batch` does. The
//! changes of a batch go to the kernel in windows of up to 512 requests, one datagram and no
//! acks each, so that a million routes load in seconds; only refusals come back, and are
//! printed with their line number. Without `-force` the batch stops at the first error: the
//! requests of the window holding the failed line have then already been sent.
//!
//! Exit status: 0 on success, 1 for a usage error, 2 when the kernel refused the request
//! (printed as `rvnetctl: WHAT: strerror`, then the kernel's extack message in parentheses).

use rvnet_uapi::genl::{cmd as C, neigh_state, route_kind};
use rvnet_uapi::nl::{Addr, Msg, Neigh, NlError, Req, RouteEntry, Rvnet};
use rvnet_uapi::{format_mac, ifindex, ifname, parse_mac, parse_prefix};
use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::net::Ipv4Addr;
use std::process::exit;

const USAGE: &str = "\
usage: rvnetctl [-force] -batch FILE
       rvnetctl addr { add | del } A.B.C.D/LEN dev IFNAME
       rvnetctl addr show
       rvnetctl link { attach | detach } dev IFNAME
       rvnetctl route add { PREFIX | default } { via GATEWAY [dev IFNAME] | dev IFNAME }
       rvnetctl route del { PREFIX | default }
       rvnetctl route show
       rvnetctl route get A.B.C.D
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
           default_ttl | arp_gc_thresh1 | arp_gc_thresh2 | arp_gc_thresh3 |
           arp_gc_interval_ms | arp_gc_stale_ms | arp_unres_qlen_bytes | fib_max_routes |
           ipfrag_high_thresh }";

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

/// The requests of a batch not yet sent, with the line each came from.
#[derive(Default)]
struct Pending {
    reqs: Vec<Req>,
    lines: Vec<(usize, &'static str)>,
    /// For each request, the routes of a `route-add-bulk`.
    bulks: Vec<Option<Bulk>>,
    /// Route adds not yet made into a request.
    open: Bulk,
    bytes: usize,
}

/// Consecutive `route add` lines of a batch, sent as one `route-add-bulk`.
#[derive(Default)]
struct Bulk {
    routes: Vec<(Ipv4Addr, u8, Ipv4Addr, i32)>,
    lines: Vec<usize>,
    /// Where each route's nest starts in the request, as the extack's offset counts.
    starts: Vec<u32>,
}

impl Bulk {
    /// The route the extack's `offset` points at (or into); the first without one.
    fn refused(&self, offset: Option<u32>) -> usize {
        Rvnet::refused_route(&self.starts, offset)
    }
}

/// Requests sent in one datagram, at most.
const WINDOW: usize = 512;

/// Routes in one `route-add-bulk`, at most (about 28 KiB of attributes).
const BULK_ROUTES: usize = 1024;

/// What the commands run with: the family's socket, opened once, the device names seen, and
/// in a batch the changes waiting to be sent.
struct Ctl {
    nl: Option<Rvnet>,
    names: HashMap<String, i32>,
    /// In a batch: the changes not yet sent.
    pending: Option<Pending>,
    /// The batch line being run (0 outside a batch).
    line: usize,
    /// The batch's file name, for messages.
    file: String,
    /// Refusals seen in a batch.
    failed: usize,
    /// A batch with -force: every line is tried.
    force: bool,
}

impl Pending {
    fn push(&mut self, r: Req, line: (usize, &'static str), bulk: Option<Bulk>) {
        self.bytes += 24 + r.attrs.bytes().len();
        self.reqs.push(r);
        self.lines.push(line);
        self.bulks.push(bulk);
    }

    /// Makes the route adds waiting into one request, after the ones before them.
    fn seal(&mut self) {
        if self.open.routes.is_empty() {
            return;
        }
        let mut b = std::mem::take(&mut self.open);
        let (attrs, starts) = Rvnet::route_bulk_attrs(&b.routes);
        b.starts = starts;
        let line = (b.lines.first().copied().unwrap_or(0), "route add");
        let r = Req {
            cmd: C::ROUTE_ADD_BULK,
            attrs,
        };
        self.push(r, line, Some(b));
    }
}

impl Ctl {
    fn new() -> Ctl {
        Ctl {
            nl: None,
            names: HashMap::new(),
            pending: None,
            line: 0,
            file: String::new(),
            failed: 0,
            force: false,
        }
    }

    /// The family (loading rvnet.ko first if need be, as an AF_RVNET socket does by its
    /// alias). In a batch, the changes queued so far are sent first, so that what a command
    /// reads includes them.
    fn sock(&mut self) -> Result<&mut Rvnet, Fail> {
        self.flush()?;
        self.open()
    }

    fn open(&mut self) -> Result<&mut Rvnet, Fail> {
        if self.nl.is_none() {
            let nl = match Rvnet::open() {
                Err(e) if e.errno == libc::ENOENT => {
                    let _ = rvnet_uapi::Socket::dgram();
                    Rvnet::open().ctx("netlink family rvnet")?
                }
                r => r.ctx("netlink family rvnet")?,
            };
            self.nl = Some(nl);
        }
        self.nl
            .as_mut()
            .map_or_else(|| usage("no netlink socket"), Ok)
    }

    /// The ifindex of device `name`.
    fn dev(&mut self, name: &str) -> Result<i32, Fail> {
        if let Some(&i) = self.names.get(name) {
            return Ok(i);
        }
        let i = ifindex(name).ctx(&format!("cannot find device \"{name}\""))?;
        self.names.insert(name.to_string(), i);
        Ok(i)
    }

    /// Makes the change `r`: at once, or in a batch with the next ones.
    fn change(&mut self, what: &'static str, r: Req) -> Res {
        let line = self.line;
        let Some(p) = self.pending.as_mut() else {
            return self.open()?.exec(r).ctx(what);
        };
        p.seal();
        p.push(r, (line, what), None);
        self.flush_if_full()
    }

    /// Adds a route: at once, or in a batch with the next route adds, in one request.
    fn route_add(&mut self, route: (Ipv4Addr, u8, Ipv4Addr, i32)) -> Res {
        let line = self.line;
        let Some(p) = self.pending.as_mut() else {
            let (dst, len, gw, ifi) = route;
            return self
                .open()?
                .exec(Rvnet::route_add_req(dst, len, gw, ifi))
                .ctx("route add");
        };
        p.open.routes.push(route);
        p.open.lines.push(line);
        if p.open.routes.len() >= BULK_ROUTES {
            p.seal();
            return self.flush_if_full();
        }
        Ok(())
    }

    fn flush_if_full(&mut self) -> Res {
        match &self.pending {
            Some(p) if p.reqs.len() >= WINDOW || p.bytes >= 48 * 1024 => self.flush(),
            _ => Ok(()),
        }
    }

    /// Sends the batch's queued changes and reports their refusals; the first one is the
    /// error (the others are printed).
    fn flush(&mut self) -> Res {
        let Some(p) = self.pending.as_mut() else {
            return Ok(());
        };
        p.seal();
        if p.reqs.is_empty() {
            return Ok(());
        }
        let reqs = std::mem::take(&mut p.reqs);
        let lines = std::mem::take(&mut p.lines);
        let bulks = std::mem::take(&mut p.bulks);
        p.bytes = 0;
        let file = self.file.clone();
        let force = self.force;
        let nl = self.open()?;
        let first = nl.send_unacked(&reqs).ctx("batch")?;
        let mut errors = nl.take_errors().ctx("batch")?;
        errors.sort_by_key(|(seq, _)| seq.wrapping_sub(first));
        let mut refusals = Vec::new();
        for (seq, e) in errors {
            let k = seq.wrapping_sub(first) as usize;
            let Some(&(line, what)) = lines.get(k) else {
                continue;
            };
            let Some(Some(b)) = bulks.get(k) else {
                refusals.push((format!("{file}:{line}: {what}"), e));
                continue;
            };
            // A route of a bulk: the ones after it were not tried. With -force they are,
            // as `ip -batch -force` tries every line.
            let mut at = b.refused(e.offset);
            let mut e = e;
            loop {
                let line = b.lines.get(at).copied().unwrap_or(line);
                refusals.push((format!("{file}:{line}: route add"), e));
                let rest = b.routes.get(at + 1..).unwrap_or(&[]);
                if !force || rest.is_empty() {
                    break;
                }
                match nl.route_add_bulk(rest) {
                    Ok(()) => break,
                    Err((i, next)) => {
                        at += 1 + i;
                        e = next;
                    }
                }
            }
        }
        let mut result = Ok(());
        for (what, e) in refusals {
            self.failed += 1;
            if result.is_ok() {
                result = Err(Fail::Sys(what, e));
            } else {
                eprintln!("rvnetctl: {what}: {e}");
            }
        }
        result
    }
}

fn name_of(ifindex: i32) -> String {
    if ifindex == 0 {
        return "*".to_string();
    }
    ifname(ifindex).unwrap_or_else(|_| format!("if{ifindex}"))
}

/// Prints the attached interfaces as /proc/net/rvnet/dev does.
fn show_addrs(c: &mut Ctl) -> Res {
    let addrs = c.sock()?.addrs().ctx("addr show")?;
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

/// A route as /proc/net/rvnet/route prints it; `names` caches the device names.
fn route_row(r: &RouteEntry, names: &mut HashMap<i32, String>) -> String {
    let dev = names.entry(r.ifindex).or_insert_with(|| name_of(r.ifindex));
    format!(
        "{:<18} {:<16} {:<10} {}",
        format!("{}/{}", r.dst, r.prefixlen),
        r.gateway.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string(),
        dev,
        kind_name(r.kind)
    )
}

/// Prints the FIB as /proc/net/rvnet/route does, each route as the dump delivers it.
fn show_routes(c: &mut Ctl) -> Res {
    let out = io::stdout();
    let mut out = io::BufWriter::new(out.lock());
    let _ = writeln!(out, "Destination        Gateway          Device     Kind");
    let mut names: HashMap<i32, String> = HashMap::new();
    let mut broken = false;
    c.sock()?
        .routes_each(|r| {
            broken |= writeln!(out, "{}", route_row(&r, &mut names)).is_err();
        })
        .ctx("route show")?;
    if broken || out.flush().is_err() {
        // A closed pipe (`| head`) is not an error of ours.
        return Ok(());
    }
    Ok(())
}

/// Prints the ARP cache as /proc/net/rvnet/arp does.
fn show_neighs(c: &mut Ctl) -> Res {
    let neighs = c.sock()?.neighs().ctx("arp show")?;
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
fn monitor(c: &mut Ctl) -> Res {
    let nl = c.sock()?;
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

fn cmd_addr(c: &mut Ctl, verb: &str, a: &Args) -> Res {
    match verb {
        "show" | "list" => {
            a.only(0, &[])?;
            show_addrs(c)
        }
        "add" | "del" => {
            a.only(1, &["dev"])?;
            let (ip, len) = prefix(a.first("A.B.C.D/LEN")?)?;
            let ifi = c.dev(a.need("dev")?)?;
            if verb == "add" {
                c.change("addr add", Rvnet::addr_add_req(ifi, ip, len))
            } else {
                c.change("addr del", Rvnet::addr_del_req(ifi, ip, len))
            }
        }
        _ => usage(format!("unknown addr command \"{verb}\"")),
    }
}

fn cmd_link(c: &mut Ctl, verb: &str, a: &Args) -> Res {
    a.only(0, &["dev"])?;
    let name = a.need("dev")?;
    match verb {
        "attach" => {
            let ifi = c.dev(name)?;
            c.change("link attach", Rvnet::attach_req(ifi))
        }
        "detach" => {
            let ifi = c.dev(name)?;
            c.change("link detach", Rvnet::detach_req(ifi))
        }
        _ => usage(format!("unknown link command \"{verb}\"")),
    }
}

fn cmd_route(c: &mut Ctl, verb: &str, a: &Args) -> Res {
    match verb {
        "show" | "list" => {
            a.only(0, &[])?;
            show_routes(c)
        }
        "add" => {
            a.only(1, &["via", "dev"])?;
            let (dst, len) = prefix(a.first("PREFIX")?)?;
            let gw = a.opt("via")?.map(addr).transpose()?;
            let ifi = match a.opt("dev")? {
                Some(d) => Some(c.dev(d)?),
                None => None,
            };
            if gw.is_none() && ifi.is_none() {
                return usage("route add needs \"via GATEWAY\" or \"dev IFNAME\"");
            }
            c.route_add((
                dst,
                len,
                gw.unwrap_or(Ipv4Addr::UNSPECIFIED),
                ifi.unwrap_or(0),
            ))
        }
        "get" => {
            a.only(1, &[])?;
            let dst = addr(a.first("A.B.C.D")?)?;
            let r = c.sock()?.route_get(dst).ctx("route get")?;
            let mut names = HashMap::new();
            println!("{}", route_row(&r, &mut names));
            Ok(())
        }
        "del" => {
            a.only(1, &["via", "dev"])?;
            let (dst, len) = prefix(a.first("PREFIX")?)?;
            c.change("route del", Rvnet::route_del_req(dst, len))
        }
        _ => usage(format!("unknown route command \"{verb}\"")),
    }
}

fn cmd_arp(c: &mut Ctl, verb: &str, a: &Args) -> Res {
    match verb {
        "show" | "list" => {
            a.only(0, &[])?;
            show_neighs(c)
        }
        "flush" => {
            a.only(0, &[])?;
            c.change("arp flush", Rvnet::neigh_flush_req())
        }
        "add" => {
            a.only(1, &["lladdr", "dev"])?;
            let ip = addr(a.first("A.B.C.D")?)?;
            let ll = mac(a.need("lladdr")?)?;
            let ifi = c.dev(a.need("dev")?)?;
            c.change("arp add", Rvnet::neigh_add_req(ip, ll, ifi))
        }
        "del" => {
            a.only(1, &["dev"])?;
            let ip = addr(a.first("A.B.C.D")?)?;
            let ifi = match a.opt("dev")? {
                Some(d) => c.dev(d)?,
                None => 0,
            };
            c.change("arp del", Rvnet::neigh_del_req(ip, ifi))
        }
        "reverse" => {
            a.only(1, &[])?;
            let ll = mac(a.first("MAC")?)?;
            let (ip, ifi) = c.sock()?.neigh_reverse(ll).ctx("arp reverse")?;
            let name = ifname(ifi).unwrap_or_else(|_| format!("if{ifi}"));
            println!("{ip} lladdr {} dev {name}", format_mac(&ll));
            Ok(())
        }
        _ => usage(format!("unknown arp command \"{verb}\"")),
    }
}

fn cmd_proxy(c: &mut Ctl, verb: &str, a: &Args) -> Res {
    a.only(1, &[])?;
    let (p, len) = prefix(a.first("PREFIX")?)?;
    match verb {
        "add" => c.change("proxy add", Rvnet::proxy_req(true, p, len)),
        "del" => c.change("proxy del", Rvnet::proxy_req(false, p, len)),
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

/// Runs one command line (the words after `rvnetctl`).
fn run(c: &mut Ctl, args: &[String]) -> Res {
    let Some(obj) = args.first() else {
        return usage("no command");
    };
    let verb = args.get(1).map(String::as_str);
    let rest = Args {
        words: args.get(2..).unwrap_or(&[]),
    };
    match (obj.as_str(), verb) {
        ("stats", None) => {
            c.flush()?;
            show("stats")
        }
        ("sockets", None) => {
            c.flush()?;
            show("sockets")
        }
        ("monitor", None) => monitor(c),
        ("set", Some(name)) => {
            rest.only(1, &[])?;
            let v = rest.first("VALUE")?;
            let v: u64 = v.parse().or_else(|_| usage(format!("bad value \"{v}\"")))?;
            let id = param(name)?;
            let r = Rvnet::set_param_req(id, v).ctx("set")?;
            c.change("set", r)
        }
        ("get", Some(name)) => {
            rest.only(0, &[])?;
            let id = param(name)?;
            let v = c.sock()?.get_param(id).ctx("get")?;
            println!("{v}");
            Ok(())
        }
        ("addr" | "address" | "a", v) => cmd_addr(c, v.unwrap_or("show"), &rest),
        ("link" | "l", Some(v)) => cmd_link(c, v, &rest),
        ("route" | "r", v) => cmd_route(c, v.unwrap_or("show"), &rest),
        ("arp" | "neigh" | "n", v) => cmd_arp(c, v.unwrap_or("show"), &rest),
        ("proxy", Some(v)) => cmd_proxy(c, v, &rest),
        ("help" | "-h" | "--help", _) => {
            println!("{USAGE}");
            Ok(())
        }
        _ => usage(format!("unknown command \"{}\"", args.join(" "))),
    }
}

/// Runs the commands of `file` (`-`: standard input), as `ip -batch` does: a usage error
/// or a refusal stops the batch unless `force`; with `force`, every line is tried and the
/// batch fails at the end if one did.
fn batch(c: &mut Ctl, file: &str, force: bool) -> Res {
    let input: Box<dyn BufRead> = if file == "-" {
        Box::new(io::BufReader::new(io::stdin()))
    } else {
        Box::new(io::BufReader::new(
            std::fs::File::open(file).ctx(&format!("cannot open \"{file}\""))?,
        ))
    };
    c.file = if file == "-" {
        "<stdin>".into()
    } else {
        file.into()
    };
    c.pending = Some(Pending::default());
    c.force = force;
    // The refusals of a window wait on the socket until it is sent: room for all of them.
    if let Ok(nl) = c.open() {
        let _ = nl.set_rcvbuf(4 << 20);
    }
    let mut usage_errors = 0usize;
    for (n, line) in input.lines().enumerate() {
        let line = line.ctx(&format!("reading \"{file}\""))?;
        let words: Vec<String> = line
            .split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .map(String::from)
            .collect();
        if words.is_empty() {
            continue;
        }
        c.line = n + 1;
        match run(c, &words) {
            Ok(()) => {}
            Err(Fail::Usage(msg)) => {
                let msg = format!("{}:{}: {msg}", c.file, c.line);
                if !force {
                    // What the lines before asked for is done, as `ip -batch` does it.
                    if let Err(Fail::Sys(what, e)) = c.flush() {
                        eprintln!("rvnetctl: {what}: {e}");
                    }
                    return Err(Fail::Usage(msg));
                }
                eprintln!("rvnetctl: {msg}");
                usage_errors += 1;
            }
            Err(Fail::Sys(what, e)) => {
                // A refusal from a window that was sent names its line and is counted; one of
                // a command that ran at once does not yet.
                let what = if what.starts_with(&c.file) {
                    what
                } else {
                    c.failed += 1;
                    format!("{}:{}: {what}", c.file, c.line)
                };
                if !force {
                    if let Err(Fail::Sys(w, e)) = c.flush() {
                        eprintln!("rvnetctl: {w}: {e}");
                    }
                    return Err(Fail::Sys(what, e));
                }
                eprintln!("rvnetctl: {what}: {e}");
            }
        }
    }
    match c.flush() {
        Err(Fail::Sys(what, e)) if force => {
            eprintln!("rvnetctl: {what}: {e}");
        }
        r => r?,
    }
    if usage_errors > 0 {
        return usage(format!(
            "{usage_errors} line(s) of \"{file}\" were not understood"
        ));
    }
    if c.failed > 0 {
        return Err(Fail::Sys(
            format!("{} command(s) of {} failed", c.failed, c.file),
            NlError {
                errno: libc::EINVAL,
                msg: None,
                miss_type: None,
                offset: None,
            },
        ));
    }
    Ok(())
}

/// Runs the command line: `[-force] -batch FILE`, or one command.
fn run_args(args: &[String]) -> Res {
    let mut c = Ctl::new();
    let mut force = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-force" | "--force" => force = true,
            "-batch" | "-b" | "--batch" => {
                let Some(file) = args.get(i + 1) else {
                    return usage("-batch needs a file name");
                };
                if args.len() > i + 2 {
                    return usage("nothing may follow \"-batch FILE\"");
                }
                return batch(&mut c, file, force);
            }
            _ => break,
        }
        i += 1;
    }
    if force {
        return usage("-force goes with -batch");
    }
    run(&mut c, args.get(i..).unwrap_or(&[]))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run_args(&args) {
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
        matches!(run_args(&args), Err(Fail::Usage(_)))
    }

    #[test]
    fn a_bulk_refusal_names_the_route_its_offset_falls_in() {
        let gw = Ipv4Addr::new(198, 18, 0, 1);
        let routes: Vec<_> = (0..3u8)
            .map(|i| (Ipv4Addr::new(10, i, 0, 0), 16, gw, 0))
            .collect();
        let (attrs, starts) = Rvnet::route_bulk_attrs(&routes);
        // Each nest: its header, then dst, prefixlen and gateway (8 bytes each).
        assert_eq!(starts, vec![20, 48, 76]);
        assert_eq!(attrs.bytes().len(), 3 * 28);
        // The nested flag is on every nest's type.
        assert_eq!(
            u16::from_ne_bytes([attrs.bytes()[2], attrs.bytes()[3]]),
            0x8001
        );
        let b = Bulk {
            routes,
            lines: vec![3, 4, 7],
            starts,
        };
        assert_eq!(b.refused(None), 0);
        assert_eq!(b.refused(Some(20)), 0);
        assert_eq!(b.refused(Some(48)), 1);
        // An attribute inside the third nest (its gateway).
        assert_eq!(b.refused(Some(76 + 4 + 16)), 2);
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
        assert!(usage_error("-batch"));
        assert!(usage_error("-force addr show"));
        assert!(usage_error("-batch file extra"));
    }

    #[test]
    fn batch_lines_are_checked_and_numbered() {
        let path = std::env::temp_dir().join(format!("rvnetctl-batch-{}", std::process::id()));
        std::fs::write(
            &path,
            "# routes\n\n   # indented comment\nroute add 10.0.0.0/8 # no next hop\n",
        )
        .unwrap();
        let file = path.to_str().unwrap().to_string();
        let r = run_args(&["-batch".to_string(), file.clone()]);
        std::fs::remove_file(&path).unwrap();
        match r {
            Err(Fail::Usage(msg)) => assert!(msg.starts_with(&format!("{file}:4: ")), "{msg}"),
            _ => panic!("a usage error was expected"),
        }
    }
}
