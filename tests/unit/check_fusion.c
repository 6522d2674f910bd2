#define _POSIX_C_SOURCE 200809L
/* Check suite of the fusion layer: kernels (logistic, Gaussian feature model),
 * metrics, the model (training, prediction, degenerate problems, multi-class,
 * missing values, federated merge) and the WDBC accuracy check. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include <lapacke.h>
#include <hdf5.h>
#include <mmdx/mmdx.h>
#include "logistic.h"
#include "gauss.h"
#include "model_internal.h"
#include "testutil.h"

/* ------------------------------------------------------------------ helpers */


/* Synthetic cohort: features img:a:x0.., lab:loinc:l0.. (D each modality), one binary
 * target "dx" with logit = sum(beta * x), optional missing fraction. */
typedef struct synth {
    mmdx_space_t *space;
    mmdx_cohort_t *c;
    double *eta; /* true log-odds per patient */
} synth_t;

static synth_t synth_make(size_t n, size_t d_img, size_t d_lab, double miss, uint64_t seed, double scale)
{
    synth_t s;
    tu_seed(seed);
    s.space = mmdx_space_alloc();
    ck_assert_ptr_nonnull(s.space);
    char id[64];
    for (size_t j = 0; j < d_img + d_lab; j++) {
        if (j < d_img) {
            snprintf(id, sizeof(id), "img:a:x%zu", j);
        } else {
            snprintf(id, sizeof(id), "lab:loinc:l%zu", j - d_img);
        }
        ck_assert_int_eq(mmdx_space_add_feature(s.space, id, MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL),
                         MMDX_OK);
    }
    const char *cls[] = {"0", "1"};
    ck_assert_int_eq(mmdx_space_add_target(s.space, "dx", 2, cls, NULL), MMDX_OK);
    s.c = mmdx_cohort_alloc(s.space, n);
    ck_assert_ptr_nonnull(s.c);
    s.eta = malloc(n * sizeof(double));
    size_t D = d_img + d_lab;
    for (size_t i = 0; i < n; i++) {
        char pid[32];
        snprintf(pid, sizeof(pid), "P%06zu", i);
        ck_assert_int_eq(mmdx_cohort_set_id(s.c, i, pid), MMDX_OK);
        double common = tu_nrand(), eta = -0.5;
        for (size_t j = 0; j < D; j++) {
            double x = 0.6 * common + 0.8 * tu_nrand();
            eta += scale * (j % 2 ? 0.5 : -0.7) * x;
            if (tu_urand() >= miss) {
                mmdx_cohort_set(s.c, i, j, 3.0 + x, 0);
            }
        }
        s.eta[i] = eta;
        mmdx_cohort_set_label(s.c, i, 0, tu_urand() < 1 / (1 + exp(-eta)));
    }
    return s;
}

static void synth_free(synth_t *s)
{
    mmdx_cohort_free(s->c);
    mmdx_space_free(s->space);
    free(s->eta);
}

static void assert_finite_probs(const double *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(isfinite(p[i]) && p[i] >= 0 && p[i] <= 1, "probability %zu = %g", i, p[i]);
    }
}

/* ------------------------------------------------------------------ kernels */

START_TEST(test_logistic_mode)
{
    /* the Newton iterations reach the mode: gradient of the log-posterior ~ 0 */
    size_t n = 200, d = 4;
    double X[200 * 4], y[200], beta[4] = {0}, m0[4] = {0}, prec0[4] = {0.04, 1, 1, 1};
    double g[4], H[16], L[20], work[200 * 4 + 200], ll;
    tu_seed(7);
    for (size_t i = 0; i < n; i++) {
        X[i] = 1;
        for (size_t j = 1; j < d; j++) {
            X[j * n + i] = tu_nrand();
        }
        y[i] = tu_urand() < fz_sigmoid(0.3 + X[n + i] - 2 * X[2 * n + i]);
    }
    double step = 1;
    for (int it = 0; it < 30 && step > 1e-12; it++) {
        memset(g, 0, sizeof(g));
        memset(H, 0, sizeof(H));
        ll = 0;
        fz_logistic_accumulate(n, d, X, n, y, NULL, beta, g, H, &ll, work);
        ck_assert_int_eq(fz_logistic_newton(d, beta, m0, prec0, g, H, L, &step), 0);
    }
    ck_assert_double_lt(step, 1e-10);
    /* recompute the gradient at the mode by hand */
    for (size_t j = 0; j < d; j++) {
        double gj = -prec0[j] * (beta[j] - m0[j]);
        for (size_t i = 0; i < n; i++) {
            double e = 0;
            for (size_t k = 0; k < d; k++) {
                e += X[k * n + i] * beta[k];
            }
            gj += X[j * n + i] * (y[i] - fz_sigmoid(e));
        }
        ck_assert_double_lt(fabs(gj), 1e-8);
    }
    ck_assert_double_gt(beta[1], 0.3);
    ck_assert_double_lt(beta[2], -0.8);
    /* predictive variance equals x^T A^{-1} x with A inverted by LAPACK */
    double Ainv[16];
    memcpy(Ainv, L, sizeof(Ainv));
    ck_assert_int_eq(LAPACKE_dpotri(LAPACK_COL_MAJOR, 'L', (int)d, Ainv, (int)d), 0);
    double var[200];
    fz_logistic_linvar(n, d, X, n, L, var, work);
    for (size_t i = 0; i < 5; i++) {
        double q = 0;
        for (size_t a = 0; a < d; a++) {
            for (size_t b = 0; b < d; b++) {
                double Aab = a >= b ? Ainv[b * d + a] : Ainv[a * d + b];
                q += X[a * n + i] * Aab * X[b * n + i];
            }
        }
        ck_assert_double_eq_tol(var[i], q, 1e-12 * (1 + q));
    }
}
END_TEST

START_TEST(test_moderate)
{
    /* probit approximation vs numerical integration of sigmoid over N(mu, var) */
    double mus[] = {-3, 0.5, 2}, vars[] = {0.1, 1, 4};
    for (int a = 0; a < 3; a++) {
        for (int b = 0; b < 3; b++) {
            double mu = mus[a], v = vars[b], s = 0, h = 1e-3;
            for (double t = -10; t <= 10; t += h) {
                s += fz_sigmoid(mu + sqrt(v) * t) * exp(-t * t / 2) / sqrt(6.283185307179586) * h;
            }
            ck_assert_double_eq_tol(fz_sigmoid(fz_moderate(mu, v)), s, 0.02);
        }
    }
    ck_assert_double_eq(fz_moderate(1.5, 0), 1.5);
    ck_assert(isfinite(fz_log1pexp(800)) && isfinite(fz_sigmoid(-800)));
}
END_TEST

START_TEST(test_gauss_condition)
{
    /* conditional mean and variance against the textbook formula on a 3 x 3 covariance */
    double Sigma[9] = {1.0, 0.5, 0.2, 0.5, 1.0, 0.3, 0.2, 0.3, 1.0};
    fz_cond_t *c = fz_cond_alloc(3);
    ck_assert_ptr_nonnull(c);
    unsigned char obs[3] = {1, 0, 1};
    ck_assert_int_eq(fz_cond_set(c, Sigma, obs), 0);
    double z[3] = {1.2, 99, -0.4};
    double d2 = fz_cond_impute(c, z);
    /* Sigma_OO = [1 .2; .2 1], Sigma_MO = [.5 .3] */
    double det = 1 - 0.04;
    double i00 = 1 / det, i01 = -0.2 / det;
    double w0 = i00 * 1.2 + i01 * -0.4, w1 = i01 * 1.2 + i00 * -0.4;
    ck_assert_double_eq_tol(z[1], 0.5 * w0 + 0.3 * w1, 1e-12);
    ck_assert_double_eq_tol(d2, 1.2 * w0 - 0.4 * w1, 1e-12);
    double beta[3] = {0.7, 2.0, -1.0}, work[8];
    double cv = 1 - (0.5 * (i00 * 0.5 + i01 * 0.3) + 0.3 * (i01 * 0.5 + i00 * 0.3));
    ck_assert_double_eq_tol(fz_cond_variance(c, Sigma, beta, work), 4.0 * cv, 1e-12);
    double mean, var;
    fz_cond_feature(c, Sigma, z, 1, &mean, &var, work);
    ck_assert_double_eq_tol(mean, z[1], 1e-12);
    ck_assert_double_eq_tol(var, cv, 1e-12);
    fz_cond_free(c);
}
END_TEST

/* A random covariance of D x D (D <= 12): 2 I + A'A / D with A standard normal from
 * tu_seed(seed). */
