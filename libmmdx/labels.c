/* The labels TSV reader: `patient_id<TAB>TARGET...`, class labels per target, empty or
 * NA for unknown. The whole file is checked before the space is touched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_internal.h"
#include "ctx_internal.h"
#include "hashmap.h"
#include "mmdx/cohort.h"
#include "space_internal.h"

/* Refuse absurd inputs before reading them into memory. */
#define LABELS_MAX_BYTES ((size_t)1 << 31)

struct mmdx_labels {
    char *buf;        /* the file's text; patients point into it */
    size_t n;         /* rows */
    char **patients;  /* [n] */
    size_t m;         /* target columns in the file */
    char **names;     /* [m] target names (into buf) */
    int *cls;         /* [n][m] class index in the space's target, -1 unknown */
    long *target_of;  /* [m] space target index of each column */
    size_t nt_space;  /* space targets when read */
    long *col_of;     /* [nt_space] column of each space target, -1 none */
    char **cells;     /* [n][m] the values as read (into buf), for applying by name */
    long *row_line;   /* [n] line number of each row */
    char *path;       /* the file, for errors while applying */
};

void mmdx_labels_free(mmdx_labels_t *l)
{
    if (l == NULL)
        return;
    mmdx_free(l->buf);
    mmdx_free(l->patients);
    mmdx_free(l->names);
    mmdx_free(l->cls);
    mmdx_free(l->target_of);
    mmdx_free(l->col_of);
    mmdx_free(l->cells);
    mmdx_free(l->row_line);
    mmdx_free(l->path);
    mmdx_free(l);
}

size_t mmdx_labels_n_patients(const mmdx_labels_t *l)
{
    return l ? l->n : 0;
}

const char *mmdx_labels_patient(const mmdx_labels_t *l, size_t r)
{
    return l && r < l->n ? l->patients[r] : NULL;
}

int mmdx_labels_class(const mmdx_labels_t *l, size_t r, size_t t)
{
    long col;
    if (l == NULL || r >= l->n || t >= l->nt_space)
        return -1;
    col = l->col_of[t];
    return col < 0 ? -1 : l->cls[r * l->m + (size_t)col];
}

static int read_all(const char *path, char **out, size_t *len, mmdx_error_t *err)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    if (fp == NULL)
        return mmdx_error_set(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, path, NULL, 0,
                              "cannot open: %s", strerror(errno));
    for (;;) {
        if (mmdx_grow((void **)&buf, &cap, n + 65536 + 1, 1) != MMDX_OK) {
            fclose(fp);
            mmdx_free(buf);
            return mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory reading the file");
        }
        got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0)
            break;
        if (n > LABELS_MAX_BYTES) {
            fclose(fp);
            mmdx_free(buf);
            return mmdx_error_set(err, MMDX_ESECURITY, path, NULL, 0, "labels file larger than %zu bytes",
                                  LABELS_MAX_BYTES);
        }
    }
    if (ferror(fp)) {
        fclose(fp);
        mmdx_free(buf);
        return mmdx_error_set(err, MMDX_EIO, path, NULL, 0, "read failed");
    }
    fclose(fp);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return MMDX_OK;
}

/* Split the text into NUL-terminated fields in place. Returns the next line start. */
static char *next_line(char *p, char **line_end)
{
    char *e = strchr(p, '\n');
    char *next = e ? e + 1 : p + strlen(p);
    if (e == NULL)
        e = p + strlen(p);
    if (e > p && e[-1] == '\r')
        e--;
    *e = '\0';
    *line_end = e;
    return next;
}

static size_t count_fields(const char *line)
{
    size_t k = 1;
    for (; *line; line++)
        k += *line == '\t';
    return k;
}

static int is_unknown(const char *v)
{
    return v[0] == '\0' || strcmp(v, "NA") == 0;
}

static int cmp_class(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    char *ex, *ey;
    double dx = strtod(x, &ex), dy = strtod(y, &ey);
    /* numeric labels in numeric order ("2" before "10"), then the rest by bytes */
    if (*ex == '\0' && *ey == '\0' && ex != x && ey != y && dx != dy)
        return dx < dy ? -1 : 1;
    return strcmp(x, y);
}

