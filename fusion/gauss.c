/* Gaussian feature model of one modality: statistics with BLAS-3, shrinkage covariance,
 * conditioning on a missingness pattern with LAPACKE. */
#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <cblas.h>
#include <lapacke.h>
#include "mmdx/common.h"
#include "gauss.h"

void fz_gauss_accumulate(size_t n, size_t D, const double *Z, const double *O, size_t ldz, double *S,
                         double *N)
{
    if (n == 0 || D == 0) {
        return;
    }
    cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)D, (int)n, 1.0, Z, (int)ldz, 1.0, S, (int)D);
    cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)D, (int)n, 1.0, O, (int)ldz, 1.0, N, (int)D);
}

void fz_gauss_covariance(size_t D, const double *S, const double *N, double nu, double *Sigma)
{
    double nbar = 0;
    for (size_t j = 0; j < D; j++) {
        nbar += N[j * D + j];
    }
    nbar = D > 0 ? nbar / (double)D : 0;
    double a = nu + nbar > 0 ? nbar / (nu + nbar) : 0;
    for (size_t j = 0; j < D; j++) {
        for (size_t i = j; i < D; i++) {
            double nij = N[i * D + i] * N[j * D + j];
            double cij = nij > 0 ? S[j * D + i] / sqrt(nij) : 0;
            if (i == j && N[j * D + j] <= 0) {
                cij = 1; /* never observed: unit variance, no correlation */
            }
            double v = a * cij + (i == j ? 1.0 - a : 0.0);
            Sigma[j * D + i] = v;
            Sigma[i * D + j] = v;
        }
    }
}

fz_cond_t *fz_cond_alloc(size_t D)
{
    fz_cond_t *c = mmdx_calloc(1, sizeof(*c));
    if (!c) {
        return NULL;
    }
    size_t d1 = D > 0 ? D : 1;
    c->D = D;
    c->o = mmdx_malloc(d1 * sizeof(size_t));
    c->mi = mmdx_malloc(d1 * sizeof(size_t));
    c->pattern = mmdx_malloc(d1);
    c->L = mmdx_malloc(d1 * d1 * sizeof(double));
    c->K = mmdx_malloc(d1 * d1 * sizeof(double));
    c->work = mmdx_malloc(d1 * sizeof(double));
    if (!c->o || !c->mi || !c->pattern || !c->L || !c->K || !c->work) {
        fz_cond_free(c);
        return NULL;
    }
    return c;
}

void fz_cond_free(fz_cond_t *c)
{
    if (!c) {
        return;
    }
    mmdx_free(c->o);
    mmdx_free(c->mi);
    mmdx_free(c->pattern);
    mmdx_free(c->L);
    mmdx_free(c->K);
    mmdx_free(c->work);
    mmdx_free(c);
}

int fz_cond_set(fz_cond_t *c, const double *Sigma, const unsigned char *obs)
{
    size_t D = c->D;
    if (c->set && memcmp(c->pattern, obs, D) == 0) {
        return 0;
    }
    c->set = 0;
    c->no = c->nm = 0;
    for (size_t j = 0; j < D; j++) {
        if (obs[j]) {
            c->o[c->no++] = j;
        } else {
            c->mi[c->nm++] = j;
        }
    }
    size_t no = c->no, nm = c->nm;
    for (size_t b = 0; b < no; b++) {
        for (size_t a = 0; a < no; a++) {
            c->L[b * no + a] = a >= b ? Sigma[c->o[b] * D + c->o[a]] : 0.0;
        }
    }
    if (no > 0 && LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (int)no, c->L, (int)no) != 0) {
        return -1;
    }
    if (no > 0 && nm > 0) {
        for (size_t b = 0; b < nm; b++) {
            for (size_t a = 0; a < no; a++) {
                c->K[b * no + a] = Sigma[c->mi[b] * D + c->o[a]];
            }
        }
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)no, (int)nm, 1.0,
                    c->L, (int)no, c->K, (int)no);
    }
    memcpy(c->pattern, obs, D);
    c->set = 1;
    return 0;
}

