/* The genetic modality: VCF, bgzipped VCF and BCF through htslib. Extracts the panel's
 * variants as ALT dosages per sample (= patient), and optionally calls pharmacogenomic
 * diplotypes and phenotypes (pgx_call.c). See docs/formats/panel.md and docs/pgx.md. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <htslib/hts.h>
#include <htslib/hts_log.h>
#include <htslib/kstring.h>
#include <htslib/tbx.h>
#include <htslib/bgzf.h>
#include <htslib/vcf.h>
#include "vcf_internal.h"

#ifndef KS_SEP_LINE
#define KS_SEP_LINE 2 /* hts_getline: split at newlines (htslib/kseq.h) */
#endif

/* Max number of malformed records reported before the file is given up as unreadable. */
#define MAX_REJECTS 10000

typedef struct vcf_state {
    vcf_alloc_t a;
    const mmdx_host_t *host;
} vcf_state_t;

enum { MODE_AUTO, MODE_INDEX, MODE_STREAM };

typedef struct vcf_src {
    vcf_state_t *st;
    vcf_alloc_t a;
    char *path;
    /* options */
    char *panel_path, *samples, *samples_file, *pgx_dir, *pgx_table, *prs_path, *prs_name;
    size_t n_weights;
    int min_gq, min_dp, filter_pass, absent_ref, mode, threads, pgx, expect_build;
    /* htslib */
    htsFile *fp;
    bcf_hdr_t *hdr;
    bcf1_t *rec;
    hts_idx_t *idx;
    tbx_t *tbx;
    int is_bcf;
    kstring_t line;
    int32_t *gt, *gq, *dp;
    float *fgq;
    int ngt, ngq, ndp, nfgq;
    /* sites, sorted by (chrom_key, pos); groups are runs of one contig */
    vcf_site_t *sites;
    size_t n_sites, cap;
    char **group_key;
    size_t *group_beg, *group_end, n_groups;
    int *rid_group; /* header contig id -> group, -1 when no site is on it */
    int n_rid;
    int all_records; /* no panel and no PGx: every ALT of every record is a feature */
    int use_index, ref_blocks, file_build, panel_build;
    /* results */
    int8_t *grid;
    uint8_t *phased;
    int32_t *ps;      /* phase set per site and sample (PGx only; 0 = the default set) */
    int32_t *psbuf;
    int npsbuf;
    size_t n_samples;
    pgx_tables_t *pgxt;
    long n_records, n_rejects;
    int warned_unsorted;
    /* last record seen (streaming order check) */
    int last_rid;
    int64_t last_pos;
} vcf_src_t;

static void vlog(const vcf_src_t *s, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void vlog(const vcf_src_t *s, int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!s->st->host || !s->st->host->log)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->st->host->log(s->st->host->host_data, level, msg);
}

/* ---------------------------------------------------------------- lifecycle */

static int vmod_init(const mmdx_host_t *host, void **state_out, mmdx_error_t *err)
{
    if (!host || host->struct_size < sizeof *host || !host->malloc || !host->free || !host->realloc)
        return mmdx_modality_error(err, MMDX_EINVAL, "", "vcf", 0, "host table is incomplete");
    vcf_state_t *st = host->malloc(sizeof *st);
    if (!st)
        return mmdx_modality_error(err, MMDX_ENOMEM, "", "vcf", 0, "out of memory");
    st->a.malloc = host->malloc;
    st->a.realloc = host->realloc;
    st->a.free = host->free;
    st->host = host;
    /* htslib writes its diagnostics to stderr; the library must not print, so errors are
     * taken from return codes and reported through mmdx_error_t instead. */
    hts_set_log_level(HTS_LOG_OFF);
    *state_out = st;
    return MMDX_OK;
}

static void vmod_fini(void *state)
{
    vcf_state_t *st = state;
    if (st)
        st->a.free(st);
}

static int vmod_probe(void *state, const char *path, const unsigned char *head, size_t n)
{
    (void)state;
    size_t len = path ? strlen(path) : 0;
    if (n >= 16 && memcmp(head, "##fileformat=VCF", 16) == 0)
        return 100;
    if (n >= 3 && memcmp(head, "BCF", 3) == 0)
        return 100;
    if (len > 4 && (strcmp(path + len - 4, ".vcf") == 0 || strcmp(path + len - 4, ".bcf") == 0))
        return 80;
    if (len > 7 && strcmp(path + len - 7, ".vcf.gz") == 0)
        return 80;
    return 0;
}

static void vmod_close(void *p)
{
    vcf_src_t *s = p;
    if (!s)
        return;
    const vcf_alloc_t *a = &s->a;
    if (s->rec)
        bcf_destroy(s->rec);
    if (s->hdr)
        bcf_hdr_destroy(s->hdr);
    if (s->tbx)
        tbx_destroy(s->tbx);
    if (s->idx)
        hts_idx_destroy(s->idx);
    if (s->fp)
        hts_close(s->fp);
    free(s->line.s); /* kstring memory belongs to htslib's allocator */
    free(s->gt);
    free(s->gq);
    free(s->dp);
    free(s->fgq);
    for (size_t i = 0; i < s->n_sites; i++)
        vcf_site_clear(a, &s->sites[i]);
    a->free(s->sites);
    for (size_t i = 0; i < s->n_groups; i++)
        a->free(s->group_key[i]);
    a->free(s->group_key);
    a->free(s->group_beg);
    a->free(s->group_end);
    a->free(s->rid_group);
    a->free(s->grid);
    a->free(s->phased);
    a->free(s->ps);
    free(s->psbuf);
    pgx_tables_free(s->pgxt);
    a->free(s->path);
    a->free(s->panel_path);
    a->free(s->samples);
    a->free(s->samples_file);
    a->free(s->pgx_dir);
    a->free(s->pgx_table);
    a->free(s->prs_path);
    a->free(s->prs_name);
    a->free(s);
}

/* ---------------------------------------------------------------- options */

static int parse_int_opt(vcf_src_t *s, const char *key, const char *val, int min, int *out, mmdx_error_t *err)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || *end || end == val || v < min || v > INT_MAX)
        return mmdx_modality_error(err, MMDX_EINVAL, s->path, key, 0, "option %s: '%s' is not an integer >= %d", key, val, min);
    *out = (int)v;
    return MMDX_OK;
}

static int parse_bool_opt(vcf_src_t *s, const char *key, const char *val, int *out, mmdx_error_t *err)
{
    if (!strcmp(val, "1") || !strcasecmp(val, "yes") || !strcasecmp(val, "true"))
        *out = 1;
    else if (!strcmp(val, "0") || !strcasecmp(val, "no") || !strcasecmp(val, "false"))
        *out = 0;
    else
        return mmdx_modality_error(err, MMDX_EINVAL, s->path, key, 0, "option %s: '%s' is not 1/0/yes/no", key, val);
    return MMDX_OK;
}

static int set_str(vcf_src_t *s, char **dst, const char *val, mmdx_error_t *err)
{
    s->a.free(*dst);
    *dst = vcf_strdup(&s->a, val);
    return *dst ? MMDX_OK : mmdx_modality_error(err, MMDX_ENOMEM, s->path, "", 0, "out of memory");
}

