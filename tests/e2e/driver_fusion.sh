#!/bin/sh
# The fusion commands on a synthetic labelled cohort file (tests/e2e/fusion_cohort):
# train, diagnose (TSV layout, probabilities sum to 1), validate (metrics present,
# subgroups), federate over three sites == train on the pooled file (identical
# diagnose output), merge refusing files of different passes, bad input errors.
set -u
b=${MMDX_BUILDDIR:-.}
mmdx=$b/examples/mmdx/mmdx
gen=$b/tests/e2e/fusion_cohort
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-fusion.XXXXXX")
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
has() { if grep -q -- "$2" "$1"; then ok; else fail "$3: no '$2' in $(basename "$1")"; sed 's/^/  | /' "$1" | head -5; fi; }

"$gen" "$tmp/train.h5" 600 1 3 || { echo "FAIL: cannot make the cohort"; exit 1; }
"$gen" "$tmp/test.h5" 200 2 || { echo "FAIL: cannot make the cohort"; exit 1; }

expect 0 "train" "$mmdx" train --cohort "$tmp/train.h5" -o "$tmp/model.h5"
has "$tmp/err" "train: 6 features in 3 modalities (img:retina, lab, demo); targets: dx" "train summary"
expect 0 "diagnose" "$mmdx" diagnose --cohort "$tmp/test.h5" --model "$tmp/model.h5" -o "$tmp/diag.tsv"
head -1 "$tmp/diag.tsv" | grep -q "^patient_id	target	class	probability	ci_low	ci_high	evidence:img:retina	evidence:lab	evidence:demo	missing_modalities	missing_features	top_features	ood_pvalue	flags$" \
  && ok || fail "diagnose header: $(head -1 "$tmp/diag.tsv")"
# 200 patients x (2 + 3 classes) rows
[ "$(wc -l <"$tmp/diag.tsv")" -eq 1001 ] && ok || fail "diagnose rows: $(wc -l <"$tmp/diag.tsv")"
awk -F'\t' 'NR > 1 { s[$1 FS $2] += $4; if ($5 > $4 + 1e-9 && $2 == "dx") bad++ }
  END { for (k in s) if (s[k] < 0.99999 || s[k] > 1.00001) bad++; exit bad > 0 }' "$tmp/diag.tsv" \
  && ok || fail "probabilities do not sum to 1 per patient and target, or ci_low above the probability"
has "$tmp/diag.tsv" "	imputed$" "a patient with a missing lab is flagged imputed"

expect 0 "validate" "$mmdx" validate --cohort "$tmp/train.h5" --folds 5 --seed 1 --bootstrap 200 \
  --group demo:sex -o "$tmp/val.tsv"
has "$tmp/val.tsv" "^dx	1	all	all	5[0-9][0-9]	[0-9]*	auroc	0\.[89]" "overall AUROC of dx"
has "$tmp/val.tsv" "^dx	1	demo:sex	male	.*	ece	" "subgroup ECE"
has "$tmp/val.tsv" "^grade	mid	all	all	.*	calibration_bin10_observed	" "calibration table"
expect 0 "validate is reproducible" "$mmdx" validate --cohort "$tmp/train.h5" --folds 5 --seed 1 \
  --bootstrap 200 --group demo:sex -o "$tmp/val2.tsv"
cmp -s "$tmp/val.tsv" "$tmp/val2.tsv" && ok || fail "validate with the same seed differs"
# threads do not change the model or the metrics
expect 0 "train -t 3" "$mmdx" train -q -t 3 --cohort "$tmp/train.h5" -o "$tmp/model3.h5"
cmp -s "$tmp/model.h5" "$tmp/model3.h5" && ok || fail "train -t 3 wrote another model file than -t 1"
expect 0 "validate -t 2" "$mmdx" validate --threads 2 --cohort "$tmp/train.h5" --folds 5 --seed 1 --bootstrap 200 \
  --group demo:sex -o "$tmp/val3.tsv"
cmp -s "$tmp/val.tsv" "$tmp/val3.tsv" && ok || fail "validate -t 2 differs from -t 1"
expect 2 "train -t 0" "$mmdx" train -t 0 --cohort "$tmp/train.h5" -o "$tmp/x.h5"

