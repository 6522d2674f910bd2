#!/bin/sh
# mmdx ingest through a plugin (the example modality): exit 1 with a rejects TSV when a
# record is rejected, 0 when none, 2 and nothing written on a fatal error.
set -u
b=${MMDX_BUILDDIR:-.}
s=${MMDX_SRCDIR:-.}
mmdx=$b/examples/mmdx/mmdx
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-ingest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
MMDX_PLUGIN_PATH=$b/examples/plugin/.libs
export MMDX_PLUGIN_PATH
fails=0
pass=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { pass=$((pass + 1)); }
run() { "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
expect() {
  want=$1; what=$2; shift 2
  run "$@"
  if [ "$rc" -eq "$want" ]; then ok; else fail "$what: exit $rc, want $want"; sed 's/^/  | /' "$tmp/err" | head -5; fi
}
has() { if grep -q -- "$2" "$1"; then ok; else fail "$3: no '$2' in $(basename "$1")"; sed 's/^/  | /' "$1" | head -5; fi; }

# one bad value among four records: exit 1, three patients with values, the fourth rejected
expect 1 "ingest with a reject" "$mmdx" ingest --input "$s/examples/plugin/example.tsv" \
  --rejects "$tmp/rejects.tsv" -o "$tmp/cohort.h5"
[ -s "$tmp/cohort.h5" ] && ok || fail "no cohort file written"
has "$tmp/err" "ingest: 3 patients, 2 features, 3 observations, 1 rejected" "summary"
[ "$(head -1 "$tmp/rejects.tsv")" = "$(printf 'patient_id\tfile\trecord\tcode\treason')" ] && ok \
  || fail "rejects header: $(head -1 "$tmp/rejects.tsv")"
[ "$(wc -l <"$tmp/rejects.tsv")" -eq 2 ] && ok || fail "rejects: want 1 row"
has "$tmp/rejects.tsv" "^P003	.*example.tsv	5	EFORMAT	value is not a finite number$" "reject row"
left=$(ls "$tmp" | grep -v -e '^cohort.h5$' -e '^rejects.tsv$' -e '^out$' -e '^err$')
[ -n "$left" ] && fail "temporary files left: $left" || ok

# --labels: stored by patient id; a label row for a patient not in the inputs is an error
# naming the file, line and patient (nothing written), or with --ignore-unknown-labels a warning
printf 'patient_id\tckd\nP001\t1\nP002\t0\nP009\t1\n' >"$tmp/labels.tsv"
expect 2 "ingest --labels with an unknown patient" "$mmdx" ingest --input "$s/examples/plugin/example.tsv" \
  --labels "$tmp/labels.tsv" -o "$tmp/cl.h5"
has "$tmp/err" "labels.tsv line 4: patient 'P009' is not in the evidence; 1 of 3 label rows" "unknown label row named"
has "$tmp/err" "give --ignore-unknown-labels" "the opt-out is named"
[ -e "$tmp/cl.h5" ] && fail "ingest wrote a cohort despite unknown label rows" || ok
expect 1 "ingest --labels --ignore-unknown-labels" "$mmdx" ingest --input "$s/examples/plugin/example.tsv" \
  --labels "$tmp/labels.tsv" --ignore-unknown-labels -o "$tmp/cl.h5"
has "$tmp/err" "warning: --labels: 1 of 3 label rows name patients not in the evidence (skipped; first: .*labels.tsv line 4, patient 'P009')" "unknown label row warned"
if command -v h5dump >/dev/null 2>&1; then
  ids=$(h5dump -d /patient_ids -w 0 "$tmp/cl.h5" | sed -n 's/^ *(0): //p')
  [ "$ids" = '"P001", "P002", "P003"' ] && ok || fail "patient ids in the cohort file: $ids"
  labels=$(h5dump -d /labels -w 0 "$tmp/cl.h5" | sed -n 's/^ *([0-9],0): \(-*[0-9]\).*/\1/p' | tr '\n' ' ')
  [ "$labels" = "1 0 -1 " ] && ok || fail "labels in the cohort file: '$labels', want '1 0 -1 '"
fi
printf 'patient_id\tckd\nP001\t1\nP001\t0\n' >"$tmp/dup.tsv"
expect 2 "duplicate label rows" "$mmdx" ingest --input "$s/examples/plugin/example.tsv" --labels "$tmp/dup.tsv" -o "$tmp/cd.h5"
has "$tmp/err" "dup.tsv:3" "duplicate label row named by line"
[ -e "$tmp/cd.h5" ] && fail "cohort written despite bad labels" || ok

# without --rejects the count and the first reject go to stderr; --quiet silences it
expect 1 "ingest, rejects on stderr" "$mmdx" ingest --input "$s/examples/plugin/example.tsv" -o "$tmp/c2.h5"
has "$tmp/err" "1 record rejected" "reject count on stderr"
expect 1 "ingest --quiet" "$mmdx" ingest -q --input "$s/examples/plugin/example.tsv" -o "$tmp/c2.h5"
[ -s "$tmp/err" ] && fail "--quiet printed: $(cat "$tmp/err")" || ok

# clean input: exit 0; adapter options reach the adapter by prefix
grep -v high "$s/examples/plugin/example.tsv" >"$tmp/clean.tsv"
expect 0 "clean ingest" "$mmdx" ingest --input "$tmp/clean.tsv" --option example.strict=1 --rejects "$tmp/r0.tsv" -o "$tmp/c0.h5"
[ "$(wc -l <"$tmp/r0.tsv")" -eq 1 ] && ok || fail "rejects file of a clean run is not header-only"
# strict=1 turns the bad record into a fatal error naming file and line; nothing written
expect 2 "strict option" "$mmdx" ingest --input "$s/examples/plugin/example.tsv" --option example.strict=1 -o "$tmp/c3.h5"
has "$tmp/err" "example.tsv:5" "fatal error names file and line"
[ -e "$tmp/c3.h5" ] && fail "cohort written despite a fatal error" || ok
# an option the adapter does not know is an error naming it
expect 2 "unknown adapter option" "$mmdx" ingest --input "$tmp/clean.tsv" --option colour=red -o "$tmp/c4.h5"
has "$tmp/err" "colour=red" "unknown option named"

# fatal errors before anything is written
expect 2 "missing input" "$mmdx" ingest --input "$tmp/nonexistent.tsv" -o "$tmp/c5.h5"
has "$tmp/err" "nonexistent.tsv" "missing input named"
[ -e "$tmp/c5.h5" ] && fail "cohort written for a missing input" || ok
printf 'garbage\n' >"$tmp/unknown.dat"
expect 2 "unrecognised input" "$mmdx" ingest --input "$tmp/unknown.dat" -o "$tmp/c6.h5"
has "$tmp/err" "no modality recognises" "unrecognised input"
expect 2 "output directory missing" "$mmdx" ingest --input "$tmp/clean.tsv" -o "$tmp/no/such/dir/c.h5"
has "$tmp/err" "no/such/dir" "output directory named"
expect 2 "--plugin broken" "$mmdx" ingest --plugin "$b/tests/unit/.libs/mmdx_badinit.so" --input "$tmp/clean.tsv" -o "$tmp/c7.h5"
has "$tmp/err" "mmdx_badinit.so" "broken --plugin named"
[ -e "$tmp/c7.h5" ] && fail "cohort written despite a broken plugin" || ok

echo "driver_ingest: $pass checks passed, $fails failed"
[ "$fails" -eq 0 ]
