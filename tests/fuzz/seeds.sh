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
  vcf)    add "$shared"/vcf/pharmcat/*/*.vcf "$demo"/test/variants.vcf ;;
esac
exit 0
