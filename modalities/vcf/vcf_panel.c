/* Panel TSV (docs/formats/panel.md), contig-name harmonisation and genome builds. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "vcf_internal.h"

char *vcf_strdup(const vcf_alloc_t *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = a->malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void vcf_chrom_key(const char *chrom, char *out, size_t size)
{
    if (strncasecmp(chrom, "chr", 3) == 0 && chrom[3] != '\0')
        chrom += 3;
    if (strcasecmp(chrom, "MT") == 0 || strcasecmp(chrom, "M") == 0)
        chrom = "M";
    snprintf(out, size, "%s", chrom);
    for (char *p = out; *p; p++)
        if (*p == 'x' || *p == 'y')
            *p = (char)toupper((unsigned char)*p);
}

static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

int vcf_build_from_name(const char *name)
{
    static const char *const b38[] = {"GRCh38", "hg38", "b38", "hs38", "GCA_000001405.15", "GCF_000001405.26"};
    static const char *const b37[] = {"GRCh37", "hg19", "b37", "hs37", "human_g1k_v37", "GCF_000001405.13"};
    for (size_t i = 0; i < sizeof b38 / sizeof b38[0]; i++)
        if (ci_contains(name, b38[i]))
            return BUILD_GRCH38;
    for (size_t i = 0; i < sizeof b37 / sizeof b37[0]; i++)
        if (ci_contains(name, b37[i]))
            return BUILD_GRCH37;
    return BUILD_UNKNOWN;
}

/* Lengths of the primary assembly chromosomes (NCBI assembly reports). */
static const struct {
    const char *key;
    int64_t grch37, grch38;
} contig_lengths[] = {
    {"1", 249250621, 248956422},  {"2", 243199373, 242193529},  {"3", 198022430, 198295559},
    {"4", 191154276, 190214555},  {"5", 180915260, 181538259},  {"6", 171115067, 170805979},
    {"7", 159138663, 159345973},  {"8", 146364022, 145138636},  {"9", 141213431, 138394717},
    {"10", 135534747, 133797422}, {"11", 135006516, 135086622}, {"12", 133851895, 133275309},
    {"13", 115169878, 114364328}, {"14", 107349540, 107043718}, {"15", 102531392, 101991189},
    {"16", 90354753, 90338345},   {"17", 81195210, 83257441},   {"18", 78077248, 80373285},
    {"19", 59128983, 58617616},   {"20", 63025520, 64444167},   {"21", 48129895, 46709983},
    {"22", 51304566, 50818468},   {"X", 155270560, 156040895},  {"Y", 59373566, 57227415},
};

int vcf_build_from_contig(const char *chrom_key, int64_t length)
{
    for (size_t i = 0; i < sizeof contig_lengths / sizeof contig_lengths[0]; i++) {
        if (strcmp(contig_lengths[i].key, chrom_key) != 0)
            continue;
        if (length == contig_lengths[i].grch37)
            return BUILD_GRCH37;
        if (length == contig_lengths[i].grch38)
            return BUILD_GRCH38;
        return BUILD_UNKNOWN;
    }
    return BUILD_UNKNOWN;
}

const char *vcf_build_name(int build)
{
    return build == BUILD_GRCH38 ? "GRCh38" : build == BUILD_GRCH37 ? "GRCh37" : "unknown";
}

void vcf_site_clear(const vcf_alloc_t *a, vcf_site_t *s)
{
    if (s->alleles)
        for (int i = 0; i < s->n_alleles; i++)
            a->free(s->alleles[i]);
    a->free(s->alleles);
    a->free(s->chrom_key);
    a->free(s->chrom);
    a->free(s->feature);
    a->free(s->panel_id);
    memset(s, 0, sizeof *s);
}

static int valid_allele(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!strchr("ACGTNacgtn", *s))
            return 0;
    return 1;
}

/* Split @p line at tabs into at most @p max fields (in place). */
static int split_tabs(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        f[n++] = p;
        p = strchr(p, '\t');
        if (!p)
            break;
        *p++ = '\0';
    }
    return p ? -1 : n; /* -1: more fields than expected */
}