int mmdx_labels_read(mmdx_ctx_t *ctx, const char *path, mmdx_space_t *space, mmdx_labels_t **out,
                     mmdx_error_t *err)
{
    mmdx_error_t local = {0};
    mmdx_labels_t *l = NULL;
    char *p, *end, *line, **cells = NULL;
    const char **distinct = NULL;
    size_t len = 0, cap_rows = 0, cap_cells = 0, cap_lines = 0;
    long lineno = 1, *row_line = NULL;
    mmdx_hashmap_t pmap, hmap, vmap;
    size_t nt0 = mmdx_space_n_targets(space);
    int rc = MMDX_OK;

    mmdx_hashmap_init(&pmap);
    mmdx_hashmap_init(&hmap);
    mmdx_hashmap_init(&vmap);
    if (err == NULL)
        err = &local;
    if (out)
        *out = NULL;
    if (path == NULL || space == NULL || out == NULL) {
        rc = mmdx_error_set(err, MMDX_EINVAL, path, NULL, 0, "mmdx_labels_read: NULL argument");
        goto done;
    }
    l = mmdx_calloc(1, sizeof *l);
    if (l == NULL || (l->path = mmdx_strdup(path)) == NULL) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
        goto done;
    }
    rc = read_all(path, &l->buf, &len, err);
    if (rc != MMDX_OK)
        goto done;
    if (memchr(l->buf, '\0', len) != NULL) {
        rc = mmdx_error_set(err, MMDX_EFORMAT, path, NULL, 0, "not a text file (NUL byte)");
        goto done;
    }
    p = l->buf;
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3; /* UTF-8 byte order mark from spreadsheet exports */

    /* header */
    line = p;
    p = next_line(p, &end);
    if (line[0] == '\0') {
        rc = mmdx_error_set(err, MMDX_EFORMAT, path, NULL, 1, "missing header (expected patient_id<TAB>TARGET...)");
        goto done;
    }
    l->m = count_fields(line) - 1;
    {
        char *f = line, *tab = strchr(f, '\t');
        if (tab)
            *tab = '\0';
        if (strcmp(f, "patient_id") != 0) {
            rc = mmdx_error_set(err, MMDX_EFORMAT, path, "column 1", 1,
                                "header column 1 must be patient_id (expected patient_id<TAB>TARGET...)");
            goto done;
        }
        if (l->m == 0) {
            rc = mmdx_error_set(err, MMDX_EFORMAT, path, NULL, 1, "header names no target column");
            goto done;
        }
        l->names = mmdx_calloc(l->m, sizeof *l->names);
        l->target_of = mmdx_calloc(l->m, sizeof *l->target_of);
        if (l->names == NULL || l->target_of == NULL ||
            mmdx_hashmap_reserve(&hmap, l->m) != MMDX_OK) {
            rc = mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 1, "out of memory");
            goto done;
        }
        f = tab + 1;
        for (size_t k = 0; k < l->m; k++) {
            char col[32];
            tab = strchr(f, '\t');
            if (tab)
                *tab = '\0';
            snprintf(col, sizeof col, "column %zu", k + 2);
            if (!mmdx_space_valid_name(f)) {
                rc = mmdx_error_set(err, MMDX_EFORMAT, path, col, 1,
                                    "target name in %s is empty, too long or has control characters", col);
                goto done;
            }
            if (mmdx_hashmap_get(&hmap, f, NULL)) {
                rc = mmdx_error_set(err, MMDX_EDUP, path, f, 1, "target %s appears twice in the header (%s)", f, col);
                goto done;
            }
            (void)mmdx_hashmap_put(&hmap, f, k);
            l->names[k] = f;
            f = tab ? tab + 1 : f + strlen(f);
        }
    }

    /* rows */
    while (*p) {
        char *f;
        size_t nf;
        lineno++;
        line = p;
        p = next_line(p, &end);
        if (line[0] == '\0')
            continue; /* blank lines (e.g. a trailing one) carry nothing */
        nf = count_fields(line);
        if (nf != l->m + 1) {
            char col[32];
            snprintf(col, sizeof col, "column %zu", (nf < l->m + 1 ? nf : l->m + 1) + 1);
            rc = mmdx_error_set(err, MMDX_EFORMAT, path, col, lineno,
                                "ragged row: %zu fields, the header has %zu (at %s)", nf, l->m + 1, col);
            goto done;
        }
        if (mmdx_grow((void **)&l->patients, &cap_rows, l->n + 1, sizeof *l->patients) != MMDX_OK ||
            mmdx_grow((void **)&cells, &cap_cells, (l->n + 1) * l->m, sizeof *cells) != MMDX_OK ||
            mmdx_grow((void **)&row_line, &cap_lines, l->n + 1, sizeof *row_line) != MMDX_OK) {
            rc = mmdx_error_set(err, MMDX_ENOMEM, path, NULL, lineno, "out of memory");
            goto done;
        }
        f = line;
        for (size_t k = 0; k <= l->m; k++) {
            char *tab = strchr(f, '\t');
            if (tab)
                *tab = '\0';
            if (k == 0)
                l->patients[l->n] = f;
            else
                cells[l->n * l->m + k - 1] = f;
            f = tab ? tab + 1 : f + strlen(f);
        }
        {
            const char *pid = l->patients[l->n];
            size_t first;
            if (!mmdx_space_valid_name(pid)) {
                rc = mmdx_error_set(err, MMDX_EFORMAT, path, "column 1", lineno,
                                    "patient id in column 1 is empty, too long or has control characters");
                goto done;
            }
            if (mmdx_hashmap_get(&pmap, pid, &first)) {
                rc = mmdx_error_set(err, MMDX_EDUP, path, "column 1", lineno,
                                    "duplicate patient id in column 1 (first on line %ld)", row_line[first]);
                goto done;
            }
            if (mmdx_hashmap_put(&pmap, pid, l->n) != MMDX_OK) {
                rc = mmdx_error_set(err, MMDX_ENOMEM, path, NULL, lineno, "out of memory");
                goto done;
            }
        }
        row_line[l->n] = lineno;
        l->n++;
    }

    /* classes: check against existing targets, collect them for new ones */
    l->cls = mmdx_malloc(l->n * l->m * sizeof *l->cls);
    distinct = mmdx_malloc((l->n + 2) * sizeof *distinct);
    if (l->cls == NULL || distinct == NULL) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < l->m; k++) {
        long t = mmdx_space_find_target(space, l->names[k]);
        char col[32];
        snprintf(col, sizeof col, "column %zu", k + 2);
        if (t >= 0) {
            for (size_t r = 0; r < l->n; r++) {
                const char *v = cells[r * l->m + k];
                long c = is_unknown(v) ? -1 : mmdx_space_find_class(space, (size_t)t, v);
                if (!is_unknown(v) && c < 0) {
                    rc = mmdx_error_set(err, MMDX_ESPACE, path, l->names[k], row_line[r],
                                        "unknown class '%.64s' for target %s (%s)", v, l->names[k], col);
                    goto done;
                }
                l->cls[r * l->m + k] = (int)c;
            }
            l->target_of[k] = t;
            continue;
        }
        /* a new target: its classes are the distinct values, sorted; {0,1} when binary */
        size_t nd = 0, idx;
        int binary = 1;
        mmdx_hashmap_clear(&vmap);
        for (size_t r = 0; r < l->n; r++) {
            const char *v = cells[r * l->m + k];
            if (is_unknown(v) || mmdx_hashmap_get(&vmap, v, NULL))
                continue;
            if (!mmdx_space_valid_name(v)) {
                rc = mmdx_error_set(err, MMDX_EFORMAT, path, l->names[k], row_line[r],
                                    "class label in %s is too long or has control characters", col);
                goto done;
            }
            if (mmdx_hashmap_put(&vmap, v, nd) != MMDX_OK) {
                rc = mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
                goto done;
            }
            distinct[nd++] = v;
            if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
                binary = 0;
        }
        if (binary) {
            distinct[0] = "0";
            distinct[1] = "1";
            nd = 2;
        } else if (nd < 2) {
            rc = mmdx_error_set(err, MMDX_EFORMAT, path, l->names[k], 0,
                                "target %s (%s) has a single class '%.64s'; a target needs two or more",
                                l->names[k], col, distinct[0]);
            goto done;
        } else {
            qsort(distinct, nd, sizeof *distinct, cmp_class);
        }
        rc = mmdx_space_add_target(space, l->names[k], nd, distinct, &idx);
        if (rc != MMDX_OK) {
            rc = mmdx_error_set(err, rc, path, l->names[k], 1, "cannot add target %s: %s", l->names[k],
                                mmdx_strerror(rc));
            goto done;
        }
        l->target_of[k] = (long)idx;
        for (size_t r = 0; r < l->n; r++) {
            const char *v = cells[r * l->m + k];
            l->cls[r * l->m + k] = is_unknown(v) ? -1 : (int)mmdx_space_find_class(space, idx, v);
        }
    }
    l->nt_space = mmdx_space_n_targets(space);
    l->col_of = mmdx_malloc((l->nt_space ? l->nt_space : 1) * sizeof *l->col_of);
    if (l->col_of == NULL) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
        goto done;
    }
    for (size_t t = 0; t < l->nt_space; t++)
        l->col_of[t] = -1;
    for (size_t k = 0; k < l->m; k++)
        l->col_of[l->target_of[k]] = (long)k;
    l->cells = cells;
    l->row_line = row_line;
    cells = NULL;
    row_line = NULL;
    *out = l;
    l = NULL;
    rc = MMDX_OK;