# federated: three sites, files only; the result predicts exactly as the pooled model
expect 0 "federate init" "$mmdx" federate init --cohort "$tmp/train.h5" -o "$tmp/state.h5"
r=continue
n=0
while [ "$r" = continue ] && [ $n -lt 100 ]; do
  for k in 1 2 3; do
    "$mmdx" federate site -q --state "$tmp/state.h5" --cohort "$tmp/train.h5.site$k.h5" -o "$tmp/agg$k.h5" \
      || { fail "federate site $k"; break 2; }
  done
  r=$("$mmdx" federate step -q "$tmp/agg1.h5" "$tmp/agg2.h5" "$tmp/agg3.h5" -o "$tmp/state.h5") || { fail "federate step"; break; }
  n=$((n + 1))
done
[ "$r" = fitted ] && ok || fail "federated training did not finish ($n rounds)"
expect 0 "diagnose with the federated model" "$mmdx" diagnose -q --cohort "$tmp/test.h5" --model "$tmp/state.h5" \
  -o "$tmp/diag_fed.tsv"
cmp -s "$tmp/diag.tsv" "$tmp/diag_fed.tsv" && ok || fail "federated and pooled diagnoses differ"

# merge: aggregates of one pass merge; a file from another pass is refused naming it
"$mmdx" federate init -q --cohort "$tmp/train.h5" -o "$tmp/s0.h5"
"$mmdx" federate site -q --state "$tmp/s0.h5" --cohort "$tmp/train.h5.site1.h5" -o "$tmp/a1.h5"
"$mmdx" federate site -q --state "$tmp/s0.h5" --cohort "$tmp/train.h5.site2.h5" -o "$tmp/a2.h5"
expect 0 "merge" "$mmdx" merge "$tmp/a1.h5" "$tmp/a2.h5" -o "$tmp/m.h5"
expect 2 "merge across passes" "$mmdx" merge "$tmp/a1.h5" "$tmp/state.h5" -o "$tmp/m2.h5"
has "$tmp/err" "state.h5.*different training passes\|state.h5.*fitted" "merge error names the file"
[ -e "$tmp/m2.h5" ] && fail "merge wrote a file after an error" || ok

# bad input
expect 2 "diagnose with a training state" "$mmdx" diagnose --cohort "$tmp/test.h5" --model "$tmp/s0.h5"
has "$tmp/err" "not fitted" "unfitted model"
expect 2 "diagnose with a cohort as model" "$mmdx" diagnose --cohort "$tmp/test.h5" --model "$tmp/test.h5"
has "$tmp/err" "not an mmdx model file" "foreign file"
expect 2 "train without labels" "$mmdx" train --cohort "$tmp/test.h5" --labels /nonexistent.tsv -o "$tmp/x.h5"
expect 2 "train without output" "$mmdx" train --cohort "$tmp/train.h5"
printf 'patient_id\tdx\nSYN00001\t1\nSYN00002\t1\n' >"$tmp/one.tsv"
expect 2 "a target with one class" "$mmdx" train --cohort "$tmp/train.h5" --labels "$tmp/one.tsv" -o "$tmp/x.h5"
has "$tmp/err" "only one class" "one-class target"

# labels naming patients not in the evidence: an error naming the labels file, the first such
# line and patient and how many, nothing written; --ignore-unknown-labels skips them (warning)
awk 'BEGIN { split("high low mid", g, " "); print "patient_id\tdx\tgrade";
  for (i = 1; i <= 600; i++) printf "SYN%05d\t%d\t%s\n", i, i % 2, g[i % 3 + 1];
  print "NOBODY1\t1\tlow"; print "NOBODY2\t0\tNA" }' >"$tmp/extra.tsv"
expect 2 "train with unknown label rows" "$mmdx" train --cohort "$tmp/train.h5" --labels "$tmp/extra.tsv" -o "$tmp/x.h5"
has "$tmp/err" "extra.tsv line 602: patient 'NOBODY1' is not in the evidence; 2 of 602 label rows name patients not in the evidence" "train: unknown label rows named and counted"
has "$tmp/err" "give --ignore-unknown-labels" "train: the opt-out is named"
[ -e "$tmp/x.h5" ] && fail "train wrote a model despite unknown label rows" || ok
expect 0 "train --ignore-unknown-labels" "$mmdx" train --cohort "$tmp/train.h5" --labels "$tmp/extra.tsv" \
  --ignore-unknown-labels -o "$tmp/x.h5"
has "$tmp/err" "warning: --labels: 2 of 602 label rows name patients not in the evidence (skipped; first: .*extra.tsv line 602, patient 'NOBODY1')" "train: warning with the opt-out"
has "$tmp/err" "dx (600 labelled)" "train: the known rows are used"
expect 0 "train -q --ignore-unknown-labels" "$mmdx" train -q --cohort "$tmp/train.h5" --labels "$tmp/extra.tsv" \
  --ignore-unknown-labels -o "$tmp/x.h5"
