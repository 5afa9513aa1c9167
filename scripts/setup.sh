#!/usr/bin/env bash
# Installs what rvnet needs on a Debian 12 machine: Debian packages, the 7.2 kernel source from
# trixie-backports (pinned so nothing else comes from that suite), bindgen-cli from crates.io
# and virtme-ng from PyPI. Idempotent: a second run checks and installs nothing.
set -euo pipefail

CACHE=${RVNET_CACHE:-$HOME/.cache/rvnet}
TOOLS=$CACHE/tools
mkdir -p "$TOOLS"

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

PKGS=(
  rustc-web rust-web-src rust-web-clippy
  clang-19 lld-19 llvm-19 libclang-19-dev
  build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils kmod
  qemu-system-x86 busybox-static udev
  iproute2 iputils-ping ethtool tcpdump iperf3 python3 python3-venv python3-yaml procps
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
need_src=0
dpkg-query -W -f='${Status}' linux-source-7.2 2>/dev/null | grep -q "install ok installed" || need_src=1

if [ ${#missing[@]} -gt 0 ] || [ $need_src -eq 1 ]; then
  # trixie-backports carries linux-source-7.2. Reuse the URI and key of the system's own Debian
  # source so that no host name is written here, and pin the suite to priority 1.
  list=/etc/apt/sources.list.d/rvnet-trixie-backports.sources
  if [ ! -f "$list" ]; then
    src=/etc/apt/sources.list.d/debian.sources
    uri=$(awk '/^URIs:/ {print $2; exit}' "$src")
    key=$(awk '/^Signed-By:/ {print $2; exit}' "$src")
    [ -n "$uri" ] || { echo "setup: no Debian URI found in $src" >&2; exit 1; }
    printf 'Types: deb\nURIs: %s\nSuites: trixie-backports\nComponents: main\nSigned-By: %s\n' \
      "$uri" "${key:-/usr/share/keyrings/debian-archive-keyring.gpg}" | $SUDO tee "$list" >/dev/null
    printf 'Package: *\nPin: release n=trixie-backports\nPin-Priority: 1\n' \
      | $SUDO tee /etc/apt/preferences.d/rvnet-trixie-backports >/dev/null
  fi
  echo "setup: apt-get install ${missing[*]} ${need_src:+linux-source-7.2}"
  $SUDO apt-get update -q
  [ ${#missing[@]} -eq 0 ] || $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  [ $need_src -eq 0 ] || $SUDO apt-get install -y -q --no-install-recommends -t trixie-backports linux-source-7.2
fi

# bindgen: Debian 12's is too old for 7.2 (needs >= 0.71.1).
if [ ! -x "$TOOLS/bin/bindgen" ]; then
  echo "setup: cargo install bindgen-cli"
  LIBCLANG_PATH=/usr/lib/llvm-19/lib cargo install -q --locked --root "$TOOLS" bindgen-cli --version 0.73.2
fi

# virtme-ng runs the kernel under QEMU with the host's root shared read-only.
if [ ! -x "$TOOLS/venv/bin/vng" ]; then
  echo "setup: pip install virtme-ng"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q virtme-ng==1.42
fi
exit 0
