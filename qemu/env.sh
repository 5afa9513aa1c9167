# Sourced by the build and run scripts: where things live and how the kernel toolchain is called.
# shellcheck shell=bash
RVNET_ROOT=${RVNET_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
RVNET_CACHE=${RVNET_CACHE:-$HOME/.cache/rvnet}
RVNET_TOOLS=$RVNET_CACHE/tools
LLVM_BIN=/usr/lib/llvm-19/bin
export LIBCLANG_PATH=/usr/lib/llvm-19/lib
export PATH=$LLVM_BIN:$RVNET_TOOLS/venv/bin:$RVNET_TOOLS/bin:$PATH
# The kernel's Rust must be Debian's rustc-web with its matching library source, not rustup's.
KMAKE_VARS=(LLVM=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
            "BINDGEN=$RVNET_TOOLS/bin/bindgen" RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library
            CLIPPY_DRIVER=/usr/bin/clippy-driver)

# kernel_key PROFILE: hash of everything the kernel of PROFILE is built from.
kernel_key() {
  local profile=$1
  {
    dpkg-query -W -f='${Version}\n' linux-source-7.2
    /usr/bin/rustc --version
    "$LLVM_BIN/clang" --version | head -n 1
    cat "$RVNET_ROOT/qemu/build-kernel" "$RVNET_ROOT/qemu/config/common.config" \
        "$RVNET_ROOT/qemu/config/$profile.config"
    cat "$RVNET_ROOT"/qemu/patches/*.patch
  } | sha256sum | cut -c1-16
}

# kernel_dir PROFILE: the cached, built tree for PROFILE's current inputs.
kernel_dir() { echo "$RVNET_CACHE/kernel/$1-$(kernel_key "$1")/linux-source-7.2"; }
