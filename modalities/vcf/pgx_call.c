/* Pharmacogenomic calling: diplotype and phenotype per gene and sample from the project's
 * tables in data/pgx (docs/pgx.md). Research use; not a clinical PGx test. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vcf_internal.h"

#define MAX_CODES 16    /* allele codes a definition cell can name (bit mask width) */
#define MAX_UNITS 16    /* phase units enumerated per gene (2^15 phasings at most) */
#define MAX_POS 1024    /* defining positions per gene */

typedef struct pgx_allele {
    char *name;
    int reference;
    uint16_t *accept; /* [n_pos] bit k set: site allele code k is accepted */
    int n_defined;    /* cells in the definition (0 for positions left to the reference) */
    uint8_t *defined; /* [n_pos] 1 where the definition states an allele */
    int rank;         /* natural-sort rank of the name */
} pgx_allele_t;

typedef struct pgx_dip {
    int a, b; /* allele indices, a.rank <= b.rank */
    char *phenotype, *activity;
} pgx_dip_t;

typedef struct pgx_gene {
    char *name, *chrom;
    size_t n_pos, cap_pos;
    int64_t *pos;
    char **ref, **alts; /* alts: comma-separated as in the table */
    size_t *site;       /* index into the source's sites */
    pgx_allele_t *al;
    size_t n_al, cap_al;
    pgx_dip_t *dip;
    size_t n_dip, cap_dip;
    size_t words;   /* 64-bit words of an allele set */
    uint64_t *acc;  /* [n_pos][MAX_CODES][words]: alleles accepting code c at position p */
    int *dipidx;    /* [n_al][n_al]: index into dip of the diplotype of alleles x and y, or -1 */
} pgx_gene_t;

struct pgx_tables {
    vcf_alloc_t a;
    pgx_gene_t *genes;
    size_t n_genes, cap_genes;
    char version[256];
    /* per-call workspace */
    int8_t *c0, *c1;
    uint8_t *miss, *ph;
    int *m1, *m2, *score;
    size_t *var;
    uint64_t *base, *set1, *set2;
    size_t ws_pos, ws_al;
    struct cand {
        int a, b, score;
    } *cand;
    size_t n_cand, cap_cand;
};

/* ---------------------------------------------------------------- helpers */

static int grow(const vcf_alloc_t *a, void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    void *q = a->realloc(*p, nc * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = nc;
    return 0;
}

/* "*2" < "*10" < "*10A": digit runs compare by value. */
static int natural_cmp(const char *x, const char *y)
{
    while (*x && *y) {
        if (isdigit((unsigned char)*x) && isdigit((unsigned char)*y)) {
            char *ex, *ey;
            unsigned long vx = strtoul(x, &ex, 10), vy = strtoul(y, &ey, 10);
            if (vx != vy)
                return vx < vy ? -1 : 1;
            x = ex;
            y = ey;
            continue;
        }
        if (*x != *y)
            return (unsigned char)*x < (unsigned char)*y ? -1 : 1;
        x++;
        y++;
    }
    return *x ? 1 : *y ? -1 : 0;
}

static pgx_gene_t *find_gene(pgx_tables_t *t, const char *name)
{
    for (size_t i = 0; i < t->n_genes; i++)
        if (!strcmp(t->genes[i].name, name))
            return &t->genes[i];
    return NULL;
}

static int find_allele(const pgx_gene_t *g, const char *name)
{
    for (size_t i = 0; i < g->n_al; i++)
        if (!strcmp(g->al[i].name, name))
            return (int)i;
    return -1;
}

/* Read a TSV table: checks the header, calls @p row for every data line. */
typedef int (*row_fn)(pgx_tables_t *t, char **f, const char *path, long line, mmdx_error_t *err);

static int read_table(pgx_tables_t *t, const char *dir, const char *name, const char *header, int nf, row_fn row,
                      mmdx_error_t *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return mmdx_modality_error(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, path, "pgx", 0,
                                   "cannot open PGx table: %s", strerror(errno));
    char *buf = NULL;
    size_t cap = 0;
    long line = 0;
    int rc = MMDX_OK;
    ssize_t len;
    while ((len = getline(&buf, &cap, f)) >= 0) {
        line++;
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        if (line == 1) {
            if (strcmp(buf, header) != 0) {
                rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "header", 1, "unexpected header (expected '%s')", header);
                break;
            }
            continue;
        }
        if (len == 0)
            continue;
        char *fld[8];
        int n = 0;
        char *p = buf;
        while (n < nf) {
            fld[n++] = p;
            p = strchr(p, '\t');
            if (!p)
                break;
            *p++ = '\0';
        }
        if (n != nf || p) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "", line, "expected %d tab-separated fields", nf);
            break;
        }
        if ((rc = row(t, fld, path, line, err)) != MMDX_OK)
            break;
    }
    free(buf);
    fclose(f);
    return rc;
}

