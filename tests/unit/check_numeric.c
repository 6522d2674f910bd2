#define _POSIX_C_SOURCE 200809L
/* Check suite: numerical edge cases of training and prediction (issue 9). Constant,
 * duplicated and huge- or tiny-magnitude features, N smaller than D, a class with one
 * patient, a target with one class, patients, features and modalities with every value
 * missing. Each case either trains and then predicts only finite numbers (every
 * probability, interval bound, log-odds, evidence, contribution and OOD score; the
 * probabilities of a target summing to 1), also after a save and load, or fails with a
 * clear error naming the target or feature. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mmdx/mmdx.h>
#include "testutil.h"

/* ------------------------------------------------------------------ data */


/* n patients, d_img imaging features "img:a:fJ" and d_lab lab features "lab:loinc:lJ"
 * (no transform), a binary target "dx" whose log-odds grow with the features, and, with
 * @p multiclass, a 3-class target "stage". Feature values 3 + N(0, 1) with a common part. */
typedef struct ds {
    mmdx_space_t *s;
    mmdx_cohort_t *c;
    size_t n, d;
} ds_t;

static ds_t ds_make(size_t n, size_t d_img, size_t d_lab, int multiclass, uint64_t seed)
{
    ds_t ds = {mmdx_space_alloc(), NULL, n, d_img + d_lab};
    char id[64];
    tu_seed(seed);
    for (size_t j = 0; j < ds.d; j++) {
        if (j < d_img)
            snprintf(id, sizeof id, "img:a:f%zu", j);
        else
            snprintf(id, sizeof id, "lab:loinc:l%zu", j - d_img);
        ck_assert_int_eq(mmdx_space_add_feature(ds.s, id, MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL),
                         MMDX_OK);
    }
    const char *bin[] = {"no", "yes"}, *stage[] = {"I", "II", "III"};
    ck_assert_int_eq(mmdx_space_add_target(ds.s, "dx", 2, bin, NULL), MMDX_OK);
    if (multiclass)
        ck_assert_int_eq(mmdx_space_add_target(ds.s, "stage", 3, stage, NULL), MMDX_OK);
    ds.c = mmdx_cohort_alloc(ds.s, n);
    ck_assert_ptr_nonnull(ds.c);
    for (size_t i = 0; i < n; i++) {
        char pid[32];
        snprintf(pid, sizeof pid, "P%04zu", i);
        ck_assert_int_eq(mmdx_cohort_set_id(ds.c, i, pid), MMDX_OK);
        double common = tu_nrand(), eta = 0;
        for (size_t j = 0; j < ds.d; j++) {
            double x = 0.6 * common + 0.8 * tu_nrand();
            eta += (j % 2 ? 0.6 : -0.8) * x;
            mmdx_cohort_set(ds.c, i, j, 3.0 + x, 0);
        }
        mmdx_cohort_set_label(ds.c, i, 0, tu_urand() < 1 / (1 + exp(-eta)));
        if (multiclass)
            mmdx_cohort_set_label(ds.c, i, 1, eta < -0.7 ? 0 : eta < 0.7 ? 1 : 2);
    }
    return ds;
}

static void ds_free(ds_t *ds)
{
    mmdx_cohort_free(ds->c);
    mmdx_space_free(ds->s);
}

static int fit(const ds_t *ds, const mmdx_model_options_t *opt, mmdx_model_t **out, mmdx_error_t *err)
{
    mmdx_error_clear(err);
    *out = NULL;
    ck_assert_int_eq(mmdx_model_alloc(NULL, ds->s, opt, out, err), MMDX_OK);
    int rc = mmdx_model_fit(*out, ds->c, err);
    if (rc != MMDX_OK) {
        mmdx_model_free(*out);
        *out = NULL;
    }
    return rc;
}

static mmdx_model_t *fit_ok(const ds_t *ds, const mmdx_model_options_t *opt)
{
    mmdx_model_t *m;
    mmdx_error_t err;
    int rc = fit(ds, opt, &m, &err);
    ck_assert_msg(rc == MMDX_OK, "fit failed: %s (%s): %s", mmdx_strerror(rc), err.object, err.message);
    return m;
}