static void random_spd(size_t D, uint64_t seed, double *Sigma)
{
    double A[12 * 12];
    ck_assert_uint_le(D, 12);
    tu_seed(seed);
    for (size_t i = 0; i < D * D; i++) {
        A[i] = tu_nrand();
    }
    for (size_t i = 0; i < D; i++) {
        for (size_t j = 0; j < D; j++) {
            double v = i == j ? 2.0 : 0.0;
            for (size_t k = 0; k < D; k++) {
                v += A[k * D + i] * A[k * D + j] / D;
            }
            Sigma[j * D + i] = v;
        }
    }
}

START_TEST(test_gauss_precision_form)
{
    /* the precision-form imputation (per-patient factors stored by rows) against the
     * covariance form (LAPACK) on a 12 x 12 covariance with 5 missing features */
    enum { D = 12 };
    double Sigma[D * D], Lambda[D * D];
    random_spd(D, 77, Sigma);
    ck_assert_int_eq(fz_gauss_precision(D, Sigma, Lambda), 0);
    unsigned char obs[D];
    double ob[D], z[D], zc[D], zm[D], zw[D], w[D], beta[D];
    for (size_t j = 0; j < D; j++) {
        obs[j] = j % 5 != 1 && j != 7;
        ob[j] = obs[j];
        z[j] = obs[j] ? tu_nrand() : 0.0;
        beta[j] = tu_nrand();
    }
    fz_cond_t *c = fz_cond_alloc(D);
    ck_assert_int_eq(fz_cond_set(c, Sigma, obs), 0);
    memcpy(zc, z, sizeof(z));
    double d2c = fz_cond_impute(c, zc), work[2 * D];
    double vc = fz_cond_variance(c, Sigma, beta, work);
    fz_prow_t *r = fz_prow_alloc(D);
    ck_assert_ptr_nonnull(r);
    int ok;
    memcpy(zm, z, sizeof(z));
    fz_prow_impute_mean(r, Lambda, zm, 1, ob, 1, &ok);
    ck_assert(ok);
    double vm = fz_prow_variance(r, beta);
    for (size_t i = 0; i < D; i++) {
        w[i] = 0;
        for (size_t j = 0; j < D; j++) {
            w[i] += Lambda[j * D + i] * z[j];
        }
    }
    memcpy(zw, z, sizeof(z));
    double d2p = fz_prow_impute(r, Lambda, zw, 1, ob, 1, w, 1, &ok);
    ck_assert(ok);
    ck_assert_double_eq_tol(d2p, d2c, 1e-10);
    ck_assert_double_eq_tol(vm, vc, 1e-10);
    ck_assert_double_eq_tol(fz_prow_variance(r, beta), vc, 1e-10);
    double zi[D];
    memcpy(zi, z, sizeof(z));
    fz_prow_impute_w(r, Lambda, zi, 1, ob, 1, w, 1, &ok);
    ck_assert(ok);
    for (size_t j = 0; j < D; j++) {
        ck_assert_double_eq_tol(zm[j], zc[j], 1e-10);
        ck_assert_double_eq_tol(zw[j], zc[j], 1e-10);
        ck_assert_double_eq_tol(zi[j], zc[j], 1e-10);
    }
    fz_prow_factor(r, Lambda, ob, 1, &ok);
    ck_assert(ok);
    ck_assert_double_eq_tol(fz_prow_variance(r, beta), vc, 1e-10);
    fz_prow_free(r);
    fz_cond_free(c);
}
END_TEST

/* The scoring kernel: fz_prow_score() against the covariance form for 1..9 missing
 * features; without the row (z NULL: training's stacking pass) the same variances to the
 * bit; fz_prow_score2() of two rows the same bits as one at a time. */
START_TEST(test_prow_score)
{
    enum { D = 12, NV = 2 };
    double Sigma[D * D], Lambda[D * D];
    random_spd(D, 78, Sigma);
    ck_assert_int_eq(fz_gauss_precision(D, Sigma, Lambda), 0);
    double b0[D], b1[D], work[2 * (D + 1 + NV) * D + 5 * D];
    for (size_t j = 0; j < D; j++) {
        b0[j] = tu_nrand();
        b1[j] = tu_nrand();
    }
    const double *beta[NV] = {b0, b1};
    fz_cond_t *c = fz_cond_alloc(D);
    ck_assert_ptr_nonnull(c);
    for (size_t nm = 1; nm < 10; nm++) {
        unsigned char obs[D];
        size_t mi[D], mi2[D];
        double z[D], zc[D], zs[D], z2[2][D], var[NV], var0[NV], v2[2][NV], v20[2][NV];
        for (size_t j = 0; j < D; j++) {
            obs[j] = 1;
        }
        for (size_t q = 0; q < nm; q++) { /* spread over the features, ascending */
            mi[q] = q * D / nm;
            mi2[q] = D - 1 - (nm - 1 - q) * D / nm;
            obs[mi[q]] = 0;
        }
        for (size_t j = 0; j < D; j++) {
            z[j] = obs[j] ? tu_nrand() : 0.0;
        }
        ck_assert_int_eq(fz_cond_set(c, Sigma, obs), 0);
        memcpy(zc, z, sizeof(z));
        fz_cond_impute(c, zc);
        memcpy(zs, z, sizeof(z));
        ck_assert_int_eq(fz_prow_score(D, Lambda, zs, 1, mi, nm, beta, NV, var, work), 0);
        for (size_t j = 0; j < D; j++) {
            ck_assert_double_eq_tol(zs[j], zc[j], 1e-10);
        }
        for (size_t v = 0; v < NV; v++) {
            double w2[2 * D];
            ck_assert_double_eq_tol(var[v], fz_cond_variance(c, Sigma, beta[v], w2), 1e-10);
        }
        ck_assert_int_eq(fz_prow_score(D, Lambda, NULL, 1, mi, nm, beta, NV, var0, work), 0);
        ck_assert_msg(memcmp(var, var0, sizeof(var)) == 0, "%zu missing: variances without the row differ", nm);
        if (nm < 3) {
            continue;
        }
        /* two rows: this one and another pattern of as many missing features */
        double zb[D], vb[NV];
        for (size_t j = 0; j < D; j++) {
            zb[j] = tu_nrand();
        }
        for (size_t q = 0; q < nm; q++) {
            zb[mi2[q]] = 0;
        }
        memcpy(z2[0], z, sizeof(z));
        memcpy(z2[1], zb, sizeof(zb));
        ck_assert_int_eq(fz_prow_score(D, Lambda, zb, 1, mi2, nm, beta, NV, vb, work), 0);
        double *zp[2] = {z2[0], z2[1]}, *vp[2] = {v2[0], v2[1]}, *vp0[2] = {v20[0], v20[1]};
        const size_t *mp[2] = {mi, mi2};
        ck_assert_int_eq(fz_prow_score2(D, Lambda, zp, 1, mp, nm, beta, NV, vp, work), 0);
        ck_assert_int_eq(fz_prow_score2(D, Lambda, NULL, 1, mp, nm, beta, NV, vp0, work), 0);
        ck_assert(memcmp(z2[0], zs, sizeof(zs)) == 0 && memcmp(z2[1], zb, sizeof(zb)) == 0);
        ck_assert(memcmp(v2[0], var, sizeof(var)) == 0 && memcmp(v2[1], vb, sizeof(vb)) == 0);
        ck_assert(memcmp(v20, v2, sizeof(v2)) == 0);
    }
    fz_cond_free(c);
}
END_TEST

