/* Shared pieces of the fuzz harnesses: input bytes become an anonymous in-memory file
 * (memfd), so every parser is fuzzed through the same path a real file takes, without
 * touching the disk. HDF5 inputs are the exception: HDF5 resolves the real path of the
 * name it is given, and /proc/self/fd/N of a memfd resolves to "/memfd:... (deleted)",
 * so H5Fopen refuses every input; they go to one scratch file per process instead. */
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

static char fuzz_scratch[512];

static inline void fuzz_scratch_remove(void)
{
    if (fuzz_scratch[0])
        unlink(fuzz_scratch);
}

/* HDF5 needs a path that resolves to a real file (see above). */
static inline int fuzz_needs_real_file(const char *suffix)
{
#ifdef FUZZ_MODALITY
    if (strcmp(FUZZ_MODALITY, "hdf5") == 0)
        return 1;
#endif
    return strcmp(suffix, ".h5") == 0;
}

/* Write @p data to a new memfd (or the scratch file); its path goes to @p path. -1 on failure. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, const char *suffix, char *path, size_t cap)
{
    int fd;
    if (fuzz_needs_real_file(suffix)) {
        if (!fuzz_scratch[0]) {
            const char *t = getenv("TMPDIR");
            snprintf(fuzz_scratch, sizeof fuzz_scratch, "%s/mmdx-fuzz-%ld%s",
                     access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (t && t[0] ? t : "/tmp"), (long)getpid(),
                     suffix);
            atexit(fuzz_scratch_remove);
        }
        fd = open(fuzz_scratch, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        snprintf(path, cap, "%s", fuzz_scratch);
    } else {
        fd = memfd_create("mmdx-fuzz", MFD_CLOEXEC);
        snprintf(path, cap, "/proc/self/fd/%d", fd);
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
