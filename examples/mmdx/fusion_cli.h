/* Shared pieces of the fusion commands (train, diagnose, validate, merge, federate):
 * evidence from INPUTS or a cohort file, with labels; model options. Not installed. */
#ifndef MMDX_FUSION_CLI_H
#define MMDX_FUSION_CLI_H

#include <getopt.h>
#include "cli.h"

/* Evidence of one command run. */
typedef struct fcli_data {
    mmdx_space_t *space;     /* owned; the cohort's space */
    mmdx_collect_t *col;     /* INPUTS mode: the collector (rejects); NULL for --cohort */
    mmdx_cohort_t *cohort;
    long n_rejects;
} fcli_data_t;

/*
 * Read the evidence: from @p cohort_path (an HDF5 cohort file from `mmdx ingest`) when
 * set, else from the INPUTS through the adapters. @p base: a space to start from (a
 * model's, for diagnosing: only its features are kept) or NULL. @p labels_path: labels
 * TSV applied to the patients (targets added to the space); with a cohort file it replaces
 * the labels stored there. Label rows naming patients not in the evidence are an error
 * unless @p ignore_unknown (--ignore-unknown-labels; then a warning), see cli_apply_labels().
 * Errors are printed; returns an MMDX status.
 */
int fcli_load(mmdx_ctx_t *ctx, const cli_inputs_t *in, const char *cohort_path, const char *labels_path,
              const mmdx_space_t *base, int ignore_unknown, int quiet, fcli_data_t *d);
void fcli_free(fcli_data_t *d);

/* Options of the model (priors, folds), for train, validate and federate init. */
#define FCLI_OPT_BASE 2000
#define FCLI_MODEL_LONGOPTS                                         \
    {"prior-sd", required_argument, NULL, FCLI_OPT_BASE + 1},       \
    {"intercept-sd", required_argument, NULL, FCLI_OPT_BASE + 2},   \
    {"stack-sd", required_argument, NULL, FCLI_OPT_BASE + 3},       \
    {"shrinkage", required_argument, NULL, FCLI_OPT_BASE + 4},      \
    {"cross-folds", required_argument, NULL, FCLI_OPT_BASE + 5},    \
    {"autolog", required_argument, NULL, FCLI_OPT_BASE + 6},        \
    {"top-features", required_argument, NULL, FCLI_OPT_BASE + 7},   \
    {"ood-pvalue", required_argument, NULL, FCLI_OPT_BASE + 8}
extern const char fcli_model_help[];
/* 1 when @p opt was a model option (applied), 0 when not, -1 on a bad value (printed). */
int fcli_model_option(mmdx_model_options_t *o, int opt, const char *arg);

/* Load the model files @p files[0..n-1] (n >= 1) and merge the others into the first
 * (mmdx_model_merge(): same pass, space and starting state). On success *out is the merged
 * model, owned by the caller. Errors are printed naming the file; returns an MMDX status. */
int fcli_merge_models(mmdx_ctx_t *ctx, char *const *files, size_t n, mmdx_model_t **out);

/* The evidence against the model's features, before predicting: the features of @p space (a
 * cohort file's) or, when @p cohort is set, those with at least one value in it. None of the
 * model's features: a fatal error naming the model and the first of its features (returns
 * MMDX_ESPACE; the inputs were for another model). Some absent: a warning counting them and
 * naming the first (they are predicted as missing), unless @p quiet. @p cmd names the command
 * in messages. Returns MMDX_OK otherwise. */
int fcli_check_features(const char *cmd, const mmdx_model_t *m, const char *model_path, const mmdx_space_t *space,
                        const mmdx_cohort_t *cohort, int quiet);

/* The context's threads for training and scoring (-t N); with more than one, OpenBLAS (when
 * it is the BLAS) is set to one thread: its own threads under ours only spin. */
void fcli_set_threads(mmdx_ctx_t *ctx, int threads);

/* Print a one-line summary of a fitted model to stderr. */
void fcli_model_summary(const char *cmd, const mmdx_model_t *m, const char *path);

#endif
