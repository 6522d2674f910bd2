/* Check suite of the decision layer over a fitted fusion model: predictions become
 * posteriors, the advisor runs the shipped KB over cohort rows, and the model-backed next
 * best test puts the one decisive missing lab first. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmdx/mmdx.h"

#define HBA1C "lab:loinc:4548-4"
#define HDL "lab:loinc:2085-9"
#define EGFR "lab:loinc:98979-8"
#define CALCIUM "img:ct:calcium"

static mmdx_kb_t *kb;
static mmdx_space_t *space;
static mmdx_model_t *model;
static size_t jh, jd, je, jc, jp;

static double unif(unsigned long long *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(unsigned long long *s)
{
    return sqrt(-2 * log(unif(s))) * cos(6.283185307179586 * unif(s));
}

/* t2d is settled by HbA1c; HDL says little; cad follows CT calcium; eGFR is noise. */
static void setup(void)
{
    char path[4096];
    mmdx_error_t err;
    const char *cls[] = {"0", "1"};
    size_t t, lv;
    const char *d = getenv("MMDX_DATA_DIR");
    ck_assert_ptr_nonnull(d);
    snprintf(path, sizeof path, "%s/kb/default.xml", d);
    mmdx_error_clear(&err);
    ck_assert_msg(mmdx_kb_load(NULL, path, &kb, &err) == MMDX_OK, "%s", err.message);
    space = mmdx_space_alloc();
    ck_assert_int_eq(mmdx_space_add_feature(space, HBA1C, MMDX_KIND_CONTINUOUS, "%", MMDX_TRANSFORM_NONE, &jh), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(space, HDL, MMDX_KIND_CONTINUOUS, "mg/dL", MMDX_TRANSFORM_NONE, &jd), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(space, EGFR, MMDX_KIND_CONTINUOUS, "mL/min/{1.73_m2}", MMDX_TRANSFORM_NONE, &je), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(space, CALCIUM, MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, &jc), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(space, "pgx:CYP2C19", MMDX_KIND_CATEGORICAL, NULL, MMDX_TRANSFORM_NONE, &jp), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_level(space, jp, "Normal Metabolizer", &lv), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_level(space, jp, "Poor Metabolizer", &lv), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_target(space, "t2d", 2, cls, &t), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_target(space, "cad", 2, cls, &t), MMDX_OK);

    size_t n = 600;
    unsigned long long s = 42;
    mmdx_cohort_t *c = mmdx_cohort_alloc(space, n);
    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        int t2d = unif(&s) < 0.4, cad = unif(&s) < 0.35;
        snprintf(id, sizeof id, "P%zu", i);
        ck_assert_int_eq(mmdx_cohort_set_id(c, i, id), MMDX_OK);
        mmdx_cohort_set(c, i, jh, 5.4 + 2.0 * t2d + 0.35 * gauss(&s), 0);
        mmdx_cohort_set(c, i, jd, 52 - 3.0 * t2d + 11 * gauss(&s), 0);
        mmdx_cohort_set(c, i, je, 85 + 15 * gauss(&s), 0);
        mmdx_cohort_set(c, i, jc, 1.0 + 1.2 * cad + 0.6 * gauss(&s), 0);
        mmdx_cohort_set(c, i, jp, unif(&s) < 0.15 ? 1 : 0, 0);
        mmdx_cohort_set_label(c, i, 0, t2d);
        mmdx_cohort_set_label(c, i, 1, cad);
    }
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_alloc(NULL, space, NULL, &model, &err), MMDX_OK);
    ck_assert_msg(mmdx_model_fit(model, c, &err) == MMDX_OK, "%s", err.message);
    mmdx_cohort_free(c);
}

static void teardown(void)
{
    mmdx_model_free(model);
    mmdx_space_free(space);
    mmdx_kb_free(kb);
}

static const mmdx_suggestion_t *item(const mmdx_advice_t *a, const char *treatment)
{
    for (size_t i = 0; i < a->n_items; i++)
        if (strcmp(a->items[i].treatment, treatment) == 0)
            return &a->items[i];
    return NULL;
}

