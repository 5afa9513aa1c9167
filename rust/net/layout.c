// SPDX-License-Identifier: GPL-2.0
/*
 * The layout of the kernel structs whose members Rust reads or writes through bindgen's
 * bindings, as the compiler sees it. bindgen can get a struct wrong without a warning: in 7.2
 * its struct sock and struct net are shorter than the compiler's (an aligned cacheline group
 * loses its alignment), so every member past that point is misplaced. rust/net/layout.rs
 * lists the same members in the same order and refuses to load the module if one differs.
 * What Rust may not reach through the bindings goes through family.c and helpers.c.
 */
#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include <linux/seq_file.h>
#include <linux/seq_file_net.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netdev_queues.h>
#include <net/rtnetlink.h>
#include <net/sock.h>

#include "helpers.h"

#define F(t, m) offsetof(struct t, m)
#define S(t) sizeof(struct t)

static const unsigned long layout[] = {
	F(sock, __sk_common.skc_refcnt), F(sock, __sk_common.skc_net),
	F(sock, __sk_common.skc_bound_dev_if), F(sock, sk_err), F(sock, sk_rcvbuf),
	F(sock, sk_backlog.rmem_alloc), F(sock, sk_receive_queue), F(socket, type), F(socket, sk),
	F(socket, ops), F(sk_buff, len), F(sk_buff, data_len), F(sk_buff, data), F(sk_buff, cb),
	F(net_device, name), F(net_device, dev_addr), F(net_device, mtu), F(net_device, type),
	F(net_device, addr_len), F(net_device, ifindex), F(net_device, rx_handler),
	F(net_device, nd_net), F(net_device, addr_assign_type), F(net_device, priv_destructor),
	F(net_device, netdev_ops), F(net_device, ethtool_ops), F(net_device, stat_ops),
	F(net_device, features), F(net_device, hw_features), F(net_device, hw_enc_features),
	F(net_device, vlan_features), F(net_device, min_mtu), F(net_device, max_mtu),
	F(net_device, rtnl_link_ops), F(net_device, num_rx_queues), F(net_device, real_num_rx_queues),
	F(net_device, real_num_tx_queues), F(net_device, num_tx_queues), F(net_device, flags),
	F(net, user_ns), F(msghdr, msg_name), F(msghdr, msg_namelen), F(msghdr, msg_iter),
	F(msghdr, msg_flags), F(netdev_notifier_info, dev), F(rtnl_newlink_params, src_net),
	F(rtnl_newlink_params, link_net), F(rtnl_newlink_params, peer_net),
	F(rtnl_newlink_params, tb), F(rtnl_newlink_params, data), F(ifinfomsg, ifi_index),
	F(seq_file, private), F(seq_net_private, net), F(delayed_work, work),
	F(pernet_operations, init),
	F(pernet_operations, exit), F(pernet_operations, id), F(pernet_operations, size),
	F(proto, name), F(proto, owner), F(proto, obj_size), F(net_proto_family, create),
	F(notifier_block, notifier_call), F(rtnl_link_ops, kind), F(rtnl_link_ops, priv_size),
	F(rtnl_link_ops, setup), F(rtnl_link_ops, newlink), F(rtnl_link_ops, dellink),
	F(rtnl_link_ops, policy), F(rtnl_link_ops, maxtype), F(rtnl_link_ops, peer_type),
	F(nla_policy, len), S(sk_buff), S(net_device), S(socket), S(msghdr), S(proto), S(proto_ops),
	S(pernet_operations), S(net_proto_family), S(notifier_block), S(rtnl_link_ops),
	S(rtnl_newlink_params), S(nla_policy), S(delayed_work), S(ifinfomsg), S(net_device_ops),
	S(ethtool_ops), S(netdev_stat_ops),
	F(netlink_ext_ack, _msg), F(netlink_ext_ack, bad_attr), F(netlink_ext_ack, miss_type),
	F(netlink_ext_ack, miss_nest), F(genl_info, snd_seq), F(genl_info, snd_portid),
	F(genl_info, family), F(genl_info, genlhdr), F(genl_info, attrs), F(genl_info, extack),
	F(genl_dumpit_info, info), F(netlink_callback, data), F(netlink_callback, args),
	F(genl_family, name), F(genl_family, version), F(genl_family, module),
	F(genl_family, split_ops), F(genl_family, n_split_ops), F(genl_family, mcgrps),
	F(genl_family, n_mcgrps), F(genl_multicast_group, name), F(genlmsghdr, cmd),
	F(nlattr, nla_len), S(genl_family), S(genl_split_ops), S(genl_multicast_group),
	S(genl_info), S(netlink_ext_ack), S(seq_net_private),
	F(sk_buff, next), F(sk_buff, dev), F(sk_buff, queue_mapping), F(sk_buff, tail),
	F(sk_buff, end), F(sk_buff, head), F(sk_buff, truesize), F(sk_buff, protocol),
	F(sk_buff, csum_start), F(sk_buff, csum_offset), F(skb_shared_info, gso_size),
	F(net_device, rx_handler_data), F(net_device, hard_header_len),
	F(net_device, needed_headroom), F(net_device, priv),
	F(nla_policy, type), F(nla_policy, validation_type), F(nla_policy, min),
	F(nla_policy, max), F(genl_split_ops, cmd), F(genl_split_ops, flags),
	F(genl_split_ops, policy), F(genl_split_ops, maxattr), F(genl_split_ops, doit),
	F(genl_split_ops, dumpit), F(genl_info, _net), F(nlmsghdr, nlmsg_len),
	F(net_device, _tx), F(netdev_queue, state), S(netdev_queue), F(nla_policy, nested_policy),
};
const unsigned long *const rvnet_c_layout = layout;
const unsigned int rvnet_c_layout_len = ARRAY_SIZE(layout);
