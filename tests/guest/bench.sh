#!/usr/bin/env bash
# The guest half of `make bench`: the same work on an rvnic pair and on a veth pair, in the
# same boot, so that only the ratio between them means anything.
#   bench.sh MODULE
set -u
ko=$1
insmod "$ko" || exit 1

# topo KIND [STACK]: namespaces bl/br joined by a pair of KIND (rvnic or veth), 198.18.0.1
# <-> .2, the addresses on Linux's stack (STACK inet, the default) or on rvnet's (rvnet: each
# namespace has its own rvnet stack, configured with rvnetctl, and the ports carry no Linux
# address).
topo() {
  local kind=$1 stack=${2:-inet} q=${3:-1}
  ip netns add bl; ip netns add br
  ip link add b0 netns bl numtxqueues "$q" numrxqueues "$q" type "$kind" \
    peer name b1 netns br numtxqueues "$q" numrxqueues "$q"
  # With 2 queues, a sender on CPU n transmits on queue n (XPS), which lands in the peer's
  # receive queue n, whose NAPI runs where that queue's interrupt was raised.
  if [ "$q" = 2 ]; then
    ip netns exec bl sh -c 'echo 1 > /sys/class/net/b0/queues/tx-0/xps_cpus; echo 2 > /sys/class/net/b0/queues/tx-1/xps_cpus'
  fi
  [ "$stack" = inet ] && { ip -n bl addr add 198.18.0.1/24 dev b0; ip -n br addr add 198.18.0.2/24 dev b1; }
  for s in "bl b0" "br b1"; do set -- $s; ip -n "$1" link set lo up; ip -n "$1" link set "$2" up; done
  # The same work on both: veth hands frames up without NAPI unless GRO is on, and veth ports
  # are noqueue while rvnic ports get the default qdisc (pfifo_fast) as a NIC does; give
  # both the same receive path and the same qdisc.
  ip netns exec br ethtool -K b1 gro on >/dev/null 2>&1
  for s in "bl b0" "br b1"; do set -- $s; ip netns exec "$1" tc qdisc replace dev "$2" root pfifo_fast; done
  if [ "$stack" = rvnet ]; then
    ip netns exec bl rvnetctl addr add 198.18.0.1/24 dev b0
    ip netns exec br rvnetctl addr add 198.18.0.2/24 dev b1
  fi
  sleep 1
  if [ "$stack" = rvnet ]; then
    ip netns exec bl rvnet-vmtest rvnet-ping 198.18.0.2 1 >/dev/null
  else
    ip netns exec bl ping -c 1 -W 2 198.18.0.2 >/dev/null
  fi
}
untopo() { ip netns del bl; ip netns del br; sleep 1; }

pktgen_pps() { # 64-byte frames (60 + FCS) from b0 to b1's MAC
  local mac; mac=$(ip netns exec br cat /sys/class/net/b1/address)
  ip netns exec bl sh -c "
    pg() { echo \"\$2\" > /proc/net/pktgen/\$1; }
    pg kpktgend_0 rem_device_all
    pg kpktgend_0 'add_device b0'
    pg b0 'count 300000'; pg b0 'pkt_size 60'; pg b0 'delay 0'
    pg b0 'dst 198.18.0.2'; pg b0 'dst_mac $mac'
    pg pgctrl start
    grep -o '[0-9]*pps' /proc/net/pktgen/b0 | tr -d pps"
}

iperf_tcp() { # streams -> Mbit/s
  ip netns exec br iperf3 -s -1 -D -p 5201 >/dev/null 2>&1; sleep 0.5
  ip netns exec bl iperf3 -c 198.18.0.2 -p 5201 -t 5 -P "$1" -J 2>/dev/null |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6))'
}

udp_rr() { # p50 p99 in microseconds
  ip netns exec br rvnet-vmtest udp-echo 198.18.0.2:7000 20000 >/dev/null &
  sleep 0.5
  ip netns exec bl rvnet-vmtest udp-rr 198.18.0.2:7000 20000 | awk '{print $2, $4}'
  kill %1 2>/dev/null; wait 2>/dev/null
}

declare -A R S
for kind in rvnic veth; do
  topo $kind
  R[$kind,pps]=$(pktgen_pps)
  R[$kind,tcp1]=$(iperf_tcp 1)
  R[$kind,tcp4]=$(iperf_tcp 4)
  read -r R[$kind,p50] R[$kind,p99] < <(udp_rr)
  untopo