/* ---------------------------------------------------------------- table rows */

static int row_source(pgx_tables_t *t, char **f, const char *path, long line, mmdx_error_t *err)
{
    (void)path;
    (void)line;
    (void)err;
    if (!t->version[0])
        snprintf(t->version, sizeof t->version, "%s %s (%s)", f[3], f[4], f[5]);
    return MMDX_OK;
}

static int row_position(pgx_tables_t *t, char **f, const char *path, long line, mmdx_error_t *err)
{
    const vcf_alloc_t *a = &t->a;
    pgx_gene_t *g = find_gene(t, f[0]);
    if (!g) {
        if (grow(a, (void **)&t->genes, &t->cap_genes, t->n_genes + 1, sizeof *t->genes) < 0)
            goto nomem;
        g = &t->genes[t->n_genes++];
        memset(g, 0, sizeof *g);
        g->name = vcf_strdup(a, f[0]);
        g->chrom = vcf_strdup(a, f[1]);
        if (!g->name || !g->chrom)
            goto nomem;
    }
    char *end;
    long long pos = strtoll(f[2], &end, 10);
    if (*end || pos < 1)
        return mmdx_modality_error(err, MMDX_EFORMAT, path, f[0], line, "bad position '%s'", f[2]);
    size_t cap = g->cap_pos;
    if (grow(a, (void **)&g->pos, &cap, g->n_pos + 1, sizeof *g->pos) < 0)
        goto nomem;
    cap = g->cap_pos;
    if (grow(a, (void **)&g->ref, &cap, g->n_pos + 1, sizeof *g->ref) < 0)
        goto nomem;
    cap = g->cap_pos;
    if (grow(a, (void **)&g->alts, &cap, g->n_pos + 1, sizeof *g->alts) < 0)
        goto nomem;
    cap = g->cap_pos;
    if (grow(a, (void **)&g->site, &cap, g->n_pos + 1, sizeof *g->site) < 0)
        goto nomem;
    g->cap_pos = cap;
    g->pos[g->n_pos] = pos;
    g->ref[g->n_pos] = vcf_strdup(a, f[4]);
    g->alts[g->n_pos] = vcf_strdup(a, f[5]);
    g->site[g->n_pos] = 0;
    g->n_pos++;
    if (!g->ref[g->n_pos - 1] || !g->alts[g->n_pos - 1])
        goto nomem;
    return MMDX_OK;
nomem:
    return mmdx_modality_error(err, MMDX_ENOMEM, path, f[0], line, "out of memory");
}

/* Code of allele @p s at position @p p of gene @p g: 0 REF, 1.. ALTs in table order, -1 none. */
static int allele_code(const pgx_gene_t *g, size_t p, const char *s, size_t len)
{
    if (strlen(g->ref[p]) == len && !strncmp(g->ref[p], s, len))
        return 0;
    int k = 1;
    for (const char *q = g->alts[p]; *q; k++) {
        const char *e = strchr(q, ',');
        size_t l = e ? (size_t)(e - q) : strlen(q);
        if (l == len && !strncmp(q, s, len))
            return k;
        if (!e)
            break;
        q = e + 1;
    }
    return -1;
}