/* ------------------------------------------------------------------ checks */

#define FINITE(x, what, i, k) ck_assert_msg(isfinite(x), "%s not finite (%g) for row %zu class %zu", what, x, i, k)

/* Predict every row of @p c for every target; assert every number is finite and the
 * probabilities sum to 1. Returns the OR of the prediction flags. */
static unsigned check_finite(const mmdx_model_t *m, const mmdx_cohort_t *c)
{
    const mmdx_space_t *sp = mmdx_model_space(m);
    size_t n = mmdx_cohort_n_patients(c);
    mmdx_pred_t *p = mmdx_pred_alloc();
    unsigned flags = 0;
    mmdx_error_t err;
    for (size_t t = 0; t < mmdx_space_n_targets(sp); t++) {
        size_t K = mmdx_space_n_classes(sp, t);
        double *pr = malloc(n * K * sizeof *pr), *lo = malloc(n * K * sizeof *lo), *hi = malloc(n * K * sizeof *hi);
        mmdx_error_clear(&err);
        ck_assert_msg(mmdx_model_predict_probs(m, c, t, pr, lo, hi, &err) == MMDX_OK, "%s", err.message);
        for (size_t i = 0; i < n; i++) {
            double sum = 0;
            for (size_t k = 0; k < K; k++) {
                FINITE(pr[i * K + k], "probability (batch)", i, k);
                FINITE(lo[i * K + k], "interval low (batch)", i, k);
                FINITE(hi[i * K + k], "interval high (batch)", i, k);
                ck_assert(lo[i * K + k] <= hi[i * K + k]);
                sum += pr[i * K + k];
            }
            ck_assert_msg(fabs(sum - 1) < 1e-9, "row %zu: probabilities sum to %.17g", i, sum);
        }
        for (size_t i = 0; i < n; i++) {
            mmdx_error_clear(&err);
            ck_assert_msg(mmdx_model_predict(m, c, i, t, p, &err) == MMDX_OK, "%s", err.message);
            flags |= mmdx_pred_flags(p);
            double sum = 0;
            for (size_t k = 0; k < K; k++) {
                double v = mmdx_pred_prob(p, k), l, h, mean, sd;
                FINITE(v, "probability", i, k);
                ck_assert(v >= 0 && v <= 1);
                ck_assert_msg(fabs(v - pr[i * K + k]) < 1e-9, "detail %.17g, batch %.17g", v, pr[i * K + k]);
                sum += v;
                mmdx_pred_interval(p, k, &l, &h);
                FINITE(l, "interval low", i, k);
                FINITE(h, "interval high", i, k);
                ck_assert(l >= 0 && l <= h && h <= 1);
                mmdx_pred_logodds(p, k, &mean, &sd);
                FINITE(mean, "log-odds mean", i, k);
                FINITE(sd, "log-odds sd", i, k);
                FINITE(mmdx_pred_prior_logodds(p, k), "prior log-odds", i, k);
                for (size_t md = 0; md < mmdx_pred_n_modalities(p); md++)
                    FINITE(mmdx_pred_evidence(p, k, md), "evidence", i, k);
                for (size_t r = 0; r < mmdx_pred_n_top(p, k); r++) {
                    double contrib;
                    ck_assert_ptr_nonnull(mmdx_pred_top_feature(p, k, r, &contrib));
                    FINITE(contrib, "contribution", i, k);
                }
            }
            ck_assert_msg(fabs(sum - 1) < 1e-9, "row %zu: probabilities sum to %.17g", i, sum);
            size_t df;
            double pv, d2 = mmdx_pred_ood(p, &df, &pv);
            ck_assert_msg(!isnan(d2) && d2 >= 0, "OOD distance %g", d2);
            ck_assert_msg(pv >= 0 && pv <= 1, "OOD p-value %g", pv);
        }
        free(pr);
        free(lo);
        free(hi);
    }
    mmdx_pred_free(p);
    return flags;
}

