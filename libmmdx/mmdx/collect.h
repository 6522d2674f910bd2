/**
 * @file collect.h
 * @brief The collector: maps adapters' observations into the feature space and a cohort.
 *
 * A collector is the mmdx_sink_t the host gives adapters. It maps patient ids to rows
 * and feature ids to columns (adding features to the space as they first appear),
 * applies the aggregation policy when a patient has several results for one feature,
 * keeps the count, and keeps every rejected record with its reason, so every patient
 * seen ends up either in the cohort or in the rejects.
 */
#ifndef MMDX_COLLECT_H
#define MMDX_COLLECT_H

#include "cohort.h"
#include "modality.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The collector (opaque). */
typedef struct mmdx_collect mmdx_collect_t;

/** Several results for one patient and feature. */
typedef enum {
    MMDX_AGG_LATEST = 0, /**< the one with the latest time (ties and unknown times: the last read) */
    MMDX_AGG_MEAN = 1,
    MMDX_AGG_MIN = 2,
    MMDX_AGG_MAX = 3
} mmdx_agg_t;

/** Parse "latest", "mean", "min", "max". MMDX_EINVAL otherwise. */
MMDX_EXPORT int mmdx_agg_parse(const char *s, mmdx_agg_t *out);

/**
 * New collector adding features to @p space (borrowed, must outlive the collector).
 * New; free with mmdx_collect_free(). NULL when out of memory.
 */
MMDX_EXPORT mmdx_collect_t *mmdx_collect_alloc(mmdx_ctx_t *ctx, mmdx_space_t *space, mmdx_agg_t policy);
/** NULL is a no-op. */
MMDX_EXPORT void mmdx_collect_free(mmdx_collect_t *col);

/**
 * Only keep features already in the space (others are counted, not added): for
 * diagnosing with a trained model's space.
 */
MMDX_EXPORT void mmdx_collect_set_frozen(mmdx_collect_t *col, int frozen);

/** The sink to hand to mmdx_source_read(). Borrowed; valid while @p col lives. */
MMDX_EXPORT const mmdx_sink_t *mmdx_collect_sink(mmdx_collect_t *col);

/** Open @p path with the modality serving @p input ("imaging", ...) or detected, and read it all. */
MMDX_EXPORT int mmdx_collect_file(mmdx_collect_t *col, const char *modality, const char *path,
                                  const char *const *options, mmdx_error_t *err) MMDX_WARN_UNUSED;

/** Patients seen so far. */
MMDX_EXPORT size_t mmdx_collect_n_patients(const mmdx_collect_t *col);
/** Observations added so far. */
MMDX_EXPORT size_t mmdx_collect_n_observations(const mmdx_collect_t *col);
/** Observations not added because the collector is frozen and the feature is unknown. */
MMDX_EXPORT size_t mmdx_collect_n_ignored(const mmdx_collect_t *col);

/**
 * Build the cohort of every patient seen, in first-seen order, over the space as it is
 * now. New cohort in @p out (space borrowed from the collector's). Patients whose every
 * record was rejected are still rows (all missing) and also listed in the rejects.
 */
MMDX_EXPORT int mmdx_collect_to_cohort(mmdx_collect_t *col, mmdx_cohort_t **out, mmdx_error_t *err) MMDX_WARN_UNUSED;
/** Number of results aggregated into value (row i, feature j). */
MMDX_EXPORT unsigned mmdx_collect_count(const mmdx_collect_t *col, size_t i, size_t j);

/** Most input records kept per patient for mmdx_collect_basis(). */
#define MMDX_COLLECT_BASIS_MAX 32

/**
 * The input records behind @p patient's features (for FHIR `basis` references): the
 * number kept, at most MMDX_COLLECT_BASIS_MAX (the first distinct ones, in reading order),
 * and in @p n_total (may be NULL) how many distinct records went into the patient's features
 * in all (once the list is full, a record giving several features counts once per feature).
 * Derived values (provenance "derived:...") are not input records and are not counted.
 * Memory is bounded: at most MMDX_COLLECT_BASIS_MAX records of 16 bytes per patient, the
 * provenances' file parts being stored once per collector.
 * 0 (and *n_total 0) for an unknown patient.
 */
MMDX_EXPORT size_t mmdx_collect_n_basis(const mmdx_collect_t *col, const char *patient, size_t *n_total);
/**
 * Record @p k (0 <= k < mmdx_collect_n_basis()) of @p patient: the provenance the adapter
 * gave (mmdx_obs_t.provenance, "file:line"; a dense block's file name), written into the
 * caller's @p buf of @p size bytes (NUL-terminated; the caller owns it).
 * @return MMDX_OK; MMDX_EINVAL (unknown patient, k out of range, NULL or empty buf);
 *         MMDX_ERANGE when @p buf is too small (the text is cut).
 */
MMDX_EXPORT int mmdx_collect_basis(const mmdx_collect_t *col, const char *patient, size_t k, char *buf,
                                   size_t size);

/** Rejected records, in order. Strings borrowed; patient may be "" when not known. */
MMDX_EXPORT size_t mmdx_collect_n_rejects(const mmdx_collect_t *col);
/** Rejected record @p k: patient, file, record number, MMDX_E* code and reason. MMDX_EINVAL when out of range. */
MMDX_EXPORT int mmdx_collect_reject(const mmdx_collect_t *col, size_t k, const char **patient,
                                    const char **file, long *record, int *code, const char **reason);

#ifdef __cplusplus
}
#endif
#endif
