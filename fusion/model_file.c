/* Model files: the whole model state in HDF5 (docs/formats/model-file.md), written to a
 * temporary file and renamed; read back with checks of format, version and shape. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <hdf5.h>
#include "file_id.h"
#include "h5file.h"
#include "mmdx/model.h"
#include "mmdx/outfile.h"
#include "model_internal.h"

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

#define FZ_FORMAT_NAME "mmdx-model"

/* ------------------------------------------------------------------ writing helpers */

/* Allocations of the writer: a failure is remembered (per thread) so that
 * mmdx_model_save() reports MMDX_ENOMEM rather than a failed write. */
static _Thread_local int w_oom;
static void *w_calloc(size_t n, size_t size)
{
    void *p = mmdx_calloc(n, size);
    if (!p) {
        w_oom = 1;
    }
    return p;
}

static int w_data(hid_t loc, const char *name, hid_t type, size_t n0, size_t n1, const void *v)
{
    hsize_t dims[2] = {n0, n1};
    hid_t sp = H5Screate_simple(n1 ? 2 : 1, dims, NULL);
    if (sp < 0) {
        return -1;
    }
    hid_t d = untimed_dcreate(loc, name, type, sp);
    int rc = -1;
    if (d >= 0) {
        rc = (n0 == 0 || H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0) ? 0 : -1;
        H5Dclose(d);
    }
    H5Sclose(sp);
    return rc;
}

static int w_doubles(hid_t loc, const char *name, size_t n0, size_t n1, const double *v)
{
    return w_data(loc, name, H5T_NATIVE_DOUBLE, n0, n1, v);
}

static int w_int64s(hid_t loc, const char *name, size_t n, const int64_t *v)
{
    return w_data(loc, name, H5T_NATIVE_INT64, n, 0, v);
}

static hid_t str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0) {
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
    }
    return t;
}

static int w_strings(hid_t loc, const char *name, size_t n, const char **s)
{
    hid_t t = str_type();
    if (t < 0) {
        return -1;
    }
    int rc = w_data(loc, name, t, n, 0, s);
    H5Tclose(t);
    return rc;
}

static int a_write(hid_t loc, const char *name, hid_t type, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    if (sp < 0) {
        return -1;
    }
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = -1;
    if (a >= 0) {
        rc = H5Awrite(a, type, v) >= 0 ? 0 : -1;
        H5Aclose(a);
    }
    H5Sclose(sp);
    return rc;
}

static int a_double(hid_t loc, const char *name, double v)
{
    return a_write(loc, name, H5T_NATIVE_DOUBLE, &v);
}

static int a_int64(hid_t loc, const char *name, int64_t v)
{
    return a_write(loc, name, H5T_NATIVE_INT64, &v);
}

static int a_str(hid_t loc, const char *name, const char *s)
{
    hid_t t = str_type();
    if (t < 0) {
        return -1;
    }
    int rc = a_write(loc, name, t, &s);
    H5Tclose(t);
    return rc;
}

/* ------------------------------------------------------------------ writing */

static int write_space(hid_t f, const mmdx_space_t *s)
{
    hid_t g = untimed_gcreate(f, "space");
    if (g < 0) {
        return -1;
    }
    size_t nf = mmdx_space_n_features(s), nt = mmdx_space_n_targets(s), nl = 0, nc = 0;
    for (size_t j = 0; j < nf; j++) {
        nl += mmdx_space_n_levels(s, j);
    }
    for (size_t t = 0; t < nt; t++) {
        nc += mmdx_space_n_classes(s, t);
    }
    const char **ids = w_calloc(nf + 1, sizeof(char *)), **units = w_calloc(nf + 1, sizeof(char *));
    const char **lv = w_calloc(nl + 1, sizeof(char *)), **tn = w_calloc(nt + 1, sizeof(char *));
    const char **cn = w_calloc(nc + 1, sizeof(char *));
    int64_t *kind = w_calloc(nf + 1, sizeof(int64_t)), *tr = w_calloc(nf + 1, sizeof(int64_t));
    int64_t *lf = w_calloc(nl + 1, sizeof(int64_t)), *ct = w_calloc(nc + 1, sizeof(int64_t));
    int rc = -1;
    if (!ids || !units || !lv || !tn || !cn || !kind || !tr || !lf || !ct) {
        goto done;
    }
    size_t a = 0, b = 0;
    for (size_t j = 0; j < nf; j++) {
        ids[j] = mmdx_space_feature_id(s, j);
        units[j] = mmdx_space_feature_unit(s, j);
        kind[j] = mmdx_space_feature_kind(s, j);
        tr[j] = mmdx_space_feature_transform(s, j);
        for (size_t l = 0; l < mmdx_space_n_levels(s, j); l++, a++) {
            lv[a] = mmdx_space_level(s, j, l);
            lf[a] = (int64_t)j;
        }
    }
    for (size_t t = 0; t < nt; t++) {
        tn[t] = mmdx_space_target_name(s, t);
        for (size_t k = 0; k < mmdx_space_n_classes(s, t); k++, b++) {
            cn[b] = mmdx_space_class_name(s, t, k);
            ct[b] = (int64_t)t;
        }
    }
    if (w_strings(g, "feature_ids", nf, ids) || w_strings(g, "feature_units", nf, units) ||
        w_int64s(g, "feature_kinds", nf, kind) || w_int64s(g, "feature_transforms", nf, tr) ||
        w_strings(g, "levels", nl, lv) || w_int64s(g, "level_features", nl, lf) ||
        w_strings(g, "targets", nt, tn) || w_strings(g, "classes", nc, cn) ||
        w_int64s(g, "class_targets", nc, ct)) {
        goto done;
    }
    rc = 0;
done:
    mmdx_free(ids);
    mmdx_free(units);
    mmdx_free(lv);
    mmdx_free(tn);
    mmdx_free(cn);
    mmdx_free(kind);
    mmdx_free(tr);
    mmdx_free(lf);
    mmdx_free(ct);
    H5Gclose(g);
    return rc;
}

