/* Training passes of the fusion model: accumulate aggregates over chunks, then step.
 * Pass 0 gathers moments (transforms, standardisation) and label counts; pass 1 the
 * feature models' statistics; then Newton passes for every modality's regressions
 * (full fit and one per cross-fitting fold, all at once), then Newton passes for the
 * stacking layer over the cross-fitted evidence. */
#define _DEFAULT_SOURCE /* sysconf(_SC_PHYS_PAGES) */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cblas.h>
#include "mmdx/model.h"
#include "model_internal.h"
#include "logistic.h"
#include "gauss.h"

double fz_fit_eval(const fz_fit_t *f, const double *x, double *var, double *work)
{
    size_t d = f->d;
    double mu = 0;
    for (size_t j = 0; j < d; j++) {
        mu += f->beta[j] * x[j];
    }
    if (var) {
        memcpy(work, x, d * sizeof(double));
        fz_trsv_lower(d, f->L, work); /* one row: no BLAS dispatch */
        double v = 0;
        for (size_t j = 0; j < d; j++) {
            v += work[j] * work[j];
        }
        *var = v;
    }
    return mu;
}

/* Labels of the chunk rows, per model target (-1 unknown). */
static int *chunk_labels(const mmdx_model_t *m, const fz_map_t *map, const mmdx_cohort_t *c, size_t first, size_t n)
{
    int *lab = mmdx_malloc((m->ntarget > 0 && n > 0 ? m->ntarget * n : 1) * sizeof(int));
    if (!lab) {
        return NULL;
    }
    for (size_t t = 0; t < m->ntarget; t++) {
        int K = (int)mmdx_space_n_classes(m->space, t);
        for (size_t i = 0; i < n; i++) {
            int v = map->target[t] >= 0 ? mmdx_cohort_label(c, first + i, (size_t)map->target[t]) : -1;
            lab[t * n + i] = v >= 0 && v < K ? v : -1;
        }
    }
    return lab;
}

/* Value of column @p col for row @p i (the cohort column directly for numeric columns,
 * as fz_col_value()); 0 when missing. */
static int mom_value(const mmdx_model_t *m, const fz_map_t *map, const mmdx_cohort_t *c, size_t col,
                     const double *cv, const uint8_t *fl, size_t i, double *v)
{
    if (cv) {
        *v = cv[i];
        return !((fl[i] & MMDX_VAL_MISSING) || isnan(*v));
    }
    return fz_col_value(m, map, c, col, i, v);
}

/* Chunk moments (n, mean, central sums of squares and cubes) from sums of d = x - K,
 * shifted by a value K of the chunk so that they do not cancel. */
static void mom_from_shifted(double k, double K, const double *d, double *out)
{
    double c = d[0] / k;
    out[0] = k;
    out[1] = K + c;
    out[2] = d[1] - d[0] * c;
    out[3] = d[2] - 3 * c * d[1] + 2 * c * c * d[0];
}

/*
 * acc_moments_col() of a numeric column that is not a proportion, with @p pos (n doubles):
 * the positive values are gathered in the first loop (no branch on the sign there) and
 * their logs summed in a second one, in the same order: the same sums as the loop of
 * acc_moments_col(). Both leave out the logs (and the smallest positive value) of a chunk
 * with a value that is not positive: the column can no longer be log-transformed
 * (col_decide() wants every value positive).
 */
static int moments_numeric(double *q, const double *cv, const uint8_t *fl, size_t n, double *pos, size_t *bad_row)
{
    double k = 0, K = 0, d[3] = {0, 0, 0};
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        double v = cv[i];
        if ((fl[i] & MMDX_VAL_MISSING) || isnan(v)) {
            continue;
        }
        if (!isfinite(v)) {
            *bad_row = i;
            return MMDX_ERANGE;
        }
        if (k == 0) {
            K = v;
        }
        k += 1;
        double e = v - K, e2 = e * e;
        d[0] += e;
        d[1] += e2;
        d[2] += e2 * e;
        pos[np] = v;
        np += v > 0;
    }
    if ((double)np < k) {
        np = 0; /* not all positive: the log moments would not be used */
    }
    double KL = np ? log(pos[0]) : 0, dl[3] = {0, 0, 0}, mn = q[FZ_MOM_MIN];
    for (size_t p = 0; p < np; p++) {
        double v = pos[p], el = log(v) - KL, el2 = el * el;
        dl[0] += el;
        dl[1] += el2;
        dl[2] += el2 * el;
        mn = v < mn ? v : mn;
    }
    q[FZ_MOM_MIN] = mn;
    double ch[4];
    if (k > 0) {
        mom_from_shifted(k, K, d, ch);
        fz_mom_combine(q + FZ_MOM_N, ch);
    }
    if (np > 0) {
        mom_from_shifted((double)np, KL, dl, ch);
        fz_mom_combine(q + FZ_MOM_NPOS, ch);
    }
    return MMDX_OK;
}

/* The chunk's moments of column @p col, in one pass of sums shifted by the column's
 * first value in the chunk (and its log), combined into the running ones with
 * fz_mom_combine(). MMDX_ERANGE at an infinite value (its row in *bad_row). @p pos: n
 * doubles for moments_numeric(), or NULL. */
static int acc_moments_col(mmdx_model_t *m, const fz_map_t *map, const mmdx_cohort_t *c, size_t col, size_t n,
                           double *pos, size_t *bad_row)
{
    fz_col_t *cl = &m->cols[col];
    double *q = cl->mom;
    long kc = map->col[cl->feature];
    const double *cv = kc >= 0 && cl->level < 0 ? mmdx_cohort_column_const(c, (size_t)kc) : NULL;
    const uint8_t *fl = cv ? mmdx_cohort_flags_const(c, (size_t)kc) : NULL;
    /* a declared proportion: the L moments are of logit(x) instead of log(x) */
    int logit = cl->level < 0 && fz_feature_is_logit(m->space, cl->feature);
    if (cv && !logit && pos) {
        return moments_numeric(q, cv, fl, n, pos, bad_row);
    }
    double k = 0, kl = 0, K = 0, KL = 0, d[3] = {0, 0, 0}, dl[3] = {0, 0, 0}, v, mn = q[FZ_MOM_MIN];
    for (size_t i = 0; i < n; i++) {
        if (!mom_value(m, map, c, col, cv, fl, i, &v)) {
            continue;
        }
        if (!isfinite(v)) {
            *bad_row = i;
            return MMDX_ERANGE;
        }
        if (k == 0) {
            K = v;
        }
        k += 1;
        double e = v - K, e2 = e * e;
        d[0] += e;
        d[1] += e2;
        d[2] += e2 * e;
        if (v > 0 || logit) {
            double lv = logit ? fz_logit(v) : log(v);
            if (kl == 0) {
                KL = lv;
            }
            kl += 1;
            double el = lv - KL, el2 = el * el;
            dl[0] += el;
            dl[1] += el2;
            dl[2] += el2 * el;
            mn = v > 0 && v < mn ? v : mn;
        }
    }
    if (!logit && kl < k) {
        kl = 0; /* not all positive: no log moments, as moments_numeric() */
    }
    if (logit || kl > 0) {
        q[FZ_MOM_MIN] = mn;
    }
    double ch[4];
    if (k > 0) {
        mom_from_shifted(k, K, d, ch);
        fz_mom_combine(q + FZ_MOM_N, ch);
    }
    if (kl > 0) {
        mom_from_shifted(kl, KL, dl, ch);
        fz_mom_combine(q + FZ_MOM_NPOS, ch);
    }
    return MMDX_OK;
}

/* The chunk's label counts and patients. */
static void acc_labels(mmdx_model_t *m, size_t n, const int *lab)
{
    for (size_t t = 0; t < m->ntarget; t++) {
        for (size_t i = 0; i < n; i++) {
            if (lab[t * n + i] >= 0) {
                m->counts[m->tgt_cls0[t] + (size_t)lab[t * n + i]] += 1;
            }
        }
    }
    m->n_patients += (double)n;
}

/* Rows per block of a training pass over n rows: FZ_TRAIN_BLOCK, or fewer (down to
 * FZ_TRAIN_BLOCK_MIN) so that a chunk has at least 8 blocks to share between threads.
 * A function of n alone: the blocks, hence the sums, do not depend on the thread count. */
