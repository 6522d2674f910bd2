/* The imaging-feature modality: per-patient feature vectors of imaging models kept in
 * HDF5 (docs/formats/imaging.md), streamed into the host's sink in row blocks.
 *
 * Built twice from this source: into libmmdx.a as a built-in and as the loadable
 * module mmdx_hdf5.so. Either way it only uses the host table passed to init() (its
 * allocator), never libmmdx functions.
 *
 * Memory: values are read in windows of whole chunks along the patient axis (so a
 * compressed chunk is decompressed once) and handed to the sink before the next window
 * is read; the window size does not depend on N. The only per-patient state is the
 * duplicate-id check: a table of 64-bit hashes, 16 to 32 bytes per patient. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <hdf5.h>
#include "mmdx/modality.h"
#include "h5file.h"
#include "hdf5_errstack.h"

#define DS_FEATURES "/features"
#define DS_IDS "/patient_ids"
#define DS_NAMES "/feature_names"
#define DS_UNITS "/feature_units"
#define ID_MAX 256
/* Target size of one read window of values (doubles); whole chunks are never split
 * below this unless a single chunk row exceeds WINDOW_CAP_BYTES. */
#define WINDOW_BYTES (4u << 20)
#define WINDOW_CAP_BYTES (16u << 20)

typedef struct plugin_state {
    mmdx_host_t host;
} plugin_state_t;

/* Where HDF5 puts variable-length strings: a bump allocator over blocks that are reused
 * from one read to the next. Nothing is freed string by string, so a read that fails
 * half-way (a damaged file) leaves nothing behind, and no malloc is made per string. */
typedef struct vlblock {
    struct vlblock *next;
    size_t used, cap;
    /* data follows, 16-byte aligned */
} vlblock_t;

typedef struct vlarena {
    const plugin_state_t *st;
    vlblock_t *first, *cur;
    int nomem;
} vlarena_t;

/* A window of strings read from a 1-D string dataset. */
typedef struct strwin {
    char **s;
    size_t cap_s;
    char *arena;
    size_t cap_arena;
    void *raw;
    size_t cap_raw;
    vlarena_t vl;
} strwin_t;

/* Set of strings (patient subset) or of 64-bit hashes (duplicate check). */
typedef struct strslot {
    uint64_t h;
    char *s;
} strslot_t;

typedef struct strset {
    strslot_t *slot;
    size_t cap, n;
} strset_t;

typedef struct hashset {
    uint64_t *slot;
    size_t cap;
} hashset_t;

typedef struct src {
    const plugin_state_t *st;
    char *path;
    char *modality;
    hid_t file, ds_feat, ds_ids;
    int transposed;          /* /features is [D][N] */
    int read_float;          /* file holds 32-bit IEEE floats: read as float and widen */
    size_t n, d;             /* patients, features in the file */
    hsize_t chunk_n;         /* chunk extent along the patient axis; 0 when contiguous */
    size_t band_bytes;       /* bytes of one row of chunks across all features (chunked) */
    size_t window;           /* rows per read window */
    size_t block_rows;       /* rows per sink->block (0: the whole window) */
    char **feat_ids;         /* [d] img:<modality>:<name> */
    char **units;            /* [d] unit or NULL */
    size_t d_sel;            /* selected features */
    size_t *cols;            /* [d_sel] selected columns, ascending */
    strset_t psel;           /* selected patients (cap 0: all) */
    int has_psel;
} src_t;

/* ------------------------------------------------------------------ memory */

static void *xmalloc(const plugin_state_t *st, size_t n)
{
    return st->host.malloc(n ? n : 1);
}

static void xfree(const plugin_state_t *st, void *p)
{
    if (p)
        st->host.free(p);
}

static char *xstrdup(const plugin_state_t *st, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(st, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Grow *buf to hold @p need bytes. */
static int reserve(const plugin_state_t *st, void **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c = c > SIZE_MAX / 2 ? need : c * 2;
    void *p = st->host.realloc ? st->host.realloc(*buf, c) : NULL;
    if (p == NULL && !st->host.realloc) {
        p = xmalloc(st, c);
        if (p && *buf)
            memcpy(p, *buf, *cap);
        if (p)
            xfree(st, *buf);
    }
    if (p == NULL)
        return -1;
    *buf = p;
    *cap = c;
    return 0;
}

#define VLBLOCK_HDR ((sizeof(vlblock_t) + 15) / 16 * 16)

static void *vl_alloc(size_t size, void *info)
{
    vlarena_t *a = info;
    size = (size + 15) / 16 * 16;
    while (a->cur && a->cur->used + size > a->cur->cap)
        a->cur = a->cur->next; /* later blocks are empty after a reset */
    if (!a->cur) {
        size_t cap = size > (64u << 10) ? size : (64u << 10);
        vlblock_t *b = a->st->host.malloc(VLBLOCK_HDR + cap);
        if (!b) {
            a->nomem = 1;
            return NULL;
        }
        b->used = 0;
        b->cap = cap;
        b->next = NULL;
        /* append, so the block order is the order of use */
        vlblock_t **pp = &a->first;
        while (*pp)
            pp = &(*pp)->next;
        *pp = b;
        a->cur = b;
    }
    void *p = (char *)a->cur + VLBLOCK_HDR + a->cur->used;
    a->cur->used += size;
    return p;
}

static void vl_free(void *mem, void *info)
{
    (void)mem;
    (void)info; /* released all at once by vl_reset */
}

static void vl_reset(vlarena_t *a)
{
    for (vlblock_t *b = a->first; b; b = b->next)
        b->used = 0;
    a->cur = a->first;
    a->nomem = 0;
}

static void strwin_free(const plugin_state_t *st, strwin_t *w)
{
    xfree(st, w->s);
    xfree(st, w->arena);
    xfree(st, w->raw);
    for (vlblock_t *b = w->vl.first, *n; b; b = n) {
        n = b->next;
        xfree(st, b);
    }
    memset(w, 0, sizeof *w);
}

static uint64_t hash_str(const char *s)
{
    /* FNV-1a, then a final mix so that open addressing on the low bits works. */
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n && c < SIZE_MAX / 2)
        c *= 2;
    return c;
}

static void strset_free(const plugin_state_t *st, strset_t *s)
{
    if (s->slot)
        for (size_t i = 0; i < s->cap; i++)
            xfree(st, s->slot[i].s);
    xfree(st, s->slot);
    memset(s, 0, sizeof *s);
}

/* Membership of @p key whose hash_str() is @p h. The hash is stored beside each string,
 * so a miss (the common case when filtering) touches only the table. */
static int strset_has_h(const strset_t *s, const char *key, uint64_t h)
{
    if (s->cap == 0)
        return 0;
    size_t i = (size_t)h & (s->cap - 1);
    while (s->slot[i].s) {
        if (s->slot[i].h == h && strcmp(s->slot[i].s, key) == 0)
            return 1;
        i = (i + 1) & (s->cap - 1);
    }
    return 0;
}

static int strset_has(const strset_t *s, const char *key)
{
    return strset_has_h(s, key, hash_str(key));
}

static int strset_add(const plugin_state_t *st, strset_t *s, const char *key)
{
    if (2 * (s->n + 1) > s->cap) {
        strset_t g = {NULL, pow2_at_least(4 * (s->n + 1)), 0};
        g.slot = xmalloc(st, g.cap * sizeof *g.slot);
        if (!g.slot)
            return -1;
        memset(g.slot, 0, g.cap * sizeof *g.slot);
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i].s) {
                size_t k = (size_t)s->slot[i].h & (g.cap - 1);
                while (g.slot[k].s)
                    k = (k + 1) & (g.cap - 1);
                g.slot[k] = s->slot[i];
                g.n++;
            }
        xfree(st, s->slot);
        *s = g;
    }
    uint64_t h = hash_str(key);
    if (strset_has_h(s, key, h))
        return 0;
    size_t i = (size_t)h & (s->cap - 1);
    while (s->slot[i].s)
        i = (i + 1) & (s->cap - 1);
    if (!(s->slot[i].s = xstrdup(st, key)))
        return -1;
    s->slot[i].h = h;
    s->n++;
    return 0;
}

