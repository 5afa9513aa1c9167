//! rvnic in a real kernel: pairs, Linux's IPv4/IPv6 stack on both ends, the standard tools.

use crate::harness::{ensure, ensure_eq, sh, TestResult};
use crate::module::{insmod, loaded, restore, rmmod};
use crate::topo::{finish, in_ns, listening, shell, spawn_in_ns, Namespaces, Pair};
use std::path::Path;

pub fn autoload_and_pair() -> TestResult {
    rmmod()?;
    // No insmod: `ip link add ... type rvnic` loads the module through its alias.
    let r = (|| {
        shell("ip link add rvt0 type rvnic peer name rvt1")?;
        ensure(loaded(), "rvnet was not autoloaded")?;
        let d = shell("ip -d link show rvt0")?;
        ensure(
            d.contains("rvt0@rvt1") && d.contains("rvnic"),
            format!("ip -d link: {d}"),
        )?;
        ensure(
            d.contains("minmtu 68 maxmtu 65535"),
            format!("MTU range: {d}"),
        )?;
        let mac0 =
            std::fs::read_to_string("/sys/class/net/rvt0/address").map_err(|e| e.to_string())?;
        let mac1 =
            std::fs::read_to_string("/sys/class/net/rvt1/address").map_err(|e| e.to_string())?;
        ensure(mac0 != mac1, "both ports have the same MAC")?;
        let first = u8::from_str_radix(&mac0[..2], 16).map_err(|e| e.to_string())?;
        ensure(
            first & 0x02 != 0 && first & 0x01 == 0,
            format!("MAC {mac0} not local unicast"),
        )?;
        // A peer name that is taken fails cleanly (kmemleak at the end checks for leaks).
        ensure(
            shell("ip link add rvc0 type rvnic peer name lo").is_err(),
            "peer named lo created",
        )?;
        ensure(
            shell("ip link add lo type rvnic peer name rvc1").is_err(),
            "port named lo created",
        )?;
        ensure(
            !Path::new("/sys/class/net/rvc0").exists()
                && !Path::new("/sys/class/net/rvc1").exists(),
            "half a pair left",
        )?;
        // Deleting either end deletes both.
        shell("ip link del rvt1")?;
        ensure(
            !Path::new("/sys/class/net/rvt0").exists(),
            "rvt0 survived deleting its peer",
        )?;
        // A given MAC is used.
        shell("ip link add rvt0 address 02:00:00:00:00:aa type rvnic peer name rvt1 address 02:00:00:00:00:bb")?;
        let m =
            std::fs::read_to_string("/sys/class/net/rvt1/address").map_err(|e| e.to_string())?;
        ensure_eq(m.trim(), "02:00:00:00:00:bb", "given peer MAC")?;
        // A port moves to another namespace and keeps its peer.
        shell("ip netns add rvtns && ip link set rvt1 netns rvtns")?;
        let moved = in_ns("rvtns", "ip -o link show rvt1");
        let _ = shell("ip netns del rvtns");
        ensure(
            moved?.contains("rvt1@"),
            "rvt1 lost its peer link in the new namespace",
        )?;
        let _ = shell("ip link del rvt0 2>/dev/null");
        // Sixteen queues each way.
        shell("ip link add rvt0 numrxqueues 16 numtxqueues 16 type rvnic peer name rvt1 numrxqueues 16 numtxqueues 16")?;
        let l = shell("ethtool -l rvt0")?;
        shell("ip link del rvt0")?;
        ensure(
            l.matches("16").count() >= 2,
            format!("ethtool -l with 16 queues: {l}"),
        )
    })();
    let _ = shell("ip link del rvt0 2>/dev/null");
    restore()?;
    r
}

