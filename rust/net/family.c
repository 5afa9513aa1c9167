// SPDX-License-Identifier: GPL-2.0
/*
 * rvnet C shims for the AF_RVNET socket family: the C tables the core wants (struct proto,
 * net_proto_family, pernet_operations, a netdevice notifier, /proc/net/rvnet) and the few
 * operations that are pure sk_buff and sock plumbing, written as af_packet.c writes them
 * (create, release, recvmsg, the receive-handler trampoline). Every protocol decision is made
 * in Rust, through the callbacks of struct rvnet_family_ops that rust/net/sock.rs fills.
 */
#include <linux/capability.h>
#include <linux/if_arp.h>
#include <linux/if_vlan.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/netdevice.h>
#include <linux/proc_fs.h>
#include <linux/rtnetlink.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>
#include <net/gso.h>
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

/* A socket: the kernel's sock, then one pointer to the Rust per-socket state. */
struct rvnet_sock {
	struct sock sk;
	void *state;
};

/* What the receive path leaves in skb->cb for recvmsg: the sender's address and port. */
struct rvnet_skb_cb {
	__be32 saddr;
	__be16 sport;
};

#define RVNET_CB(skb) ((struct rvnet_skb_cb *)(skb)->cb)

/* Per network namespace: the Rust stack, its timer and its /proc/net/rvnet directory. */
struct rvnet_net {
	void *state;
	struct delayed_work tick;
	struct proc_dir_entry *proc;
};

static const struct rvnet_family_ops *fops;
static const struct proto_ops *dgram_ops, *raw_ops;
static unsigned int rvnet_net_id;

static struct proto rvnet_proto = {
	.name = "RVNET",
	.owner = THIS_MODULE,
	.obj_size = sizeof(struct rvnet_sock),
};

void *rvnet_sk_state(const struct sock *sk)
{
	return ((const struct rvnet_sock *)sk)->state;
}

void *rvnet_net_state(const struct net *net)
{
	return ((struct rvnet_net *)net_generic(net, rvnet_net_id))->state;
}

struct sock *rvnet_socket_sk(const struct socket *sock)
{
	return sock->sk;
}

static void rvnet_sk_destruct(struct sock *sk)
{
	skb_queue_purge(&sk->sk_receive_queue);
	if (fops && rvnet_sk_state(sk))
		fops->sock_free(rvnet_sk_state(sk));
	((struct rvnet_sock *)sk)->state = NULL;
}

static int rvnet_create(struct net *net, struct socket *sock, int protocol, int kern)
{
	void *net_state = rvnet_net_state(net);
	const struct proto_ops *ops;
	struct sock *sk;
	void *state;
	int err;

	if (sock->type == SOCK_DGRAM)
		ops = dgram_ops;
	else if (sock->type == SOCK_RAW)
		ops = raw_ops;
	else
		return -ESOCKTNOSUPPORT;
	if (!net_state)
		return -ENOMEM;
	/* Rust checks the protocol and the capability (CAP_NET_RAW in the namespace's user
	 * namespace, as inet_create asks), and allocates the per-socket state. */
	if (sock->type == SOCK_DGRAM && protocol == 0)
		protocol = IPPROTO_UDP;
	state = fops->sock_new(net_state, sock->type, protocol,
			       sock->type != SOCK_RAW || kern ||
			       ns_capable(net->user_ns, CAP_NET_RAW), &err);
	if (!state)
		return err;
	sk = sk_alloc(net, family, GFP_KERNEL, &rvnet_proto, kern);
	if (!sk) {
		fops->sock_free(state);
		return -ENOBUFS;
	}
	sock->ops = ops;
	sock_init_data(sock, sk);
	((struct rvnet_sock *)sk)->state = state;
	sk->sk_family = family;
	sk->sk_protocol = protocol;
	sk->sk_destruct = rvnet_sk_destruct;
	fops->sock_init(net_state, sk);
	return 0;
}

/* proto_ops.release: Rust unhashes the socket, then the sock is orphaned and put. */
int rvnet_sock_release(struct socket *sock)
{
	struct sock *sk = sock->sk;

	if (!sk)
		return 0;
	fops->sock_release(rvnet_net_state(sock_net(sk)), sk, rvnet_sk_state(sk));
	lock_sock(sk);
	sock_orphan(sk);
	sock->sk = NULL;
	release_sock(sk);
	skb_queue_purge(&sk->sk_receive_queue);
	sock_put(sk);
	return 0;
}