/* Insert hash @p h; returns 1 when it was already present. */
static int hashset_insert(hashset_t *s, uint64_t h)
{
    size_t i = (size_t)h & (s->cap - 1);
    while (s->slot[i]) {
        if (s->slot[i] == h)
            return 1;
        i = (i + 1) & (s->cap - 1);
    }
    s->slot[i] = h;
    return 0;
}

/* ------------------------------------------------------------------ strings */

static int is_string_type(hid_t type)
{
    return H5Tget_class(type) == H5T_STRING;
}

static size_t bounded_len(const char *s, size_t max)
{
    const char *z = memchr(s, '\0', max);
    return z ? (size_t)(z - s) : max;
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* Read entries [start, start+count) of the 1-D string dataset @p ds (variable- or
 * fixed-length) into @p w. */
static int read_strings(src_t *s, hid_t ds, const char *dsname, hsize_t start, size_t count,
                        strwin_t *w, mmdx_error_t *err)
{
    const plugin_state_t *st = s->st;
    int rc = MMDX_EFORMAT;
    hid_t ftype = -1, mtype = -1, fspace = -1, mspace = -1, dxpl = -1;
    hsize_t cnt = count;

    if (reserve(st, (void **)&w->s, &w->cap_s, (count ? count : 1) * sizeof(char *)) < 0)
        return mmdx_modality_error(err, MMDX_ENOMEM, s->path, dsname, 0, "out of memory");
    if (count == 0)
        return MMDX_OK;
    if ((ftype = H5Dget_type(ds)) < 0 || (fspace = H5Dget_space(ds)) < 0 ||
        (mspace = H5Screate_simple(1, &cnt, NULL)) < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &cnt, NULL) < 0) {
        rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, dsname, "cannot select strings");
        goto done;
    }
    int vlen = H5Tis_variable_str(ftype) > 0;
    size_t fsize = H5Tget_size(ftype);
    if ((mtype = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0 ||
        H5Tset_size(mtype, vlen ? H5T_VARIABLE : fsize) < 0) {
        rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, dsname, "cannot make string type");
        goto done;
    }
    if (!vlen && H5Tset_strpad(mtype, H5Tget_strpad(ftype)) < 0) {
        rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, dsname, "cannot make string type");
        goto done;
    }
    size_t rawsz = vlen ? count * sizeof(char *) : count * fsize;
    if (reserve(st, &w->raw, &w->cap_raw, rawsz) < 0) {
        rc = mmdx_modality_error(err, MMDX_ENOMEM, s->path, dsname, 0, "out of memory");
        goto done;
    }
    if (vlen) {
        memset(w->raw, 0, rawsz);
        w->vl.st = st;
        vl_reset(&w->vl);
        if ((dxpl = H5Pcreate(H5P_DATASET_XFER)) < 0 ||
            H5Pset_vlen_mem_manager(dxpl, vl_alloc, &w->vl, vl_free, &w->vl) < 0) {
            rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, dsname, "cannot set up string reading");
            goto done;
        }
    }
    if (H5Dread(ds, mtype, mspace, fspace, vlen ? dxpl : H5P_DEFAULT, w->raw) < 0) {
        if (w->vl.nomem) {
            mmdx_hdf5_errstack(NULL, 0);
            rc = mmdx_modality_error(err, MMDX_ENOMEM, s->path, dsname, 0, "out of memory");
        } else {
            rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, dsname, "cannot read strings %llu..%llu",
                                 (unsigned long long)start, (unsigned long long)(start + count - 1));
        }
        goto done;
    }
    if (vlen) {
        /* the strings stay in the window's arena until its next read */
        for (size_t i = 0; i < count; i++) {
            char *p = ((char **)w->raw)[i];
            w->s[i] = p ? p : (char *)"";
        }
        rc = MMDX_OK;
        goto done;
    }
    /* Fixed-length: copy into the arena, trimmed and terminated; lengths first so one
     * reservation suffices. */
    size_t total = 0;
    int spacepad = H5Tget_strpad(ftype) == H5T_STR_SPACEPAD;
    for (size_t i = 0; i < count; i++)
        total += bounded_len((const char *)w->raw + i * fsize, fsize) + 1;
    if (reserve(st, (void **)&w->arena, &w->cap_arena, total) < 0) {
        rc = mmdx_modality_error(err, MMDX_ENOMEM, s->path, dsname, 0, "out of memory");
    } else {
        char *a = w->arena;
        for (size_t i = 0; i < count; i++) {
            const char *p = (const char *)w->raw + i * fsize;
            size_t len = bounded_len(p, fsize);
            if (spacepad)
                while (len > 0 && p[len - 1] == ' ')
                    len--;
            if (len)
                memcpy(a, p, len);
            a[len] = '\0';
            w->s[i] = a;
            a += len + 1;
        }
        rc = MMDX_OK;
    }
done:
    if (dxpl >= 0)
        H5Pclose(dxpl);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return rc;
}

/* ------------------------------------------------------------------ open helpers */

/* Open a dataset that must exist. */
static int open_dataset(src_t *s, const char *name, int required, hid_t *out, mmdx_error_t *err)
{
    *out = -1;
    htri_t ex = H5Lexists(s->file, name + 1, H5P_DEFAULT);
    if (ex <= 0) {
        mmdx_hdf5_errstack(NULL, 0);
        if (!required)
            return MMDX_OK;
        return mmdx_modality_error(err, MMDX_ENOTFOUND, s->path, name, 0,
                                   "missing dataset %s (imaging layout: /patient_ids, /feature_names, /features)",
                                   name);
    }
    H5O_info_t info;
#if H5_VERSION_GE(1, 12, 0)
    if (H5Oget_info_by_name3(s->file, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
#else
    if (H5Oget_info_by_name2(s->file, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
#endif
        return mmdx_hdf5_error(err, MMDX_EFORMAT, s->path, name, "cannot inspect %s", name);
    if (info.type != H5O_TYPE_DATASET)
        return mmdx_modality_error(err, MMDX_EFORMAT, s->path, name, 0, "%s is not a dataset", name);
    if ((*out = H5Dopen2(s->file, name, H5P_DEFAULT)) < 0)
        return mmdx_hdf5_error(err, MMDX_EIO, s->path, name, "cannot open dataset %s", name);
    return MMDX_OK;
}

/* Check that @p ds is a 1-D string dataset of @p expect entries. */
static int check_string_vector(src_t *s, hid_t ds, const char *name, size_t expect, const char *what,
                               mmdx_error_t *err)
{
    hid_t type = H5Dget_type(ds), space = H5Dget_space(ds);
    int rc = MMDX_OK;
    if (type < 0 || space < 0) {
        rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, name, "cannot read the type of %s", name);
    } else if (!is_string_type(type)) {
        rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, name, 0,
                                 "%s must hold strings (variable- or fixed-length)", name);
    } else {
        int rank = H5Sget_simple_extent_ndims(space);
        hsize_t dim = 0;
        if (rank != 1)
            rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, name, 0,
                                     "wrong rank of %s: %d (expected 1)", name, rank);
        else if (H5Sget_simple_extent_dims(space, &dim, NULL) < 0)
            rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, name, "cannot read the shape of %s", name);
        else if ((size_t)dim != expect)
            rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, name, 0,
                                     "%s has %llu entries but /features has %zu %s", name,
                                     (unsigned long long)dim, expect, what);
    }
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