done

# AF_RVNET beside AF_INET. Both ends of one rvnic pair run the same stack: rvnet's in each
# namespace (AF_RVNET sockets on both sides) against Linux's (AF_INET on both sides), with
# the same pair, GRO setting, qdiscs and programs (rvnet-vmtest bench-*, the family an
# argument). That is the fairest of the set-ups: every datagram crosses one sending and one
# receiving stack of the kind measured, so the ratio is rvnet's stack against Linux's. With
# Linux on one side and rvnet on the other, half of every figure would be Linux's in both
# runs, and the ratio would be diluted towards 1.
blast_pps() { # FAMILY SIZE -> datagrams/s counted by the receiver, sender's datagrams/s
  local out
  ip netns exec br rvnet-vmtest bench-sink "$1" 198.18.0.2:7200 4 > /tmp/rvnet-bench-sink.txt &
  sleep 0.5
  out=$(ip netns exec bl rvnet-vmtest bench-blast "$1" 198.18.0.2:7200 "$2" 6)
  wait
  echo "$(awk '/^pps/ {print $2}' /tmp/rvnet-bench-sink.txt) $(echo "$out" | awk '/^pps/ {print $2}')"
  grep -h '^bad' /tmp/rvnet-bench-sink.txt <(echo "$out") >&2
}
stack_rr() { # FAMILY -> p50 p99 in microseconds
  ip netns exec br rvnet-vmtest bench-echo "$1" 198.18.0.2:7100 20200 >/dev/null &
  sleep 0.5
  ip netns exec bl rvnet-vmtest bench-rr "$1" 198.18.0.2:7100 20000 200 | awk '/^p50/ {print $2, $4}'
  kill %1 2>/dev/null; wait 2>/dev/null
}
for stack in rvnet inet; do
  topo rvnic $stack
  read -r S[$stack,p50] S[$stack,p99] < <(stack_rr $stack)
  read -r S[$stack,rx64] S[$stack,tx64] < <(blast_pps $stack 64)
  read -r S[$stack,rx1400] S[$stack,tx1400] < <(blast_pps $stack 1400)
  untopo
done

# AF_RVNET again with full tables in both namespaces: 1,000,000 routes of an Internet-shaped
# table, 10,000 static ARP entries and 100,000 bound sockets (25,000 ports, 5000 to 29999,
# below the ephemeral range that the benchmark's unbound sockets draw from, on each of four
# addresses), loaded before the same request/response and 64-byte runs. The table loads are
# timed: rvnetctl -batch sends the routes 1,024 to a request.
declare -A L
topo rvnic rvnet
for s in "bl b0 198.18.0.11" "br b1 198.18.0.12"; do
  set -- $s
  for a in "$3" "${3%1?}3${3: -1}" "${3%1?}4${3: -1}"; do
    ip netns exec "$1" rvnetctl addr add "$a/24" dev "$2"
  done
  ip netns exec "$1" rvnetctl set arp_gc_thresh3 20000
  rvnet-vmtest bench-table /tmp/rvnet-table-$1 1000000 10000 "$2"
  t0=$(date +%s.%N)
  ip netns exec "$1" rvnetctl -batch /tmp/rvnet-table-$1 || echo "bench: loading the table in $1 failed" >&2
  L[$1,load]=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
  rm -f /tmp/rvnet-table-$1
done
holders=()
for s in "bl 198.18.0.1" "bl 198.18.0.11" "bl 198.18.0.31" "bl 198.18.0.41" \
         "br 198.18.0.2" "br 198.18.0.12" "br 198.18.0.32" "br 198.18.0.42"; do
  set -- $s
  fifo=$(mktemp -u /tmp/rvnet-hold.XXXXXX); mkfifo "$fifo"
  ip netns exec "$1" rvnet-vmtest hold-sockets rvnet "$2" 5000 25000 < "$fifo" > "$fifo.out" &
  exec {fd}>"$fifo"; holders+=("$fd:$fifo")
done
for h in "${holders[@]}"; do
  until grep -q '^ready\|^bad' "${h#*:}.out" 2>/dev/null; do sleep 1; done
  grep -h '^bad' "${h#*:}.out" >&2
