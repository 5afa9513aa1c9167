// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C shims in `helpers.c` (see `helpers.h` for why each exists).
//!
//! Only pointers to kernel structs cross this boundary. Some of those structs contain empty
//! structs (e.g. `netdevice_tracker` without CONFIG_NET_DEV_REFCNT_TRACKER), which rustc calls
//! not FFI-safe; behind a pointer that is harmless, as in the kernel's own bindings crate.
#![allow(improper_ctypes)]

use kernel::bindings::sk_buff;
use kernel::bindings::{delayed_work, msghdr, net, sock, sockptr_t, work_struct};
use kernel::bindings::{napi_struct, net_device};
use kernel::ffi::{c_int, c_void};

extern "C" {
    pub(crate) fn rvnet_param_selftest() -> u32;
    pub(crate) fn rvnet_param_pairs() -> u32;

    pub(crate) fn rvnet_netdev_setup_ether(dev: *mut net_device, set: u32, clear: u32);
    pub(crate) fn rvnet_tx_stop(dev: *mut net_device, queue: u16);
    pub(crate) fn rvnet_tx_wake(dev: *mut net_device, queue: u16);
    pub(crate) fn rvnet_tx_has_qdisc(dev: *mut net_device, queue: u16) -> bool;

    pub(crate) fn rvnet_napi_add(
        dev: *mut net_device,
        napi: *mut napi_struct,
        poll: Option<unsafe extern "C" fn(*mut napi_struct, c_int) -> c_int>,
    );
    pub(crate) fn rvnet_napi_del(napi: *mut napi_struct);
    pub(crate) fn rvnet_napi_receive(napi: *mut napi_struct, skb: *mut sk_buff, gro: bool) -> bool;

    pub(crate) fn rvnet_skb_forward_prepare(rcv: *mut net_device, skb: *mut sk_buff) -> c_int;
    pub(crate) fn rvnet_skb_rx_prepare(skb: *mut sk_buff, dev: *mut net_device);

    pub(crate) fn rvnet_local_bh_disable();
    pub(crate) fn rvnet_local_bh_enable();

    pub(crate) fn rvnet_param_family() -> c_int;
    pub(crate) fn rvnet_sock_obj_size() -> u32;
    pub(crate) fn rvnet_sk_state(sk: *mut sock) -> *mut *mut c_void;
    pub(crate) fn rvnet_sock_setup(
        sk: *mut sock,
        protocol: c_int,
        destruct: Option<unsafe extern "C" fn(*mut sock)>,
    );
    pub(crate) fn rvnet_sock_shutdown(sk: *mut sock, how: c_int);
    pub(crate) fn rvnet_proc_net_mkdir(
        net: *mut net,
        name: *const kernel::ffi::c_char,
    ) -> *mut kernel::bindings::proc_dir_entry;
    pub(crate) static rvnet_c_layout: *const kernel::ffi::c_ulong;
    pub(crate) static rvnet_c_layout_len: kernel::ffi::c_uint;
    pub(crate) fn rvnet_net_generic(net: *mut net, id: u32) -> *mut c_void;
    pub(crate) fn rvnet_init_delayed_work(
        work: *mut delayed_work,
        func: Option<unsafe extern "C" fn(*mut work_struct)>,
    );
    pub(crate) fn rvnet_rx_wanted(skb: *const sk_buff) -> bool;
    pub(crate) fn rvnet_skb_unshare_orphan(skb: *mut sk_buff) -> *mut sk_buff;
    pub(crate) fn rvnet_sock_orphan(sk: *mut sock);
    pub(crate) fn rvnet_sock_recv_cmsgs(msg: *mut msghdr, sk: *mut sock, skb: *mut sk_buff);
    pub(crate) fn rvnet_sock_alloc_send(
        sk: *mut sock,
        len: u32,
        headroom: u32,
        noblock: bool,
        err: *mut c_int,
    ) -> *mut sk_buff;
    pub(crate) fn rvnet_skb_fail(skb: *mut sk_buff, err: c_int);
    pub(crate) fn rvnet_xmit(
        skb: *mut sk_buff,
        dev: *mut net_device,
        dst: *const u8,
        proto: u16,
    ) -> c_int;
    pub(crate) fn rvnet_skb_pkt_type(skb: *const sk_buff) -> u8;
    pub(crate) fn rvnet_skb_ip_summed(skb: *const sk_buff) -> u8;
    pub(crate) fn rvnet_skb_set_ip_summed(skb: *mut sk_buff, v: u8);
    pub(crate) fn rvnet_sock_drops(sk: *const sock) -> u32;
    pub(crate) fn rvnet_dev_put(dev: *mut net_device);
    pub(crate) fn rvnet_dev_hold(dev: *mut net_device);
    pub(crate) fn rvnet_skb_cow(skb: *mut sk_buff, headroom: u32) -> c_int;
    pub(crate) fn rvnet_copy_from_sockptr(
        dst: *mut c_void,
        src: *const sockptr_t,
        len: usize,
    ) -> c_int;
}
