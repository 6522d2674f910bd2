/**
 * @file model.h
 * @brief The fusion model: per-modality Bayesian logistic regression with a Gaussian
 *        feature model for missing values, stacked across modalities; trained by passes
 *        over cohort chunks, mergeable for federated training, saved as HDF5.
 *
 * Design (docs/fusion.md): each target is modelled separately; a multi-class target is
 * one-vs-rest. Each modality's features are transformed (log where declared or detected),
 * standardised, and missing ones imputed by their conditional mean under a Gaussian with a
 * shrinkage covariance, whose conditional covariance is added to the log-odds variance.
 * Per modality and class a Bayesian logistic regression (Gaussian prior, Newton/IRLS,
 * Laplace posterior) gives the modality's evidence; a stacking logistic regression over
 * the cross-fitted evidence (prior mean 1 per weight, a missing modality contributes 0)
 * gives the posterior, averaged over the parameters' posterior (probit approximation).
 *
 * Training is a sequence of passes over the data, each one "accumulate aggregates, then
 * combine": call mmdx_model_accumulate() on every chunk of the training cohort, then
 * mmdx_model_step(); repeat while it returns 1. The aggregates of one pass are sums, so
 * sites (or ranks) holding disjoint parts of a cohort can each accumulate their part and
 * mmdx_model_merge() the results before the step: the model is then the pooled one.
 * mmdx_model_fit() runs all passes over one in-memory cohort.
 *
 * Training uses mmdx_ctx_threads() of the model's context: the blocks of rows of a pass
 * are split between threads and their sums added in block order, so the model is
 * byte-identical for any thread count. With more than one, keep the BLAS at one thread
 * (openblas_set_num_threads(1) or OPENBLAS_NUM_THREADS=1).
 *
 * Patients are assigned to cross-fitting folds by a hash of their id, so the folds do not
 * depend on chunking or on which site holds the patient. A patient's label for a target
 * of -1 (unknown) leaves it out of that target's regressions.
 *
 * A model is not locked. A finalised model is read-only under prediction, so one model can
 * be shared by threads that each use their own mmdx_pred_t.
 */
#ifndef MMDX_MODEL_H
#define MMDX_MODEL_H

#include "ctx.h"
#include "space.h"
#include "cohort.h"
#include "pred.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A fusion model, in training or fitted (opaque). */
typedef struct mmdx_model mmdx_model_t;

/** Version of the model file format written by mmdx_model_save() (docs/formats/model-file.md).
 * 2: n_used per fit (files of version 1 are refused: retrain). */
#define MMDX_MODEL_FORMAT_VERSION 3

/** Which continuous features are log-transformed (besides those declared MMDX_TRANSFORM_LOG). */
typedef enum {
    MMDX_AUTOLOG_DECLARED = 0, /**< only features declared MMDX_TRANSFORM_AUTO, when detected */
    MMDX_AUTOLOG_LABS = 1,     /**< also undeclared continuous `lab:` features, when detected */
    MMDX_AUTOLOG_ALL = 2       /**< every undeclared continuous feature, when detected */
} mmdx_autolog_t;

/**
 * Priors and settings. Initialise with mmdx_model_options_init(), then change fields.
 * All priors are on standardised features, so they are scale-aware.
 */
typedef struct mmdx_model_options {
    double prior_sd;      /**< sd of the Gaussian prior of each standardised coefficient (1) */
    double intercept_sd;  /**< sd of the prior of each intercept, centred on the prior log-odds (5) */
    double stack_sd;      /**< sd of the prior of each stacking weight, centred on 1 (0.5) */
    double shrinkage;     /**< inverse-Wishart pseudo-observations pulling the feature correlation
                               toward the identity (0: number of the modality's features + 2) */
    unsigned folds;       /**< cross-fitting folds for the stacking layer, >= 2 (5) */
    unsigned max_iter;    /**< Newton iterations per layer before MMDX_ENUMERIC (100) */
    double tol;           /**< convergence: largest Newton step on any coefficient (1e-9) */
    double ood_pvalue;    /**< flag out-of-distribution below this chi-square p-value (1e-4) */
    unsigned top_features;/**< top contributing features kept per prediction and class (5) */
    mmdx_autolog_t autolog; /**< log-transform detection scope (MMDX_AUTOLOG_ALL) */
    uint64_t seed;        /**< salt of the patient-id hash that assigns folds (0) */
} mmdx_model_options_t;

/** Fill @p opt with the defaults listed above. */
MMDX_EXPORT void mmdx_model_options_init(mmdx_model_options_t *opt);

/**
 * New untrained model over the features and targets of @p space (copied: later changes
 * to @p space do not affect the model). @p opt may be NULL for the defaults.
 * @return MMDX_OK; MMDX_EINVAL (no features, no targets, a target with fewer than two
 *         classes, an invalid option); MMDX_ENOMEM. Details in @p err.
 * New model in *@p out; free with mmdx_model_free().
 */
MMDX_EXPORT int mmdx_model_alloc(mmdx_ctx_t *ctx, const mmdx_space_t *space, const mmdx_model_options_t *opt,
                                 mmdx_model_t **out, mmdx_error_t *err) MMDX_WARN_UNUSED;
