/* Check suite of the plugin host (plugin.h) and sources (source.h): loading by name and
 * path, the search order, refusing broken modules with errors naming the file, the host
 * table, probing, options, error translation and allocation failures. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mmdx/mmdx.h>

static char builddir[4096];
static char example_dir[4200], broken_dir[4200], example_so[4300];

static void paths(void)
{
    const char *b = getenv("MMDX_BUILDDIR");
    snprintf(builddir, sizeof builddir, "%s", b ? b : ".");
    snprintf(example_dir, sizeof example_dir, "%s/examples/plugin/.libs", builddir);
    snprintf(broken_dir, sizeof broken_dir, "%s/tests/unit/.libs", builddir);
    snprintf(example_so, sizeof example_so, "%s/mmdx_example.so", example_dir);
}

/* a temporary file with @p text; path in @p path (caller unlinks) */
static void temp_file(char *path, size_t size, const char *text)
{
    snprintf(path, size, "/tmp/check_plugin_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* ------------------------------------------------------------------ a counting sink */

typedef struct counts {
    int obs, rejects, patients, stop_after;
    long last_reject_record;
    char last_feature[128];
    double sum;
} counts_t;

static int c_obs(void *data, const mmdx_obs_t *o)
{
    counts_t *c = data;
    c->obs++;
    c->sum += o->value;
    snprintf(c->last_feature, sizeof c->last_feature, "%s", o->feature);
    return c->stop_after && c->obs >= c->stop_after ? MMDX_ENOMEM : MMDX_OK;
}
static int c_block(void *data, const mmdx_block_t *b)
{
    (void)data;
    (void)b;
    return MMDX_OK;
}
static int c_reject(void *data, const char *patient, const char *file, long record, int code, const char *reason)
{
    counts_t *c = data;
    (void)patient;
    (void)file;
    (void)code;
    (void)reason;
    c->rejects++;
    c->last_reject_record = record;
    return MMDX_OK;
}
static int c_patient(void *data, const char *patient)
{
    (void)patient;
    ((counts_t *)data)->patients++;
    return MMDX_OK;
}

static const char example_tsv[] = "patient_id\tfeature\tvalue\tunit\n"
                                  "P1\tlab:loinc:4548-4\t6.5\t%\n"
                                  "P1\tlab:loinc:2345-7\t120\tmg/dL\n"
                                  "P2\tlab:loinc:4548-4\t5.5\t%\n"
                                  "P3\tlab:loinc:4548-4\tnot-a-number\t%\n";

/* ------------------------------------------------------------------ loading */

START_TEST(test_load_by_name_uses_search_path)
{
    paths();
    setenv("MMDX_PLUGIN_PATH", example_dir, 1);
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    ck_assert_ptr_nonnull(ctx);
    size_t before = mmdx_plugin_count(ctx);
    for (size_t i = 0; i < before; i++)
        ck_assert_str_eq(mmdx_plugin_origin(ctx, i), "built-in");
    ck_assert_int_eq(mmdx_plugin_find(ctx, "example"), -1);

    mmdx_error_t err = {0};
    ck_assert_int_eq(mmdx_plugin_load(ctx, "example", &err), MMDX_OK);
    ck_assert_int_eq(err.code, MMDX_OK);
    ck_assert_uint_eq(mmdx_plugin_count(ctx), before + 1);
    long i = mmdx_plugin_find(ctx, "example");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(mmdx_plugin_find_input(ctx, "example"), i);
    const mmdx_modality_desc_t *d = mmdx_plugin_desc(ctx, (size_t)i);
    ck_assert_str_eq(d->name, "example");
    ck_assert_int_eq(d->abi_major, MMDX_ABI_MAJOR);
    const char *origin = mmdx_plugin_origin(ctx, (size_t)i);
    ck_assert_ptr_nonnull(strstr(origin, "/mmdx_example.so"));
    ck_assert_int_eq(origin[0], '/'); /* resolved to an absolute path */

    /* loading the same file again, by name or by path, is a no-op */
    ck_assert_int_eq(mmdx_plugin_load(ctx, "example", &err), MMDX_OK);
    ck_assert_int_eq(mmdx_plugin_load(ctx, example_so, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_plugin_load(ctx, "mmdx_example.so", &err), MMDX_OK);
    ck_assert_uint_eq(mmdx_plugin_count(ctx), before + 1);
    ck_assert_ptr_null(mmdx_plugin_desc(ctx, before + 1));
    ck_assert_ptr_null(mmdx_plugin_origin(ctx, before + 5));
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_load_by_explicit_path)
{
    paths();
    unsetenv("MMDX_PLUGIN_PATH");
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_error_t err = {0};
    /* not on the search path now: a bare name is not found, and the error says where it looked */
    ck_assert_int_eq(mmdx_plugin_load(ctx, "example", &err), MMDX_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.file, "mmdx_example.so"));
    ck_assert_ptr_nonnull(strstr(err.message, mmdx_plugin_dir()));
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_ENOTFOUND);
    mmdx_error_clear(&err);
    mmdx_ctx_clear_error(ctx);
    ck_assert_int_eq(mmdx_plugin_load(ctx, example_so, &err), MMDX_OK);
    ck_assert_int_ge(mmdx_plugin_find(ctx, "example"), 0);
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_OK);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_search_path_order)
{
    /* the first directory of MMDX_PLUGIN_PATH that has the file wins; empty and
     * missing entries are skipped */
    paths();
    char path[9000];
    snprintf(path, sizeof path, "::/nonexistent/dir:%s:%s", example_dir, broken_dir);
    setenv("MMDX_PLUGIN_PATH", path, 1);
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_error_t err = {0};
    ck_assert_int_eq(mmdx_plugin_load(ctx, "example", &err), MMDX_OK);
    long i = mmdx_plugin_find(ctx, "example");
    ck_assert_int_ge(i, 0);
    ck_assert_ptr_nonnull(strstr(mmdx_plugin_origin(ctx, (size_t)i), "examples/plugin/.libs/mmdx_example.so"));
    mmdx_ctx_free(ctx);
}
END_TEST

