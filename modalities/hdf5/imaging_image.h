/* Internal: the built-in imaging adapter read from an in-memory HDF5 file image. Not
 * installed, not exported (libmmdx.a is built with hidden visibility); its one caller is
 * the fuzz harness tests/fuzz/fuzz_source.c, which links libmmdx.a statically. */
#ifndef MMDX_IMAGING_IMAGE_H
#define MMDX_IMAGING_IMAGE_H

#include <stddef.h>

#include "mmdx/ctx.h"
#include "mmdx/modality.h"

/* Open the @p size bytes at @p image as an imaging-feature HDF5 file with the built-in
 * hdf5 modality of @p ctx (the same code path as a file, after the file checks), with
 * @p options as for mmdx_source_open(), stream it into @p sink, and close it. @p name
 * stands for the file in errors. @return MMDX_OK or the adapter's status. */
int mmdx_imaging_read_image(mmdx_ctx_t *ctx, const void *image, size_t size, const char *name,
                            const char *const *options, const mmdx_sink_t *sink, mmdx_error_t *err);

#endif
