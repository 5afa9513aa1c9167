# rvnet: top-level Makefile. The kernel's build reads Kbuild, not this file.
#
#   make          build rvnet.ko against the test kernel (building that kernel if not cached),
#                 rvnetctl, the guest tools (rvnet-vmtest) and the iproute2 plugin for
#                 "ip link add ... type rvnic peer ..." (tests/target/iproute2: IP_LIB_DIR)
#   make CLIPPY=1 the same, with clippy on the module (any warning fails)
#   make demo     set up, build, boot the VM and show rvnet at work
#   make check    every test: host, KUnit, VM; ends with "N passed, N failed"
#   make bench    rvnic beside veth on the bench kernel, with ratios
#   make setup    install what is missing (Debian packages, kernel source, bindgen, virtme-ng)
#   make kernel   build (or find) the cached test kernel
#   make host-test  the host tests alone
#   make fmt      rustfmt everything
#   make clean    remove build outputs from the checkout (the kernel cache stays)

SHELL := /bin/bash
.DEFAULT_GOAL := all
PROFILE ?= test

.PHONY: all setup kernel demo check bench host-test fmt fmt-check clean

all: setup
	CLIPPY=$(CLIPPY) scripts/build-module $(PROFILE)
	scripts/build-tools

setup:
	@bash scripts/setup.sh

kernel: setup
	@qemu/build-kernel $(PROFILE)

demo:
	@scripts/demo.sh

check:
	@scripts/check.sh

bench:
	@scripts/bench.sh

host-test:
	cd rust/netcore && cargo test && cargo test --release
	cd tests && cargo test && cargo test --release

fmt:
	cd rust/netcore && cargo fmt
	cd tests && cargo fmt
	rustfmt --edition 2021 drivers/rvnet.rs

fmt-check:
	cd rust/netcore && cargo fmt --check
	cd tests && cargo fmt --check
	rustfmt --edition 2021 --check drivers/rvnet.rs

clean:
	rm -rf rust/netcore/target tests/target
	find . -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' -o -name '.*.cmd' \
	  -o -name '*.rmeta' -o -name 'Module.symvers' -o -name 'modules.order' -o -name '*.d' \
	  | grep -v '^./\.git/' | xargs rm -f
