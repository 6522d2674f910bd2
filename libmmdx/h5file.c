/* Opening HDF5 files read-only, from disk or from memory.
 *
 * A file image is handed to HDF5's core (memory) driver with H5Pset_file_image() and
 * no backing store. The core driver still takes a file name: it refuses to open an image
 * under the name of a file that exists on disk, and two open files with the same name
 * are taken for the same file (the second H5Fopen() would return the first file's
 * contents). So each image gets a fresh name below /dev/null, where no file can exist. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "h5file.h"

int mmdx_h5_image_is_hdf5(const void *image, size_t size)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    const unsigned char *p = image;
    if (p == NULL)
        return 0;
    for (size_t off = 0; off <= size && size - off >= sizeof sig; off = off ? off * 2 : 512)
        if (memcmp(p + off, sig, sizeof sig) == 0)
            return 1;
    return 0;
}

hid_t mmdx_h5_open_ro(const char *path, const void *image, size_t size, int strong_close)
{
    static unsigned long serial; /* names only; a race gives two names, never one */
    hid_t fapl, f;
    char name[64];
    if (image == NULL && !strong_close)
        return H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (image != NULL && size == 0)
        return -1; /* HDF5 would take "no image" and look for a file on disk */
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return -1;
    if (strong_close && H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0)
        goto fail;
    if (image != NULL) {
        if (H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 || H5Pset_file_image(fapl, (void *)(uintptr_t)image, size) < 0)
            goto fail;
        snprintf(name, sizeof name, "/dev/null/mmdx-image-%lu", __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
        path = name;
    }
    f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (f < 0) {
        /* every API call clears the error stack: keep the open's reason for the caller */
        hid_t kept = H5Eget_current_stack();
        H5Pclose(fapl);
        if (kept >= 0)
            H5Eset_current_stack(kept);
        return f;
    }
    H5Pclose(fapl);
    return f;
fail:
    H5Pclose(fapl);
    return -1;
}
