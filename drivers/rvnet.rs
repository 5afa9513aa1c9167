// SPDX-License-Identifier: GPL-2.0

//! rvnet: a Rust rendering of the Linux packet path, as one loadable module.
//!
//! It will hold two things: rvnic, a virtual NIC whose ports come in pairs (transmit on one
//! port lands in a ring of its peer and is drained by NAPI), and AF_RVNET, a socket family
//! with its own ARP, IPv4, ICMP and UDP. This file is the module root: it mounts the three
//! layers of the crate and registers what the module provides.
//!
//! - [`netcore`]: the pure protocol core (no `kernel::`, no `unsafe`), shared with host tests.
//! - [`net`]: the kernel abstraction layer, the only place with `unsafe`.
//! - the drivers, here and beside this file, in safe Rust over the two.

use kernel::prelude::*;

#[path = "../rust/netcore/src/lib.rs"]
pub mod netcore;

#[path = "../rust/net/mod.rs"]
pub mod net;

mod af_rvnet;
mod rvnic;

/// The module's version, also in modinfo (see `rust/net/helpers.c`).
pub const VERSION: &str = include_str!("../VERSION").trim_ascii();

module! {
    type: Rvnet,
    name: "rvnet",
    authors: ["rvnet developers"],
    description: "rvnet: the rvnic virtual NIC and the AF_RVNET protocol family",
    license: "GPL",
    alias: ["rtnl-link-rvnic"],
}

/// The module: while it is loaded, the rvnic link type and the AF_RVNET family are
/// registered.
#[pin_data(PinnedDrop)]
struct Rvnet {
    #[pin]
    rvnic: rvnic::LinkRegistration<rvnic::Port>,
    #[pin]
    af_rvnet: af_rvnet::Registration,
}

fn selftest() -> Result {
    if let Err(member) = net::layout::check() {
        pr_err!(
            "bindgen misplaced {}: rebuild against matching bindings\n",
            member
        );
        return Err(EINVAL);
    }
    if net::params::selftest() {
        for (name, run) in netcore::selftest::ALL {
            if let Err(why) = run() {
                pr_err!("selftest {} failed: {}\n", name, why);
                return Err(EINVAL);
            }
        }
        // The FIB's check grows its storage through an allocator: the kernel's.
        if let Err(why) = netcore::selftest::fib_lpm_and_cache(kvvec_u32) {
            pr_err!("selftest fib_lpm_and_cache failed: {}\n", why);
            return Err(EINVAL);
        }
    }
    Ok(())
}

/// Empty kernel storage of `n` words for netcore's tables (`None` if it cannot be had).
fn kvvec_u32(n: usize) -> Option<kernel::alloc::KVVec<u32>> {
    kernel::alloc::KVVec::with_capacity(n, kernel::alloc::flags::GFP_KERNEL).ok()
}

impl kernel::InPlaceModule for Rvnet {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let pairs = net::params::pairs();
        let checks = || -> Result {
            selftest()?;
            if pairs > rvnic::MAX_LOAD_PAIRS {
                pr_err!("pairs={} is more than {}\n", pairs, rvnic::MAX_LOAD_PAIRS);
                return Err(EINVAL);
            }
            Ok(())
        };
        let ready = checks();
        try_pin_init!(Self {
            rvnic <- {
                ready?;
                rvnic::LinkRegistration::new()
            },
            af_rvnet <- af_rvnet::Registration::new(module),
        })
        .pin_chain(move |this| {
            for _ in 0..pairs {
                this.rvnic.create_pair()?;
            }
            pr_info!("rvnet {} loaded\n", VERSION);
            Ok(())
        })
    }
}

#[pinned_drop]
impl PinnedDrop for Rvnet {
    fn drop(self: Pin<&mut Self>) {
        pr_info!("rvnet {} unloaded\n", VERSION);
    }
}

/// The protocol core's known-answer checks (`netcore::selftest`) as KUnit cases: the same
/// functions `cargo test` runs on the host, here built with the kernel's flags.
#[kunit_tests(rvnet_netcore)]
mod netcore_tests {
    use crate::netcore::selftest;

