//! ARP (RFC 826) logic: the neighbour cache that maps IPv4 addresses to MAC addresses.
//!
//! - [`cache`]: the cache itself, a hash table in storage the embedder allocates, with RFC
//!   826's receive algorithm, resolution with retries, ageing, static entries, and Linux's
//!   limits and garbage collection.
//! - [`queue`]: the queue of packets that wait for a resolution, bounded in packets and
//!   bytes.
//! - [`proxy`]: the prefixes answered by proxy ARP.
//! - [`selftest`]: known-answer checks of the cache for `cargo test` and KUnit.

pub mod cache;
pub mod proxy;
pub mod queue;
pub mod selftest;

pub use cache::{
    ArpAction, ArpCache, ArpConfig, ArpCounters, Entry, EntryInfo, Learned, Lookup, Ready, Refusal,
    Released, ReplyKind, Resolve, State, TimerEvent, Unresolved,
};
pub use proxy::{ProxyError, ProxyTable};
pub use queue::{Dropped, Packets};
