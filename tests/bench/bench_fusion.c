#define _POSIX_C_SOURCE 200809L
/* Benchmark of the fusion model: training throughput (patients/s), scoring throughput
 * (patient-target predictions/s, with the Bayesian predictive and the imputation
 * variance), peak RSS, the rate of the training's Hessian kernel (dsyrk) as a fraction of
 * the machine's dgemm rate, and the training time in Hessian passes (train/H).
 * Synthetic data: D features in one modality, correlated, 10% missing at random, one
 * binary target. Prints figures; never fails on time.
 * With --stream N, N patients are also written to a cohort file in chunks and the model
 * is trained from it with mmdx_model_fit_reader() and scored chunk by chunk: peak RSS
 * then does not grow with N (run it alone: RSS is the process peak).
 * Times are process CPU times (the machine is shared); the wall-clock rates of training and
 * scoring are printed too (meaningful on an idle machine, and with --threads). The dgemm
 * rate is the best of five 1000 x 1000 products (wall-clock); --no-dgemm skips it (for
 * valgrind --tool=callgrind). The program runs itself again with OPENBLAS_NUM_THREADS set
 * to the BLAS threads wanted (idle OpenBLAS workers would otherwise spin on CPU time),
 * except with --no-dgemm (valgrind follows no such exec).
 * --score-reps R scores the in-memory cohort R times and reports the fastest (CPU time per
 * call; with --threads T the CPU time of all threads: the wall-clock rate is also printed).
 * --threads T sets the library context's threads (scoring) and OpenBLAS's to T; with
 * --blas1 OpenBLAS stays at one thread.
 * Usage: bench_fusion [--threads T] [--blas1] [--score-reps R] [--max-n N] [--stream N] [--no-dgemm] [D...]
 * (default D = 16 64 256) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cblas.h>
#include <mmdx/mmdx.h>

static uint64_t st = 12345;
static mmdx_ctx_t *g_ctx; /* threads for the library */
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
/* CPU time of the process: the build machine is shared and loaded, so wall-clock
 * figures vary with the other jobs; CPU time does much less (1 thread). */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static double wall(void)
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
    double best = INFINITY; /* best of five: one slow call (another job) does not count */
    for (int r = 0; r < 5; r++) {
        double t0 = wall();
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double t = wall() - t0;
        best = t < best ? t : best;
    }
    double g = 2.0 * n * (double)n * n / best / 1e9;
    free(a);
    free(b);
    free(c);
    return g;
}

/* CPU time of one Hessian pass over n rows and d columns (dsyrk in blocks of 4096, as
 * training does), best of three. */
static double hess_pass_time(size_t n, size_t d)
{
    size_t blk = n < 4096 ? n : 4096;
    double *x = malloc(blk * d * sizeof(double)), *h = calloc(d * d, sizeof(double));
    for (size_t i = 0; i < blk * d; i++) {
        x[i] = (double)(i % 97) / 97.0; /* not urand(): the cohorts must not depend on this */
    }
    double best = INFINITY;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        for (size_t i = 0; i < n; i += blk) {
            size_t nb = n - i < blk ? n - i : blk;
            cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)d, (int)nb, 1.0, x, (int)nb, 1.0, h, (int)d);
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    free(x);
    free(h);
    return best;
}

static mmdx_space_t *bench_space(size_t D)
{
    mmdx_space_t *s = mmdx_space_alloc();
    for (size_t j = 0; j < D; j++) {
        char id[32];
        snprintf(id, sizeof(id), "img:bench:f%zu", j);
        if (mmdx_space_add_feature(s, id, MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL) != MMDX_OK) {
            exit(1);
        }
    }
    const char *cls[] = {"0", "1"};
    if (mmdx_space_add_target(s, "y", 2, cls, NULL) != MMDX_OK) {
        exit(1);
    }
    return s;
}

