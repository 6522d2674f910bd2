#define _POSIX_C_SOURCE 200809L
/* Benchmark of the fusion model: training throughput (patients/s), scoring throughput
 * (patient-target predictions/s, with the Bayesian predictive and the imputation
 * variance), peak RSS, and the fraction of the machine's dgemm rate training reaches.
 * Synthetic data: D features in one modality, correlated, 10% missing at random, one
 * binary target. Prints figures; never fails on time.
 * Usage: bench_fusion [--threads T] [--max-n N] [D...]   (default D = 16 64 256) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <cblas.h>
#include <mmdx/mmdx.h>

static uint64_t st = 12345;
static double urand(void)
{
    uint64_t z = (st += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}
static double nrand(void)
{
    return sqrt(-2 * log(urand())) * cos(6.283185307179586 * urand());
}
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static double peak_rss_mb(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_maxrss / 1024.0;
}

static mmdx_cohort_t *make(mmdx_space_t *s, size_t n, size_t D)
{
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, n);
    if (!c) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "B%zu", i);
        if (mmdx_cohort_set_id(c, i, id) != MMDX_OK) {
            return NULL;
        }
        double f = nrand(), eta = -0.2;
        for (size_t j = 0; j < D; j++) {
            double x = 0.5 * f + 0.87 * nrand();
            eta += (j % 3 == 0 ? 0.6 : -0.2) * x / sqrt((double)D / 8.0);
            if (urand() >= 0.1) {
                mmdx_cohort_set(c, i, j, x, 0);
            }
        }
        mmdx_cohort_set_label(c, i, 0, urand() < 1 / (1 + exp(-eta)));
    }
    return c;
}

static double dgemm_gflops(void)
{
    int n = 1000;
    double *a = malloc((size_t)n * n * sizeof(double)), *b = malloc((size_t)n * n * sizeof(double)),
           *c = calloc((size_t)n * n, sizeof(double));
    for (int i = 0; i < n * n; i++) {
        a[i] = urand();
        b[i] = urand();
    }
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n); /* warm-up */
    double t0 = now();
    int reps = 3;
    for (int r = 0; r < reps; r++) {
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    }
    double g = 2.0 * n * (double)n * n * reps / (now() - t0) / 1e9;
    free(a);
    free(b);
    free(c);
    return g;
}

int main(int argc, char **argv)
{
    int threads = 1;
    size_t max_n = 100000, Ds[8] = {16, 64, 256}, nD = 3, nDarg = 0;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc) {
            threads = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--max-n") == 0 && a + 1 < argc) {
            max_n = strtoul(argv[++a], NULL, 10);
        } else if (nDarg < 8) {
            Ds[nDarg++] = strtoul(argv[a], NULL, 10);
        }
    }
    if (nDarg) {
        nD = nDarg;
    }
    openblas_set_num_threads(threads);
    double peak = dgemm_gflops();
    printf("bench_fusion: %d thread%s, dgemm %.1f GFLOP/s; one modality of D features, 10%% missing, 1 target\n",
           threads, threads == 1 ? "" : "s", peak);
    printf("%6s %8s %7s %12s %14s %10s %10s %9s\n", "D", "N", "passes", "train pat/s", "score pred/s", "train GF/s",
           "of dgemm", "RSS MB");
    for (size_t k = 0; k < nD; k++) {
        size_t D = Ds[k];
        for (size_t n = 10000; n <= max_n; n *= 10) {
            mmdx_space_t *s = mmdx_space_alloc();
            for (size_t j = 0; j < D; j++) {
                char id[32];
                snprintf(id, sizeof(id), "img:bench:f%zu", j);
                if (mmdx_space_add_feature(s, id, MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL) != MMDX_OK) {
                    return 1;
                }
            }
            const char *cls[] = {"0", "1"};
            if (mmdx_space_add_target(s, "y", 2, cls, NULL) != MMDX_OK) {
                return 1;
            }
            mmdx_cohort_t *c = make(s, n, D);
            mmdx_model_t *m = NULL;
            mmdx_error_t err;
            mmdx_error_clear(&err);
            if (!c || mmdx_model_alloc(NULL, s, NULL, &m, &err) != MMDX_OK) {
                fprintf(stderr, "bench_fusion: setup failed: %s\n", err.message);
                return 1;
            }
            double t0 = now();
            if (mmdx_model_fit(m, c, &err) != 0) {
                fprintf(stderr, "bench_fusion: fit failed: %s\n", err.message);
                return 1;
            }
            double t_fit = now() - t0;
            double *p = malloc(2 * n * sizeof(double));
            t0 = now();
            if (mmdx_model_predict_probs(m, c, 0, p, NULL, NULL, &err) != MMDX_OK) {
                fprintf(stderr, "bench_fusion: predict failed: %s\n", err.message);
                return 1;
            }
            double t_pred = now() - t0;
            /* Newton passes do (folds + 1) Hessians of n x (D+1)^2 multiply-adds each */
            unsigned passes = mmdx_model_pass(m);
            double d1 = (double)D + 1, flops = (double)(passes > 4 ? passes - 4 : 1) * 6.0 * (double)n * d1 * d1;
            double gf = flops / t_fit / 1e9;
            printf("%6zu %8zu %7u %12.0f %14.0f %10.2f %9.1f%% %9.0f\n", D, n, passes, (double)n / t_fit,
                   (double)n / t_pred, gf, 100 * gf / peak, peak_rss_mb());
            fflush(stdout);
            free(p);
            mmdx_model_free(m);
            mmdx_cohort_free(c);
            mmdx_space_free(s);
        }
    }
    return 0;
}