static void expect_refused(const char *file, int code, const char *needle)
{
    char path[4400];
    paths();
    snprintf(path, sizeof path, "%s/%s", broken_dir, file);
    ck_assert_msg(access(path, R_OK) == 0, "test module %s was not built", path);
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    size_t before = mmdx_plugin_count(ctx);
    mmdx_error_t err = {0};
    int rc = mmdx_plugin_load(ctx, path, &err);
    ck_assert_msg(rc == code, "%s: got %d (%s), want %d", file, rc, err.message, code);
    ck_assert_int_eq(err.code, code);
    ck_assert_msg(strstr(err.file, file) != NULL, "error does not name the file: '%s'", err.file);
    ck_assert_msg(strstr(err.message, needle) != NULL, "message '%s' lacks '%s'", err.message, needle);
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, code); /* also in the context's slot */
    ck_assert_uint_eq(mmdx_plugin_count(ctx), before);  /* nothing registered */
    char buf[1024];
    mmdx_error_format(&err, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, file));
    mmdx_ctx_free(ctx);
}

START_TEST(test_wrong_abi_major)
{
    expect_refused("mmdx_badabi.so", MMDX_EABI, "ABI");
}
END_TEST

START_TEST(test_failing_init)
{
    expect_refused("mmdx_badinit.so", MMDX_EPLUGIN, "configuration table is missing");
}
END_TEST

START_TEST(test_missing_symbol)
{
    expect_refused("mmdx_nosym.so", MMDX_EPLUGIN, "mmdx_modality_nosym_get_desc");
}
END_TEST

START_TEST(test_name_mismatch)
{
    expect_refused("mmdx_misnamed.so", MMDX_EPLUGIN, "othername");
}
END_TEST

START_TEST(test_missing_method)
{
    expect_refused("mmdx_noread.so", MMDX_EPLUGIN, "read");
}
END_TEST

