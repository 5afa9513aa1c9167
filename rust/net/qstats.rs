// SPDX-License-Identifier: GPL-2.0

//! `netdev_stat_ops`: per-queue statistics for the netdev netlink family (`ynl --family netdev
//! --dump qstats-get`), from the driver's [`NetDriver`] counters.

use super::net_device::{Adapter, NetDriver, QueueStats};
use kernel::bindings;

impl<T: NetDriver> Adapter<T> {
    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn qstats_rx(
        dev: *mut bindings::net_device,
        idx: kernel::ffi::c_int,
        out: *mut bindings::netdev_queue_stats_rx,
    ) {
        // SAFETY: the core passes a registered device of ours and its buffer.
        let (Some(d), Ok(q)) = (unsafe { Self::dev(dev) }, u32::try_from(idx)) else {
            return;
        };
        let s = T::rx_queue_stats(d, q);
        // SAFETY: as above.
        let o = unsafe { &mut *out };
        o.packets = s.packets;
        o.bytes = s.bytes;
        o.hw_drops = s.drops;
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn qstats_tx(
        dev: *mut bindings::net_device,
        idx: kernel::ffi::c_int,
        out: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: the core passes a registered device of ours and its buffer.
        let (Some(d), Ok(q)) = (unsafe { Self::dev(dev) }, u32::try_from(idx)) else {
            return;
        };
        let s = T::tx_queue_stats(d, q);
        // SAFETY: as above.
        let o = unsafe { &mut *out };
        o.packets = s.packets;
        o.bytes = s.bytes;
        o.hw_drops = s.drops;
        o.stop = s.stops;
        o.wake = s.wakes;
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn qstats_base(
        dev: *mut bindings::net_device,
        rx: *mut bindings::netdev_queue_stats_rx,
        tx: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: the core passes a registered device of ours and its buffers.
        let Some(d) = (unsafe { Self::dev(dev) }) else {
            return;
        };
        // The base holds what the queues in use do not: the queues beyond the real counts.
        let mut r = QueueStats::default();
        for q in d.real_num_rx_queues()..d.num_rx_queues() {
            let s = T::rx_queue_stats(d, q);
            r.packets += s.packets;
            r.bytes += s.bytes;
            r.drops += s.drops;
        }
        let mut t = QueueStats::default();
        for q in d.real_num_tx_queues()..d.num_tx_queues() {
            let s = T::tx_queue_stats(d, q);
            t.packets += s.packets;
            t.bytes += s.bytes;
            t.drops += s.drops;
            t.stops += s.stops;
            t.wakes += s.wakes;
        }
        // SAFETY: the buffers are the core's.
        let (rx, tx) = unsafe { (&mut *rx, &mut *tx) };
        rx.packets = r.packets;
        rx.bytes = r.bytes;
        rx.hw_drops = r.drops;
        tx.packets = t.packets;
        tx.bytes = t.bytes;
        tx.hw_drops = t.drops;
        tx.stop = t.stops;
        tx.wake = t.wakes;
    }

    pub(super) const STAT_OPS: bindings::netdev_stat_ops = bindings::netdev_stat_ops {
        get_queue_stats_rx: Some(Self::qstats_rx),
        get_queue_stats_tx: Some(Self::qstats_tx),
        get_base_stats: Some(Self::qstats_base),
    };
}
