//! The NIC side of rvnic that needs no kernel: ring index arithmetic, offload feature rules
//! and the statistics table.

pub mod features;
pub mod ring;
pub mod stats;
