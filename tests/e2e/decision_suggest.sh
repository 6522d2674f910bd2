#!/bin/sh
# mmdx suggest and mmdx kb check end to end on the demo cohort: ingest the training set,
# fit a model, ingest the test set, then suggest in TSV and JSONL; refuse a bad KB with
# exit 2 and nothing written.
set -u
b=${MMDX_BUILDDIR:-.}
s=${MMDX_SRCDIR:-.}
mmdx=$b/examples/mmdx/mmdx
demo=$b/data/demo/generated
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-suggest.XXXXXX")
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

# kb check: the shipped KB is valid and lists its rules; a contradictory one is refused
expect 0 "kb check default" "$mmdx" kb check "$s/data/kb/default.xml"
grep -q "^clopidogrel-cyp2c19-poor	[0-9]*	clopidogrel	avoid	pgx:CYP2C19 in {Likely Poor Metabolizer, Poor Metabolizer}	.*	CPIC 2022, " "$tmp/out" \
  && ok || fail "kb check does not list the clopidogrel rule"
expect 2 "kb check contradiction" "$mmdx" kb check "$s/tests/fuzz/corpus/kb/contradiction.xml"
grep -q "contradiction.xml:[0-9]*: clopidogrel-cyp2c19-normal: contradictory rules" "$tmp/err" && ok \
  || fail "kb check error: $(cat "$tmp/err")"

if [ ! -f "$demo/train/labels.tsv" ]; then
  echo "SKIP: no demo cohort in $demo (make demo-data)"; exit 77
fi
inputs() { sh "$s/examples/mmdx/demo-inputs.sh" "$mmdx" "$demo/$1"; }
tr_in=$(inputs train) || exit 99
te_in=$(inputs test) || exit 99
run "$mmdx" ingest -q $tr_in --labels "$demo/train/labels.tsv" -o "$tmp/train.h5"
[ "$rc" -le 1 ] && ok || fail "ingest train: exit $rc"
run "$mmdx" ingest -q $te_in -o "$tmp/test.h5"
[ "$rc" -le 1 ] && ok || fail "ingest test: exit $rc"
expect 0 "fit" "$b/tests/e2e/decision_fit" "$tmp/train.h5" "$tmp/model.h5"

# TSV: a header, then every test patient has exactly one triage row
expect 0 "suggest tsv" "$mmdx" suggest --cohort "$tmp/test.h5" --model "$tmp/model.h5" -o "$tmp/s.tsv"
has_notice() { grep -q "decision support for research and clinicians, not a diagnosis" "$tmp/err"; }
has_notice && ok || fail "suggest tsv: no decision-support notice on stderr"
[ "$(head -1 "$tmp/s.tsv")" = "$(printf 'patient_id\tkind\trank\titem\tstatus\tdetail\tprobability\tci_low\tci_high\tvalue\tcitation')" ] \
  && ok || fail "header: $(head -1 "$tmp/s.tsv")"
n_pat=$(awk -F'\t' 'NR > 1 { print $1 }' "$tmp/s.tsv" | sort -u | wc -l)
n_tri=$(awk -F'\t' '$2 == "triage"' "$tmp/s.tsv" | wc -l)
[ "$n_pat" -eq 100 ] && [ "$n_tri" -eq 100 ] && ok || fail "want 100 patients with one triage row each: $n_pat, $n_tri"
awk -F'\t' 'NF != 11 { bad = 1 } END { exit bad }' "$tmp/s.tsv" && ok || fail "a row without 11 columns"
# every rule row cites its source; every eGFR below 30 excludes metformin
awk -F'\t' '$2 == "rule" && $11 !~ /^(CPIC|KDIGO|ADA|ESC) [0-9][0-9][0-9][0-9], / { bad = 1 } END { exit bad }' "$tmp/s.tsv" \
  && ok || fail "a rule row without a citation"
awk -F'\t' '$2 == "rule" && $6 ~ /^avoid metformin: eGFR / { split($6, w, " "); if (w[4] + 0 >= 30) bad = 1; n++ }
            END { exit bad }' "$tmp/s.tsv" && ok || fail "metformin avoided at eGFR >= 30"
grep -q "	rule	.*	unknown	unknown: check " "$tmp/s.tsv" && ok || fail "no 'unknown: check' note (patients without genotypes exist)"
grep -q "	test	1	" "$tmp/s.tsv" && ok || fail "no next best test ranked"
awk -F'\t' '$2 == "treatment" && $5 !~ /^(suggested|insufficient evidence|excluded)$/ { bad = 1 } END { exit bad }' "$tmp/s.tsv" \
  && ok || fail "bad treatment status"

# JSONL: one object per patient, parsable; the notice on stderr unless -q
expect 0 "suggest jsonl with notice" "$mmdx" suggest --cohort "$tmp/test.h5" --model "$tmp/model.h5" -f jsonl --no-next-best -o "$tmp/s0.jsonl"
has_notice && ok || fail "suggest jsonl: no decision-support notice on stderr"
expect 0 "suggest jsonl" "$mmdx" suggest -q --cohort "$tmp/test.h5" --model "$tmp/model.h5" -f jsonl --no-next-best -o "$tmp/s.jsonl"
if command -v python3 >/dev/null; then
  python3 - "$tmp/s.jsonl" <<'PY' && ok || fail "jsonl does not parse or lacks fields"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 100, len(rows)
