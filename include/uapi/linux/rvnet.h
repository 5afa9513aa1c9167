/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rvnet: the user-space interface of the AF_RVNET socket family.
 *
 * AF_RVNET takes a family number that mainline keeps but no longer registers. The number in
 * use is the module parameter "family", readable in /sys/module/rvnet/parameters/family;
 * RVNET_AF_DEFAULT is what it is when nobody chose another.
 *
 * Addresses are struct sockaddr_in with sin_family set to that number.
 *
 *   socket(family, SOCK_DGRAM, 0 or IPPROTO_UDP)     UDP over rvnet's own IPv4
 *   socket(family, SOCK_RAW, IPPROTO_ICMP, ...)      raw IPv4 (needs CAP_NET_RAW)
 *
 * Configuration goes through setsockopt(fd, SOL_RVNET, RVNET_*, &req, sizeof(req)) on any
 * AF_RVNET socket and needs CAP_NET_ADMIN in the socket's network namespace. Each namespace
 * has its own interfaces, addresses, ARP cache, routes, sockets and counters. The state is
 * shown read-only in /proc/net/rvnet/{arp,route,sockets,stats,dev}.
 *
 * Errors: EPERM without the capability, EINVAL for a malformed request or a wrong optlen,
 * ENODEV for an unknown ifindex or one not attached, EEXIST and ENOENT as their names say,
 * EBUSY when the device already has another receive handler, ENOSPC when a table is full.
 */
#ifndef _UAPI_LINUX_RVNET_H
#define _UAPI_LINUX_RVNET_H

#include <linux/types.h>

#define RVNET_AF_DEFAULT	19	/* AF_ECONET: kept by mainline, no longer registered */

/* setsockopt/getsockopt level for the control requests below. */
#define SOL_RVNET		400

/* setsockopt(SOL_RVNET, ...), all need CAP_NET_ADMIN */
#define RVNET_ATTACH		1	/* struct rvnet_ifreq: take the device's frames for our addresses */
#define RVNET_DETACH		2	/* struct rvnet_ifreq: give the device back, drop its routes and ARP entries */
#define RVNET_ADDR_ADD		3	/* struct rvnet_addrreq: attaches if needed; adds the connected route; sends a gratuitous ARP */
#define RVNET_ADDR_DEL		4	/* struct rvnet_addrreq */
#define RVNET_ROUTE_ADD		5	/* struct rvnet_routereq */
#define RVNET_ROUTE_DEL		6	/* struct rvnet_routereq (dst and prefixlen are the key) */
#define RVNET_NEIGH_ADD		7	/* struct rvnet_neighreq: a static ARP entry on ifindex (0: the device of the route to addr) */
#define RVNET_NEIGH_DEL		8	/* struct rvnet_neighreq (addr and ifindex are the key; ifindex 0: on every device) */
#define RVNET_PROXY_ADD		9	/* struct rvnet_prefixreq: answer ARP for this prefix */
#define RVNET_PROXY_DEL		10	/* struct rvnet_prefixreq */
#define RVNET_SET		11	/* struct rvnet_param */
#define RVNET_NEIGH_FLUSH	12	/* no argument (optlen 0): drop every dynamic ARP entry */

/* getsockopt(SOL_RVNET, ...) */
#define RVNET_NEIGH_REVERSE	20	/* struct rvnet_neighreq: lladdr in, addr and the entry's ifindex out (ENOENT if none) */
#define RVNET_GET		21	/* struct rvnet_param: param in, value out */

/* Parameters for RVNET_SET / RVNET_GET */
enum rvnet_param_id {
	RVNET_PARAM_ARP_AGEING_MS = 1,	/* default 1200000 (20 min) */
	RVNET_PARAM_ARP_RETRY_MS = 2,	/* default 1000 */
	RVNET_PARAM_ARP_RETRIES = 3,	/* default 3 */
	RVNET_PARAM_FORWARDING = 4,	/* 0 or 1, default 0 */
	RVNET_PARAM_REASM_TIMEOUT_MS = 5, /* default 30000 */
	RVNET_PARAM_DEFAULT_TTL = 6,	/* default 64 */
};

struct rvnet_ifreq {
	__s32	ifindex;
	__u32	flags;		/* must be 0 */
};

struct rvnet_addrreq {
	__s32	ifindex;
	__be32	addr;
	__u8	prefixlen;	/* 1..32 */
	__u8	pad[3];		/* must be 0 */
};

struct rvnet_routereq {
	__be32	dst;
	__u8	prefixlen;	/* 0..32; 0 with dst 0 is the default route */
	__u8	pad[3];		/* must be 0 */
	__be32	gateway;	/* 0: directly connected on ifindex */
	__s32	ifindex;	/* 0: the device of the connected route that reaches gateway */
};

struct rvnet_neighreq {
	__be32	addr;
	__s32	ifindex;
	__u8	lladdr[6];
	__u16	flags;		/* must be 0 */
};

struct rvnet_prefixreq {
	__be32	prefix;
	__u8	prefixlen;
	__u8	pad[3];		/* must be 0 */
};

struct rvnet_param {
	__u32	param;		/* enum rvnet_param_id */
	__u32	pad;		/* must be 0 */
	__u64	value;
};

/*
 * Socket options AF_RVNET shares with AF_INET, at the same levels and numbers:
 * SOL_SOCKET: SO_RCVBUF, SO_SNDBUF, SO_RCVTIMEO, SO_SNDTIMEO, SO_BINDTODEVICE, ...
 * SOL_IP (0): IP_HDRINCL (3) on SOCK_RAW, IP_TTL (2).
 */

#endif /* _UAPI_LINUX_RVNET_H */
