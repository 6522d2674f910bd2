/* Prediction: one patient and target through the feature models (imputation and its
 * variance, Mahalanobis), the modalities' Bayesian regressions and the stacking layer,
 * into an mmdx_pred_t; and the fast path over a whole cohort. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <gsl/gsl_cdf.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <cblas.h>
#include "mmdx/model.h"
#include "model_internal.h"
#include "logistic.h"
#include "gauss.h"

struct mmdx_pred {
    const mmdx_model_t *model;
    char *patient;
    size_t patient_cap;
    size_t target, K, nmod, T, nfeat;
    size_t cap_K, cap_mod, cap_T, cap_feat;
    double *prob, *lo, *hi, *mu, *sd, *l0; /* K */
    double *evid;                          /* K * nmod */
    unsigned char *present;                /* nmod */
    size_t *ntop, *top_feat;               /* K, K * T */
    double *top_val;                       /* K * T */
    size_t nmiss;
    size_t *miss;                          /* nfeat */
    double d2, pval;
    size_t df;
    unsigned flags;
};

/* ------------------------------------------------------------------ workspace */

typedef struct fz_ws {
    size_t nmod, nb;
    double *z;        /* sum of modality columns */
    unsigned char *obs, *present;
    fz_prow_t **prow;
    double *wz;       /* Lambda z of one modality */
    double *ob;       /* observed flags of one modality as doubles */
    double *work;     /* scratch: 4 * (Dmax + nmod + 2) */
    double *e, *v, *kappa; /* nb * nmod: evidence, variance, moderation factor */
    double *contrib;  /* nfeat */
} fz_ws_t;

static void ws_free(fz_ws_t *w)
{
    if (w->prow) {
        for (size_t k = 0; k < w->nmod; k++) {
            fz_prow_free(w->prow[k]);
        }
    }
    mmdx_free(w->prow);
    mmdx_free(w->wz);
    mmdx_free(w->ob);
    mmdx_free(w->z);
    mmdx_free(w->obs);
    mmdx_free(w->present);
    mmdx_free(w->work);
    mmdx_free(w->e);
    mmdx_free(w->v);
    mmdx_free(w->kappa);
    mmdx_free(w->contrib);
}

static int ws_alloc(const mmdx_model_t *m, fz_ws_t *w)
{
    memset(w, 0, sizeof(*w));
    size_t Dmax = 0, nb = 0;
    for (size_t k = 0; k < m->nmod; k++) {
        Dmax = m->mods[k].ncol > Dmax ? m->mods[k].ncol : Dmax;
    }
    for (size_t t = 0; t < m->ntarget; t++) {
        nb = m->tgt_nbin[t] > nb ? m->tgt_nbin[t] : nb;
    }
    w->nmod = m->nmod;
    w->nb = nb;
    w->prow = mmdx_calloc(m->nmod, sizeof(fz_prow_t *));
    w->wz = mmdx_malloc((Dmax + 1) * sizeof(double));
    w->ob = mmdx_malloc((Dmax + 1) * sizeof(double));
    w->z = mmdx_malloc((m->ncol + 1) * sizeof(double));
    w->obs = mmdx_malloc(m->ncol + 1);
    w->present = mmdx_malloc(m->nmod + 1);
    w->work = mmdx_malloc(4 * (Dmax + m->nmod + 2) * sizeof(double));
    w->e = mmdx_malloc(nb * m->nmod * sizeof(double));
    w->v = mmdx_malloc(nb * m->nmod * sizeof(double));
    w->kappa = mmdx_malloc(nb * m->nmod * sizeof(double));
    w->contrib = mmdx_malloc((m->nfeat + 1) * sizeof(double));
    if (!w->prow || !w->wz || !w->ob || !w->z || !w->obs || !w->present || !w->work || !w->e || !w->v || !w->kappa || !w->contrib) {
        ws_free(w);
        return MMDX_ENOMEM;
    }
    for (size_t k = 0; k < m->nmod; k++) {
        w->prow[k] = fz_prow_alloc(m->mods[k].ncol);
        if (!w->prow[k]) {
            ws_free(w);
            return MMDX_ENOMEM;
        }
    }
    return MMDX_OK;
}

/* Offset of modality k's columns in the workspace's z. */
static size_t mod_offset(const mmdx_model_t *m, size_t k)
{
    size_t off = 0;
    for (size_t a = 0; a < k; a++) {
        off += m->mods[a].ncol;
    }
    return off;
}

/*
 * Evaluate row i for every binary model of target t: per modality the standardised,
 * imputed values (w->z), presence, and per binary model and modality the evidence
 * (moderated log-odds minus prior), its variance and moderation factor. OOD sums in
 * *d2 and *df.
 */
