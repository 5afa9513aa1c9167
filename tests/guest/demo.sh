#!/usr/bin/env bash
# The guest half of `make demo`: what rvnet does, shown step by step.
set -eu
ko=$RVNET_ROOT/rvnet.ko
tmp=$(mktemp -d)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { # show CMD...: prints the command line (words with spaces quoted), then its output
  local a line='$'
  for a in "$@"; do case $a in *"'"*) line+=" \"$a\"" ;; *' '*) line+=" '$a'" ;; *) line+=" $a" ;; esac; done
  printf '  %s\n' "$line"; "$@" 2>&1 | sed 's/^/    /'
}
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

ip netns del left
ip netns del right

# ---- AF_RVNET: one datagram through the whole path, stage by stage ----

# Counter snapshots and their differences. A snapshot holds "NAME VALUE" lines: the rvnet
# counters of a namespace (/proc/net/rvnet/stats) or the ethtool -S counters of a port.
snap() { # snap TAG: every counter of the walk into $tmp/TAG.{left,right,rvn0,rvn1}
  for ns in left right; do ip netns exec $ns cat /proc/net/rvnet/stats > "$tmp/$1.$ns"; done
  ip netns exec left ethtool -S rvn0 | awk -F': *' 'NR > 1 { sub(/^ +/, "", $1); print $1, $2 }' > "$tmp/$1.rvn0"
  ip netns exec right ethtool -S rvn1 | awk -F': *' 'NR > 1 { sub(/^ +/, "", $1); print $1, $2 }' > "$tmp/$1.rvn1"
}
delta() { # delta [-a] WHERE REGEX: counters of WHERE matching REGEX that moved from snapshot
          # "before" to "after" (-a: also those that did not)
  local all=0; [ "$1" = -a ] && { all=1; shift; }
  awk -v re="^($2)\$" -v where="$1" -v all=$all 'NR == FNR { old[$1] = $2; next }
    $1 ~ re && (all || $2 != old[$1]) {
      printf "        %-6s %-27s %6d -> %-6d %+d\n", where, $1, old[$1], $2, $2 - old[$1] }' \
    "$tmp/before.$1" "$tmp/after.$1"
}
stage() { printf '  \033[1m%-14s\033[0m %s\n' "$1" "$2"; } # stage NAME EXPLANATION
wait_until() { # wait_until CMD...: polls CMD for up to 10 s
  local i=0
  until "$@"; do i=$((i + 1)); [ $i -lt 100 ] || { echo "  timed out waiting for: $*"; return 1; }; sleep 0.1; done
}
sockets() { # sockets NS INDENT: /proc/net/rvnet/sockets of NS, realigned
  ip netns exec "$1" cat /proc/net/rvnet/sockets |
    awk -v ind="$2" '{ printf "%s%-5s %-5s %-15s %-12s %-4s %7s %7s %5s\n", ind, $1, $2, $3, $4, $5, $6, $7, $8 }'
}
stat_of() { ip netns exec "$1" awk -v n="$2" '$1 == n { print $2 }' /proc/net/rvnet/stats; }
stat_is() { [ "$(stat_of "$1" "$2")" = "$3" ]; } # stat_is NS NAME VALUE

