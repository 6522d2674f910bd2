/**
 * @file outfile.h
 * @brief Atomic output files: write to a temporary file beside the target, then rename.
 *
 * A crash or an error never leaves a half-written file that looks whole: until
 * mmdx_outfile_commit() the target path is untouched.
 */
#ifndef MMDX_OUTFILE_H
#define MMDX_OUTFILE_H

#include <stdio.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An output file written to a temporary name and renamed on commit (opaque). */
typedef struct mmdx_outfile mmdx_outfile_t;

/**
 * Create a temporary file in the directory of @p path ("-" means standard output,
 * written directly). Fails early (MMDX_EIO naming the directory) when the directory
 * is missing or not writable. New; end with commit or abort.
 */
MMDX_EXPORT int mmdx_outfile_open(const char *path, mmdx_outfile_t **out, mmdx_error_t *err) MMDX_WARN_UNUSED;
/** The stream to write to. Borrowed. */
MMDX_EXPORT FILE *mmdx_outfile_stream(mmdx_outfile_t *f);
/** The temporary path (for writers that need a file name, e.g. HDF5). Borrowed. */
MMDX_EXPORT const char *mmdx_outfile_temp_path(const mmdx_outfile_t *f);
/** Flush, fsync, close and rename into place; frees @p f. A write error seen at any point is reported here. */
MMDX_EXPORT int mmdx_outfile_commit(mmdx_outfile_t *f, mmdx_error_t *err) MMDX_WARN_UNUSED;
/** Remove the temporary file; frees @p f. NULL is a no-op. */
MMDX_EXPORT void mmdx_outfile_abort(mmdx_outfile_t *f);
/** Check that a file could be created at @p path (directory exists and is writable). */
MMDX_EXPORT int mmdx_outfile_check(const char *path, mmdx_error_t *err) MMDX_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