done:
    if (rc != MMDX_OK) {
        mmdx_space_truncate_targets(space, nt0);
        if (ctx)
            mmdx_ctx_set_error(ctx, err);
    }
    mmdx_labels_free(l);
    mmdx_free(cells);
    mmdx_free(distinct);
    mmdx_free(row_line);
    mmdx_hashmap_clear(&pmap);
    mmdx_hashmap_clear(&hmap);
    mmdx_hashmap_clear(&vmap);
    return rc;
}

int mmdx_labels_apply(const mmdx_labels_t *l, mmdx_cohort_t *c, int strict, size_t *n_unknown,
                      mmdx_error_t *err)
{
    const mmdx_space_t *cs;
    size_t unknown = 0, nt;
    long *col_of;
    int rc = MMDX_OK;
    if (n_unknown)
        *n_unknown = 0;
    if (l == NULL || c == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, NULL, NULL, 0, "mmdx_labels_apply: NULL argument");
    cs = mmdx_cohort_space(c);
    nt = mmdx_cohort_n_targets(c);
    /* match the cohort's targets and classes by name: the cohort may be over another
     * space than the one the labels were read into (e.g. a trained model's) */
    col_of = mmdx_malloc((nt ? nt : 1) * sizeof *col_of);
    if (col_of == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, NULL, NULL, 0, "out of memory");
    for (size_t t = 0; t < nt; t++) {
        const char *name = mmdx_space_target_name(cs, t);
        col_of[t] = -1;
        for (size_t k = 0; k < l->m; k++)
            if (strcmp(l->names[k], name) == 0)
                col_of[t] = (long)k;
    }
    /* check every row before changing the cohort; unknown patients are all counted, the
     * first is named once the rows are known to be otherwise valid */
    size_t first_unknown = 0;
    for (size_t r = 0; r < l->n && rc == MMDX_OK; r++) {
        if (mmdx_cohort_find(c, l->patients[r]) < 0) {
            if (unknown == 0)
                first_unknown = r;
            unknown++;
            continue;
        }
        for (size_t t = 0; t < nt && rc == MMDX_OK; t++) {
            const char *v;
            if (col_of[t] < 0)
                continue;
            v = l->cells[r * l->m + (size_t)col_of[t]];
            if (!is_unknown(v) && mmdx_space_find_class(cs, t, v) < 0)
                rc = mmdx_error_set(err, MMDX_ESPACE, NULL, l->names[col_of[t]], l->row_line[r],
                                    "labels line %ld: class '%.64s' is not a class of the cohort's target %s",
                                    l->row_line[r], v, l->names[col_of[t]]);
        }
    }
    if (rc == MMDX_OK && unknown > 0) {
        size_t r = first_unknown;
        mmdx_error_set(err, MMDX_ENOTFOUND, l->path, l->patients[r], l->row_line[r],
                       "labels line %ld names patient '%.64s', who is not in the cohort (%zu of %zu label "
                       "row%s name patients not in the cohort)",
                       l->row_line[r], l->patients[r], unknown, l->n, l->n == 1 ? "" : "s");
        if (strict)
            rc = MMDX_ENOTFOUND;
    }
    for (size_t r = 0; r < l->n && rc == MMDX_OK; r++) {
        long row = mmdx_cohort_find(c, l->patients[r]);
        if (row < 0)
            continue;
        for (size_t t = 0; t < nt; t++) {
            const char *v;
            if (col_of[t] < 0)
                continue;
            v = l->cells[r * l->m + (size_t)col_of[t]];
            mmdx_cohort_set_label(c, (size_t)row, t, is_unknown(v) ? -1 : (int)mmdx_space_find_class(cs, t, v));
        }
    }
    mmdx_free(col_of);
    if (n_unknown)
        *n_unknown = unknown;
    return rc;
}