pub fn ping_both_ways_v4_v6() -> TestResult {
    let p = Pair::new("png", 1, "")?;
    for (from, to) in [(0u8, 1u8), (1, 0)] {
        for (ping, addr) in [("ping -4", p.ip4(to)), ("ping -6", p.ip6(to))] {
            p.run(from, &format!("{ping} -c 3 -i 0.2 -W 2 {addr}"))?;
            p.run(from, &format!("{ping} -c 2 -i 0.3 -W 3 -s 65000 {addr}"))
                .map_err(|e| format!("{ping} -s 65000 from end {from}: {e}"))?;
        }
    }
    let rx = p.stat_sum(1, "rx", "packets")?;
    ensure(rx >= 12, format!("end 1 received only {rx} frames"))?;
    ensure(
        p.stat_sum(1, "rx", "interrupts")? > 0,
        "no virtual interrupts counted",
    )?;
    ensure(p.stat_sum(1, "rx", "polls")? > 0, "no NAPI polls counted")
}

pub fn tcp_verified_with_gso_on_wire() -> TestResult {
    let p = Pair::new("tcp", 2, "")?;
    // Capture the sender's frames: GSO frames appear larger than the 1500-byte MTU.
    let dump = spawn_in_ns(
        &p.a,
        &format!(
            "timeout 30 tcpdump -nn -l -i {} -c 400 tcp 2>/dev/null",
            p.p0
        ),
    )?;
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let bytes: u64 = 32 << 20;
    let tx_bytes = p.stat_sum(0, "tx", "bytes")?;
    let tx_packets = p.stat_sum(0, "tx", "packets")?;
    let rx_bytes = p.stat_sum(1, "rx", "bytes")?;
    p.tcp_transfer(bytes, 5001)?;
    // By now tcpdump has its 400 frames and has exited; if not, stop it (by its PID).
    let _ = sh("kill", &["-INT", &dump.id().to_string()]);
    let out =
        finish(dump, "tcpdump").or_else(|e| if e.contains("length") { Ok(e) } else { Err(e) })?;
    let biggest = out
        .lines()
        .filter_map(|l| {
            l.rsplit("length ")
                .next()?
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u32>()
                .ok()
        })
        .max()
        .unwrap_or(0);
    ensure(
        biggest > 1500,
        format!("largest TCP payload on the wire {biggest}: no GSO frame seen"),
    )?;
    // The counters saw the transfer: at least its bytes left the sender and reached the
    // receiver's stack, and the frames that carried them were on average larger than the
    // MTU (GSO frames crossed whole, not one per 1448-byte segment).
    let sent = p.stat_sum(0, "tx", "bytes")? - tx_bytes;
    let frames = p.stat_sum(0, "tx", "packets")? - tx_packets;
    let got = p.stat_sum(1, "rx", "bytes")? - rx_bytes;
    ensure(
        sent >= bytes && got >= bytes,
        format!("{bytes} bytes sent over TCP; tx_bytes of the sender grew by {sent}, rx_bytes of the receiver by {got}"),
    )?;
    ensure(
        frames > 0 && sent / frames > 1500,
        format!("{sent} bytes in {frames} frames: no larger than the MTU on average"),
    )
}

pub fn udp_both_ways_with_fragments() -> TestResult {
    let p = Pair::new("udp", 3, "")?;
    let sizes = "1 64 512 1400 1472 1473 4000 9000 30000 65000";
    let n = sizes.split(' ').count();
    for (srv, cli, v6) in [(1u8, 0u8, false), (0, 1, false), (1, 0, true)] {
        let addr = if v6 {
            format!("[{}]:6000", p.ip6(srv))
        } else {
            format!("{}:6000", p.ip4(srv))
        };
        let mut echo = spawn_in_ns(p.ns(srv), &format!("rvnet-vmtest udp-echo {addr} {n}"))?;
        listening(&mut echo)?;
        let r = p.run(cli, &format!("rvnet-vmtest udp-client {addr} {sizes}"));
        let e = finish(echo, "udp-echo");
        r?;
        e?;
    }
    Ok(())
}

