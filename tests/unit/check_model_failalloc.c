/* Check suite: the model entry points that allocate — fit in chunks, merge, save, load
 * from a file and from memory, provenance, per-patient prediction with explanations,
 * batched scoring with two threads, the feature predictive — run with the Nth allocation
 * failing, N = 1, 2, ... until the run succeeds (failalloc.h): every failure must come
 * back as MMDX_ENOMEM, leave no block allocated and leave no file behind. */
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <string.h>

#include <mmdx/mmdx.h>

#include "failalloc.h"

static char dir[512];
static mmdx_space_t *space;
static mmdx_cohort_t *cohort, *half[2];
static char model_path[600];
static char *image;
static size_t image_size;


/* 80 patients, two modalities (img 2 features, lab 2), 15% missing, one binary target;
 * half[0] and half[1] split the same patients in two (for the merge). Built with the
 * plain allocator before the loop. */
static void setup(void)
{
    const char *cls[] = {"0", "1"};
    const char *ids[] = {"img:a:x0", "img:a:x1", "lab:loinc:2345-7", "lab:loinc:2160-0"};
    tu_seed(99);
    tu_mkdtemp(dir, sizeof dir);
    space = mmdx_space_alloc();
    ck_assert_ptr_nonnull(space);
    for (size_t j = 0; j < 4; j++)
        ck_assert_int_eq(mmdx_space_add_feature(space, ids[j], MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL),
                         MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_target(space, "dx", 2, cls, NULL), MMDX_OK);
    cohort = mmdx_cohort_alloc(space, 80);
    half[0] = mmdx_cohort_alloc(space, 40);
    half[1] = mmdx_cohort_alloc(space, 40);
    ck_assert(cohort && half[0] && half[1]);
    for (size_t i = 0; i < 80; i++) {
        char pid[16];
        double eta = -0.3;
        mmdx_cohort_t *h = half[i % 2];
        size_t hi = i / 2;
        snprintf(pid, sizeof pid, "P%03zu", i);
        ck_assert_int_eq(mmdx_cohort_set_id(cohort, i, pid), MMDX_OK);
        ck_assert_int_eq(mmdx_cohort_set_id(h, hi, pid), MMDX_OK);
        for (size_t j = 0; j < 4; j++) {
            double x = 2 * tu_urand() - 1;
            eta += (j % 2 ? 1.0 : -1.2) * x;
            if (tu_urand() >= 0.15) {
                mmdx_cohort_set(cohort, i, j, 5 + x, 0);
                mmdx_cohort_set(h, hi, j, 5 + x, 0);
            }
        }
        int y = tu_urand() < 1 / (1 + exp(-eta));
        mmdx_cohort_set_label(cohort, i, 0, y);
        mmdx_cohort_set_label(h, hi, 0, y);
    }
    /* a fitted model on disk and in memory, for the load and predict loops */
    {
        mmdx_model_t *m = NULL;
        mmdx_error_t err = {0};
        FILE *f;
        long n;
        ck_assert_int_eq(mmdx_model_alloc(NULL, space, NULL, &m, &err), MMDX_OK);
        ck_assert_int_eq(mmdx_model_fit(m, cohort, &err), MMDX_OK);
        tu_path(model_path, sizeof model_path, dir, "model.h5");
        ck_assert_msg(mmdx_model_save(m, model_path, &err) == MMDX_OK, "%s", err.message);
        mmdx_model_free(m);
        f = fopen(model_path, "rb");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        ck_assert(n > 0);
        image_size = (size_t)n;
        image = malloc(image_size);
        ck_assert_ptr_nonnull(image);
        rewind(f);
        ck_assert_uint_eq(fread(image, 1, image_size, f), image_size);
        fclose(f);
    }
    failalloc_install();
}

static void teardown(void)
{
    free(image);
    image = NULL;
    mmdx_cohort_free(half[0]);
    mmdx_cohort_free(half[1]);
    mmdx_cohort_free(cohort);
    mmdx_space_free(space);
    tu_rmdir(dir);
}

#define TRY(expr)                                                                       \
    do {                                                                                \
        int rc_ = (expr);                                                               \
        if (rc_ != MMDX_OK) {                                                           \
            rc = rc_;                                                                   \
            goto done;                                                                  \
        }                                                                               \
    } while (0)

/* Federated-style passes: two sites accumulate their halves, the aggregates are merged
 * and the merged model steps; the other site follows the coordinator through a model
 * file; two passes (moments, feature covariances). Then a whole fit of the pooled cohort,
 * provenance and save. */
static int op_fit_merge_save(void *data)
{
    mmdx_model_t *a = NULL, *b = NULL, *m = NULL;
    mmdx_error_t e = {0};
    char out[600];
    int rc = MMDX_OK, more;
    (void)data;
    tu_path(out, sizeof out, dir, "merged.h5");
    TRY(mmdx_model_alloc(NULL, space, NULL, &a, &e));
    TRY(mmdx_model_alloc(NULL, space, NULL, &b, &e));
    for (int pass = 0; pass < 2; pass++) {
        TRY(mmdx_model_accumulate(a, half[0], &e));
        TRY(mmdx_model_accumulate(b, half[1], &e));
        TRY(mmdx_model_merge(a, b, &e));
        if ((more = mmdx_model_step(a, &e)) < 0) {
            rc = more;
            goto done;
        }
        mmdx_model_free(b);
        b = NULL;
        TRY(mmdx_model_save(a, out, &e));
        TRY(mmdx_model_load(NULL, out, &b, &e));
        mmdx_model_clear_aggregates(b);
    }
    TRY(mmdx_model_alloc(NULL, space, NULL, &m, &e));
    TRY(mmdx_model_fit(m, cohort, &e));
    TRY(mmdx_model_add_provenance(m, "check_model_failalloc: pooled"));
    TRY(mmdx_model_save(m, out, &e));
done:
    if (rc != MMDX_OK && e.code != MMDX_OK && e.code != rc)
        rc = MMDX_EINVAL; /* status and error struct disagree */
    if (rc != MMDX_OK && rc != MMDX_ENOMEM)
        fprintf(stderr, "op_fit_merge_save: %d: %s: %s: %s\n", rc, e.file, e.object, e.message);
    mmdx_model_free(a);
    mmdx_model_free(b);
    mmdx_model_free(m);
    unlink(out);
    /* nothing but the fitted model.h5 stays in the directory (no temporary) */
    if (rc != MMDX_OK && tu_count_entries(dir) > 1)
        rc = MMDX_EIO;
    return rc;
}