START_TEST(test_not_a_plugin_file)
{
    char path[64];
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_error_t err = {0};
    /* a file that is not a shared object at all */
    snprintf(path, sizeof path, "/tmp/mmdx_garbage%d.so", (int)getpid());
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not an ELF file\n", f);
    fclose(f);
    ck_assert_int_eq(mmdx_plugin_load(ctx, path, &err), MMDX_EPLUGIN);
    ck_assert_ptr_nonnull(strstr(err.file, "mmdx_garbage"));
    unlink(path);
    /* wrong file name pattern */
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_plugin_load(ctx, "/usr/lib/libfoo.so", &err), MMDX_EPLUGIN);
    ck_assert_ptr_nonnull(strstr(err.message, "mmdx_NAME.so"));
    /* no such file */
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_plugin_load(ctx, "/nonexistent/mmdx_x.so", &err), MMDX_ENOTFOUND);
    ck_assert_str_eq(err.file, "/nonexistent/mmdx_x.so");
    /* bad arguments */
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_plugin_load(ctx, "", &err), MMDX_EINVAL);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_plugin_load(ctx, "bad name!", &err), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_plugin_load(NULL, "x", NULL), MMDX_EINVAL);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_load_all)
{
    paths();
    char path[9000];
    snprintf(path, sizeof path, "%s:%s", example_dir, broken_dir);
    setenv("MMDX_PLUGIN_PATH", path, 1);
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    size_t builtins = mmdx_plugin_count(ctx), loaded = 99, failed = 99;
    ck_assert_int_eq(mmdx_plugin_load_all(ctx, &loaded, &failed), MMDX_OK);
    ck_assert_uint_eq(loaded, 1);  /* example */
    ck_assert_uint_eq(failed, 5);  /* badabi badinit misnamed noread nosym */
    ck_assert_uint_eq(mmdx_plugin_count(ctx), builtins + 1);
    /* a second scan finds nothing new and fails the same modules again */
    ck_assert_int_eq(mmdx_plugin_load_all(ctx, &loaded, &failed), MMDX_OK);
    ck_assert_uint_eq(loaded, 0);
    ck_assert_uint_eq(failed, 5);
    mmdx_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------------ sources */

START_TEST(test_source_detect_and_read)
{
    paths();
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_error_t err = {0};
    ck_assert_int_eq(mmdx_plugin_load(ctx, example_so, &err), MMDX_OK);
    char path[64];
    temp_file(path, sizeof path, example_tsv);
    mmdx_source_t *src = NULL;
    const char *name = NULL;
    ck_assert_int_eq(mmdx_source_detect(ctx, path, &name, &err), MMDX_OK);
    ck_assert_str_eq(name, "example");
    ck_assert_int_eq(mmdx_source_open(ctx, NULL, path, NULL, &src, &err), MMDX_OK);
    ck_assert_str_eq(mmdx_source_modality(src), "example");
    counts_t c = {0};
    mmdx_sink_t sink = {&c, c_obs, c_block, c_reject, c_patient, {NULL}};
    ck_assert_int_eq(mmdx_source_read(src, &sink, &err), MMDX_OK);
    ck_assert_int_eq(c.obs, 3);
    ck_assert_int_eq(c.rejects, 1);
    ck_assert_int_eq(c.last_reject_record, 5);
    ck_assert_int_eq(c.patients, 4);
    ck_assert_double_eq_tol(c.sum, 6.5 + 120 + 5.5, 1e-12);
    ck_assert_str_eq(c.last_feature, "lab:loinc:4548-4");
    mmdx_source_close(src);
    mmdx_source_close(NULL);

    /* by name, and by the input it serves, with an option */
    const char *strict[] = {"strict=1", NULL};
    ck_assert_int_eq(mmdx_source_open(ctx, "example", path, strict, &src, &err), MMDX_OK);
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(mmdx_source_read(src, &sink, &err), MMDX_EFORMAT);
    ck_assert_str_eq(err.file, path);
    ck_assert_int_eq(err.line, 5);
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_EFORMAT);
    mmdx_source_close(src);
    unlink(path);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_source_errors)
{
    paths();
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_error_t err = {0};
    ck_assert_int_eq(mmdx_plugin_load(ctx, example_so, &err), MMDX_OK);
    char path[64];
    temp_file(path, sizeof path, example_tsv);
    mmdx_source_t *src = (mmdx_source_t *)&err;

    /* unknown option: the adapter's error, naming the key, with the file filled in */
    const char *bad[] = {"colour=blue", NULL};
    ck_assert_int_eq(mmdx_source_open(ctx, "example", path, bad, &src, &err), MMDX_EINVAL);
    ck_assert_ptr_null(src);
    ck_assert_str_eq(err.object, "colour=blue");
    ck_assert_str_eq(err.file, path);

    /* no such modality: the available ones are listed */
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_source_open(ctx, "nosuch", path, NULL, &src, &err), MMDX_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "nosuch"));
    ck_assert_ptr_nonnull(strstr(err.message, "example"));

    /* nobody recognises the content */
    char other[64];
    temp_file(other, sizeof other, "this is not a format anyone knows\n");
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_source_open(ctx, NULL, other, NULL, &src, &err), MMDX_EFORMAT);
    ck_assert_str_eq(err.file, other);
    ck_assert_ptr_nonnull(strstr(err.message, "no modality recognises"));
    const char *name = "unchanged";
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_source_detect(ctx, other, &name, &err), MMDX_EFORMAT);
    ck_assert_ptr_null(name);
    ck_assert_str_eq(err.file, other);
    unlink(other);

    /* missing file */
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_source_open(ctx, NULL, "/nonexistent/file.tsv", NULL, &src, &err), MMDX_ENOTFOUND);
    ck_assert_str_eq(err.file, "/nonexistent/file.tsv");

    /* the sink stops the read: its status comes back and the error is left to the sink's
     * owner, who knows the reason */
    ck_assert_int_eq(mmdx_source_open(ctx, "example", path, NULL, &src, &err), MMDX_OK);
    counts_t c = {0};
    c.stop_after = 2;
    mmdx_sink_t sink = {&c, c_obs, c_block, c_reject, c_patient, {NULL}};
    mmdx_error_clear(&err);
    mmdx_ctx_clear_error(ctx);
    ck_assert_int_eq(mmdx_source_read(src, &sink, &err), MMDX_ENOMEM);
    ck_assert_int_eq(c.obs, 2);
    ck_assert_int_eq(err.code, MMDX_OK);
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_OK);
    mmdx_sink_t no_obs = {&c, NULL, c_block, c_reject, c_patient, {NULL}};
    ck_assert_int_eq(mmdx_source_read(src, &no_obs, &err), MMDX_EINVAL);
    ck_assert_str_eq(err.file, path);
    ck_assert_int_eq(mmdx_source_read(src, NULL, NULL), MMDX_EINVAL);
    mmdx_source_close(src);
    ck_assert_int_eq(mmdx_source_open(ctx, NULL, NULL, NULL, &src, NULL), MMDX_EINVAL);
    unlink(path);
    mmdx_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------------ in-process descriptors */

