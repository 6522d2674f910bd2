/* Writing imaging-feature HDF5 files (mmdx/imaging.h): the layout the hdf5 modality
 * reads. Part of libmmdx.a only (the loadable module does not write).
 *
 * Everything that can be wrong with the input is checked before the file is created;
 * the file itself goes to a temporary name and is renamed into place when complete. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hdf5.h>
#include "mmdx/imaging.h"
#include "mmdx/outfile.h"
#include "mmdx/space.h"
#include "hdf5_errstack.h"

/* Creation of groups and datasets without modification times, so the same content gives
 * the same bytes (determinism across runs and thread counts). */
static hid_t untimed_dcreate(hid_t loc, const char *name, hid_t type, hid_t space)
{
    hid_t p = H5Pcreate(H5P_DATASET_CREATE), d = -1;
    if (p >= 0 && H5Pset_obj_track_times(p, 0) >= 0)
        d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, p, H5P_DEFAULT);
    if (p >= 0)
        H5Pclose(p);
    return d;
}

#define ID_MAX 256
#define WINDOW_BYTES (4u << 20)

/* Where the rows come from: a row-major array or a cohort's imaging block. */
typedef struct rows {
    size_t n, d;
    /* array */
    const char *const *ids;
    const double *values;
    /* cohort */
    const mmdx_cohort_t *cohort;
    const size_t *row_of; /* [n] cohort row of output row i */
    const size_t *col_of; /* [d] cohort column of output column j */
} rows_t;

static const char *row_id(const rows_t *r, size_t i)
{
    return r->cohort ? mmdx_cohort_id(r->cohort, r->row_of[i]) : r->ids[i];
}

static double row_value(const rows_t *r, size_t i, size_t j)
{
    if (!r->cohort)
        return r->values[i * r->d + j];
    size_t ci = r->row_of[i], cj = r->col_of[j];
    if (mmdx_cohort_flags_const(r->cohort, cj)[ci] & MMDX_VAL_MISSING)
        return NAN;
    return mmdx_cohort_column_const(r->cohort, cj)[ci];
}

void mmdx_imaging_write_opts_init(mmdx_imaging_write_opts_t *opts)
{
    if (opts)
        memset(opts, 0, sizeof *opts);
}

static int bad_text(const char *s)
{
    if (!s || !*s || strlen(s) >= ID_MAX)
        return 1;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* First duplicate among @p n strings (sorted copy), or NULL. */
static int find_duplicate(size_t n, const char *(*get)(const void *, size_t), const void *data,
                          const char **dup)
{
    *dup = NULL;
    if (n < 2)
        return MMDX_OK;
    const char **v = mmdx_malloc(n * sizeof *v);
    if (!v)
        return MMDX_ENOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = get(data, i);
    qsort(v, n, sizeof *v, cmp_str_ptr);
    for (size_t i = 1; i < n && !*dup; i++)
        if (!strcmp(v[i - 1], v[i]))
            *dup = v[i];
    mmdx_free(v);
    return MMDX_OK;
}

static const char *get_row_id(const void *data, size_t i)
{
    return row_id(data, i);
}

static const char *get_name(const void *data, size_t j)
{
    return ((const char *const *)data)[j];
}

static int validate(const char *path, const char *modality, const rows_t *r, const char *const *names,
                    const mmdx_imaging_write_opts_t *o, mmdx_error_t *err)
{
    const char *dup;
    if (!modality || bad_text(modality) || strchr(modality, ':') || strchr(modality, ' '))
        return mmdx_error_set(err, MMDX_EINVAL, path, "modality", 0,
                              "modality name '%s' must be non-empty, without ':', spaces or control characters",
                              modality ? modality : "(null)");
    if (o->gzip < 0 || o->gzip > 9 || (o->gzip && o->contiguous))
        return mmdx_error_set(err, MMDX_EINVAL, path, "/features", 0,
                              "gzip level %d: expected 0..9, and 0 for contiguous storage", o->gzip);
    for (size_t j = 0; j < r->d; j++)
        if (bad_text(names[j]) || strlen(modality) + strlen(names[j]) + 6 > ID_MAX)
            return mmdx_error_set(err, MMDX_EINVAL, path, "/feature_names", (long)j + 1,
                                  "feature name %zu is empty, too long or holds a control character", j + 1);
    if (find_duplicate(r->d, get_name, names, &dup) != MMDX_OK)
        return mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
    if (dup)
        return mmdx_error_set(err, MMDX_EDUP, path, dup, 0, "duplicate feature name '%s'", dup);
    for (size_t i = 0; i < r->n; i++)
        if (bad_text(row_id(r, i)))
            return mmdx_error_set(err, MMDX_EINVAL, path, "/patient_ids", (long)i + 1,
                                  "patient id %zu is empty, too long or holds a control character", i + 1);
    if (find_duplicate(r->n, get_row_id, r, &dup) != MMDX_OK)
        return mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
    if (dup)
        return mmdx_error_set(err, MMDX_EDUP, path, dup, 0, "duplicate patient id '%s'", dup);
    for (size_t i = 0; i < r->n; i++)
        for (size_t j = 0; j < r->d; j++) {
            double v = row_value(r, i, j);
            if (isinf(v) || (o->float32 && isfinite(v) && fabs(v) > FLT_MAX))
                return mmdx_error_set(err, MMDX_ERANGE, path, row_id(r, i), (long)i + 1,
                                      "%s value %g for patient '%s', feature '%s'",
                                      isinf(v) ? "infinite" : "float32-overflowing", v, row_id(r, i), names[j]);
        }
    return MMDX_OK;
}

static hid_t string_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        t = -1;
    }
    return t;
}

