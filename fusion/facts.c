/* Fact sources for the decision layer: a cohort row, or a small hand-built table. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mmdx/decision.h"

/* ------------------------------------------------------------------ cohort row */

int mmdx_cohort_row_fact(void *user, const char *feature_id, mmdx_fact_t *fact)
{
    const mmdx_cohort_row_t *row = user;
    const mmdx_space_t *space;
    long j;
    double v;
    if (row == NULL || row->cohort == NULL || feature_id == NULL || fact == NULL)
        return 0;
    space = mmdx_cohort_space(row->cohort);
    j = mmdx_space_find_feature(space, feature_id);
    if (j < 0 || (size_t)j >= mmdx_cohort_n_features(row->cohort) || row->row >= mmdx_cohort_n_patients(row->cohort))
        return 0;
    if (!mmdx_cohort_get(row->cohort, row->row, (size_t)j, &v) || isnan(v))
        return 0;
    fact->value = v;
    fact->level = NULL;
    fact->detail = NULL;
    fact->censor = mmdx_cohort_flags_const(row->cohort, (size_t)j)[row->row] &
                   (MMDX_VAL_CENSOR_LEFT | MMDX_VAL_CENSOR_RIGHT);
    if (mmdx_space_feature_kind(space, (size_t)j) == MMDX_KIND_CATEGORICAL) {
        if (!(v >= 0) || v >= (double)mmdx_space_n_levels(space, (size_t)j))
            return 0;
        fact->level = mmdx_space_level(space, (size_t)j, (size_t)v);
        if (strncmp(feature_id, "pgx:", 4) == 0) {
            char id[MMDX_ID_MAX + 16];
            double d;
            long k;
            snprintf(id, sizeof id, "%s:diplotype", feature_id);
            k = mmdx_space_find_feature(space, id);
            if (k >= 0 && (size_t)k < mmdx_cohort_n_features(row->cohort) &&
                mmdx_space_feature_kind(space, (size_t)k) == MMDX_KIND_CATEGORICAL &&
                mmdx_cohort_get(row->cohort, row->row, (size_t)k, &d) && d >= 0 &&
                d < (double)mmdx_space_n_levels(space, (size_t)k))
                fact->detail = mmdx_space_level(space, (size_t)k, (size_t)d);
        }
    }
    return 1;
}

int mmdx_cohort_row_modality(void *user, const char *modality)
{
    const mmdx_cohort_row_t *row = user;
    const mmdx_space_t *space;
    size_t d;
    if (row == NULL || row->cohort == NULL || modality == NULL || row->row >= mmdx_cohort_n_patients(row->cohort))
        return 0;
    space = mmdx_cohort_space(row->cohort);
    d = mmdx_cohort_n_features(row->cohort);
    for (size_t j = 0; j < d; j++) {
        char m[MMDX_ID_MAX];
        double v;
        if (mmdx_space_modality_of(mmdx_space_feature_id(space, j), m, sizeof m) != MMDX_OK ||
            strcmp(m, modality) != 0)
            continue;
        if (mmdx_cohort_get(row->cohort, row->row, j, &v))
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ facts table */

typedef struct fact_entry {
    char *id;
    double value;
    int censor;
    char *level, *detail;
} fact_entry_t;

struct mmdx_facts {
    fact_entry_t *e;
    size_t n, cap;
    char **modalities;
    size_t n_mod, cap_mod;
};

mmdx_facts_t *mmdx_facts_alloc(void)
{
    return mmdx_calloc(1, sizeof(mmdx_facts_t));
}

static void entry_clear(fact_entry_t *e)
{
    mmdx_free(e->id);
    mmdx_free(e->level);
    mmdx_free(e->detail);
}

void mmdx_facts_free(mmdx_facts_t *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++)
        entry_clear(&f->e[i]);
    mmdx_free(f->e);
    for (size_t i = 0; i < f->n_mod; i++)
        mmdx_free(f->modalities[i]);
    mmdx_free(f->modalities);
    mmdx_free(f);
}

static int valid_id(const char *id)
{
    return id && strchr(id, ':') && strlen(id) < MMDX_ID_MAX;
}

/* Replace or append the entry for id; on success the entry owns the new strings. */
static int put_entry(mmdx_facts_t *f, const char *id, double value, int censor, const char *level,
                     const char *detail)
{
    fact_entry_t ne = {0};
    size_t i;
    ne.id = mmdx_strdup(id);
    ne.value = value;
    ne.censor = censor;
    ne.level = level ? mmdx_strdup(level) : NULL;
    ne.detail = detail ? mmdx_strdup(detail) : NULL;
    if (ne.id == NULL || (level && ne.level == NULL) || (detail && ne.detail == NULL)) {
        entry_clear(&ne);
        return MMDX_ENOMEM;
    }
    for (i = 0; i < f->n; i++)
        if (strcmp(f->e[i].id, id) == 0) {
            entry_clear(&f->e[i]);
            f->e[i] = ne;
            return MMDX_OK;
        }
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 8;
        fact_entry_t *e = mmdx_realloc(f->e, ncap * sizeof *e);
        if (e == NULL) {
            entry_clear(&ne);
            return MMDX_ENOMEM;
        }
        f->e = e;
        f->cap = ncap;
    }
    f->e[f->n++] = ne;
    return MMDX_OK;
}

