/* Internal: HDF5 error containment for the imaging adapter and writer. Not installed.
 *
 * HDF5 prints its error stack to stderr by default; the library must never print, so
 * printing is switched off and the stack is translated into the message of an
 * mmdx_error_t instead. Compiled into the plugin and into libmmdx.a (hidden there). */
#ifndef MMDX_HDF5_ERRSTACK_H
#define MMDX_HDF5_ERRSTACK_H

#include <stddef.h>
#include "mmdx/common.h"

/* Turn off HDF5's automatic error printing (for this thread's default stack). */
void mmdx_hdf5_silence(void);

/* Write a one-line summary of the current HDF5 error stack into @p buf, innermost
 * cause first ("<minor>: <description> in <function>", at most three entries), then
 * clear the stack. Writes "" when the stack is empty; @p buf NULL only clears.
 * Returns the length written. */
size_t mmdx_hdf5_errstack(char *buf, size_t size);

/* Like mmdx_modality_error(): fill @p err unless it already holds an error, with
 * " (HDF5: <errstack>)" appended to the formatted reason when the stack is not empty.
 * Returns @p code. */
int mmdx_hdf5_error(mmdx_error_t *err, int code, const char *file, const char *object,
                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

#endif
