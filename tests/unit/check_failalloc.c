/* Check suite: every allocating public entry point of the core run with the Nth
 * allocation failing, N = 1, 2, ... until it succeeds (failalloc.h). Each failure must
 * come back as MMDX_ENOMEM and leave nothing allocated. */
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <string.h>

#include <mmdx/mmdx.h>

#include "collect_internal.h"
#include "failalloc.h"

static char dir[512];

static void setup(void)
{
    tu_mkdtemp(dir, sizeof dir);
    failalloc_install();
}

static void teardown(void)
{
    tu_rmdir(dir);
}

#define LOOP(fn, data)                                                                  \
    do {                                                                                \
        char msg_[512];                                                                 \
        long n_ = failalloc_loop(fn, data, msg_, sizeof msg_);                          \
        ck_assert_msg(n_ > 0, "%s: %s", #fn, msg_);                                     \
        fprintf(stderr, "%s: failed each of %ld allocations in turn\n", #fn, n_);      \
    } while (0)

#define TRY(expr)                                                                       \
    do {                                                                                \
        int rc_ = (expr);                                                               \
        if (rc_ != MMDX_OK) {                                                           \
            rc = rc_;                                                                   \
            goto done;                                                                  \
        }                                                                               \
    } while (0)

#define NEW(var, expr)                                                                  \
    do {                                                                                \
        if (((var) = (expr)) == NULL) {                                                 \
            rc = MMDX_ENOMEM;                                                           \
            goto done;                                                                  \
        }                                                                               \
    } while (0)

static int op_ctx(void *data)
{
    int rc = MMDX_OK;
    mmdx_ctx_t *ctx = NULL;
    char *s = NULL;
    (void)data;
    NEW(ctx, mmdx_ctx_alloc());
    TRY(mmdx_ctx_set_data_dir(ctx, "/data/dir"));
    NEW(s, mmdx_strdup("text"));
done:
    mmdx_free(s);
    mmdx_ctx_free(ctx);
    return rc;
}

static int build_space(mmdx_space_t **out)
{
    const char *bin[] = {"0", "1"}, *three[] = {"a", "b", "c"};
    mmdx_space_t *s = mmdx_space_alloc();
    size_t cat;
    int rc = MMDX_OK;
    char id[32];
    if (s == NULL)
        return MMDX_ENOMEM;
    for (int i = 0; i < 40; i++) { /* enough to grow the arrays and the hash map */
        snprintf(id, sizeof id, "lab:loinc:%d", i);
        TRY(mmdx_space_add_feature(s, id, MMDX_KIND_CONTINUOUS, i % 2 ? "mg/dL" : NULL, MMDX_TRANSFORM_NONE, NULL));
    }
    TRY(mmdx_space_add_feature(s, "demo:sex", MMDX_KIND_CATEGORICAL, NULL, MMDX_TRANSFORM_NONE, &cat));
    TRY(mmdx_space_add_level(s, cat, "female", NULL));
    TRY(mmdx_space_add_level(s, cat, "male", NULL));
    TRY(mmdx_space_add_target(s, "t2d", 2, bin, NULL));
    TRY(mmdx_space_add_target(s, "ckd", 3, three, NULL));
done:
    if (rc != MMDX_OK) {
        mmdx_space_free(s);
        return rc;
    }
    *out = s;
    return MMDX_OK;
}

static int op_space(void *data)
{
    mmdx_space_t *s = NULL, *c = NULL;
    int rc = MMDX_OK;
    (void)data;
    TRY(build_space(&s));
    NEW(c, mmdx_space_clone(s));
    if (!mmdx_space_equal(s, c))
        rc = MMDX_EINVAL;
done:
    mmdx_space_free(c);
    mmdx_space_free(s);
    return rc;
}

static int build_cohort(mmdx_space_t *s, size_t n, mmdx_cohort_t **out)
{
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, n);
    char id[32];
    int rc = MMDX_OK;
    if (c == NULL)
        return MMDX_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof id, "P%zu", i);
        TRY(mmdx_cohort_set_id(c, i, id));
        mmdx_cohort_set(c, i, i % mmdx_cohort_n_features(c), (double)i, 0);
        mmdx_cohort_set_label(c, i, 0, (int)(i % 2));
    }
done:
    if (rc != MMDX_OK) {
        mmdx_cohort_free(c);
        return rc;
    }
    *out = c;
    return MMDX_OK;
}

