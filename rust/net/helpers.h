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

unsigned int rvnet_param_selftest(void);
unsigned int rvnet_param_pairs(void);

/* net_device */
void rvnet_netdev_setup_ether(struct net_device *dev, u32 priv_flags_set, u32 priv_flags_clear);
void rvnet_tx_stop(struct net_device *dev, u16 queue);
void rvnet_tx_wake(struct net_device *dev, u16 queue);
bool rvnet_tx_has_qdisc(struct net_device *dev, u16 queue);

/* NAPI */
void rvnet_napi_add(struct net_device *dev, struct napi_struct *napi,
		    int (*poll)(struct napi_struct *, int));
void rvnet_napi_del(struct napi_struct *napi);
bool rvnet_napi_receive(struct napi_struct *napi, struct sk_buff *skb, bool gro);

/* sk_buff */
int rvnet_skb_forward_prepare(struct net_device *rcv, struct sk_buff *skb);
void rvnet_skb_rx_prepare(struct sk_buff *skb, struct net_device *dev);

void rvnet_local_bh_disable(void);
void rvnet_local_bh_enable(void);

u8 rvnet_skb_pkt_type(const struct sk_buff *skb);
u8 rvnet_skb_ip_summed(const struct sk_buff *skb);
void rvnet_skb_set_ip_summed(struct sk_buff *skb, u8 v);
int rvnet_skb_cow(struct sk_buff *skb, unsigned int headroom);

/* --- AF_RVNET (family.c) --- */
#include <linux/sockptr.h>
struct sock;
struct net;
struct msghdr;
struct delayed_work;
struct work_struct;

int rvnet_param_family(void);
unsigned int rvnet_sock_obj_size(void);
void **rvnet_sk_state(struct sock *sk);
void rvnet_sock_setup(struct sock *sk, int protocol, void (*destruct)(struct sock *));
void rvnet_sock_shutdown(struct sock *sk, int how);
struct proc_dir_entry *rvnet_proc_net_mkdir(struct net *net, const char *name);
extern const unsigned long *const rvnet_c_layout;
extern const unsigned int rvnet_c_layout_len;
void *rvnet_net_generic(const struct net *net, unsigned int id);
void rvnet_init_delayed_work(struct delayed_work *work, void (*func)(struct work_struct *));
bool rvnet_rx_wanted(const struct sk_buff *skb);
struct sk_buff *rvnet_skb_unshare_orphan(struct sk_buff *skb);
void rvnet_sock_orphan(struct sock *sk);
void rvnet_sock_recv_cmsgs(struct msghdr *msg, struct sock *sk, struct sk_buff *skb);
struct sk_buff *rvnet_sock_alloc_send(struct sock *sk, unsigned int len, unsigned int headroom,
				      bool noblock, int *err);
void rvnet_skb_fail(struct sk_buff *skb, int err);
int rvnet_xmit(struct sk_buff *skb, struct net_device *dev, const u8 *dst, u16 proto);
int rvnet_copy_from_sockptr(void *dst, const sockptr_t *src, size_t len);
u32 rvnet_sock_drops(const struct sock *sk);
void rvnet_dev_put(struct net_device *dev);
void rvnet_dev_hold(struct net_device *dev);


/* generic netlink (family.c) */
struct genl_family;
struct genl_info;
int rvnet_genl_register(struct genl_family *family);
struct sk_buff *rvnet_genlmsg_new(void);
int rvnet_genlmsg_reply(struct sk_buff *skb, struct genl_info *info);
bool rvnet_genl_has_listeners(const struct genl_family *family, struct net *net, u32 group);
int rvnet_genl_multicast(const struct genl_family *family, struct net *net,
			 struct sk_buff *skb, u32 group);

#endif
