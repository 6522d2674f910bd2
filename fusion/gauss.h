/* Internal: the Gaussian feature model of one modality on plain arrays: sufficient
 * statistics over chunks (dsyrk), the shrinkage covariance, and conditioning on the
 * observed features of a missingness pattern (imputation, its variance, Mahalanobis). */
#ifndef MMDX_FUSION_GAUSS_H
#define MMDX_FUSION_GAUSS_H

#include <stddef.h>
#include <stdint.h>

/* Two doubles at any 8-byte alignment (a GCC/clang vector extension: SSE2 on x86-64, any
 * target's vectors or scalar code elsewhere) and the matching 64-bit lane masks. IEEE
 * operations on the lanes round as the scalar ones do. */
typedef double fz_v2 __attribute__((vector_size(16), aligned(8), may_alias));
typedef long long fz_v2i __attribute__((vector_size(16), aligned(8), may_alias));

/*
 * Add n rows to the sufficient statistics: S += Z^T Z, N += O^T O (lower triangles,
 * D x D), where Z (n x D, leading dimension ldz) holds standardised values with missing
 * ones set to 0 and O (n x D, leading dimension ldz) is 1 where observed, 0 where missing.
 */
void fz_gauss_accumulate(size_t n, size_t D, const double *Z, const double *O, size_t ldz, double *S,
                         double *N);

/*
 * The covariance from the statistics: C = diag(N)^{-1/2} S diag(N)^{-1/2} (positive
 * semi-definite; unit diagonal on standardised data; pairs seldom observed together
 * shrink toward 0), pulled toward the identity by @p nu pseudo-observations:
 * Sigma = (nu I + n C) / (nu + n), n the mean observed count. A feature never observed
 * gets variance 1 and no correlation. Sigma is written in full (both triangles).
 */
void fz_gauss_covariance(size_t D, const double *S, const double *N, double nu, double *Sigma);

/* Small dense kernels (column-major, lower): Cholesky in place (0, or -1 when not
 * positive definite), L x = b and L^T x = b in place. */
int fz_chol_small(size_t n, double *A);
void fz_trsv_lower(size_t n, const double *L, double *x);
void fz_trsv_lower_trans(size_t n, const double *L, double *x);

/* Conditioning on one missingness pattern. */
typedef struct fz_cond {
    size_t D;        /* features of the modality */
    size_t no, nm;   /* observed and missing counts of the current pattern */
    size_t *o, *mi;  /* their indices (D each) */
    unsigned char *pattern; /* current pattern (1 observed), D; valid when set */
    int set;
    double *L;       /* no x no Cholesky factor (lower) of Sigma_OO */
    double *K;       /* no x nm: L^{-1} Sigma_OM */
    double *work;    /* D doubles */
} fz_cond_t;

/* Allocate for D features. Returns NULL when out of memory. */
fz_cond_t *fz_cond_alloc(size_t D);
void fz_cond_free(fz_cond_t *c);
/*
 * Condition @p Sigma (D x D, full) on the pattern @p obs (1 observed). Does nothing when
 * the pattern is the current one. Returns 0, or -1 when Sigma_OO is not positive
 * definite (Sigma from fz_gauss_covariance() with nu > 0 always is).
 */
int fz_cond_set(fz_cond_t *c, const double *Sigma, const unsigned char *obs);
/*
 * For one patient with all D standardised values in @p z (missing entries are
 * overwritten): fills the missing entries with their conditional mean and returns the
 * squared Mahalanobis distance of the observed ones.
 */
double fz_cond_impute(fz_cond_t *c, double *z);
/* beta_M^T Cov(z_M | z_O) beta_M for coefficients @p beta over the D features. */
double fz_cond_variance(const fz_cond_t *c, const double *Sigma, const double *beta, double *work);
/* Conditional mean and variance of feature j (missing in the pattern) given z. */
void fz_cond_feature(const fz_cond_t *c, const double *Sigma, const double *z, size_t j, double *mean,
                     double *var, double *work);


/*
 * Conditioning through the precision matrix Lambda = Sigma^{-1}, for many rows: with
 * M the missing and O the observed features of a row and w = Lambda z (z_M = 0),
 * z_M | z_O ~ N(-Lambda_MM^{-1} w_M, Lambda_MM^{-1}) and the observed part's squared
 * Mahalanobis distance is z_O . w_O - w_M . Lambda_MM^{-1} w_M. Only the small missing
 * block is factorised per row; the D x D work is one dgemm over a block of rows.
 */
typedef struct fz_prow {
    size_t D, nm;
    size_t *mi;   /* missing indices (D) */
    double *L;    /* nm x nm Cholesky factor of Lambda_MM (D * D) */
    double *t;    /* scratch (D) */
    double *zc;   /* the row's values, contiguous (D) */
} fz_prow_t;

