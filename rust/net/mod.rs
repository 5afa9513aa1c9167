// SPDX-License-Identifier: GPL-2.0

//! rvnet's kernel abstraction layer: safe Rust over the C interfaces the drivers use.
//!
//! This layer, and only this layer, holds `unsafe` code and touches `kernel::bindings` or the
//! C shims in `helpers.c`. It knows nothing of protocols (that is `netcore`) and decides
//! nothing for the drivers: it turns C interfaces into types whose safe methods cannot be
//! misused. Model: rust/kernel/net/phy.rs in the kernel tree.

pub mod params;