static int write_fit(hid_t loc, const char *name, const fz_fit_t *f)
{
    hid_t g = untimed_gcreate(loc, name);
    if (g < 0) {
        return -1;
    }
    size_t d = f->d;
    int rc = w_doubles(g, "beta", d, 0, f->beta) || w_doubles(g, "beta_prev", d, 0, f->beta_prev) ||
             w_doubles(g, "prior_mean", d, 0, f->m0) || w_doubles(g, "prior_precision", d, 0, f->prec0) ||
             w_doubles(g, "precision_cholesky", d, d, f->L) || w_doubles(g, "gradient", d, 0, f->g) ||
             w_doubles(g, "hessian", d, d, f->H) || a_double(g, "loglik", f->ll) || a_double(g, "n", f->n) || a_double(g, "n_used", f->n_used) ||
             a_double(g, "objective_prev", f->obj_prev) || a_int64(g, "iterations", f->iter) ||
             a_int64(g, "converged", f->done) || a_double(g, "step_last", f->step1) ||
             a_double(g, "step_before", f->step2);
    H5Gclose(g);
    return rc ? -1 : 0;
}

static int write_options(hid_t g, const mmdx_model_options_t *o)
{
    return a_double(g, "prior_sd", o->prior_sd) || a_double(g, "intercept_sd", o->intercept_sd) ||
                   a_double(g, "stack_sd", o->stack_sd) || a_double(g, "shrinkage", o->shrinkage) ||
                   a_int64(g, "folds", o->folds) || a_int64(g, "max_iter", o->max_iter) ||
                   a_double(g, "tol", o->tol) || a_double(g, "ood_pvalue", o->ood_pvalue) ||
                   a_int64(g, "top_features", o->top_features) || a_int64(g, "autolog", o->autolog) ||
                   a_int64(g, "seed", (int64_t)o->seed)
               ? -1
               : 0;
}

