//! IPv4 logic that needs no kernel: routing (FIB with longest-prefix match and a route
//! cache), fragment reassembly, validation of received packets, fragmentation and IP IDs for
//! sent ones, building ICMP messages, and the forwarding TTL step.
//!
//! - [`input`]: received packet validation, as Linux's `ip_rcv_core`.
//! - [`output`]: fragmentation planning and identification numbers.
//! - [`icmp_out`]: whole IPv4 + ICMP packets (echo reply and request, error messages).
//! - [`forward`]: TTL decrement with an incremental checksum update.
//! - [`route`]: the FIB and the route cache.
//! - [`frag`]: fragment reassembly holding the fragments' packets, as Linux's
//!   `ip_fragment.c`.

pub mod forward;
pub mod frag;
pub mod icmp_out;
pub mod input;
pub mod output;
pub mod route;
