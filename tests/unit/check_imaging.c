/* Check suite of the imaging-feature modality (modalities/hdf5) and its writer.
 *
 * The adapter is driven through its descriptor's methods with this file's own host
 * table (a counting allocator) and sink, so these tests need neither the plugin host nor
 * the collector. Fixture files are written with the HDF5 API directly, so the reader is
 * not only tested against the project's own writer. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hdf5.h>
#include <mmdx/mmdx.h>
#include "../../modalities/hdf5/imaging_image.h"

const mmdx_modality_desc_t *mmdx_modality_hdf5_get_desc(void);

/* ------------------------------------------------------------------ counting host */

static long live_allocs;
static size_t live_bytes, peak_bytes;

typedef struct { size_t size; size_t pad; } hdr_t;

/* allocation number at which t_malloc/t_realloc fail (0: never) */
static long fail_at, n_calls;

static void *t_malloc(size_t n)
{
    if (fail_at && ++n_calls == fail_at)
        return NULL;
    hdr_t *h = malloc(sizeof *h + n);
    if (!h)
        return NULL;
    h->size = n;
    live_allocs++;
    live_bytes += n;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
    return h + 1;
}

static void t_free(void *p)
{
    if (!p)
        return;
    hdr_t *h = (hdr_t *)p - 1;
    live_allocs--;
    live_bytes -= h->size;
    free(h);
}

static void *t_realloc(void *p, size_t n)
{
    if (!p)
        return t_malloc(n);
    if (fail_at && ++n_calls == fail_at)
        return NULL;
    hdr_t *h = (hdr_t *)p - 1;
    size_t old = h->size;
    hdr_t *g = realloc(h, sizeof *g + n);
    if (!g)
        return NULL;
    g->size = n;
    live_bytes = live_bytes - old + n;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
    return g + 1;
}

static mmdx_host_t host = {MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof(mmdx_host_t), t_malloc, t_realloc, t_free,
                           NULL, NULL, NULL, 1, {NULL}};
static const mmdx_modality_desc_t *desc;
static void *state;
static char tmpdir[256];

static void setup(void)
{
    mmdx_error_t err = {0};
    desc = mmdx_modality_hdf5_get_desc();
    ck_assert_ptr_nonnull(desc);
    ck_assert_int_eq(desc->ops.init(&host, &state, &err), MMDX_OK);
    snprintf(tmpdir, sizeof tmpdir, "%s/check_imaging.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[600];
    desc->ops.fini(state);
    state = NULL;
    ck_assert_int_eq(live_allocs, 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *tpath(const char *name)
{
    /* a ring of buffers: a test keeps at most a few paths at once */
    static char buf[8][400];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* ------------------------------------------------------------------ collecting sink */

typedef struct got {
    size_t n, d, blocks, max_rows, patient_calls;
    char **pids;
    char **fids;
    char **units;
    double *vals;
    size_t cap;
    int fail_after; /* return an error at this block (0: never) */
    char prov[400];
} got_t;

static int got_block(void *data, const mmdx_block_t *b)
{
    got_t *g = data;
    g->blocks++;
    if (g->fail_after && (int)g->blocks >= g->fail_after)
        return MMDX_EIO;
    if (b->n > g->max_rows)
        g->max_rows = b->n;
    if (!g->fids) {
        g->d = b->d;
        g->fids = calloc(b->d + 1, sizeof *g->fids);
        g->units = calloc(b->d + 1, sizeof *g->units);
        for (size_t j = 0; j < b->d; j++) {
            g->fids[j] = strdup(b->features[j]);
            g->units[j] = b->units && b->units[j] ? strdup(b->units[j]) : NULL;
        }
    } else {
        ck_assert_uint_eq(g->d, b->d);
        for (size_t j = 0; j < b->d; j++)
            ck_assert_str_eq(g->fids[j], b->features[j]);
    }
    snprintf(g->prov, sizeof g->prov, "%s", b->provenance ? b->provenance : "");
    if (g->n + b->n > g->cap) {
        g->cap = (g->n + b->n) * 2;
        g->pids = realloc(g->pids, g->cap * sizeof *g->pids);
        g->vals = realloc(g->vals, g->cap * (b->d ? b->d : 1) * sizeof *g->vals);
    }
    for (size_t i = 0; i < b->n; i++)
        g->pids[g->n + i] = strdup(b->patients[i]);
    if (b->d)
        memcpy(g->vals + g->n * b->d, b->values, b->n * b->d * sizeof(double));
    g->n += b->n;
    return MMDX_OK;
}

static int got_patient(void *data, const char *p)
{
    got_t *g = data;
    (void)p;
    g->patient_calls++;
    return MMDX_OK;
}

static void got_free(got_t *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->pids[i]);
    for (size_t j = 0; g->fids && j < g->d; j++) {
        free(g->fids[j]);
        free(g->units[j]);
    }
    free(g->pids);
    free(g->fids);
    free(g->units);
    free(g->vals);
    memset(g, 0, sizeof *g);
}

/* Open, read and close @p path with @p options through the descriptor. */
static int run(const char *path, const char *const *options, got_t *g, mmdx_error_t *err)
{
    void *src = NULL;
    mmdx_sink_t sink = {g, NULL, got_block, NULL, got_patient, {NULL}};
    mmdx_error_clear(err);
    int rc = desc->ops.open(state, path, options, &src, err);
    if (rc != MMDX_OK) {
        ck_assert_ptr_null(src);
    } else {
        rc = desc->ops.read(src, &sink, err);
        desc->ops.close(src);
    }
    /* every HDF5 object the adapter opened is closed again */
    ck_assert_msg(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == 0, "%zd HDF5 objects left open after %s",
                  H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), mmdx_strerror(rc));
    return rc;
}

/* ------------------------------------------------------------------ fixtures (raw HDF5) */

enum { STR_VLEN, STR_NULLTERM, STR_NULLPAD, STR_SPACEPAD };

typedef struct fx {
    size_t n, d;
    const char *const *ids;
    const char *const *names;
    const char *const *units; /* or NULL */
    const double *vals;       /* [n][d] */
    hid_t ftype;              /* 0: F64LE */
    int str;                  /* STR_* */
    size_t chunk;             /* rows per chunk; 0 contiguous */
    int gzip;
    int transposed;           /* 1: layout attr on /features, 2: on root */
    const char *modality;     /* root attribute or NULL */
    const char *layout;       /* explicit layout attribute value (overrides) */
    size_t ids_n, names_n;    /* override counts (bad files) */
    int skip;                 /* 1 no /features, 2 no /patient_ids, 3 no /feature_names */
} fx_t;

static hid_t str_type(int kind, size_t width)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (kind == STR_VLEN) {
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
    } else {
        H5Tset_size(t, width);
        H5Tset_strpad(t, kind == STR_NULLTERM ? H5T_STR_NULLTERM : kind == STR_NULLPAD ? H5T_STR_NULLPAD
                                                                                        : H5T_STR_SPACEPAD);
    }
    return t;
}

static void put_strings(hid_t file, const char *name, int kind, const char *const *s, size_t n)
{
    size_t width = 1;
    for (size_t i = 0; i < n; i++)
        if (strlen(s[i]) + 1 > width)
            width = strlen(s[i]) + 1;
    if (kind == STR_NULLPAD || kind == STR_SPACEPAD)
        width = width > 1 ? width - 1 : 1; /* exactly fitting, no terminator */
    hid_t t = str_type(kind, width);
    hsize_t dim = n;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t ds = H5Dcreate2(file, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(ds, 0);
    if (n > 0) {
        if (kind == STR_VLEN) {
            ck_assert_int_ge(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, s), 0);
        } else {
            char *buf = calloc(n, width);
            for (size_t i = 0; i < n; i++) {
                memset(buf + i * width, kind == STR_SPACEPAD ? ' ' : 0, width);
                memcpy(buf + i * width, s[i], strlen(s[i]) < width ? strlen(s[i]) : width);
            }
            ck_assert_int_ge(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), 0);
            free(buf);
        }
    }
    H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(t);
}

