#!/bin/sh
# demo-inputs.sh MMDX DIR: the driver's input options for one demo set (DIR holds
# retina.h5, ct.h5, labs.xml, variants.vcf, panel.tsv), for every input this build has an
# adapter for. The variants are read with the demo's panel (the two risk SNPs of the
# diagnosis model) and with PGx calling on, so the KB's pharmacogenomic rules see pgx:<GENE>.
set -u
mmdx=$1
dir=$2
served=$("$mmdx" plugins -q --no-search | awk 'NR > 1 { print $4 }')
serves() { printf '%s\n' "$served" | grep -qx "$1"; }
out=
if serves imaging; then
  for f in retina ct; do [ -f "$dir/$f.h5" ] && out="$out --imaging $dir/$f.h5"; done
fi
serves labs && [ -f "$dir/labs.xml" ] && out="$out --labs $dir/labs.xml"
if serves variants && [ -f "$dir/variants.vcf" ]; then
  out="$out --variants $dir/variants.vcf"
  [ -f "$dir/panel.tsv" ] && out="$out --panel $dir/panel.tsv --option variants.pgx=1"
fi
if [ -z "$out" ]; then
  echo "demo: this build has no adapter for the demo's inputs (see mmdx plugins)" >&2
  exit 1
fi
echo "$out"
