// SPDX-License-Identifier: GPL-2.0
/*
 * iproute2 plugin for `ip link add NAME type rvnic peer name PEER [...]`.
 *
 * `ip` loads link_<kind>.so from $IP_LIB_DIR (default /usr/lib/ip) for kinds it does not
 * know, and looks up the symbol <kind>_link_util in it. An rvnic pair takes the same
 * IFLA_INFO_DATA as a veth pair (attribute 1: the peer's ifinfomsg and IFLA_* attributes), so
 * this plugin reuses the veth parser that `ip` itself exports, under the name rvnic. The
 * struct below is iproute2's struct link_util (ip/ip_common.h), which has had this layout
 * from 4.x through 6.x.
 */
#include <stdio.h>
#include <string.h>

struct nlmsghdr;
struct rtattr;

struct link_util {
	struct link_util *next;
	const char *id;
	int maxattr;
	int (*parse_opt)(struct link_util *, int, char **, struct nlmsghdr *);
	void (*print_opt)(struct link_util *, FILE *, struct rtattr *[]);
	void (*print_xstats)(struct link_util *, FILE *, struct rtattr *);
	void (*print_help)(struct link_util *, FILE *);
	int (*parse_ifla_xstats)(struct link_util *, int, char **);
	int (*print_ifla_xstats)(const struct nlmsghdr *, void *);
};

extern struct link_util veth_link_util;

static void rvnic_print_help(struct link_util *lu, FILE *f)
{
	fprintf(f, "Usage: ip link <add|set|change> ... type rvnic [peer <options for ip link>]\n");
}

struct link_util rvnic_link_util = {
	.id = "rvnic",
	.maxattr = 1,
	.print_help = rvnic_print_help,
};

__attribute__((constructor)) static void rvnic_link_util_init(void)
{
	rvnic_link_util.parse_opt = veth_link_util.parse_opt;
	rvnic_link_util.maxattr = veth_link_util.maxattr;
}