/* Load from the file and from memory, then predict with explanations, score in a batch
 * with two threads and draw a feature's predictive distribution. */
static int op_load_predict(void *data)
{
    mmdx_model_t *m = NULL, *mm = NULL;
    mmdx_pred_t *p = NULL;
    mmdx_ctx_t *ctx = NULL;
    mmdx_error_t e = {0};
    double prob[160], mean, sd;
    int rc = MMDX_OK, log_scale;
    (void)data;
    TRY(mmdx_model_load(NULL, model_path, &m, &e));
    TRY(mmdx_model_load_memory(NULL, image, image_size, "model.h5", &mm, &e));
    if ((p = mmdx_pred_alloc()) == NULL) {
        rc = MMDX_ENOMEM;
        goto done;
    }
    TRY(mmdx_model_predict(mm, cohort, 7, 0, p, &e));
    if ((ctx = mmdx_ctx_alloc()) == NULL) {
        rc = MMDX_ENOMEM;
        goto done;
    }
    mmdx_ctx_set_threads(ctx, 2);
    mmdx_model_free(m);
    m = NULL;
    TRY(mmdx_model_load(ctx, model_path, &m, &e));
    TRY(mmdx_model_predict_probs(m, cohort, 0, prob, NULL, NULL, &e));
    TRY(mmdx_model_feature_predictive(m, cohort, 3, 1, &mean, &sd, &log_scale, &e));
done:
    if (rc != MMDX_OK && e.code != MMDX_OK && e.code != rc)
        rc = MMDX_EINVAL;
    if (rc != MMDX_OK && rc != MMDX_ENOMEM)
        fprintf(stderr, "op_load_predict: %d: %s: %s: %s\n", rc, e.file, e.object, e.message);
    mmdx_pred_free(p);
    mmdx_model_free(mm);
    mmdx_model_free(m);
    mmdx_ctx_free(ctx);
    return rc;
}

/* A fit with two threads of a cohort of five blocks of rows (big, built before the loop):
 * allocations fail in the workers too (their buffers and each block's labels). */
static mmdx_cohort_t *big;
static int op_fit_threads(void *data)
{
    mmdx_model_t *m = NULL;
    mmdx_ctx_t *ctx = NULL;
    mmdx_error_t e = {0};
    int rc = MMDX_OK;
    (void)data;
    if ((ctx = mmdx_ctx_alloc()) == NULL) {
        rc = MMDX_ENOMEM;
        goto done;
    }
    mmdx_ctx_set_threads(ctx, 2);
    TRY(mmdx_model_alloc(ctx, space, NULL, &m, &e));
    TRY(mmdx_model_fit(m, big, &e));
done:
    if (rc != MMDX_OK && e.code != MMDX_OK && e.code != rc)
        rc = MMDX_EINVAL;
    if (rc != MMDX_OK && rc != MMDX_ENOMEM)
        fprintf(stderr, "op_fit_threads: %d: %s: %s: %s\n", rc, e.file, e.object, e.message);
    mmdx_model_free(m);
    mmdx_ctx_free(ctx);
    return rc;
}

#define LOOP(fn)                                                                        \
    do {                                                                                \
        char msg_[512];                                                                 \
        long n_ = failalloc_loop(fn, NULL, msg_, sizeof msg_);                          \
        ck_assert_msg(n_ > 0, "%s: %s", #fn, msg_);                                     \
        fprintf(stderr, "%s: failed each of %ld allocations in turn\n", #fn, n_);      \
    } while (0)

START_TEST(test_fit_merge_save)
{
    LOOP(op_fit_merge_save);
}
END_TEST

START_TEST(test_fit_threads)
{
    const size_t n = 4200;
    big = mmdx_cohort_alloc(space, n);
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < n; i++) {
        char pid[16];
        double eta = 0.2;
        snprintf(pid, sizeof pid, "Q%05zu", i);
        ck_assert_int_eq(mmdx_cohort_set_id(big, i, pid), MMDX_OK);
        for (size_t j = 0; j < 4; j++) {
            double x = 2 * tu_urand() - 1;
            eta += (j % 2 ? 1.0 : -1.2) * x;
            if (tu_urand() >= 0.15)
                mmdx_cohort_set(big, i, j, 5 + x, 0);
        }
        mmdx_cohort_set_label(big, i, 0, tu_urand() < 1 / (1 + exp(-eta)));
    }
    LOOP(op_fit_threads);
    mmdx_cohort_free(big);
    big = NULL;
}
END_TEST

START_TEST(test_load_predict)
{
    LOOP(op_load_predict);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_failalloc");
    TCase *tc = tcase_create("model");
    SRunner *sr;
    int failed;
    mmdx_init();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_fit_merge_save);
    tcase_add_test(tc, test_load_predict);
    tcase_add_test(tc, test_fit_threads);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