static int row_allele(pgx_tables_t *t, char **f, const char *path, long line, mmdx_error_t *err)
{
    const vcf_alloc_t *a = &t->a;
    pgx_gene_t *g = find_gene(t, f[0]);
    if (!g)
        return mmdx_modality_error(err, MMDX_EFORMAT, path, f[0], line, "gene has no positions in pgx_positions.tsv");
    if (grow(a, (void **)&g->al, &g->cap_al, g->n_al + 1, sizeof *g->al) < 0)
        goto nomem;
    pgx_allele_t *al = &g->al[g->n_al];
    memset(al, 0, sizeof *al);
    al->name = vcf_strdup(a, f[1]);
    al->reference = !strcmp(f[2], "1");
    al->accept = a->malloc((g->n_pos ? g->n_pos : 1) * sizeof *al->accept);
    al->defined = a->malloc(g->n_pos ? g->n_pos : 1);
    g->n_al++;
    if (!al->name || !al->accept || !al->defined)
        goto nomem;
    for (size_t p = 0; p < g->n_pos; p++) {
        al->accept[p] = 1; /* not in the definition: the reference allele is implied */
        al->defined[p] = 0;
    }
    if (!strcmp(f[5], "."))
        return MMDX_OK;
    for (char *cell = f[5]; cell && *cell;) {
        char *next = strchr(cell, ';');
        if (next)
            *next++ = '\0';
        char *eq = strchr(cell, '=');
        char *end;
        long long pos = eq ? strtoll(cell, &end, 10) : 0;
        if (!eq || end != eq)
            return mmdx_modality_error(err, MMDX_EFORMAT, path, f[1], line, "definition cell '%s' is not POS=ALLELES", cell);
        size_t p = 0;
        while (p < g->n_pos && g->pos[p] != pos)
            p++;
        if (p == g->n_pos)
            return mmdx_modality_error(err, MMDX_EFORMAT, path, f[1], line, "position %lld is not a %s position", pos, f[0]);
        uint16_t mask = 0;
        for (char *s = eq + 1; *s;) {
            char *e = strchr(s, '/');
            size_t l = e ? (size_t)(e - s) : strlen(s);
            int c = allele_code(g, p, s, l);
            if (c >= 0 && c < MAX_CODES)
                mask |= (uint16_t)(1u << c);
            if (!e)
                break;
            s = e + 1;
        }
        if (!mask)
            return mmdx_modality_error(err, MMDX_EFORMAT, path, f[1], line, "allele '%s' at %lld is neither REF nor an ALT",
                                       eq + 1, pos);
        al->accept[p] = mask;
        al->defined[p] = 1;
        al->n_defined++;
        cell = next;
    }
    return MMDX_OK;
nomem:
    return mmdx_modality_error(err, MMDX_ENOMEM, path, f[1], line, "out of memory");
}

static int row_diplotype(pgx_tables_t *t, char **f, const char *path, long line, mmdx_error_t *err)
{
    const vcf_alloc_t *a = &t->a;
    pgx_gene_t *g = find_gene(t, f[0]);
    if (!g)
        return mmdx_modality_error(err, MMDX_EFORMAT, path, f[0], line, "gene has no positions in pgx_positions.tsv");
    int x = find_allele(g, f[1]), y = find_allele(g, f[2]);
    if (x < 0 || y < 0)
        return MMDX_OK; /* an allele the definitions cannot call (e.g. structural) */
    if (grow(a, (void **)&g->dip, &g->cap_dip, g->n_dip + 1, sizeof *g->dip) < 0)
        goto nomem;
    pgx_dip_t *d = &g->dip[g->n_dip];
    d->a = x;
    d->b = y;
    d->phenotype = vcf_strdup(a, f[3]);
    d->activity = vcf_strdup(a, strcmp(f[4], ".") ? f[4] : "");
    g->n_dip++;
    if (!d->phenotype || !d->activity)
        goto nomem;
    return MMDX_OK;
nomem:
    return mmdx_modality_error(err, MMDX_ENOMEM, path, f[0], line, "out of memory");
}

/* ---------------------------------------------------------------- load / free */