static const mmdx_host_t *seen_host;
static void (*host_free)(void *); /* the host table dies with its entry: keep the function */
static int fini_calls;

static int t_init(const mmdx_host_t *host, void **state_out, mmdx_error_t *err)
{
    (void)err;
    seen_host = host;
    host_free = host->free;
    host->log(host->host_data, MMDX_LOG_WARN, "hello from the plugin");
    *state_out = host->malloc(16);
    return *state_out ? MMDX_OK : MMDX_ENOMEM;
}
static void t_fini(void *state)
{
    fini_calls++;
    host_free(state);
}
static int t_probe_low(void *s, const char *p, const unsigned char *h, size_t n)
{
    (void)s; (void)p; (void)h; (void)n;
    return 10;
}
static int t_probe_high(void *s, const char *p, const unsigned char *h, size_t n)
{
    (void)s; (void)p;
    return n >= 4 && memcmp(h, "HIGH", 4) == 0 ? 80 : 0;
}
static int t_open(void *s, const char *p, const char *const *o, void **out, mmdx_error_t *e)
{
    (void)s; (void)p; (void)e;
    ck_assert_ptr_nonnull(o); /* the host never passes NULL options */
    *out = NULL;
    return MMDX_OK;
}
static int t_read_positive(void *src, const mmdx_sink_t *sink, mmdx_error_t *e)
{
    (void)src; (void)sink; (void)e;
    return 7; /* not a status code */
}
static void t_close(void *src)
{
    (void)src;
}