pub fn ethtool_queries() -> TestResult {
    let p = Pair::new("eth", 4, "numrxqueues 4 numtxqueues 4")?;
    let dev = &p.p0;
    let i = p.run(0, &format!("ethtool -i {dev}"))?;
    ensure(
        i.contains("driver: rvnic") && i.contains("version: "),
        format!("ethtool -i: {i}"),
    )?;
    let g = p.run(0, &format!("ethtool -g {dev}"))?;
    ensure(
        g.contains("32768") && g.contains("256"),
        format!("ethtool -g: {g}"),
    )?;
    p.run(0, &format!("ethtool -G {dev} rx 512"))?;
    ensure(
        p.run(0, &format!("ethtool -g {dev}"))?
            .matches("512")
            .count()
            >= 1,
        "ring not 512",
    )?;
    ensure(
        p.run(0, &format!("ethtool -G {dev} rx 300")).is_err(),
        "ring of 300 accepted",
    )?;
    ensure(
        p.run(0, &format!("ethtool -G {dev} rx 65536")).is_err(),
        "ring of 65536 accepted",
    )?;
    let k = p.run(0, &format!("ethtool -k {dev}"))?;
    for f in [
        "tcp-segmentation-offload: on",
        "scatter-gather: on",
        "tx-checksumming: on",
        "rx-checksumming: on",
        "tx-scatter-gather-fraglist: on",
        "highdma: on",
    ] {
        ensure(k.contains(f), format!("ethtool -k lacks {f:?}"))?;
    }
    p.run(0, &format!("ethtool -K {dev} tso off"))?;
    ensure(
        p.run(0, &format!("ethtool -k {dev}"))?
            .contains("tcp-segmentation-offload: off"),
        "tso still on",
    )?;
    // Our rule: no checksum offload, no scatter-gather and no TSO.
    p.run(0, &format!("ethtool -K {dev} tso on tx off"))?;
    let k = p.run(0, &format!("ethtool -k {dev}"))?;
    ensure(
        k.contains("scatter-gather: off") && k.contains("tcp-segmentation-offload: off"),
        format!("fix-up: {k}"),
    )?;
    p.run(0, &format!("ethtool -K {dev} tx on sg on tso on"))?;
    let l = p.run(0, &format!("ethtool -l {dev}"))?;
    ensure(
        l.contains("RX:\t\t4") || l.contains("RX:\t4"),
        format!("ethtool -l: {l}"),
    )?;
    p.run(0, &format!("ethtool -L {dev} rx 2 tx 3"))?;
    let l = p.run(0, &format!("ethtool -l {dev}"))?;
    ensure(
        l.matches("2").count() >= 1 && l.contains('3'),
        format!("ethtool -l after -L: {l}"),
    )?;
    ensure(
        p.run(0, &format!("ethtool -L {dev} rx 5")).is_err(),
        "5 queues of 4 accepted",
    )?;
    let s = p.run(0, &format!("ethtool -S {dev}"))?;
    for name in [
        "rx_queue_1_polls",
        "tx_queue_2_stops",
        "tx_queue_0_drop_too_big",
    ] {
        ensure(s.contains(name), format!("ethtool -S lacks {name}"))?;
    }
    ensure(
        !s.contains("rx_queue_2_"),
        "ethtool -S shows queues beyond the real count",
    )?;
    p.run(0, "ping -c 2 -i 0.2 -W 2 198.18.4.2").map(|_| ())
}