#ifndef FZ_TRAIN_BLOCK
#define FZ_TRAIN_BLOCK 4096
#endif
#ifndef FZ_TRAIN_BLOCK_MIN
#define FZ_TRAIN_BLOCK_MIN 1024
#endif
static size_t train_block(size_t n)
{
    size_t r = (n + 7) / 8;
    return r < FZ_TRAIN_BLOCK_MIN ? FZ_TRAIN_BLOCK_MIN : r > FZ_TRAIN_BLOCK ? FZ_TRAIN_BLOCK : r;
}

typedef struct pass_buf {
    double *X, *O, *work, *y, *w, *wf, *E;
    double *G, *iv, *mu, *var; /* stacking pass: rows of one fold, imputation variance */
    size_t *idx, *mi; /* mi: 2 x Dmax (missing features of two rows) */
    unsigned char *present;
    unsigned *fold;
    uint64_t *bits;       /* per row: its missing features as bits (n x words of Dmax) */
    size_t *nmi, *order;  /* n: missing count of each row; the rows sorted by it (and fold) */
    size_t *cnt;          /* counting sort: (Dmax + 1) x folds + 1 */
    double *kw, *kv;      /* fz_prow_score2()'s workspace; two rows' nbin variances */
    const double **beta;  /* nbin coefficient vectors */
} pass_buf_t;

static void buf_free(pass_buf_t *b)
{
    mmdx_free(b->X);
    mmdx_free(b->O);
    mmdx_free(b->work);
    mmdx_free(b->y);
    mmdx_free(b->w);
    mmdx_free(b->wf);
    mmdx_free(b->E);
    mmdx_free(b->G);
    mmdx_free(b->iv);
    mmdx_free(b->mu);
    mmdx_free(b->var);
    mmdx_free(b->idx);
    mmdx_free(b->mi);
    mmdx_free(b->present);
    mmdx_free(b->fold);
    mmdx_free(b->bits);
    mmdx_free(b->nmi);
    mmdx_free(b->order);
    mmdx_free(b->cnt);
    mmdx_free(b->kw);
    mmdx_free(b->kv);
    mmdx_free((void *)b->beta);
}

static int buf_alloc(pass_buf_t *b, size_t n, size_t D, size_t nmod, size_t nbin, size_t nfold)
{
    memset(b, 0, sizeof(*b));
    size_t d = D + 1;
    b->X = mmdx_malloc(n * d * sizeof(double));
    b->O = mmdx_malloc(n * (D ? D : 1) * sizeof(double));
    b->work = mmdx_malloc((n * (d > nmod + 1 ? d : nmod + 1) + n + 2 * d) * sizeof(double));
    b->y = mmdx_malloc(n * sizeof(double));
    b->w = mmdx_malloc(n * sizeof(double));
    b->wf = mmdx_malloc(n * sizeof(double));
    b->E = mmdx_calloc(n * (nmod + 1) * (nbin ? nbin : 1), sizeof(double));
    b->present = mmdx_calloc(n * (nmod ? nmod : 1), 1);
    b->fold = mmdx_malloc(n * sizeof(unsigned));
    b->bits = mmdx_malloc((n * ((D + 63) / 64) + 1) * sizeof(uint64_t));
    b->nmi = mmdx_malloc((n ? n : 1) * sizeof(size_t));
    b->order = mmdx_malloc((n ? n : 1) * sizeof(size_t));
    b->cnt = mmdx_malloc(((D + 1) * (nfold ? nfold : 1) + 2) * sizeof(size_t));
    b->kw = mmdx_malloc((2 * (D + 1 + nbin) * D + 5 * D + 1) * sizeof(double));
    b->kv = mmdx_malloc((2 * nbin + 1) * sizeof(double));
    b->beta = mmdx_malloc((nbin + 1) * sizeof(double *));
    b->G = mmdx_malloc(n * d * sizeof(double));
    b->iv = mmdx_malloc(n * (nbin ? nbin : 1) * sizeof(double));
    b->mu = mmdx_malloc(n * sizeof(double));
    b->var = mmdx_malloc(n * sizeof(double));
    b->idx = mmdx_malloc(n * sizeof(size_t));
    b->mi = mmdx_malloc((2 * D + 1) * sizeof(size_t));
    if (!b->X || !b->O || !b->work || !b->y || !b->w || !b->wf || !b->E || !b->present || !b->fold ||
        !b->bits || !b->nmi || !b->order || !b->cnt || !b->kw || !b->kv || !b->beta || !b->G || !b->iv ||
        !b->mu || !b->var || !b->idx || !b->mi) {
        buf_free(b);
        return MMDX_ENOMEM;
    }
    return MMDX_OK;
}

/*
 * What an in-memory fit (mmdx_model_fit) keeps of one block of rows between passes:
 * the standardised values and observed indicators of every modality (from the
 * covariance pass), imputed in place by the first Newton pass (fixed once the feature
 * models are, so the same for every Newton pass of the regressions and the
 * cross-fitting pass), the cross-fitted evidence of the stacking layer (fixed once the
 * modality fits are), the labels and the folds. Filled by the first pass that computes
 * them; the later passes read them and do the same arithmetic on the same blocks, so the
 * fit is the same as without.
 */
typedef struct blk_cache {
    size_t n;
    double **X;             /* nmod: n x (D_k + 1), or NULL when over the memory budget */
    unsigned char **O;      /* nmod: n x D_k observed indicators */
    unsigned char *present; /* n x nmod */
    unsigned char *have_x;  /* nmod: 1 X holds the standardised values (missing 0) and O is set
                               (covariance pass), 2 X is imputed */
    double *E;              /* nbin x n x (nmod + 1) */
    int have_e;
    int *lab;               /* the block's labels (chunk_labels()), once computed */
    unsigned *fold;         /* the rows' folds, once computed */
    /* over the budget for X: the imputed values of the rows with something observed, by
     * columns (the design is rebuilt from the cohort and these by a gather) */
    double **V;             /* nmod, or NULL when X is kept or nothing is */
    unsigned char *have_v;  /* nmod: 0 not yet imputed, 1 not kept (over the budget), 2 kept */
} blk_cache_t;

/* Worker threads of a training pass, at most. */
#define FZ_TRAIN_MAX_THREADS 64

typedef struct fit_cache {
    size_t nblk, nmod;
    blk_cache_t *blk;
    pass_buf_t buf[FZ_TRAIN_MAX_THREADS]; /* block buffers of each worker, for every pass */
    size_t nbuf, buf_rows;
    double *part; /* the blocks' partial sums (pass_layout_t), for every pass */
    size_t part_cap;
    atomic_size_t vbytes; /* bytes of imputed values kept (blk_cache_t V), at most vmax */
    size_t vmax;
} fit_cache_t;

/* Bytes of imputed designs an in-memory fit may keep: a quarter of the machine's memory,
 * at least FZ_CACHE_MIN (1 GiB). Beyond that it keeps only the imputed values (within the
 * same budget) and rebuilds the designs from the cohort each pass; beyond that too, it
 * recomputes them. */
#define FZ_CACHE_MIN ((size_t)1 << 30)
static size_t g_cache_budget; /* fz_train_set_cache_budget(): 0 for the default */

static size_t g_last_kept;

void fz_train_set_cache_budget(size_t bytes)
{
    g_cache_budget = bytes;
}

size_t fz_train_last_kept(void)
{
    return g_last_kept;
}

static size_t cache_budget(void)
{
    if (g_cache_budget) {
        return g_cache_budget;
    }
    size_t b = FZ_CACHE_MIN;
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psz > 0 && (size_t)pages / 4 <= SIZE_MAX / (size_t)psz) {
        size_t q = (size_t)pages / 4 * (size_t)psz;
        b = q > b ? q : b;
    }
#endif
    return b;
}

static void cache_free(fit_cache_t *fc)
{
    if (fc->blk) {
        g_last_kept = atomic_load(&fc->vbytes);
    }
    for (size_t b = 0; fc->blk && b < fc->nblk; b++) {
        blk_cache_t *bc = &fc->blk[b];
        for (size_t k = 0; bc->X && k < fc->nmod; k++) {
            mmdx_free(bc->X[k]);
            mmdx_free(bc->O ? bc->O[k] : NULL);
        }
        mmdx_free(bc->X);
        mmdx_free(bc->O);
        mmdx_free(bc->present);
        mmdx_free(bc->have_x);
        mmdx_free(bc->E);
        mmdx_free(bc->lab);
        mmdx_free(bc->fold);
        for (size_t k = 0; bc->V && k < fc->nmod; k++) {
            mmdx_free(bc->V[k]);
        }
        mmdx_free(bc->V);
        mmdx_free(bc->have_v);
    }
    mmdx_free(fc->blk);
    for (size_t q = 0; q < fc->nbuf; q++) {
        buf_free(&fc->buf[q]);
    }
    mmdx_free(fc->part);
    memset(fc, 0, sizeof(*fc));
}