static int grow_sites(const vcf_alloc_t *a, vcf_site_t **sites, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    vcf_site_t *p = a->realloc(*sites, nc * sizeof *p);
    if (!p)
        return -1;
    *sites = p;
    *cap = nc;
    return 0;
}

int vcf_panel_read(const vcf_alloc_t *a, const char *path, vcf_site_t **sites, size_t *n_sites,
                   size_t *cap, int *build_out, mmdx_error_t *err)
{
    static const char *const cols[] = {"id", "chrom", "pos", "ref", "alt", "gene", "build"};
    FILE *f = fopen(path, "r");
    char buf[4096];
    long line = 0;
    int rc = MMDX_OK, build = BUILD_UNKNOWN, have_header = 0;
    if (!f)
        return mmdx_modality_error(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, path, "panel", 0,
                                   "cannot open panel: %s", strerror(errno));
    while (fgets(buf, sizeof buf, f)) {
        char *fld[8], key[64];
        line++;
        size_t len = strlen(buf);
        if (len == sizeof buf - 1 && buf[len - 1] != '\n') {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "panel", line, "line longer than %zu bytes", sizeof buf - 2);
            goto done;
        }
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        if (len == 0 || buf[0] == '#')
            continue;
        int nf = split_tabs(buf, fld, 7);
        if (!have_header) {
            if (nf != 7) {
                rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "panel", line,
                                         "header must have the 7 columns id, chrom, pos, ref, alt, gene, build");
                goto done;
            }
            for (int i = 0; i < 7; i++)
                if (strcmp(fld[i], cols[i]) != 0) {
                    rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "panel", line,
                                             "column %d is '%s', expected '%s'", i + 1, fld[i], cols[i]);
                    goto done;
                }
            have_header = 1;
            continue;
        }
        if (nf != 7) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "panel", line, "expected 7 tab-separated fields, found %s",
                                     nf < 0 ? "more" : "fewer");
            goto done;
        }
        char *end;
        errno = 0;
        long long pos = strtoll(fld[2], &end, 10);
        if (errno || *end || end == fld[2] || pos < 1) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, fld[0], line, "position '%s' is not a positive integer", fld[2]);
            goto done;
        }
        if (!valid_allele(fld[3]) || !valid_allele(fld[4])) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, fld[0], line,
                                     "REF '%s' / ALT '%s' must be non-empty A/C/G/T/N strings", fld[3], fld[4]);
            goto done;
        }
        if (strcmp(fld[3], fld[4]) == 0) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, fld[0], line, "ALT equals REF (%s)", fld[3]);
            goto done;
        }
        int b = vcf_build_from_name(fld[6]);
        if (b == BUILD_UNKNOWN) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, fld[0], line, "unknown genome build '%s' (GRCh37 or GRCh38)", fld[6]);
            goto done;
        }
        if (build != BUILD_UNKNOWN && b != build) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, fld[0], line, "build %s differs from earlier rows (%s)",
                                     fld[6], vcf_build_name(build));
            goto done;
        }
        build = b;
        if (grow_sites(a, sites, *n_sites, cap) < 0)
            goto nomem;
        vcf_site_t *s = &(*sites)[*n_sites];
        memset(s, 0, sizeof *s);
        s->prio = -1;
        vcf_chrom_key(fld[1], key, sizeof key);
        size_t flen = strlen(fld[1]) + strlen(fld[2]) + strlen(fld[3]) + strlen(fld[4]) + 16;
        s->chrom_key = vcf_strdup(a, key);
        s->chrom = vcf_strdup(a, fld[1]);
        s->panel_id = vcf_strdup(a, fld[0]);
        s->alleles = a->malloc(2 * sizeof *s->alleles);
        s->feature = a->malloc(flen);
        (*n_sites)++; /* owned by the array from here on, even half-built */
        if (!s->chrom_key || !s->chrom || !s->panel_id || !s->alleles || !s->feature)
            goto nomem;
        s->alleles[0] = vcf_strdup(a, fld[3]);
        s->alleles[1] = vcf_strdup(a, fld[4]);
        s->n_alleles = 2;
        if (!s->alleles[0] || !s->alleles[1])
            goto nomem;
        for (char *p = s->alleles[0]; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        for (char *p = s->alleles[1]; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        s->pos = pos;
        snprintf(s->feature, flen, "var:%s:%lld:%s:%s", fld[1], pos, s->alleles[0], s->alleles[1]);
    }
    if (ferror(f)) {
        rc = mmdx_modality_error(err, MMDX_EIO, path, "panel", line, "read error");
        goto done;
    }
    if (!have_header) {
        rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "panel", line, "empty panel (no header line)");
        goto done;
    }
    *build_out = build;
