/* The HDF5 cohort file (docs/formats/cohort-file.md): written in row chunks through a
 * temporary file that is renamed into place on commit, read back in row chunks.
 * Everything read is checked: a foreign or corrupt file is an error naming the file and
 * the dataset, never a crash or a half-built cohort. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "alloc_internal.h"
#include "cohort_internal.h"
#include "ctx_internal.h"
#include "file_id.h"
#include "h5err.h"
#include "h5file.h"
#include "hashmap.h"
#include "mmdx/outfile.h"
#include "space_internal.h"

/* Creation of groups and datasets without modification times, so the same content gives
 * the same bytes (determinism across runs and thread counts). */
static hid_t untimed_gcreate(hid_t loc, const char *name)
{
    hid_t p = H5Pcreate(H5P_GROUP_CREATE), g = -1;
    if (p >= 0 && H5Pset_obj_track_times(p, 0) >= 0)
        g = H5Gcreate2(loc, name, H5P_DEFAULT, p, H5P_DEFAULT);
    if (p >= 0)
        H5Pclose(p);
    return g;
}

static hid_t untimed_dcreate(hid_t loc, const char *name, hid_t type, hid_t space)
{
    hid_t p = H5Pcreate(H5P_DATASET_CREATE), d = -1;
    if (p >= 0 && H5Pset_obj_track_times(p, 0) >= 0)
        d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, p, H5P_DEFAULT);
    if (p >= 0)
        H5Pclose(p);
    return d;
}

#define COHORT_FORMAT "mmdx-cohort"
#define COHORT_VERSION 1
/* Limits that keep a corrupt header from making us allocate without bound. */
#define MAX_FEATURES ((size_t)1 << 24)
#define MAX_TARGETS ((size_t)1 << 16)
#define MAX_LEVELS ((size_t)1 << 24)
#define MAX_STRING 4096
/* a read returns fewer rows than asked when the rows would need more than this */
#define READ_BUDGET ((size_t)256 << 20)
#define STR_BATCH 65536
#define CHUNK_CACHE ((size_t)32 << 20)

/* ------------------------------------------------------------------ small HDF5 helpers */

/* Strings are fixed-length (NUL-terminated, UTF-8): variable-length strings live in
 * HDF5's global heap, whose reader has had memory-safety bugs on damaged files (a fuzzed
 * cohort file overflowed a heap buffer in H5HG_read of HDF5 1.10.8), so the reader never
 * goes there. */
static hid_t str_type(size_t size)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, size ? size : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
                   H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static void close_id(hid_t *id, herr_t (*fn)(hid_t))
{
    if (*id >= 0)
        fn(*id);
    *id = -1;
}

/* A 1-D (rank 1) or 2-D dataset growing along its first dimension. */
static hid_t make_extendible(hid_t loc, const char *name, hid_t type, int rank, size_t cols, int deflate)
{
    hsize_t dims[2] = {0, cols}, maxdims[2] = {H5S_UNLIMITED, H5S_UNLIMITED}, chunk[2];
    hid_t space = -1, dcpl = -1, d = -1, kept;
    size_t cc = cols ? (cols < 4096 ? cols : 4096) : 1;
    size_t elem = H5Tget_size(type);
    size_t cr = ((size_t)1 << 20) / (elem * cc);
    if (rank == 1)
        cr = 4096;
    if (cr < 1)
        cr = 1;
    if (cr > 4096)
        cr = 4096;
    chunk[0] = cr;
    chunk[1] = cc;
    space = H5Screate_simple(rank, dims, maxdims);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl >= 0)
        H5Pset_obj_track_times(dcpl, 0);
    if (space < 0 || dcpl < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0)
        goto done;
    if (deflate && (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, 1) < 0))
        goto done;
    d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
done:
    kept = d < 0 ? mmdx_h5err_keep() : -1;
    close_id(&space, H5Sclose);
    close_id(&dcpl, H5Pclose);
    mmdx_h5err_restore(kept);
    return d;
}

/* A fixed-size 1-D dataset holding @p n elements of @p buf (memory type @p mtype). */
static int write_array(hid_t loc, const char *name, hid_t ftype, hid_t mtype, size_t n, const void *buf)
{
    hsize_t dims[1] = {n};
    hid_t space = H5Screate_simple(1, dims, NULL), d = -1, kept;
    int ok = 0;
    if (space >= 0)
        d = untimed_dcreate(loc, name, ftype, space);
    if (d >= 0)
        ok = n == 0 || H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    kept = ok ? -1 : mmdx_h5err_keep();
    close_id(&d, H5Dclose);
    close_id(&space, H5Sclose);
    mmdx_h5err_restore(kept);
    return ok ? 0 : -1;
}

/* A 1-D dataset of @p n fixed-length strings as long as the longest. -2 out of memory. */
static int write_strings(hid_t loc, const char *name, size_t n, const char *const *s)
{
    size_t size = 1;
    char *buf;
    hid_t t, kept;
    int rc;
    for (size_t i = 0; i < n; i++)
        if (strlen(s[i]) + 1 > size)
            size = strlen(s[i]) + 1;
    buf = mmdx_calloc(n ? n : 1, size);
    if (buf == NULL)
        return -2;
    for (size_t i = 0; i < n; i++)
        memcpy(buf + i * size, s[i], strlen(s[i]));
    t = str_type(size);
    rc = t < 0 ? -1 : write_array(loc, name, t, t, n, buf);
    kept = rc < 0 ? mmdx_h5err_keep() : -1;
    close_id(&t, H5Tclose);
    mmdx_h5err_restore(kept);
    mmdx_free(buf);
    return rc;
}

/* Extend @p d to @p rows rows and select rows [first, first + n) of its file space. */
static hid_t select_rows(hid_t d, size_t first, size_t n, size_t cols, int rank, int extend)
{
    hsize_t dims[2] = {first + n, cols}, start[2] = {first, 0}, count[2] = {n, cols};
    hid_t fs;
    if (extend && H5Dset_extent(d, dims) < 0)
        return -1;
    fs = H5Dget_space(d);
    if (fs < 0)
        return -1;
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0) {
        hid_t kept = mmdx_h5err_keep();
        H5Sclose(fs);
        mmdx_h5err_restore(kept);
        return -1;
    }
    (void)rank;
    return fs;
}

static int write_rows(hid_t d, hid_t mtype, size_t first, size_t n, size_t cols, int rank, const void *buf)
{
    hsize_t mdims[2] = {n, cols};
    hid_t fs, ms, kept;
    int ok;
    fs = select_rows(d, first, n, cols, rank, 1);
    if (fs < 0)
        return -1;
    if (n == 0 || (rank == 2 && cols == 0)) {
        H5Sclose(fs);
        return 0;
    }
    ms = H5Screate_simple(rank, mdims, NULL);
    ok = ms >= 0 && H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, buf) >= 0;
    kept = ok ? -1 : mmdx_h5err_keep();
    close_id(&ms, H5Sclose);
    H5Sclose(fs);
    mmdx_h5err_restore(kept);
    return ok ? 0 : -1;
}

static int write_attrs(hid_t file)
{
    hid_t s = H5Screate(H5S_SCALAR), t = H5Tcopy(H5T_C_S1), a = -1, kept;
    int version = COHORT_VERSION, ok = 0;
    char creator[64];
    if (s < 0 || t < 0 || H5Tset_size(t, strlen(COHORT_FORMAT)) < 0)
        goto done;
    a = H5Acreate2(file, "mmdx_format", t, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, t, COHORT_FORMAT) < 0)
        goto done;
    close_id(&a, H5Aclose);
    a = H5Acreate2(file, "mmdx_format_version", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_INT, &version) < 0)
        goto done;
    close_id(&a, H5Aclose);
    snprintf(creator, sizeof creator, "libmmdx %s", mmdx_version());
    if (H5Tset_size(t, strlen(creator)) < 0)
        goto done;
    a = H5Acreate2(file, "creator", t, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, t, creator) < 0)
        goto done;
    ok = 1;
done:
    kept = ok ? -1 : mmdx_h5err_keep();
    close_id(&a, H5Aclose);
    close_id(&t, H5Tclose);
    close_id(&s, H5Sclose);
    mmdx_h5err_restore(kept);
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------------ writer */

