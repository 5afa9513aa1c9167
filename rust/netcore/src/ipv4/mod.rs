//! IPv4 logic that needs no kernel: routing (FIB with longest-prefix match and a route cache)
//! and fragment reassembly.

pub mod reasm;
pub mod route;
