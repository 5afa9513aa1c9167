//! Known-answer checks of the ARP cache that run in both worlds, like the crate's
//! `selftest` module: `cargo test` calls each one below, and rvnet.ko can list them among its
//! KUnit cases, where they run with the kernel's flags (overflow checks on). Each walks one
//! exchange of the seed notes' ARP section through the cache and returns `Err` with what went
//! wrong instead of panicking.

use super::super::selftest::{check, Outcome};
use super::super::storage::Fixed;
use super::super::wire::{ArpOperation, ArpRepr, EthernetAddress, Ipv4Address};
use super::cache::{
    ArpCache, ArpConfig, Entry, Learned, Lookup, Refusal, ReplyKind, Resolve, TimerEvent,
};

/// A cache small enough for a kernel stack (its frames are limited to 2 KiB): four entries
/// and four buckets inline, two packets of a `u32` each.
type Small = ArpCache<2, u32, Fixed<Entry<2, u32>, 4>, Fixed<u32, 4>>;
/// Bytes of a test packet.
const BYTES: u32 = 1000;

const US: Ipv4Address = Ipv4Address::new(198, 18, 0, 1);
/// The device the exchanges happen on, and another one.
const DEV: i32 = 2;
const OTHER: i32 = 3;
const PEER: Ipv4Address = Ipv4Address::new(198, 18, 0, 2);
const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x02]);

fn ours(ip: Ipv4Address) -> bool {
    ip == US
}

/// Packets parked for an unknown neighbour go out in order when its reply arrives; the
/// neighbour is then found without another request.
pub fn resolution_releases_in_order() -> Outcome {
    let mut c = Small::new(ArpConfig::default(), 0x5eed);
    let first = matches!(
        c.resolve_or_queue(DEV, PEER, 1, BYTES, 0),
        Resolve::Request {
            evicted: None,
            dropped,
        } if dropped.is_empty()
    );
    check(first, "unknown neighbour asks for a request")?;
    let second = matches!(
        c.resolve_or_queue(DEV, PEER, 2, BYTES, 5),
        Resolve::Queued { dropped } if dropped.is_empty()
    );
    check(second, "second packet waits")?;
    let reply = ArpRepr {
        operation: ArpOperation::Reply,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: PEER,
        target_hardware_addr: EthernetAddress([0x02, 0, 0, 0, 0, 1]),
        target_protocol_addr: US,
    };
    let action = c
        .on_arp(DEV, &reply, ours, 10)
        .map_err(|_| "reply refused")?;
    check(action.learned == Learned::Resolved, "reply resolves")?;
    let ready = action.ready.ok_or("no packets released")?;
    check(ready.ifindex == DEV, "released for the entry's device")?;
    let mut order = [0u32; 2];
    let mut n = 0usize;
    let mut macs_ok = true;
    ready.drain(|mac, p| {
        macs_ok &= mac == PEER_MAC;
        if let Some(slot) = order.get_mut(n) {
            *slot = p;
        }
        n = n.saturating_add(1);
    });
    check(macs_ok && n == 2 && order == [1, 2], "released in order")?;
    check(
        c.lookup(DEV, PEER, 10) == Lookup::Found(PEER_MAC),
        "found after reply",
    )
}

/// A request for our address is answered and teaches us the sender.
pub fn request_teaches_the_target() -> Outcome {
    let mut c = Small::new(ArpConfig::default(), 0x5eed);
    let request = ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: PEER,
        target_hardware_addr: EthernetAddress::ZERO,
        target_protocol_addr: US,
    };
    let action = c
        .on_arp(DEV, &request, ours, 0)
        .map_err(|_| "request refused")?;
    check(action.reply == Some(ReplyKind::Local), "request answered")?;
    check(action.learned == Learned::Created, "sender learned")?;
    check(
        c.lookup(DEV, PEER, 0) == Lookup::Found(PEER_MAC),
        "sender found",
    )?;
    check(
        c.lookup(OTHER, PEER, 0) == Lookup::Missing,
        "sender unknown on another device",
    )
}

