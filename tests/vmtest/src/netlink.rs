//! AF_RVNET's generic netlink family "rvnet" (`Documentation/netlink/specs/rvnet.yaml`) in a
//! real kernel: driven by the kernel's own YNL CLI (tools/net/ynl) and by `rvnetctl`,
//! notifications seen by `rvnetctl monitor`, and bad requests refused with the right errno
//! and extack message.
//!
//! The lab: namespace "nla" holds nl0 with Linux's 198.18.7.1/24; namespace "nlr" holds its
//! peer nl1, to which rvnet gives 198.18.7.2/24.

use crate::harness::{ensure, ensure_eq, root, TestResult};
use crate::topo::{in_netns, in_ns, shell, spawn_in_ns, Namespaces};
use rvnet_uapi::genl::{addr, cmd, neigh, route};
use rvnet_uapi::nl::{Attrs, NlError, Rvnet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const LX: &str = "nla";
const RV: &str = "nlr";
const LX_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 7, 1);
const RV_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 7, 2);

/// The two namespaces and the pair between them; deleted on drop.
struct Lab {
    _ns: Namespaces,
}

impl Lab {
    /// The pair up with carrier, Linux's address on nl0; rvnet has nothing yet.
    fn new() -> Result<Lab, String> {
        let lab = Lab {
            _ns: Namespaces::new(&[LX, RV])?,
        };
        shell(&format!(
            "ip link add nl0 netns {LX} type rvnic peer name nl1 netns {RV}"
        ))?;
        in_ns(
            LX,
            &format!("ip link set nl0 up && ip addr add {LX_IP}/24 dev nl0"),
        )?;
        in_ns(RV, "ip link set nl1 up")?;
        let start = Instant::now();
        while in_ns(RV, "cat /sys/class/net/nl1/carrier").map(|c| c.trim().to_string())
            != Ok("1".to_string())
        {
            ensure(
                start.elapsed() < Duration::from_secs(5),
                "no carrier on nl1",
            )?;
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(lab)
    }

    fn ifindex(&self) -> Result<u32, String> {
        in_ns(RV, "cat /sys/class/net/nl1/ifindex")?
            .trim()
            .parse()
            .map_err(|e| format!("ifindex of nl1: {e}"))
    }
}

/// The command line of the kernel's YNL CLI with rvnet's spec: `ARGS`, output in JSON.
fn ynl_cmd(args: &str) -> Result<String, String> {
    let kdir = std::env::var("RVNET_KDIR").map_err(|_| "RVNET_KDIR is not set".to_string())?;
    let spec = root().join("Documentation/netlink/specs/rvnet.yaml");
    Ok(format!(
        "/usr/bin/python3 {kdir}/tools/net/ynl/pyynl/cli.py --no-schema --spec {} \
         --output-json {args}",
        spec.display()
    ))
}

/// Runs the YNL CLI in `ns`.
fn ynl(ns: &str, args: &str) -> Result<String, String> {
    in_ns(ns, &ynl_cmd(args)?)
}

/// Removes JSON's spaces, so that `"key": value` can be searched as `"key":value`.
fn compact(json: &str) -> String {
    json.chars().filter(|c| !c.is_whitespace()).collect()
}

pub fn ynl_cli_adds_and_dumps() -> TestResult {
    let lab = Lab::new()?;
    let ifindex = lab.ifindex()?;
    ynl(
        RV,
        &format!(
            "--do addr-add --json '{{\"ifindex\": {ifindex}, \"address\": \"{RV_IP}\", \
             \"prefixlen\": 24}}'"
        ),
    )?;
    let addrs = compact(&ynl(RV, "--dump addr-get")?);
    ensure(
        addrs.contains(&format!(
            "\"ifindex\":{ifindex},\"address\":\"{RV_IP}\",\"prefixlen\":24"
        )),
        format!("addr-get has no {RV_IP}/24 on ifindex {ifindex}: {addrs}"),
    )?;
    // The address works: Linux reaches it.
    in_ns(LX, &format!("ping -c 1 -W 2 {RV_IP}"))
        .map_err(|e| format!("ping {RV_IP} after addr-add: {e}"))?;
    ynl(
        RV,
        &format!(
            "--do route-add --json '{{\"dst\": \"10.7.0.0\", \"prefixlen\": 16, \
             \"gateway\": \"{LX_IP}\"}}'"
        ),
    )?;
    let routes = compact(&ynl(RV, "--dump route-get")?);
    for want in [
        format!(
            "\"dst\":\"10.7.0.0\",\"prefixlen\":16,\"gateway\":\"{LX_IP}\",\
             \"ifindex\":{ifindex},\"kind\":\"gateway\""
        ),
        format!(
            "\"dst\":\"198.18.7.0\",\"prefixlen\":24,\"ifindex\":{ifindex},\"kind\":\"connected\""
        ),
        format!("\"dst\":\"{RV_IP}\",\"prefixlen\":32,\"ifindex\":{ifindex},\"kind\":\"local\""),
    ] {
        ensure(
            routes.contains(&want),
            format!("route-get has no {want}: {routes}"),
        )?;
    }
    // Several routes in one request, and the longest match of an address (`ip route get`).
    ynl(
        RV,
        &format!(
            "--do route-add-bulk --json '{{\"route\": [\
             {{\"dst\": \"10.8.0.0\", \"prefixlen\": 16, \"gateway\": \"{LX_IP}\"}}, \
             {{\"dst\": \"10.8.3.0\", \"prefixlen\": 24, \"ifindex\": {ifindex}}}]}}'"
        ),
    )?;
    // The YNL CLI is slow on the debug guest: one lookup by it (rvnetctl's `route get` tests
    // the rest). 10.8.3.9 is under both new routes; the /24 wins.
    let got = compact(&ynl(RV, "--do route-get --json '{\"dst\": \"10.8.3.9\"}'")?);
    let want = format!(
        "\"dst\":\"10.8.3.0\",\"prefixlen\":24,\"ifindex\":{ifindex},\"kind\":\"connected\""
    );
    ensure(
        got.contains(&want),
        format!("route-get 10.8.3.9: {got}, want {want}"),
    )?;
    let got = in_ns(RV, "rvnetctl route get 10.8.200.1")?;
    ensure(
        got.split_whitespace().collect::<Vec<_>>()
            == ["10.8.0.0/16", &LX_IP.to_string(), "nl1", "gateway"],
        format!("rvnetctl route get 10.8.200.1: {got:?}"),
    )?;
    // Parameters, set and read back.
    ynl(RV, "--do param-set --json '{\"default-ttl\": 33}'")?;
    let params = compact(&ynl(RV, "--do param-get")?);
    ensure(
        params.contains("\"default-ttl\":33") && params.contains("\"arp-ageing-ms\":1200000"),
        format!("param-get: {params}"),
    )?;
    // Another namespace has a stack of its own, with none of this.
    let other = compact(&ynl(LX, "--dump route-get")?);
    ensure(other == "[]", format!("route-get in {LX}: {other}"))?;
    ynl(
        RV,
        "--do route-del --json '{\"dst\": \"10.7.0.0\", \"prefixlen\": 16}'",
    )?;
    let routes = compact(&ynl(RV, "--dump route-get")?);
    ensure(
        !routes.contains("10.7.0.0"),
        format!("route left after route-del: {routes}"),
    )
}

pub fn rvnetctl_adds_and_dumps() -> TestResult {
    let _lab = Lab::new()?;
    let ctl = |args: &str| in_ns(RV, &format!("rvnetctl {args}"));
    ctl(&format!("addr add {RV_IP}/24 dev nl1"))?;
    ctl(&format!("route add 10.7.0.0/16 via {LX_IP}"))?;
    ctl("arp add 198.18.7.9 lladdr 02:00:00:00:00:09 dev nl1")?;
    // What rvnetctl prints from the dumps is what /proc shows.
    for (show, file) in [
        ("addr show", "dev"),
        ("route show", "route"),
        ("arp show", "arp"),
    ] {
        let got = ctl(show)?;
        let proc = in_ns(RV, &format!("cat /proc/net/rvnet/{file}"))?;
        // ARP entries other than the static one may come and go in between.
        let keep = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| file != "arp" || l.contains("static") || l.starts_with("IP"))
                .map(String::from)
                .collect()
        };
        ensure_eq(
            keep(&got),
            keep(&proc),
            &format!("rvnetctl {show} vs /proc"),
        )?;
    }
    let routes = ctl("route show")?;
    ensure(
        routes.lines().any(|l| {
            l.split_whitespace().collect::<Vec<_>>()
                == ["10.7.0.0/16", "198.18.7.1", "nl1", "gateway"]
        }),
        format!("no 10.7.0.0/16 via {LX_IP} in rvnetctl route show:\n{routes}"),
    )?;
    ensure_eq(ctl("get default_ttl")?.trim(), "64", "default_ttl")?;
    ctl("set default_ttl 9")?;
    ensure_eq(ctl("get default_ttl")?.trim(), "9", "default_ttl after set")?;
    let rev = ctl("arp reverse 02:00:00:00:00:09")?;
    ensure(
        rev.starts_with("198.18.7.9 lladdr 02:00:00:00:00:09 dev nl1"),
        format!("arp reverse: {rev}"),
    )?;
    // The kernel's extack is printed after the errno.
    match ctl(&format!("addr add {RV_IP}/24 dev nl1")) {
        Ok(out) => Err(format!("a second addr add succeeded: {out}")),
        Err(e) => ensure(
            e.contains("rvnetctl: addr add: File exists (already exists)"),
            format!("second addr add: {e}"),
        ),
    }
}

