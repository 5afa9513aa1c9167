/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rvnet C shims: the few things Rust cannot reach through the generated bindings, each a
 * static inline function, a macro, a bitfield, or netlink attribute plumbing. The Rust side
 * declares these in rust/net/ffi.rs and nowhere else.
 */
#ifndef RVNET_HELPERS_H
#define RVNET_HELPERS_H

#include <linux/types.h>

struct net_device;
struct sk_buff;
struct napi_struct;
struct rtnl_newlink_params;
struct netlink_ext_ack;
struct rtnl_link_ops;

unsigned int rvnet_param_selftest(void);
unsigned int rvnet_param_pairs(void);

/* net_device */
void *rvnet_netdev_priv(const struct net_device *dev);
void rvnet_netdev_setup_ether(struct net_device *dev, u32 priv_flags_set, u32 priv_flags_clear);
void rvnet_tx_stop(struct net_device *dev, u16 queue);
void rvnet_tx_wake(struct net_device *dev, u16 queue);
bool rvnet_tx_stopped(struct net_device *dev, u16 queue);
bool rvnet_tx_has_qdisc(struct net_device *dev, u16 queue);

/* NAPI */
void rvnet_napi_add(struct net_device *dev, struct napi_struct *napi,
		    int (*poll)(struct napi_struct *, int));
void rvnet_napi_del(struct napi_struct *napi);
bool rvnet_napi_receive(struct napi_struct *napi, struct sk_buff *skb, bool gro);

/* sk_buff */
u16 rvnet_skb_queue_mapping(const struct sk_buff *skb);
bool rvnet_skb_is_gso(const struct sk_buff *skb);
struct sk_buff *rvnet_skb_gso_segment(struct sk_buff *skb, u64 features);
struct sk_buff *rvnet_skb_list_next(struct sk_buff *skb);
int rvnet_skb_forward_prepare(struct net_device *rcv, struct sk_buff *skb);
void rvnet_skb_rx_prepare(struct sk_buff *skb, struct net_device *dev);

/* rtnetlink: creating the peer of a pair */
struct net_device *rvnet_rtnl_create_peer(struct net_device *dev,
					  struct rtnl_newlink_params *params,
					  const struct rtnl_link_ops *ops,
					  struct netlink_ext_ack *extack);
int rvnet_rtnl_register_peer(struct net_device *peer, struct rtnl_newlink_params *params);
int rvnet_rtnl_register_dev(struct net_device *dev, struct rtnl_newlink_params *params);
void rvnet_link_ops_init(struct rtnl_link_ops *ops);
int rvnet_rtnl_create_default(const struct rtnl_link_ops *ops);

void rvnet_local_bh_disable(void);
void rvnet_local_bh_enable(void);

/* --- AF_RVNET (family.c) --- */
struct sock;
struct socket;
struct net;
struct msghdr;
struct seq_file;
struct proto_ops;

enum rvnet_proc_file {
	RVNET_PROC_DEV = 0,
	RVNET_PROC_ARP = 1,
	RVNET_PROC_ROUTE = 2,
	RVNET_PROC_SOCKETS = 3,
	RVNET_PROC_STATS = 4,
};

/*
 * The Rust side of the family (rust/net/sock.rs fills it). "net state" is the per-namespace
 * stack, "sock state" the per-socket state; both are opaque to C.
 */
struct rvnet_family_ops {
	void *(*net_init)(struct net *net);
	void (*net_detach_all)(void *net_state);		/* RTNL held */
	void (*net_free)(void *net_state);
	unsigned long (*net_tick)(void *net_state);		/* returns ms to the next tick */
	int (*proc_show)(void *net_state, int file, struct seq_file *seq);
	void (*netdev_unregister)(void *net_state, struct net_device *dev); /* RTNL held */
	struct sk_buff *(*rx)(void *net_state, struct sk_buff *skb); /* NULL: consumed */
	void *(*sock_new)(void *net_state, int type, int protocol, int may_raw, int *err);
	void (*sock_init)(void *net_state, struct sock *sk);
	void (*sock_release)(void *net_state, struct sock *sk, void *sock_state);
	void (*sock_free)(void *sock_state);
};

int rvnet_param_family(void);
int rvnet_family_register(const struct rvnet_family_ops *ops, const struct proto_ops *dgram,
			  const struct proto_ops *raw);
