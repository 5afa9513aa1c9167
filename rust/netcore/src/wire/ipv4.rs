//! IPv4 addresses. (The IPv4 header view comes with the AF_RVNET stack.)

use core::fmt;

/// An IPv4 address, in network byte order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Address(pub [u8; 4]);

impl Ipv4Address {
    /// 0.0.0.0
    pub const UNSPECIFIED: Ipv4Address = Ipv4Address([0; 4]);
    /// 255.255.255.255
    pub const BROADCAST: Ipv4Address = Ipv4Address([255; 4]);

    /// The address `a.b.c.d`.
    pub const fn new(a: u8, b: u8, c: u8, d: u8) -> Self {
        Ipv4Address([a, b, c, d])
    }

    /// The address from the first four bytes of `b`, or `None` if `b` is shorter.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        Some(Ipv4Address(b.get(..4)?.try_into().ok()?))
    }

    /// The address as a host-order integer (for masks and prefix arithmetic).
    pub const fn to_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }

    /// The address of a host-order integer.
    pub const fn from_u32(v: u32) -> Self {
        Ipv4Address(v.to_be_bytes())
    }

    /// True for 0.0.0.0.
    pub fn is_unspecified(self) -> bool {
        self.0 == [0; 4]
    }

    /// True for 255.255.255.255.
    pub fn is_broadcast(self) -> bool {
        self.0 == [255; 4]
    }

    /// True for 224.0.0.0/4.
    pub fn is_multicast(self) -> bool {
        self.0[0] & 0xf0 == 0xe0
    }

    /// True for 127.0.0.0/8.
    pub fn is_loopback(self) -> bool {
        self.0[0] == 127
    }
}

impl fmt::Display for Ipv4Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn classes_and_display() {
        let a = Ipv4Address::new(198, 18, 0, 1);
        assert_eq!(a.to_string(), "198.18.0.1");
        assert_eq!(Ipv4Address::from_u32(a.to_u32()), a);
        assert_eq!(a.to_u32(), 0xc612_0001);
        assert!(Ipv4Address::BROADCAST.is_broadcast());
        assert!(Ipv4Address::new(224, 0, 0, 251).is_multicast());
        assert!(!a.is_multicast() && !a.is_unspecified() && !a.is_loopback());
        assert!(Ipv4Address::UNSPECIFIED.is_unspecified());
        assert_eq!(Ipv4Address::from_bytes(&[1, 2, 3]), None);
        assert_eq!(
            Ipv4Address::from_bytes(&[1, 2, 3, 4, 5]),
            Some(Ipv4Address::new(1, 2, 3, 4))
        );
    }
}