[ -s "$tmp/err" ] && fail "train -q printed: $(head -1 "$tmp/err")" || ok
expect 2 "validate with unknown label rows" "$mmdx" validate --cohort "$tmp/train.h5" --labels "$tmp/extra.tsv" \
  --folds 2 --bootstrap 10 -o "$tmp/xv.tsv"
has "$tmp/err" "extra.tsv line 602: patient 'NOBODY1' is not in the evidence; 2 of 602" "validate: unknown label rows named"
[ -e "$tmp/xv.tsv" ] && fail "validate wrote metrics despite unknown label rows" || ok
expect 0 "validate --ignore-unknown-labels" "$mmdx" validate --cohort "$tmp/train.h5" --labels "$tmp/extra.tsv" \
  --ignore-unknown-labels --folds 2 --bootstrap 10 -o "$tmp/xv.tsv"
expect 2 "federate init with unknown label rows" "$mmdx" federate init --cohort "$tmp/train.h5" --labels "$tmp/extra.tsv" \
  -o "$tmp/xs.h5"
has "$tmp/err" "patient 'NOBODY1' is not in the evidence" "federate init: unknown label rows named"
expect 0 "federate init --ignore-unknown-labels" "$mmdx" federate init -q --cohort "$tmp/train.h5" \
  --labels "$tmp/extra.tsv" --ignore-unknown-labels -o "$tmp/xs.h5"
# a site's labels must name its own patients: site 1 holds only part of the cohort
expect 2 "federate site with unknown label rows" "$mmdx" federate site --state "$tmp/xs.h5" \
  --cohort "$tmp/train.h5.site1.h5" --labels "$tmp/extra.tsv" -o "$tmp/xa.h5"
has "$tmp/err" "is not in the evidence; [0-9]* of 602 label rows" "federate site: unknown label rows counted"
[ -e "$tmp/xa.h5" ] && fail "federate site wrote aggregates despite unknown label rows" || ok
expect 0 "federate site --ignore-unknown-labels" "$mmdx" federate site -q --state "$tmp/xs.h5" \
  --cohort "$tmp/train.h5.site1.h5" --labels "$tmp/extra.tsv" --ignore-unknown-labels -o "$tmp/xa.h5"
# evidence sharing no feature with the model, a model of another format version or feature
# space: clear errors, nothing written (the files are made with h5py when it is there)
py=/usr/bin/python3
if [ -x "$py" ] && "$py" -c 'import h5py' 2>/dev/null; then
  "$py" - "$tmp/other.h5" <<'PY' || fail "cannot write the other imaging file"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f["patient_ids"] = np.array([b"SYN%05d" % i for i in range(1, 41)], dtype="S8")
    f["feature_names"] = np.array([b"thickness", b"area"], dtype="S9")
    f["features"] = np.random.default_rng(1).normal(size=(40, 2))
    f.attrs["modality"] = "oct"