static int eval_row(const mmdx_model_t *m, const fz_map_t *map, const mmdx_cohort_t *c, size_t i, size_t t,
                    fz_ws_t *w, double *d2, size_t *df)
{
    size_t nb = m->tgt_nbin[t], b0 = m->tgt_bin0[t];
    *d2 = 0;
    *df = 0;
    size_t off = 0;
    for (size_t k = 0; k < m->nmod; k++) {
        const fz_modality_t *md = &m->mods[k];
        size_t D = md->ncol;
        double *z = w->z + off;
        unsigned char *obs = w->obs + off;
        int any = 0;
        for (size_t a = 0; a < D; a++) {
            double v;
            obs[a] = (unsigned char)fz_col_value(m, map, c, md->col[a], i, &v);
            z[a] = obs[a] ? fz_col_standardise(&m->cols[md->col[a]], v) : 0.0;
            any |= obs[a];
        }
        w->present[k] = (unsigned char)any;
        off += D;
        if (!any) {
            for (size_t b = 0; b < nb; b++) {
                w->e[b * m->nmod + k] = 0;
                w->v[b * m->nmod + k] = 0;
                w->kappa[b * m->nmod + k] = 0;
            }
            continue;
        }
        double *ob = w->ob;
        size_t no = 0;
        for (size_t a = 0; a < D; a++) {
            ob[a] = obs[a];
            no += obs[a];
        }
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)D, (int)D, 1.0, md->Lambda, (int)D, z, 1, 0.0, w->wz, 1);
        int ok;
        *d2 += fz_prow_impute(w->prow[k], md->Lambda, z, 1, ob, 1, w->wz, 1, &ok);
        if (!ok) {
            return MMDX_ENUMERIC;
        }
        *df += no;
        double *x = w->work, *wk = w->work + D + 1;
        x[0] = 1;
        memcpy(x + 1, z, D * sizeof(double));
        size_t nf = (size_t)m->opt.folds + 1;
        for (size_t b = 0; b < nb; b++) {
            const fz_binary_t *bn = &m->bins[b0 + b];
            const fz_fit_t *ft = &bn->fits[k * nf];
            if (ft->n_used <= 0) { /* trained on nobody: no evidence */
                w->e[b * m->nmod + k] = 0;
                w->v[b * m->nmod + k] = 0;
                w->kappa[b * m->nmod + k] = 0;
                continue;
            }
            double var;
            double mu = fz_fit_eval(ft, x, &var, wk);
            var += fz_prow_variance(w->prow[k], ft->beta + 1);
            double kap = 1.0 / sqrt(1.0 + 3.14159265358979323846 * var / 8.0);
            w->e[b * m->nmod + k] = kap * mu - bn->l0;
            w->v[b * m->nmod + k] = var;
            w->kappa[b * m->nmod + k] = kap;
        }
    }
    return MMDX_OK;
}

/* Stacking layer for binary model b (index within the target): mean log-odds, its
 * variance from the stacking posterior, and the total variance for the interval. */
static void stack_row(const mmdx_model_t *m, size_t t, size_t b, const fz_ws_t *w, double *eta, double *var_s,
                      double *var_t)
{
    const fz_binary_t *bn = &m->bins[m->tgt_bin0[t] + b];
    double *x = w->work, *wk = w->work + m->nmod + 1;
    x[0] = 1;
    memcpy(x + 1, w->e + b * m->nmod, m->nmod * sizeof(double));
    double vs;
    *eta = fz_fit_eval(&bn->stack, x, &vs, wk);
    double vt = vs;
    for (size_t k = 0; k < m->nmod; k++) {
        double wgt = bn->stack.beta[k + 1];
        vt += wgt * wgt * w->v[b * m->nmod + k];
    }
    *var_s = vs;
    *var_t = vt;
}

/* Class probabilities and intervals of target t from the binary models. lo, hi, mu and
 * sd may each be NULL. */
static void class_probs(const mmdx_model_t *m, size_t t, const fz_ws_t *w, double *prob, double *lo, double *hi,
                        double *mu, double *sd)
{
    size_t nb = m->tgt_nbin[t];
    if (nb == 1) {
        double eta, vs, vt;
        stack_row(m, t, 0, w, &eta, &vs, &vt);
        double p = fz_sigmoid(fz_moderate(eta, vs));
        prob[1] = p;
        prob[0] = 1 - p;
        double l1 = 0, h1 = 0;
        if (lo || hi) { /* the interval only when asked for: two exp() a row */
            double h = FZ_Z975 * sqrt(vt);
            l1 = fz_sigmoid(eta - h);
            h1 = fz_sigmoid(eta + h);
        }
        if (lo) {
            lo[1] = l1;
            lo[0] = 1 - h1;
        }
        if (hi) {
            hi[1] = h1;
            hi[0] = 1 - l1;
        }
        if (mu) {
            mu[1] = eta;
            mu[0] = -eta;
        }
        if (sd) {
            sd[1] = sd[0] = sqrt(vt);
        }
        return;
    }
    double sum = 0;
    for (size_t b = 0; b < nb; b++) {
        double eta, vs, vt;
        stack_row(m, t, b, w, &eta, &vs, &vt);
        prob[b] = fz_sigmoid(fz_moderate(eta, vs));
        sum += prob[b];
        double h = lo || hi ? FZ_Z975 * sqrt(vt) : 0;
        if (lo) {
            lo[b] = fz_sigmoid(eta - h);
        }
        if (hi) {
            hi[b] = fz_sigmoid(eta + h);
        }
        if (mu) {
            mu[b] = eta;
        }
        if (sd) {
            sd[b] = sqrt(vt);
        }
    }
    for (size_t b = 0; b < nb; b++) {
        prob[b] /= sum;
        if (lo) {
            lo[b] /= sum;
            lo[b] = lo[b] < 1 ? lo[b] : 1;
        }
        if (hi) {
            hi[b] = hi[b] / sum < 1 ? hi[b] / sum : 1;
        }
    }
}

static int check_target(const mmdx_model_t *m, size_t target, mmdx_error_t *err)
{
    if (!m) {
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "no model");
    }
    if (m->phase != FZ_PH_DONE) {
        return mmdx_error_set(err, MMDX_ESTATE, "", "", 0, "the model is not fitted");
    }
    if (target >= m->ntarget) {
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "target index %zu out of range (%zu targets)", target,
                              m->ntarget);
    }
    return MMDX_OK;
}

/* Rows per block of the fast path: large enough for BLAS-3, small enough for the cache;
 * at most 64 (a block's column is one 64-bit mask). */
#define FZ_BLOCK 64
_Static_assert(FZ_BLOCK <= 64, "FZ_BLOCK rows must fit a 64-bit mask");

typedef struct fz_batch {
    double *X, *O, *mu, *pv, *iv, *work, *E, *V;
    double *kw, *var;      /* fz_prow_score2() workspace; two rows' nb variances */
    uint64_t *bits;        /* per row: missing features as bits (FZ_BLOCK x words of Dmax) */
    size_t *mi;            /* two rows' missing features (2 x Dmax) */
    size_t *cnt;           /* counting sort of the rows (Dmax + 2) */
    const double **beta;   /* nb: the modality fits' coefficients of the features */
    double *eta, *vs, *vt; /* FZ_BLOCK x nb: stacked log-odds, its variance, the interval's */
    double *xs;            /* 2 x (nmod + 2): a stacking row, fz_fit_eval()'s workspace */
} fz_batch_t;

