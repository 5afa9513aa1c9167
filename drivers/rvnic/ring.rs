// SPDX-License-Identifier: GPL-2.0

//! A receive queue of an rvnic port: the ring the peer's transmit fills, the virtual
//! interrupt it raises, and the NAPI poll that drains it.
//!
//! Seed notes, "packet flow": the NIC DMAs the frame into a ring buffer in memory and raises
//! an interrupt; the driver's handler masks the interrupt and schedules NAPI; the poll hands
//! frames up (`eth_type_trans`, GRO, `netif_receive_skb`) until the ring is empty or the budget
//! is spent, then unmasks. Here the "DMA" is the peer putting an skb pointer in a slot.
//!
//! Backpressure without lost wakeups (veth's fix for CVE-2025-68232, copied exactly): a sender
//! that finds the ring full stops its queue and then always kicks NAPI; the poll, after
//! completing and unmasking, always wakes stopped sender queues. The full barriers between
//! "stop queue / unmask" and "read mask / read queue state" make one of the two sides see the
//! other's write.

use super::counters::Counters;
use super::Port;
use crate::net::bh;
use crate::net::napi::{NapiPoller, NapiQueue};
use crate::net::skb::Skb;
use crate::netcore::nic::ring::{RingIndex, SizeError};
use crate::netcore::nic::stats::rx;
use core::sync::atomic::{fence, AtomicBool, Ordering};
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::SpinLock;

/// Frames a poll takes from the ring per lock acquisition.
const POLL_BATCH: usize = 16;

/// A frame in a ring: the sk_buff, and whether GRO is worth trying on it.
pub(crate) struct Frame {
    skb: Skb,
    gro: bool,
}

/// The slots of a ring and their indices.
pub(crate) struct Slots {
    idx: RingIndex,
    slots: KVec<Option<Frame>>,
    /// False while the port is down: nothing may be queued.
    active: bool,
}

impl Slots {
    fn with_size(size: u32) -> Result<Slots> {
        let idx = RingIndex::new(size).map_err(size_error)?;
        let n = idx.capacity() as usize;
        let mut slots = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            slots.push(None, GFP_KERNEL)?;
        }
        Ok(Slots {
            idx,
            slots,
            active: false,
        })
    }

    fn pop(&mut self) -> Option<Frame> {
        let slot = self.idx.pop()?;
        self.slots.get_mut(slot).and_then(Option::take)
    }
}

fn size_error(_: SizeError) -> Error {
    EINVAL
}

/// Why a frame was not queued.
pub(crate) enum Refused {
    /// The ring is full.
    Full(Skb),
    /// The port is down.
    Down(Skb),
}

/// One receive queue.
#[pin_data]
pub(crate) struct RxRing {
    #[pin]
    ring: SpinLock<Slots>,
    /// The virtual interrupt is masked: a poll is scheduled or running.
    masked: AtomicBool,
    /// This queue's number.
    pub(crate) index: u32,
    /// Counters (`netcore::nic::stats::rx`).
    pub(crate) stats: Counters<{ rx::COUNT }>,
}

impl RxRing {
    /// A queue with a ring of `size` slots, inactive until the port opens.
    pub(crate) fn new(index: u32, size: u32) -> Result<impl PinInit<NapiQueue<RxRing>, Error>> {
        let slots = Slots::with_size(size)?;
        Ok(NapiQueue::new(try_pin_init!(RxRing {
            ring <- new_spinlock!(slots, "rvnic_ring"),
            masked: AtomicBool::new(false),
            index,
            stats: Counters::new(),
        })))
    }

    /// Queues a frame from the peer's transmit, and raises the interrupt. `gro` says whether
    /// the poll should offer it to GRO.
    pub(crate) fn enqueue(q: &NapiQueue<RxRing>, skb: Skb, gro: bool) -> Result<(), Refused> {
        let r = &q.inner;
        {
            let mut g = r.ring.lock();
            if !g.active {
                return Err(Refused::Down(skb));
            }
            let Some(slot) = g.idx.push() else {
                return Err(Refused::Full(skb));
            };
            match g.slots.get_mut(slot) {
                Some(s) => *s = Some(Frame { skb, gro }),
                None => return Err(Refused::Full(skb)),
            }
            // The ring lock serialises the writers of this counter.
            r.stats.add_single_writer(rx::ENQUEUED, 1);
        }
        Self::kick(q);
        Ok(())
    }

    /// Raises the virtual interrupt after a sender stopped its queue on a full ring. The
    /// stopped-queue bit is not under the ring lock, so a full barrier orders it before the
    /// read of the mask; it pairs with the barrier before the poll reads the queue state.
    pub(crate) fn kick_after_stop(q: &NapiQueue<RxRing>) {
        fence(Ordering::SeqCst);
        Self::kick(q);
    }

    /// Raises the virtual interrupt unless it is masked: schedules NAPI.
    ///
    /// After an enqueue no barrier is needed: the producer filled the slot under the ring lock
    /// and reads the mask after taking it, and the poll unmasks before it takes the lock to
    /// look at the ring again. Whichever takes the lock second sees the other's write: either
    /// the poll sees the new frame and polls again, or the producer sees the mask clear and
    /// schedules.
    pub(crate) fn kick(q: &NapiQueue<RxRing>) {
        let r = &q.inner;
        if !r.masked.load(Ordering::Relaxed) && q.schedule_prep() {
            r.masked.store(true, Ordering::Relaxed);
            // Only the winner of `schedule_prep` gets here until the poll completes.
            r.stats.add_single_writer(rx::INTERRUPTS, 1);
            q.schedule_claimed();
        }
    }

    /// Opens the ring to the peer's frames.
    pub(crate) fn activate(&self) {
        let _bh = bh::disable();
        self.ring.lock().active = true;
    }

