//! `struct sockaddr_in` as AF_INET's system calls read and write it.
//!
//! The layout (16 bytes): `sin_family` (u16 in the machine's byte order) at 0, `sin_port`
//! (big endian) at 2, `sin_addr` (big endian) at 4, eight bytes of padding (`sin_zero`,
//! not checked on input, zeroed on output). The checks follow Linux:
//!
//! - `bind` (`inet_bind_sk`, `__inet_bind`): shorter than 16 bytes is `EINVAL`; a family
//!   other than ours is `EAFNOSUPPORT`, except `AF_UNSPEC` with address 0.0.0.0, which old
//!   programs pass and Linux accepts. Whether the address is ours (`EADDRNOTAVAIL`) and
//!   whether the port needs privilege ([`port_requires_privilege`], `EACCES`) is for the
//!   caller, who knows the interfaces and the credentials.
//! - `connect` on a datagram socket (`inet_dgram_connect`, `__ip4_datagram_connect`):
//!   shorter than the family field is `EINVAL`; `AF_UNSPEC` disconnects; then shorter than
//!   16 bytes is `EINVAL` and another family `EAFNOSUPPORT`. Port 0 is accepted.
//! - `sendto` (`udp_sendmsg`): shorter than 16 bytes is `EINVAL`; a family other than ours
//!   and `AF_UNSPEC` is `EAFNOSUPPORT` (`AF_UNSPEC` is taken as ours, whatever the address);
//!   port 0 is `EINVAL`.

use super::super::wire::Ipv4Address;
use super::{AF_UNSPEC, EAFNOSUPPORT, EINVAL};

/// Size of `struct sockaddr_in`.
pub const SOCKADDR_IN_LEN: usize = 16;

/// Ports below this need `CAP_NET_BIND_SERVICE` (Linux's default
/// `ip_unprivileged_port_start`).
pub const PROT_SOCK: u16 = 1024;

/// An IPv4 socket address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SockAddr {
    /// The address (0.0.0.0: any).
    pub addr: Ipv4Address,
    /// The port, in host order (0: none / any).
    pub port: u16,
}

impl SockAddr {
    /// The address `addr:port`.
    pub const fn new(addr: Ipv4Address, port: u16) -> Self {
        SockAddr { addr, port }
    }
}

impl core::fmt::Display for SockAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}", self.addr, self.port)
    }
}

/// The `sin_family` field, if `buf` holds it.
pub fn family_of(buf: &[u8]) -> Option<u16> {
    let b = buf.get(..2)?;
    Some(u16::from_ne_bytes([b[0], b[1]]))
}

/// The family, port and address of a buffer of at least 16 bytes, else `EINVAL`.
fn fields(buf: &[u8]) -> Result<(u16, SockAddr), i32> {
    let b = buf.get(..SOCKADDR_IN_LEN).ok_or(EINVAL)?;
    let family = u16::from_ne_bytes([b[0], b[1]]);
    let port = u16::from_be_bytes([b[2], b[3]]);
    let addr = Ipv4Address([b[4], b[5], b[6], b[7]]);
    Ok((family, SockAddr { addr, port }))
}

/// Checks the address given to `bind` on a socket of family `family` (AF_INET's value).
pub fn parse_bind(buf: &[u8], family: u16) -> Result<SockAddr, i32> {
    let (f, a) = fields(buf)?;
    if f != family && (f != AF_UNSPEC || !a.addr.is_unspecified()) {
        return Err(EAFNOSUPPORT);
    }
    Ok(a)
}

/// Checks the address given to `connect` on a datagram socket of family `family`.
/// `Ok(None)` is `AF_UNSPEC`: dissolve the association.
pub fn parse_connect(buf: &[u8], family: u16) -> Result<Option<SockAddr>, i32> {
    let f = family_of(buf).ok_or(EINVAL)?;
    if f == AF_UNSPEC {
        return Ok(None);
    }
    let (_, a) = fields(buf)?;
    if f != family {
        return Err(EAFNOSUPPORT);
    }
    Ok(Some(a))
}