START_TEST(test_gauss_covariance)
{
    /* statistics over two chunks equal those over the whole; shrinkage keeps it PD */
    size_t n = 50, D = 3;
    double Z[150], O[150], S1[9] = {0}, N1[9] = {0}, S2[9] = {0}, N2[9] = {0};
    tu_seed(3);
    for (size_t i = 0; i < n * D; i++) {
        O[i] = tu_urand() < 0.8;
        Z[i] = O[i] ? tu_nrand() : 0;
    }
    fz_gauss_accumulate(n, D, Z, O, n, S1, N1);
    fz_gauss_accumulate(20, D, Z, O, n, S2, N2);
    fz_gauss_accumulate(30, D, Z + 20, O + 20, n, S2, N2);
    for (size_t k = 0; k < 9; k++) {
        ck_assert_double_eq_tol(S1[k], S2[k], 1e-12);
        ck_assert_double_eq(N1[k], N2[k]);
    }
    double Sig[9];
    fz_gauss_covariance(D, S1, N1, 5, Sig);
    ck_assert_int_eq(LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', 3, Sig, 3), 0);
}
END_TEST

/* ------------------------------------------------------------------ metrics */

START_TEST(test_metrics)
{
    double s[] = {0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.1};
    int y[] = {1, 1, 0, 1, -1, 0, 1, 0};
    /* pairs: positives {.9,.8,.6,.3} vs negatives {.7,.4,.1}: wins 3+3+2+1 = 9 of 12 */
    ck_assert_double_eq_tol(mmdx_metric_auroc(s, y, 8), 9.0 / 12, 1e-12);
    /* AP: precisions at each positive 1, 1, 3/4, 4/6 -> mean */
    ck_assert_double_eq_tol(mmdx_metric_auprc(s, y, 8), (1 + 1 + 0.75 + 4.0 / 6) / 4, 1e-12);
    double ll = -(log(0.9) + log(0.8) + log(0.3) + log(0.6) + log(0.6) + log(0.3) + log(0.9)) / 7;
    ck_assert_double_eq_tol(mmdx_metric_logloss(s, y, 8), ll, 1e-12);
    double lo, hi;
    ck_assert_int_eq(mmdx_metric_auroc_ci(s, y, 8, 200, 0.95, 1, &lo, &hi), MMDX_OK);
    ck_assert(lo <= 0.75 && hi >= 0.75 && lo >= 0 && hi <= 1);
    double p[] = {0.05, 0.05, 0.95, 0.95};
    int yy[] = {0, 1, 1, 1};
    /* bin 0: mean .05, freq .5; bin 9: mean .95 freq 1 */
    ck_assert_double_eq_tol(mmdx_metric_ece(p, yy, 4, 10), 0.5 * 0.45 + 0.5 * 0.05, 1e-12);
    int lab[103];
    unsigned fold[103];
    for (int i = 0; i < 103; i++) {
        lab[i] = i % 3 == 0;
    }
    ck_assert_int_eq(mmdx_stratified_folds(lab, 103, 10, 5, fold), MMDX_OK);
    for (unsigned f = 0; f < 10; f++) {
        int n1 = 0, n = 0;
        for (int i = 0; i < 103; i++) {
            n += fold[i] == f;
            n1 += fold[i] == f && lab[i];
        }
        ck_assert(n == 10 || n == 11);
        ck_assert(n1 == 3 || n1 == 4);
    }
}
END_TEST

/* ------------------------------------------------------------------ model */

static mmdx_model_t *fit_default(const mmdx_space_t *space, const mmdx_cohort_t *c)
{
    mmdx_model_t *m = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_alloc(NULL, space, NULL, &m, &err), MMDX_OK);
    int rc = mmdx_model_fit(m, c, &err);
    ck_assert_msg(rc == 0, "fit: %d %s", rc, err.message);
    ck_assert(mmdx_model_is_fitted(m));
    return m;
}

START_TEST(test_model_synthetic)
{
    synth_t tr = synth_make(600, 4, 3, 0.0, 11, 1.0), te = synth_make(600, 4, 3, 0.0, 12, 1.0);
    mmdx_model_t *m = fit_default(tr.space, tr.c);
    ck_assert_uint_eq(mmdx_model_n_modalities(m), 2);
    ck_assert_str_eq(mmdx_model_modality(m, 0), "img:a");
    ck_assert_str_eq(mmdx_model_modality(m, 1), "lab");
    ck_assert_uint_eq(mmdx_model_n_train(m, 0), 600);
    double *p = malloc(2 * 600 * sizeof(double)), *lo = malloc(2 * 600 * sizeof(double)),
           *hi = malloc(2 * 600 * sizeof(double)), *p1 = malloc(600 * sizeof(double));
    int *y = malloc(600 * sizeof(int));
    mmdx_error_t err;
    ck_assert_int_eq(mmdx_model_predict_probs(m, te.c, 0, p, lo, hi, &err), MMDX_OK);
    assert_finite_probs(p, 1200);
    for (size_t i = 0; i < 600; i++) {
        p1[i] = p[2 * i + 1];
        y[i] = mmdx_cohort_label(te.c, i, 0);
        ck_assert_double_eq_tol(p[2 * i] + p[2 * i + 1], 1, 1e-12);
        ck_assert(lo[2 * i + 1] <= hi[2 * i + 1]);
    }
    /* against the Bayes-optimal predictor (the true log-odds) */
    double auc = mmdx_metric_auroc(p1, y, 600), best = mmdx_metric_auroc(te.eta, y, 600);
    ck_assert_msg(auc > best - 0.02, "AUROC %g, Bayes-optimal %g", auc, best);
    double *po = malloc(600 * sizeof(double));
    for (size_t i = 0; i < 600; i++) {
        po[i] = 1 / (1 + exp(-te.eta[i]));
    }
    double ll = mmdx_metric_logloss(p1, y, 600), llo = mmdx_metric_logloss(po, y, 600);
    ck_assert_msg(ll < llo + 0.03, "log-loss %g, Bayes-optimal %g", ll, llo);
    free(po);
    ck_assert_double_lt(mmdx_metric_ece(p1, y, 600, 10), 0.06);
    /* one prediction in detail agrees with the fast path and explains itself */
    mmdx_pred_t *pr = mmdx_pred_alloc();
    ck_assert_int_eq(mmdx_model_predict(m, te.c, 5, 0, pr, &err), MMDX_OK);
    ck_assert_str_eq(mmdx_pred_patient(pr), "P000005");
    ck_assert_str_eq(mmdx_pred_target_name(pr), "dx");
    ck_assert_double_eq_tol(mmdx_pred_prob(pr, 1), p[11], 1e-12);
    double mean, sd, sum = mmdx_pred_prior_logodds(pr, 1);
    mmdx_pred_logodds(pr, 1, &mean, &sd);
    /* prior + intercept offset + evidence = posterior mean log-odds: check evidence sums
     * are finite and the two modalities are present */
    ck_assert_uint_eq(mmdx_pred_n_modalities(pr), 2);
    for (size_t k = 0; k < 2; k++) {
        ck_assert(mmdx_pred_modality_present(pr, k));
        ck_assert(isfinite(mmdx_pred_evidence(pr, 1, k)));
        ck_assert_double_eq(mmdx_pred_evidence(pr, 1, k), -mmdx_pred_evidence(pr, 0, k));
        sum += mmdx_pred_evidence(pr, 1, k);
    }
    ck_assert(isfinite(sum) && isfinite(mean) && sd > 0);
    ck_assert_uint_eq(mmdx_pred_n_top(pr, 1), 5);
    double c0, c1;
    mmdx_pred_top_feature(pr, 1, 0, &c0);
    mmdx_pred_top_feature(pr, 1, 1, &c1);
    ck_assert(fabs(c0) >= fabs(c1));
    ck_assert_uint_eq(mmdx_pred_n_missing(pr), 0);
    ck_assert_uint_eq(mmdx_pred_flags(pr) & (MMDX_PRED_NO_EVIDENCE | MMDX_PRED_MISSING_MODALITY), 0);
    size_t df;
    double pv;
    mmdx_pred_ood(pr, &df, &pv);
    ck_assert_uint_eq(df, 7);
    ck_assert(pv > 0 && pv <= 1);
    mmdx_pred_free(pr);
    free(p);
    free(lo);
    free(hi);
    free(p1);
    free(y);
    mmdx_model_free(m);
    synth_free(&tr);
    synth_free(&te);
}
END_TEST

