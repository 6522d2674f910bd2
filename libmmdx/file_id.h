/* Internal: the identity of an input file (device, inode, size, modification and change
 * times), taken when reading starts and compared when it ends, so a file that was
 * appended to, truncated, rewritten or replaced while being read is an error instead of
 * a silently inconsistent read. Not installed. */
#ifndef MMDX_FILE_ID_H
#define MMDX_FILE_ID_H

#include <sys/types.h>
#include <time.h>

#include "mmdx/common.h"

typedef struct mmdx_file_id {
    int checked; /* 1: a regular file whose identity was taken; 0: nothing to compare */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim, ctim;
} mmdx_file_id_t;

/* Take @p path's identity into @p id. A path that cannot be stat()ed (the reader then
 * reports why it cannot open it) or is not a regular file (a pipe, a terminal,
 * /dev/stdin: its contents cannot be compared) leaves @p id unchecked. */
void mmdx_file_id_take(const char *path, mmdx_file_id_t *id);

/* MMDX_OK when @p id is unchecked or @p path is still the file @p id describes;
 * otherwise MMDX_EIO in @p err (first error kept) naming @p path and @p object, with
 * "changed while being read" and what changed (size before -> after, modification or
 * change time, replaced by another file, removed). */
int mmdx_file_id_check(const char *path, const mmdx_file_id_t *id, const char *object, mmdx_error_t *err);

#endif
