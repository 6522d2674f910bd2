#!/bin/sh
# mmdx diagnose in every output format (docs/output.md) on a synthetic cohort file (a
# binary and a three-class target) and, for the advice, on the demo cohort with the KB:
# TSV columns, JSON Lines parse, FHIR valid against the RELAX NG of the R4 subset, HTML
# well-formed with the disclaimer, Korean, byte-identical reruns, --rejects rows for what
# TSV cannot hold, and an unwritable output failing before any work with nothing written.
set -u
b=${MMDX_BUILDDIR:-.}
s=${MMDX_SRCDIR:-.}
mmdx=$b/examples/mmdx/mmdx
gen=$b/tests/e2e/fusion_cohort
kb=$s/data/kb/default.xml
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-output.XXXXXX")
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
has() { if grep -q -- "$2" "$1"; then ok; else fail "$3: no '$2' in $(basename "$1")"; fi; }

"$gen" "$tmp/train.h5" 400 1 >/dev/null || { echo "FAIL: cannot make the cohort"; exit 1; }
"$gen" "$tmp/test.h5" 30 2 >/dev/null || { echo "FAIL: cannot make the cohort"; exit 1; }
expect 0 "train" "$mmdx" train -q --cohort "$tmp/train.h5" -o "$tmp/model.h5"
d() { "$mmdx" diagnose --cohort "$tmp/test.h5" --model "$tmp/model.h5" "$@"; }
# the demo cohort (made by make check) fits the KB's features
demo=$b/data/demo/generated
if [ ! -d "$demo/train" ]; then echo "SKIP: no demo cohort in $demo (make demo-data)"; exit 77; fi
for set in train test; do
  inputs=$(sh "$s/examples/mmdx/demo-inputs.sh" "$mmdx" "$demo/$set") || { echo "FAIL: demo inputs"; exit 1; }
  # shellcheck disable=SC2086
  "$mmdx" ingest -q $inputs --labels "$demo/$set/labels.tsv" -o "$tmp/demo-$set.h5"
  [ $? -le 1 ] || { echo "FAIL: demo ingest"; exit 1; }
done
expect 0 "train demo" "$mmdx" train -q --cohort "$tmp/demo-train.h5" -o "$tmp/demo-model.h5"
k() { "$mmdx" diagnose --cohort "$tmp/demo-test.h5" --model "$tmp/demo-model.h5" --kb "$kb" "$@"; }
n_demo=$("$mmdx" diagnose -q --cohort "$tmp/demo-test.h5" --model "$tmp/demo-model.h5" --format jsonl | wc -l)

# TSV: the contract's columns; 30 patients x (2 classes of dx + 3 of grade) rows
expect 0 "diagnose tsv" d -o "$tmp/d.tsv"
head -1 "$tmp/d.tsv" | grep -q "^patient_id	target	class	probability	ci_low	ci_high	evidence:" && ok \
  || fail "tsv header: $(head -1 "$tmp/d.tsv")"
[ "$(wc -l <"$tmp/d.tsv")" -eq 151 ] && ok || fail "tsv rows: $(wc -l <"$tmp/d.tsv")"
has "$tmp/err" "30 patients scored x 2 targets (tsv)" "summary line"
# the TSV holds no notice (a data table): one line on stderr says it instead, once
[ "$(grep -c 'decision support for research and clinicians, not a diagnosis' "$tmp/err")" -eq 1 ] && ok \
  || fail "tsv: no decision-support notice on stderr"
