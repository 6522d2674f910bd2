/* The decision layer over a fitted fusion model: predictions to posteriors, the advisor
 * that runs the KB for one cohort row, and the model-backed expected entropy for the
 * next best test. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>

#include "decision_internal.h"
#include "mmdx/advise.h"

#define GH_NODES 10   /* Gauss-Hermite nodes for one feature */
#define JOINT_DRAWS 16 /* joint draws for a whole modality */

int mmdx_posteriors_from_preds(const mmdx_pred_t *const *preds, size_t n_preds, mmdx_posterior_t *out, size_t cap,
                               size_t *n_out)
{
    size_t n = 0;
    if ((n_preds && preds == NULL) || n_out == NULL || (cap && out == NULL))
        return MMDX_EINVAL;
    for (size_t i = 0; i < n_preds; i++) {
        if (preds[i] == NULL)
            return MMDX_EINVAL;
        n += mmdx_pred_n_classes(preds[i]);
    }
    *n_out = n;
    if (n > cap)
        return MMDX_ERANGE;
    n = 0;
    for (size_t i = 0; i < n_preds; i++) {
        const mmdx_pred_t *p = preds[i];
        for (size_t k = 0; k < mmdx_pred_n_classes(p); k++) {
            mmdx_posterior_t *o = &out[n++];
            o->target = mmdx_pred_target_name(p);
            o->cls = mmdx_pred_class_name(p, k);
            o->p = mmdx_pred_prob(p, k);
            mmdx_pred_interval(p, k, &o->ci_low, &o->ci_high);
            /* keep the mean inside its interval against rounding in the model */
            if (o->ci_low > o->p)
                o->ci_low = o->p;
            if (o->ci_high < o->p)
                o->ci_high = o->p;
        }
    }
    return MMDX_OK;
}

struct mmdx_advisor {
    const mmdx_kb_t *kb;
    const mmdx_model_t *model;
    const mmdx_space_t *space; /* the model's */
    size_t n_targets, n_features, max_classes;
    mmdx_pred_t **preds;
    mmdx_posterior_t *post;
    size_t n_post_cap;
    const char **cands;
    size_t n_cands;
    const char **uncovered; /* model targets the KB has no triage entry for */
    size_t n_uncovered;
    /* the row being advised */
    const mmdx_cohort_t *cohort;
    size_t row;
    double h0; /* the row's current posterior entropy (summed over targets), when h0_set */
    int h0_set;
    long *src_index; /* model feature -> column of cohort, or -1 */
    /* scratch: copies of the row, one per quadrature node or draw */
    mmdx_cohort_t *scratch;
    double *prob, *weight;
    double gh_x[GH_NODES], gh_w[GH_NODES];
};

void mmdx_advisor_free(mmdx_advisor_t *a)
{
    if (a == NULL)
        return;
    for (size_t t = 0; a->preds && t < a->n_targets; t++)
        mmdx_pred_free(a->preds[t]);
    mmdx_free(a->preds);
    mmdx_free(a->post);
    mmdx_free(a->cands);
    mmdx_free(a->uncovered);
    mmdx_free(a->src_index);
    mmdx_cohort_free(a->scratch);
    mmdx_free(a->prob);
    mmdx_free(a->weight);
    mmdx_free(a);
}

static int gauss_hermite(mmdx_advisor_t *a)
{
    gsl_integration_fixed_workspace *w = gsl_integration_fixed_alloc(gsl_integration_fixed_hermite, GH_NODES, 0, 1, 0, 0);
    if (w == NULL)
        return MMDX_ENOMEM;
    const double *x = gsl_integration_fixed_nodes(w), *wt = gsl_integration_fixed_weights(w);
    for (size_t i = 0; i < GH_NODES; i++) {
        /* E f(X), X ~ N(0,1) = sum w_i f(sqrt 2 x_i) / sqrt(pi) */
        a->gh_x[i] = M_SQRT2 * x[i];
        a->gh_w[i] = wt[i] / sqrt(M_PI);
    }
    gsl_integration_fixed_free(w);
    return MMDX_OK;
}

