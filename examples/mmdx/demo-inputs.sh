#!/bin/sh
# demo-inputs.sh MMDX DIR: the driver's input options for one demo set (DIR holds
# retina.h5, ct.h5, labs.xml, variants.vcf), for every input this build has an adapter for.
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
serves variants && [ -f "$dir/variants.vcf" ] && out="$out --variants $dir/variants.vcf"
if [ -z "$out" ]; then
  echo "demo: this build has no adapter for the demo's inputs (see mmdx plugins)" >&2
  exit 1
fi
echo "$out"
