/* Bayesian logistic regression kernels: Newton sums with BLAS-3, the prior-regularised
 * Newton step with LAPACKE, and the Laplace posterior's predictive variance. */
#include <math.h>
#include <string.h>
#include <cblas.h>
#include <lapacke.h>
#include "mmdx/common.h"
#include "logistic.h"
#include "gauss.h"

double fz_sigmoid(double x)
{
    if (x >= 0) {
        return 1.0 / (1.0 + exp(-x));
    }
    double e = exp(x);
    return e / (1.0 + e);
}

double fz_log1pexp(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

double fz_moderate(double mu, double var)
{
    return mu / sqrt(1.0 + 3.14159265358979323846 * var / 8.0);
}

/* sigmoid(x) and log(1 + exp(x)) from one exp(-|x|): the same values as fz_sigmoid()
 * and fz_log1pexp() (which compute that exp each). */
static inline double sigmoid_log1pexp(double x, double *l1pe)
{
    double e = exp(x >= 0 ? -x : x);
    *l1pe = x > 0 ? x + log1p(e) : log1p(e);
    return x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

void fz_logistic_accumulate(size_t n, size_t d, const double *X, size_t ldx, const double *y,
                            const double *w, const double *beta, double *g, double *H, double *ll,
                            double *work)
{
    if (n == 0) {
        return;
    }
    double *eta = work;
    double *xs = work + n;
    cblas_dgemv(CblasColMajor, CblasNoTrans, (int)n, (int)d, 1.0, X, (int)ldx, beta, 1, 0.0, eta, 1);
    if (!H) { /* a gradient-only pass (chord step): no Hessian, no scaled copy */
        double sum_ll = 0;
        for (size_t i = 0; i < n; i++) {
            double wi = w ? w[i] : 1.0;
            double e = eta[i], l1pe, p = sigmoid_log1pexp(e, &l1pe);
            if (wi != 0) {
                sum_ll += wi * (y[i] * e - l1pe);
            }
            eta[i] = wi * (y[i] - p);
        }
        *ll += sum_ll;
        cblas_dgemv(CblasColMajor, CblasTrans, (int)n, (int)d, 1.0, X, (int)ldx, eta, 1, 1.0, g, 1);
        return;
    }
    double sum_ll = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        double e = eta[i], l1pe, p = sigmoid_log1pexp(e, &l1pe);
        if (wi != 0) {
            sum_ll += wi * (y[i] * e - l1pe);
        }
        eta[i] = wi * (y[i] - p);          /* residual, reuses eta */
        xs[i] = sqrt(wi * p * (1.0 - p)); /* row scale, kept in column 0 until last */
    }
    /* scaled copy column by column (contiguous); column 0 last, it holds the scales */
    for (size_t j = d; j-- > 0;) {
        const double *xc = X + j * ldx;
        double *oc = xs + j * n;
        for (size_t i = 0; i < n; i++) {
            oc[i] = xc[i] * xs[i];
        }
    }
    *ll += sum_ll;
    cblas_dgemv(CblasColMajor, CblasTrans, (int)n, (int)d, 1.0, X, (int)ldx, eta, 1, 1.0, g, 1);
    cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)d, (int)n, 1.0, xs, (int)n, 1.0, H, (int)d);
}

int fz_logistic_newton(size_t d, double *beta, const double *m0, const double *prec0, const double *g,
                       const double *H, double *L, double *step_max)
{
    double *step = L + d * d;
    for (size_t j = 0; j < d; j++) {
        for (size_t i = j; i < d; i++) {
            L[j * d + i] = H[j * d + i];
        }
        for (size_t i = 0; i < j; i++) {
            L[j * d + i] = 0; /* keep the upper triangle clean for dtrsm and files */
        }
        L[j * d + j] += prec0[j];
        step[j] = g[j] - prec0[j] * (beta[j] - m0[j]);
    }
    if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (int)d, L, (int)d) != 0) {
        return -1;
    }
    if (LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', (int)d, 1, L, (int)d, step, (int)d) != 0) {
        return -1;
    }
    double mx = 0;
    for (size_t j = 0; j < d; j++) {
        if (!isfinite(step[j])) {
            return -1;
        }
        beta[j] += step[j];
        if (fabs(step[j]) > mx) {
            mx = fabs(step[j]);
        }
    }
    *step_max = mx;
    return 0;
}

