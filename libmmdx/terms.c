/* Term dictionary: LOINC display names in English and Korean, local names to LOINC.
 *
 * The file is small (a few hundred lines), so it is read whole into one buffer and parsed
 * in place; entries point into that buffer and are sorted for binary search. Built into
 * libmmdx.a and, without the public loader (MMDX_TERMS_PLUGIN), into the laboratory plugin. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmdx/modality.h"
#include "mmdx/terms.h"
#include "terms_internal.h"

#define TERMS_MAX_BYTES (16u << 20)

typedef struct term_entry {
    const char *key; /* LOINC code, feature id, or folded local name */
    const char *en;
    const char *ko;
    long line;
} term_entry_t;

struct mmdx_terms {
    mmdx_terms_alloc_t a;
    char *buf;
    term_entry_t *codes, *features, *locals;
    size_t n_codes, n_features, n_locals;
    size_t cap_codes, cap_features, cap_locals;
};

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const term_entry_t *)a)->key, ((const term_entry_t *)b)->key);
}

static const term_entry_t *find(const term_entry_t *v, size_t n, const char *key)
{
    term_entry_t k = {key, NULL, NULL, 0};
    return n ? bsearch(&k, v, n, sizeof *v, entry_cmp) : NULL;
}

static int push(mmdx_terms_t *t, term_entry_t **v, size_t *n, size_t *cap, term_entry_t e)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        term_entry_t *nv = t->a.realloc(*v, nc * sizeof *nv);
        if (!nv)
            return MMDX_ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = e;
    return MMDX_OK;
}

/* Lower-case ASCII letters and trim blanks, in place (Korean text is left as it is). */
static char *fold(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return s;
}

/* Split a line at tabs into at most @p max fields. Returns the number of fields. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

static int check_dups(const term_entry_t *v, size_t n, const char *path, const char *what, mmdx_error_t *err)
{
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i - 1].key, v[i].key) == 0)
            return mmdx_modality_error(err, MMDX_EDUP, path, v[i].key, v[i].line > v[i - 1].line ? v[i].line : v[i - 1].line,
                                       "%s '%s' is listed twice (lines %ld and %ld)", what, v[i].key,
                                       v[i - 1].line, v[i].line);
    return MMDX_OK;
}

static int read_file(const char *path, const mmdx_terms_alloc_t *a, char **out, mmdx_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mmdx_modality_error(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, path, "", 0,
                                   "cannot open term dictionary: %s", strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = a->malloc(cap);
    int rc = MMDX_OK;
    if (!buf) {
        rc = MMDX_ENOMEM;
        goto done;
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap >= TERMS_MAX_BYTES) {
                rc = mmdx_modality_error(err, MMDX_ESECURITY, path, "", 0, "term dictionary larger than %u bytes",
                                         TERMS_MAX_BYTES);
                goto done;
            }
            char *nb = a->realloc(buf, cap * 2);
            if (!nb) {
                rc = MMDX_ENOMEM;
                goto done;
            }
            buf = nb;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - 1 - n, f);
        n += k;
        if (k == 0)
            break;
    }
    if (ferror(f))
        rc = mmdx_modality_error(err, MMDX_EIO, path, "", 0, "read error");
done:
    fclose(f);
    if (rc != MMDX_OK) {
        a->free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    return MMDX_OK;
}

void mmdx_terms_free(mmdx_terms_t *t)
{
    if (!t)
        return;
    void (*fr)(void *) = t->a.free;
    fr(t->buf);
    fr(t->codes);
    fr(t->features);
    fr(t->locals);
    fr(t);
}

int mmdx_terms_load_with(const char *path, const mmdx_terms_alloc_t *a, mmdx_terms_t **out, mmdx_error_t *err)
{
    if (!path || !a || !out)
        return mmdx_modality_error(err, MMDX_EINVAL, path, "", 0, "NULL argument");
    *out = NULL;
    mmdx_terms_t *t = a->malloc(sizeof *t);
    if (!t)
        return MMDX_ENOMEM;
    memset(t, 0, sizeof *t);
    t->a = *a;
    int rc = read_file(path, a, &t->buf, err);
    if (rc != MMDX_OK)
        goto fail;
    long lineno = 0;
    char *next = t->buf;
    if ((unsigned char)next[0] == 0xEF && (unsigned char)next[1] == 0xBB && (unsigned char)next[2] == 0xBF)
        next += 3; /* UTF-8 byte order mark */
    while (next && *next) {
        char *line = next;
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        lineno++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char *f[5];
        int nf = split(line, f, 5);
        if (strcmp(f[0], "term") == 0 || strcmp(f[0], "feature") == 0) {
            if (nf != 4 || !*f[1] || !*f[2] || !*f[3])
                rc = mmdx_modality_error(err, MMDX_EFORMAT, path, f[0], lineno,
                                         "a %s line needs 4 tab-separated non-empty fields: %s, key, English, Korean",
                                         f[0], f[0]);
            else if (f[0][0] == 't' && !strchr(f[1], '-'))
                rc = mmdx_modality_error(err, MMDX_EFORMAT, path, f[1], lineno, "'%s' is not a LOINC code", f[1]);
            else if (f[0][0] == 't')
                rc = push(t, &t->codes, &t->n_codes, &t->cap_codes, (term_entry_t){f[1], f[2], f[3], lineno});
            else
                rc = push(t, &t->features, &t->n_features, &t->cap_features, (term_entry_t){f[1], f[2], f[3], lineno});
        } else if (strcmp(f[0], "local") == 0) {
            if (nf != 3 || !*f[2] || !*fold(f[1]))
                rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "local", lineno,
                                         "a local line needs 3 tab-separated non-empty fields: local, name, LOINC");
            else
                rc = push(t, &t->locals, &t->n_locals, &t->cap_locals, (term_entry_t){fold(f[1]), f[2], NULL, lineno});
        } else {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, f[0], lineno,
                                     "unknown line kind '%s' (expected term, feature or local)", f[0]);
        }
        if (rc != MMDX_OK)
            goto fail;
    }
    if (t->n_codes)
        qsort(t->codes, t->n_codes, sizeof *t->codes, entry_cmp);
    if (t->n_features)
        qsort(t->features, t->n_features, sizeof *t->features, entry_cmp);
    if (t->n_locals)
        qsort(t->locals, t->n_locals, sizeof *t->locals, entry_cmp);
    if ((rc = check_dups(t->codes, t->n_codes, path, "LOINC code", err)) != MMDX_OK ||
        (rc = check_dups(t->features, t->n_features, path, "feature", err)) != MMDX_OK ||
        (rc = check_dups(t->locals, t->n_locals, path, "local name", err)) != MMDX_OK)
        goto fail;
    /* every local name must point at a code the dictionary names */
    for (size_t i = 0; i < t->n_locals; i++)
        if (!find(t->codes, t->n_codes, t->locals[i].en)) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, t->locals[i].key, t->locals[i].line,
                                     "local name maps to LOINC %s, which has no term line", t->locals[i].en);
            goto fail;
        }
    *out = t;
    return MMDX_OK;
