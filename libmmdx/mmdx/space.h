/**
 * @file space.h
 * @brief The feature space: namespaced features with kinds, units and transforms, and targets.
 *
 * Feature ids are namespaced strings: `img:<source>:<name>`, `lab:<system>:<code>`
 * (LOINC shortened to `loinc`), `var:<chrom>:<pos>:<ref>:<alt>`, `var:prs:<name>`,
 * `pgx:<GENE>`, `demo:age`, `demo:sex`, `sig:<name>`. A feature's *modality* (the
 * block the fusion layer models together) is derived from its id by
 * mmdx_space_modality_of(): `img:<source>`, `lab`, `gen` (var and pgx), `demo`, `sig`.
 *
 * Targets are diagnoses, each with two or more classes (binary targets: "0", "1").
 */
#ifndef MMDX_SPACE_H
#define MMDX_SPACE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A feature space: features and targets (opaque). */
typedef struct mmdx_space mmdx_space_t;

/** Kind of a feature. */
typedef enum {
    MMDX_KIND_CONTINUOUS = 0, /**< real value in the canonical unit */
    MMDX_KIND_BINARY = 1,     /**< 0 or 1 */
    MMDX_KIND_DOSAGE = 2,     /**< genotype dosage 0/1/2 (0/1 on haploid calls) */
    MMDX_KIND_CATEGORICAL = 3 /**< one of the feature's levels, stored as the level index */
} mmdx_kind_t;

/** Transform applied before modelling. */
typedef enum {
    MMDX_TRANSFORM_NONE = 0,
    MMDX_TRANSFORM_LOG = 1,   /**< log(x) for positive right-skewed values */
    MMDX_TRANSFORM_LOGIT = 2, /**< logit(x) for proportions in (0,1) */
    MMDX_TRANSFORM_AUTO = 3   /**< decided from the training data (log when positive and right-skewed) */
} mmdx_transform_t;

/** Length limit of a feature id, target or class name (including the NUL). */
#define MMDX_ID_MAX 256

/** New empty space. New; free with mmdx_space_free(). NULL when out of memory. */
MMDX_EXPORT mmdx_space_t *mmdx_space_alloc(void);
/** Deep copy. New; free with mmdx_space_free(). NULL when out of memory. */
MMDX_EXPORT mmdx_space_t *mmdx_space_clone(const mmdx_space_t *space);
/** NULL is a no-op. */
MMDX_EXPORT void mmdx_space_free(mmdx_space_t *space);

/**
 * Add a feature, or find it when the id exists with the same kind.
 * @param space the space to add to
 * @param id namespaced feature id (`lab:loinc:2160-0`); copied
 * @param kind continuous, binary, dosage or categorical
 * @param unit canonical unit (UCUM) or NULL; copied.
 * @param transform declared transform (none, log, logit, or auto: detected at training)
 * @param index_out set to the feature's index (may be NULL).
 * @return MMDX_OK; MMDX_EINVAL for a malformed id (no namespace, too long, control characters);
 *         MMDX_EDUP when the id exists with another kind; MMDX_ENOMEM.
 */
MMDX_EXPORT int mmdx_space_add_feature(mmdx_space_t *space, const char *id, mmdx_kind_t kind,
                                       const char *unit, mmdx_transform_t transform,
                                       size_t *index_out) MMDX_WARN_UNUSED;
/** Add a level to a categorical feature (or find it); its index goes to @p level_out. */
MMDX_EXPORT int mmdx_space_add_level(mmdx_space_t *space, size_t feature, const char *level,
                                     size_t *level_out) MMDX_WARN_UNUSED;
/** Index of feature @p id, or -1 when absent. */
MMDX_EXPORT long mmdx_space_find_feature(const mmdx_space_t *space, const char *id);
/** Number of features. */
MMDX_EXPORT size_t mmdx_space_n_features(const mmdx_space_t *space);
/** Borrowed; valid until the space is freed. */
MMDX_EXPORT const char *mmdx_space_feature_id(const mmdx_space_t *space, size_t j);
/** Kind of feature @p j. */
MMDX_EXPORT mmdx_kind_t mmdx_space_feature_kind(const mmdx_space_t *space, size_t j);
/** Canonical unit or "" when none. Borrowed. */
MMDX_EXPORT const char *mmdx_space_feature_unit(const mmdx_space_t *space, size_t j);
/** Declared transform of feature @p j. */
MMDX_EXPORT mmdx_transform_t mmdx_space_feature_transform(const mmdx_space_t *space, size_t j);
/** Declare the transform of feature @p j. */
MMDX_EXPORT void mmdx_space_set_transform(mmdx_space_t *space, size_t j, mmdx_transform_t t);
/** Number of levels of categorical feature @p j (0 for other kinds). */
MMDX_EXPORT size_t mmdx_space_n_levels(const mmdx_space_t *space, size_t j);
/** Borrowed. */
MMDX_EXPORT const char *mmdx_space_level(const mmdx_space_t *space, size_t j, size_t level);
/** Index of a level, or -1. */
MMDX_EXPORT long mmdx_space_find_level(const mmdx_space_t *space, size_t j, const char *level);

/**
 * Modality of a feature id, written into @p buf (e.g. "img:ct", "lab", "gen", "demo").
 * @return MMDX_OK or MMDX_EINVAL when the id has no namespace or buf is too small.
 */
MMDX_EXPORT int mmdx_space_modality_of(const char *feature_id, char *buf, size_t size);

/**
 * Add a target (diagnosis) with @p n_classes class names (copied), or find it when it
 * exists with the same classes. MMDX_ESPACE when it exists with other classes.
 */
MMDX_EXPORT int mmdx_space_add_target(mmdx_space_t *space, const char *name, size_t n_classes,
                                      const char *const *classes, size_t *index_out) MMDX_WARN_UNUSED;
/** Index of target @p name, or -1. */
MMDX_EXPORT long mmdx_space_find_target(const mmdx_space_t *space, const char *name);
/** Number of targets. */
MMDX_EXPORT size_t mmdx_space_n_targets(const mmdx_space_t *space);
/** Borrowed. */
MMDX_EXPORT const char *mmdx_space_target_name(const mmdx_space_t *space, size_t t);
/** Number of classes of target @p t. */
MMDX_EXPORT size_t mmdx_space_n_classes(const mmdx_space_t *space, size_t t);
/** Borrowed. */
MMDX_EXPORT const char *mmdx_space_class_name(const mmdx_space_t *space, size_t t, size_t k);
/** Index of class @p cls of target @p t, or -1. */
MMDX_EXPORT long mmdx_space_find_class(const mmdx_space_t *space, size_t t, const char *cls);

/**
 * 1 when both spaces have the same features (ids, kinds, units, levels in order)
 * and the same targets and classes; 0 otherwise.
 */
MMDX_EXPORT int mmdx_space_equal(const mmdx_space_t *a, const mmdx_space_t *b);

#ifdef __cplusplus
}
#endif
#endif
