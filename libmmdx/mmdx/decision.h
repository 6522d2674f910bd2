/**
 * @file decision.h
 * @brief The decision layer: treatment suggestions, exclusions and dose adjustments with
 *        their reasons and sources, triage, and the next best test, for one patient.
 *
 * The input is neutral about where the numbers come from: a case holds the patient's
 * posteriors (per target and class: mean probability and 95% credible interval) and a
 * callback that looks up one feature of the patient (a cohort row, or a hand-built
 * mmdx_facts_t). The next best test needs a callback that predicts the expected
 * posterior entropy after a missing piece of evidence is observed; the fusion model
 * supplies it.
 */
#ifndef MMDX_DECISION_H
#define MMDX_DECISION_H

#include <stdio.h>

#include "cohort.h"
#include "kb.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Posterior of one target class. Strings borrowed by the decision functions for the call. */
typedef struct mmdx_posterior {
    const char *target; /**< target name ("cad") */
    const char *cls;    /**< class name ("1") */
    double p;           /**< posterior mean probability */
    double ci_low;      /**< 95% credible interval, lower end */
    double ci_high;     /**< upper end */
} mmdx_posterior_t;

/** One feature of the patient, as a fact lookup returns it. */
typedef struct mmdx_fact {
    double value;       /**< value in the feature's canonical unit (categorical: level index) */
    const char *level;  /**< categorical level name ("Poor Metabolizer"), else NULL */
    const char *detail; /**< optional detail for messages, such as the diplotype, else NULL */
    int censor;         /**< 0 exact; MMDX_VAL_CENSOR_LEFT: the true value is below @p value;
                             MMDX_VAL_CENSOR_RIGHT: above it (a test it cannot settle is unknown) */
} mmdx_fact_t;

/**
 * Look up feature @p feature_id of the patient. Strings put in @p fact must stay valid
 * until the decision function returns.
 * @return 1 when present (fact filled), 0 when missing or unknown to the source.
 */
typedef int (*mmdx_fact_fn)(void *user, const char *feature_id, mmdx_fact_t *fact);

/**
 * Whether any evidence of modality @p modality ("img:ct", "lab", "gen") is present.
 * @return 1 present, 0 missing.
 */
typedef int (*mmdx_modality_fn)(void *user, const char *modality);

/** One patient as the decision layer sees it. All members borrowed. */
typedef struct mmdx_case {
    const mmdx_posterior_t *posteriors; /**< one entry per target class (binary: the class of interest suffices) */
    size_t n_posteriors;                /**< number of entries in posteriors */
    mmdx_fact_fn fact;                  /**< feature lookup (NULL: every feature missing) */
    void *fact_user;                    /**< passed to fact */
    mmdx_modality_fn modality;          /**< optional; NULL: every modality candidate counts as missing */
    void *modality_user;                /**< passed to modality */
} mmdx_case_t;

/* ------------------------------------------------------------------ fact sources */

/** A cohort row as a fact source: pass &row as the user pointer of mmdx_cohort_row_fact(). */
typedef struct mmdx_cohort_row {
    const mmdx_cohort_t *cohort; /**< borrowed */
    size_t row;                  /**< row index in cohort */
} mmdx_cohort_row_t;

/**
 * mmdx_fact_fn over a cohort row (@p user is a mmdx_cohort_row_t *). Categorical values
 * come with their level name; for `pgx:<GENE>` a categorical feature
 * `pgx:<GENE>:diplotype`, when the space has one, gives the detail.
 */
MMDX_EXPORT int mmdx_cohort_row_fact(void *user, const char *feature_id, mmdx_fact_t *fact);
/** mmdx_modality_fn over a cohort row: 1 when any feature of that modality is present. */
MMDX_EXPORT int mmdx_cohort_row_modality(void *user, const char *modality);

/** A small hand-built table of facts (tests, callers without a cohort). */
typedef struct mmdx_facts mmdx_facts_t;
/** New empty table. New; free with mmdx_facts_free(). NULL when out of memory. */
MMDX_EXPORT mmdx_facts_t *mmdx_facts_alloc(void);
/** NULL is a no-op. */
MMDX_EXPORT void mmdx_facts_free(mmdx_facts_t *facts);
/** Set a numeric feature (copied id). MMDX_OK, MMDX_EINVAL, MMDX_ENOMEM. */
MMDX_EXPORT int mmdx_facts_set_value(mmdx_facts_t *facts, const char *feature_id, double value) MMDX_WARN_UNUSED;
/** Set a censored numeric feature: @p censor is MMDX_VAL_CENSOR_LEFT ("< value") or _RIGHT ("> value"). */
MMDX_EXPORT int mmdx_facts_set_censored(mmdx_facts_t *facts, const char *feature_id, double value,
                                        unsigned censor) MMDX_WARN_UNUSED;