static void put_attr(hid_t obj, const char *name, const char *value)
{
    hid_t t = str_type(STR_VLEN, 0), sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Awrite(a, t, &value), 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void fx_write(const char *path, const fx_t *f)
{
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(file, 0);
    if (f->skip != 2)
        put_strings(file, "patient_ids", f->str, f->ids, f->ids_n ? f->ids_n : f->n);
    if (f->skip != 3)
        put_strings(file, "feature_names", f->str, f->names, f->names_n ? f->names_n : f->d);
    if (f->units)
        put_strings(file, "feature_units", f->str, f->units, f->d);
    if (f->modality)
        put_attr(file, "modality", f->modality);
    if (f->skip != 1) {
        hsize_t dims[2] = {f->transposed ? f->d : f->n, f->transposed ? f->n : f->d};
        hid_t sp = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
        if (f->chunk) {
            hsize_t cd[2] = {f->transposed ? (f->d ? f->d : 1) : f->chunk, f->transposed ? f->chunk : (f->d ? f->d : 1)};
            ck_assert_int_ge(H5Pset_chunk(dcpl, 2, cd), 0);
            if (f->gzip) {
                H5Pset_shuffle(dcpl);
                H5Pset_deflate(dcpl, (unsigned)f->gzip);
            }
        }
        hid_t ds = H5Dcreate2(file, "features", f->ftype ? f->ftype : H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl,
                              H5P_DEFAULT);
        ck_assert_int_ge(ds, 0);
        if (f->n > 0 && f->d > 0) {
            double *buf = malloc(f->n * f->d * sizeof *buf);
            for (size_t i = 0; i < f->n; i++)
                for (size_t j = 0; j < f->d; j++)
                    buf[f->transposed ? j * f->n + i : i * f->d + j] = f->vals[i * f->d + j];
            ck_assert_int_ge(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), 0);
            free(buf);
        }
        if (f->layout)
            put_attr(f->transposed == 2 ? file : ds, "layout", f->layout);
        else if (f->transposed)
            put_attr(f->transposed == 2 ? file : ds, "layout", "features_by_patients");
        H5Dclose(ds);
        H5Pclose(dcpl);
        H5Sclose(sp);
    }
    ck_assert_int_ge(H5Fclose(file), 0);
}

/* A small standard fixture: 5 patients x 3 features with a NaN. */
static const char *const ids5[] = {"P001", "P002", "P003", "P004", "P005"};
static const char *const names3[] = {"lesion_volume", "hu_mean", "sphericity"};
static const char *const units3[] = {"mL", "[hnsf'U]", ""};
static double vals5x3[15];

static void fill_vals(void)
{
    for (size_t i = 0; i < 15; i++)
        vals5x3[i] = 0.1 * (double)i - 0.37 + (double)(i % 3) * 1e-9;
    vals5x3[7] = NAN;
}

static fx_t fx_std(void)
{
    fill_vals();
    fx_t f = {5, 3, ids5, names3, units3, vals5x3, 0, STR_VLEN, 0, 0, 0, "ct", NULL, 0, 0, 0};
    return f;
}

static void assert_same_double(double a, double b)
{
    if (isnan(b))
        ck_assert(isnan(a));
    else
        ck_assert_msg(memcmp(&a, &b, sizeof a) == 0, "%.17g != %.17g", a, b);
}

static void assert_std(const got_t *g, const char *mod, int as_float)
{
    ck_assert_uint_eq(g->n, 5);
    ck_assert_uint_eq(g->d, 3);
    for (size_t j = 0; j < 3; j++) {
        char id[64];
        snprintf(id, sizeof id, "img:%s:%s", mod, names3[j]);
        ck_assert_str_eq(g->fids[j], id);
    }
    for (size_t i = 0; i < 5; i++) {
        ck_assert_str_eq(g->pids[i], ids5[i]);
        for (size_t j = 0; j < 3; j++) {
            double want = vals5x3[i * 3 + j];
            if (as_float)
                want = (double)(float)want;
            assert_same_double(g->vals[i * 3 + j], want);
        }
    }
}

/* ------------------------------------------------------------------ tests: layout */

START_TEST(test_basic_f64_vlen)
{
    fx_t f = fx_std();
    const char *p = tpath("ct_features.h5");
    fx_write(p, &f);
    got_t g = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(p, NULL, &g, &err), MMDX_OK);
    assert_std(&g, "ct", 0);
    ck_assert_str_eq(g.units[0], "mL");
    ck_assert_str_eq(g.units[1], "[hnsf'U]");
    ck_assert_ptr_null(g.units[2]); /* "" means no unit */
    ck_assert_str_eq(g.prov, p);
    ck_assert_uint_eq(g.blocks, 1);
    got_free(&g);
}
END_TEST

/* The built-in adapter on an HDF5 file image (the fuzz harness's way in): same content
 * as from the file, nothing left open, a damaged image refused. */
START_TEST(test_file_image)
{
    fx_t f = fx_std();
    const char *p = tpath("ct_image.h5");
    fx_write(p, &f);
    FILE *fp = fopen(p, "rb");
    ck_assert_ptr_nonnull(fp);
    static unsigned char img[1 << 20];
    size_t size = fread(img, 1, sizeof img, fp);
    fclose(fp);
    ck_assert(size > 0 && size < sizeof img);
    unlink(p); /* read from memory only */
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    got_t g = {0};
    mmdx_sink_t sink = {&g, NULL, got_block, NULL, got_patient, {NULL}};
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_msg(mmdx_imaging_read_image(ctx, img, size, p, NULL, &sink, &err) == MMDX_OK, "%s", err.message);
    assert_std(&g, "ct", 0);
    ck_assert_str_eq(g.units[0], "mL");
    ck_assert_str_eq(g.prov, p);
    got_free(&g);
    ck_assert_int_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_imaging_read_image(ctx, img, size / 2, "half.h5", NULL, &sink, &err), MMDX_EFORMAT);
    ck_assert_str_eq(err.file, "half.h5");
    ck_assert_uint_eq(g.n, 0);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_imaging_read_image(ctx, "P001,1\n", 7, "text.csv", NULL, &sink, &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "not an HDF5 file"));
    ck_assert_int_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_float32_and_bigendian)
{
    fx_t f = fx_std();
    const char *p = tpath("a.h5");
    f.ftype = H5T_IEEE_F32LE;
    fx_write(p, &f);
    got_t g = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(p, NULL, &g, &err), MMDX_OK);
    assert_std(&g, "ct", 1);
    got_free(&g);
    f.ftype = H5T_IEEE_F32BE;
    fx_write(p, &f);
    ck_assert_int_eq(run(p, NULL, &g, &err), MMDX_OK);
    assert_std(&g, "ct", 1);
    got_free(&g);
    f.ftype = H5T_IEEE_F64BE;
    fx_write(p, &f);
    ck_assert_int_eq(run(p, NULL, &g, &err), MMDX_OK);
    assert_std(&g, "ct", 0);
    got_free(&g);
}
END_TEST

START_TEST(test_integer_dtype)
{
    fx_t f = fx_std();
    double iv[15];
    for (int i = 0; i < 15; i++)
        iv[i] = i * 7 - 20;
    f.vals = iv;
    f.ftype = H5T_STD_I32LE;
    const char *p = tpath("int.h5");
    fx_write(p, &f);
    got_t g = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(p, NULL, &g, &err), MMDX_OK);
    for (int i = 0; i < 15; i++)
        ck_assert_double_eq(g.vals[i], iv[i]);
    got_free(&g);
}
END_TEST

START_TEST(test_fixed_strings)
{
    static const int kinds[] = {STR_NULLTERM, STR_NULLPAD, STR_SPACEPAD};
    for (size_t k = 0; k < 3; k++) {
        fx_t f = fx_std();
        f.str = kinds[k];
        const char *p = tpath("fixed.h5");
        fx_write(p, &f);
        got_t g = {0};
        mmdx_error_t err;
        ck_assert_msg(run(p, NULL, &g, &err) == MMDX_OK, "kind %d: %s", kinds[k], err.message);
        assert_std(&g, "ct", 0);
        ck_assert_str_eq(g.units[0], "mL");
        got_free(&g);
    }
}
END_TEST

START_TEST(test_fixed_string_attribute)
{
    /* modality as a fixed-length space-padded attribute */
    fx_t f = fx_std();
    f.modality = NULL;
    const char *p = tpath("x.h5");
    fx_write(p, &f);
    hid_t file = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t t = str_type(STR_SPACEPAD, 8), sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(file, "modality", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Awrite(a, t, "retina  "), 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(file);
    got_t g = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(p, NULL, &g, &err), MMDX_OK);
    assert_std(&g, "retina", 0);
    got_free(&g);
}
END_TEST

START_TEST(test_modality_from_stem)
{
    fx_t f = fx_std();
    f.modality = NULL;
    const char *p = tpath("fundus_v2.hdf5");
    fx_write(p, &f);
    got_t g = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(p, NULL, &g, &err), MMDX_OK);
    assert_std(&g, "fundus_v2", 0);
    got_free(&g);
    /* the modality= option overrides both */
    const char *opt[] = {"modality=mri", NULL};
    ck_assert_int_eq(run(p, opt, &g, &err), MMDX_OK);
    assert_std(&g, "mri", 0);
    got_free(&g);
}
END_TEST

