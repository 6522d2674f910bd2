#!/bin/sh
# The API reference builds from the public headers with Doxygen warnings as errors
# (docs/Doxyfile): an undocumented public declaration or a broken doc comment (unknown
# @param, a parameter left out of a documented list, a bad command or tag) fails here,
# naming file and line. Skipped without doxygen.
set -u
b=${MMDX_BUILDDIR:-.}
s=${MMDX_SRCDIR:-.}
dox=${DOXYGEN:-}
[ -n "$dox" ] || dox=$(command -v doxygen 2>/dev/null)
if [ -z "$dox" ]; then echo "SKIP: doxygen not installed"; exit 77; fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-doxygen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
( cat "$s/docs/Doxyfile"; echo "INPUT = $s/libmmdx/mmdx $b/libmmdx/mmdx/version.h"
  echo "OUTPUT_DIRECTORY = $tmp/api" ) | "$dox" - >"$tmp/log" 2>&1
rc=$?
if [ "$rc" -ne 0 ] || [ -s "$tmp/log" ]; then
  echo "FAIL: doxygen (exit $rc):"; sed 's/^/  | /' "$tmp/log" | head -40; exit 1
fi
fails=0
# every public header has a page, and a few central functions are documented
for h in "$s"/libmmdx/mmdx/*.h; do
  n=$(basename "$h" .h)
  [ -f "$tmp/api/html/${n}_8h.html" ] || { echo "FAIL: no page for $n.h"; fails=$((fails + 1)); }
done
for f in mmdx_ctx_alloc mmdx_model_predict mmdx_writer_open mmdx_collect_file; do
  grep -rq "$f" "$tmp/api/html/" || { echo "FAIL: $f not in the reference"; fails=$((fails + 1)); }
done
echo "doxygen: $(ls "$tmp/api/html" | wc -l) files, $fails failed"
[ "$fails" -eq 0 ]
