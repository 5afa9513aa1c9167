//! Host micro-benchmarks of the protocol core, printed by `make bench` before the VM part:
//!
//! ```sh
//! cd rust/netcore && cargo run --release --example bench
//! ```
//!
//! - the FIB with 100k and 1M routes of `ipv4::route::synth`'s Internet-like table (the one
//!   the route tests check): insertions per second (growing the storage as the kernel does,
//!   `wants` then `adopt` before each), bytes of storage per route, and longest-prefix
//!   matches of destinations inside the routed space (nine in ten) or anywhere, one at a
//!   time and in batches of 64 (`Fib::lookup_many` and `Fib::resolve_many`, as a NAPI poll
//!   could look up its packets); and the route cache in front of it;
//! - ARP cache lookups in the hashed cache holding 128 entries (gc_thresh1), all `Reachable`;
//! - the receive-side parse of an IPv4+UDP packet as `drivers/af_rvnet/input.rs` does it
//!   (`ipv4::input::check`, then `UdpPacket::new_checked`, with and without the UDP checksum).
//!
//! `cargo run --release --example bench -- fib` prints the FIB rows only.
//!
//! One thread, wall-clock time (`Instant`), each figure the best of 3 rounds. Only the order
//! of magnitude and changes between runs on the same machine mean anything.

use netcore::arp::cache::{ArpCache, Entry, Lookup};
use netcore::ipv4::input::check;
use netcore::ipv4::route::{synth, CacheSet, Fib, FibParts, Route, RouteCache, RouteError};
use netcore::storage::{Fixed, Storage};
use netcore::wire::{
    ArpOperation, ArpRepr, EthernetAddress, Ipv4Address, Ipv4Repr, Protocol, UdpPacket, UdpRepr,
};
use std::hint::black_box;
use std::time::Instant;

/// The xorshift64* generator of the crate's tests (`testutil::Rng`), so that seed 7 gives the
/// routes and destinations of the route test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Nanoseconds per item of the fastest of three runs of `f` over `n` items.
fn best_ns(n: usize, mut f: impl FnMut() -> u64) -> f64 {
    let mut best = f64::MAX;
    let mut sink = 0u64;
    for _ in 0..3 {
        let t = Instant::now();
        sink = sink.wrapping_add(f());
        best = best.min(t.elapsed().as_nanos() as f64 / n as f64);
    }
    black_box(sink);
    best
}

fn row(name: &str, ns: f64, extra: &str) {
    println!("{name:<50} {ns:>8.1} ns {extra}");
}

/// `Vec` storage for the FIB and the route cache (the crate's own is for its tests only).
struct VecStore<T>(Vec<T>);

impl<T> Default for VecStore<T> {
    fn default() -> Self {
        VecStore(Vec::new())
    }
}

impl<T> std::ops::Deref for VecStore<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T> std::ops::DerefMut for VecStore<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T> Storage<T> for VecStore<T> {
    fn capacity(&self) -> usize {
        self.0.capacity()
    }

    fn push_within_capacity(&mut self, v: T) -> Result<(), T> {
        if self.0.len() == self.0.capacity() {
            return Err(v);
        }
        self.0.push(v);
        Ok(())
    }

    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
}

fn alloc(n: usize) -> Option<VecStore<u32>> {
    (n > 0).then(|| VecStore(Vec::with_capacity(n)))
}

/// A FIB of `n` routes of the synthetic table, grown before each insertion as the kernel
/// does it; and the nanoseconds per insertion.
fn build(n: usize) -> (Fib<VecStore<u32>>, f64) {
    let mut fib = Fib::new(usize::MAX);
    let t = Instant::now();
    let mut i = 0;
    while fib.len() < n {
        let w = fib.wants();
        drop(fib.adopt(FibParts {
            direct: alloc(w.direct),
            blocks: alloc(w.blocks),
            index: alloc(w.index),
            leaves: alloc(w.leaves),
        }));
        fib.insert(synth::route(1, i)).expect("storage as wanted");
        i += 1;
    }
    // Replacements included: `i` insertions made the `n` routes.
    (fib, t.elapsed().as_nanos() as f64 / i as f64)
}

