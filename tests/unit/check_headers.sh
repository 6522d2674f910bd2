#!/bin/sh
# Every public header compiles on its own, as C11 and as C++, with the project's warnings
# as errors, and exports only what its prefix promises.
set -u
src=${MMDX_SRCDIR:-.}
build=${MMDX_BUILDDIR:-.}
cc=${CC:-cc}
cxx=${CXX:-c++}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-headers.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
inc="-I$src/libmmdx -I$build/libmmdx"
pass=0; fail=0
for h in "$src"/libmmdx/mmdx/*.h "$build"/libmmdx/mmdx/version.h; do
  [ -f "$h" ] || continue
  name=$(basename "$h")
  printf '#include <mmdx/%s>\n#include <mmdx/%s>\nint mmdx_header_check_dummy;\n' "$name" "$name" > "$tmp/t.c"
  if $cc -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Werror $inc -c "$tmp/t.c" -o "$tmp/t.o" 2> "$tmp/err"; then
    pass=$((pass + 1))
  else
    echo "FAIL: $name does not compile alone as C11"; cat "$tmp/err"; fail=$((fail + 1))
  fi
  cp "$tmp/t.c" "$tmp/t.cc"
  if $cxx -std=c++11 -Wall -Wextra -Wpedantic -Werror $inc -c "$tmp/t.cc" -o "$tmp/t.o" 2> "$tmp/err"; then
    pass=$((pass + 1))
  else
    echo "FAIL: $name does not compile alone as C++"; cat "$tmp/err"; fail=$((fail + 1))
  fi
done
# Global symbols without the mmdx_ prefix are hidden from a shared object but still
# take names from a program that links libmmdx.a statically: listed as a warning.
lib=$build/libmmdx/libmmdx.a
if [ -f "$lib" ] && command -v nm >/dev/null 2>&1; then
  bad=$(nm -g --defined-only "$lib" 2>/dev/null | awk 'NF == 3 { print $3 }' | grep -v '^mmdx_' | sort -u)
  if [ -n "$bad" ]; then
    echo "WARN: libmmdx.a defines $(echo "$bad" | wc -l) global symbols without the mmdx_ prefix (clash risk when linked statically):"
    echo "$bad" | tr '\n' ' ' | fold -s -w 100; echo
  fi
fi
# one definition per global symbol: with two, a static link silently takes whichever
# archive member comes first (a hidden visibility does not help there)
if [ -f "$lib" ] && command -v nm >/dev/null 2>&1; then
  dups=$(nm -A -g --defined-only "$lib" 2>/dev/null | awk '$2 ~ /^[TDBR]$/ { print $3 }' | sort | uniq -d)
  if [ -n "$dups" ]; then
    for s in $dups; do
      echo "FAIL: $s is defined in more than one member of libmmdx.a:" \
        $(nm -A -g --defined-only "$lib" 2>/dev/null | awk -v s="$s" '$3 == s { m = $1; sub(/^.*\.a:/, "", m); sub(/:[^:]*$/, "", m); print m }')
    done
    fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
fi
# every symbol with default visibility is declared in a public header (internal
# functions are compiled hidden); modality descriptors are exported by design
if [ -f "$lib" ] && command -v readelf >/dev/null 2>&1; then
  cat "$src"/libmmdx/mmdx/*.h > "$tmp/all.h"
  undeclared=
  for s in $(readelf -sW "$lib" 2>/dev/null | awk '$5 == "GLOBAL" && $6 == "DEFAULT" && $7 != "UND" { print $8 }' | sort -u); do
    case $s in mmdx_modality_*_get_desc) continue ;; __odr_asan.*|__asan_*|__ubsan_*) continue ;; esac  # sanitizer-made symbols
    grep -q "\b$s\b" "$tmp/all.h" || undeclared="$undeclared $s"
  done
  if [ -n "$undeclared" ]; then
    echo "FAIL: exported from libmmdx.a but in no public header:$undeclared"; fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
fi
echo "headers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
