/* Benchmark: HDF5 cohort file write and read throughput. Prints figures, never fails on
 * time. usage: bench_cohort [N_PATIENTS [N_FEATURES [CHUNK_ROWS [DIR]]]]
 * (default 100000 x 200 in chunks of 4096 rows). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mmdx/mmdx.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    size_t d = argc > 2 ? strtoul(argv[2], NULL, 10) : 200;
    size_t step = argc > 3 ? strtoul(argv[3], NULL, 10) : 4096;
    const char *dir = argc > 4 ? argv[4] : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_cohort_writer_t *w = NULL;
    mmdx_cohort_reader_t *r = NULL;
    mmdx_cohort_t *c = NULL;
    mmdx_error_t e = {0};
    const char *bin[] = {"0", "1"};
    char path[4096], id[64];
    double t0, t_write, t_read, sum = 0, mb;
    size_t rows = 0, present = 0;
    struct stat st;
    unsigned long long x = 88172645463325252ull;
    int rc;
    if (s == NULL || n == 0 || d == 0 || step == 0)
        return 2;
    for (size_t j = 0; j < d; j++) {
        snprintf(id, sizeof id, "img:bench:f%zu", j);
        if (mmdx_space_add_feature(s, id, MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL) != MMDX_OK)
            return 1;
    }
    if (mmdx_space_add_target(s, "dx", 2, bin, NULL) != MMDX_OK)
        return 1;
    snprintf(path, sizeof path, "%s/bench-cohort-%ld.h5", dir, (long)getpid());

    t0 = now();
    if (mmdx_cohort_writer_open(NULL, path, s, &w, &e) != MMDX_OK)
        goto fail;
    for (size_t first = 0; first < n; first += step) {
        size_t k = n - first < step ? n - first : step;
        c = mmdx_cohort_alloc(s, k);
        if (c == NULL)
            return 1;
        for (size_t i = 0; i < k; i++) {
            snprintf(id, sizeof id, "patient-%09zu", first + i);
            if (mmdx_cohort_set_id(c, i, id) != MMDX_OK)
                return 1;
            mmdx_cohort_set_label(c, i, 0, (int)((first + i) % 2));
        }
        for (size_t j = 0; j < d; j++) {
            double *col = mmdx_cohort_column(c, j);
            uint8_t *fl = mmdx_cohort_flags(c, j);
            for (size_t i = 0; i < k; i++) {
                x ^= x << 13; /* xorshift: cheap, reproducible values; 10% missing */
                x ^= x >> 7;
                x ^= x << 17;
                if (x % 10 == 0)
                    continue;
                col[i] = (double)(x % 100000) / 1000.0;
                fl[i] = 0;
            }
        }
        if (mmdx_cohort_writer_append(w, c, &e) != MMDX_OK)
            goto fail;
        mmdx_cohort_free(c);
        c = NULL;
    }
    if (mmdx_cohort_writer_commit(w, &e) != MMDX_OK)
        goto fail;
    t_write = now() - t0;
    if (stat(path, &st) != 0)
        return 1;

    t0 = now();
    if (mmdx_cohort_reader_open(NULL, path, &r, &e) != MMDX_OK)
        goto fail;
    while ((rc = mmdx_cohort_reader_next(r, step, &c, &e)) == 1) {
        size_t k = mmdx_cohort_n_patients(c);
        for (size_t j = 0; j < d; j++) {
            const double *col = mmdx_cohort_column_const(c, j);
            const uint8_t *fl = mmdx_cohort_flags_const(c, j);
            for (size_t i = 0; i < k; i++)
                if (!(fl[i] & MMDX_VAL_MISSING)) {
                    sum += col[i];
                    present++;
                }
        }
        rows += k;
        mmdx_cohort_free(c);
    }
    if (rc < 0)
        goto fail;
    mmdx_cohort_reader_close(r);
    t_read = now() - t0;
    /* the collector: the same rows as dense blocks (as the imaging adapter sends them) */
    double t_collect, t_cohort;
    {
        mmdx_space_t *cs = mmdx_space_alloc();
        mmdx_collect_t *col = cs ? mmdx_collect_alloc(NULL, cs, MMDX_AGG_LATEST) : NULL;
        const mmdx_sink_t *sink = mmdx_collect_sink(col);
        char **pids = malloc(step * sizeof *pids), **fids = malloc(d * sizeof *fids);
        double *vals = malloc(step * d * sizeof *vals);
        mmdx_cohort_t *all = NULL;
        if (col == NULL || pids == NULL || fids == NULL || vals == NULL)
            return 1;
        for (size_t j = 0; j < d; j++) {
            fids[j] = malloc(32);
            snprintf(fids[j], 32, "img:bench:f%zu", j);
        }
        for (size_t i = 0; i < step; i++)
            pids[i] = malloc(32);
        t0 = now();
        for (size_t first = 0; first < n; first += step) {
            size_t k = n - first < step ? n - first : step;
            mmdx_block_t b;
            for (size_t i = 0; i < k; i++) {
                snprintf(pids[i], 32, "patient-%09zu", first + i);
                for (size_t j = 0; j < d; j++)
                    vals[i * d + j] = (double)((first + i) * 31 + j) / 7.0;
            }
            b.n = k;
            b.d = d;
            b.patients = (const char *const *)pids;
            b.features = (const char *const *)fids;
            b.units = NULL;
            b.values = vals;
            b.provenance = "bench";
            if (sink->block(sink->data, &b) != MMDX_OK)
                return 1;
        }
        t_collect = now() - t0;
        t0 = now();
        if (mmdx_collect_to_cohort(col, &all, &e) != MMDX_OK)
            goto fail;
        t_cohort = now() - t0;
        mmdx_cohort_free(all);
        mmdx_collect_free(col);
        mmdx_space_free(cs);
        for (size_t j = 0; j < d; j++)
            free(fids[j]);
        for (size_t i = 0; i < step; i++)
            free(pids[i]);
        free(fids);
        free(pids);
        free(vals);
    }
    mb = (double)n * (double)d * 9.0 / 1e6; /* a double and a flag byte per value */
    printf("bench_cohort: %zu patients x %zu features, chunks of %zu rows, file %.1f MB\n", n, d, step,
           (double)st.st_size / 1e6);
    printf("  write: %.2f s  %.0f rows/s  %.1f MB/s of values+flags (incl. fsync)\n", t_write, (double)n / t_write,
           mb / t_write);
    printf("  read:  %.2f s  %.0f rows/s  %.1f MB/s  (%zu rows, %zu values present, checksum %.6g)\n", t_read,
           (double)rows / t_read, mb / t_read, rows, present, sum);
    printf("  collect: %.2f s  %.0f rows/s as dense blocks of %zu rows; to_cohort %.2f s\n", t_collect,
           (double)n / t_collect, step, t_cohort);
    unlink(path);
    mmdx_space_free(s);
    return 0;
fail:
    fprintf(stderr, "bench_cohort: %s: %s (%s)\n", e.file, e.message, mmdx_strerror(e.code));
    unlink(path);
    return 1;
}