int mmdx_advisor_alloc(const mmdx_kb_t *kb, const mmdx_model_t *model, mmdx_advisor_t **out, mmdx_error_t *err)
{
    mmdx_advisor_t *a;
    size_t rows = GH_NODES > JOINT_DRAWS ? GH_NODES : JOINT_DRAWS;
    int rc;
    if (out)
        *out = NULL;
    if (kb == NULL || model == NULL || out == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "NULL argument");
    if (!mmdx_model_is_fitted(model))
        return mmdx_error_set(err, MMDX_ESTATE, "", "", 0, "the model is not fitted");
    if ((rc = mmdx_kb_check_space(kb, mmdx_model_space(model), NULL, err)) != MMDX_OK)
        return rc;
    a = mmdx_calloc(1, sizeof *a);
    if (a == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
    a->kb = kb;
    a->model = model;
    a->space = mmdx_model_space(model);
    a->n_targets = mmdx_space_n_targets(a->space);
    a->n_features = mmdx_space_n_features(a->space);
    for (size_t t = 0; t < a->n_targets; t++) {
        size_t k = mmdx_space_n_classes(a->space, t);
        a->n_post_cap += k;
        if (k > a->max_classes)
            a->max_classes = k;
    }
    a->preds = mmdx_calloc(a->n_targets ? a->n_targets : 1, sizeof *a->preds);
    a->post = mmdx_calloc(a->n_post_cap ? a->n_post_cap : 1, sizeof *a->post);
    a->cands = mmdx_calloc(mmdx_model_n_modalities(model) + a->n_features + 1, sizeof *a->cands);
    a->src_index = mmdx_calloc(a->n_features ? a->n_features : 1, sizeof *a->src_index);
    a->uncovered = mmdx_calloc(a->n_targets + 1, sizeof *a->uncovered);
    a->scratch = mmdx_cohort_alloc(a->space, rows);
    a->prob = mmdx_calloc(rows * (a->max_classes ? a->max_classes : 1), sizeof *a->prob);
    a->weight = mmdx_calloc(rows, sizeof *a->weight);
    if (!a->preds || !a->post || !a->cands || !a->src_index || !a->uncovered || !a->scratch || !a->prob ||
        !a->weight)
        goto nomem;
    for (size_t t = 0; t < a->n_targets; t++) {
        const char *name = mmdx_space_target_name(a->space, t);
        int known = 0;
        for (size_t k = 0; !known && k < mmdx_kb_n_targets(kb); k++) {
            mmdx_kb_target_info_t info;
            known = mmdx_kb_target(kb, k, &info) == MMDX_OK && info.name && strcmp(info.name, name) == 0;
        }
        if (!known)
            a->uncovered[a->n_uncovered++] = name;
    }
    for (size_t t = 0; t < a->n_targets; t++)
        if ((a->preds[t] = mmdx_pred_alloc()) == NULL)
            goto nomem;
    for (size_t i = 0; i < rows; i++) {
        char id[32];
        snprintf(id, sizeof id, "nbt-%zu", i);
        if (mmdx_cohort_set_id(a->scratch, i, id) != MMDX_OK)
            goto nomem;
    }
    if (gauss_hermite(a) != MMDX_OK)
        goto nomem;
    for (size_t k = 0; k < mmdx_model_n_modalities(model); k++) {
        const char *mod = mmdx_model_modality(model, k);
        if (strcmp(mod, "demo") != 0)
            a->cands[a->n_cands++] = mod;
    }
    for (size_t j = 0; j < a->n_features; j++) {
        const char *id = mmdx_space_feature_id(a->space, j);
        if (strncmp(id, "lab:", 4) == 0 && mmdx_space_feature_kind(a->space, j) == MMDX_KIND_CONTINUOUS)
            a->cands[a->n_cands++] = id;
    }
    *out = a;
    return MMDX_OK;
nomem:
    mmdx_advisor_free(a);
    return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
}

const char *const *mmdx_advisor_candidates(const mmdx_advisor_t *a, size_t *n)
{
    if (n)
        *n = a ? a->n_cands : 0;
    return a ? a->cands : NULL;
}

/* Point the advisor at a row; map the model's features onto the cohort's columns (every
 * time: a cohort freed and another allocated at the same address must not reuse a map). */
static void set_row(mmdx_advisor_t *a, const mmdx_cohort_t *c, size_t row)
{
    const mmdx_space_t *cs = mmdx_cohort_space(c);
    for (size_t j = 0; j < a->n_features; j++) {
        long k = mmdx_space_find_feature(cs, mmdx_space_feature_id(a->space, j));
        a->src_index[j] = k >= 0 && (size_t)k < mmdx_cohort_n_features(c) ? k : -1;
    }
    a->cohort = c;
    a->row = row;
    a->h0_set = 0;
}

int mmdx_advisor_set_row(mmdx_advisor_t *a, const mmdx_cohort_t *cohort, size_t row)
{
    if (a == NULL || cohort == NULL || row >= mmdx_cohort_n_patients(cohort))
        return MMDX_EINVAL;
    set_row(a, cohort, row);
    return MMDX_OK;
}

static void copy_row(mmdx_advisor_t *a, size_t r)
{
    for (size_t j = 0; j < a->n_features; j++) {
        double v;
        if (a->src_index[j] >= 0 && mmdx_cohort_get(a->cohort, a->row, (size_t)a->src_index[j], &v))
            mmdx_cohort_set(a->scratch, r, j, v, 0);
        else
            mmdx_cohort_set_missing(a->scratch, r, j);
    }
}

/* Over the first @p rows scratch rows (weights summing to 1), summed over targets: the
 * weighted mean of the posterior entropies (*mean_h) and the mutual information between
 * the drawn values and the targets, H(weighted mean posterior) - *mean_h (*mi, >= 0 by the
 * concavity of entropy). */
static int scratch_entropy(mmdx_advisor_t *a, size_t rows, double *mean_h, double *mi, mmdx_error_t *err)
{
    size_t total = mmdx_cohort_n_patients(a->scratch);
    double h = 0, info = 0;
    for (size_t t = 0; t < a->n_targets; t++) {
        size_t K = mmdx_space_n_classes(a->space, t);
        double ht = 0, hmix = 0;
        int rc = mmdx_model_predict_probs(a->model, a->scratch, t, a->prob, NULL, NULL, err);
        if (rc != MMDX_OK)
            return rc;
        for (size_t k = 0; k < K; k++) {
            double pm = 0;
            for (size_t r = 0; r < rows && r < total; r++) {
                double p = a->prob[r * K + k];
                pm += a->weight[r] * p;
                if (p > 0)
                    ht -= a->weight[r] * p * log(p);
            }
            if (pm > 0)
                hmix -= pm * log(pm);
        }
        h += ht;
        if (hmix > ht)
            info += hmix - ht;
    }
    *mean_h = h;
    *mi = info;
    return MMDX_OK;
}

/* The expected entropy after the observation. The feature predictive is not the model's
 * own marginal of its discriminative posterior (the current posterior imputes the missing
 * values), so the weighted mean posterior over the draws is not the current posterior and
 * the plain mean entropy can exceed the current entropy (negative gains). The gain is
 * therefore the mutual information under the draws, taken from the row's current entropy
 * (the model's prediction for the row as it is): the expected entropy never exceeds it. */
static int entropy_after(mmdx_advisor_t *a, double mi, double *after, mmdx_error_t *err)
{
    if (!a->h0_set) {
        double h = 0;
        for (size_t t = 0; t < a->n_targets; t++) {
            int rc = mmdx_model_predict(a->model, a->cohort, a->row, t, a->preds[t], err);
            if (rc != MMDX_OK)
                return rc;
            for (size_t k = 0; k < mmdx_pred_n_classes(a->preds[t]); k++) {
                double p = mmdx_pred_prob(a->preds[t], k);
                if (p > 0)
                    h -= p * log(p);
            }
        }
        a->h0 = h;
        a->h0_set = 1;
    }
    *after = a->h0 - mi > 0 ? a->h0 - mi : 0;
    return MMDX_OK;
}

/* Latin-hypercube standard normal quantile for draw r of feature number f. */
static double lhs_quantile(size_t r, size_t f)
{
    /* a fixed permutation of the strata per feature: r -> (r * 5 + 3 f) mod 16 */
    size_t s = (r * 5 + 3 * f) % JOINT_DRAWS;
    return gsl_cdf_ugaussian_Pinv((s + 0.5) / JOINT_DRAWS);
}

/* A draw x on the model's scale of a feature (transform @p tr from mmdx_model_feature_predictive())
 * back in the feature's unit. */
static double to_unit_scale(double x, int tr)
{
    if (tr == MMDX_TRANSFORM_LOG)
        return exp(x);
    if (tr == MMDX_TRANSFORM_LOGIT)
        return 1.0 / (1.0 + exp(-x));
    return x;
}

int mmdx_advisor_expected_entropy(void *user, const mmdx_case_t *patient, const char *cand, double *after)
{
    mmdx_advisor_t *a = user;
    mmdx_error_t err;
    long j;
    int rc, log_scale = 0;
    double mean, sd, mean_h = 0, mi = 0;
    (void)patient;
    if (a == NULL || cand == NULL || after == NULL || a->cohort == NULL)
        return MMDX_EINVAL;
    mmdx_error_clear(&err);
    j = mmdx_space_find_feature(a->space, cand);
    if (j >= 0) {
        /* one feature: quadrature over its predictive distribution */
        copy_row(a, 0);
        if ((rc = mmdx_model_feature_predictive(a->model, a->scratch, 0, (size_t)j, &mean, &sd, &log_scale, &err)) != MMDX_OK)
            return rc;
        for (size_t i = 0; i < GH_NODES; i++) {
            double x = mean + sd * a->gh_x[i];
            copy_row(a, i);
            mmdx_cohort_set(a->scratch, i, (size_t)j, to_unit_scale(x, log_scale), 0);
            a->weight[i] = a->gh_w[i];
        }
        for (size_t i = GH_NODES; i < mmdx_cohort_n_patients(a->scratch); i++)
            a->weight[i] = 0;
        if ((rc = scratch_entropy(a, GH_NODES, &mean_h, &mi, &err)) != MMDX_OK)
            return rc;
        return entropy_after(a, mi, after, &err);
    }
    /* a modality: joint draws by the chain rule over its numeric features */
    size_t nm = mmdx_model_n_modalities(a->model), m;
    for (m = 0; m < nm; m++)
        if (strcmp(mmdx_model_modality(a->model, m), cand) == 0)
            break;
    if (m == nm)
        return MMDX_ENOTFOUND;
    for (size_t r = 0; r < JOINT_DRAWS; r++) {
        size_t f = 0;
        copy_row(a, r);
        a->weight[r] = 1.0 / JOINT_DRAWS;
        for (size_t jj = 0; jj < a->n_features; jj++) {
            double v;
            if (mmdx_model_feature_modality(a->model, jj) != m || mmdx_cohort_get(a->scratch, r, jj, &v))
                continue;
            mmdx_error_clear(&err);
            rc = mmdx_model_feature_predictive(a->model, a->scratch, r, jj, &mean, &sd, &log_scale, &err);
            if (rc == MMDX_EINVAL)
                continue; /* not numeric: stays missing, the model imputes it */
            if (rc != MMDX_OK)
                return rc;
            double x = mean + sd * lhs_quantile(r, f++);
            mmdx_cohort_set(a->scratch, r, jj, to_unit_scale(x, log_scale), 0);
        }
    }
    for (size_t i = JOINT_DRAWS; i < mmdx_cohort_n_patients(a->scratch); i++)
        a->weight[i] = 0;
    if ((rc = scratch_entropy(a, JOINT_DRAWS, &mean_h, &mi, &err)) != MMDX_OK)
        return rc;
    return entropy_after(a, mi, after, &err);
}

const char *const *mmdx_advisor_uncovered(const mmdx_advisor_t *a, size_t *n)
{
    if (n)
        *n = a ? a->n_uncovered : 0;
    return a ? a->uncovered : NULL;
}

const char mmdx_triage_uncovered[] = "not covered by the KB";

int mmdx_advisor_mark_uncovered(const mmdx_advisor_t *a, const mmdx_case_t *patient, mmdx_advice_t *advice)
{
    if (a == NULL || patient == NULL || advice == NULL || (patient->n_posteriors > 0 && patient->posteriors == NULL))
        return MMDX_EINVAL;
    if (advice->triage.target != NULL) /* a target the KB knows decided it */
        return 0;
    const mmdx_posterior_t *best = NULL;
    for (size_t u = 0; u < a->n_uncovered; u++) {
        long t = mmdx_space_find_target(a->space, a->uncovered[u]);
        const char *first = t >= 0 ? mmdx_space_class_name(a->space, (size_t)t, 0) : NULL;
        for (size_t k = 0; k < patient->n_posteriors; k++) {
            const mmdx_posterior_t *p = &patient->posteriors[k];
            if (p->target == NULL || strcmp(p->target, a->uncovered[u]) != 0 || (first && p->cls && strcmp(p->cls, first) == 0))
                continue;
            if (p->p >= MMDX_UNCOVERED_PROBABLE && (best == NULL || p->p > best->p))
                best = p;
        }
    }
    if (best == NULL)
        return 0;
    advice->triage.department = mmdx_triage_uncovered;
    advice->triage.target = best->target;
    advice->triage.p = best->p;
    return 1;
}

int mmdx_advisor_run(mmdx_advisor_t *a, const mmdx_cohort_t *cohort, size_t row, int next_best, mmdx_advice_t **out,
                     mmdx_error_t *err)
{
    size_t n_post = 0;
    int rc;
    if (out)
        *out = NULL;
    if (a == NULL || cohort == NULL || out == NULL || row >= mmdx_cohort_n_patients(cohort))
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "NULL argument or row out of range");
    for (size_t t = 0; t < a->n_targets; t++)
        if ((rc = mmdx_model_predict(a->model, cohort, row, t, a->preds[t], err)) != MMDX_OK)
            return rc;
    if ((rc = mmdx_posteriors_from_preds((const mmdx_pred_t *const *)a->preds, a->n_targets, a->post, a->n_post_cap,
                                         &n_post)) != MMDX_OK)
        return mmdx_error_set(err, rc, "", mmdx_cohort_id(cohort, row), 0, "cannot collect the posteriors");
    mmdx_cohort_row_t src = {cohort, row};
    mmdx_case_t c = {a->post, n_post, mmdx_cohort_row_fact, &src, mmdx_cohort_row_modality, &src};
    if ((rc = mmdx_decide(a->kb, &c, out, err)) != MMDX_OK)
        return rc;
    (void)mmdx_advisor_mark_uncovered(a, &c, *out);
    if (next_best) {
        set_row(a, cohort, row);
        rc = mmdx_next_best_test(&c, a->cands, a->n_cands, mmdx_advisor_expected_entropy, a, *out, err);
        if (rc != MMDX_OK) {
            mmdx_advice_free(*out);
            *out = NULL;
            return rc;
        }
    }
    return MMDX_OK;
}