/// Checks the destination given to `sendto`/`sendmsg` on a UDP socket of family `family`.
pub fn parse_sendto(buf: &[u8], family: u16) -> Result<SockAddr, i32> {
    let (f, a) = fields(buf)?;
    if f != family && f != AF_UNSPEC {
        return Err(EAFNOSUPPORT);
    }
    if a.port == 0 {
        return Err(EINVAL);
    }
    Ok(a)
}

/// Writes `addr` as a `struct sockaddr_in` of family `family` (for `getsockname`,
/// `getpeername`, `recvfrom`).
pub fn emit(addr: SockAddr, family: u16, out: &mut [u8; 16]) {
    *out = [0; SOCKADDR_IN_LEN];
    out[0..2].copy_from_slice(&family.to_ne_bytes());
    out[2..4].copy_from_slice(&addr.port.to_be_bytes());
    out[4..8].copy_from_slice(&addr.addr.0);
}

/// True when binding `port` needs `CAP_NET_BIND_SERVICE` (1 to 1023; port 0 asks for an
/// ephemeral port).
pub fn port_requires_privilege(port: u16) -> bool {
    port != 0 && port < PROT_SOCK
}

#[cfg(test)]
mod tests {
    use super::super::AF_INET;
    use super::*;

    fn sin(family: u16, port: u16, addr: [u8; 4]) -> [u8; 16] {
        let mut b = [0u8; 16];
        emit(
            SockAddr {
                addr: Ipv4Address(addr),
                port,
            },
            family,
            &mut b,
        );
        b
    }

    #[test]
    fn layout() {
        let b = sin(AF_INET, 0x1234, [10, 0, 0, 1]);
        assert_eq!(u16::from_ne_bytes([b[0], b[1]]), 2);
        assert_eq!(b[2..8], [0x12, 0x34, 10, 0, 0, 1]);
        assert_eq!(b[8..], [0; 8]);
        // Padding is cleared.
        let mut out = [0xffu8; 16];
        emit(SockAddr::default(), AF_INET, &mut out);
        assert_eq!(out[2..], [0; 14]);
        #[cfg(target_endian = "little")]
        assert_eq!(out[..2], [2, 0]);
        assert_eq!(family_of(&out), Some(AF_INET));
        assert_eq!(family_of(&out[..1]), None);
        assert_eq!(
            std::format!("{}", SockAddr::new(Ipv4Address::new(1, 2, 3, 4), 80)),
            "1.2.3.4:80"
        );
    }

    #[test]
    fn bind() {
        let ok = sin(AF_INET, 53, [192, 168, 1, 1]);
        assert_eq!(
            parse_bind(&ok, AF_INET),
            Ok(SockAddr::new(Ipv4Address::new(192, 168, 1, 1), 53))
        );
        // Longer buffers are fine (sockaddr_storage); padding is ignored.
        let mut long = [0xaau8; 28];
        long[..16].copy_from_slice(&ok);
        long[8..16].fill(0x55);
        assert_eq!(parse_bind(&long, AF_INET).unwrap().port, 53);
        for len in 0..16 {
            assert_eq!(parse_bind(&ok[..len], AF_INET), Err(EINVAL));
        }
        assert_eq!(parse_bind(&sin(10, 53, [0; 4]), AF_INET), Err(EAFNOSUPPORT));
        assert_eq!(parse_bind(&sin(1, 53, [0; 4]), AF_INET), Err(EAFNOSUPPORT));
        // AF_UNSPEC: only with INADDR_ANY.
        assert_eq!(
            parse_bind(&sin(AF_UNSPEC, 7, [0; 4]), AF_INET),
            Ok(SockAddr::new(Ipv4Address::UNSPECIFIED, 7))
        );
        assert_eq!(
            parse_bind(&sin(AF_UNSPEC, 7, [10, 0, 0, 1]), AF_INET),
            Err(EAFNOSUPPORT)
        );
        // Short AF_UNSPEC is still EINVAL (length is checked first).
        assert_eq!(parse_bind(&[0u8; 8], AF_INET), Err(EINVAL));
        assert!(port_requires_privilege(80) && port_requires_privilege(1023));
        assert!(!port_requires_privilege(0) && !port_requires_privilege(1024));
    }

