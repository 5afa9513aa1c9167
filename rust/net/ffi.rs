// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C shims in `helpers.c` (see `helpers.h` for why each exists).
//!
//! Only pointers to kernel structs cross this boundary. Some of those structs contain empty
//! structs (e.g. `netdevice_tracker` without CONFIG_NET_DEV_REFCNT_TRACKER), which rustc calls
//! not FFI-safe; behind a pointer that is harmless, as in the kernel's own bindings crate.
#![allow(improper_ctypes)]

use kernel::bindings::{msghdr, net, proto_ops, seq_file, sock, socket, sockptr_t};
use kernel::bindings::{napi_struct, net_device, netlink_ext_ack, rtnl_link_ops};
use kernel::bindings::{rtnl_newlink_params, sk_buff};
use kernel::ffi::{c_int, c_ulong, c_void};

pub(crate) const RVNET_PROC_DEV: u32 = 0;
pub(crate) const RVNET_PROC_ARP: u32 = 1;
pub(crate) const RVNET_PROC_ROUTE: u32 = 2;
pub(crate) const RVNET_PROC_SOCKETS: u32 = 3;

/// `struct rvnet_family_ops` of helpers.h: the Rust callbacks of the socket family.
#[repr(C)]
pub(crate) struct rvnet_family_ops {
    pub(crate) net_init: Option<unsafe extern "C" fn(*mut net) -> *mut c_void>,
    pub(crate) net_detach_all: Option<unsafe extern "C" fn(*mut c_void)>,
    pub(crate) net_free: Option<unsafe extern "C" fn(*mut c_void)>,
    pub(crate) net_tick: Option<unsafe extern "C" fn(*mut c_void) -> c_ulong>,
    pub(crate) proc_show: Option<unsafe extern "C" fn(*mut c_void, c_int, *mut seq_file) -> c_int>,
    pub(crate) netdev_unregister: Option<unsafe extern "C" fn(*mut c_void, *mut net_device)>,
    pub(crate) rx: Option<unsafe extern "C" fn(*mut c_void, *mut sk_buff) -> *mut sk_buff>,
    pub(crate) sock_new:
        Option<unsafe extern "C" fn(*mut c_void, c_int, c_int, c_int, *mut c_int) -> *mut c_void>,
    pub(crate) sock_init: Option<unsafe extern "C" fn(*mut c_void, *mut sock)>,
    pub(crate) sock_release: Option<unsafe extern "C" fn(*mut c_void, *mut sock, *mut c_void)>,
    pub(crate) sock_free: Option<unsafe extern "C" fn(*mut c_void)>,
}

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

    pub(crate) fn rvnet_param_family() -> c_int;
    pub(crate) fn rvnet_family_register(
        ops: *const rvnet_family_ops,
        dgram: *const proto_ops,
        raw: *const proto_ops,
    ) -> c_int;
    pub(crate) fn rvnet_family_unregister();
    pub(crate) fn rvnet_sk_state(sk: *const sock) -> *mut c_void;
    pub(crate) fn rvnet_net_state(net: *const net) -> *mut c_void;
    pub(crate) fn rvnet_socket_sk(sock: *const socket) -> *mut sock;
    pub(crate) fn rvnet_sock_release(sock: *mut socket) -> c_int;
    pub(crate) fn rvnet_sock_recvmsg(
        sock: *mut socket,
        msg: *mut msghdr,
        len: usize,
        flags: c_int,
    ) -> c_int;
    pub(crate) fn rvnet_rx_attach(dev: *mut net_device, state: *mut c_void) -> c_int;
    pub(crate) fn rvnet_rx_detach(dev: *mut net_device);
    pub(crate) fn rvnet_seq_write(seq: *mut seq_file, data: *const c_void, len: usize) -> c_int;
    pub(crate) fn rvnet_skb_set_source(skb: *mut sk_buff, saddr: u32, sport: u16);
    pub(crate) fn rvnet_sock_queue_rcv(sk: *mut sock, skb: *mut sk_buff) -> c_int;
    pub(crate) fn rvnet_sock_alloc_send(
        sk: *mut sock,
        len: u32,
        headroom: u32,
        noblock: bool,
        err: *mut c_int,
    ) -> *mut sk_buff;
    pub(crate) fn rvnet_alloc_skb(len: u32, headroom: u32) -> *mut sk_buff;
    pub(crate) fn rvnet_skb_fail(skb: *mut sk_buff, err: c_int);
    pub(crate) fn rvnet_xmit(
        skb: *mut sk_buff,
        dev: *mut net_device,
        dst: *const u8,
        proto: u16,
    ) -> c_int;
    pub(crate) fn rvnet_ll_headroom(dev: *const net_device) -> u32;
    pub(crate) fn rvnet_skb_pkt_type(skb: *const sk_buff) -> u8;
    pub(crate) fn rvnet_skb_protocol(skb: *const sk_buff) -> u16;
    pub(crate) fn rvnet_skb_linearize(skb: *mut sk_buff) -> c_int;
    pub(crate) fn rvnet_skb_data(skb: *const sk_buff) -> *mut u8;
    pub(crate) fn rvnet_skb_put(skb: *mut sk_buff, len: u32) -> *mut u8;
    pub(crate) fn rvnet_skb_push(skb: *mut sk_buff, len: u32) -> *mut u8;
    pub(crate) fn rvnet_skb_pull(skb: *mut sk_buff, len: u32);
    pub(crate) fn rvnet_skb_trim(skb: *mut sk_buff, len: u32) -> c_int;
    pub(crate) fn rvnet_skb_clone(skb: *mut sk_buff) -> *mut sk_buff;
    pub(crate) fn rvnet_skb_dev(skb: *const sk_buff) -> *mut net_device;
    pub(crate) fn rvnet_memcpy_from_msg(data: *mut c_void, msg: *mut msghdr, len: c_int) -> c_int;
    pub(crate) fn rvnet_ns_capable(sk: *const sock, cap: c_int) -> bool;
    pub(crate) fn rvnet_net_capable(net: *mut net, cap: c_int) -> bool;
    pub(crate) fn rvnet_sock_net(sk: *const sock) -> *mut net;
    pub(crate) fn rvnet_now_ms() -> u64;
    pub(crate) fn rvnet_rtnl_lock();
    pub(crate) fn rvnet_rtnl_unlock();
    pub(crate) fn rvnet_sock_hold(sk: *mut sock);
    pub(crate) fn rvnet_sock_put(sk: *mut sock);
    pub(crate) fn rvnet_sock_rmem(sk: *const sock) -> u32;
    pub(crate) fn rvnet_sock_rcvbuf(sk: *const sock) -> u32;
    pub(crate) fn rvnet_sock_drops(sk: *const sock) -> u32;
    pub(crate) fn rvnet_sock_bound_dev(sk: *const sock) -> c_int;
    pub(crate) fn rvnet_sock_shutdown(sk: *mut sock, how: c_int);
    pub(crate) fn rvnet_sock_take_error(sk: *mut sock) -> c_int;
    pub(crate) fn rvnet_netdev_name(dev: *const net_device) -> *const kernel::ffi::c_char;
    pub(crate) fn rvnet_netdev_addr(dev: *const net_device) -> *const u8;
    pub(crate) fn rvnet_netdev_mtu(dev: *const net_device) -> u32;
    pub(crate) fn rvnet_netdev_is_ether(dev: *const net_device) -> bool;
    pub(crate) fn rvnet_dev_get_by_index(net: *mut net, ifindex: c_int) -> *mut net_device;
    pub(crate) fn rvnet_dev_put(dev: *mut net_device);
    pub(crate) fn rvnet_dev_hold(dev: *mut net_device);
    pub(crate) fn rvnet_skb_csum_trusted(skb: *const sk_buff) -> bool;
    pub(crate) fn rvnet_kernel_socket(kind: c_int, res: *mut *mut socket) -> c_int;
    pub(crate) fn rvnet_kernel_socket_release(sock: *mut socket);
    pub(crate) fn rvnet_sock_set_rcvbuf(sk: *mut sock, val: c_int);
    pub(crate) fn rvnet_init_net_state() -> *mut c_void;
    pub(crate) fn rvnet_skb_set_protocol(skb: *mut sk_buff, proto: u16);
    pub(crate) fn rvnet_sock_report_error(sk: *mut sock, err: c_int);
    pub(crate) fn rvnet_skb_set_csum_partial(skb: *mut sk_buff, start: u16, offset: u16);
    pub(crate) fn rvnet_skb_checksum_help(skb: *mut sk_buff) -> c_int;
    pub(crate) fn rvnet_skb_may_pull(skb: *mut sk_buff, len: u32) -> bool;
    pub(crate) fn rvnet_skb_cow(skb: *mut sk_buff, headroom: u32) -> c_int;
    pub(crate) fn rvnet_skb_forward_csum(skb: *mut sk_buff);
    pub(crate) fn rvnet_skb_gso_fits(skb: *const sk_buff, mtu: u32) -> bool;
    pub(crate) fn rvnet_copy_from_sockptr(
        dst: *mut c_void,
        src: *const sockptr_t,
        len: usize,
    ) -> c_int;
}