pub fn monitor_sees_changes() -> TestResult {
    let lab = Lab::new()?;
    let ifindex = lab.ifindex()?;
    let mut mon = spawn_in_ns(RV, "exec rvnetctl monitor")?;
    // Subscribed once it has resolved the family and joined the group: a start of a
    // program takes about half a second in the debug guest, more with another test running.
    std::thread::sleep(Duration::from_millis(3000));
    let ctl = |args: &str| in_ns(RV, &format!("rvnetctl {args}"));
    let changes = (|| -> TestResult {
        ctl(&format!("addr add {RV_IP}/24 dev nl1"))?;
        ctl(&format!("route add 10.7.0.0/16 via {LX_IP}"))?;
        ctl("arp add 198.18.7.9 lladdr 02:00:00:00:00:09 dev nl1")?;
        ctl("arp del 198.18.7.9")?;
        ctl("route del 10.7.0.0/16")?;
        ctl(&format!("addr del {RV_IP}/24 dev nl1"))?;
        Ok(())
    })();
    std::thread::sleep(Duration::from_millis(500));
    let _ = mon.kill();
    let out = mon
        .wait_with_output()
        .map_err(|e| format!("monitor: {e}"))?;
    changes?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let want = [
        format!("{ifindex}: nl1    inet {RV_IP}/24 scope global nl1"),
        format!("10.7.0.0/16 via {LX_IP} dev nl1"),
        "198.18.7.9 dev nl1 lladdr 02:00:00:00:00:09 PERMANENT".to_string(),
        "Deleted 198.18.7.9 dev nl1".to_string(),
        format!("Deleted 10.7.0.0/16 via {LX_IP} dev nl1"),
        format!("Deleted {ifindex}: nl1    inet {RV_IP}/24 scope global nl1"),
    ];
    let lines: Vec<&str> = text.lines().collect();
    ensure_eq(
        lines.len(),
        want.len(),
        &format!("lines from rvnetctl monitor:\n{text}"),
    )?;
    for (got, want) in lines.iter().zip(want.iter()) {
        ensure_eq(
            *got,
            want.as_str(),
            &format!("rvnetctl monitor said:\n{text}"),
        )?;
    }
    Ok(())
}

