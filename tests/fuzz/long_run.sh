#!/bin/sh
# Long fuzzing runs, two harnesses at a time, from a clang --enable-fuzzing build dir:
#   sh tests/fuzz/long_run.sh SECONDS TARGET...
# Seeds are made by seeds.sh into tests/fuzz/work/T/seeds; the grown corpus stays in
# tests/fuzz/work/T/corpus, the log in tests/fuzz/work/T/long.log, failing inputs as
# tests/fuzz/work/T/crash-* etc. Prints per target: executions, cov, artifacts.
# MMDX_FUZZ_FORK=1 runs in libFuzzer's fork mode with -ignore_crashes=1, so a run goes
# on after a crash (for the HDF5 formats, whose crashes are mostly inside libhdf5).
set -u
secs=$1; shift
src=${MMDX_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export MMDX_DATA_DIR=${MMDX_DATA_DIR:-$src/data} MMDX_SRCDIR=$src
one() {
  t=$1; w=tests/fuzz/work/$t
  mkdir -p "$w/corpus" "$w/seeds"
  sh "$src/tests/fuzz/seeds.sh" "$t" "$w/seeds"
  dict=; [ -f "$src/tests/fuzz/dict/$t.dict" ] && dict=-dict=$src/tests/fuzz/dict/$t.dict
  fork=; [ "${MMDX_FUZZ_FORK:-0}" = 1 ] && fork="-fork=1 -ignore_crashes=1"
  t0=$(date +%s)
  tests/fuzz/fuzz_"$t" -max_total_time="$secs" -rss_limit_mb=2560 -malloc_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$w/" $fork $dict "$w/corpus" "$w/seeds" > "$w/long.log" 2>&1
  el=$(( $(date +%s) - t0 ))
  ex=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/long.log" | tail -1)
  [ -n "$ex" ] || ex=$(grep -o '^#[0-9]*' "$w/long.log" | tail -1 | tr -d '#')
  cov=$(grep -o 'cov: [0-9]*' "$w/long.log" | tail -1)
  echo "$t: ${el}s executions=${ex:-?} ${cov:-cov: ?} artifacts=$(ls "$w" | grep -cE '^(crash|leak|timeout|oom|slow-unit)-')"
}
while [ $# -gt 0 ]; do
  a=$1; shift
  if [ $# -gt 0 ]; then b=$1; shift; one "$a" & one "$b"; wait; else one "$a"; fi
done
