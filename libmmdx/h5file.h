/* Internal: the one place libmmdx opens an HDF5 file for reading, from a path or from
 * an in-memory file image. Not installed. Compiled into libmmdx.a (hidden there) and
 * into the hdf5 modality plugin. */
#ifndef MMDX_H5FILE_H
#define MMDX_H5FILE_H

#include <stddef.h>

#include <hdf5.h>

/* 1 when @p image (@p size bytes) starts with the HDF5 signature, at offset 0 or after a
 * user block (512, 1024, 2048, ...); 0 otherwise. */
int mmdx_h5_image_is_hdf5(const void *image, size_t size);

/* Open an HDF5 file read-only. With @p image NULL, the file at @p path; otherwise the
 * @p size bytes at @p image, an HDF5 file image (copied: the caller may free it once
 * this returns), served by HDF5's core driver without a backing store, so nothing on
 * disk is read or written; @p path is unused then (callers name the image in errors).
 * @p strong_close: close every object of the file with it (H5F_CLOSE_STRONG).
 * @return a file id (close with H5Fclose()) or a negative value with HDF5's error stack
 * describing the failure. */
hid_t mmdx_h5_open_ro(const char *path, const void *image, size_t size, int strong_close);

#endif