/// Fails unless `r` is an error with `errno` and an extack message containing `msg`.
fn refused<T: std::fmt::Debug>(
    r: Result<T, NlError>,
    errno: i32,
    msg: &str,
    what: &str,
) -> TestResult {
    match r {
        Ok(v) => Err(format!("{what}: accepted ({v:?})")),
        Err(e) => ensure(
            e.errno == errno && e.msg.as_deref().is_some_and(|m| m.contains(msg)),
            format!("{what}: got {e:?}, want errno {errno} with \"{msg}\""),
        ),
    }
}

pub fn bad_requests_refused() -> TestResult {
    let lab = Lab::new()?;
    let ifindex = lab.ifindex()?;
    in_netns(RV, || {
        let mut nl = Rvnet::open().map_err(|e| format!("open: {e}"))?;
        let good = || {
            Attrs::new()
                .u32(addr::IFINDEX, ifindex)
                .ip(addr::ADDRESS, RV_IP)
                .u8(addr::PREFIXLEN, 24)
        };
        // A wrong type: the ifindex as a u16, the address as a u64.
        refused(
            nl.call(
                cmd::ADDR_ADD,
                Attrs::new()
                    .raw(addr::IFINDEX, &7u16.to_ne_bytes())
                    .ip(addr::ADDRESS, RV_IP)
                    .u8(addr::PREFIXLEN, 24),
            ),
            libc::EINVAL,
            "invalid attribute length",
            "ifindex as a u16",
        )?;
        refused(
            nl.call(
                cmd::ADDR_ADD,
                Attrs::new()
                    .u32(addr::IFINDEX, ifindex)
                    .raw(addr::ADDRESS, &1u64.to_ne_bytes())
                    .u8(addr::PREFIXLEN, 24),
            ),
            libc::EINVAL,
            "invalid attribute length",
            "address as a u64",
        )?;
        // An attribute the operation does not take.
        refused(
            nl.call(cmd::ADDR_ADD, good().u32(addr::MAX + 1, 1)),
            libc::EINVAL,
            "Unknown attribute type",
            "attribute 5 in addr-add",
        )?;
        // Out of range.
        refused(
            nl.call(
                cmd::ADDR_ADD,
                Attrs::new()
                    .u32(addr::IFINDEX, ifindex)
                    .ip(addr::ADDRESS, RV_IP)
                    .u8(addr::PREFIXLEN, 33),
            ),
            libc::ERANGE,
            "integer out of range",
            "prefixlen 33",
        )?;
        // A missing attribute: named in the extack.
        let r = nl.call(
            cmd::ADDR_ADD,
            Attrs::new()
                .u32(addr::IFINDEX, ifindex)
                .u8(addr::PREFIXLEN, 24),
        );
        if let Err(e) = &r {
            ensure_eq(e.miss_type, Some(u32::from(addr::ADDRESS)), "missing type")?;
        }
        refused(
            r,
            libc::EINVAL,
            "missing address",
            "addr-add without an address",
        )?;
        refused(
            nl.call(
                cmd::ROUTE_ADD,
                Attrs::new().ip(route::DST, Ipv4Addr::new(10, 7, 0, 0)),
            ),
            libc::EINVAL,
            "missing prefixlen",
            "route-add without a prefixlen",
        )?;
        refused(
            nl.call(
                cmd::ROUTE_ADD,
                Attrs::new()
                    .ip(route::DST, Ipv4Addr::new(10, 7, 0, 0))
                    .u8(route::PREFIXLEN, 16),
            ),
            libc::EINVAL,
            "a route needs a gateway or an ifindex",
            "route-add with neither gateway nor ifindex",
        )?;
        // Unknown interfaces.
        refused(
            nl.call(
                cmd::ADDR_ADD,
                Attrs::new()
                    .u32(addr::IFINDEX, 999_999)
                    .ip(addr::ADDRESS, RV_IP)
                    .u8(addr::PREFIXLEN, 24),
            ),
            libc::ENODEV,
            "no device with this ifindex",
            "addr-add on ifindex 999999",
        )?;
        refused(
            nl.detach(i32::try_from(ifindex).unwrap_or(0)),
            libc::ENODEV,
            "interface not attached",
            "link-detach of an interface never attached",
        )?;
        refused(
            nl.neigh_reverse([2, 0, 0, 0, 0, 0x77]),
            libc::ENOENT,
            "no such entry",
            "neigh-reverse of an unknown MAC",
        )?;
        refused(
            nl.call(
                cmd::NEIGH_ADD,
                Attrs::new()
                    .ip(neigh::ADDRESS, Ipv4Addr::new(198, 18, 7, 9))
                    .raw(neigh::LLADDR, &[2, 0, 0, 0, 9]),
            ),
            libc::ERANGE,
            "binary attribute size out of range",
            "a 5-byte lladdr",
        )?;
        // None of that changed anything.
        let addrs = nl.addrs().map_err(|e| format!("addr-get: {e}"))?;
        ensure(
            addrs.is_empty(),
            format!("interfaces after refusals: {addrs:?}"),
        )
    })?;
    // Without CAP_NET_ADMIN: changes refused, dumps allowed.
    let as_nobody = "rvnet-vmtest as-user 65534";
    match in_ns(
        RV,
        &format!("{as_nobody} rvnetctl addr add {RV_IP}/24 dev nl1"),
    ) {
        Ok(out) => return Err(format!("uid 65534 added an address: {out:?}")),
        Err(e) => ensure(
            e.contains("exit status: 2")
                && e.contains("rvnetctl: addr add: Operation not permitted"),
            format!("rvnetctl addr add as uid 65534: {e}"),
        )?,
    }
    // The YNL CLI lives in the kernel tree, under root's home, which uid 65534 cannot read:
    // it runs as root without CAP_NET_ADMIN (gone from the bounding set, so from the
    // program's capabilities too).
    let ynl_nobody = in_ns(
        RV,
        &format!(
            "setpriv --bounding-set=-net_admin --inh-caps=-net_admin {} 2>&1; true",
            ynl_cmd(&format!(
                "--do addr-add --json '{{\"ifindex\": {ifindex}, \"address\": \"{RV_IP}\", \
                 \"prefixlen\": 24}}'"
            ))?
        ),
    )?;
    ensure(
        ynl_nobody.contains("Operation not permitted"),
        format!("YNL addr-add without CAP_NET_ADMIN: {ynl_nobody}"),
    )?;
    let shown = in_ns(RV, &format!("{as_nobody} rvnetctl route show"))?;
    ensure(
        shown.starts_with("Destination"),
        format!("route show as uid 65534: {shown}"),
    )?;
    let dev = in_ns(RV, "cat /proc/net/rvnet/dev")?;
    ensure(
        !dev.contains(&RV_IP.to_string()),
        format!("{RV_IP} appeared despite the refusals:\n{dev}"),
    )
}

