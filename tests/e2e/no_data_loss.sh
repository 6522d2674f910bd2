#!/bin/sh
# No data loss, end to end (issue 9): a 10,000-patient multi-modal batch from
# mmdx-demo-gen with a few percent of the patients corrupted in each modality
# (tests/e2e/no_data_loss.py: Inf and NaN imaging rows, lab results in an unknown unit,
# non-numeric lab values, Observations without a value, out-of-range allele indices and
# triploid VCF genotypes). Asserts:
#  - every patient id of the batch appears in the diagnose output (as one block) or in
#    the rejects; every reject row names its patient, code and reason;
#  - every corrupted patient with a rejectable record is in the rejects;
#  - the output rows of the good patients are identical to a run on the batch without
#    the corrupted patients;
#  - determinism: byte-identical diagnose output across two runs, and byte-identical
#    ingest cohort files and rejects across --threads 1 and --threads 2, and byte-identical
#    diagnose outputs (tsv with rejects, jsonl, and html with --kb on a part) across
#    diagnose --threads 1, 2 and 3.
# MMDX_NDL_PATIENTS overrides the batch size (default 10000).
set -u
b=${MMDX_BUILDDIR:-.}
mmdx=$b/examples/mmdx/mmdx
gen=$b/data/demo/mmdx-demo-gen
py=/usr/bin/python3
n=${MMDX_NDL_PATIENTS:-10000}
[ -x "$mmdx" ] && [ -x "$gen" ] || { echo "SKIP: mmdx or mmdx-demo-gen not built"; exit 77; }
"$py" -c 'import h5py, numpy' 2>/dev/null || { echo "SKIP: $py with h5py and numpy is needed"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-ndl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0 pass=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { pass=$((pass + 1)); }
t0=$(date +%s)

"$gen" "$tmp/demo" 1000 "$n" 20260901 >/dev/null 2>&1 || { echo "FAIL: mmdx-demo-gen"; exit 1; }
tr=$tmp/demo/train
"$mmdx" ingest -q --imaging "$tr/retina.h5" --imaging "$tr/ct.h5" --labs "$tr/labs.xml" \
  --variants "$tr/variants.vcf" --labels "$tr/labels.tsv" -o "$tmp/train.h5" 2>/dev/null
[ -s "$tmp/train.h5" ] || { echo "FAIL: cannot ingest the training set"; exit 1; }
"$mmdx" train -q --cohort "$tmp/train.h5" -o "$tmp/model.h5" 2>/dev/null || { echo "FAIL: cannot train"; exit 1; }

mkdir "$tmp/bad" "$tmp/good"
"$py" "${MMDX_SRCDIR:-.}/tests/e2e/no_data_loss.py" "$tmp/demo/test" "$tmp/bad" "$tmp/good" 0.03 7 > "$tmp/bad.list" ||
  { echo "FAIL: no_data_loss.py"; exit 1; }
n_all=$(wc -l < "$tmp/bad/all.ids")
n_bad=$(wc -l < "$tmp/bad.list")
echo "batch: $n_all patients, $n_bad corrupted ($(cut -f2 "$tmp/bad.list" | sort | uniq -c | awk '{printf "%s %s; ", $2, $1}'))"
[ "$n_all" -eq "$n" ] && ok || fail "the batch has $n_all patients, want $n"

ins() { d=$1; echo "--imaging $d/retina.h5 --imaging $d/ct.h5 --labs $d/labs.xml --variants $d/variants.vcf"; }
t1=$(date +%s)
# shellcheck disable=SC2046
"$mmdx" diagnose -q $(ins "$tmp/bad") --model "$tmp/model.h5" --rejects "$tmp/rej.tsv" -o "$tmp/out.tsv" 2>"$tmp/err"
rc=$?
t2=$(date +%s)
[ "$rc" -eq 1 ] && ok || { fail "diagnose of the corrupted batch: exit $rc, want 1"; head -5 "$tmp/err"; }
echo "diagnose of $n patients: $((t2 - t1)) s"

# every patient in the output (one contiguous block, the same number of rows each) or in the rejects
tail -n +2 "$tmp/out.tsv" | cut -f1 | uniq > "$tmp/out.blocks"
sort "$tmp/out.blocks" | uniq -d > "$tmp/dup"
[ -s "$tmp/dup" ] && fail "patients with more than one block of output: $(head -3 "$tmp/dup" | tr '\n' ' ')" || ok
tail -n +2 "$tmp/out.tsv" | cut -f1 | uniq -c | awk '{print $1}' | sort -u > "$tmp/rows"
[ "$(wc -l < "$tmp/rows")" -eq 1 ] && ok || fail "patients have different numbers of output rows: $(tr '\n' ' ' < "$tmp/rows")"
tail -n +2 "$tmp/rej.tsv" | cut -f1 | sort -u > "$tmp/rej.ids"
sort -u "$tmp/out.blocks" "$tmp/rej.ids" | grep -v '^$' > "$tmp/seen.ids"
lost=$(comm -23 "$tmp/bad/all.ids" "$tmp/seen.ids" | wc -l)
[ "$lost" -eq 0 ] && ok || fail "$lost patients neither in the output nor in the rejects: $(comm -23 "$tmp/bad/all.ids" "$tmp/seen.ids" | head -3 | tr '\n' ' ')"
extra=$(comm -13 "$tmp/bad/all.ids" "$tmp/seen.ids" | wc -l)
[ "$extra" -eq 0 ] && ok || fail "$extra ids in the output or rejects that are not in the batch"
# every reject row has a patient, a code and a reason
awk -F'\t' 'NR > 1 && ($1 == "" || $4 == "" || $5 == "")' "$tmp/rej.tsv" > "$tmp/rej.anon"
[ -s "$tmp/rej.anon" ] && fail "reject rows without patient, code or reason: $(wc -l < "$tmp/rej.anon"); first: $(head -1 "$tmp/rej.anon")" || ok
# every corrupted patient with a rejectable record is in the rejects with a matching code
awk -F'\t' '$2 != "imaging-nan-row" && $2 != "labs-no-value" {print $1 "\t" $2}' "$tmp/bad.list" |
while IFS='	' read -r id kind; do
  case $kind in
    imaging-inf-row) want=ERANGE ;; labs-bad-unit) want=EUNIT ;; *) want=EFORMAT ;;
  esac
  awk -F'\t' -v id="$id" -v c="$want" '$1 == id && $4 == c && $3 != "0" {f = 1} END {exit !f}' "$tmp/rej.tsv" ||
    echo "$id $kind"
