//! Which socket a received datagram belongs to, whether a new binding collides with an
//! existing one, and which ephemeral port an unbound socket gets (Linux's `udp.c`:
//! `compute_score`, `udp_lib_lport_inuse`, `udp_lib_get_port`).
//!
//! A socket's [`Binding`] has a local address and port, optionally a remote address and
//! port (after `connect`) and optionally a device (`SO_BINDTODEVICE`); zero means "any"
//! for each. An [`Incoming`] datagram matches a binding when every field the binding sets
//! equals the datagram's, and [`score`] ranks the matches by how many fields they set, as
//! Linux's `compute_score` does:
//!
//! - a socket bound to the datagram's destination address beats every socket bound to
//!   0.0.0.0, whatever else they set (Linux looks up the exact local address first and
//!   falls back to the wildcard only if nothing matched: its two-pass `__udp4_lib_lookup`);
//! - then each of remote address, remote port and device adds the same weight (4 in
//!   Linux), so a connected socket beats an unconnected one.
//!
//! Among equal scores the first candidate wins ([`best`]), as in Linux without
//! `SO_REUSEPORT`. Raw sockets are not ranked: every raw socket of the protocol that
//! matches gets a copy ([`raw_matches`], Linux's `raw_v4_match`).

use super::super::wire::Ipv4Address;

/// Start of the default ephemeral port range (Linux's `ip_local_port_range`).
pub const EPHEMERAL_LO: u16 = 32768;
/// End (inclusive) of the default ephemeral port range.
pub const EPHEMERAL_HI: u16 = 60999;

/// Score every IPv4 match starts with (Linux: 2 for a PF_INET socket).
const SCORE_BASE: u8 = 2;
/// Added for a remote address, a remote port, or a bound device.
const SCORE_FIELD: u8 = 4;
/// Added for a specific local address: more than all the other fields together.
const SCORE_LOCAL: u8 = 16;

/// The addresses a socket is bound (and possibly connected) to. Zero fields mean "any".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Binding {
    /// Local address (0.0.0.0: any of ours).
    pub local: Ipv4Address,
    /// Local port (for a raw socket: the IP protocol).
    pub local_port: u16,
    /// Remote address (0.0.0.0: not connected).
    pub remote: Ipv4Address,
    /// Remote port (0: not connected).
    pub remote_port: u16,
    /// Interface index of the bound device (0: none).
    pub ifindex: i32,
}

/// The addresses of a received datagram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Incoming {
    /// Source address.
    pub src: Ipv4Address,
    /// Source port.
    pub src_port: u16,
    /// Destination address.
    pub dst: Ipv4Address,
    /// Destination port.
    pub dst_port: u16,
    /// Interface it arrived on.
    pub ifindex: i32,
}

/// How well binding `b` matches datagram `p`: `None` if it does not, else a score where
/// higher is more specific (see the module documentation).
pub fn score(b: &Binding, p: &Incoming) -> Option<u8> {
    if b.local_port == 0 || b.local_port != p.dst_port {
        return None;
    }
    let mut s = SCORE_BASE;
    if !b.local.is_unspecified() {
        if b.local != p.dst {
            return None;
        }
        s += SCORE_LOCAL;
    }
    if !b.remote.is_unspecified() {
        if b.remote != p.src {
            return None;
        }
        s += SCORE_FIELD;
    }
    if b.remote_port != 0 {
        if b.remote_port != p.src_port {
            return None;
        }
        s += SCORE_FIELD;
    }
    if b.ifindex != 0 {
        if b.ifindex != p.ifindex {
            return None;
        }
        s += SCORE_FIELD;
    }
    Some(s)
}

/// The value of the best-scoring matching candidate (the first of equals), or `None` if
/// none matches.
pub fn best<T: Copy>(candidates: impl Iterator<Item = (Binding, T)>, p: &Incoming) -> Option<T> {
    let mut best: Option<(u8, T)> = None;
    for (b, v) in candidates {
        if let Some(s) = score(&b, p) {
            match best {
                Some((top, _)) if s <= top => {}
                _ => best = Some((s, v)),
            }
        }
    }
    best.map(|(_, v)| v)
}

/// True when a raw socket for IP protocol `b.local_port` should get a copy of `p` (a packet
/// of that protocol): its local address, remote address and device, where set, match.
pub fn raw_matches(b: &Binding, p: &Incoming) -> bool {
    (b.local.is_unspecified() || b.local == p.dst)
        && (b.remote.is_unspecified() || b.remote == p.src)
        && (b.ifindex == 0 || b.ifindex == p.ifindex)
}