START_TEST(test_transposed)
{
    for (int where = 1; where <= 2; where++)
        for (size_t chunk = 0; chunk <= 2; chunk += 2) {
            fx_t f = fx_std();
            f.transposed = where;
            f.chunk = chunk;
            const char *p = tpath("t.h5");
            fx_write(p, &f);
            got_t g = {0};
            mmdx_error_t err;
            ck_assert_msg(run(p, NULL, &g, &err) == MMDX_OK, "%s", err.message);
            assert_std(&g, "ct", 0);
            got_free(&g);
        }
    /* explicit default layout value is accepted too */
    fx_t f = fx_std();
    f.layout = "patients_by_features";
    fx_write(tpath("t2.h5"), &f);
    got_t g = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(tpath("t2.h5"), NULL, &g, &err), MMDX_OK);
    assert_std(&g, "ct", 0);
    got_free(&g);
}
END_TEST

/* A larger file: n x d with a deterministic pattern. */
static double *pattern(size_t n, size_t d)
{
    double *v = malloc(n * d * sizeof *v);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            v[i * d + j] = (double)(i * 31 + j * 7 % 13) / 8.0 - (double)j;
    return v;
}

static char **make_ids(size_t n)
{
    char **ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        ids[i] = malloc(32);
        snprintf(ids[i], 32, "S%07zu", i);
    }
    return ids;
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

static const char *const names8[] = {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"};

START_TEST(test_gzip_chunked_blocks)
{
    size_t n = 10007, d = 8;
    double *v = pattern(n, d);
    char **ids = make_ids(n);
    for (int tr = 0; tr <= 1; tr++) {
        fx_t f = {n, d, (const char *const *)ids, names8, NULL, v, H5T_IEEE_F32LE, STR_VLEN, 100, 6, tr,
                  "ct", NULL, 0, 0, 0};
        const char *p = tpath("gz.h5");
        fx_write(p, &f);
        const char *opt[] = {"block_rows=333", NULL};
        got_t g = {0};
        mmdx_error_t err;
        ck_assert_msg(run(p, opt, &g, &err) == MMDX_OK, "%s", err.message);
        ck_assert_uint_eq(g.n, n);
        ck_assert_uint_le(g.max_rows, 333);
        ck_assert_uint_ge(g.blocks, (n + 332) / 333);
        for (size_t i = 0; i < n; i++) {
            ck_assert_str_eq(g.pids[i], ids[i]);
            for (size_t j = 0; j < d; j++)
                ck_assert(g.vals[i * d + j] == (double)(float)v[i * d + j]);
        }
        for (size_t j = 0; j < d; j++)
            ck_assert_ptr_null(g.units[j]);
        got_free(&g);
    }
    free_ids(ids, n);
    free(v);
}
END_TEST

static int count_rows_block(void *data, const mmdx_block_t *b)
{
    *(size_t *)data += b->n;
    return MMDX_OK;
}

static int count_obs(void *data, const mmdx_obs_t *o)
{
    ck_assert(!isnan(o->value));
    ck_assert(!strncmp(o->feature, "img:ct:", 7));
    (*(size_t *)data)++;
    return MMDX_OK;
}

START_TEST(test_bounded_memory)
{
    /* Peak host memory while streaming grows only by the duplicate-check table
     * (16 bytes per patient), not with the values (512 bytes per patient here). */
    size_t d = 64, sizes[2] = {20000, 150000}, peaks[2];
    char **names = make_ids(d);
    for (int k = 0; k < 2; k++) {
        size_t n = sizes[k];
        double *v = pattern(n, d);
        char **ids = make_ids(n);
        fx_t f = {n, d, (const char *const *)ids, (const char *const *)names, NULL, v, H5T_IEEE_F32LE, STR_VLEN,
                  1000, 0, 0, "ct", NULL, 0, 0, 0};
        const char *p = tpath("big.h5");
        fx_write(p, &f);
        free(v);
        free_ids(ids, n);
        void *src = NULL;
        size_t rows = 0;
        mmdx_error_t err = {0};
        ck_assert_int_eq(desc->ops.open(state, p, NULL, &src, &err), MMDX_OK);
        /* a sink needs block() or obs() */
        mmdx_sink_t none = {&rows, NULL, NULL, NULL, NULL, {NULL}};
        ck_assert_int_eq(desc->ops.read(src, &none, &err), MMDX_EINVAL);
        mmdx_error_clear(&err);
        peak_bytes = live_bytes;
        mmdx_sink_t sink = {&rows, NULL, count_rows_block, NULL, NULL, {NULL}};
        ck_assert_int_eq(desc->ops.read(src, &sink, &err), MMDX_OK);
        desc->ops.close(src);
        ck_assert_uint_eq(rows, n);
        peaks[k] = peak_bytes;
    }
    free_ids(names, d);
    size_t data_big = sizes[1] * d * sizeof(double);
    ck_assert_msg(peaks[1] < data_big / 4, "peak %zu vs data %zu", peaks[1], data_big);
    ck_assert_msg(peaks[1] - peaks[0] <= 32 * (sizes[1] - sizes[0]) + (1u << 20), "peaks %zu -> %zu", peaks[0],
                  peaks[1]);
}
END_TEST

START_TEST(test_one_huge_chunk)
{
    /* one gzip chunk holding the whole dataset (20 MB of doubles): read a window at a
     * time through a chunk cache sized for it; the values stay exact */
    size_t n = 40000, d = 64;
    double *v = pattern(n, d);
    char **ids = make_ids(n);
    char **names = make_ids(d);
    fx_t f = {n, d, (const char *const *)ids, (const char *const *)names, NULL, v, 0, STR_VLEN, n, 1, 0, "ct",
              NULL, 0, 0, 0};
    const char *p = tpath("huge_chunk.h5");
    fx_write(p, &f);
    got_t g = {0};
    mmdx_error_t err;
    peak_bytes = live_bytes;
    ck_assert_msg(run(p, NULL, &g, &err) == MMDX_OK, "%s", err.message);
    ck_assert_uint_eq(g.n, n);
    ck_assert_uint_gt(g.blocks, 1);
    ck_assert(memcmp(g.vals, v, n * d * sizeof *v) == 0);
    ck_assert_msg(peak_bytes < n * d * sizeof *v / 2, "peak %zu", peak_bytes);
    got_free(&g);
    free_ids(ids, n);
    free_ids(names, d);
    free(v);
}
END_TEST

START_TEST(test_obs_fallback)
{
    /* a sink without block() gets one observation per present value */
    fx_t f = fx_std();
    const char *p = tpath("o.h5");
    fx_write(p, &f);
    void *src = NULL;
    mmdx_error_t err = {0};
    size_t n = 0;
    mmdx_sink_t sink = {&n, count_obs, NULL, NULL, NULL, {NULL}};
    ck_assert_int_eq(desc->ops.open(state, p, NULL, &src, &err), MMDX_OK);
    ck_assert_int_eq(desc->ops.read(src, &sink, &err), MMDX_OK);
    desc->ops.close(src);
    ck_assert_uint_eq(n, 14); /* 15 values, one NaN */
}
END_TEST

START_TEST(test_allocation_failures)
{
    /* The Nth allocation fails, for N = 1, 2, ... until a run succeeds: every failure
     * is reported as MMDX_ENOMEM, nothing leaks, nothing crashes. */
    size_t n = 300, d = 8;
    double *v = pattern(n, d);
    char **ids = make_ids(n);
    fx_t f = {n, d, (const char *const *)ids, names8, NULL, v, H5T_IEEE_F32LE, STR_VLEN, 64, 0, 1, "ct", NULL, 0, 0, 0};
    const char *p = tpath("oom.h5");
    fx_write(p, &f);
    FILE *pl = fopen(tpath("oom.txt"), "w");
    fprintf(pl, "S0000003\nS0000200\n");
    fclose(pl);
    char o1[600];
    snprintf(o1, sizeof o1, "patients=%s", tpath("oom.txt"));
    const char *opt[] = {o1, "features=f1,f2,f6", NULL};
    for (int variant = 0; variant < 2; variant++) {
        if (variant == 1) { /* row-major, everything: the direct path */
            f.transposed = 0;
            fx_write(p, &f);
        }
        int done = 0;
        long k, base = live_allocs; /* the plugin state */
        for (k = 1; k < 10000 && !done; k++) {
            got_t g = {0};
            mmdx_error_t err;
            n_calls = 0;
            fail_at = k;
            int rc = run(p, variant ? NULL : opt, &g, &err);
            fail_at = 0;
            ck_assert_msg(live_allocs == base, "allocation %ld failing (%s: %s) leaks %ld blocks", k,
                          mmdx_strerror(rc), err.message, live_allocs - base);
            if (rc == MMDX_OK) {
                ck_assert_uint_eq(g.n, variant ? n : 2);
                ck_assert_uint_eq(g.d, variant ? d : 3);
                done = 1;
            } else {
                ck_assert_msg(rc == MMDX_ENOMEM, "allocation %ld: %s (%s)", k, mmdx_strerror(rc), err.message);
                ck_assert_int_eq(err.code, MMDX_ENOMEM);
            }
            got_free(&g);
        }
        ck_assert(done);
        ck_assert_int_gt(k, 10); /* the loop did exercise failures */
    }
    free_ids(ids, n);
    free(v);
}
END_TEST

/* ------------------------------------------------------------------ tests: subsets */

START_TEST(test_patient_subset)
{
    size_t n = 3000, d = 8;
    double *v = pattern(n, d);
    char **ids = make_ids(n);
    for (int tr = 0; tr <= 1; tr++) {
        fx_t f = {n, d, (const char *const *)ids, names8, NULL, v, 0, STR_VLEN, 128, 1, tr, "ct", NULL, 0, 0, 0};
        const char *p = tpath("s.h5");
        fx_write(p, &f);
        FILE *pl = fopen(tpath("patients.txt"), "w");
        /* out of order, a comment, a blank line, CRLF, an id not in the file */
        fprintf(pl, "# wanted\nS0002999\r\n\nS0000005\nS0000006\nS0001500\nNOT_HERE\nS0000000\n");
        fclose(pl);
        char opt0[600];
        snprintf(opt0, sizeof opt0, "patients=%s", tpath("patients.txt"));
        const char *opt[] = {opt0, NULL};
        got_t g = {0};
        mmdx_error_t err;
        ck_assert_msg(run(p, opt, &g, &err) == MMDX_OK, "%s", err.message);
        static const size_t want[] = {0, 5, 6, 1500, 2999};
        ck_assert_uint_eq(g.n, 5);
        for (size_t i = 0; i < 5; i++) {
            ck_assert_str_eq(g.pids[i], ids[want[i]]);
            for (size_t j = 0; j < d; j++)
                assert_same_double(g.vals[i * d + j], v[want[i] * d + j]);
        }
        got_free(&g);
    }
    free_ids(ids, n);
    free(v);
}
END_TEST

START_TEST(test_feature_subset)
{
    size_t n = 700, d = 8;
    double *v = pattern(n, d);
    char **ids = make_ids(n);
    fx_t f = {n, d, (const char *const *)ids, names8, NULL, v, 0, STR_VLEN, 64, 0, 0, "ct", NULL, 0, 0, 0};
    const char *p = tpath("f.h5");
    fx_write(p, &f);
    /* plain names, a full id, an id of another modality (ignored), a repeat */
    const char *opt[] = {"features=f6,img:ct:f1,img:retina:f2,f2,f1", NULL};
    got_t g = {0};
    mmdx_error_t err;
    ck_assert_msg(run(p, opt, &g, &err) == MMDX_OK, "%s", err.message);
    static const size_t cols[] = {1, 2, 6}; /* file order */
    ck_assert_uint_eq(g.d, 3);
    ck_assert_uint_eq(g.n, n);
    for (size_t k = 0; k < 3; k++) {
        char id[32];
        snprintf(id, sizeof id, "img:ct:f%zu", cols[k]);
        ck_assert_str_eq(g.fids[k], id);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 3; k++)
            assert_same_double(g.vals[i * 3 + k], v[i * d + cols[k]]);
    got_free(&g);

    /* both subsets at once, transposed */
    f.transposed = 1;
    fx_write(p, &f);
    FILE *pl = fopen(tpath("pl.txt"), "w");
    fprintf(pl, "S0000699\nS0000064\nS0000063\n");
    fclose(pl);
    char o2[600];
    snprintf(o2, sizeof o2, "patients=%s", tpath("pl.txt"));
    const char *opt2[] = {"features=f7,f0", o2, NULL};
    ck_assert_msg(run(p, opt2, &g, &err) == MMDX_OK, "%s", err.message);
    ck_assert_uint_eq(g.n, 3);
    ck_assert_uint_eq(g.d, 2);
    static const size_t rows[] = {63, 64, 699};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(g.pids[i], ids[rows[i]]);
        assert_same_double(g.vals[i * 2 + 0], v[rows[i] * d + 0]);
        assert_same_double(g.vals[i * 2 + 1], v[rows[i] * d + 7]);
    }
    got_free(&g);

    /* only other modalities named: patients are still reported, no values */
    const char *opt3[] = {"features=img:retina:f1", NULL};
    ck_assert_int_eq(run(p, opt3, &g, &err), MMDX_OK);
    ck_assert_uint_eq(g.n, 0);
    ck_assert_uint_eq(g.patient_calls, n);
    got_free(&g);

    /* unknown feature */
    const char *opt4[] = {"features=f1,nope", NULL};
    ck_assert_int_eq(run(p, opt4, &g, &err), MMDX_ENOTFOUND);
    ck_assert_str_eq(err.object, "nope");
    ck_assert_str_eq(err.file, p);
    got_free(&g);
    free_ids(ids, n);
    free(v);
}
END_TEST