/* Read a string attribute @p name of object @p obj into buf; 0 absent, 1 read, < 0 error. */
static int read_str_attr(src_t *s, hid_t obj, const char *objname, const char *name, char *buf, size_t size,
                         mmdx_error_t *err)
{
    htri_t ex = H5Aexists(obj, name);
    if (ex <= 0) {
        mmdx_hdf5_errstack(NULL, 0);
        return 0;
    }
    int rc = 1;
    hid_t at = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t ftype = at >= 0 ? H5Aget_type(at) : -1;
    hid_t space = at >= 0 ? H5Aget_space(at) : -1;
    hid_t mtype = -1;
    char label[160];
    snprintf(label, sizeof label, "%s attribute %s", objname, name);
    if (at < 0 || ftype < 0 || space < 0) {
        rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, label, "cannot open the %s", label);
        goto done;
    }
    if (!is_string_type(ftype) || H5Sget_simple_extent_npoints(space) != 1) {
        rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, label, 0, "the %s must be one string", label);
        goto done;
    }
    if (H5Tis_variable_str(ftype) > 0) {
        char *p = NULL;
        if ((mtype = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mtype, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0 || H5Aread(at, mtype, &p) < 0) {
            rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, label, "cannot read the %s", label);
            if (p && mtype >= 0)
                (void)H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, &p);
            mmdx_hdf5_errstack(NULL, 0);
            goto done;
        }
        snprintf(buf, size, "%s", p ? p : "");
        (void)H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, &p);
    } else {
        size_t fsize = H5Tget_size(ftype);
        char *tmp = xmalloc(s->st, fsize + 1);
        if (!tmp) {
            rc = mmdx_modality_error(err, MMDX_ENOMEM, s->path, label, 0, "out of memory");
            goto done;
        }
        if ((mtype = H5Tcopy(ftype)) < 0 || H5Aread(at, mtype, tmp) < 0) {
            xfree(s->st, tmp);
            rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, label, "cannot read the %s", label);
            goto done;
        }
        tmp[fsize] = '\0';
        size_t len = bounded_len(tmp, fsize);
        while (len > 0 && tmp[len - 1] == ' ')
            len--;
        tmp[len] = '\0';
        snprintf(buf, size, "%s", tmp);
        xfree(s->st, tmp);
    }
done:
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (space >= 0)
        H5Sclose(space);
    if (at >= 0)
        H5Aclose(at);
    return rc;
}

/* Modality name: the root attribute, else the file stem (without .h5/.hdf5/.he5). */
static int resolve_modality(src_t *s, const char *override, mmdx_error_t *err)
{
    char buf[ID_MAX] = "";
    if (override) {
        snprintf(buf, sizeof buf, "%s", override);
    } else {
        int r = read_str_attr(s, s->file, "root", "modality", buf, sizeof buf, err);
        if (r < 0)
            return r;
        if (r == 0) {
            const char *base = strrchr(s->path, '/');
            base = base ? base + 1 : s->path;
            snprintf(buf, sizeof buf, "%s", base);
            char *dot = strrchr(buf, '.');
            if (dot && dot != buf &&
                (!strcmp(dot, ".h5") || !strcmp(dot, ".hdf5") || !strcmp(dot, ".he5") || !strcmp(dot, ".hdf")))
                *dot = '\0';
        }
    }
    if (buf[0] == '\0' || strchr(buf, ':') || has_control(buf) || strchr(buf, ' '))
        return mmdx_modality_error(err, MMDX_EFORMAT, s->path, "modality", 0,
                                   "modality name '%s' must be non-empty, without ':' or spaces", buf);
    if (!(s->modality = xstrdup(s->st, buf)))
        return mmdx_modality_error(err, MMDX_ENOMEM, s->path, NULL, 0, "out of memory");
    return MMDX_OK;
}

/* Orientation from the `layout` attribute of /features, else of the root group. */
static int resolve_layout(src_t *s, mmdx_error_t *err)
{
    char buf[64] = "";
    int r = read_str_attr(s, s->ds_feat, DS_FEATURES, "layout", buf, sizeof buf, err);
    if (r == 0)
        r = read_str_attr(s, s->file, "root", "layout", buf, sizeof buf, err);
    if (r < 0)
        return r;
    if (r == 0 || !strcmp(buf, "patients_by_features"))
        s->transposed = 0;
    else if (!strcmp(buf, "features_by_patients"))
        s->transposed = 1;
    else
        return mmdx_modality_error(err, MMDX_EFORMAT, s->path, "layout", 0,
                                   "unknown layout '%s' (expected patients_by_features or features_by_patients)",
                                   buf);
    return MMDX_OK;
}

static int check_features_dataset(src_t *s, mmdx_error_t *err)
{
    int rc = MMDX_OK;
    hid_t type = H5Dget_type(s->ds_feat), space = H5Dget_space(s->ds_feat), dcpl = -1;
    if (type < 0 || space < 0) {
        rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, DS_FEATURES, "cannot read the type of /features");
        goto done;
    }
    H5T_class_t cls = H5Tget_class(type);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        static const char *const names[] = {"integer", "float", "time", "string", "bitfield", "opaque",
                                            "compound", "reference", "enum", "variable-length", "array"};
        const char *what = cls >= 0 && (size_t)cls < sizeof names / sizeof names[0] ? names[cls] : "unknown";
        rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, DS_FEATURES, 0,
                                 "non-numeric dtype (%s) of /features; expected float32 or float64", what);
        goto done;
    }
    /* 32-bit IEEE floats (either byte order) are read as native float and widened here,
     * which is faster than HDF5's conversion; everything else HDF5 converts to double. */
    s->read_float = cls == H5T_FLOAT && H5Tget_size(type) == 4 &&
                    (H5Tequal(type, H5T_IEEE_F32LE) > 0 || H5Tequal(type, H5T_IEEE_F32BE) > 0);
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank != 2) {
        rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, DS_FEATURES, 0,
                                 "wrong rank of /features: %d (expected 2: patients x features)", rank);
        goto done;
    }
    hsize_t dims[2];
    if (H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, DS_FEATURES, "cannot read the shape of /features");
        goto done;
    }
    s->n = (size_t)dims[s->transposed ? 1 : 0];
    s->d = (size_t)dims[s->transposed ? 0 : 1];
    if ((dcpl = H5Dget_create_plist(s->ds_feat)) < 0) {
        rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, DS_FEATURES, "cannot read the storage of /features");
        goto done;
    }
    s->chunk_n = 0;
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
        hsize_t cd[2];
        if (H5Pget_chunk(dcpl, 2, cd) != 2) {
            rc = mmdx_hdf5_error(err, MMDX_EFORMAT, s->path, DS_FEATURES, "cannot read the chunking of /features");
            goto done;
        }
        s->chunk_n = cd[s->transposed ? 1 : 0];
        hsize_t cdd = cd[s->transposed ? 0 : 1];
        size_t across = cdd ? (size_t)((s->d + cdd - 1) / cdd) : 1;
        s->band_bytes = (size_t)cd[0] * (size_t)cd[1] * H5Tget_size(type) * (across ? across : 1);
    }