fn fib() {
    for n in [100_000, 1_000_000] {
        let (fib, insert) = build(n);
        let k = n / 1000;
        row(
            &format!("FIB insert ({k}k routes, synthetic table)"),
            insert,
            &format!(
                "per route ({:.0}k inserts/s), {:.1} bytes/route",
                1e6 / insert,
                fib.bytes() as f64 / n as f64
            ),
        );
        let routes: Vec<Route> = fib.iter().collect();
        let mut rng = synth::Rng(7);
        let dsts: Vec<_> = (0..1_000_000)
            .map(|_| synth::destination(&mut rng, &routes))
            .collect();
        let mut found = 0;
        let ns = best_ns(dsts.len(), || {
            found = dsts
                .iter()
                .filter(|&&d| fib.lookup(black_box(d)).is_some())
                .count() as u64;
            found
        });
        row(
            &format!("FIB LPM lookup, {k}k routes, dst in routed space"),
            ns,
            &format!("per lookup ({found} of 1M matched)"),
        );
        let mut out = vec![None; 64];
        let mut found = 0;
        let ns = best_ns(dsts.len(), || {
            found = 0;
            for group in dsts.chunks(64) {
                fib.lookup_many(black_box(group), &mut out);
                found += out[..group.len()].iter().filter(|r| r.is_some()).count() as u64;
            }
            found
        });
        row(
            &format!("FIB LPM lookup_many, {k}k routes, routed, K=64"),
            ns,
            &format!("per lookup ({found} of 1M matched)"),
        );
        let anywhere: Vec<_> = (0..1_000_000)
            .map(|_| Ipv4Address::from_u32(rng.next_u64() as u32))
            .collect();
        let ns = best_ns(anywhere.len(), || {
            anywhere
                .iter()
                .filter(|&&d| fib.lookup(black_box(d)).is_some())
                .count() as u64
        });
        row(
            &format!("FIB LPM lookup, {k}k routes, random dst"),
            ns,
            "per lookup",
        );
        let ns = best_ns(dsts.len(), || {
            dsts.iter()
                .filter(|&&d| fib.resolve(black_box(d)).is_ok())
                .count() as u64
        });
        row(
            &format!("FIB resolve, {k}k routes, dst in routed space"),
            ns,
            "per lookup (to the next hop, gateway checked)",
        );
        let mut hops = vec![Err(RouteError::NoRoute); 64];
        let ns = best_ns(dsts.len(), || {
            let mut ok = 0;
            for group in dsts.chunks(64) {
                fib.resolve_many(black_box(group), &mut hops);
                ok += hops[..group.len()].iter().filter(|r| r.is_ok()).count() as u64;
            }
            ok
        });
        row(
            &format!("FIB resolve_many, {k}k routes, routed, K=64"),
            ns,
            "per lookup (lockstep batches of 64)",
        );
        if n == 100_000 {
            let mut cache: RouteCache<VecStore<CacheSet>> = RouteCache::new();
            drop(cache.adopt(VecStore(Vec::with_capacity(2048))));
            let hot: Vec<_> = (0..1_000_000).map(|i| dsts[i % 1000]).collect();
            let ns = best_ns(hot.len(), || {
                hot.iter()
                    .filter(|&&d| cache.resolve(&fib, black_box(d)).is_err())
                    .count() as u64
            });
            row(
                "route cache, 1000 hot dst, 100k routes",
                ns,
                &format!(
                    "per lookup (hit rate {} permille)",
                    cache.hit_rate_permille()
                ),
            );
        }
    }
}

