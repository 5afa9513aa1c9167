// SPDX-License-Identifier: GPL-2.0

//! rvnic: a virtual Ethernet NIC whose ports come in pairs.
//!
//! `ip link add rvn0 type rvnic peer name rvn1` makes two ports wired back to back. Transmit
//! on one port is the other port's receive: [`Port::start_xmit`] puts the sk_buff in a ring
//! of the peer's receive queue and raises that queue's virtual interrupt, and the peer's NAPI
//! poll ([`ring::RxRing`]) drains it and hands the frames up, as a real NIC's receive path
//! does. The layout follows drivers/net/veth.c: setup, xmit, NAPI poll, ndo ops, ethtool,
//! rtnl link ops.
//!
//! "Where does this frame go" is one question, answered in one place: [`Port::peer_ring`]. A
//! pair is the first medium; a switch or a shared segment would answer it differently.

mod counters;
mod ring;

use crate::net::napi::NapiQueue;
use crate::net::net_device::{
    Channels, Device, LinkStats, NetDevice, NetDriver, PeerLink, QueueStats, Setup, TxOutcome,
};
use crate::net::skb::{ForwardError, Skb};
use crate::netcore::nic::{features, ring as ring_math, stats};
use core::sync::atomic::{AtomicU32, Ordering};
use counters::Counters;
use kernel::prelude::*;
use ring::{Refused, RxRing};

pub(crate) use crate::net::rtnl_link::LinkRegistration;

/// IFF_TX_SKB_SHARING: pktgen may send one skb many times; a ring that holds skbs must not
/// see the same one twice.
const IFF_TX_SKB_SHARING: u32 = kernel::bindings::netdev_priv_flags_IFF_TX_SKB_SHARING;
/// IFF_LIVE_ADDR_CHANGE: the MAC address may change while the port is up.
const IFF_LIVE_ADDR_CHANGE: u32 = kernel::bindings::netdev_priv_flags_IFF_LIVE_ADDR_CHANGE;

/// Largest number of pairs the `pairs` parameter may ask for.
pub(crate) const MAX_LOAD_PAIRS: u32 = 64;

/// The private state of one port.
pub(crate) struct Port {
    /// The other end of the wire.
    peer: PeerLink<Port>,
    /// Receive queues, one ring and NAPI context each.
    rxq: KVec<Pin<KBox<NapiQueue<RxRing>>>>,
    /// Transmit queue counters (`netcore::nic::stats::tx`).
    txq: KVec<Counters<{ stats::tx::COUNT }>>,
    /// Ring size of every receive queue.
    ring_size: AtomicU32,
}

impl Port {
    fn tx_stats(&self, q: u16) -> Option<&Counters<{ stats::tx::COUNT }>> {
        self.txq.get(usize::from(q))
    }

    /// The receive queue of `peer` that a frame sent on our transmit queue `txq` lands in:
    /// queue `txq` when the peer has it, else `txq` modulo the peer's queues in use. The poll
    /// of that queue is the one that wakes `txq` when it was stopped.
    fn peer_ring<'a>(peer: &'a Device<Port>, txq: u16) -> Option<&'a NapiQueue<RxRing>> {
        let n = peer.real_num_rx_queues().max(1);
        let q = u32::from(txq) % n;
        peer.state().rxq.get(q as usize).map(|b| &**b)
    }

    /// Wakes the peer's stopped transmit queues that feed our receive queue `rxq` (called at
    /// the end of each poll of `rxq`).
    fn wake_peer_queues(&self, dev: &Device<Port>, rxq: u32) {
        let Some(peer) = self.peer.get() else { return };
        let n = dev.real_num_rx_queues().max(1);
        for t in 0..peer.real_num_tx_queues() {
            let Ok(t) = u16::try_from(t) else { break };
            if u32::from(t) % n == rxq && peer.tx_stopped(t) {
                peer.tx_wake(t);
                if let Some(c) = peer.state().tx_stats(t) {
                    c.inc(stats::tx::WAKES);
                }
            }
        }
    }

    /// Wakes every stopped transmit queue of `dev`: when the peer goes away or comes back,
    /// no queue may stay stopped waiting for a poll that will not come.
    fn wake_all(dev: &NetDevice) {
        for t in 0..dev.real_num_tx_queues() {
            let Ok(t) = u16::try_from(t) else { break };
            if dev.tx_stopped(t) {
                dev.tx_wake(t);
            }
        }
    }

    /// Puts one frame in the peer's ring; on a full ring with a qdisc, stops our queue and
    /// lets the stack hold the frame.
    fn send_one(dev: &Device<Port>, peer: &Device<Port>, txq: u16, skb: Skb) -> TxOutcome {
        let Some(tx) = dev.state().tx_stats(txq) else {
            return TxOutcome::Done;
        };
        let Some(ring) = Self::peer_ring(peer, txq) else {
            tx.inc(stats::tx::DROP_PEER_DOWN);
            return TxOutcome::Done;
        };
        let len = u64::from(skb.len());
        let gro = features::gro_worthwhile(dev.features());
        match RxRing::enqueue(ring, skb, gro) {
            Ok(()) => {
                tx.inc(stats::tx::PACKETS);
                tx.add(stats::tx::BYTES, len);
                TxOutcome::Done
            }
            Err(Refused::Down(_skb)) => {
                tx.inc(stats::tx::DROP_PEER_DOWN);
                TxOutcome::Done
            }
            Err(Refused::Full(skb)) => {
                if dev.tx_has_qdisc(txq) {
                    dev.tx_stop(txq);
                    tx.inc(stats::tx::STOPS);
                    // Always kick after stopping: the poll wakes us (see ring.rs).
                    RxRing::kick_after_stop(ring);
                    TxOutcome::Busy(skb)
                } else {
                    tx.inc(stats::tx::DROP_RING_FULL);
                    TxOutcome::Done
                }
            }
        }
    }
}