static int op_cohort(void *data)
{
    mmdx_space_t *s = NULL;
    mmdx_cohort_t *c = NULL, *sl = NULL, *se = NULL;
    size_t rows[] = {3, 1, 2};
    int rc = MMDX_OK;
    (void)data;
    TRY(build_space(&s));
    TRY(build_cohort(s, 20, &c));
    if (mmdx_cohort_find(c, "P7") != 7) /* a failed map build falls back to a scan */
        rc = MMDX_EINVAL;
    NEW(sl, mmdx_cohort_slice(c, 5, 10));
    NEW(se, mmdx_cohort_select(c, rows, 3));
done:
    mmdx_cohort_free(se);
    mmdx_cohort_free(sl);
    mmdx_cohort_free(c);
    mmdx_space_free(s);
    return rc;
}

static char labels_path[600];

static int op_labels(void *data)
{
    mmdx_space_t *s = NULL;
    mmdx_labels_t *l = NULL;
    mmdx_cohort_t *c = NULL;
    mmdx_error_t e = {0};
    size_t unknown;
    int rc = MMDX_OK;
    (void)data;
    NEW(s, mmdx_space_alloc());
    TRY(mmdx_labels_read(NULL, labels_path, s, &l, &e));
    NEW(c, mmdx_cohort_alloc(s, 2));
    TRY(mmdx_cohort_set_id(c, 0, "P2"));
    TRY(mmdx_cohort_set_id(c, 1, "P1"));
    TRY(mmdx_labels_apply(l, c, 0, &unknown, NULL));
    if (mmdx_cohort_label(c, 1, 0) != 1)
        rc = MMDX_EINVAL;
done:
    if (rc == MMDX_ENOMEM && e.code != MMDX_OK && e.code != MMDX_ENOMEM)
        rc = e.code; /* the error struct must agree with the status */
    mmdx_cohort_free(c);
    mmdx_labels_free(l);
    mmdx_space_free(s);
    return rc;
}

static int op_outfile(void *data)
{
    mmdx_outfile_t *f = NULL;
    char path[600];
    int rc = MMDX_OK;
    (void)data;
    TRY(mmdx_outfile_open(tu_path(path, sizeof path, dir, "out.txt"), &f, NULL));
    fputs("x\n", mmdx_outfile_stream(f));
    rc = mmdx_outfile_commit(f, NULL);
    f = NULL;
done:
    mmdx_outfile_abort(f);
    return rc;
}

static int op_cohort_file(void *data)
{
    mmdx_space_t *s = NULL;
    mmdx_cohort_t *c = NULL, *back = NULL, *chunk = NULL;
    mmdx_cohort_reader_t *r = NULL;
    mmdx_error_t e = {0};
    char path[600] = "";
    int rc = MMDX_OK, k;
    (void)data;
    TRY(build_space(&s));
    TRY(build_cohort(s, 30, &c));
    tu_path(path, sizeof path, dir, "c.h5");
    TRY(mmdx_cohort_save(NULL, c, path, &e));
    TRY(mmdx_cohort_reader_open(NULL, path, &r, &e));
    while ((k = mmdx_cohort_reader_next(r, 7, &chunk, &e)) == 1) {
        mmdx_cohort_free(chunk);
        chunk = NULL;
    }
    TRY(k);
    mmdx_cohort_reader_close(r);
    r = NULL;
    /* the same file as an in-memory image (the reader copies it; the test's buffer is
     * libc's, outside the counted allocations) */
    {
        FILE *fp = fopen(path, "rb");
        long size = fp && fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
        char *img = size > 0 ? malloc((size_t)size) : NULL;
        size_t n = img && fseek(fp, 0, SEEK_SET) == 0 ? fread(img, 1, (size_t)size, fp) : 0;
        if (fp)
            fclose(fp);
        if (n == 0 || n != (size_t)size) {
            free(img);
            rc = MMDX_EIO;
            goto done;
        }
        k = mmdx_cohort_reader_open_memory(NULL, img, n, "c.h5", &r, &e);
        free(img);
        TRY(k);
        while ((k = mmdx_cohort_reader_next(r, 7, &chunk, &e)) == 1) {
            mmdx_cohort_free(chunk);
            chunk = NULL;
        }
        TRY(k);
    }
    TRY(mmdx_cohort_load(NULL, path, &back, &e));
    if (mmdx_cohort_n_patients(back) != 30)
        rc = MMDX_EINVAL;
done:
    if (rc != MMDX_OK && e.code != MMDX_OK && e.code != rc)
        rc = MMDX_EINVAL; /* status and error struct disagree */
    if (rc != MMDX_OK && rc != MMDX_ENOMEM)
        fprintf(stderr, "op_cohort_file: %s: %s\n", e.file, e.message);
    mmdx_cohort_reader_close(r);
    mmdx_cohort_free(back);
    mmdx_cohort_free(c);
    mmdx_space_free(s);
    /* a failed save leaves no file behind */
    if (rc != MMDX_OK && tu_count_entries(dir) > 1) {
        fprintf(stderr, "op_cohort_file: status %d left %d entries in %s\n", rc, tu_count_entries(dir), dir);
        if (getenv("FA_KEEP")) { char cmd[700]; snprintf(cmd, sizeof cmd, "ls -la %s >&2", dir); if (system(cmd)) {} }
        rc = MMDX_EIO;
    }
    if (path[0])
        unlink(path);
    return rc;
}