/*
 * proto_ops.recvmsg, as packet_recvmsg and udp_recvmsg do it: skb_recv_datagram() waits
 * (honouring MSG_DONTWAIT, SO_RCVTIMEO, signals and shutdown), MSG_PEEK leaves the datagram
 * queued, MSG_TRUNC returns its real length, and the sender's address comes from skb->cb.
 */
int rvnet_sock_recvmsg(struct socket *sock, struct msghdr *msg, size_t len, int flags)
{
	DECLARE_SOCKADDR(struct sockaddr_in *, sin, msg->msg_name);
	struct sock *sk = sock->sk;
	struct sk_buff *skb;
	size_t copied;
	int err;

	if (flags & ~(MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_COMPAT | MSG_WAITALL |
		      MSG_ERRQUEUE | MSG_CMSG_CLOEXEC | MSG_NOSIGNAL))
		return -EOPNOTSUPP;
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;
	skb = skb_recv_datagram(sk, flags, &err);
	if (!skb)
		return err;
	copied = skb->len;
	if (copied > len) {
		copied = len;
		msg->msg_flags |= MSG_TRUNC;
	}
	err = skb_copy_datagram_msg(skb, 0, msg, copied);
	if (err)
		goto out;
	sock_recv_cmsgs(msg, sk, skb);
	if (sin) {
		sin->sin_family = family;
		sin->sin_port = RVNET_CB(skb)->sport;
		sin->sin_addr.s_addr = RVNET_CB(skb)->saddr;
		memset(sin->sin_zero, 0, sizeof(sin->sin_zero));
		msg->msg_namelen = sizeof(*sin);
	}
	err = (flags & MSG_TRUNC) ? skb->len : copied;
out:
	skb_free_datagram(sk, skb);
	return err;
}

static const struct net_proto_family rvnet_family_ops_c = {
	.family = 19, /* replaced by the parameter before registration (see below) */
	.create = rvnet_create,
	.owner = THIS_MODULE,
};

static struct net_proto_family rvnet_pf;

/* --- the receive handler: frames arriving on attached devices --- */

static rx_handler_result_t rvnet_rx_handler(struct sk_buff **pskb)
{
	struct sk_buff *skb = *pskb;
	void *state = rcu_dereference(skb->dev->rx_handler_data);

	/* A tag no VLAN device took means the frame is for another VLAN: Linux's own IP
	 * would mark it PACKET_OTHERHOST. */
	if (skb->pkt_type == PACKET_LOOPBACK || !state || skb_vlan_tag_present(skb))
		return RX_HANDLER_PASS;
	skb = skb_share_check(skb, GFP_ATOMIC);
	if (!skb)
		return RX_HANDLER_CONSUMED;
	*pskb = skb;
	/* As ip_rcv_core: a frame from a socket in the peer namespace must not stay charged to
	 * (and report errors to) that socket. */
	skb_orphan(skb);
	skb = fops->rx(state, skb);
	if (!skb)
		return RX_HANDLER_CONSUMED;
	*pskb = skb;
	return RX_HANDLER_PASS;
}

/* Takes RTNL. The device's receive handler then hands its frames to @state first. */
int rvnet_rx_attach(struct net_device *dev, void *state)
{
	int err;

	ASSERT_RTNL();
	err = netdev_rx_handler_register(dev, rvnet_rx_handler, state);
	return err;
}

void rvnet_rx_detach(struct net_device *dev)
{
	ASSERT_RTNL();
	if (rcu_access_pointer(dev->rx_handler) == rvnet_rx_handler)
		netdev_rx_handler_unregister(dev);
}

/* --- /proc/net/rvnet --- */

static int rvnet_proc_show(struct seq_file *seq, int which)
{
	struct net *net = seq->private;
	void *state = rvnet_net_state(net);

	return state ? fops->proc_show(state, which, seq) : 0;
}

#define RVNET_PROC_FILE(name, id)						\
	static int rvnet_show_##name(struct seq_file *seq, void *v)		\
	{									\
		return rvnet_proc_show(seq, id);				\
	}
