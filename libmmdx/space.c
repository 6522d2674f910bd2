/* The feature space: namespaced features (kind, unit, transform, levels) and targets. */
#include <string.h>

#include "alloc_internal.h"
#include "hashmap.h"
#include "mmdx/space.h"
#include "space_internal.h"

typedef struct feature {
    char *id;
    mmdx_kind_t kind;
    char *unit; /* NULL: none */
    mmdx_transform_t transform;
    char **levels;
    size_t n_levels, cap_levels;
} feature_t;

typedef struct target {
    char *name;
    char **classes;
    size_t n_classes;
} target_t;

struct mmdx_space {
    feature_t *f;
    size_t n_f, cap_f;
    mmdx_hashmap_t fmap; /* id -> index; keys point at f[j].id */
    target_t *t;
    size_t n_t, cap_t;
    mmdx_hashmap_t tmap;
};

int mmdx_space_valid_name(const char *s)
{
    size_t n;
    if (s == NULL || s[0] == '\0')
        return 0;
    for (n = 0; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return n < MMDX_ID_MAX;
}

static int valid_feature_id(const char *id)
{
    const char *colon;
    if (!mmdx_space_valid_name(id))
        return 0;
    colon = strchr(id, ':');
    return colon != NULL && colon != id && colon[1] != '\0';
}

mmdx_space_t *mmdx_space_alloc(void)
{
    mmdx_space_t *s = mmdx_calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    mmdx_hashmap_init(&s->fmap);
    mmdx_hashmap_init(&s->tmap);
    return s;
}

static void feature_clear(feature_t *f)
{
    mmdx_free(f->id);
    mmdx_free(f->unit);
    for (size_t k = 0; k < f->n_levels; k++)
        mmdx_free(f->levels[k]);
    mmdx_free(f->levels);
}

static void target_clear(target_t *t)
{
    mmdx_free(t->name);
    for (size_t k = 0; k < t->n_classes; k++)
        mmdx_free(t->classes[k]);
    mmdx_free(t->classes);
}

void mmdx_space_free(mmdx_space_t *s)
{
    if (s == NULL)
        return;
    for (size_t j = 0; j < s->n_f; j++)
        feature_clear(&s->f[j]);
    for (size_t t = 0; t < s->n_t; t++)
        target_clear(&s->t[t]);
    mmdx_free(s->f);
    mmdx_free(s->t);
    mmdx_hashmap_clear(&s->fmap);
    mmdx_hashmap_clear(&s->tmap);
    mmdx_free(s);
}

mmdx_space_t *mmdx_space_clone(const mmdx_space_t *src)
{
    mmdx_space_t *s;
    if (src == NULL)
        return NULL;
    s = mmdx_space_alloc();
    if (s == NULL)
        return NULL;
    for (size_t j = 0; j < src->n_f; j++) {
        const feature_t *f = &src->f[j];
        size_t idx, lv;
        if (mmdx_space_add_feature(s, f->id, f->kind, f->unit, f->transform, &idx) != MMDX_OK)
            goto fail;
        for (size_t k = 0; k < f->n_levels; k++)
            if (mmdx_space_add_level(s, idx, f->levels[k], &lv) != MMDX_OK)
                goto fail;
    }
    for (size_t t = 0; t < src->n_t; t++) {
        size_t idx;
        if (mmdx_space_add_target(s, src->t[t].name, src->t[t].n_classes,
                                  (const char *const *)src->t[t].classes, &idx) != MMDX_OK)
            goto fail;
    }
    return s;
fail:
    mmdx_space_free(s);
    return NULL;
}

int mmdx_space_add_feature(mmdx_space_t *s, const char *id, mmdx_kind_t kind, const char *unit,
                           mmdx_transform_t transform, size_t *index_out)
{
    size_t j;
    feature_t *f;
    if (s == NULL || !valid_feature_id(id) || (unsigned)kind > MMDX_KIND_CATEGORICAL ||
        (unsigned)transform > MMDX_TRANSFORM_AUTO)
        return MMDX_EINVAL;
    if (unit && unit[0] && !mmdx_space_valid_name(unit))
        return MMDX_EINVAL;
    if (mmdx_hashmap_get(&s->fmap, id, &j)) {
        if (s->f[j].kind != kind)
            return MMDX_EDUP;
        if (index_out)
            *index_out = j;
        return MMDX_OK;
    }
    if (mmdx_grow((void **)&s->f, &s->cap_f, s->n_f + 1, sizeof *s->f) != MMDX_OK)
        return MMDX_ENOMEM;
    if (mmdx_hashmap_reserve(&s->fmap, s->n_f + 1) != MMDX_OK)
        return MMDX_ENOMEM;
    f = &s->f[s->n_f];
    memset(f, 0, sizeof *f);
    f->id = mmdx_strdup(id);
    if (unit && unit[0])
        f->unit = mmdx_strdup(unit);
    if (f->id == NULL || (unit && unit[0] && f->unit == NULL)) {
        feature_clear(f);
        return MMDX_ENOMEM;
    }
    f->kind = kind;
    f->transform = transform;
    if (mmdx_hashmap_put(&s->fmap, f->id, s->n_f) != MMDX_OK) { /* cannot fail after reserve */
        feature_clear(f);
        return MMDX_ENOMEM;
    }
    if (index_out)
        *index_out = s->n_f;
    s->n_f++;
    return MMDX_OK;
}

int mmdx_space_add_level(mmdx_space_t *s, size_t j, const char *level, size_t *level_out)
{
    feature_t *f;
    long k;
    char *copy;
    if (s == NULL || j >= s->n_f || !mmdx_space_valid_name(level))
        return MMDX_EINVAL;
    f = &s->f[j];
    if (f->kind != MMDX_KIND_CATEGORICAL)
        return MMDX_EINVAL;
    k = mmdx_space_find_level(s, j, level);
    if (k >= 0) {
        if (level_out)
            *level_out = (size_t)k;
        return MMDX_OK;
    }
    if (mmdx_grow((void **)&f->levels, &f->cap_levels, f->n_levels + 1, sizeof *f->levels) != MMDX_OK)
        return MMDX_ENOMEM;
    copy = mmdx_strdup(level);
    if (copy == NULL)
        return MMDX_ENOMEM;
    f->levels[f->n_levels] = copy;
    if (level_out)
        *level_out = f->n_levels;
    f->n_levels++;
    return MMDX_OK;
}

long mmdx_space_find_feature(const mmdx_space_t *s, const char *id)
{
    size_t j;
    if (s == NULL || id == NULL || !mmdx_hashmap_get(&s->fmap, id, &j))
        return -1;
    return (long)j;
}

size_t mmdx_space_n_features(const mmdx_space_t *s)
{
    return s ? s->n_f : 0;
}

const char *mmdx_space_feature_id(const mmdx_space_t *s, size_t j)
{
    return s && j < s->n_f ? s->f[j].id : NULL;
}

mmdx_kind_t mmdx_space_feature_kind(const mmdx_space_t *s, size_t j)
{
    return s && j < s->n_f ? s->f[j].kind : MMDX_KIND_CONTINUOUS;
}

const char *mmdx_space_feature_unit(const mmdx_space_t *s, size_t j)
{
    return s && j < s->n_f && s->f[j].unit ? s->f[j].unit : "";
}

mmdx_transform_t mmdx_space_feature_transform(const mmdx_space_t *s, size_t j)
{
    return s && j < s->n_f ? s->f[j].transform : MMDX_TRANSFORM_NONE;
}

void mmdx_space_set_transform(mmdx_space_t *s, size_t j, mmdx_transform_t t)
{
    if (s && j < s->n_f && (unsigned)t <= MMDX_TRANSFORM_AUTO)
        s->f[j].transform = t;
}

size_t mmdx_space_n_levels(const mmdx_space_t *s, size_t j)
{
    return s && j < s->n_f ? s->f[j].n_levels : 0;
}

const char *mmdx_space_level(const mmdx_space_t *s, size_t j, size_t level)
{
    return s && j < s->n_f && level < s->f[j].n_levels ? s->f[j].levels[level] : NULL;
}

long mmdx_space_find_level(const mmdx_space_t *s, size_t j, const char *level)
{
    if (s == NULL || j >= s->n_f || level == NULL)
        return -1;
    for (size_t k = 0; k < s->f[j].n_levels; k++)
        if (strcmp(s->f[j].levels[k], level) == 0)
            return (long)k;
    return -1;
}

int mmdx_space_modality_of(const char *id, char *buf, size_t size)
{
    const char *colon, *end;
    size_t n;
    if (id == NULL || buf == NULL || size == 0)
        return MMDX_EINVAL;
    colon = strchr(id, ':');
    if (colon == NULL || colon == id)
        return MMDX_EINVAL;
    n = (size_t)(colon - id);
    if ((n == 3 && strncmp(id, "var", 3) == 0) || (n == 3 && strncmp(id, "pgx", 3) == 0)) {
        id = "gen";
        n = 3;
    } else if (n == 3 && strncmp(id, "img", 3) == 0) {
        /* imaging: one block per source (img:<source>:<name>) */
        end = strchr(colon + 1, ':');
        if (end == NULL || end == colon + 1)
            return MMDX_EINVAL;
        n = (size_t)(end - id);
    }
    if (n + 1 > size)
        return MMDX_EINVAL;
    memcpy(buf, id, n);
    buf[n] = '\0';
    return MMDX_OK;
}

static int same_classes(const target_t *t, size_t n, const char *const *classes)
{
    if (t->n_classes != n)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (strcmp(t->classes[k], classes[k]) != 0)
            return 0;
    return 1;
}

int mmdx_space_add_target(mmdx_space_t *s, const char *name, size_t n_classes,
                          const char *const *classes, size_t *index_out)
{
    size_t t;
    target_t *tg;
    if (s == NULL || !mmdx_space_valid_name(name) || n_classes < 2 || classes == NULL)
        return MMDX_EINVAL;
    for (size_t k = 0; k < n_classes; k++) {
        if (!mmdx_space_valid_name(classes[k]))
            return MMDX_EINVAL;
        for (size_t m = 0; m < k; m++)
            if (strcmp(classes[m], classes[k]) == 0)
                return MMDX_EDUP;
    }
    if (mmdx_hashmap_get(&s->tmap, name, &t)) {
        if (!same_classes(&s->t[t], n_classes, classes))
            return MMDX_ESPACE;
        if (index_out)
            *index_out = t;
        return MMDX_OK;
    }
    if (mmdx_grow((void **)&s->t, &s->cap_t, s->n_t + 1, sizeof *s->t) != MMDX_OK ||
        mmdx_hashmap_reserve(&s->tmap, s->n_t + 1) != MMDX_OK)
        return MMDX_ENOMEM;
    tg = &s->t[s->n_t];
    memset(tg, 0, sizeof *tg);
    tg->name = mmdx_strdup(name);
    tg->classes = mmdx_calloc(n_classes, sizeof *tg->classes);
    if (tg->name == NULL || tg->classes == NULL)
        goto nomem;
    for (size_t k = 0; k < n_classes; k++) {
        tg->classes[k] = mmdx_strdup(classes[k]);
        if (tg->classes[k] == NULL)
            goto nomem;
        tg->n_classes = k + 1;
    }
    if (mmdx_hashmap_put(&s->tmap, tg->name, s->n_t) != MMDX_OK)
        goto nomem;
    if (index_out)
        *index_out = s->n_t;
    s->n_t++;
    return MMDX_OK;
nomem:
    target_clear(tg);
    return MMDX_ENOMEM;
}

void mmdx_space_truncate_targets(mmdx_space_t *s, size_t n_targets)
{
    if (s == NULL || n_targets >= s->n_t)
        return;
    while (s->n_t > n_targets)
        target_clear(&s->t[--s->n_t]);
    /* rebuild the map without the removed names; it only shrinks, so no allocation fails
     * once the old table is kept: reuse it by clearing entries in place */
    for (size_t k = 0; k < s->tmap.cap; k++)
        s->tmap.keys[k] = NULL;
    s->tmap.count = 0;
    for (size_t t = 0; t < s->n_t; t++)
        (void)mmdx_hashmap_put(&s->tmap, s->t[t].name, t);
}

void mmdx_space_truncate_features(mmdx_space_t *s, size_t n_features)
{
    if (s == NULL || n_features >= s->n_f)
        return;
    while (s->n_f > n_features)
        feature_clear(&s->f[--s->n_f]);
    for (size_t k = 0; k < s->fmap.cap; k++)
        s->fmap.keys[k] = NULL;
    s->fmap.count = 0;
    for (size_t j = 0; j < s->n_f; j++)
        (void)mmdx_hashmap_put(&s->fmap, s->f[j].id, j);
}

long mmdx_space_find_target(const mmdx_space_t *s, const char *name)
{
    size_t t;
    if (s == NULL || name == NULL || !mmdx_hashmap_get(&s->tmap, name, &t))
        return -1;
    return (long)t;
}

size_t mmdx_space_n_targets(const mmdx_space_t *s)
{
    return s ? s->n_t : 0;
}

const char *mmdx_space_target_name(const mmdx_space_t *s, size_t t)
{
    return s && t < s->n_t ? s->t[t].name : NULL;
}

size_t mmdx_space_n_classes(const mmdx_space_t *s, size_t t)
{
    return s && t < s->n_t ? s->t[t].n_classes : 0;
}

const char *mmdx_space_class_name(const mmdx_space_t *s, size_t t, size_t k)
{
    return s && t < s->n_t && k < s->t[t].n_classes ? s->t[t].classes[k] : NULL;
}

long mmdx_space_find_class(const mmdx_space_t *s, size_t t, const char *cls)
{
    if (s == NULL || t >= s->n_t || cls == NULL)
        return -1;
    for (size_t k = 0; k < s->t[t].n_classes; k++)
        if (strcmp(s->t[t].classes[k], cls) == 0)
            return (long)k;
    return -1;
}

int mmdx_space_equal(const mmdx_space_t *a, const mmdx_space_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (a->n_f != b->n_f || a->n_t != b->n_t)
        return 0;
    for (size_t j = 0; j < a->n_f; j++) {
        const feature_t *x = &a->f[j], *y = &b->f[j];
        if (strcmp(x->id, y->id) != 0 || x->kind != y->kind || x->n_levels != y->n_levels ||
            strcmp(x->unit ? x->unit : "", y->unit ? y->unit : "") != 0)
            return 0;
        for (size_t k = 0; k < x->n_levels; k++)
            if (strcmp(x->levels[k], y->levels[k]) != 0)
                return 0;
    }
    for (size_t t = 0; t < a->n_t; t++)
        if (strcmp(a->t[t].name, b->t[t].name) != 0 ||
            !same_classes(&a->t[t], b->t[t].n_classes, (const char *const *)b->t[t].classes))
            return 0;
    return 1;
}