/// An unanswered request is retried `max_retries` times, a second apart, then fails with its
/// packets; the clock wraps through u64::MAX on the way.
pub fn retries_then_failure_across_wrap() -> Outcome {
    let mut c = Small::new(ArpConfig::default(), 1);
    let start = u64::MAX - 1500;
    let _ = c.resolve_or_queue(DEV, PEER, 7, BYTES, start);
    let mut retries = 0u32;
    let mut failed_with = None;
    for step in 1..=4u64 {
        let now = start.wrapping_add(step.saturating_mul(1000));
        c.tick(now, |e| match e {
            TimerEvent::Retry { ifindex, ip } if ifindex == DEV && ip == PEER => {
                retries = retries.saturating_add(1)
            }
            TimerEvent::Failed(mut u) => failed_with = u.packets.next(),
            _ => {}
        });
    }
    check(retries == 3, "three retries")?;
    check(failed_with == Some(7), "failure returns the packet")?;
    check(c.is_empty(), "failed entry removed")
}

/// The same address on two devices is two entries: a reply on one device resolves that
/// device's entry only, with the packets that wait there, and the other keeps waiting.
pub fn entries_per_device() -> Outcome {
    let mut c = Small::new(ArpConfig::default(), 0x5eed);
    let _ = c.resolve_or_queue(DEV, PEER, 1, BYTES, 0);
    let _ = c.resolve_or_queue(OTHER, PEER, 2, BYTES, 0);
    check(c.len() == 2, "one entry per device")?;
    let reply = ArpRepr {
        operation: ArpOperation::Reply,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: PEER,
        target_hardware_addr: EthernetAddress([0x02, 0, 0, 0, 0, 1]),
        target_protocol_addr: US,
    };
    let action = c
        .on_arp(OTHER, &reply, ours, 10)
        .map_err(|_| "reply refused")?;
    let ready = action.ready.ok_or("no packets released")?;
    check(ready.ifindex == OTHER, "released on the answering device")?;
    let mut got = 0u32;
    ready.drain(|_, p| got = p);
    check(got == 2, "that device's packet")?;
    check(
        c.lookup(OTHER, PEER, 10) == Lookup::Found(PEER_MAC),
        "found where answered",
    )?;
    check(
        c.lookup(DEV, PEER, 10) == Lookup::Pending,
        "still pending on the other device",
    )
}

/// The limits of a cache without an allocator: its four inline slots take four neighbours
/// and the fifth is refused for want of memory; with `gc_thresh3` = 3 the fourth is refused
/// because the cache is full (no forced GC can free an entry being resolved).
pub fn limits_without_allocation() -> Outcome {
    let peer = |i: u8| Ipv4Address::new(198, 18, 0, 10 + i);
    let mut c = Small::new(ArpConfig::default(), 2);
    for i in 0..4u8 {
        let r = c.resolve_or_queue(DEV, peer(i), u32::from(i), BYTES, 0);
        check(matches!(r, Resolve::Request { .. }), "room for four")?;
    }
    let r = c.resolve_or_queue(DEV, peer(4), 9, BYTES, 0);
    check(
        matches!(
            r,
            Resolve::Refused {
                packet: 9,
                reason: Refusal::NoMemory
            }
        ),
        "fifth refused: no memory",
    )?;
    // One cache only (a second would double the frame): emptied, then limited to three.
    c.flush(true, |u| u.packets.for_each(drop));
    c.set_config(ArpConfig {
        gc_thresh3: 3,
        ..ArpConfig::default()
    });
    for i in 0..3u8 {
        let _ = c.resolve_or_queue(DEV, peer(i), u32::from(i), BYTES, 0);
    }
    let r = c.resolve_or_queue(DEV, peer(3), 9, BYTES, 0);
    check(
        matches!(
            r,
            Resolve::Refused {
                packet: 9,
                reason: Refusal::Full
            }
        ),
        "fourth refused: full",
    )?;
    check(c.len() == 3, "three entries kept")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selftest_cache_fits_a_kernel_frame() {
        // The kernel limits a frame to 2 KiB; a check holds one cache and a few answers.
        let cache = core::mem::size_of::<Small>();
        let answer = core::mem::size_of::<Resolve<2, u32>>();
        assert!(
            cache + 4 * answer <= 1280,
            "cache {cache} B, answer {answer} B"
        );
    }
}
