//! rvnic's per-queue counters and their names, as `ethtool -S` shows them.
//!
//! Every receive queue and every transmit queue keeps the counters below; the device totals
//! (`ip -s link`) are their sums. Each drop reason has its own counter, so that a lost frame
//! is always accounted for: "where did my packet go" has an answer in `ethtool -S`.
//!
//! `ethtool -S` lists the receive queues first, then the transmit queues, each counter named
//! `rx_queue_<q>_<name>` or `tx_queue_<q>_<name>`; [`name_of`] computes that layout.

/// Counters of a receive queue (the receiving port's ring and NAPI context).
pub mod rx {
    /// Frames put in the ring by the peer's transmit.
    pub const ENQUEUED: usize = 0;
    /// Virtual interrupts raised: NAPI scheduled by the peer's transmit.
    pub const INTERRUPTS: usize = 1;
    /// NAPI polls run.
    pub const POLLS: usize = 2;
    /// Polls that used their whole budget (the ring had more).
    pub const POLLS_FULL: usize = 3;
    /// Frames handed up the stack.
    pub const PACKETS: usize = 4;
    /// Bytes handed up (as the stack sees them, without the Ethernet header).
    pub const BYTES: usize = 5;
    /// Frames GRO merged into another.
    pub const GRO_MERGED: usize = 6;
    /// Frames freed from the ring because the port went down.
    pub const DROP_DOWN: usize = 7;
    /// Frames freed from the ring because it was shrunk below its fill (`ethtool -G`).
    pub const DROP_RESIZE: usize = 8;
    /// Number of receive counters.
    pub const COUNT: usize = 9;
    /// Their names, in index order.
    pub const NAMES: [&str; COUNT] = [
        "enqueued",
        "interrupts",
        "polls",
        "polls_full",
        "packets",
        "bytes",
        "gro_merged",
        "drop_down",
        "drop_resize",
    ];
}

/// Counters of a transmit queue (the sending port).
pub mod tx {
    /// Frames accepted for the peer's ring (a GSO frame counts once).
    pub const PACKETS: usize = 0;
    /// Bytes accepted.
    pub const BYTES: usize = 1;
    /// Times the queue was stopped because the peer's ring was full.
    pub const STOPS: usize = 2;
    /// Times the queue was woken by the peer's NAPI poll.
    pub const WAKES: usize = 3;
    /// GSO frames segmented in software because the peer could not take them whole.
    pub const GSO_SEGMENTED: usize = 4;
    /// Dropped: the port has no peer.
    pub const DROP_NO_PEER: usize = 5;
    /// Dropped: the peer is down.
    pub const DROP_PEER_DOWN: usize = 6;
    /// Dropped: larger than the peer's MTU and not GSO.
    pub const DROP_TOO_BIG: usize = 7;
    /// Dropped: the peer's ring was full and the queue has no qdisc to push back into.
    pub const DROP_RING_FULL: usize = 8;
    /// Dropped: software segmentation failed.
    pub const DROP_GSO: usize = 9;
    /// Dropped: no memory for a private copy of user pages.
    pub const DROP_NOMEM: usize = 10;
    /// Number of transmit counters.
    pub const COUNT: usize = 11;
    /// Their names, in index order.
    pub const NAMES: [&str; COUNT] = [
        "packets",
        "bytes",
        "stops",
        "wakes",
        "gso_segmented",
        "drop_no_peer",
        "drop_peer_down",
        "drop_too_big",
        "drop_ring_full",
        "drop_gso",
        "drop_nomem",
    ];
}

/// Length of one `ethtool -S` name slot (ETH_GSTRING_LEN), NUL included.
pub const NAME_LEN: usize = 32;

/// Which counter the `index`-th `ethtool -S` entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    /// Receive queue `queue`, counter `counter` (an index into [`rx::NAMES`]).
    Rx {
        /// Queue number.
        queue: usize,
        /// Counter index.
        counter: usize,
    },
    /// Transmit queue `queue`, counter `counter` (an index into [`tx::NAMES`]).
    Tx {
        /// Queue number.
        queue: usize,
        /// Counter index.
        counter: usize,
    },
}