static const mmdx_modality_desc_t low_desc = {
    MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof(mmdx_modality_desc_t), "tlow", "1", "MIT", "low", "tlow",
    {t_init, t_fini, t_probe_low, t_open, t_read_positive, t_close, {NULL}}, {NULL}};
static const mmdx_modality_desc_t high_desc = {
    MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof(mmdx_modality_desc_t), "thigh", "1", "MIT", "high", "thigh",
    {t_init, t_fini, t_probe_high, t_open, t_read_positive, t_close, {NULL}}, {NULL}};

static char logged[256];
static void log_cb(void *user, mmdx_log_level_t level, const char *msg)
{
    (void)user;
    if (level == MMDX_LOG_WARN)
        snprintf(logged, sizeof logged, "%s", msg);
}

START_TEST(test_register_host_table_and_probe)
{
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_ctx_set_log(ctx, log_cb, NULL, MMDX_LOG_DEBUG);
    mmdx_ctx_set_threads(ctx, 3);
    mmdx_error_t err = {0};
    fini_calls = 0;
    logged[0] = '\0';
    ck_assert_int_eq(mmdx_plugin_register(ctx, &low_desc, "test", &err), MMDX_OK);
    ck_assert_ptr_nonnull(seen_host);
    ck_assert_uint_eq(seen_host->abi_major, MMDX_ABI_MAJOR);
    ck_assert_uint_eq(seen_host->struct_size, sizeof(mmdx_host_t));
    ck_assert_int_eq(seen_host->threads, 3);
    ck_assert_ptr_nonnull(seen_host->data_dir);
    ck_assert_str_eq(logged, "hello from the plugin");
    ck_assert_int_eq(mmdx_plugin_register(ctx, &high_desc, NULL, &err), MMDX_OK);
    /* a second descriptor with a taken name is refused */
    ck_assert_int_eq(mmdx_plugin_register(ctx, &low_desc, "again", &err), MMDX_EDUP);
    ck_assert_ptr_nonnull(strstr(err.message, "tlow"));

    /* the highest probe score wins; a file only the low one accepts goes to it */
    char hi[64], lo[64];
    temp_file(hi, sizeof hi, "HIGH score wanted\n");
    temp_file(lo, sizeof lo, "anything\n");
    mmdx_source_t *src = NULL;
    ck_assert_int_eq(mmdx_source_open(ctx, NULL, hi, NULL, &src, &err), MMDX_OK);
    ck_assert_str_eq(mmdx_source_modality(src), "thigh");
    /* an adapter returning a positive value is turned into MMDX_EPLUGIN naming the modality */
    counts_t c = {0};
    mmdx_sink_t sink = {&c, c_obs, c_block, c_reject, c_patient, {NULL}};
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_source_read(src, &sink, &err), MMDX_EPLUGIN);
    ck_assert_str_eq(err.file, hi);
    ck_assert_ptr_nonnull(strstr(err.message, "thigh"));
    mmdx_source_close(src);
    ck_assert_int_eq(mmdx_source_open(ctx, NULL, lo, NULL, &src, &err), MMDX_OK);
    ck_assert_str_eq(mmdx_source_modality(src), "tlow");
    mmdx_source_close(src);
    unlink(hi);
    unlink(lo);
    mmdx_ctx_free(ctx);
    ck_assert_int_eq(fini_calls, 2);
}
END_TEST

