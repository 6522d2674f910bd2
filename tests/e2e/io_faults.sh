#!/bin/sh
# I/O faults for `mmdx ingest` and `mmdx diagnose` (issue 9): a full disk (`ulimit -f`
# with SIGXFSZ ignored, and a 64 KiB tmpfs when mount works), an unwritable output
# (a read-only tmpfs when mount works; a path under a regular file otherwise) and
# truncated inputs. Each must give a clear error naming the file, exit 2, and leave no
# output (nor a temporary file) that could be taken for a complete one; an older file of
# the target name stays as it was.
set -u
b=${MMDX_BUILDDIR:-.}
mmdx=$b/examples/mmdx/mmdx
gen=$b/data/demo/mmdx-demo-gen
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-iofaults.XXXXXX")
mounts=
cleanup() { for m in $mounts; do umount "$m" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0 pass=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { pass=$((pass + 1)); }
[ -x "$mmdx" ] && [ -x "$gen" ] || { echo "SKIP: mmdx or mmdx-demo-gen not built"; exit 77; }

mkdir "$tmp/log"
"$gen" "$tmp/demo" 300 60 11 >/dev/null 2>&1 || { echo "FAIL: mmdx-demo-gen"; exit 1; }
tr=$tmp/demo/train te=$tmp/demo/test
in_train="--imaging $tr/retina.h5 --imaging $tr/ct.h5 --labs $tr/labs.xml --variants $tr/variants.vcf"
in_test="--imaging $te/retina.h5 --imaging $te/ct.h5 --labs $te/labs.xml --variants $te/variants.vcf"
# shellcheck disable=SC2086
"$mmdx" ingest -q $in_train --labels "$tr/labels.tsv" -o "$tmp/train.h5" >/dev/null 2>&1
[ -s "$tmp/train.h5" ] || { echo "FAIL: cannot ingest the training set"; exit 1; }
"$mmdx" train -q --cohort "$tmp/train.h5" -o "$tmp/model.h5" >/dev/null 2>&1 ||
  { echo "FAIL: cannot train"; exit 1; }

# expect_fault WHAT OUTPUT-PATH PATTERN-IN-STDERR -- COMMAND...: exit 2, stderr matches,
# the output path absent (or unchanged when it existed) and no temporary left beside it
expect_fault() {
  what=$1 out=$2 pat=$3; shift 4
  dir=$(dirname "$out")
  before=
  [ -f "$out" ] && before=$(sha1sum < "$out")
  listing=$(ls -a "$dir" 2>/dev/null | grep -v "^$(basename "$out")\$")
  "$@" >"$tmp/log/stdout" 2>"$tmp/log/stderr"
  rc=$?
  if [ "$rc" -eq 2 ]; then ok; else fail "$what: exit $rc, want 2"; sed 's/^/  | /' "$tmp/log/stderr" | head -5; fi
  if grep -qiE -- "$pat" "$tmp/log/stderr"; then ok; else fail "$what: stderr does not match '$pat'"; sed 's/^/  | /' "$tmp/log/stderr" | head -5; fi
  if [ -n "$before" ]; then
    [ "$(sha1sum < "$out")" = "$before" ] && ok || fail "$what: the existing $out was changed"
  else
    [ ! -e "$out" ] && ok || fail "$what: $out was left behind ($(wc -c < "$out") bytes)"
  fi
  now=$(ls -a "$dir" 2>/dev/null | grep -v "^$(basename "$out")\$")
  [ "$now" = "$listing" ] && ok || fail "$what: files left in $dir: $(echo "$now" | tr '\n' ' ')"
}

# --- disk full through the file-size limit (blocks of 1024 or 512 bytes: 64 is < 64 KiB)
full() { (trap '' XFSZ; ulimit -f 64 && exec "$@"); }
# shellcheck disable=SC2086
expect_fault "ingest, file size limit" "$tmp/full-ingest.h5" "$tmp/full-ingest.h5|write|space|size|I/O|EFBIG" -- \
  full "$mmdx" ingest -q $in_train -o "$tmp/full-ingest.h5"
# shellcheck disable=SC2086
expect_fault "diagnose, file size limit" "$tmp/full-diag.tsv" "full-diag.tsv|write|space|size|I/O" -- \
  full "$mmdx" diagnose -q $in_test --model "$tmp/model.h5" -o "$tmp/full-diag.tsv"
# --- a small tmpfs that fills up, and a read-only one (needs mount: root in a container)
small=$tmp/small ro=$tmp/ro
mkdir -p "$small" "$ro"
if mount -t tmpfs -o size=64k tmpfs "$small" 2>/dev/null; then
  mounts="$mounts $small"
  # shellcheck disable=SC2086
  expect_fault "ingest, tmpfs full" "$small/cohort.h5" "cohort.h5|write|space|I/O" -- \
    "$mmdx" ingest -q $in_train -o "$small/cohort.h5"
  # shellcheck disable=SC2086
  expect_fault "diagnose, tmpfs full" "$small/d.html" "d.html|write|space|I/O" -- \
    "$mmdx" diagnose -q $in_test --model "$tmp/model.h5" --format html -o "$small/d.html"
  # an existing complete output on the full disk stays as it was
  printf 'old complete output\n' > "$small/keep.tsv"
  # shellcheck disable=SC2086
  expect_fault "diagnose over an existing file, tmpfs full" "$small/keep.tsv" "keep.tsv|write|space|I/O" -- \
    "$mmdx" diagnose -q $in_test --model "$tmp/model.h5" --format jsonl -o "$small/keep.tsv"
else
  echo "note: mount not permitted; tmpfs cases skipped"
fi
if mount -t tmpfs -o size=1m,ro tmpfs "$ro" 2>/dev/null; then
  mounts="$mounts $ro"
  # shellcheck disable=SC2086
  expect_fault "ingest, read-only output dir" "$ro/cohort.h5" "cohort.h5|read-only|write|permission|create" -- \
    "$mmdx" ingest -q $in_train -o "$ro/cohort.h5"
  # shellcheck disable=SC2086
  expect_fault "diagnose, read-only output dir" "$ro/d.tsv" "d.tsv|read-only|write|permission|create" -- \
    "$mmdx" diagnose -q $in_test --model "$tmp/model.h5" -o "$ro/d.tsv"
fi
# a path whose directory is a regular file (also unwritable for root)
: > "$tmp/notadir"
# shellcheck disable=SC2086
expect_fault "ingest, output under a regular file" "$tmp/notadir/c.h5" "notadir|directory" -- \
  "$mmdx" ingest -q $in_train -o "$tmp/notadir/c.h5"
# shellcheck disable=SC2086
expect_fault "diagnose, output directory missing" "$tmp/missing/d.tsv" "missing|directory" -- \
  "$mmdx" diagnose -q $in_test --model "$tmp/model.h5" -o "$tmp/missing/d.tsv"

# --- truncated inputs: half of each file
mkdir "$tmp/trunc"
half() { n=$(wc -c < "$1"); head -c $((n / 2)) "$1" > "$2"; }
half "$tr/labs.xml" "$tmp/trunc/labs.xml"
half "$tr/retina.h5" "$tmp/trunc/retina.h5"
half "$tmp/model.h5" "$tmp/trunc/model.h5"
bgzip -c "$tr/variants.vcf" > "$tmp/trunc/full.vcf.gz" 2>/dev/null && half "$tmp/trunc/full.vcf.gz" "$tmp/trunc/variants.vcf.gz"
expect_fault "ingest, truncated XML" "$tmp/t1.h5" "labs.xml" -- \
  "$mmdx" ingest -q --labs "$tmp/trunc/labs.xml" -o "$tmp/t1.h5"
expect_fault "ingest, truncated HDF5" "$tmp/t2.h5" "retina.h5" -- \
  "$mmdx" ingest -q --imaging "$tmp/trunc/retina.h5" --labs "$tr/labs.xml" -o "$tmp/t2.h5"
if [ -f "$tmp/trunc/variants.vcf.gz" ]; then
  expect_fault "ingest, truncated bgzipped VCF" "$tmp/t3.h5" "variants.vcf.gz" -- \
    "$mmdx" ingest -q --variants "$tmp/trunc/variants.vcf.gz" -o "$tmp/t3.h5"
fi
# shellcheck disable=SC2086
expect_fault "diagnose, truncated model" "$tmp/t4.tsv" "model.h5" -- \
  "$mmdx" diagnose -q $in_test --model "$tmp/trunc/model.h5" -o "$tmp/t4.tsv"
expect_fault "diagnose, truncated XML input" "$tmp/t5.tsv" "labs.xml" -- \
  "$mmdx" diagnose -q --labs "$tmp/trunc/labs.xml" --model "$tmp/model.h5" -o "$tmp/t5.tsv"
: > "$tmp/trunc/empty.h5"
expect_fault "diagnose, empty model file" "$tmp/t6.tsv" "empty.h5" -- \
  "$mmdx" diagnose -q --labs "$te/labs.xml" --model "$tmp/trunc/empty.h5" -o "$tmp/t6.tsv"

# --- an input that changes while being read: a test module (tests/e2e/plugin_changing.c)
# appends a line to its own input after the first observation, so the change always
# falls inside the read (no timing race). The read fails naming the file and the sizes.
chg=$b/tests/e2e/.libs/mmdx_changing.so
if [ -f "$chg" ]; then
  printf '#changing\nP1\t1.5\nP2\t2.5\nP3\t3\n' > "$tmp/changing.tsv"
  n=$(wc -c < "$tmp/changing.tsv")
  expect_fault "ingest, input appended to while read" "$tmp/t7.h5" \
    "changing.tsv.*changed while being read: size before $n bytes, after $((n + 28))" -- \
    "$mmdx" ingest -q --plugin "$chg" --input "$tmp/changing.tsv" --labs "$tr/labs.xml" -o "$tmp/t7.h5"
  printf '#changing\nP1\t1.5\n' > "$tmp/changing.tsv"
  # shellcheck disable=SC2086
  expect_fault "diagnose, input appended to while read" "$tmp/t8.tsv" "changing.tsv.*changed while being read" -- \
    "$mmdx" diagnose -q --plugin "$chg" --input "$tmp/changing.tsv" $in_test --model "$tmp/model.h5" -o "$tmp/t8.tsv"
else
  echo "note: $chg not built; changing-input cases skipped"
fi
# a pipe cannot be compared before and after: it is read without the check, no false alarm
if cat "$tr/variants.vcf" | "$mmdx" ingest -q --variants /dev/stdin -o "$tmp/pipe.h5" 2>"$tmp/log/stderr" &&
  [ -s "$tmp/pipe.h5" ]; then ok; else fail "ingest from a pipe"; sed 's/^/  | /' "$tmp/log/stderr" | head -5; fi

echo "io_faults: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
