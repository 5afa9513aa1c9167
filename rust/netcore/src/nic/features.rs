//! Offload feature bits (the kernel's `NETIF_F_*`) and rvnic's rules for combining them.
//!
//! The bit numbers are the kernel's `NETIF_F_*_BIT` values for 7.2; the module's KUnit suite
//! checks every one against the kernel's own definitions, so they cannot drift.
//!
//! The rules are those of a NIC whose TSO engine needs scatter-gather and checksum offload:
//! segmenting a large frame means gathering its pieces and filling in a checksum per segment.

/// Bit numbers of the features rvnic uses (`NETIF_F_*_BIT`).
pub mod bit {
    /// Scatter-gather.
    pub const SG: u32 = 0;
    /// Checksum offload for any protocol.
    pub const HW_CSUM: u32 = 3;
    /// DMA to high memory.
    pub const HIGHDMA: u32 = 5;
    /// Frame lists (skb frag_list).
    pub const FRAGLIST: u32 = 6;
    /// Generic receive offload.
    pub const GRO: u32 = 14;
    /// First GSO type bit: GSO type `t` is bit `GSO_SHIFT + t`.
    pub const GSO_SHIFT: u32 = 16;
    /// TCPv4 segmentation offload.
    pub const TSO: u32 = 16;
    /// TCP ECN with TSO.
    pub const TSO_ECN: u32 = 18;
    /// TSO that may mangle IPv4 IDs.
    pub const TSO_MANGLEID: u32 = 19;
    /// TCPv6 segmentation offload.
    pub const TSO6: u32 = 20;
    /// GRE segmentation.
    pub const GSO_GRE: u32 = 22;
    /// GRE with checksum.
    pub const GSO_GRE_CSUM: u32 = 23;
    /// IP-in-IPv4.
    pub const GSO_IPXIP4: u32 = 24;
    /// IP-in-IPv6.
    pub const GSO_IPXIP6: u32 = 25;
    /// UDP tunnels.
    pub const GSO_UDP_TUNNEL: u32 = 26;
    /// UDP tunnels with checksum.
    pub const GSO_UDP_TUNNEL_CSUM: u32 = 27;
    /// SCTP.
    pub const GSO_SCTP: u32 = 30;
    /// UDP (USO).
    pub const GSO_UDP_L4: u32 = 33;
    /// Frame-list GSO.
    pub const GSO_FRAGLIST: u32 = 34;
    /// Last GSO type bit.
    pub const GSO_LAST: u32 = 35;
    /// Receive checksum offload.
    pub const RXCSUM: u32 = 40;
}

const fn f(b: u32) -> u64 {
    1u64 << b
}

/// Scatter-gather.
pub const SG: u64 = f(bit::SG);
/// Checksum offload for any protocol.
pub const HW_CSUM: u64 = f(bit::HW_CSUM);
/// DMA to high memory.
pub const HIGHDMA: u64 = f(bit::HIGHDMA);
/// Frame lists.
pub const FRAGLIST: u64 = f(bit::FRAGLIST);
/// TCPv4 segmentation offload.
pub const TSO: u64 = f(bit::TSO);
/// TCPv6 segmentation offload.
pub const TSO6: u64 = f(bit::TSO6);
/// Generic receive offload.
pub const GRO: u64 = f(bit::GRO);
/// Receive checksum offload.
pub const RXCSUM: u64 = f(bit::RXCSUM);
/// Every GSO type bit.
pub const GSO_MASK: u64 = (f(bit::GSO_LAST + 1) - 1) & !(f(bit::GSO_SHIFT) - 1);
/// The GSO types with a software fallback (`NETIF_F_GSO_SOFTWARE`; ACCECN, bit 35, included).
pub const GSO_SOFTWARE: u64 = TSO
    | TSO6
    | f(bit::TSO_ECN)
    | f(bit::TSO_MANGLEID)
    | f(bit::GSO_LAST)
    | f(bit::GSO_SCTP)
    | f(bit::GSO_UDP_L4)
    | f(bit::GSO_FRAGLIST);
