/* The fusion model: layout, training passes (accumulate, step), merge of aggregates. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "mmdx/model.h"
#include "model_internal.h"
#include "logistic.h"
#include "gauss.h"

void mmdx_model_options_init(mmdx_model_options_t *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->prior_sd = 1.0;
    opt->intercept_sd = 5.0;
    opt->stack_sd = 0.5;
    opt->shrinkage = 0.0;
    opt->folds = 5;
    opt->max_iter = 100;
    opt->tol = 1e-9;
    opt->ood_pvalue = 1e-4;
    opt->top_features = 5;
    opt->autolog = MMDX_AUTOLOG_ALL;
    opt->seed = 0;
}

/* ------------------------------------------------------------------ fits */

int fz_fit_init(fz_fit_t *f, size_t d)
{
    memset(f, 0, sizeof(*f));
    f->d = d;
    f->beta = mmdx_calloc(d, sizeof(double));
    f->beta_prev = mmdx_calloc(d, sizeof(double));
    f->m0 = mmdx_calloc(d, sizeof(double));
    f->prec0 = mmdx_calloc(d, sizeof(double));
    f->g = mmdx_calloc(d, sizeof(double));
    f->H = mmdx_calloc(d * d, sizeof(double));
    f->L = mmdx_calloc(d * d + d, sizeof(double));
    if (!f->beta || !f->beta_prev || !f->m0 || !f->prec0 || !f->g || !f->H || !f->L) {
        fz_fit_free(f);
        return MMDX_ENOMEM;
    }
    return MMDX_OK;
}

void fz_fit_free(fz_fit_t *f)
{
    mmdx_free(f->beta);
    mmdx_free(f->beta_prev);
    mmdx_free(f->m0);
    mmdx_free(f->prec0);
    mmdx_free(f->g);
    mmdx_free(f->H);
    mmdx_free(f->L);
    memset(f, 0, sizeof(*f));
}

void fz_fit_clear(fz_fit_t *f)
{
    if (!f->g) {
        return;
    }
    memset(f->g, 0, f->d * sizeof(double));
    memset(f->H, 0, f->d * f->d * sizeof(double));
    f->ll = 0;
    f->n = 0;
}

/* Prior N(m0, 1/prec0) and starting point beta = m0. */
void fz_fit_prior(fz_fit_t *f, double mean0, double sd0, double mean_rest, double sd_rest)
{
    for (size_t j = 0; j < f->d; j++) {
        f->m0[j] = j == 0 ? mean0 : mean_rest;
        double s = j == 0 ? sd0 : sd_rest;
        f->prec0[j] = 1.0 / (s * s);
        f->beta[j] = f->m0[j];
    }
    f->iter = 0;
    f->done = 0;
    f->obj_prev = -HUGE_VAL;
    f->step1 = f->step2 = 0;
}

/*
 * Newton iteration of one fit from its aggregates. A step that lowered the log-posterior
 * is undone by halving it (the objective is only known one pass later).
 */
int fz_fit_wants_hessian(const fz_fit_t *f, int chord, double tol)
{
    if (!chord || f->d <= FZ_CHORD_MIN_D) {
        return 1;
    }
    if (f->iter == 0) {
        return 0; /* the first step's Hessian comes from the feature model (fz_fit_h0()) */
    }
    if (f->iter < FZ_NEWTON_FULL) {
        return 1;
    }
    if (f->step2 > 0 && f->step1 < f->step2 && f->step1 * (f->step1 / f->step2) < tol) {
        return 0; /* most likely the last pass: its Hessian would not be used */
    }
    return f->iter % FZ_NEWTON_REFRESH == 0;
}

void fz_fit_h0(fz_fit_t *f, const double *Sigma)
{
    size_t d = f->d, D = d - 1;
    double p0 = 1.0 / (1.0 + exp(-f->beta[0])), w = p0 * (1.0 - p0) * f->n;
    memset(f->H, 0, d * d * sizeof(double));
    f->H[0] = w;
    for (size_t j = 1; j < d; j++) {
        for (size_t i = j; i < d; i++) {
            f->H[j * d + i] = w * Sigma[(j - 1) * D + (i - 1)];
        }
    }
}