double fz_cond_impute(fz_cond_t *c, double *z)
{
    size_t no = c->no, nm = c->nm;
    double *w = c->work;
    for (size_t a = 0; a < no; a++) {
        w[a] = z[c->o[a]];
    }
    double d2 = 0;
    if (no > 0) {
        cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)no, c->L, (int)no, w, 1);
        for (size_t a = 0; a < no; a++) {
            d2 += w[a] * w[a];
        }
    }
    for (size_t b = 0; b < nm; b++) {
        double s = 0;
        for (size_t a = 0; a < no; a++) {
            s += c->K[b * no + a] * w[a];
        }
        z[c->mi[b]] = s;
    }
    return d2;
}

double fz_cond_variance(const fz_cond_t *c, const double *Sigma, const double *beta, double *work)
{
    size_t no = c->no, nm = c->nm, D = c->D;
    if (nm == 0) {
        return 0;
    }
    double t1 = 0;
    for (size_t b = 0; b < nm; b++) {
        double s = 0;
        for (size_t a = 0; a < nm; a++) {
            s += Sigma[c->mi[b] * D + c->mi[a]] * beta[c->mi[a]];
        }
        t1 += beta[c->mi[b]] * s;
    }
    double t2 = 0;
    if (no > 0) {
        for (size_t b = 0; b < nm; b++) {
            work[b] = beta[c->mi[b]];
        }
        double *kb = work + nm;
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)no, (int)nm, 1.0, c->K, (int)no, work, 1, 0.0, kb, 1);
        for (size_t a = 0; a < no; a++) {
            t2 += kb[a] * kb[a];
        }
    }
    double v = t1 - t2;
    return v > 0 ? v : 0;
}

void fz_cond_feature(const fz_cond_t *c, const double *Sigma, const double *z, size_t j, double *mean,
                     double *var, double *work)
{
    size_t no = c->no, D = c->D;
    size_t b = 0;
    while (b < c->nm && c->mi[b] != j) {
        b++;
    }
    if (b == c->nm) { /* observed: it is known exactly */
        *mean = z[j];
        *var = 0;
        return;
    }
    for (size_t a = 0; a < no; a++) {
        work[a] = z[c->o[a]];
    }
    double m = 0, k2 = 0;
    if (no > 0) {
        cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)no, c->L, (int)no, work, 1);
        for (size_t a = 0; a < no; a++) {
            m += c->K[b * no + a] * work[a];
            k2 += c->K[b * no + a] * c->K[b * no + a];
        }
    }
    *mean = m;
    double v = Sigma[j * D + j] - k2;
    *var = v > 0 ? v : 0;
}

/* ------------------------------------------------------------------ small dense kernels
 * The per-patient missing blocks are a few features: a BLAS/LAPACK call costs more in
 * dispatch and locking than the arithmetic, so these are written out. */

/* Left-looking, by columns: every inner loop runs down a contiguous column. */
int fz_chol_small(size_t n, double *A)
{
    for (size_t j = 0; j < n; j++) {
        double *cj = A + j * n;
        size_t k = 0;
        for (; k + 4 <= j; k += 4) { /* four earlier columns at a time: a quarter of the cj traffic */
            const double *c0 = A + k * n, *c1 = c0 + n, *c2 = c1 + n, *c3 = c2 + n;
            double a0 = c0[j], a1 = c1[j], a2 = c2[j], a3 = c3[j];
            for (size_t i = j; i < n; i++) {
                cj[i] -= (c0[i] * a0 + c1[i] * a1) + (c2[i] * a2 + c3[i] * a3);
            }
        }
        for (; k < j; k++) {
            const double *ck = A + k * n;
            double ajk = ck[j];
            for (size_t i = j; i < n; i++) {
                cj[i] -= ck[i] * ajk;
            }
        }
        double d = cj[j];
        if (!(d > 0)) {
            return -1;
        }
        d = sqrt(d);
        cj[j] = d;
        for (size_t i = j + 1; i < n; i++) {
            cj[i] /= d;
        }
    }
    return 0;
}

