// SPDX-License-Identifier: GPL-2.0
/*
 * rvnet C shims for net_device, NAPI and sk_buff (declared in helpers.h and ffi.rs): static
 * inlines, macros and bitfields that Rust cannot reach through the bindings, each a thin
 * wrapper; the decisions are made in Rust.
 *
 * The module parameters are here because Rust's module! macro registers every parameter with
 * permission 0 (never shown under /sys/module/rvnet/parameters), and has no MODULE_VERSION.
 */
#include <linux/etherdevice.h>
#include <linux/module.h>
#include <net/gso.h>
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

/* False for noqueue: then a full ring cannot push back and the frame is dropped. */
bool rvnet_tx_has_qdisc(struct net_device *dev, u16 queue)
{
	return !qdisc_txq_has_no_queue(netdev_get_tx_queue(dev, queue));
}

void rvnet_napi_add(struct net_device *dev, struct napi_struct *napi,
		    int (*poll)(struct napi_struct *, int))
{
	netif_napi_add(dev, napi, poll);
}

void rvnet_napi_del(struct napi_struct *napi)
{
	netif_napi_del(napi);
}

/* Hands a received frame up, through GRO when @gro says it is worth it; true when GRO merged
 * it. GRO must own an unshared, uncloned head (veth learned that a cloned skb merged by GRO
 * corrupts the clone), so those go the plain way, as do GSO frames. */
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

/* __dev_forward_skb() before the frame crosses to @rcv, without the freeing and without
 * eth_type_trans() (rvnic's NAPI poll does that, as a NIC would). On failure the caller keeps
 * the skb. */
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

/* Bitfields of sk_buff, which bindgen reaches only through accessors whose names change
 * with the layout. */
u8 rvnet_skb_pkt_type(const struct sk_buff *skb)
{
	return skb->pkt_type;
}

u8 rvnet_skb_ip_summed(const struct sk_buff *skb)
{
	return skb->ip_summed;
}

void rvnet_skb_set_ip_summed(struct sk_buff *skb, u8 v)
{
	skb->ip_summed = v;
}

/* skb_cow() reads the cloned bitfield. */
int rvnet_skb_cow(struct sk_buff *skb, unsigned int headroom)
{
	return skb_cow(skb, headroom);
}

/* For process-context users of locks the data path takes. */
void rvnet_local_bh_disable(void)
{
	local_bh_disable();
}

void rvnet_local_bh_enable(void)
{
	local_bh_enable();
}