/** Set a categorical feature's level and optional detail (all copied). */
MMDX_EXPORT int mmdx_facts_set_level(mmdx_facts_t *facts, const char *feature_id, const char *level,
                                     const char *detail) MMDX_WARN_UNUSED;
/** Declare a modality present (for the next best test). */
MMDX_EXPORT int mmdx_facts_set_modality(mmdx_facts_t *facts, const char *modality) MMDX_WARN_UNUSED;
/** mmdx_fact_fn over a table (@p user is a mmdx_facts_t *). */
MMDX_EXPORT int mmdx_facts_fact(void *user, const char *feature_id, mmdx_fact_t *fact);
/** mmdx_modality_fn over a table: 1 for modalities declared present, or of which a fact is set. */
MMDX_EXPORT int mmdx_facts_modality(void *user, const char *modality);

/* ------------------------------------------------------------------ suggestions */

/** Where a treatment stands for this patient. */
typedef enum {
    MMDX_ADVICE_SUGGESTED = 0,    /**< indicated: the credible interval lies above the threshold */
    MMDX_ADVICE_INSUFFICIENT = 1, /**< the credible interval straddles the threshold: no confident call */
    MMDX_ADVICE_EXCLUDED = 2      /**< indicated or possibly indicated, but an avoid rule fired */
} mmdx_advice_status_t;

/** Name of a status ("suggested", "insufficient evidence", "excluded"). Static storage. */
MMDX_EXPORT const char *mmdx_advice_status_name(mmdx_advice_status_t status);

/** A rule that fired, or could not be evaluated for missing evidence. */
typedef struct mmdx_fired {
    const char *rule;        /**< rule id (borrowed from the KB) */
    mmdx_kb_action_t action; /**< avoid, adjust, caution, ... */
    int unknown;             /**< 1: evidence was missing, the rule may apply ("unknown: check X") */
    char *reason;            /**< e.g. "avoid clopidogrel: CYP2C19 <diplotype>, poor metabolizer (CPIC 2022)"; owned by the advice */
    const char *advice;      /**< the rule's advice text (borrowed from the KB) */
    const char *alternative; /**< alternative for avoid rules, or "" (borrowed) */
    const char *citation;    /**< "CPIC 2022, <section>" (borrowed) */
} mmdx_fired_t;

/** One treatment considered for the patient. */
typedef struct mmdx_suggestion {
    const char *treatment;  /**< treatment id (borrowed from the KB) */
    const char *name;       /**< display name (borrowed) */
    mmdx_advice_status_t status; /**< suggested, insufficient evidence or excluded */
    const char *target;     /**< the indication that decided the status (borrowed) */
    const char *cls;        /**< its class (borrowed) */
    double p;               /**< its posterior probability */
    double ci_low;          /**< lower bound of its 95% credible interval */
    double ci_high;         /**< upper bound of its 95% credible interval */
    double threshold;       /**< the indication's minimum posterior */
    double p_above;         /**< P(posterior > threshold) under a Beta fitted to mean and interval */
    double benefit;         /**< expected net benefit E[sum p_i B_i] - H on the KB's scale */
    const char *indication_citation; /**< source of the indication (borrowed) */
    mmdx_fired_t *fired;    /**< rules that fired or were unknown, in KB order; owned by the advice */
    size_t n_fired;         /**< number of entries in fired */
} mmdx_suggestion_t;

/** Triage: where to send the patient. */
typedef struct mmdx_triage {
    const char *department; /**< borrowed from the KB; the KB's default when no target crosses */
    mmdx_urgency_t urgency; /**< how soon */
    const char *target;     /**< the target that decided it, or NULL for the default */
    double p;               /**< its posterior */
} mmdx_triage_t;

/** One candidate test for the next best test ranking. */
typedef struct mmdx_test_gain {
    char *candidate;        /**< modality ("img:ct") or feature ("lab:loinc:2160-0"); owned by the advice */
    double entropy_after;   /**< expected posterior entropy (nats, summed over targets) after observing it */
    double gain;            /**< current entropy minus entropy_after */
} mmdx_test_gain_t;

/** Everything the decision layer says about one patient. New; free with mmdx_advice_free(). */
typedef struct mmdx_advice {
    mmdx_suggestion_t *items; /**< suggested (by benefit, best first), then insufficient, then excluded */
    size_t n_items;           /**< number of entries in items */
    mmdx_triage_t triage;     /**< where to send the patient */
    double entropy;           /**< current posterior entropy over the targets (nats) */
    mmdx_test_gain_t *tests;  /**< next best tests, largest gain first; filled by mmdx_next_best_test() */
    size_t n_tests;           /**< number of entries in tests */
} mmdx_advice_t;

/** NULL is a no-op. */
MMDX_EXPORT void mmdx_advice_free(mmdx_advice_t *advice);

