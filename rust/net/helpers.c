// SPDX-License-Identifier: GPL-2.0
/*
 * rvnet C shims (see helpers.h). Every function here is a thin wrapper; the decisions are
 * made in Rust.
 *
 * Module parameters live here rather than in Rust's module! macro because the macro registers
 * every parameter with permission 0: it would never appear under /sys/module/rvnet/parameters,
 * where engineers expect to read it. The version string is here for the same reason: module!
 * has no field for MODULE_VERSION, which modinfo and /sys/module/rvnet/version show.
 */
#include <linux/etherdevice.h>
#include <linux/if_link.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/gso.h>
#include <net/rtnetlink.h>
#include <net/sch_generic.h>
#include <net/sock.h>

#include "helpers.h"

MODULE_VERSION(RVNET_VERSION);

static unsigned int selftest = 1;
module_param(selftest, uint, 0444);
MODULE_PARM_DESC(selftest,
		 "Run the protocol core's known-answer checks at load and refuse to load if one fails (default 1)");

static unsigned int pairs;
module_param(pairs, uint, 0444);
MODULE_PARM_DESC(pairs, "Number of rvnic pairs to create at load in the initial namespace, at most 64 (default 0); the ports are named rvnic0, rvnic1, ..., the first pair being rvnic0 and rvnic1");

unsigned int rvnet_param_selftest(void)
{
	return READ_ONCE(selftest);
}

unsigned int rvnet_param_pairs(void)
{
	return READ_ONCE(pairs);
}

/* --- net_device: static inlines and bitfields --- */

void *rvnet_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

/* ether_setup() plus the priv_flags bitfield, which bindgen exposes only through setters. */
void rvnet_netdev_setup_ether(struct net_device *dev, u32 priv_flags_set, u32 priv_flags_clear)
{
	ether_setup(dev);
	dev->priv_flags &= ~priv_flags_clear;
	dev->priv_flags |= priv_flags_set;
	/* The driver serialises its own transmit path (the peer's ring lock). */
	dev->lltx = true;
}

void rvnet_tx_stop(struct net_device *dev, u16 queue)
{
	netif_tx_stop_queue(netdev_get_tx_queue(dev, queue));
}

void rvnet_tx_wake(struct net_device *dev, u16 queue)
{
	struct netdev_queue *txq = netdev_get_tx_queue(dev, queue);

	txq_trans_cond_update(txq);
	netif_tx_wake_queue(txq);
}

bool rvnet_tx_stopped(struct net_device *dev, u16 queue)
{
	return netif_tx_queue_stopped(netdev_get_tx_queue(dev, queue));
}

/* False for noqueue: then a full ring cannot push back and the frame is dropped. */
bool rvnet_tx_has_qdisc(struct net_device *dev, u16 queue)
{
	return !qdisc_txq_has_no_queue(netdev_get_tx_queue(dev, queue));
}

/* --- NAPI --- */

void rvnet_napi_add(struct net_device *dev, struct napi_struct *napi,
		    int (*poll)(struct napi_struct *, int))
{
	netif_napi_add(dev, napi, poll);
}

void rvnet_napi_del(struct napi_struct *napi)
{
	netif_napi_del(napi);
}

/*
 * Hands a received frame up, through GRO when @gro says it is worth it. GRO must own an
 * unshared, uncloned head (veth learned this the hard way: a cloned skb merged by GRO corrupts
 * the clone), so those go the plain way; so do GSO frames, which are aggregated already.
 * Returns true when GRO merged the frame into another.
 */
bool rvnet_napi_receive(struct napi_struct *napi, struct sk_buff *skb, bool gro)
{
	gro_result_t r;

	skb_prepare_for_gro(skb);
	if (!gro || skb_is_gso(skb) || skb_shared(skb) || skb_unclone(skb, GFP_ATOMIC)) {
		netif_receive_skb(skb);
		return false;
	}
	r = napi_gro_receive(napi, skb);
	return r == GRO_MERGED || r == GRO_MERGED_FREE;
}

/* --- sk_buff --- */

u16 rvnet_skb_queue_mapping(const struct sk_buff *skb)
{
	return skb_get_queue_mapping(skb);
}

bool rvnet_skb_is_gso(const struct sk_buff *skb)
{
	return skb_is_gso(skb);
}

/* Returns the list of segments, NULL if none were needed, or an ERR_PTR. */
struct sk_buff *rvnet_skb_gso_segment(struct sk_buff *skb, u64 features)
{
	return skb_gso_segment(skb, features);
}

/* Detaches and returns the next skb of a segment list. */
struct sk_buff *rvnet_skb_list_next(struct sk_buff *skb)
{
	struct sk_buff *next = skb->next;

	skb_mark_not_on_list(skb);
	return next;
}

/*
 * What __dev_forward_skb() does before the frame crosses to @rcv, without the freeing and
 * without eth_type_trans() (which rvnic does on the receive side, in the NAPI poll, as a NIC
 * would). The caller keeps the skb on failure.
 */
int rvnet_skb_forward_prepare(struct net_device *rcv, struct sk_buff *skb)
{
	if (!(rcv->flags & IFF_UP))
		return -ENETDOWN;
	if (!__is_skb_forwardable(rcv, skb, true))
		return -EMSGSIZE;
	if (skb_orphan_frags(skb, GFP_ATOMIC))
		return -ENOMEM;
	skb_scrub_packet(skb, !net_eq(dev_net(skb->dev), dev_net(rcv)));
	skb->priority = 0;
	return 0;
}

