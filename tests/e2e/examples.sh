#!/bin/sh
# The teaching programs of examples/ on the demo cohort (data/demo/generated, made by
# check_DATA), each checked against what the mmdx driver computes from the same inputs:
# train_diagnose (diagnose with the API), ehr_batch (FHIR labs in, FHIR RiskAssessments
# out), three_sites (federated training = pooled training), pgx_report (PGx from a VCF).
set -u
b=${MMDX_BUILDDIR:-.}
s=${MMDX_SRCDIR:-.}
mmdx=$b/examples/mmdx/mmdx
demo=$b/data/demo/generated
if [ ! -f "$demo/train/labels.tsv" ]; then
  echo "SKIP: no demo cohort in $demo (make demo-data)"; exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { pass=$((pass + 1)); }
check() { if eval "$2"; then ok; else fail "$1"; fi; }
run() { want=$1; what=$2; shift 2; "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else fail "$what: exit $rc, want $want"; sed 's/^/  | /' "$tmp/err" | head -5; fi; }

# the demo's cohort files and a model trained by the driver (the demo labs hold 2-4
# deliberately bad records, so ingest and train exit 1)
for set in train test; do
  inputs=$(sh "$s/examples/mmdx/demo-inputs.sh" "$mmdx" "$demo/$set") || { echo "SKIP: no adapters"; exit 77; }
  eval "set -- $inputs"
  run 1 "ingest $set" "$mmdx" ingest "$@" --labels "$demo/$set/labels.tsv" -q -o "$tmp/$set.h5"
done
eval "set -- $(sh "$s/examples/mmdx/demo-inputs.sh" "$mmdx" "$demo/train")"
run 1 "train" "$mmdx" train "$@" --labels "$demo/train/labels.tsv" -q -o "$tmp/model.h5"
run 0 "diagnose" "$mmdx" diagnose --cohort "$tmp/test.h5" --model "$tmp/model.h5" -q -o "$tmp/diag.tsv"

# (a) train_diagnose: 5 patients x 3 targets; each line agrees with the driver's TSV
run 0 "train_diagnose" "$b/examples/train_diagnose" "$tmp/train.h5" "$tmp/test.h5"
cp "$tmp/out" "$tmp/td.txt"
check "train_diagnose: 15 lines" '[ "$(wc -l <"$tmp/td.txt")" -eq 15 ]'
# "DEMO0301 t2d=1 p=0.999 [0.936, 1.000] ..." -> "DEMO0301 t2d 1 0.999 0.936 1.000"
awk '{ split($2, tc, "="); gsub(/[^0-9.]/, "", $3); gsub(/[^0-9.]/, "", $4); gsub(/[^0-9.]/, "", $5)
  print $1, tc[1], tc[2], $3, $4, $5 }' "$tmp/td.txt" >"$tmp/td.rows"
