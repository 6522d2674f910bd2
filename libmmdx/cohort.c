/* The cohort: column-major values with a flag mask, patient ids and labels. */
#include <math.h>
#include <string.h>

#include "alloc_internal.h"
#include "cohort_internal.h"
#include "hashmap.h"
#include "space_internal.h"

struct mmdx_cohort {
    const mmdx_space_t *space;
    mmdx_space_t *owned_space; /* set by mmdx_cohort_load() */
    size_t n, d, nt;
    double *values; /* [d][n] */
    uint8_t *flags; /* [d][n] */
    int *labels;    /* [nt][n] */
    char **ids;     /* [n], NULL until set */
    /* id -> row, built by the first mmdx_cohort_find(); dropped when an id changes */
    mmdx_hashmap_t idmap;
    int idmap_valid;
};

mmdx_cohort_t *mmdx_cohort_alloc(const mmdx_space_t *space, size_t n)
{
    mmdx_cohort_t *c;
    size_t d, nt;
    if (space == NULL)
        return NULL;
    d = mmdx_space_n_features(space);
    nt = mmdx_space_n_targets(space);
    if ((d && n > SIZE_MAX / sizeof(double) / d) || (nt && n > SIZE_MAX / sizeof(int) / nt))
        return NULL;
    c = mmdx_calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->space = space;
    c->n = n;
    c->d = d;
    c->nt = nt;
    mmdx_hashmap_init(&c->idmap);
    c->values = mmdx_malloc(n * d * sizeof *c->values);
    c->flags = mmdx_malloc(n * d);
    c->labels = mmdx_malloc(n * nt * sizeof *c->labels);
    c->ids = mmdx_calloc(n, sizeof *c->ids);
    if (c->values == NULL || c->flags == NULL || c->labels == NULL || c->ids == NULL) {
        mmdx_cohort_free(c);
        return NULL;
    }
    for (size_t k = 0; k < n * d; k++)
        c->values[k] = NAN;
    memset(c->flags, MMDX_VAL_MISSING, n * d);
    for (size_t k = 0; k < n * nt; k++)
        c->labels[k] = -1;
    return c;
}

void mmdx_cohort_free(mmdx_cohort_t *c)
{
    if (c == NULL)
        return;
    if (c->ids)
        for (size_t i = 0; i < c->n; i++)
            mmdx_free(c->ids[i]);
    mmdx_free(c->ids);
    mmdx_free(c->values);
    mmdx_free(c->flags);
    mmdx_free(c->labels);
    mmdx_hashmap_clear(&c->idmap);
    mmdx_space_free(c->owned_space);
    mmdx_free(c);
}

void mmdx_cohort_own_space(mmdx_cohort_t *c, mmdx_space_t *space)
{
    c->owned_space = space;
    c->space = space;
}

double *mmdx_cohort_values_(mmdx_cohort_t *c)
{
    return c->values;
}

uint8_t *mmdx_cohort_flags_(mmdx_cohort_t *c)
{
    return c->flags;
}

int *mmdx_cohort_labels_(mmdx_cohort_t *c)
{
    return c->labels;
}

const mmdx_space_t *mmdx_cohort_space(const mmdx_cohort_t *c)
{
    return c ? c->space : NULL;
}

size_t mmdx_cohort_n_patients(const mmdx_cohort_t *c)
{
    return c ? c->n : 0;
}

size_t mmdx_cohort_n_features(const mmdx_cohort_t *c)
{
    return c ? c->d : 0;
}

size_t mmdx_cohort_n_targets(const mmdx_cohort_t *c)
{
    return c ? c->nt : 0;
}

double *mmdx_cohort_column(mmdx_cohort_t *c, size_t j)
{
    return c && j < c->d ? c->values + j * c->n : NULL;
}

const double *mmdx_cohort_column_const(const mmdx_cohort_t *c, size_t j)
{
    return c && j < c->d ? c->values + j * c->n : NULL;
}

uint8_t *mmdx_cohort_flags(mmdx_cohort_t *c, size_t j)
{
    return c && j < c->d ? c->flags + j * c->n : NULL;
}

const uint8_t *mmdx_cohort_flags_const(const mmdx_cohort_t *c, size_t j)
{
    return c && j < c->d ? c->flags + j * c->n : NULL;
}

void mmdx_cohort_set(mmdx_cohort_t *c, size_t i, size_t j, double v, unsigned flags)
{
    if (c == NULL || i >= c->n || j >= c->d)
        return;
    if (isnan(v)) { /* NaN means "no value" everywhere in the library */
        mmdx_cohort_set_missing(c, i, j);
        return;
    }
    c->values[j * c->n + i] = v;
    c->flags[j * c->n + i] = (uint8_t)(flags & (MMDX_VAL_CENSOR_LEFT | MMDX_VAL_CENSOR_RIGHT));
}

void mmdx_cohort_set_missing(mmdx_cohort_t *c, size_t i, size_t j)
{
    if (c == NULL || i >= c->n || j >= c->d)
        return;
    c->values[j * c->n + i] = NAN;
    c->flags[j * c->n + i] = MMDX_VAL_MISSING;
}