void pgx_tables_free(pgx_tables_t *t)
{
    if (!t)
        return;
    const vcf_alloc_t *a = &t->a;
    for (size_t i = 0; i < t->n_genes; i++) {
        pgx_gene_t *g = &t->genes[i];
        for (size_t p = 0; p < g->n_pos; p++) {
            a->free(g->ref[p]);
            a->free(g->alts[p]);
        }
        a->free(g->pos);
        a->free(g->ref);
        a->free(g->alts);
        a->free(g->site);
        for (size_t k = 0; k < g->n_al; k++) {
            a->free(g->al[k].name);
            a->free(g->al[k].accept);
            a->free(g->al[k].defined);
        }
        a->free(g->al);
        for (size_t k = 0; k < g->n_dip; k++) {
            a->free(g->dip[k].phenotype);
            a->free(g->dip[k].activity);
        }
        a->free(g->dip);
        a->free(g->dipidx);
        a->free(g->acc);
        a->free(g->name);
        a->free(g->chrom);
    }
    a->free(t->genes);
    a->free(t->c0);
    a->free(t->c1);
    a->free(t->miss);
    a->free(t->ph);
    a->free(t->m1);
    a->free(t->m2);
    a->free(t->score);
    a->free(t->var);
    a->free(t->base);
    a->free(t->set1);
    a->free(t->set2);
    a->free(t->cand);
    a->free(t);
}

int pgx_tables_load(const vcf_alloc_t *a, const char *dir, pgx_tables_t **out, mmdx_error_t *err)
{
    pgx_tables_t *t = a->malloc(sizeof *t);
    if (!t)
        return mmdx_modality_error(err, MMDX_ENOMEM, dir, "pgx", 0, "out of memory");
    memset(t, 0, sizeof *t);
    t->a = *a;
    int rc = read_table(t, dir, "pgx_sources.tsv",
                        "gene\tchrom\tbuild\tsource\tdefinition_version\tdefinition_date\tphenotype_version", 7,
                        row_source, err);
    if (rc == MMDX_OK)
        rc = read_table(t, dir, "pgx_positions.tsv", "gene\tchrom\tpos\trsid\tref\talts", 6, row_position, err);
    if (rc == MMDX_OK)
        rc = read_table(t, dir, "pgx_alleles.tsv", "gene\tallele\treference\tfunction\tactivity_value\tdefinition", 6,
                        row_allele, err);
    if (rc == MMDX_OK)
        rc = read_table(t, dir, "pgx_diplotypes.tsv", "gene\tallele1\tallele2\tphenotype\tactivity_score", 5,
                        row_diplotype, err);
    if (rc != MMDX_OK) {
        pgx_tables_free(t);
        return rc;
    }
    size_t maxp = 1, maxa = 1;
    for (size_t i = 0; i < t->n_genes; i++) {
        pgx_gene_t *g = &t->genes[i];
        if (g->n_pos > MAX_POS) {
            mmdx_modality_error(err, MMDX_ERANGE, dir, g->name, 0, "more than %d positions in one gene", MAX_POS);
            pgx_tables_free(t);
            return MMDX_ERANGE;
        }
        if (g->n_al == 0) {
            mmdx_modality_error(err, MMDX_EFORMAT, dir, g->name, 0, "gene has no allele definitions");
            pgx_tables_free(t);
            return MMDX_EFORMAT;
        }
        g->words = (g->n_al + 63) / 64;
        g->acc = a->malloc((g->n_pos ? g->n_pos : 1) * MAX_CODES * g->words * sizeof *g->acc);
        if (!g->acc) {
            pgx_tables_free(t);
            return mmdx_modality_error(err, MMDX_ENOMEM, dir, "pgx", 0, "out of memory");
        }
        memset(g->acc, 0, (g->n_pos ? g->n_pos : 1) * MAX_CODES * g->words * sizeof *g->acc);
        for (size_t p = 0; p < g->n_pos; p++)
            for (size_t k = 0; k < g->n_al; k++)
                for (int c = 0; c < MAX_CODES; c++)
                    if (g->al[k].accept[p] & (1u << c))
                        g->acc[(p * MAX_CODES + (size_t)c) * g->words + k / 64] |= 1ull << (k % 64);
        for (size_t k = 0; k < g->n_al; k++) {
            int r = 0;
            for (size_t m = 0; m < g->n_al; m++)
                r += natural_cmp(g->al[m].name, g->al[k].name) < 0;
            g->al[k].rank = r;
        }
        for (size_t k = 0; k < g->n_dip; k++)
            if (g->al[g->dip[k].a].rank > g->al[g->dip[k].b].rank) {
                int tmp = g->dip[k].a;
                g->dip[k].a = g->dip[k].b;
                g->dip[k].b = tmp;
            }
        /* every admissible diplotype's phenotype is looked up per call: index them */
        g->dipidx = a->malloc(g->n_al * g->n_al * sizeof *g->dipidx);
        if (!g->dipidx) {
            pgx_tables_free(t);
            return mmdx_modality_error(err, MMDX_ENOMEM, dir, "pgx", 0, "out of memory");
        }
        for (size_t k = 0; k < g->n_al * g->n_al; k++)
            g->dipidx[k] = -1;
        for (size_t k = g->n_dip; k-- > 0;) { /* the first row of a pair wins, as before */
            g->dipidx[(size_t)g->dip[k].a * g->n_al + (size_t)g->dip[k].b] = (int)k;
            g->dipidx[(size_t)g->dip[k].b * g->n_al + (size_t)g->dip[k].a] = (int)k;
        }
        if (g->n_pos > maxp)
            maxp = g->n_pos;
        if (g->n_al > maxa)
            maxa = g->n_al;
    }
    t->ws_pos = maxp;
    t->ws_al = maxa;
    t->c0 = a->malloc(maxp);
    t->c1 = a->malloc(maxp);
    t->miss = a->malloc(maxp);
    t->ph = a->malloc(maxp);
    t->m1 = a->malloc(maxa * sizeof *t->m1);
    t->m2 = a->malloc(maxa * sizeof *t->m2);
    t->score = a->malloc(maxa * sizeof *t->score);
    t->var = a->malloc(maxp * sizeof *t->var);
    size_t words = (maxa + 63) / 64;
    t->base = a->malloc(words * sizeof *t->base);
    t->set1 = a->malloc(words * sizeof *t->set1);
    t->set2 = a->malloc(words * sizeof *t->set2);
    if (!t->c0 || !t->c1 || !t->miss || !t->ph || !t->m1 || !t->m2 || !t->score || !t->var || !t->base || !t->set1 ||
        !t->set2) {
        pgx_tables_free(t);
        return mmdx_modality_error(err, MMDX_ENOMEM, dir, "pgx", 0, "out of memory");
    }
    *out = t;
    return MMDX_OK;
}