/* By columns (contiguous): x_k is final once the columns before it are applied. */
void fz_trsv_lower(size_t n, const double *L, double *x)
{
    for (size_t k = 0; k < n; k++) {
        const double *ck = L + k * n;
        double xk = x[k] / ck[k];
        x[k] = xk;
        for (size_t i = k + 1; i < n; i++) {
            x[i] -= ck[i] * xk;
        }
    }
}

void fz_trsv_lower_trans(size_t n, const double *L, double *x)
{
    for (size_t i = n; i-- > 0;) {
        double s = x[i];
        for (size_t k = i + 1; k < n; k++) {
            s -= L[i * n + k] * x[k];
        }
        x[i] = s / L[i * n + i];
    }
}

/* ------------------------------------------------------------------ precision form */

double fz_dot(size_t n, const double *x, const double *y)
{
    if (n >= 32) { /* the BLAS kernel is vectorised for the machine; worth its call from here */
        return cblas_ddot((int)n, x, 1, y, 1);
    }
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        s0 += x[j] * y[j];
        s1 += x[j + 1] * y[j + 1];
        s2 += x[j + 2] * y[j + 2];
        s3 += x[j + 3] * y[j + 3];
    }
    for (; j < n; j++) {
        s0 += x[j] * y[j];
    }
    return (s0 + s1) + (s2 + s3);
}

fz_prow_t *fz_prow_alloc(size_t D)
{
    fz_prow_t *r = mmdx_calloc(1, sizeof(*r));
    if (!r) {
        return NULL;
    }
    size_t d1 = D > 0 ? D : 1;
    r->D = D;
    r->mi = mmdx_malloc(d1 * sizeof(size_t));
    r->L = mmdx_malloc(d1 * d1 * sizeof(double));
    r->t = mmdx_malloc(d1 * sizeof(double));
    r->zc = mmdx_malloc(d1 * sizeof(double));
    if (!r->mi || !r->L || !r->t || !r->zc) {
        fz_prow_free(r);
        return NULL;
    }
    return r;
}

void fz_prow_free(fz_prow_t *r)
{
    if (!r) {
        return;
    }
    mmdx_free(r->mi);
    mmdx_free(r->L);
    mmdx_free(r->t);
    mmdx_free(r->zc);
    mmdx_free(r);
}

int fz_gauss_precision(size_t D, const double *Sigma, double *Lambda)
{
    if (D == 0) {
        return 0;
    }
    memcpy(Lambda, Sigma, D * D * sizeof(double));
    if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (int)D, Lambda, (int)D) != 0 ||
        LAPACKE_dpotri(LAPACK_COL_MAJOR, 'L', (int)D, Lambda, (int)D) != 0) {
        return -1;
    }
    for (size_t j = 0; j < D; j++) {
        for (size_t i = j + 1; i < D; i++) {
            Lambda[i * D + j] = Lambda[j * D + i]; /* mirror the lower triangle */
        }
    }
    return 0;
}

void fz_gauss_wblock(size_t n, size_t D, const double *Z, size_t ldz, const double *Lambda, double *W)
{
    if (n == 0 || D == 0) {
        return;
    }
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)D, (int)D, 1.0, Z, (int)ldz, Lambda,
                (int)D, 0.0, W, (int)n);
}

double fz_prow_impute(fz_prow_t *r, const double *Lambda, double *z, size_t sz, const double *obs, size_t so,
                      const double *w, size_t sw, int *ok)
{
    size_t D = r->D, nm = 0;
    double d2 = 0;
    *ok = 1;
    for (size_t j = 0; j < D; j++) {
        if (obs[j * so] != 0) {
            d2 += z[j * sz] * w[j * sw];
        } else {
            r->mi[nm++] = j;
        }
    }
    r->nm = nm;
    if (nm == 0) {
        return d2;
    }
    if (nm == D) {
        r->nm = nm;
        for (size_t b = 0; b < nm; b++) {
            z[r->mi[b] * sz] = 0;
        }
        /* nothing observed: the factor is still needed for the variance */
    }
    for (size_t b = 0; b < nm; b++) {
        for (size_t a = b; a < nm; a++) {
            r->L[b * nm + a] = Lambda[r->mi[b] * D + r->mi[a]];
        }
    }
    if (fz_chol_small(nm, r->L) != 0) {
        *ok = 0;
        return -1;
    }
    if (nm == D) {
        return 0;
    }
    double *t = r->t;
    for (size_t b = 0; b < nm; b++) {
        t[b] = w[r->mi[b] * sw];
    }
    fz_trsv_lower(nm, r->L, t);
    double q = 0;
    for (size_t b = 0; b < nm; b++) {
        q += t[b] * t[b];
    }
    fz_trsv_lower_trans(nm, r->L, t);
    for (size_t b = 0; b < nm; b++) {
        z[r->mi[b] * sz] = -t[b];
    }
    d2 -= q;
    return d2 > 0 ? d2 : 0;
}