static int write_model(hid_t f, const mmdx_model_t *m)
{
    if (a_str(f, "format", FZ_FORMAT_NAME) || a_int64(f, "format_version", MMDX_MODEL_FORMAT_VERSION) ||
        a_str(f, "software", "libmmdx") || a_str(f, "software_version", mmdx_version()) ||
        a_int64(f, "phase", m->phase) || a_int64(f, "pass", m->pass) || a_double(f, "n_patients", m->n_patients) ||
        a_int64(f, "training_protocol", m->protocol)) {
        return -1;
    }
    if (write_space(f, m->space) || w_strings(f, "provenance", m->n_prov, (const char **)m->prov)) {
        return -1;
    }
    hid_t g = untimed_gcreate(f, "options");
    if (g < 0) {
        return -1;
    }
    int rc = write_options(g, &m->opt);
    H5Gclose(g);
    if (rc) {
        return -1;
    }
    /* columns */
    size_t nc = m->ncol;
    double *buf = w_calloc((nc + 1) * FZ_MOM_COUNT, sizeof(double));
    int64_t *ib = w_calloc(nc + 1, sizeof(int64_t));
    if (!buf || !ib) {
        mmdx_free(buf);
        mmdx_free(ib);
        return -1;
    }
    g = untimed_gcreate(f, "columns");
    rc = g < 0 ? -1 : 0;
    for (size_t c = 0; c < nc && !rc; c++) {
        ib[c] = (int64_t)m->cols[c].feature;
    }
    rc = rc || w_int64s(g, "feature", nc, ib);
    for (size_t c = 0; c < nc; c++) {
        ib[c] = m->cols[c].level;
    }
    rc = rc || w_int64s(g, "level", nc, ib);
    for (size_t c = 0; c < nc; c++) {
        ib[c] = m->cols[c].islog;
    }
    rc = rc || w_int64s(g, "log", nc, ib);
    for (size_t c = 0; c < nc; c++) {
        buf[c] = m->cols[c].mean;
    }
    rc = rc || w_doubles(g, "mean", nc, 0, buf);
    for (size_t c = 0; c < nc; c++) {
        buf[c] = m->cols[c].sd;
    }
    rc = rc || w_doubles(g, "sd", nc, 0, buf);
    for (size_t c = 0; c < nc; c++) {
        buf[c] = m->cols[c].xmin;
    }
    rc = rc || w_doubles(g, "min_positive", nc, 0, buf);
    for (size_t c = 0; c < nc; c++) {
        memcpy(buf + c * FZ_MOM_COUNT, m->cols[c].mom, sizeof(m->cols[c].mom));
    }
    rc = rc || w_doubles(g, "moments", nc, FZ_MOM_COUNT, buf);
    if (g >= 0) {
        H5Gclose(g);
    }
    mmdx_free(buf);
    mmdx_free(ib);
    if (rc) {
        return -1;
    }
    size_t ncls = 0;
    for (size_t t = 0; t < m->ntarget; t++) {
        ncls += mmdx_space_n_classes(m->space, t);
    }
    if (w_doubles(f, "label_counts", ncls, 0, m->counts)) {
        return -1;
    }
    g = untimed_gcreate(f, "modalities");
    if (g < 0) {
        return -1;
    }
    for (size_t k = 0; k < m->nmod && !rc; k++) {
        char name[32];
        snprintf(name, sizeof(name), "%zu", k);
        hid_t gm = untimed_gcreate(g, name);
        if (gm < 0) {
            rc = -1;
            break;
        }
        const fz_modality_t *md = &m->mods[k];
        size_t D = md->ncol;
        rc = a_str(gm, "name", md->name) || a_double(gm, "n_seen", md->nseen) ||
             w_doubles(gm, "covariance", D, D, md->Sigma) || w_doubles(gm, "cross_products", D, D, md->S) ||
             w_doubles(gm, "pair_counts", D, D, md->N);
        H5Gclose(gm);
    }
    H5Gclose(g);
    if (rc) {
        return -1;
    }
    g = untimed_gcreate(f, "binary");
    if (g < 0) {
        return -1;
    }
    size_t nf = (size_t)m->opt.folds + 1;
    for (size_t b = 0; b < m->nbin && !rc; b++) {
        char name[64];
        snprintf(name, sizeof(name), "%zu", b);
        hid_t gb = untimed_gcreate(g, name);
        if (gb < 0) {
            rc = -1;
            break;
        }
        const fz_binary_t *bn = &m->bins[b];
        rc = a_int64(gb, "target", (int64_t)bn->target) || a_int64(gb, "class", (int64_t)bn->cls) ||
             a_double(gb, "prior_logodds", bn->l0) || write_fit(gb, "stack", &bn->stack);
        for (size_t k = 0; k < m->nmod && !rc; k++) {
            for (size_t fo = 0; fo < nf && !rc; fo++) {
                snprintf(name, sizeof(name), "modality%zu_fit%zu", k, fo);
                rc = write_fit(gb, name, &bn->fits[k * nf + fo]);
            }
        }
        H5Gclose(gb);
    }
    H5Gclose(g);
    return rc ? -1 : 0;
}

int mmdx_model_save(const mmdx_model_t *m, const char *path, mmdx_error_t *err)
{
    if (!m || !path) {
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "no model or no path");
    }
    if (strcmp(path, "-") == 0) {
        return mmdx_error_set(err, MMDX_EINVAL, path, "", 0, "a model file cannot be written to standard output");
    }
    mmdx_outfile_t *out;
    int rc = mmdx_outfile_open(path, &out, err);
    if (rc != MMDX_OK) {
        return rc;
    }
    hid_t f = H5Fcreate(mmdx_outfile_temp_path(out), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        mmdx_outfile_abort(out);
        return mmdx_error_set(err, MMDX_EIO, path, "", 0, "cannot create the HDF5 model file");
    }
    w_oom = 0;
    int w = write_model(f, m);
    if (H5Fclose(f) < 0 || w != 0) {
        mmdx_outfile_abort(out);
        if (w_oom) {
            return mmdx_error_set(err, MMDX_ENOMEM, path, "", 0, "out of memory while writing the model file");
        }
        return mmdx_error_set(err, MMDX_EIO, path, "", 0, "writing the HDF5 model file failed");
    }
    return mmdx_outfile_commit(out, err);
}

/* ------------------------------------------------------------------ reading helpers */

typedef struct rd {
    const char *path;
    mmdx_error_t *err;
    char where[256];
    int oom; /* an allocation of a reading helper failed (r_strings returns NULL for both) */
} rd_t;

static int bad(rd_t *r, const char *object, const char *why)
{
    return mmdx_error_set(r->err, MMDX_EFORMAT, r->path, object, 0, "%s", why);
}

/* Read a dataset of n0 (x n1) values of @p type, checking its shape. */
static int r_data(rd_t *r, hid_t loc, const char *name, hid_t type, size_t n0, size_t n1, void *v)
{
    char obj[300];
    snprintf(obj, sizeof(obj), "%s/%s", r->where, name);
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) {
        return bad(r, obj, "dataset missing");
    }
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0) {
        return bad(r, obj, "cannot open dataset");
    }
    hid_t sp = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd >= 1 && nd <= 2) {
        H5Sget_simple_extent_dims(sp, dims, NULL);
    }
    H5Sclose(sp);
    int ok = nd == (n1 ? 2 : 1) && dims[0] == n0 && (n1 == 0 || dims[1] == n1);
    if (!ok) {
        H5Dclose(d);
        return bad(r, obj, "dataset has an unexpected shape");
    }
    if (n0 > 0 && H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
        H5Dclose(d);
        return bad(r, obj, "cannot read dataset");
    }
    H5Dclose(d);
    return MMDX_OK;
}

