#!/usr/bin/env bash
# make demo: installs and builds what is missing, boots the test kernel and shows rvnet at work.
set -euo pipefail
. "$(dirname "$0")/../qemu/env.sh"
cd "$RVNET_ROOT"
bash scripts/setup.sh
scripts/build-module test
scripts/build-tools
exec qemu/run --timeout 900 -- "$RVNET_ROOT/tests/guest/demo.sh"
