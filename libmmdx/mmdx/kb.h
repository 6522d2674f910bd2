/**
 * @file kb.h
 * @brief The treatment knowledge base: treatments, indications, rules over features,
 *        the guideline behind every rule, and the department that manages each target.
 *
 * A KB is an XML file (format: docs/kb.md) validated on load against the RELAX NG
 * schema `kb/kb.rng` in the context's data directory, then checked for meaning:
 * every rule names a declared feature, target and source; tests fit the feature's
 * kind and levels; no treatment is both affirmed and avoided under one condition.
 * The parser runs with no network, no DTD and no entity expansion.
 */
#ifndef MMDX_KB_H
#define MMDX_KB_H

#include "ctx.h"
#include "space.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A loaded treatment knowledge base (opaque). */
typedef struct mmdx_kb mmdx_kb_t;

/** What a rule does to its treatment when its condition holds. */
typedef enum {
    MMDX_KB_AVOID = 0,   /**< exclude the treatment (an alternative may be named) */
    MMDX_KB_ADJUST = 1,  /**< keep it, with a dose adjustment */
    MMDX_KB_CAUTION = 2, /**< keep it, with monitoring or a warning */
    MMDX_KB_USE = 3      /**< affirm use at the standard dose */
} mmdx_kb_action_t;

/** Urgency of a referral, least to most urgent. */
typedef enum {
    MMDX_URGENCY_ROUTINE = 0,
    MMDX_URGENCY_SOON = 1,
    MMDX_URGENCY_URGENT = 2,
    MMDX_URGENCY_EMERGENCY = 3
} mmdx_urgency_t;

/** Name of an action ("avoid", "adjust", "caution", "use"). Static storage. */
MMDX_EXPORT const char *mmdx_kb_action_name(mmdx_kb_action_t action);
/** Name of an urgency ("routine", "soon", "urgent", "emergency"). Static storage. */
MMDX_EXPORT const char *mmdx_urgency_name(mmdx_urgency_t urgency);

/**
 * Load and validate a KB file. The schema is read from `<data dir>/kb/kb.rng`
 * (mmdx_ctx_data_dir(); @p ctx may be NULL, then $MMDX_DATA_DIR or the installed
 * data directory). New KB in @p out; free with mmdx_kb_free().
 * @return MMDX_OK; MMDX_ENOTFOUND (the file or schema does not exist), MMDX_EIO (other
 *         unreadable file or schema); MMDX_EFORMAT (not well-formed,
 *         fails the schema, or a rule that refers to an undeclared feature, target,
 *         level or source, or a test that does not fit the feature's kind);
 *         MMDX_EDUP (an id declared twice); MMDX_ESECURITY (a DOCTYPE, or a file over
 *         16 MiB); MMDX_EINVAL (contradictory rules); MMDX_ENOMEM. @p err names the
 *         file, the element or rule id and the line.
 */
MMDX_EXPORT int mmdx_kb_load(mmdx_ctx_t *ctx, const char *path, mmdx_kb_t **out,
                             mmdx_error_t *err) MMDX_WARN_UNUSED;
/** As mmdx_kb_load() from a buffer; @p name stands for the file name in errors. */
MMDX_EXPORT int mmdx_kb_load_memory(mmdx_ctx_t *ctx, const char *buf, size_t len, const char *name,
                                    mmdx_kb_t **out, mmdx_error_t *err) MMDX_WARN_UNUSED;
/** NULL is a no-op. */
MMDX_EXPORT void mmdx_kb_free(mmdx_kb_t *kb);

/** The KB's name and version attributes, and the scale benefit and harm are stated on. Borrowed. */
MMDX_EXPORT const char *mmdx_kb_name(const mmdx_kb_t *kb);
/** The KB's version attribute. Borrowed. */
MMDX_EXPORT const char *mmdx_kb_version(const mmdx_kb_t *kb);
/** The scale benefit and harm are stated on. Borrowed. */
MMDX_EXPORT const char *mmdx_kb_scale(const mmdx_kb_t *kb);

/** Number of treatments. */
MMDX_EXPORT size_t mmdx_kb_n_treatments(const mmdx_kb_t *kb);
/** Id of treatment @p i ("clopidogrel"). Borrowed; valid until the KB is freed. */
MMDX_EXPORT const char *mmdx_kb_treatment_id(const mmdx_kb_t *kb, size_t i);
/** Index of treatment @p id, or -1. */
MMDX_EXPORT long mmdx_kb_find_treatment(const mmdx_kb_t *kb, const char *id);

/** One rule, as listed by `mmdx kb check`. All strings borrowed from the KB. */
typedef struct mmdx_kb_rule_info {
    const char *id;          /**< rule id */
    const char *treatment;   /**< treatment id */
    mmdx_kb_action_t action; /**< avoid, adjust, caution, ... */
    const char *condition;   /**< the condition written out ("lab:loinc:98979-8 < 30") */
    const char *advice;      /**< what the rule says to do, in the KB's words */
    const char *alternative; /**< for avoid rules, the alternative, or "" */
    const char *citation;    /**< "CPIC 2022, <section>": organisation, year, section */
    const char *guideline;   /**< the guideline's title */
    long line;               /**< line of the rule in the KB file */
} mmdx_kb_rule_info_t;

/** Number of rules. */
MMDX_EXPORT size_t mmdx_kb_n_rules(const mmdx_kb_t *kb);
/** Fill @p info for rule @p i. MMDX_EINVAL when out of range. */
MMDX_EXPORT int mmdx_kb_rule(const mmdx_kb_t *kb, size_t i, mmdx_kb_rule_info_t *info);

/** A target as the KB sees it, for triage. Strings borrowed from the KB. */
typedef struct mmdx_kb_target_info {
    const char *name;       /**< target name, as in the labels ("cad") */
    const char *cls;        /**< the class that means "has the condition" ("1") */
    const char *label;      /**< human name */
    const char *department; /**< who manages it */
    mmdx_urgency_t urgency; /**< how soon */
    double threshold;       /**< posterior above which the patient is routed there */
} mmdx_kb_target_info_t;

/** Number of targets the KB routes. */
MMDX_EXPORT size_t mmdx_kb_n_targets(const mmdx_kb_t *kb);
/** Fill @p info for target @p i. MMDX_EINVAL when out of range. */
MMDX_EXPORT int mmdx_kb_target(const mmdx_kb_t *kb, size_t i, mmdx_kb_target_info_t *info);

/**
 * Check a KB against a model's feature space: every KB feature the space also has
 * must have the same kind, and every KB target the space has must have the classes
 * the KB names. KB features or targets the space lacks are allowed (their rules see
 * missing evidence, reported as "unknown"); their number goes to @p n_absent (may be NULL).
 * @return MMDX_OK or MMDX_ESPACE naming the feature or target.
 */
MMDX_EXPORT int mmdx_kb_check_space(const mmdx_kb_t *kb, const mmdx_space_t *space,
                                    size_t *n_absent, mmdx_error_t *err) MMDX_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