START_TEST(test_model_missing)
{
    /* missing features widen the interval; a patient with nothing gets the no-evidence flag */
    synth_t tr = synth_make(500, 3, 4, 0.15, 21, 1.0);
    mmdx_model_t *m = fit_default(tr.space, tr.c);
    mmdx_cohort_t *one = mmdx_cohort_alloc(tr.space, 3);
    ck_assert_int_eq(mmdx_cohort_set_id(one, 0, "full"), MMDX_OK);
    ck_assert_int_eq(mmdx_cohort_set_id(one, 1, "partial"), MMDX_OK);
    ck_assert_int_eq(mmdx_cohort_set_id(one, 2, "empty"), MMDX_OK);
    for (size_t j = 0; j < 7; j++) {
        mmdx_cohort_set(one, 0, j, 3.5, 0);
        if (j != 4 && j != 5) {
            mmdx_cohort_set(one, 1, j, 3.5, 0);
        }
    }
    mmdx_pred_t *a = mmdx_pred_alloc(), *b = mmdx_pred_alloc();
    mmdx_error_t err;
    ck_assert_int_eq(mmdx_model_predict(m, one, 0, 0, a, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_predict(m, one, 1, 0, b, &err), MMDX_OK);
    double sa, sb;
    mmdx_pred_logodds(a, 1, NULL, &sa);
    mmdx_pred_logodds(b, 1, NULL, &sb);
    ck_assert_msg(sb > sa, "missing values should widen: %g vs %g", sb, sa);
    ck_assert_uint_eq(mmdx_pred_n_missing(b), 2);
    ck_assert_str_eq(mmdx_pred_missing_feature(b, 0), "lab:loinc:l1");
    ck_assert(mmdx_pred_flags(b) & MMDX_PRED_IMPUTED);
    ck_assert_int_eq(mmdx_model_predict(m, one, 2, 0, a, &err), MMDX_OK);
    ck_assert(mmdx_pred_flags(a) & MMDX_PRED_NO_EVIDENCE);
    ck_assert(isfinite(mmdx_pred_prob(a, 1)));
    ck_assert_double_eq(mmdx_pred_evidence(a, 1, 0), 0);
    /* the feature model's predictive of a missing lab */
    double mean, sd;
    int lg;
    ck_assert_int_eq(mmdx_model_feature_predictive(m, one, 1, 4, &mean, &sd, &lg, &err), MMDX_OK);
    ck_assert(isfinite(mean) && sd > 0 && sd < 2);
    mmdx_pred_free(a);
    mmdx_pred_free(b);
    mmdx_cohort_free(one);
    mmdx_model_free(m);
    synth_free(&tr);
}
END_TEST

START_TEST(test_model_unseen_modality)
{
    /* a modality no labelled training patient had carries no evidence at prediction */
    synth_t tr = synth_make(300, 3, 2, 0.0, 71, 1.0);
    for (size_t i = 0; i < 300; i++) {
        for (size_t j = 3; j < 5; j++) {
            if (mmdx_cohort_label(tr.c, i, 0) >= 0 && i % 10 != 0) {
                mmdx_cohort_set_missing(tr.c, i, j);
            }
        }
        if (i % 10 == 0) {
            mmdx_cohort_set_label(tr.c, i, 0, -1); /* labs only in unlabelled patients */
        }
    }
    mmdx_model_t *m = fit_default(tr.space, tr.c);
    mmdx_pred_t *p = mmdx_pred_alloc();
    mmdx_error_t err;
    ck_assert_int_eq(mmdx_model_predict(m, tr.c, 0, 0, p, &err), MMDX_OK);
    ck_assert_str_eq(mmdx_pred_modality(p, 1), "lab");
    ck_assert(mmdx_pred_modality_present(p, 1));
    ck_assert_double_eq(mmdx_pred_evidence(p, 1, 1), 0);
    ck_assert(mmdx_pred_evidence(p, 1, 0) != 0);
    double pr[600];
    ck_assert_int_eq(mmdx_model_predict_probs(m, tr.c, 0, pr, NULL, NULL, &err), MMDX_OK);
    ck_assert_double_eq_tol(pr[1], mmdx_pred_prob(p, 1), 1e-12);
    mmdx_pred_free(p);
    mmdx_model_free(m);
    synth_free(&tr);
}
END_TEST

START_TEST(test_model_degenerate)
{
    /* N < D, constant and collinear features, separable classes: finite, never NaN */
    mmdx_space_t *s = mmdx_space_alloc();
    char id[32];
    for (int j = 0; j < 40; j++) {
        snprintf(id, sizeof(id), "img:q:f%d", j);
        ck_assert_int_eq(mmdx_space_add_feature(s, id, MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_AUTO, NULL),
                         MMDX_OK);
    }
    const char *cls[] = {"0", "1"};
    ck_assert_int_eq(mmdx_space_add_target(s, "sep", 2, cls, NULL), MMDX_OK);
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, 12);
    tu_seed(5);
    for (size_t i = 0; i < 12; i++) {
        char pid[16];
        snprintf(pid, sizeof(pid), "s%zu", i);
        ck_assert_int_eq(mmdx_cohort_set_id(c, i, pid), MMDX_OK);
        int yi = i % 2;
        double x = yi ? 5 + tu_urand() : -5 - tu_urand(); /* separable */
        mmdx_cohort_set(c, i, 0, x, 0);
        mmdx_cohort_set(c, i, 1, 2 * x, 0);   /* collinear */
        mmdx_cohort_set(c, i, 2, 7.0, 0);     /* constant */
        for (size_t j = 3; j < 40; j++) {
            mmdx_cohort_set(c, i, j, tu_nrand(), 0);
        }
        mmdx_cohort_set_label(c, i, 0, yi);
    }
    mmdx_model_t *m = fit_default(s, c);
    double p[24];
    mmdx_error_t err;
    ck_assert_int_eq(mmdx_model_predict_probs(m, c, 0, p, NULL, NULL, &err), MMDX_OK);
    assert_finite_probs(p, 24);
    for (size_t i = 0; i < 12; i++) {
        ck_assert_int_eq(p[2 * i + 1] > 0.5, (int)(i % 2));
    }
    mmdx_model_free(m);
    /* a target with one class is refused, naming it */
    for (size_t i = 0; i < 12; i++) {
        mmdx_cohort_set_label(c, i, 0, 1);
    }
    ck_assert_int_eq(mmdx_model_alloc(NULL, s, NULL, &m, &err), MMDX_OK);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_fit(m, c, &err), MMDX_EINVAL);
    ck_assert_str_eq(err.object, "sep");
    mmdx_model_free(m);
    mmdx_cohort_free(c);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_model_multiclass)
{
    mmdx_space_t *s = mmdx_space_alloc();
    ck_assert_int_eq(mmdx_space_add_feature(s, "lab:loinc:a", MMDX_KIND_CONTINUOUS, NULL, 0, NULL), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(s, "demo:sex", MMDX_KIND_CATEGORICAL, NULL, 0, NULL), MMDX_OK);
    size_t lv;
    ck_assert_int_eq(mmdx_space_add_level(s, 1, "F", &lv), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_level(s, 1, "M", &lv), MMDX_OK);
    const char *cls[] = {"low", "mid", "high"};
    ck_assert_int_eq(mmdx_space_add_target(s, "grade", 3, cls, NULL), MMDX_OK);
    size_t n = 900;
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, n);
    tu_seed(9);
    for (size_t i = 0; i < n; i++) {
        char pid[16];
        snprintf(pid, sizeof(pid), "m%zu", i);
        ck_assert_int_eq(mmdx_cohort_set_id(c, i, pid), MMDX_OK);
        int k = (int)(i % 3);
        mmdx_cohort_set(c, i, 0, 10 + 2 * k + tu_nrand(), 0);
        mmdx_cohort_set(c, i, 1, tu_urand() < (k == 2 ? 0.8 : 0.3), 0);
        mmdx_cohort_set_label(c, i, 0, k);
    }
    mmdx_model_t *m = fit_default(s, c);
    double *p = malloc(3 * n * sizeof(double));
    mmdx_error_t err;
    ck_assert_int_eq(mmdx_model_predict_probs(m, c, 0, p, NULL, NULL, &err), MMDX_OK);
    size_t right = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_double_eq_tol(p[3 * i] + p[3 * i + 1] + p[3 * i + 2], 1, 1e-12);
        size_t best = 0;
        for (size_t k = 1; k < 3; k++) {
            best = p[3 * i + k] > p[3 * i + best] ? k : best;
        }
        right += best == i % 3;
    }
    ck_assert_msg(right > n * 0.6, "accuracy %zu / %zu", right, n);
    mmdx_pred_t *pr = mmdx_pred_alloc();
    ck_assert_int_eq(mmdx_model_predict(m, c, 2, 0, pr, &err), MMDX_OK);
    ck_assert_uint_eq(mmdx_pred_n_classes(pr), 3);
    ck_assert_str_eq(mmdx_pred_class_name(pr, mmdx_pred_best_class(pr)), "high");
    ck_assert_uint_eq(mmdx_pred_n_modalities(pr), 2);
    mmdx_pred_free(pr);
    free(p);
    mmdx_model_free(m);
    mmdx_cohort_free(c);
    mmdx_space_free(s);
}
END_TEST

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_fusion.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    }
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
    return buf[k];
}

/* three sites with disjoint rows exchange only model files (aggregates): the
 * coordinator reaches the pooled model */