    /// Closes the ring and frees what is in it (counted as drops).
    pub(crate) fn deactivate(&self) {
        let _bh = bh::disable();
        self.ring.lock().active = false;
        loop {
            let frame = self.ring.lock().pop();
            match frame {
                Some(frame) => {
                    self.stats.inc(rx::DROP_DOWN);
                    drop(frame);
                }
                None => break,
            }
        }
        self.masked.store(false, Ordering::Relaxed);
    }

    /// Resizes the ring, keeping the oldest frames that fit and dropping (and counting) the
    /// rest. Safe while traffic flows: producers and the poll see either ring whole.
    pub(crate) fn resize(&self, size: u32) -> Result {
        let mut fresh = Slots::with_size(size)?;
        let _bh = bh::disable();
        let mut g = self.ring.lock();
        let (idx, _dropped) = g.idx.resized(size).map_err(size_error)?;
        let mut moved = 0usize;
        while let Some(frame) = g.pop() {
            match fresh.slots.get_mut(moved) {
                Some(slot) if moved < idx.len() as usize => {
                    *slot = Some(frame);
                    moved += 1;
                }
                _ => {
                    self.stats.inc(rx::DROP_RESIZE);
                    drop(frame);
                }
            }
        }
        fresh.idx = idx;
        fresh.active = g.active;
        *g = fresh;
        Ok(())
    }
}

impl NapiPoller for RxRing {
    type Driver = Port;

    fn poll(q: &NapiQueue<Self>, budget: i32) -> i32 {
        let r = &q.inner;
        let mut done = 0;
        let (mut bytes, mut merged) = (0u64, 0u64);
        let mut batch: [Option<Frame>; POLL_BATCH] = [const { None }; POLL_BATCH];
        while done < budget {
            // Take a batch under one lock acquisition, then hand it up without the lock.
            let want = usize::try_from(budget - done).unwrap_or(0).min(POLL_BATCH);
            let mut got = 0;
            {
                let mut g = r.ring.lock();
                for slot in batch.iter_mut().take(want) {
                    match g.pop() {
                        Some(frame) => {
                            *slot = Some(frame);
                            got += 1;
                        }
                        None => break,
                    }
                }
            }
            for frame in batch.iter_mut().take(got).filter_map(Option::take) {
                bytes += u64::from(frame.skb.len());
                merged += u64::from(q.receive(frame.skb, frame.gro));
            }
            done += got as i32;
            if got < want {
                break;
            }
        }
        // This poll is the only writer of these counters.
        r.stats.add_single_writer(rx::PACKETS, done as u64);
        r.stats.add_single_writer(rx::BYTES, bytes);
        r.stats.add_single_writer(rx::GRO_MERGED, merged);
        r.stats.add_single_writer(rx::POLLS, 1);
        if done >= budget {
            r.stats.add_single_writer(rx::POLLS_FULL, 1);
        } else if q.complete_done(done) {
            // Unmask, then look at the ring again: a frame queued after our last look but
            // before the unmask would otherwise wait for the next one.
            r.masked.store(false, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            let more = !r.ring.lock().idx.is_empty();
            if more && q.schedule_prep() {
                r.masked.store(true, Ordering::Relaxed);
                q.schedule_claimed();
            }
        }
        // Release backpressure: pairs with the sender's stop-then-kick.
        fence(Ordering::SeqCst);
        if let Some(dev) = q.device() {
            dev.state().wake_peer_queues(dev, r.index);
        }
        done
    }
}

#[kunit_tests(rvnet_rvnic_ring)]
mod tests {
    use super::{Refused, RxRing};
    use crate::net::bh;
    use crate::net::napi::NapiQueue;
    use crate::net::skb::Skb;
    use crate::netcore::nic::stats::rx;
    use kernel::prelude::*;

    /// Queues as the peer's transmit does: with bottom halves off (the ring lock is also
    /// taken in softirq context).
    fn put(q: &NapiQueue<RxRing>, len: u32) -> Result<Result<(), Refused>> {
        let skb = Skb::alloc(len)?;
        let _bh = bh::disable();
        Ok(RxRing::enqueue(q, skb, false))
    }

    #[test]
    fn full_resize_and_close_with_real_skbs() -> Result {
        let q = KBox::pin_init(RxRing::new(0, 4)?, GFP_KERNEL)?;
        assert!(matches!(put(&q, 60)?, Err(Refused::Down(_))));
        q.inner.activate();
        for _ in 0..4 {
            assert!(put(&q, 60)?.is_ok());
        }
        assert!(matches!(put(&q, 60)?, Err(Refused::Full(_))));
        assert_eq!(q.inner.stats.get(rx::ENQUEUED), 4);
        // No NAPI context is running: nothing to interrupt.
        assert_eq!(q.inner.stats.get(rx::INTERRUPTS), 0);
        // Shrinking below the fill keeps the oldest two and counts the others.
        q.inner.resize(2)?;
        assert_eq!(q.inner.stats.get(rx::DROP_RESIZE), 2);
        assert!(matches!(put(&q, 60)?, Err(Refused::Full(_))));
        // Growing keeps both and makes room for six more.
        q.inner.resize(8)?;
        for _ in 0..6 {
            assert!(put(&q, 1500)?.is_ok());
        }
        assert!(matches!(put(&q, 60)?, Err(Refused::Full(_))));
        // Closing frees every frame inside, counted.
        q.inner.deactivate();
        assert_eq!(q.inner.stats.get(rx::DROP_DOWN), 8);
        assert!(matches!(put(&q, 60)?, Err(Refused::Down(_))));
        assert!(q.inner.resize(3).is_err());
        Ok(())
    }
}
