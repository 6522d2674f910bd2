/* The unit table (data/units.tsv): each known analyte's canonical UCUM unit and the
 * conversions into it. Format and sources: docs/formats/labs.md, data/README-labs.md.
 *
 *   canon  LOINC      canonical-unit  1       0       note
 *   conv   LOINC      from-unit       factor  offset  note   (analyte-specific, e.g. molar mass)
 *   scale  canonical  from-unit       factor  offset  note   (any analyte with that canonical unit)
 *   alias  spelling   UCUM-unit       -       -       note   (e.g. x10*9/L -> 10*9/L)
 *
 * value_in_canonical = value * factor + offset. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hl7.h"

typedef struct unit_row {
    const char *key;  /* LOINC (canon, conv), canonical unit (scale) or spelling (alias) */
    const char *unit; /* canonical (canon), from-unit (conv, scale), UCUM unit (alias) */
    double factor, offset;
} unit_row_t;

struct hl7_units {
    const mmdx_host_t *host;
    char *buf;
    unit_row_t *rows[5]; /* canon, conv, scale, alias, range */
    size_t n[5], cap[5];
};

enum { K_CANON, K_CONV, K_SCALE, K_ALIAS, K_RANGE, K_KINDS };

static int ascii_casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z')
            ca += 'a' - 'A';
        if (cb >= 'A' && cb <= 'Z')
            cb += 'a' - 'A';
        if (ca != cb || !ca)
            return ca - cb;
    }
}

static int row_cmp(const void *a, const void *b)
{
    const unit_row_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->unit, y->unit);
}

static int key_cmp(const void *k, const void *r)
{
    return strcmp((const char *)k, ((const unit_row_t *)r)->key);
}

/* First row with @p key in a sorted table, and the number of rows sharing it. */
static const unit_row_t *range(const hl7_units_t *u, int kind, const char *key, size_t *count)
{
    *count = 0;
    if (!u->n[kind])
        return NULL;
    const unit_row_t *v = u->rows[kind];
    const unit_row_t *hit = bsearch(key, v, u->n[kind], sizeof *v, key_cmp);
    if (!hit)
        return NULL;
    while (hit > v && strcmp(hit[-1].key, key) == 0)
        hit--;
    const unit_row_t *end = hit;
    while (end < v + u->n[kind] && strcmp(end->key, key) == 0)
        end++;
    *count = (size_t)(end - hit);
    return hit;
}

void mmdx_hl7_units_free(hl7_units_t *u)
{
    if (!u)
        return;
    for (int k = 0; k < K_KINDS; k++)
        u->host->free(u->rows[k]);
    u->host->free(u->buf);
    u->host->free(u);
}

static int parse_double(const char *s, double *out)
{
    char *end;
    if (!*s)
        return -1;
    errno = 0;
    *out = strtod(s, &end);
    return (*end || errno || !isfinite(*out)) ? -1 : 0;
}