static void federated_case(size_t d_img, size_t d_lab, double scale)
{
    synth_t all = synth_make(900, d_img, d_lab, 0.1, 31, scale);
    mmdx_model_t *pooled = fit_default(all.space, all.c);
    mmdx_cohort_t *site[3];
    site[0] = mmdx_cohort_slice(all.c, 0, 250);
    site[1] = mmdx_cohort_slice(all.c, 250, 400);
    site[2] = mmdx_cohort_slice(all.c, 650, 250);
    mmdx_model_t *coord = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_alloc(NULL, all.space, NULL, &coord, &err), MMDX_OK);
    char state[600];
    snprintf(state, sizeof(state), "%s", tmp_path("state.h5"));
    ck_assert_int_eq(mmdx_model_save(coord, state, &err), MMDX_OK);
    mmdx_model_free(coord);
    int rc = 1, rounds = 0;
    while (rc == 1) {
        char agg[3][600];
        for (int s = 0; s < 3; s++) {
            /* site step: read the state, accumulate local patients, write aggregates */
            mmdx_model_t *local = NULL;
            ck_assert_int_eq(mmdx_model_load(NULL, state, &local, &err), MMDX_OK);
            ck_assert_int_eq(mmdx_model_accumulate(local, site[s], &err), MMDX_OK);
            char name[32];
            snprintf(name, sizeof(name), "site%d.h5", s);
            snprintf(agg[s], sizeof(agg[s]), "%s", tmp_path(name));
            ck_assert_int_eq(mmdx_model_save(local, agg[s], &err), MMDX_OK);
            mmdx_model_free(local);
        }
        /* coordinator step: merge the sites' aggregates, step, write the new state */
        ck_assert_int_eq(mmdx_model_load(NULL, agg[0], &coord, &err), MMDX_OK);
        for (int s = 1; s < 3; s++) {
            mmdx_model_t *other = NULL;
            ck_assert_int_eq(mmdx_model_load(NULL, agg[s], &other, &err), MMDX_OK);
            ck_assert_int_eq(mmdx_model_merge(coord, other, &err), MMDX_OK);
            mmdx_model_free(other);
        }
        rc = mmdx_model_step(coord, &err);
        ck_assert_msg(rc >= 0, "step: %s", err.message);
        ck_assert_int_eq(mmdx_model_save(coord, state, &err), MMDX_OK);
        mmdx_model_free(coord);
        rounds++;
    }
    ck_assert_int_eq(mmdx_model_load(NULL, state, &coord, &err), MMDX_OK);
    ck_assert(mmdx_model_is_fitted(coord));
    ck_assert_uint_eq(mmdx_model_pass(coord), mmdx_model_pass(pooled));
    ck_assert_int_eq(rounds, (int)mmdx_model_pass(pooled));
    double p1[1800], p2[1800];
    ck_assert_int_eq(mmdx_model_predict_probs(pooled, all.c, 0, p1, NULL, NULL, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_predict_probs(coord, all.c, 0, p2, NULL, NULL, &err), MMDX_OK);
    double worst = 0;
    for (size_t i = 0; i < 1800; i++) {
        double rel = fabs(p1[i] - p2[i]) / p1[i];
        worst = rel > worst ? rel : worst;
    }
    fprintf(stderr,
            "check_fusion: federated (3 sites, %zu + %zu features, %d rounds) vs pooled: max relative difference %.3g\n",
            d_img, d_lab, rounds, worst);
    if (d_img + 1 > FZ_CHORD_MIN_D) { /* the chord iterations ran, at the sites as pooled */
        ck_assert_uint_gt(coord->bins[0].fits[0].iter, FZ_NEWTON_FULL + 1);
        ck_assert_uint_eq(coord->bins[0].fits[0].iter, pooled->bins[0].fits[0].iter);
    }
    ck_assert_double_lt(worst, 1e-6);
    /* merging models from different passes is refused */
    mmdx_model_t *fresh = NULL;
    ck_assert_int_eq(mmdx_model_alloc(NULL, all.space, NULL, &fresh, &err), MMDX_OK);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_merge(fresh, coord, &err), MMDX_ESTATE);
    mmdx_model_free(fresh);
    for (int s = 0; s < 3; s++) {
        mmdx_cohort_free(site[s]);
    }
    mmdx_model_free(coord);
    mmdx_model_free(pooled);
    synth_free(&all);
}

START_TEST(test_model_federated)
{
    federated_case(3, 3, 1.0);
}
END_TEST

/* a modality of more than FZ_CHORD_MIN_D coefficients: chord Newton steps */
START_TEST(test_model_federated_chord)
{
    federated_case(40, 3, 0.15);
}
END_TEST

/* Which chord iterations take a Hessian: none at iteration 0 (fz_fit_h0()), the rest of
 * the first FZ_NEWTON_FULL and every FZ_NEWTON_REFRESH-th, except when the last two steps
 * extrapolate below tol; small fits and plain Newton always. */
START_TEST(test_hessian_schedule)
{
    fz_fit_t f;
    ck_assert_int_eq(fz_fit_init(&f, FZ_CHORD_MIN_D + 8), MMDX_OK);
    fz_fit_prior(&f, 0, 5, 0, 1);
    ck_assert_double_eq(f.step1, 0);
    ck_assert(!fz_fit_wants_hessian(&f, 1, 1e-9)); /* iteration 0: fz_fit_h0() */
    ck_assert(fz_fit_wants_hessian(&f, 0, 1e-9));
    f.iter = 1;
    ck_assert(fz_fit_wants_hessian(&f, 1, 1e-9));
    f.iter = FZ_NEWTON_FULL;
    f.step2 = 1e-2;
    f.step1 = 1e-3;
    ck_assert(!fz_fit_wants_hessian(&f, 1, 1e-9)); /* a chord iteration */
    ck_assert(fz_fit_wants_hessian(&f, 0, 1e-9)); /* plain Newton */
    f.iter = 2 * FZ_NEWTON_REFRESH;
    ck_assert(fz_fit_wants_hessian(&f, 1, 1e-9)); /* a refresh: next step about 1e-4 */
    f.step2 = 5e-7;
    f.step1 = 1e-8;                                /* next step about 2e-10 */
    ck_assert(!fz_fit_wants_hessian(&f, 1, 1e-9)); /* most likely the last pass */
    ck_assert(fz_fit_wants_hessian(&f, 1, 1e-12)); /* not below a finer tol */
    f.step2 = 1e-8;                                /* not shrinking: no extrapolation */
    ck_assert(fz_fit_wants_hessian(&f, 1, 1e-9));
    f.step2 = 5e-7;
    f.d = FZ_CHORD_MIN_D; /* a small fit: always */
    ck_assert(fz_fit_wants_hessian(&f, 1, 1e-9));
    f.d = FZ_CHORD_MIN_D + 8;
    fz_fit_free(&f);
}
END_TEST

/* fz_fit_h0(): with the feature model's covariance equal to X'X / n of centred columns,
 * it is the Hessian a pass at the prior mean gathers (every patient's probability is that
 * of the intercept's mean). */
START_TEST(test_hessian_h0)
{
    enum { N = 500, D = 40, d = D + 1 };
    static double X[N * d], Sig[D * D], y[N], work[N * d + N];
    tu_seed(41);
    for (size_t i = 0; i < N; i++) {
        X[i] = 1.0;
        y[i] = tu_urand() < 0.3;
        double f = tu_nrand();
        for (size_t a = 0; a < D; a++) {
            X[(a + 1) * N + i] = 0.6 * f + tu_nrand();
        }
    }
    for (size_t a = 0; a < D; a++) { /* centre the columns */
        double s = 0;
        for (size_t i = 0; i < N; i++) {
            s += X[(a + 1) * N + i];
        }
        for (size_t i = 0; i < N; i++) {
            X[(a + 1) * N + i] -= s / N;
        }
    }
    for (size_t a = 0; a < D; a++) {
        for (size_t b = 0; b < D; b++) {
            double s = 0;
            for (size_t i = 0; i < N; i++) {
                s += X[(a + 1) * N + i] * X[(b + 1) * N + i];
            }
            Sig[b * D + a] = s / N;
        }
    }
    fz_fit_t f, e;
    ck_assert_int_eq(fz_fit_init(&f, d), MMDX_OK);
    ck_assert_int_eq(fz_fit_init(&e, d), MMDX_OK);
    fz_fit_prior(&f, -0.8, 5, 0, 1);
    fz_fit_prior(&e, -0.8, 5, 0, 1);
    fz_logistic_accumulate(N, d, X, N, y, NULL, e.beta, e.g, e.H, &e.ll, work);
    f.n = N;
    fz_fit_h0(&f, Sig);
    double worst = 0;
    for (size_t j = 0; j < d; j++) {
        for (size_t i = j; i < d; i++) {
            double diff = fabs(f.H[j * d + i] - e.H[j * d + i]);
            worst = diff > worst ? diff : worst;
        }
    }
    ck_assert_double_gt(e.H[0], 1); /* a real Hessian */
    ck_assert_msg(worst < 1e-9 * e.H[0], "fz_fit_h0 differs from the pass's Hessian by %g", worst);
    fz_fit_free(&f);
    fz_fit_free(&e);
}
END_TEST

/* The steps the schedule reads survive a model (state) file: a federated site and the
 * coordinator decide alike. */
