/* Shared pieces of the fuzz harnesses: input bytes become an anonymous in-memory file
 * (memfd), so every parser is fuzzed through the same path a real file takes, without
 * touching the disk. */
#ifndef MMDX_FUZZ_COMMON_H
#define MMDX_FUZZ_COMMON_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mmdx/mmdx.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write @p data to a new memfd; its path (/proc/self/fd/N) goes to @p path. -1 on failure. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, const char *suffix, char *path, size_t cap)
{
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
    (void)suffix;
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