static size_t max_modality_cols(const mmdx_model_t *m)
{
    size_t D = 0;
    for (size_t k = 0; k < m->nmod; k++) {
        if (m->mods[k].ncol > D) {
            D = m->mods[k].ncol;
        }
    }
    return D;
}

/*
 * The sums a pass adds to, laid out in one array of doubles per block: every block adds
 * into its own zeroed copy and the copies are added into the model in block order after
 * the pass, so that the sums (and the fit) do not depend on how the blocks were shared
 * between threads. Per fit slot (fits of bin bi, modality k, fold f at
 * (bi * nmod + k) * nf + f, then the stacking fits of the bins): g (d), ll, n, then H
 * (d x d) when the pass takes the Hessian; per modality (covariance pass): S, N, nseen.
 */
#define FZ_NONE ((size_t)-1)
typedef struct pass_layout {
    size_t len;          /* doubles per block */
    size_t nslot;
    size_t *off;         /* nslot: offset of the slot's g, or FZ_NONE when the pass does not add to it */
    unsigned char *hess; /* nslot: the slot has H */
    size_t *off_cov;     /* nmod: S, N (D x D each), nseen (covariance pass) */
} pass_layout_t;

static fz_fit_t *slot_fit(const mmdx_model_t *m, size_t s)
{
    size_t per = m->nmod * ((size_t)m->opt.folds + 1), nfit = m->nbin * per; /* fits of a bin, of all */
    return s < nfit ? &m->bins[s / per].fits[s % per] : &m->bins[s - nfit].stack;
}

static void layout_free(pass_layout_t *l)
{
    mmdx_free(l->off);
    mmdx_free(l->hess);
    mmdx_free(l->off_cov);
    memset(l, 0, sizeof(*l));
}

static int layout_init(const mmdx_model_t *m, pass_layout_t *l)
{
    memset(l, 0, sizeof(*l));
    size_t nf = (size_t)m->opt.folds + 1;
    l->nslot = m->nbin * m->nmod * nf + m->nbin;
    l->off = mmdx_malloc((l->nslot ? l->nslot : 1) * sizeof(size_t));
    l->hess = mmdx_calloc(l->nslot ? l->nslot : 1, 1);
    l->off_cov = mmdx_malloc((m->nmod ? m->nmod : 1) * sizeof(size_t));
    if (!l->off || !l->hess || !l->off_cov) {
        layout_free(l);
        return MMDX_ENOMEM;
    }
    for (size_t k = 0; k < m->nmod; k++) {
        size_t D = m->mods[k].ncol;
        l->off_cov[k] = FZ_NONE;
        if (m->phase == FZ_PH_COVAR) {
            l->off_cov[k] = l->len;
            l->len += 2 * D * D + 1;
        }
    }
    for (size_t s = 0; s < l->nslot; s++) {
        const fz_fit_t *ft = slot_fit(m, s);
        int stack = s >= m->nbin * m->nmod * nf;
        size_t f = s % nf;
        int in = (m->phase == FZ_PH_MODAL && !stack && f == 0 && !ft->done) ||
                 (m->phase == FZ_PH_FOLDS && !stack && f > 0) || (m->phase == FZ_PH_STACK && stack && !ft->done);
        l->off[s] = FZ_NONE;
        if (in) {
            l->hess[s] = m->phase != FZ_PH_MODAL || fz_fit_wants_hessian(ft, 1, m->opt.tol);
            l->off[s] = l->len;
            l->len += ft->d + 2 + (l->hess[s] ? ft->d * ft->d : 0);
        }
    }
    return MMDX_OK;
}

/* Add a block's sums P into the model's aggregates (lower triangles of the matrices). */
static void layout_add(mmdx_model_t *m, const pass_layout_t *l, const double *P)
{
    for (size_t k = 0; k < m->nmod; k++) {
        if (l->off_cov[k] == FZ_NONE) {
            continue;
        }
        fz_modality_t *md = &m->mods[k];
        size_t D = md->ncol;
        const double *S = P + l->off_cov[k], *N = S + D * D;
        for (size_t j = 0; j < D; j++) {
            for (size_t i = j; i < D; i++) {
                md->S[j * D + i] += S[j * D + i];
                md->N[j * D + i] += N[j * D + i];
            }
        }
        md->nseen += N[D * D];
    }
    for (size_t s = 0; s < l->nslot; s++) {
        if (l->off[s] == FZ_NONE) {
            continue;
        }
        fz_fit_t *ft = slot_fit(m, s);
        size_t d = ft->d;
        const double *g = P + l->off[s];
        for (size_t j = 0; j < d; j++) {
            ft->g[j] += g[j];
        }
        ft->ll += g[d];
        ft->n += g[d + 1];
        if (l->hess[s]) {
            const double *H = g + d + 2;
            for (size_t j = 0; j < d; j++) {
                for (size_t i = j; i < d; i++) {
                    ft->H[j * d + i] += H[j * d + i];
                }
            }
        }
    }
}

/*
 * The covariance pass's sums of a block: S += Z^T Z and the pair counts N += O^T O, lower
 * triangles, by fz_gauss_accumulate() unless few values are missing; then N (exact in
 * integers either way) is counted from the missing pairs of each row with a value,
 * N_ab = seen - miss_a - miss_b + miss_ab (N of a zeroed block partial only), which costs
 * sum |M_i|^2 / 2 increments instead of n D^2 / 2 multiply-adds. w: rows with a value;
 * bits: the rows' missing features (fz_miss_bits()); mi: D indices; work: D doubles.
 */
static void cov_accumulate(size_t n, size_t D, const double *Z, const double *O, const double *w, double seen,
                           const uint64_t *bits, double *S, double *N, size_t *mi, double *work)
{
    if (n == 0 || D == 0) {
        return;
    }
    /* missing values of the rows with a value, per feature: seen less the observed ones
     * (an observed value is in a row with a value) */
    double *miss = work, total = 0;
    for (size_t a = 0; a < D; a++) {
        const double *o = O + a * n;
        double k = 0;
        for (size_t i = 0; i < n; i++) {
            k += o[i];
        }
        miss[a] = seen - k;
        total += miss[a];
    }
    int zero = 1; /* N is a zeroed block partial: the counting can start from it */
    for (size_t j = 0; j < D * D && zero; j++) {
        zero = N[j] == 0;
    }
    /* counting costs a scan of the row (D) and about 4 instructions a pair, dsyrk about
     * an instruction per 4 multiply-adds (pairs per row from the mean missing count) */
    double mbar = seen > 0 ? total / seen : 0;
    if (!zero || (double)D + 2 * mbar * (mbar + 1) > (double)D * (double)(D + 1) / 8) {
        fz_gauss_accumulate(n, D, Z, O, n, S, N);
        return;
    }
    cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)D, (int)n, 1.0, Z, (int)n, 1.0, S, (int)D);
    for (size_t i = 0; i < n && total > 0; i++) {
        if (w[i] == 0) {
            continue; /* no value: every pair unobserved, nothing to count */
        }
        size_t W = (D + 63) / 64, nm = fz_miss_list(bits + i * W, W, mi);
        for (size_t q = 0; q < nm; q++) {
            size_t a = mi[q];
            for (size_t p = 0; p <= q; p++) {
                N[mi[p] * D + a] += 1; /* row a >= column mi[p]: lower triangle */
            }
        }
    }
    for (size_t bcol = 0; bcol < D; bcol++) {
        for (size_t a = bcol; a < D; a++) {
            N[bcol * D + a] += seen - miss[a] - miss[bcol];
        }
    }
}