int fz_fit_newton(fz_fit_t *f, unsigned max_iter, double tol, const double *Sigma)
{
    if (f->done) {
        return MMDX_OK;
    }
    int chord = Sigma != NULL, hess = fz_fit_wants_hessian(f, chord, tol); /* what this pass's sums hold */
    if (!hess && f->iter == 0) { /* a chord fit's first step */
        fz_fit_h0(f, Sigma);
        hess = 1;
    }
    double obj = fz_logistic_objective(f->d, f->beta, f->m0, f->prec0, f->ll);
    if (++f->iter > max_iter) {
        return MMDX_ENUMERIC;
    }
    if (!isfinite(obj)) {
        return MMDX_ENUMERIC;
    }
    if (obj < f->obj_prev - 1e-12 * fabs(f->obj_prev)) {
        for (size_t j = 0; j < f->d; j++) {
            f->beta[j] = 0.5 * (f->beta[j] + f->beta_prev[j]);
        }
        return MMDX_OK;
    }
    f->obj_prev = obj;
    f->n_used = f->n;
    memcpy(f->beta_prev, f->beta, f->d * sizeof(double));
    double step = 0;
    if (hess) {
        if (fz_logistic_newton(f->d, f->beta, f->m0, f->prec0, f->g, f->H, f->L, &step) != 0) {
            return MMDX_ENUMERIC;
        }
    } else {
        int rc = fz_logistic_chord(f->d, f->beta, f->m0, f->prec0, f->g, f->L, &step);
        if (rc != 0) {
            return rc == -2 ? MMDX_ENOMEM : MMDX_ENUMERIC;
        }
    }
    f->step2 = f->step1;
    f->step1 = step;
    if (step < tol) {
        f->done = 1;
    }
    return MMDX_OK;
}

/* ------------------------------------------------------------------ layout */

void mmdx_model_free(mmdx_model_t *m)
{
    if (!m) {
        return;
    }
    if (m->mods) {
        for (size_t k = 0; k < m->nmod; k++) {
            mmdx_free(m->mods[k].name);
            mmdx_free(m->mods[k].col);
            mmdx_free(m->mods[k].S);
            mmdx_free(m->mods[k].N);
            mmdx_free(m->mods[k].Sigma);
            mmdx_free(m->mods[k].Lambda);
        }
    }
    if (m->bins) {
        size_t nf = (size_t)m->opt.folds + 1;
        for (size_t b = 0; b < m->nbin; b++) {
            if (m->bins[b].fits) {
                for (size_t k = 0; k < m->nmod * nf; k++) {
                    fz_fit_free(&m->bins[b].fits[k]);
                }
            }
            mmdx_free(m->bins[b].fits);
            fz_fit_free(&m->bins[b].stack);
        }
    }
    mmdx_free(m->mods);
    mmdx_free(m->bins);
    mmdx_free(m->cols);
    mmdx_free(m->feat_col0);
    mmdx_free(m->feat_ncol);
    mmdx_free(m->feat_mod);
    mmdx_free(m->tgt_bin0);
    mmdx_free(m->tgt_nbin);
    mmdx_free(m->counts);
    mmdx_free(m->tgt_cls0);
    for (size_t k = 0; k < m->n_prov; k++) {
        mmdx_free(m->prov[k]);
    }
    mmdx_free(m->prov);
    mmdx_space_free(m->space);
    mmdx_free(m);
}

int mmdx_model_add_provenance(mmdx_model_t *m, const char *line)
{
    if (!m || !line || strpbrk(line, "\r\n")) {
        return MMDX_EINVAL;
    }
    char **p = mmdx_realloc(m->prov, (m->n_prov + 1) * sizeof(char *));
    if (!p) {
        return MMDX_ENOMEM;
    }
    m->prov = p;
    if (!(m->prov[m->n_prov] = mmdx_strdup(line))) {
        return MMDX_ENOMEM;
    }
    m->n_prov++;
    return MMDX_OK;
}

size_t mmdx_model_n_provenance(const mmdx_model_t *m)
{
    return m ? m->n_prov : 0;
}

const char *mmdx_model_provenance(const mmdx_model_t *m, size_t k)
{
    return m && k < m->n_prov ? m->prov[k] : "";
}

static int options_valid(const mmdx_model_options_t *o)
{
    return o->prior_sd > 0 && isfinite(o->prior_sd) && o->intercept_sd > 0 && isfinite(o->intercept_sd) &&
           o->stack_sd > 0 && isfinite(o->stack_sd) && o->shrinkage >= 0 && isfinite(o->shrinkage) &&
           o->folds >= 2 && o->folds <= 100 && o->max_iter >= 1 && o->tol > 0 && o->ood_pvalue >= 0 &&
           o->ood_pvalue < 1 && o->top_features <= 1000 && (int)o->autolog >= 0 && (int)o->autolog <= 2;
}

