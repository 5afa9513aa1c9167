// SPDX-License-Identifier: GPL-2.0

//! The module's parameters, declared in `helpers.c` (so that they appear, read-only, under
//! /sys/module/rvnet/parameters) and read here.

extern "C" {
    fn rvnet_param_selftest() -> u32;
}

/// The `selftest` parameter: run the protocol core's known-answer checks at load.
pub fn selftest() -> bool {
    // SAFETY: `rvnet_param_selftest` only reads a module parameter; it has no preconditions.
    unsafe { rvnet_param_selftest() != 0 }
}
