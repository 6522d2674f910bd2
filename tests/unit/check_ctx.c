/* Check suite: status codes, the structured error, the allocator hook and the context. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <mmdx/mmdx.h>

START_TEST(test_strerror)
{
    int codes[] = {MMDX_OK, MMDX_ENOMEM, MMDX_EINVAL, MMDX_EIO, MMDX_EFORMAT, MMDX_ENOTFOUND, MMDX_EDUP,
                   MMDX_ERANGE, MMDX_EUNIT, MMDX_EABI, MMDX_EPLUGIN, MMDX_ENUMERIC, MMDX_EVERSION,
                   MMDX_ESPACE, MMDX_ESECURITY, MMDX_ETRUNC, MMDX_ESTATE, MMDX_EREJECT};
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = mmdx_strerror(codes[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_ne(s, "unknown error");
        for (size_t k = 0; k < i; k++) /* every code has its own name */
            ck_assert_str_ne(s, mmdx_strerror(codes[k]));
    }
    ck_assert_str_eq(mmdx_strerror(-999), "unknown error");
    ck_assert_str_eq(mmdx_strerror(MMDX_ENOMEM), "out of memory");
}
END_TEST

START_TEST(test_error_first_kept)
{
    mmdx_error_t e;
    char buf[1024];
    memset(&e, 0x5a, sizeof e);
    mmdx_error_clear(&e);
    ck_assert_int_eq(e.code, MMDX_OK);
    ck_assert_str_eq(e.file, "");
    ck_assert_int_eq(mmdx_error_set(&e, MMDX_EFORMAT, "a.tsv", "column 2", 7, "bad %s %d", "value", 3),
                     MMDX_EFORMAT);
    /* the second error does not overwrite the first */
    ck_assert_int_eq(mmdx_error_set(&e, MMDX_EIO, "b.tsv", NULL, 1, "later"), MMDX_EIO);
    ck_assert_int_eq(e.code, MMDX_EFORMAT);
    ck_assert_str_eq(e.file, "a.tsv");
    ck_assert_str_eq(e.object, "column 2");
    ck_assert_int_eq(e.line, 7);
    ck_assert_str_eq(e.message, "bad value 3");
    mmdx_error_format(&e, buf, sizeof buf);
    ck_assert_str_eq(buf, "a.tsv:7: column 2: bad value 3 (malformed input)");
    /* truncation keeps a terminated string */
    ck_assert_uint_eq(mmdx_error_format(&e, buf, 8), 7);
    ck_assert_str_eq(buf, "a.tsv:7");
    mmdx_error_clear(&e);
    mmdx_error_format(&e, buf, sizeof buf);
    ck_assert_str_eq(buf, "no error");
    /* NULL error struct: still returns the code */
    ck_assert_int_eq(mmdx_error_set(NULL, MMDX_EIO, NULL, NULL, 0, "x"), MMDX_EIO);
    mmdx_error_clear(NULL);
}
END_TEST

START_TEST(test_error_long_fields_truncated)
{
    mmdx_error_t e = {0};
    char longname[1000];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    mmdx_error_set(&e, MMDX_EIO, longname, longname, 0, "%s", longname);
    ck_assert_uint_eq(strlen(e.file), sizeof e.file - 1);
    ck_assert_uint_eq(strlen(e.object), sizeof e.object - 1);
    ck_assert_uint_eq(strlen(e.message), sizeof e.message - 1);
}
END_TEST

static long hook_calls;
static void *count_malloc(size_t n)
{
    hook_calls++;
    return malloc(n);
}
static void *count_realloc(void *p, size_t n)
{
    hook_calls++;
    return realloc(p, n);
}

START_TEST(test_allocator_hook)
{
    char *s;
    int *z;
    hook_calls = 0;
    mmdx_set_allocator(count_malloc, count_realloc, free);
    s = mmdx_strdup("hello");
    ck_assert_str_eq(s, "hello");
    ck_assert_int_eq(hook_calls, 1);
    s = mmdx_realloc(s, 100);
    ck_assert_int_eq(hook_calls, 2);
    mmdx_free(s);
    z = mmdx_calloc(10, sizeof *z);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(z[i], 0);
    mmdx_free(z);
    ck_assert_ptr_null(mmdx_calloc(SIZE_MAX / 2, 4)); /* overflow is refused, not wrapped */
    ck_assert_ptr_null(mmdx_strdup(NULL));
    mmdx_free(NULL);
    mmdx_set_allocator(NULL, NULL, NULL);
    hook_calls = 0;
    mmdx_free(mmdx_malloc(4));
    ck_assert_int_eq(hook_calls, 0);
}
END_TEST

static int log_count;
static char log_last[256];
static void log_fn(void *user, mmdx_log_level_t level, const char *msg)
{
    (void)level;
    *(int *)user += 1;
    log_count++;
    snprintf(log_last, sizeof log_last, "%s", msg);
}