static int write_string_attr(hid_t obj, const char *name, const char *value)
{
    hid_t t = string_type(), sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = t >= 0 && sp >= 0 && (a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, t, &value) >= 0;
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    return ok ? 0 : -1;
}

/* Write a 1-D string dataset of @p n entries taken from @p get, as fixed-length UTF-8
 * strings (null-padded to the longest entry): HDF5 reads these with one copy, about
 * twice as fast as variable-length strings, which go through the global heap one by one. */
static int write_strings(hid_t file, const char *name, size_t n, const char *(*get)(const void *, size_t),
                         const void *data)
{
    hsize_t dim = n;
    size_t width = 1;
    for (size_t i = 0; i < n; i++) {
        const char *x = get(data, i);
        size_t len = x ? strlen(x) : 0;
        width = len > width ? len : width;
    }
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate_simple(1, &dim, NULL), ds = -1;
    char *buf = mmdx_calloc(n ? n : 1, width);
    int ok = buf && t >= 0 && sp >= 0 && H5Tset_size(t, width) >= 0 && H5Tset_strpad(t, H5T_STR_NULLPAD) >= 0 &&
             H5Tset_cset(t, H5T_CSET_UTF8) >= 0 &&
             (ds = untimed_dcreate(file, name, t, sp)) >= 0;
    if (ok && n > 0) {
        for (size_t i = 0; i < n; i++) {
            const char *x = get(data, i);
            if (x)
                memcpy(buf + i * width, x, strlen(x));
        }
        ok = H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    }
    mmdx_free(buf);
    if (ds >= 0)
        H5Dclose(ds);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    return ok ? 0 : -1;
}

static int write_values(hid_t file, const rows_t *r, const mmdx_imaging_write_opts_t *o, const char *path,
                        mmdx_error_t *err)
{
    size_t n = r->n, d = r->d, elt = o->float32 ? 4 : 8;
    hsize_t dims[2] = {o->transposed ? d : n, o->transposed ? n : d};
    hid_t sp = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE), ds = -1;
    if (dcpl >= 0)
        H5Pset_obj_track_times(dcpl, 0);
    double *buf = NULL, *tbuf = NULL;
    int rc = MMDX_OK;
    if (sp < 0 || dcpl < 0) {
        rc = mmdx_hdf5_error(err, MMDX_EIO, path, "/features", "cannot create /features");
        goto done;
    }
    size_t crow = o->chunk_rows ? o->chunk_rows : (1u << 20) / (elt * (d ? d : 1));
    if (crow < 1)
        crow = 1;
    if (crow > n)
        crow = n;
    if (!o->contiguous && n > 0 && d > 0) {
        hsize_t cd[2] = {o->transposed ? d : crow, o->transposed ? crow : d};
        if (H5Pset_chunk(dcpl, 2, cd) < 0 || (o->gzip && (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, (unsigned)o->gzip) < 0))) {
            rc = mmdx_hdf5_error(err, MMDX_EIO, path, "/features", "cannot set the chunking of /features");
            goto done;
        }
    }
    if ((ds = H5Dcreate2(file, "features", o->float32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl,
                         H5P_DEFAULT)) < 0 ||
        write_string_attr(ds, "layout", o->transposed ? "features_by_patients" : "patients_by_features") < 0) {
        rc = mmdx_hdf5_error(err, MMDX_EIO, path, "/features", "cannot create /features");
        goto done;
    }
    if (n == 0 || d == 0)
        goto done;
    /* Windows of whole chunks, about WINDOW_BYTES each. */
    size_t w = WINDOW_BYTES / (8 * d);
    w = w < crow ? crow : w / crow * crow;
    if (w > n)
        w = n;
    if (!(buf = mmdx_malloc(w * d * sizeof *buf)) || (o->transposed && !(tbuf = mmdx_malloc(w * d * sizeof *tbuf)))) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
        goto done;
    }
    for (size_t r0 = 0; r0 < n; r0 += w) {
        size_t k = n - r0 < w ? n - r0 : w;
        double *src = buf;
        if (!r->cohort && !o->transposed) {
            src = (double *)(r->values + r0 * d); /* read-only use by H5Dwrite */
        } else {
            for (size_t i = 0; i < k; i++)
                for (size_t j = 0; j < d; j++)
                    buf[i * d + j] = row_value(r, r0 + i, j);
        }
        if (o->transposed) {
            for (size_t j = 0; j < d; j++)
                for (size_t i = 0; i < k; i++)
                    tbuf[j * k + i] = src[i * d + j];
            src = tbuf;
        }
        hsize_t start[2] = {o->transposed ? 0 : r0, o->transposed ? r0 : 0};
        hsize_t cnt[2] = {o->transposed ? d : k, o->transposed ? k : d};
        hsize_t mdim = (hsize_t)k * d;
        hid_t fsp = H5Dget_space(ds), msp = H5Screate_simple(1, &mdim, NULL);
        int ok = fsp >= 0 && msp >= 0 && H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, cnt, NULL) >= 0 &&
                 H5Dwrite(ds, H5T_NATIVE_DOUBLE, msp, fsp, H5P_DEFAULT, src) >= 0;
        if (fsp >= 0)
            H5Sclose(fsp);
        if (msp >= 0)
            H5Sclose(msp);
        if (!ok) {
            rc = mmdx_hdf5_error(err, MMDX_EIO, path, "/features", "cannot write rows %zu..%zu of /features", r0 + 1,
                               r0 + k);
            goto done;
        }
    }
