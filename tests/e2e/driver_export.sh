#!/bin/sh
# mmdx export: the imaging block of a cohort written back as an imaging-feature file.
# Demo imaging files -> export -> the same values (h5dump), from inputs and from an
# ingested cohort file; a fatal error writes nothing.
set -u
b=${MMDX_BUILDDIR:-.}
mmdx=$b/examples/mmdx/mmdx
demo=$b/data/demo/generated/train
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-export.XXXXXX")
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
[ -f "$demo/ct.h5" ] || { echo "SKIP: demo cohort not generated ($demo)"; exit 77; }

# two sources: --source is required
expect 2 "export without --source" "$mmdx" export --imaging "$demo/ct.h5" --imaging "$demo/retina.h5" -o "$tmp/x.h5"
has "$tmp/err" "several sources" "several sources named"
[ -e "$tmp/x.h5" ] && fail "file written on error" || ok

# from the inputs, and from an ingested cohort: the same file content
expect 0 "export ct" "$mmdx" export --imaging "$demo/ct.h5" --imaging "$demo/retina.h5" --source ct -o "$tmp/a.h5"
expect 0 "ingest" "$mmdx" ingest -q --imaging "$demo/ct.h5" --imaging "$demo/retina.h5" -o "$tmp/cohort.h5"
expect 0 "export --cohort" "$mmdx" export -q --cohort "$tmp/cohort.h5" --source ct --gzip 4 -o "$tmp/b.h5"
# the export reads back as the same block (round trip through the adapter)
expect 0 "re-export" "$mmdx" export -q --imaging "$tmp/a.h5" --transposed --float32 -o "$tmp/c.h5"
if command -v h5dump >/dev/null 2>&1; then
  for f in a b c; do
    h5dump -d /patient_ids -d /feature_names -d /feature_units "$tmp/$f.h5" | grep -v '^HDF5 ' >"$tmp/$f.ids" || fail "h5dump $f"
    h5dump -A 0 -d /features "$tmp/$f.h5" | sed -n '/DATA {/,$p' >"$tmp/$f.vals" || fail "h5dump $f values"
  done
  cmp -s "$tmp/a.ids" "$tmp/b.ids" && ok || fail "ids/names differ between export from inputs and from the cohort"
  cmp -s "$tmp/a.ids" "$tmp/c.ids" && ok || fail "ids/names differ after a round trip"
  cmp -s "$tmp/a.vals" "$tmp/b.vals" && ok || fail "values differ between export from inputs and from the cohort"
  h5dump -A 0 -d /features "$tmp/c.h5" | grep -q 'H5T_IEEE_F32LE' && ok || fail "--float32 not honoured"
  h5dump -a /features/layout "$tmp/c.h5" | grep -q 'features_by_patients' && ok || fail "--transposed not honoured"
  h5dump -p -H -d /features "$tmp/b.h5" | grep -q 'DEFLATE' && ok || fail "--gzip not honoured"
  h5dump -a /modality "$tmp/a.h5" | grep -q '"ct"' && ok || fail "modality attribute"
  # the ct file of the demo is float32; exported float64 values are the same numbers
  h5dump -d /features "$demo/ct.h5" >/dev/null 2>&1 && ok || fail "h5dump demo"
fi

# a file that is not HDF5: exit 2, named, nothing written
printf 'not hdf5\n' >"$tmp/bad.h5"
expect 2 "export of a non-HDF5 input" "$mmdx" export --imaging "$tmp/bad.h5" -o "$tmp/y.h5"
has "$tmp/err" "bad.h5" "file named"
has "$tmp/err" "not an HDF5 file" "reason given"
[ -e "$tmp/y.h5" ] && fail "file written on error" || ok
expect 2 "export without input" "$mmdx" export -o "$tmp/y.h5"
expect 2 "export with both" "$mmdx" export --cohort "$tmp/cohort.h5" --imaging "$demo/ct.h5" -o "$tmp/y.h5"
expect 2 "gzip with contiguous" "$mmdx" export --imaging "$demo/ct.h5" --gzip 3 --contiguous -o "$tmp/y.h5"
ls -A "$tmp" | grep -e '\.tmp' -e 'XXXX' >"$tmp/left" && fail "temporary files left: $(cat "$tmp/left")" || ok

echo "driver_export: $pass checks passed, $fails failed"
[ "$fails" -eq 0 ]