/// Number of `ethtool -S` entries for `rxq` receive and `txq` transmit queues.
pub fn count(rxq: usize, txq: usize) -> usize {
    rxq.saturating_mul(rx::COUNT)
        .saturating_add(txq.saturating_mul(tx::COUNT))
}

/// The counter at `index`, or `None` past the end.
pub fn stat_at(index: usize, rxq: usize, txq: usize) -> Option<Stat> {
    let rx_total = rxq.checked_mul(rx::COUNT)?;
    if index < rx_total {
        return Some(Stat::Rx {
            queue: index / rx::COUNT,
            counter: index % rx::COUNT,
        });
    }
    let i = index - rx_total;
    if i < txq.checked_mul(tx::COUNT)? {
        return Some(Stat::Tx {
            queue: i / tx::COUNT,
            counter: i % tx::COUNT,
        });
    }
    None
}

/// Writes the NUL-padded name of the `index`-th entry into `out`; `false` past the end.
pub fn name_of(index: usize, rxq: usize, txq: usize, out: &mut [u8; NAME_LEN]) -> bool {
    let (dir, queue, name) = match stat_at(index, rxq, txq) {
        Some(Stat::Rx { queue, counter }) => ("rx", queue, rx::NAMES[counter]),
        Some(Stat::Tx { queue, counter }) => ("tx", queue, tx::NAMES[counter]),
        None => return false,
    };
    let mut w = SliceWriter { buf: out, at: 0 };
    w.buf.fill(0);
    // A queue number has at most 5 digits and names are short: this cannot overflow, and the
    // writer truncates rather than failing if it ever did.
    let _ = core::fmt::write(&mut w, format_args!("{dir}_queue_{queue}_{name}"));
    true
}

/// Writes into a fixed buffer, keeping the last byte for the NUL.
struct SliceWriter<'a> {
    buf: &'a mut [u8; NAME_LEN],
    at: usize,
}

impl core::fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.at + 1 >= NAME_LEN {
                return Err(core::fmt::Error);
            }
            self.buf[self.at] = b;
            self.at += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(i: usize, rxq: usize, txq: usize) -> std::string::String {
        let mut b = [0u8; NAME_LEN];
        assert!(name_of(i, rxq, txq, &mut b));
        let end = b.iter().position(|&c| c == 0).unwrap();
        std::string::String::from_utf8(b[..end].to_vec()).unwrap()
    }

    #[test]
    fn layout_rx_then_tx() {
        assert_eq!(count(2, 3), 2 * rx::COUNT + 3 * tx::COUNT);
        assert_eq!(name(0, 2, 3), "rx_queue_0_enqueued");
        assert_eq!(name(rx::COUNT + rx::BYTES, 2, 3), "rx_queue_1_bytes");
        assert_eq!(name(2 * rx::COUNT, 2, 3), "tx_queue_0_packets");
        let last = count(2, 3) - 1;
        assert_eq!(name(last, 2, 3), "tx_queue_2_drop_nomem");
        assert_eq!(stat_at(last + 1, 2, 3), None);
        let mut b = [0u8; NAME_LEN];
        assert!(!name_of(last + 1, 2, 3, &mut b));
    }

    #[test]
    fn every_name_fits_for_many_queues() {
        for i in 0..count(16, 16) {
            let n = name(i, 16, 16);
            assert!(n.len() < NAME_LEN, "{n}");
        }
        assert!(name(count(4096, 4096) - 1, 4096, 4096).len() < NAME_LEN);
    }

    #[test]
    fn names_unique() {
        let mut all: std::vec::Vec<_> = (0..count(3, 3)).map(|i| name(i, 3, 3)).collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn no_overflow_on_absurd_counts() {
        assert_eq!(count(usize::MAX, 1), usize::MAX);
        assert_eq!(stat_at(usize::MAX, usize::MAX, usize::MAX), None);
    }
}