struct mmdx_cohort_writer {
    mmdx_ctx_t *ctx;
    mmdx_outfile_t *out;
    char *path;
    const mmdx_space_t *orig; /* the caller's space (chunks usually point at it) */
    mmdx_space_t *space;      /* what the file declares */
    size_t n, d, nt;
    hid_t file, d_ids, d_values, d_flags, d_labels;
    double *vbuf;
    uint8_t *fbuf;
    int32_t *lbuf;
    size_t buf_rows;
    char **ids; /* every id written, for the duplicate check */
    size_t cap_ids;
    mmdx_hashmap_t idmap;
};

static void writer_free(mmdx_cohort_writer_t *w)
{
    close_id(&w->d_ids, H5Dclose);
    close_id(&w->d_values, H5Dclose);
    close_id(&w->d_flags, H5Dclose);
    close_id(&w->d_labels, H5Dclose);
    close_id(&w->file, H5Fclose);
    H5Eclear2(H5E_DEFAULT);
    for (size_t i = 0; i < w->n; i++)
        mmdx_free(w->ids[i]);
    mmdx_free(w->ids);
    mmdx_hashmap_clear(&w->idmap);
    mmdx_free(w->vbuf);
    mmdx_free(w->fbuf);
    mmdx_free(w->lbuf);
    mmdx_space_free(w->space);
    mmdx_free(w->path);
    mmdx_free(w);
}

void mmdx_cohort_writer_abort(mmdx_cohort_writer_t *w)
{
    mmdx_outfile_t *out;
    if (w == NULL)
        return;
    out = w->out;
    writer_free(w); /* closes the HDF5 file first, then the temporary file goes */
    mmdx_outfile_abort(out);
}

static int writer_fail(mmdx_cohort_writer_t *w, mmdx_error_t *err)
{
    if (w->ctx && err)
        mmdx_ctx_set_error(w->ctx, err);
    return err ? err->code : MMDX_EIO;
}

static int write_space(hid_t file, const mmdx_space_t *s)
{
    size_t d = mmdx_space_n_features(s), nt = mmdx_space_n_targets(s), nl = 0, nc = 0;
    const char **str = NULL, **units = NULL;
    int8_t *kinds = NULL, *tr = NULL;
    uint32_t *owner = NULL;
    hid_t g = -1, kept;
    int rc = -1;
    for (size_t j = 0; j < d; j++)
        nl += mmdx_space_n_levels(s, j);
    for (size_t t = 0; t < nt; t++)
        nc += mmdx_space_n_classes(s, t);
    {
        size_t most = d > nl ? d : nl;
        most = most > nc ? most : nc;
        most = most > nt ? most : nt;
        str = mmdx_malloc((most ? most : 1) * sizeof *str);
        owner = mmdx_malloc((most ? most : 1) * sizeof *owner);
    }
    units = mmdx_malloc((d ? d : 1) * sizeof *units);
    kinds = mmdx_malloc(d ? d : 1);
    tr = mmdx_malloc(d ? d : 1);
    if (str == NULL || owner == NULL || units == NULL || kinds == NULL || tr == NULL) {
        rc = -2;
        goto done;
    }
    g = untimed_gcreate(file, "space");
    if (g < 0)
        goto done;
    for (size_t j = 0; j < d; j++) {
        str[j] = mmdx_space_feature_id(s, j);
        units[j] = mmdx_space_feature_unit(s, j);
        kinds[j] = (int8_t)mmdx_space_feature_kind(s, j);
        tr[j] = (int8_t)mmdx_space_feature_transform(s, j);
    }
    if ((rc = write_strings(g, "feature_ids", d, str)) < 0 || (rc = write_strings(g, "feature_units", d, units)) < 0)
        goto done;
    rc = -1;
    if (write_array(g, "feature_kinds", H5T_STD_I8LE, H5T_NATIVE_INT8, d, kinds) < 0 ||
        write_array(g, "feature_transforms", H5T_STD_I8LE, H5T_NATIVE_INT8, d, tr) < 0)
        goto done;
    nl = 0;
    for (size_t j = 0; j < d; j++)
        for (size_t k = 0; k < mmdx_space_n_levels(s, j); k++) {
            str[nl] = mmdx_space_level(s, j, k);
            owner[nl++] = (uint32_t)j;
        }
    if ((rc = write_strings(g, "levels", nl, str)) < 0)
        goto done;
    rc = -1;
    if (write_array(g, "level_feature", H5T_STD_U32LE, H5T_NATIVE_UINT32, nl, owner) < 0)
        goto done;
    for (size_t t = 0; t < nt; t++)
        str[t] = mmdx_space_target_name(s, t);
    if ((rc = write_strings(g, "target_names", nt, str)) < 0)
        goto done;
    rc = -1;
    nc = 0;
    for (size_t t = 0; t < nt; t++)
        for (size_t k = 0; k < mmdx_space_n_classes(s, t); k++) {
            str[nc] = mmdx_space_class_name(s, t, k);
            owner[nc++] = (uint32_t)t;
        }
    if ((rc = write_strings(g, "classes", nc, str)) < 0)
        goto done;
    rc = -1;
    if (write_array(g, "class_target", H5T_STD_U32LE, H5T_NATIVE_UINT32, nc, owner) < 0)
        goto done;
    rc = 0;
done:
    kept = rc == -1 ? mmdx_h5err_keep() : -1;
    close_id(&g, H5Gclose);
    mmdx_h5err_restore(kept);
    mmdx_free(str);
    mmdx_free(owner);
    mmdx_free(units);
    mmdx_free(kinds);
    mmdx_free(tr);
    return rc;
}

int mmdx_cohort_writer_open(mmdx_ctx_t *ctx, const char *path, const mmdx_space_t *space,
                            mmdx_cohort_writer_t **out, mmdx_error_t *err)
{
    mmdx_error_t local = {0};
    mmdx_cohort_writer_t *w;
    hid_t fapl = -1, strt = -1;
    int rc;
    if (err == NULL)
        err = &local;
    if (out)
        *out = NULL;
    if (path == NULL || space == NULL || out == NULL || strcmp(path, "-") == 0) {
        if (path != NULL && strcmp(path, "-") == 0)
            rc = mmdx_error_set(err, MMDX_EINVAL, path, NULL, 0,
                                "a cohort file is HDF5 and needs a file name (not standard output)");
        else
            rc = mmdx_error_set(err, MMDX_EINVAL, path, NULL, 0, "a cohort file needs a path and a space");
        if (ctx)
            mmdx_ctx_set_error(ctx, err);
        return rc;
    }
    if (mmdx_init() != MMDX_OK)
        return mmdx_error_set(err, MMDX_ESTATE, path, NULL, 0, "library initialisation failed");
    w = mmdx_calloc(1, sizeof *w);
    if (w == NULL) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
        if (ctx)
            mmdx_ctx_set_error(ctx, err);
        return rc;
    }
    w->ctx = ctx;
    w->file = w->d_ids = w->d_values = w->d_flags = w->d_labels = -1;
    mmdx_hashmap_init(&w->idmap);
    w->orig = space;
    w->space = mmdx_space_clone(space);
    w->path = mmdx_strdup(path);
    if (w->space == NULL || w->path == NULL) {
        mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
        goto fail;
    }
    w->d = mmdx_space_n_features(w->space);
    w->nt = mmdx_space_n_targets(w->space);
    if (mmdx_outfile_open(path, &w->out, err) != MMDX_OK)
        goto fail;
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        mmdx_h5err_report(err, MMDX_EIO, path, NULL, "cannot set up the HDF5 file");
        goto fail;
    }
    w->file = H5Fcreate(mmdx_outfile_temp_path(w->out), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (w->file < 0) {
        mmdx_h5err_report(err, MMDX_EIO, path, NULL, "cannot create the HDF5 file");
        goto fail;
    }
    strt = str_type(MMDX_ID_MAX);
    if (write_attrs(w->file) < 0 || strt < 0) {
        mmdx_h5err_report(err, MMDX_EIO, path, "/", "cannot write the format attributes");
        goto fail;
    }
    rc = write_space(w->file, w->space);
    if (rc < 0) {
        if (rc == -2)
            mmdx_error_set(err, MMDX_ENOMEM, path, "/space", 0, "out of memory");
        else
            mmdx_h5err_report(err, MMDX_EIO, path, "/space", "cannot write the feature space");
        goto fail;
    }
    w->d_ids = make_extendible(w->file, "patient_ids", strt, 1, 0, 1);
    w->d_values = make_extendible(w->file, "values", H5T_IEEE_F64LE, 2, w->d, 0);
    w->d_flags = make_extendible(w->file, "flags", H5T_STD_U8LE, 2, w->d, 1);
    w->d_labels = make_extendible(w->file, "labels", H5T_STD_I32LE, 2, w->nt, 1);
    if (w->d_ids < 0 || w->d_values < 0 || w->d_flags < 0 || w->d_labels < 0) {
        mmdx_h5err_report(err, MMDX_EIO, path, NULL, "cannot create the row datasets");
        goto fail;
    }
    close_id(&strt, H5Tclose);
    close_id(&fapl, H5Pclose);
    *out = w;
    return MMDX_OK;
fail:
    close_id(&strt, H5Tclose);
    close_id(&fapl, H5Pclose);
    mmdx_cohort_writer_abort(w);
    if (ctx)
        mmdx_ctx_set_error(ctx, err);
    return err->code;
}

