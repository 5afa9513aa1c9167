#!/usr/bin/env bash
# Installs what rvnet needs on a Debian 12 machine: Debian packages, the 7.2 kernel source from
# trixie-backports (pinned so nothing else comes from that suite), bindgen-cli (cargo install)
# and virtme-ng (pip). Idempotent: a second run checks, installs nothing and prints
# nothing. Each step prints one line; what the installers print goes to a log
# (~/.cache/rvnet/setup.log), whose end is shown only if a step fails.
set -euo pipefail

CACHE=${RVNET_CACHE:-$HOME/.cache/rvnet}
TOOLS=$CACHE/tools
mkdir -p "$TOOLS"
LOG=$CACHE/setup.log

# step WHAT CMD...: runs CMD with its output in the log; one line on the terminal.
step() {
  local what=$1 rc=0 t0=$SECONDS
  shift
  printf 'setup: %s ... ' "$what"
  echo "=== $(date -u '+%F %T') $what: $*" >>"$LOG"
  "$@" >>"$LOG" 2>&1 || rc=$?
  if [ $rc -eq 0 ]; then
    echo "done ($((SECONDS - t0)) s)"
  else
    echo "failed (status $rc)"
    echo "setup: the last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2
    exit $rc
  fi
}

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

PKGS=(
  rustc-web rust-web-src rust-web-clippy
  clang-19 lld-19 llvm-19 libclang-19-dev
  build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils kmod
  qemu-system-x86 busybox-static
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
    echo "setup: added trixie-backports (pinned to priority 1) for linux-source-7.2"
  fi
  step "apt-get update" $SUDO apt-get update -q
  [ ${#missing[@]} -eq 0 ] || step "apt-get install ${#missing[@]} packages (${missing[*]})" \
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  [ $need_src -eq 0 ] || step "apt-get install linux-source-7.2 (trixie-backports)" \
    $SUDO apt-get install -y -q --no-install-recommends -t trixie-backports linux-source-7.2
fi

# bindgen: Debian 12's is too old for 7.2 (needs >= 0.71.1).
if [ ! -x "$TOOLS/bin/bindgen" ]; then
  step "cargo install bindgen-cli 0.73.2 (a build of a few minutes)" \
    env LIBCLANG_PATH=/usr/lib/llvm-19/lib cargo install -q --locked --root "$TOOLS" bindgen-cli --version 0.73.2
fi

# virtme-ng runs the kernel under QEMU with the host's root shared read-only.
if [ ! -x "$TOOLS/venv/bin/vng" ]; then
  step "python3 -m venv $TOOLS/venv" python3 -m venv "$TOOLS/venv"
  step "pip install virtme-ng 1.42" "$TOOLS/venv/bin/pip" install -q virtme-ng==1.42
fi
exit 0
