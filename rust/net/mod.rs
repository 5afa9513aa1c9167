// SPDX-License-Identifier: GPL-2.0

//! rvnet's kernel abstraction layer: safe Rust over the C interfaces the drivers use.
//!
//! This layer, and only this layer, holds `unsafe` code and touches `kernel::bindings` or the
//! C shims (`helpers.c`, `family.c`: static inlines, macros and bitfields, each with its
//! reason). It knows nothing of protocols (that is `netcore`) and decides nothing for the
//! drivers: it turns C interfaces into types whose safe methods cannot be misused. Model:
//! rust/kernel/net/phy.rs in the kernel tree. One file per kernel object:
//!
//! - [`net_device`]: `net_device`, the driver trait and `net_device_ops`; [`ethtool`],
//!   [`qstats`] and [`rtnl_link`]: the driver's other operation tables.
//! - [`napi`]: NAPI contexts.
//! - [`skb`]: owned socket buffers.
//! - [`socket`]: `sock` and `socket`, borrowed or referenced, and system-call arguments.
//! - [`proto`]: socket families (`net_proto_family`, `proto`, `proto_ops`) and their
//!   registration.
//! - [`namespace`]: network namespaces and a family's state in each (`pernet_operations`).
//! - [`rx_handler`]: a device's receive handler, through which a family's stack sees frames.
//! - [`rtnl`]: RTNL as types.
//! - [`seq_file`]: the `/proc/net/rvnet` files.
//! - [`rwlock`]: `rwlock_t`, the reader-writer spinlock the kernel crate lacks.
//! - [`clock`]: time and randomness for the protocol core.
//! - [`params`]: the module parameters.
//! - [`layout`]: a load-time check that bindgen placed the members this layer uses where the
//!   compiler did.
//! - [`genl`]: generic netlink families, their policies, requests, dumps and notifications.

pub mod bh;
pub mod clock;
mod ethtool;
mod ffi;
pub mod genl;
pub mod layout;
pub mod namespace;
pub mod napi;
pub mod net_device;
pub mod params;
pub mod proto;
mod qstats;
pub mod rtnl;
pub mod rtnl_link;
pub mod rwlock;
pub mod rx_handler;
pub mod seq_file;
pub mod skb;
pub mod socket;

/// A kernel error from one of the uapi errno constants (`bindings::E*`): the kernel crate
/// names only some of them, and none of the networking ones (ENOBUFS, EAFNOSUPPORT, ...).
pub(crate) fn errno(e: u32) -> kernel::error::Error {
    kernel::error::Error::from_errno(-(e as i32))
}