pub fn changes_under_traffic() -> TestResult {
    let p = Pair::new("chg", 5, "numrxqueues 4 numtxqueues 4")?;
    // Traffic for as long as the changes take, whatever the machine's speed: the source
    // stops when told to (the file), or after 300 s.
    let stop = std::env::temp_dir().join(format!("rvnet-chg-stop.{}", std::process::id()));
    let _ = std::fs::remove_file(&stop);
    let sink = spawn_in_ns(&p.b, &format!("rvnet-vmtest tcp-sink {}:5002", p.ip4(1)))?;
    let src = spawn_in_ns(
        &p.a,
        &format!(
            "rvnet-vmtest tcp-source {}:5002 1000000000000 300 {}",
            p.ip4(1),
            stop.display()
        ),
    )?;
    // Bytes are flowing before the first change.
    let flowing = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(200));
        p.stat_sum(0, "tx", "bytes").is_ok_and(|b| b > 1 << 20)
    });
    let steps = [
        (1u8, "ethtool -G {1} rx 64"),
        (0, "ethtool -K {0} tso off"),
        (1, "ethtool -K {1} gro off"),
        (0, "ethtool -K {0} tso on"),
        (1, "ethtool -L {1} rx 2 tx 2"),
        (1, "ethtool -G {1} rx 2048"),
        (0, "ethtool -L {0} rx 1 tx 1"),
        (1, "ethtool -K {1} gro on"),
        (1, "ethtool -L {1} rx 4 tx 4"),
        (0, "ethtool -L {0} rx 4 tx 4"),
    ];
    let mut err = None;
    for (end, cmd) in steps {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let cmd = cmd.replace("{0}", &p.p0).replace("{1}", &p.p1);
        if let Err(e) = p.run(end, &cmd) {
            err.get_or_insert(format!("{cmd}: {e}"));
        }
    }
    let _ = std::fs::write(&stop, b"");
    let sent = finish(src, "tcp-source");
    let _ = std::fs::remove_file(&stop);
    let sent = sent?;
    let got = finish(sink, "tcp-sink")?;
    if let Some(e) = err {
        return Err(e);
    }
    ensure(flowing, "no traffic before the changes began")?;
    let sent = sent.trim().strip_prefix("sent ").unwrap_or("?").to_string();
    ensure(
        got.lines().last() == Some(format!("ok {sent}").as_str()),
        format!("sent {sent}, sink: {got}"),
    )?;
    // GRO was off on the receiver for part of the run: the sender segmented in software.
    ensure(
        p.stat_sum(0, "tx", "gso_segmented")? > 0,
        "no software segmentation while the peer had GRO off",
    )
}

pub fn backpressure_without_lost_wakeup() -> TestResult {
    let p = Pair::new("bp", 6, "")?;
    // A two-slot ring, drained by a NAPI kernel thread rather than in the sender's own
    // softirq: the ring fills, the sender's queue must stop, and be woken, many times. A lost
    // wakeup leaves the queue stopped for good and the transfers time out.
    p.run(1, &format!("ethtool -G {} rx 2", p.p1))?;
    p.run(1, &format!("echo 1 > /sys/class/net/{}/threaded", p.p1))?;
    let bytes: u64 = 16 << 20;
    let mut sinks = Vec::new();
    let mut srcs = Vec::new();
    for port in [5003u16, 5004] {
        sinks.push(spawn_in_ns(
            &p.b,
            &format!("rvnet-vmtest tcp-sink {}:{port}", p.ip4(1)),
        )?);
    }
    for port in [5003u16, 5004] {
        srcs.push(spawn_in_ns(
            &p.a,
            &format!("rvnet-vmtest tcp-source {}:{port} {bytes}", p.ip4(1)),
        )?);
    }
    for s in srcs {
        finish(s, "tcp-source")?;
    }
    for s in sinks {
        let got = finish(s, "tcp-sink")?;
        ensure(got.contains(&format!("ok {bytes}")), format!("sink: {got}"))?;
    }
    let stops = p.stat_sum(0, "tx", "stops")?;
    let wakes = p.stat_sum(0, "tx", "wakes")?;
    ensure(stops > 0, "the queue never stopped on a 2-slot ring")?;
    ensure(wakes > 0, format!("{stops} stops but no wake"))?;
    ensure(
        p.stat_sum(0, "tx", "drop_ring_full")? == 0,
        "frames dropped although a qdisc was there",
    )
}

pub fn carrier_follows_peer() -> TestResult {
    let p = Pair::new("car", 7, "")?;
    ensure(p.carrier(0)? && p.carrier(1)?, "no carrier with both up")?;
    p.run(1, &format!("ip link set {} down", p.p1))?;
    ensure(
        p.wait_carrier(0, false)?,
        "carrier on although the peer is down",
    )?;
    p.run(1, &format!("ip link set {} up", p.p1))?;
    ensure(
        p.wait_carrier(0, true)? && p.wait_carrier(1, true)?,
        "carrier did not return",
    )?;
    p.run(1, &format!("ip link set {} down", p.p1))?;
    let show = p.run(0, &format!("ip link show {}", p.p0))?;
    ensure(show.contains("NO-CARRIER"), format!("ip link: {show}"))?;
    ensure(
        p.run(0, &format!("ping -c 1 -W 1 {}", p.ip4(1))).is_err(),
        "ping crossed to a down peer",
    )?;
    p.run(1, &format!("ip link set {} up", p.p1))?;
    ensure(p.wait_carrier(0, true)?, "carrier did not return")?;
    // Up to 6 s, a request a second: after the flap Linux resolves its neighbour again, which
    // a loaded guest may take more than one round for.
    p.run(0, &format!("ping -c 1 -w 6 {}", p.ip4(1)))
        .map(|_| ())
}