/* Columns and modalities from the space; the structure every state shares. */
static int model_layout(mmdx_model_t *m, mmdx_error_t *err)
{
    const mmdx_space_t *s = m->space;
    m->nfeat = mmdx_space_n_features(s);
    m->ntarget = mmdx_space_n_targets(s);
    size_t nf = m->nfeat ? m->nfeat : 1;
    m->feat_col0 = mmdx_calloc(nf, sizeof(size_t));
    m->feat_ncol = mmdx_calloc(nf, sizeof(size_t));
    m->feat_mod = mmdx_calloc(nf, sizeof(size_t));
    if (!m->feat_col0 || !m->feat_ncol || !m->feat_mod) {
        return MMDX_ENOMEM;
    }
    size_t ncol = 0;
    for (size_t j = 0; j < m->nfeat; j++) {
        size_t k = 1;
        if (mmdx_space_feature_kind(s, j) == MMDX_KIND_CATEGORICAL) {
            size_t L = mmdx_space_n_levels(s, j);
            k = L > 1 ? L - 1 : 0;
        }
        m->feat_col0[j] = ncol;
        m->feat_ncol[j] = k;
        ncol += k;
    }
    m->ncol = ncol;
    m->cols = mmdx_calloc(ncol ? ncol : 1, sizeof(fz_col_t));
    m->mods = mmdx_calloc(nf, sizeof(fz_modality_t));
    if (!m->cols || !m->mods) {
        return MMDX_ENOMEM;
    }
    /* modalities in order of first appearance */
    for (size_t j = 0; j < m->nfeat; j++) {
        char name[MMDX_ID_MAX];
        const char *id = mmdx_space_feature_id(s, j);
        if (mmdx_space_modality_of(id, name, sizeof(name)) != MMDX_OK) {
            return mmdx_error_set(err, MMDX_EINVAL, "", id, 0, "feature id has no namespace");
        }
        size_t k = 0;
        while (k < m->nmod && strcmp(m->mods[k].name, name) != 0) {
            k++;
        }
        if (m->feat_ncol[j] == 0) {
            m->feat_mod[j] = (size_t)-1; /* a categorical feature with one level carries nothing */
            continue;
        }
        if (k == m->nmod) {
            m->mods[k].name = mmdx_strdup(name);
            if (!m->mods[k].name) {
                return MMDX_ENOMEM;
            }
            m->nmod++;
        }
        m->feat_mod[j] = k;
        m->mods[k].ncol += m->feat_ncol[j];
    }
    for (size_t k = 0; k < m->nmod; k++) {
        fz_modality_t *md = &m->mods[k];
        size_t D = md->ncol;
        md->col = mmdx_calloc(D, sizeof(size_t));
        md->S = mmdx_calloc(D * D, sizeof(double));
        md->N = mmdx_calloc(D * D, sizeof(double));
        md->Sigma = mmdx_calloc(D * D, sizeof(double));
        md->Lambda = mmdx_calloc(D * D, sizeof(double));
        if (!md->col || !md->S || !md->N || !md->Sigma || !md->Lambda) {
            return MMDX_ENOMEM;
        }
        md->ncol = 0;
    }
    for (size_t j = 0; j < m->nfeat; j++) {
        for (size_t l = 0; l < m->feat_ncol[j]; l++) {
            size_t c = m->feat_col0[j] + l;
            fz_col_t *col = &m->cols[c];
            col->feature = j;
            col->level = mmdx_space_feature_kind(s, j) == MMDX_KIND_CATEGORICAL ? (long)l + 1 : -1;
            col->islogit = col->level < 0 && fz_feature_is_logit(s, j); /* declared, not learnt */
            col->sd = 1;
            col->mom[FZ_MOM_MIN] = HUGE_VAL;
            fz_modality_t *md = &m->mods[m->feat_mod[j]];
            md->col[md->ncol++] = c;
        }
    }
    /* targets: one binary model per class, or one for two classes */
    m->tgt_bin0 = mmdx_calloc(m->ntarget, sizeof(size_t));
    m->tgt_nbin = mmdx_calloc(m->ntarget, sizeof(size_t));
    m->tgt_cls0 = mmdx_calloc(m->ntarget, sizeof(size_t));
    if (!m->tgt_bin0 || !m->tgt_nbin || !m->tgt_cls0) {
        return MMDX_ENOMEM;
    }
    size_t ncls = 0;
    m->nbin = 0;
    for (size_t t = 0; t < m->ntarget; t++) {
        size_t K = mmdx_space_n_classes(s, t);
        if (K < 2) {
            return mmdx_error_set(err, MMDX_EINVAL, "", mmdx_space_target_name(s, t), 0,
                                  "target has fewer than two classes");
        }
        m->tgt_bin0[t] = m->nbin;
        m->tgt_nbin[t] = K == 2 ? 1 : K;
        m->tgt_cls0[t] = ncls;
        m->nbin += m->tgt_nbin[t];
        ncls += K;
    }
    m->counts = mmdx_calloc(ncls ? ncls : 1, sizeof(double));
    m->bins = mmdx_calloc(m->nbin ? m->nbin : 1, sizeof(fz_binary_t));
    if (!m->counts || !m->bins) {
        return MMDX_ENOMEM;
    }
    size_t nfold = (size_t)m->opt.folds + 1;
    for (size_t t = 0; t < m->ntarget; t++) {
        for (size_t k = 0; k < m->tgt_nbin[t]; k++) {
            fz_binary_t *b = &m->bins[m->tgt_bin0[t] + k];
            b->target = t;
            b->cls = m->tgt_nbin[t] == 1 ? 1 : k;
            b->fits = mmdx_calloc(m->nmod > 0 ? m->nmod * nfold : 1, sizeof(fz_fit_t));
            if (!b->fits) {
                return MMDX_ENOMEM;
            }
            for (size_t md = 0; md < m->nmod; md++) {
                for (size_t f = 0; f < nfold; f++) {
                    if (fz_fit_init(&b->fits[md * nfold + f], m->mods[md].ncol + 1) != MMDX_OK) {
                        return MMDX_ENOMEM;
                    }
                }
            }
            if (fz_fit_init(&b->stack, m->nmod + 1) != MMDX_OK) {
                return MMDX_ENOMEM;
            }
        }
    }
    return MMDX_OK;
}