static void batch_free(fz_batch_t *b)
{
    mmdx_free(b->X);
    mmdx_free(b->O);
    mmdx_free(b->mu);
    mmdx_free(b->pv);
    mmdx_free(b->iv);
    mmdx_free(b->work);
    mmdx_free(b->E);
    mmdx_free(b->V);
    mmdx_free(b->kw);
    mmdx_free(b->var);
    mmdx_free(b->mi);
    mmdx_free(b->bits);
    mmdx_free(b->cnt);
    mmdx_free((void *)b->beta);
    mmdx_free(b->eta);
    mmdx_free(b->vs);
    mmdx_free(b->vt);
    mmdx_free(b->xs);
}

static int batch_alloc(fz_batch_t *b, size_t Dmax, size_t nb, size_t nmod)
{
    size_t C = FZ_BLOCK, d = Dmax + 1;
    b->X = mmdx_malloc(C * d * sizeof(double));
    b->O = mmdx_malloc(C * d * sizeof(double));
    b->mu = mmdx_malloc(C * sizeof(double));
    b->pv = mmdx_malloc(C * sizeof(double));
    b->iv = mmdx_malloc(C * nb * sizeof(double));
    b->work = mmdx_malloc((C * d + C) * sizeof(double));
    b->E = mmdx_malloc(C * nb * (nmod ? nmod : 1) * sizeof(double));
    b->V = mmdx_malloc(C * nb * (nmod ? nmod : 1) * sizeof(double));
    b->kw = mmdx_malloc((2 * (Dmax + 1 + nb) * Dmax + 5 * Dmax + 1) * sizeof(double));
    b->var = mmdx_malloc((2 * nb + 1) * sizeof(double));
    b->mi = mmdx_malloc((2 * Dmax + 1) * sizeof(size_t));
    b->cnt = mmdx_malloc((Dmax + 2) * sizeof(size_t));
    b->bits = mmdx_malloc((C * ((Dmax + 63) / 64) + 1) * sizeof(uint64_t));
    b->beta = mmdx_malloc((nb + 1) * sizeof(double *));
    b->eta = mmdx_malloc(C * nb * sizeof(double));
    b->vs = mmdx_malloc(C * nb * sizeof(double));
    b->vt = mmdx_malloc(C * nb * sizeof(double));
    b->xs = mmdx_malloc(2 * (nmod + 2) * sizeof(double));
    if (!b->X || !b->O || !b->mu || !b->pv || !b->iv || !b->work || !b->E || !b->V || !b->kw || !b->var || !b->mi || !b->cnt ||
        !b->bits || !b->beta || !b->eta || !b->vs || !b->vt || !b->xs) {
        batch_free(b);
        return MMDX_ENOMEM;
    }
    return MMDX_OK;
}

/* out[i] = fz_moderate(mu[i], var[i]) (the same arithmetic), two at a time; out may be mu. */
static void moderate_n(size_t n, const double *mu, const double *var, double *out)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128d c = _mm_set1_pd(3.14159265358979323846), one = _mm_set1_pd(1.0), eighth = _mm_set1_pd(0.125);
    for (; i + 2 <= n; i += 2) { /* x / 8 and x * 0.125 round alike */
        __m128d q = _mm_sqrt_pd(_mm_add_pd(one, _mm_mul_pd(_mm_mul_pd(c, _mm_loadu_pd(var + i)), eighth)));
        _mm_storeu_pd(out + i, _mm_div_pd(_mm_loadu_pd(mu + i), q));
    }
#endif
    for (; i < n; i++) {
        out[i] = fz_moderate(mu[i], var[i]);
    }
}

/*
 * Evidence of modality k for a block of nc rows starting at i0, into bt->E and bt->V.
 * Li holds, per binary model of the target, the inverse of the modality fit's posterior
 * precision factor. Each row's result depends on that row only (and the block's BLAS
 * calls, whose row blocks are fixed), never on the other rows or the thread count.
 */