START_TEST(test_hessian_schedule_file)
{
    synth_t all = synth_make(400, 40, 3, 0.1, 37, 0.15);
    mmdx_model_t *m = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_alloc(NULL, all.space, NULL, &m, &err), MMDX_OK);
    int rc = 1;
    unsigned checked = 0;
    while (rc == 1) {
        ck_assert_int_eq(mmdx_model_accumulate(m, all.c, &err), MMDX_OK);
        rc = mmdx_model_step(m, &err);
        ck_assert_int_ge(rc, 0);
        const fz_fit_t *f = &m->bins[0].fits[0];
        if (f->step2 > 0) {
            const char *path = tmp_path("steps.h5");
            ck_assert_int_eq(mmdx_model_save(m, path, &err), MMDX_OK);
            mmdx_model_t *back = NULL;
            ck_assert_int_eq(mmdx_model_load(NULL, path, &back, &err), MMDX_OK);
            const fz_fit_t *g = &back->bins[0].fits[0];
            ck_assert(memcmp(&f->step1, &g->step1, sizeof(double)) == 0);
            ck_assert(memcmp(&f->step2, &g->step2, sizeof(double)) == 0);
            ck_assert_int_eq(fz_fit_wants_hessian(f, 1, 1e-9), fz_fit_wants_hessian(g, 1, 1e-9));
            mmdx_model_free(back);
            checked++;
        }
    }
    ck_assert_uint_gt(checked, 2);
    mmdx_model_free(m);
    synth_free(&all);
}
END_TEST

/* Set (or with v < 0 delete) the root attribute training_protocol of a model file. */
static void set_protocol(const char *path, long v)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    if (H5Aexists(f, "training_protocol") > 0) {
        ck_assert_int_ge(H5Adelete(f, "training_protocol"), 0);
    }
    if (v >= 0) {
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(f, "training_protocol", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        int64_t x = v;
        ck_assert_int_ge(H5Awrite(a, H5T_NATIVE_INT64, &x), 0);
        H5Aclose(a);
        H5Sclose(sp);
    }
    H5Fclose(f);
}

/* Training state from another training protocol (another version's Hessian schedule) is
 * refused by accumulate, step and merge; a fitted model from one still predicts. */
START_TEST(test_training_protocol)
{
    synth_t all = synth_make(300, 20, 3, 0.1, 43, 0.3);
    mmdx_model_t *m = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_alloc(NULL, all.space, NULL, &m, &err), MMDX_OK);
    for (int p = 0; p < 4; p++) { /* into the Newton passes */
        ck_assert_int_eq(mmdx_model_accumulate(m, all.c, &err), MMDX_OK);
        ck_assert_int_eq(mmdx_model_step(m, &err), 1);
    }
    ck_assert_int_eq(mmdx_model_accumulate(m, all.c, &err), MMDX_OK);
    const char *path = tmp_path("protocol.h5");
    ck_assert_int_eq(mmdx_model_save(m, path, &err), MMDX_OK);
    for (long v = -1; v <= FZ_TRAIN_PROTOCOL + 1; v++) {
        if (v == 0) {
            continue;
        }
        set_protocol(path, v); /* -1: no attribute, as files before it: protocol 1 */
        mmdx_model_t *old = NULL;
        ck_assert_int_eq(mmdx_model_load(NULL, path, &old, &err), MMDX_OK);
        mmdx_error_clear(&err);
        int want = v == FZ_TRAIN_PROTOCOL ? MMDX_OK : MMDX_EVERSION;
        ck_assert_int_eq(mmdx_model_merge(m, old, &err), want);
        if (want != MMDX_OK) {
            ck_assert_ptr_nonnull(strstr(err.message, "training protocol"));
            mmdx_error_clear(&err);
            ck_assert_int_eq(mmdx_model_step(old, &err), MMDX_EVERSION);
            ck_assert_str_eq(err.file, path); /* the file the state came from */
            mmdx_error_clear(&err);
            ck_assert_int_eq(mmdx_model_accumulate(old, all.c, &err), MMDX_EVERSION);
        }
        mmdx_model_free(old);
    }
    /* a fitted model from protocol 1 predicts */
    mmdx_model_free(m);
    m = fit_default(all.space, all.c);
    ck_assert_int_eq(mmdx_model_save(m, path, &err), MMDX_OK);
    set_protocol(path, 1);
    mmdx_model_t *old = NULL;
    ck_assert_int_eq(mmdx_model_load(NULL, path, &old, &err), MMDX_OK);
    double p1[600], p2[600];
    ck_assert_int_eq(mmdx_model_predict_probs(m, all.c, 0, p1, NULL, NULL, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_predict_probs(old, all.c, 0, p2, NULL, NULL, &err), MMDX_OK);
    ck_assert(memcmp(p1, p2, sizeof(p1)) == 0);
    mmdx_model_free(old);
    mmdx_model_free(m);
    synth_free(&all);
}
END_TEST

/* mmdx_model_fit keeps the imputed designs and the stacking evidence between passes;
 * the chunk-wise accumulate/step loop recomputes them: the two fits must agree (same
 * blocks, same arithmetic), and the fast scoring path must agree with the per-patient
 * one, over more than one block of rows and with missing values. */
static double max_rel(const double *a, const double *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]) / (fabs(a[i]) > 1e-300 ? fabs(a[i]) : 1e-300);
        worst = d > worst ? d : worst;
    }
    return worst;
}

START_TEST(test_model_fit_cached)
{
    const size_t n = 9000;
    synth_t all = synth_make(n, 5, 4, 0.15, 41, 0.5);
    mmdx_model_t *a = fit_default(all.space, all.c), *b = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_alloc(NULL, all.space, NULL, &b, &err), MMDX_OK);
    int rc;
    do {
        ck_assert_int_eq(mmdx_model_accumulate(b, all.c, &err), MMDX_OK);
        rc = mmdx_model_step(b, &err);
        ck_assert_msg(rc >= 0, "step: %s", err.message);
    } while (rc == 1);
    ck_assert_uint_eq(mmdx_model_pass(a), mmdx_model_pass(b));
    double *pa = malloc(2 * n * sizeof(double)), *pb = malloc(2 * n * sizeof(double));
    double *la = malloc(2 * n * sizeof(double)), *lb = malloc(2 * n * sizeof(double));
    double *ha = malloc(2 * n * sizeof(double)), *hb = malloc(2 * n * sizeof(double));
    ck_assert_int_eq(mmdx_model_predict_probs(a, all.c, 0, pa, la, ha, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_predict_probs(b, all.c, 0, pb, lb, hb, &err), MMDX_OK);
    ck_assert_double_le(max_rel(pa, pb, 2 * n), 1e-12);
    ck_assert_double_le(max_rel(la, lb, 2 * n), 1e-12);
    ck_assert_double_le(max_rel(ha, hb, 2 * n), 1e-12);
    /* batched scoring against one patient at a time */
    mmdx_pred_t *pr = mmdx_pred_alloc();
    double worst = 0;
    size_t imputed = 0;
    for (size_t i = 0; i < n; i += 7) {
        ck_assert_int_eq(mmdx_model_predict(a, all.c, i, 0, pr, &err), MMDX_OK);
        imputed += (mmdx_pred_flags(pr) & MMDX_PRED_IMPUTED) != 0;
        for (size_t k = 0; k < 2; k++) {
            double lo, hi, q[3] = {mmdx_pred_prob(pr, k), 0, 0}, f[3] = {pa[2 * i + k], la[2 * i + k], ha[2 * i + k]};
            mmdx_pred_interval(pr, k, &lo, &hi);
            q[1] = lo;
            q[2] = hi;
            double r = max_rel(q, f, 3);
            worst = r > worst ? r : worst;
        }
    }
    ck_assert_uint_gt(imputed, 100); /* the imputation path was exercised */
    ck_assert_double_le(worst, 1e-12);
    mmdx_pred_free(pr);
    free(pa);
    free(pb);
    free(la);
    free(lb);
    free(ha);
    free(hb);
    mmdx_model_free(a);
    mmdx_model_free(b);
    synth_free(&all);
}
END_TEST

/* Scoring with 1, 2 and 3 threads of the context: byte-identical outputs. */
START_TEST(test_model_threads)
{
    const size_t n = 5000; /* 79 blocks of 64 rows: 3 threads get unequal shares */
    synth_t all = synth_make(n, 6, 4, 0.15, 43, 0.5);
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    ck_assert_ptr_nonnull(ctx);
    mmdx_model_t *m = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_alloc(ctx, all.space, NULL, &m, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_fit(m, all.c, &err), 0);
    double *p[3], *lo[3], *hi[3];
    for (int t = 0; t < 3; t++) {
        p[t] = malloc(2 * n * sizeof(double));
        lo[t] = malloc(2 * n * sizeof(double));
        hi[t] = malloc(2 * n * sizeof(double));
        mmdx_ctx_set_threads(ctx, t + 1);
        ck_assert_int_eq(mmdx_model_predict_probs(m, all.c, 0, p[t], lo[t], hi[t], &err), MMDX_OK);
        assert_finite_probs(p[t], 2 * n);
    }
    for (int t = 1; t < 3; t++) {
        ck_assert(memcmp(p[0], p[t], 2 * n * sizeof(double)) == 0);
        ck_assert(memcmp(lo[0], lo[t], 2 * n * sizeof(double)) == 0);
        ck_assert(memcmp(hi[0], hi[t], 2 * n * sizeof(double)) == 0);
    }
    /* and the threaded fast path still agrees with one patient at a time */
    mmdx_pred_t *pr = mmdx_pred_alloc();
    for (size_t i = 0; i < n; i += 97) {
        ck_assert_int_eq(mmdx_model_predict(m, all.c, i, 0, pr, &err), MMDX_OK);
        ck_assert_double_eq_tol(mmdx_pred_prob(pr, 1), p[2][2 * i + 1], 1e-12);
    }
    mmdx_pred_free(pr);
    for (int t = 0; t < 3; t++) {
        free(p[t]);
        free(lo[t]);
        free(hi[t]);
    }
    mmdx_model_free(m);
    mmdx_ctx_free(ctx);
    synth_free(&all);
}
END_TEST

