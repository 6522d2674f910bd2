/**
 * @file cohort.h
 * @brief A block of patients in a feature space: column-major values, a per-value flag
 *        mask (missing, censored), patient ids and labels; and the HDF5 cohort file.
 *
 * Value (i, j) of patient i and feature j lives at column(j)[i]. Flags use the
 * MMDX_VAL_* bits; a missing value's double is NaN. Labels are class indices per
 * target, -1 when unknown.
 */
#ifndef MMDX_COHORT_H
#define MMDX_COHORT_H

#include "ctx.h"
#include "space.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A block of patients in a feature space: values, missing mask, ids, labels (opaque). */
typedef struct mmdx_cohort mmdx_cohort_t;

/** Per-value flag bits. */
#define MMDX_VAL_MISSING 0x01u      /**< no value */
#define MMDX_VAL_CENSOR_LEFT 0x02u  /**< true value below the stored bound */
#define MMDX_VAL_CENSOR_RIGHT 0x04u /**< true value above the stored bound */

/**
 * New cohort of @p n_patients patients over the features and targets @p space has now.
 * All values start missing, labels unknown, ids empty. @p space is borrowed and must
 * outlive the cohort. New; free with mmdx_cohort_free(). NULL when out of memory.
 */
MMDX_EXPORT mmdx_cohort_t *mmdx_cohort_alloc(const mmdx_space_t *space, size_t n_patients);
/** NULL is a no-op. */
MMDX_EXPORT void mmdx_cohort_free(mmdx_cohort_t *c);

/** The space (borrowed). */
MMDX_EXPORT const mmdx_space_t *mmdx_cohort_space(const mmdx_cohort_t *c);
/** Number of patients (rows). */
MMDX_EXPORT size_t mmdx_cohort_n_patients(const mmdx_cohort_t *c);
/** Features the cohort holds (the space's count when it was allocated). */
MMDX_EXPORT size_t mmdx_cohort_n_features(const mmdx_cohort_t *c);
/** Number of targets of the cohort's space (label columns). */
MMDX_EXPORT size_t mmdx_cohort_n_targets(const mmdx_cohort_t *c);

/** Column j (n_patients doubles). Borrowed; valid until the cohort is freed. */
MMDX_EXPORT double *mmdx_cohort_column(mmdx_cohort_t *c, size_t j);
/** Read-only column @p j (n_patients values). Borrowed. */
MMDX_EXPORT const double *mmdx_cohort_column_const(const mmdx_cohort_t *c, size_t j);
/** Flags of column j (n_patients bytes, MMDX_VAL_* bits). Borrowed. */
MMDX_EXPORT uint8_t *mmdx_cohort_flags(mmdx_cohort_t *c, size_t j);
/** Read-only flags of column @p j (missing, censoring). Borrowed. */
MMDX_EXPORT const uint8_t *mmdx_cohort_flags_const(const mmdx_cohort_t *c, size_t j);

/** Set value (i, j) with flags (MMDX_VAL_CENSOR_* or 0); clears MISSING. */
MMDX_EXPORT void mmdx_cohort_set(mmdx_cohort_t *c, size_t i, size_t j, double v, unsigned flags);
/** Mark value (i, j) missing. */
MMDX_EXPORT void mmdx_cohort_set_missing(mmdx_cohort_t *c, size_t i, size_t j);
/** 1 when value (i, j) is present (then *v is set), 0 when missing. */
MMDX_EXPORT int mmdx_cohort_get(const mmdx_cohort_t *c, size_t i, size_t j, double *v);

/** Set patient i's id (copied). MMDX_ENOMEM, MMDX_EINVAL (empty or too long). */
MMDX_EXPORT int mmdx_cohort_set_id(mmdx_cohort_t *c, size_t i, const char *id) MMDX_WARN_UNUSED;
/** Borrowed; "" until set. */
MMDX_EXPORT const char *mmdx_cohort_id(const mmdx_cohort_t *c, size_t i);
/** Row of patient @p id, or -1. Linear the first time, hashed after. */
MMDX_EXPORT long mmdx_cohort_find(const mmdx_cohort_t *c, const char *id);