/* Write n patients in chunks to a cohort file, train from it, score it chunk by chunk. */
static int stream_run(size_t D, size_t n)
{
    const size_t chunk = 10000;
    char path[256];
    snprintf(path, sizeof(path), "/tmp/bench_fusion.%ld.h5", (long)getpid());
    mmdx_space_t *s = bench_space(D);
    mmdx_error_t err;
    mmdx_error_clear(&err);
    mmdx_cohort_writer_t *w = NULL;
    double t0 = wall(); /* the writing is a child process: wall-clock */
    /* the file is written by a child process: the writer's own memory (its id index
     * grows with N) must not count in the training and scoring peak RSS */
    pid_t child = fork();
    if (child < 0) {
        return 1;
    }
    if (child > 0) {
        int wst;
        if (waitpid(child, &wst, 0) != child || !WIFEXITED(wst) || WEXITSTATUS(wst) != 0) {
            fprintf(stderr, "bench_fusion: writing the cohort file failed\n");
            return 1;
        }
        goto written;
    }
    if (mmdx_cohort_writer_open(NULL, path, s, &w, &err) != MMDX_OK) {
        fprintf(stderr, "bench_fusion: %s\n", err.message);
        _exit(1);
    }
    for (size_t i = 0; i < n; i += chunk) {
        mmdx_cohort_t *c = make(s, n - i < chunk ? n - i : chunk, D);
        /* ids must differ between chunks */
        for (size_t r = 0; r < mmdx_cohort_n_patients(c); r++) {
            char id[32];
            snprintf(id, sizeof(id), "B%zu", i + r);
            if (mmdx_cohort_set_id(c, r, id) != MMDX_OK) {
                _exit(1);
            }
        }
        if (mmdx_cohort_writer_append(w, c, &err) != MMDX_OK) {
            fprintf(stderr, "bench_fusion: %s\n", err.message);
            _exit(1);
        }
        mmdx_cohort_free(c);
    }
    if (mmdx_cohort_writer_commit(w, &err) != MMDX_OK) {
        fprintf(stderr, "bench_fusion: %s\n", err.message);
        _exit(1);
    }
    _exit(0);
written:;
    double t_write = wall() - t0;
    mmdx_cohort_reader_t *r = NULL;
    mmdx_model_t *m = NULL;
    if (mmdx_cohort_reader_open(NULL, path, &r, &err) != MMDX_OK ||
        mmdx_model_alloc(g_ctx, mmdx_cohort_reader_space(r), NULL, &m, &err) != MMDX_OK) {
        fprintf(stderr, "bench_fusion: %s\n", err.message);
        return 1;
    }
    t0 = now();
    if (mmdx_model_fit_reader(m, r, chunk, &err) != 0) {
        fprintf(stderr, "bench_fusion: %s\n", err.message);
        return 1;
    }
    double t_fit = now() - t0;
    double *p = malloc(2 * chunk * sizeof(double));
    mmdx_cohort_t *c = NULL;
    int rc;
    double t_pred = 0;
    if (mmdx_cohort_reader_rewind(r) != MMDX_OK) {
        return 1;
    }
    while ((rc = mmdx_cohort_reader_next(r, chunk, &c, &err)) == 1) {
        t0 = now();
        if (mmdx_model_predict_probs(m, c, 0, p, NULL, NULL, &err) != MMDX_OK) {
            return 1;
        }
        t_pred += now() - t0;
        mmdx_cohort_free(c);
    }
    printf("%6zu %8zu %7u %12.0f %14.0f %10s %10s %9.0f  (streamed from a cohort file; writing it: %.1f s)\n", D, n,
           mmdx_model_pass(m), (double)n / t_fit, (double)n / t_pred, "", "", peak_rss_mb(), t_write);
    free(p);
    mmdx_model_free(m);
    mmdx_cohort_reader_close(r);
    mmdx_space_free(s);
    remove(path);
    return rc < 0;
}