/* A model file appended to while mmdx_model_load() reads it: the library's allocator is
 * hooked so the change happens at the loader's first allocation (inside the load, after
 * the file was opened, no timing involved). MMDX_EIO naming the file; no model. */
static const char *changing_model_path;
static void *changing_malloc(size_t size)
{
    if (changing_model_path) {
        FILE *f = fopen(changing_model_path, "ab");
        changing_model_path = NULL;
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fputc(0, f), 0);
        ck_assert_int_eq(fclose(f), 0);
    }
    return malloc(size);
}

START_TEST(test_model_changed_while_loaded)
{
    synth_t tr = synth_make(200, 2, 3, 0.1, 43, 1.0);
    mmdx_model_t *m = fit_default(tr.space, tr.c), *back = NULL;
    mmdx_error_t err;
    const char *path = tmp_path("changing_model.h5");
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_save(m, path, &err), MMDX_OK);
    changing_model_path = path;
    mmdx_set_allocator(changing_malloc, NULL, NULL);
    int rc = mmdx_model_load(NULL, path, &back, &err);
    mmdx_set_allocator(NULL, NULL, NULL);
    ck_assert_ptr_null(changing_model_path); /* the hook ran, inside the load */
    ck_assert_int_eq(rc, MMDX_EIO);
    ck_assert_ptr_null(back);
    ck_assert_str_eq(err.file, path);
    ck_assert_msg(strstr(err.message, "changed while being read: size before") != NULL, "%s", err.message);
    /* left alone, the same (longer) file loads */
    mmdx_error_clear(&err);
    ck_assert_msg(mmdx_model_load(NULL, path, &back, &err) == MMDX_OK, "%s", err.message);
    mmdx_model_free(back);
    mmdx_model_free(m);
    synth_free(&tr);
}
END_TEST

START_TEST(test_model_file)
{
    synth_t tr = synth_make(300, 2, 3, 0.1, 41, 1.0);
    mmdx_model_t *m = fit_default(tr.space, tr.c), *back = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    const char *path = tmp_path("model.h5");
    ck_assert_int_eq(mmdx_model_add_provenance(m, "input: --imaging a.h5"), MMDX_OK);
    ck_assert_int_eq(mmdx_model_add_provenance(m, "two\nlines"), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_model_save(m, path, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_load(NULL, path, &back, &err), MMDX_OK);
    ck_assert(mmdx_space_equal(mmdx_model_space(m), mmdx_model_space(back)));
    ck_assert_uint_eq(mmdx_model_n_provenance(back), 1);
    ck_assert_str_eq(mmdx_model_provenance(back, 0), "input: --imaging a.h5");
    double p1[600], p2[600], l1[600], l2[600];
    ck_assert_int_eq(mmdx_model_predict_probs(m, tr.c, 0, p1, l1, NULL, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_predict_probs(back, tr.c, 0, p2, l2, NULL, &err), MMDX_OK);
    ck_assert_int_eq(memcmp(p1, p2, sizeof(p1)), 0);
    ck_assert_int_eq(memcmp(l1, l2, sizeof(l1)), 0);
    ck_assert_int_eq(mmdx_model_check_space(back, tr.space, &err), MMDX_OK);
    mmdx_model_free(back);
    /* the same file as an in-memory image, named like an existing file: same predictions */
    {
        size_t size;
        unsigned char *img = tu_slurp(path, &size);
        ck_assert_msg(mmdx_model_load_memory(NULL, img, size, path, &back, &err) == MMDX_OK, "%s", err.message);
        ck_assert_uint_eq(mmdx_model_n_provenance(back), 1);
        ck_assert_int_eq(mmdx_model_predict_probs(back, tr.c, 0, p2, l2, NULL, &err), MMDX_OK);
        ck_assert_int_eq(memcmp(p1, p2, sizeof(p1)), 0);
        ck_assert_int_eq(memcmp(l1, l2, sizeof(l1)), 0);
        mmdx_model_free(back);
        mmdx_error_clear(&err);
        ck_assert_int_eq(mmdx_model_load_memory(NULL, img, size / 3, "cut.h5", &back, &err), MMDX_EFORMAT);
        ck_assert_str_eq(err.file, "cut.h5");
        ck_assert_ptr_null(back);
        mmdx_error_clear(&err);
        ck_assert_int_eq(mmdx_model_load_memory(NULL, "not hdf5\n", 9, NULL, &back, &err), MMDX_EFORMAT);
        ck_assert_str_eq(err.file, "(memory)");
        ck_assert_ptr_nonnull(strstr(err.message, "not an HDF5 file"));
        free(img);
    }
    /* another format version is refused with EVERSION */
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    int64_t v = 99;
    ck_assert_int_ge(H5Awrite(a, H5T_NATIVE_INT64, &v), 0);
    H5Aclose(a);
    H5Fclose(f);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_load(NULL, path, &back, &err), MMDX_EVERSION);
    ck_assert_ptr_nonnull(strstr(err.message, "99"));
    ck_assert_ptr_nonnull(strstr(err.message, "newer mmdx"));
    ck_assert_ptr_null(back);
    /* a file of the previous format (raw power sums as moments) says: older, retrain */
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    a = H5Aopen(f, "format_version", H5P_DEFAULT);
    v = MMDX_MODEL_FORMAT_VERSION - 1;
    ck_assert_int_ge(H5Awrite(a, H5T_NATIVE_INT64, &v), 0);
    H5Aclose(a);
    H5Fclose(f);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_load(NULL, path, &back, &err), MMDX_EVERSION);
    ck_assert_ptr_nonnull(strstr(err.message, "written by an older mmdx"));
    ck_assert_ptr_nonnull(strstr(err.message, "retrain"));
    ck_assert_ptr_null(back);
    /* not a model file, missing file */
    FILE *t = fopen(tmp_path("junk.h5"), "w");
    fputs("not hdf5\n", t);
    fclose(t);
    ck_assert_int_eq(mmdx_model_load(NULL, tmp_path("junk.h5"), &back, &err), MMDX_EFORMAT);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_load(NULL, tmp_path("absent.h5"), &back, &err), MMDX_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.message, strerror(ENOENT)));
    /* a space without one of the model's features is told apart */
    mmdx_space_t *other = mmdx_space_alloc();
    ck_assert_int_eq(mmdx_space_add_feature(other, "img:a:x0", MMDX_KIND_CONTINUOUS, NULL, 0, NULL), MMDX_OK);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_model_check_space(m, other, &err), MMDX_ESPACE);
    ck_assert_str_eq(err.object, "img:a:x1");
    mmdx_space_free(other);
    mmdx_model_free(m);
    synth_free(&tr);
}
END_TEST