RVNET_PROC_FILE(dev, RVNET_PROC_DEV)
RVNET_PROC_FILE(arp, RVNET_PROC_ARP)
RVNET_PROC_FILE(route, RVNET_PROC_ROUTE)
RVNET_PROC_FILE(sockets, RVNET_PROC_SOCKETS)
RVNET_PROC_FILE(stats, RVNET_PROC_STATS)

int rvnet_seq_write(struct seq_file *seq, const void *data, size_t len)
{
	return seq_write(seq, data, len);
}

/* --- per namespace --- */

static void rvnet_tick(struct work_struct *work)
{
	struct rvnet_net *rn = container_of(to_delayed_work(work), struct rvnet_net, tick);
	unsigned long ms = fops->net_tick(rn->state);

	schedule_delayed_work(&rn->tick, msecs_to_jiffies(clamp(ms, 10UL, 1000UL)));
}

static int __net_init rvnet_net_init(struct net *net)
{
	struct rvnet_net *rn = net_generic(net, rvnet_net_id);
	struct proc_dir_entry *dir;

	rn->state = fops->net_init(net);
	if (!rn->state)
		return -ENOMEM;
	dir = proc_net_mkdir(net, "rvnet", net->proc_net);
	if (dir) {
		proc_create_net_single("dev", 0444, dir, rvnet_show_dev, NULL);
		proc_create_net_single("arp", 0444, dir, rvnet_show_arp, NULL);
		proc_create_net_single("route", 0444, dir, rvnet_show_route, NULL);
		proc_create_net_single("sockets", 0444, dir, rvnet_show_sockets, NULL);
		proc_create_net_single("stats", 0444, dir, rvnet_show_stats, NULL);
	}
	rn->proc = dir;
	INIT_DELAYED_WORK(&rn->tick, rvnet_tick);
	schedule_delayed_work(&rn->tick, msecs_to_jiffies(100));
	return 0;
}

static void __net_exit rvnet_net_exit(struct net *net)
{
	struct rvnet_net *rn = net_generic(net, rvnet_net_id);
	void *state = rn->state;

	if (!state)
		return;
	cancel_delayed_work_sync(&rn->tick);
	if (rn->proc)
		proc_remove(rn->proc);
	rtnl_lock();
	fops->net_detach_all(state);
	rtnl_unlock();
	rn->state = NULL;
	synchronize_net();
	fops->net_free(state);
}

static struct pernet_operations rvnet_net_ops = {
	.init = rvnet_net_init,
	.exit = rvnet_net_exit,
	.id = &rvnet_net_id,
	.size = sizeof(struct rvnet_net),
};

/* --- device events: a device leaving the namespace or going away is detached --- */

static int rvnet_netdev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	void *state;

	if (event != NETDEV_UNREGISTER)
		return NOTIFY_DONE;
	state = rvnet_net_state(dev_net(dev));
	if (state)
		fops->netdev_unregister(state, dev);
	return NOTIFY_DONE;
}

static struct notifier_block rvnet_netdev_nb = {
	.notifier_call = rvnet_netdev_event,
};

int rvnet_family_register(const struct rvnet_family_ops *ops, const struct proto_ops *dgram,
			  const struct proto_ops *raw)
{
	int err;

	if (family <= 0 || family >= NPROTO)
		return -EINVAL;
	fops = ops;
	dgram_ops = dgram;
	raw_ops = raw;
	err = proto_register(&rvnet_proto, 1);
	if (err)
		return err;
	err = register_pernet_subsys(&rvnet_net_ops);
	if (err)
		goto out_proto;
	err = register_netdevice_notifier(&rvnet_netdev_nb);
	if (err)
		goto out_pernet;
	rvnet_pf = rvnet_family_ops_c;
	rvnet_pf.family = family;
	err = sock_register(&rvnet_pf);
	if (err)
		goto out_notifier;
	return 0;
out_notifier:
	unregister_netdevice_notifier(&rvnet_netdev_nb);
out_pernet:
	unregister_pernet_subsys(&rvnet_net_ops);
out_proto:
	proto_unregister(&rvnet_proto);
	return err;
}

void rvnet_family_unregister(void)
{
	sock_unregister(family);
	unregister_netdevice_notifier(&rvnet_netdev_nb);
	unregister_pernet_subsys(&rvnet_net_ops);
	proto_unregister(&rvnet_proto);
}