/** NULL is a no-op. */
MMDX_EXPORT void mmdx_model_free(mmdx_model_t *m);

/* ------------------------------------------------------------------ training */

/**
 * Add one chunk of training patients to the current pass's aggregates. The chunk's
 * features are matched to the model's by id (features the model does not have are
 * ignored; model features absent from the chunk count as missing); its targets likewise.
 * Features declared MMDX_TRANSFORM_LOGIT (continuous proportions) are modelled as logit(x),
 * x clamped to [0.001, 0.999] (docs/fusion.md).
 * @return MMDX_OK; MMDX_ESTATE when the model is already fitted; MMDX_ERANGE for an
 *         infinite value, or a value of a LOGIT feature outside [0, 1] (naming feature and
 *         patient); MMDX_ENOMEM.
 */
MMDX_EXPORT int mmdx_model_accumulate(mmdx_model_t *m, const mmdx_cohort_t *chunk, mmdx_error_t *err) MMDX_WARN_UNUSED;

/**
 * Combine the current pass's aggregates and advance.
 * @return 1 when another pass over the training data is needed, 0 when the model is
 *         fitted (predictions may be made); MMDX_EINVAL when a target has fewer than two
 *         classes among its labels or no labelled patient (naming it); MMDX_ENUMERIC
 *         when a regression did not converge; MMDX_ESTATE when already fitted.
 */
MMDX_EXPORT int mmdx_model_step(mmdx_model_t *m, mmdx_error_t *err) MMDX_WARN_UNUSED;

/** All passes over one in-memory cohort (accumulate, step, until fitted). */
MMDX_EXPORT int mmdx_model_fit(mmdx_model_t *m, const mmdx_cohort_t *cohort, mmdx_error_t *err) MMDX_WARN_UNUSED;

/**
 * All passes over a cohort file in chunks of @p chunk_rows patients, rewinding the reader
 * between passes: memory does not grow with the number of patients.
 */
MMDX_EXPORT int mmdx_model_fit_reader(mmdx_model_t *m, mmdx_cohort_reader_t *reader, size_t chunk_rows,
                                      mmdx_error_t *err) MMDX_WARN_UNUSED;

/** 1 when the model is fitted (mmdx_model_step() returned 0), 0 during training. */
MMDX_EXPORT int mmdx_model_is_fitted(const mmdx_model_t *m);
/** Number of the current training pass (0 = first), or the passes taken once fitted. */
MMDX_EXPORT unsigned mmdx_model_pass(const mmdx_model_t *m);

/**
 * Add the aggregates @p src accumulated in the current pass to those of @p dst (exact:
 * sums of counts, moments, cross-products, gradients and Hessians). Both must be in the
 * same pass with the same parameters (the same starting model file), feature space and
 * options; otherwise MMDX_ESPACE or MMDX_ESTATE naming what differs.
 */
MMDX_EXPORT int mmdx_model_merge(mmdx_model_t *dst, const mmdx_model_t *src, mmdx_error_t *err) MMDX_WARN_UNUSED;

/** Forget the aggregates of the current pass (a site starting its part of a round). */
MMDX_EXPORT void mmdx_model_clear_aggregates(mmdx_model_t *m);

/* ------------------------------------------------------------------ prediction */

/**
 * Predict row @p row of @p cohort for target @p target (index in the model's space) into
 * @p pred. Cohort features are matched by id; model features absent from the cohort are
 * missing. A row with no usable value gets the prior (flag MMDX_PRED_NO_EVIDENCE).
 * @return MMDX_OK; MMDX_ESTATE before the model is fitted; MMDX_EINVAL for an index out
 *         of range; MMDX_ERANGE when the row's value of a LOGIT feature is outside [0, 1]
 *         (naming the patient and the feature); MMDX_ENOMEM.
 */
MMDX_EXPORT int mmdx_model_predict(const mmdx_model_t *m, const mmdx_cohort_t *cohort, size_t row,
                                   size_t target, mmdx_pred_t *pred, mmdx_error_t *err) MMDX_WARN_UNUSED;

/**
 * Fast path: posterior probabilities of every class of @p target for every row of
 * @p cohort, with the same model as mmdx_model_predict() (imputation variance and
 * posterior averaging included) but no explanations. @p prob receives n_patients x
 * n_classes values, row-major (prob[i * n_classes + k]); @p low and @p high (may be NULL)
 * the 95% interval bounds in the same layout. MMDX_ERANGE (nothing predicted) when a value of
 * a LOGIT feature is outside [0, 1], naming the first such patient and the feature.
 * Uses mmdx_ctx_threads() of the model's context (blocks of rows split between threads;
 * the output is byte-identical for any thread count). With more than one, keep the BLAS
 * at one thread (openblas_set_num_threads(1) or OPENBLAS_NUM_THREADS=1).
 */
MMDX_EXPORT int mmdx_model_predict_probs(const mmdx_model_t *m, const mmdx_cohort_t *cohort, size_t target,
                                         double *prob, double *low, double *high, mmdx_error_t *err) MMDX_WARN_UNUSED;