static int block_modality(const mmdx_model_t *m, const fz_map_t *map, const mmdx_cohort_t *c, size_t t, size_t k,
                          size_t i0, size_t nc, fz_batch_t *bt, double *const *Li)
{
    const fz_modality_t *md = &m->mods[k];
    size_t D = md->ncol, d = D + 1, nb = m->tgt_nbin[t], b0 = m->tgt_bin0[t], nf = (size_t)m->opt.folds + 1;
    size_t M = m->nmod;
    for (size_t i = 0; i < nc; i++) {
        bt->X[i] = 1.0;
    }
    fz_block(m, map, k, c, i0, nc, bt->X + nc, bt->O);
    /* each row's missing features as bits, then as a list */
    size_t W = (D + 63) / 64, *mi = bt->mi;
    uint64_t *bits = bt->bits;
    size_t nmi[FZ_BLOCK], order[FZ_BLOCK];
    fz_miss_bits(nc, D, bt->O, bits, nmi);
    /* the rows by their number of missing features (a counting sort): the kernel's loops
     * depend on that number alone, so consecutive rows branch alike */
    memset(bt->cnt, 0, (D + 2) * sizeof(size_t));
    for (size_t i = 0; i < nc; i++) {
        bt->cnt[nmi[i] + 1]++;
    }
    for (size_t q = 1; q <= D + 1; q++) {
        bt->cnt[q] += bt->cnt[q - 1];
    }
    for (size_t i = 0; i < nc; i++) {
        order[bt->cnt[nmi[i]]++] = i;
    }
    for (size_t b = 0; b < nb; b++) {
        bt->beta[b] = m->bins[b0 + b].fits[k * nf].beta + 1;
    }
    unsigned char present[FZ_BLOCK];
    for (size_t i = 0; i < nc; i++) {
        for (size_t b = 0; b < nb; b++) {
            bt->iv[b * FZ_BLOCK + i] = 0;
        }
        present[i] = nmi[i] < D;
    }
    for (size_t q = 0; q < nc;) {
        size_t i = order[q], nm = nmi[i];
        if (nm == 0 || nm == D) {
            q++;
            continue;
        }
        /* only the rows of Lambda of the missing features: |M| x D, not Lambda z's D x D;
         * from three missing, two rows with as many at a time when there are two (the
         * same results as one at a time) */
        size_t i2 = nm > 2 && q + 1 < nc && nmi[order[q + 1]] == nm ? order[q + 1] : i;
        size_t *ml[2] = {mi, mi + D};
        fz_miss_list(bits + i * W, W, ml[0]);
        fz_miss_list(bits + i2 * W, W, ml[1]);
        double *zr[2] = {bt->X + nc + i, bt->X + nc + i2}, *vr[2] = {bt->var, i2 != i ? bt->var + nb : bt->var};
        const size_t *mc[2] = {ml[0], ml[1]};
        int rc = i2 != i ? fz_prow_score2(D, md->Lambda, zr, nc, mc, nm, bt->beta, nb, vr, bt->kw)
                        : fz_prow_score(D, md->Lambda, zr[0], nc, ml[0], nm, bt->beta, nb, vr[0], bt->kw);
        if (rc != 0) {
            return MMDX_ENUMERIC;
        }
        for (size_t b = 0; b < nb; b++) {
            bt->iv[b * FZ_BLOCK + i] = vr[0][b];
            bt->iv[b * FZ_BLOCK + i2] = vr[1][b];
        }
        q += i2 != i ? 2 : 1;
    }
    for (size_t b = 0; b < nb; b++) {
        const fz_binary_t *bn = &m->bins[b0 + b];
        const fz_fit_t *ft = &bn->fits[k * nf];
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)nc, (int)d, 1.0, bt->X, (int)nc, ft->beta, 1, 0.0, bt->mu, 1);
        fz_logistic_linvar_inv(nc, d, bt->X, nc, Li[b], bt->pv, bt->work);
        for (size_t i = 0; i < nc; i++) {
            bt->pv[i] += bt->iv[b * FZ_BLOCK + i];
        }
        moderate_n(nc, bt->mu, bt->pv, bt->mu);
        for (size_t i = 0; i < nc; i++) {
            size_t at = (i * nb + b) * M + k;
            int none = !present[i] || ft->n_used <= 0;
            bt->E[at] = none ? 0 : bt->mu[i] - bn->l0;
            bt->V[at] = none ? 0 : bt->pv[i];
        }
    }
    return MMDX_OK;
}

/*
 * class_probs() for the nc rows of a block (evidence and variances bt->E, bt->V) into
 * prob (lo, hi: NULL or as prob), K per row. Ls: per binary model the inverse of the
 * stacking posterior's factor (NULL: a triangular solve, as fz_fit_eval()).
 */
static void block_probs(const mmdx_model_t *m, size_t t, fz_batch_t *bt, size_t nc, double *const *Ls, size_t K,
                        double *prob, double *lo, double *hi)
{
    size_t nb = m->tgt_nbin[t], M = m->nmod, d = M + 1;
    double *x = bt->xs;
    for (size_t b = 0; b < nb; b++) {
        const fz_binary_t *bn = &m->bins[m->tgt_bin0[t] + b];
        const double *beta = bn->stack.beta, *L = Ls[b];
        double *eta = bt->eta + b * FZ_BLOCK, *vs = bt->vs + b * FZ_BLOCK, *vt = bt->vt + b * FZ_BLOCK;
        for (size_t i = 0; i < nc; i++) {
            const double *e = bt->E + (i * nb + b) * M, *v = bt->V + (i * nb + b) * M;
            x[0] = 1;
            for (size_t k = 0; k < M; k++) { /* a few: no memcpy call */
                x[k + 1] = e[k];
            }
            double mu = 0, q = 0;
            if (L) {
                for (size_t j = 0; j < d; j++) {
                    mu += beta[j] * x[j];
                }
                for (size_t r = 0; r < d; r++) { /* (L^{-1} x)_r */
                    double s = 0;
                    for (size_t j = 0; j <= r; j++) {
                        s += L[j * d + r] * x[j];
                    }
                    q += s * s;
                }
            } else {
                mu = fz_fit_eval(&bn->stack, x, &q, x + M + 2);
            }
            double tv = q;
            for (size_t k = 0; k < M; k++) {
                tv += beta[k + 1] * beta[k + 1] * v[k];
            }
            eta[i] = mu;
            vs[i] = q;
            vt[i] = tv;
        }
        moderate_n(nc, eta, vs, vs); /* vs: the moderated log-odds from here */
        for (size_t i = 0; i < nc; i++) {
            vs[i] = fz_sigmoid(vs[i]);
        }
    }
    int iv = lo || hi;
    for (size_t i = 0; i < nc; i++) {
        double *pr = prob + i * K, *l = lo ? lo + i * K : NULL, *h = hi ? hi + i * K : NULL;
        if (nb == 1) {
            double p = bt->vs[i], eta = bt->eta[i];
            pr[1] = p;
            pr[0] = 1 - p;
            if (iv) {
                double hw = FZ_Z975 * sqrt(bt->vt[i]);
                double l1 = fz_sigmoid(eta - hw), h1 = fz_sigmoid(eta + hw);
                if (l) {
                    l[1] = l1;
                    l[0] = 1 - h1;
                }
                if (h) {
                    h[1] = h1;
                    h[0] = 1 - l1;
                }
            }
            continue;
        }
        double sum = 0;
        for (size_t b = 0; b < nb; b++) {
            size_t at = b * FZ_BLOCK + i;
            pr[b] = bt->vs[at];
            sum += pr[b];
            double hw = iv ? FZ_Z975 * sqrt(bt->vt[at]) : 0;
            if (l) {
                l[b] = fz_sigmoid(bt->eta[at] - hw);
            }
            if (h) {
                h[b] = fz_sigmoid(bt->eta[at] + hw);
            }
        }
        for (size_t b = 0; b < nb; b++) {
            pr[b] /= sum;
            if (l) {
                l[b] /= sum;
                l[b] = l[b] < 1 ? l[b] : 1;
            }
            if (h) {
                h[b] = h[b] / sum < 1 ? h[b] / sum : 1;
            }
        }
    }
}

