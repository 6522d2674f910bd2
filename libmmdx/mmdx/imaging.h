/**
 * @file imaging.h
 * @brief Writing imaging-feature HDF5 files (the layout the `hdf5` modality reads).
 *
 * The layout (docs/formats/imaging.md): `/patient_ids` strings [N], `/feature_names`
 * strings [D], `/features` float64 or float32 [N][D] with NaN for missing, optional
 * `/feature_units` strings [D], root attribute `modality`, and a `layout` attribute on
 * `/features` (`patients_by_features`, or `features_by_patients` when transposed to [D][N]).
 *
 * Strings are written fixed-length (UTF-8, null-padded to the longest), which HDF5 reads
 * about twice as fast as variable-length strings; the reader accepts both. Files are
 * written to a temporary file beside @p path and renamed into place only when complete,
 * so a failure never leaves a half-written file at @p path.
 */
#ifndef MMDX_IMAGING_H
#define MMDX_IMAGING_H

#include "ctx.h"
#include "cohort.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How to store /features. Start from mmdx_imaging_write_opts_init(). */
typedef struct mmdx_imaging_write_opts {
    int float32;       /**< 1: store float32 (a finite value beyond its range is MMDX_ERANGE); 0: float64 */
    int gzip;          /**< 0: no compression; 1..9: deflate level, with the shuffle filter */
    int contiguous;    /**< 1: no chunking (then gzip must be 0) */
    size_t chunk_rows; /**< patients per chunk; 0: about 1 MiB per chunk */
    int transposed;    /**< 1: store /features as [D][N] (layout features_by_patients) */
} mmdx_imaging_write_opts_t;

/** Defaults: float64, chunked (about 1 MiB per chunk), uncompressed, [N][D]. */
MMDX_EXPORT void mmdx_imaging_write_opts_init(mmdx_imaging_write_opts_t *opts);

/**
 * Write an imaging-feature file.
 * @param ctx      context (errors also go to its first-error slot); may be NULL
 * @param path     output file; replaced atomically
 * @param modality source name stored in the root attribute `modality` (e.g. "ct");
 *                 non-empty, without ':' or spaces
 * @param n, d     patients and features (either may be 0)
 * @param ids      [n] patient ids: non-empty, unique, no control characters; borrowed
 * @param names    [d] feature names (without the `img:MODALITY:` prefix), unique; borrowed
 * @param units    [d] units or NULL (no /feature_units); a NULL entry is written as ""
 * @param values   [n*d] row-major: values[i*d + j] of patient i, feature j; NaN = missing
 * @param opts     storage options or NULL for the defaults
 * @param err      optional error details
 * @return MMDX_OK; MMDX_EINVAL (bad argument, bad name), MMDX_EDUP (duplicate patient id or
 *         feature name, naming it), MMDX_ERANGE (an infinite value, naming patient and
 *         feature), MMDX_EIO (cannot create or write, with HDF5's reason), MMDX_ENOMEM.
 *         On error nothing is left at @p path.
 */
MMDX_EXPORT int mmdx_imaging_write(mmdx_ctx_t *ctx, const char *path, const char *modality, size_t n, size_t d,
                                   const char *const *ids, const char *const *names, const char *const *units,
                                   const double *values, const mmdx_imaging_write_opts_t *opts,
                                   mmdx_error_t *err) MMDX_WARN_UNUSED;

/**
 * Write the imaging block of a cohort: every feature `img:<source>:<name>` becomes
 * column `<name>`, its unit the space's unit. Patients with no present value in that
 * block are left out (a patient may lack an imaging study). Censoring flags are not
 * kept (the stored bound is written).
 * @param ctx    context (error state, data directory)
 * @param cohort the patients to export
 * @param source the imaging source to export ("ct"); NULL when the cohort has exactly one
 * @param path   output file; replaced atomically
 * @param opts   storage options or NULL for the defaults
 * @param err    optional error details
 * @return as mmdx_imaging_write(); MMDX_ENOTFOUND when the cohort has no imaging
 *         features of @p source, MMDX_EINVAL when @p source is NULL and there are several
 *         (the message lists them).
 */
MMDX_EXPORT int mmdx_imaging_export_cohort(mmdx_ctx_t *ctx, const mmdx_cohort_t *cohort, const char *source,
                                           const char *path, const mmdx_imaging_write_opts_t *opts,
                                           mmdx_error_t *err) MMDX_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
