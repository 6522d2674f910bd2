/* Shared pieces of the fuzz harnesses: input bytes become an anonymous in-memory file
 * (memfd), so every parser is fuzzed through the same path a real file takes, without
 * touching the disk (HDF5 inputs excepted: see fuzz_memfile). */
#ifndef MMDX_FUZZ_COMMON_H
#define MMDX_FUZZ_COMMON_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mmdx/mmdx.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The real file that HDF5 inputs go to (see fuzz_memfile), removed at exit. */
static char fuzz_h5_path[256];

static inline void fuzz_h5_cleanup(void)
{
    if (fuzz_h5_path[0])
        unlink(fuzz_h5_path);
}

/* Write @p data to a new memfd; its path (/proc/self/fd/N) goes to @p path. -1 on failure.
 * HDF5 resolves the real path of a file it opens, which a memfd has not, so with the
 * suffix ".h5" the bytes go to a real file in $TMPDIR (one per process, rewritten for
 * each input) and its path is given instead. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, const char *suffix, char *path, size_t cap)
{
    int h5 = suffix && strcmp(suffix, ".h5") == 0;
    int fd;
    if (h5) {
        if (!fuzz_h5_path[0]) {
            const char *tmp = getenv("TMPDIR");
            snprintf(fuzz_h5_path, sizeof fuzz_h5_path, "%s/mmdx-fuzz-%ld.h5", tmp && *tmp ? tmp : "/tmp",
                     (long)getpid());
            atexit(fuzz_h5_cleanup);
        }
        fd = open(fuzz_h5_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    } else {
        fd = memfd_create("mmdx-fuzz", MFD_CLOEXEC);
    }
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    if (h5)
        snprintf(path, cap, "%s", fuzz_h5_path);
    else
        snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

/* One context for the whole run (plugins registered once). */
static inline mmdx_ctx_t *fuzz_ctx(void)
{
    static mmdx_ctx_t *ctx;
    if (!ctx)
        ctx = mmdx_ctx_alloc();
    return ctx;
}

#endif