done:
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

/* Feature ids img:<modality>:<name> and units; names must be unique. */
static int load_features(src_t *s, mmdx_error_t *err)
{
    const plugin_state_t *st = s->st;
    strwin_t w = {0};
    hid_t ds_names = -1, ds_units = -1;
    int rc = open_dataset(s, DS_NAMES, 1, &ds_names, err);
    if (rc == MMDX_OK)
        rc = check_string_vector(s, ds_names, DS_NAMES, s->d, "features", err);
    if (rc == MMDX_OK)
        rc = open_dataset(s, DS_UNITS, 0, &ds_units, err);
    if (rc == MMDX_OK && ds_units >= 0)
        rc = check_string_vector(s, ds_units, DS_UNITS, s->d, "features", err);
    if (rc != MMDX_OK)
        goto done;
    /* zeroed as soon as allocated: h5_close() frees their entries */
    if ((s->feat_ids = xmalloc(st, (s->d ? s->d : 1) * sizeof *s->feat_ids)))
        memset(s->feat_ids, 0, s->d * sizeof *s->feat_ids);
    if ((s->units = xmalloc(st, (s->d ? s->d : 1) * sizeof *s->units)))
        memset(s->units, 0, s->d * sizeof *s->units);
    if (!s->feat_ids || !s->units) {
        rc = mmdx_modality_error(err, MMDX_ENOMEM, s->path, NULL, 0, "out of memory");
        goto done;
    }
    if ((rc = read_strings(s, ds_names, DS_NAMES, 0, s->d, &w, err)) != MMDX_OK)
        goto done;
    strset_t seen = {0};
    for (size_t j = 0; j < s->d && rc == MMDX_OK; j++) {
        const char *name = w.s[j];
        size_t len = strlen(s->modality) + strlen(name) + 6;
        if (name[0] == '\0' || has_control(name))
            rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, DS_NAMES, (long)j + 1,
                                     "feature name %zu is empty or holds a control character", j + 1);
        else if (len > ID_MAX)
            rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, name, (long)j + 1,
                                     "feature id img:%s:%s is longer than %d bytes", s->modality, name, ID_MAX - 1);
        else if (strset_has(&seen, name))
            rc = mmdx_modality_error(err, MMDX_EDUP, s->path, name, (long)j + 1,
                                     "duplicate feature name '%s' in %s", name, DS_NAMES);
        else if (strset_add(st, &seen, name) < 0 || !(s->feat_ids[j] = xmalloc(st, len)))
            rc = mmdx_modality_error(err, MMDX_ENOMEM, s->path, NULL, 0, "out of memory");
        else
            snprintf(s->feat_ids[j], len, "img:%s:%s", s->modality, name);
    }
    strset_free(st, &seen);
    if (rc == MMDX_OK && ds_units >= 0 && (rc = read_strings(s, ds_units, DS_UNITS, 0, s->d, &w, err)) == MMDX_OK) {
        for (size_t j = 0; j < s->d && rc == MMDX_OK; j++) {
            if (w.s[j][0] == '\0')
                continue;
            if (has_control(w.s[j]))
                rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, DS_UNITS, (long)j + 1,
                                         "unit of feature %s holds a control character", s->feat_ids[j]);
            else if (!(s->units[j] = xstrdup(st, w.s[j])))
                rc = mmdx_modality_error(err, MMDX_ENOMEM, s->path, NULL, 0, "out of memory");
        }
    }
done:
    strwin_free(st, &w);
    if (ds_names >= 0)
        H5Dclose(ds_names);
    if (ds_units >= 0)
        H5Dclose(ds_units);
    return rc;
}

/* ------------------------------------------------------------------ options */

static int option_features(src_t *s, const char *list, mmdx_error_t *err)
{
    const plugin_state_t *st = s->st;
    unsigned char *mark = xmalloc(st, s->d ? s->d : 1);
    char item[ID_MAX + 8];
    int rc = MMDX_OK;
    if (!mark)
        return mmdx_modality_error(err, MMDX_ENOMEM, s->path, NULL, 0, "out of memory");
    memset(mark, 0, s->d);
    for (const char *p = list; rc == MMDX_OK && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || len >= sizeof item) {
            rc = mmdx_modality_error(err, MMDX_EINVAL, s->path, "features", 0,
                                     "option features=: empty or overlong entry");
            break;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        p += len + (e ? 1 : 0);
        const char *name = item;
        if (!strncmp(item, "img:", 4)) {
            /* A full id selects from the file of its modality only. */
            const char *mod = item + 4, *colon = strchr(mod, ':');
            if (!colon || (size_t)(colon - mod) != strlen(s->modality) || strncmp(mod, s->modality, (size_t)(colon - mod)))
                continue;
            name = colon + 1;
        }
        size_t j = 0, plen = strlen(s->modality) + 5;
        while (j < s->d && strcmp(s->feat_ids[j] + plen, name))
            j++;
        if (j == s->d)
            rc = mmdx_modality_error(err, MMDX_ENOTFOUND, s->path, name, 0,
                                     "feature '%s' (option features=) is not in %s", name, DS_NAMES);
        else
            mark[j] = 1;
    }
    if (rc == MMDX_OK) {
        s->d_sel = 0;
        for (size_t j = 0; j < s->d; j++)
            if (mark[j])
                s->cols[s->d_sel++] = j;
    }
    xfree(st, mark);
    return rc;
}

static int option_patients(src_t *s, const char *path, mmdx_error_t *err)
{
    FILE *f = fopen(path, "r");
    char line[ID_MAX + 4];
    long lineno = 0;
    int rc = MMDX_OK;
    if (!f)
        return mmdx_modality_error(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, path, "patients", 0,
                                   "cannot open the patient list (option patients=): %s", strerror(errno));
    s->has_psel = 1;
    while (rc == MMDX_OK && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f)) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "patients", lineno, "patient id too long");
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        if (strset_add(s->st, &s->psel, line) < 0)
            rc = mmdx_modality_error(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
    }
    if (rc == MMDX_OK && ferror(f))
        rc = mmdx_modality_error(err, MMDX_EIO, path, "patients", lineno, "read error");
    fclose(f);
    return rc;
}

static int parse_size(const char *v, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || x == 0 || v[0] == '-' || x > (unsigned long long)SIZE_MAX)
        return -1;
    *out = (size_t)x;
    return 0;
}

/* ------------------------------------------------------------------ ops */

static int h5_init(const mmdx_host_t *host, void **state_out, mmdx_error_t *err)
{
    if (!host || !host->malloc || !host->free)
        return mmdx_modality_error(err, MMDX_EINVAL, NULL, "hdf5", 0, "host table without an allocator");
    if (host->abi_major != MMDX_ABI_MAJOR)
        return mmdx_modality_error(err, MMDX_EABI, NULL, "hdf5", 0, "host ABI %u, plugin built for %u",
                                   host->abi_major, (unsigned)MMDX_ABI_MAJOR);
    plugin_state_t *st = host->malloc(sizeof *st);
    if (!st)
        return mmdx_modality_error(err, MMDX_ENOMEM, NULL, "hdf5", 0, "out of memory");
    memset(st, 0, sizeof *st);
    memcpy(&st->host, host, host->struct_size && host->struct_size < sizeof st->host ? host->struct_size : sizeof st->host);
    if (H5open() < 0) {
        host->free(st);
        return mmdx_modality_error(err, MMDX_EPLUGIN, NULL, "hdf5", 0, "the HDF5 library failed to initialise");
    }
    mmdx_hdf5_silence();
    *state_out = st;
    return MMDX_OK;
}