int mmdx_model_alloc(mmdx_ctx_t *ctx, const mmdx_space_t *space, const mmdx_model_options_t *opt,
                     mmdx_model_t **out, mmdx_error_t *err)
{
    *out = NULL;
    if (!space) {
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "no feature space");
    }
    mmdx_model_t *m = mmdx_calloc(1, sizeof(*m));
    if (!m) {
        return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory allocating a model");
    }
    m->ctx = ctx;
    m->protocol = FZ_TRAIN_PROTOCOL;
    if (opt) {
        m->opt = *opt;
    } else {
        mmdx_model_options_init(&m->opt);
    }
    if (!options_valid(&m->opt)) {
        mmdx_model_free(m);
        return mmdx_error_set(err, MMDX_EINVAL, "", "options", 0,
                              "invalid model option (priors must be > 0, folds 2..100, tol > 0)");
    }
    m->space = mmdx_space_clone(space);
    if (!m->space) {
        mmdx_model_free(m);
        return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory copying the feature space");
    }
    if (mmdx_space_n_targets(space) == 0) {
        mmdx_model_free(m);
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "the feature space has no target to model");
    }
    int rc = model_layout(m, err);
    if (rc == MMDX_OK && m->nmod == 0) {
        rc = mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "the feature space has no feature to model");
    }
    if (rc != MMDX_OK) {
        if (rc == MMDX_ENOMEM) {
            mmdx_error_set(err, rc, "", "", 0, "out of memory allocating a model");
        }
        mmdx_model_free(m);
        return rc;
    }
    *out = m;
    return MMDX_OK;
}

/* ------------------------------------------------------------------ mapping cohorts */

int fz_map_init(const mmdx_model_t *m, const mmdx_cohort_t *c, fz_map_t *map)
{
    memset(map, 0, sizeof(*map));
    const mmdx_space_t *cs = mmdx_cohort_space(c);
    size_t ncf = mmdx_cohort_n_features(c), nct = mmdx_cohort_n_targets(c);
    map->col = mmdx_calloc(m->nfeat ? m->nfeat : 1, sizeof(long));
    map->level = mmdx_calloc(m->nfeat ? m->nfeat : 1, sizeof(long *));
    map->nlevel = mmdx_calloc(m->nfeat ? m->nfeat : 1, sizeof(size_t));
    map->target = mmdx_calloc(m->ntarget ? m->ntarget : 1, sizeof(long));
    if (!map->col || !map->level || !map->nlevel || !map->target) {
        fz_map_free(m, map);
        return MMDX_ENOMEM;
    }
    int same = cs == m->space;
    for (size_t j = 0; j < m->nfeat; j++) {
        long k = same ? (long)j : mmdx_space_find_feature(cs, mmdx_space_feature_id(m->space, j));
        if (k >= (long)ncf || (k >= 0 && mmdx_space_feature_kind(cs, (size_t)k) !=
                                             mmdx_space_feature_kind(m->space, j))) {
            k = -1; /* not in this cohort's columns, or another kind: missing */
        }
        map->col[j] = k;
        if (k >= 0 && mmdx_space_feature_kind(m->space, j) == MMDX_KIND_CATEGORICAL) {
            size_t L = mmdx_space_n_levels(cs, (size_t)k);
            map->nlevel[j] = L;
            map->level[j] = mmdx_calloc(L ? L : 1, sizeof(long));
            if (!map->level[j]) {
                fz_map_free(m, map);
                return MMDX_ENOMEM;
            }
            for (size_t l = 0; l < L; l++) {
                map->level[j][l] = mmdx_space_find_level(m->space, j, mmdx_space_level(cs, (size_t)k, l));
            }
        }
    }
    for (size_t t = 0; t < m->ntarget; t++) {
        long k = same ? (long)t : mmdx_space_find_target(cs, mmdx_space_target_name(m->space, t));
        map->target[t] = k >= (long)nct ? -1 : k;
    }
    return MMDX_OK;
}