int mmdx_facts_set_value(mmdx_facts_t *f, const char *feature_id, double value)
{
    if (f == NULL || !valid_id(feature_id) || !isfinite(value))
        return MMDX_EINVAL;
    return put_entry(f, feature_id, value, 0, NULL, NULL);
}

int mmdx_facts_set_censored(mmdx_facts_t *f, const char *feature_id, double value, unsigned censor)
{
    if (f == NULL || !valid_id(feature_id) || !isfinite(value) ||
        (censor != MMDX_VAL_CENSOR_LEFT && censor != MMDX_VAL_CENSOR_RIGHT))
        return MMDX_EINVAL;
    return put_entry(f, feature_id, value, (int)censor, NULL, NULL);
}

int mmdx_facts_set_level(mmdx_facts_t *f, const char *feature_id, const char *level, const char *detail)
{
    if (f == NULL || !valid_id(feature_id) || level == NULL || !*level)
        return MMDX_EINVAL;
    return put_entry(f, feature_id, 0, 0, level, detail);
}

int mmdx_facts_set_modality(mmdx_facts_t *f, const char *modality)
{
    char *m;
    if (f == NULL || modality == NULL || !*modality)
        return MMDX_EINVAL;
    for (size_t i = 0; i < f->n_mod; i++)
        if (strcmp(f->modalities[i], modality) == 0)
            return MMDX_OK;
    if (f->n_mod == f->cap_mod) {
        size_t ncap = f->cap_mod ? f->cap_mod * 2 : 4;
        char **nm = mmdx_realloc(f->modalities, ncap * sizeof *nm);
        if (nm == NULL)
            return MMDX_ENOMEM;
        f->modalities = nm;
        f->cap_mod = ncap;
    }
    if ((m = mmdx_strdup(modality)) == NULL)
        return MMDX_ENOMEM;
    f->modalities[f->n_mod++] = m;
    return MMDX_OK;
}

int mmdx_facts_fact(void *user, const char *feature_id, mmdx_fact_t *fact)
{
    const mmdx_facts_t *f = user;
    if (f == NULL || feature_id == NULL || fact == NULL)
        return 0;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->e[i].id, feature_id) == 0) {
            fact->value = f->e[i].value;
            fact->censor = f->e[i].censor;
            fact->level = f->e[i].level;
            fact->detail = f->e[i].detail;
            return 1;
        }
    return 0;
}

int mmdx_facts_modality(void *user, const char *modality)
{
    const mmdx_facts_t *f = user;
    if (f == NULL || modality == NULL)
        return 0;
    for (size_t i = 0; i < f->n_mod; i++)
        if (strcmp(f->modalities[i], modality) == 0)
            return 1;
    for (size_t i = 0; i < f->n; i++) {
        char m[MMDX_ID_MAX];
        if (mmdx_space_modality_of(f->e[i].id, m, sizeof m) == MMDX_OK && strcmp(m, modality) == 0)
            return 1;
    }
    return 0;
}
