// SPDX-License-Identifier: GPL-2.0

//! A check that bindgen laid out the kernel structs Rust touches as the compiler did.
//!
//! bindgen can misplace members without a warning: in 7.2 its `struct sock` and `struct net`
//! are shorter than the compiler's (an aligned cacheline group loses its alignment), so every
//! member past that point is elsewhere in C. `layout.c` exports the compiler's offsets and
//! sizes of every member and struct this layer uses through the bindings, in the order of
//! [`MEMBERS`]; [`check`] compares them at module load, which fails (naming the member) rather
//! than let the module write to the wrong place. Members past a misplaced one are reached
//! through `family.c` instead.

use super::ffi;
use core::mem::{offset_of, size_of};
use kernel::bindings;

/// `m!(STRUCT, C_MEMBER = BINDGEN_PATH)`: the member's name as `layout.c` gives it, and
/// bindgen's offset of it (anonymous unions and structs appear in the path).
macro_rules! m {
    ($s:ident, $name:ident = $($path:tt)+) => {
        (
            concat!(stringify!($s), ".", stringify!($name)),
            offset_of!(bindings::$s, $($path)+),
        )
    };
}

/// The members and structs, each with bindgen's offset or size, in `layout.c`'s order.
const MEMBERS: &[(&str, usize)] = &[
    (
        "sock.__sk_common.skc_refcnt",
        offset_of!(bindings::sock, __sk_common.skc_refcnt),
    ),
    (
        "sock.__sk_common.skc_net",
        offset_of!(bindings::sock, __sk_common.skc_net),
    ),
    (
        "sock.__sk_common.skc_bound_dev_if",
        offset_of!(bindings::sock, __sk_common.skc_bound_dev_if),
    ),
    ("sock.sk_err", offset_of!(bindings::sock, sk_err)),
    ("sock.sk_rcvbuf", offset_of!(bindings::sock, sk_rcvbuf)),
    (
        "sock.sk_backlog.rmem_alloc",
        offset_of!(bindings::sock, sk_backlog.rmem_alloc),
    ),
    (
        "sock.sk_receive_queue",
        offset_of!(bindings::sock, sk_receive_queue),
    ),
    ("socket.type", offset_of!(bindings::socket, type_)),
    ("socket.sk", offset_of!(bindings::socket, sk)),
    ("socket.ops", offset_of!(bindings::socket, ops)),
    ("sk_buff.len", offset_of!(bindings::sk_buff, len)),
    ("sk_buff.data_len", offset_of!(bindings::sk_buff, data_len)),
    ("sk_buff.data", offset_of!(bindings::sk_buff, data)),
    ("sk_buff.cb", offset_of!(bindings::sk_buff, cb)),
    ("net_device.name", offset_of!(bindings::net_device, name)),
    (
        "net_device.dev_addr",
        offset_of!(bindings::net_device, dev_addr),
    ),
    ("net_device.mtu", offset_of!(bindings::net_device, mtu)),
    ("net_device.type", offset_of!(bindings::net_device, type_)),
    (
        "net_device.addr_len",
        offset_of!(bindings::net_device, addr_len),
    ),
    (
        "net_device.ifindex",
        offset_of!(bindings::net_device, ifindex),
    ),
    (
        "net_device.rx_handler",
        offset_of!(bindings::net_device, rx_handler),
    ),
    (
        "net_device.nd_net",
        offset_of!(bindings::net_device, nd_net),
    ),
    (
        "net_device.addr_assign_type",
        offset_of!(bindings::net_device, addr_assign_type),
    ),
    (
        "net_device.priv_destructor",
        offset_of!(bindings::net_device, priv_destructor),
    ),
    (
        "net_device.netdev_ops",
        offset_of!(bindings::net_device, netdev_ops),
    ),
    (
        "net_device.ethtool_ops",
        offset_of!(bindings::net_device, ethtool_ops),
    ),
    (
        "net_device.stat_ops",
        offset_of!(bindings::net_device, stat_ops),
    ),
    (
        "net_device.features",
        offset_of!(bindings::net_device, features),
    ),
    (
        "net_device.hw_features",
        offset_of!(bindings::net_device, hw_features),
    ),
    (
        "net_device.hw_enc_features",
        offset_of!(bindings::net_device, hw_enc_features),
    ),
    (
        "net_device.vlan_features",
        offset_of!(bindings::net_device, vlan_features),
    ),
    (
        "net_device.min_mtu",
        offset_of!(bindings::net_device, min_mtu),
    ),
    (
        "net_device.max_mtu",
        offset_of!(bindings::net_device, max_mtu),
    ),
    (
        "net_device.rtnl_link_ops",
        offset_of!(bindings::net_device, rtnl_link_ops),
    ),
    (
        "net_device.num_rx_queues",
        offset_of!(bindings::net_device, num_rx_queues),
    ),
    (
        "net_device.real_num_rx_queues",
        offset_of!(bindings::net_device, real_num_rx_queues),
    ),
    (
        "net_device.real_num_tx_queues",
        offset_of!(bindings::net_device, real_num_tx_queues),
    ),
    (
        "net_device.num_tx_queues",
        offset_of!(bindings::net_device, num_tx_queues),
    ),
    ("net_device.flags", offset_of!(bindings::net_device, flags)),
    ("net.user_ns", offset_of!(bindings::net, user_ns)),
    ("msghdr.msg_name", offset_of!(bindings::msghdr, msg_name)),
    (
        "msghdr.msg_namelen",
        offset_of!(bindings::msghdr, msg_namelen),
    ),
    ("msghdr.msg_iter", offset_of!(bindings::msghdr, msg_iter)),
    ("msghdr.msg_flags", offset_of!(bindings::msghdr, msg_flags)),
    (
        "netdev_notifier_info.dev",
        offset_of!(bindings::netdev_notifier_info, dev),
    ),
    (
        "rtnl_newlink_params.src_net",
        offset_of!(bindings::rtnl_newlink_params, src_net),
    ),
    (
        "rtnl_newlink_params.link_net",
        offset_of!(bindings::rtnl_newlink_params, link_net),
    ),
    (
        "rtnl_newlink_params.peer_net",
        offset_of!(bindings::rtnl_newlink_params, peer_net),
    ),
    (
        "rtnl_newlink_params.tb",
        offset_of!(bindings::rtnl_newlink_params, tb),
    ),
    (
        "rtnl_newlink_params.data",
        offset_of!(bindings::rtnl_newlink_params, data),
    ),
    (
        "ifinfomsg.ifi_index",
        offset_of!(bindings::ifinfomsg, ifi_index),
    ),
    ("seq_file.private", offset_of!(bindings::seq_file, private)),
    (
        "seq_net_private.net",
        offset_of!(bindings::seq_net_private, net),
    ),
    (
        "delayed_work.work",
        offset_of!(bindings::delayed_work, work),
    ),
    (
        "pernet_operations.init",
        offset_of!(bindings::pernet_operations, init),
    ),
    (
        "pernet_operations.exit",
        offset_of!(bindings::pernet_operations, exit),
    ),
    (
        "pernet_operations.id",
        offset_of!(bindings::pernet_operations, id),
    ),
    (
        "pernet_operations.size",
        offset_of!(bindings::pernet_operations, size),
    ),
    ("proto.name", offset_of!(bindings::proto, name)),
    ("proto.owner", offset_of!(bindings::proto, owner)),
    ("proto.obj_size", offset_of!(bindings::proto, obj_size)),
    (
        "net_proto_family.create",
        offset_of!(bindings::net_proto_family, create),
    ),
    (
        "notifier_block.notifier_call",
        offset_of!(bindings::notifier_block, notifier_call),
    ),
    (
        "rtnl_link_ops.kind",
        offset_of!(bindings::rtnl_link_ops, kind),
    ),
    (
        "rtnl_link_ops.priv_size",
        offset_of!(bindings::rtnl_link_ops, priv_size),
    ),
    (
        "rtnl_link_ops.setup",
        offset_of!(bindings::rtnl_link_ops, setup),
    ),
    (
        "rtnl_link_ops.newlink",
        offset_of!(bindings::rtnl_link_ops, newlink),
    ),
    (
        "rtnl_link_ops.dellink",
        offset_of!(bindings::rtnl_link_ops, dellink),
    ),
    (
        "rtnl_link_ops.policy",
        offset_of!(bindings::rtnl_link_ops, policy),
    ),
    (
        "rtnl_link_ops.maxtype",
        offset_of!(bindings::rtnl_link_ops, maxtype),
    ),
    (
        "rtnl_link_ops.peer_type",
        offset_of!(bindings::rtnl_link_ops, peer_type),
    ),
    ("nla_policy.len", offset_of!(bindings::nla_policy, len)),
    ("sizeof(sk_buff)", size_of::<bindings::sk_buff>()),
    ("sizeof(net_device)", size_of::<bindings::net_device>()),
    ("sizeof(socket)", size_of::<bindings::socket>()),
    ("sizeof(msghdr)", size_of::<bindings::msghdr>()),
    ("sizeof(proto)", size_of::<bindings::proto>()),
    ("sizeof(proto_ops)", size_of::<bindings::proto_ops>()),
    (
        "sizeof(pernet_operations)",
        size_of::<bindings::pernet_operations>(),
    ),
    (
        "sizeof(net_proto_family)",
        size_of::<bindings::net_proto_family>(),
    ),
    (
        "sizeof(notifier_block)",
        size_of::<bindings::notifier_block>(),
    ),
    (
        "sizeof(rtnl_link_ops)",
        size_of::<bindings::rtnl_link_ops>(),
    ),
    (
        "sizeof(rtnl_newlink_params)",
        size_of::<bindings::rtnl_newlink_params>(),
    ),
    ("sizeof(nla_policy)", size_of::<bindings::nla_policy>()),
    ("sizeof(delayed_work)", size_of::<bindings::delayed_work>()),
    ("sizeof(ifinfomsg)", size_of::<bindings::ifinfomsg>()),
    (
        "sizeof(net_device_ops)",
        size_of::<bindings::net_device_ops>(),
    ),
    ("sizeof(ethtool_ops)", size_of::<bindings::ethtool_ops>()),
    (
        "sizeof(netdev_stat_ops)",
        size_of::<bindings::netdev_stat_ops>(),
    ),
    (
        "netlink_ext_ack._msg",
        offset_of!(bindings::netlink_ext_ack, _msg),
    ),
    (
        "netlink_ext_ack.bad_attr",
        offset_of!(bindings::netlink_ext_ack, bad_attr),
    ),
    (
        "netlink_ext_ack.miss_type",
        offset_of!(bindings::netlink_ext_ack, miss_type),
    ),
    (
        "netlink_ext_ack.miss_nest",
        offset_of!(bindings::netlink_ext_ack, miss_nest),
    ),
    (
        "genl_info.snd_seq",
        offset_of!(bindings::genl_info, snd_seq),
    ),
    (
        "genl_info.snd_portid",
        offset_of!(bindings::genl_info, snd_portid),
    ),
    ("genl_info.family", offset_of!(bindings::genl_info, family)),
    (
        "genl_info.genlhdr",
        offset_of!(bindings::genl_info, genlhdr),
    ),
    ("genl_info.attrs", offset_of!(bindings::genl_info, attrs)),
    ("genl_info.extack", offset_of!(bindings::genl_info, extack)),
    (
        "genl_dumpit_info.info",
        offset_of!(bindings::genl_dumpit_info, info),
    ),
    (
        "netlink_callback.data",
        offset_of!(bindings::netlink_callback, data),
    ),
    (
        "netlink_callback.args",
        offset_of!(bindings::netlink_callback, __bindgen_anon_1),
    ),
    ("genl_family.name", offset_of!(bindings::genl_family, name)),
    (
        "genl_family.version",
        offset_of!(bindings::genl_family, version),
    ),
    (
        "genl_family.module",
        offset_of!(bindings::genl_family, module),
    ),
    (
        "genl_family.split_ops",
        offset_of!(bindings::genl_family, split_ops),
    ),
    (
        "genl_family.n_split_ops",
        offset_of!(bindings::genl_family, n_split_ops),
    ),
    (
        "genl_family.mcgrps",
        offset_of!(bindings::genl_family, mcgrps),
    ),
    (
        "genl_family.n_mcgrps",
        offset_of!(bindings::genl_family, n_mcgrps),
    ),
    (
        "genl_multicast_group.name",
        offset_of!(bindings::genl_multicast_group, name),
    ),
    ("genlmsghdr.cmd", offset_of!(bindings::genlmsghdr, cmd)),
    ("nlattr.nla_len", offset_of!(bindings::nlattr, nla_len)),
    ("sizeof(genl_family)", size_of::<bindings::genl_family>()),
    (
        "sizeof(genl_split_ops)",
        size_of::<bindings::genl_split_ops>(),
    ),
    (
        "sizeof(genl_multicast_group)",
        size_of::<bindings::genl_multicast_group>(),
    ),
    ("sizeof(genl_info)", size_of::<bindings::genl_info>()),
    (
        "sizeof(netlink_ext_ack)",
        size_of::<bindings::netlink_ext_ack>(),
    ),
    (
        "sizeof(seq_net_private)",
        size_of::<bindings::seq_net_private>(),
    ),
    m!(sk_buff, next = __bindgen_anon_1.__bindgen_anon_1.next),
    m!(
        sk_buff,
        dev = __bindgen_anon_1.__bindgen_anon_1.__bindgen_anon_1.dev
    ),
    m!(sk_buff, queue_mapping = queue_mapping),
    m!(sk_buff, tail = tail),
    m!(sk_buff, end = end),
    m!(sk_buff, head = head),
    m!(sk_buff, truesize = truesize),
    // The `headers` group is a union bindgen renders as a struct of union fields, all at 0.
    (
        "sk_buff.protocol",
        offset_of!(bindings::sk_buff, __bindgen_anon_4)
            + offset_of!(bindings::sk_buff__bindgen_ty_4__bindgen_ty_1, protocol),
    ),
    (
        "sk_buff.csum_start",
        offset_of!(bindings::sk_buff, __bindgen_anon_4)
            + offset_of!(
                bindings::sk_buff__bindgen_ty_4__bindgen_ty_1,
                __bindgen_anon_1.__bindgen_anon_1.csum_start
            ),
    ),
    (
        "sk_buff.csum_offset",
        offset_of!(bindings::sk_buff, __bindgen_anon_4)
            + offset_of!(
                bindings::sk_buff__bindgen_ty_4__bindgen_ty_1,
                __bindgen_anon_1.__bindgen_anon_1.csum_offset
            ),
    ),
    m!(skb_shared_info, gso_size = gso_size),
    m!(net_device, rx_handler_data = rx_handler_data),
    m!(net_device, hard_header_len = hard_header_len),
    m!(net_device, needed_headroom = needed_headroom),
    m!(net_device, priv = priv_),
    m!(nla_policy, type = type_),
    m!(nla_policy, validation_type = validation_type),
    m!(nla_policy, min = __bindgen_anon_1.__bindgen_anon_1.min),
    m!(nla_policy, max = __bindgen_anon_1.__bindgen_anon_1.max),
    m!(genl_split_ops, cmd = cmd),
    m!(genl_split_ops, flags = flags),
    m!(genl_split_ops, policy = policy),
    m!(genl_split_ops, maxattr = maxattr),
    m!(
        genl_split_ops,
        doit = __bindgen_anon_1.__bindgen_anon_1.doit
    ),
    m!(
        genl_split_ops,
        dumpit = __bindgen_anon_1.__bindgen_anon_2.dumpit
    ),
    m!(genl_info, _net = _net),
    m!(nlmsghdr, nlmsg_len = nlmsg_len),
    m!(net_device, _tx = _tx),
    m!(netdev_queue, state = state),
    ("sizeof(netdev_queue)", size_of::<bindings::netdev_queue>()),
    m!(nla_policy, nested_policy = __bindgen_anon_1.nested_policy),
];

/// `Err` names the first member (or struct) whose place (or size) differs from the
/// compiler's.
pub fn check() -> Result<(), &'static str> {
    // SAFETY: `layout.c` defines the array with `rvnet_c_layout_len` entries.
    let c = unsafe {
        core::slice::from_raw_parts(ffi::rvnet_c_layout, ffi::rvnet_c_layout_len as usize)
    };
    if c.len() != MEMBERS.len() {
        return Err("the number of members (layout.c and layout.rs list different ones)");
    }
    match MEMBERS.iter().zip(c).find(|((_, rust), c)| *rust != **c) {
        Some(((name, _), _)) => Err(name),
        None => Ok(()),
    }
}
