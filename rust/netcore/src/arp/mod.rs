//! ARP (RFC 826) logic: the neighbour cache that maps IPv4 addresses to MAC addresses.

pub mod cache;