/*
 * Conditioning of modality k for the n rows of a block (fz_miss_bits() into b->bits and
 * b->nmi done) with something missing and something observed, by fz_prow_score() / fz_prow_score2() as
 * scoring does (each row's results the same bits wherever it is and whichever row it is
 * paired with): X (n x (D + 1), column 0 the intercept) gets the conditional means of
 * the missing values (X NULL: they are known already), and with iv (the stacking pass)
 * iv[bi * n + i] is the imputation variance of row i under the fit of bin bi that did
 * not see the row's fold (0 for the other rows). The rows are taken by number of missing
 * features (then fold), two with the same at a time.
 */
static int condition_block(const mmdx_model_t *m, size_t k, size_t n, double *X, const unsigned *fold,
                           double *iv, pass_buf_t *b)
{
    const fz_modality_t *md = &m->mods[k];
    size_t D = md->ncol, W = (D + 63) / 64, nf = (size_t)m->opt.folds + 1;
    size_t F = iv ? nf - 1 : 1, nv = iv ? m->nbin : 0, nkey = (D + 1) * F;
    if (!X && !iv) {
        return MMDX_OK;
    }
    for (size_t j = 0; iv && j < nv * n; j++) {
        iv[j] = 0;
    }
    size_t *cnt = b->cnt, *key = b->idx; /* idx: free until the folds are gathered */
    memset(cnt, 0, (nkey + 1) * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        key[i] = b->nmi[i] * F + (iv ? fold[i] : 0);
        cnt[key[i] + 1]++;
    }
    for (size_t q = 1; q <= nkey; q++) {
        cnt[q] += cnt[q - 1];
    }
    for (size_t i = 0; i < n; i++) {
        b->order[cnt[key[i]]++] = i;
    }
    size_t *ml[2] = {b->mi, b->mi + D};
    for (size_t q = 0; q < n;) {
        size_t i = b->order[q], nm = b->nmi[i];
        if (nm == 0 || nm == D) {
            q++;
            continue;
        }
        size_t i2 = nm > 2 && q + 1 < n && key[b->order[q + 1]] == key[i] ? b->order[q + 1] : i;
        fz_miss_list(b->bits + i * W, W, ml[0]);
        fz_miss_list(b->bits + i2 * W, W, ml[1]);
        for (size_t bi = 0; bi < nv; bi++) {
            b->beta[bi] = m->bins[bi].fits[k * nf + 1 + fold[i]].beta + 1;
        }
        double *zr[2] = {X ? X + n + i : NULL, X ? X + n + i2 : NULL};
        double *vr[2] = {b->kv, i2 != i ? b->kv + nv : b->kv};
        const size_t *mc[2] = {ml[0], ml[1]};
        int rc = i2 != i ? fz_prow_score2(D, md->Lambda, X ? zr : NULL, n, mc, nm, b->beta, nv, vr, b->kw)
                         : fz_prow_score(D, md->Lambda, zr[0], n, ml[0], nm, b->beta, nv, vr[0], b->kw);
        if (rc != 0) {
            return MMDX_ENUMERIC;
        }
        for (size_t bi = 0; bi < nv; bi++) {
            iv[bi * n + i] = vr[0][bi];
            iv[bi * n + i2] = vr[1][bi];
        }
        q += i2 != i ? 2 : 1;
    }
    return MMDX_OK;
}

/* Keep the imputed values of modality k of a block (the missing entries of X's rows
 * with something observed, w, by columns) when the budget allows. Any thread: the
 * budget is taken atomically; which blocks keep theirs does not change any sum. */
static void keep_imputed(fit_cache_t *fc, blk_cache_t *bc, size_t k, size_t n, size_t D, const double *X,
                         const double *O, const double *w)
{
    size_t nv = 0;
    for (size_t a = 0; a < D; a++) {
        const double *o = O + a * n;
        for (size_t i = 0; i < n; i++) {
            nv += o[i] == 0 && w[i] != 0;
        }
    }
    size_t bytes = (nv ? nv : 1) * sizeof(double);
    bc->have_v[k] = 1;
    if (atomic_fetch_add(&fc->vbytes, bytes) + bytes > fc->vmax) {
        atomic_fetch_sub(&fc->vbytes, bytes);
        return;
    }
    double *v = mmdx_malloc(bytes);
    if (!v) {
        atomic_fetch_sub(&fc->vbytes, bytes);
        return;
    }
    bc->V[k] = v;
    for (size_t a = 0; a < D; a++) {
        const double *o = O + a * n, *x = X + (a + 1) * n;
        for (size_t i = 0; i < n; i++) {
            if (o[i] == 0 && w[i] != 0) {
                *v++ = x[i];
            }
        }
    }
    bc->have_v[k] = 2;
}

/* One block of n rows (n no more than the rows pb was allocated for), its sums into P
 * (zeroed, laid out as l). Reads the model, writes only P, bc and pb. */