static void h5_fini(void *state)
{
    plugin_state_t *st = state;
    if (st)
        st->host.free(st);
}

static int h5_probe(void *state, const char *path, const unsigned char *head, size_t n)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    (void)state;
    /* The signature sits at 0 or, after a user block, at 512, 1024, 2048, ... */
    int found = 0;
    for (size_t off = 0; off + 8 <= n && !found; off = off ? off * 2 : 512)
        found = memcmp(head + off, sig, 8) == 0;
    if (!found)
        return 0;
    /* Another HDF5 file (a cohort or model) is not ours: look for the layout. */
    int score = 10;
    mmdx_hdf5_silence();
    hid_t f = mmdx_h5_open_ro(path, NULL, 0, 0);
    if (f >= 0) {
        if (H5Lexists(f, "features", H5P_DEFAULT) > 0 && H5Lexists(f, "patient_ids", H5P_DEFAULT) > 0 &&
            H5Lexists(f, "feature_names", H5P_DEFAULT) > 0)
            score = 90;
        H5Fclose(f);
    }
    mmdx_hdf5_errstack(NULL, 0);
    return score;
}

static void h5_close(void *p)
{
    src_t *s = p;
    if (!s)
        return;
    const plugin_state_t *st = s->st;
    if (s->ds_feat >= 0)
        H5Dclose(s->ds_feat);
    if (s->ds_ids >= 0)
        H5Dclose(s->ds_ids);
    if (s->file >= 0)
        H5Fclose(s->file);
    mmdx_hdf5_errstack(NULL, 0);
    for (size_t j = 0; s->feat_ids && j < s->d; j++)
        xfree(st, s->feat_ids[j]);
    for (size_t j = 0; s->units && j < s->d; j++)
        xfree(st, s->units[j]);
    xfree(st, s->feat_ids);
    xfree(st, s->units);
    xfree(st, s->cols);
    strset_free(st, &s->psel);
    xfree(st, s->modality);
    xfree(st, s->path);
    xfree(st, s);
}

/* Rows per read window: whole chunks along the patient axis, about WINDOW_BYTES. */
static void plan_window(src_t *s)
{
    size_t row_bytes = (s->d_sel ? s->d_sel : 1) * sizeof(double);
    size_t target = WINDOW_BYTES / row_bytes;
    if (target < 1)
        target = 1;
    if (s->chunk_n > 0 && (size_t)s->chunk_n * row_bytes <= WINDOW_CAP_BYTES) {
        size_t c = (size_t)s->chunk_n;
        target = target < c ? c : target / c * c;
    }
    if (target > s->n)
        target = s->n ? s->n : 1;
    s->window = target;
}

/* Chunks too large for whole-chunk windows are read a window at a time; give the chunk
 * cache room for one row of chunks so each is decompressed once, not once per window.
 * The memory is one row of chunks: the least any reader of such a file needs. */
static int widen_chunk_cache(src_t *s, mmdx_error_t *err)
{
    /* The cache is set when a dataset is first opened: close it before reopening. */
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Dclose(s->ds_feat);
    s->ds_feat = -1;
    if (dapl < 0 || H5Pset_chunk_cache(dapl, 10007, s->band_bytes + (1u << 20), 1.0) < 0 ||
        (s->ds_feat = H5Dopen2(s->file, DS_FEATURES, dapl)) < 0) {
        if (dapl >= 0)
            H5Pclose(dapl);
        return mmdx_hdf5_error(err, MMDX_EIO, s->path, DS_FEATURES, "cannot reopen /features with a larger chunk cache");
    }
    H5Pclose(dapl);
    return MMDX_OK;
}

/* The file at @p path or, with @p image, the HDF5 file image of @p size bytes there
 * (@p path names it in errors). */
