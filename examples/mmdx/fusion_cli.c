/* Shared pieces of the fusion commands: evidence and labels, model options. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fusion_cli.h"

const char fcli_model_help[] =
    "Model options (priors are on standardised features):\n"
    "      --prior-sd X      sd of the Gaussian prior of each coefficient (default 1)\n"
    "      --intercept-sd X  sd of the intercepts' prior around the prior log-odds (5)\n"
    "      --stack-sd X      sd of the stacking weights' prior around 1 (0.5)\n"
    "      --shrinkage X     pseudo-observations shrinking feature correlations (0: D + 2)\n"
    "      --cross-folds K   cross-fitting folds of the stacking layer (5)\n"
    "      --autolog WHICH   log-transform detection: declared, labs or all (all)\n"
    "      --top-features N  top contributing features kept per prediction (5)\n"
    "      --ood-pvalue P    out-of-distribution flag below this p-value (1e-4)\n";

static int parse_double(const char *arg, const char *name, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !(v >= 0)) {
        fprintf(stderr, "mmdx: --%s: '%s' is not a non-negative number\n", name, arg);
        return -1;
    }
    *out = v;
    return 1;
}

static int parse_unsigned(const char *arg, const char *name, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno || end == arg || *end || v < lo || v > hi) {
        fprintf(stderr, "mmdx: --%s: '%s' is not a whole number in %u..%u\n", name, arg, lo, hi);
        return -1;
    }
    *out = (unsigned)v;
    return 1;
}

int fcli_model_option(mmdx_model_options_t *o, int opt, const char *arg)
{
    switch (opt) {
    case FCLI_OPT_BASE + 1:
        return parse_double(arg, "prior-sd", &o->prior_sd);
    case FCLI_OPT_BASE + 2:
        return parse_double(arg, "intercept-sd", &o->intercept_sd);
    case FCLI_OPT_BASE + 3:
        return parse_double(arg, "stack-sd", &o->stack_sd);
    case FCLI_OPT_BASE + 4:
        return parse_double(arg, "shrinkage", &o->shrinkage);
    case FCLI_OPT_BASE + 5:
        return parse_unsigned(arg, "cross-folds", 2, 100, &o->folds);
    case FCLI_OPT_BASE + 6:
        if (strcmp(arg, "declared") == 0) {
            o->autolog = MMDX_AUTOLOG_DECLARED;
        } else if (strcmp(arg, "labs") == 0) {
            o->autolog = MMDX_AUTOLOG_LABS;
        } else if (strcmp(arg, "all") == 0) {
            o->autolog = MMDX_AUTOLOG_ALL;
        } else {
            fprintf(stderr, "mmdx: --autolog: '%s' is not declared, labs or all\n", arg);
            return -1;
        }
        return 1;
    case FCLI_OPT_BASE + 7:
        return parse_unsigned(arg, "top-features", 0, 1000, &o->top_features);
    case FCLI_OPT_BASE + 8:
        return parse_double(arg, "ood-pvalue", &o->ood_pvalue);
    default:
        return 0;
    }
}

/* A copy of @p c over @p space (a clone of c's space with targets added), with or
 * without its labels. */
static mmdx_cohort_t *rebase(const mmdx_cohort_t *c, const mmdx_space_t *space, int keep_labels)
{
    size_t n = mmdx_cohort_n_patients(c), D = mmdx_cohort_n_features(c), T = keep_labels ? mmdx_cohort_n_targets(c) : 0;
    mmdx_cohort_t *r = mmdx_cohort_alloc(space, n);
    if (!r) {
        return NULL;
    }
    for (size_t j = 0; j < D; j++) {
        memcpy(mmdx_cohort_column(r, j), mmdx_cohort_column_const(c, j), n * sizeof(double));
        memcpy(mmdx_cohort_flags(r, j), mmdx_cohort_flags_const(c, j), n);
    }
    for (size_t i = 0; i < n; i++) {
        if (mmdx_cohort_set_id(r, i, mmdx_cohort_id(c, i)) != MMDX_OK) {
            mmdx_cohort_free(r);
            return NULL;
        }
        for (size_t t = 0; t < T; t++) {
            mmdx_cohort_set_label(r, i, t, mmdx_cohort_label(c, i, t));
        }
    }
    return r;
}

int fcli_load(mmdx_ctx_t *ctx, const cli_inputs_t *in, const char *cohort_path, const char *labels_path,
              const mmdx_space_t *base, int ignore_unknown, int quiet, fcli_data_t *d)
{
    mmdx_error_t err;
    mmdx_labels_t *labels = NULL;
    mmdx_cohort_t *file_cohort = NULL;
    int rc;
    memset(d, 0, sizeof(*d));
    if (cohort_path) {
        mmdx_error_clear(&err);
        rc = mmdx_cohort_load(ctx, cohort_path, &file_cohort, &err);
        if (rc != MMDX_OK) {
            cli_print_error("--cohort", &err);
            return rc;
        }
        d->space = mmdx_space_clone(mmdx_cohort_space(file_cohort));
    } else {
        d->space = base ? mmdx_space_clone(base) : mmdx_space_alloc();
    }
    if (!d->space) {
        fprintf(stderr, "mmdx: out of memory\n");
        rc = MMDX_ENOMEM;
        goto fail;
    }
    if (labels_path) {
        mmdx_error_clear(&err);
        rc = mmdx_labels_read(ctx, labels_path, d->space, &labels, &err);
        if (rc != MMDX_OK) {
            cli_print_error("--labels", &err);
            goto fail;
        }
    }
    if (cohort_path) {
        d->cohort = rebase(file_cohort, d->space, labels == NULL); /* --labels replaces the file's labels */
        mmdx_cohort_free(file_cohort);
        file_cohort = NULL;
        if (!d->cohort) {
            fprintf(stderr, "mmdx: out of memory\n");
            rc = MMDX_ENOMEM;
            goto fail;
        }
    } else {
        rc = cli_collect(ctx, in, d->space, base != NULL, &d->col, &d->cohort);
        if (rc != MMDX_OK) {
            goto fail;
        }
    }
    if (labels) {
        rc = cli_apply_labels(labels, d->cohort, ignore_unknown, quiet);
        if (rc != MMDX_OK) {
            goto fail;
        }
        mmdx_labels_free(labels);
    }
    return MMDX_OK;
fail:
    mmdx_labels_free(labels);
    mmdx_cohort_free(file_cohort);
    fcli_free(d);
    return rc;
}