/* Check @p m, then save it, load it back and check that the copy predicts the same. */
static unsigned check_model(const mmdx_model_t *m, const mmdx_cohort_t *c)
{
    unsigned flags = check_finite(m, c);
    char dir[512], path[600];
    mmdx_error_t err;
    mmdx_model_t *back = NULL;
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "model.h5");
    mmdx_error_clear(&err);
    ck_assert_msg(mmdx_model_save(m, path, &err) == MMDX_OK, "save: %s", err.message);
    ck_assert_msg(mmdx_model_load(NULL, path, &back, &err) == MMDX_OK, "load: %s", err.message);
    tu_rmdir(dir);
    size_t n = mmdx_cohort_n_patients(c), K = mmdx_space_n_classes(mmdx_model_space(m), 0);
    double *a = malloc(n * K * sizeof *a), *b = malloc(n * K * sizeof *b);
    ck_assert_int_eq(mmdx_model_predict_probs(m, c, 0, a, NULL, NULL, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_predict_probs(back, c, 0, b, NULL, NULL, &err), MMDX_OK);
    ck_assert_int_eq(memcmp(a, b, n * K * sizeof *a), 0);
    free(a);
    free(b);
    check_finite(back, c);
    mmdx_model_free(back);
    return flags;
}

/* Probabilities of target 0 (class 1) for every row. New; free(). */
static double *probs(const mmdx_model_t *m, const mmdx_cohort_t *c)
{
    size_t n = mmdx_cohort_n_patients(c);
    double *p = malloc(2 * n * sizeof *p), *p1 = malloc(n * sizeof *p1);
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_predict_probs(m, c, 0, p, NULL, NULL, &err), MMDX_OK);
    for (size_t i = 0; i < n; i++)
        p1[i] = p[2 * i + 1];
    free(p);
    return p1;
}

/* ------------------------------------------------------------------ tests */

START_TEST(test_constant_feature)
{
    ds_t ds = ds_make(80, 3, 2, 1, 1);
    for (size_t i = 0; i < ds.n; i++) {
        mmdx_cohort_set(ds.c, i, 1, 7.25, 0); /* imaging, constant */
        mmdx_cohort_set(ds.c, i, 3, 0.0, 0);  /* lab, constant zero */
    }
    mmdx_model_t *m = fit_ok(&ds, NULL);
    check_model(m, ds.c);
    /* a new patient with another value of the constant features */
    mmdx_cohort_t *one = mmdx_cohort_alloc(ds.s, 2);
    ck_assert_int_eq(mmdx_cohort_set_id(one, 0, "new"), MMDX_OK);
    ck_assert_int_eq(mmdx_cohort_set_id(one, 1, "far"), MMDX_OK);
    for (size_t j = 0; j < ds.d; j++) {
        mmdx_cohort_set(one, 0, j, j == 1 ? 8.0 : j == 3 ? -1 : 3.0, 0);
        mmdx_cohort_set(one, 1, j, j == 1 ? 1e6 : j == 3 ? 1e6 : 3.0, 0);
    }
    check_finite(m, one);
    mmdx_cohort_free(one);
    mmdx_model_free(m);
    ds_free(&ds);
}
END_TEST

START_TEST(test_duplicated_columns)
{
    /* two identical imaging columns, and a lab column identical to an imaging one */
    ds_t ds = ds_make(80, 4, 2, 1, 2);
    for (size_t i = 0; i < ds.n; i++) {
        double v;
        ck_assert(mmdx_cohort_get(ds.c, i, 0, &v));
        mmdx_cohort_set(ds.c, i, 1, v, 0);
        mmdx_cohort_set(ds.c, i, 4, v, 0);
    }
    mmdx_model_t *m = fit_ok(&ds, NULL);
    check_model(m, ds.c);
    mmdx_model_free(m);
    ds_free(&ds);
}
END_TEST

/* Feature 0 replaced by a + b * x: the model standardises, so the predictions must be
 * those of the model on x (up to the rounding of a + b * x itself). */