pub fn mtu_range_and_drops() -> TestResult {
    let p = Pair::new("mtu", 8, "")?;
    let d = &p.p0;
    p.run(0, &format!("ip link set {d} mtu 65535"))?;
    p.run(0, &format!("ip link set {d} mtu 68"))?;
    ensure(
        p.run(0, &format!("ip link set {d} mtu 65536")).is_err(),
        "MTU 65536 accepted",
    )?;
    ensure(
        p.run(0, &format!("ip link set {d} mtu 67")).is_err(),
        "MTU 67 accepted",
    )?;
    p.run(0, &format!("ip link set {d} mtu 1500"))?;
    p.run(1, &format!("ip link set {} mtu 1000", p.p1))?;
    let before = p.stat_sum(0, "tx", "drop_too_big")?;
    // 1200 bytes with DF: fits our MTU, not the peer's; not GSO, so it is dropped and counted.
    let _ = p.run(
        0,
        &format!("ping -c 3 -i 0.2 -W 1 -M do -s 1200 {}", p.ip4(1)),
    );
    let after = p.stat_sum(0, "tx", "drop_too_big")?;
    ensure(
        after >= before + 3,
        format!("drop_too_big {before} -> {after}"),
    )?;
    let dropped = p.run(0, &format!("cat /sys/class/net/{d}/statistics/tx_dropped"))?;
    ensure(
        dropped.trim().parse::<u64>().unwrap_or(0) >= 3,
        format!("tx_dropped {dropped}"),
    )?;
    // Small frames still pass.
    p.run(0, &format!("ping -c 1 -W 2 -s 900 {}", p.ip4(1)))
        .map(|_| ())
}

pub fn sixteen_pairs() -> TestResult {
    // Sixteen pairs between two namespaces, one subnet each, made in one `ip -batch`.
    let _ns = Namespaces::new(&["sxa", "sxb"])?;
    let mut batch = String::new();
    for i in 0..16 {
        batch += &format!("link add sx{i}a netns sxa type rvnic peer name sx{i}b netns sxb\n");
    }
    std::fs::write("/tmp/rvnet-sixteen.batch", batch).map_err(|e| e.to_string())?;
    shell("ip -batch /tmp/rvnet-sixteen.batch")?;
    let mut up = [String::new(), String::new()];
    for i in 0..16 {
        for (end, side) in ["a", "b"].iter().enumerate() {
            up[end] += &format!(
                "addr add 198.19.{i}.{h}/24 dev sx{i}{side}\nlink set sx{i}{side} up\n",
                h = end + 1
            );
        }
    }
    for (end, ns) in ["sxa", "sxb"].iter().enumerate() {
        let f = format!("/tmp/rvnet-sixteen-{ns}.batch");
        std::fs::write(&f, &up[end]).map_err(|e| e.to_string())?;
        in_ns(ns, &format!("ip -batch {f}"))?;
    }
    let count = in_ns("sxa", "ip -o link show type rvnic | wc -l")?;
    ensure_eq(count.trim(), "16", "rvnic ports in sxa")?;
    let pings: Vec<String> = (0..16)
        .map(|i| format!("ping -c 1 -W 5 198.19.{i}.2 >/dev/null || echo fail {i}"))
        .collect();
    let out = in_ns("sxa", &pings.join(" & "))?;
    let out = out + &in_ns("sxa", "wait")?;
    ensure(!out.contains("fail"), format!("pings failed: {out}"))
}