void fcli_free(fcli_data_t *d)
{
    mmdx_cohort_free(d->cohort);
    mmdx_collect_free(d->col);
    mmdx_space_free(d->space);
    memset(d, 0, sizeof(*d));
}

int fcli_merge_models(mmdx_ctx_t *ctx, char *const *files, size_t n, mmdx_model_t **out)
{
    mmdx_error_t err;
    mmdx_model_t *acc = NULL;
    *out = NULL;
    mmdx_error_clear(&err);
    int rc = mmdx_model_load(ctx, files[0], &acc, &err);
    for (size_t a = 1; rc == MMDX_OK && a < n; a++) {
        mmdx_model_t *m = NULL;
        mmdx_error_clear(&err);
        rc = mmdx_model_load(ctx, files[a], &m, &err);
        if (rc == MMDX_OK && (rc = mmdx_model_merge(acc, m, &err)) != MMDX_OK && !err.file[0]) {
            snprintf(err.file, sizeof(err.file), "%s", files[a]);
        }
        mmdx_model_free(m);
    }
    if (rc != MMDX_OK) {
        cli_print_error(NULL, &err);
        mmdx_model_free(acc);
        return rc;
    }
    *out = acc;
    return MMDX_OK;
}

/* 1 when column @p j of @p c has at least one value. */
static int has_values(const mmdx_cohort_t *c, size_t j)
{
    const double *v = mmdx_cohort_column_const(c, j);
    const uint8_t *fl = mmdx_cohort_flags_const(c, j);
    for (size_t i = 0; i < mmdx_cohort_n_patients(c); i++) {
        if (!(fl[i] & MMDX_VAL_MISSING) && !isnan(v[i])) {
            return 1;
        }
    }
    return 0;
}

int fcli_check_features(const char *cmd, const mmdx_model_t *m, const char *model_path, const mmdx_space_t *space,
                        const mmdx_cohort_t *cohort, int quiet)
{
    const mmdx_space_t *ms = mmdx_model_space(m);
    size_t D = mmdx_space_n_features(ms), absent = 0;
    const char *first = NULL;
    if (cohort) {
        space = mmdx_cohort_space(cohort);
    }
    for (size_t j = 0; j < D; j++) {
        const char *id = mmdx_space_feature_id(ms, j);
        long k = space ? mmdx_space_find_feature(space, id) : -1;
        if (k < 0 || (cohort && !has_values(cohort, (size_t)k))) {
            if (!first) {
                first = id;
            }
            absent++;
        }
    }
    if (D > 0 && absent == D) {
        fprintf(stderr,
                "mmdx: %s: none of the %zu features of %s is in the evidence (e.g. %s): it was made for other "
                "inputs\n",
                cmd, D, model_path, first);
        return MMDX_ESPACE;
    }
    if (absent > 0 && !quiet) {
        fprintf(stderr,
                "mmdx: warning: %s: %zu of the %zu features of the model are absent from the evidence (first: %s); "
                "they are predicted as missing\n",
                cmd, absent, D, first);
    }
    return MMDX_OK;
}

void fcli_model_summary(const char *cmd, const mmdx_model_t *m, const char *path)
{
    const mmdx_space_t *s = mmdx_model_space(m);
    fprintf(stderr, "mmdx: %s: %zu features in %zu modalities (", cmd, mmdx_space_n_features(s),
            mmdx_model_n_modalities(m));
    for (size_t k = 0; k < mmdx_model_n_modalities(m); k++) {
        fprintf(stderr, "%s%s", k ? ", " : "", mmdx_model_modality(m, k));
    }
    fprintf(stderr, "); targets:");
    for (size_t t = 0; t < mmdx_space_n_targets(s); t++) {
        fprintf(stderr, " %s (%zu labelled)", mmdx_space_target_name(s, t), mmdx_model_n_train(m, t));
    }
    fprintf(stderr, "; %u passes -> %s\n", mmdx_model_pass(m), path);
}

/* A weak reference: with another CBLAS the symbol is absent (NULL) and nothing is done
 * (set OPENBLAS_NUM_THREADS=1 or the like then). */
#if defined(__GNUC__) && defined(__ELF__)
extern void openblas_set_num_threads(int n) __attribute__((weak));
#endif

void fcli_set_threads(mmdx_ctx_t *ctx, int threads)
{
    mmdx_ctx_set_threads(ctx, threads);
#if defined(__GNUC__) && defined(__ELF__)
    if (threads > 1 && openblas_set_num_threads)
        openblas_set_num_threads(1);
#endif
}