static void check_affine(double a, double b, int also_lab)
{
    mmdx_model_options_t opt;
    mmdx_model_options_init(&opt);
    opt.autolog = MMDX_AUTOLOG_DECLARED; /* no log-transform decision to differ */
    ds_t base = ds_make(120, 3, 2, 0, 3), big = ds_make(120, 3, 2, 0, 3);
    for (size_t i = 0; i < big.n; i++) {
        double v;
        for (size_t j = 0; j < (also_lab ? big.d : 1); j++) {
            ck_assert(mmdx_cohort_get(big.c, i, j, &v));
            mmdx_cohort_set(big.c, i, j, a + b * v, 0);
        }
    }
    mmdx_model_t *m0 = fit_ok(&base, &opt), *m1 = fit_ok(&big, &opt);
    check_model(m1, big.c);
    double *p0 = probs(m0, base.c), *p1 = probs(m1, big.c);
    for (size_t i = 0; i < base.n; i++)
        ck_assert_msg(fabs(p0[i] - p1[i]) < 1e-6, "a=%g b=%g row %zu: %.12g, unscaled %.12g", a, b, i, p1[i],
                      p0[i]);
    free(p0);
    free(p1);
    mmdx_model_free(m0);
    mmdx_model_free(m1);
    ds_free(&base);
    ds_free(&big);
}

START_TEST(test_large_offset)
{
    check_affine(1e8, 1, 0); /* mean large relative to spread */
    check_affine(1e6, 1, 1);
    check_affine(-1e9, 10, 0);
}
END_TEST

START_TEST(test_huge_magnitude)
{
    check_affine(0, 1e8, 1);
    check_affine(0, 1e50, 0);
    check_affine(0, 1e150, 1);
    check_affine(0, -1e150, 0);
}
END_TEST

START_TEST(test_tiny_magnitude)
{
    check_affine(0, 1e-150, 1);
    check_affine(1e-150, 1e-140, 0);
    /* spread 1e-300: its variance (1e-600) is not a double, so the feature is taken as
     * constant; the model must still be finite */
    ds_t ds = ds_make(60, 2, 2, 0, 15);
    for (size_t i = 0; i < ds.n; i++) {
        double v;
        ck_assert(mmdx_cohort_get(ds.c, i, 0, &v));
        mmdx_cohort_set(ds.c, i, 0, v * 1e-300, 0);
    }
    mmdx_model_t *m = fit_ok(&ds, NULL);
    check_model(m, ds.c);
    mmdx_model_free(m);
    ds_free(&ds);
}
END_TEST

START_TEST(test_huge_with_autolog)
{
    /* the log-transform decision on huge and tiny positive values (default options) */
    ds_t ds = ds_make(100, 2, 3, 1, 4);
    for (size_t i = 0; i < ds.n; i++) {
        double v;
        ck_assert(mmdx_cohort_get(ds.c, i, 2, &v));
        mmdx_cohort_set(ds.c, i, 2, exp(2 * v) * 1e140, 0); /* skewed, x^3 overflows */
        ck_assert(mmdx_cohort_get(ds.c, i, 3, &v));
        mmdx_cohort_set(ds.c, i, 3, exp(2 * v) * 1e-150, 0);
    }
    mmdx_model_t *m = fit_ok(&ds, NULL);
    check_model(m, ds.c);
    mmdx_model_free(m);
    /* beyond about 1e154 the variance overflows: a clear error naming the feature */
    for (size_t i = 0; i < ds.n; i++)
        mmdx_cohort_set(ds.c, i, 4, (double)(i % 7) * 1e200, 0);
    mmdx_error_t err;
    ck_assert_int_eq(fit(&ds, NULL, &m, &err), MMDX_ERANGE);
    ck_assert_str_eq(err.object, "lab:loinc:l2");
    ck_assert_msg(strstr(err.message, "too large") != NULL, "%s", err.message);
    ds_free(&ds);
}
END_TEST

