#!/bin/sh
# The mmdx driver's command line: usage errors exit 2 with usage on stderr, --help of the
# driver and of every command in commands.def, version, plugins (good and broken).
set -u
b=${MMDX_BUILDDIR:-.}
s=${MMDX_SRCDIR:-.}
mmdx=$b/examples/mmdx/mmdx
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-usage.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { pass=$((pass + 1)); }

# run CMD...: exit status in $rc, output in $tmp/out and $tmp/err
run() { "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
expect() { # expect STATUS DESCRIPTION CMD...
  want=$1; what=$2; shift 2
  run "$@"
  if [ "$rc" -eq "$want" ]; then ok; else fail "$what: exit $rc, want $want"; sed 's/^/  | /' "$tmp/err" | head -5; fi
}
has() { # has FILE PATTERN DESCRIPTION
  if grep -q -- "$2" "$1"; then ok; else fail "$3: no '$2' in $(basename "$1")"; sed 's/^/  | /' "$1" | head -5; fi
}
empty() { if [ ! -s "$1" ]; then ok; else fail "$2: $(basename "$1") not empty"; fi; }

# --- usage errors: exit 2, usage on stderr, nothing on stdout
expect 2 "no command" "$mmdx"
has "$tmp/err" "Usage: mmdx <command>" "no command"
empty "$tmp/out" "no command"
expect 2 "unknown command" "$mmdx" frobnicate
has "$tmp/err" "unknown command 'frobnicate'" "unknown command"
empty "$tmp/out" "unknown command"
expect 2 "unknown option" "$mmdx" ingest --bogus
has "$tmp/err" "bogus" "unknown option"
has "$tmp/err" "Try 'mmdx ingest --help'" "unknown option"
expect 2 "ingest without input" "$mmdx" ingest -o "$tmp/c.h5"
has "$tmp/err" "no input" "ingest without input"
expect 2 "ingest without output" "$mmdx" ingest --input /dev/null
has "$tmp/err" "no output" "ingest without output"
expect 2 "bad --agg" "$mmdx" ingest --input x --agg median -o "$tmp/c.h5"
has "$tmp/err" "median" "bad --agg"
expect 2 "bad --threads" "$mmdx" ingest --input x --threads 0 -o "$tmp/c.h5"
expect 2 "diagnose bad --threads" "$mmdx" diagnose --cohort x.h5 --model m.h5 --threads 0 -o "$tmp/d.tsv"
has "$tmp/err" "threads" "diagnose bad --threads"
expect 2 "diagnose --threads not a number" "$mmdx" diagnose --cohort x.h5 --model m.h5 -t two -o "$tmp/d.tsv"
expect 2 "bad --option" "$mmdx" ingest --input x --option novalue -o "$tmp/c.h5"
expect 2 "stray argument" "$mmdx" ingest --input x -o "$tmp/c.h5" extra.h5
has "$tmp/err" "extra.h5" "stray argument"
expect 2 "version with argument" "$mmdx" version now
expect 2 "plugins bad option" "$mmdx" plugins --frob

# --- help: the driver lists every command of commands.def, and each has --help
expect 0 "--help" "$mmdx" --help
cp "$tmp/out" "$tmp/help"
has "$tmp/help" "Exit status" "--help"
has "$tmp/help" "--imaging FILE" "--help"
cmds=$(sed -n 's/^MMDX_COMMAND(\([a-z_]*\),.*/\1/p' "$s/examples/mmdx/commands.def")
[ -n "$cmds" ] || fail "no commands found in commands.def"
dups=$(printf '%s\n' $cmds | sort | uniq -d)
[ -z "$dups" ] && ok || fail "commands.def lists a command twice: $dups"
for c in $cmds; do
  has "$tmp/help" "^  $c " "--help lists $c"
  [ "$(grep -c "^  $c " "$tmp/help")" -eq 1 ] && ok || fail "--help lists $c more than once"
  expect 0 "$c --help" "$mmdx" "$c" --help
  has "$tmp/out" "Usage: mmdx $c" "$c --help"
  expect 0 "help $c" "$mmdx" help "$c"
  has "$tmp/out" "Usage: mmdx $c" "help $c"
done

# --- version: the configured version and the ABI of version.h
expect 0 "version" "$mmdx" version
v=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$b/config.h")
abi=$(sed -n 's/^#define MMDX_ABI_MAJOR \([0-9]*\)/\1/p' "$b/libmmdx/mmdx/version.h").$(sed -n 's/^#define MMDX_ABI_MINOR \([0-9]*\)/\1/p' "$b/libmmdx/mmdx/version.h")
has "$tmp/out" "^mmdx $v (libmmdx $v)" "version"
has "$tmp/out" "^modality ABI: $abi$" "version"
has "$tmp/out" "^dependencies:" "version"
for d in gsl hdf5 htslib libxml2 jansson; do has "$tmp/out" "^$d [0-9]" "version lists $d"; done
expect 0 "--version" "$mmdx" --version
has "$tmp/out" "^mmdx $v" "--version"

# --- plugins: built-ins, a plugin on the search path, broken ones
expect 0 "plugins" env MMDX_PLUGIN_PATH="$b/examples/plugin/.libs" "$mmdx" plugins
has "$tmp/out" "^NAME " "plugins"
has "$tmp/out" "^example .*examples/plugin/.libs/mmdx_example.so$" "plugins lists the example plugin"
expect 0 "plugins --no-search" env MMDX_PLUGIN_PATH="$b/examples/plugin/.libs" "$mmdx" plugins --no-search
if grep -q "^example " "$tmp/out"; then fail "plugins --no-search still scanned"; else ok; fi
expect 0 "plugins --plugin PATH" env -u MMDX_PLUGIN_PATH "$mmdx" plugins --no-search --plugin "$b/examples/plugin/.libs/mmdx_example.so"
has "$tmp/out" "^example " "plugins --plugin PATH"
expect 2 "plugins --plugin missing" "$mmdx" plugins --plugin /nonexistent/mmdx_gone.so
has "$tmp/err" "/nonexistent/mmdx_gone.so" "plugins --plugin missing"
expect 2 "plugins --plugin wrong ABI" "$mmdx" plugins --plugin "$b/tests/unit/.libs/mmdx_badabi.so"
has "$tmp/err" "mmdx_badabi.so" "wrong ABI names the file"
has "$tmp/err" "ABI" "wrong ABI says why"
expect 2 "plugins --plugin failing init" "$mmdx" plugins --plugin "$b/tests/unit/.libs/mmdx_badinit.so"
has "$tmp/err" "mmdx_badinit.so.*configuration table is missing" "failing init names file and reason"
expect 1 "plugins with broken ones on the path" env MMDX_PLUGIN_PATH="$b/tests/unit/.libs:$b/examples/plugin/.libs" "$mmdx" plugins
has "$tmp/out" "^example " "broken plugins do not hide good ones"
has "$tmp/err" "mmdx_nosym.so" "missing symbol names the file"
has "$tmp/err" "5 plugins in the search path could not be loaded" "plugins counts failures"

echo "driver_usage: $pass checks passed, $fails failed"
[ "$fails" -eq 0 ]