void fz_prow_impute_mean(fz_prow_t *r, const double *Lambda, double *z, size_t sz, const double *obs, size_t so,
                         int *ok)
{
    size_t D = r->D, nm = 0;
    double *zc = r->zc; /* a row of a column-major block is strided: work on a copy */
    *ok = 1;
    for (size_t j = 0; j < D; j++) {
        if (obs[j * so] == 0) {
            r->mi[nm++] = j;
            zc[j] = 0;
        } else {
            zc[j] = z[j * sz];
        }
    }
    r->nm = nm;
    if (nm == 0) {
        return;
    }
    for (size_t b = 0; b < nm; b++) {
        for (size_t a = b; a < nm; a++) {
            r->L[b * nm + a] = Lambda[r->mi[b] * D + r->mi[a]];
        }
    }
    if (fz_chol_small(nm, r->L) != 0) {
        *ok = 0;
        return;
    }
    double *t = r->t;
    for (size_t b = 0; b < nm; b++) {
        /* symmetric: column mi[b] is row mi[b]; missing entries of zc are 0 */
        t[b] = fz_dot(D, Lambda + r->mi[b] * D, zc);
    }
    fz_trsv_lower(nm, r->L, t);
    fz_trsv_lower_trans(nm, r->L, t);
    for (size_t b = 0; b < nm; b++) {
        z[r->mi[b] * sz] = -t[b];
    }
}

void fz_prow_factor(fz_prow_t *r, const double *Lambda, const double *obs, size_t so, int *ok)
{
    size_t D = r->D, nm = 0;
    *ok = 1;
    for (size_t j = 0; j < D; j++) {
        if (obs[j * so] == 0) {
            r->mi[nm++] = j;
        }
    }
    r->nm = nm;
    for (size_t b = 0; b < nm; b++) {
        for (size_t a = b; a < nm; a++) {
            r->L[b * nm + a] = Lambda[r->mi[b] * D + r->mi[a]];
        }
    }
    if (nm > 0 && fz_chol_small(nm, r->L) != 0) {
        *ok = 0;
    }
}

void fz_prow_impute_w(fz_prow_t *r, const double *Lambda, double *z, size_t sz, const double *obs, size_t so,
                      const double *w, size_t sw, int *ok)
{
    size_t D = r->D, nm = 0;
    *ok = 1;
    for (size_t j = 0; j < D; j++) {
        if (obs[j * so] == 0) {
            r->mi[nm++] = j;
        }
    }
    r->nm = nm;
    if (nm == 0) {
        return;
    }
    for (size_t b = 0; b < nm; b++) {
        for (size_t a = b; a < nm; a++) {
            r->L[b * nm + a] = Lambda[r->mi[b] * D + r->mi[a]];
        }
    }
    if (fz_chol_small(nm, r->L) != 0) {
        *ok = 0;
        return;
    }
    double *t = r->t;
    for (size_t b = 0; b < nm; b++) {
        t[b] = w[r->mi[b] * sw];
    }
    fz_trsv_lower(nm, r->L, t);
    fz_trsv_lower_trans(nm, r->L, t);
    for (size_t b = 0; b < nm; b++) {
        z[r->mi[b] * sz] = -t[b];
    }
}

