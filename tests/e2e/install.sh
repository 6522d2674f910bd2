#!/bin/sh
# `make install` into a temporary DESTDIR, then, using only what was installed:
# build and run a program that includes <mmdx/mmdx.h> and links with
# `pkg-config --static --libs mmdx`; run the installed driver; build the example plugin
# with its own Makefile against the installed headers and load it.
set -u
b=${MMDX_BUILDDIR:-.}
s=${MMDX_SRCDIR:-.}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { pass=$((pass + 1)); }
die() { echo "FAIL: $*"; exit 1; }

dest=$tmp/dest
# a separate make: not the jobserver of the `make check` that runs us
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$b" install DESTDIR="$dest" >"$tmp/install.log" 2>&1 \
  || { tail -20 "$tmp/install.log"; die "make install failed"; }

val() { sed -n "s/^$1 = //p" "$b/Makefile" | head -1; }
prefix=$(val prefix)
pc=$(find "$dest" -name mmdx.pc | head -1)
[ -n "$pc" ] || die "mmdx.pc not installed"
inc=$(find "$dest" -path '*/include/mmdx/mmdx.h' | head -1)
[ -n "$inc" ] || die "headers not installed under <mmdx/...>"
lib=$(find "$dest" -name libmmdx.a | head -1)
[ -n "$lib" ] || die "libmmdx.a not installed"
bin=$(find "$dest" -path '*/bin/mmdx' | head -1)
[ -x "$bin" ] || die "mmdx driver not installed"
for h in $(cd "$s/libmmdx/mmdx" && ls *.h) version.h; do
  [ -f "$(dirname "$inc")/$h" ] && ok || fail "header $h not installed"
done
man=$(find "$dest" -name mmdx.1 | head -1)
[ -n "$man" ] && ok || fail "man page mmdx.1 not installed"

# the installed .pc, pointed at DESTDIR: only the paths under the prefix move
mkdir -p "$tmp/pc"
sed -e "s|^prefix=$prefix|prefix=$dest$prefix|" \
    -e "s|^\(exec_prefix\|libdir\|includedir\|plugindir\|mmdxdatadir\)=/|\1=$dest/|" "$pc" >"$tmp/pc/mmdx.pc"
PKG_CONFIG_PATH=$tmp/pc
export PKG_CONFIG_PATH
cflags=$(pkg-config --cflags mmdx) || die "pkg-config --cflags mmdx failed"
libs=$(pkg-config --static --libs mmdx) || die "pkg-config --static --libs mmdx failed"
plugindir=$(pkg-config --variable=plugindir mmdx)
case $cflags in *"$dest"*) ok ;; *) fail "cflags do not point into the install: $cflags" ;; esac

