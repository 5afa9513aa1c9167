#!/usr/bin/env bash
# The guest half of `make demo`: what rvnet does, shown step by step.
set -eu
ko=$RVNET_ROOT/rvnet.ko
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "guest kernel: $(uname -r), $(nproc) CPUs"
dmesg | grep -E 'KernelAddressSanitizer|Lock dependency validator|kmemleak: Kernel' | sed 's/^/  /' || true

step "modinfo $ko"
modinfo "$ko" | grep -E '^(filename|version|description|license|parm|vermagic):' | sed 's/^/  /'

step "insmod rvnet.ko"
insmod "$ko"
dmesg | grep 'rvnet:' | tail -n 3 | sed 's/^/  /'
echo "  /sys/module/rvnet/version: $(cat /sys/module/rvnet/version)"
for p in /sys/module/rvnet/parameters/*; do echo "  $p = $(cat "$p")"; done

step "KUnit suites run at insmod (from /sys/kernel/debug/kunit)"
for r in /sys/kernel/debug/kunit/rvnet_*/results; do sed 's/^/  /' "$r"; done

step "rmmod rvnet"
rmmod rvnet
dmesg | grep 'rvnet:' | tail -n 1 | sed 's/^/  /'
