/* Test helpers for the VCF modality: a host table, a sink that keeps what it gets, and
 * writers for small VCF / VCF.gz / BCF files. Used by check_vcf, check_pgx and bench_vcf. */
#ifndef VCF_TEST_UTIL_H
#define VCF_TEST_UTIL_H

#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/tbx.h>
#include <htslib/vcf.h>
#include <mmdx/modality.h>

const mmdx_modality_desc_t *mmdx_modality_vcf_get_desc(void);

typedef struct tobs {
    char *patient, *feature, *level, *prov;
    double value;
} tobs_t;

typedef struct tsink {
    tobs_t *obs;
    size_t n, cap;
    char **rej; /* "patient|record|reason" */
    size_t n_rej, cap_rej;
    char **patients;
    size_t n_pat, cap_pat;
    int keep; /* 0: count only (benchmarks) */
    char log[4096];
} tsink_t;

static inline char *t_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static inline int t_obs(void *data, const mmdx_obs_t *o)
{
    tsink_t *t = data;
    if (!t->keep) {
        t->n++;
        return MMDX_OK;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->obs = realloc(t->obs, t->cap * sizeof *t->obs);
    }
    tobs_t *x = &t->obs[t->n++];
    x->patient = t_strdup(o->patient);
    x->feature = t_strdup(o->feature);
    x->level = t_strdup(o->level);
    x->prov = t_strdup(o->provenance);
    x->value = o->value;
    return MMDX_OK;
}

static inline int t_reject(void *data, const char *patient, const char *file, long record, int code, const char *reason)
{
    tsink_t *t = data;
    char buf[2048];
    (void)code;
    snprintf(buf, sizeof buf, "%s|%s|%ld|%s", patient ? patient : "-", file, record, reason);
    if (t->n_rej == t->cap_rej) {
        t->cap_rej = t->cap_rej ? 2 * t->cap_rej : 16;
        t->rej = realloc(t->rej, t->cap_rej * sizeof *t->rej);
    }
    t->rej[t->n_rej++] = strdup(buf);
    return MMDX_OK;
}

static inline int t_patient(void *data, const char *p)
{
    tsink_t *t = data;
    if (!t->keep)
        return MMDX_OK;
    if (t->n_pat == t->cap_pat) {
        t->cap_pat = t->cap_pat ? 2 * t->cap_pat : 16;
        t->patients = realloc(t->patients, t->cap_pat * sizeof *t->patients);
    }
    t->patients[t->n_pat++] = strdup(p);
    return MMDX_OK;
}

static inline void t_log(void *host_data, int level, const char *msg)
{
    tsink_t *t = host_data;
    (void)level;
    if (t)
        snprintf(t->log + strlen(t->log), sizeof t->log - strlen(t->log), "%s\n", msg);
}

static inline void tsink_free(tsink_t *t)
{
    for (size_t i = 0; i < t->n && t->keep; i++) {
        free(t->obs[i].patient);
        free(t->obs[i].feature);
        free(t->obs[i].level);
        free(t->obs[i].prov);
    }
    free(t->obs);
    for (size_t i = 0; i < t->n_rej; i++)
        free(t->rej[i]);
    free(t->rej);
    for (size_t i = 0; i < t->n_pat; i++)
        free(t->patients[i]);
    free(t->patients);
    memset(t, 0, sizeof *t);
}

/* Value of (patient, feature): the value, NAN if missing, -99 if absent. */
static inline double t_value(const tsink_t *t, const char *patient, const char *feature)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->obs[i].patient, patient) && !strcmp(t->obs[i].feature, feature))
            return t->obs[i].value;
    return -99;
}

static inline const tobs_t *t_find(const tsink_t *t, const char *patient, const char *feature)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->obs[i].patient, patient) && !strcmp(t->obs[i].feature, feature))
            return &t->obs[i];
    return NULL;
}

/* Allocation through the host table can be made to fail at the Nth call. */
static long t_fail_at = -1, t_alloc_count;
static inline void *t_malloc(size_t n)
{
    if (t_fail_at >= 0 && ++t_alloc_count >= t_fail_at)
        return NULL;
    return malloc(n);
}
static inline void *t_realloc(void *p, size_t n)
{
    if (t_fail_at >= 0 && ++t_alloc_count >= t_fail_at)
        return NULL;
    return realloc(p, n);
}

/* Run the modality over @p path with NULL-terminated @p options into @p sink. */
static inline int t_run(const char *path, const char *const *options, tsink_t *sink, mmdx_error_t *err, int threads)
{
    const mmdx_modality_desc_t *d = mmdx_modality_vcf_get_desc();
    const char *dd = getenv("MMDX_DATA_DIR");
    mmdx_host_t host = {MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof(mmdx_host_t), t_malloc, t_realloc, free, t_log, sink,
                        dd ? dd : "data", threads, {NULL}};
    mmdx_sink_t s = {sink, t_obs, NULL, t_reject, t_patient, {NULL}};
    void *state = NULL, *src = NULL;
    int rc = d->ops.init(&host, &state, err);
    if (rc != MMDX_OK)
        return rc;
    rc = d->ops.open(state, path, options, &src, err);
    if (rc == MMDX_OK) {
        rc = d->ops.read(src, &s, err);
        d->ops.close(src);
    }
    d->ops.fini(state);
    return rc;
}

static inline void t_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* bgzip @p text into @p path and build a .tbi index. 0 on success. */
static inline int t_write_gz(const char *path, const char *text)
{
    BGZF *z = bgzf_open(path, "w");
    if (!z)
        return -1;
    if (bgzf_write(z, text, strlen(text)) < 0) {
        bgzf_close(z);
        return -1;
    }
    if (bgzf_close(z) < 0)
        return -1;
    return tbx_index_build(path, 0, &tbx_conf_vcf);
}

/* Convert VCF @p in to BCF @p out and build a .csi index. 0 on success. */
static inline int t_vcf_to_bcf(const char *in, const char *out)
{
    htsFile *fi = hts_open(in, "r"), *fo = hts_open(out, "wb");
    int rc = -1;
    if (!fi || !fo)
        goto done;
    bcf_hdr_t *h = bcf_hdr_read(fi);
    if (!h)
        goto done;
    bcf1_t *r = bcf_init();
    if (bcf_hdr_write(fo, h) < 0)
        goto done2;
    while (bcf_read(fi, h, r) == 0)
        if (bcf_write(fo, h, r) < 0)
            goto done2;
    rc = 0;
done2:
    bcf_destroy(r);
    bcf_hdr_destroy(h);
done:
    if (fi)
        hts_close(fi);
    if (fo)
        hts_close(fo);
    return rc == 0 ? bcf_index_build(out, 14) : rc;
}

#endif