int mmdx_hl7_units_load(const mmdx_host_t *host, const char *path, hl7_units_t **out, mmdx_error_t *err)
{
    *out = NULL;
    hl7_units_t *u = host->malloc(sizeof *u);
    if (!u)
        return MMDX_ENOMEM;
    memset(u, 0, sizeof *u);
    u->host = host;
    int rc = MMDX_OK;
    FILE *f = fopen(path, "rb");
    if (!f) {
        rc = mmdx_modality_error(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, path, "", 0,
                                 "cannot open the unit table: %s", strerror(errno));
        goto fail;
    }
    size_t cap = 1 << 16, n = 0;
    u->buf = host->malloc(cap);
    while (u->buf) {
        if (n + 1 >= cap) {
            char *nb = cap < (8u << 20) ? host->realloc(u->buf, cap * 2) : NULL;
            if (!nb) {
                fclose(f);
                rc = cap < (8u << 20) ? MMDX_ENOMEM
                                      : mmdx_modality_error(err, MMDX_ESECURITY, path, "", 0, "unit table too large");
                goto fail;
            }
            u->buf = nb;
            cap *= 2;
        }
        size_t k = fread(u->buf + n, 1, cap - 1 - n, f);
        n += k;
        if (!k)
            break;
    }
    int ioerr = ferror(f);
    fclose(f);
    if (!u->buf) {
        rc = MMDX_ENOMEM;
        goto fail;
    }
    if (ioerr) {
        rc = mmdx_modality_error(err, MMDX_EIO, path, "", 0, "read error");
        goto fail;
    }
    u->buf[n] = '\0';
    long lineno = 0;
    for (char *line = u->buf, *next; line && *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        lineno++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (!len || line[0] == '#')
            continue;
        char *fld[6];
        int nf = 0;
        fld[nf++] = line;
        for (char *p = line; *p && nf < 6; p++)
            if (*p == '\t') {
                *p = '\0';
                fld[nf++] = p + 1;
            }
        int kind = strcmp(fld[0], "canon") == 0   ? K_CANON
                   : strcmp(fld[0], "conv") == 0  ? K_CONV
                   : strcmp(fld[0], "scale") == 0 ? K_SCALE
                   : strcmp(fld[0], "alias") == 0 ? K_ALIAS
                   : strcmp(fld[0], "range") == 0 ? K_RANGE
                                                  : -1;
        if (kind < 0 || nf != 6 || !*fld[1] || !*fld[2]) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, fld[0], lineno,
                                     "expected 6 tab-separated fields: kind (canon, conv, scale, alias), key, unit, "
                                     "factor, offset, note");
            goto fail;
        }
        unit_row_t row = {fld[1], fld[2], 1.0, 0.0};
        if (kind != K_ALIAS && (parse_double(fld[3], &row.factor) || parse_double(fld[4], &row.offset) ||
                                (row.factor == 0.0 && kind != K_RANGE))) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, fld[1], lineno,
                                     "factor '%s' or offset '%s' is not a finite number (factor must not be 0)", fld[3],
                                     fld[4]);
            goto fail;
        }
        if (kind == K_RANGE && !(row.factor < row.offset)) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, fld[1], lineno,
                                     "a range line needs minimum < maximum (got %s, %s)", fld[3], fld[4]);
            goto fail;
        }
        if (u->n[kind] == u->cap[kind]) {
            size_t nc = u->cap[kind] ? u->cap[kind] * 2 : 128;
            unit_row_t *nv = host->realloc(u->rows[kind], nc * sizeof *nv);
            if (!nv) {
                rc = MMDX_ENOMEM;
                goto fail;
            }
            u->rows[kind] = nv;
            u->cap[kind] = nc;
        }
        u->rows[kind][u->n[kind]++] = row;
    }
    for (int k = 0; k < K_KINDS; k++) {
        if (u->n[k])
            qsort(u->rows[k], u->n[k], sizeof(unit_row_t), row_cmp);
        for (size_t i = 1; i < u->n[k]; i++) {
            const unit_row_t *a = &u->rows[k][i - 1], *b = &u->rows[k][i];
            if (strcmp(a->key, b->key) == 0 && (k == K_CANON || k == K_ALIAS || k == K_RANGE || strcmp(a->unit, b->unit) == 0)) {
                rc = mmdx_modality_error(err, MMDX_EDUP, path, b->key, 0, "'%s' is listed twice in the unit table",
                                         b->key);
                goto fail;
            }
        }
    }
    /* a range is in the canonical unit of its code */
    for (size_t i = 0; i < u->n[K_RANGE]; i++) {
        const char *c = mmdx_hl7_units_canonical(u, u->rows[K_RANGE][i].key);
        if (!c || strcmp(c, u->rows[K_RANGE][i].unit) != 0) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, u->rows[K_RANGE][i].key, 0,
                                     "range for %s must be given in its canonical unit (%s)", u->rows[K_RANGE][i].key,
                                     c ? c : "none: no canon line");
            goto fail;
        }
    }
    /* every conversion must target a code that has a canonical unit */
    for (size_t i = 0; i < u->n[K_CONV]; i++) {
        size_t c;
        if (!range(u, K_CANON, u->rows[K_CONV][i].key, &c)) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, u->rows[K_CONV][i].key, 0,
                                     "conversion for %s, which has no canon line", u->rows[K_CONV][i].key);
            goto fail;
        }
    }
    *out = u;
    return MMDX_OK;
