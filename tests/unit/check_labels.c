/* Check suite: the labels TSV reader and applying labels to a cohort. */
#include "testutil.h"

#include <check.h>
#include <string.h>

#include <mmdx/mmdx.h>


static char dir[512];

static void setup(void)
{
    tu_mkdtemp(dir, sizeof dir);
}

static void teardown(void)
{
    tu_rmdir(dir);
}

/* Read @p text as a labels file into @p s; status, labels in *out (may be NULL). */
static int read_text(const char *text, mmdx_space_t *s, mmdx_labels_t **out, mmdx_error_t *err)
{
    char path[600];
    mmdx_labels_t *l = NULL;
    int rc;
    tu_write(tu_path(path, sizeof path, dir, "labels.tsv"), text);
    rc = mmdx_labels_read(NULL, path, s, &l, err);
    if (out)
        *out = l;
    else
        mmdx_labels_free(l);
    return rc;
}

START_TEST(test_basic)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_labels_t *l = NULL;
    mmdx_error_t e = {0};
    long t2d, stage;
    ck_assert_int_eq(read_text("patient_id\tt2d\tstage\nP1\t1\tII\nP2\tNA\tI\nP3\t0\t\nP4\t1\tIII\n\n", s, &l, &e),
                     MMDX_OK);
    ck_assert_uint_eq(mmdx_labels_n_patients(l), 4);
    ck_assert_str_eq(mmdx_labels_patient(l, 2), "P3");
    t2d = mmdx_space_find_target(s, "t2d");
    stage = mmdx_space_find_target(s, "stage");
    ck_assert_int_ge(t2d, 0);
    ck_assert_int_ge(stage, 0);
    /* binary targets are 0/1; others are the sorted distinct values */
    ck_assert_uint_eq(mmdx_space_n_classes(s, (size_t)t2d), 2);
    ck_assert_str_eq(mmdx_space_class_name(s, (size_t)t2d, 0), "0");
    ck_assert_uint_eq(mmdx_space_n_classes(s, (size_t)stage), 3);
    ck_assert_str_eq(mmdx_space_class_name(s, (size_t)stage, 0), "I");
    ck_assert_str_eq(mmdx_space_class_name(s, (size_t)stage, 2), "III");
    ck_assert_int_eq(mmdx_labels_class(l, 0, (size_t)t2d), 1);
    ck_assert_int_eq(mmdx_labels_class(l, 1, (size_t)t2d), -1); /* NA */
    ck_assert_int_eq(mmdx_labels_class(l, 2, (size_t)t2d), 0);
    ck_assert_int_eq(mmdx_labels_class(l, 2, (size_t)stage), -1); /* empty */
    ck_assert_int_eq(mmdx_labels_class(l, 3, (size_t)stage), 2);
    ck_assert_int_eq(mmdx_labels_class(l, 9, 0), -1);
    mmdx_labels_free(l);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_binary_all_one_value)
{
    mmdx_space_t *s = mmdx_space_alloc();
    /* only ones seen: still a binary target with classes 0 and 1 */
    ck_assert_int_eq(read_text("patient_id\tx\na\t1\nb\t1\n", s, NULL, NULL), MMDX_OK);
    ck_assert_uint_eq(mmdx_space_n_classes(s, 0), 2);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_numeric_classes_sorted_numerically)
{
    mmdx_space_t *s = mmdx_space_alloc();
    ck_assert_int_eq(read_text("patient_id\tgrade\na\t10\nb\t2\nc\t3\n", s, NULL, NULL), MMDX_OK);
    ck_assert_str_eq(mmdx_space_class_name(s, 0, 0), "2");
    ck_assert_str_eq(mmdx_space_class_name(s, 0, 1), "3");
    ck_assert_str_eq(mmdx_space_class_name(s, 0, 2), "10");
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_bom_crlf)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_labels_t *l = NULL;
    ck_assert_int_eq(read_text("\xEF\xBB\xBFpatient_id\tx\r\nA\tyes\r\nB\tno\r\n", s, &l, NULL), MMDX_OK);
    ck_assert_str_eq(mmdx_space_target_name(s, 0), "x");
    ck_assert_str_eq(mmdx_labels_patient(l, 1), "B");
    ck_assert_uint_eq(mmdx_space_n_classes(s, 0), 2);
    ck_assert_str_eq(mmdx_space_class_name(s, 0, 0), "no"); /* no '\r' left in a class name */
    ck_assert_int_eq(mmdx_labels_class(l, 0, 0), 1);
    mmdx_labels_free(l);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_ragged)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_error_t e = {0};
    ck_assert_int_eq(read_text("patient_id\ta\tb\nP1\t1\t0\nP2\t1\n", s, NULL, &e), MMDX_EFORMAT);
    ck_assert_int_eq(e.line, 3);
    ck_assert_ptr_nonnull(strstr(e.message, "ragged"));
    ck_assert_str_eq(e.object, "column 3");
    ck_assert_ptr_nonnull(strstr(e.file, "labels.tsv"));
    /* nothing was added to the space */
    ck_assert_uint_eq(mmdx_space_n_targets(s), 0);
    mmdx_error_clear(&e);
    ck_assert_int_eq(read_text("patient_id\ta\nP1\t1\t0\n", s, NULL, &e), MMDX_EFORMAT);
    ck_assert_int_eq(e.line, 2);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_duplicate_patient)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_error_t e = {0};
    ck_assert_int_eq(read_text("patient_id\ta\nP1\t1\nP2\t0\nP1\t0\n", s, NULL, &e), MMDX_EDUP);
    ck_assert_int_eq(e.line, 4);
    ck_assert_str_eq(e.object, "column 1");
    ck_assert_ptr_nonnull(strstr(e.message, "line 2"));
    ck_assert_uint_eq(mmdx_space_n_targets(s), 0);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_unknown_class)
{
    mmdx_space_t *s = mmdx_space_alloc();
    const char *bin[] = {"0", "1"};
    mmdx_error_t e = {0};
    ck_assert_int_eq(mmdx_space_add_target(s, "t2d", 2, bin, NULL), MMDX_OK);
    ck_assert_int_eq(read_text("patient_id\tnew\tt2d\nP1\tx\t1\nP2\ty\tyes\n", s, NULL, &e), MMDX_ESPACE);
    ck_assert_int_eq(e.line, 3);
    ck_assert_str_eq(e.object, "t2d");
    ck_assert_ptr_nonnull(strstr(e.message, "column 3"));
    /* the new target seen before the error was not left behind */
    ck_assert_uint_eq(mmdx_space_n_targets(s), 1);
    ck_assert_int_eq(mmdx_space_find_target(s, "new"), -1);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_bad_headers)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_error_t e = {0};
    ck_assert_int_eq(read_text("", s, NULL, &e), MMDX_EFORMAT);
    ck_assert_int_eq(e.line, 1);
    mmdx_error_clear(&e);
    ck_assert_int_eq(read_text("id\tx\nP1\t1\n", s, NULL, &e), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.message, "patient_id"));
    mmdx_error_clear(&e);
    ck_assert_int_eq(read_text("patient_id\nP1\n", s, NULL, &e), MMDX_EFORMAT);
    mmdx_error_clear(&e);
    ck_assert_int_eq(read_text("patient_id\tx\tx\nP1\t1\t1\n", s, NULL, &e), MMDX_EDUP);
    ck_assert_str_eq(e.object, "x");
    mmdx_error_clear(&e);
    ck_assert_int_eq(read_text("patient_id\t\nP1\t1\n", s, NULL, &e), MMDX_EFORMAT);
    mmdx_error_clear(&e);
    ck_assert_int_eq(read_text("patient_id\tx\n\t1\n", s, NULL, &e), MMDX_EFORMAT); /* empty patient id */
    ck_assert_int_eq(e.line, 2);
    mmdx_error_clear(&e);
    ck_assert_int_eq(read_text("patient_id\tx\nP1\tonly\nP2\tonly\n", s, NULL, &e), MMDX_EFORMAT); /* one class */
    mmdx_error_clear(&e);
    {
        char withnul[] = "patient_id\tx\nP1\t1\n";
        char path[600];
        FILE *f = fopen(tu_path(path, sizeof path, dir, "nul.tsv"), "wb");
        fwrite(withnul, 1, sizeof withnul, f); /* includes the terminating NUL */
        fclose(f);
        ck_assert_int_eq(mmdx_labels_read(NULL, path, s, NULL, &e), MMDX_EINVAL);
        mmdx_labels_t *l = NULL;
        mmdx_error_clear(&e);
        ck_assert_int_eq(mmdx_labels_read(NULL, path, s, &l, &e), MMDX_EFORMAT);
        ck_assert_ptr_null(l);
    }
    mmdx_error_clear(&e);
    {
        mmdx_labels_t *l = NULL;
        char path[600];
        ck_assert_int_eq(mmdx_labels_read(NULL, tu_path(path, sizeof path, dir, "absent.tsv"), s, &l, &e),
                         MMDX_ENOTFOUND);
    }
    ck_assert_uint_eq(mmdx_space_n_targets(s), 0);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_ctx_first_error)
{
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_labels_t *l = NULL;
    char path[600];
    tu_write(tu_path(path, sizeof path, dir, "r.tsv"), "patient_id\ta\nP1\n");
    ck_assert_int_eq(mmdx_labels_read(ctx, path, s, &l, NULL), MMDX_EFORMAT);
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_EFORMAT);
    ck_assert_int_eq(mmdx_ctx_error(ctx)->line, 2);
    mmdx_space_free(s);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_apply)
{
    mmdx_space_t *s = mmdx_space_alloc(), *other;
    mmdx_labels_t *l = NULL;
    mmdx_cohort_t *c;
    mmdx_error_t e = {0};
    size_t unknown = 99;
    const char *cls[] = {"1", "0"}; /* same classes, other order */
    ck_assert_int_eq(read_text("patient_id\tt2d\nP1\t1\nP2\t0\nP9\t1\n", s, &l, NULL), MMDX_OK);
    c = mmdx_cohort_alloc(s, 3);
    ck_assert_int_eq(mmdx_cohort_set_id(c, 0, "P2"), MMDX_OK);
    ck_assert_int_eq(mmdx_cohort_set_id(c, 1, "P1"), MMDX_OK);
    ck_assert_int_eq(mmdx_cohort_set_id(c, 2, "P3"), MMDX_OK);
    ck_assert_int_eq(mmdx_labels_apply(l, c, 0, &unknown, &e), MMDX_OK);
    ck_assert_uint_eq(unknown, 1); /* P9 */
    ck_assert_int_eq(e.code, MMDX_ENOTFOUND);
    ck_assert_int_eq(e.line, 4);
    ck_assert_str_eq(e.object, "P9"); /* the patient, not the column name */
    ck_assert_ptr_nonnull(strstr(e.file, ".tsv"));
    ck_assert_int_eq(mmdx_cohort_label(c, 0, 0), 0);
    ck_assert_int_eq(mmdx_cohort_label(c, 1, 0), 1);
    ck_assert_int_eq(mmdx_cohort_label(c, 2, 0), -1);
    ck_assert_ptr_nonnull(strstr(e.message, "1 of 3 label rows"));
    mmdx_error_clear(&e);
    mmdx_cohort_set_label(c, 0, 0, -1);
    ck_assert_int_eq(mmdx_labels_apply(l, c, 1, &unknown, &e), MMDX_ENOTFOUND);
    ck_assert_uint_eq(unknown, 1); /* all counted, the first named */
    ck_assert_str_eq(e.object, "P9");
    ck_assert_int_eq(e.line, 4);
    ck_assert_int_eq(mmdx_cohort_label(c, 0, 0), -1); /* strict: the cohort is unchanged */
    mmdx_cohort_free(c);

    /* an unknown patient before a bad class: the class error is the one reported */
    {
        mmdx_space_t *s2 = mmdx_space_alloc(), *s3 = mmdx_space_alloc();
        mmdx_labels_t *l2 = NULL;
        const char *c01[] = {"0", "1"};
        ck_assert_int_eq(read_text("patient_id\tt2d\nP9\t1\nP1\tmaybe\n", s2, &l2, NULL), MMDX_OK);
        ck_assert_int_eq(mmdx_space_add_target(s3, "t2d", 2, c01, NULL), MMDX_OK);
        c = mmdx_cohort_alloc(s3, 1);
        ck_assert_int_eq(mmdx_cohort_set_id(c, 0, "P1"), MMDX_OK);
        mmdx_error_clear(&e);
        ck_assert_int_eq(mmdx_labels_apply(l2, c, 0, &unknown, &e), MMDX_ESPACE);
        ck_assert_int_eq(e.code, MMDX_ESPACE);
        ck_assert_ptr_nonnull(strstr(e.message, "maybe"));
        mmdx_cohort_free(c);
        mmdx_labels_free(l2);
        mmdx_space_free(s2);
        mmdx_space_free(s3);
    }

    /* a cohort over another space: matched by target and class name */
    other = mmdx_space_alloc();
    ck_assert_int_eq(mmdx_space_add_target(other, "t2d", 2, cls, NULL), MMDX_OK);
    c = mmdx_cohort_alloc(other, 1);
    ck_assert_int_eq(mmdx_cohort_set_id(c, 0, "P1"), MMDX_OK);
    ck_assert_int_eq(mmdx_labels_apply(l, c, 0, NULL, NULL), MMDX_OK);
    ck_assert_int_eq(mmdx_cohort_label(c, 0, 0), 0); /* "1" is class 0 there */
    mmdx_cohort_free(c);
    mmdx_space_free(other);
    mmdx_labels_free(l);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_real_demo_labels)
{
    const char *b = getenv("MMDX_BUILDDIR");
    char path[1024];
    mmdx_space_t *s;
    mmdx_labels_t *l = NULL;
    mmdx_error_t e = {0};
    snprintf(path, sizeof path, "%s/data/demo/generated/train/labels.tsv", b ? b : ".");
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "skip: %s not there (make demo-data)\n", path);
        return;
    }
    s = mmdx_space_alloc();
    ck_assert_msg(mmdx_labels_read(NULL, path, s, &l, &e) == MMDX_OK, "%s", e.message);
    ck_assert_uint_gt(mmdx_labels_n_patients(l), 10);
    ck_assert_uint_ge(mmdx_space_n_targets(s), 1);
    mmdx_labels_free(l);
    mmdx_space_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("labels");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_basic);
    tcase_add_test(tc, test_binary_all_one_value);
    tcase_add_test(tc, test_numeric_classes_sorted_numerically);
    tcase_add_test(tc, test_bom_crlf);
    tcase_add_test(tc, test_ragged);
    tcase_add_test(tc, test_duplicate_patient);
    tcase_add_test(tc, test_unknown_class);
    tcase_add_test(tc, test_bad_headers);
    tcase_add_test(tc, test_ctx_first_error);
    tcase_add_test(tc, test_apply);
    tcase_add_test(tc, test_real_demo_labels);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