static int open_source(void *state, const char *path, const void *image, size_t size, const char *const *options,
                       void **src_out, mmdx_error_t *err)
{
    const plugin_state_t *st = state;
    const char *opt_features = NULL, *opt_patients = NULL, *opt_modality = NULL;
    size_t block_rows = 0;
    struct stat sb;
    int rc;

    *src_out = NULL;
    if (!st || !path)
        return mmdx_modality_error(err, MMDX_EINVAL, path, NULL, 0, "no plugin state or path");
    for (size_t i = 0; options && options[i]; i++) {
        const char *o = options[i], *eq = strchr(o, '=');
        size_t klen = eq ? (size_t)(eq - o) : strlen(o);
        const char *v = eq ? eq + 1 : "";
        if (klen == 8 && !strncmp(o, "features", 8))
            opt_features = v;
        else if (klen == 8 && !strncmp(o, "patients", 8))
            opt_patients = v;
        else if (klen == 8 && !strncmp(o, "modality", 8))
            opt_modality = v;
        else if (klen == 10 && !strncmp(o, "block_rows", 10)) {
            if (parse_size(v, &block_rows) < 0)
                return mmdx_modality_error(err, MMDX_EINVAL, path, "block_rows", 0,
                                           "option block_rows=%s: expected a positive integer", v);
        } else
            return mmdx_modality_error(err, MMDX_EINVAL, path, o, 0,
                                       "unknown option '%.*s' (hdf5 takes features=, patients=, modality=, block_rows=)",
                                       (int)klen, o);
        if (!eq || !*v)
            return mmdx_modality_error(err, MMDX_EINVAL, path, o, 0, "option '%.*s' needs a value", (int)klen, o);
    }
    if (!image && stat(path, &sb) != 0)
        return mmdx_modality_error(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, path, NULL, 0,
                                   "cannot open: %s", strerror(errno));
    if (!image && S_ISDIR(sb.st_mode))
        return mmdx_modality_error(err, MMDX_EFORMAT, path, NULL, 0, "is a directory, not an HDF5 file");

    src_t *s = xmalloc(st, sizeof *s);
    if (!s)
        return mmdx_modality_error(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
    memset(s, 0, sizeof *s);
    s->st = st;
    s->file = s->ds_feat = s->ds_ids = -1;
    s->block_rows = block_rows;
    if (!(s->path = xstrdup(st, path))) {
        rc = mmdx_modality_error(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
        goto fail;
    }
    mmdx_hdf5_silence();
    mmdx_hdf5_errstack(NULL, 0);
    htri_t is;
    if (image)
        is = mmdx_h5_image_is_hdf5(image, size);
    else
#if H5_VERSION_GE(1, 12, 0)
        is = H5Fis_accessible(path, H5P_DEFAULT);
#else
        is = H5Fis_hdf5(path);
#endif
    if (is <= 0) {
        rc = mmdx_hdf5_error(err, MMDX_EFORMAT, path, NULL, "not an HDF5 file");
        goto fail;
    }
    if ((s->file = mmdx_h5_open_ro(path, image, size, 0)) < 0) {
        rc = mmdx_hdf5_error(err, MMDX_EFORMAT, path, NULL, "cannot open as HDF5");
        goto fail;
    }
    if ((rc = open_dataset(s, DS_FEATURES, 1, &s->ds_feat, err)) != MMDX_OK ||
        (rc = resolve_layout(s, err)) != MMDX_OK || (rc = check_features_dataset(s, err)) != MMDX_OK ||
        (rc = open_dataset(s, DS_IDS, 1, &s->ds_ids, err)) != MMDX_OK ||
        (rc = check_string_vector(s, s->ds_ids, DS_IDS, s->n, "patient rows", err)) != MMDX_OK ||
        (rc = resolve_modality(s, opt_modality, err)) != MMDX_OK || (rc = load_features(s, err)) != MMDX_OK)
        goto fail;
    if (!(s->cols = xmalloc(st, (s->d ? s->d : 1) * sizeof *s->cols))) {
        rc = mmdx_modality_error(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
        goto fail;
    }
    for (size_t j = 0; j < s->d; j++)
        s->cols[j] = j;
    s->d_sel = s->d;
    if (opt_features && (rc = option_features(s, opt_features, err)) != MMDX_OK)
        goto fail;
    if (opt_patients && (rc = option_patients(s, opt_patients, err)) != MMDX_OK)
        goto fail;
    plan_window(s);
    if (s->chunk_n && s->window % (size_t)s->chunk_n != 0 && (rc = widen_chunk_cache(s, err)) != MMDX_OK)
        goto fail;
    *src_out = s;
    return MMDX_OK;
fail:
    h5_close(s);
    return rc;
}

static int h5_open(void *state, const char *path, const char *const *options, void **src_out,
                   mmdx_error_t *err)
{
    return open_source(state, path, NULL, 0, options, src_out, err);
}

/* Runs of consecutive selected rows/columns, as (start, length) pairs. */
static size_t make_runs(const size_t *idx, size_t n, hsize_t *start, hsize_t *len)
{
    size_t r = 0;
    for (size_t i = 0; i < n; i++) {
        if (r > 0 && start[r - 1] + len[r - 1] == idx[i]) {
            len[r - 1]++;
        } else {
            start[r] = idx[i];
            len[r] = 1;
            r++;
        }
    }
    return r;
}

typedef struct readbuf {
    strwin_t ids;
    double *vals;      /* [window][d_sel] row-major: what the sink gets */
    double *stage;     /* staging for subsets and transposed files; allocated when first needed */
    float *fbuf;       /* float32 values before widening; allocated when first needed */
    size_t *rows;      /* selected rows of the window (relative to its first row) */
    const char **pids; /* ids of the selected rows */
    uint64_t *hashes;  /* [window] id hashes */
    hsize_t *cstart, *clen;
    size_t *coff;      /* where each column run starts among the selected columns */
    size_t n_cruns;
    hashset_t seen;
} readbuf_t;

/* Find the earlier row holding @p id (a hash match), to confirm a duplicate. */
static int confirm_duplicate(src_t *s, const char *id, size_t upto, size_t *first, mmdx_error_t *err)
{
    strwin_t w = {0};
    int rc = MMDX_OK, found = 0;
    for (size_t r0 = 0; r0 < upto && rc == MMDX_OK && !found; r0 += 65536) {
        size_t cnt = upto - r0 < 65536 ? upto - r0 : 65536;
        if ((rc = read_strings(s, s->ds_ids, DS_IDS, r0, cnt, &w, err)) != MMDX_OK)
            break;
        for (size_t i = 0; i < cnt; i++)
            if (!strcmp(w.s[i], id)) {
                *first = r0 + i;
                found = 1;
                break;
            }
    }
    strwin_free(s->st, &w);
    return rc != MMDX_OK ? rc : found;
}

/* Read patient rows [r, r+nr) x feature columns [c, c+nc) into @p dst in the file's own
 * order ([nr][nc], or [nc][nr] when transposed), as float or double. The memory space
 * has the shape of the file selection, which keeps HDF5 on its fast path (whole chunks
 * straight into the buffer) instead of mapping element by element. */
static int read_block(src_t *s, size_t r, size_t nr, size_t c, size_t nc, void *dst, mmdx_error_t *err)
{
    hsize_t start[2], cnt[2];
    if (!s->transposed) {
        start[0] = r, start[1] = c, cnt[0] = nr, cnt[1] = nc;
    } else {
        start[0] = c, start[1] = r, cnt[0] = nc, cnt[1] = nr;
    }
    hid_t fspace = H5Dget_space(s->ds_feat), mspace = H5Screate_simple(2, cnt, NULL);
    int rc = MMDX_OK;
    if (fspace < 0 || mspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, cnt, NULL) < 0)
        rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, DS_FEATURES, "cannot select rows %zu..%zu of /features", r + 1,
                           r + nr);
    else if (H5Dread(s->ds_feat, s->read_float ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT,
                     dst) < 0)
        rc = mmdx_hdf5_error(err, MMDX_EIO, s->path, DS_FEATURES, "cannot read rows %zu..%zu of /features", r + 1,
                           r + nr);
    if (fspace >= 0)
        H5Sclose(fspace);
    if (mspace >= 0)
        H5Sclose(mspace);
    return rc;
}

/* Floats read into the start of a double buffer become doubles in place, from the end
 * (double i lands at or after float i, never on a float not yet converted). Returns
 * nonzero when one of them is infinite. */
static int widen(void *buf, size_t count)
{
    const float *f = buf;
    double *d = buf;
    uint32_t any = 0;
    for (size_t i = count; i-- > 0;) {
        float x = f[i];
        uint32_t b;
        memcpy(&b, &x, sizeof b);
        any |= (uint32_t)((b & 0x7fffffffu) == 0x7f800000u);
        d[i] = (double)x;
    }
    return any != 0;
}

/* Floats to doubles into another buffer: four at a time, so the compiler packs the
 * conversion (cvtps2pd); with the largest |x| kept, a NaN never winning `a > m`.
 * Returns nonzero when one of them is infinite. */
static int widen_into(double *restrict d, const float *restrict f, size_t n)
{
    double m0 = 0, m1 = 0, m2 = 0, m3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        double a0 = (double)f[i], a1 = (double)f[i + 1], a2 = (double)f[i + 2], a3 = (double)f[i + 3];
        d[i] = a0;
        d[i + 1] = a1;
        d[i + 2] = a2;
        d[i + 3] = a3;
        a0 = fabs(a0), a1 = fabs(a1), a2 = fabs(a2), a3 = fabs(a3);
        m0 = a0 > m0 ? a0 : m0;
        m1 = a1 > m1 ? a1 : m1;
        m2 = a2 > m2 ? a2 : m2;
        m3 = a3 > m3 ? a3 : m3;
    }
    for (; i < n; i++) {
        double a = (double)f[i];
        d[i] = a;
        a = fabs(a);
        m0 = a > m0 ? a : m0;
    }
    m0 = m1 > m0 ? m1 : m0;
    m0 = m2 > m0 ? m2 : m0;
    m0 = m3 > m0 ? m3 : m0;
    return isinf(m0);
}

/* Read the selected rows (rb->rows[0..nsel)) of the window starting at @p row0 (with
 * @p cnt rows) and the selected columns into rb->vals, row-major [nsel][d_sel].
 * *maybe_inf is cleared when the values are known to be finite or NaN. */
