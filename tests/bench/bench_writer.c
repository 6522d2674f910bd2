/* Benchmark of the writers (writer.h): patients per second and bytes per patient in each
 * format, with predictions of a small fitted model and the shipped KB's advice.
 * Usage: bench_writer [N] (default 20000 patients). Prints figures; never fails on time. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mmdx/mmdx.h>

#define NR 64 /* distinct patients, written in turn */
#define NT 2

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t st = 42;
static double gauss(void)
{
    double u[2];
    for (int k = 0; k < 2; k++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        u[k] = ((st >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

static void row(mmdx_cohort_t *c, size_t i, int labels)
{
    double z[5];
    for (int j = 0; j < 5; j++)
        z[j] = gauss();
    double v[5] = {100 + 25 * z[0], 5.8 + 0.8 * z[1], 190 + 35 * z[2], 1.0 + 0.2 * z[3], 55 + 12 * z[4]};
    for (size_t j = 0; j < 5; j++)
        mmdx_cohort_set(c, i, j, v[j], 0);
    if (labels) {
        mmdx_cohort_set_label(c, i, 0, z[0] + z[1] + 0.5 * gauss() > 0);
        mmdx_cohort_set_label(c, i, 1, z[2] + z[3] + 0.5 * gauss() > 0);
    }
}

int main(int argc, char **argv)
{
    static const char *const ids[] = {"lab:loinc:2345-7", "lab:loinc:4548-4", "lab:loinc:2093-3",
                                      "img:retina:tortuosity", "demo:age"};
    static const char *const cls[] = {"0", "1"};
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 20000;
    const char *data = getenv("MMDX_DATA_DIR");
    char path[4096], id[32];
    mmdx_error_t err;
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_space_t *space = mmdx_space_alloc();
    mmdx_model_t *model = NULL;
    mmdx_kb_t *kb = NULL;
    mmdx_terms_t *terms = NULL;
    mmdx_pred_t *pred[NR][NT];
    mmdx_advice_t *advice[NR];
    mmdx_error_clear(&err);
    if (!ctx || !space)
        return 1;
    for (size_t j = 0; j < 5; j++)
        if (mmdx_space_add_feature(space, ids[j], MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL) != MMDX_OK)
            return 1;
    if (mmdx_space_add_target(space, "t2d", 2, cls, NULL) != MMDX_OK ||
        mmdx_space_add_target(space, "cad", 2, cls, NULL) != MMDX_OK)
        return 1;
    mmdx_cohort_t *train = mmdx_cohort_alloc(space, 500), *test = mmdx_cohort_alloc(space, NR);
    for (size_t i = 0; i < 500; i++) {
        snprintf(id, sizeof id, "T%zu", i);
        if (mmdx_cohort_set_id(train, i, id) != MMDX_OK)
            return 1;
        row(train, i, 1);
    }
    for (size_t i = 0; i < NR; i++) {
        snprintf(id, sizeof id, "P%06zu", i);
        if (mmdx_cohort_set_id(test, i, id) != MMDX_OK)
            return 1;
        row(test, i, 0);
    }
    snprintf(path, sizeof path, "%s/kb/default.xml", data ? data : "data");
    if (mmdx_model_alloc(ctx, space, NULL, &model, &err) != MMDX_OK || mmdx_model_fit(model, train, &err) != MMDX_OK ||
        mmdx_kb_load(NULL, path, &kb, &err) != MMDX_OK) {
        fprintf(stderr, "bench_writer: %s: %s\n", err.file, err.message);
        return 1;
    }
    snprintf(path, sizeof path, "%s/terms.tsv", data ? data : "data");
    if (mmdx_terms_load(path, &terms, &err) != MMDX_OK)
        terms = NULL;
    for (size_t i = 0; i < NR; i++) {
        mmdx_posterior_t post[NT * 2];
        size_t n_post = 0;
        for (size_t t = 0; t < NT; t++)
            if ((pred[i][t] = mmdx_pred_alloc()) == NULL ||
                mmdx_model_predict(model, test, i, t, pred[i][t], &err) != MMDX_OK)
                return 1;
        if (mmdx_posteriors_from_preds((const mmdx_pred_t *const *)pred[i], NT, post, NT * 2, &n_post) != MMDX_OK)
            return 1;
        mmdx_cohort_row_t r = {test, i};
        mmdx_case_t c = {post, n_post, mmdx_cohort_row_fact, &r, mmdx_cohort_row_modality, &r};
        if (mmdx_decide(kb, &c, &advice[i], &err) != MMDX_OK)
            return 1;
    }
    char dir[] = "/tmp/bench_writer.XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    printf("bench_writer: %zu patients x %d targets, KB advice on every patient\n", n, NT);
    printf("%-6s %10s %12s %10s %12s\n", "format", "seconds", "patients/s", "MB/s", "bytes/pat");
    for (int f = 0; f < 4; f++) {
        mmdx_writer_options_t opt;
        mmdx_writer_t *w = NULL;
        mmdx_writer_options_init(&opt);
        opt.terms = terms;
        opt.advice_columns = f == MMDX_WRITER_TSV;
        snprintf(path, sizeof path, "%s/out.%s", dir, mmdx_writer_format_name((mmdx_writer_format_t)f));
        double t0 = now();
        if (mmdx_writer_open((mmdx_writer_format_t)f, path, &opt, &w, &err) != MMDX_OK)
            return 1;
        for (size_t k = 0; k < n; k++) {
            size_t i = k % NR;
            mmdx_writer_patient_t p = {mmdx_cohort_id(test, i), (const mmdx_pred_t *const *)pred[i], NT, advice[i],
                                       NULL, 0, NULL, 0};
            if (mmdx_writer_write(w, &p, &err) != MMDX_OK) {
                fprintf(stderr, "bench_writer: %s\n", err.message);
                mmdx_writer_abort(w);
                return 1;
            }
        }
        if (mmdx_writer_close(w, &err) != MMDX_OK)
            return 1;
        double el = now() - t0;
        struct stat sb;
        double bytes = stat(path, &sb) == 0 ? (double)sb.st_size : 0;
        printf("%-6s %10.3f %12.0f %10.1f %12.0f\n", mmdx_writer_format_name((mmdx_writer_format_t)f), el,
               (double)n / el, bytes / el / 1e6, bytes / (double)n);
        unlink(path);
    }
    rmdir(dir);
    for (size_t i = 0; i < NR; i++) {
        for (size_t t = 0; t < NT; t++)
            mmdx_pred_free(pred[i][t]);
        mmdx_advice_free(advice[i]);
    }
    mmdx_cohort_free(train);
    mmdx_cohort_free(test);
    mmdx_model_free(model);
    mmdx_kb_free(kb);
    mmdx_terms_free(terms);
    mmdx_space_free(space);
    mmdx_ctx_free(ctx);
    return 0;
}
