// SPDX-License-Identifier: GPL-2.0

//! rvnet's kernel abstraction layer: safe Rust over the C interfaces the drivers use.
//!
//! This layer, and only this layer, holds `unsafe` code and touches `kernel::bindings` or the
//! C shims in `helpers.c`. It knows nothing of protocols (that is `netcore`) and decides
//! nothing for the drivers: it turns C interfaces into types whose safe methods cannot be
//! misused. Model: rust/kernel/net/phy.rs in the kernel tree.
//!
//! - [`netdev`]: `net_device`, the driver trait, and the rtnl/ethtool/stat operation tables.
//! - [`napi`]: NAPI contexts.
//! - [`skb`]: owned socket buffers.
//! - [`params`]: the module parameters.
//! - [`sock`]: socket families, their per-namespace state, `/proc` files and receive handler.

pub mod bh;
mod ffi;
pub mod mem;
pub mod napi;
pub mod netdev;
pub mod params;
pub mod skb;
pub mod sock;
