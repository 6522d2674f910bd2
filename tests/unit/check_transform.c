#define _POSIX_C_SOURCE 200809L
/* Check suite of the feature transforms of the fusion model: a proportion declared
 * MMDX_TRANSFORM_LOGIT is modelled as logit(x) (clamped to [0.001, 0.999]) in training and
 * prediction, survives the model file, and values outside [0, 1] are errors naming the patient
 * and the feature (in the model) or rejected records (in the collector). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mmdx/mmdx.h>

#include "testutil.h"


/* The documented clamp of LOGIT features (docs/fusion.md), computed here by hand. */
static double hand_logit(double p)
{
    const double eps = 1e-3;
    p = p < eps ? eps : (p > 1.0 - eps ? 1.0 - eps : p);
    return log(p / (1.0 - p));
}

/* A one-feature space: lab:loinc:frac (a proportion) with transform @p tr, target dx. */
static mmdx_space_t *space_one(mmdx_transform_t tr)
{
    mmdx_space_t *s = mmdx_space_alloc();
    const char *cls[] = {"0", "1"};
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(mmdx_space_add_feature(s, "lab:loinc:frac", MMDX_KIND_CONTINUOUS, "1", tr, NULL), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_target(s, "dx", 2, cls, NULL), MMDX_OK);
    return s;
}

/* n patients whose log-odds are linear in logit(p): p = 1 / (1 + exp(-u)), u ~ N(0, 3.5^2),
 * eta = 0.7 u - 0.3. p[i] (and the labels) filled; some p exactly 0 and 1. */
static void draw(size_t n, uint64_t seed, double *p, int *y)
{
    tu_seed(seed);
    for (size_t i = 0; i < n; i++) {
        double u = 3.5 * tu_nrand();
        p[i] = 1.0 / (1.0 + exp(-u));
        if (i % 97 == 5)
            p[i] = 0.0;
        if (i % 89 == 7)
            p[i] = 1.0;
        double eta = 0.7 * hand_logit(p[i]) - 0.3;
        y[i] = tu_urand() < 1.0 / (1.0 + exp(-eta));
    }
}

/* A cohort over @p s holding values v (labels y when not NULL). */
static mmdx_cohort_t *cohort_of(const mmdx_space_t *s, size_t n, const double *v, const int *y)
{
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, n);
    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < n; i++) {
        char pid[32];
        snprintf(pid, sizeof pid, "P%06zu", i);
        ck_assert_int_eq(mmdx_cohort_set_id(c, i, pid), MMDX_OK);
        mmdx_cohort_set(c, i, 0, v[i], 0);
        if (y)
            mmdx_cohort_set_label(c, i, 0, y[i]);
    }
    return c;
}

static mmdx_model_t *fit(const mmdx_space_t *s, const mmdx_cohort_t *c)
{
    mmdx_model_t *m = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_alloc(NULL, s, NULL, &m, &err), MMDX_OK);
    int rc = mmdx_model_fit(m, c, &err);
    ck_assert_msg(rc == MMDX_OK, "fit: %d %s", rc, err.message);
    return m;
}

/* @p prob: n x 2 classes */
static double log_loss(const double *prob, const int *y, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s -= log(prob[2 * i + (y[i] ? 1 : 0)]);
    return s / (double)n;
}

#define NTR 800
#define NTE 2000

/* The LOGIT model equals a model without transform on logit(p) computed by hand (clamp
 * included): the transform is applied in training (moments, standardisation) and prediction. */
