//! Wire formats: typed views over the bytes of a frame.
//!
//! Each format follows smoltcp's shape. A `Packet<T: AsRef<[u8]>>` (here [`EthernetFrame`],
//! [`ArpPacket`], [`Ipv4Packet`], [`UdpPacket`] and [`IcmpPacket`]) wraps a buffer;
//! `new_checked` proves once that every fixed field lies inside it, after which the field
//! accessors cannot go out of bounds. A `Repr` ([`EthernetRepr`], [`ArpRepr`], [`Ipv4Repr`],
//! [`UdpRepr`], [`IcmpRepr`]) is the parsed, validated meaning of a header: `parse` from a
//! packet, `emit` into a buffer. Nothing here allocates or panics on any input.

pub mod arp;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod udp;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
pub use icmp::{DstUnreachableCode, IcmpPacket, IcmpRepr, TimeExceededCode};
pub use ipv4::{Ipv4Address, Ipv4Packet, Ipv4Repr, Protocol};
pub use udp::{UdpPacket, UdpRepr};

/// Why a buffer was not accepted as a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The buffer is shorter than the header it should hold.
    Truncated,
    /// A field holds a value the format forbids.
    Malformed,
    /// Well formed, but a variant this stack does not handle (say, ARP over non-Ethernet).
    Unsupported,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated",
            Error::Malformed => "malformed",
            Error::Unsupported => "unsupported",
        })
    }
}

/// Result of parsing a header.
pub type Result<T> = core::result::Result<T, Error>;

/// Reads a big-endian u16 at `at`; the caller has checked the bounds.
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Writes a big-endian u16 at `at`; the caller has checked the bounds.
fn put_be16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