for r in rows:
    assert r["triage"]["department"]
    assert r["next_best_tests"] == []
    for t in r["treatments"]:
        assert t["status"] in ("suggested", "insufficient evidence", "excluded")
        for rule in t["rules"]:
            assert rule["citation"] and rule["reason"]
PY
fi
[ ! -s "$tmp/err" ] && ok || fail "suggest -q printed: $(head -1 "$tmp/err")"

# next best test for genotype-only patients (every lab and image missing): the expected
# entropy never exceeds the current one, so every missing candidate has a positive gain and
# is listed (the old quadrature mean gave negative gains, and those candidates vanished)
expect 0 "suggest genotypes only" "$mmdx" suggest -q --variants "$demo/test/variants.vcf" --model "$tmp/model.h5" -o "$tmp/g.tsv"
n_cand=$(awk -F'\t' '$2 == "test" { print $4 }' "$tmp/g.tsv" | sort -u | wc -l)
awk -F'\t' -v want="$n_cand" '$2 == "test" { n[$1]++; if (!($10 > 0)) bad = 1 }
    END { for (p in n) if (n[p] != want) bad = 1; exit bad || want < 10 }' "$tmp/g.tsv" \
  && ok || fail "a genotype-only patient lacks next best tests (non-positive gains?): $n_cand candidates"
if command -v python3 >/dev/null; then
  "$mmdx" suggest -q --variants "$demo/test/variants.vcf" --model "$tmp/model.h5" -f jsonl -o "$tmp/g.jsonl"
  python3 - "$tmp/g.jsonl" <<'PY' && ok || fail "expected entropy above the current entropy"
import json, sys
n = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    h0 = r.get("entropy")
    for t in r["next_best_tests"]:
        assert t["information_gain"] > 0, t
        if h0 is not None:
            assert t["expected_entropy_after"] <= h0 + 1e-3, (h0, t)
        n += 1
assert n > 0
PY
fi

# a model target the KB does not know (t2d renamed xdx): a warning names it, and a patient
# whose xdx is probable is not triaged as a routine KB-default case
sed '1s/	t2d	/	xdx	/' "$demo/train/labels.tsv" >"$tmp/xlabels.tsv"
run "$mmdx" ingest -q $tr_in --labels "$tmp/xlabels.tsv" -o "$tmp/xtrain.h5"
[ "$rc" -le 1 ] && ok || fail "ingest xdx train: exit $rc"
expect 0 "train xdx" "$mmdx" train -q --cohort "$tmp/xtrain.h5" -o "$tmp/xmodel.h5"
expect 0 "suggest, uncovered target" "$mmdx" suggest --cohort "$tmp/test.h5" --model "$tmp/xmodel.h5" -o "$tmp/x.tsv"
grep -q "^mmdx: warning: KB mmdx-default [^ ]* has no rule for target(s) xdx: their posteriors do not enter triage or suggestions$" "$tmp/err" \
  && ok || fail "no uncovered-target warning: $(head -2 "$tmp/err")"
n_unc=$(awk -F'\t' '$2 == "triage" && $4 == "not covered by the KB" && $6 == "xdx" && $7 >= 0.5' "$tmp/x.tsv" | wc -l)
n_bad=$(awk -F'\t' '$2 == "triage" && $4 == "not covered by the KB" && !($6 == "xdx" && $7 >= 0.5)' "$tmp/x.tsv" | wc -l)
[ "$n_unc" -gt 0 ] && [ "$n_bad" -eq 0 ] && ok || fail "uncovered triage rows: $n_unc good, $n_bad bad"
# the same patients with the covering model are triaged by t2d's KB entry or the default
expect 0 "suggest -q, uncovered target" "$mmdx" suggest -q --cohort "$tmp/test.h5" --model "$tmp/xmodel.h5" -o "$tmp/x2.tsv"
[ ! -s "$tmp/err" ] && ok || fail "-q printed the warning"
expect 0 "suggest, covered targets" "$mmdx" suggest --cohort "$tmp/test.h5" --model "$tmp/model.h5" -o "$tmp/s2.tsv"
grep -q "has no rule for target" "$tmp/err" && fail "warning although the KB covers every target" || ok

# a bad KB: exit 2, nothing written
printf '<kb xmlns="urn:mmdx:kb:1"/>\n' >"$tmp/bad.xml"
expect 2 "suggest with a bad KB" "$mmdx" suggest --cohort "$tmp/test.h5" --model "$tmp/model.h5" --kb "$tmp/bad.xml" -o "$tmp/bad.tsv"
[ -e "$tmp/bad.tsv" ] && fail "output written despite a bad KB" || ok
grep -q "bad.xml:1: kb: " "$tmp/err" && ok || fail "bad KB error: $(cat "$tmp/err")"

echo "decision_suggest: $pass checks passed, $fails failed"
[ "$fails" -eq 0 ]