const char *pgx_tables_version(const pgx_tables_t *t)
{
    return t->version[0] ? t->version : "unknown";
}

size_t pgx_tables_n_genes(const pgx_tables_t *t)
{
    return t->n_genes;
}

int pgx_tables_add_sites(pgx_tables_t *t, vcf_site_t **sites, size_t *n_sites, size_t *cap, mmdx_error_t *err)
{
    const vcf_alloc_t *a = &t->a;
    for (size_t gi = 0; gi < t->n_genes; gi++) {
        pgx_gene_t *g = &t->genes[gi];
        for (size_t p = 0; p < g->n_pos; p++) {
            if (grow(a, (void **)sites, cap, *n_sites + 1, sizeof **sites) < 0)
                goto nomem;
            vcf_site_t *s = &(*sites)[*n_sites];
            memset(s, 0, sizeof *s);
            s->prio = -1;
            char key[64];
            vcf_chrom_key(g->chrom, key, sizeof key);
            int na = 1;
            for (const char *q = g->alts[p]; *q; q++)
                na += *q == ',';
            if (strcmp(g->alts[p], ".") == 0)
                na = 0;
            s->chrom_key = vcf_strdup(a, key);
            s->chrom = vcf_strdup(a, g->chrom);
            s->alleles = a->malloc((size_t)(na + 1) * sizeof *s->alleles);
            g->site[p] = (*n_sites)++;
            if (!s->chrom_key || !s->chrom || !s->alleles)
                goto nomem;
            s->pos = g->pos[p];
            s->alleles[0] = vcf_strdup(a, g->ref[p]);
            s->n_alleles = 1;
            if (!s->alleles[0])
                goto nomem;
            const char *q = g->alts[p];
            for (int k = 0; k < na; k++) {
                const char *e = strchr(q, ',');
                size_t l = e ? (size_t)(e - q) : strlen(q);
                char *al = a->malloc(l + 1);
                if (!al)
                    goto nomem;
                memcpy(al, q, l);
                al[l] = '\0';
                s->alleles[s->n_alleles++] = al;
                q = e ? e + 1 : q + l;
            }
        }
    }
    return MMDX_OK;
nomem:
    return mmdx_modality_error(err, MMDX_ENOMEM, "", "pgx", 0, "out of memory");
}

