/* Fuzz one modality adapter end to end (open, read into a collector, build the cohort).
 * Built once per modality with -DFUZZ_MODALITY="hl7" (and optional FUZZ_OPTION). Text
 * inputs go through a memfd and mmdx_collect_file(); with -DFUZZ_HDF5_IMAGE the input is
 * an HDF5 file image read by the built-in hdf5 adapter (mmdx_imaging_read_image). */
#include "fuzz_common.h"

#ifdef FUZZ_HDF5_IMAGE
#include "../../modalities/hdf5/imaging_image.h"
#endif

#ifndef FUZZ_MODALITY
#error define FUZZ_MODALITY
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef FUZZ_HDF5_IMAGE
    int fd = -1;
#else
    char path[300];
    int fd = fuzz_memfile(data, size, "", path, sizeof path);
    if (fd < 0)
        return 0;
#endif
    mmdx_space_t *space = mmdx_space_alloc();
    mmdx_collect_t *col = space ? mmdx_collect_alloc(fuzz_ctx(), space, MMDX_AGG_LATEST) : NULL;
#ifdef FUZZ_OPTION
    const char *options[] = {FUZZ_OPTION, NULL};
#else
    const char *const *options = NULL;
#endif
    mmdx_error_t err = {0};
#ifdef FUZZ_HDF5_IMAGE
    int rc = col ? mmdx_imaging_read_image(fuzz_ctx(), data, size, "fuzz-imaging.h5", options,
                                           mmdx_collect_sink(col), &err)
                 : MMDX_ENOMEM;
#else
    int rc = col ? mmdx_collect_file(col, FUZZ_MODALITY, path, options, &err) : MMDX_ENOMEM;
#endif
    if (rc == MMDX_OK) {
        mmdx_cohort_t *c = NULL;
        if (mmdx_collect_to_cohort(col, &c, &err) == MMDX_OK)
            mmdx_cohort_free(c);
    }
    mmdx_collect_free(col);
    mmdx_space_free(space);
    mmdx_ctx_clear_error(fuzz_ctx());
    if (fd >= 0)
        close(fd);
    return 0;
}