/* The chunk's first d features and nt targets are those the file declares. */
static int same_prefix(const mmdx_space_t *file, const mmdx_space_t *chunk)
{
    size_t d = mmdx_space_n_features(file), nt = mmdx_space_n_targets(file);
    if (mmdx_space_n_features(chunk) < d || mmdx_space_n_targets(chunk) < nt)
        return 0;
    for (size_t j = 0; j < d; j++) {
        size_t nl = mmdx_space_n_levels(file, j);
        if (strcmp(mmdx_space_feature_id(file, j), mmdx_space_feature_id(chunk, j)) != 0 ||
            mmdx_space_feature_kind(file, j) != mmdx_space_feature_kind(chunk, j) ||
            mmdx_space_n_levels(chunk, j) < nl)
            return 0;
        for (size_t k = 0; k < nl; k++)
            if (strcmp(mmdx_space_level(file, j, k), mmdx_space_level(chunk, j, k)) != 0)
                return 0;
    }
    for (size_t t = 0; t < nt; t++) {
        size_t nc = mmdx_space_n_classes(file, t);
        if (strcmp(mmdx_space_target_name(file, t), mmdx_space_target_name(chunk, t)) != 0 ||
            mmdx_space_n_classes(chunk, t) != nc)
            return 0;
        for (size_t k = 0; k < nc; k++)
            if (strcmp(mmdx_space_class_name(file, t, k), mmdx_space_class_name(chunk, t, k)) != 0)
                return 0;
    }
    return 1;
}

int mmdx_cohort_writer_append(mmdx_cohort_writer_t *w, const mmdx_cohort_t *chunk, mmdx_error_t *err)
{
    mmdx_error_t local = {0};
    size_t k, d, nt;
    const char **ids = NULL;
    char *idbuf;
    hid_t strt = -1;
    if (err == NULL)
        err = &local;
    if (w == NULL || chunk == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, NULL, NULL, 0, "mmdx_cohort_writer_append: NULL argument");
    k = mmdx_cohort_n_patients(chunk);
    d = w->d;
    nt = w->nt;
    if (mmdx_cohort_n_features(chunk) != d || mmdx_cohort_n_targets(chunk) != nt ||
        (mmdx_cohort_space(chunk) != w->orig && !same_prefix(w->space, mmdx_cohort_space(chunk)))) {
        mmdx_error_set(err, MMDX_ESPACE, w->path, NULL, 0,
                       "chunk has %zu features and %zu targets over another space; the file has %zu and %zu",
                       mmdx_cohort_n_features(chunk), mmdx_cohort_n_targets(chunk), d, nt);
        return writer_fail(w, err);
    }
    if (k == 0)
        return MMDX_OK;
    if (k > w->buf_rows) {
        mmdx_free(w->vbuf);
        mmdx_free(w->fbuf);
        mmdx_free(w->lbuf);
        w->vbuf = mmdx_malloc(k * d * sizeof *w->vbuf);
        w->fbuf = mmdx_malloc(k * d);
        w->lbuf = mmdx_malloc(k * nt * sizeof *w->lbuf);
        w->buf_rows = 0;
        if (w->vbuf == NULL || w->fbuf == NULL || w->lbuf == NULL) {
            mmdx_error_set(err, MMDX_ENOMEM, w->path, NULL, 0, "out of memory for a chunk of %zu rows", k);
            return writer_fail(w, err);
        }
        w->buf_rows = k;
    }
    ids = mmdx_malloc(k * sizeof *ids);
    if (ids == NULL || mmdx_grow((void **)&w->ids, &w->cap_ids, w->n + k, sizeof *w->ids) != MMDX_OK ||
        mmdx_hashmap_reserve(&w->idmap, w->n + k) != MMDX_OK) {
        mmdx_free(ids);
        mmdx_error_set(err, MMDX_ENOMEM, w->path, NULL, 0, "out of memory");
        return writer_fail(w, err);
    }
    for (size_t i = 0; i < k; i++) {
        size_t prev;
        ids[i] = mmdx_cohort_id(chunk, i);
        if (ids[i][0] == '\0') {
            mmdx_free(ids);
            mmdx_error_set(err, MMDX_EINVAL, w->path, "patient_ids", (long)(w->n + i + 1),
                           "row %zu has no patient id", w->n + i + 1);
            return writer_fail(w, err);
        }
        if (mmdx_hashmap_get(&w->idmap, ids[i], &prev) ||
            (mmdx_cohort_find(chunk, ids[i]) >= 0 && (size_t)mmdx_cohort_find(chunk, ids[i]) != i)) {
            mmdx_free(ids);
            mmdx_error_set(err, MMDX_EDUP, w->path, "patient_ids", (long)(w->n + i + 1),
                           "row %zu repeats a patient id", w->n + i + 1);
            return writer_fail(w, err);
        }
    }
    /* the file is row-major [N][D]: a row chunk is one contiguous hyperslab */
    for (size_t i0 = 0; i0 < k; i0 += 32) /* 32 rows at a time to stay in cache */
        for (size_t j = 0; j < d; j++) {
            const double *col = mmdx_cohort_column_const(chunk, j);
            const uint8_t *fl = mmdx_cohort_flags_const(chunk, j);
            for (size_t i = i0; i < k && i < i0 + 32; i++) {
                w->vbuf[i * d + j] = col[i];
                w->fbuf[i * d + j] = fl[i];
            }
        }
    for (size_t t = 0; t < nt; t++)
        for (size_t i = 0; i < k; i++)
            w->lbuf[i * nt + t] = mmdx_cohort_label(chunk, i, t);
    idbuf = mmdx_calloc(k, MMDX_ID_MAX);
    if (idbuf == NULL) {
        mmdx_free(ids);
        mmdx_error_set(err, MMDX_ENOMEM, w->path, NULL, 0, "out of memory");
        return writer_fail(w, err);
    }
    for (size_t i = 0; i < k; i++) /* ids are shorter than MMDX_ID_MAX (mmdx_cohort_set_id) */
        memcpy(idbuf + i * MMDX_ID_MAX, ids[i], strlen(ids[i]));
    strt = str_type(MMDX_ID_MAX);
    if (strt < 0 || write_rows(w->d_ids, strt, w->n, k, 0, 1, idbuf) < 0 ||
        write_rows(w->d_values, H5T_NATIVE_DOUBLE, w->n, k, d, 2, w->vbuf) < 0 ||
        write_rows(w->d_flags, H5T_NATIVE_UINT8, w->n, k, d, 2, w->fbuf) < 0 ||
        write_rows(w->d_labels, H5T_NATIVE_INT32, w->n, k, nt, 2, w->lbuf) < 0) {
        close_id(&strt, H5Tclose);
        mmdx_free(ids);
        mmdx_free(idbuf);
        mmdx_h5err_report(err, MMDX_EIO, w->path, NULL, "cannot write rows");
        return writer_fail(w, err);
    }
    close_id(&strt, H5Tclose);
    mmdx_free(idbuf);
    for (size_t i = 0; i < k; i++) {
        char *copy = mmdx_strdup(ids[i]);
        if (copy == NULL) {
            mmdx_free(ids);
            mmdx_error_set(err, MMDX_ENOMEM, w->path, NULL, 0, "out of memory");
            return writer_fail(w, err);
        }
        w->ids[w->n] = copy;
        (void)mmdx_hashmap_put(&w->idmap, copy, w->n); /* reserved above */
        w->n++;
    }
    mmdx_free(ids);
    return MMDX_OK;
}