# --- an outside program: only <mmdx/mmdx.h> and pkg-config
cat >"$tmp/prog.c" <<'PROG'
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <mmdx/mmdx.h>

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    if (!ctx)
        return 3;
    printf("libmmdx %s ABI %d.%d modalities %zu\n", mmdx_version(), MMDX_ABI_MAJOR, MMDX_ABI_MINOR,
           mmdx_plugin_count(ctx));
    /* a cohort built by hand, saved and read back */
    mmdx_space_t *space = mmdx_space_alloc();
    size_t j;
    if (!space || mmdx_space_add_feature(space, "lab:loinc:4548-4", MMDX_KIND_CONTINUOUS, "%",
                                         MMDX_TRANSFORM_NONE, &j) != MMDX_OK)
        return 4;
    mmdx_cohort_t *c = mmdx_cohort_alloc(space, 2);
    if (!c || mmdx_cohort_set_id(c, 0, "A") != MMDX_OK || mmdx_cohort_set_id(c, 1, "B") != MMDX_OK)
        return 5;
    mmdx_cohort_set(c, 0, j, 6.5, 0);
    mmdx_error_t err = {0};
    if (mmdx_cohort_save(ctx, c, argv[1], &err) != MMDX_OK) {
        char buf[1024];
        mmdx_error_format(&err, buf, sizeof buf);
        fprintf(stderr, "save: %s\n", buf);
        return 6;
    }
    mmdx_cohort_t *back = NULL;
    if (mmdx_cohort_load(ctx, argv[1], &back, &err) != MMDX_OK)
        return 7;
    double v;
    int ok = mmdx_cohort_n_patients(back) == 2 && mmdx_cohort_get(back, 0, 0, &v) == 1 && fabs(v - 6.5) < 1e-12 &&
             mmdx_cohort_get(back, 1, 0, &v) == 0 && strcmp(mmdx_cohort_id(back, 1), "B") == 0;
    printf("cohort round trip %s\n", ok ? "ok" : "WRONG");
    mmdx_cohort_free(back);
    mmdx_cohort_free(c);
    mmdx_space_free(space);
    /* the example plugin through the search path, reading a file into a cohort */
    long k = -1;
    if (mmdx_plugin_load(ctx, "example", &err) == MMDX_OK)
        k = mmdx_plugin_find(ctx, "example");
    if (k < 0) {
        char buf[1024];
        mmdx_error_format(&err, buf, sizeof buf);
        fprintf(stderr, "plugin: %s\n", buf);
        return 8;
    }
    printf("plugin example from %s\n", mmdx_plugin_origin(ctx, (size_t)k));
    space = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(ctx, space, MMDX_AGG_LATEST);
    if (!col || mmdx_collect_file(col, NULL, argv[2], NULL, &err) != MMDX_OK ||
        mmdx_collect_to_cohort(col, &c, &err) != MMDX_OK)
        return 9;
    printf("read %zu patients %zu features %zu rejects\n", mmdx_cohort_n_patients(c),
           mmdx_cohort_n_features(c), mmdx_collect_n_rejects(col));
    mmdx_cohort_free(c);
    mmdx_collect_free(col);
    mmdx_space_free(space);
    mmdx_ctx_free(ctx);
    return ok ? 0 : 1;
}
PROG
# the example plugin, built from a copy of its directory with its own Makefile
cp -r "$s/examples/plugin" "$tmp/plugin" && chmod -R u+w "$tmp/plugin" && rm -f "$tmp/plugin"/*.so "$tmp/plugin"/*.o
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$tmp/plugin" CC="$(val CC)" CFLAGS="$(val CFLAGS)" >"$tmp/plugin.log" 2>&1 \
  && ok || { fail "example plugin does not build against the installed headers"; sed 's/^/  | /' "$tmp/plugin.log"; }
grep -q -- "-I$dest" "$tmp/plugin.log" && ok || fail "example plugin not built with the installed headers"

# the compiler and flags libmmdx was built with (a sanitizer build needs them to link)
$(val CC) -std=c11 -Wall -Wextra $(val CFLAGS) $(val LDFLAGS) -o "$tmp/prog" "$tmp/prog.c" $cflags $libs >"$tmp/cc.log" 2>&1 \
  && ok || { fail "outside program does not build with pkg-config --static"; sed 's/^/  | /' "$tmp/cc.log" | head -20; }
if [ -x "$tmp/prog" ]; then
  MMDX_PLUGIN_PATH=$tmp/plugin "$tmp/prog" "$tmp/roundtrip.h5" "$s/examples/plugin/example.tsv" >"$tmp/prog.out" 2>&1 \
    && ok || fail "outside program failed: $(cat "$tmp/prog.out")"
  grep -q "cohort round trip ok" "$tmp/prog.out" && ok || fail "cohort round trip: $(cat "$tmp/prog.out")"
  grep -q "plugin example from $tmp/plugin/mmdx_example.so" "$tmp/prog.out" && ok || fail "plugin not loaded: $(cat "$tmp/prog.out")"
  grep -q "read 3 patients 2 features 1 rejects" "$tmp/prog.out" && ok || fail "plugin read: $(cat "$tmp/prog.out")"
fi

# --- a plugin written in C++ against the installed headers (MMDX_MODALITY_EXPORT gives
# it C linkage, so the host finds mmdx_modality_cxx_get_desc)
if command -v "${CXX:-c++}" >/dev/null 2>&1; then
  mkdir -p "$tmp/cxx"
  cat >"$tmp/cxx/cxx.cc" <<'CXX'
#include <mmdx/modality.h>
static int init(const mmdx_host_t *, void **state, mmdx_error_t *) { *state = nullptr; return MMDX_OK; }
static int open(void *, const char *, const char *const *, void **src, mmdx_error_t *) { *src = nullptr; return MMDX_OK; }
static int read(void *, const mmdx_sink_t *, mmdx_error_t *) { return MMDX_OK; }
static void close(void *) {}
static const mmdx_modality_desc_t desc = {MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof(mmdx_modality_desc_t), "cxx", "1.0",
    "MIT", "a plugin in C++", "cxx", {init, nullptr, nullptr, open, read, close, {nullptr}}, {nullptr}};
MMDX_MODALITY_EXPORT(cxx) { return &desc; }
CXX
  if "${CXX:-c++}" -std=c++11 -Wall -Wextra -pedantic $(val CFLAGS) $(pkg-config --cflags-only-I mmdx) -fPIC -shared \
       -o "$tmp/cxx/mmdx_cxx.so" "$tmp/cxx/cxx.cc" >"$tmp/cxx.log" 2>&1; then
    ok
    "$bin" plugins --no-search --plugin "$tmp/cxx/mmdx_cxx.so" >"$tmp/cxx.out" 2>&1 && grep -q "^cxx .*mmdx_cxx.so" "$tmp/cxx.out" \
      && ok || fail "C++ plugin does not load: $(cat "$tmp/cxx.out")"
  else
    fail "C++ plugin does not build: $(cat "$tmp/cxx.log")"
  fi
fi

# --- the installed driver, with the installed data tables only
MMDX_DATA_DIR=$(pkg-config --variable=mmdxdatadir mmdx)
export MMDX_DATA_DIR
[ -d "$MMDX_DATA_DIR" ] && ok || fail "data directory $MMDX_DATA_DIR not installed"
"$bin" plugins --no-search >"$tmp/b.out" 2>"$tmp/b.err" && ok || fail "installed mmdx plugins failed"
[ -s "$tmp/b.err" ] && fail "built-in modalities fail with the installed data: $(cat "$tmp/b.err")" || ok
"$bin" version >"$tmp/v.out" 2>&1 && ok || fail "installed mmdx version failed"
grep -q "^modality ABI: " "$tmp/v.out" && ok || fail "installed mmdx version output"
MMDX_PLUGIN_PATH=$tmp/plugin "$bin" plugins >"$tmp/p.out" 2>&1 && ok || fail "installed mmdx plugins failed: $(cat "$tmp/p.out")"
grep -q "^example .*$tmp/plugin/mmdx_example.so" "$tmp/p.out" && ok || fail "installed driver does not list the plugin"
# every installed modality plugin loads into the installed driver (replacing its built-in)
for so in $(find "$dest" -name 'mmdx_*.so'); do
  "$bin" plugins --no-search --plugin "$so" >"$tmp/p1.out" 2>&1 && grep -q "$so" "$tmp/p1.out" && ok \
    || fail "installed plugin $so does not load: $(cat "$tmp/p1.out")"
done
[ -d "$plugindir" ] || [ -z "$(find "$dest" -name 'mmdx_*.so')" ] && ok || fail "plugins not in the plugin dir $plugindir"

echo "install: $pass checks passed, $fails failed"
[ "$fails" -eq 0 ]