static int op_collect(void *data)
{
    mmdx_space_t *s = NULL;
    mmdx_collect_t *col = NULL;
    mmdx_cohort_t *c = NULL;
    const mmdx_sink_t *sink;
    const char *patients[] = {"A", "B"}, *features[] = {"img:ct:x", "img:ct:y"};
    const double values[] = {1, 2, 3, NAN};
    mmdx_block_t b = {2, 2, patients, features, NULL, values, "ct.h5"};
    mmdx_obs_t o;
    char id[32];
    int rc = MMDX_OK;
    (void)data;
    NEW(s, mmdx_space_alloc());
    NEW(col, mmdx_collect_alloc(NULL, s, MMDX_AGG_LATEST));
    sink = mmdx_collect_sink(col);
    memset(&o, 0, sizeof o);
    o.kind = MMDX_OBS_CONTINUOUS;
    o.time = MMDX_TIME_UNKNOWN;
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof id, "P%d", i % 70);
        o.patient = id;
        o.feature = i % 3 ? "lab:x:1" : "lab:x:2";
        o.value = i;
        TRY(sink->obs(sink->data, &o));
    }
    o.kind = MMDX_OBS_CATEGORICAL;
    o.feature = "demo:sex";
    o.level = "female";
    TRY(sink->obs(sink->data, &o));
    TRY(sink->block(sink->data, &b));
    TRY(sink->patient(sink->data, "Q"));
    TRY(sink->reject(sink->data, "R", "f.xml", 3, MMDX_EFORMAT, "bad"));
    mmdx_collect_stage_begin(col);
    o.kind = MMDX_OBS_CONTINUOUS;
    o.patient = "P1";
    o.feature = "lab:x:1";
    TRY(sink->obs(sink->data, &o));
    o.patient = "S";
    o.feature = "lab:x:3";
    TRY(sink->obs(sink->data, &o));
    TRY(mmdx_collect_stage_rollback(col, "bad.xml", MMDX_EFORMAT, "broken"));
    TRY(mmdx_collect_to_cohort(col, &c, NULL));
    if (mmdx_cohort_n_patients(c) != 75 || mmdx_collect_n_rejects(col) != 3)
        rc = MMDX_EINVAL;
done:
    mmdx_cohort_free(c);
    mmdx_collect_free(col);
    mmdx_space_free(s);
    return rc;
}

START_TEST(test_ctx)
{
    LOOP(op_ctx, NULL);
}
END_TEST

START_TEST(test_space)
{
    LOOP(op_space, NULL);
}
END_TEST

START_TEST(test_cohort)
{
    LOOP(op_cohort, NULL);
}
END_TEST

START_TEST(test_labels)
{
    tu_path(labels_path, sizeof labels_path, dir, "labels.tsv");
    tu_write(labels_path, "\xEF\xBB\xBFpatient_id\tt2d\tstage\r\nP1\t1\tII\r\nP2\t0\tI\r\nP3\tNA\tIII\r\n");
    LOOP(op_labels, NULL);
}
END_TEST

START_TEST(test_outfile)
{
    LOOP(op_outfile, NULL);
}
END_TEST

START_TEST(test_cohort_file)
{
    LOOP(op_cohort_file, NULL);
}
END_TEST

START_TEST(test_collect)
{
    LOOP(op_collect, NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("failalloc");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    mmdx_init();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_ctx);
    tcase_add_test(tc, test_space);
    tcase_add_test(tc, test_cohort);
    tcase_add_test(tc, test_labels);
    tcase_add_test(tc, test_outfile);
    tcase_add_test(tc, test_cohort_file);
    tcase_add_test(tc, test_collect);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
