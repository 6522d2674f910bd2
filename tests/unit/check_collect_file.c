#define _POSIX_C_SOURCE 200809L
/* Check suite: mmdx_collect_file() through the plugin host, with test modalities that
 * read fine or fail half-way: a failed input's observations are discarded, its patients
 * kept and listed in the rejects. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mmdx/mmdx.h>

#include "failalloc.h"

/* What the test modalities send: P1 and P9 with values, then success or failure. */
typedef struct test_src {
    int fail;
} test_src_t;

static int t_init(const mmdx_host_t *host, void **state, mmdx_error_t *err)
{
    (void)host;
    (void)err;
    *state = NULL;
    return MMDX_OK;
}

static void t_fini(void *state)
{
    (void)state;
}

static int t_open(void *state, const char *path, const char *const *options, void **out, mmdx_error_t *err)
{
    static test_src_t good = {0}, bad = {1};
    (void)state;
    (void)options;
    (void)err;
    *out = strstr(path, "bad") ? &bad : &good;
    return MMDX_OK;
}

static int t_read(void *src, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    test_src_t *s = src;
    mmdx_obs_t o;
    int rc;
    memset(&o, 0, sizeof o);
    o.kind = MMDX_OBS_CONTINUOUS;
    o.time = MMDX_TIME_UNKNOWN;
    o.patient = "P1";
    o.feature = "lab:test:a";
    o.value = s->fail ? 1000 : 1;
    o.provenance = "in:1";
    if ((rc = sink->obs(sink->data, &o)) != MMDX_OK)
        return rc;
    o.patient = "P9";
    o.feature = s->fail ? "lab:test:only_in_bad" : "lab:test:a";
    o.value = 9;
    if ((rc = sink->obs(sink->data, &o)) != MMDX_OK)
        return rc;
    if (s->fail)
        return mmdx_modality_error(err, MMDX_EFORMAT, NULL, "record 3", 3, "unexpected end of record 3");
    return MMDX_OK;
}

static void t_close(void *src)
{
    (void)src;
}

static const mmdx_modality_desc_t test_desc = {
    MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof(mmdx_modality_desc_t), "coretest", "1.0", "MIT",
    "core test modality", "coretest", {t_init, t_fini, NULL, t_open, t_read, t_close, {0}}, {0}};