START_TEST(test_huge_at_prediction)
{
    /* values far beyond anything seen in training, of either sign */
    ds_t ds = ds_make(80, 3, 2, 1, 5);
    mmdx_model_t *m = fit_ok(&ds, NULL);
    const double v[] = {1e300, -1e300, 1e150, -1e150, 1e-300, 0};
    mmdx_cohort_t *c = mmdx_cohort_alloc(ds.s, 6);
    for (size_t i = 0; i < 6; i++) {
        char id[16];
        snprintf(id, sizeof id, "x%zu", i);
        ck_assert_int_eq(mmdx_cohort_set_id(c, i, id), MMDX_OK);
        for (size_t j = 0; j < ds.d; j++)
            mmdx_cohort_set(c, i, j, j % 2 ? v[i] : -v[i], 0);
    }
    check_finite(m, c);
    mmdx_pred_t *p = mmdx_pred_alloc();
    mmdx_error_t err;
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(mmdx_model_predict(m, c, i, 0, p, &err), MMDX_OK);
        ck_assert_msg(mmdx_pred_flags(p) & MMDX_PRED_OOD, "row %zu (%g) not flagged out of distribution", i, v[i]);
    }
    mmdx_pred_free(p);
    mmdx_cohort_free(c);
    mmdx_model_free(m);
    ds_free(&ds);
}
END_TEST

START_TEST(test_n_below_d)
{
    ds_t ds = ds_make(5, 30, 20, 0, 6);
    mmdx_cohort_set_label(ds.c, 0, 0, 0); /* both classes present */
    mmdx_cohort_set_label(ds.c, 1, 0, 1);
    mmdx_model_t *m = fit_ok(&ds, NULL);
    check_model(m, ds.c);
    ds_t te = ds_make(20, 30, 20, 0, 7);
    check_finite(m, te.c);
    ds_free(&te);
    mmdx_model_free(m);
    ds_free(&ds);
}
END_TEST

START_TEST(test_class_with_one_patient)
{
    ds_t ds = ds_make(60, 3, 2, 1, 8);
    for (size_t i = 0; i < ds.n; i++) {
        mmdx_cohort_set_label(ds.c, i, 0, i == 17);          /* one "yes" */
        mmdx_cohort_set_label(ds.c, i, 1, i == 3 ? 2 : (int)(i % 2)); /* one "III" */
    }
    mmdx_model_t *m = fit_ok(&ds, NULL);
    check_model(m, ds.c);
    mmdx_model_free(m);
    ds_free(&ds);
}
END_TEST

START_TEST(test_one_class_only)
{
    ds_t ds = ds_make(40, 2, 2, 1, 9);
    for (size_t i = 0; i < ds.n; i++)
        mmdx_cohort_set_label(ds.c, i, 1, i % 2 ? 2 : -1); /* "stage": III or unlabelled */
    mmdx_model_t *m;
    mmdx_error_t err;
    ck_assert_int_eq(fit(&ds, NULL, &m, &err), MMDX_EINVAL);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err.object, "stage");
    ck_assert_msg(strstr(err.message, "one class") != NULL, "%s", err.message);
    /* and no labelled patient at all */
    for (size_t i = 0; i < ds.n; i++)
        mmdx_cohort_set_label(ds.c, i, 1, -1);
    ck_assert_int_eq(fit(&ds, NULL, &m, &err), MMDX_EINVAL);
    ck_assert_str_eq(err.object, "stage");
    ds_free(&ds);
}
END_TEST

START_TEST(test_patient_all_missing)
{
    ds_t ds = ds_make(80, 3, 3, 1, 10);
    for (size_t j = 0; j < ds.d; j++) {
        mmdx_cohort_set_missing(ds.c, 7, j); /* a training patient with nothing */
        mmdx_cohort_set_missing(ds.c, 8, j);
    }
    mmdx_model_t *m = fit_ok(&ds, NULL);
    check_model(m, ds.c);
    mmdx_pred_t *p = mmdx_pred_alloc();
    mmdx_error_t err;
    for (size_t t = 0; t < 2; t++) {
        ck_assert_int_eq(mmdx_model_predict(m, ds.c, 7, t, p, &err), MMDX_OK);
        ck_assert(mmdx_pred_flags(p) & MMDX_PRED_NO_EVIDENCE);
        ck_assert_uint_eq(mmdx_pred_n_missing(p), ds.d);
        ck_assert_uint_eq(mmdx_pred_n_top(p, 0), 0);
        for (size_t md = 0; md < mmdx_pred_n_modalities(p); md++) {
            ck_assert(!mmdx_pred_modality_present(p, md));
            ck_assert_double_eq(mmdx_pred_evidence(p, 0, md), 0);
        }
        size_t df;
        double pv;
        mmdx_pred_ood(p, &df, &pv);
        ck_assert_uint_eq(df, 0);
        ck_assert_double_eq(pv, 1);
    }
    mmdx_pred_free(p);
    mmdx_model_free(m);
    ds_free(&ds);
}
END_TEST

