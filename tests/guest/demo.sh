#!/usr/bin/env bash
# The guest half of `make demo`: what rvnet does, shown step by step.
set -eu
ko=$RVNET_ROOT/rvnet.ko
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '  $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/    /'; }
counters() { # counters NS DEV: the counters that prove the path
  ip netns exec "$1" ethtool -S "$2" | grep -E "_(enqueued|interrupts|polls|polls_full|packets|gro_merged|stops|wakes|gso_segmented): " | sed 's/^ */    /'
}

step "guest kernel: $(uname -r), $(nproc) CPUs, debug options on"
dmesg | grep -E 'KernelAddressSanitizer|Lock dependency validator|kmemleak: Kernel' | sed 's/^/  /' || true

step "modinfo rvnet.ko"
modinfo "$ko" | grep -E '^(version|description|alias|parm):' | sed 's/^/  /'

step "ip link add creates a pair; the kernel loads rvnet.ko by its alias (rtnl-link-rvnic)"
ip netns add left
ip netns add right
show ip link add rvn0 netns left type rvnic peer name rvn1 netns right
dmesg | grep 'rvnet:' | tail -n 1 | sed 's/^/  /'
echo "  KUnit suites that ran at load:"
for r in /sys/kernel/debug/kunit/rvnet_*/results; do
  s=$(basename "$(dirname "$r")"); echo "    $s: $(grep -c '^    ok' "$r") ok, $(grep -c '^    not ok' "$r") not ok"
done
ip -n left addr add 198.18.0.1/24 dev rvn0
ip -n right addr add 198.18.0.2/24 dev rvn1
ip -n left link set rvn0 up
ip -n right link set rvn1 up
ip -n left link set lo up
ip -n right link set lo up
sleep 1
show ip -n left -d link show rvn0
show ip netns exec left ethtool -i rvn0

step "ping across the pair: xmit on rvn0 -> rvn1's ring -> interrupt -> NAPI poll -> IP"
show ip netns exec left ping -c 3 -i 0.2 198.18.0.2
echo "  rvn1 (receiver) counters:"
counters right rvn1

step "a 64 MB TCP transfer, every byte checked: TSO frames cross the pair whole"
ip netns exec right rvnet-vmtest tcp-sink 198.18.0.2:5000 > /tmp/rvnet-demo-sink.txt &
sleep 0.5
ip netns exec left timeout 20 tcpdump -nn -i rvn0 -c 3 'tcp and greater 3000' 2>/dev/null |
  sed 's/^/    tcpdump on rvn0, frames larger than the 1500-byte MTU: /' &
sleep 1.5
show ip netns exec left rvnet-vmtest tcp-source 198.18.0.2:5000 67108864
wait
echo "  sink: $(tail -n 1 /tmp/rvnet-demo-sink.txt)"
echo "  rvn1 (receiver) counters:"
counters right rvn1

step "the same with TSO and GSO off at the sender: MTU-sized frames, merged again by GRO"
ip netns exec left ethtool -K rvn0 tso off gso off
ip netns exec right rvnet-vmtest tcp-sink 198.18.0.2:5001 > /tmp/rvnet-demo-sink.txt &
sleep 0.5
show ip netns exec left rvnet-vmtest tcp-source 198.18.0.2:5001 16777216
wait
echo "  sink: $(tail -n 1 /tmp/rvnet-demo-sink.txt)"
echo "  rvn1 (receiver) counters:"
counters right rvn1
ip netns exec left ethtool -K rvn0 tso on gso on

step "backpressure: a 2-slot ring drained by a NAPI thread; the sender's queue stops and is woken"
ip netns exec right ethtool -G rvn1 rx 2
ip netns exec right sh -c "echo 1 > /sys/class/net/rvn1/threaded"
for port in 5002 5003; do ip netns exec right rvnet-vmtest tcp-sink 198.18.0.2:$port > /dev/null & done
sleep 0.5
for port in 5002 5003; do ip netns exec left rvnet-vmtest tcp-source 198.18.0.2:$port 16777216 > /dev/null & done
wait
show ip netns exec left sh -c "ethtool -S rvn0 | grep -E 'stops|wakes|drop_ring_full'"
show ip netns exec right sh -c "ethtool -g rvn1 | sed -n '7,8p'"

step "ip -s link: the device totals are the sums of the queue counters"
show ip -n right -s link show rvn1

step "rmmod rvnet: both ports go with it"
ip netns del left
ip netns del right
rmmod rvnet
dmesg | grep 'rvnet:' | tail -n 1 | sed 's/^/  /'