grep -q '^#' "$tmp/d.tsv" && fail "a # line in the TSV" || ok
# with --kb but no --advice: the advice is listed in the rejects as UNREPRESENTED
expect 0 "demo tsv" "$mmdx" diagnose -q --cohort "$tmp/demo-test.h5" --model "$tmp/demo-model.h5" -o "$tmp/k0.tsv"
expect 0 "demo tsv with kb" k --rejects "$tmp/rej.tsv" -o "$tmp/k.tsv"
# the advice's summary columns follow the contract's columns on every row
head -1 "$tmp/k.tsv" | grep -q "	flags	triage	urgency	" && ok || fail "advice columns: $(head -1 "$tmp/k.tsv")"
[ "$(wc -l <"$tmp/k.tsv")" -eq $((n_demo * 6 + 1)) ] && ok || fail "demo tsv rows: $(wc -l <"$tmp/k.tsv")"
[ "$(awk -F'\t' '{ print NF }' "$tmp/k.tsv" | sort -u | wc -l)" -eq 1 ] && ok || fail "ragged TSV"
[ "$(grep -c '	UNREPRESENTED	' "$tmp/rej.tsv")" -eq 0 ] && ok || fail "UNREPRESENTED rows with advice columns"
# the first columns are unchanged by the KB
n_cols=$(head -1 "$tmp/k0.tsv" | awk -F'\t' '{ print NF }')
cut -f1-"$n_cols" "$tmp/k.tsv" >"$tmp/k1"
cmp -s "$tmp/k1" "$tmp/k0.tsv" && ok || fail "the KB changed the prediction columns"
expect 0 "diagnose tsv with advice file" k --advice "$tmp/adv.tsv" --rejects "$tmp/rej2.tsv" -o "$tmp/d3.tsv"
[ "$(wc -l <"$tmp/rej2.tsv")" -eq 1 ] && ok || fail "rejects with --advice: $(wc -l <"$tmp/rej2.tsv") lines"
has "$tmp/adv.tsv" "	triage	" "advice rows"
has "$tmp/err" "not a diagnosis" "--advice: decision-support notice on stderr"

# rejected input records are listed once in --rejects, not again as UNREPRESENTED notes
# (the demo's labs hold records with bad units)
# shellcheck disable=SC2086
expect 1 "diagnose inputs with rejects" "$mmdx" diagnose $inputs --model "$tmp/demo-model.h5" -o "$tmp/r.tsv" --rejects "$tmp/rr.tsv"
n_rej=$(awk -F'\t' 'NR > 1 && $4 != "UNREPRESENTED"' "$tmp/rr.tsv" | wc -l)
[ "$n_rej" -gt 0 ] && ok || fail "the demo inputs gave no rejects"
[ "$(grep -c '	UNREPRESENTED	' "$tmp/rr.tsv")" -eq 0 ] && ok || fail "rejected records repeated as UNREPRESENTED"
has "$tmp/err" ", $n_rej rejected records" "summary counts each reject once"
# FHIR from raw inputs: each RiskAssessment's basis lists the input records used
# (file:line of the labs as Reference.display), and the Bundle stays valid
# shellcheck disable=SC2086
expect 1 "diagnose inputs fhir" "$mmdx" diagnose -q $inputs --model "$tmp/demo-model.h5" --format fhir -o "$tmp/rb.xml"
n_ra=$(grep -c '<RiskAssessment>' "$tmp/rb.xml")
n_basis_ra=$(awk '/<RiskAssessment>/ { b = 0 } /<basis>/ { b = 1 } /<\/RiskAssessment>/ { n += b } END { print n + 0 }' "$tmp/rb.xml")
[ "$n_ra" -gt 0 ] && [ "$n_basis_ra" -eq "$n_ra" ] && ok || fail "basis in $n_basis_ra of $n_ra RiskAssessments"
grep -A1 '<basis>' "$tmp/rb.xml" | grep -q '<display value="[^"]*labs.xml:[0-9][0-9]*"/>' && ok \
  || fail "no labs.xml:line basis display"
grep -A1 '<basis>' "$tmp/rb.xml" | grep -q 'derived:' && fail "a derived value in the basis" || ok
if command -v xmllint >/dev/null 2>&1; then
  xmllint --noout --relaxng "$s/tests/data/fhir_riskassessment.rng" "$tmp/rb.xml" 2>"$tmp/xerr" && ok \
    || { fail "FHIR with basis not valid"; head -5 "$tmp/xerr"; }
fi
labs=$(echo $inputs | tr ' ' '\n' | grep 'labs.xml$')
# the basis of one patient is the records of that patient: its labs lines name its id
p1=$(grep -m1 -o '<reference value="Patient/[^"]*"' "$tmp/rb.xml" | sed 's/.*Patient\///; s/"$//')
l1=$(awk -v p="Patient/$p1\"" 'index($0, p) { on = 1 } on && /<display value=".*labs.xml:/ { sub(/.*labs.xml:/, ""); sub(/".*/, ""); print; exit }' "$tmp/rb.xml")
if [ -n "$l1" ]; then
  sed -n "${l1}p" "$labs" | grep -q "Patient/$p1\"" && ok || fail "basis line $l1 is not an Observation of $p1"
