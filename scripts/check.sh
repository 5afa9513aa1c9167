#!/usr/bin/env bash
# make check: every test, and one verdict.
#  1. host: cargo test of the pure protocol crate and the user-space workspace; rustfmt;
#  2. lint: the module built with clippy (warnings fail), and no stack frame over 2 KiB;
#  3. guest, in one boot of the test (debug) kernel: the KUnit suites at insmod, the VM tests,
#     rmmod, and a kmemleak scan;
#  4. the guest's kernel log, which must hold no BUG, WARNING, Oops, KASAN, lockdep, UBSAN or
#     leak report.
# Ends with "N passed, N failed" over all of them (", N skipped" follows when a case was
# skipped: skips are counted apart, never as passes), and fails if anything failed or did not
# run.
set -uo pipefail
. "$(dirname "$0")/../qemu/env.sh"
cd "$RVNET_ROOT"

passed=0 failed=0 skipped=0
failures=()
tally() { # tally SUITE PASSED FAILED [SKIPPED]
  local s=${4:-0}
  if [ "$s" -gt 0 ]; then
    printf '%-44s %4d passed, %d failed, %d skipped\n' "$1" "$2" "$3" "$s"
  else
    printf '%-44s %4d passed, %d failed\n' "$1" "$2" "$3"
  fi
  passed=$((passed + $2)); failed=$((failed + $3)); skipped=$((skipped + s))
  [ "$3" -eq 0 ] || failures+=("$1")
}
verdict() { # the last line
  if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
  else
    echo "$passed passed, $failed failed"
  fi
}
broken() { # broken SUITE REASON: a suite that did not run counts as one failure
  printf '%-44s did not run: %s\n' "$1" "$2"
  failed=$((failed + 1)); failures+=("$1")
}

bash scripts/setup.sh || { echo "check: setup failed" >&2; exit 1; }

