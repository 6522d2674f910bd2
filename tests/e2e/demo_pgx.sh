#!/bin/sh
# The demo cohort's pharmacogenomics, end to end (data/demo/README.md):
#  - the generator is deterministic (same seed -> byte-identical files, HDF5 included) and
#    its VCF has a record at every defining position of data/pgx/pgx_positions.tsv, with
#    the table's REF and ALTs;
#  - mmdx pgx on the demo VCFs, without absent=reference, calls every gene with certainty
#    high or reduced for at least 80% of the genotyped patients, and never 'none';
#  - through the demo's inputs (examples/mmdx/demo-inputs.sh: panel + pgx=1), the KB advice
#    of diagnose --kb --advice and of suggest acts on the genotypes: genotype-guided
#    clopidogrel and statin rules fire, each quotes the diplotype and phenotype of the PGx
#    table, and no patient with a certain CYP2C19 call is told to "check CYP2C19".
set -u
b=${MMDX_BUILDDIR:-.}
s=${MMDX_SRCDIR:-.}
mmdx=$b/examples/mmdx/mmdx
gen=$b/data/demo/mmdx-demo-gen
demo=$b/data/demo/generated
[ -x "$mmdx" ] && [ -x "$gen" ] || { echo "SKIP: mmdx or mmdx-demo-gen not built"; exit 77; }
[ -f "$demo/train/variants.vcf" ] || { echo "SKIP: no demo cohort in $demo (make demo-data)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-demopgx.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0 pass=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { pass=$((pass + 1)); }

# ---- the generator: deterministic, every defining position written
"$gen" "$tmp/g1" 40 20 7 2>/dev/null && "$gen" "$tmp/g2" 40 20 7 2>/dev/null || fail "mmdx-demo-gen failed"
cmp -s "$tmp/g1/train/variants.vcf" "$tmp/g2/train/variants.vcf" && diff -r "$tmp/g1" "$tmp/g2" >/dev/null \
  && ok || fail "the same seed gave different files: $(diff -rq "$tmp/g1" "$tmp/g2" | head -3)"
"$gen" "$tmp/g3" 40 20 8 2>/dev/null
cmp -s "$tmp/g1/train/variants.vcf" "$tmp/g3/train/variants.vcf" && fail "another seed gave the same VCF" || ok
# chrom:pos:ref:alts of the tables and of the VCF's records (the two risk SNPs are extra)
awk -F'\t' 'NR > 1 { print $2 ":" $3 ":" $5 ":" $6 }' "$s/data/pgx/pgx_positions.tsv" | sort >"$tmp/want"
for set in train test; do
  grep -v '^#' "$demo/$set/variants.vcf" | awk -F'\t' '{ print $1 ":" $2 ":" $4 ":" $5 }' | sort >"$tmp/have"
  n_miss=$(comm -23 "$tmp/want" "$tmp/have" | wc -l)
  [ "$n_miss" -eq 0 ] && [ "$(wc -l <"$tmp/want")" -gt 300 ] && ok \
    || fail "$set: $n_miss defining positions without a record, e.g. $(comm -23 "$tmp/want" "$tmp/have" | head -2 | tr '\n' ' ')"
  # 0|0 is written, not left out: every record has a genotype for every sample
  grep -v '^#' "$demo/$set/variants.vcf" | awk -F'\t' 'NF < 10 { bad = 1 } END { exit bad }' && ok || fail "$set: a record without samples"
done

# ---- mmdx pgx on the demo VCFs as they are (no absent=reference)
: >"$tmp/pgx.all"
for set in train test; do
  if "$mmdx" pgx --variants "$demo/$set/variants.vcf" -o "$tmp/pgx.$set.tsv" 2>"$tmp/err"; then ok
  else fail "pgx $set: exit $?: $(head -2 "$tmp/err")"; fi
  n_samples=$(grep -m1 '^#CHROM' "$demo/$set/variants.vcf" | awk -F'\t' '{ print NF - 9 }')
  n_rows=$(awk -F'\t' '!/^#/ && $1 != "patient_id"' "$tmp/pgx.$set.tsv" | wc -l)
  [ "$n_rows" -eq $((n_samples * 9)) ] && [ "$n_samples" -gt 50 ] && ok \
    || fail "pgx $set: $n_rows rows for $n_samples samples x 9 genes"
  awk -F'\t' '!/^#/ && $1 != "patient_id"' "$tmp/pgx.$set.tsv" >>"$tmp/pgx.all"
done
echo "demo_pgx: calls per gene (high reduced ambiguous none):"
awk -F'\t' '{ n[$2]++; c[$2 " " $6]++ }
  END { for (g in n) printf "  %-8s %4d %4d %4d %4d\n", g, c[g " high"], c[g " reduced"], c[g " ambiguous"], c[g " none"] }' \
  "$tmp/pgx.all" | sort
awk -F'\t' '{ n[$2]++; if ($6 == "high" || $6 == "reduced") good[$2]++; if ($6 == "none") none[$2]++ }
  END { if (length(n) != 9) bad = 1
        for (g in n) if (good[g] < 0.8 * n[g] || none[g] > 0) { print "  " g ": " good[g] + 0 " of " n[g] " certain, " none[g] + 0 " none"; bad = 1 }
        exit bad }' "$tmp/pgx.all" && ok || fail "a gene with < 80% certain calls or a 'none' call"
# the demo draws actionable phenotypes: some CYP2C19 poor metabolizers and SLCO1B1 decreased/poor function
grep -q "	CYP2C19	[^	]*	Poor Metabolizer	.*	high	" "$tmp/pgx.all" && ok || fail "no CYP2C19 poor metabolizer"
grep -Eq "	SLCO1B1	[^	]*	(Decreased|Poor) Function	" "$tmp/pgx.all" && ok || fail "no SLCO1B1 decreased function"

# ---- the KB advice through the demo's inputs
inputs() { sh "$s/examples/mmdx/demo-inputs.sh" "$mmdx" "$demo/$1"; }
tr_in=$(inputs train) && te_in=$(inputs test) || { fail "demo-inputs.sh"; exit 1; }
case "$tr_in" in *"variants.pgx=1"*) ok ;; *) fail "demo-inputs.sh does not turn PGx calling on: $tr_in" ;; esac
"$mmdx" ingest -q $tr_in --labels "$demo/train/labels.tsv" -o "$tmp/train.h5" 2>/dev/null
[ -s "$tmp/train.h5" ] && ok || fail "ingest train"
"$mmdx" ingest -q $te_in -o "$tmp/test.h5" 2>/dev/null
[ -s "$tmp/test.h5" ] && ok || fail "ingest test"
"$mmdx" train -q --cohort "$tmp/train.h5" -o "$tmp/model.h5" 2>"$tmp/err" && ok || fail "train: $(head -2 "$tmp/err")"
"$mmdx" diagnose -q --cohort "$tmp/test.h5" --model "$tmp/model.h5" --kb "$s/data/kb/default.xml" \
  --advice "$tmp/advice.tsv" -o "$tmp/diag.tsv" 2>"$tmp/err" && ok || fail "diagnose --advice: $(head -2 "$tmp/err")"