fn arp() {
    // 128 entries (Linux's gc_thresh1), queues of 4.
    const N: usize = 128;
    // Fixed storage (an inline array of 128 slots and 128 buckets): the host has no
    // `Storage` for `Vec` outside the crate's tests.
    type Cache = ArpCache<4, u32, Fixed<Entry<4, u32>, N>, Fixed<u32, N>>;
    let mut cache: Box<Cache> = Box::default();
    let ours = Ipv4Address::new(10, 0, 0, 1);
    // One link: every entry is this device's.
    const DEV: i32 = 2;
    let neighbour = |i: usize| Ipv4Address::new(10, 0, (i >> 8) as u8, (i & 0xff) as u8 + 2);
    // Filled as a link fills it: every neighbour asked for our address (learned Reachable).
    for i in 0..N {
        let request = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: EthernetAddress([2, 0, 0, 0, (i >> 8) as u8, i as u8]),
            source_protocol_addr: neighbour(i),
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: ours,
        };
        // Nothing waits on these entries: the action (a reply to send) is not needed.
        let _action = cache
            .on_arp(DEV, &request, |a| a == ours, 0)
            .expect("a valid request");
    }
    assert_eq!(cache.len(), N);
    let mut rng = Rng(11);
    let hits: Vec<Ipv4Address> = (0..1_000_000)
        .map(|_| neighbour(rng.below(N as u64) as usize))
        .collect();
    let ns = best_ns(hits.len(), || {
        hits.iter()
            .filter(|&&ip| matches!(cache.lookup(DEV, black_box(ip), 1000), Lookup::Found(_)))
            .count() as u64
    });
    row(
        "ARP cache lookup, 128 entries, hit",
        ns,
        "per lookup (random entry)",
    );
    let misses: Vec<Ipv4Address> = (0..1_000_000)
        .map(|i| Ipv4Address::new(10, 1, (i >> 8) as u8, i as u8))
        .collect();
    let ns = best_ns(misses.len(), || {
        misses
            .iter()
            .filter(|&&ip| matches!(cache.lookup(DEV, black_box(ip), 1000), Lookup::Missing))
            .count() as u64
    });
    row(
        "ARP cache lookup, 128 entries, miss",
        ns,
        "per lookup (absent address)",
    );
}

/// An IPv4 packet (no options) carrying a UDP datagram of `payload` bytes, checksums filled.
fn udp_packet(payload: usize) -> Vec<u8> {
    let (src, dst) = (
        Ipv4Address::new(198, 18, 0, 1),
        Ipv4Address::new(198, 18, 0, 2),
    );
    let udp = UdpRepr {
        src_port: 40000,
        dst_port: 7000,
        payload_len: payload,
    };
    let ip = Ipv4Repr {
        src,
        dst,
        protocol: Protocol::Udp,
        payload_len: udp.buffer_len(),
        ttl: 64,
        ident: 0x1234,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    let mut b = vec![0u8; ip.buffer_len()];
    ip.emit(&mut b).expect("a 20-byte header");
    let data: Vec<u8> = (0..payload).map(|i| i as u8).collect();
    udp.emit(&mut b[ip.header_len()..], src, dst, &data)
        .expect("room for the datagram");
    b
}

/// What `udp_rx` reads of a packet: the IPv4 checks, the UDP header, optionally the UDP
/// checksum; the ports and length, or 0 for a packet that would be dropped.
fn parse(packet: &[u8], verify: bool) -> u64 {
    let Ok(ip) = check(packet) else { return 0 };
    let Some(seg) = packet.get(ip.header_len..ip.total_len) else {
        return 0;
    };
    let Ok(udp) = UdpPacket::new_checked(seg) else {
        return 0;
    };
    if verify && udp.checksum() != 0 && !udp.verify_checksum(ip.src, ip.dst) {
        return 0;
    }
    u64::from(udp.src_port()) + u64::from(udp.dst_port()) + u64::from(udp.len())
}

fn parser() {
    const ROUNDS: usize = 1_000_000;
    for payload in [64, 1400] {
        let p = udp_packet(payload);
        assert_ne!(parse(&p, true), 0, "the packet parses");
        for verify in [false, true] {
            let ns = best_ns(ROUNDS, || {
                let mut sum = 0u64;
                for _ in 0..ROUNDS {
                    sum = sum.wrapping_add(parse(black_box(&p), verify));
                }
                sum
            });
            let what = if verify {
                "UDP csum verified"
            } else {
                "UDP csum trusted"
            };
            row(
                &format!("IPv4+UDP parse, {payload} B payload, {what}"),
                ns,
                &format!("per packet ({:.1} Mpps)", 1e3 / ns),
            );
        }
    }
}

fn main() {
    // `-- fib`: the FIB rows only.
    let only_fib = std::env::args().any(|a| a == "fib");
    println!("netcore on the host (release, one thread, best of 3)");
    fib();
    if !only_fib {
        arp();
        parser();
    }
}
