/**
 * @file advise.h
 * @brief The decision layer over a fitted fusion model: predictions become a case's
 *        posteriors, and the model's feature predictive distributions give the expected
 *        entropy the next best test ranks by.
 *
 * An advisor holds a KB, a model and the workspaces for one thread. It is not locked;
 * use one advisor per thread (the KB and the model may be shared).
 */
#ifndef MMDX_ADVISE_H
#define MMDX_ADVISE_H

#include "decision.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Posteriors of one patient from its predictions (one per target): one entry per class,
 * with mmdx_pred_prob() and mmdx_pred_interval(). Strings are borrowed from the model.
 * @return MMDX_OK; MMDX_ERANGE when @p cap is too small (*n_out says how many are needed);
 *         MMDX_EINVAL.
 */
MMDX_EXPORT int mmdx_posteriors_from_preds(const mmdx_pred_t *const *preds, size_t n_preds, mmdx_posterior_t *out,
                                           size_t cap, size_t *n_out) MMDX_WARN_UNUSED;

/** A model and a KB ready to advise patient after patient (opaque). */
typedef struct mmdx_advisor mmdx_advisor_t;

/**
 * New advisor for @p kb and the fitted @p model (both borrowed; they must outlive it).
 * Checks the KB against the model's space (mmdx_kb_check_space()).
 * @return MMDX_OK; MMDX_ESPACE; MMDX_ESTATE (model not fitted); MMDX_ENOMEM.
 */
MMDX_EXPORT int mmdx_advisor_alloc(const mmdx_kb_t *kb, const mmdx_model_t *model, mmdx_advisor_t **out,
                                   mmdx_error_t *err) MMDX_WARN_UNUSED;
/** NULL is a no-op. */
MMDX_EXPORT void mmdx_advisor_free(mmdx_advisor_t *adv);

/**
 * Candidates for the next best test that the model knows: its modalities except `demo`,
 * then its numeric `lab:` features. Borrowed; valid until the advisor is freed.
 */
MMDX_EXPORT const char *const *mmdx_advisor_candidates(const mmdx_advisor_t *adv, size_t *n);

/**
 * Advice for row @p row of @p cohort: predict every target, decide with the KB (facts
 * from the cohort row), and when @p next_best is non-zero rank the missing candidates
 * by expected information gain with mmdx_advisor_expected_entropy().
 * @param adv the advisor (model and KB)
 * @param cohort the patients' evidence, in the model's feature space or matched by id
 * @param row the patient's row in @p cohort
 * @param next_best non-zero to rank the next best tests too
 * @param out new advice; free with mmdx_advice_free().
 * @param err optional error details
 */
MMDX_EXPORT int mmdx_advisor_run(mmdx_advisor_t *adv, const mmdx_cohort_t *cohort, size_t row, int next_best,
                                 mmdx_advice_t **out, mmdx_error_t *err) MMDX_WARN_UNUSED;

/**
 * Point the advisor at row @p row of @p cohort (borrowed until the next call) without
 * running the KB, for callers that decide themselves and only want
 * mmdx_advisor_expected_entropy() for mmdx_next_best_test(). MMDX_EINVAL when out of range.
 */
MMDX_EXPORT int mmdx_advisor_set_row(mmdx_advisor_t *adv, const mmdx_cohort_t *cohort, size_t row) MMDX_WARN_UNUSED;

/**
 * The model's targets that the KB has no triage entry for (mmdx_kb_target()): their
 * posteriors enter neither triage nor suggestions. Borrowed from the model; valid until
 * the advisor is freed. @p n receives the count.
 */
MMDX_EXPORT const char *const *mmdx_advisor_uncovered(const mmdx_advisor_t *adv, size_t *n);

/** Posterior at or above which an uncovered target's class (other than its first, the
 *  reference class) marks the triage as not covered by the KB. */
#define MMDX_UNCOVERED_PROBABLE 0.5

/** The triage department that mmdx_advisor_mark_uncovered() sets ("not covered by the KB"). */
MMDX_EXPORT extern const char mmdx_triage_uncovered[];

/**
 * When the KB's default decided the triage (no target it knows crossed its threshold) and
 * a target the KB does not cover has a class other than its first with posterior of at
 * least MMDX_UNCOVERED_PROBABLE: set the triage department to mmdx_triage_uncovered, its
 * target to that target and p to that posterior (the most probable such class), so the
 * advice does not read as a routine case. The urgency stays the KB's default: the KB says
 * nothing about the target. mmdx_advisor_run() calls it; callers of mmdx_decide() call it
 * themselves. @p patient's posteriors must be the model's (as mmdx_posteriors_from_preds()).
 * @return 1 when the triage was marked, 0 when not, MMDX_EINVAL on NULL arguments.
 */
MMDX_EXPORT int mmdx_advisor_mark_uncovered(const mmdx_advisor_t *adv, const mmdx_case_t *patient,
                                            mmdx_advice_t *advice);

/**
 * mmdx_entropy_fn backed by the model (@p user is the advisor, after mmdx_advisor_run() or
 * mmdx_advisor_set_row() set its row): the expected posterior entropy over the model's targets after observing
 * @p candidate. One feature: Gauss-Hermite quadrature (10 nodes) over its predictive
 * distribution given the patient's other features of its modality. A modality: 16 joint
 * draws, each feature drawn from its predictive given the ones drawn before (chain rule),
 * from fixed Latin-hypercube quantiles, so the result is reproducible. The value is the
 * row's current posterior entropy minus the mutual information between the drawn values
 * and the targets, so it never exceeds the current entropy (@p patient is not used).
 */
MMDX_EXPORT int mmdx_advisor_expected_entropy(void *user, const mmdx_case_t *patient, const char *candidate,
                                              double *entropy_after);

#ifdef __cplusplus
}
#endif
#endif