int mmdx_cohort_get(const mmdx_cohort_t *c, size_t i, size_t j, double *v)
{
    if (c == NULL || i >= c->n || j >= c->d || (c->flags[j * c->n + i] & MMDX_VAL_MISSING))
        return 0;
    if (v)
        *v = c->values[j * c->n + i];
    return 1;
}

void mmdx_cohort_take_id(mmdx_cohort_t *c, size_t i, char *id)
{
    mmdx_free(c->ids[i]);
    c->ids[i] = id;
    c->idmap_valid = 0;
}

int mmdx_cohort_set_id(mmdx_cohort_t *c, size_t i, const char *id)
{
    char *copy;
    if (c == NULL || i >= c->n || !mmdx_space_valid_name(id))
        return MMDX_EINVAL;
    copy = mmdx_strdup(id);
    if (copy == NULL)
        return MMDX_ENOMEM;
    mmdx_cohort_take_id(c, i, copy);
    return MMDX_OK;
}

const char *mmdx_cohort_id(const mmdx_cohort_t *c, size_t i)
{
    return c && i < c->n && c->ids[i] ? c->ids[i] : "";
}

static int build_idmap(mmdx_cohort_t *c)
{
    mmdx_hashmap_clear(&c->idmap);
    if (mmdx_hashmap_reserve(&c->idmap, c->n) != MMDX_OK)
        return MMDX_ENOMEM;
    for (size_t i = 0; i < c->n; i++)
        if (c->ids[i] && !mmdx_hashmap_get(&c->idmap, c->ids[i], NULL))
            (void)mmdx_hashmap_put(&c->idmap, c->ids[i], i); /* reserved: cannot fail */
    c->idmap_valid = 1;
    return MMDX_OK;
}

long mmdx_cohort_find(const mmdx_cohort_t *cc, const char *id)
{
    /* The map is a cache: building it does not change what the cohort holds, so a
     * const cohort may build it. */
    mmdx_cohort_t *c = (mmdx_cohort_t *)cc;
    size_t row;
    if (c == NULL || id == NULL)
        return -1;
    if (!c->idmap_valid && build_idmap(c) != MMDX_OK) {
        for (size_t i = 0; i < c->n; i++) /* out of memory for the map: linear scan */
            if (c->ids[i] && strcmp(c->ids[i], id) == 0)
                return (long)i;
        return -1;
    }
    return mmdx_hashmap_get(&c->idmap, id, &row) ? (long)row : -1;
}

int mmdx_cohort_label(const mmdx_cohort_t *c, size_t i, size_t t)
{
    if (c == NULL || i >= c->n || t >= c->nt)
        return -1;
    return c->labels[t * c->n + i];
}

void mmdx_cohort_set_label(mmdx_cohort_t *c, size_t i, size_t t, int cls)
{
    if (c == NULL || i >= c->n || t >= c->nt)
        return;
    if (cls < 0 || (size_t)cls >= mmdx_space_n_classes(c->space, t))
        cls = -1;
    c->labels[t * c->n + i] = cls;
}

mmdx_cohort_t *mmdx_cohort_select(const mmdx_cohort_t *c, const size_t *rows, size_t n)
{
    mmdx_cohort_t *out;
    if (c == NULL || (n && rows == NULL))
        return NULL;
    for (size_t r = 0; r < n; r++)
        if (rows[r] >= c->n)
            return NULL;
    out = mmdx_cohort_alloc(c->space, n);
    if (out == NULL)
        return NULL;
    /* the space may have grown since c was made: keep c's shape */
    out->d = c->d;
    out->nt = c->nt;
    for (size_t j = 0; j < c->d; j++)
        for (size_t r = 0; r < n; r++) {
            out->values[j * n + r] = c->values[j * c->n + rows[r]];
            out->flags[j * n + r] = c->flags[j * c->n + rows[r]];
        }
    for (size_t t = 0; t < c->nt; t++)
        for (size_t r = 0; r < n; r++)
            out->labels[t * n + r] = c->labels[t * c->n + rows[r]];
    for (size_t r = 0; r < n; r++) {
        if (c->ids[rows[r]] == NULL)
            continue;
        out->ids[r] = mmdx_strdup(c->ids[rows[r]]);
        if (out->ids[r] == NULL) {
            mmdx_cohort_free(out);
            return NULL;
        }
    }
    return out;
}

mmdx_cohort_t *mmdx_cohort_slice(const mmdx_cohort_t *c, size_t first, size_t n)
{
    size_t *rows;
    mmdx_cohort_t *out;
    if (c == NULL || first > c->n || n > c->n - first)
        return NULL;
    rows = mmdx_malloc((n ? n : 1) * sizeof *rows);
    if (rows == NULL)
        return NULL;
    for (size_t r = 0; r < n; r++)
        rows[r] = first + r;
    out = mmdx_cohort_select(c, rows, n);
    mmdx_free(rows);
    return out;
}
