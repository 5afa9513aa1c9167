// SPDX-License-Identifier: GPL-2.0

//! KUnit cases for what only the kernel can check: datagrams built in real sk_buffs, the
//! receive queue's SO_RCVBUF accounting on a real socket, and the receive path's verdicts
//! (counted drop, delivery, or back to Linux) on real frames.

use kernel::prelude::*;

#[kunit_tests(rvnet_af_rvnet)]
mod tests {
    use super::super::output::HEADROOM;
    use super::super::{input, socket, AfRvnet, Stack, C};
    use crate::net::proto::init_net_state;
    use crate::net::skb::Skb;
    use crate::net::socket::{KernelSocket, SockType};
    use crate::netcore::ipv4::icmp_out;
    use crate::netcore::ipv4::input::check;
    use crate::netcore::wire::ipv4::{Ipv4Repr, Protocol};
    use crate::netcore::wire::udp::UdpPacket;
    use crate::netcore::wire::{EtherType, Ipv4Address};
    use kernel::prelude::*;

    const A: Ipv4Address = Ipv4Address::new(198, 18, 0, 1);
    const B: Ipv4Address = Ipv4Address::new(198, 18, 0, 2);

    fn stack() -> Result<&'static Stack> {
        init_net_state::<AfRvnet>().ok_or(ENODEV)
    }

    /// An ICMP echo request from A to `dst` in a fresh frame, as it arrives (data at the IP
    /// header, protocol IPv4).
    fn echo_frame(dst: Ipv4Address) -> Result<Skb> {
        let mut buf = [0u8; 64];
        let n =
            icmp_out::echo_request(A, dst, 7, 64, 1, 1, b"rvnet", &mut buf).map_err(|_| EINVAL)?;
        let mut skb = Skb::alloc_tx(n as u32, 0)?;
        skb.put(n as u32).copy_from_slice(&buf[..n]);
        skb.set_protocol(EtherType::Ipv4.into());
        Ok(skb)
    }

    #[test]
    fn udp_datagram_built_in_an_skb() -> Result {
        let payload = b"hello rvnet";
        let total = 28 + payload.len();
        let mut skb = Skb::alloc_tx(total as u32, HEADROOM)?;
        let buf = skb.put(total as u32);
        buf[28..].copy_from_slice(payload);
        let ip = Ipv4Repr {
            src: A,
            dst: B,
            protocol: Protocol::Udp,
            payload_len: total - 20,
            ttl: 64,
            ident: 0x1234,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        };
        socket::build_udp(buf, &ip, 40000, 7, false)?;
        let ip = check(skb.data()).map_err(|_| EINVAL)?;
        assert_eq!((ip.src, ip.dst, ip.protocol), (A, B, Protocol::Udp));
        assert_eq!((ip.total_len, ip.ident, ip.ttl), (total, 0x1234, 64));
        let udp = UdpPacket::new_checked(&skb.data()[20..]).map_err(|_| EINVAL)?;
        assert!(udp.verify_checksum(A, B));
        assert_eq!((udp.src_port(), udp.dst_port()), (40000, 7));
        assert_eq!(udp.payload(), payload);
        // The headroom takes the Ethernet header the device adds.
        assert_eq!(skb.push(14).len(), 14);
        assert_eq!(skb.len() as usize, total + 14);
        Ok(())
    }

    #[test]
    fn receive_queue_charges_rcvbuf_and_counts_drops() -> Result {
        let s = KernelSocket::new(SockType::Dgram)?;
        s.set_rcvbuf(4096)?;
        let sk = s.sk()?;
        let mut queued = 0;
        let refused = loop {
            let mut skb = Skb::alloc_tx(1000, 0)?;
            skb.put(1000);
            skb.set_source(A.0, 9);
            match sk.queue_rcv(skb) {
                Ok(()) => queued += 1,
                Err(back) => break back,
            }
            // SO_RCVBUF must fill long before this.
            assert!(queued < 64);
        };
        // The refused datagram comes back whole, and is counted on the socket.
        assert_eq!(refused.len(), 1000);
        assert!(queued >= 1);
        assert_eq!(sk.drops(), 1);
        assert!(sk.rmem() >= queued * 1000);
        assert!(sk.rmem() <= sk.rcvbuf() + 4096);
        let mut again = Skb::alloc_tx(1000, 0)?;
        again.put(1000);
        assert!(sk.queue_rcv(again).is_err());
        assert_eq!(sk.drops(), 2);
        Ok(())
    }

    #[test]
    fn malformed_ipv4_is_dropped_and_counted() -> Result {
        let st = stack()?;
        type Corrupt = fn(&mut [u8]);
        let cases: [(Corrupt, C); 4] = [
            (|b| b[0] = 0x65, C::ip_rx_bad_version),
            (|b| b[0] = 0x44, C::ip_rx_bad_header_len),
            (|b| b[10] ^= 0xff, C::ip_rx_bad_csum),
            // Total length past the end of the frame; the header checksum is refreshed.
            (
                |b| {
                    b[2..4].copy_from_slice(&1000u16.to_be_bytes());
                    b[10..12].copy_from_slice(&[0, 0]);
                    let c = crate::netcore::checksum::checksum(&b[..20]);
                    b[10..12].copy_from_slice(&c.to_be_bytes());
                },
                C::ip_rx_truncated,
            ),
        ];
        for (corrupt, counter) in cases {
            // To the limited broadcast address, which every stack takes as its own (the
            // initial namespace's stack has no address).
            let mut skb = echo_frame(Ipv4Address::BROADCAST)?;
            corrupt(skb.data_mut()?);
            let before = st.counters.get(counter as usize);
            // Consumed (dropped), not handed back to Linux.
            assert!(input::rx(st, skb).is_ok());
            assert_eq!(st.counters.get(counter as usize), before + 1);
        }
        Ok(())
    }

    #[test]
    fn frames_not_for_the_stack_go_back_to_linux() -> Result {
        let st = stack()?;
        // A valid datagram for an address the stack does not have.
        let before = st.counters.get(C::ip_rx_not_ours as usize);
        let back = input::rx(st, echo_frame(B)?);
        assert!(back.is_err());
        assert_eq!(st.counters.get(C::ip_rx_not_ours as usize), before + 1);
        // Anything but IPv4 and ARP.
        let mut v6 = echo_frame(B)?;
        v6.set_protocol(0x86dd);
        assert!(input::rx(st, v6).is_err());
        Ok(())
    }
}