void pgx_tables_remap_sites(pgx_tables_t *t, const size_t *perm)
{
    for (size_t gi = 0; gi < t->n_genes; gi++)
        for (size_t p = 0; p < t->genes[gi].n_pos; p++)
            t->genes[gi].site[p] = perm[t->genes[gi].site[p]];
}

/* ---------------------------------------------------------------- calling */

/* Intersect @p set with the alleles accepting code @p c at position @p p. */
static void restrict_set(const pgx_gene_t *g, uint64_t *set, size_t p, int c)
{
    if (c < 0 || c >= MAX_CODES) {
        memset(set, 0, g->words * sizeof *set);
        return;
    }
    const uint64_t *acc = g->acc + (p * MAX_CODES + (size_t)c) * g->words;
    for (size_t w = 0; w < g->words; w++)
        set[w] &= acc[w];
}

/* Named alleles in @p set (those whose definition agrees with a haplotype at every called
 * position) as a list of indices. */
static size_t set_to_list(const pgx_gene_t *g, const uint64_t *set, int *out)
{
    size_t n = 0;
    for (size_t k = 0; k < g->n_al; k++)
        if (set[k / 64] >> (k % 64) & 1)
            out[n++] = (int)k;
    return n;
}

static int allele_score(const pgx_gene_t *g, int k, const uint8_t *miss)
{
    if (k < 0)
        return 0;
    const pgx_allele_t *al = &g->al[k];
    int s = 0;
    for (size_t p = 0; p < g->n_pos; p++)
        s += al->reference ? !miss[p] : (al->defined[p] && !miss[p]);
    return s;
}

static int add_cand(pgx_tables_t *t, const pgx_gene_t *g, int x, int y, int score)
{
    /* order: known before Unknown (-1), then natural rank */
    if (y >= 0 && (x < 0 || g->al[x].rank > g->al[y].rank)) {
        int tmp = x;
        x = y;
        y = tmp;
    }
    for (size_t i = 0; i < t->n_cand; i++)
        if (t->cand[i].a == x && t->cand[i].b == y)
            return 0;
    if (grow(&t->a, (void **)&t->cand, &t->cap_cand, t->n_cand + 1, sizeof *t->cand) < 0)
        return -1;
    t->cand[t->n_cand].a = x;
    t->cand[t->n_cand].b = y;
    t->cand[t->n_cand].score = score;
    t->n_cand++;
    return 0;
}

static const pgx_dip_t *lookup(const pgx_gene_t *g, int x, int y)
{
    if (x < 0 || y < 0)
        return NULL;
    int k = g->dipidx[(size_t)x * g->n_al + (size_t)y];
    return k >= 0 ? &g->dip[k] : NULL;
}

static void dip_name(const pgx_gene_t *g, int x, int y, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", x >= 0 ? g->al[x].name : "Unknown", y >= 0 ? g->al[y].name : "Unknown");
}

static int cand_cmp(const pgx_gene_t *g, const struct cand *p, const struct cand *q)
{
    if (p->score != q->score)
        return p->score > q->score ? -1 : 1;
    int pa = p->a >= 0 ? g->al[p->a].rank : 1 << 30, qa = q->a >= 0 ? g->al[q->a].rank : 1 << 30;
    if (pa != qa)
        return pa < qa ? -1 : 1;
    int pb = p->b >= 0 ? g->al[p->b].rank : 1 << 30, qb = q->b >= 0 ? g->al[q->b].rank : 1 << 30;
    return pb < qb ? -1 : pb > qb;
}

static void append(char *buf, size_t size, const char *sep, const char *item)
{
    size_t l = strlen(buf);
    if (l + strlen(sep) + strlen(item) + 4 >= size) {
        if (l + 4 < size && strcmp(buf + (l >= 3 ? l - 3 : 0), "...") != 0)
            strcat(buf, "...");
        return;
    }
    if (l)
        strcat(buf, sep);
    strcat(buf, item);
}