double fz_prow_variance(fz_prow_t *r, const double *beta)
{
    size_t nm = r->nm;
    if (nm == 0) {
        return 0;
    }
    double *t = r->t;
    for (size_t b = 0; b < nm; b++) {
        t[b] = beta[r->mi[b]];
    }
    fz_trsv_lower(nm, r->L, t);
    double v = 0;
    for (size_t b = 0; b < nm; b++) {
        v += t[b] * t[b];
    }
    return v;
}

/* ------------------------------------------------------------------ scoring kernel */

/* s[q] = x . c_q for four columns over n contiguous doubles, two lanes at a time. */
static void dot4(size_t n, const double *x, const double *c0, const double *c1, const double *c2,
                 const double *c3, double *s)
{
    /* two accumulators a column: the additions' latency, not the loads, bounds one */
    fz_v2 s0 = {0, 0}, s1 = {0, 0}, s2 = {0, 0}, s3 = {0, 0}, t0 = {0, 0}, t1 = {0, 0}, t2 = {0, 0}, t3 = {0, 0};
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        fz_v2 xa = *(const fz_v2 *)(x + j), xb = *(const fz_v2 *)(x + j + 2);
        s0 += *(const fz_v2 *)(c0 + j) * xa;
        s1 += *(const fz_v2 *)(c1 + j) * xa;
        s2 += *(const fz_v2 *)(c2 + j) * xa;
        s3 += *(const fz_v2 *)(c3 + j) * xa;
        t0 += *(const fz_v2 *)(c0 + j + 2) * xb;
        t1 += *(const fz_v2 *)(c1 + j + 2) * xb;
        t2 += *(const fz_v2 *)(c2 + j + 2) * xb;
        t3 += *(const fz_v2 *)(c3 + j + 2) * xb;
    }
    s0 += t0;
    s1 += t1;
    s2 += t2;
    s3 += t3;
    double r0 = s0[0] + s0[1], r1 = s1[0] + s1[1], r2 = s2[0] + s2[1], r3 = s3[0] + s3[1];
    for (; j < n; j++) {
        r0 += c0[j] * x[j];
        r1 += c1[j] * x[j];
        r2 += c2[j] * x[j];
        r3 += c3[j] * x[j];
    }
    s[0] = r0;
    s[1] = r1;
    s[2] = r2;
    s[3] = r3;
}

/* dot4() of x with stride sx (the same operations in the same order: the same sums as
 * dot4() of a contiguous copy). */
static void dot4s(size_t n, const double *x, size_t sx, const double *c0, const double *c1, const double *c2,
                  const double *c3, double *s)
{
    fz_v2 s0 = {0, 0}, s1 = {0, 0}, s2 = {0, 0}, s3 = {0, 0}, t0 = {0, 0}, t1 = {0, 0}, t2 = {0, 0}, t3 = {0, 0};
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        fz_v2 xa = {x[j * sx], x[(j + 1) * sx]}, xb = {x[(j + 2) * sx], x[(j + 3) * sx]};
        s0 += *(const fz_v2 *)(c0 + j) * xa;
        s1 += *(const fz_v2 *)(c1 + j) * xa;
        s2 += *(const fz_v2 *)(c2 + j) * xa;
        s3 += *(const fz_v2 *)(c3 + j) * xa;
        t0 += *(const fz_v2 *)(c0 + j + 2) * xb;
        t1 += *(const fz_v2 *)(c1 + j + 2) * xb;
        t2 += *(const fz_v2 *)(c2 + j + 2) * xb;
        t3 += *(const fz_v2 *)(c3 + j + 2) * xb;
    }
    s0 += t0;
    s1 += t1;
    s2 += t2;
    s3 += t3;
    double r0 = s0[0] + s0[1], r1 = s1[0] + s1[1], r2 = s2[0] + s2[1], r3 = s3[0] + s3[1];
    for (; j < n; j++) {
        double xj = x[j * sx];
        r0 += c0[j] * xj;
        r1 += c1[j] * xj;
        r2 += c2[j] * xj;
        r3 += c3[j] * xj;
    }
    s[0] = r0;
    s[1] = r1;
    s[2] = r2;
    s[3] = r3;
}

