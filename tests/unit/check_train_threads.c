/* Check suite: training with the context's threads. The passes share their blocks of rows
 * between threads and add the blocks' sums in block order, so a model fitted with 1, 2
 * or 3 threads (in memory, or chunk by chunk) must be the same to the byte: its saved
 * file and its predictions. */
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <string.h>

#include <mmdx/mmdx.h>
#include "model_internal.h" /* fz_train_set_cache_budget(), fz_train_last_kept() */

static char dir[512];

/* DI imaging features (over FZ_CHORD_MIN_D coefficients: the chord Newton path) and DL lab features,
 * 15% of the values missing, 5% of the patients without any imaging; a 3-class target
 * (three binary models), 2% unlabelled. */
enum { DI = 40, DL = 3 };

static mmdx_space_t *make_space(void)
{
    mmdx_space_t *s = mmdx_space_alloc();
    ck_assert_ptr_nonnull(s);
    for (size_t j = 0; j < DI + DL; j++) {
        char id[48];
        if (j < DI)
            snprintf(id, sizeof id, "img:t:f%zu", j);
        else
            snprintf(id, sizeof id, "lab:loinc:%zu-1", j);
        ck_assert_int_eq(mmdx_space_add_feature(s, id, MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL),
                         MMDX_OK);
    }
    const char *cls[] = {"a", "b", "c"};
    ck_assert_int_eq(mmdx_space_add_target(s, "dx", 3, cls, NULL), MMDX_OK);
    return s;
}

static mmdx_cohort_t *make_cohort(mmdx_space_t *s, size_t n, size_t id0, uint64_t seed)
{
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, n);
    ck_assert_ptr_nonnull(c);
    tu_seed(seed); /* per cohort: the cohorts must not depend on test order */
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "T%zu", id0 + i);
        ck_assert_int_eq(mmdx_cohort_set_id(c, i, id), MMDX_OK);
        double f = tu_nrand(), e1 = -0.2, e2 = 0.1;
        int noimg = tu_urand() < 0.05;
        for (size_t j = 0; j < DI + DL; j++) {
            double x = 0.6 * f + 0.8 * tu_nrand();
            e1 += (j % 3 == 0 ? 0.5 : -0.15) * x / 2.5;
            e2 += (j % 4 == 1 ? -0.4 : 0.1) * x / 2.5;
            if ((j < DI && noimg) || tu_urand() < 0.15)
                continue;
            /* the labs positive and skewed (their log is modelled) */
            mmdx_cohort_set(c, i, j, j < DI ? x : exp(x), 0);
        }
        double u = tu_urand(), p1 = 1 / (1 + exp(-e1)), p2 = (1 - p1) / (1 + exp(-e2));
        if (tu_urand() >= 0.02)
            mmdx_cohort_set_label(c, i, 0, u < p1 ? 0 : u < p1 + p2 ? 1 : 2);
    }
    return c;
}

/* The model's file, read back into memory. */
static unsigned char *saved(const mmdx_model_t *m, const char *name, size_t *size)
{
    char path[600];
    mmdx_error_t err;
    mmdx_error_clear(&err);
    tu_path(path, sizeof path, dir, name);
    ck_assert_msg(mmdx_model_save(m, path, &err) == MMDX_OK, "%s", err.message);
    unsigned char *b = tu_slurp(path, size);
    unlink(path);
    return b;
}

/* Predicted probabilities and interval ends of every class, with one thread. */
static double *predictions(const mmdx_model_t *m, const mmdx_cohort_t *c)
{
    size_t n = mmdx_cohort_n_patients(c);
    double *p = malloc(9 * n * sizeof(double));
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(mmdx_model_predict_probs(m, c, 0, p, p + 3 * n, p + 6 * n, &err), MMDX_OK);
    for (size_t i = 0; i < 3 * n; i++)
        ck_assert(isfinite(p[i]) && p[i] > 0 && p[i] < 1);
    return p;
}

static void setup(void)
{
    tu_mkdtemp(dir, sizeof dir);
}

static void teardown(void)
{
    tu_rmdir(dir);
}

/* Runs 1..R-1 (model files of size[r] bytes, np predictions each) equal run 0 to the
 * byte; frees them all. @p what names the runs in a failure. */
