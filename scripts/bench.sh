#!/usr/bin/env bash
# make bench: builds the bench kernel (no debug options) and rvnet.ko against it, boots it,
# and runs tests/guest/bench.sh: rvnic beside veth on the same work, in the same boot, then
# AF_RVNET beside AF_INET on an rvnic pair. Before the VM, host benchmarks of netcore.
set -euo pipefail
. "$(dirname "$0")/../qemu/env.sh"
cd "$RVNET_ROOT"
bash scripts/setup.sh
kdir=$(qemu/build-kernel bench)
scripts/build-tools
# Build the bench module in its own directory, so the test build in the checkout stays.
bdir=$RVNET_CACHE/bench-module
mkdir -p "$bdir"
cp -a Kbuild VERSION drivers rust "$bdir/"
rm -rf "$bdir/rust/netcore/target"
make -s -C "$kdir" M="$bdir" "${KMAKE_VARS[@]}" modules
# The protocol core alone on the host first (rust/netcore/examples/bench.rs), then the VM.
(cd rust/netcore && cargo run --release --quiet --example bench)
echo
# QEMU (virtme-ng) reopens our stdout and stderr by path (/proc/self/fd/N), which truncates a
# regular file: through pipes, the lines above survive `make bench > FILE`.
qemu/run --profile bench --timeout 1800 -- "$RVNET_ROOT/tests/guest/bench.sh" "$bdir/rvnet.ko" \
  2> >(cat >&2) | cat