START_TEST(test_failed_file_discarded_patients_kept)
{
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col;
    mmdx_cohort_t *c = NULL;
    mmdx_error_t e = {0};
    const char *patient, *file, *reason;
    int code;
    double v;
    ck_assert_int_eq(mmdx_plugin_register(ctx, &test_desc, "test", &e), MMDX_OK);
    col = mmdx_collect_alloc(ctx, s, MMDX_AGG_MEAN);
    ck_assert_int_eq(mmdx_collect_file(col, "coretest", "good.in", NULL, &e), MMDX_OK);
    ck_assert_uint_eq(mmdx_collect_n_observations(col), 2);
    ck_assert_int_eq(mmdx_collect_file(col, "coretest", "bad.in", NULL, &e), MMDX_EFORMAT);
    ck_assert_str_eq(e.file, "bad.in");
    ck_assert_ptr_nonnull(strstr(e.message, "record 3"));
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_EFORMAT);
    /* the bad file's values are gone, the good file's stand */
    ck_assert_uint_eq(mmdx_collect_n_observations(col), 2);
    ck_assert_int_eq(mmdx_space_find_feature(s, "lab:test:only_in_bad"), -1);
    ck_assert_int_eq(mmdx_collect_to_cohort(col, &c, NULL), MMDX_OK);
    ck_assert_uint_eq(mmdx_cohort_n_patients(c), 2);
    ck_assert_int_eq(mmdx_cohort_get(c, (size_t)mmdx_cohort_find(c, "P1"), 0, &v), 1);
    ck_assert_double_eq(v, 1);
    /* both patients it named are listed with the file and the reason */
    ck_assert_uint_eq(mmdx_collect_n_rejects(col), 2);
    ck_assert_int_eq(mmdx_collect_reject(col, 0, &patient, &file, NULL, &code, &reason), MMDX_OK);
    ck_assert_str_eq(patient, "P1");
    ck_assert_str_eq(file, "bad.in");
    ck_assert_int_eq(code, MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(reason, "unexpected end of record 3"));
    ck_assert_int_eq(mmdx_collect_reject(col, 1, &patient, NULL, NULL, NULL, NULL), MMDX_OK);
    ck_assert_str_eq(patient, "P9");
    mmdx_cohort_free(c);
    mmdx_collect_free(col);
    mmdx_space_free(s);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_open_failure)
{
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(ctx, s, MMDX_AGG_LATEST);
    mmdx_error_t e = {0};
    int rc = mmdx_collect_file(col, "no-such-modality", "x.in", NULL, &e);
    ck_assert_int_lt(rc, 0);
    ck_assert_int_eq(e.code, rc);
    ck_assert_uint_eq(mmdx_collect_n_patients(col), 0);
    ck_assert_uint_eq(mmdx_collect_n_rejects(col), 0);
    mmdx_collect_free(col);
    mmdx_space_free(s);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_real_imaging_file)
{
    const char *b = getenv("MMDX_BUILDDIR");
    char path[1024];
    mmdx_ctx_t *ctx;
    mmdx_space_t *s;
    mmdx_collect_t *col;
    mmdx_cohort_t *c = NULL;
    mmdx_error_t e = {0};
    snprintf(path, sizeof path, "%s/data/demo/generated/train/retina.h5", b ? b : ".");
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "skip: %s not there\n", path);
        return;
    }
    ctx = mmdx_ctx_alloc();
    s = mmdx_space_alloc();
    col = mmdx_collect_alloc(ctx, s, MMDX_AGG_LATEST);
    ck_assert_msg(mmdx_collect_file(col, NULL, path, NULL, &e) == MMDX_OK, "%s", e.message);
    ck_assert_uint_gt(mmdx_collect_n_patients(col), 0);
    ck_assert_uint_gt(mmdx_space_n_features(s), 0);
    ck_assert_int_eq(mmdx_collect_to_cohort(col, &c, &e), MMDX_OK);
    ck_assert_uint_eq(mmdx_cohort_n_patients(c), mmdx_collect_n_patients(col));
    mmdx_cohort_free(c);
    mmdx_collect_free(col);
    mmdx_space_free(s);
    mmdx_ctx_free(ctx);
}
END_TEST

/* The whole sequence with the Nth allocation failing: context, registration, a good and
 * a failing file, the cohort. */
static int op_collect_files(void *data)
{
    mmdx_ctx_t *ctx = NULL;
    mmdx_space_t *s = NULL;
    mmdx_collect_t *col = NULL;
    mmdx_cohort_t *c = NULL;
    mmdx_error_t e = {0};
    int rc = MMDX_ENOMEM;
    (void)data;
    if ((ctx = mmdx_ctx_alloc()) == NULL || (s = mmdx_space_alloc()) == NULL)
        goto done;
    if ((rc = mmdx_plugin_register(ctx, &test_desc, "test", &e)) != MMDX_OK)
        goto done;
    if ((col = mmdx_collect_alloc(ctx, s, MMDX_AGG_MEAN)) == NULL) {
        rc = MMDX_ENOMEM;
        goto done;
    }
    if ((rc = mmdx_collect_file(col, "coretest", "good.in", NULL, &e)) != MMDX_OK)
        goto done;
    mmdx_error_clear(&e);
    rc = mmdx_collect_file(col, "coretest", "bad.in", NULL, &e);
    if (rc != MMDX_EFORMAT)
        goto done; /* ENOMEM (reading or recording the rejects) */
    if ((rc = mmdx_collect_to_cohort(col, &c, NULL)) != MMDX_OK)
        goto done;
    rc = mmdx_cohort_n_patients(c) == 2 && mmdx_collect_n_rejects(col) == 2 ? MMDX_OK : MMDX_EINVAL;
done:
    mmdx_cohort_free(c);
    mmdx_collect_free(col);
    mmdx_space_free(s);
    mmdx_ctx_free(ctx);
    return rc;
}

START_TEST(test_failalloc)
{
    char msg[512];
    long n = failalloc_loop(op_collect_files, NULL, msg, sizeof msg);
    ck_assert_msg(n > 0, "%s", msg);
    fprintf(stderr, "op_collect_files: failed each of %ld allocations in turn\n", n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("collect_file");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_failed_file_discarded_patients_kept);
    tcase_add_test(tc, test_open_failure);
    tcase_add_test(tc, test_real_imaging_file);
    tcase_add_test(tc, test_failalloc);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