/**
 * Suggestions and triage for one patient. Treatments whose every indication has a
 * credible interval wholly below its threshold are left out. Rules are evaluated with
 * three-valued logic: a rule whose evidence is missing is listed as unknown
 * ("unknown: check X before prescribing"), never taken as false. An avoid rule that
 * fires excludes the treatment; adjust and caution rules travel with it.
 * @param kb the knowledge base
 * @param patient the patient's posteriors and facts (borrowed for the call)
 * @param out new advice; free with mmdx_advice_free().
 * @param err optional error details
 * @return MMDX_OK; MMDX_EINVAL (NULL arguments, a probability outside [0,1] or an
 *         interval that does not hold its mean, named in @p err); MMDX_ENOMEM.
 */
MMDX_EXPORT int mmdx_decide(const mmdx_kb_t *kb, const mmdx_case_t *patient, mmdx_advice_t **out,
                            mmdx_error_t *err) MMDX_WARN_UNUSED;

/**
 * Expected posterior entropy over the targets (nats) after observing @p candidate,
 * integrated over the model's predictive distribution for it.
 * @return MMDX_OK or a negative status (the ranking stops with it).
 */
typedef int (*mmdx_entropy_fn)(void *user, const mmdx_case_t *patient, const char *candidate,
                               double *entropy_after);

/**
 * Rank the missing candidates by expected information gain and store them in
 * advice->tests (replacing earlier ones). A candidate with two or more ':' is a feature
 * id and counts as missing when the case's fact lookup says so; otherwise it is a
 * modality, missing unless the case's modality callback says present. Candidates whose
 * expected gain is not positive are left out: they are expected to tell nothing.
 * @return MMDX_OK; MMDX_EINVAL; MMDX_ENOMEM; or the callback's status.
 */
MMDX_EXPORT int mmdx_next_best_test(const mmdx_case_t *patient, const char *const *candidates,
                                    size_t n_candidates, mmdx_entropy_fn fn, void *user,
                                    mmdx_advice_t *advice, mmdx_error_t *err) MMDX_WARN_UNUSED;

/* ------------------------------------------------------------------ output */

/** Header line of mmdx_advice_write_tsv() (without the newline). Static storage. */
MMDX_EXPORT const char *mmdx_advice_tsv_header(void);

/**
 * Write the advice as TSV rows (no header) to @p out, one row per line:
 * `patient_id kind rank item status detail probability ci_low ci_high value citation`
 * where kind is `triage` (item department, status urgency, detail target), `treatment`
 * (item treatment id, status suggested / insufficient evidence / excluded, detail name,
 * value expected benefit, citation of the deciding indication), `rule` (item treatment
 * id, status the action or `unknown`, detail the reason, value empty) or `test` (item the
 * candidate, value the expected information gain in nats). Tabs and newlines inside
 * fields are written as spaces. Empty fields for values that do not apply.
 * @return MMDX_OK or MMDX_EIO when writing fails.
 */
MMDX_EXPORT int mmdx_advice_write_tsv(const mmdx_advice_t *advice, const char *patient_id, FILE *out) MMDX_WARN_UNUSED;

/**
 * Header of the per-patient summary columns that a row-per-target table (the diagnose
 * TSV) can append: `triage urgency suggested insufficient_evidence excluded notes
 * next_best_tests` (tab-separated, no leading tab, no newline). Static storage.
 */
MMDX_EXPORT const char *mmdx_advice_columns_header(void);

/**
 * Write the summary columns of mmdx_advice_columns_header() (tab-separated, no leading
 * tab, no newline): the triage department and urgency; the suggested and the
 * insufficient-evidence treatment ids in rank order, `;`-separated; the excluded ones as
 * `id (reason)`, the adjust, caution and unknown notes as their reasons, and the first
 * @p max_tests next best tests as `candidate (gain)`, each list ` | `-separated; `-` for
 * an empty list. Tabs and newlines inside fields are written as spaces.
 * @return MMDX_OK or MMDX_EIO.
 */
MMDX_EXPORT int mmdx_advice_write_columns(const mmdx_advice_t *advice, size_t max_tests, FILE *out) MMDX_WARN_UNUSED;

/**
 * The advice as one line of JSON: {"patient_id", "triage": {...}, "treatments": [{...,
 * "rules": [...]}], "next_best_tests": [...]} (docs/decision.md). New string in @p json;
 * free with mmdx_free(). @return MMDX_OK or MMDX_ENOMEM.
 */
MMDX_EXPORT int mmdx_advice_to_json(const mmdx_advice_t *advice, const char *patient_id, char **json) MMDX_WARN_UNUSED;

/** Posterior entropy of a case (nats, summed over its targets). */
MMDX_EXPORT double mmdx_case_entropy(const mmdx_case_t *patient);

#ifdef __cplusplus
}
#endif
#endif