static int r_doubles(rd_t *r, hid_t loc, const char *name, size_t n0, size_t n1, double *v)
{
    return r_data(r, loc, name, H5T_NATIVE_DOUBLE, n0, n1, v);
}

/* Length of a 1-D dataset, or -1. */
static long r_len(hid_t loc, const char *name)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) {
        return -1;
    }
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0) {
        return -1;
    }
    hid_t sp = H5Dget_space(d);
    hsize_t dims[1] = {0};
    long n = H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, dims, NULL) == 1 ? (long)dims[0]
                                                                                                     : -1;
    H5Sclose(sp);
    H5Dclose(d);
    return n;
}

/* Variable-length strings: new array of n pointers owned by HDF5; free with strings_free. */
/* Most entries of a string list (features, levels, targets, classes, provenance lines):
 * a damaged file can declare any extent, and the list is allocated before it is read. */
#define FZ_MAX_STRINGS ((size_t)1 << 24)

static char **r_strings(rd_t *r, hid_t loc, const char *name, size_t n)
{
    if (n > FZ_MAX_STRINGS) {
        char obj[300];
        snprintf(obj, sizeof(obj), "%s/%s", r->where, name);
        bad(r, obj, "more entries than a model file can have (16,777,216)");
        return NULL;
    }
    char **s = mmdx_calloc(n + 1, sizeof(char *));
    if (!s) {
        r->oom = 1;
        return NULL;
    }
    hid_t t = str_type();
    int rc = r_data(r, loc, name, t, n, 0, s);
    H5Tclose(t);
    if (rc != MMDX_OK) {
        mmdx_free(s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!s[i]) {
            bad(r, name, "null string");
            for (size_t k = 0; k < n; k++) {
                H5free_memory(s[k]);
            }
            mmdx_free(s);
            return NULL;
        }
    }
    return s;
}

static void strings_free(char **s, size_t n)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        H5free_memory(s[i]);
    }
    mmdx_free(s);
}

static int a_read(rd_t *r, hid_t loc, const char *name, hid_t type, void *v)
{
    if (H5Aexists(loc, name) <= 0) {
        return bad(r, name, "attribute missing");
    }
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0 || H5Aread(a, type, v) < 0) {
        if (a >= 0) {
            H5Aclose(a);
        }
        return bad(r, name, "cannot read attribute");
    }
    H5Aclose(a);
    return MMDX_OK;
}

static int a_rdouble(rd_t *r, hid_t loc, const char *name, double *v)
{
    return a_read(r, loc, name, H5T_NATIVE_DOUBLE, v);
}

static int a_rint(rd_t *r, hid_t loc, const char *name, int64_t *v)
{
    return a_read(r, loc, name, H5T_NATIVE_INT64, v);
}

static int a_rstr(rd_t *r, hid_t loc, const char *name, char *buf, size_t size)
{
    hid_t t = str_type();
    char *s = NULL;
    int rc = a_read(r, loc, name, t, &s);
    H5Tclose(t);
    if (rc != MMDX_OK) {
        return rc;
    }
    snprintf(buf, size, "%s", s ? s : "");
    H5free_memory(s);
    return MMDX_OK;
}

/* ------------------------------------------------------------------ reading */

