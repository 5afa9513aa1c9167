// SPDX-License-Identifier: GPL-2.0
/*
 * C shims for the AF_RVNET socket family, whose kernel objects are built in Rust
 * (rust/net/{proto,socket,namespace,rx_handler,seq_file}.rs). Left here: a module parameter
 * and the protocol alias (macros), members of struct sock and struct net that bindgen
 * misplaces (see layout.c), and static inlines of sock.h, skbuff.h, netdevice.h and, for
 * rust/net/genl.rs, genetlink.h (those last reach net->genl_sock).
 */
#include <linux/if_vlan.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <net/genetlink.h>
#include <net/netns/generic.h>
#include <net/sock.h>

#include "helpers.h"

/* AF_ECONET: mainline keeps the number but no longer registers a family under it. */
static int family = 19;
module_param(family, int, 0444);
MODULE_PARM_DESC(family, "Protocol family number of AF_RVNET (default 19, AF_ECONET's)");
MODULE_ALIAS_NETPROTO(19);

int rvnet_param_family(void)
{
	return READ_ONCE(family);
}

/* A socket: the kernel's sock, then one pointer to the Rust state. Rust may use neither
 * sizeof(struct sock) nor its members past the group bindgen misaligns. */
struct rvnet_sock {
	struct sock sk;
	void *state;
};

unsigned int rvnet_sock_obj_size(void)
{
	return sizeof(struct rvnet_sock);
}

void **rvnet_sk_state(struct sock *sk)
{
	return &((struct rvnet_sock *)sk)->state;
}

void rvnet_sock_setup(struct sock *sk, int protocol, void (*destruct)(struct sock *))
{
	sk->sk_family = READ_ONCE(family);
	sk->sk_protocol = protocol;
	sk->sk_destruct = destruct;
}

/* As inet_shutdown marks a socket (lock_sock() is a static inline). */
void rvnet_sock_shutdown(struct sock *sk, int how)
{
	lock_sock(sk);
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | how);
	release_sock(sk);
	sk->sk_state_change(sk);
}

struct proc_dir_entry *rvnet_proc_net_mkdir(struct net *net, const char *name)
{
	return proc_net_mkdir(net, name, net->proc_net);
}

void *rvnet_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

/* A macro with a lock class of its own; the kernel crate's DelayedWork queues
 * reference-counted items and has no cancel for pernet state. */
void rvnet_init_delayed_work(struct delayed_work *work, work_func_t func)
{
	INIT_DELAYED_WORK(work, func);
}

/* Not our own looped-back frame, and no VLAN tag that no VLAN device took (Linux would mark
 * the frame PACKET_OTHERHOST): a bitfield and a macro. */
bool rvnet_rx_wanted(const struct sk_buff *skb)
{
	return skb->pkt_type != PACKET_LOOPBACK && !skb_vlan_tag_present(skb);
}

/* NULL: the frame was freed. */
struct sk_buff *rvnet_skb_unshare_orphan(struct sk_buff *skb)
{
	skb = skb_share_check(skb, GFP_ATOMIC);
	if (skb)
		skb_orphan(skb);
	return skb;
}

void rvnet_sock_orphan(struct sock *sk)
{
	sock_orphan(sk);
}

void rvnet_sock_recv_cmsgs(struct msghdr *msg, struct sock *sk, struct sk_buff *skb)
{
	sock_recv_cmsgs(msg, sk, skb);
}

struct sk_buff *rvnet_sock_alloc_send(struct sock *sk, unsigned int len, unsigned int headroom,
				      bool noblock, int *err)
{
	struct sk_buff *skb = sock_alloc_send_skb(sk, len + headroom, noblock, err);

	if (skb)
		skb_reserve(skb, headroom);
	return skb;
}

/* Frees @skb, then reports @err on the socket that sent it (a failed ARP resolution), in
 * that order, so that a writer woken by the report finds its send buffer uncharged. A closed
 * socket (only this skb's charge keeping its memory) has nobody to tell. */
void rvnet_skb_fail(struct sk_buff *skb, int err)
{
	struct sock *sk = skb->sk;

	if (!sk || !sk_fullsock(sk) || sk->sk_family != READ_ONCE(family) ||
	    !refcount_inc_not_zero(&sk->sk_refcnt)) {
		kfree_skb_reason(skb, SKB_DROP_REASON_NEIGH_FAILED);
		return;
	}
	kfree_skb_reason(skb, SKB_DROP_REASON_NEIGH_FAILED);
	WRITE_ONCE(sk->sk_err, err);
	sk_error_report(sk);
	sock_put(sk);
}

/* Adds the Ethernet header and queues @skb (data at the IP or ARP header) on @dev. */
int rvnet_xmit(struct sk_buff *skb, struct net_device *dev, const u8 *dst, u16 proto)
{
	skb_reset_network_header(skb);
	skb->dev = dev;
	skb->protocol = htons(proto);
	if (skb_cow_head(skb, LL_RESERVED_SPACE(dev)) ||
	    dev_hard_header(skb, dev, proto, dst, dev->dev_addr, skb->len) < 0) {
		kfree_skb(skb);
		return -ENOBUFS;
	}
	return dev_queue_xmit(skb);
}

/* sockptr_t's is_kernel is a bitfield. */
int rvnet_copy_from_sockptr(void *dst, const sockptr_t *src, size_t len)
{
	return copy_from_sockptr(dst, *src, len) ? -EFAULT : 0;
}

u32 rvnet_sock_drops(const struct sock *sk)
{
	return sk_drops_read(sk);
}

/* A per-CPU counter and a reference tracker. */
void rvnet_dev_put(struct net_device *dev)
{
	dev_put(dev);
}

void rvnet_dev_hold(struct net_device *dev)
{
	dev_hold(dev);
}


/* --- generic netlink --- */

/* netnsok and parallel_ops are bitfields. */
int rvnet_genl_register(struct genl_family *family)
{
	family->netnsok = 1;
	family->parallel_ops = 1;
	return genl_register_family(family);
}

/* NLMSG_GOODSIZE is a macro over the skb_shared_info's aligned size. */
struct sk_buff *rvnet_genlmsg_new(void)
{
	return genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
}

int rvnet_genlmsg_reply(struct sk_buff *skb, struct genl_info *info)
{
	return genlmsg_reply(skb, info);
}

bool rvnet_genl_has_listeners(const struct genl_family *family, struct net *net, u32 group)
{
	return genl_has_listeners(family, net, group) > 0;
}

/* Called under rcu_read_lock(), hence GFP_ATOMIC. */
int rvnet_genl_multicast(const struct genl_family *family, struct net *net,
			 struct sk_buff *skb, u32 group)
{
	return genlmsg_multicast_netns(family, net, skb, 0, group, GFP_ATOMIC);
}