/* The receive side of a NIC: strip the Ethernet header and say what it carries. */
void rvnet_skb_rx_prepare(struct sk_buff *skb, struct net_device *dev)
{
	skb->protocol = eth_type_trans(skb, dev);
	skb_postpull_rcsum(skb, eth_hdr(skb), ETH_HLEN);
}

/* --- rtnetlink: the peer of a pair, as veth_newlink() makes it --- */

/* IFLA_INFO_DATA of a pair holds one attribute, the peer's ifinfomsg and IFLA_* attributes,
 * in the same layout as veth's VETH_INFO_PEER (so iproute2's veth parser can build it). */
#define RVNIC_INFO_PEER 1
#define RVNIC_INFO_MAX 1

static const struct nla_policy rvnic_policy[RVNIC_INFO_MAX + 1] = {
	[RVNIC_INFO_PEER] = { .len = sizeof(struct ifinfomsg) },
};

static struct ifinfomsg *peer_ifinfo(struct rtnl_newlink_params *params, struct nlattr **tb,
				     struct netlink_ext_ack *extack)
{
	struct nlattr **data = params->data;

	if (data && data[RVNIC_INFO_PEER]) {
		if (tb && rtnl_nla_parse_ifinfomsg(tb, data[RVNIC_INFO_PEER], extack) < 0)
			return NULL;
		return nla_data(data[RVNIC_INFO_PEER]);
	}
	return NULL;
}

struct net_device *rvnet_rtnl_create_peer(struct net_device *dev,
					  struct rtnl_newlink_params *params,
					  const struct rtnl_link_ops *ops,
					  struct netlink_ext_ack *extack)
{
	struct nlattr *peer_tb[IFLA_MAX + 1] = { NULL }, **tbp = params->tb;
	unsigned char name_assign_type;
	struct ifinfomsg *ifmp;
	char ifname[IFNAMSIZ];
	struct net_device *peer;

	ifmp = peer_ifinfo(params, peer_tb, extack);
	if (ifmp)
		tbp = peer_tb;
	if (ifmp && tbp[IFLA_IFNAME]) {
		nla_strscpy(ifname, tbp[IFLA_IFNAME], IFNAMSIZ);
		name_assign_type = NET_NAME_USER;
	} else {
		snprintf(ifname, IFNAMSIZ, "%s%%d", ops->kind);
		name_assign_type = NET_NAME_ENUM;
	}
	peer = rtnl_create_link(rtnl_newlink_peer_net(params), ifname, name_assign_type, ops,
				tbp, extack);
	if (IS_ERR(peer))
		return peer;
	if (!ifmp || !tbp[IFLA_ADDRESS])
		eth_hw_addr_random(peer);
	if (ifmp && dev->ifindex)
		peer->ifindex = ifmp->ifi_index;
	netif_inherit_tso_max(peer, dev);
	return peer;
}

/*
 * Registers the peer. On failure the peer is gone: freed if it never registered (after its
 * private state, since register_netdevice() skips priv_destructor on early failures such as
 * a name that is taken), unregistered (and freed by the core) if configuring it failed.
 */
int rvnet_rtnl_register_peer(struct net_device *peer, struct rtnl_newlink_params *params)
{
	int err = register_netdevice(peer);

	if (err < 0) {
		/* The destructor is idempotent: it may have run already. */
		if (peer->priv_destructor)
			peer->priv_destructor(peer);
		free_netdev(peer);
		return err;
	}
	netif_carrier_off(peer);
	err = rtnl_configure_link(peer, peer_ifinfo(params, NULL, NULL), 0, NULL);
	if (err < 0)
		unregister_netdevice(peer);
	return err;
}

int rvnet_rtnl_register_dev(struct net_device *dev, struct rtnl_newlink_params *params)
{
	int err;

	if (!params->tb[IFLA_ADDRESS])
		eth_hw_addr_random(dev);
	err = register_netdevice(dev);
	if (err < 0)
		return err;
	netif_carrier_off(dev);
	return 0;
}

/* The netlink policy: an nla_policy array is easiest written in C. */
void rvnet_link_ops_init(struct rtnl_link_ops *ops)
{
	ops->policy = rvnic_policy;
	ops->maxtype = RVNIC_INFO_MAX;
}

/*
 * Creates one pair in the initial namespace with default names, as `ip link add type KIND`
 * would: for the module's pairs= parameter. Takes RTNL.
 */
int rvnet_rtnl_create_default(const struct rtnl_link_ops *ops)
{
	struct nlattr *tb[IFLA_MAX + 1] = { NULL };
	struct rtnl_newlink_params params = { .src_net = &init_net, .tb = tb };
	struct net_device *dev;
	char name[IFNAMSIZ];
	int err;

	snprintf(name, IFNAMSIZ, "%s%%d", ops->kind);
	rtnl_lock();
	dev = rtnl_create_link(&init_net, name, NET_NAME_ENUM, ops, tb, NULL);
	if (IS_ERR(dev)) {
		err = PTR_ERR(dev);
		goto out;
	}
	err = ops->newlink(dev, &params, NULL);
	if (err < 0) {
		free_netdev(dev);
		goto out;
	}
	err = rtnl_configure_link(dev, NULL, 0, NULL);
	if (err < 0) {
		LIST_HEAD(list_kill);

		ops->dellink(dev, &list_kill);
		unregister_netdevice_many(&list_kill);
	}
out:
	rtnl_unlock();
	return err;
}

/* local_bh_disable() is a static inline: process-context users of locks the data path takes. */
void rvnet_local_bh_disable(void)
{
	local_bh_disable();
}

void rvnet_local_bh_enable(void)
{
	local_bh_enable();
}
