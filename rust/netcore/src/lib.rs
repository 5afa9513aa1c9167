//! rvnet's pure protocol core.
//!
//! Everything here is plain `core` Rust: no `kernel::`, no `unsafe`, no allocation, no clock
//! and no randomness of its own (time and random numbers are passed in). The same files are
//! compiled twice: as this host crate, so that `cargo test` and fuzzers reach the protocol
//! logic in seconds, and inside `rvnet.ko`, where `drivers/rvnet.rs` mounts this file as the
//! module `netcore` (the kernel passes `--cfg MODULE`, which is how the crate-level
//! attribute below knows it is not the crate root there).
//!
//! - [`checksum`]: the Internet checksum (RFC 1071) used by IPv4, ICMP and UDP.
//! - [`ipv4`]: routing, reassembly, input validation, fragmentation, ICMP building,
//!   forwarding.
//! - [`sock`]: socket-address checks, UDP/raw demultiplexing, ephemeral ports and the
//!   hashed socket table.
//! - [`storage`]: the growable, fallible storage that tables are built on, allocated by the
//!   embedder (the kernel's allocator, or `Vec` on the host).
//! - [`nic`]: ring index arithmetic for rvnic's receive rings.
//! - [`wire`]: typed views over packet bytes (check, parse, emit), after smoltcp's `wire`.
//! - [`selftest`]: known-answer checks that run both under `cargo test` and as KUnit cases.
//!
//! Inside the crate, paths are relative (`super::`), never `crate::`: in the module the crate
//! root is rvnet's, not this file.

#![cfg_attr(not(MODULE), no_std)]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod arp;
pub mod checksum;
pub mod ipv4;
pub mod nic;
pub mod selftest;
pub mod sock;
pub mod storage;
#[cfg(test)]
mod testutil;
pub mod uapi;
pub mod wire;