static void same_as_first(int R, unsigned char **file, const size_t *size, double **p, size_t np, const char *what)
{
    for (int r = 1; r < R; r++) {
        ck_assert_uint_eq(size[r], size[0]);
        ck_assert_msg(memcmp(file[r], file[0], size[0]) == 0, "model file of %s run %d differs", what, r);
        ck_assert_msg(memcmp(p[r], p[0], np * sizeof(double)) == 0, "predictions of %s run %d differ", what, r);
    }
    for (int r = 0; r < R; r++) {
        free(file[r]);
        free(p[r]);
    }
}

/* mmdx_model_fit() of 10000 patients (8 blocks of 1250 rows: three threads get unequal
 * shares) with 1, 2 and 3 threads: the same model file, the same predictions. */
START_TEST(test_fit_threads)
{
    const size_t n = 10000;
    mmdx_space_t *s = make_space();
    mmdx_cohort_t *c = make_cohort(s, n, 0, 7);
    unsigned char *file[3];
    size_t size[3];
    double *p[3];
    unsigned passes[3];
    for (int t = 0; t < 3; t++) {
        mmdx_ctx_t *ctx = mmdx_ctx_alloc();
        mmdx_model_t *m = NULL;
        mmdx_error_t err;
        mmdx_error_clear(&err);
        ck_assert_ptr_nonnull(ctx);
        mmdx_ctx_set_threads(ctx, t + 1);
        ck_assert_int_eq(mmdx_model_alloc(ctx, s, NULL, &m, &err), MMDX_OK);
        ck_assert_msg(mmdx_model_fit(m, c, &err) == 0, "%d threads: %s", t + 1, err.message);
        passes[t] = mmdx_model_pass(m);
        file[t] = saved(m, "m.h5", &size[t]);
        mmdx_ctx_set_threads(ctx, 1);
        p[t] = predictions(m, c);
        mmdx_model_free(m);
        mmdx_ctx_free(ctx);
    }
    ck_assert_uint_gt(passes[0], 8); /* Newton passes with chord steps happened */
    for (int t = 1; t < 3; t++) {
        ck_assert_uint_eq(passes[t], passes[0]);
    }
    same_as_first(3, file, size, p, 9 * n, "threads (run r: r + 1 threads)");
    mmdx_cohort_free(c);
    mmdx_space_free(s);
}
END_TEST

/* mmdx_model_fit() over the memory budget for the imputed designs: keeping only the
 * imputed values (all of them, some blocks' with 1 and 2 threads, none) gives the same
 * model file and predictions as keeping the designs. */
START_TEST(test_fit_cache_budget)
{
    const size_t n = 10000;
    mmdx_space_t *s = make_space();
    mmdx_cohort_t *c = make_cohort(s, n, 0, 11);
    /* the designs and indicators are about 4 MB; the imputed values about 0.5 MB */
    const size_t budget[5] = {0, (size_t)2 << 20, (size_t)200 << 10, (size_t)200 << 10, 1};
    const int threads[5] = {1, 1, 1, 2, 1};
    unsigned char *file[5];
    size_t size[5], kept[5];
    double *p[5];
    for (int r = 0; r < 5; r++) {
        mmdx_ctx_t *ctx = mmdx_ctx_alloc();
        mmdx_model_t *m = NULL;
        mmdx_error_t err;
        mmdx_error_clear(&err);
        ck_assert_ptr_nonnull(ctx);
        mmdx_ctx_set_threads(ctx, threads[r]);
        fz_train_set_cache_budget(budget[r]);
        ck_assert_int_eq(mmdx_model_alloc(ctx, s, NULL, &m, &err), MMDX_OK);
        ck_assert_msg(mmdx_model_fit(m, c, &err) == 0, "budget %zu: %s", budget[r], err.message);
        kept[r] = fz_train_last_kept();
        fz_train_set_cache_budget(0);
        file[r] = saved(m, "m.h5", &size[r]);
        mmdx_ctx_set_threads(ctx, 1);
        p[r] = predictions(m, c);
        mmdx_model_free(m);
        mmdx_ctx_free(ctx);
    }
    ck_assert_uint_eq(kept[0], 0);               /* the designs were kept */
    ck_assert_uint_gt(kept[1], (size_t)100 << 10); /* every block's imputed values */
    ck_assert_uint_lt(kept[1], (size_t)1 << 20);
    ck_assert_uint_gt(kept[2], 0);               /* some blocks' */
    ck_assert_uint_lt(kept[2], kept[1]);
    ck_assert_uint_le(kept[3], (size_t)200 << 10);
    ck_assert_uint_eq(kept[4], 0);               /* none: recomputed each pass */
    same_as_first(5, file, size, p, 9 * n, "budget (runs: budget[r], threads[r])");
    mmdx_cohort_free(c);
    mmdx_space_free(s);
}
END_TEST