START_TEST(test_feature_missing_for_all)
{
    ds_t ds = ds_make(80, 3, 3, 1, 11);
    for (size_t i = 0; i < ds.n; i++) {
        mmdx_cohort_set_missing(ds.c, i, 1); /* imaging feature never seen */
        mmdx_cohort_set_missing(ds.c, i, 5); /* lab feature never seen */
    }
    mmdx_model_t *m = fit_ok(&ds, NULL);
    check_model(m, ds.c);
    /* a new patient who has those features */
    mmdx_cohort_t *one = mmdx_cohort_alloc(ds.s, 1);
    ck_assert_int_eq(mmdx_cohort_set_id(one, 0, "has-all"), MMDX_OK);
    for (size_t j = 0; j < ds.d; j++)
        mmdx_cohort_set(one, 0, j, 3.5, 0);
    check_finite(m, one);
    mmdx_cohort_free(one);
    mmdx_model_free(m);
    ds_free(&ds);
}
END_TEST

START_TEST(test_modality_absent_for_all)
{
    ds_t ds = ds_make(80, 3, 3, 1, 12);
    for (size_t i = 0; i < ds.n; i++)
        for (size_t j = 3; j < 6; j++)
            mmdx_cohort_set_missing(ds.c, i, j); /* no lab at all */
    mmdx_model_t *m = fit_ok(&ds, NULL);
    unsigned flags = check_model(m, ds.c);
    ck_assert(flags & MMDX_PRED_MISSING_MODALITY);
    mmdx_cohort_t *one = mmdx_cohort_alloc(ds.s, 1);
    ck_assert_int_eq(mmdx_cohort_set_id(one, 0, "with-labs"), MMDX_OK);
    for (size_t j = 0; j < ds.d; j++)
        mmdx_cohort_set(one, 0, j, 2.5, 0);
    check_finite(m, one);
    mmdx_pred_t *p = mmdx_pred_alloc();
    mmdx_error_t err;
    ck_assert_int_eq(mmdx_model_predict(m, one, 0, 0, p, &err), MMDX_OK);
    int seen = 0;
    for (size_t md = 0; md < mmdx_pred_n_modalities(p); md++) {
        if (strcmp(mmdx_pred_modality(p, md), "lab") == 0) {
            seen = 1;
            ck_assert(mmdx_pred_modality_present(p, md));
            ck_assert_double_eq(mmdx_pred_evidence(p, 1, md), 0); /* its regression saw nobody */
        }
    }
    ck_assert(seen);
    mmdx_pred_free(p);
    mmdx_cohort_free(one);
    mmdx_model_free(m);
    ds_free(&ds);
}
END_TEST

START_TEST(test_all_values_missing)
{
    /* nothing observed for anybody: the model is the prior (every prediction flagged) */
    ds_t ds = ds_make(40, 2, 2, 1, 13);
    for (size_t i = 0; i < ds.n; i++)
        for (size_t j = 0; j < ds.d; j++)
            mmdx_cohort_set_missing(ds.c, i, j);
    mmdx_model_t *m = fit_ok(&ds, NULL);
    unsigned flags = check_model(m, ds.c);
    ck_assert(flags & MMDX_PRED_NO_EVIDENCE);
    /* the prior: every patient gets the training prevalence's probability */
    double *p = probs(m, ds.c);
    for (size_t i = 1; i < ds.n; i++)
        ck_assert_double_eq_tol(p[i], p[0], 1e-12);
    free(p);
    mmdx_model_free(m);
    ds_free(&ds);
}
END_TEST