fail:
    mmdx_hl7_units_free(u);
    return rc;
}

int mmdx_hl7_units_range(const hl7_units_t *u, const char *loinc, double *min, double *max)
{
    size_t c;
    const unit_row_t *r = u ? range(u, K_RANGE, loinc, &c) : NULL;
    if (!r)
        return 0;
    *min = r->factor;
    *max = r->offset;
    return 1;
}

size_t mmdx_hl7_units_count(const hl7_units_t *u)
{
    return u ? u->n[K_CANON] : 0;
}

const char *mmdx_hl7_units_canonical(const hl7_units_t *u, const char *loinc)
{
    size_t c;
    const unit_row_t *r = u ? range(u, K_CANON, loinc, &c) : NULL;
    return r ? r->unit : NULL;
}

static const unit_row_t *find_unit(const unit_row_t *r, size_t n, const char *unit)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i].unit, unit) == 0)
            return &r[i];
    for (size_t i = 0; i < n; i++)
        if (ascii_casecmp(r[i].unit, unit) == 0)
            return &r[i];
    return NULL;
}

/* Units that mean "no unit" for dimensionless canonical units. */
static int is_unitless(const char *u)
{
    return strcmp(u, "1") == 0 || u[0] == '{' || strcmp(u, "[pH]") == 0;
}

int mmdx_hl7_units_resolve(const hl7_units_t *u, const char *loinc, const char *unit, const char **canon, double *factor,
                      double *offset, char *why, size_t why_size)
{
    const char *c = mmdx_hl7_units_canonical(u, loinc);
    *canon = c;
    *factor = 1.0;
    *offset = 0.0;
    if (!c)
        return MMDX_ENOTFOUND;
    if (!unit || !*unit) {
        if (is_unitless(c))
            return MMDX_OK;
        snprintf(why, why_size, "no unit given; expected %s", c);
        return MMDX_EUNIT;
    }
    if (strcmp(unit, c) == 0)
        return MMDX_OK;
    /* spelling variants first (x10*9/L, mcg/dL, mL/min/1.73m2, ...) */
    const char *uu = unit;
    for (size_t i = 0; i < u->n[K_ALIAS]; i++)
        if (ascii_casecmp(u->rows[K_ALIAS][i].key, unit) == 0) {
            uu = u->rows[K_ALIAS][i].unit;
            break;
        }
    if (strcmp(uu, c) == 0 || (ascii_casecmp(uu, c) == 0 && !is_unitless(c)))
        return MMDX_OK;
    size_t n;
    const unit_row_t *r = range(u, K_CONV, loinc, &n);
    const unit_row_t *hit = r ? find_unit(r, n, uu) : NULL;
    if (!hit) {
        r = range(u, K_SCALE, c, &n);
        hit = r ? find_unit(r, n, uu) : NULL;
    }
    if (!hit) {
        snprintf(why, why_size, "unit '%s' cannot be converted to %s (the canonical unit of LOINC %s)", unit, c, loinc);
        return MMDX_EUNIT;
    }
    *factor = hit->factor;
    *offset = hit->offset;
    return MMDX_OK;
}

int mmdx_hl7_units_convert(const hl7_units_t *u, const char *loinc, const char *unit, double *value, const char **canon,
                      char *why, size_t why_size)
{
    double f, o;
    int rc = mmdx_hl7_units_resolve(u, loinc, unit, canon, &f, &o, why, why_size);
    if (rc == MMDX_OK)
        *value = *value * f + o;
    return rc;
}
