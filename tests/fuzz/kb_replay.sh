#!/bin/sh
# `make check` replays the KB fuzz corpus (committed seeds plus the shipped KB) through
# the KB harness; a crash or sanitizer report fails the test.
set -u
b=${MMDX_BUILDDIR:-.}
s=${MMDX_SRCDIR:-.}
if ! out=$("$b/tests/fuzz/replay_kb" "$s/tests/fuzz/corpus/kb" "$s/data/kb/default.xml" 2>&1); then
  echo "FAIL: replay of kb corpus"; echo "$out" | tail -20; exit 1
fi
echo "ok: kb: $out"
