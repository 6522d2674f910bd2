/* Shared pieces of the fuzz harnesses: input bytes become an anonymous in-memory file
 * (memfd), so every parser is fuzzed through the same path a real file takes, without
 * touching the disk; HDF5 inputs become HDF5 file images (HDF5's core driver, no file). */
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

/* Write @p data to a new memfd; its path (/proc/self/fd/N) goes to @p path. -1 on failure.
 * @p suffix only says what the caller feeds (".tsv", ""). HDF5 inputs do not come here:
 * HDF5 resolves the real path of a file, which a memfd has not, so they are opened as
 * HDF5 file images (fuzz_cohort.c, fuzz_model.c, fuzz_source.c for hdf5). */
static inline int fuzz_memfile(const uint8_t *data, size_t size, const char *suffix, char *path, size_t cap)
{
    (void)suffix;
    int fd = memfd_create("mmdx-fuzz", MFD_CLOEXEC);
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