static int parse_options(vcf_src_t *s, const char *const *options, mmdx_error_t *err)
{
    for (; options && *options; options++) {
        const char *opt = *options, *eq = strchr(opt, '=');
        char key[64];
        if (!eq || eq == opt || (size_t)(eq - opt) >= sizeof key)
            return mmdx_modality_error(err, MMDX_EINVAL, s->path, opt, 0, "option '%s' is not KEY=VALUE", opt);
        memcpy(key, opt, (size_t)(eq - opt));
        key[eq - opt] = '\0';
        const char *val = eq + 1;
        int rc;
        if (!strcmp(key, "panel"))
            rc = set_str(s, &s->panel_path, val, err);
        else if (!strcmp(key, "samples"))
            rc = set_str(s, &s->samples, val, err);
        else if (!strcmp(key, "samples_file"))
            rc = set_str(s, &s->samples_file, val, err);
        else if (!strcmp(key, "prs"))
            rc = set_str(s, &s->prs_path, val, err);
        else if (!strcmp(key, "prs_name"))
            rc = set_str(s, &s->prs_name, val, err);
        else if (!strcmp(key, "pgx_dir"))
            rc = set_str(s, &s->pgx_dir, val, err);
        else if (!strcmp(key, "pgx_table")) {
            rc = set_str(s, &s->pgx_table, val, err);
            s->pgx = 1;
        } else if (!strcmp(key, "pgx"))
            rc = parse_bool_opt(s, key, val, &s->pgx, err);
        else if (!strcmp(key, "min_gq"))
            rc = parse_int_opt(s, key, val, 0, &s->min_gq, err);
        else if (!strcmp(key, "min_dp"))
            rc = parse_int_opt(s, key, val, 0, &s->min_dp, err);
        else if (!strcmp(key, "threads"))
            rc = parse_int_opt(s, key, val, 0, &s->threads, err);
        else if (!strcmp(key, "filter")) {
            if (!strcasecmp(val, "pass"))
                s->filter_pass = 1;
            else if (!strcasecmp(val, "none") || !strcasecmp(val, "any"))
                s->filter_pass = 0;
            else
                return mmdx_modality_error(err, MMDX_EINVAL, s->path, key, 0, "option filter: '%s' is not pass or none", val);
            rc = MMDX_OK;
        } else if (!strcmp(key, "absent")) {
            if (!strcasecmp(val, "reference") || !strcasecmp(val, "ref"))
                s->absent_ref = 1;
            else if (!strcasecmp(val, "missing") || !strcasecmp(val, "not-covered"))
                s->absent_ref = 0;
            else
                return mmdx_modality_error(err, MMDX_EINVAL, s->path, key, 0, "option absent: '%s' is not reference or missing", val);
            rc = MMDX_OK;
        } else if (!strcmp(key, "access")) {
            if (!strcasecmp(val, "auto"))
                s->mode = MODE_AUTO;
            else if (!strcasecmp(val, "index"))
                s->mode = MODE_INDEX;
            else if (!strcasecmp(val, "stream"))
                s->mode = MODE_STREAM;
            else
                return mmdx_modality_error(err, MMDX_EINVAL, s->path, key, 0, "option access: '%s' is not auto, index or stream", val);
            rc = MMDX_OK;
        } else if (!strcmp(key, "build")) {
            s->expect_build = vcf_build_from_name(val);
            rc = s->expect_build ? MMDX_OK
                                 : mmdx_modality_error(err, MMDX_EINVAL, s->path, key, 0, "option build: unknown build '%s'", val);
        } else
            return mmdx_modality_error(err, MMDX_EINVAL, s->path, key, 0, "unknown option '%s'", key);
        if (rc != MMDX_OK)
            return rc;
    }
    return MMDX_OK;
}

/* ---------------------------------------------------------------- sites */

static int site_cmp(const vcf_site_t *x, const vcf_site_t *y)
{
    int c = strcmp(x->chrom_key, y->chrom_key);
    return c ? c : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

/* Sort the sites (stable, so panel order is kept at equal positions) and group them by contig. */
static int sort_sites(vcf_src_t *s, mmdx_error_t *err)
{
    const vcf_alloc_t *a = &s->a;
    size_t n = s->n_sites;
    size_t *ord = a->malloc((n ? n : 1) * sizeof *ord), *tmp = a->malloc((n ? n : 1) * sizeof *tmp);
    vcf_site_t *sorted = a->malloc((n ? n : 1) * sizeof *sorted);
    if (!ord || !tmp || !sorted)
        goto nomem;
    for (size_t i = 0; i < n; i++)
        ord[i] = i;
    /* bottom-up merge sort of indices */
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = site_cmp(&s->sites[ord[j]], &s->sites[ord[i]]) < 0 ? ord[j++] : ord[i++];
            while (i < mid)
                tmp[k++] = ord[i++];
            while (j < hi)
                tmp[k++] = ord[j++];
        }
        memcpy(ord, tmp, n * sizeof *ord);
    }
    for (size_t i = 0; i < n; i++) {
        sorted[i] = s->sites[ord[i]];
        tmp[ord[i]] = i; /* perm[old] = new */
    }
    a->free(s->sites);
    s->sites = sorted;
    s->cap = n;
    if (s->pgxt)
        pgx_tables_remap_sites(s->pgxt, tmp);
    a->free(ord);
    a->free(tmp);
    ord = tmp = NULL;
    size_t ng = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(s->sites[i].chrom_key, s->sites[i - 1].chrom_key) != 0)
            ng++;
    s->group_key = a->malloc((ng ? ng : 1) * sizeof *s->group_key);
    s->group_beg = a->malloc((ng ? ng : 1) * sizeof *s->group_beg);
    s->group_end = a->malloc((ng ? ng : 1) * sizeof *s->group_end);
    if (!s->group_key || !s->group_beg || !s->group_end)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(s->sites[i].chrom_key, s->sites[i - 1].chrom_key) != 0) {
            s->group_key[s->n_groups] = vcf_strdup(a, s->sites[i].chrom_key);
            if (!s->group_key[s->n_groups])
                goto nomem;
            s->group_beg[s->n_groups++] = i;
        }
        s->group_end[s->n_groups - 1] = i + 1;
    }
    return MMDX_OK;
nomem:
    a->free(ord);
    a->free(tmp);
    a->free(sorted);
    return mmdx_modality_error(err, MMDX_ENOMEM, s->path, "", 0, "out of memory");
}

static int group_of(const vcf_src_t *s, const char *chrom)
{
    char key[256];
    vcf_chrom_key(chrom, key, sizeof key);
    for (size_t g = 0; g < s->n_groups; g++)
        if (!strcmp(s->group_key[g], key))
            return (int)g;
    return -1;
}