START_TEST(test_posteriors_from_preds)
{
    mmdx_cohort_t *c = mmdx_cohort_alloc(space, 1);
    mmdx_pred_t *p[2] = {mmdx_pred_alloc(), mmdx_pred_alloc()};
    mmdx_posterior_t post[4];
    size_t n = 0;
    ck_assert_int_eq(mmdx_cohort_set_id(c, 0, "X"), MMDX_OK);
    mmdx_cohort_set(c, 0, jh, 7.6, 0);
    for (size_t t = 0; t < 2; t++)
        ck_assert_int_eq(mmdx_model_predict(model, c, 0, t, p[t], NULL), MMDX_OK);
    ck_assert_int_eq(mmdx_posteriors_from_preds((const mmdx_pred_t *const *)p, 2, post, 3, &n), MMDX_ERANGE);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(mmdx_posteriors_from_preds((const mmdx_pred_t *const *)p, 2, post, 4, &n), MMDX_OK);
    ck_assert_str_eq(post[0].target, "t2d");
    ck_assert_str_eq(post[1].cls, "1");
    ck_assert_double_eq_tol(post[0].p + post[1].p, 1, 1e-9);
    ck_assert(post[1].p > 0.9); /* HbA1c 7.6 */
    ck_assert(post[1].ci_low <= post[1].p && post[1].p <= post[1].ci_high);
    ck_assert_str_eq(post[3].target, "cad");
    mmdx_pred_free(p[0]);
    mmdx_pred_free(p[1]);
    mmdx_cohort_free(c);
}
END_TEST

START_TEST(test_advisor_runs_kb)
{
    mmdx_advisor_t *adv = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_msg(mmdx_advisor_alloc(kb, model, &adv, &err) == MMDX_OK, "%s", err.message);
    size_t nc = 0;
    const char *const *cands = mmdx_advisor_candidates(adv, &nc);
    int has_ct = 0, has_hba1c = 0;
    for (size_t i = 0; i < nc; i++) {
        has_ct |= strcmp(cands[i], "img:ct") == 0;
        has_hba1c |= strcmp(cands[i], HBA1C) == 0;
        ck_assert_str_ne(cands[i], "demo");
    }
    ck_assert(has_ct && has_hba1c);

    /* a clear diabetic with low eGFR and a CYP2C19 poor metabolizer with CAD */
    mmdx_cohort_t *c = mmdx_cohort_alloc(space, 1);
    ck_assert_int_eq(mmdx_cohort_set_id(c, 0, "A"), MMDX_OK);
    mmdx_cohort_set(c, 0, jh, 8.1, 0);
    mmdx_cohort_set(c, 0, jd, 45, 0);
    mmdx_cohort_set(c, 0, je, 24, 0);
    mmdx_cohort_set(c, 0, jc, 3.2, 0);
    mmdx_cohort_set(c, 0, jp, 1, 0);
    mmdx_advice_t *a = NULL;
    mmdx_error_clear(&err);
    ck_assert_msg(mmdx_advisor_run(adv, c, 0, 1, &a, &err) == MMDX_OK, "%s", err.message);
    ck_assert_int_eq(item(a, "metformin")->status, MMDX_ADVICE_EXCLUDED);
    ck_assert_int_eq(item(a, "clopidogrel")->status, MMDX_ADVICE_EXCLUDED);
    ck_assert_str_eq(item(a, "clopidogrel")->fired[0].reason,
                     "avoid clopidogrel: CYP2C19 poor metabolizer (CPIC 2022)");
    ck_assert_str_eq(a->triage.department, "Endocrinology and diabetes");
    ck_assert_uint_eq(a->n_tests, 0); /* nothing the model knows is missing */
    mmdx_advice_free(a);
    mmdx_cohort_free(c);
    mmdx_advisor_free(adv);
}
END_TEST

/* The case: a patient missing the one decisive lab gets that lab as the next test. */
START_TEST(test_next_best_is_the_decisive_lab)
{
    mmdx_advisor_t *adv = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_advisor_alloc(kb, model, &adv, &err), MMDX_OK);
    mmdx_cohort_t *c = mmdx_cohort_alloc(space, 1);
    ck_assert_int_eq(mmdx_cohort_set_id(c, 0, "B"), MMDX_OK);
    mmdx_cohort_set(c, 0, je, 80, 0);
    mmdx_cohort_set(c, 0, jc, 1.1, 0); /* CT present; HbA1c and HDL missing */
    mmdx_advice_t *a = NULL;
    ck_assert_msg(mmdx_advisor_run(adv, c, 0, 1, &a, &err) == MMDX_OK, "%s", err.message);
    ck_assert_uint_ge(a->n_tests, 2);
    ck_assert_str_eq(a->tests[0].candidate, HBA1C);
    ck_assert_msg(a->tests[0].gain > 0.2, "gain %g", a->tests[0].gain);
    for (size_t i = 1; i < a->n_tests; i++) {
        ck_assert(a->tests[i].gain <= a->tests[i - 1].gain);
        ck_assert_str_ne(a->tests[i].candidate, "img:ct"); /* present */
        ck_assert_str_ne(a->tests[i].candidate, EGFR);     /* present */
    }
    /* HDL is weak: well below HbA1c */
    for (size_t i = 0; i < a->n_tests; i++)
        if (strcmp(a->tests[i].candidate, HDL) == 0)
            ck_assert(a->tests[i].gain < 0.5 * a->tests[0].gain);
    /* the expectation is reproducible */
    double g0 = a->tests[0].gain, h0 = a->entropy;
    mmdx_advice_free(a);
    ck_assert_int_eq(mmdx_advisor_run(adv, c, 0, 1, &a, &err), MMDX_OK);
    ck_assert_double_eq(a->tests[0].gain, g0);
    mmdx_advice_free(a);

    /* the callback alone, for callers that decide themselves */
    double after = -1;
    ck_assert_int_eq(mmdx_advisor_set_row(adv, c, 1), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_advisor_set_row(adv, c, 0), MMDX_OK);
    ck_assert_int_eq(mmdx_advisor_expected_entropy(adv, NULL, HBA1C, &after), MMDX_OK);
    ck_assert_double_eq_tol(after, h0 - g0, 1e-12);
    ck_assert_int_eq(mmdx_advisor_expected_entropy(adv, NULL, "img:nothing", &after), MMDX_ENOTFOUND);
    mmdx_cohort_free(c);
    mmdx_advisor_free(adv);
}
END_TEST