done:
    mmdx_free(buf);
    mmdx_free(tbuf);
    if (ds >= 0)
        H5Dclose(ds);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (sp >= 0)
        H5Sclose(sp);
    return rc;
}

static int write_file(mmdx_ctx_t *ctx, const char *path, const char *modality, const rows_t *r,
                      const char *const *names, const char *const *units, const mmdx_imaging_write_opts_t *opts,
                      mmdx_error_t *err_out)
{
    mmdx_error_t e;
    mmdx_imaging_write_opts_t o;
    mmdx_outfile_t *out = NULL;
    hid_t file = -1;
    int rc;

    mmdx_error_clear(&e);
    if (opts)
        o = *opts;
    else
        mmdx_imaging_write_opts_init(&o);
    mmdx_hdf5_silence();
    if (!path || !strcmp(path, "-")) {
        rc = mmdx_error_set(&e, MMDX_EINVAL, path ? path : "", NULL, 0,
                            "an HDF5 file needs a file name (not standard output)");
        goto fail;
    }
    if ((rc = validate(path, modality, r, names, &o, &e)) != MMDX_OK)
        goto fail;
    if ((rc = mmdx_outfile_open(path, &out, &e)) != MMDX_OK)
        goto fail;
    if ((file = H5Fcreate(mmdx_outfile_temp_path(out), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        rc = mmdx_hdf5_error(&e, MMDX_EIO, path, NULL, "cannot create the HDF5 file");
        goto fail;
    }
    if (write_string_attr(file, "modality", modality) < 0 ||
        write_strings(file, "patient_ids", r->n, get_row_id, r) < 0 ||
        write_strings(file, "feature_names", r->d, get_name, names) < 0 ||
        (units && write_strings(file, "feature_units", r->d, get_name, units) < 0)) {
        rc = mmdx_hdf5_error(&e, MMDX_EIO, path, NULL, "cannot write the ids, names or attributes");
        goto fail;
    }
    if ((rc = write_values(file, r, &o, path, &e)) != MMDX_OK)
        goto fail;
    herr_t closed = H5Fclose(file);
    file = -1;
    if (closed < 0) {
        rc = mmdx_hdf5_error(&e, MMDX_EIO, path, NULL, "cannot finish the HDF5 file");
        goto fail;
    }
    rc = mmdx_outfile_commit(out, &e);
    out = NULL;
    if (rc != MMDX_OK)
        goto fail;
    return MMDX_OK;
fail:
    if (file >= 0)
        H5Fclose(file);
    mmdx_hdf5_errstack(NULL, 0);
    mmdx_outfile_abort(out);
    if (err_out && err_out->code == 0)
        *err_out = e;
    if (ctx)
        mmdx_ctx_set_error(ctx, &e);
    return rc;
}

int mmdx_imaging_write(mmdx_ctx_t *ctx, const char *path, const char *modality, size_t n, size_t d,
                       const char *const *ids, const char *const *names, const char *const *units,
                       const double *values, const mmdx_imaging_write_opts_t *opts, mmdx_error_t *err)
{
    if ((n && !ids) || (d && !names) || (n && d && !values)) {
        mmdx_error_t e;
        mmdx_error_clear(&e);
        mmdx_error_set(&e, MMDX_EINVAL, path ? path : "", NULL, 0, "ids, names or values missing");
        if (err && err->code == 0)
            *err = e;
        if (ctx)
            mmdx_ctx_set_error(ctx, &e);
        return MMDX_EINVAL;
    }
    rows_t r = {n, d, ids, values, NULL, NULL, NULL};
    return write_file(ctx, path, modality, &r, names, units, opts, err);
}

int mmdx_imaging_export_cohort(mmdx_ctx_t *ctx, const mmdx_cohort_t *c, const char *source, const char *path,
                               const mmdx_imaging_write_opts_t *opts, mmdx_error_t *err)
{
    mmdx_error_t e;
    const mmdx_space_t *sp = c ? mmdx_cohort_space(c) : NULL;
    size_t nf = c ? mmdx_cohort_n_features(c) : 0, np = c ? mmdx_cohort_n_patients(c) : 0;
    size_t *col_of = NULL, *row_of = NULL, d = 0, n = 0;
    const char **names = NULL, **units = NULL;
    char src[ID_MAX] = "";
    int rc = MMDX_OK;

    mmdx_error_clear(&e);
    if (!c) {
        rc = mmdx_error_set(&e, MMDX_EINVAL, path ? path : "", NULL, 0, "no cohort");
        goto fail;
    }
    if (source)
        snprintf(src, sizeof src, "%s", source);
    /* Find the source (when not given) and the columns img:<src>:* */
    for (size_t j = 0; j < nf; j++) {
        const char *id = mmdx_space_feature_id(sp, j);
        if (strncmp(id, "img:", 4) != 0)
            continue;
        const char *s0 = id + 4, *colon = strchr(s0, ':');
        if (!colon)
            continue;
        size_t len = (size_t)(colon - s0);
        if (!src[0] && len < sizeof src) {
            memcpy(src, s0, len);
            src[len] = '\0';
        } else if (!source && (strlen(src) != len || strncmp(src, s0, len))) {
            rc = mmdx_error_set(&e, MMDX_EINVAL, path, "source", 0,
                                "the cohort holds imaging features of several sources (%s, %.*s, ...): name one",
                                src, (int)len, s0);
            goto fail;
        }
    }
    if (!src[0]) {
        rc = mmdx_error_set(&e, MMDX_ENOTFOUND, path, "img", 0, "the cohort has no imaging features");
        goto fail;
    }
    size_t plen = strlen(src) + 5;
    col_of = mmdx_malloc((nf ? nf : 1) * sizeof *col_of);
    names = mmdx_malloc((nf ? nf : 1) * sizeof *names);
    units = mmdx_malloc((nf ? nf : 1) * sizeof *units);
    row_of = mmdx_malloc((np ? np : 1) * sizeof *row_of);
    if (!col_of || !names || !units || !row_of) {
        rc = mmdx_error_set(&e, MMDX_ENOMEM, path, NULL, 0, "out of memory");
        goto fail;
    }
    for (size_t j = 0; j < nf; j++) {
        const char *id = mmdx_space_feature_id(sp, j);
        if (!strncmp(id, "img:", 4) && !strncmp(id + 4, src, plen - 5) && id[plen - 1] == ':') {
            col_of[d] = j;
            names[d] = id + plen;
            units[d] = mmdx_space_feature_unit(sp, j);
            d++;
        }
    }
    if (d == 0) {
        rc = mmdx_error_set(&e, MMDX_ENOTFOUND, path, src, 0, "the cohort has no imaging features img:%s:*", src);
        goto fail;
    }
    for (size_t i = 0; i < np; i++) {
        int present = 0;
        for (size_t k = 0; k < d && !present; k++)
            present = !(mmdx_cohort_flags_const(c, col_of[k])[i] & MMDX_VAL_MISSING);
        if (present)
            row_of[n++] = i;
    }
    int any_unit = 0;
    for (size_t k = 0; k < d; k++)
        any_unit |= units[k] && units[k][0];
    rows_t r = {n, d, NULL, NULL, c, row_of, col_of};
    rc = write_file(ctx, path, src, &r, names, any_unit ? units : NULL, opts, err);
    mmdx_free(col_of);
    mmdx_free(row_of);
    mmdx_free(names);
    mmdx_free(units);
    return rc;
fail:
    mmdx_free(col_of);
    mmdx_free(row_of);
    mmdx_free(names);
    mmdx_free(units);
    if (err && err->code == 0)
        *err = e;
    if (ctx)
        mmdx_ctx_set_error(ctx, &e);
    return rc;
}
