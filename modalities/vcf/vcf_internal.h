/* Internal to the VCF modality (vcf.c, vcf_panel.c, pgx_call.c): target sites, the
 * genotype grid they are read into, and the PGx caller. Built into the plugin and into
 * libmmdx.a from the same sources; never installed. */
#ifndef MMDX_VCF_INTERNAL_H
#define MMDX_VCF_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <mmdx/modality.h>

/* Per (site, sample, haplotype) allele codes of the genotype grid. Codes >= 0 index the
 * site's own allele list (0 = its REF). */
#define GT_NOCOVER ((int8_t)-2) /* no record of the file covers the site */
#define GT_MISSING ((int8_t)-1) /* covered, but not called (./., filtered, low GQ/DP) */
#define GT_END ((int8_t)-3)     /* second slot of a haploid call */
#define GT_OTHER ((int8_t)100)  /* an allele that is not in the site's list */

/* Genome builds the adapter knows. */
enum { BUILD_UNKNOWN = 0, BUILD_GRCH37 = 37, BUILD_GRCH38 = 38 };

/* One site to extract: a panel variant or a PGx position. */
typedef struct vcf_site {
    char *chrom_key;     /* harmonised contig name: no "chr" prefix, "M" for MT */
    char *chrom;         /* contig as written by the panel or table (used in feature ids) */
    int64_t pos;         /* 1-based */
    char **alleles;      /* [n_alleles]; alleles[0] is REF */
    int n_alleles;
    char *feature;       /* "var:<chrom>:<pos>:<ref>:<alt>" for panel sites, else NULL */
    char *panel_id;      /* panel row id (for messages), or NULL */
    int is_prs;          /* a polygenic-score weight (weight applies to alleles[1]) */
    double weight;
    int prio;            /* best kind of record seen so far (-1: none) */
    int filtered;        /* the record that set the calls failed the FILTER option */
} vcf_site_t;

/* Allocation through the host table (plugins never link against libmmdx). */
typedef struct vcf_alloc {
    void *(*malloc)(size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
} vcf_alloc_t;

char *vcf_strdup(const vcf_alloc_t *a, const char *s);
/* Harmonised contig key of @p chrom: "chr1" and "1" both give "1", "chrM"/"MT" give "M". */
void vcf_chrom_key(const char *chrom, char *out, size_t size);
/* BUILD_* from a build name ("GRCh38", "hg38", "b37", ...), BUILD_UNKNOWN otherwise. */
int vcf_build_from_name(const char *name);
/* BUILD_* from a harmonised contig key and its length, BUILD_UNKNOWN when not known. */
int vcf_build_from_contig(const char *chrom_key, int64_t length);
const char *vcf_build_name(int build);

/* Read a panel TSV (docs/formats/panel.md) and append its sites. *build_out receives the
 * panel's build (all rows must agree). Errors name file, line and reason. */
int vcf_panel_read(const vcf_alloc_t *a, const char *path, vcf_site_t **sites, size_t *n_sites,
                   size_t *cap, int *build_out, mmdx_error_t *err);
void vcf_site_clear(const vcf_alloc_t *a, vcf_site_t *s);
/* Read a polygenic-score weights TSV (chrom, pos, ref, alt, weight; docs/formats/panel.md)
 * and append a site per weight. */
int vcf_weights_read(const vcf_alloc_t *a, const char *path, vcf_site_t **sites, size_t *n_sites, size_t *cap,
                     size_t *n_weights, mmdx_error_t *err);

/* ---- pharmacogenomics (pgx_call.c) ---- */
typedef struct pgx_tables pgx_tables_t;

/* Load data_dir/pgx/{pgx_positions,pgx_alleles,pgx_diplotypes,pgx_sources}.tsv. */
int pgx_tables_load(const vcf_alloc_t *a, const char *data_dir, pgx_tables_t **out, mmdx_error_t *err);
void pgx_tables_free(pgx_tables_t *t);
/* Append a site for every PGx position; remember their indices. */
int pgx_tables_add_sites(pgx_tables_t *t, vcf_site_t **sites, size_t *n_sites, size_t *cap,
                         mmdx_error_t *err);
/* Called when the sites array has been reordered: perm[old] = new index. */
void pgx_tables_remap_sites(pgx_tables_t *t, const size_t *perm);

/* One gene call for one sample. Strings point into @p res's own buffers. */
typedef struct pgx_result {
    const char *gene;
    char diplotype[256];
    char phenotype[128];
    char activity[32];   /* activity score or "" */
    const char *certainty; /* "high", "reduced", "ambiguous" or "none" */
    char missing[2048];  /* comma-separated chrom:pos of uncalled positions, or "" */
    int n_missing;
    char ambiguity[2048]; /* other admissible diplotypes, ';'-separated, or "" */
    char phenotypes[1024]; /* every phenotype an admissible diplotype has, '|'-separated, or "" */
    int emit;            /* 1: the phenotype is determined and can be an observation */
} pgx_result_t;

size_t pgx_tables_n_genes(const pgx_tables_t *t);
/* Call gene @p g for one sample from the genotype grid ([site][sample][2] allele codes),
 * the phase flags and phase sets ([site][sample]; @p ps may be NULL: one set). */
int pgx_call_gene(pgx_tables_t *t, size_t g, const int8_t *grid, size_t n_samples, size_t sample,
                  const uint8_t *phased, const int32_t *ps, const vcf_site_t *sites, pgx_result_t *res);
/* Version text of the tables ("CLINPGX 2025-11-05-00-25"). Borrowed. */
const char *pgx_tables_version(const pgx_tables_t *t);

#endif