done > "$tmp/unrejected"
[ -s "$tmp/unrejected" ] && fail "corrupted patients without a reject: $(wc -l < "$tmp/unrejected"); first: $(head -1 "$tmp/unrejected")" || ok

# the good patients' rows are identical to a run without the corrupted patients
# shellcheck disable=SC2046
"$mmdx" diagnose -q $(ins "$tmp/good") --model "$tmp/model.h5" --rejects "$tmp/rej.good.tsv" -o "$tmp/good.tsv" 2>/dev/null
rc=$?
[ "$rc" -le 1 ] && ok || fail "diagnose of the good batch: exit $rc"
cut -f1 "$tmp/bad.list" > "$tmp/bad.ids"
awk -F'\t' 'NR == FNR {bad[$1] = 1; next} !($1 in bad)' "$tmp/bad.ids" "$tmp/out.tsv" > "$tmp/out.good-rows"
if cmp -s "$tmp/out.good-rows" "$tmp/good.tsv"; then ok; else
  fail "good patients' results differ from the run without the corrupted ones ($(diff "$tmp/out.good-rows" "$tmp/good.tsv" | grep -c '^[<>]') lines)"
fi

# determinism: a second diagnose run, and ingest with 1 and 2 threads
# shellcheck disable=SC2046
"$mmdx" diagnose -q $(ins "$tmp/bad") --model "$tmp/model.h5" --rejects "$tmp/rej2.tsv" -o "$tmp/out2.tsv" 2>/dev/null
cmp -s "$tmp/out.tsv" "$tmp/out2.tsv" && ok || fail "diagnose output differs between two runs"
# (UNREPRESENTED rows name the output file, which differs)
sed "s|$tmp/out2.tsv|$tmp/out.tsv|" "$tmp/rej2.tsv" | cmp -s "$tmp/rej.tsv" - && ok || fail "diagnose rejects differ between two runs"
for th in 1 2; do
  # shellcheck disable=SC2046
  "$mmdx" ingest -q $(ins "$tmp/bad") --threads $th --rejects "$tmp/irej$th.tsv" -o "$tmp/cohort$th.h5" 2>/dev/null
  rc=$?
  [ "$rc" -eq 1 ] && ok || fail "ingest --threads $th: exit $rc, want 1"