static int read_space(rd_t *r, hid_t f, mmdx_space_t **out)
{
    *out = NULL;
    if (H5Lexists(f, "space", H5P_DEFAULT) <= 0) {
        return bad(r, "space", "group missing");
    }
    hid_t g = H5Gopen2(f, "space", H5P_DEFAULT);
    snprintf(r->where, sizeof(r->where), "space");
    long nf = r_len(g, "feature_ids"), nl = r_len(g, "levels"), nt = r_len(g, "targets"), nc = r_len(g, "classes");
    if (nf < 0 || nl < 0 || nt < 0 || nc < 0) {
        H5Gclose(g);
        return bad(r, "space", "feature or target list missing");
    }
    if ((size_t)nf > FZ_MAX_STRINGS || (size_t)nl > FZ_MAX_STRINGS || (size_t)nt > FZ_MAX_STRINGS ||
        (size_t)nc > FZ_MAX_STRINGS) { /* before anything is allocated by these counts */
        H5Gclose(g);
        return bad(r, "space", "more features, levels, targets or classes than a model file can have (16,777,216)");
    }
    char **ids = r_strings(r, g, "feature_ids", (size_t)nf), **units = r_strings(r, g, "feature_units", (size_t)nf);
    char **lv = r_strings(r, g, "levels", (size_t)nl), **tn = r_strings(r, g, "targets", (size_t)nt);
    char **cn = r_strings(r, g, "classes", (size_t)nc);
    int64_t *kind = mmdx_calloc((size_t)nf + 1, sizeof(int64_t)), *tr = mmdx_calloc((size_t)nf + 1, sizeof(int64_t));
    int64_t *lf = mmdx_calloc((size_t)nl + 1, sizeof(int64_t)), *ct = mmdx_calloc((size_t)nc + 1, sizeof(int64_t));
    mmdx_space_t *s = mmdx_space_alloc();
    int rc = MMDX_OK;
    if (!ids || !units || !lv || !tn || !cn) {
        rc = r->oom ? mmdx_error_set(r->err, MMDX_ENOMEM, r->path, "", 0, "out of memory") : MMDX_EFORMAT;
        goto done;
    }
    if (!kind || !tr || !lf || !ct || !s) {
        rc = mmdx_error_set(r->err, MMDX_ENOMEM, r->path, "", 0, "out of memory");
        goto done;
    }
    if ((rc = r_data(r, g, "feature_kinds", H5T_NATIVE_INT64, (size_t)nf, 0, kind)) ||
        (rc = r_data(r, g, "feature_transforms", H5T_NATIVE_INT64, (size_t)nf, 0, tr)) ||
        (rc = r_data(r, g, "level_features", H5T_NATIVE_INT64, (size_t)nl, 0, lf)) ||
        (rc = r_data(r, g, "class_targets", H5T_NATIVE_INT64, (size_t)nc, 0, ct))) {
        goto done;
    }
    for (long j = 0; j < nf; j++) {
        if (kind[j] < 0 || kind[j] > MMDX_KIND_CATEGORICAL || tr[j] < 0 || tr[j] > MMDX_TRANSFORM_AUTO) {
            rc = bad(r, ids[j], "unknown feature kind or transform");
            goto done;
        }
        size_t idx;
        int arc = mmdx_space_add_feature(s, ids[j], (mmdx_kind_t)kind[j], units[j][0] ? units[j] : NULL,
                                         (mmdx_transform_t)tr[j], &idx);
        if (arc == MMDX_ENOMEM) {
            rc = mmdx_error_set(r->err, MMDX_ENOMEM, r->path, "", 0, "out of memory");
            goto done;
        }
        if (arc != MMDX_OK || idx != (size_t)j) {
            rc = bad(r, ids[j], "invalid or duplicate feature id");
            goto done;
        }
    }
    for (long l = 0; l < nl; l++) {
        size_t idx;
        int arc = lf[l] < 0 || lf[l] >= nf ? MMDX_EFORMAT : mmdx_space_add_level(s, (size_t)lf[l], lv[l], &idx);
        if (arc == MMDX_ENOMEM) {
            rc = mmdx_error_set(r->err, MMDX_ENOMEM, r->path, "", 0, "out of memory");
            goto done;
        }
        if (arc != MMDX_OK) {
            rc = bad(r, "space/levels", "invalid level");
            goto done;
        }
    }
    long c0 = 0;
    for (long t = 0; t < nt; t++) {
        long c1 = c0;
        while (c1 < nc && ct[c1] == t) {
            c1++;
        }
        size_t idx;
        int arc = c1 - c0 < 2 ? MMDX_EFORMAT
                              : mmdx_space_add_target(s, tn[t], (size_t)(c1 - c0), (const char *const *)(cn + c0), &idx);
        if (arc == MMDX_ENOMEM) {
            rc = mmdx_error_set(r->err, MMDX_ENOMEM, r->path, "", 0, "out of memory");
            goto done;
        }
        if (arc != MMDX_OK || idx != (size_t)t) {
            rc = bad(r, tn[t], "invalid target or classes");
            goto done;
        }
        c0 = c1;
    }
    if (c0 != nc) {
        rc = bad(r, "space/classes", "classes do not match the targets");
        goto done;
    }
done:
    strings_free(ids, (size_t)nf);
    strings_free(units, (size_t)nf);
    strings_free(lv, (size_t)nl);
    strings_free(tn, (size_t)nt);
    strings_free(cn, (size_t)nc);
    mmdx_free(kind);
    mmdx_free(tr);
    mmdx_free(lf);
    mmdx_free(ct);
    H5Gclose(g);
    if (rc != MMDX_OK) {
        mmdx_space_free(s);
        return rc;
    }
    *out = s;
    return MMDX_OK;
}

static int read_options(rd_t *r, hid_t f, mmdx_model_options_t *o)
{
    if (H5Lexists(f, "options", H5P_DEFAULT) <= 0) {
        return bad(r, "options", "group missing");
    }
    hid_t g = H5Gopen2(f, "options", H5P_DEFAULT);
    int64_t folds, max_iter, top, autolog, seed;
    int rc = a_rdouble(r, g, "prior_sd", &o->prior_sd) || a_rdouble(r, g, "intercept_sd", &o->intercept_sd) ||
             a_rdouble(r, g, "stack_sd", &o->stack_sd) || a_rdouble(r, g, "shrinkage", &o->shrinkage) ||
             a_rint(r, g, "folds", &folds) || a_rint(r, g, "max_iter", &max_iter) || a_rdouble(r, g, "tol", &o->tol) ||
             a_rdouble(r, g, "ood_pvalue", &o->ood_pvalue) || a_rint(r, g, "top_features", &top) ||
             a_rint(r, g, "autolog", &autolog) || a_rint(r, g, "seed", &seed);
    H5Gclose(g);
    if (rc) {
        return MMDX_EFORMAT;
    }
    if (folds < 2 || folds > 100 || max_iter < 1 || top < 0 || top > 1000 || autolog < 0 || autolog > 2) {
        return bad(r, "options", "option out of range");
    }
    o->folds = (unsigned)folds;
    o->max_iter = (unsigned)max_iter;
    o->top_features = (unsigned)top;
    o->autolog = (mmdx_autolog_t)autolog;
    o->seed = (uint64_t)seed;
    return MMDX_OK;
}