START_TEST(test_ctx_basics)
{
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_error_t e = {0};
    int user = 0;
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(mmdx_init(), MMDX_OK);
    ck_assert_int_eq(mmdx_init(), MMDX_OK); /* idempotent */
    ck_assert_int_eq(mmdx_ctx_threads(ctx), 1);
    ck_assert_uint_eq(mmdx_ctx_seed(ctx), 0);
    mmdx_ctx_set_threads(ctx, 4);
    ck_assert_int_eq(mmdx_ctx_threads(ctx), 4);
    mmdx_ctx_set_threads(ctx, -3);
    ck_assert_int_eq(mmdx_ctx_threads(ctx), 1);
    mmdx_ctx_set_seed(ctx, 12345678901234ull);
    ck_assert_uint_eq(mmdx_ctx_seed(ctx), 12345678901234ull);

    /* logging: silent by default, then filtered by level */
    log_count = 0;
    mmdx_ctx_log(ctx, MMDX_LOG_ERROR, "nobody listens");
    ck_assert_int_eq(log_count, 0);
    mmdx_ctx_set_log(ctx, log_fn, &user, MMDX_LOG_WARN);
    mmdx_ctx_log(ctx, MMDX_LOG_WARN, "w %d", 1);
    mmdx_ctx_log(ctx, MMDX_LOG_DEBUG, "too verbose");
    ck_assert_int_eq(log_count, 1);
    ck_assert_int_eq(user, 1);
    ck_assert_str_eq(log_last, "w 1");

    /* first-error slot */
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_OK);
    mmdx_error_set(&e, MMDX_EDUP, "f", "o", 2, "first");
    ck_assert_int_eq(mmdx_ctx_set_error(ctx, &e), MMDX_EDUP);
    mmdx_error_clear(&e);
    mmdx_error_set(&e, MMDX_EIO, "g", NULL, 0, "second");
    mmdx_ctx_set_error(ctx, &e);
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_EDUP);
    ck_assert_str_eq(mmdx_ctx_error(ctx)->message, "first");
    mmdx_ctx_clear_error(ctx);
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_OK);
    mmdx_ctx_set_error(ctx, &e);
    ck_assert_str_eq(mmdx_ctx_error(ctx)->message, "second");

    /* data directory: explicit, then the environment */
    ck_assert_int_eq(mmdx_ctx_set_data_dir(ctx, "/some/where"), MMDX_OK);
    ck_assert_str_eq(mmdx_ctx_data_dir(ctx), "/some/where");
    ck_assert_int_eq(mmdx_ctx_set_data_dir(ctx, NULL), MMDX_OK);
    setenv("MMDX_DATA_DIR", "/from/env", 1);
    ck_assert_str_eq(mmdx_ctx_data_dir(ctx), "/from/env");
    unsetenv("MMDX_DATA_DIR");
    ck_assert_ptr_nonnull(mmdx_ctx_data_dir(ctx));

    ck_assert_str_eq(mmdx_version(), MMDX_VERSION_STRING);
    ck_assert_ptr_nonnull(strstr(mmdx_dependency_versions(), "hdf5 "));
    ck_assert_ptr_nonnull(strstr(mmdx_dependency_versions(), "gsl "));
    mmdx_ctx_free(ctx);
    mmdx_ctx_free(NULL);
}
END_TEST

/* mmdx_init() turns GSL's aborting handler off: a domain error returns a status. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_log.h>
START_TEST(test_gsl_handler_off)
{
    gsl_sf_result r;
    ck_assert_int_eq(mmdx_init(), MMDX_OK);
    ck_assert_int_ne(gsl_sf_log_e(-1.0, &r), GSL_SUCCESS); /* would abort() with GSL's default */
}
END_TEST

/* Without $MMDX_DATA_DIR a program run from the build tree, before `make install`, finds
 * the source tree's tables instead of a directory that does not exist. */
#include <sys/stat.h>
START_TEST(test_data_dir_fallback)
{
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    const char *srcdir = getenv("MMDX_SRCDIR");
    char *saved = getenv("MMDX_DATA_DIR") ? strdup(getenv("MMDX_DATA_DIR")) : NULL;
    struct stat st;
    char want[4096], units[4200];
    const char *dir;
    ck_assert_ptr_nonnull(ctx);
    unsetenv("MMDX_DATA_DIR");
    dir = mmdx_ctx_data_dir(ctx);
    ck_assert_ptr_nonnull(dir);
    if (stat(MMDX_DATA_DIR, &st) == 0 && S_ISDIR(st.st_mode)) {
        ck_assert_str_eq(dir, MMDX_DATA_DIR); /* installed: it always wins */
    } else if (srcdir != NULL) {
        snprintf(want, sizeof want, "%s/data", srcdir);
        ck_assert_str_eq(dir, want);
        snprintf(units, sizeof units, "%s/units.tsv", dir);
        ck_assert_int_eq(stat(units, &st), 0);
    }
    if (saved != NULL)
        setenv("MMDX_DATA_DIR", saved, 1);
    free(saved);
    mmdx_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctx");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_strerror);
    tcase_add_test(tc, test_error_first_kept);
    tcase_add_test(tc, test_error_long_fields_truncated);
    tcase_add_test(tc, test_allocator_hook);
    tcase_add_test(tc, test_ctx_basics);
    tcase_add_test(tc, test_gsl_handler_off);
    tcase_add_test(tc, test_data_dir_fallback);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
