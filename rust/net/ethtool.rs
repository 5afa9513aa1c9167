// SPDX-License-Identifier: GPL-2.0

//! `ethtool_ops` of a driver's devices: `ethtool -i`, `-g/-G` (ring sizes), `-S` (statistics),
//! `-l/-L` (channels). The driver answers through its [`NetDriver`] methods.

use super::net_device::{copy_cstr, Adapter, Channels, NetDevice, NetDriver};
use kernel::bindings;
use kernel::error::{code, from_result};

impl<T: NetDriver> Adapter<T> {
    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn get_drvinfo(
        _dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: `info` is the core's buffer.
        let info = unsafe { &mut *info };
        copy_cstr(&mut info.driver, T::DRIVER);
        copy_cstr(&mut info.version, T::VERSION);
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn get_ringparam(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _k: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) {
        // SAFETY: the core passes a registered device of ours, under RTNL.
        let Some(d) = (unsafe { Self::dev(dev) }) else {
            return;
        };
        let (cur, max) = T::ring_size(d);
        // SAFETY: `ring` is the core's buffer.
        let ring = unsafe { &mut *ring };
        ring.rx_pending = cur;
        ring.rx_max_pending = max;
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn set_ringparam(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _k: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: the core passes a registered device of ours, under RTNL.
            let d = unsafe { Self::dev(dev) }.ok_or(code::ENODEV)?;
            // SAFETY: `ring` is the core's buffer, already checked against our maximum.
            let ring = unsafe { &*ring };
            if ring.tx_pending != 0 || ring.rx_mini_pending != 0 || ring.rx_jumbo_pending != 0 {
                return Err(code::EINVAL);
            }
            T::set_ring_size(d, ring.rx_pending).map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn get_sset_count(
        dev: *mut bindings::net_device,
        sset: kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        if sset != bindings::ethtool_stringset_ETH_SS_STATS as kernel::ffi::c_int {
            return -(bindings::EOPNOTSUPP as kernel::ffi::c_int);
        }
        // SAFETY: the core passes a registered device of ours.
        match unsafe { Self::dev(dev) } {
            Some(d) => kernel::ffi::c_int::try_from(T::stats_count(d)).unwrap_or(0),
            None => 0,
        }
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn get_strings(dev: *mut bindings::net_device, sset: u32, data: *mut u8) {
        if sset != bindings::ethtool_stringset_ETH_SS_STATS {
            return;
        }
        // SAFETY: the core passes a registered device of ours.
        let Some(d) = (unsafe { Self::dev(dev) }) else {
            return;
        };
        let n = T::stats_count(d);
        for i in 0..n {
            let mut name = [0u8; 32];
            if !T::stats_name(d, i, &mut name) {
                break;
            }
            // SAFETY: the core sized `data` for `get_sset_count` strings of 32 bytes each,
            // and the count cannot change while it holds RTNL across both calls.
            unsafe { core::ptr::copy_nonoverlapping(name.as_ptr(), data.add(i * 32), 32) };
        }
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn get_ethtool_stats(
        dev: *mut bindings::net_device,
        st: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: the core passes a registered device of ours.
        let Some(d) = (unsafe { Self::dev(dev) }) else {
            return;
        };
        // SAFETY: `st` is the core's; `n_stats` is the count it sized `data` for.
        let n = unsafe { (*st).n_stats } as usize;
        // SAFETY: `data` holds `n` u64s.
        let out = unsafe { core::slice::from_raw_parts_mut(data, n) };
        out.fill(0);
        T::stats_values(d, out);
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn get_channels(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) {
        // SAFETY: the core passes a valid device and buffer.
        let (nd, ch) = unsafe { (NetDevice::from_raw(dev), &mut *ch) };
        ch.rx_count = nd.real_num_rx_queues();
        ch.tx_count = nd.real_num_tx_queues();
        ch.max_rx = nd.num_rx_queues();
        ch.max_tx = nd.num_tx_queues();
    }

    /// # Safety
    ///
    /// Called only by the kernel, with what its operation table promises: valid pointers
    /// to a device of this driver (and to the buffers passed) for the whole call.
    unsafe extern "C" fn set_channels(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: the core passes a registered device of ours and its buffer, under RTNL.
            let (d, ch) = unsafe { (Self::dev(dev).ok_or(code::ENODEV)?, &*ch) };
            if ch.rx_count == 0 || ch.tx_count == 0 || ch.combined_count != 0 {
                return Err(code::EINVAL);
            }
            d.set_real_num_queues(ch.rx_count, ch.tx_count)?;
            T::channels_changed(
                d,
                Channels {
                    rx: ch.rx_count,
                    tx: ch.tx_count,
                },
            );
            Ok(0)
        })
    }

    pub(super) const ETHTOOL_OPS: bindings::ethtool_ops = bindings::ethtool_ops {
        get_drvinfo: Some(Self::get_drvinfo),
        get_link: Some(bindings::ethtool_op_get_link),
        get_ts_info: Some(bindings::ethtool_op_get_ts_info),
        get_ringparam: Some(Self::get_ringparam),
        set_ringparam: Some(Self::set_ringparam),
        get_sset_count: Some(Self::get_sset_count),
        get_strings: Some(Self::get_strings),
        get_ethtool_stats: Some(Self::get_ethtool_stats),
        get_channels: Some(Self::get_channels),
        set_channels: Some(Self::set_channels),
        // SAFETY: all other operations and flags are optional: zero is "not supported".
        ..unsafe { core::mem::zeroed() }
    };
}
