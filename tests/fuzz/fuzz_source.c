/* Fuzz one modality adapter end to end (open, read into a collector, build the cohort).
 * Built once per modality with -DFUZZ_MODALITY="hl7" (and optional FUZZ_OPTION). */
#include "fuzz_common.h"

#ifndef FUZZ_MODALITY
#error define FUZZ_MODALITY
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[300];
    int fd = fuzz_memfile(data, size, strcmp(FUZZ_MODALITY, "hdf5") == 0 ? ".h5" : "", path, sizeof path);
    if (fd < 0)
        return 0;
    mmdx_space_t *space = mmdx_space_alloc();
    mmdx_collect_t *col = space ? mmdx_collect_alloc(fuzz_ctx(), space, MMDX_AGG_LATEST) : NULL;
#ifdef FUZZ_OPTION
    const char *options[] = {FUZZ_OPTION, NULL};
#else
    const char *const *options = NULL;
#endif
    mmdx_error_t err = {0};
    if (col && mmdx_collect_file(col, FUZZ_MODALITY, path, options, &err) == MMDX_OK) {
        mmdx_cohort_t *c = NULL;
        if (mmdx_collect_to_cohort(col, &c, &err) == MMDX_OK)
            mmdx_cohort_free(c);
    }
    mmdx_collect_free(col);
    mmdx_space_free(space);
    mmdx_ctx_clear_error(fuzz_ctx());
    close(fd);
    return 0;
}