void rvnet_family_unregister(void);
void *rvnet_sk_state(const struct sock *sk);
void *rvnet_net_state(const struct net *net);
struct sock *rvnet_socket_sk(const struct socket *sock);
int rvnet_sock_release(struct socket *sock);
int rvnet_sock_recvmsg(struct socket *sock, struct msghdr *msg, size_t len, int flags);
int rvnet_rx_attach(struct net_device *dev, void *state);
void rvnet_rx_detach(struct net_device *dev);
int rvnet_seq_write(struct seq_file *seq, const void *data, size_t len);
void rvnet_skb_set_source(struct sk_buff *skb, __be32 saddr, __be16 sport);
int rvnet_sock_queue_rcv(struct sock *sk, struct sk_buff *skb);
struct sk_buff *rvnet_sock_alloc_send(struct sock *sk, unsigned int len, unsigned int headroom,
				      bool noblock, int *err);
struct sk_buff *rvnet_alloc_skb(unsigned int len, unsigned int headroom);
void rvnet_skb_fail(struct sk_buff *skb, int err);
int rvnet_xmit(struct sk_buff *skb, struct net_device *dev, const u8 *dst, u16 proto);
unsigned int rvnet_ll_headroom(const struct net_device *dev);
u8 rvnet_skb_pkt_type(const struct sk_buff *skb);
u16 rvnet_skb_protocol(const struct sk_buff *skb);
int rvnet_skb_linearize(struct sk_buff *skb);
void *rvnet_skb_data(const struct sk_buff *skb);
void *rvnet_skb_put(struct sk_buff *skb, unsigned int len);
void *rvnet_skb_push(struct sk_buff *skb, unsigned int len);
void rvnet_skb_pull(struct sk_buff *skb, unsigned int len);
int rvnet_skb_trim(struct sk_buff *skb, unsigned int len);
struct sk_buff *rvnet_skb_clone(struct sk_buff *skb);
struct net_device *rvnet_skb_dev(const struct sk_buff *skb);
int rvnet_memcpy_from_msg(void *data, struct msghdr *msg, int len);
bool rvnet_ns_capable(const struct sock *sk, int cap);
bool rvnet_net_capable(struct net *net, int cap);
struct net *rvnet_sock_net(const struct sock *sk);
u64 rvnet_now_ms(void);
void rvnet_rtnl_lock(void);
void rvnet_rtnl_unlock(void);
void rvnet_sock_hold(struct sock *sk);
void rvnet_sock_put(struct sock *sk);
u32 rvnet_sock_rmem(const struct sock *sk);
u32 rvnet_sock_rcvbuf(const struct sock *sk);
u32 rvnet_sock_drops(const struct sock *sk);
int rvnet_sock_bound_dev(const struct sock *sk);
void rvnet_sock_shutdown(struct sock *sk, int how);
int rvnet_sock_take_error(struct sock *sk);
const char *rvnet_netdev_name(const struct net_device *dev);
const u8 *rvnet_netdev_addr(const struct net_device *dev);
unsigned int rvnet_netdev_mtu(const struct net_device *dev);
bool rvnet_netdev_is_ether(const struct net_device *dev);
struct net_device *rvnet_dev_get_by_index(struct net *net, int ifindex);
void rvnet_dev_put(struct net_device *dev);
void rvnet_dev_hold(struct net_device *dev);
#include <linux/sockptr.h>
bool rvnet_skb_csum_trusted(const struct sk_buff *skb);
int rvnet_kernel_socket(int type, struct socket **res);
void rvnet_kernel_socket_release(struct socket *sock);
void rvnet_sock_set_rcvbuf(struct sock *sk, int val);
void *rvnet_init_net_state(void);
void rvnet_skb_set_protocol(struct sk_buff *skb, u16 proto);
void rvnet_sock_report_error(struct sock *sk, int err);
void rvnet_skb_set_csum_partial(struct sk_buff *skb, u16 start, u16 offset);
int rvnet_skb_checksum_help(struct sk_buff *skb);
bool rvnet_skb_may_pull(struct sk_buff *skb, unsigned int len);
int rvnet_skb_cow(struct sk_buff *skb, unsigned int headroom);
void rvnet_skb_forward_csum(struct sk_buff *skb);
bool rvnet_skb_gso_fits(const struct sk_buff *skb, unsigned int mtu);
int rvnet_copy_from_sockptr(void *dst, const sockptr_t *src, size_t len);

#endif