    #[test]
    fn checksum_rfc1071() {
        assert_eq!(selftest::checksum_rfc1071(), Ok(()));
    }

    #[test]
    fn checksum_ipv4_header() {
        assert_eq!(selftest::checksum_ipv4_header(), Ok(()));
    }

    #[test]
    fn checksum_odd_pieces() {
        assert_eq!(selftest::checksum_odd_pieces(), Ok(()));
    }

    #[test]
    fn ethernet_parse() {
        assert_eq!(selftest::ethernet_parse(), Ok(()));
    }

    #[test]
    fn ethernet_malformed() {
        assert_eq!(selftest::ethernet_malformed(), Ok(()));
    }

    #[test]
    fn arp_parse_and_reply() {
        assert_eq!(selftest::arp_parse_and_reply(), Ok(()));
    }

    #[test]
    fn arp_malformed() {
        assert_eq!(selftest::arp_malformed(), Ok(()));
    }

    #[test]
    fn parsers_total() {
        assert_eq!(selftest::parsers_total(), Ok(()));
    }

    #[test]
    fn ring_wrap_full_empty() {
        assert_eq!(selftest::ring_wrap_full_empty(), Ok(()));
    }

    #[test]
    fn ring_resize_with_entries() {
        assert_eq!(selftest::ring_resize_with_entries(), Ok(()));
    }

    #[test]
    fn features_fix_ups() {
        assert_eq!(selftest::features_fix_ups(), Ok(()));
    }

    #[test]
    fn stats_table() {
        assert_eq!(selftest::stats_table(), Ok(()));
    }

    #[test]
    fn ipv4_parse_and_checksum() {
        assert_eq!(selftest::ipv4_parse_and_checksum(), Ok(()));
    }

    #[test]
    fn udp_checksum_roundtrip() {
        assert_eq!(selftest::udp_checksum_roundtrip(), Ok(()));
    }

    #[test]
    fn icmp_echo_roundtrip() {
        assert_eq!(selftest::icmp_echo_roundtrip(), Ok(()));
    }

    #[test]
    fn arp_resolution_releases_in_order() {
        assert_eq!(selftest::resolution_releases_in_order(), Ok(()));
    }

    #[test]
    fn arp_request_teaches_the_target() {
        assert_eq!(selftest::request_teaches_the_target(), Ok(()));
    }

    #[test]
    fn arp_retries_then_failure_across_wrap() {
        assert_eq!(selftest::retries_then_failure_across_wrap(), Ok(()));
    }

    #[test]
    fn arp_entries_per_device() {
        assert_eq!(selftest::entries_per_device(), Ok(()));
    }

    #[test]
    fn arp_limits_without_allocation() {
        assert_eq!(selftest::limits_without_allocation(), Ok(()));
    }

    use super::kvvec_u32;

    #[test]
    fn fib_lpm_and_cache() {
        assert_eq!(selftest::fib_lpm_and_cache(kvvec_u32), Ok(()));
    }

    #[test]
    fn frag_out_of_order() {
        assert_eq!(selftest::frag_out_of_order(), Ok(()));
    }

    /// Every entry of the self-test table runs and passes here, under its name, so that one
    /// added to the table without a case above still runs under KUnit (and the VM test
    /// `kunit_suite_passed_in_guest` checks by name that each has a case of its own). Names
    /// are unique: the cases and the results are matched by them.
    #[test]
    fn every_selftest_is_a_case() {
        assert!(!selftest::ALL.is_empty());
        for (i, (name, run)) in selftest::ALL.iter().enumerate() {
            let outcome = run();
            if let Err(why) = outcome {
                kernel::pr_err!("selftest {} failed: {}\n", name, why);
            }
            assert!(outcome.is_ok());
            let unique = selftest::ALL[..i].iter().all(|(other, _)| other != name);
            if !unique {
                kernel::pr_err!("selftest {} is in the table twice\n", name);
            }
            assert!(unique);
        }
    }
}
