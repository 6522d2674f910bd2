/**
 * @file metrics.h
 * @brief Validation metrics of probabilistic binary predictions, calibration tables,
 *        bootstrap intervals and stratified cross-validation folds.
 *
 * Labels are 0/1 ints; entries with a label < 0 are skipped by every function.
 */
#ifndef MMDX_METRICS_H
#define MMDX_METRICS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Area under the ROC curve (ties count one half). NaN when one class is absent. */
MMDX_EXPORT double mmdx_metric_auroc(const double *score, const int *y, size_t n);
/** Area under the precision-recall curve (average precision, as scikit-learn). NaN without positives. */
MMDX_EXPORT double mmdx_metric_auprc(const double *score, const int *y, size_t n);
/** Mean negative log-likelihood; probabilities are clipped to [1e-15, 1 - 1e-15]. */
MMDX_EXPORT double mmdx_metric_logloss(const double *p, const int *y, size_t n);
/** Mean squared error of the probabilities. */
MMDX_EXPORT double mmdx_metric_brier(const double *p, const int *y, size_t n);
/**
 * Expected calibration error over @p bins equal-width probability bins: the
 * count-weighted mean of |mean predicted - observed frequency|.
 */
MMDX_EXPORT double mmdx_metric_ece(const double *p, const int *y, size_t n, size_t bins);
/**
 * Calibration table over @p bins equal-width bins: per bin the count, the mean predicted
 * probability and the observed frequency (NaN for an empty bin). Arrays of @p bins entries.
 */
MMDX_EXPORT void mmdx_metric_calibration(const double *p, const int *y, size_t n, size_t bins, size_t *count,
                                         double *mean_pred, double *observed);
/**
 * Percentile bootstrap interval of the AUROC: @p reps resamples drawn with @p seed;
 * the (1 - level) / 2 and (1 + level) / 2 quantiles in *low and *high.
 * @return MMDX_OK, MMDX_EINVAL (no reps, level outside (0, 1)), MMDX_ENOMEM.
 */
MMDX_EXPORT int mmdx_metric_auroc_ci(const double *score, const int *y, size_t n, unsigned reps, double level,
                                     uint64_t seed, double *low, double *high) MMDX_WARN_UNUSED;
/**
 * Stratified K-fold assignment with a seed: within each class (label value, unknown
 * labels as one more stratum) the rows are shuffled and dealt to folds in turn, so
 * every fold gets floor or ceil of the class's share. fold[i] in 0..k-1.
 * @return MMDX_OK, MMDX_EINVAL (k < 2), MMDX_ENOMEM.
 */
MMDX_EXPORT int mmdx_stratified_folds(const int *y, size_t n, unsigned k, uint64_t seed, unsigned *fold) MMDX_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
