/**
 * @file pred.h
 * @brief One prediction: a patient's posterior over the classes of one target, with its
 *        credible intervals, each modality's evidence, the top contributing features,
 *        what was missing, and the out-of-distribution flag.
 *
 * A prediction is a reusable workspace filled by mmdx_model_predict() (model.h). Strings
 * it returns (target, class, modality and feature names) are borrowed from the model and
 * stay valid until the model is freed; the patient id is copied into the prediction and
 * stays valid until the next fill or mmdx_pred_free().
 *
 * Multi-class targets are modelled one-vs-rest (one binary model per class, probabilities
 * normalised to sum to 1). A binary target ("0"/"1") has one model, for class 1; its
 * class-0 quantities are the mirror images (probability 1 - p, evidence negated).
 */
#ifndef MMDX_PRED_H
#define MMDX_PRED_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One patient's prediction for one target (opaque). */
typedef struct mmdx_pred mmdx_pred_t;

/** Prediction flags (mmdx_pred_flags()). */
#define MMDX_PRED_OOD 0x01u           /**< patient unlike the training cohort (Mahalanobis test) */
#define MMDX_PRED_NO_EVIDENCE 0x02u   /**< no usable feature: the posterior is the prior */
#define MMDX_PRED_MISSING_MODALITY 0x04u /**< at least one modality of the model had no value */
#define MMDX_PRED_IMPUTED 0x08u       /**< some features were missing and imputed (variance added) */

/** New empty prediction. New; free with mmdx_pred_free(). NULL when out of memory. */
MMDX_EXPORT mmdx_pred_t *mmdx_pred_alloc(void);
/** NULL is a no-op. */
MMDX_EXPORT void mmdx_pred_free(mmdx_pred_t *p);

/** Patient id of the row predicted. Borrowed; "" before the first fill. */
MMDX_EXPORT const char *mmdx_pred_patient(const mmdx_pred_t *p);
/** Index of the target in the model's space. */
MMDX_EXPORT size_t mmdx_pred_target(const mmdx_pred_t *p);
/** Target name. Borrowed from the model. */
MMDX_EXPORT const char *mmdx_pred_target_name(const mmdx_pred_t *p);
/** Number of classes of the target. */
MMDX_EXPORT size_t mmdx_pred_n_classes(const mmdx_pred_t *p);
/** Class name. Borrowed from the model. */
MMDX_EXPORT const char *mmdx_pred_class_name(const mmdx_pred_t *p, size_t k);
/** Class with the highest posterior probability. */
MMDX_EXPORT size_t mmdx_pred_best_class(const mmdx_pred_t *p);

/**
 * Posterior predictive probability P(class k | evidence), averaged over the posterior of
 * the model's parameters and over the imputed values of missing features (not a plug-in
 * estimate). Sums to 1 over k.
 */
MMDX_EXPORT double mmdx_pred_prob(const mmdx_pred_t *p, size_t k);
/**
 * 95% credible interval of the probability of class k: the 2.5% and 97.5% quantiles of
 * the class's logistic probability under the Gaussian (Laplace) posterior of its log-odds,
 * which includes parameter and imputation uncertainty. For three or more classes the
 * bounds are rescaled by the same normalisation as the probability and clipped to [0, 1].
 */
MMDX_EXPORT void mmdx_pred_interval(const mmdx_pred_t *p, size_t k, double *low, double *high);
/** Mean and standard deviation of the log-odds of class k (one-vs-rest) under the posterior. */
MMDX_EXPORT void mmdx_pred_logodds(const mmdx_pred_t *p, size_t k, double *mean, double *sd);
/** Prior log-odds of class k (training prevalence), the log-odds with no evidence at all. */
MMDX_EXPORT double mmdx_pred_prior_logodds(const mmdx_pred_t *p, size_t k);

/** Modalities of the model ("img:retina", "lab", "gen", "demo", ...), in the model's order. */
MMDX_EXPORT size_t mmdx_pred_n_modalities(const mmdx_pred_t *p);
/** Modality name. Borrowed from the model. */
MMDX_EXPORT const char *mmdx_pred_modality(const mmdx_pred_t *p, size_t m);
/** 1 when the patient had at least one value of modality m, 0 when the modality was missing. */
MMDX_EXPORT int mmdx_pred_modality_present(const mmdx_pred_t *p, size_t m);
/**
 * Evidence of modality m for class k: its contribution to the posterior log-odds of class
 * k (stacking weight times the modality's log-odds minus the prior log-odds). 0 for a
 * missing modality. Prior log-odds plus the stacking intercept's offset plus the sum of
 * the evidence over modalities is the posterior mean log-odds.
 */
MMDX_EXPORT double mmdx_pred_evidence(const mmdx_pred_t *p, size_t k, size_t m);

/** Number of top contributing features reported for class k (at most the model's option). */
MMDX_EXPORT size_t mmdx_pred_n_top(const mmdx_pred_t *p, size_t k);
/**
 * The r-th feature (0 = largest absolute contribution) among the patient's observed
 * features, with its contribution to the log-odds of class k in @p contribution (may be
 * NULL). Feature id borrowed from the model.
 */
MMDX_EXPORT const char *mmdx_pred_top_feature(const mmdx_pred_t *p, size_t k, size_t r, double *contribution);

/** Number of the model's features that were missing for this patient (imputed). */
MMDX_EXPORT size_t mmdx_pred_n_missing(const mmdx_pred_t *p);
/** Feature id of the r-th missing feature. Borrowed from the model. */
MMDX_EXPORT const char *mmdx_pred_missing_feature(const mmdx_pred_t *p, size_t r);

/**
 * Out-of-distribution score: squared Mahalanobis distance of the observed features from
 * the training cohort under the models' feature covariances (summed over modalities),
 * its degrees of freedom (observed features) in @p df (may be NULL), and the chi-square
 * upper-tail p-value in @p pvalue (may be NULL; 1 when nothing was observed).
 */
MMDX_EXPORT double mmdx_pred_ood(const mmdx_pred_t *p, size_t *df, double *pvalue);
/** MMDX_PRED_* bits. */
MMDX_EXPORT unsigned mmdx_pred_flags(const mmdx_pred_t *p);

#ifdef __cplusplus
}
#endif
#endif