/* First site of group @p g at or after @p pos (1-based). */
static size_t lower_bound(const vcf_src_t *s, int g, int64_t pos)
{
    size_t lo = s->group_beg[g], hi = s->group_end[g];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->sites[mid].pos < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---------------------------------------------------------------- header checks */

static int header_build(vcf_src_t *s, char *why, size_t why_size)
{
    bcf_hdr_t *h = s->hdr;
    int build = BUILD_UNKNOWN;
    for (int i = 0; i < h->nhrec; i++) {
        bcf_hrec_t *r = h->hrec[i];
        if (r->type == BCF_HL_CTG) {
            int id = bcf_hrec_find_key(r, "ID"), len = bcf_hrec_find_key(r, "length");
            if (id < 0 || len < 0)
                continue;
            char key[256];
            vcf_chrom_key(r->vals[id], key, sizeof key);
            int b = vcf_build_from_contig(key, strtoll(r->vals[len], NULL, 10));
            if (b != BUILD_UNKNOWN) {
                snprintf(why, why_size, "contig %s has length %s", r->vals[id], r->vals[len]);
                return b;
            }
        } else if (r->type == BCF_HL_GEN && r->key && r->value &&
                   (!strcmp(r->key, "reference") || !strcmp(r->key, "assembly")) && build == BUILD_UNKNOWN) {
            build = vcf_build_from_name(r->value);
            if (build != BUILD_UNKNOWN)
                snprintf(why, why_size, "##%s=%s", r->key, r->value);
        }
    }
    return build;
}

static int header_ref_blocks(const bcf_hdr_t *h)
{
    for (int i = 0; i < h->nhrec; i++) {
        bcf_hrec_t *r = h->hrec[i];
        if (r->key && !strcmp(r->key, "GVCFBlock"))
            return 1;
        if (r->key && !strcmp(r->key, "ALT")) {
            int id = bcf_hrec_find_key(r, "ID");
            if (id >= 0 && (!strcmp(r->vals[id], "NON_REF") || !strcmp(r->vals[id], "*")))
                return 1;
        }
    }
    return 0;
}

static char *index_path(const vcf_src_t *s, struct stat *st_out)
{
    static const char *const ext[] = {".csi", ".tbi"};
    size_t n = strlen(s->path) + 5;
    for (size_t i = 0; i < 2; i++) {
        char *p = s->a.malloc(n);
        if (!p)
            return NULL;
        snprintf(p, n, "%s%s", s->path, ext[i]);
        if (stat(p, st_out) == 0)
            return p;
        s->a.free(p);
    }
    return NULL;
}

/* Decide between region queries through the index and one streaming pass. A region query
 * inflates about one or two BGZF blocks (64 KiB each, uncompressed); streaming inflates the
 * whole file, which holds at least three times its compressed size for VCF or BCF. */
static int choose_access(vcf_src_t *s, mmdx_error_t *err)
{
    struct stat fst, ist;
    s->use_index = 0;
    if (s->mode == MODE_STREAM || s->all_records)
        return MMDX_OK;
    int compressed = s->is_bcf || hts_get_format(s->fp)->compression == bgzf;
    char *ipath = compressed ? index_path(s, &ist) : NULL;
    if (!ipath) {
        if (s->mode == MODE_INDEX)
            return mmdx_modality_error(err, MMDX_ENOTFOUND, s->path, "index", 0,
                                       compressed ? "access=index but no .csi or .tbi index next to the file"
                                                  : "access=index needs a bgzipped, indexed file");
        return MMDX_OK;
    }
    int stale = stat(s->path, &fst) == 0 && ist.st_mtime < fst.st_mtime;
    if (stale) {
        vlog(s, 1, "%s: index %s is older than the file; reading the whole file instead", s->path, ipath);
        s->a.free(ipath);
        if (s->mode == MODE_INDEX)
            return mmdx_modality_error(err, MMDX_EFORMAT, s->path, "index", 0, "index is older than the file (stale); re-index it");
        return MMDX_OK;
    }
    s->a.free(ipath);
    size_t regions = 0;
    for (size_t g = 0; g < s->n_groups; g++)
        for (size_t i = s->group_beg[g]; i < s->group_end[g]; i++)
            if (i == s->group_beg[g] || s->sites[i].pos - s->sites[i - 1].pos > 2000)
                regions++;
    if (s->mode == MODE_AUTO && (double)regions * 65536.0 * 2.0 > 3.0 * (double)fst.st_size)
        return MMDX_OK;
    if (s->is_bcf)
        s->idx = bcf_index_load2(s->path, NULL);
    else
        s->tbx = tbx_index_load3(s->path, NULL, HTS_IDX_SILENT_FAIL);
    if (!s->idx && !s->tbx) {
        if (s->mode == MODE_INDEX)
            return mmdx_modality_error(err, MMDX_EFORMAT, s->path, "index", 0, "cannot load the index");
        vlog(s, 1, "%s: cannot load the index; reading the whole file", s->path);
        return MMDX_OK;
    }
    s->use_index = 1;
    return MMDX_OK;
}

/* ---------------------------------------------------------------- open */

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* htslib does not say why a header failed; look for the usual causes in a text VCF. */
static void diagnose_header(const vcf_src_t *s, char *why, size_t size)
{
    htsFile *f = hts_open(s->path, "r");
    kstring_t l = {0, 0, NULL};
    snprintf(why, size, "malformed meta line or #CHROM line");
    if (!f)
        return;
    if (hts_get_format(f)->format != vcf) {
        hts_close(f);
        return;
    }
    int r;
    while ((r = hts_getline(f, KS_SEP_LINE, &l)) >= 0) {
        if (l.l == 0)
            continue;
        if (l.s[0] != '#') {
            snprintf(why, size, "no #CHROM line before the first record");
            break;
        }
        if (strncmp(l.s, "#CHROM", 6) != 0)
            continue;
        size_t n = 0;
        for (size_t i = 0; i < l.l; i++)
            n += l.s[i] == '\t';
        char **names = n > 8 ? s->a.malloc((n - 8) * sizeof *names) : NULL;
        size_t k = 0, col = 0;
        for (char *p = l.s; names && p; col++) {
            char *t = strchr(p, '\t');
            if (t)
                *t = '\0';
            if (col >= 9)
                names[k++] = p;
            p = t ? t + 1 : NULL;
        }
        if (names) {
            qsort(names, k, sizeof *names, cmp_str);
            for (size_t i = 1; i < k; i++)
                if (!strcmp(names[i], names[i - 1])) {
                    snprintf(why, size, "duplicated sample name '%.100s'", names[i]);
                    break;
                }
        }
        s->a.free(names);
        break;
    }
    if (r < -1) /* the stream broke inside the header (a .vcf.gz cut short) */
        snprintf(why, size, "truncated or corrupt compressed data inside the header");
    free(l.s);
    hts_close(f);
}

static int vmod_open(void *state, const char *path, const char *const *options, void **src_out, mmdx_error_t *err)
{
    vcf_state_t *st = state;
    int rc;
    vcf_src_t *s = st->a.malloc(sizeof *s);
    if (!s)
        return mmdx_modality_error(err, MMDX_ENOMEM, path, "", 0, "out of memory");
    memset(s, 0, sizeof *s);
    s->st = st;
    s->a = st->a;
    s->threads = st->host->threads;
    s->last_rid = -1;
    s->path = vcf_strdup(&s->a, path);
    if (!s->path) {
        rc = mmdx_modality_error(err, MMDX_ENOMEM, path, "", 0, "out of memory");
        goto fail;
    }
    if ((rc = parse_options(s, options, err)) != MMDX_OK)
        goto fail;
    if (s->panel_path &&
        (rc = vcf_panel_read(&s->a, s->panel_path, &s->sites, &s->n_sites, &s->cap, &s->panel_build, err)) != MMDX_OK)
        goto fail;
    if (s->prs_path) {
        if ((rc = vcf_weights_read(&s->a, s->prs_path, &s->sites, &s->n_sites, &s->cap, &s->n_weights, err)) != MMDX_OK)
            goto fail;
        if (!s->prs_name) { /* the file's stem: "/x/ldl.weights.tsv" -> "ldl" */
            const char *b = strrchr(s->prs_path, '/');
            b = b ? b + 1 : s->prs_path;
            size_t l = strcspn(b, ".");
            char stem[128];
            snprintf(stem, sizeof stem, "%.*s", (int)(l < sizeof stem - 1 ? l : sizeof stem - 1), b);
            if ((rc = set_str(s, &s->prs_name, stem[0] ? stem : "score", err)) != MMDX_OK)
                goto fail;
        }
    }
    if (s->pgx) {
        char dir[4096];
        if (s->pgx_dir)
            snprintf(dir, sizeof dir, "%s", s->pgx_dir);
        else
            snprintf(dir, sizeof dir, "%s/pgx", st->host->data_dir ? st->host->data_dir : ".");
        if ((rc = pgx_tables_load(&s->a, dir, &s->pgxt, err)) != MMDX_OK)
            goto fail;
        if ((rc = pgx_tables_add_sites(s->pgxt, &s->sites, &s->n_sites, &s->cap, err)) != MMDX_OK)
            goto fail;
    }
    s->all_records = !s->panel_path && !s->pgx && !s->prs_path;
    if ((rc = sort_sites(s, err)) != MMDX_OK)
        goto fail;
    /* the same panel variant twice would give two values for one feature */
    for (size_t i = 1; i < s->n_sites; i++)
        for (size_t j = i; j-- > 0 && s->sites[j].pos == s->sites[i].pos &&
                           !strcmp(s->sites[j].chrom_key, s->sites[i].chrom_key);)
            if (s->sites[i].feature && s->sites[j].feature &&
                !strcasecmp(s->sites[i].alleles[0], s->sites[j].alleles[0]) &&
                !strcasecmp(s->sites[i].alleles[1], s->sites[j].alleles[1])) {
                rc = mmdx_modality_error(err, MMDX_EDUP, s->panel_path, s->sites[i].panel_id, 0,
                                         "panel rows '%s' and '%s' are the same variant (%s:%lld %s>%s)",
                                         s->sites[j].panel_id, s->sites[i].panel_id, s->sites[i].chrom,
                                         (long long)s->sites[i].pos, s->sites[i].alleles[0], s->sites[i].alleles[1]);
                goto fail;
            }

    s->fp = hts_open(path, "r");
    if (!s->fp) {
        rc = mmdx_modality_error(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, path, "", 0, "cannot open: %s",
                                 errno ? strerror(errno) : "unknown error");
        goto fail;
    }
    const htsFormat *fmt = hts_get_format(s->fp);
    if (fmt->format != vcf && fmt->format != bcf) {
        char *desc = hts_format_description(fmt); /* malloc'ed by htslib */
        rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "", 0, "not a VCF or BCF file (htslib sees: %s)",
                                 desc ? desc : "unknown format");
        free(desc);
        goto fail;
    }
    s->is_bcf = fmt->format == bcf;
    s->hdr = bcf_hdr_read(s->fp);
    if (!s->hdr) {
        char why[256];
        diagnose_header(s, why, sizeof why);
        rc = mmdx_modality_error(err, strstr(why, "duplicated") ? MMDX_EDUP : MMDX_EFORMAT, path, "header", 0,
                                 "cannot read the VCF header: %s", why);
        goto fail;
    }
    if (s->samples || s->samples_file) {
        int r = bcf_hdr_set_samples(s->hdr, s->samples ? s->samples : s->samples_file, s->samples ? 0 : 1);
        if (r < 0) {
            rc = mmdx_modality_error(err, MMDX_EINVAL, path, "samples", 0, "cannot restrict to the requested samples");
            goto fail;
        }
        if (r > 0) {
            /* htslib gives the 1-based position of the first unknown name: name it */
            char name[128] = "";
            if (s->samples) {
                const char *p = s->samples;
                for (int k = 1; k < r && p; k++)
                    p = (p = strchr(p, ',')) ? p + 1 : NULL;
                if (p)
                    snprintf(name, sizeof name, "%.*s", (int)strcspn(p, ","), p);
            }
            if (name[0])
                rc = mmdx_modality_error(err, MMDX_ENOTFOUND, path, "samples", 0,
                                         "requested sample '%s' is not in the file", name);
            else
                rc = mmdx_modality_error(err, MMDX_ENOTFOUND, path, "samples", 0,
                                         "requested sample number %d (line %d of %s) is not in the file", r, r,
                                         s->samples_file ? s->samples_file : "the list");
            goto fail;
        }
    }
    s->n_samples = (size_t)bcf_hdr_nsamples(s->hdr);
    char why[512] = "";
    s->file_build = header_build(s, why, sizeof why);
    int want = s->panel_build ? s->panel_build : s->expect_build;
    if (s->pgx && !want)
        want = BUILD_GRCH38;
    if (s->pgx && s->panel_build && s->panel_build != BUILD_GRCH38) {
        rc = mmdx_modality_error(err, MMDX_EFORMAT, s->panel_path, "build", 0,
                                 "panel is %s but the PGx definitions are GRCh38", vcf_build_name(s->panel_build));
        goto fail;
    }
    if (want && s->file_build && want != s->file_build) {
        rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "build", 0,
                                 "genome build mismatch: file is %s (%s), %s is %s", vcf_build_name(s->file_build), why,
                                 s->panel_build ? "panel" : s->pgx ? "PGx definitions" : "option build",
                                 vcf_build_name(want));
        goto fail;
    }
    if (want && !s->file_build)
        vlog(s, 2, "%s: genome build not stated in the header (no known contig length or reference line); assuming %s",
             path, vcf_build_name(want));
    s->ref_blocks = header_ref_blocks(s->hdr);
    /* contig id -> site group */
    s->n_rid = s->hdr->n[BCF_DT_CTG];
    s->rid_group = s->a.malloc((size_t)(s->n_rid > 0 ? s->n_rid : 1) * sizeof *s->rid_group);
    if (!s->rid_group) {
        rc = mmdx_modality_error(err, MMDX_ENOMEM, path, "", 0, "out of memory");
        goto fail;
    }
    for (int i = 0; i < s->n_rid; i++)
        s->rid_group[i] = group_of(s, bcf_hdr_id2name(s->hdr, i));
    s->rec = bcf_init();
    if (!s->rec) {
        rc = mmdx_modality_error(err, MMDX_ENOMEM, path, "", 0, "out of memory");
        goto fail;
    }
    if ((rc = choose_access(s, err)) != MMDX_OK)
        goto fail;
    /* Decompression threads pay off on a long sequential read; on index jumps their
     * start-up and read-ahead cost more than they save. */
    if (s->threads > 1 && !s->use_index && (fmt->compression == bgzf || s->is_bcf))
        hts_set_threads(s->fp, s->threads);
    *src_out = s;
    return MMDX_OK;