/* One scoring worker: blocks first, first + step, ... of the cohort. */
typedef struct fz_score_job {
    const mmdx_model_t *m;
    const fz_map_t *map;
    const mmdx_cohort_t *c;
    size_t target, n, K, first, step;
    double *const *Li; /* nmod * nb modality fits, then nb stacking fits (or NULL) */
    double *prob, *low, *high;
    int rc;
} fz_score_job_t;

static void *score_worker(void *arg)
{
    fz_score_job_t *j = arg;
    const mmdx_model_t *m = j->m;
    size_t Dmax = 0, nb = m->tgt_nbin[j->target], M = m->nmod, K = j->K;
    for (size_t k = 0; k < M; k++) {
        Dmax = m->mods[k].ncol > Dmax ? m->mods[k].ncol : Dmax;
    }
    fz_batch_t bt;
    memset(&bt, 0, sizeof(bt));
    if (batch_alloc(&bt, Dmax, nb, M) != MMDX_OK) {
        j->rc = MMDX_ENOMEM;
        return NULL;
    }
    int rc = MMDX_OK;
    for (size_t i0 = j->first * FZ_BLOCK; i0 < j->n && rc == MMDX_OK; i0 += j->step * FZ_BLOCK) {
        size_t nc = j->n - i0 < FZ_BLOCK ? j->n - i0 : FZ_BLOCK;
        for (size_t k = 0; k < M && rc == MMDX_OK; k++) {
            rc = block_modality(m, j->map, j->c, j->target, k, i0, nc, &bt, j->Li + k * nb);
        }
        if (rc == MMDX_OK) {
            block_probs(m, j->target, &bt, nc, j->Li + M * nb, K, j->prob + i0 * K, j->low ? j->low + i0 * K : NULL,
                        j->high ? j->high + i0 * K : NULL);
        }
    }
    batch_free(&bt);
    j->rc = rc;
    return NULL;
}

/* Most scoring threads started by one call. */
#define FZ_MAX_THREADS 64

int mmdx_model_predict_probs(const mmdx_model_t *m, const mmdx_cohort_t *cohort, size_t target, double *prob,
                             double *low, double *high, mmdx_error_t *err)
{
    int rc = check_target(m, target, err);
    if (rc == MMDX_OK && cohort) { /* a proportion outside [0, 1]: named in err */
        rc = fz_check_logit(m, cohort, 0, mmdx_cohort_n_patients(cohort), err);
    }
    if (rc != MMDX_OK) {
        return rc;
    }
    if (!cohort || !prob) {
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "no cohort or no output array");
    }
    size_t nb = m->tgt_nbin[target], b0 = m->tgt_bin0[target], M = m->nmod, nf = (size_t)m->opt.folds + 1;
    size_t n = mmdx_cohort_n_patients(cohort);
    fz_map_t map;
    if (fz_map_init(m, cohort, &map) != MMDX_OK) {
        return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
    }
    /* the inverse posterior factors, once per call: the blocks then multiply, not solve */
    double **Li = mmdx_calloc((M + 1) * nb + 1, sizeof(double *));
    if (!Li) {
        fz_map_free(m, &map);
        return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
    }
    for (size_t k = 0; k < M && rc == MMDX_OK; k++) {
        size_t d = m->mods[k].ncol + 1;
        for (size_t b = 0; b < nb && rc == MMDX_OK; b++) {
            const fz_fit_t *ft = &m->bins[b0 + b].fits[k * nf];
            Li[k * nb + b] = mmdx_calloc(d * d, sizeof(double));
            if (!Li[k * nb + b]) {
                rc = mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
            } else if (ft->n_used > 0 && fz_logistic_factor_inverse(d, ft->L, Li[k * nb + b]) != 0) {
                /* (a fit that saw nobody gives no evidence: its factor is not used) */
                rc = mmdx_error_set(err, MMDX_ENUMERIC, "", m->mods[k].name, 0,
                                    "a posterior precision factor is singular");
            }
        }
    }
    for (size_t b = 0; b < nb && rc == MMDX_OK; b++) { /* stacking: a solve per row when singular */
        const fz_fit_t *st = &m->bins[b0 + b].stack;
        double *ls = mmdx_calloc((M + 1) * (M + 1), sizeof(double));
        if (!ls) {
            rc = mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
        } else if (fz_logistic_factor_inverse(M + 1, st->L, ls) != 0) {
            mmdx_free(ls);
            ls = NULL;
        }
        Li[M * nb + b] = ls;
    }
    size_t nblocks = (n + FZ_BLOCK - 1) / FZ_BLOCK;
    size_t T = (size_t)mmdx_ctx_threads(m->ctx);
    T = T < 1 ? 1 : T > FZ_MAX_THREADS ? FZ_MAX_THREADS : T;
    T = T > nblocks ? (nblocks ? nblocks : 1) : T;
    fz_score_job_t job[FZ_MAX_THREADS];
    pthread_t tid[FZ_MAX_THREADS];
    int started[FZ_MAX_THREADS] = {0};
    size_t K = mmdx_space_n_classes(m->space, target);
    for (size_t q = 0; q < T && rc == MMDX_OK; q++) {
        job[q] = (fz_score_job_t){m, &map, cohort, target, n, K, q, T, Li, prob, low, high, MMDX_OK};
    }
    /* workers 1.. in threads of their own, worker 0 in this one; a thread that cannot
     * be started has its blocks done here */
    for (size_t q = 1; q < T && rc == MMDX_OK; q++) {
        started[q] = pthread_create(&tid[q], NULL, score_worker, &job[q]) == 0;
    }
    if (rc == MMDX_OK) {
        score_worker(&job[0]);
        for (size_t q = 1; q < T; q++) {
            if (started[q]) {
                pthread_join(tid[q], NULL);
            } else {
                score_worker(&job[q]);
            }
        }
        for (size_t q = 0; q < T && rc == MMDX_OK; q++) {
            rc = job[q].rc;
        }
        if (rc == MMDX_ENOMEM) {
            mmdx_error_set(err, rc, "", "", 0, "out of memory");
        } else if (rc != MMDX_OK) {
            mmdx_error_set(err, rc, "", "", 0, "a feature precision block is not positive definite");
        }
    }
    for (size_t q = 0; q < (M + 1) * nb; q++) {
        mmdx_free(Li[q]);
    }
    mmdx_free(Li);
    fz_map_free(m, &map);
    return rc;
}