int fz_logistic_chord(size_t d, double *beta, const double *m0, const double *prec0, const double *g,
                      const double *L, double *step_max)
{
    double *step = mmdx_malloc((d ? d : 1) * sizeof(double));
    if (!step) {
        return -2;
    }
    for (size_t j = 0; j < d; j++) {
        step[j] = g[j] - prec0[j] * (beta[j] - m0[j]);
    }
    int rc = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', (int)d, 1, L, (int)d, step, (int)d) != 0 ? -1 : 0;
    double mx = 0;
    for (size_t j = 0; j < d && rc == 0; j++) {
        if (!isfinite(step[j])) {
            rc = -1;
            break;
        }
        beta[j] += step[j];
        mx = fabs(step[j]) > mx ? fabs(step[j]) : mx;
    }
    mmdx_free(step);
    *step_max = mx;
    return rc;
}

double fz_logistic_objective(size_t d, const double *beta, const double *m0, const double *prec0, double ll)
{
    double q = 0;
    for (size_t j = 0; j < d; j++) {
        double r = beta[j] - m0[j];
        q += prec0[j] * r * r;
    }
    return ll - 0.5 * q;
}

/* work (n x d) = the first d columns of X (leading dimension ldx). */
static void linvar_copy(size_t n, size_t d, const double *X, size_t ldx, double *work)
{
    for (size_t j = 0; j < d; j++) {
        memcpy(work + j * n, X + j * ldx, n * sizeof(double));
    }
}

/* var_i = sum_j W_ij^2 over the rows of W (n x d, column-major). */
static void linvar_rowsq(size_t n, size_t d, const double *W, double *var)
{
    for (size_t i = 0; i < n; i++) {
        var[i] = 0;
    }
    for (size_t j = 0; j < d; j++) { /* two rows at a time: each row's sum in the same order */
        const double *c = W + j * n;
        size_t i = 0;
        for (; i + 2 <= n; i += 2) {
            fz_v2 ci = *(const fz_v2 *)(c + i);
            *(fz_v2 *)(var + i) += ci * ci;
        }
        for (; i < n; i++) {
            var[i] += c[i] * c[i];
        }
    }
}

void fz_logistic_linvar(size_t n, size_t d, const double *X, size_t ldx, const double *L, double *var,
                        double *work)
{
    if (n == 0) {
        return;
    }
    linvar_copy(n, d, X, ldx, work);
    /* W = X L^{-T}: row i of W is (L^{-1} x_i)^T */
    cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)n, (int)d, 1.0, L,
                (int)d, work, (int)n);
    linvar_rowsq(n, d, work, var);
}

int fz_logistic_factor_inverse(size_t d, const double *L, double *Li)
{
    for (size_t j = 0; j < d; j++) {
        for (size_t i = 0; i < d; i++) {
            Li[j * d + i] = i >= j ? L[j * d + i] : 0.0;
        }
    }
    return d > 0 && LAPACKE_dtrtri(LAPACK_COL_MAJOR, 'L', 'N', (int)d, Li, (int)d) != 0 ? -1 : 0;
}

void fz_logistic_linvar_inv(size_t n, size_t d, const double *X, size_t ldx, const double *Li, double *var,
                            double *work)
{
    if (n == 0) {
        return;
    }
    linvar_copy(n, d, X, ldx, work);
    /* W = X Li^T: row i of W is (L^{-1} x_i)^T; a triangular product, not a solve */
    cblas_dtrmm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)n, (int)d, 1.0, Li,
                (int)d, work, (int)n);
    linvar_rowsq(n, d, work, var);
}