START_TEST(test_model_reader)
{
    /* streaming a cohort file in chunks of 70 rows gives the in-memory model */
    synth_t tr = synth_make(500, 3, 3, 0.1, 51, 1.0);
    mmdx_error_t err;
    mmdx_error_clear(&err);
    char path[600];
    snprintf(path, sizeof(path), "%s", tmp_path("cohort.h5"));
    ck_assert_int_eq(mmdx_cohort_save(NULL, tr.c, path, &err), MMDX_OK);
    mmdx_cohort_reader_t *r = NULL;
    ck_assert_int_eq(mmdx_cohort_reader_open(NULL, path, &r, &err), MMDX_OK);
    mmdx_model_t *a = fit_default(tr.space, tr.c), *b = NULL;
    ck_assert_int_eq(mmdx_model_alloc(NULL, mmdx_cohort_reader_space(r), NULL, &b, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_fit_reader(b, r, 70, &err), 0);
    mmdx_cohort_reader_close(r);
    double p1[1000], p2[1000];
    ck_assert_int_eq(mmdx_model_predict_probs(a, tr.c, 0, p1, NULL, NULL, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_model_predict_probs(b, tr.c, 0, p2, NULL, NULL, &err), MMDX_OK);
    for (size_t i = 0; i < 1000; i++) {
        ck_assert_double_eq_tol(p1[i], p2[i], 1e-9 * p1[i]);
    }
    mmdx_model_free(a);
    mmdx_model_free(b);
    synth_free(&tr);
}
END_TEST

/* Allocation failure injection: the Nth allocation fails, for N = 1, 2, ... until a run
 * succeeds; every run must return MMDX_ENOMEM cleanly (no crash; leaks show in ASan). */
static long fail_at, n_alloc;
static void *fail_malloc(size_t size)
{
    return ++n_alloc == fail_at ? NULL : malloc(size);
}
static void *fail_realloc(void *p, size_t size)
{
    return ++n_alloc == fail_at ? NULL : realloc(p, size);
}

START_TEST(test_model_failalloc)
{
    synth_t tr = synth_make(60, 2, 2, 0.2, 61, 1.0);
    int done = 0;
    for (fail_at = 1; !done && fail_at < 20000; fail_at++) {
        n_alloc = 0;
        mmdx_set_allocator(fail_malloc, fail_realloc, free);
        mmdx_model_t *m = NULL;
        mmdx_pred_t *p = NULL;
        mmdx_error_t err;
        mmdx_error_clear(&err);
        double prob[120];
        int rc = mmdx_model_alloc(NULL, tr.space, NULL, &m, &err);
        if (rc == MMDX_OK) {
            rc = mmdx_model_fit(m, tr.c, &err);
        }
        if (rc == MMDX_OK) {
            rc = mmdx_model_predict_probs(m, tr.c, 0, prob, NULL, NULL, &err);
        }
        if (rc == MMDX_OK) {
            p = mmdx_pred_alloc();
            rc = p ? mmdx_model_predict(m, tr.c, 3, 0, p, &err) : MMDX_ENOMEM;
        }
        mmdx_pred_free(p);
        mmdx_model_free(m);
        mmdx_set_allocator(NULL, NULL, NULL);
        ck_assert_msg(rc == MMDX_OK || rc == MMDX_ENOMEM, "allocation %ld failing gave %d (%s)", fail_at, rc,
                      err.message);
        done = rc == MMDX_OK;
    }
    ck_assert_msg(done, "never succeeded");
    fprintf(stderr, "check_fusion: allocation failures 1..%ld reported as ENOMEM\n", fail_at - 2);
    synth_free(&tr);
}
END_TEST

/* ------------------------------------------------------------------ WDBC */

static const char *testdata(void)
{
    const char *d = getenv("MMDX_TESTDATA");
    return d ? d : "../shared/data";
}

START_TEST(test_wdbc_accuracy)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tabular/wdbc.csv", testdata());
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "check_fusion: SKIP WDBC accuracy: %s not found\n", path);
        return;
    }
    char line[4096];
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
    mmdx_space_t *s = mmdx_space_alloc();
    char *save = NULL, *tok = strtok_r(line, ",\r\n", &save);
    int col = 0;
    while (tok) {
        if (col >= 2) {
            char id[300];
            snprintf(id, sizeof(id), "img:fna:%s", tok);
            ck_assert_int_eq(mmdx_space_add_feature(s, id, MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL),
                             MMDX_OK);
        }
        tok = strtok_r(NULL, ",\r\n", &save);
        col++;
    }
    ck_assert_uint_eq(mmdx_space_n_features(s), 30);
    const char *cls[] = {"0", "1"};
    ck_assert_int_eq(mmdx_space_add_target(s, "malignant", 2, cls, NULL), MMDX_OK);
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, 569);
    size_t n = 0;
    while (fgets(line, sizeof(line), f) && n < 569) {
        save = NULL;
        tok = strtok_r(line, ",\r\n", &save);
        ck_assert_int_eq(mmdx_cohort_set_id(c, n, tok), MMDX_OK);
        tok = strtok_r(NULL, ",\r\n", &save);
        mmdx_cohort_set_label(c, n, 0, tok[0] == 'M');
        for (size_t j = 0; j < 30; j++) {
            tok = strtok_r(NULL, ",\r\n", &save);
            ck_assert_ptr_nonnull(tok);
            mmdx_cohort_set(c, n, j, strtod(tok, NULL), 0);
        }
        n++;
    }
    fclose(f);
    ck_assert_uint_eq(n, 569);
    /* folds: scikit-learn's StratifiedKFold(10, shuffle=True, random_state=0), stored in
     * tests/data/wdbc_folds.tsv (made by tests/data/wdbc_folds.py) */
    const char *src = getenv("MMDX_SRCDIR");
    snprintf(path, sizeof(path), "%s/tests/data/wdbc_folds.tsv", src ? src : ".");
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    unsigned fold[569];
    size_t nf = 0;
    while (fgets(line, sizeof(line), f)) {
        char pid[64];
        unsigned k;
        if (line[0] == '#' || sscanf(line, "%63s %u", pid, &k) != 2) {
            continue;
        }
        long r = mmdx_cohort_find(c, pid);
        ck_assert_int_ge(r, 0);
        fold[r] = k;
        nf++;
    }
    fclose(f);
    ck_assert_uint_eq(nf, 569);
    double p[569];
    int y[569];
    for (unsigned k = 0; k < 10; k++) {
        size_t tr[569], te[569], ntr = 0, nte = 0;
        for (size_t i = 0; i < 569; i++) {
            if (fold[i] == k) {
                te[nte++] = i;
            } else {
                tr[ntr++] = i;
            }
        }
        mmdx_cohort_t *ctr = mmdx_cohort_select(c, tr, ntr), *cte = mmdx_cohort_select(c, te, nte);
        mmdx_model_t *m = fit_default(s, ctr);
        double pk[2 * 569];
        mmdx_error_t err;
        ck_assert_int_eq(mmdx_model_predict_probs(m, cte, 0, pk, NULL, NULL, &err), MMDX_OK);
        for (size_t a = 0; a < nte; a++) {
            p[te[a]] = pk[2 * a + 1];
        }
        mmdx_model_free(m);
        mmdx_cohort_free(ctr);
        mmdx_cohort_free(cte);
    }
    for (size_t i = 0; i < 569; i++) {
        y[i] = mmdx_cohort_label(c, i, 0);
    }
    double auc = mmdx_metric_auroc(p, y, 569), ll = mmdx_metric_logloss(p, y, 569),
           ece = mmdx_metric_ece(p, y, 569, 10);
    fprintf(stderr, "check_fusion: WDBC 10-fold CV (sklearn folds, seed 0): AUROC %.4f log-loss %.4f ECE %.4f\n",
            auc, ll, ece);
    ck_assert_msg(auc >= 0.995, "AUROC %.4f < 0.995", auc);
    ck_assert_msg(ll <= 0.074, "log-loss %.4f > 0.074", ll);
    ck_assert_msg(ece <= 0.02, "ECE %.4f > 0.02", ece);
    mmdx_cohort_free(c);
    mmdx_space_free(s);
}
END_TEST

static Suite *fusion_suite(void)
{
    Suite *s = suite_create("fusion");
    TCase *k = tcase_create("kernels");
    tcase_add_test(k, test_logistic_mode);
    tcase_add_test(k, test_moderate);
    tcase_add_test(k, test_gauss_condition);
    tcase_add_test(k, test_gauss_precision_form);
    tcase_add_test(k, test_prow_score);
    tcase_add_test(k, test_gauss_covariance);
    tcase_add_test(k, test_metrics);
    suite_add_tcase(s, k);
    TCase *m = tcase_create("model");
    tcase_add_test(m, test_model_synthetic);
    tcase_add_test(m, test_model_missing);
    tcase_add_test(m, test_model_degenerate);
    tcase_add_test(m, test_model_unseen_modality);
    tcase_add_test(m, test_model_multiclass);
    tcase_add_test(m, test_model_federated);
    tcase_add_test(m, test_model_federated_chord);
    tcase_add_test(m, test_hessian_schedule);
    tcase_add_test(m, test_hessian_h0);
    tcase_add_test(m, test_training_protocol);
    tcase_add_test(m, test_hessian_schedule_file);
    tcase_add_test(m, test_model_fit_cached);
    tcase_add_test(m, test_model_threads);
    tcase_add_test(m, test_model_file);
    tcase_add_test(m, test_model_reader);
    tcase_add_test(m, test_model_changed_while_loaded);
    tcase_add_test(m, test_model_failalloc);
    suite_add_tcase(s, m);
    TCase *w = tcase_create("wdbc");
    tcase_set_timeout(w, 600);
    tcase_add_test(w, test_wdbc_accuracy);
    suite_add_tcase(s, w);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(fusion_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) {
            fprintf(stderr, "check_fusion: could not remove %s\n", tmpdir);
        }
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
