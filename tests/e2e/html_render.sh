#!/bin/sh
# The HTML report in a real browser: headless Chromium (Debian's chromium package) loads
# it without console errors, the SVG charts are in the rendered DOM, and a PNG screenshot
# is taken.
#
# Usage: html_render.sh [REPORT.html [SCREENSHOT.png]]
# Without REPORT, one is made with the driver on the demo cohort (mmdx train, then mmdx
# diagnose --format html --kb data/kb/default.xml). MMDX_SHOT_HEIGHT sets the window
# height (1500), MMDX_SHOT_ANCHOR a place to scroll to. The screenshots in docs/img were
# made from the `make demo` report by
#   tests/e2e/html_render.sh demo-out/report.html docs/img/report-overview.png
#   MMDX_SHOT_ANCHOR=patient-1 tests/e2e/html_render.sh demo-out/report.html docs/img/report.png
# Exit 77 (skipped) when chromium is not installed or this build's driver cannot make an
# HTML report yet.
set -u
b=${MMDX_BUILDDIR:-.}
s=${MMDX_SRCDIR:-.}
mmdx=$b/examples/mmdx/mmdx
report=${1:-}
shot=${2:-}

chrome=
for c in ${CHROMIUM:-} chromium chromium-browser google-chrome; do
  if command -v "$c" >/dev/null 2>&1; then chrome=$c; break; fi
done
if [ -z "$chrome" ]; then
  echo "SKIP: no chromium (apt-get install chromium)"
  exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-render.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

if [ -z "$report" ]; then
  demo=$b/data/demo/generated
  if ! "$mmdx" diagnose --help 2>/dev/null | grep -q html; then
    echo "SKIP: this build's mmdx diagnose has no html format"
    exit 77
  fi
  if [ ! -d "$demo/train" ]; then
    echo "SKIP: no demo cohort in $demo (make demo-data)"
    exit 77
  fi
  train=$(sh "$s/examples/mmdx/demo-inputs.sh" "$mmdx" "$demo/train") || exit 77
  test=$(sh "$s/examples/mmdx/demo-inputs.sh" "$mmdx" "$demo/test") || exit 77
  # shellcheck disable=SC2086
  "$mmdx" train $train --labels "$demo/train/labels.tsv" -q -o "$tmp/model.h5"
  rc=$?
  if [ $rc -gt 1 ]; then fail "mmdx train: exit $rc"; exit 1; fi
  # shellcheck disable=SC2086
  "$mmdx" diagnose $test --model "$tmp/model.h5" --kb "$s/data/kb/default.xml" --format html -q \
    -o "$tmp/report.html"
  rc=$?
  if [ $rc -gt 1 ]; then fail "mmdx diagnose --format html: exit $rc"; exit 1; fi
  report=$tmp/report.html
fi
[ -s "$report" ] || { fail "no report at $report"; exit 1; }
case $report in /*) url=file://$report ;; *) url=file://$(pwd)/$report ;; esac

# self-contained: no script, no external resource
if grep -Eq '<script|(src|href)="(https?:)?//' "$report"; then fail "the report loads scripts or external resources"; fi

flags="--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
  --disable-sync --no-first-run --hide-scrollbars"
profile=$(mktemp -d "$tmp/profile.XXXXXX")
# shellcheck disable=SC2086
timeout 120 "$chrome" $flags --user-data-dir="$profile" --enable-logging=stderr --v=0 --dump-dom "$url" \
  >"$tmp/dom.html" 2>"$tmp/console.log"
rc=$?
[ $rc -eq 0 ] || fail "chromium --dump-dom: exit $rc"
# console messages (errors, uncaught exceptions) and failed loads, as Chromium logs them
if grep -E ':CONSOLE|Uncaught|net::ERR_' "$tmp/console.log" >"$tmp/errors"; then
  fail "console errors:"; sed 's/^/  | /' "$tmp/errors" | head -10
fi
n_svg=$(grep -o '<svg' "$tmp/dom.html" | wc -l)
n_bar=$(grep -o 'class="bar"' "$tmp/dom.html" | wc -l)
n_ci=$(grep -o 'class="ci"' "$tmp/dom.html" | wc -l)
[ "$n_svg" -ge 2 ] || fail "rendered DOM has $n_svg svg elements"
[ "$n_bar" -ge 1 ] && [ "$n_ci" -ge 1 ] || fail "rendered DOM lacks posterior bars ($n_bar) or intervals ($n_ci)"
grep -q 'class="disclaimer"' "$tmp/dom.html" || fail "no disclaimer in the rendered DOM"

png=${shot:-$tmp/report.png}
rm -f "$png"
shot_url=$url
if [ -n "${MMDX_SHOT_ANCHOR:-}" ]; then
  # headless Chromium does not scroll a screenshot to a fragment; a frame does
  printf '<!DOCTYPE html><html><body style="margin:0"><iframe src="%s#%s" style="border:0;width:1000px;height:%spx"></iframe></body></html>\n' \
    "$url" "$MMDX_SHOT_ANCHOR" "${MMDX_SHOT_HEIGHT:-1500}" >"$tmp/frame.html"
  shot_url=file://$tmp/frame.html
fi
profile=$(mktemp -d "$tmp/profile.XXXXXX")
# shellcheck disable=SC2086
timeout 120 "$chrome" $flags --user-data-dir="$profile" --window-size=1000,${MMDX_SHOT_HEIGHT:-1500} --screenshot="$png" \
  "$shot_url" \
  >/dev/null 2>&1
rc=$?
[ $rc -eq 0 ] || fail "chromium --screenshot: exit $rc"
if [ "$(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
  fail "no PNG screenshot at $png"
fi
echo "html_render: $n_svg svg, $n_bar bars, $n_ci intervals, screenshot $(wc -c <"$png" 2>/dev/null || echo 0) bytes"
[ $fails -eq 0 ]