static int acc_pass(const mmdx_model_t *m, const fz_map_t *map, const mmdx_cohort_t *c, size_t first, size_t n,
                    const int *lab, fit_cache_t *fc, blk_cache_t *bc, pass_buf_t *pb, const pass_layout_t *l,
                    double *P)
{
    size_t nf = (size_t)m->opt.folds + 1;
    pass_buf_t b = *pb;
    int rc = MMDX_OK;
    if (m->phase == FZ_PH_FOLDS || m->phase == FZ_PH_STACK) { /* only these passes use the folds */
        if (bc && !bc->fold && (bc->fold = mmdx_malloc(n * sizeof(unsigned))) != NULL) {
            for (size_t i = 0; i < n; i++) {
                bc->fold[i] = fz_fold(m, mmdx_cohort_id(c, first + i));
            }
        }
        if (bc && bc->fold) {
            b.fold = bc->fold; /* (b is this call's copy of *pb) */
        } else {
            for (size_t i = 0; i < n; i++) {
                b.fold[i] = fz_fold(m, mmdx_cohort_id(c, first + i));
            }
        }
    }
    int stack_cached = m->phase == FZ_PH_STACK && bc && bc->have_e;
    for (size_t k = 0; k < m->nmod && rc == MMDX_OK && !stack_cached; k++) {
        const fz_modality_t *md = &m->mods[k];
        size_t D = md->ncol, d = D + 1;
        double *X = b.X;
        int design = m->phase == FZ_PH_MODAL || m->phase == FZ_PH_FOLDS;
        /* what the cache holds of this block and modality (0 without a cache); the
         * stacking pass wants the imputed design or none */
        int cached = bc && bc->X ? bc->have_x[k] : 0;
        cached = m->phase == FZ_PH_STACK && cached < 2 ? 0 : cached;
        /* over the memory budget: the imputed values alone (2 when kept) */
        int vkept = bc && bc->V ? bc->have_v[k] : 0;
        if (cached) {
            X = bc->X[k];
            for (size_t i = 0; i < n; i++) {
                b.w[i] = bc->present[i * m->nmod + k];
            }
            if (cached == 1 || m->phase == FZ_PH_STACK) { /* the observed indicators */
                const unsigned char *o = bc->O[k];
                for (size_t j = 0; j < n * D; j++) {
                    b.O[j] = o[j];
                }
                fz_miss_bits(n, D, b.O, b.bits, b.nmi);
            }
            if (cached == 1 && design) { /* the covariance pass's values: impute them in place */
                rc = condition_block(m, k, n, X, NULL, NULL, &b);
                if (rc != MMDX_OK) {
                    break;
                }
                bc->have_x[k] = 2;
            }
        } else {
            /* with a cache (not in the stacking pass) straight into it */
            int keep = bc && bc->X && m->phase != FZ_PH_STACK;
            X = keep ? bc->X[k] : b.X;
            for (size_t i = 0; i < n; i++) {
                X[i] = 1.0;
            }
            fz_block(m, map, k, c, first, n, X + n, b.O);
            fz_miss_bits(n, D, b.O, b.bits, b.nmi);
            size_t seen = 0;
            for (size_t i = 0; i < n; i++) {
                int any = b.nmi[i] < D; /* something observed */
                b.w[i] = any;
                if (keep) {
                    bc->present[i * m->nmod + k] = (unsigned char)any;
                }
                seen += (size_t)any;
            }
            if (keep) {
                unsigned char *o = bc->O[k];
                for (size_t j = 0; j < n * D; j++) {
                    o[j] = b.O[j] != 0;
                }
                bc->have_x[k] = 1;
            }
            if (m->phase == FZ_PH_COVAR) {
                double *S = P + l->off_cov[k];
                cov_accumulate(n, D, X + n, b.O, b.w, (double)seen, b.bits, S, S + D * D, b.mi, b.work);
                S[2 * D * D] += (double)seen;
                continue;
            }
            if (vkept == 2) { /* the kept imputed values back into the design: a gather */
                const double *v = bc->V[k];
                for (size_t a = 0; a < D; a++) {
                    const double *o = b.O + a * n;
                    double *x = X + (a + 1) * n;
                    for (size_t i = 0; i < n; i++) {
                        if (o[i] == 0 && b.w[i] != 0) {
                            x[i] = *v++;
                        }
                    }
                }
            } else if (design) {
                rc = condition_block(m, k, n, X, NULL, NULL, &b);
                if (rc != MMDX_OK) {
                    break;
                }
                if (keep) {
                    bc->have_x[k] = 2;
                } else if (vkept == 0 && bc && bc->V) {
                    keep_imputed(fc, bc, k, n, D, X, b.O, b.w);
                }
            }
        }
        for (size_t bi = 0; bi < m->nbin; bi++) {
            const fz_binary_t *bn = &m->bins[bi];
            const int *lt = lab + bn->target * n;
            for (size_t i = 0; i < n; i++) {
                b.y[i] = lt[i] == (int)bn->cls;
            }
            size_t s0 = (bi * m->nmod + k) * nf; /* this bin and modality's first slot */
            if (m->phase == FZ_PH_MODAL) {
                const fz_fit_t *ft = &bn->fits[k * nf];
                if (l->off[s0] != FZ_NONE) {
                    double nn = 0, *g = P + l->off[s0];
                    for (size_t i = 0; i < n; i++) {
                        b.wf[i] = lt[i] >= 0 && b.w[i] != 0;
                        nn += b.wf[i];
                    }
                    fz_logistic_accumulate(n, d, X, n, b.y, b.wf, ft->beta, g, l->hess[s0] ? g + d + 2 : NULL,
                                           g + d, b.work);
                    g[d + 1] += nn;
                }
                continue;
            }
            if (m->phase == FZ_PH_FOLDS) {
                /* each fold's own sums at the full fit's mode: one Hessian's worth of work */
                const fz_fit_t *full = &bn->fits[k * nf];
                for (size_t f = 1; f < nf; f++) {
                    double *g = P + l->off[s0 + f];
                    /* the fold's labelled, present rows gathered: its Hessian costs its
                     * own rows, not the block's */
                    size_t nr = 0;
                    for (size_t i = 0; i < n; i++) {
                        if (lt[i] >= 0 && b.w[i] != 0 && b.fold[i] == f - 1) {
                            b.idx[nr++] = i;
                        }
                    }
                    if (nr == 0) {
                        continue;
                    }
                    for (size_t j = 0; j < d; j++) {
                        const double *xc = X + j * n;
                        double *gc = b.G + j * nr;
                        for (size_t r = 0; r < nr; r++) {
                            gc[r] = xc[b.idx[r]];
                        }
                    }
                    for (size_t r = 0; r < nr; r++) {
                        b.var[r] = b.y[b.idx[r]];
                    }
                    fz_logistic_accumulate(nr, d, b.G, nr, b.var, NULL, full->beta, g, g + d + 2, g + d, b.work);
                    g[d + 1] += (double)nr;
                }
                continue;
            }
        }
        if (m->phase != FZ_PH_STACK) {
            continue;
        }
        /* stacking: cross-fitted evidence of this modality for every row, from the fit
         * that did not see the row's fold, with the imputation variance. First impute
         * (keeping each row's imputation variance), then per fold gather its rows and
         * take the posterior means and variances of the fold's fit as one BLAS-3 solve. */
        /* an in-memory fit has the imputed design already: only the variances are needed */
        int have = cached == 2 || vkept == 2;
        const double *Xs = cached == 2 ? bc->X[k] : b.X;
        rc = condition_block(m, k, n, have ? NULL : b.X, b.fold, b.iv, &b);
        if (rc != MMDX_OK) {
            break;
        }
        for (size_t bi = 0; bi < m->nbin; bi++) {
            double *E = b.E + bi * n * (m->nmod + 1);
            for (size_t i = 0; i < n; i++) {
                E[i] = 1.0;
                E[(k + 1) * n + i] = 0; /* absent, or a regression that saw nobody: no evidence */
            }
        }
        for (size_t f = 0; f + 1 < nf; f++) {
            size_t nr = 0;
            for (size_t i = 0; i < n; i++) {
                if (b.w[i] && b.fold[i] == f) {
                    b.idx[nr++] = i;
                }
            }
            if (nr == 0) {
                continue;
            }
            for (size_t j = 0; j < d; j++) {
                const double *xc = Xs + j * n;
                double *gc = b.G + j * nr;
                for (size_t r = 0; r < nr; r++) {
                    gc[r] = xc[b.idx[r]];
                }
            }
            for (size_t bi = 0; bi < m->nbin; bi++) {
                const fz_binary_t *bn = &m->bins[bi];
                const fz_fit_t *ft = &bn->fits[k * nf + 1 + f];
                if (ft->n_used <= 0) {
                    continue;
                }
                double *E = b.E + bi * n * (m->nmod + 1) + (k + 1) * n;
                cblas_dgemv(CblasColMajor, CblasNoTrans, (int)nr, (int)d, 1.0, b.G, (int)nr, ft->beta, 1, 0.0, b.mu,
                            1);
                fz_logistic_linvar(nr, d, b.G, nr, ft->L, b.var, b.work);
                for (size_t r = 0; r < nr; r++) {
                    size_t i = b.idx[r];
                    E[i] = fz_moderate(b.mu[r], b.var[r] + b.iv[bi * n + i]) - bn->l0;
                }
            }
        }
    }
    if (rc == MMDX_OK && m->phase == FZ_PH_STACK && bc) {
        size_t ne = n * (m->nmod + 1) * (m->nbin ? m->nbin : 1);
        if (bc->have_e) {
            memcpy(b.E, bc->E, ne * sizeof(double));
        } else {
            memcpy(bc->E, b.E, ne * sizeof(double));
            bc->have_e = 1;
        }
    }
    if (rc == MMDX_OK && m->phase == FZ_PH_STACK) {
        for (size_t bi = 0; bi < m->nbin; bi++) {
            const fz_binary_t *bn = &m->bins[bi];
            const int *lt = lab + bn->target * n;
            double nn = 0;
            for (size_t i = 0; i < n; i++) {
                b.y[i] = lt[i] == (int)bn->cls;
                b.wf[i] = lt[i] >= 0;
                nn += b.wf[i];
            }
            size_t s = m->nbin * m->nmod * nf + bi, d = m->nmod + 1;
            if (l->off[s] != FZ_NONE) {
                double *g = P + l->off[s];
                fz_logistic_accumulate(n, d, b.E + bi * n * d, n, b.y, b.wf, bn->stack.beta, g, g + d + 2, g + d,
                                       b.work);
                g[d + 1] += nn;
            }
        }
    }
    return rc;
}

/* Moments of the columns q, q + T, ... of a chunk (acc_moments_col()); a worker stops at
 * its first column with an infinite value. */
typedef struct mom_job {
    mmdx_model_t *m;
    const fz_map_t *map;
    const mmdx_cohort_t *c;
    size_t n, q, T;
    size_t bad_col, bad_row; /* the first column with an infinite value, or FZ_NONE */
} mom_job_t;

static void *mom_worker(void *arg)
{
    mom_job_t *j = arg;
    j->bad_col = FZ_NONE;
    double *pos = mmdx_malloc(j->n * sizeof(double)); /* NULL: the one-loop version */
    for (size_t col = j->q; col < j->m->ncol; col += j->T) {
        if (acc_moments_col(j->m, j->map, j->c, col, j->n, pos, &j->bad_row) != MMDX_OK) {
            j->bad_col = col;
            break;
        }
    }
    mmdx_free(pos);
    return NULL;
}

/* Blocks q, q + T, ... of the blocks [b0, b0 + nb) of a pass: block b0 + i's sums into
 * part + i * len, its status into rc[i]. */
typedef struct pass_job {
    const mmdx_model_t *m;
    const fz_map_t *map;
    const mmdx_cohort_t *c;
    size_t n, b0, nb, q, T;
    fit_cache_t *fc;
    pass_buf_t *buf;
    const pass_layout_t *l;
    double *part;
    int *rc;
} pass_job_t;