PY
  expect 2 "diagnose evidence without the model's features" "$mmdx" diagnose --imaging "$tmp/other.h5" \
    --model "$tmp/model.h5" -o "$tmp/xd.tsv"
  has "$tmp/err" "diagnose: none of the 6 features of .*model.h5 is in the evidence (e.g. img:retina:" "no model feature named"
  [ -e "$tmp/xd.tsv" ] && fail "diagnose wrote output for evidence without the model's features" || ok
  "$mmdx" ingest -q --imaging "$tmp/other.h5" -o "$tmp/other_cohort.h5" || fail "ingest the other imaging file"
  expect 2 "diagnose a cohort file without the model's features" "$mmdx" diagnose --cohort "$tmp/other_cohort.h5" \
    --model "$tmp/model.h5" -o "$tmp/xd.tsv"
  has "$tmp/err" "none of the 6 features" "cohort file: no model feature named"
  # some of the model's features absent: a warning counting them
  "$mmdx" export -q --cohort "$tmp/test.h5" --source retina -o "$tmp/retina_only.h5" || fail "export retina"
  expect 0 "diagnose with the imaging features only" "$mmdx" diagnose --imaging "$tmp/retina_only.h5" \
    --model "$tmp/model.h5" -o "$tmp/xd.tsv"
  has "$tmp/err" "warning: diagnose: [1-5] of the 6 features of the model are absent from the evidence (first: lab:" "absent features counted"
  # a federated state of another feature space: a site refuses it, merge names the file
  awk 'BEGIN { print "patient_id\tdx"; for (i = 1; i <= 40; i++) printf "SYN%05d\t%d\n", i, i % 2 }' >"$tmp/l40.tsv"
  "$mmdx" federate init -q --imaging "$tmp/other.h5" --labels "$tmp/l40.tsv" -o "$tmp/so.h5" || fail "federate init other"
  expect 2 "federate site with a state of another feature space" "$mmdx" federate site --state "$tmp/so.h5" \
    --cohort "$tmp/train.h5.site1.h5" -o "$tmp/xa2.h5"
  has "$tmp/err" "federate site: none of the 2 features of .*so.h5 is in the evidence" "site: foreign state named"
  "$mmdx" federate site -q --state "$tmp/so.h5" --imaging "$tmp/other.h5" --labels "$tmp/l40.tsv" -o "$tmp/ao.h5" \
    || fail "federate site other"
  expect 2 "merge aggregates of two feature spaces" "$mmdx" merge "$tmp/a1.h5" "$tmp/ao.h5" -o "$tmp/xm.h5"
  has "$tmp/err" "ao.h5: cannot merge: feature spaces differ" "merge: other feature space named"
  # another format version: newer (refused, upgrade) and older (refused, retrain)
  for v in 99 1; do
    cp "$tmp/model.h5" "$tmp/v$v.h5"
    "$py" -c 'import sys, h5py, numpy as np; f = h5py.File(sys.argv[1], "r+"); f.attrs.modify("format_version", np.int64(int(sys.argv[2]))); f.close()' \
      "$tmp/v$v.h5" "$v" || fail "cannot set format_version"
    expect 2 "diagnose with a model of format version $v" "$mmdx" diagnose --cohort "$tmp/test.h5" --model "$tmp/v$v.h5" \
      -o "$tmp/xd.tsv"
  done
  has "$tmp/err" "v1.h5.*older mmdx.*retrain" "older model file: retrain"
  run "$mmdx" diagnose --cohort "$tmp/test.h5" --model "$tmp/v99.h5" -o "$tmp/xd.tsv"
  has "$tmp/err" "v99.h5.*99.*newer mmdx" "newer model file: upgrade"
  # a proportion declared LOGIT in the cohort file (/space/feature_transforms = 2): trained on
  # logit(x), kept in the model file; a value outside [0, 1] is an error naming patient and
  # feature (cohort file) or a rejected record (inputs)
  settr() { "$py" -c 'import sys, h5py; f = h5py.File(sys.argv[1], "r+"); f["space/feature_transforms"][int(sys.argv[2])] = 2; f.close()' "$@"; }
  cp "$tmp/train.h5" "$tmp/lt.h5" && settr "$tmp/lt.h5" 0 || fail "cannot declare img:retina:cup_disc logit"
  expect 0 "train with a LOGIT proportion" "$mmdx" train --cohort "$tmp/lt.h5" -o "$tmp/lt_model.h5"
  tr=$("$py" -c 'import sys, h5py; print(int(h5py.File(sys.argv[1], "r")["space/feature_transforms"][0]))' "$tmp/lt_model.h5")
  [ "$tr" = 2 ] && ok || fail "the model file does not keep the logit transform: '$tr'"
  cp "$tmp/test.h5" "$tmp/lt_test.h5" && settr "$tmp/lt_test.h5" 0
  expect 0 "diagnose with a LOGIT proportion" "$mmdx" diagnose --cohort "$tmp/lt_test.h5" --model "$tmp/lt_model.h5" \
    -o "$tmp/lt_diag.tsv"
  cmp -s "$tmp/lt_diag.tsv" "$tmp/diag.tsv" && fail "the logit model predicts exactly as the untransformed one" || ok
  cp "$tmp/lt_test.h5" "$tmp/lt_bad.h5"
  "$py" -c 'import sys, h5py; f = h5py.File(sys.argv[1], "r+"); f["values"][3, 0] = 45.0; f.close()' "$tmp/lt_bad.h5"
  expect 2 "diagnose a proportion outside [0, 1]" "$mmdx" diagnose --cohort "$tmp/lt_bad.h5" --model "$tmp/lt_model.h5" \
    -o "$tmp/xd.tsv"
  has "$tmp/err" "img:retina:cup_disc: patient SYN00004: value 45 is outside \[0, 1\]" "bad proportion named"
  # diagnose --threads: with bad rows 4, 6 and 7 the error is the first in input order
  cp "$tmp/lt_bad.h5" "$tmp/lt_bad3.h5"
  "$py" -c 'import sys, h5py; f = h5py.File(sys.argv[1], "r+"); f["values"][5, 0] = 7.0; f["values"][6, 0] = 9.0; f.close()' \
    "$tmp/lt_bad3.h5"
  for th in 1 2 3; do
    rm -f "$tmp/xd.tsv"
    expect 2 "diagnose --threads $th, three proportions outside [0, 1]" "$mmdx" diagnose --cohort "$tmp/lt_bad3.h5" \
      --model "$tmp/lt_model.h5" --threads $th -o "$tmp/xd.tsv"
    has "$tmp/err" "patient SYN00004: value 45 is outside" "diagnose --threads $th: the first bad row is named"
    [ -e "$tmp/xd.tsv" ] && fail "diagnose --threads $th: output written despite the error" || ok
  done
  "$mmdx" export -q --cohort "$tmp/lt_bad.h5" --source retina -o "$tmp/lt_bad_img.h5" || fail "export the bad proportion"
  expect 1 "diagnose inputs with a proportion outside [0, 1]" "$mmdx" diagnose --imaging "$tmp/lt_bad_img.h5" \
    --model "$tmp/lt_model.h5" --rejects "$tmp/lt_rej.tsv" -o "$tmp/xd.tsv"
  has "$tmp/lt_rej.tsv" "^SYN00004	.*lt_bad_img.h5	4	ERANGE	value outside \[0, 1\] for a proportion (transform logit) for img:retina:cup_disc$" "bad proportion rejected"
  cp "$tmp/train.h5" "$tmp/lt2.h5" && settr "$tmp/lt2.h5" 2
  expect 2 "train with values outside [0, 1] declared LOGIT" "$mmdx" train --cohort "$tmp/lt2.h5" -o "$tmp/x.h5"
  has "$tmp/err" "lab:loinc:2345-7: patient SYN[0-9]*: value [0-9.]* is outside \[0, 1\]" "train: bad proportion named"