void fz_map_free(const mmdx_model_t *m, fz_map_t *map)
{
    if (map->level) {
        for (size_t j = 0; j < m->nfeat; j++) {
            mmdx_free(map->level[j]);
        }
    }
    mmdx_free(map->level);
    mmdx_free(map->nlevel);
    mmdx_free(map->col);
    mmdx_free(map->target);
    memset(map, 0, sizeof(*map));
}

/* Raw value of column c for row i, on the modelling scale before standardising.
 * Returns 0 when missing. */
int fz_col_value(const mmdx_model_t *m, const fz_map_t *map, const mmdx_cohort_t *c, size_t col, size_t i,
                     double *out)
{
    const fz_col_t *cl = &m->cols[col];
    long k = map->col[cl->feature];
    if (k < 0) {
        return 0;
    }
    const uint8_t *fl = mmdx_cohort_flags_const(c, (size_t)k);
    double v = mmdx_cohort_column_const(c, (size_t)k)[i];
    if ((fl[i] & MMDX_VAL_MISSING) || isnan(v)) {
        return 0;
    }
    if (cl->level >= 0) {
        long lv = -1;
        if (v >= 0 && (size_t)v < map->nlevel[cl->feature]) {
            lv = map->level[cl->feature][(size_t)v];
        }
        if (lv < 0) {
            return 0; /* a level the model does not know: no information */
        }
        *out = lv == cl->level ? 1.0 : 0.0;
        return 1;
    }
    *out = v;
    return 1;
}

static double clamp_z(double z)
{
    z = z < -FZ_Z_MAX ? -FZ_Z_MAX : z;
    return z > FZ_Z_MAX ? FZ_Z_MAX : z;
}

double fz_col_standardise(const fz_col_t *cl, double v)
{
    if (cl->islog) {
        v = log(v > cl->xmin ? v : cl->xmin);
    } else if (cl->islogit) {
        v = fz_logit(v);
    }
    return clamp_z((v - cl->mean) / cl->sd);
}

void fz_mom_combine(double *a, const double *b)
{
    double na = a[0], nb = b[0], n = na + nb;
    if (nb <= 0) {
        return;
    }
    if (na <= 0) {
        memcpy(a, b, 4 * sizeof(double));
        return;
    }
    double d = b[1] - a[1], dn = d / n;
    a[3] += b[3] + d * dn * dn * na * nb * (na - nb) + 3 * dn * (na * b[2] - nb * a[2]);
    a[2] += b[2] + d * dn * na * nb;
    a[1] += dn * nb;
    a[0] = n;
}

int fz_feature_is_logit(const mmdx_space_t *space, size_t j)
{
    return mmdx_space_feature_transform(space, j) == MMDX_TRANSFORM_LOGIT &&
           mmdx_space_feature_kind(space, j) == MMDX_KIND_CONTINUOUS;
}

int fz_check_logit(const mmdx_model_t *m, const mmdx_cohort_t *c, size_t first, size_t n, mmdx_error_t *err)
{
    for (size_t col = 0; col < m->ncol; col++) {
        const fz_col_t *cl = &m->cols[col];
        if (!cl->islogit) {
            continue;
        }
        long kc = mmdx_space_find_feature(mmdx_cohort_space(c), mmdx_space_feature_id(m->space, cl->feature));
        if (kc < 0) {
            continue;
        }
        const double *cv = mmdx_cohort_column_const(c, (size_t)kc);
        const uint8_t *fl = mmdx_cohort_flags_const(c, (size_t)kc);
        for (size_t i = first; i < first + n; i++) {
            if (!(fl[i] & MMDX_VAL_MISSING) && !isnan(cv[i]) && !(cv[i] >= 0 && cv[i] <= 1)) {
                return mmdx_error_set(err, MMDX_ERANGE, "", mmdx_space_feature_id(m->space, cl->feature), 0,
                                      "patient %.100s: value %g is outside [0, 1]; the feature is declared a "
                                      "proportion (transform logit)",
                                      mmdx_cohort_id(c, i), cv[i]);
            }
        }
    }
    return MMDX_OK;
}

