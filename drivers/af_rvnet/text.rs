// SPDX-License-Identifier: GPL-2.0

//! Text for `/proc/net/rvnet`: addresses formatted into a small buffer on the stack, so that
//! the tables (`ctl.rs`) and the socket list (`socket.rs`) can pad them as columns.

use crate::netcore::wire::{EthernetAddress, Ipv4Address};
use core::fmt::Write;

/// A small formatting buffer: padding with `{:<N}` needs a `str`, and the wire types'
/// `Display` implementations do not pad.
pub(crate) struct Small {
    buf: [u8; 24],
    len: usize,
}

impl Small {
    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

impl Write for Small {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

pub(crate) fn small(f: impl FnOnce(&mut Small) -> core::fmt::Result) -> Small {
    let mut s = Small {
        buf: [0; 24],
        len: 0,
    };
    let _ = f(&mut s);
    s
}

pub(crate) fn alloc_fmt_ip(a: Ipv4Address) -> Small {
    small(|s| write!(s, "{}", a))
}

pub(crate) fn alloc_fmt_prefix(a: Ipv4Address, len: u8) -> Small {
    small(|s| write!(s, "{}/{}", a, len))
}

pub(crate) fn alloc_fmt_mac(m: EthernetAddress) -> Small {
    small(|s| write!(s, "{}", m))
}