int mmdx_cohort_writer_commit(mmdx_cohort_writer_t *w, mmdx_error_t *err)
{
    mmdx_error_t local = {0};
    mmdx_outfile_t *out;
    mmdx_ctx_t *ctx;
    int failed = 0;
    if (err == NULL)
        err = &local;
    if (w == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, NULL, NULL, 0, "mmdx_cohort_writer_commit: NULL writer");
    close_id(&w->d_ids, H5Dclose);
    close_id(&w->d_values, H5Dclose);
    close_id(&w->d_flags, H5Dclose);
    close_id(&w->d_labels, H5Dclose);
    if (H5Fclose(w->file) < 0) {
        mmdx_h5err_report(err, MMDX_EIO, w->path, NULL, "cannot finish the HDF5 file");
        failed = 1;
    }
    w->file = -1;
    out = w->out;
    ctx = w->ctx;
    writer_free(w);
    if (failed) {
        mmdx_outfile_abort(out);
    } else if (mmdx_outfile_commit(out, err) != MMDX_OK) {
        failed = 1;
    }
    if (failed) {
        if (ctx)
            mmdx_ctx_set_error(ctx, err);
        return err->code;
    }
    return MMDX_OK;
}

int mmdx_cohort_save(mmdx_ctx_t *ctx, const mmdx_cohort_t *c, const char *path, mmdx_error_t *err)
{
    mmdx_cohort_writer_t *w = NULL;
    const mmdx_space_t *space;
    mmdx_space_t *shape = NULL;
    int rc;
    if (c == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, path, NULL, 0, "mmdx_cohort_save: NULL cohort");
    space = mmdx_cohort_space(c);
    /* the space may have grown after the cohort was made: declare the cohort's shape */
    if (mmdx_space_n_features(space) != mmdx_cohort_n_features(c) ||
        mmdx_space_n_targets(space) != mmdx_cohort_n_targets(c)) {
        shape = mmdx_space_clone(space);
        if (shape == NULL)
            return mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
        mmdx_space_truncate_features(shape, mmdx_cohort_n_features(c));
        mmdx_space_truncate_targets(shape, mmdx_cohort_n_targets(c));
        space = shape;
    }
    rc = mmdx_cohort_writer_open(ctx, path, space, &w, err);
    if (rc == MMDX_OK) {
        if (shape) /* chunks over the caller's space: compare by content */
            w->orig = NULL;
        rc = mmdx_cohort_writer_append(w, c, err);
        if (rc == MMDX_OK)
            rc = mmdx_cohort_writer_commit(w, err);
        else
            mmdx_cohort_writer_abort(w);
    }
    mmdx_space_free(shape);
    return rc;
}

/* ------------------------------------------------------------------ reader */

struct mmdx_cohort_reader {
    mmdx_ctx_t *ctx;
    char *path;
    hid_t file, d_ids, d_values, d_flags, d_labels;
    mmdx_space_t *space;
    size_t n, d, nt, pos;
    double *vbuf;
    uint8_t *fbuf;
    int32_t *lbuf;
    size_t buf_rows;
    mmdx_file_id_t id; /* the file as it was before HDF5 opened it */
};

void mmdx_cohort_reader_close(mmdx_cohort_reader_t *r)
{
    if (r == NULL)
        return;
    close_id(&r->d_ids, H5Dclose);
    close_id(&r->d_values, H5Dclose);
    close_id(&r->d_flags, H5Dclose);
    close_id(&r->d_labels, H5Dclose);
    close_id(&r->file, H5Fclose);
    H5Eclear2(H5E_DEFAULT);
    mmdx_space_free(r->space);
    mmdx_free(r->vbuf);
    mmdx_free(r->fbuf);
    mmdx_free(r->lbuf);
    mmdx_free(r->path);
    mmdx_free(r);
}

const mmdx_space_t *mmdx_cohort_reader_space(const mmdx_cohort_reader_t *r)
{
    return r ? r->space : NULL;
}

size_t mmdx_cohort_reader_n_patients(const mmdx_cohort_reader_t *r)
{
    return r ? r->n : 0;
}

int mmdx_cohort_reader_rewind(mmdx_cohort_reader_t *r)
{
    if (r == NULL)
        return MMDX_EINVAL;
    r->pos = 0;
    return MMDX_OK;
}

/* Open dataset @p name and check its rank, its class and (for dims[k] != SIZE_MAX) its dims. */
static hid_t open_checked(hid_t loc, const char *path, const char *name, int rank, H5T_class_t cls,
                          size_t *dims, mmdx_error_t *err)
{
    hid_t d, s = -1, t = -1;
    hsize_t hd[2] = {0, 0};
    int ok = 0;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        mmdx_error_set(err, MMDX_EFORMAT, path, name, 0, "dataset %s is missing: not a cohort file or damaged",
                       name);
        return -1;
    }
    d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0) {
        mmdx_h5err_report(err, MMDX_EFORMAT, path, name, "cannot open the dataset");
        return -1;
    }
    s = H5Dget_space(d);
    t = H5Dget_type(d);
    if (s < 0 || t < 0) {
        mmdx_h5err_report(err, MMDX_EFORMAT, path, name, "cannot read the dataset's shape");
    } else if (H5Sget_simple_extent_ndims(s) != rank || H5Sget_simple_extent_dims(s, hd, NULL) < 0) {
        mmdx_error_set(err, MMDX_EFORMAT, path, name, 0, "dataset %s should have %d dimension%s", name, rank,
                       rank > 1 ? "s" : "");
    } else if (H5Tget_class(t) != cls) {
        mmdx_error_set(err, MMDX_EFORMAT, path, name, 0, "dataset %s has the wrong type (expected %s)", name,
                       cls == H5T_STRING ? "strings" : cls == H5T_FLOAT ? "floating point" : "integers");
    } else {
        ok = 1;
        for (int k = 0; k < rank; k++) {
            if (dims[k] != SIZE_MAX && hd[k] != dims[k]) {
                mmdx_error_set(err, MMDX_EFORMAT, path, name, 0,
                               "dataset %s has %llu elements along dimension %d, expected %zu", name,
                               (unsigned long long)hd[k], k + 1, dims[k]);
                ok = 0;
                break;
            }
            dims[k] = (size_t)hd[k];
        }
    }
    close_id(&s, H5Sclose);
    close_id(&t, H5Tclose);
    H5Eclear2(H5E_DEFAULT);
    if (!ok) {
        H5Dclose(d);
        return -1;
    }
    return d;
}

/* Read elements [first, first + n) of 1-D string dataset @p d into @p out as new strings.
 * Only fixed-length strings: a variable-length string type is refused before any data is
 * read, so HDF5's global heap is never parsed (see str_type()). */
static int read_strings(hid_t d, const char *path, const char *name, size_t first, size_t n, char **out,
                        mmdx_error_t *err)
{
    hid_t ft = H5Dget_type(d), mt = -1, fs = -1, ms = -1;
    hsize_t start[1] = {first}, count[1] = {n};
    char *fixed = NULL;
    size_t size = 0;
    int rc = MMDX_OK, is_vlen;
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (ft < 0)
        return mmdx_h5err_report(err, MMDX_EFORMAT, path, name, "cannot read the string type");
    if (n == 0) {
        close_id(&ft, H5Tclose);
        return MMDX_OK;
    }
    is_vlen = H5Tis_variable_str(ft);
    if (is_vlen != 0) {
        rc = mmdx_error_set(err, MMDX_EFORMAT, path, name, 0,
                            "dataset %s holds variable-length strings; cohort files use fixed-length ones", name);
        goto done;
    }
    size = H5Tget_size(ft);
    mt = H5Tcopy(H5T_C_S1);
    if (size == 0 || size > MAX_STRING || mt < 0 || H5Tset_size(mt, size + 1) < 0 ||
        H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 || H5Tset_cset(mt, H5Tget_cset(ft)) < 0) {
        rc = mmdx_error_set(err, MMDX_EFORMAT, path, name, 0, "dataset %s holds unusable strings", name);
        goto done;
    }
    fixed = mmdx_malloc(n * (size + 1));
    if (fixed == NULL) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, path, name, 0, "out of memory");
        goto done;
    }
    fs = H5Dget_space(d);
    ms = H5Screate_simple(1, count, NULL);
    if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(d, mt, ms, fs, H5P_DEFAULT, fixed) < 0) {
        rc = mmdx_h5err_report(err, MMDX_EFORMAT, path, name, "cannot read strings");
        goto done;
    }
    for (size_t i = 0; i < n && rc == MMDX_OK; i++) {
        fixed[i * (size + 1) + size] = '\0';
        out[i] = mmdx_strdup(fixed + i * (size + 1));
        if (out[i] == NULL)
            rc = mmdx_error_set(err, MMDX_ENOMEM, path, name, 0, "out of memory");
    }