/* x . y over n contiguous doubles (the BLAS kernel from n = 32, unrolled below). */
double fz_dot(size_t n, const double *x, const double *y);

fz_prow_t *fz_prow_alloc(size_t D);
void fz_prow_free(fz_prow_t *r);
/* Lambda (D x D, full) from Sigma; Sigma must be positive definite. 0 or -1. */
int fz_gauss_precision(size_t D, const double *Sigma, double *Lambda);
/* W = Z Lambda for n rows (Z n x D, leading dimension ldz; W n x D, leading dimension n). */
void fz_gauss_wblock(size_t n, size_t D, const double *Z, size_t ldz, const double *Lambda, double *W);
/*
 * One row: z (stride sz) with missing entries 0 and obs flags (stride so, nonzero =
 * observed), w its row of W (stride sw). Fills z's missing entries with the conditional
 * mean, keeps the factor for fz_prow_variance(), and returns the squared Mahalanobis
 * distance of the observed features (0 when none is observed). -1 (and *ok = 0) when
 * Lambda_MM is not positive definite.
 */
double fz_prow_impute(fz_prow_t *r, const double *Lambda, double *z, size_t sz, const double *obs, size_t so,
                      const double *w, size_t sw, int *ok);
/* As fz_prow_impute_mean() with w = Lambda z (missing entries of z 0) precomputed for a
 * block of rows by fz_gauss_wblock() (one dgemm: D x D work per row, but at BLAS-3 rate,
 * cheaper than the |M| x D scalar dots from D = 16 up). */
void fz_prow_impute_w(fz_prow_t *r, const double *Lambda, double *z, size_t sz, const double *obs, size_t so,
                      const double *w, size_t sw, int *ok);
/* Only the factor of Lambda_MM for the missing set of obs (for fz_prow_variance()),
 * when the imputed values are already known. */
void fz_prow_factor(fz_prow_t *r, const double *Lambda, const double *obs, size_t so, int *ok);
/* As fz_prow_impute() without a precomputed w and without the Mahalanobis distance:
 * w_M = Lambda_MO z_O is formed here, |M| dots of length D (|M| x D work instead of the
 * D x D of Lambda z; scoring uses it: at 10% missing a tenth of the flops). */
void fz_prow_impute_mean(fz_prow_t *r, const double *Lambda, double *z, size_t sz, const double *obs, size_t so,
                         int *ok);
/* beta_M^T Lambda_MM^{-1} beta_M for the row last imputed (0 with nothing missing). */
double fz_prow_variance(fz_prow_t *r, const double *beta);

/*
 * Scoring, one row of a block: z (stride sz) holds the D standardised values with 0 in the
 * missing entries mi[0..nm) (ascending, 0 < nm). Fills those with the conditional mean
 * -Lambda_MM^{-1} Lambda_M. z and sets var[v] = beta_v,M' Lambda_MM^{-1} beta_v,M for the
 * nv coefficient vectors beta[v] (over the D features): one LDL^T factorisation of
 * Lambda_MM bordered by the right-hand sides also does the forward solves. @p work holds
 * (D + 1 + nv) * D + 2 * D doubles. 0, or -1 when Lambda_MM is not positive definite.
 * The same arithmetic for a row wherever it is, in any block. With z NULL only the
 * variances (the same bits as with z: the right-hand side does not enter them).
 */
int fz_prow_score(size_t D, const double *Lambda, double *z, size_t sz, const size_t *mi, size_t nm,
                  const double *const *beta, size_t nv, double *var, double *work);
/* Two rows with the same number nm > 2 of missing features at once (z[0], z[1], mi[0],
 * mi[1], var[0], var[1]; the two may be one row): each row's results are fz_prow_score()'s
 * bit for bit, two rows' dependency chains interleaved; z NULL: only the variances. @p work holds
 * 2 (D + 1 + nv) D + 5 D doubles. */
int fz_prow_score2(size_t D, const double *Lambda, double *const *z, size_t sz, const size_t *const *mi,
                   size_t nm, const double *const *beta, size_t nv, double *const *var, double *work);

/* Each row's missing features of a block of n rows (O: n x D by columns, 0 where missing)
 * as bits (bits: n rows of (D + 63) / 64 words, a row's words together) and their number
 * (nmi: n). Built by columns, 64 rows' flags as one mask, setting only the missing bits. */
void fz_miss_bits(size_t n, size_t D, const double *O, uint64_t *bits, size_t *nmi);
/* The missing features of one row of fz_miss_bits() (its W words) as ascending indices in
 * mi; returns their number. */
static inline size_t fz_miss_list(const uint64_t *row, size_t W, size_t *mi)
{
    size_t c = 0;
    for (size_t w = 0; w < W; w++) {
        for (uint64_t x = row[w]; x; x &= x - 1) {
            mi[c++] = w * 64 + (size_t)__builtin_ctzll(x);
        }
    }
    return c;
}

#endif