done
cmp -s "$tmp/cohort1.h5" "$tmp/cohort2.h5" && ok || fail "ingest cohort files differ between --threads 1 and 2"
cmp -s "$tmp/irej1.tsv" "$tmp/irej2.tsv" && ok || fail "ingest rejects differ between --threads 1 and 2"
# the cohort files give the same diagnosis as the inputs
"$mmdx" diagnose -q --cohort "$tmp/cohort2.h5" --model "$tmp/model.h5" -o "$tmp/out3.tsv" 2>/dev/null
cmp -s "$tmp/out.tsv" "$tmp/out3.tsv" && ok || fail "diagnose from the ingested cohort differs from diagnose of the inputs"

# diagnose --threads: the rows are computed by the threads and written in input order
for th in 2 3; do
  # shellcheck disable=SC2046
  "$mmdx" diagnose -q $(ins "$tmp/bad") --model "$tmp/model.h5" --threads $th --rejects "$tmp/rej.t$th.tsv" \
    -o "$tmp/out.t$th.tsv" 2>/dev/null
  rc=$?
  [ "$rc" -eq 1 ] && ok || fail "diagnose --threads $th: exit $rc, want 1"
  cmp -s "$tmp/out.tsv" "$tmp/out.t$th.tsv" && ok || fail "diagnose tsv differs between --threads 1 and $th"
  sed "s|$tmp/out.t$th.tsv|$tmp/out.tsv|" "$tmp/rej.t$th.tsv" | cmp -s "$tmp/rej.tsv" - && ok ||
    fail "diagnose rejects differ between --threads 1 and $th"
done
for th in 1 2 3; do
  "$mmdx" diagnose -q --cohort "$tmp/cohort2.h5" --model "$tmp/model.h5" --threads $th -f jsonl \
    -o "$tmp/out.t$th.jsonl" 2>/dev/null || fail "diagnose --threads $th --format jsonl: exit $?"
done
[ -s "$tmp/out.t1.jsonl" ] && ok || fail "diagnose --format jsonl wrote nothing"
for th in 2 3; do
  cmp -s "$tmp/out.t1.jsonl" "$tmp/out.t$th.jsonl" && ok || fail "diagnose jsonl differs between --threads 1 and $th"
done
# with the KB (the advice, about 0.2 CPU-s a patient, is computed by the threads too) on a
# small batch of new demo patients: html, and tsv with --advice
"$gen" "$tmp/kbdemo" 10 24 20261129 >/dev/null 2>&1 || fail "mmdx-demo-gen of the small batch"
for th in 1 3; do
  # shellcheck disable=SC2046
  "$mmdx" diagnose -q $(ins "$tmp/kbdemo/test") --model "$tmp/model.h5" --kb "${MMDX_SRCDIR:-.}/data/kb/default.xml" \
    --threads $th -f html -o "$tmp/kb.t$th.html" 2>/dev/null
  rc=$?
  [ "$rc" -le 1 ] && ok || fail "diagnose --kb --threads $th --format html: exit $rc"
  # shellcheck disable=SC2046
  "$mmdx" diagnose -q $(ins "$tmp/kbdemo/test") --model "$tmp/model.h5" --kb "${MMDX_SRCDIR:-.}/data/kb/default.xml" \
    --threads $th --advice "$tmp/kb.t$th.advice" -o "$tmp/kb.t$th.tsv" 2>/dev/null
  rc=$?
  [ "$rc" -le 1 ] && ok || fail "diagnose --kb --threads $th --advice: exit $rc"
done
grep -q 'DEMO' "$tmp/kb.t1.html" && ok || fail "diagnose --kb html has no patient"
[ "$(wc -l < "$tmp/kb.t1.advice")" -gt 1 ] && ok || fail "diagnose --advice wrote no advice rows"
for f in html advice tsv; do
  cmp -s "$tmp/kb.t1.$f" "$tmp/kb.t3.$f" && ok || fail "diagnose --kb $f differs between --threads 1 and 3"
done

echo "no_data_loss: $n patients, $pass passed, $fails failed, $(( $(date +%s) - t0 )) s"
[ "$fails" -eq 0 ]