size_t fz_block(const mmdx_model_t *m, const fz_map_t *map, size_t mod, const mmdx_cohort_t *c, size_t first,
                size_t n, double *Z, double *O)
{
    const fz_modality_t *md = &m->mods[mod];
    for (size_t a = 0; a < md->ncol; a++) {
        const fz_col_t *cl = &m->cols[md->col[a]];
        double *z = Z + a * n;
        double *o = O + a * n;
        long kc = map->col[cl->feature];
        if (kc < 0) { /* the cohort does not have this feature */
            memset(z, 0, n * sizeof(double));
            memset(o, 0, n * sizeof(double));
            continue;
        }
        if (cl->level < 0) {
            /* numeric column: the column and its flags once, the same arithmetic as
             * fz_col_value() and fz_col_standardise() element by element */
            const uint8_t *fl = mmdx_cohort_flags_const(c, (size_t)kc) + first;
            const double *cv = mmdx_cohort_column_const(c, (size_t)kc) + first;
            double mean = cl->mean, sd = cl->sd, xmin = cl->xmin;
            int islog = cl->islog, islogit = cl->islogit;
            size_t i = 0;
            if (first + 2 * n <= mmdx_cohort_n_patients(c)) {
                /* the next block's rows of this column: a block reads from many columns,
                 * a few cache lines each, too scattered for the hardware prefetcher */
                for (size_t p = 0; p < n; p += 8) {
                    __builtin_prefetch(cv + n + p);
                }
                __builtin_prefetch(fl + n);
            }
#ifdef __SSE2__
            if (!islog && !islogit) { /* two at a time, without branches; min/max clamp as clamp_z() */
                const __m128d vm = _mm_set1_pd(mean), vs = _mm_set1_pd(sd), one = _mm_set1_pd(1.0);
                const __m128d lo = _mm_set1_pd(-FZ_Z_MAX), hi = _mm_set1_pd(FZ_Z_MAX);
                for (; i + 2 <= n; i += 2) {
                    __m128d v = _mm_loadu_pd(cv + i);
                    __m128i miss = _mm_set_epi64x(-(long long)((fl[i + 1] & MMDX_VAL_MISSING) != 0),
                                                  -(long long)((fl[i] & MMDX_VAL_MISSING) != 0));
                    __m128d keep = _mm_andnot_pd(_mm_castsi128_pd(miss), _mm_cmpord_pd(v, v));
                    __m128d q = _mm_min_pd(_mm_max_pd(_mm_div_pd(_mm_sub_pd(v, vm), vs), lo), hi);
                    _mm_storeu_pd(z + i, _mm_and_pd(q, keep));
                    _mm_storeu_pd(o + i, _mm_and_pd(one, keep));
                }
            }
#endif
            for (; i < n; i++) {
                double v = cv[i];
                if ((fl[i] & MMDX_VAL_MISSING) || isnan(v)) {
                    z[i] = 0;
                    o[i] = 0;
                    continue;
                }
                if (islog) {
                    v = log(v > xmin ? v : xmin);
                } else if (islogit) {
                    v = fz_logit(v);
                }
                z[i] = clamp_z((v - mean) / sd);
                o[i] = 1;
            }
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            double v;
            if (fz_col_value(m, map, c, md->col[a], first + i, &v)) {
                z[i] = fz_col_standardise(cl, v);
                o[i] = 1;
            } else {
                z[i] = 0;
                o[i] = 0;
            }
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t a = 0; a < md->ncol; a++) {
            if (O[a * n + i] != 0) {
                k++;
                break;
            }
        }
    }
    return k;
}

int fz_model_precisions(mmdx_model_t *m)
{
    for (size_t k = 0; k < m->nmod; k++) {
        if (fz_gauss_precision(m->mods[k].ncol, m->mods[k].Sigma, m->mods[k].Lambda) != 0) {
            return MMDX_ENUMERIC;
        }
    }
    return MMDX_OK;
}

unsigned fz_fold(const mmdx_model_t *m, const char *id)
{
    uint64_t h = 1469598103934665603ULL ^ m->opt.seed;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    /* splitmix64 finaliser: spreads the FNV hash before the modulo */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return (unsigned)(h % m->opt.folds);
}

/* ------------------------------------------------------------------ merge */

static int same_doubles(const double *a, const double *b, size_t n)
{
    return n == 0 || memcmp(a, b, n * sizeof(double)) == 0;
}