/* The streaming path: mmdx_model_accumulate() of chunks of 6000 and 3000 patients, then
 * mmdx_model_step(), with 1 and 2 threads: the same model file; and as mmdx_model_fit()
 * of the pooled cohort to rounding. */
START_TEST(test_accumulate_threads)
{
    mmdx_space_t *s = make_space();
    mmdx_cohort_t *part[2] = {make_cohort(s, 6000, 0, 11), make_cohort(s, 3000, 6000, 13)};
    unsigned char *file[2];
    size_t size[2];
    double *p[2];
    for (int t = 0; t < 2; t++) {
        mmdx_ctx_t *ctx = mmdx_ctx_alloc();
        mmdx_model_t *m = NULL;
        mmdx_error_t err;
        mmdx_error_clear(&err);
        ck_assert_ptr_nonnull(ctx);
        mmdx_ctx_set_threads(ctx, t + 1);
        ck_assert_int_eq(mmdx_model_alloc(ctx, s, NULL, &m, &err), MMDX_OK);
        int rc;
        do {
            for (int k = 0; k < 2; k++)
                ck_assert_msg(mmdx_model_accumulate(m, part[k], &err) == MMDX_OK, "%s", err.message);
            rc = mmdx_model_step(m, &err);
            ck_assert_msg(rc >= 0, "%s", err.message);
        } while (rc == 1);
        file[t] = saved(m, "s.h5", &size[t]);
        mmdx_ctx_set_threads(ctx, 1);
        p[t] = predictions(m, part[1]);
        mmdx_model_free(m);
        mmdx_ctx_free(ctx);
    }
    same_as_first(2, file, size, p, 9 * 3000, "accumulate threads (run r: r + 1 threads)");
    mmdx_cohort_free(part[0]);
    mmdx_cohort_free(part[1]);
    mmdx_space_free(s);
}
END_TEST

/* The moments pass shares the columns between threads: with infinite values in two
 * columns, every thread count names the first of them. */
START_TEST(test_moments_error_threads)
{
    mmdx_space_t *s = make_space();
    mmdx_cohort_t *c = make_cohort(s, 300, 0, 17);
    mmdx_cohort_set(c, 250, 7, HUGE_VAL, 0);
    mmdx_cohort_set(c, 20, 30, -HUGE_VAL, 0);
    for (int t = 1; t <= 3; t++) {
        mmdx_ctx_t *ctx = mmdx_ctx_alloc();
        mmdx_model_t *m = NULL;
        mmdx_error_t err;
        mmdx_error_clear(&err);
        ck_assert_ptr_nonnull(ctx);
        mmdx_ctx_set_threads(ctx, t);
        ck_assert_int_eq(mmdx_model_alloc(ctx, s, NULL, &m, &err), MMDX_OK);
        ck_assert_int_eq(mmdx_model_fit(m, c, &err), MMDX_ERANGE);
        ck_assert_str_eq(err.object, "img:t:f7");
        ck_assert_msg(strstr(err.message, "row 251") != NULL, "%s", err.message);
        mmdx_model_free(m);
        mmdx_ctx_free(ctx);
    }
    mmdx_cohort_free(c);
    mmdx_space_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train_threads");
    TCase *tc = tcase_create("train");
    SRunner *sr;
    int failed;
    mmdx_init();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_fit_threads);
    tcase_add_test(tc, test_fit_cache_budget);
    tcase_add_test(tc, test_accumulate_threads);
    tcase_add_test(tc, test_moments_error_threads);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
