// SPDX-License-Identifier: GPL-2.0
/*
 * C shims for rust/net/genl.rs (generic netlink), each a static inline, a bitfield or an
 * anonymous union that the bindings cannot reach. The decisions are made in Rust.
 */
#include "genl_helpers.h"

/* nla_policy: min and max live in an anonymous union of anonymous structs. */
void rvnet_nla_policy_set(struct nla_policy *p, u8 type, u8 vtype, s16 min, s16 max)
{
	p->type = type;
	p->validation_type = vtype;
	p->min = min;
	p->max = max;
}

/* genl_split_ops: doit and dumpit live in an anonymous union. */
void rvnet_genl_op_set(struct genl_split_ops *op, u8 cmd, u8 flags,
		       const struct nla_policy *policy, u32 maxattr,
		       int (*doit)(struct sk_buff *, struct genl_info *),
		       int (*dumpit)(struct sk_buff *, struct netlink_callback *))
{
	op->cmd = cmd;
	op->flags = flags;
	op->policy = policy;
	op->maxattr = maxattr;
	if (flags & GENL_CMD_CAP_DUMP)
		op->dumpit = dumpit;
	else
		op->doit = doit;
}

/* netnsok and parallel_ops are bitfields. */
int rvnet_genl_register(struct genl_family *family)
{
	family->netnsok = 1;
	family->parallel_ops = 1;
	return genl_register_family(family);
}

/* The rest are static inlines. */
struct net *rvnet_genl_info_net(const struct genl_info *info)
{
	return genl_info_net(info);
}

struct sk_buff *rvnet_genlmsg_new(void)
{
	return genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
}

void rvnet_genlmsg_end(struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
}

void rvnet_genlmsg_cancel(struct sk_buff *skb, void *hdr)
{
	genlmsg_cancel(skb, hdr);
}

int rvnet_genlmsg_reply(struct sk_buff *skb, struct genl_info *info)
{
	return genlmsg_reply(skb, info);
}

void rvnet_nlmsg_free(struct sk_buff *skb)
{
	nlmsg_free(skb);
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