START_TEST(test_logit_is_applied)
{
    static double p[NTR], q[NTR], pa[2 * NTR], pb[2 * NTR]; /* n x 2 classes */
    static int y[NTR];
    mmdx_error_t err;
    draw(NTR, 11, p, y);
    for (size_t i = 0; i < NTR; i++)
        q[i] = hand_logit(p[i]);
    mmdx_space_t *sa = space_one(MMDX_TRANSFORM_LOGIT), *sb = space_one(MMDX_TRANSFORM_NONE);
    mmdx_cohort_t *ca = cohort_of(sa, NTR, p, y), *cb = cohort_of(sb, NTR, q, y);
    mmdx_model_t *ma = fit(sa, ca), *mb = fit(sb, cb);
    ck_assert_int_eq(mmdx_model_feature_transform(ma, 0), MMDX_TRANSFORM_LOGIT);
    ck_assert_int_eq(mmdx_model_feature_transform(mb, 0), MMDX_TRANSFORM_NONE);
    ck_assert_int_eq(mmdx_model_feature_is_log(ma, 0), 0);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_predict_probs(ma, ca, 0, pa, NULL, NULL, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_predict_probs(mb, cb, 0, pb, NULL, NULL, &err), MMDX_OK);
    for (size_t i = 0; i < 2 * NTR; i++)
        ck_assert_msg(fabs(pa[i] - pb[i]) <= 1e-9, "patient %zu: logit model %.12g, hand-transformed %.12g", i,
                      pa[i], pb[i]);
    /* one patient through mmdx_model_predict(): the same probability, and the clamp: 0 is 0.001 */
    mmdx_pred_t *pr = mmdx_pred_alloc();
    ck_assert_ptr_nonnull(pr);
    double edge[3] = {0.0, 1e-3, 1e-6};
    mmdx_cohort_t *ce = cohort_of(sa, 3, edge, NULL);
    double pe[3 * 2];
    ck_assert_int_eq(mmdx_model_predict_probs(ma, ce, 0, pe, NULL, NULL, &err), MMDX_OK);
    ck_assert_double_eq_tol(pe[0 * 2 + 1], pe[1 * 2 + 1], 1e-12);
    ck_assert_double_eq_tol(pe[2 * 2 + 1], pe[1 * 2 + 1], 1e-12);
    ck_assert_int_eq(mmdx_model_predict(ma, ce, 0, 0, pr, &err), MMDX_OK);
    ck_assert_double_eq_tol(mmdx_pred_prob(pr, 1), pe[1], 1e-9);
    /* the predictive distribution of the feature is on the logit scale, and says so */
    double mean, sd;
    int tr = -1;
    ck_assert_int_eq(mmdx_model_feature_predictive(ma, ce, 0, 0, &mean, &sd, &tr, &err), MMDX_OK);
    ck_assert_int_eq(tr, MMDX_TRANSFORM_LOGIT);
    double mq = 0;
    for (size_t i = 0; i < NTR; i++)
        mq += q[i] / NTR;
    ck_assert_double_eq_tol(mean, mq, 1e-6); /* one feature: the marginal mean of logit(p) */
    mmdx_pred_free(pr);
    mmdx_cohort_free(ce);
    mmdx_model_free(ma);
    mmdx_model_free(mb);
    mmdx_cohort_free(ca);
    mmdx_cohort_free(cb);
    mmdx_space_free(sa);
    mmdx_space_free(sb);
}
END_TEST

/* On held-out patients whose log-odds are linear in logit(p), the LOGIT model fits better than
 * the model of the raw proportion. */
START_TEST(test_logit_fits_better)
{
    static double p[NTR], pt[NTE], pa[2 * NTE], pb[2 * NTE];
    static int y[NTR], yt[NTE];
    mmdx_error_t err;
    draw(NTR, 21, p, y);
    draw(NTE, 22, pt, yt);
    mmdx_space_t *sa = space_one(MMDX_TRANSFORM_LOGIT), *sb = space_one(MMDX_TRANSFORM_NONE);
    mmdx_cohort_t *ca = cohort_of(sa, NTR, p, y), *cb = cohort_of(sb, NTR, p, y);
    mmdx_cohort_t *ta = cohort_of(sa, NTE, pt, NULL), *tb = cohort_of(sb, NTE, pt, NULL);
    mmdx_model_t *ma = fit(sa, ca), *mb = fit(sb, cb);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_predict_probs(ma, ta, 0, pa, NULL, NULL, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_predict_probs(mb, tb, 0, pb, NULL, NULL, &err), MMDX_OK);
    double la = log_loss(pa, yt, NTE), lb = log_loss(pb, yt, NTE);
    ck_assert_msg(la < lb - 0.008, "held-out log-loss: logit %.4f, none %.4f", la, lb);
    mmdx_model_free(ma);
    mmdx_model_free(mb);
    mmdx_cohort_free(ca);
    mmdx_cohort_free(cb);
    mmdx_cohort_free(ta);
    mmdx_cohort_free(tb);
    mmdx_space_free(sa);
    mmdx_space_free(sb);
}
END_TEST