impl NetDriver for Port {
    const KIND: &'static CStr = c"rvnic";
    const DRIVER: &'static str = "rvnic";
    const VERSION: &'static str = crate::VERSION;
    const DEFAULT_QUEUES: u32 = 1;

    fn setup() -> Setup {
        Setup {
            priv_flags_set: IFF_LIVE_ADDR_CHANGE,
            priv_flags_clear: IFF_TX_SKB_SHARING,
            features: features::RVNIC,
            hw_features: features::RVNIC,
            min_mtu: 68,
            max_mtu: 65535,
        }
    }

    fn new_state(dev: &NetDevice) -> Result<Pin<KBox<Port>>> {
        let size = ring_math::DEFAULT_SIZE;
        let nrx = dev.num_rx_queues();
        let mut rxq = KVec::with_capacity(nrx as usize, GFP_KERNEL)?;
        for i in 0..nrx {
            rxq.push(
                KBox::pin_init(RxRing::new(i, size)?, GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        let ntx = dev.num_tx_queues() as usize;
        let mut txq = KVec::with_capacity(ntx, GFP_KERNEL)?;
        for _ in 0..ntx {
            txq.push(Counters::new(), GFP_KERNEL)?;
        }
        Ok(KBox::pin(
            Port {
                peer: PeerLink::new(),
                rxq,
                txq,
                ring_size: AtomicU32::new(size),
            },
            GFP_KERNEL,
        )?)
    }

    fn peer_link(&self) -> &PeerLink<Port> {
        &self.peer
    }

    fn open(dev: &Device<Port>) -> Result {
        let port = dev.state();
        for q in port.rxq.iter() {
            q.inner.activate();
            q.as_ref().start(dev);
        }
        Port::wake_all(dev);
        if let Some(peer) = port.peer.get() {
            if peer.is_up() {
                dev.carrier_on();
                peer.carrier_on();
            }
            Port::wake_all(peer);
        }
        Ok(())
    }

    fn stop(dev: &Device<Port>) -> Result {
        let port = dev.state();
        dev.carrier_off();
        for q in port.rxq.iter() {
            q.inner.deactivate();
            q.stop();
        }
        if let Some(peer) = port.peer.get() {
            peer.carrier_off();
            Port::wake_all(peer);
        }
        Ok(())
    }

    fn start_xmit(dev: &Device<Port>, mut skb: Skb) -> TxOutcome {
        let port = dev.state();
        let txq = skb.queue_mapping();
        let Some(tx) = port.tx_stats(txq) else {
            return TxOutcome::Done;
        };
        let Some(peer) = port.peer.get() else {
            tx.inc(stats::tx::DROP_NO_PEER);
            return TxOutcome::Done;
        };
        if let Err(e) = skb.forward_prepare(peer) {
            tx.inc(match e {
                ForwardError::Down => stats::tx::DROP_PEER_DOWN,
                ForwardError::TooBig => stats::tx::DROP_TOO_BIG,
                ForwardError::NoMemory => stats::tx::DROP_NOMEM,
            });
            return TxOutcome::Done;
        }
        if skb.is_gso() && !features::receiver_takes_gso(peer.features()) {
            // The peer cannot take the frame whole: cut it into wire-sized frames here, as
            // a NIC's TSO engine does. A segment that finds the ring full is dropped (the
            // stack cannot requeue part of a frame); TCP retransmits it.
            tx.inc(stats::tx::GSO_SEGMENTED);
            match skb.gso_segment(peer.features() & !features::GSO_MASK) {
                Ok(segs) => {
                    for seg in segs {
                        if let TxOutcome::Busy(seg) = Port::send_one(dev, peer, txq, seg) {
                            tx.inc(stats::tx::DROP_RING_FULL);
                            drop(seg);
                        }
                    }
                }
                Err(_) => tx.inc(stats::tx::DROP_GSO),
            }
            return TxOutcome::Done;
        }
        Port::send_one(dev, peer, txq, skb)
    }

    fn get_stats64(dev: &Device<Port>, s: &mut LinkStats) {
        let port = dev.state();
        for q in port.rxq.iter() {
            let c = &q.inner.stats;
            s.rx_packets += c.get(stats::rx::PACKETS);
            s.rx_bytes += c.get(stats::rx::BYTES);
            s.rx_dropped += rx_drops(c);
        }
        for c in port.txq.iter() {
            s.tx_packets += c.get(stats::tx::PACKETS);
            s.tx_bytes += c.get(stats::tx::BYTES);
            s.tx_dropped += tx_drops(c);
        }
    }

    fn fix_features(_dev: &Device<Port>, wanted: u64) -> u64 {
        features::fix(wanted)
    }

    fn iflink(dev: &Device<Port>) -> i32 {
        dev.state().peer.get().map_or(0, |p| p.ifindex())
    }

    fn ring_size(dev: &Device<Port>) -> (u32, u32) {
        (
            dev.state().ring_size.load(Ordering::Relaxed),
            ring_math::MAX_SIZE,
        )
    }

    fn set_ring_size(dev: &Device<Port>, size: u32) -> Result {
        ring_math::check_size(size).map_err(|_| EINVAL)?;
        let port = dev.state();
        for q in port.rxq.iter() {
            q.inner.resize(size)?;
            // A sender stopped on the old, full ring must hear that there is room now.
            RxRing::kick_after_stop(q);
        }
        port.ring_size.store(size, Ordering::Relaxed);
        Ok(())
    }

    fn stats_count(dev: &Device<Port>) -> usize {
        stats::count(
            dev.real_num_rx_queues() as usize,
            dev.real_num_tx_queues() as usize,
        )
    }

    fn stats_name(dev: &Device<Port>, index: usize, out: &mut [u8; 32]) -> bool {
        let (r, t) = (
            dev.real_num_rx_queues() as usize,
            dev.real_num_tx_queues() as usize,
        );
        stats::name_of(index, r, t, out)
    }

    fn stats_values(dev: &Device<Port>, out: &mut [u64]) {
        let port = dev.state();
        let (r, t) = (
            dev.real_num_rx_queues() as usize,
            dev.real_num_tx_queues() as usize,
        );
        for (i, v) in out.iter_mut().enumerate() {
            *v = match stats::stat_at(i, r, t) {
                Some(stats::Stat::Rx { queue, counter }) => port
                    .rxq
                    .get(queue)
                    .map_or(0, |q| q.inner.stats.get(counter)),
                Some(stats::Stat::Tx { queue, counter }) => {
                    port.txq.get(queue).map_or(0, |c| c.get(counter))
                }
                None => 0,
            };
        }
    }

    fn channels_changed(dev: &Device<Port>, _ch: Channels) {
        // Frames may now map to other queues: make sure no sender waits on a queue whose
        // poll no longer wakes it.
        if let Some(peer) = dev.state().peer.get() {
            Port::wake_all(peer);
        }
        Port::wake_all(dev);
    }

    fn rx_queue_stats(dev: &Device<Port>, q: u32) -> QueueStats {
        dev.state()
            .rxq
            .get(q as usize)
            .map_or(QueueStats::default(), |r| {
                let c = &r.inner.stats;
                QueueStats {
                    packets: c.get(stats::rx::PACKETS),
                    bytes: c.get(stats::rx::BYTES),
                    drops: rx_drops(c),
                    ..QueueStats::default()
                }
            })
    }

    fn tx_queue_stats(dev: &Device<Port>, q: u32) -> QueueStats {
        dev.state()
            .txq
            .get(q as usize)
            .map_or(QueueStats::default(), |c| QueueStats {
                packets: c.get(stats::tx::PACKETS),
                bytes: c.get(stats::tx::BYTES),
                drops: tx_drops(c),
                stops: c.get(stats::tx::STOPS),
                wakes: c.get(stats::tx::WAKES),
            })
    }
}

/// Every receive drop (frames freed from the ring), whatever its reason.
fn rx_drops(c: &Counters<{ stats::rx::COUNT }>) -> u64 {
    c.get(stats::rx::DROP_DOWN) + c.get(stats::rx::DROP_RESIZE)
}

/// Every transmit drop, whatever its reason.
fn tx_drops(c: &Counters<{ stats::tx::COUNT }>) -> u64 {
    [
        stats::tx::DROP_NO_PEER,
        stats::tx::DROP_PEER_DOWN,
        stats::tx::DROP_TOO_BIG,
        stats::tx::DROP_RING_FULL,
        stats::tx::DROP_GSO,
        stats::tx::DROP_NOMEM,
    ]
    .iter()
    .map(|&i| c.get(i))
    .sum()
}

#[kunit_tests(rvnet_rvnic_features)]
mod tests {
    use crate::netcore::nic::features::{self, bit};
    use kernel::bindings as b;

    /// The protocol core's feature bits are the kernel's.
    #[test]
    fn bits_match_the_kernel() {
        assert_eq!(bit::SG, b::NETIF_F_SG_BIT);
        assert_eq!(bit::HW_CSUM, b::NETIF_F_HW_CSUM_BIT);
        assert_eq!(bit::HIGHDMA, b::NETIF_F_HIGHDMA_BIT);
        assert_eq!(bit::FRAGLIST, b::NETIF_F_FRAGLIST_BIT);
        assert_eq!(bit::GRO, b::NETIF_F_GRO_BIT);
        assert_eq!(bit::GSO_SHIFT, b::NETIF_F_GSO_SHIFT);
        assert_eq!(bit::TSO, b::NETIF_F_TSO_BIT);
        assert_eq!(bit::TSO_ECN, b::NETIF_F_TSO_ECN_BIT);
        assert_eq!(bit::TSO_MANGLEID, b::NETIF_F_TSO_MANGLEID_BIT);
        assert_eq!(bit::TSO6, b::NETIF_F_TSO6_BIT);
        assert_eq!(bit::GSO_GRE, b::NETIF_F_GSO_GRE_BIT);
        assert_eq!(bit::GSO_GRE_CSUM, b::NETIF_F_GSO_GRE_CSUM_BIT);
        assert_eq!(bit::GSO_IPXIP4, b::NETIF_F_GSO_IPXIP4_BIT);
        assert_eq!(bit::GSO_IPXIP6, b::NETIF_F_GSO_IPXIP6_BIT);
        assert_eq!(bit::GSO_UDP_TUNNEL, b::NETIF_F_GSO_UDP_TUNNEL_BIT);
        assert_eq!(bit::GSO_UDP_TUNNEL_CSUM, b::NETIF_F_GSO_UDP_TUNNEL_CSUM_BIT);
        assert_eq!(bit::GSO_SCTP, b::NETIF_F_GSO_SCTP_BIT);
        assert_eq!(bit::GSO_UDP_L4, b::NETIF_F_GSO_UDP_L4_BIT);
        assert_eq!(bit::GSO_FRAGLIST, b::NETIF_F_GSO_FRAGLIST_BIT);
        assert_eq!(bit::GSO_LAST, b::NETIF_F_GSO_LAST);
        assert_eq!(bit::RXCSUM, b::NETIF_F_RXCSUM_BIT);
    }

    /// What rvnic advertises contains everything the issue names, and the rules keep it.
    #[test]
    fn advertised_set_is_stable() {
        let want = features::SG
            | features::HW_CSUM
            | features::RXCSUM
            | features::HIGHDMA
            | features::FRAGLIST
            | features::TSO
            | features::TSO6
            | features::GSO_SOFTWARE;
        assert_eq!(features::RVNIC & want, want);
        assert_eq!(features::fix(features::RVNIC), features::RVNIC);
    }
}
