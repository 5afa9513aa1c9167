//! ARP (RFC 826) logic: the neighbour cache that maps IPv4 addresses to MAC addresses.
//!
//! - [`cache`]: the cache itself, with RFC 826's receive algorithm, resolution with retries,
//!   ageing, static entries and eviction.
//! - [`queue`]: the bounded queue of packets that wait for a resolution.
//! - [`proxy`]: the prefixes answered by proxy ARP.
//! - [`selftest`]: known-answer checks of the cache for `cargo test` and KUnit.

pub mod cache;
pub mod proxy;
pub mod queue;
pub mod selftest;

pub use cache::{
    ArpAction, ArpCache, ArpConfig, ArpCounters, EntryInfo, Learned, Lookup, Ready, Refusal,
    Released, ReplyKind, Resolve, State, TimerEvent, Unresolved,
};
pub use proxy::{ProxyError, ProxyTable};
pub use queue::Packets;