static int read_fit(rd_t *r, hid_t loc, const char *name, fz_fit_t *f)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) {
        return bad(r, name, "fit group missing");
    }
    hid_t g = H5Gopen2(loc, name, H5P_DEFAULT);
    size_t d = f->d;
    int64_t iter, done;
    int rc = r_doubles(r, g, "beta", d, 0, f->beta) || r_doubles(r, g, "beta_prev", d, 0, f->beta_prev) ||
             r_doubles(r, g, "prior_mean", d, 0, f->m0) || r_doubles(r, g, "prior_precision", d, 0, f->prec0) ||
             r_doubles(r, g, "precision_cholesky", d, d, f->L) || r_doubles(r, g, "gradient", d, 0, f->g) ||
             r_doubles(r, g, "hessian", d, d, f->H) || a_rdouble(r, g, "loglik", &f->ll) ||
             a_rdouble(r, g, "n", &f->n) || a_rdouble(r, g, "n_used", &f->n_used) ||
             a_rdouble(r, g, "objective_prev", &f->obj_prev) ||
             a_rint(r, g, "iterations", &iter) || a_rint(r, g, "converged", &done);
    /* the last two steps: absent from files of 0.x before they were written (then no
     * extrapolation, the Hessian schedule of those versions) */
    f->step1 = f->step2 = 0;
    if (!rc && H5Aexists(g, "step_last") > 0) {
        rc = a_rdouble(r, g, "step_last", &f->step1) || a_rdouble(r, g, "step_before", &f->step2);
    }
    H5Gclose(g);
    if (rc) {
        return MMDX_EFORMAT;
    }
    if (!(f->step1 >= 0 && f->step2 >= 0)) { /* negative or NaN: not a step */
        return bad(r, name, "step_last / step_before not a step size");
    }
    f->iter = (unsigned)iter;
    f->done = done != 0;
    return MMDX_OK;
}