/* --- sk_buff and sock plumbing the Rust side calls --- */

void rvnet_skb_set_source(struct sk_buff *skb, __be32 saddr, __be16 sport)
{
	RVNET_CB(skb)->saddr = saddr;
	RVNET_CB(skb)->sport = sport;
}

/* Queues @skb on @sk's receive queue and wakes readers (sk_data_ready); charges SO_RCVBUF.
 * On error (the queue is full) the skb is still the caller's. */
int rvnet_sock_queue_rcv(struct sock *sk, struct sk_buff *skb)
{
	return sock_queue_rcv_skb(sk, skb);
}

struct sk_buff *rvnet_sock_alloc_send(struct sock *sk, unsigned int len, unsigned int headroom,
				      bool noblock, int *err)
{
	struct sk_buff *skb = sock_alloc_send_skb(sk, len + headroom, noblock, err);

	if (skb)
		skb_reserve(skb, headroom);
	return skb;
}

struct sk_buff *rvnet_alloc_skb(unsigned int len, unsigned int headroom)
{
	struct sk_buff *skb = alloc_skb(len + headroom, GFP_ATOMIC);

	if (skb)
		skb_reserve(skb, headroom);
	return skb;
}

/*
 * Frees @skb, then reports @err on the socket that sent it (a failed ARP resolution:
 * EHOSTUNREACH). In that order, so that a writer woken by the report finds its send buffer
 * already uncharged.
 */
