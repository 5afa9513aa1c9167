// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C shims in `helpers.c` (see `helpers.h` for why each exists).
//!
//! Only pointers to kernel structs cross this boundary. Some of those structs contain empty
//! structs (e.g. `netdevice_tracker` without CONFIG_NET_DEV_REFCNT_TRACKER), which rustc calls
//! not FFI-safe; behind a pointer that is harmless, as in the kernel's own bindings crate.
#![allow(improper_ctypes)]

use kernel::bindings::{napi_struct, net_device, netlink_ext_ack, rtnl_link_ops};
use kernel::bindings::{rtnl_newlink_params, sk_buff};
use kernel::ffi::{c_int, c_void};

extern "C" {
    pub(crate) fn rvnet_param_selftest() -> u32;
    pub(crate) fn rvnet_param_pairs() -> u32;

    pub(crate) fn rvnet_netdev_priv(dev: *const net_device) -> *mut c_void;
    pub(crate) fn rvnet_netdev_setup_ether(dev: *mut net_device, set: u32, clear: u32);
    pub(crate) fn rvnet_tx_stop(dev: *mut net_device, queue: u16);
    pub(crate) fn rvnet_tx_wake(dev: *mut net_device, queue: u16);
    pub(crate) fn rvnet_tx_stopped(dev: *mut net_device, queue: u16) -> bool;
    pub(crate) fn rvnet_tx_has_qdisc(dev: *mut net_device, queue: u16) -> bool;

    pub(crate) fn rvnet_napi_add(
        dev: *mut net_device,
        napi: *mut napi_struct,
        poll: Option<unsafe extern "C" fn(*mut napi_struct, c_int) -> c_int>,
    );
    pub(crate) fn rvnet_napi_del(napi: *mut napi_struct);
    pub(crate) fn rvnet_napi_receive(napi: *mut napi_struct, skb: *mut sk_buff, gro: bool) -> bool;

    pub(crate) fn rvnet_skb_queue_mapping(skb: *const sk_buff) -> u16;
    pub(crate) fn rvnet_skb_is_gso(skb: *const sk_buff) -> bool;
    pub(crate) fn rvnet_skb_gso_segment(skb: *mut sk_buff, features: u64) -> *mut sk_buff;
    pub(crate) fn rvnet_skb_list_next(skb: *mut sk_buff) -> *mut sk_buff;
    pub(crate) fn rvnet_skb_forward_prepare(rcv: *mut net_device, skb: *mut sk_buff) -> c_int;
    pub(crate) fn rvnet_skb_rx_prepare(skb: *mut sk_buff, dev: *mut net_device);

    pub(crate) fn rvnet_rtnl_create_peer(
        dev: *mut net_device,
        params: *mut rtnl_newlink_params,
        ops: *const rtnl_link_ops,
        extack: *mut netlink_ext_ack,
    ) -> *mut net_device;
    pub(crate) fn rvnet_rtnl_register_peer(
        peer: *mut net_device,
        params: *mut rtnl_newlink_params,
    ) -> c_int;
    pub(crate) fn rvnet_rtnl_register_dev(
        dev: *mut net_device,
        params: *mut rtnl_newlink_params,
    ) -> c_int;
    pub(crate) fn rvnet_link_ops_init(ops: *mut rtnl_link_ops);
    pub(crate) fn rvnet_rtnl_create_default(ops: *const rtnl_link_ops) -> c_int;
    pub(crate) fn rvnet_local_bh_disable();
    pub(crate) fn rvnet_local_bh_enable();
}
