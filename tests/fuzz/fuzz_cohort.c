/* Fuzz the HDF5 cohort file reader; the input is opened as an HDF5 file image
 * (mmdx_cohort_reader_open_memory: HDF5's core driver, nothing on disk). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mmdx_cohort_reader_t *r = NULL;
    mmdx_error_t err = {0};
    if (mmdx_cohort_reader_open_memory(fuzz_ctx(), data, size, "fuzz-cohort.h5", &r, &err) == MMDX_OK) {
        mmdx_cohort_t *chunk = NULL;
        int rc;
        while ((rc = mmdx_cohort_reader_next(r, 64, &chunk, &err)) == 1)
            mmdx_cohort_free(chunk);
        mmdx_cohort_reader_close(r);
    }
    mmdx_ctx_clear_error(fuzz_ctx());
    return 0;
}
