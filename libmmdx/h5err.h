/* Internal: HDF5's error stack translated into an mmdx_error_t. Not installed. */
#ifndef MMDX_H5ERR_H
#define MMDX_H5ERR_H

#include "mmdx/common.h"

/* Record @p code with "@p what: <HDF5's innermost reason>" in @p err and clear the
 * HDF5 error stack. @return @p code. */
int mmdx_h5_error(mmdx_error_t *err, int code, const char *file, const char *object, const char *what);

#endif