fail:
    vmod_close(s);
    return rc;
}

/* ---------------------------------------------------------------- records */

static int reject(vcf_src_t *s, const mmdx_sink_t *sink, const char *patient, const bcf1_t *rec, const char *chrom,
                  int64_t pos, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 8, 9)))
#endif
    ;
static int reject(vcf_src_t *s, const mmdx_sink_t *sink, const char *patient, const bcf1_t *rec, const char *chrom,
                  int64_t pos, int code, const char *fmt, ...)
{
    char reason[1024];
    int n = 0;
    va_list ap;
    (void)rec;
    if (chrom)
        n = snprintf(reason, sizeof reason, "%s:%lld: ", chrom, (long long)pos);
    if (n < 0 || (size_t)n >= sizeof reason)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(reason + n, sizeof reason - (size_t)n, fmt, ap);
    va_end(ap);
    s->n_rejects++;
    if (sink && sink->reject)
        return sink->reject(sink->data, patient, s->path, s->n_records, code, reason);
    return MMDX_OK;
}

static int is_symbolic(const char *a)
{
    return a[0] == '<' || (a[0] == '*' && a[1] == '\0');
}

/* Is rec allele @p a the site allele @p b, given the two REFs? Records and sites may write
 * the same variant with different REF lengths (a multi-allelic record with a deletion has a
 * longer REF), so the shorter side is extended by the longer REF's extra tail. */
static int allele_eq(const char *a, const char *b, const char *tail, int tail_on_b)
{
    size_t la = strlen(a), lb = strlen(b), lt = strlen(tail);
    if (tail_on_b)
        return la == lb + lt && !strncasecmp(a, b, lb) && !strcasecmp(a + lb, tail);
    return lb == la + lt && !strncasecmp(b, a, la) && !strcasecmp(b + la, tail);
}

/* Map the record's alleles onto the site's. @return 1 mapped, 0 another variant at that
 * position (skip), -1 the REFs disagree. */
static int map_alleles(const vcf_site_t *site, const bcf1_t *rec, int8_t *map)
{
    const char *R = rec->d.allele[0], *S = site->alleles[0];
    size_t lr = strlen(R), ls = strlen(S);
    const char *tail;
    int tail_on_b;
    if (lr >= ls) {
        if (strncasecmp(R, S, ls) != 0)
            return (lr == 1 || R[0] != S[0]) ? -1 : 0;
        tail = R + ls;
        tail_on_b = 1;
    } else {
        if (strncasecmp(S, R, lr) != 0)
            return R[0] != S[0] ? -1 : 0;
        tail = S + lr;
        tail_on_b = 0;
    }
    map[0] = 0;
    for (int i = 1; i < rec->n_allele && i < 127; i++) {
        const char *ai = rec->d.allele[i];
        map[i] = GT_OTHER;
        if (is_symbolic(ai))
            continue;
        for (int j = 0; j < site->n_alleles; j++)
            if (allele_eq(ai, site->alleles[j], tail, tail_on_b)) {
                map[i] = (int8_t)j;
                break;
            }
    }
    return 1;
}

static int record_passes(const vcf_src_t *s, bcf1_t *rec)
{
    if (!s->filter_pass || rec->d.n_flt == 0)
        return 1;
    return bcf_has_filter(s->hdr, rec, "PASS") == 1;
}

/* Fetch GQ/DP when thresholds are set; per-sample flags in *low (1 = below a threshold). */
static int sample_low_quality(vcf_src_t *s, bcf1_t *rec, size_t i, int ngq, int ndp, int gq_float)
{
    size_t n = s->n_samples;
    if (s->min_gq > 0 && ngq > 0) {
        size_t per = (size_t)ngq / n;
        if (gq_float) {
            float v = s->fgq[i * per];
            if (!bcf_float_is_missing(v) && !bcf_float_is_vector_end(v) && v < (float)s->min_gq)
                return 1;
        } else {
            int32_t v = s->gq[i * per];
            if (v != bcf_int32_missing && v != bcf_int32_vector_end && v < s->min_gq)
                return 1;
        }
    }
    if (s->min_dp > 0 && ndp > 0) {
        size_t per = (size_t)ndp / n;
        int32_t v = s->dp[i * per];
        if (v != bcf_int32_missing && v != bcf_int32_vector_end && v < s->min_dp)
            return 1;
    }
    (void)rec;
    return 0;
}