int pgx_call_gene(pgx_tables_t *t, size_t gi, const int8_t *grid, size_t n_samples, size_t sample,
                  const uint8_t *phased, const int32_t *ps, const vcf_site_t *sites, pgx_result_t *res)
{
    const pgx_gene_t *g = &t->genes[gi];
    size_t n = g->n_pos;
    memset(res, 0, sizeof *res);
    res->gene = g->name;
    res->certainty = "none";
    int8_t *c0 = t->c0, *c1 = t->c1;
    uint8_t *miss = t->miss, *ph = t->ph;
    size_t n_called = 0;
    for (size_t p = 0; p < n; p++) {
        size_t si = g->site[p];
        const int8_t *c = grid + (si * n_samples + sample) * 2;
        c0[p] = c[0];
        c1[p] = c[1] == GT_END ? c[0] : c[1];
        ph[p] = phased[si * n_samples + sample];
        miss[p] = c0[p] == GT_MISSING || c0[p] == GT_NOCOVER || c1[p] == GT_MISSING || c1[p] == GT_NOCOVER;
        if (miss[p]) {
            char item[64];
            snprintf(item, sizeof item, "%s:%lld", sites[si].chrom, (long long)sites[si].pos);
            append(res->missing, sizeof res->missing, ",", item);
            res->n_missing++;
        } else
            n_called++;
    }
    if (n_called == 0) {
        snprintf(res->missing, sizeof res->missing, "all");
        snprintf(res->diplotype, sizeof res->diplotype, ".");
        snprintf(res->phenotype, sizeof res->phenotype, "Indeterminate");
        return MMDX_OK;
    }
    /* Phase units: the phased heterozygous positions of one phase set form one unit (their
     * orientation is known relative to each other); every unphased heterozygous position is
     * its own unit. */
    int unit_of[MAX_POS];
    int32_t set_id[MAX_POS];
    int set_unit[MAX_POS];
    int n_units = 0, n_sets = 0;
    for (size_t p = 0; p < n; p++) {
        unit_of[p] = -1;
        if (miss[p] || c0[p] == c1[p])
            continue;
        if (ph[p]) {
            int32_t id = ps ? ps[g->site[p] * n_samples + sample] : 0;
            int k = 0;
            while (k < n_sets && set_id[k] != id)
                k++;
            if (k == n_sets) {
                set_id[n_sets] = id;
                set_unit[n_sets++] = n_units++;
            }
            unit_of[p] = set_unit[k];
        } else
            unit_of[p] = n_units++;
    }
    if (n_units > MAX_UNITS) {
        snprintf(res->diplotype, sizeof res->diplotype, ".");
        snprintf(res->phenotype, sizeof res->phenotype, "Indeterminate");
        snprintf(res->ambiguity, sizeof res->ambiguity, "%d unphased heterozygous positions: too many phasings", n_units);
        return MMDX_OK;
    }
    t->n_cand = 0;
    for (size_t k = 0; k < g->n_al; k++)
        t->score[k] = allele_score(g, (int)k, miss);
    /* Homozygous positions constrain both haplotypes alike in every phasing: intersect
     * their allele sets once; each phasing then only adds its heterozygous positions. */
    for (size_t w = 0; w < g->words; w++)
        t->base[w] = ~0ull;
    size_t n_het = 0;
    for (size_t p = 0; p < n; p++) {
        if (miss[p])
            continue;
        if (c0[p] == c1[p])
            restrict_set(g, t->base, p, c0[p]);
        else
            t->var[n_het++] = p;
    }
    unsigned long n_assign = n_units > 0 ? 1ul << (n_units - 1) : 1;
    int any_full = 0;
    for (unsigned long m = 0; m < n_assign; m++) {
        memcpy(t->set1, t->base, g->words * sizeof *t->set1);
        memcpy(t->set2, t->base, g->words * sizeof *t->set2);
        for (size_t i = 0; i < n_het; i++) {
            size_t p = t->var[i];
            int flip = unit_of[p] > 0 && ((m >> (unit_of[p] - 1)) & 1);
            restrict_set(g, t->set1, p, flip ? c1[p] : c0[p]);
            restrict_set(g, t->set2, p, flip ? c0[p] : c1[p]);
        }
        size_t k1 = set_to_list(g, t->set1, t->m1);
        size_t k2 = set_to_list(g, t->set2, t->m2);
        if (k1 && k2) {
            any_full = 1;
            for (size_t i = 0; i < k1; i++)
                for (size_t j = 0; j < k2; j++)
                    if (add_cand(t, g, t->m1[i], t->m2[j], t->score[t->m1[i]] + t->score[t->m2[j]]) < 0)
                        return MMDX_ENOMEM;
        } else if (!any_full) {
            for (size_t i = 0; i < k1; i++)
                if (add_cand(t, g, t->m1[i], -1, t->score[t->m1[i]]) < 0)
                    return MMDX_ENOMEM;
            for (size_t j = 0; j < k2; j++)
                if (add_cand(t, g, -1, t->m2[j], t->score[t->m2[j]]) < 0)
                    return MMDX_ENOMEM;
            if (!k1 && !k2 && add_cand(t, g, -1, -1, 0) < 0)
                return MMDX_ENOMEM;
        }
    }
    /* keep only complete diplotypes when there is one */
    if (any_full) {
        size_t w = 0;
        for (size_t i = 0; i < t->n_cand; i++)
            if (t->cand[i].a >= 0 && t->cand[i].b >= 0)
                t->cand[w++] = t->cand[i];
        t->n_cand = w;
    }
    /* rank: most positions explained by the definitions first, then allele names */
    for (size_t i = 1; i < t->n_cand; i++) {
        struct cand c = t->cand[i];
        size_t j = i;
        while (j > 0 && cand_cmp(g, &c, &t->cand[j - 1]) < 0) {
            t->cand[j] = t->cand[j - 1];
            j--;
        }
        t->cand[j] = c;
    }
    const struct cand *best = &t->cand[0];
    dip_name(g, best->a, best->b, res->diplotype, sizeof res->diplotype);
    const pgx_dip_t *d = (best->a >= 0 && best->b >= 0) ? lookup(g, best->a, best->b) : NULL;
    for (size_t i = 1; i < t->n_cand; i++) {
        char name[256];
        dip_name(g, t->cand[i].a, t->cand[i].b, name, sizeof name);
        append(res->ambiguity, sizeof res->ambiguity, ";", name);
    }
    if (!any_full) {
        snprintf(res->phenotype, sizeof res->phenotype, "Indeterminate");
        res->certainty = "none";
        return MMDX_OK;
    }
    /* Every admissible diplotype counts, not only the top-scoring ones: the candidates already
     * cover every completion of the missing positions by a named allele (a missing position
     * accepts any allele), so a phenotype stated only when all of them agree cannot hide a
     * worse one (a no-function allele at an uncalled position, the other phasing of two
     * unphased heterozygous positions). A diplotype the table has no phenotype for counts as
     * "Indeterminate". */
    int n_pheno = 0;
    for (size_t i = 0; i < t->n_cand; i++) {
        const pgx_dip_t *e = lookup(g, t->cand[i].a, t->cand[i].b);
        const char *pt = e ? e->phenotype : "Indeterminate";
        int seen = 0;
        for (const char *q = res->phenotypes; (q = strstr(q, pt)) != NULL; q++) {
            size_t l = strlen(pt);
            if ((q == res->phenotypes || q[-1] == '|') && (q[l] == '|' || q[l] == '\0')) {
                seen = 1;
                break;
            }
        }
        if (!seen) {
            append(res->phenotypes, sizeof res->phenotypes, "|", pt);
            n_pheno++;
        }
    }
    if (!d || n_pheno > 1) {
        snprintf(res->phenotype, sizeof res->phenotype, "Indeterminate");
        res->certainty = "ambiguous";
        return MMDX_OK;
    }
    snprintf(res->phenotype, sizeof res->phenotype, "%s", d->phenotype);
    snprintf(res->activity, sizeof res->activity, "%s", d->activity);
    res->certainty = (res->n_missing || t->n_cand > 1) ? "reduced" : "high";
    res->emit = 1;
    return MMDX_OK;
}