done:
    if (rc != MMDX_OK)
        for (size_t i = 0; i < n; i++) {
            mmdx_free(out[i]);
            out[i] = NULL;
        }
    mmdx_free(fixed);
    close_id(&ms, H5Sclose);
    close_id(&fs, H5Sclose);
    close_id(&mt, H5Tclose);
    close_id(&ft, H5Tclose);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

/* Read a whole small 1-D numeric dataset as native ints. */
static int read_ints(hid_t g, const char *path, const char *name, size_t n, int *out, mmdx_error_t *err)
{
    size_t dims[1] = {n};
    char full[64];
    hid_t d;
    int ok;
    snprintf(full, sizeof full, "/space/%s", name);
    d = open_checked(g, path, name, 1, H5T_INTEGER, dims, err);
    if (d < 0) {
        if (err && strcmp(err->object, name) == 0)
            snprintf(err->object, sizeof err->object, "%s", full);
        return err ? err->code : MMDX_EFORMAT;
    }
    ok = n == 0 || H5Dread(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0;
    if (!ok)
        mmdx_h5err_report(err, MMDX_EFORMAT, path, full, "cannot read the dataset");
    H5Dclose(d);
    return ok ? MMDX_OK : MMDX_EFORMAT;
}

/* Open a 1-D string dataset of /space and read all of it in batches, passing each
 * string to @p fn. @p n: the expected length, or SIZE_MAX to learn it (then *n_out). */
typedef int (*string_fn)(void *data, size_t i, const char *s, mmdx_error_t *err);
static int read_string_list(hid_t g, const char *path, const char *name, size_t n, size_t max,
                            size_t *n_out, string_fn fn, void *data, mmdx_error_t *err)
{
    size_t dims[1] = {n};
    char full[64], **batch = NULL;
    hid_t d;
    int rc = MMDX_OK;
    snprintf(full, sizeof full, "/space/%s", name);
    d = open_checked(g, path, name, 1, H5T_STRING, dims, err);
    if (d < 0) {
        if (err && strcmp(err->object, name) == 0)
            snprintf(err->object, sizeof err->object, "%s", full);
        return err ? err->code : MMDX_EFORMAT;
    }
    if (dims[0] > max) {
        H5Dclose(d);
        return mmdx_error_set(err, MMDX_ESECURITY, path, full, 0, "%s lists %zu entries, more than the limit %zu",
                              full, dims[0], max);
    }
    if (n_out)
        *n_out = dims[0];
    batch = mmdx_malloc(STR_BATCH * sizeof *batch);
    if (batch == NULL) {
        H5Dclose(d);
        return mmdx_error_set(err, MMDX_ENOMEM, path, full, 0, "out of memory");
    }
    for (size_t first = 0; first < dims[0] && rc == MMDX_OK; first += STR_BATCH) {
        size_t k = dims[0] - first < STR_BATCH ? dims[0] - first : STR_BATCH;
        rc = read_strings(d, path, full, first, k, batch, err);
        for (size_t i = 0; i < k && rc == MMDX_OK; i++)
            rc = fn(data, first + i, batch[i], err);
        for (size_t i = 0; i < k; i++)
            mmdx_free(batch[i]);
    }
    mmdx_free(batch);
    H5Dclose(d);
    return rc;
}

typedef struct space_build {
    mmdx_space_t *space;
    const char *path;
    int *kinds, *transforms, *owner;
    size_t n_owner;
    char ***classes; /* [nt] lists */
    size_t *n_classes;
    size_t nt;
} space_build_t;

static int add_level_cb(void *data, size_t i, const char *s, mmdx_error_t *err)
{
    space_build_t *b = data;
    size_t j = (size_t)b->owner[i], lv;
    int rc;
    if (b->owner[i] < 0 || j >= mmdx_space_n_features(b->space) ||
        mmdx_space_feature_kind(b->space, j) != MMDX_KIND_CATEGORICAL)
        return mmdx_error_set(err, MMDX_EFORMAT, b->path, "/space/level_feature", (long)i + 1,
                              "level %zu belongs to no categorical feature", i + 1);
    if (mmdx_space_find_level(b->space, j, s) >= 0)
        return mmdx_error_set(err, MMDX_EFORMAT, b->path, "/space/levels", (long)i + 1,
                              "level %zu repeats a level of its feature", i + 1);
    rc = mmdx_space_add_level(b->space, j, s, &lv);
    if (rc == MMDX_ENOMEM)
        return mmdx_error_set(err, rc, b->path, "/space/levels", 0, "out of memory");
    if (rc != MMDX_OK)
        return mmdx_error_set(err, MMDX_EFORMAT, b->path, "/space/levels", (long)i + 1, "level %zu is invalid",
                              i + 1);
    return MMDX_OK;
}

static int add_class_cb(void *data, size_t i, const char *s, mmdx_error_t *err)
{
    space_build_t *b = data;
    size_t t = (size_t)b->owner[i];
    char **list;
    if (b->owner[i] < 0 || t >= b->nt)
        return mmdx_error_set(err, MMDX_EFORMAT, b->path, "/space/class_target", (long)i + 1,
                              "class %zu belongs to no target", i + 1);
    list = mmdx_realloc(b->classes[t], (b->n_classes[t] + 1) * sizeof *list);
    if (list == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, b->path, "/space/classes", 0, "out of memory");
    b->classes[t] = list;
    list[b->n_classes[t]] = mmdx_strdup(s);
    if (list[b->n_classes[t]] == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, b->path, "/space/classes", 0, "out of memory");
    b->n_classes[t]++;
    return MMDX_OK;
}

typedef struct name_list {
    char **names;
} name_list_t;

static int keep_name_cb(void *data, size_t i, const char *s, mmdx_error_t *err)
{
    name_list_t *l = data;
    (void)err;
    l->names[i] = mmdx_strdup(s);
    return l->names[i] ? MMDX_OK : MMDX_ENOMEM;
}

/* Units are stored per feature; the space takes a unit only when a feature is added,
 * so the features are added with their units in one pass over both lists. */
typedef struct unit_pass {
    space_build_t *b;
    char **units;
} unit_pass_t;

static int keep_unit_cb(void *data, size_t i, const char *s, mmdx_error_t *err)
{
    unit_pass_t *u = data;
    if (s[0] && !mmdx_space_valid_name(s))
        return mmdx_error_set(err, MMDX_EFORMAT, u->b->path, "/space/feature_units", (long)i + 1,
                              "unit of feature %zu is invalid", i + 1);
    u->units[i] = mmdx_strdup(s);
    return u->units[i] ? MMDX_OK : mmdx_error_set(err, MMDX_ENOMEM, u->b->path, "/space/feature_units", 0,
                                                  "out of memory");
}

typedef struct feature_pass {
    space_build_t *b;
    char **units;
} feature_pass_t;

static int add_feature_unit_cb(void *data, size_t i, const char *s, mmdx_error_t *err)
{
    feature_pass_t *f = data;
    space_build_t *b = f->b;
    int rc;
    if (mmdx_space_find_feature(b->space, s) >= 0)
        return mmdx_error_set(err, MMDX_EFORMAT, b->path, "/space/feature_ids", (long)i + 1,
                              "feature id %zu repeats an earlier one", i + 1);
    if (b->kinds[i] < 0 || b->kinds[i] > MMDX_KIND_CATEGORICAL)
        return mmdx_error_set(err, MMDX_EFORMAT, b->path, "/space/feature_kinds", (long)i + 1,
                              "feature %zu has unknown kind %d", i + 1, b->kinds[i]);
    if (b->transforms[i] < 0 || b->transforms[i] > MMDX_TRANSFORM_AUTO)
        return mmdx_error_set(err, MMDX_EFORMAT, b->path, "/space/feature_transforms", (long)i + 1,
                              "feature %zu has unknown transform %d", i + 1, b->transforms[i]);
    rc = mmdx_space_add_feature(b->space, s, (mmdx_kind_t)b->kinds[i], f->units[i],
                                (mmdx_transform_t)b->transforms[i], NULL);
    if (rc == MMDX_ENOMEM)
        return mmdx_error_set(err, rc, b->path, "/space/feature_ids", 0, "out of memory");
    if (rc != MMDX_OK)
        return mmdx_error_set(err, MMDX_EFORMAT, b->path, "/space/feature_ids", (long)i + 1,
                              "feature id %zu is not a namespaced id", i + 1);
    return MMDX_OK;
}

static int read_space(hid_t file, const char *path, mmdx_space_t **out, mmdx_error_t *err)
{
    space_build_t b;
    name_list_t targets = {NULL};
    unit_pass_t up = {NULL, NULL};
    feature_pass_t fp;
    size_t d = 0, nl = 0, nc = 0;
    hid_t g;
    int rc;
    memset(&b, 0, sizeof b);
    b.path = path;
    if (H5Lexists(file, "space", H5P_DEFAULT) <= 0 || (g = H5Gopen2(file, "space", H5P_DEFAULT)) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return mmdx_error_set(err, MMDX_EFORMAT, path, "/space", 0, "group /space is missing");
    }
    b.space = mmdx_space_alloc();
    if (b.space == NULL) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, path, "/space", 0, "out of memory");
        goto done;
    }
    /* learn D from the ids (bounded), then read the per-feature arrays of that length */
    {
        size_t dims[1] = {SIZE_MAX};
        hid_t d_ids = open_checked(g, path, "feature_ids", 1, H5T_STRING, dims, err);
        if (d_ids < 0) {
            snprintf(err->object, sizeof err->object, "/space/feature_ids");
            rc = err->code;
            goto done;
        }
        H5Dclose(d_ids);
        d = dims[0];
        if (d > MAX_FEATURES) {
            rc = mmdx_error_set(err, MMDX_ESECURITY, path, "/space/feature_ids", 0,
                                "%zu features, more than the limit %zu", d, MAX_FEATURES);
            goto done;
        }
    }
    b.kinds = mmdx_malloc((d ? d : 1) * sizeof *b.kinds);
    b.transforms = mmdx_malloc((d ? d : 1) * sizeof *b.transforms);
    up.b = &b;
    up.units = mmdx_calloc(d ? d : 1, sizeof *up.units);
    if (b.kinds == NULL || b.transforms == NULL || up.units == NULL) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, path, "/space", 0, "out of memory");
        goto done;
    }
    rc = read_ints(g, path, "feature_kinds", d, b.kinds, err);
    if (rc == MMDX_OK)
        rc = read_ints(g, path, "feature_transforms", d, b.transforms, err);
    if (rc == MMDX_OK)
        rc = read_string_list(g, path, "feature_units", d, MAX_FEATURES, NULL, keep_unit_cb, &up, err);
    fp.b = &b;
    fp.units = up.units;
    if (rc == MMDX_OK)
        rc = read_string_list(g, path, "feature_ids", d, MAX_FEATURES, NULL, add_feature_unit_cb, &fp, err);
    if (rc != MMDX_OK)
        goto done;
    /* levels */
    {
        size_t dims[1] = {SIZE_MAX};
        hid_t dl = open_checked(g, path, "level_feature", 1, H5T_INTEGER, dims, err);
        if (dl < 0) {
            snprintf(err->object, sizeof err->object, "/space/level_feature");
            rc = err->code;
            goto done;
        }
        H5Dclose(dl);
        nl = dims[0];
    }
    if (nl > MAX_LEVELS) {
        rc = mmdx_error_set(err, MMDX_ESECURITY, path, "/space/levels", 0, "too many levels (%zu)", nl);
        goto done;
    }
    b.owner = mmdx_malloc((nl ? nl : 1) * sizeof *b.owner);
    if (b.owner == NULL) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, path, "/space", 0, "out of memory");
        goto done;
    }
    rc = read_ints(g, path, "level_feature", nl, b.owner, err);
    if (rc == MMDX_OK)
        rc = read_string_list(g, path, "levels", nl, MAX_LEVELS, NULL, add_level_cb, &b, err);
    if (rc != MMDX_OK)
        goto done;
    /* targets and their classes */
    {
        size_t dims[1] = {SIZE_MAX};
        hid_t dt = open_checked(g, path, "target_names", 1, H5T_STRING, dims, err);
        if (dt < 0) {
            snprintf(err->object, sizeof err->object, "/space/target_names");
            rc = err->code;
            goto done;
        }
        H5Dclose(dt);
        b.nt = dims[0];
        dims[0] = SIZE_MAX;
        dt = open_checked(g, path, "class_target", 1, H5T_INTEGER, dims, err);
        if (dt < 0) {
            snprintf(err->object, sizeof err->object, "/space/class_target");
            rc = err->code;
            goto done;
        }
        H5Dclose(dt);
        nc = dims[0];
    }
    if (b.nt > MAX_TARGETS || nc > MAX_LEVELS) {
        rc = mmdx_error_set(err, MMDX_ESECURITY, path, "/space/target_names", 0, "too many targets or classes");
        goto done;
    }
    targets.names = mmdx_calloc(b.nt ? b.nt : 1, sizeof *targets.names);
    b.classes = mmdx_calloc(b.nt ? b.nt : 1, sizeof *b.classes);
    b.n_classes = mmdx_calloc(b.nt ? b.nt : 1, sizeof *b.n_classes);
    mmdx_free(b.owner);
    b.owner = mmdx_malloc((nc ? nc : 1) * sizeof *b.owner);
    if (targets.names == NULL || b.classes == NULL || b.n_classes == NULL || b.owner == NULL) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, path, "/space", 0, "out of memory");
        goto done;
    }
    rc = read_string_list(g, path, "target_names", b.nt, MAX_TARGETS, NULL, keep_name_cb, &targets, err);
    if (rc == MMDX_ENOMEM)
        mmdx_error_set(err, rc, path, "/space/target_names", 0, "out of memory");
    if (rc == MMDX_OK)
        rc = read_ints(g, path, "class_target", nc, b.owner, err);
    if (rc == MMDX_OK)
        rc = read_string_list(g, path, "classes", nc, MAX_LEVELS, NULL, add_class_cb, &b, err);
    for (size_t t = 0; t < b.nt && rc == MMDX_OK; t++) {
        if (mmdx_space_find_target(b.space, targets.names[t]) >= 0) {
            rc = mmdx_error_set(err, MMDX_EFORMAT, path, "/space/target_names", (long)t + 1,
                                "target %zu repeats an earlier one", t + 1);
            break;
        }
        rc = mmdx_space_add_target(b.space, targets.names[t], b.n_classes[t], (const char *const *)b.classes[t],
                                   NULL);
        if (rc == MMDX_ENOMEM)
            mmdx_error_set(err, rc, path, "/space/target_names", 0, "out of memory");
        else if (rc != MMDX_OK)
            rc = mmdx_error_set(err, MMDX_EFORMAT, path, "/space/classes", (long)t + 1,
                                "target %zu has invalid classes (fewer than two, repeated or malformed)", t + 1);
    }