START_TEST(test_bad_options)
{
    fx_t f = fx_std();
    const char *p = tpath("opt.h5");
    fx_write(p, &f);
    got_t g = {0};
    mmdx_error_t err;
    const char *o1[] = {"colour=red", NULL};
    ck_assert_int_eq(run(p, o1, &g, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "colour"));
    const char *o2[] = {"block_rows=0", NULL};
    ck_assert_int_eq(run(p, o2, &g, &err), MMDX_EINVAL);
    const char *o3[] = {"patients=/nonexistent/list.txt", NULL};
    ck_assert_int_eq(run(p, o3, &g, &err), MMDX_ENOTFOUND);
    ck_assert_str_eq(err.file, "/nonexistent/list.txt");
    const char *o4[] = {"features=", NULL};
    ck_assert_int_eq(run(p, o4, &g, &err), MMDX_EINVAL);
    const char *o5[] = {"modality=a:b", NULL};
    ck_assert_int_eq(run(p, o5, &g, &err), MMDX_EFORMAT);
    got_free(&g);
}
END_TEST

/* ------------------------------------------------------------------ tests: bad input */

/* Run and expect @p code with err.file == path and err.object containing @p object. */
static void expect_error(const char *path, const fx_t *f, int code, const char *object, const char *msg_part)
{
    if (f)
        fx_write(path, f);
    got_t g = {0};
    mmdx_error_t err;
    /* nothing may reach stderr: HDF5's printing is off */
    fflush(stderr);
    int saved = dup(2);
    char errlog[400];
    snprintf(errlog, sizeof errlog, "%s/stderr.txt", tmpdir);
    int fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    int rc = run(path, NULL, &g, &err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    struct stat sb;
    ck_assert_int_eq(stat(errlog, &sb), 0);
    ck_assert_msg(sb.st_size == 0, "something was printed to stderr");
    ck_assert_msg(rc == code, "expected %s, got %s: %s", mmdx_strerror(code), mmdx_strerror(rc), err.message);
    ck_assert_int_eq(err.code, code);
    ck_assert_str_eq(err.file, path);
    if (object)
        ck_assert_msg(strstr(err.object, object) != NULL, "object '%s' lacks '%s' (%s)", err.object, object,
                      err.message);
    if (msg_part)
        ck_assert_msg(strstr(err.message, msg_part) != NULL, "message '%s' lacks '%s'", err.message, msg_part);
    got_free(&g);
}

START_TEST(test_not_hdf5)
{
    const char *p = tpath("labs.h5");
    FILE *fp = fopen(p, "w");
    fputs("patient_id\tx\nP1\t3\n", fp);
    fclose(fp);
    expect_error(p, NULL, MMDX_EFORMAT, NULL, "not an HDF5 file");
    expect_error(tpath("missing.h5"), NULL, MMDX_ENOTFOUND, NULL, NULL);
    expect_error(tmpdir, NULL, MMDX_EFORMAT, NULL, "directory");
}
END_TEST

START_TEST(test_truncated_hdf5_errstack)
{
    /* A cut HDF5 file: HDF5 fails inside; its error stack becomes part of the message. */
    size_t n = 2000, d = 8;
    double *v = pattern(n, d);
    char **ids = make_ids(n);
    fx_t f = {n, d, (const char *const *)ids, names8, NULL, v, 0, STR_VLEN, 0, 0, 0, "ct", NULL, 0, 0, 0};
    const char *p = tpath("cut.h5");
    fx_write(p, &f);
    free(v);
    free_ids(ids, n);
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_int_eq(truncate(p, sb.st_size / 3), 0);
    got_t g = {0};
    mmdx_error_t err;
    int rc = run(p, NULL, &g, &err);
    ck_assert_int_ne(rc, MMDX_OK);
    ck_assert_str_eq(err.file, p);
    ck_assert_msg(strstr(err.message, "(HDF5: ") != NULL, "no HDF5 reason in '%s'", err.message);
    got_free(&g);
}
END_TEST

START_TEST(test_missing_datasets)
{
    fx_t f = fx_std();
    const char *p = tpath("m.h5");
    f.skip = 1;
    expect_error(p, &f, MMDX_ENOTFOUND, "/features", "missing dataset /features");
    f.skip = 2;
    expect_error(p, &f, MMDX_ENOTFOUND, "/patient_ids", "missing dataset /patient_ids");
    f.skip = 3;
    expect_error(p, &f, MMDX_ENOTFOUND, "/feature_names", "missing dataset /feature_names");
    /* /features a group, not a dataset */
    f.skip = 1;
    fx_write(p, &f);
    hid_t file = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Gclose(H5Gcreate2(file, "features", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Fclose(file);
    expect_error(p, NULL, MMDX_EFORMAT, "/features", "not a dataset");
}
END_TEST

static void write_raw_features(const char *p, int rank, const hsize_t *dims, hid_t type)
{
    fx_t f = fx_std();
    f.skip = 1;
    fx_write(p, &f);
    hid_t file = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t ds = H5Dcreate2(file, "features", type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(ds, 0);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Fclose(file);
}

START_TEST(test_wrong_rank_and_shape)
{
    const char *p = tpath("r.h5");
    hsize_t d1[1] = {15}, d3[3] = {5, 3, 1};
    write_raw_features(p, 1, d1, H5T_IEEE_F64LE);
    expect_error(p, NULL, MMDX_EFORMAT, "/features", "wrong rank of /features: 1");
    write_raw_features(p, 3, d3, H5T_IEEE_F64LE);
    expect_error(p, NULL, MMDX_EFORMAT, "/features", "wrong rank of /features: 3");
    /* patient ids do not match the rows */
    fx_t f = fx_std();
    f.ids_n = 4;
    expect_error(p, &f, MMDX_EFORMAT, "/patient_ids", "/patient_ids has 4 entries but /features has 5");
    /* feature-name count does not match the columns */
    f = fx_std();
    f.names_n = 2;
    expect_error(p, &f, MMDX_EFORMAT, "/feature_names", "/feature_names has 2 entries but /features has 3");
    /* the same, transposed: counts follow the layout */
    f = fx_std();
    f.names_n = 2;
    f.transposed = 1;
    expect_error(p, &f, MMDX_EFORMAT, "/feature_names", "has 2 entries");
    /* a transposed file read without its layout attribute is caught by the shape check */
    f = fx_std();
    f.transposed = 1;
    f.layout = "patients_by_features";
    expect_error(p, &f, MMDX_EFORMAT, "/patient_ids", "entries but /features has 3");
    /* units of the wrong length */
    f = fx_std();
    fx_write(p, &f);
    hid_t file = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(file, "feature_units", H5P_DEFAULT);
    H5Fclose(file);
    file = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    put_strings(file, "feature_units", STR_VLEN, units3, 2);
    H5Fclose(file);
    expect_error(p, NULL, MMDX_EFORMAT, "/feature_units", "has 2 entries");
}
END_TEST

START_TEST(test_non_numeric)
{
    const char *p = tpath("s.h5");
    hsize_t dims[2] = {5, 3};
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, 8);
    write_raw_features(p, 2, dims, st);
    H5Tclose(st);
    expect_error(p, NULL, MMDX_EFORMAT, "/features", "non-numeric dtype (string)");
    hid_t cmp = H5Tcreate(H5T_COMPOUND, 16);
    H5Tinsert(cmp, "re", 0, H5T_NATIVE_DOUBLE);
    H5Tinsert(cmp, "im", 8, H5T_NATIVE_DOUBLE);
    write_raw_features(p, 2, dims, cmp);
    H5Tclose(cmp);
    expect_error(p, NULL, MMDX_EFORMAT, "/features", "non-numeric dtype (compound)");
    /* patient ids that are numbers, not strings */
    fx_t f = fx_std();
    f.skip = 2;
    fx_write(p, &f);
    hid_t file = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    hsize_t n = 5;
    hid_t sp = H5Screate_simple(1, &n, NULL);
    H5Dclose(H5Dcreate2(file, "patient_ids", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(sp);
    H5Fclose(file);
    expect_error(p, NULL, MMDX_EFORMAT, "/patient_ids", "must hold strings");
}
END_TEST

START_TEST(test_duplicates)
{
    static const char *const dup_ids[] = {"P001", "P002", "P003", "P002", "P005"};
    fx_t f = fx_std();
    f.ids = dup_ids;
    const char *p = tpath("d.h5");
    expect_error(p, &f, MMDX_EDUP, "P002", "rows 2 and 4");
    /* far apart, in different read windows */
    size_t n = 300000, d = 2;
    double *v = pattern(n, 8);
    char **ids = make_ids(n);
    free(ids[n - 1]);
    ids[n - 1] = strdup(ids[3]);
    fx_t g = {n, d, (const char *const *)ids, names8, NULL, v, 0, STR_VLEN, 0, 0, 0, "ct", NULL, 0, 0, 0};
    expect_error(p, &g, MMDX_EDUP, "S0000003", "rows 4 and 300000");
    free_ids(ids, n);
    free(v);
    static const char *const dup_names[] = {"a", "b", "a"};
    f = fx_std();
    f.names = dup_names;
    expect_error(p, &f, MMDX_EDUP, "a", "duplicate feature name");
    static const char *const empty_id[] = {"P001", "", "P003", "P004", "P005"};
    f = fx_std();
    f.ids = empty_id;
    expect_error(p, &f, MMDX_EFORMAT, "/patient_ids", "row 2");
    static const char *const ctl_name[] = {"a", "b\tc", "d"};
    f = fx_std();
    f.names = ctl_name;
    expect_error(p, &f, MMDX_EFORMAT, "/feature_names", "control character");
}
END_TEST

START_TEST(test_infinite)
{
    fx_t f = fx_std();
    vals5x3[10] = INFINITY; /* P004, sphericity... index 10 = row 3, col 1 */
    const char *p = tpath("inf.h5");
    expect_error(p, &f, MMDX_ERANGE, "P004", "img:ct:hu_mean");
    f = fx_std();
    vals5x3[14] = -INFINITY;
    f.ftype = H5T_IEEE_F32LE;
    f.transposed = 1;
    expect_error(p, &f, MMDX_ERANGE, "P005", "img:ct:sphericity");
}
END_TEST

/* Through a collector (which takes rejects) an Inf is rejected, naming patient, row and
 * feature, and left missing; the other patients and values are kept (issue 9). */
START_TEST(test_infinite_rejected)
{
    fx_t f = fx_std();
    vals5x3[10] = INFINITY; /* P004, column 2 */
    vals5x3[14] = -INFINITY; /* P005, column 3 */
    const char *p = tpath("inf_rej.h5");
    fx_write(p, &f);
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_space_t *space = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(ctx, space, MMDX_AGG_LATEST);
    mmdx_error_t err = {0};
    ck_assert_int_eq(mmdx_collect_file(col, "hdf5", p, NULL, &err), MMDX_OK);
    ck_assert_uint_eq(mmdx_collect_n_rejects(col), 2);
    const char *pat, *file, *reason;
    long rec;
    int code;
    ck_assert_int_eq(mmdx_collect_reject(col, 0, &pat, &file, &rec, &code, &reason), MMDX_OK);
    ck_assert_str_eq(pat, "P004");
    ck_assert_str_eq(file, p);
    ck_assert_int_eq(rec, 4);
    ck_assert_int_eq(code, MMDX_ERANGE);
    ck_assert_ptr_nonnull(strstr(reason, "img:ct:hu_mean"));
    ck_assert_int_eq(mmdx_collect_reject(col, 1, &pat, &file, &rec, &code, &reason), MMDX_OK);
    ck_assert_str_eq(pat, "P005");
    ck_assert_uint_eq(mmdx_collect_n_patients(col), 5);
    size_t finite = 0;
    for (size_t k = 0; k < 15; k++)
        finite += isfinite(vals5x3[k]) != 0;
    ck_assert_uint_eq(finite, 12); /* one NaN in the fixture, two Inf */
    ck_assert_uint_eq(mmdx_collect_n_observations(col), finite);
    mmdx_collect_free(col);
    mmdx_space_free(space);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_bad_layout_and_modality)
{
    fx_t f = fx_std();
    f.layout = "sideways";
    const char *p = tpath("l.h5");
    expect_error(p, &f, MMDX_EFORMAT, "layout", "unknown layout 'sideways'");
    f = fx_std();
    f.modality = "c t";
    expect_error(p, &f, MMDX_EFORMAT, "modality", "modality name");
}
END_TEST

START_TEST(test_sink_stops)
{
    size_t n = 1000, d = 8;
    double *v = pattern(n, d);
    char **ids = make_ids(n);
    fx_t f = {n, d, (const char *const *)ids, names8, NULL, v, 0, STR_VLEN, 100, 0, 0, "ct", NULL, 0, 0, 0};
    const char *p = tpath("stop.h5");
    fx_write(p, &f);
    const char *opt[] = {"block_rows=100", NULL};
    got_t g = {0};
    g.fail_after = 3;
    mmdx_error_t err;
    ck_assert_int_eq(run(p, opt, &g, &err), MMDX_EIO);
    ck_assert_int_eq(err.code, MMDX_OK); /* the sink has the reason */
    ck_assert_uint_eq(g.blocks, 3);
    ck_assert_uint_eq(g.n, 200);
    got_free(&g);
    free_ids(ids, n);
    free(v);
}
END_TEST

START_TEST(test_probe)
{
    unsigned char head[1024];
    fx_t f = fx_std();
    const char *p = tpath("pr.h5");
    fx_write(p, &f);
    FILE *fp = fopen(p, "rb");
    size_t n = fread(head, 1, sizeof head, fp);
    fclose(fp);
    ck_assert_int_eq(desc->ops.probe(state, p, head, n), 90);
    /* an HDF5 file of another layout */
    hid_t file = H5Fcreate(tpath("other.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(file);
    fp = fopen(tpath("other.h5"), "rb");
    n = fread(head, 1, sizeof head, fp);
    fclose(fp);
    int s = desc->ops.probe(state, tpath("other.h5"), head, n);
    ck_assert_int_gt(s, 0);
    ck_assert_int_lt(s, 50);
    ck_assert_int_eq(desc->ops.probe(state, p, (const unsigned char *)"<?xml version", 13), 0);
    ck_assert_str_eq(desc->name, "hdf5");
    ck_assert_str_eq(desc->input, "imaging");
}
END_TEST

START_TEST(test_loadable_plugin)
{
    /* The module file works on its own, through its exported descriptor. */
    const char *bd = getenv("MMDX_BUILDDIR");
    char so[600];
    snprintf(so, sizeof so, "%s/modalities/hdf5/.libs/mmdx_hdf5.so", bd ? bd : ".");
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(h != NULL, "dlopen %s: %s", so, dlerror());
    mmdx_modality_get_desc_fn fn;
    void *sym = dlsym(h, "mmdx_modality_hdf5_get_desc");
    ck_assert_ptr_nonnull(sym);
    memcpy(&fn, &sym, sizeof fn);
    const mmdx_modality_desc_t *pd = fn();
    ck_assert_ptr_ne(pd, desc); /* its own copy, not the built-in */
    ck_assert_uint_eq(pd->abi_major, MMDX_ABI_MAJOR);
    void *pst = NULL, *src = NULL;
    mmdx_error_t err = {0};
    ck_assert_int_eq(pd->ops.init(&host, &pst, &err), MMDX_OK);
    fx_t f = fx_std();
    const char *p = tpath("ct.h5");
    fx_write(p, &f);
    got_t g = {0};
    mmdx_sink_t sink = {&g, NULL, got_block, NULL, got_patient, {NULL}};
    ck_assert_int_eq(pd->ops.open(pst, p, NULL, &src, &err), MMDX_OK);
    ck_assert_int_eq(pd->ops.read(src, &sink, &err), MMDX_OK);
    pd->ops.close(src);
    pd->ops.fini(pst);
    assert_std(&g, "ct", 0);
    got_free(&g);
    /* a wrong host ABI is refused */
    mmdx_host_t bad = host;
    bad.abi_major = MMDX_ABI_MAJOR + 1;
    ck_assert_int_eq(pd->ops.init(&bad, &pst, &err), MMDX_EABI);
    dlclose(h);
}
END_TEST

/* ------------------------------------------------------------------ tests: writer */

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

START_TEST(test_writer_roundtrip)
{
    fill_vals();
    for (int variant = 0; variant < 5; variant++) {
        mmdx_imaging_write_opts_t o;
        mmdx_imaging_write_opts_init(&o);
        o.float32 = variant == 1;
        o.gzip = variant == 2 ? 4 : 0;
        o.chunk_rows = variant == 2 ? 2 : 0;
        o.contiguous = variant == 3;
        o.transposed = variant == 4;
        const char *p = tpath("w.h5");
        mmdx_error_t err = {0};
        ck_assert_int_eq(mmdx_imaging_write(NULL, p, "ct", 5, 3, ids5, names3, units3, vals5x3, &o, &err), MMDX_OK);
        got_t g = {0};
        ck_assert_msg(run(p, NULL, &g, &err) == MMDX_OK, "%s", err.message);
        assert_std(&g, "ct", o.float32);
        ck_assert_str_eq(g.units[0], "mL");
        got_free(&g);
        /* the storage is what was asked for */
        hid_t file = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t ds = H5Dopen2(file, "features", H5P_DEFAULT), dcpl = H5Dget_create_plist(ds), t = H5Dget_type(ds);
        ck_assert_int_eq(H5Pget_layout(dcpl) == H5D_CHUNKED, !o.contiguous);
        ck_assert_int_eq(H5Pget_nfilters(dcpl), o.gzip ? 2 : 0);
        ck_assert_uint_eq(H5Tget_size(t), o.float32 ? 4 : 8);
        H5Tclose(t);
        H5Pclose(dcpl);
        H5Dclose(ds);
        /* ids are fixed-length UTF-8, sized to the longest */
        ds = H5Dopen2(file, "patient_ids", H5P_DEFAULT);
        t = H5Dget_type(ds);
        ck_assert_int_eq(H5Tis_variable_str(t), 0);
        ck_assert_uint_eq(H5Tget_size(t), 4);
        ck_assert_int_eq(H5Tget_cset(t), H5T_CSET_UTF8);
        H5Tclose(t);
        H5Dclose(ds);
        H5Fclose(file);
    }
}
END_TEST

START_TEST(test_writer_many_windows)
{
    /* more rows than one write window (4 MiB of doubles), both orientations */
    size_t n = 70001, d = 8;
    double *v = pattern(n, d);
    char **ids = make_ids(n);
    v[12345 * d + 3] = NAN;
    for (int tr = 0; tr <= 1; tr++) {
        mmdx_imaging_write_opts_t o;
        mmdx_imaging_write_opts_init(&o);
        o.transposed = tr;
        o.chunk_rows = 1000;
        o.gzip = tr ? 1 : 0;
        const char *p = tpath("big_w.h5");
        mmdx_error_t err = {0};
        ck_assert_int_eq(mmdx_imaging_write(NULL, p, "ct", n, d, (const char *const *)ids, names8, NULL, v, &o, &err),
                         MMDX_OK);
        got_t g = {0};
        ck_assert_msg(run(p, NULL, &g, &err) == MMDX_OK, "%s", err.message);
        ck_assert_uint_eq(g.n, n);
        ck_assert_str_eq(g.pids[n - 1], ids[n - 1]);
        for (size_t k = 0; k < n * d; k++)
            assert_same_double(g.vals[k], v[k]);
        got_free(&g);
    }
    free_ids(ids, n);
    free(v);
}
END_TEST

START_TEST(test_writer_utf8)
{
    /* multi-byte ids and names survive the fixed-length encoding */
    static const char *const ids[] = {"M\xc3\xbcller-7", "\xe6\x82\xa3\xe8\x80\x85-2", "P3"};
    static const char *const names[] = {"\xc3\xa9paisseur", "x"};
    static const double v[] = {1, 2, 3, 4, 5, 6};
    const char *p = tpath("utf8.h5");
    mmdx_error_t err = {0};
    ck_assert_int_eq(mmdx_imaging_write(NULL, p, "oct", 3, 2, ids, names, NULL, v, NULL, &err), MMDX_OK);
    got_t g = {0};
    ck_assert_msg(run(p, NULL, &g, &err) == MMDX_OK, "%s", err.message);
    ck_assert_uint_eq(g.n, 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_str_eq(g.pids[i], ids[i]);
    ck_assert_str_eq(g.fids[0], "img:oct:\xc3\xa9paisseur");
    got_free(&g);
}
END_TEST

START_TEST(test_writer_errors_leave_nothing)
{
    fill_vals();
    const char *p = tpath("keep.h5");
    FILE *fp = fopen(p, "w");
    fputs("old content\n", fp);
    fclose(fp);
    static const char *const dup_ids[] = {"A", "B", "A", "C", "D"};
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_error_t err = {0};
    ck_assert_int_eq(mmdx_imaging_write(ctx, p, "ct", 5, 3, dup_ids, names3, NULL, vals5x3, NULL, &err), MMDX_EDUP);
    ck_assert_str_eq(err.object, "A");
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_EDUP);
    vals5x3[4] = -INFINITY;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_imaging_write(ctx, p, "ct", 5, 3, ids5, names3, NULL, vals5x3, NULL, &err), MMDX_ERANGE);
    ck_assert_str_eq(err.object, "P002");
    ck_assert_ptr_nonnull(strstr(err.message, "hu_mean"));
    fill_vals();
    vals5x3[4] = 1e300;
    mmdx_imaging_write_opts_t o;
    mmdx_imaging_write_opts_init(&o);
    o.float32 = 1;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_imaging_write(ctx, p, "ct", 5, 3, ids5, names3, NULL, vals5x3, &o, &err), MMDX_ERANGE);
    fill_vals();
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_imaging_write(ctx, p, "c:t", 5, 3, ids5, names3, NULL, vals5x3, NULL, &err), MMDX_EINVAL);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_imaging_write(ctx, tpath("nodir/x.h5"), "ct", 5, 3, ids5, names3, NULL, vals5x3, NULL, &err),
                     MMDX_EIO);
    ck_assert(!file_exists(tpath("nodir/x.h5")));
    /* the old file is untouched and no temporary is left behind */
    char line[64] = "";
    fp = fopen(p, "r");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    fclose(fp);
    ck_assert_str_eq(line, "old content\n");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_export_cohort)
{
    mmdx_space_t *sp = mmdx_space_alloc();
    size_t j;
    ck_assert_int_eq(mmdx_space_add_feature(sp, "img:ct:vol", MMDX_KIND_CONTINUOUS, "mL", MMDX_TRANSFORM_NONE, &j), 0);
    ck_assert_int_eq(mmdx_space_add_feature(sp, "lab:loinc:2160-0", MMDX_KIND_CONTINUOUS, "mg/dL", MMDX_TRANSFORM_NONE, &j), 0);
    ck_assert_int_eq(mmdx_space_add_feature(sp, "img:retina:cdr", MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, &j), 0);
    ck_assert_int_eq(mmdx_space_add_feature(sp, "img:ct:hu", MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, &j), 0);
    mmdx_cohort_t *c = mmdx_cohort_alloc(sp, 4);
    static const char *const pid[] = {"A", "B", "C", "D"};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(mmdx_cohort_set_id(c, i, pid[i]), MMDX_OK);
    mmdx_cohort_set(c, 0, 0, 12.5, 0);
    mmdx_cohort_set(c, 0, 3, -40.25, 0);
    mmdx_cohort_set(c, 1, 1, 1.1, 0);    /* B: labs only -> not exported */
    mmdx_cohort_set(c, 1, 2, 0.4, 0);    /* and retina */
    mmdx_cohort_set(c, 2, 3, 33.0, 0);   /* C: hu only, vol missing */
    mmdx_cohort_set(c, 3, 0, 0.125, 0);
    mmdx_cohort_set(c, 3, 3, 1e-3, 0);
    const char *p = tpath("export_ct.h5");
    mmdx_error_t err = {0};
    ck_assert_int_eq(mmdx_imaging_export_cohort(NULL, c, NULL, p, NULL, &err), MMDX_EINVAL);
    ck_assert(!file_exists(p));
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_imaging_export_cohort(NULL, c, "mri", p, NULL, &err), MMDX_ENOTFOUND);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_imaging_export_cohort(NULL, c, "ct", p, NULL, &err), MMDX_OK);
    got_t g = {0};
    ck_assert_msg(run(p, NULL, &g, &err) == MMDX_OK, "%s", err.message);
    ck_assert_uint_eq(g.n, 3);
    ck_assert_uint_eq(g.d, 2);
    ck_assert_str_eq(g.fids[0], "img:ct:vol");
    ck_assert_str_eq(g.fids[1], "img:ct:hu");
    ck_assert_str_eq(g.units[0], "mL");
    ck_assert_ptr_null(g.units[1]);
    ck_assert_str_eq(g.pids[0], "A");
    ck_assert_str_eq(g.pids[1], "C");
    ck_assert_str_eq(g.pids[2], "D");
    ck_assert_double_eq(g.vals[0], 12.5);
    ck_assert_double_eq(g.vals[1], -40.25);
    ck_assert(isnan(g.vals[2]));
    ck_assert_double_eq(g.vals[3], 33.0);
    ck_assert_double_eq(g.vals[4], 0.125);
    ck_assert_double_eq(g.vals[5], 1e-3);
    got_free(&g);
    mmdx_cohort_free(c);
    mmdx_space_free(sp);
}
END_TEST

/* ------------------------------------------------------------------ through the host */

START_TEST(test_collector_two_sources)
{
    /* CT for P001..P005, retina for P004..P007: one patient set, some in one file only */
    fx_t f = fx_std();
    const char *ct = tpath("ct.h5");
    fx_write(ct, &f);
    static const char *const rids[] = {"P004", "P006", "P005", "P007"};
    static const char *const rnames[] = {"cup_disc_ratio", "vessel_density"};
    static const double rv[] = {0.4, 12.0, 0.55, NAN, 0.3, 9.5, 0.61, 14.25};
    fx_t r = {4, 2, rids, rnames, NULL, rv, H5T_IEEE_F32LE, STR_NULLPAD, 2, 1, 1, "retina", NULL, 0, 0, 0};
    const char *ret = tpath("fundus.h5");
    fx_write(ret, &r);

    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_space_t *space = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(ctx, space, MMDX_AGG_LATEST);
    mmdx_error_t err = {0};
    ck_assert_msg(mmdx_collect_file(col, "hdf5", ct, NULL, &err) == MMDX_OK, "%s", err.message);
    ck_assert_msg(mmdx_collect_file(col, NULL, ret, NULL, &err) == MMDX_OK, "%s", err.message); /* detected */
    mmdx_cohort_t *c = NULL;
    ck_assert_int_eq(mmdx_collect_to_cohort(col, &c, &err), MMDX_OK);
    ck_assert_uint_eq(mmdx_cohort_n_patients(c), 7);
    ck_assert_uint_eq(mmdx_space_n_features(space), 5);
    long jv = mmdx_space_find_feature(space, "img:ct:lesion_volume");
    long jh = mmdx_space_find_feature(space, "img:ct:hu_mean");
    long jc = mmdx_space_find_feature(space, "img:retina:cup_disc_ratio");
    long jd = mmdx_space_find_feature(space, "img:retina:vessel_density");
    ck_assert(jv >= 0 && jh >= 0 && jc >= 0 && jd >= 0);
    ck_assert_str_eq(mmdx_space_feature_unit(space, (size_t)jv), "mL");
    double x;
    long p2 = mmdx_cohort_find(c, "P002"), p4 = mmdx_cohort_find(c, "P004"), p7 = mmdx_cohort_find(c, "P007");
    ck_assert(p2 >= 0 && p4 >= 0 && p7 >= 0);
    ck_assert_int_eq(mmdx_cohort_get(c, (size_t)p2, (size_t)jh, &x), 1);
    assert_same_double(x, vals5x3[1 * 3 + 1]);
    ck_assert_int_eq(mmdx_cohort_get(c, (size_t)p2, (size_t)jc, &x), 0); /* no retina study */
    ck_assert_int_eq(mmdx_cohort_get(c, (size_t)p4, (size_t)jc, &x), 1);
    ck_assert(x == (double)0.4f);
    ck_assert_int_eq(mmdx_cohort_get(c, (size_t)p4, (size_t)jv, &x), 1);
    assert_same_double(x, vals5x3[3 * 3 + 0]);
    ck_assert_int_eq(mmdx_cohort_get(c, (size_t)p7, (size_t)jd, &x), 1);
    ck_assert(x == 14.25);
    ck_assert_int_eq(mmdx_cohort_get(c, (size_t)p7, (size_t)jv, &x), 0); /* no CT */
    long p6 = mmdx_cohort_find(c, "P006");
    ck_assert_int_eq(mmdx_cohort_get(c, (size_t)p6, (size_t)jd, &x), 0);  /* NaN = missing */
    mmdx_cohort_free(c);
    mmdx_collect_free(col);
    mmdx_space_free(space);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_collector_failure_leaves_nothing)
{
    /* a duplicate id far into the file: blocks before it were delivered, the host drops
     * them (an Inf no longer fails a collector: it is rejected and left missing) */
    size_t n = 5000, d = 8;
    double *v = pattern(n, d);
    char **ids = make_ids(n);
    snprintf(ids[4321], strlen(ids[4321]) + 1, "%s", ids[17]);
    fx_t f = {n, d, (const char *const *)ids, names8, NULL, v, 0, STR_VLEN, 100, 0, 0, "ct", NULL, 0, 0, 0};
    const char *p = tpath("late_inf.h5");
    fx_write(p, &f);
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_space_t *space = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(ctx, space, MMDX_AGG_LATEST);
    mmdx_error_t err = {0};
    const char *opt[] = {"block_rows=100", NULL};
    ck_assert_int_eq(mmdx_collect_file(col, "hdf5", p, opt, &err), MMDX_EDUP);
    ck_assert_str_eq(err.file, p);
    ck_assert_str_eq(err.object, ids[17]);
    ck_assert_uint_eq(mmdx_collect_n_observations(col), 0);
    mmdx_collect_free(col);
    mmdx_space_free(space);
    mmdx_ctx_free(ctx);
    free_ids(ids, n);
    free(v);
}
END_TEST

static int no_obs(void *data, const mmdx_obs_t *o)
{
    (void)data;
    (void)o;
    ck_abort_msg("an observation from a block adapter");
    return MMDX_EINVAL;
}

static int no_reject(void *data, const char *patient, const char *file, long record, int code, const char *reason)
{
    (void)data, (void)patient, (void)file, (void)record, (void)code;
    ck_abort_msg("unexpected reject: %s", reason);
    return MMDX_EINVAL;
}

START_TEST(test_source_and_plugin_load)
{
    fx_t f = fx_std();
    const char *p = tpath("ct.h5");
    fx_write(p, &f);
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_error_t err = {0};
    long i = mmdx_plugin_find(ctx, "hdf5");
    ck_assert_int_ge(i, 0);
    ck_assert_str_eq(mmdx_plugin_origin(ctx, (size_t)i), "built-in");
    ck_assert_int_eq(mmdx_plugin_find_input(ctx, "imaging"), i);
    /* the loadable module replaces the built-in in this context */
    const char *bd = getenv("MMDX_BUILDDIR");
    char so[600];
    snprintf(so, sizeof so, "%s/modalities/hdf5/.libs/mmdx_hdf5.so", bd ? bd : ".");
    ck_assert_msg(mmdx_plugin_load(ctx, so, &err) == MMDX_OK, "%s", err.message);
    i = mmdx_plugin_find(ctx, "hdf5");
    ck_assert_str_ne(mmdx_plugin_origin(ctx, (size_t)i), "built-in");
    mmdx_source_t *src = NULL;
    ck_assert_msg(mmdx_source_open(ctx, NULL, p, NULL, &src, &err) == MMDX_OK, "%s", err.message);
    ck_assert_str_eq(mmdx_source_modality(src), "hdf5");
    got_t g = {0};
    /* the host wants obs() and reject() too; this adapter sends blocks only */
    mmdx_sink_t sink = {&g, no_obs, got_block, no_reject, got_patient, {NULL}};
    ck_assert_msg(mmdx_source_read(src, &sink, &err) == MMDX_OK, "%s", err.message);
    mmdx_source_close(src);
    assert_std(&g, "ct", 0);
    got_free(&g);
    /* errors come back through the host with file and dataset */
    fx_t bad = fx_std();
    bad.names_n = 2;
    fx_write(p, &bad);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_source_open(ctx, "hdf5", p, NULL, &src, &err), MMDX_EFORMAT);
    ck_assert_str_eq(err.file, p);
    ck_assert_str_eq(err.object, "/feature_names");
    mmdx_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------------ real data: WDBC */

typedef struct wdbc {
    size_t n, d;
    char **ids;
    char **names;
    double *vals;
} wdbc_t;

/* Read wdbc.csv: id, diagnosis, then 30 numeric columns. 0 when the data is absent. */
static int wdbc_load(wdbc_t *w)
{
    const char *dir = getenv("MMDX_TESTDATA");
    char path[600], line[4096];
    snprintf(path, sizeof path, "%s/tabular/wdbc.csv", dir ? dir : "../shared/data");
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "check_imaging: SKIP real-data test: %s not found\n", path);
        return 0;
    }
    memset(w, 0, sizeof *w);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    line[strcspn(line, "\r\n")] = '\0';
    w->names = calloc(64, sizeof *w->names);
    char *save = NULL, *tok = strtok_r(line, ",", &save);
    for (int k = 0; tok; k++, tok = strtok_r(NULL, ",", &save))
        if (k >= 2)
            w->names[w->d++] = strdup(tok);
    size_t cap = 1024;
    w->ids = calloc(cap, sizeof *w->ids);
    w->vals = calloc(cap * w->d, sizeof *w->vals);
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        ck_assert_uint_lt(w->n, cap);
        size_t k = 0;
        for (tok = strtok_r(line, ",", &save); tok; tok = strtok_r(NULL, ",", &save), k++) {
            if (k == 0)
                w->ids[w->n] = strdup(tok);
            else if (k >= 2) {
                char *end;
                w->vals[w->n * w->d + k - 2] = strtod(tok, &end);
                ck_assert(*end == '\0');
            }
        }
        ck_assert_uint_eq(k, w->d + 2);
        w->n++;
    }
    fclose(fp);
    return 1;
}