/* ------------------------------------------------------------------ the prediction object */

mmdx_pred_t *mmdx_pred_alloc(void)
{
    mmdx_pred_t *p = mmdx_calloc(1, sizeof(*p));
    if (!p) {
        return NULL;
    }
    p->patient = mmdx_calloc(1, 1);
    if (!p->patient) {
        mmdx_free(p);
        return NULL;
    }
    p->patient_cap = 1;
    p->pval = 1;
    return p;
}

static void pred_arrays_free(mmdx_pred_t *p)
{
    mmdx_free(p->prob);
    mmdx_free(p->lo);
    mmdx_free(p->hi);
    mmdx_free(p->mu);
    mmdx_free(p->sd);
    mmdx_free(p->l0);
    mmdx_free(p->evid);
    mmdx_free(p->present);
    mmdx_free(p->ntop);
    mmdx_free(p->top_feat);
    mmdx_free(p->top_val);
    mmdx_free(p->miss);
}

void mmdx_pred_free(mmdx_pred_t *p)
{
    if (!p) {
        return;
    }
    pred_arrays_free(p);
    mmdx_free(p->patient);
    mmdx_free(p);
}

static int pred_reserve(mmdx_pred_t *p, size_t K, size_t nmod, size_t T, size_t nfeat)
{
    if (K <= p->cap_K && nmod <= p->cap_mod && T <= p->cap_T && nfeat <= p->cap_feat && p->prob) {
        return MMDX_OK;
    }
    p->model = NULL; /* empty until filled again */
    pred_arrays_free(p);
    size_t k1 = K ? K : 1, m1 = nmod ? nmod : 1, t1 = T ? T : 1, f1 = nfeat ? nfeat : 1;
    p->prob = mmdx_calloc(k1, sizeof(double));
    p->lo = mmdx_calloc(k1, sizeof(double));
    p->hi = mmdx_calloc(k1, sizeof(double));
    p->mu = mmdx_calloc(k1, sizeof(double));
    p->sd = mmdx_calloc(k1, sizeof(double));
    p->l0 = mmdx_calloc(k1, sizeof(double));
    p->evid = mmdx_calloc(k1 * m1, sizeof(double));
    p->present = mmdx_calloc(m1, 1);
    p->ntop = mmdx_calloc(k1, sizeof(size_t));
    p->top_feat = mmdx_calloc(k1 * t1, sizeof(size_t));
    p->top_val = mmdx_calloc(k1 * t1, sizeof(double));
    p->miss = mmdx_calloc(f1, sizeof(size_t));
    if (!p->prob || !p->lo || !p->hi || !p->mu || !p->sd || !p->l0 || !p->evid || !p->present || !p->ntop ||
        !p->top_feat || !p->top_val || !p->miss) {
        pred_arrays_free(p);
        p->prob = p->lo = p->hi = p->mu = p->sd = p->l0 = p->evid = p->top_val = NULL;
        p->present = NULL;
        p->ntop = p->top_feat = p->miss = NULL;
        p->cap_K = p->cap_mod = p->cap_T = p->cap_feat = 0;
        return MMDX_ENOMEM;
    }
    p->cap_K = k1;
    p->cap_mod = m1;
    p->cap_T = t1;
    p->cap_feat = f1;
    return MMDX_OK;
}

/* Keep the T largest |contributions| for class slot k. */
static void top_features(mmdx_pred_t *p, size_t k, const double *contrib, const unsigned char *fobs, size_t nfeat,
                         double sign)
{
    size_t T = p->T, n = 0;
    size_t *tf = p->top_feat + k * T;
    double *tv = p->top_val + k * T;
    for (size_t j = 0; j < nfeat; j++) {
        if (!fobs[j]) {
            continue;
        }
        double v = sign * contrib[j];
        size_t pos = n;
        while (pos > 0 && fabs(tv[pos - 1]) < fabs(v)) {
            pos--;
        }
        if (pos >= T) {
            continue;
        }
        size_t last = n < T ? n : T - 1;
        for (size_t q = last; q > pos; q--) {
            tf[q] = tf[q - 1];
            tv[q] = tv[q - 1];
        }
        tf[pos] = j;
        tv[pos] = v;
        if (n < T) {
            n++;
        }
    }
    p->ntop[k] = n;
}