void rvnet_skb_fail(struct sk_buff *skb, int err)
{
	struct sock *sk = skb->sk;

	/* A closed socket (no references left, only this skb's send-buffer charge keeping the
	 * memory) has nobody to tell: freeing the skb may free it. */
	if (!sk || !sk_fullsock(sk) || sk->sk_family != family ||
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

unsigned int rvnet_ll_headroom(const struct net_device *dev)
{
	return LL_RESERVED_SPACE(dev);
}

u8 rvnet_skb_pkt_type(const struct sk_buff *skb)
{
	return skb->pkt_type;
}

u16 rvnet_skb_protocol(const struct sk_buff *skb)
{
	return ntohs(skb->protocol);
}

int rvnet_skb_linearize(struct sk_buff *skb)
{
	return skb_linearize(skb);
}

void *rvnet_skb_data(const struct sk_buff *skb)
{
	return skb->data;
}

void *rvnet_skb_put(struct sk_buff *skb, unsigned int len)
{
	return skb_put(skb, len);
}

void *rvnet_skb_push(struct sk_buff *skb, unsigned int len)
{
	return skb_push(skb, len);
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

struct sk_buff *rvnet_skb_clone(struct sk_buff *skb)
{
	return skb_clone(skb, GFP_ATOMIC);
}

struct net_device *rvnet_skb_dev(const struct sk_buff *skb)
{
	return skb->dev;
}

int rvnet_memcpy_from_msg(void *data, struct msghdr *msg, int len)
{
	return memcpy_from_msg(data, msg, len);
}

bool rvnet_ns_capable(const struct sock *sk, int cap)
{
	return ns_capable(sock_net(sk)->user_ns, cap);
}

bool rvnet_net_capable(struct net *net, int cap)
{
	return ns_capable(net->user_ns, cap);
}

struct net *rvnet_sock_net(const struct sock *sk)
{
	return sock_net(sk);
}

u64 rvnet_now_ms(void)
{
	return ktime_get_boottime_ns() / NSEC_PER_MSEC;
}

void rvnet_rtnl_lock(void)
{
	rtnl_lock();
}

void rvnet_rtnl_unlock(void)
{
	rtnl_unlock();
}

void rvnet_sock_hold(struct sock *sk)
{
	sock_hold(sk);
}

void rvnet_sock_put(struct sock *sk)
{
	sock_put(sk);
}

u32 rvnet_sock_rmem(const struct sock *sk)
{
	return sk_rmem_alloc_get(sk);
}

u32 rvnet_sock_rcvbuf(const struct sock *sk)
{
	return READ_ONCE(sk->sk_rcvbuf);
}

u32 rvnet_sock_drops(const struct sock *sk)
{
	return sk_drops_read(sk);
}

int rvnet_sock_bound_dev(const struct sock *sk)
{
	return READ_ONCE(sk->sk_bound_dev_if);
}


void rvnet_sock_shutdown(struct sock *sk, int how)
{
	lock_sock(sk);
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | how);
	release_sock(sk);
	sk->sk_state_change(sk);
}

int rvnet_sock_take_error(struct sock *sk)
{
	return sock_error(sk);
}

const char *rvnet_netdev_name(const struct net_device *dev)
{
	return dev->name;
}

const u8 *rvnet_netdev_addr(const struct net_device *dev)
{
	return dev->dev_addr;
}

unsigned int rvnet_netdev_mtu(const struct net_device *dev)
{
	return READ_ONCE(dev->mtu);
}

bool rvnet_netdev_is_ether(const struct net_device *dev)
{
	return dev->type == ARPHRD_ETHER && dev->addr_len == ETH_ALEN;
}

struct net_device *rvnet_dev_get_by_index(struct net *net, int ifindex)
{
	return dev_get_by_index(net, ifindex);
}

void rvnet_dev_put(struct net_device *dev)
{
	dev_put(dev);
}

void rvnet_dev_hold(struct net_device *dev)
{
	dev_hold(dev);
}

int rvnet_copy_from_sockptr(void *dst, const sockptr_t *src, size_t len)
{
	return copy_from_sockptr(dst, *src, len) ? -EFAULT : 0;
}

/* True when the checksums need no software check: the sender's stack left them to a NIC
 * (CHECKSUM_PARTIAL, as across a virtual link) or the NIC verified them. */
bool rvnet_skb_csum_trusted(const struct sk_buff *skb)
{
	return skb->ip_summed == CHECKSUM_PARTIAL || skb->ip_summed == CHECKSUM_UNNECESSARY;
}

/* A socket of this family in the initial namespace, as the kernel itself would open one
 * (KUnit uses it to exercise the receive queue). */
int rvnet_kernel_socket(int type, struct socket **res)
{
	return sock_create_kern(&init_net, family, type, 0, res);
}

void rvnet_kernel_socket_release(struct socket *sock)
{
	sock_release(sock);
}

void rvnet_sock_set_rcvbuf(struct sock *sk, int val)
{
	sock_set_rcvbuf(sk, val);
}

void *rvnet_init_net_state(void)
{
	return rvnet_net_state(&init_net);
}

void rvnet_skb_set_protocol(struct sk_buff *skb, u16 proto)
{
	skb->protocol = htons(proto);
}

/* An asynchronous error on @sk (ICMP port unreachable for a connected socket): the next
 * send or receive returns it, and poll reports EPOLLERR. */
void rvnet_sock_report_error(struct sock *sk, int err)
{
	WRITE_ONCE(sk->sk_err, err);
	sk_error_report(sk);
}

/* Leaves the UDP checksum to the device (@start: the UDP header's offset from skb->data,
 * @offset: the checksum field's within it), as udp4_hwcsum does. */
void rvnet_skb_set_csum_partial(struct sk_buff *skb, u16 start, u16 offset)
{
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = skb_headroom(skb) + start;
	skb->csum_offset = offset;
}

/* Finishes a checksum left to the device before the frame is cut or copied elsewhere. */
int rvnet_skb_checksum_help(struct sk_buff *skb)
{
	return skb->ip_summed == CHECKSUM_PARTIAL ? skb_checksum_help(skb) : 0;
}

/* True when the first @len bytes are in the linear part (pulling them in if needed). */
bool rvnet_skb_may_pull(struct sk_buff *skb, unsigned int len)
{
	return pskb_may_pull(skb, len);
}

/* Makes the data private to this skb (a tap may share it) with @headroom in front, before
 * the forward path rewrites the header, as ip_forward does. */
int rvnet_skb_cow(struct sk_buff *skb, unsigned int headroom)
{
	return skb_cow(skb, headroom);
}

/* A forwarded frame's CHECKSUM_COMPLETE value describes the received frame, not the sent. */
void rvnet_skb_forward_csum(struct sk_buff *skb)
{
	skb_forward_csum(skb);
}

/* True if every segment of a GSO frame fits @mtu at the network layer. */
bool rvnet_skb_gso_fits(const struct sk_buff *skb, unsigned int mtu)
{
	return skb_gso_validate_network_len(skb, mtu);
}