static void wdbc_free(wdbc_t *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->ids[i]);
    for (size_t j = 0; j < w->d; j++)
        free(w->names[j]);
    free(w->ids);
    free(w->names);
    free(w->vals);
}

static void wdbc_check(const wdbc_t *w, const got_t *g)
{
    ck_assert_uint_eq(g->n, w->n);
    ck_assert_uint_eq(g->d, w->d);
    for (size_t j = 0; j < w->d; j++) {
        char id[128];
        snprintf(id, sizeof id, "img:wdbc:%s", w->names[j]);
        ck_assert_str_eq(g->fids[j], id);
    }
    for (size_t i = 0; i < w->n; i++)
        ck_assert_str_eq(g->pids[i], w->ids[i]);
    /* bit-exact */
    ck_assert_int_eq(memcmp(g->vals, w->vals, w->n * w->d * sizeof(double)), 0);
}

START_TEST(test_real_wdbc)
{
    wdbc_t w;
    if (!wdbc_load(&w))
        return;
    ck_assert_uint_eq(w.n, 569);
    ck_assert_uint_eq(w.d, 30);
    /* written with the HDF5 API as an h5py user would (gzip, chunked, fixed strings) */
    fx_t f = {w.n, w.d, (const char *const *)w.ids, (const char *const *)w.names, NULL, w.vals, 0, STR_NULLPAD,
              64, 4, 0, "wdbc", NULL, 0, 0, 0};
    const char *p = tpath("wdbc_raw.h5");
    fx_write(p, &f);
    got_t g = {0};
    mmdx_error_t err;
    ck_assert_msg(run(p, NULL, &g, &err) == MMDX_OK, "%s", err.message);
    wdbc_check(&w, &g);
    got_free(&g);
    /* and with the library's writer, transposed; the stem names the modality */
    mmdx_imaging_write_opts_t o;
    mmdx_imaging_write_opts_init(&o);
    o.transposed = 1;
    o.gzip = 6;
    p = tpath("wdbc.h5");
    ck_assert_int_eq(mmdx_imaging_write(NULL, p, "wdbc", w.n, w.d, (const char *const *)w.ids,
                                        (const char *const *)w.names, NULL, w.vals, &o, &err),
                     MMDX_OK);
    ck_assert_msg(run(p, NULL, &g, &err) == MMDX_OK, "%s", err.message);
    wdbc_check(&w, &g);
    got_free(&g);
    wdbc_free(&w);
}
END_TEST