done:
    if (up.units)
        for (size_t j = 0; j < d; j++)
            mmdx_free(up.units[j]);
    mmdx_free(up.units);
    if (targets.names)
        for (size_t t = 0; t < b.nt; t++)
            mmdx_free(targets.names[t]);
    mmdx_free(targets.names);
    if (b.classes)
        for (size_t t = 0; t < b.nt; t++) {
            for (size_t k = 0; b.n_classes && k < b.n_classes[t]; k++)
                mmdx_free(b.classes[t][k]);
            mmdx_free(b.classes[t]);
        }
    mmdx_free(b.classes);
    mmdx_free(b.n_classes);
    mmdx_free(b.kinds);
    mmdx_free(b.transforms);
    mmdx_free(b.owner);
    H5Gclose(g);
    H5Eclear2(H5E_DEFAULT);
    if (rc != MMDX_OK) {
        mmdx_space_free(b.space);
        return rc;
    }
    *out = b.space;
    return MMDX_OK;
}

/* Read the root attribute @p name as a string (fixed or variable length). */
static int read_attr_string(hid_t file, const char *name, char *buf, size_t cap)
{
    hid_t a = -1, t = -1, mt = -1, s = -1;
    int ok = 0;
    buf[0] = '\0';
    if (H5Aexists(file, name) <= 0)
        goto done;
    a = H5Aopen(file, name, H5P_DEFAULT);
    t = a >= 0 ? H5Aget_type(a) : -1;
    s = a >= 0 ? H5Aget_space(a) : -1;
    if (t < 0 || s < 0 || H5Tget_class(t) != H5T_STRING || H5Sget_simple_extent_npoints(s) != 1)
        goto done;
    mt = H5Tcopy(H5T_C_S1);
    if (H5Tis_variable_str(t) != 0) /* not read: see str_type() */
        goto done;
    if (H5Tset_size(mt, cap) < 0 || H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(mt, H5Tget_cset(t)) < 0 || H5Aread(a, mt, buf) < 0)
        goto done;
    buf[cap - 1] = '\0';
    ok = 1;
done:
    close_id(&mt, H5Tclose);
    close_id(&t, H5Tclose);
    close_id(&s, H5Sclose);
    close_id(&a, H5Aclose);
    H5Eclear2(H5E_DEFAULT);
    return ok;
}