done
L[socks]=$(ip netns exec br sh -c 'tail -n +2 /proc/net/rvnet/sockets | wc -l')
read -r L[p50] L[p99] < <(stack_rr rvnet)
read -r L[rx64] L[tx64] < <(blast_pps rvnet 64)
for h in "${holders[@]}"; do eval "exec ${h%%:*}>&-"; rm -f "${h#*:}" "${h#*:}.out"; done
wait
untopo

# AF_RVNET receiving on 1 queue against 2: two senders pinned to CPUs 0 and 1, two sinks
# (one port each), rvnet's stack on both ends; the sum of what the sinks read.
two_flows() { # -> datagrams/s read by both sinks together
  local p
  for p in 0 1; do
    ip netns exec br rvnet-vmtest bench-sink rvnet 198.18.0.2:$((7300 + p)) 4 > /tmp/rvnet-bench-sink$p.txt &
  done
  sleep 0.5
  for p in 0 1; do
    ip netns exec bl taskset -c $p rvnet-vmtest bench-blast rvnet 198.18.0.2:$((7300 + p)) 64 6 >/dev/null &
  done
  wait
  cat /tmp/rvnet-bench-sink0.txt /tmp/rvnet-bench-sink1.txt | awk '/^pps/ {s += $2} END {print s}'
}
declare -A Q
for q in 1 2; do
  topo rvnic rvnet $q
  Q[$q]=$(two_flows)
  untopo
done

ratio() { python3 -c "import sys; a,b=float(sys.argv[1] or 0),float(sys.argv[2] or 0); print(f'{a/b:.2f}' if b else 'n/a')" "$1" "$2"; }
printf '%-34s %12s %12s %8s\n' "benchmark (same boot)" rvnic veth rvnic/veth
for m in "pps:pktgen 64-byte frames (pps)" "tcp1:iperf3 TCP, 1 stream (Mbit/s)" "tcp4:iperf3 TCP, 4 streams (Mbit/s)" "p50:UDP request/response p50 (us)" "p99:UDP request/response p99 (us)"; do
  k=${m%%:*}; name=${m#*:}
  printf '%-34s %12s %12s %8s\n' "$name" "${R[rvnic,$k]}" "${R[veth,$k]}" "$(ratio "${R[rvnic,$k]}" "${R[veth,$k]}")"
done
echo "(higher is better for pps and Mbit/s; lower is better for latency)"
echo
printf '%-34s %12s %12s %8s\n' "rvnic pair, stack on both ends" AF_RVNET AF_INET rvnet/inet
for m in "rx64:UDP rx 64 B payload (dgram/s)" "tx64:  sender offered (dgram/s)" "rx1400:UDP rx 1400 B payload (dgram/s)" "tx1400:  sender offered (dgram/s)" "p50:UDP request/response p50 (us)" "p99:UDP request/response p99 (us)"; do
  k=${m%%:*}; name=${m#*:}
  printf '%-34s %12s %12s %8s\n' "$name" "${S[rvnet,$k]:-}" "${S[inet,$k]:-}" "$(ratio "${S[rvnet,$k]:-}" "${S[inet,$k]:-}")"
done
echo "(rx: datagrams the receiver read in 4 s while the sender blasted for 6 s; higher is better)"
echo
printf '%-34s %12s %12s %8s\n' "AF_RVNET, full tables vs empty" full empty full/empty
for m in "rx64:UDP rx 64 B payload (dgram/s)" "tx64:  sender offered (dgram/s)" "p50:UDP request/response p50 (us)" "p99:UDP request/response p99 (us)"; do
  k=${m%%:*}; name=${m#*:}
  printf '%-34s %12s %12s %8s\n' "$name" "${L[$k]:-}" "${S[rvnet,$k]:-}" "$(ratio "${L[$k]:-}" "${S[rvnet,$k]:-}")"
done
echo "(full: 1,000,000 routes, 10,000 ARP entries and 100,000 sockets in each namespace; the"
echo " receiver's stack held ${L[socks]:-?} sockets; 1,000,000 routes loaded by rvnetctl -batch"
echo " in ${L[bl,load]:-?} s and ${L[br,load]:-?} s)"
echo
printf '%-34s %12s %12s %8s\n' "AF_RVNET rx, 2 flows on 2 CPUs" "2 queues" "1 queue" "2q/1q"
printf '%-34s %12s %12s %8s\n' "UDP rx 64 B payload (dgram/s)" "${Q[2]:-}" "${Q[1]:-}" "$(ratio "${Q[2]:-}" "${Q[1]:-}")"
rmmod rvnet