START_TEST(test_federated_moments_exact)
{
    /* the first-pass sums of two sites merge to those of one site holding both halves,
     * also with a large offset (the variance must not cancel) */
    mmdx_model_options_t opt;
    mmdx_model_options_init(&opt);
    opt.autolog = MMDX_AUTOLOG_DECLARED;
    ds_t ds = ds_make(120, 3, 2, 0, 14);
    for (size_t i = 0; i < ds.n; i++) {
        double v;
        ck_assert(mmdx_cohort_get(ds.c, i, 0, &v));
        mmdx_cohort_set(ds.c, i, 0, 1e8 + v, 0);
    }
    mmdx_model_t *one = fit_ok(&ds, &opt), *a = NULL, *b = NULL;
    mmdx_cohort_t *site[2] = {mmdx_cohort_slice(ds.c, 0, 50), mmdx_cohort_slice(ds.c, 50, 70)};
    mmdx_error_t err;
    char dir[512], state[600], agg[2][600];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(state, sizeof state, dir, "state.h5");
    tu_path(agg[0], sizeof agg[0], dir, "site0.h5");
    tu_path(agg[1], sizeof agg[1], dir, "site1.h5");
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_alloc(NULL, ds.s, &opt, &a, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_save(a, state, &err), MMDX_OK);
    mmdx_model_free(a);
    int rc = 1;
    while (rc == 1) {
        for (int k = 0; k < 2; k++) { /* each site: state in, its aggregates out */
            ck_assert_int_eq(mmdx_model_load(NULL, state, &b, &err), MMDX_OK);
            ck_assert_int_eq(mmdx_model_accumulate(b, site[k], &err), MMDX_OK);
            ck_assert_int_eq(mmdx_model_save(b, agg[k], &err), MMDX_OK);
            mmdx_model_free(b);
        }
        ck_assert_int_eq(mmdx_model_load(NULL, agg[0], &a, &err), MMDX_OK);
        ck_assert_int_eq(mmdx_model_load(NULL, agg[1], &b, &err), MMDX_OK);
        ck_assert_msg(mmdx_model_merge(a, b, &err) == MMDX_OK, "%s", err.message);
        mmdx_model_free(b);
        rc = mmdx_model_step(a, &err);
        ck_assert_msg(rc >= 0, "step: %s", err.message);
        ck_assert_int_eq(mmdx_model_save(a, state, &err), MMDX_OK);
        mmdx_model_free(a);
    }
    ck_assert_int_eq(mmdx_model_load(NULL, state, &a, &err), MMDX_OK);
    ck_assert(mmdx_model_is_fitted(a));
    tu_rmdir(dir);
    b = NULL;
    double *p1 = probs(one, ds.c), *p2 = probs(a, ds.c);
    for (size_t i = 0; i < ds.n; i++)
        ck_assert_msg(fabs(p1[i] - p2[i]) < 1e-6, "row %zu: federated %.12g, pooled %.12g", i, p2[i], p1[i]);
    check_finite(a, ds.c);
    free(p1);
    free(p2);
    mmdx_cohort_free(site[0]);
    mmdx_cohort_free(site[1]);
    mmdx_model_free(one);
    mmdx_model_free(a);
    mmdx_model_free(b);
    ds_free(&ds);
}
END_TEST

static Suite *numeric_suite(void)
{
    Suite *s = suite_create("numeric");
    TCase *tc = tcase_create("edge");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_constant_feature);
    tcase_add_test(tc, test_duplicated_columns);
    tcase_add_test(tc, test_large_offset);
    tcase_add_test(tc, test_huge_magnitude);
    tcase_add_test(tc, test_tiny_magnitude);
    tcase_add_test(tc, test_huge_with_autolog);
    tcase_add_test(tc, test_huge_at_prediction);
    tcase_add_test(tc, test_n_below_d);
    tcase_add_test(tc, test_class_with_one_patient);
    tcase_add_test(tc, test_one_class_only);
    tcase_add_test(tc, test_patient_all_missing);
    tcase_add_test(tc, test_feature_missing_for_all);
    tcase_add_test(tc, test_modality_absent_for_all);
    tcase_add_test(tc, test_all_values_missing);
    tcase_add_test(tc, test_federated_moments_exact);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(numeric_suite());
    srunner_run_all(r, CK_NORMAL);
    int nf = srunner_ntests_failed(r);
    srunner_free(r);
    return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