fail:
    mmdx_terms_free(t);
    return rc;
}

#ifndef MMDX_TERMS_PLUGIN
int mmdx_terms_load(const char *path, mmdx_terms_t **out, mmdx_error_t *err)
{
    mmdx_terms_alloc_t a = {mmdx_malloc, mmdx_realloc, mmdx_free};
    return mmdx_terms_load_with(path, &a, out, err);
}
#endif

size_t mmdx_terms_n_codes(const mmdx_terms_t *t)
{
    return t ? t->n_codes : 0;
}

size_t mmdx_terms_n_local(const mmdx_terms_t *t)
{
    return t ? t->n_locals : 0;
}

static const char *pick(const term_entry_t *e, const char *lang)
{
    if (!e)
        return NULL;
    if (!lang || strcmp(lang, "en") == 0)
        return e->en;
    if (strcmp(lang, "ko") == 0)
        return e->ko;
    return NULL;
}

const char *mmdx_terms_display(const mmdx_terms_t *t, const char *loinc, const char *lang)
{
    if (!t || !loinc)
        return NULL;
    return pick(find(t->codes, t->n_codes, loinc), lang);
}

const char *mmdx_terms_feature_display(const mmdx_terms_t *t, const char *id, const char *lang)
{
    if (!t || !id)
        return NULL;
    if (strncmp(id, "lab:loinc:", 10) == 0)
        return mmdx_terms_display(t, id + 10, lang);
    return pick(find(t->features, t->n_features, id), lang);
}

const char *mmdx_terms_local_to_loinc(const mmdx_terms_t *t, const char *local)
{
    char key[256];
    if (!t || !local || strlen(local) >= sizeof key)
        return NULL;
    strcpy(key, local);
    const term_entry_t *e = find(t->locals, t->n_locals, fold(key));
    return e ? e->en : NULL;
}