"$mmdx" suggest -q --cohort "$tmp/test.h5" --model "$tmp/model.h5" --kb "$s/data/kb/default.xml" \
  -o "$tmp/suggest.tsv" 2>"$tmp/err" && ok || fail "suggest: $(head -2 "$tmp/err")"
for out in advice suggest; do
  f=$tmp/$out.tsv
  # genotype-guided rules fire: clopidogrel by CYP2C19, a statin by SLCO1B1
  n_clop=$(awk -F'\t' '$2 == "rule" && $4 == "clopidogrel" && $5 ~ /^(avoid|use)$/ && $6 ~ / CYP2C19 \*/' "$f" | wc -l)
  n_stat=$(awk -F'\t' '$2 == "rule" && $4 ~ /statin$/ && $5 == "adjust" && $6 ~ / SLCO1B1 \*/' "$f" | wc -l)
  [ "$n_clop" -gt 0 ] && ok || fail "$out: no CYP2C19-guided clopidogrel rule"
  [ "$n_stat" -gt 0 ] && ok || fail "$out: no SLCO1B1-guided statin rule"
  awk -F'\t' '$2 == "rule" && $4 == "clopidogrel" && $6 ~ /(avoid|use) clopidogrel: CYP2C19 .*, poor metabolizer/' "$f" | grep -q . \
    && ok || fail "$out: no 'avoid clopidogrel' for a CYP2C19 poor metabolizer"
  # every PGx-guided rule quotes the diplotype and phenotype the PGx table has for the patient
  awk -F'\t' 'FNR == NR { k = $1 " " $2; dip[k] = $3; ph[k] = tolower($4); next }
    $2 == "rule" && $5 != "unknown" && match($6, /: (CYP2C19|CYP2C9|SLCO1B1|VKORC1|TPMT|NUDT15|DPYD) [^,]*, [^(]*\(/) {
      split(substr($6, RSTART + 2, RLENGTH - 3), w, ", "); split(w[1], gd, " ")
      sub(/ +$/, "", w[2]); k = $1 " " gd[1]; n++
      if (!(k in dip) || dip[k] != gd[2] || ph[k] != w[2]) { print "  " $1 ": " $6 " vs table " dip[k] " " ph[k]; bad = 1 } }
    END { exit bad || n == 0 }' "$tmp/pgx.all" "$f" && ok || fail "$out: a PGx rule disagrees with the PGx table"
  # a certain CYP2C19 call never leaves "check CYP2C19"
  awk -F'\t' 'FNR == NR { if ($2 == "CYP2C19" && ($6 == "high" || $6 == "reduced")) sure[$1] = 1; next }
    $2 == "rule" && $5 == "unknown" && $6 ~ /check CYP2C19/ && ($1 in sure) { print "  " $1; bad = 1 }
    END { exit bad }' "$tmp/pgx.all" "$f" && ok || fail "$out: 'check CYP2C19' although the call is certain"
done
echo "demo_pgx: PGx-guided rule rows in the advice:"
awk -F'\t' '$2 == "rule" && $5 != "unknown" && $6 ~ /(CYP2C19|CYP2C9|SLCO1B1) \*/ { print "  " $4 " " $5 }' "$tmp/advice.tsv" | sort | uniq -c

echo "demo_pgx: $pass checks passed, $fails failed"
[ "$fails" -eq 0 ]