# 1. Host tests, in the release profile and in the debug one (overflow checks and debug
# assertions on). A test cargo reports as ignored is counted as skipped.
sum_of() { # sum_of WORD LOG: the sum of "N WORD" over the log's "test result:" lines
  awk -v w="$1" '/^test result:/ {for (i=1;i<=NF;i++) if ($i ~ "^" w ";?$") s+=$(i-1)} END {print s+0}' "$2"
}
for dir in rust/netcore tests; do
  for profile in release debug; do
    suite="host: cargo test ($dir, $profile)"
    flag=(); [ $profile = debug ] || flag=(--release)
    log=$(mktemp)
    rc=0
    (cd "$dir" && cargo test --no-fail-fast "${flag[@]}" 2>&1) >"$log" || rc=$?
    p=$(sum_of passed "$log"); f=$(sum_of failed "$log"); i=$(sum_of ignored "$log")
    if ! grep -q '^test result:' "$log"; then
      cat "$log"; broken "$suite" "no test result (build error?)"
    elif [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
      # cargo failed with no test failing: a test binary crashed, or something did not build.
      tail -n 40 "$log"; broken "$suite" "cargo test exited with $rc and no failed test"
    else
      [ "$f" -eq 0 ] || grep -E '^(test .* FAILED|---- |thread .* panicked)' "$log"
      tally "$suite" "$p" "$f" "$i"
    fi
    rm -f "$log"
  done
done

# rustfmt over all the Rust: the pure crate, the user-space workspace, the kernel side.
if make -s fmt-check >/dev/null 2>&1; then
  tally "lint: rustfmt" 1 0
else
  make -s fmt-check 2>&1 | head -n 40
  tally "lint: rustfmt" 0 1
fi

# 2. Kernel, module (with clippy) and the guest programs.
if ! CLIPPY=1 scripts/build-module test; then
  broken "build: rvnet.ko (clippy clean)" "build or lint failed"
  verdict
  exit 1
fi
tally "build: rvnet.ko (clippy clean)" 1 0
if scripts/frame-check >/dev/null; then
  tally "build: no stack frame over 2 KiB" 1 0
else
  scripts/frame-check || true
  tally "build: no stack frame over 2 KiB" 0 1
fi
scripts/build-tools || { broken "build: tests/" "build failed"; verdict; exit 1; }

# 3. One boot of the test kernel.
mapfile -t suites < <(grep -rhoP '#\[kunit_tests\(\K[a-z0-9_]+' drivers rust | sort -u)
out=$(mktemp -d /tmp/rvnet-check.XXXXXX)
start=$(date +%s)
qemu/run --share "$out" --timeout 4200 -- "$RVNET_ROOT/tests/guest/check.sh" "$out" "${suites[@]}" \
  >"$out/console.txt" 2>&1
rc=$?
echo "guest: booted, tested and powered off in $(( $(date +%s) - start )) s (status $rc)"
if [ $rc -ne 0 ]; then
  tail -n 40 "$out/console.txt"
  broken "guest: boot" "qemu/run exited with $rc"
fi

if [ "$(cat "$out/insmod.status" 2>/dev/null)" != ok ]; then
  broken "guest: insmod rvnet.ko" "$(cat "$out/insmod.err" 2>/dev/null)"
fi
for s in "${suites[@]}"; do
  f="$out/kunit-$s.ktap"
  if [ ! -s "$f" ]; then broken "kunit: $s" "no results in debugfs"; continue; fi
  # Cases are the indented "ok N name" / "not ok N name" lines of the suite; "ok N name #
  # SKIP reason" is a skipped case, counted apart.
  p=$(grep -E '^[[:space:]]+ok [0-9]+ ' "$f" | grep -cviE '#[[:space:]]*SKIP')
  k=$(grep -E '^[[:space:]]+ok [0-9]+ ' "$f" | grep -ciE '#[[:space:]]*SKIP')
  n=$(grep -cE '^[[:space:]]+not ok [0-9]+ ' "$f")
  [ "$n" -eq 0 ] || grep -E -B12 '^[[:space:]]+not ok ' "$f"
  [ "$k" -eq 0 ] || grep -iE '^[[:space:]]+ok [0-9]+ .*#[[:space:]]*SKIP' "$f"
  if [ "$p" -eq 0 ] && [ "$n" -eq 0 ] && [ "$k" -eq 0 ]; then
    broken "kunit: $s" "no cases in the results"; continue
  fi
  tally "kunit: $s" "$p" "$n" "$k"
done
if [ -f "$out/vm.tap" ]; then
  p=$(grep -E '^ok [0-9]+ ' "$out/vm.tap" | grep -cviE '#[[:space:]]*SKIP')
  k=$(grep -E '^ok [0-9]+ ' "$out/vm.tap" | grep -ciE '#[[:space:]]*SKIP')
  n=$(grep -cE '^not ok [0-9]+ ' "$out/vm.tap")
  plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$out/vm.tap" | head -n 1)
  [ "$n" -eq 0 ] || grep -E -A8 '^not ok ' "$out/vm.tap"
  if [ -z "$plan" ] || [ $((p + n + k)) -ne "$plan" ]; then
    cat "$out/vm.tap"
    broken "vm: rvnet-vmtest" "ran $((p + n + k)) of ${plan:-?} planned tests"
  else
    tally "vm: rvnet-vmtest" "$p" "$n" "$k"
  fi
else
  broken "vm: rvnet-vmtest" "no output"
fi

# 4. The guest's kernel log.
splat='BUG:|WARNING:|Oops|UBSAN:|general protection fault|Kernel panic|panicked at|unreferenced object|suspected memory leak|possible recursive locking|circular locking|inconsistent lock state|suspicious RCU usage|blocked for more than|RCU stall'
if [ ! -s "$out/dmesg.txt" ]; then
  broken "guest: kernel log clean" "no kernel log came back"
elif grep -qE "$splat" "$out/dmesg.txt" "$out/kmemleak.txt" 2>/dev/null; then
  echo "--- splats in the guest's kernel log ---"
  grep -hE -A25 "$splat" "$out/dmesg.txt" "$out/kmemleak.txt" 2>/dev/null | head -n 200
  tally "guest: kernel log clean" 0 1
else
  tally "guest: kernel log clean" 1 0
fi

if [ ${#failures[@]} -gt 0 ]; then
  echo "failed: ${failures[*]}"
  echo "guest output kept in $out"
else
  rm -rf "$out"
fi
verdict
[ "$failed" -eq 0 ]