/** Class index of patient i for target t, or -1 when unknown. */
MMDX_EXPORT int mmdx_cohort_label(const mmdx_cohort_t *c, size_t i, size_t t);
/** Set the class index of patient @p i for target @p t (-1: unknown). */
MMDX_EXPORT void mmdx_cohort_set_label(mmdx_cohort_t *c, size_t i, size_t t, int cls);

/**
 * New cohort holding rows [@p first, @p first + @p n) of @p c (same space).
 * New; free with mmdx_cohort_free(). NULL when out of memory or out of range.
 */
MMDX_EXPORT mmdx_cohort_t *mmdx_cohort_slice(const mmdx_cohort_t *c, size_t first, size_t n);
/** New cohort with the rows listed in @p rows, in that order. */
MMDX_EXPORT mmdx_cohort_t *mmdx_cohort_select(const mmdx_cohort_t *c, const size_t *rows, size_t n);

/* ------------------------------------------------------------------ labels TSV */

/** A labels TSV as read (opaque). */
typedef struct mmdx_labels mmdx_labels_t;

/**
 * Read a labels TSV: header `patient_id<TAB>TARGET...`, then one row per patient;
 * values are class labels, empty or `NA` for unknown. Targets are added to @p space
 * (classes are the sorted distinct values seen; `0`/`1` for binary) or, when the
 * space already has the target, checked against its classes. New labels in @p out;
 * free with mmdx_labels_free().
 * @return MMDX_OK; MMDX_EFORMAT (ragged row, missing header), MMDX_EDUP (duplicate
 *         patient id), MMDX_ESPACE (class unknown to an existing target) with line and
 *         column in @p err; MMDX_EIO; MMDX_ENOMEM.
 */
MMDX_EXPORT int mmdx_labels_read(mmdx_ctx_t *ctx, const char *path, mmdx_space_t *space,
                                 mmdx_labels_t **out, mmdx_error_t *err) MMDX_WARN_UNUSED;
/** NULL is a no-op. */
MMDX_EXPORT void mmdx_labels_free(mmdx_labels_t *labels);
/** Number of label rows (patients). */
MMDX_EXPORT size_t mmdx_labels_n_patients(const mmdx_labels_t *labels);
/** Borrowed. */
MMDX_EXPORT const char *mmdx_labels_patient(const mmdx_labels_t *labels, size_t r);
/** Class index of row r for space target t, -1 when unknown or the target is not in the file. */
MMDX_EXPORT int mmdx_labels_class(const mmdx_labels_t *labels, size_t r, size_t t);
/**
 * Copy labels into the cohort's rows by patient id. Label rows whose patient is not in
 * the cohort are all counted in @p n_unknown (may be NULL) and, if @p err is set, the first
 * is named there (MMDX_ENOTFOUND: the labels file, its line, the patient id as object, and
 * the count in the message); they are not an error unless @p strict.
 * @return MMDX_OK; MMDX_ENOTFOUND (@p strict and some row names an unknown patient; the
 *         cohort is unchanged); MMDX_ESPACE (a class unknown to the cohort's target).
 */
MMDX_EXPORT int mmdx_labels_apply(const mmdx_labels_t *labels, mmdx_cohort_t *c, int strict,
                                  size_t *n_unknown, mmdx_error_t *err) MMDX_WARN_UNUSED;

/* ------------------------------------------------------------------ cohort file (HDF5) */

/** A cohort file open for reading in row chunks (opaque). */
typedef struct mmdx_cohort_reader mmdx_cohort_reader_t;
/** A cohort file being written in row chunks (opaque). */
typedef struct mmdx_cohort_writer mmdx_cohort_writer_t;