static int read_attr_int(hid_t file, const char *name, int *v)
{
    hid_t a = -1, t = -1, s = -1;
    int ok = 0;
    if (H5Aexists(file, name) <= 0)
        goto done;
    a = H5Aopen(file, name, H5P_DEFAULT);
    t = a >= 0 ? H5Aget_type(a) : -1;
    s = a >= 0 ? H5Aget_space(a) : -1;
    if (t < 0 || s < 0 || H5Tget_class(t) != H5T_INTEGER || H5Sget_simple_extent_npoints(s) != 1)
        goto done;
    ok = H5Aread(a, H5T_NATIVE_INT, v) >= 0;
done:
    close_id(&t, H5Tclose);
    close_id(&s, H5Sclose);
    close_id(&a, H5Aclose);
    H5Eclear2(H5E_DEFAULT);
    return ok;
}

static hid_t open_rows(mmdx_cohort_reader_t *r, const char *name, int rank, H5T_class_t cls, size_t cols,
                       mmdx_error_t *err)
{
    size_t dims[2] = {r->n, cols};
    hid_t d = open_checked(r->file, r->path, name, rank, cls, dims, err);
    if (d < 0 && err && strcmp(err->object, name) == 0)
        snprintf(err->object, sizeof err->object, "/%s", name);
    return d;
}

/* The file at @p path or, with @p image, the @p size bytes there (@p path names it). */
static int reader_open(mmdx_ctx_t *ctx, const char *path, const void *image, size_t size,
                       mmdx_cohort_reader_t **out, mmdx_error_t *err)
{
    mmdx_error_t local = {0};
    mmdx_cohort_reader_t *r = NULL;
    char format[64];
    int version = 0;
    htri_t is_h5;
    if (err == NULL)
        err = &local;
    if (out)
        *out = NULL;
    if (path == NULL || out == NULL) {
        mmdx_error_set(err, MMDX_EINVAL, path, NULL, 0, "mmdx_cohort_reader_open: NULL argument");
        goto fail;
    }
    if (mmdx_init() != MMDX_OK) {
        mmdx_error_set(err, MMDX_ESTATE, path, NULL, 0, "library initialisation failed");
        goto fail;
    }
    if (image == NULL && access(path, R_OK) != 0) {
        mmdx_error_set(err, MMDX_ENOTFOUND, path, NULL, 0, "cannot read the file");
        goto fail;
    }
    if (image != NULL) {
        is_h5 = mmdx_h5_image_is_hdf5(image, size);
    } else {
        is_h5 = H5Fis_hdf5(path);
        H5Eclear2(H5E_DEFAULT);
    }
    if (is_h5 <= 0) {
        mmdx_error_set(err, MMDX_EFORMAT, path, NULL, 0, "not an HDF5 file, so not a cohort file");
        goto fail;
    }
    r = mmdx_calloc(1, sizeof *r);
    if (r == NULL || (r->path = mmdx_strdup(path)) == NULL) {
        mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
        goto fail;
    }
    r->ctx = ctx;
    r->file = r->d_ids = r->d_values = r->d_flags = r->d_labels = -1;
    mmdx_file_id_take(image ? NULL : path, &r->id); /* an image in memory cannot change under us */
    r->file = mmdx_h5_open_ro(path, image, size, 1);
    if (r->file < 0) { /* before any other HDF5 call, which would clear the error stack */
        mmdx_h5err_report(err, MMDX_EFORMAT, path, NULL, "cannot open the HDF5 file");
        goto fail;
    }
    if (!read_attr_string(r->file, "mmdx_format", format, sizeof format) || strcmp(format, COHORT_FORMAT) != 0) {
        mmdx_error_set(err, MMDX_EFORMAT, path, "/", 0,
                       "not an mmdx cohort file (root attribute mmdx_format is not \"%s\")", COHORT_FORMAT);
        goto fail;
    }
    if (!read_attr_int(r->file, "mmdx_format_version", &version)) {
        mmdx_error_set(err, MMDX_EFORMAT, path, "/", 0, "root attribute mmdx_format_version is missing");
        goto fail;
    }
    if (version != COHORT_VERSION) {
        mmdx_error_set(err, MMDX_EVERSION, path, "/", 0,
                       "cohort file format version %d; this libmmdx reads version %d", version, COHORT_VERSION);
        goto fail;
    }
    if (read_space(r->file, path, &r->space, err) != MMDX_OK)
        goto fail;
    r->d = mmdx_space_n_features(r->space);
    r->nt = mmdx_space_n_targets(r->space);
    {
        size_t dims[1] = {SIZE_MAX};
        r->d_ids = open_checked(r->file, path, "patient_ids", 1, H5T_STRING, dims, err);
        if (r->d_ids < 0) {
            snprintf(err->object, sizeof err->object, "/patient_ids");
            goto fail;
        }
        r->n = dims[0];
    }
    r->d_values = open_rows(r, "values", 2, H5T_FLOAT, r->d, err);
    if (r->d_values < 0)
        goto fail;
    r->d_flags = open_rows(r, "flags", 2, H5T_INTEGER, r->d, err);
    if (r->d_flags < 0)
        goto fail;
    r->d_labels = open_rows(r, "labels", 2, H5T_INTEGER, r->nt, err);
    if (r->d_labels < 0)
        goto fail;
    /* the file rewritten while its header was read: the space may not match the rows */
    if (mmdx_file_id_check(path, &r->id, NULL, err) != MMDX_OK)
        goto fail;
    *out = r;
    return MMDX_OK;
fail:
    mmdx_cohort_reader_close(r);
    if (ctx)
        mmdx_ctx_set_error(ctx, err);
    return err->code;
}

int mmdx_cohort_reader_open(mmdx_ctx_t *ctx, const char *path, mmdx_cohort_reader_t **out, mmdx_error_t *err)
{
    return reader_open(ctx, path, NULL, 0, out, err);
}

int mmdx_cohort_reader_open_memory(mmdx_ctx_t *ctx, const void *buf, size_t size, const char *name,
                                   mmdx_cohort_reader_t **out, mmdx_error_t *err)
{
    if (buf == NULL && out != NULL) {
        mmdx_error_t local = {0};
        *out = NULL;
        if (err == NULL)
            err = &local;
        mmdx_error_set(err, MMDX_EINVAL, name, NULL, 0, "mmdx_cohort_reader_open_memory: NULL buffer");
        if (ctx)
            mmdx_ctx_set_error(ctx, err);
        return err->code;
    }
    return reader_open(ctx, name ? name : "(memory)", buf, size, out, err);
}

static int read_block(hid_t d, hid_t mtype, size_t first, size_t n, size_t cols, void *buf)
{
    hsize_t mdims[2] = {n, cols};
    hid_t fs, ms, kept;
    int ok;
    if (n == 0 || cols == 0)
        return 0;
    fs = select_rows(d, first, n, cols, 2, 0);
    if (fs < 0)
        return -1;
    ms = H5Screate_simple(2, mdims, NULL);
    ok = ms >= 0 && H5Dread(d, mtype, ms, fs, H5P_DEFAULT, buf) >= 0;
    kept = ok ? -1 : mmdx_h5err_keep();
    close_id(&ms, H5Sclose);
    H5Sclose(fs);
    mmdx_h5err_restore(kept);
    return ok ? 0 : -1;
}