/* Same pass and the same parameters: the aggregates were taken at the same point. */
static const char *merge_mismatch(const mmdx_model_t *a, const mmdx_model_t *b)
{
    if (!mmdx_space_equal(a->space, b->space)) {
        return "feature spaces differ";
    }
    if (a->opt.folds != b->opt.folds || a->opt.seed != b->opt.seed || a->opt.prior_sd != b->opt.prior_sd ||
        a->opt.intercept_sd != b->opt.intercept_sd || a->opt.stack_sd != b->opt.stack_sd ||
        a->opt.shrinkage != b->opt.shrinkage || a->opt.autolog != b->opt.autolog) {
        return "model options differ";
    }
    if (a->phase != b->phase || a->pass != b->pass) {
        return "the models are in different training passes";
    }
    if (a->phase == FZ_PH_DONE) {
        return "the models are fitted: only models in training carry aggregates";
    }
    if (a->phase >= FZ_PH_COVAR) {
        for (size_t c = 0; c < a->ncol; c++) {
            if (a->cols[c].mean != b->cols[c].mean || a->cols[c].sd != b->cols[c].sd ||
                a->cols[c].islog != b->cols[c].islog || a->cols[c].islogit != b->cols[c].islogit) {
                return "the models' standardisation differs (not started from the same model file)";
            }
        }
    }
    if (a->phase >= FZ_PH_MODAL) {
        for (size_t k = 0; k < a->nmod; k++) {
            if (!same_doubles(a->mods[k].Sigma, b->mods[k].Sigma, a->mods[k].ncol * a->mods[k].ncol)) {
                return "the models' feature covariances differ (not started from the same model file)";
            }
        }
        size_t nf = (size_t)a->opt.folds + 1;
        for (size_t bi = 0; bi < a->nbin; bi++) {
            for (size_t k = 0; k < a->nmod * nf; k++) {
                const fz_fit_t *x = &a->bins[bi].fits[k], *y = &b->bins[bi].fits[k];
                if (x->done != y->done || !same_doubles(x->beta, y->beta, x->d)) {
                    return "the models' coefficients differ (not started from the same model file)";
                }
            }
            const fz_fit_t *x = &a->bins[bi].stack, *y = &b->bins[bi].stack;
            if (x->done != y->done || !same_doubles(x->beta, y->beta, x->d)) {
                return "the models' stacking weights differ (not started from the same model file)";
            }
        }
    }
    return NULL;
}

static void add_fit(fz_fit_t *d, const fz_fit_t *s)
{
    for (size_t j = 0; j < d->d; j++) {
        d->g[j] += s->g[j];
    }
    for (size_t j = 0; j < d->d * d->d; j++) {
        d->H[j] += s->H[j];
    }
    d->ll += s->ll;
    d->n += s->n;
}

int fz_check_protocol(const mmdx_model_t *m, const char *what, mmdx_error_t *err)
{
    if (m->phase == FZ_PH_DONE || m->protocol == FZ_TRAIN_PROTOCOL) {
        return MMDX_OK;
    }
    return mmdx_error_set(err, MMDX_EVERSION, m->path, "training_protocol", 0,
                          "cannot %s: the model's training state follows training protocol %d (written by %s "
                          "libmmdx), this one follows %d; every site and the coordinator must run the same version "
                          "(start the training again, e.g. mmdx federate init, with one version)",
                          what, m->protocol, m->protocol < FZ_TRAIN_PROTOCOL ? "an older" : "a newer",
                          FZ_TRAIN_PROTOCOL);
}

int mmdx_model_merge(mmdx_model_t *dst, const mmdx_model_t *src, mmdx_error_t *err)
{
    if (!dst || !src) {
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "no model to merge");
    }
    int prc = fz_check_protocol(dst, "merge", err);
    if (prc == MMDX_OK) {
        prc = fz_check_protocol(src, "merge", err);
    }
    if (prc != MMDX_OK) {
        return prc;
    }
    const char *why = merge_mismatch(dst, src);
    if (why) {
        int code = strstr(why, "space") ? MMDX_ESPACE : MMDX_ESTATE;
        return mmdx_error_set(err, code, "", "", 0, "cannot merge: %s", why);
    }
    switch (dst->phase) {
    case FZ_PH_MOMENTS: {
        for (size_t c = 0; c < dst->ncol; c++) {
            double *q = dst->cols[c].mom;
            const double *r = src->cols[c].mom;
            fz_mom_combine(q + FZ_MOM_N, r + FZ_MOM_N);
            fz_mom_combine(q + FZ_MOM_NPOS, r + FZ_MOM_NPOS);
            q[FZ_MOM_MIN] = r[FZ_MOM_MIN] < q[FZ_MOM_MIN] ? r[FZ_MOM_MIN] : q[FZ_MOM_MIN];
        }
        size_t ncls = 0;
        for (size_t t = 0; t < dst->ntarget; t++) {
            ncls += mmdx_space_n_classes(dst->space, t);
        }
        for (size_t k = 0; k < ncls; k++) {
            dst->counts[k] += src->counts[k];
        }
        dst->n_patients += src->n_patients;
        break;
    }
    case FZ_PH_COVAR:
        for (size_t k = 0; k < dst->nmod; k++) {
            size_t D = dst->mods[k].ncol;
            for (size_t j = 0; j < D * D; j++) {
                dst->mods[k].S[j] += src->mods[k].S[j];
                dst->mods[k].N[j] += src->mods[k].N[j];
            }
            dst->mods[k].nseen += src->mods[k].nseen;
        }
        break;
    default: {
        size_t nf = (size_t)dst->opt.folds + 1;
        for (size_t bi = 0; bi < dst->nbin; bi++) {
            if (dst->phase == FZ_PH_MODAL || dst->phase == FZ_PH_FOLDS) {
                for (size_t k = 0; k < dst->nmod * nf; k++) {
                    add_fit(&dst->bins[bi].fits[k], &src->bins[bi].fits[k]);
                }
            } else {
                add_fit(&dst->bins[bi].stack, &src->bins[bi].stack);
            }
        }
        break;
    }
    }
    return MMDX_OK;
}