/* Fill the grid of @p site from @p rec, with allele map @p map (NULL: reference block). */
/* htslib (1.16) bcf_get_format_values() calls exit(1) on a FORMAT field stored with a type
 * other than integer or float: GT kept as text when the header's GT line is broken, or a
 * crafted BCF. Such a field is never handed to htslib: 1 when @p tag is absent or numeric. */
static int fmt_numeric(const bcf_hdr_t *hdr, bcf1_t *rec, const char *tag)
{
    bcf_fmt_t *f = bcf_get_fmt(hdr, rec, tag);
    return !f || f->type == BCF_BT_INT8 || f->type == BCF_BT_INT16 || f->type == BCF_BT_INT32 ||
           f->type == BCF_BT_FLOAT;
}

static int fill_site(vcf_src_t *s, const mmdx_sink_t *sink, size_t si, bcf1_t *rec, const int8_t *map, int passes)
{
    size_t n = s->n_samples;
    int8_t *g = s->grid + si * n * 2;
    uint8_t *ph = s->phased + si * n;
    const vcf_site_t *site = &s->sites[si];
    if (!passes) {
        for (size_t i = 0; i < 2 * n; i++)
            g[i] = GT_MISSING;
        memset(ph, 0, n);
        return MMDX_OK;
    }
    if (n && !fmt_numeric(s->hdr, rec, "GT")) {
        for (size_t i = 0; i < 2 * n; i++)
            g[i] = GT_MISSING;
        memset(ph, 0, n);
        return reject(s, sink, NULL, rec, site->chrom, site->pos, MMDX_EFORMAT,
                      "GT is not stored as genotypes (check its ##FORMAT header line); genotypes treated as missing");
    }
    int ngt = n ? bcf_get_genotypes(s->hdr, rec, &s->gt, &s->ngt) : 0;
    if (ngt <= 0 || n == 0) {
        for (size_t i = 0; i < 2 * n; i++)
            g[i] = GT_MISSING;
        return MMDX_OK;
    }
    int ngq = 0, ndp = 0, gq_float = 0, nps = 0;
    if (s->ps && fmt_numeric(s->hdr, rec, "PS"))
        nps = bcf_get_format_int32(s->hdr, rec, "PS", &s->psbuf, &s->npsbuf);
    if (s->min_gq > 0 && fmt_numeric(s->hdr, rec, "GQ")) {
        ngq = bcf_get_format_int32(s->hdr, rec, "GQ", &s->gq, &s->ngq);
        if (ngq == -2) {
            ngq = bcf_get_format_float(s->hdr, rec, "GQ", &s->fgq, &s->nfgq);
            gq_float = 1;
        }
    }
    if (s->min_dp > 0 && fmt_numeric(s->hdr, rec, "DP"))
        ndp = bcf_get_format_int32(s->hdr, rec, "DP", &s->dp, &s->ndp);
    size_t maxp = (size_t)ngt / n;
    for (size_t i = 0; i < n; i++) {
        int32_t *p = s->gt + i * maxp;
        int8_t c[2] = {GT_MISSING, GT_END};
        int bad = 0;
        ph[i] = 0;
        if (maxp > 2 && p[2] != bcf_int32_vector_end) {
            int rc = reject(s, sink, s->hdr->samples[i], rec, site->chrom, site->pos, MMDX_EFORMAT,
                            "ploidy above 2 is not supported; genotype treated as missing");
            if (rc != MMDX_OK)
                return rc;
            g[2 * i] = g[2 * i + 1] = GT_MISSING;
            continue;
        }
        for (size_t j = 0; j < 2 && j < maxp; j++) {
            if (p[j] == bcf_int32_vector_end) {
                c[j] = j == 0 ? GT_MISSING : GT_END;
                continue;
            }
            if (bcf_gt_is_missing(p[j])) {
                c[j] = GT_MISSING;
                continue;
            }
            int ai = bcf_gt_allele(p[j]);
            if (ai < 0 || ai >= rec->n_allele || ai >= 127) {
                bad = 1;
                break;
            }
            c[j] = map ? map[ai] : (ai == 0 ? 0 : GT_OTHER);
        }
        if (bad) {
            int rc = reject(s, sink, s->hdr->samples[i], rec, site->chrom, site->pos, MMDX_EFORMAT,
                            "genotype allele index out of range (%d alleles)", rec->n_allele);
            if (rc != MMDX_OK)
                return rc;
            c[0] = GT_MISSING;
            c[1] = GT_MISSING;
        } else if (maxp >= 2 && p[1] != bcf_int32_vector_end && bcf_gt_is_phased(p[1]))
            ph[i] = 1;
        if (s->ps) {
            /* without FORMAT/PS all phased genotypes form one set (VCF 4.2, 1.6.2) */
            int32_t v = nps > 0 ? s->psbuf[i * ((size_t)nps / n)] : 0;
            s->ps[si * n + i] = (v == bcf_int32_missing || v == bcf_int32_vector_end) ? 0 : v;
        }
        if ((c[0] >= 0 || c[0] == GT_OTHER) && (s->min_gq > 0 || s->min_dp > 0) &&
            sample_low_quality(s, rec, i, ngq, ndp, gq_float))
            c[0] = c[1] = GT_MISSING;
        g[2 * i] = c[0];
        g[2 * i + 1] = c[1];
    }
    return MMDX_OK;
}

/* Apply one record to the sites it concerns. */
static int process_record(vcf_src_t *s, const mmdx_sink_t *sink, bcf1_t *rec)
{
    if (rec->rid < 0 || rec->rid >= s->n_rid)
        return MMDX_OK;
    int g = s->rid_group[rec->rid];
    if (g < 0)
        return MMDX_OK;
    int64_t pos = rec->pos + 1;
    size_t i = lower_bound(s, g, pos);
    size_t end = s->group_end[g];
    const char *chrom = bcf_hdr_id2name(s->hdr, rec->rid);
    bcf_unpack(rec, BCF_UN_FLT);
    int symbolic_only = rec->n_allele >= 2;
    for (int k = 1; k < rec->n_allele; k++)
        if (!is_symbolic(rec->d.allele[k]))
            symbolic_only = 0;
    if (symbolic_only || (rec->n_allele == 1 && rec->rlen > 1)) {
        /* reference block (gVCF): covers pos .. pos+rlen-1 for samples called 0/0 */
        int passes = record_passes(s, rec);
        for (size_t j = i; j < end && s->sites[j].pos < pos + rec->rlen; j++) {
            vcf_site_t *site = &s->sites[j];
            if (site->prio >= 0)
                continue;
            if (site->pos == pos && strncasecmp(rec->d.allele[0], site->alleles[0], 1) != 0)
                continue;
            site->prio = 0;
            site->filtered = !passes;
            int rc = fill_site(s, sink, j, rec, NULL, passes);
            if (rc != MMDX_OK)
                return rc;
        }
        return MMDX_OK;
    }
    if (i >= end || s->sites[i].pos != pos)
        return MMDX_OK;
    int8_t map[128];
    int passes = record_passes(s, rec);
    if (rec->n_allele > 127)
        return reject(s, sink, NULL, rec, chrom, pos, MMDX_EFORMAT, "more than 127 alleles; record skipped");
    for (; i < end && s->sites[i].pos == pos; i++) {
        vcf_site_t *site = &s->sites[i];
        int m = map_alleles(site, rec, map);
        if (m < 0) {
            int rc = reject(s, sink, NULL, rec, chrom, pos, MMDX_EFORMAT, "REF %s in the file disagrees with %s %s for %s",
                            rec->d.allele[0], site->feature ? "panel REF" : "PGx definition REF", site->alleles[0],
                            site->feature ? site->feature : "a PGx position");
            if (rc != MMDX_OK)
                return rc;
            continue;
        }
        if (m == 0)
            continue;
        int prio = 1;
        for (int k = 1; k < rec->n_allele; k++)
            if (map[k] >= 1 && map[k] != GT_OTHER)
                prio = 2;
        if (site->prio >= prio)
            continue; /* an earlier record already gave this site's genotypes */
        site->prio = prio;
        site->filtered = !passes;
        int rc = fill_site(s, sink, i, rec, map, passes);
        if (rc != MMDX_OK)
            return rc;
    }
    return MMDX_OK;
}