int mmdx_model_predict(const mmdx_model_t *m, const mmdx_cohort_t *cohort, size_t row, size_t target,
                       mmdx_pred_t *pred, mmdx_error_t *err)
{
    int rc = check_target(m, target, err);
    if (rc == MMDX_OK && cohort && row < mmdx_cohort_n_patients(cohort)) { /* a proportion outside [0, 1] */
        rc = fz_check_logit(m, cohort, row, 1, err);
    }
    if (rc != MMDX_OK) {
        return rc;
    }
    if (!pred || !cohort || row >= mmdx_cohort_n_patients(cohort)) {
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "no prediction, no cohort or row out of range");
    }
    size_t K = mmdx_space_n_classes(m->space, target);
    size_t T = m->opt.top_features;
    if (pred_reserve(pred, K, m->nmod, T, m->nfeat) != MMDX_OK) {
        return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
    }
    const char *id = mmdx_cohort_id(cohort, row);
    size_t len = strlen(id) + 1;
    if (len > pred->patient_cap) {
        char *np = mmdx_realloc(pred->patient, len);
        if (!np) {
            return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
        }
        pred->patient = np;
        pred->patient_cap = len;
    }
    memcpy(pred->patient, id, len);
    fz_map_t map;
    fz_ws_t w;
    if (fz_map_init(m, cohort, &map) != MMDX_OK) {
        return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
    }
    if (ws_alloc(m, &w) != MMDX_OK) {
        fz_map_free(m, &map);
        return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
    }
    double d2;
    size_t df;
    rc = eval_row(m, &map, cohort, row, target, &w, &d2, &df);
    if (rc != MMDX_OK) {
        mmdx_error_set(err, rc, "", "", 0, "a feature covariance is not positive definite");
        goto done;
    }
    pred->model = m;
    pred->target = target;
    pred->K = K;
    pred->nmod = m->nmod;
    pred->T = T;
    pred->nfeat = m->nfeat;
    class_probs(m, target, &w, pred->prob, pred->lo, pred->hi, pred->mu, pred->sd);
    size_t nb = m->tgt_nbin[target], b0 = m->tgt_bin0[target];
    memcpy(pred->present, w.present, m->nmod);
    /* per feature: observed in full? */
    unsigned char fob_stack[256];
    unsigned char *fo = m->nfeat <= sizeof(fob_stack) ? fob_stack : mmdx_malloc(m->nfeat);
    if (!fo) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
        goto done;
    }
    pred->nmiss = 0;
    int any_present = 0, any_absent = 0, imputed = 0;
    for (size_t k = 0; k < m->nmod; k++) {
        any_present |= w.present[k];
        any_absent |= !w.present[k];
    }
    for (size_t j = 0; j < m->nfeat; j++) {
        fo[j] = 0;
        if (m->feat_ncol[j] == 0) {
            continue;
        }
        size_t k = m->feat_mod[j];
        size_t off = mod_offset(m, k);
        const fz_modality_t *md = &m->mods[k];
        int all = 1;
        for (size_t a = 0; a < md->ncol; a++) {
            if (m->cols[md->col[a]].feature == j) {
                all &= w.obs[off + a];
            }
        }
        fo[j] = (unsigned char)all;
        if (!all) {
            pred->miss[pred->nmiss++] = j;
            imputed |= w.present[k];
        }
    }
    for (size_t b = 0; b < nb; b++) {
        const fz_binary_t *bn = &m->bins[b0 + b];
        size_t slot = nb == 1 ? 1 : b;
        pred->l0[slot] = bn->l0;
        for (size_t k = 0; k < m->nmod; k++) {
            pred->evid[slot * m->nmod + k] = bn->stack.beta[k + 1] * w.e[b * m->nmod + k];
        }
        /* feature contributions: stacking weight x moderation x coefficient x value */
        memset(w.contrib, 0, m->nfeat * sizeof(double));
        size_t off = 0, nf = (size_t)m->opt.folds + 1;
        for (size_t k = 0; k < m->nmod; k++) {
            const fz_modality_t *md = &m->mods[k];
            const fz_fit_t *ft = &bn->fits[k * nf];
            double scale = bn->stack.beta[k + 1] * w.kappa[b * m->nmod + k];
            for (size_t a = 0; a < md->ncol; a++) {
                if (w.obs[off + a]) {
                    w.contrib[m->cols[md->col[a]].feature] += scale * ft->beta[a + 1] * w.z[off + a];
                }
            }
            off += md->ncol;
        }
        top_features(pred, slot, w.contrib, fo, m->nfeat, 1.0);
        if (nb == 1) {
            pred->l0[0] = -bn->l0;
            for (size_t k = 0; k < m->nmod; k++) {
                pred->evid[k] = -pred->evid[m->nmod + k];
            }
            top_features(pred, 0, w.contrib, fo, m->nfeat, -1.0);
        }
    }
    if (fo != fob_stack) {
        mmdx_free(fo);
    }
    pred->d2 = d2;
    pred->df = df;
    pred->pval = df > 0 ? gsl_cdf_chisq_Q(d2, (double)df) : 1.0;
    pred->flags = 0;
    if (df > 0 && pred->pval < m->opt.ood_pvalue) {
        pred->flags |= MMDX_PRED_OOD;
    }
    if (!any_present) {
        pred->flags |= MMDX_PRED_NO_EVIDENCE;
    }
    if (any_absent) {
        pred->flags |= MMDX_PRED_MISSING_MODALITY;
    }
    if (imputed) {
        pred->flags |= MMDX_PRED_IMPUTED;
    }
done:
    ws_free(&w);
    fz_map_free(m, &map);
    return rc;
}