else
  fail "no labs line in the first patient's basis"
fi
# shellcheck disable=SC2086
expect 1 "diagnose inputs without --rejects" "$mmdx" diagnose $inputs --model "$tmp/demo-model.h5" -o "$tmp/r.tsv"
grep -q "cannot hold" "$tmp/err" && fail "rejects reported again as items tsv cannot hold" || ok
# shellcheck disable=SC2086
expect 1 "diagnose inputs jsonl" "$mmdx" diagnose -q $inputs --model "$tmp/demo-model.h5" --format jsonl -o "$tmp/r.jsonl"
grep -q '"notes":\["[^]]*(EUNIT)' "$tmp/r.jsonl" && ok || fail "jsonl: the rejects are not in the patients' notes"

# JSON Lines: one object per patient
expect 0 "diagnose jsonl" d -q --format jsonl -o "$tmp/d.jsonl"
[ ! -s "$tmp/err" ] && ok || fail "--quiet printed: $(head -1 "$tmp/err")"
if command -v python3 >/dev/null 2>&1; then
  python3 - "$tmp/d.jsonl" <<'PY' && ok || fail "jsonl content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 30, len(rows)
for r in rows:
    assert [p["target"] for p in r["predictions"]] == ["dx", "grade"]
    g = r["predictions"][1]["classes"]
    assert abs(sum(c["probability"] for c in g) - 1) < 1e-4
    assert r["advice"] is None
    assert "not a diagnosis" in r["disclaimer"]
PY
  expect 0 "demo jsonl" k -q --format jsonl -o "$tmp/k.jsonl"
  python3 - "$tmp/k.jsonl" <<'PY' && ok || fail "jsonl advice"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert all(r["advice"] and "triage" in r["advice"] and "treatments" in r["advice"] for r in rows)
assert any(r["advice"]["next_best_tests"] for r in rows)
PY
fi

# FHIR: well-formed, in the FHIR namespace, valid against the schema of the subset
expect 0 "diagnose fhir" d -q --format fhir --title e2e --timestamp 2026-01-02T03:04:05Z -o "$tmp/d.xml"
if command -v xmllint >/dev/null 2>&1; then
  xmllint --noout --relaxng "$s/tests/data/fhir_riskassessment.rng" "$tmp/d.xml" 2>"$tmp/xerr" && ok \
    || { fail "FHIR not valid"; head -5 "$tmp/xerr"; }
fi
[ "$(grep -c '<RiskAssessment>' "$tmp/d.xml")" -eq 60 ] && ok || fail "RiskAssessments: $(grep -c '<RiskAssessment>' "$tmp/d.xml")"
has "$tmp/d.xml" '<Bundle xmlns="http://hl7.org/fhir">' "FHIR namespace"
expect 0 "demo fhir" k -q --format fhir -o "$tmp/k.xml"
if command -v xmllint >/dev/null 2>&1; then
  xmllint --noout --relaxng "$s/tests/data/fhir_riskassessment.rng" "$tmp/k.xml" 2>"$tmp/xerr" && ok \
    || { fail "demo FHIR not valid"; head -5 "$tmp/xerr"; }
fi
has "$tmp/k.xml" '<text value="triage: ' "triage note"

# HTML in both languages; reruns give the same bytes
expect 0 "diagnose html" k -q --format html -o "$tmp/d.html"
expect 0 "diagnose html again" k -q --format html -o "$tmp/d2.html"
cmp -s "$tmp/d.html" "$tmp/d2.html" && ok || fail "HTML differs on rerun"
has "$tmp/d.html" "not a diagnosis" "disclaimer"
has "$tmp/d.html" "<svg" "SVG"
if command -v xmllint >/dev/null 2>&1; then
  xmllint --noout "$tmp/d.html" 2>/dev/null && ok || fail "HTML is not well-formed"
fi
has "$tmp/d.html" 'class="suggestions"' "suggestions table"
expect 0 "diagnose html ko" k -q --format html --lang ko -o "$tmp/ko.html"
has "$tmp/ko.html" 'lang="ko"' "Korean report"
has "$tmp/ko.html" "진단이 아닙니다" "Korean disclaimer"

