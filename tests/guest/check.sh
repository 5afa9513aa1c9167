#!/usr/bin/env bash
# The guest half of `make check` (run by scripts/check.sh through qemu/run): one boot runs the
# KUnit suites (at insmod), the VM tests, an unload and a kmemleak scan, and leaves every
# result in OUT for the host to judge.
set -u
out=$1
shift
suites=("$@")
leak=/sys/kernel/debug/kmemleak

# Forget whatever the boot itself left unreferenced: only what happens from here is ours.
[ -w $leak ] && echo clear > $leak

if insmod "$RVNET_ROOT/rvnet.ko" 2>"$out/insmod.err"; then
  echo ok > "$out/insmod.status"
else
  echo failed > "$out/insmod.status"
fi
for s in "${suites[@]}"; do
  [ -r "/sys/kernel/debug/kunit/$s/results" ] && cp "/sys/kernel/debug/kunit/$s/results" "$out/kunit-$s.ktap"
done

if [ -d /sys/module/rvnet ]; then
  # Two tests at once: the guest has two CPUs, and most of a test is programs starting.
  timeout 3600 rvnet-vmtest -j "${RVNET_VMTEST_JOBS:-2}" > "$out/vm.tap" 2>&1
  echo $? > "$out/vm.status"
  rmmod rvnet 2>>"$out/insmod.err" || echo "rmmod failed" >> "$out/insmod.err"
fi

if [ -w $leak ]; then
  # kmemleak reports only objects older than 5 s, found unreferenced by two scans.
  sleep 6
  echo scan > $leak
  echo scan > $leak
  cat $leak > "$out/kmemleak.txt"
fi
dmesg > "$out/dmesg.txt"
exit 0
