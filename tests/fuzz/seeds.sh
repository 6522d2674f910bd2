#!/bin/sh
# Make the seed corpus of one harness in DIR: the project's committed seeds, the demo
# cohort, and the real files of ../shared/data copied under their hash (never committed).
# usage: seeds.sh TARGET DIR
set -u
t=$1; dir=$2
src=${MMDX_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
shared=${MMDX_TESTDATA:-$src/../shared/data}
demo=${MMDX_BUILDDIR:-.}/data/demo/generated
mkdir -p "$dir"
add() { for f in "$@"; do [ -f "$f" ] || continue
  h=$(sha1sum "$f" | cut -c1-16); cp "$f" "$dir/$h"; done; }
[ -d "$src/tests/fuzz/corpus/$t" ] && add "$src"/tests/fuzz/corpus/"$t"/*
case $t in
  labels) add "$demo"/train/labels.tsv ;;
  cohort) [ -f "${MMDX_BUILDDIR:-.}/tests/fuzz/work/demo-cohort.h5" ] && add "${MMDX_BUILDDIR:-.}/tests/fuzz/work/demo-cohort.h5"
          [ -x "${MMDX_BUILDDIR:-.}/tests/fuzz/cohort_seeds" ] && "${MMDX_BUILDDIR:-.}/tests/fuzz/cohort_seeds" "$dir" ;;
  hdf5)   add "$demo"/train/retina.h5 "$demo"/train/ct.h5 ;;
  hl7)    add "$shared"/hl7/*/*.xml ;;
  fhir)   add "$shared"/hl7/fhir-r4/*.xml "$shared"/hl7/fhir-dstu2/*.xml "$demo"/train/labs.xml
          add $(grep -l 'hl7.org/fhir' "$src"/tests/fuzz/corpus/hl7/* 2>/dev/null) ;;
  v2xml)  add "$shared"/hl7/v2xml/*.xml
          add $(grep -l 'urn:hl7-org:v2xml' "$src"/tests/fuzz/corpus/hl7/* 2>/dev/null) ;;
  ccda)   add "$shared"/hl7/ccda/*.xml
          add $(grep -l 'urn:hl7-org:v3' "$src"/tests/fuzz/corpus/hl7/* 2>/dev/null) ;;
  vcf)    add "$shared"/vcf/pharmcat/*/*.vcf "$demo"/test/variants.vcf ;;
  bcf)    # the VCF seeds converted to BCF (uncompressed and compressed) by bcftools
          if command -v bcftools >/dev/null 2>&1; then
            for f in "$src"/tests/fuzz/corpus/vcf/* "$shared"/vcf/pharmcat/*/*.vcf "$demo"/test/variants.vcf; do
              [ -f "$f" ] || continue
              h=$(sha1sum "$f" | cut -c1-16)
              bcftools view -Ou -o "$dir/$h.u.bcf" "$f" 2>/dev/null || rm -f "$dir/$h.u.bcf"
              bcftools view -Ob -o "$dir/$h.bcf" "$f" 2>/dev/null || rm -f "$dir/$h.bcf"
            done
          fi ;;
  panel)  for f in "$src"/data/demo/*.tsv "$src"/docs/examples/*panel*.tsv "$demo"/*/panel.tsv; do add "$f"; done
          # the positions of the PGx tables as a panel
          if [ -f "$src/data/pgx/pgx_positions.tsv" ]; then
            printf 'id\tchrom\tpos\tref\talt\tgene\tbuild\n' > "$dir/pgx-positions.tmp"
            awk -F'\t' 'NR > 1 && $1 ~ /^CYP2C/ { split($6, a, ","); print $4 "\t" $2 "\t" $3 "\t" $5 "\t" a[1] "\t" $1 "\tGRCh38" }' \
              "$src/data/pgx/pgx_positions.tsv" >> "$dir/pgx-positions.tmp"
            h=$(sha1sum "$dir/pgx-positions.tmp" | cut -c1-16); mv "$dir/pgx-positions.tmp" "$dir/$h"
          fi ;;
  pgx)    # selector byte (0 sources, 1 positions, 2 alleles, 3 diplotypes) + a table cut to CYP2C19
          i=0
          for t in sources positions alleles diplotypes; do
            f=$src/data/pgx/pgx_$t.tsv
            if [ -f "$f" ]; then
              { printf "\\00$i"; awk 'NR == 1 || /^CYP2C19\t/' "$f"; } > "$dir/pgx.tmp"
              h=$(sha1sum "$dir/pgx.tmp" | cut -c1-16); mv "$dir/pgx.tmp" "$dir/$h"
            fi
            i=$((i + 1))
          done ;;
  model)  # a model trained by the driver on a small synthetic cohort, and truncated copies
          b=${MMDX_BUILDDIR:-.}
          if [ -x "$b/tests/e2e/fusion_cohort" ] && [ -x "$b/examples/mmdx/mmdx" ]; then
            w=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-seeds.XXXXXX")
            if "$b/tests/e2e/fusion_cohort" "$w/c.h5" 120 1 3 >/dev/null 2>&1 &&
               "$b/examples/mmdx/mmdx" train --cohort "$w/c.h5" -o "$w/model.h5" >/dev/null 2>&1; then
              add "$w/model.h5"
              n=$(wc -c < "$w/model.h5")
              head -c $((n / 2)) "$w/model.h5" > "$w/half.h5"; add "$w/half.h5"
            fi
            rm -rf "$w"
          fi ;;
  kb)     add "$src"/data/kb/*.xml ;;
esac
exit 0