/* y[0..n) -= (c0 a0 + c1 a1) + (c2 a2 + c3 a3), two lanes at a time. */
static void axpy4(size_t n, double *y, const double *c0, const double *c1, const double *c2, const double *c3,
                  double a0, double a1, double a2, double a3)
{
    const fz_v2 v0 = {a0, a0}, v1 = {a1, a1}, v2 = {a2, a2}, v3 = {a3, a3};
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        *(fz_v2 *)(y + i) -= (*(const fz_v2 *)(c0 + i) * v0 + *(const fz_v2 *)(c1 + i) * v1) +
                             (*(const fz_v2 *)(c2 + i) * v2 + *(const fz_v2 *)(c3 + i) * v3);
    }
    for (; i < n; i++) {
        y[i] -= (c0[i] * a0 + c1[i] * a1) + (c2[i] * a2 + c3[i] * a3);
    }
}

int fz_prow_score(size_t D, const double *Lambda, double *z, size_t sz, const size_t *mi, size_t nm,
                  const double *const *beta, size_t nv, double *var, double *work)
{
    size_t ld = nm + 1 + nv; /* rows: Lambda_MM, then t = Lambda_M. z, then the beta_M */
    double *A = work, *zc = work + ld * nm, *rd = zc + D;
    if (nm > 4 && z) { /* the dots pass over the row more than once: a contiguous copy */
        for (size_t j = 0; j < D; j++) {
            zc[j] = z[j * sz]; /* the missing entries are 0 */
        }
    }
    if (nm == 1) { /* a scalar: one division */
        const double *lc = Lambda + mi[0] * D;
        double lam = lc[mi[0]], s[4];
        if (!(lam > 0)) {
            return -1;
        }
        double r = 1.0 / lam;
        for (size_t v = 0; v < nv; v++) {
            double b = beta[v][mi[0]];
            var[v] = b * b * r;
        }
        if (z) {
            dot4s(D, z, sz, lc, lc, lc, lc, s);
            z[mi[0] * sz] = -s[0] * r;
        }
        return 0;
    }
    if (nm == 2) { /* the general code below written out: the same operations, no loops */
        const double *l0 = Lambda + mi[0] * D, *l1 = Lambda + mi[1] * D;
        double s[4], a = l0[mi[0]], b = l0[mi[1]], c = l1[mi[1]];
        if (!(a > 0)) {
            return -1;
        }
        double r0 = 1.0 / a, f = b * r0, c1 = c - b * f;
        if (!(c1 > 0)) {
            return -1;
        }
        double r1 = 1.0 / c1;
        for (size_t v = 0; v < nv; v++) {
            double u0 = beta[v][mi[0]], u1 = beta[v][mi[1]] - u0 * f;
            var[v] = 0 + u0 * u0 * r0 + u1 * u1 * r1;
        }
        if (!z) {
            return 0;
        }
        dot4s(D, z, sz, l0, l1, l1, l1, s);
        double x1 = (s[1] - s[0] * f) * r1, x0 = (s[0] - b * x1) * r0;
        z[mi[0] * sz] = -x0;
        z[mi[1] * sz] = -x1;
        return 0;
    }
    for (size_t j = 0; j < nm; j++) {
        const double *lc = Lambda + mi[j] * D; /* column mi[j] = row mi[j] */
        double *cj = A + j * ld;
        for (size_t i = j; i < nm; i++) {
            cj[i] = lc[mi[i]];
        }
        for (size_t v = 0; v < nv; v++) {
            cj[nm + 1 + v] = beta[v][mi[j]];
        }
    }
    size_t j = 0;
    for (; j < nm && !z; j++) { /* variances only: the right-hand side t does not enter them */
        A[j * ld + nm] = 0;
    }
    for (j = 0; j < nm && z; j += 4) { /* four columns a pass; the last pass repeats its last column */
        size_t q1 = j + 1 < nm ? j + 1 : nm - 1, q2 = j + 2 < nm ? j + 2 : nm - 1, q3 = j + 3 < nm ? j + 3 : nm - 1;
        double s[4];
        if (nm > 4) {
            dot4(D, zc, Lambda + mi[j] * D, Lambda + mi[q1] * D, Lambda + mi[q2] * D, Lambda + mi[q3] * D, s);
        } else {
            dot4s(D, z, sz, Lambda + mi[j] * D, Lambda + mi[q1] * D, Lambda + mi[q2] * D, Lambda + mi[q3] * D, s);
        }
        A[j * ld + nm] = s[0];
        A[q1 * ld + nm] = s[1];
        A[q2 * ld + nm] = s[2];
        A[q3 * ld + nm] = s[3];
    }
    /* Left-looking LDL^T of the bordered columns (no square roots: one division a column
     * on the critical path). Column k keeps U = L D (unscaled), rd[k] = 1 / D_k, so
     * L[j,k] = U[j,k] rd[k]. Below Lambda_MM the rows become the unit forward solves
     * y = L^{-1} t and L^{-1} beta_M. */
    for (j = 0; j < nm; j++) {
        double *cj = A + j * ld;
        size_t k = 0;
        for (; k + 4 <= j; k += 4) {
            const double *c0 = A + k * ld, *c1 = c0 + ld, *c2 = c1 + ld, *c3 = c2 + ld;
            axpy4(ld - j, cj + j, c0 + j, c1 + j, c2 + j, c3 + j, c0[j] * rd[k], c1[j] * rd[k + 1],
                  c2[j] * rd[k + 2], c3[j] * rd[k + 3]);
        }
        for (; k < j; k++) {
            const double *ck = A + k * ld;
            double a = ck[j] * rd[k];
            for (size_t i = j; i < ld; i++) {
                cj[i] -= ck[i] * a;
            }
        }
        if (!(cj[j] > 0)) {
            return -1;
        }
        rd[j] = 1.0 / cj[j];
    }
    /* beta' Lambda_MM^{-1} beta = sum_j y_j^2 / D_j */
    for (size_t v = 0; v < nv; v++) {
        double s = 0;
        for (j = 0; j < nm; j++) {
            double u = A[j * ld + nm + 1 + v];
            s += u * u * rd[j];
        }
        var[v] = s;
    }
    if (!z) {
        return 0;
    }
    /* x = L^{-T} D^{-1} y backwards: x_i = rd_i (y_i - sum_{k>i} U[k,i] x_k), column i
     * contiguous */
    double *x = zc; /* the row copy is done with */
    for (size_t i = nm; i-- > 0;) {
        const double *ci = A + i * ld;
        double s = ci[nm];
        for (size_t k = i + 1; k < nm; k++) {
            s -= ci[k] * x[k];
        }
        x[i] = s * rd[i];
    }
    for (size_t i = 0; i < nm; i++) {
        z[mi[i] * sz] = -x[i];
    }
    return 0;
}