int mmdx_model_feature_predictive(const mmdx_model_t *m, const mmdx_cohort_t *cohort, size_t row, size_t feature,
                                  double *mean, double *sd, int *log_scale, mmdx_error_t *err)
{
    if (!m || !cohort || row >= mmdx_cohort_n_patients(cohort) || feature >= m->nfeat) {
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "no model, no cohort, or row or feature out of range");
    }
    if (m->phase < FZ_PH_MODAL) {
        return mmdx_error_set(err, MMDX_ESTATE, "", "", 0, "the feature model is not fitted");
    }
    if (m->feat_ncol[feature] != 1) {
        return mmdx_error_set(err, MMDX_EINVAL, "", mmdx_space_feature_id(m->space, feature), 0,
                              "predictive distributions are given for numeric features only");
    }
    size_t k = m->feat_mod[feature];
    const fz_modality_t *md = &m->mods[k];
    size_t D = md->ncol, col = m->feat_col0[feature], a_j = 0;
    fz_map_t map;
    if (fz_map_init(m, cohort, &map) != MMDX_OK) {
        return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
    }
    double *z = mmdx_malloc((3 * D + 1) * sizeof(double));
    unsigned char *obs = mmdx_malloc(D + 1);
    fz_cond_t *cond = fz_cond_alloc(D);
    int rc = MMDX_OK;
    if (!z || !obs || !cond) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
        goto done;
    }
    for (size_t a = 0; a < D; a++) {
        double v;
        obs[a] = (unsigned char)fz_col_value(m, &map, cohort, md->col[a], row, &v);
        z[a] = obs[a] ? fz_col_standardise(&m->cols[md->col[a]], v) : 0.0;
        if (md->col[a] == col) {
            a_j = a;
            obs[a] = 0; /* predict it as if not measured */
        }
    }
    if (fz_cond_set(cond, md->Sigma, obs) != 0) {
        rc = mmdx_error_set(err, MMDX_ENUMERIC, "", "", 0, "a feature covariance is not positive definite");
        goto done;
    }
    double mz, vz;
    fz_cond_feature(cond, md->Sigma, z, a_j, &mz, &vz, z + D);
    const fz_col_t *cl = &m->cols[col];
    *mean = cl->mean + cl->sd * mz;
    *sd = cl->sd * sqrt(vz);
    if (log_scale) {
        *log_scale = cl->islog ? MMDX_TRANSFORM_LOG : (cl->islogit ? MMDX_TRANSFORM_LOGIT : 0);
    }
done:
    mmdx_free(z);
    mmdx_free(obs);
    fz_cond_free(cond);
    fz_map_free(m, &map);
    return rc;
}

/* ------------------------------------------------------------------ accessors */

const char *mmdx_pred_patient(const mmdx_pred_t *p)
{
    return p->patient;
}

size_t mmdx_pred_target(const mmdx_pred_t *p)
{
    return p->target;
}

const char *mmdx_pred_target_name(const mmdx_pred_t *p)
{
    return p->model ? mmdx_space_target_name(p->model->space, p->target) : "";
}

size_t mmdx_pred_n_classes(const mmdx_pred_t *p)
{
    return p->model ? p->K : 0;
}

const char *mmdx_pred_class_name(const mmdx_pred_t *p, size_t k)
{
    return p->model && k < p->K ? mmdx_space_class_name(p->model->space, p->target, k) : "";
}

size_t mmdx_pred_best_class(const mmdx_pred_t *p)
{
    size_t best = 0;
    for (size_t k = 1; p->model && k < p->K; k++) {
        if (p->prob[k] > p->prob[best]) {
            best = k;
        }
    }
    return best;
}

double mmdx_pred_prob(const mmdx_pred_t *p, size_t k)
{
    return p->model && k < p->K ? p->prob[k] : NAN;
}

void mmdx_pred_interval(const mmdx_pred_t *p, size_t k, double *low, double *high)
{
    int ok = p->model && k < p->K;
    if (low) {
        *low = ok ? p->lo[k] : NAN;
    }
    if (high) {
        *high = ok ? p->hi[k] : NAN;
    }
}

void mmdx_pred_logodds(const mmdx_pred_t *p, size_t k, double *mean, double *sd)
{
    int ok = p->model && k < p->K;
    if (mean) {
        *mean = ok ? p->mu[k] : NAN;
    }
    if (sd) {
        *sd = ok ? p->sd[k] : NAN;
    }
}

double mmdx_pred_prior_logodds(const mmdx_pred_t *p, size_t k)
{
    return p->model && k < p->K ? p->l0[k] : NAN;
}

size_t mmdx_pred_n_modalities(const mmdx_pred_t *p)
{
    return p->model ? p->nmod : 0;
}

const char *mmdx_pred_modality(const mmdx_pred_t *p, size_t m)
{
    return p->model && m < p->nmod ? p->model->mods[m].name : "";
}

int mmdx_pred_modality_present(const mmdx_pred_t *p, size_t m)
{
    return p->model && m < p->nmod ? p->present[m] : 0;
}

double mmdx_pred_evidence(const mmdx_pred_t *p, size_t k, size_t m)
{
    return p->model && k < p->K && m < p->nmod ? p->evid[k * p->nmod + m] : NAN;
}

size_t mmdx_pred_n_top(const mmdx_pred_t *p, size_t k)
{
    return p->model && k < p->K ? p->ntop[k] : 0;
}

const char *mmdx_pred_top_feature(const mmdx_pred_t *p, size_t k, size_t r, double *contribution)
{
    if (!p->model || k >= p->K || r >= p->ntop[k]) {
        if (contribution) {
            *contribution = NAN;
        }
        return "";
    }
    if (contribution) {
        *contribution = p->top_val[k * p->T + r];
    }
    return mmdx_space_feature_id(p->model->space, p->top_feat[k * p->T + r]);
}

size_t mmdx_pred_n_missing(const mmdx_pred_t *p)
{
    return p->model ? p->nmiss : 0;
}

const char *mmdx_pred_missing_feature(const mmdx_pred_t *p, size_t r)
{
    return p->model && r < p->nmiss ? mmdx_space_feature_id(p->model->space, p->miss[r]) : "";
}

double mmdx_pred_ood(const mmdx_pred_t *p, size_t *df, double *pvalue)
{
    if (df) {
        *df = p->model ? p->df : 0;
    }
    if (pvalue) {
        *pvalue = p->model ? p->pval : 1.0;
    }
    return p->model ? p->d2 : 0.0;
}

unsigned mmdx_pred_flags(const mmdx_pred_t *p)
{
    return p->model ? p->flags : 0;
}