/* Without a panel: every ALT of every record becomes a feature, emitted as it is read. */
static int emit_all(vcf_src_t *s, const mmdx_sink_t *sink, bcf1_t *rec)
{
    size_t n = s->n_samples;
    bcf_unpack(rec, BCF_UN_FLT);
    if (rec->n_allele < 2 || n == 0)
        return MMDX_OK;
    const char *chrom = bcf_hdr_id2name(s->hdr, rec->rid);
    int passes = record_passes(s, rec);
    if (!fmt_numeric(s->hdr, rec, "GT"))
        return reject(s, sink, NULL, rec, chrom, rec->pos + 1, MMDX_EFORMAT,
                      "GT is not stored as genotypes (check its ##FORMAT header line); record skipped");
    int ngt = bcf_get_genotypes(s->hdr, rec, &s->gt, &s->ngt);
    size_t maxp = ngt > 0 ? (size_t)ngt / n : 0;
    /* as with a panel (fill_site): a ploidy above 2 or an allele index beyond the record's
     * alleles is a rejected genotype, read as missing (it used to count as 0 copies) */
    for (size_t i = 0; passes && i < n && maxp > 0; i++) {
        int32_t *p = s->gt + i * maxp;
        const char *why = NULL;
        if (maxp > 2 && p[2] != bcf_int32_vector_end)
            why = "ploidy above 2 is not supported; genotype treated as missing";
        for (size_t j = 0; !why && j < maxp && j < 2; j++) {
            if (p[j] == bcf_int32_vector_end || bcf_gt_is_missing(p[j]))
                continue;
            int ai = bcf_gt_allele(p[j]);
            if (ai < 0 || ai >= rec->n_allele)
                why = "genotype allele index out of range; genotype treated as missing";
        }
        if (why) {
            int rc = reject(s, sink, s->hdr->samples[i], rec, chrom, rec->pos + 1, MMDX_EFORMAT, "%s (%d alleles)", why,
                            rec->n_allele);
            if (rc != MMDX_OK)
                return rc;
            p[0] = bcf_gt_missing;
        }
    }
    char feature[1024], prov[1024];
    snprintf(prov, sizeof prov, "%s:%s:%lld", s->path, chrom, (long long)rec->pos + 1);
    for (int k = 1; k < rec->n_allele; k++) {
        if (is_symbolic(rec->d.allele[k]))
            continue;
        int fl = snprintf(feature, sizeof feature, "var:%s:%lld:%s:%s", chrom, (long long)rec->pos + 1,
                          rec->d.allele[0], rec->d.allele[k]);
        if (fl < 0 || (size_t)fl >= sizeof feature) {
            int rc = reject(s, sink, NULL, rec, chrom, rec->pos + 1, MMDX_ERANGE, "alleles too long for a feature id; skipped");
            if (rc != MMDX_OK)
                return rc;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            double v = NAN;
            if (passes && maxp > 0) {
                int32_t *p = s->gt + i * maxp;
                int cnt = 0, ok = 1;
                for (size_t j = 0; j < maxp && j < 2; j++) {
                    if (p[j] == bcf_int32_vector_end)
                        break;
                    if (bcf_gt_is_missing(p[j])) {
                        ok = 0;
                        break;
                    }
                    cnt += bcf_gt_allele(p[j]) == k;
                }
                if (ok && !(maxp >= 1 && p[0] == bcf_int32_vector_end))
                    v = cnt;
            }
            mmdx_obs_t o = {s->hdr->samples[i], feature, MMDX_OBS_DOSAGE, v, NULL, NULL, MMDX_CENSOR_NONE,
                            MMDX_TIME_UNKNOWN, prov};
            int rc = sink->obs(sink->data, &o);
            if (rc != MMDX_OK)
                return rc;
        }
    }
    return MMDX_OK;
}

static int handle_read_error(vcf_src_t *s, const mmdx_sink_t *sink, int ret, mmdx_error_t *err)
{
    const char *last = s->last_rid >= 0 && s->last_rid < s->n_rid ? bcf_hdr_id2name(s->hdr, s->last_rid) : NULL;
    /* the compressed stream itself failed (truncated .vcf.gz, corrupt block): not one bad
     * record to skip but the end of what can be read */
    if (ret < -1 && s->fp->is_bgzf && s->fp->fp.bgzf && s->fp->fp.bgzf->errcode)
        return mmdx_modality_error(err, MMDX_EIO, s->path, last ? last : "", s->n_records,
                                   "read error after record %ld (truncated or corrupt compressed data)",
                                   s->n_records - 1);
    if (s->is_bcf || ret == -3 || s->n_rejects >= MAX_REJECTS)
        return mmdx_modality_error(err, MMDX_EFORMAT, s->path, last ? last : "", s->n_records,
                                   "unreadable record %ld%s (truncated or corrupt %s)", s->n_records,
                                   last ? " after the one at this contig" : "", s->is_bcf ? "BCF" : "file");
    char where[256] = "";
    if (last)
        snprintf(where, sizeof where, " (after %s:%lld)", last, (long long)s->last_pos);
    return reject(s, sink, NULL, NULL, NULL, 0, MMDX_EFORMAT, "record %ld%s is malformed and was skipped",
                  s->n_records, where);
}

static void check_order(vcf_src_t *s, const bcf1_t *rec)
{
    if (!s->warned_unsorted && rec->rid == s->last_rid && rec->pos + 1 < s->last_pos) {
        s->warned_unsorted = 1;
        vlog(s, 1, "%s: records are not sorted (%s:%lld after %lld); reading the whole file", s->path,
             bcf_hdr_id2name(s->hdr, rec->rid), (long long)rec->pos + 1, (long long)s->last_pos);
    }
    s->last_rid = rec->rid;
    s->last_pos = rec->pos + 1;
}

/* A contig htslib added for a name the header did not declare: extend the contig ->
 * group table to it. */
static int grow_rid_groups(vcf_src_t *s, mmdx_error_t *err)
{
    int nr = s->hdr->n[BCF_DT_CTG];
    int *p = s->a.realloc(s->rid_group, (size_t)nr * sizeof *p);
    if (!p)
        return mmdx_modality_error(err, MMDX_ENOMEM, s->path, "", 0, "out of memory");
    s->rid_group = p;
    for (int k = s->n_rid; k < nr; k++)
        p[k] = group_of(s, bcf_hdr_id2name(s->hdr, k));
    s->n_rid = nr;
    return MMDX_OK;
}

/* VCF text with a panel: look at CHROM and POS of each line before htslib parses it, so
 * lines no site needs are never parsed (the file's bulk is its genotype columns). */