static int read_model(rd_t *r, hid_t f, mmdx_model_t *m)
{
    int64_t phase, pass;
    if (a_rint(r, f, "phase", &phase) || a_rint(r, f, "pass", &pass) ||
        a_rdouble(r, f, "n_patients", &m->n_patients)) {
        return MMDX_EFORMAT;
    }
    if (phase < FZ_PH_MOMENTS || phase > FZ_PH_DONE || pass < 0) {
        return bad(r, "/", "invalid training phase");
    }
    m->phase = (int)phase;
    m->pass = (unsigned)pass;
    int64_t protocol = 1; /* files written before the attribute */
    if (H5Aexists(f, "training_protocol") > 0 && a_rint(r, f, "training_protocol", &protocol)) {
        return MMDX_EFORMAT;
    }
    if (protocol < 1 || protocol > INT32_MAX) {
        return bad(r, "training_protocol", "invalid training protocol");
    }
    m->protocol = (int)protocol;
    size_t nc = m->ncol;
    double *buf = mmdx_calloc((nc + 1) * FZ_MOM_COUNT, sizeof(double));
    int64_t *ib = mmdx_calloc(nc + 1, sizeof(int64_t));
    int rc = MMDX_OK;
    if (!buf || !ib) {
        rc = mmdx_error_set(r->err, MMDX_ENOMEM, r->path, "", 0, "out of memory");
        goto done;
    }
    if (H5Lexists(f, "columns", H5P_DEFAULT) <= 0) {
        rc = bad(r, "columns", "group missing");
        goto done;
    }
    hid_t g = H5Gopen2(f, "columns", H5P_DEFAULT);
    snprintf(r->where, sizeof(r->where), "columns");
    rc = r_data(r, g, "feature", H5T_NATIVE_INT64, nc, 0, ib);
    for (size_t c = 0; c < nc && !rc; c++) {
        if (ib[c] != (int64_t)m->cols[c].feature) {
            rc = bad(r, "columns/feature", "columns do not match the feature space");
        }
    }
    rc = rc ? rc : r_data(r, g, "level", H5T_NATIVE_INT64, nc, 0, ib);
    for (size_t c = 0; c < nc && !rc; c++) {
        if (ib[c] != m->cols[c].level) {
            rc = bad(r, "columns/level", "columns do not match the feature space");
        }
    }
    rc = rc ? rc : r_data(r, g, "log", H5T_NATIVE_INT64, nc, 0, ib);
    for (size_t c = 0; c < nc && !rc; c++) {
        /* a LOGIT column (declared in the space; islogit set by mmdx_model_alloc()) is never log */
        if (ib[c] != 0 && m->cols[c].islogit) {
            rc = bad(r, "columns/log", "a column of a feature declared logit is marked log");
        }
        m->cols[c].islog = ib[c] != 0;
    }
    rc = rc ? rc : r_doubles(r, g, "mean", nc, 0, buf);
    for (size_t c = 0; c < nc && !rc; c++) {
        m->cols[c].mean = buf[c];
    }
    rc = rc ? rc : r_doubles(r, g, "sd", nc, 0, buf);
    for (size_t c = 0; c < nc && !rc; c++) {
        m->cols[c].sd = buf[c];
        if (!(buf[c] > 0)) {
            rc = bad(r, "columns/sd", "non-positive scale");
        }
    }
    rc = rc ? rc : r_doubles(r, g, "min_positive", nc, 0, buf);
    for (size_t c = 0; c < nc && !rc; c++) {
        m->cols[c].xmin = buf[c];
    }
    rc = rc ? rc : r_doubles(r, g, "moments", nc, FZ_MOM_COUNT, buf);
    for (size_t c = 0; c < nc && !rc; c++) {
        memcpy(m->cols[c].mom, buf + c * FZ_MOM_COUNT, sizeof(m->cols[c].mom));
    }
    H5Gclose(g);
    if (rc) {
        goto done;
    }
    size_t ncls = 0;
    for (size_t t = 0; t < m->ntarget; t++) {
        ncls += mmdx_space_n_classes(m->space, t);
    }
    r->where[0] = '\0';
    if ((rc = r_doubles(r, f, "label_counts", ncls, 0, m->counts))) {
        goto done;
    }
    if (H5Lexists(f, "modalities", H5P_DEFAULT) <= 0 || H5Lexists(f, "binary", H5P_DEFAULT) <= 0) {
        rc = bad(r, "/", "modalities or binary models missing");
        goto done;
    }
    g = H5Gopen2(f, "modalities", H5P_DEFAULT);
    for (size_t k = 0; k < m->nmod && !rc; k++) {
        char name[32], mname[MMDX_ID_MAX];
        snprintf(name, sizeof(name), "%zu", k);
        snprintf(r->where, sizeof(r->where), "modalities/%zu", k);
        if (H5Lexists(g, name, H5P_DEFAULT) <= 0) {
            rc = bad(r, r->where, "modality missing");
            break;
        }
        hid_t gm = H5Gopen2(g, name, H5P_DEFAULT);
        fz_modality_t *md = &m->mods[k];
        size_t D = md->ncol;
        rc = a_rstr(r, gm, "name", mname, sizeof(mname)) || a_rdouble(r, gm, "n_seen", &md->nseen) ||
             r_doubles(r, gm, "covariance", D, D, md->Sigma) || r_doubles(r, gm, "cross_products", D, D, md->S) ||
             r_doubles(r, gm, "pair_counts", D, D, md->N);
        if (!rc && strcmp(mname, md->name) != 0) {
            rc = bad(r, r->where, "modality does not match the feature space");
        }
        H5Gclose(gm);
        rc = rc ? MMDX_EFORMAT : MMDX_OK;
    }
    H5Gclose(g);
    if (rc) {
        goto done;
    }
    if (m->phase >= FZ_PH_MODAL && fz_model_precisions(m) != MMDX_OK) {
        rc = bad(r, "modalities", "a feature covariance is not positive definite");
        goto done;
    }
    g = H5Gopen2(f, "binary", H5P_DEFAULT);
    size_t nf = (size_t)m->opt.folds + 1;
    for (size_t b = 0; b < m->nbin && !rc; b++) {
        char name[64];
        snprintf(name, sizeof(name), "%zu", b);
        snprintf(r->where, sizeof(r->where), "binary/%zu", b);
        if (H5Lexists(g, name, H5P_DEFAULT) <= 0) {
            rc = bad(r, r->where, "binary model missing");
            break;
        }
        hid_t gb = H5Gopen2(g, name, H5P_DEFAULT);
        fz_binary_t *bn = &m->bins[b];
        int64_t t, c;
        rc = a_rint(r, gb, "target", &t) || a_rint(r, gb, "class", &c) ||
             a_rdouble(r, gb, "prior_logodds", &bn->l0) || read_fit(r, gb, "stack", &bn->stack);
        if (!rc && (t != (int64_t)bn->target || c != (int64_t)bn->cls)) {
            rc = bad(r, r->where, "binary model does not match the targets");
        }
        for (size_t k = 0; k < m->nmod && !rc; k++) {
            for (size_t fo = 0; fo < nf && !rc; fo++) {
                snprintf(name, sizeof(name), "modality%zu_fit%zu", k, fo);
                rc = read_fit(r, gb, name, &bn->fits[k * nf + fo]);
            }
        }
        H5Gclose(gb);
        rc = rc ? MMDX_EFORMAT : MMDX_OK;
    }
    H5Gclose(g);
done:
    mmdx_free(buf);
    mmdx_free(ib);
    return rc;
}

static int load_h5(mmdx_ctx_t *ctx, const char *path, const void *image, size_t size, mmdx_model_t **out,
                   mmdx_error_t *err);

