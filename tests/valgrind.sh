#!/bin/sh
# `make check-valgrind`: run each unit suite given as argument under valgrind memcheck
# (VALGRIND: the command and options), MMDX_VALGRIND_JOBS (default 2) at a time, with
# CK_FORK=no so every Check test runs in the process valgrind watches. Suites named in
# MMDX_VALGRIND_SKIP are left out (said so). Prints PASS/FAIL and seconds per suite, the
# valgrind report of failures; exits 1 when any failed.
set -u
: "${VALGRIND:?}"
CK_FORK=no; export CK_FORK
jobs=${MMDX_VALGRIND_JOBS:-2}
one() {
  t=$1
  s=$(date +%s)
  if $VALGRIND --log-file="$t.valgrind.log" "./$t" > "$t.valgrind.out" 2>&1; then r=PASS; else r=FAIL; fi
  echo "$r $(( $(date +%s) - s ))" > "$t.valgrind.res"
}
if [ "${1:-}" = --one ]; then one "$2"; exit 0; fi
list=
for t in "$@"; do
  case " ${MMDX_VALGRIND_SKIP:-} " in *" $t "*) echo "SKIP: $t (MMDX_VALGRIND_SKIP)"; continue ;; esac
  rm -f "$t.valgrind.res"; list="$list $t"
done
export VALGRIND
# shellcheck disable=SC2086
printf '%s\n' $list | xargs -P "$jobs" -I{} sh "$0" --one {}
pass=0 fail=0
for t in $list; do
  set -- $(cat "$t.valgrind.res" 2>/dev/null || echo "FAIL 0")
  echo "$1: $t ($2 s)"
  if [ "$1" = PASS ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); tail -15 "$t.valgrind.out"; head -60 "$t.valgrind.log"
  fi
done
echo "check-valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