bad=$(awk 'NR == FNR { if (FNR > 1) { split($0, f, "\t"); p[f[1] " " f[2] " " f[3]] = f[4] " " f[5] " " f[6] }; next }
  { key = $1 " " $2 " " $3
    if (!(key in p)) { print "no TSV row for " key; next }
    split(p[key], w, " ")
    for (i = 1; i <= 3; i++) { d = $(i + 3) - w[i]; if (d > 0.0006 || d < -0.0006) print key ": " $0 " vs " p[key] } }' \
  "$tmp/diag.tsv" "$tmp/td.rows")
check "train_diagnose: 15 rows parsed" '[ "$(grep -c "^DEMO[0-9]* [a-z0-9]* [0-9]* 0*[.0-9]* " "$tmp/td.rows")" -eq 15 ]'
check "train_diagnose agrees with mmdx diagnose: $bad" '[ -z "$bad" ]'

# (b) ehr_batch: labs only; exit 1 (the demo's bad records on stderr), a Bundle with one
# RiskAssessment per patient and target, every patient of the labs file scored, byte-identical re-run
run 1 "ehr_batch" "$b/examples/ehr_batch/ehr_batch" "$tmp/model.h5" "$demo/test/labs.xml" "$tmp/ra.xml"
check "ehr_batch names the rejected record" 'grep -q "rejected: .*labs.xml record [0-9]* (patient DEMO[0-9]*): unit" "$tmp/err"'
np=$(grep -o '<Patient>' "$demo/test/labs.xml" | wc -l)
subj=$(grep -o '<reference value="Patient/[^"]*"' "$tmp/ra.xml" | sort -u | wc -l)
nra=$(grep -c '<RiskAssessment>' "$tmp/ra.xml")
check "ehr_batch: $subj patients of $np scored" '[ "$np" -gt 0 ] && [ "$subj" -eq "$np" ]'
check "ehr_batch: $nra RiskAssessments for $subj patients x 3 targets" '[ "$nra" -eq $((subj * 3)) ]'
check "ehr_batch: decision support note" 'grep -q "not a diagnosis" "$tmp/ra.xml"'
if command -v xmllint >/dev/null 2>&1; then
  check "ehr_batch: well-formed XML" 'xmllint --noout "$tmp/ra.xml"'
fi
run 1 "ehr_batch again" "$b/examples/ehr_batch/ehr_batch" "$tmp/model.h5" "$demo/test/labs.xml" "$tmp/ra2.xml"
check "ehr_batch: re-run byte-identical" 'cmp -s "$tmp/ra.xml" "$tmp/ra2.xml"'
run 2 "ehr_batch usage" "$b/examples/ehr_batch/ehr_batch" "$tmp/model.h5"

# (c) three_sites: federated over thirds of the training cohort = the pooled fit
mkdir "$tmp/fed"
run 0 "three_sites" "$b/examples/three_sites/three_sites" "$tmp/train.h5" "$tmp/fed"
cp "$tmp/out" "$tmp/fed.txt"
check "three_sites: three sites of the training cohort" 'grep -q "^three_sites: [0-9]* + [0-9]* + [0-9]* patients" "$tmp/fed.txt"'
check "three_sites: 3 targets compared" '[ "$(grep -c "^target .*max |p(federated) - p(pooled)| = " "$tmp/fed.txt")" -eq 3 ]'
big=$(awk '/^target / && ($NF + 0 > 1e-9 || $NF !~ /^[0-9]/) { print }' "$tmp/fed.txt")
check "three_sites: federated differs from pooled: $big" '[ -z "$big" ]'
run 0 "diagnose with the federated model" "$mmdx" diagnose --cohort "$tmp/test.h5" --model "$tmp/fed/federated.h5" -q -o "$tmp/fed.tsv"
check "federated model diagnoses like the driver-trained one" \
  '[ "$(awk -F"\t" "NR > 1 { printf \"%s %s %s %.6f\\n\", \$1, \$2, \$3, \$4 }" "$tmp/fed.tsv")" = \
     "$(awk -F"\t" "NR > 1 { printf \"%s %s %s %.6f\\n\", \$1, \$2, \$3, \$4 }" "$tmp/diag.tsv")" ]'

# (d) pgx_report: every line is a high or reduced call of `mmdx pgx`'s table, and all of them are there
run 0 "pgx_report" "$b/examples/pgx_report/pgx_report" "$demo/test/variants.vcf"
tail -n +2 "$tmp/out" | sort >"$tmp/rep.tsv"
run 0 "mmdx pgx" "$mmdx" pgx --variants "$demo/test/variants.vcf" -o "$tmp/pgx.tsv"
awk -F'\t' '$6 == "high" || $6 == "reduced" { print $1 "\t" $2 "\t" $3 "\t" $4 }' "$tmp/pgx.tsv" | sort >"$tmp/calls.tsv"
check "pgx_report: calls made" '[ "$(wc -l <"$tmp/rep.tsv")" -gt 50 ]'
check "pgx_report = mmdx pgx (high/reduced)" 'cmp -s "$tmp/rep.tsv" "$tmp/calls.tsv"'
check "pgx_report: a poor metabolizer with its diplotype" 'grep -q "	CYP2C19	\*[0-9]*/\*[0-9]*	Poor Metabolizer$" "$tmp/rep.tsv"'

echo "examples: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