START_TEST(test_register_refuses_bad_descriptors)
{
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_error_t err = {0};
    mmdx_modality_desc_t d = low_desc;
    d.abi_major = MMDX_ABI_MAJOR + 1;
    ck_assert_int_eq(mmdx_plugin_register(ctx, &d, "x", &err), MMDX_EABI);
    d = low_desc;
    d.struct_size = 8;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_plugin_register(ctx, &d, "x", &err), MMDX_EABI);
    d = low_desc;
    d.ops.open = NULL;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_plugin_register(ctx, &d, "x", &err), MMDX_EPLUGIN);
    ck_assert_ptr_nonnull(strstr(err.message, "open"));
    d = low_desc;
    d.name = "has space";
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_plugin_register(ctx, &d, "x", &err), MMDX_EPLUGIN);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_plugin_register(ctx, NULL, "x", &err), MMDX_EPLUGIN);
    ck_assert_int_eq(mmdx_plugin_find(ctx, "tlow"), -1);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_loaded_module_replaces_builtin)
{
    /* only meaningful when a modality is both built in and built as a module */
    paths();
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    size_t n = mmdx_plugin_count(ctx), replaced = 0;
    for (size_t i = 0; i < n; i++) {
        char name[64], path[4400];
        snprintf(name, sizeof name, "%s", mmdx_plugin_desc(ctx, i)->name);
        snprintf(path, sizeof path, "%s/modalities/%s/.libs/mmdx_%s.so", builddir, name, name);
        if (access(path, R_OK) != 0)
            continue;
        mmdx_error_t err = {0};
        ck_assert_int_eq(mmdx_plugin_load(ctx, path, &err), MMDX_OK);
        ck_assert_uint_eq(mmdx_plugin_count(ctx), n);
        long k = mmdx_plugin_find(ctx, name);
        ck_assert_ptr_nonnull(strstr(mmdx_plugin_origin(ctx, (size_t)k), path + strlen(builddir)));
        replaced++;
    }
    mmdx_ctx_free(ctx);
    if (replaced == 0)
        fprintf(stderr, "check_plugin: no built-in modality has a module yet; replacement not exercised\n");
}
END_TEST

/* ------------------------------------------------------------------ allocation failure */

static long alloc_budget = -1;
static void *fail_malloc(size_t n)
{
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return malloc(n);
}
static void *fail_realloc(void *p, size_t n)
{
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return realloc(p, n);
}

START_TEST(test_alloc_failure_load_and_open)
{
    /* fail the Nth allocation for N = 0, 1, ... until loading the example plugin and
     * opening a source succeed; every failure must be reported, none may crash or leak
     * (the sanitizer build checks the leaks) */
    paths();
    char path[64];
    temp_file(path, sizeof path, example_tsv);
    mmdx_set_allocator(fail_malloc, fail_realloc, free);
    int done = 0;
    long n;
    for (n = 0; n < 200 && !done; n++) {
        alloc_budget = -1;
        mmdx_ctx_t *ctx = mmdx_ctx_alloc();
        ck_assert_ptr_nonnull(ctx);
        alloc_budget = n;
        mmdx_error_t err = {0};
        int rc = mmdx_plugin_load(ctx, example_so, &err);
        mmdx_source_t *src = NULL;
        if (rc == MMDX_OK) {
            rc = mmdx_source_open(ctx, NULL, path, NULL, &src, &err);
            if (rc == MMDX_OK) {
                done = 1;
                mmdx_source_close(src);
            }
        }
        if (!done) {
            ck_assert_msg(rc == MMDX_ENOMEM || rc == MMDX_EPLUGIN, "N=%ld: status %d", n, rc);
            ck_assert_int_ne(err.code, MMDX_OK);
        }
        alloc_budget = -1;
        mmdx_ctx_free(ctx);
    }
    mmdx_set_allocator(NULL, NULL, NULL);
    ck_assert_msg(done, "never succeeded");
    ck_assert_int_gt(n, 2); /* it did fail at least twice before succeeding */
    unlink(path);
}
END_TEST

static Suite *plugin_suite(void)
{
    Suite *s = suite_create("plugin");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, test_load_by_name_uses_search_path);
    tcase_add_test(tc, test_load_by_explicit_path);
    tcase_add_test(tc, test_search_path_order);
    tcase_add_test(tc, test_wrong_abi_major);
    tcase_add_test(tc, test_failing_init);
    tcase_add_test(tc, test_missing_symbol);
    tcase_add_test(tc, test_name_mismatch);
    tcase_add_test(tc, test_missing_method);
    tcase_add_test(tc, test_not_a_plugin_file);
    tcase_add_test(tc, test_load_all);
    tcase_add_test(tc, test_loaded_module_replaces_builtin);
    suite_add_tcase(s, tc);
    tc = tcase_create("source");
    tcase_add_test(tc, test_source_detect_and_read);
    tcase_add_test(tc, test_source_errors);
    tcase_add_test(tc, test_register_host_table_and_probe);
    tcase_add_test(tc, test_register_refuses_bad_descriptors);
    tcase_add_test(tc, test_alloc_failure_load_and_open);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(plugin_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