int mmdx_cohort_reader_next(mmdx_cohort_reader_t *r, size_t max_rows, mmdx_cohort_t **chunk, mmdx_error_t *err)
{
    mmdx_error_t local = {0};
    mmdx_cohort_t *c = NULL;
    char **ids = NULL;
    size_t k, d, nt, row_bytes;
    double *vals;
    uint8_t *flags;
    int *labels;
    int rc;
    if (err == NULL)
        err = &local;
    if (chunk)
        *chunk = NULL;
    if (r == NULL || chunk == NULL || max_rows == 0)
        return mmdx_error_set(err, MMDX_EINVAL, r ? r->path : NULL, NULL, 0,
                              "mmdx_cohort_reader_next: NULL argument or max_rows 0");
    if (r->pos >= r->n)
        return 0;
    d = r->d;
    nt = r->nt;
    k = r->n - r->pos < max_rows ? r->n - r->pos : max_rows;
    row_bytes = d * (sizeof(double) * 2 + 2) + nt * sizeof(int32_t) * 2 + 64;
    if (k > READ_BUDGET / row_bytes) /* bounded memory whatever the caller asks */
        k = READ_BUDGET / row_bytes ? READ_BUDGET / row_bytes : 1;
    if (k > r->buf_rows) {
        mmdx_free(r->vbuf);
        mmdx_free(r->fbuf);
        mmdx_free(r->lbuf);
        r->vbuf = mmdx_malloc(k * d * sizeof *r->vbuf);
        r->fbuf = mmdx_malloc(k * d);
        r->lbuf = mmdx_malloc(k * nt * sizeof *r->lbuf);
        r->buf_rows = 0;
        if (r->vbuf == NULL || r->fbuf == NULL || r->lbuf == NULL) {
            rc = mmdx_error_set(err, MMDX_ENOMEM, r->path, NULL, 0, "out of memory for %zu rows", k);
            goto fail;
        }
        r->buf_rows = k;
    }
    c = mmdx_cohort_alloc(r->space, k);
    ids = mmdx_calloc(k, sizeof *ids);
    if (c == NULL || ids == NULL) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, r->path, NULL, 0, "out of memory for %zu rows", k);
        goto fail;
    }
    rc = read_strings(r->d_ids, r->path, "/patient_ids", r->pos, k, ids, err);
    if (rc != MMDX_OK)
        goto fail;
    for (size_t i = 0; i < k; i++) {
        if (!mmdx_space_valid_name(ids[i])) {
            rc = mmdx_error_set(err, MMDX_EFORMAT, r->path, "/patient_ids", (long)(r->pos + i + 1),
                                "row %zu has an empty or malformed patient id", r->pos + i + 1);
            goto fail;
        }
        mmdx_cohort_take_id(c, i, ids[i]);
        ids[i] = NULL;
    }
    if (read_block(r->d_values, H5T_NATIVE_DOUBLE, r->pos, k, d, r->vbuf) < 0) {
        rc = mmdx_h5err_report(err, MMDX_EFORMAT, r->path, "/values", "cannot read values");
        goto fail;
    }
    if (read_block(r->d_flags, H5T_NATIVE_UINT8, r->pos, k, d, r->fbuf) < 0) {
        rc = mmdx_h5err_report(err, MMDX_EFORMAT, r->path, "/flags", "cannot read flags");
        goto fail;
    }
    if (read_block(r->d_labels, H5T_NATIVE_INT32, r->pos, k, nt, r->lbuf) < 0) {
        rc = mmdx_h5err_report(err, MMDX_EFORMAT, r->path, "/labels", "cannot read labels");
        goto fail;
    }
    vals = mmdx_cohort_values_(c);
    flags = mmdx_cohort_flags_(c);
    labels = mmdx_cohort_labels_(c);
    /* transpose row-major [k][d] into columns, 32 rows at a time to stay in cache */
    for (size_t i0 = 0; i0 < k; i0 += 32)
        for (size_t j = 0; j < d; j++)
            for (size_t i = i0; i < k && i < i0 + 32; i++) {
                double v = r->vbuf[i * d + j];
                uint8_t f = r->fbuf[i * d + j];
                if (f & ~(MMDX_VAL_MISSING | MMDX_VAL_CENSOR_LEFT | MMDX_VAL_CENSOR_RIGHT)) {
                    rc = mmdx_error_set(err, MMDX_EFORMAT, r->path, "/flags", (long)(r->pos + i + 1),
                                        "row %zu, feature %zu: unknown flag bits 0x%02x", r->pos + i + 1, j + 1, f);
                    goto fail;
                }
                if (f & MMDX_VAL_MISSING) {
                    v = NAN;
                    f = MMDX_VAL_MISSING;
                } else if (!isfinite(v)) {
                    rc = mmdx_error_set(err, MMDX_EFORMAT, r->path, "/values", (long)(r->pos + i + 1),
                                        "row %zu, feature %zu: value is not finite but not flagged missing",
                                        r->pos + i + 1, j + 1);
                    goto fail;
                }
                vals[j * k + i] = v;
                flags[j * k + i] = f;
            }
    for (size_t i = 0; i < k; i++)
        for (size_t t = 0; t < nt; t++) {
            int32_t l = r->lbuf[i * nt + t];
            if (l < -1 || (l >= 0 && (size_t)l >= mmdx_space_n_classes(r->space, t))) {
                rc = mmdx_error_set(err, MMDX_EFORMAT, r->path, "/labels", (long)(r->pos + i + 1),
                                    "row %zu, target %zu: class index %d out of range", r->pos + i + 1, t + 1,
                                    (int)l);
                goto fail;
            }
            labels[t * k + i] = l;
        }
    /* one stat per chunk: rows read from a file rewritten since open() may belong to
     * another cohort, so they are not handed out */
    rc = mmdx_file_id_check(r->path, &r->id, NULL, err);
    if (rc != MMDX_OK)
        goto fail;
    mmdx_free(ids);
    r->pos += k;
    *chunk = c;
    return 1;
fail:
    if (ids)
        for (size_t i = 0; i < k; i++)
            mmdx_free(ids[i]);
    mmdx_free(ids);
    mmdx_cohort_free(c);
    if (r->ctx)
        mmdx_ctx_set_error(r->ctx, err);
    return rc;
}

int mmdx_cohort_load(mmdx_ctx_t *ctx, const char *path, mmdx_cohort_t **out, mmdx_error_t *err)
{
    mmdx_cohort_reader_t *r = NULL;
    mmdx_cohort_t *all = NULL, *chunk = NULL;
    mmdx_space_t *space = NULL;
    size_t n, at = 0;
    int rc;
    if (out)
        *out = NULL;
    if (out == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, path, NULL, 0, "mmdx_cohort_load: NULL argument");
    rc = mmdx_cohort_reader_open(ctx, path, &r, err);
    if (rc != MMDX_OK)
        return rc;
    n = r->n;
    space = mmdx_space_clone(r->space);
    all = space ? mmdx_cohort_alloc(space, n) : NULL;
    if (all == NULL) {
        mmdx_space_free(space);
        mmdx_cohort_reader_close(r);
        rc = mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory for %zu patients", n);
        if (ctx)
            mmdx_ctx_set_error(ctx, err);
        return rc;
    }
    mmdx_cohort_own_space(all, space);
    while ((rc = mmdx_cohort_reader_next(r, 65536, &chunk, err)) == 1) {
        size_t k = mmdx_cohort_n_patients(chunk), d = r->d, nt = r->nt;
        double *v = mmdx_cohort_values_(all);
        uint8_t *f = mmdx_cohort_flags_(all);
        int *l = mmdx_cohort_labels_(all);
        for (size_t j = 0; j < d; j++) {
            memcpy(v + j * n + at, mmdx_cohort_column_const(chunk, j), k * sizeof *v);
            memcpy(f + j * n + at, mmdx_cohort_flags_const(chunk, j), k);
        }
        for (size_t t = 0; t < nt; t++)
            for (size_t i = 0; i < k; i++)
                l[t * n + at + i] = mmdx_cohort_label(chunk, i, t);
        for (size_t i = 0; i < k && rc == 1; i++)
            if (mmdx_cohort_set_id(all, at + i, mmdx_cohort_id(chunk, i)) != MMDX_OK)
                rc = mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
        mmdx_cohort_free(chunk);
        chunk = NULL;
        if (rc != 1)
            break;
        at += k;
    }
    mmdx_cohort_reader_close(r);
    if (rc == 0) { /* the writer never repeats an id; a file that does is damaged */
        for (size_t i = 0; i < n && rc == 0; i++) {
            long first = mmdx_cohort_find(all, mmdx_cohort_id(all, i));
            if (first >= 0 && (size_t)first != i)
                rc = mmdx_error_set(err, MMDX_EFORMAT, path, "/patient_ids", (long)i + 1,
                                    "row %zu repeats the patient id of row %ld", i + 1, first + 1);
        }
    }
    if (rc < 0) {
        mmdx_cohort_free(all);
        if (ctx)
            mmdx_ctx_set_error(ctx, err);
        return rc;
    }
    *out = all;
    return MMDX_OK;
}