/* ------------------------------------------------------------------ inspection */

const mmdx_space_t *mmdx_model_space(const mmdx_model_t *m)
{
    return m->space;
}

const mmdx_model_options_t *mmdx_model_options(const mmdx_model_t *m)
{
    return &m->opt;
}

size_t mmdx_model_n_modalities(const mmdx_model_t *m)
{
    return m->nmod;
}

const char *mmdx_model_modality(const mmdx_model_t *m, size_t mod)
{
    return mod < m->nmod ? m->mods[mod].name : "";
}

size_t mmdx_model_feature_modality(const mmdx_model_t *m, size_t j)
{
    return j < m->nfeat ? m->feat_mod[j] : (size_t)-1;
}

int mmdx_model_feature_is_log(const mmdx_model_t *m, size_t j)
{
    return j < m->nfeat && m->feat_ncol[j] == 1 && m->cols[m->feat_col0[j]].islog;
}

mmdx_transform_t mmdx_model_feature_transform(const mmdx_model_t *m, size_t j)
{
    if (!m || j >= m->nfeat || m->feat_ncol[j] != 1 || m->phase == FZ_PH_MOMENTS) {
        return MMDX_TRANSFORM_NONE;
    }
    const fz_col_t *cl = &m->cols[m->feat_col0[j]];
    return cl->islog ? MMDX_TRANSFORM_LOG : (cl->islogit ? MMDX_TRANSFORM_LOGIT : MMDX_TRANSFORM_NONE);
}

size_t mmdx_model_n_train(const mmdx_model_t *m, size_t t)
{
    if (t >= m->ntarget || m->phase == FZ_PH_MOMENTS) {
        return 0;
    }
    double n = 0;
    for (size_t k = 0; k < mmdx_space_n_classes(m->space, t); k++) {
        n += m->counts[m->tgt_cls0[t] + k];
    }
    return (size_t)n;
}

int mmdx_model_check_space(const mmdx_model_t *m, const mmdx_space_t *space, mmdx_error_t *err)
{
    for (size_t j = 0; j < m->nfeat; j++) {
        const char *id = mmdx_space_feature_id(m->space, j);
        long k = mmdx_space_find_feature(space, id);
        if (k < 0) {
            return mmdx_error_set(err, MMDX_ESPACE, "", id, 0, "feature of the model missing from the space");
        }
        if (mmdx_space_feature_kind(space, (size_t)k) != mmdx_space_feature_kind(m->space, j)) {
            return mmdx_error_set(err, MMDX_ESPACE, "", id, 0, "feature has another kind in the space");
        }
    }
    for (size_t t = 0; t < m->ntarget; t++) {
        const char *name = mmdx_space_target_name(m->space, t);
        long k = mmdx_space_find_target(space, name);
        if (k < 0) {
            return mmdx_error_set(err, MMDX_ESPACE, "", name, 0, "target of the model missing from the space");
        }
        size_t K = mmdx_space_n_classes(m->space, t);
        if (mmdx_space_n_classes(space, (size_t)k) != K) {
            return mmdx_error_set(err, MMDX_ESPACE, "", name, 0, "target has other classes in the space");
        }
        for (size_t c = 0; c < K; c++) {
            if (strcmp(mmdx_space_class_name(space, (size_t)k, c), mmdx_space_class_name(m->space, t, c)) != 0) {
                return mmdx_error_set(err, MMDX_ESPACE, "", name, 0, "target has other classes in the space");
            }
        }
    }
    return MMDX_OK;
}
