// SPDX-License-Identifier: GPL-2.0

//! Large zero-initialised allocations.
//!
//! Some protocol tables are far larger than a kernel stack (the reassembly buffers are
//! 64 KiB per datagram), so they cannot be built as values and moved into a box: they are
//! allocated zeroed, in place, from vmalloc. Only types for which all-zero bytes are a valid
//! value may be made this way; they say so by implementing [`ZeroValid`].

use kernel::alloc::{flags, VBox};
use kernel::prelude::*;

/// Types whose all-zero bit pattern is a valid value.
///
/// # Safety
///
/// A value of the type whose bytes are all zero must be valid and must mean what the
/// implementor documents.
pub unsafe trait ZeroValid {}

/// Allocates a zeroed `T` from vmalloc, without building it on the stack. May sleep.
pub fn zeroed_vbox<T: ZeroValid>() -> Result<VBox<T>> {
    let b = VBox::<T>::new_uninit(flags::GFP_KERNEL | flags::__GFP_ZERO)?;
    // SAFETY: the memory is zeroed, and zero is a valid `T` (`ZeroValid`).
    Ok(unsafe { b.assume_init() })
}

// SAFETY: `Reassembler` documents that all-zero bytes are a valid empty reassembler with the
// default timeout and memory limit (see rust/netcore/src/ipv4/reasm.rs). This is the one
// place the abstraction layer names a protocol type, and only to vouch for its layout.
unsafe impl<const S: usize, const B: usize> ZeroValid
    for crate::netcore::ipv4::reasm::Reassembler<S, B>
{
}