static void *pass_worker(void *arg)
{
    pass_job_t *j = arg;
    for (size_t i = j->q; i < j->nb; i += j->T) {
        size_t B = train_block(j->n), blk = j->b0 + i, first = blk * B;
        size_t nb = j->n - first < B ? j->n - first : B;
        double *P = j->part + i * j->l->len;
        memset(P, 0, j->l->len * sizeof(double));
        blk_cache_t *bc = j->fc && j->fc->blk ? &j->fc->blk[blk] : NULL;
        int *lb = bc && bc->lab ? bc->lab : chunk_labels(j->m, j->map, j->c, first, nb);
        if (bc && lb) {
            bc->lab = lb; /* kept for the next passes */
        }
        j->rc[i] = lb ? acc_pass(j->m, j->map, j->c, first, nb, lb, j->fc, bc, j->buf, j->l, P) : MMDX_ENOMEM;
        if (!bc) {
            mmdx_free(lb);
        }
    }
    return NULL;
}

/* Run work(job[q]) for q < T: workers 1.. in threads of their own, worker 0 in this one;
 * a thread that cannot be started has its work done here (the results are the same). */
static void run_workers(void *(*work)(void *), void *jobs, size_t size, size_t T)
{
    pthread_t tid[FZ_TRAIN_MAX_THREADS];
    int started[FZ_TRAIN_MAX_THREADS] = {0};
    for (size_t q = 1; q < T; q++) {
        started[q] = pthread_create(&tid[q], NULL, work, (char *)jobs + q * size) == 0;
    }
    work(jobs);
    for (size_t q = 1; q < T; q++) {
        if (started[q]) {
            pthread_join(tid[q], NULL);
        } else {
            work((char *)jobs + q * size);
        }
    }
}

/* Bytes of block partial sums a pass with threads keeps at once. */
#define FZ_PART_MAX ((size_t)16 << 20)

/* The blocks of a pass, shared between T workers in waves of W blocks; each wave's sums
 * are added into the model in block order. Buffers from fc when given (kept for the
 * next pass), else allocated here. */
static int acc_blocks(mmdx_model_t *m, const fz_map_t *map, const mmdx_cohort_t *c, size_t n, fit_cache_t *fc,
                      size_t T)
{
    size_t B = train_block(n), nblk = (n + B - 1) / B, cap = n < B ? n : B;
    T = T > nblk ? nblk : T;
    pass_layout_t l;
    if (layout_init(m, &l) != MMDX_OK) {
        return MMDX_ENOMEM;
    }
    pass_buf_t local[FZ_TRAIN_MAX_THREADS], *bufs = fc && fc->buf_rows >= cap ? fc->buf : local;
    size_t nbuf = bufs == local ? 0 : fc->nbuf;
    /* a worker whose buffers cannot be allocated is not started: fewer threads, same sums */
    while (nbuf < T && buf_alloc(&bufs[nbuf], bufs == local ? cap : fc->buf_rows, max_modality_cols(m), m->nmod,
                                 m->nbin, (size_t)m->opt.folds) == MMDX_OK) {
        nbuf++;
    }
    if (bufs != local) {
        fc->nbuf = nbuf;
    }
    T = T < nbuf ? T : nbuf;
    /* a wave of blocks per thread start: as many as FZ_PART_MAX of partial sums allows,
     * at least one per worker (one thread: one block at a time) */
    size_t len = l.len ? l.len : 1, W = FZ_PART_MAX / sizeof(double) / len;
    W = T == 1 || W < T ? T : W > nblk ? nblk : W;
    double *part = fc && fc->part_cap >= W * len ? fc->part : NULL;
    while (!part && W >= 1 && T >= 1) {
        part = mmdx_malloc(W * len * sizeof(double));
        if (part && fc) {
            mmdx_free(fc->part);
            fc->part = part;
            fc->part_cap = W * len;
        } else if (!part) {
            W /= 2;
            T = T < W ? T : W;
        }
    }
    int *brc = mmdx_malloc((W ? W : 1) * sizeof(int));
    int rc = T >= 1 && part && brc ? MMDX_OK : MMDX_ENOMEM;
    for (size_t b0 = 0; b0 < nblk && rc == MMDX_OK; b0 += W) {
        size_t nb = nblk - b0 < W ? nblk - b0 : W;
        pass_job_t job[FZ_TRAIN_MAX_THREADS];
        size_t Tw = T < nb ? T : nb;
        for (size_t q = 0; q < Tw; q++) {
            job[q] = (pass_job_t){m, map, c, n, b0, nb, q, Tw, fc, &bufs[q], &l, part, brc};
        }
        run_workers(pass_worker, job, sizeof(job[0]), Tw);
        for (size_t i = 0; i < nb && rc == MMDX_OK; i++) {
            rc = brc[i];
            if (rc == MMDX_OK) {
                layout_add(m, &l, part + i * len);
            }
        }
    }
    mmdx_free(brc);
    if (!fc) {
        mmdx_free(part);
    }
    for (size_t q = 0; bufs == local && q < nbuf; q++) {
        buf_free(&local[q]);
    }
    layout_free(&l);
    return rc;
}

static int accumulate(mmdx_model_t *m, const mmdx_cohort_t *chunk, fit_cache_t *fc, mmdx_error_t *err)
{
    if (!m || !chunk) {
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "no model or no chunk");
    }
    if (m->phase == FZ_PH_DONE) {
        return mmdx_error_set(err, MMDX_ESTATE, "", "", 0, "the model is already fitted");
    }
    int prc = fz_check_protocol(m, "accumulate patients", err);
    if (prc != MMDX_OK) {
        return prc;
    }
    size_t n = mmdx_cohort_n_patients(chunk);
    if (n == 0) {
        return MMDX_OK;
    }
    fz_map_t map;
    if (fz_map_init(m, chunk, &map) != MMDX_OK) {
        return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory mapping a cohort chunk");
    }
    /* the context's threads; OpenBLAS should then run one thread in each (the caller's
     * setting: mmdx does not change it) */
    size_t T = (size_t)mmdx_ctx_threads(m->ctx);
    T = T < 1 ? 1 : T > FZ_TRAIN_MAX_THREADS ? FZ_TRAIN_MAX_THREADS : T;
    /* the chunk's labels: the moments pass counts them (the other passes take each block's) */
    int *lab = m->phase == FZ_PH_MOMENTS ? chunk_labels(m, &map, chunk, 0, n) : NULL;
    int rc;
    if (!lab && m->phase == FZ_PH_MOMENTS) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory reading labels");
    } else if ((rc = fz_check_logit(m, chunk, 0, n, err)) != MMDX_OK) {
        /* a proportion outside [0, 1]: named in err */
    } else if (m->phase == FZ_PH_MOMENTS) {
        /* columns are independent: shared between the workers */
        mom_job_t job[FZ_TRAIN_MAX_THREADS];
        T = T > m->ncol ? (m->ncol ? m->ncol : 1) : T;
        for (size_t q = 0; q < T; q++) {
            job[q] = (mom_job_t){m, &map, chunk, n, q, T, FZ_NONE, 0};
        }
        run_workers(mom_worker, job, sizeof(job[0]), T);
        size_t bad = FZ_NONE, row = 0;
        for (size_t q = 0; q < T; q++) {
            if (job[q].bad_col < bad) {
                bad = job[q].bad_col;
                row = job[q].bad_row;
            }
        }
        if (bad != FZ_NONE) {
            rc = mmdx_error_set(err, MMDX_ERANGE, "", mmdx_space_feature_id(m->space, m->cols[bad].feature), 0,
                                "infinite value for patient row %zu", row + 1);
        } else {
            acc_labels(m, n, lab);
        }
    } else {
        /* blocks of rows: work memory is bounded whatever the chunk size; an in-memory
         * fit keeps the block buffers from pass to pass (fresh pages cost) */
        rc = acc_blocks(m, &map, chunk, n, fc, T);
        if (rc == MMDX_ENOMEM) {
            mmdx_error_set(err, rc, "", "", 0, "out of memory in a training pass");
        } else if (rc != MMDX_OK) {
            mmdx_error_set(err, rc, "", "", 0, "a feature precision block is not positive definite");
        }
    }
    mmdx_free(lab);
    fz_map_free(m, &map);
    return rc;
}

int mmdx_model_accumulate(mmdx_model_t *m, const mmdx_cohort_t *chunk, mmdx_error_t *err)
{
    return accumulate(m, chunk, NULL, err);
}