int mmdx_model_load(mmdx_ctx_t *ctx, const char *path, mmdx_model_t **out, mmdx_error_t *err)
{
    *out = NULL;
    if (!path) {
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "no path");
    }
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        int e = errno;
        return mmdx_error_set(err, e == ENOENT || e == ENOTDIR ? MMDX_ENOTFOUND : MMDX_EIO, path, "", 0,
                              "cannot open the model file: %s", strerror(e));
    }
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0) {
        return mmdx_error_set(err, MMDX_EFORMAT, path, "", 0, "not an HDF5 file");
    }
    return load_h5(ctx, path, NULL, 0, out, err);
}

int mmdx_model_load_memory(mmdx_ctx_t *ctx, const void *buf, size_t size, const char *name, mmdx_model_t **out,
                           mmdx_error_t *err)
{
    *out = NULL;
    if (!name) {
        name = "(memory)";
    }
    if (!buf) {
        return mmdx_error_set(err, MMDX_EINVAL, name, "", 0, "no buffer");
    }
    if (!mmdx_h5_image_is_hdf5(buf, size)) {
        return mmdx_error_set(err, MMDX_EFORMAT, name, "", 0, "not an HDF5 file");
    }
    return load_h5(ctx, name, buf, size, out, err);
}

/* The model file at @p path or, with @p image, the @p size bytes there (@p path names it). */
static int load_h5(mmdx_ctx_t *ctx, const char *path, const void *image, size_t size, mmdx_model_t **out,
                   mmdx_error_t *err)
{
    mmdx_file_id_t id; /* the file before HDF5 opened it, compared after the load (not an image) */
    mmdx_file_id_take(image ? NULL : path, &id);
    hid_t f = mmdx_h5_open_ro(path, image, size, 0);
    if (f < 0) { /* an image is not read from anywhere: failing to open it is its content */
        return mmdx_error_set(err, image ? MMDX_EFORMAT : MMDX_EIO, path, "", 0, "cannot open the HDF5 file");
    }
    rd_t r = {path, err, "", 0};
    char fmt[64], sw[64];
    int64_t version;
    mmdx_space_t *space = NULL;
    mmdx_model_t *m = NULL;
    mmdx_model_options_t opt;
    int rc;
    if (H5Aexists(f, "format") <= 0 || a_rstr(&r, f, "format", fmt, sizeof(fmt)) != MMDX_OK ||
        strcmp(fmt, FZ_FORMAT_NAME) != 0) {
        rc = mmdx_error_set(err, MMDX_EFORMAT, path, "format", 0, "not an mmdx model file");
        goto done;
    }
    if ((rc = a_rint(&r, f, "format_version", &version)) != MMDX_OK) {
        goto done;
    }
    if (version != MMDX_MODEL_FORMAT_VERSION) {
        sw[0] = '\0';
        if (H5Aexists(f, "software_version") > 0 && a_rstr(&r, f, "software_version", sw, sizeof(sw)) != MMDX_OK) {
            snprintf(sw, sizeof(sw), "?");
        }
        if (version < MMDX_MODEL_FORMAT_VERSION) {
            rc = mmdx_error_set(err, MMDX_EVERSION, path, "format_version", 0,
                                "model file format %" PRId64 " written by an older mmdx (libmmdx %s); this one reads %d: "
                                "retrain the model",
                                version, sw[0] ? sw : "?", MMDX_MODEL_FORMAT_VERSION);
        } else {
            rc = mmdx_error_set(err, MMDX_EVERSION, path, "format_version", 0,
                                "model file format %" PRId64 " written by a newer mmdx (libmmdx %s); this one reads %d: "
                                "upgrade libmmdx or retrain the model with this one",
                                version, sw[0] ? sw : "?", MMDX_MODEL_FORMAT_VERSION);
        }
        goto done;
    }
    mmdx_model_options_init(&opt);
    if ((rc = read_options(&r, f, &opt)) != MMDX_OK || (rc = read_space(&r, f, &space)) != MMDX_OK) {
        goto done;
    }
    if ((rc = mmdx_model_alloc(ctx, space, &opt, &m, err)) != MMDX_OK) {
        goto done;
    }
    rc = read_model(&r, f, m);
    snprintf(m->path, sizeof(m->path), "%s", path);
    long np = rc == MMDX_OK ? r_len(f, "provenance") : 0;
    if (np > 0) {
        char **lines = r_strings(&r, f, "provenance", (size_t)np);
        if (!lines) {
            rc = r.oom ? mmdx_error_set(err, MMDX_ENOMEM, path, "", 0, "out of memory") : MMDX_EFORMAT;
        }
        for (long k = 0; lines && k < np && rc == MMDX_OK; k++) {
            rc = mmdx_model_add_provenance(m, lines[k]);
        }
        strings_free(lines, lines ? (size_t)np : 0);
    }
done:
    H5Fclose(f);
    mmdx_space_free(space);
    /* rewritten while read: the parts may come from two different models */
    if (rc == MMDX_OK && mmdx_file_id_check(path, &id, NULL, err) != MMDX_OK) {
        mmdx_model_free(m);
        return MMDX_EIO;
    }
    if (rc != MMDX_OK) {
        if (rc != MMDX_ENOMEM && rc != MMDX_EVERSION) {
            rc = MMDX_EFORMAT;
        }
        mmdx_model_free(m);
        return rc;
    }
    *out = m;
    return MMDX_OK;
}