else
  echo "driver_fusion: no h5py, checks of foreign evidence and model files skipped"
fi

for c in train validate federate ingest; do
  "$mmdx" "$c" --help | grep -q -- "--ignore-unknown-labels" && ok || fail "$c --help does not list --ignore-unknown-labels"
done

# the demo cohort through the adapters (imaging HDF5, FHIR labs, VCF), when built
demo=$b/data/demo/generated
s=${MMDX_SRCDIR:-.}
if [ -f "$demo/train/labels.tsv" ] && inputs=$(sh "$s/examples/mmdx/demo-inputs.sh" "$mmdx" "$demo/train" 2>/dev/null) \
   && tinputs=$(sh "$s/examples/mmdx/demo-inputs.sh" "$mmdx" "$demo/test" 2>/dev/null); then
  # shellcheck disable=SC2086
  run "$mmdx" train $inputs --labels "$demo/train/labels.tsv" -o "$tmp/demo.h5"
  [ "$rc" -le 1 ] && ok || { fail "demo train: exit $rc"; sed 's/^/  | /' "$tmp/err" | head -5; }
  # shellcheck disable=SC2086
  run "$mmdx" diagnose $tinputs --model "$tmp/demo.h5" -o "$tmp/demo.tsv"
  [ "$rc" -le 1 ] && ok || { fail "demo diagnose: exit $rc"; sed 's/^/  | /' "$tmp/err" | head -5; }
  # every test patient has two rows (classes 0, 1) per target t2d, ckd, cad
  n=$(cut -f1 "$demo/test/labels.tsv" | tail -n +2 | wc -l)
  [ "$(wc -l <"$tmp/demo.tsv")" -eq $((n * 6 + 1)) ] && ok || fail "demo diagnose rows: $(wc -l <"$tmp/demo.tsv")"
  # shellcheck disable=SC2086
  run "$mmdx" validate $inputs --labels "$demo/train/labels.tsv" --folds 5 --seed 1 --bootstrap 100 -o "$tmp/demo_val.tsv"
  awk -F'\t' '$1 == "t2d" && $3 == "all" && $7 == "auroc" { found = 1; if ($8 < 0.95) exit 1 } END { exit !found }' \
    "$tmp/demo_val.tsv" && ok || fail "demo t2d cross-validated AUROC below 0.95: $(grep -P 't2d.*all.*auroc\t' "$tmp/demo_val.tsv")"
else
  echo "driver_fusion: demo cohort or its adapters not available, demo checks skipped"
fi

echo "driver_fusion: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