/* The cache of an in-memory fit over n rows; on failure to allocate, fc is empty and
 * the fit recomputes everything (as mmdx_model_accumulate() does). */
static void cache_init(const mmdx_model_t *m, size_t n, fit_cache_t *fc)
{
    memset(fc, 0, sizeof(*fc));
    size_t B = train_block(n), nblk = (n + B - 1) / B, xbytes = 0;
    for (size_t k = 0; k < m->nmod; k++) {
        xbytes += n * (m->mods[k].ncol + 1) * sizeof(double) + n * m->mods[k].ncol;
    }
    size_t budget = cache_budget();
    int with_x = xbytes <= budget;
    fc->vmax = with_x ? 0 : budget;
    atomic_init(&fc->vbytes, 0);
    fc->buf_rows = n < B ? n : B; /* the workers' buffers: by accumulate() */
    fc->blk = mmdx_calloc(nblk ? nblk : 1, sizeof(blk_cache_t));
    if (!fc->blk) {
        return;
    }
    fc->nblk = nblk;
    fc->nmod = m->nmod;
    for (size_t b = 0; b < nblk; b++) {
        blk_cache_t *bc = &fc->blk[b];
        size_t nb = n - b * B < B ? n - b * B : B;
        bc->n = nb;
        bc->E = mmdx_malloc(nb * (m->nmod + 1) * (m->nbin ? m->nbin : 1) * sizeof(double));
        int ok = bc->E != NULL;
        if (with_x) {
            bc->X = mmdx_calloc(m->nmod ? m->nmod : 1, sizeof(double *));
            bc->O = mmdx_calloc(m->nmod ? m->nmod : 1, sizeof(unsigned char *));
            bc->present = mmdx_calloc(nb * (m->nmod ? m->nmod : 1), 1);
            bc->have_x = mmdx_calloc(m->nmod ? m->nmod : 1, 1);
            ok &= bc->X && bc->O && bc->present && bc->have_x;
            for (size_t k = 0; ok && k < m->nmod; k++) {
                bc->X[k] = mmdx_malloc(nb * (m->mods[k].ncol + 1) * sizeof(double));
                bc->O[k] = mmdx_malloc(nb * (m->mods[k].ncol ? m->mods[k].ncol : 1));
                ok &= bc->X[k] && bc->O[k];
            }
        } else {
            bc->V = mmdx_calloc(m->nmod ? m->nmod : 1, sizeof(double *));
            bc->have_v = mmdx_calloc(m->nmod ? m->nmod : 1, 1);
            ok &= bc->V && bc->have_v;
        }
        if (!ok) {
            cache_free(fc);
            return;
        }
    }
}

/* ------------------------------------------------------------------ step */

/* From n and the central sums of squares and cubes; 0 when undefined (no spread, or
 * values so large that the sum of cubes overflowed). */
static double skewness(double n, double m2, double m3)
{
    double var = m2 / n, g = m3 / n / (var * sqrt(var));
    return var > 0 && isfinite(g) ? g : 0;
}

/* Mean and sd of column @p cl from its moments; MMDX_ERANGE (naming the feature) when
 * its spread cannot be represented (values beyond about 1e154 in magnitude). */
static int col_decide(mmdx_model_t *m, fz_col_t *cl, mmdx_error_t *err)
{
    const double *q = cl->mom;
    double n = q[FZ_MOM_N];
    cl->islog = 0;
    cl->islogit = cl->level < 0 && fz_feature_is_logit(m->space, cl->feature);
    cl->xmin = q[FZ_MOM_MIN];
    const char *id = mmdx_space_feature_id(m->space, cl->feature);
    if (!cl->islogit && cl->level < 0 && n >= 2 && q[FZ_MOM_NPOS] == n &&
        mmdx_space_feature_kind(m->space, cl->feature) == MMDX_KIND_CONTINUOUS) {
        mmdx_transform_t tr = mmdx_space_feature_transform(m->space, cl->feature);
        int candidate = tr == MMDX_TRANSFORM_AUTO ||
                        (tr == MMDX_TRANSFORM_NONE &&
                         (m->opt.autolog == MMDX_AUTOLOG_ALL ||
                          (m->opt.autolog == MMDX_AUTOLOG_LABS && strncmp(id, "lab:", 4) == 0)));
        if (tr == MMDX_TRANSFORM_LOG) {
            cl->islog = 1;
        } else if (candidate && n >= 8) {
            double sx = skewness(n, q[FZ_MOM_M2], q[FZ_MOM_M3]);
            double sl = skewness(n, q[FZ_MOM_LM2], q[FZ_MOM_LM3]);
            cl->islog = sx > 1.0 && fabs(sl) < sx;
        }
    }
    if (n <= 0) {
        cl->mean = 0;
        cl->sd = 1;
        return MMDX_OK;
    }
    int onl = cl->islog || cl->islogit; /* log(x) or logit(x): the L moments */
    cl->mean = onl ? q[FZ_MOM_LMEAN] : q[FZ_MOM_MEAN];
    double var = (onl ? q[FZ_MOM_LM2] : q[FZ_MOM_M2]) / n;
    if (!isfinite(cl->mean) || !isfinite(var)) {
        return mmdx_error_set(err, MMDX_ERANGE, "", id, 0,
                              "values too large in magnitude: their variance overflows (rescale the feature)");
    }
    double sd = var > 0 ? sqrt(var) : 0;
    /* constant (or nearly, relative to the mean: rounding) features: keep them, centred,
     * with unit scale; the prior keeps their coefficient finite. Relative, so that a
     * feature of tiny magnitude (1e-150) is not taken for a constant. */
    cl->sd = sd > 0 && sd > 1e-10 * fabs(cl->mean) ? sd : 1.0;
    return MMDX_OK;
}

static int step_moments(mmdx_model_t *m, mmdx_error_t *err)
{
    if (m->n_patients <= 0) {
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "no training patient");
    }
    for (size_t t = 0; t < m->ntarget; t++) {
        size_t K = mmdx_space_n_classes(m->space, t), present = 0;
        double nl = 0;
        for (size_t k = 0; k < K; k++) {
            nl += m->counts[m->tgt_cls0[t] + k];
            present += m->counts[m->tgt_cls0[t] + k] > 0;
        }
        const char *name = mmdx_space_target_name(m->space, t);
        if (nl <= 0) {
            return mmdx_error_set(err, MMDX_EINVAL, "", name, 0, "no training patient has a label for this target");
        }
        if (present < 2) {
            return mmdx_error_set(err, MMDX_EINVAL, "", name, 0,
                                  "only one class among the labels of this target: nothing to learn");
        }
    }
    for (size_t c = 0; c < m->ncol; c++) {
        int rc = col_decide(m, &m->cols[c], err);
        if (rc != MMDX_OK) {
            return rc;
        }
    }
    size_t nf = (size_t)m->opt.folds + 1;
    for (size_t bi = 0; bi < m->nbin; bi++) {
        fz_binary_t *b = &m->bins[bi];
        size_t K = mmdx_space_n_classes(m->space, b->target);
        double nl = 0;
        for (size_t k = 0; k < K; k++) {
            nl += m->counts[m->tgt_cls0[b->target] + k];
        }
        double n1 = m->counts[m->tgt_cls0[b->target] + b->cls];
        b->l0 = log((n1 + 0.5) / (nl - n1 + 0.5));
        for (size_t k = 0; k < m->nmod * nf; k++) {
            fz_fit_prior(&b->fits[k], b->l0, m->opt.intercept_sd, 0.0, m->opt.prior_sd);
        }
        fz_fit_prior(&b->stack, b->l0, m->opt.intercept_sd, 1.0, m->opt.stack_sd);
    }
    m->phase = FZ_PH_COVAR;
    return MMDX_OK;
}

/*
 * The cross-fitting fits from the folds pass: with g_q, H_q fold q's sums at the full
 * fit's mode b, and r the full log-posterior gradient there (about 0), the fit without
 * fold f is one Newton step from b: A_f = sum_{q != f} H_q + P, b_f = b + A_f^{-1}(r - g_f).
 * The full fit's posterior factor is refreshed at its mode from sum_q H_q + P.
 */
