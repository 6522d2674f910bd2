/* Fuzz the HDF5 cohort file reader (the file image is served from memory). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[300];
    int fd = fuzz_memfile(data, size, ".h5", path, sizeof path);
    if (fd < 0)
        return 0;
    mmdx_cohort_reader_t *r = NULL;
    mmdx_error_t err = {0};
    if (mmdx_cohort_reader_open(fuzz_ctx(), path, &r, &err) == MMDX_OK) {
        mmdx_cohort_t *chunk = NULL;
        int rc;
        while ((rc = mmdx_cohort_reader_next(r, 64, &chunk, &err)) == 1)
            mmdx_cohort_free(chunk);
        mmdx_cohort_reader_close(r);
    }
    mmdx_ctx_clear_error(fuzz_ctx());
    close(fd);
    return 0;
}