/// `rvnetctl -batch FILE` runs a file of commands as `ip -batch` does: the changes arrive,
/// a refused line is reported with its number and exit status 2, `-force` goes on past it,
/// and `-` reads standard input.
pub fn rvnetctl_batch_runs_a_file() -> TestResult {
    let _lab = Lab::new()?;
    const ROUTES: u32 = 200;
    let net = |i: u32| Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 64, 0, 0)) + (i << 8));
    let mut text = format!("# a batch\n\naddr add {RV_IP}/24 dev nl1\n");
    for i in 0..ROUTES {
        text.push_str(&format!(
            "route add {}/24 via {LX_IP}   # route {i}\n",
            net(i)
        ));
    }
    // Line ROUTES + 4: no such route.
    text.push_str("route del 10.250.0.0/16\n");
    let file = "/tmp/rvnet-batch-test";
    std::fs::write(file, &text).map_err(|e| format!("{file}: {e}"))?;
    let first = in_ns(RV, &format!("rvnetctl -batch {file}"));
    let bad_line = ROUTES + 4;
    match first {
        Ok(out) => return Err(format!("a batch with a bad line succeeded: {out}")),
        Err(e) => ensure(
            e.contains("exit status: 2")
                && e.contains(&format!("rvnetctl: {file}:{bad_line}: route del: ")),
            format!("batch with a bad line {bad_line}: {e}"),
        )?,
    }
    let routes = in_ns(RV, "rvnetctl route show")?;
    let proc = in_ns(RV, "cat /proc/net/rvnet/route")?;
    ensure_eq(
        &routes,
        &proc,
        "rvnetctl route show vs /proc after the batch",
    )?;
    for i in [0, ROUTES / 2, ROUTES - 1] {
        let want = format!("{}/24", net(i));
        ensure(
            routes
                .lines()
                .any(|l| l.starts_with(&want) && l.contains("gateway")),
            format!("no {want} after the batch:\n{routes}"),
        )?;
    }
    let gateway_routes = routes.lines().filter(|l| l.ends_with("gateway")).count();
    ensure_eq(
        gateway_routes,
        ROUTES as usize,
        "gateway routes after the batch",
    )?;
    // Again with -force, from standard input: every add now fails (EEXIST), each reported,
    // and the line after them still runs.
    std::fs::write(
        file,
        format!(
            "route add {}/24 via {LX_IP}\nroute add {}/24 via {LX_IP}\nroute add 10.251.0.0/16 via {LX_IP}\n",
            net(0),
            net(1)
        ),
    )
    .map_err(|e| format!("{file}: {e}"))?;
    match in_ns(RV, &format!("rvnetctl -force -batch - < {file}")) {
        Ok(out) => return Err(format!("a forced batch with failures succeeded: {out}")),
        Err(e) => ensure(
            e.contains("rvnetctl: <stdin>:1: route add: File exists")
                && e.contains("rvnetctl: <stdin>:2: route add: File exists")
                && e.contains("2 command(s) of <stdin> failed"),
            format!("forced batch: {e}"),
        )?,
    }
    let routes = in_ns(RV, "rvnetctl route show")?;
    ensure(
        routes.lines().any(|l| l.starts_with("10.251.0.0/16")),
        format!("the line after the failures did not run:\n{routes}"),
    )?;
    // A line that is not understood stops the batch, after what came before it ran.
    std::fs::write(
        file,
        format!("route add 10.252.0.0/16 via {LX_IP}\nroute add 10.253.0.0/16\nroute add 10.254.0.0/16 via {LX_IP}\n"),
    )
    .map_err(|e| format!("{file}: {e}"))?;
    match in_ns(RV, &format!("rvnetctl -batch {file}")) {
        Ok(out) => return Err(format!("a batch with a bad line succeeded: {out}")),
        Err(e) => ensure(
            e.contains("exit status: 1") && e.contains(&format!("rvnetctl: {file}:2: ")),
            format!("batch with a usage error: {e}"),
        )?,
    }
    let routes = in_ns(RV, "rvnetctl route show")?;
    ensure(
        routes.lines().any(|l| l.starts_with("10.252.0.0/16"))
            && !routes.lines().any(|l| l.starts_with("10.254.0.0/16")),
        format!("a usage error at line 2: want line 1 done and line 3 not:\n{routes}"),
    )?;
    // A refusal inside a run of route adds, which go as one request: the error names its
    // own line, the routes before it stay and the ones after it are not tried.
    let nets = ["10.96.1.0", "10.96.2.0", "10.96.3.0", "10.96.4.0"];
    let mut text = String::new();
    for (i, n) in nets.iter().enumerate() {
        let via = if i == 2 {
            Ipv4Addr::new(198, 19, 77, 1)
        } else {
            LX_IP
        };
        text.push_str(&format!("route add {n}/24 via {via}\n"));
    }
    std::fs::write(file, &text).map_err(|e| format!("{file}: {e}"))?;
    match in_ns(RV, &format!("rvnetctl -batch {file}")) {
        Ok(out) => {
            return Err(format!(
                "a batch with an unreachable gateway succeeded: {out}"
            ))
        }
        Err(e) => ensure(
            e.contains("exit status: 2")
                && e.contains(&format!(
                    "rvnetctl: {file}:3: route add: Network is unreachable"
                )),
            format!("batch with line 3 refused: {e}"),
        )?,
    }
    let routes = in_ns(RV, "rvnetctl route show")?;
    let has = |n: &str| routes.lines().any(|l| l.starts_with(&format!("{n}/24 ")));
    ensure(
        has(nets[0]) && has(nets[1]) && !has(nets[2]) && !has(nets[3]),
        format!("line 3 refused: want lines 1 and 2 added, 3 and 4 not:\n{routes}"),
    )?;
    // With -force every other line is tried, and `route get` answers from the table.
    match in_ns(RV, &format!("rvnetctl -force -batch {file}")) {
        Ok(out) => return Err(format!("a forced batch with failures succeeded: {out}")),
        Err(e) => ensure(
            e.contains(&format!("rvnetctl: {file}:1: route add: File exists"))
                && e.contains(&format!(
                    "rvnetctl: {file}:3: route add: Network is unreachable"
                ))
                && e.contains("3 command(s) of"),
            format!("forced batch with lines 1 to 3 refused: {e}"),
        )?,
    }
    let got = in_ns(RV, "rvnetctl route get 10.96.4.77")?;
    ensure(
        got.split_whitespace().collect::<Vec<_>>()
            == ["10.96.4.0/24", &LX_IP.to_string(), "nl1", "gateway"],
        format!("route get 10.96.4.77 after the forced batch: {got:?}"),
    )
}