START_TEST(test_advisor_refuses_unfitted_model)
{
    /* an unfitted model is refused (a mismatched space is check_kb's test_check_space) */
    mmdx_space_t *s = mmdx_space_alloc();
    const char *cls[] = {"0", "1"};
    size_t j, t;
    mmdx_model_t *m = NULL;
    mmdx_advisor_t *adv = (mmdx_advisor_t *)0x1;
    mmdx_error_t err;
    ck_assert_int_eq(mmdx_space_add_feature(s, EGFR, MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, &j), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_target(s, "ckd", 2, cls, &t), MMDX_OK);
    ck_assert_int_eq(mmdx_model_alloc(NULL, s, NULL, &m, NULL), MMDX_OK);
    mmdx_error_clear(&err);
    /* not fitted yet */
    ck_assert_int_eq(mmdx_advisor_alloc(kb, m, &adv, &err), MMDX_ESTATE);
    ck_assert_ptr_null(adv);
    mmdx_model_free(m);
    mmdx_space_free(s);
}
END_TEST

/* Every allocation failure in the advisor (and what it calls) comes back as ENOMEM. */
static long countdown = -1;
static void *fail_malloc(size_t n) { return countdown-- == 0 ? NULL : malloc(n); }
static void *fail_realloc(void *p, size_t n) { return countdown-- == 0 ? NULL : realloc(p, n); }

START_TEST(test_advisor_allocation_failures)
{
    mmdx_cohort_t *c = mmdx_cohort_alloc(space, 1);
    ck_assert_int_eq(mmdx_cohort_set_id(c, 0, "F"), MMDX_OK);
    mmdx_cohort_set(c, 0, je, 25, 0);
    mmdx_cohort_set(c, 0, jc, 2.0, 0);
    int ok = 0;
    for (long n = 0; n < 5000 && !ok; n++) {
        mmdx_advisor_t *adv = NULL;
        mmdx_advice_t *a = NULL;
        countdown = n;
        mmdx_set_allocator(fail_malloc, fail_realloc, free);
        int rc = mmdx_advisor_alloc(kb, model, &adv, NULL);
        if (rc == MMDX_OK)
            rc = mmdx_advisor_run(adv, c, 0, 1, &a, NULL);
        mmdx_set_allocator(NULL, NULL, NULL);
        countdown = -1;
        if (rc == MMDX_OK) {
            ok = 1;
            ck_assert_ptr_nonnull(a);
            ck_assert_uint_ge(a->n_tests, 1);
            ck_assert_int_gt(n, 20); /* the advisor, the predictions and the ranking all allocate */
        } else {
            ck_assert_msg(rc == MMDX_ENOMEM, "n=%ld: %s", n, mmdx_strerror(rc));
            ck_assert_ptr_null(a);
        }
        mmdx_advice_free(a);
        mmdx_advisor_free(adv);
    }
    ck_assert(ok);
    mmdx_cohort_free(c);
}
END_TEST

static Suite *advise_suite(void)
{
    Suite *s = suite_create("advise");
    TCase *tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_posteriors_from_preds);
    tcase_add_test(tc, test_advisor_runs_kb);
    tcase_add_test(tc, test_next_best_is_the_decisive_lab);
    tcase_add_test(tc, test_advisor_refuses_unfitted_model);
    tcase_add_test(tc, test_advisor_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(advise_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
