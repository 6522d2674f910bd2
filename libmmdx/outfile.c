/* Atomic output files: a temporary file beside the target, fsync, then rename. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mmdx/outfile.h"

struct mmdx_outfile {
    FILE *fp;
    int is_stdout;
    char *path; /* final path */
    char *temp; /* temporary path */
    char *dir;  /* directory of both */
};

/* Directory part of @p path ("." when it has none). New; mmdx_free(). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *d;
    size_t n;
    if (slash == NULL)
        return mmdx_strdup(".");
    n = slash == path ? 1 : (size_t)(slash - path);
    d = mmdx_malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

static int check_dir(const char *path, const char *dir, mmdx_error_t *err)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return mmdx_error_set(err, MMDX_EIO, path, dir, 0, "output directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return mmdx_error_set(err, MMDX_EIO, path, dir, 0, "output directory %s is not a directory", dir);
    if (access(dir, W_OK | X_OK) != 0)
        return mmdx_error_set(err, MMDX_EIO, path, dir, 0, "output directory %s is not writable: %s", dir,
                              strerror(errno));
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return mmdx_error_set(err, MMDX_EIO, path, NULL, 0, "output path is a directory");
    return MMDX_OK;
}

int mmdx_outfile_check(const char *path, mmdx_error_t *err)
{
    char *dir;
    int rc;
    if (path == NULL || path[0] == '\0')
        return mmdx_error_set(err, MMDX_EINVAL, NULL, NULL, 0, "empty output path");
    if (strcmp(path, "-") == 0)
        return MMDX_OK;
    dir = dir_of(path);
    if (dir == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
    rc = check_dir(path, dir, err);
    mmdx_free(dir);
    return rc;
}

void mmdx_outfile_abort(mmdx_outfile_t *f)
{
    if (f == NULL)
        return;
    if (f->fp && !f->is_stdout)
        fclose(f->fp);
    if (f->temp)
        unlink(f->temp);
    mmdx_free(f->path);
    mmdx_free(f->temp);
    mmdx_free(f->dir);
    mmdx_free(f);
}

int mmdx_outfile_open(const char *path, mmdx_outfile_t **out, mmdx_error_t *err)
{
    mmdx_outfile_t *f;
    const char *base;
    size_t cap;
    int fd = -1, rc;
    if (out == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, path, NULL, 0, "no output slot");
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return mmdx_error_set(err, MMDX_EINVAL, NULL, NULL, 0, "empty output path");
    f = mmdx_calloc(1, sizeof *f);
    if (f == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
    if (strcmp(path, "-") == 0) {
        f->is_stdout = 1;
        f->fp = stdout;
        *out = f;
        return MMDX_OK;
    }
    f->path = mmdx_strdup(path);
    f->dir = dir_of(path);
    if (f->path == NULL || f->dir == NULL) {
        mmdx_outfile_abort(f);
        return mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
    }
    rc = check_dir(path, f->dir, err);
    if (rc != MMDX_OK) {
        mmdx_outfile_abort(f);
        return rc;
    }
    base = strrchr(path, '/');
    base = base ? base + 1 : path;
    cap = strlen(f->dir) + strlen(base) + 64;
    f->temp = mmdx_malloc(cap);
    if (f->temp == NULL) {
        mmdx_outfile_abort(f);
        return mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
    }
    /* O_EXCL with a fresh name each try; mode 0666 lets the umask decide, like fopen */
    for (unsigned attempt = 0; attempt < 100 && fd < 0; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(f->temp, cap, "%s/.%s.tmp.%ld.%lx%x", f->dir, base, (long)getpid(),
                 (unsigned long)ts.tv_nsec ^ (unsigned long)(uintptr_t)f, attempt);
        fd = open(f->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        rc = mmdx_error_set(err, MMDX_EIO, path, f->dir, 0, "cannot create a temporary file in %s: %s",
                            f->dir, strerror(errno));
        mmdx_free(f->temp);
        f->temp = NULL;
        mmdx_outfile_abort(f);
        return rc;
    }
    f->fp = fdopen(fd, "wb");
    if (f->fp == NULL) {
        rc = mmdx_error_set(err, MMDX_EIO, path, NULL, 0, "cannot open a stream: %s", strerror(errno));
        close(fd);
        mmdx_outfile_abort(f);
        return rc;
    }
    *out = f;
    return MMDX_OK;
}

FILE *mmdx_outfile_stream(mmdx_outfile_t *f)
{
    return f ? f->fp : NULL;
}

const char *mmdx_outfile_temp_path(const mmdx_outfile_t *f)
{
    return f ? f->temp : NULL;
}

int mmdx_outfile_commit(mmdx_outfile_t *f, mmdx_error_t *err)
{
    int rc = MMDX_OK, dfd;
    if (f == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, NULL, NULL, 0, "no output file");
    if (f->is_stdout) {
        if (fflush(stdout) != 0 || ferror(stdout))
            rc = mmdx_error_set(err, MMDX_EIO, "-", NULL, 0, "writing standard output failed: %s",
                                strerror(errno));
        f->fp = NULL;
        mmdx_outfile_abort(f);
        return rc;
    }
    if (fflush(f->fp) != 0 || ferror(f->fp))
        rc = mmdx_error_set(err, MMDX_EIO, f->path, NULL, 0, "write failed: %s", strerror(errno));
    else if (fsync(fileno(f->fp)) != 0)
        rc = mmdx_error_set(err, MMDX_EIO, f->path, NULL, 0, "fsync failed: %s", strerror(errno));
    if (fclose(f->fp) != 0 && rc == MMDX_OK)
        rc = mmdx_error_set(err, MMDX_EIO, f->path, NULL, 0, "close failed: %s", strerror(errno));
    f->fp = NULL;
    if (rc == MMDX_OK && rename(f->temp, f->path) != 0)
        rc = mmdx_error_set(err, MMDX_EIO, f->path, NULL, 0, "cannot rename the temporary file into place: %s",
                            strerror(errno));
    if (rc != MMDX_OK) {
        mmdx_outfile_abort(f); /* removes the temporary file */
        return rc;
    }
    /* make the rename itself durable */
    dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    mmdx_free(f->temp);
    f->temp = NULL;
    mmdx_outfile_abort(f);
    return MMDX_OK;
}