/* Values outside [0, 1]: an error naming the patient and the feature, in training and in prediction. */
START_TEST(test_logit_out_of_range)
{
    static double p[NTR];
    static int y[NTR];
    mmdx_error_t err;
    draw(NTR, 31, p, y);
    mmdx_space_t *s = space_one(MMDX_TRANSFORM_LOGIT);
    p[7] = 45.0; /* a percentage where a proportion is expected */
    mmdx_cohort_t *c = cohort_of(s, NTR, p, y);
    mmdx_model_t *m = NULL;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_alloc(NULL, s, NULL, &m, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_fit(m, c, &err), MMDX_ERANGE);
    ck_assert_str_eq(err.object, "lab:loinc:frac");
    ck_assert_msg(strstr(err.message, "P000007") && strstr(err.message, "45") && strstr(err.message, "[0, 1]"),
                  "message: %s", err.message);
    mmdx_model_free(m);
    mmdx_cohort_free(c);
    /* a model fitted on good values refuses a bad one at prediction, naming it */
    p[7] = 0.5;
    c = cohort_of(s, NTR, p, y);
    m = fit(s, c);
    double bad[2] = {0.2, -0.1}, pb[2 * 2];
    mmdx_cohort_t *cb = cohort_of(s, 2, bad, NULL);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_predict_probs(m, cb, 0, pb, NULL, NULL, &err), MMDX_ERANGE);
    ck_assert_msg(strstr(err.message, "P000001") != NULL, "message: %s", err.message);
    ck_assert_str_eq(err.object, "lab:loinc:frac");
    mmdx_pred_t *pr = mmdx_pred_alloc();
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_predict(m, cb, 0, 0, pr, &err), MMDX_OK); /* the good row */
    ck_assert_int_eq(mmdx_model_predict(m, cb, 1, 0, pr, &err), MMDX_ERANGE);
    ck_assert_msg(strstr(err.message, "P000001") != NULL, "message: %s", err.message);
    mmdx_pred_free(pr);
    mmdx_cohort_free(cb);
    mmdx_model_free(m);
    mmdx_cohort_free(c);
    mmdx_space_free(s);
}
END_TEST

/* The transform survives the model file: same predictions, same transform. */
START_TEST(test_logit_file)
{
    static double p[NTR], pa[2 * NTR], pb[2 * NTR];
    static int y[NTR];
    mmdx_error_t err;
    char dir[] = "/tmp/check_transform.XXXXXX", path[600];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/model.h5", dir);
    draw(NTR, 41, p, y);
    mmdx_space_t *s = space_one(MMDX_TRANSFORM_LOGIT);
    mmdx_cohort_t *c = cohort_of(s, NTR, p, y);
    mmdx_model_t *m = fit(s, c), *back = NULL;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_save(m, path, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_load(NULL, path, &back, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_space_feature_transform(mmdx_model_space(back), 0), MMDX_TRANSFORM_LOGIT);
    ck_assert_int_eq(mmdx_model_feature_transform(back, 0), MMDX_TRANSFORM_LOGIT);
    ck_assert_int_eq(mmdx_model_predict_probs(m, c, 0, pa, NULL, NULL, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_predict_probs(back, c, 0, pb, NULL, NULL, &err), MMDX_OK);
    ck_assert_int_eq(memcmp(pa, pb, sizeof pa), 0);
    mmdx_model_free(back);
    mmdx_model_free(m);
    mmdx_cohort_free(c);
    mmdx_space_free(s);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* The collector rejects a value outside [0, 1] of a LOGIT feature as a record, naming it. */
START_TEST(test_logit_collect)
{
    mmdx_space_t *s = space_one(MMDX_TRANSFORM_LOGIT);
    mmdx_collect_t *col = mmdx_collect_alloc(NULL, s, MMDX_AGG_LATEST);
    ck_assert_ptr_nonnull(col);
    const mmdx_sink_t *sink = mmdx_collect_sink(col);
    mmdx_obs_t o;
    memset(&o, 0, sizeof o);
    o.feature = "lab:loinc:frac";
    o.kind = MMDX_OBS_CONTINUOUS;
    o.unit = "1";
    o.time = MMDX_TIME_UNKNOWN;
    o.patient = "A";
    o.value = 0.25;
    o.provenance = "labs.xml:3";
    ck_assert_int_eq(sink->obs(sink->data, &o), MMDX_OK);
    o.patient = "B";
    o.value = 25;
    o.provenance = "labs.xml:9";
    ck_assert_int_eq(sink->obs(sink->data, &o), MMDX_OK);
    ck_assert_uint_eq(mmdx_collect_n_rejects(col), 1);
    const char *patient, *file, *reason;
    long record;
    int code;
    ck_assert_int_eq(mmdx_collect_reject(col, 0, &patient, &file, &record, &code, &reason), MMDX_OK);
    ck_assert_str_eq(patient, "B");
    ck_assert_int_eq(code, MMDX_ERANGE);
    ck_assert_int_eq(record, 9);
    ck_assert_msg(strstr(reason, "[0, 1]") && strstr(reason, "lab:loinc:frac"), "reason: %s", reason);
    mmdx_collect_free(col);
    mmdx_space_free(s);
}
END_TEST

static Suite *transform_suite(void)
{
    Suite *s = suite_create("transform");
    TCase *t = tcase_create("logit");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_logit_is_applied);
    tcase_add_test(t, test_logit_fits_better);
    tcase_add_test(t, test_logit_out_of_range);
    tcase_add_test(t, test_logit_file);
    tcase_add_test(t, test_logit_collect);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(transform_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