/// True when binding `new` collides with `existing` (`EADDRINUSE`): the same local port,
/// local addresses that overlap (equal, or either is any), and devices that overlap (equal,
/// or either is none). Linux's `udp_lib_lport_inuse` without `SO_REUSEADDR`/`SO_REUSEPORT`.
pub fn conflicts(existing: &Binding, new: &Binding) -> bool {
    existing.local_port == new.local_port
        && (existing.local.is_unspecified()
            || new.local.is_unspecified()
            || existing.local == new.local)
        && (existing.ifindex == 0 || new.ifindex == 0 || existing.ifindex == new.ifindex)
}

/// Picks a free port in `lo..=hi` (port 0 is never returned): starting at a point chosen by
/// the random `start`, tries each port of the range once, in order and wrapping, and returns
/// the first for which `in_use` says false. `None` when every port is in use or the range
/// is empty.
pub fn pick_ephemeral(
    lo: u16,
    hi: u16,
    start: u32,
    mut in_use: impl FnMut(u16) -> bool,
) -> Option<u16> {
    let lo = lo.max(1);
    if lo > hi {
        return None;
    }
    let range = u32::from(hi - lo) + 1;
    let first = start % range;
    for i in 0..range {
        let off = (first + i) % range;
        // off < range <= 65535 - lo + 1, so lo + off <= hi.
        let port = lo.checked_add(u16::try_from(off).ok()?)?;
        if !in_use(port) {
            return Some(port);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Rng;
    use super::*;
    use std::vec::Vec;

    const US: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);
    const US2: Ipv4Address = Ipv4Address::new(10, 0, 1, 1);
    const PEER: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);
    const ANY: Ipv4Address = Ipv4Address::UNSPECIFIED;

    fn bind(local: Ipv4Address, port: u16) -> Binding {
        Binding {
            local,
            local_port: port,
            ..Binding::default()
        }
    }

    fn pkt() -> Incoming {
        Incoming {
            src: PEER,
            src_port: 5353,
            dst: US,
            dst_port: 53,
            ifindex: 2,
        }
    }

    #[test]
    fn matching() {
        let p = pkt();
        assert_eq!(score(&bind(ANY, 53), &p), Some(2));
        assert_eq!(score(&bind(US, 53), &p), Some(18));
        assert_eq!(score(&bind(US, 54), &p), None);
        assert_eq!(score(&bind(US2, 53), &p), None);
        let connected = Binding {
            remote: PEER,
            remote_port: 5353,
            ..bind(ANY, 53)
        };
        assert_eq!(score(&connected, &p), Some(10));
        assert_eq!(
            score(
                &Binding {
                    remote_port: 1,
                    ..connected
                },
                &p
            ),
            None
        );
        assert_eq!(
            score(
                &Binding {
                    remote: US2,
                    ..connected
                },
                &p
            ),
            None
        );
        let dev = Binding {
            ifindex: 2,
            ..bind(ANY, 53)
        };
        assert_eq!(score(&dev, &p), Some(6));
        assert_eq!(score(&Binding { ifindex: 3, ..dev }, &p), None);
        let all = Binding {
            local: US,
            ifindex: 2,
            ..connected
        };
        assert_eq!(score(&all, &p), Some(30));
        // An unbound socket (port 0) never matches, not even port 0.
        assert_eq!(score(&bind(ANY, 0), &Incoming { dst_port: 0, ..p }), None);
    }

    #[test]
    fn best_prefers_specific() {
        let p = pkt();
        let connected_any = Binding {
            remote: PEER,
            remote_port: 5353,
            ifindex: 2,
            ..bind(ANY, 53)
        };
        let cands = [
            (bind(ANY, 53), 'a'),
            (connected_any, 'c'),
            (bind(US, 53), 'u'),
            (bind(US2, 53), 'x'),
        ];
        // The exact local address beats the connected wildcard (Linux's first pass).
        assert_eq!(best(cands.iter().copied(), &p), Some('u'));
        assert_eq!(best(cands[..2].iter().copied(), &p), Some('c'));
        assert_eq!(best(cands[..1].iter().copied(), &p), Some('a'));
        assert_eq!(best(cands[3..].iter().copied(), &p), None);
        assert_eq!(best(core::iter::empty::<(Binding, u8)>(), &p), None);
        // Ties: the first wins.
        let tie = [(bind(ANY, 53), 1), (bind(ANY, 53), 2)];
        assert_eq!(best(tie.into_iter(), &p), Some(1));
        // A connected exact socket beats an unconnected exact one.
        let exact_conn = Binding {
            local: US,
            remote: PEER,
            ..bind(US, 53)
        };
        let c = [(bind(US, 53), 1), (exact_conn, 2)];
        assert_eq!(best(c.into_iter(), &p), Some(2));
    }

    #[test]
    fn raw() {
        let p = pkt();
        let icmp = Binding {
            local_port: 1,
            ..Binding::default()
        };
        assert!(raw_matches(&icmp, &p));
        assert!(raw_matches(&Binding { local: US, ..icmp }, &p));
        assert!(!raw_matches(&Binding { local: US2, ..icmp }, &p));
        assert!(raw_matches(
            &Binding {
                remote: PEER,
                ..icmp
            },
            &p
        ));
        assert!(!raw_matches(&Binding { remote: US, ..icmp }, &p));
        assert!(raw_matches(&Binding { ifindex: 2, ..icmp }, &p));
        assert!(!raw_matches(&Binding { ifindex: 9, ..icmp }, &p));
    }

    #[test]
    fn conflict_rules() {
        let a = bind(ANY, 53);
        let u = bind(US, 53);
        let u2 = bind(US2, 53);
        assert!(conflicts(&a, &u) && conflicts(&u, &a));
        assert!(conflicts(&u, &u));
        assert!(!conflicts(&u, &u2));
        assert!(!conflicts(&u, &bind(US, 54)));
        let d2 = Binding { ifindex: 2, ..u };
        let d3 = Binding { ifindex: 3, ..u };
        assert!(conflicts(&d2, &u) && conflicts(&u, &d2));
        assert!(!conflicts(&d2, &d3));
        assert!(conflicts(&d2, &d2));
        // The remote side plays no part.
        let c = Binding {
            remote: PEER,
            remote_port: 1,
            ..u
        };
        assert!(conflicts(&c, &u));
    }

    #[test]
    fn ephemeral_ports() {
        // Free range: the start picks the port.
        assert_eq!(
            pick_ephemeral(EPHEMERAL_LO, EPHEMERAL_HI, 0, |_| false),
            Some(32768)
        );
        assert_eq!(
            pick_ephemeral(EPHEMERAL_LO, EPHEMERAL_HI, 5, |_| false),
            Some(32773)
        );
        let size = u32::from(EPHEMERAL_HI - EPHEMERAL_LO) + 1;
        assert_eq!(
            pick_ephemeral(EPHEMERAL_LO, EPHEMERAL_HI, size + 2, |_| false),
            Some(32770)
        );
        // Skips used ports and wraps.
        assert_eq!(
            pick_ephemeral(100, 104, 3, |p| p == 103 || p == 104),
            Some(100)
        );
        assert_eq!(pick_ephemeral(100, 104, 3, |p| p != 101), Some(101));
        assert_eq!(pick_ephemeral(100, 104, 3, |_| true), None);
        // Degenerate ranges.
        assert_eq!(pick_ephemeral(5, 4, 0, |_| false), None);
        assert_eq!(pick_ephemeral(7, 7, 12345, |_| false), Some(7));
        assert_eq!(pick_ephemeral(0, 0, 0, |_| false), None);
        assert_eq!(pick_ephemeral(0, 2, 0, |_| false), Some(1));
        assert_eq!(pick_ephemeral(1, 65535, u32::MAX, |_| false), Some(1));
        assert_eq!(
            pick_ephemeral(65535, 65535, u32::MAX, |_| false),
            Some(65535)
        );
        // Each port is tried exactly once when all are in use.
        let mut seen = Vec::new();
        assert_eq!(
            pick_ephemeral(60000, 60999, 777, |p| {
                seen.push(p);
                true
            }),
            None
        );
        assert_eq!(seen.len(), 1000);
        assert_eq!(seen[0], 60777);
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 1000);
    }

    /// Random tables: `best` returns a matching binding whose score no other beats, and
    /// the first of equals.
    #[test]
    fn best_is_the_maximum() {
        let mut rng = Rng(31337);
        let addrs = [ANY, US, US2, PEER];
        for _ in 0..5000 {
            let n = rng.below(8) as usize;
            let mut table = Vec::new();
            for i in 0..n {
                let b = Binding {
                    local: addrs[rng.below(3) as usize],
                    local_port: 53 + rng.below(2) as u16,
                    remote: [ANY, PEER, US2][rng.below(3) as usize],
                    remote_port: [0, 5353, 1][rng.below(3) as usize],
                    ifindex: rng.below(3) as i32,
                };
                table.push((b, i));
            }
            let p = pkt();
            let got = best(table.iter().copied(), &p);
            let scores: Vec<Option<u8>> = table.iter().map(|(b, _)| score(b, &p)).collect();
            let top = scores.iter().flatten().max().copied();
            match got {
                None => assert!(top.is_none()),
                Some(i) => {
                    assert_eq!(scores[i], top);
                    assert!(scores[..i].iter().all(|s| *s != top));
                }
            }
        }
    }
}