/**
 * Predictive distribution of feature @p feature (model index) for row @p row, given the
 * other observed features of its modality: mean and sd in the feature's own unit scale
 * after the model's transform. @p log_scale (may be NULL) is set to that transform:
 * 0 (none: the unit scale), MMDX_TRANSFORM_LOG (1: log scale; exp() maps back) or
 * MMDX_TRANSFORM_LOGIT (2: logit scale; 1 / (1 + exp(-x)) maps back). For the
 * next-best-test ranking of the decision layer.
 */
MMDX_EXPORT int mmdx_model_feature_predictive(const mmdx_model_t *m, const mmdx_cohort_t *cohort, size_t row,
                                              size_t feature, double *mean, double *sd, int *log_scale,
                                              mmdx_error_t *err) MMDX_WARN_UNUSED;

/* ------------------------------------------------------------------ inspection */

/** The model's feature space. Borrowed; valid until the model is freed. */
MMDX_EXPORT const mmdx_space_t *mmdx_model_space(const mmdx_model_t *m);
/** The options the model was made with. Borrowed. */
MMDX_EXPORT const mmdx_model_options_t *mmdx_model_options(const mmdx_model_t *m);
/** Modalities (blocks of features modelled together), in the model's order. */
MMDX_EXPORT size_t mmdx_model_n_modalities(const mmdx_model_t *m);
/** Borrowed. */
MMDX_EXPORT const char *mmdx_model_modality(const mmdx_model_t *m, size_t mod);
/** Modality index of model feature j. */
MMDX_EXPORT size_t mmdx_model_feature_modality(const mmdx_model_t *m, size_t j);
/** 1 when feature j is modelled on the log scale (declared or detected). */
MMDX_EXPORT int mmdx_model_feature_is_log(const mmdx_model_t *m, size_t j);
/**
 * The transform feature j is modelled on: MMDX_TRANSFORM_LOG (declared, or detected when
 * AUTO), MMDX_TRANSFORM_LOGIT (declared; proportions clamped to [0.001, 0.999]) or
 * MMDX_TRANSFORM_NONE (also for categorical features, j out of range, and before the model's
 * first step, when it is not decided yet). Never MMDX_TRANSFORM_AUTO.
 */
MMDX_EXPORT mmdx_transform_t mmdx_model_feature_transform(const mmdx_model_t *m, size_t j);
/** Labelled training patients of target t (0 before the first step). */
MMDX_EXPORT size_t mmdx_model_n_train(const mmdx_model_t *m, size_t t);

/**
 * Record a line of provenance (e.g. "input: imaging retina.h5") in the model; it is
 * saved with the model file. Copied. Must not hold patient-level data.
 * @return MMDX_OK, MMDX_EINVAL (NULL or a line break in @p line), MMDX_ENOMEM.
 */
MMDX_EXPORT int mmdx_model_add_provenance(mmdx_model_t *m, const char *line) MMDX_WARN_UNUSED;
/** Number of provenance lines. */
MMDX_EXPORT size_t mmdx_model_n_provenance(const mmdx_model_t *m);
/** Provenance line @p k. Borrowed; valid until the model is freed. "" when out of range. */
MMDX_EXPORT const char *mmdx_model_provenance(const mmdx_model_t *m, size_t k);

/* ------------------------------------------------------------------ files */

/**
 * Save to an HDF5 model file (docs/formats/model-file.md), atomically (temporary file
 * renamed into place). Works in any state: a model in training carries its current pass
 * and aggregates, which is how federated sites exchange them. No patient-level data is
 * written.
 */
MMDX_EXPORT int mmdx_model_save(const mmdx_model_t *m, const char *path, mmdx_error_t *err) MMDX_WARN_UNUSED;

/**
 * Load a model file. MMDX_ENOTFOUND when it does not exist (with the system's reason),
 * MMDX_EVERSION for another format version (an older file: "retrain"), MMDX_EFORMAT for a
 * file that is not a model file or is inconsistent (naming file and object), MMDX_EIO.
 * New model in *@p out; free with mmdx_model_free().
 */
MMDX_EXPORT int mmdx_model_load(mmdx_ctx_t *ctx, const char *path, mmdx_model_t **out, mmdx_error_t *err) MMDX_WARN_UNUSED;
/**
 * Like mmdx_model_load(), on a model file held in memory: the @p size bytes at @p buf are
 * an HDF5 file image (copied; @p buf may be freed once this returns) and nothing on disk
 * is read. @p name (or "(memory)" when NULL) stands for the file in errors. A buffer
 * that is not an HDF5 file is MMDX_EFORMAT.
 */
MMDX_EXPORT int mmdx_model_load_memory(mmdx_ctx_t *ctx, const void *buf, size_t size, const char *name,
                                       mmdx_model_t **out, mmdx_error_t *err) MMDX_WARN_UNUSED;

/**
 * Check that @p space holds every feature of the model with the same kind, and every
 * target with the same classes. MMDX_ESPACE naming the first difference.
 */
MMDX_EXPORT int mmdx_model_check_space(const mmdx_model_t *m, const mmdx_space_t *space, mmdx_error_t *err) MMDX_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