    #[test]
    fn connect() {
        let ok = sin(AF_INET, 9, [10, 0, 0, 2]);
        assert_eq!(
            parse_connect(&ok, AF_INET),
            Ok(Some(SockAddr::new(Ipv4Address::new(10, 0, 0, 2), 9)))
        );
        assert_eq!(parse_connect(&[], AF_INET), Err(EINVAL));
        assert_eq!(parse_connect(&ok[..1], AF_INET), Err(EINVAL));
        // AF_UNSPEC disconnects with just the family field present.
        let unspec = sin(AF_UNSPEC, 9, [10, 0, 0, 2]);
        for len in 2..=16 {
            assert_eq!(parse_connect(&unspec[..len], AF_INET), Ok(None));
        }
        for len in 2..16 {
            assert_eq!(parse_connect(&ok[..len], AF_INET), Err(EINVAL));
        }
        // A short buffer of the wrong family is EINVAL, a full one EAFNOSUPPORT.
        let v6 = sin(10, 9, [0; 4]);
        assert_eq!(parse_connect(&v6[..8], AF_INET), Err(EINVAL));
        assert_eq!(parse_connect(&v6, AF_INET), Err(EAFNOSUPPORT));
        // Port 0 and any address are accepted here.
        assert_eq!(
            parse_connect(&sin(AF_INET, 0, [0; 4]), AF_INET),
            Ok(Some(SockAddr::default()))
        );
    }

    #[test]
    fn sendto() {
        let ok = sin(AF_INET, 53, [8, 8, 8, 8]);
        assert_eq!(
            parse_sendto(&ok, AF_INET),
            Ok(SockAddr::new(Ipv4Address::new(8, 8, 8, 8), 53))
        );
        for len in 0..16 {
            assert_eq!(parse_sendto(&ok[..len], AF_INET), Err(EINVAL));
        }
        assert_eq!(
            parse_sendto(&sin(10, 53, [0; 4]), AF_INET),
            Err(EAFNOSUPPORT)
        );
        // AF_UNSPEC is taken as AF_INET, with any address.
        assert_eq!(
            parse_sendto(&sin(AF_UNSPEC, 53, [1, 2, 3, 4]), AF_INET),
            Ok(SockAddr::new(Ipv4Address::new(1, 2, 3, 4), 53))
        );
        assert_eq!(
            parse_sendto(&sin(AF_INET, 0, [1, 2, 3, 4]), AF_INET),
            Err(EINVAL)
        );
        // The family is checked before the port.
        assert_eq!(
            parse_sendto(&sin(10, 0, [0; 4]), AF_INET),
            Err(EAFNOSUPPORT)
        );
    }

    #[test]
    fn roundtrip_and_random_bytes() {
        let mut rng = super::super::super::testutil::Rng(99);
        for _ in 0..20_000 {
            let mut b = [0u8; 20];
            for x in b.iter_mut() {
                *x = rng.next() as u8;
            }
            if rng.below(2) == 0 {
                b[..2].copy_from_slice(&[AF_INET, AF_UNSPEC][rng.below(2) as usize].to_ne_bytes());
            }
            let len = rng.below(21) as usize;
            let buf = &b[..len];
            for a in [
                parse_bind(buf, AF_INET).ok(),
                parse_sendto(buf, AF_INET).ok(),
                parse_connect(buf, AF_INET).ok().flatten(),
            ]
            .into_iter()
            .flatten()
            {
                let mut out = [0u8; 16];
                emit(a, AF_INET, &mut out);
                assert_eq!(parse_bind(&out, AF_INET), Ok(a));
                assert_eq!(out[2..8], b[2..8]);
            }
        }
    }
}