step "AF_RVNET: two namespaces, each with its own rvnet stack, over one rvnic pair"
ip netns add left
ip netns add right
ip link add rvn0 netns left type rvnic peer name rvn1 netns right
for p in left:rvn0 right:rvn1; do
  ns=${p%:*} dev=${p#*:}
  # Linux's IPv6 would send its own frames (DAD, MLD) and blur the counters below.
  ip netns exec $ns sysctl -qw net.ipv6.conf.$dev.disable_ipv6=1
  ip -n $ns link set $dev up
done
show ip netns exec left rvnetctl addr add 198.18.0.1/24 dev rvn0
show ip netns exec right rvnetctl addr add 198.18.0.2/24 dev rvn1
sleep 1
show ip netns exec left rvnetctl addr show
show ip netns exec left rvnetctl route show
echo "  (addr add attaches the port, adds the connected route and sends a gratuitous ARP;"
echo "   the ARP caches are flushed so that the first datagram has to resolve)"
ip netns exec left rvnetctl arp flush
ip netns exec right rvnetctl arp flush

step "datagram 1: left 198.18.0.1 -> right 198.18.0.2:7000, where a reader is already blocked"
mkfifo "$tmp/gate"
exec 3<>"$tmp/gate"
ip netns exec right rvnet-vmtest rvnet-udp-recv 7000 2 <&3 > "$tmp/reader" &
reader=$!
wait_until grep -q bound "$tmp/reader"
sleeping() { [ "$(awk '{ print $3 }' "/proc/$1/stat")" = S ]; }
wait_until sleeping $reader
sleep 0.3
echo "  reader: pid $reader in right, state $(awk '{ print $3 }' /proc/$reader/stat)," \
  "sleeping in $(cat /proc/$reader/wchan) (recvfrom)"
echo "  its socket in right's /proc/net/rvnet/sockets:"
sockets right '    '
snap before
show ip netns exec left rvnet-vmtest rvnet-udp-send 198.18.0.2 7000 "first datagram"
wait_until grep -q 'recvfrom returned' "$tmp/reader"
snap after
echo
echo "  what moved for this one datagram, in path order (before -> after):"
stage "socket send" "sendto(): UDP and IPv4 headers and the checksum written into one skb"
delta left 'udp_tx'
stage "route" "first lookup since the FIB changed: cache miss; FIB gives 198.18.0.0/24 dev rvn0"
delta left 'route_lookups|route_cache_hits|route_cache_misses'
stage "ARP request" "no entry for .2: the skb waits in an incomplete one; a broadcast asks who has .2"
delta left 'arp_tx_requests'
delta right 'arp_rx|arp_rx_requests|arp_tx_replies'
stage "ARP reply" "right answers, learning left from the request; the reply frees the waiting skb"
delta left 'arp_rx|arp_rx_replies'
delta rvn1 'tx_queue_[0-9]+_packets'
delta rvn0 'rx_queue_[0-9]+_(enqueued|interrupts|polls)'
echo "        the entries, in left's and right's /proc/net/rvnet/arp:"
ip netns exec left cat /proc/net/rvnet/arp | sed 1d | sed 's/^/          left   /'
ip netns exec right cat /proc/net/rvnet/arp | sed 1d | sed 's/^/          right  /'
stage "rvnic xmit" "rvn0's ndo_start_xmit puts each frame (ARP request, datagram) in rvn1's ring"
delta left 'ip_tx'
delta rvn0 'tx_queue_[0-9]+_(packets|bytes|stops)'
delta rvn1 'rx_queue_[0-9]+_enqueued'
stage "IRQ + NAPI" "each enqueue raised the virtual IRQ (napi_schedule); NAPI polls drained the ring"
delta rvn1 'rx_queue_[0-9]+_(interrupts|polls|polls_full|packets|bytes)'
stage "IP receive" "rvnet's rx handler on rvn1 takes the frame: IPv4 header checked, to us, UDP"
delta right 'rx_frames|ip_rx'
stage "socket queue" "UDP demux finds the socket bound to :7000; the skb joins its receive queue"
delta right 'udp_rx|udp_rx_no_port|udp_rx_queue_full'
stage "wakeup" "sk_data_ready wakes the reader sleeping in recvfrom, which copies it out:"
grep recvfrom "$tmp/reader" | head -n 1 | sed 's/^/        reader: /'

step "datagram 2: the same destination again; this time nobody is in recvfrom"
# Nothing moved since the last snapshot: it is the "before" of this one.
for f in left right rvn0 rvn1; do cp "$tmp/after.$f" "$tmp/before.$f"; done
show ip netns exec left rvnet-vmtest rvnet-udp-send 198.18.0.2 7000 "second datagram"
wait_until stat_is right udp_rx $(($(awk '$1 == "udp_rx" { print $2 }' "$tmp/before.right") + 1))
snap after
stage "send + route" "route cache hit: same destination, same FIB generation, no trie walk"
delta -a left 'udp_tx|route_lookups|route_cache_hits|route_cache_misses'
stage "ARP" "the entry is reachable: the frame leaves at once, no request"
delta -a left 'arp_tx_requests|ip_tx'
stage "rvnic + NAPI" "one frame this time: rvn0 -> rvn1's ring -> IRQ -> poll"
delta rvn0 'tx_queue_[0-9]+_packets'
delta rvn1 'rx_queue_[0-9]+_(enqueued|interrupts|polls|packets)'
stage "receive" "IPv4 then UDP, as before"
delta right 'ip_rx|udp_rx'
stage "socket queue" "nobody in recvfrom: the skb waits in the queue (RxQueue = its truesize)"
sockets right '        '
stage "read" "the reader calls recvfrom now: the datagram is there, no sleep"
echo >&3
wait "$reader"
grep recvfrom "$tmp/reader" | tail -n 1 | sed 's/^/        reader: /'
exec 3>&-

step "Linux's own stack as a peer: namespace linux pings rvnet's address"
ip netns add linux
ip link add rvn2 netns linux type rvnic peer name rvn3 netns right
ip -n linux addr add 198.18.1.1/24 dev rvn2
ip -n linux link set rvn2 up
ip -n right link set rvn3 up
ip netns exec right rvnetctl addr add 198.18.1.2/24 dev rvn3
sleep 1
ip netns exec right cat /proc/net/rvnet/stats > "$tmp/before.right"
show ip netns exec linux ping -c 3 -i 0.2 198.18.1.2
ip netns exec right cat /proc/net/rvnet/stats > "$tmp/after.right"
echo "  rvnet in right answered Linux's ARP request and its echo requests:"
delta right 'arp_rx_requests|arp_tx_replies|ip_rx|icmp_rx_echo_requests|icmp_tx_echo_replies|ip_tx'
show ip -n linux neigh show dev rvn2
echo "  and the other way, an rvnet raw ICMP socket pinging Linux:"
show ip netns exec right rvnet-vmtest rvnet-ping 198.18.1.1 3

step "rmmod rvnet: every port and every namespace's stack go with it"
ip netns del left
ip netns del right
ip netns del linux
# Namespaces are torn down asynchronously (cleanup_net): rmmod may have to wait for that.
wait_until rmmod rvnet 2>/dev/null
dmesg | grep 'rvnet:' | tail -n 1 | sed 's/^/  /'
rm -rf "$tmp"
