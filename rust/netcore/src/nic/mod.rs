//! The NIC side of rvnic that needs no kernel: ring index arithmetic and the statistics table.

pub mod ring;
