/* Fuzz the labels TSV reader. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_memfile(data, size, ".tsv", path, sizeof path);
    if (fd < 0)
        return 0;
    mmdx_space_t *space = mmdx_space_alloc();
    mmdx_labels_t *labels = NULL;
    mmdx_error_t err = {0};
    if (space && mmdx_labels_read(fuzz_ctx(), path, space, &labels, &err) == MMDX_OK) {
        /* apply to a small cohort holding the first ids, as the driver would */
        size_t n = mmdx_labels_n_patients(labels);
        mmdx_cohort_t *c = mmdx_cohort_alloc(space, n < 4 ? n : 4);
        for (size_t i = 0; c && i < mmdx_cohort_n_patients(c); i++)
            if (mmdx_cohort_set_id(c, i, mmdx_labels_patient(labels, i)) != MMDX_OK)
                break;
        size_t unknown = 0;
        if (c && mmdx_labels_apply(labels, c, 0, &unknown, NULL) != MMDX_OK)
            mmdx_ctx_clear_error(fuzz_ctx()); /* rejecting bad labels is the expected outcome */
        mmdx_cohort_free(c);
    }
    mmdx_labels_free(labels);
    mmdx_space_free(space);
    mmdx_ctx_clear_error(fuzz_ctx());
    close(fd);
    return 0;
}