static int read_values(src_t *s, readbuf_t *rb, size_t row0, size_t cnt, size_t nsel, int *maybe_inf,
                       mmdx_error_t *err)
{
    const size_t D = s->d_sel;
    int rc, inf = 0;
    *maybe_inf = 1;
    if (nsel == cnt && rb->n_cruns == 1 && !s->transposed) {
        /* every row, one column run: straight into the delivered buffer (floats through
         * a buffer of their own, converted forwards) */
        if (!s->read_float)
            return read_block(s, row0, cnt, (size_t)rb->cstart[0], D, rb->vals, err);
        if (!rb->fbuf && !(rb->fbuf = xmalloc(s->st, s->window * (D ? D : 1) * sizeof(float))))
            return mmdx_modality_error(err, MMDX_ENOMEM, s->path, NULL, 0, "out of memory");
        if ((rc = read_block(s, row0, cnt, (size_t)rb->cstart[0], D, rb->fbuf, err)) == MMDX_OK)
            *maybe_inf = widen_into(rb->vals, rb->fbuf, cnt * D);
        return rc;
    }
    if (!rb->stage && !(rb->stage = xmalloc(s->st, s->window * (D ? D : 1) * sizeof(double))))
        return mmdx_modality_error(err, MMDX_ENOMEM, s->path, NULL, 0, "out of memory");
    /* Ranges of rows to read: whole chunks around the selected rows (HDF5 reads whole
     * chunks anyway), or for contiguous storage runs with small gaps merged (one read
     * beats many tiny ones). */
    size_t elt = s->read_float ? 4 : 8;
    size_t gap = s->chunk_n ? 0 : 32768 / (elt * s->d) + 1;
    size_t c = s->chunk_n ? (size_t)s->chunk_n : 1;
    for (size_t k = 0; k < nsel;) {
        size_t abs = row0 + rb->rows[k];
        size_t a = abs / c * c, b = (abs / c + 1) * c, k1 = k + 1;
        if (a < row0)
            a = row0;
        for (; k1 < nsel; k1++) {
            size_t nx = row0 + rb->rows[k1];
            if (nx / c * c <= b + gap) {
                size_t nb = (nx / c + 1) * c;
                b = nb > b ? nb : b;
            } else {
                break;
            }
        }
        if (b > row0 + cnt)
            b = row0 + cnt;
        size_t nr = b - a;
        for (size_t q = 0; q < rb->n_cruns; q++) {
            size_t nc = (size_t)rb->clen[q];
            if ((rc = read_block(s, a, nr, (size_t)rb->cstart[q], nc, rb->stage, err)) != MMDX_OK)
                return rc;
            if (s->read_float)
                inf |= widen(rb->stage, nr * nc);
            const double *st = rb->stage;
            for (size_t m = k; m < k1; m++) {
                size_t rel = row0 + rb->rows[m] - a;
                double *out = rb->vals + m * D + rb->coff[q];
                if (!s->transposed)
                    memcpy(out, st + rel * nc, nc * sizeof *out);
                else
                    for (size_t t = 0; t < nc; t++)
                        out[t] = st[t * nr + rel];
            }
        }
        k = k1;
    }
    if (s->read_float)
        *maybe_inf = inf;
    return MMDX_OK;
}

/* Index of the first infinite value among @p n, or n. The first pass is a branch-free
 * running maximum of |x| (a NaN never wins `a > m`), four accumulators wide. */
static size_t find_inf(const double *v, size_t n)
{
    double m0 = 0, m1 = 0, m2 = 0, m3 = 0;
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        double a0 = fabs(v[k]), a1 = fabs(v[k + 1]), a2 = fabs(v[k + 2]), a3 = fabs(v[k + 3]);
        m0 = a0 > m0 ? a0 : m0;
        m1 = a1 > m1 ? a1 : m1;
        m2 = a2 > m2 ? a2 : m2;
        m3 = a3 > m3 ? a3 : m3;
    }
    for (; k < n; k++) {
        double a = fabs(v[k]);
        m0 = a > m0 ? a : m0;
    }
    m0 = m1 > m0 ? m1 : m0;
    m0 = m2 > m0 ? m2 : m0;
    m0 = m3 > m0 ? m3 : m0;
    if (!isinf(m0))
        return n;
    for (k = 0; k < n; k++)
        if (isinf(v[k]))
            return k;
    return n;
}

/* Fallback for a sink without block(): one observation per present value. */
static int deliver_obs(src_t *s, const mmdx_sink_t *sink, const mmdx_block_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (sink->patient) {
            int r = sink->patient(sink->data, b->patients[i]);
            if (r != MMDX_OK)
                return r;
        }
        for (size_t j = 0; j < b->d; j++) {
            double v = b->values[i * b->d + j];
            if (isnan(v))
                continue;
            mmdx_obs_t o = {b->patients[i], b->features[j], MMDX_OBS_CONTINUOUS, v, b->units ? b->units[j] : NULL,
                            NULL, MMDX_CENSOR_NONE, MMDX_TIME_UNKNOWN, s->path};
            int r = sink->obs(sink->data, &o);
            if (r != MMDX_OK)
                return r;
        }
    }
    return MMDX_OK;
}

static int deliver(src_t *s, const mmdx_sink_t *sink, readbuf_t *rb, const char **fids, const char **funits,
                   size_t nrows)
{
    size_t step = s->block_rows ? s->block_rows : nrows;
    for (size_t i0 = 0; i0 < nrows; i0 += step) {
        size_t k = nrows - i0 < step ? nrows - i0 : step;
        mmdx_block_t b = {k, s->d_sel, rb->pids + i0, fids, funits, rb->vals + i0 * s->d_sel, s->path};
        int r;
        if (s->d_sel == 0) {
            r = MMDX_OK;
            for (size_t i = 0; i < k && r == MMDX_OK; i++)
                r = sink->patient ? sink->patient(sink->data, rb->pids[i0 + i]) : MMDX_OK;
        } else if (sink->block) {
            r = sink->block(sink->data, &b);
        } else {
            r = deliver_obs(s, sink, &b);
        }
        if (r != MMDX_OK)
            return r;
    }
    return MMDX_OK;
}

/* Check the window's ids (non-empty, unique over the file) and pick the selected rows.
 * Hashes are computed first and the table probed with a prefetch a few ids ahead, since
 * a probe is a cache miss on large files. Returns the number selected, or < 0. */
static long select_rows(src_t *s, readbuf_t *rb, size_t row0, size_t cnt, mmdx_error_t *err)
{
    size_t nsel = 0;
    for (size_t i = 0; i < cnt; i++) {
        const char *id = rb->ids.s[i];
        if (id[0] == '\0' || has_control(id) || strlen(id) >= ID_MAX)
            return mmdx_modality_error(err, MMDX_EFORMAT, s->path, DS_IDS, (long)(row0 + i + 1),
                                       "patient id at row %zu is empty, too long or holds a control character",
                                       row0 + i + 1);
        rb->hashes[i] = hash_str(id);
    }
    for (size_t i = 0; i < cnt; i++) {
        const char *id = rb->ids.s[i];
#if defined(__GNUC__)
        if (i + 16 < cnt) {
            __builtin_prefetch(&rb->seen.slot[(size_t)rb->hashes[i + 16] & (rb->seen.cap - 1)]);
            if (s->psel.cap)
                __builtin_prefetch(&s->psel.slot[(size_t)rb->hashes[i + 16] & (s->psel.cap - 1)]);
        }
#endif
        if (hashset_insert(&rb->seen, rb->hashes[i])) {
            size_t first = 0;
            int c = confirm_duplicate(s, id, row0 + i, &first, err);
            if (c < 0)
                return c;
            if (c > 0)
                return mmdx_modality_error(err, MMDX_EDUP, s->path, id, (long)(row0 + i + 1),
                                           "duplicate patient id '%s' in %s (rows %zu and %zu)", id, DS_IDS,
                                           first + 1, row0 + i + 1);
        }
        if (!s->has_psel || strset_has_h(&s->psel, id, rb->hashes[i])) {
            rb->rows[nsel] = i;
            rb->pids[nsel] = id;
            nsel++;
        }
    }
    return (long)nsel;
}

