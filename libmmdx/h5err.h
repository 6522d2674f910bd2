/* Internal: HDF5's error stack translated into an mmdx_error_t. Not installed. */
#ifndef MMDX_H5ERR_H
#define MMDX_H5ERR_H

#include <hdf5.h>

#include "mmdx/common.h"

/* Record @p code with "@p what: <HDF5's innermost reason> (HDF5 <call>)" in @p err and
 * clear the HDF5 error stack. @return @p code. */
int mmdx_h5err_report(mmdx_error_t *err, int code, const char *file, const char *object, const char *what);

/* Every HDF5 call clears the error stack, so cleanup after a failure (closing ids)
 * would lose the reason. Take it aside with mmdx_h5err_keep() at the failure and put it
 * back with mmdx_h5err_restore() after the cleanup; both accept "nothing kept" (-1). */
hid_t mmdx_h5err_keep(void);
void mmdx_h5err_restore(hid_t kept);

#endif