static int stream_vcf_text(vcf_src_t *s, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    char last_chrom[256] = "";
    int last_g = -1;
    int64_t prev_pos = 0;
    int r;
    while ((r = hts_getline(s->fp, KS_SEP_LINE, &s->line)) >= 0) {
        char *l = s->line.s;
        if (s->line.l == 0 || l[0] == '#')
            continue;
        s->n_records++;
        char *t1 = strchr(l, '\t');
        if (!t1) {
            int rc = reject(s, sink, NULL, NULL, NULL, 0, MMDX_EFORMAT, "record %ld has no tab-separated columns", s->n_records);
            if (rc != MMDX_OK || s->n_rejects >= MAX_REJECTS)
                return rc != MMDX_OK ? rc : handle_read_error(s, sink, -3, err);
            continue;
        }
        size_t cl = (size_t)(t1 - l);
        if (cl >= sizeof last_chrom || strncmp(last_chrom, l, cl) != 0 || last_chrom[cl] != '\0') {
            if (cl >= sizeof last_chrom)
                cl = sizeof last_chrom - 1;
            memcpy(last_chrom, l, cl);
            last_chrom[cl] = '\0';
            last_g = group_of(s, last_chrom);
            prev_pos = 0;
        }
        char *endp;
        errno = 0;
        long long pos = strtoll(t1 + 1, &endp, 10);
        if (errno || endp == t1 + 1 || *endp != '\t' || pos < 0) {
            int rc = reject(s, sink, NULL, NULL, last_chrom, 0, MMDX_EFORMAT, "record %ld: POS is not a number", s->n_records);
            if (rc != MMDX_OK)
                return rc;
            continue;
        }
        if (pos < prev_pos && !s->warned_unsorted) {
            s->warned_unsorted = 1;
            vlog(s, 1, "%s: records are not sorted (%s:%lld after %lld)", s->path, last_chrom, pos, (long long)prev_pos);
        }
        prev_pos = pos;
        if (last_g < 0)
            continue;
        size_t i = lower_bound(s, last_g, pos);
        int hit = i < s->group_end[last_g] && s->sites[i].pos == pos;
        if (!hit) {
            /* only a symbolic (reference-block) record can cover sites it does not start at */
            char *alt = endp + 1;
            for (int f = 0; f < 2 && alt; f++)
                alt = strchr(alt, '\t') ? strchr(alt, '\t') + 1 : NULL;
            if (!alt || (*alt != '<' && *alt != '.' && *alt != '*'))
                continue;
        }
        int ret = vcf_parse1(&s->line, s->hdr, s->rec);
        if (ret < 0 || (s->rec->errcode & (BCF_ERR_NCOLS | BCF_ERR_LIMITS | BCF_ERR_CHAR | BCF_ERR_CTG_INVALID))) {
            int rc = reject(s, sink, NULL, s->rec, last_chrom, pos, MMDX_EFORMAT, "malformed record %ld skipped", s->n_records);
            if (rc != MMDX_OK)
                return rc;
            if (s->n_rejects >= MAX_REJECTS)
                return handle_read_error(s, sink, -3, err);
            continue;
        }
        if (s->rec->rid >= s->n_rid && grow_rid_groups(s, err) != MMDX_OK)
            return MMDX_ENOMEM;
        s->last_rid = s->rec->rid;
        s->last_pos = pos;
        int rc = process_record(s, sink, s->rec);
        if (rc != MMDX_OK)
            return rc;
    }
    if (r < -1)
        return mmdx_modality_error(err, MMDX_EIO, s->path, last_chrom, s->n_records, "read error after record %ld (truncated or corrupt compressed data)", s->n_records);
    return MMDX_OK;
}

static int stream_records(vcf_src_t *s, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    int ret;
    if (!s->is_bcf && !s->all_records)
        return stream_vcf_text(s, sink, err);
    for (;;) {
        ret = bcf_read(s->fp, s->hdr, s->rec);
        if (ret == -1)
            break;
        s->n_records++;
        if (ret < -1 || (s->rec->errcode & (BCF_ERR_NCOLS | BCF_ERR_LIMITS | BCF_ERR_CHAR | BCF_ERR_CTG_INVALID))) {
            int rc = handle_read_error(s, sink, ret, err);
            if (rc != MMDX_OK)
                return rc;
            continue;
        }
        if (s->rec->rid >= s->n_rid && grow_rid_groups(s, err) != MMDX_OK)
            return MMDX_ENOMEM;
        check_order(s, s->rec);
        int rc = s->all_records ? emit_all(s, sink, s->rec) : process_record(s, sink, s->rec);
        if (rc != MMDX_OK)
            return rc;
    }
    return MMDX_OK;
}

/* Name of group @p g's contig as the file or index spells it, or NULL. */
static int index_tid(vcf_src_t *s, int g)
{
    if (s->is_bcf) {
        for (int i = 0; i < s->n_rid; i++)
            if (s->rid_group[i] == g)
                return i;
        return -1;
    }
    int n = 0;
    const char **names = tbx_seqnames(s->tbx, &n);
    int tid = -1;
    char key[256];
    for (int i = 0; names && i < n; i++) {
        vcf_chrom_key(names[i], key, sizeof key);
        if (!strcmp(key, s->group_key[g])) {
            tid = i;
            break;
        }
    }
    free(names);
    return tid;
}

static int query_records(vcf_src_t *s, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    for (size_t g = 0; g < s->n_groups; g++) {
        int tid = index_tid(s, (int)g);
        if (tid < 0)
            continue;
        size_t i = s->group_beg[g];
        while (i < s->group_end[g]) {
            size_t j = i;
            while (j + 1 < s->group_end[g] && s->sites[j + 1].pos - s->sites[j].pos <= 2000)
                j++;
            hts_itr_t *itr = s->is_bcf ? bcf_itr_queryi(s->idx, tid, s->sites[i].pos - 1, s->sites[j].pos)
                                       : tbx_itr_queryi(s->tbx, tid, s->sites[i].pos - 1, s->sites[j].pos);
            if (!itr)
                return mmdx_modality_error(err, MMDX_EFORMAT, s->path, s->group_key[g], 0,
                                           "index query failed for %s:%lld-%lld", s->group_key[g],
                                           (long long)s->sites[i].pos, (long long)s->sites[j].pos);
            int ret, rc = MMDX_OK;
            for (;;) {
                if (s->is_bcf)
                    ret = bcf_itr_next(s->fp, itr, s->rec);
                else {
                    ret = tbx_itr_next(s->fp, s->tbx, itr, &s->line);
                    if (ret >= 0)
                        ret = vcf_parse1(&s->line, s->hdr, s->rec) < 0 ? -2 : 0;
                }
                if (ret == -1)
                    break;
                s->n_records++;
                if (ret < -1) {
                    if (s->is_bcf) {
                        rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, s->group_key[g], s->n_records,
                                                 "unreadable record near %s:%lld (corrupt file or index)",
                                                 s->group_key[g], (long long)s->sites[i].pos);
                        break;
                    }
                    rc = reject(s, sink, NULL, NULL, s->group_key[g], s->sites[i].pos, MMDX_EFORMAT,
                                "malformed record in the region skipped");
                    if (rc != MMDX_OK)
                        break;
                    continue;
                }
                if (s->rec->rid >= 0 && s->rec->rid < s->n_rid && (rc = process_record(s, sink, s->rec)) != MMDX_OK)
                    break;
            }
            hts_itr_destroy(itr);
            if (rc != MMDX_OK)
                return rc;
            i = j + 1;
        }
    }
    return MMDX_OK;
}

/* ---------------------------------------------------------------- output */

static int emit_sites(vcf_src_t *s, const mmdx_sink_t *sink)
{
    size_t n = s->n_samples;
    char prov[1024];
    size_t uncovered = 0;
    for (size_t si = 0; si < s->n_sites; si++) {
        const vcf_site_t *site = &s->sites[si];
        if (!site->feature)
            continue;
        const int8_t *g = s->grid + si * n * 2;
        if (site->prio < 0 && !s->absent_ref) {
            uncovered++;
            snprintf(prov, sizeof prov, "%s: %s:%lld not covered", s->path, site->chrom, (long long)site->pos);
        } else
            snprintf(prov, sizeof prov, "%s:%s:%lld%s", s->path, site->chrom, (long long)site->pos,
                     site->prio < 0 ? " (absent, taken as reference)" : site->filtered ? " (failed FILTER)" : "");
        for (size_t i = 0; i < n; i++) {
            double v = NAN;
            int8_t a = g[2 * i], b = g[2 * i + 1];
            if (site->prio < 0 && s->absent_ref)
                v = 0;
            else if (a != GT_MISSING && a != GT_NOCOVER && b != GT_MISSING && b != GT_NOCOVER)
                v = (a == 1) + (b == 1);
            mmdx_obs_t o = {s->hdr->samples[i], site->feature, MMDX_OBS_DOSAGE, v, NULL, NULL, MMDX_CENSOR_NONE,
                            MMDX_TIME_UNKNOWN, prov};
            int rc = sink->obs(sink->data, &o);
            if (rc != MMDX_OK)
                return rc;
        }
    }
    if (uncovered)
        vlog(s, 1, "%s: %zu panel position(s) not covered by any record (reported missing, not reference%s)", s->path,
             uncovered, s->ref_blocks ? "" : "; use absent=reference if absent means reference");
    return MMDX_OK;
}

/* Polygenic score: sum of weight x ALT dosage over the weights with a called genotype,
 * and the fraction of weights that had one. */
