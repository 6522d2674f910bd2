/* Identity of an input file at the start and the end of a read (see file_id.h). */
#define _XOPEN_SOURCE 700
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "file_id.h"

void mmdx_file_id_take(const char *path, mmdx_file_id_t *id)
{
    struct stat st;
    memset(id, 0, sizeof *id);
    if (path == NULL || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    id->checked = 1;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->size = st.st_size;
    id->mtim = st.st_mtim;
    id->ctim = st.st_ctim;
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

int mmdx_file_id_check(const char *path, const mmdx_file_id_t *id, const char *object, mmdx_error_t *err)
{
    struct stat st;
    if (id == NULL || !id->checked)
        return MMDX_OK;
    if (stat(path, &st) != 0)
        return mmdx_error_set(err, MMDX_EIO, path, object, 0,
                              "changed while being read: removed or renamed (%s; size before %lld bytes)",
                              strerror(errno), (long long)id->size);
    if (st.st_dev != id->dev || st.st_ino != id->ino)
        return mmdx_error_set(err, MMDX_EIO, path, object, 0,
                              "changed while being read: replaced by another file (size before %lld bytes, "
                              "after %lld)",
                              (long long)id->size, (long long)st.st_size);
    if (st.st_size != id->size)
        return mmdx_error_set(err, MMDX_EIO, path, object, 0,
                              "changed while being read: size before %lld bytes, after %lld (%s)",
                              (long long)id->size, (long long)st.st_size,
                              st.st_size > id->size ? "grew" : "shrank");
    if (!same_time(&st.st_mtim, &id->mtim))
        return mmdx_error_set(err, MMDX_EIO, path, object, 0,
                              "changed while being read: modification time changed (size before and after "
                              "%lld bytes)",
                              (long long)id->size);
    if (!same_time(&st.st_ctim, &id->ctim))
        return mmdx_error_set(err, MMDX_EIO, path, object, 0,
                              "changed while being read: status change time changed (size before and after "
                              "%lld bytes)",
                              (long long)id->size);
    return MMDX_OK;
}
