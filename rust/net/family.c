// SPDX-License-Identifier: GPL-2.0
/*
 * rvnet C shims for the AF_RVNET socket family. The family itself (net_proto_family, proto,
 * proto_ops, pernet operations, the netdevice notifier, the receive handler, recvmsg,
 * /proc/net/rvnet) is built in Rust, in rust/net/{proto,namespace,rx_handler,seq_file}.rs.
 * What is left here is what Rust cannot express: a module parameter and the protocol alias
 * (macros), and static inline functions of sock.h, skbuff.h and netdevice.h, each noted.
 */
#include <linux/if_vlan.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netdevice.h>
#include <linux/proc_fs.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
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

/*
 * A socket: the kernel's sock, then one pointer to the Rust state. Sized, laid out and
 * filled in here because bindgen's struct sock is 64 bytes shorter than the compiler's (it
 * drops the alignment of a cacheline group), so that Rust may use neither its size nor the
 * members past that group; rust/net/layout.rs checks the members Rust does use.
 */
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

/* proc_net_mkdir() is a static inline, and net->proc_net lies past a member bindgen
 * mislays (struct net, too, is shorter in the bindings than in C). */
struct proc_dir_entry *rvnet_proc_net_mkdir(struct net *net, const char *name)
{
	return proc_net_mkdir(net, name, net->proc_net);
}

/* net_generic() dereferences net->gen under RCU. */
void *rvnet_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

/* INIT_DELAYED_WORK() is a macro with a lock class of its own; the kernel crate's
 * DelayedWork queues reference-counted items and has no cancel for pernet state. */
void rvnet_init_delayed_work(struct delayed_work *work, work_func_t func)
{
	INIT_DELAYED_WORK(work, func);
}

/* The receive handler's data is RCU-protected (rcu_dereference()). */
void *rvnet_rx_handler_data(const struct sk_buff *skb)
{
	return rcu_dereference(skb->dev->rx_handler_data);
}

/* pkt_type is a bitfield and skb_vlan_tag_present() a macro: not our own looped-back frame,
 * and no VLAN tag that no VLAN device took (Linux would mark the frame PACKET_OTHERHOST). */
bool rvnet_rx_wanted(const struct sk_buff *skb)
{
	return skb->pkt_type != PACKET_LOOPBACK && !skb_vlan_tag_present(skb);
}

/* skb_share_check() and skb_orphan() are static inlines. NULL: the frame was freed. */
struct sk_buff *rvnet_skb_unshare_orphan(struct sk_buff *skb)
{
	skb = skb_share_check(skb, GFP_ATOMIC);
	if (skb)
		skb_orphan(skb);
	return skb;
}

/* sock_orphan() is a static inline (it takes sk_callback_lock). */
void rvnet_sock_orphan(struct sock *sk)
{
	sock_orphan(sk);
}

/* sock_recv_cmsgs() is a static inline over the socket's flag bits. */
void rvnet_sock_recv_cmsgs(struct msghdr *msg, struct sock *sk, struct sk_buff *skb)
{
	sock_recv_cmsgs(msg, sk, skb);
}

/* sock_alloc_send_skb() and skb_reserve() are static inlines. */
struct sk_buff *rvnet_sock_alloc_send(struct sock *sk, unsigned int len, unsigned int headroom,
				      bool noblock, int *err)
{
	struct sk_buff *skb = sock_alloc_send_skb(sk, len + headroom, noblock, err);

	if (skb)
		skb_reserve(skb, headroom);
	return skb;
}

/* alloc_skb() and skb_reserve() are static inlines. */
struct sk_buff *rvnet_alloc_skb(unsigned int len, unsigned int headroom)
{
	struct sk_buff *skb = alloc_skb(len + headroom, GFP_ATOMIC);

	if (skb)
		skb_reserve(skb, headroom);
	return skb;
}

/*
 * Frees @skb, then reports @err on the socket that sent it (a failed ARP resolution:
 * EHOSTUNREACH), in that order, so that a writer woken by the report finds its send buffer
 * already uncharged. sk_fullsock() and refcount_inc_not_zero() are static inlines.
 */
void rvnet_skb_fail(struct sk_buff *skb, int err)
{
	struct sock *sk = skb->sk;

	/* A closed socket (no references left, only this skb's send-buffer charge keeping the
	 * memory) has nobody to tell: freeing the skb may free it. */
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

/* dev_hard_header(), skb_cow_head() and LL_RESERVED_SPACE() are static inlines and a macro.
 * Adds the Ethernet header and queues @skb (data at the IP or ARP header) on @dev. */
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

unsigned int rvnet_ll_headroom(const struct net_device *dev)
{
	return LL_RESERVED_SPACE(dev);
}

/* memcpy_from_msg(), copy_from_sockptr(), sk_drops_read() and sock_error() are static
 * inlines. */
int rvnet_memcpy_from_msg(void *data, struct msghdr *msg, int len)
{
	return memcpy_from_msg(data, msg, len);
}

int rvnet_copy_from_sockptr(void *dst, const sockptr_t *src, size_t len)
{
	return copy_from_sockptr(dst, *src, len) ? -EFAULT : 0;
}

u32 rvnet_sock_drops(const struct sock *sk)
{
	return sk_drops_read(sk);
}

int rvnet_sock_take_error(struct sock *sk)
{
	return sock_error(sk);
}

/* dev_hold() and dev_put() are static inlines over a per-CPU counter. */
void rvnet_dev_put(struct net_device *dev)
{
	dev_put(dev);
}

void rvnet_dev_hold(struct net_device *dev)
{
	dev_hold(dev);
}
