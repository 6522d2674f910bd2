/* Check suite: the in-memory cohort. */
#include <check.h>
#include <math.h>
#include <string.h>

#include <mmdx/mmdx.h>

static mmdx_space_t *make_space(void)
{
    mmdx_space_t *s = mmdx_space_alloc();
    const char *bin[] = {"0", "1"};
    ck_assert_int_eq(mmdx_space_add_feature(s, "lab:a:1", MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL),
                     MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(s, "lab:a:2", MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL),
                     MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_target(s, "t2d", 2, bin, NULL), MMDX_OK);
    return s;
}

START_TEST(test_values_and_flags)
{
    mmdx_space_t *s = make_space();
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, 3);
    double v = 0;
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_eq(mmdx_cohort_space(c), s);
    ck_assert_uint_eq(mmdx_cohort_n_patients(c), 3);
    ck_assert_uint_eq(mmdx_cohort_n_features(c), 2);
    ck_assert_uint_eq(mmdx_cohort_n_targets(c), 1);
    /* everything starts missing and unknown */
    for (size_t i = 0; i < 3; i++) {
        for (size_t j = 0; j < 2; j++) {
            ck_assert_int_eq(mmdx_cohort_get(c, i, j, &v), 0);
            ck_assert(isnan(mmdx_cohort_column_const(c, j)[i]));
            ck_assert_uint_eq(mmdx_cohort_flags_const(c, j)[i], MMDX_VAL_MISSING);
        }
        ck_assert_int_eq(mmdx_cohort_label(c, i, 0), -1);
        ck_assert_str_eq(mmdx_cohort_id(c, i), "");
    }
    mmdx_cohort_set(c, 1, 0, 4.5, 0);
    mmdx_cohort_set(c, 2, 1, 0.1, MMDX_VAL_CENSOR_LEFT);
    ck_assert_int_eq(mmdx_cohort_get(c, 1, 0, &v), 1);
    ck_assert_double_eq(v, 4.5);
    /* column-major: column j holds the patients in order */
    ck_assert_double_eq(mmdx_cohort_column(c, 0)[1], 4.5);
    ck_assert_uint_eq(mmdx_cohort_flags(c, 1)[2], MMDX_VAL_CENSOR_LEFT);
    mmdx_cohort_set_missing(c, 1, 0);
    ck_assert_int_eq(mmdx_cohort_get(c, 1, 0, &v), 0);
    mmdx_cohort_set(c, 0, 0, NAN, 0); /* NaN is missing */
    ck_assert_int_eq(mmdx_cohort_get(c, 0, 0, &v), 0);
    /* out of range is ignored, not a crash */
    mmdx_cohort_set(c, 99, 0, 1.0, 0);
    ck_assert_int_eq(mmdx_cohort_get(c, 99, 0, &v), 0);
    ck_assert_ptr_null(mmdx_cohort_column(c, 2));
    /* labels: class indices checked against the target */
    mmdx_cohort_set_label(c, 0, 0, 1);
    ck_assert_int_eq(mmdx_cohort_label(c, 0, 0), 1);
    mmdx_cohort_set_label(c, 1, 0, 5);
    ck_assert_int_eq(mmdx_cohort_label(c, 1, 0), -1);
    mmdx_cohort_free(c);
    mmdx_cohort_free(NULL);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_ids_find)
{
    mmdx_space_t *s = make_space();
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, 1000);
    char id[32];
    for (size_t i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "P%05zu", i);
        ck_assert_int_eq(mmdx_cohort_set_id(c, i, id), MMDX_OK);
    }
    ck_assert_int_eq(mmdx_cohort_find(c, "P00000"), 0);
    ck_assert_int_eq(mmdx_cohort_find(c, "P00999"), 999);
    ck_assert_int_eq(mmdx_cohort_find(c, "P01000"), -1);
    /* changing an id after the map was built is seen */
    ck_assert_int_eq(mmdx_cohort_set_id(c, 5, "renamed"), MMDX_OK);
    ck_assert_int_eq(mmdx_cohort_find(c, "renamed"), 5);
    ck_assert_int_eq(mmdx_cohort_find(c, "P00005"), -1);
    ck_assert_int_eq(mmdx_cohort_set_id(c, 0, ""), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_cohort_set_id(c, 0, "a\tb"), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_cohort_set_id(c, 1000, "x"), MMDX_EINVAL);
    mmdx_cohort_free(c);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_slice_select)
{
    mmdx_space_t *s = make_space();
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, 5), *sl, *se;
    size_t rows[] = {4, 0, 4};
    char id[16];
    double v;
    for (size_t i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "p%zu", i);
        ck_assert_int_eq(mmdx_cohort_set_id(c, i, id), MMDX_OK);
        mmdx_cohort_set(c, i, 0, (double)i * 10, 0);
        if (i % 2)
            mmdx_cohort_set(c, i, 1, (double)i, MMDX_VAL_CENSOR_RIGHT);
        mmdx_cohort_set_label(c, i, 0, (int)(i % 2));
    }
    sl = mmdx_cohort_slice(c, 1, 3);
    ck_assert_ptr_nonnull(sl);
    ck_assert_uint_eq(mmdx_cohort_n_patients(sl), 3);
    ck_assert_str_eq(mmdx_cohort_id(sl, 0), "p1");
    ck_assert_int_eq(mmdx_cohort_get(sl, 2, 0, &v), 1);
    ck_assert_double_eq(v, 30);
    ck_assert_int_eq(mmdx_cohort_get(sl, 1, 1, &v), 0);
    ck_assert_uint_eq(mmdx_cohort_flags_const(sl, 1)[0], MMDX_VAL_CENSOR_RIGHT);
    ck_assert_int_eq(mmdx_cohort_label(sl, 0, 0), 1);
    ck_assert_ptr_null(mmdx_cohort_slice(c, 3, 3));
    mmdx_cohort_free(sl);
    sl = mmdx_cohort_slice(c, 5, 0);
    ck_assert_ptr_nonnull(sl);
    ck_assert_uint_eq(mmdx_cohort_n_patients(sl), 0);
    mmdx_cohort_free(sl);

    se = mmdx_cohort_select(c, rows, 3);
    ck_assert_ptr_nonnull(se);
    ck_assert_str_eq(mmdx_cohort_id(se, 0), "p4");
    ck_assert_str_eq(mmdx_cohort_id(se, 1), "p0");
    ck_assert_int_eq(mmdx_cohort_get(se, 2, 0, &v), 1);
    ck_assert_double_eq(v, 40);
    mmdx_cohort_free(se);
    rows[1] = 5;
    ck_assert_ptr_null(mmdx_cohort_select(c, rows, 3));
    mmdx_cohort_free(c);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_space_grows_after_alloc)
{
    mmdx_space_t *s = make_space();
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, 2), *sl;
    ck_assert_int_eq(mmdx_space_add_feature(s, "lab:a:3", MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL),
                     MMDX_OK);
    ck_assert_uint_eq(mmdx_cohort_n_features(c), 2); /* the cohort keeps its shape */
    ck_assert_ptr_null(mmdx_cohort_column(c, 2));
    sl = mmdx_cohort_slice(c, 0, 2);
    ck_assert_uint_eq(mmdx_cohort_n_features(sl), 2);
    mmdx_cohort_free(sl);
    mmdx_cohort_free(c);
    mmdx_space_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cohort");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_values_and_flags);
    tcase_add_test(tc, test_ids_find);
    tcase_add_test(tc, test_slice_select);
    tcase_add_test(tc, test_space_grows_after_alloc);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