static Suite *imaging_suite(void)
{
    Suite *s = suite_create("imaging");
    TCase *tc = tcase_create("layout");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_basic_f64_vlen);
    tcase_add_test(tc, test_file_image);
    tcase_add_test(tc, test_float32_and_bigendian);
    tcase_add_test(tc, test_integer_dtype);
    tcase_add_test(tc, test_fixed_strings);
    tcase_add_test(tc, test_fixed_string_attribute);
    tcase_add_test(tc, test_modality_from_stem);
    tcase_add_test(tc, test_transposed);
    tcase_add_test(tc, test_gzip_chunked_blocks);
    tcase_add_test(tc, test_bounded_memory);
    tcase_add_test(tc, test_one_huge_chunk);
    tcase_add_test(tc, test_obs_fallback);
    tcase_add_test(tc, test_probe);
    tcase_add_test(tc, test_loadable_plugin);
    suite_add_tcase(s, tc);
    tc = tcase_create("subsets");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_patient_subset);
    tcase_add_test(tc, test_feature_subset);
    tcase_add_test(tc, test_bad_options);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_input");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_not_hdf5);
    tcase_add_test(tc, test_truncated_hdf5_errstack);
    tcase_add_test(tc, test_missing_datasets);
    tcase_add_test(tc, test_wrong_rank_and_shape);
    tcase_add_test(tc, test_non_numeric);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_infinite);
    tcase_add_test(tc, test_infinite_rejected);
    tcase_add_test(tc, test_bad_layout_and_modality);
    tcase_add_test(tc, test_sink_stops);
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    tc = tcase_create("host");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_collector_two_sources);
    tcase_add_test(tc, test_collector_failure_leaves_nothing);
    tcase_add_test(tc, test_source_and_plugin_load);
    suite_add_tcase(s, tc);
    tc = tcase_create("writer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_writer_roundtrip);
    tcase_add_test(tc, test_writer_many_windows);
    tcase_add_test(tc, test_writer_utf8);
    tcase_add_test(tc, test_writer_errors_leave_nothing);
    tcase_add_test(tc, test_export_cohort);
    tcase_add_test(tc, test_real_wdbc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    SRunner *sr = srunner_create(imaging_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