pub fn pairs_parameter() -> TestResult {
    rmmod()?;
    let r = (|| {
        insmod(&["pairs=3"])?;
        let n = shell("ip -o link show type rvnic | wc -l")?;
        ensure_eq(n.trim(), "6", "ports after pairs=3")?;
        // Named as modinfo says: rvnic0 to rvnic5, each even port paired with the next.
        for k in 0..3 {
            let (a, b) = (2 * k, 2 * k + 1);
            let show = shell(&format!("ip -o link show rvnic{a}"))?;
            ensure(
                show.contains(&format!("rvnic{a}@rvnic{b}:")),
                format!("rvnic{a} after pairs=3 is not paired with rvnic{b}: {show}"),
            )?;
        }
        rmmod()?;
        let n = shell("ip -o link show type rvnic 2>/dev/null | wc -l")?;
        ensure_eq(n.trim(), "0", "ports after rmmod")?;
        ensure(insmod(&["pairs=65"]).is_err(), "pairs=65 accepted")
    })();
    restore()?;
    r
}

/// rmmod while TCP and a ping flood cross a pair, five rounds (there were twenty: the other
/// fifteen added minutes to every run and exercised nothing the five do not).
pub fn rmmod_under_traffic() -> TestResult {
    let _ns = Namespaces::new(&["rma", "rmb"])?;
    for round in 0..5 {
        if !loaded() {
            insmod(&[])?;
        }
        shell("ip link add rm0 netns rma numtxqueues 2 numrxqueues 2 type rvnic peer name rm1 netns rmb numtxqueues 2 numrxqueues 2")?;
        in_ns(
            "rma",
            "ip addr add 198.18.9.1/24 dev rm0 && ip link set rm0 up",
        )?;
        in_ns(
            "rmb",
            "ip addr add 198.18.9.2/24 dev rm1 && ip link set rm1 up",
        )?;
        let mut load = vec![
            spawn_in_ns("rmb", "exec rvnet-vmtest tcp-sink 198.18.9.2:5009")?,
            spawn_in_ns(
                "rma",
                "exec rvnet-vmtest tcp-source 198.18.9.2:5009 4000000000",
            )?,
            spawn_in_ns("rma", "exec ping -f -s 1400 -w 10 198.18.9.2")?,
        ];
        std::thread::sleep(std::time::Duration::from_millis(500));
        let r = rmmod();
        for c in load.iter_mut() {
            let _ = c.kill();
        }
        for c in load {
            let _ = c.wait_with_output();
        }
        r.map_err(|e| format!("round {round}: {e}"))?;
        ensure(!loaded(), format!("round {round}: module still loaded"))?;
        let left = shell("ip -n rma -o link show type rvnic; ip -n rmb -o link show type rvnic")?;
        ensure(
            left.trim().is_empty(),
            format!("round {round}: ports left: {left}"),
        )?;
    }
    restore()
}

/// Sums every `"KEY": N` in a JSON text (enough for ynl's flat list of stats objects).
fn json_sum(text: &str, key: &str) -> u64 {
    let pat = format!("\"{key}\": ");
    text.match_indices(&pat)
        .filter_map(|(i, _)| {
            let rest = &text[i + pat.len()..];
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

pub fn queue_stats_over_netlink() -> TestResult {
    // The kernel's own netlink tool (tools/net/ynl) reads the queue statistics.
    let kdir = std::env::var("RVNET_KDIR").map_err(|_| "RVNET_KDIR is not set".to_string())?;
    let p = Pair::new("qst", 10, "numrxqueues 2 numtxqueues 2")?;
    p.run(0, &format!("ping -c 5 -i 0.2 {}", p.ip4(1)))?;
    let ifindex = p.run(1, &format!("cat /sys/class/net/{}/ifindex", p.p1))?;
    let ynl = format!(
        "/usr/bin/python3 {kdir}/tools/net/ynl/pyynl/cli.py --no-schema \
         --spec {kdir}/Documentation/netlink/specs/netdev.yaml --output-json --dump qstats-get \
         --json '{{\"ifindex\": {}, \"scope\": [\"queue\"]}}'",
        ifindex.trim()
    );
    let out = p.run(1, &ynl)?;
    ensure(
        out.contains("\"queue-id\""),
        format!("no per-queue entries: {out}"),
    )?;
    let nl = json_sum(&out, "rx-packets");
    let ethtool = p.stat_sum(1, "rx", "packets")?;
    ensure(nl >= 5, format!("netlink rx-packets {nl}"))?;
    ensure_eq(nl, ethtool, "rx packets: netlink vs ethtool -S")
}