/**
 * Start writing a cohort file for @p space. Rows are appended in chunks; nothing is
 * visible at @p path until mmdx_cohort_writer_commit() renames the finished temporary
 * file into place. New; end with commit or abort (abort removes the temporary file).
 */
MMDX_EXPORT int mmdx_cohort_writer_open(mmdx_ctx_t *ctx, const char *path, const mmdx_space_t *space,
                                        mmdx_cohort_writer_t **out, mmdx_error_t *err) MMDX_WARN_UNUSED;
/** Append the rows of @p chunk (in the writer's space). MMDX_OK or an error in @p err. */
MMDX_EXPORT int mmdx_cohort_writer_append(mmdx_cohort_writer_t *w, const mmdx_cohort_t *chunk,
                                          mmdx_error_t *err) MMDX_WARN_UNUSED;
/** Finish, fsync and rename into place; frees @p w whatever the outcome. */
MMDX_EXPORT int mmdx_cohort_writer_commit(mmdx_cohort_writer_t *w, mmdx_error_t *err) MMDX_WARN_UNUSED;
/** Discard everything written; frees @p w. NULL is a no-op. */
MMDX_EXPORT void mmdx_cohort_writer_abort(mmdx_cohort_writer_t *w);
/** Write a whole cohort (writer_open, append, commit). */
MMDX_EXPORT int mmdx_cohort_save(mmdx_ctx_t *ctx, const mmdx_cohort_t *c, const char *path,
                                 mmdx_error_t *err) MMDX_WARN_UNUSED;

/**
 * Open a cohort file for reading in row chunks. Checks the format version and layout;
 * a foreign or corrupt file is MMDX_EFORMAT / MMDX_EVERSION naming file and dataset.
 */
MMDX_EXPORT int mmdx_cohort_reader_open(mmdx_ctx_t *ctx, const char *path, mmdx_cohort_reader_t **out,
                                        mmdx_error_t *err) MMDX_WARN_UNUSED;
/**
 * Like mmdx_cohort_reader_open(), on a cohort file held in memory: the @p size bytes at
 * @p buf are an HDF5 file image (copied; @p buf may be freed once this returns) and
 * nothing on disk is read. @p name (or "(memory)" when NULL) stands for the file in
 * errors. A buffer that is not an HDF5 file is MMDX_EFORMAT.
 */
MMDX_EXPORT int mmdx_cohort_reader_open_memory(mmdx_ctx_t *ctx, const void *buf, size_t size, const char *name,
                                               mmdx_cohort_reader_t **out, mmdx_error_t *err) MMDX_WARN_UNUSED;
/** The file's feature space. Borrowed; valid until the reader is closed. */
MMDX_EXPORT const mmdx_space_t *mmdx_cohort_reader_space(const mmdx_cohort_reader_t *r);
/** Number of patients in the file. */
MMDX_EXPORT size_t mmdx_cohort_reader_n_patients(const mmdx_cohort_reader_t *r);
/**
 * Read the next at most @p max_rows patients into a new cohort (*chunk; free with
 * mmdx_cohort_free(); its space is the reader's). @return 1 with a chunk, 0 at the
 * end (*chunk = NULL), or a negative status.
 */
MMDX_EXPORT int mmdx_cohort_reader_next(mmdx_cohort_reader_t *r, size_t max_rows, mmdx_cohort_t **chunk,
                                        mmdx_error_t *err) MMDX_WARN_UNUSED;
/** Go back to the first row. */
MMDX_EXPORT int mmdx_cohort_reader_rewind(mmdx_cohort_reader_t *r);
/** NULL is a no-op. */
MMDX_EXPORT void mmdx_cohort_reader_close(mmdx_cohort_reader_t *r);
/** Read a whole cohort file; the cohort owns a copy of the space (mmdx_cohort_space()). */
MMDX_EXPORT int mmdx_cohort_load(mmdx_ctx_t *ctx, const char *path, mmdx_cohort_t **out,
                                 mmdx_error_t *err) MMDX_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