done:
    fclose(f);
    return rc;
nomem:
    fclose(f);
    return mmdx_modality_error(err, MMDX_ENOMEM, path, "panel", line, "out of memory");
}

int vcf_weights_read(const vcf_alloc_t *a, const char *path, vcf_site_t **sites, size_t *n_sites, size_t *cap,
                     size_t *n_weights, mmdx_error_t *err)
{
    static const char *const cols[] = {"chrom", "pos", "ref", "alt", "weight"};
    FILE *f = fopen(path, "r");
    char buf[4096], key[64];
    long line = 0;
    int rc = MMDX_OK, have_header = 0;
    *n_weights = 0;
    if (!f)
        return mmdx_modality_error(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, path, "weights", 0,
                                   "cannot open weights: %s", strerror(errno));
    while (fgets(buf, sizeof buf, f)) {
        char *fld[6];
        line++;
        size_t len = strlen(buf);
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        if (len == 0 || buf[0] == '#')
            continue;
        int nf = split_tabs(buf, fld, 5);
        if (!have_header) {
            for (int i = 0; i < 5; i++)
                if (nf != 5 || strcmp(fld[i], cols[i]) != 0) {
                    rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "weights", line,
                                             "header must be chrom, pos, ref, alt, weight (tab-separated)");
                    goto done;
                }
            have_header = 1;
            continue;
        }
        char *end;
        if (nf != 5) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "weights", line, "expected 5 tab-separated fields");
            goto done;
        }
        errno = 0;
        long long pos = strtoll(fld[1], &end, 10);
        if (errno || *end || end == fld[1] || pos < 1) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "weights", line, "position '%s' is not a positive integer", fld[1]);
            goto done;
        }
        errno = 0;
        double w = strtod(fld[4], &end);
        if (errno || *end || end == fld[4] || w != w || w - w != 0) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "weights", line, "weight '%s' is not a finite number", fld[4]);
            goto done;
        }
        if (!valid_allele(fld[2]) || !valid_allele(fld[3]) || strcmp(fld[2], fld[3]) == 0) {
            rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "weights", line, "invalid REF '%s' / ALT '%s'", fld[2], fld[3]);
            goto done;
        }
        if (grow_sites(a, sites, *n_sites, cap) < 0)
            goto nomem;
        vcf_site_t *s = &(*sites)[*n_sites];
        memset(s, 0, sizeof *s);
        s->prio = -1;
        s->is_prs = 1;
        s->weight = w;
        s->pos = pos;
        vcf_chrom_key(fld[0], key, sizeof key);
        s->chrom_key = vcf_strdup(a, key);
        s->chrom = vcf_strdup(a, fld[0]);
        s->alleles = a->malloc(2 * sizeof *s->alleles);
        (*n_sites)++;
        if (!s->chrom_key || !s->chrom || !s->alleles)
            goto nomem;
        s->alleles[0] = vcf_strdup(a, fld[2]);
        s->alleles[1] = vcf_strdup(a, fld[3]);
        s->n_alleles = 2;
        if (!s->alleles[0] || !s->alleles[1])
            goto nomem;
        for (char *p = s->alleles[0]; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        for (char *p = s->alleles[1]; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        (*n_weights)++;
    }
    if (!have_header)
        rc = mmdx_modality_error(err, MMDX_EFORMAT, path, "weights", line, "empty weights file (no header line)");
done:
    fclose(f);
    return rc;
nomem:
    fclose(f);
    return mmdx_modality_error(err, MMDX_ENOMEM, path, "weights", line, "out of memory");
}
