//! Proxy ARP: prefixes for which this host answers ARP requests with its own MAC address.
//!
//! A router that proxies for a network behind it (RFC 1027, Linux's `proxy_arp` and
//! `ip neigh add proxy`) answers "who has X?" on behalf of the hosts there, so that senders
//! on this segment hand it the frames and it forwards them. [`ProxyTable`] is a small fixed
//! table of prefixes (address and prefix length, as in the seed notes on addressing); the
//! cache consults it when a request's target is not one of our own addresses.

use super::super::wire::Ipv4Address;

/// Number of proxy prefixes a [`ProxyTable`] holds.
pub const PROXY_SLOTS: usize = 8;

/// Why a proxy prefix was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyError {
    /// The prefix length is over 32.
    BadLength,
    /// All [`PROXY_SLOTS`] are in use.
    Full,
}

/// The network mask of a prefix length in 0..=32, as a host-order integer.
pub fn mask(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32u32.saturating_sub(u32::from(len)))
        .unwrap_or(0)
}

/// A set of up to [`PROXY_SLOTS`] prefixes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyTable {
    prefixes: [Option<(Ipv4Address, u8)>; PROXY_SLOTS],
}

impl ProxyTable {
    /// An empty table.
    pub const fn new() -> Self {
        ProxyTable {
            prefixes: [None; PROXY_SLOTS],
        }
    }

    /// `prefix/len` with the host bits cleared, or an error for a length over 32.
    fn normalise(prefix: Ipv4Address, len: u8) -> Result<(Ipv4Address, u8), ProxyError> {
        if len > 32 {
            return Err(ProxyError::BadLength);
        }
        Ok((Ipv4Address::from_u32(prefix.to_u32() & mask(len)), len))
    }

    /// Adds `prefix/len` (host bits are ignored, as `ip route` would clear them). Adding a
    /// prefix that is already present succeeds and changes nothing.
    pub fn add(&mut self, prefix: Ipv4Address, len: u8) -> Result<(), ProxyError> {
        let p = Self::normalise(prefix, len)?;
        if self.prefixes.contains(&Some(p)) {
            return Ok(());
        }
        let free = self
            .prefixes
            .iter_mut()
            .find(|s| s.is_none())
            .ok_or(ProxyError::Full)?;
        *free = Some(p);
        Ok(())
    }

    /// Removes `prefix/len`; false if it was not there.
    pub fn remove(&mut self, prefix: Ipv4Address, len: u8) -> bool {
        let Ok(p) = Self::normalise(prefix, len) else {
            return false;
        };
        match self.prefixes.iter_mut().find(|s| **s == Some(p)) {
            Some(s) => {
                *s = None;
                true
            }
            None => false,
        }
    }

    /// True when `ip` lies inside one of the prefixes.
    pub fn contains(&self, ip: Ipv4Address) -> bool {
        self.iter()
            .any(|(p, len)| ip.to_u32() & mask(len) == p.to_u32())
    }

    /// The prefixes, as (network address, prefix length).
    pub fn iter(&self) -> impl Iterator<Item = (Ipv4Address, u8)> + '_ {
        self.prefixes.iter().flatten().copied()
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True when there is no prefix.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn masks() {
        assert_eq!(mask(0), 0);
        assert_eq!(mask(1), 0x8000_0000);
        assert_eq!(mask(24), 0xffff_ff00);
        assert_eq!(mask(32), u32::MAX);
        assert_eq!(mask(33), u32::MAX); // callers check the length first
        assert_eq!(mask(255), u32::MAX);
    }

    #[test]
    fn contains_and_normalises() {
        let mut t = ProxyTable::new();
        assert!(t.is_empty());
        assert!(!t.contains(Ipv4Address::new(10, 0, 0, 1)));
        t.add(Ipv4Address::new(10, 1, 2, 3), 16).unwrap();
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [(Ipv4Address::new(10, 1, 0, 0), 16)]
        );
        assert!(t.contains(Ipv4Address::new(10, 1, 255, 255)));
        assert!(t.contains(Ipv4Address::new(10, 1, 0, 0)));
        assert!(!t.contains(Ipv4Address::new(10, 2, 0, 1)));
        // The same prefix again, however written, is one entry.
        t.add(Ipv4Address::new(10, 1, 9, 9), 16).unwrap();
        assert_eq!(t.len(), 1);
        assert!(t.remove(Ipv4Address::new(10, 1, 7, 7), 16));
        assert!(!t.remove(Ipv4Address::new(10, 1, 0, 0), 16));
        assert!(!t.contains(Ipv4Address::new(10, 1, 0, 1)));
    }

    #[test]
    fn host_route_and_default() {
        let mut t = ProxyTable::new();
        t.add(Ipv4Address::new(192, 0, 2, 7), 32).unwrap();
        assert!(t.contains(Ipv4Address::new(192, 0, 2, 7)));
        assert!(!t.contains(Ipv4Address::new(192, 0, 2, 6)));
        t.add(Ipv4Address::new(1, 2, 3, 4), 0).unwrap();
        assert!(t.contains(Ipv4Address::new(203, 0, 113, 1)));
    }

    #[test]
    fn refusals() {
        let mut t = ProxyTable::new();
        assert_eq!(
            t.add(Ipv4Address::new(10, 0, 0, 0), 33),
            Err(ProxyError::BadLength)
        );
        assert!(!t.remove(Ipv4Address::new(10, 0, 0, 0), 200));
        for i in 0..PROXY_SLOTS {
            t.add(Ipv4Address::new(10, i as u8, 0, 0), 16).unwrap();
        }
        assert_eq!(
            t.add(Ipv4Address::new(11, 0, 0, 0), 8),
            Err(ProxyError::Full)
        );
        // A duplicate is still fine when full.
        assert_eq!(t.add(Ipv4Address::new(10, 0, 0, 0), 16), Ok(()));
        assert!(t.remove(Ipv4Address::new(10, 3, 0, 0), 16));
        assert_eq!(t.add(Ipv4Address::new(11, 0, 0, 0), 8), Ok(()));
    }
}
