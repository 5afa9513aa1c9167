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
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
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

/* Bitfields of sk_buff (pkt_type, ip_summed) and fields inside its anonymous unions (dev,
 * csum_start): bindgen reaches them only through accessors that change with the layout. */
u8 rvnet_skb_pkt_type(const struct sk_buff *skb)
{
	return skb->pkt_type;
}

struct net_device *rvnet_skb_dev(const struct sk_buff *skb)
{
	return skb->dev;
}

u16 rvnet_skb_protocol(const struct sk_buff *skb)
{
	return ntohs(skb->protocol);
}

void rvnet_skb_set_protocol(struct sk_buff *skb, u16 proto)
{
	skb->protocol = htons(proto);
}

/* True when the checksums need no software check: the sender's stack left them to a NIC
 * (CHECKSUM_PARTIAL, as across a virtual link) or the NIC verified them. */
bool rvnet_skb_csum_trusted(const struct sk_buff *skb)
{
	return skb->ip_summed == CHECKSUM_PARTIAL || skb->ip_summed == CHECKSUM_UNNECESSARY;
}

/* Leaves the UDP checksum to the device (@start: the UDP header's offset from skb->data,
 * @offset: the checksum field's within it), as udp4_hwcsum does. */
void rvnet_skb_set_csum_partial(struct sk_buff *skb, u16 start, u16 offset)
{
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = skb_headroom(skb) + start;
	skb->csum_offset = offset;
}

/* Static inlines of skbuff.h. */
int rvnet_skb_linearize(struct sk_buff *skb)
{
	return skb_linearize(skb);
}

void rvnet_skb_pull(struct sk_buff *skb, unsigned int len)
{
	if (len <= skb_headlen(skb))
		__skb_pull(skb, len);
}

int rvnet_skb_trim(struct sk_buff *skb, unsigned int len)
{
	return pskb_trim_rcsum(skb, len);
}

int rvnet_skb_checksum_help(struct sk_buff *skb)
{
	return skb->ip_summed == CHECKSUM_PARTIAL ? skb_checksum_help(skb) : 0;
}

bool rvnet_skb_may_pull(struct sk_buff *skb, unsigned int len)
{
	return pskb_may_pull(skb, len);
}

int rvnet_skb_cow(struct sk_buff *skb, unsigned int headroom)
{
	return skb_cow(skb, headroom);
}

void rvnet_skb_forward_csum(struct sk_buff *skb)
{
	skb_forward_csum(skb);
}

bool rvnet_skb_gso_fits(const struct sk_buff *skb, unsigned int mtu)
{
	return skb_gso_validate_network_len(skb, mtu);
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
