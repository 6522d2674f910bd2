#!/bin/sh
# `make check` replays every fuzz corpus (committed regression seeds plus seeds made at
# test time) through the harnesses; a crash or sanitizer report fails the test.
set -u
b=${MMDX_BUILDDIR:-.}
fail=0
# target -> replay program (fhir, v2xml, ccda: the hl7 harness; bcf: the vcf harness)
prog() { case $1 in fhir|v2xml|ccda) echo hl7 ;; bcf) echo vcf ;; *) echo "$1" ;; esac; }
for t in labels cohort hdf5 hl7 fhir v2xml ccda vcf bcf panel pgx model; do
  seeds=$b/tests/fuzz/work/replay-$t
  rm -rf "$seeds"; sh "${MMDX_SRCDIR:-.}/tests/fuzz/seeds.sh" "$t" "$seeds"
  n=$(ls "$seeds" | wc -l)
  if ! out=$("$b/tests/fuzz/replay_$(prog "$t")" "$seeds" 2>&1); then
    echo "FAIL: replay of $t corpus ($n inputs)"; echo "$out" | tail -20; fail=1
  else
    echo "ok: $t: $out"
  fi
done
exit $fail
