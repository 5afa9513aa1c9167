/* SPDX-License-Identifier: GPL-2.0 */
/* The shims of genl_helpers.c; the Rust side declares them in rust/net/genl.rs. */
#ifndef RVNET_GENL_HELPERS_H
#define RVNET_GENL_HELPERS_H

#include <net/genetlink.h>

void rvnet_nla_policy_set(struct nla_policy *p, u8 type, u8 vtype, s16 min, s16 max);
void rvnet_genl_op_set(struct genl_split_ops *op, u8 cmd, u8 flags,
		       const struct nla_policy *policy, u32 maxattr,
		       int (*doit)(struct sk_buff *, struct genl_info *),
		       int (*dumpit)(struct sk_buff *, struct netlink_callback *));
int rvnet_genl_register(struct genl_family *family);
struct net *rvnet_genl_info_net(const struct genl_info *info);
struct sk_buff *rvnet_genlmsg_new(void);
void rvnet_genlmsg_end(struct sk_buff *skb, void *hdr);
void rvnet_genlmsg_cancel(struct sk_buff *skb, void *hdr);
int rvnet_genlmsg_reply(struct sk_buff *skb, struct genl_info *info);
void rvnet_nlmsg_free(struct sk_buff *skb);
bool rvnet_genl_has_listeners(const struct genl_family *family, struct net *net, u32 group);
int rvnet_genl_multicast(const struct genl_family *family, struct net *net,
			 struct sk_buff *skb, u32 group);

#endif