int main(int argc, char **argv)
{
    size_t stream_n = 0;
    int threads = 1, no_dgemm = 0, blas1 = 0, reps = 1;
    size_t max_n = 100000, Ds[8] = {16, 64, 256}, nD = 3, nDarg = 0;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc) {
            threads = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--stream") == 0 && a + 1 < argc) {
            stream_n = strtoul(argv[++a], NULL, 10);
        } else if (strcmp(argv[a], "--blas1") == 0) {
            blas1 = 1;
        } else if (strcmp(argv[a], "--score-reps") == 0 && a + 1 < argc) {
            reps = atoi(argv[++a]);
            reps = reps < 1 ? 1 : reps;
        } else if (strcmp(argv[a], "--no-dgemm") == 0) {
            no_dgemm = 1; /* for profiling under valgrind */
        } else if (strcmp(argv[a], "--max-n") == 0 && a + 1 < argc) {
            max_n = strtoul(argv[++a], NULL, 10);
        } else if (nDarg < 8) {
            Ds[nDarg++] = strtoul(argv[a], NULL, 10);
        }
    }
    if (nDarg) {
        nD = nDarg;
    }
    /* OpenBLAS starts its worker threads when it is loaded, from OPENBLAS_NUM_THREADS or
     * the core count; openblas_set_num_threads(1) later leaves them spinning in
     * sched_yield, which counts in the process CPU time (8% of the training time at
     * D = 16). Run again with the variable set to the threads OpenBLAS is to use. */
    char want[16];
    snprintf(want, sizeof(want), "%d", blas1 ? 1 : threads);
    const char *have = getenv("OPENBLAS_NUM_THREADS");
    if (!no_dgemm && (!have || strcmp(have, want) != 0)) { /* (not under valgrind: --no-dgemm) */
        if (setenv("OPENBLAS_NUM_THREADS", want, 1) == 0) {
            execv("/proc/self/exe", argv); /* on failure: go on as we are */
        }
    }
    g_ctx = mmdx_ctx_alloc();
    if (!g_ctx) {
        return 1;
    }
    mmdx_ctx_set_threads(g_ctx, threads);
    openblas_set_num_threads(blas1 ? 1 : threads);
    double peak = no_dgemm ? NAN : dgemm_gflops();
    printf("bench_fusion: %d thread%s (OpenBLAS %d), dgemm %.1f GFLOP/s; one modality of D features, 10%% missing, "
           "1 target; scoring best of %d\n",
           threads, threads == 1 ? "" : "s", blas1 ? 1 : threads, peak, reps);
    printf("%6s %8s %7s %12s %14s %10s %10s %9s %14s %8s %12s\n", "D", "N", "passes", "train pat/s",
           "score pred/s", "hess GF/s", "of dgemm", "RSS MB", "score wall/s", "train/H", "train wall/s");
    for (size_t k = 0; k < nD && stream_n; k++) {
        if (stream_run(Ds[k], stream_n) != 0) {
            return 1;
        }
    }
    for (size_t k = 0; k < nD && !stream_n; k++) {
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
            if (!c || mmdx_model_alloc(g_ctx, s, NULL, &m, &err) != MMDX_OK) {
                fprintf(stderr, "bench_fusion: setup failed: %s\n", err.message);
                return 1;
            }
            double w_fit = wall(), t0 = now();
            if (mmdx_model_fit(m, c, &err) != 0) {
                fprintf(stderr, "bench_fusion: fit failed: %s\n", err.message);
                return 1;
            }
            double t_fit = now() - t0;
            w_fit = wall() - w_fit;
            double *p = malloc(2 * n * sizeof(double));
            double t_pred = INFINITY, w_pred = INFINITY;
            for (int rep = 0; rep < reps; rep++) {
                double w0 = wall();
                t0 = now();
                if (mmdx_model_predict_probs(m, c, 0, p, NULL, NULL, &err) != MMDX_OK) {
                    fprintf(stderr, "bench_fusion: predict failed: %s\n", err.message);
                    return 1;
                }
                double tc = now() - t0, wc = wall() - w0;
                t_pred = tc < t_pred ? tc : t_pred;
                w_pred = wc < w_pred ? wc : w_pred;
            }
            /* one Hessian pass: dsyrk over n rows of d = D + 1 columns in blocks of 4096 (the
             * training kernel, n (D+1)^2 multiply-adds counted as 2 flops); its rate against
             * dgemm's, and the training time in such passes */
            unsigned passes = mmdx_model_pass(m);
            double t_h = hess_pass_time(n, D + 1);
            double d1 = (double)D + 1, gf = (double)n * d1 * d1 / t_h / 1e9;
            printf("%6zu %8zu %7u %12.0f %14.0f %10.2f %9.1f%% %9.0f %14.0f %8.1f %12.0f\n", D, n, passes,
                   (double)n / t_fit, (double)n / t_pred, gf, 100 * gf / peak, peak_rss_mb(), (double)n / w_pred,
                   t_fit / t_h, (double)n / w_fit);
            fflush(stdout);
            free(p);
            mmdx_model_free(m);
            mmdx_cohort_free(c);
            mmdx_space_free(s);
        }
    }
    mmdx_ctx_free(g_ctx);
    return 0;
}
