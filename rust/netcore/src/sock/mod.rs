//! Socket-layer logic that needs no kernel: checking the `struct sockaddr_in` a user
//! passes to `bind`, `connect` and `sendto` ([`addr`]), and choosing the socket a received
//! datagram belongs to and the port an unbound socket gets ([`demux`]). Errors are positive
//! errno values ([`errno`]); the kernel side negates them.

pub mod addr;
pub mod demux;
pub mod errno;
pub mod table;

pub use addr::SockAddr;
pub use errno::*;

/// `AF_UNSPEC`.
pub const AF_UNSPEC: u16 = 0;
/// `AF_INET`.
pub const AF_INET: u16 = 2;