/// Tunnel GSO types (`NETIF_F_GSO_ENCAP_ALL`).
pub const GSO_ENCAP_ALL: u64 = f(bit::GSO_GRE)
    | f(bit::GSO_GRE_CSUM)
    | f(bit::GSO_IPXIP4)
    | f(bit::GSO_IPXIP6)
    | f(bit::GSO_UDP_TUNNEL)
    | f(bit::GSO_UDP_TUNNEL_CSUM);

/// What rvnic advertises and lets `ethtool -K` toggle: SG, HW_CSUM, RXCSUM, HIGHDMA,
/// FRAGLIST, TSO, TSO6 and the rest of GSO_SOFTWARE, and tunnel GSO (as veth does).
pub const RVNIC: u64 = SG | HW_CSUM | RXCSUM | HIGHDMA | FRAGLIST | GSO_SOFTWARE | GSO_ENCAP_ALL;

/// Applies rvnic's rules to a requested feature set: without checksum offload there is no
/// scatter-gather (a gathered frame's checksum could not be filled in), without scatter-gather
/// no frame lists and no segmentation offload of any kind.
pub fn fix(mut wanted: u64) -> u64 {
    if wanted & HW_CSUM == 0 {
        wanted &= !SG;
    }
    if wanted & SG == 0 {
        wanted &= !(FRAGLIST | GSO_MASK);
    }
    wanted
}

/// All TCP segmentation offloads (`NETIF_F_ALL_TSO`).
pub const ALL_TSO: u64 = TSO | TSO6 | f(bit::TSO_ECN) | f(bit::TSO_MANGLEID);

/// True when GRO on the receiving side can gain anything from a sender with
/// `sender_features`: a sender that segments TCP itself (TSO) hands over frames that are
/// aggregated already, and GRO's per-frame flow lookups would only cost (veth's rule).
pub fn gro_worthwhile(sender_features: u64) -> bool {
    sender_features & ALL_TSO == 0
}

/// True when a GSO frame may cross to a receiver with `features` as one frame. A receiver
/// without GRO is treated as one that cannot take frames larger than its MTU: the sender's
/// TSO engine cuts them into wire-sized frames first.
pub fn receiver_takes_gso(receiver_features: u64) -> bool {
    receiver_features & GRO != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(GSO_MASK.count_ones(), bit::GSO_LAST - bit::GSO_SHIFT + 1);
        assert_ne!(GSO_MASK & TSO, 0);
        assert_ne!(GSO_MASK & TSO6, 0);
        assert_eq!(GSO_MASK & (SG | HW_CSUM | GRO | RXCSUM), 0);
    }

    #[test]
    fn fix_rules() {
        assert_eq!(fix(RVNIC), RVNIC);
        let no_csum = fix(RVNIC & !HW_CSUM);
        assert_eq!(no_csum & (SG | TSO | TSO6 | FRAGLIST), 0);
        assert_ne!(no_csum & RXCSUM, 0);
        let no_sg = fix(RVNIC & !SG);
        assert_eq!(no_sg & (TSO | TSO6 | FRAGLIST), 0);
        assert_ne!(no_sg & HW_CSUM, 0);
        // Idempotent, and never adds a feature.
        for w in [0, RVNIC, RVNIC & !SG, RVNIC & !HW_CSUM, u64::MAX] {
            assert_eq!(fix(fix(w)), fix(w));
            assert_eq!(fix(w) & !w, 0);
        }
    }

    #[test]
    fn gro_only_for_senders_without_tso() {
        assert!(!gro_worthwhile(RVNIC));
        assert!(!gro_worthwhile(TSO6));
        assert!(gro_worthwhile(RVNIC & !ALL_TSO));
        assert!(gro_worthwhile(0));
    }

    #[test]
    fn gso_crossing() {
        assert!(receiver_takes_gso(RVNIC | GRO));
        assert!(!receiver_takes_gso(RVNIC));
    }
}