int fz_prow_score2(size_t D, const double *Lambda, double *const *z, size_t sz, const size_t *const *mi,
                   size_t nm, const double *const *beta, size_t nv, double *const *var, double *work)
{
    size_t ld = nm + 1 + nv; /* as fz_prow_score(), each element two lanes: the two rows */
    double *Ad = work;
    fz_v2 *A = (fz_v2 *)work;
    double *zc = work + 2 * ld * nm;
    fz_v2 *rd = (fz_v2 *)(zc + D), *x = rd + nm;
    for (size_t l = 0; l < 2; l++) {
        const size_t *m = mi[l];
        if (nm > 4 && z) {
            for (size_t j = 0; j < D; j++) {
                zc[j] = z[l][j * sz];
            }
        }
        for (size_t j = 0; j < nm && !z; j++) {
            Ad[2 * (j * ld + nm) + l] = 0;
        }
        for (size_t j = 0; j < nm && z; j += 4) { /* the dots, as fz_prow_score() */
            size_t q[4] = {j, j + 1 < nm ? j + 1 : nm - 1, j + 2 < nm ? j + 2 : nm - 1, j + 3 < nm ? j + 3 : nm - 1};
            double s[4];
            if (nm > 4) {
                dot4(D, zc, Lambda + m[q[0]] * D, Lambda + m[q[1]] * D, Lambda + m[q[2]] * D, Lambda + m[q[3]] * D, s);
            } else {
                dot4s(D, z[l], sz, Lambda + m[q[0]] * D, Lambda + m[q[1]] * D, Lambda + m[q[2]] * D,
                      Lambda + m[q[3]] * D, s);
            }
            for (size_t r = 0; r < 4; r++) {
                Ad[2 * (q[r] * ld + nm) + l] = s[r];
            }
        }
        for (size_t j = 0; j < nm; j++) {
            const double *lc = Lambda + m[j] * D;
            double *cj = Ad + 2 * j * ld + l;
            for (size_t i = j; i < nm; i++) {
                cj[2 * i] = lc[m[i]];
            }
            for (size_t v = 0; v < nv; v++) {
                cj[2 * (nm + 1 + v)] = beta[v][m[j]];
            }
        }
    }
    /* the LDL^T, forward and backward solves of fz_prow_score(), operation for operation */
    const fz_v2 one = {1.0, 1.0};
    for (size_t j = 0; j < nm; j++) {
        fz_v2 *cj = A + j * ld;
        size_t k = 0;
        for (; k + 4 <= j; k += 4) {
            const fz_v2 *c0 = A + k * ld, *c1 = c0 + ld, *c2 = c1 + ld, *c3 = c2 + ld;
            fz_v2 a0 = c0[j] * rd[k], a1 = c1[j] * rd[k + 1], a2 = c2[j] * rd[k + 2], a3 = c3[j] * rd[k + 3];
            for (size_t i = j; i < ld; i++) {
                cj[i] -= (c0[i] * a0 + c1[i] * a1) + (c2[i] * a2 + c3[i] * a3);
            }
        }
        for (; k < j; k++) {
            const fz_v2 *ck = A + k * ld;
            fz_v2 a = ck[j] * rd[k];
            for (size_t i = j; i < ld; i++) {
                cj[i] -= ck[i] * a;
            }
        }
        fz_v2 d = cj[j];
        if (!(d[0] > 0) || !(d[1] > 0)) {
            return -1;
        }
        rd[j] = one / d;
    }
    for (size_t v = 0; v < nv; v++) {
        fz_v2 s = {0, 0};
        for (size_t j = 0; j < nm; j++) {
            fz_v2 u = A[j * ld + nm + 1 + v];
            s += u * u * rd[j];
        }
        var[0][v] = s[0];
        var[1][v] = s[1];
    }
    if (!z) {
        return 0;
    }
    for (size_t i = nm; i-- > 0;) {
        const fz_v2 *ci = A + i * ld;
        fz_v2 s = ci[nm];
        for (size_t k = i + 1; k < nm; k++) {
            s -= ci[k] * x[k];
        }
        x[i] = s * rd[i];
    }
    for (size_t i = 0; i < nm; i++) {
        z[0][mi[0][i] * sz] = -x[i][0];
        z[1][mi[1][i] * sz] = -x[i][1];
    }
    return 0;
}

void fz_miss_bits(size_t n, size_t D, const double *O, uint64_t *bits, size_t *nmi)
{
    size_t W = (D + 63) / 64;
    memset(bits, 0, n * W * sizeof(uint64_t));
    memset(nmi, 0, n * sizeof(size_t));
    for (size_t a = 0; a < D; a++) {
        const double *o = O + a * n;
        uint64_t *bw = bits + a / 64, bit = (uint64_t)1 << (a & 63);
        for (size_t i0 = 0; i0 < n; i0 += 64) {
            size_t e = n - i0 < 64 ? n - i0 : 64, i = 0;
            uint64_t cm = 0;
#ifdef __SSE2__
            for (; i + 2 <= e; i += 2) {
                cm |= (uint64_t)_mm_movemask_pd(_mm_cmpeq_pd(_mm_loadu_pd(o + i0 + i), _mm_setzero_pd())) << i;
            }
#endif
            for (; i < e; i++) {
                cm |= (uint64_t)(o[i0 + i] == 0) << i;
            }
            for (; cm; cm &= cm - 1) { /* the missing ones only */
                size_t r = i0 + (size_t)__builtin_ctzll(cm);
                bw[r * W] |= bit;
                nmi[r]++;
            }
        }
    }
}