# --per-patient DIR: one page per patient and an index linking them; reruns identical
mkdir "$tmp/pp" "$tmp/pp2" "$tmp/ppko"
expect 0 "diagnose html per patient" k -q --format html --per-patient "$tmp/pp"
[ "$(ls "$tmp/pp" | wc -l)" -eq $((n_demo + 1)) ] && ok || fail "per-patient files: $(ls "$tmp/pp" | wc -l), want $((n_demo + 1))"
[ "$(grep -c '<tr><td><a href="' "$tmp/pp/index.html")" -eq "$n_demo" ] && ok || fail "index rows"
has "$tmp/pp/index.html" "not a diagnosis" "index disclaimer"
missing=0
for f in $(grep -o '<a href="[^"]*"' "$tmp/pp/index.html" | sed 's/<a href="//; s/"$//'); do
  [ -f "$tmp/pp/$f" ] || missing=$((missing + 1))
done
[ "$missing" -eq 0 ] && ok || fail "$missing index links without a page"
p1=$(grep -m1 -o '<a href="[^"]*">[^<]*<' "$tmp/pp/index.html" | sed 's/.*">//; s/<$//')
has "$tmp/pp/$p1.html" "<svg" "per-patient page SVG"
has "$tmp/pp/$p1.html" "not a diagnosis" "per-patient page disclaimer"
has "$tmp/pp/$p1.html" "$p1" "per-patient page names its patient"
p2=$(grep -o '<a href="[^"]*">[^<]*<' "$tmp/pp/index.html" | sed -n 2p | sed 's/.*">//; s/<$//')
grep -q "$p2" "$tmp/d.html" && ok || fail "batch report lacks $p2"
grep -q "$p2" "$tmp/pp/$p1.html" && fail "page of $p1 mentions $p2" || ok
if command -v xmllint >/dev/null 2>&1; then
  xmllint --noout "$tmp/pp/index.html" "$tmp/pp/$p1.html" 2>/dev/null && ok || fail "per-patient HTML not well-formed"
fi
expect 0 "diagnose html per patient again" k -q --format html --per-patient "$tmp/pp2"
diff -r "$tmp/pp" "$tmp/pp2" >/dev/null && ok || fail "per-patient pages differ on rerun"
expect 0 "diagnose html per patient ko" k -q --format html --lang ko --per-patient "$tmp/ppko"
has "$tmp/ppko/index.html" "진단이 아닙니다" "Korean index disclaimer"
has "$tmp/ppko/$p1.html" 'lang="ko"' "Korean per-patient page"
ls "$tmp/pp" | grep -q '\.tmp\|~' && fail "temporary files left in the per-patient directory" || ok
# file names from sanitised ids: "index" and "x:y" get a hash suffix, no clash with index.html
sed 's/DEMO0301/index/g; s/DEMO0302/x:y/g' "$labs" >"$tmp/odd.xml"
mkdir "$tmp/ppodd"
expect 1 "per patient, odd ids" "$mmdx" diagnose -q --labs "$tmp/odd.xml" --model "$tmp/demo-model.h5" --format html \
  --per-patient "$tmp/ppodd"
ls "$tmp/ppodd" | grep -q '^index-[0-9a-f]\{8\}\.html$' && ok || fail "page of patient 'index'"
ls "$tmp/ppodd" | grep -q '^x_y-[0-9a-f]\{8\}\.html$' && ok || fail "page of patient 'x:y'"
grep -q '>index</a>' "$tmp/ppodd/index.html" && ok || fail "index lists patient 'index'"
# usage errors and a missing directory: exit 2, nothing written
expect 2 "per patient with tsv" k --format tsv --per-patient "$tmp/pp"
expect 2 "per patient with -o" k --format html --per-patient "$tmp/pp" -o "$tmp/x.html"
expect 2 "per patient, missing directory" k --format html --per-patient "$tmp/nodir"
[ ! -e "$tmp/nodir" ] && [ ! -e "$tmp/x.html" ] && ok || fail "written after a --per-patient error"

# a model target the KB does not know (t2d renamed xdx): warning on stderr, a note in
# jsonl/fhir/html, and a probable xdx marks the triage "not covered by the KB"
sed '1s/	t2d	/	xdx	/' "$demo/train/labels.tsv" >"$tmp/xlabels.tsv"
tr_inputs=$(sh "$s/examples/mmdx/demo-inputs.sh" "$mmdx" "$demo/train")
# shellcheck disable=SC2086
"$mmdx" ingest -q $tr_inputs --labels "$tmp/xlabels.tsv" -o "$tmp/xtrain.h5"
expect 0 "train xdx" "$mmdx" train -q --cohort "$tmp/xtrain.h5" -o "$tmp/xmodel.h5"
x() { "$mmdx" diagnose --cohort "$tmp/demo-test.h5" --model "$tmp/xmodel.h5" --kb "$kb" "$@"; }
unc="KB mmdx-default [^ ]* has no rule for target(s) xdx: their posteriors do not enter triage or suggestions"
expect 0 "diagnose tsv, uncovered target" x -o "$tmp/u.tsv"
grep -q "^mmdx: warning: $unc\$" "$tmp/err" && ok || fail "diagnose: no uncovered-target warning"
expect 0 "diagnose jsonl, uncovered target" x -q --format jsonl -o "$tmp/u.jsonl"
if command -v python3 >/dev/null 2>&1; then
  python3 - "$tmp/u.jsonl" <<'PY' && ok || fail "jsonl: uncovered target note or triage"
import json, sys
n_marked = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    assert "has no rule for target(s) xdx" in r["notes"][0], r["notes"]
    tri = r["advice"]["triage"]
    p1 = [c["probability"] for p in r["predictions"] if p["target"] == "xdx" for c in p["classes"] if c["class"] == "1"][0]
    # a probable xdx is never left to the KB's routine default
    if p1 >= 0.5:
        assert tri["target"] is not None, (r["patient_id"], tri, p1)
    if tri["department"] == "not covered by the KB":
        assert tri["target"] == "xdx" and abs(tri["probability"] - p1) < 1e-4, tri
        n_marked += 1
assert n_marked > 0
PY
fi
expect 0 "diagnose html, uncovered target" x -q --format html -o "$tmp/u.html"
has "$tmp/u.html" "has no rule for target(s) xdx" "html uncovered note"
expect 0 "diagnose fhir, uncovered target" x -q --format fhir -o "$tmp/u.xml"
has "$tmp/u.xml" "has no rule for target(s) xdx" "fhir uncovered note"
expect 0 "diagnose, covered targets" k -o "$tmp/u2.tsv"
grep -q "has no rule for target" "$tmp/err" && fail "warning although the KB covers every target" || ok

# bad output paths and options fail before any work, nothing written
expect 2 "missing directory" d --format html -o "$tmp/missing/d.html"
has "$tmp/err" "missing" "error names the directory"
[ ! -e "$tmp/missing" ] && ok || fail "the missing directory was created"
expect 2 "rejects in a missing directory" d -o "$tmp/x.tsv" --rejects "$tmp/missing/r.tsv"
[ ! -e "$tmp/x.tsv" ] && ok || fail "output written although the rejects path was bad"
expect 2 "unknown format" d --format pdf -o "$tmp/x.pdf"
expect 2 "unknown language" d --format html --lang fr -o "$tmp/x.html"
expect 2 "advice with html" d --format html --advice "$tmp/a.tsv" -o "$tmp/x.html"
[ ! -e "$tmp/x.html" ] && [ ! -e "$tmp/x.pdf" ] && ok || fail "output written after a usage error"
expect 2 "bad timestamp" d --format fhir --timestamp yesterday -o "$tmp/x.xml"
has "$tmp/err" "ISO 8601" "timestamp error"
expect 2 "bad kb" d --kb "$tmp/d.tsv" -o "$tmp/x.tsv"
[ ! -e "$tmp/x.tsv" ] && ok || fail "output written with a bad KB"
expect 2 "KB that does not fit the model" d --kb "$kb" -o "$tmp/x.tsv"
has "$tmp/err" "demo:sex" "KB mismatch names the feature"
[ ! -e "$tmp/x.tsv" ] && ok || fail "output written with a bad KB"

echo "diagnose_output: $pass checks passed, $fails failed"
[ $fails -eq 0 ]