static int emit_prs(vcf_src_t *s, const mmdx_sink_t *sink)
{
    size_t n = s->n_samples;
    char feature[256], cov_feature[300], prov[1024];
    snprintf(feature, sizeof feature, "var:prs:%s", s->prs_name);
    snprintf(cov_feature, sizeof cov_feature, "var:prs:%s:coverage", s->prs_name);
    snprintf(prov, sizeof prov, "derived:polygenic score %s (%zu weights) from %s", s->prs_path, s->n_weights, s->path);
    for (size_t i = 0; i < n; i++) {
        double sum = 0;
        size_t used = 0;
        for (size_t si = 0; si < s->n_sites; si++) {
            const vcf_site_t *site = &s->sites[si];
            if (!site->is_prs)
                continue;
            int8_t a = s->grid[(si * n + i) * 2], b = s->grid[(si * n + i) * 2 + 1];
            if (a == GT_MISSING || a == GT_NOCOVER || b == GT_MISSING || b == GT_NOCOVER)
                continue;
            sum += site->weight * ((a == 1) + (b == 1));
            used++;
        }
        double cov = s->n_weights ? (double)used / (double)s->n_weights : 0;
        mmdx_obs_t o = {s->hdr->samples[i], feature, MMDX_OBS_CONTINUOUS, used ? sum : NAN, NULL, NULL,
                        MMDX_CENSOR_NONE, MMDX_TIME_UNKNOWN, prov};
        int rc = sink->obs(sink->data, &o);
        if (rc != MMDX_OK)
            return rc;
        o.feature = cov_feature;
        o.value = cov;
        if ((rc = sink->obs(sink->data, &o)) != MMDX_OK)
            return rc;
    }
    return MMDX_OK;
}

static int write_row(FILE *f, const char *patient, const pgx_result_t *r)
{
    return fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", patient, r->gene, r->diplotype[0] ? r->diplotype : ".",
                   r->phenotype[0] ? r->phenotype : ".", r->activity[0] ? r->activity : ".", r->certainty, r->n_missing,
                   r->missing[0] ? r->missing : ".", r->ambiguity[0] ? r->ambiguity : ".") < 0;
}

static int emit_pgx(vcf_src_t *s, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    FILE *f = NULL;
    char *tmp = NULL;
    int rc = MMDX_OK;
    if (s->pgx_table) {
        size_t tl = strlen(s->pgx_table) + 16;
        tmp = s->a.malloc(tl);
        if (!tmp)
            return mmdx_modality_error(err, MMDX_ENOMEM, s->pgx_table, "", 0, "out of memory");
        snprintf(tmp, tl, "%s.tmpXXXXXX", s->pgx_table);
        int fd = mkstemp(tmp);
        if (fd < 0 || !(f = fdopen(fd, "w"))) {
            if (fd >= 0)
                close(fd);
            rc = mmdx_modality_error(err, MMDX_EIO, s->pgx_table, "", 0, "cannot create: %s", strerror(errno));
            s->a.free(tmp);
            return rc;
        }
        fprintf(f, "# PGx calls from %s; definitions %s; research use, not a clinical test\n", s->path,
                pgx_tables_version(s->pgxt));
        fprintf(f, "patient_id\tgene\tdiplotype\tphenotype\tactivity_score\tcertainty\tn_missing\tmissing_positions\tambiguity\n");
    }
    char feature[64], prov[1536];
    pgx_result_t res;
    for (size_t i = 0; i < s->n_samples && rc == MMDX_OK; i++) {
        for (size_t gi = 0; gi < pgx_tables_n_genes(s->pgxt); gi++) {
            rc = pgx_call_gene(s->pgxt, gi, s->grid, s->n_samples, i, s->phased, s->ps, s->sites, &res);
            if (rc != MMDX_OK) {
                mmdx_modality_error(err, rc, s->path, s->hdr->samples[i], 0, "PGx calling failed (out of memory)");
                break;
            }
            if (f && write_row(f, s->hdr->samples[i], &res)) {
                rc = mmdx_modality_error(err, MMDX_EIO, s->pgx_table, "", 0, "write error: %s", strerror(errno));
                break;
            }
            if (!res.emit)
                continue;
            snprintf(feature, sizeof feature, "pgx:%s", res.gene);
            snprintf(prov, sizeof prov, "derived:CPIC %s %s (%s certainty) from %s", res.gene, res.diplotype,
                     res.certainty, s->path);
            mmdx_obs_t o = {s->hdr->samples[i], feature, MMDX_OBS_CATEGORICAL, NAN, NULL, res.phenotype,
                            MMDX_CENSOR_NONE, MMDX_TIME_UNKNOWN, prov};
            if ((rc = sink->obs(sink->data, &o)) != MMDX_OK)
                break;
            /* the diplotype beside the phenotype: the decision layer quotes it as the detail */
            snprintf(feature, sizeof feature, "pgx:%s:diplotype", res.gene);
            o.level = res.diplotype;
            if ((rc = sink->obs(sink->data, &o)) != MMDX_OK)
                break;
        }
    }
    if (f) {
        int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
        bad |= fclose(f) != 0;
        if (rc == MMDX_OK && bad)
            rc = mmdx_modality_error(err, MMDX_EIO, s->pgx_table, "", 0, "write error: %s", strerror(errno));
        if (rc == MMDX_OK && rename(tmp, s->pgx_table) != 0)
            rc = mmdx_modality_error(err, MMDX_EIO, s->pgx_table, "", 0, "cannot rename into place: %s", strerror(errno));
        if (rc != MMDX_OK)
            unlink(tmp);
        s->a.free(tmp);
    }
    return rc;
}

static int vmod_read(void *p, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    vcf_src_t *s = p;
    size_t n = s->n_samples;
    int rc;
    if (!sink || !sink->obs)
        return mmdx_modality_error(err, MMDX_EINVAL, s->path, "", 0, "sink has no obs callback");
    if (s->grid || s->n_records)
        return mmdx_modality_error(err, MMDX_ESTATE, s->path, "", 0, "source already read");
    for (size_t i = 0; i < n; i++)
        if (sink->patient && (rc = sink->patient(sink->data, s->hdr->samples[i])) != MMDX_OK)
            return rc;
    if (!s->all_records) {
        size_t cells = s->n_sites * (n ? n : 1);
        if (s->n_sites && cells / s->n_sites != (n ? n : 1))
            return mmdx_modality_error(err, MMDX_ENOMEM, s->path, "", 0, "sites x samples overflows");
        s->grid = s->a.malloc(cells * 2 + 1);
        s->phased = s->a.malloc(cells + 1);
        if (!s->grid || !s->phased)
            return mmdx_modality_error(err, MMDX_ENOMEM, s->path, "", 0, "out of memory for %zu sites x %zu samples",
                                       s->n_sites, n);
        memset(s->grid, (unsigned char)GT_NOCOVER, cells * 2);
        memset(s->phased, 0, cells);
        if (s->pgxt) {
            s->ps = s->a.malloc((cells + 1) * sizeof *s->ps);
            if (!s->ps)
                return mmdx_modality_error(err, MMDX_ENOMEM, s->path, "", 0, "out of memory for phase sets");
            memset(s->ps, 0, cells * sizeof *s->ps);
        }
    }
    rc = s->use_index ? query_records(s, sink, err) : stream_records(s, sink, err);
    if (rc != MMDX_OK)
        return rc;
    if (s->all_records)
        return MMDX_OK;
    if (s->absent_ref)
        for (size_t si = 0; si < s->n_sites; si++)
            if (s->sites[si].prio < 0)
                memset(s->grid + si * n * 2, 0, n * 2);
    if ((rc = emit_sites(s, sink)) != MMDX_OK)
        return rc;
    if (s->prs_path && (rc = emit_prs(s, sink)) != MMDX_OK)
        return rc;
    if (s->pgxt && (rc = emit_pgx(s, sink, err)) != MMDX_OK)
        return rc;
    return MMDX_OK;
}

static const mmdx_modality_desc_t vcf_desc = {
    MMDX_ABI_MAJOR,
    MMDX_ABI_MINOR,
    sizeof(mmdx_modality_desc_t),
    "vcf",
    "1.0",
    "MIT",
    "Genetic variants (VCF, VCF.gz, BCF via htslib): panel dosages and PGx phenotypes",
    "variants",
    {vmod_init, vmod_fini, vmod_probe, vmod_open, vmod_read, vmod_close, {NULL}},
    {NULL},
};

MMDX_MODALITY_EXPORT(vcf)
{
    return &vcf_desc;
}
