// SPDX-License-Identifier: GPL-2.0

//! The module's parameters, declared in `helpers.c` (so that they appear, read-only, under
//! /sys/module/rvnet/parameters) and read here.

use super::ffi;

/// The `selftest` parameter: run the protocol core's known-answer checks at load.
pub fn selftest() -> bool {
    // SAFETY: the shim only reads a module parameter; it has no preconditions.
    unsafe { ffi::rvnet_param_selftest() != 0 }
}

/// The `pairs` parameter: rvnic pairs to create at load.
pub fn pairs() -> u32 {
    // SAFETY: the shim only reads a module parameter; it has no preconditions.
    unsafe { ffi::rvnet_param_pairs() }
}
