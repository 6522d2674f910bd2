#!/bin/sh
# Numerical edge cases through the driver and every writer (issue 9): a cohort with a
# feature offset by 1e8, a constant feature, labs scaled by 1e140 and 1e-150, a lab no
# patient has, a patient with no value at all and a class with one patient
# (tests/e2e/fusion_cohort ... edge). mmdx train and mmdx diagnose in every format must
# succeed and write no NaN or Inf, and the patient without values must get the prior and
# the no_evidence flag; mmdx validate writes NA, not nan, for undefined metrics.
set -u
b=${MMDX_BUILDDIR:-.}
mmdx=$b/examples/mmdx/mmdx
gen=$b/tests/e2e/fusion_cohort
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-numeric.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
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
# no "nan" or "inf" (any case, also "-inf", "infinity") as a token of the output
no_nonfinite() {
  if grep -Eiq '(^|[^A-Za-z0-9_])[+-]?(nan|inf|infinity)([^A-Za-z0-9_]|$)' "$1"; then
    fail "$2 has a non-finite number:"; grep -Eio '.{0,40}(^|[^A-Za-z0-9_])[+-]?(nan|inf|infinity)([^A-Za-z0-9_]|$).{0,20}' "$1" | head -3 | sed 's/^/  | /'
  else ok; fi
}

"$gen" "$tmp/train.h5" 400 7 1 edge || { echo "FAIL: cannot make the cohort"; exit 1; }
"$gen" "$tmp/test.h5" 60 8 1 edge || { echo "FAIL: cannot make the cohort"; exit 1; }

expect 0 "train on the edge cohort" "$mmdx" train --cohort "$tmp/train.h5" -o "$tmp/model.h5"
no_nonfinite "$tmp/err" "train's summary"
for fmt in tsv jsonl fhir html; do
  expect 0 "diagnose --format $fmt" "$mmdx" diagnose --cohort "$tmp/test.h5" --model "$tmp/model.h5" \
    --format "$fmt" -o "$tmp/diag.$fmt"
  [ -s "$tmp/diag.$fmt" ] && ok || fail "diagnose --format $fmt wrote nothing"
  no_nonfinite "$tmp/diag.$fmt" "diagnose --format $fmt"
done
# the patient without any value: prior, flagged, every class's probability a number
awk -F'\t' '$1 == "SYN00001" { n++; if ($NF !~ /no_evidence/) bad++; if ($4 + 0 != $4 || $4 < 0 || $4 > 1) bad++ }
  END { exit !(n == 5 && bad == 0) }' "$tmp/diag.tsv" \
  && ok || fail "SYN00001 (no values) not 5 rows flagged no_evidence: $(grep SYN00001 "$tmp/diag.tsv" | head -2)"
# probabilities sum to 1 per patient and target
awk -F'\t' 'NR > 1 { s[$1 FS $2] += $4 } END { for (k in s) if (s[k] < 0.99999 || s[k] > 1.00001) bad++; exit bad > 0 }' \
  "$tmp/diag.tsv" && ok || fail "probabilities do not sum to 1 per patient and target"

# validate (cross-validated metrics) on the same cohort: numbers, not NaN
expect 0 "validate" "$mmdx" validate --cohort "$tmp/train.h5" --folds 3 --seed 1 -o "$tmp/val.tsv"
no_nonfinite "$tmp/val.tsv" "validate"

grep -q "	calibration_bin[0-9]*_predicted	NA$" "$tmp/val.tsv" && ok || fail "validate: no empty calibration bin written NA"

echo "numeric_edge: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
