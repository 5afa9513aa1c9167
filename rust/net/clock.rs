// SPDX-License-Identifier: GPL-2.0

//! Time and randomness: the two inputs the pure protocol core takes from the kernel instead
//! of reaching for them itself.

use kernel::bindings;

/// Milliseconds since boot (suspend included): the clock of ARP ageing and reassembly.
pub fn now_ms() -> u64 {
    // SAFETY: reads a clock; `ktime_get_boottime_ns` is this call, inlined.
    let ns = unsafe { bindings::ktime_get_with_offset(bindings::tk_offsets_TK_OFFS_BOOT) };
    u64::try_from(ns).unwrap_or(0) / 1_000_000
}

/// A random number (keys of the IP ID hash, ephemeral port choice).
pub fn random_u32() -> u32 {
    // SAFETY: no preconditions.
    unsafe { bindings::get_random_u32() }
}