static int h5_read(void *p, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    src_t *s = p;
    if (!s || !sink || (!sink->block && !sink->obs))
        return mmdx_modality_error(err, MMDX_EINVAL, s ? s->path : NULL, NULL, 0, "no source or sink");
    const plugin_state_t *st = s->st;
    readbuf_t rb;
    memset(&rb, 0, sizeof rb);
    const char **fids = NULL, **funits = NULL;
    size_t W = s->window, D = s->d_sel, D1 = D ? D : 1;
    int rc = MMDX_OK;
    mmdx_hdf5_silence();

    rb.seen.cap = pow2_at_least(2 * s->n + 2);
    rb.seen.slot = xmalloc(st, rb.seen.cap * sizeof *rb.seen.slot);
    rb.vals = xmalloc(st, W * D1 * sizeof(double));
    rb.rows = xmalloc(st, W * sizeof *rb.rows);
    rb.pids = xmalloc(st, W * sizeof *rb.pids);
    rb.hashes = xmalloc(st, W * sizeof *rb.hashes);
    rb.cstart = xmalloc(st, D1 * sizeof *rb.cstart);
    rb.clen = xmalloc(st, D1 * sizeof *rb.clen);
    rb.coff = xmalloc(st, D1 * sizeof *rb.coff);
    fids = xmalloc(st, D1 * sizeof *fids);
    funits = xmalloc(st, D1 * sizeof *funits);
    if (!rb.seen.slot || !rb.vals || !rb.rows || !rb.pids || !rb.hashes || !rb.cstart || !rb.clen || !rb.coff ||
        !fids || !funits) {
        rc = mmdx_modality_error(err, MMDX_ENOMEM, s->path, NULL, 0, "out of memory");
        goto done;
    }
    memset(rb.seen.slot, 0, rb.seen.cap * sizeof *rb.seen.slot);
    int any_unit = 0;
    for (size_t j = 0; j < D; j++) {
        fids[j] = s->feat_ids[s->cols[j]];
        funits[j] = s->units[s->cols[j]];
        any_unit |= funits[j] != NULL;
    }
    rb.n_cruns = make_runs(s->cols, D, rb.cstart, rb.clen);
    for (size_t q = 0, off = 0; q < rb.n_cruns; q++) {
        rb.coff[q] = off;
        off += (size_t)rb.clen[q];
    }

    for (size_t row0 = 0; row0 < s->n && rc == MMDX_OK; row0 += W) {
        size_t cnt = s->n - row0 < W ? s->n - row0 : W;
        if ((rc = read_strings(s, s->ds_ids, DS_IDS, row0, cnt, &rb.ids, err)) != MMDX_OK)
            break;
        long sel = select_rows(s, &rb, row0, cnt, err);
        if (sel <= 0) {
            rc = sel < 0 ? (int)sel : MMDX_OK;
            continue;
        }
        size_t nsel = (size_t)sel;
        int maybe_inf = 0;
        if (D > 0 && (rc = read_values(s, &rb, row0, cnt, nsel, &maybe_inf, err)) != MMDX_OK)
            break;
        /* Inf is not a measurement. With a reject callback the value is rejected (naming
         * patient, feature, row and column) and left missing, so one bad value does not
         * lose the other patients of the file; without one the read fails with it. */
        size_t k = maybe_inf ? find_inf(rb.vals, nsel * D) : nsel * D;
        while (k < nsel * D) {
            size_t i = k / D, j = k % D;
            if (!sink->reject) {
                rc = mmdx_modality_error(err, MMDX_ERANGE, s->path, rb.pids[i], (long)(row0 + rb.rows[i] + 1),
                                         "infinite value in %s for patient '%s', feature %s (row %zu, column %zu)",
                                         DS_FEATURES, rb.pids[i], fids[j], row0 + rb.rows[i] + 1, s->cols[j] + 1);
                break;
            }
            char why[512];
            snprintf(why, sizeof why, "infinite value in %s for feature %s (row %zu, column %zu); left missing",
                     DS_FEATURES, fids[j], row0 + rb.rows[i] + 1, s->cols[j] + 1);
            /* a sink that stops the read keeps its own reason: err is left to it */
            if ((rc = sink->reject(sink->data, rb.pids[i], s->path, (long)(row0 + rb.rows[i] + 1), MMDX_ERANGE,
                                   why)) != MMDX_OK)
                break;
            rb.vals[k] = NAN;
            k += 1 + find_inf(rb.vals + k + 1, nsel * D - k - 1);
        }
        if (rc != MMDX_OK)
            break;
        /* a sink that stops the read keeps its own reason: err is left to it */
        rc = deliver(s, sink, &rb, fids, any_unit ? funits : NULL, nsel);
    }
done:
    strwin_free(st, &rb.ids);
    xfree(st, rb.seen.slot);
    xfree(st, rb.vals);
    xfree(st, rb.stage);
    xfree(st, rb.fbuf);
    xfree(st, rb.rows);
    xfree(st, rb.pids);
    xfree(st, rb.hashes);
    xfree(st, rb.cstart);
    xfree(st, rb.clen);
    xfree(st, rb.coff);
    xfree(st, fids);
    xfree(st, funits);
    return rc;
}

static const mmdx_modality_desc_t hdf5_desc = {
    MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof(mmdx_modality_desc_t),
    "hdf5", "1.0", "MIT",
    "imaging features (radiomics, CT, MRI, retina models) in HDF5: /patient_ids, /feature_names, /features",
    "imaging",
    {h5_init, h5_fini, h5_probe, h5_open, h5_read, h5_close, {NULL}},
    {NULL}};

MMDX_MODALITY_EXPORT(hdf5)
{
    return &hdf5_desc;
}

#ifdef MMDX_BUILTIN_HDF5
/* The fuzz harness's way in (imaging_image.h): only the built-in copy has it, and it
 * reaches the context's registry entry, the one use of libmmdx internals here. */
#include "registry.h"
#include "imaging_image.h"

int mmdx_imaging_read_image(mmdx_ctx_t *ctx, const void *image, size_t size, const char *name,
                            const char *const *options, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    static const char *const no_options[] = {NULL};
    const mmdx_registry_entry_t *e = ctx ? mmdx_registry_lookup(ctx, "hdf5") : NULL;
    void *src = NULL;
    int rc;
    if (!name)
        name = "(memory)";
    if (!e || e->desc != &hdf5_desc || !image)
        return mmdx_modality_error(err, MMDX_EINVAL, name, "hdf5", 0,
                                   "no image, or the built-in hdf5 modality is not the registered one");
    rc = open_source(e->state, name, image, size, options ? options : no_options, &src, err);
    if (rc == MMDX_OK)
        rc = h5_read(src, sink, err);
    h5_close(src);
    return rc;
}
#endif