static int step_folds(mmdx_model_t *m, mmdx_error_t *err)
{
    size_t nf = (size_t)m->opt.folds + 1;
    for (size_t bi = 0; bi < m->nbin; bi++) {
        for (size_t k = 0; k < m->nmod; k++) {
            fz_fit_t *full = &m->bins[bi].fits[k * nf];
            size_t d = full->d;
            double *Hs = mmdx_calloc(d * d, sizeof(double)), *gs = mmdx_calloc(d, sizeof(double));
            double *r = mmdx_calloc(d, sizeof(double)), *Hf = mmdx_malloc(d * d * sizeof(double));
            if (!Hs || !gs || !r || !Hf) {
                mmdx_free(Hs);
                mmdx_free(gs);
                mmdx_free(r);
                mmdx_free(Hf);
                return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
            }
            double nall = 0;
            for (size_t f = 1; f < nf; f++) {
                const fz_fit_t *ft = &m->bins[bi].fits[k * nf + f];
                for (size_t j = 0; j < d * d; j++) {
                    Hs[j] += ft->H[j];
                }
                for (size_t j = 0; j < d; j++) {
                    gs[j] += ft->g[j];
                }
                nall += ft->n;
            }
            for (size_t j = 0; j < d; j++) {
                r[j] = gs[j] - full->prec0[j] * (full->beta[j] - full->m0[j]);
            }
            int rc = MMDX_OK;
            double step;
            /* the full fit's factor at its mode: a zero step from a zero gradient */
            memcpy(Hf, full->beta, d * sizeof(double));
            double *zero = mmdx_calloc(d, sizeof(double));
            if (!zero || fz_logistic_newton(d, Hf, full->beta, full->prec0, zero, Hs, full->L, &step) != 0) {
                rc = zero ? MMDX_ENUMERIC : MMDX_ENOMEM;
            }
            mmdx_free(zero);
            for (size_t f = 1; f < nf && rc == MMDX_OK; f++) {
                fz_fit_t *ft = &m->bins[bi].fits[k * nf + f];
                for (size_t j = 0; j < d * d; j++) {
                    Hf[j] = Hs[j] - ft->H[j];
                }
                double *gf = ft->g; /* becomes the right-hand side: r - g_f, solved about b */
                for (size_t j = 0; j < d; j++) {
                    gf[j] = r[j] - gf[j];
                }
                /* newton() solves (H + P) s = g - P (beta - m0); with beta = m0 := b the
                 * prior term vanishes, so pass b as both beta and m0 */
                memcpy(ft->beta, full->beta, d * sizeof(double));
                if (fz_logistic_newton(d, ft->beta, full->beta, full->prec0, gf, Hf, ft->L, &step) != 0) {
                    rc = MMDX_ENUMERIC;
                }
                ft->n_used = nall - ft->n;
                ft->done = 1;
            }
            full->n_used = nall;
            mmdx_free(Hs);
            mmdx_free(gs);
            mmdx_free(r);
            mmdx_free(Hf);
            if (rc != MMDX_OK) {
                return mmdx_error_set(err, rc, "", m->mods[k].name, 0,
                                      rc == MMDX_ENOMEM ? "out of memory" : "a cross-fitting step failed");
            }
        }
    }
    return MMDX_OK;
}

static void clear_aggregates(mmdx_model_t *m)
{
    size_t nf = (size_t)m->opt.folds + 1;
    for (size_t k = 0; k < m->nmod; k++) {
        size_t D = m->mods[k].ncol;
        memset(m->mods[k].S, 0, D * D * sizeof(double));
        memset(m->mods[k].N, 0, D * D * sizeof(double));
        m->mods[k].nseen = 0;
    }
    for (size_t bi = 0; bi < m->nbin; bi++) {
        for (size_t k = 0; k < m->nmod * nf; k++) {
            fz_fit_clear(&m->bins[bi].fits[k]);
        }
        fz_fit_clear(&m->bins[bi].stack);
    }
}

void mmdx_model_clear_aggregates(mmdx_model_t *m)
{
    if (!m) {
        return;
    }
    if (m->phase == FZ_PH_MOMENTS) {
        for (size_t c = 0; c < m->ncol; c++) {
            memset(m->cols[c].mom, 0, sizeof(m->cols[c].mom));
            m->cols[c].mom[FZ_MOM_MIN] = HUGE_VAL;
        }
        size_t ncls = 0;
        for (size_t t = 0; t < m->ntarget; t++) {
            ncls += mmdx_space_n_classes(m->space, t);
        }
        memset(m->counts, 0, ncls * sizeof(double));
        m->n_patients = 0;
    }
    clear_aggregates(m);
}

int mmdx_model_step(mmdx_model_t *m, mmdx_error_t *err)
{
    if (!m) {
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "no model");
    }
    int prc = fz_check_protocol(m, "step", err);
    if (prc != MMDX_OK) {
        return prc;
    }
    size_t nf = (size_t)m->opt.folds + 1;
    int rc = MMDX_OK;
    switch (m->phase) {
    case FZ_PH_MOMENTS:
        rc = step_moments(m, err);
        break;
    case FZ_PH_COVAR:
        for (size_t k = 0; k < m->nmod; k++) {
            fz_modality_t *md = &m->mods[k];
            double nu = m->opt.shrinkage > 0 ? m->opt.shrinkage : (double)md->ncol + 2.0;
            fz_gauss_covariance(md->ncol, md->S, md->N, nu, md->Sigma);
        }
        if (fz_model_precisions(m) != MMDX_OK) {
            rc = mmdx_error_set(err, MMDX_ENUMERIC, "", "", 0, "a feature covariance is not positive definite");
            break;
        }
        m->phase = FZ_PH_MODAL;
        break;
    case FZ_PH_FOLDS:
        rc = step_folds(m, err);
        if (rc == MMDX_OK) {
            m->phase = FZ_PH_STACK;
        }
        break;
    case FZ_PH_MODAL:
    case FZ_PH_STACK: {
        int all = 1;
        for (size_t bi = 0; bi < m->nbin && rc == MMDX_OK; bi++) {
            fz_binary_t *b = &m->bins[bi];
            size_t nfit = m->phase == FZ_PH_MODAL ? m->nmod : 1;
            for (size_t k = 0; k < nfit && rc == MMDX_OK; k++) {
                fz_fit_t *f = m->phase == FZ_PH_MODAL ? &b->fits[k * nf] : &b->stack;
                rc = fz_fit_newton(f, m->opt.max_iter, m->opt.tol, m->phase == FZ_PH_MODAL ? m->mods[k].Sigma : NULL);
                if (rc != MMDX_OK) {
                    char what[MMDX_ID_MAX * 2 + 64];
                    snprintf(what, sizeof(what), "%s=%s %s", mmdx_space_target_name(m->space, b->target),
                             mmdx_space_class_name(m->space, b->target, b->cls),
                             m->phase == FZ_PH_MODAL ? m->mods[k].name : "stacking");
                    mmdx_error_set(err, rc, "", what, 0,
                                   "Newton iterations of the logistic regression did not converge in %u steps",
                                   m->opt.max_iter);
                }
                all &= f->done;
            }
        }
        if (rc == MMDX_OK && all) {
            m->phase = m->phase == FZ_PH_MODAL ? FZ_PH_FOLDS : FZ_PH_DONE;
        }
        break;
    }
    default:
        return mmdx_error_set(err, MMDX_ESTATE, "", "", 0, "the model is already fitted");
    }
    if (rc != MMDX_OK) {
        return rc;
    }
    clear_aggregates(m);
    m->pass++;
    return m->phase == FZ_PH_DONE ? 0 : 1;
}

int mmdx_model_fit(mmdx_model_t *m, const mmdx_cohort_t *cohort, mmdx_error_t *err)
{
    if (!m || !cohort) {
        return mmdx_model_accumulate(m, cohort, err);
    }
    fit_cache_t fc;
    cache_init(m, mmdx_cohort_n_patients(cohort), &fc);
    int rc;
    do {
        rc = accumulate(m, cohort, &fc, err);
        if (rc != MMDX_OK) {
            break;
        }
        rc = mmdx_model_step(m, err);
    } while (rc == 1);
    cache_free(&fc);
    return rc;
}

int mmdx_model_is_fitted(const mmdx_model_t *m)
{
    return m && m->phase == FZ_PH_DONE;
}

unsigned mmdx_model_pass(const mmdx_model_t *m)
{
    return m ? m->pass : 0;
}
